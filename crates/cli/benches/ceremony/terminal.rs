//! The operator TUI in a pseudo-terminal (80 x 24, portable-pty, the
//! command of tests/common's `Lab::tui_command`), its screen read through a
//! terminal emulator (vt100) as the bytes arrive: the time of a frame is
//! when the bytes that complete it were read.
//!
//! - start-up: from spawn to the first frame, and to the start screen ready
//!   (once the engine has checked the script, policy, module and token);
//! - key to frame, the UI alone: `?` opens the help and Esc closes it on the
//!   start screen; Enter at the end of a manual step opens the witness's
//!   confirmation;
//! - key to the engine's next screen: the witness's `y` goes to the engine,
//!   which logs the confirmation, the step's end and the next step's
//!   beginning (three entries) and asks for the next step: the frame that
//!   shows it. With the output on tmpfs that is the TUI's and the engine's
//!   own time; on disk, three fsyncs are added.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

use crate::common::{BIN, Lab};
use crate::steps::with_manual_steps;
use crate::{Result, median, summary, target};

const ROWS: u16 = 24;
const COLS: u16 = 80;
/// A bound that a healthy run never reaches.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Text of the start screen's first frame, and of the screen once ready.
const FIRST: &str = "The witness compares";
const READY: &str = "begin the ceremony";
/// A line of the help overlay.
const HELP: &str = "do what the bottom line of the question says";
/// Manual steps at the start of the script, each one sample of each key.
const STEPS: usize = 40;

/// What the reader thread is looking for, and when it saw it.
struct Watch {
    text: String,
    present: bool,
    seen: Option<Instant>,
}

struct Shared {
    screen: vt100::Parser,
    watch: Option<Watch>,
    /// Texts of the start-up, each with when it first appeared: watched
    /// from the spawn on, since the first frame may come before anyone
    /// could start watching for it.
    landmarks: Vec<(&'static str, Option<Instant>)>,
    ended: bool,
}

impl Shared {
    fn check(&mut self, at: Instant) {
        let contents = self.screen.screen().contents();
        for (text, seen) in &mut self.landmarks {
            if seen.is_none() && contents.contains(*text) {
                *seen = Some(at);
            }
        }
        if let Some(watch) = self.watch.as_mut()
            && watch.seen.is_none()
            && contents.contains(&watch.text) == watch.present
        {
            watch.seen = Some(at);
        }
    }
}

/// The TUI in a pseudo-terminal.
struct Tui {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    spawned: Instant,
}

impl Tui {
    fn spawn(cmd: CommandBuilder, landmarks: &[&'static str]) -> Result<Tui> {
        let pair = native_pty_system().openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let spawned = Instant::now();
        let child = pair.slave.spawn_command(cmd)?;
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader()?;
        let writer = pair.master.take_writer()?;
        let shared = Arc::new((
            Mutex::new(Shared {
                screen: vt100::Parser::new(ROWS, COLS, 0),
                watch: None,
                landmarks: landmarks.iter().map(|&text| (text, None)).collect(),
                ended: false,
            }),
            Condvar::new(),
        ));
        let feed = Arc::clone(&shared);
        // Owns the master, which must live as long as the reader; ends at
        // EOF, once the program is gone.
        std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            loop {
                let read = reader.read(&mut buf);
                let at = Instant::now();
                let (lock, wake) = &*feed;
                let mut shared = lock.lock().unwrap();
                match read {
                    Ok(n) if n > 0 => {
                        shared.screen.process(&buf[..n]);
                        shared.check(at);
                        wake.notify_all();
                    }
                    _ => {
                        shared.ended = true;
                        wake.notify_all();
                        return;
                    }
                }
            }
        });
        Ok(Tui {
            shared,
            writer,
            child,
            spawned,
        })
    }

    /// Starts looking for `text` (or for its absence); refuses when the
    /// screen already is that way, since nothing could be timed.
    fn watch(&self, text: &str, present: bool) -> Result<()> {
        let mut shared = self.shared.0.lock().unwrap();
        if shared.screen.screen().contents().contains(text) == present {
            return Err(format!("the screen already shows what a key should bring: {text}").into());
        }
        shared.watch = Some(Watch {
            text: text.to_string(),
            present,
            seen: None,
        });
        Ok(())
    }

    /// Waits for what [`Tui::watch`] looks for; returns when it arrived.
    fn seen(&self) -> Result<Instant> {
        self.wait_for(|shared| shared.watch.take_if(|w| w.seen.is_some())?.seen)
    }

    /// Waits until `found` finds something on the screen's state.
    fn wait_for(&self, mut found: impl FnMut(&mut Shared) -> Option<Instant>) -> Result<Instant> {
        let (lock, wake) = &*self.shared;
        let deadline = Instant::now() + TIMEOUT;
        let mut shared = lock.lock().unwrap();
        loop {
            if let Some(at) = found(&mut shared) {
                return Ok(at);
            }
            let now = Instant::now();
            if shared.ended || now > deadline {
                return Err(format!(
                    "the screen never showed what was expected; it shows:\n{}",
                    shared.screen.screen().contents()
                )
                .into());
            }
            shared = wake.wait_timeout(shared, deadline - now).unwrap().0;
        }
    }

    /// Milliseconds from spawn until the screen first showed `text`, one
    /// of the landmarks the TUI was spawned with.
    fn since_spawn(&self, text: &str) -> Result<f64> {
        let at = self.wait_for(|shared| {
            shared
                .landmarks
                .iter()
                .find(|(landmark, _)| *landmark == text)
                .and_then(|(_, seen)| *seen)
        })?;
        Ok((at - self.spawned).as_secs_f64() * 1000.0)
    }

    /// Types `keys`; milliseconds until the screen shows `text` (or, if not
    /// `present`, no longer shows it).
    fn key_to(&mut self, keys: &str, text: &str, present: bool) -> Result<f64> {
        self.watch(text, present)?;
        let typed = Instant::now();
        self.writer.write_all(keys.as_bytes())?;
        self.writer.flush()?;
        Ok((self.seen()? - typed).as_secs_f64() * 1000.0)
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // Nothing the bench leaves behind matters: the lab is removed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Latency samples of one TUI run, in milliseconds.
#[derive(Default)]
struct Samples {
    first: Vec<f64>,
    ready: Vec<f64>,
    ui: Vec<f64>,
    engine: Vec<f64>,
}

/// One TUI run of the script with [`STEPS`] manual steps first: start-up,
/// the help, and every manual step's Enter and `y`.
fn tui_run(lab: &Lab, script: &Path, out: &Path, samples: &mut Samples) -> Result<()> {
    let mut tui = Tui::spawn(lab.tui_command(script, out), &[FIRST, READY])?;
    samples.first.push(tui.since_spawn(FIRST)?);
    samples.ready.push(tui.since_spawn(READY)?);
    for _ in 0..5 {
        samples.ui.push(tui.key_to("?", HELP, true)?);
        samples.ui.push(tui.key_to("\x1b", HELP, false)?);
    }
    // Enter begins the ceremony: its first entries, then the first step.
    tui.key_to("\r", &confirms(0), true)?;
    for k in 0..STEPS - 1 {
        samples
            .ui
            .push(tui.key_to("\r", &format!("confirm that step {}", id(k)), true)?);
        samples
            .engine
            .push(tui.key_to("y", &confirms(k + 1), true)?);
    }
    Ok(())
}

/// The value below which a fraction `p` of `values` lie (nearest rank).
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn id(k: usize) -> String {
    format!("x.{k:03}")
}

fn confirms(k: usize) -> String {
    format!("confirms step {}", id(k))
}

pub fn section(runs: usize) -> Result<()> {
    println!();
    println!("# The operator TUI in a terminal (ms)");
    let lab = Lab::new();
    let (script, _) = with_manual_steps(&lab, STEPS, STEPS, "[[acts]]\nid = \"1\"", "tui");
    let mut version = Vec::new();
    let (mut on_tmpfs, mut on_disk) = (Samples::default(), Samples::default());
    for _ in 0..runs.max(3) {
        let started = Instant::now();
        Command::new(BIN).arg("--version").output()?;
        version.push(started.elapsed().as_secs_f64() * 1000.0);
        let tmpfs = tempfile::tempdir_in("/dev/shm")?;
        tui_run(
            &Lab::new(),
            &script,
            &tmpfs.path().join("out"),
            &mut on_tmpfs,
        )?;
        let disk = Lab::new();
        tui_run(&disk, &script, &disk.path("out"), &mut on_disk)?;
    }
    let row = |what: &str, values: &[f64]| println!("{what:<72} {}", summary(values, 1));
    row("keyceremony --version (process start and exit)", &version);
    let first = [on_tmpfs.first.as_slice(), &on_disk.first].concat();
    row("first TUI frame, from spawn", &first);
    let ready = [on_tmpfs.ready.as_slice(), &on_disk.ready].concat();
    row(
        "start screen ready (script, policy, module and token checked), from spawn",
        &ready,
    );
    let ui = [on_tmpfs.ui.as_slice(), &on_disk.ui].concat();
    row("key to frame, the UI alone (help, Esc, Enter)", &ui);
    row(
        "key to the engine's next screen (witness's y; 3 entries), out on tmpfs",
        &on_tmpfs.engine,
    );
    row(
        "key to the engine's next screen (witness's y; 3 entries fsynced), on disk",
        &on_disk.engine,
    );
    let every = [ui.as_slice(), &on_tmpfs.engine, &on_disk.engine].concat();
    let p95 = percentile(&every, 0.95);
    target(
        "TUI key to frame, every key (the UI alone and through the engine, tmpfs and disk)",
        format!(
            "median {:.1} ms, 95th percentile {p95:.1} ms (of {} keys)",
            median(&every),
            every.len()
        ),
        "16 ms",
        p95 <= 16.0,
    );
    target(
        "first TUI frame",
        format!("{:.1} ms", median(&first)),
        "50 ms",
        median(&first) <= 50.0,
    );
    Ok(())
}
