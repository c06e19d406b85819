//! Who is in the room (CPS 5.2.2, 5.2.3): participants leave and come
//! back, with the times, and every step checks before it begins that its
//! performer, its witness and the custodians it needs are in the room; it
//! waits for them (or for the room to abort) otherwise.

use keyceremony_log::EventKind;
use keyceremony_script::{Action, Participant, Secret, Step};
use serde_json::json;

use crate::EngineError;
use crate::operator::Operator;
use crate::questions::{Change, Missing, PresenceChange};
use crate::run::{Runner, acting_role};

impl Runner {
    /// Records who left and came back since the last step, then waits until
    /// everyone `step` needs is in the room. Before the first check-in no
    /// one's presence is known, and a check-in step establishes it.
    pub(crate) fn ensure_present(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
    ) -> Result<(), EngineError> {
        if !self.room.checked_in() {
            return Ok(());
        }
        let changes = operator.presence(step, &[])?;
        self.record_presence(step, changes)?;
        if step.action == Action::CheckIn {
            return Ok(());
        }
        loop {
            let missing = self.missing(step)?;
            if missing.is_empty() {
                return Ok(());
            }
            let changes = operator.presence(step, &missing)?;
            self.record_presence(step, changes)?;
        }
    }

    fn record_presence(
        &mut self,
        step: &Step,
        changes: Vec<PresenceChange>,
    ) -> Result<(), EngineError> {
        let refuse = |message: String| EngineError::Step {
            step: step.id.clone(),
            message,
        };
        for PresenceChange {
            participant,
            change,
            at,
        } in changes
        {
            let who = self.participant(&participant)?;
            let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let in_room = self.room.in_room(&who.id);
            let (description, data) = match change {
                Change::Leaves { .. } if !in_room => {
                    return Err(refuse(format!(
                        "{} cannot leave the room: they are not in it ({})",
                        who.name,
                        self.room.whereabouts(&who.id)
                    )));
                }
                Change::Leaves { reason } => (
                    format!("{} leaves the room at {at}: {reason}", who.name),
                    json!({ "participant": who.id, "change": "leaves", "reason": reason, "at": at }),
                ),
                Change::Returns { .. } if in_room => {
                    return Err(refuse(format!("{} is in the room already", who.name)));
                }
                Change::Returns { document: None } if !self.room.identified(&who.id) => {
                    return Err(refuse(format!(
                        "{}'s identity was never checked in this ceremony: the witness checks their identity document as they come in",
                        who.name
                    )));
                }
                Change::Returns { document } => (
                    match &document {
                        Some(document) => format!(
                            "{} comes into the room at {at}; identity confirmed ({document})",
                            who.name
                        ),
                        None => format!("{} comes back into the room at {at}", who.name),
                    },
                    json!({ "participant": who.id, "change": "returns", "document": document, "at": at }),
                ),
            };
            self.person_record(
                &who,
                acting_role(&who),
                Some(&step.id),
                EventKind::Presence,
                description,
                data,
            )?;
        }
        Ok(())
    }

    /// Everyone `step` needs who is not in the room: its performer and its
    /// witness; for an activation, enough custodians of the user PIN; for
    /// the token's initialisation, every custodian, who each receive a
    /// share.
    fn missing(&self, step: &Step) -> Result<Vec<Missing>, EngineError> {
        let mut missing = Vec::new();
        let mut need = |p: Participant, needed_as: String| {
            if !self.room.in_room(&p.id) {
                let whereabouts = self.room.whereabouts(&p.id);
                let identified = self.room.identified(&p.id);
                missing.push(Missing {
                    participant: p,
                    needed_as,
                    whereabouts,
                    identified,
                });
            }
        };
        need(
            self.participant(&step.performer)?,
            format!("the performer of step {}", step.id),
        );
        need(
            self.participant(&step.witness)?,
            format!("the witness of step {}", step.id),
        );
        let activation = &self.script.script.activation;
        match step.action {
            _ if step.action.activates() => {
                // A backup logs the Security Officer in too, and hands the
                // wrap key's shares to every backup custodian.
                let backs_up = matches!(step.action, Action::BackupKey { .. });
                let secrets: &[Secret] = match &step.action {
                    Action::BackupKey { .. } => &[Secret::SoPin, Secret::UserPin],
                    Action::RestoreKey { .. } => &[Secret::WrapKey, Secret::SoPin, Secret::UserPin],
                    _ => &[Secret::UserPin],
                };
                for secret in secrets {
                    let quorum = activation.quorum(*secret);
                    let here = quorum
                        .custodians
                        .iter()
                        .filter(|id| self.room.in_room(id))
                        .count();
                    if here < quorum.threshold as usize {
                        for id in &quorum.custodians {
                            need(
                                self.participant(id)?,
                                format!(
                                    "a custodian of the {}: {} of them are needed, {here} in the room",
                                    secret.as_str(),
                                    quorum.threshold
                                ),
                            );
                        }
                    }
                }
                if backs_up {
                    for id in &activation.quorum(Secret::WrapKey).custodians {
                        need(
                            self.participant(id)?,
                            "a backup custodian, who receives a share of the wrap key".to_string(),
                        );
                    }
                }
            }
            Action::InitToken if !self.recovery.as_ref().is_some_and(|r| r.token_ready) => {
                for secret in Secret::ALL {
                    for id in &activation.quorum(secret).custodians {
                        need(
                            self.participant(id)?,
                            format!(
                                "a custodian of the {}, who receives a share",
                                secret.as_str()
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
        Ok(missing)
    }
}
