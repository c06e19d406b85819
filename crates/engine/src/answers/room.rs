//! The answers that keep dual control and custody in the room: the
//! performer's go before an irreversible HSM action, the witness's
//! decisions on the exceptions the tool raises, and the bags each share and
//! item is taken out of and sealed in. Checked against the script
//! in [`AnswersFile::preflight`](super::AnswersFile), with a message that
//! says what to write where.

use std::collections::BTreeMap;

use keyceremony_script::{Action, Participant, Script, Secret, Step, bag_serial_refusal};
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

/// Whether `action` activates the token: its custodians open their bags.
fn activates(action: &Action) -> bool {
    matches!(
        action,
        Action::Login | Action::SelfSign { .. } | Action::SealLog
    )
}

/// What the tool may raise an exception about in `step`: the clock, a
/// record field with an expected value or a bag to open, the bag of a
/// custodian who activates the token.
fn raisable(step: &Step, answers: &StepAnswers) -> Vec<String> {
    let mut subjects = Vec::new();
    if step.action == Action::ClockCheck {
        subjects.push("clock".to_string());
    }
    for field in &step.record {
        if field.expect.is_some() || field.opens.is_some() {
            subjects.push(field.name.clone());
        }
    }
    if activates(&step.action) {
        subjects.extend(answers.custodians.iter().map(|c| format!("bag-{c}")));
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
        script: &Script,
        step: &Step,
        answers: &StepAnswers,
    ) -> Result<(), InputError> {
        for field in &step.record {
            let value = answers.record.get(&field.name);
            if let Some(why) = field.format().zip(value).and_then(|(f, v)| f.refuse(v)) {
                return Err(self.invalid(step, &format!("record.{}", field.name), &why));
            }
        }
        if activates(&step.action) {
            for custodian in &answers.custodians {
                let bags = answers.bags.get(custodian);
                self.activation_bags(&format!("steps.\"{}\".bags.{custodian}", step.id), bags)?;
            }
        }
        if step.action == Action::InitToken {
            for (custodian, bags) in &answers.bags {
                for secret in bags.keys() {
                    let holds = Secret::ALL.iter().any(|s| {
                        s.as_str() == secret
                            && script.activation.quorum(*s).custodians.contains(custodian)
                    });
                    if !holds {
                        return Err(self.invalid(
                            step,
                            &format!("bags.{custodian}.{secret}"),
                            &format!("{custodian} receives no share of the {secret}"),
                        ));
                    }
                }
            }
        }
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
        let subjects = raisable(step, answers);
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

impl AnswersFile {
    fn invalid(&self, step: &Step, key: &str, why: &str) -> InputError {
        InputError::Invalid(format!(
            "the answers file {}, [steps.\"{}\"] {key}: {why}",
            self.path.display(),
            step.id
        ))
    }

    /// An activation's bags: `opened` and `new`, each a bag serial.
    fn activation_bags(
        &self,
        table: &str,
        bags: Option<&BTreeMap<String, String>>,
    ) -> Result<(), InputError> {
        let bags = bags.ok_or_else(|| {
            self.missing(format!(
                "[{table}] with opened = \"...\" (the serial of the bag the share comes out of) and new = \"...\" (the bag it goes back into)"
            ))
        })?;
        for key in ["opened", "new"] {
            if !bags.contains_key(key) {
                return Err(self.missing(format!("{key} = \"...\" in [{table}]")));
            }
        }
        if let Some(other) = bags.keys().find(|k| *k != "opened" && *k != "new") {
            return Err(InputError::Invalid(format!(
                "the answers file {} has '{other}' in [{table}]: an activation's bags are opened and new",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Every bag serial in the file is one, and every new bag's serial is
    /// given once: a share handed out, a share resealed, an item sealed.
    pub(super) fn preflight_bags(&self, script: &Script) -> Result<(), InputError> {
        let mut new: Vec<(String, String)> = Vec::new();
        let mut check = |serial: &str, place: String, is_new: bool| {
            if let Some(why) = bag_serial_refusal(serial) {
                return Err(InputError::Invalid(format!(
                    "the answers file {}, {place}: {why}",
                    self.path.display()
                )));
            }
            if is_new {
                if let Some((_, first)) = new.iter().find(|(s, _)| s == serial) {
                    return Err(InputError::Invalid(format!(
                        "the answers file {} gives bag serial {serial} twice ({first} and {place}): every new bag has a serial of its own",
                        self.path.display()
                    )));
                }
                new.push((serial.to_string(), place));
            }
            Ok(())
        };
        for (_, step) in script.steps() {
            let Some(answers) = self.steps.get(&step.id) else {
                continue;
            };
            for (custodian, bags) in &answers.bags {
                for (key, serial) in bags {
                    let place = format!("[steps.\"{}\".bags.{custodian}] {key}", step.id);
                    check(serial, place, key != "opened")?;
                }
            }
            for field in step.record.iter().filter(|f| f.seals.is_some()) {
                if let Some(serial) = answers.record.get(&field.name) {
                    check(
                        serial,
                        format!("[steps.\"{}\"] {}", step.id, field.name),
                        true,
                    )?;
                }
            }
        }
        // Whether an activation happens on resuming is known only then: a
        // missing bag is asked for when it is needed.
        if let Some(resume) = &self.resume {
            for (custodian, bags) in &resume.bags {
                self.activation_bags(&format!("resume.bags.{custodian}"), Some(bags))?;
                for (key, serial) in bags {
                    check(
                        serial,
                        format!("[resume.bags.{custodian}] {key}"),
                        key == "new",
                    )?;
                }
            }
        }
        Ok(())
    }

    /// An answer the engine refused: a file cannot be asked again.
    pub(super) fn refuse_again(
        &self,
        step: &Step,
        what: &str,
        refused: Option<&str>,
    ) -> Result<(), InputError> {
        match refused {
            Some(why) => Err(InputError::Invalid(format!(
                "the answers file {} gives a {what} in step {} that the tool refuses: {why}. Correct it and run again",
                self.path.display(),
                step.id
            ))),
            None => Ok(()),
        }
    }

    /// The bags `custodian` answers for this step: the step's, or on
    /// resuming (and for an abort's seal) those of [resume].
    fn bags_for(&self, step: &Step, custodian: &Participant) -> Option<&BTreeMap<String, String>> {
        let in_step = self
            .steps
            .get(&step.id)
            .and_then(|a| a.bags.get(&custodian.id));
        let on_resume = self.resume.as_ref().and_then(|r| r.bags.get(&custodian.id));
        match (in_step, on_resume) {
            (Some(bags), _) if !self.resuming => Some(bags),
            (_, Some(bags)) => Some(bags),
            (bags, None) => bags,
        }
    }

    /// A bag serial: handed out (`init-token`: by secret), opened or new.
    pub(super) fn answer_bag(
        &self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        opened: bool,
    ) -> Result<String, InputError> {
        let key = match (opened, &step.action) {
            (true, _) => "opened",
            (false, Action::InitToken) => secret.as_str(),
            (false, _) => "new",
        };
        self.bags_for(step, custodian)
            .and_then(|bags| bags.get(key))
            .cloned()
            .ok_or_else(|| {
                self.missing(format!(
                    "{key} = \"...\" in [steps.\"{}\".bags.{}] (or [resume.bags.{}] for an activation on resuming): the serial of {}'s bag of the {}",
                    step.id,
                    custodian.id,
                    custodian.id,
                    custodian.name,
                    secret.as_str()
                ))
            })
    }
}
