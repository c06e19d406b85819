//! sign-ocsp-responder: the root certifies its delegated OCSP responder's key
//! (BR 7.1.2.8; CPS 6.3.2: 125 days at most), from its CSR or public key file.
//! The flow it shares with the other certificates the root signs is in
//! `actions::issue`.

use keyceremony_script::Step;

use crate::EngineError;
use crate::later::issued::ToIssue;
use crate::operator::Operator;
use crate::run::Runner;

impl Runner {
    pub(crate) fn sign_ocsp_responder(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        id: &str,
    ) -> Result<(), EngineError> {
        self.sign_named(operator, step, id, |s, id| {
            s.ocsp_responder(id).map(ToIssue::OcspResponder)
        })
    }
}
