//! The last screen: the ceremony completed (the log, its head and the
//! certificates' fingerprints), or it stopped (what happened, what it
//! means, what to do). Enter leaves.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::app::{App, Phase};
use crate::explain::Finished;
use crate::widgets::{
    action, banner, blank, field, fingerprint, hex_field, hex_lines, indented, line, paragraph,
    strong,
};

pub const KEYS: &str = "Enter exit  ? help";

/// The engine returned: whatever was open closes, and the terminal is
/// cleared for the last screen.
pub fn open(app: &mut App, finished: Finished) {
    app.active = None;
    app.working = None;
    app.overlay = None;
    if matches!(finished, Finished::Completed { .. }) {
        app.current = Some(app.steps.len());
    }
    app.phase = Phase::Finished(finished);
    app.clear = true;
}

pub fn key(app: &mut App, key: KeyEvent) {
    if key.code == KeyCode::Enter {
        app.exit = true;
    }
}

pub fn view(app: &App, finished: &Finished, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    match finished {
        Finished::Completed {
            out_dir,
            log_entries,
            log_head,
            certificates,
        } => {
            let aborted = app.sealed.as_ref().is_some_and(|s| s.outcome == "aborted");
            let title = match (aborted, app.info.rehearsal) {
                (true, _) => "CEREMONY ABORTED: ITS LOG IS SEALED AS ABORTED",
                (false, true) => "CEREMONY COMPLETE (REHEARSAL)",
                (false, false) => "CEREMONY COMPLETE",
            };
            lines.push(banner(title, area.width));
            lines.push(line(if aborted {
                "The room ended the interrupted ceremony; the log records the abort and is sealed."
            } else {
                "Every step was performed and witnessed; the log records each one."
            }));
            lines.push(blank());
            lines.push(field(
                "Log",
                format!("{out_dir}/ceremony.log, {log_entries} entries"),
            ));
            lines.extend(hex_field("Log head", log_head));
            for (label, sha256) in certificates {
                lines.push(blank());
                lines.extend(fingerprint(
                    format!("Certificate '{label}' SHA-256:"),
                    sha256,
                    area.width,
                ));
            }
            lines.push(blank());
            lines.push(field("Output", out_dir.clone()));
        }
        Finished::Stopped(explained) => {
            let title = if explained.aborted {
                "THE CEREMONY WAS ABORTED"
            } else {
                "THE CEREMONY STOPPED ON AN ERROR"
            };
            lines.push(banner(title, area.width));
            if let (true, Some(entry)) = (app.started, app.current_step()) {
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
            lines.push(strong("What happened"));
            lines.push(line(explained.happened.clone()));
            lines.push(strong("What it means"));
            lines.push(line(explained.means.clone()));
            lines.push(strong("What to do"));
            lines.push(line(explained.todo.clone()));
            if roomy {
                lines.push(blank());
            }
            match (app.started, &app.log_head) {
                (false, _) => lines.push(line(
                    "The ceremony did not start: nothing was written and the HSM is unchanged.",
                )),
                (true, None) => lines.push(line(format!(
                    "The log {}/ceremony.log records this as its last entry.",
                    app.info.out_dir
                ))),
                // Resuming needs the last head the witness copied.
                (true, Some(head)) => {
                    lines.push(strong(format!(
                        "The log records this as its last entry. Copy its head (after entry {}) onto the paper script:",
                        head.entries
                    )));
                    lines.extend(hex_lines(&head.head));
                    lines.extend(indented(&head.words, area.width, Style::new()));
                }
            }
        }
    }
    if !app.keys_left.is_empty() {
        lines.push(strong(
            "Left on the token, live (the tool destroys no key):",
        ));
        for key in &app.keys_left {
            lines.push(line(format!("  {key}")));
        }
    }
    if let Some(sealed) = &app.sealed {
        lines.push(line(format!(
            "Log sealed ({}) after {} entries.",
            sealed.outcome, sealed.entries
        )));
    }
    lines.push(action("Enter", "exit"));
    frame.render_widget(paragraph(lines), area);
}
