//! Share entry: each chosen custodian, alone at the keyboard, types their
//! share line by line from the paper copy; nothing typed is drawn but a
//! count of asterisks.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_script::{Participant, Secret, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::{Field, SHARE_LINES, ShareInput};
use crate::widgets::{action, blank, bold, line, loud, masked, paragraph, secret_name, strong};

pub const KEYS: &str = "Enter end line  Backspace erase  Ctrl-U restart  F1 help  F10 abort";

pub struct ShareEntry {
    pub step: Step,
    pub custodian: Participant,
    pub secret: Secret,
    pub entry: ShareInput,
}

impl ShareEntry {
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        if key.code == KeyCode::Enter && self.entry.end_line() {
            return Some(Ok(Answer::Secret(self.entry.take())));
        }
        self.entry.edit(key);
        None
    }

    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) {
        let ShareEntry {
            step,
            custodian,
            secret,
            entry,
        } = self;
        let position = app.chosen.iter().position(|id| id == &custodian.id);
        let total = app.chosen.len();
        let mut lines = vec![
            strong(format!(
                "Step {}  {}: {} share entry",
                step.id,
                step.title,
                secret_name(*secret)
            )),
            blank(),
            Line::styled(
                format!(
                    "At the keyboard: {} (custodian {} of {total})",
                    custodian.name,
                    position.map_or(1, |p| p + 1)
                ),
                loud(),
            ),
            line(format!(
                "Shares entered so far: {} of {total}",
                position.unwrap_or(0)
            )),
            line(format!(
                "Everyone except {}: look away from the keyboard. Nothing typed is shown.",
                custodian.name
            )),
            line(format!(
                "{}: type your share from your paper copy, one line at a time.",
                custodian.name
            )),
            blank(),
        ];
        lines.extend(entry_rows(entry));
        lines.push(blank());
        if let Some(warning) = &app.warning {
            lines.push(strong(format!("! {warning}")));
        }
        lines.push(enter_line(entry, "submit the share: the tool checks it"));
        frame.render_widget(paragraph(lines), area);
    }
}

/// The four lines of a share being typed: done, current, to come, each a
/// count of asterisks, never what was typed.
pub(crate) fn entry_rows(entry: &ShareInput) -> Vec<Line<'static>> {
    SHARE_LINES
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let (mark, style) = match i.cmp(&entry.line()) {
                std::cmp::Ordering::Less => ("[x]", Style::new()),
                std::cmp::Ordering::Equal => ("[>]", bold()),
                std::cmp::Ordering::Greater => ("[ ]", Style::new()),
            };
            let typed = entry.line_len(i).map(masked).unwrap_or_default();
            Line::styled(format!("{mark} {label:<15} {typed}"), style)
        })
        .collect()
}

/// What Enter does now: end the line, or `last` on the last one.
pub(crate) fn enter_line(entry: &ShareInput, last: &str) -> Line<'static> {
    let what = if entry.line() + 1 == SHARE_LINES.len() {
        last.to_string()
    } else {
        format!(
            "end line {} of {} ({})",
            entry.line() + 1,
            SHARE_LINES.len(),
            SHARE_LINES[entry.line()]
        )
    };
    action("Enter", what)
}
