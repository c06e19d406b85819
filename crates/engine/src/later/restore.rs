//! A restore's inputs, without a `Runner`: the root certificate and the
//! wrapped key the script names, held to the inventory (a root this tool
//! made) and to the records (a backup of that key they hold, never a
//! destroyed key), and the backup custodians to the backup's. Checked once
//! before anything is written, and read again from the copies in the
//! output folder when the restore-key step runs.

use keyceremony_policy::{Inventory, IssuedRecords, KeyBackupRecord, sha256_hex};
use keyceremony_script::{RestoreSpec, Script, Secret};
use keyceremony_x509::{self as x509, Issuer};

use super::Inputs;
use crate::{EngineError, Settings};

/// What a restore restores, checked.
pub(crate) struct Restore {
    pub(crate) issuer: Issuer,
    /// The wrapped key.
    pub(crate) blob: Vec<u8>,
    /// Its SHA-256, upper-case hex.
    pub(crate) blob_sha256: String,
    /// The records' line of its backup.
    pub(crate) record: KeyBackupRecord,
}

fn refused(message: String) -> EngineError {
    EngineError::Refused(message)
}

impl Restore {
    pub(crate) fn read(
        script: &Script,
        spec: &RestoreSpec,
        inputs: &Inputs,
        settings: &Settings,
    ) -> Result<Restore, EngineError> {
        let der = x509::pem_or_der(
            inputs.get(&spec.certificate),
            "CERTIFICATE",
            "the root certificate",
        )?;
        let facts = x509::read_certificate_facts(&der)?;
        let issuer = Issuer::from_root(&der, &facts.spki_der).map_err(|e| {
            refused(format!(
                "restore.certificate ({}) is not a root certificate: {e}",
                spec.certificate.display()
            ))
        })?;
        let inventory = Inventory::load(&settings.inventory)?;
        let entry = inventory.root_of_key(&facts.spki_der).ok_or_else(|| {
            refused(format!(
                "the inventory records no root with the key of {}: only a root this tool's key generation ceremony made is restored; give --inventory the CA's inventory",
                spec.certificate.display()
            ))
        })?;
        if entry.key_label != spec.key {
            return Err(refused(format!(
                "the inventory records this root's key label as '{}', but restore.key says '{}'",
                entry.key_label, spec.key
            )));
        }
        let blob = inputs.get(&spec.backup).to_vec();
        let blob_sha256 = sha256_hex(&blob);
        if let Some(expected) = &spec.backup_sha256
            && *expected != blob_sha256
        {
            return Err(refused(format!(
                "restore.backup ({}) has SHA-256 {blob_sha256}, not the {expected} the script names: bring the backup the backup ceremony wrote",
                spec.backup.display()
            )));
        }
        let records = IssuedRecords::load(&IssuedRecords::path_beside(&settings.inventory))?;
        let record = records.backup_of(&facts.spki_der, &blob_sha256)?.clone();
        if record.ceremony_id != spec.shares_from {
            return Err(refused(format!(
                "the records say ceremony '{}' made this backup, but restore.shares_from says '{}'",
                record.ceremony_id, spec.shares_from
            )));
        }
        let custodians = &script.activation.quorum(Secret::WrapKey).custodians;
        if *custodians != record.custodians {
            return Err(refused(format!(
                "[activation.backup] lists {}, but the backup's wrap key was split among {}, in that order: list its custodians as the backup ceremony did",
                custodians.join(", "),
                record.custodians.join(", ")
            )));
        }
        Ok(Restore {
            issuer,
            blob,
            blob_sha256,
            record,
        })
    }

    /// The split of the wrap key the backup custodians' shares must belong
    /// to: the four symbols after the ceremony tag, `W-TAG-SPLIT (k of n)`.
    pub(crate) fn wrap_key_split(&self) -> Result<String, EngineError> {
        self.record
            .wrap_key_split
            .split(['-', ' '])
            .nth(2)
            .map(str::to_string)
            .ok_or_else(|| {
                refused(format!(
                    "the records' backup names its wrap key's split as '{}', not W-TAG-SPLIT",
                    self.record.wrap_key_split
                ))
            })
    }
}
