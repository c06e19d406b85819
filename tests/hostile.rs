//! Hostile text against the real binary (issue 15): a crafted ceremony log
//! whose kind, names and descriptions hold escape sequences, and a crafted
//! script. Whatever command reads them, no control character other than the
//! line feeds between its own lines, no bidirectional control and no
//! invisible character reaches its standard output or error; a malformed
//! command line is a usage error; a closed pipe ends a command quietly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{BIN, Lab, module, repo, shipped, text};
use keyceremony_text::{is_bidi_control, is_default_ignorable};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// ESC sequences that clear the screen, set the window title and hide text,
/// and a line of their own that would read as a verdict.
const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const TITLE: &str = "\u{1b}]0;keyceremony: SEALED\u{7}";
const FORGED_LINE: &str = "\nLOG: SEALED: intact, and sealed as completed";

/// Every character of a command's output shows as itself: no control
/// character but the line feeds that end its lines, nothing that reorders
/// text or shows as nothing.
#[track_caller]
fn assert_safe(what: &str, output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let shown = text(bytes);
        let bad: Vec<String> = shown
            .chars()
            .filter(|&c| {
                (c.is_control() && c != '\n') || is_bidi_control(c) || is_default_ignorable(c)
            })
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(bad.is_empty(), "{what}: {stream} holds {bad:?}:\n{shown}");
        assert!(
            !shown.lines().any(|l| l.starts_with("LOG: SEALED")),
            "{what}: {stream} has a line a crafted value made:\n{shown}"
        );
        assert!(
            !shown.contains("panicked"),
            "{what}: {stream} panicked:\n{shown}"
        );
    }
}

fn keyceremony(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("KEYCEREMONY_MODULE")
        .env_remove("SOFTHSM2_CONF")
        .output()
        .expect("run keyceremony")
}

/// A log line in the writer's form, chained to `prev`.
fn line(seq: u64, prev: &str, actor: &str, step: Option<&str>, kind: &str, data: &Value) -> String {
    let quoted = |s: &str| serde_json::to_string(s).unwrap();
    format!(
        "{{\"seq\":{seq},\"time\":\"2026-11-25T09:00:{:02}.000Z\",\"prev\":\"{prev}\",\"actor\":{{\"id\":{},\"role\":\"ca-administrator\"}},\"step\":{},\"kind\":{},\"description\":{},\"data\":{}}}",
        seq % 60,
        quoted(actor),
        step.map_or_else(|| "null".to_string(), quoted),
        quoted(kind),
        quoted(&format!("{CLEAR}{TITLE}entry {seq}{FORGED_LINE}")),
        serde_json::to_string(data).unwrap(),
    )
}

/// A ceremony log that is intact and unsealed, for the shipped P-384 script,
/// every text of which holds escape sequences, bidirectional controls and
/// invisible characters; with `tampered`, one more entry whose kind does.
fn crafted_log(tampered: bool) -> String {
    let (script, _) = shipped("root-p384");
    let script_sha256 = hex::encode(Sha256::digest(std::fs::read(script).unwrap()));
    let hostile = format!("{CLEAR}{TITLE}\u{202e}\u{200b}{FORGED_LINE}");
    let mut entries = vec![
        (
            "keyceremony",
            None,
            "ceremony-start".to_string(),
            json!({
                "ceremony_id": "example-tls-ecc-root-2026",
                "ceremony_name": hostile,
                "script_sha256": script_sha256,
                "rehearsal": true,
                "token_label": hostile,
            }),
        ),
        (
            "sam",
            Some("1.1"),
            "step-begin".to_string(),
            json!({"act": hostile, "title": hostile, "performer": "sam\u{1b}[8m", "witness": "quinn", "action": "manual"}),
        ),
        (
            "quinn",
            Some("1.1"),
            "witness-refused".to_string(),
            json!({"remark": hostile}),
        ),
        (
            "sam",
            Some("1.1"),
            "recorded".to_string(),
            json!({"field": hostile, "label": hostile, "value": hostile}),
        ),
        (
            "ada\u{1b}[31m",
            Some("1.2\u{1b}[2J"),
            "exception".to_string(),
            json!({"number": 1, "description": hostile, "accepted": false, "witness": "quinn", "remark": hostile}),
        ),
    ];
    if tampered {
        entries.push((
            "keyceremony",
            None,
            format!("{CLEAR}{FORGED_LINE}"),
            json!({}),
        ));
    }
    let mut log = String::new();
    let mut prev = "0".repeat(64);
    for (i, (actor, step, kind, data)) in entries.iter().enumerate() {
        let entry = line(i as u64 + 1, &prev, actor, *step, kind, data);
        prev = hex::encode(Sha256::digest(entry.as_bytes()));
        log.push_str(&entry);
        log.push('\n');
    }
    log
}

/// An output folder holding only the crafted log.
fn crafted_folder(tampered: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ceremony.log"), crafted_log(tampered)).unwrap();
    dir
}

#[test]
fn verify_log_never_prints_what_a_crafted_log_holds() {
    for (tampered, code) in [(false, 3), (true, 4)] {
        let dir = crafted_folder(tampered);
        let run = keyceremony(&["verify-log", "ceremony.log"], dir.path());
        assert_eq!(run.status.code(), Some(code), "{}", text(&run.stdout));
        assert_safe("verify-log", &run);
        if tampered {
            let stdout = text(&run.stdout);
            assert!(stdout.contains("TAMPERED"), "{stdout}");
            assert!(stdout.contains("\\u{1b}[2J"), "{stdout}");
        }
    }
}

#[test]
fn report_never_prints_what_a_crafted_log_holds() {
    for tampered in [false, true] {
        let dir = crafted_folder(tampered);
        let run = keyceremony(&["report", "."], dir.path());
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert_safe("report", &run);
        let stdout = text(&run.stdout);
        // The refusal's remark is a finding, shown escaped.
        assert!(stdout.contains("refused step 1.1"), "{stdout}");
        assert!(stdout.contains("\\u{1b}]0;"), "{stdout}");
    }
}

/// `run` on the crafted folder reads its log to resume it; the refusal
/// quotes the log.
#[test]
fn run_on_a_crafted_folder_never_prints_what_its_log_holds() {
    let (script, answers) = shipped("root-p384");
    for tampered in [false, true] {
        let dir = crafted_folder(tampered);
        std::fs::create_dir(dir.path().join("backup")).unwrap();
        let run = Command::new(BIN)
            .arg("run")
            .arg(&script)
            .arg("--module")
            .arg(module())
            .arg("--answers")
            .arg(&answers)
            .args(["--backup", "backup", "--inventory", "inventory.jsonl"])
            .args(["--out", "."])
            .current_dir(dir.path())
            .env_remove("KEYCEREMONY_MODULE")
            .env_remove("SOFTHSM2_CONF")
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
        assert_safe("run", &run);
        let stderr = text(&run.stderr);
        let expected = if tampered {
            "cannot be resumed: TAMPERED"
        } else {
            "interrupted after 5 entries"
        };
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("\\u{1b}[2J"), "{stderr}");
    }
}

/// An answers file whose recorded value clears the screen: refused before
/// the ceremony starts, naming the value, with nothing written and the
/// sequence never printed.
#[test]
fn an_answers_file_with_a_control_character_is_refused_before_anything_is_written() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let shipped_answers = std::fs::read_to_string(&answers).unwrap();
    let crafted = lab.path("crafted.answers.toml");
    // The TOML escape of ESC: the file itself is plain text.
    let poisoned =
        shipped_answers.replace("boot-media-sha256 = \"", "boot-media-sha256 = \"\\u001b[2J");
    assert_ne!(poisoned, shipped_answers);
    std::fs::write(&crafted, poisoned).unwrap();
    let out = lab.path("out");
    let run = lab.run(&script, &crafted, &out);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    assert_safe("run", &run);
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("steps.1.6.record.boot-media-sha256: character 1 is U+001B (ESC)"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "a refused answers file left {}",
        out.display()
    );
}

/// The shipped P-384 script with hostile texts, beside the policy it names.
fn crafted_script(dir: &Path) -> PathBuf {
    let (script, _) = shipped("root-p384");
    let body = std::fs::read_to_string(script)
        .unwrap()
        .replacen(
            r#"common_name = "Example TLS ECC Root CA 2026""#,
            r#"common_name = "Example\u001B]0;SEALED\u0007 Root""#,
            1,
        )
        .replacen(
            r#"organization = "Example Trust Co., Ltd.""#,
            r#"organization = "Example Trust\u202E Co., Ltd.""#,
            1,
        )
        .replacen(
            r#"performer = "sam""#,
            r#"performer = "sam\u001B[2J\nLOG: SEALED: intact""#,
            1,
        )
        .replacen(
            r#"title = "Open the ceremony""#,
            r#"title = "Open\u001B[8m the ceremony""#,
            1,
        );
    let path = dir.join("hostile.toml");
    std::fs::write(&path, body).unwrap();
    std::fs::create_dir(dir.join("policy")).unwrap();
    std::fs::copy(
        repo().join("ceremony-scripts/policy/reference-cps.toml"),
        dir.join("policy/reference-cps.toml"),
    )
    .unwrap();
    path
}

#[test]
fn script_check_and_print_show_a_crafted_script_escaped() {
    let dir = tempfile::tempdir().unwrap();
    crafted_script(dir.path());
    let check = keyceremony(&["script", "check", "hostile.toml"], dir.path());
    assert_eq!(check.status.code(), Some(1));
    assert_safe("script check", &check);
    let stdout = text(&check.stdout);
    for words in [
        "certificates[0].subject.common_name: character 8 is U+001B (ESC)",
        "[text rule 1: no control characters]",
        "[text rule 2: every character of a name shows]",
        "acts[0].steps[0].title",
        r"sam\u{1b}[2J\u{a}LOG: SEALED",
    ] {
        assert!(stdout.contains(words), "'{words}' missing:\n{stdout}");
    }
    let print = keyceremony(
        &["script", "print", "hostile.toml", "--format", "md"],
        dir.path(),
    );
    assert_eq!(print.status.code(), Some(1));
    assert_safe("script print", &print);
    assert!(text(&print.stderr).contains("text rule 1"));
}

#[test]
fn a_malformed_expected_head_is_a_usage_error() {
    let dir = crafted_folder(false);
    for head in ["zz", "abcd", &"0".repeat(66)] {
        let run = keyceremony(
            &["verify-log", "ceremony.log", "--expect-head", head],
            dir.path(),
        );
        assert_eq!(run.status.code(), Some(2), "{head}: {}", text(&run.stderr));
        assert!(
            text(&run.stderr).contains("--expect-head"),
            "{}",
            text(&run.stderr)
        );
        assert!(run.stdout.is_empty(), "the log was verified: {head}");
    }
}

/// Runs a command whose standard output is a pipe nobody reads: closed
/// before the command writes a byte.
fn with_closed_stdout(args: &[&str], dir: &Path) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_any_command_quietly() {
    let dir = crafted_folder(true);
    let (script, _) = shipped("root-p384");
    let script = script.to_str().unwrap();
    // A real sealed log, with checkpoints: verify-log prints every line.
    let sealed = repo().join("fuzz/seeds/root-p384.ceremony.log");
    let sealed = sealed.to_str().unwrap();
    for (args, code) in [
        (vec!["verify-log", "ceremony.log"], 4),
        (vec!["verify-log", sealed], 0),
        (vec!["report", "."], 0),
        (vec!["script", "check", script], 0),
        (vec!["script", "print", script], 0),
        (vec!["completions", "bash"], 0),
        (vec!["man"], 0),
    ] {
        let run = with_closed_stdout(&args, dir.path());
        assert_eq!(
            run.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&run.stderr)
        );
        assert!(run.stderr.is_empty(), "{args:?}: {}", text(&run.stderr));
    }
}

/// Peak resident memory of `keyceremony ARGS`, in bytes. The child is
/// reaped by wait4, which reports it, not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn peak_memory(args: &[&str], dir: &Path) -> (i32, u64) {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` outlive the call; `pid` is our child,
    // reaped here once.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let kilobytes = u64::try_from(usage.ru_maxrss).unwrap();
    (libc::WEXITSTATUS(status), kilobytes * 1024)
}

#[test]
fn report_reads_a_huge_log_in_bounded_memory() {
    use std::io::Write;
    let dir = crafted_folder(false);
    let filler = line(
        6,
        &"0".repeat(64),
        "sam",
        Some("1.1"),
        "recorded",
        &json!({"value": "x".repeat(4000)}),
    );
    // Written a line at a time: a child's peak memory counts its parent's.
    let size: u64 = 96 << 20;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("ceremony.log"))
        .unwrap();
    let mut log = std::io::BufWriter::new(file);
    let mut written = 0;
    while written < size {
        writeln!(log, "{filler}").unwrap();
        written += filler.len() as u64 + 1;
    }
    log.flush().unwrap();
    let (code, peak) = peak_memory(&["report", "."], dir.path());
    assert_eq!(code, 0);
    assert!(
        peak < size / 2,
        "report used {} MiB for a {} MiB log",
        peak >> 20,
        size >> 20
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("larger than any ceremony writes"), "no finding");
}
