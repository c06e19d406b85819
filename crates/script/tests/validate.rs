//! Validation of the shipped scripts and of scripts that break one rule each.

use std::path::{Path, PathBuf};

use keyceremony_script::{LoadedScript, ScriptError, Violation};

fn shipped(name: &str) -> (PathBuf, String) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../ceremony-scripts/{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn violations_after(name: &str, edits: &[(&str, &str)]) -> Vec<Violation> {
    let (path, mut text) = shipped(name);
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in {name}");
        text = text.replacen(from, to, 1);
    }
    LoadedScript::parse(&path, text).unwrap().violations()
}

fn assert_refused(violations: &[Violation], path: &str, rule: &str, words: &str) {
    assert!(
        violations.iter().any(|v| v.path == path
            && v.rule.is_some_and(|r| r.contains(rule))
            && v.message.contains(words)),
        "no violation at {path} [{rule}] with '{words}' in {violations:#?}"
    );
}

#[test]
fn shipped_scripts_are_valid() {
    for name in [
        "root-rsa4096",
        "root-p384",
        "subordinate-p384",
        "crl-p384",
        "crl-p384-next",
    ] {
        let (path, _) = shipped(name);
        let loaded = LoadedScript::load(&path).unwrap();
        assert_eq!(loaded.sha256_hex().len(), 64);
        assert!(loaded.script.steps().count() > 10);
    }
}

#[test]
fn unknown_keys_are_parse_errors_with_line_and_column() {
    let (path, text) = shipped("root-p384");
    let text = text.replacen("[hsm]\n", "[hsm]\nslot = 0\n", 1);
    let line = text.lines().position(|l| l == "slot = 0").unwrap() + 1;
    match LoadedScript::parse(&path, text) {
        Err(ScriptError::Parse {
            location, message, ..
        }) => {
            assert_eq!(location.line, line);
            assert_eq!(location.column, 1);
            assert!(message.contains("unknown field `slot`"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn violations_point_into_the_file() {
    let (path, text) = shipped("root-p384");
    let text = text.replacen("validity_days = 9131", "validity_days = 2921", 1);
    let line = text
        .lines()
        .position(|l| l == "validity_days = 2921")
        .unwrap()
        + 1;
    let loaded = LoadedScript::parse(&path, text).unwrap();
    let v = loaded.violations();
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].location.unwrap().line, line);
    let err = loaded.check().unwrap_err().to_string();
    assert!(err.contains(&format!("root-p384.toml:{line}:")), "{err}");
    assert!(err.contains("CPS 6.3.2"), "{err}");
}

#[test]
fn validity_bounds() {
    let low = violations_after(
        "root-p384",
        &[("validity_days = 9131", "validity_days = 2921")],
    );
    assert_refused(&low, "certificates[0].validity_days", "CPS 6.3.2", "2921");
    let high = violations_after(
        "root-p384",
        &[("validity_days = 9131", "validity_days = 9133")],
    );
    assert_refused(&high, "certificates[0].validity_days", "CPS 6.3.2", "9133");
    for ok in ["2922", "9132"] {
        let v = violations_after(
            "root-p384",
            &[("validity_days = 9131", &format!("validity_days = {ok}"))],
        );
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn weak_key_types_are_refused() {
    let v = violations_after("root-rsa4096", &[("\"rsa-4096\"", "\"rsa-2048\"")]);
    assert_refused(&v, "keys[0].algorithm", "CPS 6.1.5", "rsa-2048");
    let v = violations_after("root-p384", &[("\"ec-p384\"", "\"ec-p256\"")]);
    assert_refused(&v, "keys[0].algorithm", "CPS 6.1.5", "ec-p256");
}

#[test]
fn a_step_performed_and_witnessed_by_one_person_is_refused() {
    let v = violations_after(
        "root-p384",
        &[(
            "id = \"1.4\"\ntitle = \"Check the clock\"\nperformer = \"ada\"\nwitness = \"quinn\"",
            "id = \"1.4\"\ntitle = \"Check the clock\"\nperformer = \"quinn\"\nwitness = \"quinn\"",
        )],
    );
    assert_refused(
        &v,
        "acts[0].steps[3].witness",
        "CPS 5.2.4",
        "performed and witnessed",
    );
}

#[test]
fn a_witness_who_is_also_an_operator_or_custodian_is_refused() {
    let v = violations_after(
        "root-p384",
        &[(
            "roles = [\"qualified-auditor\"]",
            "roles = [\"qualified-auditor\", \"custodian\"]",
        )],
    );
    assert_refused(&v, "participants[9].roles", "CPS 5.2.4", "separated duties");
}

const USER_PIN: &str =
    "[activation.user-pin]\ncustodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 2";

fn user_pin_quorum(custodians: &str, threshold: u32) -> String {
    format!("[activation.user-pin]\ncustodians = [{custodians}]\nthreshold = {threshold}")
}

#[test]
fn one_custodian_is_refused() {
    let v = violations_after("root-p384", &[(USER_PIN, &user_pin_quorum("\"carol\"", 2))]);
    assert_refused(
        &v,
        "activation.user-pin.custodians",
        "CPS 6.4.1",
        "at least two",
    );
}

#[test]
fn a_person_holding_two_shares_of_one_secret_is_refused() {
    let two = user_pin_quorum("\"carol\", \"carol\", \"erin\"", 2);
    let v = violations_after("root-p384", &[(USER_PIN, &two)]);
    assert_refused(
        &v,
        "activation.user-pin.custodians[1]",
        "CPS 6.4.2",
        "listed twice",
    );
}

#[test]
fn thresholds_below_two_or_above_n_are_refused() {
    let all = "\"carol\", \"dave\", \"erin\"";
    let v = violations_after("root-p384", &[(USER_PIN, &user_pin_quorum(all, 1))]);
    assert_refused(
        &v,
        "activation.user-pin.threshold",
        "CPS 6.2.2",
        "fewer than two",
    );
    let v = violations_after("root-p384", &[(USER_PIN, &user_pin_quorum(all, 4))]);
    assert!(
        v.iter()
            .any(|v| v.path == "activation.user-pin.threshold"
                && v.message.contains("more than the 3")),
        "{v:#?}"
    );
    for (custodians, k) in [("\"carol\", \"dave\"", 2), (all, 3)] {
        let v = violations_after("root-p384", &[(USER_PIN, &user_pin_quorum(custodians, k))]);
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn the_witness_listed_as_custodian_is_refused() {
    let with_witness = user_pin_quorum("\"carol\", \"dave\", \"quinn\"", 2);
    let v = violations_after("root-p384", &[(USER_PIN, &with_witness)]);
    assert_refused(
        &v,
        "activation.user-pin.custodians[2]",
        "CPS 5.2.4",
        "a witness never holds activation data",
    );
}

#[test]
fn key_generation_needs_a_qualified_auditor_witness() {
    let v = violations_after(
        "root-p384",
        &[(
            "performer = \"ada\"\nwitness = \"quinn\"\naction = { type = \"generate-key\"",
            "performer = \"ada\"\nwitness = \"lena\"\naction = { type = \"generate-key\"",
        )],
    );
    assert_refused(
        &v,
        "acts[2].steps[0].witness",
        "CPS 6.1.1",
        "qualified-auditor",
    );
}

#[test]
fn the_hsm_is_not_used_before_check_in() {
    let v = violations_after("root-p384", &[("action = { type = \"check-in\" }\n", "")]);
    assert_refused(
        &v,
        "acts[1].steps[0].action",
        "CPS 5.2.3",
        "before any check-in",
    );
}

#[test]
fn a_script_must_end_logged_out() {
    let v = violations_after("root-p384", &[("action = { type = \"logout\" }\n", "")]);
    assert!(v.iter().any(|v| v.rule == Some("CPS 6.2.9")), "{v:#?}");
}

#[test]
fn record_fields_say_what_their_value_must_be() {
    let hsm = "{ name = \"hsm-bag-serial\", label = \"Serial of the HSM's tamper-evident bag\", opens = \"hsm\", expect = \"REHEARSAL-TEB-0001\" }";
    let path = "acts[0].steps[4].record[0]";
    let v = violations_after(
        "root-p384",
        &[(
            hsm,
            "{ name = \"hsm-bag-serial\", label = \"Bag\", opens = \"hsm\", seals = \"hsm\" }",
        )],
    );
    assert_refused(
        &v,
        &format!("{path}.seals"),
        "CPS 5.4.1",
        "both opens and seals a bag",
    );
    let v = violations_after(
        "root-p384",
        &[(
            hsm,
            "{ name = \"hsm-bag-serial\", label = \"Bag\", seals = \"hsm\", expect = \"TEB-1\" }",
        )],
    );
    assert_refused(
        &v,
        &format!("{path}.expect"),
        "CPS 5.4.1",
        "its serial is read in the room",
    );
    let v = violations_after(
        "root-p384",
        &[(
            hsm,
            "{ name = \"hsm-bag-serial\", label = \"Bag\", opens = \"hsm\", expect = \"TEB 1\" }",
        )],
    );
    assert_refused(
        &v,
        &format!("{path}.expect"),
        "CPS 5.4.1",
        "'TEB 1' is not a bag serial",
    );
    let v = violations_after(
        "root-p384",
        &[(
            hsm,
            "{ name = \"hsm-bag-serial\", label = \"Bag\", opens = \"HSM!\" }",
        )],
    );
    assert_refused(&v, &format!("{path}.opens"), "CPS 5.4.1", "names no item");
    let v = violations_after(
        "root-p384",
        &[(
            "expect = \"A2C8805C321D29E63C686118643481BB6EEED59C470C289058F64C04C11BCC2A\"",
            "expect = \"0123ABCD\"",
        )],
    );
    assert_refused(
        &v,
        "acts[0].steps[5].record[0].expect",
        "CPS 5.4.1",
        "'0123ABCD' is not a SHA-256",
    );
    let v = violations_after(
        "root-p384",
        &[(
            hsm,
            "{ name = \"hsm-bag-serial\", label = \"Bag\", opens = \"hsm\", format = \"sha256\" }",
        )],
    );
    assert_refused(
        &v,
        &format!("{path}.format"),
        "CPS 5.4.1",
        "its format is bag-serial",
    );
}

#[test]
fn a_check_in_needs_someone_to_check_its_witness() {
    let v = violations_after(
        "root-p384",
        &[(
            "roles = [\"log-examiner\"]",
            "roles = [\"service-operation-manager\"]",
        )],
    );
    assert_refused(
        &v,
        "acts[0].steps[1].witness",
        "CPS 5.2.4",
        "no one else of the audit duty checks the identity of 'quinn'",
    );
}

/// A violation at `path` whose message holds `words`, whatever its rule.
fn assert_at(violations: &[Violation], path: &str, words: &str) {
    assert!(
        violations
            .iter()
            .any(|v| v.path == path && v.message.contains(words)),
        "no violation at {path} with '{words}' in {violations:#?}"
    );
}

#[test]
fn a_later_ceremonys_tables_and_steps_are_checked() {
    let name = "subordinate-p384";
    let v = violations_after(name, &[("initialize = false", "initialize = true")]);
    assert_at(&v, "root", "needs hsm.initialize = false");
    let v = violations_after(
        name,
        &[("shares-from = \"example-tls-ecc-root-2026\"\n", "")],
    );
    assert_refused(
        &v,
        "activation.shares_from",
        "CPS 6.2.8",
        "name that ceremony",
    );
    let v = violations_after(
        name,
        &[(
            "csr = \"requests/example-tls-ecc-issuing-ca-1.csr\"",
            "csr = \"requests/example-tls-ecc-issuing-ca-1.csr\"\npublic_key = \"requests/key.pem\"",
        )],
    );
    assert_refused(&v, "subordinates[0]", "RFC 2986", "exactly one of csr");
    let v = violations_after(
        name,
        &[(
            "csr = \"requests/example-tls-ecc-issuing-ca-1.csr\"",
            "csr = \"../example-tls-ecc-issuing-ca-1.csr\"",
        )],
    );
    assert_at(&v, "subordinates[0].csr", "inside the inputs folder");
    let v = violations_after(
        name,
        &[(
            "csr = \"requests/example-tls-ecc-issuing-ca-1.csr\"",
            "csr = \"requests/example-tls-ecc-root-2026.pem\"",
        )],
    );
    assert_at(&v, "subordinates[0].csr", "another input is also named");
    let v = violations_after(name, &[("action = { type = \"login\" }\n", "")]);
    assert_refused(
        &v,
        "acts[2].steps[0].action",
        "CPS 6.2.8",
        "signs without a dual-control login",
    );
    let v = violations_after(
        name,
        &[(
            "certificate = \"example-tls-ecc-issuing-ca-1\" }",
            "certificate = \"example-tls-ecc-issuing-ca-2\" }",
        )],
    );
    assert_at(
        &v,
        "acts[2].steps[0].action",
        "which `subordinates` does not list",
    );
    assert_at(
        &v,
        "subordinates",
        "no step signs 'example-tls-ecc-issuing-ca-1'",
    );
    let v = violations_after(
        name,
        &[(
            "shares-from = \"example-tls-ecc-root-2026\"",
            "shares-from = \"example-tls-ecc-root-2026\"\nuser-pin-split = \"ab\"",
        )],
    );
    assert_at(&v, "activation.user_pin_split", "four symbols");
    let v = violations_after("crl-p384", &[("number = 1", "number = 0")]);
    assert_refused(&v, "crls[0].number", "RFC 5280 5.2.3", "starts at 1");
}
