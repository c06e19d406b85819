//! What an interrupted ceremony's log says about where it stopped, so that
//! `keyceremony run` on the same folder can resume it or abort it (CPS
//! 5.4.1: system crashes and other anomalies are recorded, and nothing the
//! ceremony did goes unaccounted).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

use keyceremony_log::verify::{Status, VerifyOptions, verify_path};
use keyceremony_script::{Action, Script, Secret};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::EngineError;

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
    /// Key label -> CKA_ID of generations requested but not recorded as done.
    pub pending_keys: BTreeMap<String, Vec<u8>>,
    /// Key label -> certificate DER signed and verified.
    pub certificates: BTreeMap<String, Vec<u8>>,
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
    pub exceptions: u32,
    /// A user login was active when the ceremony stopped.
    pub logged_in: bool,
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
        None
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
        let path = out.join(relative);
        match std::fs::read(&path) {
            Err(e) => changed.push(format!("{relative} (cannot be read: {e})")),
            Ok(content) => {
                let now = hex::encode_upper(Sha256::digest(&content));
                if now != *recorded && recorded_prefix(&content, recorded).is_none() {
                    changed.push(format!(
                        "{relative} (recorded with SHA-256 {recorded}, now {now})"
                    ));
                }
            }
        }
    }
    changed
}

/// Reads `log` (which must verify as intact and unsealed) against `script`.
pub fn read(log: &Path, script: &Script, script_sha256: &str) -> Result<Interrupted, EngineError> {
    if keyceremony_log::in_use(log) {
        return Err(refused(format!(
            "another keyceremony process is running this ceremony (it holds {}): one ceremony runs in one process at a time; finish or stop the other run first",
            log.display()
        )));
    }
    let report = verify_path(log, &VerifyOptions::default());
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
    let file = std::fs::File::open(log)
        .map_err(|e| refused(format!("cannot read {}: {e}", log.display())))?;
    let mut state = Interrupted {
        entries: report.entries,
        ..Interrupted::default()
    };
    let mut init_requested = false;
    let mut token_initialized = false;
    let mut issued = 0usize;
    let mut written = Vec::new();
    for line in BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            break;
        };
        let data = &entry["data"];
        let step = entry["step"].as_str().unwrap_or_default().to_string();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        state.last = format!("{}: {}", text(&entry["kind"]), text(&entry["description"]));
        match entry["kind"].as_str().unwrap_or_default() {
            "ceremony-start" => {
                state.ceremony_id = text(&data["ceremony_id"]);
                state.script_sha256 = text(&data["script_sha256"]);
            }
            "step-end" => state.completed.push(step),
            "token-init-requested" => init_requested = true,
            "token-initialized" => {
                token_initialized = true;
                for secret in Secret::ALL {
                    if let Some(nonce) = data["share_nonces"][secret.as_str()].as_str() {
                        state.share_nonces.insert(secret, nonce.to_string());
                    }
                }
            }
            "share-issued" => issued += 1,
            "log-signing-key" => state.log_key_recorded = true,
            "key-generation-requested" if data["purpose"].as_str() != Some("log-signing") => {
                let id = hex::decode(text(&data["id"])).unwrap_or_default();
                state.pending_keys.insert(text(&data["label"]), id);
            }
            "key-generated" => {
                let label = text(&data["label"]);
                let id = hex::decode(text(&data["id"])).unwrap_or_default();
                state.pending_keys.remove(&label);
                state.keys.insert(label, id);
            }
            "signed" => {
                if let Some(der) = data["certificate_der"]
                    .as_str()
                    .and_then(|h| hex::decode(h).ok())
                {
                    state.certificates.insert(text(&data["key"]), der);
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
                    text(&entry["description"])
                ));
            }
            _ => {}
        }
    }
    if state.script_sha256 != script_sha256 {
        return Err(refused(format!(
            "{} was written by a script with SHA-256 {}, not this one ({script_sha256}): resume it with the script it started with",
            log.display(),
            state.script_sha256
        )));
    }
    if state.ceremony_id != script.ceremony.id {
        return Err(refused(format!(
            "{} is the log of ceremony '{}', not '{}'",
            log.display(),
            state.ceremony_id,
            script.ceremony.id
        )));
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
    state.changed = changed_files(log.parent().unwrap_or(Path::new(".")), &state.files);
    Ok(state)
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
