//! The records of what the roots signed after their key generation: subordinate CA
//! certificates, cross-certificates, OCSP responder certificates and CRLs, one JSON line
//! each, in their own append-only file beside the inventory (`inventory.issued.jsonl` for
//! `inventory.jsonl`), so that a later ceremony can check that
//!
//! - a subordinate CA's key and subject were never certified before, by a root or a
//!   subordinate (CPS 6.3.2), and an OCSP responder's key neither;
//! - a certificate a CRL revokes is one this root issued (BR 7.2);
//! - a CRL's number is greater than the last one's, and its previous CRL is that last one;
//! - a root key's backups, restores and destructions are known (`key_records.rs`), so that
//!   a destroyed key is never used again and only a recorded backup is restored.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use keyceremony_x509::{
    CrlFacts, CrlNumber, IssuedCertificate, IssuedSummary, Issuer, fingerprint_hex, serial_from_hex,
};
use serde::{Deserialize, Serialize};

use crate::{
    error::PolicyError,
    inventory::{Inventory, REUSE_SECTION, spki_sha256},
    jsonl,
    key_records::{KeyBackupRecord, KeyDestructionRecord, KeyRestoreRecord},
    names::comparable,
};

/// A certificate a root issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateRecord {
    /// The ceremony's id.
    pub ceremony_id: String,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// The issuing root's subject, RFC 4514.
    pub issuer: String,
    /// SHA-256 of the issuing root's subjectPublicKeyInfo, upper-case hex.
    pub issuer_key_sha256: String,
    /// The certificate's subject, RFC 4514.
    pub subject: String,
    /// SHA-256 of the certified subjectPublicKeyInfo, upper-case hex.
    pub public_key_sha256: String,
    /// The serial number, upper-case hex.
    pub serial: String,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the certificate DER, upper-case hex.
    pub certificate_sha256: String,
    /// SHA-256 of the CSR it was made from, upper-case hex, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr_sha256: Option<String>,
}

/// A CRL a root signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlRecord {
    /// The ceremony's id.
    pub ceremony_id: String,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// The root's subject, RFC 4514.
    pub issuer: String,
    /// SHA-256 of the root's subjectPublicKeyInfo, upper-case hex.
    pub issuer_key_sha256: String,
    /// cRLNumber, decimal.
    pub number: String,
    /// thisUpdate.
    pub this_update: DateTime<Utc>,
    /// nextUpdate.
    pub next_update: DateTime<Utc>,
    /// SHA-256 of the CRL DER, upper-case hex.
    pub crl_sha256: String,
    /// The serial numbers it revokes, upper-case hex.
    pub revoked: Vec<String>,
}

/// One line of the records file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IssuedRecord {
    /// A subordinate CA certificate.
    SubordinateCa(CertificateRecord),
    /// A cross-certificate.
    CrossCertificate(CertificateRecord),
    /// A delegated OCSP responder's certificate.
    OcspResponder(CertificateRecord),
    /// A CRL.
    Crl(CrlRecord),
    /// A root key's backup.
    KeyBackup(KeyBackupRecord),
    /// A root key's backup restored onto a token.
    KeyRestore(KeyRestoreRecord),
    /// A root key's destruction, of one copy or of the key.
    KeyDestruction(KeyDestructionRecord),
}

impl CertificateRecord {
    /// The record of a certificate the verify function of its profile accepted.
    pub fn new(
        ceremony_id: &str,
        time: DateTime<Utc>,
        issuer: &Issuer,
        certificate: &IssuedSummary,
        csr_sha256: Option<&[u8; 32]>,
    ) -> CertificateRecord {
        CertificateRecord {
            ceremony_id: ceremony_id.to_owned(),
            time,
            issuer: issuer.subject().to_owned(),
            issuer_key_sha256: spki_sha256(issuer.spki_der()),
            subject: certificate.subject.clone(),
            public_key_sha256: certificate.public_key_sha256.clone(),
            serial: certificate.serial_hex.clone(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            certificate_sha256: fingerprint_hex(&certificate.sha256),
            csr_sha256: csr_sha256.map(|h| fingerprint_hex(h)),
        }
    }
}

impl CrlRecord {
    /// The record of a CRL `keyceremony_x509::verify_crl` accepted.
    pub fn new(
        ceremony_id: &str,
        time: DateTime<Utc>,
        issuer: &Issuer,
        crl: &CrlFacts,
    ) -> Result<CrlRecord, PolicyError> {
        let sha256 = crl.sha256.ok_or_else(|| {
            PolicyError::InvalidEntry("the CRL facts are not those of a signed CRL".into())
        })?;
        Ok(CrlRecord {
            ceremony_id: ceremony_id.to_owned(),
            time,
            issuer: issuer.subject().to_owned(),
            issuer_key_sha256: spki_sha256(issuer.spki_der()),
            number: crl.number.to_string(),
            this_update: crl.this_update,
            next_update: crl.next_update,
            crl_sha256: fingerprint_hex(&sha256),
            revoked: crl
                .entries
                .iter()
                .map(|e| hex::encode_upper(&e.serial))
                .collect(),
        })
    }
}

pub(crate) fn upper_hex(value: &str, len: Option<usize>) -> bool {
    !value.is_empty()
        && len.is_none_or(|len| value.len() == len)
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

impl IssuedRecord {
    fn problem(&self) -> Option<String> {
        let fine = match self {
            Self::SubordinateCa(r) | Self::CrossCertificate(r) | Self::OcspResponder(r) => {
                !r.ceremony_id.is_empty()
                    && !r.subject.is_empty()
                    && upper_hex(&r.issuer_key_sha256, Some(64))
                    && upper_hex(&r.public_key_sha256, Some(64))
                    && upper_hex(&r.certificate_sha256, Some(64))
                    && upper_hex(&r.serial, None)
                    && r.csr_sha256
                        .as_deref()
                        .is_none_or(|h| upper_hex(h, Some(64)))
            }
            Self::Crl(r) => {
                !r.ceremony_id.is_empty()
                    && upper_hex(&r.issuer_key_sha256, Some(64))
                    && upper_hex(&r.crl_sha256, Some(64))
                    && !r.number.is_empty()
                    && r.number.bytes().all(|b| b.is_ascii_digit())
                    && r.revoked.iter().all(|s| upper_hex(s, None))
            }
            Self::KeyBackup(r) => return r.problem(),
            Self::KeyRestore(r) => return r.problem(),
            Self::KeyDestruction(r) => return r.problem(),
        };
        (!fine).then(|| {
            "a record needs its ceremony id, subject, hashes (64 upper-case hex digits), serial \
             numbers in upper-case hex and a decimal CRL number"
                .to_owned()
        })
    }

    fn certificate(&self) -> Option<&CertificateRecord> {
        match self {
            Self::SubordinateCa(r) | Self::CrossCertificate(r) | Self::OcspResponder(r) => Some(r),
            Self::Crl(_) | Self::KeyBackup(_) | Self::KeyRestore(_) | Self::KeyDestruction(_) => {
                None
            }
        }
    }
}

/// What kind of certificate is about to be signed, for the no-reuse checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewCertificate {
    /// A subordinate CA certificate: new key and new subject.
    Subordinate,
    /// An OCSP responder's certificate: new key; its subject is renewed with each key.
    OcspResponder,
}

/// The records, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuedRecords {
    records: Vec<IssuedRecord>,
}

impl IssuedRecords {
    /// The records file beside an inventory: `inventory.issued.jsonl` for `inventory.jsonl`.
    pub fn path_beside(inventory: &Path) -> PathBuf {
        inventory.with_extension("issued.jsonl")
    }

    /// Reads the records; a missing file has none. A line that cannot be read makes the
    /// whole file unreadable, naming the line (restore it from its offline copy).
    pub fn load(path: &Path) -> Result<IssuedRecords, PolicyError> {
        Ok(IssuedRecords {
            records: jsonl::read_all(path, IssuedRecord::problem)?,
        })
    }

    /// Appends one record and fsyncs it; nothing is ever rewritten. Check beforehand with
    /// [`Inventory::check_recordable`], which holds for this file too.
    pub fn record(path: &Path, record: &IssuedRecord) -> Result<(), PolicyError> {
        if let Some(problem) = record.problem() {
            return Err(PolicyError::InvalidEntry(problem));
        }
        jsonl::append(path, record)
    }

    /// The records, oldest first.
    pub fn records(&self) -> &[IssuedRecord] {
        &self.records
    }

    /// Refuses a key (DER subjectPublicKeyInfo) certified before, by a root (the inventory)
    /// or in any certificate of these records; and, for a subordinate CA, a subject certified
    /// before (compared as the inventory compares names) (CPS 6.3.2).
    pub fn check_new(
        &self,
        roots: &Inventory,
        kind: NewCertificate,
        subject: &str,
        spki_der: &[u8],
    ) -> Result<(), PolicyError> {
        roots.check_key(spki_der)?;
        let sha256 = spki_sha256(spki_der);
        if let Some(earlier) = self
            .records
            .iter()
            .filter_map(IssuedRecord::certificate)
            .find(|r| r.public_key_sha256 == sha256)
        {
            return Err(PolicyError::ReusedKey {
                public_key_sha256: sha256,
                ceremony_id: earlier.ceremony_id.clone(),
                key_label: earlier.subject.clone(),
                time: earlier.time.to_rfc3339(),
                section: REUSE_SECTION,
            });
        }
        if kind == NewCertificate::OcspResponder {
            return Ok(());
        }
        let wanted = comparable(subject);
        let in_roots = roots
            .entries()
            .iter()
            .find(|e| comparable(&e.subject) == wanted)
            .map(|e| (&e.ceremony_id, e.time, &e.certificate_sha256));
        let in_records = self
            .records
            .iter()
            .filter(|r| !matches!(r, IssuedRecord::OcspResponder(_)))
            .filter_map(IssuedRecord::certificate)
            .find(|r| comparable(&r.subject) == wanted)
            .map(|r| (&r.ceremony_id, r.time, &r.certificate_sha256));
        match in_roots.or(in_records) {
            Some((ceremony_id, time, certificate_sha256)) => Err(PolicyError::ReusedSubject {
                subject: subject.to_owned(),
                ceremony_id: ceremony_id.clone(),
                time: time.to_rfc3339(),
                certificate_sha256: certificate_sha256.clone(),
                section: REUSE_SECTION,
            }),
            None => Ok(()),
        }
    }

    /// The certificate of this serial number (hex) that `issuer` issued, as its CRL needs to
    /// know it; refused when the records hold none (BR 7.2).
    pub fn issued_certificate(
        &self,
        issuer: &Issuer,
        serial_hex: &str,
    ) -> Result<IssuedCertificate, PolicyError> {
        let serial = serial_from_hex(serial_hex)?;
        let wanted = hex::encode_upper(&serial);
        let issuer_key = spki_sha256(issuer.spki_der());
        let found = self.records.iter().find_map(|record| match record {
            IssuedRecord::SubordinateCa(r) | IssuedRecord::CrossCertificate(r)
                if r.issuer_key_sha256 == issuer_key && r.serial == wanted =>
            {
                Some(r)
            }
            _ => None,
        });
        let record = found.ok_or_else(|| PolicyError::NotIssued {
            serial: wanted.clone(),
            issuer: issuer.subject().to_owned(),
            section: "BR 7.2",
        })?;
        Ok(IssuedCertificate {
            serial,
            issuer_der: issuer.subject_der().to_vec(),
            authority_key_identifier: issuer.subject_key_identifier().to_vec(),
            not_after: record.not_after,
            is_ca: true,
            subject: record.subject.clone(),
        })
    }

    /// The last CRL recorded for `issuer`, if any.
    pub fn last_crl(&self, issuer: &Issuer) -> Option<&CrlRecord> {
        let issuer_key = spki_sha256(issuer.spki_der());
        self.records.iter().rev().find_map(|record| match record {
            IssuedRecord::Crl(r) if r.issuer_key_sha256 == issuer_key => Some(r),
            _ => None,
        })
    }

    /// Checks, before a CRL is prepared, that it follows the last one recorded for `issuer`:
    /// `previous` (the previous CRL, verified) is that last CRL, byte for byte, and `number`
    /// is greater than its number. A root with no CRL recorded may give a previous CRL made
    /// before these records, or none.
    pub fn check_crl_sequence(
        &self,
        issuer: &Issuer,
        previous: Option<&CrlFacts>,
        number: &CrlNumber,
    ) -> Result<(), PolicyError> {
        let sequence = |problem: String| PolicyError::CrlSequence {
            problem,
            section: "BR 7.2.2, RFC 5280 5.2.3",
        };
        let Some(last) = self.last_crl(issuer) else {
            return Ok(());
        };
        let Some(previous) = previous else {
            return Err(sequence(format!(
                "the records hold CRL number {} (SHA-256 {}) of ceremony '{}' for this root: \
                 give it as the previous CRL",
                last.number, last.crl_sha256, last.ceremony_id
            )));
        };
        let previous_sha256 = previous.sha256.map(|h| fingerprint_hex(&h));
        if previous_sha256.as_deref() != Some(last.crl_sha256.as_str()) {
            return Err(sequence(format!(
                "the previous CRL given is not the last one recorded, number {} (SHA-256 {})",
                last.number, last.crl_sha256
            )));
        }
        // The previous CRL is the last recorded, so its number is the last number.
        if number <= &previous.number {
            return Err(sequence(format!(
                "CRL number {number} is not greater than the last recorded, {}",
                last.number
            )));
        }
        Ok(())
    }
}
