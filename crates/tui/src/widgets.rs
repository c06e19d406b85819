//! The pieces every screen is drawn with. None uses colour: what matters is
//! bold, or bold and reversed, so every screen reads on a monochrome
//! terminal, and the key that acts is named in words.

use std::borrow::Cow;

use keyceremony_script::{Participant, Secret, Step};
use keyceremony_text::terminal_safe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::app::App;
use crate::format;
use crate::input::TextInput;

pub fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn loud() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
}

pub fn line(text: impl Into<String>) -> Line<'static> {
    Line::raw(text.into())
}

pub fn strong(text: impl Into<String>) -> Line<'static> {
    Line::styled(text.into(), bold())
}

pub fn blank() -> Line<'static> {
    Line::raw("")
}

/// A screen's title, centred across `width` and reversed.
pub fn banner(text: &str, width: u16) -> Line<'static> {
    Line::styled(
        format!("{text:^width$}", width = usize::from(width)),
        loud(),
    )
}

/// "label  value" with the label in bold.
pub fn field(label: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<10} "), bold()),
        Span::raw(value.into()),
    ])
}

/// A field whose value wraps under itself, not under the label.
pub fn fields(label: &str, value: &str, width: u16) -> Vec<Line<'static>> {
    let room = usize::from(width).saturating_sub(11);
    format::wrap(value, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| field(if i == 0 { label } else { "" }, part))
        .collect()
}

/// Lines of `text` wrapped to `width`, each indented by two spaces.
pub fn indented(text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    format::wrap(text, usize::from(width).saturating_sub(2))
        .into_iter()
        .map(|part| Line::styled(format!("  {part}"), style))
        .collect()
}

/// A field holding a hash, in groups of hex, the label on the first line.
pub fn hex_field(label: &str, hex: &str) -> Vec<Line<'static>> {
    format::hex_groups(hex, 8)
        .into_iter()
        .enumerate()
        .map(|(i, group)| field(if i == 0 { label } else { "" }, group))
        .collect()
}

/// A hash in bold groups of hex, indented, for copying by hand.
pub fn hex_lines(hex: &str) -> impl Iterator<Item = Line<'static>> {
    format::hex_groups(hex, 8)
        .into_iter()
        .map(|group| Line::styled(format!("  {group}"), bold()))
}

/// A fingerprint to read aloud: its title, the hex in groups, and the same
/// in PGP words.
pub fn fingerprint(title: String, hex: &str, width: u16) -> Vec<Line<'static>> {
    let mut lines = vec![strong(title)];
    lines.extend(hex_lines(hex));
    lines.extend(indented(
        &format::pgp_words(hex).join(" "),
        width,
        Style::new(),
    ));
    lines
}

/// What pressing Enter (or another key) will do, always the last line of a
/// question so the room knows before anyone presses it.
pub fn action(key: &str, what: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {key} "), loud()),
        Span::styled(format!(" {}", what.into()), bold()),
    ])
}

/// A field as typed, with the cursor; after Enter on an empty field, the
/// hint that something must be typed first.
pub fn input_line(input: &TextInput) -> Line<'static> {
    let mut spans = vec![
        Span::styled("> ", bold()),
        Span::raw(input.text().to_string()),
        Span::styled("_", Style::new().add_modifier(Modifier::SLOW_BLINK)),
    ];
    if input.blank_enter() {
        spans.push(Span::styled(
            "  (nothing typed yet: type it, then Enter)",
            bold(),
        ));
    }
    Line::from(spans)
}

/// Asterisks and a count: all that is ever drawn of a secret entry.
pub fn masked(len: usize) -> String {
    if len == 0 {
        String::new()
    } else {
        format!("{} ({len})", "*".repeat(len.min(40)))
    }
}

pub fn secret_name(secret: Secret) -> &'static str {
    match secret {
        Secret::SoPin => "SO PIN",
        Secret::UserPin => "user PIN",
        Secret::WrapKey => "backup wrap key",
    }
}

/// Who performs `step` and who witnesses it, on one line.
pub fn people(app: &App, step: &Step) -> Line<'static> {
    let name = |id: &str| {
        app.participant(id)
            .map_or(id, |p| p.name.as_str())
            .to_string()
    };
    Line::from(vec![
        Span::styled("Performer ", bold()),
        Span::raw(name(&step.performer)),
        Span::styled("   Witness ", bold()),
        Span::raw(name(&step.witness)),
    ])
}

/// A participant's name and roles.
pub fn person(p: &Participant) -> String {
    let roles: Vec<&str> = p.roles.iter().map(|r| r.title()).collect();
    if roles.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, roles.join(", "))
    }
}

/// Lines that wrap at the area's width: how every screen and dialog draws
/// its text, each line made safe for the terminal ([`safe_line`]).
pub fn paragraph<'a>(lines: Vec<Line<'a>>) -> Paragraph<'a> {
    let lines: Vec<Line<'a>> = lines.into_iter().map(safe_line).collect();
    Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false })
}

/// A line whose text came from a script, an answers file, a log, a token or
/// the keyboard, as it may be drawn: an escape sequence, a bidirectional
/// control or an invisible character shows as `\u{1b}` instead of acting on
/// the terminal (keyceremony_text::terminal_safe). A borrowed span that
/// needs nothing escaped stays borrowed, so the share the share screen lends
/// for one frame (base32, never escaped) is not copied.
pub fn safe_line(line: Line<'_>) -> Line<'_> {
    Line {
        spans: line.spans.into_iter().map(safe_span).collect(),
        ..line
    }
}

fn safe_span(span: Span<'_>) -> Span<'_> {
    let content = match span.content {
        Cow::Borrowed(text) => terminal_safe(text),
        Cow::Owned(text) => {
            let escaped = match terminal_safe(&text) {
                Cow::Owned(escaped) => Some(escaped),
                Cow::Borrowed(_) => None,
            };
            Cow::Owned(escaped.unwrap_or(text))
        }
    };
    Span { content, ..span }
}

/// A box centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Rows `lines` take, wrapped at `width`.
pub fn rows(lines: &[Line<'_>], width: u16) -> usize {
    paragraph(lines.to_vec()).line_count(width)
}

/// Draws a screen's lines in `area` when all of them fit, wrapped; false,
/// with nothing drawn, when they do not (the view then asks for a larger
/// terminal instead, `crate::fit`): a screen is shown whole or not at all.
#[must_use]
pub fn show(frame: &mut Frame, area: Rect, lines: Vec<Line<'_>>) -> bool {
    let paragraph = paragraph(lines);
    if paragraph.line_count(area.width) > usize::from(area.height) {
        return false;
    }
    frame.render_widget(paragraph, area);
    true
}

/// A titled box of `width` columns centred in `area` and drawn over
/// whatever is under it, as tall as its lines wrap to; false, with nothing
/// drawn, when it does not fit.
#[must_use]
pub fn boxed(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    title: &str,
    lines: Vec<Line<'static>>,
) -> bool {
    let width = width.min(area.width);
    let height = rows(&lines, width.saturating_sub(2)) + 2;
    let Ok(height) = u16::try_from(height) else {
        return false;
    };
    if height > area.height {
        return false;
    }
    let area = centered(area, width, height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        paragraph(lines).block(
            Block::new()
                .borders(Borders::ALL)
                .title(Span::styled(format!(" {title} "), bold())),
        ),
        area,
    );
    true
}
