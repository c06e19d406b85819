//! The lint before signing (the TBS) and after (the certificate): what keyceremony-x509
//! builds passes; TBSs built by x509-cert's builder outside the profile or the policy are
//! refused, each with its section.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{RSA2048_PUB_PEM, TestKey, build_root, policy_after, reference_policy, spki_from_pem};
use der::{
    Decode, Document,
    asn1::{Any, GeneralizedTime, ObjectIdentifier},
};
use keyceremony_policy::{Finding, Policy, Severity, has_errors, lint_certificate, lint_tbs};
use keyceremony_x509::inspect_tbs;
use signature::Keypair;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::{
    builder::{Builder, CertificateBuilder, profile::cabf},
    ext::pkix::ExtendedKeyUsage,
    name::Name,
    serial_number::SerialNumber,
    time::{Time, Validity},
};

const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const ID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const DAY: u64 = 86_400;

/// Gives x509-cert's builder any key and any signature AlgorithmIdentifier; it never signs,
/// as only the TBS is wanted.
struct StandIn {
    spki: Vec<u8>,
    algorithm: AlgorithmIdentifierOwned,
}

#[derive(Clone)]
struct StandInKey(Vec<u8>);

impl EncodePublicKey for StandInKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::try_from(self.0.as_slice())?)
    }
}

impl Keypair for StandIn {
    type VerifyingKey = StandInKey;

    fn verifying_key(&self) -> StandInKey {
        StandInKey(self.spki.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for StandIn {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}

fn rsa_algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

/// The subject keyceremony-x509 encodes, read back from one of its TBSs.
fn subject_name() -> Name {
    let (tbs, _) = build_root(&TestKey::p384(), 2922);
    let facts = inspect_tbs(&tbs).expect("profile");
    Name::from_der(&facts.subject_der).expect("name")
}

/// A TBS from x509-cert's CA/B Forum root profile, `days` long from 2026-01-01, with the
/// given key and signature algorithm and optionally an extKeyUsage extension.
fn builder_tbs(
    spki: &[u8],
    algorithm: AlgorithmIdentifierOwned,
    days: u64,
    extra_extension: bool,
) -> Vec<u8> {
    let not_before = 1_767_225_600; // 2026-01-01T00:00:00Z
    let time = |seconds: u64| {
        Time::GeneralTime(
            GeneralizedTime::from_unix_duration(Duration::from_secs(seconds)).expect("time"),
        )
    };
    let validity = Validity::new(time(not_before), time(not_before + days * DAY - 1));
    let profile = cabf::Root::new(false, subject_name()).expect("profile");
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&[0x3f; 16]).expect("serial"),
        validity,
        SubjectPublicKeyInfoOwned::from_der(spki).expect("spki"),
    )
    .expect("builder");
    if extra_extension {
        builder
            .add_extension(&ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]))
            .expect("extension");
    }
    builder
        .finalize(&StandIn {
            spki: spki.to_vec(),
            algorithm,
        })
        .expect("TBS")
}

fn assert_refused(findings: &[Finding], section: &str, words: &str) {
    assert!(
        findings.iter().any(|f| f.severity == Severity::Error
            && f.rule.contains(section)
            && f.message.contains(words)),
        "no error [{section}] with '{words}' in {findings:#?}"
    );
    assert!(has_errors(findings));
}

#[test]
fn what_keyceremony_builds_passes_before_and_after_signing() {
    let policy = reference_policy();
    for key in [TestKey::rsa(), TestKey::p384()] {
        for days in [2922, 9131, 9132] {
            let (tbs, cert) = build_root(&key, days);
            assert_eq!(lint_tbs(&tbs, &policy), [], "{days} days");
            assert_eq!(lint_certificate(&cert, &policy), [], "{days} days");
        }
    }
}

#[test]
fn the_builder_profile_with_the_right_algorithm_passes() {
    // Sanity for the tests below: the stand-in builds a TBS the lint accepts, so each
    // refusal below comes from the one thing changed.
    let spki = TestKey::rsa().spki();
    let tbs = builder_tbs(&spki, rsa_algorithm(SHA384_WITH_RSA), 2922, false);
    assert_eq!(lint_tbs(&tbs, &reference_policy()), []);
}

#[test]
fn sha256_signature_is_refused() {
    let spki = TestKey::rsa().spki();
    let tbs = builder_tbs(&spki, rsa_algorithm(SHA256_WITH_RSA), 2922, false);
    let findings = lint_tbs(&tbs, &reference_policy());
    assert_refused(&findings, "CPS 6.1.5", "sha384WithRSAEncryption");
}

#[test]
fn rsa_2048_key_is_refused() {
    let spki = spki_from_pem(RSA2048_PUB_PEM);
    let tbs = builder_tbs(&spki, rsa_algorithm(SHA384_WITH_RSA), 2922, false);
    let findings = lint_tbs(&tbs, &reference_policy());
    assert_refused(&findings, "CPS 6.1.5", "RSA-2048");
}

#[test]
fn validity_of_2921_and_9133_days_is_refused() {
    let spki = TestKey::rsa().spki();
    for days in [2921, 9133] {
        let tbs = builder_tbs(&spki, rsa_algorithm(SHA384_WITH_RSA), days, false);
        let findings = lint_tbs(&tbs, &reference_policy());
        assert_refused(&findings, "CPS 6.3.2", &format!("{days} days"));
    }
}

#[test]
fn an_extra_extension_is_refused() {
    let spki = TestKey::rsa().spki();
    let tbs = builder_tbs(&spki, rsa_algorithm(SHA384_WITH_RSA), 2922, true);
    let findings = lint_tbs(&tbs, &reference_policy());
    assert_refused(&findings, "BR 7.1.2.1.2", "2.5.29.37");
}

#[test]
fn the_policy_can_be_stricter_than_the_profile() {
    let policy: Policy = policy_after(
        "ecc-20-years",
        &[
            ("name = \"reference-cps\"", "name = \"ecc-20-years\""),
            (
                "  { key = \"rsa-4096\", signature = \"sha384WithRSAEncryption\" },\n",
                "",
            ),
            ("max_days = 9132", "max_days = 7305"),
        ],
    )
    .expect("policy");
    let (tbs, _) = build_root(&TestKey::rsa(), 7305);
    let findings = lint_tbs(&tbs, &policy);
    assert_refused(&findings, "CPS 6.1.5", "policy 'ecc-20-years'");
    assert_eq!(findings.len(), 1, "{findings:#?}");

    let (tbs, _) = build_root(&TestKey::p384(), 7306);
    let findings = lint_tbs(&tbs, &policy);
    assert_refused(&findings, "CPS 6.3.2", "outside the 2922 to 7305 days");
    let (tbs, _) = build_root(&TestKey::p384(), 7305);
    assert_eq!(lint_tbs(&tbs, &policy), []);
}

#[test]
fn a_broken_certificate_is_refused_after_signing() {
    let policy = reference_policy();
    let (_, cert) = build_root(&TestKey::p384(), 2922);

    let mut flipped = cert.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    let findings = lint_certificate(&flipped, &policy);
    assert!(has_errors(&findings), "{findings:#?}");

    let mut trailing = cert.clone();
    trailing.push(0x00);
    let findings = lint_certificate(&trailing, &policy);
    assert_refused(&findings, "X.690", "certificate");

    // Signed by another key than the one it certifies: not self-signed.
    let key = TestKey::p384();
    let other = TestKey::p384();
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let prepared =
        keyceremony_x509::prepare_root(&common::request(&key, 2922, now), now).expect("prepare");
    let signature = other.raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    let findings = lint_certificate(&cert, &policy);
    assert_refused(&findings, "BR 7.1.3.2", "does not verify");
}
