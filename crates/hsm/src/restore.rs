//! Restoring a backed-up private key onto another token, and what the
//! module gives the restored key.
//!
//! The blob is unwrapped with the templates a key made for backup has
//! (sensitive, extractable only under a trusted key, private, sign only,
//! CKA_ALWAYS_AUTHENTICATE as the original's), kept minimal: SoftHSM2
//! 2.6.1 refuses a private-key template that carries public-key attributes.
//! The public half is created from the original's SubjectPublicKeyInfo (for
//! the engine, the root certificate's), and the pair is proved
//! ([`Session::prove_key`]) before it is returned; a pair that fails is
//! destroyed again, so a failed restore leaves nothing on the token.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::SessionState;
use der::Decode;
use secrecy::SecretString;
use spki::SubjectPublicKeyInfoRef;

use crate::error::{HsmError, Result, ck};
use crate::key_handling::{AttributeLock, lock_attributes};
use crate::keys::{
    ID_EC_PUBLIC_KEY, KeyAlgorithm, KeyPair, P384_POINT_LEN, RSA_BITS, RSA_ENCRYPTION,
    RsaPublicKey, SECP384R1, SECP384R1_PARAMS,
};
use crate::prove::KeyProof;
use crate::raw::ulong_to_u64;
use crate::refusal::{Refusal, class_of, code_name};
use crate::session::{Session, describe, object_handle, significant_bits};
use crate::wrap::{Attempt, WrapKey, WrapMechanism, each_mechanism};

/// What to restore a backup as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSpec {
    /// CKA_LABEL of both halves.
    pub label: String,
    /// CKA_ID of both halves; must not be in use on the token.
    pub id: Vec<u8>,
    /// CKA_ALWAYS_AUTHENTICATE, as the original key had it.
    pub always_authenticate: bool,
    /// Asks for CKA_MODIFIABLE and CKA_COPYABLE false, as at generation.
    pub lock_attributes: bool,
    /// The original key's DER SubjectPublicKeyInfo: the public half is made
    /// from it and the restored key proved against it.
    pub spki_der: Vec<u8>,
}

/// A key restored and proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredKey {
    /// The key pair on the token.
    pub pair: KeyPair,
    /// The private key's attributes as the module set them.
    pub attributes: RestoredKeyAttributes,
    /// The proof that it is the original key.
    pub proof: KeyProof,
    /// The code the token unwrapped it under.
    pub mechanism: WrapMechanism,
    /// What became of CKA_MODIFIABLE and CKA_COPYABLE false.
    pub attribute_lock: AttributeLock,
}

/// A restored private key's attributes as read back. Those a module sets
/// its own way on an unwrapped key are optional: SoftHSM2 2.6.1 gives
/// CKA_LOCAL, CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE all false,
/// kryoptic 1.5.4 CKA_LOCAL false and the other two not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredKeyAttributes {
    /// CKA_TOKEN.
    pub token: bool,
    /// CKA_PRIVATE.
    pub private: bool,
    /// CKA_SENSITIVE.
    pub sensitive: bool,
    /// CKA_EXTRACTABLE.
    pub extractable: bool,
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
    /// CKA_WRAP_WITH_TRUSTED.
    pub wrap_with_trusted: Option<bool>,
    /// CKA_LOCAL: a restored key was not generated on its token.
    pub local: Option<bool>,
    /// CKA_ALWAYS_SENSITIVE.
    pub always_sensitive: Option<bool>,
    /// CKA_NEVER_EXTRACTABLE.
    pub never_extractable: Option<bool>,
    /// CKA_MODIFIABLE.
    pub modifiable: Option<bool>,
    /// CKA_COPYABLE.
    pub copyable: Option<bool>,
    /// CKA_KEY_TYPE as a PKCS#11 name.
    pub key_type: String,
}

impl RestoredKeyAttributes {
    /// Every attribute that differs from the rules of a key made for
    /// backup, in words. CKA_LOCAL, CKA_ALWAYS_SENSITIVE and
    /// CKA_NEVER_EXTRACTABLE are the module's to set on an unwrapped key,
    /// recorded but not required.
    pub fn problems(&self, expect_always_authenticate: bool) -> Vec<String> {
        let wanted = [
            ("CKA_TOKEN", Some(self.token), true),
            ("CKA_PRIVATE", Some(self.private), true),
            ("CKA_SENSITIVE", Some(self.sensitive), true),
            ("CKA_EXTRACTABLE", Some(self.extractable), true),
            ("CKA_WRAP_WITH_TRUSTED", self.wrap_with_trusted, true),
            ("CKA_SIGN", Some(self.sign), true),
            ("CKA_DECRYPT", Some(self.decrypt), false),
            ("CKA_UNWRAP", Some(self.unwrap), false),
            ("CKA_DERIVE", Some(self.derive), false),
            (
                "CKA_ALWAYS_AUTHENTICATE",
                Some(self.always_authenticate),
                expect_always_authenticate,
            ),
        ];
        wanted
            .into_iter()
            .filter(|(_, actual, want)| *actual != Some(*want))
            .map(|(name, actual, want)| {
                format!(
                    "{name} is {} on the restored key, but must be {want}",
                    crate::key_handling::reported(actual)
                )
            })
            .collect()
    }
}

/// The public key of an SPKI, as the attributes of a PKCS#11 public key.
enum PublicParts {
    Ec { ec_point: Vec<u8> },
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
}

/// Reads the SPKI of a key this crate makes: P-384 or RSA-4096.
fn public_parts(spki_der: &[u8]) -> Result<(KeyAlgorithm, PublicParts)> {
    let invalid = |reason: String| {
        HsmError::InvalidArgument(format!(
            "the original public key cannot be restored: {reason}"
        ))
    };
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| invalid(format!("it is not a DER SubjectPublicKeyInfo ({e})")))?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| invalid("its key BIT STRING has unused bits".to_owned()))?;
    if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        if spki.algorithm.parameters_oid().ok() != Some(SECP384R1) {
            return Err(invalid(
                "it is an EC key on another curve than P-384".to_owned(),
            ));
        }
        if key.len() != P384_POINT_LEN || key[0] != 0x04 {
            return Err(invalid(
                "its P-384 point is not 97 bytes, uncompressed".to_owned(),
            ));
        }
        // CKA_EC_POINT is the DER OCTET STRING around the point.
        let mut ec_point = vec![0x04, P384_POINT_LEN as u8];
        ec_point.extend_from_slice(key);
        Ok((KeyAlgorithm::EcP384, PublicParts::Ec { ec_point }))
    } else if spki.algorithm.oid == RSA_ENCRYPTION {
        let rsa = RsaPublicKey::from_der(key)
            .map_err(|e| invalid(format!("its RSAPublicKey cannot be read ({e})")))?;
        let modulus = rsa.modulus.as_bytes().to_vec();
        if significant_bits(&modulus) != RSA_BITS {
            return Err(invalid(format!(
                "its RSA modulus has {} bits, not {RSA_BITS}",
                significant_bits(&modulus)
            )));
        }
        let exponent = rsa.public_exponent.as_bytes().to_vec();
        Ok((
            KeyAlgorithm::Rsa4096,
            PublicParts::Rsa { modulus, exponent },
        ))
    } else {
        Err(invalid(format!(
            "algorithm {} is not RSA or EC",
            spki.algorithm.oid
        )))
    }
}

impl Session {
    /// Unwraps `blob` with `wrap_key` as the key `spec` describes, creates
    /// its public half from `spec.spki_der`, and proves the pair (the
    /// token's RNG gives a challenge, the restored key signs it, the
    /// signature must verify with the original public key). Needs the user
    /// logged in; `context_pin` is the user PIN for a key with
    /// CKA_ALWAYS_AUTHENTICATE.
    ///
    /// Nothing is left behind on failure: a key that does not prove is
    /// destroyed again ([`HsmError::RestoredKeyMismatch`]); a blob the wrap
    /// key does not open is [`HsmError::BackupUnwrap`]. Check the result's
    /// attributes with [`RestoredKeyAttributes::problems`].
    pub fn restore_key(
        &self,
        wrap_key: &WrapKey,
        blob: &[u8],
        spec: &RestoreSpec,
        context_pin: Option<&SecretString>,
    ) -> Result<RestoredKey> {
        if self.session_state()? != SessionState::RwUser {
            return Err(HsmError::NotLoggedIn {
                operation: "C_UnwrapKey",
            });
        }
        let (algorithm, parts) = public_parts(&spec.spki_der)?;
        if spec.label.is_empty() || spec.id.is_empty() {
            return Err(HsmError::InvalidArgument(
                "a restored key needs a label and a non-empty CKA_ID to be found again".to_owned(),
            ));
        }
        if !self
            .find_handles(&[Attribute::Id(spec.id.clone())])?
            .is_empty()
        {
            return Err(HsmError::KeyIdInUse {
                id: hex::encode(&spec.id),
            });
        }
        let (private, mechanism, mut attribute_lock) =
            self.unwrap_private(wrap_key, blob, spec, algorithm)?;
        let public = match self.create_public(spec, &parts, &attribute_lock) {
            Ok(public) => public,
            Err(error) => {
                self.destroy_handles(&[private])?;
                return Err(error);
            }
        };
        if let (AttributeLock::Applied, Err(code)) = (&attribute_lock, &public.1) {
            attribute_lock = AttributeLock::NotSupported { code: code.clone() };
        }
        let pair = KeyPair {
            public: ulong_to_u64(public.0.handle()),
            private: ulong_to_u64(private.handle()),
            label: spec.label.clone(),
            id: spec.id.clone(),
            algorithm,
        };
        let checked = self
            .prove_key(&pair, &spec.spki_der, context_pin)
            .and_then(|proof| Ok((proof, self.restored_key_attributes(&pair)?)));
        match checked {
            Ok((proof, attributes)) => Ok(RestoredKey {
                pair,
                attributes,
                proof,
                mechanism,
                attribute_lock,
            }),
            Err(error) => {
                self.destroy_handles(&[private, public.0])?;
                Err(match error {
                    HsmError::RestoredKeyMismatch { object, reason, .. } => {
                        HsmError::RestoredKeyMismatch {
                            object,
                            reason,
                            destroyed: true,
                        }
                    }
                    other => other,
                })
            }
        }
    }

    /// Reads back the attributes of a restored private key.
    pub fn restored_key_attributes(&self, key: &KeyPair) -> Result<RestoredKeyAttributes> {
        let attrs = self.read(
            object_handle(key.private)?,
            describe(key, "private"),
            &[
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Sign,
                AttributeType::Decrypt,
                AttributeType::Unwrap,
                AttributeType::Derive,
                AttributeType::AlwaysAuthenticate,
                AttributeType::WrapWithTrusted,
                AttributeType::Local,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Modifiable,
                AttributeType::Copyable,
                AttributeType::KeyType,
            ],
        )?;
        let optional = |wanted| attrs.flag_if_reported(wanted);
        Ok(RestoredKeyAttributes {
            token: attrs.flag(AttributeType::Token)?,
            private: attrs.flag(AttributeType::Private)?,
            sensitive: attrs.flag(AttributeType::Sensitive)?,
            extractable: attrs.flag(AttributeType::Extractable)?,
            sign: attrs.flag(AttributeType::Sign)?,
            decrypt: attrs.flag(AttributeType::Decrypt)?,
            unwrap: attrs.flag(AttributeType::Unwrap)?,
            derive: attrs.flag(AttributeType::Derive)?,
            always_authenticate: attrs.flag(AttributeType::AlwaysAuthenticate)?,
            wrap_with_trusted: optional(AttributeType::WrapWithTrusted)?,
            local: optional(AttributeType::Local)?,
            always_sensitive: optional(AttributeType::AlwaysSensitive)?,
            never_extractable: optional(AttributeType::NeverExtractable)?,
            modifiable: optional(AttributeType::Modifiable)?,
            copyable: optional(AttributeType::Copyable)?,
            key_type: attrs.key_type()?.to_string(),
        })
    }

    /// C_UnwrapKey under each RFC 5649 code, with the attribute lock, then
    /// without it if the module refuses those attributes.
    fn unwrap_private(
        &self,
        wrap_key: &WrapKey,
        blob: &[u8],
        spec: &RestoreSpec,
        algorithm: KeyAlgorithm,
    ) -> Result<(ObjectHandle, WrapMechanism, AttributeLock)> {
        let key_type = match algorithm {
            KeyAlgorithm::Rsa4096 => KeyType::RSA,
            KeyAlgorithm::EcP384 => KeyType::EC,
        };
        let template = vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(key_type),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::AlwaysAuthenticate(spec.always_authenticate),
            Attribute::Label(spec.label.as_bytes().to_vec()),
            Attribute::Id(spec.id.clone()),
        ];
        let raw = self.module().raw_wrap();
        let session = self.ck_session().handle();
        let unwrapping = object_handle(wrap_key.handle)?.handle();
        let unwrap = |template: &[Attribute]| {
            each_mechanism(|mechanism| {
                raw.unwrap(session, mechanism.ck_type(), unwrapping, blob, template)
            })
        };
        let (attempt, lock) = if spec.lock_attributes {
            let mut locked = template.clone();
            locked.extend(lock_attributes());
            match unwrap(&locked)? {
                Attempt::Refused(error) if class_of(&error) == Refusal::AttributeRefused => (
                    unwrap(&template)?,
                    AttributeLock::NotSupported {
                        code: code_name(&error),
                    },
                ),
                attempt => (attempt, AttributeLock::Applied),
            }
        } else {
            (unwrap(&template)?, AttributeLock::NotAsked)
        };
        match attempt {
            // SAFETY: see `object_handle`: a handle is a number the module
            // looks up, and this one it has just returned.
            Attempt::Done(handle, mechanism) => Ok((
                unsafe { ObjectHandle::new_from_raw(handle) },
                mechanism,
                lock,
            )),
            // A wrong unwrapping key fails RFC 5649's integrity check, which
            // SoftHSM2 2.6.1 reports as CKR_GENERAL_ERROR and kryoptic 1.5.4
            // as CKR_DEVICE_ERROR rather than a code of the class: the code
            // cannot tell a wrong key from a fault, the message names both,
            // and the engine confirms the wrap key's check value first.
            Attempt::Refused(error)
                if class_of(&error) == Refusal::WrappedDataInvalid
                    || matches!(
                        error,
                        CkError::Pkcs11(RvError::GeneralError | RvError::DeviceError, _)
                    ) =>
            {
                Err(HsmError::BackupUnwrap {
                    code: code_name(&error),
                })
            }
            Attempt::Refused(error) => Err(HsmError::from_cryptoki("C_UnwrapKey", error)),
            Attempt::Unsupported(codes) => Err(HsmError::NoKeyWrapMechanism {
                operation: "C_UnwrapKey",
                codes,
            }),
        }
    }

    /// Creates the public key object; the second value is the refusal of
    /// the attribute lock, when the module refused it and the object was
    /// made without.
    fn create_public(
        &self,
        spec: &RestoreSpec,
        parts: &PublicParts,
        lock: &AttributeLock,
    ) -> Result<(ObjectHandle, std::result::Result<(), String>)> {
        let mut template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::Label(spec.label.as_bytes().to_vec()),
            Attribute::Id(spec.id.clone()),
        ];
        match parts {
            PublicParts::Ec { ec_point } => template.extend([
                Attribute::KeyType(KeyType::EC),
                Attribute::Derive(false),
                Attribute::EcParams(SECP384R1_PARAMS.to_vec()),
                Attribute::EcPoint(ec_point.clone()),
            ]),
            PublicParts::Rsa { modulus, exponent } => template.extend([
                Attribute::KeyType(KeyType::RSA),
                Attribute::Modulus(modulus.clone()),
                Attribute::PublicExponent(exponent.clone()),
            ]),
        }
        let session = self.ck_session();
        if *lock == AttributeLock::Applied {
            let mut locked = template.clone();
            locked.extend(lock_attributes());
            match session.create_object(&locked) {
                Ok(handle) => return Ok((handle, Ok(()))),
                Err(error) if class_of(&error) == Refusal::AttributeRefused => {
                    let handle = session
                        .create_object(&template)
                        .map_err(ck("C_CreateObject"))?;
                    return Ok((handle, Err(code_name(&error))));
                }
                Err(error) => return Err(HsmError::from_cryptoki("C_CreateObject", error)),
            }
        }
        let handle = session
            .create_object(&template)
            .map_err(ck("C_CreateObject"))?;
        Ok((handle, Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_keys_this_crate_makes_are_restored() {
        let mut point = vec![0x04];
        point.extend([0x11; 96]);
        let spki = crate::keys::ec_p384_spki_der(&point, "k").unwrap();
        let (algorithm, parts) = public_parts(&spki).unwrap();
        assert_eq!(algorithm, KeyAlgorithm::EcP384);
        let PublicParts::Ec { ec_point } = parts else {
            panic!("an EC key");
        };
        assert_eq!(&ec_point[..2], &[0x04, 0x61]);
        assert_eq!(&ec_point[2..], point.as_slice());

        let mut small = vec![0xC0];
        small.extend([0x01; 255]);
        let rsa_2048 = crate::keys::rsa_spki_der(&small, &[1, 0, 1]).unwrap();
        let err = public_parts(&rsa_2048).err().expect("RSA-2048 refused");
        assert!(err.to_string().contains("2048 bits"), "{err}");
        assert!(public_parts(b"not DER").is_err());
    }

    #[test]
    fn restored_attributes_are_held_to_the_backup_rules() {
        let softhsm = RestoredKeyAttributes {
            token: true,
            private: true,
            sensitive: true,
            extractable: true,
            sign: true,
            decrypt: false,
            unwrap: false,
            derive: false,
            always_authenticate: true,
            wrap_with_trusted: Some(true),
            local: Some(false),
            always_sensitive: Some(false),
            never_extractable: Some(false),
            modifiable: Some(false),
            copyable: Some(false),
            key_type: "CKK_EC".into(),
        };
        assert_eq!(softhsm.problems(true), Vec::<String>::new());
        let kryoptic = RestoredKeyAttributes {
            always_sensitive: None,
            never_extractable: None,
            ..softhsm.clone()
        };
        assert_eq!(kryoptic.problems(true), Vec::<String>::new());
        let open = RestoredKeyAttributes {
            wrap_with_trusted: None,
            decrypt: true,
            ..softhsm
        };
        let problems = open.problems(false);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("CKA_WRAP_WITH_TRUSTED is not reported"));
    }
}
