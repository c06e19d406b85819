//! An exception the tool raised itself (a clock beyond the policy's limit,
//! a value other than the one expected), at the foot of the step view: the
//! witness accepts it (Y) or not (N), then gives a remark, required when
//! not accepting, since that stops the ceremony.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::{Decision, Raised};
use keyceremony_script::{Participant, Step};
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::input::{Field, TextInput};
use crate::widgets::{action, input_line, line, loud};

pub struct Decide {
    pub step: Step,
    pub witness: Participant,
    pub raised: Raised,
    /// Y or N so far; the remark is typed after it.
    pub accepted: Option<bool>,
    pub remark: TextInput,
}

impl Decide {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        match (self.accepted, key.code) {
            (None, KeyCode::Char('y' | 'Y')) => self.accepted = Some(true),
            (None, KeyCode::Char('n' | 'N')) => self.accepted = Some(false),
            (None, _) => {}
            (Some(_), KeyCode::Esc) => self.accepted = None,
            (Some(accepted), KeyCode::Enter)
                if accepted || !self.remark.value().trim().is_empty() =>
            {
                return Some(Ok(Answer::Decision(Decision {
                    accepted,
                    remark: self.remark.value().to_string(),
                })));
            }
            (Some(_), _) => self.remark.edit(key),
        }
        None
    }

    /// True while the remark is typed.
    pub fn typing(&self) -> bool {
        self.accepted.is_some()
    }

    pub fn keys(&self) -> &'static str {
        match self.accepted {
            None => "Y accept  N do not accept  ? help  F10 abort",
            Some(_) => "Enter record  Backspace erase  Esc back  F1 help",
        }
    }

    pub fn prompt(&self) -> Vec<Line<'static>> {
        let witness = &self.witness.name;
        let mut lines = vec![
            Line::styled("EXCEPTION raised by the tool:", loud()),
            line(self.raised.description.clone()),
        ];
        match self.accepted {
            None => {
                lines.push(line(format!(
                    "{witness}: accept it as an exception (the step goes on, with it on the exception sheet), or not (the ceremony stops)?"
                )));
                lines.push(action("Y", "accept    N: do not accept"));
            }
            Some(accepted) => {
                lines.push(line(format!(
                    "{witness}: {}. Remark{}:",
                    if accepted { "accepted" } else { "NOT accepted" },
                    if accepted { " (optional)" } else { " (why)" }
                )));
                lines.push(input_line(&self.remark));
                lines.push(action("Enter", "record the decision    Esc: back"));
            }
        }
        lines
    }
}
