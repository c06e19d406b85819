//! The ceremony report: everything in a ceremony's output folder, read
//! back, checked against each other, and laid out for the auditor's file.
//!
//! Sources, and what is checked:
//! - `ceremony.log`: every section's facts; verified with
//!   `keyceremony_log::verify` (chain, seal signatures), and the status
//!   stated;
//! - `script.toml`: participants, roles and steps; its SHA-256 against the
//!   one the log's first entry records;
//! - `certs/<label>.der`: parsed here; fingerprints recomputed; verified in
//!   software against `keys/<label>.pub.pem`; compared with the `.pem`, with
//!   `fingerprints.txt` and with the log;
//! - every file in the folder: SHA-256 against the log's `file-written`
//!   entries; a file the log does not account for is a finding.
//!
//! The log is read leniently (any kind, any data): logs written by a newer
//! tool still get a report, and whether the log is intact is the verifier's
//! verdict, stated in the report, not a reason to refuse one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use keyceremony_log::verify::{self, Status, VerifyOptions, VerifyReport};
use keyceremony_script::{LoadedScript, Role, Script, Secret};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cert::{self, CertFacts};
use crate::doc::{
    Block, Cell, Document, Table, TableKind, cell, code, code_cell, fields, para, paragraphs,
    strong, text,
};
use crate::files::{self, FileFact, FileKind};
use crate::{
    FINGERPRINTS, LOG_FILE, REHEARSAL_SHARES, REPORT_HTML, REPORT_MARKDOWN, ReportError,
    SCRIPT_COPY, group4,
};

pub(crate) struct Built {
    pub(crate) document: Document,
    pub(crate) findings: Vec<String>,
    pub(crate) rehearsal: bool,
}

/// One log line, leniently: `kind` is any string, `data` any JSON.
#[derive(Debug, Deserialize)]
struct LogEntry {
    seq: u64,
    time: String,
    actor: LogActor,
    step: Option<String>,
    kind: String,
    description: String,
    data: Value,
}

#[derive(Debug, Deserialize)]
struct LogActor {
    id: String,
    role: String,
}

/// Everything read from the folder, before any section is laid out.
struct Ctx<'a> {
    dir: &'a Path,
    entries: Vec<LogEntry>,
    script: Option<LoadedScript>,
    verify: VerifyReport,
    files: Vec<FileFact>,
    rehearsal: bool,
}

impl Ctx<'_> {
    /// The UTC date of the first entry, `YYYY-MM-DD`.
    fn day(&self) -> &str {
        self.entries
            .first()
            .and_then(|e| e.time.split_once('T'))
            .map_or("", |(date, _)| date)
    }

    fn clock(&self, time: &str) -> String {
        clock(time, self.day())
    }

    fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s LogEntry> + 's {
        self.entries.iter().filter(move |e| e.kind == kind)
    }

    fn start(&self) -> Option<&LogEntry> {
        self.entries.first().filter(|e| e.kind == "ceremony-start")
    }

    fn seal(&self) -> Option<&LogEntry> {
        self.entries.last().filter(|e| e.kind == "seal")
    }

    fn script(&self) -> Option<&Script> {
        self.script.as_ref().map(|s| &s.script)
    }

    /// A participant's name from the script, else from their check-in
    /// entry, else the id.
    fn name(&self, id: &str) -> String {
        if let Some(p) = self.script().and_then(|s| s.participant(id)) {
            return p.name.clone();
        }
        self.of_kind("check-in")
            .find(|e| str_at(&e.data, "participant") == Some(id))
            .and_then(|e| str_at(&e.data, "name"))
            .map_or_else(|| id.to_string(), str::to_string)
    }

    fn file(&self, path: &str) -> Option<&FileFact> {
        self.files.iter().find(|f| f.path == path)
    }
}

fn str_at<'v>(data: &'v Value, key: &str) -> Option<&'v str> {
    data.get(key).and_then(Value::as_str)
}

/// A log time stamp in a table column: the time of day alone when it falls
/// on the day the ceremony started (stated above the table), so that a
/// table of times fits a printed page; the whole stamp otherwise.
fn clock(time: &str, day: &str) -> String {
    match time.split_once('T') {
        Some((date, rest)) if date == day => rest.to_string(),
        _ => time.to_string(),
    }
}

/// A role as the script names it ("CA Administrator"), from the log's
/// kebab-case form; a role this tool does not know is shown as logged.
fn role_title(role: &str) -> String {
    serde_json::from_value::<Role>(Value::String(role.to_string()))
        .map_or_else(|_| role.to_string(), |r| r.title().to_string())
}

/// A JSON value as the report prints it: strings bare, the rest as JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every leaf of `data` with its path (`tokens[0].label`), so that every
/// key the log holds is printed, whatever the tool that wrote it added.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Array(items) if items.is_empty() => {
            out.push((prefix.to_string(), "none".to_string()))
        }
        Value::Array(items) => {
            let joined = items.iter().map(value_text).collect::<Vec<_>>().join(", ");
            out.push((prefix.to_string(), joined));
        }
        other => out.push((prefix.to_string(), value_text(other))),
    }
}

fn key_values(data: &Value) -> Block {
    let mut pairs = Vec::new();
    flatten("", data, &mut pairs);
    if pairs.iter().all(|(k, _)| k.is_empty()) && pairs.iter().all(|(_, v)| v == "{}") {
        return para("(no data)");
    }
    Block::Table(Table {
        header: vec!["Key".to_string(), "Value".to_string()],
        rows: pairs
            .into_iter()
            .map(|(k, v)| vec![code_cell(k), cell(v)])
            .collect(),
        kind: TableKind::Data,
    })
}

fn pgp_words(bytes: &[u8]) -> String {
    pgp_words::to_words(bytes).join(" ")
}

/// Single-quoted for a POSIX shell unless it needs no quoting.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The log's lines, parsed leniently; the numbers of the lines that are not
/// entries at all are returned too (the verifier says why).
fn read_log(path: &Path) -> Result<(Vec<LogEntry>, Vec<usize>), ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<LogEntry>(line) {
            Ok(entry) => entries.push(entry),
            Err(_) => bad.push(i + 1),
        }
    }
    Ok((entries, bad))
}

pub(crate) fn build(dir: &Path) -> Result<Built, ReportError> {
    let log_path = dir.join(LOG_FILE);
    if !log_path.is_file() {
        return Err(ReportError::NotACeremony {
            dir: dir.to_path_buf(),
        });
    }
    let mut findings = Vec::new();
    let (entries, bad_lines) = read_log(&log_path)?;
    if !bad_lines.is_empty() {
        findings.push(format!(
            "{} line(s) of the log are not log entries (line {}); the log verification below says why",
            bad_lines.len(),
            bad_lines
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let verify = verify::verify_path(&log_path, &VerifyOptions::default());
    let script = match LoadedScript::read(&dir.join(SCRIPT_COPY)) {
        Ok(script) => Some(script),
        Err(e) => {
            findings.push(format!(
                "the script copy {SCRIPT_COPY} cannot be read ({e}); participants and steps come from the log alone"
            ));
            None
        }
    };
    let files = files::walk(dir)?;
    let rehearsal = entries
        .first()
        .filter(|e| e.kind == "ceremony-start")
        .and_then(|e| e.data.get("rehearsal"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ctx = Ctx {
        dir,
        entries,
        script,
        verify,
        files,
        rehearsal,
    };

    let mut sections = Vec::new();
    sections.extend(ceremony_section(&ctx, &mut findings));
    sections.extend(participants_section(&ctx));
    sections.extend(timeline_section(&ctx, &mut findings));
    sections.extend(recorded_section(&ctx));
    sections.extend(activation_section(&ctx, &mut findings));
    sections.extend(exceptions_section(&ctx, &mut findings));
    sections.extend(environment_section(&ctx, &mut findings));
    sections.extend(token_section(&ctx));
    sections.extend(keys_section(&ctx, &mut findings));
    sections.extend(certificates_section(&ctx, &mut findings));
    sections.extend(log_section(&ctx, &mut findings));
    sections.extend(files_section(&ctx, &mut findings));
    sections.extend(commands_section(&ctx));

    let document = assemble(&ctx, &findings, sections);
    Ok(Built {
        document,
        findings,
        rehearsal,
    })
}

fn ceremony_name(ctx: &Ctx<'_>) -> String {
    ctx.script()
        .map(|s| s.ceremony.name.clone())
        .or_else(|| {
            ctx.start()
                .and_then(|e| str_at(&e.data, "ceremony_name"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| ctx.dir.display().to_string())
}

fn ceremony_id(ctx: &Ctx<'_>) -> String {
    ctx.start()
        .and_then(|e| str_at(&e.data, "ceremony_id"))
        .map(str::to_string)
        .or_else(|| ctx.script().map(|s| s.ceremony.id.clone()))
        .unwrap_or_else(|| "unknown ceremony".to_string())
}

fn rehearsal_notice() -> Block {
    Block::Notice(vec![
        strong("REHEARSAL."),
        text(
            " The log's first entry records this ceremony as a rehearsal: its keys and \
             certificates were made on a lab token and are never to be used or trusted.",
        ),
    ])
}

fn assemble(ctx: &Ctx<'_>, findings: &[String], sections: Vec<Block>) -> Document {
    let name = ceremony_name(ctx);
    let title = if ctx.rehearsal {
        format!("REHEARSAL ceremony report: {name}")
    } else {
        format!("Ceremony report: {name}")
    };
    let mut blocks = vec![Block::Heading(1, title.clone())];
    if ctx.rehearsal {
        blocks.push(rehearsal_notice());
    }
    blocks.push(Block::Para(vec![text(format!(
        "Written by keyceremony {} at {} from the files in the ceremony's output folder. It \
         states what those files hold and checks them against each other; it does not \
         replace the auditor's own checks, which are listed under \"How to check\".",
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))]));

    blocks.push(Block::Heading(2, "Summary".to_string()));
    let outcome = ctx
        .seal()
        .and_then(|e| str_at(&e.data, "outcome"))
        .map_or_else(|| "not sealed".to_string(), str::to_string);
    let certificates: Vec<String> = certificate_files(ctx).map(|(label, _)| label).collect();
    blocks.push(fields(vec![
        ("Ceremony".to_string(), cell(&name)),
        ("Ceremony id".to_string(), code_cell(ceremony_id(ctx))),
        (
            "Mode".to_string(),
            if ctx.rehearsal {
                vec![strong("REHEARSAL")]
            } else {
                cell("production")
            },
        ),
        ("Outcome".to_string(), cell(outcome)),
        ("Log".to_string(), cell(ctx.verify.status.to_string())),
        (
            "Started".to_string(),
            cell(ctx.entries.first().map_or("-", |e| e.time.as_str())),
        ),
        (
            "Last entry".to_string(),
            cell(ctx.entries.last().map_or("-", |e| e.time.as_str())),
        ),
        (
            "Certificates".to_string(),
            cell(if certificates.is_empty() {
                "none".to_string()
            } else {
                certificates.join(", ")
            }),
        ),
        (
            "Exceptions".to_string(),
            cell(ctx.of_kind("exception").count().to_string()),
        ),
        ("Findings".to_string(), cell(findings.len().to_string())),
    ]));

    blocks.push(Block::Heading(2, "Findings".to_string()));
    if findings.is_empty() {
        blocks.push(para(
            "None: the log is sealed and intact, every file is accounted for by the log with \
             the same SHA-256, every certificate verifies, and the log records no exception, \
             failure or warning.",
        ));
    } else {
        blocks.push(Block::Notice(vec![text(format!(
            "{} finding(s): each is a check that failed or an event the auditor must review.",
            findings.len()
        ))]));
        blocks.push(Block::List(
            findings.iter().map(|f| vec![text(f)]).collect(),
        ));
    }
    blocks.extend(sections);
    if ctx.rehearsal {
        blocks.push(rehearsal_notice());
    }
    Document {
        title,
        footer: format!("{} ceremony report", ceremony_id(ctx)),
        running_header: ctx
            .rehearsal
            .then(|| "REHEARSAL: not a production ceremony".to_string()),
        blocks,
    }
}

fn ceremony_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Ceremony".to_string())];
    if let Some(script) = ctx.script() {
        blocks.extend(paragraphs(&script.ceremony.description));
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

fn participants_section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Participants and roles".to_string())];
    let check_in = |id: &str| {
        ctx.of_kind("check-in")
            .find(|e| str_at(&e.data, "participant") == Some(id))
    };
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
                    cell(
                        entry
                            .and_then(|e| str_at(&e.data, "document"))
                            .unwrap_or("-"),
                    ),
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

fn timeline_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut rows: Vec<StepRow> = Vec::new();
    for e in &ctx.entries {
        let current = rows
            .iter_mut()
            .rev()
            .find(|r| Some(&r.step) == e.step.as_ref());
        match (e.kind.as_str(), current) {
            ("step-begin", _) => {
                let person = |key: &str| {
                    str_at(&e.data, key).map_or_else(|| "-".to_string(), |id| ctx.name(id))
                };
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

fn recorded_section(ctx: &Ctx<'_>) -> Vec<Block> {
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

fn activation_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
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

fn exceptions_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
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

fn environment_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Environment".to_string()),
        para(
            "The machine and the PKCS#11 module as the tool found them, every recorded value \
             as logged. Compare the tool's and the module's SHA-256 with the values published \
             for this ceremony.",
        ),
    ];
    let mut any = false;
    for e in ctx.of_kind("environment") {
        any = true;
        blocks.push(Block::Heading(
            3,
            format!("Entry {}: {}", e.seq, e.description),
        ));
        blocks.push(para(format!("Recorded at {}.", e.time)));
        blocks.push(key_values(&e.data));
    }
    if !any {
        findings.push("the log has no environment entry".to_string());
        blocks.push(para("The log has no environment entry."));
    }
    // Any entry may carry a warning flag (network interfaces up in a
    // rehearsal, for example); the auditor sees each one among the findings.
    for e in ctx
        .entries
        .iter()
        .filter(|e| e.data.get("warning").and_then(Value::as_bool) == Some(true))
    {
        findings.push(format!("warning in entry {}: {}", e.seq, e.description));
    }
    blocks
}

fn token_section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "HSM token".to_string())];
    let mut any = false;
    for e in ctx
        .entries
        .iter()
        .filter(|e| e.kind == "token-init-requested" || e.kind == "token-initialized")
    {
        any = true;
        blocks.push(Block::Heading(
            3,
            format!("Entry {} ({}): {}", e.seq, e.kind, e.time),
        ));
        blocks.push(para(&e.description));
        blocks.push(key_values(&e.data));
    }
    if !any {
        let label = ctx
            .start()
            .and_then(|e| str_at(&e.data, "token_label"))
            .unwrap_or("-");
        blocks.push(para(format!(
            "The ceremony did not initialise a token; it worked on the existing token '{label}'."
        )));
    }
    blocks
}

/// The DER inside a PEM file of the given label.
fn read_pem(path: &Path, label: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let (found, der) = der::pem::decode_vec(&bytes).map_err(|e| format!("not PEM: {e}"))?;
    if found == label {
        Ok(der)
    } else {
        Err(format!("PEM label {found}, expected {label}"))
    }
}

fn public_key_pem_path(label: &str) -> String {
    format!("keys/{label}.pub.pem")
}

fn keys_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Keys".to_string()),
        para(
            "Each key pair generated in the HSM, with the attributes read back from the token \
             after generation (CPS 6.1.1, 6.2.7): the private key must be sensitive, never \
             extractable and generated on the token.",
        ),
    ];
    let generated: Vec<&LogEntry> = ctx.of_kind("key-generated").collect();
    if generated.is_empty() {
        blocks.push(para("The log records no key generation."));
    }
    for e in generated {
        let label = str_at(&e.data, "label").unwrap_or("-");
        blocks.push(Block::Heading(3, format!("Key {label}")));
        let pem_path = public_key_pem_path(label);
        let logged = str_at(&e.data, "public_key_sha256").unwrap_or("-");
        let (size, recomputed) = match read_pem(&ctx.dir.join(&pem_path), "PUBLIC KEY") {
            Ok(spki) => {
                let sha = hex::encode_upper(Sha256::digest(&spki));
                let verdict = if sha.eq_ignore_ascii_case(logged) {
                    "the same as the log records".to_string()
                } else {
                    findings.push(format!(
                        "{pem_path} has public key SHA-256 {sha}, but the log records {logged} for key '{label}'"
                    ));
                    "DIFFERENT from the log".to_string()
                };
                (
                    cell(cert::describe_spki(&spki)),
                    vec![code(sha), text(format!(": {verdict}"))],
                )
            }
            Err(error) => (
                cell(format!("{pem_path} cannot be read: {error}")),
                cell("-"),
            ),
        };
        let problems = match e.data.get("problems") {
            Some(Value::Array(list)) if list.is_empty() => "none".to_string(),
            Some(Value::Array(list)) => list.iter().map(value_text).collect::<Vec<_>>().join("; "),
            Some(other) => value_text(other),
            None => "-".to_string(),
        };
        if e.data
            .get("problems")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty())
        {
            findings.push(format!("key '{label}' has unsafe attributes: {problems}"));
        }
        blocks.push(fields(vec![
            (
                "PKCS#11 URI".to_string(),
                code_cell(str_at(&e.data, "uri").unwrap_or("-")),
            ),
            (
                "Algorithm".to_string(),
                cell(str_at(&e.data, "algorithm").unwrap_or("-")),
            ),
            (format!("Size (from {pem_path})"), size),
            (
                "CKA_ID".to_string(),
                code_cell(str_at(&e.data, "id").unwrap_or("-")),
            ),
            ("Generated".to_string(), cell(&e.time)),
            (
                "HSM time (ms)".to_string(),
                cell(e.data.get("hsm_ms").map_or("-".to_string(), value_text)),
            ),
            ("Public key SHA-256 (log)".to_string(), code_cell(logged)),
            (format!("SHA-256 of {pem_path}'s key"), recomputed),
            ("Attribute problems".to_string(), cell(problems)),
        ]));
        blocks.push(attributes_table(&e.data));
    }
    if let Some(e) = ctx.of_kind("log-signing-key").next() {
        blocks.push(Block::Heading(3, "Log-signing key".to_string()));
        let pem = str_at(&e.data, "public_key").unwrap_or("");
        let (size, sha) = match der::pem::decode_vec(pem.as_bytes()) {
            Ok((_, spki)) => (
                cert::describe_spki(&spki),
                hex::encode_upper(Sha256::digest(&spki)),
            ),
            Err(_) => ("unreadable".to_string(), "-".to_string()),
        };
        blocks.push(fields(vec![
            (
                "PKCS#11 URI".to_string(),
                code_cell(str_at(&e.data, "uri").unwrap_or("-")),
            ),
            ("Key".to_string(), cell(size)),
            (
                "Recorded".to_string(),
                cell(format!("entry {}, {}", e.seq, e.time)),
            ),
            (
                "Public key SHA-256 (log)".to_string(),
                code_cell(str_at(&e.data, "public_key_sha256").unwrap_or("-")),
            ),
            ("SHA-256 of the logged key".to_string(), code_cell(sha)),
        ]));
    }
    blocks
}

fn attributes_table(data: &Value) -> Block {
    let object = |key: &str| {
        data.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let private = object("private_attributes");
    let public = object("public_attributes");
    let names: BTreeSet<&String> = private.keys().chain(public.keys()).collect();
    let show = |v: Option<&Value>| cell(v.map_or("-".to_string(), value_text));
    Block::Table(Table {
        header: ["Attribute (read back)", "Private key", "Public key"]
            .map(String::from)
            .to_vec(),
        rows: names
            .into_iter()
            .map(|name| {
                vec![
                    code_cell(format!("CKA_{}", name.to_ascii_uppercase())),
                    show(private.get(name)),
                    show(public.get(name)),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    })
}

/// `(label, path)` of each `certs/<label>.der` in the folder.
fn certificate_files<'c>(ctx: &'c Ctx<'_>) -> impl Iterator<Item = (String, &'c str)> + 'c {
    ctx.files.iter().filter_map(|f| {
        let label = f.path.strip_prefix("certs/")?.strip_suffix(".der")?;
        (!label.contains('/')).then(|| (label.to_string(), f.path.as_str()))
    })
}

/// `label -> (SHA256, SHA1)` from fingerprints.txt.
fn fingerprints_file(ctx: &Ctx<'_>) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut map: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(ctx.dir.join(FINGERPRINTS)) {
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [label, algorithm, hex] = parts.as_slice() {
                map.entry((*label).to_string())
                    .or_default()
                    .insert((*algorithm).to_string(), (*hex).to_string());
            }
        }
    }
    map
}

fn certificates_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Certificates".to_string()),
        para(
            "Each certificate file, parsed from the folder. The SHA-256 fingerprint is given \
             upper case without colons (CPS 8.6), in groups of four for comparison on paper, \
             and as PGP words for reading aloud.",
        ),
    ];
    let fingerprints = fingerprints_file(ctx);
    let labels: Vec<(String, String)> = certificate_files(ctx)
        .map(|(label, path)| (label, path.to_string()))
        .collect();
    if labels.is_empty() {
        blocks.push(para("The folder holds no certificate."));
    }
    let completed = ctx
        .seal()
        .and_then(|e| str_at(&e.data, "outcome"))
        .is_some_and(|o| o == "completed");
    if let Some(script) = ctx.script()
        && completed
    {
        for spec in &script.certificates {
            if !labels.iter().any(|(l, _)| *l == spec.key) {
                findings.push(format!(
                    "the script's certificate of '{}' is not in the folder (certs/{}.der)",
                    spec.key, spec.key
                ));
            }
        }
    }
    for (label, path) in labels {
        blocks.push(Block::Heading(3, format!("Certificate {label}")));
        let der = match std::fs::read(ctx.dir.join(&path)) {
            Ok(der) => der,
            Err(e) => {
                findings.push(format!("{path} cannot be read: {e}"));
                blocks.push(para(format!("{path} cannot be read: {e}")));
                continue;
            }
        };
        let facts = match cert::inspect(&der) {
            Ok(facts) => facts,
            Err(e) => {
                findings.push(format!("{path} is not a certificate: {e}"));
                blocks.push(para(format!("{path} is not a certificate: {e}")));
                continue;
            }
        };
        blocks.extend(certificate_blocks(ctx, &label, &path, &der, &facts));
        blocks.push(certificate_checks(
            ctx,
            &label,
            &der,
            &facts,
            fingerprints.get(&label),
            findings,
        ));
    }
    blocks
}

fn certificate_blocks(
    ctx: &Ctx<'_>,
    label: &str,
    path: &str,
    der: &[u8],
    facts: &CertFacts,
) -> Vec<Block> {
    let sha256 = keyceremony_x509::fingerprint_hex(&facts.sha256);
    let mut blocks = vec![fields(vec![
        ("File".to_string(), code_cell(path)),
        ("Size".to_string(), cell(format!("{} bytes", der.len()))),
        ("Subject".to_string(), cell(&facts.subject)),
        ("Issuer".to_string(), cell(&facts.issuer)),
        ("Serial number".to_string(), code_cell(&facts.serial_hex)),
        ("Not before".to_string(), cell(&facts.not_before)),
        ("Not after".to_string(), cell(&facts.not_after)),
        ("Validity".to_string(), cell(&facts.validity)),
        (
            "Signature algorithm".to_string(),
            cell(&facts.signature_algorithm),
        ),
        ("Public key".to_string(), cell(&facts.public_key)),
        (
            "Signed in the ceremony".to_string(),
            cell(
                ctx.of_kind("signed")
                    .find(|e| str_at(&e.data, "key") == Some(label))
                    .map_or("not in the log", |e| e.time.as_str()),
            ),
        ),
    ])];
    blocks.push(Block::Table(Table {
        header: ["Extension", "OID", "Critical", "Value"]
            .map(String::from)
            .to_vec(),
        rows: facts
            .extensions
            .iter()
            .map(|x| {
                vec![
                    cell(&x.name),
                    code_cell(&x.oid),
                    cell(if x.critical { "yes" } else { "no" }),
                    cell(&x.value),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    }));
    blocks.push(fields(vec![
        ("SHA-256 (CPS 8.6)".to_string(), code_cell(&sha256)),
        ("SHA-256, grouped".to_string(), code_cell(group4(&sha256))),
        (
            "SHA-256, PGP words".to_string(),
            cell(pgp_words(&facts.sha256)),
        ),
        (
            "SHA-1".to_string(),
            code_cell(keyceremony_x509::fingerprint_hex(&facts.sha1)),
        ),
    ]));
    blocks
}

/// The certificate against everything else that describes it.
fn certificate_checks(
    ctx: &Ctx<'_>,
    label: &str,
    der: &[u8],
    facts: &CertFacts,
    fingerprints: Option<&BTreeMap<String, String>>,
    findings: &mut Vec<String>,
) -> Block {
    let sha256 = keyceremony_x509::fingerprint_hex(&facts.sha256);
    let sha1 = keyceremony_x509::fingerprint_hex(&facts.sha1);
    let mut checks: Vec<(String, Result<String, String>)> = Vec::new();

    let pem_path = public_key_pem_path(label);
    let verified = read_pem(&ctx.dir.join(&pem_path), "PUBLIC KEY").and_then(|spki| {
        keyceremony_x509::verify_root(der, &spki)
            .map(|summary| {
                format!(
                    "signature verifies with the key in {pem_path}; canonical DER; root profile; {} days",
                    summary.validity_days
                )
            })
            .map_err(|e| e.to_string())
    });
    checks.push(("Software verification".to_string(), verified));

    let cert_pem = format!("certs/{label}.pem");
    checks.push((
        cert_pem.clone(),
        read_pem(&ctx.dir.join(&cert_pem), "CERTIFICATE").and_then(|pem_der| {
            if pem_der == der {
                Ok("holds the same certificate".to_string())
            } else {
                Err("holds a different certificate".to_string())
            }
        }),
    ));

    let listed = |algorithm: &str, expected: &str| match fingerprints.and_then(|f| f.get(algorithm))
    {
        Some(hex) if hex.eq_ignore_ascii_case(expected) => Ok(format!("{algorithm} line matches")),
        Some(hex) => Err(format!("{algorithm} line says {hex}")),
        None => Err(format!("no {algorithm} line for '{label}'")),
    };
    checks.push((format!("{FINGERPRINTS} SHA256"), listed("SHA256", &sha256)));
    checks.push((format!("{FINGERPRINTS} SHA1"), listed("SHA1", &sha1)));

    let logged = ctx
        .of_kind("certificate-verified")
        .find(|e| str_at(&e.data, "key") == Some(label));
    checks.push((
        "Log (certificate-verified)".to_string(),
        match logged.and_then(|e| str_at(&e.data, "sha256")) {
            Some(hex) if hex.eq_ignore_ascii_case(&sha256) => Ok(format!(
                "entry {} records the same SHA-256",
                logged.map_or(0, |e| e.seq)
            )),
            Some(hex) => Err(format!("the log records SHA-256 {hex}")),
            None => Err("the log records no verification of this certificate".to_string()),
        },
    ));

    let rows = checks
        .into_iter()
        .map(|(what, result)| match result {
            Ok(detail) => vec![cell(what), cell("OK"), cell(detail)],
            Err(detail) => {
                findings.push(format!("certificate '{label}': {what}: {detail}"));
                vec![cell(what), vec![strong("FAILED")], cell(detail)]
            }
        })
        .collect();
    Block::Table(Table {
        header: ["Check", "Result", "Detail"].map(String::from).to_vec(),
        rows,
        kind: TableKind::Data,
    })
}

fn log_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let report = &ctx.verify;
    let mut blocks = vec![
        Block::Heading(2, "Ceremony log".to_string()),
        para(
            "The log verified with keyceremony's verifier (every link of the hash chain, the \
             writer's exact form, times, and both seal signatures), without the auditor's \
             paper head and key: those two checks are the auditor's, under \"How to check\".",
        ),
    ];
    if report.status != Status::Sealed {
        findings.push(format!(
            "the log is not sealed as completed: {}{}",
            report.status,
            report
                .problem
                .as_ref()
                .map_or_else(String::new, |p| format!(" ({})", p.message))
        ));
        blocks.push(Block::Notice(vec![text(format!(
            "Log status: {}",
            report.status
        ))]));
    }
    let log_sha = match ctx.file(LOG_FILE).map(|f| &f.kind) {
        Some(FileKind::Regular { sha256, .. }) => hex::encode_upper(sha256),
        _ => "-".to_string(),
    };
    let mut rows = vec![
        ("File".to_string(), code_cell(LOG_FILE)),
        ("SHA-256 of the file".to_string(), code_cell(log_sha)),
        ("Status".to_string(), cell(report.status.to_string())),
        (
            "Entries verified".to_string(),
            cell(report.entries.to_string()),
        ),
    ];
    if let Some(problem) = &report.problem {
        rows.push((
            "Problem".to_string(),
            cell(format!("entry {}: {}", problem.entry, problem.message)),
        ));
    }
    if let Some(head) = report.head {
        let hex = hex::encode(head);
        rows.push(("Head".to_string(), code_cell(&hex)));
        rows.push(("Head, grouped".to_string(), code_cell(group4(&hex))));
        rows.push(("Head, PGP words".to_string(), cell(pgp_words(&head))));
    }
    blocks.push(fields(rows));

    let Some(seal) = ctx.seal() else {
        blocks.push(para("The log has no seal."));
        return blocks;
    };
    blocks.push(Block::Heading(3, "Seal".to_string()));
    blocks.push(fields(vec![
        (
            "Outcome".to_string(),
            cell(str_at(&seal.data, "outcome").unwrap_or("-")),
        ),
        (
            "Entries sealed".to_string(),
            cell(seal.data.get("entries").map_or("-".to_string(), value_text)),
        ),
        (
            "Head (seal)".to_string(),
            code_cell(str_at(&seal.data, "head").unwrap_or("-")),
        ),
        ("Time".to_string(), cell(&seal.time)),
        (
            "Sealed by".to_string(),
            cell(format!(
                "{} ({})",
                ctx.name(&seal.actor.id),
                role_title(&seal.actor.role)
            )),
        ),
    ]));
    blocks.push(para("The statement both keys signed, exactly:"));
    blocks.push(Block::Code(
        str_at(&seal.data, "statement").unwrap_or("").to_string(),
    ));
    let signer_row = |key: &str| -> Vec<Cell> {
        let signature = seal.data.get(key).cloned().unwrap_or(Value::Null);
        let pem = str_at(&signature, "public_key").unwrap_or("");
        let key_sha = der::pem::decode_vec(pem.as_bytes()).map_or_else(
            |_| "-".to_string(),
            |(_, d)| hex::encode_upper(Sha256::digest(d)),
        );
        vec![
            cell(key),
            cell(str_at(&signature, "signer").map_or("-".to_string(), |s| ctx.name(s))),
            code_cell(str_at(&signature, "uri").unwrap_or("-")),
            code_cell(key_sha),
            code_cell(str_at(&signature, "signature").unwrap_or("-")),
        ]
    };
    blocks.push(Block::Table(Table {
        header: [
            "Signature",
            "Signer",
            "PKCS#11 URI",
            "Public key SHA-256 (DER)",
            "ECDSA P-384 signature (DER, hex)",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![signer_row("ceremony_key"), signer_row("witness_key")],
        kind: TableKind::Data,
    }));
    blocks
}

fn files_section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    // The last file-written entry for each path: fingerprints.txt grows by
    // one entry per certificate, each naming the file's SHA-256 at the time.
    let mut logged: BTreeMap<&str, (&LogEntry, Option<&str>)> = BTreeMap::new();
    for e in ctx.of_kind("file-written") {
        if let Some(path) = str_at(&e.data, "path") {
            logged.insert(path, (e, str_at(&e.data, "sha256")));
        }
    }
    // Files a resumed run moved aside: the entry that moved them accounts for
    // them in their new folder.
    let mut moved: BTreeMap<String, u64> = BTreeMap::new();
    for e in ctx.of_kind("recorded") {
        if let (Some(folder), Some(paths)) = (
            str_at(&e.data, "moved_to"),
            e.data.get("files").and_then(Value::as_array),
        ) {
            for path in paths.iter().filter_map(Value::as_str) {
                moved.insert(format!("{folder}/{path}"), e.seq);
            }
        }
    }
    let mut rows = Vec::new();
    for f in &ctx.files {
        let (size, sha, actual) = match &f.kind {
            FileKind::Regular { size, sha256 } => {
                let hex = hex::encode_upper(sha256);
                (size.to_string(), code_cell(&hex), Some(hex))
            }
            FileKind::Other(what) => ("-".to_string(), cell(*what), None),
            FileKind::Unreadable(e) => ("-".to_string(), cell(format!("unreadable: {e}")), None),
        };
        let status: Cell = if f.path == LOG_FILE {
            cell("the log itself: see \"Ceremony log\"")
        } else if let Some(seq) = moved.get(&f.path) {
            cell(format!(
                "entry {seq}: moved aside on resuming, as the interrupted run left it"
            ))
        } else {
            match (logged.get(f.path.as_str()), actual) {
                (Some((e, Some(expected))), Some(actual))
                    if expected.eq_ignore_ascii_case(&actual) =>
                {
                    cell(format!("entry {}: same SHA-256", e.seq))
                }
                (Some((e, Some(expected))), _) => {
                    findings.push(format!(
                        "{} differs from the log: entry {} records SHA-256 {expected}",
                        f.path, e.seq
                    ));
                    vec![
                        strong("DIFFERS"),
                        text(format!(" from entry {}: {expected}", e.seq)),
                    ]
                }
                (Some((e, None)), _) => cell(format!("entry {}: logged without a SHA-256", e.seq)),
                (None, _) => {
                    findings.push(format!(
                        "{} is not accounted for by the log: no file-written entry names it",
                        f.path
                    ));
                    vec![strong("NOT IN THE LOG")]
                }
            }
        };
        rows.push(vec![code_cell(&f.path), cell(size), sha, status]);
    }
    let on_disk: BTreeSet<&str> = ctx.files.iter().map(|f| f.path.as_str()).collect();
    for (path, (e, _)) in &logged {
        let excluded = path.starts_with(&format!("{REHEARSAL_SHARES}/"));
        if !excluded && !on_disk.contains(path) {
            findings.push(format!(
                "{path} is missing: the log's entry {} says it was written",
                e.seq
            ));
            rows.push(vec![
                code_cell(*path),
                cell("-"),
                cell("-"),
                vec![
                    strong("MISSING"),
                    text(format!(": written at entry {}", e.seq)),
                ],
            ]);
        }
    }
    let shares_present = ctx.dir.join(REHEARSAL_SHARES).exists();
    if shares_present && !ctx.rehearsal {
        findings.push(format!(
            "{REHEARSAL_SHARES}/ exists in a production ceremony's folder: shares are never written to files in production (CPS 6.4.2)"
        ));
    }
    let mut blocks = vec![
        Block::Heading(2, "Output files".to_string()),
        para(format!(
            "Every file in the output folder with its size and SHA-256 (upper case), computed \
             from the file, and the log's file-written entry that accounts for it. Not \
             listed: {REPORT_HTML} and {REPORT_MARKDOWN} (this report) and {REHEARSAL_SHARES}/ \
             (a rehearsal's activation data{}).",
            if shares_present {
                "; present"
            } else {
                "; absent"
            }
        )),
    ];
    blocks.push(Block::Table(Table {
        header: ["File", "Bytes", "SHA-256", "Log"]
            .map(String::from)
            .to_vec(),
        rows,
        kind: TableKind::Data,
    }));
    blocks
}

fn commands_section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "How to check".to_string()),
        para(
            "Each check below is run in a copy of the ceremony's output folder, on a machine \
             of the auditor's choosing, with OpenSSL, jq and keyceremony; none trusts this \
             report. docs/auditor.md explains each step of the log checks.",
        ),
        Block::Heading(3, "The log".to_string()),
        para(
            "HEAD_FROM_PAPER is the head hash copied onto the paper script at the seal-log \
             step, and WITNESS_KEY.pem the witness's public key as the witness handed it over: \
             never take either from the log or from this report, which are derived from the \
             log. Exit code 0 means sealed, completed and intact.",
        ),
        Block::Code(format!(
            "keyceremony verify-log {LOG_FILE} --expect-head HEAD_FROM_PAPER --witness-key WITNESS_KEY.pem"
        )),
        para("The same signatures by hand (prints Verified OK twice):"),
        Block::Code(format!(
            "tail -n1 {LOG_FILE} > seal.json\n\
             jq -j .data.statement seal.json > statement.txt\n\
             jq -j .data.ceremony_key.public_key seal.json > ceremony-key.pem\n\
             jq -r .data.ceremony_key.signature seal.json | xxd -r -p > ceremony-sig.der\n\
             openssl dgst -sha384 -verify ceremony-key.pem -signature ceremony-sig.der statement.txt\n\
             jq -r .data.witness_key.signature seal.json | xxd -r -p > witness-sig.der\n\
             openssl dgst -sha384 -verify WITNESS_KEY.pem -signature witness-sig.der statement.txt"
        )),
        Block::Heading(3, "The script".to_string()),
        para(
            "Its SHA-256 equals the one printed on the paper script and the log's \
             script_sha256:",
        ),
        Block::Code(format!("sha256sum {SCRIPT_COPY}")),
        Block::Heading(3, "Every file".to_string()),
        para(
            "Lists every file with its SHA-256 (lower case), to compare with \"Output files\"; \
             a file there that is not in the table is one the report did not see.",
        ),
        Block::Code(format!(
            "find . -type f ! -path './{REHEARSAL_SHARES}/*' ! -name {REPORT_HTML} ! -name {REPORT_MARKDOWN} -print0 | sort -z | xargs -0 sha256sum"
        )),
    ];
    for (label, _) in certificate_files(ctx) {
        let der = shell_quote(&format!("certs/{label}.der"));
        let pem = shell_quote(&format!("certs/{label}.pem"));
        let key = shell_quote(&public_key_pem_path(&label));
        blocks.push(Block::Heading(3, format!("Certificate {label}")));
        blocks.push(para(
            "The SHA-256 and SHA-1 fingerprints (equal to the report's and to the paper \
             script's), the self-signature, the whole certificate as text, and its public key \
             against the key file (both SHA-256 equal to the key's public key SHA-256, in lower \
             case):",
        ));
        blocks.push(Block::Code(format!(
            "openssl x509 -in {der} -inform DER -noout -fingerprint -sha256 | tr -d :\n\
             openssl x509 -in {der} -inform DER -noout -fingerprint -sha1 | tr -d :\n\
             openssl verify -CAfile {pem} {pem}\n\
             openssl x509 -in {der} -inform DER -noout -text\n\
             openssl x509 -in {der} -inform DER -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum\n\
             openssl pkey -pubin -in {key} -outform DER | sha256sum"
        )));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_prints_every_leaf() {
        let data = serde_json::json!({
            "a": 1, "b": {"c": "x", "d": [1, 2]}, "t": [{"label": "L"}], "e": [], "n": null
        });
        let mut out = Vec::new();
        flatten("", &data, &mut out);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b.c", "b.d", "e", "n", "t[0].label"]);
        assert_eq!(out[2].1, "1, 2");
        assert_eq!(out[3].1, "none");
        assert_eq!(out[4].1, "null");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("certs/a-b.der"), "certs/a-b.der");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
