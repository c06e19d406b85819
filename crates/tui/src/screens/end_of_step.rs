//! The end of a step, at the foot of the step view: the witness records
//! the step's exceptions (the exception sheet: what deviated, accepted or
//! not, a remark), then confirms the step or refuses it with a remark.

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::Verdict;
use keyceremony_engine::operator::ExceptionReport;
use keyceremony_script::{Participant, Step};
use ratatui::text::Line;

use crate::app::App;
use crate::channel::{Answer, Reply};
use crate::input::{Field, TextInput};
use crate::widgets::{action, input_line, line, loud, strong};

/// Which question the end-of-step screen answers: the engine asks for the
/// step's exceptions, then for the witness's verdict. The witness decides
/// both on one screen; the verdict is kept for the question that follows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EndAsks {
    Exceptions,
    Verdict,
}

/// What the witness is deciding.
pub enum StepForm {
    /// The step view; Enter moves on to [`StepForm::Confirm`].
    Idle,
    /// "Confirm step X? Y/N".
    Confirm,
    /// An exception is not accepted: "record it and stop? Y/N".
    Stop,
    Exception(ExceptionForm),
    Refuse {
        remark: TextInput,
        confirming: bool,
    },
}

/// One exception, as the exception sheet asks for it.
#[derive(Default)]
pub struct ExceptionForm {
    pub description: TextInput,
    pub stage: ExceptionStage,
    pub accepted: bool,
    pub remark: TextInput,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum ExceptionStage {
    #[default]
    Describe,
    Accept,
    Remark,
}

pub struct EndOfStep {
    pub step: Step,
    pub witness: Participant,
    pub asks: EndAsks,
    /// Added so far, recorded with the answer to [`EndAsks::Exceptions`].
    pub exceptions: Vec<ExceptionReport>,
    pub form: StepForm,
}

/// The verdict the witness gave with the step's exceptions: it answers the
/// engine's verdict question on `step` at once. Taken by any verdict
/// question, so it never answers a later step's.
pub fn decided(app: &mut App, step: &Step) -> Option<Verdict> {
    app.decided
        .take()
        .filter(|(id, _)| *id == step.id)
        .map(|(_, verdict)| verdict)
}

impl EndOfStep {
    pub fn new(step: Step, witness: Participant, asks: EndAsks) -> EndOfStep {
        EndOfStep {
            step,
            witness,
            asks,
            exceptions: Vec::new(),
            form: StepForm::Idle,
        }
    }

    /// The answer to the question asked, once the witness has decided.
    fn decide(&mut self, app: &mut App, verdict: Verdict) -> Option<Reply> {
        Some(Ok(match self.asks {
            EndAsks::Exceptions => {
                app.decided = Some((self.step.id.clone(), verdict));
                Answer::Exceptions(std::mem::take(&mut self.exceptions))
            }
            EndAsks::Verdict => Answer::Verdict(verdict),
        }))
    }

    /// An exception to record is not accepted: recording it stops the
    /// ceremony, so the step is not confirmed as scripted.
    fn stops(&self) -> bool {
        self.exceptions.iter().any(|e| !e.accepted)
    }

    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        let form = std::mem::replace(&mut self.form, StepForm::Idle);
        self.form = match form {
            StepForm::Idle => match key.code {
                KeyCode::Enter if self.stops() => StepForm::Stop,
                KeyCode::Enter => StepForm::Confirm,
                // Not recorded yet: the witness may take it back.
                KeyCode::Char('w' | 'W') => {
                    self.exceptions.pop();
                    StepForm::Idle
                }
                KeyCode::Char('e' | 'E') if self.asks == EndAsks::Exceptions => {
                    StepForm::Exception(ExceptionForm::default())
                }
                KeyCode::Char('r' | 'R') => StepForm::Refuse {
                    remark: TextInput::default(),
                    confirming: false,
                },
                _ => StepForm::Idle,
            },
            StepForm::Confirm => match key.code {
                KeyCode::Char('y' | 'Y') => return self.decide(app, Verdict::Confirmed),
                KeyCode::Char('n' | 'N') | KeyCode::Esc => StepForm::Idle,
                _ => StepForm::Confirm,
            },
            // The engine records the exceptions and stops on the one not
            // accepted: no verdict is kept for a question that never comes.
            StepForm::Stop => match key.code {
                KeyCode::Char('y' | 'Y') => {
                    return Some(Ok(Answer::Exceptions(std::mem::take(&mut self.exceptions))));
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => StepForm::Idle,
                _ => StepForm::Stop,
            },
            StepForm::Refuse {
                mut remark,
                confirming,
            } => match (confirming, key.code) {
                (true, KeyCode::Char('y' | 'Y')) => {
                    let verdict = Verdict::Refused {
                        remark: remark.value().to_string(),
                    };
                    return self.decide(app, verdict);
                }
                (true, KeyCode::Char('n' | 'N') | KeyCode::Esc) => StepForm::Refuse {
                    remark,
                    confirming: false,
                },
                (true, _) => StepForm::Refuse {
                    remark,
                    confirming: true,
                },
                (false, KeyCode::Esc) => StepForm::Idle,
                (false, _) => StepForm::Refuse {
                    confirming: remark.key(key).is_some(),
                    remark,
                },
            },
            StepForm::Exception(_) if key.code == KeyCode::Esc => StepForm::Idle,
            StepForm::Exception(form) => self.exception_key(form, key),
        };
        None
    }

    /// A key on the exception sheet: the form as it is afterwards; Idle
    /// once the exception is added.
    fn exception_key(&mut self, mut form: ExceptionForm, key: KeyEvent) -> StepForm {
        match form.stage {
            ExceptionStage::Describe => {
                if form.description.key(key).is_some() {
                    form.stage = ExceptionStage::Accept;
                }
            }
            ExceptionStage::Accept => match key.code {
                KeyCode::Char('y' | 'Y') => {
                    form.accepted = true;
                    form.stage = ExceptionStage::Remark;
                }
                KeyCode::Char('n' | 'N') => {
                    form.accepted = false;
                    form.stage = ExceptionStage::Remark;
                }
                _ => {}
            },
            ExceptionStage::Remark => {
                // A refused exception stops the ceremony: the witness must
                // say why.
                if key.code == KeyCode::Enter && (form.accepted || !form.remark.value().is_empty())
                {
                    self.exceptions.push(ExceptionReport {
                        description: form.description.value().to_string(),
                        accepted: form.accepted,
                        remark: form.remark.value().to_string(),
                    });
                    return StepForm::Idle;
                }
                form.remark.edit(key);
            }
        }
        StepForm::Exception(form)
    }

    /// True while a description or a remark is being typed.
    pub fn typing(&self) -> bool {
        matches!(
            self.form,
            StepForm::Exception(ExceptionForm {
                stage: ExceptionStage::Describe | ExceptionStage::Remark,
                ..
            }) | StepForm::Refuse {
                confirming: false,
                ..
            }
        )
    }

    pub fn keys(&self) -> &'static str {
        match &self.form {
            StepForm::Idle if self.stops() => {
                "Enter record and stop  E exception  W withdraw  R refuse  F10 abort"
            }
            StepForm::Idle if !self.exceptions.is_empty() => {
                "Enter confirm  E exception  W withdraw  R refuse  ? help  F10 abort"
            }
            StepForm::Idle if self.asks == EndAsks::Exceptions => {
                "Enter confirm  E exception  R refuse  ? help  F10 abort"
            }
            StepForm::Idle => "Enter confirm  R refuse  ? help  F10 abort",
            StepForm::Confirm => "Y confirm  N go back",
            StepForm::Stop => "Y record and stop  N go back",
            StepForm::Refuse {
                confirming: true, ..
            } => "Y refuse  N go back",
            StepForm::Exception(ExceptionForm {
                stage: ExceptionStage::Accept,
                ..
            }) => "Y accepted  N not accepted  Esc cancel",
            _ => "Enter submit  Backspace erase  Esc cancel  F1 help",
        }
    }

    /// The exceptions to record, then what the witness is asked now.
    pub fn prompt(&self) -> Vec<Line<'static>> {
        let EndOfStep {
            step,
            witness,
            exceptions,
            form,
            ..
        } = self;
        let witness = &witness.name;
        let mut lines = Vec::new();
        for (i, e) in exceptions.iter().enumerate() {
            lines.push(line(format!(
                "Exception {} (to record): {} [{}]{}",
                i + 1,
                e.description,
                if e.accepted {
                    "accepted"
                } else {
                    "NOT accepted"
                },
                if e.remark.is_empty() {
                    String::new()
                } else {
                    format!(" {}", e.remark)
                }
            )));
        }
        match form {
            StepForm::Idle if self.stops() => {
                lines.push(strong(format!(
                    "End of step {}: an exception is NOT accepted, so the step is not confirmed; recording it stops the ceremony (W withdraws the last exception, R refuses the step).",
                    step.id
                )));
                lines.push(action("Enter", "record the exceptions: the ceremony stops"));
            }
            StepForm::Idle => {
                lines.push(strong(format!(
                    "End of step {}: witness {witness}.",
                    step.id
                )));
                lines.push(action(
                    "Enter",
                    format!("{witness} confirms step {}", step.id),
                ));
            }
            StepForm::Stop => lines.extend(yes_or_no(
                format!(
                    "{witness}: record the exceptions of step {} and stop the ceremony?",
                    step.id
                ),
                "record and stop",
            )),
            StepForm::Confirm => lines.extend(yes_or_no(
                format!(
                    "{witness}: confirm that step {} was performed as scripted?",
                    step.id
                ),
                "confirm",
            )),
            StepForm::Refuse { remark, confirming } => {
                lines.push(strong(format!(
                    "{witness} refuses step {}. Remark (why):",
                    step.id
                )));
                lines.push(input_line(remark));
                if *confirming {
                    lines.push(Line::styled(
                        "Refusing stops the ceremony; the log records the remark.",
                        loud(),
                    ));
                    lines.push(action("Y", "refuse the step    N: go back"));
                } else {
                    lines.push(action("Enter", "continue    Esc: cancel"));
                }
            }
            StepForm::Exception(form) => {
                lines.push(strong(format!(
                    "Exception in step {} (exception sheet):",
                    step.id
                )));
                lines.push(line("What deviated from the script:"));
                if form.stage == ExceptionStage::Describe {
                    lines.push(input_line(&form.description));
                    lines.push(action("Enter", "continue    Esc: cancel"));
                } else {
                    lines.push(line(format!("  {}", form.description.value())));
                    if form.stage == ExceptionStage::Accept {
                        lines.push(strong(format!(
                            "Does {witness} accept it? A refused exception stops the ceremony."
                        )));
                        lines.push(action("Y", "accepted    N: not accepted"));
                    } else {
                        lines.push(line(format!(
                            "{witness}: {}. Remark{}:",
                            if form.accepted {
                                "accepted"
                            } else {
                                "NOT accepted"
                            },
                            if form.accepted {
                                " (optional)"
                            } else {
                                " (why)"
                            }
                        )));
                        lines.push(input_line(&form.remark));
                        lines.push(action("Enter", "add the exception    Esc: cancel"));
                    }
                }
            }
        }
        lines
    }
}

/// A question Y answers (`yes` says what it does) and N takes back.
fn yes_or_no(question: String, yes: &str) -> [Line<'static>; 2] {
    [
        Line::styled(question, loud()),
        action("Y", format!("{yes}    N: go back")),
    ]
}
