//! What a certificate file says, read with x509-cert: the report describes
//! the certificate as it is on disk, not as the log summarised it when it
//! was signed.

use der::asn1::{ObjectIdentifier, UintRef};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage,
    KeyUsages, SubjectKeyIdentifier,
};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

#[derive(Debug, Clone)]
pub(crate) struct CertFacts {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    /// Upper-case hex of the serial's value, without leading zero bytes (as
    /// the log records it).
    pub(crate) serial_hex: String,
    pub(crate) not_before: String,
    pub(crate) not_after: String,
    pub(crate) validity: String,
    pub(crate) signature_algorithm: String,
    pub(crate) public_key: String,
    pub(crate) extensions: Vec<ExtensionFact>,
    pub(crate) sha256: [u8; 32],
    pub(crate) sha1: [u8; 20],
}

#[derive(Debug, Clone)]
pub(crate) struct ExtensionFact {
    pub(crate) name: String,
    pub(crate) oid: String,
    pub(crate) critical: bool,
    pub(crate) value: String,
}

pub(crate) fn inspect(cert_der: &[u8]) -> Result<CertFacts, String> {
    let cert =
        Certificate::from_der(cert_der).map_err(|e| format!("not a DER certificate: {e}"))?;
    let tbs = cert.tbs_certificate();
    let serial = tbs.serial_number().as_bytes();
    let first_nonzero = serial.iter().position(|&b| b != 0).unwrap_or(serial.len());
    let validity = tbs.validity();
    let before = validity.not_before.to_unix_duration().as_secs();
    let after = validity.not_after.to_unix_duration().as_secs();
    let spki_der = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| format!("cannot re-encode the public key: {e}"))?;
    let extensions = tbs
        .extensions()
        .map(|exts| exts.iter().map(describe_extension).collect())
        .unwrap_or_default();
    Ok(CertFacts {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial_hex: hex::encode_upper(&serial[first_nonzero..]),
        not_before: validity.not_before.to_date_time().to_string(),
        not_after: validity.not_after.to_date_time().to_string(),
        validity: validity_text(before, after),
        signature_algorithm: algorithm_name(&cert.signature_algorithm().oid),
        public_key: describe_spki(&spki_der),
        extensions,
        sha256: Sha256::digest(cert_der).into(),
        sha1: Sha1::digest(cert_der).into(),
    })
}

/// CPS 6.3.2 counts validity in days of 86,400 s from notBefore through
/// notAfter inclusive, so one second is added to the difference.
fn validity_text(before: u64, after: u64) -> String {
    match (after + 1).checked_sub(before) {
        Some(seconds) if seconds % 86_400 == 0 => {
            format!("{} days of 86,400 s", seconds / 86_400)
        }
        Some(seconds) => format!(
            "{} days of 86,400 s and {} s",
            seconds / 86_400,
            seconds % 86_400
        ),
        None => "notAfter is before notBefore".to_string(),
    }
}

fn algorithm_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        other => return other.to_string(),
    };
    format!("{name} ({oid})")
}

/// RSAPublicKey (RFC 8017 A.1.1), for the modulus size.
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The key type and size of a DER SubjectPublicKeyInfo, read from the key
/// itself: the RSA modulus's bit length, or the named curve.
pub(crate) fn describe_spki(spki_der: &[u8]) -> String {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return "unreadable SubjectPublicKeyInfo".to_string();
    };
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        let Some(Ok(key)) = spki
            .subject_public_key
            .as_bytes()
            .map(RsaPublicKey::from_der)
        else {
            return "RSA, unreadable modulus".to_string();
        };
        let modulus = key.modulus.as_bytes();
        let bits = modulus.first().map_or(0, |&top| {
            (modulus.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
        });
        let exponent = hex::encode_upper(key.public_exponent.as_bytes());
        format!("RSA, {bits}-bit modulus, exponent 0x{exponent}")
    } else if oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .map(|c| match c.to_string().as_str() {
                "1.3.132.0.34" => "P-384 (secp384r1), 384 bits".to_string(),
                "1.2.840.10045.3.1.7" => "P-256 (prime256v1), 256 bits".to_string(),
                "1.3.132.0.35" => "P-521 (secp521r1), 521 bits".to_string(),
                other => format!("curve {other}"),
            })
            .unwrap_or_else(|| "no named curve".to_string());
        format!("EC, {curve}")
    } else {
        format!("algorithm {oid}")
    }
}

fn describe_extension(ext: &x509_cert::ext::Extension) -> ExtensionFact {
    let bytes = ext.extn_value.as_bytes();
    let oid = ext.extn_id.to_string();
    let raw = || format!("DER {}", hex::encode_upper(bytes));
    let (name, value) = match oid.as_str() {
        "2.5.29.19" => (
            "basicConstraints",
            BasicConstraints::from_der(bytes).map_or_else(
                |_| raw(),
                |bc| {
                    format!(
                        "CA: {}; path length: {}",
                        bc.ca,
                        bc.path_len_constraint
                            .map_or_else(|| "no limit".to_string(), |n| n.to_string())
                    )
                },
            ),
        ),
        "2.5.29.15" => (
            "keyUsage",
            KeyUsage::from_der(bytes).map_or_else(|_| raw(), |ku| key_usages(&ku)),
        ),
        "2.5.29.14" => (
            "subjectKeyIdentifier",
            SubjectKeyIdentifier::from_der(bytes)
                .map_or_else(|_| raw(), |ski| hex::encode_upper(ski.0.as_bytes())),
        ),
        "2.5.29.35" => (
            "authorityKeyIdentifier",
            AuthorityKeyIdentifier::from_der(bytes).map_or_else(
                |_| raw(),
                |aki| {
                    aki.key_identifier.map_or_else(
                        || "no key identifier".to_string(),
                        |id| format!("key identifier {}", hex::encode_upper(id.as_bytes())),
                    )
                },
            ),
        ),
        "2.5.29.32" => (
            "certificatePolicies",
            CertificatePolicies::from_der(bytes).map_or_else(
                |_| raw(),
                |cp| {
                    cp.0.iter()
                        .map(|p| p.policy_identifier.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
        ),
        "2.5.29.37" => (
            "extKeyUsage",
            ExtendedKeyUsage::from_der(bytes).map_or_else(
                |_| raw(),
                |eku| {
                    eku.0
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
        ),
        _ => ("extension", raw()),
    };
    ExtensionFact {
        name: name.to_string(),
        oid,
        critical: ext.critical,
        value,
    }
}

fn key_usages(ku: &KeyUsage) -> String {
    let names: Vec<&str> =
        ku.0.into_iter()
            .map(|flag| match flag {
                KeyUsages::DigitalSignature => "digitalSignature",
                KeyUsages::NonRepudiation => "nonRepudiation",
                KeyUsages::KeyEncipherment => "keyEncipherment",
                KeyUsages::DataEncipherment => "dataEncipherment",
                KeyUsages::KeyAgreement => "keyAgreement",
                KeyUsages::KeyCertSign => "keyCertSign",
                KeyUsages::CRLSign => "cRLSign",
                KeyUsages::EncipherOnly => "encipherOnly",
                KeyUsages::DecipherOnly => "decipherOnly",
            })
            .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
