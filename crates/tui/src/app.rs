//! The UI thread's state and `update`: events in (keys, ticks, the engine's
//! prompts and notices), state changes and answers out. No drawing here
//! (see `view`), and no ceremony logic: every decision is the engine's; the
//! TUI only asks, shows and passes answers on.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyceremony_engine::operator::{ExceptionReport, ResumeChoice};
use keyceremony_engine::{Identity, InputError, Interrupted, Notice, Verdict};
use keyceremony_script::{Participant, RecordField, Script, Secret, Step};
use keyceremony_shares::SecretKind;
use secrecy::SecretString;

use crate::channel::{Answer, Prompt, Reply};
use crate::explain::Finished;
use crate::format;
use crate::input::{SecretInput, ShareInput, TextInput};
use crate::start::{Checked, StartInfo};

/// Everything that changes the screen.
pub enum Event {
    Key(KeyEvent),
    /// The UI's clock: redraws the time, the spinner and elapsed times.
    Tick(DateTime<Utc>),
    /// The terminal was resized; the next draw uses the new size.
    Resize,
    /// The engine has checked everything it can before starting.
    Ready(Checked),
    Prompt(Prompt),
    Notice(Notice),
    Finished(Finished),
}

/// Where the session is.
pub enum Phase {
    /// The start screen; the engine checks, then waits for Enter.
    Start,
    Running,
    /// The engine returned; the last screen waits for a key.
    Finished(Finished),
}

/// A step of the script, as the step list shows it.
pub struct StepEntry {
    pub act: String,
    pub act_title: String,
    pub step: Step,
}

/// What the engine reported in a step, shown in its results panel.
#[derive(Debug, Clone)]
pub enum Reported {
    Key {
        label: String,
        public_key_sha256: String,
        attributes: Vec<(&'static str, bool)>,
    },
    Certificate {
        label: String,
        subject: String,
        serial: String,
        sha256: String,
    },
    File {
        path: String,
    },
    HsmDone {
        what: String,
        milliseconds: f64,
    },
    Clock {
        difference_ms: i64,
    },
    Exception {
        number: u32,
        description: String,
    },
}

/// The HSM is busy: the UI keeps redrawing so the room sees it is alive.
pub struct Working {
    pub what: String,
    pub since: DateTime<Utc>,
}

/// The share screen's three stages: everyone else looks away, the share is
/// shown, the share is wiped and everyone may look again.
pub enum ShareStage {
    /// The share is held, not drawn, until the custodian is alone.
    LookAway(SecretString),
    Showing(SecretString),
    LookBack,
}

/// The end of a step: what the witness is deciding.
pub enum StepForm {
    /// The step view; Enter moves on to [`StepForm::Confirm`].
    Idle,
    /// "Confirm step X? Y/N".
    Confirm,
    Exception(ExceptionForm),
    Refuse {
        remark: TextInput,
        confirming: bool,
    },
}

pub struct ExceptionForm {
    pub description: TextInput,
    pub stage: ExceptionStage,
    pub accepted: bool,
    pub remark: TextInput,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ExceptionStage {
    Describe,
    Accept,
    Remark,
}

/// Which question the end-of-step screen answers: the engine asks for the
/// step's exceptions, then for the witness's verdict. The witness decides
/// both on one screen; the verdict is kept for the question that follows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EndAsks {
    Exceptions,
    Verdict,
}

/// The question on screen, with its entry state.
pub enum Active {
    CheckIn {
        step: Step,
        participant: Participant,
        witness: Participant,
        input: TextInput,
    },
    Record {
        step: Step,
        field: RecordField,
        input: TextInput,
    },
    ShowShare {
        step: Step,
        custodian: Participant,
        kind: SecretKind,
        number: u8,
        count: u8,
        stage: ShareStage,
    },
    Bag {
        step: Step,
        custodian: Participant,
        secret: Secret,
        number: u8,
        input: TextInput,
    },
    Choose {
        step: Step,
        secret: Secret,
        eligible: Vec<Participant>,
        threshold: usize,
        cursor: usize,
        selected: Vec<bool>,
        note: Option<String>,
    },
    Share {
        step: Step,
        custodian: Participant,
        secret: Secret,
        entry: ShareInput,
    },
    EndOfStep {
        step: Step,
        witness: Participant,
        asks: EndAsks,
        exceptions: Vec<ExceptionReport>,
        form: StepForm,
    },
    Clock {
        step: Step,
        witness: Participant,
        system_time: DateTime<Utc>,
        input: TextInput,
        error: Option<String>,
    },
    WitnessPin {
        witness: Participant,
        token_label: String,
        input: SecretInput,
    },
    Seal {
        witness: Participant,
        head: String,
        words: String,
    },
    Network {
        witness: Participant,
        interfaces: Vec<String>,
        input: TextInput,
    },
    Resume {
        interrupted: Interrupted,
        /// The reason typed after A (abort); None while choosing.
        abort: Option<AbortForm>,
    },
}

impl Active {
    /// True when printable keys go into a field, so `?` is a character.
    pub fn typing(&self) -> bool {
        match self {
            Active::CheckIn { .. }
            | Active::Record { .. }
            | Active::Bag { .. }
            | Active::Share { .. }
            | Active::Clock { .. }
            | Active::WitnessPin { .. }
            | Active::Network { .. } => true,
            Active::EndOfStep { form, .. } => matches!(
                form,
                StepForm::Exception(ExceptionForm {
                    stage: ExceptionStage::Describe | ExceptionStage::Remark,
                    ..
                }) | StepForm::Refuse {
                    confirming: false,
                    ..
                }
            ),
            Active::Resume { abort, .. } => abort.as_ref().is_some_and(|f| !f.confirming),
            Active::ShowShare { .. } | Active::Choose { .. } | Active::Seal { .. } => false,
        }
    }
}

/// The abort dialog: a reason, then a confirmation.
pub struct AbortForm {
    pub reason: TextInput,
    pub confirming: bool,
}

pub enum Overlay {
    Help,
    Abort(AbortForm),
    /// On the start screen: leave without starting.
    Quit,
}

/// The sealed log, as the engine announced it.
pub struct Sealed {
    pub outcome: String,
    pub entries: u64,
    pub head: String,
    pub words: String,
}

/// The UI thread's whole state.
pub struct App {
    pub info: StartInfo,
    pub steps: Vec<StepEntry>,
    pub participants: Vec<Participant>,
    pub phase: Phase,
    pub now: DateTime<Utc>,
    pub ticks: u64,
    /// Index in `steps` of the step under way.
    pub current: Option<usize>,
    pub active: Option<Active>,
    pub working: Option<Working>,
    /// (step id, outcome), in order.
    pub outcomes: Vec<(String, Reported)>,
    /// The last refusal (share or login), shown where the entry is retried.
    pub warning: Option<String>,
    /// (participant id, document) of everyone checked in.
    pub checked_in: Vec<(String, String)>,
    /// Custodians who came forward for the activation under way.
    pub chosen: Vec<String>,
    /// Network interfaces up on the terminal (CPS 6.7), usually none.
    pub network: Vec<String>,
    /// True once the operators started the ceremony: before, nothing is
    /// written and the HSM is unchanged.
    pub started: bool,
    /// What Enter on the start screen does when the output folder holds an
    /// interrupted ceremony (resume it, or record its abort).
    pub resume: Option<ResumeChoice>,
    pub overlay: Option<Overlay>,
    pub sealed: Option<Sealed>,
    /// The witness's verdict on a step, decided with its exceptions.
    decided: Option<(String, Verdict)>,
    /// An abort confirmed while no question was open: it answers the next.
    abort: Option<String>,
    begin: bool,
    clear: bool,
    exit: bool,
}

impl App {
    pub fn new(info: StartInfo, script: &Script, now: DateTime<Utc>) -> App {
        let steps = script
            .acts
            .iter()
            .flat_map(|act| {
                act.steps.iter().map(|step| StepEntry {
                    act: act.id.clone(),
                    act_title: act.title.clone(),
                    step: step.clone(),
                })
            })
            .collect();
        App {
            info,
            steps,
            participants: script.participants.clone(),
            phase: Phase::Start,
            now,
            ticks: 0,
            current: None,
            active: None,
            working: None,
            outcomes: Vec::new(),
            warning: None,
            checked_in: Vec::new(),
            chosen: Vec::new(),
            network: Vec::new(),
            started: false,
            resume: None,
            overlay: None,
            sealed: None,
            decided: None,
            abort: None,
            begin: false,
            clear: false,
            exit: false,
        }
    }

    /// True once, when the operators start the ceremony from the start screen.
    pub fn take_begin(&mut self) -> bool {
        std::mem::take(&mut self.begin)
    }

    /// True once after a screen that must not leave anything behind (the
    /// share screen, before and after): the driver clears the terminal.
    pub fn take_clear(&mut self) -> bool {
        std::mem::take(&mut self.clear)
    }

    /// An abort the operators confirmed while the engine was busy; it
    /// answers the engine's next question.
    pub fn pending_abort(&self) -> Option<&str> {
        self.abort.as_deref()
    }

    /// The operators are done with the last screen.
    pub fn exit(&self) -> bool {
        self.exit
    }

    pub fn participant(&self, id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    /// The step entry the screen is about.
    pub fn current_step(&self) -> Option<&StepEntry> {
        self.current.and_then(|i| self.steps.get(i))
    }

    /// The outcomes reported in step `id`.
    pub fn outcomes_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Reported> + 'a {
        self.outcomes
            .iter()
            .filter(move |(step, _)| step == id)
            .map(|(_, outcome)| outcome)
    }

    /// The latest certificate outcome for a key label, wherever it was
    /// reported (the export step shows the fingerprint signed earlier).
    pub fn certificate(&self, label: &str) -> Option<&Reported> {
        self.outcomes
            .iter()
            .rev()
            .map(|(_, o)| o)
            .find(|o| matches!(o, Reported::Certificate { label: l, .. } if l == label))
    }

    fn set_step(&mut self, id: &str) {
        if let Some(index) = self.steps.iter().position(|s| s.step.id == id) {
            self.current = Some(index);
        }
    }

    /// An answer leaves the question; the HSM (if it is working) works
    /// from now on, so its elapsed time starts again.
    fn answer(&mut self, reply: Reply) -> Option<Reply> {
        self.active = None;
        if let Some(working) = self.working.as_mut() {
            working.since = self.now;
        }
        Some(reply)
    }
}

/// Applies one event; returns the answer to the open question, if this
/// event completed one.
pub fn update(app: &mut App, event: Event) -> Option<Reply> {
    match event {
        Event::Tick(now) => {
            app.now = now;
            app.ticks = app.ticks.wrapping_add(1);
            None
        }
        Event::Resize => None,
        Event::Ready(checked) => {
            app.info.checked = Some(checked);
            None
        }
        Event::Notice(notice) => {
            notice_in(app, notice);
            None
        }
        Event::Prompt(prompt) => prompt_in(app, prompt),
        Event::Finished(finished) => {
            app.active = None;
            app.working = None;
            app.overlay = None;
            if matches!(finished, Finished::Completed { .. }) {
                app.current = Some(app.steps.len());
            }
            app.phase = Phase::Finished(finished);
            app.clear = true;
            None
        }
        Event::Key(key) => key_in(app, key),
    }
}

fn notice_in(app: &mut App, notice: Notice) {
    let step = app
        .current_step()
        .map(|s| s.step.id.clone())
        .unwrap_or_default();
    let outcome = match notice {
        Notice::StepBegin { step, .. } => {
            app.set_step(&step);
            app.warning = None;
            app.working = None;
            return;
        }
        Notice::HsmWorking { what } => {
            app.working = Some(Working {
                what,
                since: app.now,
            });
            return;
        }
        Notice::HsmDone { what, milliseconds } => {
            app.working = None;
            Reported::HsmDone { what, milliseconds }
        }
        // The key's URI is in the log; the room reads the fingerprint.
        Notice::KeyGenerated {
            label,
            public_key_sha256,
            attributes,
            ..
        } => Reported::Key {
            label,
            public_key_sha256,
            attributes,
        },
        Notice::CertificateSigned {
            label,
            subject,
            serial,
            sha256,
        } => Reported::Certificate {
            label,
            subject,
            serial,
            sha256,
        },
        Notice::FileWritten { path, .. } => Reported::File { path },
        Notice::ShareRejected {
            custodian,
            reason,
            failures,
            limit,
        } => {
            app.warning = Some(format!(
                "{custodian}'s share was refused: {reason} (failed attempt {failures}; the ceremony stops at {limit})"
            ));
            return;
        }
        Notice::LoginFailed {
            failures,
            limit,
            reason,
        } => {
            app.warning = Some(format!(
                "Login failed: {reason} (failed attempt {failures}; the ceremony stops at {limit})"
            ));
            return;
        }
        Notice::ClockChecked { difference_ms } => Reported::Clock { difference_ms },
        Notice::NetworkUp { interfaces } => {
            app.network = interfaces;
            return;
        }
        Notice::Exception {
            number,
            description,
        } => Reported::Exception {
            number,
            description,
        },
        Notice::Sealed {
            outcome,
            entries,
            head,
            words,
        } => {
            app.sealed = Some(Sealed {
                outcome,
                entries,
                head,
                words,
            });
            return;
        }
    };
    app.outcomes.push((step, outcome));
}

fn prompt_in(app: &mut App, prompt: Prompt) -> Option<Reply> {
    if let Some(reason) = app.abort.take() {
        return Some(Err(InputError::Aborted { reason }));
    }
    let active = match prompt {
        Prompt::CheckIn {
            step,
            participant,
            witness,
        } => Active::CheckIn {
            step,
            participant,
            witness,
            input: TextInput::default(),
        },
        Prompt::Record { step, field } => Active::Record {
            step,
            field,
            input: TextInput::default(),
        },
        Prompt::ShowShare {
            step,
            custodian,
            kind,
            number,
            count,
            lines,
        } => {
            app.clear = true;
            Active::ShowShare {
                step,
                custodian,
                kind,
                number,
                count,
                stage: ShareStage::LookAway(lines),
            }
        }
        Prompt::ShareBag {
            step,
            custodian,
            secret,
            number,
        } => Active::Bag {
            step,
            custodian,
            secret,
            number,
            input: TextInput::default(),
        },
        Prompt::ChooseCustodians {
            step,
            secret,
            eligible,
            threshold,
        } => {
            let selected = vec![false; eligible.len()];
            Active::Choose {
                step,
                secret,
                eligible,
                threshold,
                cursor: 0,
                selected,
                note: None,
            }
        }
        Prompt::Share {
            step,
            custodian,
            secret,
        } => Active::Share {
            step,
            custodian,
            secret,
            entry: ShareInput::default(),
        },
        Prompt::Exceptions { step, witness } => Active::EndOfStep {
            step,
            witness,
            asks: EndAsks::Exceptions,
            exceptions: Vec::new(),
            form: StepForm::Idle,
        },
        Prompt::Witness { step, witness } => {
            if let Some((id, verdict)) = app.decided.take()
                && id == step.id
            {
                return Some(Ok(Answer::Verdict(verdict)));
            }
            Active::EndOfStep {
                step,
                witness,
                asks: EndAsks::Verdict,
                exceptions: Vec::new(),
                form: StepForm::Idle,
            }
        }
        Prompt::ReferenceTime {
            step,
            witness,
            system_time,
        } => Active::Clock {
            step,
            witness,
            system_time,
            input: TextInput::default(),
            error: None,
        },
        Prompt::WitnessTokenPin {
            witness,
            token_label,
        } => Active::WitnessPin {
            witness,
            token_label,
            input: SecretInput::default(),
        },
        Prompt::ConfirmSeal {
            witness,
            head,
            words,
        } => Active::Seal {
            witness,
            head,
            words,
        },
        Prompt::Resume { interrupted } => Active::Resume {
            interrupted,
            abort: None,
        },
        Prompt::NetworkExplanation {
            witness,
            interfaces,
        } => Active::Network {
            witness,
            interfaces,
            input: TextInput::default(),
        },
    };
    app.active = Some(active);
    None
}

fn is_abort_key(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    key.code == KeyCode::F(10)
        || (ctrl && matches!(key.code, KeyCode::Char('a') | KeyCode::Char('c')))
}

fn key_in(app: &mut App, key: KeyEvent) -> Option<Reply> {
    if let Some(overlay) = app.overlay.take() {
        return overlay_key(app, overlay, key);
    }
    let typing = app.active.as_ref().is_some_and(Active::typing);
    if key.code == KeyCode::F(1) || (key.code == KeyCode::Char('?') && !typing) {
        app.overlay = Some(Overlay::Help);
        return None;
    }
    if let Phase::Finished(_) = app.phase {
        if key.code == KeyCode::Enter {
            app.exit = true;
        }
        return None;
    }
    if is_abort_key(&key) {
        app.overlay = Some(if app.started {
            Overlay::Abort(AbortForm {
                reason: TextInput::default(),
                confirming: false,
            })
        } else {
            Overlay::Quit
        });
        return None;
    }
    match app.active.take() {
        Some(active) => {
            let (active, reply) = active_key(app, active, key);
            app.active = active;
            reply.and_then(|reply| app.answer(reply))
        }
        None => {
            // The start screen: Enter once the engine's checks have passed.
            if matches!(app.phase, Phase::Start)
                && key.code == KeyCode::Enter
                && app.info.checked.is_some()
            {
                app.phase = Phase::Running;
                app.started = true;
                app.begin = true;
            }
            None
        }
    }
}

fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent) -> Option<Reply> {
    match overlay {
        Overlay::Help => {
            // Any of the help keys, Esc or Enter closes it.
            if !matches!(
                key.code,
                KeyCode::Esc | KeyCode::Enter | KeyCode::F(1) | KeyCode::Char('?' | 'q')
            ) {
                app.overlay = Some(Overlay::Help);
            }
            None
        }
        Overlay::Quit => {
            match key.code {
                KeyCode::Char('y' | 'Y') => app.exit = true,
                KeyCode::Char('n' | 'N') | KeyCode::Esc => {}
                _ => app.overlay = Some(Overlay::Quit),
            }
            None
        }
        Overlay::Abort(mut form) => {
            if form.confirming {
                match key.code {
                    KeyCode::Char('y' | 'Y') => {
                        let reason = form.reason.value().to_string();
                        if app.active.is_some() {
                            return app.answer(Err(InputError::Aborted { reason }));
                        }
                        // The engine is busy (the HSM is working): the abort
                        // answers its next question.
                        app.abort = Some(reason);
                        return None;
                    }
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => form.confirming = false,
                    _ => {}
                }
            } else {
                match key.code {
                    KeyCode::Esc => return None,
                    KeyCode::Enter if !form.reason.value().is_empty() => form.confirming = true,
                    _ => edit(&mut form.reason, key),
                }
            }
            app.overlay = Some(Overlay::Abort(form));
            None
        }
    }
}

/// Typing into a plain field.
fn edit(input: &mut TextInput, key: KeyEvent) {
    match key.code {
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
        KeyCode::Backspace => input.backspace(),
        _ => {}
    }
}

/// A key for the open question: the question as it is afterwards (None
/// when answered) and the answer, if any.
fn active_key(app: &mut App, active: Active, key: KeyEvent) -> (Option<Active>, Option<Reply>) {
    let enter = key.code == KeyCode::Enter;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match active {
        Active::CheckIn {
            step,
            participant,
            witness,
            mut input,
        } => {
            if enter && !input.value().is_empty() {
                let document = input.value().to_string();
                app.checked_in
                    .push((participant.id.clone(), document.clone()));
                return (None, Some(Ok(Answer::Identity(Identity { document }))));
            }
            edit(&mut input, key);
            (
                Some(Active::CheckIn {
                    step,
                    participant,
                    witness,
                    input,
                }),
                None,
            )
        }
        Active::Record {
            step,
            field,
            mut input,
        } => {
            if enter && !input.value().is_empty() {
                return (None, Some(Ok(Answer::Text(input.value().to_string()))));
            }
            edit(&mut input, key);
            (Some(Active::Record { step, field, input }), None)
        }
        Active::Bag {
            step,
            custodian,
            secret,
            number,
            mut input,
        } => {
            if enter && !input.value().is_empty() {
                return (None, Some(Ok(Answer::Text(input.value().to_string()))));
            }
            edit(&mut input, key);
            (
                Some(Active::Bag {
                    step,
                    custodian,
                    secret,
                    number,
                    input,
                }),
                None,
            )
        }
        Active::ShowShare {
            step,
            custodian,
            kind,
            number,
            count,
            stage,
        } => {
            let stage = match (stage, key.code) {
                // Only now, with the custodian alone at the screen, is the
                // share drawn; the screen is cleared first.
                (ShareStage::LookAway(lines), KeyCode::Enter) => {
                    app.clear = true;
                    ShareStage::Showing(lines)
                }
                // Copied: the share is dropped (SecretString wipes it) and
                // the screen cleared before anyone looks again.
                (ShareStage::Showing(lines), KeyCode::Char('y' | 'Y')) => {
                    drop(lines);
                    app.clear = true;
                    ShareStage::LookBack
                }
                (ShareStage::LookBack, KeyCode::Enter) => {
                    return (None, Some(Ok(Answer::ShareShown)));
                }
                (stage, _) => stage,
            };
            (
                Some(Active::ShowShare {
                    step,
                    custodian,
                    kind,
                    number,
                    count,
                    stage,
                }),
                None,
            )
        }
        Active::Choose {
            step,
            secret,
            eligible,
            threshold,
            mut cursor,
            mut selected,
            mut note,
        } => {
            let chosen = selected.iter().filter(|s| **s).count();
            match key.code {
                KeyCode::Up | KeyCode::Char('k') => cursor = cursor.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => {
                    cursor = (cursor + 1).min(eligible.len().saturating_sub(1))
                }
                KeyCode::Char(' ') => {
                    if let Some(on) = selected.get_mut(cursor) {
                        if *on || chosen < threshold {
                            *on = !*on;
                            note = None;
                        } else {
                            note = Some(format!(
                                "{threshold} are already chosen: unselect one first"
                            ));
                        }
                    }
                }
                KeyCode::Enter if chosen == threshold => {
                    let ids: Vec<String> = eligible
                        .iter()
                        .zip(&selected)
                        .filter(|(_, on)| **on)
                        .map(|(p, _)| p.id.clone())
                        .collect();
                    app.chosen = ids.clone();
                    app.warning = None;
                    return (None, Some(Ok(Answer::Custodians(ids))));
                }
                KeyCode::Enter => {
                    note = Some(format!(
                        "choose exactly {threshold} custodians ({chosen} chosen)"
                    ))
                }
                _ => {}
            }
            (
                Some(Active::Choose {
                    step,
                    secret,
                    eligible,
                    threshold,
                    cursor,
                    selected,
                    note,
                }),
                None,
            )
        }
        Active::Share {
            step,
            custodian,
            secret,
            mut entry,
        } => {
            match key.code {
                KeyCode::Enter if entry.end_line() => {
                    return (None, Some(Ok(Answer::Secret(entry.take()))));
                }
                KeyCode::Char('u') if ctrl => entry.clear(),
                KeyCode::Char(c) if !ctrl => entry.push(c),
                KeyCode::Backspace => entry.backspace(),
                _ => {}
            }
            (
                Some(Active::Share {
                    step,
                    custodian,
                    secret,
                    entry,
                }),
                None,
            )
        }
        Active::Clock {
            step,
            witness,
            system_time,
            mut input,
            mut error,
        } => {
            if enter && !input.value().is_empty() {
                match format::parse_reference_time(input.value(), system_time) {
                    Ok(time) => return (None, Some(Ok(Answer::Time(time)))),
                    Err(message) => error = Some(message),
                }
            } else {
                edit(&mut input, key);
            }
            (
                Some(Active::Clock {
                    step,
                    witness,
                    system_time,
                    input,
                    error,
                }),
                None,
            )
        }
        Active::WitnessPin {
            witness,
            token_label,
            mut input,
        } => {
            match key.code {
                KeyCode::Enter if !input.is_empty() => {
                    return (None, Some(Ok(Answer::Secret(input.take()))));
                }
                KeyCode::Char('u') if ctrl => input.clear(),
                KeyCode::Char(c) if !ctrl => input.push(c),
                KeyCode::Backspace => input.backspace(),
                _ => {}
            }
            (
                Some(Active::WitnessPin {
                    witness,
                    token_label,
                    input,
                }),
                None,
            )
        }
        Active::Network {
            witness,
            interfaces,
            mut input,
        } => {
            if enter && !input.value().is_empty() {
                return (None, Some(Ok(Answer::Text(input.value().to_string()))));
            }
            edit(&mut input, key);
            (
                Some(Active::Network {
                    witness,
                    interfaces,
                    input,
                }),
                None,
            )
        }
        Active::Resume { interrupted, abort } => {
            let abort = match (abort, key.code) {
                // A ceremony that can only be aborted (its token's shares
                // lost, its outputs changed): the engine refuses to resume
                // it too, R is simply not offered.
                (None, KeyCode::Char('r' | 'R')) if interrupted.refusal().is_none() => {
                    app.resume = Some(ResumeChoice::Resume);
                    return (None, Some(Ok(Answer::Resume(ResumeChoice::Resume))));
                }
                (None, KeyCode::Char('a' | 'A')) => Some(AbortForm {
                    reason: TextInput::default(),
                    confirming: false,
                }),
                (None, _) => None,
                (Some(form), KeyCode::Char('y' | 'Y')) if form.confirming => {
                    let choice = ResumeChoice::Abort {
                        reason: form.reason.value().to_string(),
                    };
                    app.resume = Some(choice.clone());
                    return (None, Some(Ok(Answer::Resume(choice))));
                }
                (Some(form), KeyCode::Char('n' | 'N') | KeyCode::Esc) if form.confirming => {
                    Some(AbortForm {
                        confirming: false,
                        ..form
                    })
                }
                (Some(form), _) if form.confirming => Some(form),
                (Some(_), KeyCode::Esc) => None,
                (Some(mut form), KeyCode::Enter) => {
                    form.confirming = !form.reason.value().is_empty();
                    Some(form)
                }
                (Some(mut form), _) => {
                    edit(&mut form.reason, key);
                    Some(form)
                }
            };
            (Some(Active::Resume { interrupted, abort }), None)
        }
        Active::Seal {
            witness,
            head,
            words,
        } => {
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                return (None, Some(Ok(Answer::SealCopied)));
            }
            (
                Some(Active::Seal {
                    witness,
                    head,
                    words,
                }),
                None,
            )
        }
        Active::EndOfStep {
            step,
            witness,
            asks,
            mut exceptions,
            form,
        } => {
            let decide =
                |app: &mut App, exceptions: Vec<ExceptionReport>, verdict: Verdict| match asks {
                    EndAsks::Exceptions => {
                        app.decided = Some((step.id.clone(), verdict));
                        Some(Ok(Answer::Exceptions(exceptions)))
                    }
                    EndAsks::Verdict => Some(Ok(Answer::Verdict(verdict))),
                };
            let form = match form {
                StepForm::Idle => match key.code {
                    KeyCode::Enter => StepForm::Confirm,
                    KeyCode::Char('e' | 'E') if asks == EndAsks::Exceptions => {
                        StepForm::Exception(ExceptionForm {
                            description: TextInput::default(),
                            stage: ExceptionStage::Describe,
                            accepted: false,
                            remark: TextInput::default(),
                        })
                    }
                    KeyCode::Char('r' | 'R') => StepForm::Refuse {
                        remark: TextInput::default(),
                        confirming: false,
                    },
                    _ => StepForm::Idle,
                },
                StepForm::Confirm => match key.code {
                    KeyCode::Char('y' | 'Y') => {
                        return (None, decide(app, exceptions, Verdict::Confirmed));
                    }
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => StepForm::Idle,
                    _ => StepForm::Confirm,
                },
                StepForm::Refuse {
                    mut remark,
                    confirming,
                } => match (confirming, key.code) {
                    (true, KeyCode::Char('y' | 'Y')) => {
                        let verdict = Verdict::Refused {
                            remark: remark.value().to_string(),
                        };
                        return (None, decide(app, exceptions, verdict));
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
                    (false, KeyCode::Enter) => StepForm::Refuse {
                        confirming: !remark.value().is_empty(),
                        remark,
                    },
                    (false, _) => {
                        edit(&mut remark, key);
                        StepForm::Refuse {
                            remark,
                            confirming: false,
                        }
                    }
                },
                StepForm::Exception(mut form) => {
                    if key.code == KeyCode::Esc {
                        StepForm::Idle
                    } else {
                        match form.stage {
                            ExceptionStage::Describe => {
                                if enter && !form.description.value().is_empty() {
                                    form.stage = ExceptionStage::Accept;
                                } else {
                                    edit(&mut form.description, key);
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
                                // A refused exception stops the ceremony: the
                                // witness must say why.
                                if enter && (form.accepted || !form.remark.value().is_empty()) {
                                    exceptions.push(ExceptionReport {
                                        description: form.description.value().to_string(),
                                        accepted: form.accepted,
                                        remark: form.remark.value().to_string(),
                                    });
                                    return (
                                        Some(Active::EndOfStep {
                                            step,
                                            witness,
                                            asks,
                                            exceptions,
                                            form: StepForm::Idle,
                                        }),
                                        None,
                                    );
                                }
                                edit(&mut form.remark, key);
                            }
                        }
                        StepForm::Exception(form)
                    }
                }
            };
            (
                Some(Active::EndOfStep {
                    step,
                    witness,
                    asks,
                    exceptions,
                    form,
                }),
                None,
            )
        }
    }
}
