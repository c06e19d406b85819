//! keyceremony-report: what the Qualified Auditor and the operators take
//! away from a ceremony (CPS 6.1.1: the auditor opines that the Key
//! Generation Script was followed).
//!
//! - [`paper_script`]: the script the tool runs, as a printable document to
//!   initial step by step, with room to copy what the tool shows.
//! - [`write_report`]: `report.html` and `report.md` in a ceremony's output
//!   folder, built from the files the ceremony wrote (the log, the script
//!   copy, the certificates and keys) and checking them against each other.
//!
//! Both formats are rendered from one document model (`doc`), so they hold
//! the same content; every value from a script, a log or a certificate is
//! escaped there. The report only reads the folder: it never trusts a
//! summary the engine printed, it recomputes every hash from the files. A
//! check the run has just made ([`Known`]: a key's, the log's verification)
//! is taken up only for the very bytes the report reads.

mod cert;
mod context;
mod doc;
mod files;
mod paper;
mod report;
mod sections;

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use keyceremony_log::verify::VerifyReport;
use keyceremony_script::LoadedScript;
use keyceremony_x509::CheckedKey;

/// File name of the HTML report in a ceremony's output folder.
pub const REPORT_HTML: &str = "report.html";
/// File name of the Markdown report in a ceremony's output folder.
pub const REPORT_MARKDOWN: &str = "report.md";

/// The two renderings of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Self-contained HTML (inline CSS, no script, no network) that prints
    /// on A4 and Letter.
    Html,
    /// CommonMark with GFM tables, no raw HTML.
    Markdown,
}

impl Format {
    fn render(self, document: &doc::Document) -> String {
        match self {
            Format::Html => doc::to_html(document),
            Format::Markdown => doc::to_markdown(document),
        }
    }
}

/// The paper script of a loaded script, in one format.
pub fn paper_script(script: &LoadedScript, format: Format) -> String {
    format.render(&paper::document(script))
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "{} holds no ceremony.log: it is not a ceremony's output folder",
        dir.display()
    )]
    NotACeremony { dir: PathBuf },
    #[error(
        "{} already exists: a report is never overwritten. Move it away to write a new one",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// The log's file name, as the engine writes it (keyceremony_engine::files::LOG;
/// the report does not depend on the engine, only on what it leaves behind).
const LOG_FILE: &str = "ceremony.log";
/// The engine's copy of the script that ran.
const SCRIPT_COPY: &str = "script.toml";
/// Rehearsals only: the custodians' shares. Never listed or hashed in the
/// report: it is activation data.
const REHEARSAL_SHARES: &str = "rehearsal-shares";
/// The fingerprints file the engine writes (CPS 8.6).
const FINGERPRINTS: &str = "fingerprints.txt";

/// The reports written, and what the auditor must look at first.
#[derive(Debug, Clone)]
pub struct Written {
    pub html: PathBuf,
    pub markdown: PathBuf,
    /// Every check of the folder that failed, in words; empty when the log
    /// is sealed and every file, hash and certificate agrees with it.
    pub findings: Vec<String>,
    /// The log's first entry says the ceremony was a rehearsal.
    pub rehearsal: bool,
}

/// What the process writing a report has already checked of the folder (a
/// ceremony's run, right before): results that depend on bytes alone, taken
/// up where the report reads the same bytes again; anything else is checked
/// here. Empty for `keyceremony report DIR`.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Public keys as they were checked (CPS 6.1.5, 6.1.6).
    pub keys: Vec<CheckedKey>,
    /// The SHA-256 of a log's bytes, and the verifier's report on them.
    pub log: Option<([u8; 32], VerifyReport)>,
}

/// Writes `report.html` and `report.md` into a ceremony's output folder.
/// Refuses when either exists already (the files are created with O_EXCL):
/// a report filed with the auditor is never silently replaced.
pub fn write_report(out_dir: &Path, known: &Known) -> Result<Written, ReportError> {
    let html_path = out_dir.join(REPORT_HTML);
    let markdown_path = out_dir.join(REPORT_MARKDOWN);
    // Both are checked before either is written, so a refusal leaves the
    // folder as it was.
    for path in [&html_path, &markdown_path] {
        if path.symlink_metadata().is_ok() {
            return Err(ReportError::Exists { path: path.clone() });
        }
    }
    let built = report::build(out_dir, known)?;
    write_new(&html_path, Format::Html.render(&built.document).as_bytes())?;
    write_new(
        &markdown_path,
        Format::Markdown.render(&built.document).as_bytes(),
    )?;
    Ok(Written {
        html: html_path,
        markdown: markdown_path,
        findings: built.findings,
        rehearsal: built.rehearsal,
    })
}

/// O_CREAT|O_EXCL, then fsync: the report is on disk when the call returns.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                ReportError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                error(source)
            }
        })?;
    file.write_all(bytes).map_err(error)?;
    file.sync_all().map_err(error)
}

/// Hex in groups of four digits, for reading aloud and comparing on paper;
/// keeps the case it is given (the log's head is lower case, fingerprints
/// are upper case).
pub(crate) fn group4(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::group4;

    #[test]
    fn groups_of_four_keep_case() {
        assert_eq!(group4("abcdef012"), "abcd ef01 2");
        assert_eq!(group4("ABCD"), "ABCD");
    }
}
