//! What every section of the ceremony report reads: the folder's files,
//! read once into a [`Ctx`] (the log leniently, the script copy, the
//! verifier's verdict, every file's SHA-256), and the small helpers the
//! sections share to print what the log holds.
//!
//! The log is read leniently (any kind, any data): logs written by a newer
//! tool still get a report, and whether the log is intact is the verifier's
//! verdict, stated in the report, not a reason to refuse one.

use std::collections::HashMap;
use std::path::Path;

use keyceremony_log::verify::{self, VerifyOptions, VerifyReport};
use keyceremony_script::{LoadedScript, Role, Script};
use serde::Deserialize;
use serde_json::Value;

use crate::doc::{Block, Table, TableKind, cell, code_cell, para};
use crate::files::{self, FileFact, FileKind};
use crate::{LOG_FILE, ReportError, SCRIPT_COPY};

/// One log line, leniently: `kind` is any string, `data` any JSON.
#[derive(Debug, Deserialize)]
pub(crate) struct LogEntry {
    pub(crate) seq: u64,
    pub(crate) time: String,
    pub(crate) actor: LogActor,
    pub(crate) step: Option<String>,
    pub(crate) kind: String,
    pub(crate) description: String,
    pub(crate) data: Value,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LogActor {
    pub(crate) id: String,
    pub(crate) role: String,
}

/// Everything read from the folder, before any section is laid out.
pub(crate) struct Ctx<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) entries: Vec<LogEntry>,
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
        let log_sha256 = files.iter().find_map(|f| match f.kind {
            FileKind::Regular { sha256, .. } if f.path == LOG_FILE => Some(sha256),
            _ => None,
        });
        let verify = match verified {
            Some((sha256, report)) if log_sha256 == Some(*sha256) => report.clone(),
            _ => verify::verify_path(&log_path, &VerifyOptions::default()),
        };
        let rehearsal = entries
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
        for e in entries.iter().filter(|e| e.kind == "check-in") {
            if let Some(id) = str_at(&e.data, "participant") {
                let name = str_at(&e.data, "name").unwrap_or(id);
                names
                    .entry(id.to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
        Ok(Ctx {
            dir,
            entries,
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
        self.entries.last().filter(|e| e.kind == "seal")
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
