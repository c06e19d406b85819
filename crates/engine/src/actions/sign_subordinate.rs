//! sign-subordinate: the root certifies a subordinate CA's key (BR 7.1.2.6,
//! CPS 6.3.2), from its CSR or public key file, under the script's profile.
//! The flow it shares with the other certificates the root signs is in
//! `actions::issue`.

use keyceremony_script::Step;

use crate::EngineError;
use crate::later::issued::ToIssue;
use crate::operator::Operator;
use crate::run::Runner;

impl Runner {
    pub(crate) fn sign_subordinate(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        id: &str,
    ) -> Result<(), EngineError> {
        self.sign_named(operator, step, id, |s, id| {
            s.subordinate(id).map(ToIssue::Subordinate)
        })
    }
}
