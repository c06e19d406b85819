//! A root key's backup and destruction: the policy's rules (CPS 5.2.2, 6.2.4, 6.2.10) and
//! the records of each backup, restore and destruction beside the inventory.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{policy_after, reference_policy};
use keyceremony_policy::{
    DestructionScope, IssuedRecord, IssuedRecords, KeyBackupRecord, KeyDestructionRecord,
    KeyRestoreRecord, PolicyError, sha256_hex,
};

const ROOT_SPKI: &[u8] = b"the DER SubjectPublicKeyInfo of the backed-up root";
const BLOB: &[u8] = b"the RFC 5649 wrap of the root's private key";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

fn people(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn backup_record() -> KeyBackupRecord {
    KeyBackupRecord {
        ceremony_id: "root-2026-backup".into(),
        time: now(),
        key_label: "example-root-2026".into(),
        public_key_sha256: sha256_hex(ROOT_SPKI),
        token_label: "Example Root 2026".into(),
        token_serial: "0123456789abcdef".into(),
        blob_sha256: sha256_hex(BLOB),
        mechanism: "CKM_AES_KEY_WRAP_PAD".into(),
        wrap_key_split: "W-Z5T8-G1MT (2 of 3)".into(),
        wrap_key_check: "B27017CD4A41C7D4".into(),
        custodians: people(&["ana", "bo", "cy"]),
    }
}

fn destruction(scope: DestructionScope, by: &[&str]) -> KeyDestructionRecord {
    KeyDestructionRecord {
        ceremony_id: "root-2026-destroy".into(),
        time: now(),
        key_label: "example-root-2026".into(),
        public_key_sha256: sha256_hex(ROOT_SPKI),
        scope,
        token_label: "Example Root 2026 backup".into(),
        token_serial: "fedcba9876543210".into(),
        destroyed_by: people(by),
    }
}

#[test]
fn the_reference_policy_allows_a_backup_under_dual_control() {
    let policy = reference_policy();
    let backup = policy.backup.expect("a [backup] table");
    assert!(backup.allowed);
    assert_eq!((backup.min_threshold, backup.min_custodians), (2, 2));
    assert!(backup.section.starts_with("CPS 5.2.2") && backup.section.ends_with("6.2.4"));
    let destruction = policy.destruction_rule();
    assert_eq!(destruction.min_persons, 2);
    assert_eq!(destruction.section, "CPS 6.2.10");

    policy
        .check_backup(2, &["ana", "bo", "cy"])
        .expect("2 of 3 backup custodians");
    policy
        .check_destruction(&["ana", "bo"])
        .expect("two authorised people");
}

#[test]
fn a_backup_below_its_quorum_is_refused_citing_its_section() {
    let policy = reference_policy();
    for (threshold, custodians, words) in [
        (1, vec!["ana", "bo"], "fewer than 2 custodians restore it"),
        (2, vec!["ana", "ana"], "1 different custodian(s)"),
        (3, vec!["ana", "bo"], "could never be met"),
    ] {
        let err = policy.check_backup(threshold, &custodians).unwrap_err();
        assert!(
            matches!(&err, PolicyError::BackupQuorum { problem, .. } if problem.contains(words)),
            "{err:?}"
        );
        assert_eq!(err.section(), Some("CPS 5.2.2, 6.2.2, 6.2.4"));
    }
}

#[test]
fn a_policy_may_forbid_backups_and_without_a_table_forbids_them() {
    let forbidding = policy_after(
        "no-backup",
        &[
            ("name = \"reference-cps\"", "name = \"no-backup\""),
            (
                "allowed = true\nmin_threshold = 2\nmin_custodians = 2",
                "allowed = false",
            ),
        ],
    )
    .expect("a policy that allows no backup");
    let err = forbidding.check_backup(2, &["ana", "bo"]).unwrap_err();
    assert!(
        matches!(err, PolicyError::BackupNotAllowed { .. }),
        "{err:?}"
    );
    assert_eq!(err.section(), Some("CPS 5.2.2, 6.2.2, 6.2.4"));
    assert!(err.to_string().contains("stays on its token"), "{err}");

    let text = std::fs::read_to_string(common::reference_policy_path()).expect("policy");
    let start = text.find("\n[backup]\n").expect("the table");
    let end = text.find("\n[destruction]\n").expect("the next table");
    let without: String = format!("{}{}", &text[..start], &text[end..]);
    let path = common::repo().join("ceremony-scripts/policy/reference-cps.toml");
    let silent = keyceremony_policy::Policy::parse(&path, &without).expect("no [backup]");
    assert_eq!(silent.backup, None);
    let err = silent.check_backup(2, &["ana", "bo"]).unwrap_err();
    assert!(
        matches!(err, PolicyError::BackupNotAllowed { .. }),
        "{err:?}"
    );
    assert_eq!(err.section(), Some("CPS 5.2.2, 6.2.2, 6.2.8"));
}

#[test]
fn a_destruction_by_one_person_is_refused() {
    let policy = reference_policy();
    for people in [vec!["ana"], vec!["ana", "ana"], vec!["ana", " "], vec![]] {
        let err = policy.check_destruction(&people).unwrap_err();
        assert!(
            matches!(err, PolicyError::DestructionQuorum { needed: 2, .. }),
            "{people:?}: {err:?}"
        );
        assert_eq!(err.section(), Some("CPS 6.2.10"));
    }
    let stricter = policy_after(
        "three",
        &[
            ("name = \"reference-cps\"", "name = \"three\""),
            ("min_persons = 2", "min_persons = 3"),
        ],
    )
    .expect("a stricter policy");
    assert!(stricter.check_destruction(&["ana", "bo"]).is_err());
    stricter
        .check_destruction(&["ana", "bo", "cy"])
        .expect("three");
}

#[test]
fn backup_and_destruction_tables_that_cannot_be_enforced_are_refused() {
    let quorum = "allowed = true\nmin_threshold = 2\nmin_custodians = 2";
    for (edit, field, words) in [
        (
            (
                quorum,
                "allowed = true\nmin_threshold = 1\nmin_custodians = 2",
            ),
            "backup.min_threshold",
            "at least 2 persons",
        ),
        (
            (
                quorum,
                "allowed = true\nmin_threshold = 3\nmin_custodians = 2",
            ),
            "backup.min_custodians",
            "could never restore",
        ),
        (
            (quorum, "allowed = false\nmin_threshold = 2"),
            "backup.allowed",
            "sets no quorum",
        ),
        (
            (quorum, "allowed = true\nmin_custodians = 2"),
            "backup",
            "sets min_threshold and min_custodians",
        ),
        (
            ("min_persons = 2", "min_persons = 1"),
            "destruction.min_persons",
            "at least 2 authorised",
        ),
        (
            ("section = \"CPS 6.2.10\"", "section = \" \""),
            "destruction.section",
            "cites the section",
        ),
        (
            ("min_persons = 2", "min_persons = 2\nwitnesses = 1"),
            "destruction",
            "unknown field",
        ),
    ] {
        let err = policy_after("reference-cps", &[edit]).unwrap_err();
        match &err {
            PolicyError::InvalidPolicy {
                message, location, ..
            } => {
                assert!(message.contains(words), "{field}: {message}");
                assert!(location.line > 0, "{field}: {err}");
            }
            other => panic!("{field}: expected InvalidPolicy, got {other:?}"),
        }
    }
}

#[test]
fn a_keys_backup_restore_and_destruction_are_recorded_and_a_destroyed_key_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = IssuedRecords::path_beside(&dir.path().join("inventory.jsonl"));
    IssuedRecords::record(&path, &IssuedRecord::KeyBackup(backup_record())).expect("record");
    let restore = KeyRestoreRecord {
        ceremony_id: "root-2026-restore".into(),
        time: now(),
        key_label: "example-root-2026".into(),
        public_key_sha256: sha256_hex(ROOT_SPKI),
        token_label: "Example Root 2026 backup".into(),
        token_serial: "fedcba9876543210".into(),
        blob_sha256: sha256_hex(BLOB),
    };
    IssuedRecords::record(&path, &IssuedRecord::KeyRestore(restore.clone())).expect("record");

    // A restore finds the recorded backup: its split and check value.
    let records = IssuedRecords::load(&path).expect("load");
    let found = records
        .backup_of(ROOT_SPKI, &sha256_hex(BLOB).to_lowercase())
        .expect("a recorded backup");
    assert_eq!(found.wrap_key_split, "W-Z5T8-G1MT (2 of 3)");
    assert_eq!(found.wrap_key_check, "B27017CD4A41C7D4");
    let err = records
        .backup_of(ROOT_SPKI, &sha256_hex(b"another file"))
        .unwrap_err();
    assert!(matches!(err, PolicyError::UnknownBackup { .. }), "{err:?}");
    assert_eq!(err.section(), Some("CPS 6.2.4"));

    // Destroying one copy leaves the key in use.
    IssuedRecords::record(
        &path,
        &IssuedRecord::KeyDestruction(destruction(DestructionScope::Copy, &["ana", "bo"])),
    )
    .expect("record");
    let records = IssuedRecords::load(&path).expect("load");
    records
        .check_key_live(ROOT_SPKI)
        .expect("another copy lives");
    let history = records.key_history(ROOT_SPKI);
    assert_eq!(
        (
            history.backups.len(),
            history.restores.len(),
            history.destructions.len()
        ),
        (1, 1, 1)
    );
    assert_eq!(history.restores[0], &restore);
    assert_eq!(history.destroyed(), None);

    // Destroying the key with its backups retires it for good.
    IssuedRecords::record(
        &path,
        &IssuedRecord::KeyDestruction(destruction(DestructionScope::Key, &["ana", "cy"])),
    )
    .expect("record");
    let records = IssuedRecords::load(&path).expect("load");
    let err = records.check_key_live(ROOT_SPKI).unwrap_err();
    assert!(
        matches!(&err, PolicyError::KeyDestroyed { ceremony_id, .. } if ceremony_id == "root-2026-destroy"),
        "{err:?}"
    );
    assert_eq!(err.section(), Some("CPS 6.2.10"));
    assert!(matches!(
        records.backup_of(ROOT_SPKI, &sha256_hex(BLOB)),
        Err(PolicyError::KeyDestroyed { .. })
    ));
    // Other keys are not concerned.
    records
        .check_key_live(b"another root's SPKI")
        .expect("another key");
    assert_eq!(
        records.key_history(b"another root's SPKI"),
        Default::default()
    );

    // The lines say what they are.
    let text = std::fs::read_to_string(&path).unwrap();
    let kinds: Vec<&str> = text
        .lines()
        .map(|l| l.split('"').nth(3).unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "key-backup",
            "key-restore",
            "key-destruction",
            "key-destruction"
        ]
    );
    assert!(text.contains(r#""scope":"copy""#) && text.contains(r#""scope":"key""#));
}

#[test]
fn a_record_short_of_two_people_or_with_a_bad_hash_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.issued.jsonl");
    let alone = destruction(DestructionScope::Key, &["ana", "ana"]);
    let err = IssuedRecords::record(&path, &IssuedRecord::KeyDestruction(alone)).unwrap_err();
    assert!(
        matches!(&err, PolicyError::InvalidEntry(m) if m.contains("at least two authorised people")),
        "{err:?}"
    );
    let one_custodian = KeyBackupRecord {
        custodians: people(&["ana"]),
        ..backup_record()
    };
    let err = IssuedRecords::record(&path, &IssuedRecord::KeyBackup(one_custodian)).unwrap_err();
    assert!(
        matches!(&err, PolicyError::InvalidEntry(m) if m.contains("two custodians")),
        "{err:?}"
    );
    let bad_check = KeyBackupRecord {
        wrap_key_check: "b27017cd4a41c7d4".into(),
        ..backup_record()
    };
    assert!(IssuedRecords::record(&path, &IssuedRecord::KeyBackup(bad_check)).is_err());
    assert!(!path.exists(), "nothing was written");

    // A line edited by hand to one person makes the file unreadable.
    IssuedRecords::record(
        &path,
        &IssuedRecord::KeyDestruction(destruction(DestructionScope::Copy, &["ana", "bo"])),
    )
    .expect("record");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(r#"["ana","bo"]"#, r#"["ana"]"#)).unwrap();
    let err = IssuedRecords::load(&path).unwrap_err();
    assert!(
        matches!(err, PolicyError::InventoryCorrupt { line: 1, .. }),
        "{err:?}"
    );
}
