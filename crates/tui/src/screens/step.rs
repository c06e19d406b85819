//! The step view: the step list, the step's heading and instructions, what
//! the engine reported in it (fingerprints, key attributes, files, the
//! clock check, exceptions), and at the foot the question asked now (a
//! value to record, a bag serial, the reference time, the end of the
//! step) or, while the engine works, that the HSM is busy.

use keyceremony_script::{Action, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;

use crate::app::{App, Reported};
use crate::format;
use crate::screens::Active;
use crate::step_list;
use crate::widgets::{blank, field, fingerprint, line, loud, people, person, rows, show, strong};

/// The footer while no question is open.
pub const KEYS: &str = "? help  F10 abort";

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

/// Draws the step view, beside the step list when both fit. Where they do
/// not, the list gives way; where even then the step's results and its
/// question leave no room for its instructions, a line says they are on
/// the paper script. False when the step view does not fit at all.
#[must_use]
pub fn view(app: &App, frame: &mut Frame, area: Rect) -> bool {
    let with_list = step_list::width(app, area.width);
    let layouts = [(with_list, true), (0, true), (0, false)];
    for (list_width, instructions) in layouts {
        let right = step_list::pane(area, list_width);
        if let Some((top, bottom)) = content(app, right, instructions) {
            let right = step_list::beside(app, frame, area, list_width);
            let [upper, lower] = Layout::vertical([
                Constraint::Min(0),
                Constraint::Length(rows_u16(&bottom, right.width)),
            ])
            .areas(right);
            return show(frame, upper, top) && show(frame, lower, bottom);
        }
    }
    false
}

fn rows_u16(lines: &[Line<'_>], width: u16) -> u16 {
    u16::try_from(rows(lines, width)).unwrap_or(u16::MAX)
}

/// The step view's upper part (heading, results, the instructions or
/// where they are) and its foot (the question), when both fit in `area`.
fn content(
    app: &App,
    area: Rect,
    instructions: bool,
) -> Option<(Vec<Line<'static>>, Vec<Line<'static>>)> {
    // A step outside the script's list (the seal of an aborted ceremony)
    // is the question's.
    let step = app
        .current_step()
        .map(|entry| &entry.step)
        .or_else(|| app.active.as_ref().and_then(Active::step));
    let prompt = prompt_lines(app, area.width);
    let Some(step) = step else {
        let lines = vec![line("The ceremony is starting...")];
        let needed = rows(&lines, area.width) + rows(&prompt, area.width);
        return (needed <= usize::from(area.height)).then_some((lines, prompt));
    };
    let results = result_lines(app, step, area.width);
    let mut lines = heading(app, step, !results.is_empty());
    lines.push(blank());
    if !results.is_empty() {
        lines.extend(results);
        lines.push(blank());
    }
    if instructions {
        for (i, paragraph) in format::reflow(&step.instructions).split("\n\n").enumerate() {
            if i > 0 {
                lines.push(blank());
            }
            lines.push(line(paragraph.to_string()));
        }
    } else {
        lines.push(line(format!(
            "The instructions of step {} are on the paper script: with these results they do not fit here.",
            step.id
        )));
    }
    let needed = rows(&lines, area.width) + rows(&prompt, area.width);
    (needed <= usize::from(area.height)).then_some((lines, prompt))
}

/// The step's title, act, performer and witness; `compact`, with results
/// to show, the act gives way and the people are named on one line.
fn heading(app: &App, step: &Step, compact: bool) -> Vec<Line<'static>> {
    let act = app
        .steps
        .iter()
        .find(|e| e.step.id == step.id)
        .map(|e| format!("Act {}: {}", e.act, e.act_title));
    let name = |id: &str| {
        app.participant(id)
            .map(person)
            .unwrap_or_else(|| id.to_string())
    };
    let mut lines = vec![strong(format!("Step {}  {}", step.id, step.title))];
    if compact {
        lines.push(people(app, step));
    } else {
        lines.extend(act.map(line));
        lines.push(field("Performer", name(&step.performer)));
        lines.push(field("Witness", name(&step.witness)));
    }
    // The start screen's warning again where the room checks the terminal
    // for a network connection (CPS 6.7).
    if !app.network.is_empty() && step.instructions.to_lowercase().contains("network") {
        lines.push(Line::styled(
            format!(
                "! Network interfaces up on this terminal: {} (CPS 6.7)",
                app.network.join(", ")
            ),
            loud(),
        ));
    }
    lines
}

/// The step's results: fingerprints grouped and in PGP words, key
/// attributes, files written, the clock check, exceptions.
fn result_lines(app: &App, step: &Step, width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut files = Vec::new();
    // What is read aloud comes first; the HSM's timings last.
    let mut outcomes: Vec<&Reported> = app.outcomes_of(&step.id).collect();
    outcomes.sort_by_key(|o| match o {
        Reported::Key { .. } | Reported::Certificate { .. } => 0,
        Reported::Clock { .. } | Reported::Exception { .. } => 1,
        Reported::File { .. } => 2,
        Reported::HsmDone { .. } => 3,
    });
    for outcome in outcomes {
        match outcome {
            Reported::Key {
                label,
                public_key_sha256,
                attributes,
                taken_up,
            } => {
                if *taken_up {
                    lines.push(strong(format!(
                        "Key '{label}' taken up: generated before the interruption, found on the token by its CKA_ID, checked as a fresh key."
                    )));
                }
                lines.extend(fingerprint(
                    format!("Public key SHA-256 of '{label}':"),
                    public_key_sha256,
                    width,
                ));
                let read_back: Vec<String> = attributes
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                lines.push(line(format!(
                    "Read back from the token: {}",
                    read_back.join(" ")
                )));
            }
            Reported::Certificate {
                label,
                subject,
                serial,
                sha256,
            } => {
                lines.extend(fingerprint(
                    format!("Certificate SHA-256 of '{label}':"),
                    sha256,
                    width,
                ));
                lines.push(line(format!("Subject {subject}")));
                lines.push(line(format!("Serial  {serial}")));
            }
            Reported::File { path } => files.push(
                path.strip_prefix(&app.info.out_dir)
                    .map(|p| p.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| path.clone()),
            ),
            Reported::HsmDone { what, milliseconds } => lines.push(line(format!(
                "HSM: {what} in {:.1} s",
                milliseconds / 1000.0
            ))),
            Reported::Clock {
                difference_ms,
                limit_ms,
            } => {
                lines.push(strong(format!(
                    "Clock: terminal minus reference {:+.3} s",
                    *difference_ms as f64 / 1000.0
                )));
                if let Some(limit) = limit_ms.filter(|limit| difference_ms.abs() > *limit) {
                    lines.push(line(format!(
                        "Beyond the {} s the policy allows (CPS 5.5.5): the witness decides the exception the tool raises",
                        limit / 1000
                    )));
                }
            }
            Reported::Exception {
                number,
                description,
            } => lines.push(strong(format!(
                "Exception {number} recorded: {description}"
            ))),
        }
    }
    if !files.is_empty() {
        // The export step asks for the certificate's fingerprint to be read
        // aloud: show it again with the files.
        if let Action::Export { certificate } = &step.action
            && let Some(Reported::Certificate { label, sha256, .. }) = app.certificate(certificate)
        {
            lines.extend(fingerprint(
                format!("Certificate SHA-256 of '{label}':"),
                sha256,
                width,
            ));
        }
        lines.push(strong(format!("Written in {}:", app.info.out_dir)));
        lines.push(line(files.join("  ")));
    }
    lines
}

/// The question at the bottom of the step view, under a rule, ending with
/// what Enter does.
fn prompt_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let mut lines = vec![line("-".repeat(usize::from(width)))];
    match &app.active {
        None => lines.extend(working(app)),
        Some(Active::Record(screen)) => lines.extend(screen.prompt()),
        Some(Active::Bag(screen)) => lines.extend(screen.prompt()),
        Some(Active::Clock(screen)) => lines.extend(screen.prompt(app)),
        Some(Active::Decide(screen)) => lines.extend(screen.prompt()),
        Some(Active::EndOfStep(screen)) => lines.extend(screen.prompt()),
        Some(_) => {}
    }
    lines
}

/// While no question is open: the engine, or the HSM, is working.
fn working(app: &App) -> Vec<Line<'static>> {
    let spin = SPINNER[(app.ticks % 4) as usize];
    let Some(working) = &app.working else {
        return vec![line(format!("[{spin}] The tool is working..."))];
    };
    let mut lines = vec![
        strong(format!("[{spin}] The HSM is working: {}", working.what)),
        line(format!(
            "    {} elapsed. Do not switch off or disconnect the HSM.",
            format::elapsed(app.now - working.since)
        )),
    ];
    if let Some(reason) = app.pending_abort() {
        lines.push(line(format!(
            "Abort requested ({reason}): it takes effect when the HSM finishes."
        )));
    }
    lines
}
