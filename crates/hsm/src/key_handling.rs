//! Key pairs generated for backup, and with their attributes locked.
//!
//! [`Session::generate_key_pair`] makes the CPS 6.2.7 key that never leaves
//! its token. A key that may be backed up (CPS 6.2.4) is generated the same
//! way except that its private half is CKA_EXTRACTABLE with
//! CKA_WRAP_WITH_TRUSTED, and stays sensitive: the token then lets it out
//! only wrapped by a key marked CKA_TRUSTED, which the tool imports only
//! under the Security Officer's activation ([`Session::import_trusted_wrap_key`]).
//! CKA_MODIFIABLE and CKA_COPYABLE false keep anyone from changing those
//! attributes afterwards or copying the key with others; a module that
//! refuses them gets the key without, and the refusal is recorded.

use cryptoki::object::Attribute;

use crate::error::{HsmError, Result, ck};
use crate::keys::{KeyGenSpec, KeyPair, PrivateKeyAttributes};
use crate::refusal::{Refusal, class_of, code_name};
use crate::session::Session;

/// How a key pair may be handled after generation, beyond the CPS templates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyHandling {
    /// The private key may be backed up: CKA_EXTRACTABLE and
    /// CKA_WRAP_WITH_TRUSTED true (the policy decides whether a root key may
    /// be, CPS 6.2.4).
    pub backup: bool,
    /// Asks for CKA_MODIFIABLE and CKA_COPYABLE false on both halves.
    pub lock_attributes: bool,
}

/// What became of CKA_MODIFIABLE and CKA_COPYABLE false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeLock {
    /// Not asked for.
    NotAsked,
    /// In the templates, and accepted.
    Applied,
    /// The module refused the templates with them; the key was made
    /// without. `code` is the refusal, for the record.
    NotSupported {
        /// The module's answer, e.g. "CKR_ATTRIBUTE_TYPE_INVALID".
        code: String,
    },
}

/// A key pair generated with [`Session::generate_key_pair_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The key pair.
    pub pair: KeyPair,
    /// What became of the attribute lock.
    pub attribute_lock: AttributeLock,
}

/// CKA_COPYABLE then CKA_MODIFIABLE false, for the end of a template:
/// SoftHSM2 2.6.1 applies a C_CreateObject or C_UnwrapKey template in order
/// and refuses (CKR_ATTRIBUTE_READ_ONLY) every attribute after
/// CKA_MODIFIABLE false, so it must come last.
pub(crate) fn lock_attributes() -> [Attribute; 2] {
    [Attribute::Copyable(false), Attribute::Modifiable(false)]
}

impl KeyGenSpec {
    /// The private template for a key generated for backup.
    fn backup_private_template(&self) -> Vec<Attribute> {
        let mut template: Vec<Attribute> = self
            .private_template()
            .into_iter()
            .map(|attribute| match attribute {
                Attribute::Extractable(_) => Attribute::Extractable(true),
                other => other,
            })
            .collect();
        template.push(Attribute::WrapWithTrusted(true));
        template
    }
}

impl Session {
    /// Generates a key pair as [`Session::generate_key_pair`] does, made
    /// for backup and with its attributes locked as `handling` asks.
    ///
    /// When the attribute lock is asked for and the module refuses the
    /// templates for one of the attribute classes (CKA_MODIFIABLE or
    /// CKA_COPYABLE unknown or not settable), the key is generated again
    /// without them and [`AttributeLock::NotSupported`] records why; any
    /// other refusal is an error. Read the result back with
    /// [`Session::private_key_attributes`] and check it with
    /// [`PrivateKeyAttributes::backup_problems`] (or `problems`).
    pub fn generate_key_pair_with(
        &self,
        spec: &KeyGenSpec,
        handling: KeyHandling,
    ) -> Result<GeneratedKey> {
        let private = if handling.backup {
            spec.backup_private_template()
        } else {
            spec.private_template()
        };
        let public = spec.public_template();
        if !handling.lock_attributes {
            let pair = self
                .generate_key_pair_from(spec, &public, &private)?
                .map_err(ck("C_GenerateKeyPair"))?;
            return Ok(GeneratedKey {
                pair,
                attribute_lock: AttributeLock::NotAsked,
            });
        }
        let locked = |template: &[Attribute]| {
            let mut template = template.to_vec();
            template.extend(lock_attributes());
            template
        };
        match self.generate_key_pair_from(spec, &locked(&public), &locked(&private))? {
            Ok(pair) => Ok(GeneratedKey {
                pair,
                attribute_lock: AttributeLock::Applied,
            }),
            Err(error) if class_of(&error) == Refusal::AttributeRefused => {
                let pair = self
                    .generate_key_pair_from(spec, &public, &private)?
                    .map_err(ck("C_GenerateKeyPair"))?;
                Ok(GeneratedKey {
                    pair,
                    attribute_lock: AttributeLock::NotSupported {
                        code: code_name(&error),
                    },
                })
            }
            Err(error) => Err(HsmError::from_cryptoki("C_GenerateKeyPair", error)),
        }
    }
}

impl PrivateKeyAttributes {
    /// Every attribute of a key generated for backup that differs from the
    /// CPS templates with CKA_EXTRACTABLE true: as
    /// [`PrivateKeyAttributes::problems`], except that the key must be
    /// extractable (and so is not never-extractable), and it must carry
    /// CKA_WRAP_WITH_TRUSTED true.
    pub fn backup_problems(&self, expect_always_authenticate: bool) -> Vec<String> {
        let mut problems = self.deviations(true, expect_always_authenticate);
        if self.wrap_with_trusted != Some(true) {
            problems.push(format!(
                "CKA_WRAP_WITH_TRUSTED is {}: the private key could be wrapped by any key, not only a trusted one, but must not be",
                reported(self.wrap_with_trusted)
            ));
        }
        problems
    }
}

/// A flag as read back, or that the module did not report it.
pub(crate) fn reported(flag: Option<bool>) -> String {
    match flag {
        Some(value) => value.to_string(),
        None => "not reported".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;

    fn spec() -> KeyGenSpec {
        KeyGenSpec {
            algorithm: KeyAlgorithm::EcP384,
            label: "root".into(),
            id: vec![1],
            always_authenticate: true,
        }
    }

    #[test]
    fn a_backup_template_differs_only_in_extraction() {
        let spec = spec();
        let plain = spec.private_template();
        let backup = spec.backup_private_template();
        assert_eq!(backup.len(), plain.len() + 1);
        assert!(backup.contains(&Attribute::Extractable(true)));
        assert!(backup.contains(&Attribute::Sensitive(true)));
        assert_eq!(backup.last(), Some(&Attribute::WrapWithTrusted(true)));
        let unchanged = |a: &&Attribute| !matches!(a, Attribute::Extractable(_));
        assert!(plain.iter().filter(unchanged).all(|a| backup.contains(a)));
    }

    #[test]
    fn backup_problems_want_extractable_and_wrap_with_trusted() {
        let backup_key = PrivateKeyAttributes {
            token: true,
            private: true,
            sensitive: true,
            always_sensitive: true,
            extractable: true,
            never_extractable: false,
            local: true,
            sign: true,
            decrypt: false,
            unwrap: false,
            derive: false,
            always_authenticate: true,
            key_type: "CKK_EC".into(),
            wrap_with_trusted: Some(true),
            modifiable: Some(false),
            copyable: Some(false),
        };
        assert_eq!(backup_key.backup_problems(true), Vec::<String>::new());
        assert_eq!(backup_key.problems(true).len(), 2, "not a CPS 6.2.7 key");
        let unprotected = PrivateKeyAttributes {
            wrap_with_trusted: None,
            ..backup_key.clone()
        };
        let problems = unprotected.backup_problems(true);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("CKA_WRAP_WITH_TRUSTED is not reported"));
        let kept = PrivateKeyAttributes {
            extractable: false,
            never_extractable: true,
            ..backup_key
        };
        assert_eq!(kept.backup_problems(true).len(), 2);
    }
}
