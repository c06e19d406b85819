//! The root's delegated OCSP responder certificate (BR 7.1.2.8), signed by a software key
//! standing in for the root's HSM key, checked in software and by OpenSSL.

mod support;

use chrono::TimeDelta;
use keyceremony_x509::{
    DistinguishedName, OcspResponderRequest, X509Error, prepare_ocsp_responder,
    read_certificate_facts, verify_ocsp_responder,
};
use support::{TestKey, build_root, fresh_spki, openssl_with_files, signing_time};

fn request(spki: Vec<u8>, days: u32) -> OcspResponderRequest {
    OcspResponderRequest {
        subject: DistinguishedName {
            country: "JP".into(),
            state_or_province: None,
            locality: None,
            organization: "Example Trust".into(),
            common_name: "Example Root R1 OCSP Responder 2026-01".into(),
        },
        serial: vec![0x4d; 16],
        not_before: signing_time() - TimeDelta::minutes(5),
        validity_days: days,
        subject_public_key_info: spki,
    }
}

#[test]
fn the_responder_certificate_has_the_br_profile() {
    let key = TestKey::rsa();
    let (root, issuer) = build_root(&key);
    let (_dir, spki) = fresh_spki("ec");
    let prepared = prepare_ocsp_responder(&request(spki.clone(), 90), &issuer, signing_time())
        .expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    let summary = verify_ocsp_responder(&cert, &issuer, &spki).expect("verify");
    assert_eq!(summary.validity_days, 90);
    let facts = read_certificate_facts(&cert).expect("facts");
    assert_eq!(facts.basic_constraints, None);
    assert!(facts.certificate_policies.is_none() && facts.crl_distribution_points.is_none());

    support::openssl_verify_at(&root, &cert, signing_time());
    let text = openssl_with_files(
        &[("ocsp.pem", "CERTIFICATE", &cert)],
        &["x509", "-in", "ocsp.pem", "-noout", "-text"],
    );
    assert!(text.contains("OCSP Signing"), "{text}");
    assert!(text.contains("OCSP No Check"), "{text}");
    assert!(text.contains("Digital Signature\n"), "{text}");
}

#[test]
fn beyond_the_root_is_refused() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let (_dir, spki) = fresh_spki("ec");
    let err = prepare_ocsp_responder(&request(spki, 3000), &issuer, signing_time())
        .expect_err("beyond the root");
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
}
