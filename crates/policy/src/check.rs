//! A ceremony script against its policy. The script crate hard-codes the reference CPS's
//! floor; these checks take the rules and their sections from the policy file, so a policy
//! can ask for more, and each violation cites the policy's section.

use std::collections::BTreeSet;

use keyceremony_script::{LoadedScript, Script, Secret, Violation};

use crate::StepKind;
use crate::policy::{Duty, Policy};

/// Every rule of `policy` that `script` breaks, in file order: separation of duties among
/// the participants, activation data and two-person control, key algorithms, validity, and
/// for each step its witness and separation of duties. The violations carry the script
/// field path; [`check_loaded_script`] also locates them in the file.
pub fn check_script(policy: &Policy, script: &Script) -> Vec<Violation> {
    let mut v = Vec::new();
    participants(policy, script, &mut v);
    activation(policy, script, &mut v);
    keys(policy, script, &mut v);
    certificates(policy, script, &mut v);
    steps(policy, script, &mut v);
    crate::check_later::later(policy, script, &mut v);
    v
}

/// [`check_script`] with each violation's line and column in the script file.
pub fn check_loaded_script(policy: &Policy, loaded: &LoadedScript) -> Vec<Violation> {
    let mut violations = check_script(policy, &loaded.script);
    for v in &mut violations {
        v.location = loaded.source_map.locate(&v.path);
    }
    violations
}

pub(crate) fn violation(path: String, section: &'static str, message: String) -> Violation {
    Violation {
        path,
        message,
        rule: Some(section),
        location: None,
    }
}

fn duty_names(duties: &[&Duty]) -> String {
    duties
        .iter()
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn participants(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    let rule = &policy.separation_of_duties;
    for (i, p) in script.participants.iter().enumerate() {
        let duties: Vec<&Duty> = rule.duties_of(&p.roles).collect();
        if duties.len() > 1 {
            v.push(violation(
                format!("participants[{i}].roles"),
                rule.section,
                format!(
                    "'{}' would carry out the duties {} ({}): policy '{}' separates them",
                    p.id,
                    duty_names(&duties),
                    p.roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    policy.name
                ),
            ));
        }
    }
}

fn activation(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    if let Some(rule) = &policy.pin_separation {
        let so = &script.activation.so_pin.custodians;
        for (i, id) in script.activation.user_pin.custodians.iter().enumerate() {
            if so.contains(id) {
                v.push(violation(
                    format!("activation.user-pin.custodians[{i}]"),
                    rule.section,
                    format!(
                        "'{id}' would hold shares of both the SO PIN and the user PIN: policy '{}' gives them to different people, since a quorum of SO-PIN custodians can reset the user PIN",
                        policy.name
                    ),
                ));
            }
        }
    }
    for secret in Secret::ALL {
        let name = secret.as_str();
        let quorum = script.activation.quorum(secret);
        // Distinct people: a name listed twice is still one person holding two pieces.
        let custodians: BTreeSet<&str> = quorum.custodians.iter().map(String::as_str).collect();
        let rule = &policy.activation_data;
        if custodians.len() < rule.min_custodians {
            v.push(violation(
                format!("activation.{name}.custodians"),
                rule.section,
                format!(
                    "the {name} is split among {} custodian(s); policy '{}' needs at least {} \
                     different people holding a piece",
                    custodians.len(),
                    policy.name,
                    rule.min_custodians
                ),
            ));
        }
        let rule = &policy.two_person_control;
        if quorum.threshold < rule.min_threshold {
            v.push(violation(
                format!("activation.{name}.threshold"),
                rule.section,
                format!(
                    "threshold {} lets fewer than {} persons activate the key with the {name}; \
                     policy '{}' needs at least {}",
                    quorum.threshold, rule.min_threshold, policy.name, rule.min_threshold
                ),
            ));
        }
    }
}

fn keys(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    let rule = &policy.algorithms;
    for (i, key) in script.keys.iter().enumerate() {
        if !rule.allows_key(key.algorithm) {
            v.push(violation(
                format!("keys[{i}].algorithm"),
                rule.section,
                format!(
                    "{} is not allowed by policy '{}': use {}",
                    key.algorithm.as_str(),
                    policy.name,
                    rule.describe()
                ),
            ));
        }
        // A key generated for backup leaves its token, wrapped: only where
        // the policy allows it, its wrap key split among enough backup
        // custodians (CPS 5.2.2, 6.2.4).
        if key.backup {
            let quorum = script.activation.quorum(Secret::WrapKey);
            let custodians: Vec<&str> = quorum.custodians.iter().map(String::as_str).collect();
            if let Err(e) = policy.check_backup(quorum.threshold, &custodians) {
                v.push(violation(
                    format!("keys[{i}].backup"),
                    e.section().unwrap_or(policy.two_person_control.section),
                    e.to_string(),
                ));
            }
        }
    }
}

fn certificates(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    // The script's own rule compares subjects as written; the same name in
    // another case or in compatibility forms (full-width digits) is the same
    // name to a relying party (RFC 4518), and the inventory compares so too.
    let mut prepared = std::collections::BTreeMap::new();
    for (i, cert) in script.certificates.iter().enumerate() {
        let s = &cert.subject;
        let key: Vec<String> = [
            Some(&s.country),
            s.state_or_province.as_ref(),
            s.locality.as_ref(),
            Some(&s.organization),
            Some(&s.common_name),
        ]
        .into_iter()
        .map(|value| {
            value
                .map(|text| crate::names::prepare(text))
                .unwrap_or_default()
        })
        .collect();
        if let Some(first) = prepared.insert(key, i) {
            v.push(violation(
                format!("certificates[{i}].subject"),
                "CPS 6.3.2",
                format!(
                    "the subject matches that of certificates[{first}] once compared as RFC 4518 \
                     prepares names (case, white space, compatibility characters): a subject name \
                     is never reused"
                ),
            ));
        }
    }
    let rule = &policy.validity;
    for (i, cert) in script.certificates.iter().enumerate() {
        if !(rule.min_days..=rule.max_days).contains(&cert.validity_days) {
            v.push(violation(
                format!("certificates[{i}].validity_days"),
                rule.section,
                format!(
                    "validity of {} days is outside the {} to {} days of policy '{}' (days of \
                     86,400 s, notBefore through notAfter)",
                    cert.validity_days, rule.min_days, rule.max_days, policy.name
                ),
            ));
        }
    }
}

fn steps(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    for (a, act) in script.acts.iter().enumerate() {
        for (s, step) in act.steps.iter().enumerate() {
            let path = format!("acts[{a}].steps[{s}].witness");
            let witness = script.participant(&step.witness);

            let rule = &policy.witness;
            if rule.actions.contains(&StepKind::of(&step.action))
                && !witness.is_some_and(|w| w.has_role(rule.role))
            {
                v.push(violation(
                    path.clone(),
                    rule.section,
                    format!(
                        "step '{}' ({}) must be witnessed by a {} under policy '{}', and \
                         '{}' is not one",
                        step.id,
                        step.action.name(),
                        rule.role.as_str(),
                        policy.name,
                        step.witness
                    ),
                ));
            }

            let rule = &policy.separation_of_duties;
            if step.performer == step.witness {
                v.push(violation(
                    path,
                    rule.section,
                    format!(
                        "step '{}' is performed and witnessed by '{}': a witness is never the \
                         performer",
                        step.id, step.witness
                    ),
                ));
                continue;
            }
            let (Some(performer), Some(witness)) = (script.participant(&step.performer), witness)
            else {
                // An unknown participant is the script crate's violation; there is no duty
                // to compare.
                continue;
            };
            let performer_duties: Vec<&Duty> = rule.duties_of(&performer.roles).collect();
            let witness_duties: Vec<&Duty> = rule.duties_of(&witness.roles).collect();
            if performer_duties.len() > 1 || witness_duties.len() > 1 {
                // Already refused at the person's roles; repeating it at every step they
                // take part in would bury that one cause.
                continue;
            }
            let shared: Vec<&Duty> = witness_duties
                .into_iter()
                .filter(|d| performer_duties.contains(d))
                .collect();
            if !shared.is_empty() {
                v.push(violation(
                    path,
                    rule.section,
                    format!(
                        "step '{}': witness '{}' shares the duty {} with performer '{}'; \
                         policy '{}' has each step witnessed by someone of another duty",
                        step.id,
                        witness.id,
                        duty_names(&shared),
                        performer.id,
                        policy.name
                    ),
                ));
            }
        }
    }
}
