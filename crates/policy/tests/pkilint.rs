//! An independent linter on what keyceremony-x509 builds: pkilint's CA/Browser Forum TLS
//! linter with the root CA profile must find nothing at warning level or above. pkilint is
//! installed by scripts/setup.sh; without it these tests fail rather than pass unchecked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestKey, build_root, reference_policy};
use keyceremony_policy::lint_certificate;
use keyceremony_x509::pem_encode;

const LINTER: &str = "lint_cabf_serverauth_cert";
/// Where scripts/setup.sh installs pkilint (docs/policy.md).
const SETUP_VENV_BIN: &str = "/opt/keyceremony-pkilint/bin";

fn linter() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from(SETUP_VENV_BIN)])
        .map(|dir| dir.join(LINTER))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{LINTER} (pkilint) is not installed, neither on PATH nor in {SETUP_VENV_BIN}: \
                 run scripts/setup.sh, which installs it"
            )
        })
}

/// Exit status and everything pkilint printed for one certificate.
fn pkilint(cert_der: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cert.pem");
    std::fs::write(&file, pem_encode("CERTIFICATE", cert_der)).expect("write");
    run(&file)
}

fn run(file: &Path) -> (Option<i32>, String) {
    let output = Command::new(linter())
        .args(["lint", "-t", "ROOT-CA", "-s", "WARNING"])
        .arg(file)
        .output()
        .expect("run pkilint");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
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
