//! One shipped ceremony's PKCS#11 work done three ways, each run in a fresh
//! lab, interleaved: the HSM floor (those calls alone, in one process),
//! the stock tools (bench/baseline.sh: the same PKCS#11 work by hand), and
//! `keyceremony run`, every log entry fsynced. The floor and keyceremony
//! run once more with the lab's tokens and the output on tmpfs, where an
//! fsync costs nothing: the overhead without the disk. Each run's fsync
//! cost is in the probe printed with the figures.
//!
//! The root key's generation and its certificate's signature are
//! subtracted from each run, as that run timed them inside the module: the
//! floor times its calls, keyceremony logs `hsm_ms`, and the stock tools'
//! calls go through OpenSC's pkcs11-spy, which stamps each call. RSA-4096
//! key generation takes from half a second to several (the search for two
//! primes), so only that subtraction leaves a figure that is not luck. What
//! remains, less the floor's own remainder (median), is each run's overhead
//! over the HSM floor.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::{Lab, module, repo, shipped, text};
use crate::{Result, field, floor, median, summary, target};

/// OpenSC's PKCS#11 spy, where Debian's opensc-pkcs11 package puts it.
const SPY: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
];

/// One run: its wall time and its root key's time inside the module (ms).
struct Run {
    wall_ms: f64,
    root_ms: f64,
    /// CPU time (user and system) of the run's processes: what a machine
    /// busy with other work inflates least.
    cpu_ms: f64,
}

impl Run {
    fn rest(&self) -> f64 {
        self.wall_ms - self.root_ms
    }

    /// CPU time but the root key's, which is the module's own work.
    fn cpu_rest(&self) -> f64 {
        self.cpu_ms - self.root_ms
    }
}

/// CPU time (ms) of every child process waited for so far.
fn children_cpu_ms() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// `run`'s wall time and its processes' CPU time.
fn timed<T>(run: impl FnOnce() -> Result<T>) -> Result<(T, f64, f64)> {
    let (started, cpu) = (Instant::now(), children_cpu_ms());
    let value = run()?;
    Ok((
        value,
        started.elapsed().as_secs_f64() * 1000.0,
        children_cpu_ms() - cpu,
    ))
}

pub fn section(runs: usize) -> Result<()> {
    let spy = SPY
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or("OpenSC's pkcs11-spy.so is missing: apt-get install opensc-pkcs11")?;
    println!();
    println!("# One ceremony's PKCS#11 work: the HSM floor, stock tools, keyceremony (ms)");
    println!(
        "# root key = its generation and its certificate's signature inside the module, in that run; rest = wall - root key; over floor = rest - median rest of the floor; CPU over = the same with the processes' CPU time"
    );
    println!(
        "{:<9} {:<34} {:>16} {:>16} {:>14} {:>14} {:>14}",
        "algorithm", "what", "wall", "root key", "rest", "over floor", "CPU over"
    );
    let shm = Path::new("/dev/shm");
    for (name, algorithm) in [("root-p384", "p384"), ("root-rsa4096", "rsa4096")] {
        let (mut floors, mut stock, mut on_disk) = (Vec::new(), Vec::new(), Vec::new());
        let (mut tmpfs_floors, mut on_tmpfs) = (Vec::new(), Vec::new());
        let (mut fsync_ms, mut overwrite_ms, mut entries) = (Vec::new(), Vec::new(), 0);
        for _ in 0..runs {
            floors.push(floor_run(algorithm, &Lab::new())?);
            stock.push(baseline_run(algorithm, &Lab::new(), &spy)?);
            let lab = Lab::new();
            let (append, overwrite) = fsync_probe(lab.dir())?;
            fsync_ms.push(append);
            overwrite_ms.push(overwrite);
            on_disk.push(keyceremony_run(name, &lab, &lab.path("out"))?);
            entries = std::fs::read_to_string(lab.path("out/ceremony.log"))?
                .lines()
                .count();
            if shm.is_dir() {
                tmpfs_floors.push(floor_run(algorithm, &Lab::new_in(shm))?);
                let lab = Lab::new_in(shm);
                on_tmpfs.push(keyceremony_run(name, &lab, &lab.path("out"))?);
            }
        }
        let rest_of =
            |runs: &[Run], f: fn(&Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        let floor_rest = rest_of(&floors, Run::rest);
        let mut over_of = Vec::new();
        for (what, results, floor) in [
            ("HSM floor (one process, its calls)", &floors, &floors),
            ("stock tools (bench/baseline.sh)", &stock, &floors),
            ("keyceremony run", &on_disk, &floors),
            ("HSM floor, all on tmpfs", &tmpfs_floors, &tmpfs_floors),
            ("keyceremony run, all on tmpfs", &on_tmpfs, &tmpfs_floors),
        ] {
            if results.is_empty() {
                continue;
            }
            let (wall_floor, cpu_floor) =
                (rest_of(floor, Run::rest), rest_of(floor, Run::cpu_rest));
            let column = |f: &dyn Fn(&Run) -> f64| results.iter().map(f).collect::<Vec<_>>();
            let over = column(&|r| r.rest() - wall_floor);
            println!(
                "{algorithm:<9} {what:<34} {:>16} {:>16} {:>14} {:>14} {:>14}",
                summary(&column(&|r| r.wall_ms), 0),
                summary(&column(&|r| r.root_ms), 0),
                summary(&column(&Run::rest), 0),
                summary(&over, 0),
                // A key generation's CPU time is not its wall time, and RSA's
                // is luck: only P-384's CPU column says something.
                if algorithm == "p384" {
                    summary(&column(&|r| r.cpu_rest() - cpu_floor), 0)
                } else {
                    "-".to_string()
                },
            );
            over_of.push((what, median(&over)));
        }
        let (fsync, overwrite) = (median(&fsync_ms), median(&overwrite_ms));
        println!(
            "{:<9} this disk meanwhile: an appended line's fdatasync {} ms; the run's {entries} entries, one fdatasync each: about {:.0} ms",
            "",
            summary(&fsync_ms, 2),
            entries as f64 * fsync
        );
        println!(
            "{:<9} the cheapest durable write it offers, a line over one already on disk: {} ms; {entries} of them: about {:.0} ms",
            "",
            summary(&overwrite_ms, 2),
            entries as f64 * overwrite
        );
        let over = |what: &str| over_of.iter().find(|(w, _)| *w == what).map(|(_, o)| *o);
        if let (Some(stock), Some(ours)) = (
            over("stock tools (bench/baseline.sh)"),
            over("keyceremony run"),
        ) {
            println!(
                "{:<9} keyceremony's rest / the stock tools' rest: {:.2}x",
                "",
                (ours + floor_rest) / (stock + floor_rest)
            );
            if algorithm == "p384" {
                let without_disk = over("keyceremony run, all on tmpfs")
                    .map_or(String::new(), |o| format!(" ({o:.0} ms all on tmpfs)"));
                target(
                    "P-384 ceremony, overhead over the HSM floor, every entry fsynced",
                    format!("{ours:.0} ms{without_disk}"),
                    "35 ms",
                    ours <= 35.0,
                );
            }
        }
    }
    Ok(())
}

/// One HSM floor run on `lab`'s tokens.
fn floor_run(algorithm: &str, lab: &Lab) -> Result<Run> {
    let (floor, _, cpu_ms) = timed(|| floor::run(algorithm, lab))?;
    Ok(Run {
        wall_ms: floor.total_ms,
        root_ms: floor.root_ms,
        cpu_ms,
    })
}

/// `keyceremony run --answers`: wall time, and the root key's time inside
/// the module from its log's `key-generated` and `signed` entries.
fn keyceremony_run(name: &str, lab: &Lab, out: &Path) -> Result<Run> {
    let (script, answers) = shipped(name);
    let (run, wall_ms, cpu_ms) = timed(|| {
        Ok(lab
            .cmd()
            .args(lab.run_args(&script, &answers, out))
            .arg("--inventory")
            .arg(lab.inventory())
            .stdout(Stdio::null())
            .output()?)
    })?;
    if !run.status.success() {
        return Err(format!("keyceremony run: {}", text(&run.stderr)).into());
    }
    let log = std::fs::read_to_string(out.join("ceremony.log"))?;
    let mut root_ms = 0.0;
    for line in log.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)?;
        if matches!(entry["kind"].as_str(), Some("key-generated" | "signed")) {
            root_ms += entry["data"]["hsm_ms"].as_f64().unwrap_or(0.0);
        }
    }
    Ok(Run {
        wall_ms,
        root_ms,
        cpu_ms,
    })
}

/// bench/baseline.sh: wall time, and the root key's time inside the module
/// as the spy stamped it.
fn baseline_run(algorithm: &str, lab: &Lab, spy: &Path) -> Result<Run> {
    let (run, wall_ms, cpu_ms) = timed(|| {
        Ok(Command::new(repo().join("bench/baseline.sh"))
            .arg(algorithm)
            .arg(lab.path("baseline"))
            .env("SOFTHSM2_CONF", lab.conf())
            .env("MODULE", module())
            .env("WITNESS_PIN_FILE", lab.witness_pin())
            .env("SPY", spy)
            .output()?)
    })?;
    if !run.status.success() {
        return Err(format!("baseline: {}", text(&run.stderr)).into());
    }
    Ok(Run {
        wall_ms,
        root_ms: field(&text(&run.stdout), "root_hsm_ms")?,
        cpu_ms,
    })
}

/// What one log entry's fsync costs on the disk of `dir` now: the median
/// of 20 lines of a log entry's size, each appended and fdatasync'ed; and,
/// for comparison, of the same lines each written over one already on disk
/// and fdatasync'ed: the cheapest durable write the file system offers (no
/// change to the file's size or blocks, so no journal commit), which an
/// append-only log cannot use.
fn fsync_probe(dir: &Path) -> Result<(f64, f64)> {
    let path = dir.join("fsync-probe");
    let file = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)?;
    let line = [b'x'; 370];
    let durable_write = |at: u64| -> Result<f64> {
        let started = Instant::now();
        file.write_all_at(&line, at * line.len() as u64)?;
        file.sync_data()?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    // Each line first past the end of the file, as the log appends; then
    // over the same lines, once they are on disk.
    let appended = (0..20).map(durable_write).collect::<Result<Vec<_>>>()?;
    file.sync_all()?;
    let overwritten = (0..20).map(durable_write).collect::<Result<Vec<_>>>()?;
    std::fs::remove_file(path)?;
    Ok((median(&appended), median(&overwritten)))
}
