//! Plain descriptions of token objects, for listing and searching.

use std::fmt;

use cryptoki::object::{Attribute, ObjectClass as CkObjectClass};

use crate::error::{HsmError, Result};
use crate::raw::{u64_to_ulong, ulong_to_u64};

/// The PKCS#11 object class (CKA_CLASS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectClass {
    /// CKO_PUBLIC_KEY.
    PublicKey,
    /// CKO_PRIVATE_KEY.
    PrivateKey,
    /// CKO_CERTIFICATE.
    Certificate,
    /// CKO_SECRET_KEY.
    SecretKey,
    /// CKO_DATA.
    Data,
    /// Any other class, by its CKO_* value.
    Other(u64),
}

impl fmt::Display for ObjectClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectClass::PublicKey => f.write_str("public key"),
            ObjectClass::PrivateKey => f.write_str("private key"),
            ObjectClass::Certificate => f.write_str("certificate"),
            ObjectClass::SecretKey => f.write_str("secret key"),
            ObjectClass::Data => f.write_str("data"),
            ObjectClass::Other(value) => write!(f, "object class {value:#x}"),
        }
    }
}

impl From<CkObjectClass> for ObjectClass {
    fn from(class: CkObjectClass) -> Self {
        match class {
            CkObjectClass::PUBLIC_KEY => ObjectClass::PublicKey,
            CkObjectClass::PRIVATE_KEY => ObjectClass::PrivateKey,
            CkObjectClass::CERTIFICATE => ObjectClass::Certificate,
            CkObjectClass::SECRET_KEY => ObjectClass::SecretKey,
            CkObjectClass::DATA => ObjectClass::Data,
            other => ObjectClass::Other(ulong_to_u64(*other)),
        }
    }
}

impl ObjectClass {
    fn to_cryptoki(self) -> Result<CkObjectClass> {
        Ok(match self {
            ObjectClass::PublicKey => CkObjectClass::PUBLIC_KEY,
            ObjectClass::PrivateKey => CkObjectClass::PRIVATE_KEY,
            ObjectClass::Certificate => CkObjectClass::CERTIFICATE,
            ObjectClass::SecretKey => CkObjectClass::SECRET_KEY,
            ObjectClass::Data => CkObjectClass::DATA,
            ObjectClass::Other(value) => {
                CkObjectClass::try_from(u64_to_ulong(value, "object class")?).map_err(|_| {
                    HsmError::InvalidArgument(format!(
                        "object class {value:#x} is not a PKCS#11 object class"
                    ))
                })?
            }
        })
    }
}

/// Which objects [`crate::Session::find_objects`] returns; unset fields match
/// anything. Private objects are only visible after a user login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFilter {
    /// CKA_LABEL must equal this.
    pub label: Option<String>,
    /// CKA_ID must equal this.
    pub id: Option<Vec<u8>>,
    /// CKA_CLASS must equal this.
    pub class: Option<ObjectClass>,
    /// CKA_PRIVATE must equal this. `Some(true)` finds only objects made
    /// after a user login: anyone with the module but no PIN can make
    /// public objects with any label or CKA_ID.
    pub private: Option<bool>,
}

impl ObjectFilter {
    /// Objects of any class with this CKA_LABEL.
    pub fn label(label: impl Into<String>) -> Self {
        ObjectFilter {
            label: Some(label.into()),
            ..ObjectFilter::default()
        }
    }

    /// Objects of any class with this CKA_ID.
    pub fn id(id: impl Into<Vec<u8>>) -> Self {
        ObjectFilter {
            id: Some(id.into()),
            ..ObjectFilter::default()
        }
    }

    pub(crate) fn template(&self) -> Result<Vec<Attribute>> {
        let mut template = Vec::new();
        if let Some(label) = &self.label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            template.push(Attribute::Id(id.clone()));
        }
        if let Some(class) = self.class {
            template.push(Attribute::Class(class.to_cryptoki()?));
        }
        if let Some(private) = self.private {
            template.push(Attribute::Private(private));
        }
        Ok(template)
    }
}

/// One object found on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The object's handle in the session that found it.
    pub handle: u64,
    /// CKA_CLASS.
    pub class: ObjectClass,
    /// CKA_LABEL (lossily decoded if it is not UTF-8); empty when the
    /// object has none, as objects other than keys and certificates may not.
    pub label: String,
    /// CKA_ID; empty when the object has none.
    pub id: Vec<u8>,
    /// CKA_KEY_TYPE as a PKCS#11 name such as "CKK_RSA", for key objects.
    pub key_type: Option<String>,
}
