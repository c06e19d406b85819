//! "Activation data": the shares issued and the bags they were sealed in
//! (CPS 6.4.2), then every activation of the token; a rejected share or a
//! failed login is a finding.

use crate::context::{Ctx, LogEntry, str_at, value_text};
use crate::doc::{Block, Cell, Table, TableKind, cell, code_cell, para};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Activation data".to_string()),
        para(format!(
            "Each custodian's shares and the tamper-evident bag each was sealed in (CPS \
                 6.4.2), then every activation of the token (times UTC, on {} unless a date is \
                 given). No share or PIN is ever in the log.",
            ctx.day()
        )),
    ];
    let issued: Vec<Vec<Cell>> = ctx
        .of_kind("share-issued")
        .map(|e| {
            vec![
                cell(ctx.name(str_at(&e.data, "custodian").unwrap_or(&e.actor.id))),
                cell(str_at(&e.data, "secret").unwrap_or("-")),
                cell(e.data.get("number").map_or("-".to_string(), value_text)),
                code_cell(str_at(&e.data, "set").unwrap_or("-")),
                code_cell(str_at(&e.data, "bag").unwrap_or("-")),
                cell(ctx.clock(&e.time)),
            ]
        })
        .collect();
    if issued.is_empty() {
        blocks.push(para("No shares were issued in this ceremony."));
    } else {
        blocks.push(Block::Heading(3, "Shares issued".to_string()));
        blocks.push(Block::Table(Table {
            header: ["Custodian", "Secret", "Share", "Set", "Bag", "Time"]
                .map(String::from)
                .to_vec(),
            rows: issued,
            kind: TableKind::Data,
        }));
    }
    let kinds = [
        "share-entered",
        "share-rejected",
        "login-succeeded",
        "login-failed",
        "logout",
    ];
    let events: Vec<&LogEntry> = ctx
        .entries
        .iter()
        .filter(|e| kinds.contains(&e.kind.as_str()))
        .collect();
    for e in events
        .iter()
        .filter(|e| e.kind == "login-failed" || e.kind == "share-rejected")
    {
        findings.push(format!(
            "entry {} at step {}: {}",
            e.seq,
            e.step.as_deref().unwrap_or("-"),
            e.description
        ));
    }
    if !events.is_empty() {
        blocks.push(Block::Heading(3, "Activations".to_string()));
        blocks.push(Block::Table(Table {
            header: ["Step", "Time", "Event", "Description"]
                .map(String::from)
                .to_vec(),
            rows: events
                .into_iter()
                .map(|e| {
                    vec![
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
