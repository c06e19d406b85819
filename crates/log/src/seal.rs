//! The seal: the last entry of a finished (or aborted) ceremony's log, with
//! two ECDSA P-384 signatures over a short statement that names the ceremony,
//! its outcome, the number of entries and the hash of the last one (CPS 5.4.4,
//! 6.1.1). The chain makes every entry depend on the one before it; the
//! statement pins the end of the chain, so the signatures cover the whole log.
//!
//! One signature is made inside the HSM by the ceremony's log-signing key,
//! whose public key the log records earlier in a `log-signing-key` entry; the
//! other by the witness's own token, so neither the tool nor the witness alone
//! can produce a sealed log.

use std::fmt;

use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spki::DecodePublicKey;
use spki::der::pem::{self, LineEnding};

use crate::LogError;

/// `signer` of the ceremony key's signature.
pub const CEREMONY_KEY_SIGNER: &str = "ceremony-log-key";

/// First line of every seal statement.
pub(crate) const STATEMENT_TITLE: &str = "keyceremony log seal v1";

/// PEM label of a SubjectPublicKeyInfo (RFC 7468 section 13).
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

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

/// The text both keys sign. Plain lines, so that an auditor can read what was
/// signed and check it with `openssl dgst -sha384 -verify` (docs/auditor.md).
///
/// `entries` is the number of entries before the seal (the `seq` of the last
/// one) and `head` the SHA-256 of that entry's line ([`crate::LogWriter::head`]).
///
/// It also names the witness and their key's URI, so that no field of the
/// seal's own line (which no later line hashes) is left unsigned.
pub fn seal_statement(
    ceremony_id: &str,
    outcome: SealOutcome,
    entries: u64,
    head: &[u8; 32],
    witness: &str,
    witness_key_uri: &str,
) -> String {
    format!(
        "{STATEMENT_TITLE}\nceremony: {ceremony_id}\noutcome: {outcome}\nentries: {entries}\nhead: {}\nwitness: {witness}\nwitness-key: {witness_key_uri}\n",
        hex::encode(head)
    )
}

/// The role a seal's actor has: the seal is the Qualified Auditor's act
/// (CPS 6.1.1).
pub const SEAL_ROLE: &str = "qualified-auditor";

/// `description` of the seal entry. Fixed by the outcome, because nothing on
/// the seal's own line is covered by a hash of a later line: every field of it
/// is either signed, fixed, or derived from the entries before it.
pub(crate) fn seal_description(outcome: SealOutcome) -> &'static str {
    match outcome {
        SealOutcome::Completed => {
            "log sealed: the ceremony completed; signed by the log-signing key and the witness"
        }
        SealOutcome::Aborted => {
            "log sealed: the ceremony was aborted; signed by the log-signing key and the witness"
        }
    }
}

/// One signature over the seal statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealSignature {
    /// The participant id of the witness, or [`CEREMONY_KEY_SIGNER`].
    pub signer: String,
    /// PKCS#11 URI (RFC 7512) of the key that signed.
    pub uri: String,
    /// SubjectPublicKeyInfo, PEM, LF line endings, as [`SealSignature::new`]
    /// writes it.
    pub public_key: String,
    /// Lower-case hex of the DER Ecdsa-Sig-Value (ecdsa-with-SHA384).
    pub signature: String,
}

impl SealSignature {
    /// Builds the record of one signature from what the token returns: the
    /// key's DER SubjectPublicKeyInfo and the DER signature. PKCS#11
    /// `CKM_ECDSA` returns r || s; convert it first with
    /// `p384::ecdsa::Signature::from_slice(raw)?.to_der()`.
    ///
    /// Checks both are P-384 and well formed, and writes them in the one form
    /// the verifier accepts (a second spelling of the same key or signature
    /// would let the seal's line change without any check noticing).
    pub fn new(
        signer: impl Into<String>,
        uri: impl Into<String>,
        spki_der: &[u8],
        signature_der: &[u8],
    ) -> Result<SealSignature, LogError> {
        VerifyingKey::from_public_key_der(spki_der)
            .map_err(|e| LogError::Key(format!("not a P-384 public key: {e}")))?;
        Ok(SealSignature {
            signer: signer.into(),
            uri: uri.into(),
            public_key: spki_pem(spki_der)?,
            signature: signature_hex(signature_der)?,
        })
    }
}

/// Lower-case hex of a DER ECDSA P-384 signature, refused unless it is in
/// canonical DER: the one form the verifier accepts.
pub(crate) fn signature_hex(signature_der: &[u8]) -> Result<String, LogError> {
    let parsed = Signature::from_der(signature_der).map_err(|_| {
        LogError::Key("the signature is not a DER ECDSA P-384 signature".to_string())
    })?;
    if parsed.to_der().as_bytes() != signature_der {
        return Err(LogError::Key(
            "the signature is not in canonical DER".to_string(),
        ));
    }
    Ok(hex::encode(signature_der))
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
    /// [`seal_statement`] for this log, the bytes both keys signed.
    pub statement: String,
    /// Made inside the HSM by the ceremony's log-signing key.
    pub ceremony_key: SealSignature,
    /// Made by the witness's own token.
    pub witness_key: SealSignature,
}

/// The data of a `log-signing-key` entry, with which the engine records the
/// log-signing key before the seal (so the seal's ceremony key is fixed by the
/// chain): `{"public_key": PEM, "public_key_sha256": UPPER HEX of the DER
/// SubjectPublicKeyInfo, "uri": PKCS#11 URI}`.
pub fn log_signing_key_data(spki_der: &[u8], uri: &str) -> Result<serde_json::Value, LogError> {
    VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| LogError::Key(format!("not a P-384 public key: {e}")))?;
    Ok(serde_json::json!({
        "public_key": spki_pem(spki_der)?,
        "public_key_sha256": hex::encode_upper(Sha256::digest(spki_der)),
        "uri": uri,
    }))
}

fn spki_pem(spki_der: &[u8]) -> Result<String, LogError> {
    pem::encode_string(PUBLIC_KEY_LABEL, LineEnding::LF, spki_der)
        .map_err(|e| LogError::Key(format!("cannot write the public key as PEM: {e}")))
}

/// A P-384 public key read from PEM, with the DER it was read from.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    pub(crate) der: Vec<u8>,
    pub(crate) key: VerifyingKey,
}

impl PublicKey {
    /// Any valid PEM SubjectPublicKeyInfo of a P-384 key.
    pub(crate) fn from_pem(text: &str) -> Result<PublicKey, String> {
        let (label, der) =
            pem::decode_vec(text.as_bytes()).map_err(|e| format!("not a PEM document ({e})"))?;
        if label != PUBLIC_KEY_LABEL {
            return Err(format!("a PEM '{label}', not a 'PUBLIC KEY'"));
        }
        let key = VerifyingKey::from_public_key_der(&der)
            .map_err(|e| format!("not a P-384 public key ({e})"))?;
        Ok(PublicKey { der, key })
    }

    /// As [`PublicKey::from_pem`], and the text must be exactly what
    /// [`SealSignature::new`] writes for that key.
    pub(crate) fn from_canonical_pem(text: &str) -> Result<PublicKey, String> {
        let key = PublicKey::from_pem(text)?;
        match spki_pem(&key.der) {
            Ok(canonical) if canonical == text => Ok(key),
            _ => Err(
                "not written in the one PEM form the tool uses (64-column base64, LF line ends)"
                    .to_string(),
            ),
        }
    }
}

/// Checks one signature of the seal: lower-case hex of canonical DER, valid
/// for `key` over `statement` with SHA-384.
pub(crate) fn check_signature(
    key: &PublicKey,
    signature_hex: &str,
    statement: &str,
) -> Result<(), String> {
    let der = hex::decode(signature_hex).map_err(|_| "the signature is not hex".to_string())?;
    if hex::encode(&der) != signature_hex {
        return Err("the signature is not in lower-case hex".to_string());
    }
    let signature = Signature::from_der(&der)
        .map_err(|_| "the signature is not a DER ECDSA P-384 signature".to_string())?;
    if signature.to_der().as_bytes() != der.as_slice() {
        return Err("the signature is not in canonical DER".to_string());
    }
    key.key
        .verify(statement.as_bytes(), &signature)
        .map_err(|_| "the signature over the seal statement does not verify".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_is_plain_text_in_a_fixed_form() {
        let head = [0xab; 32];
        assert_eq!(
            seal_statement(
                "root-2026",
                SealOutcome::Aborted,
                12,
                &head,
                "quinn",
                "pkcs11:object=q"
            ),
            format!(
                "keyceremony log seal v1\nceremony: root-2026\noutcome: aborted\nentries: 12\nhead: {}\nwitness: quinn\nwitness-key: pkcs11:object=q\n",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn outcomes_serialise_as_their_words() {
        for outcome in [SealOutcome::Completed, SealOutcome::Aborted] {
            assert_eq!(
                serde_json::to_value(outcome).ok(),
                Some(serde_json::Value::from(outcome.as_str()))
            );
        }
    }
}
