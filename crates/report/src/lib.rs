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
use keyceremony_x509::{CheckedKey, VerifiedRoot};

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
    #[error(
        "cannot write {}: {source}. Nothing of it is left; free space on the medium, then run keyceremony report on the folder again",
        path.display()
    )]
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
    /// Reports an earlier run began but never finished, now replaced.
    pub replaced: Vec<PathBuf>,
}

/// What the process writing a report has already checked of the folder (a
/// ceremony's run, right before): results that depend on bytes alone, taken
/// up where the report reads the same bytes again; anything else is checked
/// here. Empty for `keyceremony report DIR`.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Public keys as they were checked (CPS 6.1.5, 6.1.6).
    pub keys: Vec<CheckedKey>,
    /// Root certificates as they were verified with those keys.
    pub roots: Vec<VerifiedRoot>,
    /// The SHA-256 of a log's bytes, and the verifier's report on them.
    pub log: Option<([u8; 32], VerifyReport)>,
}

/// How a finished HTML report ends; it is written after the Markdown one,
/// so a complete `report.html` means the pair is finished.
const HTML_END: &[u8] = b"</html>\n";

/// Writes `report.md`, then `report.html`, into a ceremony's output folder,
/// each whole or not at all. Refuses when a finished report is there (a
/// report filed with the auditor is never replaced); a report a run began
/// but did not finish (no complete `report.html`) is replaced, and said so.
pub fn write_report(out_dir: &Path, known: &Known) -> Result<Written, ReportError> {
    let html_path = out_dir.join(REPORT_HTML);
    let markdown_path = out_dir.join(REPORT_MARKDOWN);
    // Checked before anything is written, so a refusal leaves the folder as
    // it was.
    if html_path.is_symlink() {
        return Err(ReportError::Exists { path: html_path });
    }
    if html_path.exists() {
        let html = std::fs::read(&html_path).map_err(|source| ReportError::Read {
            path: html_path.clone(),
            source,
        })?;
        if html.ends_with(HTML_END) {
            return Err(ReportError::Exists { path: html_path });
        }
    }
    let replaced: Vec<PathBuf> = [&markdown_path, &html_path]
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .cloned()
        .collect();
    let built = report::build(out_dir, known)?;
    write_whole(
        &markdown_path,
        Format::Markdown.render(&built.document).as_bytes(),
    )?;
    write_whole(&html_path, Format::Html.render(&built.document).as_bytes())?;
    Ok(Written {
        html: html_path,
        markdown: markdown_path,
        findings: built.findings,
        rehearsal: built.rehearsal,
        replaced,
    })
}

/// Written under a temporary name, fsynced, then renamed into place: the
/// report is either absent or complete, however the writing ends (a full
/// disk, a crash).
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let partial = path.with_file_name(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(error(source));
    }
    std::fs::rename(&partial, path).map_err(error)?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(error)
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
