//! Choosing custodians: before a PIN is rebuilt, the room says which
//! custodians come forward with their share, exactly as many as the
//! threshold.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::{Participant, Secret, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::widgets::{action, blank, line, loud, people, person, secret_name, show, strong};

pub const KEYS: &str = "Up/Down move  Space select  Enter done  ? help  F10 abort";

pub struct Choose {
    pub step: Step,
    pub secret: Secret,
    pub eligible: Vec<Participant>,
    pub threshold: usize,
    pub cursor: usize,
    /// One per eligible custodian.
    pub selected: Vec<bool>,
    /// Why the last key did nothing.
    pub note: Option<String>,
}

impl Choose {
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        let threshold = self.threshold;
        let chosen = self.selected.iter().filter(|s| **s).count();
        match key.code {
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down => {
                self.cursor = (self.cursor + 1).min(self.eligible.len().saturating_sub(1))
            }
            KeyCode::Char(' ') => {
                if let Some(on) = self.selected.get_mut(self.cursor) {
                    if *on || chosen < threshold {
                        *on = !*on;
                        self.note = None;
                    } else {
                        self.note = Some(format!(
                            "{threshold} are already chosen: unselect one first"
                        ));
                    }
                }
            }
            KeyCode::Enter if chosen == threshold => {
                let ids: Vec<String> = self
                    .eligible
                    .iter()
                    .zip(&self.selected)
                    .filter(|(_, on)| **on)
                    .map(|(p, _)| p.id.clone())
                    .collect();
                app.chosen = ids.clone();
                app.warning = None;
                return Some(Ok(Answer::Custodians(ids)));
            }
            KeyCode::Enter => {
                self.note = Some(format!(
                    "choose exactly {threshold} custodians ({chosen} chosen)"
                ))
            }
            _ => {}
        }
        None
    }

    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        let Choose {
            step,
            secret,
            eligible,
            threshold,
            cursor,
            selected,
            note,
        } = self;
        let chosen: Vec<&str> = eligible
            .iter()
            .zip(selected)
            .filter(|(_, on)| **on)
            .map(|(p, _)| p.name.as_str())
            .collect();
        let mut lines = vec![
            strong(format!("Step {}  {}", step.id, step.title)),
            people(app, step),
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
        show(frame, area, lines)
    }
}
