//! Root keys and their signature algorithms.
//!
//! CPS 6.1.5 (Table 6.1-1) allows a root key of RSA 4096 bits signing with
//! sha384WithRSAEncryption, or ECC 384 bits (secp384r1) signing with ecdsa-with-SHA384.
//! CPS 6.1.6 sets the public key checks. BR 7.1.3.1 and 7.1.3.2 fix the DER of the
//! AlgorithmIdentifiers byte for byte: sha384WithRSAEncryption with NULL parameters,
//! ecdsa-with-SHA384 with the parameters absent.

use std::fmt;

use der::{
    Decode, Encode,
    asn1::{Any, ObjectIdentifier},
};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

use crate::{
    error::{Result, X509Error},
    quality::{
        ID_EC_PUBLIC_KEY, KeyQuality, PublicKeyType, RSA_ENCRYPTION, check_p384_point,
        check_rsa_key, require_p384, rsa_modulus_bits,
    },
};

const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const SHA384_WITH_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// BR 7.1.3.1.1: the subjectPublicKeyInfo AlgorithmIdentifier of an RSA key.
const RSA_SPKI_ALGORITHM_DER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// BR 7.1.3.1.2: the subjectPublicKeyInfo AlgorithmIdentifier of a P-384 key.
const P384_SPKI_ALGORITHM_DER: [u8; 18] = [
    0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
    0x00, 0x22,
];
/// BR 7.1.3.2.1: sha384WithRSAEncryption, parameters NULL.
pub(crate) const SHA384_WITH_RSA_DER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
];
/// BR 7.1.3.2.2: ecdsa-with-SHA384, parameters absent.
pub(crate) const ECDSA_WITH_SHA384_DER: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];

/// Modulus size required by CPS 6.1.5.
const RSA_MODULUS_BITS: usize = 4096;
/// Length in bytes of a PKCS#1 v1.5 signature made with a 4096-bit key.
pub(crate) const RSA_SIGNATURE_LEN: usize = RSA_MODULUS_BITS / 8;
/// Length of a raw P-384 ECDSA signature r||s.
pub(crate) const P384_RAW_SIGNATURE_LEN: usize = 96;

/// The signature algorithm of a root, fixed by its key (CPS 6.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSA-4096 key, PKCS#1 v1.5 with SHA-384 (HSM mechanism CKM_SHA384_RSA_PKCS).
    Sha384WithRsaEncryption,
    /// ECC P-384 key, ECDSA over the SHA-384 hash of the TBS (raw r||s from the HSM).
    EcdsaWithSha384,
}

impl SignatureAlgorithm {
    /// Checks the DER subjectPublicKeyInfo read from the token and returns the signature
    /// algorithm its key must use.
    ///
    /// Accepted: rsaEncryption (NULL parameters, BR 7.1.3.1.1) with a 4096-bit modulus, and
    /// id-ecPublicKey on secp384r1 (BR 7.1.3.1.2) with an uncompressed point (RFC 5480 2.2).
    /// Any other key is refused naming the key and CPS 6.1.5. The key is also checked as
    /// CPS 6.1.6 asks ([`crate::check_key_quality`]): RSA `e` odd and 2^16+1 <= e <= 2^256-1,
    /// `n` odd, with no prime factor below 752 and not a perfect power, then boulder goodkey's
    /// weak-key checks (e = 65537, no factor below 2^16, no ROCA fingerprint, not factored by
    /// Fermat's method; BR 6.1.1.3); ECC full public key validation (not the identity,
    /// coordinates in range, on the curve, n*Q the identity).
    /// [`crate::CheckedKey`] keeps the result, so that a key is checked once.
    pub fn for_public_key(spki_der: &[u8]) -> Result<Self> {
        Self::with_quality(spki_der).map(|(algorithm, _)| algorithm)
    }

    /// [`Self::for_public_key`], and the CPS 6.1.6 checks the key passed.
    pub(crate) fn with_quality(spki_der: &[u8]) -> Result<(Self, KeyQuality)> {
        let quality = checked_key(spki_der, &[RSA_MODULUS_BITS], |key| {
            X509Error::UnsupportedKey { key }
        })?;
        let algorithm = match quality.key {
            PublicKeyType::Rsa { .. } => Self::Sha384WithRsaEncryption,
            PublicKeyType::EcP384 => Self::EcdsaWithSha384,
        };
        Ok((algorithm, quality))
    }

    /// The AlgorithmIdentifier for the certificate's signature and signatureAlgorithm fields:
    /// sha384WithRSAEncryption with NULL parameters, ecdsa-with-SHA384 with none.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        match self {
            Self::Sha384WithRsaEncryption => AlgorithmIdentifierOwned {
                oid: SHA384_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            Self::EcdsaWithSha384 => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA384,
                parameters: None,
            },
        }
    }

    /// The DER the BRs require for this AlgorithmIdentifier (BR 7.1.3.2).
    pub(crate) fn required_der(self) -> &'static [u8] {
        match self {
            Self::Sha384WithRsaEncryption => &SHA384_WITH_RSA_DER,
            Self::EcdsaWithSha384 => &ECDSA_WITH_SHA384_DER,
        }
    }

    /// The key this algorithm goes with: `"RSA-4096"` or `"ECC P-384"`.
    pub fn public_key_name(self) -> &'static str {
        match self {
            Self::Sha384WithRsaEncryption => "RSA-4096",
            Self::EcdsaWithSha384 => "ECC P-384",
        }
    }
}

/// Names as OpenSSL prints them: `sha384WithRSAEncryption`, `ecdsa-with-SHA384`.
impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha384WithRsaEncryption => "sha384WithRSAEncryption",
            Self::EcdsaWithSha384 => "ecdsa-with-SHA384",
        })
    }
}

/// The RSA modulus sizes of a key another party's HSM made that this tool certifies: at
/// least 2048 bits and a multiple of 8 (BR 6.1.5), and of the three sizes boulder's goodkey
/// accepts.
pub(crate) const CERTIFIED_RSA_MODULUS_BITS: [usize; 3] = [2048, 3072, 4096];

/// Checks the DER subjectPublicKeyInfo of a key this tool certifies for someone else (a
/// subordinate CA, an OCSP responder, a cross-certified CA): rsaEncryption with NULL
/// parameters (BR 7.1.3.1.1) and a 2048-, 3072- or 4096-bit modulus (BR 6.1.5), or
/// id-ecPublicKey on secp384r1 encoded as BR 7.1.3.1.2 requires with an uncompressed point;
/// then every check of [`crate::check_key_quality`] (CPS 6.1.6 and goodkey's weak-key checks).
/// P-256 and P-521, which the BRs allow, are refused: this tool validates P-384 points only.
pub fn check_certified_key(spki_der: &[u8]) -> Result<KeyQuality> {
    checked_key(spki_der, &CERTIFIED_RSA_MODULUS_BITS, |key| {
        X509Error::UnsupportedCertifiedKey { key }
    })
}

/// The encoding, size and quality checks shared by a root's key and a certified key.
fn checked_key(
    spki_der: &[u8],
    rsa_sizes: &[usize],
    unsupported: impl Fn(String) -> X509Error,
) -> Result<KeyQuality> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| X509Error::InvalidPublicKey(format!("not a DER subjectPublicKeyInfo: {e}")))?;
    if spki.to_der().ok().as_deref() != Some(spki_der) {
        return Err(X509Error::InvalidPublicKey(
            "the subjectPublicKeyInfo is not canonical DER".into(),
        ));
    }
    let algorithm_der = spki
        .algorithm
        .to_der()
        .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
    let key_bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
        X509Error::InvalidPublicKey("the subjectPublicKey BIT STRING has unused bits".into())
    })?;
    match spki.algorithm.oid {
        RSA_ENCRYPTION => {
            // The size first: a key of the wrong size is refused as such, whatever its
            // quality.
            let bits = rsa_modulus_bits(key_bits)?;
            if !rsa_sizes.contains(&bits) {
                return Err(unsupported(format!("RSA-{bits}")));
            }
            let quality = check_rsa_key(key_bits)?;
            if algorithm_der != RSA_SPKI_ALGORITHM_DER {
                return Err(X509Error::InvalidPublicKey(
                    "the rsaEncryption AlgorithmIdentifier must have NULL parameters \
                     (BR 7.1.3.1.1)"
                        .into(),
                ));
            }
            Ok(quality)
        }
        ID_EC_PUBLIC_KEY => {
            require_p384(&spki).map_err(|e| match e {
                X509Error::UnsupportedKey { key } => unsupported(key),
                other => other,
            })?;
            if algorithm_der != P384_SPKI_ALGORITHM_DER {
                return Err(X509Error::InvalidPublicKey(
                    "the id-ecPublicKey AlgorithmIdentifier is not encoded as BR 7.1.3.1.2 \
                     requires"
                        .into(),
                ));
            }
            check_p384_point(key_bits)
        }
        RSASSA_PSS => Err(unsupported("RSASSA-PSS".into())),
        ED25519 => Err(unsupported("Ed25519".into())),
        ED448 => Err(unsupported("Ed448".into())),
        other => Err(unsupported(format!("of algorithm {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_identifiers_are_the_br_encodings() {
        let rsa = SignatureAlgorithm::Sha384WithRsaEncryption
            .algorithm_identifier()
            .to_der()
            .expect("der");
        assert_eq!(rsa, SHA384_WITH_RSA_DER);
        assert_eq!(&rsa[rsa.len() - 2..], &[0x05, 0x00], "NULL parameters");
        let ecdsa = SignatureAlgorithm::EcdsaWithSha384
            .algorithm_identifier()
            .to_der()
            .expect("der");
        assert_eq!(ecdsa, ECDSA_WITH_SHA384_DER);
        assert_eq!(ecdsa.len(), 2 + 10, "OID only, parameters absent");
    }

    #[test]
    fn display_names() {
        assert_eq!(
            SignatureAlgorithm::Sha384WithRsaEncryption.to_string(),
            "sha384WithRSAEncryption"
        );
        assert_eq!(
            SignatureAlgorithm::EcdsaWithSha384.to_string(),
            "ecdsa-with-SHA384"
        );
    }
}
