//! "Values recorded in the room": what people read or typed during the
//! ceremony (recorded entries, clock checks), to compare with the paper
//! script.

use crate::context::{Ctx, flatten, str_at, value_text};
use crate::doc::{Block, Table, TableKind, cell, code_cell, para};

pub(crate) fn section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut rows = Vec::new();
    for e in &ctx.entries {
        let (what, value) = match e.kind.as_str() {
            "recorded" => match (str_at(&e.data, "label"), e.data.get("value")) {
                (Some(label), Some(value)) => (label.to_string(), value_text(value)),
                _ => {
                    let mut pairs = Vec::new();
                    flatten("", &e.data, &mut pairs);
                    let joined = pairs
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join("; ");
                    (e.description.clone(), joined)
                }
            },
            "clock-check" => (
                "Clock check".to_string(),
                format!(
                    "system {}, reference {}, system minus reference {} ms",
                    str_at(&e.data, "system_time").unwrap_or("-"),
                    str_at(&e.data, "reference_time").unwrap_or("-"),
                    e.data
                        .get("difference_ms")
                        .map_or("-".to_string(), value_text)
                ),
            ),
            _ => continue,
        };
        rows.push(vec![
            code_cell(e.step.clone().unwrap_or_default()),
            cell(ctx.clock(&e.time)),
            cell(ctx.name(&e.actor.id)),
            cell(what),
            cell(value),
        ]);
    }
    let mut blocks = vec![
        Block::Heading(2, "Values recorded in the room".to_string()),
        para(format!(
            "What people read or typed during the ceremony, as logged (times UTC, on {} \
                 unless a date is given): compare each with the value copied onto the paper \
                 script.",
            ctx.day()
        )),
    ];
    if rows.is_empty() {
        blocks.push(para("The log records no values."));
    } else {
        blocks.push(Block::Table(Table {
            header: ["Step", "Time", "Recorded by", "What", "Value"]
                .map(String::from)
                .to_vec(),
            rows,
            kind: TableKind::Data,
        }));
    }
    blocks
}
