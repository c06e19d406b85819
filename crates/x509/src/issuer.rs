//! The root as the issuer of the later ceremonies' certificates and CRLs: its certificate,
//! checked against the token's key, and what every certificate or CRL it signs takes from it
//! (subject, key identifier, validity, signature algorithm).

use chrono::{DateTime, Utc};

use crate::{
    algorithm::SignatureAlgorithm,
    cert_facts::{CertificateFacts, read_certificate_facts},
    error::{Result, X509Error},
    verify::verify_root,
};

/// A root certificate that verified against the token's key, ready to issue under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    certificate_der: Vec<u8>,
    facts: CertificateFacts,
    signature_algorithm: SignatureAlgorithm,
    subject_key_identifier: Vec<u8>,
}

impl Issuer {
    /// The root certificate `cert_der`, after [`verify_root`] against the DER
    /// subjectPublicKeyInfo read from the token (`token_spki_der`): it is the root profile,
    /// self-signed by exactly the key the HSM will sign with (boulder's check that the signer's
    /// public key equals the issuer certificate's).
    pub fn from_root(cert_der: &[u8], token_spki_der: &[u8]) -> Result<Issuer> {
        let summary = verify_root(cert_der, token_spki_der)?;
        let facts = read_certificate_facts(cert_der)?;
        let subject_key_identifier = facts.subject_key_identifier.clone().ok_or_else(|| {
            X509Error::check("extensions", "the root has no subjectKeyIdentifier")
        })?;
        Ok(Issuer {
            certificate_der: cert_der.to_vec(),
            facts,
            signature_algorithm: summary.signature_algorithm,
            subject_key_identifier,
        })
    }

    /// The root certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// What the root certificate says.
    pub fn facts(&self) -> &CertificateFacts {
        &self.facts
    }

    /// The root's subject Name, DER: the issuer of everything it signs, byte for byte
    /// (BR 7.1.2.6, 7.2).
    pub fn subject_der(&self) -> &[u8] {
        &self.facts.subject_der
    }

    /// The root's subject, RFC 4514.
    pub fn subject(&self) -> &str {
        &self.facts.subject
    }

    /// The root's subjectPublicKeyInfo, DER: the token's key.
    pub fn spki_der(&self) -> &[u8] {
        &self.facts.spki_der
    }

    /// The root's subjectKeyIdentifier: the authorityKeyIdentifier of everything it signs
    /// (BR 7.1.2.11.1).
    pub fn subject_key_identifier(&self) -> &[u8] {
        &self.subject_key_identifier
    }

    /// The signature algorithm of the root's key (CPS 6.1.5).
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The root's notBefore.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.facts.not_before
    }

    /// The root's notAfter.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.facts.not_after
    }
}
