//! Share distribution: a new share is shown once, to its custodian alone,
//! on a cleared terminal, in three stages (everyone else looks away, the
//! share is shown, the share is wiped and everyone may look again).

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::{Participant, Step};
use keyceremony_shares::SecretKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::widgets::{action, banner, blank, bold, line, paragraph, strong};

pub struct ShowShare {
    pub step: Step,
    pub custodian: Participant,
    pub kind: SecretKind,
    pub number: u8,
    pub count: u8,
    pub stage: ShareStage,
}

/// The share screen's three stages.
pub enum ShareStage {
    /// The share is held, not drawn, until the custodian is alone.
    LookAway(SecretString),
    Showing(SecretString),
    LookBack,
}

impl ShowShare {
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        // The share moves from stage to stage, never copied; LookBack holds
        // nothing while it is between them.
        let stage = std::mem::replace(&mut self.stage, ShareStage::LookBack);
        self.stage = match (stage, key.code) {
            // Only now, with the custodian alone at the screen, is the
            // share drawn; the screen is cleared first.
            (ShareStage::LookAway(lines), KeyCode::Enter) => {
                app.clear = true;
                ShareStage::Showing(lines)
            }
            // Copied: the share is dropped (SecretString wipes it) and
            // the screen cleared before anyone looks again.
            (ShareStage::Showing(lines), KeyCode::Char('y' | 'Y')) => {
                drop(lines);
                app.clear = true;
                ShareStage::LookBack
            }
            (ShareStage::LookBack, KeyCode::Enter) => return Some(Ok(Answer::ShareShown)),
            (stage, _) => stage,
        };
        None
    }

    pub fn keys(&self) -> &'static str {
        match self.stage {
            ShareStage::LookAway(_) => "Enter show the share  ? help  F10 abort",
            ShareStage::Showing(_) => "Y copied  ? help  F10 abort",
            ShareStage::LookBack => "Enter continue  ? help  F10 abort",
        }
    }

    /// Drawn alone on a cleared terminal.
    pub fn view(&self, frame: &mut Frame, area: Rect) {
        let ShowShare {
            step,
            custodian,
            kind,
            number,
            count,
            stage,
        } = self;
        let who = &custodian.name;
        let banner = banner(
            &format!("SHARE FOR {} ONLY", who.to_uppercase()),
            area.width,
        );
        let lines = match stage {
            ShareStage::LookAway(_) => vec![
                blank(),
                banner,
                blank(),
                strong(format!(
                    "Everyone except {who}: look away from the screen now."
                )),
                blank(),
                line(format!(
                    "{who} receives share {number} of {count} of the {} (step {}). It is shown once: copy it onto the paper share form.",
                    kind, step.id
                )),
                blank(),
                action("Enter", format!("show the share (only {who} is looking)")),
            ],
            ShareStage::Showing(share) => {
                let mut lines = vec![
                    banner,
                    strong(format!("{who}: share {number} of {count} of the {}", kind)),
                    blank(),
                ];
                // Borrowed from the secret: no copy of the share outlives this
                // frame except the terminal's own cells.
                for text in share.expose_secret().lines() {
                    lines.push(Line::styled(text, bold()));
                }
                lines.push(blank());
                lines.push(line(
                    "Read your copy back against the screen before you confirm.",
                ));
                lines.push(action(
                    "Y",
                    "I have copied it: wipe it now (it cannot be shown again)",
                ));
                lines
            }
            ShareStage::LookBack => vec![
                blank(),
                strong("The share is wiped from the screen and from the tool's memory."),
                blank(),
                line(format!(
                    "{who}: fold the share form and seal it in a tamper-evident bag."
                )),
                strong("Everyone may look at the screen again."),
                blank(),
                action("Enter", "continue: record the bag's serial"),
            ],
        };
        frame.render_widget(paragraph(lines), area);
    }
}
