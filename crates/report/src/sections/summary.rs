//! The report's front page: "Summary" (the ceremony at a glance) and
//! "Findings" (every check that failed, every event the auditor must
//! review). Laid out last, from the findings every other section made, and
//! printed first.

use crate::context::{Ctx, str_at};
use crate::doc::{Block, cell, code_cell, fields, para, strong, text};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &[String]) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Summary".to_string())];
    let outcome = ctx
        .seal()
        .and_then(|e| str_at(&e.data, "outcome"))
        .map_or_else(|| "not sealed".to_string(), str::to_string);
    let certificates: Vec<String> = ctx.certificate_files().map(|(label, _)| label).collect();
    blocks.push(fields(vec![
        ("Ceremony".to_string(), cell(ctx.ceremony_name())),
        ("Ceremony id".to_string(), code_cell(ctx.ceremony_id())),
        (
            "Mode".to_string(),
            if ctx.rehearsal {
                vec![strong("REHEARSAL")]
            } else {
                cell("production")
            },
        ),
        ("Outcome".to_string(), cell(outcome)),
        ("Log".to_string(), cell(ctx.verify.status.to_string())),
        (
            "Started".to_string(),
            cell(ctx.entries.first().map_or("-", |e| e.time.as_str())),
        ),
        (
            "Last entry".to_string(),
            cell(ctx.last.as_ref().map_or("-", |e| e.time.as_str())),
        ),
        (
            "Certificates".to_string(),
            cell(if certificates.is_empty() {
                "none".to_string()
            } else {
                certificates.join(", ")
            }),
        ),
        (
            "Exceptions".to_string(),
            cell(ctx.of_kind("exception").count().to_string()),
        ),
        ("Findings".to_string(), cell(findings.len().to_string())),
    ]));

    blocks.push(Block::Heading(2, "Findings".to_string()));
    if findings.is_empty() {
        blocks.push(para(
            "None: the log is sealed and intact, every file is accounted for by the log with \
             the same SHA-256, every certificate verifies, and the log records no exception, \
             failure or warning.",
        ));
    } else {
        blocks.push(Block::Notice(vec![text(format!(
            "{} finding(s): each is a check that failed or an event the auditor must review.",
            findings.len()
        ))]));
        blocks.push(Block::List(
            findings.iter().map(|f| vec![text(f)]).collect(),
        ));
    }
    blocks
}
