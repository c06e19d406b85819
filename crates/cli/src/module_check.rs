//! `keyceremony module check`: what a module and token offer a ceremony,
//! found without changing the token (docs/supported-modules.md).

use std::path::Path;

use anyhow::{Result, bail};
use keyceremony_hsm::{Check, Module, Probe, Verdict};

use crate::out::{self, say};

/// Probes the token labelled `token`, or without one the token a ceremony
/// would initialise, prints the table, and fails with every reason a
/// ceremony could not run (or might not) on it.
pub fn check(module: &Path, token: Option<&str>) -> Result<()> {
    let loaded = Module::load(module)?;
    let chosen = match token {
        Some(label) => loaded.token_by_label(label)?,
        None => loaded.uninitialized_token()?,
    };
    let probe = chosen.probe(keyceremony_shares::PIN_BYTES)?;
    out::lines(&table(module, &probe));
    let problems = probe.problems();
    if problems.is_empty() {
        say!("module check: a ceremony can run on this token");
        return Ok(());
    }
    bail!(
        "a ceremony could not run on this token, or might not: {}",
        problems.join("; ")
    )
}

fn verdict(check: &Check) -> &'static str {
    match check.verdict {
        Verdict::Ready => "ok",
        Verdict::Lacking(_) => "LACKING",
        Verdict::Unconfirmed(_) => "UNCONFIRMED",
        Verdict::CheckedByCeremony(_) => "by the ceremony",
    }
}

/// The module, the token, and one row per need; reasons under their row.
fn table(module: &Path, probe: &Probe) -> String {
    let info = &probe.module;
    let token = &probe.token;
    let mut out = format!(
        "module  {} ({}, {}, library {}, PKCS#11 {})\ntoken   slot {}: {} {}, serial {}, firmware {}\n\n",
        module.display(),
        info.manufacturer,
        info.library_description,
        info.library_version,
        info.cryptoki_version,
        token.slot_id,
        token.manufacturer,
        token.model,
        if token.serial.is_empty() {
            "none yet"
        } else {
            &token.serial
        },
        token.firmware_version,
    );
    let header = ["need", "found", "the ceremony uses", "verdict"];
    let rows: Vec<[&str; 4]> = probe
        .checks
        .iter()
        .map(|c| [c.need, c.found.as_str(), c.uses.as_str(), verdict(c)])
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.push('\n');
        text
    };
    out.push_str(&line(header));
    for (row, check) in rows.into_iter().zip(&probe.checks) {
        out.push_str(&line(row));
        match &check.verdict {
            Verdict::Lacking(reason)
            | Verdict::Unconfirmed(reason)
            | Verdict::CheckedByCeremony(reason) => {
                out.push_str(&format!("    ({reason})\n"));
            }
            Verdict::Ready => {}
        }
    }
    out.push('\n');
    out
}
