//! restore-key: a root key's backup restored onto the token this ceremony
//! initialised (CPS 6.2.4), under its own k-of-n PINs. After the go, k
//! backup custodians rebuild the wrap key from their shares (each checked:
//! the backup ceremony's, its split; the key held to the check value the
//! backup recorded); on one session k SO-PIN custodians log the Security
//! Officer in, who imports it as trusted; k user-PIN custodians log the
//! user in, and the backup is unwrapped and proved with the same PIN: its
//! public key is the root certificate's and it signs a challenge from the
//! token that verifies with that key (a copy that does not is destroyed
//! again). The wrap key is destroyed, the token logged out, the copy's
//! attributes recorded (never local, never never-extractable), and the
//! records beside the inventory hold the restore.

use chrono::Utc;
use keyceremony_hsm::{
    AttributeLock, ImportedWrapKey, RestoreSpec as Unwrapping, RestoredKey, Session, UserKind,
};
use keyceremony_log::EventKind;
use keyceremony_policy::{IssuedRecord, IssuedRecords, KeyRestoreRecord};
use keyceremony_script::{Secret, Step};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::{fact, split_among};
use crate::EngineError;
use crate::imminent::Imminent;
use crate::later::Inputs;
use crate::later::restore::Restore;
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};

impl Runner {
    pub(crate) fn restore_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let script = self.script.script.clone();
        let spec = script
            .restore
            .as_ref()
            .ok_or_else(|| EngineError::Refused("the script names no [restore]".to_string()))?;
        let inputs = Inputs::read_copies(&script, &self.out)?;
        let restore = Restore::read(&script, spec, &inputs, &self.settings)?;
        // A run interrupted after the restore was recorded does not restore
        // a second copy.
        let records = IssuedRecords::load(&IssuedRecords::path_beside(&self.settings.inventory))?;
        if records
            .key_history(restore.issuer.spki_der())
            .restores
            .iter()
            .any(|r| r.ceremony_id == script.ceremony.id)
        {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the records hold this ceremony's restore of '{label}' already: an interrupted restore is not made again; abort the ceremony and destroy the copy in a destroy-key ceremony"
                ),
            });
        }
        self.issued
            .insert(Secret::WrapKey, restore.wrap_key_split()?);
        let token = self.module.token_by_label(&script.hsm.token_label)?;
        let info = token.info()?;
        let spki = restore.issuer.spki_der().to_vec();
        let imminent = restoring(&script, label, &restore, &info.serial);
        self.go(
            operator,
            step,
            imminent,
            json!({ "key": label, "blob_sha256": restore.blob_sha256 }),
        )?;
        let wrap_value =
            self.rebuild_backup_wrap_key(operator, step, &restore.record.wrap_key_check)?;
        let session = self.open_session(&token, step)?;
        let restored = self.restore_on_token(
            operator,
            step,
            &session,
            (label, &spki),
            (&wrap_value, &restore.blob),
        );
        drop(wrap_value);
        let _ = session.logout();
        self.close_session(session, step)?;
        let (restored, custodians) = restored?;
        self.tool_record(
            Some(&step.id),
            EventKind::Logout,
            "logged out of the token after the restore: the CA key is deactivated (CPS 6.2.9)"
                .to_string(),
            json!({}),
        )?;
        self.record_restore(step, (label, &spki), &restore, &restored, custodians)
    }

    /// The SO imports the rebuilt wrap key as trusted; the user has the
    /// backup unwrapped and proved; the wrap key is destroyed.
    fn restore_on_token(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
        (label, spki): (&str, &[u8]),
        (wrap_value, blob): (&[u8; keyceremony_hsm::WRAP_KEY_BYTES], &[u8]),
    ) -> Result<(RestoredKey, [Vec<String>; 2]), EngineError> {
        let so = self.log_in_as(operator, step, session, UserKind::SecurityOfficer, true)?;
        let ImportedWrapKey { key: wrap_key, .. } =
            session.import_trusted_wrap_key(wrap_value, &format!("{label}-restore-wrap-key"))?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            "the Security Officer imported the rebuilt wrap key as trusted (CKA_TRUSTED read back true)"
                .to_string(),
            json!({ "wrap_key": wrap_key.label, "so_custodians": so }),
        )?;
        session.logout()?;
        let id = session.random(16)?;
        let unwrapping = Unwrapping {
            label: label.to_string(),
            id,
            always_authenticate: true,
            lock_attributes: true,
            spki_der: spki.to_vec(),
        };
        operator.notify(&Notice::HsmWorking {
            what: format!("unwrapping the backup of '{label}' and proving the copy"),
        });
        let hsm_ms = std::cell::Cell::new(0.0);
        let restored = self.log_in_then(operator, step, session, UserKind::User, |s, pin| {
            let started = std::time::Instant::now();
            let restored = s.restore_key(&wrap_key, blob, &unwrapping, Some(pin));
            hsm_ms.set(started.elapsed().as_secs_f64() * 1000.0);
            restored
        });
        let destroyed = session.destroy_wrap_key(&wrap_key);
        let (user, restored) = restored?;
        destroyed?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            "the wrap key is destroyed: the token holds nothing with its label or CKA_ID"
                .to_string(),
            json!({ "wrap_key": wrap_key.label, "wrap_key_destroyed": true }),
        )?;
        operator.notify(&Notice::HsmDone {
            what: format!(
                "the backup of '{label}' unwrapped onto the token and proved, the wrap key destroyed"
            ),
            milliseconds: hsm_ms.get(),
        });
        Ok((restored, [so, user]))
    }

    fn record_restore(
        &mut self,
        step: &Step,
        (label, spki): (&str, &[u8]),
        restore: &Restore,
        restored: &RestoredKey,
        [so, user]: [Vec<String>; 2],
    ) -> Result<(), EngineError> {
        let info = self
            .module
            .token_by_label(&self.script.script.hsm.token_label)?
            .info()?;
        let serial = info.serial.trim();
        let attributes = &restored.attributes;
        let problems = attributes.problems(true);
        let public_key_sha256 = hex_upper(&Sha256::digest(spki));
        self.tool_record(
            Some(&step.id),
            EventKind::KeyRestored,
            format!(
                "the backup of '{label}' restored onto token '{}' and proved: its public key is the root certificate's, and its signature over a challenge from the token verifies with it{}",
                self.script.script.hsm.token_label,
                if problems.is_empty() { "" } else { "; its attributes are REFUSED" }
            ),
            json!({
                "label": label,
                "id": hex::encode(&restored.pair.id),
                "public_key_sha256": public_key_sha256,
                "root_certificate_sha256": keyceremony_x509::fingerprint_hex(&Sha256::digest(restore.issuer.certificate_der())),
                "blob_sha256": restore.blob_sha256,
                "backup_ceremony": restore.record.ceremony_id,
                "mechanism": restored.mechanism.name(),
                "challenge": hex::encode(&restored.proof.challenge),
                "signature": hex::encode(&restored.proof.signature),
                "attribute_lock": match &restored.attribute_lock {
                    AttributeLock::Applied => json!("applied"),
                    AttributeLock::NotAsked => json!("not asked"),
                    AttributeLock::NotSupported { code } => json!({ "refused_by_the_module": code }),
                },
                "private_attributes": {
                    "token": attributes.token, "private": attributes.private,
                    "sensitive": attributes.sensitive, "extractable": attributes.extractable,
                    "wrap_with_trusted": attributes.wrap_with_trusted, "sign": attributes.sign,
                    "decrypt": attributes.decrypt, "unwrap": attributes.unwrap, "derive": attributes.derive,
                    "always_authenticate": attributes.always_authenticate,
                    "local": attributes.local, "always_sensitive": attributes.always_sensitive,
                    "never_extractable": attributes.never_extractable,
                    "modifiable": attributes.modifiable, "copyable": attributes.copyable,
                },
                "problems": problems,
                "so_custodians": so,
                "user_custodians": user,
                "token_serial": serial,
            }),
        )?;
        if !problems.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the restored copy of '{label}' has attributes a root key must not have: {}; it is left on the token for the auditor and must be destroyed in a destroy-key ceremony",
                    problems.join("; ")
                ),
            });
        }
        let record = KeyRestoreRecord {
            ceremony_id: self.script.script.ceremony.id.clone(),
            time: Utc::now(),
            key_label: label.to_string(),
            public_key_sha256,
            token_label: self.script.script.hsm.token_label.clone(),
            token_serial: serial.to_string(),
            blob_sha256: restore.blob_sha256.clone(),
        };
        let records = IssuedRecords::path_beside(&self.settings.inventory);
        IssuedRecords::record(&records, &IssuedRecord::KeyRestore(record))?;
        Ok(())
    }
}

/// Before the restore: the key, the backup and the token it goes onto.
fn restoring(
    script: &keyceremony_script::Script,
    label: &str,
    restore: &Restore,
    serial: &str,
) -> Imminent {
    let grouped = |bytes: &[u8]| keyceremony_x509::grouped_hex(bytes);
    Imminent {
        action: "restore-key",
        what: format!(
            "restore the backup of the root key '{label}' onto token '{}' (serial {})",
            script.hsm.token_label,
            serial.trim()
        ),
        facts: vec![
            fact("Label", label),
            fact("Root", restore.issuer.subject()),
            fact(
                "Public key SHA-256",
                grouped(&Sha256::digest(restore.issuer.spki_der())),
            ),
            fact(
                "Backup",
                format!(
                    "SHA-256 {}, made by ceremony '{}' on {}",
                    restore.blob_sha256,
                    restore.record.ceremony_id,
                    restore.record.time.to_rfc3339()
                ),
            ),
            fact(
                "Wrap key",
                format!(
                    "rebuilt from the shares of split {}, {}; imported as trusted by the Security Officer, destroyed after the unwrap",
                    restore.record.wrap_key_split,
                    split_among(script, script.activation.quorum(Secret::WrapKey))
                ),
            ),
            fact(
                "Proof",
                "the copy's public key must be the root certificate's, and it signs a challenge from the token that verifies with that key",
            ),
        ],
        lint: None,
    }
}
