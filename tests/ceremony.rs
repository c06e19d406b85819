//! End-to-end tests: the real `keyceremony` binary against a real SoftHSM2.
//!
//! Every binary run gets a lab of its own (a softhsm2.conf and a token
//! folder under the test's temporary folder, named through SOFTHSM2_CONF for
//! that child process only), so tests never share tokens and never touch
//! the user's own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    BIN, Lab, assert_private_key_attributes, edited, kill_when_halted, list_objects, log_entries,
    module, production, resumed_check_ins, room_reads_the_bags, shipped, text, user_pin,
};
use sha2::{Digest, Sha256};

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn check_root(out: &Path, label: &str, algorithm: &str, key: &str) {
    let pem = out.join(format!("certs/{label}.pem"));
    let pem = pem.to_str().unwrap();
    let der = std::fs::read(out.join(format!("certs/{label}.der"))).unwrap();
    assert!(openssl(&["verify", "-CAfile", pem, pem]).contains(": OK"));
    let dump = openssl(&["x509", "-in", pem, "-noout", "-text"]);
    for expected in [
        "Version: 3 (0x2)",
        algorithm,
        key,
        "X509v3 Basic Constraints: critical",
        "CA:TRUE",
        "X509v3 Key Usage: critical",
        "Certificate Sign, CRL Sign",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "Not After",
    ] {
        assert!(dump.contains(expected), "{expected} missing from:\n{dump}");
    }
    assert!(!dump.contains("Extended Key Usage"));
    assert!(!dump.contains("Certificate Policies"));
    assert!(!dump.contains("pathlen"));

    let fingerprints = std::fs::read_to_string(out.join("fingerprints.txt")).unwrap();
    let sha256 = hex::encode_upper(Sha256::digest(&der));
    assert!(fingerprints.contains(&format!("{label} SHA256 {sha256}\n")));
    assert!(fingerprints.contains(&format!("{label} SHA1 ")));

    // pkilint, an independent linter of the CA/B Forum profiles, must find
    // nothing at WARNING or above (its exit status counts the findings).
    let pkilint = [
        "/opt/keyceremony-pkilint/bin/lint_cabf_serverauth_cert",
        "lint_cabf_serverauth_cert",
    ]
    .into_iter()
    .find(|p| Command::new(p).arg("--help").output().is_ok())
    .expect("pkilint is not installed: run scripts/setup.sh");
    let lint = Command::new(pkilint)
        .args(["lint", "-t", "ROOT-CA", "-s", "WARNING", pem])
        .output()
        .unwrap();
    assert!(
        lint.status.success() && text(&lint.stdout).trim().is_empty(),
        "pkilint on {label}: {}{}",
        text(&lint.stdout),
        text(&lint.stderr)
    );

    let spki = openssl(&["x509", "-in", pem, "-noout", "-pubkey"]);
    let exported = std::fs::read_to_string(out.join(format!("keys/{label}.pub.pem"))).unwrap();
    assert_eq!(spki.trim(), exported.trim());
}

#[test]
fn rehearsal_runs_every_shipped_ceremony() {
    let lab = Lab::new();
    let out = lab.path("rehearsal");
    let run = lab
        .cmd()
        .args(["rehearse", "--headless", "--module"])
        .arg(module())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", text(&run.stderr));
    assert!(stdout.contains("REHEARSAL"));

    let rsa = out.join("root-rsa4096");
    let ecc = out.join("root-p384");
    check_root(
        &rsa,
        "example-tls-rsa-root-2026",
        "sha384WithRSAEncryption",
        "Public-Key: (4096 bit)",
    );
    check_root(
        &ecc,
        "example-tls-ecc-root-2026",
        "ecdsa-with-SHA384",
        "NIST CURVE: P-384",
    );

    for dir in [&rsa, &ecc] {
        let entries = log_entries(dir);
        assert_eq!(entries[0]["kind"], "ceremony-start");
        assert_eq!(entries[0]["data"]["rehearsal"], true);
        assert_eq!(entries[entries.len() - 2]["kind"], "ceremony-end");
        let kinds: Vec<&str> = entries
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for kind in [
            "check-in",
            "token-initialized",
            "login-succeeded",
            "key-generated",
            "signed",
            "certificate-verified",
            "file-written",
            "logout",
            "witness-confirmed",
        ] {
            assert!(kinds.contains(&kind), "no {kind} in the log");
        }
        assert!(kinds.contains(&"share-issued") && kinds.contains(&"share-entered"));
        assert_eq!(entries.last().unwrap()["kind"], "seal");
        let environment = &entries[1];
        assert_eq!(environment["kind"], "environment");
        for field in [
            "tool_version",
            "git_commit",
            "binary_sha256",
            "module_path",
            "module_sha256",
            "hostname",
            "os",
            "kernel",
            "system_time",
            "network_interfaces_up",
            "tokens",
            "script_sha256",
        ] {
            assert!(
                !environment["data"][field].is_null(),
                "environment lacks {field}"
            );
        }
        assert_eq!(
            environment["data"]["script_sha256"],
            entries[0]["data"]["script_sha256"]
        );
        verify_log_exit_codes(dir, &out.join("lab/witness.pub.pem"));
        no_secret_outside_the_share_files(dir, &stdout);
    }

    // CPS 5.4.4: the log and its backup copies are for their owner's eyes.
    let backups = std::fs::read_dir(out.join("backup")).unwrap();
    // The media holds a copy of each ceremony's log, and the backup's
    // wrapped key in a folder of its own.
    let copies: Vec<PathBuf> = backups
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().ends_with("-key-backup"))
        .map(|e| e.path().join("ceremony.log"))
        .collect();
    assert_eq!(copies.len(), 8, "{copies:?}");
    for log in copies
        .iter()
        .chain([rsa.join("ceremony.log"), ecc.join("ceremony.log")].iter())
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(log).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", log.display());
    }

    check_the_ecc_roots_later_life(&out);
    check_the_backups_round_trip(&out);

    // The lab the rehearsal made is inside OUT; list its tokens with OpenSC.
    let lab_conf = out.join("lab/softhsm2.conf");
    for (token, ceremony, dir) in [
        (
            "Example TLS RSA Root 2026",
            "example-tls-rsa-root-2026",
            &rsa,
        ),
        (
            "Example TLS ECC Root 2026",
            "example-tls-ecc-root-2026",
            &ecc,
        ),
    ] {
        let objects = list_objects(&lab_conf, token, &user_pin(dir, ceremony));
        let listing = text(&objects.stdout);
        assert!(
            objects.status.success(),
            "{listing}{}",
            text(&objects.stderr)
        );
        assert_private_key_attributes(&listing, token);
        // The log-signing key was destroyed once it signed the seal: only
        // the root key's two halves are left.
        assert!(
            listing.contains(&format!("label:      {ceremony}\n")),
            "{listing}"
        );
        assert!(!listing.contains(&format!("{ceremony}-log")), "{listing}");
        assert_eq!(listing.matches("Object;").count(), 2, "{listing}");
    }
}

/// The rehearsal's later ceremonies on the ECC root: a subordinate CA
/// certificate that verifies against the root and is pkilint-clean, and two
/// CRLs that verify against it, the second with a higher number.
fn check_the_ecc_roots_later_life(out: &Path) {
    let root = out.join("root-p384/certs/example-tls-ecc-root-2026.pem");
    let root = root.to_str().unwrap();
    let sub = out.join("subordinate-p384/certs/example-tls-ecc-issuing-ca-1.pem");
    let sub = sub.to_str().unwrap();
    assert!(openssl(&["verify", "-x509_strict", "-CAfile", root, sub]).contains(": OK"));
    let lint = Command::new("/opt/keyceremony-pkilint/bin/lint_cabf_serverauth_cert")
        .args([
            "lint",
            "-t",
            "INTERNAL-UNCONSTRAINED-TLS-CA",
            "-s",
            "WARNING",
            sub,
        ])
        .output()
        .expect("pkilint is not installed: run scripts/setup.sh");
    assert!(
        lint.status.success() && text(&lint.stdout).trim().is_empty(),
        "pkilint on the subordinate: {}{}",
        text(&lint.stdout),
        text(&lint.stderr)
    );
    let mut numbers = Vec::new();
    for (ceremony, id) in [
        ("crl-p384", "example-tls-ecc-root-2026-crl-1"),
        ("crl-p384-next", "example-tls-ecc-root-2026-crl-2"),
    ] {
        let crl = out.join(format!("{ceremony}/crls/{id}.crl"));
        let crl = crl.to_str().unwrap();
        // openssl prints "verify OK" on stderr.
        let verified = Command::new("openssl")
            .args([
                "crl", "-in", crl, "-inform", "DER", "-CAfile", root, "-verify", "-noout",
            ])
            .output()
            .unwrap();
        assert!(
            verified.status.success() && text(&verified.stderr).contains("verify OK"),
            "{ceremony}: {}",
            text(&verified.stderr)
        );
        numbers.push(openssl(&[
            "crl",
            "-in",
            crl,
            "-inform",
            "DER",
            "-noout",
            "-crlnumber",
        ]));
    }
    assert_eq!(numbers, ["crlNumber=0x01\n", "crlNumber=0x02\n"]);
}

/// The rehearsal's backup round trip, each in a sealed log that verifies: a
/// root backed up in its key generation, the wrapped key on the backup
/// media as the log says; its backup restored onto a second token, the copy
/// proved the original's; and the copy destroyed there, the original left.
fn check_the_backups_round_trip(out: &Path) {
    let witness = out.join("lab/witness.pub.pem");
    let sealed = |ceremony: &str, kind: &str| {
        let dir = out.join(ceremony);
        verify_log_exit_codes(&dir, &witness);
        let entries = log_entries(&dir);
        assert_eq!(entries.last().unwrap()["kind"], "seal", "{ceremony}");
        entries
            .into_iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {ceremony}'s log"))
    };
    let label = "example-tls-ecc-backup-root-2026";
    let backed_up = sealed("root-p384-backup", "key-backed-up");
    let blob =
        std::fs::read(out.join(format!("root-p384-backup/backups/{label}.wrapped"))).unwrap();
    assert_eq!(
        backed_up["data"]["blob_sha256"],
        hex::encode_upper(Sha256::digest(&blob))
    );
    let media = std::fs::read(backed_up["data"]["media_path"].as_str().unwrap()).unwrap();
    assert_eq!(blob, media);

    let restored = sealed("restore-p384-backup", "key-restored");
    assert_eq!(
        restored["data"]["public_key_sha256"],
        backed_up["data"]["public_key_sha256"]
    );
    assert_eq!(restored["data"]["problems"], serde_json::json!([]));
    assert!(!restored["data"]["signature"].as_str().unwrap().is_empty());

    let destroyed = sealed("destroy-p384-backup-copy", "key-destroyed");
    assert_eq!(destroyed["data"]["scope"], "copy");
    let lab_conf = out.join("lab/softhsm2.conf");
    let on = |token: &str, ceremony: &str, pins: &str| {
        let objects = list_objects(&lab_conf, token, &user_pin(&out.join(ceremony), pins));
        assert!(objects.status.success(), "{}", text(&objects.stderr));
        text(&objects.stdout).contains(&format!("label:      {label}\n"))
    };
    assert!(!on(
        "ECC Backup Root 2026 restored",
        "restore-p384-backup",
        "example-tls-ecc-backup-root-2026-restore"
    ));
    assert!(on(
        "Example TLS ECC Backup Root 2026",
        "root-p384-backup",
        label
    ));
}

/// Runs a ceremony expected to be refused and checks that nothing was made.
fn refused(lab: &Lab, script: &Path, answers: &Path, expected: &[&str]) {
    let out = lab.path("refused-out");
    let run = lab.run(script, answers, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "accepted:\n{}", text(&run.stdout));
    for e in expected {
        assert!(
            stderr.contains(e),
            "'{e}' missing from the error:\n{stderr}"
        );
    }
    assert!(!out.exists(), "output written for a refused ceremony");
    assert_eq!(
        lab.ceremony_tokens(),
        0,
        "a token was created for a refused ceremony"
    );
}

#[test]
fn an_unknown_key_in_the_script_is_refused_with_its_place() {
    let lab = Lab::new();
    let script = edited(
        &lab,
        "root-p384",
        &[(
            "mode = \"rehearsal\"\n",
            "mode = \"rehearsal\"\nwitnesses = 2\n",
        )],
    );
    let (_, answers) = shipped("root-p384");
    refused(
        &lab,
        &script,
        &answers,
        &["unknown field `witnesses`", "root-p384-edited.toml:11:"],
    );
    let check = lab
        .cmd()
        .args(["script", "check"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(!check.status.success());
}

#[test]
fn validity_outside_8_to_25_years_is_refused() {
    for days in ["2921", "9133"] {
        let lab = Lab::new();
        let script = edited(
            &lab,
            "root-p384",
            &[("validity_days = 9131", &format!("validity_days = {days}"))],
        );
        let (_, answers) = shipped("root-p384");
        refused(
            &lab,
            &script,
            &answers,
            &[
                &format!("validity of {days} days"),
                "CPS 6.3.2",
                "certificates[0].validity_days",
            ],
        );
    }
}

#[test]
fn rsa_2048_is_refused() {
    let lab = Lab::new();
    let script = edited(
        &lab,
        "root-rsa4096",
        &[("algorithm = \"rsa-4096\"", "algorithm = \"rsa-2048\"")],
    );
    let (_, answers) = shipped("root-rsa4096");
    refused(
        &lab,
        &script,
        &answers,
        &["rsa-2048 is not a root key type", "CPS 6.1.5"],
    );
}

#[test]
fn a_missing_module_is_refused() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let out = lab.path("out");
    let run = lab
        .cmd()
        .arg("run")
        .arg(&script)
        .args(["--module", "/nonexistent/libpkcs11.so", "--answers"])
        .arg(&answers)
        .arg("--backup")
        .arg(lab.path("backup"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("/nonexistent/libpkcs11.so"),
        "{}",
        text(&run.stderr)
    );
    assert!(!out.exists());
}

#[test]
fn a_non_empty_output_folder_is_refused() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let out = lab.path("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("earlier.txt"), b"earlier ceremony").unwrap();
    let run = lab.run(&script, &answers, &out);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("is not empty"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    assert_eq!(lab.ceremony_tokens(), 0);
}

#[test]
fn an_answers_file_that_lacks_an_input_is_refused() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let body = std::fs::read_to_string(answers).unwrap();
    let lacking = lab.path("lacking.answers.toml");
    std::fs::write(
        &lacking,
        body.replace("hsm-bag-serial = \"REHEARSAL-TEB-0001\", ", ""),
    )
    .unwrap();
    refused(&lab, &script, &lacking, &["hsm-bag-serial", "step 1.5"]);
}

/// Turns a shipped script into one that works on the token an earlier run
/// initialised.
fn on_existing_token(lab: &Lab, name: &str, token_label: Option<(&str, &str)>) -> PathBuf {
    let mut edits = vec![
        ("initialize = true", "initialize = false"),
        ("action = { type = \"init-token\" }\n", ""),
        (
            "[activation.so-pin]",
            "[activation]\nshares-from = \"example-tls-ecc-root-2026\"\n\n[activation.so-pin]",
        ),
    ];
    if let Some(relabel) = token_label {
        edits.push(relabel);
    }
    edited(lab, name, &edits)
}

#[test]
fn a_wrong_token_label_is_refused() {
    let lab = Lab::new();
    let script = on_existing_token(
        &lab,
        "root-p384",
        Some((
            "token_label = \"Example TLS ECC Root 2026\"",
            "token_label = \"No Such Token\"",
        )),
    );
    let (_, answers) = shipped("root-p384");
    refused(&lab, &script, &answers, &["No Such Token"]);
}

#[test]
fn a_missing_witness_token_is_refused_before_the_ceremony() {
    let lab = Lab::new();
    let script = edited(
        &lab,
        "root-p384",
        &[(
            "witness_token = \"Quinn Adeyemi (auditor)\"",
            "witness_token = \"Quinn's Other Token\"",
        )],
    );
    let (_, answers) = shipped("root-p384");
    refused(
        &lab,
        &script,
        &answers,
        &[
            "the witness's lab token 'Quinn's Other Token' is not connected",
            "Quinn Adeyemi (auditor)",
            "CPS 6.1.1",
        ],
    );
    let script = edited(
        &lab,
        "root-p384",
        &[(
            "witness_key = \"quinn-adeyemi-seal\"",
            "witness_key = \"quinn-old-seal\"",
        )],
    );
    refused(
        &lab,
        &script,
        &answers,
        &["shows no object labelled 'quinn-old-seal'"],
    );
}

#[test]
fn a_reused_subject_or_key_label_is_refused() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let first = lab.run(&script, &answers, &lab.path("first"));
    assert!(first.status.success(), "{}", text(&first.stderr));
    let (code, report) = verify_log(
        &lab.path("first/ceremony.log"),
        &["--witness-key", lab.witness_key().to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    let token = "Example TLS ECC Root 2026";
    let pin = user_pin(&lab.path("first"), "example-tls-ecc-root-2026");
    let before = lab.objects(token, &pin);

    // The inventory remembers the subject (CPS 6.3.2).
    let again = on_existing_token(&lab, "root-p384", None);
    let out = lab.path("second");
    let run = lab.run(&again, &answers, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("a subject name is never reused [CPS 6.3.2]"),
        "{stderr}"
    );
    assert!(!out.exists());

    // Without that inventory, the token itself still holds the label.
    let run = lab
        .cmd()
        .args(lab.run_args(&again, &answers, &out))
        .arg("--inventory")
        .arg(lab.path("another-inventory.jsonl"))
        .output()
        .unwrap();
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("labelled 'example-tls-ecc-root-2026'"),
        "{stderr}"
    );
    assert!(stderr.contains("CPS 6.3.2"), "{stderr}");
    assert!(!out.exists());
    assert_eq!(
        lab.objects(token, &pin),
        before,
        "the refused ceremony changed the token"
    );
}

/// Every share and PIN of a rehearsal appears in its share files and nowhere
/// else: not in the log, not in any other output, not on the screen.
fn no_secret_outside_the_share_files(dir: &Path, screen: &str) {
    let mut secrets = Vec::new();
    for entry in std::fs::read_dir(dir.join("rehearsal-shares")).unwrap() {
        let file = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let table: toml::Table = toml::from_str(&file).unwrap();
        for value in table.values() {
            let text = value.as_str().unwrap().to_string();
            let groups: Vec<String> = text
                .split('-')
                .skip(7)
                .take(8)
                .map(str::to_string)
                .collect();
            secrets.push(text.replace('-', ""));
            secrets.push(groups.concat());
            secrets.push(text);
        }
    }
    secrets.push(user_pin(
        dir,
        log_entries(dir)[0]["data"]["ceremony_id"].as_str().unwrap(),
    ));
    assert!(secrets.len() > 6);
    let mut haystacks = vec![("screen".to_string(), screen.to_string())];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("rehearsal-shares") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                haystacks.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    for (name, haystack) in &haystacks {
        for secret in &secrets {
            assert!(
                !haystack.contains(secret.as_str()),
                "a share or PIN appears in {name}"
            );
        }
    }
}

/// Runs `keyceremony ARGS` in a network namespace of its own (with its own
/// /sys, so the tool sees the namespace's interfaces), after `setup`, on the
/// tokens of the SoftHSM2 configuration `conf`; None when the test is not
/// root, which namespaces need.
fn in_netns(conf: &Path, setup: &str, args: &[std::ffi::OsString]) -> Option<Output> {
    if euid() != 0 {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return None;
    }
    let script = format!("mount -t sysfs sysfs /sys && {setup} && exec \"$0\" \"$@\"");
    Some(
        Command::new("unshare")
            .args(["--net", "--mount", "--", "sh", "-c", &script, BIN])
            .args(args)
            .env("SOFTHSM2_CONF", conf)
            .env_remove("KEYCEREMONY_MODULE")
            .output()
            .unwrap(),
    )
}

fn euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(|u| u.parse().unwrap()))
        .unwrap()
}

const TAP_UP: &str = "ip tuntap add kc0 mode tap && ip link set kc0 up";

#[test]
fn a_production_script_never_takes_shares_from_a_file() {
    let lab = Lab::new();
    let script = production(&lab, "root-p384", &[]);
    let (_, answers) = shipped("root-p384");
    let out = lab.path("out");
    let conf = lab.tokens_outside_any_lab();
    let Some(run) = in_netns(&conf, "true", &lab.run_args(&script, &answers, &out)) else {
        return;
    };
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("production ceremony") && stderr.contains("CPS 6.4.2"),
        "{stderr}"
    );
    assert!(!out.exists());
    assert_eq!(lab.ceremony_tokens(), 0);
    assert_eq!(std::fs::read_dir(lab.path("ca-tokens")).unwrap().count(), 0);
}

#[test]
fn a_network_interface_up_warns_a_rehearsal_and_stops_a_production_ceremony() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let out = lab.path("rehearsal");
    let Some(run) = in_netns(&lab.conf(), TAP_UP, &lab.run_args(&script, &answers, &out)) else {
        return;
    };
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("WARNING: network interfaces up on this terminal: kc0"));
    let entries = log_entries(&out);
    let environment = entries.iter().find(|e| e["kind"] == "environment").unwrap();
    assert_eq!(environment["data"]["network_interfaces_up"][0], "kc0");
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "environment" && e["data"]["warning"] == true)
    );

    let production = production(&lab, "root-p384", &[]);
    let out = lab.path("production");
    let run = in_netns(
        &lab.tokens_outside_any_lab(),
        TAP_UP,
        &lab.run_args(&production, &answers, &out),
    )
    .unwrap();
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("network interfaces are up on this terminal (kc0)")
            && stderr.contains("CPS 6.7"),
        "{stderr}"
    );
    assert!(!out.exists());
}

fn verify_log(log: &Path, extra: &[&str]) -> (i32, String) {
    let run = Command::new(BIN)
        .arg("verify-log")
        .arg(log)
        .args(extra)
        .output()
        .unwrap();
    (run.status.code().unwrap(), text(&run.stdout))
}

/// `verify-log`: 0 for the sealed log with the right witness key and head, 3
/// for one cut short, 4 for one changed.
fn verify_log_exit_codes(dir: &Path, witness_key: &Path) {
    let log = dir.join("ceremony.log");
    let key = witness_key.to_str().unwrap();
    let (code, report) = verify_log(&log, &["--witness-key", key]);
    assert_eq!(code, 0, "{report}");
    let head = report
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .unwrap()
        .to_string();
    let (code, report) = verify_log(&log, &["--witness-key", key, "--expect-head", &head]);
    assert_eq!(code, 0, "{report}");

    let body = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    let scratch = tempfile::tempdir().unwrap();
    let cut = scratch.path().join("cut.log");
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    assert_eq!(verify_log(&cut, &[]).0, 3);

    let changed = scratch.path().join("changed.log");
    std::fs::write(
        &changed,
        body.replacen("Carol Nakamura", "Carol Nakamure", 1),
    )
    .unwrap();
    let (code, report) = verify_log(&changed, &[]);
    assert_eq!(code, 4, "{report}");
    assert!(report.contains("entry "), "{report}");
}

/// Step ids of a shipped script, in order.
fn step_ids(name: &str) -> Vec<String> {
    let (script, _) = shipped(name);
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(script).unwrap()).unwrap();
    table["acts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|act| act["steps"].as_array().unwrap().iter())
        .map(|step| step["id"].as_str().unwrap().to_string())
        .collect()
}

/// The shipped answers plus what the room says on restarting.
fn answers_with_resume(lab: &Lab, name: &str, resume: &str) -> PathBuf {
    let (_, answers) = shipped(name);
    let body = std::fs::read_to_string(answers).unwrap() + resume;
    let path = lab.path(&format!("{name}-resume.answers.toml"));
    std::fs::write(&path, body).unwrap();
    path
}

/// Runs until the drill halt after `step`, then kills the process (SIGKILL);
/// returns the last log head it showed for the witness to copy, or "none".
fn run_and_kill_after(lab: &Lab, script: &Path, answers: &Path, out: &Path, step: &str) -> String {
    let mut child = lab
        .cmd()
        .args(lab.run_args(script, answers, out))
        .args(["--halt-after", step])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    kill_when_halted(&mut child, step)
}

/// Every key on the ceremony token is one the log records.
fn no_unaccounted_key(lab: &Lab, out: &Path) {
    if !out.join("rehearsal-shares/carol.share").exists() {
        assert_eq!(
            lab.ceremony_tokens(),
            0,
            "a token exists that no share opens"
        );
        return;
    }
    lab.assert_every_key_logged(
        "Example TLS ECC Root 2026",
        &user_pin(out, "example-tls-ecc-root-2026"),
        out,
    );
}

#[test]
fn killed_after_any_step_a_ceremony_resumes_or_aborts_with_a_verifying_log() {
    let steps = step_ids("root-p384");
    let (script, answers) = shipped("root-p384");
    for (i, step) in steps[..steps.len() - 1].iter().enumerate() {
        let lab = Lab::new();
        let out = lab.path("out");
        let head = run_and_kill_after(&lab, &script, &answers, &out, step);
        let (code, report) = verify_log(&out.join("ceremony.log"), &[]);
        assert_eq!(code, 3, "after a kill at {step}: {report}");
        no_unaccounted_key(&lab, &out);

        let key = lab.witness_key();
        let key = key.to_str().unwrap();
        if i % 2 == 0 {
            let resume = answers_with_resume(
                &lab,
                "root-p384",
                &format!(
                    "\n[resume]\nchoice = \"resume\"\ncustodians = [\"carol\", \"dave\"]\nhead = \"{head}\"\n"
                ),
            );
            let run = lab.run(&script, &room_reads_the_bags(&resume, &out), &out);
            assert!(
                run.status.success(),
                "resume after {step}: {}",
                text(&run.stderr)
            );
            let (code, report) = verify_log(&out.join("ceremony.log"), &["--witness-key", key]);
            assert_eq!(code, 0, "resumed after {step}: {report}");
            check_root(
                &out,
                "example-tls-ecc-root-2026",
                "ecdsa-with-SHA384",
                "NIST CURVE: P-384",
            );
        } else {
            let abort = answers_with_resume(
                &lab,
                "root-p384",
                &format!(
                    "\n[resume]\nchoice = \"abort\"\nreason = \"fault drill\"\ncustodians = [\"dave\", \"erin\"]\nhead = \"{head}\"\n"
                ),
            );
            let run = lab.run(&script, &room_reads_the_bags(&abort, &out), &out);
            let (code, report) = verify_log(&out.join("ceremony.log"), &["--witness-key", key]);
            assert_eq!(code, 3, "aborted after {step}: {report}");
            let log = std::fs::read_to_string(out.join("ceremony.log")).unwrap();
            assert!(log.contains("\"kind\":\"abort\"") && log.contains("fault drill"));
            if log.contains("\"kind\":\"log-signing-key\"") {
                assert!(
                    run.status.success(),
                    "abort after {step}: {}",
                    text(&run.stderr)
                );
                assert!(
                    report.contains("ABORTED") || report.contains("aborted"),
                    "{report}"
                );
            } else {
                assert!(
                    text(&run.stderr).contains("cannot be sealed"),
                    "{}",
                    text(&run.stderr)
                );
            }
        }
        no_unaccounted_key(&lab, &out);
    }
}

/// Changes one character of `custodian`'s user-PIN share in a rehearsal's
/// share file.
fn mistype_share(out: &Path, custodian: &str) {
    let path = out.join(format!("rehearsal-shares/{custodian}.share"));
    let body = std::fs::read_to_string(&path).unwrap();
    let line = body.lines().find(|l| l.starts_with("user-pin = ")).unwrap();
    let share = line
        .trim_start_matches("user-pin = \"")
        .trim_end_matches('"');
    let mut typo = share.as_bytes().to_vec();
    let at = typo.len() - 12;
    typo[at] = if typo[at] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    std::fs::write(&path, body.replace(share, &typo)).unwrap();
}

/// Puts `holder`'s user-PIN share into `presenter`'s rehearsal share file:
/// `presenter` comes forward with a share issued to someone else.
fn present_share_of(out: &Path, holder: &str, presenter: &str) {
    let user_pin_line = |who: &str| {
        let body =
            std::fs::read_to_string(out.join(format!("rehearsal-shares/{who}.share"))).unwrap();
        let line = body
            .lines()
            .find(|l| l.starts_with("user-pin = "))
            .unwrap()
            .to_string();
        (body, line)
    };
    let (_, theirs) = user_pin_line(holder);
    let (body, own) = user_pin_line(presenter);
    let path = out.join(format!("rehearsal-shares/{presenter}.share"));
    std::fs::write(path, body.replace(&own, &theirs)).unwrap();
}

/// The log's entries of `kind`.
fn of_kind(out: &Path, kind: &str) -> Vec<serde_json::Value> {
    log_entries(out)
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// A P-384 rehearsal killed once every share is handed out (step 2.1), and
/// the answers that resume it with Carol and David: the lab, the script,
/// the answers and the output folder.
fn shares_handed_out() -> (Lab, PathBuf, PathBuf, PathBuf) {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    let out = lab.path("out");
    let (_, answers) = shipped("root-p384");
    let head = run_and_kill_after(&lab, &script, &answers, &out, "2.1");
    let resume = answers_with_resume(
        &lab,
        "root-p384",
        &format!(
            "\n[resume]\nchoice = \"resume\"\ncustodians = [\"carol\", \"dave\"]\nhead = \"{head}\"\n"
        ),
    );
    (lab, script, resume, out)
}

#[test]
fn a_mistyped_share_is_refused_by_name_before_any_login_and_counted_apart_from_logins() {
    let (lab, script, resume, out) = shares_handed_out();
    mistype_share(&out, "carol");
    let run = lab.run(&script, &resume, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    // A typo never reaches the token: it counts against the refused shares'
    // limit, not the token's.
    assert!(
        stderr.contains("5 share(s) were refused in this ceremony")
            && stderr.contains("hsm.max_refused_shares = 5"),
        "{stderr}"
    );
    let refused = of_kind(&out, "share-rejected");
    assert_eq!(refused.len(), 5);
    for entry in &refused {
        assert_eq!(entry["actor"]["id"], "carol");
        let description = entry["description"].as_str().unwrap();
        assert!(
            description.contains("Carol Nakamura") && description.contains("mistyped"),
            "{description}"
        );
    }
    assert!(of_kind(&out, "login-failed").is_empty());
    assert!(of_kind(&out, "login-succeeded").is_empty());

    // The count is the ceremony's, from its log: the next run does not
    // start again from zero, it can only abort.
    let again = lab.run(&script, &resume, &out);
    let stderr = text(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("can only be aborted"), "{stderr}");
    assert_eq!(of_kind(&out, "share-rejected").len(), 5);
    let (code, _) = verify_log(&out.join("ceremony.log"), &[]);
    assert_eq!(code, 3);
}

#[test]
fn a_share_presented_by_anyone_but_its_custodian_is_refused_recorded_and_counted() {
    let (lab, script, resume, out) = shares_handed_out();
    // David comes forward with the share issued to Erin (share 3).
    present_share_of(&out, "erin", "dave");
    let run = lab.run(&script, &resume, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "{}", text(&run.stdout));
    assert!(
        stderr.contains("share 3 of the user-pin was issued to Erin Kowalski, not to David Mensah"),
        "{stderr}"
    );
    let refused = of_kind(&out, "share-rejected");
    assert_eq!(refused.len(), 5, "every refusal is recorded and counted");
    for entry in &refused {
        assert_eq!(entry["actor"]["id"], "dave");
        assert!(
            entry["data"]["reason"]
                .as_str()
                .unwrap()
                .contains("issued to Erin Kowalski"),
            "{entry}"
        );
    }
    // Carol's share was entered, Erin's never passed for David's.
    let entered = of_kind(&out, "share-entered");
    assert!(
        entered.iter().all(|e| e["actor"]["id"] == "carol"),
        "{entered:?}"
    );
    assert!(of_kind(&out, "login-succeeded").is_empty());
    assert!(of_kind(&out, "login-failed").is_empty());
}

#[test]
fn the_same_custodian_twice_is_refused() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let body = std::fs::read_to_string(answers).unwrap().replace(
        "[steps.\"2.2\"]\nwitness = \"confirm\"\ncustodians = [\"carol\", \"dave\"]",
        "[steps.\"2.2\"]\nwitness = \"confirm\"\ncustodians = [\"carol\", \"carol\"]",
    );
    let twice = lab.path("twice.answers.toml");
    std::fs::write(&twice, body).unwrap();
    let out = lab.path("out");
    let run = lab.run(&script, &twice, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("custodian 'carol' came forward twice"),
        "{stderr}"
    );
    let entries = log_entries(&out);
    assert!(
        !entries
            .iter()
            .any(|e| e["kind"] == "share-entered" || e["kind"] == "login-failed")
    );
}

#[test]
fn the_performer_gives_the_go_before_every_irreversible_hsm_action() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let out = lab.path("out");
    let run = lab.run(&script, &answers, &out);
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", text(&run.stderr));
    // Headless, the room's view is printed before each go.
    for shown in [
        "ABOUT TO initialise token serial",
        "ABOUT TO generate the ECC P-384 root key pair",
        "ABOUT TO sign the root certificate",
        "basicConstraints, critical: CA:TRUE",
        "pre-signing lint: no finding",
    ] {
        assert!(stdout.contains(shown), "'{shown}' not printed:\n{stdout}");
    }
    let entries = log_entries(&out);
    let position = |kind: &str| entries.iter().position(|e| e["kind"] == kind).unwrap();
    let gos: Vec<&serde_json::Value> = entries.iter().filter(|e| e["kind"] == "go").collect();
    assert_eq!(gos.len(), 3, "{gos:?}");
    for (go, (action, acted)) in gos.iter().zip([
        ("init-token", "token-init-requested"),
        ("generate-key", "key-generation-requested"),
        ("self-sign", "signature-requested"),
    ]) {
        assert_eq!(go["data"]["action"], action);
        assert_eq!(go["actor"]["id"], "ada", "the performer gives the go");
        let at = entries.iter().position(|e| e == *go).unwrap();
        let next = entries
            .iter()
            .position(|e| e["kind"] == acted && e["step"] == go["step"])
            .unwrap();
        assert!(at < next, "the go comes before {acted}");
    }
    let signing = gos[2];
    let requested = &entries[position("signature-requested")];
    assert_eq!(
        signing["data"]["tbs_sha256"],
        requested["data"]["tbs_sha256"]
    );
    let facts = &signing["data"]["facts"];
    for fact in [
        "Subject",
        "Issuer",
        "Serial",
        "Not before",
        "Not after",
        "Extensions",
        "Key SHA-256",
    ] {
        assert!(facts[fact].is_string(), "no {fact} in {facts}");
    }
    let generated = &entries[position("key-generated")];
    let key_sha = generated["data"]["public_key_sha256"].as_str().unwrap();
    assert_eq!(
        facts["Key SHA-256"].as_str().unwrap().replace(' ', ""),
        key_sha,
        "the certificate shown holds the key generated"
    );
    assert_eq!(signing["data"]["lint"], serde_json::json!([]));
    // The custodians type their shares for the signature only after the go.
    let shares_for_signature = entries
        .iter()
        .position(|e| e["kind"] == "share-entered" && e["step"] == signing["step"])
        .unwrap();
    assert!(entries.iter().position(|e| e == signing).unwrap() < shares_for_signature);
}

#[test]
fn an_answers_file_without_the_performers_go_is_refused() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let body = std::fs::read_to_string(answers).unwrap();
    for (edit, expected) in [
        (
            body.replacen("go = \"ada\"\n", "", 1),
            "go = \"ada\" in [steps.\"2.1\"]: the performer's go before the token's initialisation",
        ),
        (
            body.replacen("go = \"ada\"", "go = \"sam\"", 1),
            "the go before the token's initialisation is given by the step's performer, 'ada'",
        ),
    ] {
        let edited = lab.path("go.answers.toml");
        std::fs::write(&edited, edit).unwrap();
        refused(&lab, &script, &edited, &[expected]);
    }
}

/// The shipped P-384 answers with step 1.4's reference time replaced, and
/// `extra` added to that step.
fn clock_answers(lab: &Lab, reference: &str, extra: &str) -> PathBuf {
    let (_, answers) = shipped("root-p384");
    let body = std::fs::read_to_string(answers).unwrap();
    let from = "reference-time = \"system\"\n";
    assert!(body.contains(from));
    let path = lab.path("clock.answers.toml");
    std::fs::write(
        &path,
        body.replace(from, &format!("reference-time = \"{reference}\"\n{extra}")),
    )
    .unwrap();
    path
}

#[test]
fn a_clock_beyond_the_policys_limit_is_not_confirmed_without_the_witnesss_decision() {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    // A reference clock reading years away from the terminal's.
    let out = lab.path("undecided");
    let run = lab.run(
        &script,
        &clock_answers(&lab, "2020-01-01T00:00:00Z", ""),
        &out,
    );
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    for expected in [
        "the tool raised an exception in step 1.4",
        "beyond the 60 s that policy 'reference-cps' allows (CPS 5.5.5)",
        "[steps.\"1.4\".decisions.clock]",
    ] {
        assert!(stderr.contains(expected), "'{expected}' not in:\n{stderr}");
    }
    let kinds: Vec<String> = log_entries(&out)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"clock-check".to_string()));
    assert!(!kinds.contains(&"exception".to_string()));
    assert_eq!(
        kinds.iter().filter(|k| *k == "witness-confirmed").count(),
        3,
        "1.4 is not confirmed"
    );

    // Not accepted: the step stops, the witness's remark recorded.
    let out = lab.path("refused");
    let answers = clock_answers(
        &lab,
        "2020-01-01T00:00:00Z",
        "decisions.clock = { accepted = false, remark = \"set the clock first\" }\n",
    );
    let run = lab.run(&script, &answers, &out);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("did not accept exception 1"),
        "{}",
        text(&run.stderr)
    );
    let exception = of_kind(&out, "exception").remove(0);
    assert_eq!(exception["data"]["accepted"], false);
    assert_eq!(exception["data"]["raised_by_tool"], "clock");

    // Accepted: recorded as an exception, and a finding of the report.
    let out = lab.path("accepted");
    let answers = clock_answers(
        &lab,
        "2020-01-01T00:00:00Z",
        "decisions.clock = { accepted = true, remark = \"drill: reference clock wrong\" }\n",
    );
    let run = lab.run(&script, &answers, &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let exception = of_kind(&out, "exception").remove(0);
    assert_eq!(exception["step"], "1.4");
    assert_eq!(exception["data"]["accepted"], true);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("beyond the policy's 60 s (CPS 5.5.5)"),
        "the report's findings name the clock"
    );
}

#[test]
fn malformed_decisions_in_the_answers_file_are_refused() {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    for (extra, expected) in [
        (
            "decisions.clock = { accepted = false }\n",
            "does not accept 'clock' in [steps.\"1.4\".decisions] without a remark",
        ),
        (
            "decisions.clock = { accepted = \"yes\" }\n",
            "invalid type: string \"yes\", expected a boolean",
        ),
        (
            "decisions.clok = { accepted = true }\n",
            "decides 'clok' in [steps.\"1.4\".decisions], an exception that step cannot raise (it can raise: clock)",
        ),
    ] {
        let answers = clock_answers(&lab, "system", extra);
        refused(&lab, &script, &answers, &[expected]);
    }
}

#[test]
fn a_rehearsal_reads_every_share_file_back_before_the_tool_wipes_the_shares() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let first = lab.path("first");
    let run = lab.run(&script, &answers, &first);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let checks = of_kind(&first, "copy-checked");
    // Every share, SO-PIN shares included, read back from its file.
    assert_eq!(checks.len(), 6, "{checks:?}");
    for (secret, custodians) in [
        ("so-pin", ["farid", "grace", "hana"]),
        ("user-pin", ["carol", "dave", "erin"]),
    ] {
        for custodian in custodians {
            assert!(
                checks.iter().any(|c| c["data"]["custodian"] == custodian
                    && c["data"]["secret"] == secret
                    && c["data"]["matches"] == true
                    && c["data"]["from"] == "rehearsal share file"),
                "{custodian}'s {secret} share not read back: {checks:?}"
            );
        }
    }

    // Share files that are not the ones this run wrote (another run's):
    // the read-back finds it before any share is wiped, and the step stops.
    let other = Lab::new();
    let out = other.path("second");
    let run = other
        .cmd()
        .args(other.run_args(&script, &answers, &out))
        .arg("--rehearsal-shares")
        .arg(first.join("rehearsal-shares"))
        .output()
        .unwrap();
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("Carol Nakamura's copy of share 1 of 3 of the user-pin does not match the share the tool made"),
        "{stderr}"
    );
    let checks = of_kind(&out, "copy-checked");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["data"]["matches"], false);
    assert!(
        checks[0]["data"]["difference"]
            .as_str()
            .unwrap()
            .contains("reads as share 1 of set U-"),
        "{checks:?}"
    );
}

/// The shipped P-384 answers with `edits` made to them.
fn answers_edited(lab: &Lab, edits: &[(&str, &str)]) -> PathBuf {
    let (_, answers) = shipped("root-p384");
    let mut body = std::fs::read_to_string(answers).unwrap();
    for (from, to) in edits {
        assert!(body.contains(from), "{from} not in the answers");
        body = body.replacen(from, to, 1);
    }
    let path = lab.path("edited.answers.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn every_bag_is_chained_from_its_issue_through_every_activation() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let out = lab.path("out");
    let run = lab.run(&script, &answers, &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    // Carol's user-PIN share: issued in 0102, opened and resealed at 2.2
    // and at the seal.
    let chain: Vec<(String, String, String)> = log_entries(&out)
        .iter()
        .filter(|e| e["data"]["custodian"] == "carol" && e["data"]["secret"] == "user-pin")
        .filter_map(|e| {
            let serial = e["data"]["bag"].as_str().or(e["data"]["serial"].as_str())?;
            Some((
                e["step"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
                serial.to_string(),
            ))
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("2.1", "share-issued", "REHEARSAL-TEB-0102"),
        ("2.2", "bag-opened", "REHEARSAL-TEB-0102"),
        ("2.2", "bag-sealed", "REHEARSAL-TEB-0112"),
        ("5.4", "bag-opened", "REHEARSAL-TEB-0112"),
        ("5.4", "bag-sealed", "REHEARSAL-TEB-0122"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(chain, expected);
    for opened in of_kind(&out, "bag-opened") {
        assert_eq!(opened["data"]["matches"], true, "{opened}");
    }
    // The HSM: out of the bag the script expects, into the new one.
    let recorded = of_kind(&out, "recorded");
    let hsm = recorded
        .iter()
        .find(|e| e["data"]["opens"] == "hsm")
        .unwrap();
    assert_eq!(hsm["data"]["expected"], "REHEARSAL-TEB-0001");
    assert_eq!(hsm["data"]["matches"], true);
    assert!(
        recorded
            .iter()
            .any(|e| e["data"]["seals"] == "hsm" && e["data"]["value"] == "REHEARSAL-TEB-0003")
    );
    // The report shows each share's chain of bags.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## Chain of custody"),
        "no chain in the report"
    );
    assert!(
        report.contains(
            "| Carol Nakamura's user-pin share | 2.1: sealed in REHEARSAL-TEB-0102; 2.2: opened REHEARSAL-TEB-0102, as recorded; 2.2: sealed in REHEARSAL-TEB-0112; 5.4: opened REHEARSAL-TEB-0112, as recorded; 5.4: sealed in REHEARSAL-TEB-0122 |"
        ),
        "{report}"
    );
    assert!(report.contains(
        "| the hsm | 1.5: opened REHEARSAL-TEB-0001, as recorded; 5.1: sealed in REHEARSAL-TEB-0003 |"
    ));
}

#[test]
fn a_bag_or_a_value_other_than_the_one_expected_is_an_exception_the_witness_decides() {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    // Carol opens a bag that is not the one her share was sealed in.
    let swapped = answers_edited(
        &lab,
        &[(
            "[steps.\"2.2\".bags.carol]\nopened = \"REHEARSAL-TEB-0102\"",
            "[steps.\"2.2\".bags.carol]\nopened = \"REHEARSAL-TEB-9102\"",
        )],
    );
    let out = lab.path("undecided");
    let run = lab.run(&script, &swapped, &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    for expected in [
        "Carol Nakamura opened bag REHEARSAL-TEB-9102 for their user-pin share, but the last bag recorded for it is REHEARSAL-TEB-0102",
        "[steps.\"2.2\".decisions.bag-carol]",
    ] {
        assert!(stderr.contains(expected), "'{expected}' not in:\n{stderr}");
    }
    assert!(
        of_kind(&out, "share-entered").is_empty(),
        "no share before the decision"
    );

    // A boot media other than the one published: the witness decides.
    let lab = Lab::new();
    let other_media = answers_edited(
        &lab,
        &[
            ("boot-media-sha256 = \"A2C8", "boot-media-sha256 = \"B2C8"),
            (
                "[steps.\"1.6\"]\nwitness = \"confirm\"\n",
                "[steps.\"1.6\"]\nwitness = \"confirm\"\ndecisions.boot-media-sha256 = { accepted = false, remark = \"not the published media\" }\n",
            ),
        ],
    );
    let out = lab.path("other-media");
    let run = lab.run(&script, &other_media, &out);
    assert!(!run.status.success());
    let exception = of_kind(&out, "exception").remove(0);
    assert_eq!(exception["step"], "1.6");
    assert_eq!(exception["data"]["raised_by_tool"], "boot-media-sha256");
    assert!(
        exception["description"]
            .as_str()
            .unwrap()
            .contains("but the script expects 'A2C8805C"),
        "{exception}"
    );
}

#[test]
fn malformed_and_duplicate_bag_serials_and_hashes_are_refused() {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    for (edit, expected) in [
        (
            (
                "boot-media-sha256 = \"A2C8805C321D29E63C686118643481BB6EEED59C470C289058F64C04C11BCC2A\"",
                "boot-media-sha256 = \"0123ABCD\"",
            ),
            "'0123ABCD' is not a SHA-256: a SHA-256 is 64 hexadecimal digits",
        ),
        (
            (
                "new = \"REHEARSAL-TEB-0112\"",
                "new = \"REHEARSAL-TEB-0401\"",
            ),
            "gives bag serial REHEARSAL-TEB-0401 twice ([steps.\"2.1\".bags.farid] so-pin and [steps.\"2.2\".bags.carol] new)",
        ),
        (
            ("so-pin = \"REHEARSAL-TEB-0401\"", "so-pin = \"TEB 0401\""),
            "'TEB 0401' is not a bag serial",
        ),
        (
            ("new = \"REHEARSAL-TEB-0112\"\n", ""),
            "new = \"...\" in [steps.\"2.2\".bags.carol]",
        ),
        (
            (
                "hsm-new-bag-serial = \"REHEARSAL-TEB-0003\"",
                "hsm-new-bag-serial = \"REHEARSAL-TEB-0302\"",
            ),
            "gives bag serial REHEARSAL-TEB-0302 twice",
        ),
    ] {
        let answers = answers_edited(&lab, &[edit]);
        refused(&lab, &script, &answers, &[expected]);
    }
}

#[test]
fn the_so_pin_and_the_user_pin_are_held_by_different_people() {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    // A script that gives both to the same people breaks the policy.
    let both = edited(
        &lab,
        "root-p384",
        &[(
            "custodians = [\"farid\", \"grace\", \"hana\"]",
            "custodians = [\"carol\", \"dave\", \"erin\"]",
        )],
    );
    refused(
        &lab,
        &both,
        &answers,
        &[
            "'carol' would hold shares of both the SO PIN and the user PIN",
            "[CPS 5.2.4]",
        ],
    );
    // The shipped scripts give them to different custodians (CPS 5.2.4).
    let out = lab.path("out");
    let run = lab.run(&script, &answers, &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let issued = of_kind(&out, "share-issued");
    let holders = |secret: &str| -> Vec<String> {
        issued
            .iter()
            .filter(|e| e["data"]["secret"] == secret)
            .map(|e| e["data"]["custodian"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(holders("so-pin"), ["farid", "grace", "hana"]);
    assert_eq!(holders("user-pin"), ["carol", "dave", "erin"]);
}

#[test]
fn who_is_in_the_room_is_recorded_and_every_step_checks_its_people() {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    // Grace is absent at the check-in; the token's initialisation hands her
    // a share, so it waits for her, and the file never brings her.
    let grace_absent = (
        "grace = \"national identity card, compared with the roster\"",
        "grace = { absent = \"flight delayed\" }",
    );
    let out = lab.path("waiting");
    let run = lab.run(&script, &answers_edited(&lab, &[grace_absent]), &out);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    for expected in [
        "return of Grace Lindqvist before step 2.1",
        "a custodian of the so-pin, who receives a share; absent: flight delayed",
        "[[presence]] step = \"2.1\", participant = \"grace\", returns = true",
    ] {
        assert!(stderr.contains(expected), "'{expected}' not in:\n{stderr}");
    }
    assert!(
        !log_entries(&out)
            .iter()
            .any(|e| e["kind"] == "token-init-requested")
    );

    // She arrives before step 2.1 and is identified then; Lena, the witness
    // of step 1.3, steps out after it and comes back for 3.1.
    let lab = Lab::new();
    let out = lab.path("out");
    let answers = answers_edited(&lab, &[grace_absent]);
    let mut body = std::fs::read_to_string(&answers).unwrap();
    body.push_str(
        "\n[[presence]]\nstep = \"2.1\"\nparticipant = \"grace\"\nreturns = true\ndocument = \"passport\"\n\n[[presence]]\nstep = \"1.4\"\nparticipant = \"lena\"\nleaves = \"phone call\"\n\n[[presence]]\nstep = \"3.1\"\nparticipant = \"lena\"\nreturns = true\n",
    );
    std::fs::write(&answers, body).unwrap();
    let run = lab.run(&script, &answers, &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let check_ins = of_kind(&out, "check-in");
    let of = |id: &str| {
        check_ins
            .iter()
            .find(|e| e["data"]["participant"] == id)
            .unwrap()
            .clone()
    };
    // The witness is checked in by the log examiner, everyone else by the
    // witness.
    assert_eq!(of("quinn")["actor"]["id"], "lena");
    assert_eq!(of("quinn")["data"]["checked_by"], "lena");
    assert_eq!(of("ada")["actor"]["id"], "quinn");
    assert_eq!(of("grace")["data"]["present"], false);
    assert_eq!(of("grace")["data"]["reason"], "flight delayed");
    let presence = of_kind(&out, "presence");
    let changes: Vec<(String, String, String)> = presence
        .iter()
        .map(|e| {
            (
                e["step"].as_str().unwrap().to_string(),
                e["actor"]["id"].as_str().unwrap().to_string(),
                e["data"]["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("1.4", "lena", "leaves"),
            ("2.1", "grace", "returns"),
            ("3.1", "lena", "returns"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(presence[1]["data"]["document"], "passport");
    assert!(presence.iter().all(|e| e["data"]["at"].is_string()));
}

#[test]
fn a_resume_asks_only_who_is_there_and_records_the_decision_as_a_persons_act() {
    let (lab, script, resume, out) = shares_handed_out();
    // Farid stays away this time; he is not needed for the logins.
    let body = std::fs::read_to_string(&resume).unwrap().replace(
        "farid = \"passport, compared with the roster\"",
        "farid = { absent = \"back at the office\" }",
    );
    std::fs::write(&resume, body).unwrap();
    let run = lab.run(&script, &room_reads_the_bags(&resume, &out), &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let again = resumed_check_ins(&out);
    assert_eq!(again.len(), 10, "everyone is asked about");
    for e in &again {
        assert!(
            e["data"]["document"].is_null(),
            "no document asked again: {e}"
        );
    }
    let farid = again
        .iter()
        .find(|e| e["data"]["participant"] == "farid")
        .unwrap();
    assert_eq!(farid["data"]["present"], false);
    assert!(
        again
            .iter()
            .filter(|e| e["data"]["participant"] != "farid")
            .all(|e| e["data"]["identified_earlier"] == true)
    );
}

#[test]
fn malformed_check_in_and_presence_answers_are_refused() {
    let lab = Lab::new();
    let (script, _) = shipped("root-p384");
    let erin = "erin = \"passport, compared with the roster\"";
    for (edit, extra, expected) in [
        (
            (erin, "erin = { absent = \"\" }"),
            "",
            "has a check-in answer for 'erin' that is neither the kind of identity document checked",
        ),
        (
            (erin, "erin = 7"),
            "",
            "has a check-in answer for 'erin' that is neither",
        ),
        (
            (erin, erin),
            "\n[[presence]]\nstep = \"3.1\"\nparticipant = \"lena\"\nleaves = \"x\"\nreturns = true\n",
            "[[presence]] number 1: give either leaves = \"the reason\" or returns = true",
        ),
        (
            (erin, erin),
            "\n[[presence]]\nstep = \"3.1\"\nparticipant = \"zoe\"\nreturns = true\n",
            "[[presence]] number 1: 'zoe' is not a participant",
        ),
        (
            (erin, erin),
            "\n[[presence]]\nstep = \"9.9\"\nparticipant = \"lena\"\nreturns = true\n",
            "[[presence]] number 1: step '9.9' is not in the script",
        ),
    ] {
        let answers = answers_edited(&lab, &[edit]);
        let body = std::fs::read_to_string(&answers).unwrap() + extra;
        std::fs::write(&answers, body).unwrap();
        refused(&lab, &script, &answers, &[expected]);
    }
}
