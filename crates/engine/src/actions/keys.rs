//! generate-key: a root key pair generated inside the HSM, its attributes
//! read back and checked, its public key checked against the policy and
//! the inventory (CPS 6.1.1, 6.1.6, 6.2.7, 6.3.2).

use std::time::Instant;

use keyceremony_hsm::{
    AttributeLock, KeyAlgorithm as HsmAlgorithm, KeyGenSpec, KeyHandling, KeyPair, ObjectClass,
    ObjectFilter, PrivateKeyAttributes, PublicKeyAttributes, Session,
};
use keyceremony_log::EventKind;
use keyceremony_script::{Action, KeyAlgorithm, Participant, Step};
use keyceremony_x509::CheckedKey;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::EngineError;
use crate::operator::{Notice, Operator};
use crate::run::{GeneratedKey, Runner, acting_role, hex_upper};

/// How a fresh generation went.
struct Generation {
    hsm_ms: f64,
    /// Whether the module took CKA_MODIFIABLE and CKA_COPYABLE false.
    attribute_lock: AttributeLock,
}

/// The record of the attribute lock: "applied", or the module's refusal.
fn lock_record(lock: &AttributeLock) -> serde_json::Value {
    match lock {
        AttributeLock::Applied => json!("applied"),
        AttributeLock::NotAsked => json!("not asked"),
        AttributeLock::NotSupported { code } => json!({ "refused_by_the_module": code }),
    }
}

/// A key the module accepted CKA_MODIFIABLE and CKA_COPYABLE false for,
/// but that reads back otherwise, is not the key that was asked for.
fn lock_problems(private: &PrivateKeyAttributes, lock: &AttributeLock) -> Vec<String> {
    if *lock != AttributeLock::Applied {
        return Vec::new();
    }
    [
        (
            "CKA_MODIFIABLE",
            private.modifiable,
            "its attributes can be changed",
        ),
        ("CKA_COPYABLE", private.copyable, "it can be copied"),
    ]
    .into_iter()
    .filter(|(_, value, _)| *value == Some(true))
    .map(|(name, _, meaning)| {
        format!("{name} is true: the token took it false at generation, but {meaning}")
    })
    .collect()
}

/// What a root key's private half must be (CPS 6.2.7): sensitive and never
/// extractable; or, for a key made for backup (CPS 6.2.4), sensitive and
/// extractable only wrapped by a trusted key.
pub(super) fn private_problems(private: &PrivateKeyAttributes, backup: bool) -> Vec<String> {
    match backup {
        true => private.backup_problems(true),
        false => private.problems(true),
    }
}

/// What [`Runner::check_key`] read from the token, and what failed.
pub(crate) struct TokenKey {
    private: PrivateKeyAttributes,
    public: PublicKeyAttributes,
    pub(super) spki: Vec<u8>,
    /// The public key as the policy checked it (CPS 6.1.5, 6.1.6), or why
    /// it failed: the certificate's build, lint and verification take this
    /// result up instead of checking the key again in this run.
    quality: Result<CheckedKey, keyceremony_policy::PolicyError>,
    /// Every check that failed, the policy's among them.
    pub(super) problems: Vec<String>,
}

impl TokenKey {
    /// The key as checked, when it passed every check; else why not.
    pub(super) fn passed(&self) -> Result<&CheckedKey, String> {
        match &self.quality {
            Ok(key) if self.problems.is_empty() => Ok(key),
            _ => Err(self.problems.join("; ")),
        }
    }
}

/// The CPS 6.1.6 checks a key passed, as the log records them.
fn checks(key: &CheckedKey) -> Vec<String> {
    key.quality().checks.iter().map(|c| c.to_string()).collect()
}

/// The token's name for a root key type of the script (CPS 6.1.5).
fn hsm_algorithm(algorithm: KeyAlgorithm) -> Option<HsmAlgorithm> {
    match algorithm {
        KeyAlgorithm::Rsa4096 => Some(HsmAlgorithm::Rsa4096),
        KeyAlgorithm::EcP384 => Some(HsmAlgorithm::EcP384),
        _ => None,
    }
}

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
        let algorithm = hsm_algorithm(spec.algorithm).ok_or_else(|| {
            EngineError::Refused(format!(
                "{} is not a root key type (CPS 6.1.5)",
                spec.algorithm.as_str()
            ))
        })?;
        if let Some(id) = self
            .recovery
            .as_ref()
            .and_then(|r| r.pending_keys.get(label).cloned())
        {
            let session = self.logged_in(step)?;
            if let Some(pair) = session.find_key_pair(&id)? {
                return self.record_generated(operator, step, label, pair, None);
            }
            self.record_made_without_login(step, &id)?;
        }
        // Interrupted right after this key was generated and recorded, before
        // the step ended: the login on resuming found the key again by its
        // CKA_ID and checked it as a fresh one. Generating another would
        // leave two keys for one label.
        if self
            .recovery
            .as_ref()
            .is_some_and(|r| r.keys.contains_key(label))
            && let Some(key) = self.keys.get(label)
        {
            // The room confirms this step on what the token holds: the key
            // is shown as a fresh one is.
            let session = self.logged_in(step)?;
            let private = session.private_key_attributes(&key.pair)?;
            let notice = self.key_notice(label, &key.pair, key.key.spki_der(), &private, true)?;
            operator.notify(&notice);
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
        let imminent = super::go::key_generation(algorithm, label, &id);
        self.go(operator, step, imminent, json!({}))?;
        let request = KeyGenSpec {
            algorithm,
            label: label.to_string(),
            id: id.clone(),
            always_authenticate: true,
        };
        // A key the script generates for backup leaves the token only
        // wrapped by a trusted key: where the policy allows it (CPS 6.2.4).
        if spec.backup {
            let quorum = self
                .script
                .script
                .activation
                .quorum(keyceremony_script::Secret::WrapKey);
            let custodians: Vec<&str> = quorum.custodians.iter().map(String::as_str).collect();
            self.settings
                .policy
                .check_backup(quorum.threshold, &custodians)?;
        }
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerationRequested,
            format!("generating {algorithm} key pair '{label}' inside the HSM"),
            json!({
                "label": label,
                "id": hex::encode(&id),
                "algorithm": algorithm.to_string(),
                "backup": spec.backup,
                "private_template": {
                    "token": true, "private": true, "sensitive": true, "sign": true, "always_authenticate": true,
                    "extractable": spec.backup, "wrap_with_trusted": spec.backup,
                    "decrypt": false, "unwrap": false, "derive": false,
                    "modifiable": false, "copyable": false,
                },
                "public_template": {
                    "token": true, "verify": true, "encrypt": false, "wrap": false,
                    "modifiable": false, "copyable": false,
                },
            }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("generating {algorithm} key pair '{label}'"),
        });
        let session = self.logged_in(step)?;
        let started = Instant::now();
        // CKA_MODIFIABLE and CKA_COPYABLE false where the module takes
        // them: nobody can change the key's attributes or copy it with
        // others afterwards. A module that refuses them gives the key
        // without; both are read back and recorded either way.
        let generated = session.generate_key_pair_with(
            &request,
            KeyHandling {
                backup: spec.backup,
                lock_attributes: true,
            },
        )?;
        let hsm_ms = started.elapsed().as_secs_f64() * 1000.0;
        operator.notify(&Notice::HsmDone {
            what: format!("{algorithm} key pair '{label}' generated"),
            milliseconds: hsm_ms,
        });
        let generation = Generation {
            hsm_ms,
            attribute_lock: generated.attribute_lock,
        };
        self.record_generated(operator, step, label, generated.pair, Some(generation))?;
        // RSA-4096 generation takes seconds: a signal that came meanwhile
        // stops the ceremony now that the key is recorded.
        self.check_stop(step, "after the key generation")
    }

    /// Objects at the CKA_ID an interrupted generation asked for, when no
    /// private key is there: made without a login (anyone with the module
    /// can), so never this ceremony's key. Recorded for the auditor.
    fn record_made_without_login(&mut self, step: &Step, id: &[u8]) -> Result<(), EngineError> {
        let found = self
            .logged_in(step)?
            .find_objects(&ObjectFilter::id(id.to_vec()))?;
        if found.is_empty() {
            return Ok(());
        }
        let objects: Vec<String> = found
            .iter()
            .map(|o| format!("{} '{}'", o.class, o.label))
            .collect();
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "the token holds {} object(s) at CKA_ID {}, which the interrupted generation asked for, but no private key: they were made without a login, are not this ceremony's key and are ignored; keep the token for the auditor ({})",
                found.len(),
                hex::encode(id),
                objects.join(", ")
            ),
            json!({ "made_without_login": hex::encode(id), "objects": objects }),
        )
    }

    /// Every check a root key passes before it is used, whether the token
    /// just made it or a resumed run takes it up again: the script's type
    /// and size, the private key's attributes (CKA_PRIVATE, CKA_LOCAL,
    /// sensitive, never extractable; CPS 6.1.1, 6.2.7), CPS 6.1.6 on the
    /// public key read from the token, and the inventory (CPS 6.3.2). Every
    /// failure is in `problems`.
    pub(super) fn check_key(
        &self,
        session: &Session,
        label: &str,
        pair: &KeyPair,
    ) -> Result<TokenKey, EngineError> {
        let wanted = self.script.script.key(label).map(|k| k.algorithm);
        let mut problems = Vec::new();
        if wanted.map(hsm_algorithm) != Some(Some(pair.algorithm)) {
            problems.push(format!(
                "the key on the token is {}, but the script asks for {}",
                pair.algorithm,
                wanted.map_or("no key", |a| a.as_str())
            ));
        }
        let private = session.private_key_attributes(pair)?;
        let backup = self.script.script.key(label).is_some_and(|k| k.backup);
        problems.extend(private_problems(&private, backup));
        let public = session.public_key_attributes(pair)?;
        let spki = session.public_key_spki_der(pair)?;
        let quality = self.settings.policy.check_key(&spki);
        if let Err(e) = &quality {
            problems.push(e.to_string());
        }
        // An inventory that cannot be read stops the step (the key is not
        // at fault); a key it already holds is refused.
        let inventory = keyceremony_policy::Inventory::load(&self.settings.inventory)?;
        // A key whose certificate this ceremony signed before an
        // interruption finds that record; anything else is a reuse.
        let own = self
            .recovery
            .as_ref()
            .filter(|r| r.certificates.contains_key(label))
            .map(|_| (self.script.script.ceremony.id.as_str(), label));
        if let Err(e) = inventory.check_key_taken_up(&spki, own) {
            problems.push(e.to_string());
        }
        Ok(TokenKey {
            private,
            public,
            spki,
            quality,
            problems,
        })
    }

    /// Reads the new key's attributes back, records them, and refuses a key
    /// that fails [`Runner::check_key`]. `generation` is None for a key an
    /// interrupted run generated and this run found again by its CKA_ID.
    fn record_generated(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
        pair: KeyPair,
        generation: Option<Generation>,
    ) -> Result<(), EngineError> {
        let session = self.logged_in(step)?;
        let algorithm = pair.algorithm;
        let id = pair.id.clone();
        let hsm_ms = generation.as_ref().map(|g| g.hsm_ms);
        let mut checked = self.check_key(session, label, &pair)?;
        if let Some(generation) = &generation {
            checked
                .problems
                .extend(lock_problems(&checked.private, &generation.attribute_lock));
        }
        let (private, public) = (&checked.private, &checked.public);
        let uri = self.key_uri(label, &id)?;
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
                "public_key_sha256": hex_upper(&Sha256::digest(&checked.spki)),
                "private_attributes": {
                    "token": private.token, "private": private.private,
                    "sensitive": private.sensitive, "always_sensitive": private.always_sensitive,
                    "extractable": private.extractable, "never_extractable": private.never_extractable,
                    "local": private.local, "sign": private.sign, "decrypt": private.decrypt,
                    "unwrap": private.unwrap, "derive": private.derive,
                    "always_authenticate": private.always_authenticate,
                    "modifiable": private.modifiable, "copyable": private.copyable,
                    "wrap_with_trusted": private.wrap_with_trusted,
                },
                "backup": self.script.script.key(label).is_some_and(|k| k.backup),
                "attribute_lock": generation.as_ref().map(|g| lock_record(&g.attribute_lock)),
                "public_attributes": {
                    "token": public.token, "private": public.private, "verify": public.verify,
                    "encrypt": public.encrypt, "wrap": public.wrap,
                },
                "problems": checked.problems,
                "key_quality": match &checked.quality {
                    Ok(key) => json!(checks(key)),
                    Err(e) => json!({ "failed": e.to_string() }),
                },
            }),
        )?;
        let key = match checked.passed() {
            Ok(key) => key.clone(),
            Err(why) => return self.refuse_key(step, label, &id, &why, None),
        };
        // Shown to the room as the token reports it, then taken into the
        // ceremony.
        let notice = self.key_notice(
            label,
            &pair,
            key.spki_der(),
            &checked.private,
            hsm_ms.is_none(),
        )?;
        operator.notify(&notice);
        self.take_up_key(step, label, pair, key)
    }

    /// What the room reads of a key: its fingerprint and the private key's
    /// attributes as the token reports them. `taken_up`: an interrupted run
    /// generated it.
    fn key_notice(
        &self,
        label: &str,
        pair: &KeyPair,
        spki: &[u8],
        private: &PrivateKeyAttributes,
        taken_up: bool,
    ) -> Result<Notice, EngineError> {
        let locks = [
            ("CKA_MODIFIABLE", private.modifiable),
            ("CKA_COPYABLE", private.copyable),
        ];
        Ok(Notice::KeyGenerated {
            label: label.to_string(),
            uri: self.key_uri(label, &pair.id)?,
            public_key_sha256: hex_upper(&Sha256::digest(spki)),
            attributes: [
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
            ]
            .into_iter()
            .chain(
                locks
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value?))),
            )
            .collect(),
            taken_up,
        })
    }

    /// Records that a key passed every check, and takes it into the
    /// ceremony: a fresh one, or one an interrupted run made.
    pub(super) fn take_up_key(
        &mut self,
        step: &Step,
        label: &str,
        pair: KeyPair,
        key: CheckedKey,
    ) -> Result<(), EngineError> {
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "key pair '{label}' passes every check of a key generated for this ceremony: type and size, attributes, CPS 6.1.6, not in the inventory (CPS 6.3.2)"
            ),
            json!({ "key": label, "checks": checks(&key) }),
        )?;
        self.keys
            .insert(label.to_string(), GeneratedKey { pair, key });
        Ok(())
    }

    /// Records a key as refused, by a failed check or by the witness, and
    /// stops the step: it is never taken up or certified, and (as only a
    /// destroy-key ceremony destroys a key) it stays on the token, live,
    /// which the entry says.
    pub(crate) fn refuse_key(
        &mut self,
        step: &Step,
        label: &str,
        id: &[u8],
        reason: &str,
        witness: Option<&Participant>,
    ) -> Result<(), EngineError> {
        self.keys.remove(label);
        self.certificates.remove(label);
        let description = format!(
            "key pair '{label}' is refused ({reason}): it is never certified, and it stays on the token, live, until it is destroyed"
        );
        let data = json!({ "label": label, "id": hex::encode(id), "reason": reason, "left_on_token": true });
        match witness {
            Some(who) => self.person_record(
                who,
                acting_role(who),
                Some(&step.id),
                EventKind::KeyRefused,
                description,
                data,
            )?,
            None => self.tool_record(Some(&step.id), EventKind::KeyRefused, description, data)?,
        }
        Err(EngineError::Step {
            step: step.id.clone(),
            message: format!(
                "key '{label}' is refused: {reason}. It must not be used (CPS 6.1.6, 6.2.7, 6.3.2); the ceremony can only be aborted, and the key stays on the token"
            ),
        })
    }

    /// The witness refused a step that generated or certified a key: that
    /// key is refused too (recorded), so that no later run takes it up.
    pub(crate) fn refuse_witnessed_key(
        &mut self,
        step: &Step,
        witness: &Participant,
        remark: &str,
    ) -> Result<(), EngineError> {
        let label = match &step.action {
            Action::GenerateKey { key } => key,
            Action::SelfSign { certificate } => certificate,
            _ => return Ok(()),
        };
        let Some(key) = self.keys.get(label) else {
            return Ok(());
        };
        let id = key.pair.id.clone();
        match self.refuse_key(
            step,
            label,
            &id,
            &format!("the witness refused step {}: {remark}", step.id),
            Some(witness),
        ) {
            Err(EngineError::Step { .. }) => Ok(()),
            other => other,
        }
    }

    /// The key pair whose private key carries `label` on a logged-in session.
    pub(super) fn find_key(&self, session: &Session, label: &str) -> Result<KeyPair, EngineError> {
        let found = session.find_objects(&ObjectFilter {
            label: Some(label.to_string()),
            class: Some(ObjectClass::PrivateKey),
            private: Some(true),
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
