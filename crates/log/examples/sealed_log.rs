//! Writes a small sealed ceremony log to try docs/auditor.md on:
//!
//! ```text
//! cargo run -p keyceremony-log --example sealed_log -- /tmp/kc-audit
//! ```
//!
//! leaves `ceremony.log`, the witness's public key `witness-key.pem`, and
//! prints the head to copy "on paper". The keys are software stand-ins for
//! the HSM and the witness's token (tests/support).

#[path = "../tests/support/mod.rs"]
mod support;

use std::error::Error;
use std::path::PathBuf;

use keyceremony_log::{Actor, EventKind, LogWriter, SealOutcome};
use serde_json::json;
use support::{Keys, pin, public_pem, witness};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: sealed_log DIR (a new or empty folder)")?,
    );
    std::fs::create_dir_all(&dir)?;
    let keys = Keys::fixed();
    let mut log = LogWriter::create(&dir.join("ceremony.log"))?;
    let tool = Actor::tool();
    let ada = Actor::new("ada", "ca-administrator");
    log.append(
        &tool,
        None,
        EventKind::CeremonyStart,
        "ceremony 'Example Root CA' starts",
        json!({ "ceremony_id": "example-root-2026", "rehearsal": true, "witness_key_sha256": pin(&keys.witness) }),
    )?;
    log.append(
        &ada,
        Some("1.1"),
        EventKind::CheckIn,
        "Ada checks in",
        json!({}),
    )?;
    log.append(
        &witness(),
        Some("1.1"),
        EventKind::WitnessConfirmed,
        "Wanda confirms step 1.1",
        json!({}),
    )?;
    // Text that JSON escapes, so the auditor's commands meet it too.
    log.append(
        &ada,
        Some("1.2"),
        EventKind::Recorded,
        "HSM taken from bag №A-17 — seal \"intact\"",
        json!({ "bag": "A-17", "note": "C:\\hsm\\ \t tab" }),
    )?;
    log.append(
        &tool,
        Some("2.1"),
        EventKind::KeyGenerated,
        "root key generated in the HSM",
        json!({ "label": "root-2026", "curve": "P-384", "extractable": false }),
    )?;
    keys.record_log_signing_key(&mut log)?;
    log.append(
        &tool,
        None,
        EventKind::CeremonyEnd,
        "ceremony completed",
        json!({}),
    )?;
    let head = hex::encode(log.head());
    keys.seal("example-root-2026", &mut log, SealOutcome::Completed)?;
    std::fs::write(dir.join("witness-key.pem"), public_pem(&keys.witness))?;
    println!("wrote {}", dir.join("ceremony.log").display());
    println!("wrote {}", dir.join("witness-key.pem").display());
    println!("head (copy on paper): {head}");
    Ok(())
}
