//! What issue 14 found a forger could do to a sealed log and still have it
//! read as sealed, or as unsealed rather than tampered: each must now be
//! Tampered. The seal's statement names the witness's key and every field
//! of its line; signatures have one form (low s); every line's data is held
//! to the writer's bytes.

mod support;

use std::io::Cursor;

use keyceremony_log::verify::{Status, VerifyOptions, VerifyReport, verify_log};
use keyceremony_log::{
    Actor, EventKind, LogError, LogWriter, Seal, SealOutcome, SealSignature, SealStatement,
    WitnessSigning, line_hash,
};
use p384::ecdsa::Signature;
use serde::{Deserialize, Serialize};
use serde_json::json;
use support::{Keys, SEAL_STEP, pin, sign_der, signing_key, spki_der, witness};

const CEREMONY_ID: &str = "root-2026";

/// A short log, sealed, whose entry 1 pins `pinned`'s key; its lines.
fn sealed_log(keys: &Keys, pinned: Option<String>, mode: WitnessSigning) -> Vec<String> {
    try_sealed_log(keys, pinned, mode).expect("seal")
}

fn try_sealed_log(
    keys: &Keys,
    pinned: Option<String>,
    mode: WitnessSigning,
) -> Result<Vec<String>, LogError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ceremony.log");
    let mut log = LogWriter::create(&path).expect("create");
    let mut start = json!({"ceremony_id": CEREMONY_ID});
    if let Some(pin) = pinned {
        start["witness_key_sha256"] = json!(pin);
    }
    log.append(
        &Actor::tool(),
        None,
        EventKind::CeremonyStart,
        "start",
        start,
    )
    .expect("start");
    log.append(
        &Actor::tool(),
        Some("3.1"),
        EventKind::KeyGenerated,
        "root key generated",
        json!({"label": "root-2026", "extractable": false, "hsm_ms": 1234.5}),
    )
    .expect("append");
    keys.record_log_signing_key(&mut log).expect("log key");
    let mut statement = keys.statement_for(CEREMONY_ID, &log, SealOutcome::Completed);
    statement.witness_signing = mode;
    log.seal(&witness(), SEAL_STEP, &keys.seal_of(&statement))?;
    Ok(std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect())
}

fn good_log(keys: &Keys) -> Vec<String> {
    sealed_log(keys, Some(pin(&keys.witness)), WitnessSigning::Independent)
}

fn verify(lines: &[String]) -> VerifyReport {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    verify_log(Cursor::new(text.into_bytes()), &VerifyOptions::default())
}

#[track_caller]
fn assert_tampered(lines: &[String], entry: u64, words: &str) {
    let report = verify(lines);
    assert_eq!(report.status, Status::Tampered, "{report:?}");
    let problem = report.problem.expect("a problem");
    assert_eq!(problem.entry, entry, "{}", problem.message);
    assert!(
        problem.message.contains(words),
        "expected \"{words}\" in: {}",
        problem.message
    );
}

/// Rewrites every `prev` as a forger would.
fn rechain(lines: &mut [String]) {
    let mut prev = [0u8; 32];
    for line in lines.iter_mut() {
        let at = line.find("\"prev\":\"").expect("prev") + 8;
        line.replace_range(at..at + 64, &hex::encode(prev));
        prev = line_hash(line.as_bytes());
    }
}

/// The seal's line, in the writer's field order.
#[derive(Serialize, Deserialize)]
struct SealLine {
    seq: u64,
    time: String,
    prev: String,
    actor: Actor,
    step: Option<String>,
    kind: String,
    description: String,
    data: Seal,
}

/// A change to the seal's line.
type Edit = Box<dyn Fn(&mut SealLine)>;

/// The seal's line with `edit` made to it, written back in the writer's
/// form: what the verifier then finds is the edit itself.
fn edit_seal(lines: &mut [String], edit: impl FnOnce(&mut SealLine)) {
    let last = lines.len() - 1;
    let mut seal: SealLine = serde_json::from_str(&lines[last]).expect("json");
    edit(&mut seal);
    lines[last] = serde_json::to_string(&seal).expect("json");
}

/// (r, n - s): the same signature in its other, high-s spelling.
fn malleated(signature_hex: &str) -> String {
    let der = hex::decode(signature_hex).expect("hex");
    let signature = Signature::from_der(&der).expect("der");
    let (r, s) = signature.split_scalars();
    let high = Signature::from_scalars(r, -s).expect("n - s");
    assert_ne!(high, signature);
    hex::encode(high.to_der().as_bytes())
}

#[test]
fn the_untouched_log_is_sealed() {
    let keys = Keys::fixed();
    let report = verify(&good_log(&keys));
    assert_eq!(report.status, Status::Sealed, "{report:?}");
}

#[test]
fn a_malleated_signature_is_tampering() {
    let keys = Keys::fixed();
    for key in ["ceremony_key", "witness_key"] {
        let mut lines = good_log(&keys);
        edit_seal(&mut lines, |seal| {
            let signature = match key {
                "ceremony_key" => &mut seal.data.ceremony_key,
                _ => &mut seal.data.witness_key,
            };
            signature.signature = malleated(&signature.signature);
        });
        assert_tampered(&lines, 4, "high s");
    }
}

#[test]
fn a_disguised_seal_is_tampering_not_an_unsealed_log() {
    let keys = Keys::fixed();
    let mut lines = good_log(&keys);
    let last = lines.len() - 1;
    // Kind renamed, and the statement's first 'k' written as a JSON escape,
    // so that a search for the statement's title misses it.
    lines[last] = lines[last]
        .replacen("\"kind\":\"seal\"", "\"kind\":\"recorded\"", 1)
        .replacen(
            "keyceremony log seal v2",
            "\\u006beyceremony log seal v2",
            1,
        );
    let report = verify(&lines);
    assert_eq!(report.status, Status::Tampered, "{report:?}");
    assert_eq!(report.status.exit_code(), 4);
    assert!(
        report
            .problem
            .expect("problem")
            .message
            .contains("data is not byte for byte"),
    );
    // Renamed only: its data is no ordinary entry's.
    let mut lines = good_log(&keys);
    lines[last] = lines[last].replacen("\"kind\":\"seal\"", "\"kind\":\"recorded\"", 1);
    assert_tampered(&lines, 4, "data is not byte for byte");
}

#[test]
fn every_entry_s_data_is_held_to_the_writer_s_form() {
    let keys = Keys::fixed();
    let cases = [
        ("\"label\":\"root-2026\"", "\"label\": \"root-2026\""),
        ("\"label\":\"root-2026\"", "\"label\":\"\\u0072oot-2026\""),
        (
            "\"extractable\":false,\"hsm_ms\":1234.5,\"label\":\"root-2026\"",
            "\"label\":\"root-2026\",\"extractable\":false,\"hsm_ms\":1234.5",
        ),
        (
            "\"extractable\":false",
            "\"extractable\":true,\"extractable\":false",
        ),
        ("\"hsm_ms\":1234.5", "\"hsm_ms\":1.2345e3"),
    ];
    for (from, to) in cases {
        let mut lines = good_log(&keys);
        assert!(lines[1].contains(from), "{from} not in {}", lines[1]);
        lines[1] = lines[1].replacen(from, to, 1);
        rechain(&mut lines);
        assert_tampered(&lines, 2, "data is not byte for byte");
    }
}

#[test]
fn every_field_of_the_seal_s_line_is_signed_or_fixed() {
    let keys = Keys::fixed();
    let edits: [(&str, Edit); 6] = [
        (
            "time",
            Box::new(|seal| seal.time = "2030-01-01T00:00:00.000Z".to_string()),
        ),
        (
            "description",
            Box::new(|seal| seal.description = "log sealed".to_string()),
        ),
        (
            "qualified-auditor",
            Box::new(|seal| seal.actor.role = "custodian".to_string()),
        ),
        (
            "(step)",
            Box::new(|seal| seal.step = Some("1.1".to_string())),
        ),
        ("names none", Box::new(|seal| seal.step = None)),
        (
            "outcome aborted",
            Box::new(|seal| seal.data.outcome = SealOutcome::Aborted),
        ),
    ];
    for (words, edit) in edits {
        let mut lines = good_log(&keys);
        edit_seal(&mut lines, edit);
        assert_tampered(&lines, 4, words);
    }
}

#[test]
fn a_swapped_witness_key_is_tampering() {
    let keys = Keys::fixed();
    let other = signing_key("someone who was not in the room");
    // The same statement signed by another key: the statement names the
    // real witness's key.
    let mut lines = good_log(&keys);
    edit_seal(&mut lines, |seal| {
        let statement = &seal.data.statement;
        seal.data.witness_key =
            SealSignature::new("wanda", &spki_der(&other), &sign_der(&other, statement))
                .expect("well formed");
    });
    assert_tampered(&lines, 4, "(witness key)");

    // A statement naming the other key too: entry 1 pins the real one (and
    // the log-signing key's signature no longer verifies).
    let mut lines = good_log(&keys);
    edit_seal(&mut lines, |seal| {
        let mut statement = SealStatement::parse(&seal.data.statement).expect("statement");
        statement.witness_key_sha256 =
            <sha2::Sha256 as sha2::Digest>::digest(spki_der(&other)).into();
        let text = statement.text();
        seal.data.witness_key =
            SealSignature::new("wanda", &spki_der(&other), &sign_der(&other, &text))
                .expect("well formed");
        seal.data.statement = text;
    });
    assert_tampered(&lines, 4, "not the one entry 1 pins");

    // The writer never seals with a witness key other than the pinned one.
    let refused = try_sealed_log(&keys, Some(pin(&other)), WitnessSigning::Independent)
        .expect_err("another key");
    assert!(
        refused.to_string().contains("not the one entry 1 pins"),
        "{refused}"
    );
}

#[test]
fn an_independent_signature_needs_a_pinned_key() {
    let keys = Keys::fixed();
    let refused = try_sealed_log(&keys, None, WitnessSigning::Independent).expect_err("no pin");
    assert!(
        refused.to_string().contains("pins no witness key"),
        "{refused}"
    );
    let lines = sealed_log(&keys, None, WitnessSigning::LabTokenOnTerminal);
    assert_eq!(verify(&lines).status, Status::Sealed);
}

#[test]
fn the_backup_line_names_the_log_s_own_sha256() {
    let keys = Keys::fixed();
    let mut lines = good_log(&keys);
    edit_seal(&mut lines, |seal| {
        let mut statement = SealStatement::parse(&seal.data.statement).expect("statement");
        statement.backup.sha256[0] ^= 1;
        seal.data.statement = statement.text();
    });
    assert_tampered(&lines, 4, "the backup copy's SHA-256");
}
