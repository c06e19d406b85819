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
use crate::seal::SealOutcome;
use crate::signature::PublicKey;
use crate::statement::STATEMENT_TITLE;
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
pub(crate) struct RawLine<'a> {
    pub(crate) seq: u64,
    pub(crate) time: String,
    pub(crate) prev: String,
    pub(crate) actor: Actor,
    #[serde(deserialize_with = "Option::deserialize")]
    pub(crate) step: Option<String>,
    pub(crate) kind: String,
    pub(crate) description: String,
    #[serde(borrow)]
    pub(crate) data: &'a RawValue,
}

#[derive(Deserialize)]
struct StartData {
    ceremony_id: String,
    /// The SHA-256 of the witness's public key the script pins; the seal's
    /// witness key must be that key.
    #[serde(default)]
    witness_key_sha256: Option<String>,
}

/// What entry 1 fixes for the rest of the log.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) ceremony_id: String,
    pub(crate) witness_pin: Option<[u8; 32]>,
}

#[derive(Deserialize)]
struct LogKeyData {
    public_key: String,
    public_key_sha256: String,
    /// Required, so that the entry says where the key is; the seal does not
    /// repeat it.
    #[serde(rename = "uri")]
    _uri: String,
}

/// The first `log-signing-key` entry: the key the seal must be signed with.
#[derive(Debug, Clone)]
pub(crate) struct LogKey {
    pub(crate) entry: u64,
    pub(crate) pem: String,
    pub(crate) key: PublicKey,
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
    /// The SHA-256 of every line so far, line feeds included.
    file: Sha256,
    time: DateTime<Utc>,
    start: Option<Start>,
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
    pub(crate) pending_token_check: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub(crate) entries: u64,
    pub(crate) head: [u8; 32],
    /// The SHA-256 of every line so far, line feeds included: what a copy
    /// of the log as it stands hashes to.
    pub(crate) file: Sha256,
    pub(crate) last_time: Option<DateTime<Utc>>,
    pub(crate) start: Option<Start>,
    pub(crate) log_key: Option<LogKey>,
    pub(crate) sealed: Option<Sealed>,
    pub(crate) resumes: Resumes,
    /// The witness key the verifier was told to expect, if any.
    pub(crate) witness: Option<PublicKey>,
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
            file: Sha256::new(),
            last_time: None,
            start: None,
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
        self.start.as_ref().map(|s| s.ceremony_id.as_str())
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
        self.file = accepted.file;
        self.last_time = Some(accepted.time);
        if accepted.start.is_some() {
            self.start = accepted.start;
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
        // The seal's data is held to its own form (check_seal); any other
        // entry's data is a JSON object as the writer writes one. Without
        // this, data re-escaped (a `\u006b` for a `k`) would read the same
        // and hide what a plain search of the line looks for.
        if raw.kind != KIND_SEAL {
            check_data_form(n, raw.data.get())?;
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
        let mut file = self.file.clone();
        file.update(line);
        file.update(b"\n");
        let mut accepted = Accepted {
            hash: Sha256::digest(line).into(),
            file,
            time,
            start: None,
            log_key: None,
            sealed: None,
            checkpoint: false,
            reopened: None,
            token_checked: false,
        };
        let data = raw.data.get();
        let last_checkpoint = self.resumes.last_checkpoint;
        if n == 1 {
            accepted.start = Some(check_start(&raw)?);
        } else if raw.kind == KIND_LOG_SIGNING_KEY && self.log_key.is_none() {
            accepted.log_key = Some(check_log_key(n, &raw)?);
        } else if raw.kind == KIND_SEAL {
            accepted.sealed = Some(self.check_seal(n, &raw, time)?);
        } else if raw.kind == KIND_CHECKPOINT {
            let ceremony_id = self.ceremony_id().unwrap_or_default();
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
}

/// `data` exactly as serde_json writes the JSON object it holds.
fn check_data_form(n: u64, data: &str) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| format!("entry {n}: its data is not JSON ({e}): it was edited"))?;
    if !value.is_object() {
        return Err(format!(
            "entry {n}: its data is not a JSON object: it was edited"
        ));
    }
    let rewritten = serde_json::to_string(&value)
        .map_err(|e| format!("entry {n}: its data cannot be re-encoded for checking ({e})"))?;
    if rewritten != data {
        return Err(format!(
            "entry {n}: its data is not byte for byte in the form the tool writes (spacing, key order, a key twice or escaping differ): it was edited"
        ));
    }
    Ok(())
}

fn check_start(raw: &RawLine<'_>) -> Result<Start, String> {
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
    let witness_pin = match start.witness_key_sha256 {
        None => None,
        Some(pin) => {
            let mut bytes = [0u8; 32];
            match hex::decode_to_slice(&pin, &mut bytes) {
                Ok(()) if hex::encode_upper(bytes) == pin => Some(bytes),
                _ => {
                    return Err(
                        "entry 1: data.witness_key_sha256 is not 64 upper-case hex digits"
                            .to_string(),
                    );
                }
            }
        }
    };
    Ok(Start {
        ceremony_id: start.ceremony_id,
        witness_pin,
    })
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

    /// Data is parsed and written again to check its form, so every number
    /// the writer writes must read back to the same bytes: a key
    /// generation's milliseconds are any f64 (serde_json's
    /// float_roundtrip parses them exactly).
    #[test]
    fn numbers_the_writer_writes_read_back_to_the_same_bytes() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ms = (x >> 11) as f64 / (1u64 << 53) as f64 * 100_000.0;
            let data = serde_json::json!({ "hsm_ms": ms, "bits": x }).to_string();
            assert!(check_data_form(2, &data).is_ok(), "{data}");
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
