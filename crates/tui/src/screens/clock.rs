//! The clock check: the witness reads the reference clock at the moment
//! the terminal's time was taken, at the foot of the step view; the engine
//! records the difference (CPS 5.5.5).

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use keyceremony_script::{Participant, Step};
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::format;
use crate::input::TextInput;
use crate::widgets::{action, input_line, line, strong};

pub struct Clock {
    pub step: Step,
    pub witness: Participant,
    pub system_time: DateTime<Utc>,
    pub input: TextInput,
    /// Why the last entry could not be read as a time.
    pub error: Option<String>,
}

impl Clock {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        let typed = self.input.key(key)?;
        match format::parse_reference_time(&typed, self.system_time) {
            Ok(time) => Some(Ok(Answer::Time(time))),
            Err(message) => {
                self.error = Some(message);
                None
            }
        }
    }

    pub fn prompt(&self) -> Vec<Line<'static>> {
        let mut lines = vec![
            strong(format!(
                "Terminal time: {}",
                self.system_time.format("%Y-%m-%d %H:%M:%S UTC")
            )),
            line(format!(
                "{}: type the reference clock's reading at that moment (HH:MM:SS UTC, or RFC 3339):",
                self.witness.name
            )),
            input_line(&self.input),
        ];
        if let Some(error) = &self.error {
            lines.push(strong(format!("! {error}")));
        }
        lines.push(action("Enter", "record the reference time"));
        lines
    }
}
