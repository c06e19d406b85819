//! Before the ceremony starts, when the output folder holds a log that
//! stopped before its seal: resume it from the next step, or abort it with
//! a reason the log records. Enter on the start screen then does it.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::Interrupted;
use keyceremony_engine::operator::ResumeChoice;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::frame::AbortForm;
use crate::screens::TYPING;
use crate::widgets::{action, banner, blank, field, input_line, loud, show, strong};

pub struct Resume {
    pub interrupted: Box<Interrupted>,
    /// The reason typed after A (abort); None while choosing.
    pub abort: Option<AbortForm>,
}

impl Resume {
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        self.abort = match (self.abort.take(), key.code) {
            // A ceremony that can only be aborted (its token's shares
            // lost, its outputs changed): the engine refuses to resume
            // it too, R is simply not offered.
            (None, KeyCode::Char('r' | 'R')) if self.interrupted.refusal().is_none() => {
                app.resume = Some(ResumeChoice::Resume);
                return Some(Ok(Answer::Resume(ResumeChoice::Resume)));
            }
            (None, KeyCode::Char('a' | 'A')) => Some(AbortForm::default()),
            (None, _) => None,
            (Some(form), KeyCode::Char('y' | 'Y')) if form.confirming => {
                let choice = ResumeChoice::Abort {
                    reason: form.reason.value().to_string(),
                };
                app.resume = Some(choice.clone());
                return Some(Ok(Answer::Resume(choice)));
            }
            (Some(form), KeyCode::Char('n' | 'N') | KeyCode::Esc) if form.confirming => {
                Some(AbortForm {
                    confirming: false,
                    ..form
                })
            }
            (Some(form), _) if form.confirming => Some(form),
            (Some(_), KeyCode::Esc) => None,
            (Some(mut form), _) => {
                form.confirming = form.reason.key(key).is_some();
                Some(form)
            }
        };
        None
    }

    /// True while the reason is being typed.
    pub fn typing(&self) -> bool {
        self.abort.as_ref().is_some_and(|f| !f.confirming)
    }

    pub fn keys(&self) -> &'static str {
        match &self.abort {
            None => "R resume  A abort  ? help  F10 leave",
            Some(form) if form.confirming => "Y abort  N go back",
            Some(_) => TYPING,
        }
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let interrupted = &self.interrupted;
        let mut lines = vec![
            banner(
                "AN INTERRUPTED CEREMONY IS IN THE OUTPUT FOLDER",
                area.width,
            ),
            blank(),
            field(
                "Log",
                format!(
                    "{} entries, not sealed; last: {}",
                    interrupted.entries, interrupted.last
                ),
            ),
            field(
                "Done",
                if interrupted.completed.is_empty() {
                    "no step ended".to_string()
                } else {
                    format!("steps {}", interrupted.completed.join(" "))
                },
            ),
            field(
                "Next",
                interrupted
                    .next_step
                    .as_ref()
                    .map_or("none: only the seal is missing".to_string(), |s| {
                        format!("step {s}")
                    }),
            ),
            blank(),
        ];
        let refusal = interrupted.refusal();
        if let Some(why) = &refusal {
            lines.push(Line::styled(
                format!("It can only be aborted: {why}."),
                loud(),
            ));
            lines.push(blank());
        }
        match &self.abort {
            None => {
                if refusal.is_none() {
                    lines.push(action("R", "resume it from the next step"));
                }
                lines.push(action("A", "abort it (the log records the reason)"));
            }
            Some(form) => {
                lines.push(strong("Reason for the abort:"));
                lines.push(input_line(&form.reason));
                if form.confirming {
                    lines.push(action("Y", "abort the interrupted ceremony    N: go back"));
                } else {
                    lines.push(action("Enter", "continue    Esc: go back"));
                }
            }
        }
        show(frame, area, lines)
    }
}
