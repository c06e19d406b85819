//! Crafted scripts whose texts a ceremony would refuse only after the HSM
//! was used (issue 15): each is refused by the validation that `script
//! check` and `run` share, with the field's line and column and the rule.

use std::path::{Path, PathBuf};

use keyceremony_script::{
    LoadedScript, MAX_FAILED_LOGINS, MAX_LINE_TEXT, RULE_CONTROL, RULE_LENGTH, RULE_VISIBLE,
    Violation,
};

fn shipped() -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ceremony-scripts/root-p384.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// The shipped P-384 script with one line replaced (`from` and `to` are
/// TOML source, so `\u001B` is an escape the parser turns into ESC), and
/// the line it is on.
fn crafted(from: &str, to: &str) -> (LoadedScript, usize) {
    let (path, text) = shipped();
    assert!(text.contains(from), "{from} not in the script");
    let text = text.replacen(from, to, 1);
    let line = text.lines().position(|l| l.contains(to)).unwrap() + 1;
    (LoadedScript::parse(&path, text).unwrap(), line)
}

/// The one violation at `path`; it carries `rule`, points at `line`, and
/// reads as one line without the hostile characters.
fn refused(loaded: &LoadedScript, path: &str, rule: &str, line: usize) -> Violation {
    let violations = loaded.violations();
    let found: Vec<&Violation> = violations
        .iter()
        .filter(|v| v.path == path && v.rule == Some(rule))
        .collect();
    assert_eq!(found.len(), 1, "{path} [{rule}] in {violations:#?}");
    let v = found[0].clone();
    let location = v.location.expect("located");
    assert_eq!(location.line, line, "{v:?}");
    assert!(location.column > 1, "{v:?}");
    let shown = v.display_at(&loaded.path);
    assert!(
        shown.contains(&format!("root-p384.toml:{line}:{}", location.column)),
        "{shown}"
    );
    assert!(shown.contains(&format!("[{rule}]")), "{shown}");
    assert!(
        !shown
            .chars()
            .any(|c| c.is_control() || keyceremony_text::is_default_ignorable(c)),
        "{shown:?}"
    );
    assert!(loaded.check().is_err());
    v
}

const CN: &str = r#"common_name = "Example TLS ECC Root CA 2026""#;

#[test]
fn an_escape_sequence_in_the_subject_cn_is_refused() {
    let (loaded, line) = crafted(CN, r#"common_name = "Example\u001B[2J Root""#);
    let v = refused(
        &loaded,
        "certificates[0].subject.common_name",
        RULE_CONTROL,
        line,
    );
    assert!(v.message.contains("character 8 is U+001B (ESC)"), "{v}");
}

#[test]
fn a_nul_in_the_subject_cn_is_refused() {
    let (loaded, line) = crafted(CN, r#"common_name = "Example Root\u0000""#);
    let v = refused(
        &loaded,
        "certificates[0].subject.common_name",
        RULE_CONTROL,
        line,
    );
    assert!(v.message.contains("U+0000 (NUL)"), "{v}");
}

#[test]
fn a_right_to_left_override_in_the_subject_cn_is_refused() {
    let (loaded, line) = crafted(CN, r#"common_name = "Example Root\u202E1R""#);
    let v = refused(
        &loaded,
        "certificates[0].subject.common_name",
        RULE_VISIBLE,
        line,
    );
    assert!(v.message.contains("bidirectional"), "{v}");
}

#[test]
fn invisible_characters_in_a_subject_are_refused() {
    for invisible in [r"\u200B", r"\u00AD", r"\uFEFF", r"\u2060"] {
        let to = format!(r#"organization = "Example{invisible} Trust Co., Ltd.""#);
        let (loaded, line) = crafted(r#"organization = "Example Trust Co., Ltd.""#, &to);
        refused(
            &loaded,
            "certificates[0].subject.organization",
            RULE_VISIBLE,
            line,
        );
    }
}

#[test]
fn control_characters_in_the_token_label_are_refused() {
    let (loaded, line) = crafted(
        r#"token_label = "Example TLS ECC Root 2026""#,
        r#"token_label = "Example\u0007\u001B]0;x\u0007""#,
    );
    refused(&loaded, "hsm.token_label", RULE_CONTROL, line);
}

#[test]
fn a_two_megabyte_participant_name_is_refused() {
    let long = "A".repeat(2 << 20);
    let (loaded, line) = crafted(r#"name = "Ada Okafor""#, &format!(r#"name = "Ada {long}""#));
    let v = refused(&loaded, "participants[0].name", RULE_LENGTH, line);
    assert!(v.message.contains(&MAX_LINE_TEXT.to_string()), "{v}");
    assert!(v.to_string().len() < 300, "the message quotes the name");
}

#[test]
fn escape_sequences_in_titles_and_instructions_are_refused() {
    let (loaded, line) = crafted(
        r#"title = "Open the ceremony""#,
        r#"title = "Open\u001B[8m the ceremony""#,
    );
    refused(&loaded, "acts[0].steps[0].title", RULE_CONTROL, line);
    let (loaded, line) = crafted(
        r#"title = "Open the ceremony""#,
        r#"title = "Open the ceremony\nSEALED: intact""#,
    );
    refused(&loaded, "acts[0].steps[0].title", RULE_CONTROL, line);
    // Instructions run over several lines; an escape sequence is still refused.
    let (loaded, _) = crafted(
        "State the ceremony name,",
        r"State the \u001B[2J ceremony name,",
    );
    let violations = loaded.violations();
    assert!(
        violations
            .iter()
            .any(|v| v.path == "acts[0].steps[0].instructions" && v.rule == Some(RULE_CONTROL)),
        "{violations:#?}"
    );
}

#[test]
fn the_shipped_multi_line_texts_are_accepted() {
    let (path, text) = shipped();
    let loaded = LoadedScript::parse(&path, text).unwrap();
    assert_eq!(loaded.violations(), []);
}

#[test]
fn an_escape_in_a_reference_is_shown_escaped() {
    let (loaded, _) = crafted(
        r#"performer = "sam""#,
        r#"performer = "sam\u001B[2J\nSEALED""#,
    );
    let v = loaded
        .violations()
        .into_iter()
        .find(|v| v.path == "acts[0].steps[0].performer")
        .unwrap();
    let shown = v.to_string();
    assert!(shown.contains(r"sam\u{1b}[2J\u{a}SEALED"), "{shown}");
}

#[test]
fn max_failed_logins_has_a_sane_bound() {
    let at_bound = format!("max_failed_logins = {MAX_FAILED_LOGINS}");
    let (loaded, _) = crafted("max_failed_logins = 3", &at_bound);
    assert_eq!(loaded.violations(), []);
    let (loaded, line) = crafted("max_failed_logins = 3", "max_failed_logins = 1000000");
    refused(&loaded, "hsm.max_failed_logins", "CPS 5.4.1", line);
}

#[test]
fn a_relative_backup_folder_is_refused() {
    for relative in [".", "backup", "./media/backup", "../backup"] {
        let (loaded, line) = crafted(
            r#"backup = "/media/keyceremony-backup""#,
            &format!(r#"backup = "{relative}""#),
        );
        refused(&loaded, "log.backup", "CPS 5.4.5", line);
    }
}

#[test]
fn a_token_label_the_token_cannot_store_or_find_again_is_refused() {
    let from = r#"token_label = "Example TLS ECC Root 2026""#;
    for label in [" Root", "Root ", "", &"L".repeat(33)] {
        let (loaded, line) = crafted(from, &format!(r#"token_label = "{label}""#));
        refused(
            &loaded,
            "hsm.token_label",
            "PKCS#11 CK_TOKEN_INFO.label",
            line,
        );
    }
    let (loaded, _) = crafted(from, &format!(r#"token_label = "{}""#, "é".repeat(16)));
    assert_eq!(loaded.violations(), []);
}

#[test]
fn subject_attributes_over_their_x520_upper_bound_are_refused() {
    let (loaded, line) = crafted(CN, &format!(r#"common_name = "{}""#, "é".repeat(65)));
    refused(
        &loaded,
        "certificates[0].subject.common_name",
        "RFC 5280 A.1",
        line,
    );
    let (loaded, _) = crafted(CN, &format!(r#"common_name = "{}""#, "é".repeat(64)));
    assert_eq!(loaded.violations(), []);
}
