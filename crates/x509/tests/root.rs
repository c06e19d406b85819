//! Root certificates built, signed by software keys standing in for the HSM, assembled and
//! checked; OpenSSL looks at them too.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use keyceremony_x509::{
    CheckedKey, DistinguishedName, KeyCheck, PreparedRoot, RootCertificateRequest,
    SignatureAlgorithm, X509Error, inspect_tbs, inspect_tbs_of, pem_encode, prepare_root,
    prepare_root_of, verified_root_of, verify_root, verify_root_of,
};
use p384::pkcs8::DecodePublicKey;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use support::{TestKey, at, openssl};

const RSA2048_PUB_PEM: &str = include_str!("data/rsa2048-pub.pem");
const RSA4096_E3_PUB_PEM: &str = include_str!("data/rsa4096-e3-pub.pem");
const P256_PUB_PEM: &str = include_str!("data/p256-pub.pem");

/// sha384WithRSAEncryption with NULL parameters (BR 7.1.3.2.1).
const SHA384_WITH_RSA_DER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
];
/// ecdsa-with-SHA384, parameters absent (BR 7.1.3.2.2).
const ECDSA_WITH_SHA384_DER: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];

fn subject() -> DistinguishedName {
    DistinguishedName {
        country: "JP".into(),
        state_or_province: None,
        locality: None,
        organization: "Example Trust".into(),
        common_name: "Example Root R1".into(),
    }
}

fn request(key: &TestKey) -> RootCertificateRequest {
    RootCertificateRequest {
        subject: subject(),
        serial: vec![
            0xf3, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0x01,
        ],
        not_before: at("2025-03-01T09:30:00Z"),
        validity_days: 2922,
        digital_signature: false,
        subject_public_key_info: key.spki(),
    }
}

fn signing_time() -> DateTime<Utc> {
    at("2025-03-01T10:00:00Z")
}

fn sign(key: &TestKey, prepared: PreparedRoot) -> Vec<u8> {
    let signature = key.raw_sign(prepared.tbs_der());
    prepared.assemble(&signature).expect("assemble")
}

fn build(key: &TestKey, req: &RootCertificateRequest) -> Vec<u8> {
    sign(key, prepare_root(req, signing_time()).expect("prepare"))
}

/// `openssl x509 -text` of the certificate, after `openssl verify` accepted it.
fn openssl_text(cert_der: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("cert.pem"),
        pem_encode("CERTIFICATE", cert_der),
    )
    .expect("write");
    let verified = openssl(
        dir.path(),
        &["verify", "-x509_strict", "-CAfile", "cert.pem", "cert.pem"],
    );
    assert!(verified.contains("cert.pem: OK"), "{verified}");
    openssl(dir.path(), &["x509", "-in", "cert.pem", "-noout", "-text"])
}

/// The line after the extension's name line in `openssl x509 -text`.
fn extension_header(text: &str, name: &str) -> String {
    text.lines()
        .find(|line| line.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("{name} missing in:\n{text}"))
        .trim()
        .to_owned()
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

#[test]
fn rsa_root_is_built_assembled_and_verified() {
    let key = TestKey::rsa();
    let req = request(&key);
    let prepared = prepare_root(&req, signing_time()).expect("prepare");
    assert_eq!(
        prepared.signature_algorithm(),
        SignatureAlgorithm::Sha384WithRsaEncryption
    );
    let tbs = prepared.tbs_der().to_vec();
    let cert = sign(&key, prepared);

    let summary = verify_root(&cert, &req.subject_public_key_info).expect("verify");
    assert_eq!(summary.subject, "CN=Example Root R1,O=Example Trust,C=JP");
    assert_eq!(summary.issuer, summary.subject);
    assert_eq!(summary.serial_hex, "73112233445566778899AABBCCDDEE01");
    assert_eq!(summary.not_before, at("2025-03-01T09:30:00Z"));
    assert_eq!(summary.not_after, at("2033-03-01T09:29:59Z"));
    assert_eq!(summary.validity_days, 2922);
    assert_eq!(
        summary.signature_algorithm,
        SignatureAlgorithm::Sha384WithRsaEncryption
    );
    assert_eq!(summary.public_key, "RSA-4096");
    assert_eq!(summary.sha256, <[u8; 32]>::from(Sha256::digest(&cert)));
    assert_eq!(summary.sha1, <[u8; 20]>::from(Sha1::digest(&cert)));
    let spki = spki::SubjectPublicKeyInfoRef::try_from(req.subject_public_key_info.as_slice())
        .expect("spki");
    assert_eq!(
        summary.subject_key_identifier,
        Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
    );
    assert_eq!(
        count(&cert, &tbs),
        1,
        "the certificate carries the TBS that was signed"
    );
    assert_eq!(
        count(&cert, &SHA384_WITH_RSA_DER),
        2,
        "NULL parameters, twice"
    );

    let text = openssl_text(&cert);
    assert_eq!(
        text.matches("Signature Algorithm: sha384WithRSAEncryption")
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("Public-Key: (4096 bit)"), "{text}");
    assert!(
        text.contains("Issuer: C = JP, O = Example Trust, CN = Example Root R1"),
        "{text}"
    );
    assert!(
        text.contains("Not Before: Mar  1 09:30:00 2025 GMT"),
        "{text}"
    );
    assert!(
        text.contains("Not After : Mar  1 09:29:59 2033 GMT"),
        "{text}"
    );
    assert!(text.contains("Version: 3 (0x2)"), "{text}");
    assert_eq!(
        extension_header(&text, "X509v3 Basic Constraints"),
        "X509v3 Basic Constraints: critical"
    );
    assert!(text.contains("CA:TRUE\n"), "no pathlen: {text}");
    assert_eq!(
        extension_header(&text, "X509v3 Key Usage"),
        "X509v3 Key Usage: critical"
    );
    assert!(text.contains("Certificate Sign, CRL Sign\n"), "{text}");
    assert!(!text.contains("Digital Signature"), "{text}");
    assert_eq!(
        extension_header(&text, "X509v3 Subject Key Identifier"),
        "X509v3 Subject Key Identifier:"
    );
    assert_eq!(
        extension_header(&text, "X509v3 Authority Key Identifier"),
        "X509v3 Authority Key Identifier:"
    );
    assert_eq!(
        text.matches("X509v3 ").count(),
        4 + 1,
        "4 extensions: {text}"
    );
    assert!(!text.contains("Extended Key Usage"), "{text}");
    assert!(!text.contains("Policies"), "{text}");
}

#[test]
fn p384_root_is_built_assembled_and_verified() {
    let key = TestKey::p384();
    let req = RootCertificateRequest {
        digital_signature: true,
        subject: DistinguishedName {
            state_or_province: Some("Tokyo".into()),
            locality: Some("Chiyoda-ku".into()),
            ..subject()
        },
        ..request(&key)
    };
    let prepared = prepare_root(&req, signing_time()).expect("prepare");
    assert_eq!(
        prepared.signature_algorithm(),
        SignatureAlgorithm::EcdsaWithSha384
    );
    let cert = sign(&key, prepared);

    let summary = verify_root(&cert, &req.subject_public_key_info).expect("verify");
    assert_eq!(
        summary.subject,
        "CN=Example Root R1,O=Example Trust,L=Chiyoda-ku,ST=Tokyo,C=JP"
    );
    assert_eq!(summary.public_key, "ECC P-384");
    assert_eq!(
        summary.signature_algorithm,
        SignatureAlgorithm::EcdsaWithSha384
    );
    assert_eq!(count(&cert, &ECDSA_WITH_SHA384_DER), 2);
    let with_null = [&ECDSA_WITH_SHA384_DER[..], &[0x05, 0x00]].concat();
    assert_eq!(count(&cert, &with_null), 0, "parameters absent");

    let text = openssl_text(&cert);
    assert_eq!(
        text.matches("Signature Algorithm: ecdsa-with-SHA384")
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("ASN1 OID: secp384r1"), "{text}");
    assert!(
        text.contains(
            "Subject: C = JP, ST = Tokyo, L = Chiyoda-ku, O = Example Trust, CN = Example Root R1"
        ),
        "{text}"
    );
    assert_eq!(
        extension_header(&text, "X509v3 Basic Constraints"),
        "X509v3 Basic Constraints: critical"
    );
    assert_eq!(
        extension_header(&text, "X509v3 Key Usage"),
        "X509v3 Key Usage: critical"
    );
    assert!(
        text.contains("Digital Signature, Certificate Sign, CRL Sign\n"),
        "{text}"
    );
    assert_eq!(
        extension_header(&text, "X509v3 Subject Key Identifier"),
        "X509v3 Subject Key Identifier:"
    );
    assert_eq!(
        extension_header(&text, "X509v3 Authority Key Identifier"),
        "X509v3 Authority Key Identifier:"
    );
    assert_eq!(
        text.matches("X509v3 ").count(),
        4 + 1,
        "4 extensions: {text}"
    );
}

#[test]
fn validity_bounds() {
    let key = TestKey::p384();
    for days in [2921, 9133, 0, u32::MAX] {
        let req = RootCertificateRequest {
            validity_days: days,
            ..request(&key)
        };
        let err = prepare_root(&req, signing_time()).expect_err("refused");
        assert!(matches!(err, X509Error::ValidityOutOfRange { .. }), "{err}");
        let message = err.to_string();
        for part in [
            &days.to_string(),
            "2922",
            "9132",
            "BR 7.1.2.1.1",
            "CPS 6.3.2",
        ] {
            assert!(message.contains(part), "{part} not in {message}");
        }
    }

    for (days, not_after) in [
        (2922, "2033-03-01T09:29:59Z"),
        (9132, "2050-03-02T09:29:59Z"),
    ] {
        let req = RootCertificateRequest {
            validity_days: days,
            ..request(&key)
        };
        let cert = build(&key, &req);
        let summary = verify_root(&cert, &req.subject_public_key_info).expect("verify");
        assert_eq!(summary.not_after, at(not_after));
        assert_eq!(
            summary.not_after - summary.not_before + TimeDelta::seconds(1),
            TimeDelta::days(days.into())
        );
        assert_eq!(summary.validity_days, u64::from(days));
    }
}

#[test]
fn times_through_2049_are_utc_time_and_from_2050_generalized_time() {
    let key = TestKey::p384();
    let req = RootCertificateRequest {
        validity_days: 9132,
        ..request(&key)
    };
    let prepared = prepare_root(&req, signing_time()).expect("prepare");
    let tbs = prepared.tbs_der();
    assert_eq!(count(tbs, b"\x17\x0d250301093000Z"), 1, "UTCTime notBefore");
    assert_eq!(
        count(tbs, b"\x18\x0f20500302092959Z"),
        1,
        "GeneralizedTime notAfter"
    );
}

#[test]
fn not_before_window() {
    let key = TestKey::p384();
    let signing = signing_time();
    for (not_before, ok) in [
        (signing, true),
        (signing - TimeDelta::days(1), true),
        (signing - TimeDelta::days(1) - TimeDelta::seconds(1), false),
        (signing + TimeDelta::seconds(1), false),
        (signing - TimeDelta::days(30), false),
    ] {
        let req = RootCertificateRequest {
            not_before,
            ..request(&key)
        };
        match prepare_root(&req, signing) {
            Ok(_) => assert!(ok, "{not_before} accepted"),
            Err(err) => {
                assert!(!ok, "{not_before} refused: {err}");
                assert!(
                    matches!(err, X509Error::NotBeforeOutOfRange { .. }),
                    "{err}"
                );
                assert!(err.to_string().contains("BR 7.1.2.1.1"), "{err}");
            }
        }
    }
}

#[test]
fn not_before_is_truncated_to_whole_seconds() {
    let key = TestKey::p384();
    let signing = signing_time() + TimeDelta::milliseconds(750);
    let req = RootCertificateRequest {
        not_before: signing,
        ..request(&key)
    };
    let cert = sign(&key, prepare_root(&req, signing).expect("prepare"));
    let summary = verify_root(&cert, &req.subject_public_key_info).expect("verify");
    assert_eq!(summary.not_before, signing_time());
    assert_eq!(summary.validity_days, 2922);
}

fn spki_from_pem(pem: &str) -> Vec<u8> {
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).expect("pem");
    assert_eq!(label, "PUBLIC KEY");
    der
}

#[test]
fn keys_other_than_rsa4096_and_p384_are_refused() {
    let key = TestKey::p384();
    for (pem, name) in [(RSA2048_PUB_PEM, "RSA-2048"), (P256_PUB_PEM, "ECC P-256")] {
        let req = RootCertificateRequest {
            subject_public_key_info: spki_from_pem(pem),
            ..request(&key)
        };
        let err = prepare_root(&req, signing_time()).expect_err(name);
        assert!(matches!(err, X509Error::UnsupportedKey { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains(name), "{message}");
        assert!(message.contains("CPS 6.1.5"), "{message}");
    }
}

#[test]
fn rsa4096_key_with_small_exponent_is_refused() {
    let key = TestKey::p384();
    let req = RootCertificateRequest {
        subject_public_key_info: spki_from_pem(RSA4096_E3_PUB_PEM),
        ..request(&key)
    };
    let err = prepare_root(&req, signing_time()).expect_err("e = 3");
    assert!(matches!(err, X509Error::WeakKey { .. }), "{err}");
    assert!(err.to_string().contains("CPS 6.1.6"), "{err}");
}

#[test]
fn a_checked_key_stands_for_its_own_bytes_and_no_others() {
    for key in [TestKey::rsa(), TestKey::p384()] {
        let checked = CheckedKey::new(&key.spki()).expect("a good key");
        assert_eq!(checked.spki_der(), key.spki().as_slice());
        let req = request(&key);
        let prepared = prepare_root_of(&req, &checked, signing_time()).expect("prepare");
        let fresh = prepare_root(&req, signing_time()).expect("prepare");
        assert_eq!(prepared.tbs_der(), fresh.tbs_der());
        assert_eq!(
            inspect_tbs_of(prepared.tbs_der(), &checked).expect("inspect"),
            inspect_tbs(prepared.tbs_der()).expect("inspect")
        );
        let der = sign(&key, prepared);
        assert_eq!(
            verify_root_of(&der, &checked).expect("verify"),
            verify_root(&der, &key.spki()).expect("verify")
        );
    }
    // A weak key is refused though another key was checked: its own bytes are checked.
    let checked = CheckedKey::new(&TestKey::rsa().spki()).expect("a good key");
    let weak = RootCertificateRequest {
        subject_public_key_info: spki_from_pem(RSA4096_E3_PUB_PEM),
        ..request(&TestKey::rsa())
    };
    let err = prepare_root_of(&weak, &checked, signing_time()).expect_err("e = 3");
    assert!(
        matches!(
            err,
            X509Error::WeakKey {
                check: KeyCheck::RsaExponentRange,
                ..
            }
        ),
        "{err}"
    );
    // A certificate of another key is not the checked key's.
    let other = TestKey::p384();
    let der = build(&other, &request(&other));
    let err = verify_root_of(&der, &checked).expect_err("another key");
    assert!(err.to_string().contains("not the token's"), "{err}");
}

#[test]
fn a_verified_root_stands_for_its_own_certificate_and_key_and_no_others() {
    let key = TestKey::p384();
    let checked = CheckedKey::new(&key.spki()).expect("a good key");
    let der = build(&key, &request(&key));
    let verified = verified_root_of(&der, &checked).expect("verify");
    assert_eq!(verified.der(), der.as_slice());
    assert_eq!(
        verified.summary(),
        &verify_root(&der, &key.spki()).expect("verify")
    );
    assert_eq!(verified.of(&der, &key.spki()), Some(verified.summary()));
    // Other bytes (one bit of the signature, another key's certificate), or the
    // same certificate named with another key, are not the ones verified.
    let other = TestKey::p384_other();
    assert_eq!(
        verified.of(&build(&other, &request(&other)), &key.spki()),
        None
    );
    let mut edited = der.clone();
    *edited.last_mut().expect("a signature") ^= 1;
    assert_eq!(verified.of(&edited, &key.spki()), None);
    assert_eq!(verified.of(&der, &other.spki()), None);
    // A certificate whose signature does not verify is never one.
    assert!(verified_root_of(&edited, &checked).is_err());
}

#[test]
fn bad_countries_are_refused() {
    let key = TestKey::p384();
    for country in ["jp", "JPN"] {
        let req = RootCertificateRequest {
            subject: DistinguishedName {
                country: country.into(),
                ..subject()
            },
            ..request(&key)
        };
        let err = prepare_root(&req, signing_time()).expect_err(country);
        assert!(
            matches!(
                err,
                X509Error::InvalidName {
                    attribute: "countryName",
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn serial_numbers() {
    let key = TestKey::p384();
    let with_serial = |serial: Vec<u8>| RootCertificateRequest {
        serial,
        ..request(&key)
    };
    for serial in [
        vec![0; 16],
        vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![7; 8],
        vec![7; 21],
    ] {
        let err = prepare_root(&with_serial(serial.clone()), signing_time())
            .expect_err(&hex::encode(&serial));
        assert!(matches!(err, X509Error::InvalidSerial(_)), "{err}");
    }
    let req = with_serial(vec![0xff; 20]);
    let cert = build(&key, &req);
    let summary = verify_root(&cert, &req.subject_public_key_info).expect("verify");
    assert_eq!(summary.serial_hex, format!("7F{}", "FF".repeat(19)));

    // A first byte of 0x00 or 0x80 (one draw in 128) clears to a leading
    // zero: the serial is the same number, one octet shorter, whatever the
    // next byte's top bit.
    for (drawn, expected) in [
        ([0x80, 0x05], format!("05{}", "A5".repeat(14))),
        ([0x00, 0x85], format!("85{}", "A5".repeat(14))),
        ([0x80, 0x00], "A5".repeat(14)),
    ] {
        let mut serial = drawn.to_vec();
        serial.extend([0xa5; 14]);
        let req = with_serial(serial);
        let cert = build(&key, &req);
        let summary = verify_root(&cert, &req.subject_public_key_info).expect("verify");
        assert_eq!(summary.serial_hex, expected);
    }
}

#[test]
fn raw_signatures_of_the_wrong_shape_are_refused() {
    let rsa = TestKey::rsa();
    let prepared = prepare_root(&request(&rsa), signing_time()).expect("prepare");
    let err = prepared.assemble(&[1; 511]).expect_err("short");
    assert!(matches!(err, X509Error::InvalidRawSignature(_)), "{err}");

    let p384 = TestKey::p384();
    let prepared = prepare_root(&request(&p384), signing_time()).expect("prepare");
    let err = prepared.assemble(&[1; 95]).expect_err("short");
    assert!(matches!(err, X509Error::InvalidRawSignature(_)), "{err}");
    let prepared = prepare_root(&request(&p384), signing_time()).expect("prepare");
    let err = prepared.assemble(&[0; 96]).expect_err("r = s = 0");
    assert!(matches!(err, X509Error::InvalidRawSignature(_)), "{err}");
}

#[test]
fn flipped_signature_byte_fails() {
    for key in [TestKey::rsa(), TestKey::p384()] {
        let req = request(&key);
        let mut cert = build(&key, &req);
        // The last byte of the certificate is the last byte of the signature (for ECDSA, of s).
        let last = cert.len() - 1;
        cert[last] ^= 0x01;
        let err = verify_root(&cert, &req.subject_public_key_info).expect_err("flipped");
        assert!(matches!(err, X509Error::BadSignature { .. }), "{err}");
    }
}

#[test]
fn flipped_tbs_byte_fails() {
    let key = TestKey::rsa();
    let req = request(&key);
    let mut cert = build(&key, &req);
    let serial_at = cert
        .windows(4)
        .position(|w| w == [0x73, 0x11, 0x22, 0x33])
        .expect("serial");
    cert[serial_at + 1] ^= 0x01;
    let err = verify_root(&cert, &req.subject_public_key_info).expect_err("flipped");
    assert!(matches!(err, X509Error::BadSignature { .. }), "{err}");
}

#[test]
fn token_key_mismatch_fails() {
    let rsa = TestKey::rsa();
    let p384 = TestKey::p384();
    let cert = build(&rsa, &request(&rsa));
    let err = verify_root(&cert, &p384.spki()).expect_err("other key");
    assert!(
        matches!(
            err,
            X509Error::CheckFailed {
                check: "subjectPublicKeyInfo == token key",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn garbage_and_trailing_bytes_fail() {
    let key = TestKey::p384();
    let req = request(&key);
    let cert = build(&key, &req);
    let err = verify_root(b"not a certificate", &req.subject_public_key_info).expect_err("junk");
    assert!(matches!(err, X509Error::Malformed { .. }), "{err}");
    let mut trailing = cert.clone();
    trailing.push(0);
    let err = verify_root(&trailing, &req.subject_public_key_info).expect_err("trailing");
    assert!(matches!(err, X509Error::Malformed { .. }), "{err}");
}

/// A DER tree, just enough to rewrite certificates in tests.
#[derive(Clone, Debug, PartialEq)]
enum Tlv {
    Primitive(u8, Vec<u8>),
    Constructed(u8, Vec<Tlv>),
}

impl Tlv {
    fn parse(bytes: &[u8]) -> Tlv {
        let (tlv, rest) = Self::parse_one(bytes);
        assert!(rest.is_empty());
        tlv
    }

    fn parse_one(bytes: &[u8]) -> (Tlv, &[u8]) {
        let tag = bytes[0];
        let (len, header) = match bytes[1] {
            n if n < 0x80 => (usize::from(n), 2),
            n => {
                let count = usize::from(n & 0x7f);
                let len = bytes[2..2 + count]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                (len, 2 + count)
            }
        };
        let content = &bytes[header..header + len];
        let rest = &bytes[header + len..];
        if tag & 0x20 == 0 {
            return (Tlv::Primitive(tag, content.to_vec()), rest);
        }
        let mut children = Vec::new();
        let mut remaining = content;
        while !remaining.is_empty() {
            let (child, after) = Self::parse_one(remaining);
            children.push(child);
            remaining = after;
        }
        (Tlv::Constructed(tag, children), rest)
    }

    fn encode(&self) -> Vec<u8> {
        let (tag, content) = match self {
            Tlv::Primitive(tag, content) => (*tag, content.clone()),
            Tlv::Constructed(tag, children) => {
                (*tag, children.iter().flat_map(Tlv::encode).collect())
            }
        };
        let mut out = vec![tag];
        match content.len() {
            len if len < 0x80 => out.push(len as u8),
            len if len < 0x100 => out.extend([0x81, len as u8]),
            len => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend(content);
        out
    }

    fn children(&mut self) -> &mut Vec<Tlv> {
        match self {
            Tlv::Constructed(_, children) => children,
            Tlv::Primitive(..) => panic!("primitive"),
        }
    }
}

const TBS: usize = 0;
const TBS_ISSUER: usize = 3;
const TBS_EXTENSIONS: usize = 7;

/// The extensions SEQUENCE OF of a parsed certificate.
fn extensions(cert: &mut Tlv) -> &mut Vec<Tlv> {
    cert.children()[TBS].children()[TBS_EXTENSIONS].children()[0].children()
}

/// The extension with the given OID (content octets) of a parsed certificate.
fn extension<'a>(cert: &'a mut Tlv, oid: &[u8]) -> &'a mut Tlv {
    extensions(cert)
        .iter_mut()
        .find(|extension| match extension {
            Tlv::Constructed(_, children) => children[0] == Tlv::Primitive(0x06, oid.to_vec()),
            Tlv::Primitive(..) => false,
        })
        .expect("extension")
}

/// Signs the (rewritten) TBS of `cert` again with `key` and encodes the certificate.
fn resign(key: &TestKey, mut cert: Tlv) -> Vec<u8> {
    let tbs = cert.children()[TBS].encode();
    let signature = [vec![0], key.certificate_signature(&tbs)].concat();
    cert.children()[2] = Tlv::Primitive(0x03, signature);
    cert.encode()
}

#[test]
fn tlv_helper_round_trips() {
    let key = TestKey::rsa();
    let cert = build(&key, &request(&key));
    assert_eq!(Tlv::parse(&cert).encode(), cert);
}

#[test]
fn non_canonical_der_fails() {
    let key = TestKey::p384();
    let req = request(&key);
    let cert = build(&key, &req);

    // Outer length in a longer form than needed: 30 82 LL LL -> 30 83 00 LL LL.
    assert_eq!(cert[1], 0x82);
    let long_form = [&[0x30, 0x83, 0x00][..], &cert[2..]].concat();
    let err = verify_root(&long_form, &req.subject_public_key_info).expect_err("long form");
    assert!(
        matches!(
            err,
            X509Error::Malformed { .. } | X509Error::NonCanonical { .. }
        ),
        "{err}"
    );

    // critical FALSE written out although it is the DEFAULT: decodes, but is not DER. The
    // TBS is signed again so that only the encoding is at fault.
    let mut tree = Tlv::parse(&cert);
    extension(&mut tree, &[0x55, 0x1d, 0x0e])
        .children()
        .insert(1, Tlv::Primitive(0x01, vec![0x00]));
    let explicit_default = resign(&key, tree);
    let err = verify_root(&explicit_default, &req.subject_public_key_info).expect_err("DEFAULT");
    assert!(matches!(err, X509Error::NonCanonical { .. }), "{err}");
}

#[test]
fn correctly_signed_certificates_outside_the_profile_fail() {
    let key = TestKey::rsa();
    let req = request(&key);
    let cert = build(&key, &req);
    let spki = &req.subject_public_key_info;

    // Sanity: re-signing the unchanged TBS passes.
    verify_root(&resign(&key, Tlv::parse(&cert)), spki).expect("unchanged");

    // An extra extension: extKeyUsage serverAuth.
    let mut tree = Tlv::parse(&cert);
    extensions(&mut tree).push(Tlv::Constructed(
        0x30,
        vec![
            Tlv::Primitive(0x06, vec![0x55, 0x1d, 0x25]),
            Tlv::Primitive(
                0x04,
                vec![
                    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
                ],
            ),
        ],
    ));
    let err = verify_root(&resign(&key, tree), spki).expect_err("EKU");
    assert!(err.to_string().contains("2.5.29.37"), "{err}");

    // basicConstraints with a pathLenConstraint.
    let mut tree = Tlv::parse(&cert);
    extension(&mut tree, &[0x55, 0x1d, 0x13]).children()[2] =
        Tlv::Primitive(0x04, vec![0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]);
    let err = verify_root(&resign(&key, tree), spki).expect_err("pathLen");
    assert!(err.to_string().contains("basicConstraints"), "{err}");

    // keyUsage not critical.
    let mut tree = Tlv::parse(&cert);
    extension(&mut tree, &[0x55, 0x1d, 0x0f])
        .children()
        .remove(1);
    let err = verify_root(&resign(&key, tree), spki).expect_err("keyUsage");
    assert!(
        err.to_string().contains("keyUsage must be critical"),
        "{err}"
    );

    // Issuer different from subject.
    let mut tree = Tlv::parse(&cert);
    let issuer = &mut tree.children()[TBS].children()[TBS_ISSUER];
    issuer.children().pop();
    let err = verify_root(&resign(&key, tree), spki).expect_err("issuer");
    assert!(
        matches!(
            err,
            X509Error::CheckFailed {
                check: "issuer == subject",
                ..
            }
        ),
        "{err}"
    );

    // Outer signatureAlgorithm not the TBS one: sha256WithRSAEncryption.
    let mut tree = Tlv::parse(&cert);
    tree.children()[1] = Tlv::parse(&[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ]);
    let err = verify_root(&tree.encode(), spki).expect_err("outer algorithm");
    assert!(
        matches!(
            err,
            X509Error::CheckFailed {
                check: "signatureAlgorithm == tbsCertificate.signature",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn token_public_key_round_trips_through_pem() {
    let key = TestKey::p384();
    let spki = key.spki();
    let pem = pem_encode("PUBLIC KEY", &spki);
    assert!(p384::PublicKey::from_public_key_pem(&pem).is_ok());
}
