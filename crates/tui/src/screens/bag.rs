//! The bag serial: the custodian seals their share's paper form in a
//! tamper-evident bag and its serial is recorded, at the foot of the step
//! view.

use crossterm::event::KeyEvent;
use keyceremony_script::{Participant, Secret, Step};
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, input_line, secret_name, strong};

pub struct Bag {
    pub step: Step,
    pub custodian: Participant,
    pub secret: Secret,
    pub number: u8,
    pub input: TextInput,
    /// The custodian's copy of the share was just checked: the room may
    /// look again.
    pub copied: bool,
}

impl Bag {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        self.input.key(key).map(|serial| Ok(Answer::Text(serial)))
    }

    pub fn prompt(&self) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if self.copied {
            lines.push(strong(format!(
                "{}'s copy matches: the share is wiped from the screen and from the tool's memory. Everyone may look at the screen again.",
                self.custodian.name
            )));
        }
        lines.extend([
            strong(format!(
                "{} seals share {} of the {} in a tamper-evident bag and reads its serial aloud. Bag serial:",
                self.custodian.name,
                self.number,
                secret_name(self.secret)
            )),
            input_line(&self.input),
            action("Enter", "record the bag serial"),
        ]);
        lines
    }
}
