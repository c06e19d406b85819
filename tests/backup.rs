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
    let mut edits: Vec<(&str, &str)> = participants_and_backup().to_vec();
    edits.extend_from_slice(&[
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
    ]);
    edits.extend_from_slice(more);
    edited(lab, "root-p384", &edits)
}

/// Three backup custodians, and the backup's quorum: 2 of them.
fn participants_and_backup() -> [(&'static str, &'static str); 2] {
    [
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
    ]
}

/// root-p384's answers with the backup step's, and the seal opening the bag
/// the backup sealed erin's share in.
fn backup_answers(lab: &Lab) -> PathBuf {
    let (_, answers) = shipped("root-p384");
    let body = checked_in(&std::fs::read_to_string(answers).unwrap()).replace(
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

/// Answers with the backup custodians checked in too.
fn checked_in(body: &str) -> String {
    let check_in = "[check-in]\n";
    body.replace(
        check_in,
        &format!(
            "{check_in}ines = \"passport, compared with the roster\"\n\
             jun = \"passport, compared with the roster\"\n\
             kofi = \"passport, compared with the roster\"\n"
        ),
    )
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

const RESTORED: &str = "ECC Root 2026 restored";

/// A key generation ceremony that restores instead of generating: root-p384
/// turned into one that initialises `token`, gets its own PIN shares, and
/// restores the backup that `from` (a backup-key run's folder) wrote, with
/// `more` edits.
fn restore_script(lab: &Lab, token: &str, from: &str, more: &[(&str, &str)]) -> PathBuf {
    let (script, _) = shipped("root-p384");
    let body = std::fs::read_to_string(script).unwrap();
    let keys = body.find("[[keys]]").unwrap();
    let acts = body.find("[[acts]]").unwrap();
    let login = body.find("[[acts.steps]]\nid = \"2.2\"").unwrap();
    let epilogue = body.find("[[acts]]\nid = \"5\"").unwrap();
    let restore = format!(
        "[restore]\nkey = \"{LABEL}\"\ncertificate = \"{from}/certs/{LABEL}.pem\"\n\
         backup = \"{from}/backups/{LABEL}.wrapped\"\nshares_from = \"example-tls-ecc-root-2026\"\n\n"
    );
    let step = format!(
        "[[acts]]\nid = \"3\"\ntitle = \"Restore of the root key\"\n\n[[acts.steps]]\nid = \"3.1\"\n\
         title = \"Restore the root key's backup\"\nperformer = \"ada\"\nwitness = \"quinn\"\n\
         action = {{ type = \"restore-key\", key = \"{LABEL}\" }}\ninstructions = \"\"\"\n\
         Two backup custodians bring the wrap key's shares; two SO-PIN custodians log the Security \
         Officer in; two user-PIN custodians log the user in; the backup is unwrapped and proved.\"\"\"\n\n"
    );
    let body = format!(
        "{}{restore}{}{step}{}",
        &body[..keys],
        &body[acts..login],
        &body[epilogue..]
    )
    .replace(
        "id = \"example-tls-ecc-root-2026\"\nname = \"Example TLS ECC Root CA 2026 key generation ceremony\"",
        "id = \"example-tls-ecc-root-2026-restore\"\nname = \"Example TLS ECC Root CA 2026 backup restore ceremony\"",
    )
    .replace(
        "token_label = \"Example TLS ECC Root 2026\"",
        &format!("token_label = \"{token}\""),
    )
    .replace(
        "signing_key = \"example-tls-ecc-root-2026-log\"",
        "signing_key = \"example-tls-ecc-root-2026-restore-log\"",
    );
    let path = lab.path("restore-source.toml");
    std::fs::write(&path, body).unwrap();
    // The backup custodians, as the backup ceremony has them; `edited`
    // reads the shipped script, so the edits go on this one by hand.
    let mut body = std::fs::read_to_string(&path).unwrap();
    let mut edits: Vec<(&str, &str)> = participants_and_backup().to_vec();
    edits.extend_from_slice(more);
    for (from, to) in edits {
        assert!(body.contains(from), "{from}");
        body = body.replacen(from, to, 1);
    }
    let path = lab.path("restore.toml");
    std::fs::write(&path, body).unwrap();
    path
}

/// root-p384's answers for [`restore_script`]: its init-token as shipped,
/// then the restore (`backup` the backup custodians who come forward), and
/// the seal opening the bags the restore and the init-token sealed.
fn restore_answers(lab: &Lab, backup: &[&str], name: &str) -> PathBuf {
    let (_, answers) = shipped("root-p384");
    let body = checked_in(&std::fs::read_to_string(answers).unwrap());
    let login = body.find("[steps.\"2.2\"]").unwrap();
    let epilogue = body.find("[steps.\"5.1\"]").unwrap();
    let listed: Vec<String> = backup.iter().map(|b| format!("\"{b}\"")).collect();
    let mut step = format!(
        "[steps.\"3.1\"]\nwitness = \"confirm\"\ngo = \"ada\"\nbackup-custodians = [{}]\n\
         so-custodians = [\"farid\", \"grace\"]\ncustodians = [\"carol\", \"dave\"]\n\n",
        listed.join(", ")
    );
    for (who, opened, new) in [
        ("farid", "0401", "0411"),
        ("grace", "0501", "0511"),
        ("carol", "0102", "0112"),
        ("dave", "0202", "0212"),
        ("ines", "0701", "0702"),
        ("jun", "0801", "0802"),
    ] {
        step.push_str(&format!(
            "[steps.\"3.1\".bags.{who}]\nopened = \"REHEARSAL-TEB-{opened}\"\nnew = \"REHEARSAL-TEB-{new}\"\n\n"
        ));
    }
    let body = format!("{}{step}{}", &body[..login], &body[epilogue..])
        .replace(
            "ceremony = \"example-tls-ecc-root-2026\"",
            "ceremony = \"example-tls-ecc-root-2026-restore\"",
        )
        .replace(
            "[steps.\"5.4\".bags.erin]\nopened = \"REHEARSAL-TEB-0312\"",
            "[steps.\"5.4\".bags.erin]\nopened = \"REHEARSAL-TEB-0302\"",
        );
    let path = lab.path(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// `keyceremony run` of a restore: inputs from the lab's folder, the
/// backup custodians' shares from the backup ceremony's share files.
fn run_restore(lab: &Lab, script: &Path, answers: &Path, out: &str) -> std::process::Output {
    run_restore_with(
        lab,
        script,
        answers,
        out,
        &lab.path("backed-up/rehearsal-shares"),
    )
}

/// [`run_restore`] with the backup custodians' share files in `shares`.
fn run_restore_with(
    lab: &Lab,
    script: &Path,
    answers: &Path,
    out: &str,
    shares: &Path,
) -> std::process::Output {
    lab.cmd()
        .args(lab.run_args(script, answers, &lab.path(out)))
        .arg("--inputs")
        .arg(lab.dir())
        .arg("--backup-shares")
        .arg(shares)
        .output()
        .unwrap()
}

/// A lab in which the key generation ceremony backed its root up into
/// `backed-up/`.
fn backed_up_lab() -> Lab {
    backed_up(Lab::new())
}

/// `lab` once the key generation ceremony backed its root up into
/// `backed-up/`.
fn backed_up(lab: Lab) -> Lab {
    let answers = backup_answers(&lab);
    let script = backup_script(&lab, &[]);
    let run = lab.run(&script, &answers, &lab.path("backed-up"));
    assert!(run.status.success(), "{}", text(&run.stderr));
    lab
}

#[test]
fn a_backup_is_restored_onto_a_second_token_and_proved() {
    let lab = backed_up_lab();
    // k - 1 backup custodians: refused before anything is written.
    let script = restore_script(&lab, RESTORED, "backed-up", &[]);
    let fewer = restore_answers(&lab, &["ines"], "fewer.answers.toml");
    let run = run_restore(&lab, &script, &fewer, "fewer");
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("list of the 2 backup custodians who rebuild the wrap key"),
        "{}",
        text(&run.stderr)
    );
    assert!(!lab.path("fewer").exists());

    let answers = restore_answers(&lab, &["ines", "jun"], "restore.answers.toml");
    let run = run_restore(&lab, &script, &answers, "restored");
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let out = lab.path("restored");
    let entries = log_entries(&out);
    let restored = entries
        .iter()
        .find(|e| e["kind"] == "key-restored")
        .expect("the restore is recorded");
    let data = &restored["data"];
    let generated = log_entries(&lab.path("backed-up"))
        .into_iter()
        .find(|e| e["kind"] == "key-generated")
        .unwrap();
    assert_eq!(
        data["public_key_sha256"],
        generated["data"]["public_key_sha256"]
    );
    assert_eq!(data["problems"], serde_json::json!([]));
    // A restored copy is always told from the original.
    assert_eq!(data["private_attributes"]["local"], false);
    assert_eq!(data["private_attributes"]["never_extractable"], false);
    assert!(!data["signature"].as_str().unwrap().is_empty());
    assert!(entries.iter().any(|e| e["kind"] == "recorded"
        && e["data"]["backup_custodians"] == serde_json::json!(["ines", "jun"])));
    // On the second token: the key pair and nothing of the wrap key.
    let pin = common::user_pin(&out, "example-tls-ecc-root-2026-restore");
    let labels = lab.labels(RESTORED, &pin);
    assert!(labels.iter().any(|l| l == LABEL), "{labels:?}");
    assert!(!labels.iter().any(|l| l.contains("wrap")), "{labels:?}");
    let records = std::fs::read_to_string(lab.path("inventory.issued.jsonl")).unwrap();
    assert!(records.contains("\"kind\":\"key-restore\""), "{records}");

    // The restored copy is destroyed in a destroy-key ceremony on its token,
    // activated with the restore's shares: a copy, since the backup remains.
    let id = "example-tls-ecc-root-2026-copy-destruction";
    let script = edited(
        &lab,
        "destroy-p384",
        &[
            (
                "id = \"example-tls-ecc-root-2026-destruction\"",
                &format!("id = \"{id}\""),
            ),
            (
                "token_label = \"Example TLS ECC Root 2026\"",
                &format!("token_label = \"{RESTORED}\""),
            ),
            (
                "shares-from = \"example-tls-ecc-root-2026\"",
                "shares-from = \"example-tls-ecc-root-2026-restore\"",
            ),
            (
                "certificate = \"root-p384/certs/",
                "certificate = \"backed-up/certs/",
            ),
        ],
    );
    let (_, answers) = shipped("destroy-p384");
    let answers_path = lab.path("copy-destruction.answers.toml");
    std::fs::write(
        &answers_path,
        std::fs::read_to_string(answers).unwrap().replace(
            "ceremony = \"example-tls-ecc-root-2026-destruction\"",
            &format!("ceremony = \"{id}\""),
        ),
    )
    .unwrap();
    let run = lab
        .cmd()
        .args(lab.run_args(&script, &answers_path, &lab.path("copy-destroyed")))
        .arg("--inputs")
        .arg(lab.dir())
        .arg("--rehearsal-shares")
        .arg(out.join("rehearsal-shares"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let destroyed = log_entries(&lab.path("copy-destroyed"))
        .into_iter()
        .find(|e| e["kind"] == "key-destroyed")
        .expect("the copy's destruction is recorded");
    assert_eq!(destroyed["data"]["scope"], "copy");
    assert!(!lab.labels(RESTORED, &pin).iter().any(|l| l == LABEL));
    // The original is still on the first token.
    let original = common::user_pin(&lab.path("backed-up"), LABEL);
    assert!(lab.labels(TOKEN, &original).iter().any(|l| l == LABEL));
}

/// The backup custodians' share files of the backup ceremony, with ines's
/// wrap-key share replaced by one of another ceremony's split.
fn with_a_foreign_share(lab: &Lab) -> PathBuf {
    use secrecy::ExposeSecret as _;
    let dir = lab.path("foreign-shares");
    std::fs::create_dir_all(&dir).unwrap();
    for who in ["ines", "jun", "kofi"] {
        std::fs::copy(
            lab.path(&format!("backed-up/rehearsal-shares/{who}.share")),
            dir.join(format!("{who}.share")),
        )
        .unwrap();
    }
    let key = keyceremony_shares::Zeroizing::new([0x5A; 32]);
    let split =
        keyceremony_shares::split_wrap_key("another-root-2026", &key, 2, 3, [7; 32]).unwrap();
    let share = split.shares[0].to_text();
    std::fs::write(
        dir.join("ines.share"),
        format!("wrap-key = \"{}\"\n", share.expose_secret()),
    )
    .unwrap();
    dir
}

#[test]
fn a_restore_refuses_a_foreign_share_and_a_copy_that_is_not_the_certified_key() {
    let lab = backed_up_lab();

    // A share of another ceremony's wrap key is refused, before any token
    // sees the key; nothing is restored.
    let token = "ECC Root 2026 foreign";
    let script = restore_script(&lab, token, "backed-up", &[]);
    let answers = restore_answers(&lab, &["ines", "jun"], "foreign.answers.toml");
    let foreign = with_a_foreign_share(&lab);
    let run = run_restore_with(&lab, &script, &answers, "foreign", &foreign);
    assert!(!run.status.success(), "{}", text(&run.stdout));
    let entries = log_entries(&lab.path("foreign"));
    let rejected = entries
        .iter()
        .find(|e| e["kind"] == "share-rejected")
        .expect("the foreign share is refused");
    assert_eq!(rejected["data"]["custodian"], "ines");
    assert!(!entries.iter().any(|e| e["kind"] == "key-restored"));
    let pin = common::user_pin(&lab.path("foreign"), "example-tls-ecc-root-2026-restore");
    assert!(!lab.labels(token, &pin).iter().any(|l| l == LABEL));

    // Another ECC root in the same lab, and records that say the backup is
    // of its key: the backup unwraps, but the copy does not prove itself
    // that key's, and is destroyed again.
    let (root, answers) = shipped("root-p384");
    let rename = |text: String| {
        text.replace("example-tls-ecc-root-2026", "example-tls-ecc-root-2026-b")
            .replace(
                "Example TLS ECC Root CA 2026",
                "Example TLS ECC Root CA 2026 B",
            )
            .replace("Example TLS ECC Root 2026", "Example TLS ECC Root 2026 B")
    };
    let other = lab.path("other-root.toml");
    std::fs::write(&other, rename(std::fs::read_to_string(root).unwrap())).unwrap();
    let other_answers = lab.path("other-root.answers.toml");
    std::fs::write(
        &other_answers,
        rename(std::fs::read_to_string(answers).unwrap()),
    )
    .unwrap();
    let run = lab.run(&other, &other_answers, &lab.path("other"));
    assert!(run.status.success(), "{}", text(&run.stderr));
    let other_key = log_entries(&lab.path("other"))
        .into_iter()
        .find(|e| e["kind"] == "key-generated")
        .unwrap()["data"]["public_key_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let records_path = lab.path("inventory.issued.jsonl");
    let records = std::fs::read_to_string(&records_path).unwrap();
    let backup: serde_json::Value = serde_json::from_str(
        records
            .lines()
            .find(|l| l.contains("\"kind\":\"key-backup\""))
            .unwrap(),
    )
    .unwrap();
    let mut forged = backup.clone();
    forged["public_key_sha256"] = other_key.into();
    forged["key_label"] = "example-tls-ecc-root-2026-b".into();
    std::fs::write(&records_path, format!("{records}{forged}\n")).unwrap();
    let token = "ECC Root 2026 other";
    let script = restore_script(
        &lab,
        token,
        "backed-up",
        &[
            (
                "key = \"example-tls-ecc-root-2026\"\ncertificate = \"backed-up/certs/example-tls-ecc-root-2026.pem\"",
                "key = \"example-tls-ecc-root-2026-b\"\ncertificate = \"other/certs/example-tls-ecc-root-2026-b.pem\"",
            ),
            (
                "key = \"example-tls-ecc-root-2026\" }",
                "key = \"example-tls-ecc-root-2026-b\" }",
            ),
        ],
    );
    let answers = restore_answers(&lab, &["ines", "jun"], "other.answers.toml");
    let run = run_restore(&lab, &script, &answers, "differs");
    assert!(!run.status.success(), "{}", text(&run.stdout));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("does not verify with the original public key"),
        "{stderr}"
    );
    let pin = common::user_pin(&lab.path("differs"), "example-tls-ecc-root-2026-restore");
    let labels = lab.labels(token, &pin);
    assert!(
        !labels
            .iter()
            .any(|l| l == LABEL || l == "example-tls-ecc-root-2026-b"),
        "{labels:?}"
    );
}

/// kryoptic implements RFC 5649 as CKM_AES_KEY_WRAP_KWP only, and refuses
/// CKA_TRUSTED in C_CreateObject even to the SO: the backup wraps under the
/// other code, the SO's wrap key goes in through a transport key, and the
/// restore on a second kryoptic token proves the copy all the same.
#[test]
fn a_root_key_is_backed_up_and_restored_on_kryoptic() {
    let lab = backed_up(Lab::kryoptic(3));
    let backed_up = log_entries(&lab.path("backed-up"))
        .into_iter()
        .find(|e| e["kind"] == "key-backed-up")
        .unwrap();
    assert_eq!(backed_up["data"]["mechanism"], "CKM_AES_KEY_WRAP_KWP");
    assert_eq!(
        backed_up["data"]["wrap_key_route"],
        "C_UnwrapKey with CKA_TRUSTED under a transport key, destroyed"
    );
    let script = restore_script(&lab, RESTORED, "backed-up", &[]);
    let answers = restore_answers(&lab, &["jun", "kofi"], "restore.answers.toml");
    let answers_text = std::fs::read_to_string(&answers).unwrap().replace(
        "[steps.\"3.1\".bags.ines]\nopened = \"REHEARSAL-TEB-0701\"\nnew = \"REHEARSAL-TEB-0702\"",
        "[steps.\"3.1\".bags.kofi]\nopened = \"REHEARSAL-TEB-0901\"\nnew = \"REHEARSAL-TEB-0902\"",
    );
    std::fs::write(&answers, answers_text).unwrap();
    let run = run_restore(&lab, &script, &answers, "restored");
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let restored = log_entries(&lab.path("restored"))
        .into_iter()
        .find(|e| e["kind"] == "key-restored")
        .unwrap();
    assert_eq!(
        restored["data"]["public_key_sha256"],
        backed_up["data"]["public_key_sha256"]
    );
    assert_eq!(restored["data"]["problems"], serde_json::json!([]));
}
