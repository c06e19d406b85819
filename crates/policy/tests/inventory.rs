//! The inventory of earlier ceremonies: no subject name and no key is used twice
//! (CPS 6.3.2), and the file is only ever appended to.

mod common;

use chrono::{DateTime, Utc};
use common::{TestKey, build_root, script_after, shipped_path};
use keyceremony_policy::{Inventory, InventoryEntry, PolicyError, REUSE_SECTION};
use keyceremony_script::LoadedScript;
use keyceremony_x509::verify_root;

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("date")
        .with_timezone(&Utc)
}

fn entry(subject: &str, public_key_sha256: &str) -> InventoryEntry {
    InventoryEntry {
        ceremony_id: "example-tls-root-2019".into(),
        time: at("2019-04-01T10:00:00Z"),
        key_label: "example-tls-root-2019".into(),
        subject: subject.into(),
        public_key_sha256: public_key_sha256.into(),
        certificate_sha256: "AB".repeat(32),
        token_serial: None,
        user_pin_split: None,
    }
}

#[test]
fn a_missing_inventory_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = Inventory::load(&dir.path().join("inventory.jsonl")).expect("load");
    assert!(inventory.entries().is_empty());
    let script = LoadedScript::load(&shipped_path("root-rsa4096")).expect("script");
    assert_eq!(inventory.check_subjects(&script.script), []);
    inventory
        .check_key(&TestKey::rsa().spki())
        .expect("new key");
}

#[test]
fn an_inventory_that_could_not_record_is_refused_before_any_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    Inventory::check_recordable(&path).expect("a new file in an existing folder");
    let missing = dir.path().join("no-such-folder/inventory.jsonl");
    let err = Inventory::check_recordable(&missing).unwrap_err();
    assert!(
        matches!(&err, PolicyError::InventoryUnusable { reason, .. } if reason.contains("does not exist")),
        "{err}"
    );
    assert!(err.to_string().contains("--inventory"), "{err}");
    assert!(
        !missing.parent().unwrap().exists(),
        "the check wrote something"
    );
    // A folder where the file should be cannot be appended to.
    std::fs::create_dir(&path).expect("mkdir");
    let err = Inventory::check_recordable(&path).unwrap_err();
    assert!(
        matches!(err, PolicyError::InventoryUnusable { .. }),
        "{err}"
    );
}

#[test]
fn record_appends_one_json_line_per_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    let key = TestKey::p384();
    let (_, cert) = build_root(&key, 9131);
    let summary = verify_root(&cert, &key.spki()).expect("verify");
    let first = InventoryEntry::new(
        "example-tls-ecc-root-2026",
        "example-tls-ecc-root-2026",
        at("2026-05-01T09:00:00Z"),
        &summary,
        &key.spki(),
    );
    Inventory::record(&path, &first).expect("record");
    let before = std::fs::read(&path).expect("read");

    let second = entry(
        "CN=Other Root,O=Example Trust Co.\\, Ltd.,C=JP",
        &"01".repeat(32),
    );
    Inventory::record(&path, &second).expect("record");
    let after = std::fs::read(&path).expect("read");
    assert!(
        after.starts_with(&before),
        "earlier lines are never rewritten"
    );

    let text = String::from_utf8(after).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let json: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    assert_eq!(json["ceremony_id"], "example-tls-ecc-root-2026");
    assert_eq!(json["time"], "2026-05-01T09:00:00Z");
    assert_eq!(
        json["subject"],
        "CN=Example Policy Test Root CA,O=Example Trust Co.\\, Ltd.,C=JP"
    );
    let spki_sha256 = json["public_key_sha256"].as_str().expect("hex");
    assert_eq!(spki_sha256.len(), 64);
    assert_eq!(spki_sha256, spki_sha256.to_uppercase());
    assert_eq!(
        json["certificate_sha256"],
        keyceremony_x509::fingerprint_hex(&summary.sha256)
    );

    let inventory = Inventory::load(&path).expect("load");
    assert_eq!(inventory.entries(), [first, second]);
}

#[test]
fn a_reused_subject_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    // The subject of the shipped RSA script, in other case and spacing: the same name.
    Inventory::record(
        &path,
        &entry(
            "CN=example TLS RSA Root  CA 2026,O=Example Trust Co.\\, Ltd.,C=JP",
            &"02".repeat(32),
        ),
    )
    .expect("record");
    let inventory = Inventory::load(&path).expect("load");

    let script = LoadedScript::load(&shipped_path("root-rsa4096")).expect("script");
    let v = inventory.check_subjects(&script.script);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].path, "certificates[0].subject");
    assert_eq!(v[0].rule, Some(REUSE_SECTION));
    assert_eq!(REUSE_SECTION, "CPS 6.3.2");
    assert!(v[0].message.contains("never reused"), "{}", v[0].message);
    assert!(
        v[0].message.contains("example-tls-root-2019"),
        "{}",
        v[0].message
    );

    // Another common name is a new subject.
    let renamed = script_after(
        "root-rsa4096",
        &[(
            "common_name = \"Example TLS RSA Root CA 2026\"",
            "common_name = \"Example TLS RSA Root CA 2026 R2\"",
        )],
    );
    assert_eq!(inventory.check_subjects(&renamed.script), []);
}

#[test]
fn a_subject_differing_only_by_invisible_or_compatibility_characters_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    Inventory::record(
        &path,
        &entry(
            "CN=Example TLS RSA Root CA 2026,O=Example Trust Co.\\, Ltd.,C=JP",
            &"03".repeat(32),
        ),
    )
    .expect("record");
    // An earlier tool may have recorded a soft hyphen: the plain name is the same one.
    Inventory::record(
        &path,
        &entry(
            "CN=Example TLS ECC Ro\u{ad}ot CA 2026,O=Example Trust Co.\\, Ltd.,C=JP",
            &"04".repeat(32),
        ),
    )
    .expect("record");
    let inventory = Inventory::load(&path).expect("load");
    let cn = "common_name = \"Example TLS RSA Root CA 2026\"";
    for (what, variant) in [
        (
            "U+200B",
            r#"common_name = "Example TLS RSA Ro\u200Bot CA 2026""#,
        ),
        (
            "U+00AD",
            r#"common_name = "Example TLS RSA Root\u00AD CA 2026""#,
        ),
        (
            "full-width digits",
            "common_name = \"Example TLS RSA Root CA ２０２６\"",
        ),
    ] {
        let script = script_after("root-rsa4096", &[(cn, variant)]);
        let v = inventory.check_subjects(&script.script);
        assert_eq!(v.len(), 1, "{what}: {v:#?}");
        assert_eq!(v[0].rule, Some(REUSE_SECTION), "{what}");
    }
    let plain = LoadedScript::load(&shipped_path("root-p384")).expect("script");
    let v = inventory.check_subjects(&plain.script);
    assert_eq!(v.len(), 1, "the soft hyphen in the inventory: {v:#?}");
}

#[test]
fn a_reused_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    let key = TestKey::rsa();
    let (_, cert) = build_root(&key, 2922);
    let summary = verify_root(&cert, &key.spki()).expect("verify");
    Inventory::record(
        &path,
        &InventoryEntry::new(
            "example-tls-rsa-root-2026",
            "example-tls-rsa-root-2026",
            at("2026-05-01T09:00:00Z"),
            &summary,
            &key.spki(),
        ),
    )
    .expect("record");

    let inventory = Inventory::load(&path).expect("load");
    let err = inventory.check_key(&key.spki()).expect_err("reused");
    assert!(matches!(err, PolicyError::ReusedKey { .. }), "{err}");
    assert_eq!(err.section(), Some("CPS 6.3.2"));
    assert!(err.to_string().contains("never reused"), "{err}");
    assert!(
        err.to_string().contains("example-tls-rsa-root-2026"),
        "{err}"
    );
    inventory
        .check_key(&TestKey::p384().spki())
        .expect("another key");
}

#[test]
fn a_damaged_inventory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    let good = serde_json::to_string(&entry("CN=A,O=B,C=JP", &"03".repeat(32))).expect("json");

    // A line cut short by a crash: refused on load, and nothing is appended after it.
    std::fs::write(&path, format!("{good}\n{}", &good[..40])).expect("write");
    let err = Inventory::load(&path).expect_err("torn");
    assert!(
        matches!(err, PolicyError::InventoryCorrupt { line: 2, .. }),
        "{err}"
    );
    let err = Inventory::record(&path, &entry("CN=C,O=B,C=JP", &"04".repeat(32)))
        .expect_err("append after a torn line");
    assert!(
        matches!(err, PolicyError::InventoryCorrupt { line: 2, .. }),
        "{err}"
    );

    // Unknown fields, bad hex and blank lines are refused with their line.
    for (line, bad) in [
        (
            good.replace("\"time\"", "\"note\":\"x\",\"time\""),
            "unknown field",
        ),
        (
            good.replace(&"03".repeat(32), &"03".repeat(31)),
            "64 upper-case",
        ),
        (
            good.replace(&"03".repeat(32), &"0a".repeat(32)),
            "64 upper-case",
        ),
        (String::new(), "EOF"),
    ] {
        std::fs::write(&path, format!("{good}\n{line}\n")).expect("write");
        match Inventory::load(&path) {
            Err(PolicyError::InventoryCorrupt {
                line: 2, message, ..
            }) => {
                assert!(message.contains(bad), "{message}")
            }
            other => panic!("expected line 2 refused for '{bad}', got {other:?}"),
        }
    }

    // A malformed entry is never written.
    let mut bad = entry("CN=D,O=B,C=JP", &"05".repeat(32));
    bad.public_key_sha256 = "not hex".into();
    assert!(matches!(
        Inventory::record(&dir.path().join("new.jsonl"), &bad),
        Err(PolicyError::InvalidEntry(_))
    ));
    assert!(!dir.path().join("new.jsonl").exists());
}

/// Issue 12, case 11: two ceremonies on one inventory run one at a time,
/// so that the subject check and the record are under one lock.
#[test]
fn one_ceremony_at_a_time_holds_the_inventory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.jsonl");
    let held = Inventory::lock(&path).expect("first lock");
    assert!(Inventory::load(&path).expect("empty").entries().is_empty());
    let err = Inventory::lock(&path).unwrap_err();
    assert!(matches!(err, PolicyError::InventoryInUse { .. }), "{err}");
    assert!(err.to_string().contains("one at a time"), "{err}");
    drop(held);
    Inventory::lock(&path).expect("lock again once released");
}
