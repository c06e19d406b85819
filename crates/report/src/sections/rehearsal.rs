//! "Dress rehearsal: what the real ceremony needs", a rehearsal's last
//! section: each production rule a lab cannot meet as the room will, as the
//! log's first entry records how this rehearsal met it (a rule it did not
//! rehearse is also a finding), then the token, module and timings the room
//! should expect, from the log's own records and HSM timings.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::context::{Ctx, LogEntry, str_at};
use crate::doc::{Block, Table, TableKind, cell, fields, para};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    if !ctx.rehearsal {
        return Vec::new();
    }
    let mut blocks = vec![Block::Heading(
        2,
        "Dress rehearsal: what the real ceremony needs".to_string(),
    )];
    let start = ctx.start().map(|e| &e.data);
    let reason = start
        .and_then(|d| str_at(d, "rehearsal_reason"))
        .unwrap_or("the log's first entry says so");
    blocks.push(para(format!(
        "This run was a rehearsal ({reason}), of a script of mode {}. What follows is what the \
         real ceremony needs that a lab cannot show as the room will, and what this rehearsal \
         did instead; then the figures the room should expect.",
        start
            .and_then(|d| str_at(d, "script_mode"))
            .unwrap_or("unrecorded")
    )));
    blocks.extend(rules(start, findings));
    blocks.extend(figures(ctx));
    blocks
}

/// The rules the log's first entry records, those the rehearsal did not
/// show as the room will first.
fn rules(start: Option<&Value>, findings: &mut Vec<String>) -> Vec<Block> {
    let Some(rules) = start
        .and_then(|d| d.get("rehearsal_rules"))
        .and_then(Value::as_array)
    else {
        findings.push(
            "the rehearsal's first entry does not record how it met the production rules a lab cannot meet: check the witness's own token, shares at the keyboard, the backup media on another disk and the network at the real ceremony".to_string(),
        );
        return vec![para(
            "The log's first entry does not record how this rehearsal met the production rules \
             a lab cannot meet (the witness's own token, shares at the keyboard, the backup \
             media on another disk, the network): none of them was shown.",
        )];
    };
    let row = |r: &Value| {
        let at = |key| str_at(r, key).unwrap_or("-").to_string();
        vec![
            cell(format!("{} (CPS {})", at("rule"), at("cps"))),
            cell(at("shown")),
            cell(at("rehearsal")),
            cell(at("production")),
        ]
    };
    let exercised = |r: &&Value| str_at(r, "shown") == Some("exercised");
    for r in rules
        .iter()
        .filter(|r| str_at(r, "shown") == Some("not rehearsed"))
    {
        findings.push(format!(
            "not rehearsed: {} (CPS {}): {}. The real ceremony needs: {}",
            str_at(r, "rule").unwrap_or("-"),
            str_at(r, "cps").unwrap_or("-"),
            str_at(r, "rehearsal").unwrap_or("-"),
            str_at(r, "production").unwrap_or("-")
        ));
    }
    let table = |rows: Vec<Vec<crate::doc::Cell>>| {
        if rows.is_empty() {
            return para("None.");
        }
        Block::Table(Table {
            header: [
                "Rule",
                "Rehearsed",
                "This rehearsal",
                "The real ceremony needs",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            kind: TableKind::Data,
        })
    };
    vec![
        Block::Heading(3, "Not shown as the room will".to_string()),
        table(rules.iter().filter(|r| !exercised(r)).map(row).collect()),
        Block::Heading(3, "Shown as the room will".to_string()),
        table(rules.iter().filter(exercised).map(row).collect()),
    ]
}

fn time(e: &LogEntry) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(&e.time).ok()
}

fn seconds(from: &LogEntry, to: &LogEntry) -> String {
    match (time(from), time(to)) {
        (Some(a), Some(b)) => format!("{:.1} s", (b - a).num_milliseconds() as f64 / 1000.0),
        _ => "-".to_string(),
    }
}

/// The token and module the rehearsal used, what the HSM spent on each
/// operation, and how long each step took.
fn figures(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(3, "Figures to expect".to_string()),
        para(
            "As this rehearsal measured them on the lab's module. The real HSM's operations \
             take its own times (an RSA-4096 key generation takes from seconds to minutes, by \
             model): take them from its vendor's figures, and the people's times from a \
             rehearsal run through the operator TUI.",
        ),
    ];
    let token = ctx.of_kind("token-initialized").next().map(|e| &e.data);
    let label = ctx
        .start()
        .and_then(|e| str_at(&e.data, "token_label"))
        .unwrap_or("-");
    let mut rows = vec![(
        "Token".to_string(),
        cell(match token {
            Some(t) => format!(
                "'{label}': {} {}, firmware {}, serial {}",
                str_at(t, "manufacturer").unwrap_or("-"),
                str_at(t, "model").unwrap_or("-"),
                str_at(t, "firmware_version").unwrap_or("-"),
                str_at(t, "serial").unwrap_or("-")
            ),
            None => format!("'{label}', not initialised by this rehearsal"),
        }),
    )];
    if let Some(env) = ctx.of_kind("environment").next().map(|e| &e.data) {
        rows.push((
            "Module".to_string(),
            cell(format!(
                "{} ({} {}, library {}, Cryptoki {})",
                str_at(env, "module_path").unwrap_or("-"),
                str_at(env, "module_manufacturer").unwrap_or("-"),
                str_at(env, "module_description").unwrap_or("-"),
                str_at(env, "module_version").unwrap_or("-"),
                str_at(env, "cryptoki_version").unwrap_or("-")
            )),
        ));
    }
    if let (Some(first), Some(last)) = (ctx.entries.first(), ctx.last.as_ref()) {
        rows.push((
            "The whole run".to_string(),
            cell(format!(
                "{}, {} log entries",
                seconds(first, last),
                last.seq
            )),
        ));
    }
    blocks.push(fields(rows));
    blocks.push(Block::Table(Table {
        header: ["Step", "HSM operation", "Milliseconds"]
            .map(String::from)
            .to_vec(),
        rows: ctx
            .entries
            .iter()
            .filter_map(|e| {
                let ms = e.data.get("hsm_ms")?.as_f64()?;
                let what = match e.kind.as_str() {
                    "key-generated" => format!(
                        "{} key generation, '{}'",
                        str_at(&e.data, "algorithm").unwrap_or("-"),
                        str_at(&e.data, "label").unwrap_or("-")
                    ),
                    "signed" => format!(
                        "signature of the certificate of '{}'",
                        str_at(&e.data, "key").unwrap_or("-")
                    ),
                    other => other.to_string(),
                };
                Some(vec![
                    cell(e.step.clone().unwrap_or_default()),
                    cell(what),
                    cell(format!("{ms:.0}")),
                ])
            })
            .collect(),
        kind: TableKind::Data,
    }));
    blocks.push(Block::Table(Table {
        header: ["Step", "Title", "From its beginning to its end"]
            .map(String::from)
            .to_vec(),
        rows: step_times(ctx),
        kind: TableKind::Data,
    }));
    blocks
}

/// Each step from its step-begin entry to its step-end (or the seal).
fn step_times(ctx: &Ctx<'_>) -> Vec<Vec<crate::doc::Cell>> {
    let mut rows = Vec::new();
    let mut open: Option<&LogEntry> = None;
    for e in ctx.entries.iter().chain(ctx.last.iter()) {
        match e.kind.as_str() {
            "step-begin" => open = Some(e),
            "step-end" | "seal" => {
                if let Some(begin) = open.take() {
                    rows.push(vec![
                        cell(begin.step.clone().unwrap_or_default()),
                        cell(str_at(&begin.data, "title").unwrap_or("-")),
                        cell(seconds(begin, e)),
                    ]);
                }
            }
            _ => {}
        }
    }
    rows
}
