//! Root keys and their signature algorithms.
//!
//! CPS 6.1.5 (Table 6.1-1) allows a root key of RSA 4096 bits signing with
//! sha384WithRSAEncryption, or ECC 384 bits (secp384r1) signing with ecdsa-with-SHA384.
//! CPS 6.1.6 sets the public key checks. BR 7.1.3.1 and 7.1.3.2 fix the DER of the
//! AlgorithmIdentifiers byte for byte: sha384WithRSAEncryption with NULL parameters,
//! ecdsa-with-SHA384 with the parameters absent.

use std::fmt;

use der::{
    Decode, Encode, Sequence,
    asn1::{Any, ObjectIdentifier, UintRef},
};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

use crate::error::{Result, X509Error};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const SHA384_WITH_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
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
/// CPS 6.1.6: the modulus has no prime factor smaller than this.
const SMALLEST_ALLOWED_FACTOR: u32 = 752;

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
    /// CPS 6.1.6 asks: RSA `e` odd and 2^16+1 <= e <= 2^256-1, `n` odd with no prime factor
    /// below 752 (whether `n` is a prime power is left to the HSM's key generation);
    /// ECC full public key validation (the point is on the curve and not the identity).
    pub fn for_public_key(spki_der: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| {
            X509Error::InvalidPublicKey(format!("not a DER subjectPublicKeyInfo: {e}"))
        })?;
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
                check_rsa_key(key_bits)?;
                if algorithm_der != RSA_SPKI_ALGORITHM_DER {
                    return Err(X509Error::InvalidPublicKey(
                        "the rsaEncryption AlgorithmIdentifier must have NULL parameters \
                         (BR 7.1.3.1.1)"
                            .into(),
                    ));
                }
                Ok(Self::Sha384WithRsaEncryption)
            }
            ID_EC_PUBLIC_KEY => {
                let curve =
                    spki.algorithm
                        .parameters_oid()
                        .map_err(|_| X509Error::UnsupportedKey {
                            key: "ECC without a named curve".into(),
                        })?;
                if curve != SECP384R1 {
                    return Err(X509Error::UnsupportedKey {
                        key: match curve {
                            SECP256R1 => "ECC P-256".into(),
                            SECP521R1 => "ECC P-521".into(),
                            other => format!("ECC on curve {other}"),
                        },
                    });
                }
                if algorithm_der != P384_SPKI_ALGORITHM_DER {
                    return Err(X509Error::InvalidPublicKey(
                        "the id-ecPublicKey AlgorithmIdentifier is not encoded as BR 7.1.3.1.2 \
                         requires"
                            .into(),
                    ));
                }
                check_p384_key(key_bits)?;
                Ok(Self::EcdsaWithSha384)
            }
            RSASSA_PSS => Err(X509Error::UnsupportedKey {
                key: "RSASSA-PSS".into(),
            }),
            ED25519 => Err(X509Error::UnsupportedKey {
                key: "Ed25519".into(),
            }),
            ED448 => Err(X509Error::UnsupportedKey {
                key: "Ed448".into(),
            }),
            other => Err(X509Error::UnsupportedKey {
                key: format!("of algorithm {other}"),
            }),
        }
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

/// PKCS#1 RSAPublicKey (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKeyView<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

fn check_rsa_key(key_bits: &[u8]) -> Result<()> {
    let key = RsaPublicKeyView::from_der(key_bits)
        .map_err(|e| X509Error::InvalidPublicKey(format!("not a PKCS#1 RSAPublicKey: {e}")))?;
    let n = key.modulus.as_bytes();
    let e = key.public_exponent.as_bytes();
    let bits = bit_length(n);
    if bits != RSA_MODULUS_BITS {
        return Err(X509Error::UnsupportedKey {
            key: format!("RSA-{bits}"),
        });
    }
    let weak = |problem: String| X509Error::WeakKey {
        key: "RSA-4096",
        problem,
    };
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err(weak("the modulus n is even".into()));
    }
    if e.last().is_none_or(|b| b & 1 == 0) {
        return Err(weak("the public exponent e is even".into()));
    }
    if bit_length(e) < 17 || (bit_length(e) == 17 && e != [0x01, 0x00, 0x01]) {
        return Err(weak(format!(
            "the public exponent e = 0x{} is below 2^16+1",
            hex::encode_upper(e)
        )));
    }
    if bit_length(e) > 256 {
        return Err(weak("the public exponent e is above 2^256-1".into()));
    }
    if let Some(p) = small_primes(SMALLEST_ALLOWED_FACTOR)
        .into_iter()
        .find(|&p| remainder(n, p) == 0)
    {
        return Err(weak(format!(
            "the modulus n has the factor {p}, below {SMALLEST_ALLOWED_FACTOR}"
        )));
    }
    Ok(())
}

fn check_p384_key(key_bits: &[u8]) -> Result<()> {
    if key_bits.len() != 97 || key_bits[0] != 0x04 {
        return Err(X509Error::InvalidPublicKey(
            "the P-384 public key is not an uncompressed point (RFC 5480 2.2)".into(),
        ));
    }
    p384::PublicKey::from_sec1_bytes(key_bits).map_err(|_| X509Error::WeakKey {
        key: "ECC P-384",
        problem: "the public key is not a valid point on the curve".into(),
    })?;
    Ok(())
}

/// Number of significant bits of a big-endian unsigned integer.
fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
        None => 0,
    }
}

/// `be mod p` for a big-endian unsigned integer and a small modulus.
fn remainder(be: &[u8], p: u32) -> u32 {
    be.iter().fold(0u32, |r, &b| ((r << 8) | u32::from(b)) % p)
}

/// The primes below `limit` (sieve of Eratosthenes).
fn small_primes(limit: u32) -> Vec<u32> {
    let mut composite = vec![false; limit as usize];
    let mut primes = Vec::new();
    for i in 2..limit {
        if !composite[i as usize] {
            primes.push(i);
            let mut j = i * i;
            while j < limit {
                composite[j as usize] = true;
                j += i;
            }
        }
    }
    primes
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
    fn helpers() {
        assert_eq!(bit_length(&[0x00, 0x01, 0x00, 0x01]), 17);
        assert_eq!(bit_length(&[0x80]), 8);
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(remainder(&[0x01, 0x00], 7), 256 % 7);
        let primes = small_primes(SMALLEST_ALLOWED_FACTOR);
        assert_eq!(primes.first(), Some(&2));
        assert_eq!(primes.last(), Some(&751));
        assert_eq!(primes.len(), 133);
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
