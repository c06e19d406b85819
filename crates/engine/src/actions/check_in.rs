//! check-in: the witness confirms each participant's identity before the
//! HSM is used, and again when a ceremony resumes (CPS 5.2.3).

use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Step};
use serde_json::json;

use crate::EngineError;
use crate::operator::Operator;
use crate::run::{Runner, acting_role};

impl Runner {
    pub(crate) fn check_in(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
    ) -> Result<(), EngineError> {
        let participants = self.script.script.participants.clone();
        for p in &participants {
            let identity = operator.check_in(step, p, witness)?;
            let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
            self.person_record(
                witness,
                acting_role(witness),
                Some(&step.id),
                EventKind::CheckIn,
                format!(
                    "{} checked in as {}; identity confirmed by {} ({})",
                    p.name,
                    roles.join(", "),
                    witness.name,
                    identity.document
                ),
                json!({ "participant": p.id, "name": p.name, "roles": roles, "document": identity.document }),
            )?;
            self.checked_in.push(p.id.clone());
        }
        Ok(())
    }
}
