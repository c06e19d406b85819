//! Activation data under dual control (CPS 6.2.2, 6.2.8, 6.4.1).
//!
//! The token's PINs are never one person's secret: each custodian types a
//! part of their own, and the PIN is derived from all the parts together.
//! The PIN exists only inside [`Pins::derive`]'s result, as a
//! [`SecretString`], for as long as one PKCS#11 call needs it.

use keyceremony_script::{Participant, Script, Step};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::operator::{InputError, Operator};

/// Shortest part accepted: with two custodians at least 2 x 16 characters go
/// into the derivation.
pub const MIN_PART_CHARS: usize = 16;

/// Which PKCS#11 user a PIN is for.
#[derive(Debug, Clone, Copy)]
pub enum PinFor {
    SecurityOfficer,
    User,
}

impl PinFor {
    fn domain(self) -> &'static [u8] {
        match self {
            PinFor::SecurityOfficer => b"so",
            PinFor::User => b"user",
        }
    }
}

/// Every custodian's part, collected for one act.
pub struct Parts {
    ceremony: String,
    parts: Vec<(String, SecretString)>,
}

impl Parts {
    /// Asks each custodian, in roster order, for their part. Parts are
    /// checked here, before any PKCS#11 call.
    pub fn collect(
        operator: &mut dyn Operator,
        script: &Script,
        step: &Step,
        mut entered: impl FnMut(&Participant),
    ) -> Result<Parts, InputError> {
        let mut parts = Vec::new();
        for id in &script.activation.custodians {
            let custodian = script.participant(id).ok_or_else(|| {
                InputError::Invalid(format!("custodian '{id}' is not a participant"))
            })?;
            let part = operator.activation_part(step, custodian)?;
            if part.expose_secret().chars().count() < MIN_PART_CHARS {
                return Err(InputError::Invalid(format!(
                    "the activation data entered by {} ({id}) is shorter than {MIN_PART_CHARS} characters; enter the whole part",
                    custodian.name
                )));
            }
            entered(custodian);
            parts.push((id.clone(), part));
        }
        Ok(Parts {
            ceremony: script.ceremony.id.clone(),
            parts,
        })
    }

    /// Ids of the custodians whose parts are here.
    pub fn custodians(&self) -> Vec<String> {
        self.parts.iter().map(|(id, _)| id.clone()).collect()
    }

    /// The PIN: hex SHA-256 over the length-prefixed ceremony id, purpose and
    /// every (custodian, part), so no part can stand in for another.
    pub fn derive(&self, purpose: PinFor) -> SecretString {
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        field(b"keyceremony activation v1");
        field(self.ceremony.as_bytes());
        field(purpose.domain());
        for (id, part) in &self.parts {
            field(id.as_bytes());
            field(part.expose_secret().as_bytes());
        }
        let digest = Zeroizing::new(<[u8; 32]>::from(hash.finalize()));
        SecretString::from(hex::encode(*digest))
    }
}
