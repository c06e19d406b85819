//! "Exceptions": departures from the script as recorded with the
//! witness's word, and the errors and aborts; each is a finding.

use crate::context::{Ctx, LogEntry, str_at, value_text};
use crate::doc::{Block, Table, TableKind, cell, code_cell, para};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Exceptions".to_string())];
    let exceptions: Vec<&LogEntry> = ctx.of_kind("exception").collect();
    if exceptions.is_empty() {
        blocks.push(para("The log records no exception."));
    } else {
        for e in &exceptions {
            findings.push(format!(
                "exception {} at step {}: {}",
                e.data.get("number").map_or("-".to_string(), value_text),
                e.step.as_deref().unwrap_or("-"),
                str_at(&e.data, "description").unwrap_or(&e.description)
            ));
        }
        blocks.push(para(
            "Departures from the script, as recorded with the witness's word; each has its \
             row on the paper exception sheet.",
        ));
        blocks.push(Block::Table(Table {
            header: [
                "No.",
                "Step",
                "Time",
                "Recorded by",
                "What happened",
                "Accepted",
                "Witness",
                "Remark",
            ]
            .map(String::from)
            .to_vec(),
            rows: exceptions
                .iter()
                .map(|e| {
                    vec![
                        cell(e.data.get("number").map_or("-".to_string(), value_text)),
                        code_cell(e.step.clone().unwrap_or_default()),
                        cell(ctx.clock(&e.time)),
                        cell(ctx.name(&e.actor.id)),
                        cell(str_at(&e.data, "description").unwrap_or(&e.description)),
                        cell(e.data.get("accepted").map_or("-".to_string(), value_text)),
                        cell(str_at(&e.data, "witness").map_or("-".to_string(), |w| ctx.name(w))),
                        cell(str_at(&e.data, "remark").unwrap_or("")),
                    ]
                })
                .collect(),
            kind: TableKind::Data,
        }));
    }
    let stops: Vec<&LogEntry> = ctx
        .entries
        .iter()
        .filter(|e| e.kind == "error" || e.kind == "abort")
        .collect();
    if !stops.is_empty() {
        blocks.push(Block::Heading(3, "Errors and aborts".to_string()));
        blocks.push(Block::Table(Table {
            header: ["Entry", "Step", "Time", "Kind", "Description"]
                .map(String::from)
                .to_vec(),
            rows: stops
                .iter()
                .map(|e| {
                    findings.push(format!("entry {}: {}", e.seq, e.description));
                    vec![
                        cell(e.seq.to_string()),
                        code_cell(e.step.clone().unwrap_or_default()),
                        cell(ctx.clock(&e.time)),
                        code_cell(&e.kind),
                        cell(&e.description),
                    ]
                })
                .collect(),
            kind: TableKind::Data,
        }));
    }
    blocks
}
