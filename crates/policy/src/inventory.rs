//! The inventory: one JSON line for every root certificate keyceremony has signed, with its
//! subject and the SHA-256 of its public key, so that no later ceremony reuses either
//! (CPS 6.3.2: "The private key or subject name should not be reused").
//!
//! The file is append-only: [`Inventory::record`] adds one line and fsyncs it, and nothing
//! here ever rewrites it. A line that cannot be read makes the whole inventory unreadable,
//! because an inventory with a hole in it can no longer prove that nothing is reused.

use std::fs::{File, OpenOptions};
use std::path::Path;

use chrono::{DateTime, Utc};
use keyceremony_script::{Script, Violation};
use keyceremony_x509::{CertificateSummary, DistinguishedName, fingerprint_hex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::PolicyError;
use crate::{jsonl, names};

/// The section of the no-reuse rule. It is not a policy setting: reuse is refused by every
/// root CPS, and the inventory is the CA's record across all its policies.
pub const REUSE_SECTION: &str = "CPS 6.3.2";

/// One certificate a ceremony signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryEntry {
    /// The ceremony's id (`[ceremony] id` of its script).
    pub ceremony_id: String,
    /// When the certificate was recorded.
    pub time: DateTime<Utc>,
    /// The key's label in the token.
    pub key_label: String,
    /// The certificate's subject, RFC 4514.
    pub subject: String,
    /// SHA-256 of the DER subjectPublicKeyInfo, upper-case hex.
    pub public_key_sha256: String,
    /// SHA-256 of the DER certificate, upper-case hex.
    pub certificate_sha256: String,
    /// The serial of the token the key is on, for the later ceremonies that find it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_serial: Option<String>,
    /// The split of the token's user PIN whose shares activate the key (the nonce of its
    /// share set, `U-TAG-SPLIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pin_split: Option<String>,
}

impl InventoryEntry {
    /// The entry of a certificate that `verify_root` accepted, for the token's key.
    pub fn new(
        ceremony_id: &str,
        key_label: &str,
        time: DateTime<Utc>,
        certificate: &CertificateSummary,
        spki_der: &[u8],
    ) -> InventoryEntry {
        InventoryEntry {
            ceremony_id: ceremony_id.to_string(),
            time,
            key_label: key_label.to_string(),
            subject: certificate.subject.clone(),
            public_key_sha256: spki_sha256(spki_der),
            certificate_sha256: fingerprint_hex(&certificate.sha256),
            token_serial: None,
            user_pin_split: None,
        }
    }

    /// The entry with the token the key is on and the split of its user PIN.
    pub fn on_token(self, serial: &str, user_pin_split: Option<&str>) -> InventoryEntry {
        InventoryEntry {
            token_serial: Some(serial.to_string()),
            user_pin_split: user_pin_split.map(str::to_string),
            ..self
        }
    }

    fn problem(&self) -> Option<String> {
        let hex = |value: &str| {
            value.len() == 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        };
        if self.ceremony_id.is_empty() || self.key_label.is_empty() || self.subject.is_empty() {
            Some("ceremony_id, key_label and subject must not be empty".into())
        } else if !hex(&self.public_key_sha256) || !hex(&self.certificate_sha256) {
            Some("public_key_sha256 and certificate_sha256 must be 64 upper-case hex digits".into())
        } else {
            None
        }
    }
}

/// The subjects and keys of every ceremony run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    entries: Vec<InventoryEntry>,
}

impl Inventory {
    /// Reads the inventory; a missing file is an empty inventory (the first ceremony).
    pub fn load(path: &Path) -> Result<Inventory, PolicyError> {
        Ok(Inventory {
            entries: jsonl::read_all(path, InventoryEntry::problem)?,
        })
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[InventoryEntry] {
        &self.entries
    }

    /// A violation for each certificate of `script` whose subject is already in the
    /// inventory. Names are compared as RFC 5280 7.1 and RFC 4518 compare them, attribute by
    /// attribute after string preparation (NFKC, invisible characters dropped, case folded,
    /// insignificant space), so that a subject differing only in case, spacing, an invisible
    /// character or a compatibility form (full-width digits) is refused too.
    pub fn check_subjects(&self, script: &Script) -> Vec<Violation> {
        let mut violations = Vec::new();
        for (i, cert) in script.certificates.iter().enumerate() {
            let s = &cert.subject;
            let subject = DistinguishedName {
                country: s.country.clone(),
                state_or_province: s.state_or_province.clone(),
                locality: s.locality.clone(),
                organization: s.organization.clone(),
                common_name: s.common_name.clone(),
            }
            .to_string();
            let wanted = names::comparable(&subject);
            if let Some(earlier) = self
                .entries
                .iter()
                .find(|e| names::comparable(&e.subject) == wanted)
            {
                violations.push(Violation {
                    path: format!("certificates[{i}].subject"),
                    message: format!(
                        "subject '{subject}' was already certified as '{}' in ceremony '{}' on \
                         {} (certificate SHA-256 {}): a subject name is never reused",
                        earlier.key_label,
                        earlier.ceremony_id,
                        earlier.time.to_rfc3339(),
                        earlier.certificate_sha256
                    ),
                    rule: Some(REUSE_SECTION),
                    location: None,
                });
            }
        }
        violations
    }

    /// The entry of the root certificate of this public key (DER subjectPublicKeyInfo).
    pub fn root_of_key(&self, spki_der: &[u8]) -> Option<&InventoryEntry> {
        let sha256 = spki_sha256(spki_der);
        self.entries.iter().find(|e| e.public_key_sha256 == sha256)
    }

    /// Refuses a public key (DER subjectPublicKeyInfo) whose SHA-256 is already in the
    /// inventory: its private key was certified before.
    pub fn check_key(&self, spki_der: &[u8]) -> Result<(), PolicyError> {
        self.check_key_taken_up(spki_der, None)
    }

    /// [`Inventory::check_key`] for a key that ceremony `own.0` takes up again
    /// after an interruption under label `own.1`: the certificate it signed
    /// for that key before the interruption is its own record, not a reuse.
    pub fn check_key_taken_up(
        &self,
        spki_der: &[u8],
        own: Option<(&str, &str)>,
    ) -> Result<(), PolicyError> {
        let sha256 = spki_sha256(spki_der);
        let earlier = self.entries.iter().find(|e| {
            e.public_key_sha256 == sha256
                && own != Some((e.ceremony_id.as_str(), e.key_label.as_str()))
        });
        match earlier {
            Some(earlier) => Err(PolicyError::ReusedKey {
                public_key_sha256: sha256,
                ceremony_id: earlier.ceremony_id.clone(),
                key_label: earlier.key_label.clone(),
                time: earlier.time.to_rfc3339(),
                section: REUSE_SECTION,
            }),
            None => Ok(()),
        }
    }

    /// Checks, before any signature, that [`Inventory::record`] will be able to add a line:
    /// the file opens for appending, or its folder exists to hold it. Writes nothing.
    pub fn check_recordable(path: &Path) -> Result<(), PolicyError> {
        let unusable = |reason: String| PolicyError::InventoryUnusable {
            path: path.to_path_buf(),
            reason,
        };
        if path.exists() {
            return OpenOptions::new()
                .append(true)
                .open(path)
                .map(drop)
                .map_err(|e| unusable(format!("it cannot be opened for appending ({e})")));
        }
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if folder.is_dir() {
            Ok(())
        } else {
            Err(unusable(format!(
                "its folder {} does not exist",
                folder.display()
            )))
        }
    }

    /// Appends one entry as a JSON line and fsyncs it (and the folder, when this creates the
    /// file). The file is opened for appending only, so earlier lines are never rewritten;
    /// an entry is refused after a line cut short, which needs a person to look at it.
    pub fn record(path: &Path, entry: &InventoryEntry) -> Result<(), PolicyError> {
        if let Some(problem) = entry.problem() {
            return Err(PolicyError::InvalidEntry(problem));
        }
        jsonl::append(path, entry)
    }
}

/// The inventory held for one whole ceremony: an exclusive lock (flock) on
/// the file, so that a second ceremony on the same inventory is refused
/// instead of checking a subject the first is about to record. The kernel
/// drops the lock when the process ends, however it ends.
#[derive(Debug)]
pub struct InventoryLock {
    _file: File,
}

impl Inventory {
    /// Takes the inventory's lock, creating the (empty) file if there is
    /// none yet: an empty inventory is a valid one, and the lock needs a file.
    pub fn lock(path: &Path) -> Result<InventoryLock, PolicyError> {
        let created = !path.exists();
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| PolicyError::InventoryIo {
                path: path.to_path_buf(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(PolicyError::InventoryInUse {
                    path: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(PolicyError::InventoryIo {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        if created {
            jsonl::sync_folder(path).map_err(|source| PolicyError::InventoryIo {
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok(InventoryLock { _file: file })
    }
}

pub(crate) fn spki_sha256(spki_der: &[u8]) -> String {
    fingerprint_hex(&Sha256::digest(spki_der))
}
