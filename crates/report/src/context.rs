//! What every section of the ceremony report reads: the folder's files,
//! read once into a [`Ctx`] (the log leniently, the script copy, the
//! verifier's verdict, every file's SHA-256), and the small helpers the
//! sections share to print what the log holds.
//!
//! The log is read leniently (any kind, any data): logs written by a newer
//! tool still get a report, and whether the log is intact is the verifier's
//! verdict, stated in the report, not a reason to refuse one.
//!
//! The log is streamed, as the verifier streams it: one line at a time, at
//! most [`MAX_LINE`] bytes, and only the entries the report lays out are
//! kept, up to [`RETAINED_BYTES`]. A log larger than any ceremony writes
//! (a crafted one, or a damaged one) gets a report of its first entries and
//! a finding saying so; the verifier still reads all of it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use keyceremony_log::MAX_LINE;
use keyceremony_log::verify::{self, VerifyOptions, VerifyReport};
use keyceremony_script::{LoadedScript, Role, Script};
use serde::Deserialize;
use serde_json::Value;

use crate::doc::{Block, Table, TableKind, cell, code_cell, para};
use crate::files::{self, FileFact, FileKind};
use crate::{LOG_FILE, ReportError, SCRIPT_COPY};

/// One log line, leniently: `kind` is any string, `data` any JSON.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LogEntry {
    pub(crate) seq: u64,
    pub(crate) time: String,
    pub(crate) actor: LogActor,
    pub(crate) step: Option<String>,
    pub(crate) kind: String,
    pub(crate) description: String,
    pub(crate) data: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LogActor {
    pub(crate) id: String,
    pub(crate) role: String,
}

/// Most bytes of log lines kept to lay the report out. A ceremony's log is a
/// few hundred entries of a few hundred bytes each (50 to 70 KB for the
/// shipped ones), far below this; memory stays bounded whatever the log's
/// size: this, laid out as Markdown and HTML, and one line.
pub(crate) const RETAINED_BYTES: usize = 4 << 20;

/// Largest script copy read: a script's texts are bounded (keyceremony-script's
/// text rules), and a larger file is not one a ceremony copied.
const MAX_SCRIPT_COPY: u64 = 16 << 20;

/// Line numbers of lines that are not entries listed in a finding; the
/// rest are counted.
const LISTED_BAD_LINES: usize = 20;

/// Everything read from the folder, before any section is laid out.
pub(crate) struct Ctx<'a> {
    pub(crate) dir: &'a Path,
    /// The log's entries, in order, up to [`RETAINED_BYTES`].
    pub(crate) entries: Vec<LogEntry>,
    /// The log's last entry, kept whatever the log's size: the seal, if any.
    pub(crate) last: Option<LogEntry>,
    pub(crate) script: Option<LoadedScript>,
    pub(crate) verify: VerifyReport,
    pub(crate) files: Vec<FileFact>,
    pub(crate) rehearsal: bool,
    /// Participant id -> name, from the script, else from their first
    /// check-in entry: looked up for every entry, so made once.
    names: HashMap<String, String>,
}

impl<'a> Ctx<'a> {
    /// Reads the output folder `dir` once, for every section. Log lines that
    /// are not entries and an unreadable script copy are findings; a folder
    /// without a log is not a ceremony's, and a log or folder that cannot be
    /// read is an error. `verified`: a log's SHA-256 and the verifier's
    /// report on it, which stands when the log holds those same bytes.
    pub(crate) fn read(
        dir: &'a Path,
        verified: Option<&([u8; 32], VerifyReport)>,
        findings: &mut Vec<String>,
    ) -> Result<Self, ReportError> {
        let log_path = dir.join(LOG_FILE);
        if !log_path.is_file() {
            return Err(ReportError::NotACeremony {
                dir: dir.to_path_buf(),
            });
        }
        let log = read_log(&log_path, RETAINED_BYTES)?;
        if log.bad_lines > 0 {
            let more = log.bad_lines - log.listed_bad_lines.len();
            findings.push(format!(
                "{} line(s) of the log are not log entries (line {}{}); the log verification below says why",
                log.bad_lines,
                log.listed_bad_lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if log.unlisted > 0 {
            findings.push(format!(
                "the log is larger than any ceremony writes: the report lays out its first {} entries and its last line, not the {} lines between; the log verification below covers all of them",
                log.entries.len(),
                log.unlisted.saturating_sub(1)
            ));
        }
        let script = match read_script_copy(dir) {
            Ok(script) => Some(script),
            Err(why) => {
                findings.push(format!(
                    "the script copy {SCRIPT_COPY} cannot be read ({why}); participants and steps come from the log alone"
                ));
                None
            }
        };
        let files = files::walk(dir)?;
        let log_sha256 = files.iter().find_map(|f| match f.kind {
            FileKind::Regular { sha256, .. } if f.path == LOG_FILE => Some(sha256),
            _ => None,
        });
        let verify = match verified {
            Some((sha256, report)) if log_sha256 == Some(*sha256) => report.clone(),
            _ => verify::verify_path(&log_path, &VerifyOptions::default()),
        };
        let rehearsal = log
            .entries
            .first()
            .filter(|e| e.kind == "ceremony-start")
            .and_then(|e| e.data.get("rehearsal"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut names: HashMap<String, String> = script
            .iter()
            .flat_map(|s| &s.script.participants)
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        for e in log.entries.iter().filter(|e| e.kind == "check-in") {
            if let Some(id) = str_at(&e.data, "participant") {
                let name = str_at(&e.data, "name").unwrap_or(id);
                names
                    .entry(id.to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
        Ok(Ctx {
            dir,
            entries: log.entries,
            last: log.last,
            script,
            verify,
            files,
            rehearsal,
            names,
        })
    }

    /// The UTC date of the first entry, `YYYY-MM-DD`.
    pub(crate) fn day(&self) -> &str {
        self.entries
            .first()
            .and_then(|e| e.time.split_once('T'))
            .map_or("", |(date, _)| date)
    }

    pub(crate) fn clock(&self, time: &str) -> String {
        clock(time, self.day())
    }

    pub(crate) fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s LogEntry> + 's {
        self.entries.iter().filter(move |e| e.kind == kind)
    }

    pub(crate) fn start(&self) -> Option<&LogEntry> {
        self.entries.first().filter(|e| e.kind == "ceremony-start")
    }

    pub(crate) fn seal(&self) -> Option<&LogEntry> {
        self.last.as_ref().filter(|e| e.kind == "seal")
    }

    pub(crate) fn script(&self) -> Option<&Script> {
        self.script.as_ref().map(|s| &s.script)
    }

    /// A participant's name from the script, else from their check-in
    /// entry, else the id.
    pub(crate) fn name(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    pub(crate) fn file(&self, path: &str) -> Option<&FileFact> {
        self.files.iter().find(|f| f.path == path)
    }

    pub(crate) fn ceremony_name(&self) -> String {
        self.script()
            .map(|s| s.ceremony.name.clone())
            .or_else(|| {
                self.start()
                    .and_then(|e| str_at(&e.data, "ceremony_name"))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| self.dir.display().to_string())
    }

    pub(crate) fn ceremony_id(&self) -> String {
        self.start()
            .and_then(|e| str_at(&e.data, "ceremony_id"))
            .map(str::to_string)
            .or_else(|| self.script().map(|s| s.ceremony.id.clone()))
            .unwrap_or_else(|| "unknown ceremony".to_string())
    }

    /// `(label, path)` of each `certs/<label>.der` in the folder.
    pub(crate) fn certificate_files(&self) -> impl Iterator<Item = (String, &str)> + '_ {
        self.files.iter().filter_map(|f| {
            let label = f.path.strip_prefix("certs/")?.strip_suffix(".der")?;
            (!label.contains('/')).then(|| (label.to_string(), f.path.as_str()))
        })
    }
}

pub(crate) fn str_at<'v>(data: &'v Value, key: &str) -> Option<&'v str> {
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
pub(crate) fn role_title(role: &str) -> String {
    serde_json::from_value::<Role>(Value::String(role.to_string()))
        .map_or_else(|_| role.to_string(), |r| r.title().to_string())
}

/// A JSON value as the report prints it: strings bare, the rest as JSON.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every leaf of `data` with its path (`tokens[0].label`), so that every
/// key the log holds is printed, whatever the tool that wrote it added.
pub(crate) fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
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

pub(crate) fn key_values(data: &Value) -> Block {
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

pub(crate) fn pgp_words(bytes: &[u8]) -> String {
    pgp_words::to_words(bytes).join(" ")
}

/// The script copy, when it is one a ceremony could have written.
fn read_script_copy(dir: &Path) -> Result<LoadedScript, String> {
    let path = dir.join(SCRIPT_COPY);
    let size = path.metadata().map_err(|e| e.to_string())?.len();
    if size > MAX_SCRIPT_COPY {
        return Err(format!(
            "{size} bytes, more than any script; it was not read"
        ));
    }
    LoadedScript::read(&path).map_err(|e| e.to_string())
}

/// The log as the report reads it.
struct Log {
    /// The entries, parsed leniently, up to the budget of lines.
    entries: Vec<LogEntry>,
    /// The last entry, kept or not.
    last: Option<LogEntry>,
    /// Lines after the retained entries, the last one included.
    unlisted: u64,
    /// Lines that are not entries at all (the verifier says why), and the
    /// first few of their numbers.
    bad_lines: usize,
    listed_bad_lines: Vec<u64>,
}

/// Streams the log, one line of at most [`MAX_LINE`] bytes at a time,
/// keeping entries up to `budget` bytes of lines; past it, lines are only
/// counted, and the last one is kept to be parsed at the end.
fn read_log(path: &Path, budget: usize) -> Result<Log, ReportError> {
    let read_error = |source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(read_error)?);
    let mut log = Log {
        entries: Vec::new(),
        last: None,
        unlisted: 0,
        bad_lines: 0,
        listed_bad_lines: Vec::new(),
    };
    let mut retained = 0usize;
    let mut line = Vec::with_capacity(1 << 12);
    let mut last_unlisted = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        // One byte more than the longest line: enough to see it is too long.
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(read_error)?;
        if read == 0 {
            break;
        }
        number += 1;
        let too_long = line.last() != Some(&b'\n') && line.len() > MAX_LINE;
        if too_long {
            skip_line(&mut reader).map_err(read_error)?;
        } else if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        if log.unlisted > 0 || retained + line.len() > budget {
            log.unlisted += 1;
            std::mem::swap(&mut line, &mut last_unlisted);
            continue;
        }
        match serde_json::from_slice::<LogEntry>(&line) {
            Ok(entry) if !too_long => {
                retained += line.len();
                log.entries.push(entry);
            }
            _ => {
                log.bad_lines += 1;
                if log.listed_bad_lines.len() < LISTED_BAD_LINES {
                    log.listed_bad_lines.push(number);
                }
            }
        }
    }
    log.last = if log.unlisted > 0 {
        serde_json::from_slice(&last_unlisted).ok()
    } else {
        log.entries.last().cloned()
    };
    Ok(log)
}

/// Reads past the rest of a line too long to keep, without keeping it.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let all = buffer.len();
                reader.consume(all);
            }
        }
    }
}

/// The DER inside a PEM file of the given label.
pub(crate) fn read_pem(path: &Path, label: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let (found, der) = der::pem::decode_vec(&bytes).map_err(|e| format!("not PEM: {e}"))?;
    if found == label {
        Ok(der)
    } else {
        Err(format!("PEM label {found}, expected {label}"))
    }
}

pub(crate) fn public_key_pem_path(label: &str) -> String {
    format!("keys/{label}.pub.pem")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, kind: &str) -> String {
        format!(
            "{{\"seq\":{seq},\"time\":\"2026-11-25T09:00:00.000Z\",\"prev\":\"\",\"actor\":{{\"id\":\"a\",\"role\":\"r\"}},\"step\":null,\"kind\":\"{kind}\",\"description\":\"\",\"data\":{{}}}}\n"
        )
    }

    #[test]
    fn the_log_is_kept_up_to_its_budget_and_its_last_entry_always() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ceremony.log");
        let mut text: String = (1..=100).map(|seq| entry(seq, "recorded")).collect();
        text.push_str("not an entry\n\n");
        text.push_str(&"x".repeat(MAX_LINE + 10));
        text.push('\n');
        text.push_str(&entry(101, "seal"));
        std::fs::write(&path, &text).unwrap();

        let whole = read_log(&path, usize::MAX).unwrap();
        assert_eq!(whole.entries.len(), 101);
        assert_eq!(whole.unlisted, 0);
        assert_eq!(
            (whole.bad_lines, whole.listed_bad_lines),
            (2, vec![101, 103])
        );
        assert_eq!(whole.last.map(|e| e.kind), Some("seal".to_string()));

        let line = entry(1, "recorded").len() - 1;
        let cut = read_log(&path, 10 * line + 5).unwrap();
        assert_eq!(cut.entries.len(), 10);
        assert_eq!(cut.entries[9].seq, 10);
        // 90 entries, the bad line, the long one and the seal.
        assert_eq!(cut.unlisted, 93);
        assert_eq!(cut.last.map(|e| e.seq), Some(101));
    }

    #[test]
    fn a_verification_is_taken_up_for_the_same_bytes_only() {
        use keyceremony_log::verify::Status;
        use keyceremony_log::{Actor, EventKind, LogWriter};
        use sha2::{Digest, Sha256};

        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(LOG_FILE);
        let mut writer = LogWriter::create(&log).unwrap();
        let start = serde_json::json!({ "ceremony_id": "root-2026" });
        let tool = Actor::tool();
        let kind = EventKind::CeremonyStart;
        writer.append(&tool, None, kind, "start", start).unwrap();
        drop(writer);
        let sha256: [u8; 32] = Sha256::digest(std::fs::read(&log).unwrap()).into();
        // A report that the log's own verification would not give, so that
        // taking it up shows.
        let claimed = VerifyReport {
            status: Status::Sealed,
            ..verify::verify_path(&log, &VerifyOptions::default())
        };
        let mut findings = Vec::new();
        let same = Ctx::read(dir.path(), Some(&(sha256, claimed.clone())), &mut findings).unwrap();
        assert_eq!(same.verify, claimed);
        let other = Ctx::read(dir.path(), Some(&([0; 32], claimed)), &mut findings).unwrap();
        assert_eq!(other.verify.status, Status::Unsealed);
    }

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
}
