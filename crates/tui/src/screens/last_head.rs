//! Before an interrupted ceremony is taken up: the witness types the last
//! log head they copied onto the paper script (at an act's end, or when a
//! run stopped). The engine resumes or aborts only a log in which it is the
//! head after some entry.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, banner, blank, input_line, line, loud, person, show};

pub struct LastHead {
    pub witness: Participant,
    pub entries: u64,
    pub input: TextInput,
    /// Why the last entry was not taken.
    pub error: Option<String>,
}

/// 64 hexadecimal digits once spaces are taken out, or "none".
fn well_formed(typed: &str) -> bool {
    let compact: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    compact.eq_ignore_ascii_case("none")
        || (compact.len() == 64 && compact.chars().all(|c| c.is_ascii_hexdigit()))
}

impl LastHead {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        if key.code == KeyCode::Enter && !well_formed(self.input.value()) {
            self.error =
                Some("A head is 64 hexadecimal digits (spaces allowed), or none.".to_string());
            return None;
        }
        self.input.key(key).map(|typed| Ok(Answer::Text(typed)))
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let mut lines = vec![
            banner("THE LAST LOG HEAD ON THE PAPER SCRIPT", area.width),
            blank(),
            line(format!(
                "The log in the output folder stopped after {} entries. Before anything is done with it, {} types the last log head copied onto the paper script (at an act's end, or when a run stopped), or none if no head was ever shown.",
                self.entries,
                person(&self.witness)
            )),
            blank(),
            line(
                "The ceremony goes on only from a log in which that head appears: a log changed while the ceremony stood interrupted is refused.",
            ),
            blank(),
            input_line(&self.input),
        ];
        if let Some(error) = &self.error {
            lines.push(Line::styled(error.clone(), loud()));
        }
        lines.push(blank());
        lines.push(action("Enter", "check the log against this head"));
        show(frame, area, lines)
    }
}
