//! Sessions: login, key generation, key inspection and signing.

use std::borrow::Cow;
use std::fmt;

use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeType, KeyType, ObjectClass as CkObjectClass, ObjectHandle,
};
use cryptoki::session::{Session as CkSession, SessionState, UserType};
use cryptoki::slot::Slot;
use secrecy::SecretString;
use sha2::{Digest, Sha384};

use crate::attributes::ReadAttributes;
use crate::error::{HsmError, Result, ck};
use crate::keys::{
    KeyAlgorithm, KeyGenSpec, KeyPair, PrivateKeyAttributes, PublicKeyAttributes, RSA_BITS,
    SECP384R1_PARAMS, ec_p384_spki_der, rsa_spki_der,
};
use crate::module::Module;
use crate::objects::{ObjectClass, ObjectFilter, ObjectSummary};
use crate::raw::{u64_to_ulong, ulong_to_u64};

/// Length of a raw P-384 ECDSA signature, r || s.
const P384_SIGNATURE_LEN: usize = 96;

/// Who logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    /// The Security Officer (CKU_SO), who initializes the user PIN.
    SecurityOfficer,
    /// The normal user (CKU_USER), who uses the keys.
    User,
}

/// A read/write session on a token; closed when dropped.
///
/// PKCS#11 login state belongs to the token, not to one session: logging in
/// here logs in every session this process has on the token.
pub struct Session {
    module: Module,
    slot: Slot,
    inner: CkSession,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("module", &self.module.path())
            .field("slot_id", &self.slot.id())
            .field("handle", &self.inner.handle())
            .finish()
    }
}

impl Session {
    pub(crate) fn new(module: Module, slot: Slot, inner: CkSession) -> Self {
        Session {
            module,
            slot,
            inner,
        }
    }

    /// Logs in as the Security Officer or the user.
    pub fn login(&self, who: UserKind, pin: &SecretString) -> Result<()> {
        let user_type = match who {
            UserKind::SecurityOfficer => UserType::So,
            UserKind::User => UserType::User,
        };
        self.inner
            .login(user_type, Some(pin))
            .map_err(ck("C_Login"))
    }

    /// Logs out whoever is logged in.
    pub fn logout(&self) -> Result<()> {
        self.inner.logout().map_err(ck("C_Logout"))
    }

    /// Sets the user PIN (C_InitPIN); the Security Officer must be logged in.
    pub fn init_user_pin(&self, pin: &SecretString) -> Result<()> {
        self.module.token_info(self.slot)?.check_pin_length(pin)?;
        self.inner.init_pin(pin).map_err(ck("C_InitPIN"))
    }

    /// Changes the PIN of the user logged in on this session (C_SetPIN); as
    /// Security Officer it replaces the SO PIN.
    pub fn set_pin(&self, old: &SecretString, new: &SecretString) -> Result<()> {
        self.module.token_info(self.slot)?.check_pin_length(new)?;
        self.inner.set_pin(old, new).map_err(ck("C_SetPIN"))
    }

    /// Random bytes from the token's generator (C_GenerateRandom).
    pub fn random(&self, len: usize) -> Result<Vec<u8>> {
        let mut bytes = vec![0; len];
        self.inner
            .generate_random_slice(&mut bytes)
            .map_err(ck("C_GenerateRandom"))?;
        Ok(bytes)
    }

    /// Names (CKM_*) of the mechanisms the token supports.
    pub fn mechanisms(&self) -> Result<Vec<String>> {
        Ok(self
            .mechanism_types()?
            .into_iter()
            .map(|m| m.to_string())
            .collect())
    }

    /// Objects matching `filter`; private objects need a user login to be seen.
    pub fn find_objects(&self, filter: &ObjectFilter) -> Result<Vec<ObjectSummary>> {
        let handles = self
            .inner
            .find_objects(&filter.template()?)
            .map_err(ck("C_FindObjects"))?;
        handles
            .into_iter()
            .map(|handle| {
                let described = format!("object {}", handle.handle());
                let attrs = self.read(
                    handle,
                    described,
                    &[
                        AttributeType::Class,
                        AttributeType::Label,
                        AttributeType::Id,
                        AttributeType::KeyType,
                    ],
                )?;
                Ok(ObjectSummary {
                    handle: ulong_to_u64(handle.handle()),
                    class: ObjectClass::from(attrs.class()?),
                    label: attrs
                        .bytes_if_reported(AttributeType::Label)?
                        .map(|label| String::from_utf8_lossy(label).into_owned())
                        .unwrap_or_default(),
                    id: attrs
                        .bytes_if_reported(AttributeType::Id)?
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default(),
                    key_type: attrs.key_type().ok().map(|t| t.to_string()),
                })
            })
            .collect()
    }

    /// Every object the token stores that this session can see (a user
    /// session sees private ones too): [`Session::find_objects`] with no
    /// filter, less the CKO_MECHANISM objects kryoptic shows in every
    /// session, which describe the module's mechanisms and are stored
    /// nowhere.
    pub fn stored_objects(&self) -> Result<Vec<ObjectSummary>> {
        const CKO_MECHANISM: u64 = 7;
        let mut found = self.find_objects(&ObjectFilter::default())?;
        found.retain(|o| o.class != ObjectClass::Other(CKO_MECHANISM));
        Ok(found)
    }

    /// Generates a key pair on the token with the CPS templates (see
    /// [`KeyGenSpec`]). Refuses an id that is already in use, so that
    /// [`Session::find_key_pair`] can always recover the key unambiguously.
    pub fn generate_key_pair(&self, spec: &KeyGenSpec) -> Result<KeyPair> {
        self.generate_key_pair_from(spec, &spec.public_template(), &spec.private_template())?
            .map_err(ck("C_GenerateKeyPair"))
    }

    /// [`Session::generate_key_pair`] with templates of the caller's; the
    /// module's refusal comes back as it is, for the caller to sort.
    pub(crate) fn generate_key_pair_from(
        &self,
        spec: &KeyGenSpec,
        public_template: &[Attribute],
        private_template: &[Attribute],
    ) -> Result<std::result::Result<KeyPair, cryptoki::error::Error>> {
        if spec.label.is_empty() {
            return Err(HsmError::InvalidLabel {
                label: spec.label.clone(),
                reason: "a key needs a label to be found again".to_owned(),
            });
        }
        if spec.id.is_empty() {
            return Err(HsmError::InvalidArgument(
                "a key needs a non-empty CKA_ID to be found again".to_owned(),
            ));
        }
        let existing = self.find_handles(&[Attribute::Id(spec.id.clone())])?;
        if !existing.is_empty() {
            return Err(HsmError::KeyIdInUse {
                id: hex::encode(&spec.id),
            });
        }
        Ok(self
            .inner
            .generate_key_pair(&spec.mechanism(), public_template, private_template)
            .map(|(public, private)| KeyPair {
                public: ulong_to_u64(public.handle()),
                private: ulong_to_u64(private.handle()),
                label: spec.label.clone(),
                id: spec.id.clone(),
                algorithm: spec.algorithm,
            }))
    }

    /// The key pair with this CKA_ID, e.g. one an interrupted ceremony
    /// generated; `None` if there is no private key (CKA_PRIVATE true) with
    /// it. Needs a user login. Only a private key counts: an object made
    /// without a login (a public session) is never taken for a ceremony's
    /// key, whatever CKA_ID it carries.
    pub fn find_key_pair(&self, id: &[u8]) -> Result<Option<KeyPair>> {
        let hex_id = hex::encode(id);
        let find_one = |class: CkObjectClass, name: &'static str| -> Result<Option<ObjectHandle>> {
            let mut template = vec![Attribute::Class(class), Attribute::Id(id.to_vec())];
            if class == CkObjectClass::PRIVATE_KEY {
                template.push(Attribute::Private(true));
            }
            let found = self.find_handles(&template)?;
            match found.as_slice() {
                [] => Ok(None),
                [only] => Ok(Some(*only)),
                many => Err(HsmError::DuplicateKeyId {
                    id: hex_id.clone(),
                    class: name,
                    count: many.len(),
                }),
            }
        };
        let private = find_one(CkObjectClass::PRIVATE_KEY, "private key")?;
        let public = find_one(CkObjectClass::PUBLIC_KEY, "public key")?;
        let (private, public) = match (private, public) {
            (None, _) => return Ok(None),
            (Some(private), Some(public)) => (private, public),
            (Some(_), None) => {
                return Err(HsmError::KeyPairIncomplete {
                    id: hex_id,
                    found: "private",
                    missing: "public",
                });
            }
        };

        let described = format!("key pair with id {hex_id}");
        let private_attrs = self.read(
            private,
            described.clone(),
            &[AttributeType::Label, AttributeType::KeyType],
        )?;
        let public_attrs = self.read(
            public,
            described.clone(),
            &[
                AttributeType::KeyType,
                AttributeType::ModulusBits,
                AttributeType::Modulus,
                AttributeType::EcParams,
            ],
        )?;
        let key_type = private_attrs.key_type()?;
        if public_attrs.key_type()? != key_type {
            return Err(HsmError::UnsupportedKey {
                object: described,
                reason: "the public and private key types differ".to_owned(),
            });
        }
        let algorithm = if key_type == KeyType::RSA {
            match public_attrs.rsa_bits() {
                Some(RSA_BITS) => KeyAlgorithm::Rsa4096,
                bits => {
                    return Err(HsmError::UnsupportedKey {
                        object: described,
                        reason: format!("RSA modulus of {bits:?} bits"),
                    });
                }
            }
        } else if key_type == KeyType::EC {
            if public_attrs.bytes(AttributeType::EcParams)? != SECP384R1_PARAMS {
                return Err(HsmError::UnsupportedKey {
                    object: described,
                    reason: "an elliptic curve other than P-384".to_owned(),
                });
            }
            KeyAlgorithm::EcP384
        } else {
            return Err(HsmError::UnsupportedKey {
                object: described,
                reason: format!("key type {key_type}"),
            });
        };
        Ok(Some(KeyPair {
            public: ulong_to_u64(public.handle()),
            private: ulong_to_u64(private.handle()),
            label: String::from_utf8_lossy(private_attrs.bytes(AttributeType::Label)?).into_owned(),
            id: id.to_vec(),
            algorithm,
        }))
    }

    /// Reads back the private key attributes the CPS constrains; check them
    /// with [`PrivateKeyAttributes::problems`].
    pub fn private_key_attributes(&self, key: &KeyPair) -> Result<PrivateKeyAttributes> {
        let attrs = self.read(
            object_handle(key.private)?,
            describe(key, "private"),
            &[
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::AlwaysSensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Local,
                AttributeType::Sign,
                AttributeType::Decrypt,
                AttributeType::Unwrap,
                AttributeType::Derive,
                AttributeType::AlwaysAuthenticate,
                AttributeType::KeyType,
                AttributeType::WrapWithTrusted,
                AttributeType::Modifiable,
                AttributeType::Copyable,
            ],
        )?;
        Ok(PrivateKeyAttributes {
            token: attrs.flag(AttributeType::Token)?,
            private: attrs.flag(AttributeType::Private)?,
            sensitive: attrs.flag(AttributeType::Sensitive)?,
            always_sensitive: attrs.flag(AttributeType::AlwaysSensitive)?,
            extractable: attrs.flag(AttributeType::Extractable)?,
            never_extractable: attrs.flag(AttributeType::NeverExtractable)?,
            local: attrs.flag(AttributeType::Local)?,
            sign: attrs.flag(AttributeType::Sign)?,
            decrypt: attrs.flag(AttributeType::Decrypt)?,
            unwrap: attrs.flag(AttributeType::Unwrap)?,
            derive: attrs.flag(AttributeType::Derive)?,
            always_authenticate: attrs.flag(AttributeType::AlwaysAuthenticate)?,
            key_type: attrs.key_type()?.to_string(),
            wrap_with_trusted: attrs.flag_if_reported(AttributeType::WrapWithTrusted)?,
            modifiable: attrs.flag_if_reported(AttributeType::Modifiable)?,
            copyable: attrs.flag_if_reported(AttributeType::Copyable)?,
        })
    }

    /// Reads back the public key attributes worth checking.
    pub fn public_key_attributes(&self, key: &KeyPair) -> Result<PublicKeyAttributes> {
        let attrs = self.read(
            object_handle(key.public)?,
            describe(key, "public"),
            &[
                AttributeType::Verify,
                AttributeType::Encrypt,
                AttributeType::Wrap,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::ModulusBits,
            ],
        )?;
        Ok(PublicKeyAttributes {
            verify: attrs.flag(AttributeType::Verify)?,
            encrypt: attrs.flag(AttributeType::Encrypt)?,
            wrap: attrs.flag(AttributeType::Wrap)?,
            token: attrs.flag(AttributeType::Token)?,
            private: attrs.flag(AttributeType::Private)?,
            modulus_bits: attrs.modulus_bits(),
        })
    }

    /// The public key as a DER SubjectPublicKeyInfo, built from the values
    /// the token reports (not from anything the caller supplies), so the
    /// certificate certifies exactly the key that is on the token.
    pub fn public_key_spki_der(&self, key: &KeyPair) -> Result<Vec<u8>> {
        let object = describe(key, "public");
        let handle = object_handle(key.public)?;
        let key_type = self
            .read(handle, object.clone(), &[AttributeType::KeyType])?
            .key_type()?;
        match key.algorithm {
            KeyAlgorithm::Rsa4096 if key_type == KeyType::RSA => {
                let attrs = self.read(
                    handle,
                    object.clone(),
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )?;
                let modulus = attrs.bytes(AttributeType::Modulus)?;
                let bits = significant_bits(modulus);
                if bits != RSA_BITS {
                    return Err(HsmError::UnexpectedAttribute {
                        attribute: "CKA_MODULUS",
                        object,
                        reason: format!("the modulus has {bits} bits, expected {RSA_BITS}"),
                    });
                }
                rsa_spki_der(modulus, attrs.bytes(AttributeType::PublicExponent)?)
            }
            KeyAlgorithm::EcP384 if key_type == KeyType::EC => {
                let attrs = self.read(
                    handle,
                    object.clone(),
                    &[AttributeType::EcParams, AttributeType::EcPoint],
                )?;
                if attrs.bytes(AttributeType::EcParams)? != SECP384R1_PARAMS {
                    return Err(HsmError::UnexpectedAttribute {
                        attribute: "CKA_EC_PARAMS",
                        object,
                        reason: "the curve is not secp384r1 (P-384)".to_owned(),
                    });
                }
                ec_p384_spki_der(attrs.bytes(AttributeType::EcPoint)?, &object)
            }
            expected => Err(HsmError::UnexpectedAttribute {
                attribute: "CKA_KEY_TYPE",
                object,
                reason: format!("the token reports {key_type}, expected a {expected} key"),
            }),
        }
    }

    /// Signs `message` with SHA-384: RSA keys give a PKCS#1 v1.5 signature
    /// (CKM_SHA384_RSA_PKCS); P-384 keys give raw r || s (96 bytes), hashed
    /// on the token with CKM_ECDSA_SHA384 where available and otherwise on
    /// the host for CKM_ECDSA.
    ///
    /// `context_pin` is the user PIN for keys with CKA_ALWAYS_AUTHENTICATE,
    /// entered between C_SignInit and C_Sign as PKCS#11 requires; it is not
    /// used for other keys. Without it such a key fails with
    /// [`HsmError::NotLoggedIn`].
    pub fn sign_sha384(
        &self,
        key: &KeyPair,
        message: &[u8],
        context_pin: Option<&SecretString>,
    ) -> Result<Vec<u8>> {
        let (mechanism, data): (Mechanism<'static>, Cow<'_, [u8]>) = match key.algorithm {
            KeyAlgorithm::Rsa4096 => (Mechanism::Sha384RsaPkcs, Cow::Borrowed(message)),
            KeyAlgorithm::EcP384 => {
                if self
                    .mechanism_types()?
                    .contains(&MechanismType::ECDSA_SHA384)
                {
                    (Mechanism::EcdsaSha384, Cow::Borrowed(message))
                } else {
                    (
                        Mechanism::Ecdsa,
                        Cow::Owned(Sha384::digest(message).to_vec()),
                    )
                }
            }
        };
        let handle = object_handle(key.private)?;
        let pin = match context_pin {
            Some(pin) if self.needs_context_login(key, handle)? => Some(pin),
            _ => None,
        };
        let signature = match pin {
            None => self
                .inner
                .sign(&mechanism, handle, &data)
                .map_err(ck("C_Sign"))?,
            Some(pin) => self.sign_with_context_login(&mechanism, handle, &data, pin)?,
        };
        if key.algorithm == KeyAlgorithm::EcP384 && signature.len() != P384_SIGNATURE_LEN {
            return Err(HsmError::UnexpectedResult {
                operation: "C_Sign",
                reason: format!(
                    "a P-384 signature must be {P384_SIGNATURE_LEN} bytes (r || s), got {}",
                    signature.len()
                ),
            });
        }
        Ok(signature)
    }

    /// Logs out if anyone is logged in, then closes the session, reporting
    /// failures that dropping would only log.
    pub fn close(self) -> Result<()> {
        let state = self
            .inner
            .get_session_info()
            .map_err(ck("C_GetSessionInfo"))?
            .session_state();
        if !matches!(state, SessionState::RoPublic | SessionState::RwPublic) {
            self.logout()?;
        }
        self.inner.close().map_err(ck("C_CloseSession"))
    }

    /// The cryptoki session, for the other modules of this crate.
    pub(crate) fn ck_session(&self) -> &CkSession {
        &self.inner
    }

    pub(crate) fn module(&self) -> &Module {
        &self.module
    }

    fn mechanism_types(&self) -> Result<Vec<MechanismType>> {
        self.module
            .ctx()
            .get_mechanism_list(self.slot)
            .map_err(ck("C_GetMechanismList"))
    }

    fn needs_context_login(&self, key: &KeyPair, handle: ObjectHandle) -> Result<bool> {
        self.read(
            handle,
            describe(key, "private"),
            &[AttributeType::AlwaysAuthenticate],
        )?
        .flag(AttributeType::AlwaysAuthenticate)
    }

    fn sign_with_context_login(
        &self,
        mechanism: &Mechanism<'_>,
        handle: ObjectHandle,
        data: &[u8],
        pin: &SecretString,
    ) -> Result<Vec<u8>> {
        self.inner
            .sign_init(mechanism, handle)
            .map_err(ck("C_SignInit"))?;
        let raw = self.module.raw_sign();
        if let Err(error) = self
            .inner
            .login(UserType::ContextSpecific, Some(pin))
            .map_err(ck("C_Login"))
        {
            raw.abandon(self.inner.handle());
            return Err(error);
        }
        raw.sign(self.inner.handle(), data)
    }

    pub(crate) fn find_handles(&self, template: &[Attribute]) -> Result<Vec<ObjectHandle>> {
        self.inner
            .find_objects(template)
            .map_err(ck("C_FindObjects"))
    }

    pub(crate) fn read(
        &self,
        handle: ObjectHandle,
        object: String,
        types: &[AttributeType],
    ) -> Result<ReadAttributes> {
        let values = self
            .inner
            .get_attributes(handle, types)
            .map_err(ck("C_GetAttributeValue"))?;
        Ok(ReadAttributes { object, values })
    }
}

/// Rebuilds a cryptoki handle from the plain number in [`KeyPair`].
pub(crate) fn object_handle(raw: u64) -> Result<ObjectHandle> {
    let raw = u64_to_ulong(raw, "object handle")?;
    // SAFETY: an object handle is only a number the module looks up; an
    // unknown or stale one is answered with CKR_OBJECT_HANDLE_INVALID or
    // CKR_KEY_HANDLE_INVALID, never with undefined behaviour.
    Ok(unsafe { ObjectHandle::new_from_raw(raw) })
}

pub(crate) fn describe(key: &KeyPair, half: &str) -> String {
    format!(
        "{half} key {:?} (id {}, {})",
        key.label,
        hex::encode(&key.id),
        key.algorithm
    )
}

/// Bit length of a big-endian unsigned integer.
pub(crate) fn significant_bits(bytes: &[u8]) -> u64 {
    match bytes.iter().position(|&b| b != 0) {
        None => 0,
        Some(first) => {
            let leading = u64::from(bytes[first].leading_zeros());
            (bytes.len() - first) as u64 * 8 - leading
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_bits_ignores_leading_zeros() {
        assert_eq!(significant_bits(&[]), 0);
        assert_eq!(significant_bits(&[0, 0]), 0);
        assert_eq!(significant_bits(&[0x01]), 1);
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
        let mut modulus = vec![0u8; 513];
        modulus[1] = 0xC3;
        assert_eq!(significant_bits(&modulus), 4096);
    }
}
