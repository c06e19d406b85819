//! "Ceremony": the script's description, the log's first entry as
//! recorded, and the SHA-256 of the script copy against the one that entry
//! records.

use crate::SCRIPT_COPY;
use crate::context::{Ctx, key_values, str_at};
use crate::doc::{Block, code, para, paragraphs, text};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Ceremony".to_string())];
    if let Some(script) = ctx.script() {
        blocks.extend(paragraphs(&script.ceremony.description));
    }
    let Some(start) = ctx.start() else {
        findings.push("the log does not begin with a ceremony-start entry".to_string());
        blocks.push(para("The log does not begin with a ceremony-start entry."));
        return blocks;
    };
    blocks.push(para(format!(
        "The log's first entry ({}), as recorded:",
        start.time
    )));
    blocks.push(key_values(&start.data));
    let recorded = str_at(&start.data, "script_sha256").map(str::to_ascii_lowercase);
    if let Some(script) = &ctx.script {
        let actual = script.sha256_hex();
        let verdict = match &recorded {
            Some(r) if *r == actual => "the same as the log records".to_string(),
            Some(r) => {
                findings.push(format!(
                    "{SCRIPT_COPY} has SHA-256 {actual}, but the log records script SHA-256 {r}: it is not the script that ran"
                ));
                format!("DIFFERENT from the log's {r}")
            }
            None => {
                findings.push("the log's first entry records no script SHA-256".to_string());
                "the log records none".to_string()
            }
        };
        blocks.push(Block::Para(vec![
            text(format!("SHA-256 of {SCRIPT_COPY} in the folder: ")),
            code(&actual),
            text(format!(": {verdict}.")),
        ]));
    }
    blocks
}
