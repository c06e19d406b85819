//! Who is in the room. F6, at any time once the ceremony has begun, opens
//! the presence dialog: the roster with who is in and who is out; L records
//! that the participant under the cursor leaves (with the reason), R that
//! they come back (someone absent at the check-in shows their identity
//! document first). The engine records the changes, with the times they
//! were typed, as the next step begins. When a step needs someone who is
//! out (its performer, its witness, its custodians), the same form opens by
//! itself and the step waits until they are back or the room aborts.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::{Change, Missing, PresenceChange};
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, blank, bold, input_line, line, loud, show, strong};

/// What is typed for the participant under the cursor.
pub enum Typing {
    /// Why they leave.
    Reason(TextInput),
    /// The identity document of someone never identified, as they come in.
    Document(TextInput),
}

pub struct PresenceForm {
    /// The people a step waits for; empty for the F6 dialog.
    pub missing: Vec<Missing>,
    pub cursor: usize,
    pub typing: Option<Typing>,
    /// Changes made in this form, not yet sent.
    pub changes: Vec<PresenceChange>,
}

/// What a key did to the form.
pub enum Outcome {
    Open,
    /// Enter: the form is done with its changes.
    Done(Vec<PresenceChange>),
    /// Esc on the dialog: closed without changes.
    Closed,
}

impl PresenceForm {
    pub fn new(app: &App, missing: Vec<Missing>) -> PresenceForm {
        let cursor = missing
            .first()
            .and_then(|m| {
                app.participants
                    .iter()
                    .position(|p| p.id == m.participant.id)
            })
            .unwrap_or(0);
        PresenceForm {
            missing,
            cursor,
            typing: None,
            changes: Vec::new(),
        }
    }

    fn change(&mut self, app: &mut App, who: &Participant, change: Change) {
        let present = matches!(change, Change::Returns { .. });
        app.present(&who.id, present, true);
        self.changes.push(PresenceChange {
            participant: who.id.clone(),
            change,
            at: app.now,
        });
    }

    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Outcome {
        let Some(who) = app.participants.get(self.cursor).cloned() else {
            return Outcome::Closed;
        };
        if let Some(typing) = self.typing.as_mut() {
            if key.code == KeyCode::Esc {
                self.typing = None;
                return Outcome::Open;
            }
            let (input, reason) = match typing {
                Typing::Reason(input) => (input, true),
                Typing::Document(input) => (input, false),
            };
            if let Some(text) = input.key(key) {
                self.typing = None;
                let change = if reason {
                    Change::Leaves { reason: text }
                } else {
                    Change::Returns {
                        document: Some(text),
                    }
                };
                self.change(app, &who, change);
            }
            return Outcome::Open;
        }
        let (in_room, identified) = app.whereabouts(&who.id);
        match key.code {
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down => self.cursor = (self.cursor + 1).min(app.participants.len() - 1),
            KeyCode::Char('l' | 'L') if in_room => {
                self.typing = Some(Typing::Reason(TextInput::default()));
            }
            KeyCode::Char('r' | 'R') if !in_room && identified => {
                self.change(app, &who, Change::Returns { document: None });
            }
            KeyCode::Char('r' | 'R') if !in_room => {
                self.typing = Some(Typing::Document(TextInput::default()));
            }
            KeyCode::Enter => return Outcome::Done(std::mem::take(&mut self.changes)),
            KeyCode::Esc if self.missing.is_empty() => return Outcome::Closed,
            _ => {}
        }
        Outcome::Open
    }

    /// As the question a step waits on: Enter sends the changes.
    pub fn answer(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        match self.key(app, key) {
            Outcome::Done(changes) => Some(Ok(Answer::Presence(changes))),
            Outcome::Open | Outcome::Closed => None,
        }
    }

    pub fn typing(&self) -> bool {
        self.typing.is_some()
    }

    pub fn keys(&self) -> &'static str {
        match (&self.typing, self.missing.is_empty()) {
            (Some(_), _) => "Enter record  Backspace erase  Esc back  F1 help",
            (None, true) => "Up/Down move  L leaves  R returns  Enter done  Esc close",
            (None, false) => "Up/Down move  R returns  L leaves  Enter go on  F10 abort",
        }
    }

    pub fn lines(&self, app: &App) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if self.missing.is_empty() {
            lines.push(line("The log records each change as the next step begins."));
        } else {
            lines.push(Line::styled("THIS STEP WAITS FOR:", loud()));
            for m in &self.missing {
                lines.push(line(format!(
                    "  {}, {} ({})",
                    m.participant.name, m.needed_as, m.whereabouts
                )));
            }
            lines.push(line(
                "Record their return when they are back (R), then Enter; or abort (F10).",
            ));
        }
        lines.push(blank());
        for (i, p) in app.participants.iter().enumerate() {
            let (in_room, _) = app.whereabouts(&p.id);
            let state = if in_room { "in the room" } else { "OUT" };
            let (mark, style) = if i == self.cursor {
                (">", bold())
            } else {
                (" ", Style::new())
            };
            lines.push(Line::styled(
                format!("{mark} {:<18} {state}", p.name),
                style,
            ));
        }
        lines.push(blank());
        for change in &self.changes {
            let name = app
                .participant(&change.participant)
                .map_or(change.participant.as_str(), |p| p.name.as_str())
                .to_string();
            lines.push(line(match &change.change {
                Change::Leaves { reason } => format!(
                    "{name} leaves at {}: {reason}",
                    change.at.format("%H:%M:%S")
                ),
                Change::Returns { .. } => {
                    format!("{name} comes back at {}", change.at.format("%H:%M:%S"))
                }
            }));
        }
        match &self.typing {
            Some(Typing::Reason(input)) => {
                lines.push(strong("Why do they leave?"));
                lines.push(input_line(input));
            }
            Some(Typing::Document(input)) => {
                lines.push(strong(
                    "Never identified in this ceremony: kind of identity document checked now:",
                ));
                lines.push(input_line(input));
            }
            None => lines.push(action(
                "Enter",
                if self.missing.is_empty() {
                    "done"
                } else {
                    "go on: the step begins if everyone it needs is back"
                },
            )),
        }
        lines
    }

    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        show(frame, area, self.lines(app))
    }
}
