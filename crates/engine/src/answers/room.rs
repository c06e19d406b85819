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
use crate::operator::{Identity, InputError};
use crate::questions::{
    Attendance, Change, ClockReading, Decision, Missing, PresenceChange, Raised,
};

/// `[[presence]]`: a participant leaves (`leaves = "why"`) or comes back
/// (`returns = true`, with `document` for someone absent at the check-in)
/// as step `step` begins.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PresenceAnswer {
    step: String,
    participant: String,
    #[serde(default)]
    leaves: Option<String>,
    #[serde(default)]
    returns: bool,
    #[serde(default)]
    document: Option<String>,
}

/// A check-in answer: the document checked, or why someone is absent.
enum CheckIn {
    Document(String),
    Absent(String),
}

/// `[steps."ID".decisions.SUBJECT]`: the witness's decision, written in
/// advance, on an exception the tool raises if it finds the deviation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionAnswer {
    accepted: bool,
    #[serde(default)]
    remark: String,
}

/// What the tool may raise an exception about in `step`: the clock, a
/// record field with an expected value or a bag to open, the bag of a
/// custodian who activates the token (of `custodians`, those who come
/// forward).
pub(super) fn raisable(step: &Step, custodians: &[String]) -> Vec<String> {
    let mut subjects = Vec::new();
    if step.action == Action::ClockCheck {
        subjects.push("clock".to_string());
    }
    for field in &step.record {
        if field.expect.is_some() || field.opens.is_some() {
            subjects.push(field.name.clone());
        }
    }
    if step.action.activates() {
        subjects.extend(custodians.iter().map(|c| format!("bag-{c}")));
    }
    subjects
}

/// The actions the performer gives the go for, and what the go is for.
pub(super) fn go_before(action: &Action) -> Option<&'static str> {
    match action {
        Action::InitToken => Some("the token's initialisation"),
        Action::GenerateKey { .. } => Some("the key generation"),
        Action::SelfSign { .. } => Some("the certificate's signature"),
        Action::SignSubordinate { .. } => Some("the subordinate CA certificate's signature"),
        Action::SignCrl { .. } => Some("the CRL's signature"),
        Action::SignCross { .. } => Some("the cross-certificate's signature"),
        Action::SignOcspResponder { .. } => Some("the OCSP responder certificate's signature"),
        Action::DestroyKey { .. } => Some("the key's destruction"),
        Action::BackupKey { .. } => Some("the key's backup"),
        Action::RestoreKey { .. } => Some("the backup's restore"),
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
        rehearsal: bool,
    ) -> Result<(), InputError> {
        // A backup or a restore logs the Security Officer in too, and a
        // restore has the backup custodians bring the wrap key. A token's
        // re-initialisation has the user-PIN custodians list its objects and
        // the SO-PIN custodians activate C_InitToken.
        let reinitializes = step.action == Action::InitToken && script.hsm.reinitialize;
        let needs = [
            (
                matches!(
                    step.action,
                    Action::BackupKey { .. } | Action::RestoreKey { .. }
                ) || reinitializes,
                &answers.so_custodians,
                script.activation.so_pin.threshold,
                "SO-PIN custodians who log the Security Officer in",
                "so-custodians",
            ),
            (
                reinitializes,
                &answers.custodians,
                script.activation.user_pin.threshold,
                "user-PIN custodians who list the token's objects",
                "custodians",
            ),
            (
                matches!(step.action, Action::RestoreKey { .. }),
                &answers.backup_custodians,
                script.activation.quorum(Secret::WrapKey).threshold,
                "backup custodians who rebuild the wrap key",
                "backup-custodians",
            ),
        ];
        for (needed, listed, threshold, who, field) in needs {
            if needed && listed.len() != threshold as usize {
                return Err(self.missing(format!(
                    "list of the {threshold} {who}, in step {} ({field} = [...])",
                    step.id
                )));
            }
        }
        match step.action {
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
            Action::ClockCheck => self.preflight_clock(step, answers, rehearsal)?,
            _ => {}
        }
        for field in &step.record {
            let value = answers.record.get(&field.name);
            if let Some(why) = field.format().zip(value).and_then(|(f, v)| f.refuse(v)) {
                return Err(self.invalid(step, &format!("record.{}", field.name), &why));
            }
        }
        if step.action.activates() {
            for custodian in &answers.custodians {
                let bags = answers.bags.get(custodian);
                self.activation_bags(&format!("steps.\"{}\".bags.{custodian}", step.id), bags)?;
            }
        }
        if reinitializes {
            // Their old shares open nothing once the token is re-initialised:
            // they are destroyed, not sealed again.
            for custodian in answers.custodians.iter().chain(&answers.so_custodians) {
                if !answers
                    .bags
                    .get(custodian)
                    .is_some_and(|b| b.contains_key("opened"))
                {
                    return Err(self.missing(format!(
                        "opened = \"...\" in [steps.\"{}\".bags.{custodian}]: the serial of the bag their share of the token as it is comes out of",
                        step.id
                    )));
                }
            }
        }
        if step.action == Action::InitToken {
            for (custodian, bags) in &answers.bags {
                for secret in bags.keys().filter(|k| !(reinitializes && *k == "opened")) {
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
        let subjects = raisable(step, &answers.custodians);
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

impl AnswersFile {
    /// `[check-in] id = "passport"` or `id = { absent = "reason" }`.
    fn check_in_of(&self, participant: &Participant) -> Result<CheckIn, InputError> {
        let malformed = || {
            InputError::Invalid(format!(
                "the answers file {} has a check-in answer for '{}' that is neither the kind of identity document checked (\"passport\") nor {{ absent = \"the reason\" }}",
                self.path.display(),
                participant.id
            ))
        };
        match self.check_in.get(&participant.id) {
            None => Err(self.missing(format!("check-in answer for '{}'", participant.id))),
            Some(toml::Value::String(document)) if !document.trim().is_empty() => {
                Ok(CheckIn::Document(document.clone()))
            }
            Some(toml::Value::Table(table)) if table.len() == 1 => match table.get("absent") {
                Some(toml::Value::String(reason)) if !reason.trim().is_empty() => {
                    Ok(CheckIn::Absent(reason.clone()))
                }
                _ => Err(malformed()),
            },
            Some(_) => Err(malformed()),
        }
    }

    pub(super) fn check_in_answer(&self, participant: &Participant) -> Result<(), InputError> {
        self.check_in_of(participant).map(|_| ())
    }

    /// At a check-in: the document checked, or, for someone identified
    /// earlier in this ceremony (a resume), only that they are there.
    pub(super) fn attendance(
        &self,
        participant: &Participant,
        identified: bool,
    ) -> Result<Attendance, InputError> {
        Ok(match self.check_in_of(participant)? {
            CheckIn::Document(_) if identified => Attendance::InRoom,
            CheckIn::Document(document) => Attendance::Identified(Identity { document }),
            CheckIn::Absent(reason) => Attendance::Absent { reason },
        })
    }

    /// Every `[[presence]]` names a step and a participant of the script,
    /// and either leaves with a reason or returns.
    pub(super) fn preflight_presence(&self, script: &Script) -> Result<(), InputError> {
        for (i, answer) in self.presence.iter().enumerate() {
            let place = format!(
                "the answers file {}, [[presence]] number {}",
                self.path.display(),
                i + 1
            );
            if !script.steps().any(|(_, s)| s.id == answer.step) {
                return Err(InputError::Invalid(format!(
                    "{place}: step '{}' is not in the script",
                    answer.step
                )));
            }
            if script.participant(&answer.participant).is_none() {
                return Err(InputError::Invalid(format!(
                    "{place}: '{}' is not a participant",
                    answer.participant
                )));
            }
            match (&answer.leaves, answer.returns) {
                (Some(reason), false) if !reason.trim().is_empty() => {}
                (None, true) => {}
                _ => {
                    return Err(InputError::Invalid(format!(
                        "{place}: give either leaves = \"the reason\" or returns = true"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The changes the file gives as `step` begins; with `missing`, the
    /// step would wait for people the file never brings back.
    pub(super) fn answer_presence(
        &self,
        step: &Step,
        missing: &[Missing],
    ) -> Result<Vec<PresenceChange>, InputError> {
        if let Some(first) = missing.first() {
            let who: Vec<String> = missing
                .iter()
                .map(|m| {
                    format!(
                        "{} ({}; {})",
                        m.participant.name, m.needed_as, m.whereabouts
                    )
                })
                .collect();
            return Err(self.missing(format!(
                "return of {} before step {}, which needs them in the room: {}. Add [[presence]] step = \"{}\", participant = \"{}\", returns = true",
                first.participant.name,
                step.id,
                who.join("; "),
                step.id,
                first.participant.id
            )));
        }
        let at = chrono::Utc::now();
        Ok(self
            .presence
            .iter()
            .filter(|a| a.step == step.id)
            .map(|a| PresenceChange {
                participant: a.participant.clone(),
                change: match &a.leaves {
                    Some(reason) => Change::Leaves {
                        reason: reason.clone(),
                    },
                    None => Change::Returns {
                        document: a.document.clone(),
                    },
                },
                at,
            })
            .collect())
    }
}

impl AnswersFile {
    /// The reference clock's time, or in a rehearsal "system".
    fn preflight_clock(
        &self,
        step: &Step,
        answers: &StepAnswers,
        rehearsal: bool,
    ) -> Result<(), InputError> {
        match answers.reference_time.as_deref() {
            None => Err(self.missing(format!(
                "reference-time (the reference clock's reading, RFC 3339) in step {}",
                step.id
            ))),
            Some("system") if !rehearsal => Err(InputError::Invalid(format!(
                "step {}: reference-time = \"system\" is for rehearsals only; a ceremony's witness reads a reference clock",
                step.id
            ))),
            Some("system") => Ok(()),
            Some(time) => chrono::DateTime::parse_from_rfc3339(time)
                .map(|_| ())
                .map_err(|e| {
                    InputError::Invalid(format!(
                        "step {}: reference-time '{time}' is not an RFC 3339 time: {e}",
                        step.id
                    ))
                }),
        }
    }

    /// The reference clock's reading as the file gives it, and the
    /// terminal's time now; "system" in a rehearsal is the terminal's own.
    pub(super) fn answer_clock(&self, step: &Step) -> Result<ClockReading, InputError> {
        let system = chrono::Utc::now();
        let reference = match self
            .steps
            .get(&step.id)
            .and_then(|a| a.reference_time.as_deref())
        {
            Some("system") if self.rehearsal => system,
            Some(time) => chrono::DateTime::parse_from_rfc3339(time)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| InputError::Invalid(format!("reference-time '{time}': {e}")))?,
            None => return Err(self.missing(format!("reference-time in step {}", step.id))),
        };
        Ok(ClockReading { reference, system })
    }
}
