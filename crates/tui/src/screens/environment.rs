//! Before an interrupted ceremony is taken up, when this run's module,
//! binary or token differs from the first run's: refused, unless the
//! witness accepts it as an exception with a remark the log records.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::screens::TYPING;
use crate::widgets::{action, banner, blank, input_line, line, loud, person, show, strong};

pub struct EnvironmentChange {
    pub witness: Participant,
    pub changes: Vec<String>,
    /// The witness's remark, once A (accept) was pressed.
    pub remark: Option<TextInput>,
}

impl EnvironmentChange {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        match (self.remark.as_mut(), key.code) {
            (None, KeyCode::Char('a' | 'A')) => self.remark = Some(TextInput::default()),
            (None, KeyCode::Char('n' | 'N')) => return Some(Ok(Answer::Environment(None))),
            (None, _) => {}
            (Some(_), KeyCode::Esc) => self.remark = None,
            (Some(input), _) => {
                return input
                    .key(key)
                    .map(|remark| Ok(Answer::Environment(Some(remark))));
            }
        }
        None
    }

    pub fn typing(&self) -> bool {
        self.remark.is_some()
    }

    pub fn keys(&self) -> &'static str {
        match self.remark {
            None => "A accept as an exception  N refuse  ? help  F10 leave",
            Some(_) => TYPING,
        }
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let mut lines = vec![
            banner("THIS RUN'S ENVIRONMENT IS NOT THE CEREMONY'S", area.width),
            blank(),
        ];
        for change in &self.changes {
            lines.push(Line::styled(format!("! {change}"), loud()));
        }
        lines.push(blank());
        lines.push(line(format!(
            "The ceremony goes on with the module, binary and token it started with. Best: leave (F10) and run it with those. Otherwise {} accepts the change as an exception, which the log records with the remark.",
            person(&self.witness)
        )));
        lines.push(blank());
        match &self.remark {
            None => {
                lines.push(action("A", "accept it as an exception, with a remark"));
                lines.push(action("N", "refuse it: nothing is written"));
            }
            Some(input) => {
                lines.push(strong("Why the change is acceptable:"));
                lines.push(input_line(input));
                lines.push(action(
                    "Enter",
                    "record the exception and go on    Esc: go back",
                ));
            }
        }
        show(frame, area, lines)
    }
}
