//! A later ceremony's root and inputs, without a `Runner`: the files the
//! script names, read from the inputs folder (before the ceremony starts)
//! or from their copies in the output folder (while it runs, and when it is
//! resumed); the root certificate, held to the inventory's record of the
//! key generation ceremony; and every subordinate CA certificate and CRL of
//! the script built and linted once before anything is written, so that a
//! refusal comes before the log exists or the token is used.

pub(crate) mod crl;
pub(crate) mod issued;
pub(crate) mod restore;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{SubsecRound, Utc};
use keyceremony_hsm::Module;
use keyceremony_policy::{Inventory, InventoryEntry, IssuedRecords, KeyRestoreRecord};
use keyceremony_script::{RootSpec, Script};
use keyceremony_x509::{self as x509, Issuer};
use sha2::{Digest, Sha256};

use crate::outputs::OutDir;
use crate::{EngineError, Settings, files};

/// The files a later ceremony reads, by the path the script names them with.
pub(crate) struct Inputs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

/// The name of an input's copy in the output folder: `inputs/<file name>`
/// (the script gives every input a file name of its own).
pub(crate) fn copy_name(named: &Path) -> String {
    files::input(&named.file_name().unwrap_or_default().to_string_lossy())
}

impl Inputs {
    /// Every input the script names, from the inputs folder.
    pub(crate) fn read(script: &Script, folder: &Path) -> Result<Inputs, EngineError> {
        let mut files = BTreeMap::new();
        for (field, named) in script.inputs() {
            let path = folder.join(named);
            let bytes = std::fs::read(&path).map_err(|e| {
                EngineError::Refused(format!(
                    "{field}: cannot read {} ({e}): the inputs folder is {} (run --inputs DIR names another)",
                    path.display(),
                    folder.display()
                ))
            })?;
            files.insert(named.to_path_buf(), bytes);
        }
        Ok(Inputs { files })
    }

    /// Every input, from its copy in the output folder.
    pub(crate) fn read_copies(script: &Script, out: &OutDir) -> Result<Inputs, EngineError> {
        let mut files = BTreeMap::new();
        for (_, named) in script.inputs() {
            files.insert(named.to_path_buf(), out.read(&copy_name(named))?);
        }
        Ok(Inputs { files })
    }

    /// The inputs and their bytes, in the script's order of paths.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_path(), b.as_slice()))
    }

    /// The bytes of an input the script names (`Inputs::read` read them all).
    pub(crate) fn get(&self, named: &Path) -> &[u8] {
        self.files.get(named).map_or(&[], Vec::as_slice)
    }
}

/// The root of a later ceremony: its certificate and the inventory's record
/// of the key generation ceremony that made it.
pub(crate) struct Root {
    pub(crate) issuer: Issuer,
    pub(crate) entry: InventoryEntry,
    /// SHA-256 of the root certificate's DER, upper-case hex.
    pub(crate) certificate_sha256: String,
    /// When the shares come from a ceremony that restored the key's backup
    /// onto a token of its own: that restore, whose token and shares this
    /// ceremony uses instead of the key generation's.
    pub(crate) restored: Option<KeyRestoreRecord>,
}

fn refused(message: String) -> EngineError {
    EngineError::Refused(message)
}

impl Root {
    /// The root certificate the script names, checked: it is the BR root
    /// profile, self-signed; its SHA-256 is the script's (if given) and the
    /// one the inventory records for the key generation ceremony the shares
    /// come from, under the script's key label. The token's key is compared
    /// with it at the first login (`actions::root`).
    pub(crate) fn read(
        script: &Script,
        spec: &RootSpec,
        inputs: &Inputs,
        (inventory, records): (&Inventory, &IssuedRecords),
    ) -> Result<Root, EngineError> {
        let what = "the root certificate";
        let der = x509::pem_or_der(inputs.get(&spec.certificate), "CERTIFICATE", what)?;
        let facts = x509::read_certificate_facts(&der)?;
        let issuer = Issuer::from_root(&der, &facts.spki_der).map_err(|e| {
            refused(format!(
                "root.certificate ({}) is not a root certificate this ceremony can sign under: {e}",
                spec.certificate.display()
            ))
        })?;
        let sha256 = x509::fingerprint_hex(&Sha256::digest(&der));
        if let Some(expected) = &spec.certificate_sha256
            && *expected != sha256
        {
            return Err(refused(format!(
                "root.certificate ({}) has SHA-256 {sha256}, not the {expected} the script names: bring the certificate the key generation ceremony wrote",
                spec.certificate.display()
            )));
        }
        let entry = inventory.root_of_key(&facts.spki_der).ok_or_else(|| {
            refused(format!(
                "the inventory records no root with the key of {} ({}): a later ceremony signs only with a root this tool's key generation ceremony made and recorded; give --inventory the CA's inventory",
                spec.certificate.display(),
                issuer.subject()
            ))
        })?;
        let shares_from = script.activation.shares_from.as_deref().unwrap_or_default();
        // A copy restored from a backup is activated with the shares of the
        // ceremony that restored it, on its token.
        let restored = records
            .key_history(&facts.spki_der)
            .restores
            .into_iter()
            .rfind(|r| r.ceremony_id == shares_from && r.key_label == spec.key)
            .cloned();
        let shares_from = match &restored {
            Some(_) => entry.ceremony_id.as_str(),
            None => shares_from,
        };
        let mismatches = [
            (
                entry.certificate_sha256 != sha256,
                "certificate SHA-256",
                entry.certificate_sha256.as_str(),
                sha256.as_str(),
            ),
            (
                entry.key_label != spec.key,
                "key label",
                entry.key_label.as_str(),
                spec.key.as_str(),
            ),
            (
                entry.ceremony_id != shares_from,
                "ceremony (activation.shares-from)",
                entry.ceremony_id.as_str(),
                shares_from,
            ),
        ];
        if let Some((_, what, recorded, scripted)) = mismatches.iter().find(|m| m.0) {
            return Err(refused(format!(
                "the inventory records this root's {what} as '{recorded}', but the script says '{scripted}': the script does not describe the root the inventory knows"
            )));
        }
        Ok(Root {
            issuer,
            entry: entry.clone(),
            certificate_sha256: sha256,
            restored,
        })
    }

    /// The split of the user PIN whose shares activate the root: the
    /// script's, or the inventory's; both when both say.
    pub(crate) fn user_pin_split(&self, script: &Script) -> Result<Option<String>, EngineError> {
        let scripted = script.activation.user_pin_split.clone();
        // The inventory's split is the key generation token's.
        let recorded = match self.restored {
            Some(_) => None,
            None => self.entry.user_pin_split.clone(),
        };
        match (scripted, recorded) {
            (Some(s), Some(r)) if s != r => Err(refused(format!(
                "activation.user-pin-split is {s}, but the inventory records split {r} for the user PIN of ceremony '{}'",
                self.entry.ceremony_id
            ))),
            (s, r) => Ok(s.or(r)),
        }
    }
}

/// A later ceremony's root while it runs: its inputs (the copies in the
/// output folder), its certificate and record, and, once the first login
/// found it on the token and checked it, its key pair.
pub(crate) struct Later {
    pub(crate) inputs: Inputs,
    pub(crate) root: Root,
    pub(crate) key: Option<keyceremony_hsm::KeyPair>,
}

/// Refuses a token whose copy of the root key the records say was
/// destroyed, unless a restore put the key there again since.
fn refuse_destroyed_copy(
    records: &IssuedRecords,
    root: &Root,
    token_label: &str,
    serial: &str,
) -> Result<(), EngineError> {
    let history = records.key_history(root.issuer.spki_der());
    let destroyed = history
        .destructions
        .iter()
        .filter(|d| d.token_serial == serial)
        .max_by_key(|d| d.time);
    let restored = history
        .restores
        .iter()
        .filter(|r| r.token_serial == serial)
        .map(|r| r.time)
        .max();
    match destroyed {
        Some(d) if restored.is_none_or(|r| r < d.time) => Err(refused(format!(
            "the records say ceremony '{}' destroyed the copy of root key '{}' on token '{token_label}' (serial {serial}) at {} (CPS 6.2.10): this token no longer holds it",
            d.ceremony_id,
            d.key_label,
            d.time.to_rfc3339()
        ))),
        _ => Ok(()),
    }
}

/// Every certificate the script has the root sign for another key.
fn to_issue(script: &Script) -> Vec<issued::ToIssue<'_>> {
    let subordinates = script.subordinates.iter().map(issued::ToIssue::Subordinate);
    let crosses = script.cross_certificates.iter().map(issued::ToIssue::Cross);
    let responders = script
        .ocsp_responders
        .iter()
        .map(issued::ToIssue::OcspResponder);
    subordinates.chain(crosses).chain(responders).collect()
}

/// Every check of a later ceremony before anything is written: the inputs
/// are there, the root certificate is the inventory's and its token the
/// script's, and every certificate and CRL of the script builds and lints
/// clean (with a serial from the system's generator: the
/// ceremony draws its own from the HSM).
pub(crate) fn check(
    module: &Module,
    script: &Script,
    settings: &Settings,
) -> Result<(), EngineError> {
    if let Some(spec) = &script.restore {
        let inputs = Inputs::read(script, &settings.inputs)?;
        let restore = restore::Restore::read(script, spec, &inputs, settings)?;
        restore.wrap_key_split()?;
    }
    let Some(spec) = &script.root else {
        return Ok(());
    };
    let inputs = Inputs::read(script, &settings.inputs)?;
    let inventory = Inventory::load(&settings.inventory)?;
    let records = IssuedRecords::load(&IssuedRecords::path_beside(&settings.inventory))?;
    let root = Root::read(script, spec, &inputs, (&inventory, &records))?;
    root.user_pin_split(script)?;
    // A destroyed key is refused before the token is touched (CPS 6.2.10).
    records.check_key_live(root.issuer.spki_der())?;
    let token = module.token_by_label(&script.hsm.token_label)?.info()?;
    let serials = [
        ("hsm.token_serial", script.hsm.token_serial.as_deref()),
        match &root.restored {
            Some(restore) => (
                "the records of its restore",
                Some(restore.token_serial.as_str()),
            ),
            None => ("the inventory", root.entry.token_serial.as_deref()),
        },
    ];
    for (who, serial) in serials {
        if let Some(serial) = serial
            && serial != token.serial.trim()
        {
            return Err(refused(format!(
                "token '{}' has serial {}, but {who} names serial {serial}: this is not the root's token",
                script.hsm.token_label,
                token.serial.trim()
            )));
        }
    }
    refuse_destroyed_copy(
        &records,
        &root,
        &script.hsm.token_label,
        token.serial.trim(),
    )?;
    let now = Utc::now().trunc_subsecs(0);
    let mut serial = [0u8; 16];
    for to_issue in to_issue(script) {
        getrandom::fill(&mut serial)?;
        let input = to_issue.read(&inputs)?;
        to_issue.check_new(&input, &records, &inventory)?;
        let prepared = to_issue.prepare(&input, &root.issuer, &serial, now)?;
        to_issue.refuse_lint(&to_issue.lint(&input, &prepared, &root.issuer, &settings.policy))?;
    }
    for spec in &script.crls {
        let planned = crl::Planned::new(spec, &inputs, &root.issuer, &records)?;
        planned.prepare(spec, &root.issuer, &settings.policy, planned.signing_time())?;
    }
    Ok(())
}
