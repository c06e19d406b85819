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

    /// The subject was already certified by an earlier ceremony.
    #[error(
        "subject '{subject}' was already certified in ceremony '{ceremony_id}' on {time} \
         (certificate SHA-256 {certificate_sha256}): a subject name is never reused \
         [{section}]; choose another subject"
    )]
    ReusedSubject {
        /// The subject, RFC 4514.
        subject: String,
        /// The earlier ceremony.
        ceremony_id: String,
        /// When it was recorded (RFC 3339).
        time: String,
        /// The earlier certificate's SHA-256.
        certificate_sha256: String,
        /// CPS 6.3.2.
        section: &'static str,
    },

    /// The CRL does not follow the last one the records hold for this root.
    #[error("{problem} [{section}]")]
    CrlSequence {
        /// What is wrong, and what to do.
        problem: String,
        /// The rule.
        section: &'static str,
    },

    /// The records hold no certificate of this serial number issued by this root.
    #[error(
        "no certificate with serial number {serial} issued by {issuer} is in the records: a \
         CRL lists only its issuer's certificates [{section}]; give the certificate itself, \
         or check the serial number"
    )]
    NotIssued {
        /// The serial number, hex.
        serial: String,
        /// The root, RFC 4514.
        issuer: String,
        /// BR 7.2.
        section: &'static str,
    },

    /// The policy does not let a root key be backed up.
    #[error(
        "policy '{policy}' does not allow a root key to be backed up [{section}]: its private \
         key stays on its token (generate it without backup), or follow a policy whose \
         [backup] table allows it"
    )]
    BackupNotAllowed {
        /// The policy's name.
        policy: String,
        /// The section of its backup rule, or of its two-person control without one.
        section: &'static str,
    },

    /// A backup's wrap key would be split below the policy's quorum.
    #[error(
        "the backup's wrap key would be split below the quorum of policy '{policy}': {problem} \
         [{section}]; name more backup custodians or a higher threshold"
    )]
    BackupQuorum {
        /// The policy's name.
        policy: String,
        /// What falls short.
        problem: String,
        /// The section of the backup rule.
        section: &'static str,
    },

    /// Too few people for a key's destruction.
    #[error(
        "a key is destroyed by at least {needed} different authorised people, and {people} \
         took part [{section}]; bring the others in before destroying it"
    )]
    DestructionQuorum {
        /// Distinct people who took part.
        people: usize,
        /// How many the policy needs.
        needed: usize,
        /// The section of the destruction rule.
        section: &'static str,
    },

    /// The records say the key was destroyed.
    #[error(
        "the key (SPKI SHA-256 {public_key_sha256}) was destroyed with its backups in ceremony \
         '{ceremony_id}' on {time} [{section}]: a destroyed key is never used, backed up or \
         restored again"
    )]
    KeyDestroyed {
        /// Upper-case hex SHA-256 of the subjectPublicKeyInfo.
        public_key_sha256: String,
        /// The ceremony that destroyed it.
        ceremony_id: String,
        /// When (RFC 3339).
        time: String,
        /// CPS 6.2.10.
        section: &'static str,
    },

    /// A backup the records do not hold.
    #[error(
        "no backup with SHA-256 {blob_sha256} of the key (SPKI SHA-256 {public_key_sha256}) is \
         in the records [{section}]: restore only a backup its ceremony recorded; check the \
         file on the backup media against the backup ceremony's log"
    )]
    UnknownBackup {
        /// Upper-case hex SHA-256 of the backup given.
        blob_sha256: String,
        /// Upper-case hex SHA-256 of the key's subjectPublicKeyInfo.
        public_key_sha256: String,
        /// CPS 6.2.4.
        section: &'static str,
    },

    /// A record names what keyceremony-x509 refuses to read.
    #[error("{0}")]
    Certificate(#[from] X509Error),

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
            | Self::ReusedKey { section, .. }
            | Self::ReusedSubject { section, .. }
            | Self::CrlSequence { section, .. }
            | Self::NotIssued { section, .. }
            | Self::BackupNotAllowed { section, .. }
            | Self::BackupQuorum { section, .. }
            | Self::DestructionQuorum { section, .. }
            | Self::KeyDestroyed { section, .. }
            | Self::UnknownBackup { section, .. } => Some(section),
            Self::Certificate(source) => Some(source.section()),
            _ => None,
        }
    }
}
