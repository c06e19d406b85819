//! The auditor's deliverables on the command line: `script print` (the
//! paper script), `report` (the ceremony report), and the conveniences
//! generated from the command-line definition (`completions`, `man`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use keyceremony_report::{Format, Known, Written};
use keyceremony_script::LoadedScript;

use crate::out::{self, say};

/// `--format` of `script print`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PaperFormat {
    /// Markdown (CommonMark with tables).
    Md,
    /// Self-contained HTML that prints on A4 and Letter.
    Html,
}

/// `keyceremony script print`: the paper script of a valid script, to
/// stdout or to a new file.
pub fn print_script(script: &Path, format: PaperFormat, file: Option<&Path>) -> Result<()> {
    // Validated like `run` does: a paper copy of a script the tool would
    // refuse would have people initial steps that never happen.
    let loaded = LoadedScript::load(script)?;
    let format = match format {
        PaperFormat::Md => Format::Markdown,
        PaperFormat::Html => Format::Html,
    };
    let text = keyceremony_report::paper_script(&loaded, format);
    match file {
        None => {
            out::lines(&text);
            Ok(())
        }
        Some(path) => {
            // A paper script may already be printed and initialled: never
            // replace one silently.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "cannot create {} (an existing file is never overwritten)",
                        path.display()
                    )
                })?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            say!(
                "wrote the paper script of {} (script SHA-256 {}) to {}",
                script.display(),
                loaded.sha256_hex(),
                path.display()
            );
            Ok(())
        }
    }
}

/// `keyceremony report DIR`, and the report at the end of a run: writes
/// both files and prints where, and every finding. `known`: what the run
/// checked, which the report takes up (nothing for `keyceremony report`).
pub fn report(dir: &Path, known: &Known) -> Result<()> {
    let written = keyceremony_report::write_report(dir, known)?;
    print_written(&written);
    Ok(())
}

fn print_written(written: &Written) {
    for path in &written.replaced {
        println!(
            "replaced {}, which a run began but never finished",
            path.display()
        );
    }
    let banner = if written.rehearsal { "REHEARSAL " } else { "" };
    say!(
        "{banner}report written: {} and {}",
        written.html.display(),
        written.markdown.display()
    );
    if written.findings.is_empty() {
        say!("no findings");
    } else {
        say!("{} finding(s) for the auditor:", written.findings.len());
        for finding in &written.findings {
            say!("  - {finding}");
        }
    }
}

/// `keyceremony completions SHELL`. Generated into memory first:
/// clap_complete panics when it cannot write.
pub fn completions(shell: clap_complete::Shell, mut command: clap::Command) {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "keyceremony", &mut script);
    out::generated(&script);
}

/// `keyceremony man`: the man page, roff, from the same definition as `--help`.
pub fn man(command: clap::Command) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("cannot render the man page")?;
    out::generated(&page);
    Ok(())
}
