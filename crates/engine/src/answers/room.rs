//! The answers that keep dual control and custody in the room: the
//! performer's go before an irreversible HSM action. Checked against the
//! script in [`AnswersFile::preflight`](super::AnswersFile), with a message
//! that says what to write where.

use keyceremony_script::{Action, Participant, Step};

use super::{AnswersFile, StepAnswers};
use crate::operator::InputError;

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
        }
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
