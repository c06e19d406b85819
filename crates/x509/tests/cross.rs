//! Cross-certificates of existing CA certificates, signed by a software key standing in for
//! the root's HSM key: what is kept byte for byte, the EKU and notBefore rules of BR 7.1.2.2
//! and boulder, and OpenSSL verifying the cross-certificate against the root.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use keyceremony_x509::{
    CrossRequest, Issuer, ObjectIdentifier, X509Error, prepare_cross_certificate,
    read_certificate_facts, verify_cross_certificate,
};
use support::{TestKey, build_root, openssl, openssl_key};

/// OpenSSL dates the existing certificates from now, so the cross-certificates are signed
/// now too (whole seconds, as certificates carry them).
fn signing_time() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now")
}

/// A self-signed CA certificate made by OpenSSL for `subject`, with `extensions` (OpenSSL
/// -addext), valid from now for ten years: the existing certificate to cross-certify.
fn existing_ca(subject: &str, extensions: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = openssl_key(dir.path(), "ec");
    let out = dir.path().join("existing.der");
    let mut args = vec![
        "req".to_owned(),
        "-x509".into(),
        "-new".into(),
        "-sha384".into(),
        "-key".into(),
        key.display().to_string(),
        "-subj".into(),
        subject.into(),
        "-days".into(),
        "3650".into(),
        "-outform".into(),
        "DER".into(),
        "-out".into(),
        out.display().to_string(),
    ];
    for extension in extensions {
        args.push("-addext".into());
        args.push((*extension).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir.path(), &args);
    std::fs::read(out).expect("read")
}

const CA_EXTENSIONS: [&str; 2] = [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
];

fn request(existing: Vec<u8>) -> CrossRequest {
    let not_before = read_certificate_facts(&existing).expect("facts").not_before;
    CrossRequest {
        existing_certificate: existing,
        serial: vec![0x3c; 16],
        not_before: not_before.max(signing_time() - TimeDelta::minutes(5)),
        validity_days: 1826,
        client_auth: false,
        policies: vec![ObjectIdentifier::new_unwrap("2.23.140.1.2.2")],
        crl_url: "http://crl.example.com/root-r1.crl".into(),
        ocsp_url: None,
        ca_issuers_url: Some("http://crt.example.com/root-r1.der".into()),
    }
}

fn sign(key: &TestKey, issuer: &Issuer, req: &CrossRequest) -> Vec<u8> {
    let prepared = prepare_cross_certificate(req, issuer, signing_time()).expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    prepared.assemble(&signature).expect("assemble")
}

#[test]
fn a_root_is_cross_certified_with_its_subject_key_and_identifier_kept() {
    let key = TestKey::p384();
    let (root, issuer) = build_root(&key);
    let existing = existing_ca("/C=JP/O=Example Trust/CN=Example Root R2", &CA_EXTENSIONS);
    let req = request(existing.clone());
    let cross = sign(&key, &issuer, &req);
    let summary = verify_cross_certificate(&cross, &issuer, &existing).expect("verify");
    let (old, new) = (
        read_certificate_facts(&existing).expect("existing"),
        read_certificate_facts(&cross).expect("cross"),
    );
    assert_eq!(new.subject_der, old.subject_der);
    assert_eq!(new.spki_der, old.spki_der);
    assert_eq!(new.subject_key_identifier, old.subject_key_identifier);
    assert_eq!(new.basic_constraints, Some((true, None)));
    assert_eq!(summary.issuer, issuer.subject());
    support::openssl_verify_at(&root, &cross, signing_time());

    // With clientAuth asked for, serverAuth then clientAuth.
    let cross = sign(
        &key,
        &issuer,
        &CrossRequest {
            client_auth: true,
            ..req
        },
    );
    verify_cross_certificate(&cross, &issuer, &existing).expect("verify");
}

#[test]
fn an_intermediate_keeps_its_eku_and_path_length() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let existing = existing_ca(
        "/C=JP/O=Other Trust/CN=Other TLS CA",
        &[
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
            "extendedKeyUsage=serverAuth,clientAuth",
        ],
    );
    let req = request(existing.clone());
    let cross = sign(&key, &issuer, &req);
    verify_cross_certificate(&cross, &issuer, &existing).expect("verify");
    let facts = read_certificate_facts(&cross).expect("facts");
    assert_eq!(facts.basic_constraints, Some((true, Some(0))));
    assert_eq!(facts.extended_key_usage.as_ref().map(Vec::len), Some(2));
    assert!(
        facts
            .key_usage
            .expect("keyUsage")
            .has(keyceremony_x509::KeyUsageBits::DIGITAL_SIGNATURE)
    );

    let err = prepare_cross_certificate(
        &CrossRequest {
            client_auth: true,
            ..req
        },
        &issuer,
        signing_time(),
    )
    .expect_err("its EKU is copied");
    assert!(
        matches!(
            err,
            X509Error::Profile {
                check: "extKeyUsage",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_unrestricted_eku_needs_the_same_organization() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let extensions = [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
        "extendedKeyUsage=anyExtendedKeyUsage",
    ];
    let ours = existing_ca("/C=JP/O=Example Trust/CN=Example Any CA", &extensions);
    let cross = sign(&key, &issuer, &request(ours.clone()));
    verify_cross_certificate(&cross, &issuer, &ours).expect("the same organization");

    let theirs = existing_ca("/C=JP/O=Other Trust/CN=Other Any CA", &extensions);
    let err = prepare_cross_certificate(&request(theirs), &issuer, signing_time())
        .expect_err("another organization");
    assert!(err.to_string().contains("BR 7.1.2.2.3"), "{err}");
}

#[test]
fn not_before_the_existing_certificate_and_not_the_root_itself() {
    let key = TestKey::p384();
    let (root, issuer) = build_root(&key);
    let existing = existing_ca("/C=JP/O=Example Trust/CN=Example Root R2", &CA_EXTENSIONS);
    let mut req = request(existing);
    req.not_before = read_certificate_facts(&req.existing_certificate)
        .expect("facts")
        .not_before
        - TimeDelta::seconds(1);
    let err = prepare_cross_certificate(&req, &issuer, signing_time()).expect_err("too early");
    assert!(
        matches!(
            err,
            X509Error::Profile {
                check: "notBefore",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("BR 7.1.2.2.1"), "{err}");

    let err = prepare_cross_certificate(&request(root), &issuer, signing_time())
        .expect_err("the root itself");
    assert!(
        err.to_string().contains("does not cross-certify itself"),
        "{err}"
    );

    let end_entity = existing_ca(
        "/C=JP/O=Example Trust/CN=Not A CA",
        &["basicConstraints=critical,CA:FALSE"],
    );
    let err = prepare_cross_certificate(&request(end_entity), &issuer, signing_time())
        .expect_err("not a CA");
    assert!(err.to_string().contains("not a CA certificate"), "{err}");
}
