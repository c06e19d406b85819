//! Fault drills: the real `keyceremony` binary against a real SoftHSM2 lab,
//! with something going wrong in the middle of a ceremony: the token folder
//! taken away, a file that is not a PKCS#11 module, a token that cannot
//! store a key, the disk filling up under the log, a signal during key
//! generation, the terminal closed under the TUI.
//!
//! Each drill checks what the operators are owed: a clear message, a log
//! that verifies as interrupted or aborted (`verify-log` exit 3), no key on
//! the token that the log does not account for, and a next run that resumes
//! or aborts cleanly. docs/drills.md says what each one shows.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Lab, module, room_reads_the_bags, shipped, text, user_pin};

/// Ample for RSA-4096 generation in SoftHSM2 on a busy 2-core machine: a
/// second or two alone, but it has taken 47 s with other tests and fuzzers
/// running. Only a bound: nothing here waits for it.
const TIMEOUT: Duration = Duration::from_secs(300);

const P384: Ceremony = Ceremony {
    name: "root-p384",
    id: "example-tls-ecc-root-2026",
    token: "Example TLS ECC Root 2026",
    keygen_step: "3.1",
};

const RSA: Ceremony = Ceremony {
    name: "root-rsa4096",
    id: "example-tls-rsa-root-2026",
    token: "Example TLS RSA Root 2026",
    keygen_step: "3.1",
};

/// A shipped ceremony: its script and rehearsal answers, and what the
/// drills look for.
struct Ceremony {
    name: &'static str,
    id: &'static str,
    token: &'static str,
    /// The step that generates the root key.
    keygen_step: &'static str,
}

impl Ceremony {
    fn script(&self) -> PathBuf {
        shipped(self.name).0
    }

    fn answers(&self) -> PathBuf {
        shipped(self.name).1
    }
}

/// What the drills add to the shared lab: runs of a shipped [`Ceremony`],
/// the answers the room gives on restarting, and the keys on its token.
impl Lab {
    /// `keyceremony run` of a rehearsal, headless, into `out`.
    fn ceremony_cmd(&self, ceremony: &Ceremony, answers: &Path, out: &Path) -> Command {
        self.ceremony_cmd_with_module(ceremony, answers, out, &module())
    }

    /// The inventory stays in the lab, out of the disk-full drill's tmpfs.
    fn ceremony_cmd_with_module(
        &self,
        ceremony: &Ceremony,
        answers: &Path,
        out: &Path,
        module: &Path,
    ) -> Command {
        let mut cmd = self.cmd();
        cmd.args(self.run_args_with_module(&ceremony.script(), answers, out, module))
            .arg("--inventory")
            .arg(self.inventory());
        cmd
    }

    /// A run on `out` with the room's `answers`: on resuming or aborting,
    /// the custodians read their bags as the log leaves them.
    fn run_ceremony(&self, ceremony: &Ceremony, answers: &Path, out: &Path) -> Output {
        let answers = room_reads_the_bags(answers, out);
        self.ceremony_cmd(ceremony, &answers, out).output().unwrap()
    }

    /// The shipped answers plus what the room decides on restarting.
    fn answers_with(&self, ceremony: &Ceremony, resume: &str) -> PathBuf {
        let body = std::fs::read_to_string(ceremony.answers()).unwrap() + resume;
        let path = self.path(&format!("{}-{}.answers.toml", ceremony.name, hash(resume)));
        std::fs::write(&path, body).unwrap();
        path
    }

    fn resume_answers(&self, ceremony: &Ceremony) -> PathBuf {
        self.answers_with(
            ceremony,
            "\n[resume]\nchoice = \"resume\"\ncustodians = [\"carol\", \"dave\"]\n",
        )
    }

    fn abort_answers(&self, ceremony: &Ceremony) -> PathBuf {
        self.answers_with(
            ceremony,
            "\n[resume]\nchoice = \"abort\"\nreason = \"fault drill\"\ncustodians = [\"dave\", \"erin\"]\n",
        )
    }

    /// Labels of every object on the ceremony token, private ones included.
    fn ceremony_labels(&self, ceremony: &Ceremony, out: &Path) -> Vec<String> {
        self.labels(ceremony.token, &user_pin(out, ceremony.id))
    }

    fn no_unaccounted_key(&self, ceremony: &Ceremony, out: &Path) {
        self.assert_every_key_logged(ceremony.token, &user_pin(out, ceremony.id), out);
    }
}

fn hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The log's complete entries (a line still being written is left out).
fn entries(out: &Path) -> Vec<serde_json::Value> {
    let body = std::fs::read(out.join("ceremony.log")).unwrap_or_default();
    body.split_inclusive(|b| *b == b'\n')
        .filter(|l| l.ends_with(b"\n"))
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

fn kinds(out: &Path) -> Vec<String> {
    entries(out)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// `keyceremony verify-log`: exit code and report.
fn verify_log(out: &Path) -> (i32, String) {
    let run = Command::new(BIN)
        .arg("verify-log")
        .arg(out.join("ceremony.log"))
        .output()
        .unwrap();
    (run.status.code().unwrap(), text(&run.stdout))
}

fn assert_interrupted_log(out: &Path, drill: &str) {
    let (code, report) = verify_log(out);
    assert_eq!(
        code, 3,
        "{drill}: the log should verify as interrupted:\n{report}"
    );
}

/// The run exits, unsuccessfully, with `expected` in its message.
fn assert_fails_with(run: &Output, expected: &[&str], drill: &str) {
    let stderr = text(&run.stderr);
    assert!(
        !run.status.success(),
        "{drill}: the run succeeded:\n{}",
        text(&run.stdout)
    );
    for e in expected {
        assert!(
            stderr.contains(e),
            "{drill}: '{e}' not in the message:\n{stderr}"
        );
    }
}

/// Resumes and completes the ceremony: the log then verifies sealed, and
/// the token holds exactly the keys the log accounts for.
fn resume_to_the_end(lab: &Lab, ceremony: &Ceremony, out: &Path, drill: &str) {
    let run = lab.run_ceremony(ceremony, &lab.resume_answers(ceremony), out);
    assert!(
        run.status.success(),
        "{drill}: resuming failed:\n{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let (code, report) = verify_log(out);
    assert_eq!(
        code, 0,
        "{drill}: the resumed log does not verify:\n{report}"
    );
    lab.no_unaccounted_key(ceremony, out);
    assert_eq!(
        lab.ceremony_labels(ceremony, out)
            .iter()
            .filter(|l| *l == ceremony.id)
            .count(),
        2,
        "{drill}: the root key's two halves, once"
    );
}

/// Runs until the drill halt after `step`, then kills the process (SIGKILL).
fn run_and_kill_after(lab: &Lab, ceremony: &Ceremony, out: &Path, step: &str) {
    let mut child = run_until_halted(lab, ceremony, out, step);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs until the drill halt after `step`; the run then waits for ever.
fn run_until_halted(lab: &Lab, ceremony: &Ceremony, out: &Path, step: &str) -> Child {
    let mut child = lab
        .ceremony_cmd(ceremony, &ceremony.answers(), out)
        .args(["--halt-after", step])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("HALTED") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no halt after step {step}:\n{seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child
}

/// Starts a headless run and waits until its log's last complete entry
/// is the root key's generation request: the HSM is generating the key.
fn run_until_key_generation(lab: &Lab, ceremony: &Ceremony, out: &Path) -> Child {
    let mut child = lab
        .ceremony_cmd(ceremony, &ceremony.answers(), out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let log = entries(out);
        if let Some(last) = log.last()
            && last["kind"] == "key-generation-requested"
            && last["step"] == ceremony.keygen_step
        {
            return child;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before the key generation");
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "no key generation in {TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_with_timeout(mut child: Child, drill: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT {
            child.kill().unwrap();
            panic!("{drill}: the run did not stop within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn sh(command: &str) {
    let run = Command::new("sh").args(["-c", command]).output().unwrap();
    assert!(
        run.status.success(),
        "{command}: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
}

/// A mount made by a drill, taken away however the drill ends.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn the_token_folder_taken_away_during_key_generation() {
    let drill = "token folder taken away";
    let lab = Lab::new();
    let out = lab.path("out");
    let child = run_until_key_generation(&lab, &RSA, &out);
    let away = lab.path("lab/tokens-away");
    std::fs::rename(lab.tokens(), &away).unwrap();
    let run = wait_with_timeout(child, drill);
    assert_fails_with(&run, &["C_GenerateKeyPair failed"], drill);
    assert_interrupted_log(&out, drill);
    let kinds = kinds(&out);
    assert!(
        !kinds.contains(&"key-generated".to_string()),
        "a key was recorded as generated with no token folder"
    );
    assert_eq!(kinds.last().unwrap(), "hsm-session-close", "{kinds:?}");

    // The next run cannot find the token, says so, and changes nothing.
    let before = std::fs::read(out.join("ceremony.log")).unwrap();
    let run = lab.run_ceremony(&RSA, &lab.resume_answers(&RSA), &out);
    // SoftHSM2 refuses to initialise without its token folder; the message
    // names the folder and how it was configured.
    let tokens = lab.tokens().display().to_string();
    assert_fails_with(
        &run,
        &[
            "C_Initialize failed",
            "SOFTHSM2_CONF names",
            &tokens,
            "(directories.tokendir) cannot be read",
            "put the token folder back",
        ],
        drill,
    );
    assert_interrupted_log(&out, drill);
    let after = std::fs::read(out.join("ceremony.log")).unwrap();
    assert!(after.starts_with(&before), "the log was rewritten");

    // With the folder back, the ceremony resumes and completes.
    std::fs::rename(&away, lab.tokens()).unwrap();
    lab.no_unaccounted_key(&RSA, &out);
    resume_to_the_end(&lab, &RSA, &out, drill);
}

#[test]
fn a_file_that_is_not_a_pkcs11_module_is_refused() {
    let lab = Lab::new();
    let text_file = lab.path("module.txt");
    std::fs::write(&text_file, "not a shared library\n").unwrap();
    for fake in [Path::new("/bin/ls"), text_file.as_path()] {
        let out = lab.path("out");
        let run = lab
            .ceremony_cmd_with_module(&P384, &P384.answers(), &out, fake)
            .output()
            .unwrap();
        let drill = format!("module {}", fake.display());
        assert_fails_with(&run, &[&fake.display().to_string()], &drill);
        assert!(!out.exists(), "{drill}: output written");
        assert_eq!(
            std::fs::read_dir(lab.tokens()).unwrap().count(),
            1,
            "{drill}: a token was initialised"
        );
    }
}

#[test]
fn a_token_that_cannot_store_the_key() {
    let drill = "read-only token";
    if !is_root() {
        eprintln!("skipped: {drill} needs root for a read-only bind mount (CI runs as root)");
        return;
    }
    let lab = Lab::new();
    let out = lab.path("out");
    // Logged in (2.2), then the token's storage turns read-only, as a full
    // or write-protected token would be; root ignores file modes, so a
    // read-only bind mount does it.
    run_and_kill_after(&lab, &P384, &out, "2.2");
    let tokens = lab.tokens();
    let tokens = tokens.to_str().unwrap();
    sh(&format!(
        "mount --bind {tokens} {tokens} && mount -o remount,bind,ro {tokens}"
    ));
    let mounted = Mounted(lab.tokens());
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
    assert_fails_with(&run, &["C_GenerateKeyPair failed"], drill);
    assert_interrupted_log(&out, drill);
    let log = entries(&out);
    let requested = log
        .iter()
        .rposition(|e| e["kind"] == "key-generation-requested" && e["step"] == "3.1")
        .expect("the generation was requested");
    assert!(
        log[requested..].iter().any(|e| e["kind"] == "error"),
        "the failed generation is not recorded"
    );
    assert!(
        !log[requested..]
            .iter()
            .any(|e| e["kind"] == "key-generated")
    );
    drop(mounted);
    lab.no_unaccounted_key(&P384, &out);
    resume_to_the_end(&lab, &P384, &out, drill);
}

/// Free bytes on the file system holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `stat` a valid out-pointer.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut stat) }, 0);
    stat.f_bavail as u64 * stat.f_frsize as u64
}

#[test]
fn the_disk_fills_up_while_the_log_is_written() {
    let drill = "disk full";
    if !is_root() {
        eprintln!("skipped: {drill} needs root to mount a small tmpfs (CI runs as root)");
        return;
    }
    let lab = Lab::new();
    let disk = lab.path("disk");
    std::fs::create_dir(&disk).unwrap();
    sh(&format!(
        "mount -t tmpfs -o size=200k tmpfs {}",
        disk.display()
    ));
    let _mounted = Mounted(disk.clone());
    let out = disk.join("out");
    run_and_kill_after(&lab, &P384, &out, "1.3");
    // Leave one page free: the resumed run records a few entries, then the
    // log meets a full disk.
    let filler = disk.join("filler");
    let room = free_bytes(&disk) - 4096;
    std::fs::write(&filler, vec![0u8; room as usize]).unwrap();
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
    assert_fails_with(&run, &["No space left on device"], drill);
    assert_interrupted_log(&out, drill);
    assert!(
        kinds(&out).contains(&"check-in".to_string()),
        "the resumed run wrote nothing before the disk was full"
    );

    // Space again: the cut-off entry is dropped and recorded, and the
    // ceremony completes.
    std::fs::remove_file(&filler).unwrap();
    resume_to_the_end(&lab, &P384, &out, drill);
    assert!(
        entries(&out).iter().any(|e| e["description"]
            .as_str()
            .unwrap()
            .contains("ceremony resumed")),
        "the resumption is not recorded"
    );
}

/// A signal while the HSM generates the RSA key: the run waits for the
/// generation, records the key, records the interruption, and stops with a
/// message saying how to go on.
fn signal_during_key_generation(signal: i32, name: &str) -> (Lab, PathBuf) {
    let drill = format!("{name} during key generation");
    let lab = Lab::new();
    let out = lab.path("out");
    let child = run_until_key_generation(&lab, &RSA, &out);
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let run = wait_with_timeout(child, &drill);
    assert_fails_with(
        &run,
        &[
            &format!("interrupted by {name} after the key generation of step 3.1"),
            "resume or abort",
        ],
        &drill,
    );
    assert_interrupted_log(&out, &drill);
    let log = entries(&out);
    let generated = log
        .iter()
        .position(|e| e["kind"] == "key-generated")
        .expect("the key generated before the stop is recorded");
    let stop = log[generated + 1..]
        .iter()
        .find(|e| e["kind"] != "recorded")
        .unwrap();
    assert_eq!(stop["kind"], "error", "{stop}");
    assert_eq!(stop["data"]["interrupted_by"], name);
    assert_eq!(log.last().unwrap()["kind"], "hsm-session-close");
    lab.no_unaccounted_key(&RSA, &out);
    (lab, out)
}

#[test]
fn sigint_during_key_generation_then_resume() {
    let (lab, out) = signal_during_key_generation(libc::SIGINT, "SIGINT");
    resume_to_the_end(&lab, &RSA, &out, "SIGINT");
    // The key made before the signal is the one certified, not a new one.
    assert!(
        entries(&out)
            .iter()
            .any(|e| e["kind"] == "recorded" && e["data"]["taken_up"] == true),
        "the key was not taken up"
    );
    assert_eq!(
        kinds(&out).iter().filter(|k| *k == "key-generated").count(),
        1
    );
}

#[test]
fn sigterm_during_key_generation_then_abort() {
    let (lab, out) = signal_during_key_generation(libc::SIGTERM, "SIGTERM");
    let run = lab.run_ceremony(&RSA, &lab.abort_answers(&RSA), &out);
    assert!(run.status.success(), "abort: {}", text(&run.stderr));
    let (code, report) = verify_log(&out);
    assert_eq!(code, 3, "{report}");
    assert!(report.contains("ABORTED"), "{report}");
    lab.no_unaccounted_key(&RSA, &out);
}

/// Cuts the log after entry `index` (0-based), at a line's end: what a
/// crash right after that entry's fsync leaves, a chain intact but unsealed.
fn cut_log_after(out: &Path, index: usize) {
    let path = out.join("ceremony.log");
    let body = std::fs::read(&path).unwrap();
    let kept: Vec<u8> = body
        .split_inclusive(|b| *b == b'\n')
        .take(index + 1)
        .flatten()
        .copied()
        .collect();
    std::fs::write(&path, kept).unwrap();
}

/// Files under the `interrupted-*/` folders a resumed run moved aside,
/// relative to that folder.
fn moved_aside(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(out).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("interrupted-") {
            continue;
        }
        let mut folders = vec![entry.path()];
        while let Some(folder) = folders.pop() {
            for file in std::fs::read_dir(&folder).unwrap().flatten() {
                let path = file.path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(entry.path()).unwrap();
                    found.push((
                        relative.to_string_lossy().into_owned(),
                        std::fs::read(&path).unwrap(),
                    ));
                }
            }
        }
    }
    found.sort();
    found
}

/// The report written at the end of the run finds every file in the folder
/// accounted for by the log, moved-aside files included.
fn assert_report_accounts_for_every_file(out: &Path, drill: &str) {
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for finding in ["not accounted for", "differs from the log", "is missing"] {
        assert!(
            !report.contains(finding),
            "{drill}: the report says a file {finding}:\n{report}"
        );
    }
    assert!(report.contains("moved aside on resuming"), "{drill}");
}

#[test]
fn a_crash_between_the_records_of_an_export() {
    let drill = "crash inside the export step";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "4.2");
    // As if the tool stopped right after recording the certificate's DER:
    // the other files are on disk but not in the log, and step 4.2 never
    // ended, so it runs again from its start.
    let der = format!("certs/{}.der", P384.id);
    let at = entries(&out)
        .iter()
        .position(|e| e["kind"] == "file-written" && e["data"]["path"] == der.as_str())
        .unwrap();
    cut_log_after(&out, at);
    assert_interrupted_log(&out, drill);
    let before: Vec<u8> = std::fs::read(out.join(&der)).unwrap();

    resume_to_the_end(&lab, &P384, &out, drill);
    let moved = moved_aside(&out);
    let names: Vec<&str> = moved.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            der.as_str(),
            &format!("certs/{}.pem", P384.id),
            "fingerprints.txt",
            &format!("keys/{}.pub.pem", P384.id),
        ],
        "{drill}"
    );
    // The step ran again on the certificate already signed: same bytes.
    assert_eq!(std::fs::read(out.join(&der)).unwrap(), before);
    let fingerprints = std::fs::read_to_string(out.join("fingerprints.txt")).unwrap();
    assert_eq!(fingerprints.lines().count(), 2, "{fingerprints}");
    assert_report_accounts_for_every_file(&out, drill);
}

#[test]
fn lines_added_to_the_fingerprints_after_their_record() {
    let drill = "fingerprints.txt appended after its record";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "4.2");
    // A later export appending its lines, stopped before its record.
    let path = out.join("fingerprints.txt");
    let recorded = std::fs::read(&path).unwrap();
    let mut appended = recorded.clone();
    appended.extend_from_slice(b"another-root SHA256 00\nanother-ro");
    std::fs::write(&path, &appended).unwrap();

    resume_to_the_end(&lab, &P384, &out, drill);
    assert_eq!(std::fs::read(&path).unwrap(), recorded, "{drill}");
    assert_eq!(
        moved_aside(&out),
        [("fingerprints.txt".to_string(), appended)],
        "{drill}"
    );
    let log = entries(&out);
    let moved = log
        .iter()
        .find(|e| e["data"]["moved_to"].is_string())
        .unwrap();
    assert_eq!(moved["data"]["restored"][0], "fingerprints.txt", "{moved}");
    assert_report_accounts_for_every_file(&out, drill);
}

#[test]
fn an_output_changed_after_its_record_is_evidence() {
    let drill = "certificate changed after its record";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "4.2");
    let relative = format!("certs/{}.der", P384.id);
    let der = out.join(&relative);
    let mut changed = std::fs::read(&der).unwrap();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    std::fs::write(&der, &changed).unwrap();
    let log = std::fs::read(out.join("ceremony.log")).unwrap();

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
    assert_fails_with(
        &run,
        &[
            "no longer holds what the log recorded",
            &relative,
            "call the auditor",
            "cannot be resumed",
        ],
        drill,
    );
    assert_eq!(
        std::fs::read(out.join("ceremony.log")).unwrap(),
        log,
        "{drill}: a refused resumption wrote to the log"
    );
    assert_eq!(
        std::fs::read(&der).unwrap(),
        changed,
        "{drill}: the evidence moved"
    );

    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384), &out);
    assert!(
        run.status.success(),
        "{drill}: abort: {}",
        text(&run.stderr)
    );
    let (code, report) = verify_log(&out);
    assert_eq!(code, 3, "{drill}: {report}");
    assert!(report.contains("ABORTED"), "{drill}: {report}");
}

#[test]
fn a_log_without_a_complete_entry_has_nothing_to_resume() {
    let drill = "stopped before the first entry";
    let lab = Lab::new();
    for written in [&b""[..], &b"{\"seq\":1,\"ti"[..]] {
        let out = lab.path("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("ceremony.log"), written).unwrap();
        let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
        assert_fails_with(
            &run,
            &[
                "holds no complete entry",
                "nothing to resume or abort",
                "new --out folder",
            ],
            drill,
        );
        assert_eq!(std::fs::read(out.join("ceremony.log")).unwrap(), written);
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "{drill}");
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn an_aborted_ceremony_is_never_taken_up_again() {
    let drill = "resume after an abort";
    let lab = Lab::new();
    let out = lab.path("out");
    // Stopped before the token existed: the abort is recorded, but there is
    // no log-signing key to seal the log with.
    run_and_kill_after(&lab, &P384, &out, "1.3");
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384), &out);
    assert_fails_with(
        &run,
        &["the abort is recorded, but the log cannot be sealed"],
        drill,
    );
    let aborted = std::fs::read(out.join("ceremony.log")).unwrap();

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
    assert_fails_with(
        &run,
        &[
            "the ceremony was aborted (entry",
            "not taken up again",
            "new --out folder",
        ],
        drill,
    );
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384), &out);
    assert_fails_with(
        &run,
        &["the abort is already recorded (entry", "cannot be sealed"],
        drill,
    );
    assert_eq!(
        std::fs::read(out.join("ceremony.log")).unwrap(),
        aborted,
        "{drill}: the log changed after the abort"
    );
    assert_interrupted_log(&out, drill);
    assert_eq!(kinds(&out).last().unwrap(), "abort", "{drill}");
}

#[test]
fn a_second_run_on_a_running_ceremony_is_refused() {
    let drill = "two runs on one folder";
    let lab = Lab::new();
    let out = lab.path("out");
    let mut first = run_until_halted(&lab, &P384, &out, "1.3");
    let before = std::fs::read(out.join("ceremony.log")).unwrap();
    let second = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
    assert_fails_with(
        &second,
        &["another keyceremony process is running this ceremony"],
        drill,
    );
    assert_eq!(
        std::fs::read(out.join("ceremony.log")).unwrap(),
        before,
        "{drill}: the second run wrote to the log"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // Once the first run is gone, its lock goes with it.
    resume_to_the_end(&lab, &P384, &out, drill);
}

/// Halts after the token's initialisation (step 2.1), kills the run, and
/// cuts the log after the last entry `keep` accepts, as a crash there
/// leaves it.
fn crash_in_the_token_initialisation(
    lab: &Lab,
    out: &Path,
    keep: impl Fn(&serde_json::Value) -> bool,
) {
    run_and_kill_after(lab, &P384, out, "2.1");
    let at = entries(out).iter().rposition(keep).unwrap();
    cut_log_after(out, at);
}

#[test]
fn a_crash_after_every_share_was_handed_out() {
    let drill = "crash before the witness confirmed the token's initialisation";
    let lab = Lab::new();
    let out = lab.path("out");
    crash_in_the_token_initialisation(&lab, &out, |e| {
        e["step"] == "2.1" && e["kind"] != "witness-confirmed" && e["kind"] != "step-end"
    });
    let log = entries(&out);
    // The last custodian's share file, written and read back.
    assert_eq!(log.last().unwrap()["kind"], "copy-checked", "{drill}");
    assert!(
        !log.iter()
            .any(|e| e["step"] == "2.1" && e["kind"] == "step-end"),
        "{drill}"
    );

    resume_to_the_end(&lab, &P384, &out, drill);
    let log = entries(&out);
    assert!(
        log.iter()
            .any(|e| e["step"] == "2.1" && e["data"]["taken_up"] == true),
        "{drill}: the initialised token was not taken up"
    );
    assert_eq!(
        log.iter()
            .filter(|e| e["kind"] == "token-initialized")
            .count(),
        1,
        "{drill}: the token was initialised twice"
    );
    // The share files the step wrote are the ones the resumed run used.
    assert!(moved_aside(&out).is_empty(), "{drill}");
}

#[test]
fn a_crash_while_shares_were_handed_out() {
    let drill = "crash while the shares were handed out";
    let lab = Lab::new();
    let out = lab.path("out");
    // The PINs and the log-signing key exist; no share has been handed out.
    crash_in_the_token_initialisation(&lab, &out, |e| e["kind"] == "log-signing-key");
    let before = std::fs::read(out.join("ceremony.log")).unwrap();

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384), &out);
    assert_fails_with(
        &run,
        &[
            "PINs of that token are lost",
            "cannot be resumed",
            "Abort it",
        ],
        drill,
    );
    assert_eq!(
        std::fs::read(out.join("ceremony.log")).unwrap(),
        before,
        "{drill}: a refused resumption wrote to the log"
    );

    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384), &out);
    assert_fails_with(
        &run,
        &[
            "the abort is recorded, but the log cannot be sealed",
            "PINs were lost",
        ],
        drill,
    );
    assert_interrupted_log(&out, drill);
    assert_eq!(kinds(&out).last().unwrap(), "abort", "{drill}");
}

/// The TUI in a pseudo-terminal whose master side the drill can close, as
/// a terminal window closed or a serial line dropped would.
struct Terminal {
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    reader: Option<Box<dyn Read + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    screen: vt100::Parser,
}

impl Terminal {
    fn spawn(cmd: portable_pty::CommandBuilder) -> Terminal {
        let pair = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        Terminal {
            master: Some(pair.master),
            reader: Some(reader),
            writer: Some(writer),
            child,
            screen: vt100::Parser::new(24, 80, 0),
        }
    }

    /// Reads what the program wrote until the screen shows `wanted`. The
    /// reads happen on this thread, after poll(2) says there is something,
    /// so that closing the terminal needs no reader thread to stop.
    fn wait_for(&mut self, wanted: &str) {
        let fd = self.master.as_ref().unwrap().as_raw_fd().unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 8192];
        while !self.screen.screen().contents().contains(wanted) {
            assert!(
                start.elapsed() < TIMEOUT,
                "no '{wanted}' on the screen:\n{}",
                self.screen.screen().contents()
            );
            let mut poll = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut poll, 1, 50) } > 0 {
                let n = self.reader.as_mut().unwrap().read(&mut buf).unwrap();
                self.screen.process(&buf[..n]);
            }
        }
    }

    fn send(&mut self, keys: &str) {
        let writer = self.writer.as_mut().unwrap();
        writer.write_all(keys.as_bytes()).unwrap();
        writer.flush().unwrap();
    }

    /// Closes every descriptor of the master side: the kernel hangs up the
    /// terminal and sends SIGHUP to the program, its session leader.
    fn hang_up(&mut self) {
        drop(self.writer.take());
        drop(self.reader.take());
        drop(self.master.take());
    }
}

/// A drill that fails must not leave a TUI running behind it.
impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn the_terminal_closed_under_the_tui() {
    let drill = "terminal closed";
    let lab = Lab::new();
    let out = lab.path("out");
    let mut terminal = Terminal::spawn(lab.tui_command(&P384.script(), &out));
    terminal.wait_for("begin the ceremony");
    terminal.send("\r");
    // The engine now waits for the witness of step 1.1.
    terminal.wait_for("confirms step 1.1");
    terminal.hang_up();

    let start = Instant::now();
    let status = loop {
        if let Some(status) = terminal.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "{drill}: still running after the hang-up"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // Exit 1 through the tool's own way out: not killed by the signal, and
    // no panic (which would abort) on a terminal that is gone.
    assert_eq!(status.exit_code(), 1, "{drill}: {status:?}");
    assert_interrupted_log(&out, drill);
    let log = entries(&out);
    let last = log.iter().rfind(|e| e["kind"] == "error").unwrap();
    assert_eq!(last["data"]["interrupted_by"], "SIGHUP", "{last}");
    assert_eq!(last["step"], "1.1");
    resume_to_the_end(&lab, &P384, &out, drill);
}

/// Issue 12, case 4: the token's limit was counted per run, so every resume
/// allowed three more failed logins. The user PIN is changed behind the
/// ceremony's back, so every PIN rebuilt from the right shares is refused
/// by the token.
#[test]
fn failed_logins_are_counted_per_ceremony_across_every_run() {
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "2.1");
    let changed = Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", lab.conf())
        .arg("--module")
        .arg(module())
        .args(["--token-label", P384.token, "--login", "--pin"])
        .arg(user_pin(&out, P384.id))
        .args(["--change-pin", "--new-pin", "changed-behind-the-room"])
        .output()
        .expect("pkcs11-tool missing: apt-get install opensc");
    assert!(changed.status.success(), "{}", text(&changed.stderr));

    let answers = lab.resume_answers(&P384);
    let first = lab.run_ceremony(&P384, &answers, &out);
    assert_fails_with(
        &first,
        &[
            "the token refused 3 login(s) in this ceremony",
            "hsm.max_failed_logins = 3",
        ],
        "first resume",
    );
    let failed = || kinds(&out).iter().filter(|k| *k == "login-failed").count();
    assert_eq!(failed(), 3);
    for run in 0..5 {
        let again = lab.run_ceremony(&P384, &answers, &out);
        assert_fails_with(&again, &["can only be aborted"], &format!("resume {run}"));
        assert_eq!(failed(), 3, "resume {run} tried the token again");
    }
    assert!(!kinds(&out).contains(&"login-succeeded".to_string()));

    // The abort is recorded; no login is tried to seal it, so the log stays
    // unsealed.
    let abort = lab.run_ceremony(&P384, &lab.abort_answers(&P384), &out);
    assert_fails_with(
        &abort,
        &["cannot be sealed", "refused as many logins"],
        "abort",
    );
    assert_eq!(failed(), 3);
    assert!(kinds(&out).contains(&"abort".to_string()));
    assert_interrupted_log(&out, "abort after the limit");
}
