//! `keyceremony script answers SCRIPT`: an answers file to fill in for a
//! headless rehearsal of the script. Every question the room answers is in
//! it, in the order the engine asks it, under a comment naming its step and
//! its person; what goes as scripted (the witness's confirmations, the
//! performer's go, who comes forward) is answered already, and each value
//! the room records is a placeholder in angle brackets. The same
//! placeholder stands for the same value, so that a bag sealed in one step
//! is the bag opened in a later one; an answers file that still holds a
//! placeholder is refused ([`refuse_placeholders`]).
//!
//! Placeholders say what they stand for before the colon: `document`,
//! `time`, `bag`, `sha256` or `text`, and end with "; the script expects X"
//! when the script names the value the room must read.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use keyceremony_script::{
    Action, FieldFormat, LoadedScript, Participant, RecordField, Script, Secret, Step,
};

use super::room::{go_before, raisable};
use crate::operator::InputError;

/// The answers file skeleton of `loaded`.
pub fn skeleton(loaded: &LoadedScript) -> String {
    let script = &loaded.script;
    let mut out = String::new();
    for line in [
        format!(
            "Answers for a headless rehearsal of {}",
            loaded.path.display()
        ),
        format!(
            "(ceremony {}, script SHA-256 {}), from `keyceremony script answers`.",
            script.ceremony.id,
            loaded.sha256_hex()
        ),
        String::new(),
        "Every question the room answers is here, in the order the ceremony asks it.".into(),
        "Write what the room records in place of each value in <angle brackets>: the".into(),
        "same placeholder is the same value (a bag sealed in one step and opened in a".into(),
        "later one); \"the script expects X\" names the value the room must read. The".into(),
        "rest is answered as the ceremony goes when everything goes to plan; change it".into(),
        "to rehearse a deviation. Shares are never here: a rehearsal writes the shares".into(),
        "it makes to OUT/rehearsal-shares/ and reads them back from there.".into(),
        "Run it with: keyceremony rehearse SCRIPT --answers FILE".into(),
    ] {
        comment(&mut out, &line);
    }
    let _ = writeln!(out, "\nceremony = {}", quoted(&script.ceremony.id));
    let mut bags = Bags::default();
    let mut act_shown = None;
    for (act, step) in script.steps() {
        out.push('\n');
        if act_shown != Some(&act.id) {
            comment(&mut out, &format!("Act {}: {}", act.id, act.title));
            comment(&mut out, "");
            act_shown = Some(&act.id);
        }
        let performer = person(script, &step.performer);
        let witness = person(script, &step.witness);
        comment(
            &mut out,
            &format!(
                "Step {}, \"{}\"{}: performed by {performer}, witnessed by {witness}.",
                step.id,
                step.title,
                match step.action {
                    Action::Manual => String::new(),
                    ref action => format!(", the tool's {}", action.name()),
                }
            ),
        );
        let _ = writeln!(out, "[steps.{}]", quoted(&step.id));
        step_answers(&mut out, script, step, &mut bags);
        if step.action == Action::CheckIn {
            check_in(&mut out, script, step);
        }
        if step.action == Action::SealLog {
            out.push('\n');
            comment(
                &mut out,
                &format!(
                    "Step {}: {witness} confirms that the sealed log's head hash is copied onto the paper script.",
                    step.id
                ),
            );
            out.push_str("[seal]\nhead-copied = true\n");
        }
    }
    out.push_str(OPTIONAL);
    out
}

/// What the room may add, commented out: a run that goes to plan needs none.
const OPTIONAL: &str = r#"
# Only when it happens. A participant leaves, or comes back, as a step begins:
# [[presence]]
# step = "STEP"
# participant = "ID"
# leaves = "the reason"            # or: returns = true
#
# A deviation the room records on an exception sheet:
# [[exceptions]]
# step = "STEP"
# description = "what happened"
# accepted = true
# remark = "the witness's remark"
#
# The output folder holds an interrupted ceremony (the same --out again):
# [resume]
# choice = "resume"                # or "abort", with reason = "why"
# custodians = ["ID", "ID"]
# bags.ID = { opened = "SERIAL", new = "SERIAL" }
# head = "the last log head copied onto the paper script, or none"
# environment-change = "only when the module, binary or token changed"
#
# Network interfaces up on the terminal (a production ceremony asks the
# witness why; a rehearsal only warns):
# [environment]
# network-explanation = "why they are up"
"#;

/// The last bag each share was sealed in, and each item, as placeholders.
#[derive(Default)]
struct Bags {
    shares: BTreeMap<(String, Secret), String>,
    items: BTreeMap<String, String>,
}

/// One step's table, and the tables under it (record, bags).
fn step_answers(out: &mut String, script: &Script, step: &Step, bags: &mut Bags) {
    let witness = person(script, &step.witness);
    if step.action != Action::SealLog {
        comment(
            out,
            &format!(
                "{witness}, the witness: \"confirm\" that the step was done as scripted, or \"refuse\" with remark = \"why\"."
            ),
        );
        out.push_str("witness = \"confirm\"\n");
    }
    if step.action == Action::ClockCheck {
        comment(
            out,
            &format!(
                "{witness} reads the reference clock: its time (RFC 3339, such as 2026-11-25T10:00:00Z), or \"system\" in a rehearsal, where the lab's clock is its own reference."
            ),
        );
        out.push_str("reference-time = \"<time: the reference clock's reading>\"\n");
    }
    if let Some(what) = go_before(&step.action) {
        comment(
            out,
            &format!(
                "{}, the performer, gives the go before {what}.",
                person(script, &step.performer)
            ),
        );
        let _ = writeln!(out, "go = {}", quoted(&step.performer));
    }
    let quorum = &script.activation.user_pin;
    let threshold = quorum.threshold as usize;
    let chosen: Vec<String> = quorum.custodians.iter().take(threshold).cloned().collect();
    let activates = step.action.activates();
    if activates {
        comment(
            out,
            &format!(
                "Who comes forward to activate the token: {threshold} of the user PIN's custodians {}.",
                quorum.custodians.join(", ")
            ),
        );
        let list: Vec<String> = chosen.iter().map(|id| quoted(id)).collect();
        let _ = writeln!(out, "custodians = [{}]", list.join(", "));
    }
    let reinitializes = step.action == Action::InitToken && script.hsm.reinitialize;
    if reinitializes {
        comment(
            out,
            &format!(
                "Who lists the objects on the token as it is: {threshold} of the user PIN's custodians {}, with their shares from the ceremony that made them.",
                quorum.custodians.join(", ")
            ),
        );
        let list: Vec<String> = chosen.iter().map(|id| quoted(id)).collect();
        let _ = writeln!(out, "custodians = [{}]", list.join(", "));
    }
    let restores = matches!(step.action, Action::RestoreKey { .. });
    if matches!(step.action, Action::BackupKey { .. }) || restores || reinitializes {
        let so = &script.activation.so_pin;
        comment(
            out,
            &format!(
                "Who logs the Security Officer in to import the wrap key: {} of the SO PIN's custodians {}.",
                so.threshold,
                so.custodians.join(", ")
            ),
        );
        let list: Vec<String> = so_chosen(script).iter().map(|id| quoted(id)).collect();
        let _ = writeln!(out, "so-custodians = [{}]", list.join(", "));
    }
    if restores {
        let backup = script.activation.quorum(Secret::WrapKey);
        comment(
            out,
            &format!(
                "Who brings the wrap key's shares: {} of the backup custodians {}.",
                backup.threshold,
                backup.custodians.join(", ")
            ),
        );
        let list: Vec<String> = backup_chosen(script).iter().map(|id| quoted(id)).collect();
        let _ = writeln!(out, "backup-custodians = [{}]", list.join(", "));
    }
    decisions(out, script, step, &chosen);
    if !step.record.is_empty() {
        let _ = writeln!(out, "\n[steps.{}.record]", quoted(&step.id));
        for field in &step.record {
            record(out, script, step, field, bags);
        }
    }
    if step.action == Action::InitToken {
        for participant in &script.participants {
            let held: Vec<Secret> = Secret::ALL
                .into_iter()
                .filter(|s| {
                    script
                        .activation
                        .quorum(*s)
                        .custodians
                        .contains(&participant.id)
                })
                .collect();
            if held.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n[steps.{}.bags.{}]",
                quoted(&step.id),
                participant.id
            );
            let comes_forward =
                chosen.contains(&participant.id) || so_chosen(script).contains(&participant.id);
            if reinitializes && comes_forward {
                comment(
                    out,
                    &format!(
                        "{} reads aloud the serial of the bag their old share is in and opens it; the share is destroyed once the token is re-initialised.",
                        named(participant)
                    ),
                );
                let opened = format!(
                    "<bag: {}'s share, as the last ceremony sealed it>",
                    participant.id
                );
                let _ = writeln!(out, "opened = {}", quoted(&opened));
            }
            for secret in held {
                comment(
                    out,
                    &format!(
                        "{} seals their share of the {} in a tamper-evident bag and reads its serial aloud.",
                        named(participant),
                        secret.as_str()
                    ),
                );
                let bag = format!(
                    "<bag: {}'s {} share, sealed in step {}>",
                    participant.id,
                    secret.as_str(),
                    step.id
                );
                let _ = writeln!(out, "{} = {}", secret.as_str(), quoted(&bag));
                bags.shares.insert((participant.id.clone(), secret), bag);
            }
        }
    }
    if activates {
        for id in &chosen {
            let _ = writeln!(out, "\n[steps.{}.bags.{id}]", quoted(&step.id));
            comment(
                out,
                &format!(
                    "{} reads aloud the serial of the bag their user-pin share is in, opens it, types the share, and seals it in a new bag.",
                    person(script, id)
                ),
            );
            let key = (id.clone(), Secret::UserPin);
            let opened = bags.shares.get(&key).cloned().unwrap_or_else(|| {
                format!("<bag: {id}'s user-pin share, as the last ceremony sealed it>")
            });
            let new = format!("<bag: {id}'s user-pin share, resealed in step {}>", step.id);
            let _ = writeln!(out, "opened = {}", quoted(&opened));
            let _ = writeln!(out, "new = {}", quoted(&new));
            bags.shares.insert(key, new);
        }
    }
    if matches!(
        step.action,
        Action::BackupKey { .. } | Action::RestoreKey { .. }
    ) {
        backup_bags(out, script, step, bags);
    }
}

/// The backup custodians who bring the wrap key's shares to a restore.
fn backup_chosen(script: &Script) -> Vec<String> {
    let backup = script.activation.quorum(Secret::WrapKey);
    backup
        .custodians
        .iter()
        .take(backup.threshold as usize)
        .cloned()
        .collect()
}

/// The SO-PIN custodians who log the Security Officer in at a backup.
fn so_chosen(script: &Script) -> Vec<String> {
    let so = &script.activation.so_pin;
    so.custodians
        .iter()
        .take(so.threshold as usize)
        .cloned()
        .collect()
}

/// A backup-key step: the bags of the SO-PIN custodians who log the
/// Security Officer in, and the new bag of each backup custodian's share
/// of the wrap key.
fn backup_bags(out: &mut String, script: &Script, step: &Step, bags: &mut Bags) {
    for id in &so_chosen(script) {
        let _ = writeln!(out, "\n[steps.{}.bags.{id}]", quoted(&step.id));
        let key = (id.clone(), Secret::SoPin);
        let opened = bags.shares.get(&key).cloned().unwrap_or_else(|| {
            format!("<bag: {id}'s so-pin share, as the last ceremony sealed it>")
        });
        let new = format!("<bag: {id}'s so-pin share, resealed in step {}>", step.id);
        let _ = writeln!(out, "opened = {}", quoted(&opened));
        let _ = writeln!(out, "new = {}", quoted(&new));
        bags.shares.insert(key, new);
    }
    let restores = matches!(step.action, Action::RestoreKey { .. });
    let holders = match restores {
        true => backup_chosen(script),
        false => script.activation.quorum(Secret::WrapKey).custodians.clone(),
    };
    for id in &holders {
        let _ = writeln!(out, "\n[steps.{}.bags.{id}]", quoted(&step.id));
        if restores {
            let opened = format!("<bag: {id}'s wrap-key share, as the backup ceremony sealed it>");
            let _ = writeln!(out, "opened = {}", quoted(&opened));
        }
        comment(
            out,
            &format!(
                "{} seals their share of the backup's wrap key in a tamper-evident bag and reads its serial aloud.",
                person(script, id)
            ),
        );
        let new = format!("<bag: {id}'s wrap-key share, sealed in step {}>", step.id);
        let _ = writeln!(out, "new = {}", quoted(&new));
        bags.shares.insert((id.clone(), Secret::WrapKey), new);
    }
}

/// The exceptions the tool may raise in `step`, each decided by the
/// witness: commented out, since a step that goes to plan raises none.
fn decisions(out: &mut String, script: &Script, step: &Step, chosen: &[String]) {
    let subjects = raisable(step, chosen);
    if subjects.is_empty() {
        return;
    }
    comment(
        out,
        &format!(
            "If the tool raises an exception here, {} decides it:",
            person(script, &step.witness)
        ),
    );
    for subject in subjects {
        let when = match subject.strip_prefix("bag-") {
            _ if subject == "clock" => "the clock is beyond the policy's limit".to_string(),
            Some(id) if chosen.iter().any(|c| c == id) => {
                format!("the bag {id} opens is not the last one recorded for the share")
            }
            _ => format!("the {subject} read is not the one expected"),
        };
        comment(
            out,
            &format!(
                "decisions.{subject} = {{ accepted = true, remark = \"...\" }}   # when {when}"
            ),
        );
    }
}

/// A value read in the room.
fn record(out: &mut String, script: &Script, step: &Step, field: &RecordField, bags: &mut Bags) {
    let mut what = format!(
        "{}: read by {}, witnessed by {}",
        field.label,
        person(script, &step.performer),
        person(script, &step.witness)
    );
    if let Some(expect) = &field.expect {
        let _ = write!(
            what,
            "; the script expects {expect}, and another value is an exception the witness decides"
        );
    }
    comment(out, &format!("{what}."));
    let kind = match field.format() {
        Some(FieldFormat::Sha256) => "sha256",
        Some(FieldFormat::BagSerial) => "bag",
        None => "text",
    };
    let placeholder = match (&field.expect, &field.opens) {
        (Some(expect), _) => format!("<{kind}: {}; the script expects {expect}>", field.label),
        (None, Some(item)) => bags
            .items
            .get(item)
            .cloned()
            .unwrap_or_else(|| format!("<bag: the {item}'s bag, as it was last sealed>")),
        (None, None) => format!("<{kind}: {}, step {}>", field.label, step.id),
    };
    if let Some(item) = &field.seals {
        bags.items.insert(item.clone(), placeholder.clone());
    }
    let _ = writeln!(out, "{} = {}", field.name, quoted(&placeholder));
}

/// The check-in's answers, after its step: a document for each participant.
fn check_in(out: &mut String, script: &Script, step: &Step) {
    out.push('\n');
    comment(
        out,
        &format!(
            "Step {}: each participant in turn shows an official photo identity document. Write the kind checked, or {{ absent = \"the reason\" }} for someone who is not there.",
            step.id
        ),
    );
    out.push_str("[check-in]\n");
    for p in &script.participants {
        let roles: Vec<&str> = p.roles.iter().map(|r| r.title()).collect();
        comment(out, &format!("{}, {}.", named(p), roles.join(", ")));
        let _ = writeln!(
            out,
            "{} = {}",
            p.id,
            quoted(&format!("<document: {}>", p.name))
        );
    }
}

fn named(p: &Participant) -> String {
    format!("{} ({})", p.name, p.id)
}

fn person(script: &Script, id: &str) -> String {
    script.participant(id).map_or_else(|| id.to_string(), named)
}

/// One comment line per line of `text`.
fn comment(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("#\n");
    }
    for line in text.lines() {
        let _ = writeln!(out, "# {line}");
    }
}

/// `text` as a TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Refuses an answers file that still holds a placeholder of the skeleton:
/// a value the room records that nobody wrote.
pub(super) fn refuse_placeholders(path: &Path, text: &str) -> Result<(), InputError> {
    fn find(value: &toml::Value, at: &str) -> Option<(String, String)> {
        match value {
            toml::Value::String(s) if s.starts_with('<') && s.ends_with('>') => {
                Some((at.to_string(), s.clone()))
            }
            toml::Value::Table(table) => table.iter().find_map(|(key, value)| {
                let at = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                find(value, &at)
            }),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, value)| find(value, &format!("{at}[{i}]"))),
            _ => None,
        }
    }
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Ok(());
    };
    match find(&toml::Value::Table(table), "") {
        Some((at, placeholder)) => Err(InputError::Invalid(format!(
            "the answers file {} still holds the placeholder {placeholder} at {at}: write there what the room records",
            path.display()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AnswersFile;

    fn shipped(name: &str) -> LoadedScript {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ceremony-scripts")
            .join(format!("{name}.toml"));
        LoadedScript::load(&path).expect("shipped script")
    }

    #[test]
    fn a_skeleton_parses_and_is_refused_until_filled() {
        let script = shipped("root-p384");
        let text = skeleton(&script);
        let err = AnswersFile::parse(Path::new("a.toml"), text.clone())
            .err()
            .expect("placeholders are refused");
        assert!(
            err.to_string().contains("still holds the placeholder"),
            "{err}"
        );
        // Every step is answered, in the script's order.
        let mut at = 0;
        for (_, step) in script.script.steps() {
            let table = format!("[steps.\"{}\"]", step.id);
            let found = text[at..].find(&table).expect("each step in order");
            at += found;
        }
    }

    #[test]
    fn a_bag_opened_is_the_placeholder_of_the_bag_it_was_sealed_in() {
        let text = skeleton(&shipped("root-p384"));
        let sealed = "user-pin = \"<bag: carol's user-pin share, sealed in step 2.1>\"";
        let opened = "opened = \"<bag: carol's user-pin share, sealed in step 2.1>\"";
        assert!(text.contains(sealed), "{text}");
        assert!(text.contains(opened), "{text}");
        assert!(
            text.contains("the script expects REHEARSAL-TEB-0001"),
            "{text}"
        );
    }

    /// A re-initialisation's skeleton, once filled, answers everything its
    /// init-token step asks: who lists the objects, who activates
    /// C_InitToken, the old bags they open and the new shares' bags.
    #[test]
    fn a_reinitialisation_skeleton_filled_passes_the_preflight() {
        let script = shipped("reinitialize-p384");
        let text = skeleton(&script);
        assert!(
            text.contains("so-custodians = [\"farid\", \"grace\"]"),
            "{text}"
        );
        let mut filled = String::new();
        let mut rest = text.as_str();
        let mut n = 0;
        while let Some(at) = rest.find("\"<") {
            let end = at + 1 + rest[at + 1..].find(">\"").expect("a placeholder ends") + 1;
            let placeholder = &rest[at + 2..end - 1];
            n += 1;
            let value = match placeholder.split_once(':').map(|(kind, _)| kind) {
                Some("document") => "passport".to_string(),
                Some("time") => "system".to_string(),
                Some("sha256") => "AB".repeat(32),
                _ => format!("LAB-BAG-{n}"),
            };
            filled.push_str(&rest[..=at]);
            filled.push_str(&value);
            rest = &rest[end..];
        }
        filled.push_str(rest);
        let mut answers = AnswersFile::parse(Path::new("a.toml"), filled).expect("filled");
        crate::operator::Operator::preflight(&mut answers, &script.script, true)
            .expect("the filled skeleton answers every step");
    }
}
