//! The steps: who performs and witnesses each one (CPS 5.2.4, 6.1.1), the
//! values recorded, and the order the ceremony needs (check-in before the
//! HSM, login before key generation, the seal last).

use std::collections::BTreeSet;

use super::{Violation, WITNESS_ROLES, is_identifier};
use crate::model::*;

/// What each HSM action needs to have happened before it.
struct Progress {
    checked_in: bool,
    initialized: bool,
    logged_in: bool,
    generated: BTreeSet<String>,
    signed: BTreeSet<String>,
    exported: BTreeSet<String>,
    /// The root key was destroyed by an earlier step.
    destroyed: bool,
    backed_up: BTreeSet<String>,
    sealed: bool,
}

pub(super) fn steps(script: &Script, v: &mut Vec<Violation>) {
    if script.acts.is_empty() {
        v.push(Violation::new(
            "acts",
            Some("CPS 6.1.1"),
            "the script has no acts",
        ));
    }
    let mut act_ids = BTreeSet::new();
    let mut step_ids = BTreeSet::new();
    let mut progress = Progress {
        checked_in: false,
        initialized: !script.hsm.initialize,
        logged_in: false,
        generated: BTreeSet::new(),
        signed: BTreeSet::new(),
        exported: BTreeSet::new(),
        destroyed: false,
        backed_up: BTreeSet::new(),
        sealed: false,
    };
    let mut init_steps = 0;
    for (a, act) in script.acts.iter().enumerate() {
        if !act_ids.insert(act.id.as_str()) {
            v.push(Violation::new(
                format!("acts[{a}].id"),
                None,
                format!("act id '{}' is used twice", act.id),
            ));
        }
        if act.steps.is_empty() {
            v.push(Violation::new(
                format!("acts[{a}].steps"),
                None,
                format!("act '{}' has no steps", act.id),
            ));
        }
        for (s, step) in act.steps.iter().enumerate() {
            let path = format!("acts[{a}].steps[{s}]");
            if progress.sealed {
                v.push(Violation::new(
                    format!("{path}.action"),
                    Some("CPS 5.4.1"),
                    format!("step '{}' comes after the seal-log step: nothing can be recorded after the seal, so seal-log must be the last step", step.id),
                ));
            }
            if step.id.trim().is_empty() || !step_ids.insert(step.id.as_str()) {
                v.push(Violation::new(
                    format!("{path}.id"),
                    None,
                    format!("step id '{}' is empty or used twice", step.id),
                ));
            }
            people(script, &path, step, v);
            record_fields(&path, step, v);
            if step.action == Action::InitToken {
                init_steps += 1;
            }
            order(script, &path, step, &mut progress, v);
        }
    }
    if script.hsm.initialize && init_steps != 1 {
        v.push(Violation::new(
            "hsm.initialize",
            None,
            format!("hsm.initialize is true, so exactly one step must be an init-token action ({init_steps} found)"),
        ));
    }
    if !script.hsm.initialize && init_steps > 0 {
        v.push(Violation::new(
            "hsm.initialize",
            None,
            "hsm.initialize is false, so no step may initialise the token",
        ));
    }
    for key in &script.keys {
        if !progress.generated.contains(&key.label) {
            v.push(Violation::new(
                "keys",
                Some("CPS 6.1.1"),
                format!("no step generates key '{}'", key.label),
            ));
        }
    }
    for cert in &script.certificates {
        if !progress.signed.contains(&cert.key) {
            v.push(Violation::new(
                "certificates",
                None,
                format!("no step signs the certificate of '{}'", cert.key),
            ));
        }
        if !progress.exported.contains(&cert.key) {
            v.push(Violation::new(
                "certificates",
                None,
                format!("no step exports the certificate of '{}'", cert.key),
            ));
        }
    }
    super::later::all_signed(script, &progress.signed, v);
    if let Some(restore) = &script.restore
        && !progress.generated.contains(&restore.key)
    {
        v.push(Violation::new(
            "restore",
            Some("CPS 6.2.4"),
            format!("no restore-key step restores '{}'", restore.key),
        ));
    }
    for key in script.keys.iter().filter(|k| k.backup) {
        if !progress.backed_up.contains(&key.label) {
            v.push(Violation::new(
                "keys",
                Some("CPS 6.2.4"),
                format!(
                    "key '{}' is generated for backup (extractable, wrapped only by a trusted key) but no backup-key step backs it up: add one, or remove backup = true",
                    key.label
                ),
            ));
        }
    }
    if !progress.sealed {
        v.push(Violation::new(
            "acts",
            Some("CPS 5.4.1, 6.1.1"),
            "the script never seals its log: end it with a seal-log step",
        ));
    }
    if progress.logged_in {
        v.push(Violation::new(
            "acts",
            Some("CPS 6.2.9"),
            "the script ends logged in: add a logout step after the last key operation",
        ));
    }
}

fn people(script: &Script, path: &str, step: &Step, v: &mut Vec<Violation>) {
    let performer = script.participant(&step.performer);
    let witness = script.participant(&step.witness);
    if performer.is_none() {
        v.push(Violation::new(
            format!("{path}.performer"),
            None,
            format!("performer '{}' is not a participant", step.performer),
        ));
    }
    if witness.is_none() {
        v.push(Violation::new(
            format!("{path}.witness"),
            None,
            format!("witness '{}' is not a participant", step.witness),
        ));
    }
    if step.performer == step.witness {
        v.push(Violation::new(
            format!("{path}.witness"),
            Some("CPS 5.2.4"),
            format!(
                "step '{}' is performed and witnessed by '{}': they must be different people",
                step.id, step.witness
            ),
        ));
    }
    if let Some(w) = witness {
        if !WITNESS_ROLES.iter().any(|r| w.has_role(*r)) {
            v.push(Violation::new(
                format!("{path}.witness"),
                Some("CPS 6.1.1"),
                format!(
                    "witness '{}' is neither qualified-auditor nor log-examiner",
                    w.id
                ),
            ));
        }
        let key_operation =
            matches!(step.action, Action::GenerateKey { .. }) || step.action.signs_with_ca_key();
        if key_operation && !w.has_role(Role::QualifiedAuditor) {
            v.push(Violation::new(
                format!("{path}.witness"),
                Some("CPS 6.1.1"),
                format!(
                    "step '{}' uses the CA key: its witness must be a qualified-auditor, not '{}'",
                    step.id, w.id
                ),
            ));
        }
    }
    if let Some(p) = performer
        && step.action.touches_hsm()
        && !p.has_role(Role::CaAdministrator)
    {
        v.push(Violation::new(
            format!("{path}.performer"),
            Some("CPS 5.2.1"),
            format!(
                "step '{}' operates the HSM: its performer '{}' must be a ca-administrator",
                step.id, p.id
            ),
        ));
    }
}

fn record_fields(path: &str, step: &Step, v: &mut Vec<Violation>) {
    let mut names = BTreeSet::new();
    for (i, field) in step.record.iter().enumerate() {
        if !is_identifier(&field.name) || !names.insert(field.name.as_str()) {
            v.push(Violation::new(
                format!("{path}.record[{i}].name"),
                None,
                format!(
                    "record field '{}' must be a unique lower-case identifier",
                    field.name
                ),
            ));
        }
        crate::custody::field_rules(&format!("{path}.record[{i}]"), field, v);
    }
}

fn order(script: &Script, path: &str, step: &Step, p: &mut Progress, v: &mut Vec<Violation>) {
    let action_path = format!("{path}.action");
    let mut refuse = |rule: Option<&'static str>, message: String| {
        v.push(Violation::new(&action_path, rule, message));
    };
    if step.action == Action::SealLog && !step.record.is_empty() {
        refuse(
            None,
            format!(
                "step '{}' seals the log: it cannot record values, since nothing follows the seal",
                step.id
            ),
        );
    }
    if step.action.touches_hsm() && !p.checked_in {
        refuse(
            Some("CPS 5.2.3"),
            format!(
                "step '{}' uses the HSM before any check-in step: participants check in first",
                step.id
            ),
        );
    }
    match &step.action {
        Action::Manual | Action::ClockCheck => {}
        Action::CheckIn => p.checked_in = true,
        Action::InitToken => {
            if p.logged_in {
                refuse(
                    None,
                    format!("step '{}' initialises the token while logged in", step.id),
                );
            }
            p.initialized = true;
        }
        Action::Login => {
            if !p.initialized {
                refuse(
                    None,
                    format!("step '{}' logs in before the token is initialised", step.id),
                );
            }
            if p.logged_in {
                refuse(None, format!("step '{}' logs in twice", step.id));
            }
            p.logged_in = true;
        }
        Action::Logout => {
            if !p.logged_in {
                refuse(None, format!("step '{}' logs out without a login", step.id));
            }
            p.logged_in = false;
        }
        Action::GenerateKey { key } => {
            if script.key(key).is_none() {
                refuse(
                    None,
                    format!(
                        "step '{}' generates key '{key}', which `keys` does not list",
                        step.id
                    ),
                );
            }
            if !p.logged_in {
                refuse(
                    Some("CPS 6.2.8"),
                    format!(
                        "step '{}' generates a key without a dual-control login",
                        step.id
                    ),
                );
            }
            if !p.generated.insert(key.clone()) {
                refuse(Some("CPS 6.3.2"), format!("key '{key}' is generated twice"));
            }
        }
        Action::SelfSign { certificate } => {
            if script.certificate(certificate).is_none() {
                refuse(
                    None,
                    format!(
                        "step '{}' signs certificate '{certificate}', which `certificates` does not list",
                        step.id
                    ),
                );
            }
            if !p.generated.contains(certificate) {
                refuse(
                    None,
                    format!(
                        "step '{}' signs with key '{certificate}' before it is generated",
                        step.id
                    ),
                );
            }
            if !p.logged_in {
                refuse(
                    Some("CPS 6.2.8"),
                    format!("step '{}' signs without a dual-control login", step.id),
                );
            }
            if !p.signed.insert(certificate.clone()) {
                refuse(None, format!("certificate '{certificate}' is signed twice"));
            }
        }
        Action::SignSubordinate { .. }
        | Action::SignCrl { .. }
        | Action::SignCross { .. }
        | Action::SignOcspResponder { .. } => {
            if p.destroyed {
                refuse(
                    Some("CPS 6.2.10"),
                    format!("step '{}' signs after the root key is destroyed", step.id),
                );
            }
            super::later::sign_order(script, step, p.logged_in, &mut p.signed, &mut refuse)
        }
        Action::RestoreKey { key } => {
            super::later::restore_order(script, step, key, p.logged_in, &mut refuse);
            if !p.generated.insert(key.clone()) {
                refuse(
                    Some("CPS 6.3.2"),
                    format!("key '{key}' is put on the token twice"),
                );
            }
        }
        Action::BackupKey { key } => {
            super::later::backup_order(
                script,
                step,
                key,
                p.generated.contains(key),
                p.logged_in,
                &mut refuse,
            );
            if !p.backed_up.insert(key.clone()) {
                refuse(Some("CPS 6.2.4"), format!("key '{key}' is backed up twice"));
            }
        }
        Action::DestroyKey { key } => {
            super::later::destroy_order(script, step, key, p.logged_in, &mut refuse);
            if p.destroyed {
                refuse(
                    None,
                    format!("step '{}' destroys the root key twice", step.id),
                );
            }
            p.destroyed = true;
        }
        Action::SealLog => {
            if p.logged_in {
                refuse(
                    Some("CPS 6.2.9"),
                    format!(
                        "step '{}' seals the log while the CA key is active: log out first",
                        step.id
                    ),
                );
            }
            p.sealed = true;
        }
        Action::Export { certificate } => {
            if !p.signed.contains(certificate) {
                refuse(
                    None,
                    format!(
                        "step '{}' exports certificate '{certificate}' before it is signed",
                        step.id
                    ),
                );
            }
            if !p.exported.insert(certificate.clone()) {
                refuse(
                    None,
                    format!("certificate '{certificate}' is exported twice"),
                );
            }
        }
    }
}
