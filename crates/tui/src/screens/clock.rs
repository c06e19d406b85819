//! The clock check, at the foot of the step view (CPS 5.5.5): the witness
//! types the time the reference clock will show in a few seconds, waits for
//! it, and presses Enter at the moment the reference clock shows it. The
//! terminal's time is taken at that key, so the difference the engine
//! records holds no typing time.

use chrono::Utc;
use crossterm::event::KeyEvent;
use keyceremony_engine::ClockReading;
use keyceremony_script::{Participant, Step};
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::format;
use crate::input::TextInput;
use crate::widgets::{action, input_line, line, strong};

pub struct Clock {
    pub step: Step,
    pub witness: Participant,
    pub input: TextInput,
    /// Why the last entry could not be read as a time.
    pub error: Option<String>,
}

impl Clock {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        let typed = self.input.key(key)?;
        // The mark: the terminal's clock when Enter is pressed.
        let system = Utc::now();
        match format::parse_reference_time(&typed, system) {
            Ok(reference) => Some(Ok(Answer::Clock(ClockReading { reference, system }))),
            Err(message) => {
                self.error = Some(message);
                None
            }
        }
    }

    pub fn prompt(&self, app: &App) -> Vec<Line<'static>> {
        let mut lines = vec![
            strong(format!(
                "Terminal time now: {}",
                app.now.format("%Y-%m-%d %H:%M:%S UTC")
            )),
            line(format!(
                "{}: type the time the reference clock will show in a few seconds (HH:MM:SS UTC, or RFC 3339), then press Enter at the moment it shows it:",
                self.witness.name
            )),
            input_line(&self.input),
        ];
        if let Some(error) = &self.error {
            lines.push(strong(format!("! {error}")));
        }
        lines.push(action(
            "Enter",
            "when the reference clock shows that time: the terminal's time is taken then",
        ));
        lines
    }
}
