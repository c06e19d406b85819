//! `keyceremony verify-log`: the auditor's offline check of a ceremony log.

use std::path::Path;
use std::process::exit;

use anyhow::{Context, Result, bail};
use keyceremony_log::verify::{Status, VerifyOptions, verify_path};

pub fn verify_log(log: &Path, expect_head: Option<&str>, witness_key: Option<&Path>) -> Result<()> {
    let expect_head = expect_head.map(parse_head).transpose()?;
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
    println!("{}: {}", log.display(), report.status);
    println!("entries: {}", report.entries);
    if let Some(id) = &report.ceremony_id {
        println!("ceremony: {id}");
    }
    if let Some(head) = report.head {
        println!("head: {}", hex::encode(head));
        println!("head words: {}", pgp_words::to_words(&head).join(" "));
    }
    if report.checkpoints > 0 || report.resumes > 0 {
        println!(
            "checkpoints: {} (each verified with the recorded log-signing key); reopened after an interruption: {} time(s)",
            report.checkpoints, report.resumes
        );
    }
    if let Some(problem) = &report.problem {
        println!("entry {}: {}", problem.entry, problem.message);
    }
    match report.status {
        Status::Sealed => Ok(()),
        status => exit(i32::from(status.exit_code())),
    }
}

/// The head as the witness copied it: hex, in any case, with or without
/// spaces.
fn parse_head(text: &str) -> Result<[u8; 32]> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = hex::decode(&compact).context("--expect-head is not hexadecimal")?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(head) => Ok(head),
        Err(_) => bail!(
            "--expect-head has {} bytes; a SHA-256 head has 32",
            bytes.len()
        ),
    }
}
