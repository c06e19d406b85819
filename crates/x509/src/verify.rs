//! The independent check of a signed root certificate.

use chrono::{DateTime, Utc};
use der::{Decode, Encode, asn1::BitStringRef};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384};
use signature::Verifier;
use spki::{DecodePublicKey, SubjectPublicKeyInfoRef};

use crate::{
    algorithm::{RSA_SIGNATURE_LEN, SignatureAlgorithm},
    checked::CheckedKey,
    der_read::{RawCertificate, decode_canonical},
    error::{Result, X509Error},
    inspect::read_root_tbs,
    text::fingerprint_hex,
};

/// What a checked root certificate says, for the ceremony's script and log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Subject, RFC 4514 (`CN=...,O=...,C=..`).
    pub subject: String,
    /// Issuer, RFC 4514; equal to the subject.
    pub issuer: String,
    /// Serial number, upper-case hex of the INTEGER's value without leading zeros.
    pub serial_hex: String,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// Validity from notBefore through notAfter inclusive, in days of 86,400 s (CPS 6.3.2).
    pub validity_days: u64,
    /// The signature algorithm.
    pub signature_algorithm: SignatureAlgorithm,
    /// `"RSA-4096"` or `"ECC P-384"`.
    pub public_key: String,
    /// SHA-256 of the certificate DER, for the audit report (CPS 8.6).
    pub sha256: [u8; 32],
    /// SHA-1 of the certificate DER.
    pub sha1: [u8; 20],
    /// The subjectKeyIdentifier (SHA-1 of the subjectPublicKey).
    pub subject_key_identifier: Vec<u8>,
}

/// Checks a signed root certificate against the token's public key, in software and without
/// x509-cert (the library that built the certificate does not vouch for it):
///
/// 1. the certificate, its TBS and every part read are canonical DER (decoding and
///    re-encoding gives the same bytes) with nothing after them;
/// 2. the TBS is the root profile (version v3, serial, key, AlgorithmIdentifier encodings,
///    issuer == subject, validity 2922 to 9132 days, time types, extensions exactly), as
///    [`crate::prepare_root`] requires;
/// 3. the outer signatureAlgorithm is byte for byte the TBS signature field;
/// 4. the certificate's subjectPublicKeyInfo is byte for byte `token_spki_der`;
/// 5. the signature verifies over the TBS with the token's key: RSA PKCS#1 v1.5 with
///    SHA-384 (`rsa`), or ECDSA P-384 with SHA-384 over a canonical DER Ecdsa-Sig-Value
///    (`p384`).
pub fn verify_root(cert_der: &[u8], token_spki_der: &[u8]) -> Result<CertificateSummary> {
    verify(cert_der, token_spki_der, None)
}

/// [`verify_root`] against the token's key as it was checked when it was generated: the
/// key's CPS 6.1.5 and 6.1.6 checks are not run again on the same bytes.
pub fn verify_root_of(cert_der: &[u8], token_key: &CheckedKey) -> Result<CertificateSummary> {
    verify(cert_der, token_key.spki_der(), Some(token_key))
}

/// A root certificate [`verified_root_of`] found signed by a checked key, with its
/// summary. Made only there; where the same certificate and key bytes come again (the
/// report reads them back from the output folder) this result stands for them, and other
/// bytes are verified afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRoot {
    der: Vec<u8>,
    spki_der: Vec<u8>,
    summary: CertificateSummary,
}

impl VerifiedRoot {
    /// The certificate, DER, as it was verified.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// What the verification found the certificate to say.
    pub fn summary(&self) -> &CertificateSummary {
        &self.summary
    }

    /// The summary, when `cert_der` and `spki_der` are the bytes that were verified.
    pub fn of(&self, cert_der: &[u8], spki_der: &[u8]) -> Option<&CertificateSummary> {
        (self.der == cert_der && self.spki_der == spki_der).then_some(&self.summary)
    }
}

/// [`verify_root_of`], keeping the certificate and the key with the result.
pub fn verified_root_of(cert_der: &[u8], token_key: &CheckedKey) -> Result<VerifiedRoot> {
    Ok(VerifiedRoot {
        summary: verify_root_of(cert_der, token_key)?,
        der: cert_der.to_vec(),
        spki_der: token_key.spki_der().to_vec(),
    })
}

fn verify(
    cert_der: &[u8],
    token_spki_der: &[u8],
    known: Option<&CheckedKey>,
) -> Result<CertificateSummary> {
    let certificate: RawCertificate<'_> = decode_canonical(cert_der, "the certificate")?;
    let tbs_der = certificate
        .tbs_certificate
        .to_der()
        .map_err(|e| X509Error::malformed("the tbsCertificate", e))?;
    let facts = read_root_tbs(&tbs_der, known)?;

    let outer_algorithm = certificate
        .signature_algorithm
        .to_der()
        .map_err(|e| X509Error::malformed("the signatureAlgorithm", e))?;
    if outer_algorithm != facts.signature_algorithm.required_der() {
        return Err(X509Error::check(
            "signatureAlgorithm == tbsCertificate.signature",
            format!(
                "the outer signatureAlgorithm {} differs from the TBS signature field {} ({})",
                hex::encode_upper(&outer_algorithm),
                hex::encode_upper(facts.signature_algorithm.required_der()),
                facts.signature_algorithm
            ),
        ));
    }

    if facts.spki_der != token_spki_der {
        return Err(X509Error::check(
            "subjectPublicKeyInfo == token key",
            format!(
                "the certificate's public key (SPKI SHA-256 {}) is not the token's (SPKI \
                 SHA-256 {})",
                fingerprint_hex(&Sha256::digest(&facts.spki_der)),
                fingerprint_hex(&Sha256::digest(token_spki_der))
            ),
        ));
    }

    verify_signature(
        facts.signature_algorithm,
        token_spki_der,
        &tbs_der,
        certificate.signature,
    )?;

    Ok(CertificateSummary {
        issuer: facts.subject.clone(),
        subject: facts.subject,
        serial_hex: hex::encode_upper(&facts.serial),
        not_before: facts.not_before,
        not_after: facts.not_after,
        validity_days: facts.validity_days,
        signature_algorithm: facts.signature_algorithm,
        public_key: facts.signature_algorithm.public_key_name().to_owned(),
        sha256: Sha256::digest(cert_der).into(),
        sha1: Sha1::digest(cert_der).into(),
        subject_key_identifier: facts.subject_key_identifier,
    })
}

fn verify_signature(
    algorithm: SignatureAlgorithm,
    token_spki_der: &[u8],
    tbs_der: &[u8],
    signature: BitStringRef<'_>,
) -> Result<()> {
    let signature = signature.as_bytes().ok_or_else(|| {
        X509Error::check("signatureValue", "the signature BIT STRING has unused bits")
    })?;
    verify_signature_bytes(algorithm, token_spki_der, tbs_der, signature)
}

/// Verifies `signature` (a signatureValue's bits) over `signed_der` with the key of
/// `signer_spki_der`: RSA PKCS#1 v1.5 with SHA-384, or ECDSA P-384 with SHA-384 over a
/// canonical DER Ecdsa-Sig-Value.
pub(crate) fn verify_signature_bytes(
    algorithm: SignatureAlgorithm,
    token_spki_der: &[u8],
    tbs_der: &[u8],
    signature: &[u8],
) -> Result<()> {
    let bad = || X509Error::BadSignature { algorithm };
    match algorithm {
        SignatureAlgorithm::Sha384WithRsaEncryption => {
            if signature.len() != RSA_SIGNATURE_LEN {
                return Err(X509Error::check(
                    "signatureValue",
                    format!(
                        "an RSA-4096 signature has {RSA_SIGNATURE_LEN} bytes, this one {}",
                        signature.len()
                    ),
                ));
            }
            let spki = SubjectPublicKeyInfoRef::from_der(token_spki_der)
                .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
            let key = rsa::pkcs1v15::VerifyingKey::<Sha384>::try_from(spki)
                .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
            let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| bad())?;
            key.verify(tbs_der, &signature).map_err(|_| bad())
        }
        SignatureAlgorithm::EcdsaWithSha384 => {
            let parsed = p384::ecdsa::Signature::from_der(signature).map_err(|_| {
                X509Error::check(
                    "signatureValue",
                    "the signature is not a DER Ecdsa-Sig-Value with r and s in range",
                )
            })?;
            if parsed.to_der().as_bytes() != signature {
                return Err(X509Error::NonCanonical {
                    what: "the ECDSA signature value",
                });
            }
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(token_spki_der)
                .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
            key.verify(tbs_der, &parsed).map_err(|_| bad())
        }
    }
}
