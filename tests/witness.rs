//! The witness's seal is the witness's own (issue 14), on real SoftHSM2
//! tokens: a headless rehearsal whose witness signs the statement on "their
//! own device" with the commands of docs/auditor.md ("Signing the seal"),
//! run as written, with the lab's stand-in token through OpenSSL's pkcs11
//! engine and with a key file; and the auditor's by-hand checks, the
//! guide's and the report's as written, on the untouched log (every check
//! holds) and on copies changed as a forger would (each fails).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{BIN, Lab, edited, independent_signing, module, repo, shipped, text, user_pin};
use p384::ecdsa::signature::Signer;
use p384::ecdsa::{Signature, SigningKey};
use p384::pkcs8::{EncodePublicKey, LineEnding};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use sha2::{Digest, Sha256};

const TOKEN: &str = "Example TLS ECC Root 2026";
const LOG_KEY: &str = "example-tls-ecc-root-2026-log";
const WITNESS_TOKEN_URI: &str = "Quinn%20Adeyemi%20(auditor)";
const WITNESS_KEY: &str = "quinn-adeyemi-seal";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ```bash blocks of docs/auditor.md from the heading `from` up to the
/// heading `to`, as written.
fn guide_blocks(from: &str, to: &str) -> Vec<String> {
    let guide = read(&repo().join("docs/auditor.md"));
    let start = guide
        .find(&format!("\n{from}\n"))
        .unwrap_or_else(|| panic!("no {from} in docs/auditor.md"));
    let end = guide[start..]
        .find(&format!("\n{to}\n"))
        .map_or(guide.len(), |at| start + at);
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in guide[start..end].lines() {
        match (&mut block, line) {
            (None, "```bash") => block = Some(String::new()),
            (Some(_), "```") => blocks.extend(block.take()),
            (Some(text), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn bash(dir: &Path, script: &str, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    // setsid: no controlling terminal, so that OpenSSL's engine reads the
    // PIN it asks for from standard input, as it would a witness's typing.
    let mut child = Command::new("setsid")
        .args(["-w", "bash", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setsid and bash");
    let mut input = child.stdin.take().unwrap();
    if let Some(stdin) = stdin {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// The witness's folder of their own: their key files live there.
struct Witness {
    dir: tempfile::TempDir,
}

/// How the witness signs, on their device.
enum Signs {
    /// The lab's stand-in token, through OpenSSL's pkcs11 engine.
    Token,
    /// A key file made with the guide's commands.
    KeyFile,
}

impl Witness {
    /// The witness's key as "Before the ceremony" makes it, and its pin.
    fn new(lab: &Lab, signs: &Signs) -> (Witness, String) {
        let witness = Witness {
            dir: tempfile::tempdir().unwrap(),
        };
        let before = guide_blocks(
            "### Before the ceremony: your key, pinned",
            "### At the seal: check, then sign",
        );
        assert_eq!(before.len(), 3, "{before:?}");
        let make = match signs {
            Signs::KeyFile => before[0].clone(),
            Signs::Token => witness.token(&before[1], lab),
        };
        let run = bash(witness.dir.path(), &format!("{make}{}", before[2]), None);
        assert!(run.status.success(), "{}", text(&run.stderr));
        let pin = text(&run.stdout).trim().to_string();
        assert_eq!(pin.len(), 64, "{pin}");
        (witness, pin)
    }

    /// A guide's block with the lab's token and key for the placeholders.
    fn token(&self, block: &str, lab: &Lab) -> String {
        format!(
            "export SOFTHSM2_CONF='{}'\n{}",
            lab.conf().display(),
            block
                .replace("YOUR_MODULE", &module().display().to_string())
                .replace("YOUR_TOKEN", WITNESS_TOKEN_URI)
                .replace("YOUR_KEY", WITNESS_KEY)
        )
    }

    /// "At the seal: check, then sign", as written, in the media folder.
    fn sign(&self, lab: &Lab, media: &Path, signs: &Signs) -> Output {
        let blocks = guide_blocks(
            "### At the seal: check, then sign",
            "## Rebuilding the binary that ran the ceremony",
        );
        assert_eq!(blocks.len(), 3, "{blocks:?}");
        let check = blocks[0].replace("MEDIA_FOLDER", &format!("'{}'", media.display()));
        let (sign, pin) = match signs {
            Signs::KeyFile => (blocks[1].clone(), None),
            Signs::Token => (
                self.token(&blocks[2], lab),
                Some(format!("{}\n", read(&lab.witness_pin()).trim())),
            ),
        };
        bash(self.dir.path(), &format!("{check}{sign}"), pin.as_deref())
    }
}

/// The shipped P-384 rehearsal with the witness signing on their own
/// device, their key pinned as `pin`.
fn independent_script(lab: &Lab, pin: &str) -> PathBuf {
    let (lab_token, _) = independent_signing(lab);
    let pinned = format!("witness_key_sha256 = \"{pin}\"\n");
    edited(lab, "root-p384", &[(lab_token, pinned.as_str())])
}

/// The shipped answers, waiting long enough for a signing witness.
fn answers(lab: &Lab) -> PathBuf {
    let (_, shipped_answers) = shipped("root-p384");
    let mut answers = read(&shipped_answers);
    assert!(answers.trim_end().ends_with("head-copied = true"));
    answers.push_str("witness-signature-wait-seconds = 300\n");
    let path = lab.path("independent.answers.toml");
    std::fs::write(&path, answers).unwrap();
    path
}

/// The seal statement's folder on the backup media, once the tool has
/// written it.
fn wait_for_statement(lab: &Lab, run: &mut std::process::Child) -> PathBuf {
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir(lab.path("backup"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("seal-statement.txt").exists());
        if let Some(folder) = found {
            return folder;
        }
        if let Some(status) = run.try_wait().unwrap() {
            panic!("the run ended ({status}) before the statement was written");
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no statement on the media"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A headless rehearsal whose witness signs as `signs` says: the run's
/// output and the media folder.
fn rehearse_signing(lab: &Lab, signs: &Signs) -> (Output, PathBuf, Output) {
    rehearse_signing_after(lab, signs, |_| {})
}

/// [`rehearse_signing`], with `meanwhile` done to the output folder once
/// the statement is on the media, before the witness signs it.
fn rehearse_signing_after(
    lab: &Lab,
    signs: &Signs,
    meanwhile: impl FnOnce(&Path),
) -> (Output, PathBuf, Output) {
    let (witness, pin) = Witness::new(lab, signs);
    let script = independent_script(lab, &pin);
    let out = lab.path("out");
    let log = std::fs::File::create(lab.path("run.stdout")).unwrap();
    let mut run = lab
        .cmd()
        .arg("run")
        .arg(&script)
        .arg("--module")
        .arg(lab.module())
        .arg("--answers")
        .arg(answers(lab))
        .arg("--backup")
        .arg(lab.path("backup"))
        .arg("--out")
        .arg(&out)
        .stdout(log)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let media = wait_for_statement(lab, &mut run);
    meanwhile(&out);
    let signed = witness.sign(lab, &media, signs);
    let output = run.wait_with_output().unwrap();
    let output = Output {
        stdout: std::fs::read(lab.path("run.stdout")).unwrap(),
        ..output
    };
    (output, media, signed)
}

fn verify_log(log: &Path, args: &[&str]) -> (i32, String) {
    let run = Command::new(BIN)
        .arg("verify-log")
        .arg(log)
        .args(args)
        .output()
        .unwrap();
    (run.status.code().unwrap(), text(&run.stdout))
}

/// One rehearsal sealed with the lab's stand-in token on the witness's
/// "device", for every test of the by-hand checks.
struct Sealed {
    lab: Lab,
    media: PathBuf,
}

fn sealed() -> &'static Sealed {
    static SEALED: OnceLock<Sealed> = OnceLock::new();
    SEALED.get_or_init(|| {
        let lab = Lab::new();
        let (run, media, signed) = rehearse_signing(&lab, &Signs::Token);
        assert!(
            signed.status.success() && text(&signed.stdout).contains("Verified OK"),
            "the witness's commands: {}{}",
            text(&signed.stdout),
            text(&signed.stderr)
        );
        assert!(
            text(&signed.stdout)
                .contains("ok: the copy on the media is the log the statement names"),
            "{}",
            text(&signed.stdout)
        );
        assert!(
            run.status.success(),
            "{}\n{}",
            text(&run.stdout),
            text(&run.stderr)
        );
        Sealed { lab, media }
    })
}

fn entries(log: &Path) -> Vec<serde_json::Value> {
    read(log)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_witness_signs_on_their_own_device_with_their_token() {
    let Sealed { lab, media } = sealed();
    let out = lab.path("out");
    let log = out.join("ceremony.log");
    let entries = entries(&log);
    let seal = entries.last().unwrap();
    let head = seal["data"]["head"].as_str().unwrap();
    let key = lab.witness_key();
    let (code, report) = verify_log(
        &log,
        &[
            "--expect-head",
            head,
            "--witness-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{report}");

    // The statement says how the witness signed; entry 1 pinned their key.
    let statement = seal["data"]["statement"].as_str().unwrap();
    assert!(
        statement.contains("\nwitness-signing: independent\n"),
        "{statement}"
    );
    assert!(statement.contains(&format!(
        "\nwitness-key-sha256: {}\n",
        lab.witness_key_sha256()
    )));
    assert_eq!(
        entries[0]["data"]["witness_key_sha256"],
        lab.witness_key_sha256()
    );
    assert_eq!(entries[0]["data"]["witness_signing"], "independent");
    // The seal ends the seal step; nothing but the seal follows the
    // ceremony's end.
    assert_eq!(seal["step"], "5.4");
    assert_eq!(entries[entries.len() - 2]["kind"], "ceremony-end");

    // The witness's PIN never reached the terminal: nothing asked for it,
    // and it is nowhere in the output folder.
    let pin = read(&lab.witness_pin());
    let pin = pin.trim();
    assert!(!read(&log).contains(pin));
    assert!(!read(&lab.path("run.stdout")).contains(pin));
    assert!(!read(&log).contains("witness_key_uri"));

    // How the input was given, with the answers file's SHA-256.
    let answers = std::fs::read(lab.path("independent.answers.toml")).unwrap();
    let input = entries
        .iter()
        .find(|e| e["data"]["input"].is_object())
        .expect("an input record");
    assert_eq!(input["data"]["input"]["from"], "answers-file");
    assert_eq!(
        input["data"]["input"]["sha256"],
        hex::encode_upper(Sha256::digest(&answers))
    );

    // The media hold the sealed log, verified, beside what was signed.
    assert_eq!(read(&media.join("ceremony.log")), read(&log));
    assert_eq!(read(&media.join("seal-statement.txt")), statement);
    for file in [
        "witness-signature.der",
        "witness-public-key.pem",
        "log-signing-key.pem",
    ] {
        assert!(media.join(file).exists(), "{file}");
    }

    // The log-signing key is gone: it can never seal another log.
    let labels = lab.labels(TOKEN, &user_pin(&out, "example-tls-ecc-root-2026"));
    assert!(
        labels.iter().any(|l| l == "example-tls-ecc-root-2026"),
        "{labels:?}"
    );
    assert!(!labels.iter().any(|l| l == LOG_KEY), "{labels:?}");

    // The root key is neither modifiable nor copyable, read back.
    let generated = entries
        .iter()
        .find(|e| e["kind"] == "key-generated")
        .unwrap();
    assert_eq!(generated["data"]["private_attributes"]["modifiable"], false);
    assert_eq!(generated["data"]["private_attributes"]["copyable"], false);
    assert_eq!(generated["data"]["attribute_lock"], "applied");
}

#[test]
fn the_witness_signs_with_a_key_file() {
    let lab = Lab::new();
    let (run, media, signed) = rehearse_signing(&lab, &Signs::KeyFile);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    assert!(run.status.success(), "{}", text(&run.stderr));
    let log = lab.path("out/ceremony.log");
    let (code, report) = verify_log(
        &log,
        &[
            "--witness-key",
            media.join("witness-public-key.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{report}");
    // Not the lab's token: the stand-in key did not sign this one.
    let (code, _) = verify_log(
        &log,
        &["--witness-key", lab.witness_key().to_str().unwrap()],
    );
    assert_eq!(code, 4);
}

#[test]
fn the_token_s_public_key_is_the_one_the_lab_made() {
    let lab = Lab::new();
    let (_, pin) = Witness::new(&lab, &Signs::Token);
    assert_eq!(pin, lab.witness_key_sha256());
}

#[test]
fn a_signature_by_another_key_is_refused_before_the_seal() {
    let lab = Lab::new();
    // The script pins the lab's stand-in; the witness brings a key file.
    let (witness, _) = Witness::new(&lab, &Signs::KeyFile);
    let script = independent_script(&lab, &lab.witness_key_sha256());
    let out = lab.path("out");
    let mut run = lab
        .cmd()
        .arg("run")
        .arg(&script)
        .arg("--module")
        .arg(lab.module())
        .arg("--answers")
        .arg(answers(&lab))
        .arg("--backup")
        .arg(lab.path("backup"))
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let media = wait_for_statement(&lab, &mut run);
    let signed = witness.sign(&lab, &media, &Signs::KeyFile);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let output = run.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("but the script pins the witness's key as")
            && stderr.contains("it is not the witness's key")
            && stderr.contains("this log can never be sealed"),
        "{stderr}"
    );
    let (code, report) = verify_log(&out.join("ceremony.log"), &[]);
    assert_eq!(code, 3, "{report}");
}

/// The log on the terminal's disk edited while the witness signs: the
/// writer goes on from the lines it wrote, and the backup copy, made of the
/// file, is refused because its SHA-256 is not that of those lines.
#[test]
fn a_log_edited_on_disk_before_the_seal_is_not_taken_for_its_backup_copy() {
    let lab = Lab::new();
    let (run, _, signed) = rehearse_signing_after(&lab, &Signs::KeyFile, |out| {
        let log = out.join("ceremony.log");
        let edited = read(&log).replacen("passport", "Passport", 1);
        assert!(edited.contains("Passport"), "a check-in to edit");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .and_then(|mut file| file.write_all(edited.as_bytes()))
            .unwrap();
    });
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "{}", text(&run.stdout));
    assert!(
        stderr.contains("is not the sealed log this tool wrote")
            && stderr.contains("the file copied has SHA-256")
            && stderr.contains("with keyceremony verify-log"),
        "{stderr}"
    );
    let (code, report) = verify_log(&lab.path("out/ceremony.log"), &[]);
    assert_eq!(code, 4, "{report}");
}

/// What the checks printed: every line `ok:`, `Verified OK` or a failure.
struct Printed {
    ok: usize,
    verified: usize,
    failed: Vec<String>,
}

fn printed(out: &str) -> Printed {
    Printed {
        ok: out.lines().filter(|l| l.starts_with("ok: ")).count(),
        verified: out.lines().filter(|l| *l == "Verified OK").count(),
        failed: out
            .lines()
            .filter(|l| l.starts_with("FAILED") || l.starts_with("Verification failure"))
            .map(str::to_string)
            .collect(),
    }
}

/// The checks held: fifteen ok lines and three signatures (the ceremony's,
/// the witness's and a checkpoint's), nothing failed.
const OK_LINES: usize = 15;

/// The guide's log checks (sections 1 to 6) and the report's, as written,
/// run in a copy of the log with the witness's own key beside it.
fn by_hand(log: &[u8], head: &str) -> [(String, String); 2] {
    let Sealed { lab, .. } = sealed();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ceremony.log"), log).unwrap();
    std::fs::copy(lab.witness_key(), dir.path().join("witness-key.pem")).unwrap();
    let guide = guide_blocks("## 1. The chain", "## 7. A copy for the record").concat();
    let report = report_checks();
    [("guide", guide), ("report", report)].map(|(name, checks)| {
        let run = bash(dir.path(), &checks.replace("HEAD_FROM_PAPER", head), None);
        (
            name.to_string(),
            format!("{}{}", text(&run.stdout), text(&run.stderr)),
        )
    })
}

/// The by-hand block of the rehearsal's own report, as written there.
fn report_checks() -> String {
    static CHECKS: OnceLock<String> = OnceLock::new();
    CHECKS
        .get_or_init(|| {
            let Sealed { lab, .. } = sealed();
            let copy = tempfile::tempdir().unwrap();
            for file in ["ceremony.log", "script.toml"] {
                std::fs::copy(lab.path("out").join(file), copy.path().join(file)).unwrap();
            }
            let run = Command::new(BIN)
                .arg("report")
                .arg(copy.path())
                .output()
                .unwrap();
            assert!(run.status.success(), "{}", text(&run.stderr));
            let md = read(&copy.path().join("report.md"));
            let mut blocks = Vec::new();
            let mut block: Option<String> = None;
            for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
                match event {
                    Event::Start(Tag::CodeBlock(_)) => block = Some(String::new()),
                    Event::End(TagEnd::CodeBlock) => blocks.extend(block.take()),
                    Event::Text(t) => {
                        if let Some(b) = block.as_mut() {
                            b.push_str(&t);
                        }
                    }
                    _ => {}
                }
            }
            blocks
                .into_iter()
                .find(|b| b.contains("CHAIN BROKEN"))
                .expect("the report's by-hand checks")
        })
        .clone()
}

fn the_log() -> (Vec<String>, String) {
    let Sealed { lab, .. } = sealed();
    let log = read(&lab.path("out/ceremony.log"));
    let lines: Vec<String> = log.lines().map(str::to_string).collect();
    let head =
        serde_json::from_str::<serde_json::Value>(lines.last().unwrap()).unwrap()["data"]["head"]
            .as_str()
            .unwrap()
            .to_string();
    (lines, head)
}

fn joined(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn the_by_hand_checks_hold_on_the_untouched_log() {
    let (lines, head) = the_log();
    for (name, out) in by_hand(&joined(&lines), &head) {
        let p = printed(&out);
        assert!(p.failed.is_empty(), "{name}: {:?}\n{out}", p.failed);
        assert_eq!(p.ok, OK_LINES, "{name}:\n{out}");
        assert_eq!(p.verified, 3, "{name}:\n{out}");
        assert!(
            out.contains(&format!(
                "ok: the chain holds; checked {0} of {0} entries",
                lines.len()
            )),
            "{name}:\n{out}"
        );
    }
}

/// Rewrites every `prev` as a forger would.
fn rechain(lines: &mut [String]) {
    let mut prev = [0u8; 32];
    for line in lines.iter_mut() {
        let at = line.find("\"prev\":\"").unwrap() + 8;
        line.replace_range(at..at + 64, &hex::encode(prev));
        prev = Sha256::digest(line.as_bytes()).into();
    }
}

fn replaced(line: &str, from: &str, to: &str) -> String {
    assert!(line.contains(from), "{from} not in {line}");
    line.replacen(from, to, 1)
}

/// Every by-hand check set and verify-log must find `lines` changed; the
/// failure the guide prints must include `expected`.
#[track_caller]
fn assert_caught(what: &str, lines: &[String], head: &str, expected: &str) {
    let log = joined(lines);
    for (name, out) in by_hand(&log, head) {
        let p = printed(&out);
        assert!(
            !p.failed.is_empty(),
            "{what}: the {name}'s checks passed:\n{out}"
        );
        assert!(
            p.failed.iter().any(|f| f.contains(expected)),
            "{what}: the {name}'s checks did not say '{expected}': {:?}\n{out}",
            p.failed
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ceremony.log"), &log).unwrap();
    let Sealed { lab, .. } = sealed();
    let key = lab.witness_key();
    let (code, report) = verify_log(
        &dir.path().join("ceremony.log"),
        &[
            "--expect-head",
            head,
            "--witness-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 4, "{what}: verify-log: {report}");
}

#[test]
fn an_edited_entry_fails_the_by_hand_checks() {
    let (lines, head) = the_log();
    let at = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"key-generated\""))
        .unwrap();
    let mut edited = lines.clone();
    edited[at] = replaced(&edited[at], "\"extractable\":false", "\"extractable\":true");
    assert_caught(
        "entry edited",
        &edited,
        &head,
        &format!("CHAIN BROKEN at entry {}", at + 2),
    );
    // Chained again to hide it: the seal no longer names the log's end.
    rechain(&mut edited);
    assert_caught(
        "entry edited and chained again",
        &edited,
        &head,
        "the statement does not name the seal's line as it is",
    );
}

#[test]
fn an_edited_seal_line_fails_the_by_hand_checks() {
    let (lines, head) = the_log();
    let last = lines.len() - 1;
    let seal: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    let time = seal["time"].as_str().unwrap();
    for (from, to) in [
        (
            format!("\"time\":\"{time}\""),
            "\"time\":\"2030-01-01T00:00:00.000Z\"".to_string(),
        ),
        (
            "\"role\":\"qualified-auditor\"".to_string(),
            "\"role\":\"custodian\"".to_string(),
        ),
        (
            "\"description\":\"log sealed: the ceremony completed;".to_string(),
            "\"description\":\"log sealed: the ceremony completed, all well;".to_string(),
        ),
    ] {
        let mut edited = lines.clone();
        edited[last] = replaced(&edited[last], &from, &to);
        assert_caught(
            &format!("seal line: {to}"),
            &edited,
            &head,
            "the statement does not name the seal's line as it is",
        );
    }
    // A seal disguised as an ordinary last entry.
    let mut edited = lines.clone();
    edited[last] = replaced(&edited[last], "\"kind\":\"seal\"", "\"kind\":\"recorded\"");
    edited[last] = replaced(
        &edited[last],
        "keyceremony log seal v2",
        "\\u006beyceremony log seal v2",
    );
    assert_caught(
        "disguised seal",
        &edited,
        &head,
        "the last line is not a seal",
    );
}

fn witness_signature_of(line: &str) -> String {
    let seal: serde_json::Value = serde_json::from_str(line).unwrap();
    seal["data"]["witness_key"]["signature"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_swapped_witness_key_fails_the_by_hand_checks() {
    let (lines, head) = the_log();
    let last = lines.len() - 1;
    let seal: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    let statement = seal["data"]["statement"].as_str().unwrap();
    let theirs = seal["data"]["witness_key"]["public_key"].as_str().unwrap();
    let forger = SigningKey::from_slice(&Sha256::digest(b"a forger's key")).unwrap();
    let pem = forger
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let signature: Signature = forger.sign(statement.as_bytes());
    let signature = hex::encode(signature.normalize_s().to_der().as_bytes());
    let mut edited = lines.clone();
    edited[last] = replaced(
        &edited[last],
        &theirs.replace('\n', "\\n"),
        &pem.replace('\n', "\\n"),
    );
    edited[last] = replaced(
        &edited[last],
        &witness_signature_of(&lines[last]),
        &signature,
    );
    assert_caught(
        "witness key swapped",
        &edited,
        &head,
        "the statement does not name the seal's line as it is",
    );
}

#[test]
fn a_malleated_signature_fails_the_by_hand_checks() {
    let (lines, head) = the_log();
    let last = lines.len() - 1;
    let original = witness_signature_of(&lines[last]);
    let signature = Signature::from_der(&hex::decode(&original).unwrap()).unwrap();
    let (r, s) = signature.split_scalars();
    let twin = Signature::from_scalars(r, -s).unwrap();
    let mut edited = lines.clone();
    edited[last] = replaced(
        &edited[last],
        &original,
        &hex::encode(twin.to_der().as_bytes()),
    );
    assert_caught(
        "witness signature malleated",
        &edited,
        &head,
        "witness-sig.der has a high s",
    );
}

/// A production script that names the lab's signing option is refused by a
/// run for real, before anything is written, on tokens outside any lab:
/// only a rehearsal run lets a stand-in token sign at the terminal
/// (`rehearse` runs the same script unchanged, tests/dress.rs).
#[test]
fn a_production_run_refuses_the_lab_signing_option_before_anything_is_written() {
    let lab = Lab::new();
    let script = edited(
        &lab,
        "root-p384",
        &[("mode = \"rehearsal\"", "mode = \"production\"")],
    );
    let (_, answers) = shipped("root-p384");
    let out = lab.path("out");
    let run = lab
        .cmd()
        .env("SOFTHSM2_CONF", lab.tokens_outside_any_lab())
        .args(lab.run_args(&script, &answers, &out))
        .output()
        .unwrap();
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "{}", text(&run.stdout));
    assert!(
        stderr.contains("is a rehearsal's option") && stderr.contains("CPS 6.1.1"),
        "{stderr}"
    );
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}

/// A run stopped dead after the seal destroyed the log-signing key, while
/// the witness was signing on their own device: the next run says the
/// seal got that far and the log can never be sealed, not that the token
/// is another's (the log's last entry is the ceremony's end).
#[test]
fn a_run_stopped_after_the_log_key_is_destroyed_says_the_log_cannot_be_sealed() {
    let lab = Lab::new();
    let (_, pin) = Witness::new(&lab, &Signs::KeyFile);
    let script = independent_script(&lab, &pin);
    let out = lab.path("out");
    let printed = lab.path("run.stdout");
    let mut run = lab
        .cmd()
        .args(lab.run_args(&script, &answers(&lab), &out))
        .stdout(std::fs::File::create(&printed).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_statement(&lab, &mut run);
    let started = Instant::now();
    while !read(&printed).contains("log-signing key 'example-tls-ecc-root-2026-log' destroyed") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            read(&printed)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    let entries = entries(&out.join("ceremony.log"));
    assert_eq!(entries.last().unwrap()["kind"], "ceremony-end");
    let head = read(&printed)
        .lines()
        .filter(|l| l.starts_with("LOG HEAD at "))
        .filter_map(|l| l.rsplit(": ").next())
        .next_back()
        .expect("a head shown to copy")
        .to_string();

    let (_, shipped_answers) = shipped("root-p384");
    let resume = format!(
        "{}\n[resume]\nchoice = \"resume\"\ncustodians = []\nhead = \"{head}\"\n",
        read(&shipped_answers)
    );
    let resume_answers = lab.path("resume.answers.toml");
    std::fs::write(&resume_answers, resume).unwrap();
    let resume_answers = common::room_reads_the_bags(&resume_answers, &out);
    let again = lab
        .cmd()
        .args(lab.run_args(&script, &resume_answers, &out))
        .output()
        .unwrap();
    assert!(!again.status.success(), "{}", text(&again.stdout));
    let said = text(&again.stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        said.contains("the seal got that far") && said.contains("can never be sealed"),
        "{said}"
    );
    assert!(
        !said.contains("this is not the ceremony's token, or not the log"),
        "{said}"
    );
}

/// The paper script of a ceremony whose witness signs on their own device
/// has the rows they fill in and check at the seal: the statement's
/// SHA-256, to write as the screen shows it, and their pinned key's.
#[test]
fn the_paper_script_has_the_statement_and_the_pinned_key_at_the_seal() {
    let lab = Lab::new();
    let pin = lab.witness_key_sha256();
    let script = independent_script(&lab, &pin);
    let printed = Command::new(BIN)
        .args(["script", "print"])
        .arg(&script)
        .args(["--format", "md"])
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let md = text(&printed.stdout);
    let seal = &md[md.find("seal-log").expect("the seal step")..];
    assert!(seal.contains("SHA-256 of the seal statement"), "{seal}");
    let grouped: Vec<String> = pin
        .to_ascii_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect();
    assert!(seal.contains(&grouped.join(" ")), "{seal}");

    // The lab's option has neither: the witness signs on the terminal.
    let (lab_script, _) = shipped("root-p384");
    let printed = Command::new(BIN)
        .args(["script", "print"])
        .arg(&lab_script)
        .args(["--format", "md"])
        .output()
        .unwrap();
    assert!(!text(&printed.stdout).contains("SHA-256 of the seal statement"));
}
