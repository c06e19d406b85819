//! "Environment": the machine and the PKCS#11 module as the tool found
//! them; every entry flagged as a warning, whatever its section, is a
//! finding.

use serde_json::Value;

use crate::context::{Ctx, key_values};
use crate::doc::{Block, para};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Environment".to_string()),
        para(
            "The machine and the PKCS#11 module as the tool found them, every recorded value \
             as logged. Compare the tool's and the module's SHA-256 with the values published \
             for this ceremony.",
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
