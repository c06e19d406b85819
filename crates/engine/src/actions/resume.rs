//! Taking up an interrupted ceremony, or aborting it: the log reopened,
//! files it does not account for moved aside, everyone checked in again,
//! and the keys and certificates the interrupted run made found again
//! (CPS 5.4.1). Reading the interrupted log is `crate::resume`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use keyceremony_hsm::Module;
use keyceremony_log::{EventKind, LogWriter, SealOutcome};
use keyceremony_script::{Action, LoadedScript, Role, Step};
use keyceremony_x509 as x509;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::operator::Operator;
use crate::outputs::{self, OutDir};
use crate::resume::{self, Interrupted};
use crate::run::{GeneratedKey, Outcome, Runner, SignedCertificate, hex_upper};
use crate::{EngineError, Settings, files};

impl Runner {
    /// Reopens the log of an interrupted ceremony for appending.
    pub(crate) fn reopen(
        script: LoadedScript,
        settings: Settings,
        module: Module,
    ) -> Result<Runner, EngineError> {
        let out = OutDir::open(&settings.out_dir)?;
        let (log, summary) = LogWriter::open_existing(&out.path(files::LOG))?;
        let mut runner = Runner::new(script, settings, module, out, log);
        if !summary.discarded.is_empty() {
            runner.tool_record(
                None,
                EventKind::Recorded,
                format!(
                    "the entry being written when the tool stopped was incomplete and is cut off ({} bytes)",
                    summary.discarded.len()
                ),
                json!({
                    "discarded_bytes": summary.discarded.len(),
                    "discarded_sha256": hex_upper(&Sha256::digest(&summary.discarded)),
                }),
            )?;
        }
        Ok(runner)
    }

    /// Takes up an interrupted ceremony: records the resumption, moves aside
    /// files the log does not account for, checks everyone in again, and
    /// logs in again if a login was active.
    pub(crate) fn resume(
        &mut self,
        operator: &mut dyn Operator,
        interrupted: &Interrupted,
    ) -> Result<(), EngineError> {
        let next = interrupted.next_step.clone().unwrap_or_default();
        let step = self
            .script
            .script
            .steps()
            .find(|(_, s)| s.id == next)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| {
                EngineError::Refused("every step has ended; only the seal is missing".to_string())
            })?;
        self.issued = interrupted.share_nonces.clone();
        self.exceptions = interrupted.exceptions;
        self.log_key_recorded = interrupted.log_key_recorded;
        self.recovery = Some(interrupted.clone());
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "ceremony resumed at step {} after an interruption; {} steps had ended",
                step.id,
                interrupted.completed.len()
            ),
            json!({ "resumed_at": step.id, "completed": interrupted.completed, "entries_before": interrupted.entries }),
        )?;
        self.move_aside_unaccounted(&interrupted.files)?;
        let witness = self.participant(&self.script.script.log.witness)?;
        self.check_in(operator, &step, &witness)?;
        if interrupted.logged_in {
            self.login(operator, &step)?;
        }
        Ok(())
    }

    /// Files in the output folder that the log does not account for were
    /// being written when the tool stopped, or by the step that runs again:
    /// they go to a folder of their own and the log says so, so the record
    /// and the folder agree again. A recorded file that grew by lines after
    /// its record (`fingerprints.txt`, appended by each export) goes there
    /// too, and its recorded content is put back. (A recorded file changed
    /// in any other way made the ceremony abort-only in `resume::read`; one
    /// changed since then is moved aside as it is.)
    fn move_aside_unaccounted(
        &mut self,
        accounted: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let root = self.out.root().to_path_buf();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| outputs::OutputError::Io { path, source }
        };
        let mut stray = Vec::new();
        let mut restore = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).map_err(io(&folder))?.flatten() {
                let path = entry.path();
                let relative = path
                    .strip_prefix(&root)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if relative == files::LOG || relative.starts_with("interrupted-") {
                    continue;
                }
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                match accounted.get(&relative) {
                    None => stray.push(relative),
                    Some(recorded) if recorded.is_empty() => {}
                    Some(recorded) => {
                        let content = std::fs::read(&path).map_err(io(&path))?;
                        if hex_upper(&Sha256::digest(&content)) != *recorded {
                            if let Some(prefix) = resume::recorded_prefix(&content, recorded) {
                                restore.push((relative.clone(), prefix.to_vec()));
                            }
                            stray.push(relative);
                        }
                    }
                }
            }
        }
        if stray.is_empty() {
            return Ok(());
        }
        let aside = format!("interrupted-{}", Utc::now().format("%Y%m%dT%H%M%SZ"));
        for relative in &stray {
            let to = root.join(&aside).join(relative);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::rename(root.join(relative), &to).map_err(io(&to))?;
        }
        for (relative, content) in &restore {
            self.out.write_new(relative, content)?;
        }
        let restored: Vec<String> = restore
            .iter()
            .map(|(relative, _)| relative.clone())
            .collect();
        self.tool_record(
            None,
            EventKind::Recorded,
            format!(
                "{} file(s) that the log does not account for as they are now were moved to {aside}/: {}{}",
                stray.len(),
                stray.join(", "),
                if restored.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; the recorded content of {} was put back",
                        restored.join(", ")
                    )
                }
            ),
            json!({ "moved_to": aside, "files": stray, "restored": restored }),
        )
    }

    /// After a resumed login: the keys and certificates the interrupted run
    /// made, found again on the token by their CKA_ID.
    pub(super) fn restore_keys(&mut self, step: &Step) -> Result<(), EngineError> {
        let Some(recovery) = self.recovery.clone() else {
            return Ok(());
        };
        for (label, id) in &recovery.keys {
            if self.keys.contains_key(label) {
                continue;
            }
            let session = self.logged_in(step)?;
            let pair = session.find_key_pair(id)?.ok_or_else(|| {
                EngineError::Refused(format!(
                    "key '{label}' (CKA_ID {}) that the log records is not on the token",
                    hex::encode(id)
                ))
            })?;
            let key = self
                .settings
                .policy
                .check_key(&session.public_key_spki_der(&pair)?)?;
            if let Some(der) = recovery.certificates.get(label) {
                let summary = x509::verify_root_of(der, &key)?;
                self.certificates.insert(
                    label.clone(),
                    SignedCertificate {
                        der: der.clone(),
                        summary,
                    },
                );
            }
            self.keys.insert(label.clone(), GeneratedKey { pair, key });
        }
        Ok(())
    }

    /// Records the room's decision to abort an interrupted ceremony and
    /// seals the log as aborted (CPS 5.4.1); without a log-signing key (it
    /// stopped before the token was initialised) the log stays unsealed.
    pub(crate) fn abort(
        mut self,
        operator: &mut dyn Operator,
        interrupted: &Interrupted,
        reason: &str,
    ) -> Result<Outcome, EngineError> {
        let settings = self.script.script.log.clone();
        let witness = self.participant(&settings.witness)?;
        self.log_key_recorded = interrupted.log_key_recorded;
        self.issued = interrupted.share_nonces.clone();
        self.person_record(
            &witness,
            Role::QualifiedAuditor,
            None,
            EventKind::Abort,
            format!("the ceremony is aborted after an interruption: {reason}"),
            json!({ "reason": reason, "completed": interrupted.completed, "entries_before": interrupted.entries }),
        )?;
        if let Some(why) = interrupted.unsealable() {
            return Err(EngineError::Refused(format!(
                "the abort is recorded, but the log cannot be sealed: {why}. The log stays unsealed (verify-log exit 3); copy it as it is with {}",
                self.log.path().display()
            )));
        }
        let step = Step {
            id: "abort".to_string(),
            title: "Seal the log of the aborted ceremony".to_string(),
            instructions: "Two custodians activate the token so that the log-signing key seals the log as aborted; the witness signs with their own token.".to_string(),
            performer: settings.witness.clone(),
            witness: settings.witness.clone(),
            action: Action::SealLog,
            record: Vec::new(),
        };
        self.check_in(operator, &step, &witness)?;
        self.seal(operator, &step, SealOutcome::Aborted)?;
        let head = self
            .sealed
            .ok_or_else(|| EngineError::Refused("the log was not sealed".to_string()))?;
        let (backup, log_verified) = self.backup()?;
        Ok(Outcome {
            out_dir: self.out.root().to_path_buf(),
            log_entries: self.log.len(),
            log_head: hex::encode(head),
            certificates: Vec::new(),
            backup,
            log_verified,
            keys: Vec::new(),
        })
    }
}
