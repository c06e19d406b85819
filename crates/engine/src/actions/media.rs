//! The removable media at the seal (CPS 5.4.5): before anyone signs, a copy
//! of the log as it stands, read back and proved, and the seal statement
//! with its SHA-256 (the witness takes the media to their own device to
//! sign it), the log-signing key's signature over it and that key; once the
//! seal is written, the copy is completed with it and proved again. A copy
//! is proved by its SHA-256, read back from the media, against that of the
//! lines the log writer wrote, each checked with the verifier's own rules
//! before it was written: byte for byte the verified log, so its
//! signatures are not checked a second time.
//!
//! Everything here happens after the last entry the seal covers, so nothing
//! is recorded: the statement names the copy (its folder and SHA-256), and
//! the witness's signature, made last, attests it.

use std::path::{Path, PathBuf};

use chrono::Utc;
use keyceremony_log::LogWriter;
use keyceremony_log::verify::{Status, VerifyReport};
use sha2::{Digest, Sha256};

use crate::outputs::{self, OutDir};
use crate::run::Runner;
use crate::{EngineError, files};

/// Names of the files on the media, beside the log's copy.
pub(crate) const STATEMENT: &str = "seal-statement.txt";
pub(crate) const STATEMENT_SHA256: &str = "seal-statement.txt.sha256";
pub(crate) const STATEMENT_WORDS: &str = "seal-statement.txt.pgp-words";
pub(crate) const LOG_KEY: &str = "log-signing-key.pem";
pub(crate) const LOG_KEY_SIGNATURE: &str = "log-signing-key-signature.der";
pub(crate) const WITNESS_SIGNATURE: &str = "witness-signature.der";
pub(crate) const WITNESS_PUBLIC_KEY: &str = "witness-public-key.pem";

/// The copy's folder on the media.
pub(crate) struct Media {
    folder: OutDir,
    /// The folder's name, as the statement gives it.
    pub(crate) name: String,
    /// SHA-256 of the copy as made: the log's first entries.
    pub(crate) sha256: [u8; 32],
}

impl Runner {
    /// Copies the log as it stands to a new folder on the media and reads the
    /// copy back: byte for byte the lines this writer wrote.
    pub(super) fn copy_to_media(&self) -> Result<Media, EngineError> {
        let root = self
            .settings
            .backup
            .clone()
            .unwrap_or_else(|| self.script.script.log.backup.clone());
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let original = self.out.path(files::LOG);
        // A folder of its own, never one that exists: two ceremonies sealed
        // in the same second each get theirs.
        let folder = OutDir::new_unique(
            &root,
            &format!("{}-{stamp}", self.script.script.ceremony.id),
        )?;
        let name = folder
            .root()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let refuse = |why: String| {
            // Nothing of the attempt stays on the media.
            let _ = std::fs::remove_dir_all(folder.root());
            EngineError::Refused(format!(
                "the log could not be copied to the backup media ({why}); nothing is left of the attempt on {}. Nobody has signed the seal yet, and the log-signing key is still on the token: free space on the media or mount other media, then run the same command on the same folder to resume and seal the log (CPS 5.4.5)",
                root.display()
            ))
        };
        // Copied and read back a block at a time: the memory a seal takes
        // does not grow with the log.
        let copy = folder.copy_private(files::LOG, &original).map_err(|e| {
            refuse(match e {
                outputs::OutputError::Unwritten { path, source } => {
                    format!("cannot write {}: {source}", path.display())
                }
                other => other.to_string(),
            })
        })?;
        let reread = reread_sha256(&copy.path)?;
        let written = self.log.file_sha256();
        if copy.sha256 != written || reread != written {
            return Err(refuse(format!(
                "the copy read back is not the log this tool wrote: {}",
                not_the_log(&copy.sha256, &reread, &written)
            )));
        }
        Ok(Media {
            folder,
            name,
            sha256: copy.sha256,
        })
    }
}

impl Media {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.folder.path(name)
    }

    /// The statement for the witness to sign, its SHA-256 in `sha256sum`'s
    /// form and as PGP words (to read aloud against the screen), and the
    /// log-signing key's signature over it with that key, so that the
    /// witness can check it on their device before signing.
    pub(super) fn write_statement(
        &self,
        statement: &str,
        log_key_pem: &str,
        log_key_signature: &[u8],
    ) -> Result<(), EngineError> {
        let digest = Sha256::digest(statement.as_bytes());
        let words = pgp_words::to_words(&digest).join(" ");
        self.folder.write_private(STATEMENT, statement.as_bytes())?;
        self.folder.write_private(
            STATEMENT_SHA256,
            format!("{}  {STATEMENT}\n", hex::encode(digest)).as_bytes(),
        )?;
        self.folder
            .write_private(STATEMENT_WORDS, format!("{words}\n").as_bytes())?;
        self.folder.write_private(LOG_KEY, log_key_pem.as_bytes())?;
        self.folder
            .write_private(LOG_KEY_SIGNATURE, log_key_signature)?;
        Ok(())
    }

    /// Replaces the copy with the sealed log and reads it back. Returns
    /// where, and the SHA-256 of the bytes copied with the verifier's report
    /// on them, which the report takes up.
    pub(super) fn complete(
        &self,
        log: &LogWriter,
    ) -> Result<(PathBuf, ([u8; 32], VerifyReport)), EngineError> {
        let copy = self.folder.copy_private_over(files::LOG, log.path())?;
        let reread = reread_sha256(&copy.path)?;
        let written = log.file_sha256();
        let report = log.report();
        let sealed = matches!(report.status, Status::Sealed | Status::Aborted);
        if !sealed || copy.sha256 != written || reread != written {
            return Err(EngineError::Refused(format!(
                "the backup copy {} is not the sealed log this tool wrote ({}): the log on this terminal or the media was changed or failed; check {} with keyceremony verify-log, and copy it to new media by hand if it verifies",
                copy.path.display(),
                not_the_log(&copy.sha256, &reread, &written),
                log.path().display()
            )));
        }
        Ok((copy.path, (copy.sha256, report)))
    }
}

/// Which of the hashes differ from that of the lines the writer wrote,
/// every one checked with the verifier's rules before it was written: a
/// copy with that hash is that log, whose report the writer knows.
fn not_the_log(copied: &[u8; 32], reread: &[u8; 32], written: &[u8; 32]) -> String {
    let (what, found) = if copied != written {
        ("the file copied", copied)
    } else {
        ("the copy read back from the media", reread)
    };
    format!(
        "{what} has SHA-256 {}, the lines written {}",
        hex::encode(found),
        hex::encode(written)
    )
}

/// The SHA-256 of the copy as the media give it back, to compare with that
/// of the bytes copied.
fn reread_sha256(path: &Path) -> Result<[u8; 32], EngineError> {
    outputs::file_sha256(path).map_err(|source| {
        EngineError::Output(outputs::OutputError::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}
