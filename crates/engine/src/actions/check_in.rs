//! check-in: each participant is recorded in the room, their identity
//! document checked, or absent with the reason (CPS 5.2.3). The step's
//! witness checks everyone else; the witness's own identity is checked by
//! another participant of the audit duty, the log examiner, so that no one
//! vouches for themselves (CPS 5.2.4). A resumed ceremony checks in again,
//! asking only who is there of those identified earlier.

use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Role, Step};
use serde_json::json;

use crate::EngineError;
use crate::operator::Operator;
use crate::questions::Attendance;
use crate::run::{Runner, acting_role};

impl Runner {
    /// Who checks the identity of `witness`, the one who checks everyone
    /// else's: a log examiner in the room, or else another qualified
    /// auditor.
    fn witness_checker(
        &self,
        step: &Step,
        witness: &Participant,
    ) -> Result<Participant, EngineError> {
        let script = &self.script.script;
        [Role::LogExaminer, Role::QualifiedAuditor]
            .iter()
            .find_map(|role| {
                script
                    .participants
                    .iter()
                    .find(|p| p.id != witness.id && p.has_role(*role) && self.room.in_room(&p.id))
            })
            .cloned()
            .ok_or_else(|| EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "no other participant of the audit duty is in the room to check {}'s identity: a log examiner checks the witness (CPS 5.2.4)",
                    witness.name
                ),
            })
    }

    pub(crate) fn check_in(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        witness: &Participant,
    ) -> Result<(), EngineError> {
        let participants = self.script.script.participants.clone();
        for p in &participants {
            let checker = if p.id == witness.id {
                self.witness_checker(step, witness)?
            } else {
                witness.clone()
            };
            let identified = self.room.identified(&p.id);
            let attendance = operator.check_in(step, p, &checker, identified)?;
            let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
            let (description, data) = match attendance {
                Attendance::Identified(identity) => (
                    format!(
                        "{} checked in as {}; identity confirmed by {} ({})",
                        p.name,
                        roles.join(", "),
                        checker.name,
                        identity.document
                    ),
                    json!({ "participant": p.id, "name": p.name, "roles": roles, "document": identity.document, "present": true, "checked_by": checker.id }),
                ),
                Attendance::InRoom if identified => (
                    format!(
                        "{} is in the room (identified earlier in this ceremony), as {} confirms",
                        p.name, checker.name
                    ),
                    json!({ "participant": p.id, "name": p.name, "roles": roles, "present": true, "identified_earlier": true, "checked_by": checker.id }),
                ),
                Attendance::InRoom => {
                    return Err(EngineError::Step {
                        step: step.id.clone(),
                        message: format!(
                            "{}'s identity was never checked in this ceremony: their identity document is checked now",
                            p.name
                        ),
                    });
                }
                Attendance::Absent { reason } if p.id == witness.id => {
                    return Err(EngineError::Step {
                        step: step.id.clone(),
                        message: format!(
                            "{} checks everyone in at step {} and cannot be absent from it ({reason})",
                            p.name, step.id
                        ),
                    });
                }
                Attendance::Absent { reason } => (
                    format!(
                        "{} is absent: {reason} (recorded by {})",
                        p.name, checker.name
                    ),
                    json!({ "participant": p.id, "name": p.name, "roles": roles, "present": false, "reason": reason, "checked_by": checker.id }),
                ),
            };
            self.person_record(
                &checker,
                acting_role(&checker),
                Some(&step.id),
                EventKind::CheckIn,
                description,
                data,
            )?;
        }
        Ok(())
    }
}
