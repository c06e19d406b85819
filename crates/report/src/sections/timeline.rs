//! "Timeline": every step as the log records it, from step-begin to the
//! witness's verdict and step-end; a step without a witness confirmation,
//! a refusal, or a step of the script never begun is a finding.

use std::collections::{BTreeSet, HashMap};

use crate::context::{Ctx, role_title, str_at};
use crate::doc::{Block, Table, TableKind, cell, code_cell, para, text};

/// One row of the timeline.
struct StepRow {
    step: String,
    title: String,
    performer: String,
    witness: String,
    began: String,
    verdict: String,
    ended: String,
    witnessed: bool,
}

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut rows: Vec<StepRow> = Vec::new();
    // Step id -> its latest row: an entry goes to its step's row without a
    // search through the rows.
    let mut latest: HashMap<String, usize> = HashMap::new();
    for e in &ctx.entries {
        let current = e
            .step
            .as_ref()
            .and_then(|step| latest.get(step))
            .map(|&i| &mut rows[i]);
        match (e.kind.as_str(), current) {
            ("step-begin", _) => {
                let person = |key: &str| {
                    str_at(&e.data, key).map_or_else(|| "-".to_string(), |id| ctx.name(id))
                };
                latest.insert(e.step.clone().unwrap_or_default(), rows.len());
                rows.push(StepRow {
                    step: e.step.clone().unwrap_or_default(),
                    title: str_at(&e.data, "title").unwrap_or("-").to_string(),
                    performer: format!("{} ({})", person("performer"), role_title(&e.actor.role)),
                    witness: person("witness"),
                    began: ctx.clock(&e.time),
                    verdict: "no verdict recorded".to_string(),
                    ended: "-".to_string(),
                    witnessed: false,
                });
            }
            ("witness-confirmed", Some(row)) => {
                row.verdict = format!("confirmed {}", ctx.clock(&e.time));
                row.witnessed = true;
            }
            ("witness-refused", Some(row)) => {
                let remark = str_at(&e.data, "remark").unwrap_or("");
                row.verdict = format!("REFUSED {}: {remark}", ctx.clock(&e.time));
                findings.push(format!(
                    "the witness refused step {} at {}: {remark}",
                    row.step, e.time
                ));
            }
            ("step-end", Some(row)) => row.ended = ctx.clock(&e.time),
            _ => {}
        }
        // The seal is the seal-log step's verdict: the witness signs it
        // instead of confirming, and nothing is logged after it.
        if e.kind == "seal"
            && let Some(row) = rows.last_mut()
            && row.ended == "-"
        {
            row.verdict = format!("sealed the log {}", ctx.clock(&e.time));
            row.ended = ctx.clock(&e.time);
            row.witnessed = true;
        }
    }
    for row in rows.iter().filter(|r| !r.witnessed) {
        findings.push(format!(
            "step {} ({}) has no witness confirmation in the log",
            row.step, row.title
        ));
    }
    let begun: BTreeSet<&str> = rows.iter().map(|r| r.step.as_str()).collect();
    let not_performed: Vec<String> = ctx
        .script()
        .map(|s| {
            s.steps()
                .filter(|(_, step)| !begun.contains(step.id.as_str()))
                .map(|(_, step)| step.id.clone())
                .collect()
        })
        .unwrap_or_default();
    if !not_performed.is_empty() {
        findings.push(format!(
            "step(s) of the script never begun: {}",
            not_performed.join(", ")
        ));
    }
    let mut blocks = vec![
        Block::Heading(2, "Timeline".to_string()),
        para(format!(
            "Every step as the log records it: who performed it (in which role) and who \
             witnessed it, when it began, the witness's verdict and when it ended. Times are \
             UTC (CPS 5.5.5), on {} unless a date is given. Compare with the initials and \
             times on the paper script.",
            ctx.day()
        )),
    ];
    blocks.push(Block::Table(Table {
        header: [
            "Step",
            "Title",
            "Performer",
            "Witness",
            "Began",
            "Witness verdict",
            "Ended",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .into_iter()
            .map(|r| {
                vec![
                    code_cell(r.step),
                    cell(r.title),
                    cell(r.performer),
                    cell(r.witness),
                    cell(r.began),
                    cell(r.verdict),
                    cell(r.ended),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    }));
    if !not_performed.is_empty() {
        blocks.push(Block::Notice(vec![text(format!(
            "Steps of the script that the log never begins: {}.",
            not_performed.join(", ")
        ))]));
    }
    blocks
}
