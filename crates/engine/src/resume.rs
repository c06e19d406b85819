//! What an interrupted ceremony's log says about where it stopped, so that
//! `keyceremony run` on the same folder can resume it or abort it (CPS
//! 5.4.1: system crashes and other anomalies are recorded, and nothing the
//! ceremony did goes unaccounted).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use keyceremony_log::verify::{Status, read_path};
use keyceremony_script::{Action, Script, Secret};
use keyceremony_text::terminal_safe;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::EngineError;
use crate::room::{Limits, Room};

/// The state of a log that stopped before its seal.
#[derive(Debug, Clone, Default)]
pub struct Interrupted {
    pub entries: u64,
    pub ceremony_id: String,
    pub script_sha256: String,
    /// Steps that ended, in order.
    pub completed: Vec<String>,
    /// The first step that did not end: where the ceremony goes on.
    pub next_step: Option<String>,
    /// The last entry's kind and description, to show the operators.
    pub last: String,
    /// The token's initialisation began but its shares were not all handed
    /// out: the PINs are lost, so the ceremony can only be aborted.
    pub shares_lost: bool,
    /// The step that did not end is the token's initialisation, and it got
    /// as far as handing out every share: it is taken up, not run again.
    pub token_ready: bool,
    pub share_nonces: BTreeMap<Secret, String>,
    pub log_key_recorded: bool,
    /// Key label -> CKA_ID of keys generated and recorded.
    pub keys: BTreeMap<String, Vec<u8>>,
    /// Key label -> the public key SHA-256 its `key-generated` entry records.
    pub key_sha256: BTreeMap<String, String>,
    /// Key label -> CKA_ID of every key whose generation was requested.
    pub key_ids: BTreeMap<String, Vec<u8>>,
    /// CKA_ID (hex) of the log-signing key, once its generation was requested.
    pub log_key_id: Option<String>,
    /// Key label -> why it was refused (a check failed, or the witness
    /// refused its step): it is never taken up or certified.
    pub refused_keys: BTreeMap<String, String>,
    /// Key label -> CKA_ID of generations requested but not recorded as done.
    pub pending_keys: BTreeMap<String, Vec<u8>>,
    /// Key label -> certificate DER signed and verified.
    pub certificates: BTreeMap<String, Vec<u8>>,
    /// Subordinate or CRL id -> the DER the root signed (a step the witness
    /// refused excepted): taken up, never signed twice.
    pub issued: BTreeMap<String, Vec<u8>>,
    /// Output files the log accounts for (relative path -> SHA-256, or ""
    /// for a share file, which is not hashed): written outside the steps, by
    /// a step that ended, or by an initialisation taken up.
    pub files: BTreeMap<String, String>,
    /// Files the log accounts for that are gone or hold something else than
    /// recorded (lines added after the record aside, which resuming undoes):
    /// each as "path (what is wrong)".
    pub changed: Vec<String>,
    /// The room ended the ceremony for good on restarting it ("entry N:
    /// description"), but its log could not be sealed: it is over.
    pub aborted: Option<String>,
    /// The log's last entry is the ceremony's end or an abort: the seal
    /// comes next, and it destroys the log-signing key once the key has
    /// signed the seal statement, before the witness signs. A key the token
    /// no longer holds may then be one the seal destroyed.
    pub seal_begun: bool,
    pub exceptions: u32,
    /// A user login was active when the ceremony stopped.
    pub logged_in: bool,
    /// SHA-256 of each entry's line, entry 1 first: where the head the
    /// witness copied is looked for.
    pub hashes: Vec<[u8; 32]>,
    /// Numbers of the `checkpoint` entries.
    pub checkpoints: Vec<u64>,
    /// (entry, step) of each `step-end`.
    pub step_ends: Vec<(u64, String)>,
    /// The recorded log-signing key, PEM.
    pub log_key_pem: Option<String>,
    /// The data of the first run's environment attestation.
    pub environment: Option<Value>,
    /// The ceremony token's serial, as the log records it.
    pub token_serial: Option<String>,
    /// What the room said on restarting: the entry (and head) where the
    /// witness's last copied head was found (`crate::proof`).
    pub witness_head: Option<(u64, String)>,
    /// Differences from the first run's environment that the witness
    /// accepted as an exception, and the witness's remark.
    pub environment_exception: Option<(Vec<String>, String)>,
    /// Shares issued, refused and logins failed, across every run so far.
    pub room: Room,
}

impl Interrupted {
    /// Why an abort cannot seal this log, if it cannot.
    pub fn unsealable(&self) -> Option<&'static str> {
        if !self.log_key_recorded {
            Some("the ceremony stopped before its log-signing key existed")
        } else if self.shares_lost {
            Some(
                "the log-signing key is on the token whose PINs were lost with the shares that were never handed out",
            )
        } else if self.room.logins_exhausted() {
            Some(
                "the token refused as many logins as the script allows, so no login is tried on it again to sign the seal",
            )
        } else if self.room.witness_logins_exhausted() {
            Some(
                "the witness's own token refused as many PINs as the script allows, so no PIN is tried on it again to sign the seal",
            )
        } else {
            None
        }
    }

    /// Why the ceremony can only be aborted, if it can only be aborted.
    pub fn refusal(&self) -> Option<String> {
        if let Some(abort) = &self.aborted {
            return Some(format!(
                "the ceremony was aborted ({abort}); an aborted ceremony is not taken up again. Abort it here to seal its log as aborted, then start a new ceremony with a new --out folder"
            ));
        }
        if let Some((label, why)) = self.refused_keys.iter().next() {
            return Some(format!(
                "key '{label}' was refused ({why}): it is never certified, and a key label is never reused (CPS 6.3.2), so this ceremony cannot complete. Abort it (the abort record lists the key as left on the token), then start a new ceremony"
            ));
        }
        if self.shares_lost {
            return Some(
                "the ceremony stopped while the token was being initialised, before every share was handed out: the PINs of that token are lost, so it cannot be resumed. Abort it (recorded in the log), then start a new ceremony with a freshly initialised token".to_string(),
            );
        }
        if !self.changed.is_empty() {
            return Some(format!(
                "the output folder no longer holds what the log recorded: {}. That is evidence: keep the folder as it is and call the auditor; the ceremony cannot be resumed over it. Abort it (recorded in the log) once the auditor has seen it",
                self.changed.join("; ")
            ));
        }
        self.room.limit_reached()
    }
}

fn refused(message: String) -> EngineError {
    EngineError::Refused(message)
}

/// The longest whole-line start of `content` whose SHA-256 is `recorded`
/// (upper-case hex): what an append-only file held when it was recorded.
/// One pass: the hash runs on, and is finished at each line's end.
pub(crate) fn recorded_prefix<'a>(content: &'a [u8], recorded: &str) -> Option<&'a [u8]> {
    let mut hash = Sha256::new();
    let mut found = None;
    let mut start = 0;
    for (at, _) in content
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
    {
        hash.update(&content[start..=at]);
        start = at + 1;
        if hex::encode_upper(hash.clone().finalize()) == recorded {
            found = Some(&content[..=at]);
        }
    }
    found
}

/// Accounted files that are missing or changed, other than by lines added
/// after their record.
fn changed_files(out: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut changed = Vec::new();
    for (relative, recorded) in files {
        // Rehearsal share files are recorded without a hash.
        if recorded.is_empty() {
            continue;
        }
        let read = crate::outputs::OutDir::open(out).and_then(|dir| dir.read(relative));
        match read {
            Err(crate::outputs::OutputError::Symlink { path }) => changed.push(format!(
                "{} ({} is a symbolic link, which the tool never writes)",
                terminal_safe(relative),
                path.display()
            )),
            Err(e) => changed.push(format!("{} (cannot be read: {e})", terminal_safe(relative))),
            Ok(content) => {
                let now = hex::encode_upper(Sha256::digest(&content));
                if now != *recorded && recorded_prefix(&content, recorded).is_none() {
                    changed.push(format!(
                        "{} (recorded with SHA-256 {}, now {now})",
                        terminal_safe(relative),
                        terminal_safe(recorded)
                    ));
                }
            }
        }
    }
    changed
}

/// Refuses a log another process is writing (it holds the log's lock).
pub(crate) fn refuse_in_use(log: &Path) -> Result<(), EngineError> {
    if keyceremony_log::in_use(log) {
        return Err(refused(format!(
            "another keyceremony process is running this ceremony (it holds {}): one ceremony runs in one process at a time; finish or stop the other run first",
            log.display()
        )));
    }
    Ok(())
}

/// Where a ceremony's log stands once a run has returned: what the room
/// can do next with its output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// No entry was written: the folder holds no ceremony.
    NoLog,
    /// The log is sealed, with this outcome: the ceremony is over.
    Sealed(keyceremony_log::SealOutcome),
    /// Stopped before its seal: the next run resumes it or aborts it.
    Resumable,
    /// Stopped before its seal: the next run can only abort it, for this
    /// reason.
    AbortOnly(String),
    /// Its abort is recorded and the log cannot be sealed, for this reason:
    /// the ceremony is over, its log unsealed.
    Over(String),
    /// The log does not read as the log the tool wrote.
    Unreadable(String),
}

/// Reads where the log at `log` stands, against `script`; changes nothing.
pub fn standing(log: &Path, script: &Script) -> Standing {
    if !log.exists() {
        return Standing::NoLog;
    }
    let reading = match read_path(log) {
        Ok(reading) => reading,
        Err(e) => return Standing::Unreadable(e.to_string()),
    };
    match reading.report.status {
        Status::Sealed => return Standing::Sealed(keyceremony_log::SealOutcome::Completed),
        Status::Aborted => return Standing::Sealed(keyceremony_log::SealOutcome::Aborted),
        Status::Tampered | Status::Unreadable => {
            return Standing::Unreadable(reading.report.status.to_string());
        }
        Status::Unsealed if reading.report.entries == 0 => return Standing::NoLog,
        Status::Unsealed => {}
    }
    let mut state = scan(&reading.lines, script);
    state.changed = changed_files(log.parent().unwrap_or(Path::new(".")), &state.files);
    match (&state.aborted, state.unsealable(), state.refusal()) {
        (Some(_), Some(why), _) => Standing::Over(why.to_string()),
        (_, _, Some(why)) => Standing::AbortOnly(why),
        _ => Standing::Resumable,
    }
}

/// Reads `log` (which must verify as intact and unsealed) against `script`.
pub fn read(log: &Path, script: &Script, script_sha256: &str) -> Result<Interrupted, EngineError> {
    refuse_in_use(log)?;
    let reading =
        read_path(log).map_err(|e| refused(format!("cannot read {}: {e}", log.display())))?;
    let report = &reading.report;
    match report.status {
        Status::Unsealed => {}
        Status::Sealed | Status::Aborted => {
            return Err(refused(format!(
                "{} is sealed ({}): that ceremony is over; choose a new --out folder",
                log.display(),
                report.status
            )));
        }
        Status::Tampered | Status::Unreadable => {
            return Err(refused(format!(
                "{} cannot be resumed: {}{}. Keep it as evidence and ask the auditor",
                log.display(),
                report.status,
                report
                    .problem
                    .as_ref()
                    .map(|p| format!(" (entry {}: {})", p.entry, p.message))
                    .unwrap_or_default()
            )));
        }
    }
    if report.entries == 0 {
        return Err(refused(format!(
            "{} holds no complete entry: the tool stopped before the ceremony's first record, before it used the token, so there is nothing to resume or abort. Keep the folder for the auditor if they want it, and start the ceremony again with a new --out folder",
            log.display()
        )));
    }
    let mut state = scan(&reading.lines, script);
    if state.script_sha256 != script_sha256 {
        return Err(refused(format!(
            "{} was written by a script with SHA-256 {}, not this one ({script_sha256}): resume it with the script it started with",
            log.display(),
            terminal_safe(&state.script_sha256)
        )));
    }
    if state.ceremony_id != script.ceremony.id {
        return Err(refused(format!(
            "{} is the log of ceremony '{}', not '{}'",
            log.display(),
            terminal_safe(&state.ceremony_id),
            script.ceremony.id
        )));
    }
    state.changed = changed_files(log.parent().unwrap_or(Path::new(".")), &state.files);
    Ok(state)
}

/// What the complete entries of a log say, against `script`: the same
/// lines the writer goes on from ([`keyceremony_log::verify::read_path`]).
pub(crate) fn scan(lines: &[Vec<u8>], script: &Script) -> Interrupted {
    let mut state = Interrupted {
        entries: lines.len() as u64,
        room: Room::new(Limits::of(&script.hsm)),
        ..Interrupted::default()
    };
    let mut init_requested = false;
    let mut token_initialized = false;
    let mut issued = 0usize;
    let mut written = Vec::new();
    // Key label -> step of its generation request, for a refused step.
    let mut key_steps: BTreeMap<String, String> = BTreeMap::new();
    // Subordinate or CRL id -> step of its signature.
    let mut issued_steps: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        state.hashes.push(Sha256::digest(line).into());
        let Ok(entry) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        state.room.observe(&entry);
        let data = &entry["data"];
        let step = entry["step"].as_str().unwrap_or_default().to_string();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        // Shown to the room and quoted in refusals: one line, whatever the
        // log holds.
        let shown = |v: &Value| terminal_safe(v.as_str().unwrap_or_default()).into_owned();
        state.last = format!(
            "{}: {}",
            shown(&entry["kind"]),
            shown(&entry["description"])
        );
        let kind = entry["kind"].as_str().unwrap_or_default();
        state.seal_begun = matches!(kind, "ceremony-end" | "abort");
        match kind {
            "ceremony-start" => {
                state.ceremony_id = text(&data["ceremony_id"]);
                state.script_sha256 = text(&data["script_sha256"]);
            }
            "environment" if state.environment.is_none() && data.get("binary_sha256").is_some() => {
                state.environment = Some(data.clone());
                state.token_serial = data["tokens"].as_array().and_then(|tokens| {
                    tokens
                        .iter()
                        .find(|t| {
                            t["label"] == script.hsm.token_label.as_str() && !script.hsm.initialize
                        })
                        .map(|t| text(&t["serial"]))
                });
            }
            "step-end" => {
                let seq = entry["seq"].as_u64().unwrap_or_default();
                state.step_ends.push((seq, step.clone()));
                state.completed.push(step);
            }
            "checkpoint" => state
                .checkpoints
                .push(entry["seq"].as_u64().unwrap_or_default()),
            "token-init-requested" => init_requested = true,
            "token-initialized" => {
                token_initialized = true;
                state.token_serial = Some(text(&data["serial"]));
                for secret in Secret::ALL {
                    if let Some(nonce) = data["share_nonces"][secret.as_str()].as_str() {
                        state.share_nonces.insert(secret, nonce.to_string());
                    }
                }
            }
            "share-issued" => issued += 1,
            "log-signing-key" if state.log_key_pem.is_none() => {
                state.log_key_recorded = true;
                state.log_key_pem = Some(text(&data["public_key"]));
            }
            "key-generation-requested" if data["purpose"].as_str() == Some("log-signing") => {
                state.log_key_id = Some(text(&data["id"]));
            }
            "key-generation-requested" => {
                let id = hex::decode(text(&data["id"])).unwrap_or_default();
                key_steps.insert(text(&data["label"]), step);
                state.key_ids.insert(text(&data["label"]), id.clone());
                state.pending_keys.insert(text(&data["label"]), id);
            }
            "key-generated" => {
                let label = text(&data["label"]);
                let id = hex::decode(text(&data["id"])).unwrap_or_default();
                state.pending_keys.remove(&label);
                state
                    .key_sha256
                    .insert(label.clone(), text(&data["public_key_sha256"]));
                state.keys.insert(label, id);
            }
            "key-refused" => {
                let label = text(&data["label"]);
                state.keys.remove(&label);
                state.pending_keys.remove(&label);
                state.certificates.remove(&label);
                state.refused_keys.insert(label, text(&data["reason"]));
            }
            // What the witness refused is never taken up, even when the
            // tool stopped before it recorded the key as refused.
            "witness-refused" => {
                for (id, _) in issued_steps.iter().filter(|(_, s)| **s == step) {
                    state.issued.remove(id);
                }
                for (label, _) in key_steps.iter().filter(|(_, s)| **s == step) {
                    if state.keys.remove(label).is_some()
                        || state.pending_keys.remove(label).is_some()
                    {
                        state
                            .refused_keys
                            .entry(label.clone())
                            .or_insert_with(|| format!("the witness refused step {step}"));
                    }
                }
            }
            "signed" => {
                if let Some(der) = data["certificate_der"]
                    .as_str()
                    .and_then(|h| hex::decode(h).ok())
                {
                    key_steps.insert(text(&data["key"]), step);
                    state.certificates.insert(text(&data["key"]), der);
                } else if let Some(der) = data["der"].as_str().and_then(|h| hex::decode(h).ok()) {
                    issued_steps.insert(text(&data["issued"]), step);
                    state.issued.insert(text(&data["issued"]), der);
                }
            }
            "file-written" => {
                written.push((step, text(&data["path"]), text(&data["sha256"])));
            }
            "exception" => state.exceptions += 1,
            // Without a step: the room's decision, on restarting, to end the
            // ceremony for good. (An abort in a step is the operators
            // stopping it there; the next run may still resume it.)
            "abort" if step.is_empty() => {
                state.aborted = Some(format!(
                    "entry {}: {}",
                    entry["seq"],
                    shown(&entry["description"])
                ));
            }
            _ => {}
        }
    }
    let ended: HashSet<&str> = state.completed.iter().map(String::as_str).collect();
    let mut logged_in = false;
    for (_, step) in script.steps() {
        if !ended.contains(step.id.as_str()) {
            state.next_step = Some(step.id.clone());
            if step.action == Action::InitToken && init_requested {
                let expected: usize = Secret::ALL
                    .iter()
                    .map(|s| script.activation.quorum(*s).custodians.len())
                    .sum();
                state.token_ready = token_initialized && issued == expected;
                state.shares_lost = !state.token_ready;
            }
            break;
        }
        match step.action {
            Action::Login => logged_in = true,
            Action::Logout => logged_in = false,
            _ => {}
        }
    }
    // The step that did not end runs again from its start, so what it wrote
    // is not accounted for (unless it is taken up); a later record of a path
    // supersedes an earlier.
    for (step, path, sha256) in written {
        let taken_up = state.token_ready && state.next_step.as_ref() == Some(&step);
        if step.is_empty() || ended.contains(step.as_str()) || taken_up {
            state.files.insert(path, sha256);
        }
    }
    state.logged_in = logged_in;
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode_upper(Sha256::digest(bytes))
    }

    #[test]
    fn the_recorded_prefix_is_found_among_the_lines_added_after_it() {
        let content = b"root SHA256 AA\nroot SHA1 BB\nsecond SHA256 CC\nsecond SHA1 DD\n";
        let first = &content[..28];
        assert_eq!(recorded_prefix(content, &sha(first)), Some(first));
        assert_eq!(recorded_prefix(content, &sha(content)), Some(&content[..]));
        // Only whole lines: a prefix that ends inside a line is not one.
        assert_eq!(recorded_prefix(content, &sha(&content[..20])), None);
        assert_eq!(recorded_prefix(content, &sha(b"other\n")), None);
        assert_eq!(recorded_prefix(b"", &sha(b"")), None);
    }
}
