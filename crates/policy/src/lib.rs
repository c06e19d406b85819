//! keyceremony-policy: the CPS rules a root key ceremony must meet, checked before and after
//! every signature. A root certificate cannot be fixed once it is in a root store, so every
//! rule is checked before the HSM is asked for anything and the result is checked again.
//!
//! - [`Policy`]: a policy file (`ceremony-scripts/policy/<name>.toml`) holding the rules of a
//!   CPS as data, each with its section.
//! - [`check_script`] / [`check_loaded_script`]: a ceremony script against its policy
//!   (algorithms, validity, two-person control, activation data, witness, separation of
//!   duties), every violation citing the policy's section.
//! - [`Inventory`]: the subjects and public keys of every ceremony run, so that no subject
//!   name or private key is ever used twice (CPS 6.3.2).
//! - [`check_public_key`] / [`Policy::check_key`]: the quality of the key the HSM generated
//!   (CPS 6.1.6), and whether the policy allows it (CPS 6.1.5); `check_key` gives a
//!   [`CheckedKey`], so that the same key is not checked again.
//! - [`lint_tbs`] / [`lint_certificate`]: the to-be-signed certificate against the CA/Browser
//!   Forum TLS BR root CA profile and the policy before signing, and the signed certificate
//!   after; [`lint_tbs_of`] takes the key as it was checked.
//! - [`lint_issued_tbs`] / [`lint_issued_certificate`], [`lint_crl_tbs`] / [`lint_crl`]: the
//!   same for what the root signs later (a subordinate CA, a cross-certificate, an OCSP
//!   responder, its CRL), against the policy's [`IssuanceRules`].
//! - [`IssuedRecords`]: the records of those certificates and CRLs, beside the inventory, so
//!   that no subordinate key or subject is reused, a CRL revokes only this root's
//!   certificates, and CRL numbers grow; and of each root key's backups, restores and
//!   destructions, so that a destroyed key is refused and only a recorded backup restored.
//! - [`Policy::check_backup`] / [`Policy::check_destruction`]: whether a root key may be
//!   backed up and by how many custodians (CPS 5.2.2, 6.2.4), and how many authorised
//!   people destroy one (CPS 6.2.10).
//!
//! The arithmetic of the key checks and the DER reading of the certificate live in
//! keyceremony-x509, which runs them on everything it builds; this crate names each result
//! with its section and adds the rules that depend on the policy.

mod check;
mod check_later;
mod custody;
mod error;
mod inventory;
mod issuance;
mod issued_records;
mod jsonl;
mod key;
mod key_records;
mod lint;
mod lint_issued;
mod names;
mod policy;
mod step_kind;

pub use check::{check_loaded_script, check_script};
pub use custody::{BackupRule, DestructionRule};
pub use error::PolicyError;
pub use inventory::{Inventory, InventoryEntry, InventoryLock, REUSE_SECTION};
pub use issuance::{
    CertificatePoliciesRule, CrlRule, CrossCertificateRule, IssuanceRules, OcspResponderRule,
    SubordinateRule,
};
pub use issued_records::{
    CertificateRecord, CrlRecord, IssuedRecord, IssuedRecords, NewCertificate,
};
pub use key::check_public_key;
pub use key_records::{
    DestructionScope, KeyBackupRecord, KeyDestructionRecord, KeyHistory, KeyRestoreRecord,
    sha256_hex,
};
pub use keyceremony_x509::{CheckedKey, KeyCheck, KeyQuality, PublicKeyType};
pub use lint::{Finding, Severity, has_errors, lint_certificate, lint_tbs, lint_tbs_of};
pub use lint_issued::{
    IssuedProfile, lint_crl, lint_crl_tbs, lint_issued_certificate, lint_issued_tbs,
};
pub use policy::{
    AlgorithmPair, AlgorithmRule, ClockRule, CustodiansRule, DutiesRule, Duty, PinSeparationRule,
    Policy, ThresholdRule, ValidityRule, WitnessRule,
};
pub use step_kind::StepKind;
