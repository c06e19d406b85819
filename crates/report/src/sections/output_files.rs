//! "Output files": every file in the folder, its SHA-256 against the log's
//! file-written entries; a file the log does not account for, one that
//! differs or one missing is a finding.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::context::{Ctx, LogEntry, str_at};
use crate::doc::{Block, Cell, Table, TableKind, cell, code_cell, para, strong, text};
use crate::files::FileKind;
use crate::{LOG_FILE, REHEARSAL_SHARES, REPORT_HTML, REPORT_MARKDOWN};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
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
