//! The seal: the last entry of a finished (or aborted) ceremony's log, with
//! two ECDSA P-384 signatures over one statement ([`SealStatement`]) that
//! names the ceremony, its outcome, the number of entries and the hash of
//! the last one, every other field of the seal's line, and the witness's key
//! (CPS 5.4.4, 6.1.1). The chain makes every entry depend on the one before
//! it; the statement pins the end of the chain, so the signatures cover the
//! whole log.
//!
//! One signature is made inside the HSM by the ceremony's log-signing key,
//! whose public key the log records earlier in a `log-signing-key` entry; the
//! other by the witness with their own key, whose SHA-256 the script pins and
//! the log's first entry records, so neither the tool nor the witness alone
//! can produce a sealed log.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::LogError;
use crate::signature::{check_p384_spki, signature_hex, spki_pem};

/// `signer` of the ceremony key's signature.
pub const CEREMONY_KEY_SIGNER: &str = "ceremony-log-key";

/// The role a seal's actor has: the seal is the Qualified Auditor's act
/// (CPS 6.1.1).
pub const SEAL_ROLE: &str = "qualified-auditor";

/// How the ceremony ended. Only a completed ceremony gives a log that
/// verifies as [`Sealed`](crate::verify::Status::Sealed); an aborted one is
/// sealed too, so that its record is as tamper-evident as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SealOutcome {
    Completed,
    Aborted,
}

impl SealOutcome {
    /// The word used in the statement and in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            SealOutcome::Completed => "completed",
            SealOutcome::Aborted => "aborted",
        }
    }
}

impl fmt::Display for SealOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signature over the seal statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealSignature {
    /// The participant id of the witness, or [`CEREMONY_KEY_SIGNER`].
    pub signer: String,
    /// SubjectPublicKeyInfo, PEM, LF line endings, as [`SealSignature::new`]
    /// writes it.
    pub public_key: String,
    /// Lower-case hex of the DER Ecdsa-Sig-Value (ecdsa-with-SHA384), low s.
    pub signature: String,
}

impl SealSignature {
    /// Builds the record of one signature from the key's DER
    /// SubjectPublicKeyInfo and the DER signature, which must be in its one
    /// form (canonical DER, low s: [`crate::low_s_der`] makes it; PKCS#11
    /// `CKM_ECDSA`'s r || s goes through [`crate::der_from_raw`]).
    ///
    /// Checks both are P-384 and well formed, and writes them in the one form
    /// the verifier accepts (a second spelling of the same key or signature
    /// would let the seal's line change without any check noticing).
    pub fn new(
        signer: impl Into<String>,
        spki_der: &[u8],
        signature_der: &[u8],
    ) -> Result<SealSignature, LogError> {
        check_p384_spki(spki_der)?;
        Ok(SealSignature {
            signer: signer.into(),
            public_key: spki_pem(spki_der)?,
            signature: signature_hex(signature_der)?,
        })
    }
}

/// The data of the seal entry. Serialised in this field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    pub outcome: SealOutcome,
    /// Entries before the seal.
    pub entries: u64,
    /// Lower-case hex SHA-256 of the last line before the seal.
    pub head: String,
    /// [`crate::SealStatement::text`] for this log, the bytes both keys signed.
    pub statement: String,
    /// Made inside the HSM by the ceremony's log-signing key.
    pub ceremony_key: SealSignature,
    /// Made by the witness's own key.
    pub witness_key: SealSignature,
}

/// The data of a `log-signing-key` entry, with which the engine records the
/// log-signing key before the seal (so the seal's ceremony key is fixed by the
/// chain): `{"public_key": PEM, "public_key_sha256": UPPER HEX of the DER
/// SubjectPublicKeyInfo, "uri": PKCS#11 URI}`.
pub fn log_signing_key_data(spki_der: &[u8], uri: &str) -> Result<serde_json::Value, LogError> {
    check_p384_spki(spki_der)?;
    Ok(serde_json::json!({
        "public_key": spki_pem(spki_der)?,
        "public_key_sha256": hex::encode_upper(Sha256::digest(spki_der)),
        "uri": uri,
    }))
}

/// The DER SubjectPublicKeyInfo of a P-384 public key read from PEM (any
/// valid PEM: a key file as OpenSSL writes it).
pub fn public_key_der(pem: &str) -> Result<Vec<u8>, LogError> {
    crate::signature::PublicKey::from_pem(pem)
        .map(|key| key.der)
        .map_err(|e| LogError::Key(format!("the public key is {e}")))
}
