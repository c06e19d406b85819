//! A value the script asks to record (a serial, a seal number), typed at
//! the foot of the step view and written to the log.

use crossterm::event::KeyEvent;
use keyceremony_script::{RecordField, Step};
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, input_line, strong};

pub struct Record {
    pub step: Step,
    pub field: RecordField,
    pub input: TextInput,
    /// Why the last value was refused.
    pub refused: Option<String>,
}

impl Record {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        self.input.key(key).map(|text| Ok(Answer::Text(text)))
    }

    pub fn prompt(&self) -> Vec<Line<'static>> {
        let mut lines = vec![
            strong(format!("{}:", self.field.label)),
            input_line(&self.input),
        ];
        if let Some(why) = &self.refused {
            lines.push(strong(format!("! {why}")));
        }
        lines.push(action("Enter", "record this value in the log"));
        lines
    }
}
