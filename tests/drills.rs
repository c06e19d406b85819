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
        self.ceremony_cmd_with_module(ceremony, answers, out, self.module())
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

    /// A run to its end; the witness copies the heads it shows.
    fn run_ceremony(&self, ceremony: &Ceremony, answers: &Path, out: &Path) -> Output {
        let answers = room_reads_the_bags(answers, out);
        let run = self.ceremony_cmd(ceremony, &answers, out).output().unwrap();
        self.copy_heads(out, &text(&run.stdout));
        run
    }

    /// The witness's paper script of the ceremony in `out`: the last log
    /// head a run showed (at an act's end or when it stopped).
    fn paper(&self, out: &Path) -> PathBuf {
        self.path(&format!("paper-{}", hash(&out.display().to_string())))
    }

    /// What the witness does with the heads a run prints: copies each,
    /// with the entry it follows.
    fn copy_heads(&self, out: &Path, printed: &str) {
        let mut paper = std::fs::read_to_string(self.paper(out)).unwrap_or_default();
        for (entry, head) in shown_heads(printed) {
            paper.push_str(&format!("{entry} {head}\n"));
        }
        std::fs::write(self.paper(out), paper).unwrap();
    }

    /// A crash simulated right after entry `entries`: the heads a run showed
    /// after it were never shown.
    fn forget_heads_after(&self, out: &Path, entries: usize) {
        let paper = std::fs::read_to_string(self.paper(out)).unwrap_or_default();
        let kept: String = paper
            .lines()
            .filter(|l| l.split(' ').next().unwrap().parse::<usize>().unwrap() <= entries)
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(self.paper(out), kept).unwrap();
    }

    /// The last head on the paper script, or "none".
    fn last_copied(&self, out: &Path) -> String {
        std::fs::read_to_string(self.paper(out))
            .ok()
            .and_then(|paper| {
                paper
                    .lines()
                    .last()
                    .map(|l| l.split(' ').nth(1).unwrap().to_string())
            })
            .unwrap_or_else(|| "none".to_string())
    }

    /// The shipped answers plus what the room decides on restarting.
    fn answers_with(&self, ceremony: &Ceremony, resume: &str) -> PathBuf {
        let body = std::fs::read_to_string(ceremony.answers()).unwrap() + resume;
        let path = self.path(&format!("{}-{}.answers.toml", ceremony.name, hash(resume)));
        std::fs::write(&path, body).unwrap();
        path
    }

    fn resume_answers(&self, ceremony: &Ceremony, out: &Path) -> PathBuf {
        self.resume_answers_with(ceremony, out, "")
    }

    /// [`Lab::resume_answers`] with more in the `[resume]` table.
    fn resume_answers_with(&self, ceremony: &Ceremony, out: &Path, more: &str) -> PathBuf {
        self.answers_with(
            ceremony,
            &format!(
                "\n[resume]\nchoice = \"resume\"\ncustodians = [\"carol\", \"dave\"]\nhead = \"{}\"\n{more}",
                self.last_copied(out)
            ),
        )
    }

    fn abort_answers(&self, ceremony: &Ceremony, out: &Path) -> PathBuf {
        self.answers_with(
            ceremony,
            &format!(
                "\n[resume]\nchoice = \"abort\"\nreason = \"fault drill\"\ncustodians = [\"dave\", \"erin\"]\nhead = \"{}\"\n",
                self.last_copied(out)
            ),
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

/// The log heads a headless run printed for the witness to copy, each with
/// the entry it follows: "LOG HEAD at the end of act 2 (entry 41): 3f2a...".
fn shown_heads(printed: &str) -> Vec<(usize, String)> {
    printed
        .lines()
        .filter_map(|l| l.strip_prefix("LOG HEAD at "))
        .map(|l| {
            let entry = l.split("(entry ").nth(1).unwrap();
            let (entry, head) = entry.split_once("): ").unwrap();
            (entry.parse().unwrap(), head.to_string())
        })
        .collect()
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
    let run = lab.run_ceremony(ceremony, &lab.resume_answers(ceremony, out), out);
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
    lab.copy_heads(out, &seen);
    child
}

/// Starts a headless run and waits until its log's last complete entry
/// is the root key's generation request: the HSM is generating the key.
fn run_until_key_generation(lab: &Lab, ceremony: &Ceremony, out: &Path) -> Child {
    let mut child = lab
        .ceremony_cmd(ceremony, &ceremony.answers(), out)
        .stdout(Stdio::piped())
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
    lab.copy_heads(&out, &text(&run.stdout));
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
    let run = lab.run_ceremony(&RSA, &lab.resume_answers(&RSA, &out), &out);
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
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
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

/// A tmpfs of `size` mounted at the lab's `name`, taken away with the
/// guard; None (the drill is skipped) without root.
fn small_disk(lab: &Lab, name: &str, size: &str, drill: &str) -> Option<(PathBuf, Mounted)> {
    if !is_root() {
        eprintln!("skipped: {drill} needs root to mount a small tmpfs (CI runs as root)");
        return None;
    }
    let disk = lab.path(name);
    std::fs::create_dir(&disk).unwrap();
    sh(&format!(
        "mount -t tmpfs -o size={size} tmpfs {}",
        disk.display()
    ));
    Some((disk.clone(), Mounted(disk)))
}

#[test]
fn the_disk_fills_up_while_the_log_is_written() {
    let drill = "disk full";
    let lab = Lab::new();
    let Some((disk, _mounted)) = small_disk(&lab, "disk", "512k", drill) else {
        return;
    };
    let out = disk.join("out");
    run_and_kill_after(&lab, &P384, &out, "1.3");
    // Leave one page free: the resumed run records a few entries, then the
    // log meets a full disk.
    let filler = disk.join("filler");
    let room = free_bytes(&disk) - 4096;
    std::fs::write(&filler, vec![0u8; room as usize]).unwrap();
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
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
    lab.copy_heads(&out, &text(&run.stdout));
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
    let run = lab.run_ceremony(&RSA, &lab.abort_answers(&RSA, &out), &out);
    assert!(run.status.success(), "abort: {}", text(&run.stderr));
    // The run says how it ended as the log does: no "ceremony complete".
    let printed = text(&run.stdout);
    assert!(
        printed.contains("ceremony aborted: its log is sealed as aborted"),
        "{printed}"
    );
    assert!(!printed.contains("ceremony complete"), "{printed}");
    let (code, report) = verify_log(&out);
    assert_eq!(code, 3, "{report}");
    assert!(report.contains("ABORTED"), "{report}");
    lab.no_unaccounted_key(&RSA, &out);
}

/// Cuts the log after entry `index` (0-based), at a line's end: what a
/// crash right after that entry's fsync leaves, a chain intact but unsealed;
/// the heads a run showed after it were never shown.
fn cut_log_after(lab: &Lab, out: &Path, index: usize) {
    lab.forget_heads_after(out, index + 1);
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
    cut_log_after(&lab, &out, at);
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

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
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

    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
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
        let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
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
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
    assert_fails_with(
        &run,
        &["the abort is recorded, but the log cannot be sealed"],
        drill,
    );
    let aborted = std::fs::read(out.join("ceremony.log")).unwrap();

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_fails_with(
        &run,
        &[
            "the ceremony was aborted (entry",
            "not taken up again",
            "new --out folder",
        ],
        drill,
    );
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
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
    let second = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
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
    cut_log_after(lab, out, at);
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
    // Each share is recorded as issued once its share file is on disk.
    assert_eq!(log.last().unwrap()["kind"], "share-issued", "{drill}");
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

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
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

    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
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

// Issue 12: an attacker with the terminal's disk or the PKCS#11 module, but
// no PIN and no share, between an interruption and the resume. Each drill
// below went through on the tool before the fix and ended in a log that
// verify-log accepted; now the resume is refused, or goes on without what
// the attacker planted.

/// The log's lines, without their line feeds.
fn log_lines(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("ceremony.log"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes `lines` as the log, each renumbered and chained again: what a
/// forger with the disk does after changing, removing or adding entries.
fn forge_log(out: &Path, lines: &[String]) {
    use sha2::{Digest, Sha256};
    let mut prev = "0".repeat(64);
    let mut forged = String::new();
    for (i, line) in lines.iter().enumerate() {
        let time_at = line.find(",\"time\":").unwrap();
        let mut entry = format!("{{\"seq\":{}{}", i + 1, &line[time_at..]);
        let at = entry.find("\"prev\":\"").unwrap() + 8;
        entry.replace_range(at..at + 64, &prev);
        prev = hex::encode(Sha256::digest(entry.as_bytes()));
        forged.push_str(&entry);
        forged.push('\n');
    }
    std::fs::write(out.join("ceremony.log"), forged).unwrap();
}

/// Appends an entry of the tool's, as the tool writes it: what the log holds
/// when the tool stopped right after writing it.
fn append_entry(out: &Path, step: &str, kind: &str, description: &str, data: serde_json::Value) {
    let mut lines = log_lines(out);
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    lines.push(format!(
        "{{\"seq\":0,\"time\":{},\"prev\":\"{}\",\"actor\":{{\"id\":\"keyceremony\",\"role\":\"tool\"}},\"step\":\"{step}\",\"kind\":\"{kind}\",\"description\":{},\"data\":{}}}",
        last["time"],
        "0".repeat(64),
        serde_json::Value::from(description),
        data
    ));
    forge_log(out, &lines);
}

/// The run is refused before it writes anything to the log.
fn assert_refused_unchanged(
    run: &Output,
    expected: &[&str],
    out: &Path,
    before: &[u8],
    drill: &str,
) {
    assert_fails_with(run, expected, drill);
    assert_eq!(
        std::fs::read(out.join("ceremony.log")).unwrap(),
        before,
        "{drill}: a refused run wrote to the log"
    );
}

/// Kills a run halted after the root key's step, and cuts its log right
/// after the key's record, as a crash there leaves it; returns the log as
/// it was, and where the key's record is in it.
fn crash_after_the_key_record(
    lab: &Lab,
    ceremony: &Ceremony,
    out: &Path,
) -> (Vec<serde_json::Value>, usize) {
    run_and_kill_after(lab, ceremony, out, ceremony.keygen_step);
    let log = entries(out);
    let at = log
        .iter()
        .position(|e| e["kind"] == "key-generated")
        .unwrap();
    cut_log_after(lab, out, at);
    (log, at)
}

/// No certificate was signed in the ceremony in `out`.
fn assert_never_signed(out: &Path, drill: &str) {
    assert!(
        !kinds(out).contains(&"signed".to_string()),
        "{drill}: a certificate was signed"
    );
}

/// The witness refuses step `step` in the shipped answers.
fn refusing_answers(lab: &Lab, ceremony: &Ceremony, step: &str) -> PathBuf {
    let body = std::fs::read_to_string(ceremony.answers()).unwrap().replace(
        &format!("[steps.\"{step}\"]\nwitness = \"confirm\""),
        &format!("[steps.\"{step}\"]\nwitness = \"refuse\"\nremark = \"the fingerprint read aloud differs\""),
    );
    let path = lab.path(&format!("refuse-{step}.answers.toml"));
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn a_key_that_failed_a_check_is_never_taken_up() {
    let drill = "a key that failed a check";
    let lab = Lab::new();
    let out = lab.path("out");
    // The tool stopped right after recording the key, as when a check of
    // it failed; the inventory already holds its public key, as it would
    // for a key certified before (CPS 6.3.2).
    let (log, at) = crash_after_the_key_record(&lab, &P384, &out);
    let key = log[at]["data"].clone();
    let mut inventory = std::fs::read_to_string(lab.inventory()).unwrap_or_default();
    inventory.push_str(&format!(
        "{{\"ceremony_id\":\"example-tls-ecc-root-2019\",\"time\":\"2019-04-01T10:00:00Z\",\"key_label\":\"old-root\",\"subject\":\"CN=Old Root\",\"public_key_sha256\":{},\"certificate_sha256\":\"{}\"}}\n",
        key["public_key_sha256"],
        "AB".repeat(32)
    ));
    std::fs::write(lab.inventory(), inventory).unwrap();

    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_fails_with(
        &run,
        &["is refused", "a private key is never reused"],
        drill,
    );
    assert!(
        entries(&out)
            .iter()
            .any(|e| e["kind"] == "key-refused" && e["data"]["id"] == key["id"]),
        "{drill}: the refusal is not recorded"
    );
    assert_never_signed(&out, drill);
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_fails_with(&run, &["was refused", "never certified", "Abort it"], drill);
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
    assert!(
        run.status.success(),
        "{drill}: abort: {}",
        text(&run.stderr)
    );
    let abort = entries(&out)
        .into_iter()
        .find(|e| e["kind"] == "abort")
        .unwrap();
    assert!(
        abort["data"]["keys_left_on_token"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == key["id"] && k["state"].as_str().unwrap().starts_with("refused")),
        "{abort}"
    );
}

/// The attacker's tool for the planted-key drill, run by it as a child of
/// this test binary (so that SoftHSM2 reads that lab's SOFTHSM2_CONF): a
/// P-384 key pair made in a public session, with no PIN at all, so
/// CKA_PRIVATE is false, at the CKA_ID given. Without those variables it
/// does nothing.
#[test]
#[ignore = "run by a_key_made_without_a_pin_is_never_taken_up as a child process"]
fn plant_a_key_without_a_pin() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::Attribute;
    let (Ok(token), Ok(id)) = (std::env::var("PLANT_TOKEN"), std::env::var("PLANT_ID")) else {
        return;
    };
    let pkcs11 = Pkcs11::new(module()).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = pkcs11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|slot| pkcs11.get_token_info(*slot).unwrap().label().trim_end() == token)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    let common = |more: Vec<Attribute>| {
        let mut template = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Id(hex::decode(&id).unwrap()),
            Attribute::Label(b"planted".to_vec()),
        ];
        template.extend(more);
        template
    };
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &common(vec![
                Attribute::Verify(true),
                Attribute::EcParams(vec![0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]),
            ]),
            &common(vec![Attribute::Sign(true)]),
        )
        .unwrap();
    println!("planted");
}

#[test]
fn a_key_made_without_a_pin_is_never_taken_up() {
    let drill = "a key planted at the requested CKA_ID";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &RSA, &out, "2.2");
    // The tool stopped right after asking for the root key, before the HSM
    // made it; the attacker reads the CKA_ID in the log and makes an EC key
    // there without any PIN.
    let id = "0badc0ffee0badc0ffee0badc0ffee00";
    append_entry(
        &out,
        "3.1",
        "step-begin",
        "step 3.1 begins",
        serde_json::json!({"act": "3"}),
    );
    append_entry(
        &out,
        "3.1",
        "key-generation-requested",
        "generating RSA-4096 key pair inside the HSM",
        serde_json::json!({"label": RSA.id, "id": id, "algorithm": "RSA-4096"}),
    );
    let planted = Command::new(std::env::current_exe().unwrap())
        .args([
            "plant_a_key_without_a_pin",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("SOFTHSM2_CONF", lab.conf())
        .env("PLANT_TOKEN", RSA.token)
        .env("PLANT_ID", id)
        .output()
        .unwrap();
    assert!(
        text(&planted.stdout).contains("planted"),
        "{}",
        text(&planted.stderr)
    );

    let run = lab.run_ceremony(&RSA, &lab.resume_answers(&RSA, &out), &out);
    assert!(run.status.success(), "{drill}: {}", text(&run.stderr));
    assert_eq!(verify_log(&out).0, 0, "{drill}");
    let log = entries(&out);
    assert!(
        !log.iter()
            .any(|e| e["kind"] == "key-generated" && e["data"]["id"] == id),
        "{drill}: the planted key was taken up"
    );
    assert!(
        log.iter().any(|e| e["data"]["made_without_login"] == id),
        "{drill}: the planted objects are not recorded for the auditor"
    );
    let pem = std::fs::read_to_string(out.join(format!("keys/{}.pub.pem", RSA.id))).unwrap();
    let described = Command::new("openssl")
        .args(["pkey", "-pubin", "-noout", "-text"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(pem.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        text(&described.stdout).contains("Public-Key: (4096 bit)"),
        "{drill}: the certified key is not the ceremony's RSA-4096 key:\n{}",
        text(&described.stdout)
    );
}

#[test]
fn a_log_rewritten_before_the_resume_is_refused() {
    let drill = "rewritten log";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "4.1");
    let honest = std::fs::read(out.join("ceremony.log")).unwrap();
    // A bag serial changed, and every entry after it chained again; the
    // checkpoint at 2.2's end no longer verifies, so it goes, with all
    // after it: verify-log sees an intact, unsealed log.
    let mut lines = log_lines(&out);
    if let Some(checkpoint) = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"checkpoint\""))
    {
        lines.truncate(checkpoint);
    }
    let serial = lines
        .iter()
        .position(|l| l.contains("REHEARSAL-TEB-0001"))
        .unwrap();
    lines[serial] = lines[serial].replace("REHEARSAL-TEB-0001", "TEB-9999");
    forge_log(&out, &lines);
    assert_interrupted_log(&out, drill);
    let forged = std::fs::read(out.join("ceremony.log")).unwrap();
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_refused_unchanged(
        &run,
        &[
            "is not the head after any entry of this log",
            "call the auditor",
        ],
        &out,
        &forged,
        drill,
    );
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
    assert_refused_unchanged(
        &run,
        &["not the log written in the room"],
        &out,
        &forged,
        drill,
    );

    // The honest log goes on: the head copied at act 3's end, then the
    // checkpoint of 4.1, which the token's log-signing key proves.
    std::fs::write(out.join("ceremony.log"), honest).unwrap();
    resume_to_the_end(&lab, &P384, &out, drill);
    let reopened = entries(&out)
        .into_iter()
        .find(|e| e["kind"] == "log-reopened")
        .unwrap();
    assert_eq!(reopened["data"]["proof"]["token_check"], true, "{reopened}");
    assert!(kinds(&out).contains(&"log-key-verified".to_string()));
}

#[test]
fn a_refusal_deleted_from_the_log_is_found_out() {
    let drill = "a witness-refused entry deleted";
    let lab = Lab::new();
    let out = lab.path("out");
    let run = lab.run_ceremony(&P384, &refusing_answers(&lab, &P384, "1.3"), &out);
    assert_fails_with(&run, &["refused the step"], drill);
    // The stop showed its head, which the witness copied; the attacker
    // takes the refusal and the error out.
    let mut lines = log_lines(&out);
    lines.retain(|l| {
        !l.contains("\"kind\":\"witness-refused\"") && !l.contains("\"kind\":\"error\"")
    });
    forge_log(&out, &lines);
    assert_interrupted_log(&out, drill);
    let forged = std::fs::read(out.join("ceremony.log")).unwrap();
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_refused_unchanged(
        &run,
        &["is not the head after any entry"],
        &out,
        &forged,
        drill,
    );
}

#[test]
fn a_key_id_changed_in_the_log_points_at_no_ceremony_key() {
    let drill = "key-generated CKA_ID changed";
    let lab = Lab::new();
    let out = lab.path("out");
    // The witness copied the head at act 2's end, not yet act 3's (killed
    // before it was shown); the attacker points the root key's record at
    // the token's log-signing key, a private key that the token did make.
    let (log, generated) = crash_after_the_key_record(&lab, &RSA, &out);
    let log_key = log
        .iter()
        .find(|e| e["data"]["purpose"] == "log-signing")
        .unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let root = log[generated]["data"]["id"].as_str().unwrap().to_string();
    let mut lines = log_lines(&out);
    let last = lines.len() - 1;
    lines[last] = lines[last].replace(&root, &log_key);
    forge_log(&out, &lines);
    let run = lab.run_ceremony(&RSA, &lab.resume_answers(&RSA, &out), &out);
    assert_fails_with(
        &run,
        &[
            "is refused",
            "the script asks for rsa-4096",
            "CKA_ALWAYS_AUTHENTICATE",
        ],
        drill,
    );
    assert_never_signed(&out, drill);
}

#[test]
fn a_symbolic_link_in_the_output_folder_is_never_followed() {
    let drill = "a link in the output folder";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "1.3");
    let outside = lab.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("passwd"), "root:x:0:0\n").unwrap();
    std::os::unix::fs::symlink(&outside, out.join("etc")).unwrap();
    resume_to_the_end(&lab, &P384, &out, drill);
    assert_eq!(
        std::fs::read_to_string(outside.join("passwd")).unwrap(),
        "root:x:0:0\n",
        "{drill}: a file outside the output folder was moved"
    );
    let moved = entries(&out)
        .into_iter()
        .find(|e| e["data"]["moved_to"].is_string())
        .unwrap();
    assert_eq!(
        moved["data"]["files"],
        serde_json::json!(["etc"]),
        "{moved}"
    );
}

#[test]
fn another_module_or_binary_is_refused_unless_the_witness_accepts_it() {
    let drill = "another module";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "2.2");
    let before = std::fs::read(out.join("ceremony.log")).unwrap();
    let copy = lab.path("other/libsofthsm2.so");
    std::fs::create_dir(lab.path("other")).unwrap();
    std::fs::copy(module(), &copy).unwrap();
    let resume = room_reads_the_bags(&lab.resume_answers(&P384, &out), &out);
    let run = lab
        .ceremony_cmd_with_module(&P384, &resume, &out, &copy)
        .output()
        .unwrap();
    assert_refused_unchanged(
        &run,
        &[
            "PKCS#11 module path",
            "in the first run",
            "recorded exception",
        ],
        &out,
        &before,
        drill,
    );
    // Another build of the tool: its SHA-256 differs.
    let binary = lab.path("other/keyceremony");
    let mut bytes = std::fs::read(BIN).unwrap();
    bytes.push(0);
    std::fs::write(&binary, bytes).unwrap();
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = Command::new(&binary)
        .env("SOFTHSM2_CONF", lab.conf())
        .env_remove("KEYCEREMONY_MODULE")
        .args(lab.run_args(&P384.script(), &resume, &out))
        .arg("--inventory")
        .arg(lab.inventory())
        .output()
        .unwrap();
    assert_refused_unchanged(&run, &["keyceremony binary SHA-256"], &out, &before, drill);

    // Accepted by the witness: recorded as an exception, with this run's
    // own environment.
    let accepted = room_reads_the_bags(
        &lab.resume_answers_with(
            &P384,
            &out,
            "environment-change = \"the same SoftHSM2 package, installed at another path\"\n",
        ),
        &out,
    );
    let run = lab
        .ceremony_cmd_with_module(&P384, &accepted, &out, &copy)
        .output()
        .unwrap();
    assert!(run.status.success(), "{drill}: {}", text(&run.stderr));
    let log = entries(&out);
    assert!(
        log.iter().any(|e| e["kind"] == "exception"
            && e["data"]["accepted"] == true
            && e["description"]
                .as_str()
                .unwrap()
                .contains("PKCS#11 module path")),
        "{drill}: the change is not an exception"
    );
    let modules: Vec<&str> = log
        .iter()
        .filter(|e| e["kind"] == "environment" && e["data"]["module_path"].is_string())
        .map(|e| e["data"]["module_path"].as_str().unwrap())
        .collect();
    assert_eq!(
        modules.len(),
        2,
        "{drill}: one attestation a run: {modules:?}"
    );
    assert!(modules[1].ends_with("other/libsofthsm2.so"), "{modules:?}");
}

#[test]
fn an_unterminated_last_line_is_read_as_the_writer_reads_it() {
    let drill = "unterminated last line";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "1.3");
    let path = out.join("ceremony.log");
    let mut log = std::fs::read(&path).unwrap();
    assert_eq!(log.pop(), Some(b'\n'));
    std::fs::write(&path, log).unwrap();
    resume_to_the_end(&lab, &P384, &out, drill);
    let log = entries(&out);
    // Killed in act 1: no head had been shown and no checkpoint made, so
    // the steps that ended are named for the witness to check on paper.
    let reopened = log.iter().find(|e| e["kind"] == "log-reopened").unwrap();
    assert_eq!(
        reopened["data"]["steps_ended_unproven"],
        serde_json::json!(["1.1", "1.2"]),
        "{reopened}"
    );
    for step in ["1.1", "1.2", "1.3", "1.4", "2.1", "4.3", "5.3"] {
        assert!(
            log.iter()
                .any(|e| e["kind"] == "step-end" && e["step"] == step),
            "{drill}: step {step} never ends in the final log"
        );
    }
}

#[test]
fn a_share_is_issued_only_once_its_file_is_written() {
    let drill = "a share file that cannot be written";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "1.6");
    // Where Erin's share file goes, something that is not a file: its
    // write fails as on a full disk.
    std::fs::create_dir_all(out.join("rehearsal-shares/erin.share")).unwrap();
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert!(
        !entries(&out)
            .iter()
            .any(|e| e["kind"] == "share-issued" && e["data"]["custodian"] == "erin"),
        "{drill}: Erin's shares are recorded as handed out"
    );
    assert_fails_with(
        &run,
        &["erin.share", "Nothing was written or recorded"],
        drill,
    );
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_fails_with(&run, &["PINs of that token are lost"], drill);
}

#[test]
fn a_script_copy_cut_short_is_written_again() {
    let drill = "script copy cut short";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "1.1");
    let at = entries(&out)
        .iter()
        .position(|e| e["kind"] == "file-written" && e["data"]["path"] == "script.toml")
        .unwrap();
    cut_log_after(&lab, &out, at - 1);
    let script = std::fs::read(P384.script()).unwrap();
    std::fs::write(out.join("script.toml"), &script[..script.len() / 2]).unwrap();
    resume_to_the_end(&lab, &P384, &out, drill);
    assert_eq!(
        std::fs::read(out.join("script.toml")).unwrap(),
        script,
        "{drill}"
    );
}

#[test]
fn a_report_that_was_never_finished_is_written_again() {
    let drill = "a report cut short";
    let lab = Lab::new();
    let out = lab.path("out");
    let run = lab.run_ceremony(&P384, &P384.answers(), &out);
    assert!(run.status.success(), "{drill}: {}", text(&run.stderr));
    let html = std::fs::read(out.join("report.html")).unwrap();
    std::fs::remove_file(out.join("report.md")).unwrap();
    std::fs::write(out.join("report.html"), &html[..html.len() / 3]).unwrap();
    let report = Command::new(BIN).arg("report").arg(&out).output().unwrap();
    assert!(report.status.success(), "{drill}: {}", text(&report.stderr));
    assert!(
        text(&report.stdout).contains("never finished"),
        "{}",
        text(&report.stdout)
    );
    assert_eq!(
        std::fs::read(out.join("report.html")).unwrap().len(),
        html.len()
    );
    assert!(out.join("report.md").exists());
    // A finished report is never replaced.
    let again = Command::new(BIN).arg("report").arg(&out).output().unwrap();
    assert_fails_with(&again, &["a report is never overwritten"], drill);
}

#[test]
fn a_full_medium_leaves_no_partial_backup_or_report() {
    let drill = "full backup medium and report disk";
    let lab = Lab::new();
    let Some((media, _media)) = small_disk(&lab, "media", "24k", drill) else {
        return;
    };
    let out = lab.path("out");
    // The ceremony with the small media as its backup folder.
    let run_on_media = |answers: &Path| {
        let mut args = lab.run_args(&P384.script(), answers, &out);
        let backup = args.iter().position(|a| a == "--backup").unwrap() + 1;
        args[backup] = media.clone().into();
        lab.cmd()
            .args(args)
            .arg("--inventory")
            .arg(lab.inventory())
            .output()
            .unwrap()
    };
    let run = run_on_media(&P384.answers());
    // The copy is made before anyone signs the seal: the ceremony stops
    // unsealed, its log-signing key still on the token, and resumes once
    // the media have room.
    assert_fails_with(
        &run,
        &[
            "could not be copied to the backup media",
            "the log-signing key is still on the token",
            "run the same command on the same folder",
        ],
        drill,
    );
    assert_eq!(
        std::fs::read_dir(&media).unwrap().count(),
        0,
        "{drill}: a partial backup is left"
    );
    assert_eq!(verify_log(&out).0, 3, "{drill}: the log is not sealed");
    sh(&format!("mount -o remount,size=16m {}", media.display()));
    let run = run_on_media(&room_reads_the_bags(&lab.resume_answers(&P384, &out), &out));
    assert!(run.status.success(), "{drill}: {}", text(&run.stderr));
    assert_eq!(verify_log(&out).0, 0, "{drill}: the log is sealed");
    let copies: Vec<PathBuf> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().path().join("ceremony.log"))
        .collect();
    assert_eq!(copies.len(), 1, "{drill}: {copies:?}");
    assert_eq!(
        std::fs::read(&copies[0]).unwrap(),
        std::fs::read(out.join("ceremony.log")).unwrap()
    );

    // The report on a disk with no room for it: nothing half written, and
    // with room again it is written. (The run wrote one; this is another.)
    for report in ["report.html", "report.md"] {
        std::fs::remove_file(out.join(report)).unwrap();
    }
    let used: u64 = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let size = format!("{}k", used / 1024 + 64);
    let (disk, _disk) = small_disk(&lab, "disk", &size, drill).unwrap();
    sh(&format!("cp -a {} {}/out", out.display(), disk.display()));
    let copy = disk.join("out");
    std::fs::write(
        disk.join("filler"),
        vec![0u8; free_bytes(&disk) as usize - 8192],
    )
    .unwrap();
    let report = Command::new(BIN).arg("report").arg(&copy).output().unwrap();
    assert_fails_with(&report, &["report", "Nothing of it is left"], drill);
    for name in [
        "report.html",
        "report.md",
        ".report.html.partial",
        ".report.md.partial",
    ] {
        assert!(!copy.join(name).exists(), "{drill}: {name} left behind");
    }
    std::fs::remove_file(disk.join("filler")).unwrap();
    sh(&format!("mount -o remount,size=16m {}", disk.display()));
    let report = Command::new(BIN).arg("report").arg(&copy).output().unwrap();
    assert!(report.status.success(), "{drill}: {}", text(&report.stderr));
}

#[test]
fn a_key_the_witness_refused_is_never_certified() {
    let drill = "a key the witness refused";
    let lab = Lab::new();
    let out = lab.path("out");
    let run = lab.run_ceremony(&P384, &refusing_answers(&lab, &P384, "3.1"), &out);
    assert_fails_with(&run, &["refused the step"], drill);
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_fails_with(&run, &["was refused", "never certified"], drill);
    assert_never_signed(&out, drill);
    // What became of it, in the witness's name.
    let refused = entries(&out)
        .into_iter()
        .find(|e| e["kind"] == "key-refused")
        .expect("the refusal of the key is recorded");
    assert_eq!(refused["actor"]["id"], "quinn", "{refused}");
    assert!(
        refused["description"]
            .as_str()
            .unwrap()
            .contains("stays on the token")
    );
}

#[test]
fn an_abort_lists_every_key_left_on_the_token() {
    let drill = "abort after the key generation";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "3.1");
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
    assert!(run.status.success(), "{drill}: {}", text(&run.stderr));
    let printed = text(&run.stdout);
    assert!(printed.contains("left on the token, live"), "{printed}");
    let abort = entries(&out)
        .into_iter()
        .find(|e| e["kind"] == "abort")
        .unwrap();
    let left: Vec<&str> = abort["data"]["keys_left_on_token"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].as_str().unwrap())
        .collect();
    assert_eq!(left, [P384.id, "example-tls-ecc-root-2026-log"], "{abort}");
    assert!(
        abort["description"]
            .as_str()
            .unwrap()
            .contains("left on the token, live")
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Keys left on the token"), "{drill}: report");
    assert!(
        report.contains("remains live on the token"),
        "{drill}: report"
    );
    // The report and the terminal point to the ceremony that destroys them.
    assert!(
        report.contains(
            "a certified root key in a destroy-key ceremony (ceremony-scripts/destroy-p384.toml"
        ),
        "{drill}: report"
    );
    assert!(
        report.contains("in a re-initialisation ceremony (ceremony-scripts/reinitialize-p384.toml"),
        "{drill}: report"
    );
    assert!(
        printed.contains(
            "until a destroy-key ceremony (a certified key) or a re-initialisation of the token destroys it"
        ),
        "{printed}"
    );
}

#[test]
fn two_ceremonies_on_one_inventory_run_one_at_a_time() {
    let drill = "two ceremonies, one inventory";
    let lab = Lab::new();
    let first = lab.path("first");
    let mut running = run_until_halted(&lab, &P384, &first, "1.3");
    let other = Lab::new();
    let second = other.path("out");
    let run = other
        .cmd()
        .args(other.run_args(&P384.script(), &P384.answers(), &second))
        .arg("--inventory")
        .arg(lab.inventory())
        .output()
        .unwrap();
    assert_fails_with(
        &run,
        &["running a ceremony on the inventory", "one at a time"],
        drill,
    );
    assert!(!second.exists(), "{drill}: the second ceremony wrote");
    running.kill().unwrap();
    running.wait().unwrap();

    // Backup folders whose names a ceremony sealed in the next minutes
    // would take, each holding another ceremony's copy: none is touched.
    let backup = lab.path("backup");
    let now = chrono::Utc::now();
    for s in 0..600 {
        let stamp = (now + chrono::Duration::seconds(s)).format("%Y%m%dT%H%M%SZ");
        let taken = backup.join(format!("{}-{stamp}", P384.id));
        std::fs::create_dir(&taken).unwrap();
        std::fs::write(taken.join("ceremony.log"), "another ceremony\n").unwrap();
    }
    resume_to_the_end(&lab, &P384, &first, drill);
    let copies: Vec<_> = std::fs::read_dir(&backup)
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read(e.path().join("ceremony.log")).unwrap() != b"another ceremony\n")
        .collect();
    assert_eq!(copies.len(), 1, "{drill}: one backup copy of its own");
}

#[test]
fn an_empty_softhsm2_state_file_is_said_as_such() {
    let drill = "SoftHSM2's token.object emptied";
    let lab = Lab::new();
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, "2.2");
    // What a SIGKILL during SoftHSM2's C_Login can leave: the ceremony
    // token's state file, rewritten in place, empty.
    let state = std::fs::read_dir(lab.tokens())
        .unwrap()
        .flatten()
        .map(|e| e.path().join("token.object"))
        .find(|f| {
            let bytes = std::fs::read(f).unwrap();
            bytes
                .windows(P384.token.len())
                .any(|w| w == P384.token.as_bytes())
        })
        .unwrap();
    std::fs::write(&state, b"").unwrap();
    let before = std::fs::read(out.join("ceremony.log")).unwrap();
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_refused_unchanged(
        &run,
        &[
            &format!("SoftHSM2's state file {} is empty", state.display()),
            "during a login (C_Login)",
            "put its token.object back",
        ],
        &out,
        &before,
        drill,
    );
}

#[test]
fn a_log_signing_key_replaced_in_the_log_goes_no_further() {
    let drill = "log-signing key replaced in the log";
    let lab = Lab::new();
    let out = lab.path("out");
    // The head copied at act 1's end comes before the log-signing key's
    // record: the attacker replaces that record with a key of their own.
    run_and_kill_after(&lab, &P384, &out, "2.1");
    let key = lab.path("attacker.pem");
    sh(&format!(
        "openssl ecparam -name secp384r1 -genkey -noout | openssl ec -pubout -out {}",
        key.display()
    ));
    let pem = std::fs::read_to_string(&key).unwrap();
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(&key)
        .output()
        .unwrap()
        .stdout;
    let sha = {
        use sha2::{Digest, Sha256};
        hex::encode_upper(Sha256::digest(&der))
    };
    let mut lines = log_lines(&out);
    let at = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"log-signing-key\""))
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(&lines[at]).unwrap();
    let data = format!(
        "{{\"public_key\":{},\"public_key_sha256\":\"{sha}\",\"uri\":{}}}",
        serde_json::Value::from(pem),
        entry["data"]["uri"]
    );
    let data_at = lines[at].find(",\"data\":").unwrap();
    lines[at] = format!("{},\"data\":{data}}}", &lines[at][..data_at]);
    forge_log(&out, &lines);
    assert_interrupted_log(&out, drill);
    let run = lab.run_ceremony(&P384, &lab.resume_answers(&P384, &out), &out);
    assert_fails_with(
        &run,
        &["does not prove this log", "call the auditor"],
        drill,
    );
    assert!(
        !kinds(&out).contains(&"key-generated".to_string()),
        "{drill}: the ceremony went on to generate its key"
    );
}

/// The same drill on kryoptic, the second module of the tests: killed once
/// the root key is generated and recorded, the ceremony resumes on the same
/// token and certifies that key (kryoptic keeps its slot ids, where SoftHSM2
/// moves an initialised token to a new one).
#[test]
fn a_kryoptic_ceremony_killed_after_key_generation_resumes() {
    let drill = "kryoptic, killed after key generation";
    let lab = Lab::kryoptic(1);
    let out = lab.path("out");
    run_and_kill_after(&lab, &P384, &out, P384.keygen_step);
    assert_interrupted_log(&out, drill);
    lab.no_unaccounted_key(&P384, &out);
    resume_to_the_end(&lab, &P384, &out, drill);
    assert_eq!(
        kinds(&out).iter().filter(|k| *k == "key-generated").count(),
        1,
        "{drill}: the key made before the kill is the one certified"
    );
}

/// `count` logins with a wrong user PIN on `token`, by OpenSC, as someone
/// trying PINs between two runs would.
fn wrong_user_logins(lab: &Lab, token: &str, count: u32) {
    for _ in 0..count {
        let run = Command::new("pkcs11-tool")
            .env(lab.conf_var(), lab.conf())
            .arg("--module")
            .arg(lab.module())
            .args(["--token-label", token, "--login", "--pin", "wrong-pin-0000"])
            .args(["--list-objects"])
            .output()
            .unwrap();
        assert!(!run.status.success(), "a wrong PIN was accepted");
    }
}

/// The token's flags as OpenSC lists them.
fn token_flags(lab: &Lab, token: &str) -> String {
    let run = Command::new("pkcs11-tool")
        .env(lab.conf_var(), lab.conf())
        .arg("--module")
        .arg(lab.module())
        .arg("--list-token-slots")
        .output()
        .unwrap();
    let listing = text(&run.stdout);
    let at = listing
        .find(&format!("token label        : {token}"))
        .unwrap_or_else(|| panic!("{token} not in {listing}"));
    listing[at..]
        .lines()
        .find(|l| l.contains("token flags"))
        .unwrap()
        .to_string()
}

/// kryoptic counts wrong PINs across runs: it sets COUNT_LOW when 3 tries
/// are left, FINAL_TRY at 1, and locks at 0 (SoftHSM2 never locks). COUNT_LOW
/// does not stop a ceremony (SoftHSM2 sets it after a single failure); the
/// final try does, before the login that could lock the token.
#[test]
fn a_kryoptic_token_near_its_lock_out() {
    let drill = "kryoptic near its lock-out";
    let lab = Lab::kryoptic(2);

    let out = lab.path("count-low");
    run_and_kill_after(&lab, &P384, &out, "2.1");
    wrong_user_logins(&lab, P384.token, 7);
    let flags = token_flags(&lab, P384.token);
    assert!(flags.contains("user PIN count low"), "{flags}");
    resume_to_the_end(&lab, &P384, &out, drill);
    // The good login reset the count.
    let flags = token_flags(&lab, P384.token);
    assert!(!flags.contains("count low"), "{flags}");

    let out = lab.path("final-try");
    run_and_kill_after(&lab, &RSA, &out, "2.1");
    wrong_user_logins(&lab, RSA.token, 9);
    let run = lab.run_ceremony(&RSA, &lab.resume_answers(&RSA, &out), &out);
    assert_fails_with(
        &run,
        &["reports its user PIN on its final try", "Do not retry"],
        drill,
    );
    assert_interrupted_log(&out, drill);
    let flags = token_flags(&lab, RSA.token);
    assert!(
        flags.contains("final user PIN try") && !flags.contains("locked"),
        "{flags}"
    );
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

    let answers = lab.resume_answers(&P384, &out);
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
    let abort = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &out), &out);
    assert_fails_with(
        &abort,
        &["cannot be sealed", "refused as many logins"],
        "abort",
    );
    assert_eq!(failed(), 3);
    assert!(kinds(&out).contains(&"abort".to_string()));
    assert_interrupted_log(&out, "abort after the limit");
}

/// An aborted key generation leaves its root key, never certified, live on
/// the token, where no destroy-key ceremony can name it: the shipped
/// re-initialisation ceremony destroys it with everything else on the
/// token under dual control, witnessed (CPS 6.2.10), lists and records
/// what it erased, and leaves the token empty with new PINs; the records
/// mark the key destroyed. Then the refusals: a token that is not there, a
/// policy's destruction quorum the SO PIN's threshold does not meet.
#[test]
fn an_aborted_key_generation_is_destroyed_by_reinitialising_its_token() {
    let lab = Lab::new();
    reinitialize_aborted(&lab, "re-initialise an aborted key generation's token");
    let (_, answers) = shipped("reinitialize-p384");
    let aborted = lab.path("aborted");
    let reinitialize = |script: &Path, answers: &Path, out: &Path| {
        reinitialize_cmd(&lab, &aborted, script, answers, out)
    };
    let drill = "re-initialisation refused";
    // Refused before anything is written: a token that is not there, and
    // an SO-PIN threshold below the policy's destruction quorum.
    let absent = common::edited(
        &lab,
        "reinitialize-p384",
        &[(
            "token_label = \"Example TLS ECC Root 2026\"",
            "token_label = \"No Such Token\"",
        )],
    );
    let refused = lab.path("absent");
    let run = reinitialize(&absent, &answers, &refused).output().unwrap();
    assert!(
        !run.status.success(),
        "{drill}: re-initialised a token that is not there"
    );
    assert!(
        text(&run.stderr).contains("no token is labelled 'No Such Token'"),
        "{drill}: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(!refused.join("ceremony.log").exists(), "{drill}");
    let one = common::edited(
        &lab,
        "reinitialize-p384",
        &[(
            "[activation.so-pin]\ncustodians = [\"farid\", \"grace\", \"hana\"]\nthreshold = 2",
            "[activation.so-pin]\ncustodians = [\"farid\", \"grace\", \"hana\"]\nthreshold = 1",
        )],
    );
    let check = lab
        .cmd()
        .args(["script", "check"])
        .arg(&one)
        .output()
        .unwrap();
    assert!(
        !check.status.success(),
        "{drill}: one SO custodian passed the check"
    );
    assert!(
        text(&check.stdout).contains(
            "the token is re-initialised, which destroys every key on it, under the SO PIN's 1 custodian(s)"
        ),
        "{drill}: {}",
        text(&check.stdout)
    );
}

/// The drill of [`an_aborted_key_generation_is_destroyed_by_reinitialising_its_token`]
/// on `lab`'s module, to the re-initialised token's emptiness.
fn reinitialize_aborted(lab: &Lab, drill: &str) {
    let aborted = lab.path("aborted");
    run_and_kill_after(lab, &P384, &aborted, P384.keygen_step);
    let run = lab.run_ceremony(&P384, &lab.abort_answers(&P384, &aborted), &aborted);
    assert!(
        run.status.success(),
        "{drill}: abort: {}",
        text(&run.stderr)
    );
    let old_pin = user_pin(&aborted, P384.id);
    assert!(
        lab.labels(P384.token, &old_pin)
            .contains(&P384.id.to_string())
    );
    let generated = entries(&aborted)
        .into_iter()
        .find(|e| e["kind"] == "key-generated" && e["data"]["label"] == P384.id)
        .expect("the aborted ceremony generated its root key");

    let (script, answers) = shipped("reinitialize-p384");
    let out = lab.path("reinitialized");
    let reinitialize = |script: &Path, answers: &Path, out: &Path| {
        reinitialize_cmd(lab, &aborted, script, answers, out)
    };
    // Stopped dead once the token is re-initialised and its new shares
    // handed out, then resumed: the rest runs on the new shares.
    let mut child = reinitialize(&script, &answers, &out)
        .args(["--halt-after", "2.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let head = common::kill_when_halted(&mut child, "2.1");
    let resume = lab.path("reinitialize-resume.answers.toml");
    std::fs::write(
        &resume,
        std::fs::read_to_string(&answers).unwrap()
            + &format!(
                "\n[resume]\nchoice = \"resume\"\ncustodians = [\"carol\", \"dave\"]\nhead = \"{head}\"\n"
            ),
    )
    .unwrap();
    let resume = room_reads_the_bags(&resume, &out);
    let run = reinitialize(&script, &resume, &out).output().unwrap();
    assert!(
        run.status.success(),
        "{drill}: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let (code, report) = verify_log(&out);
    assert_eq!(code, 0, "{drill}: {report}");

    let log = entries(&out);
    let listed = log
        .iter()
        .find(|e| e["data"]["token_objects"].is_array())
        .expect("the objects are listed before the token is re-initialised");
    assert!(
        listed["data"]["token_objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["label"] == P384.id && o["class"] == "private key"),
        "{drill}: {listed}"
    );
    assert!(
        log.iter().any(|e| e["kind"] == "token-initialized"
            && e["data"]["reinitialized"] == true
            && e["data"]["objects_found_after"] == 0),
        "{drill}: no re-initialisation recorded"
    );
    let destroyed = log
        .iter()
        .find(|e| e["kind"] == "key-destroyed" && e["data"]["label"] == P384.id)
        .expect("the root key is recorded as destroyed");
    assert_eq!(destroyed["data"]["by"], "token-reinitialization");
    assert_eq!(
        destroyed["data"]["public_key_sha256"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        generated["data"]["public_key_sha256"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        "{drill}: the key destroyed is the one the aborted ceremony generated"
    );
    let records =
        std::fs::read_to_string(lab.inventory().with_file_name("inventory.issued.jsonl")).unwrap();
    assert!(
        records.contains("example-tls-ecc-root-2026-reinitialization")
            && records.contains(destroyed["data"]["public_key_sha256"].as_str().unwrap()),
        "{drill}: the records do not mark the key destroyed: {records}"
    );

    // The old shares open nothing; the new PIN opens an empty token.
    let old = common::list_objects_on(
        lab.module(),
        lab.conf_var(),
        &lab.conf(),
        P384.token,
        &old_pin,
    );
    assert!(
        !old.status.success(),
        "{drill}: the old user PIN still logs in"
    );
    let new_pin = user_pin(&out, "example-tls-ecc-root-2026-reinitialization");
    assert_eq!(
        lab.labels(P384.token, &new_pin),
        Vec::<String>::new(),
        "{drill}: the re-initialised token is not empty"
    );
}

/// `run` of the shipped re-initialisation, headless, the aborted
/// ceremony's rehearsal shares standing for the custodians' old ones.
fn reinitialize_cmd(
    lab: &Lab,
    aborted: &Path,
    script: &Path,
    answers: &Path,
    out: &Path,
) -> Command {
    let mut cmd = lab.cmd();
    cmd.args(lab.run_args(script, answers, out))
        .arg("--rehearsal-shares")
        .arg(aborted.join("rehearsal-shares"))
        .arg("--inventory")
        .arg(lab.inventory());
    cmd
}

/// [`an_aborted_key_generation_is_destroyed_by_reinitialising_its_token`]
/// on kryoptic, whose C_InitToken is the second module's.
#[test]
fn an_aborted_key_generation_is_destroyed_by_reinitialising_its_token_on_kryoptic() {
    reinitialize_aborted(
        &Lab::kryoptic(1),
        "re-initialise an aborted key generation's kryoptic token",
    );
}
