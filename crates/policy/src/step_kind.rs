//! The kind of a script step, as a policy's rules name it.

use keyceremony_script::Action;
use serde::Deserialize;

/// The kind of a script step, as a policy names it. Kept apart from the script's `Action`,
/// which carries the key or certificate a step works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// A step done by people and confirmed by the witness.
    Manual,
    /// Participants check in.
    CheckIn,
    /// The clock is compared with a reference clock.
    ClockCheck,
    /// The token is initialised.
    InitToken,
    /// Dual-control login.
    Login,
    /// Key pair generation.
    GenerateKey,
    /// Signing of the root certificate.
    SelfSign,
    /// Writing out the certificate.
    Export,
    /// Signing of a subordinate CA certificate.
    SignSubordinate,
    /// Signing of the root's CRL.
    SignCrl,
    /// Signing of a cross-certificate.
    SignCross,
    /// Signing of a delegated OCSP responder's certificate.
    SignOcspResponder,
    /// Destruction of the root key.
    DestroyKey,
    /// Backup of the root key.
    BackupKey,
    /// Restore of the root key's backup.
    RestoreKey,
    /// Logout.
    Logout,
    /// Sealing of the ceremony log.
    SealLog,
}

impl StepKind {
    /// The kind of a step's action. The match is exhaustive so that a new action in the
    /// script model cannot compile until a policy can name it.
    pub fn of(action: &Action) -> StepKind {
        match action {
            Action::Manual => StepKind::Manual,
            Action::CheckIn => StepKind::CheckIn,
            Action::ClockCheck => StepKind::ClockCheck,
            Action::InitToken => StepKind::InitToken,
            Action::Login => StepKind::Login,
            Action::GenerateKey { .. } => StepKind::GenerateKey,
            Action::SelfSign { .. } => StepKind::SelfSign,
            Action::Export { .. } => StepKind::Export,
            Action::SignSubordinate { .. } => StepKind::SignSubordinate,
            Action::SignCrl { .. } => StepKind::SignCrl,
            Action::SignCross { .. } => StepKind::SignCross,
            Action::SignOcspResponder { .. } => StepKind::SignOcspResponder,
            Action::DestroyKey { .. } => StepKind::DestroyKey,
            Action::BackupKey { .. } => StepKind::BackupKey,
            Action::RestoreKey { .. } => StepKind::RestoreKey,
            Action::Logout => StepKind::Logout,
            Action::SealLog => StepKind::SealLog,
        }
    }
}
