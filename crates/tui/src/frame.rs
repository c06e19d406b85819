//! The frame around every screen: the header bar (rehearsal mark,
//! ceremony, step, clock), the footer bar (the keys that act now), the step
//! list beside the step view, and the dialogs drawn over any screen (help,
//! abort, leave) with what their keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyceremony_engine::InputError;
use keyceremony_script::Action;
use keyceremony_text::terminal_safe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, Phase, Reported};
use crate::channel::Reply;
use crate::format;
use crate::input::TextInput;
use crate::screens::presence::{self, PresenceForm};
use crate::screens::{Active, finished, start, step};
use crate::widgets::{action, blank, bold, boxed, input_line, line, loud, strong};

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
    let step = match (&app.phase, app.current, app.current_step()) {
        (Phase::Running, Some(index), Some(entry)) => format!(
            "step {} ({} of {})  ",
            terminal_safe(&entry.step.id),
            index + 1,
            app.steps.len()
        ),
        _ => String::new(),
    };
    let right = format!("{step}{} ", format::clock(app.now));
    // A space before the name and one at least after it.
    let used: usize = spans.iter().map(|s| s.width()).sum::<usize>() + right.len() + 2;
    let room = usize::from(area.width).saturating_sub(used);
    let name: String = terminal_safe(&app.info.ceremony_name)
        .chars()
        .take(room)
        .collect();
    let pad = room.saturating_sub(name.chars().count()) + 1;
    spans.push(Span::raw(format!(" {name}{}", " ".repeat(pad))));
    spans.push(Span::raw(right));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

/// The bottom line: the keys that act now, after why the last key did
/// nothing; or, while the screen does not fit, that nothing acts.
pub fn footer_bar(app: &App, frame: &mut Frame, area: Rect) {
    let text = if app.too_small.get() {
        " The screen does not fit: make the terminal larger. No key acts until it fits.".to_string()
    } else {
        match &app.hint {
            Some(hint) => format!(" {hint}  {}", keys_now(app)),
            None => format!(" {}", keys_now(app)),
        }
    };
    frame.render_widget(
        Paragraph::new(text).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

/// The keys that act now: a dialog's, or the screen's.
pub fn keys_now(app: &App) -> &'static str {
    match (&app.overlay, &app.phase, &app.active) {
        (Some(Overlay::Help), _, _) => "Esc close help",
        (Some(Overlay::Quit), _, _) => "Y leave  N stay",
        (Some(Overlay::Abort(form)), _, _) if form.confirming => "Y abort now  N go back",
        (Some(Overlay::Abort(_)), _, _) => "Enter continue  Esc go back",
        (Some(Overlay::Presence(form)), _, _) => form.keys(),
        (None, Phase::Finished(_), _) => finished::KEYS,
        (None, _, Some(active)) => active.keys(),
        (None, Phase::Start, None) => start::keys(app),
        (None, Phase::Running, None) => step::KEYS,
    }
}

/// Why `key` did nothing, when `keys` (the bottom line's keys as they
/// were when it was pressed) do not include it; printable keys type into
/// a field, so only keys outside one count.
pub fn ignored(app: &App, keys: &str, key: &KeyEvent) -> Option<String> {
    let name = key_name(key)?;
    if is_abort_key(key) && app.sealed.is_some() {
        return Some(format!(
            "{name} does nothing now: the log is sealed, there is nothing left to abort."
        ));
    }
    let listed = keys
        .split("  ")
        .filter_map(|entry| entry.split_whitespace().next())
        .flat_map(|keys| keys.split('/'))
        .any(|listed| listed.eq_ignore_ascii_case(&name));
    (!listed).then(|| format!("{name} does nothing here."))
}

/// A key as the bottom line names it.
fn key_name(key: &KeyEvent) -> Option<String> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char(c) if ctrl => format!("Ctrl-{}", c.to_ascii_uppercase()),
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_uppercase().to_string(),
        KeyCode::Enter => "Enter".to_string(),
        KeyCode::Esc => "Esc".to_string(),
        KeyCode::Backspace => "Backspace".to_string(),
        KeyCode::Up => "Up".to_string(),
        KeyCode::Down => "Down".to_string(),
        KeyCode::Left => "Left".to_string(),
        KeyCode::Right => "Right".to_string(),
        KeyCode::Tab => "Tab".to_string(),
        KeyCode::F(n) => format!("F{n}"),
        _ => return None,
    })
}

/// Draws the open dialog, if any, over the screen's `area`; false when it
/// does not fit there.
#[must_use]
pub fn overlay(app: &App, frame: &mut Frame, area: Rect) -> bool {
    match &app.overlay {
        Some(Overlay::Help) => help_overlay(frame, area),
        Some(Overlay::Abort(form)) => abort_overlay(app, form, frame, area),
        Some(Overlay::Quit) => quit_overlay(frame, area),
        Some(Overlay::Presence(form)) => {
            boxed(frame, area, 76, "Who is in the room", form.lines(app))
        }
        None => true,
    }
}

fn help_overlay(frame: &mut Frame, area: Rect) -> bool {
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
        (
            "W",
            "end of a step: withdraw the last exception, not yet recorded",
        ),
        ("Space", "choosing custodians: select or unselect"),
        ("Up/Down", "choosing custodians: move"),
        ("Backspace", "erase the last character typed"),
        ("Ctrl-U", "clear the field (a share: start it again)"),
        (
            "Esc",
            "cancel a form, close this help; at share entry: choose again",
        ),
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
    boxed(frame, area, 78, "Help: keys", lines)
}

/// True while the token is being initialised and its shares handed out:
/// an abort then leaves PINs that exist only as shares not all given out.
fn pins_at_stake(app: &App) -> bool {
    let Some(entry) = app.current_step() else {
        return false;
    };
    let initialising = app.working.is_some()
        || app
            .outcomes_of(&entry.step.id)
            .any(|o| matches!(o, Reported::HsmDone { .. }));
    entry.step.action == Action::InitToken
        && initialising
        && !matches!(app.active, Some(Active::EndOfStep(_)))
}

fn abort_overlay(app: &App, form: &AbortForm, frame: &mut Frame, area: Rect) -> bool {
    let mut lines = vec![line(
        "The ceremony stops and the log records the abort and its reason.",
    )];
    if pins_at_stake(app) {
        lines.push(Line::styled(
            "Aborting now loses the token's PINs: they exist only as shares, and not all are handed out. The token can never be activated again, and the ceremony can then only be aborted for good; a new attempt needs a newly initialised token.",
            loud(),
        ));
    }
    lines.extend([strong("Reason:"), input_line(&form.reason), blank()]);
    if form.confirming {
        lines.push(Line::styled("Abort the ceremony now?", loud()));
        lines.push(action("Y", "abort now    N: go back"));
    } else {
        lines.push(action("Enter", "continue    Esc: go back to the ceremony"));
    }
    boxed(frame, area, 72, "Abort the ceremony", lines)
}

fn quit_overlay(frame: &mut Frame, area: Rect) -> bool {
    let lines = vec![
        line("Leave without starting? Nothing has been written and the HSM"),
        line("is unchanged."),
        blank(),
        action("Y", "leave    N: stay"),
    ];
    boxed(frame, area, 66, "Leave", lines)
}
