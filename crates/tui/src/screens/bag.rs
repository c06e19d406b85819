//! Bag serials, at the foot of the step view: the custodian seals their
//! share's paper form in a new tamper-evident bag and its serial is
//! recorded; at an activation, they first read the serial of the bag they
//! take it out of, which the engine compares with the last one recorded.

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
    /// The bag is the one the share comes out of, not a new one.
    pub opening: bool,
    /// Why the last serial was refused.
    pub refused: Option<String>,
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
        let name = &self.custodian.name;
        let secret = secret_name(self.secret);
        lines.push(strong(if self.opening {
            format!(
                "{name} reads aloud the serial of the bag holding their {secret} share and checks the bag for tampering, before opening it. Bag serial:"
            )
        } else {
            format!(
                "{name} seals share {} of the {secret} in a new tamper-evident bag and reads its serial aloud. Bag serial:",
                self.number
            )
        }));
        lines.push(input_line(&self.input));
        if let Some(why) = &self.refused {
            lines.push(strong(format!("! {why}")));
        }
        lines.push(action(
            "Enter",
            if self.opening {
                "record the serial: the tool compares it with the last one recorded"
            } else {
                "record the bag serial"
            },
        ));
        lines
    }
}
