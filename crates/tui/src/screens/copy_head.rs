//! At the end of each act: the witness copies the log's head onto the
//! paper script, as at the seal. A resumed ceremony proves its log with the
//! last head copied (docs/log-format.md).

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::LogHead;
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::channel::{Answer, Reply};
use crate::widgets::{action, blank, hex_lines, indented, line, person, show, strong};

pub const KEYS: &str = "Y copied  ? help  F10 abort";

pub struct CopyHead {
    pub witness: Participant,
    pub head: LogHead,
}

impl CopyHead {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        matches!(key.code, KeyCode::Char('y' | 'Y')).then_some(Ok(Answer::HeadCopied))
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let mut lines = vec![
            strong(format!("Log head at {}", self.head.at)),
            blank(),
            line(format!(
                "{}: copy the log's head after entry {} onto the paper script. If the ceremony is interrupted, it is resumed only from a log in which this head appears.",
                person(&self.witness),
                self.head.entries
            )),
            blank(),
            strong("Head (SHA-256):"),
        ];
        lines.extend(hex_lines(&self.head.head));
        lines.push(strong("The same in PGP words:"));
        lines.extend(indented(&self.head.words, area.width, Style::new()));
        lines.push(blank());
        lines.push(action("Y", "the head is copied onto the paper script"));
        show(frame, area, lines)
    }
}
