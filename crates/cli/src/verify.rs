//! `keyceremony verify-log`: the auditor's offline check of a ceremony log.

use std::path::Path;
use std::process::exit;

use anyhow::{Context, Result};
use keyceremony_log::verify::{Status, VerifyOptions, verify_path};

use crate::out::say;

pub fn verify_log(
    log: &Path,
    expect_head: Option<[u8; 32]>,
    witness_key: Option<&Path>,
) -> Result<()> {
    let witness_key_pem = witness_key
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the witness key {}", p.display()))
        })
        .transpose()?;
    let report = verify_path(
        log,
        &VerifyOptions {
            expect_head,
            witness_key_pem,
        },
    );
    say!("{}: {}", log.display(), report.status);
    say!("entries: {}", report.entries);
    if let Some(id) = &report.ceremony_id {
        say!("ceremony: {id}");
    }
    if let Some(head) = report.head {
        say!("head: {}", hex::encode(head));
        say!("head words: {}", pgp_words::to_words(&head).join(" "));
    }
    if report.checkpoints > 0 || report.resumes > 0 {
        say!(
            "checkpoints: {} (each verified with the recorded log-signing key); reopened after an interruption: {} time(s)",
            report.checkpoints,
            report.resumes
        );
    }
    if let Some(problem) = &report.problem {
        say!("entry {}: {}", problem.entry, problem.message);
    }
    match report.status {
        Status::Sealed => Ok(()),
        status => exit(i32::from(status.exit_code())),
    }
}

/// `--expect-head`: the head as the witness copied it, hex in any case,
/// with or without spaces. Parsed by clap, so that a malformed head is a
/// usage error (exit 2), never mistaken for a verdict on the log.
pub fn parse_head(text: &str) -> Result<[u8; 32], String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = hex::decode(&compact).map_err(|e| {
        format!("not hexadecimal ({e}): copy the 64 hex digits of the head from the paper script")
    })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "{} bytes where a SHA-256 head has 32: copy all 64 hex digits from the paper script",
            bytes.len()
        )
    })
}
