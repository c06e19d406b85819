//! keyceremony-log: the ceremony log (CPS 5.4.1, 5.5.5).
//!
//! One JSON object a line, written once and never rewritten. Each entry
//! carries the SHA-256 of the previous entry's line (its exact bytes, without
//! the line feed), so that deleting, reordering or editing any entry breaks
//! the chain; `sha256sum` over one line recomputes a link. Every entry is
//! fsynced before `append` returns, so a crash loses at most the entry being
//! written, never one the ceremony has acted on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who made a record (CPS 5.4.1: "identity of the person making the journal
/// record"). Events the tool itself observes are made by [`Actor::tool`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: String,
}

impl Actor {
    pub fn new(id: impl Into<String>, role: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            role: role.into(),
        }
    }

    pub fn tool() -> Actor {
        Actor::new("keyceremony", "tool")
    }
}

/// What happened. Serialised in kebab-case; the list grows with the tool, and
/// readers treat an unknown kind as an opaque string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    CeremonyStart,
    Environment,
    CheckIn,
    StepBegin,
    StepEnd,
    Recorded,
    WitnessConfirmed,
    WitnessRefused,
    HsmSessionOpen,
    HsmSessionClose,
    TokenInitRequested,
    TokenInitialized,
    LoginSucceeded,
    LoginFailed,
    Logout,
    KeyGenerationRequested,
    KeyGenerated,
    SignatureRequested,
    Signed,
    CertificateVerified,
    FileWritten,
    Error,
    Abort,
    CeremonyEnd,
}

/// One log entry, in the field order in which it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    /// UTC, RFC 3339 with milliseconds (CPS 5.5.5).
    pub time: String,
    /// Hex SHA-256 of the previous entry's line; zeros for the first.
    pub prev: String,
    pub actor: Actor,
    pub step: Option<String>,
    pub kind: EventKind,
    pub description: String,
    pub data: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot create the ceremony log {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "cannot write entry {seq} to the ceremony log {path}: {source}; the ceremony stops here, and the log up to entry {} is intact",
        .seq - 1
    )]
    Write {
        path: PathBuf,
        seq: u64,
        source: io::Error,
    },
    #[error("cannot encode log entry {seq}: {source}")]
    Encode { seq: u64, source: serde_json::Error },
}

/// The one writer of a ceremony log.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    next_seq: u64,
    head: [u8; 32],
}

impl LogWriter {
    /// Creates a new log; refuses to open a file that exists, so an earlier
    /// ceremony's record is never written over.
    pub fn create(path: &Path) -> Result<LogWriter, LogError> {
        let create_err = |source| LogError::Create {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(create_err)?;
        sync_parent(path).map_err(create_err)?;
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            next_seq: 1,
            head: GENESIS,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hash of the last line written: what the next entry will carry.
    pub fn head(&self) -> [u8; 32] {
        self.head
    }

    /// Number of entries written.
    pub fn len(&self) -> u64 {
        self.next_seq - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one entry stamped with the current UTC time and returns it once
    /// it is on stable storage.
    pub fn append(
        &mut self,
        actor: &Actor,
        step: Option<&str>,
        kind: EventKind,
        description: impl Into<String>,
        data: serde_json::Value,
    ) -> Result<Entry, LogError> {
        self.append_at(Utc::now(), actor, step, kind, description, data)
    }

    fn append_at(
        &mut self,
        time: DateTime<Utc>,
        actor: &Actor,
        step: Option<&str>,
        kind: EventKind,
        description: impl Into<String>,
        data: serde_json::Value,
    ) -> Result<Entry, LogError> {
        let seq = self.next_seq;
        let entry = Entry {
            seq,
            time: time.to_rfc3339_opts(SecondsFormat::Millis, true),
            prev: hex::encode(self.head),
            actor: actor.clone(),
            step: step.map(str::to_string),
            kind,
            description: description.into(),
            data,
        };
        let mut line =
            serde_json::to_vec(&entry).map_err(|source| LogError::Encode { seq, source })?;
        let hash: [u8; 32] = Sha256::digest(&line).into();
        line.push(b'\n');
        let write_err = |source| LogError::Write {
            path: self.path.clone(),
            seq,
            source,
        };
        self.file.write_all(&line).map_err(write_err)?;
        self.file.sync_data().map_err(write_err)?;
        self.head = hash;
        self.next_seq += 1;
        Ok(entry)
    }
}

/// Makes the new file's directory entry durable as well as its contents.
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Hash of one line as the chain counts it: the bytes without the line feed.
pub fn line_hash(line: &[u8]) -> [u8; 32] {
    Sha256::digest(line.strip_suffix(b"\n").unwrap_or(line)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_chain_and_survive_reading_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.log");
        let mut log = LogWriter::create(&path).unwrap();
        let who = Actor::new("ada", "ca-administrator");
        log.append(
            &who,
            None,
            EventKind::CeremonyStart,
            "start",
            json!({"script_sha256": "00"}),
        )
        .unwrap();
        log.append(
            &Actor::tool(),
            Some("1.1"),
            EventKind::StepBegin,
            "step",
            json!({}),
        )
        .unwrap();
        assert_eq!(log.len(), 2);

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let first: Entry = serde_json::from_str(lines[0]).unwrap();
        let second: Entry = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(first.prev, hex::encode(GENESIS));
        assert_eq!(second.prev, hex::encode(line_hash(lines[0].as_bytes())));
        assert_eq!(log.head(), line_hash(lines[1].as_bytes()));
        assert_eq!(second.step.as_deref(), Some("1.1"));
        assert_eq!(second.kind, EventKind::StepBegin);
        assert!(first.time.ends_with('Z') && first.time.len() == "2026-01-01T00:00:00.000Z".len());
    }

    #[test]
    fn an_existing_log_is_never_opened_for_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.log");
        std::fs::write(&path, b"earlier ceremony\n").unwrap();
        let err = LogWriter::create(&path).unwrap_err();
        assert!(matches!(err, LogError::Create { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"earlier ceremony\n");
    }
}
