//! The verifier against real logs written by `LogWriter` and sealed with
//! software P-384 keys: a good log, and every way of changing one.

mod support;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use keyceremony_log::verify::{Status, VerifyOptions, VerifyReport, verify_log, verify_path};
use keyceremony_log::{
    Actor, EventKind, LogError, LogWriter, MAX_LINE, SealOutcome, SealSignature, line_hash,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Keys, SEAL_STEP, pin, public_pem, sign_der, signing_key, spki_der, witness};

const CEREMONY_ID: &str = "root-2026";

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    keys: Keys,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ceremony.log");
        Fixture {
            _dir: dir,
            path,
            keys: Keys::fixed(),
        }
    }

    /// Twelve entries such as a ceremony writes, the log-signing key among
    /// them, with text that needs escaping in JSON.
    fn write_unsealed(&self) -> LogWriter {
        let mut log = LogWriter::create(&self.path).expect("create");
        let ada = Actor::new("ada", "ca-administrator");
        let tool = Actor::tool();
        log.append(
            &tool,
            None,
            EventKind::CeremonyStart,
            "ceremony 'Root CA 2026' starts",
            json!({"ceremony_id": CEREMONY_ID, "rehearsal": false, "script_sha256": "AB".repeat(32), "witness_key_sha256": pin(&self.keys.witness)}),
        )
        .expect("append");
        log.append(
            &tool,
            None,
            EventKind::Environment,
            "PKCS#11 module loaded",
            json!({"module": "SoftHSM \"v2\""}),
        )
        .expect("append");
        log.append(
            &ada,
            Some("1.1"),
            EventKind::CheckIn,
            "Ada Lovelace checks in — ID card №42",
            json!({"document": "passport\tDE"}),
        )
        .expect("append");
        log.append(
            &witness(),
            Some("1.1"),
            EventKind::WitnessConfirmed,
            "Wanda confirms step 1.1",
            json!({}),
        )
        .expect("append");
        log.append(
            &tool,
            Some("2.1"),
            EventKind::StepBegin,
            "step 2.1: generate the root key",
            json!({"performer": "ada", "witness": "wanda"}),
        )
        .expect("append");
        log.append(
            &tool,
            Some("2.1"),
            EventKind::KeyGenerated,
            "root key generated",
            json!({"label": "root-2026", "bits": 384, "extractable": false}),
        )
        .expect("append");
        self.keys
            .record_log_signing_key(&mut log)
            .expect("log-signing key");
        log.append(
            &tool,
            Some("2.1"),
            EventKind::Recorded,
            "SPKI SHA-256 read aloud",
            json!({"spki_sha256": "0F".repeat(32)}),
        )
        .expect("append");
        log.append(
            &witness(),
            Some("2.1"),
            EventKind::WitnessConfirmed,
            "Wanda confirms step 2.1",
            json!({"remark": "back\\slash and \"quotes\""}),
        )
        .expect("append");
        log.append(
            &tool,
            Some("2.1"),
            EventKind::StepEnd,
            "step 2.1 done",
            json!({"ms": 1234}),
        )
        .expect("append");
        log.append(
            &tool,
            None,
            EventKind::FileWritten,
            "wrote certs/root.pem",
            json!({"path": "certs/root.pem", "sha256": "CD".repeat(32)}),
        )
        .expect("append");
        log.append(
            &tool,
            None,
            EventKind::CeremonyEnd,
            "ceremony 'Root CA 2026' completed",
            json!({"certificates": [["root-2026", "EF".repeat(32)]]}),
        )
        .expect("append");
        log
    }

    fn write_sealed(&self, outcome: SealOutcome) -> LogWriter {
        let mut log = self.write_unsealed();
        self.keys
            .seal(CEREMONY_ID, &mut log, outcome)
            .expect("seal");
        log
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read log")
    }

    fn lines(&self) -> Vec<Vec<u8>> {
        split_lines(&self.bytes())
    }

    fn witness_options(&self) -> VerifyOptions {
        VerifyOptions {
            expect_head: None,
            witness_key_pem: Some(public_pem(&self.keys.witness)),
        }
    }
}

fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn verify(bytes: &[u8], options: &VerifyOptions) -> VerifyReport {
    verify_log(Cursor::new(bytes), options)
}

fn verify_lines(lines: &[Vec<u8>], options: &VerifyOptions) -> VerifyReport {
    verify(&lines.concat(), options)
}

/// Recomputes every `prev` after an edit, as a forger who rewrites the whole
/// chain would, so that the check under test is the one that fires.
fn rechain(lines: &mut [Vec<u8>]) {
    let mut prev = [0u8; 32];
    for line in lines.iter_mut() {
        let at = find(line, b"\"prev\":\"").expect("prev field") + 8;
        line[at..at + 64].copy_from_slice(hex::encode(prev).as_bytes());
        prev = line_hash(line);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace_in(line: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(line.to_vec()).expect("utf-8 line");
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

#[track_caller]
fn assert_problem(report: &VerifyReport, status: Status, entry: u64, words: &str) {
    assert_eq!(report.status, status, "{report:?}");
    let problem = report.problem.as_ref().expect("a problem");
    assert_eq!(problem.entry, entry, "{report:?}");
    assert!(
        problem.message.contains(words),
        "expected \"{words}\" in: {}",
        problem.message
    );
}

#[test]
fn a_sealed_log_verifies_with_and_without_the_outside_anchors() {
    let f = Fixture::new();
    let mut log = f.write_unsealed();
    let head = log.head();
    let seal = f
        .keys
        .seal(CEREMONY_ID, &mut log, SealOutcome::Completed)
        .expect("seal");
    assert_eq!(seal.seq, 13);
    assert_eq!(seal.kind, EventKind::Seal);

    let all = VerifyOptions {
        expect_head: Some(head),
        witness_key_pem: Some(public_pem(&f.keys.witness)),
    };
    for options in [VerifyOptions::default(), f.witness_options(), all] {
        let report = verify_path(&f.path, &options);
        assert_eq!(report.status, Status::Sealed, "{report:?}");
        assert_eq!(report.status.exit_code(), 0);
        assert_eq!(report.entries, 13);
        assert_eq!(report.head, Some(head));
        assert_eq!(report.ceremony_id.as_deref(), Some(CEREMONY_ID));
        assert_eq!(report.outcome, Some(SealOutcome::Completed));
        assert_eq!(report.problem, None);
    }
}

/// The engine proves the backup copy by its SHA-256 and takes the
/// writer's report for it: that report must be the verifier's, word for
/// word, on the file, and the hash the file's.
#[test]
fn the_writer_s_report_and_hash_are_the_verifier_s_of_its_file() {
    for outcome in [
        None,
        Some(SealOutcome::Completed),
        Some(SealOutcome::Aborted),
    ] {
        let f = Fixture::new();
        let log = match outcome {
            None => f.write_unsealed(),
            Some(outcome) => f.write_sealed(outcome),
        };
        let report = verify_path(&f.path, &VerifyOptions::default());
        assert_eq!(log.report(), report, "{outcome:?}");
        let file: [u8; 32] = Sha256::digest(f.bytes()).into();
        assert_eq!(log.file_sha256(), file, "{outcome:?}");
    }
    // A log reopened after a crash: the writer's state is the verifier's
    // reading of the file, and goes on from it.
    let f = Fixture::new();
    drop(f.write_unsealed());
    let (mut log, _) = LogWriter::open_existing(&f.path).expect("reopen");
    assert_eq!(
        log.report(),
        verify_path(&f.path, &VerifyOptions::default())
    );
    f.keys
        .seal(CEREMONY_ID, &mut log, SealOutcome::Aborted)
        .expect("seal");
    assert_eq!(
        log.report(),
        verify_path(&f.path, &VerifyOptions::default())
    );
    let file: [u8; 32] = Sha256::digest(f.bytes()).into();
    assert_eq!(log.file_sha256(), file);
}

#[test]
fn the_witness_key_is_compared_as_a_key_not_as_text() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let crlf = public_pem(&f.keys.witness).replace('\n', "\r\n");
    let options = VerifyOptions {
        expect_head: None,
        witness_key_pem: Some(crlf),
    };
    assert_eq!(verify_path(&f.path, &options).status, Status::Sealed);
}

#[test]
fn every_single_byte_change_is_detected() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let original = f.bytes();
    let lines = split_lines(&original);
    assert_eq!(lines.len(), 13);

    // (entry, offset in its line, offset in the file) of every byte.
    let mut positions = Vec::new();
    let mut start = 0;
    for (index, line) in lines.iter().enumerate() {
        for offset in 0..line.len() {
            positions.push((index as u64 + 1, offset, start + offset));
        }
        start += line.len();
    }
    assert_eq!(positions.len(), original.len());

    let check = |&(entry, offset, at): &(u64, usize, usize)| {
        let byte = original[at];
        // A neighbouring byte, an unrelated one, and the other case of a
        // letter (hex is read case-insensitively by most decoders).
        let mut changes = vec![byte ^ 1, if byte == b'x' { b'y' } else { b'x' }];
        if byte.is_ascii_alphabetic() {
            changes.push(byte ^ 0x20);
        }
        for changed in changes {
            let mut bytes = original.clone();
            bytes[at] = changed;
            let report = verify(&bytes, &VerifyOptions::default());
            let what = format!(
                "entry {entry}, byte {offset} ({:?} -> {:?}): {report:?}",
                byte as char, changed as char
            );
            assert!(
                matches!(report.status, Status::Tampered | Status::Unreadable),
                "not detected: {what}"
            );
            let problem = report.problem.expect("a problem");
            // Found at the changed entry, or at the next one, whose prev no
            // longer matches.
            assert!(
                problem.entry == entry || problem.entry == entry + 1,
                "wrong entry named: {what}"
            );
            assert!(
                problem.message.contains(&format!("entry {entry}")),
                "the changed entry is not named: {what}"
            );
        }
    };
    // Checking a signature is slow in a debug build: use every core. The
    // costly bytes are all in the seal, so interleave rather than split.
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    std::thread::scope(|scope| {
        for first in 0..threads {
            let positions = &positions;
            scope.spawn(move || {
                positions
                    .iter()
                    .skip(first)
                    .step_by(threads)
                    .for_each(check)
            });
        }
    });
}

#[test]
fn a_deleted_entry_is_detected_where_it_was() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let mut lines = f.lines();
    lines.remove(5);
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(&report, Status::Tampered, 6, "entry 6 carries seq 7");
    assert!(report.problem.expect("problem").message.contains("removed"));
    assert_eq!(report.entries, 5);
    assert_eq!(report.head, None);
}

#[test]
fn swapped_entries_are_detected() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let mut lines = f.lines();
    lines.swap(4, 5);
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(&report, Status::Tampered, 5, "entry 5 carries seq 6");

    // Renumbered to hide the swap, the chain still gives it away.
    let mut lines = f.lines();
    lines.swap(4, 5);
    lines[4] = replace_in(&lines[4], "{\"seq\":6,", "{\"seq\":5,");
    lines[5] = replace_in(&lines[5], "{\"seq\":5,", "{\"seq\":6,");
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(
        &report,
        Status::Tampered,
        5,
        "prev does not match the SHA-256 of entry 4",
    );
}

#[test]
fn a_cut_tail_is_unsealed_not_sealed() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let lines = f.lines();
    for keep in [12, 9, 1] {
        let report = verify_lines(&lines[..keep], &VerifyOptions::default());
        assert_problem(&report, Status::Unsealed, keep as u64 + 1, "no seal");
        assert_eq!(report.status.exit_code(), 3);
        assert_eq!(report.entries, keep as u64);
        assert_eq!(report.head, Some(line_hash(&lines[keep - 1])));
    }
    let report = verify(b"", &VerifyOptions::default());
    assert_problem(&report, Status::Unsealed, 1, "empty");
    assert_eq!(report.head, None);
}

#[test]
fn nothing_may_follow_the_seal() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let mut lines = f.lines();
    let after = format!(
        "{{\"seq\":14,\"time\":\"2030-01-01T00:00:00.000Z\",\"prev\":\"{}\",\"actor\":{{\"id\":\"keyceremony\",\"role\":\"tool\"}},\"step\":null,\"kind\":\"recorded\",\"description\":\"late\",\"data\":{{}}}}\n",
        hex::encode(line_hash(&lines[12]))
    );
    lines.push(after.clone().into_bytes());
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(
        &report,
        Status::Tampered,
        14,
        "entry 14 follows the seal (entry 13)",
    );

    // Also as an incomplete line, and as a second seal.
    let last = lines.len() - 1;
    lines[last] = after.as_bytes()[..40].to_vec();
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(&report, Status::Tampered, 14, "follows the seal");
    lines[last] = lines[12].clone();
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(&report, Status::Tampered, 14, "follows the seal");
}

#[test]
fn a_seal_resigned_with_another_ceremony_key_is_detected() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let mut lines = f.lines();
    let seal_text = String::from_utf8(lines[12].clone()).expect("utf-8");
    let entry: serde_json::Value = serde_json::from_str(&seal_text).expect("json");
    let statement = entry["data"]["statement"].as_str().expect("statement");
    let old = &entry["data"]["ceremony_key"];
    let other = signing_key("someone else's key");
    let forged = SealSignature::new(
        "ceremony-log-key",
        &spki_der(&other),
        &sign_der(&other, statement),
    )
    .expect("well formed");
    let text = seal_text
        .replace(
            old["public_key"]
                .as_str()
                .expect("pem")
                .replace('\n', "\\n")
                .as_str(),
            &forged.public_key.replace('\n', "\\n"),
        )
        .replace(old["signature"].as_str().expect("sig"), &forged.signature);
    assert_ne!(text, seal_text);
    lines[12] = text.into_bytes();
    let report = verify_lines(&lines, &VerifyOptions::default());
    assert_problem(
        &report,
        Status::Tampered,
        13,
        "not the log-signing key recorded in entry 7",
    );
}

#[test]
fn another_witness_key_is_detected() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let options = VerifyOptions {
        expect_head: None,
        witness_key_pem: Some(public_pem(&signing_key("the real witness"))),
    };
    let report = verify_path(&f.path, &options);
    assert_problem(
        &report,
        Status::Tampered,
        13,
        "not the witness key given to the verifier",
    );
    assert_eq!(report.status.exit_code(), 4);
}

#[test]
fn a_wrong_expected_head_is_detected() {
    let f = Fixture::new();
    let log = f.write_sealed(SealOutcome::Completed);
    let mut head = log.head();
    head[0] ^= 1;
    let options = VerifyOptions {
        expect_head: Some(head),
        witness_key_pem: None,
    };
    let report = verify_path(&f.path, &options);
    assert_problem(
        &report,
        Status::Tampered,
        12,
        "the head copied at the ceremony is",
    );
    assert_eq!(report.head, None);
    assert_eq!(report.outcome, None);
}

/// Someone who rewrites the whole log and seals it again with keys of their
/// own gets a log that is consistent in itself; only the anchors from outside
/// the log (the head on paper, the witness's key) tell it apart.
#[test]
fn a_log_forged_from_scratch_is_caught_only_by_the_outside_anchors() {
    let real = Fixture::new();
    let real_head = real.write_sealed(SealOutcome::Completed).head();
    let forger = Fixture {
        keys: Keys {
            ceremony: signing_key("forged ceremony key"),
            witness: signing_key("forged witness key"),
        },
        ..Fixture::new()
    };
    forger.write_sealed(SealOutcome::Completed);
    assert_eq!(
        verify_path(&forger.path, &VerifyOptions::default()).status,
        Status::Sealed
    );
    let report = verify_path(&forger.path, &real.witness_options());
    assert_eq!(report.status, Status::Tampered);
    let options = VerifyOptions {
        expect_head: Some(real_head),
        witness_key_pem: None,
    };
    assert_eq!(verify_path(&forger.path, &options).status, Status::Tampered);
}

#[test]
fn an_aborted_ceremony_is_sealed_as_aborted() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Aborted);
    let report = verify_path(&f.path, &f.witness_options());
    assert_eq!(report.status, Status::Aborted, "{report:?}");
    assert_eq!(report.status.exit_code(), 3);
    assert_eq!(report.outcome, Some(SealOutcome::Aborted));
    assert_eq!(report.problem, None);
    assert!(
        String::from_utf8(f.bytes())
            .expect("utf-8")
            .contains("outcome: aborted\\n")
    );
}

#[test]
fn an_unsealed_log_is_unsealed() {
    let f = Fixture::new();
    let log = f.write_unsealed();
    let report = verify_path(&f.path, &VerifyOptions::default());
    assert_problem(&report, Status::Unsealed, 13, "the log has no seal");
    assert_eq!(report.head, Some(log.head()));
    assert_eq!(report.outcome, None);
    // The head of an unsealed log can be checked too.
    let options = VerifyOptions {
        expect_head: Some(log.head()),
        witness_key_pem: None,
    };
    assert_eq!(verify_path(&f.path, &options).status, Status::Unsealed);
}

#[test]
fn a_partial_last_line_is_an_interruption_not_tampering() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Completed);
    let lines = f.lines();
    let intact = lines[..12].concat();
    // Every cut through the entry being written (the seal here), including
    // the whole entry without its line feed.
    for cut in 1..lines[12].len() {
        let mut bytes = intact.clone();
        bytes.extend_from_slice(&lines[12][..cut]);
        let report = verify(&bytes, &VerifyOptions::default());
        assert_problem(
            &report,
            Status::Unsealed,
            13,
            "interrupted: last entry incomplete",
        );
        assert_eq!(report.entries, 12);
        assert_eq!(report.head, Some(line_hash(&lines[11])));
    }
    // A broken line in the middle is not an interruption.
    let mut bytes = intact.clone();
    bytes.extend_from_slice(&lines[12][..50]);
    bytes.push(b'\n');
    let report = verify(&bytes, &VerifyOptions::default());
    assert_problem(&report, Status::Tampered, 13, "not a well-formed log entry");
    // Nor is a stray byte at the end of an unsealed log.
    let mut bytes = intact.clone();
    bytes.push(b'x');
    let report = verify(&bytes, &VerifyOptions::default());
    assert_problem(
        &report,
        Status::Tampered,
        13,
        "does not begin as entry 13 would",
    );
    // Nor is something tacked on after a complete entry.
    let mut bytes = intact;
    bytes.extend_from_slice(&lines[12][..lines[12].len() - 1]);
    bytes.push(b' ');
    let report = verify(&bytes, &VerifyOptions::default());
    assert_eq!(report.status, Status::Tampered, "{report:?}");
}

#[test]
fn rules_beyond_the_chain_hold_even_when_a_forger_rechains() {
    let f = Fixture::new();
    f.write_unsealed();
    let lines = f.lines();
    let cases: [(usize, &str, &str, &str); 8] = [
        (
            4,
            "\"time\":\"",
            "\"time\":\"2020-01-01T00:00:00.000Z\",\"x\":\"",
            "not a well-formed",
        ),
        (4, ",\"step\":\"2.1\"", "", "missing field `step`"),
        (
            4,
            "\"kind\":\"step-begin\"",
            "\"kind\":\"Step_Begin\"",
            "kebab-case",
        ),
        (4, "\"seq\":5,", "\"seq\":5, ", "byte for byte"),
        (
            0,
            "\"kind\":\"ceremony-start\"",
            "\"kind\":\"environment\"",
            "starts with \"ceremony-start\"",
        ),
        (
            0,
            "\"ceremony_id\":\"root-2026\"",
            "\"ceremony\":\"root-2026\"",
            "ceremony_id",
        ),
        (
            6,
            "\"public_key_sha256\":\"",
            "\"public_key_sha256\":\"00",
            "public_key_sha256",
        ),
        (
            4,
            "\"description\":\"step 2.1",
            "\"description\":\"step 2.1\\u0020",
            "byte for byte",
        ),
    ];
    for (index, from, to, words) in cases {
        let mut edited = lines.clone();
        edited[index] = replace_in(&edited[index], from, to);
        rechain(&mut edited);
        let report = verify_lines(&edited, &VerifyOptions::default());
        assert_problem(&report, Status::Tampered, index as u64 + 1, words);
    }

    // Time never goes back.
    let mut edited = lines.clone();
    let time_at = find(&edited[4], b"\"time\":\"").expect("time") + 8;
    edited[4][time_at..time_at + 4].copy_from_slice(b"2001");
    rechain(&mut edited);
    let report = verify_lines(&edited, &VerifyOptions::default());
    assert_problem(
        &report,
        Status::Tampered,
        5,
        "earlier than the time of entry 4",
    );
}

#[test]
fn what_a_forger_wrote_is_quoted_escaped() {
    let f = Fixture::new();
    f.write_unsealed();
    let lines = f.lines();
    let cases = [
        (
            "\"kind\":\"step-begin\"",
            "\"kind\":\"\\u001b[2J\\nSEALED: intact\"",
        ),
        ("\"time\":\"", "\"\\u001b]0;SEALED\\u0007\":1,\"time\":\""),
        // Written as the tool writes it: serde_json escapes control
        // characters only.
        ("\"kind\":\"step-begin\"", "\"kind\":\"step\u{202e}begin\""),
    ];
    for (from, to) in cases {
        let mut edited = lines.clone();
        edited[4] = replace_in(&edited[4], from, to);
        rechain(&mut edited);
        let report = verify_lines(&edited, &VerifyOptions::default());
        assert_eq!(report.status, Status::Tampered, "{report:?}");
        let message = &report.problem.expect("a problem").message;
        assert!(
            !message
                .chars()
                .any(|c| c.is_control() || keyceremony_text::is_default_ignorable(c)),
            "{message:?}"
        );
        assert!(message.contains("\\u{"), "{message}");
    }
}

#[test]
fn a_line_over_the_limit_is_unreadable() {
    let f = Fixture::new();
    f.write_unsealed();
    let mut bytes = f.bytes();
    bytes.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
    bytes.push(b'\n');
    let report = verify(&bytes, &VerifyOptions::default());
    assert_problem(&report, Status::Unreadable, 13, "longer than 1048576 bytes");
    assert_eq!(report.status.exit_code(), 4);

    // The writer never writes one.
    let (mut log, _) = LogWriter::open_existing(&f.path).expect("resumable");
    let big = json!({ "blob": "x".repeat(MAX_LINE) });
    let err = log
        .append(&Actor::tool(), None, EventKind::Recorded, "too big", big)
        .expect_err("refused");
    assert!(matches!(err, LogError::TooLong { seq: 13, .. }), "{err}");
}

#[test]
fn unusable_inputs_are_unreadable() {
    let report = verify_path(
        Path::new("/nonexistent/ceremony.log"),
        &VerifyOptions::default(),
    );
    assert_problem(&report, Status::Unreadable, 0, "cannot open the log");
    let options = VerifyOptions {
        expect_head: None,
        witness_key_pem: Some("not a key".to_string()),
    };
    let report = verify(b"", &options);
    assert_problem(
        &report,
        Status::Unreadable,
        0,
        "the witness key given to the verifier",
    );
}

#[test]
fn resume_continues_the_chain_and_the_result_verifies() {
    let f = Fixture::new();
    let log = f.write_unsealed();
    let (entries, head) = (log.len(), log.head());
    drop(log);
    // The tool stopped while writing entry 13.
    let partial = br#"{"seq":13,"time":"2026-11-25T20:28:07.1"#;
    let mut bytes = f.bytes();
    bytes.extend_from_slice(partial);
    std::fs::write(&f.path, &bytes).expect("write");

    let (mut log, summary) = LogWriter::open_existing(&f.path).expect("resume");
    assert_eq!(summary.entries, entries);
    assert_eq!(summary.head, head);
    assert_eq!(summary.ceremony_id.as_deref(), Some(CEREMONY_ID));
    assert_eq!(summary.discarded, partial);
    assert_eq!(log.len(), entries);
    assert_eq!(log.head(), head);

    let resumed = log
        .append(
            &Actor::tool(),
            None,
            EventKind::Exception,
            "resumed after an interruption",
            json!({"discarded_bytes": summary.discarded.len()}),
        )
        .expect("append");
    assert_eq!(resumed.seq, 13);
    assert_eq!(resumed.prev, hex::encode(head));
    f.keys
        .seal(CEREMONY_ID, &mut log, SealOutcome::Completed)
        .expect("seal");

    let report = verify_path(&f.path, &f.witness_options());
    assert_eq!(report.status, Status::Sealed, "{report:?}");
    assert_eq!(report.entries, 14);
}

#[test]
fn resume_refuses_sealed_and_tampered_logs() {
    let f = Fixture::new();
    f.write_sealed(SealOutcome::Aborted);
    let err = LogWriter::open_existing(&f.path).expect_err("sealed");
    assert!(
        matches!(&err, LogError::NotResumable { status: Status::Aborted, reason, .. } if reason.contains("sealed")),
        "{err}"
    );

    let mut lines = f.lines();
    lines.truncate(12);
    lines[3] = replace_in(&lines[3], "Wanda", "Wendy");
    std::fs::write(&f.path, lines.concat()).expect("write");
    let before = f.bytes();
    let err = LogWriter::open_existing(&f.path).expect_err("tampered");
    assert!(
        matches!(&err, LogError::NotResumable { status: Status::Tampered, reason, .. } if reason.contains("entry 4 was changed")),
        "{err}"
    );
    assert_eq!(f.bytes(), before, "a refused log is left as it was");
}

#[test]
fn the_writer_refuses_a_seal_that_does_not_fit_and_anything_after_it() {
    let f = Fixture::new();
    let mut log = f.write_unsealed();
    let good = f.keys.seal_for(CEREMONY_ID, &log, SealOutcome::Completed);

    let mut stale = good.clone();
    stale.entries -= 1;
    let err = log
        .seal(&witness(), SEAL_STEP, &stale)
        .expect_err("entries");
    assert!(
        err.to_string()
            .contains("the seal states 11 entries, but 12 precede it"),
        "{err}"
    );

    let mut wrong_head = good.clone();
    wrong_head.head = "00".repeat(32);
    assert!(log.seal(&witness(), SEAL_STEP, &wrong_head).is_err());

    let err = log
        .seal(&Actor::tool(), SEAL_STEP, &good)
        .expect_err("actor");
    assert!(
        err.to_string()
            .contains("the witness who signed it is \"wanda\""),
        "{err}"
    );

    let mut same_key = good.clone();
    same_key.witness_key = SealSignature {
        signer: witness().id,
        ..good.ceremony_key.clone()
    };
    let err = log
        .seal(&witness(), SEAL_STEP, &same_key)
        .expect_err("one key");
    assert!(err.to_string().contains("two different keys"), "{err}");

    let err = log
        .append(&Actor::tool(), None, EventKind::Seal, "by hand", json!({}))
        .expect_err("seal via append");
    assert!(err.to_string().contains("LogWriter::seal"), "{err}");
    assert_eq!(log.len(), 12, "nothing was written");

    log.seal(&witness(), SEAL_STEP, &good)
        .expect("the good seal");
    let err = log
        .append(&Actor::tool(), None, EventKind::Recorded, "late", json!({}))
        .expect_err("sealed");
    assert!(matches!(err, LogError::Sealed { .. }), "{err}");
    assert!(matches!(
        log.seal(&witness(), SEAL_STEP, &good),
        Err(LogError::Sealed { .. })
    ));
    assert_eq!(
        verify_path(&f.path, &VerifyOptions::default()).status,
        Status::Sealed
    );
}

#[test]
fn a_seal_needs_a_recorded_log_signing_key() {
    let f = Fixture::new();
    let mut log = LogWriter::create(&f.path).expect("create");
    log.append(
        &Actor::tool(),
        None,
        EventKind::CeremonyStart,
        "start",
        json!({"ceremony_id": CEREMONY_ID}),
    )
    .expect("append");
    let err = f
        .keys
        .seal(CEREMONY_ID, &mut log, SealOutcome::Aborted)
        .expect_err("no log-signing key");
    assert!(
        err.to_string()
            .contains("no log-signing-key entry precedes the seal"),
        "{err}"
    );
}
