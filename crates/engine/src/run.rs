//! The step runner. Each HSM action logs its intent before the PKCS#11
//! call and its result after, so the log accounts for every object the
//! ceremony leaves on the token.
//!
//! This file holds the runner's state, the recording helpers, the step loop
//! and the one dispatch on `Action`; each action's code is in its module
//! of `crate::actions`.

use std::collections::{BTreeMap, HashMap, HashSet};

use keyceremony_hsm::{KeyPair, Module, Session};
use keyceremony_log::verify::VerifyReport;
use keyceremony_log::{Actor, EventKind, LogWriter, SealOutcome};
use keyceremony_policy::InventoryLock;
use keyceremony_script::{Action, LoadedScript, Participant, Role, Secret, Step};
use keyceremony_x509::{CheckedKey, VerifiedRoot};
use serde_json::{Value, json};

use crate::operator::{Notice, Operator, Verdict};
use crate::outputs::{OutDir, Written};
use crate::resume::Interrupted;
use crate::room::{Limits, Room};
use crate::{EngineError, Rehearsal, Settings, files};

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
    /// The SHA-256 of the sealed log's bytes as the backup copied them, and
    /// the verifier's report on the copy: a report on the same bytes takes
    /// it up instead of verifying them again.
    pub log_verified: ([u8; 32], VerifyReport),
    /// The root keys as they were checked, for the report to take up
    /// instead of checking the same public keys again.
    pub keys: Vec<CheckedKey>,
    /// The root certificates as they were verified with those keys, for
    /// the report to take up instead of verifying the same bytes again.
    pub roots: Vec<VerifiedRoot>,
    /// How the log, read back from that copy, says the ceremony ended: a
    /// run that aborts an interrupted ceremony seals it as aborted.
    pub sealed: SealOutcome,
}

/// How the verified backup copy of the log says the ceremony ended (the
/// copy is known to verify as sealed, completed or aborted): the closing
/// screen and the terminal say it in the log's words.
pub(crate) fn sealed_outcome(report: &VerifyReport) -> SealOutcome {
    match report.status {
        keyceremony_log::verify::Status::Aborted => SealOutcome::Aborted,
        _ => SealOutcome::Completed,
    }
}

pub(crate) struct GeneratedKey {
    pub(crate) pair: KeyPair,
    /// Its public key as read from the token, checked once (CPS 6.1.5,
    /// 6.1.6); the certificate's build, lint and verification take this
    /// result instead of checking the key again.
    pub(crate) key: CheckedKey,
}

pub(crate) struct Runner {
    pub(crate) script: LoadedScript,
    /// Participant id -> index in the script's list, so that finding the
    /// performer and witness of each step does not scan the list.
    participants: HashMap<String, usize>,
    pub(crate) settings: Settings,
    pub(crate) module: Module,
    pub(crate) out: OutDir,
    pub(crate) log: LogWriter,
    pub(crate) session: Option<Session>,
    pub(crate) keys: BTreeMap<String, GeneratedKey>,
    pub(crate) certificates: BTreeMap<String, VerifiedRoot>,
    /// The splits this ceremony made, so that a share of another split is
    /// refused by name.
    pub(crate) issued: BTreeMap<Secret, String>,
    /// Exception sheets recorded so far.
    pub(crate) exceptions: u32,
    pub(crate) log_key_recorded: bool,
    /// Head hash of the sealed log, once sealed.
    pub(crate) sealed: Option<[u8; 32]>,
    /// The sealed log's verified copy on the backup media (CPS 5.4.5).
    pub(crate) backup_copy: Option<(std::path::PathBuf, ([u8; 32], VerifyReport))>,
    /// What an interrupted run left: keys and certificates to take up again
    /// at the next login, key generations to look for on the token.
    pub(crate) recovery: Option<Interrupted>,
    /// A reopened log: the recorded log-signing key to verify with the
    /// token at the first login (`actions::proof`).
    pub(crate) log_key_check: Option<LogKeyCheck>,
    /// Held, never read: the inventory's lock, for the whole ceremony.
    _inventory: InventoryLock,
    /// What the log records of shares and failures, across every run.
    pub(crate) room: Room,
    /// A rehearsal's reason, lab and stand-ins, recorded at its start and
    /// with every run's environment.
    pub(crate) rehearsal: Option<Rehearsal>,
    /// A later ceremony's root (`hsm.initialize = false` with `[root]`).
    pub(crate) later: Option<crate::later::Later>,
    /// (id, SHA-256) of each subordinate CA certificate and CRL signed.
    pub(crate) issued_outputs: Vec<(String, String)>,
}

/// What the first login of a run that reopened a log checks.
pub(crate) struct LogKeyCheck {
    /// The recorded log-signing key, PEM.
    pub(crate) pem: String,
    /// The last checkpoint, which that key proves.
    pub(crate) last_checkpoint: Option<u64>,
    /// Checkpoints follow the witness's head: the check is needed before
    /// going on, with a login of its own if the ceremony was logged out.
    pub(crate) required: bool,
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// What a run's first entries attest besides the script: the network
/// interfaces, the binary's and the module's hashes, and whether and why the
/// run is a rehearsal.
pub(crate) struct Attested {
    pub(crate) network: crate::Network,
    pub(crate) digests: crate::environment::Digests,
    pub(crate) rehearsal: Option<Rehearsal>,
}

impl Runner {
    /// Creates the output folder and the log, and records the start.
    pub(crate) fn start(
        script: LoadedScript,
        settings: Settings,
        module: Module,
        inventory: InventoryLock,
        attested: Attested,
    ) -> Result<Runner, EngineError> {
        let Attested {
            network,
            mut digests,
            rehearsal,
        } = attested;
        let out = OutDir::create(&settings.out_dir)?;
        let log = LogWriter::create(&out.path(files::LOG))?;
        let mut runner = Runner::new(script, settings, module, out, log, inventory);
        runner.rehearsal = rehearsal;
        runner.record_start(&network, &mut digests)?;
        runner.begin_later()?;
        Ok(runner)
    }

    /// A runner with nothing done yet in this process.
    pub(crate) fn new(
        script: LoadedScript,
        settings: Settings,
        module: Module,
        out: OutDir,
        log: LogWriter,
        inventory: InventoryLock,
    ) -> Runner {
        let room = Room::new(Limits::of(&script.script.hsm));
        let participants = (script.script.participants.iter().enumerate())
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Runner {
            script,
            participants,
            settings,
            module,
            out,
            log,
            session: None,
            keys: BTreeMap::new(),
            certificates: BTreeMap::new(),
            issued: BTreeMap::new(),
            exceptions: 0,
            log_key_recorded: false,
            sealed: None,
            backup_copy: None,
            recovery: None,
            log_key_check: None,
            _inventory: inventory,
            room,
            rehearsal: None,
            later: None,
            issued_outputs: Vec::new(),
        }
    }

    pub(crate) fn tool_record(
        &mut self,
        step: Option<&str>,
        kind: EventKind,
        description: String,
        data: Value,
    ) -> Result<(), EngineError> {
        self.append(&Actor::tool(), step, kind, description, data)
    }

    /// Every entry goes through here, so that `room` follows the log.
    fn append(
        &mut self,
        actor: &Actor,
        step: Option<&str>,
        kind: EventKind,
        description: String,
        data: Value,
    ) -> Result<(), EngineError> {
        let entry = self.log.append(actor, step, kind, description, data)?;
        self.room
            .observe(&serde_json::to_value(&entry).unwrap_or_default());
        Ok(())
    }

    pub(crate) fn person_record(
        &mut self,
        who: &Participant,
        role: Role,
        step: Option<&str>,
        kind: EventKind,
        description: String,
        data: Value,
    ) -> Result<(), EngineError> {
        self.append(
            &Actor::new(&who.id, role.as_str()),
            step,
            kind,
            description,
            data,
        )
    }

    fn record_start(
        &mut self,
        network: &crate::Network,
        digests: &mut crate::environment::Digests,
    ) -> Result<(), EngineError> {
        let s = &self.script.script;
        let mut data = json!({
            "ceremony_id": s.ceremony.id,
            "ceremony_name": s.ceremony.name,
            "script_path": self.script.path.display().to_string(),
            "script_sha256": self.script.sha256_hex(),
            "rehearsal": self.settings.rehearsal,
            "script_mode": if s.is_rehearsal() { "rehearsal" } else { "production" },
            "tool_version": env!("CARGO_PKG_VERSION"),
            "module_path": self.module.path().display().to_string(),
            "token_label": s.hsm.token_label,
        });
        if let Some(rehearsal) = &self.rehearsal {
            rehearsal.record_in(&mut data, true);
        }
        if let Value::Object(fields) = &mut data {
            fields.extend(crate::facts::start_facts(s, &self.settings.policy)?);
        }
        let banner = if self.settings.rehearsal {
            "REHEARSAL: "
        } else {
            ""
        };
        let description = format!("{banner}ceremony '{}' starts", s.ceremony.name);
        self.tool_record(None, EventKind::CeremonyStart, description, data)?;
        self.record_environment(network, digests)?;
        let copy = self
            .out
            .write_new(files::SCRIPT_COPY, self.script.text.as_bytes())?;
        self.record_file(None, &copy)
    }

    /// The environment attestation, recorded by every run of the ceremony.
    pub(crate) fn record_environment(
        &mut self,
        network: &crate::Network,
        digests: &mut crate::environment::Digests,
    ) -> Result<(), EngineError> {
        let info = self.module.info()?;
        let mut environment =
            crate::environment::attestation(self.module.path(), &network.interfaces, digests);
        environment["script_sha256"] = json!(self.script.sha256_hex());
        if let Some(rehearsal) = &self.rehearsal {
            rehearsal.record_in(&mut environment, false);
        }
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
        Ok(())
    }

    pub(crate) fn record_file(
        &mut self,
        step: Option<&str>,
        written: &Written,
    ) -> Result<(), EngineError> {
        let sha = hex_upper(&written.sha256);
        self.tool_record(
            step,
            EventKind::FileWritten,
            format!("wrote {}", written.relative),
            json!({ "path": written.relative, "sha256": sha }),
        )
    }

    /// Runs every step, or (`resumed`) takes an interrupted ceremony up and
    /// runs every step it did not finish, in script order.
    pub(crate) fn run(
        mut self,
        operator: &mut dyn Operator,
        resumed: Option<&Interrupted>,
    ) -> Result<Outcome, EngineError> {
        let completed: HashSet<&str> = resumed
            .map(|i| i.completed.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if let Some(interrupted) = resumed
            && let Err(error) = self.resume(operator, interrupted)
        {
            let step = interrupted.next_step.clone().unwrap_or_default();
            self.stop(operator, &step, &error);
            return Err(error);
        }
        // Positions, not copies: a step's action needs the runner mutably,
        // and copying each step's whole act made a run quadratic in the
        // steps of an act. Only the step under way is copied.
        let mut positions = Vec::new();
        for (a, act) in self.script.script.acts.iter().enumerate() {
            for (s, step) in act.steps.iter().enumerate() {
                if !completed.contains(step.id.as_str()) {
                    positions.push((a, s));
                }
            }
        }
        for (a, s) in positions {
            let act = &self.script.script.acts[a];
            let (act_id, step) = (act.id.clone(), act.steps[s].clone());
            let last_in_act = s + 1 == act.steps.len();
            let result = self
                .check_stop(&step, "before the beginning")
                .and_then(|()| self.step(operator, &act_id, &step))
                .and_then(|()| self.end_act(operator, &act_id, last_in_act, &step));
            if let Err(error) = result {
                self.stop(operator, &step.id, &error);
                return Err(error);
            }
        }
        let certificates: Vec<(String, String)> = self
            .certificates
            .iter()
            .map(|(label, c)| (label.clone(), hex_upper(&c.summary().sha256)))
            .chain(self.issued_outputs.iter().cloned())
            .collect();
        let (Some(head), Some((backup, log_verified))) = (self.sealed, self.backup_copy.take())
        else {
            return Err(EngineError::Refused(
                "the script ended without sealing its log".to_string(),
            ));
        };
        let sealed = sealed_outcome(&log_verified.1);
        Ok(Outcome {
            out_dir: self.out.root().to_path_buf(),
            log_entries: self.log.len(),
            log_head: hex::encode(head),
            certificates,
            backup,
            log_verified,
            keys: self.keys.into_values().map(|k| k.key).collect(),
            roots: self.certificates.into_values().collect(),
            sealed,
        })
    }

    pub(crate) fn participant(&self, id: &str) -> Result<Participant, EngineError> {
        self.participants
            .get(id)
            .map(|&i| self.script.script.participants[i].clone())
            .ok_or_else(|| EngineError::Refused(format!("'{id}' is not a participant")))
    }

    fn step(
        &mut self,
        operator: &mut dyn Operator,
        act: &str,
        step: &Step,
    ) -> Result<(), EngineError> {
        let performer = self.participant(&step.performer)?;
        let witness = self.participant(&step.witness)?;
        let performer_role = acting_role(&performer);
        let witness_role = acting_role(&witness);
        operator.notify(&Notice::StepBegin {
            act: act.to_string(),
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
                "act": act,
                "title": step.title,
                "performer": performer.id,
                "witness": witness.id,
                "action": step.action.name(),
            }),
        )?;
        self.ensure_present(operator, step)?;
        match &step.action {
            Action::Manual => {}
            Action::CheckIn => self.check_in(operator, step, &witness)?,
            Action::ClockCheck => self.clock_check(operator, step, &witness)?,
            Action::InitToken => self.init_token(operator, step)?,
            Action::Login => self.login(operator, step)?,
            Action::GenerateKey { key } => self.generate_key(operator, step, key)?,
            Action::SelfSign { certificate } => self.self_sign(operator, step, certificate)?,
            Action::Export { certificate } => self.export(operator, step, certificate)?,
            Action::SignSubordinate { certificate } => {
                self.sign_subordinate(operator, step, certificate)?
            }
            Action::SignCrl { crl } => self.sign_crl(operator, step, crl)?,
            Action::SignCross { certificate } => self.sign_cross(operator, step, certificate)?,
            Action::SignOcspResponder { certificate } => {
                self.sign_ocsp_responder(operator, step, certificate)?
            }
            Action::DestroyKey { key } => self.destroy_key(operator, step, key)?,
            Action::BackupKey { key } => self.backup_key(operator, step, key)?,
            Action::RestoreKey { key } => self.restore_key(operator, step, key)?,
            Action::Logout => self.logout(operator, step)?,
            Action::SealLog => return self.seal(operator, step, SealOutcome::Completed),
        }
        for field in &step.record {
            self.record_field(operator, step, &performer, field)?;
        }
        for exception in operator.exceptions(step, &witness)? {
            self.exception(operator, step, &performer, &witness, exception, None)?;
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
                self.refuse_witnessed_key(step, &witness, &remark)?;
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
        )?;
        self.checkpoint(&step.id)
    }

    /// A numbered exception sheet: the deviation, and the witness's word;
    /// `raised`: what the tool found, when the tool raised it itself.
    pub(crate) fn exception(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        performer: &Participant,
        witness: &Participant,
        report: crate::operator::ExceptionReport,
        raised: Option<&str>,
    ) -> Result<(), EngineError> {
        self.exceptions += 1;
        let number = self.exceptions;
        // The witness's decision: their act, on what the performer reported.
        self.person_record(
            witness,
            acting_role(witness),
            Some(&step.id),
            EventKind::Exception,
            format!(
                "exception {number}: {} ({} by {})",
                report.description,
                if report.accepted {
                    "accepted"
                } else {
                    "NOT accepted"
                },
                witness.name
            ),
            json!({
                "number": number,
                "description": report.description,
                "accepted": report.accepted,
                "witness": witness.id,
                "reported_by": performer.id,
                "remark": report.remark,
                "raised_by_tool": raised,
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
}

/// The role in which a participant acts in the record: their first role.
pub(crate) fn acting_role(p: &Participant) -> Role {
    p.roles.first().copied().unwrap_or(Role::CaAdministrator)
}
