//! Checkpoints and resumptions: the log-signing key signs the head while the
//! token is logged in, and a resumption records what it proved; a log
//! rewritten before a checkpoint no longer verifies, and a resumption that
//! still owed a token check cannot be sealed.

mod support;

use keyceremony_log::verify::{Status, VerifyOptions, read_path, verify_path};
use keyceremony_log::{
    Actor, Checkpoint, EventKind, LogError, LogWriter, ResumeProof, SealOutcome,
    checkpoint_statement, line_hash,
};
use serde_json::json;
use support::{Keys, pin, sign_der, signing_key};

const CEREMONY_ID: &str = "root-2026";

/// A new log with its first entry.
fn begin(path: &std::path::Path) -> LogWriter {
    let mut log = LogWriter::create(path).expect("create");
    log.append(
        &Actor::tool(),
        None,
        EventKind::CeremonyStart,
        "start",
        json!({"ceremony_id": CEREMONY_ID, "witness_key_sha256": pin(&Keys::fixed().witness)}),
    )
    .expect("start");
    log
}

/// A record, then the log-signing key.
fn start(path: &std::path::Path, keys: &Keys) -> LogWriter {
    let mut log = begin(path);
    log.append(
        &Actor::new("ada", "ca-administrator"),
        Some("1.5"),
        EventKind::Recorded,
        "Serial of the HSM's bag: TEB-0001",
        json!({"value": "TEB-0001"}),
    )
    .expect("record");
    keys.record_log_signing_key(&mut log).expect("log key");
    log
}

/// The checkpoint `key` makes of `log` as it stands.
fn checkpoint_by(key: &p384::ecdsa::SigningKey, log: &LogWriter) -> serde_json::Value {
    let statement = checkpoint_statement(CEREMONY_ID, log.len(), &log.head());
    let checkpoint = Checkpoint::new(
        CEREMONY_ID,
        log.len(),
        &log.head(),
        &sign_der(key, &statement),
    )
    .expect("checkpoint");
    serde_json::to_value(checkpoint).expect("json")
}

fn append_checkpoint(log: &mut LogWriter, key: &p384::ecdsa::SigningKey) -> Result<(), LogError> {
    let data = checkpoint_by(key, log);
    log.append(
        &Actor::tool(),
        Some("2.2"),
        EventKind::Checkpoint,
        "checkpoint",
        data,
    )
    .map(drop)
}

fn resumed(log: &mut LogWriter, proof: ResumeProof) -> Result<(), LogError> {
    log.append(
        &Actor::tool(),
        Some("3.1"),
        EventKind::LogReopened,
        "ceremony resumed",
        json!({"resumed_at": "3.1", "proof": proof}),
    )
    .map(drop)
}

#[test]
fn checkpoints_verify_with_the_recorded_key_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ceremony.log");
    let keys = Keys::fixed();
    let mut log = start(&path, &keys);
    append_checkpoint(&mut log, &keys.ceremony).expect("checkpoint");
    append_checkpoint(&mut log, &keys.ceremony).expect("checkpoint");
    keys.seal(CEREMONY_ID, &mut log, SealOutcome::Completed)
        .expect("seal");
    let report = verify_path(&path, &VerifyOptions::default());
    assert_eq!(report.status, Status::Sealed, "{report:?}");
    assert_eq!(report.checkpoints, 2);
    assert_eq!(log.report(), report);
}

#[test]
fn a_checkpoint_by_another_key_or_before_the_log_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ceremony.log");
    let keys = Keys::fixed();
    let mut log = start(&path, &keys);
    let err = append_checkpoint(&mut log, &signing_key("someone else")).unwrap_err();
    assert!(
        err.to_string()
            .contains("with the recorded log-signing key"),
        "{err}"
    );

    let path = dir.path().join("early.log");
    let mut log = begin(&path);
    let err = append_checkpoint(&mut log, &keys.ceremony).unwrap_err();
    assert!(
        err.to_string().contains("before any log-signing-key entry"),
        "{err}"
    );
}

/// The attack of issue 12, case 2: an entry changed before a checkpoint
/// and the chain recomputed. The checkpoint still signs the old head.
#[test]
fn an_entry_rewritten_before_a_checkpoint_breaks_it_even_rechained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ceremony.log");
    let keys = Keys::fixed();
    let mut log = start(&path, &keys);
    append_checkpoint(&mut log, &keys.ceremony).expect("checkpoint");
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replace("TEB-0001", "TEB-9999");
    for i in 1..lines.len() {
        let prev = hex::encode(line_hash(lines[i - 1].as_bytes()));
        let at = lines[i].find("\"prev\":\"").unwrap() + 8;
        lines[i].replace_range(at..at + 64, &prev);
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let report = verify_path(&path, &VerifyOptions::default());
    assert_eq!(report.status, Status::Tampered, "{report:?}");
    let problem = report.problem.unwrap();
    assert_eq!(problem.entry, 4, "{problem:?}");
    assert!(
        problem
            .message
            .contains("does not sign the log as of entry 3"),
        "{problem:?}"
    );
}

#[test]
fn a_resumption_owing_a_token_check_cannot_be_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ceremony.log");
    let keys = Keys::fixed();
    let mut log = start(&path, &keys);
    append_checkpoint(&mut log, &keys.ceremony).expect("checkpoint");
    let head = hex::encode(log.head());
    // A proof that does not fit: the last checkpoint is entry 4.
    let err = resumed(&mut log, ResumeProof::new(None, Some(2))).unwrap_err();
    assert!(err.to_string().contains("does not fit this log"), "{err}");
    // The witness copied the head after entry 2; checkpoint 4 comes later.
    let witness = lines_hash(&path, 2);
    resumed(&mut log, ResumeProof::new(Some((2, witness)), Some(4))).expect("resumed");
    let err = keys
        .seal(CEREMONY_ID, &mut log, SealOutcome::Aborted)
        .unwrap_err();
    assert!(err.to_string().contains("proof never held"), "{err}");
    let err = log
        .append(
            &Actor::tool(),
            Some("3.1"),
            EventKind::LogKeyVerified,
            "checked",
            json!({"last_checkpoint_entry": 3}),
        )
        .unwrap_err();
    assert!(err.to_string().contains("another last checkpoint"), "{err}");
    log.append(
        &Actor::tool(),
        Some("3.1"),
        EventKind::LogKeyVerified,
        "checked",
        json!({"last_checkpoint_entry": 4}),
    )
    .expect("token check");
    keys.seal(CEREMONY_ID, &mut log, SealOutcome::Aborted)
        .expect("seal");
    let report = verify_path(&path, &VerifyOptions::default());
    assert_eq!(report.status, Status::Aborted, "{report:?}");
    assert_eq!((report.checkpoints, report.resumes), (1, 1));
    assert_ne!(head, hex::encode(report.head.unwrap()));
    assert_eq!(log.report(), report);
}

fn lines_hash(path: &std::path::Path, entry: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    hex::encode(line_hash(text.lines().nth(entry - 1).unwrap().as_bytes()))
}

/// Issue 12, case 6: a whole entry without its line feed is the entry
/// being written when the tool stopped, for the resume as for the writer.
#[test]
fn the_resume_reads_an_unterminated_entry_as_the_writer_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ceremony.log");
    let keys = Keys::fixed();
    drop(start(&path, &keys));
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&path, &bytes).unwrap();
    let reading = read_path(&path).expect("read");
    assert_eq!(reading.report.status, Status::Unsealed);
    assert_eq!(reading.lines.len(), 2);
    assert!(
        reading.discarded.starts_with(b"{\"seq\":3,"),
        "{}",
        String::from_utf8_lossy(&reading.discarded)
    );
    let (_, summary) = LogWriter::open_existing(&path).expect("reopen");
    assert_eq!(summary.entries, 2);
    assert_eq!(summary.discarded, reading.discarded);
}
