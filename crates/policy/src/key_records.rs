//! The records of a root key's life after its generation: each backup
//! (CPS 6.2.4), each restore onto another token, and each destruction
//! (CPS 6.2.10), kept as lines of the issued records (`kind` `key-backup`,
//! `key-restore`, `key-destruction`), so that a later ceremony refuses a
//! destroyed key and restores only a backup that was recorded.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::inventory::spki_sha256;
use crate::issued_records::{IssuedRecord, IssuedRecords, upper_hex};

/// CPS 6.2.10, cited when a destroyed key is refused.
const DESTRUCTION_SECTION: &str = "CPS 6.2.10";
/// CPS 6.2.4, cited when a backup is not in the records.
const BACKUP_SECTION: &str = "CPS 6.2.4";

/// A root key's backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBackupRecord {
    /// The ceremony's id.
    pub ceremony_id: String,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// The key's label on its token.
    pub key_label: String,
    /// SHA-256 of the key's subjectPublicKeyInfo, upper-case hex.
    pub public_key_sha256: String,
    /// The label of the token the key was wrapped on.
    pub token_label: String,
    /// That token's serial number.
    pub token_serial: String,
    /// SHA-256 of the wrapped key, upper-case hex.
    pub blob_sha256: String,
    /// The PKCS#11 mechanism it was wrapped with (RFC 5649), e.g.
    /// `CKM_AES_KEY_WRAP_PAD`.
    pub mechanism: String,
    /// The public identity of the wrap key's split, e.g. `W-7KQ2-M9XD (2 of 3)`.
    pub wrap_key_split: String,
    /// The wrap key's check value (`keyceremony_shares::wrap_key_check_value`).
    pub wrap_key_check: String,
    /// The backup custodians who hold the wrap key's shares.
    pub custodians: Vec<String>,
}

/// A backup restored onto a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRestoreRecord {
    /// The ceremony's id.
    pub ceremony_id: String,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// The restored key's label on its token.
    pub key_label: String,
    /// SHA-256 of the key's subjectPublicKeyInfo, upper-case hex.
    pub public_key_sha256: String,
    /// The label of the token it was restored onto.
    pub token_label: String,
    /// That token's serial number.
    pub token_serial: String,
    /// SHA-256 of the backup restored, upper-case hex.
    pub blob_sha256: String,
}

/// What a destruction destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DestructionScope {
    /// The key's objects on one token; other copies and backups remain.
    Copy,
    /// The key itself: this copy was the last, and its backups were
    /// destroyed too (CPS 6.2.10). No later ceremony may use, back up or
    /// restore it.
    Key,
}

/// A key's destruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDestructionRecord {
    /// The ceremony's id.
    pub ceremony_id: String,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// The key's label on its token.
    pub key_label: String,
    /// SHA-256 of the key's subjectPublicKeyInfo, upper-case hex.
    pub public_key_sha256: String,
    /// What was destroyed.
    pub scope: DestructionScope,
    /// The label of the token the key was destroyed on.
    pub token_label: String,
    /// That token's serial number.
    pub token_serial: String,
    /// The authorised people who destroyed it: at least two (CPS 6.2.10).
    pub destroyed_by: Vec<String>,
}

/// Everything the records say about one key, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHistory<'a> {
    /// Its backups.
    pub backups: Vec<&'a KeyBackupRecord>,
    /// Its restores.
    pub restores: Vec<&'a KeyRestoreRecord>,
    /// Its destructions, of copies and of the key.
    pub destructions: Vec<&'a KeyDestructionRecord>,
}

impl KeyHistory<'_> {
    /// The destruction of the key itself, if it was destroyed.
    pub fn destroyed(&self) -> Option<&KeyDestructionRecord> {
        self.destructions
            .iter()
            .copied()
            .find(|d| d.scope == DestructionScope::Key)
    }
}

/// SHA-256 of `bytes` in upper-case hex, as every record holds hashes: for
/// a backup's blob, say.
pub fn sha256_hex(bytes: &[u8]) -> String {
    spki_sha256(bytes)
}

fn hex(value: &str, len: usize) -> bool {
    upper_hex(value, Some(len))
}

fn distinct_people(names: &[String]) -> usize {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect::<BTreeSet<_>>()
        .len()
}

impl KeyBackupRecord {
    pub(crate) fn problem(&self) -> Option<String> {
        if self.ceremony_id.is_empty() || self.key_label.is_empty() || self.token_label.is_empty() {
            Some("a backup record needs its ceremony id, key label and token label".into())
        } else if !hex(&self.public_key_sha256, 64) || !hex(&self.blob_sha256, 64) {
            Some("a backup record's hashes are 64 upper-case hex digits".into())
        } else if !hex(&self.wrap_key_check, 16) {
            Some("a backup record's wrap key check value is 16 upper-case hex digits".into())
        } else if !self.wrap_key_split.starts_with("W-") || self.mechanism.is_empty() {
            Some("a backup record names its wrap key's split (W-...) and its mechanism".into())
        } else if distinct_people(&self.custodians) < 2 {
            Some("a backup's wrap key is held by at least two custodians (CPS 5.2.2)".into())
        } else {
            None
        }
    }
}

impl KeyRestoreRecord {
    pub(crate) fn problem(&self) -> Option<String> {
        if self.ceremony_id.is_empty() || self.key_label.is_empty() || self.token_label.is_empty() {
            Some("a restore record needs its ceremony id, key label and token label".into())
        } else if !hex(&self.public_key_sha256, 64) || !hex(&self.blob_sha256, 64) {
            Some("a restore record's hashes are 64 upper-case hex digits".into())
        } else {
            None
        }
    }
}

impl KeyDestructionRecord {
    pub(crate) fn problem(&self) -> Option<String> {
        if self.ceremony_id.is_empty() || self.key_label.is_empty() || self.token_label.is_empty() {
            Some("a destruction record needs its ceremony id, key label and token label".into())
        } else if !hex(&self.public_key_sha256, 64) {
            Some("a destruction record's key hash is 64 upper-case hex digits".into())
        } else if distinct_people(&self.destroyed_by) < 2 {
            Some("a key is destroyed by at least two authorised people (CPS 6.2.10)".into())
        } else {
            None
        }
    }
}

impl IssuedRecords {
    /// What the records say about the key of `spki_der`.
    pub fn key_history(&self, spki_der: &[u8]) -> KeyHistory<'_> {
        let sha256 = spki_sha256(spki_der);
        let mut history = KeyHistory::default();
        for record in self.records() {
            match record {
                IssuedRecord::KeyBackup(r) if r.public_key_sha256 == sha256 => {
                    history.backups.push(r)
                }
                IssuedRecord::KeyRestore(r) if r.public_key_sha256 == sha256 => {
                    history.restores.push(r)
                }
                IssuedRecord::KeyDestruction(r) if r.public_key_sha256 == sha256 => {
                    history.destructions.push(r)
                }
                _ => {}
            }
        }
        history
    }

    /// Refuses a key the records say was destroyed with its backups, before
    /// a ceremony uses it, backs it up or restores it (CPS 6.2.10).
    pub fn check_key_live(&self, spki_der: &[u8]) -> Result<(), PolicyError> {
        match self.key_history(spki_der).destroyed() {
            Some(destruction) => Err(PolicyError::KeyDestroyed {
                public_key_sha256: destruction.public_key_sha256.clone(),
                ceremony_id: destruction.ceremony_id.clone(),
                time: destruction.time.to_rfc3339(),
                section: DESTRUCTION_SECTION,
            }),
            None => Ok(()),
        }
    }

    /// The record of the backup with SHA-256 `blob_sha256` (hex, any case)
    /// of the live key of `spki_der`: what a restore needs (the wrap key's
    /// split and check value). Refused for a destroyed key or a backup the
    /// records do not hold.
    pub fn backup_of(
        &self,
        spki_der: &[u8],
        blob_sha256: &str,
    ) -> Result<&KeyBackupRecord, PolicyError> {
        self.check_key_live(spki_der)?;
        let wanted = blob_sha256.trim().to_ascii_uppercase();
        self.key_history(spki_der)
            .backups
            .into_iter()
            .find(|b| b.blob_sha256 == wanted)
            .ok_or_else(|| PolicyError::UnknownBackup {
                blob_sha256: wanted,
                public_key_sha256: spki_sha256(spki_der),
                section: BACKUP_SECTION,
            })
    }
}
