//! How the witness signs the seal (`[log]`, CPS 6.1.1): on their own
//! device by default, their key pinned by its SHA-256; with their token on
//! the terminal only in a rehearsal, named as the lab's option it is.

use std::path::Path;

use keyceremony_script::{LoadedScript, Violation, WitnessSigning};

const LAB_TOKEN: &str = "witness_signing = \"lab-token-on-terminal\"\nwitness_token = \"Quinn Adeyemi (auditor)\"\nwitness_key = \"quinn-adeyemi-seal\"\n";
const PIN: &str = "53A1DEA74230E4A4F1092F2D87B2A34694333A3693EE9ECD6805CF6A7C0C861F";

fn loaded(edits: &[(&str, &str)]) -> LoadedScript {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ceremony-scripts/root-p384.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    LoadedScript::parse(&path, text).unwrap()
}

fn violations(edits: &[(&str, &str)]) -> Vec<Violation> {
    loaded(edits).violations()
}

#[track_caller]
fn assert_refused(violations: &[Violation], path: &str, words: &str) {
    assert!(
        violations
            .iter()
            .any(|v| v.path == path && v.message.contains(words)),
        "no violation at {path} with '{words}' in {violations:#?}"
    );
}

fn independent() -> String {
    format!("witness_key_sha256 = \"{PIN}\"\n")
}

#[test]
fn the_shipped_rehearsals_name_the_lab_option() {
    let script = loaded(&[]).script;
    assert_eq!(
        script.log.witness_signing,
        WitnessSigning::LabTokenOnTerminal
    );
    assert!(script.log.witness_key_sha256.is_none());
}

#[test]
fn independent_signing_is_the_default_and_pins_the_witness_s_key() {
    let pinned = independent();
    let script = loaded(&[(LAB_TOKEN, &pinned)]);
    assert!(script.violations().is_empty(), "{:#?}", script.violations());
    assert_eq!(
        script.script.log.witness_signing,
        WitnessSigning::Independent
    );

    // A production ceremony too.
    let production = violations(&[
        (LAB_TOKEN, &pinned),
        ("mode = \"rehearsal\"", "mode = \"production\""),
    ]);
    assert!(production.is_empty(), "{production:#?}");

    // Without the pin, nothing says whose signature the seal needs.
    let v = violations(&[(LAB_TOKEN, "")]);
    assert_refused(&v, "log.witness_key_sha256", "pin their public key");
    let v = violations(&[(LAB_TOKEN, "witness_key_sha256 = \"53A1 DEA7\"\n")]);
    assert_refused(&v, "log.witness_key_sha256", "is not a SHA-256");

    // The token's names belong to the lab option only.
    let v = violations(&[(
        LAB_TOKEN,
        &format!("{pinned}witness_token = \"Quinn Adeyemi (auditor)\"\n"),
    )]);
    assert_refused(&v, "log.witness_token", "lab-token-on-terminal");
}

#[test]
fn a_production_script_may_name_the_lab_option_for_its_dress_rehearsal() {
    // Whether a run may use it is the run's question: `keyceremony run`
    // refuses it for a production run (tests/witness.rs), `rehearse` lets
    // the lab's stand-in token sign.
    let v = violations(&[("mode = \"rehearsal\"", "mode = \"production\"")]);
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn the_lab_option_names_the_token_and_the_key() {
    let v = violations(&[("witness_token = \"Quinn Adeyemi (auditor)\"\n", "")]);
    assert_refused(
        &v,
        "log.witness_token",
        "needs the label of the witness's token",
    );
    let v = violations(&[("witness_key = \"quinn-adeyemi-seal\"\n", "")]);
    assert_refused(
        &v,
        "log.witness_key",
        "needs the label of the witness's key",
    );
    let v = violations(&[(
        "witness_token = \"Quinn Adeyemi (auditor)\"",
        "witness_token = \"Example TLS ECC Root 2026\"",
    )]);
    assert_refused(&v, "log.witness_token", "not the ceremony's");
}

#[test]
fn where_and_with_what_the_ceremony_runs_are_texts_of_the_script() {
    let script = loaded(&[]).script;
    assert!(script.ceremony.location.is_some());
    assert_eq!(script.ceremony.video.len(), 1);
    assert!(script.hsm.model.is_some() && script.hsm.certification.is_some());
    let v = violations(&[(
        "certification = \"none: a software token, for rehearsals only\"",
        "certification = \"FIPS 140-3 \\u001b[2J #4000\"",
    )]);
    assert_refused(&v, "hsm.certification", "control");
    let v = violations(&[("video = [\"", "video = [\"camera A\\n")]);
    assert_refused(&v, "ceremony.video[0]", "control");
}
