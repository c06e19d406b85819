//! keyceremony against stock tools on the same SoftHSM2, and its start-up
//! and memory: the figures of docs/performance.md.
//!
//! ```text
//! cargo bench -p keyceremony --bench ceremony                 # everything, 5 runs each
//! cargo bench -p keyceremony --bench ceremony -- baseline 5   # or startup N, memory N
//! ```
//!
//! A plain `main` (no framework): each figure is a whole process, timed from
//! spawn to exit (or to a frame on the screen), and the median of N runs
//! is printed with the range. Every run gets a fresh SoftHSM2 lab from
//! `keyceremony lab create`, which is not timed.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, Lab, module, repo, shipped, text};
use portable_pty::{PtySize, native_pty_system};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    // cargo bench passes --bench; the rest is "WHAT [RUNS]".
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let what = args.first().map(String::as_str).unwrap_or("all");
    let runs: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(5);
    println!(
        "machine: {} cores, {}; keyceremony release build; {runs} runs, median [min-max]",
        std::thread::available_parallelism()?,
        cpu_model()
    );
    if matches!(what, "all" | "baseline") {
        baseline(runs)?;
    }
    if matches!(what, "all" | "startup") {
        startup(runs.max(10))?;
    }
    if matches!(what, "all" | "memory") {
        memory(runs.min(3))?;
    }
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// "median [min-max]" of milliseconds.
fn summary(values: &mut [f64]) -> String {
    let m = median(values);
    format!(
        "{m:>7.0} [{:.0}-{:.0}]",
        values[0],
        values[values.len() - 1]
    )
}

/// One `keyceremony run --answers` and the HSM's own time from its log.
struct CeremonyRun {
    wall_ms: f64,
    hsm_ms: f64,
    entries: usize,
}

fn keyceremony_run(name: &str, lab: &Lab, out: &Path) -> Result<CeremonyRun> {
    let (script, answers) = shipped(name);
    let started = Instant::now();
    let run = lab
        .cmd()
        .args(lab.run_args(&script, &answers, out))
        .arg("--inventory")
        .arg(lab.inventory())
        .stdout(Stdio::null())
        .output()?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !run.status.success() {
        return Err(format!("keyceremony run: {}", text(&run.stderr)).into());
    }
    let log = std::fs::read_to_string(out.join("ceremony.log"))?;
    let mut hsm_ms = 0.0;
    let mut entries = 0;
    for line in log.lines() {
        entries += 1;
        let entry: serde_json::Value = serde_json::from_str(line)?;
        if matches!(entry["kind"].as_str(), Some("key-generated" | "signed")) {
            hsm_ms += entry["data"]["hsm_ms"].as_f64().unwrap_or(0.0);
        }
    }
    Ok(CeremonyRun {
        wall_ms,
        hsm_ms,
        entries,
    })
}

/// bench/baseline.sh: wall time, and its key generation and signing.
fn baseline_run(algorithm: &str, lab: &Lab) -> Result<(f64, f64)> {
    let started = Instant::now();
    let run = Command::new(repo().join("bench/baseline.sh"))
        .arg(algorithm)
        .arg(lab.path("baseline"))
        .env("SOFTHSM2_CONF", lab.conf())
        .env("MODULE", module())
        .output()?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !run.status.success() {
        return Err(format!("baseline: {}", text(&run.stderr)).into());
    }
    let stages = String::from_utf8_lossy(&run.stdout);
    let stage = |name: &str| -> f64 {
        stages
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    Ok((wall_ms, stage("keygen_ms") + stage("cert_ms")))
}

/// The whole job, stock tools against keyceremony, on disk and with the
/// output folder on tmpfs (where an fsync costs nothing), so that the cost
/// of syncing every log entry shows apart from the rest.
fn baseline(runs: usize) -> Result<()> {
    println!();
    println!("# A root key and its self-signed certificate: stock tools against keyceremony (ms)");
    println!(
        "{:<9} {:<28} {:>20} {:>20} {:>20} {:>8}",
        "algorithm", "what", "wall", "HSM (keygen+sign)", "wall - HSM", "entries"
    );
    let shm = Path::new("/dev/shm");
    for (name, algorithm) in [("root-p384", "p384"), ("root-rsa4096", "rsa4096")] {
        let (mut base_wall, mut base_hsm) = (Vec::new(), Vec::new());
        let mut on_disk: Vec<CeremonyRun> = Vec::new();
        let mut on_tmpfs: Vec<CeremonyRun> = Vec::new();
        for _ in 0..runs {
            let (wall, hsm) = baseline_run(algorithm, &Lab::new())?;
            base_wall.push(wall);
            base_hsm.push(hsm);
            let lab = Lab::new();
            on_disk.push(keyceremony_run(name, &lab, &lab.path("out"))?);
            if shm.is_dir() {
                let out = tempfile::tempdir_in(shm)?;
                on_tmpfs.push(keyceremony_run(name, &Lab::new(), &out.path().join("out"))?);
            }
        }
        let mut base_over: Vec<f64> = base_wall
            .iter()
            .zip(&base_hsm)
            .map(|(w, h)| w - h)
            .collect();
        println!(
            "{algorithm:<9} {:<28} {:>20} {:>20} {:>20} {:>8}",
            "stock tools (baseline.sh)",
            summary(&mut base_wall.clone()),
            summary(&mut base_hsm.clone()),
            summary(&mut base_over),
            "-"
        );
        let base_median = median(&mut base_wall);
        for (what, results) in [
            ("keyceremony run", &on_disk),
            ("keyceremony run, out on tmpfs", &on_tmpfs),
        ] {
            if results.is_empty() {
                continue;
            }
            let mut wall: Vec<f64> = results.iter().map(|r| r.wall_ms).collect();
            let mut hsm: Vec<f64> = results.iter().map(|r| r.hsm_ms).collect();
            let mut over: Vec<f64> = results.iter().map(|r| r.wall_ms - r.hsm_ms).collect();
            let hsm_median = median(&mut hsm.clone());
            let over_median = median(&mut over.clone());
            println!(
                "{algorithm:<9} {what:<28} {:>20} {:>20} {:>20} {:>8}",
                summary(&mut wall.clone()),
                summary(&mut hsm),
                summary(&mut over),
                results[0].entries
            );
            let target = 0.05 * hsm_median + 100.0;
            println!(
                "{:<9}   wall / baseline {:.2}x; overhead {over_median:.0} ms against the target 5% of HSM + 100 ms = {target:.0} ms: {}",
                "",
                median(&mut wall) / base_median,
                if over_median <= target {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
    }
    Ok(())
}

/// The TUI in a pseudo-terminal: milliseconds from spawn until the screen
/// first shows `first` (the first frame) and then `ready` (the start screen
/// once the module and token are checked).
fn tui_frames(lab: &Lab, out: &Path, first: &str, ready: &str) -> Result<(f64, f64)> {
    let pair = native_pty_system().openpty(PtySize {
        rows: 24,
        cols: 80,
        pixel_width: 0,
        pixel_height: 0,
    })?;
    let cmd = lab.tui_command(&repo().join("ceremony-scripts/root-p384.toml"), out);
    let started = Instant::now();
    let mut child = pair.slave.spawn_command(cmd)?;
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader()?;
    let seen: Arc<Mutex<(Option<f64>, Option<f64>)>> = Arc::default();
    let marks = Arc::clone(&seen);
    let (first, ready) = (first.to_string(), ready.to_string());
    // The reader notes the time as soon as the bytes that complete a frame
    // arrive; it ends at EOF, once the child is gone.
    let thread = std::thread::spawn(move || {
        let mut screen = vt100::Parser::new(24, 80, 0);
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            screen.process(&buf[..n]);
            let contents = screen.screen().contents();
            let at = started.elapsed().as_secs_f64() * 1000.0;
            let mut marks = marks.lock().unwrap();
            if marks.0.is_none() && contents.contains(&first) {
                marks.0 = Some(at);
            }
            if marks.1.is_none() && contents.contains(&ready) {
                marks.1 = Some(at);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let result = loop {
        if let (Some(a), Some(b)) = *seen.lock().unwrap() {
            break Ok((a, b));
        }
        if Instant::now() > deadline {
            break Err("the TUI's start screen did not appear within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    // Nothing has been written before the operators begin.
    child.kill()?;
    child.wait()?;
    drop(pair.master);
    let _ = thread.join();
    result
}

fn startup(runs: usize) -> Result<()> {
    println!();
    println!("# Start-up of `keyceremony run SCRIPT --out DIR` in a terminal (ms from spawn)");
    let lab = Lab::new();
    let (mut first, mut ready, mut version) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        Command::new(BIN).arg("--version").output()?;
        version.push(started.elapsed().as_secs_f64() * 1000.0);
        let (a, b) = tui_frames(
            &lab,
            &lab.path("out"),
            "The witness compares",
            "begin the ceremony",
        )?;
        first.push(a);
        ready.push(b);
    }
    println!(
        "{:<58} {}",
        "keyceremony --version (process start and exit)",
        summary(&mut version)
    );
    let first_median = median(&mut first.clone());
    println!("{:<58} {}", "first TUI frame", summary(&mut first));
    println!(
        "{:<58} {}",
        "start screen ready (script, policy, module and token checked)",
        summary(&mut ready)
    );
    println!(
        "first frame {first_median:.0} ms against the target 50 ms: {}",
        if first_median <= 50.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}

fn memory(runs: usize) -> Result<()> {
    println!();
    println!(
        "# Peak memory of `keyceremony rehearse --headless` (both shipped ceremonies), /usr/bin/time -v"
    );
    if !Path::new("/usr/bin/time").exists() {
        println!(
            "skipped: /usr/bin/time is missing (scripts/setup.sh installs it: apt-get install time)"
        );
        return Ok(());
    }
    let mut peaks = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let run = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(BIN)
            .args(["rehearse", "--headless", "--module"])
            .arg(module())
            .arg("--out")
            .arg(dir.path().join("rehearsal"))
            .env_remove("SOFTHSM2_CONF")
            .stdout(Stdio::null())
            .output()?;
        let report = String::from_utf8_lossy(&run.stderr);
        if !run.status.success() {
            return Err(format!("rehearse: {report}").into());
        }
        let kib: f64 = report
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .ok_or("no maximum resident set size from /usr/bin/time")?
            .parse()?;
        peaks.push(kib / 1024.0);
    }
    let peak = median(&mut peaks.clone());
    println!(
        "maximum resident set size: median {peak:.1} MiB, runs {}",
        peaks
            .iter()
            .map(|p| format!("{p:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "against the target 30 MB: {}",
        if peak * 1.048_576 <= 30.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
