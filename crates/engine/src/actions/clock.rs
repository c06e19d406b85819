//! clock-check: the system clock against a reference the witness reads
//! (CPS 5.5.5).

use chrono::Utc;
use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Step};
use serde_json::json;

use crate::EngineError;
use crate::operator::{Notice, Operator};
use crate::run::{Runner, acting_role};

impl Runner {
    /// CPS 5.5.5: the record's time stamps are only as good as the clock.
    pub(crate) fn clock_check(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
    ) -> Result<(), EngineError> {
        let system = Utc::now();
        let reference = operator.reference_time(step, witness, system)?;
        let difference_ms = (system - reference).num_milliseconds();
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
            }),
        )?;
        operator.notify(&Notice::ClockChecked { difference_ms });
        Ok(())
    }
}
