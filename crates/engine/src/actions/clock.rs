//! clock-check: the system clock against a reference the witness reads
//! (CPS 5.5.5). The witness says in advance what the reference clock will
//! show and marks the moment it shows it, so the difference holds no
//! typing time; beyond the policy's limit the tool raises an exception,
//! and the step is not confirmed as scripted without the witness's
//! decision on it.

use chrono::Utc;
use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Step};
use serde_json::json;

use crate::EngineError;
use crate::operator::{Notice, Operator};
use crate::questions::Raised;
use crate::run::{Runner, acting_role};

impl Runner {
    /// CPS 5.5.5: the record's time stamps are only as good as the clock.
    pub(crate) fn clock_check(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
    ) -> Result<(), EngineError> {
        let reading = operator.clock_reading(step, witness)?;
        let (system, reference) = (reading.system, reading.reference);
        let difference_ms = (system - reference).num_milliseconds();
        let rule = self.settings.policy.clock;
        let limit_ms = rule.map(|r| i64::from(r.max_offset_seconds) * 1000);
        let stamp =
            |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.person_record(
            witness,
            acting_role(witness),
            Some(&step.id),
            EventKind::ClockCheck,
            format!(
                "clock check: system {}, reference {}, system minus reference {:.3} s",
                stamp(system),
                stamp(reference),
                difference_ms as f64 / 1000.0
            ),
            json!({
                "system_time": stamp(system),
                "reference_time": stamp(reference),
                "difference_ms": difference_ms,
                "limit_ms": limit_ms,
            }),
        )?;
        operator.notify(&Notice::ClockChecked {
            difference_ms,
            limit_ms,
        });
        match rule {
            Some(rule) if difference_ms.abs() > i64::from(rule.max_offset_seconds) * 1000 => {
                let raised = Raised {
                    subject: "clock".to_string(),
                    description: format!(
                        "the terminal's clock is {:+.3} s off the reference clock, beyond the {} s that policy '{}' allows ({}): the log's time stamps and the certificate's notBefore come from it",
                        difference_ms as f64 / 1000.0,
                        rule.max_offset_seconds,
                        self.settings.policy.name,
                        rule.section
                    ),
                };
                self.raise(operator, step, witness, raised)
            }
            _ => Ok(()),
        }
    }
}
