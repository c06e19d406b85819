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
//!   software against `keys/<label>.pub.pem` (a subordinate CA certificate
//!   against the root certificate the log names, too); compared with the
//!   `.pem`, with `fingerprints.txt` and with the log;
//! - `crls/<id>.crl`: verified against the root certificate the log names;
//!   compared with the `.crl.pem`, `fingerprints.txt` and the log;
//! - every file in the folder: SHA-256 against the log's `file-written`
//!   entries; a file the log does not account for is a finding.
//!
//! The folder is read once (`context`), each section is laid out by its own
//! module (`sections`), and this module puts them in order.

use std::path::Path;

use crate::context::Ctx;
use crate::doc::{Block, Document, strong, text};
use crate::sections::{
    activation, ceremony, certificates, commands, crls, custody, environment, exceptions, keys,
    log, output_files, participants, recorded, rehearsal, room, summary, timeline, token,
};
use crate::{Known, ReportError};

pub(crate) struct Built {
    pub(crate) document: Document,
    pub(crate) findings: Vec<String>,
    pub(crate) rehearsal: bool,
}

pub(crate) fn build(dir: &Path, known: &Known) -> Result<Built, ReportError> {
    let mut findings = Vec::new();
    let ctx = Ctx::read(dir, known.log.as_ref(), &mut findings)?;

    let mut sections = Vec::new();
    sections.extend(ceremony::section(&ctx, &mut findings));
    sections.extend(participants::section(&ctx));
    sections.extend(timeline::section(&ctx, &mut findings));
    sections.extend(recorded::section(&ctx));
    sections.extend(activation::section(&ctx, &mut findings));
    sections.extend(room::section(&ctx, &mut findings));
    sections.extend(custody::section(&ctx, &mut findings));
    sections.extend(exceptions::section(&ctx, &mut findings));
    sections.extend(environment::section(&ctx, &mut findings));
    sections.extend(token::section(&ctx));
    sections.extend(keys::section(&ctx, &mut findings));
    sections.extend(certificates::section(&ctx, known, &mut findings));
    sections.extend(crls::section(&ctx, &mut findings));
    sections.extend(log::section(&ctx, &mut findings));
    sections.extend(output_files::section(&ctx, &mut findings));
    sections.extend(commands::section(&ctx));
    // A rehearsal's report ends with what the real ceremony needs.
    sections.extend(rehearsal::section(&ctx, &mut findings));

    let document = assemble(&ctx, &findings, sections);
    Ok(Built {
        document,
        findings,
        rehearsal: ctx.rehearsal,
    })
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

/// The title, the summary and the findings, then the sections.
fn assemble(ctx: &Ctx<'_>, findings: &[String], sections: Vec<Block>) -> Document {
    let name = ctx.ceremony_name();
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
    blocks.extend(summary::section(ctx, findings));
    blocks.extend(sections);
    if ctx.rehearsal {
        blocks.push(rehearsal_notice());
    }
    Document {
        title,
        footer: format!("{} ceremony report", ctx.ceremony_id()),
        running_header: ctx
            .rehearsal
            .then(|| "REHEARSAL: not a production ceremony".to_string()),
        blocks,
    }
}
