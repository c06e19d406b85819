//! An independent linter on what keyceremony-x509 builds: pkilint's CA/Browser Forum TLS
//! linter with the root CA profile must find nothing at warning level or above. pkilint is
//! installed by scripts/setup.sh; without it these tests fail rather than pass unchecked
//! (`common::pkilint`).

mod common;

use common::{TestKey, build_root, reference_policy};
use keyceremony_policy::lint_certificate;

/// Exit status and everything pkilint printed for one certificate.
fn pkilint(cert_der: &[u8]) -> (Option<i32>, String) {
    common::pkilint(
        "lint_cabf_serverauth_cert",
        &["lint", "-t", "ROOT-CA", "-s", "WARNING"],
        "CERTIFICATE",
        cert_der,
    )
}

#[test]
fn pkilint_finds_nothing_in_keyceremony_roots() {
    let policy = reference_policy();
    for (name, key) in [("RSA-4096", TestKey::rsa()), ("P-384", TestKey::p384())] {
        for days in [2922, 9131, 9132] {
            let (_, cert) = build_root(&key, days);
            assert_eq!(lint_certificate(&cert, &policy), [], "{name}, {days} days");
            let (status, output) = pkilint(&cert);
            // pkilint's text report of no findings is a lone line feed.
            assert_eq!(
                (status, output.trim()),
                (Some(0), ""),
                "pkilint on the {name} root of {days} days:\n{output}"
            );
        }
    }
}

#[test]
fn pkilint_is_really_looking() {
    // The same root with an extKeyUsage extension, which BR 7.1.2.1.2 forbids in a root:
    // pkilint must say so, or the test above proves nothing.
    use der::{Decode, Encode, asn1::ObjectIdentifier};
    use x509_cert::{
        builder::{Builder, CertificateBuilder, profile::cabf},
        ext::pkix::ExtendedKeyUsage,
        name::Name,
        serial_number::SerialNumber,
        spki::SubjectPublicKeyInfo,
        time::Validity,
    };
    let key = common::new_p384_key();
    let (tbs, _) = build_root(&TestKey::p384(), 2922);
    let subject = keyceremony_x509::inspect_tbs(&tbs)
        .expect("profile")
        .subject_der;
    let profile = cabf::Root::new(false, Name::from_der(&subject).expect("name")).expect("root");
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&[0x3f; 16]).expect("serial"),
        Validity::from_now(std::time::Duration::from_secs(3000 * 86_400)).expect("validity"),
        SubjectPublicKeyInfo::from_key(key.verifying_key()).expect("spki"),
    )
    .expect("builder");
    builder
        .add_extension(&ExtendedKeyUsage(vec![ObjectIdentifier::new_unwrap(
            "1.3.6.1.5.5.7.3.1",
        )]))
        .expect("extension");
    let cert = builder
        .build::<_, p384::ecdsa::DerSignature>(&key)
        .expect("certificate")
        .to_der()
        .expect("der");
    let (status, output) = pkilint(&cert);
    assert_ne!(status, Some(0), "pkilint found nothing:\n{output}");
    assert!(output.contains("ERROR"), "{output}");
}

#[test]
fn pkilint_is_really_looking_at_crls() {
    // A root CRL whose nextUpdate is 400 days after its thisUpdate, which BR 7.2 forbids:
    // pkilint's CRL linter must say so, or the clean CRLs of tests/later_ceremonies.rs prove
    // nothing.
    use der::Decode;
    use x509_cert::{
        Certificate,
        builder::{Builder, CrlBuilder},
        ext::pkix::CrlNumber,
        time::Time,
    };
    let key = common::new_p384_key();
    let (_, root) = build_root(&TestKey::P384(key.clone()), 2922);
    let root = Certificate::from_der(&root).expect("root");
    let this_update = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let next_update = this_update + std::time::Duration::from_secs(400 * 86_400);
    let crl = CrlBuilder::<x509_cert::certificate::Rfc5280>::new_with_this_update(
        &root,
        CrlNumber::try_from(1u32).expect("number"),
        Time::try_from(this_update).expect("time"),
    )
    .expect("builder")
    .with_next_update(Some(Time::try_from(next_update).expect("time")))
    .build::<_, p384::ecdsa::DerSignature>(&key)
    .expect("CRL");
    let (status, output) = common::pkilint(
        "lint_crl",
        &["lint", "-t", "ARL", "-p", "BR", "-s", "WARNING"],
        "X509 CRL",
        &der::Encode::to_der(&crl).expect("der"),
    );
    assert_ne!(status, Some(0), "pkilint found nothing:\n{output}");
    assert!(
        output.contains("cabf.arl_invalid_validity_period"),
        "{output}"
    );
}
