//! Shared by the x509 tests: software keys standing in for the token's, dates, OpenSSL.

// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use p384::pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::Sha384;
use signature::{SignatureEncoding, Signer};

pub const RSA_KEY_PEM: &str = include_str!("../data/rsa4096-key.pem");
pub const P384_KEY_PEM: &str = include_str!("../data/p384-key.pem");

/// A software key standing in for the token's key.
pub enum TestKey {
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha384>>),
    P384(p384::ecdsa::SigningKey),
}

impl TestKey {
    pub fn rsa() -> Self {
        let private = rsa::PrivateKey::from_pkcs8_pem(RSA_KEY_PEM).expect("RSA test key");
        Self::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(private)))
    }

    pub fn p384() -> Self {
        Self::P384(p384::ecdsa::SigningKey::from_pkcs8_pem(P384_KEY_PEM).expect("P-384 test key"))
    }

    /// A P-384 key other than the test data's, from a fixed scalar.
    pub fn p384_other() -> Self {
        Self::P384(p384::ecdsa::SigningKey::from_slice(&[7; 48]).expect("scalar below n"))
    }

    pub fn spki(&self) -> Vec<u8> {
        match self {
            Self::Rsa(key) => signature::Keypair::verifying_key(key.as_ref())
                .to_public_key_der()
                .expect("spki")
                .into_vec(),
            Self::P384(key) => key
                .verifying_key()
                .to_public_key_der()
                .expect("spki")
                .into_vec(),
        }
    }

    /// What the HSM returns: RSA, the PKCS#1 v1.5 signature (CKM_SHA384_RSA_PKCS); P-384,
    /// raw r||s over SHA-384 of the message (CKM_ECDSA on the host's hash).
    pub fn raw_sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(key) => key.sign(message).to_vec(),
            Self::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
        }
    }

    /// The signatureValue content as a certificate carries it.
    pub fn certificate_signature(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(_) => self.raw_sign(message),
            Self::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
        }
    }
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("date")
        .with_timezone(&Utc)
}

pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed to run these tests");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

/// The root's subject in these tests.
pub fn root_subject() -> keyceremony_x509::DistinguishedName {
    keyceremony_x509::DistinguishedName {
        country: "JP".into(),
        state_or_province: None,
        locality: None,
        organization: "Example Trust".into(),
        common_name: "Example Root R1".into(),
    }
}

/// A root of 2922 days from 2025-03-01T09:30:00Z signed by `key`, and it as an issuer.
pub fn build_root(key: &TestKey) -> (Vec<u8>, keyceremony_x509::Issuer) {
    let request = keyceremony_x509::RootCertificateRequest {
        subject: root_subject(),
        serial: vec![0x51; 16],
        not_before: at("2025-03-01T09:30:00Z"),
        validity_days: 2922,
        digital_signature: false,
        subject_public_key_info: key.spki(),
    };
    let prepared =
        keyceremony_x509::prepare_root(&request, at("2025-03-01T10:00:00Z")).expect("prepare");
    let signature = key.raw_sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    let issuer = keyceremony_x509::Issuer::from_root(&cert, &key.spki()).expect("issuer");
    (cert, issuer)
}

/// A fresh key made by OpenSSL in `dir`: `ec` (P-384) or `rsa` (RSA-3072), PEM.
pub fn openssl_key(dir: &Path, kind: &str) -> std::path::PathBuf {
    let file = dir.join(format!("{kind}-key.pem"));
    let file_name = file.to_str().expect("utf-8 path");
    match kind {
        "ec" => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-out",
                file_name,
            ],
        ),
        _ => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:3072",
                "-out",
                file_name,
            ],
        ),
    };
    file
}

/// A PEM CSR for `subject` (OpenSSL's -subj form) with the key in `key_file`, asking for
/// the extensions `add_ext` lists (OpenSSL -addext), made with `digest`.
pub fn openssl_csr(
    dir: &Path,
    key_file: &Path,
    subject: &str,
    digest: &str,
    add_ext: &[&str],
) -> Vec<u8> {
    let out = dir.join("request.csr");
    let mut args = vec![
        "req".to_owned(),
        "-new".into(),
        format!("-{digest}"),
        "-key".into(),
        key_file.display().to_string(),
        "-subj".into(),
        subject.into(),
        "-out".into(),
        out.display().to_string(),
    ];
    for extension in add_ext {
        args.push("-addext".into());
        args.push((*extension).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    std::fs::read(out).expect("read the CSR")
}

pub fn sub_subject() -> keyceremony_x509::DistinguishedName {
    keyceremony_x509::DistinguishedName {
        country: "JP".into(),
        state_or_province: None,
        locality: None,
        organization: "Example Trust".into(),
        common_name: "Example TLS Issuing CA 1".into(),
    }
}

pub const SUB_SUBJECT_OPENSSL: &str = "/C=JP/O=Example Trust/CN=Example TLS Issuing CA 1";

pub fn signing_time() -> chrono::DateTime<chrono::Utc> {
    at("2026-01-10T10:00:00Z")
}

pub fn request(spki: Vec<u8>) -> keyceremony_x509::SubordinateRequest {
    keyceremony_x509::SubordinateRequest {
        subject: sub_subject(),
        serial: vec![0x2a; 16],
        not_before: signing_time() - chrono::TimeDelta::minutes(10),
        validity_days: 1826,
        path_len_constraint: Some(0),
        client_auth: false,
        digital_signature: false,
        policies: vec![
            keyceremony_x509::ObjectIdentifier::new_unwrap("2.23.140.1.2.2"),
            keyceremony_x509::ObjectIdentifier::new_unwrap("1.2.392.200091.100.901.11"),
        ],
        crl_url: "http://crl.example.com/root-r1.crl".into(),
        ocsp_url: None,
        ca_issuers_url: Some("http://crt.example.com/root-r1.der".into()),
        subject_public_key_info: spki,
    }
}

pub fn sign_subordinate(
    root: &TestKey,
    issuer: &keyceremony_x509::Issuer,
    req: &keyceremony_x509::SubordinateRequest,
) -> Vec<u8> {
    let prepared =
        keyceremony_x509::prepare_subordinate(req, issuer, signing_time()).expect("prepare");
    let signature = root.raw_sign(prepared.tbs_der());
    prepared.assemble(&signature).expect("assemble")
}

/// The DER SPKI of a fresh OpenSSL key of `kind` (`ec` or `rsa`), with its folder.
pub fn fresh_spki(kind: &str) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = openssl_key(dir.path(), kind);
    let der = dir.path().join("pub.der");
    openssl(
        dir.path(),
        &[
            "pkey",
            "-in",
            key.to_str().expect("utf-8 path"),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            der.to_str().expect("utf-8 path"),
        ],
    );
    let spki = std::fs::read(der).expect("read");
    (dir, spki)
}

/// Writes each `(file name, PEM label, DER)` into a fresh folder and runs `openssl` there.
pub fn openssl_with_files(files: &[(&str, &str, &[u8])], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, label, der) in files {
        std::fs::write(
            dir.path().join(name),
            keyceremony_x509::pem_encode(label, der),
        )
        .expect("write");
    }
    openssl(dir.path(), args)
}

/// `openssl verify -x509_strict` of `cert` against `root` alone as trust anchor, at `time`.
pub fn openssl_verify_at(root: &[u8], cert: &[u8], time: DateTime<Utc>) -> String {
    let at = time.timestamp().to_string();
    let out = openssl_with_files(
        &[
            ("root.pem", "CERTIFICATE", root),
            ("cert.pem", "CERTIFICATE", cert),
        ],
        &[
            "verify",
            "-x509_strict",
            "-attime",
            &at,
            "-CAfile",
            "root.pem",
            "cert.pem",
        ],
    );
    assert!(out.contains("cert.pem: OK"), "{out}");
    out
}
