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
use crate::frame::beside_step_list;
use crate::screens::Active;
use crate::widgets::{blank, field, fingerprint, line, paragraph, person, strong};

/// The footer while no question is open.
pub const KEYS: &str = "? help  F10 abort";

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

pub fn view(app: &App, frame: &mut Frame, area: Rect) {
    let right = beside_step_list(app, frame, area);
    let Some(entry) = app.current_step() else {
        frame.render_widget(paragraph(vec![line("The ceremony is starting...")]), right);
        return;
    };
    let step = &entry.step;
    let prompt = paragraph(prompt_lines(app, right.width));
    let prompt_rows = u16::try_from(prompt.line_count(right.width))
        .unwrap_or(u16::MAX)
        .min(right.height);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(prompt_rows)]).areas(right);
    // With results on screen the act line gives way: the fingerprints
    // must fit at 80x24; the instructions follow them, as room allows.
    let results = result_lines(app, step, right.width);
    let mut lines = heading(app, step, results.is_empty());
    lines.push(blank());
    if !results.is_empty() {
        lines.extend(results);
        lines.push(blank());
    }
    lines.push(line(format::reflow(&step.instructions)));
    frame.render_widget(paragraph(lines), top);
    frame.render_widget(prompt, bottom);
}

fn heading(app: &App, step: &Step, with_act: bool) -> Vec<Line<'static>> {
    let act = app
        .steps
        .iter()
        .find(|e| e.step.id == step.id)
        .map(|e| format!("Act {}: {}", e.act, e.act_title))
        .unwrap_or_default();
    let name = |id: &str| {
        app.participant(id)
            .map(person)
            .unwrap_or_else(|| id.to_string())
    };
    let mut lines = vec![strong(format!("Step {}  {}", step.id, step.title))];
    if with_act {
        lines.push(line(act));
    }
    lines.push(field("Performer", name(&step.performer)));
    lines.push(field("Witness", name(&step.witness)));
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
            } => {
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
