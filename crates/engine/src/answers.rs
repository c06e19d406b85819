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
//! erin = { absent = "ill; her share is not needed today" }
//!
//! [steps."1.4"]
//! witness = "confirm"
//! reference-time = "2026-11-25T10:00:00Z"
//! # The tool raises an exception beyond the policy's limit; the witness
//! # decides it here.
//! decisions.clock = { accepted = true, remark = "reference clock read late" }
//!
//! [steps."2.1".bags.carol]      # init-token: each share's bag serial
//! user-pin = "TEB-0102"
//!
//! [steps."2.2"]                 # login: who comes forward
//! witness = "confirm"
//! custodians = ["carol", "dave"]
//!
//! [steps."2.2".bags.carol]      # the bag opened, the new one
//! opened = "TEB-0102"
//! new = "TEB-0112"
//!
//! [steps."3.1"]                 # generate-key: the performer's go
//! witness = "confirm"
//! go = "ada"
//! ```
//!
//! Shares never come from this file: the tool makes them during the
//! ceremony, and a rehearsal reads them back from the `.share` files it
//! wrote (see [`AnswersFile::with_rehearsal_shares`]).

mod room;
mod shares;
mod skeleton;
pub use skeleton::skeleton;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use keyceremony_script::{Action, Participant, RecordField, Script, Secret, SourceMap, Step};
use keyceremony_shares::Share;
use secrecy::SecretString;
use serde::Deserialize;

use crate::operator::{
    ExceptionReport, InputError, InputSource, LogHead, Notice, Operator, ResumeChoice, ShareShown,
    SignatureRequest, Verdict,
};
use crate::questions::{Attendance, ClockReading, Decision, Missing, PresenceChange, Raised};
use crate::resume::Interrupted;

mod resume;
mod seal;
mod text;
use resume::ResumeAnswers;
use seal::SealAnswers;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    ceremony: String,
    /// Participant -> the kind of identity document checked, or
    /// `{ absent = "reason" }`.
    #[serde(default, rename = "check-in")]
    check_in: BTreeMap<String, toml::Value>,
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
    /// Participants leaving and coming back, each as a step begins.
    #[serde(default)]
    presence: Vec<room::PresenceAnswer>,
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
    /// backup-key: the SO-PIN custodians who come forward to log the
    /// Security Officer in, who imports the wrap key.
    #[serde(default, rename = "so-custodians")]
    so_custodians: Vec<String>,
    /// restore-key: the backup custodians who bring their wrap-key shares.
    #[serde(default, rename = "backup-custodians")]
    backup_custodians: Vec<String>,
    /// init-token: custodian -> secret ("so-pin", "user-pin") -> bag
    /// serial; an activation: custodian -> "opened" and "new" -> the serial
    /// of the bag opened and of the one the share goes back into.
    #[serde(default)]
    bags: BTreeMap<String, BTreeMap<String, String>>,
    /// Clock check: the reference clock's reading (RFC 3339), or "system"
    /// in a rehearsal, where the lab's clock is its own reference.
    #[serde(default, rename = "reference-time")]
    reference_time: Option<String>,
    /// The performer's id: their go before an irreversible HSM action.
    #[serde(default)]
    go: Option<String>,
    /// The witness's decisions on the exceptions the tool may raise in this
    /// step, by subject (`clock`, a record field's name).
    #[serde(default)]
    decisions: BTreeMap<String, room::DecisionAnswer>,
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
    check_in: BTreeMap<String, toml::Value>,
    steps: BTreeMap<String, StepAnswers>,
    presence: Vec<room::PresenceAnswer>,
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
    /// A restore's backup custodians' share files, which the ceremony that
    /// backed up wrote: wrap-key shares are read from there.
    backup_shares_dir: Option<PathBuf>,
    /// Where this run writes the shares it hands out
    /// ([`AnswersFile::with_issued_shares`]).
    issued_shares_dir: Option<PathBuf>,
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
        if let Some(why) = toml::from_str::<toml::Value>(&text)
            .ok()
            .and_then(|table| text::refused_text(&table, ""))
        {
            return Err(InputError::Invalid(format!(
                "answers file {}: {why}; correct it and run again",
                path.display()
            )));
        }
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
        skeleton::refuse_placeholders(path, &text)?;
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
            presence: file.presence,
            halt_after: None,
            halted_step_done: false,
            resuming: false,
            shares_dir: None,
            backup_shares_dir: None,
            issued_shares_dir: None,
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

    /// Where a ceremony that re-initialises a token writes the share files
    /// of the new shares it hands out: a share of a secret a custodian's
    /// file there holds is read from it, before
    /// [`AnswersFile::with_rehearsal_shares`]'s folder (which holds the old
    /// shares, of the ceremony that made the token's PINs), so that the
    /// token is activated afterwards with the new ones. Any other ceremony
    /// reads every share from that one folder, so that share files that are
    /// not the ones the run wrote are found at the first read-back.
    pub fn with_issued_shares(mut self, dir: &Path) -> AnswersFile {
        self.issued_shares_dir = Some(dir.to_path_buf());
        self
    }

    /// Where a restore's backup custodians' share files are: wrap-key
    /// shares are read from there rather than from
    /// [`AnswersFile::with_rehearsal_shares`]'s folder.
    pub fn with_backup_shares(mut self, dir: &Path) -> AnswersFile {
        self.backup_shares_dir = Some(dir.to_path_buf());
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
        let mut known_steps = HashSet::new();
        for (_, step) in script.steps() {
            known_steps.insert(step.id.as_str());
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
                        self.check_in_answer(p)?;
                    }
                }
                _ if step.action.activates() => {
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
            self.preflight_room(script, step, answers, rehearsal)?;
        }
        self.preflight_bags(script)?;
        self.preflight_presence(script)?;
        if let Some(unknown) = self
            .steps
            .keys()
            .find(|id| !known_steps.contains(id.as_str()))
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
        _checker: &Participant,
        identified: bool,
    ) -> Result<Attendance, InputError> {
        self.attendance(participant, identified)
    }

    fn presence(
        &mut self,
        step: &Step,
        missing: &[Missing],
    ) -> Result<Vec<PresenceChange>, InputError> {
        self.answer_presence(step, missing)
    }

    fn record(
        &mut self,
        step: &Step,
        field: &RecordField,
        refused: Option<&str>,
    ) -> Result<String, InputError> {
        self.refuse_again(step, &field.name, refused)?;
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

    /// A rehearsal's copy is its share file, read back.
    fn copy_back(
        &mut self,
        _step: &Step,
        custodian: &Participant,
        secret: Secret,
        _number: u8,
    ) -> Result<SecretString, InputError> {
        self.rehearsal_share(custodian, secret)
    }

    fn share_bag(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        _number: u8,
        refused: Option<&str>,
    ) -> Result<String, InputError> {
        self.refuse_again(step, "bag serial", refused)?;
        self.answer_bag(step, custodian, secret, false)
    }

    fn bag_opened(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        refused: Option<&str>,
    ) -> Result<String, InputError> {
        self.refuse_again(step, "bag serial", refused)?;
        self.answer_bag(step, custodian, secret, true)
    }

    fn choose_custodians(
        &mut self,
        step: &Step,
        secret: Secret,
        _eligible: &[Participant],
        _threshold: usize,
    ) -> Result<Vec<String>, InputError> {
        let for_step = self.steps.get(&step.id).map(|a| match secret {
            Secret::SoPin => a.so_custodians.clone(),
            Secret::WrapKey => a.backup_custodians.clone(),
            _ => a.custodians.clone(),
        });
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
        self.rehearsal_share(custodian, secret)
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

    fn clock_reading(
        &mut self,
        step: &Step,
        _witness: &Participant,
    ) -> Result<ClockReading, InputError> {
        self.answer_clock(step)
    }

    fn decide(
        &mut self,
        step: &Step,
        _witness: &Participant,
        raised: &Raised,
    ) -> Result<Decision, InputError> {
        self.answer_decision(step, raised)
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

    fn go(
        &mut self,
        step: &Step,
        performer: &Participant,
        _imminent: &crate::Imminent,
    ) -> Result<(), InputError> {
        self.answer_go(step, performer)
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
