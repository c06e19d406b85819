//! A root key's backup in its key generation ceremony, end to end on real
//! SoftHSM2 tokens: the key generated extractable only under a trusted key,
//! the Security Officer's wrap key, the wrapped key on the backup media and
//! in the records, the wrap key's shares handed to the backup custodians;
//! and the refusals before anything is written.

mod common;

use std::path::{Path, PathBuf};

use common::{Lab, edited, log_entries, shipped, text};

const LABEL: &str = "example-tls-ecc-root-2026";
const TOKEN: &str = "Example TLS ECC Root 2026";

/// root-p384's script edited to generate its key for backup and back it up
/// after the logout, its wrap key split 2 of 3 among three backup
/// custodians, with `more` edits.
fn backup_script(lab: &Lab, more: &[(&str, &str)]) -> PathBuf {
    let mut edits: Vec<(&str, &str)> = vec![
        (
            "[[participants]]\nid = \"lena\"",
            "[[participants]]\nid = \"ines\"\nname = \"Ines Moreau\"\nroles = [\"custodian\"]\n\n\
             [[participants]]\nid = \"jun\"\nname = \"Jun Tanaka\"\nroles = [\"custodian\"]\n\n\
             [[participants]]\nid = \"kofi\"\nname = \"Kofi Boateng\"\nroles = [\"custodian\"]\n\n\
             [[participants]]\nid = \"lena\"",
        ),
        (
            "[activation.user-pin]\ncustodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 2\n",
            "[activation.user-pin]\ncustodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 2\n\n\
             [activation.backup]\ncustodians = [\"ines\", \"jun\", \"kofi\"]\nthreshold = 2\n",
        ),
        (
            "algorithm = \"ec-p384\"\n",
            "algorithm = \"ec-p384\"\nbackup = true\n",
        ),
        (
            "[[acts]]\nid = \"5\"",
            "[[acts.steps]]\nid = \"4.4\"\ntitle = \"Back up the root key\"\nperformer = \"ada\"\n\
             witness = \"quinn\"\naction = { type = \"backup-key\", key = \"example-tls-ecc-root-2026\" }\n\
             instructions = \"\"\"\nTwo SO-PIN custodians log the Security Officer in, who imports the wrap key; two \
             user-PIN custodians log the user in; the key is wrapped for the backup media and the wrap \
             key's shares handed to the backup custodians.\"\"\"\n\n[[acts]]\nid = \"5\"",
        ),
    ];
    edits.extend_from_slice(more);
    edited(lab, "root-p384", &edits)
}

/// root-p384's answers with the backup step's, and the seal opening the bag
/// the backup sealed erin's share in.
fn backup_answers(lab: &Lab) -> PathBuf {
    let (_, answers) = shipped("root-p384");
    let body = std::fs::read_to_string(answers).unwrap();
    let check_in = "[check-in]\n";
    let body = body
        .replace(
            check_in,
            &format!(
                "{check_in}ines = \"passport, compared with the roster\"\n\
                 jun = \"passport, compared with the roster\"\n\
                 kofi = \"passport, compared with the roster\"\n"
            ),
        )
        .replace(
            "[steps.\"5.4\".bags.erin]\nopened = \"REHEARSAL-TEB-0312\"",
            "[steps.\"5.4\".bags.erin]\nopened = \"REHEARSAL-TEB-0332\"",
        );
    let step = r#"
[steps."4.4"]
witness = "confirm"
go = "ada"
so-custodians = ["farid", "grace"]
custodians = ["dave", "erin"]

[steps."4.4".bags.farid]
opened = "REHEARSAL-TEB-0401"
new = "REHEARSAL-TEB-0411"

[steps."4.4".bags.grace]
opened = "REHEARSAL-TEB-0501"
new = "REHEARSAL-TEB-0511"

[steps."4.4".bags.dave]
opened = "REHEARSAL-TEB-0222"
new = "REHEARSAL-TEB-0232"

[steps."4.4".bags.erin]
opened = "REHEARSAL-TEB-0312"
new = "REHEARSAL-TEB-0332"

[steps."4.4".bags.ines]
new = "REHEARSAL-TEB-0701"

[steps."4.4".bags.jun]
new = "REHEARSAL-TEB-0801"

[steps."4.4".bags.kofi]
new = "REHEARSAL-TEB-0901"
"#;
    let body = body.replace("\n[steps.\"5.1\"]", &format!("{step}\n[steps.\"5.1\"]"));
    let path = lab.path("backup.answers.toml");
    std::fs::write(&path, body).unwrap();
    path
}

/// A run refused before anything is written.
fn refused(lab: &Lab, script: &Path, answers: &Path, expected: &str) {
    let out = lab.path("refused");
    let run = lab.run(script, answers, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "not refused:\n{}", text(&run.stdout));
    assert!(
        stderr.contains(expected),
        "'{expected}' missing from:\n{stderr}"
    );
    assert!(!out.exists(), "{} was written", out.display());
    assert_eq!(lab.ceremony_tokens(), 0, "a token was initialised");
}

#[test]
fn a_root_key_is_backed_up_under_dual_control_in_its_key_generation() {
    let lab = Lab::new();
    let answers = backup_answers(&lab);

    // A policy that keeps the key on its token refuses the backup.
    let kept = backup_script(
        &lab,
        &[("policy = \"reference-cps\"", "policy = \"no-backup\"")],
    );
    let policy = std::fs::read_to_string(lab.path("policy/reference-cps.toml")).unwrap();
    let start = policy.find("\n[backup]\n").unwrap() + 1;
    let end = start + policy[start..].find("\n\n").unwrap();
    std::fs::write(
        lab.path("policy/no-backup.toml"),
        format!(
            "{}[backup]\nsection = \"CPS 6.2.4\"\nallowed = false{}",
            &policy[..start],
            &policy[end..]
        )
        .replace("name = \"reference-cps\"", "name = \"no-backup\""),
    )
    .unwrap();
    refused(
        &lab,
        &kept,
        &answers,
        "keys[0].backup: policy 'no-backup' does not allow a root key to be backed up",
    );

    let script = backup_script(&lab, &[]);
    let out = lab.path("backed-up");
    let run = lab.run(&script, &answers, &out);
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let entries = log_entries(&out);
    let of = |kind: &str| {
        entries
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} entry"))
    };
    let generated = of("key-generated");
    assert_eq!(generated["data"]["backup"], true);
    let attributes = &generated["data"]["private_attributes"];
    assert_eq!(attributes["extractable"], true);
    assert_eq!(attributes["never_extractable"], false);
    assert_eq!(attributes["sensitive"], true);
    assert_eq!(attributes["wrap_with_trusted"], true);
    assert_eq!(generated["data"]["problems"], serde_json::json!([]));

    let backed_up = of("key-backed-up");
    let data = &backed_up["data"];
    assert_eq!(
        data["mechanism"], "CKM_AES_KEY_WRAP_PAD",
        "SoftHSM2's RFC 5649 code"
    );
    assert_eq!(data["so_custodians"], serde_json::json!(["farid", "grace"]));
    assert_eq!(data["user_custodians"], serde_json::json!(["dave", "erin"]));
    assert_eq!(
        data["backup_custodians"],
        serde_json::json!(["ines", "jun", "kofi"])
    );
    assert_eq!(
        data["public_key_sha256"],
        generated["data"]["public_key_sha256"]
    );
    // The same bytes on the media and in the output folder, as the log says.
    let blob = std::fs::read(out.join(format!("backups/{LABEL}.wrapped"))).unwrap();
    let media = std::fs::read(data["media_path"].as_str().unwrap()).unwrap();
    assert_eq!(blob, media);
    use sha2::Digest as _;
    assert_eq!(
        data["blob_sha256"],
        hex::encode_upper(sha2::Sha256::digest(&blob))
    );
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "recorded" && e["data"]["wrap_key_destroyed"] == true)
    );
    // Each backup custodian received a share of the wrap key, in a bag.
    for who in ["ines", "jun", "kofi"] {
        assert!(entries.iter().any(|e| e["kind"] == "share-issued"
            && e["data"]["custodian"] == who
            && e["data"]["secret"] == "wrap-key"));
        let file =
            std::fs::read_to_string(out.join(format!("rehearsal-shares/{who}.share"))).unwrap();
        assert!(file.contains("wrap-key = \"KC1-W-"), "{who}: {file}");
    }
    // Nothing but the key pair and nothing of the wrap key is on the token.
    let pin = common::user_pin(&out, LABEL);
    let labels = lab.labels(TOKEN, &pin);
    assert!(!labels.iter().any(|l| l.contains("wrap")), "{labels:?}");
    let records = std::fs::read_to_string(lab.path("inventory.issued.jsonl")).unwrap();
    let line = records
        .lines()
        .find(|l| l.contains("\"kind\":\"key-backup\""))
        .expect("the records hold the backup");
    assert!(
        line.contains(data["blob_sha256"].as_str().unwrap()),
        "{line}"
    );
    assert!(
        line.contains(data["wrap_key_check"].as_str().unwrap()),
        "{line}"
    );

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for shown in [
        &format!("Key {LABEL} backed up"),
        "never-extractable false",
        data["blob_sha256"].as_str().unwrap(),
    ] {
        assert!(report.contains(shown), "'{shown}' missing from the report");
    }
    assert!(
        !report.contains("unsafe attributes"),
        "a key made for backup is judged by the backup rules"
    );
}
