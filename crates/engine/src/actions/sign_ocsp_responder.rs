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
        let spec = self
            .script
            .script
            .ocsp_responder(id)
            .cloned()
            .ok_or_else(|| {
                EngineError::Refused(format!("OCSP responder '{id}' is not in the script"))
            })?;
        self.sign_certificate(operator, step, ToIssue::OcspResponder(&spec))
    }
}
