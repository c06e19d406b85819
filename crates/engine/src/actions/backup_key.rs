//! backup-key: a root key generated for backup is backed up under dual
//! control (CPS 5.2.2, 6.2.4). After the performer's go, on one session: k
//! SO-PIN custodians log the Security Officer in, who imports a wrap key
//! drawn from the token's generator as trusted (only a trusted key can
//! wrap a key made with CKA_WRAP_WITH_TRUSTED); k user-PIN custodians log
//! the user in, and the key is wrapped with it (RFC 5649, under the code
//! the module implements); the wrap key is destroyed and the token logged
//! out. The wrapped key goes to the backup media and the output folder,
//! its SHA-256 to the log and the records beside the inventory; the wrap
//! key's value exists from then on only as the backup custodians' shares,
//! handed out as the PINs' are.

use std::collections::BTreeMap;

use chrono::Utc;
use keyceremony_hsm::{Backup, ImportedWrapKey, Session, UserKind, WrapKeyRoute, Zeroizing};
use keyceremony_log::EventKind;
use keyceremony_policy::{IssuedRecord, IssuedRecords, KeyBackupRecord};
use keyceremony_script::{Quorum, Secret, Step};
use keyceremony_shares as shares;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::{fact, split_among};
use crate::imminent::Imminent;
use crate::operator::{Notice, Operator};
use crate::outputs::OutDir;
use crate::run::{Runner, hex_upper};
use crate::{EngineError, files};

/// What the token did, between the SO's login and the user's logout.
struct Wrapped {
    backup: Backup,
    split: shares::Split,
    check_value: String,
    route: WrapKeyRoute,
    so_custodians: Vec<String>,
    user_custodians: Vec<String>,
    /// The HSM's milliseconds for the wrap.
    wrap_ms: f64,
}

impl Runner {
    pub(crate) fn backup_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let key = self.keys.get(label).ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: format!("key '{label}' was not generated in this ceremony"),
        })?;
        let (spki, id) = (key.key.spki_der().to_vec(), key.pair.id.clone());
        // A run interrupted after the backup was recorded does not back the
        // key up again under a second wrap key: the first one's shares may
        // be half handed out.
        let ceremony = &self.script.script.ceremony.id;
        let records = IssuedRecords::load(&IssuedRecords::path_beside(&self.settings.inventory))?;
        if records
            .key_history(&spki)
            .backups
            .iter()
            .any(|b| &b.ceremony_id == ceremony)
        {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the records hold this ceremony's backup of '{label}' already: an interrupted backup is not made again; abort the ceremony and destroy the key in a destroy-key ceremony"
                ),
            });
        }
        let quorum = self
            .script
            .script
            .activation
            .quorum(Secret::WrapKey)
            .clone();
        let custodians: Vec<&str> = quorum.custodians.iter().map(String::as_str).collect();
        self.settings
            .policy
            .check_backup(quorum.threshold, &custodians)?;
        let media = self
            .settings
            .backup
            .clone()
            .unwrap_or_else(|| self.script.script.log.backup.clone());
        let imminent = backup(&self.script.script, label, &id, &spki, &quorum, &media);
        self.go(
            operator,
            step,
            imminent,
            json!({ "key": label, "id": hex::encode(&id) }),
        )?;
        let token = self
            .module
            .token_by_label(&self.script.script.hsm.token_label)?;
        let session = self.open_session(&token, step)?;
        let wrapped = self.wrap_on_token(operator, step, &session, label, &quorum);
        // Whatever happened, the token ends logged out and the session
        // closed: the wrap key, a session object, goes with it.
        let _ = session.logout();
        self.close_session(session, step)?;
        let wrapped = wrapped?;
        self.tool_record(
            Some(&step.id),
            EventKind::Logout,
            "logged out of the token after the backup: the CA key is deactivated (CPS 6.2.9)"
                .to_string(),
            json!({}),
        )?;
        self.record_backup(operator, step, (label, &spki), (&media, &quorum), &wrapped)?;
        self.issued
            .insert(Secret::WrapKey, wrapped.split.set.nonce.clone());
        self.distribute(
            operator,
            step,
            BTreeMap::from([(Secret::WrapKey, wrapped.split)]),
        )
    }

    /// The SO imports the wrap key, the user has the key wrapped with it,
    /// and the wrap key is destroyed, its absence checked.
    fn wrap_on_token(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
        label: &str,
        quorum: &Quorum,
    ) -> Result<Wrapped, EngineError> {
        let so_custodians =
            self.log_in_as(operator, step, session, UserKind::SecurityOfficer, true)?;
        let value = session.random_wrap_key_value()?;
        let seed = Zeroizing::new(session.random(32)?);
        let split = shares::split_wrap_key(
            &self.script.script.ceremony.id,
            &value,
            quorum.threshold as u8,
            quorum.custodians.len() as u8,
            crate::activation::seed(&seed, Secret::WrapKey.as_str())?,
        )
        .map_err(|e| EngineError::Step {
            step: step.id.clone(),
            message: format!("cannot split the backup's wrap key: {e}"),
        })?;
        let check_value = shares::wrap_key_check_value(&value);
        let ImportedWrapKey {
            key: wrap_key,
            route,
        } = session.import_trusted_wrap_key(&value, &format!("{label}-backup-wrap-key"))?;
        drop(value);
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "the Security Officer imported a wrap key drawn from the token as trusted (CKA_TRUSTED read back true); its value exists only as split {}",
                split.set
            ),
            json!({
                "wrap_key": wrap_key.label,
                "wrap_key_id": hex::encode(&wrap_key.id),
                "route": route_name(route),
                "wrap_key_split": split.set.to_string(),
                "wrap_key_check": check_value,
                "so_custodians": so_custodians,
            }),
        )?;
        session.logout()?;
        let user_custodians = self.log_in_as(operator, step, session, UserKind::User, true)?;
        // A module may renumber private objects at a new login.
        let pair = self.find_key(session, label)?;
        operator.notify(&Notice::HsmWorking {
            what: format!("wrapping key pair '{label}' under the trusted wrap key"),
        });
        let started = std::time::Instant::now();
        let wrapped = session.wrap_private_key(&wrap_key, &pair);
        let wrap_ms = started.elapsed().as_secs_f64() * 1000.0;
        let destroyed = session.destroy_wrap_key(&wrap_key);
        let backup = wrapped?;
        let destroyed = destroyed?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "the wrap key is destroyed: the token holds nothing with its label or CKA_ID ({} object)",
                destroyed.destroyed
            ),
            json!({ "wrap_key": wrap_key.label, "wrap_key_destroyed": true }),
        )?;
        Ok(Wrapped {
            backup,
            split,
            check_value,
            route,
            so_custodians,
            user_custodians,
            wrap_ms,
        })
    }

    /// The wrapped key written to the media and the output folder, the
    /// backup in the log and the records, its attributes as they stand.
    fn record_backup(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        (label, spki): (&str, &[u8]),
        (media, quorum): (&std::path::Path, &Quorum),
        wrapped: &Wrapped,
    ) -> Result<(), EngineError> {
        let ceremony = self.script.script.ceremony.id.clone();
        let relative = files::key_backup(label);
        let folder = OutDir::new_unique(media, &format!("{ceremony}-key-backup"))?;
        let on_media = folder.write_private(&relative, &wrapped.backup.blob)?;
        if on_media.sha256 != wrapped.backup.sha256 {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the wrapped key on the backup media ({}) is not the bytes the token wrapped",
                    on_media.path.display()
                ),
            });
        }
        let written = self.out.write_private(&relative, &wrapped.backup.blob)?;
        self.record_file(Some(&step.id), &written)?;
        let blob_sha256 = hex_upper(&wrapped.backup.sha256);
        let token = self
            .module
            .token_by_label(&self.script.script.hsm.token_label)?
            .info()?;
        self.tool_record(
            Some(&step.id),
            EventKind::KeyBackedUp,
            format!(
                "key pair '{label}' backed up: wrapped under {} to {} (SHA-256 {blob_sha256}); its wrap key is split {} among the backup custodians",
                wrapped.backup.mechanism.name(),
                on_media.path.display(),
                wrapped.split.set
            ),
            json!({
                "label": label,
                "public_key_sha256": hex_upper(&Sha256::digest(spki)),
                "blob_sha256": blob_sha256,
                "bytes": wrapped.backup.blob.len(),
                "mechanism": wrapped.backup.mechanism.name(),
                "mechanism_code": format!("{:#06X}", wrapped.backup.mechanism.code()),
                "media_path": on_media.path.display().to_string(),
                "output_path": relative,
                "wrap_key_route": route_name(wrapped.route),
                "wrap_key_split": wrapped.split.set.to_string(),
                "wrap_key_check": wrapped.check_value,
                "backup_custodians": quorum.custodians,
                "so_custodians": wrapped.so_custodians,
                "user_custodians": wrapped.user_custodians,
                "private_attributes": {
                    "sensitive": true, "extractable": true, "never_extractable": false,
                    "wrap_with_trusted": true,
                },
            }),
        )?;
        let record = KeyBackupRecord {
            ceremony_id: ceremony,
            time: Utc::now(),
            key_label: label.to_string(),
            public_key_sha256: hex_upper(&Sha256::digest(spki)),
            token_label: self.script.script.hsm.token_label.clone(),
            token_serial: token.serial.trim().to_string(),
            blob_sha256,
            mechanism: wrapped.backup.mechanism.name().to_string(),
            wrap_key_split: wrapped.split.set.to_string(),
            wrap_key_check: wrapped.check_value.clone(),
            custodians: quorum.custodians.clone(),
        };
        let records = IssuedRecords::path_beside(&self.settings.inventory);
        IssuedRecords::record(&records, &IssuedRecord::KeyBackup(record))?;
        operator.notify(&Notice::HsmDone {
            what: format!(
                "key pair '{label}' wrapped for the backup media, the wrap key destroyed and the token logged out; the backup custodians now receive its shares"
            ),
            milliseconds: wrapped.wrap_ms,
        });
        Ok(())
    }
}

fn route_name(route: WrapKeyRoute) -> &'static str {
    match route {
        WrapKeyRoute::CreateObject => "C_CreateObject with CKA_TRUSTED",
        WrapKeyRoute::UnwrapWithTransportKey => {
            "C_UnwrapKey with CKA_TRUSTED under a transport key, destroyed"
        }
    }
}

/// Before the backup: the key, the wrap key and who holds what.
fn backup(
    script: &keyceremony_script::Script,
    label: &str,
    id: &[u8],
    spki: &[u8],
    quorum: &Quorum,
    media: &std::path::Path,
) -> Imminent {
    Imminent {
        action: "backup-key",
        what: format!(
            "back up the root key pair '{label}': wrap it under a trusted key the Security Officer imports, for the backup media"
        ),
        facts: vec![
            fact("Label", label),
            fact("CKA_ID", hex::encode_upper(id)),
            fact(
                "Public key SHA-256",
                keyceremony_x509::grouped_hex(&Sha256::digest(spki)),
            ),
            fact(
                "Private key",
                "sensitive, extractable only wrapped by a trusted key (CKA_WRAP_WITH_TRUSTED); never-extractable false",
            ),
            fact(
                "Wrap key",
                "AES-256 from the token's generator, imported as trusted by the Security Officer (SO-PIN custodians), destroyed after the wrap",
            ),
            fact(
                "Wrap",
                "RFC 5649 (CKM_AES_KEY_WRAP_KWP, else CKM_AES_KEY_WRAP_PAD)",
            ),
            fact(
                "Backup custodians",
                format!("split {}", split_among(script, quorum)),
            ),
            fact("Backup media", media.display().to_string()),
        ],
        lint: None,
    }
}
