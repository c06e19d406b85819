//! Software stand-ins for the two sealing keys, shared by the tests, the
//! benchmark and the example. The engine signs with keys in the HSM and on
//! the witness's token; the verifier only ever sees PEM public keys and DER
//! signatures, which these produce the same way.

// Each test binary, and the bench, uses a different subset of these helpers.
#![allow(dead_code)]

use keyceremony_log::{
    Actor, Entry, EventKind, LogError, LogWriter, Seal, SealOutcome, SealSignature,
    log_signing_key_data, seal_statement,
};
use p384::ecdsa::signature::Signer;
use p384::ecdsa::{Signature, SigningKey};
use p384::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha384};

pub const CEREMONY_KEY_URI: &str = "pkcs11:token=Root%20CA;object=log-signing;type=private";
pub const WITNESS_KEY_URI: &str = "pkcs11:token=Auditor;object=seal;type=private";

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

/// ecdsa-with-SHA384, DER, as the HSM's signature is handed to the log.
pub fn sign_der(key: &SigningKey, statement: &str) -> Vec<u8> {
    let signature: Signature = key.sign(statement.as_bytes());
    signature.to_der().as_bytes().to_vec()
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

    /// The seal the engine would build for `log` as it stands.
    pub fn seal_for(&self, ceremony_id: &str, log: &LogWriter, outcome: SealOutcome) -> Seal {
        let statement = seal_statement(
            ceremony_id,
            outcome,
            log.len(),
            &log.head(),
            &witness().id,
            WITNESS_KEY_URI,
        );
        let sign = |signer: &str, uri: &str, key: &SigningKey| {
            SealSignature::new(signer, uri, &spki_der(key), &sign_der(key, &statement))
                .expect("software keys and signatures are well formed")
        };
        Seal {
            outcome,
            entries: log.len(),
            head: hex::encode(log.head()),
            ceremony_key: sign("ceremony-log-key", CEREMONY_KEY_URI, &self.ceremony),
            witness_key: sign(&witness().id, WITNESS_KEY_URI, &self.witness),
            statement,
        }
    }

    pub fn seal(
        &self,
        ceremony_id: &str,
        log: &mut LogWriter,
        outcome: SealOutcome,
    ) -> Result<Entry, LogError> {
        let seal = self.seal_for(ceremony_id, log, outcome);
        log.seal(&witness(), &seal)
    }
}
