//! Check-in: the witness checks each participant's identity document
//! against the roster, one participant at a time.

use crossterm::event::KeyEvent;
use keyceremony_engine::Identity;
use keyceremony_script::{Participant, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, blank, input_line, line, loud, paragraph, person, strong};

pub struct CheckIn {
    pub step: Step,
    pub participant: Participant,
    pub witness: Participant,
    /// The kind of document checked (never its number).
    pub input: TextInput,
}

impl CheckIn {
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        let document = self.input.key(key)?;
        app.checked_in
            .push((self.participant.id.clone(), document.clone()));
        Some(Ok(Answer::Identity(Identity { document })))
    }

    /// The roster, marked done, current and to come, then the question.
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) {
        let CheckIn {
            step,
            participant,
            witness,
            input,
        } = self;
        let mut lines = vec![
            strong(format!("Step {}  {}", step.id, step.title)),
            line(format!(
                "Witness {} checks each participant's identity document.",
                person(witness)
            )),
            blank(),
        ];
        let position = app
            .participants
            .iter()
            .position(|p| p.id == participant.id)
            .unwrap_or(0);
        for (i, p) in app.participants.iter().enumerate() {
            let roles: Vec<&str> = p.roles.iter().map(|r| r.title()).collect();
            let document = app
                .checked_in
                .iter()
                .rev()
                .find(|(id, _)| id == &p.id)
                .map(|(_, d)| d.as_str())
                .unwrap_or("");
            let (mark, style) = if i < position {
                ("[x]", Style::new())
            } else if i == position {
                ("[>]", loud())
            } else {
                ("[ ]", Style::new())
            };
            let text = format!("{mark} {:<16} {:<29} {document}", p.name, roles.join(", "));
            let text: String = text.chars().take(usize::from(area.width)).collect();
            lines.push(Line::styled(text, style));
        }
        lines.push(blank());
        lines.push(strong(format!(
            "Now: {} ({} of {})",
            person(participant),
            position + 1,
            app.participants.len()
        )));
        lines.push(line(format!(
            "{} compares {}'s photo identity document with the roster. Kind of document checked (never its number):",
            witness.name, participant.name
        )));
        lines.push(input_line(input));
        lines.push(action(
            "Enter",
            format!("{} confirms {}'s identity", witness.name, participant.name),
        ));
        frame.render_widget(paragraph(lines), area);
    }
}
