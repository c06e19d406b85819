//! "Dual control in the room": who was in the room (absences at the
//! check-ins, who left and came back, with the times), and the performer's
//! go before each irreversible HSM action, with what the room was shown
//! (CPS 5.2.2, 5.2.3, 6.1.1). An HSM action with no go before it in its step
//! is a finding, and so is a clock check beyond the policy's limit (CPS
//! 5.5.5).

use crate::context::{Ctx, str_at};
use crate::doc::{Block, Table, TableKind, cell, code_cell, para};

/// The HSM actions that wait for a go, by the log kind of their result.
const ACTED: [(&str, &str); 3] = [
    ("token-initialized", "the token's initialisation"),
    ("key-generated", "the key generation"),
    ("signed", "the signature"),
];

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Dual control in the room".to_string()),
        para(
            "Before every irreversible HSM action the room was shown what was about to \
             happen, and the step's performer gave the go (kind go); before a signature, \
             the certificate as its to-be-signed bytes say and the pre-signing lint.",
        ),
    ];
    for e in ctx.of_kind("clock-check") {
        let difference = e.data.get("difference_ms").and_then(|v| v.as_i64());
        let limit = e.data.get("limit_ms").and_then(|v| v.as_i64());
        if let (Some(difference), Some(limit)) = (difference, limit)
            && difference.abs() > limit
        {
            findings.push(format!(
                "entry {} at step {}: the terminal's clock was {:+.3} s off the reference clock, beyond the policy's {} s (CPS 5.5.5); see the exceptions",
                e.seq,
                e.step.as_deref().unwrap_or("-"),
                difference as f64 / 1000.0,
                limit / 1000
            ));
        }
    }
    let movements: Vec<Vec<crate::doc::Cell>> = ctx
        .entries
        .iter()
        .filter_map(|e| {
            let who = ctx.name(str_at(&e.data, "participant")?);
            let what = match e.kind.as_str() {
                "check-in" if e.data.get("present").and_then(|v| v.as_bool()) == Some(false) => {
                    format!("absent: {}", str_at(&e.data, "reason").unwrap_or("-"))
                }
                "presence" if str_at(&e.data, "change") == Some("leaves") => {
                    format!("leaves: {}", str_at(&e.data, "reason").unwrap_or("-"))
                }
                "presence" => "comes back".to_string(),
                _ => return None,
            };
            let at = str_at(&e.data, "at").unwrap_or(&e.time);
            Some(vec![
                code_cell(e.step.clone().unwrap_or_default()),
                cell(ctx.clock(at)),
                cell(who),
                cell(what),
            ])
        })
        .collect();
    if !movements.is_empty() {
        blocks.push(Block::Table(Table {
            header: ["Step", "Time", "Participant", "In or out of the room"]
                .map(String::from)
                .to_vec(),
            rows: movements,
            kind: TableKind::Data,
        }));
    }
    let gos: Vec<_> = ctx.of_kind("go").collect();
    for e in &ctx.entries {
        let Some((_, what)) = ACTED.iter().find(|(kind, _)| *kind == e.kind) else {
            continue;
        };
        let given = gos.iter().any(|g| g.step == e.step && g.seq < e.seq);
        if !given {
            findings.push(format!(
                "entry {} at step {}: {what} has no go recorded before it",
                e.seq,
                e.step.as_deref().unwrap_or("-")
            ));
        }
    }
    if gos.is_empty() {
        blocks.push(para("The log records no go."));
        return blocks;
    }
    blocks.push(Block::Table(Table {
        header: [
            "Step",
            "Time",
            "Go given by",
            "What the HSM was about to do",
        ]
        .map(String::from)
        .to_vec(),
        rows: gos
            .iter()
            .map(|g| {
                vec![
                    code_cell(g.step.clone().unwrap_or_default()),
                    cell(ctx.clock(&g.time)),
                    cell(ctx.name(&g.actor.id)),
                    cell(str_at(&g.data, "what").unwrap_or("-")),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    }));
    blocks
}
