//! What a run that takes an interrupted ceremony up checks before anything
//! is written (docs/log-format.md, "Interrupted logs and resume"): that the
//! log is the one written in the room, as far as the head the witness
//! copied onto the paper script reaches (the checkpoints after it are
//! verified with the token at the first login, `actions::proof`), and that
//! the module, the binary and the token are the ones the ceremony started
//! with, or the witness accepts the change as an exception. And what the
//! log says is left on the token, for an abort to list.

use std::path::Path;

use keyceremony_hsm::{HsmError, Module};
use keyceremony_script::{LoadedScript, Participant};
use serde::Serialize;

use crate::operator::Operator;
use crate::resume::Interrupted;
use crate::{EngineError, environment};

/// A key the log says is on the token, for the abort record, its screen
/// and the report (the tool does not destroy keys: each stays live).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyLeft {
    pub label: String,
    /// CKA_ID, hex.
    pub id: String,
    /// What became of it, in words.
    pub state: String,
}

impl std::fmt::Display for KeyLeft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (CKA_ID {}): {}", self.label, self.id, self.state)
    }
}

impl Interrupted {
    /// The entry whose line hashes to the head the witness typed (hex in
    /// any case, spaces allowed; "none" when no head was ever shown).
    pub fn find_witness_head(&self, typed: &str) -> Result<Option<(u64, String)>, String> {
        let compact: String = typed
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if compact.is_empty() || compact == "none" {
            return Ok(None);
        }
        let head = hex::decode(&compact)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                format!(
                    "'{typed}' is not a log head: a head is 64 hexadecimal digits (a SHA-256), as copied onto the paper script"
                )
            })?;
        match self.hashes.iter().position(|h| *h == head) {
            Some(at) => Ok(Some((at as u64 + 1, compact))),
            None => Err(format!(
                "the head the witness copied ({compact}) is not the head after any entry of this log: this is not the log written in the room, or the head was mis-typed. Compare it again with the paper script and run the same command; if it is right, the log was changed while the ceremony stood interrupted: keep the folder as it is, nothing was written, and call the auditor"
            )),
        }
    }

    pub fn last_checkpoint(&self) -> Option<u64> {
        self.checkpoints.last().copied()
    }

    /// Every key the log says may be on the token, and what became of it.
    pub fn keys_left(&self, log_key_label: &str) -> Vec<KeyLeft> {
        let mut left: Vec<KeyLeft> = self
            .keys
            .iter()
            .map(|(label, id)| KeyLeft {
                label: label.clone(),
                id: hex::encode(id),
                state: if self.certificates.contains_key(label) {
                    "generated; its certificate was signed".to_string()
                } else {
                    "generated; never certified".to_string()
                },
            })
            .collect();
        left.extend(self.pending_keys.iter().map(|(label, id)| KeyLeft {
            label: label.clone(),
            id: hex::encode(id),
            state: "its generation was requested before an interruption: it may be on the token; never certified".to_string(),
        }));
        left.extend(self.refused_keys.iter().map(|(label, why)| KeyLeft {
            label: label.clone(),
            id: self.key_ids.get(label).map(hex::encode).unwrap_or_default(),
            state: format!("refused ({why}); never certified"),
        }));
        if let Some(id) = &self.log_key_id {
            left.push(KeyLeft {
                label: log_key_label.to_string(),
                id: id.clone(),
                state: "the log-signing key".to_string(),
            });
        }
        left
    }

    /// How this run's environment differs from the first run's: module path
    /// and SHA-256, binary SHA-256, token serial.
    fn environment_changes(
        &self,
        module: &Module,
        token_serial: Option<&str>,
        digests: &mut environment::Digests,
    ) -> Vec<String> {
        let Some(first) = &self.environment else {
            return Vec::new();
        };
        let now = environment::attestation(module.path(), &[], digests);
        let mut changes = Vec::new();
        for (field, what) in [
            ("module_path", "PKCS#11 module path"),
            ("module_sha256", "PKCS#11 module SHA-256"),
            ("binary_sha256", "keyceremony binary SHA-256"),
        ] {
            if first[field] != now[field] {
                changes.push(format!(
                    "{what}: {} in the first run, {} now",
                    first[field].as_str().unwrap_or("unknown"),
                    now[field].as_str().unwrap_or("unknown")
                ));
            }
        }
        if let (Some(recorded), Some(now)) = (&self.token_serial, token_serial)
            && recorded != now
        {
            changes.push(format!("token serial: {recorded} in the log, {now} now"));
        }
        changes
    }
}

/// On restarting an interrupted ceremony, before anything is written: the
/// witness enters the last head they copied, which must be the head after
/// some entry of the log; and a module, binary or token other than the
/// first run's is refused unless the witness accepts it as an exception.
pub(crate) fn check_restart(
    script: &LoadedScript,
    module: &Module,
    operator: &mut dyn Operator,
    interrupted: &mut Interrupted,
    digests: &mut environment::Digests,
) -> Result<(), EngineError> {
    let witness: Participant = script
        .script
        .participant(&script.script.log.witness)
        .cloned()
        .ok_or_else(|| EngineError::Refused("the seal witness is not a participant".to_string()))?;
    let typed = operator.last_copied_head(&witness, interrupted)?;
    interrupted.witness_head = interrupted
        .find_witness_head(&typed)
        .map_err(EngineError::Refused)?;
    let token_serial = match &interrupted.token_serial {
        None => None,
        Some(_) => Some(ceremony_token_serial(
            module,
            &script.script.hsm.token_label,
        )?),
    };
    let changes = interrupted.environment_changes(module, token_serial.as_deref(), digests);
    if changes.is_empty() {
        return Ok(());
    }
    match operator.accept_environment_change(&witness, &changes)? {
        Some(remark) => {
            interrupted.environment_exception = Some((changes, remark));
            Ok(())
        }
        None => Err(EngineError::Refused(format!(
            "this run's environment is not the ceremony's: {}. Nothing was written. Run the ceremony on with the module, binary and token it started with, or have the witness accept the change as a recorded exception",
            changes.join("; ")
        ))),
    }
}

/// The serial of the ceremony's token, found by its label. A SoftHSM2 token
/// whose state file a crash emptied is not found; that is said as such.
fn ceremony_token_serial(module: &Module, label: &str) -> Result<String, EngineError> {
    match module.token_by_label(label) {
        Ok(token) => Ok(token.info()?.serial),
        Err(error @ HsmError::TokenNotFound { .. }) => {
            match keyceremony_hsm::lab::empty_token_state_files(module.path()).first() {
                Some(file) => Err(EngineError::Refused(empty_state_message(label, file))),
                None => Err(error.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn empty_state_message(label: &str, file: &Path) -> String {
    let folder = file.parent().unwrap_or(file);
    format!(
        "no token labelled '{label}' is present, and SoftHSM2's state file {} is empty: SoftHSM2 was stopped (killed, or the power cut) while it rewrote that file, which it does during a login (C_Login), so it no longer knows that token. Its keys are still in {}, but cannot be used without that file. Nothing was written. If the token folder was backed up, put its token.object back and run the same command again; otherwise the token and its keys are lost: abort the ceremony (its log cannot be sealed, the log-signing key is on that token) and start a new one with a new token",
        file.display(),
        folder.display()
    )
}
