//! The step list beside the step view: every step of the script marked
//! done, current or to come. It is as wide as its longest entry, so titles
//! read whole, while the step view keeps the width it has at 80 columns;
//! in a narrower terminal the titles are cut, and where even that leaves
//! the step view too little room the step view goes without the list.

use keyceremony_text::terminal_safe;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::{App, Phase};
use crate::explain::Finished;
use crate::widgets::loud;

/// The narrowest list worth drawing.
const MIN_WIDTH: u16 = 24;

/// The step view's width at 80 columns, beside a list of `MIN_WIDTH`: a
/// wider terminal gives the list room up to its longest entry first.
const VIEW_WIDTH: u16 = 54;

/// Columns between the list and the step view: a rule and a space.
const GAP: u16 = 2;

/// One entry as the list writes it, made safe for the terminal.
fn entry_text(mark: &str, id: &str, title: &str) -> String {
    terminal_safe(&format!("{mark} {id} {title}")).into_owned()
}

/// The list's width in an area `width` wide: its longest entry, within
/// what leaves the step view its room; 0 when the area is too narrow for
/// both.
pub fn width(app: &App, width: u16) -> u16 {
    let longest = app
        .steps
        .iter()
        .map(|e| entry_text("[x]", &e.step.id, &e.step.title).chars().count())
        .max()
        .unwrap_or(0);
    let longest = u16::try_from(longest).unwrap_or(u16::MAX);
    let room = width.saturating_sub(VIEW_WIDTH + GAP);
    if room < MIN_WIDTH {
        return 0;
    }
    longest.clamp(MIN_WIDTH, room)
}

/// The pane on the right of a list `list_width` wide in `area`.
pub fn pane(area: Rect, list_width: u16) -> Rect {
    if list_width == 0 {
        return area;
    }
    let used = (list_width + GAP).min(area.width);
    Rect {
        x: area.x + used,
        width: area.width - used,
        ..area
    }
}

/// Draws the list `list_width` wide (if any) and the rule beside it;
/// returns the pane on the right, one column in from the rule.
pub fn beside(app: &App, frame: &mut Frame, area: Rect, list_width: u16) -> Rect {
    if list_width == 0 {
        return area;
    }
    let [list, rule, _, right] = Layout::horizontal([
        Constraint::Length(list_width),
        Constraint::Length(1),
        Constraint::Length(GAP - 1),
        Constraint::Min(0),
    ])
    .areas(area);
    draw(app, frame, list);
    frame.render_widget(Block::new().borders(Borders::LEFT), rule);
    right
}

fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let height = usize::from(area.height);
    let current = app.current.unwrap_or(0);
    let offset = if app.steps.len() > height {
        current
            .saturating_sub(height / 2)
            .min(app.steps.len() - height)
    } else {
        0
    };
    let failed = matches!(app.phase, Phase::Finished(Finished::Stopped(_)));
    let width = usize::from(area.width);
    let lines: Vec<Line> = app
        .steps
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, entry)| {
            let (mark, style) = match (app.current, i) {
                (Some(c), i) if i < c => ("[x]", Style::new()),
                (Some(c), i) if i == c && failed => ("[!]", loud()),
                (Some(c), i) if i == c => ("[>]", loud()),
                _ => ("[ ]", Style::new()),
            };
            let text: String = entry_text(mark, &entry.step.id, &entry.step.title)
                .chars()
                .take(width)
                .collect();
            Line::styled(format!("{text:<width$}"), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
