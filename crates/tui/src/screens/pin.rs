//! A lab's option (`witness_signing = "lab-token-on-terminal"`): the PIN of
//! the witness's stand-in token connected to the terminal, typed by the
//! witness alone, so that token signs the log's seal; nothing typed is
//! drawn but a count of asterisks. A production ceremony's witness signs on
//! their own device instead, and no PIN of theirs is typed here.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::{Field, SecretInput};
use crate::widgets::{action, blank, field, line, masked, paragraph, person, strong};

pub struct WitnessPin {
    pub witness: Participant,
    pub token_label: String,
    pub input: SecretInput,
}

impl WitnessPin {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        if key.code == KeyCode::Enter && !self.input.is_empty() {
            return Some(Ok(Answer::Secret(self.input.take())));
        }
        self.input.edit(key);
        None
    }

    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) {
        let mut lines = vec![
            strong(
                "The witness signs the log's seal (a lab's option: their token on this terminal)",
            ),
            blank(),
            line(format!(
                "{}: type the PIN of your token '{}'. Nothing typed is shown; everyone else looks away from the keyboard.",
                person(&self.witness),
                self.token_label
            )),
            blank(),
        ];
        if app.info.rehearsal {
            lines.push(line(
                "REHEARSAL: the lab's stand-in for this token keeps its PIN in witness.pin, in the lab folder (keyceremony rehearse: OUT/lab/).",
            ));
            lines.push(blank());
        }
        lines.extend([
            field("PIN", masked(self.input.len())),
            blank(),
            action(
                "Enter",
                "open the witness's token: it signs the seal once the HSM is in its bag",
            ),
        ]);
        frame.render_widget(paragraph(lines), area);
    }
}
