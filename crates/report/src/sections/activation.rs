//! "Activation data": the shares issued, whether each custodian's copy
//! typed back matched, and the bags they were sealed in (CPS 6.4.2), then
//! every activation of the token; a share never checked, a rejected share
//! or a failed login is a finding.

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
            let custodian = str_at(&e.data, "custodian").unwrap_or(&e.actor.id);
            let secret = str_at(&e.data, "secret").unwrap_or("-");
            let checks: Vec<bool> = ctx
                .of_kind("copy-checked")
                .filter(|c| {
                    str_at(&c.data, "custodian") == Some(custodian)
                        && str_at(&c.data, "secret") == Some(secret)
                })
                .map(|c| c.data.get("matches").and_then(|m| m.as_bool()) == Some(true))
                .collect();
            let copy = match checks.iter().filter(|m| !**m).count() {
                _ if !checks.contains(&true) => {
                    findings.push(format!(
                        "entry {}: {}'s share of the {secret} has no copy typed back that matched",
                        e.seq,
                        ctx.name(custodian)
                    ));
                    "NOT CHECKED".to_string()
                }
                0 => "matched".to_string(),
                wrong => format!("matched after {wrong} that differed"),
            };
            vec![
                cell(ctx.name(custodian)),
                cell(secret),
                cell(e.data.get("number").map_or("-".to_string(), value_text)),
                code_cell(str_at(&e.data, "set").unwrap_or("-")),
                cell(copy),
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
            header: ["Custodian", "Secret", "Share", "Set", "Copy", "Bag", "Time"]
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
