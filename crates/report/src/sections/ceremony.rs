//! "Ceremony": the script's description, where and with what it ran (the
//! location, the HSM's model and certification, the video recordings, the
//! CPS), how each run's input was given, the log's first entry as
//! recorded, and the SHA-256 of the script copy against the one that entry
//! records.

use serde_json::Value;

use crate::SCRIPT_COPY;
use crate::context::{Ctx, key_values, str_at, value_text};
use crate::doc::{Block, Cell, cell, code, fields, para, paragraphs, text};

/// A script's text, or what its absence means.
fn named(value: Option<&String>) -> Cell {
    cell(value.map_or("not named by the script", String::as_str))
}

/// Where and with what the ceremony ran, as the script names it, and the
/// CPS as entry 1 records it.
fn setting(ctx: &Ctx<'_>) -> Block {
    let mut rows = Vec::new();
    if let Some(script) = ctx.script() {
        let c = &script.ceremony;
        rows.push(("Location".to_string(), named(c.location.as_ref())));
        rows.push(("HSM model".to_string(), named(script.hsm.model.as_ref())));
        rows.push((
            "HSM certification".to_string(),
            named(script.hsm.certification.as_ref()),
        ));
        rows.push((
            "Video recordings".to_string(),
            cell(if c.video.is_empty() {
                "none named by the script".to_string()
            } else {
                c.video.join("; ")
            }),
        ));
    }
    let start = ctx.start().map(|e| &e.data);
    rows.push((
        "CPS".to_string(),
        cell(
            start
                .and_then(|d| str_at(d, "cps"))
                .unwrap_or("not recorded"),
        ),
    ));
    rows.push((
        "Policy".to_string(),
        cell(
            start
                .and_then(|d| str_at(d, "policy"))
                .unwrap_or("not recorded"),
        ),
    ));
    for (run, e) in ctx
        .of_kind("recorded")
        .filter(|e| e.data.get("input").is_some())
        .enumerate()
    {
        let input = &e.data["input"];
        let how = match str_at(input, "from") {
            Some("terminal") => "typed in the operator TUI at the terminal".to_string(),
            Some("answers-file") => format!(
                "read from the answers file {} (SHA-256 {})",
                str_at(input, "path").unwrap_or("-"),
                str_at(input, "sha256").unwrap_or("-")
            ),
            _ => value_text(input),
        };
        rows.push((
            format!("Input, run {} (entry {})", run + 1, e.seq),
            cell(how),
        ));
    }
    fields(rows)
}

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Ceremony".to_string())];
    if let Some(script) = ctx.script() {
        blocks.extend(paragraphs(&script.ceremony.description));
    }
    blocks.push(setting(ctx));
    if !ctx
        .of_kind("recorded")
        .any(|e| matches!(e.data.get("input"), Some(Value::Object(_))))
    {
        findings.push("the log does not say how the ceremony's input was given".to_string());
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
