//! Destroying key objects, and checking that nothing of them is left
//! (CPS 6.2.10).
//!
//! Objects are destroyed by handle, then the token is searched by the key's
//! CKA_ID and by its CKA_LABEL: both searches must find nothing. A key
//! pair's private half is visible only to a logged-in user, so its
//! destruction needs the user logged in, or the search could not see what
//! was left.

use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::SessionState;

use crate::error::{HsmError, Result};
use crate::keys::KeyPair;
use crate::refusal::{Refusal, class_of, code_name};
use crate::session::{Session, describe, object_handle};
use crate::wrap::{WrapKey, describe_wrap_key};

/// What a destruction did, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destruction {
    /// The key, in words.
    pub object: String,
    /// Objects destroyed.
    pub destroyed: usize,
    /// The CKA_ID searched for afterwards, which found nothing.
    pub id: Vec<u8>,
    /// The CKA_LABEL searched for afterwards, which found nothing.
    pub label: String,
}

impl Session {
    /// Destroys both halves of `key` (private first) and checks that no
    /// object with its CKA_ID or its CKA_LABEL is left, private objects
    /// included. Needs the user logged in.
    pub fn destroy_key_pair(&self, key: &KeyPair) -> Result<Destruction> {
        if self.session_state()? != SessionState::RwUser {
            return Err(HsmError::NotLoggedIn {
                operation: "destroying a key pair (its private key is visible only to the user)",
            });
        }
        let object = describe(key, "private and public");
        self.destroy_handles(&[object_handle(key.private)?, object_handle(key.public)?])?;
        self.check_absent(&object, &key.id, &key.label)?;
        Ok(Destruction {
            object,
            destroyed: 2,
            id: key.id.clone(),
            label: key.label.clone(),
        })
    }

    /// Destroys a wrap key and checks that no object with its CKA_ID or
    /// CKA_LABEL is left.
    pub fn destroy_wrap_key(&self, key: &WrapKey) -> Result<Destruction> {
        let object = describe_wrap_key(key);
        self.destroy_handles(&[object_handle(key.handle)?])?;
        self.check_absent(&object, &key.id, &key.label)?;
        Ok(Destruction {
            object,
            destroyed: 1,
            id: key.id.clone(),
            label: key.label.clone(),
        })
    }

    /// C_DestroyObject on each handle, in order; a refusal says why.
    pub(crate) fn destroy_handles(&self, handles: &[ObjectHandle]) -> Result<()> {
        for &handle in handles {
            self.ck_session()
                .destroy_object(handle)
                .map_err(|error| match class_of(&error) {
                    Refusal::Prohibited => HsmError::DestroyRefused {
                        object: format!("object {}", handle.handle()),
                        code: code_name(&error),
                    },
                    _ => HsmError::from_cryptoki("C_DestroyObject", error),
                })?;
        }
        Ok(())
    }

    fn check_absent(&self, object: &str, id: &[u8], label: &str) -> Result<()> {
        for (by, template) in [
            ("CKA_ID", Attribute::Id(id.to_vec())),
            ("CKA_LABEL", Attribute::Label(label.as_bytes().to_vec())),
        ] {
            let left = self.find_handles(&[template])?;
            if !left.is_empty() {
                return Err(HsmError::KeyStillPresent {
                    object: object.to_owned(),
                    by,
                    count: left.len(),
                });
            }
        }
        Ok(())
    }
}
