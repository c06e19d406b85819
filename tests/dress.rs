//! Dress rehearsals: `keyceremony rehearse SCRIPT` runs a CA's production
//! script exactly as the auditor reviewed it (here a copy of each shipped
//! script with only its mode changed) headless in a SoftHSM2 lab of its own,
//! from the answers `keyceremony script answers` prints, filled in with the
//! recorded values and nothing else; the same script run for real refuses
//! the lab's tokens, and a rehearsal refuses tokens outside a lab. The TUI's
//! dress rehearsal is in tests/tui.rs.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{BIN, Lab, filled_answers, module, production_copy, text};
use sha2::{Digest, Sha256};

fn log_entries(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("ceremony.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `keyceremony ARGS` on SoftHSM2 with nothing of the caller's environment
/// choosing a module or its tokens.
fn keyceremony(args: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("SOFTHSM2_CONF")
        .env_remove("KEYCEREMONY_MODULE");
    cmd
}

/// `keyceremony rehearse SCRIPT --answers ANSWERS --out OUT [--backup
/// MEDIA]` on SoftHSM2.
fn rehearse(script: &Path, answers: &Path, out: &Path, media: Option<&Path>) -> Output {
    let mut cmd = keyceremony(&["rehearse".as_ref(), script.as_os_str()]);
    cmd.arg("--answers")
        .arg(answers)
        .arg("--module")
        .arg(module())
        .arg("--out")
        .arg(out);
    if let Some(media) = media {
        cmd.arg("--backup").arg(media);
    }
    cmd.output().unwrap()
}

/// A folder on another disk than `dir`'s, standing in for removable media:
/// /dev/shm where it is a file system of its own.
fn other_disk(dir: &Path) -> Option<tempfile::TempDir> {
    use std::os::unix::fs::MetadataExt;
    let shm = Path::new("/dev/shm");
    let other = std::fs::metadata(shm).ok()?.dev() != std::fs::metadata(dir).ok()?.dev();
    other.then(|| tempfile::tempdir_in(shm).unwrap())
}

/// Rehearses the production copy of `name` headless, the sealed log's copy
/// going to `media` (the lab's stand-in without it), checks what a dress
/// rehearsal must show, and returns the rehearsal's folder.
fn dress_rehearsal(
    dir: &Path,
    name: &str,
    ceremony: &str,
    media: Option<&Path>,
) -> std::path::PathBuf {
    let script = production_copy(dir, name);
    let reviewed = std::fs::read(&script).unwrap();
    let sha256 = hex::encode(Sha256::digest(&reviewed));
    let answers = filled_answers(&script, &dir.join(format!("{name}.answers.toml")));
    let out = dir.join(format!("dress-{name}"));
    let run = rehearse(&script, &answers, &out, media);
    let stdout = text(&run.stdout);
    assert!(
        run.status.success(),
        "{name}: {stdout}\n{}",
        text(&run.stderr)
    );
    // The reviewed file, byte for byte: unchanged, its SHA-256 shown and
    // recorded, and copied as it is.
    assert_eq!(std::fs::read(&script).unwrap(), reviewed, "{name}");
    assert!(
        stdout.contains(&format!("mode production, SHA-256 {sha256}")),
        "{stdout}"
    );
    let folder = out.join(ceremony);
    assert_eq!(std::fs::read(folder.join("script.toml")).unwrap(), reviewed);
    let entries = log_entries(&folder);
    let start = &entries[0]["data"];
    assert_eq!(start["rehearsal"], true, "{start}");
    assert_eq!(start["script_sha256"], sha256.as_str());
    assert_eq!(start["script_mode"], "production");
    assert!(
        start["rehearsal_reason"]
            .as_str()
            .unwrap()
            .contains("dress rehearsal of the production script, unchanged"),
        "{start}"
    );
    assert!(
        entries[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("REHEARSAL")
    );
    let environment = entries.iter().find(|e| e["kind"] == "environment").unwrap();
    assert_eq!(environment["data"]["rehearsal"], true);
    // Each rule a lab cannot meet as the room will is either exercised
    // with the lab's stand-in or recorded as not rehearsed.
    let rules = start["rehearsal_rules"].as_array().unwrap();
    let shown = |rule: &str| {
        rules
            .iter()
            .find(|r| r["rule"] == rule)
            .unwrap_or_else(|| panic!("no rule '{rule}' in {rules:?}"))["shown"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(shown("the witness's own token"), "stand-in");
    assert_eq!(shown("shares at the keyboard"), "not rehearsed");
    assert_eq!(
        shown("backup media on another disk"),
        match media {
            Some(_) => "exercised",
            None => "not rehearsed",
        },
        "the lab's own backup folder is on the output's disk"
    );
    assert!(["exercised", "not rehearsed"].contains(&shown("no network").as_str()));
    // Shares were written for the rehearsal, and nowhere but there.
    assert!(folder.join("rehearsal-shares").is_dir());
    // The report says REHEARSAL, lists what was not rehearsed among its
    // findings, and ends with what the real ceremony needs.
    let report = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(
        report.starts_with("# REHEARSAL ceremony report"),
        "{report}"
    );
    assert!(report.contains("not rehearsed: shares at the keyboard"));
    let last = report
        .rfind("\n## ")
        .map(|at| &report[at..])
        .unwrap_or_default();
    assert!(
        last.starts_with("\n## Dress rehearsal: what the real ceremony needs"),
        "{last}"
    );
    for figure in ["Token", "Module", "key generation", "Seal the ceremony log"] {
        assert!(last.contains(figure), "{figure} not in:\n{last}");
    }
    let verified = keyceremony(&[
        "verify-log".as_ref(),
        folder.join("ceremony.log").as_os_str(),
        "--witness-key".as_ref(),
        out.join("lab/witness.pub.pem").as_os_str(),
    ])
    .output()
    .unwrap();
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stdout)
    );
    out
}

/// `keyceremony run SCRIPT` of the same file, for real, on the rehearsal's
/// lab: refused, with nothing written.
fn run_for_real(dir: &Path, script: &Path, lab: &Path, answers: Option<&Path>) -> Output {
    let media = dir.join("media");
    std::fs::create_dir_all(&media).unwrap();
    let out = dir.join("for-real");
    let mut cmd = keyceremony(&["run".as_ref(), script.as_os_str()]);
    cmd.arg("--module")
        .arg(module())
        .arg("--out")
        .arg(&out)
        .arg("--backup")
        .arg(&media)
        .env("SOFTHSM2_CONF", lab.join("softhsm2.conf"));
    if let Some(answers) = answers {
        cmd.arg("--answers").arg(answers);
    }
    let run = cmd.output().unwrap();
    assert!(!run.status.success(), "the real run was not refused");
    assert!(!out.exists(), "a refused run wrote {}", out.display());
    run
}

#[test]
fn each_production_script_is_rehearsed_unchanged_and_its_real_run_refuses_the_lab() {
    for (name, ceremony) in [
        ("root-p384", "example-tls-ecc-root-2026"),
        ("root-rsa4096", "example-tls-rsa-root-2026"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // The P-384 rehearsal copies its sealed log to another disk where
        // there is one; the RSA one to the lab's stand-in.
        let media = other_disk(dir.path()).filter(|_| name == "root-p384");
        let out = dress_rehearsal(dir.path(), name, ceremony, media.as_ref().map(|m| m.path()));
        let lab = out.join("lab");
        let tokens = std::fs::read_dir(lab.join("tokens")).unwrap().count();
        // Run for real from the same answers, the production script
        // refuses the lab before anything else.
        let script = dir.path().join(format!("{name}-production.toml"));
        let answers = dir.path().join(format!("{name}.answers.toml"));
        let run = run_for_real(dir.path(), &script, &lab, Some(&answers));
        let stderr = text(&run.stderr);
        assert!(
            stderr.contains("is a production ceremony")
                && stderr.contains(&format!(
                    "rehearsal lab {}",
                    std::fs::canonicalize(&lab).unwrap().display()
                )),
            "{name}: {stderr}"
        );
        // At the keyboard it needs a terminal: tests/tui.rs shows the lab
        // refused there too.
        run_for_real(dir.path(), &script, &lab, None);
        assert_eq!(
            std::fs::read_dir(lab.join("tokens")).unwrap().count(),
            tokens,
            "{name}: the refused run touched the lab's tokens"
        );
    }
}

#[test]
fn a_rehearsal_refuses_soft_tokens_outside_a_lab_but_runs_on_a_real_hsms_spare_token() {
    // The shipped rehearsal, on soft tokens that are nobody's lab: they
    // could be anyone's real tokens.
    let lab = Lab::new();
    let conf = lab.tokens_outside_any_lab();
    let (script, answers) = common::shipped("root-p384");
    let out = lab.path("out");
    let run = lab
        .cmd()
        .args(lab.run_args(&script, &answers, &out))
        .arg("--inventory")
        .arg(lab.inventory())
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("a rehearsal on a soft token runs on a lab's tokens only")
            && stderr.contains("outside any lab"),
        "{stderr}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(lab.path("ca-tokens")).unwrap().count(),
        0,
        "a token was made"
    );

    // A module no lab knows is a real HSM's, whose spare token a rehearsal
    // script may run on (docs/supported-modules.md): SoftHSM2 under a
    // vendor's file name stands in for it. The run says what the tool
    // cannot tell.
    let vendor = lab.path("libvendor-hsm.so");
    std::fs::copy(module(), &vendor).unwrap();
    let out = lab.path("spare-token");
    let run = lab
        .cmd()
        .args(lab.run_args_with_module(&script, &answers, &out, &vendor))
        .arg("--inventory")
        .arg(lab.inventory())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let start = &log_entries(&out)[0]["data"];
    assert_eq!(start["rehearsal_lab"], serde_json::Value::Null, "{start}");
    let hsm = &start["rehearsal_rules"][0];
    assert_eq!(hsm["rule"], "the CA's HSM");
    assert!(
        hsm["rehearsal"]
            .as_str()
            .unwrap()
            .contains("which no lab knows: a spare one"),
        "{hsm}"
    );
}

#[test]
fn an_answers_file_with_a_placeholder_left_is_refused_before_anything_happens() {
    let dir = tempfile::tempdir().unwrap();
    let script = production_copy(dir.path(), "root-p384");
    let printed = keyceremony(&["script".as_ref(), "answers".as_ref(), script.as_os_str()])
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let skeleton = dir.path().join("skeleton.toml");
    std::fs::write(&skeleton, &printed.stdout).unwrap();
    let out = dir.path().join("dress");
    let run = rehearse(&script, &skeleton, &out, None);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("still holds the placeholder <") && stderr.contains("> at "),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is made before the answers are read");
}
