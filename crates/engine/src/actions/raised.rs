//! Exceptions the tool raises itself: a deviation it found (a clock beyond
//! the policy's limit, a value other than the one expected) is put to the
//! step's witness, whose decision is recorded as a numbered exception; one
//! the witness does not accept stops the step.

use keyceremony_script::{Participant, Step};

use crate::EngineError;
use crate::operator::{ExceptionReport, Operator};
use crate::questions::Raised;
use crate::run::Runner;

impl Runner {
    pub(super) fn raise(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
        raised: Raised,
    ) -> Result<(), EngineError> {
        let decision = operator.decide(step, witness, &raised)?;
        let performer = self.participant(&step.performer)?;
        let report = ExceptionReport {
            description: raised.description,
            accepted: decision.accepted,
            remark: decision.remark,
        };
        self.exception(
            operator,
            step,
            &performer,
            witness,
            report,
            Some(&raised.subject),
        )
    }
}
