//! The answers that keep dual control and custody in the room: the
//! performer's go before an irreversible HSM action, and the witness's
//! decisions on the exceptions the tool raises. Checked against the script
//! in [`AnswersFile::preflight`](super::AnswersFile), with a message that
//! says what to write where.

use keyceremony_script::{Action, Participant, Step};
use serde::Deserialize;

use super::{AnswersFile, StepAnswers};
use crate::operator::InputError;
use crate::questions::{Decision, Raised};

/// `[steps."ID".decisions.SUBJECT]`: the witness's decision, written in
/// advance, on an exception the tool raises if it finds the deviation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionAnswer {
    accepted: bool,
    #[serde(default)]
    remark: String,
}

/// What the tool may raise an exception about in `step`.
fn raisable(step: &Step) -> Vec<String> {
    let mut subjects = Vec::new();
    if step.action == Action::ClockCheck {
        subjects.push("clock".to_string());
    }
    subjects
}

/// The actions the performer gives the go for, and what the go is for.
fn go_before(action: &Action) -> Option<&'static str> {
    match action {
        Action::InitToken => Some("the token's initialisation"),
        Action::GenerateKey { .. } => Some("the key generation"),
        Action::SelfSign { .. } => Some("the certificate's signature"),
        _ => None,
    }
}

impl AnswersFile {
    /// Refuses a step's answers that lack, or misplace, a go.
    pub(super) fn preflight_room(
        &self,
        step: &Step,
        answers: &StepAnswers,
    ) -> Result<(), InputError> {
        match (go_before(&step.action), answers.go.as_deref()) {
            (Some(what), None) => Err(self.missing(format!(
                "go = \"{}\" in [steps.\"{}\"]: the performer's go before {what}",
                step.performer, step.id
            ))),
            (Some(what), Some(who)) if who != step.performer => Err(InputError::Invalid(format!(
                "the answers file {} has go = \"{who}\" in [steps.\"{}\"]: the go before {what} is given by the step's performer, '{}'",
                self.path.display(),
                step.id,
                step.performer
            ))),
            _ => Ok(()),
        }?;
        let subjects = raisable(step);
        for (subject, decision) in &answers.decisions {
            if !subjects.contains(subject) {
                return Err(InputError::Invalid(format!(
                    "the answers file {} decides '{subject}' in [steps.\"{}\".decisions], an exception that step cannot raise ({})",
                    self.path.display(),
                    step.id,
                    if subjects.is_empty() {
                        "it raises none".to_string()
                    } else {
                        format!("it can raise: {}", subjects.join(", "))
                    }
                )));
            }
            if !decision.accepted && decision.remark.trim().is_empty() {
                return Err(InputError::Invalid(format!(
                    "the answers file {} does not accept '{subject}' in [steps.\"{}\".decisions] without a remark: a refused exception stops the ceremony, and the witness says why",
                    self.path.display(),
                    step.id
                )));
            }
        }
        Ok(())
    }

    /// The witness's decision on `raised`, as the file gives it.
    pub(super) fn answer_decision(
        &self,
        step: &Step,
        raised: &Raised,
    ) -> Result<Decision, InputError> {
        let decision = self
            .steps
            .get(&step.id)
            .and_then(|a| a.decisions.get(&raised.subject))
            .ok_or_else(|| {
                InputError::Missing(format!(
                    "the tool raised an exception in step {}: {}. The witness decides it; the answers file {} has no decision: add [steps.\"{}\".decisions.{}] with accepted = true or false and a remark, and run again",
                    step.id,
                    raised.description,
                    self.path.display(),
                    step.id,
                    raised.subject
                ))
            })?;
        Ok(Decision {
            accepted: decision.accepted,
            remark: decision.remark.clone(),
        })
    }

    /// The go, as the preflight checked it.
    pub(super) fn answer_go(&self, step: &Step, performer: &Participant) -> Result<(), InputError> {
        match self.steps.get(&step.id).and_then(|a| a.go.as_deref()) {
            Some(who) if who == performer.id => Ok(()),
            _ => Err(self.missing(format!(
                "go = \"{}\" in [steps.\"{}\"]",
                performer.id, step.id
            ))),
        }
    }
}
