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
use crate::input::ShareInput;
use crate::widgets::{action, blank, bold, line, loud, masked, people, secret_name, show, strong};
use keyceremony_engine::InputError;

pub const KEYS: &str =
    "Enter end line  Backspace erase  Ctrl-U restart  Esc back  F1 help  F10 abort";

pub struct ShareEntry {
    pub step: Step,
    pub custodian: Participant,
    pub secret: Secret,
    pub entry: ShareInput,
    /// Why this custodian's last share was refused: shown to them as they
    /// type it again, and to nobody after.
    pub refused: Option<String>,
}

impl ShareEntry {
    /// Esc: the custodian steps back, and the room chooses again who
    /// comes forward (what was typed is wiped with the screen).
    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        if key.code == KeyCode::Esc {
            return Some(Err(InputError::ChooseAgain));
        }
        self.entry.key(key).map(|share| Ok(Answer::Secret(share)))
    }

    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        let ShareEntry {
            step,
            custodian,
            secret,
            entry,
            refused,
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
            people(app, step),
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
        if let Some(why) = refused {
            lines.push(strong(format!("! {why}")));
        }
        lines.push(enter_line(entry, "submit the share: the tool checks it"));
        lines.push(action(
            "Esc",
            format!(
                "{} steps back: the room chooses again who comes forward",
                custodian.name
            ),
        ));
        show(frame, area, lines)
    }
}

/// The lines of a share being typed: done, current, to come, each a count
/// of asterisks, never what was typed.
pub(crate) fn entry_rows(entry: &ShareInput) -> Vec<Line<'static>> {
    // The counts line up one column past the longest label.
    let width = entry.labels().iter().map(String::len).max().unwrap_or(0) + 1;
    entry
        .labels()
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let (mark, style) = match i.cmp(&entry.line()) {
                std::cmp::Ordering::Less => ("[x]", Style::new()),
                std::cmp::Ordering::Equal => ("[>]", bold()),
                std::cmp::Ordering::Greater => ("[ ]", Style::new()),
            };
            let typed = match entry.line_len(i) {
                Some(0) if i == entry.line() && entry.blank_enter() => {
                    "(empty: type this line from the paper first)".to_string()
                }
                len => len.map(masked).unwrap_or_default(),
            };
            Line::styled(format!("{mark} {label:<width$} {typed}"), style)
        })
        .collect()
}

/// What Enter does now: end the line, or `last` on the last one.
pub(crate) fn enter_line(entry: &ShareInput, last: &str) -> Line<'static> {
    let labels = entry.labels();
    let what = if entry.line() + 1 == labels.len() {
        last.to_string()
    } else {
        format!(
            "end line {} of {} ({})",
            entry.line() + 1,
            labels.len(),
            labels[entry.line()]
        )
    };
    action("Enter", what)
}
