//! How fast the verifier reads a sealed log, and that its memory stays flat.
//!
//! `cargo bench -p keyceremony-log` verifies a 100,000-entry log;
//! `cargo bench -p keyceremony-log -- all` verifies 10^3 to 10^6 entries, and
//! `-- N` one log of N entries. Prints entries, seconds, entries per second
//! and the process's peak resident memory (VmHWM) before and after verifying;
//! the peak is reset just before verifying, so "after" is the verifier's own.
//!
//! The bulk of each log is written directly in the writer's format rather than
//! through `LogWriter`, whose fsync per entry would make a million entries
//! take minutes; the log is then reopened with `LogWriter::open_existing` and
//! sealed, so the result is a log the writer accepts as its own.

#[path = "../tests/support/mod.rs"]
mod support;

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use chrono::{Duration, Utc};
use keyceremony_log::verify::{Status, VerifyOptions, verify_path};
use keyceremony_log::{Actor, Entry, EventKind, LogWriter, SealOutcome, line_hash};
use serde_json::json;
use support::{Keys, pin, public_pem};

const CEREMONY_ID: &str = "bench-2026";

fn main() -> Result<(), Box<dyn Error>> {
    // cargo bench passes --bench; anything else is a size or "all".
    let sizes: Vec<u64> = match std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        None => vec![100_000],
        Some(all) if all == "all" => vec![1_000, 10_000, 100_000, 1_000_000],
        Some(n) => vec![n.parse()?],
    };
    let keys = Keys::fixed();
    let options = VerifyOptions {
        expect_head: None,
        witness_key_pem: Some(public_pem(&keys.witness)),
    };
    println!(
        "{:>9} {:>9} {:>8} {:>11} {:>15} {:>14}",
        "entries", "MiB", "seconds", "entries/s", "VmHWM before", "VmHWM after"
    );
    for size in sizes {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ceremony.log");
        write_sealed_log(&path, &keys, size)?;
        let mib = std::fs::metadata(&path)?.len() as f64 / (1 << 20) as f64;

        let before = vm_hwm_kib()?;
        let reset = reset_peak();
        let start = Instant::now();
        let report = verify_path(&path, &options);
        let seconds = start.elapsed().as_secs_f64();
        let after = vm_hwm_kib()?;

        if report.status != Status::Sealed || report.entries != size {
            return Err(format!("the benchmark log did not verify: {report:?}").into());
        }
        println!(
            "{:>9} {:>9.1} {:>8.3} {:>11.0} {:>12} KiB {:>10} KiB{}",
            size,
            mib,
            seconds,
            size as f64 / seconds,
            before,
            after,
            if reset { "" } else { " (peak not reset)" }
        );
    }
    Ok(())
}

/// A sealed log of `size` entries, the seal included.
fn write_sealed_log(path: &Path, keys: &Keys, size: u64) -> Result<(), Box<dyn Error>> {
    let mut log = LogWriter::create(path)?;
    log.append(
        &Actor::tool(),
        None,
        EventKind::CeremonyStart,
        "benchmark ceremony starts",
        json!({ "ceremony_id": CEREMONY_ID, "witness_key_sha256": pin(&keys.witness) }),
    )?;
    keys.record_log_signing_key(&mut log)?;
    let mut prev = log.head();
    let first = log.len() + 1;
    drop(log);

    let base = Utc::now();
    let operator = Actor::new("ada", "ca-administrator");
    let mut out = BufWriter::new(OpenOptions::new().append(true).open(path)?);
    let mut line = Vec::with_capacity(512);
    // All entries but the seal.
    for seq in first..size {
        let entry = Entry {
            seq,
            time: (base + Duration::milliseconds(seq as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            prev: hex::encode(prev),
            actor: operator.clone(),
            step: Some(format!("{}.{}", seq / 100, seq % 100)),
            kind: EventKind::Recorded,
            description: format!("value {seq} read aloud and confirmed by the witness"),
            data: json!({ "value": seq, "sha256": hex::encode_upper(prev) }),
        };
        line.clear();
        serde_json::to_writer(&mut line, &entry)?;
        prev = line_hash(&line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    let file: File = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);

    let (mut log, _) = LogWriter::open_existing(path)?;
    keys.seal(CEREMONY_ID, &mut log, SealOutcome::Completed)?;
    Ok(())
}

/// Peak resident set size of this process so far.
fn vm_hwm_kib() -> Result<u64, Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status".into())
}

/// Resets the peak to the current resident size (Linux: "5" to clear_refs),
/// so the next reading is the verifier's own peak.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
