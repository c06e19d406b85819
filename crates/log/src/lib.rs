//! keyceremony-log: the ceremony log (CPS 5.4.1, 5.4.4, 5.5.5, 6.1.1).
//!
//! One JSON object a line, written once and never rewritten. Each entry
//! carries the SHA-256 of the previous entry's line (its exact bytes, without
//! the line feed), so that deleting, reordering or editing any entry breaks
//! the chain; `sha256sum` over one line recomputes a link. Every entry is
//! fsynced before `append` returns, so a crash loses at most the entry being
//! written, never one the ceremony has acted on.
//!
//! A ceremony ends with a seal ([`LogWriter::seal`]): two ECDSA P-384
//! signatures, one by the ceremony's log-signing key in the HSM and one by
//! the witness's own key (pinned in entry 1), over a statement
//! ([`SealStatement`]) naming the number of entries, the hash of the last
//! one and every field of the seal's own line. Signatures are held to one
//! form (canonical DER, low s), and every line, its data included, to the
//! writer's exact bytes. [`verify`] checks all of it offline, streaming.
//! The format is described in docs/log-format.md.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod chain;
mod checkpoint;
mod seal;
mod seal_check;
mod signature;
mod statement;
pub mod verify;

pub use chain::MAX_LINE;
use chain::{Chain, Envelope, format_time};
pub use checkpoint::{Checkpoint, ResumeProof, checkpoint_statement};
pub use seal::{
    CEREMONY_KEY_SIGNER, SEAL_ROLE, Seal, SealOutcome, SealSignature, log_signing_key_data,
    public_key_der,
};
pub use signature::{der_from_raw, low_s_der, verify_der};
pub use statement::{BackupCopy, SealStatement, WitnessSigning};
use verify::{Status, VerifyOptions, VerifyReport};

/// `prev` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who made a record (CPS 5.4.1: "identity of the person making the journal
/// record"). Events the tool itself observes are made by [`Actor::tool`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    ClockCheck,
    StepBegin,
    StepEnd,
    Recorded,
    WitnessConfirmed,
    WitnessRefused,
    HsmSessionOpen,
    HsmSessionClose,
    TokenInitRequested,
    TokenInitialized,
    ShareIssued,
    ShareEntered,
    ShareRejected,
    LoginSucceeded,
    LoginFailed,
    Logout,
    KeyGenerationRequested,
    KeyGenerated,
    SignatureRequested,
    Signed,
    CertificateVerified,
    /// A CRL the root signed, verified in software after signing.
    CrlVerified,
    FileWritten,
    Error,
    Abort,
    CeremonyEnd,
    /// The public key and URI of the key that will sign the seal; data from
    /// [`log_signing_key_data`]. The first such entry is the one that counts.
    LogSigningKey,
    /// A departure from the script, recorded as such.
    Exception,
    /// The log-signing key signs the head at a step end while the token is
    /// logged in; data from [`Checkpoint`].
    Checkpoint,
    /// A run reopens an interrupted ceremony's log, to resume or to abort
    /// it; `data.proof` is a [`ResumeProof`].
    LogReopened,
    /// The log-signing key found on the token is the recorded one, so the
    /// checkpoints a resumption relied on are proven;
    /// `data.last_checkpoint_entry` names the last of them.
    LogKeyVerified,
    /// A key that failed a check, or that the witness refused: it is never
    /// certified, and the entry says what became of it.
    KeyRefused,
    /// A root key's destruction is about to be asked of the HSM, once its
    /// custodians' activation proved it the certified key (CPS 6.2.10).
    KeyDestructionRequested,
    /// A root key pair was destroyed, and the token holds nothing with its
    /// label or CKA_ID.
    KeyDestroyed,
    /// A root key was wrapped for its backup media under a trusted wrap key
    /// that was then split among the backup custodians and destroyed
    /// (CPS 6.2.4).
    KeyBackedUp,
    /// A root key's backup was restored onto a new token and proved the
    /// root certificate's key (CPS 6.2.4).
    KeyRestored,
    /// The performer's go before an irreversible HSM action, with what the
    /// room was shown of it.
    Go,
    /// A custodian typed a share back from their copy before the tool
    /// wiped it; `data.matches` says whether the copy is right.
    CopyChecked,
    /// A custodian read a share bag's serial before opening it, checked
    /// against the last serial recorded for that share.
    BagOpened,
    /// A share went back into a new tamper-evident bag.
    BagSealed,
    /// A participant left the room or came back into it.
    Presence,
    /// The last entry; written only by [`LogWriter::seal`].
    Seal,
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
    #[error("cannot open the ceremony log {path} to resume it: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error(
        "another keyceremony process is writing the ceremony log {path}: one ceremony runs in one process at a time; finish or stop the other run first"
    )]
    InUse { path: PathBuf },
    #[error("cannot resume the ceremony log {path}: {reason}")]
    NotResumable {
        path: PathBuf,
        status: Status,
        reason: String,
    },
    #[error(
        "cannot write entry {seq} to the ceremony log {path}: {source}; the ceremony stops here, and the log up to entry {} is intact",
        .seq - 1
    )]
    Write {
        path: PathBuf,
        seq: u64,
        source: io::Error,
    },
    #[error(
        "an earlier write to the ceremony log {path} failed; nothing more is written until it is reopened with LogWriter::open_existing"
    )]
    Broken { path: PathBuf },
    #[error("the ceremony log {path} is sealed; nothing more can be added")]
    Sealed { path: PathBuf },
    #[error("cannot encode log entry {seq}: {source}")]
    Encode { seq: u64, source: serde_json::Error },
    #[error("log entry {seq} would be {len} bytes; an entry is at most {MAX_LINE}")]
    TooLong { seq: u64, len: usize },
    #[error("log entry {seq} was not written, because the verifier would reject it: {reason}")]
    Refused { seq: u64, reason: String },
    #[error("unusable key or signature for the seal: {0}")]
    Key(String),
}

/// The one writer of a ceremony log.
///
/// Every line is checked with the verifier's own rules before it is written,
/// so the tool never writes a log that `verify-log` would call tampered.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    chain: Chain,
    /// A write failed part-way: the file may end in a partial line, which
    /// only [`LogWriter::open_existing`] may remove.
    broken: bool,
}

/// The state of a log reopened by [`LogWriter::open_existing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Entries in the log; the next is numbered one more.
    pub entries: u64,
    /// Hash of the last entry ([`GENESIS`] when empty).
    pub head: [u8; 32],
    /// From entry 1; None when the log is empty.
    pub ceremony_id: Option<String>,
    /// The incomplete last line that was cut off (empty when there was none).
    /// It is gone from the file, so the engine should record its length and
    /// SHA-256 in the entry that notes the resumption.
    pub discarded: Vec<u8>,
}

/// Takes the log's exclusive lock (flock) for as long as the writer lives,
/// so that a second process cannot interleave entries; the kernel drops it
/// when the process ends, however it ends.
fn hold(file: &File, path: &Path) -> Result<(), LogError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::InUse {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(LogError::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// True while another process writes the log at `path` (holds its lock).
pub fn in_use(path: &Path) -> bool {
    File::open(path).is_ok_and(|file| {
        matches!(
            file.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        )
    })
}

impl LogWriter {
    /// Creates a new log; refuses to open a file that exists, so an earlier
    /// ceremony's record is never written over. Only its owner may read it
    /// (CPS 5.4.4: the audit log is kept from the eyes of the unauthorised).
    pub fn create(path: &Path) -> Result<LogWriter, LogError> {
        use std::os::unix::fs::OpenOptionsExt;
        let create_err = |source| LogError::Create {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(create_err)?;
        hold(&file, path)?;
        sync_parent(path).map_err(create_err)?;
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            chain: Chain::new(None),
            broken: false,
        })
    }

    /// Reopens an interrupted log to go on writing it after a crash. The log
    /// is verified first; a tampered, unreadable or sealed log is refused. An
    /// incomplete last line (the entry being written when the tool stopped,
    /// which the ceremony never acted on) is cut off and returned in
    /// [`Summary::discarded`]; numbering and chain continue from the last
    /// complete entry.
    pub fn open_existing(path: &Path) -> Result<(LogWriter, Summary), LogError> {
        let open_err = |source| LogError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(open_err)?;
        hold(&file, path)?;
        let run = verify::run(BufReader::new(&file), &VerifyOptions::default());
        if run.report.status != Status::Unsealed {
            let reason = match (&run.report.problem, run.report.outcome) {
                (Some(problem), _) => problem.message.clone(),
                (None, outcome) => format!(
                    "it is sealed ({}); a sealed log is never reopened",
                    outcome.map_or("", SealOutcome::as_str)
                ),
            };
            return Err(LogError::NotResumable {
                path: path.to_path_buf(),
                status: run.report.status,
                reason,
            });
        }
        if !run.tail.is_empty() {
            file.set_len(run.complete_bytes).map_err(open_err)?;
            file.sync_all().map_err(open_err)?;
        }
        let summary = Summary {
            entries: run.chain.entries(),
            head: run.chain.head(),
            ceremony_id: run.chain.ceremony_id().map(str::to_string),
            discarded: run.tail,
        };
        let writer = LogWriter {
            path: path.to_path_buf(),
            file,
            chain: run.chain,
            broken: false,
        };
        Ok((writer, summary))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hash of the last line written: what the next entry will carry.
    pub fn head(&self) -> [u8; 32] {
        self.chain.head()
    }

    /// Number of entries written.
    pub fn len(&self) -> u64 {
        self.chain.entries()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one entry stamped with the current UTC time and returns it once
    /// it is on stable storage. Entry 1 must be `ceremony-start` with
    /// `data.ceremony_id`. If the system clock has stepped back, the entry
    /// carries the previous entry's time, because times in a log never go back.
    pub fn append(
        &mut self,
        actor: &Actor,
        step: Option<&str>,
        kind: EventKind,
        description: impl Into<String>,
        data: serde_json::Value,
    ) -> Result<Entry, LogError> {
        let seq = self.len() + 1;
        if kind == EventKind::Seal {
            return Err(LogError::Refused {
                seq,
                reason: "a seal is written with LogWriter::seal".to_string(),
            });
        }
        let now = Utc::now();
        let time = format_time(self.chain.last_time().map_or(now, |last| now.max(last)));
        let description = description.into();
        let prev = hex::encode(self.head());
        self.write(&time, actor, step, kind, &description, &data)?;
        Ok(Entry {
            seq,
            time,
            prev,
            actor: actor.clone(),
            step: step.map(str::to_string),
            kind,
            description,
            data,
        })
    }

    /// The time a seal written now carries: that of the last entry.
    pub fn seal_time(&self) -> String {
        format_time(self.chain.last_time().unwrap_or_else(Utc::now))
    }

    /// SHA-256 of the log as it stands (every line, line feeds included):
    /// what a copy of it hashes to, which the seal statement's backup line
    /// names.
    pub fn file_sha256(&self) -> [u8; 32] {
        self.chain.file.clone().finalize().into()
    }

    /// The verifier's report on the log as this writer has written it. Every
    /// line passed the verifier's own checks before it was written (and a
    /// reopened log's lines when it was reopened), so `verify-log` reports
    /// the same of any file whose SHA-256 is [`file_sha256`](Self::file_sha256):
    /// a copy is proved by its hash, without checking its signatures again.
    pub fn report(&self) -> VerifyReport {
        verify::finish(
            self.chain.clone(),
            verify::End::Clean,
            0,
            Vec::new(),
            &VerifyOptions::default(),
        )
        .report
    }

    /// Appends the seal, the last entry, ending step `step`: `seal.entries`
    /// and `seal.head` must be this writer's [`len`](Self::len) and
    /// [`head`](Self::head), the statement the [`SealStatement`] of this
    /// log and this line, the ceremony key the one in the first
    /// `log-signing-key` entry, the witness key the one entry 1 pins, both
    /// signatures valid and low-s, and `actor` the witness who signed
    /// (`actor.id == seal.witness_key.signer`). The seal's time is that of
    /// the entry it seals ([`seal_time`](Self::seal_time)) and its
    /// description is fixed, so that nothing on its line is left unchecked.
    /// Afterwards nothing more can be appended.
    pub fn seal(&mut self, actor: &Actor, step: &str, seal: &Seal) -> Result<Entry, LogError> {
        let seq = self.len() + 1;
        let time = self.seal_time();
        let description = statement::seal_description(seal.outcome);
        let prev = hex::encode(self.head());
        self.write(&time, actor, Some(step), EventKind::Seal, description, seal)?;
        let data = serde_json::to_value(seal).map_err(|source| LogError::Encode { seq, source })?;
        Ok(Entry {
            seq,
            time,
            prev,
            actor: actor.clone(),
            step: Some(step.to_string()),
            kind: EventKind::Seal,
            description: description.to_string(),
            data,
        })
    }

    /// Writes one line after checking it with the verifier's rules, and
    /// fsyncs it.
    fn write<D: Serialize + ?Sized>(
        &mut self,
        time: &str,
        actor: &Actor,
        step: Option<&str>,
        kind: EventKind,
        description: &str,
        data: &D,
    ) -> Result<(), LogError> {
        let seq = self.len() + 1;
        if self.broken {
            return Err(LogError::Broken {
                path: self.path.clone(),
            });
        }
        if self.chain.sealed().is_some() {
            return Err(LogError::Sealed {
                path: self.path.clone(),
            });
        }
        let prev = hex::encode(self.chain.head());
        let mut line = serde_json::to_vec(&Envelope {
            seq,
            time,
            prev: &prev,
            actor,
            step,
            kind,
            description,
            data,
        })
        .map_err(|source| LogError::Encode { seq, source })?;
        if line.len() > MAX_LINE {
            return Err(LogError::TooLong {
                seq,
                len: line.len(),
            });
        }
        let accepted = self
            .chain
            .check(&line)
            .map_err(|reason| LogError::Refused { seq, reason })?;
        line.push(b'\n');
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.broken = true;
            return Err(LogError::Write {
                path: self.path.clone(),
                seq,
                source,
            });
        }
        self.chain.commit(accepted);
        Ok(())
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
            json!({"ceremony_id": "root-2026", "script_sha256": "00"}),
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
    fn only_the_owner_may_read_the_log() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.log");
        LogWriter::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    #[test]
    fn one_writer_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.log");
        let mut log = LogWriter::create(&path).unwrap();
        log.append(
            &Actor::tool(),
            None,
            EventKind::CeremonyStart,
            "start",
            json!({"ceremony_id": "root-2026"}),
        )
        .unwrap();
        assert!(in_use(&path));
        let err = LogWriter::open_existing(&path).unwrap_err();
        assert!(matches!(err, LogError::InUse { .. }), "{err}");
        drop(log);
        assert!(!in_use(&path));
        let (reopened, summary) = LogWriter::open_existing(&path).unwrap();
        assert_eq!(summary.entries, 1);
        assert!(in_use(&path));
        drop(reopened);
    }

    #[test]
    fn a_log_must_start_with_the_ceremony_and_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.log");
        let mut log = LogWriter::create(&path).unwrap();
        let tool = Actor::tool();
        let err = log
            .append(&tool, None, EventKind::StepBegin, "step", json!({}))
            .unwrap_err();
        assert!(matches!(err, LogError::Refused { seq: 1, .. }), "{err}");
        let err = log
            .append(&tool, None, EventKind::CeremonyStart, "start", json!({}))
            .unwrap_err();
        assert!(err.to_string().contains("ceremony_id"), "{err}");
        assert!(log.is_empty());
        assert_eq!(std::fs::read(&path).unwrap(), b"");
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
