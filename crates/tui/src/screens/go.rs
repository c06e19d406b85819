//! The go: before the token is initialised, a key generated or a
//! certificate signed, the whole screen shows what the HSM is about to do
//! (for a signature, the certificate as its to-be-signed bytes say, and the
//! pre-signing lint), and the step's performer gives the go with G, then Y.
//! Nothing else answers it: not giving the go is an abort (F10).

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::Imminent;
use keyceremony_script::{Participant, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::channel::{Answer, Reply};
use crate::format;
use crate::widgets::{action, blank, bold, line, loud, show, strong};

pub struct Go {
    pub step: Step,
    pub performer: Participant,
    pub imminent: Imminent,
    /// G was pressed: Y gives the go.
    pub confirming: bool,
}

impl Go {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        match (self.confirming, key.code) {
            (false, KeyCode::Char('g' | 'G')) => self.confirming = true,
            (true, KeyCode::Char('y' | 'Y')) => return Some(Ok(Answer::Go)),
            (true, KeyCode::Char('n' | 'N') | KeyCode::Esc) => self.confirming = false,
            _ => {}
        }
        None
    }

    pub fn keys(&self) -> &'static str {
        if self.confirming {
            "Y give the go  N go back"
        } else {
            "G give the go  ? help  F10 abort"
        }
    }

    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let Go {
            step,
            performer,
            imminent,
            confirming,
        } = self;
        let mut lines = vec![
            strong(format!("Step {}  {}: the go", step.id, step.title)),
            line(format!(
                "About to {}. Everyone reads it before {} gives the go:",
                imminent.what, performer.name
            )),
            blank(),
        ];
        let column = imminent
            .facts
            .iter()
            .map(|(label, _)| label.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        let room = usize::from(area.width).saturating_sub(column);
        for (label, value) in &imminent.facts {
            let parts = value.lines().flat_map(|part| format::wrap(part, room));
            for (i, part) in parts.enumerate() {
                let label = if i == 0 { label.as_str() } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("{label:<column$}"), bold()),
                    Span::raw(part),
                ]));
            }
        }
        match imminent.lint.as_deref() {
            Some([]) => lines.push(strong("Pre-signing lint: no finding")),
            Some(findings) => {
                for finding in findings {
                    lines.push(strong(format!("Pre-signing lint: {finding}")));
                }
            }
            None => {}
        }
        lines.push(blank());
        if *confirming {
            lines.push(Line::styled(
                format!("{}: give the go? The HSM acts at once.", performer.name),
                loud(),
            ));
            lines.push(action("Y", "give the go    N: go back"));
        } else {
            lines.push(action("G", format!("{} gives the go", performer.name)));
        }
        show(frame, area, lines)
    }
}
