//! The one way operator input reaches the engine. The answers file and the
//! TUI both implement [`Operator`], so the engine runs the same with or
//! without a terminal.

use keyceremony_script::{Participant, RecordField, Script, Step};
use secrecy::SecretString;

/// The witness's word at the end of a step (CPS 6.1.1 item 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Confirmed,
    Refused { remark: String },
}

/// What the witness checked to confirm a participant's identity (CPS 5.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The kind of document shown, e.g. "passport"; never its number.
    pub document: String,
}

/// Things the operators should see as the ceremony runs; a driver may show
/// them or not, the log records them either way.
#[derive(Debug, Clone)]
pub enum Notice {
    StepBegin {
        act: String,
        step: String,
        title: String,
        performer: String,
        witness: String,
    },
    /// The HSM is working; RSA-4096 generation can take minutes.
    HsmWorking {
        what: String,
    },
    KeyGenerated {
        label: String,
        uri: String,
        public_key_sha256: String,
    },
    CertificateSigned {
        label: String,
        subject: String,
        serial: String,
        sha256: String,
    },
    FileWritten {
        path: String,
        sha256: String,
    },
    LoginFailed {
        attempt: u32,
        limit: u32,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the operators aborted the ceremony: {reason}")]
    Aborted { reason: String },
}

/// Operator input. Each method is one thing a person in the room does.
pub trait Operator {
    /// Called before anything is written or the HSM is touched: a driver
    /// that holds its inputs in advance (an answers file) checks here that
    /// it has every one the script will ask for.
    fn preflight(&mut self, script: &Script, rehearsal: bool) -> Result<(), InputError>;

    /// The witness confirms `participant`'s identity.
    fn check_in(
        &mut self,
        step: &Step,
        participant: &Participant,
        witness: &Participant,
    ) -> Result<Identity, InputError>;

    /// A value read in the room, such as a bag serial.
    fn record(&mut self, step: &Step, field: &RecordField) -> Result<String, InputError>;

    /// A custodian's piece of the activation data, typed without echo.
    fn activation_part(
        &mut self,
        step: &Step,
        custodian: &Participant,
    ) -> Result<SecretString, InputError>;

    /// The witness confirms or refuses the step just performed.
    fn witness(&mut self, step: &Step, witness: &Participant) -> Result<Verdict, InputError>;

    fn notify(&mut self, notice: &Notice);
}
