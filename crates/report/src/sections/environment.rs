//! "Environment": the machine and the PKCS#11 module as the tool found
//! them, and the SHA-256 of the binary that ran in hex and as PGP words, to
//! compare with a rebuild; every entry flagged as a warning, whatever its
//! section, is a finding.

use serde_json::Value;

use crate::context::{Ctx, key_values, pgp_words, str_at};
use crate::doc::{Block, cell, code_cell, fields, para};

/// The logged `binary_sha256`, when it is one (the tool logs why not when
/// it could not read its own binary).
fn binary_sha256(data: &Value) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(str_at(data, "binary_sha256")?, &mut digest).ok()?;
    Some(digest)
}

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Environment".to_string()),
        para(
            "The machine and the PKCS#11 module as the tool found them, every recorded value \
             as logged. Compare the tool's and the module's SHA-256 with the values published \
             for this ceremony; the tool's is also the SHA-256 of the binary that the release's \
             source bundle rebuilds (docs/auditor.md, \"Rebuilding the binary that ran the \
             ceremony\").",
        ),
    ];
    let mut any = false;
    for e in ctx.of_kind("environment") {
        any = true;
        blocks.push(Block::Heading(
            3,
            format!("Entry {}: {}", e.seq, e.description),
        ));
        blocks.push(para(format!("Recorded at {}.", e.time)));
        blocks.push(key_values(&e.data));
        if let Some(digest) = binary_sha256(&e.data) {
            blocks.push(fields(vec![
                (
                    "SHA-256 of the binary that ran".to_string(),
                    code_cell(hex::encode_upper(digest)),
                ),
                (
                    "The same, as PGP words to read aloud".to_string(),
                    cell(pgp_words(&digest)),
                ),
            ]));
        }
    }
    if !any {
        findings.push("the log has no environment entry".to_string());
        blocks.push(para("The log has no environment entry."));
    }
    // Any entry may carry a warning flag (network interfaces up in a
    // rehearsal, for example); the auditor sees each one among the findings.
    for e in ctx
        .entries
        .iter()
        .filter(|e| e.data.get("warning").and_then(Value::as_bool) == Some(true))
    {
        findings.push(format!("warning in entry {}: {}", e.seq, e.description));
    }
    blocks
}
