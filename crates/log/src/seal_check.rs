//! The rules a seal obeys (docs/log-format.md, "The seal"): its data in the
//! writer's form, its statement exactly the one for this log and this line,
//! both signatures low-s and valid, the ceremony key the recorded
//! log-signing key and the witness key the one entry 1 pins.
//!
//! No later line hashes the seal, so every field of its line is either in
//! the statement both keys sign or fixed by the entries before it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::chain::{Chain, RawLine, Sealed};
use crate::seal::{CEREMONY_KEY_SIGNER, SEAL_ROLE, Seal};
use crate::signature::{PublicKey, check_signature};
use crate::statement::{BackupCopy, SealStatement, WitnessSigning, seal_description};

impl Chain {
    pub(crate) fn check_seal(
        &self,
        n: u64,
        raw: &RawLine<'_>,
        time: DateTime<Utc>,
    ) -> Result<Sealed, String> {
        let seal: Seal = serde_json::from_str(raw.data.get())
            .map_err(|e| format!("entry {n}: the seal's data is not a seal ({e})"))?;
        let rewritten = serde_json::to_string(&seal)
            .map_err(|e| format!("entry {n}: the seal cannot be re-encoded for checking ({e})"))?;
        if rewritten != raw.data.get() {
            return Err(format!(
                "entry {n}: the seal's data is not byte for byte in the form the tool writes: it was edited"
            ));
        }
        let step = raw.step.clone().ok_or_else(|| {
            format!("entry {n}: a seal ends the step that seals the log, but this one names none")
        })?;
        if raw.description != seal_description(seal.outcome) {
            return Err(format!(
                "entry {n}: the seal's description is not the tool's fixed text for a seal with outcome {}: it was edited",
                seal.outcome
            ));
        }
        if self.last_time != Some(time) {
            return Err(format!(
                "entry {n}: a seal carries the time of the entry it seals (entry {}); this one's time differs: it was edited",
                n - 1
            ));
        }
        if seal.entries != n - 1 {
            return Err(format!(
                "entry {n}: the seal states {} entries, but {} precede it: entries were removed or added",
                seal.entries,
                n - 1
            ));
        }
        if seal.head != hex::encode(self.head) {
            return Err(format!(
                "entry {n}: the seal's head is not the SHA-256 of entry {}: the sealed log ended differently",
                n - 1
            ));
        }
        if let Some(reopened) = self.resumes.pending_token_check {
            return Err(format!(
                "entry {n}: the log was reopened at entry {reopened} over checkpoints still to be verified with the log-signing key on the token, and no log-key-verified entry follows: the reopened log's proof never held"
            ));
        }
        let log_key = self.log_key.as_ref().ok_or_else(|| {
            format!(
                "entry {n}: no log-signing-key entry precedes the seal, so nothing in the log says which key had to sign it"
            )
        })?;
        let ceremony = &seal.ceremony_key;
        if ceremony.signer != CEREMONY_KEY_SIGNER {
            return Err(format!(
                "entry {n}: the ceremony key's signer is \"{}\", not \"{CEREMONY_KEY_SIGNER}\"",
                ceremony.signer
            ));
        }
        if ceremony.public_key != log_key.pem {
            return Err(format!(
                "entry {n}: the seal is signed with a ceremony key that is not the log-signing key recorded in entry {}",
                log_key.entry
            ));
        }
        let witness = &seal.witness_key;
        if raw.actor.id != witness.signer {
            return Err(format!(
                "entry {n}: the seal is recorded as made by \"{}\", but the witness who signed it is \"{}\"",
                raw.actor.id, witness.signer
            ));
        }
        if raw.actor.role != SEAL_ROLE {
            return Err(format!(
                "entry {n}: the seal is recorded as made in the role \"{}\"; a seal is the Qualified Auditor's ({SEAL_ROLE})",
                raw.actor.role
            ));
        }
        let witness_key = PublicKey::from_canonical_pem(&witness.public_key)
            .map_err(|e| format!("entry {n}: the witness's public key is {e}"))?;
        if witness_key.key == log_key.key.key {
            return Err(format!(
                "entry {n}: the witness signed with the ceremony's log-signing key; a seal needs two different keys"
            ));
        }
        let claimed = SealStatement::parse(&seal.statement)
            .map_err(|e| format!("entry {n}: {e}: it was edited"))?;
        let start = self.start.as_ref();
        let expected = SealStatement {
            ceremony_id: start.map(|s| s.ceremony_id.clone()).unwrap_or_default(),
            outcome: seal.outcome,
            entries: n - 1,
            head: self.head,
            time: raw.time.clone(),
            step,
            witness: witness.signer.clone(),
            log_signing_key_sha256: Sha256::digest(&log_key.key.der).into(),
            witness_key_sha256: Sha256::digest(&witness_key.der).into(),
            witness_signing: claimed.witness_signing,
            backup: BackupCopy {
                folder: claimed.backup.folder.clone(),
                sha256: self.file.clone().finalize().into(),
            },
        };
        if claimed != expected {
            return Err(format!(
                "entry {n}: the seal statement is not the one for this log and this line ({}): it was edited",
                differences(&claimed, &expected).join(", ")
            ));
        }
        match start.and_then(|s| s.witness_pin) {
            Some(pin) if pin != expected.witness_key_sha256 => {
                return Err(format!(
                    "entry {n}: the witness key that signed the seal (SHA-256 {}) is not the one entry 1 pins ({}): someone other than the witness signed it",
                    hex::encode_upper(expected.witness_key_sha256),
                    hex::encode_upper(pin)
                ));
            }
            None if claimed.witness_signing == WitnessSigning::Independent => {
                return Err(format!(
                    "entry {n}: the witness signed on their own device, but entry 1 pins no witness key to check the signature against"
                ));
            }
            _ => {}
        }
        check_signature(&log_key.key, &ceremony.signature, &seal.statement)
            .map_err(|e| format!("entry {n}: ceremony key: {e}"))?;
        check_signature(&witness_key, &witness.signature, &seal.statement)
            .map_err(|e| format!("entry {n}: witness key: {e}"))?;
        if let Some(given) = &self.witness
            && given.key != witness_key.key
        {
            return Err(format!(
                "entry {n}: the witness key in the seal is not the witness key given to the verifier: someone other than that witness signed the seal"
            ));
        }
        Ok(Sealed {
            entry: n,
            outcome: seal.outcome,
            head: self.head,
        })
    }
}

/// What a statement says that the log and the seal's line do not, by name.
fn differences(claimed: &SealStatement, expected: &SealStatement) -> Vec<&'static str> {
    [
        (claimed.ceremony_id != expected.ceremony_id, "ceremony"),
        (claimed.outcome != expected.outcome, "outcome"),
        (claimed.entries != expected.entries, "entries"),
        (claimed.head != expected.head, "head"),
        (claimed.time != expected.time, "time"),
        (claimed.step != expected.step, "step"),
        (claimed.witness != expected.witness, "witness"),
        (
            claimed.log_signing_key_sha256 != expected.log_signing_key_sha256,
            "log-signing key",
        ),
        (
            claimed.witness_key_sha256 != expected.witness_key_sha256,
            "witness key",
        ),
        (
            claimed.backup.sha256 != expected.backup.sha256,
            "the backup copy's SHA-256",
        ),
    ]
    .into_iter()
    .filter_map(|(differs, name)| differs.then_some(name))
    .collect()
}
