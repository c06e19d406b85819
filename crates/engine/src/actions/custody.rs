//! The chain of custody of every tamper-evident bag (CPS 5.4.1, 6.4.2): a
//! share's bag is recorded when it is handed out; at every activation each
//! custodian reads the serial of the bag they open, checked against the
//! last serial recorded for that share, and the new bag it goes back into;
//! an item's bags likewise (`opens`, `seals` on a record field). A value
//! of the wrong format, or a new bag's serial used before, is refused and
//! asked again; a bag or a value other than the one expected is an
//! exception the witness decides.

use keyceremony_log::EventKind;
use keyceremony_script::{Participant, RecordField, Role, Secret, Step, bag_serial_refusal};
use serde_json::json;

use crate::EngineError;
use crate::operator::{InputError, Operator};
use crate::questions::Raised;
use crate::room::share_item;
use crate::run::{Runner, acting_role};

/// Asks until the answer passes `refuse`, showing each refusal with the
/// next question.
fn asked_until_valid(
    operator: &mut dyn Operator,
    mut ask: impl FnMut(&mut dyn Operator, Option<&str>) -> Result<String, InputError>,
    refuse: impl Fn(&str) -> Option<String>,
) -> Result<String, InputError> {
    let mut refused: Option<String> = None;
    loop {
        let value = ask(operator, refused.as_deref())?;
        match refuse(&value) {
            None => return Ok(value),
            Some(why) => refused = Some(why),
        }
    }
}

impl Runner {
    /// Why `serial` cannot be a new bag's: not a serial, or one the log
    /// records already.
    fn new_bag_refusal(&self, serial: &str) -> Option<String> {
        bag_serial_refusal(serial).or_else(|| {
            self.room.bag_held(serial).map(|held| {
                format!(
                    "bag serial {serial} is recorded already (that bag held {held}): every bag has a serial of its own; read the new bag's serial again"
                )
            })
        })
    }

    /// The serial of a new bag for `custodian`'s share of `secret`.
    pub(super) fn new_share_bag(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        number: u8,
    ) -> Result<String, EngineError> {
        Ok(asked_until_valid(
            operator,
            |op, refused| op.share_bag(step, custodian, secret, number, refused),
            |serial| self.new_bag_refusal(serial),
        )?)
    }

    /// `custodian` reads the serial of the bag holding their share of
    /// `secret` before opening it; one other than the last recorded for it
    /// is an exception the step's witness decides.
    pub(super) fn open_share_bag(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
    ) -> Result<(), EngineError> {
        let serial = asked_until_valid(
            operator,
            |op, refused| op.bag_opened(step, custodian, secret, refused),
            bag_serial_refusal,
        )?;
        let item = share_item(secret, &custodian.id);
        let expected = self.room.current_bag(&item).map(str::to_string);
        let matches = expected.as_deref().is_none_or(|e| e == serial);
        self.person_record(
            custodian,
            Role::Custodian,
            Some(&step.id),
            EventKind::BagOpened,
            format!(
                "{} opened bag {serial} holding their {} share{}",
                custodian.name,
                secret.as_str(),
                match (&expected, matches) {
                    (Some(_), true) => ", the last recorded for it".to_string(),
                    (Some(e), false) => format!(", NOT the last recorded for it ({e})"),
                    (None, _) => String::new(),
                }
            ),
            json!({
                "custodian": custodian.id,
                "secret": secret.as_str(),
                "serial": serial,
                "expected": expected,
                "matches": matches,
            }),
        )?;
        match expected {
            Some(expected) if !matches => {
                let witness = self.participant(&step.witness)?;
                let raised = Raised {
                    subject: format!("bag-{}", custodian.id),
                    description: format!(
                        "{} opened bag {serial} for their {} share, but the last bag recorded for it is {expected}: the bag may have been swapped",
                        custodian.name,
                        secret.as_str()
                    ),
                };
                self.raise(operator, step, &witness, raised)
            }
            _ => Ok(()),
        }
    }

    /// After an activation: each custodian who opened their bag for it
    /// seals their share in a new one.
    pub(super) fn reseal_share_bags(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        secret: Secret,
        custodians: &[String],
    ) -> Result<(), EngineError> {
        for id in custodians {
            let custodian = self.participant(id)?;
            let number = self.room.share_of(secret, id).unwrap_or_default();
            let serial = self.new_share_bag(operator, step, &custodian, secret, number)?;
            self.person_record(
                &custodian,
                Role::Custodian,
                Some(&step.id),
                EventKind::BagSealed,
                format!(
                    "{} sealed their {} share in new bag {serial}",
                    custodian.name,
                    secret.as_str()
                ),
                json!({ "custodian": id, "secret": secret.as_str(), "serial": serial }),
            )?;
        }
        Ok(())
    }

    /// A value the script asks to record: refused and asked again when its
    /// format is wrong or it seals an item in a bag used before; an
    /// exception the witness decides when it is not the value expected
    /// (the script's `expect`, or the last bag recorded for the item it
    /// opens).
    pub(crate) fn record_field(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        performer: &Participant,
        field: &RecordField,
    ) -> Result<(), EngineError> {
        let format = field.format();
        let value = asked_until_valid(
            operator,
            |op, refused| op.record(step, field, refused),
            |value| {
                format.and_then(|f| f.refuse(value)).or_else(|| {
                    field
                        .seals
                        .as_ref()
                        .and_then(|_| self.new_bag_refusal(value))
                })
            },
        )?;
        let expected = field.expect.clone().or_else(|| {
            field
                .opens
                .as_ref()
                .and_then(|item| self.room.current_bag(item).map(str::to_string))
        });
        let matches = expected
            .as_deref()
            .map(|e| format.map_or(e == value, |f| f.same(e, &value)));
        let mut data = json!({ "field": field.name, "label": field.label, "value": value });
        for (key, item) in [("opens", &field.opens), ("seals", &field.seals)] {
            if let Some(item) = item {
                data[key] = json!(item);
            }
        }
        if let Some(expected) = &expected {
            data["expected"] = json!(expected);
            data["matches"] = json!(matches);
        }
        self.person_record(
            performer,
            acting_role(performer),
            Some(&step.id),
            EventKind::Recorded,
            format!("{}: {value}", field.label),
            data,
        )?;
        match (expected, matches) {
            (Some(expected), Some(false)) => {
                let witness = self.participant(&step.witness)?;
                let raised = Raised {
                    subject: field.name.clone(),
                    description: format!(
                        "{}: '{value}' was read, but {} '{expected}'",
                        field.label,
                        if field.expect.is_some() {
                            "the script expects"
                        } else {
                            "the last bag recorded for it is"
                        }
                    ),
                };
                self.raise(operator, step, &witness, raised)
            }
            _ => Ok(()),
        }
    }
}
