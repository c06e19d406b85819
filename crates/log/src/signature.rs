//! ECDSA P-384 public keys and signatures as the log holds them: a key as
//! PEM SubjectPublicKeyInfo, a signature as lower-case hex of canonical DER
//! with a low s (s at most n/2).
//!
//! ECDSA signatures are malleable: (r, s) and (r, n - s) both verify, so
//! anyone could change a signature's bytes without any key. The log accepts
//! only the low-s form, so a signature has exactly one spelling; a high-s
//! signature (OpenSSL makes either) is brought to the low-s form with
//! [`low_s_der`] before it is written.

use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use spki::DecodePublicKey;
use spki::der::pem::{self, LineEnding};

use crate::LogError;

/// PEM label of a SubjectPublicKeyInfo (RFC 7468 section 13).
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// The one DER form of a signature: canonical DER, low s. Refuses anything
/// that is not a DER ECDSA P-384 signature.
pub fn low_s_der(signature_der: &[u8]) -> Result<Vec<u8>, LogError> {
    let parsed = Signature::from_der(signature_der).map_err(|_| {
        LogError::Key("the signature is not a DER ECDSA P-384 signature".to_string())
    })?;
    Ok(parsed.normalize_s().to_der().as_bytes().to_vec())
}

/// The low-s DER of the raw r || s a PKCS#11 token returns for `CKM_ECDSA`.
pub fn der_from_raw(raw: &[u8]) -> Result<Vec<u8>, LogError> {
    let parsed = Signature::from_slice(raw).map_err(|_| {
        LogError::Key(format!(
            "the token returned a {}-byte ECDSA signature, not a P-384 r || s",
            raw.len()
        ))
    })?;
    Ok(parsed.normalize_s().to_der().as_bytes().to_vec())
}

/// Verifies a signature someone brought (the witness's, made with OpenSSL
/// on their own device) over `message` with the key whose DER
/// SubjectPublicKeyInfo is `spki_der`, and returns it in the form the log
/// holds (low s).
pub fn verify_der(
    spki_der: &[u8],
    signature_der: &[u8],
    message: &str,
) -> Result<Vec<u8>, LogError> {
    let key = VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| LogError::Key(format!("not a P-384 public key: {e}")))?;
    let low = low_s_der(signature_der)?;
    let signature = Signature::from_der(&low).map_err(|_| {
        LogError::Key("the signature is not a DER ECDSA P-384 signature".to_string())
    })?;
    key.verify(message.as_bytes(), &signature).map_err(|_| {
        LogError::Key("the signature does not verify with that key over the statement".to_string())
    })?;
    Ok(low)
}

/// Lower-case hex of a DER ECDSA P-384 signature, refused unless it is in
/// the one form the verifier accepts (canonical DER, low s).
pub(crate) fn signature_hex(signature_der: &[u8]) -> Result<String, LogError> {
    if low_s_der(signature_der)? != signature_der {
        return Err(LogError::Key(
            "the signature is not in canonical DER with a low s (bring it to that form with keyceremony_log::low_s_der)".to_string(),
        ));
    }
    Ok(hex::encode(signature_der))
}

pub(crate) fn spki_pem(spki_der: &[u8]) -> Result<String, LogError> {
    pem::encode_string(PUBLIC_KEY_LABEL, LineEnding::LF, spki_der)
        .map_err(|e| LogError::Key(format!("cannot write the public key as PEM: {e}")))
}

/// Refuses anything but a P-384 SubjectPublicKeyInfo.
pub(crate) fn check_p384_spki(spki_der: &[u8]) -> Result<(), LogError> {
    VerifyingKey::from_public_key_der(spki_der)
        .map(|_| ())
        .map_err(|e| LogError::Key(format!("not a P-384 public key: {e}")))
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
    /// [`crate::SealSignature::new`] writes for that key.
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

/// Checks one signature: lower-case hex of canonical DER with a low s,
/// valid for `key` over `statement` with SHA-384.
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
    if signature.normalize_s() != signature {
        return Err(
            "the signature has a high s (n - s of the one the tool writes): its bytes were changed, which ECDSA allows without the key, so it is not the signature that was written"
                .to_string(),
        );
    }
    key.key
        .verify(statement.as_bytes(), &signature)
        .map_err(|_| "the signature over the statement does not verify".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature from fixed bytes: r and s both within the group order.
    fn signature(s_high: bool) -> Signature {
        let mut raw = [0x11u8; 96];
        raw[48] = 0x22;
        let low = Signature::from_slice(&raw).expect("a valid r || s");
        let low = low.normalize_s();
        if !s_high {
            return low;
        }
        let (r, s) = low.split_scalars();
        Signature::from_scalars(r, -*s).expect("n - s is a valid s")
    }

    #[test]
    fn only_the_low_s_form_is_written() {
        let high = signature(true).to_der();
        let low = signature(false).to_der();
        assert_ne!(high.as_bytes(), low.as_bytes());
        assert_eq!(low_s_der(high.as_bytes()).unwrap(), low.as_bytes());
        assert_eq!(low_s_der(low.as_bytes()).unwrap(), low.as_bytes());
        assert!(signature_hex(high.as_bytes()).is_err());
        assert_eq!(
            signature_hex(low.as_bytes()).unwrap(),
            hex::encode(low.as_bytes())
        );
        let raw = signature(true).to_bytes();
        assert_eq!(der_from_raw(&raw).unwrap(), low.as_bytes());
        assert!(der_from_raw(&raw[..64]).is_err());
    }
}
