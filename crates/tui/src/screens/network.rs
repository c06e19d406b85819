//! Before the ceremony starts, when network interfaces are up (CPS 6.7):
//! the witness records why, or the room leaves and takes them down.

use crossterm::event::KeyEvent;
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, banner, blank, field, input_line, line, person, show};

pub struct Network {
    pub witness: Participant,
    pub interfaces: Vec<String>,
    pub input: TextInput,
}

impl Network {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        self.input
            .key(key)
            .map(|explanation| Ok(Answer::Text(explanation)))
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let lines = vec![
            banner("NETWORK INTERFACES ARE UP", area.width),
            blank(),
            field("Up", self.interfaces.join(", ")),
            blank(),
            line(
                "A CA system is not connected to a network (CPS 6.7). Best: leave (F10), take the interfaces down, and start again.",
            ),
            blank(),
            line(format!(
                "Otherwise {} records why they are up; the log keeps it:",
                person(&self.witness)
            )),
            input_line(&self.input),
            blank(),
            action("Enter", "record the explanation and go on"),
        ];
        show(frame, area, lines)
    }
}
