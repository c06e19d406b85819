//! The copy check, on a cleared screen straight after the share screen:
//! the custodian, still alone, types the share back from their paper form
//! line by line (nothing typed is drawn but a count of asterisks); the
//! engine compares it with the share it showed before it wipes it. A copy
//! that differs brings the share screen back.

use crossterm::event::KeyEvent;
use keyceremony_script::{Participant, Secret, Step};
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::channel::{Answer, Reply};
use crate::input::ShareInput;
use crate::screens::share_entry::{enter_line, entry_rows};
use crate::widgets::{banner, blank, line, secret_name, show, strong};

/// The footer while a copy is typed back: there is no stepping back from it.
pub const KEYS: &str = "Enter end line  Backspace erase  Ctrl-U restart  F1 help  F10 abort";

pub struct CopyBack {
    pub step: Step,
    pub custodian: Participant,
    pub secret: Secret,
    pub number: u8,
    pub entry: ShareInput,
}

impl CopyBack {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        self.entry.key(key).map(|copy| Ok(Answer::Secret(copy)))
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let who = &self.custodian.name;
        let mut lines = vec![
            banner(
                &format!("SHARE FOR {} ONLY", who.to_uppercase()),
                area.width,
            ),
            strong(format!(
                "{who}: type back share {} of the {} from your paper form (step {})",
                self.number,
                secret_name(self.secret),
                self.step.id
            )),
            blank(),
            line(format!(
                "Everyone except {who}: keep looking away. The tool compares your copy with the share it showed, then wipes the share; a copy that differs brings the share back to correct it."
            )),
            line("Type the left column of your form, one line at a time. Nothing typed is shown."),
            blank(),
        ];
        lines.extend(entry_rows(&self.entry));
        lines.push(blank());
        lines.push(enter_line(
            &self.entry,
            "submit the copy: the tool compares it with the share",
        ));
        show(frame, area, lines)
    }
}
