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
//! [activation]            # rehearsal scripts only
//! carol = "first part"
//!
//! [steps."1.4"]
//! witness = "confirm"
//! record = { reference-time = "2026-11-25T10:00:00Z" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keyceremony_script::{Action, Participant, RecordField, Script, Step};
use secrecy::SecretString;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::operator::{Identity, InputError, Notice, Operator, Verdict};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    ceremony: String,
    #[serde(default, rename = "check-in")]
    check_in: BTreeMap<String, String>,
    #[serde(default)]
    activation: BTreeMap<String, String>,
    #[serde(default)]
    steps: BTreeMap<String, StepAnswers>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepAnswers {
    witness: WitnessAnswer,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    record: BTreeMap<String, String>,
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
    ceremony: String,
    check_in: BTreeMap<String, String>,
    activation: BTreeMap<String, SecretString>,
    steps: BTreeMap<String, StepAnswers>,
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

    /// Parses answers text; `path` only names it in errors. The text is
    /// wiped afterwards, since a rehearsal's may hold activation data.
    pub fn parse(path: &Path, text: String) -> Result<AnswersFile, InputError> {
        let text = Zeroizing::new(text);
        let file: File = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    format!(" at line {line}")
                })
                .unwrap_or_default();
            InputError::Invalid(format!(
                "answers file {}{at}: {}",
                path.display(),
                e.message()
            ))
        })?;
        Ok(AnswersFile {
            path: path.to_path_buf(),
            ceremony: file.ceremony,
            check_in: file.check_in,
            activation: file
                .activation
                .into_iter()
                .map(|(who, part)| (who, SecretString::from(part)))
                .collect(),
            steps: file.steps,
            notices: None,
        })
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
    fn preflight(&mut self, script: &Script, rehearsal: bool) -> Result<(), InputError> {
        if self.ceremony != script.ceremony.id {
            return Err(InputError::Invalid(format!(
                "the answers file {} is for ceremony '{}', not '{}'",
                self.path.display(),
                self.ceremony,
                script.ceremony.id
            )));
        }
        if !rehearsal && !self.activation.is_empty() {
            return Err(InputError::Invalid(format!(
                "the answers file {} holds activation data, but '{}' is a production ceremony: activation data is typed at the keyboard by its custodians, never read from a file (CPS 6.4.2); remove the [activation] table",
                self.path.display(),
                script.ceremony.id
            )));
        }
        let mut needs_activation = false;
        let mut known_steps = Vec::new();
        for (_, step) in script.steps() {
            known_steps.push(step.id.as_str());
            let answers = self.steps.get(&step.id).ok_or_else(|| {
                self.missing(format!("[steps.\"{}\"] with the witness's answer", step.id))
            })?;
            if answers.witness == WitnessAnswer::Refuse && answers.remark.is_none() {
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
                Action::InitToken | Action::Login => needs_activation = true,
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
        if needs_activation {
            for custodian in &script.activation.custodians {
                if !self.activation.contains_key(custodian) {
                    return Err(
                        self.missing(format!("[activation] part for custodian '{custodian}'"))
                    );
                }
            }
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

    fn activation_part(
        &mut self,
        _step: &Step,
        custodian: &Participant,
    ) -> Result<SecretString, InputError> {
        self.activation.get(&custodian.id).cloned().ok_or_else(|| {
            self.missing(format!(
                "[activation] part for custodian '{}'",
                custodian.id
            ))
        })
    }

    fn witness(&mut self, step: &Step, _witness: &Participant) -> Result<Verdict, InputError> {
        let answers = self
            .steps
            .get(&step.id)
            .ok_or_else(|| self.missing(format!("witness answer for step {}", step.id)))?;
        Ok(match answers.witness {
            WitnessAnswer::Confirm => Verdict::Confirmed,
            WitnessAnswer::Refuse => Verdict::Refused {
                remark: answers.remark.clone().unwrap_or_default(),
            },
        })
    }

    fn notify(&mut self, notice: &Notice) {
        if let Some(sink) = self.notices.as_mut() {
            sink(notice);
        }
    }
}
