//! The go: before the token is initialised, a key generated or a
//! certificate signed, the whole screen shows what the HSM is about to do
//! (for a signature, the certificate as its to-be-signed bytes say, and the
//! pre-signing lint), and the step's performer gives the go with G, then Y.
//! Nothing else answers it: not giving the go is an abort (F10). What does
//! not fit on the terminal scrolls (Down, PgDn), and the go is taken only
//! once its last line has been on screen.

use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::Imminent;
use keyceremony_script::{Participant, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use crate::channel::{Answer, Reply};
use crate::format;
use crate::widgets::{action, blank, bold, line, loud, paragraph, strong};

pub struct Go {
    pub step: Step,
    pub performer: Participant,
    pub imminent: Imminent,
    /// G was pressed: Y gives the go.
    pub confirming: bool,
    /// Lines scrolled off the top.
    pub scroll: u16,
    /// Lines that did not fit at the last drawing, below the scroll.
    pub below: Cell<u16>,
}

impl Go {
    /// A go for `imminent`, shown from its first line.
    pub fn new(step: Step, performer: Participant, imminent: Imminent) -> Go {
        Go {
            step,
            performer,
            imminent,
            confirming: false,
            scroll: 0,
            below: Cell::new(0),
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        let below = self.below.get();
        match (self.confirming, key.code) {
            (false, KeyCode::Down | KeyCode::PageDown) if below > 0 => {
                let by = if key.code == KeyCode::Down { 1 } else { 10 };
                self.scroll += by.min(below);
            }
            (false, KeyCode::Up | KeyCode::PageUp) => {
                let by = if key.code == KeyCode::Up { 1 } else { 10 };
                self.scroll = self.scroll.saturating_sub(by);
            }
            // The room reads it all before the go.
            (false, KeyCode::Char('g' | 'G')) if below == 0 => self.confirming = true,
            (true, KeyCode::Char('y' | 'Y')) => return Some(Ok(Answer::Go)),
            (true, KeyCode::Char('n' | 'N') | KeyCode::Esc) => self.confirming = false,
            _ => {}
        }
        None
    }

    pub fn keys(&self) -> &'static str {
        if self.confirming {
            "Y give the go  N go back"
        } else if self.below.get() > 0 {
            "PgDn read on  ? help  F10 abort"
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
            scroll,
            below,
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
        let mut foot = vec![blank()];
        if *confirming {
            foot.push(Line::styled(
                format!("{}: give the go? The HSM acts at once.", performer.name),
                loud(),
            ));
            foot.push(action("Y", "give the go    N: go back"));
        } else {
            foot.push(action("G", format!("{} gives the go", performer.name)));
        }
        let rows = u16::try_from(paragraph(lines.clone()).line_count(area.width))
            .unwrap_or(u16::MAX)
            .saturating_add(3);
        if rows <= area.height {
            below.set(0);
            lines.extend(foot);
            frame.render_widget(paragraph(lines), area);
            return true;
        }
        // Too long for the terminal: the question stays at the foot and
        // what it is about scrolls above it, in at least a line; a question
        // cut off is never shown.
        if area.height < 4 || paragraph(foot.clone()).line_count(area.width) > 3 {
            return false;
        }
        let [top, bottom] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(3)]).areas(area);
        below.set(rows.saturating_sub(3 + top.height).saturating_sub(*scroll));
        if below.get() > 0 && !*confirming {
            foot[1] = action(
                "PgDn",
                format!(
                    "{} more line(s) below: everyone reads to the end before the go",
                    below.get()
                ),
            );
        }
        frame.render_widget(paragraph(lines).scroll((*scroll, 0)), top);
        frame.render_widget(paragraph(foot), bottom);
        true
    }
}
