//! The seal: the witness copies the sealed log's head hash onto the paper
//! script and reads it back aloud.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::widgets::{action, blank, hex_lines, indented, line, person, show, strong};

/// No abort: the log is sealed, and a sealed log takes no abort.
pub const KEYS: &str = "Y copied  ? help";

pub struct Seal {
    pub witness: Participant,
    /// The log's head hash, in hex.
    pub head: String,
    /// The same in PGP words.
    pub words: String,
}

impl Seal {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        matches!(key.code, KeyCode::Char('y' | 'Y')).then_some(Ok(Answer::SealCopied))
    }

    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        let mut lines = vec![strong("The ceremony log is sealed"), blank()];
        if let Some(sealed) = &app.sealed {
            lines.push(line(format!(
                "Outcome: {}, {} entries",
                sealed.outcome, sealed.entries
            )));
        }
        lines.push(line(format!(
            "{}: copy the log's head hash onto the paper script, then read it back aloud.",
            person(&self.witness)
        )));
        lines.push(blank());
        lines.push(strong("Head (SHA-256):"));
        lines.extend(hex_lines(&self.head));
        lines.push(blank());
        lines.push(strong("The same in PGP words:"));
        lines.extend(indented(&self.words, area.width, Style::new()));
        lines.push(blank());
        lines.push(action("Y", "the head is copied and read back"));
        show(frame, area, lines)
    }
}
