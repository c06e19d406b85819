//! `view`: the state drawn as widgets, nothing else. Every screen reads
//! without colour: the current item is bold and reversed, lists mark items
//! [x] done, [>] current, [ ] to come, and the key that acts is named in
//! words. Share text is drawn on the share screen only; secrets typed at
//! the keyboard are drawn as a count of asterisks.

use keyceremony_engine::operator::ResumeChoice;
use keyceremony_script::{Action, Participant, Secret, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use secrecy::ExposeSecret;

use crate::app::{
    AbortForm, Active, App, EndAsks, ExceptionForm, ExceptionStage, Overlay, Phase, Reported,
    ShareStage, StepForm,
};
use crate::explain::Finished;
use crate::format;
use crate::input::{SHARE_LINES, TextInput};

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
/// Width of the step list beside the step view.
const LIST_WIDTH: u16 = 24;

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn loud() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
}

fn line(text: impl Into<String>) -> Line<'static> {
    Line::raw(text.into())
}

fn strong(text: impl Into<String>) -> Line<'static> {
    Line::styled(text.into(), bold())
}

/// "label  value" with the label in bold.
fn field(label: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<10} "), bold()),
        Span::raw(value.into()),
    ])
}

/// A field whose value wraps under itself, not under the label.
fn fields(label: &str, value: &str, width: u16) -> Vec<Line<'static>> {
    let room = usize::from(width).saturating_sub(11);
    format::wrap(value, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| field(if i == 0 { label } else { "" }, part))
        .collect()
}

/// Lines of `text` wrapped to `width`, each indented by two spaces.
fn indented(text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    format::wrap(text, usize::from(width).saturating_sub(2))
        .into_iter()
        .map(|part| Line::styled(format!("  {part}"), style))
        .collect()
}

/// What pressing Enter (or another key) will do, always the last line of a
/// question so the room knows before anyone presses it.
fn action(key: &str, what: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {key} "), loud()),
        Span::styled(format!(" {}", what.into()), bold()),
    ])
}

fn blank() -> Line<'static> {
    Line::raw("")
}

fn input_line(input: &TextInput) -> Line<'static> {
    Line::from(vec![
        Span::styled("> ", bold()),
        Span::raw(input.text().to_string()),
        Span::styled("_", Style::new().add_modifier(Modifier::SLOW_BLINK)),
    ])
}

/// Asterisks and a count: all that is ever drawn of a secret entry.
fn masked(len: usize) -> String {
    if len == 0 {
        String::new()
    } else {
        format!("{} ({len})", "*".repeat(len.min(40)))
    }
}

fn secret_name(secret: Secret) -> &'static str {
    match secret {
        Secret::SoPin => "SO PIN",
        Secret::UserPin => "user PIN",
    }
}

fn person(p: &Participant) -> String {
    let roles: Vec<&str> = p.roles.iter().map(|r| r.title()).collect();
    if roles.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, roles.join(", "))
    }
}

fn paragraph(lines: Vec<Line<'static>>) -> Paragraph<'static> {
    Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false })
}

/// Draws the whole screen for `app`.
pub fn view(app: &App, frame: &mut Frame) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    header_bar(app, frame, header);
    match &app.phase {
        Phase::Start if matches!(app.active, Some(Active::Network { .. })) => {
            network_screen(app, frame, body)
        }
        Phase::Start if matches!(app.active, Some(Active::Resume { .. })) => {
            resume_screen(app, frame, body)
        }
        Phase::Start => start_screen(app, frame, body),
        Phase::Finished(finished) => finished_screen(app, finished, frame, body),
        Phase::Running => match &app.active {
            Some(Active::ShowShare { .. }) => share_show_screen(app, frame, body),
            Some(Active::CheckIn { .. }) => check_in_screen(app, frame, body),
            Some(Active::Choose { .. }) => choose_screen(app, frame, body),
            Some(Active::Share { .. }) => share_entry_screen(app, frame, body),
            Some(Active::Seal { .. }) => seal_screen(app, frame, body),
            Some(Active::WitnessPin { .. }) => pin_screen(app, frame, body),
            _ => step_screen(app, frame, body),
        },
    }
    footer_bar(app, frame, footer);
    match &app.overlay {
        Some(Overlay::Help) => help_overlay(frame, body),
        Some(Overlay::Abort(form)) => abort_overlay(form, frame, body),
        Some(Overlay::Quit) => quit_overlay(frame, body),
        None => {}
    }
}

fn header_bar(app: &App, frame: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    if app.info.rehearsal {
        spans.push(Span::styled(
            " REHEARSAL ",
            bold().add_modifier(Modifier::UNDERLINED),
        ));
        spans.push(Span::raw(" "));
    }
    let step = match (&app.phase, app.current_step()) {
        (Phase::Running, Some(entry)) => format!("step {}  ", entry.step.id),
        _ => String::new(),
    };
    let right = format!("{step}{} ", format::clock(app.now));
    let used: usize = spans.iter().map(|s| s.width()).sum::<usize>() + right.len() + 1;
    let room = usize::from(area.width).saturating_sub(used);
    let name: String = app.info.ceremony_name.chars().take(room).collect();
    let pad = room.saturating_sub(name.chars().count());
    spans.push(Span::raw(format!(" {name}{}", " ".repeat(pad))));
    spans.push(Span::raw(right));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

/// The keys that act now, in the bottom line.
fn footer_bar(app: &App, frame: &mut Frame, area: Rect) {
    let typing = "Enter submit  Backspace erase  Ctrl-U clear  F1 help  F10 abort";
    let keys: &str = match (&app.overlay, &app.phase, &app.active) {
        (Some(Overlay::Help), _, _) => "Esc close help",
        (Some(Overlay::Quit), _, _) => "Y leave  N stay",
        (Some(Overlay::Abort(form)), _, _) if form.confirming => "Y abort now  N go back",
        (Some(Overlay::Abort(_)), _, _) => "Enter continue  Esc go back",
        (None, Phase::Finished(_), _) => "Enter exit  ? help",
        (None, _, Some(active)) => match active {
            Active::ShowShare { stage, .. } => match stage {
                ShareStage::LookAway(_) => "Enter show the share  ? help  F10 abort",
                ShareStage::Showing(_) => "Y copied  ? help  F10 abort",
                ShareStage::LookBack => "Enter continue  ? help  F10 abort",
            },
            Active::Choose { .. } => "Up/Down move  Space select  Enter done  ? help  F10 abort",
            Active::Share { .. } => {
                "Enter end line  Backspace erase  Ctrl-U restart  F1 help  F10 abort"
            }
            Active::Seal { .. } => "Y copied  ? help  F10 abort",
            Active::Resume { abort: None, .. } => "R resume  A abort  ? help  F10 leave",
            Active::Resume {
                abort: Some(form), ..
            } if form.confirming => "Y abort  N go back",
            Active::EndOfStep { form, asks, .. } => match form {
                StepForm::Idle if *asks == EndAsks::Exceptions => {
                    "Enter confirm  E exception  R refuse  ? help  F10 abort"
                }
                StepForm::Idle => "Enter confirm  R refuse  ? help  F10 abort",
                StepForm::Confirm => "Y confirm  N go back",
                StepForm::Refuse {
                    confirming: true, ..
                } => "Y refuse  N go back",
                StepForm::Exception(ExceptionForm {
                    stage: ExceptionStage::Accept,
                    ..
                }) => "Y accepted  N not accepted  Esc cancel",
                _ => "Enter submit  Backspace erase  Esc cancel  F1 help",
            },
            _ => typing,
        },
        (None, Phase::Start, None) if app.info.checked.is_some() => "Enter begin  ? help  F10 quit",
        (None, Phase::Start, None) => "? help  F10 quit",
        (None, Phase::Running, None) => "? help  F10 abort",
    };
    frame.render_widget(
        Paragraph::new(format!(" {keys}")).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

fn start_screen(app: &App, frame: &mut Frame, area: Rect) {
    let info = &app.info;
    let mut lines = Vec::new();
    if info.rehearsal {
        lines.push(Line::styled(
            format!(
                "{:^width$}",
                "*** REHEARSAL: NOT A PRODUCTION CEREMONY ***",
                width = usize::from(area.width)
            ),
            loud(),
        ));
    } else {
        lines.push(Line::styled(
            format!(
                "{:^width$}",
                "PRODUCTION CEREMONY",
                width = usize::from(area.width)
            ),
            loud(),
        ));
    }
    lines.push(field("Ceremony", info.ceremony_name.clone()));
    lines.push(field("", format!("id {}", info.ceremony_id)));
    lines.extend(fields("Script", &info.script_path, area.width));
    for (i, group) in format::hex_groups(&info.script_sha256, 8)
        .into_iter()
        .enumerate()
    {
        lines.push(field(if i == 0 { "  SHA-256" } else { "" }, group));
    }
    lines.push(field("Tool", format!("keyceremony {}", info.tool_version)));
    match &info.checked {
        None => {
            lines.push(field(
                "",
                "checking the output folder, the module and the token...",
            ));
        }
        Some(checked) => {
            let binary = format::hex_groups(&checked.binary_sha256, 8);
            if checked.binary_sha256.starts_with("unavailable") {
                lines.push(field("  SHA-256", checked.binary_sha256.clone()));
            } else {
                for (i, group) in binary.into_iter().enumerate() {
                    lines.push(field(if i == 0 { "  SHA-256" } else { "" }, group));
                }
            }
            lines.extend(fields("Module", &checked.module, area.width));
            for (i, (what, value)) in checked.token.iter().enumerate() {
                lines.extend(fields(
                    if i == 0 { "Token" } else { "" },
                    &format!("{what}: {value}"),
                    area.width,
                ));
            }
        }
    }
    lines.extend(fields("Output", &info.out_dir, area.width));
    if !app.network.is_empty() {
        lines.push(Line::styled(
            format!(
                "! Network interfaces up: {} (CPS 6.7: a CA system is not connected)",
                app.network.join(", ")
            ),
            loud(),
        ));
    }
    lines.push(blank());
    lines.push(line(
        "The witness compares the script's and the tool's SHA-256 with the paper script.",
    ));
    if info.checked.is_some() {
        lines.push(action(
            "Enter",
            match &app.resume {
                None => "begin the ceremony: create the output folder and the log",
                Some(ResumeChoice::Resume) => {
                    "resume the interrupted ceremony where its log stopped"
                }
                Some(ResumeChoice::Abort { .. }) => {
                    "record the abort of the interrupted ceremony in its log"
                }
            },
        ));
    }
    frame.render_widget(paragraph(lines), area);
}

/// The step list: done, current, to come.
fn step_list(app: &App, frame: &mut Frame, area: Rect) {
    let height = usize::from(area.height);
    let current = app.current.unwrap_or(0);
    let offset = if app.steps.len() > height {
        current
            .saturating_sub(height / 2)
            .min(app.steps.len() - height)
    } else {
        0
    };
    let failed = matches!(app.phase, Phase::Finished(Finished::Stopped(_)));
    let width = usize::from(area.width);
    let lines: Vec<Line> = app
        .steps
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, entry)| {
            let (mark, style) = match (app.current, i) {
                (Some(c), i) if i < c => ("[x]", Style::new()),
                (Some(c), i) if i == c && failed => ("[!]", loud()),
                (Some(c), i) if i == c => ("[>]", loud()),
                _ => ("[ ]", Style::new()),
            };
            let text = format!("{mark} {} {}", entry.step.id, entry.step.title);
            let text: String = text.chars().take(width).collect();
            Line::styled(format!("{text:<width$}"), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// The step list, the rule beside it, and the right pane (one column in
/// from the rule).
fn split(area: Rect) -> (Rect, Rect, Rect) {
    let [list, rule, _, right] = Layout::horizontal([
        Constraint::Length(LIST_WIDTH),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    (list, rule, right)
}

fn step_heading(app: &App, step: &Step, with_act: bool) -> Vec<Line<'static>> {
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

fn step_screen(app: &App, frame: &mut Frame, area: Rect) {
    let (list, rule, right) = split(area);
    step_list(app, frame, list);
    frame.render_widget(Block::new().borders(Borders::LEFT), rule);
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
    let mut lines = step_heading(app, step, results.is_empty());
    lines.push(blank());
    if !results.is_empty() {
        lines.extend(results);
        lines.push(blank());
    }
    lines.push(line(format::reflow(&step.instructions)));
    frame.render_widget(paragraph(lines), top);
    frame.render_widget(prompt, bottom);
}

/// The step's results: fingerprints grouped and in PGP words, key
/// attributes, files written, the clock check, exceptions.
fn result_lines(app: &App, step: &Step, width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let fingerprint = |lines: &mut Vec<Line<'static>>, title: String, hex: &str| {
        lines.push(strong(title));
        for group in format::hex_groups(hex, 8) {
            lines.push(Line::styled(format!("  {group}"), bold()));
        }
        lines.extend(indented(
            &format::pgp_words(hex).join(" "),
            width,
            Style::new(),
        ));
    };
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
                fingerprint(
                    &mut lines,
                    format!("Public key SHA-256 of '{label}':"),
                    public_key_sha256,
                );
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
                fingerprint(
                    &mut lines,
                    format!("Certificate SHA-256 of '{label}':"),
                    sha256,
                );
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
            Reported::Clock { difference_ms } => {
                lines.push(strong(format!(
                    "Clock: terminal minus reference {:+.3} s",
                    *difference_ms as f64 / 1000.0
                )));
                if difference_ms.abs() > 60_000 {
                    lines.push(line(
                        "More than 60 s: record an exception (E) before confirming (CPS 5.5.5)",
                    ));
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
            fingerprint(
                &mut lines,
                format!("Certificate SHA-256 of '{label}':"),
                sha256,
            );
        }
        lines.push(strong(format!("Written in {}:", app.info.out_dir)));
        lines.push(line(files.join("  ")));
    }
    lines
}

/// The question at the bottom of the step view, ending with what Enter does.
fn prompt_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let rule = || line("-".repeat(usize::from(width)));
    let mut lines = vec![rule()];
    let name = |p: &Participant| p.name.clone();
    match &app.active {
        None => match &app.working {
            Some(working) => {
                let spin = SPINNER[(app.ticks % 4) as usize];
                lines.push(strong(format!(
                    "[{spin}] The HSM is working: {}",
                    working.what
                )));
                lines.push(line(format!(
                    "    {} elapsed. Do not switch off or disconnect the HSM.",
                    format::elapsed(app.now - working.since)
                )));
                if let Some(reason) = app.pending_abort() {
                    lines.push(line(format!(
                        "Abort requested ({reason}): it takes effect when the HSM finishes."
                    )));
                }
            }
            None => {
                let spin = SPINNER[(app.ticks % 4) as usize];
                lines.push(line(format!("[{spin}] The tool is working...")));
            }
        },
        Some(Active::Record { field, input, .. }) => {
            lines.push(strong(format!("{}:", field.label)));
            lines.push(input_line(input));
            lines.push(action("Enter", "record this value in the log"));
        }
        Some(Active::Bag {
            custodian,
            secret,
            number,
            input,
            ..
        }) => {
            lines.push(strong(format!(
                "{} seals share {number} of the {} in a tamper-evident bag and reads its serial aloud. Bag serial:",
                name(custodian),
                secret_name(*secret)
            )));
            lines.push(input_line(input));
            lines.push(action("Enter", "record the bag serial"));
        }
        Some(Active::Clock {
            witness,
            system_time,
            input,
            error,
            ..
        }) => {
            lines.push(strong(format!(
                "Terminal time: {}",
                system_time.format("%Y-%m-%d %H:%M:%S UTC")
            )));
            lines.push(line(format!(
                "{}: type the reference clock's reading at that moment (HH:MM:SS UTC, or RFC 3339):",
                name(witness)
            )));
            lines.push(input_line(input));
            if let Some(error) = error {
                lines.push(strong(format!("! {error}")));
            }
            lines.push(action("Enter", "record the reference time"));
        }
        Some(Active::EndOfStep {
            step,
            witness,
            exceptions,
            form,
            ..
        }) => {
            for (i, e) in exceptions.iter().enumerate() {
                lines.push(line(format!(
                    "Exception {} (to record): {} [{}]{}",
                    i + 1,
                    e.description,
                    if e.accepted {
                        "accepted"
                    } else {
                        "NOT accepted"
                    },
                    if e.remark.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", e.remark)
                    }
                )));
            }
            match form {
                StepForm::Idle => {
                    lines.push(strong(format!(
                        "End of step {}: witness {}.",
                        step.id,
                        name(witness)
                    )));
                    lines.push(action(
                        "Enter",
                        format!("{} confirms step {}", name(witness), step.id),
                    ));
                }
                StepForm::Confirm => {
                    lines.push(Line::styled(
                        format!(
                            "{}: confirm that step {} was performed as scripted?",
                            name(witness),
                            step.id
                        ),
                        loud(),
                    ));
                    lines.push(action("Y", "confirm    N: go back"));
                }
                StepForm::Refuse { remark, confirming } => {
                    lines.push(strong(format!(
                        "{} refuses step {}. Remark (why):",
                        name(witness),
                        step.id
                    )));
                    lines.push(input_line(remark));
                    if *confirming {
                        lines.push(Line::styled(
                            "Refusing stops the ceremony; the log records the remark.",
                            loud(),
                        ));
                        lines.push(action("Y", "refuse the step    N: go back"));
                    } else {
                        lines.push(action("Enter", "continue    Esc: cancel"));
                    }
                }
                StepForm::Exception(form) => {
                    lines.push(strong(format!(
                        "Exception in step {} (exception sheet):",
                        step.id
                    )));
                    lines.push(line("What deviated from the script:"));
                    if form.stage == ExceptionStage::Describe {
                        lines.push(input_line(&form.description));
                        lines.push(action("Enter", "continue    Esc: cancel"));
                    } else {
                        lines.push(line(format!("  {}", form.description.value())));
                        if form.stage == ExceptionStage::Accept {
                            lines.push(strong(format!(
                                "Does {} accept it? A refused exception stops the ceremony.",
                                name(witness)
                            )));
                            lines.push(action("Y", "accepted    N: not accepted"));
                        } else {
                            lines.push(line(format!(
                                "{}: {}. Remark{}:",
                                name(witness),
                                if form.accepted {
                                    "accepted"
                                } else {
                                    "NOT accepted"
                                },
                                if form.accepted {
                                    " (optional)"
                                } else {
                                    " (why)"
                                }
                            )));
                            lines.push(input_line(&form.remark));
                            lines.push(action("Enter", "add the exception    Esc: cancel"));
                        }
                    }
                }
            }
        }
        Some(_) => {}
    }
    lines
}

fn check_in_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::CheckIn {
        step,
        participant,
        witness,
        input,
    }) = &app.active
    else {
        return;
    };
    let mut lines = vec![
        strong(format!("Step {}  {}", step.id, step.title)),
        line(format!(
            "Witness {} checks each participant's identity document.",
            person(witness)
        )),
        blank(),
    ];
    let position = app
        .participants
        .iter()
        .position(|p| p.id == participant.id)
        .unwrap_or(0);
    for (i, p) in app.participants.iter().enumerate() {
        let roles: Vec<&str> = p.roles.iter().map(|r| r.title()).collect();
        let document = app
            .checked_in
            .iter()
            .rev()
            .find(|(id, _)| id == &p.id)
            .map(|(_, d)| d.as_str())
            .unwrap_or("");
        let (mark, style) = if i < position {
            ("[x]", Style::new())
        } else if i == position {
            ("[>]", loud())
        } else {
            ("[ ]", Style::new())
        };
        let text = format!("{mark} {:<16} {:<29} {document}", p.name, roles.join(", "));
        let text: String = text.chars().take(usize::from(area.width)).collect();
        lines.push(Line::styled(text, style));
    }
    lines.push(blank());
    lines.push(strong(format!(
        "Now: {} ({} of {})",
        person(participant),
        position + 1,
        app.participants.len()
    )));
    lines.push(line(format!(
        "{} compares {}'s photo identity document with the roster. Kind of document checked (never its number):",
        witness.name, participant.name
    )));
    lines.push(input_line(input));
    lines.push(action(
        "Enter",
        format!("{} confirms {}'s identity", witness.name, participant.name),
    ));
    frame.render_widget(paragraph(lines), area);
}

fn choose_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::Choose {
        step,
        secret,
        eligible,
        threshold,
        cursor,
        selected,
        note,
    }) = &app.active
    else {
        return;
    };
    let chosen: Vec<&str> = eligible
        .iter()
        .zip(selected)
        .filter(|(_, on)| **on)
        .map(|(p, _)| p.name.as_str())
        .collect();
    let mut lines = vec![
        strong(format!("Step {}  {}", step.id, step.title)),
        line(format!(
            "Which custodians come forward with their {} share? Exactly {threshold} of these {} are needed; each types their own share, alone.",
            secret_name(*secret),
            eligible.len()
        )),
        blank(),
    ];
    for (i, (p, on)) in eligible.iter().zip(selected).enumerate() {
        let pointer = if i == *cursor { ">" } else { " " };
        let mark = if *on { "[x]" } else { "[ ]" };
        let style = if i == *cursor { loud() } else { Style::new() };
        lines.push(Line::styled(
            format!("{pointer} {mark} {}", person(p)),
            style,
        ));
    }
    lines.push(blank());
    lines.push(line(format!("Chosen: {} of {threshold}", chosen.len())));
    if let Some(warning) = &app.warning {
        lines.push(strong(format!("! {warning}")));
    }
    if let Some(note) = note {
        lines.push(strong(format!("! {note}")));
    }
    if chosen.len() == *threshold {
        lines.push(action(
            "Enter",
            format!("{} come forward", chosen.join(" and ")),
        ));
    } else {
        lines.push(action(
            "Space",
            format!("select {} more, then Enter", threshold - chosen.len()),
        ));
    }
    frame.render_widget(paragraph(lines), area);
}

fn share_entry_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::Share {
        step,
        custodian,
        secret,
        entry,
    }) = &app.active
    else {
        return;
    };
    let position = app.chosen.iter().position(|id| id == &custodian.id);
    let total = app.chosen.len();
    let mut lines = vec![
        strong(format!(
            "Step {}  {}: {} share entry",
            step.id,
            step.title,
            secret_name(*secret)
        )),
        blank(),
        Line::styled(
            format!(
                "At the keyboard: {} (custodian {} of {total})",
                custodian.name,
                position.map_or(1, |p| p + 1)
            ),
            loud(),
        ),
        line(format!(
            "Shares entered so far: {} of {total}",
            position.unwrap_or(0)
        )),
        line(format!(
            "Everyone except {}: look away from the keyboard. Nothing typed is shown.",
            custodian.name
        )),
        line(format!(
            "{}: type your share from your paper copy, one line at a time.",
            custodian.name
        )),
        blank(),
    ];
    for (i, label) in SHARE_LINES.iter().enumerate() {
        let (mark, style) = match i.cmp(&entry.line()) {
            std::cmp::Ordering::Less => ("[x]", Style::new()),
            std::cmp::Ordering::Equal => ("[>]", bold()),
            std::cmp::Ordering::Greater => ("[ ]", Style::new()),
        };
        let typed = entry.line_len(i).map(masked).unwrap_or_default();
        lines.push(Line::styled(format!("{mark} {label:<15} {typed}"), style));
    }
    lines.push(blank());
    if let Some(warning) = &app.warning {
        lines.push(strong(format!("! {warning}")));
    }
    let what = if entry.line() + 1 == SHARE_LINES.len() {
        "submit the share: the tool checks it".to_string()
    } else {
        format!(
            "end line {} of {} ({})",
            entry.line() + 1,
            SHARE_LINES.len(),
            SHARE_LINES[entry.line()]
        )
    };
    lines.push(action("Enter", what));
    frame.render_widget(paragraph(lines), area);
}

/// The share screen: drawn alone on a cleared terminal.
fn share_show_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::ShowShare {
        step,
        custodian,
        kind,
        number,
        count,
        stage,
    }) = &app.active
    else {
        return;
    };
    let who = &custodian.name;
    let banner = Line::styled(
        format!(
            "{:^width$}",
            format!("SHARE FOR {} ONLY", who.to_uppercase()),
            width = usize::from(area.width)
        ),
        loud(),
    );
    let lines = match stage {
        ShareStage::LookAway(_) => vec![
            blank(),
            banner,
            blank(),
            strong(format!(
                "Everyone except {who}: look away from the screen now."
            )),
            blank(),
            line(format!(
                "{who} receives share {number} of {count} of the {} (step {}). It is shown once: copy it onto the paper share form.",
                kind, step.id
            )),
            blank(),
            action("Enter", format!("show the share (only {who} is looking)")),
        ],
        ShareStage::Showing(share) => {
            let mut lines = vec![
                banner,
                strong(format!("{who}: share {number} of {count} of the {}", kind)),
                blank(),
            ];
            // Borrowed from the secret: no copy of the share outlives this
            // frame except the terminal's own cells.
            for text in share.expose_secret().lines() {
                lines.push(Line::styled(text, bold()));
            }
            lines.push(blank());
            lines.push(line(
                "Read your copy back against the screen before you confirm.",
            ));
            lines.push(action(
                "Y",
                "I have copied it: wipe it now (it cannot be shown again)",
            ));
            lines
        }
        ShareStage::LookBack => vec![
            blank(),
            strong("The share is wiped from the screen and from the tool's memory."),
            blank(),
            line(format!(
                "{who}: fold the share form and seal it in a tamper-evident bag."
            )),
            strong("Everyone may look at the screen again."),
            blank(),
            action("Enter", "continue: record the bag's serial"),
        ],
    };
    frame.render_widget(
        Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }),
        area,
    );
}

fn seal_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::Seal {
        witness,
        head,
        words,
    }) = &app.active
    else {
        return;
    };
    let mut lines = vec![strong("The ceremony log is sealed"), blank()];
    if let Some(sealed) = &app.sealed {
        lines.push(line(format!(
            "Outcome: {}, {} entries",
            sealed.outcome, sealed.entries
        )));
    }
    lines.push(line(format!(
        "{}: copy the log's head hash onto the paper script, then read it back aloud.",
        person(witness)
    )));
    lines.push(blank());
    lines.push(strong("Head (SHA-256):"));
    for group in format::hex_groups(head, 8) {
        lines.push(Line::styled(format!("  {group}"), bold()));
    }
    lines.push(blank());
    lines.push(strong("The same in PGP words:"));
    lines.extend(indented(words, area.width, Style::new()));
    lines.push(blank());
    lines.push(action("Y", "the head is copied and read back"));
    frame.render_widget(paragraph(lines), area);
}

fn resume_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::Resume { interrupted, abort }) = &app.active else {
        return;
    };
    let mut lines = vec![
        Line::styled(
            format!(
                "{:^width$}",
                "AN INTERRUPTED CEREMONY IS IN THE OUTPUT FOLDER",
                width = usize::from(area.width)
            ),
            loud(),
        ),
        blank(),
        field(
            "Log",
            format!(
                "{} entries, not sealed; last: {}",
                interrupted.entries, interrupted.last
            ),
        ),
        field(
            "Done",
            if interrupted.completed.is_empty() {
                "no step ended".to_string()
            } else {
                format!("steps {}", interrupted.completed.join(" "))
            },
        ),
        field(
            "Next",
            interrupted
                .next_step
                .as_ref()
                .map_or("none: only the seal is missing".to_string(), |s| {
                    format!("step {s}")
                }),
        ),
        blank(),
    ];
    let refusal = interrupted.refusal();
    if let Some(why) = &refusal {
        lines.push(Line::styled(
            format!("It can only be aborted: {why}."),
            loud(),
        ));
        lines.push(blank());
    }
    match abort {
        None => {
            if refusal.is_none() {
                lines.push(action("R", "resume it from the next step"));
            }
            lines.push(action("A", "abort it (the log records the reason)"));
        }
        Some(form) => {
            lines.push(strong("Reason for the abort:"));
            lines.push(input_line(&form.reason));
            if form.confirming {
                lines.push(action("Y", "abort the interrupted ceremony    N: go back"));
            } else {
                lines.push(action("Enter", "continue    Esc: go back"));
            }
        }
    }
    frame.render_widget(paragraph(lines), area);
}

fn network_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::Network {
        witness,
        interfaces,
        input,
    }) = &app.active
    else {
        return;
    };
    let lines = vec![
        Line::styled(
            format!(
                "{:^width$}",
                "NETWORK INTERFACES ARE UP",
                width = usize::from(area.width)
            ),
            loud(),
        ),
        blank(),
        field("Up", interfaces.join(", ")),
        blank(),
        line(
            "A CA system is not connected to a network (CPS 6.7). Best: leave (F10), take the interfaces down, and start again.",
        ),
        blank(),
        line(format!(
            "Otherwise {} records why they are up; the log keeps it:",
            person(witness)
        )),
        input_line(input),
        blank(),
        action("Enter", "record the explanation and go on"),
    ];
    frame.render_widget(paragraph(lines), area);
}

fn pin_screen(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Active::WitnessPin {
        witness,
        token_label,
        input,
    }) = &app.active
    else {
        return;
    };
    let mut lines = vec![
        strong("The witness signs the log's seal"),
        blank(),
        line(format!(
            "{}: type the PIN of your token '{token_label}'. Nothing typed is shown; everyone else looks away from the keyboard.",
            person(witness)
        )),
        blank(),
    ];
    if app.info.rehearsal {
        lines.push(line(
            "REHEARSAL: the lab's stand-in for this token keeps its PIN in witness.pin, in the lab folder (keyceremony rehearse: OUT/lab/).",
        ));
        lines.push(blank());
    }
    lines.extend([
        field("PIN", masked(input.len())),
        blank(),
        action("Enter", "sign the seal with the witness's token"),
    ]);
    frame.render_widget(paragraph(lines), area);
}

fn finished_screen(app: &App, finished: &Finished, frame: &mut Frame, area: Rect) {
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    match finished {
        Finished::Completed {
            out_dir,
            log_entries,
            log_head,
            certificates,
        } => {
            let title = if app.info.rehearsal {
                "CEREMONY COMPLETE (REHEARSAL)"
            } else {
                "CEREMONY COMPLETE"
            };
            lines.push(Line::styled(format!("{title:^width$}"), loud()));
            lines.push(line(
                "Every step was performed and witnessed; the log records each one.",
            ));
            lines.push(blank());
            lines.push(field(
                "Log",
                format!("{out_dir}/ceremony.log, {log_entries} entries"),
            ));
            for (i, group) in format::hex_groups(log_head, 8).into_iter().enumerate() {
                lines.push(field(if i == 0 { "Log head" } else { "" }, group));
            }
            for (label, sha256) in certificates {
                lines.push(blank());
                lines.push(strong(format!("Certificate '{label}' SHA-256:")));
                for group in format::hex_groups(sha256, 8) {
                    lines.push(Line::styled(format!("  {group}"), bold()));
                }
                lines.extend(indented(
                    &format::pgp_words(sha256).join(" "),
                    area.width,
                    Style::new(),
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
            lines.push(Line::styled(format!("{title:^width$}"), loud()));
            if let (true, Some(entry)) = (app.started, app.current_step()) {
                lines.push(field(
                    "Stopped at",
                    format!("step {}  {}", entry.step.id, entry.step.title),
                ));
            }
            lines.push(blank());
            lines.push(strong("What happened"));
            lines.push(line(explained.happened.clone()));
            lines.push(strong("What it means"));
            lines.push(line(explained.means.clone()));
            lines.push(strong("What to do"));
            lines.push(line(explained.todo.clone()));
            lines.push(blank());
            lines.push(line(if app.started {
                format!(
                    "The log {}/ceremony.log records this as its last entry.",
                    app.info.out_dir
                )
            } else {
                "The ceremony did not start: nothing was written and the HSM is unchanged."
                    .to_string()
            }));
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

/// A box centred in `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn boxed(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>) {
    frame.render_widget(Clear, area);
    frame.render_widget(
        paragraph(lines).block(
            Block::new()
                .borders(Borders::ALL)
                .title(Span::styled(format!(" {title} "), bold())),
        ),
        area,
    );
}

fn help_overlay(frame: &mut Frame, area: Rect) {
    let keys = [
        ("Enter", "do what the bottom line of the question says"),
        (
            "Y / N",
            "answer a yes-or-no question (confirm, copied, accept)",
        ),
        ("E", "end of a step: record an exception before confirming"),
        (
            "R",
            "end of a step: the witness refuses the step (with a remark)",
        ),
        ("Space", "choosing custodians: select or unselect"),
        ("Up/Down", "choosing custodians: move"),
        ("Backspace", "erase the last character typed"),
        ("Ctrl-U", "clear the field (a share: start it again)"),
        ("Esc", "cancel a form, close this help"),
        (
            "F10 Ctrl-A",
            "abort the ceremony (asks for a reason, then Y)",
        ),
        ("? or F1", "this help (F1 while typing in a field)"),
    ];
    let mut lines: Vec<Line<'static>> = keys
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<12}"), bold()),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    lines.push(blank());
    lines.push(line(
        " Lists mark [x] done, [>] current, [ ] to come. Typed shares and PINs",
    ));
    lines.push(line(
        " show as * only. A share is shown once, to its custodian alone.",
    ));
    lines.push(line(" The operator guide is docs/operator-guide.md."));
    let height = lines.len() as u16 + 2;
    boxed(frame, centered(area, 78, height), "Help: keys", lines);
}

fn abort_overlay(form: &AbortForm, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        line("The ceremony stops and the log records the abort and its reason."),
        strong("Reason:"),
        input_line(&form.reason),
        blank(),
    ];
    if form.confirming {
        lines.push(Line::styled("Abort the ceremony now?", loud()));
        lines.push(action("Y", "abort now    N: go back"));
    } else {
        lines.push(action("Enter", "continue    Esc: go back to the ceremony"));
    }
    let height = lines.len() as u16 + 2;
    boxed(
        frame,
        centered(area, 72, height),
        "Abort the ceremony",
        lines,
    );
}

fn quit_overlay(frame: &mut Frame, area: Rect) {
    let lines = vec![
        line("Leave without starting? Nothing has been written and the HSM"),
        line("is unchanged."),
        blank(),
        action("Y", "leave    N: stay"),
    ];
    boxed(frame, centered(area, 66, 6), "Leave", lines);
}
