//! destroy-key: the root key pair is destroyed under dual control (CPS
//! 6.2.10). The room is shown exactly what is destroyed (label, CKA_ID,
//! public key SHA-256, token); after the performer's go, k custodians
//! activate the key one last time to sign a challenge from the token, which
//! verifies with the root certificate's key, so the key destroyed is the
//! certified one; with at least the policy's `[destruction]` quorum of
//! distinct custodians, both halves are destroyed, the token is searched by
//! label and CKA_ID for anything left, and the records beside the inventory
//! mark the key destroyed: every later ceremony refuses it before it
//! touches the HSM.

use chrono::Utc;
use keyceremony_log::EventKind;
use keyceremony_policy::{DestructionScope, IssuedRecord, IssuedRecords, KeyDestructionRecord};
use keyceremony_script::Step;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::fact;
use crate::EngineError;
use crate::imminent::Imminent;
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};

/// The key about to be destroyed, as the room is shown it.
struct Doomed {
    label: String,
    id: String,
    public_key_sha256: String,
    token_label: String,
    token_serial: String,
    scope: DestructionScope,
}

impl Runner {
    pub(crate) fn destroy_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        key: &str,
    ) -> Result<(), EngineError> {
        let (issuer, pair) = self.root_in_use(step)?;
        if pair.label != key {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the step destroys '{key}', but the root key taken up at the login is '{}'",
                    pair.label
                ),
            });
        }
        let spki = issuer.spki_der().to_vec();
        let records_path = IssuedRecords::path_beside(&self.settings.inventory);
        let history_backups = IssuedRecords::load(&records_path)?
            .key_history(&spki)
            .backups
            .len();
        let token_label = self.script.script.hsm.token_label.clone();
        let token = self.module.token_by_label(&token_label)?.info()?;
        let doomed = Doomed {
            label: pair.label.clone(),
            id: hex::encode_upper(&pair.id),
            public_key_sha256: hex_upper(&Sha256::digest(&spki)),
            token_label,
            token_serial: token.serial.trim().to_string(),
            // With no backup recorded this copy is the key's last: the key
            // itself is destroyed. Otherwise only this copy is, and the
            // backups remain under their custodians.
            scope: match history_backups {
                0 => DestructionScope::Key,
                _ => DestructionScope::Copy,
            },
        };
        let imminent = destruction(&doomed, issuer.subject(), &self.root_certificate_sha256());
        self.go(
            operator,
            step,
            imminent,
            json!({ "key": doomed.label, "id": doomed.id, "public_key_sha256": doomed.public_key_sha256 }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!(
                "the custodians activate '{}' one last time: it signs a challenge from the token",
                doomed.label
            ),
        });
        let (proof, proof_ms, custodians) = self.activated(operator, step, &pair, |s, pin| {
            s.prove_key(&pair, &spki, Some(pin))
        })?;
        let people: Vec<&str> = custodians.iter().map(String::as_str).collect();
        self.settings.policy.check_destruction(&people)?;
        let performer = step.performer.clone();
        let witness = step.witness.clone();
        self.tool_record(
            Some(&step.id),
            EventKind::KeyDestructionRequested,
            format!(
                "root key '{}' signed a challenge from the token that verifies with the root certificate's key; asking the HSM to destroy both halves",
                doomed.label
            ),
            json!({
                "label": doomed.label,
                "id": doomed.id,
                "public_key_sha256": doomed.public_key_sha256,
                "challenge": hex::encode(&proof.challenge),
                "signature": hex::encode(&proof.signature),
                "proof_ms": proof_ms,
                "custodians": custodians,
                "performer": performer,
                "witness": witness,
            }),
        )?;
        let started = std::time::Instant::now();
        let destroyed = self.logged_in(step)?.destroy_key_pair(&pair)?;
        let hsm_ms = started.elapsed().as_secs_f64() * 1000.0;
        let scope = match doomed.scope {
            DestructionScope::Key => "key",
            DestructionScope::Copy => "copy",
        };
        self.tool_record(
            Some(&step.id),
            EventKind::KeyDestroyed,
            format!(
                "root key '{}' destroyed on token '{}': {} objects, and the token holds nothing with its label or CKA_ID",
                doomed.label, doomed.token_label, destroyed.destroyed
            ),
            json!({
                "label": doomed.label,
                "id": doomed.id,
                "public_key_sha256": doomed.public_key_sha256,
                "objects_destroyed": destroyed.destroyed,
                "absent_by": ["CKA_LABEL", "CKA_ID"],
                "scope": scope,
                "backups_recorded": history_backups,
                "token_label": doomed.token_label,
                "token_serial": doomed.token_serial,
                "destroyed_by": custodians,
                "performer": performer,
                "witness": witness,
                "hsm_ms": hsm_ms,
            }),
        )?;
        let record = KeyDestructionRecord {
            ceremony_id: self.script.script.ceremony.id.clone(),
            time: Utc::now(),
            key_label: doomed.label.clone(),
            public_key_sha256: doomed.public_key_sha256.clone(),
            scope: doomed.scope,
            token_label: doomed.token_label.clone(),
            token_serial: doomed.token_serial.clone(),
            destroyed_by: custodians,
        };
        IssuedRecords::record(&records_path, &IssuedRecord::KeyDestruction(record))?;
        if let Some(later) = self.later.as_mut() {
            later.key = None;
        }
        operator.notify(&Notice::HsmDone {
            what: format!(
                "root key '{}' destroyed: the token holds nothing with its label or CKA_ID, and the records mark it destroyed",
                doomed.label
            ),
            milliseconds: hsm_ms,
        });
        Ok(())
    }
}

/// Before the destruction: the key, its token, and what becomes of it.
fn destruction(doomed: &Doomed, subject: &str, root_sha256: &str) -> Imminent {
    let grouped = |hex: &str| keyceremony_x509::grouped_hex(&hex::decode(hex).unwrap_or_default());
    let scope = match doomed.scope {
        DestructionScope::Key => {
            "the key itself: the records hold no backup of it, so this copy is its last; no later ceremony can use it"
        }
        DestructionScope::Copy => {
            "this copy: the records hold a backup of the key, which remains with its custodians until it is destroyed too"
        }
    };
    Imminent {
        action: "destroy-key",
        what: format!(
            "destroy the root key pair '{}' on token '{}': C_DestroyObject cannot be undone",
            doomed.label, doomed.token_label
        ),
        facts: vec![
            fact("Label", doomed.label.as_str()),
            fact("CKA_ID", doomed.id.as_str()),
            fact("Public key SHA-256", grouped(&doomed.public_key_sha256)),
            fact(
                "Certified by",
                format!(
                    "{subject} (root certificate SHA-256 {})",
                    grouped(root_sha256)
                ),
            ),
            fact(
                "Token",
                format!("'{}', serial {}", doomed.token_label, doomed.token_serial),
            ),
            fact("Destroys", scope),
            fact(
                "Before",
                "the custodians activate the key one last time: it signs a challenge from the token, verified with the root certificate's key",
            ),
            fact(
                "After",
                "the token is searched by label and by CKA_ID: both must find nothing",
            ),
        ],
        lint: None,
    }
}
