//! Headless operator input: an answers file (TOML) that holds, in advance,
//! everything the people in the room would type. It is checked against the
//! script before the ceremony starts, so a missing answer never stops a
//! ceremony half-way.
//!
//! ```toml
//! ceremony = "example-tls-rsa-root-2026"
//!
//! [check-in]
//! ada = "passport"
//!
//! [steps."1.4"]
//! witness = "confirm"
//! record = { reference-time = "2026-11-25T10:00:00Z" }
//!
//! [steps."2.1".bags.carol]      # init-token: each share's bag serial
//! user-pin = "TEB-0102"
//!
//! [steps."2.2"]                 # login: who comes forward
//! witness = "confirm"
//! custodians = ["carol", "dave"]
//! ```
//!
//! Shares never come from this file: the tool makes them during the
//! ceremony, and a rehearsal reads them back from the `.share` files it
//! wrote (see [`AnswersFile::with_rehearsal_shares`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use keyceremony_script::{Action, Participant, RecordField, Script, Secret, SourceMap, Step};
use keyceremony_shares::Share;
use secrecy::SecretString;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::operator::{
    ExceptionReport, Identity, InputError, InputSource, LogHead, Notice, Operator, ResumeChoice,
    ShareShown, SignatureRequest, Verdict,
};
use crate::resume::Interrupted;

mod resume;
mod seal;
use resume::ResumeAnswers;
use seal::SealAnswers;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    ceremony: String,
    #[serde(default, rename = "check-in")]
    check_in: BTreeMap<String, String>,
    #[serde(default)]
    steps: BTreeMap<String, StepAnswers>,
    /// Deviations the room records, each on a numbered exception sheet.
    #[serde(default)]
    exceptions: Vec<ExceptionAnswer>,
    #[serde(default)]
    seal: Option<SealAnswers>,
    #[serde(default)]
    environment: Option<EnvironmentAnswers>,
    #[serde(default)]
    resume: Option<ResumeAnswers>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EnvironmentAnswers {
    /// The witness's explanation of network interfaces that are up.
    network_explanation: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionAnswer {
    step: String,
    description: String,
    accepted: bool,
    #[serde(default)]
    remark: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepAnswers {
    /// Absent only for the seal-log step, which ends with the witness
    /// copying the head hash instead ([seal]).
    #[serde(default)]
    witness: Option<WitnessAnswer>,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    record: BTreeMap<String, String>,
    /// Custodians who come forward to activate the token in this step.
    #[serde(default)]
    custodians: Vec<String>,
    /// custodian -> secret ("so-pin", "user-pin") -> bag serial.
    #[serde(default)]
    bags: BTreeMap<String, BTreeMap<String, String>>,
    /// Clock check: the reference clock's reading (RFC 3339), or "system"
    /// in a rehearsal, where the lab's clock is its own reference.
    #[serde(default, rename = "reference-time")]
    reference_time: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum WitnessAnswer {
    Confirm,
    Refuse,
}

type NoticeSink = Box<dyn FnMut(&Notice)>;

/// An [`Operator`] that answers from a file.
pub struct AnswersFile {
    path: PathBuf,
    /// Upper-case hex SHA-256 of the file's text, for the record.
    sha256: String,
    ceremony: String,
    check_in: BTreeMap<String, String>,
    steps: BTreeMap<String, StepAnswers>,
    exceptions: Vec<ExceptionAnswer>,
    seal: Option<SealAnswers>,
    environment: Option<EnvironmentAnswers>,
    resume: Option<ResumeAnswers>,
    halt_after: Option<String>,
    halted_step_done: bool,
    /// Between the decision to resume and the first step run again, the
    /// custodians come from [resume].
    resuming: bool,
    shares_dir: Option<PathBuf>,
    witness_pin: Option<SecretString>,
    rehearsal: bool,
    notices: Option<NoticeSink>,
}

impl AnswersFile {
    pub fn load(path: &Path) -> Result<AnswersFile, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::Invalid(format!(
                "cannot read the answers file {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(path, text)
    }

    /// Parses answers text; `path` only names it in errors.
    pub fn parse(path: &Path, text: String) -> Result<AnswersFile, InputError> {
        let file: File = toml::from_str(&text).map_err(|e| {
            let at = match e.span() {
                Some(_) => format!(
                    " at line {}",
                    SourceMap::new(&text).location_of_error(&e).line
                ),
                None => String::new(),
            };
            InputError::Invalid(format!(
                "answers file {}{at}: {}",
                path.display(),
                e.message()
            ))
        })?;
        Ok(AnswersFile {
            path: path.to_path_buf(),
            sha256: hex::encode_upper(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())),
            ceremony: file.ceremony,
            check_in: file.check_in,
            steps: file.steps,
            exceptions: file.exceptions,
            seal: file.seal,
            environment: file.environment,
            resume: file.resume,
            halt_after: None,
            halted_step_done: false,
            resuming: false,
            shares_dir: None,
            witness_pin: None,
            rehearsal: false,
            notices: None,
        })
    }

    /// Where a rehearsal wrote its `<custodian>.share` files: shares are
    /// read from there when custodians log in.
    pub fn with_rehearsal_shares(mut self, dir: &Path) -> AnswersFile {
        self.shares_dir = Some(dir.to_path_buf());
        self
    }

    /// The PIN of the witness's lab token, which a rehearsal lab makes
    /// itself; a witness types it at a real ceremony.
    pub fn with_witness_pin(mut self, pin: SecretString) -> AnswersFile {
        self.witness_pin = Some(pin);
        self
    }

    /// Fault drills: once step `step` has ended, the run stops dead (it waits
    /// forever, as a machine that hung would) so that a drill can kill it
    /// there and resume or abort.
    pub fn with_halt_after(mut self, step: &str) -> AnswersFile {
        self.halt_after = Some(step.to_string());
        self
    }

    /// Sends every notice to `sink`, e.g. to print progress.
    pub fn with_notices(mut self, sink: impl FnMut(&Notice) + 'static) -> AnswersFile {
        self.notices = Some(Box::new(sink));
        self
    }

    fn missing(&self, what: String) -> InputError {
        InputError::Missing(format!(
            "the answers file {} has no {what}; add it and run again",
            self.path.display()
        ))
    }
}

impl Operator for AnswersFile {
    fn headless(&self) -> bool {
        true
    }

    fn preflight(&mut self, script: &Script, rehearsal: bool) -> Result<(), InputError> {
        self.rehearsal = rehearsal;
        if self.ceremony != script.ceremony.id {
            return Err(InputError::Invalid(format!(
                "the answers file {} is for ceremony '{}', not '{}'",
                self.path.display(),
                self.ceremony,
                script.ceremony.id
            )));
        }
        let mut known_steps = Vec::new();
        for (_, step) in script.steps() {
            known_steps.push(step.id.as_str());
            let answers = self.steps.get(&step.id).ok_or_else(|| {
                self.missing(format!("[steps.\"{}\"] with the witness's answer", step.id))
            })?;
            if step.action == Action::SealLog {
                if !self.seal.as_ref().is_some_and(|s| s.head_copied) {
                    return Err(self.missing(
                        "[seal] head-copied = true, the witness's confirmation that the sealed log's head hash is on the paper script".to_string(),
                    ));
                }
            } else if answers.witness.is_none() {
                return Err(self.missing(format!(
                    "witness = \"confirm\" or \"refuse\" in [steps.\"{}\"]",
                    step.id
                )));
            }
            if answers.witness == Some(WitnessAnswer::Refuse) && answers.remark.is_none() {
                return Err(self.missing(format!("remark for the refusal of step {}", step.id)));
            }
            for field in &step.record {
                if !answers.record.contains_key(&field.name) {
                    return Err(self.missing(format!(
                        "value for '{}' ({}) in step {}",
                        field.name, field.label, step.id
                    )));
                }
            }
            if let Some(extra) = answers
                .record
                .keys()
                .find(|name| !step.record.iter().any(|f| &f.name == *name))
            {
                return Err(InputError::Invalid(format!(
                    "the answers file {} records '{extra}' in step {}, which the script does not ask for",
                    self.path.display(),
                    step.id
                )));
            }
            match step.action {
                Action::CheckIn => {
                    for p in &script.participants {
                        if !self.check_in.contains_key(&p.id) {
                            return Err(self.missing(format!("check-in answer for '{}'", p.id)));
                        }
                    }
                }
                Action::InitToken => {
                    for secret in Secret::ALL {
                        for custodian in &script.activation.quorum(secret).custodians {
                            if !answers
                                .bags
                                .get(custodian)
                                .is_some_and(|b| b.contains_key(secret.as_str()))
                            {
                                return Err(self.missing(format!(
                                    "bag serial for {custodian}'s share of the {} in [steps.\"{}\".bags.{custodian}]",
                                    secret.as_str(),
                                    step.id
                                )));
                            }
                        }
                    }
                }
                Action::ClockCheck => match answers.reference_time.as_deref() {
                    None => {
                        return Err(self.missing(format!(
                            "reference-time (the reference clock's reading, RFC 3339) in step {}",
                            step.id
                        )));
                    }
                    Some("system") if !rehearsal => {
                        return Err(InputError::Invalid(format!(
                            "step {}: reference-time = \"system\" is for rehearsals only; a ceremony's witness reads a reference clock",
                            step.id
                        )));
                    }
                    Some("system") => {}
                    Some(time) => {
                        DateTime::parse_from_rfc3339(time).map_err(|e| {
                            InputError::Invalid(format!(
                                "step {}: reference-time '{time}' is not an RFC 3339 time: {e}",
                                step.id
                            ))
                        })?;
                    }
                },
                Action::Login | Action::SelfSign { .. } | Action::SealLog => {
                    let threshold = script.activation.user_pin.threshold as usize;
                    if answers.custodians.len() != threshold {
                        return Err(self.missing(format!(
                            "list of the {threshold} custodians who activate the token in step {} (custodians = [...])",
                            step.id
                        )));
                    }
                }
                _ => {}
            }
        }
        if let Some(unknown) = self
            .steps
            .keys()
            .find(|id| !known_steps.contains(&id.as_str()))
        {
            return Err(InputError::Invalid(format!(
                "the answers file {} answers step '{unknown}', which the script does not have",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn check_in(
        &mut self,
        _step: &Step,
        participant: &Participant,
        _witness: &Participant,
    ) -> Result<Identity, InputError> {
        let document = self
            .check_in
            .get(&participant.id)
            .ok_or_else(|| self.missing(format!("check-in answer for '{}'", participant.id)))?;
        Ok(Identity {
            document: document.clone(),
        })
    }

    fn record(&mut self, step: &Step, field: &RecordField) -> Result<String, InputError> {
        self.steps
            .get(&step.id)
            .and_then(|a| a.record.get(&field.name))
            .cloned()
            .ok_or_else(|| self.missing(format!("value for '{}' in step {}", field.name, step.id)))
    }

    fn show_share(
        &mut self,
        _step: &Step,
        _custodian: &Participant,
        _share: &Share,
    ) -> Result<ShareShown, InputError> {
        Ok(ShareShown::NoScreen)
    }

    fn share_bag(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        _number: u8,
    ) -> Result<String, InputError> {
        self.steps
            .get(&step.id)
            .and_then(|a| a.bags.get(&custodian.id))
            .and_then(|b| b.get(secret.as_str()))
            .cloned()
            .ok_or_else(|| {
                self.missing(format!(
                    "bag serial for {}'s share of the {} in step {}",
                    custodian.id,
                    secret.as_str(),
                    step.id
                ))
            })
    }

    fn choose_custodians(
        &mut self,
        step: &Step,
        _secret: Secret,
        _eligible: &[Participant],
        _threshold: usize,
    ) -> Result<Vec<String>, InputError> {
        let for_step = self.steps.get(&step.id).map(|a| a.custodians.clone());
        let on_resume = self.resume.as_ref().map(|r| r.custodians.clone());
        match (for_step, on_resume) {
            (Some(c), _) if !c.is_empty() && !self.resuming => Ok(c),
            (_, Some(c)) if !c.is_empty() => Ok(c),
            (Some(c), _) if !c.is_empty() => Ok(c),
            _ => Err(self.missing(format!("custodians for step {}", step.id))),
        }
    }

    fn share(
        &mut self,
        _step: &Step,
        custodian: &Participant,
        secret: Secret,
    ) -> Result<SecretString, InputError> {
        let dir = self.shares_dir.as_ref().ok_or_else(|| {
            InputError::Missing(
                "a headless run reads shares only from a rehearsal's share files, and none were given".to_string(),
            )
        })?;
        let path = dir.join(format!("{}.share", custodian.id));
        let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            InputError::Missing(format!(
                "cannot read {}'s rehearsal share file {}: {e}",
                custodian.id,
                path.display()
            ))
        })?);
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| {
            InputError::Invalid(format!(
                "{} is not a rehearsal share file: {}",
                path.display(),
                e.message()
            ))
        })?;
        match table.remove(secret.as_str()) {
            Some(toml::Value::String(share)) => Ok(SecretString::from(share)),
            _ => Err(InputError::Missing(format!(
                "{} holds no share of the {}",
                path.display(),
                secret.as_str()
            ))),
        }
    }

    fn exceptions(
        &mut self,
        step: &Step,
        _witness: &Participant,
    ) -> Result<Vec<ExceptionReport>, InputError> {
        Ok(self
            .exceptions
            .iter()
            .filter(|e| e.step == step.id)
            .map(|e| ExceptionReport {
                description: e.description.clone(),
                accepted: e.accepted,
                remark: e.remark.clone(),
            })
            .collect())
    }

    fn reference_time(
        &mut self,
        step: &Step,
        _witness: &Participant,
        system_time: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, InputError> {
        match self
            .steps
            .get(&step.id)
            .and_then(|a| a.reference_time.as_deref())
        {
            Some("system") if self.rehearsal => Ok(system_time),
            Some(time) => DateTime::parse_from_rfc3339(time)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| InputError::Invalid(format!("reference-time '{time}': {e}"))),
            None => Err(self.missing(format!("reference-time in step {}", step.id))),
        }
    }

    fn input(&self) -> InputSource {
        InputSource::AnswersFile {
            path: self.path.display().to_string(),
            sha256: self.sha256.clone(),
        }
    }

    fn witness_signature(
        &mut self,
        _witness: &Participant,
        request: &SignatureRequest,
    ) -> Result<PathBuf, InputError> {
        self.brought_signature(request)
    }

    fn witness_token_pin(
        &mut self,
        witness: &Participant,
        token_label: &str,
    ) -> Result<SecretString, InputError> {
        self.witness_pin.clone().ok_or_else(|| {
            InputError::Missing(format!(
                "{} must type the PIN of their token '{token_label}': a headless run has it only in a rehearsal lab",
                witness.name
            ))
        })
    }

    fn confirm_seal(
        &mut self,
        _witness: &Participant,
        _head: &str,
        _words: &str,
    ) -> Result<(), InputError> {
        match &self.seal {
            Some(seal) if seal.head_copied => Ok(()),
            _ => Err(self.missing("[seal] head-copied = true".to_string())),
        }
    }

    fn resume_or_abort(&mut self, interrupted: &Interrupted) -> Result<ResumeChoice, InputError> {
        self.resume_choice(interrupted)
    }

    /// A headless run has no screen: the head is printed (a notice).
    fn copy_head(&mut self, _witness: &Participant, _head: &LogHead) -> Result<(), InputError> {
        Ok(())
    }

    fn last_copied_head(
        &mut self,
        _witness: &Participant,
        _interrupted: &Interrupted,
    ) -> Result<String, InputError> {
        self.resume_head()
    }

    fn accept_environment_change(
        &mut self,
        _witness: &Participant,
        _changes: &[String],
    ) -> Result<Option<String>, InputError> {
        Ok(self
            .resume
            .as_ref()
            .and_then(|r| r.environment_change.clone()))
    }

    fn network_explanation(
        &mut self,
        _witness: &Participant,
        interfaces: &[String],
    ) -> Result<String, InputError> {
        self.environment
            .as_ref()
            .map(|e| e.network_explanation.clone())
            .ok_or_else(|| {
                self.missing(format!(
                    "[environment] network-explanation: network interfaces {} are up, and the witness must record why",
                    interfaces.join(", ")
                ))
            })
    }

    fn witness(&mut self, step: &Step, _witness: &Participant) -> Result<Verdict, InputError> {
        let answers = self
            .steps
            .get(&step.id)
            .ok_or_else(|| self.missing(format!("witness answer for step {}", step.id)))?;
        match answers.witness {
            Some(WitnessAnswer::Confirm) => Ok(Verdict::Confirmed),
            Some(WitnessAnswer::Refuse) => Ok(Verdict::Refused {
                remark: answers.remark.clone().unwrap_or_default(),
            }),
            None => Err(self.missing(format!("witness answer for step {}", step.id))),
        }
    }

    fn notify(&mut self, notice: &Notice) {
        if let Some(sink) = self.notices.as_mut() {
            sink(notice);
        }
        if let Notice::StepBegin { step, .. } = notice {
            self.resuming = false;
            if self.halted_step_done {
                println!("HALTED for a fault drill before step {step}; kill this process");
                loop {
                    std::thread::park();
                }
            }
            self.halted_step_done = self.halt_after.as_deref() == Some(step.as_str());
        }
    }
}
