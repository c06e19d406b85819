//! Subordinate CA certificates from a CSR or a bare public key, signed by software keys
//! standing in for the root's HSM key; OpenSSL verifies them against the root.

mod support;

use keyceremony_x509::{
    CertificationRequest, ObjectIdentifier, SubordinateRequest, X509Error, prepare_subordinate,
    read_certification_request, read_public_key, verify_subordinate,
};
use support::{
    SUB_SUBJECT_OPENSSL, TestKey, build_root, openssl, openssl_csr, openssl_key, request,
    sign_subordinate, signing_time, sub_subject,
};

fn csr(kind: &str, digest: &str, add_ext: &[&str]) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = openssl_key(dir.path(), kind);
    let csr = openssl_csr(dir.path(), &key, SUB_SUBJECT_OPENSSL, digest, add_ext);
    (dir, csr)
}

/// A P-384 test root, and the key of a fresh CSR with its folder.
fn root_and_csr_key() -> (
    TestKey,
    keyceremony_x509::Issuer,
    tempfile::TempDir,
    Vec<u8>,
) {
    let root_key = TestKey::p384();
    let (_, issuer) = build_root(&root_key);
    let (dir, csr) = csr("ec", "sha384", &[]);
    let spki = read_certification_request(&csr)
        .expect("csr")
        .subject_public_key_info;
    (root_key, issuer, dir, spki)
}

/// `openssl verify` of `sub` against `root` alone, then its `openssl x509 -text`.
fn openssl_verify(root: &[u8], sub: &[u8]) -> String {
    support::openssl_verify_at(root, sub, signing_time());
    support::openssl_with_files(
        &[("sub.pem", "CERTIFICATE", sub)],
        &["x509", "-in", "sub.pem", "-noout", "-text"],
    )
}

#[test]
fn subordinates_from_csrs_verify_against_their_roots() {
    for (root_key, kind, digest) in [
        (TestKey::p384(), "ec", "sha384"),
        (TestKey::rsa(), "rsa", "sha256"),
        (TestKey::p384(), "ec", "sha256"),
    ] {
        let (root, issuer) = build_root(&root_key);
        let (_dir, csr) = csr(
            kind,
            digest,
            &["basicConstraints=critical,CA:TRUE,pathlen:3"],
        );
        let request_info: CertificationRequest = read_certification_request(&csr).expect("csr");
        request_info.check_subject(&sub_subject()).expect("subject");
        assert_eq!(request_info.requested_extensions.len(), 1);
        assert_eq!(
            request_info.requested_extensions[0].name,
            Some("basicConstraints")
        );
        assert!(request_info.requested_extensions[0].critical);

        let req = request(request_info.subject_public_key_info.clone());
        let cert = sign_subordinate(&root_key, &issuer, &req);
        let summary =
            verify_subordinate(&cert, &issuer, &req.subject_public_key_info).expect("verify");
        assert_eq!(
            summary.subject,
            "CN=Example TLS Issuing CA 1,O=Example Trust,C=JP"
        );
        assert_eq!(summary.issuer, issuer.subject());
        assert_eq!(summary.validity_days, 1826);
        assert_eq!(
            summary.authority_key_identifier,
            issuer.subject_key_identifier()
        );

        let text = openssl_verify(&root, &cert);
        assert!(
            text.contains("CA:TRUE, pathlen:0"),
            "the CSR's pathlen is ignored: {text}"
        );
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert!(text.contains("Policy: 2.23.140.1.2.2"), "{text}");
        assert!(
            text.contains("URI:http://crl.example.com/root-r1.crl"),
            "{text}"
        );
        assert!(
            text.contains("CA Issuers - URI:http://crt.example.com/root-r1.der"),
            "{text}"
        );
    }
}

#[test]
fn a_bare_public_key_is_certified_too() {
    let root_key = TestKey::p384();
    let (root, issuer) = build_root(&root_key);
    let dir = tempfile::tempdir().expect("tempdir");
    let key = openssl_key(dir.path(), "ec");
    let pub_file = dir.path().join("pub.pem");
    openssl(
        dir.path(),
        &[
            "pkey",
            "-in",
            key.to_str().expect("path"),
            "-pubout",
            "-out",
            pub_file.to_str().expect("path"),
        ],
    );
    let spki = read_public_key(&std::fs::read(&pub_file).expect("read")).expect("public key");
    let cert = sign_subordinate(&root_key, &issuer, &request(spki.clone()));
    verify_subordinate(&cert, &issuer, &spki).expect("verify");
    openssl_verify(&root, &cert);
}

#[test]
fn a_csr_with_a_bad_signature_is_refused() {
    let (_dir, csr) = csr("ec", "sha384", &[]);
    let (_, mut der) = der::pem::decode_vec(&csr).expect("pem");
    // The last bytes are the end of the ECDSA signature's s.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let err = read_certification_request(&der).expect_err("bad signature");
    assert!(matches!(err, X509Error::RequestSignature { .. }), "{err}");
    assert!(
        err.to_string().contains("does not prove possession"),
        "{err}"
    );
}

#[test]
fn a_csr_for_another_subject_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = openssl_key(dir.path(), "ec");
    let csr = openssl_csr(
        dir.path(),
        &key,
        "/C=JP/O=Example Trust/CN=Another CA",
        "sha384",
        &[],
    );
    let err = read_certification_request(&csr)
        .expect("csr")
        .check_subject(&sub_subject())
        .expect_err("another subject");
    assert!(matches!(err, X509Error::RequestSubject { .. }), "{err}");
    assert!(err.to_string().contains("CN=Another CA"), "{err}");
}

#[test]
fn validity_beyond_the_roots_is_refused() {
    let (_, issuer, _dir, spki) = root_and_csr_key();
    // The root ends 2033-03-01; five years from 2026-01-10 fit, eight do not.
    let req = SubordinateRequest {
        validity_days: 2922,
        ..request(spki)
    };
    let err = prepare_subordinate(&req, &issuer, signing_time()).expect_err("beyond the root");
    assert!(
        matches!(
            err,
            X509Error::Profile {
                check: "validity within the issuer's",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.section(), "RFC 5280 6.1.3, CPS 6.3.2");
}

#[test]
fn policies_must_start_with_one_reserved_identifier() {
    let (_, issuer, _dir, spki) = root_and_csr_key();
    for policies in [
        vec!["1.2.392.200091.100.901.11"],
        vec!["1.2.392.200091.100.901.11", "2.23.140.1.2.2"],
        vec!["2.23.140.1.2.2", "2.23.140.1.2.1"],
        vec!["2.23.140.1.2.2", "2.5.29.32.0"],
    ] {
        let req = SubordinateRequest {
            policies: policies
                .iter()
                .map(|p| ObjectIdentifier::new_unwrap(p))
                .collect(),
            ..request(spki.clone())
        };
        let err = prepare_subordinate(&req, &issuer, signing_time()).expect_err("policies");
        assert!(
            matches!(
                err,
                X509Error::Profile {
                    check: "certificatePolicies",
                    ..
                }
            ),
            "{policies:?}: {err}"
        );
    }
}

#[test]
fn a_crl_url_must_be_http() {
    let (_, issuer, _dir, spki) = root_and_csr_key();
    for url in [
        "https://crl.example.com/r1.crl",
        "http://",
        "http://a b/c",
        "ldap://x/y",
    ] {
        let req = SubordinateRequest {
            crl_url: url.into(),
            ..request(spki.clone())
        };
        let err = prepare_subordinate(&req, &issuer, signing_time()).expect_err(url);
        assert!(matches!(err, X509Error::InvalidUrl { .. }), "{url}: {err}");
    }
}

#[test]
fn a_certificate_signed_by_another_key_fails_verification() {
    let (_, issuer, _dir, spki) = root_and_csr_key();
    let req = request(spki.clone());
    let prepared = prepare_subordinate(&req, &issuer, signing_time()).expect("prepare");
    let signature = TestKey::p384_other().raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    let err = verify_subordinate(&cert, &issuer, &spki).expect_err("another key");
    assert!(matches!(err, X509Error::BadSignature { .. }), "{err}");
}
