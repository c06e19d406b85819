//! The root's later ceremonies end to end: the real `keyceremony` binary on a
//! real SoftHSM2 lab, after the shipped key generation ceremony made the
//! ECC root there. A subordinate CA certificate from an OpenSSL CSR, a
//! first CRL and one that revokes that subordinate, each checked with
//! OpenSSL against the root and with pkilint; then every refusal of the
//! later ceremonies, each before anything is written; and a subordinate CA
//! ceremony interrupted after its login and resumed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Lab, edited, kill_when_halted, room_reads_the_bags, shipped, text};
use sha2::{Digest, Sha256};

const ROOT_PEM: &str = "root-p384/certs/example-tls-ecc-root-2026.pem";
const SUBORDINATE: &str = "example-tls-ecc-issuing-ca-1";
const CSR: &str = "requests/example-tls-ecc-issuing-ca-1.csr";
const SUBJECT: &str = "/C=JP/O=Example Trust Co., Ltd./CN=Example TLS ECC Issuing CA 1";

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed to run these tests");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "openssl {args:?} failed:\n{all}");
    all
}

/// pkilint finds nothing at warning level or above (it prints nothing).
fn pkilint_clean(tool: &str, args: &[&str], file: &Path) {
    let bin = Path::new("/opt/keyceremony-pkilint/bin").join(tool);
    let bin = if bin.exists() {
        bin
    } else {
        PathBuf::from(tool)
    };
    let out = Command::new(&bin)
        .args(args)
        .arg(file)
        .output()
        .expect("pkilint is not installed: run scripts/setup.sh");
    assert!(
        out.status.success() && text(&out.stdout).trim().is_empty(),
        "pkilint {tool} on {}: {}{}",
        file.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn log_entries(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("ceremony.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verify_log(lab: &Lab, out: &Path) {
    let run = lab
        .cmd()
        .arg("verify-log")
        .arg(out.join("ceremony.log"))
        .arg("--witness-key")
        .arg(lab.witness_key())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
}

/// A lab whose ECC root the shipped key generation ceremony made, into
/// `root-p384/`, with `root` edits to its script.
fn lab_with_root(root: &[(&str, &str)]) -> Lab {
    let lab = Lab::new();
    let (script, answers) = shipped("root-p384");
    let script = if root.is_empty() {
        script
    } else {
        edited(&lab, "root-p384", root)
    };
    let run = lab.run(&script, &answers, &lab.path("root-p384"));
    assert!(run.status.success(), "root-p384: {}", text(&run.stderr));
    lab
}

/// A later ceremony on the lab's root: inputs named in the lab's folder,
/// the custodians' shares from the key generation ceremony's share files.
fn run_later(lab: &Lab, script: &Path, answers: &Path, out: &str) -> Output {
    lab.cmd()
        .args(lab.run_args(script, answers, &lab.path(out)))
        .arg("--inputs")
        .arg(lab.dir())
        .arg("--rehearsal-shares")
        .arg(lab.path("root-p384/rehearsal-shares"))
        .output()
        .unwrap()
}

/// The shipped answers of `name` for the ceremony id `id`.
fn answers_for(lab: &Lab, name: &str, id: &str) -> PathBuf {
    let (_, answers) = shipped(name);
    let body = std::fs::read_to_string(answers).unwrap();
    let table: toml::Table = toml::from_str(&body).unwrap();
    let shipped_id = table["ceremony"].as_str().unwrap();
    let path = lab.path(&format!("{id}.answers.toml"));
    std::fs::write(
        &path,
        body.replace(
            &format!("ceremony = \"{shipped_id}\""),
            &format!("ceremony = \"{id}\""),
        ),
    )
    .unwrap();
    path
}

/// A run refused before anything is written: every `expected` text in its
/// error, and no output folder.
fn refused(run: &Output, out: &Path, expected: &[&str]) {
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "not refused:\n{}", text(&run.stdout));
    for e in expected {
        assert!(stderr.contains(e), "'{e}' missing from:\n{stderr}");
    }
    assert!(!out.exists(), "{} was written", out.display());
}

/// A P-384 key made by OpenSSL in `requests/`, and a CSR for `subject`
/// with it that asks for a path length and an EKU the certificate will not
/// have.
fn openssl_csr(lab: &Lab, key: &str, subject: &str, csr: &str) {
    openssl_key(lab, key);
    openssl(
        lab.dir(),
        &[
            "req",
            "-new",
            "-sha384",
            "-key",
            &format!("requests/{key}"),
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:5",
            "-addext",
            "extendedKeyUsage=codeSigning",
            "-out",
            csr,
        ],
    );
}

/// A P-384 key made by OpenSSL as `requests/KEY`, unless it is there.
fn openssl_key(lab: &Lab, key: &str) {
    let requests = lab.path("requests");
    std::fs::create_dir_all(&requests).unwrap();
    if !requests.join(key).exists() {
        openssl(
            &requests,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-out",
                key,
            ],
        );
    }
}

fn sha256_of_csr(lab: &Lab, csr: &str) -> String {
    let der = lab.path("request.der");
    openssl(
        lab.dir(),
        &["req", "-in", csr, "-outform", "DER", "-out", "request.der"],
    );
    hex::encode_upper(Sha256::digest(std::fs::read(der).unwrap()))
}

/// The serial of a certificate, as openssl prints it.
fn serial(lab: &Lab, pem: &str) -> String {
    openssl(lab.dir(), &["x509", "-in", pem, "-noout", "-serial"])
        .trim()
        .trim_start_matches("serial=")
        .to_string()
}

/// crl-p384-next's script with `edits`, under ceremony id `id`.
fn crl_script(lab: &Lab, id: &str, edits: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    renamed_script(
        lab,
        ("crl-p384-next", "example-tls-ecc-root-2026-crl-2"),
        id,
        edits,
    )
}

/// The shipped script `name` (whose ceremony id is `shipped_id`) with
/// `edits`, under ceremony id `id`, and its answers for that id.
fn renamed_script(
    lab: &Lab,
    (name, shipped_id): (&str, &str),
    id: &str,
    edits: &[(&str, &str)],
) -> (PathBuf, PathBuf) {
    let mut all = vec![(
        format!("id = \"{shipped_id}\"\nname"),
        format!("id = \"{id}\"\nname"),
    )];
    all.extend(edits.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let all: Vec<(&str, &str)> = all.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let script = edited(lab, name, &all);
    let renamed = lab.path(&format!("{id}.toml"));
    std::fs::rename(&script, &renamed).unwrap();
    (renamed, answers_for(lab, name, id))
}

#[test]
fn a_subordinate_ca_and_two_crls_verify_with_openssl_and_pkilint() {
    let lab = lab_with_root(&[]);
    let inventory = std::fs::read_to_string(lab.inventory()).unwrap();
    assert!(
        inventory.contains("\"token_serial\":") && inventory.contains("\"user_pin_split\":"),
        "the inventory records the root's token and split: {inventory}"
    );

    // The subordinate CA certificate, from an OpenSSL CSR.
    openssl_csr(&lab, "issuing-ca-1.key", SUBJECT, CSR);
    let (script, answers) = shipped("subordinate-p384");
    let run = run_later(&lab, &script, &answers, "subordinate-p384");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = lab.path("subordinate-p384");
    let cert = format!("subordinate-p384/certs/{SUBORDINATE}.pem");
    let verified = openssl(
        lab.dir(),
        &["verify", "-x509_strict", "-CAfile", ROOT_PEM, &cert],
    );
    assert!(verified.contains(": OK"), "{verified}");
    pkilint_clean(
        "lint_cabf_serverauth_cert",
        &[
            "lint",
            "-t",
            "INTERNAL-UNCONSTRAINED-TLS-CA",
            "-s",
            "WARNING",
        ],
        &lab.path(&cert),
    );
    let dump = openssl(lab.dir(), &["x509", "-in", &cert, "-noout", "-text"]);
    for expected in [
        "CA:TRUE, pathlen:0",
        "TLS Web Server Authentication",
        "Policy: 2.23.140.1.2.2",
        "URI:http://crl.example.com/example-tls-ecc-root-2026.crl",
        "CA Issuers - URI:http://crt.example.com/example-tls-ecc-root-2026.der",
        "Subject: C = JP, O = \"Example Trust Co., Ltd.\", CN = Example TLS ECC Issuing CA 1",
    ] {
        assert!(dump.contains(expected), "{expected} missing from:\n{dump}");
    }
    assert!(!dump.contains("Code Signing") && !dump.contains("pathlen:5"));
    // The CSR's requested extensions are listed as ignored; its hash is in
    // the records.
    let entries = log_entries(&out);
    let read = entries
        .iter()
        .find(|e| e["data"]["proof_of_possession"] == true)
        .expect("the CSR's reading is recorded");
    assert_eq!(
        read["data"]["ignored_extensions"],
        serde_json::json!(["basicConstraints (critical)", "extKeyUsage"])
    );
    let csr_sha256 = sha256_of_csr(&lab, CSR);
    assert_eq!(read["data"]["csr_sha256"], csr_sha256.as_str());
    let records = std::fs::read_to_string(lab.path("inventory.issued.jsonl")).unwrap();
    assert!(
        records.contains(&format!("\"csr_sha256\":\"{csr_sha256}\"")),
        "{records}"
    );
    assert!(entries.iter().any(|e| e["kind"] == "checkpoint"));
    verify_log(&lab, &out);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!report.contains("**FAILED**"), "{report}");
    assert!(
        report.contains("openssl verify -x509_strict -CAfile inputs/example-tls-ecc-root-2026.pem")
    );

    // The first CRL revokes nothing.
    let (script, answers) = shipped("crl-p384");
    let run = run_later(&lab, &script, &answers, "crl-p384");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let first = "crl-p384/crls/example-tls-ecc-root-2026-crl-1.crl.pem";
    let dump = openssl(
        lab.dir(),
        &[
            "crl", "-in", first, "-CAfile", ROOT_PEM, "-verify", "-noout", "-text",
        ],
    );
    assert!(
        dump.contains("verify OK") && dump.contains("No Revoked Certificates"),
        "{dump}"
    );
    assert!(
        dump.contains("Only CA Certificates") && dump.contains("CRL Number"),
        "{dump}"
    );
    pkilint_clean(
        "lint_crl",
        &["lint", "-t", "ARL", "-p", "BR", "-s", "WARNING"],
        &lab.path(first),
    );
    verify_log(&lab, &lab.path("crl-p384"));
    let report = std::fs::read_to_string(lab.path("crl-p384/report.md")).unwrap();
    assert!(
        !report.contains("**FAILED**") && report.contains("## CRLs"),
        "{report}"
    );
    assert!(report.contains("openssl crl -in crls/example-tls-ecc-root-2026-crl-1.crl.pem -CAfile inputs/example-tls-ecc-root-2026.pem -verify -noout"));

    // The next takes it as its previous CRL, and revokes the subordinate.
    let sub_serial = serial(&lab, &cert);
    let revoke = format!(
        "distribution_point = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\n\n[[crls.revoked]]\nserial = \"{sub_serial}\"\nreason = \"superseded\"\n"
    );
    let (script, answers) = crl_script(
        &lab,
        "example-tls-ecc-root-2026-crl-2",
        &[(
            "distribution_point = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\n",
            &revoke,
        )],
    );
    let run = run_later(&lab, &script, &answers, "crl-2");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let second = "crl-2/crls/example-tls-ecc-root-2026-crl-2.crl.pem";
    let dump = openssl(
        lab.dir(),
        &[
            "crl", "-in", second, "-CAfile", ROOT_PEM, "-verify", "-noout", "-text",
        ],
    );
    assert!(dump.contains("verify OK"), "{dump}");
    assert!(
        dump.contains(&format!("Serial Number: {sub_serial}")),
        "{dump}"
    );
    assert!(dump.contains("Superseded"), "{dump}");
    let number = openssl(lab.dir(), &["crl", "-in", second, "-noout", "-crlnumber"]);
    assert_eq!(
        number.trim(),
        "crlNumber=0x02",
        "the second CRL's number is greater"
    );
    pkilint_clean(
        "lint_crl",
        &["lint", "-t", "ARL", "-p", "BR", "-s", "WARNING"],
        &lab.path(second),
    );

    the_auditors_commands_hold(&lab);
    refusals_after_the_life(&lab, &sub_serial);
}

/// The ```bash blocks of docs/auditor.md's section on a later ceremony's
/// outputs, run as written on this life's subordinate CA certificate and
/// second CRL (whose previous is the first).
fn the_auditors_commands_hold(lab: &Lab) {
    let guide = std::fs::read_to_string(common::repo().join("docs/auditor.md")).unwrap();
    let section = guide
        .split("\n## ")
        .find(|s| s.starts_with("A later ceremony's outputs"))
        .expect("docs/auditor.md has its section on a later ceremony's outputs");
    let mut script = String::from("set -e -o pipefail\n");
    let mut block = false;
    for line in section.lines() {
        match (block, line) {
            (false, "```bash") => block = true,
            (true, "```") => block = false,
            (true, line) => {
                script.push_str(line);
                script.push('\n');
            }
            (false, _) => {}
        }
    }
    // One folder with both ceremonies' outputs and inputs.
    let folder = lab.path("audit");
    for (from, part) in [
        ("subordinate-p384", "inputs"),
        ("subordinate-p384", "certs"),
        ("crl-2", "inputs"),
        ("crl-2", "crls"),
    ] {
        let to = folder.join(part);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(lab.path(from).join(part)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let script = script
        .replace("cd /tmp/kc-later", &format!("cd '{}'", folder.display()))
        .replace("ROOT_FILE", "example-tls-ecc-root-2026.pem")
        .replace("CSR_FILE", "example-tls-ecc-issuing-ca-1.csr")
        .replace("SUB_ID", SUBORDINATE)
        .replace("CRL_ID", "example-tls-ecc-root-2026-crl-2")
        .replace("PREVIOUS_FILE", "example-tls-ecc-root-2026-crl-1.crl");
    let run = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    assert!(
        run.status.success(),
        "the auditor's commands stopped:\n{out}\n{err}"
    );
    assert_eq!(out.matches(": OK\n").count(), 2, "{out}");
    assert_eq!(err.matches("verify OK").count(), 3, "{err}");
    let hashes: Vec<&str> = out.lines().filter(|l| l.ends_with("  -")).collect();
    assert_eq!(hashes.len(), 3, "{out}");
    assert_eq!(
        hashes[0], hashes[1],
        "the certificate certifies the CSR's key"
    );
    let csr = sha256_of_csr(lab, CSR).to_lowercase();
    assert_eq!(hashes[2], format!("{csr}  -"), "the CSR's recorded SHA-256");
    let inventory = std::fs::read_to_string(lab.inventory()).unwrap();
    let root = out
        .lines()
        .find_map(|l| l.strip_prefix("sha256 Fingerprint="))
        .unwrap();
    assert!(inventory.contains(&format!("\"certificate_sha256\":\"{root}\"")));
    assert!(
        out.contains("crlNumber=0x01") && out.contains("crlNumber=0x02"),
        "{out}"
    );
}

/// What the records of that life make the tool refuse, each before
/// anything is written.
fn refusals_after_the_life(lab: &Lab, sub_serial: &str) {
    // The subordinate's key again, under another subject.
    openssl_csr(
        lab,
        "issuing-ca-1.key",
        "/C=JP/O=Example Trust Co., Ltd./CN=Example TLS ECC Issuing CA 2",
        "requests/issuing-ca-2.csr",
    );
    let script = edited(
        lab,
        "subordinate-p384",
        &[
            (
                "id = \"example-tls-ecc-issuing-ca-1-2026\"",
                "id = \"issuing-ca-2-2026\"",
            ),
            (
                "id = \"example-tls-ecc-issuing-ca-1\"",
                "id = \"issuing-ca-2\"",
            ),
            (
                "csr = \"requests/example-tls-ecc-issuing-ca-1.csr\"",
                "csr = \"requests/issuing-ca-2.csr\"",
            ),
            (
                "common_name = \"Example TLS ECC Issuing CA 1\"",
                "common_name = \"Example TLS ECC Issuing CA 2\"",
            ),
            (
                "certificate = \"example-tls-ecc-issuing-ca-1\"",
                "certificate = \"issuing-ca-2\"",
            ),
        ],
    );
    let answers = answers_for(lab, "subordinate-p384", "issuing-ca-2-2026");
    let out = lab.path("reused-key");
    refused(
        &run_later(lab, &script, &answers, "reused-key"),
        &out,
        &[
            "the subordinate CA certificate 'issuing-ca-2'",
            "a private key is never reused [CPS 6.3.2]",
        ],
    );

    let previous = "previous = \"crl-2/crls/example-tls-ecc-root-2026-crl-2.crl\"";
    let keep = format!(
        "distribution_point = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\n\n[[crls.revoked]]\nserial = \"{sub_serial}\"\nreason = \"superseded\"\n"
    );
    let previous_edit = (
        "previous = \"crl-p384/crls/example-tls-ecc-root-2026-crl-1.crl\"",
        previous,
    );
    let dp = "distribution_point = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\n";

    // A number that is not greater than the last CRL's.
    let (script, answers) = crl_script(lab, "crl-not-greater", &[previous_edit, (dp, &keep)]);
    refused(
        &run_later(lab, &script, &answers, "not-greater"),
        &lab.path("not-greater"),
        &["CRL number 2 is not greater than the last recorded, 2"],
    );

    // The subordinate's entry dropped.
    let (script, answers) = crl_script(
        lab,
        "crl-dropped",
        &[previous_edit, ("number = 2", "number = 3")],
    );
    refused(
        &run_later(lab, &script, &answers, "dropped"),
        &lab.path("dropped"),
        &[&format!(
            "the previous CRL revokes serial {sub_serial} but this one does not"
        )],
    );

    // A certificate another CA issued, and a serial this root never issued.
    openssl(
        &lab.path("requests"),
        &[
            "req",
            "-x509",
            "-new",
            "-sha384",
            "-key",
            "issuing-ca-1.key",
            "-subj",
            "/C=JP/O=Example Trust Co., Ltd./CN=Another Root",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-out",
            "other.pem",
        ],
    );
    let other_serial = serial(lab, "requests/other.pem");
    let other = format!(
        "{keep}\n[[crls.revoked]]\nserial = \"{other_serial}\"\ncertificate = \"requests/other.pem\"\nreason = \"keyCompromise\"\n"
    );
    let (script, answers) = crl_script(
        lab,
        "crl-other-issuer",
        &[previous_edit, ("number = 2", "number = 3"), (dp, &other)],
    );
    refused(
        &run_later(lab, &script, &answers, "other-issuer"),
        &lab.path("other-issuer"),
        &["its signature does not verify with the root's key"],
    );
    let unknown = format!(
        "{keep}\n[[crls.revoked]]\nserial = \"{other_serial}\"\nreason = \"keyCompromise\"\n"
    );
    let (script, answers) = crl_script(
        lab,
        "crl-unknown-serial",
        &[previous_edit, ("number = 2", "number = 3"), (dp, &unknown)],
    );
    refused(
        &run_later(lab, &script, &answers, "unknown-serial"),
        &lab.path("unknown-serial"),
        &["is in the records: a CRL lists only its issuer's certificates [BR 7.2]"],
    );
}

#[test]
fn a_later_ceremony_refuses_before_anything_is_written_and_resumes() {
    // An eight-year root: a subordinate valid longer would outlive it.
    let lab = lab_with_root(&[("validity_days = 9131", "validity_days = 2922")]);
    openssl_csr(&lab, "issuing-ca-1.key", SUBJECT, CSR);
    let (script, answers) = shipped("subordinate-p384");
    let longer = edited(
        &lab,
        "subordinate-p384",
        &[("validity_days = 1826", "validity_days = 3000")],
    );
    refused(
        &run_later(&lab, &longer, &answers, "longer"),
        &lab.path("longer"),
        &["is not within the root's validity"],
    );

    // A CSR whose self-signature is broken.
    let good = std::fs::read(lab.path(CSR)).unwrap();
    let der = lab.path("request.der");
    openssl(
        lab.dir(),
        &["req", "-in", CSR, "-outform", "DER", "-out", "request.der"],
    );
    let mut bad = std::fs::read(&der).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    std::fs::write(lab.path(CSR), &bad).unwrap();
    refused(
        &run_later(&lab, &script, &answers, "bad-csr"),
        &lab.path("bad-csr"),
        &["self-signature does not verify with the public key it holds"],
    );
    std::fs::write(lab.path(CSR), good).unwrap();

    // nextUpdate beyond 12 months.
    let (_, crl_answers) = shipped("crl-p384");
    let late = edited(
        &lab,
        "crl-p384",
        &[("next_update_days = 180", "next_update_days = 400")],
    );
    refused(
        &run_later(&lab, &late, &crl_answers, "late"),
        &lab.path("late"),
        &["nextUpdate 400 days after thisUpdate is more than the 365 days"],
    );

    // Another token, and shares of another split.
    let wrong_token = edited(
        &lab,
        "subordinate-p384",
        &[(
            "initialize = false",
            "initialize = false\ntoken_serial = \"0123456789abcdef\"",
        )],
    );
    refused(
        &run_later(&lab, &wrong_token, &answers, "wrong-token"),
        &lab.path("wrong-token"),
        &["names serial 0123456789abcdef: this is not the root's token"],
    );
    let wrong_split = edited(
        &lab,
        "subordinate-p384",
        &[(
            "shares-from = \"example-tls-ecc-root-2026\"",
            "shares-from = \"example-tls-ecc-root-2026\"\nuser-pin-split = \"ZZZZ\"",
        )],
    );
    refused(
        &run_later(&lab, &wrong_split, &answers, "wrong-split"),
        &lab.path("wrong-split"),
        &["activation.user-pin-split is ZZZZ, but the inventory records split"],
    );
    assert!(
        !lab.path("inventory.issued.jsonl").exists()
            || std::fs::read_to_string(lab.path("inventory.issued.jsonl"))
                .unwrap()
                .is_empty(),
        "a refused ceremony recorded something"
    );

    // Interrupted after its login and resumed: the root is found again on
    // the token, from the copies of the inputs, and the certificate signed.
    let out = lab.path("resumed");
    let mut child = lab
        .cmd()
        .args(lab.run_args(&script, &answers, &out))
        .arg("--inputs")
        .arg(lab.dir())
        .arg("--rehearsal-shares")
        .arg(lab.path("root-p384/rehearsal-shares"))
        .args(["--halt-after", "2.1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let head = kill_when_halted(&mut child, "2.1");
    std::fs::remove_file(lab.path(CSR)).unwrap();
    let resume = lab.path("resume.answers.toml");
    std::fs::write(
        &resume,
        std::fs::read_to_string(&answers).unwrap()
            + &format!("\n[resume]\nchoice = \"resume\"\ncustodians = [\"carol\", \"dave\"]\nhead = \"{head}\"\n"),
    )
    .unwrap();
    let run = run_later(
        &lab,
        &script,
        &room_reads_the_bags(&resume, &out),
        "resumed",
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let verified = openssl(
        lab.dir(),
        &[
            "verify",
            "-CAfile",
            ROOT_PEM,
            &format!("resumed/certs/{SUBORDINATE}.pem"),
        ],
    );
    assert!(verified.contains(": OK"), "{verified}");
    verify_log(&lab, &out);
}

/// subordinate-p384's script with its `[[subordinates]]` table and its
/// sign-subordinate action replaced, under ceremony id `id`.
fn signing_script(lab: &Lab, id: &str, table: &str, action: &str) -> (PathBuf, PathBuf) {
    let (script, _) = shipped("subordinate-p384");
    let body = std::fs::read_to_string(script).unwrap();
    let start = body.find("[[subordinates]]").unwrap();
    let end = body.find("[[acts]]").unwrap();
    let body = format!("{}{table}\n{}", &body[..start], &body[end..])
        .replace(
            "id = \"example-tls-ecc-issuing-ca-1-2026\"",
            &format!("id = \"{id}\""),
        )
        .replace(
            "action = { type = \"sign-subordinate\", certificate = \"example-tls-ecc-issuing-ca-1\" }",
            action,
        );
    // Beside the policy the edited scripts use.
    edited(lab, "subordinate-p384", &[]);
    let path = lab.path(&format!("{id}.toml"));
    std::fs::write(&path, body).unwrap();
    (path, answers_for(lab, "subordinate-p384", id))
}

#[test]
fn a_cross_certificate_and_an_ocsp_responder_certificate_verify_with_openssl_and_pkilint() {
    let lab = lab_with_root(&[]);
    // Another CA of the root's organization, cross-certified.
    openssl_key(&lab, "other.key");
    let requests = lab.path("requests");
    openssl(
        &requests,
        &[
            "req",
            "-x509",
            "-new",
            "-sha384",
            "-key",
            "other.key",
            "-subj",
            "/C=JP/O=Example Trust Co., Ltd./CN=Example Other Root",
            "-days",
            "3000",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "other-root.pem",
        ],
    );
    let (script, answers) = signing_script(
        &lab,
        "cross-2026",
        "[[cross_certificates]]\nid = \"other-root-cross\"\nexisting = \"requests/other-root.pem\"\nvalidity_days = 1826\npolicies = [\"2.23.140.1.2.2\"]\ncrl_url = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\nca_issuers_url = \"http://crt.example.com/example-tls-ecc-root-2026.der\"\n",
        "action = { type = \"sign-cross\", certificate = \"other-root-cross\" }",
    );
    let run = run_later(&lab, &script, &answers, "cross");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let cross = "cross/certs/other-root-cross.pem";
    let verified = openssl(
        lab.dir(),
        &["verify", "-x509_strict", "-CAfile", ROOT_PEM, cross],
    );
    assert!(verified.contains(": OK"), "{verified}");
    pkilint_clean(
        "lint_cabf_serverauth_cert",
        &["lint", "-t", "INTERNAL-CROSS-CA", "-s", "WARNING"],
        &lab.path(cross),
    );
    let subject = |pem: &str| {
        openssl(
            lab.dir(),
            &["x509", "-in", pem, "-noout", "-subject", "-pubkey"],
        )
    };
    assert_eq!(
        subject(cross),
        subject("requests/other-root.pem"),
        "the existing certificate's subject and key are kept"
    );
    let report = std::fs::read_to_string(lab.path("cross/report.md")).unwrap();
    assert!(!report.contains("**FAILED**"), "{report}");
    verify_log(&lab, &lab.path("cross"));

    // The root's delegated OCSP responder, from its CSR.
    let responder = "/C=JP/O=Example Trust Co., Ltd./CN=Example TLS ECC Root 2026 OCSP Responder 1";
    openssl_csr(&lab, "ocsp.key", responder, "requests/ocsp-1.csr");
    let table = "[[ocsp_responders]]\nid = \"ocsp-1\"\ncsr = \"requests/ocsp-1.csr\"\nvalidity_days = 90\n\n[ocsp_responders.subject]\ncountry = \"JP\"\norganization = \"Example Trust Co., Ltd.\"\ncommon_name = \"Example TLS ECC Root 2026 OCSP Responder 1\"\n";
    let action = "action = { type = \"sign-ocsp-responder\", certificate = \"ocsp-1\" }";
    let (longer, answers) = signing_script(
        &lab,
        "ocsp-2026",
        &table.replace("validity_days = 90", "validity_days = 200"),
        action,
    );
    refused(
        &run_later(&lab, &longer, &answers, "ocsp"),
        &lab.path("ocsp"),
        &["a validity of 200 days is more than the 125 days of policy 'reference-cps'"],
    );
    let (script, answers) = signing_script(&lab, "ocsp-2026", table, action);
    let run = run_later(&lab, &script, &answers, "ocsp");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let ocsp = "ocsp/certs/ocsp-1.pem";
    let verified = openssl(lab.dir(), &["verify", "-CAfile", ROOT_PEM, ocsp]);
    assert!(verified.contains(": OK"), "{verified}");
    pkilint_clean(
        "lint_cabf_serverauth_cert",
        &["lint", "-t", "OCSP-RESPONDER", "-s", "WARNING"],
        &lab.path(ocsp),
    );
    let dump = openssl(lab.dir(), &["x509", "-in", ocsp, "-noout", "-text"]);
    assert!(
        dump.contains("OCSP Signing") && dump.contains("OCSP No Check"),
        "{dump}"
    );
    let report = std::fs::read_to_string(lab.path("ocsp/report.md")).unwrap();
    assert!(!report.contains("**FAILED**"), "{report}");
    let records = std::fs::read_to_string(lab.path("inventory.issued.jsonl")).unwrap();
    assert!(
        records.contains("\"kind\":\"cross-certificate\"")
            && records.contains("\"kind\":\"ocsp-responder\"")
    );

    // The responder's key again is refused.
    let (again, answers) = signing_script(
        &lab,
        "ocsp-again-2026",
        &table.replace("id = \"ocsp-1\"", "id = \"ocsp-2\""),
        &action.replace("ocsp-1", "ocsp-2"),
    );
    refused(
        &run_later(&lab, &again, &answers, "ocsp-again"),
        &lab.path("ocsp-again"),
        &["a private key is never reused [CPS 6.3.2]"],
    );
}

/// destroy-p384's script with `edits`, under ceremony id `id`.
fn destroy_script(lab: &Lab, id: &str, edits: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    renamed_script(
        lab,
        ("destroy-p384", "example-tls-ecc-root-2026-destruction"),
        id,
        edits,
    )
}

#[test]
fn a_root_key_is_destroyed_under_dual_control_and_no_later_ceremony_signs_with_it() {
    let lab = lab_with_root(&[]);
    let label = "example-tls-ecc-root-2026";
    let token = "Example TLS ECC Root 2026";

    // One custodian to destroy the key: refused before anything is written,
    // by the script's threshold and by the answers' custodians.
    let user_pin = "custodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 2";
    let (alone, answers) = destroy_script(
        &lab,
        "destruction-alone",
        &[(
            user_pin,
            "custodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 1",
        )],
    );
    refused(
        &run_later(&lab, &alone, &answers, "alone"),
        &lab.path("alone"),
        &["threshold 1 lets fewer than two persons activate the key"],
    );
    let (script, answers) = shipped("destroy-p384");
    let one = lab.path("one.answers.toml");
    std::fs::write(
        &one,
        std::fs::read_to_string(&answers).unwrap().replace(
            "custodians = [\"dave\", \"erin\"]",
            "custodians = [\"dave\"]",
        ),
    )
    .unwrap();
    refused(
        &run_later(&lab, &script, &one, "one"),
        &lab.path("one"),
        &["list of the 2 custodians who activate the token in step 3.1"],
    );
    // A policy whose [destruction] quorum is three, beyond the user PIN's 2.
    let policy = std::fs::read_to_string(lab.path("policy/reference-cps.toml")).unwrap();
    std::fs::write(
        lab.path("policy/three-destroy.toml"),
        policy
            .replace("name = \"reference-cps\"", "name = \"three-destroy\"")
            .replace(
                "section = \"CPS 6.2.10\"\nmin_persons = 2",
                "section = \"CPS 6.2.10\"\nmin_persons = 3",
            ),
    )
    .unwrap();
    let (three, answers_three) = destroy_script(
        &lab,
        "destruction-three",
        &[("policy = \"reference-cps\"", "policy = \"three-destroy\"")],
    );
    refused(
        &run_later(&lab, &three, &answers_three, "three"),
        &lab.path("three"),
        &[
            "step '3.1' destroys the root key under the user PIN's 2 custodian(s); policy 'three-destroy' needs at least 3 distinct authorised people to destroy a key [CPS 6.2.10]",
        ],
    );

    // The shipped ceremony: the key signs a challenge that verifies with
    // the root certificate, both halves are destroyed, nothing is left.
    let pin = common::user_pin(&lab.path("root-p384"), label);
    assert!(lab.labels(token, &pin).iter().any(|l| l == label));
    let run = run_later(&lab, &script, &answers, "destroyed");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = lab.path("destroyed");
    verify_log(&lab, &out);
    let entries = log_entries(&out);
    let of = |kind: &str| {
        entries
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} entry"))
    };
    let go = of("go");
    assert_eq!(go["data"]["action"], "destroy-key");
    assert_eq!(go["data"]["facts"]["Label"], label);
    let requested = of("key-destruction-requested");
    assert_eq!(
        requested["data"]["custodians"],
        serde_json::json!(["dave", "erin"])
    );
    assert!(!requested["data"]["signature"].as_str().unwrap().is_empty());
    let destroyed = of("key-destroyed");
    assert_eq!(destroyed["data"]["scope"], "key");
    assert_eq!(destroyed["data"]["objects_destroyed"], 2);
    assert_eq!(
        destroyed["data"]["destroyed_by"],
        serde_json::json!(["dave", "erin"])
    );
    let generated = log_entries(&lab.path("root-p384"))
        .into_iter()
        .find(|e| e["kind"] == "key-generated" && e["data"]["label"] == label)
        .unwrap();
    assert_eq!(
        destroyed["data"]["public_key_sha256"],
        generated["data"]["public_key_sha256"]
    );
    // OpenSC's view: nothing with the key's label is left on the token.
    let left = lab.labels(token, &pin);
    assert!(!left.iter().any(|l| l == label), "{left:?}");
    let records = std::fs::read_to_string(lab.path("inventory.issued.jsonl")).unwrap();
    let line = records
        .lines()
        .find(|l| l.contains("\"kind\":\"key-destruction\""))
        .expect("the records mark the key destroyed");
    assert!(
        line.contains("\"scope\":\"key\"") && line.contains(label),
        "{line}"
    );

    // The run wrote its report.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for shown in [
        &format!("Key {label} destroyed"),
        "the key itself: the records held no backup of it",
        "by CKA_LABEL and by CKA_ID: nothing found",
    ] {
        assert!(md.contains(shown), "'{shown}' missing from the report");
    }

    // A later ceremony on the destroyed key, and a second destruction, are
    // refused before the token is touched.
    let (crl, crl_answers) = shipped("crl-p384");
    refused(
        &run_later(&lab, &crl, &crl_answers, "crl-after"),
        &lab.path("crl-after"),
        &["was destroyed with its backups in ceremony 'example-tls-ecc-root-2026-destruction'"],
    );
    let (again, again_answers) = destroy_script(&lab, "destruction-again", &[]);
    refused(
        &run_later(&lab, &again, &again_answers, "again"),
        &lab.path("again"),
        &["a destroyed key is never used, backed up or restored again"],
    );
}
