//! The step runner. Each HSM action logs its intent before the PKCS#11
//! call and its result after, so the log accounts for every object the
//! ceremony leaves on the token.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use chrono::{SubsecRound, Utc};
use keyceremony_hsm::{
    HsmError, KeyAlgorithm as HsmAlgorithm, KeyGenSpec, KeyPair, Module, ObjectClass, ObjectFilter,
    Session, Token, UserKind,
};
use keyceremony_log::{
    Actor, CEREMONY_KEY_SIGNER, EventKind, LogWriter, Seal, SealOutcome, SealSignature,
    seal_statement,
};
use keyceremony_script::{
    Act, Action, KeyAlgorithm, LoadedScript, Participant, Role, Secret, Step,
};
use keyceremony_shares::{self as shares, Expected, Share, ShareError};
use keyceremony_x509::{
    self as x509, CertificateSummary, DistinguishedName, RootCertificateRequest,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::activation::{self, kind, with_pin};
use crate::operator::{InputError, Notice, Operator, ShareShown, Verdict};
use crate::outputs::{self, OutDir, Written};
use crate::resume::{self, Interrupted};
use crate::{EngineError, Settings, files};

/// What a finished ceremony produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub out_dir: std::path::PathBuf,
    pub log_entries: u64,
    /// Hex SHA-256 of the last log line.
    pub log_head: String,
    /// (key label, certificate SHA-256 in upper-case hex) for each root.
    pub certificates: Vec<(String, String)>,
    /// The verified copy of the sealed log (CPS 5.4.5).
    pub backup: std::path::PathBuf,
}

/// Refuses, before anything is written, a token the script cannot use.
pub(crate) fn check_token(
    module: &Module,
    script: &keyceremony_script::Script,
) -> Result<(), EngineError> {
    let label = &script.hsm.token_label;
    if script.hsm.initialize {
        match module.token_by_label(label) {
            Ok(_) => {
                return Err(EngineError::Refused(format!(
                    "a token labelled '{label}' is already initialised; the script would initialise it again and destroy its keys. Use a new token, or set hsm.initialize = false to work on the existing one"
                )));
            }
            Err(HsmError::TokenNotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        free_token(module, script)?;
    } else {
        let token = module.token_by_label(label)?;
        let session = token.open_session()?;
        for key in &script.keys {
            refuse_existing_label(&session, &key.label)?;
        }
    }
    Ok(())
}

/// The witness's own token signs the seal at the end (CPS 6.1.1): it must be
/// connected before the ceremony starts, not found missing after the keys
/// exist.
pub(crate) fn check_witness_token(
    module: &Module,
    script: &keyceremony_script::Script,
) -> Result<(), EngineError> {
    let log = &script.log;
    let witness_module = match &log.witness_module {
        Some(path) => Module::load(path)?,
        None => module.clone(),
    };
    match witness_module.token_by_label(&log.witness_token) {
        Ok(token) => {
            // The key's public half (or its certificate) carries its label
            // and is visible without the witness's PIN.
            let session = token.open_session()?;
            let found = session.find_objects(&ObjectFilter::label(log.witness_key.clone()));
            session.close()?;
            if found?.is_empty() {
                return Err(EngineError::Refused(format!(
                    "the witness's token '{}' shows no object labelled '{}', the key the script names to sign the log's seal: check log.witness_key against the token (pkcs11-tool --list-objects)",
                    log.witness_token, log.witness_key
                )));
            }
            Ok(())
        }
        Err(HsmError::TokenNotFound { available, .. }) => Err(EngineError::Refused(format!(
            "the witness's own token '{}' is not connected (present: {}): the Qualified Auditor connects it before the ceremony starts, to sign the log's seal (CPS 6.1.1)",
            log.witness_token,
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        ))),
        Err(e) => Err(e.into()),
    }
}

fn free_token(module: &Module, script: &keyceremony_script::Script) -> Result<Token, EngineError> {
    let token = match &script.hsm.token_serial {
        Some(serial) => module.token_by_serial(serial)?,
        None => module.uninitialized_token()?,
    };
    if token.info()?.flags.initialized {
        return Err(EngineError::Refused(format!(
            "the token with serial {} is already initialised; the ceremony initialises a new token only",
            token.info()?.serial
        )));
    }
    Ok(token)
}

fn refuse_existing_label(session: &Session, label: &str) -> Result<(), EngineError> {
    let found = session.find_objects(&ObjectFilter::label(label))?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Refused(format!(
            "the token already holds {} object(s) labelled '{label}': a key label is never reused (CPS 6.3.2); choose a new label in the script",
            found.len()
        )))
    }
}

struct GeneratedKey {
    pair: KeyPair,
    spki: Vec<u8>,
}

/// The key that signs the log's seal.
struct LogKey {
    pair: KeyPair,
    spki: Vec<u8>,
    uri: String,
}

/// DER Ecdsa-Sig-Value from the raw r || s a PKCS#11 token returns.
fn der_signature(raw: &[u8]) -> Result<Vec<u8>, EngineError> {
    let signature = p384::ecdsa::Signature::from_slice(raw).map_err(|_| {
        EngineError::Refused(format!(
            "the token returned a {}-byte ECDSA signature, not a P-384 r || s",
            raw.len()
        ))
    })?;
    Ok(signature.to_der().as_bytes().to_vec())
}

/// Shares entered by the custodians who came forward, in the same order.
struct Entered {
    custodians: Vec<String>,
    shares: Vec<Share>,
}

struct SignedCertificate {
    der: Vec<u8>,
    summary: CertificateSummary,
}

pub(crate) struct Runner {
    script: LoadedScript,
    settings: Settings,
    module: Module,
    out: OutDir,
    log: LogWriter,
    session: Option<Session>,
    keys: BTreeMap<String, GeneratedKey>,
    certificates: BTreeMap<String, SignedCertificate>,
    /// Participants the witness has checked in (CPS 5.2.3).
    checked_in: Vec<String>,
    /// The splits this ceremony made, so that a share of another split is
    /// refused by name.
    issued: BTreeMap<Secret, String>,
    /// Exception sheets recorded so far.
    exceptions: u32,
    log_key_recorded: bool,
    /// Head hash of the sealed log, once sealed.
    sealed: Option<[u8; 32]>,
    /// What an interrupted run left: keys and certificates to take up again
    /// at the next login, key generations to look for on the token.
    recovery: Option<Interrupted>,
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

impl Runner {
    /// Creates the output folder and the log, and records the start.
    pub(crate) fn start(
        script: LoadedScript,
        settings: Settings,
        module: Module,
        network: crate::Network,
    ) -> Result<Runner, EngineError> {
        let out = OutDir::create(&settings.out_dir)?;
        let log = LogWriter::create(&out.path(files::LOG))?;
        let mut runner = Runner::new(script, settings, module, out, log);
        runner.record_start(&network)?;
        Ok(runner)
    }

    /// A runner with nothing done yet in this process.
    fn new(
        script: LoadedScript,
        settings: Settings,
        module: Module,
        out: OutDir,
        log: LogWriter,
    ) -> Runner {
        Runner {
            script,
            settings,
            module,
            out,
            log,
            session: None,
            keys: BTreeMap::new(),
            certificates: BTreeMap::new(),
            checked_in: Vec::new(),
            issued: BTreeMap::new(),
            exceptions: 0,
            log_key_recorded: false,
            sealed: None,
            recovery: None,
        }
    }

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
    fn restore_keys(&mut self, step: &Step) -> Result<(), EngineError> {
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
            let spki = session.public_key_spki_der(&pair)?;
            if let Some(der) = recovery.certificates.get(label) {
                let summary = x509::verify_root(der, &spki)?;
                self.certificates.insert(
                    label.clone(),
                    SignedCertificate {
                        der: der.clone(),
                        summary,
                    },
                );
            }
            self.keys.insert(label.clone(), GeneratedKey { pair, spki });
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
        let backup = self.backup()?;
        Ok(Outcome {
            out_dir: self.out.root().to_path_buf(),
            log_entries: self.log.len(),
            log_head: hex::encode(head),
            certificates: Vec::new(),
            backup,
        })
    }

    fn tool_record(
        &mut self,
        step: Option<&str>,
        kind: EventKind,
        description: String,
        data: Value,
    ) -> Result<(), EngineError> {
        self.log
            .append(&Actor::tool(), step, kind, description, data)?;
        Ok(())
    }

    fn person_record(
        &mut self,
        who: &Participant,
        role: Role,
        step: Option<&str>,
        kind: EventKind,
        description: String,
        data: Value,
    ) -> Result<(), EngineError> {
        self.log.append(
            &Actor::new(&who.id, role.as_str()),
            step,
            kind,
            description,
            data,
        )?;
        Ok(())
    }

    fn record_start(&mut self, network: &crate::Network) -> Result<(), EngineError> {
        let s = &self.script.script;
        let data = json!({
            "ceremony_id": s.ceremony.id,
            "ceremony_name": s.ceremony.name,
            "script_path": self.script.path.display().to_string(),
            "script_sha256": self.script.sha256_hex(),
            "rehearsal": self.settings.rehearsal,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "module_path": self.module.path().display().to_string(),
            "token_label": s.hsm.token_label,
        });
        let banner = if self.settings.rehearsal {
            "REHEARSAL: "
        } else {
            ""
        };
        let description = format!("{banner}ceremony '{}' starts", s.ceremony.name);
        self.tool_record(None, EventKind::CeremonyStart, description, data)?;
        let info = self.module.info()?;
        let mut environment =
            crate::environment::attestation(self.module.path(), &network.interfaces);
        environment["script_sha256"] = json!(self.script.sha256_hex());
        environment["module_manufacturer"] = json!(info.manufacturer);
        environment["module_description"] = json!(info.library_description);
        environment["module_version"] = json!(info.library_version);
        environment["cryptoki_version"] = json!(info.cryptoki_version);
        environment["tokens"] = json!(
            self.module
                .tokens()?
                .iter()
                .map(|t| json!({
                    "label": t.label, "manufacturer": t.manufacturer, "model": t.model,
                    "serial": t.serial, "firmware_version": t.firmware_version,
                    "hardware_version": t.hardware_version, "initialized": t.flags.initialized,
                }))
                .collect::<Vec<_>>()
        );
        self.tool_record(
            None,
            EventKind::Environment,
            format!(
                "environment: keyceremony {} on {}",
                env!("CARGO_PKG_VERSION"),
                environment["hostname"].as_str().unwrap_or("unknown host")
            ),
            environment,
        )?;
        if !network.interfaces.is_empty() {
            let up = network.interfaces.join(", ");
            match &network.explanation {
                Some(explanation) => {
                    let witness = self.participant(&self.script.script.log.witness)?;
                    self.person_record(
                        &witness,
                        Role::QualifiedAuditor,
                        None,
                        EventKind::Recorded,
                        format!("network interfaces up ({up}): {explanation}"),
                        json!({ "network_interfaces_up": network.interfaces, "explanation": explanation }),
                    )?;
                }
                None => self.tool_record(
                    None,
                    EventKind::Environment,
                    format!("REHEARSAL WARNING: network interfaces up ({up}); a production ceremony would not start until the witness explains them (CPS 6.7)"),
                    json!({ "network_interfaces_up": network.interfaces, "warning": true }),
                )?,
            }
        }
        let copy = self
            .out
            .write_new(files::SCRIPT_COPY, self.script.text.as_bytes())?;
        self.record_file(None, &copy)
    }

    fn record_file(&mut self, step: Option<&str>, written: &Written) -> Result<(), EngineError> {
        let sha = hex_upper(&written.sha256);
        self.tool_record(
            step,
            EventKind::FileWritten,
            format!("wrote {}", written.relative),
            json!({ "path": written.relative, "sha256": sha }),
        )
    }

    /// Runs every step not in `completed` (the steps an interrupted run
    /// finished), in script order.
    pub(crate) fn run(
        mut self,
        operator: &mut dyn Operator,
        completed: &[String],
    ) -> Result<Outcome, EngineError> {
        let steps: Vec<(Act, Step)> = self
            .script
            .script
            .steps()
            .filter(|(_, s)| !completed.contains(&s.id))
            .map(|(a, s)| (a.clone(), s.clone()))
            .collect();
        for (act, step) in &steps {
            let result = self
                .check_stop(step, "before the beginning")
                .and_then(|()| self.step(operator, act, step));
            if let Err(error) = result {
                self.stop(&step.id, &error);
                return Err(error);
            }
        }
        let certificates: Vec<(String, String)> = self
            .certificates
            .iter()
            .map(|(label, c)| (label.clone(), hex_upper(&c.summary.sha256)))
            .collect();
        let head = self.sealed.ok_or_else(|| {
            EngineError::Refused("the script ended without sealing its log".to_string())
        })?;
        let backup = self.backup()?;
        Ok(Outcome {
            out_dir: self.out.root().to_path_buf(),
            log_entries: self.log.len(),
            log_head: hex::encode(head),
            certificates,
            backup,
        })
    }

    /// CPS 5.4.5: a copy of the sealed log on removable media, read back and
    /// verified before the operators put the media away.
    fn backup(&self) -> Result<std::path::PathBuf, EngineError> {
        let root = self
            .settings
            .backup
            .clone()
            .unwrap_or_else(|| self.script.script.log.backup.clone());
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let folder = root.join(format!("{}-{stamp}", self.script.script.ceremony.id));
        let original = self.out.path(files::LOG);
        let bytes = std::fs::read(&original).map_err(|source| outputs::OutputError::Io {
            path: original.clone(),
            source,
        })?;
        let copy = OutDir::create(&folder)?.write_private(files::LOG, &bytes)?;
        let report = keyceremony_log::verify::verify_path(&copy.path, &Default::default());
        let reread = std::fs::read(&copy.path).map_err(|source| outputs::OutputError::Io {
            path: copy.path.clone(),
            source,
        })?;
        let sealed = matches!(
            report.status,
            keyceremony_log::verify::Status::Sealed | keyceremony_log::verify::Status::Aborted
        );
        if !sealed || reread != bytes {
            return Err(EngineError::Refused(format!(
                "the backup copy {} does not verify ({}); copy {} to new media by hand and check it with keyceremony verify-log",
                copy.path.display(),
                report.status,
                original.display()
            )));
        }
        Ok(copy.path)
    }

    /// Records why the ceremony stopped and deactivates the token.
    fn stop(&mut self, step: &str, error: &EngineError) {
        // A signal that came while the engine waited for the room is why it
        // stops, whatever the question's failure says (the TUI stops asking
        // on a signal, and its open question fails as an abort).
        let signal = self.settings.stop.requested();
        let kind = match error {
            EngineError::Input(InputError::Aborted { .. }) if signal.is_none() => EventKind::Abort,
            _ => EventKind::Error,
        };
        let description = match &signal {
            Some(signal) if !matches!(error, EngineError::Interrupted { .. }) => {
                format!("the ceremony stopped: interrupted by {signal} in step {step} ({error})")
            }
            _ => format!("the ceremony stopped: {error}"),
        };
        let mut data = json!({ "error": error.to_string() });
        if let Some(signal) = signal {
            data["interrupted_by"] = json!(signal);
        }
        let _ = self.tool_record(Some(step), kind, description, data);
        if let Some(session) = self.session.take() {
            let closed = session.close().is_ok();
            let _ = self.tool_record(
                Some(step),
                EventKind::HsmSessionClose,
                "HSM session closed after the error".to_string(),
                json!({ "clean": closed }),
            );
        }
    }

    /// A safe point: nothing is half done here, so a stop that a signal
    /// asked for ([`crate::Stop`]) happens here.
    fn check_stop(&self, step: &Step, at: &'static str) -> Result<(), EngineError> {
        match self.settings.stop.requested() {
            None => Ok(()),
            Some(signal) => Err(EngineError::Interrupted {
                signal,
                step: step.id.clone(),
                at,
            }),
        }
    }

    fn participant(&self, id: &str) -> Result<Participant, EngineError> {
        self.script
            .script
            .participant(id)
            .cloned()
            .ok_or_else(|| EngineError::Refused(format!("'{id}' is not a participant")))
    }

    fn step(
        &mut self,
        operator: &mut dyn Operator,
        act: &Act,
        step: &Step,
    ) -> Result<(), EngineError> {
        let performer = self.participant(&step.performer)?;
        let witness = self.participant(&step.witness)?;
        let performer_role = acting_role(&performer);
        let witness_role = acting_role(&witness);
        operator.notify(&Notice::StepBegin {
            act: act.id.clone(),
            step: step.id.clone(),
            title: step.title.clone(),
            performer: performer.name.clone(),
            witness: witness.name.clone(),
        });
        self.person_record(
            &performer,
            performer_role,
            Some(&step.id),
            EventKind::StepBegin,
            format!("step {} begins: {}", step.id, step.title),
            json!({
                "act": act.id,
                "title": step.title,
                "performer": performer.id,
                "witness": witness.id,
                "action": step.action.name(),
            }),
        )?;
        match &step.action {
            Action::Manual => {}
            Action::CheckIn => self.check_in(operator, step, &witness)?,
            Action::ClockCheck => self.clock_check(operator, step, &witness)?,
            Action::InitToken => self.init_token(operator, step)?,
            Action::Login => self.login(operator, step)?,
            Action::GenerateKey { key } => self.generate_key(operator, step, key)?,
            Action::SelfSign { certificate } => self.self_sign(operator, step, certificate)?,
            Action::Export { certificate } => self.export(operator, step, certificate)?,
            Action::Logout => self.logout(step)?,
            Action::SealLog => return self.seal(operator, step, SealOutcome::Completed),
        }
        for field in &step.record {
            let value = operator.record(step, field)?;
            self.person_record(
                &performer,
                performer_role,
                Some(&step.id),
                EventKind::Recorded,
                format!("{}: {value}", field.label),
                json!({ "field": field.name, "label": field.label, "value": value }),
            )?;
        }
        for exception in operator.exceptions(step, &witness)? {
            self.exception(operator, step, &performer, &witness, exception)?;
        }
        match operator.witness(step, &witness)? {
            Verdict::Confirmed => self.person_record(
                &witness,
                witness_role,
                Some(&step.id),
                EventKind::WitnessConfirmed,
                format!(
                    "{} confirms step {} was performed as scripted",
                    witness.name, step.id
                ),
                json!({}),
            )?,
            Verdict::Refused { remark } => {
                self.person_record(
                    &witness,
                    witness_role,
                    Some(&step.id),
                    EventKind::WitnessRefused,
                    format!("{} refuses step {}: {remark}", witness.name, step.id),
                    json!({ "remark": remark }),
                )?;
                return Err(EngineError::Step {
                    step: step.id.clone(),
                    message: format!("the witness {} refused the step: {remark}", witness.name),
                });
            }
        }
        self.person_record(
            &performer,
            performer_role,
            Some(&step.id),
            EventKind::StepEnd,
            format!("step {} ends", step.id),
            json!({}),
        )
    }

    /// CPS 5.5.5: the record's time stamps are only as good as the clock.
    fn clock_check(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
    ) -> Result<(), EngineError> {
        let system = Utc::now();
        let reference = operator.reference_time(step, witness, system)?;
        let difference_ms = (system - reference).num_milliseconds();
        let stamp =
            |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.person_record(
            witness,
            acting_role(witness),
            Some(&step.id),
            EventKind::ClockCheck,
            format!(
                "clock check: system {}, reference {}, system minus reference {:.3} s",
                stamp(system),
                stamp(reference),
                difference_ms as f64 / 1000.0
            ),
            json!({
                "system_time": stamp(system),
                "reference_time": stamp(reference),
                "difference_ms": difference_ms,
            }),
        )?;
        operator.notify(&Notice::ClockChecked { difference_ms });
        Ok(())
    }

    /// A numbered exception sheet: the deviation, and the witness's word.
    fn exception(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        performer: &Participant,
        witness: &Participant,
        report: crate::operator::ExceptionReport,
    ) -> Result<(), EngineError> {
        self.exceptions += 1;
        let number = self.exceptions;
        self.person_record(
            performer,
            acting_role(performer),
            Some(&step.id),
            EventKind::Exception,
            format!("exception {number}: {}", report.description),
            json!({
                "number": number,
                "description": report.description,
                "accepted": report.accepted,
                "witness": witness.id,
                "remark": report.remark,
            }),
        )?;
        operator.notify(&Notice::Exception {
            number,
            description: report.description.clone(),
        });
        if report.accepted {
            Ok(())
        } else {
            Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the witness {} did not accept exception {number} ({}): {}",
                    witness.name, report.description, report.remark
                ),
            })
        }
    }

    fn check_in(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
    ) -> Result<(), EngineError> {
        let participants = self.script.script.participants.clone();
        for p in &participants {
            let identity = operator.check_in(step, p, witness)?;
            let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
            self.person_record(
                witness,
                acting_role(witness),
                Some(&step.id),
                EventKind::CheckIn,
                format!(
                    "{} checked in as {}; identity confirmed by {} ({})",
                    p.name,
                    roles.join(", "),
                    witness.name,
                    identity.document
                ),
                json!({ "participant": p.id, "name": p.name, "roles": roles, "document": identity.document }),
            )?;
            self.checked_in.push(p.id.clone());
        }
        Ok(())
    }

    /// What a login of `secret` expects of each share.
    fn expected(&self, secret: Secret) -> Expected {
        let activation = &self.script.script.activation;
        let ceremony = activation
            .shares_from
            .as_deref()
            .unwrap_or(&self.script.script.ceremony.id);
        Expected {
            kind: kind(secret),
            ceremony_tag: shares::ceremony_tag(ceremony),
            nonce: self.issued.get(&secret).cloned(),
            threshold: activation.quorum(secret).threshold as u8,
        }
    }

    /// Records a refused entry or login and stops at the script's limit
    /// (CPS 5.4.1 3.1; tokens such as SoftHSM2 never lock by themselves).
    fn count_failure(
        &mut self,
        step: &Step,
        failures: &mut u32,
        what: &str,
    ) -> Result<(), EngineError> {
        *failures += 1;
        let limit = self.script.script.hsm.max_failed_logins;
        if *failures >= limit {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "{failures} failed activation attempts in this step, the limit the script sets ({what}); the ceremony stops so that the token is not locked out (CPS 5.4.1)"
                ),
            });
        }
        Ok(())
    }

    /// Asks the custodians who come forward for their shares of `secret`
    /// and checks each one before any PKCS#11 call.
    fn collect_shares(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        secret: Secret,
        failures: &mut u32,
    ) -> Result<Entered, EngineError> {
        let quorum = self.script.script.activation.quorum(secret).clone();
        let threshold = quorum.threshold as usize;
        let eligible: Vec<Participant> = quorum
            .custodians
            .iter()
            .filter_map(|id| self.script.script.participant(id).cloned())
            .collect();
        let chosen = operator.choose_custodians(step, secret, &eligible, threshold)?;
        let refuse = |message: String| EngineError::Step {
            step: step.id.clone(),
            message,
        };
        if chosen.len() != threshold {
            return Err(refuse(format!(
                "{} custodian(s) came forward for the {}; exactly {threshold} are needed",
                chosen.len(),
                secret.as_str()
            )));
        }
        for (i, id) in chosen.iter().enumerate() {
            if chosen[..i].contains(id) {
                return Err(refuse(format!(
                    "custodian '{id}' came forward twice: each share must come from a different person (CPS 6.4.2)"
                )));
            }
            if !quorum.custodians.contains(id) {
                return Err(refuse(format!(
                    "'{id}' holds no share of the {}",
                    secret.as_str()
                )));
            }
            if !self.checked_in.contains(id) {
                return Err(refuse(format!(
                    "custodian '{id}' has not checked in: every participant checks in before the HSM is used (CPS 5.2.3)"
                )));
            }
        }
        let expected = self.expected(secret);
        let mut entered: Vec<Share> = Vec::new();
        for id in &chosen {
            let custodian = self.participant(id)?;
            loop {
                let text = operator.share(step, &custodian, secret)?;
                // Parsed (checksums), then checked against the shares already
                // entered (ceremony, secret, split, duplicates); k are not
                // needed yet.
                let checked = shares::Share::parse(secrecy::ExposeSecret::expose_secret(&text))
                    .and_then(|share| {
                        let mut candidate = entered.clone();
                        candidate.push(share.clone());
                        match shares::check(&candidate, &expected) {
                            Ok(()) | Err(ShareError::NotEnough { .. }) => Ok(share),
                            Err(error) => Err(error),
                        }
                    });
                let share = match checked {
                    Ok(share) => share,
                    Err(error) => {
                        self.reject_share(
                            operator,
                            step,
                            &custodian,
                            &error.to_string(),
                            failures,
                        )?;
                        continue;
                    }
                };
                self.person_record(
                    &custodian,
                    Role::Custodian,
                    Some(&step.id),
                    EventKind::ShareEntered,
                    format!(
                        "{} entered share {} of the {} (set {})",
                        custodian.name,
                        share.number(),
                        secret.as_str(),
                        share.set()
                    ),
                    json!({
                        "custodian": custodian.id,
                        "secret": secret.as_str(),
                        "number": share.number(),
                        "set": share.set().to_string(),
                    }),
                )?;
                entered.push(share);
                break;
            }
        }
        Ok(Entered {
            custodians: chosen,
            shares: entered,
        })
    }

    fn reject_share(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodian: &Participant,
        reason: &str,
        failures: &mut u32,
    ) -> Result<(), EngineError> {
        self.person_record(
            custodian,
            Role::Custodian,
            Some(&step.id),
            EventKind::ShareRejected,
            format!("share entered by {} refused: {reason}", custodian.name),
            json!({ "custodian": custodian.id, "reason": reason }),
        )?;
        let limit = self.script.script.hsm.max_failed_logins;
        operator.notify(&Notice::ShareRejected {
            custodian: custodian.name.clone(),
            reason: reason.to_string(),
            failures: *failures + 1,
            limit,
        });
        self.count_failure(
            step,
            failures,
            &format!("last: {}'s share, {reason}", custodian.name),
        )
    }

    fn open_session(&mut self, token: &Token, step: &Step) -> Result<Session, EngineError> {
        let session = token.open_session()?;
        self.tool_record(
            Some(&step.id),
            EventKind::HsmSessionOpen,
            format!(
                "HSM session opened on token '{}'",
                self.script.script.hsm.token_label
            ),
            json!({}),
        )?;
        Ok(session)
    }

    fn close_session(&mut self, session: Session, step: &Step) -> Result<(), EngineError> {
        session.close()?;
        self.tool_record(
            Some(&step.id),
            EventKind::HsmSessionClose,
            "HSM session closed".to_string(),
            json!({}),
        )
    }

    /// C_InitToken, then both PINs from the token's generator, split among
    /// their custodians (CPS 6.1.1 item 2, 6.4.1).
    fn init_token(&mut self, operator: &mut dyn Operator, step: &Step) -> Result<(), EngineError> {
        let script = self.script.script.clone();
        let label = script.hsm.token_label.clone();
        if self.recovery.as_ref().is_some_and(|r| r.token_ready) {
            // Interrupted after every share was handed out and bagged, before
            // the witness confirmed: initialising again would need a second
            // token and a second set of shares.
            return self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "token '{label}' was initialised and every share handed out before the interruption; it is taken up, not initialised again"
                ),
                json!({ "token": label, "taken_up": true }),
            );
        }
        let token = free_token(&self.module, &script)?;
        let before = token.info()?;
        self.tool_record(
            Some(&step.id),
            EventKind::TokenInitRequested,
            format!("initialising token serial {} as '{label}'", before.serial),
            json!({ "slot": before.slot_id, "serial": before.serial, "label": label }),
        )?;
        let transient = activation::transient_pin()?;
        let token = token.initialize(&transient, &label)?;
        let session = self.open_session(&token, step)?;
        session.login(UserKind::SecurityOfficer, &transient)?;
        let random = zeroize::Zeroizing::new(session.random(2 * activation::SECRET_BYTES + 32)?);
        let so_secret = activation::secret_from(&random[..activation::SECRET_BYTES]);
        let user_secret = activation::secret_from(&random[activation::SECRET_BYTES..]);
        let seed_random = &random[2 * activation::SECRET_BYTES..];
        let mut splits = BTreeMap::new();
        for (secret, value) in [(Secret::SoPin, &so_secret), (Secret::UserPin, &user_secret)] {
            let quorum = script.activation.quorum(secret);
            let split = shares::split(
                kind(secret),
                &script.ceremony.id,
                value,
                quorum.threshold as u8,
                quorum.custodians.len() as u8,
                activation::seed(seed_random, secret.as_str())?,
            )
            .map_err(|e| EngineError::Step {
                step: step.id.clone(),
                message: format!("cannot split the {}: {e}", secret.as_str()),
            })?;
            splits.insert(secret, split);
        }
        session.set_pin(&transient, &shares::pin(&so_secret))?;
        session.init_user_pin(&shares::pin(&user_secret))?;
        session.logout()?;
        session.login(UserKind::User, &shares::pin(&user_secret))?;
        drop((so_secret, user_secret, transient));
        let log_key = self.generate_log_key(operator, step, &session);
        session.logout()?;
        self.close_session(session, step)?;
        let log_key = log_key?;
        let info = token.info()?;
        let uri = token.uri()?.to_string();
        let nonces: BTreeMap<&str, String> = splits
            .iter()
            .map(|(secret, split)| (secret.as_str(), split.set.nonce.clone()))
            .collect();
        let sets: BTreeMap<&str, String> = splits
            .iter()
            .map(|(secret, split)| (secret.as_str(), split.set.to_string()))
            .collect();
        self.tool_record(
            Some(&step.id),
            EventKind::TokenInitialized,
            format!(
                "token '{label}' initialised; its SO PIN and user PIN come from the token's random generator and exist only as shares"
            ),
            json!({
                "uri": uri,
                "manufacturer": info.manufacturer,
                "model": info.model,
                "serial": info.serial,
                "firmware_version": info.firmware_version,
                "hardware_version": info.hardware_version,
                "share_sets": sets,
                "share_nonces": nonces,
            }),
        )?;
        self.record_log_key(step, &log_key)?;
        for (secret, split) in &splits {
            self.issued.insert(*secret, split.set.nonce.clone());
        }
        self.distribute(operator, step, splits)
    }

    /// Gives each custodian their shares, alone, and records the bags they
    /// are sealed in. A headless rehearsal writes them to its share files.
    fn distribute(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        splits: BTreeMap<Secret, shares::Split>,
    ) -> Result<(), EngineError> {
        let roster: Vec<Participant> = self.script.script.participants.clone();
        for custodian in &roster {
            let mut file_lines = String::new();
            for (secret, split) in &splits {
                let Some(index) = self
                    .script
                    .script
                    .activation
                    .quorum(*secret)
                    .custodians
                    .iter()
                    .position(|id| id == &custodian.id)
                else {
                    continue;
                };
                let share = &split.shares[index];
                if operator.show_share(step, custodian, share)? == ShareShown::NoScreen {
                    if !self.settings.rehearsal {
                        return Err(EngineError::Refused(
                            "a production ceremony never writes a share to a file (CPS 6.4.2)"
                                .to_string(),
                        ));
                    }
                    file_lines.push_str(&format!(
                        "{} = \"{}\"\n",
                        secret.as_str(),
                        secrecy::ExposeSecret::expose_secret(&share.to_text())
                    ));
                }
                let bag = operator.share_bag(step, custodian, *secret, share.number())?;
                self.person_record(
                    custodian,
                    Role::Custodian,
                    Some(&step.id),
                    EventKind::ShareIssued,
                    format!(
                        "{} received share {} of {} of the {} and sealed it in bag {bag}",
                        custodian.name,
                        share.number(),
                        split.set.count,
                        secret.as_str()
                    ),
                    json!({
                        "custodian": custodian.id,
                        "secret": secret.as_str(),
                        "number": share.number(),
                        "set": split.set.to_string(),
                        "bag": bag,
                    }),
                )?;
            }
            if !file_lines.is_empty() {
                self.write_rehearsal_shares(step, custodian, file_lines)?;
            }
        }
        Ok(())
    }

    fn write_rehearsal_shares(
        &mut self,
        step: &Step,
        custodian: &Participant,
        lines: String,
    ) -> Result<(), EngineError> {
        let body = zeroize::Zeroizing::new(format!(
            "# REHEARSAL ONLY: {}'s shares from ceremony '{}'.\n# A production ceremony never writes a share to disk (CPS 6.4.2).\n{lines}",
            custodian.name, self.script.script.ceremony.id
        ));
        drop(lines);
        let relative = files::rehearsal_share(&custodian.id);
        self.out.write_private(&relative, body.as_bytes())?;
        self.tool_record(
            Some(&step.id),
            EventKind::FileWritten,
            format!("REHEARSAL: wrote {}'s shares to {relative}", custodian.name),
            json!({ "path": relative, "rehearsal_shares": true }),
        )
    }

    /// Activates the token: k custodians' shares rebuild the user PIN for
    /// one C_Login (CPS 6.2.8).
    fn login(&mut self, operator: &mut dyn Operator, step: &Step) -> Result<(), EngineError> {
        let label = self.script.script.hsm.token_label.clone();
        let mut failures = 0;
        loop {
            let entered = self.collect_shares(operator, step, Secret::UserPin, &mut failures)?;
            let token = self.module.token_by_label(&label)?;
            refuse_pin_lockout(&token, step)?;
            let session = self.open_session(&token, step)?;
            let expected = self.expected(Secret::UserPin);
            let result = with_pin(&entered.shares, &expected, |pin| {
                session.login(UserKind::User, pin)
            })
            .map_err(|e| EngineError::Step {
                step: step.id.clone(),
                message: e.to_string(),
            })?;
            let custodians = entered.custodians;
            match result {
                Ok(()) => {
                    self.tool_record(
                        Some(&step.id),
                        EventKind::LoginSucceeded,
                        format!(
                            "logged in to token '{label}' with the user PIN rebuilt from the shares of {}",
                            custodians.join(" and ")
                        ),
                        json!({ "custodians": custodians, "context_specific": false }),
                    )?;
                    self.session = Some(session);
                    return self.restore_keys(step);
                }
                Err(HsmError::PinIncorrect) => {
                    self.close_session(session, step)?;
                    self.login_failed(operator, step, &custodians, &mut failures)?;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    fn login_failed(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodians: &[String],
        failures: &mut u32,
    ) -> Result<(), EngineError> {
        let limit = self.script.script.hsm.max_failed_logins;
        self.tool_record(
            Some(&step.id),
            EventKind::LoginFailed,
            format!(
                "login failed: the token refused the PIN rebuilt from the shares of {}",
                custodians.join(" and ")
            ),
            json!({ "custodians": custodians, "attempt": *failures + 1, "limit": limit }),
        )?;
        operator.notify(&Notice::LoginFailed {
            failures: *failures + 1,
            limit,
            reason: "the token refused the PIN rebuilt from the shares entered; the custodians enter their shares again".to_string(),
        });
        self.count_failure(step, failures, "the token refused the rebuilt PIN")
    }

    /// The P-384 key that signs the log's seal, made with the token while
    /// its PINs are still whole, so it is under the same dual control.
    fn generate_log_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
    ) -> Result<LogKey, EngineError> {
        let label = self.script.script.log.signing_key.clone();
        refuse_existing_label(session, &label)?;
        let id = session.random(16)?;
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerationRequested,
            format!("generating the ECC P-384 log-signing key '{label}' inside the HSM"),
            json!({ "label": label, "id": hex::encode(&id), "algorithm": "ECC P-384", "purpose": "log-signing" }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("generating the log-signing key '{label}'"),
        });
        let pair = session.generate_key_pair(&KeyGenSpec {
            algorithm: HsmAlgorithm::EcP384,
            label: label.clone(),
            id: id.clone(),
            always_authenticate: false,
        })?;
        let problems = session.private_key_attributes(&pair)?.problems(false);
        if !problems.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the log-signing key has unsafe attributes: {}",
                    problems.join("; ")
                ),
            });
        }
        let spki = session.public_key_spki_der(&pair)?;
        let uri = self.key_uri(&label, &id)?;
        Ok(LogKey { pair, spki, uri })
    }

    fn record_log_key(&mut self, step: &Step, key: &LogKey) -> Result<(), EngineError> {
        let data = keyceremony_log::log_signing_key_data(&key.spki, &key.uri)?;
        self.tool_record(
            Some(&step.id),
            EventKind::LogSigningKey,
            format!(
                "log-signing key '{}' is on the token; it signs this log's seal",
                key.pair.label
            ),
            data,
        )?;
        self.log_key_recorded = true;
        Ok(())
    }

    /// Closes the log (CPS 5.4.1, 6.1.1): the custodians activate the token
    /// once more, the log-signing key and the witness's own token sign the
    /// seal statement, and a verified copy goes to the backup media (CPS 5.4.5).
    fn seal(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        outcome: SealOutcome,
    ) -> Result<(), EngineError> {
        let settings = self.script.script.log.clone();
        let witness = self.participant(&settings.witness)?;
        self.login(operator, step)?;
        let session = self.session.take().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "the login to sign the seal did not leave a session".to_string(),
        })?;
        let log_key = self.find_key(&session, &settings.signing_key)?;
        if !self.log_key_recorded {
            let spki = session.public_key_spki_der(&log_key)?;
            let uri = self.key_uri(&settings.signing_key, &log_key.id)?;
            self.record_log_key(
                step,
                &LogKey {
                    pair: log_key.clone(),
                    spki,
                    uri,
                },
            )?;
        }
        let ceremony_spki = session.public_key_spki_der(&log_key)?;
        let ceremony_uri = self.key_uri(&settings.signing_key, &log_key.id)?;

        let witness_module = match &settings.witness_module {
            Some(path) => Module::load(path)?,
            None => self.module.clone(),
        };
        let witness_token = witness_module.token_by_label(&settings.witness_token)?;
        let witness_session = witness_token.open_session()?;
        let pin = operator.witness_token_pin(&witness, &settings.witness_token)?;
        witness_session.login(UserKind::User, &pin)?;
        let witness_key = self.find_key(&witness_session, &settings.witness_key)?;
        let witness_spki = witness_session.public_key_spki_der(&witness_key)?;
        let mut witness_uri = witness_token.uri()?;
        witness_uri.object = Some(settings.witness_key.clone());
        witness_uri.id = Some(witness_key.id.clone());
        self.person_record(
            &witness,
            Role::QualifiedAuditor,
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "{} opened their own token '{}' to sign the seal",
                witness.name, settings.witness_token
            ),
            json!({
                "witness_key_uri": witness_uri.to_string(),
                "witness_public_key_sha256": hex_upper(&Sha256::digest(&witness_spki)),
            }),
        )?;
        if outcome == SealOutcome::Completed {
            let certificates: Vec<(String, String)> = self
                .certificates
                .iter()
                .map(|(label, c)| (label.clone(), hex_upper(&c.summary.sha256)))
                .collect();
            self.tool_record(
                Some(&step.id),
                EventKind::CeremonyEnd,
                format!(
                    "ceremony '{}' completed; the log is sealed next",
                    self.script.script.ceremony.name
                ),
                json!({ "certificates": certificates, "exceptions": self.exceptions }),
            )?;
        }

        let entries = self.log.len();
        let head = self.log.head();
        let statement = seal_statement(
            &self.script.script.ceremony.id,
            outcome,
            entries,
            &head,
            &witness.id,
            &witness_uri.to_string(),
        );
        let ceremony_signature =
            der_signature(&session.sign_sha384(&log_key, statement.as_bytes(), None)?)?;
        let witness_signature = der_signature(&witness_session.sign_sha384(
            &witness_key,
            statement.as_bytes(),
            Some(&pin),
        )?)?;
        drop(pin);
        let seal = Seal {
            outcome,
            entries,
            head: hex::encode(head),
            statement,
            ceremony_key: SealSignature::new(
                CEREMONY_KEY_SIGNER,
                ceremony_uri,
                &ceremony_spki,
                &ceremony_signature,
            )?,
            witness_key: SealSignature::new(
                witness.id.clone(),
                witness_uri.to_string(),
                &witness_spki,
                &witness_signature,
            )?,
        };
        self.log
            .seal(&Actor::new(&witness.id, keyceremony_log::SEAL_ROLE), &seal)?;
        session.close()?;
        witness_session.close()?;
        self.sealed = Some(head);
        let head_hex = hex::encode(head);
        let words = pgp_words::to_words(&head).join(" ");
        operator.notify(&Notice::Sealed {
            outcome: outcome.as_str().to_string(),
            entries,
            head: head_hex.clone(),
            words: words.clone(),
        });
        operator.confirm_seal(&witness, &head_hex, &words)?;
        Ok(())
    }

    /// The key pair whose private key carries `label` on a logged-in session.
    fn find_key(&self, session: &Session, label: &str) -> Result<KeyPair, EngineError> {
        let found = session.find_objects(&ObjectFilter {
            label: Some(label.to_string()),
            class: Some(ObjectClass::PrivateKey),
            ..ObjectFilter::default()
        })?;
        let [object] = found.as_slice() else {
            return Err(EngineError::Refused(format!(
                "expected one private key labelled '{label}' on the token, found {}",
                found.len()
            )));
        };
        session.find_key_pair(&object.id)?.ok_or_else(|| {
            EngineError::Refused(format!(
                "the key labelled '{label}' has no public half on the token"
            ))
        })
    }

    fn logged_in(&self, step: &Step) -> Result<&Session, EngineError> {
        self.session.as_ref().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "no dual-control login is active".to_string(),
        })
    }

    fn generate_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let spec =
            self.script.script.key(label).cloned().ok_or_else(|| {
                EngineError::Refused(format!("key '{label}' is not in the script"))
            })?;
        let algorithm = match spec.algorithm {
            KeyAlgorithm::Rsa4096 => HsmAlgorithm::Rsa4096,
            KeyAlgorithm::EcP384 => HsmAlgorithm::EcP384,
            other => {
                return Err(EngineError::Refused(format!(
                    "{} is not a root key type (CPS 6.1.5)",
                    other.as_str()
                )));
            }
        };
        if let Some(id) = self
            .recovery
            .as_ref()
            .and_then(|r| r.pending_keys.get(label).cloned())
        {
            let session = self.logged_in(step)?;
            if let Some(pair) = session.find_key_pair(&id)? {
                return self.record_generated(operator, step, label, pair, None);
            }
        }
        // Interrupted right after this key was generated and recorded, before
        // the step ended: the login on resuming found the key again by its
        // CKA_ID. Generating another would leave two keys for one label.
        if self
            .recovery
            .as_ref()
            .is_some_and(|r| r.keys.contains_key(label))
            && self.keys.contains_key(label)
        {
            return self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "key pair '{label}' was generated and recorded before the interruption; it is taken up, not generated again"
                ),
                json!({ "key": label, "taken_up": true }),
            );
        }
        let session = self.logged_in(step)?;
        refuse_existing_label(session, label)?;
        let id = session.random(16)?;
        let request = KeyGenSpec {
            algorithm,
            label: label.to_string(),
            id: id.clone(),
            always_authenticate: true,
        };
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerationRequested,
            format!("generating {algorithm} key pair '{label}' inside the HSM"),
            json!({
                "label": label,
                "id": hex::encode(&id),
                "algorithm": algorithm.to_string(),
                "private_template": {
                    "token": true, "private": true, "sensitive": true, "sign": true, "always_authenticate": true,
                    "extractable": false, "decrypt": false, "unwrap": false, "derive": false,
                },
                "public_template": { "token": true, "verify": true, "encrypt": false, "wrap": false },
            }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("generating {algorithm} key pair '{label}'"),
        });
        let session = self.logged_in(step)?;
        let started = Instant::now();
        let pair = session.generate_key_pair(&request)?;
        let hsm_ms = started.elapsed().as_secs_f64() * 1000.0;
        operator.notify(&Notice::HsmDone {
            what: format!("{algorithm} key pair '{label}' generated"),
            milliseconds: hsm_ms,
        });
        self.record_generated(operator, step, label, pair, Some(hsm_ms))?;
        // RSA-4096 generation takes seconds: a signal that came meanwhile
        // stops the ceremony now that the key is recorded.
        self.check_stop(step, "after the key generation")
    }

    /// Reads the new key's attributes back, records them, and refuses a key
    /// the token did not make as the templates asked (CPS 6.1.1, 6.2.7).
    /// `hsm_ms` is None for a key an interrupted run generated and this run
    /// found again by its CKA_ID.
    fn record_generated(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
        pair: KeyPair,
        hsm_ms: Option<f64>,
    ) -> Result<(), EngineError> {
        let session = self.logged_in(step)?;
        let algorithm = pair.algorithm;
        let id = pair.id.clone();
        let private = session.private_key_attributes(&pair)?;
        let public = session.public_key_attributes(&pair)?;
        let spki = session.public_key_spki_der(&pair)?;
        let uri = self.key_uri(label, &id)?;
        let problems = private.problems(true);
        let quality = self.settings.policy.check_key(&spki);
        let inventory = keyceremony_policy::Inventory::load(&self.settings.inventory)
            .and_then(|inventory| inventory.check_key(&spki));
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerated,
            match hsm_ms {
                Some(_) => format!("key pair '{label}' generated; attributes read back from the token"),
                None => format!(
                    "key pair '{label}', generated before the interruption, found on the token by its CKA_ID and recorded"
                ),
            },
            json!({
                "label": label,
                "id": hex::encode(&id),
                "uri": uri,
                "algorithm": algorithm.to_string(),
                "hsm_ms": hsm_ms,
                "recovered": hsm_ms.is_none(),
                "public_key_sha256": hex_upper(&Sha256::digest(&spki)),
                "private_attributes": {
                    "token": private.token, "private": private.private,
                    "sensitive": private.sensitive, "always_sensitive": private.always_sensitive,
                    "extractable": private.extractable, "never_extractable": private.never_extractable,
                    "local": private.local, "sign": private.sign, "decrypt": private.decrypt,
                    "unwrap": private.unwrap, "derive": private.derive,
                    "always_authenticate": private.always_authenticate,
                },
                "public_attributes": {
                    "token": public.token, "private": public.private, "verify": public.verify,
                    "encrypt": public.encrypt, "wrap": public.wrap,
                },
                "problems": problems,
                "key_quality": match &quality {
                    Ok(q) => json!(q.checks.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
                    Err(e) => json!({ "failed": e.to_string() }),
                },
            }),
        )?;
        let quality = quality?;
        inventory?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "public key of '{label}' passes the CPS 6.1.6 checks and is not in the inventory (CPS 6.3.2)"
            ),
            json!({ "key": label, "checks": quality.checks.iter().map(|c| c.to_string()).collect::<Vec<_>>() }),
        )?;
        if !problems.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the token created key '{label}' with unsafe attributes ({}); it must not be used (CPS 6.2.7)",
                    problems.join("; ")
                ),
            });
        }
        operator.notify(&Notice::KeyGenerated {
            label: label.to_string(),
            uri,
            public_key_sha256: hex_upper(&Sha256::digest(&spki)),
            attributes: vec![
                ("CKA_SENSITIVE", private.sensitive),
                ("CKA_ALWAYS_SENSITIVE", private.always_sensitive),
                ("CKA_EXTRACTABLE", private.extractable),
                ("CKA_NEVER_EXTRACTABLE", private.never_extractable),
                ("CKA_LOCAL", private.local),
                ("CKA_SIGN", private.sign),
                ("CKA_DECRYPT", private.decrypt),
                ("CKA_UNWRAP", private.unwrap),
                ("CKA_DERIVE", private.derive),
                ("CKA_ALWAYS_AUTHENTICATE", private.always_authenticate),
            ],
        });
        self.keys
            .insert(label.to_string(), GeneratedKey { pair, spki });
        Ok(())
    }

    fn key_uri(&self, label: &str, id: &[u8]) -> Result<String, EngineError> {
        let token = self
            .module
            .token_by_label(&self.script.script.hsm.token_label)?;
        let mut uri = token.uri()?;
        uri.object = Some(label.to_string());
        uri.id = Some(id.to_vec());
        Ok(uri.to_string())
    }

    fn self_sign(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let spec = self
            .script
            .script
            .certificate(label)
            .cloned()
            .ok_or_else(|| {
                EngineError::Refused(format!("certificate '{label}' is not in the script"))
            })?;
        if let Some(taken_up) = self.certificates.get(label) {
            // Signed and verified before an interruption (restore_keys took it
            // up from the log): a root key signs its certificate once.
            let sha256 = x509::fingerprint_hex(&taken_up.summary.sha256);
            return self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "the certificate of '{label}' was signed before the interruption (SHA-256 {sha256}); it is taken up, not signed again"
                ),
                json!({ "key": label, "certificate_sha256": sha256 }),
            );
        }
        let key = self.keys.get(label).ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: format!("key '{label}' was not generated in this ceremony"),
        })?;
        let session = self.logged_in(step)?;
        let serial = session.random(16)?;
        let signing_time = Utc::now().trunc_subsecs(0);
        let request = RootCertificateRequest {
            subject: DistinguishedName {
                country: spec.subject.country.clone(),
                state_or_province: spec.subject.state_or_province.clone(),
                locality: spec.subject.locality.clone(),
                organization: spec.subject.organization.clone(),
                common_name: spec.subject.common_name.clone(),
            },
            serial,
            not_before: signing_time,
            validity_days: spec.validity_days,
            digital_signature: spec.digital_signature,
            subject_public_key_info: key.spki.clone(),
        };
        let prepared = x509::prepare_root(&request, signing_time)?;
        let findings = keyceremony_policy::lint_tbs(prepared.tbs_der(), &self.settings.policy);
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "to-be-signed certificate of '{label}' linted against the BR root profile and policy '{}': {} finding(s)",
                self.settings.policy.name,
                findings.len()
            ),
            json!({ "key": label, "findings": findings.iter().map(|f| f.to_string()).collect::<Vec<_>>() }),
        )?;
        refuse_findings(
            step,
            &findings,
            &format!("the certificate of '{label}' breaks the profile; nothing was signed"),
        )?;
        self.tool_record(
            Some(&step.id),
            EventKind::SignatureRequested,
            format!("asking the HSM to sign the root certificate of '{label}'"),
            json!({
                "key": label,
                "tbs_sha256": hex_upper(&Sha256::digest(prepared.tbs_der())),
                "signature_algorithm": prepared.signature_algorithm().to_string(),
                "subject": request.subject.to_string(),
                "validity_days": spec.validity_days,
            }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("signing the root certificate of '{label}'"),
        });
        let pair = self.keys[label].pair.clone();
        let spki = self.keys[label].spki.clone();
        let (raw, hsm_ms) = self.sign_activated(operator, step, &pair, prepared.tbs_der())?;
        operator.notify(&Notice::HsmDone {
            what: format!("root certificate of '{label}' signed"),
            milliseconds: hsm_ms,
        });
        let der = prepared.assemble(&raw)?;
        self.tool_record(
            Some(&step.id),
            EventKind::Signed,
            format!("the HSM signed the root certificate of '{label}'"),
            json!({
                "key": label,
                "certificate_sha256": hex_upper(&Sha256::digest(&der)),
                "certificate_der": hex::encode(&der),
                "hsm_ms": hsm_ms,
            }),
        )?;
        let summary = x509::verify_root(&der, &spki)?;
        keyceremony_policy::Inventory::record(
            &self.settings.inventory,
            &keyceremony_policy::InventoryEntry::new(
                &self.script.script.ceremony.id,
                label,
                Utc::now(),
                &summary,
                &spki,
            ),
        )?;
        let findings = keyceremony_policy::lint_certificate(&der, &self.settings.policy);
        refuse_findings(
            step,
            &findings,
            &format!(
                "the signed certificate of '{label}' breaks the profile and must not leave the room"
            ),
        )?;
        self.tool_record(
            Some(&step.id),
            EventKind::CertificateVerified,
            format!(
                "certificate of '{label}' verified in software: signature, public key equal to the token's, canonical DER"
            ),
            json!({
                "key": label,
                "subject": summary.subject,
                "serial": summary.serial_hex,
                "not_before": summary.not_before.to_rfc3339(),
                "not_after": summary.not_after.to_rfc3339(),
                "validity_days": summary.validity_days,
                "signature_algorithm": summary.signature_algorithm.to_string(),
                "public_key": summary.public_key,
                "sha256": x509::fingerprint_hex(&summary.sha256),
                "sha1": x509::fingerprint_hex(&summary.sha1),
            }),
        )?;
        operator.notify(&Notice::CertificateSigned {
            label: label.to_string(),
            subject: summary.subject.clone(),
            serial: summary.serial_hex.clone(),
            sha256: x509::fingerprint_hex(&summary.sha256),
        });
        self.certificates
            .insert(label.to_string(), SignedCertificate { der, summary });
        Ok(())
    }

    /// One signature with a CKA_ALWAYS_AUTHENTICATE key: k custodians'
    /// shares again, for a context-specific login (CPS 6.2.8, 6.2.9).
    fn sign_activated(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        pair: &KeyPair,
        message: &[u8],
    ) -> Result<(Vec<u8>, f64), EngineError> {
        let mut failures = 0;
        loop {
            let entered = self.collect_shares(operator, step, Secret::UserPin, &mut failures)?;
            let expected = self.expected(Secret::UserPin);
            let session = self.logged_in(step)?;
            let started = Instant::now();
            let result = with_pin(&entered.shares, &expected, |pin: &SecretString| {
                session.sign_sha384(pair, message, Some(pin))
            })
            .map_err(|e| EngineError::Step {
                step: step.id.clone(),
                message: e.to_string(),
            })?;
            let hsm_ms = started.elapsed().as_secs_f64() * 1000.0;
            let custodians = entered.custodians;
            match result {
                Ok(signature) => {
                    self.tool_record(
                        Some(&step.id),
                        EventKind::LoginSucceeded,
                        format!(
                            "key '{}' activated for one signature with the shares of {}",
                            pair.label,
                            custodians.join(" and ")
                        ),
                        json!({ "custodians": custodians, "context_specific": true, "key": pair.label }),
                    )?;
                    return Ok((signature, hsm_ms));
                }
                Err(HsmError::PinIncorrect) => {
                    self.login_failed(operator, step, &custodians, &mut failures)?
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    fn export(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let (cert_der, summary, spki) = match (self.certificates.get(label), self.keys.get(label)) {
            (Some(c), Some(k)) => (c.der.clone(), c.summary.clone(), k.spki.clone()),
            _ => {
                return Err(EngineError::Step {
                    step: step.id.clone(),
                    message: format!(
                        "the certificate of '{label}' was not signed in this ceremony"
                    ),
                });
            }
        };
        let mut written = vec![
            self.out
                .write_new(&files::certificate_der(label), &cert_der)?,
            self.out.write_new(
                &files::certificate_pem(label),
                x509::pem_encode("CERTIFICATE", &cert_der).as_bytes(),
            )?,
            self.out.write_new(
                &files::public_key_pem(label),
                x509::pem_encode("PUBLIC KEY", &spki).as_bytes(),
            )?,
        ];
        let lines = format!(
            "{label} SHA256 {}\n{label} SHA1 {}\n",
            x509::fingerprint_hex(&summary.sha256),
            x509::fingerprint_hex(&summary.sha1)
        );
        written.push(self.out.append(files::FINGERPRINTS, lines.as_bytes())?);
        for file in &written {
            self.record_file(Some(&step.id), file)?;
            operator.notify(&Notice::FileWritten {
                path: file.path.display().to_string(),
                sha256: hex_upper(&file.sha256),
            });
        }
        Ok(())
    }

    fn logout(&mut self, step: &Step) -> Result<(), EngineError> {
        let session = self.session.take().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "no login to end".to_string(),
        })?;
        session.logout()?;
        self.tool_record(
            Some(&step.id),
            EventKind::Logout,
            "logged out of the token: the CA key is deactivated (CPS 6.2.9)".to_string(),
            json!({}),
        )?;
        self.close_session(session, step)
    }
}

/// Stops the step when a lint found an error (a warning is only recorded).
fn refuse_findings(
    step: &Step,
    findings: &[keyceremony_policy::Finding],
    what: &str,
) -> Result<(), EngineError> {
    if !keyceremony_policy::has_errors(findings) {
        return Ok(());
    }
    let all: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    Err(EngineError::Step {
        step: step.id.clone(),
        message: format!("{what}: {}", all.join("; ")),
    })
}

/// Stops before a lock-out when the token says it is close to one.
fn refuse_pin_lockout(token: &Token, step: &Step) -> Result<(), EngineError> {
    let info = token.info()?;
    let flags = info.flags;
    let state = if flags.user_pin_locked {
        "locked"
    } else if flags.user_pin_final_try {
        "on its final try"
    } else {
        return Ok(());
    };
    Err(EngineError::Step {
        step: step.id.clone(),
        message: format!(
            "token '{}' reports its user PIN {state}; stopping before a lock-out. Do not retry: the token needs its security officer",
            info.label
        ),
    })
}

/// The role in which a participant acts in the record: their first role.
fn acting_role(p: &Participant) -> Role {
    p.roles.first().copied().unwrap_or(Role::CaAdministrator)
}
