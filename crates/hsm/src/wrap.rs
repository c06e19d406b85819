//! The trusted wrap key and the RFC 5649 wrap of a private key (CPS 6.2.4).
//!
//! A key generated for backup carries CKA_WRAP_WITH_TRUSTED, so the token
//! wraps it only with a key marked CKA_TRUSTED. PKCS#11 reserves setting
//! that mark to the Security Officer, but modules differ: SoftHSM2 2.6.1
//! enforces it, kryoptic 1.5.4 lets any user set it through C_GenerateKey,
//! C_UnwrapKey or C_CopyObject (and refuses it in C_CreateObject, even for
//! the SO). The tool therefore never relies on the module: it imports a
//! wrap key only on a session where the Security Officer is logged in, and
//! reads the mark back before every use.
//!
//! The wrap key's 32 bytes come from the token's generator, so that the
//! engine can split them among the backup custodians before the key is
//! imported; the same import puts the rebuilt bytes on the restore token.
//! The wrap key is a session object (CKA_TOKEN false), public because
//! SoftHSM2's SO session writes only public objects: it is gone when its
//! session closes, even if the ceremony is killed before it destroys it.

use cryptoki::error::Error as CkError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::SessionState;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{HsmError, Result, ck};
use crate::keys::KeyPair;
use crate::raw::ulong_to_u64;
use crate::raw_wrap::RawError;
use crate::refusal::{Refusal, class_of, code_name};
use crate::session::{Session, describe, object_handle};

/// Bytes of the AES-256 wrap key.
pub const WRAP_KEY_BYTES: usize = 32;

/// Bytes of the wrap key's CKA_ID, drawn from the token's generator.
const WRAP_KEY_ID_BYTES: usize = 16;

/// A trusted AES-256 wrap key: a public session object, gone when the
/// session that imported it closes. The handle is only meaningful in that
/// session; every use reads the key's attributes back from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapKey {
    /// The object's handle.
    pub handle: u64,
    /// CKA_ID, random.
    pub id: Vec<u8>,
    /// CKA_LABEL.
    pub label: String,
}

/// How the token took the wrap key, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapKeyRoute {
    /// C_CreateObject with CKA_VALUE and CKA_TRUSTED (SoftHSM2).
    CreateObject,
    /// The module refuses CKA_TRUSTED in C_CreateObject (kryoptic): the
    /// value was encrypted on the token under a transport key generated
    /// there for the purpose (CKM_AES_KEY_WRAP) and unwrapped with
    /// CKA_TRUSTED in the template; the transport key was then destroyed.
    UnwrapWithTransportKey,
}

/// A wrap key the Security Officer imported, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedWrapKey {
    /// The key.
    pub key: WrapKey,
    /// How the token took it.
    pub route: WrapKeyRoute,
}

/// The RFC 5649 key wrap, under its two PKCS#11 codes: 3.0's
/// CKM_AES_KEY_WRAP_KWP, and 2.40's CKM_AES_KEY_WRAP_PAD, which some modules
/// (SoftHSM2) implement as RFC 5649. Both give the same bytes, so a backup
/// made under one code unwraps under the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrapMechanism {
    /// CKM_AES_KEY_WRAP_KWP, 0x210B.
    AesKeyWrapKwp,
    /// CKM_AES_KEY_WRAP_PAD, 0x210A.
    AesKeyWrapPad,
}

impl WrapMechanism {
    /// The order they are tried in: the unambiguous code first.
    pub const ALL: [WrapMechanism; 2] =
        [WrapMechanism::AesKeyWrapKwp, WrapMechanism::AesKeyWrapPad];

    /// The CKM_* value.
    pub fn code(self) -> u64 {
        ulong_to_u64(self.ck_type())
    }

    pub(crate) fn ck_type(self) -> cryptoki_sys::CK_MECHANISM_TYPE {
        match self {
            WrapMechanism::AesKeyWrapKwp => cryptoki_sys::CKM_AES_KEY_WRAP_KWP,
            WrapMechanism::AesKeyWrapPad => cryptoki_sys::CKM_AES_KEY_WRAP_PAD,
        }
    }

    /// The CKM_* name.
    pub fn name(self) -> &'static str {
        match self {
            WrapMechanism::AesKeyWrapKwp => "CKM_AES_KEY_WRAP_KWP",
            WrapMechanism::AesKeyWrapPad => "CKM_AES_KEY_WRAP_PAD",
        }
    }
}

/// A private key wrapped for the backup media.
#[derive(Clone, PartialEq, Eq)]
pub struct Backup {
    /// The RFC 5649 wrap of the key's PKCS#8 encoding: useless without the
    /// wrap key, which only a quorum of backup custodians can rebuild.
    pub blob: Vec<u8>,
    /// The code the token wrapped it under.
    pub mechanism: WrapMechanism,
    /// SHA-256 of `blob`, for the log and the inventory.
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("bytes", &self.blob.len())
            .field("mechanism", &self.mechanism)
            .field("sha256", &hex::encode(self.sha256))
            .finish()
    }
}

/// Outcome of trying each RFC 5649 code in turn.
pub(crate) enum Attempt<T> {
    /// One worked.
    Done(T, WrapMechanism),
    /// One was refused for another reason than not implementing it.
    Refused(CkError),
    /// Neither is implemented: each code with the token's answer.
    Unsupported(String),
}

/// Calls `call` with each code of [`WrapMechanism::ALL`] until the token
/// does more than say it does not implement it.
pub(crate) fn each_mechanism<T>(
    mut call: impl FnMut(WrapMechanism) -> std::result::Result<T, RawError>,
) -> Result<Attempt<T>> {
    let mut answers = Vec::new();
    for mechanism in WrapMechanism::ALL {
        match call(mechanism) {
            Ok(done) => return Ok(Attempt::Done(done, mechanism)),
            Err(RawError::Crate(error)) => return Err(error),
            Err(RawError::Module(error)) if class_of(&error) == Refusal::MechanismUnsupported => {
                answers.push(format!("{:#06X}: {}", mechanism.code(), code_name(&error)));
            }
            Err(RawError::Module(error)) => return Ok(Attempt::Refused(error)),
        }
    }
    Ok(Attempt::Unsupported(answers.join(", ")))
}

impl Session {
    /// 32 bytes for a wrap key from the token's generator (C_GenerateRandom),
    /// in a buffer wiped when dropped.
    pub fn random_wrap_key_value(&self) -> Result<Zeroizing<[u8; WRAP_KEY_BYTES]>> {
        let mut value = Zeroizing::new([0u8; WRAP_KEY_BYTES]);
        self.ck_session()
            .generate_random_slice(value.as_mut_slice())
            .map_err(ck("C_GenerateRandom"))?;
        Ok(value)
    }

    /// Imports `value` as a trusted AES-256 wrap key (CKA_TRUSTED, wrap and
    /// unwrap only, sensitive, not extractable, a public session object).
    ///
    /// Refused unless the Security Officer is logged in on this session:
    /// the tool keeps CKA_TRUSTED to the SO whatever the module enforces.
    /// C_CreateObject is tried first; if the module refuses CKA_TRUSTED
    /// there, the value goes in through C_UnwrapKey under a transport key
    /// ([`WrapKeyRoute::UnwrapWithTransportKey`]). CKA_TRUSTED is read back;
    /// a key that is not trusted is destroyed and refused.
    pub fn import_trusted_wrap_key(
        &self,
        value: &[u8; WRAP_KEY_BYTES],
        label: &str,
    ) -> Result<ImportedWrapKey> {
        if self.session_state()? != SessionState::RwSecurityOfficer {
            return Err(HsmError::NotSecurityOfficer {
                operation: "importing a trusted wrap key",
            });
        }
        if label.is_empty() {
            return Err(HsmError::InvalidLabel {
                label: label.to_owned(),
                reason: "a wrap key needs a label to be found again".to_owned(),
            });
        }
        let id = self.random(WRAP_KEY_ID_BYTES)?;
        let mut template = wrap_key_template(label, &id);
        template.push(Attribute::Trusted(true));
        let mut with_value = template.clone();
        with_value.push(Attribute::Value(value.to_vec()));
        let created = self.ck_session().create_object(&with_value);
        wipe_values(&mut with_value);
        let (handle, route) = match created {
            Ok(handle) => (handle, WrapKeyRoute::CreateObject),
            Err(error) if class_of(&error) == Refusal::AttributeRefused => {
                let handle = self
                    .import_through_transport_key(value, &template)
                    .map_err(|unwrap| HsmError::WrapKeyImport {
                        create: code_name(&error),
                        unwrap,
                    })?;
                (handle, WrapKeyRoute::UnwrapWithTransportKey)
            }
            Err(error) => return Err(HsmError::from_cryptoki("C_CreateObject", error)),
        };
        let key = WrapKey {
            handle: ulong_to_u64(handle.handle()),
            id,
            label: label.to_owned(),
        };
        if let Err(error) = self.check_wrap_key(&key) {
            self.ck_session()
                .destroy_object(handle)
                .map_err(ck("C_DestroyObject"))?;
            return Err(error);
        }
        Ok(ImportedWrapKey { key, route })
    }

    /// Wraps the private key of `key` with `wrap_key` (RFC 5649), for the
    /// backup media. Needs the user logged in.
    ///
    /// The tool checks first, from the attributes read back, that the wrap
    /// key is trusted and that the private key was made for backup
    /// (sensitive, extractable, wrap-with-trusted); the token's own refusal
    /// of either is reported the same way. CKM_AES_KEY_WRAP_KWP is tried,
    /// then CKM_AES_KEY_WRAP_PAD.
    pub fn wrap_private_key(&self, wrap_key: &WrapKey, key: &KeyPair) -> Result<Backup> {
        if self.session_state()? != SessionState::RwUser {
            return Err(HsmError::NotLoggedIn {
                operation: "C_WrapKey",
            });
        }
        self.check_wrap_key(wrap_key)?;
        let object = describe(key, "private");
        let private = object_handle(key.private)?;
        let attrs = self.read(
            private,
            object.clone(),
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::WrapWithTrusted,
            ],
        )?;
        let not_backup = |reason: &str| HsmError::NotBackupKey {
            object: object.clone(),
            reason: reason.to_owned(),
        };
        if !attrs.flag(AttributeType::Extractable)? {
            return Err(not_backup(
                "CKA_EXTRACTABLE is false: it was generated never to leave its token",
            ));
        }
        if !attrs.flag(AttributeType::Sensitive)? {
            return Err(not_backup(
                "CKA_SENSITIVE is false: its value could be read in the clear",
            ));
        }
        if attrs.flag_if_reported(AttributeType::WrapWithTrusted)? != Some(true) {
            return Err(not_backup(
                "CKA_WRAP_WITH_TRUSTED is not true: any key could wrap it, trusted or not",
            ));
        }
        let raw = self.module().raw_wrap();
        let session = self.ck_session().handle();
        let wrapping = object_handle(wrap_key.handle)?.handle();
        let attempt = each_mechanism(|mechanism| {
            raw.wrap(session, mechanism.ck_type(), wrapping, private.handle())
        })?;
        match attempt {
            Attempt::Done(blob, mechanism) => Ok(Backup {
                sha256: Sha256::digest(&blob).into(),
                blob,
                mechanism,
            }),
            Attempt::Refused(error) => Err(match class_of(&error) {
                Refusal::NotWrappable => HsmError::WrapKeyNotTrusted {
                    object: describe_wrap_key(wrap_key),
                    found: format!("the token refused C_WrapKey with {}", code_name(&error)),
                },
                Refusal::NotExtractable => HsmError::NotBackupKey {
                    object,
                    reason: format!("the token refused C_WrapKey with {}", code_name(&error)),
                },
                _ => HsmError::from_cryptoki("C_WrapKey", error),
            }),
            Attempt::Unsupported(codes) => Err(HsmError::NoKeyWrapMechanism {
                operation: "C_WrapKey",
                codes,
            }),
        }
    }

    /// The session's login state.
    pub(crate) fn session_state(&self) -> Result<SessionState> {
        Ok(self
            .ck_session()
            .get_session_info()
            .map_err(ck("C_GetSessionInfo"))?
            .session_state())
    }

    /// Generates a transport key on the token, encrypts the value under it
    /// there and unwraps it with `template`; the transport key is destroyed
    /// whatever happens. Errors are the token's answer, for the message.
    fn import_through_transport_key(
        &self,
        value: &[u8; WRAP_KEY_BYTES],
        template: &[Attribute],
    ) -> std::result::Result<ObjectHandle, String> {
        let session = self.ck_session();
        let transport = session
            .generate_key(
                &Mechanism::AesKeyGen,
                &[
                    Attribute::Token(false),
                    Attribute::Private(false),
                    Attribute::ValueLen((WRAP_KEY_BYTES as u64).into()),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Encrypt(true),
                    Attribute::Unwrap(true),
                    Attribute::Decrypt(false),
                    Attribute::Wrap(false),
                ],
            )
            .map_err(|e| format!("{} (generating the transport key)", code_name(&e)))?;
        let imported = session
            .encrypt(&Mechanism::AesKeyWrap, transport, value)
            .map(Zeroizing::new)
            .map_err(|e| format!("{} (C_Encrypt)", code_name(&e)))
            .and_then(|wrapped| {
                session
                    .unwrap_key(&Mechanism::AesKeyWrap, transport, &wrapped, template)
                    .map_err(|e| code_name(&e))
            });
        let destroyed = session.destroy_object(transport);
        match (imported, destroyed) {
            (imported, Ok(())) => imported,
            (imported, Err(e)) => {
                if let Ok(handle) = imported {
                    // Nothing is left half-made: without the transport key
                    // gone, the wrap key is not kept either.
                    let _ = session.destroy_object(handle);
                }
                Err(format!("{} (destroying the transport key)", code_name(&e)))
            }
        }
    }

    /// Reads the wrap key back: an AES secret key with CKA_TRUSTED and
    /// CKA_WRAP true, 32 bytes, a session object.
    fn check_wrap_key(&self, key: &WrapKey) -> Result<()> {
        let object = describe_wrap_key(key);
        let attrs = self.read(
            object_handle(key.handle)?,
            object.clone(),
            &[
                AttributeType::Class,
                AttributeType::KeyType,
                AttributeType::Trusted,
                AttributeType::Wrap,
                AttributeType::Token,
                AttributeType::ValueLen,
            ],
        )?;
        let unexpected = |attribute, reason: &str| HsmError::UnexpectedAttribute {
            attribute,
            object: object.clone(),
            reason: reason.to_owned(),
        };
        if attrs.class()? != ObjectClass::SECRET_KEY || attrs.key_type()? != KeyType::AES {
            return Err(unexpected("CKA_KEY_TYPE", "it is not an AES secret key"));
        }
        if let Some(len) = attrs.value_len()
            && len != WRAP_KEY_BYTES as u64
        {
            return Err(unexpected("CKA_VALUE_LEN", "it is not an AES-256 key"));
        }
        match attrs.flag_if_reported(AttributeType::Trusted)? {
            Some(true) => {}
            found => {
                return Err(HsmError::WrapKeyNotTrusted {
                    object: object.clone(),
                    found: format!("CKA_TRUSTED reads {}", crate::key_handling::reported(found)),
                });
            }
        }
        if attrs.flag(AttributeType::Token)? {
            return Err(unexpected(
                "CKA_TOKEN",
                "it is stored on the token, but a wrap key lives only in its session",
            ));
        }
        if !attrs.flag(AttributeType::Wrap)? {
            return Err(unexpected("CKA_WRAP", "it may not wrap keys"));
        }
        Ok(())
    }
}

/// The attributes of a wrap key, without its value or CKA_TRUSTED.
pub(crate) fn wrap_key_template(label: &str, id: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
    ]
}

/// Wipes the key values a template carried, once the module has them.
fn wipe_values(template: &mut [Attribute]) {
    for attribute in template {
        if let Attribute::Value(value) = attribute {
            value.zeroize();
        }
    }
}

pub(crate) fn describe_wrap_key(key: &WrapKey) -> String {
    format!("wrap key {:?} (id {})", key.label, hex::encode(&key.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_pkcs11s() {
        assert_eq!(WrapMechanism::AesKeyWrapKwp.code(), 0x210B);
        assert_eq!(WrapMechanism::AesKeyWrapPad.code(), 0x210A);
        assert_eq!(WrapMechanism::ALL[0], WrapMechanism::AesKeyWrapKwp);
    }

    #[test]
    fn a_backup_prints_its_hash_not_its_bytes() {
        let backup = Backup {
            blob: vec![0xAB; 40],
            mechanism: WrapMechanism::AesKeyWrapPad,
            sha256: [0x11; 32],
        };
        let shown = format!("{backup:?}");
        assert!(shown.contains("bytes: 40"), "{shown}");
        assert!(!shown.contains("abab"), "{shown}");
    }
}
