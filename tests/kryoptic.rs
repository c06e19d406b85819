//! The second PKCS#11 module: both shipped ceremonies on kryoptic, a witness
//! token on another module than the ceremony's, and `module check` on both
//! modules and on tokens that lack what a ceremony needs. The rest of the
//! suite runs on SoftHSM2; tests/drills.rs resumes a killed kryoptic run.
//! docs/supported-modules.md says what differs between the two.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    BIN, Lab, assert_private_key_attributes, edited, kryoptic_module, list_objects_on, log_entries,
    module, shipped, text, user_pin,
};

/// The two shipped ceremonies: folder name, token label, key label (the
/// ceremony's id).
const CEREMONIES: [(&str, &str, &str); 2] = [
    (
        "root-rsa4096",
        "Example TLS RSA Root 2026",
        "example-tls-rsa-root-2026",
    ),
    (
        "root-p384",
        "Example TLS ECC Root 2026",
        "example-tls-ecc-root-2026",
    ),
];

const WITNESS_TOKEN: &str = "Quinn Adeyemi (auditor)";

fn verify_log(log: &Path, witness_key: &Path) -> Output {
    Command::new(BIN)
        .arg("verify-log")
        .arg(log)
        .arg("--witness-key")
        .arg(witness_key)
        .output()
        .unwrap()
}

fn openssl_verify(pem: &Path) {
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(pem)
        .arg(pem)
        .output()
        .unwrap();
    assert!(
        out.status.success() && text(&out.stdout).contains(": OK"),
        "openssl verify {}: {}{}",
        pem.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn every_shipped_ceremony_runs_on_kryoptic_inside_its_lab() {
    let tmp = tempfile::tempdir().unwrap();
    // kryoptic, without KRYOPTIC_CONF, would read ~/.config/kryoptic: a
    // home of its own shows the lab never falls back to it.
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let out = tmp.path().join("rehearsal");
    let run = Command::new(BIN)
        .args(["rehearse", "--headless", "--out"])
        .arg(&out)
        .arg("--module")
        .arg(kryoptic_module())
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("KRYOPTIC_CONF")
        .env_remove("KEYCEREMONY_MODULE")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(
        text(&run.stdout).contains("kryoptic lab in"),
        "{}",
        text(&run.stdout)
    );
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);

    // Every token is a database inside the lab: the witness's and one per
    // ceremony, all initialised.
    let tokens = out.join("lab/tokens");
    for slot in 1..=3 {
        let database = tokens.join(format!("token-{slot}.sql"));
        let size = std::fs::metadata(&database).unwrap().len();
        assert!(size > 0, "{} is empty", database.display());
    }

    let witness_key = out.join("lab/witness.pub.pem");
    let conf = out.join("lab/kryoptic.conf");
    for (name, token, key) in CEREMONIES {
        let dir = out.join(name);
        let verified = verify_log(&dir.join("ceremony.log"), &witness_key);
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{name}: {}{}",
            text(&verified.stdout),
            text(&verified.stderr)
        );
        openssl_verify(&dir.join(format!("certs/{key}.pem")));
        let objects = list_objects_on(
            &kryoptic_module(),
            "KRYOPTIC_CONF",
            &conf,
            token,
            &user_pin(&dir, key),
        );
        assert!(objects.status.success(), "{}", text(&objects.stderr));
        assert_private_key_attributes(&text(&objects.stdout), token);

        // kryoptic reports library version 0.0: the record says so plainly.
        let log = std::fs::read_to_string(dir.join("ceremony.log")).unwrap();
        assert!(
            log.contains("\"module_version\":\"0.0 (not reported)\""),
            "{name}: the module's version is not recorded as unreported"
        );
    }

    // The backup's round trip: the restored copy, which kryoptic gives no
    // CKA_ALWAYS_SENSITIVE nor CKA_NEVER_EXTRACTABLE, is taken up on its
    // own token and destroyed there.
    for (name, kind) in [
        ("root-p384-backup", "key-backed-up"),
        ("restore-p384-backup", "key-restored"),
        ("destroy-p384-backup-copy", "key-destroyed"),
    ] {
        let dir = out.join(name);
        let verified = verify_log(&dir.join("ceremony.log"), &witness_key);
        assert_eq!(verified.status.code(), Some(0), "{name}");
        assert!(
            log_entries(&dir).iter().any(|e| e["kind"] == kind),
            "no {kind} in {name}'s log"
        );
    }
}

#[test]
fn a_witness_token_on_another_module_seals_a_kryoptic_ceremony() {
    // The auditor's token on SoftHSM2, the ceremony's on kryoptic: the
    // script names the witness's module (log.witness_module).
    let witness_lab = Lab::new();
    let lab = Lab::kryoptic(1);
    let softhsm = module();
    let script = edited(
        &lab,
        "root-p384",
        &[(
            "[log]\n",
            &format!(
                "[log]\nwitness_module = {:?}\n",
                softhsm.display().to_string()
            ),
        )],
    );
    let (_, answers) = shipped("root-p384");
    let out = lab.path("out");
    let mut args = lab.run_args(&script, &answers, &out);
    // The witness types the PIN of their own token, on the other module.
    let pin_at = args.iter().position(|a| a == "--witness-pin-file").unwrap() + 1;
    args[pin_at] = witness_lab.witness_pin().into();
    let run = lab
        .cmd()
        .env(witness_lab.conf_var(), witness_lab.conf())
        .args(args)
        .arg("--inventory")
        .arg(lab.inventory())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    // Only the SoftHSM2 token's key verifies the seal; the kryoptic lab has
    // a witness token of the same label, whose key does not.
    let log = out.join("ceremony.log");
    let sealed = verify_log(&log, &witness_lab.witness_key());
    assert_eq!(sealed.status.code(), Some(0), "{}", text(&sealed.stdout));
    let other = verify_log(&log, &lab.witness_key());
    assert_ne!(other.status.code(), Some(0), "{}", text(&other.stdout));
    let body = std::fs::read_to_string(&log).unwrap();
    let seal = body
        .lines()
        .find(|l| l.contains("witness_key_uri"))
        .expect("the seal names the witness's key");
    assert!(seal.contains("manufacturer=SoftHSM%20project"), "{seal}");
    assert!(
        body.contains("model=v1;manufacturer=Kryoptic%20Project"),
        "the ceremony token is kryoptic's"
    );
}

/// `module check` on `lab`'s module, with the lab's configuration.
fn module_check(lab: &Lab, token: Option<&str>) -> Output {
    let mut cmd = lab.cmd();
    cmd.args(["module", "check", "--module"]).arg(lab.module());
    if let Some(token) = token {
        cmd.args(["--token", token]);
    }
    cmd.output().unwrap()
}

fn assert_ready(run: &Output, what: &str) {
    let stdout = text(&run.stdout);
    assert!(
        run.status.success(),
        "{what}: {stdout}{}",
        text(&run.stderr)
    );
    assert!(
        stdout.contains("module check: a ceremony can run on this token"),
        "{what}: {stdout}"
    );
    for need in [
        "PIN lengths",
        "random generator",
        "RSA-4096 key generation",
        "P-384 signature",
        "key attributes",
        "CKA_ALWAYS_AUTHENTICATE",
    ] {
        assert!(
            stdout.contains(need),
            "{what}: {need} missing from\n{stdout}"
        );
    }
}

#[test]
fn module_check_passes_on_both_modules() {
    let softhsm = Lab::new();
    let free = module_check(&softhsm, None);
    assert_ready(&free, "SoftHSM2's free token");
    // SoftHSM2 lacks CKM_ECDSA_SHA384: the tool hashes for CKM_ECDSA.
    assert!(
        text(&free.stdout).contains("CKM_ECDSA, SHA-384 computed by the tool"),
        "{}",
        text(&free.stdout)
    );
    assert_ready(
        &module_check(&softhsm, Some(WITNESS_TOKEN)),
        "SoftHSM2's witness token",
    );

    let kryoptic = Lab::kryoptic(1);
    let witness = module_check(&kryoptic, Some(WITNESS_TOKEN));
    assert_ready(&witness, "kryoptic's witness token");
    let stdout = text(&witness.stdout);
    assert!(stdout.contains("at least 8 bytes"), "{stdout}");
    assert!(
        stdout.contains("CKM_ECDSA_SHA384 (SHA-384 on the token)"),
        "{stdout}"
    );

    // kryoptic lists no mechanisms for an uninitialised token, so its free
    // token cannot be confirmed without initialising it.
    let free = module_check(&kryoptic, None);
    assert_eq!(free.status.code(), Some(1), "{}", text(&free.stdout));
    assert!(
        text(&free.stderr).contains("lists its mechanisms only once initialised"),
        "{}",
        text(&free.stderr)
    );
    // Nothing was changed: the free token is still free.
    assert_eq!(module_check(&kryoptic, None).status.code(), Some(1));
}

#[test]
fn module_check_names_what_a_token_lacks() {
    // kryoptic configured to offer no ECDSA on the witness's slot: a real
    // module, whose configuration takes mechanisms away.
    let lab = Lab::kryoptic(1);
    let conf = lab.conf();
    let body = std::fs::read_to_string(&conf).unwrap();
    let restricted = body.replacen(
        "slot = 1\n",
        "slot = 1\nmechanisms = [\"DENY\", \"CKM_ECDSA\", \"CKM_ECDSA_SHA384\"]\n",
        1,
    );
    assert_ne!(body, restricted);
    std::fs::write(&conf, restricted).unwrap();
    let run = module_check(&lab, Some(WITNESS_TOKEN));
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("P-384 signature: the token does not offer CKM_ECDSA"),
        "{stderr}"
    );
    assert!(
        text(&run.stdout).contains("LACKING"),
        "{}",
        text(&run.stdout)
    );

    // p11-kit's trust module: a read-only token of CA certificates, with
    // no key generation at all.
    let trust = p11_kit_trust();
    let run = Command::new(BIN)
        .args(["module", "check", "--module"])
        .arg(&trust)
        .args(["--token", "System Trust"])
        .env_remove("KEYCEREMONY_MODULE")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    let stderr = text(&run.stderr);
    for reason in [
        "the token is write-protected",
        "no random generator",
        "does not offer CKM_RSA_PKCS_KEY_PAIR_GEN",
    ] {
        assert!(stderr.contains(reason), "{reason} not in {stderr}");
    }
}

#[test]
fn a_lab_refuses_a_module_it_cannot_keep_inside_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    let run = Command::new(BIN)
        .args(["lab", "create"])
        .arg(&dir)
        .arg("--module")
        .arg(p11_kit_trust())
        .env_remove("KEYCEREMONY_MODULE")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("a lab cannot keep the tokens"), "{stderr}");
    assert!(
        stderr.contains("SoftHSM2") && stderr.contains("kryoptic"),
        "{stderr}"
    );
    assert!(!dir.exists(), "a refused lab wrote {}", dir.display());
}

/// p11-kit's trust module, which scripts/setup.sh installs.
fn p11_kit_trust() -> PathBuf {
    [
        "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so",
        "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-trust.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("p11-kit's trust module is not installed: run scripts/setup.sh (apt-get install p11-kit-modules)")
}

#[test]
fn hsm_token_serial_is_looked_up_on_uninitialised_tokens_too() {
    let lab = Lab::kryoptic(1);
    let (_, answers) = shipped("root-p384");
    let with_serial = |serial: &str| {
        edited(
            &lab,
            "root-p384",
            &[(
                "initialize = true\n",
                &format!("initialize = true\ntoken_serial = {serial:?}\n"),
            )],
        )
    };
    let refused = |script: &Path| {
        let out = lab.path("refused");
        let run = lab.run(script, &answers, &out);
        assert!(!run.status.success(), "{}", text(&run.stdout));
        assert!(
            !out.join("ceremony.log").exists(),
            "a refused run wrote a log"
        );
        text(&run.stderr)
    };
    // kryoptic gives a token its serial only in C_InitToken: a serial names
    // no free token here, and the refusal says why rather than suggesting
    // that only initialised tokens were searched.
    let stderr = refused(&with_serial("0123456789abcdef"));
    assert!(stderr.contains("no token has serial number"), "{stderr}");
    assert!(
        stderr.contains("1 token reports no serial number"),
        "{stderr}"
    );
    // The witness's token is found by its serial, and refused: initialised.
    let listing = Command::new("pkcs11-tool")
        .env(lab.conf_var(), lab.conf())
        .arg("--module")
        .arg(lab.module())
        .arg("--list-token-slots")
        .output()
        .unwrap();
    let serial = text(&listing.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("serial num         : "))
        .map(str::to_string)
        .expect("the witness token's serial");
    let stderr = refused(&with_serial(&serial));
    assert!(stderr.contains("is already initialised"), "{stderr}");
}
