//! Attribute values read back from a token object.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass as CkObjectClass};

use crate::error::{HsmError, Result};
use crate::raw::ulong_to_u64;

/// Attribute values read from one object, with the object's description
/// for error messages.
pub(crate) struct ReadAttributes {
    pub(crate) object: String,
    pub(crate) values: Vec<Attribute>,
}

impl ReadAttributes {
    pub(crate) fn find(&self, wanted: AttributeType) -> Result<&Attribute> {
        self.values
            .iter()
            .find(|a| a.attribute_type() == wanted)
            .ok_or_else(|| HsmError::AttributeMissing {
                attribute: wanted.to_string(),
                object: self.object.clone(),
            })
    }

    pub(crate) fn flag(&self, wanted: AttributeType) -> Result<bool> {
        match self.find(wanted)? {
            Attribute::Token(b)
            | Attribute::Private(b)
            | Attribute::Sensitive(b)
            | Attribute::AlwaysSensitive(b)
            | Attribute::Extractable(b)
            | Attribute::NeverExtractable(b)
            | Attribute::Local(b)
            | Attribute::Sign(b)
            | Attribute::Decrypt(b)
            | Attribute::Unwrap(b)
            | Attribute::Derive(b)
            | Attribute::AlwaysAuthenticate(b)
            | Attribute::Verify(b)
            | Attribute::Encrypt(b)
            | Attribute::Wrap(b)
            | Attribute::Trusted(b)
            | Attribute::WrapWithTrusted(b)
            | Attribute::Modifiable(b)
            | Attribute::Copyable(b) => Ok(*b),
            other => Err(self.unexpected(wanted, other)),
        }
    }

    /// A flag the module may not report (an attribute it does not know, or
    /// one it leaves unset on some objects): `None` then, never an error.
    pub(crate) fn flag_if_reported(&self, wanted: AttributeType) -> Result<Option<bool>> {
        if self.values.iter().any(|a| a.attribute_type() == wanted) {
            self.flag(wanted).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn bytes(&self, wanted: AttributeType) -> Result<&[u8]> {
        match self.find(wanted)? {
            Attribute::Label(v)
            | Attribute::Id(v)
            | Attribute::Modulus(v)
            | Attribute::PublicExponent(v)
            | Attribute::EcParams(v)
            | Attribute::EcPoint(v) => Ok(v),
            other => Err(self.unexpected(wanted, other)),
        }
    }

    /// [`ReadAttributes::bytes`] of an attribute the object may not have:
    /// `None` then, never an error.
    pub(crate) fn bytes_if_reported(&self, wanted: AttributeType) -> Result<Option<&[u8]>> {
        if self.values.iter().any(|a| a.attribute_type() == wanted) {
            self.bytes(wanted).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn key_type(&self) -> Result<KeyType> {
        match self.find(AttributeType::KeyType)? {
            Attribute::KeyType(t) => Ok(*t),
            other => Err(self.unexpected(AttributeType::KeyType, other)),
        }
    }

    pub(crate) fn class(&self) -> Result<CkObjectClass> {
        match self.find(AttributeType::Class)? {
            Attribute::Class(c) => Ok(*c),
            other => Err(self.unexpected(AttributeType::Class, other)),
        }
    }

    /// CKA_VALUE_LEN, when the module reports it.
    pub(crate) fn value_len(&self) -> Option<u64> {
        self.values.iter().find_map(|a| match a {
            Attribute::ValueLen(len) => Some(ulong_to_u64(**len)),
            _ => None,
        })
    }

    /// An RSA key's size: CKA_MODULUS_BITS, or the bits of CKA_MODULUS for
    /// a public key object created from its parts (a restored key), which
    /// PKCS#11 gives no CKA_MODULUS_BITS.
    pub(crate) fn rsa_bits(&self) -> Option<u64> {
        self.modulus_bits().or_else(|| {
            self.values.iter().find_map(|a| match a {
                Attribute::Modulus(modulus) => Some(crate::session::significant_bits(modulus)),
                _ => None,
            })
        })
    }

    pub(crate) fn modulus_bits(&self) -> Option<u64> {
        self.values.iter().find_map(|a| match a {
            Attribute::ModulusBits(bits) => Some(ulong_to_u64(**bits)),
            _ => None,
        })
    }

    fn unexpected(&self, wanted: AttributeType, got: &Attribute) -> HsmError {
        HsmError::UnexpectedResult {
            operation: "C_GetAttributeValue",
            reason: format!(
                "asked {} for {wanted} but got {:?}",
                self.object,
                got.attribute_type()
            ),
        }
    }
}
