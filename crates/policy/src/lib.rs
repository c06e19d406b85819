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
//!
//! The arithmetic of the key checks and the DER reading of the certificate live in
//! keyceremony-x509, which runs them on everything it builds; this crate names each result
//! with its section and adds the rules that depend on the policy.

mod check;
mod error;
mod inventory;
mod key;
mod lint;
mod policy;

pub use check::{check_loaded_script, check_script};
pub use error::PolicyError;
pub use inventory::{Inventory, InventoryEntry, REUSE_SECTION};
pub use key::check_public_key;
pub use keyceremony_x509::{CheckedKey, KeyCheck, KeyQuality, PublicKeyType};
pub use lint::{Finding, Severity, has_errors, lint_certificate, lint_tbs, lint_tbs_of};
pub use policy::{
    AlgorithmPair, AlgorithmRule, CustodiansRule, DutiesRule, Duty, Policy, StepKind,
    ThresholdRule, ValidityRule, WitnessRule,
};
