//! The last screen: the ceremony ended with its log sealed, as completed or
//! as aborted, as the log read back says (the log, its head, its verified
//! backup copy and the certificates' fingerprints), or it stopped (what
//! happened, what it means, what to do, and what the next run can do as
//! the log now stands). Enter leaves.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use keyceremony_engine::resume::{self, Standing};
use keyceremony_engine::{SealOutcome, files};
use ratatui::text::{Line, Span};

use crate::app::{App, Phase};
use crate::explain::{Explained, Finished, next_run};
use crate::widgets::{
    action, banner, blank, bold, field, fields, fingerprint, hex_field, hex_lines, indented, line,
    show, strong,
};

pub const KEYS: &str = "Enter exit  ? help";

/// The engine returned: whatever was open closes, and the terminal is
/// cleared for the last screen. A stop says what the next run can do, as
/// the log in the output folder now stands.
pub fn open(app: &mut App, mut finished: Finished) {
    app.active = None;
    app.working = None;
    app.overlay = None;
    app.hint = None;
    match &mut finished {
        Finished::Completed { .. } => app.current = Some(app.steps.len()),
        Finished::Stopped(explained) if explained.standing.is_none() => {
            let log = std::path::Path::new(&app.info.out_dir).join(files::LOG);
            explained.standing = Some(resume::standing(&log, &app.script));
        }
        Finished::Stopped(_) => {}
    }
    app.phase = Phase::Finished(finished);
    app.clear = true;
}

pub fn key(app: &mut App, key: KeyEvent) {
    app.hint = None;
    if key.code == KeyCode::Enter {
        app.exit = true;
        return;
    }
    app.hint = crate::frame::ignored(app, crate::frame::keys_now(app), &key);
}

/// The last screen; a stop's head is shown in words too where they fit
/// (the hex is what the next run asks for).
#[must_use]
pub fn view(app: &App, finished: &Finished, frame: &mut Frame, area: Rect) -> bool {
    [true, false]
        .into_iter()
        .any(|words| show(frame, area, lines(app, finished, area.width, words)))
}

fn lines(app: &App, finished: &Finished, width: u16, words: bool) -> Vec<Line<'static>> {
    let mut lines = match finished {
        Finished::Completed {
            out_dir,
            log_entries,
            log_head,
            certificates,
            backup,
            sealed,
        } => {
            let aborted = *sealed == SealOutcome::Aborted;
            let title = match (aborted, app.info.rehearsal) {
                (true, _) => "CEREMONY ABORTED: ITS LOG IS SEALED AS ABORTED",
                (false, true) => "CEREMONY COMPLETE (REHEARSAL)",
                (false, false) => "CEREMONY COMPLETE",
            };
            let mut lines = vec![
                banner(title, width),
                line(if aborted {
                    "The room ended the interrupted ceremony: the log records the abort and is sealed as aborted. Nothing this ceremony made is to be used."
                } else {
                    "Every step was performed and witnessed; the log records each one and is sealed as completed."
                }),
                blank(),
                field(
                    "Log",
                    format!("{out_dir}/ceremony.log, {log_entries} entries, sealed {sealed}"),
                ),
            ];
            lines.extend(hex_field("Log head", log_head));
            lines.extend(fields(
                "Backup",
                &format!("{backup} (read back and verified, CPS 5.4.5)"),
                width,
            ));
            for (label, sha256) in certificates {
                lines.push(blank());
                lines.extend(fingerprint(
                    format!("Certificate '{label}' SHA-256:"),
                    sha256,
                    width,
                ));
            }
            lines.push(blank());
            lines.push(field("Output", out_dir.clone()));
            lines
        }
        Finished::Stopped(explained) => stopped(app, explained, width, words),
    };
    if !app.keys_left.is_empty() {
        lines.push(strong(
            "Left on the token, live until destroy-key or re-initialisation (CPS 6.2.10):",
        ));
        for key in &app.keys_left {
            lines.push(line(format!("  {key}")));
        }
    }
    lines.push(action("Enter", "exit"));
    lines
}

/// What happened, what it means, what to do, and what the next run can
/// do; the head to copy when the log has one to go on from.
fn stopped(app: &App, explained: &Explained, width: u16, words: bool) -> Vec<Line<'static>> {
    let title = if explained.aborted {
        "THE CEREMONY WAS ABORTED"
    } else {
        "THE CEREMONY STOPPED ON AN ERROR"
    };
    let mut lines = vec![banner(title, width)];
    let standing = explained.standing.clone().unwrap_or(Standing::NoLog);
    let written = app.started && standing != Standing::NoLog;
    if let (true, Some(entry)) = (written, app.current_step()) {
        lines.push(field(
            "Stopped at",
            format!("step {}  {}", entry.step.id, entry.step.title),
        ));
    }
    // A head to copy takes the room of the blank lines.
    let roomy = app.log_head.is_none();
    if roomy {
        lines.push(blank());
    }
    let part = |label: &str, text: String| {
        Line::from(vec![
            Span::styled(format!("{label}: "), bold()),
            Span::raw(text),
        ])
    };
    lines.push(part("What happened", explained.happened.clone()));
    lines.push(part("What it means", explained.means.clone()));
    lines.push(part(
        "What to do",
        format!("{} {}", explained.todo, next_run(&standing)),
    ));
    if roomy {
        lines.push(blank());
    }
    match (written, &app.log_head) {
        // What to do says that nothing was written.
        (false, _) => {}
        (true, None) => lines.push(line(format!(
            "The log {}/ceremony.log records this as its last entry.",
            app.info.out_dir
        ))),
        // Resuming needs the last head the witness copied.
        (true, Some(head)) => {
            lines.push(strong(format!(
                "The log records this. Copy its head (after entry {}) onto the paper script:",
                head.entries
            )));
            lines.extend(hex_lines(&head.head));
            if words {
                lines.extend(indented(&head.words, width, Style::new()));
            }
        }
    }
    if let Some(sealed) = &app.sealed {
        lines.push(line(format!(
            "Log sealed ({}) after {} entries.",
            sealed.outcome, sealed.entries
        )));
    }
    lines
}
