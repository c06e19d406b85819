//! The seal statement: the plain text that the log-signing key and the
//! witness both sign (docs/log-format.md, "The statement").
//!
//! It names every field of the seal's own line but its two signatures (the
//! line's number is one more than `entries`, its `prev` is `head`), so that
//! nothing on that line, which no later line hashes, is left unsigned; and it
//! names the witness's public key by its SHA-256, so that the witness's key
//! and signature cannot be swapped for anyone else's. Its last lines are what
//! the witness attests by signing last: the log-signing key destroyed, the
//! token logged out and the HSM in its bag, the log copied to the backup media.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::LogError;
use crate::seal::{SEAL_ROLE, SealOutcome};

/// First line of every seal statement.
pub(crate) const STATEMENT_TITLE: &str = "keyceremony log seal v2";

/// How the witness makes their signature; a script names it
/// (`[log] witness_signing`) and the statement says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WitnessSigning {
    /// On the witness's own device, from the statement on the removable
    /// media; the witness's PIN never reaches the CA terminal. The
    /// default, and a production ceremony's only way.
    #[default]
    Independent,
    /// A lab's option: the witness's token is connected to the CA terminal
    /// and its PIN typed there.
    LabTokenOnTerminal,
}

impl WitnessSigning {
    pub fn as_str(self) -> &'static str {
        match self {
            WitnessSigning::Independent => "independent",
            WitnessSigning::LabTokenOnTerminal => "lab-token-on-terminal",
        }
    }

    fn parse(text: &str) -> Option<WitnessSigning> {
        [
            WitnessSigning::Independent,
            WitnessSigning::LabTokenOnTerminal,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text)
    }
}

impl fmt::Display for WitnessSigning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The copy of the log's first `entries` lines on the backup media, made
/// and read back before the witness signs (CPS 5.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupCopy {
    /// The copy's folder on the media: one name of letters, digits, `.`,
    /// `_` and `-`.
    pub folder: String,
    /// SHA-256 of the log's first `entries` lines, line feeds included.
    pub sha256: [u8; 32],
}

/// What the seal states; [`SealStatement::text`] is what is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealStatement {
    pub ceremony_id: String,
    pub outcome: SealOutcome,
    /// Entries before the seal: the seal is entry `entries + 1`.
    pub entries: u64,
    /// SHA-256 of entry `entries`: the seal's `prev`.
    pub head: [u8; 32],
    /// The seal's time: that of entry `entries`.
    pub time: String,
    /// The script step the seal ends.
    pub step: String,
    /// The witness's participant id: the seal's actor and the witness
    /// signature's signer.
    pub witness: String,
    pub log_signing_key_sha256: [u8; 32],
    pub witness_key_sha256: [u8; 32],
    pub witness_signing: WitnessSigning,
    pub backup: BackupCopy,
}

/// `description` of the seal entry: fixed by the outcome.
pub(crate) fn seal_description(outcome: SealOutcome) -> &'static str {
    match outcome {
        SealOutcome::Completed => {
            "log sealed: the ceremony completed; signed by the log-signing key and the witness"
        }
        SealOutcome::Aborted => {
            "log sealed: the ceremony was aborted; signed by the log-signing key and the witness"
        }
    }
}

const DESTROYED: &str = "after signing this statement, before the witness signs it";
/// What the statement says of the HSM: a witness on their own device signs
/// once it is in its bag; a lab's token on the terminal signs at once.
fn hsm_line(mode: WitnessSigning) -> &'static str {
    match mode {
        WitnessSigning::Independent => {
            "logged out after the log-signing key was destroyed; in its tamper-evident bag before the witness signs"
        }
        WitnessSigning::LabTokenOnTerminal => {
            "logged out after the log-signing key was destroyed, before the witness's lab token signs"
        }
    }
}
const BACKUP_MIDDLE: &str = ", copied to the backup media as ";
const BACKUP_END: &str = "/ceremony.log and read back before the witness signs";

/// A backup folder's name goes on the statement's last line.
fn valid_folder(folder: &str) -> bool {
    !folder.is_empty()
        && folder != "."
        && folder != ".."
        && folder
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl SealStatement {
    /// The statement's text: one `name: value` line each, every line ended
    /// by a line feed.
    pub fn text(&self) -> String {
        let n = self.entries;
        format!(
            "{STATEMENT_TITLE}\n\
             ceremony: {}\n\
             outcome: {}\n\
             entries: {n}\n\
             head: {}\n\
             time: {}\n\
             step: {}\n\
             sealed-by: {} ({SEAL_ROLE})\n\
             description: {}\n\
             log-signing-key-sha256: {}\n\
             witness: {}\n\
             witness-key-sha256: {}\n\
             witness-signing: {}\n\
             log-signing-key-destroyed: {DESTROYED}\n\
             hsm: {}\n\
             backup: entries 1 to {n}, SHA-256 {}{BACKUP_MIDDLE}{}{BACKUP_END}\n",
            self.ceremony_id,
            self.outcome,
            hex::encode(self.head),
            self.time,
            self.step,
            self.witness,
            seal_description(self.outcome),
            hex::encode_upper(self.log_signing_key_sha256),
            self.witness,
            hex::encode_upper(self.witness_key_sha256),
            self.witness_signing,
            hsm_line(self.witness_signing),
            hex::encode_upper(self.backup.sha256),
            self.backup.folder,
        )
    }

    /// Reads a statement, refusing any text that is not exactly
    /// [`SealStatement::text`] of what it reads as.
    pub fn parse(text: &str) -> Result<SealStatement, String> {
        let mut lines = text
            .strip_suffix('\n')
            .ok_or("the statement does not end with a line feed")?
            .split('\n');
        if lines.next() != Some(STATEMENT_TITLE) {
            return Err(format!(
                "the statement does not begin \"{STATEMENT_TITLE}\""
            ));
        }
        let mut field = |name: &str| -> Result<&str, String> {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(": "))
                .ok_or_else(|| format!("the statement has no \"{name}:\" line where one belongs"))
        };
        let ceremony_id = field("ceremony")?.to_string();
        let outcome = match field("outcome")? {
            "completed" => SealOutcome::Completed,
            "aborted" => SealOutcome::Aborted,
            other => return Err(format!("the statement's outcome \"{other}\" is not one")),
        };
        let entries = field("entries")?
            .parse::<u64>()
            .map_err(|_| "the statement's entries is not a number".to_string())?;
        let head = hash(field("head")?, "head")?;
        let time = field("time")?.to_string();
        let step = field("step")?.to_string();
        field("sealed-by")?;
        field("description")?;
        let log_signing_key_sha256 = hash(field("log-signing-key-sha256")?, "log-signing key")?;
        let witness = field("witness")?.to_string();
        let witness_key_sha256 = hash(field("witness-key-sha256")?, "witness key")?;
        let witness_signing = WitnessSigning::parse(field("witness-signing")?)
            .ok_or("the statement's witness-signing is not one the tool writes")?;
        field("log-signing-key-destroyed")?;
        field("hsm")?;
        let backup = field("backup")?;
        let (sha, folder) = backup
            .strip_prefix(&format!("entries 1 to {entries}, SHA-256 "))
            .and_then(|rest| rest.split_once(BACKUP_MIDDLE))
            .ok_or("the statement's backup line is not in the tool's form")?;
        let folder = folder
            .strip_suffix(BACKUP_END)
            .filter(|folder| valid_folder(folder))
            .ok_or("the statement's backup line names no usable folder")?;
        let parsed = SealStatement {
            ceremony_id,
            outcome,
            entries,
            head,
            time,
            step,
            witness,
            log_signing_key_sha256,
            witness_key_sha256,
            witness_signing,
            backup: BackupCopy {
                folder: folder.to_string(),
                sha256: hash(sha, "backup")?,
            },
        };
        if parsed.text() != text {
            return Err("the statement is not written exactly as the tool writes it".to_string());
        }
        Ok(parsed)
    }

    /// Refuses, before anyone signs it, a statement whose texts could not
    /// be read back from its lines: a value with a line feed, or a folder
    /// name that is not one name.
    pub fn check_writable(&self) -> Result<(), LogError> {
        if !valid_folder(&self.backup.folder) {
            return Err(LogError::Key(format!(
                "the backup folder name \"{}\" is not one name of letters, digits, '.', '_' and '-'",
                self.backup.folder
            )));
        }
        SealStatement::parse(&self.text())
            .map(|_| ())
            .map_err(|e| LogError::Key(format!("the seal statement could not be read back: {e}")))
    }
}

/// 64 hex digits, either case: the statement writes the head in lower case
/// and key and file hashes in upper case, and [`SealStatement::parse`]
/// holds it to exactly that by comparing the text.
fn hash(text: &str, what: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| format!("the statement's {what} hash is not 64 hex digits"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> SealStatement {
        SealStatement {
            ceremony_id: "root-2026".to_string(),
            outcome: SealOutcome::Completed,
            entries: 12,
            head: [0xab; 32],
            time: "2026-11-25T20:28:07.123Z".to_string(),
            step: "5.4".to_string(),
            witness: "quinn".to_string(),
            log_signing_key_sha256: [0x01; 32],
            witness_key_sha256: [0x02; 32],
            witness_signing: WitnessSigning::Independent,
            backup: BackupCopy {
                folder: "root-2026-20261125T202807Z".to_string(),
                sha256: [0x03; 32],
            },
        }
    }

    #[test]
    fn the_statement_is_plain_text_in_a_fixed_form() {
        let text = statement().text();
        assert_eq!(
            text,
            format!(
                "keyceremony log seal v2\nceremony: root-2026\noutcome: completed\nentries: 12\nhead: {}\ntime: 2026-11-25T20:28:07.123Z\nstep: 5.4\nsealed-by: quinn (qualified-auditor)\ndescription: log sealed: the ceremony completed; signed by the log-signing key and the witness\nlog-signing-key-sha256: {}\nwitness: quinn\nwitness-key-sha256: {}\nwitness-signing: independent\nlog-signing-key-destroyed: after signing this statement, before the witness signs it\nhsm: logged out after the log-signing key was destroyed; in its tamper-evident bag before the witness signs\nbackup: entries 1 to 12, SHA-256 {}, copied to the backup media as root-2026-20261125T202807Z/ceremony.log and read back before the witness signs\n",
                "ab".repeat(32),
                "01".repeat(32),
                "02".repeat(32),
                "03".repeat(32)
            )
        );
        assert_eq!(SealStatement::parse(&text), Ok(statement()));
    }

    #[test]
    fn only_the_exact_text_parses() {
        let text = statement().text();
        for (from, to) in [
            ("head: abab", "head: ABAB"),
            ("witness-signing: independent", "witness-signing: by hand"),
            ("quinn (qualified-auditor)", "quinn (custodian)"),
            ("\nhsm:", "\nhsm: "),
            ("as root-2026", "as ../root-2026"),
            ("entries 1 to 12", "entries 1 to 11"),
        ] {
            assert!(text.contains(from), "{from}");
            let edited = text.replacen(from, to, 1);
            assert!(SealStatement::parse(&edited).is_err(), "{to}");
        }
        assert!(SealStatement::parse(text.trim_end()).is_err());
        let mut bad = statement();
        bad.backup.folder = "a/b".to_string();
        assert!(bad.check_writable().is_err());
        let mut bad = statement();
        bad.step = "5.4\nhead: 00".to_string();
        assert!(bad.check_writable().is_err());
        assert!(statement().check_writable().is_ok());
    }
}
