//! The policy's rules for the root's later ceremonies: the tables of the reference policy,
//! the tables refused when the file is loaded, the lint of subordinate, OCSP responder and
//! cross-certificates and of CRLs against them, and the issued records (no key or subject
//! reused, revoked certificates this root's, CRLs in sequence). Software keys stand in for
//! the HSM here; tests/later_ceremonies.rs does the same on a real token.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{TestKey, new_p384_key, policy_after, reference_policy, request};
use keyceremony_policy::{
    CertificateRecord, CrlRecord, Finding, Inventory, InventoryEntry, IssuedProfile, IssuedRecord,
    IssuedRecords, NewCertificate, PolicyError, Severity, lint_crl_tbs, lint_issued_tbs,
};
use keyceremony_x509::{
    CrlNumber, CrlRequest, DistinguishedName, Issuer, ObjectIdentifier, OcspResponderRequest,
    SubordinateRequest, prepare_crl, prepare_ocsp_responder, prepare_root, prepare_subordinate,
    verify_crl, verify_root, verify_subordinate,
};
use p384::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now")
}

/// A root of 9132 days from an hour ago, signed by a fresh P-384 software key.
fn root() -> (TestKey, Issuer) {
    let key = TestKey::p384();
    let now = now();
    let prepared =
        prepare_root(&request(&key, 9132, now - TimeDelta::hours(1)), now).expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    verify_root(&cert, &key.spki()).expect("verify");
    let issuer = Issuer::from_root(&cert, &key.spki()).expect("issuer");
    (key, issuer)
}

fn fresh_spki() -> Vec<u8> {
    new_p384_key()
        .verifying_key()
        .to_public_key_der()
        .expect("spki")
        .into_vec()
}

fn subject(common_name: &str) -> DistinguishedName {
    DistinguishedName {
        country: "JP".into(),
        state_or_province: None,
        locality: None,
        organization: "Example Trust Co., Ltd.".into(),
        common_name: common_name.into(),
    }
}

fn subordinate_request(days: u32, policies: &[&str]) -> SubordinateRequest {
    SubordinateRequest {
        subject: subject("Example Issuing CA"),
        serial: vec![0x11; 16],
        not_before: now(),
        validity_days: days,
        path_len_constraint: Some(0),
        client_auth: false,
        digital_signature: false,
        policies: policies
            .iter()
            .map(|p| ObjectIdentifier::new_unwrap(p))
            .collect(),
        crl_url: "http://crl.example.com/root.crl".into(),
        ocsp_url: None,
        ca_issuers_url: None,
        subject_public_key_info: fresh_spki(),
    }
}

fn errors(findings: &[Finding]) -> Vec<(&'static str, &str)> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.rule, f.message.as_str()))
        .collect()
}

#[test]
fn the_reference_policy_has_the_later_ceremonies_tables() {
    let issuance = reference_policy().issuance;
    let subordinate = issuance.subordinate.expect("[subordinate]");
    assert_eq!(
        (subordinate.section, subordinate.max_validity_days),
        ("CPS 6.3.2", 7305)
    );
    let policies = issuance
        .certificate_policies
        .expect("[certificate_policies]");
    assert_eq!(policies.reserved.len(), 2);
    assert!(
        policies
            .defined
            .contains(&ObjectIdentifier::new_unwrap("1.2.392.200091.100.901.11"))
    );
    assert!(
        issuance
            .cross_certificate
            .expect("[cross_certificate]")
            .same_organization
    );
    assert_eq!(
        issuance
            .ocsp_responder
            .expect("[ocsp_responder]")
            .max_validity_days,
        125
    );
    assert_eq!(issuance.crl.expect("[crl]").max_next_update_days, 365);
}

#[test]
fn tables_that_cannot_be_enforced_are_refused() {
    for (from, to, words) in [
        (
            "max_next_update_days = 365",
            "max_next_update_days = 366",
            "at most 12 months",
        ),
        (
            "reserved = [\"2.23.140.1.2.1\", ",
            "reserved = [\"1.2.3.4\", ",
            "not a reserved identifier",
        ),
        (
            "  \"1.2.392.200091.100.901.4\",",
            "  \"2.23.140.1.2.3\",",
            "list it in reserved",
        ),
        (
            "  \"1.2.392.200091.100.901.4\",",
            "  \"not an oid\",",
            "is not an OID",
        ),
        (
            "max_validity_days = 7305",
            "max_validity_days = 0",
            "at least one day",
        ),
        ("[certificate_policies]", "[unknown_table]", "unknown field"),
    ] {
        let err = policy_after("reference-cps", &[(from, to)]).expect_err(to);
        assert!(matches!(err, PolicyError::InvalidPolicy { .. }), "{err}");
        assert!(err.to_string().contains(words), "{to}: {err}");
    }
    // Without [subordinate], the policy allows no subordinate CA and needs no policies.
    let text = std::fs::read_to_string(common::reference_policy_path()).expect("text");
    let start = text.find("[subordinate]").expect("table");
    let end = text.find("[cross_certificate]").expect("table");
    let comment_start = text[..start].rfind("\n\n").expect("blank line");
    let without = format!("{}\n\n{}", &text[..comment_start], &text[end..]);
    let err = keyceremony_policy::Policy::parse(&common::reference_policy_path(), &without)
        .expect_err("a cross-certificate without [subordinate]");
    assert!(err.to_string().contains("needs [subordinate]"), "{err}");
}

#[test]
fn a_subordinate_beyond_the_policys_validity_or_policies_is_refused() {
    let (key, issuer) = root();
    let policy = reference_policy();
    let lint = |req: &SubordinateRequest| {
        let prepared = prepare_subordinate(req, &issuer, now()).expect("the BR profile holds");
        lint_issued_tbs(
            IssuedProfile::Subordinate,
            prepared.tbs_der(),
            &issuer,
            &policy,
        )
    };
    let good = subordinate_request(7300, &["2.23.140.1.2.2", "1.2.392.200091.100.901.11"]);
    assert_eq!(lint(&good), []);
    let prepared = prepare_subordinate(&good, &issuer, now()).expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    verify_subordinate(&cert, &issuer, &good.subject_public_key_info).expect("verify");

    let findings = lint(&subordinate_request(7306, &["2.23.140.1.2.2"]));
    assert_eq!(
        errors(&findings),
        [(
            "CPS 6.3.2",
            "a validity of 7306 days is more than the 7305 days of policy 'reference-cps'"
        )]
    );
    // A reserved identifier the CA does not assert, one its CP/CPS does not define.
    for (policies, oid) in [
        (&["2.23.140.1.2.3"][..], "2.23.140.1.2.3"),
        (
            &["2.23.140.1.2.2", "1.2.392.200091.100.901.5"][..],
            "1.2.392.200091.100.901.5",
        ),
    ] {
        let findings = lint(&subordinate_request(365, policies));
        let found = errors(&findings);
        assert_eq!(found.len(), 1, "{oid}: {found:?}");
        assert_eq!(found[0].0, "CPS 1.2 (Table 1.2-3), BR 7.1.2.10.5, 7.1.6.1");
        assert!(found[0].1.contains(oid), "{found:?}");
    }
}

/// Lints the TBS of an OCSP responder certificate of `days` days for `issuer`.
fn lint_ocsp_responder(
    issuer: &Issuer,
    days: u32,
    policy: &keyceremony_policy::Policy,
) -> Vec<Finding> {
    let req = OcspResponderRequest {
        subject: subject("Example OCSP Responder"),
        serial: vec![0x22; 16],
        not_before: now(),
        validity_days: days,
        subject_public_key_info: fresh_spki(),
    };
    let prepared = prepare_ocsp_responder(&req, issuer, now()).expect("prepare");
    lint_issued_tbs(
        IssuedProfile::OcspResponder,
        prepared.tbs_der(),
        issuer,
        policy,
    )
}

#[test]
fn an_ocsp_responder_beyond_125_days_is_refused() {
    let (_, issuer) = root();
    let policy = reference_policy();
    for (days, refused) in [(125, false), (126, true)] {
        let findings = lint_ocsp_responder(&issuer, days, &policy);
        assert_eq!(
            !errors(&findings).is_empty(),
            refused,
            "{days}: {findings:?}"
        );
        if refused {
            assert_eq!(findings[0].rule, "CPS 6.1.7, 6.3.2");
        }
    }
    // A policy without [ocsp_responder] allows none.
    let text = std::fs::read_to_string(common::reference_policy_path()).expect("text");
    let start = text.find("[ocsp_responder]").expect("table");
    let end = text
        .find("# A CA that issues CA certificates")
        .expect("comment");
    let without = format!("{}{}", &text[..start], &text[end..]);
    let policy = keyceremony_policy::Policy::parse(&common::reference_policy_path(), &without)
        .expect("a policy without OCSP responders");
    let findings = lint_ocsp_responder(&issuer, 30, &policy);
    assert!(
        findings[0].message.contains("no [ocsp_responder] table"),
        "{findings:?}"
    );
}

#[test]
fn a_crl_beyond_the_policys_next_update_is_refused() {
    let (_, issuer) = root();
    let strict = policy_after(
        "reference-cps",
        &[("max_next_update_days = 365", "max_next_update_days = 100")],
    )
    .expect("a stricter policy");
    let this_update = now();
    let req = CrlRequest {
        number: CrlNumber::new(1),
        this_update,
        next_update: this_update + TimeDelta::days(180),
        distribution_point: None,
        revoked: Vec::new(),
        expired: Vec::new(),
    };
    let prepared = prepare_crl(&req, &issuer, None, this_update).expect("prepare");
    assert_eq!(
        lint_crl_tbs(prepared.tbs_der(), &issuer, &reference_policy()),
        []
    );
    let findings = lint_crl_tbs(prepared.tbs_der(), &issuer, &strict);
    assert_eq!(errors(&findings).len(), 1, "{findings:?}");
    assert!(
        findings[0].message.contains("more than 100 days"),
        "{findings:?}"
    );
}

/// A subordinate signed by `key` for `issuer`, and its record.
fn recorded_subordinate(
    key: &TestKey,
    issuer: &Issuer,
    serial: u8,
) -> (Vec<u8>, CertificateRecord) {
    let req = SubordinateRequest {
        serial: vec![serial; 16],
        ..subordinate_request(365, &["2.23.140.1.2.2"])
    };
    let prepared = prepare_subordinate(&req, issuer, now()).expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    let summary = verify_subordinate(&cert, issuer, &req.subject_public_key_info).expect("verify");
    (
        req.subject_public_key_info,
        CertificateRecord::new("test-sub", now(), issuer, &summary, None),
    )
}

#[test]
fn a_reused_subordinate_key_or_subject_is_refused() {
    let (key, issuer) = root();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = IssuedRecords::path_beside(&dir.path().join("inventory.jsonl"));
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("inventory.issued.jsonl")
    );
    let (spki, record) = recorded_subordinate(&key, &issuer, 0x31);
    let subject = record.subject.clone();
    let roots = Inventory::default();
    let records = IssuedRecords::load(&path).expect("none yet");
    records
        .check_new(&roots, NewCertificate::Subordinate, &subject, &spki)
        .expect("new");
    IssuedRecords::record(&path, &IssuedRecord::SubordinateCa(record)).expect("record");
    let records = IssuedRecords::load(&path).expect("reload");
    assert_eq!(records.records().len(), 1);

    let err = records
        .check_new(
            &roots,
            NewCertificate::Subordinate,
            "CN=Other,O=Example,C=JP",
            &spki,
        )
        .expect_err("the same key");
    assert!(matches!(err, PolicyError::ReusedKey { .. }), "{err}");
    assert_eq!(err.section(), Some("CPS 6.3.2"));
    let err = records
        .check_new(
            &roots,
            NewCertificate::OcspResponder,
            "CN=Other,O=Example,C=JP",
            &spki,
        )
        .expect_err("an OCSP responder with the subordinate's key");
    assert!(matches!(err, PolicyError::ReusedKey { .. }), "{err}");

    let upper = subject.to_uppercase();
    let err = records
        .check_new(&roots, NewCertificate::Subordinate, &upper, &fresh_spki())
        .expect_err("the same subject, in other case");
    assert!(matches!(err, PolicyError::ReusedSubject { .. }), "{err}");
    records
        .check_new(&roots, NewCertificate::OcspResponder, &upper, &fresh_spki())
        .expect("an OCSP responder keeps its subject across keys");

    // A root's key or subject, from the inventory, is refused as well.
    let root_key = fresh_spki();
    let inventory = dir.path().join("inventory.jsonl");
    let entry = InventoryEntry {
        ceremony_id: "root".into(),
        time: now(),
        key_label: "root-key".into(),
        subject: "CN=Example Root,O=Example Trust,C=JP".into(),
        public_key_sha256: keyceremony_x509::fingerprint_hex(&Sha256::digest(&root_key)),
        certificate_sha256: "A".repeat(64),
        token_serial: None,
        user_pin_split: None,
    };
    Inventory::record(&inventory, &entry).expect("record a root");
    let roots = Inventory::load(&inventory).expect("load");
    let err = records
        .check_new(
            &roots,
            NewCertificate::Subordinate,
            "CN=New,O=Example,C=JP",
            &root_key,
        )
        .expect_err("a root's key");
    assert!(matches!(err, PolicyError::ReusedKey { .. }), "{err}");
    let err = records
        .check_new(
            &roots,
            NewCertificate::Subordinate,
            "CN=Example Root,O=Example Trust,C=JP",
            &fresh_spki(),
        )
        .expect_err("a root's subject");
    assert!(matches!(err, PolicyError::ReusedSubject { .. }), "{err}");
}

#[test]
fn revoked_serials_come_from_this_roots_records_and_crls_follow_the_last() {
    let (key, issuer) = root();
    let (other_key, other_issuer) = root();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.issued.jsonl");
    let (_, ours) = recorded_subordinate(&key, &issuer, 0x41);
    let (_, theirs) = recorded_subordinate(&other_key, &other_issuer, 0x42);
    for record in [ours.clone(), theirs.clone()] {
        IssuedRecords::record(&path, &IssuedRecord::SubordinateCa(record)).expect("record");
    }
    let records = IssuedRecords::load(&path).expect("load");
    let issued = records
        .issued_certificate(&issuer, &ours.serial)
        .expect("ours");
    assert_eq!(issued.not_after, ours.not_after);
    let err = records
        .issued_certificate(&issuer, &theirs.serial)
        .expect_err("another root's");
    assert!(matches!(err, PolicyError::NotIssued { .. }), "{err}");
    assert_eq!(err.section(), Some("BR 7.2"));

    // Two CRLs; the third must name the second as its previous CRL and a greater number.
    let sign = |number: u64, offset: i64, previous: Option<&keyceremony_x509::CrlFacts>| {
        let this_update = now() - TimeDelta::minutes(10) + TimeDelta::seconds(offset);
        let req = CrlRequest {
            number: CrlNumber::new(number),
            this_update,
            next_update: this_update + TimeDelta::days(30),
            distribution_point: None,
            revoked: Vec::new(),
            expired: Vec::new(),
        };
        let prepared = prepare_crl(&req, &issuer, previous, now()).expect("prepare");
        let signature = key.raw_sign(prepared.tbs_der());
        let crl = prepared.assemble(&signature).expect("assemble");
        verify_crl(&crl, &issuer).expect("verify")
    };
    let first = sign(1, 0, None);
    IssuedRecords::record(
        &path,
        &IssuedRecord::Crl(CrlRecord::new("crl-1", now(), &issuer, &first).expect("record")),
    )
    .expect("record");
    let second = sign(2, 60, Some(&first));
    IssuedRecords::record(
        &path,
        &IssuedRecord::Crl(CrlRecord::new("crl-2", now(), &issuer, &second).expect("record")),
    )
    .expect("record");
    let records = IssuedRecords::load(&path).expect("load");
    assert_eq!(
        records.last_crl(&issuer).map(|r| r.number.as_str()),
        Some("2")
    );
    assert!(records.last_crl(&other_issuer).is_none());

    let refused = |previous: Option<&keyceremony_x509::CrlFacts>, number: u64, words: &str| {
        let err = records
            .check_crl_sequence(&issuer, previous, &CrlNumber::new(number))
            .expect_err(words);
        assert!(matches!(err, PolicyError::CrlSequence { .. }), "{err}");
        assert!(err.to_string().contains(words), "{err}");
    };
    refused(None, 3, "give it as the previous CRL");
    refused(Some(&first), 3, "not the last one recorded");
    refused(Some(&second), 2, "not greater than the last recorded, 2");
    records
        .check_crl_sequence(&issuer, Some(&second), &CrlNumber::new(3))
        .expect("in sequence");
    records
        .check_crl_sequence(&other_issuer, None, &CrlNumber::new(1))
        .expect("another root's first CRL");
}

#[test]
fn a_records_file_cut_short_is_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.issued.jsonl");
    std::fs::write(&path, "{\"kind\":\"crl\"").expect("write");
    let err = IssuedRecords::load(&path).expect_err("cut short");
    assert!(
        matches!(err, PolicyError::InventoryCorrupt { line: 1, .. }),
        "{err}"
    );
    std::fs::write(&path, "{\"kind\":\"key-destroyed\"}\n").expect("write");
    let err = IssuedRecords::load(&path).expect_err("unknown kind");
    assert!(matches!(err, PolicyError::InventoryCorrupt { .. }), "{err}");
}
