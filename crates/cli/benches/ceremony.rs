//! The figures of docs/performance.md: a ceremony's overhead over the HSM
//! floor (against stock tools doing the same PKCS#11 work), a long act
//! against many short ones, the TUI's start-up and key-to-frame latency,
//! and peak memory. Each section prints its targets with its figures.
//!
//! ```text
//! cargo bench -p keyceremony --bench ceremony                  # everything, 5 runs each
//! cargo bench -p keyceremony --bench ceremony -- overhead 15   # or steps N, tui N, memory N
//! ```
//!
//! A plain `main` (no framework). Runs of the things compared are
//! interleaved (one of each in turn), so that the load of a shared machine
//! falls on all of them alike, and the median of N runs is printed with the
//! range. Every run gets a fresh SoftHSM2 lab from `keyceremony lab create`,
//! which is not timed.

#[path = "../../../tests/common/mod.rs"]
mod common;

#[path = "ceremony/floor.rs"]
mod floor;
#[path = "ceremony/memory.rs"]
mod memory;
#[path = "ceremony/overhead.rs"]
mod overhead;
#[path = "ceremony/steps.rs"]
mod steps;
#[path = "ceremony/terminal.rs"]
mod terminal;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::text;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    // cargo bench passes --bench; the rest is "WHAT [RUNS]".
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.first().map(String::as_str) == Some("floor-child") {
        return floor::child(&args[1..]);
    }
    let what = args.first().map(String::as_str).unwrap_or("all");
    let runs: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(5);
    println!(
        "machine: {} cores, {}, load average {}; keyceremony release build; {runs} runs, median [min-max]",
        std::thread::available_parallelism()?,
        cpu_model(),
        load_average()
    );
    if matches!(what, "all" | "overhead") {
        overhead::section(runs)?;
    }
    if matches!(what, "all" | "steps") {
        steps::section(runs)?;
    }
    if matches!(what, "all" | "tui") {
        terminal::section(runs)?;
    }
    if matches!(what, "all" | "memory") {
        memory::section(runs.min(3))?;
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

/// The 1-minute load average: how busy the machine was with other work.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// "median [min-max]", with `digits` decimals.
fn summary(values: &[f64], digits: usize) -> String {
    let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:.digits$} [{lowest:.digits$}-{highest:.digits$}]",
        median(values)
    )
}

/// The value of `name=N` in a line of such fields.
fn field(line: &str, name: &str) -> Result<f64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .ok_or_else(|| format!("no {name}= in: {line}"))?
        .parse()
        .map_err(|e| format!("{name} in {line}: {e}").into())
}

/// "met" or "NOT met".
fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// One target and its figure, as every section ends.
fn target(what: &str, figure: String, goal: &str, met: bool) {
    println!("TARGET {what}: {figure} against {goal}: {}", verdict(met));
}

/// A process run under `/usr/bin/time -v`: its wall time (ms) and its
/// maximum resident set size (MiB).
struct Measured {
    wall_ms: f64,
    peak_mib: f64,
}

fn measured(cmd: Command) -> Result<Measured> {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let envs: Vec<_> = cmd
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-v").arg(program).args(args);
    for (key, value) in envs {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    let started = Instant::now();
    let run = timed.stdout(Stdio::null()).output()?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let report = text(&run.stderr);
    if !run.status.success() {
        return Err(report.into());
    }
    let kib: f64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .ok_or("no maximum resident set size from /usr/bin/time")?
        .parse()?;
    Ok(Measured {
        wall_ms,
        peak_mib: kib / 1024.0,
    })
}

/// /usr/bin/time is Debian's `time` package (scripts/setup.sh installs it).
fn have_time() -> bool {
    let found = Path::new("/usr/bin/time").exists();
    if !found {
        println!(
            "skipped: /usr/bin/time is missing (scripts/setup.sh installs it: apt-get install time)"
        );
    }
    found
}
