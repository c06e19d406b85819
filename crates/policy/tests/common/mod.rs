//! Shared by the policy tests: the shipped policy and scripts, software keys standing in for
//! the token's, and certificates built by keyceremony-x509 as the engine builds them.

// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use keyceremony_policy::Policy;
use keyceremony_script::LoadedScript;
use keyceremony_x509::{DistinguishedName, RootCertificateRequest, prepare_root};
use p384::pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::Sha384;
use signature::{Keypair, SignatureEncoding, Signer};

/// The RSA-4096 test key of keyceremony-x509 (tests/data/README.md there).
pub const RSA_KEY_PEM: &str = include_str!("../../../x509/tests/data/rsa4096-key.pem");
pub const RSA2048_PUB_PEM: &str = include_str!("../../../x509/tests/data/rsa2048-pub.pem");
pub const RSA4096_E3_PUB_PEM: &str = include_str!("../../../x509/tests/data/rsa4096-e3-pub.pem");
pub const P256_PUB_PEM: &str = include_str!("../../../x509/tests/data/p256-pub.pem");

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn reference_policy_path() -> PathBuf {
    repo().join("ceremony-scripts/policy/reference-cps.toml")
}

pub fn reference_policy() -> Policy {
    Policy::load(&reference_policy_path()).expect("the shipped policy loads")
}

/// The reference policy with `edits` applied to its text, parsed as a file of `name`.
pub fn policy_after(
    name: &str,
    edits: &[(&str, &str)],
) -> Result<Policy, keyceremony_policy::PolicyError> {
    let mut text = std::fs::read_to_string(reference_policy_path()).expect("policy text");
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in the policy");
        text = text.replacen(from, to, 1);
    }
    let path = repo().join(format!("ceremony-scripts/policy/{name}.toml"));
    Policy::parse(&path, &text)
}

pub const SHIPPED_SCRIPTS: [&str; 5] = [
    "root-rsa4096",
    "root-p384",
    "subordinate-p384",
    "crl-p384",
    "crl-p384-next",
];

pub fn shipped_path(name: &str) -> PathBuf {
    repo().join(format!("ceremony-scripts/{name}.toml"))
}

/// A shipped script with `edits` applied to its text, parsed but not validated (the script
/// crate's own validation would refuse most of these edits too; the point is that the
/// policy refuses them on its own).
pub fn script_after(name: &str, edits: &[(&str, &str)]) -> LoadedScript {
    let path = shipped_path(name);
    let mut text = std::fs::read_to_string(&path).expect("script text");
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in {name}");
        text = text.replacen(from, to, 1);
    }
    LoadedScript::parse(&path, text).expect("parses")
}

/// A software key standing in for the token's.
pub enum TestKey {
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha384>>),
    P384(p384::ecdsa::SigningKey),
}

impl TestKey {
    pub fn rsa() -> TestKey {
        let private = rsa::PrivateKey::from_pkcs8_pem(RSA_KEY_PEM).expect("RSA test key");
        TestKey::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(private)))
    }

    /// A fresh P-384 key from the operating system's generator.
    pub fn p384() -> TestKey {
        TestKey::P384(new_p384_key())
    }

    pub fn spki(&self) -> Vec<u8> {
        match self {
            TestKey::Rsa(key) => key
                .verifying_key()
                .to_public_key_der()
                .expect("spki")
                .into_vec(),
            TestKey::P384(key) => key
                .verifying_key()
                .to_public_key_der()
                .expect("spki")
                .into_vec(),
        }
    }

    /// What the HSM returns: RSA PKCS#1 v1.5 with SHA-384, or P-384 raw r||s.
    pub fn raw_sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            TestKey::Rsa(key) => key.sign(message).to_vec(),
            TestKey::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
        }
    }
}

pub fn new_p384_key() -> p384::ecdsa::SigningKey {
    loop {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes).expect("OS random");
        // A value not below the group order is refused; draw again.
        if let Ok(key) = p384::ecdsa::SigningKey::from_slice(&bytes) {
            return key;
        }
    }
}

pub fn subject() -> DistinguishedName {
    DistinguishedName {
        country: "JP".into(),
        state_or_province: None,
        locality: None,
        organization: "Example Trust Co., Ltd.".into(),
        common_name: "Example Policy Test Root CA".into(),
    }
}

pub fn request(
    key: &TestKey,
    validity_days: u32,
    not_before: DateTime<Utc>,
) -> RootCertificateRequest {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).expect("OS random");
    RootCertificateRequest {
        subject: subject(),
        serial: serial.to_vec(),
        not_before,
        validity_days,
        digital_signature: false,
        subject_public_key_info: key.spki(),
    }
}

/// The TBS and the certificate, built as the engine builds them.
pub fn build_root(key: &TestKey, validity_days: u32) -> (Vec<u8>, Vec<u8>) {
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let prepared = prepare_root(&request(key, validity_days, now), now).expect("prepare");
    let tbs = prepared.tbs_der().to_vec();
    let signature = key.raw_sign(&tbs);
    let cert = prepared.assemble(&signature).expect("assemble");
    (tbs, cert)
}

pub fn spki_from_pem(pem: &str) -> Vec<u8> {
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).expect("pem");
    assert_eq!(label, "PUBLIC KEY");
    der
}

/// An SPKI with the given algorithm of `template` and `subject_public_key` as its key bits.
pub fn spki_with_key_bits(template: &[u8], subject_public_key: &[u8]) -> Vec<u8> {
    let mut spki = spki::SubjectPublicKeyInfoOwned::from_der(template).expect("spki");
    spki.subject_public_key =
        der::asn1::BitString::from_bytes(subject_public_key).expect("bit string");
    spki.to_der().expect("der")
}

/// Where scripts/setup.sh installs pkilint (docs/policy.md).
const PKILINT_VENV_BIN: &str = "/opt/keyceremony-pkilint/bin";

/// One of pkilint's linters (`lint_cabf_serverauth_cert`, `lint_crl`), on PATH or where
/// scripts/setup.sh installs it; a test fails rather than pass unchecked without it.
fn pkilint_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from(PKILINT_VENV_BIN)])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} (pkilint) is not installed, neither on PATH nor in {PKILINT_VENV_BIN}: \
                 run scripts/setup.sh, which installs it"
            )
        })
}

/// Exit status and everything pkilint's `tool` printed for `der`, written as PEM with
/// `label`, run with `args` and the file's path last.
pub fn pkilint(tool: &str, args: &[&str], label: &str, der: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("document.pem");
    std::fs::write(&file, keyceremony_x509::pem_encode(label, der)).expect("write");
    let output = Command::new(pkilint_tool(tool))
        .args(args)
        .arg(&file)
        .output()
        .expect("run pkilint");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}
