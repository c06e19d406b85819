//! End-to-end tests of the operator TUI: the real `keyceremony` binary in a
//! pseudo-terminal runs the shipped RSA rehearsal against a SoftHSM2 lab of
//! its own (and `keyceremony rehearse` runs both shipped ceremonies in a lab
//! it makes), and the test types what the people in the room would type,
//! including reading each share off the screen when it is shown and typing
//! it back when its custodian logs in. A signal on the start screen ends the
//! run with nothing written.
//!
//! ratatui moves the cursor between words, so the screen is read through a
//! terminal emulator (vt100) fed with everything the program writes, never
//! from the raw bytes. Every step waits for text on the screen (with a
//! timeout that prints the screen), never on a sleep alone.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, Lab, log_entries, module, repo, resumed_check_ins};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use sha2::{Digest, Sha256};

const ROWS: u16 = 24;
const COLS: u16 = 80;
/// Only a bound, never waited out by a healthy run (seconds): RSA-4096
/// generation in SoftHSM2 has taken 47 s on a 2-core machine busy with the
/// other test binaries.
const TIMEOUT: Duration = Duration::from_secs(300);

const ENTER: &str = "\r";
const DOWN: &str = "\x1b[B";
const F10: &str = "\x1b[21~";
const F6: &str = "\x1b[17~";
const ESC: &str = "\x1b";

/// The notice drawn instead of a screen that does not fit the terminal.
const TOO_SMALL: &str = "MAKE THE TERMINAL LARGER";
const PAGE_DOWN: &str = "\x1b[6~";

/// The program in a pseudo-terminal, and its screen as a terminal shows it.
struct Tty {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    /// Kept to resize the terminal; the reader ends when it is dropped or
    /// the program exits.
    master: Box<dyn MasterPty + Send>,
    /// Every screen a wait ended on, checked at the end for share text.
    seen: Vec<String>,
    /// True from when the test makes the terminal too small on purpose
    /// until a wait succeeds at a size that fits: otherwise every screen
    /// waited for must fit whole.
    small: bool,
    /// (rows, columns) now.
    size: (u16, u16),
    /// Every byte the program wrote: what it prints after the TUI has
    /// given the terminal back, which scrolls off a small screen. The flag
    /// is set once the reader has read the last of it.
    output: Arc<(Mutex<Vec<u8>>, AtomicBool)>,
}

impl Tty {
    fn spawn(cmd: CommandBuilder) -> Tty {
        Tty::spawn_sized(cmd, ROWS, COLS)
    }

    fn spawn_sized(cmd: CommandBuilder, rows: u16, cols: u16) -> Tty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let child = pair.slave.spawn_command(cmd).expect("spawn keyceremony");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let feed = Arc::clone(&screen);
        let output = Arc::new((Mutex::new(Vec::new()), AtomicBool::new(false)));
        let kept = Arc::clone(&output);
        // Ends at EOF (EIO once the program has exited).
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
                kept.0.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            kept.1.store(true, Ordering::Release);
        });
        Tty {
            screen,
            writer,
            child,
            master: pair.master,
            seen: Vec::new(),
            small: false,
            size: (rows, cols),
            output,
        }
    }

    /// Resizes the terminal, as a window manager would: the program is told
    /// (SIGWINCH) and redraws.
    fn resize(&mut self, rows: u16, cols: u16) {
        self.small |= rows < ROWS || cols < COLS;
        self.size = (rows, cols);
        self.screen
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pseudo-terminal");
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// What the program printed as lines, after the TUI gave the terminal
    /// back (with the TUI's drawing before them, escape codes and all), once
    /// it has exited and the last of it is read.
    fn printed(&self) -> String {
        let start = Instant::now();
        while !self.output.1.load(Ordering::Acquire) {
            assert!(start.elapsed() < TIMEOUT, "the terminal never closed");
            std::thread::sleep(Duration::from_millis(20));
        }
        String::from_utf8_lossy(&self.output.0.lock().unwrap()).into_owned()
    }

    /// Waits until the screen shows every one of `texts`; returns the screen.
    fn wait_for(&mut self, texts: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.contents();
            if texts.iter().all(|t| shows(&screen, t)) {
                self.seen.push(screen.clone());
                self.small = self.size.0 < ROWS || self.size.1 < COLS;
                return screen;
            }
            assert!(
                self.small || !screen.contains(TOO_SMALL),
                "a screen does not fit while waiting for {texts:?}:\n{screen}"
            );
            if let Ok(Some(status)) = self.child.try_wait() {
                // One more look: the last frame may have just arrived.
                std::thread::sleep(Duration::from_millis(200));
                let screen = self.contents();
                if texts.iter().all(|t| shows(&screen, t)) {
                    return screen;
                }
                panic!(
                    "keyceremony exited ({status:?}) while waiting for {texts:?}; screen:\n{screen}"
                );
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for {texts:?}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the bottom line (drawn last) is `keys`; returns the
    /// screen, whole.
    fn wait_footer(&mut self, keys: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.contents();
            if screen.lines().last().map(str::trim) == Some(keys) {
                return screen;
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for the bottom line {keys:?}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
    }

    /// Waits for `texts`, then types `keys`.
    fn answer(&mut self, texts: &[&str], keys: &str) {
        self.wait_for(texts);
        self.send(keys);
    }

    /// A manual step: the witness confirms with Enter, then Y.
    fn confirm(&mut self, step: &str) {
        self.answer(&[&format!("confirms step {step}")], ENTER);
        self.answer(&[&format!("confirm that step {step}")], "y");
    }

    /// The end of an act: the witness copies the log's head, then Y.
    fn copy_head(&mut self, act: &str) {
        self.answer(
            &[
                &format!("Log head at the end of act {act}"),
                "Head (SHA-256):",
            ],
            "y",
        );
    }

    /// The go screen: the room reads what is about to happen (`texts` are
    /// on it), the performer presses G, then Y. Returns the screen.
    fn give_go(&mut self, texts: &[&str]) -> String {
        let mut all = vec!["gives the go"];
        all.extend_from_slice(texts);
        let screen = self.wait_for(&all);
        // What does not fit on the terminal is read to its end first.
        while self.contents().contains("more line(s) below") {
            self.send(PAGE_DOWN);
            std::thread::sleep(Duration::from_millis(100));
        }
        self.wait_for(&["G give the go"]);
        self.send("g");
        self.answer(&["give the go? The HSM acts at once"], "y");
        screen
    }

    fn record(&mut self, label: &str, value: &str) {
        self.answer(&[label], &format!("{value}{ENTER}"));
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "keyceremony did not exit:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// No screen but the share screen itself ever showed share text: not
    /// the look-back screen, not share entry, not anything after it.
    fn assert_no_share_text(&self, groups: &[String]) {
        let seen = self
            .seen
            .iter()
            .filter(|screen| !screen.contains("I have copied it"));
        assert!(seen.clone().count() > 50);
        for screen in seen {
            for group in groups {
                assert!(
                    !screen.contains(group.as_str()),
                    "share group {group} on screen:\n{screen}"
                );
            }
        }
    }
}

/// `keyceremony run` of the shipped P-384 rehearsal in a pseudo-terminal,
/// on the lab's tokens: the quicker key, for the runs that go wrong.
fn run_p384_in_tty(lab: &Lab, out: &Path) -> Tty {
    Tty::spawn(lab.tui_command(&repo().join("ceremony-scripts/root-p384.toml"), out))
}

/// The log's entries of `kind`.
fn of_kind(out: &Path, kind: &str) -> Vec<serde_json::Value> {
    log_entries(out)
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// The head of the log in `out`: the SHA-256 of its last line, as the
/// screen showed it when the run stopped.
fn last_head(out: &Path) -> String {
    let log = std::fs::read(out.join("ceremony.log")).unwrap();
    let last = log[..log.len() - 1].rsplit(|b| *b == b'\n').next().unwrap();
    hex::encode(Sha256::digest(last))
}

/// F10, a reason, Y: the operators abort; the run ends on its error screen.
fn abort(tty: &mut Tty, reason: &str) {
    tty.send(F10);
    tty.answer(&["Reason:"], &format!("{reason}{ENTER}"));
    tty.answer(&["abort now"], "y");
    tty.answer(&["THE CEREMONY WAS ABORTED"], ENTER);
    let status = tty.wait_exit();
    assert!(!status.success(), "an aborted ceremony exits with an error");
}

/// `keyceremony run` of the shipped RSA rehearsal in a pseudo-terminal, on
/// the lab's tokens.
fn run_rsa_in_tty(lab: &Lab, out: &Path) -> Tty {
    Tty::spawn(lab.tui_command(&repo().join("ceremony-scripts/root-rsa4096.toml"), out))
}

/// A share as its custodian copied it from the screen: the four lines of
/// the left column.
#[derive(Clone, Debug)]
struct Copied {
    lines: Vec<String>,
    /// Each line's label on the share screen: "header", "groups 1 2 3 4"
    /// and on (a PIN's share has two lines of groups, a wrap key's more),
    /// "final check".
    labels: Vec<String>,
}

impl Copied {
    /// Text of the share's value that must never be on screen or in the log
    /// again: every two neighbouring groups, as shown and run together. One
    /// group alone is four base32 characters, which the upper-case hex of
    /// the log and the screens holds by chance every few runs; two are
    /// forty bits.
    fn groups(&self) -> Vec<String> {
        let groups: Vec<&str> = self.lines[1..self.lines.len() - 1]
            .iter()
            .flat_map(|l| l.split(' '))
            .collect();
        groups
            .windows(2)
            .flat_map(|pair| [pair.join(" "), pair.concat()])
            .collect()
    }
}

/// Reads the share off the share screen (`Share::display_lines`).
fn read_share(screen: &str) -> Copied {
    let (mut lines, mut labels) = (Vec::new(), Vec::new());
    for row in screen.lines().map(str::trim) {
        // "groups 1 2 3 4", and "group 13" alone on the last line.
        let groups = row.rfind("group").filter(|&at| {
            row[at..]
                .trim_start_matches("groups ")
                .trim_start_matches("group ")
                .chars()
                .all(|c| c.is_ascii_digit() || c == ' ')
        });
        let label = match groups {
            _ if row.ends_with("header") && labels.is_empty() => "header".to_string(),
            _ if row.ends_with("final check") && !labels.is_empty() => "final check".to_string(),
            Some(at) if !labels.is_empty() => row[at..].to_string(),
            _ => continue,
        };
        let copy = row[..row.len() - label.len()].trim_end();
        if copy.is_empty() {
            continue;
        }
        lines.push(copy.to_string());
        labels.push(label);
        if labels.last().is_some_and(|l| l == "final check") {
            break;
        }
    }
    assert!(
        labels.len() >= 4 && labels.last().is_some_and(|l| l == "final check"),
        "no share on the share screen:\n{screen}"
    );
    assert!(
        lines[0].starts_with("KC1-"),
        "not a share header: {lines:?}"
    );
    Copied { lines, labels }
}

/// Step through the distribution of one share: look away, copy, look back,
/// bag serial. Returns the share and whether it is a user-PIN share.
fn receive_share(tty: &mut Tty, name: &str, bag: &str) -> (Copied, bool) {
    let share = show_share(tty, name);
    type_back(tty, name, &share);
    seal_share(tty, name, &share, bag);
    let user = share.lines[0].starts_with("KC1-U-");
    (share, user)
}

/// The share screen: everyone else looks away, the custodian reads the
/// share, and Y takes it off the screen.
fn show_share(tty: &mut Tty, name: &str) -> Copied {
    tty.answer(
        &[
            &format!("SHARE FOR {} ONLY", name.to_uppercase()),
            &format!("Everyone except {name}: look away"),
        ],
        ENTER,
    );
    let screen = tty.wait_for(&["I have copied it"]);
    let share = read_share(&screen);
    tty.send("y");
    share
}

/// The custodian types their copy back from the paper.
fn type_back(tty: &mut Tty, name: &str, copy: &Copied) {
    tty.wait_for(&[&format!("{name}: type back share"), "keep looking away"]);
    type_lines(tty, copy);
}

/// The copy matched: the share is gone, and its bag is recorded.
fn seal_share(tty: &mut Tty, name: &str, share: &Copied, bag: &str) {
    let after = tty.wait_for(&[
        "copy matches: the share is wiped",
        &format!("{name} seals share"),
    ]);
    for group in share.groups() {
        assert!(
            !after.contains(&group),
            "share text after the share screen:\n{after}"
        );
    }
    tty.record(&format!("{name} seals share"), bag);
}

/// Chooses the custodians at `positions` (0-based, in the script's order).
fn choose(tty: &mut Tty, positions: &[usize]) {
    tty.wait_for(&["Which custodians come forward"]);
    let mut at = 0;
    for &p in positions {
        while at < p {
            tty.send(DOWN);
            at += 1;
        }
        tty.send(" ");
    }
    tty.answer(&["come forward"], ENTER);
}

/// `name` types their share, line by line, without seeing it: the line
/// being typed shows only asterisks and their count.
fn type_share(tty: &mut Tty, name: &str, share: &Copied) {
    tty.wait_for(&[&format!("At the keyboard: {name}")]);
    type_lines(tty, share);
}

/// Types the share's four lines, each unseen: the line being typed shows
/// only asterisks and their count.
fn type_lines(tty: &mut Tty, share: &Copied) {
    let width = share.labels.iter().map(String::len).max().unwrap_or(0) + 1;
    for (line, label) in share.lines.iter().zip(&share.labels) {
        tty.send(line);
        let row = format!(
            "[>] {label:<width$} {} ({})",
            "*".repeat(line.len().min(40)),
            line.len()
        );
        let screen = tty.wait_for(&[&row]);
        assert!(
            !screen.contains(line.as_str()),
            "typed share text echoed:\n{screen}"
        );
        tty.send(ENTER);
    }
}

/// The user-PIN bag each custodian holds now, by their place in the script.
type Bags = [String; 3];

/// The bags the user-PIN shares are sealed in at the distribution.
fn issued_bags() -> Bags {
    ["TEB-01", "TEB-11", "TEB-21"].map(String::from)
}

/// An activation: the custodians come forward, each reads the serial of
/// the bag holding their share, opens it and types the share; then each
/// seals it in a new bag, `TEB-<place>1-<step>`.
fn activate(tty: &mut Tty, bags: &mut Bags, step: &str, custodians: &[(usize, &str, &Copied)]) {
    let positions: Vec<usize> = custodians.iter().map(|(p, _, _)| *p).collect();
    choose(tty, &positions);
    for (place, name, share) in custodians {
        open_bag(tty, name, &bags[*place]);
        type_share(tty, name, share);
    }
    for (place, name, _) in custodians {
        bags[*place] = format!("TEB-{place}1-{}", step.replace('.', ""));
        tty.record(&format!("{name} seals share"), &bags[*place]);
    }
}

/// `name` reads the serial of their bag before opening it.
fn open_bag(tty: &mut Tty, name: &str, serial: &str) {
    tty.answer(
        &[
            &format!("{name} reads aloud the serial"),
            "before opening it",
        ],
        &format!("{serial}{ENTER}"),
    );
}

/// The hex digits on the two screen rows from the one holding `label`,
/// skipping `skip` rows after it: a SHA-256 as the screen groups it.
fn hex_after(screen: &str, label: &str, skip: usize) -> String {
    let rows: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains(label))
        .skip(skip)
        .take(2)
        .collect();
    let hex: String = rows
        .iter()
        .map(|row| row.split(label).last().unwrap_or(row))
        .flat_map(|row| row.split_whitespace())
        .filter(|word| word.len() == 4 && word.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert_eq!(hex.len(), 64, "no SHA-256 at '{label}':\n{screen}");
    hex.to_uppercase()
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a walk through a shipped rehearsal leaves for the checks.
struct Walked {
    /// Every share value group shown on the share screens.
    groups: Vec<String>,
    /// The seal screen, with the head in groups.
    seal: String,
    /// The user-PIN shares, as their custodians copied them, and the bags
    /// they are in now: what the root's later ceremonies open.
    user_shares: Vec<Copied>,
    bags: Bags,
}

/// The boot media's SHA-256 the shipped rehearsal scripts expect.
const BOOT_MEDIA_SHA256: &str = "A2C8805C321D29E63C686118643481BB6EEED59C470C289058F64C04C11BCC2A";

/// The user-PIN custodians of the shipped scripts, in the script's order.
const CUSTODIANS: [&str; 3] = ["Carol Nakamura", "David Mensah", "Erin Kowalski"];

/// Their SO-PIN custodians: other people (CPS 5.2.4).
const SO_CUSTODIANS: [&str; 3] = ["Farid Haddad", "Grace Lindqvist", "Hana Sato"];

/// From the start screen through step 1.6: check-in, the clock, the bags
/// and the boot media (both shipped scripts have the same steps).
fn prologue(tty: &mut Tty) {
    prologue_of(tty, &EVERYONE);
}

/// [`prologue`] with `people` checked in.
fn prologue_of(tty: &mut Tty, people: &[&str]) {
    check_in_of(tty, people);
    // The clock check: the lab's clock is its own reference.
    check_clock(tty, 0);
    tty.confirm("1.4");
    unseal(tty);
}

/// Everyone of the shipped scripts, in the script's order.
const EVERYONE: [&str; 10] = [
    "Ada Okafor",
    "Samuel Ito",
    "Carol Nakamura",
    "David Mensah",
    "Erin Kowalski",
    "Farid Haddad",
    "Grace Lindqvist",
    "Hana Sato",
    "Lena Fischer",
    "Quinn Adeyemi",
];

/// Everyone of the shipped backup and restore scripts: the backup
/// custodians too, before the log examiner, in the script's order.
fn everyone_and_backup() -> Vec<&'static str> {
    let mut people = EVERYONE.to_vec();
    let at = people.iter().position(|p| *p == "Lena Fischer").unwrap();
    people.splice(at..at, BACKUP_CUSTODIANS);
    people
}

/// The backup custodians of the shipped backup: they hold the wrap key's
/// shares, and no PIN's.
const BACKUP_CUSTODIANS: [&str; 3] = ["Ines Moreau", "Jun Tanaka", "Kofi Boateng"];

/// Steps 1.1 to 1.3. Network interfaces up, as the start screen warned,
/// are named again where the room checks the terminal.
fn check_in_everyone(tty: &mut Tty) {
    check_in_of(tty, &EVERYONE);
}

/// [`check_in_everyone`] with `people` checked in.
fn check_in_of(tty: &mut Tty, people: &[&str]) {
    let network = begin_and_check_in_of(tty, people, &[]);
    tty.confirm("1.2");
    let room = tty.wait_for(&["confirms step 1.3"]);
    assert_eq!(
        room.contains("! Network interfaces up on this terminal"),
        network,
        "{room}"
    );
    tty.confirm("1.3");
}

/// The start screen, step 1.1, and the check-in of step 1.2, where the
/// people in `absent` (name, reason) are recorded absent. True when the
/// start screen warned of network interfaces up.
fn begin_and_check_in(tty: &mut Tty, absent: &[(&str, &str)]) -> bool {
    begin_and_check_in_of(tty, &EVERYONE, absent)
}

/// [`begin_and_check_in`] of `people`.
fn begin_and_check_in_of(tty: &mut Tty, people: &[&str], absent: &[(&str, &str)]) -> bool {
    let start = tty.wait_for(&["begin the ceremony", "REHEARSAL"]);
    assert!(start.contains("SHA-256"), "{start}");
    // The script the start screen names is a file the witness can check,
    // its path wrapped onto the unlabelled lines below when it is long.
    let mut lines = start
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Script"));
    let mut script = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("Script"))
        .expect("the script's path")
        .trim()
        .to_owned();
    for more in lines.map_while(|l| l.strip_prefix(&" ".repeat(11))) {
        script.push_str(more.trim());
    }
    assert!(Path::new(&script).is_file(), "{script}:\n{start}");
    tty.send(ENTER);

    tty.confirm("1.1");
    for &name in people {
        match absent.iter().find(|(n, _)| *n == name) {
            Some((_, reason)) => {
                tty.answer(&[&format!("Now: {name}")], ENTER);
                tty.answer(&[&format!("{name} is absent")], &format!("{reason}{ENTER}"));
            }
            None => tty.answer(&[&format!("Now: {name}")], &format!("passport{ENTER}")),
        }
    }
    start.contains("Network interfaces up")
}

/// Seconds since the epoch on this machine's clock, the lab's reference.
fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The clock check of step 1.4 as the witness does it: they type the time
/// the reference clock (this machine's) will show three seconds on, and
/// press Enter when it shows it. `late`: seconds the terminal is made to
/// look ahead of the reference, by typing a time that many seconds early.
fn check_clock(tty: &mut Tty, late: u64) {
    tty.wait_for(&[
        "Terminal time now: ",
        "press Enter at the moment it shows it",
    ]);
    let mark = now_seconds().ceil() as u64 + 3;
    let typed = (mark - late) % 86_400;
    tty.send(&format!(
        "{:02}:{:02}:{:02}",
        typed / 3600,
        typed / 60 % 60,
        typed % 60
    ));
    while now_seconds() < mark as f64 {
        std::thread::sleep(Duration::from_millis(2));
    }
    tty.send(ENTER);
}

/// Steps 1.5 and 1.6.
fn unseal(tty: &mut Tty) {
    // The serials recorded when the HSM and the terminal were last sealed,
    // and the boot media's published SHA-256, as the shipped scripts expect.
    // Enter alone records nothing, and says so.
    tty.answer(&["Serial of the HSM's tamper-evident bag:"], ENTER);
    tty.wait_for(&["(nothing typed yet: type it, then Enter)"]);
    tty.record(
        "Serial of the HSM's tamper-evident bag:",
        "REHEARSAL-TEB-0001",
    );
    tty.record(
        "Serial of the terminal's tamper-evident bag:",
        "REHEARSAL-TEB-0002",
    );
    tty.confirm("1.5");
    tty.record("SHA-256 of the boot media:", BOOT_MEDIA_SHA256);
    tty.confirm("1.6");
    // A key the screen does not take is named in the bottom line.
    tty.answer(&["Log head at the end of act 1"], "x");
    tty.wait_for(&["X does nothing here."]);
    tty.copy_head("1");
}

/// Step 2.1: every custodian receives their share: Carol, David and Erin
/// one of the user PIN, Farid, Grace and Hana one of the SO PIN. Returns the
/// user-PIN shares in the script's order, and every share's value groups.
fn distribution(tty: &mut Tty) -> (Vec<Copied>, Vec<String>) {
    let (user_shares, _, all_groups) = distribute(tty);
    (user_shares, all_groups)
}

/// [`distribution`], the SO-PIN shares kept too: user-PIN shares, SO-PIN
/// shares, every share's value groups.
fn distribute(tty: &mut Tty) -> (Vec<Copied>, Vec<Copied>, Vec<String>) {
    tty.give_go(&["initialise token serial", "SO PIN", "User PIN", "Log key"]);
    let mut user_shares: Vec<Copied> = Vec::new();
    let mut all_groups: Vec<String> = Vec::new();
    for (i, name) in CUSTODIANS.iter().enumerate() {
        let (share, user) = receive_share(tty, name, &format!("TEB-{i}1"));
        assert!(user, "{name} holds a user-PIN share");
        all_groups.extend(share.groups());
        user_shares.push(share);
    }
    let mut so_shares: Vec<Copied> = Vec::new();
    for (i, name) in SO_CUSTODIANS.iter().enumerate() {
        let (share, user) = receive_share(tty, name, &format!("TEB-{}0", i + 3));
        assert!(!user, "{name} holds an SO-PIN share");
        all_groups.extend(share.groups());
        so_shares.push(share);
    }
    tty.confirm("2.1");
    (user_shares, so_shares, all_groups)
}

/// Walks through a shipped rehearsal script from its start screen to the
/// last screen, as the people in the room would (both shipped scripts have
/// the same steps).
fn walk_through(tty: &mut Tty, witness_pin: &str) -> Walked {
    let mut walked = walk_to_the_seal(tty);
    walked.seal = seal_log(tty, witness_pin);
    walked
}

/// [`walk_through`] up to the seal's last activation: what is left is the
/// witness's signature and the head to copy.
fn walk_to_the_seal(tty: &mut Tty) -> Walked {
    prologue(tty);
    let (user_shares, all_groups) = distribution(tty);
    let custodians = CUSTODIANS;

    // 2.2: Carol and David activate the token, after two wrong moves.
    let mut bags = issued_bags();
    first_activation(tty, &mut bags, &user_shares);
    tty.wait_for(&["confirms step 2.2", "HSM: logged in to token"]);
    tty.confirm("2.2");
    tty.copy_head("2");

    // 3.1: the key is generated; its fingerprint is grouped and in words.
    tty.give_go(&[
        "generate the",
        "root key pair",
        "CKA_ID",
        "never extractable",
    ]);
    let screen = tty.wait_for(&[
        "confirms step 3.1",
        "Public key SHA-256 of",
        "step 3.1 (9 of 16)",
        "CKA_NEVER_EXTRACTABLE=true",
    ]);
    let generated = hex_after(&screen, "Public key SHA-256 of", 1);
    tty.confirm("3.1");
    tty.copy_head("3");

    // 4.1: the room reads the certificate before the custodians authorise
    // its signature; then David and Erin activate the key for it.
    let preview = tty.give_go(&[
        "sign the root certificate",
        "Subject",
        "(self-signed)",
        "Not after",
        "basicConstraints, critical: CA:TRUE",
        "keyUsage, critical: keyCertSign, cRLSign",
        "subjectKeyIdentifier",
        "Pre-signing lint: no finding",
    ]);
    assert_eq!(
        hex_after(&preview, "Key SHA-256", 0),
        generated,
        "the certificate to be signed holds the key just generated:\n{preview}"
    );
    activate(
        tty,
        &mut bags,
        "4.1",
        &[
            (1, custodians[1], &user_shares[1]),
            (2, custodians[2], &user_shares[2]),
        ],
    );
    tty.wait_for(&["Certificate SHA-256 of"]);
    tty.confirm("4.1");
    tty.wait_for(&["confirms step 4.2", "Certificate SHA-256 of"]);
    tty.confirm("4.2");
    tty.wait_for(&["confirms step 4.3", "HSM: logged out of token"]);
    tty.confirm("4.3");
    tty.copy_head("4");
    tty.record("Serial of the HSM's new tamper-evident bag:", "TEB-0003");
    tty.confirm("5.1");
    tty.confirm("5.2");
    tty.confirm("5.3");

    // 5.4: Carol and Erin activate the token once more; the witness types
    // their own token's PIN, then confirms the head is copied.
    activate(
        tty,
        &mut bags,
        "5.4",
        &[
            (0, custodians[0], &user_shares[0]),
            (2, custodians[2], &user_shares[2]),
        ],
    );
    Walked {
        groups: all_groups,
        seal: String::new(),
        user_shares,
        bags,
    }
}

/// The seal once the custodians activated the token: the witness types
/// their own token's PIN, then confirms the head is copied. Returns the
/// seal screen.
fn seal_log(tty: &mut Tty, witness_pin: &str) -> String {
    // The witness mistypes their PIN once: refused, counted, typed again.
    tty.answer(
        &["type the PIN of your token", "Performer ", "Witness "],
        &format!("{witness_pin}0{ENTER}"),
    );
    tty.wait_for(&[
        "Login failed: the witness's token",
        "failed login 1 of this ceremony",
    ]);
    tty.send(&format!("{witness_pin}{ENTER}"));
    let seal = tty.wait_for(&["the head is copied and read back", "Head (SHA-256):"]);
    // A sealed log takes no abort: F10 is not offered, and does nothing.
    tty.wait_footer("Y copied  ? help");
    tty.send(F10);
    tty.wait_for(&["F10 does nothing now: the log is sealed"]);
    tty.send("y");
    let end = tty.wait_for(&[
        "CEREMONY COMPLETE (REHEARSAL)",
        "sealed completed",
        "read back and verified",
    ]);
    assert!(!end.contains("ABORT"), "{end}");
    tty.send(ENTER);
    seal
}

/// A later ceremony of the shipped rehearsal on the ECC root, with the
/// user-PIN shares its key generation made and the bags they are in:
/// the HSM's bag `hsm.0` opened and `hsm.1` sealed, the root key activated
/// for one signature whose go shows `go`.
fn walk_later(tty: &mut Tty, witness_pin: &str, root: &mut Walked, hsm: (&str, &str), go: &[&str]) {
    let (shares, bags) = (&root.user_shares, &mut root.bags);
    check_in_everyone(tty);
    check_clock(tty, 0);
    tty.confirm("1.4");
    tty.record("Serial of the HSM's tamper-evident bag:", hsm.0);
    tty.confirm("1.5");
    tty.record("SHA-256 of the boot media:", BOOT_MEDIA_SHA256);
    tty.confirm("1.6");
    tty.copy_head("1");
    let by = |place: usize| (place, CUSTODIANS[place], &shares[place]);
    activate(tty, bags, "2.1", &[by(0), by(1)]);
    tty.confirm("2.1");
    tty.copy_head("2");
    tty.give_go(go);
    activate(tty, bags, "3.1", &[by(1), by(2)]);
    tty.confirm("3.1");
    tty.confirm("3.2");
    tty.copy_head("3");
    tty.record("Serial of the HSM's new tamper-evident bag:", hsm.1);
    tty.confirm("4.1");
    tty.confirm("4.2");
    tty.confirm("4.3");
    activate(tty, bags, "4.4", &[by(0), by(2)]);
    seal_log(tty, witness_pin);
}

/// Step 2.2 as a room gets it wrong: Carol types David's share (refused by
/// name, and the refusal is shown to her alone), Carol retypes hers, David
/// presses Enter on an empty line (a hint), then steps back (Esc) and the
/// room chooses again; Carol and David then activate the token and seal
/// their shares in new bags.
fn first_activation(tty: &mut Tty, bags: &mut Bags, shares: &[Copied]) {
    let (carol, david) = (CUSTODIANS[0], CUSTODIANS[1]);
    tty.wait_for(&[
        "Which custodians come forward",
        "Performer Ada Okafor   Witness Quinn Adeyemi",
    ]);
    choose(tty, &[0, 1]);
    open_bag(tty, carol, &bags[0]);
    type_share(tty, carol, &shares[1]);
    tty.wait_for(&[
        &format!("{carol}'s share was refused"),
        "was issued to",
        "refused share 1 of this ceremony",
        &format!("At the keyboard: {carol}"),
    ]);
    type_share(tty, carol, &shares[0]);
    open_bag(tty, david, &bags[1]);
    let screen = tty.wait_for(&[&format!("At the keyboard: {david}"), "Performer "]);
    assert!(!screen.contains("was refused"), "{screen}");
    tty.send(ENTER);
    tty.wait_for(&["(empty: type this line from the paper first)"]);
    tty.send(ESC);
    // Both opened their bags already: neither is asked again.
    choose(tty, &[0, 1]);
    type_share(tty, carol, &shares[0]);
    type_share(tty, david, &shares[1]);
    for (place, name) in [(0, carol), (1, david)] {
        bags[place] = format!("TEB-{place}1-22");
        tty.record(&format!("{name} seals share"), &bags[place]);
    }
}

#[test]
fn the_rsa_rehearsal_runs_through_the_tui() {
    let lab = Lab::new();
    let witness_pin = std::fs::read_to_string(lab.witness_pin()).unwrap();
    let out = lab.path("out");

    let mut tty = run_rsa_in_tty(&lab, &out);

    let Walked {
        groups: all_groups,
        seal,
        ..
    } = walk_through(&mut tty, witness_pin.trim());

    let status = tty.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", tty.contents());
    tty.assert_no_share_text(&all_groups);

    // The outputs exist and verify; the seal's head is the one on screen.
    let pem = out.join("certs/example-tls-rsa-root-2026.pem");
    let pem = pem.to_str().unwrap();
    assert!(openssl(&["verify", "-CAfile", pem, pem]).contains(": OK"));
    assert!(out.join("certs/example-tls-rsa-root-2026.der").exists());
    assert!(out.join("keys/example-tls-rsa-root-2026.pub.pem").exists());
    let fingerprints = std::fs::read_to_string(out.join("fingerprints.txt")).unwrap();
    assert!(fingerprints.contains("example-tls-rsa-root-2026 SHA256 "));
    assert!(
        !out.join("rehearsal-shares").exists(),
        "the TUI shows shares on screen: none is written to a file"
    );
    let log = std::fs::read_to_string(out.join("ceremony.log")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    let head = last["data"]["head"]
        .as_str()
        .expect("the log ends with its seal");
    let shown: String = seal
        .lines()
        .skip_while(|l| !l.contains("Head (SHA-256):"))
        .skip(1)
        .take(2)
        .flat_map(|l| l.split_whitespace())
        .collect::<String>()
        .to_lowercase();
    assert_eq!(shown, head, "the head on screen is the sealed log's");
    for group in &all_groups {
        assert!(!log.contains(group.as_str()), "share text in the log");
    }
    // The witness marked the moment the reference clock showed the time
    // they typed: the difference holds no typing time.
    let difference = of_kind(&out, "clock-check")[0]["data"]["difference_ms"]
        .as_i64()
        .unwrap();
    assert!(difference.abs() < 1000, "{difference} ms");
}

#[test]
fn the_p384_rehearsal_runs_through_the_tui_at_80x24() {
    let lab = Lab::new();
    let witness_pin = std::fs::read_to_string(lab.witness_pin()).unwrap();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    let walked = walk_through(&mut tty, witness_pin.trim());
    let status = tty.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", tty.contents());
    tty.assert_no_share_text(&walked.groups);
    // The witness's mistyped PIN is on record, as the witness's act, and
    // counted apart from the token's logins.
    let failed = of_kind(&out, "login-failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["actor"]["id"], "quinn");
    assert_eq!(failed[0]["data"]["attempt"], 1);
    assert!(failed[0]["data"]["witness_token"].is_string());
    // David stepped back: recorded, and the room chose again.
    let back = of_kind(&out, "recorded")
        .into_iter()
        .filter(|e| e["data"]["stepped_back"] == true)
        .collect::<Vec<_>>();
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["actor"]["id"], "dave");
    // The terminal after the TUI says how it ended, as the log does.
    let after = tty.printed();
    assert!(after.contains("ceremony complete:"), "{after}");
    assert!(after.contains("backup copy of the sealed log:"), "{after}");
}

/// An aborted key generation's root key, never certified, destroyed with
/// its token by the shipped re-initialisation ceremony, walked through at
/// 80x24: the old user-PIN shares list the objects, the go shows them, the
/// old SO-PIN shares erase them, the new shares are handed out, and the
/// seal is activated with the new ones.
#[test]
fn an_aborted_key_generation_is_destroyed_by_reinitialising_its_token_in_the_tui() {
    let lab = Lab::new();
    let witness_pin = std::fs::read_to_string(lab.witness_pin()).unwrap();
    let aborted = lab.path("aborted");
    let mut tty = run_p384_in_tty(&lab, &aborted);
    prologue(&mut tty);
    let (user_shares, so_shares, _) = distribute(&mut tty);
    let mut bags = issued_bags();
    first_activation(&mut tty, &mut bags, &user_shares);
    tty.confirm("2.2");
    tty.copy_head("2");
    tty.give_go(&["generate the", "root key pair"]);
    tty.wait_for(&["confirms step 3.1", "Public key SHA-256 of"]);
    abort(&mut tty, "the key generation is abandoned");

    let out = lab.path("reinitialized");
    let mut tty = Tty::spawn(lab.tui_command(
        &repo().join("ceremony-scripts/reinitialize-p384.toml"),
        &out,
    ));
    check_in_everyone(&mut tty);
    check_clock(&mut tty, 0);
    tty.confirm("1.4");
    tty.record("Serial of the HSM's tamper-evident bag:", "TEB-0003");
    tty.record(
        "Serial of the terminal's tamper-evident bag:",
        "REHEARSAL-TEB-0002",
    );
    tty.confirm("1.5");
    tty.record("SHA-256 of the boot media:", BOOT_MEDIA_SHA256);
    tty.confirm("1.6");
    tty.copy_head("1");
    // 2.1: Carol and David list the objects with their old shares.
    choose(&mut tty, &[0, 1]);
    for place in [0, 1] {
        open_bag(&mut tty, CUSTODIANS[place], &bags[place]);
        type_share(&mut tty, CUSTODIANS[place], &user_shares[place]);
    }
    tty.give_go(&[
        "re-initialise token",
        "Object 1",
        "private key 'example-tls-ecc-root-2026'",
    ]);
    // Farid and Grace erase them with their old SO-PIN shares.
    choose(&mut tty, &[0, 1]);
    for place in [0, 1] {
        open_bag(
            &mut tty,
            SO_CUSTODIANS[place],
            &format!("TEB-{}0", place + 3),
        );
        type_share(&mut tty, SO_CUSTODIANS[place], &so_shares[place]);
    }
    let mut new_shares = Vec::new();
    for (i, name) in CUSTODIANS.iter().enumerate() {
        let (share, user) = receive_share(&mut tty, name, &format!("NEW-{i}1"));
        assert!(user, "{name} holds a new user-PIN share");
        new_shares.push(share);
    }
    for (i, name) in SO_CUSTODIANS.iter().enumerate() {
        receive_share(&mut tty, name, &format!("NEW-{}0", i + 3));
    }
    tty.confirm("2.1");
    tty.confirm("2.2");
    tty.copy_head("2");
    tty.record("Serial of the HSM's new tamper-evident bag:", "TEB-1003");
    tty.confirm("3.1");
    tty.confirm("3.2");
    tty.confirm("3.3");
    let mut new_bags = ["NEW-01", "NEW-11", "NEW-21"].map(String::from);
    activate(
        &mut tty,
        &mut new_bags,
        "3.4",
        &[
            (0, CUSTODIANS[0], &new_shares[0]),
            (2, CUSTODIANS[2], &new_shares[2]),
        ],
    );
    seal_log(&mut tty, witness_pin.trim());
    let status = tty.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", tty.contents());
    // An abort at the terminal does not seal the log: its log-signing key
    // was left on the token too, and is erased with the root key.
    let mut destroyed: Vec<String> = of_kind(&out, "key-destroyed")
        .iter()
        .inspect(|e| assert_eq!(e["data"]["by"], "token-reinitialization", "{e}"))
        .map(|e| e["data"]["label"].as_str().unwrap().to_string())
        .collect();
    destroyed.sort();
    assert_eq!(
        destroyed,
        ["example-tls-ecc-root-2026", "example-tls-ecc-root-2026-log"]
    );
}

/// `keyceremony rehearse --out OUT` in a folder of its own, for a terminal.
fn rehearse_command(dir: &Path, out: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(BIN);
    cmd.arg("rehearse");
    cmd.arg("--out");
    cmd.arg(out);
    cmd.arg("--module");
    cmd.arg(module());
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("SOFTHSM2_CONF");
    cmd.env_remove("KEYCEREMONY_MODULE");
    cmd.cwd(dir);
    cmd
}

/// The shipped ceremonies at 120x40, the root's whole life: every screen
/// whole, and the step list as wide as its titles.
#[test]
fn rehearse_runs_the_whole_life_through_the_tui() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rehearsal");
    let mut tty = Tty::spawn_sized(rehearse_command(dir.path(), &out), 40, 120);

    // The lab, with the witness's token, exists before the first screen.
    tty.wait_for(&["begin the ceremony"]);
    let witness_pin = std::fs::read_to_string(out.join("lab/witness.pin")).unwrap();
    let pin = witness_pin.trim();
    let mut groups = walk_through(&mut tty, pin).groups;
    let mut ecc = walk_through(&mut tty, pin);
    groups.extend(ecc.groups.clone());
    // The ECC root's later life: its custodians type the shares they
    // copied at its key generation.
    let sign_crl = ["sign CRL", "CRL number", "Next update"];
    walk_later(
        &mut tty,
        pin,
        &mut ecc,
        ("REHEARSAL-TEB-0003", "REHEARSAL-TEB-0004"),
        &["sign the subordinate CA certificate", "Subject"],
    );
    walk_later(
        &mut tty,
        pin,
        &mut ecc,
        ("REHEARSAL-TEB-0004", "REHEARSAL-TEB-0005"),
        &sign_crl,
    );
    walk_later(
        &mut tty,
        pin,
        &mut ecc,
        ("REHEARSAL-TEB-0005", "REHEARSAL-TEB-0006"),
        &sign_crl,
    );
    // A backup's round trip: a root backed up, its backup restored onto a
    // second token by two backup custodians, and the copy destroyed there
    // with the restore's shares.
    let (backup, wrap, mut wrap_bags) = walk_backup(&mut tty, pin);
    groups.extend(backup.groups);
    let mut restored = walk_restore(&mut tty, pin, &wrap, &mut wrap_bags);
    groups.extend(restored.groups.clone());
    walk_later(
        &mut tty,
        pin,
        &mut restored,
        ("REHEARSAL-TEB-0013", "REHEARSAL-TEB-0014"),
        &["destroy"],
    );
    let status = tty.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", tty.contents());
    tty.assert_no_share_text(&groups);
    assert!(
        tty.seen.iter().any(|screen| screen
            .contains("[x] 1.6 Boot the air-gapped terminal from the ceremony media")),
        "the step list cuts titles at 120 columns"
    );

    let root = out.join("root-p384/certs/example-tls-ecc-root-2026.pem");
    let sub = out.join("subordinate-p384/certs/example-tls-ecc-issuing-ca-1.pem");
    let (root, sub) = (root.to_str().unwrap(), sub.to_str().unwrap());
    assert!(openssl(&["verify", "-CAfile", root, sub]).contains(": OK"));
    for (ceremony, label) in [
        ("root-rsa4096", "example-tls-rsa-root-2026"),
        ("root-p384", "example-tls-ecc-root-2026"),
        ("subordinate-p384", ""),
        ("crl-p384", ""),
        ("crl-p384-next", ""),
        ("root-p384-backup", "example-tls-ecc-backup-root-2026"),
        ("restore-p384-backup", ""),
        ("destroy-p384-backup-copy", ""),
    ] {
        let folder = out.join(ceremony);
        let pem = folder.join(format!("certs/{label}.pem"));
        let pem = pem.to_str().unwrap();
        if !label.is_empty() {
            assert!(openssl(&["verify", "-CAfile", pem, pem]).contains(": OK"));
        }
        let verified = Command::new(BIN)
            .arg("verify-log")
            .arg(folder.join("ceremony.log"))
            .output()
            .unwrap();
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{ceremony}: {}",
            String::from_utf8_lossy(&verified.stdout)
        );
        assert!(folder.join("report.html").exists(), "{ceremony}");
        assert!(!folder.join("rehearsal-shares").exists(), "{ceremony}");
        let log = std::fs::read_to_string(folder.join("ceremony.log")).unwrap();
        assert!(log.contains("\"rehearsal\":true"), "{ceremony}");
        for group in &groups {
            assert!(!log.contains(group.as_str()), "share text in the log");
        }
    }
}

#[test]
fn a_share_typed_by_anyone_but_its_custodian_is_refused_on_screen() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    prologue(&mut tty);
    let (user_shares, _) = distribution(&mut tty);

    // David comes forward with Erin's share: refused by name, counted, and
    // he types his own.
    let bags = issued_bags();
    choose(&mut tty, &[0, 1]);
    open_bag(&mut tty, CUSTODIANS[0], &bags[0]);
    type_share(&mut tty, CUSTODIANS[0], &user_shares[0]);
    open_bag(&mut tty, CUSTODIANS[1], &bags[1]);
    type_share(&mut tty, CUSTODIANS[1], &user_shares[2]);
    tty.wait_for(&[
        "share 3 of the user-pin was issued to Erin",
        "not to David Mensah",
        "refused share 1 of this ceremony",
    ]);
    type_share(&mut tty, CUSTODIANS[1], &user_shares[1]);
    tty.wait_for(&[&format!("{} seals share", CUSTODIANS[0])]);
    abort(&mut tty, "drill over");

    let refused = of_kind(&out, "share-rejected");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["actor"]["id"], "dave");
    assert_eq!(of_kind(&out, "login-succeeded").len(), 1);
}

#[test]
fn a_miscopied_share_is_shown_again_until_the_copy_typed_back_matches() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    prologue(&mut tty);
    tty.give_go(&["initialise token serial"]);
    for (i, name) in CUSTODIANS.iter().enumerate() {
        receive_share(&mut tty, name, &format!("TEB-{i}1"));
    }
    // Farid's share, an SO-PIN share, copied with one character wrong.
    let share = show_share(&mut tty, SO_CUSTODIANS[0]);
    assert!(share.lines[0].starts_with("KC1-S-"), "{share:?}");
    let mut wrong = share.clone();
    let group = wrong.lines[1].clone();
    let last = group.chars().last().unwrap();
    wrong.lines[1] = format!(
        "{}{}",
        &group[..group.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    type_back(&mut tty, SO_CUSTODIANS[0], &wrong);
    // Shown again, to him alone, with the reason; the right copy passes.
    let again = show_share(&mut tty, SO_CUSTODIANS[0]);
    assert_eq!(again.lines, share.lines, "the same share is shown again");
    assert!(
        tty.seen
            .iter()
            .any(|screen| screen.contains("Your copy differed")),
        "the share screen says why it is back"
    );
    type_back(&mut tty, SO_CUSTODIANS[0], &share);
    seal_share(&mut tty, SO_CUSTODIANS[0], &share, "TEB-30");
    abort(&mut tty, "drill over");

    let checks: Vec<_> = of_kind(&out, "copy-checked")
        .into_iter()
        .filter(|c| c["data"]["custodian"] == "farid")
        .collect();
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert_eq!(checks[0]["data"]["matches"], false);
    assert_eq!(checks[0]["data"]["secret"], "so-pin");
    assert!(
        checks[0]["data"]["difference"]
            .as_str()
            .unwrap()
            .contains("group"),
        "{checks:?}"
    );
    assert_eq!(checks[1]["data"]["matches"], true);
    let log = std::fs::read_to_string(out.join("ceremony.log")).unwrap();
    for group in share.groups().iter().chain(wrong.groups().iter()) {
        assert!(!log.contains(group.as_str()), "share text in the log");
    }
}

#[test]
fn a_bag_other_than_the_last_recorded_is_an_exception_and_a_used_serial_is_refused() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    prologue(&mut tty);
    let (user_shares, _) = distribution(&mut tty);
    choose(&mut tty, &[0, 1]);
    // Carol's bag is not the one her share was sealed in.
    open_bag(&mut tty, CUSTODIANS[0], "TEB-99");
    tty.wait_for(&[
        "EXCEPTION raised by the tool",
        "opened bag TEB-99",
        "the last bag recorded for it is TEB-01",
    ]);
    tty.send("y");
    tty.answer(
        &["accepted. Remark"],
        &format!("witness saw the bag{ENTER}"),
    );
    type_share(&mut tty, CUSTODIANS[0], &user_shares[0]);
    open_bag(&mut tty, CUSTODIANS[1], "TEB-11");
    type_share(&mut tty, CUSTODIANS[1], &user_shares[1]);
    // A new bag's serial that the ceremony used already is refused.
    tty.record(&format!("{} seals share", CUSTODIANS[0]), "TEB-30");
    tty.wait_for(&["bag serial TEB-30 is recorded already"]);
    tty.send("\x15");
    tty.send(&format!("TEB-01-22{ENTER}"));
    tty.record(&format!("{} seals share", CUSTODIANS[1]), "TEB-11-22");
    tty.wait_for(&["confirms step 2.2"]);
    abort(&mut tty, "drill over");

    let opened = of_kind(&out, "bag-opened");
    assert_eq!(opened[0]["data"]["serial"], "TEB-99");
    assert_eq!(opened[0]["data"]["expected"], "TEB-01");
    assert_eq!(opened[0]["data"]["matches"], false);
    assert_eq!(opened[1]["data"]["matches"], true);
    let exceptions = of_kind(&out, "exception");
    assert_eq!(exceptions[0]["data"]["raised_by_tool"], "bag-carol");
    let sealed: Vec<_> = of_kind(&out, "bag-sealed")
        .iter()
        .map(|e| e["data"]["serial"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sealed, ["TEB-01-22", "TEB-11-22"]);
}

#[test]
fn a_clock_beyond_the_policys_limit_is_an_exception_the_witness_decides() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    check_in_everyone(&mut tty);
    // The terminal looks 128 s ahead of the reference clock.
    check_clock(&mut tty, 128);
    tty.wait_for(&[
        "Clock: terminal minus reference +128.",
        "EXCEPTION raised by the tool",
        "beyond the 60 s",
        "accept it as an exception",
    ]);
    // Not confirmable as scripted: Enter is not an answer here.
    tty.send(ENTER);
    tty.answer(&["accept it as an exception"], "y");
    tty.answer(
        &["accepted. Remark"],
        &format!("reference clock checked twice{ENTER}"),
    );
    tty.wait_for(&["Exception 1 recorded", "confirms step 1.4"]);
    abort(&mut tty, "drill over");

    let checked = of_kind(&out, "clock-check");
    let difference = checked[0]["data"]["difference_ms"].as_i64().unwrap();
    assert!(
        (127_900..129_000).contains(&difference),
        "the mark, not the typing, gives the difference: {difference} ms"
    );
    let exceptions = of_kind(&out, "exception");
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0]["data"]["raised_by_tool"], "clock");
    assert_eq!(exceptions[0]["data"]["accepted"], true);
    assert_eq!(
        exceptions[0]["data"]["remark"],
        "reference clock checked twice"
    );
}

#[test]
fn who_is_in_the_room_is_recorded_and_a_step_waits_for_the_people_it_needs() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    begin_and_check_in(&mut tty, &[("Grace Lindqvist", "flight delayed")]);
    // Lena, the witness of step 1.3, steps out before it begins.
    tty.wait_for(&["confirms step 1.2"]);
    tty.send(F6);
    tty.wait_for(&["Who is in the room", "Lena Fischer"]);
    for _ in 0..8 {
        tty.send(DOWN);
    }
    tty.send("l");
    tty.answer(&["Why do they leave?"], &format!("phone call{ENTER}"));
    tty.answer(&["Lena Fischer leaves at"], ENTER);
    tty.confirm("1.2");
    // Step 1.3 waits for her; R records her return.
    tty.wait_for(&[
        "THIS STEP WAITS FOR:",
        "Lena Fischer, the witness of step 1.3",
        "phone call",
    ]);
    tty.send("r");
    tty.answer(&["Lena Fischer comes back at"], ENTER);
    tty.wait_for(&["confirms step 1.3"]);
    abort(&mut tty, "drill over");

    let check_ins = of_kind(&out, "check-in");
    let grace = check_ins
        .iter()
        .find(|e| e["data"]["participant"] == "grace")
        .unwrap();
    assert_eq!(grace["data"]["present"], false);
    assert_eq!(grace["data"]["reason"], "flight delayed");
    let quinn = check_ins
        .iter()
        .find(|e| e["data"]["participant"] == "quinn")
        .unwrap();
    assert_eq!(
        quinn["actor"]["id"], "lena",
        "the log examiner checks the witness"
    );
    let presence = of_kind(&out, "presence");
    let changes: Vec<&str> = presence
        .iter()
        .map(|e| e["data"]["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["leaves", "returns"], "{presence:?}");
    assert!(presence.iter().all(|e| e["actor"]["id"] == "lena"));
    assert_eq!(presence[0]["data"]["reason"], "phone call");
    // The abort is the room's decision, recorded by the step's witness.
    let abort = of_kind(&out, "abort").remove(0);
    assert_eq!(abort["actor"]["id"], "lena");
}

#[test]
fn a_resumed_ceremony_asks_only_who_is_there() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    begin_and_check_in(&mut tty, &[]);
    tty.confirm("1.2");
    tty.wait_for(&["confirms step 1.3"]);
    abort(&mut tty, "the room is evacuated");
    drop(tty);

    // The next run resumes: the check-in asks only who is there.
    // The witness copied the head the abort showed: the log's last entry's.
    let mut tty = run_p384_in_tty(&lab, &out);
    resume(&mut tty, &out);
    tty.send(ENTER);
    for name in EVERYONE {
        tty.wait_for(&[
            &format!("Now: {name}"),
            "identified earlier in this ceremony",
        ]);
        if name == "Erin Kowalski" {
            tty.send("n");
            tty.answer(&["Erin Kowalski is absent"], &format!("went home{ENTER}"));
        } else {
            tty.send("y");
        }
    }
    tty.wait_for(&["confirms step 1.3"]);
    abort(&mut tty, "drill over");

    let again = resumed_check_ins(&out);
    assert_eq!(again.len(), 10);
    assert!(again.iter().all(|e| e["data"]["document"].is_null()));
    assert!(
        again
            .iter()
            .any(|e| e["data"]["participant"] == "erin" && e["data"]["present"] == false)
    );
}

#[test]
fn a_signal_on_the_start_screen_writes_nothing() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_rsa_in_tty(&lab, &out);
    tty.wait_for(&["begin the ceremony"]);
    let pid = tty.child.process_id().expect("pid") as libc::pid_t;
    // SAFETY: kill has no memory effects; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tty.wait_exit();
    assert_eq!(status.exit_code(), 1, "{}", tty.contents());
    let screen = tty.wait_for(&["before the ceremony began"]);
    assert!(screen.contains("nothing was written"), "{screen}");
    assert!(!out.join("ceremony.log").exists(), "a log was written");
}

/// A dress rehearsal in the TUI: a CA's production copy of each shipped
/// script (only its mode changed) rehearsed as it is, the room answering at
/// the keyboard in the rehearsal's own lab; then the same file run for real
/// on that lab is refused on screen before anyone is asked anything.
#[test]
fn a_production_script_is_rehearsed_unchanged_in_the_tui_and_its_real_run_refuses_the_lab() {
    for name in ["root-p384", "root-rsa4096"] {
        let dir = tempfile::tempdir().unwrap();
        let script = common::production_copy(dir.path(), name);
        let reviewed = std::fs::read(&script).unwrap();
        let out = dir.path().join("dress");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.arg("rehearse");
        cmd.arg(&script);
        cmd.args(["--out".as_ref(), out.as_os_str()]);
        cmd.args(["--module".as_ref(), module().as_os_str()]);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("SOFTHSM2_CONF");
        cmd.env_remove("KEYCEREMONY_MODULE");
        cmd.cwd(dir.path());
        let mut tty = Tty::spawn(cmd);
        tty.wait_for(&["begin the ceremony", "REHEARSAL"]);
        let witness_pin = std::fs::read_to_string(out.join("lab/witness.pin")).unwrap();
        let groups = walk_through(&mut tty, witness_pin.trim()).groups;
        let status = tty.wait_exit();
        assert!(
            status.success(),
            "{name}: exit {status:?}:\n{}",
            tty.contents()
        );
        tty.assert_no_share_text(&groups);

        assert_eq!(std::fs::read(&script).unwrap(), reviewed, "{name}");
        let folder = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("ceremony.log").exists())
            .expect("the ceremony's folder");
        let start: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(folder.join("ceremony.log"))
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(start["data"]["rehearsal"], true);
        assert_eq!(start["data"]["script_mode"], "production");
        assert_eq!(
            start["data"]["script_sha256"],
            hex::encode(Sha256::digest(&reviewed))
        );
        let shares = start["data"]["rehearsal_rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "shares at the keyboard")
            .unwrap();
        assert_eq!(shares["shown"], "exercised", "{shares}");
        assert!(!folder.join("rehearsal-shares").exists(), "{name}");

        // For real, at the keyboard, on the rehearsal's lab: refused.
        std::fs::create_dir(dir.path().join("media")).unwrap();
        let mut cmd = CommandBuilder::new(BIN);
        cmd.arg("run");
        cmd.arg(&script);
        cmd.args(["--module".as_ref(), module().as_os_str()]);
        cmd.args(["--out".as_ref(), dir.path().join("for-real").as_os_str()]);
        cmd.args(["--backup".as_ref(), dir.path().join("media").as_os_str()]);
        cmd.env("SOFTHSM2_CONF", out.join("lab/softhsm2.conf"));
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("KEYCEREMONY_MODULE");
        cmd.cwd(dir.path());
        let mut tty = Tty::spawn(cmd);
        let screen = tty.wait_for(&["THE CEREMONY STOPPED ON AN ERROR"]);
        let words = screen.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("is a production ceremony") && words.contains("rehearsal lab"),
            "{name}:\n{screen}"
        );
        tty.send(ENTER);
        assert!(!tty.wait_exit().success(), "{name}");
        assert!(!dir.path().join("for-real").exists(), "{name}");
    }
}

/// The screen's rows run together, so that a sentence the screen wraps
/// reads as one.
fn flat(screen: &str) -> String {
    screen.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// [`flat`] of the pane right of the step list (after a row's first rule),
/// where the step view wraps its sentences.
fn flat_pane(screen: &str) -> String {
    let pane: Vec<&str> = screen
        .lines()
        .map(|row| row.split_once('│').map_or(row, |(_, right)| right))
        .collect();
    flat(&pane.join("\n"))
}

/// Whether `screen` shows `text`, as it is or wrapped.
fn shows(screen: &str, text: &str) -> bool {
    screen.contains(text) || flat(screen).contains(text) || flat_pane(screen).contains(text)
}

/// Acts 1 and 2 as scripted, Carol and David activating the token at 2.2.
/// Returns the user-PIN shares and the bags they are in now.
fn through_act_2(tty: &mut Tty) -> (Vec<Copied>, Bags) {
    prologue(tty);
    let (user_shares, _) = distribution(tty);
    let mut bags = issued_bags();
    let pair = [
        (0, CUSTODIANS[0], &user_shares[0]),
        (1, CUSTODIANS[1], &user_shares[1]),
    ];
    activate(tty, &mut bags, "2.2", &pair);
    tty.confirm("2.2");
    tty.copy_head("2");
    (user_shares, bags)
}

/// A run that takes a ceremony up again: everyone identified earlier is in
/// the room (Y), and the custodians of `pair` (place, name, share) activate
/// the token, each opening the bag they sealed last and sealing the share
/// in a new one, `TEB-<place>1-<tag>`.
fn everyone_back_and_activate(
    tty: &mut Tty,
    pair: &[(usize, &str, &Copied)],
    bags: &Bags,
    tag: &str,
) {
    for name in EVERYONE {
        tty.answer(
            &[
                &format!("Now: {name}"),
                "identified earlier in this ceremony",
            ],
            "y",
        );
    }
    let places: Vec<usize> = pair.iter().map(|(place, _, _)| *place).collect();
    choose(tty, &places);
    for (place, name, share) in pair {
        open_bag(tty, name, &bags[*place]);
        type_share(tty, name, share);
    }
    for (place, name, _) in pair {
        tty.record(
            &format!("{name} seals share"),
            &format!("TEB-{place}1-{tag}"),
        );
    }
}

/// The run on `out` resumes its interrupted ceremony: R, then the head the
/// run before showed, until the start screen offers to resume.
fn resume(tty: &mut Tty, out: &Path) {
    tty.answer(&["R resume"], "r");
    tty.answer(
        &["THE LAST LOG HEAD ON THE PAPER SCRIPT"],
        &format!("{}{ENTER}", last_head(out)),
    );
    tty.wait_for(&["resume the interrupted ceremony"]);
}

/// The ceremony token's serial, as the log in `out` records it.
fn token_serial(out: &Path) -> String {
    of_kind(out, "token-initialized")[0]["data"]["serial"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_resumed_ceremony_shows_its_token_records_an_abort_at_the_check_in_and_ends_sealed_as_aborted()
{
    let lab = Lab::new();
    let witness_pin = std::fs::read_to_string(lab.witness_pin()).unwrap();
    let out = lab.path("out");

    // The first run stops at the go of the key generation.
    let mut tty = run_p384_in_tty(&lab, &out);
    let (user_shares, bags) = through_act_2(&mut tty);
    let pair = [
        (0, CUSTODIANS[0], &user_shares[0]),
        (1, CUSTODIANS[1], &user_shares[1]),
    ];
    tty.wait_for(&["gives the go", "generate the"]);
    tty.send(F10);
    tty.answer(&["Reason:"], &format!("fire alarm{ENTER}"));
    tty.answer(&["abort now"], "y");
    tty.wait_for(&[
        "THE CEREMONY WAS ABORTED",
        "Copy its head",
        "offers to resume where the ceremony stopped, or to abort it",
    ]);
    tty.send(ENTER);
    tty.wait_exit();
    drop(tty);

    // The second run resumes: the start screen shows the ceremony's token,
    // by the serial its log records, and the key on it; an abort during the
    // check-in again is recorded.
    let mut tty = run_p384_in_tty(&lab, &out);
    resume(&mut tty, &out);
    let start = flat(&tty.wait_for(&[
        "Example TLS ECC Root 2026, initialised by this ceremony",
        &format!("serial {}", token_serial(&out)),
        "example-tls-ecc-root-2026-log (the log-signing key)",
    ]));
    assert!(!start.contains("to be initialised now"), "{start}");
    tty.send(ENTER);
    tty.answer(
        &["Now: Ada Okafor", "identified earlier in this ceremony"],
        "y",
    );
    tty.wait_for(&["Now: Samuel Ito"]);
    let before = log_entries(&out).len();
    abort(&mut tty, "the witness is called away");
    drop(tty);
    let after: Vec<_> = log_entries(&out).into_iter().skip(before).collect();
    let recorded = after
        .iter()
        .find(|e| e["kind"] == "abort")
        .unwrap_or_else(|| panic!("no abort recorded after the re-check-in: {after:?}"));
    assert!(
        recorded["description"]
            .as_str()
            .unwrap()
            .contains("the witness is called away"),
        "{recorded}"
    );

    // The third run ends the ceremony: sealed as aborted, and said so.
    let mut tty = run_p384_in_tty(&lab, &out);
    tty.answer(&["A abort"], "a");
    tty.answer(
        &["Reason for the abort:"],
        &format!("the rehearsal ends here{ENTER}"),
    );
    tty.answer(&["abort the interrupted ceremony"], "y");
    tty.answer(
        &["THE LAST LOG HEAD ON THE PAPER SCRIPT"],
        &format!("{}{ENTER}", last_head(&out)),
    );
    tty.answer(
        &["record the abort of the interrupted ceremony in its log"],
        ENTER,
    );
    everyone_back_and_activate(&mut tty, &pair, &bags, "END");
    tty.answer(
        &["type the PIN of your token"],
        &format!("{}{ENTER}", witness_pin.trim()),
    );
    tty.wait_for(&["Outcome: aborted", "the head is copied and read back"]);
    tty.wait_footer("Y copied  ? help");
    tty.send(F10);
    tty.wait_for(&["F10 does nothing now: the log is sealed"]);
    tty.send("y");
    let end = tty.wait_for(&[
        "CEREMONY ABORTED: ITS LOG IS SEALED AS ABORTED",
        "sealed aborted",
        "Enter exit",
    ]);
    assert!(!end.contains("COMPLETE"), "{end}");
    assert!(!flat(&end).contains("Every step was performed"), "{end}");
    tty.send(ENTER);
    let status = tty.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", tty.contents());
}

#[test]
fn an_abort_while_shares_are_handed_out_says_what_is_lost_and_hides_the_share() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    prologue(&mut tty);
    tty.give_go(&["initialise token serial"]);
    tty.answer(
        &[
            "SHARE FOR CAROL NAKAMURA ONLY",
            "Everyone except Carol Nakamura",
        ],
        ENTER,
    );
    let share = read_share(&tty.wait_for(&["I have copied it"]));

    // The abort dialog hides the share and says that aborting loses the
    // PINs; Esc goes back to the share.
    tty.send(F10);
    let dialog = tty.wait_for(&[
        "Abort the ceremony",
        "share is hidden while the dialog",
        "Aborting now loses the token's PINs",
    ]);
    for group in share.groups() {
        assert!(
            !dialog.contains(&group),
            "share text behind the dialog:\n{dialog}"
        );
    }
    tty.send(ESC);
    tty.wait_for(&["I have copied it"]);

    // Too small a terminal: a notice instead of half a share, and Y, which
    // would take the share off the screen, does nothing.
    tty.resize(8, 80);
    let small = tty.wait_for(&[TOO_SMALL, "No key acts until it fits."]);
    for group in share.groups() {
        assert!(
            !small.contains(&group),
            "share text on a screen too small:\n{small}"
        );
    }
    tty.send("y");
    std::thread::sleep(Duration::from_millis(500));
    tty.resize(ROWS, COLS);
    let again = tty.wait_for(&["I have copied it"]);
    assert_eq!(read_share(&again).lines, share.lines, "Y did not act");
    tty.send("y");
    type_back(&mut tty, CUSTODIANS[0], &share);

    // Aborted with shares not all handed out: the PINs are lost, and the
    // last screen says the folder can only be aborted, not resumed.
    tty.wait_for(&["Carol Nakamura seals share"]);
    tty.send(F10);
    tty.answer(&["Reason:"], &format!("drill over{ENTER}"));
    tty.answer(&["abort now"], "y");
    let end = flat(&tty.wait_for(&[
        "THE CEREMONY WAS ABORTED",
        "can only abort it for good",
        "Enter exit",
    ]));
    assert!(!end.contains("offers to resume"), "{end}");
    tty.send(ENTER);
    tty.wait_exit();
}

#[test]
fn a_refusal_before_anything_is_written_says_so_and_promises_no_resume() {
    let lab = Lab::new();
    let out = lab.path("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "not a ceremony").unwrap();
    let mut tty = run_p384_in_tty(&lab, &out);
    let end = flat(&tty.wait_for(&[
        "THE CEREMONY STOPPED ON AN ERROR",
        "is not empty",
        "Nothing was written and the HSM is unchanged",
        "Do what the message says",
        "Enter exit",
    ]));
    for wrong in ["log up to", "resume", "Check the output medium"] {
        assert!(!end.contains(wrong), "'{wrong}' on the screen: {end}");
    }
    tty.send(ENTER);
    tty.wait_exit();
    assert!(!out.join("ceremony.log").exists());
}

#[test]
fn an_exception_not_accepted_stops_the_ceremony_without_confirming_the_step() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_p384_in_tty(&lab, &out);
    begin_and_check_in(&mut tty, &[]);
    tty.confirm("1.2");
    tty.answer(&["confirms step 1.3"], "e");
    tty.answer(
        &["What deviated from the script:"],
        &format!("a network cable is plugged in{ENTER}"),
    );
    tty.answer(&["Does Lena Fischer accept it?"], "n");
    tty.answer(
        &["NOT accepted. Remark"],
        &format!("the terminal is connected{ENTER}"),
    );
    // The way on is to record it, which stops the ceremony, or to take it
    // back: not to confirm the step as scripted.
    let end = flat(&tty.wait_for(&[
        "Exception 1 (to record)",
        "the ceremony stops",
        "W withdraw",
    ]));
    assert!(!end.contains("confirms step 1.3"), "{end}");
    tty.send(ENTER);
    tty.answer(&["Lena Fischer: record the exceptions of step 1.3"], "y");
    tty.wait_for(&[
        "THE CEREMONY STOPPED ON AN ERROR",
        "did not accept exception 1",
        "offers to resume",
    ]);
    tty.send(ENTER);
    tty.wait_exit();
    let exceptions = of_kind(&out, "exception");
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0]["data"]["accepted"], false);
    assert!(
        of_kind(&out, "witness-confirmed")
            .iter()
            .all(|e| e["step"] != "1.3"),
        "step 1.3 confirmed"
    );
}

#[test]
fn a_signal_during_key_generation_waits_for_the_hsm_and_the_resumed_step_shows_the_key() {
    let lab = Lab::new();
    let out = lab.path("out");
    let mut tty = run_rsa_in_tty(&lab, &out);
    let (user_shares, bags) = through_act_2(&mut tty);
    let pair = [
        (0, CUSTODIANS[0], &user_shares[0]),
        (1, CUSTODIANS[1], &user_shares[1]),
    ];
    tty.give_go(&["generate the", "root key pair"]);
    tty.wait_for(&["The HSM is working: generating RSA-4096"]);
    let pid = tty.child.process_id().expect("pid") as libc::pid_t;
    // SAFETY: kill has no memory effects; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    // RSA-4096 takes seconds: the notice is up while the HSM finishes.
    tty.wait_for(&[
        "SIGTERM received",
        "the stop waits until it finishes",
        "Do not switch off or disconnect the HSM",
    ]);
    let status = tty.wait_exit();
    assert_eq!(status.exit_code(), 1, "{}", tty.contents());
    assert_eq!(of_kind(&out, "key-generated").len(), 1);
    drop(tty);

    // The next run resumes: the start screen names the key on the token,
    // the custodians activate it again, and step 3.1 shows the key taken
    // up, with its fingerprint and attributes, for the witness to confirm.
    let mut tty = run_rsa_in_tty(&lab, &out);
    resume(&mut tty, &out);
    tty.wait_for(&[
        &format!("serial {}", token_serial(&out)),
        "example-tls-rsa-root-2026 (generated; never certified)",
    ]);
    tty.send(ENTER);
    everyone_back_and_activate(&mut tty, &pair, &bags, "RES");
    let screen = tty.wait_for(&[
        "Key 'example-tls-rsa-root-2026' taken up",
        "Public key SHA-256 of",
        "CKA_NEVER_EXTRACTABLE=true",
        "confirms step 3.1",
    ]);
    let shown = hex_after(&screen, "Public key SHA-256 of", 1);
    let recorded = of_kind(&out, "key-generated")[0]["data"]["public_key_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(shown, recorded, "the key shown is the key the log records");
    abort(&mut tty, "drill over");
}

#[test]
fn a_stopped_rehearsal_prints_the_command_that_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rehearsal");
    let mut tty = Tty::spawn(rehearse_command(dir.path(), &out));
    let start = tty.wait_for(&["begin the ceremony"]);
    assert!(
        start.contains(&out.join("scripts/root-rsa4096.toml").display().to_string()),
        "{start}"
    );
    tty.send(ENTER);
    tty.wait_for(&["confirms step 1.1"]);
    abort(&mut tty, "the rehearsal stops here");
    let printed = tty.printed();
    assert!(
        flat(&printed).contains("To resume it or abort it"),
        "{printed}"
    );
    let command = printed
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("SOFTHSM2_CONF="))
        .unwrap_or_else(|| panic!("no command printed:\n{printed}"))
        .to_string();
    drop(tty);

    // The command printed takes the stopped rehearsal up.
    let mut words = command.split_whitespace();
    let (var, conf) = words.next().unwrap().split_once('=').unwrap();
    let mut cmd = CommandBuilder::new(words.next().unwrap());
    cmd.args(words);
    cmd.env(var, conf);
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("KEYCEREMONY_MODULE");
    cmd.cwd(dir.path());
    let mut tty = Tty::spawn(cmd);
    tty.wait_for(&[
        "AN INTERRUPTED CEREMONY IS IN THE OUTPUT FOLDER",
        "R resume",
    ]);
    tty.send(F10);
    tty.answer(&["Leave without starting?"], "y");
    tty.wait_exit();

    // Rehearsing again on the same folder is refused, saying the same.
    let again = Command::new(BIN)
        .args(["rehearse", "--headless", "--out"])
        .arg(&out)
        .arg("--module")
        .arg(module())
        .env_remove("SOFTHSM2_CONF")
        .env_remove("KEYCEREMONY_MODULE")
        .output()
        .unwrap();
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("holds a rehearsal already"), "{said}");
    assert!(said.contains(&command), "{said}");
}

/// The witness's signature files put on the media folder, as they bring
/// them back from their own device: their public key and their signature
/// over the statement.
fn bring_back(media: &Path, key: &p384::ecdsa::SigningKey, statement: &[u8]) {
    use p384::ecdsa::signature::Signer;
    use p384::pkcs8::{EncodePublicKey, LineEnding};
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(media.join("witness-public-key.pem"), pem).unwrap();
    let signature: p384::ecdsa::Signature = key.sign(statement);
    std::fs::write(
        media.join("witness-signature.der"),
        signature.normalize_s().to_der().as_bytes(),
    )
    .unwrap();
}

/// A witness who signs on their own device (the default, and production's
/// only way), through the TUI at 80x24: the screen names the statement on
/// the media with its SHA-256; a signature by another key than the one the
/// script pins is refused on screen, with the reason, and asked for again;
/// the witness's own, brought back, seals the log, and no PIN of theirs is
/// asked for.
#[test]
fn the_witness_signs_the_seal_on_their_own_device_through_the_tui() {
    use p384::pkcs8::EncodePublicKey;
    let lab = Lab::new();
    let key = |seed: &[u8]| p384::ecdsa::SigningKey::from_slice(&Sha256::digest(seed)).unwrap();
    let (witness, forger) = (key(b"the witness's own key"), key(b"a forger's key"));
    let spki = witness.verifying_key().to_public_key_der().unwrap();
    let pinned = format!(
        "witness_key_sha256 = \"{}\"\n",
        hex::encode(Sha256::digest(spki.as_bytes()))
    );
    let script = common::edited(&lab, "root-p384", &[(common::LAB_TOKEN_SIGNING, &pinned)]);
    let out = lab.path("out");
    let mut tty = Tty::spawn(lab.tui_command(&script, &out));
    let walked = walk_to_the_seal(&mut tty);
    let screen = tty.wait_for(&[
        "THE WITNESS SIGNS THE SEAL ON THEIR OWN DEVICE",
        "Quinn Adeyemi (Qualified Auditor): on your own device",
        "The witness's signature file:",
    ]);
    assert!(!screen.contains("PIN of your token"), "{screen}");
    let media = std::fs::read_dir(lab.path("backup"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("seal-statement.txt").exists())
        .expect("the statement on the media");
    let statement = std::fs::read(media.join("seal-statement.txt")).unwrap();
    assert_eq!(
        hex_after(&screen, "Its SHA-256, and in PGP words:", 1),
        hex::encode_upper(Sha256::digest(&statement)),
        "the SHA-256 on screen is the statement's"
    );

    // Another key's signature: refused, with the reason, and asked again.
    bring_back(&media, &forger, &statement);
    tty.send(ENTER);
    tty.wait_for(&[
        "The signature brought back was refused",
        "the script pins the witness's key",
        "Quinn Adeyemi: sign again on your own device",
    ]);
    bring_back(&media, &witness, &statement);
    tty.send(ENTER);
    let seal = tty.wait_for(&["the head is copied and read back", "Head (SHA-256):"]);
    tty.send("y");
    tty.answer(
        &["CEREMONY COMPLETE (REHEARSAL)", "sealed completed"],
        ENTER,
    );
    let status = tty.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", tty.contents());
    tty.assert_no_share_text(&walked.groups);

    // The seal is the witness's own key's, over the statement they read.
    let sealed = log_entries(&out);
    let seal_entry = sealed.last().unwrap();
    assert_eq!(seal_entry["kind"], "seal");
    let head: String = seal
        .lines()
        .skip_while(|l| !l.contains("Head (SHA-256):"))
        .skip(1)
        .take(2)
        .flat_map(|l| l.split_whitespace())
        .collect::<String>()
        .to_lowercase();
    assert_eq!(seal_entry["data"]["head"], head.as_str());
    let verified = Command::new(BIN)
        .arg("verify-log")
        .arg(out.join("ceremony.log"))
        .args(["--expect-head", &head])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        common::text(&verified.stdout)
    );
    assert!(
        log_entries(&out)
            .iter()
            .all(|e| e["data"]["witness_token"].is_null()),
        "no PIN of the witness's was tried"
    );
}

/// The shipped backup's key generation (root-p384-backup) from its start
/// screen to its last: the key generated for backup and certified, then
/// backed up under the SO's and the user's activation, and the wrap key's
/// shares handed to the backup custodians. Returns the walk (the user-PIN
/// shares and bags) and the wrap-key shares with the bags they are in.
fn walk_backup(tty: &mut Tty, witness_pin: &str) -> (Walked, Vec<Copied>, Bags) {
    prologue_of(tty, &everyone_and_backup());
    let (user_shares, so_shares, mut groups) = distribute(tty);
    let mut bags = issued_bags();
    let mut so_bags: Bags = ["TEB-30", "TEB-40", "TEB-50"].map(String::from);
    let by = |place: usize| (place, CUSTODIANS[place], &user_shares[place]);
    activate(tty, &mut bags, "2.2", &[by(0), by(1)]);
    tty.confirm("2.2");
    tty.copy_head("2");
    tty.give_go(&["generate the", "root key pair"]);
    tty.wait_for(&["confirms step 3.1", "CKA_NEVER_EXTRACTABLE=false"]);
    tty.confirm("3.1");
    tty.copy_head("3");
    tty.give_go(&["sign the root certificate"]);
    activate(tty, &mut bags, "4.1", &[by(1), by(2)]);
    tty.confirm("4.1");
    tty.confirm("4.2");
    tty.confirm("4.3");
    // 4.4: the SO imports the wrap key, the user's activation wraps the
    // root key, and each backup custodian receives a wrap-key share.
    tty.give_go(&[
        "back up the root key pair",
        "Backup custodians   split 2 of 3 among Ines Moreau, Jun Tanaka, Kofi Boateng",
    ]);
    activate(
        tty,
        &mut so_bags,
        "4.4-SO",
        &[
            (0, SO_CUSTODIANS[0], &so_shares[0]),
            (1, SO_CUSTODIANS[1], &so_shares[1]),
        ],
    );
    activate(tty, &mut bags, "4.4", &[by(1), by(2)]);
    let mut wrap_shares = Vec::new();
    let wrap_bags: Bags = ["TEB-60", "TEB-70", "TEB-80"].map(String::from);
    for (name, bag) in BACKUP_CUSTODIANS.iter().zip(&wrap_bags) {
        let (share, _) = receive_share(tty, name, bag);
        assert!(share.lines[0].starts_with("KC1-W-"), "{name}: {share:?}");
        groups.extend(share.groups());
        wrap_shares.push(share);
    }
    tty.wait_for(&["wrapped", "the wrap key destroyed"]);
    tty.confirm("4.4");
    tty.copy_head("4");
    tty.record("Serial of the HSM's new tamper-evident bag:", "TEB-0003");
    tty.confirm("5.1");
    tty.confirm("5.2");
    tty.confirm("5.3");
    activate(tty, &mut bags, "5.4", &[by(0), by(2)]);
    let seal = seal_log(tty, witness_pin);
    let walked = Walked {
        groups,
        seal,
        user_shares,
        bags,
    };
    (walked, wrap_shares, wrap_bags)
}

/// The shipped restore (restore-p384-backup) from its start screen to its
/// last: a second token initialised with its own PIN shares, and the
/// backup restored onto it by Ines and Jun, who type the wrap-key shares
/// `wrap` they copied at the backup from the bags `wrap_bags`, under the
/// SO's and the user's activation. Returns the walk: the restore's user-PIN
/// shares and bags, which the copy's destruction opens.
fn walk_restore(tty: &mut Tty, witness_pin: &str, wrap: &[Copied], wrap_bags: &mut Bags) -> Walked {
    prologue_of(tty, &everyone_and_backup());
    let (user_shares, so_shares, groups) = distribute(tty);
    tty.copy_head("2");
    let mut bags = issued_bags();
    let mut so_bags: Bags = ["TEB-30", "TEB-40", "TEB-50"].map(String::from);
    tty.give_go(&["restore"]);
    activate(
        tty,
        wrap_bags,
        "3.1-W",
        &[
            (0, BACKUP_CUSTODIANS[0], &wrap[0]),
            (1, BACKUP_CUSTODIANS[1], &wrap[1]),
        ],
    );
    activate(
        tty,
        &mut so_bags,
        "3.1-SO",
        &[
            (0, SO_CUSTODIANS[0], &so_shares[0]),
            (1, SO_CUSTODIANS[1], &so_shares[1]),
        ],
    );
    let by = |place: usize| (place, CUSTODIANS[place], &user_shares[place]);
    activate(tty, &mut bags, "3.1", &[by(0), by(1)]);
    tty.confirm("3.1");
    tty.copy_head("3");
    tty.record(
        "Serial of the HSM's new tamper-evident bag:",
        "REHEARSAL-TEB-0013",
    );
    tty.confirm("5.1");
    tty.confirm("5.2");
    tty.confirm("5.3");
    activate(tty, &mut bags, "5.4", &[by(0), by(2)]);
    let seal = seal_log(tty, witness_pin);
    Walked {
        groups,
        seal,
        user_shares,
        bags,
    }
}
