//! Proving that a key pair on a token is a given public key's: above all a
//! restored key, whose public half the restore made from the original's
//! SubjectPublicKeyInfo, so that only a signature shows the private half is
//! the original's.

use cryptoki::object::AttributeType;
use der::Decode;
use p384::ecdsa::signature::Verifier as _;
use p384::pkcs8::DecodePublicKey as _;
use secrecy::SecretString;
use sha2::{Digest, Sha256, Sha384};
use spki::SubjectPublicKeyInfoRef;

use crate::error::{HsmError, Result};
use crate::keys::{KeyAlgorithm, KeyPair, RsaPublicKey};
use crate::session::{Session, describe, object_handle};

/// Bytes of the challenge drawn from the token's generator.
const CHALLENGE_BYTES: usize = 32;

/// What a proof showed, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProof {
    /// Random bytes from the token that the key signed.
    pub challenge: Vec<u8>,
    /// The signature (SHA-384; PKCS#1 v1.5 or raw r || s), verified with the
    /// original public key.
    pub signature: Vec<u8>,
    /// SHA-256 of the original DER SubjectPublicKeyInfo.
    pub public_key_sha256: [u8; 32],
}

impl Session {
    /// Proves that `key` is the key of `spki_der`: its public key object
    /// holds exactly that public key; for RSA, the private key's modulus and
    /// exponent (which the private object reports) are that key's too; and
    /// the private key signs a challenge from the token's generator with a
    /// signature that verifies with `spki_der` in software. `context_pin` is
    /// the user PIN for a key with CKA_ALWAYS_AUTHENTICATE.
    pub fn prove_key(
        &self,
        key: &KeyPair,
        spki_der: &[u8],
        context_pin: Option<&SecretString>,
    ) -> Result<KeyProof> {
        let mismatch = |reason: &str| HsmError::RestoredKeyMismatch {
            object: describe(key, "restored"),
            reason: reason.to_owned(),
            destroyed: false,
        };
        if self.public_key_spki_der(key)? != spki_der {
            return Err(mismatch(
                "its public key object holds another public key than the original's",
            ));
        }
        if key.algorithm == KeyAlgorithm::Rsa4096 {
            self.check_rsa_private_half(key, spki_der)
                .map_err(|reason| mismatch(&reason))?;
        }
        let challenge = self.random(CHALLENGE_BYTES)?;
        let signature = self.sign_sha384(key, &challenge, context_pin)?;
        verify(key.algorithm, spki_der, &challenge, &signature).map_err(|_| {
            mismatch(
                "its signature over a challenge from the token does not verify with the original public key",
            )
        })?;
        Ok(KeyProof {
            challenge,
            signature,
            public_key_sha256: Sha256::digest(spki_der).into(),
        })
    }

    /// The modulus and exponent an RSA private key object reports, against
    /// the SPKI's; a module that reports neither leaves the signature as
    /// the proof.
    fn check_rsa_private_half(
        &self,
        key: &KeyPair,
        spki_der: &[u8],
    ) -> std::result::Result<(), String> {
        let attrs = self
            .read(
                object_handle(key.private).map_err(|e| e.to_string())?,
                describe(key, "private"),
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )
            .map_err(|e| e.to_string())?;
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| e.to_string())?;
        let original = RsaPublicKey::from_der(spki.subject_public_key.raw_bytes())
            .map_err(|e| e.to_string())?;
        let trimmed =
            |bytes: &[u8]| -> Vec<u8> { bytes.iter().copied().skip_while(|&b| b == 0).collect() };
        for (attribute, wanted, name) in [
            (
                AttributeType::Modulus,
                original.modulus.as_bytes(),
                "modulus",
            ),
            (
                AttributeType::PublicExponent,
                original.public_exponent.as_bytes(),
                "public exponent",
            ),
        ] {
            if let Ok(reported) = attrs.bytes(attribute)
                && trimmed(reported) != trimmed(wanted)
            {
                return Err(format!(
                    "the private key's {name} is not the original public key's"
                ));
            }
        }
        Ok(())
    }
}

/// Verifies a signature of [`Session::sign_sha384`] with an SPKI.
fn verify(
    algorithm: KeyAlgorithm,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> std::result::Result<(), String> {
    match algorithm {
        KeyAlgorithm::EcP384 => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der)
                .map_err(|e| e.to_string())?;
            let signature =
                p384::ecdsa::Signature::from_slice(signature).map_err(|e| e.to_string())?;
            key.verify(message, &signature).map_err(|e| e.to_string())
        }
        KeyAlgorithm::Rsa4096 => {
            let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| e.to_string())?;
            let key =
                rsa::pkcs1v15::VerifyingKey::<Sha384>::try_from(spki).map_err(|e| e.to_string())?;
            let signature =
                rsa::pkcs1v15::Signature::try_from(signature).map_err(|e| e.to_string())?;
            key.verify(message, &signature).map_err(|e| e.to_string())
        }
    }
}
