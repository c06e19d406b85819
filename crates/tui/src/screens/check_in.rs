//! Check-in: the witness records each participant in turn, against the
//! roster: the kind of identity document checked, or, Enter on an empty
//! field, that they are absent and why. The witness's own identity is
//! checked by the log examiner. On a resume, someone identified earlier is
//! only asked about: in the room (Y) or absent (N, with the reason).

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::{Attendance, Identity};
use keyceremony_script::{Participant, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{action, blank, input_line, line, loud, person, show, strong};

pub struct CheckIn {
    pub step: Step,
    pub participant: Participant,
    /// Who checks them.
    pub witness: Participant,
    /// Identified earlier in this ceremony.
    pub identified: bool,
    /// The kind of document checked (never its number).
    pub input: TextInput,
    /// Recording an absence: the reason typed.
    pub absent: Option<TextInput>,
}

impl CheckIn {
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        if let Some(reason) = self.absent.as_mut() {
            if key.code == KeyCode::Esc {
                self.absent = None;
                return None;
            }
            let reason = reason.key(key)?;
            return self.answer(
                app,
                format!("absent: {reason}"),
                Attendance::Absent { reason },
            );
        }
        if self.identified {
            return match key.code {
                KeyCode::Char('y' | 'Y') => {
                    self.answer(app, "in the room".to_string(), Attendance::InRoom)
                }
                KeyCode::Char('n' | 'N') => {
                    self.absent = Some(TextInput::default());
                    None
                }
                _ => None,
            };
        }
        if key.code == KeyCode::Enter && self.input.value().trim().is_empty() {
            self.absent = Some(TextInput::default());
            return None;
        }
        let document = self.input.key(key)?;
        self.answer(
            app,
            document.clone(),
            Attendance::Identified(Identity { document }),
        )
    }

    fn answer(&self, app: &mut App, shown: String, attendance: Attendance) -> Option<Reply> {
        let present = !matches!(attendance, Attendance::Absent { .. });
        app.checked_in.push((self.participant.id.clone(), shown));
        app.present(&self.participant.id, present, true);
        Some(Ok(Answer::Attendance(attendance)))
    }

    /// True while a document or a reason is typed.
    pub fn typing(&self) -> bool {
        !self.identified || self.absent.is_some()
    }

    pub fn keys(&self) -> &'static str {
        match (&self.absent, self.identified) {
            (Some(_), _) => "Enter record the absence  Backspace erase  Esc back  F1 help",
            (None, true) => "Y in the room  N absent  ? help  F10 abort",
            (None, false) => crate::screens::TYPING,
        }
    }

    /// The roster, marked done, current and to come, then the question.
    #[must_use]
    pub fn view(&self, app: &App, frame: &mut Frame, area: Rect) -> bool {
        let CheckIn {
            step,
            participant,
            witness,
            identified,
            input,
            absent,
        } = self;
        let mut lines = vec![
            strong(format!("Step {}  {}", step.id, step.title)),
            line(format!(
                "Witness {} records each participant; the log examiner checks the witness.",
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
            let shown = app
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
            let text = format!("{mark} {:<16} {:<29} {shown}", p.name, roles.join(", "));
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
        match (absent, identified) {
            (Some(reason), _) => {
                lines.push(line(format!(
                    "{} is absent. {} records why:",
                    participant.name, witness.name
                )));
                lines.push(input_line(reason));
                lines.push(action(
                    "Enter",
                    format!("record {} as absent", participant.name),
                ));
            }
            (None, true) => {
                lines.push(line(format!(
                    "{} was identified earlier in this ceremony. Is {} in the room?",
                    participant.name, participant.name
                )));
                lines.push(action("Y", "in the room    N: absent (then the reason)"));
            }
            (None, false) => {
                lines.push(line(format!(
                    "{} compares {}'s photo identity document with the roster. Kind of document checked (never its number), or Enter alone if {} is absent:",
                    witness.name, participant.name, participant.name
                )));
                lines.push(input_line(input));
                lines.push(action(
                    "Enter",
                    format!("{} confirms {}'s identity", witness.name, participant.name),
                ));
            }
        }
        show(frame, area, lines)
    }
}
