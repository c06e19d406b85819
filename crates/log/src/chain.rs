//! The rules every line of a ceremony log obeys, checked one line at a time.
//!
//! The verifier runs them over a log it reads; the writer runs them over each
//! line before writing it, so the tool cannot write a log its own verifier
//! would call tampered. The state kept between lines is small and does not
//! grow with the log: the last number, hash and time, the ceremony id and the
//! recorded log-signing key.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::checkpoint::{
    CHECKPOINT_TITLE, check_checkpoint, check_log_key_verified, check_reopened,
};
use crate::seal::{
    CEREMONY_KEY_SIGNER, PublicKey, SEAL_ROLE, STATEMENT_TITLE, Seal, SealOutcome, check_signature,
    seal_description, seal_statement,
};
use crate::{Actor, GENESIS};

/// Longest line, without its line feed, that the writer writes and the
/// verifier reads: the verifier's memory is bounded by it.
pub const MAX_LINE: usize = 1 << 20;

pub(crate) const KIND_CEREMONY_START: &str = "ceremony-start";
pub(crate) const KIND_LOG_SIGNING_KEY: &str = "log-signing-key";
pub(crate) const KIND_SEAL: &str = "seal";
pub(crate) const KIND_CHECKPOINT: &str = "checkpoint";
pub(crate) const KIND_LOG_REOPENED: &str = "log-reopened";
pub(crate) const KIND_LOG_KEY_VERIFIED: &str = "log-key-verified";

/// One line in the writer's field order. `kind` and `data` are generic so the
/// writer can serialise an [`EventKind`](crate::EventKind) and a [`Seal`], and
/// the verifier can re-serialise what it read (`data` kept as raw JSON).
#[derive(Serialize)]
pub(crate) struct Envelope<'a, K: Serialize, D: Serialize + ?Sized> {
    pub(crate) seq: u64,
    pub(crate) time: &'a str,
    pub(crate) prev: &'a str,
    pub(crate) actor: &'a Actor,
    pub(crate) step: Option<&'a str>,
    pub(crate) kind: K,
    pub(crate) description: &'a str,
    pub(crate) data: &'a D,
}

/// A line as read. `kind` is any string, so that logs with kinds newer than
/// this verifier still verify; `step` must be present even when null.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    seq: u64,
    time: String,
    prev: String,
    actor: Actor,
    #[serde(deserialize_with = "Option::deserialize")]
    step: Option<String>,
    kind: String,
    description: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct StartData {
    ceremony_id: String,
}

#[derive(Deserialize)]
struct LogKeyData {
    public_key: String,
    public_key_sha256: String,
    uri: String,
}

/// The first `log-signing-key` entry: the key the seal must be signed with.
#[derive(Debug, Clone)]
struct LogKey {
    entry: u64,
    pem: String,
    key: PublicKey,
    uri: String,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sealed {
    pub(crate) entry: u64,
    pub(crate) outcome: SealOutcome,
    /// The head the seal states: the hash of the entry before it.
    pub(crate) head: [u8; 32],
}

/// What one accepted line changes; applied with [`Chain::commit`] once the
/// line is known to be on disk (writer) or read (verifier).
pub(crate) struct Accepted {
    hash: [u8; 32],
    time: DateTime<Utc>,
    ceremony_id: Option<String>,
    log_key: Option<LogKey>,
    sealed: Option<Sealed>,
    checkpoint: bool,
    /// A `log-reopened` entry: whether a token check must follow.
    reopened: Option<bool>,
    token_checked: bool,
}

/// Checkpoints and resumptions seen so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Resumes {
    pub(crate) checkpoints: u64,
    pub(crate) last_checkpoint: Option<u64>,
    pub(crate) resumes: u64,
    /// A `log-reopened` entry whose checkpoints are still to be verified with the
    /// token's log-signing key: no seal may follow until they are.
    pending_token_check: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Chain {
    entries: u64,
    head: [u8; 32],
    last_time: Option<DateTime<Utc>>,
    ceremony_id: Option<String>,
    log_key: Option<LogKey>,
    sealed: Option<Sealed>,
    resumes: Resumes,
    /// The witness key the verifier was told to expect, if any.
    witness: Option<PublicKey>,
}

/// Formats a time as every entry carries it (CPS 5.5.5).
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a time only in the form [`format_time`] writes.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let time = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    (format_time(time) == text).then_some(time)
}

fn is_kebab_case(kind: &str) -> bool {
    !kind.is_empty()
        && kind.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A ceremony id goes on a line of its own in the seal statement.
fn valid_ceremony_id(id: &str) -> bool {
    !id.is_empty() && !id.chars().any(char::is_control)
}

impl Chain {
    pub(crate) fn new(witness: Option<PublicKey>) -> Chain {
        Chain {
            entries: 0,
            head: GENESIS,
            last_time: None,
            ceremony_id: None,
            log_key: None,
            sealed: None,
            resumes: Resumes::default(),
            witness,
        }
    }

    /// Entries accepted.
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Hash of the last line accepted ([`GENESIS`] before the first).
    pub(crate) fn head(&self) -> [u8; 32] {
        self.head
    }

    pub(crate) fn last_time(&self) -> Option<DateTime<Utc>> {
        self.last_time
    }

    pub(crate) fn ceremony_id(&self) -> Option<&str> {
        self.ceremony_id.as_deref()
    }

    pub(crate) fn sealed(&self) -> Option<Sealed> {
        self.sealed
    }

    pub(crate) fn resumes(&self) -> Resumes {
        self.resumes
    }

    pub(crate) fn commit(&mut self, accepted: Accepted) {
        self.entries += 1;
        self.head = accepted.hash;
        self.last_time = Some(accepted.time);
        if accepted.ceremony_id.is_some() {
            self.ceremony_id = accepted.ceremony_id;
        }
        if accepted.log_key.is_some() {
            self.log_key = accepted.log_key;
        }
        if accepted.sealed.is_some() {
            self.sealed = accepted.sealed;
        }
        let resumes = &mut self.resumes;
        if accepted.checkpoint {
            resumes.checkpoints += 1;
            resumes.last_checkpoint = Some(self.entries);
        }
        if let Some(token_check) = accepted.reopened {
            resumes.resumes += 1;
            resumes.pending_token_check = token_check.then_some(self.entries);
        }
        if accepted.token_checked {
            resumes.pending_token_check = None;
        }
    }

    /// Checks that `line` (without its line feed) is a valid next entry.
    /// The error says, in words for an auditor, what is wrong and where.
    pub(crate) fn check(&self, line: &[u8]) -> Result<Accepted, String> {
        let n = self.entries + 1;
        if let Some(sealed) = &self.sealed {
            return Err(format!(
                "entry {n} follows the seal (entry {}): nothing may be added to a sealed log",
                sealed.entry
            ));
        }
        let raw: RawLine<'_> = serde_json::from_slice(line).map_err(|e| {
            format!("entry {n} is not a well-formed log entry ({e}): it was edited or damaged")
        })?;
        if raw.seq != n {
            return Err(format!(
                "entry {n} carries seq {} where {n} was expected: an entry was removed, inserted or moved before it, or its number was changed",
                raw.seq
            ));
        }
        if raw.prev != hex::encode(self.head) {
            return Err(if n == 1 {
                "entry 1: prev must be 64 zeros in the first entry: the log does not start at its beginning, or prev was changed".to_string()
            } else {
                format!(
                    "entry {n}: prev does not match the SHA-256 of entry {}: entry {} was changed, or an entry was removed or inserted here (or this prev was changed)",
                    n - 1,
                    n - 1
                )
            });
        }
        let rewritten = serde_json::to_vec(&Envelope {
            seq: raw.seq,
            time: &raw.time,
            prev: &raw.prev,
            actor: &raw.actor,
            step: raw.step.as_deref(),
            kind: &raw.kind,
            description: &raw.description,
            data: raw.data,
        })
        .map_err(|e| format!("entry {n} cannot be re-encoded for checking ({e})"))?;
        if rewritten != line {
            return Err(format!(
                "entry {n} is not byte for byte in the form the tool writes (spacing, field order or escaping differ): it was edited"
            ));
        }
        let time = parse_time(&raw.time).ok_or_else(|| {
            format!(
                "entry {n}: time \"{}\" is not a UTC time with milliseconds as the tool writes it (like 2026-11-25T20:28:07.123Z)",
                raw.time
            )
        })?;
        if let Some(last) = self.last_time
            && time < last
        {
            return Err(format!(
                "entry {n}: time {} is earlier than the time of entry {} ({}): times in a log never go back",
                raw.time,
                n - 1,
                format_time(last)
            ));
        }
        if !is_kebab_case(&raw.kind) {
            return Err(format!(
                "entry {n}: kind \"{}\" is not a kebab-case name like the tool writes",
                raw.kind
            ));
        }
        let mut accepted = Accepted {
            hash: Sha256::digest(line).into(),
            time,
            ceremony_id: None,
            log_key: None,
            sealed: None,
            checkpoint: false,
            reopened: None,
            token_checked: false,
        };
        let data = raw.data.get();
        let last_checkpoint = self.resumes.last_checkpoint;
        if n == 1 {
            accepted.ceremony_id = Some(check_start(&raw)?);
        } else if raw.kind == KIND_LOG_SIGNING_KEY && self.log_key.is_none() {
            accepted.log_key = Some(check_log_key(n, &raw)?);
        } else if raw.kind == KIND_SEAL {
            accepted.sealed = Some(self.check_seal(n, &raw, time)?);
        } else if raw.kind == KIND_CHECKPOINT {
            let ceremony_id = self.ceremony_id.as_deref().unwrap_or_default();
            let key = self.log_key.as_ref().map(|k| &k.key);
            check_checkpoint(n, data, ceremony_id, &self.head, key)?;
            accepted.checkpoint = true;
        } else if raw.kind == KIND_LOG_REOPENED {
            accepted.reopened = Some(check_reopened(n, data, last_checkpoint)?);
        } else if raw.kind == KIND_LOG_KEY_VERIFIED {
            check_log_key_verified(n, data, last_checkpoint)?;
            accepted.token_checked = true;
        } else if data.contains(CHECKPOINT_TITLE) {
            return Err(format!(
                "entry {n} holds a checkpoint statement but its kind is \"{}\", not \"{KIND_CHECKPOINT}\": it was edited",
                raw.kind
            ));
        }
        if raw.kind != KIND_SEAL && data.contains(STATEMENT_TITLE) {
            // A seal whose kind was changed would otherwise read as an
            // ordinary last entry of an unsealed log.
            return Err(format!(
                "entry {n} holds a seal statement but its kind is \"{}\", not \"{KIND_SEAL}\": it was edited",
                raw.kind
            ));
        }
        Ok(accepted)
    }

    fn check_seal(&self, n: u64, raw: &RawLine<'_>, time: DateTime<Utc>) -> Result<Sealed, String> {
        let seal: Seal = serde_json::from_str(raw.data.get())
            .map_err(|e| format!("entry {n}: the seal's data is not a seal ({e})"))?;
        let rewritten = serde_json::to_string(&seal)
            .map_err(|e| format!("entry {n}: the seal cannot be re-encoded for checking ({e})"))?;
        if rewritten != raw.data.get() {
            return Err(format!(
                "entry {n}: the seal's data is not byte for byte in the form the tool writes: it was edited"
            ));
        }
        if raw.step.is_some() {
            return Err(format!(
                "entry {n}: a seal belongs to no step, but this one names a step"
            ));
        }
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
        let ceremony_id = self.ceremony_id.as_deref().unwrap_or_default();
        let statement = seal_statement(
            ceremony_id,
            seal.outcome,
            seal.entries,
            &self.head,
            &seal.witness_key.signer,
            &seal.witness_key.uri,
        );
        if seal.statement != statement {
            return Err(format!(
                "entry {n}: the seal statement is not the one for this log (ceremony {ceremony_id}, outcome {}, {} entries, head {}): it was edited",
                seal.outcome, seal.entries, seal.head
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
        if ceremony.uri != log_key.uri {
            return Err(format!(
                "entry {n}: the ceremony key's URI is not the one recorded in entry {}",
                log_key.entry
            ));
        }
        check_signature(&log_key.key, &ceremony.signature, &statement)
            .map_err(|e| format!("entry {n}: ceremony key: {e}"))?;
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
        check_signature(&witness_key, &witness.signature, &statement)
            .map_err(|e| format!("entry {n}: witness key: {e}"))?;
        if let Some(expected) = &self.witness
            && expected.key != witness_key.key
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

fn check_start(raw: &RawLine<'_>) -> Result<String, String> {
    if raw.kind != KIND_CEREMONY_START {
        return Err(format!(
            "entry 1 is a \"{}\" entry; a ceremony log starts with \"{KIND_CEREMONY_START}\": its beginning is missing or was replaced",
            raw.kind
        ));
    }
    let start: StartData = serde_json::from_str(raw.data.get()).map_err(|e| {
        format!("entry 1: the ceremony-start entry has no usable data.ceremony_id ({e})")
    })?;
    if !valid_ceremony_id(&start.ceremony_id) {
        return Err("entry 1: data.ceremony_id is empty or holds control characters".to_string());
    }
    Ok(start.ceremony_id)
}

fn check_log_key(n: u64, raw: &RawLine<'_>) -> Result<LogKey, String> {
    let data: LogKeyData = serde_json::from_str(raw.data.get()).map_err(|e| {
        format!(
            "entry {n}: the log-signing-key entry lacks public_key, public_key_sha256 or uri ({e})"
        )
    })?;
    let key = PublicKey::from_pem(&data.public_key)
        .map_err(|e| format!("entry {n}: the recorded log-signing key is {e}"))?;
    if data.public_key_sha256 != hex::encode_upper(Sha256::digest(&key.der)) {
        return Err(format!(
            "entry {n}: public_key_sha256 is not the upper-case hex SHA-256 of the recorded log-signing key"
        ));
    }
    Ok(LogKey {
        entry: n,
        pem: data.public_key,
        key,
        uri: data.uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_kebab_case_names() {
        for good in ["seal", "log-signing-key", "step-2b"] {
            assert!(is_kebab_case(good), "{good}");
        }
        for bad in [
            "",
            "Seal",
            "log_signing_key",
            "-seal",
            "seal-",
            "a--b",
            "s eal",
        ] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }

    #[test]
    fn the_kind_names_match_the_writer_s() {
        use crate::EventKind;
        for (kind, name) in [
            (EventKind::CeremonyStart, KIND_CEREMONY_START),
            (EventKind::LogSigningKey, KIND_LOG_SIGNING_KEY),
            (EventKind::Seal, KIND_SEAL),
        ] {
            assert_eq!(serde_json::to_value(kind).ok(), Some(name.into()));
        }
    }

    #[test]
    fn only_the_written_time_form_is_read() {
        assert!(parse_time("2026-11-25T20:28:07.123Z").is_some());
        for bad in [
            "2026-11-25T20:28:07Z",
            "2026-11-25T20:28:07.123+00:00",
            "2026-11-25t20:28:07.123Z",
            "2026-11-25T20:28:07.1234Z",
        ] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }
}
