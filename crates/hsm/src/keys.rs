//! Key pair descriptions, the generation templates the CPS requires, and
//! public key encoding.

use std::fmt;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use der::asn1::{BitString, ObjectIdentifier, UintRef};
use der::{Any, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::{HsmError, Result};

/// RSA modulus size the ceremony uses.
pub(crate) const RSA_BITS: u64 = 4096;
/// 65537, big-endian, as CKA_PUBLIC_EXPONENT wants it.
const RSA_PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];
/// DER of the secp384r1 OID (1.3.132.0.34), which is what CKA_EC_PARAMS holds.
pub(crate) const SECP384R1_PARAMS: [u8; 7] = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];
/// Length of an uncompressed P-384 point: 0x04 || X || Y.
pub(crate) const P384_POINT_LEN: usize = 97;

pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The key algorithms the CPS allows for the root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// RSA with a 4096-bit modulus and exponent 65537.
    Rsa4096,
    /// ECDSA on NIST P-384 (secp384r1).
    EcP384,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::Rsa4096 => "RSA-4096",
            KeyAlgorithm::EcP384 => "ECC P-384",
        })
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGenSpec {
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// CKA_LABEL of both halves.
    pub label: String,
    /// CKA_ID of both halves; must not be in use on the token.
    pub id: Vec<u8>,
    /// Sets CKA_ALWAYS_AUTHENTICATE on the private key, so every signature
    /// needs the user PIN again.
    pub always_authenticate: bool,
}

/// A key pair on the token. Handles are only meaningful within the session
/// that produced them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// Handle of the public key object.
    pub public: u64,
    /// Handle of the private key object.
    pub private: u64,
    /// CKA_LABEL.
    pub label: String,
    /// CKA_ID.
    pub id: Vec<u8>,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
}

/// The private key attributes that CPS 6.2.7 constrains, as read back from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyAttributes {
    /// CKA_TOKEN.
    pub token: bool,
    /// CKA_PRIVATE.
    pub private: bool,
    /// CKA_SENSITIVE.
    pub sensitive: bool,
    /// CKA_ALWAYS_SENSITIVE.
    pub always_sensitive: bool,
    /// CKA_EXTRACTABLE.
    pub extractable: bool,
    /// CKA_NEVER_EXTRACTABLE.
    pub never_extractable: bool,
    /// CKA_LOCAL: generated on the token.
    pub local: bool,
    /// CKA_SIGN.
    pub sign: bool,
    /// CKA_DECRYPT.
    pub decrypt: bool,
    /// CKA_UNWRAP.
    pub unwrap: bool,
    /// CKA_DERIVE.
    pub derive: bool,
    /// CKA_ALWAYS_AUTHENTICATE.
    pub always_authenticate: bool,
    /// CKA_KEY_TYPE as a PKCS#11 name, e.g. "CKK_RSA".
    pub key_type: String,
    /// CKA_WRAP_WITH_TRUSTED, when the module reports it.
    pub wrap_with_trusted: Option<bool>,
    /// CKA_MODIFIABLE, when the module reports it.
    pub modifiable: Option<bool>,
    /// CKA_COPYABLE, when the module reports it.
    pub copyable: Option<bool>,
}

impl PrivateKeyAttributes {
    /// Every attribute that differs from what the CPS requires, in words;
    /// empty when the key is acceptable.
    pub fn problems(&self, expect_always_authenticate: bool) -> Vec<String> {
        self.deviations(false, expect_always_authenticate)
    }

    /// The CPS attributes of a key that may leave the token wrapped: as
    /// [`PrivateKeyAttributes::problems`], except that CKA_EXTRACTABLE is
    /// true and so CKA_NEVER_EXTRACTABLE false.
    pub(crate) fn deviations(
        &self,
        extractable: bool,
        expect_always_authenticate: bool,
    ) -> Vec<String> {
        let required = [
            ("CKA_TOKEN", self.token, true, "stored on the token"),
            (
                "CKA_PRIVATE",
                self.private,
                true,
                "readable only after login",
            ),
            ("CKA_SENSITIVE", self.sensitive, true, "sensitive"),
            (
                "CKA_ALWAYS_SENSITIVE",
                self.always_sensitive,
                true,
                "sensitive since it was created",
            ),
            (
                "CKA_EXTRACTABLE",
                self.extractable,
                extractable,
                "extractable",
            ),
            (
                "CKA_NEVER_EXTRACTABLE",
                self.never_extractable,
                !extractable,
                "never extractable",
            ),
            ("CKA_LOCAL", self.local, true, "generated on the token"),
            ("CKA_SIGN", self.sign, true, "usable for signing"),
            ("CKA_DECRYPT", self.decrypt, false, "usable for decryption"),
            (
                "CKA_UNWRAP",
                self.unwrap,
                false,
                "usable for unwrapping keys",
            ),
            (
                "CKA_DERIVE",
                self.derive,
                false,
                "usable for key derivation",
            ),
            (
                "CKA_ALWAYS_AUTHENTICATE",
                self.always_authenticate,
                expect_always_authenticate,
                "protected by a PIN entry for every signature",
            ),
        ];
        required
            .into_iter()
            .filter(|(_, actual, wanted, _)| actual != wanted)
            .map(|(name, actual, _, meaning)| {
                let (is, must) = if actual {
                    ("is", "must not be")
                } else {
                    ("is not", "must be")
                };
                format!("{name} is {actual}: the private key {is} {meaning} but {must}")
            })
            .collect()
    }
}

/// The public key attributes worth checking, as read back from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyAttributes {
    /// CKA_VERIFY.
    pub verify: bool,
    /// CKA_ENCRYPT.
    pub encrypt: bool,
    /// CKA_WRAP.
    pub wrap: bool,
    /// CKA_TOKEN.
    pub token: bool,
    /// CKA_PRIVATE.
    pub private: bool,
    /// CKA_MODULUS_BITS, for RSA keys.
    pub modulus_bits: Option<u64>,
}

impl KeyGenSpec {
    pub(crate) fn mechanism(&self) -> Mechanism<'static> {
        match self.algorithm {
            KeyAlgorithm::Rsa4096 => Mechanism::RsaPkcsKeyPairGen,
            KeyAlgorithm::EcP384 => Mechanism::EccKeyPairGen,
        }
    }

    /// CPS 6.1.1 / 6.2.7: a signing-only key that never leaves the token.
    pub(crate) fn private_template(&self) -> Vec<Attribute> {
        vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::AlwaysAuthenticate(self.always_authenticate),
            Attribute::Label(self.label.as_bytes().to_vec()),
            Attribute::Id(self.id.clone()),
        ]
    }

    /// The public half only verifies; SoftHSM2 would otherwise allow
    /// encrypt and wrap by default.
    pub(crate) fn public_template(&self) -> Vec<Attribute> {
        let mut template = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::Derive(false),
            Attribute::Label(self.label.as_bytes().to_vec()),
            Attribute::Id(self.id.clone()),
        ];
        match self.algorithm {
            KeyAlgorithm::Rsa4096 => {
                template.push(Attribute::ModulusBits(RSA_BITS.into()));
                template.push(Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()));
            }
            KeyAlgorithm::EcP384 => {
                template.push(Attribute::EcParams(SECP384R1_PARAMS.to_vec()));
            }
        }
        template
    }
}

/// PKCS#1 RSAPublicKey.
#[derive(Sequence)]
pub(crate) struct RsaPublicKey<'a> {
    pub(crate) modulus: UintRef<'a>,
    pub(crate) public_exponent: UintRef<'a>,
}

/// DER SubjectPublicKeyInfo for an RSA key: rsaEncryption with NULL parameters.
pub(crate) fn rsa_spki_der(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>> {
    let encoding = |e: der::Error| HsmError::Encoding(e.to_string());
    let key = RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(encoding)?,
        public_exponent: UintRef::new(exponent).map_err(encoding)?,
    }
    .to_der()
    .map_err(encoding)?;
    spki_der(RSA_ENCRYPTION, Any::null(), &key)
}

/// DER SubjectPublicKeyInfo for a P-384 key from the token's CKA_EC_POINT.
pub(crate) fn ec_p384_spki_der(ec_point: &[u8], object: &str) -> Result<Vec<u8>> {
    let point = unwrap_ec_point(ec_point);
    if point.len() != P384_POINT_LEN || point[0] != 0x04 {
        return Err(HsmError::UnexpectedAttribute {
            attribute: "CKA_EC_POINT",
            object: object.to_owned(),
            reason: format!(
                "expected an uncompressed P-384 point of {P384_POINT_LEN} bytes starting with 0x04, got {} bytes",
                point.len()
            ),
        });
    }
    let params = Any::encode_from(&SECP384R1).map_err(|e| HsmError::Encoding(e.to_string()))?;
    spki_der(ID_EC_PUBLIC_KEY, params, point)
}

/// PKCS#11 says CKA_EC_POINT is a DER OCTET STRING around the point, but
/// some tokens return the bare point; accept both. The two are told apart
/// by their exact length and leading bytes, never by trying to parse: a bare
/// point starts with 0x04, the OCTET STRING tag, and its second byte is a
/// valid DER length about 1 time in 256, so parsing first would misread it.
fn unwrap_ec_point(ec_point: &[u8]) -> &[u8] {
    match ec_point {
        [0x04, len, point @ ..]
            if usize::from(*len) == P384_POINT_LEN && point.len() == P384_POINT_LEN =>
        {
            point
        }
        bare => bare,
    }
}

fn spki_der(algorithm: ObjectIdentifier, parameters: Any, key: &[u8]) -> Result<Vec<u8>> {
    let encoding = |e: der::Error| HsmError::Encoding(e.to_string());
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: algorithm,
            parameters: Some(parameters),
        },
        subject_public_key: BitString::from_bytes(key).map_err(encoding)?,
    }
    .to_der()
    .map_err(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    fn good_attributes() -> PrivateKeyAttributes {
        PrivateKeyAttributes {
            token: true,
            private: true,
            sensitive: true,
            always_sensitive: true,
            extractable: false,
            never_extractable: true,
            local: true,
            sign: true,
            decrypt: false,
            unwrap: false,
            derive: false,
            always_authenticate: false,
            key_type: "CKK_EC".into(),
            wrap_with_trusted: Some(false),
            modifiable: Some(true),
            copyable: Some(true),
        }
    }

    #[test]
    fn compliant_key_has_no_problems() {
        assert!(good_attributes().problems(false).is_empty());
    }

    #[test]
    fn each_deviation_is_described() {
        let attrs = PrivateKeyAttributes {
            extractable: true,
            decrypt: true,
            local: false,
            ..good_attributes()
        };
        let problems = attrs.problems(true);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("CKA_EXTRACTABLE is true"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("CKA_DECRYPT is true"))
        );
        assert!(problems.iter().any(|p| p.starts_with("CKA_LOCAL is false")));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("CKA_ALWAYS_AUTHENTICATE is false"))
        );
    }

    #[test]
    fn ec_point_is_accepted_wrapped_or_bare() {
        let mut point = vec![0x04];
        point.extend([0x61; 96]);
        let mut wrapped = vec![0x04, 0x61];
        wrapped.extend(&point);
        assert_eq!(unwrap_ec_point(&wrapped), point.as_slice());
        assert_eq!(unwrap_ec_point(&point), point.as_slice());
        assert_eq!(
            ec_p384_spki_der(&wrapped, "k").unwrap(),
            ec_p384_spki_der(&point, "k").unwrap()
        );
        assert!(ec_p384_spki_der(&point[..65], "k").is_err());
    }

    #[test]
    fn a_bare_point_that_looks_like_der_is_not_unwrapped() {
        // 0x04 0x5f: an OCTET STRING tag and a length of 95, exactly the
        // rest of the 97 bytes. About 1 bare point in 256 starts like this.
        let mut point = vec![0x04, 0x5f];
        point.extend((0u8..95).map(|b| b.wrapping_mul(7)));
        assert_eq!(point.len(), P384_POINT_LEN);
        assert_eq!(unwrap_ec_point(&point), point.as_slice());
        let spki = ec_p384_spki_der(&point, "k").expect("a bare 97-byte point");
        let parsed = spki::SubjectPublicKeyInfoRef::from_der(&spki).unwrap();
        assert_eq!(parsed.subject_public_key.raw_bytes(), point.as_slice());

        // Wrapped, the same point is unwrapped to the same key.
        let mut wrapped = vec![0x04, 0x61];
        wrapped.extend(&point);
        assert_eq!(ec_p384_spki_der(&wrapped, "k").unwrap(), spki);
        // A wrapper whose length disagrees with its content is not a point.
        wrapped[1] = 0x60;
        assert!(ec_p384_spki_der(&wrapped, "k").is_err());
    }

    #[test]
    fn rsa_spki_has_null_parameters_and_positive_integers() {
        let der = rsa_spki_der(&[0xC0, 0x01], &RSA_PUBLIC_EXPONENT).unwrap();
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).unwrap();
        assert_eq!(spki.algorithm.oid, RSA_ENCRYPTION);
        assert!(spki.algorithm.parameters.unwrap().is_null());
        let key = RsaPublicKey::from_der(spki.subject_public_key.raw_bytes()).unwrap();
        assert_eq!(key.modulus.as_bytes(), &[0xC0, 0x01]);
        assert_eq!(key.public_exponent.as_bytes(), &RSA_PUBLIC_EXPONENT);
    }
}
