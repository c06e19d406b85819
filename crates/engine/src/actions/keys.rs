//! generate-key: a root key pair generated inside the HSM, its attributes
//! read back and checked, its public key checked against the policy and
//! the inventory (CPS 6.1.1, 6.1.6, 6.2.7, 6.3.2).

use std::time::Instant;

use keyceremony_hsm::{
    KeyAlgorithm as HsmAlgorithm, KeyGenSpec, KeyPair, ObjectClass, ObjectFilter, Session,
};
use keyceremony_log::EventKind;
use keyceremony_script::{KeyAlgorithm, Step};
use keyceremony_x509::CheckedKey;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::EngineError;
use crate::operator::{Notice, Operator};
use crate::run::{GeneratedKey, Runner, hex_upper};

pub(super) fn refuse_existing_label(session: &Session, label: &str) -> Result<(), EngineError> {
    let found = session.find_objects(&ObjectFilter::label(label))?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Refused(format!(
            "the token already holds {} object(s) labelled '{label}': a key label is never reused (CPS 6.3.2); choose a new label in the script",
            found.len()
        )))
    }
}

/// The CPS 6.1.6 checks a key passed, as the log records them.
fn checks(key: &CheckedKey) -> Vec<String> {
    key.quality().checks.iter().map(|c| c.to_string()).collect()
}

impl Runner {
    pub(crate) fn generate_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let spec =
            self.script.script.key(label).cloned().ok_or_else(|| {
                EngineError::Refused(format!("key '{label}' is not in the script"))
            })?;
        let algorithm = match spec.algorithm {
            KeyAlgorithm::Rsa4096 => HsmAlgorithm::Rsa4096,
            KeyAlgorithm::EcP384 => HsmAlgorithm::EcP384,
            other => {
                return Err(EngineError::Refused(format!(
                    "{} is not a root key type (CPS 6.1.5)",
                    other.as_str()
                )));
            }
        };
        if let Some(id) = self
            .recovery
            .as_ref()
            .and_then(|r| r.pending_keys.get(label).cloned())
        {
            let session = self.logged_in(step)?;
            if let Some(pair) = session.find_key_pair(&id)? {
                return self.record_generated(operator, step, label, pair, None);
            }
        }
        // Interrupted right after this key was generated and recorded, before
        // the step ended: the login on resuming found the key again by its
        // CKA_ID. Generating another would leave two keys for one label.
        if self
            .recovery
            .as_ref()
            .is_some_and(|r| r.keys.contains_key(label))
            && self.keys.contains_key(label)
        {
            return self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "key pair '{label}' was generated and recorded before the interruption; it is taken up, not generated again"
                ),
                json!({ "key": label, "taken_up": true }),
            );
        }
        let session = self.logged_in(step)?;
        refuse_existing_label(session, label)?;
        let id = session.random(16)?;
        let request = KeyGenSpec {
            algorithm,
            label: label.to_string(),
            id: id.clone(),
            always_authenticate: true,
        };
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerationRequested,
            format!("generating {algorithm} key pair '{label}' inside the HSM"),
            json!({
                "label": label,
                "id": hex::encode(&id),
                "algorithm": algorithm.to_string(),
                "private_template": {
                    "token": true, "private": true, "sensitive": true, "sign": true, "always_authenticate": true,
                    "extractable": false, "decrypt": false, "unwrap": false, "derive": false,
                },
                "public_template": { "token": true, "verify": true, "encrypt": false, "wrap": false },
            }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("generating {algorithm} key pair '{label}'"),
        });
        let session = self.logged_in(step)?;
        let started = Instant::now();
        let pair = session.generate_key_pair(&request)?;
        let hsm_ms = started.elapsed().as_secs_f64() * 1000.0;
        operator.notify(&Notice::HsmDone {
            what: format!("{algorithm} key pair '{label}' generated"),
            milliseconds: hsm_ms,
        });
        self.record_generated(operator, step, label, pair, Some(hsm_ms))?;
        // RSA-4096 generation takes seconds: a signal that came meanwhile
        // stops the ceremony now that the key is recorded.
        self.check_stop(step, "after the key generation")
    }

    /// Reads the new key's attributes back, records them, and refuses a key
    /// the token did not make as the templates asked (CPS 6.1.1, 6.2.7).
    /// `hsm_ms` is None for a key an interrupted run generated and this run
    /// found again by its CKA_ID.
    fn record_generated(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
        pair: KeyPair,
        hsm_ms: Option<f64>,
    ) -> Result<(), EngineError> {
        let session = self.logged_in(step)?;
        let algorithm = pair.algorithm;
        let id = pair.id.clone();
        let private = session.private_key_attributes(&pair)?;
        let public = session.public_key_attributes(&pair)?;
        let spki = session.public_key_spki_der(&pair)?;
        let uri = self.key_uri(label, &id)?;
        let problems = private.problems(true);
        let checked = self.settings.policy.check_key(&spki);
        let inventory = keyceremony_policy::Inventory::load(&self.settings.inventory)
            .and_then(|inventory| inventory.check_key(&spki));
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerated,
            match hsm_ms {
                Some(_) => format!("key pair '{label}' generated; attributes read back from the token"),
                None => format!(
                    "key pair '{label}', generated before the interruption, found on the token by its CKA_ID and recorded"
                ),
            },
            json!({
                "label": label,
                "id": hex::encode(&id),
                "uri": uri,
                "algorithm": algorithm.to_string(),
                "hsm_ms": hsm_ms,
                "recovered": hsm_ms.is_none(),
                "public_key_sha256": hex_upper(&Sha256::digest(&spki)),
                "private_attributes": {
                    "token": private.token, "private": private.private,
                    "sensitive": private.sensitive, "always_sensitive": private.always_sensitive,
                    "extractable": private.extractable, "never_extractable": private.never_extractable,
                    "local": private.local, "sign": private.sign, "decrypt": private.decrypt,
                    "unwrap": private.unwrap, "derive": private.derive,
                    "always_authenticate": private.always_authenticate,
                },
                "public_attributes": {
                    "token": public.token, "private": public.private, "verify": public.verify,
                    "encrypt": public.encrypt, "wrap": public.wrap,
                },
                "problems": problems,
                "key_quality": match &checked {
                    Ok(key) => json!(checks(key)),
                    Err(e) => json!({ "failed": e.to_string() }),
                },
            }),
        )?;
        let key = checked?;
        inventory?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "public key of '{label}' passes the CPS 6.1.6 checks and is not in the inventory (CPS 6.3.2)"
            ),
            json!({ "key": label, "checks": checks(&key) }),
        )?;
        if !problems.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the token created key '{label}' with unsafe attributes ({}); it must not be used (CPS 6.2.7)",
                    problems.join("; ")
                ),
            });
        }
        operator.notify(&Notice::KeyGenerated {
            label: label.to_string(),
            uri,
            public_key_sha256: hex_upper(&Sha256::digest(&spki)),
            attributes: vec![
                ("CKA_SENSITIVE", private.sensitive),
                ("CKA_ALWAYS_SENSITIVE", private.always_sensitive),
                ("CKA_EXTRACTABLE", private.extractable),
                ("CKA_NEVER_EXTRACTABLE", private.never_extractable),
                ("CKA_LOCAL", private.local),
                ("CKA_SIGN", private.sign),
                ("CKA_DECRYPT", private.decrypt),
                ("CKA_UNWRAP", private.unwrap),
                ("CKA_DERIVE", private.derive),
                ("CKA_ALWAYS_AUTHENTICATE", private.always_authenticate),
            ],
        });
        self.keys
            .insert(label.to_string(), GeneratedKey { pair, key });
        Ok(())
    }

    /// The key pair whose private key carries `label` on a logged-in session.
    pub(super) fn find_key(&self, session: &Session, label: &str) -> Result<KeyPair, EngineError> {
        let found = session.find_objects(&ObjectFilter {
            label: Some(label.to_string()),
            class: Some(ObjectClass::PrivateKey),
            ..ObjectFilter::default()
        })?;
        let [object] = found.as_slice() else {
            return Err(EngineError::Refused(format!(
                "expected one private key labelled '{label}' on the token, found {}",
                found.len()
            )));
        };
        session.find_key_pair(&object.id)?.ok_or_else(|| {
            EngineError::Refused(format!(
                "the key labelled '{label}' has no public half on the token"
            ))
        })
    }

    pub(super) fn key_uri(&self, label: &str, id: &[u8]) -> Result<String, EngineError> {
        let token = self
            .module
            .token_by_label(&self.script.script.hsm.token_label)?;
        let mut uri = token.uri()?;
        uri.object = Some(label.to_string());
        uri.id = Some(id.to_vec());
        Ok(uri.to_string())
    }
}
