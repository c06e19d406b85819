//! init-token on a token that exists already (`hsm.reinitialize`): the
//! destruction of every key on it by re-initialisation (CPS 6.2.10), such
//! as the key an aborted key generation left, which no destroy-key
//! ceremony can take up because no certificate names it.
//!
//! In order: k user-PIN custodians of the ceremony that made the token's
//! shares (`activation.shares-from`) log in so that every object, private
//! ones too, is listed and recorded; the room is shown that list and the
//! performer gives the go; k of that ceremony's SO-PIN custodians rebuild
//! the SO PIN for C_InitToken, which the token checks against it and which
//! erases every object; the SO PIN is changed at once, so the old shares
//! open nothing; then, as for a new token (`Runner::new_pins`), both PINs
//! are drawn and split, a user session finds nothing left on the token,
//! and the log-signing key is made. Each key pair listed is recorded as
//! destroyed in the log and in the records beside the inventory, so that
//! a later ceremony refuses a certified one.

use std::time::Instant;

use chrono::Utc;
use keyceremony_hsm::{HsmError, Module, ObjectSummary, Session, Token, UserKind};
use keyceremony_log::EventKind;
use keyceremony_policy::{DestructionScope, IssuedRecord, IssuedRecords, KeyDestructionRecord};
use keyceremony_script::{Script, Secret, Step};
use keyceremony_text::terminal_safe;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::{fact, split_among};
use crate::EngineError;
use crate::activation;
use crate::imminent::Imminent;
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};

/// Refuses, before anything is written, a script that would re-initialise
/// a token that is not there: the token labelled `hsm.token_label` must
/// exist and be initialised, and be the only one with that label.
pub(crate) fn check_reinitializable(module: &Module, script: &Script) -> Result<(), EngineError> {
    let label = &script.hsm.token_label;
    match module.token_by_label(label) {
        Ok(token) if token.info()?.flags.initialized => Ok(()),
        Ok(_) => Err(EngineError::Refused(format!(
            "the token labelled '{label}' is not initialised: there is nothing to re-initialise"
        ))),
        Err(HsmError::TokenNotFound { .. }) => Err(EngineError::Refused(format!(
            "no token is labelled '{label}': hsm.reinitialize re-initialises an existing token; check hsm.token_label and that the token is connected"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One object found on the token before it is re-initialised.
struct Listed {
    class: String,
    label: String,
    id: String,
    key_type: Option<String>,
    /// For a private key whose public half is on the token too: its
    /// SubjectPublicKeyInfo, and that DER's SHA-256, by which the records
    /// know the key.
    spki: Option<Vec<u8>>,
    public_key_sha256: Option<String>,
}

impl Listed {
    fn describe(&self) -> String {
        let mut text = format!(
            "{} '{}', CKA_ID {}",
            self.class,
            terminal_safe(&self.label),
            if self.id.is_empty() { "-" } else { &self.id }
        );
        if let Some(key_type) = &self.key_type {
            text.push_str(&format!(", {key_type}"));
        }
        if let Some(sha) = &self.public_key_sha256 {
            text.push_str(&format!(", public key SHA-256 {sha}"));
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "class": self.class,
            "label": self.label,
            "id": self.id,
            "key_type": self.key_type,
            "public_key_sha256": self.public_key_sha256,
        })
    }
}

impl Runner {
    pub(super) fn reinitialize_token(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
    ) -> Result<(), EngineError> {
        let script = self.script.script.clone();
        let label = script.hsm.token_label.clone();
        let token = self.module.token_by_label(&label)?;
        let before = token.info()?;
        let (listed, listed_by) = self.list_objects(operator, step, &token)?;
        let imminent = reinitialisation(&script, &before, &listed);
        self.go(
            operator,
            step,
            imminent,
            json!({ "objects": listed.len(), "serial": before.serial.trim() }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!(
                "the SO-PIN custodians activate C_InitToken: token '{label}' is re-initialised and its {} object(s) erased",
                listed.len()
            ),
        });
        let started = Instant::now();
        let transient = activation::transient_pin()?;
        let ((token, session), so_custodians) = self.with_quorum(
            operator,
            step,
            Secret::SoPin,
            false,
            |this, pin, custodians| {
                // Who erases every key on the token is held to the policy's
                // destruction quorum before C_InitToken, not after.
                let people: Vec<&str> = custodians.iter().map(String::as_str).collect();
                this.settings.policy.check_destruction(&people)?;
                this.tool_record(
                    Some(&step.id),
                    EventKind::TokenInitRequested,
                    format!(
                        "re-initialising token serial {} labelled '{label}': C_InitToken erases its {} object(s)",
                        before.serial.trim(),
                        listed.len()
                    ),
                    json!({ "slot": before.slot_id, "serial": before.serial, "label": label, "reinitialize": true, "objects": listed.len() }),
                )?;
                let token = match token.reinitialize(pin, &label) {
                    Ok(token) => token,
                    Err(e @ HsmError::PinIncorrect) => return Ok(Err(e)),
                    Err(e) => return Err(e.into()),
                };
                // The old SO PIN is replaced while it is whole: from now on
                // the old shares open nothing.
                let session = this.open_session(&token, step)?;
                session.login(UserKind::SecurityOfficer, pin)?;
                session.set_pin(pin, &transient)?;
                Ok(Ok((token, session)))
            },
            |this, _, custodians, _| {
                this.tool_record(
                    Some(&step.id),
                    EventKind::LoginSucceeded,
                    format!(
                        "token '{label}' re-initialised with the SO PIN rebuilt from the shares of {}, and its SO PIN changed at once: the shares of '{}' open it no more",
                        custodians.join(" and "),
                        script.activation.shares_from.as_deref().unwrap_or_default()
                    ),
                    json!({ "custodians": custodians, "context_specific": false, "secret": Secret::SoPin.as_str(), "reinitialized": true }),
                )
            },
        )?;
        let splits = self.new_pins(
            operator,
            step,
            &token,
            session,
            transient,
            started,
            Some(listed.len()),
        )?;
        self.record_erased(step, &before, &listed, &so_custodians, &listed_by)?;
        self.distribute(operator, step, splits)
    }

    /// Every object on the token, seen by a user session the custodians of
    /// the user PIN activate (private objects are visible only to one); a
    /// token whose user PIN was never set holds no private object, and its
    /// public ones are listed without a login. The objects, and who
    /// activated the listing.
    fn list_objects(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        token: &Token,
    ) -> Result<(Vec<Listed>, Vec<String>), EngineError> {
        let label = self.script.script.hsm.token_label.clone();
        let session = self.open_session(token, step)?;
        let user_pin_set = token.info()?.flags.user_pin_initialized;
        let listed_by = match user_pin_set {
            true => self.log_in_as(operator, step, &session, UserKind::User, false)?,
            false => Vec::new(),
        };
        let found = session.stored_objects();
        let listed = found.and_then(|found| {
            found
                .iter()
                .map(|object| listed(&session, object))
                .collect::<Result<Vec<_>, _>>()
        });
        if user_pin_set {
            session.logout()?;
            self.tool_record(
                Some(&step.id),
                EventKind::Logout,
                format!("logged out of token '{label}': its objects are listed"),
                json!({}),
            )?;
        }
        self.close_session(session, step)?;
        let listed = listed?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "token '{label}' holds {} object(s), {}: {}",
                listed.len(),
                match user_pin_set {
                    true => format!(
                        "listed by a user session the shares of {} activated",
                        listed_by.join(" and ")
                    ),
                    false => "listed without a login: its user PIN was never set, so it holds no private object".to_string(),
                },
                if listed.is_empty() {
                    "none".to_string()
                } else {
                    listed.iter().map(Listed::describe).collect::<Vec<_>>().join("; ")
                }
            ),
            json!({
                "token_objects": listed.iter().map(Listed::json).collect::<Vec<_>>(),
                "listed_by": listed_by,
                "private_objects_visible": user_pin_set,
            }),
        )?;
        Ok((listed, listed_by))
    }

    /// Each key pair the token held, recorded as destroyed in the log and
    /// in the records beside the inventory (the key itself, or a copy when
    /// the records hold a backup of it).
    fn record_erased(
        &mut self,
        step: &Step,
        before: &keyceremony_hsm::TokenInfo,
        listed: &[Listed],
        so_custodians: &[String],
        listed_by: &[String],
    ) -> Result<(), EngineError> {
        let records_path = IssuedRecords::path_beside(&self.settings.inventory);
        let records = IssuedRecords::load(&records_path)?;
        let token_label = self.script.script.hsm.token_label.clone();
        let token_serial = before.serial.trim().to_string();
        for key in listed.iter().filter(|o| o.class == "private key") {
            let Some(public_key_sha256) = key.public_key_sha256.clone() else {
                continue;
            };
            let backups = key
                .spki
                .as_deref()
                .map_or(0, |spki| records.key_history(spki).backups.len());
            let scope = match backups {
                0 => DestructionScope::Key,
                _ => DestructionScope::Copy,
            };
            self.tool_record(
                Some(&step.id),
                EventKind::KeyDestroyed,
                format!(
                    "key '{}' destroyed with token '{token_label}', re-initialised: a user session finds nothing on it",
                    terminal_safe(&key.label)
                ),
                json!({
                    "label": key.label,
                    "id": key.id,
                    "public_key_sha256": public_key_sha256,
                    "objects_destroyed": listed.iter().filter(|o| o.id == key.id).count(),
                    "by": "token-reinitialization",
                    "scope": match scope { DestructionScope::Key => "key", DestructionScope::Copy => "copy" },
                    "backups_recorded": backups,
                    "token_label": token_label,
                    "token_serial": token_serial,
                    "destroyed_by": so_custodians,
                    "listed_by": listed_by,
                    "performer": step.performer,
                    "witness": step.witness,
                }),
            )?;
            let record = KeyDestructionRecord {
                ceremony_id: self.script.script.ceremony.id.clone(),
                time: Utc::now(),
                key_label: key.label.clone(),
                public_key_sha256,
                scope,
                token_label: token_label.clone(),
                token_serial: token_serial.clone(),
                destroyed_by: so_custodians.to_vec(),
            };
            IssuedRecords::record(&records_path, &IssuedRecord::KeyDestruction(record))?;
        }
        Ok(())
    }
}

/// One object as the listing records it; a private key's public half,
/// found by its CKA_ID, gives the key's public key SHA-256.
fn listed(session: &Session, object: &ObjectSummary) -> Result<Listed, HsmError> {
    let class = object.class.to_string();
    let spki = match class.as_str() {
        "private key" => match session.find_key_pair(&object.id) {
            Ok(Some(pair)) => Some(session.public_key_spki_der(&pair)?),
            // A half-pair or a CKA_ID used twice is listed as it is; what
            // matters here is that it is erased.
            Ok(None) | Err(_) => None,
        },
        _ => None,
    };
    let public_key_sha256 = spki.as_deref().map(|spki| hex_upper(&Sha256::digest(spki)));
    Ok(Listed {
        class,
        label: object.label.clone(),
        id: hex::encode_upper(&object.id),
        key_type: object.key_type.clone(),
        spki,
        public_key_sha256,
    })
}

/// Before C_InitToken on a used token: the token, every object it holds,
/// and what becomes of it.
fn reinitialisation(
    script: &Script,
    token: &keyceremony_hsm::TokenInfo,
    listed: &[Listed],
) -> Imminent {
    let label = &script.hsm.token_label;
    let from = script.activation.shares_from.as_deref().unwrap_or_default();
    let mut facts = vec![fact(
        "Token",
        format!(
            "'{label}', serial {}, slot {}, {} {}",
            token.serial.trim(),
            token.slot_id,
            token.manufacturer,
            token.model
        ),
    )];
    match listed {
        [] => facts.push(fact("Objects", "none found")),
        _ => {
            for (i, object) in listed.iter().enumerate() {
                facts.push(fact(&format!("Object {}", i + 1), object.describe()));
            }
        }
    }
    facts.extend([
        fact(
            "Erased by",
            format!(
                "C_InitToken with the SO PIN rebuilt from the shares of '{from}' ({}): every object above is destroyed, and cannot be recovered",
                split_among(script, script.activation.quorum(Secret::SoPin))
            ),
        ),
        fact(
            "Then",
            format!(
                "new PINs drawn from the token's random generator: SO PIN {}; user PIN {}; the shares of '{from}' open nothing",
                split_among(script, script.activation.quorum(Secret::SoPin)),
                split_among(script, script.activation.quorum(Secret::UserPin))
            ),
        ),
        fact(
            "After",
            "a user session with the new PIN must find no object on the token",
        ),
        fact(
            "Log key",
            format!(
                "ECC P-384 '{}', generated on the emptied token to sign this log's seal",
                script.log.signing_key
            ),
        ),
    ]);
    Imminent {
        action: "init-token",
        what: format!(
            "re-initialise token '{label}' (serial {}): C_InitToken erases the {} object(s) it holds",
            token.serial.trim(),
            listed.len()
        ),
        facts,
        lint: None,
    }
}
