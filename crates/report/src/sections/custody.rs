//! "Chain of custody": every tamper-evident bag of the ceremony, item by
//! item (each custodian's share of each PIN, the HSM, the terminal): the
//! bag it was sealed in, each bag opened (against the last serial recorded
//! for it) and each new bag, in order (CPS 5.4.1, 6.4.2). A bag opened that
//! is not the one last recorded is a finding.

use crate::context::{Ctx, LogEntry, str_at};
use crate::doc::{Block, Table, TableKind, cell, para};

/// One link of a chain: the item it belongs to and what happened.
fn link(ctx: &Ctx<'_>, e: &LogEntry, findings: &mut Vec<String>) -> Option<(String, String)> {
    let data = &e.data;
    let step = e.step.as_deref().unwrap_or("-");
    let share = || {
        format!(
            "{}'s {} share",
            ctx.name(str_at(data, "custodian").unwrap_or("-")),
            str_at(data, "secret").unwrap_or("-")
        )
    };
    let mut opened = |item: String, serial: &str| {
        let expected = str_at(data, "expected");
        let text = match (expected, data.get("matches").and_then(|m| m.as_bool())) {
            (Some(expected), Some(false)) => {
                findings.push(format!(
                    "entry {} at step {step}: {item}: bag {serial} was opened, but the last recorded for it is {expected}",
                    e.seq
                ));
                format!("{step}: opened {serial}, NOT the recorded {expected}")
            }
            (Some(_), _) => format!("{step}: opened {serial}, as recorded"),
            (None, _) => format!("{step}: opened {serial}"),
        };
        Some((item, text))
    };
    match e.kind.as_str() {
        "share-issued" => Some((
            share(),
            format!("{step}: sealed in {}", str_at(data, "bag").unwrap_or("-")),
        )),
        "bag-opened" => opened(share(), str_at(data, "serial").unwrap_or("-")),
        "bag-sealed" => Some((
            share(),
            format!(
                "{step}: sealed in {}",
                str_at(data, "serial").unwrap_or("-")
            ),
        )),
        "recorded" => {
            let value = str_at(data, "value").unwrap_or("-");
            if let Some(item) = str_at(data, "opens") {
                opened(format!("the {item}"), value)
            } else {
                str_at(data, "seals")
                    .map(|item| (format!("the {item}"), format!("{step}: sealed in {value}")))
            }
        }
        _ => None,
    }
}

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut chains: Vec<(String, Vec<String>)> = Vec::new();
    for e in &ctx.entries {
        if let Some((item, text)) = link(ctx, e, findings) {
            match chains.iter_mut().find(|(i, _)| *i == item) {
                Some((_, links)) => links.push(text),
                None => chains.push((item, vec![text])),
            }
        }
    }
    let mut blocks = vec![
        Block::Heading(2, "Chain of custody".to_string()),
        para(
            "Every tamper-evident bag, item by item, in order: the bag each share was \
             sealed in when it was handed out, each bag opened (checked against the last \
             serial recorded for it) and each new bag; the HSM's and the terminal's \
             likewise. Compare each serial with the paper script.",
        ),
    ];
    if chains.is_empty() {
        blocks.push(para("The log records no bag."));
        return blocks;
    }
    blocks.push(Block::Table(Table {
        header: ["Item", "Bags, in order"].map(String::from).to_vec(),
        rows: chains
            .into_iter()
            .map(|(item, links)| vec![cell(item), cell(links.join("; "))])
            .collect(),
        kind: TableKind::Data,
    }));
    blocks
}
