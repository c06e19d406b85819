//! "Participants and roles": everyone the script names (or, without the
//! script, everyone who checked in), their roles and check-in, and the
//! activation-data quorums (CPS 6.4.1).

use std::collections::HashMap;

use keyceremony_script::Secret;

use crate::context::{Ctx, LogEntry, str_at, value_text};
use crate::doc::{Block, Cell, Table, TableKind, cell, code_cell, para};

pub(crate) fn section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Participants and roles".to_string())];
    // Each participant's first check-in, found in one pass over the log.
    let mut first_check_in: HashMap<&str, &LogEntry> = HashMap::new();
    for e in ctx.of_kind("check-in") {
        if let Some(id) = str_at(&e.data, "participant") {
            first_check_in.entry(id).or_insert(e);
        }
    }
    let check_in = |id: &str| first_check_in.get(id).copied();
    let header = ["Id", "Name", "Roles", "Checked in", "Identity document"]
        .map(String::from)
        .to_vec();
    let rows: Vec<Vec<Cell>> = match ctx.script() {
        Some(script) => script
            .participants
            .iter()
            .map(|p| {
                let entry = check_in(&p.id);
                vec![
                    code_cell(&p.id),
                    cell(&p.name),
                    cell(
                        p.roles
                            .iter()
                            .map(|r| r.title())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    cell(
                        entry.map_or_else(|| "not checked in".to_string(), |e| ctx.clock(&e.time)),
                    ),
                    cell(match entry {
                        Some(e)
                            if e.data.get("present").and_then(|v| v.as_bool()) == Some(false) =>
                        {
                            format!("absent: {}", str_at(&e.data, "reason").unwrap_or("-"))
                        }
                        Some(e) => str_at(&e.data, "document").unwrap_or("-").to_string(),
                        None => "-".to_string(),
                    }),
                ]
            })
            .collect(),
        None => ctx
            .of_kind("check-in")
            .map(|e| {
                let roles = e
                    .data
                    .get("roles")
                    .map(value_text)
                    .unwrap_or_else(|| "-".to_string());
                vec![
                    code_cell(str_at(&e.data, "participant").unwrap_or("-")),
                    cell(str_at(&e.data, "name").unwrap_or("-")),
                    cell(roles),
                    cell(&e.time),
                    cell(str_at(&e.data, "document").unwrap_or("-")),
                ]
            })
            .collect(),
    };
    blocks.push(Block::Table(Table {
        header,
        rows,
        kind: TableKind::Data,
    }));
    if let Some(script) = ctx.script() {
        let line = |secret: Secret| {
            let q = script.activation.quorum(secret);
            let names: Vec<String> = q.custodians.iter().map(|id| ctx.name(id)).collect();
            format!(
                "{} of {} ({})",
                q.threshold,
                q.custodians.len(),
                names.join(", ")
            )
        };
        blocks.push(para(format!(
            "Activation data (CPS 6.4.1): SO PIN {}; user PIN {}. Log seal witness: {}.",
            line(Secret::SoPin),
            line(Secret::UserPin),
            ctx.name(&script.log.witness)
        )));
    }
    blocks
}
