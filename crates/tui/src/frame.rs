//! The frame around every screen: the header bar (rehearsal mark,
//! ceremony, step, clock), the footer bar (the keys that act now), the step
//! list beside the step view, and the dialogs drawn over any screen (help,
//! abort, leave) with what their keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyceremony_engine::InputError;
use keyceremony_text::terminal_safe;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::{App, Phase};
use crate::channel::Reply;
use crate::explain::Finished;
use crate::format;
use crate::input::TextInput;
use crate::screens::presence::{self, PresenceForm};
use crate::screens::{finished, start, step};
use crate::widgets::{action, blank, bold, boxed, centered, input_line, line, loud, strong};

/// Width of the step list beside the step view.
const LIST_WIDTH: u16 = 24;

/// The abort dialog: a reason, then a confirmation.
#[derive(Default)]
pub struct AbortForm {
    pub reason: TextInput,
    pub confirming: bool,
}

pub enum Overlay {
    Help,
    Abort(AbortForm),
    /// On the start screen: leave without starting.
    Quit,
    /// F6: who leaves and who comes back.
    Presence(PresenceForm),
}

/// F1 opens the help anywhere; `?` only where it is not being typed.
pub fn is_help_key(key: &KeyEvent, typing: bool) -> bool {
    key.code == KeyCode::F(1) || (key.code == KeyCode::Char('?') && !typing)
}

pub fn is_abort_key(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    key.code == KeyCode::F(10)
        || (ctrl && matches!(key.code, KeyCode::Char('a') | KeyCode::Char('c')))
}

/// What the abort key opens: before the ceremony has started there is
/// nothing to abort, only the room to leave.
pub fn abort_dialog(started: bool) -> Overlay {
    if started {
        Overlay::Abort(AbortForm::default())
    } else {
        Overlay::Quit
    }
}

/// A key while a dialog is open: the dialog takes it. Returns the answer
/// to the open question when an abort is confirmed while one is open.
pub fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent) -> Option<Reply> {
    match overlay {
        Overlay::Help => {
            // Any of the help keys, Esc or Enter closes it.
            if !matches!(
                key.code,
                KeyCode::Esc | KeyCode::Enter | KeyCode::F(1) | KeyCode::Char('?' | 'q')
            ) {
                app.overlay = Some(Overlay::Help);
            }
            None
        }
        Overlay::Quit => {
            match key.code {
                KeyCode::Char('y' | 'Y') => app.exit = true,
                KeyCode::Char('n' | 'N') | KeyCode::Esc => {}
                _ => app.overlay = Some(Overlay::Quit),
            }
            None
        }
        Overlay::Presence(mut form) => {
            match form.key(app, key) {
                presence::Outcome::Open => app.overlay = Some(Overlay::Presence(form)),
                presence::Outcome::Done(changes) => app.presence_pending.extend(changes),
                presence::Outcome::Closed => {}
            }
            None
        }
        Overlay::Abort(mut form) => {
            if form.confirming {
                match key.code {
                    KeyCode::Char('y' | 'Y') => {
                        let reason = form.reason.value().to_string();
                        if app.active.is_some() {
                            return app.answer(Err(InputError::Aborted { reason }));
                        }
                        // The engine is busy (the HSM is working): the abort
                        // answers its next question.
                        app.abort = Some(reason);
                        return None;
                    }
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => form.confirming = false,
                    _ => {}
                }
            } else {
                if key.code == KeyCode::Esc {
                    return None;
                }
                form.confirming = form.reason.key(key).is_some();
            }
            app.overlay = Some(Overlay::Abort(form));
            None
        }
    }
}

pub fn header_bar(app: &App, frame: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    if app.info.rehearsal {
        spans.push(Span::styled(
            " REHEARSAL ",
            bold().add_modifier(Modifier::UNDERLINED),
        ));
        spans.push(Span::raw(" "));
    }
    // Made safe before they are cut to fit: the escaped form is what shows.
    let step = match (&app.phase, app.current_step()) {
        (Phase::Running, Some(entry)) => format!("step {}  ", terminal_safe(&entry.step.id)),
        _ => String::new(),
    };
    let right = format!("{step}{} ", format::clock(app.now));
    let used: usize = spans.iter().map(|s| s.width()).sum::<usize>() + right.len() + 1;
    let room = usize::from(area.width).saturating_sub(used);
    let name: String = terminal_safe(&app.info.ceremony_name)
        .chars()
        .take(room)
        .collect();
    let pad = room.saturating_sub(name.chars().count());
    spans.push(Span::raw(format!(" {name}{}", " ".repeat(pad))));
    spans.push(Span::raw(right));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

/// The keys that act now, in the bottom line: a dialog's, or the screen's.
pub fn footer_bar(app: &App, frame: &mut Frame, area: Rect) {
    let keys: &str = match (&app.overlay, &app.phase, &app.active) {
        (Some(Overlay::Help), _, _) => "Esc close help",
        (Some(Overlay::Quit), _, _) => "Y leave  N stay",
        (Some(Overlay::Abort(form)), _, _) if form.confirming => "Y abort now  N go back",
        (Some(Overlay::Abort(_)), _, _) => "Enter continue  Esc go back",
        (Some(Overlay::Presence(form)), _, _) => form.keys(),
        (None, Phase::Finished(_), _) => finished::KEYS,
        (None, _, Some(active)) => active.keys(),
        (None, Phase::Start, None) => start::keys(app),
        (None, Phase::Running, None) => step::KEYS,
    };
    frame.render_widget(
        Paragraph::new(format!(" {keys}")).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

/// Draws the step list (done, current, to come) and the rule beside it;
/// returns the pane on the right, one column in from the rule.
pub fn beside_step_list(app: &App, frame: &mut Frame, area: Rect) -> Rect {
    let [list, rule, _, right] = Layout::horizontal([
        Constraint::Length(LIST_WIDTH),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    step_list(app, frame, list);
    frame.render_widget(Block::new().borders(Borders::LEFT), rule);
    right
}

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
            let text: String = terminal_safe(&text).chars().take(width).collect();
            Line::styled(format!("{text:<width$}"), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Draws the open dialog, if any, over the screen's `area`.
pub fn overlay(app: &App, frame: &mut Frame, area: Rect) {
    match &app.overlay {
        Some(Overlay::Help) => help_overlay(frame, area),
        Some(Overlay::Abort(form)) => abort_overlay(form, frame, area),
        Some(Overlay::Quit) => quit_overlay(frame, area),
        Some(Overlay::Presence(form)) => {
            let lines = form.lines(app);
            let height = lines.len() as u16 + 2;
            boxed(
                frame,
                centered(area, 76, height),
                "Who is in the room",
                lines,
            );
        }
        None => {}
    }
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
        ("F6", "who is in the room: record who leaves and comes back"),
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
        " show as * only. A share is shown to its custodian alone.",
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
