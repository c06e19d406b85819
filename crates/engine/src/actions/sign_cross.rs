//! sign-cross: the root cross-certifies an existing CA certificate (BR
//! 7.1.2.2, CPS 6.1.7), keeping its subject, key, subjectKeyIdentifier and
//! pathLenConstraint.
//! The flow it shares with the other certificates the root signs is in
//! `actions::issue`.

use keyceremony_script::Step;

use crate::EngineError;
use crate::later::issued::ToIssue;
use crate::operator::Operator;
use crate::run::Runner;

impl Runner {
    pub(crate) fn sign_cross(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        id: &str,
    ) -> Result<(), EngineError> {
        self.sign_named(operator, step, id, |s, id| {
            s.cross_certificate(id).map(ToIssue::Cross)
        })
    }
}
