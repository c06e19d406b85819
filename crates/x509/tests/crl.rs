//! Root CRLs built, signed by a software key standing in for the HSM's, and checked: the
//! refusals of issue 18 (nextUpdate beyond 12 months, a number not greater, an entry dropped,
//! a certificate of another issuer), and OpenSSL verifying them against the root.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use keyceremony_x509::{
    CrlFacts, CrlNumber, CrlRequest, IssuedCertificate, Issuer, Revocation, RevocationReason,
    SubordinateRequest, X509Error, prepare_crl, verify_crl,
};
use support::{TestKey, at, build_root, fresh_spki, openssl_with_files, request, sign_subordinate};

const CRL_URL: &str = "http://crl.example.com/root-r1.crl";

fn crl_request(number: u64, this_update: DateTime<Utc>, revoked: Vec<Revocation>) -> CrlRequest {
    CrlRequest {
        number: CrlNumber::new(number),
        this_update,
        next_update: this_update + TimeDelta::days(360),
        distribution_point: Some(CRL_URL.into()),
        revoked,
        expired: Vec::new(),
    }
}

/// Prepares, signs with `key` and verifies a CRL; returns its DER and facts.
fn sign_crl(
    key: &TestKey,
    issuer: &Issuer,
    req: &CrlRequest,
    previous: Option<&CrlFacts>,
) -> (Vec<u8>, CrlFacts) {
    let prepared = prepare_crl(
        req,
        issuer,
        previous,
        req.this_update + TimeDelta::minutes(5),
    )
    .expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    let crl = prepared.assemble(&signature).expect("assemble");
    let facts = verify_crl(&crl, issuer).expect("verify");
    (crl, facts)
}

fn refused(
    issuer: &Issuer,
    req: &CrlRequest,
    previous: Option<&CrlFacts>,
    check: &str,
) -> X509Error {
    let err = prepare_crl(
        req,
        issuer,
        previous,
        req.this_update + TimeDelta::minutes(5),
    )
    .expect_err(check);
    match &err {
        X509Error::Profile { check: found, .. } => assert_eq!(*found, check, "{err}"),
        other => panic!("{check}: {other}"),
    }
    err
}

/// A subordinate of `days` days issued at 2026-01-10, and it as a CRL sees it; its serial
/// number is `days` over and over.
fn subordinate(key: &TestKey, issuer: &Issuer, days: u32) -> (Vec<u8>, IssuedCertificate) {
    let (_dir, spki) = fresh_spki("ec");
    let req = SubordinateRequest {
        validity_days: days,
        serial: vec![(days % 251) as u8 + 1; 16],
        ..request(spki)
    };
    let cert = sign_subordinate(key, issuer, &req);
    let issued = IssuedCertificate::from_certificate(&cert, issuer).expect("issued by the root");
    (cert, issued)
}

fn openssl_crl_verify(root: &[u8], crl: &[u8]) -> String {
    let text = openssl_with_files(
        &[
            ("root.pem", "CERTIFICATE", root),
            ("crl.pem", "X509 CRL", crl),
        ],
        &[
            "crl", "-in", "crl.pem", "-CAfile", "root.pem", "-verify", "-noout", "-text",
        ],
    );
    assert!(text.contains("verify OK"), "{text}");
    text
}

#[test]
fn a_first_crl_and_its_successor_verify_against_the_root() {
    for key in [TestKey::p384(), TestKey::rsa()] {
        let (root, issuer) = build_root(&key);
        let (_, sub) = subordinate(&key, &issuer, 1826);

        let (first, first_facts) = sign_crl(
            &key,
            &issuer,
            &crl_request(1, at("2026-02-01T10:00:00Z"), vec![]),
            None,
        );
        assert!(first_facts.entries.is_empty());
        let text = openssl_crl_verify(&root, &first);
        assert!(text.contains("No Revoked Certificates"), "{text}");
        assert!(text.contains("Only CA Certificates"), "{text}");
        assert!(text.contains(CRL_URL), "{text}");

        let revocation = Revocation {
            certificate: sub.clone(),
            revocation_date: at("2026-03-01T09:00:00Z"),
            reason: RevocationReason::KeyCompromise,
        };
        let req = crl_request(2, at("2026-03-01T10:00:00Z"), vec![revocation]);
        let (second, second_facts) = sign_crl(&key, &issuer, &req, Some(&first_facts));
        assert_eq!(second_facts.number, CrlNumber::new(2));
        assert_eq!(second_facts.entries.len(), 1);
        assert_eq!(second_facts.entries[0].serial, sub.serial);
        assert_eq!(second_facts.entries[0].reason_code, 1);
        let text = openssl_crl_verify(&root, &second);
        assert!(text.contains("Key Compromise"), "{text}");
        assert!(
            text.contains("X509v3 CRL Number: \n                2"),
            "{text}"
        );
    }
}

#[test]
fn next_update_beyond_12_months_or_the_root_is_refused() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let this_update = at("2026-02-01T10:00:00Z");
    let mut req = crl_request(1, this_update, vec![]);
    req.next_update = this_update + TimeDelta::days(365) + TimeDelta::seconds(1);
    let err = refused(&issuer, &req, None, "nextUpdate");
    assert!(err.to_string().contains("BR 4.9.7, 7.2"), "{err}");
    // Exactly 365 days is within 12 months.
    req.next_update = this_update + TimeDelta::days(365);
    sign_crl(&key, &issuer, &req, None);

    // The root ends 2033-03-01T09:29:59Z.
    let mut req = crl_request(1, at("2032-09-01T10:00:00Z"), vec![]);
    req.next_update = at("2033-03-02T00:00:00Z");
    refused(&issuer, &req, None, "validity within the issuer's");
}

#[test]
fn a_crl_number_not_greater_than_the_previous_is_refused() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let (_, first) = sign_crl(
        &key,
        &issuer,
        &crl_request(7, at("2026-02-01T10:00:00Z"), vec![]),
        None,
    );
    for number in [7, 6] {
        let req = crl_request(number, at("2026-03-01T10:00:00Z"), vec![]);
        let err = refused(
            &issuer,
            &req,
            Some(&first),
            "cRLNumber greater than the previous",
        );
        assert!(
            err.to_string()
                .contains("not greater than the previous CRL's 7"),
            "{err}"
        );
    }
    sign_crl(
        &key,
        &issuer,
        &crl_request(8, at("2026-03-01T10:00:00Z"), vec![]),
        Some(&first),
    );
}

#[test]
fn an_unexpired_entry_dropped_is_refused_and_an_expired_one_may_go() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let (_, short) = subordinate(&key, &issuer, 30);
    let (_, long) = subordinate(&key, &issuer, 1826);
    let revoke = |certificate: &IssuedCertificate| Revocation {
        certificate: certificate.clone(),
        revocation_date: at("2026-01-20T09:00:00Z"),
        reason: RevocationReason::Superseded,
    };
    // The 30-day subordinate expires 2026-02-08; the second CRL comes after that.
    let (_, first) = sign_crl(
        &key,
        &issuer,
        &crl_request(
            1,
            at("2026-01-20T10:00:00Z"),
            vec![revoke(&short), revoke(&long)],
        ),
        None,
    );
    let (_, second) = sign_crl(
        &key,
        &issuer,
        &crl_request(
            2,
            at("2026-03-01T10:00:00Z"),
            vec![revoke(&short), revoke(&long)],
        ),
        Some(&first),
    );

    // Dropping the unexpired one is refused, whatever the expired list says.
    let mut req = crl_request(3, at("2026-04-01T10:00:00Z"), vec![revoke(&short)]);
    req.expired = vec![long.clone()];
    let err = refused(&issuer, &req, Some(&second), "no unexpired entry dropped");
    assert!(
        err.to_string().contains(&hex::encode_upper(&long.serial)),
        "{err}"
    );

    // Dropping the expired one without saying so is refused too...
    let req = crl_request(3, at("2026-04-01T10:00:00Z"), vec![revoke(&long)]);
    refused(&issuer, &req, Some(&second), "no unexpired entry dropped");
    // ... and allowed with its certificate, which expired before the second CRL.
    let mut req = crl_request(3, at("2026-04-01T10:00:00Z"), vec![revoke(&long)]);
    req.expired = vec![short.clone()];
    let (_, third) = sign_crl(&key, &issuer, &req, Some(&second));
    assert_eq!(third.entries.len(), 1);
    // But not after the first CRL only: it had not expired when the first was issued.
    let mut req = crl_request(2, at("2026-04-01T10:00:00Z"), vec![revoke(&long)]);
    req.expired = vec![short];
    refused(&issuer, &req, Some(&first), "no unexpired entry dropped");
}

#[test]
fn a_certificate_of_another_issuer_is_refused() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let other_key = TestKey::p384_other();
    let (_, other_issuer) = build_root(&other_key);
    let (other_cert, other_sub) = subordinate(&other_key, &other_issuer, 1826);

    // From its certificate: the signature is not the root's.
    let err = IssuedCertificate::from_certificate(&other_cert, &issuer).expect_err("not ours");
    assert!(
        err.to_string()
            .contains("does not verify with the root's key"),
        "{err}"
    );
    assert_eq!(err.section(), "BR 7.2");

    // From a record naming the same subject but another key identifier.
    let revocation = Revocation {
        certificate: other_sub,
        revocation_date: at("2026-03-01T09:00:00Z"),
        reason: RevocationReason::KeyCompromise,
    };
    let req = crl_request(1, at("2026-03-01T10:00:00Z"), vec![revocation]);
    refused(
        &issuer,
        &req,
        None,
        "revoked certificate issued by this root",
    );
}

#[test]
fn a_changed_distribution_point_or_an_older_this_update_is_refused() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let (_, first) = sign_crl(
        &key,
        &issuer,
        &crl_request(1, at("2026-02-01T10:00:00Z"), vec![]),
        None,
    );
    let mut req = crl_request(2, at("2026-03-01T10:00:00Z"), vec![]);
    req.distribution_point = None;
    refused(
        &issuer,
        &req,
        Some(&first),
        "issuingDistributionPoint unchanged",
    );
    let req = crl_request(2, at("2026-02-01T10:00:00Z"), vec![]);
    refused(&issuer, &req, Some(&first), "thisUpdate after the previous");
}

#[test]
fn a_crl_signed_by_another_key_or_altered_fails_verification() {
    let key = TestKey::p384();
    let (_, issuer) = build_root(&key);
    let req = crl_request(1, at("2026-02-01T10:00:00Z"), vec![]);
    let prepared = prepare_crl(&req, &issuer, None, at("2026-02-01T10:05:00Z")).expect("prepare");
    let signature = TestKey::p384_other().raw_sign(prepared.tbs_der());
    let crl = prepared.assemble(&signature).expect("assemble");
    let err = verify_crl(&crl, &issuer).expect_err("another key");
    assert!(err.to_string().contains("not the root's"), "{err}");
}
