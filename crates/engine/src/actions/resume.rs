//! Taking up an interrupted ceremony, or aborting it: the log reopened
//! (with this run's own environment attestation and what the room proved
//! of the log), files it does not account for moved aside, everyone
//! checked in again, and the keys and certificates the interrupted run
//! made found again and checked as fresh ones (CPS 5.4.1). Reading the
//! interrupted log is `crate::resume`; the checks before anything is
//! written are `crate::proof`.

use std::collections::BTreeMap;

use chrono::Utc;
use keyceremony_log::{EventKind, LogWriter, ResumeProof, SealOutcome};
use keyceremony_policy::InventoryLock;
use keyceremony_script::{Action, LoadedScript, Role, Step};
use keyceremony_x509 as x509;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::operator::{Notice, Operator};
use crate::outputs::{self, OutDir};
use crate::proof::KeyLeft;
use crate::resume::{self, Interrupted};
use crate::run::{Attested, LogKeyCheck, Outcome, Runner, acting_role, hex_upper};
use crate::{EngineError, Settings, files};

impl Runner {
    /// Reopens the log of an interrupted ceremony for appending, and records
    /// this run's environment and the proof the room gave of the log.
    pub(crate) fn reopen(
        script: LoadedScript,
        settings: Settings,
        module: keyceremony_hsm::Module,
        inventory: InventoryLock,
        attested: Attested,
        interrupted: &Interrupted,
    ) -> Result<Runner, EngineError> {
        let Attested {
            network,
            mut digests,
            rehearsal,
        } = attested;
        let out = OutDir::open(&settings.out_dir)?;
        let (log, summary) = LogWriter::open_existing(&out.path(files::LOG))?;
        if summary.entries != interrupted.entries
            || interrupted.hashes.last() != Some(&summary.head)
        {
            return Err(EngineError::Refused(format!(
                "{} changed after it was read ({} entries then, {} now): keep the folder as it is and call the auditor",
                log.path().display(),
                interrupted.entries,
                summary.entries
            )));
        }
        let mut runner = Runner::new(script, settings, module, out, log, inventory);
        runner.exceptions = interrupted.exceptions;
        runner.log_key_recorded = interrupted.log_key_recorded;
        runner.issued = interrupted.share_nonces.clone();
        runner.room = interrupted.room.clone();
        runner.rehearsal = rehearsal;
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
        runner.record_environment(&network, &mut digests)?;
        if let Some((changes, remark)) = &interrupted.environment_exception {
            runner.environment_exception(changes, remark)?;
        }
        runner.record_reopened(interrupted)?;
        runner.load_later()?;
        Ok(runner)
    }

    /// The witness's acceptance of a changed environment, on a numbered
    /// exception sheet.
    fn environment_exception(
        &mut self,
        changes: &[String],
        remark: &str,
    ) -> Result<(), EngineError> {
        let witness = self.participant(&self.script.script.log.witness)?;
        self.exceptions += 1;
        let number = self.exceptions;
        let description = format!(
            "this run's environment differs from the ceremony's first run: {}",
            changes.join("; ")
        );
        self.person_record(
            &witness,
            Role::QualifiedAuditor,
            None,
            EventKind::Exception,
            format!("exception {number}: {description}"),
            json!({
                "number": number, "description": description, "accepted": true,
                "witness": witness.id, "remark": remark, "environment_changes": changes,
            }),
        )
    }

    /// The `log-reopened` entry: how far the log is proven (the witness's
    /// copied head, the last checkpoint) and whether the checkpoints after
    /// the head are still to be verified with the token's log-signing key.
    fn record_reopened(&mut self, interrupted: &Interrupted) -> Result<(), EngineError> {
        let proof = ResumeProof::new(
            interrupted.witness_head.clone(),
            interrupted.last_checkpoint(),
        );
        self.log_key_check = interrupted.log_key_pem.clone().map(|pem| LogKeyCheck {
            pem,
            last_checkpoint: proof.last_checkpoint_entry,
            required: proof.token_check,
        });
        let witness = match proof.witness_head_entry {
            Some(n) => format!("the head the witness copied is the head after entry {n}"),
            None => "the witness had copied no head".to_string(),
        };
        // Nothing outside the log vouches for these: the witness checks them
        // against the initials on the paper script.
        let unproven: Vec<&str> = interrupted
            .step_ends
            .iter()
            .filter(|(entry, _)| Some(*entry) > proof.proven_through)
            .map(|(_, step)| step.as_str())
            .collect();
        let unproven_words = if unproven.is_empty() {
            String::new()
        } else {
            format!(
                "; steps {} ended after the last proven entry: the witness checks them against the initials on the paper script",
                unproven.join(", ")
            )
        };
        let through = match (proof.proven_through, proof.token_check) {
            (None, _) => {
                "no entry is proven: no head was copied and there is no checkpoint".to_string()
            }
            (Some(n), false) => format!("entries 1 to {n} are the log written in the room"),
            (Some(n), true) => format!(
                "entries 1 to {n} are the log written in the room once the checkpoints after the head are verified with the log-signing key on the token, at the first login"
            ),
        };
        self.tool_record(
            interrupted.next_step.as_deref(),
            EventKind::LogReopened,
            format!(
                "the log of the interrupted ceremony is reopened after {} entries: {witness}; {through}{unproven_words}",
                interrupted.entries
            ),
            json!({ "entries_before": interrupted.entries, "proof": proof, "steps_ended_unproven": unproven }),
        )
    }

    /// Takes up an interrupted ceremony: records the resumption, moves aside
    /// files the log does not account for, writes the script copy again if
    /// its record was never made, checks everyone in again, and logs in
    /// again if a login was active (or to verify the checkpoints).
    pub(crate) fn resume(
        &mut self,
        operator: &mut dyn Operator,
        interrupted: &Interrupted,
    ) -> Result<(), EngineError> {
        let step = self.resume_step(interrupted)?;
        self.recovery = Some(interrupted.clone());
        // The room's decision, recorded by the witness who seals the log.
        let witness = self.participant(&self.script.script.log.witness)?;
        self.person_record(
            &witness,
            acting_role(&witness),
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "{} records the room's decision: ceremony resumed at step {} after an interruption; {} steps had ended",
                witness.name,
                step.id,
                interrupted.completed.len()
            ),
            json!({ "resumed_at": step.id, "completed": interrupted.completed, "entries_before": interrupted.entries }),
        )?;
        self.move_aside_unaccounted(&interrupted.files)?;
        if !interrupted.files.contains_key(files::SCRIPT_COPY) {
            // Written before the interruption, but never recorded: the copy
            // there (moved aside) may be partial.
            let copy = self
                .out
                .write_new(files::SCRIPT_COPY, self.script.text.as_bytes())?;
            self.record_file(None, &copy)?;
        }
        self.check_in(operator, &step, &witness)?;
        if interrupted.logged_in || self.log_key_check.as_ref().is_some_and(|c| c.required) {
            self.login(operator, &step)?;
        }
        if !interrupted.logged_in && self.session.is_some() {
            self.logout(operator, &step)?;
        }
        Ok(())
    }

    fn resume_step(&self, interrupted: &Interrupted) -> Result<Step, EngineError> {
        let next = interrupted.next_step.clone().unwrap_or_default();
        self.script
            .script
            .steps()
            .find(|(_, s)| s.id == next)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| {
                EngineError::Refused("every step has ended; only the seal is missing".to_string())
            })
    }

    /// Files in the output folder that the log does not account for were
    /// being written when the tool stopped, or by the step that runs again:
    /// they go to a folder of their own and the log says so, so the record
    /// and the folder agree again. A recorded file that grew by lines after
    /// its record (`fingerprints.txt`, appended by each export) goes there
    /// too, and its recorded content is put back. (A recorded file changed
    /// in any other way made the ceremony abort-only in `resume::read`; one
    /// changed since then is moved aside as it is.) A symbolic link is never
    /// followed: the link itself is moved, its target is left alone.
    fn move_aside_unaccounted(
        &mut self,
        accounted: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let root = self.out.root().to_path_buf();
        let io = |path: &std::path::Path| {
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
                let kind = entry.file_type().map_err(io(&path))?;
                if kind.is_dir() {
                    folders.push(path);
                    continue;
                }
                match accounted.get(&relative) {
                    Some(recorded) if kind.is_file() && recorded.is_empty() => {}
                    Some(recorded) if kind.is_file() => {
                        let content = std::fs::read(&path).map_err(io(&path))?;
                        if hex_upper(&Sha256::digest(&content)) != *recorded {
                            if let Some(prefix) = resume::recorded_prefix(&content, recorded) {
                                restore.push((relative.clone(), prefix.to_vec()));
                            }
                            stray.push(relative);
                        }
                    }
                    _ => stray.push(relative),
                }
            }
        }
        if stray.is_empty() {
            return Ok(());
        }
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = outputs::create_unique_folder(&root, &format!("interrupted-{stamp}"))?;
        for relative in &stray {
            let to = aside.join(relative);
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
        let aside = aside
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
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

    /// After every login: on the first of a resumed run, the log-signing
    /// key proves the checkpoints; then the keys and certificates the
    /// interrupted run made are found again on the token by their CKA_ID
    /// and pass every check of a fresh key (`check_key`) and the public key
    /// their record names, or are refused.
    pub(super) fn restore_keys(&mut self, step: &Step) -> Result<(), EngineError> {
        self.verify_log_key(step)?;
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
                    "key '{label}' (CKA_ID {}) that the log records is not on the token as a private key",
                    hex::encode(id)
                ))
            })?;
            let mut checked = self.check_key(session, label, &pair)?;
            let sha256 = hex_upper(&Sha256::digest(&checked.spki));
            let recorded = recovery.key_sha256.get(label).map_or("", String::as_str);
            if sha256 != recorded {
                checked.problems.push(format!(
                    "its public key has SHA-256 {sha256}, but the log records {recorded}"
                ));
            }
            let key = match checked.passed() {
                Ok(key) => key.clone(),
                Err(why) => return self.refuse_key(step, label, id, &why, None),
            };
            if let Some(der) = recovery.certificates.get(label) {
                let verified = x509::verified_root_of(der, &key)?;
                self.certificates.insert(label.clone(), verified);
            }
            self.take_up_key(step, label, pair, key)?;
        }
        Ok(())
    }

    /// Records the room's decision to abort an interrupted ceremony, with
    /// every key the log says is on the token, and seals the log as aborted
    /// (CPS 5.4.1); without a log-signing key (it stopped before the token
    /// was initialised) the log stays unsealed.
    pub(crate) fn abort(
        mut self,
        operator: &mut dyn Operator,
        interrupted: &Interrupted,
        reason: &str,
    ) -> Result<Outcome, EngineError> {
        let settings = self.script.script.log.clone();
        let witness = self.participant(&settings.witness)?;
        let left = interrupted.keys_left(&settings.signing_key);
        self.person_record(
            &witness,
            Role::QualifiedAuditor,
            None,
            EventKind::Abort,
            format!(
                "the ceremony is aborted after an interruption: {reason}{}",
                keys_left_sentence(&left)
            ),
            json!({ "reason": reason, "completed": interrupted.completed, "entries_before": interrupted.entries, "keys_left_on_token": left }),
        )?;
        operator.notify(&Notice::KeysLeft {
            keys: left.iter().map(ToString::to_string).collect(),
        });
        if let Some(why) = interrupted.unsealable() {
            return Err(EngineError::Refused(format!(
                "the abort is recorded, but the log cannot be sealed: {why}. The log stays unsealed (verify-log exit 3); copy it as it is with {}",
                self.log.path().display()
            )));
        }
        let step = Step {
            id: "abort".to_string(),
            title: "Seal the log of the aborted ceremony".to_string(),
            instructions: "Two custodians activate the token so that the log-signing key signs the seal of the aborted ceremony, and is destroyed; the witness signs it with their own key.".to_string(),
            performer: settings.witness.clone(),
            witness: settings.witness.clone(),
            action: Action::SealLog,
            record: Vec::new(),
        };
        let sealed = self
            .check_in(operator, &step, &witness)
            .and_then(|()| self.seal(operator, &step, SealOutcome::Aborted));
        if let Err(error) = sealed {
            self.stop(operator, &step.id, &error);
            return Err(error);
        }
        let (Some(head), Some((backup, log_verified))) = (self.sealed, self.backup_copy.take())
        else {
            return Err(EngineError::Refused("the log was not sealed".to_string()));
        };
        let sealed = crate::run::sealed_outcome(&log_verified.1);
        Ok(Outcome {
            out_dir: self.out.root().to_path_buf(),
            log_entries: self.log.len(),
            log_head: hex::encode(head),
            certificates: Vec::new(),
            backup,
            log_verified,
            keys: Vec::new(),
            roots: Vec::new(),
            sealed,
        })
    }

    /// What the log says is on the token now, for an abort within a step.
    pub(crate) fn keys_left_now(&self) -> Vec<KeyLeft> {
        let lines = keyceremony_log::verify::read_path(self.log.path())
            .map(|reading| reading.lines)
            .unwrap_or_default();
        resume::scan(&lines, &self.script.script).keys_left(&self.script.script.log.signing_key)
    }
}

/// The abort's words about the keys it leaves on the token.
pub(crate) fn keys_left_sentence(left: &[KeyLeft]) -> String {
    if left.is_empty() {
        return "; the log records no key on the token".to_string();
    }
    format!(
        "; left on the token, live until destroyed under dual control (CPS 6.2.10), a certified key in a destroy-key ceremony, any key with its token in a re-initialisation ceremony: {}",
        left.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    )
}
