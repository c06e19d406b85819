//! A lab's option (`witness_signing = "lab-token-on-terminal"`): the PIN of
//! the witness's stand-in token connected to the terminal, typed by the
//! witness alone, so that token signs the log's seal; nothing typed is
//! drawn but a count of asterisks. A production ceremony's witness signs on
//! their own device instead, and no PIN of theirs is typed here.

use crossterm::event::KeyEvent;
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::SecretInput;
use crate::widgets::{action, blank, field, line, masked, people, person, show, strong};

pub struct WitnessPin {
    pub witness: Participant,
    pub token_label: String,
    pub input: SecretInput,
    /// Why the last PIN typed was refused, with the count against the
    /// script's limit.
    pub refused: Option<String>,
}

impl WitnessPin {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        self.input.key(key).map(|pin| Ok(Answer::Secret(pin)))
    }

    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        let mut lines = vec![strong(
            "The witness signs the log's seal (a lab's option: their token on this terminal)",
        )];
        if let Some(entry) = app.current_step() {
            lines.push(people(app, &entry.step));
        }
        lines.extend([
            blank(),
            line(format!(
                "{}: type the PIN of your token '{}'. Nothing typed is shown; everyone else looks away from the keyboard.",
                person(&self.witness),
                self.token_label
            )),
            blank(),
        ]);
        if app.info.rehearsal {
            lines.push(line(
                "REHEARSAL: the lab's stand-in for this token keeps its PIN in witness.pin, in the lab folder (keyceremony rehearse: OUT/lab/).",
            ));
            lines.push(blank());
        }
        let typed = if self.input.blank_enter() {
            "(nothing typed yet: type the PIN, then Enter)".to_string()
        } else {
            masked(self.input.len())
        };
        lines.extend([field("PIN", typed), blank()]);
        if let Some(why) = &self.refused {
            lines.push(strong(format!("! {why}")));
        }
        lines.push(action(
            "Enter",
            "open the witness's token: it signs the seal once the HSM is in its bag",
        ));
        show(frame, area, lines)
    }
}
