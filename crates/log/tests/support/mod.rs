//! Software stand-ins for the two sealing keys, shared by the tests, the
//! benchmark and the example. The engine signs with keys in the HSM and on
//! the witness's token; the verifier only ever sees PEM public keys and DER
//! signatures, which these produce the same way.

// Each test binary, and the bench, uses a different subset of these helpers.
#![allow(dead_code)]

use keyceremony_log::{
    Actor, BackupCopy, Entry, EventKind, LogError, LogWriter, Seal, SealOutcome, SealSignature,
    SealStatement, WitnessSigning, log_signing_key_data, low_s_der,
};
use p384::ecdsa::signature::Signer;
use p384::ecdsa::{Signature, SigningKey};
use p384::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256, Sha384};

pub const CEREMONY_KEY_URI: &str = "pkcs11:token=Root%20CA;object=log-signing;type=private";

/// The step a test seal ends, and the backup folder its statement names.
pub const SEAL_STEP: &str = "9.9";
pub const BACKUP_FOLDER: &str = "root-2026-20261125T202807Z";

/// The witness as the engine records them.
pub fn witness() -> Actor {
    Actor::new("wanda", "qualified-auditor")
}

/// A P-384 key from fixed, random-looking bytes, so that runs are repeatable.
pub fn signing_key(seed: &str) -> SigningKey {
    let bytes = Sha384::digest(seed.as_bytes());
    SigningKey::from_slice(&bytes).expect("a SHA-384 output is a valid P-384 scalar")
}

pub fn spki_der(key: &SigningKey) -> Vec<u8> {
    key.verifying_key()
        .to_public_key_der()
        .expect("a P-384 key encodes")
        .into_vec()
}

pub fn public_pem(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a P-384 key encodes")
}

/// The upper-case hex SHA-256 of a key's SubjectPublicKeyInfo: the pin a
/// script names and entry 1 records.
pub fn pin(key: &SigningKey) -> String {
    hex::encode_upper(Sha256::digest(spki_der(key)))
}

/// ecdsa-with-SHA384, DER, low s, as the HSM's signature is handed to the log.
pub fn sign_der(key: &SigningKey, statement: &str) -> Vec<u8> {
    let signature: Signature = key.sign(statement.as_bytes());
    low_s_der(signature.to_der().as_bytes()).expect("a DER signature")
}

/// The ceremony's log-signing key and the witness's key.
pub struct Keys {
    pub ceremony: SigningKey,
    pub witness: SigningKey,
}

impl Keys {
    pub fn fixed() -> Keys {
        Keys {
            ceremony: signing_key("ceremony log-signing key"),
            witness: signing_key("witness token key"),
        }
    }

    /// Records the log-signing key, as the engine does before the seal.
    pub fn record_log_signing_key(&self, log: &mut LogWriter) -> Result<Entry, LogError> {
        log.append(
            &Actor::tool(),
            None,
            EventKind::LogSigningKey,
            "log-signing key generated in the HSM",
            log_signing_key_data(&spki_der(&self.ceremony), CEREMONY_KEY_URI)?,
        )
    }

    /// The statement the engine would make for `log` as it stands.
    pub fn statement_for(
        &self,
        ceremony_id: &str,
        log: &LogWriter,
        outcome: SealOutcome,
    ) -> SealStatement {
        SealStatement {
            ceremony_id: ceremony_id.to_string(),
            outcome,
            entries: log.len(),
            head: log.head(),
            time: log.seal_time(),
            step: SEAL_STEP.to_string(),
            witness: witness().id,
            log_signing_key_sha256: Sha256::digest(spki_der(&self.ceremony)).into(),
            witness_key_sha256: Sha256::digest(spki_der(&self.witness)).into(),
            witness_signing: WitnessSigning::Independent,
            backup: BackupCopy {
                folder: BACKUP_FOLDER.to_string(),
                sha256: log.file_sha256(),
            },
        }
    }

    /// The seal of `statement`, signed by both keys.
    pub fn seal_of(&self, statement: &SealStatement) -> Seal {
        let text = statement.text();
        let sign = |signer: &str, key: &SigningKey| {
            SealSignature::new(signer, &spki_der(key), &sign_der(key, &text))
                .expect("software keys and signatures are well formed")
        };
        Seal {
            outcome: statement.outcome,
            entries: statement.entries,
            head: hex::encode(statement.head),
            ceremony_key: sign("ceremony-log-key", &self.ceremony),
            witness_key: sign(&witness().id, &self.witness),
            statement: text,
        }
    }

    /// The seal the engine would build for `log` as it stands.
    pub fn seal_for(&self, ceremony_id: &str, log: &LogWriter, outcome: SealOutcome) -> Seal {
        self.seal_of(&self.statement_for(ceremony_id, log, outcome))
    }

    pub fn seal(
        &self,
        ceremony_id: &str,
        log: &mut LogWriter,
        outcome: SealOutcome,
    ) -> Result<Entry, LogError> {
        let seal = self.seal_for(ceremony_id, log, outcome);
        log.seal(&witness(), SEAL_STEP, &seal)
    }
}
