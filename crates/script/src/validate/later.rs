//! A later ceremony's tables: the root on an existing token, the
//! subordinate CA certificates and CRLs it signs, and the files they read.
//! What needs the certificate library (OIDs, reasons, dates, the policy's
//! limits) is checked by keyceremony-policy.

use std::collections::BTreeSet;
use std::path::Component;

use super::{Violation, is_file_safe, subject};
use crate::model::*;

pub(super) fn later(script: &Script, v: &mut Vec<Violation>) {
    let signs = !script.subordinates.is_empty()
        || !script.crls.is_empty()
        || !script.cross_certificates.is_empty()
        || !script.ocsp_responders.is_empty();
    if let Some(restore) = &script.restore {
        restore_table(script, restore, v);
    }
    match &script.root {
        None if signs => v.push(Violation::new(
            "root",
            Some("CPS 6.1.7"),
            "the script signs certificates or CRLs with the root but names no [root]: give the root key's label and its certificate",
        )),
        None => {}
        Some(root) => root_table(script, root, v),
    }
    let mut ids = BTreeSet::new();
    if let Some(root) = &script.root {
        ids.insert(root.key.as_str());
    }
    for (i, sub) in script.subordinates.iter().enumerate() {
        let path = format!("subordinates[{i}]");
        let certificate = Certified {
            id: &sub.id,
            keyed: Some(sub.input().is_some()),
            input_sha256: sub.input_sha256.as_deref(),
            validity_days: sub.validity_days,
            policies: Some(&sub.policies),
        };
        certificate.rules(&path, &mut ids, v);
        subject(&format!("{path}.subject"), &sub.subject, v);
    }
    for (i, cross) in script.cross_certificates.iter().enumerate() {
        let certificate = Certified {
            id: &cross.id,
            keyed: None,
            input_sha256: cross.input_sha256.as_deref(),
            validity_days: cross.validity_days,
            policies: Some(&cross.policies),
        };
        certificate.rules(&format!("cross_certificates[{i}]"), &mut ids, v);
    }
    for (i, ocsp) in script.ocsp_responders.iter().enumerate() {
        let path = format!("ocsp_responders[{i}]");
        let certificate = Certified {
            id: &ocsp.id,
            keyed: Some(ocsp.input().is_some()),
            input_sha256: ocsp.input_sha256.as_deref(),
            validity_days: ocsp.validity_days,
            policies: None,
        };
        certificate.rules(&path, &mut ids, v);
        subject(&format!("{path}.subject"), &ocsp.subject, v);
    }
    for (i, crl) in script.crls.iter().enumerate() {
        let path = format!("crls[{i}]");
        output_id(&path, &crl.id, &mut ids, v);
        if crl.number == 0 {
            v.push(Violation::new(
                format!("{path}.number"),
                Some("RFC 5280 5.2.3"),
                "the CRL number starts at 1 and grows with every CRL",
            ));
        }
        if crl.next_update_days == 0 {
            v.push(Violation::new(
                format!("{path}.next_update_days"),
                Some("BR 4.9.7"),
                "next_update_days must be at least 1",
            ));
        }
        let mut serials = BTreeSet::new();
        for (r, revoked) in crl.revoked.iter().enumerate() {
            let serial = revoked.serial.trim_start_matches('0').to_ascii_uppercase();
            if serial.is_empty() || !revoked.serial.bytes().all(|b| b.is_ascii_hexdigit()) {
                v.push(Violation::new(
                    format!("{path}.revoked[{r}].serial"),
                    None,
                    format!(
                        "serial '{}' must be a non-zero hex number, as openssl x509 -serial prints it",
                        revoked.serial
                    ),
                ));
            } else if !serials.insert(serial) {
                v.push(Violation::new(
                    format!("{path}.revoked[{r}].serial"),
                    Some("RFC 5280 5.1.2.6"),
                    format!("serial {} is revoked twice", revoked.serial),
                ));
            }
        }
    }
    if let Some(split) = &script.activation.user_pin_split {
        let symbols = split.len() == 4
            && split
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if script.activation.shares_from.is_none() || !symbols {
            v.push(Violation::new(
                "activation.user_pin_split",
                None,
                format!(
                    "user-pin-split '{split}' names the split of the shares from another ceremony: the four symbols after the ceremony tag in U-TAG-SPLIT, with activation.shares-from"
                ),
            ));
        }
    }
    inputs(script, v);
}

/// What every certificate the root signs for another key has to say.
struct Certified<'a> {
    id: &'a str,
    /// For a certificate of a CSR's or a public key file's key: whether the
    /// script names exactly one of them.
    keyed: Option<bool>,
    input_sha256: Option<&'a str>,
    validity_days: u32,
    /// Its policies, for a CA certificate.
    policies: Option<&'a [String]>,
}

impl Certified<'_> {
    fn rules<'a>(&self, path: &str, ids: &mut BTreeSet<&'a str>, v: &mut Vec<Violation>)
    where
        Self: 'a,
    {
        output_id(path, self.id, ids, v);
        if self.keyed == Some(false) {
            v.push(Violation::new(
                path,
                Some("RFC 2986"),
                format!(
                    "'{}' needs exactly one of csr (a PKCS#10 request, whose signature proves possession of the key) and public_key",
                    self.id
                ),
            ));
        }
        if let Some(sha) = self.input_sha256 {
            sha256_field(&format!("{path}.input_sha256"), sha, v);
        }
        if self.validity_days == 0 {
            v.push(Violation::new(
                format!("{path}.validity_days"),
                Some("CPS 6.3.2"),
                "validity_days must be at least 1",
            ));
        }
        if self.policies.is_some_and(<[String]>::is_empty) {
            v.push(Violation::new(
                format!("{path}.policies"),
                Some("BR 7.1.2.10.5"),
                "a CA certificate asserts one CA/Browser Forum reserved policy identifier at least",
            ));
        }
    }
}

fn root_table(script: &Script, root: &RootSpec, v: &mut Vec<Violation>) {
    if script.hsm.initialize {
        v.push(Violation::new(
            "root",
            None,
            "a ceremony that initialises its token has no root key yet: [root] needs hsm.initialize = false",
        ));
    }
    if script.activation.shares_from.is_none() {
        v.push(Violation::new(
            "activation.shares_from",
            Some("CPS 6.2.8"),
            "the root key is activated with the shares its key generation ceremony made: name that ceremony in activation.shares-from",
        ));
    }
    if !is_file_safe(&root.key) {
        v.push(Violation::new(
            "root.key",
            None,
            format!(
                "root key label '{}' must be 1 to 64 letters, digits, '-', '_' or '.'",
                root.key
            ),
        ));
    }
    if root.key == script.log.signing_key {
        v.push(Violation::new(
            "root.key",
            Some("CPS 6.1.7"),
            "the root key never signs the log: log.signing_key names a key of its own",
        ));
    }
    if script.key(&root.key).is_some() {
        v.push(Violation::new(
            "root.key",
            Some("CPS 6.3.2"),
            format!(
                "'{}' is the existing root key: this ceremony cannot generate it again",
                root.key
            ),
        ));
    }
    if let Some(sha) = &root.certificate_sha256 {
        sha256_field("root.certificate_sha256", sha, v);
    }
}

fn restore_table(script: &Script, restore: &RestoreSpec, v: &mut Vec<Violation>) {
    let refuse = |v: &mut Vec<Violation>, path: &str, message: String| {
        v.push(Violation::new(path, Some("CPS 6.2.4"), message));
    };
    if !script.hsm.initialize || script.root.is_some() {
        refuse(
            v,
            "restore",
            "a backup is restored onto a new token: [restore] needs hsm.initialize = true, and no [root]".to_string(),
        );
    }
    if script.activation.backup.is_none() {
        refuse(
            v,
            "activation.backup",
            "the backup custodians who rebuild the wrap key are named in [activation.backup], as the backup ceremony split it".to_string(),
        );
    }
    if !is_file_safe(&restore.key) || script.key(&restore.key).is_some() {
        refuse(
            v,
            "restore.key",
            format!(
                "'{}' must be a label of 1 to 64 letters, digits, '-', '_' or '.', and not a key this ceremony generates",
                restore.key
            ),
        );
    }
    if let Some(sha) = &restore.backup_sha256 {
        sha256_field("restore.backup_sha256", sha, v);
    }
    if !super::is_identifier(&restore.shares_from) {
        refuse(
            v,
            "restore.shares_from",
            format!("'{}' is not a ceremony identifier", restore.shares_from),
        );
    }
}

/// An output name: file-safe, and used once by the root, a subordinate or
/// a CRL.
fn output_id<'a>(path: &str, id: &'a str, ids: &mut BTreeSet<&'a str>, v: &mut Vec<Violation>) {
    if !is_file_safe(id) {
        v.push(Violation::new(
            format!("{path}.id"),
            None,
            format!(
                "id '{id}' must be 1 to 64 letters, digits, '-', '_' or '.' (it names output files)"
            ),
        ));
    }
    if !ids.insert(id) {
        v.push(Violation::new(
            format!("{path}.id"),
            None,
            format!("id '{id}' names two outputs (or the root key)"),
        ));
    }
}

fn sha256_field(path: &str, value: &str, v: &mut Vec<Violation>) {
    let upper_hex = value
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    if value.len() != 64 || !upper_hex {
        v.push(Violation::new(
            path,
            Some("CPS 8.6"),
            format!("'{value}' is not a SHA-256: 64 upper-case hex digits"),
        ));
    }
}

/// Every input is a relative path inside the inputs folder, and no two
/// share a file name: each is copied to `inputs/<file name>`.
fn inputs(script: &Script, v: &mut Vec<Violation>) {
    let mut names = BTreeSet::new();
    for (field, file) in script.inputs() {
        let inside = file
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !inside || !is_file_safe(name) {
            v.push(Violation::new(
                &field,
                None,
                format!(
                    "input '{}' must be a path inside the inputs folder (no '/' at the start, no '..'), ending in a file name of letters, digits, '-', '_' and '.'",
                    file.display()
                ),
            ));
        } else if !names.insert(name.to_string()) {
            v.push(Violation::new(
                &field,
                None,
                format!("another input is also named '{name}': each input is copied to inputs/<file name>"),
            ));
        }
    }
}

/// What a signing step needs: its table entry, a login, the root, and one
/// signature per entry (`signed`).
pub(super) fn sign_order(
    script: &Script,
    step: &Step,
    logged_in: bool,
    signed: &mut BTreeSet<String>,
    refuse: &mut dyn FnMut(Option<&'static str>, String),
) {
    let (id, table, listed) = match &step.action {
        Action::SignSubordinate { certificate } => (
            certificate,
            "subordinates",
            script.subordinate(certificate).is_some(),
        ),
        Action::SignCrl { crl } => (crl, "crls", script.crl(crl).is_some()),
        Action::SignCross { certificate } => (
            certificate,
            "cross_certificates",
            script.cross_certificate(certificate).is_some(),
        ),
        Action::SignOcspResponder { certificate } => (
            certificate,
            "ocsp_responders",
            script.ocsp_responder(certificate).is_some(),
        ),
        _ => return,
    };
    if !listed {
        refuse(
            None,
            format!(
                "step '{}' signs '{id}', which `{table}` does not list",
                step.id
            ),
        );
    }
    if !logged_in {
        refuse(
            Some("CPS 6.2.8"),
            format!("step '{}' signs without a dual-control login", step.id),
        );
    }
    if !signed.insert(id.clone()) {
        refuse(None, format!("'{id}' is signed twice"));
    }
}

/// What a destroy-key step needs: the script's root key, and a login (its
/// custodians activate the key once more for the destruction's proof).
pub(super) fn destroy_order(
    script: &Script,
    step: &Step,
    key: &str,
    logged_in: bool,
    refuse: &mut dyn FnMut(Option<&'static str>, String),
) {
    if script.root.as_ref().is_none_or(|root| root.key != key) {
        refuse(
            Some("CPS 6.2.10"),
            format!(
                "step '{}' destroys key '{key}', which is not the script's root key: name it in [root] (key and certificate), so that the room checks it is the certified key before it is destroyed",
                step.id
            ),
        );
    }
    if !logged_in {
        refuse(
            Some("CPS 6.2.10"),
            format!(
                "step '{}' destroys a key without a dual-control login",
                step.id
            ),
        );
    }
}

/// What a restore-key step needs: the script's `[restore]` key, on the
/// token it initialised, logged out (the step logs in itself).
pub(super) fn restore_order(
    script: &Script,
    step: &Step,
    key: &str,
    logged_in: bool,
    refuse: &mut dyn FnMut(Option<&'static str>, String),
) {
    if script.restore.as_ref().is_none_or(|r| r.key != key) {
        refuse(
            Some("CPS 6.2.4"),
            format!(
                "step '{}' restores '{key}', which is not the key [restore] names",
                step.id
            ),
        );
    }
    if logged_in {
        refuse(
            None,
            format!(
                "step '{}' restores a key while logged in: it logs in itself, the Security Officer to import the wrap key and then the user; log out first",
                step.id
            ),
        );
    }
}

/// What a backup-key step needs: a key of the script generated for backup
/// by an earlier step, backup custodians, and the token logged out (the
/// step activates it itself, as the Security Officer, then as the user).
pub(super) fn backup_order(
    script: &Script,
    step: &Step,
    key: &str,
    generated: bool,
    logged_in: bool,
    refuse: &mut dyn FnMut(Option<&'static str>, String),
) {
    match script.key(key) {
        None => refuse(
            None,
            format!(
                "step '{}' backs up key '{key}', which `keys` does not list",
                step.id
            ),
        ),
        Some(spec) if !spec.backup => refuse(
            Some("CPS 6.2.4"),
            format!(
                "step '{}' backs up key '{key}', which is not generated for backup: set backup = true in its [[keys]] table (where the policy allows it)",
                step.id
            ),
        ),
        Some(_) if !generated => refuse(
            None,
            format!(
                "step '{}' backs up key '{key}' before it is generated",
                step.id
            ),
        ),
        Some(_) => {}
    }
    if script.activation.backup.is_none() {
        refuse(
            Some("CPS 5.2.2, 6.2.4"),
            format!(
                "step '{}' backs up a key, but [activation.backup] names no backup custodians to split its wrap key among",
                step.id
            ),
        );
    }
    if logged_in {
        refuse(
            None,
            format!(
                "step '{}' backs up a key while logged in: it logs in itself, the Security Officer to import the wrap key and then the user to wrap the key; log out first",
                step.id
            ),
        );
    }
}

/// Every subordinate and CRL of the script is signed by a step.
pub(super) fn all_signed(script: &Script, signed: &BTreeSet<String>, v: &mut Vec<Violation>) {
    let ids = script
        .subordinates
        .iter()
        .map(|s| ("subordinates", &s.id))
        .chain(script.crls.iter().map(|c| ("crls", &c.id)))
        .chain(
            script
                .cross_certificates
                .iter()
                .map(|c| ("cross_certificates", &c.id)),
        )
        .chain(
            script
                .ocsp_responders
                .iter()
                .map(|o| ("ocsp_responders", &o.id)),
        );
    for (table, id) in ids {
        if !signed.contains(id) {
            v.push(Violation::new(table, None, format!("no step signs '{id}'")));
        }
    }
}
