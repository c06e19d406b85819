//! `view`: the state drawn as widgets, nothing else. The frame (header,
//! footer, dialogs) is drawn around the screen of the question on screen;
//! each screen draws itself (`screens`). Every screen reads without
//! colour: the current item is bold and reversed, lists mark items [x]
//! done, [>] current, [ ] to come, and the key that acts is named in
//! words. Share text is drawn on the share screen only; secrets typed at
//! the keyboard are drawn as a count of asterisks.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Clear;

use crate::app::{App, Phase};
use crate::frame::{footer_bar, header_bar, overlay};
use crate::screens::{Active, finished, start, step};
use crate::widgets::{banner, blank, line, paragraph};

/// Draws the whole screen for `app`. A screen, or the dialog over it, that
/// does not fit whole is not drawn: a notice asks for a larger terminal,
/// and no key acts until the next draw fits (`App::too_small`), so that
/// nobody answers a question they cannot read in full.
pub fn view(app: &App, frame: &mut Frame) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    header_bar(app, frame, header);
    let fits = match (&app.phase, &app.active) {
        (Phase::Start, Some(Active::Network(screen))) => screen.view(frame, body),
        (Phase::Start, Some(Active::Resume(screen))) => screen.view(frame, body),
        (Phase::Start, Some(Active::LastHead(screen))) => screen.view(frame, body),
        (Phase::Start, Some(Active::Environment(screen))) => screen.view(frame, body),
        (Phase::Start, _) => start::view(app, frame, body),
        (Phase::Finished(ended), _) => finished::view(app, ended, frame, body),
        (Phase::Running, Some(Active::ShowShare(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::CheckIn(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::Choose(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::Share(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::Seal(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::CopyHead(screen))) => screen.view(frame, body),
        (Phase::Running, Some(Active::WitnessPin(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::Go(screen))) => screen.view(frame, body),
        (Phase::Running, Some(Active::CopyBack(screen))) => screen.view(frame, body),
        (Phase::Running, Some(Active::Presence(screen))) => screen.view(app, frame, body),
        (Phase::Running, Some(Active::WitnessSignature(screen))) => screen.view(frame, body),
        // The other questions are asked at the foot of the step view.
        (Phase::Running, _) => step::view(app, frame, body),
    };
    let fits = fits && overlay(app, frame, body);
    app.too_small.set(!fits);
    if !fits {
        too_small(frame, body);
    }
    footer_bar(app, frame, footer);
}

/// Instead of a screen that does not fit: what to do about it.
fn too_small(frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let lines = vec![
        banner("MAKE THE TERMINAL LARGER", area.width),
        blank(),
        line(format!(
            "This screen does not fit in {} columns and {} lines. Make the terminal larger (the shipped ceremonies fit in 80 x 24), or its font smaller.",
            frame.area().width,
            frame.area().height
        )),
        blank(),
        line("No key acts until the whole screen fits; nothing has been answered."),
    ];
    frame.render_widget(paragraph(lines), area);
}
