//! What a recorded value must be: its format (a SHA-256 is 64 hex digits, a
//! tamper-evident bag's serial letters, digits and '-'), the value the room
//! must read (`expect`), and the bags whose chain of custody it continues
//! (`opens`: the bag an item comes out of; `seals`: the new bag it goes
//! into). The engine checks each value as it is recorded; the rules here
//! check the script itself.

use serde::Deserialize;

use crate::model::{Action, RecordField, Role, Script};
use crate::validate::Violation;

/// The format of a recorded value; a value that does not have it is
/// refused and asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldFormat {
    /// 64 hexadecimal digits (either case; spaces between groups allowed).
    Sha256,
    /// A tamper-evident bag's serial: 1 to 64 letters, digits and '-'.
    BagSerial,
}

impl FieldFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldFormat::Sha256 => "sha256",
            FieldFormat::BagSerial => "bag-serial",
        }
    }

    /// Why `value` does not have this format, if it does not.
    pub fn refuse(self, value: &str) -> Option<String> {
        match self {
            FieldFormat::Sha256 => {
                let digits: String = value.chars().filter(|c| *c != ' ').collect();
                (digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit())).then(|| {
                    format!(
                        "'{value}' is not a SHA-256: a SHA-256 is 64 hexadecimal digits (spaces between groups are allowed)"
                    )
                })
            }
            FieldFormat::BagSerial => bag_serial_refusal(value),
        }
    }

    /// Whether two values are the same reading: a SHA-256 whatever its case
    /// and grouping, anything else exactly.
    pub fn same(self, a: &str, b: &str) -> bool {
        match self {
            FieldFormat::Sha256 => {
                let norm = |s: &str| -> String {
                    s.chars()
                        .filter(|c| *c != ' ')
                        .map(|c| c.to_ascii_uppercase())
                        .collect()
                };
                norm(a) == norm(b)
            }
            FieldFormat::BagSerial => a == b,
        }
    }
}

/// Why `serial` is not a tamper-evident bag's serial, if it is not.
pub fn bag_serial_refusal(serial: &str) -> Option<String> {
    let ok = !serial.is_empty()
        && serial.len() <= 64
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (!ok).then(|| {
        format!(
            "'{serial}' is not a bag serial: read the serial printed on the tamper-evident bag, 1 to 64 letters, digits and '-'"
        )
    })
}

impl RecordField {
    /// The format the value must have: the script's, or a bag serial for a
    /// field that opens or seals a bag.
    pub fn format(&self) -> Option<FieldFormat> {
        self.format.or_else(|| {
            (self.opens.is_some() || self.seals.is_some()).then_some(FieldFormat::BagSerial)
        })
    }
}

fn is_item(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The rules of one record field.
pub(crate) fn field_rules(path: &str, field: &RecordField, v: &mut Vec<Violation>) {
    let mut refuse = |key: &str, message: String| {
        v.push(Violation::new(
            format!("{path}.{key}"),
            Some("CPS 5.4.1"),
            message,
        ));
    };
    for (key, item) in [("opens", &field.opens), ("seals", &field.seals)] {
        if let Some(item) = item
            && !is_item(item)
        {
            refuse(
                key,
                format!("'{item}' names no item: use lower-case letters, digits and '-'"),
            );
        }
    }
    if field.opens.is_some() && field.seals.is_some() {
        refuse(
            "seals",
            format!(
                "record field '{}' both opens and seals a bag: a bag opened and the new one are two fields",
                field.name
            ),
        );
    }
    if (field.opens.is_some() || field.seals.is_some())
        && field.format.is_some_and(|f| f != FieldFormat::BagSerial)
    {
        refuse(
            "format",
            format!(
                "record field '{}' records a bag: its format is bag-serial",
                field.name
            ),
        );
    }
    if let Some(expected) = &field.expect {
        if field.seals.is_some() {
            refuse(
                "expect",
                format!(
                    "record field '{}' seals a new bag: its serial is read in the room, not expected",
                    field.name
                ),
            );
        }
        if let Some(why) = field.format().and_then(|f| f.refuse(expected)) {
            refuse(
                "expect",
                format!("the expected value of '{}': {why}", field.name),
            );
        }
    }
}

/// A check-in step's witness checks everyone else's identity; someone else
/// of the audit duty (a log examiner) checks the witness's (CPS 5.2.4).
pub(crate) fn check_in_rules(script: &Script, v: &mut Vec<Violation>) {
    for (a, act) in script.acts.iter().enumerate() {
        for (s, step) in act.steps.iter().enumerate() {
            if step.action != Action::CheckIn {
                continue;
            }
            let checker = script.participants.iter().any(|p| {
                p.id != step.witness
                    && (p.has_role(Role::LogExaminer) || p.has_role(Role::QualifiedAuditor))
            });
            if !checker {
                v.push(Violation::new(
                    format!("acts[{a}].steps[{s}].witness"),
                    Some("CPS 5.2.4"),
                    format!(
                        "no one else of the audit duty checks the identity of '{}', who checks everyone in at step '{}': add a log-examiner",
                        step.witness, step.id
                    ),
                ));
            }
        }
    }
}
