//! Share distribution: a new share is shown to its custodian alone, on a
//! cleared terminal, in two stages (everyone else looks away, the share is
//! shown); Y clears it from the screen, and the custodian types it back from
//! their paper (`copy_check`) before the tool wipes it. It is shown again
//! only when that copy differs.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::{Participant, Step};
use keyceremony_shares::SecretKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::widgets::{action, banner, blank, bold, line, show, strong};

pub struct ShowShare {
    pub step: Step,
    pub custodian: Participant,
    pub kind: SecretKind,
    pub number: u8,
    pub count: u8,
    pub stage: ShareStage,
    /// Why the custodian's last copy of this share was wrong, when it is
    /// shown again to be corrected.
    pub correction: Option<String>,
}

/// The share screen's stages.
pub enum ShareStage {
    /// The share is held, not drawn, until the custodian is alone.
    LookAway(SecretString),
    Showing(SecretString),
    /// Y was pressed: the share is off the screen.
    Copied,
}

impl ShowShare {
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        // The share moves from stage to stage, never copied; Copied holds
        // nothing while it is between them.
        let stage = std::mem::replace(&mut self.stage, ShareStage::Copied);
        self.stage = match (stage, key.code) {
            // Only now, with the custodian alone at the screen, is the
            // share drawn; the screen is cleared first.
            (ShareStage::LookAway(lines), KeyCode::Enter) => {
                app.clear = true;
                ShareStage::Showing(lines)
            }
            // Copied: the share is dropped (SecretString wipes it) and the
            // screen cleared before the custodian types their copy back.
            (ShareStage::Showing(lines), KeyCode::Char('y' | 'Y')) => {
                drop(lines);
                app.clear = true;
                return Some(Ok(Answer::ShareShown));
            }
            (stage, _) => stage,
        };
        None
    }

    pub fn keys(&self) -> &'static str {
        match self.stage {
            ShareStage::LookAway(_) => "Enter show the share  ? help  F10 abort",
            ShareStage::Showing(_) => "Y copied  ? help  F10 abort",
            ShareStage::Copied => "",
        }
    }

    /// Drawn alone on a cleared terminal; the share is not drawn while a
    /// dialog is open over it (the room may be looking at the dialog).
    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        let ShowShare {
            step,
            custodian,
            kind,
            number,
            count,
            stage,
            correction,
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
                    "{who} receives share {number} of {count} of the {} (step {}). Copy it onto the paper share form, then type it back from the form: it is shown again only if that copy differs.",
                    kind, step.id
                )),
                blank(),
                action("Enter", format!("show the share (only {who} is looking)")),
            ],
            ShareStage::Showing(_) if app.overlay.is_some() => vec![
                blank(),
                banner,
                blank(),
                strong(format!(
                    "{who}'s share is hidden while the dialog is open; closing it shows the share again to {who} alone."
                )),
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
                if let Some(why) = correction {
                    lines.push(strong(format!(
                        "! Your copy differed ({why}): correct your paper copy."
                    )));
                }
                lines.push(line(
                    "Read your copy back against the screen; after Y you type it back from the paper.",
                ));
                lines.push(action(
                    "Y",
                    "I have copied it: take it off the screen and let me type it back",
                ));
                lines
            }
            ShareStage::Copied => Vec::new(),
        };
        show(frame, area, lines)
    }
}
