//! Peak memory: `keyceremony run` of each shipped ceremony (its report
//! included), and `keyceremony rehearse --headless` (both ceremonies in one
//! process), as `/usr/bin/time -v` reports their maximum resident set size.
//! SoftHSM2 and OpenSSL in the process are counted.

use std::process::Command;

use crate::common::{BIN, Lab, module, shipped};
use crate::{Result, have_time, measured, median, summary, target};

pub fn section(runs: usize) -> Result<()> {
    println!();
    println!("# Peak memory (maximum resident set size, /usr/bin/time -v, MiB)");
    if !have_time() {
        return Ok(());
    }
    let mut worst: f64 = 0.0;
    for name in ["root-p384", "root-rsa4096"] {
        let (script, answers) = shipped(name);
        let mut peaks = Vec::new();
        for _ in 0..runs {
            let lab = Lab::new();
            let mut cmd = lab.cmd();
            cmd.args(lab.run_args(&script, &answers, &lab.path("out")))
                .arg("--inventory")
                .arg(lab.inventory());
            peaks.push(measured(cmd)?.peak_mib);
        }
        worst = worst.max(median(&peaks));
        println!(
            "{:<58} {}",
            format!("keyceremony run {name}"),
            summary(&peaks, 1)
        );
    }
    let mut peaks = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(BIN);
        cmd.args(["rehearse", "--headless", "--module"])
            .arg(module())
            .arg("--out")
            .arg(dir.path().join("rehearsal"))
            .env_remove("SOFTHSM2_CONF");
        peaks.push(measured(cmd)?.peak_mib);
    }
    println!(
        "{:<58} {}",
        "keyceremony rehearse --headless (both ceremonies)",
        summary(&peaks, 1)
    );
    target(
        "peak memory of `keyceremony run`",
        format!("{worst:.1} MiB"),
        "16 MiB",
        worst <= 16.0,
    );
    Ok(())
}
