//! Errors of this crate: each says what is wrong, which rule it breaks and what to do.

use std::path::PathBuf;

use keyceremony_script::Location;
use keyceremony_x509::{KeyCheck, X509Error};

/// Everything that can go wrong reading a policy or the inventory, or checking a key.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file cannot be read.
    #[error("cannot read the policy {path}: {source}")]
    Read {
        /// The policy file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The policy file is not valid TOML for the policy format, or one of its rules cannot
    /// be enforced as written.
    #[error("{path}:{location}: {message}; correct the policy (docs/policy.md)")]
    InvalidPolicy {
        /// The policy file.
        path: PathBuf,
        /// Where in it.
        location: Location,
        /// What is wrong.
        message: String,
    },

    /// A script names a policy that cannot be a file name in the policy folder.
    #[error(
        "policy name '{0}' must be 1 to 64 lower-case letters, digits and '-' (it names \
         policy/<name>.toml beside the script)"
    )]
    InvalidPolicyName(String),

    /// The public key fails a check of CPS 6.1.5 or 6.1.6, or cannot be read.
    #[error("{source} [{section}]")]
    PublicKey {
        /// The section of the rule that failed.
        section: &'static str,
        /// What keyceremony-x509 found, naming the failed check.
        source: X509Error,
    },

    /// The key is sound but the policy does not allow its algorithm.
    #[error(
        "{key} keys are not allowed by policy '{policy}', which allows {allowed} [{section}]; \
         generate a key of an allowed type"
    )]
    KeyNotAllowed {
        /// The key found (`RSA-2048`, ...).
        key: String,
        /// The policy's name.
        policy: String,
        /// What the policy allows.
        allowed: String,
        /// The policy's section for algorithms.
        section: &'static str,
    },

    /// The key was already certified by an earlier ceremony.
    #[error(
        "the public key (SPKI SHA-256 {public_key_sha256}) was already certified as \
         '{key_label}' in ceremony '{ceremony_id}' on {time}: a private key is never reused \
         [{section}]; generate a new key"
    )]
    ReusedKey {
        /// Upper-case hex SHA-256 of the subjectPublicKeyInfo.
        public_key_sha256: String,
        /// The earlier ceremony.
        ceremony_id: String,
        /// The earlier key label.
        key_label: String,
        /// When it was recorded (RFC 3339).
        time: String,
        /// CPS 6.3.2.
        section: &'static str,
    },

    /// The inventory could not record a certificate: found before any signature.
    #[error(
        "the inventory {path} could not record the certificate this ceremony signs: {reason}; \
         name a usable file with --inventory before the ceremony starts (CPS 6.3.2)"
    )]
    InventoryUnusable {
        /// The inventory file.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// Another ceremony holds the inventory's lock.
    #[error(
        "another keyceremony process is running a ceremony on the inventory {path}: ceremonies that share an inventory run one at a time, so that no two certify the same subject or key (CPS 6.3.2). Finish or stop the other ceremony first"
    )]
    InventoryInUse {
        /// The inventory file.
        path: PathBuf,
    },

    /// The inventory file cannot be read or written.
    #[error("inventory {path}: {source}")]
    InventoryIo {
        /// The inventory file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A line of the inventory is not an entry: the record of earlier ceremonies cannot be
    /// trusted to prove that nothing is reused.
    #[error(
        "inventory {path}:{line}: {message}; the inventory is append-only, so restore it from \
         its offline copy rather than editing it"
    )]
    InventoryCorrupt {
        /// The inventory file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// An entry to record is not well formed.
    #[error("inventory entry refused: {0}")]
    InvalidEntry(String),
}

impl PolicyError {
    /// The CPS 6.1.6 check a key failed, when that is the error.
    pub fn failed_key_check(&self) -> Option<KeyCheck> {
        match self {
            Self::PublicKey {
                source: X509Error::WeakKey { check, .. },
                ..
            } => Some(*check),
            _ => None,
        }
    }

    /// The section of the rule the error enforces, when it enforces one.
    pub fn section(&self) -> Option<&'static str> {
        match self {
            Self::PublicKey { section, .. }
            | Self::KeyNotAllowed { section, .. }
            | Self::ReusedKey { section, .. } => Some(section),
            _ => None,
        }
    }
}
