//! Checkpoints and resumptions: what proves that a resumed ceremony goes on
//! from the log written in the room, not from one rewritten while it stood
//! interrupted (docs/log-format.md, "Interrupted logs and resume").
//!
//! While the token is logged in, the ceremony's log-signing key signs the
//! head at every step end: a `checkpoint` entry. Nobody without the PIN can
//! make one, so a log cut or rewritten before a checkpoint no longer holds a
//! checkpoint that verifies. A `log-reopened` entry records what the run that
//! took the ceremony up checked before it went on: the head the witness
//! copied onto the paper script, the last checkpoint, and whether the
//! checkpoints after that head still had to be verified with the key found
//! on the token (a `log-key-verified` entry then follows before any seal).

use serde::{Deserialize, Serialize};

use crate::LogError;
use crate::signature::{PublicKey, check_signature, signature_hex};

/// First line of every checkpoint statement.
pub(crate) const CHECKPOINT_TITLE: &str = "keyceremony log checkpoint v1";

/// The text the log-signing key signs at a checkpoint: the log as of entry
/// `entries`, whose line hashes to `head`. Plain lines, as the seal's
/// statement, so that `openssl dgst -sha384 -verify` checks it.
pub fn checkpoint_statement(ceremony_id: &str, entries: u64, head: &[u8; 32]) -> String {
    format!(
        "{CHECKPOINT_TITLE}\nceremony: {ceremony_id}\nentries: {entries}\nhead: {}\n",
        hex::encode(head)
    )
}

/// The data of a `checkpoint` entry, in this field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Entries before the checkpoint: the `seq` of the entry it signs.
    pub entries: u64,
    /// Lower-case hex SHA-256 of that entry's line.
    pub head: String,
    /// [`checkpoint_statement`], exactly as signed.
    pub statement: String,
    /// Lower-case hex of the DER Ecdsa-Sig-Value (ecdsa-with-SHA384) the
    /// log-signing key made over the statement.
    pub signature: String,
}

impl Checkpoint {
    /// The checkpoint of a log of `entries` entries ending in `head`, from
    /// the DER signature the log-signing key made over its statement.
    pub fn new(
        ceremony_id: &str,
        entries: u64,
        head: &[u8; 32],
        signature_der: &[u8],
    ) -> Result<Checkpoint, LogError> {
        Ok(Checkpoint {
            entries,
            head: hex::encode(head),
            statement: checkpoint_statement(ceremony_id, entries, head),
            signature: signature_hex(signature_der)?,
        })
    }
}

/// What a resumed run proved of the log it continues; the `proof` of a
/// `log-reopened` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeProof {
    /// The last head the witness copied onto the paper script (lower-case
    /// hex), None when no head had been shown yet.
    pub witness_head: Option<String>,
    /// The entry whose line hashes to `witness_head`.
    pub witness_head_entry: Option<u64>,
    /// The last checkpoint before this entry.
    pub last_checkpoint_entry: Option<u64>,
    /// Every entry up to this one is the log written in the room: the later
    /// of the two above.
    pub proven_through: Option<u64>,
    /// True when checkpoints follow the witness's head: they are verified
    /// with the log-signing key found on the token at this run's first
    /// login, which a `log-key-verified` entry records.
    pub token_check: bool,
}

impl ResumeProof {
    /// The proof of a log whose last checkpoint is `last_checkpoint`, given
    /// the entry (and head) the witness's copy was found at.
    pub fn new(witness: Option<(u64, String)>, last_checkpoint: Option<u64>) -> ResumeProof {
        let witness_entry = witness.as_ref().map(|(entry, _)| *entry);
        ResumeProof {
            witness_head: witness.map(|(_, head)| head),
            witness_head_entry: witness_entry,
            last_checkpoint_entry: last_checkpoint,
            proven_through: witness_entry.max(last_checkpoint),
            token_check: last_checkpoint > witness_entry,
        }
    }
}

#[derive(Deserialize)]
struct ResumedData {
    proof: ResumeProof,
}

#[derive(Deserialize)]
struct LogKeyVerifiedData {
    last_checkpoint_entry: Option<u64>,
}

/// Checks a `checkpoint` entry at line `n` of a log whose previous line
/// hashes to `head`.
pub(crate) fn check_checkpoint(
    n: u64,
    data: &str,
    ceremony_id: &str,
    head: &[u8; 32],
    log_key: Option<&PublicKey>,
) -> Result<(), String> {
    let checkpoint: Checkpoint = serde_json::from_str(data)
        .map_err(|e| format!("entry {n}: the checkpoint's data is not a checkpoint ({e})"))?;
    let log_key = log_key.ok_or_else(|| {
        format!(
            "entry {n}: a checkpoint before any log-signing-key entry: nothing in the log says which key had to sign it"
        )
    })?;
    if checkpoint.entries != n - 1 || checkpoint.head != hex::encode(head) {
        return Err(format!(
            "entry {n}: the checkpoint does not sign the log as of entry {}: entries were removed, added or changed before it",
            n - 1
        ));
    }
    if checkpoint.statement != checkpoint_statement(ceremony_id, n - 1, head) {
        return Err(format!(
            "entry {n}: the checkpoint statement is not the one for this log: it was edited"
        ));
    }
    check_signature(log_key, &checkpoint.signature, &checkpoint.statement)
        .map_err(|e| format!("entry {n}: checkpoint: {e} with the recorded log-signing key"))
}

/// Checks a `log-reopened` entry at line `n` against the last checkpoint before
/// it; returns whether a token check must follow before any seal.
pub(crate) fn check_reopened(
    n: u64,
    data: &str,
    last_checkpoint: Option<u64>,
) -> Result<bool, String> {
    let proof = serde_json::from_str::<ResumedData>(data)
        .map_err(|e| format!("entry {n}: the resumption records no usable proof ({e})"))?
        .proof;
    let head_form =
        |h: &String| h.len() == 64 && hex::encode(hex::decode(h).unwrap_or_default()) == *h;
    let witness_ok = match (&proof.witness_head, proof.witness_head_entry) {
        (None, None) => true,
        (Some(head), Some(entry)) => head_form(head) && entry < n,
        _ => false,
    };
    if !witness_ok {
        return Err(format!(
            "entry {n}: the resumption's witness head is not a head and an earlier entry's number"
        ));
    }
    let witness = proof.witness_head_entry.zip(proof.witness_head.clone());
    if proof != ResumeProof::new(witness, last_checkpoint) {
        return Err(format!(
            "entry {n}: the resumption's proof does not fit this log (its last checkpoint before it is {}): it was edited",
            last_checkpoint.map_or("none".to_string(), |c| format!("entry {c}"))
        ));
    }
    Ok(proof.token_check)
}

/// Checks a `log-key-verified` entry: it names the last checkpoint.
pub(crate) fn check_log_key_verified(
    n: u64,
    data: &str,
    last_checkpoint: Option<u64>,
) -> Result<(), String> {
    let verified: LogKeyVerifiedData = serde_json::from_str(data).map_err(|e| {
        format!("entry {n}: the log-key-verified entry names no last checkpoint ({e})")
    })?;
    if verified.last_checkpoint_entry != last_checkpoint {
        return Err(format!(
            "entry {n}: the token check names another last checkpoint than the log holds: it was edited"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_is_plain_text_in_a_fixed_form() {
        assert_eq!(
            checkpoint_statement("root-2026", 41, &[0xab; 32]),
            format!(
                "keyceremony log checkpoint v1\nceremony: root-2026\nentries: 41\nhead: {}\n",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn a_proof_is_through_the_later_of_the_head_and_the_checkpoint() {
        let head = "cd".repeat(32);
        let proof = ResumeProof::new(Some((30, head.clone())), Some(41));
        assert_eq!(proof.proven_through, Some(41));
        assert!(proof.token_check);
        let proof = ResumeProof::new(Some((50, head)), Some(41));
        assert_eq!(proof.proven_through, Some(50));
        assert!(!proof.token_check);
        let proof = ResumeProof::new(None, None);
        assert_eq!(proof.proven_through, None);
        assert!(!proof.token_check);
        assert!(ResumeProof::new(None, Some(3)).token_check);
    }
}
