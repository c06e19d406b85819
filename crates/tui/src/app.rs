//! The UI thread's state and the top-level `update`: events in (keys,
//! ticks, the engine's prompts and notices), state changes and answers out.
//! What each question does with a key is in its screen's module
//! (`screens`); the dialogs' keys are in `frame`. No drawing here (see
//! `view`), and no ceremony logic: every decision is the engine's; the TUI
//! only asks, shows and passes answers on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use keyceremony_engine::operator::ResumeChoice;
use keyceremony_engine::{InputError, LogHead, Notice, PresenceChange, Verdict};
use keyceremony_script::{Participant, Script, Step};

use crate::channel::{Answer, Prompt, Reply};
use crate::explain::Finished;
use crate::frame::{self, Overlay};
use crate::screens::presence::PresenceForm;
use crate::screens::start::{Checked, StartInfo};
use crate::screens::{Active, end_of_step, finished, start};

/// Everything that changes the screen.
pub enum Event {
    Key(KeyEvent),
    /// The UI's clock: redraws the time, the spinner and elapsed times.
    Tick(DateTime<Utc>),
    /// The terminal was resized; the next draw uses the new size.
    Resize,
    /// The engine has checked everything it can before starting.
    Ready(Checked),
    /// Boxed: prompts carry whole steps, and every event goes through one
    /// enum.
    Prompt(Box<Prompt>),
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
        /// The policy's limit, when it sets one.
        limit_ms: Option<i64>,
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
    /// Why a custodian's copy of a new share differs: the share screen
    /// that shows it again says so.
    pub copy_differs: Option<String>,
    /// A custodian's copy of a new share matched: the bag question that
    /// follows tells the room it may look again.
    pub copy_matched: bool,
    /// Participant -> (in the room, identified), as this screen saw it
    /// recorded; the engine's record is the log.
    pub room: BTreeMap<String, (bool, bool)>,
    /// Who left or came back (F6), for the engine to record as the next
    /// step begins.
    pub presence_pending: Vec<PresenceChange>,
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
    /// The last head shown for the witness to copy (an act's end, a stop).
    pub log_head: Option<LogHead>,
    /// An abort: every key the log says is left on the token.
    pub keys_left: Vec<String>,
    /// The witness's verdict on a step, decided with its exceptions.
    pub(crate) decided: Option<(String, Verdict)>,
    /// An abort confirmed while no question was open: it answers the next.
    pub(crate) abort: Option<String>,
    pub(crate) begin: bool,
    pub(crate) clear: bool,
    pub(crate) exit: bool,
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
            copy_differs: None,
            copy_matched: false,
            room: BTreeMap::new(),
            presence_pending: Vec::new(),
            network: Vec::new(),
            started: false,
            resume: None,
            overlay: None,
            sealed: None,
            log_head: None,
            keys_left: Vec::new(),
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

    /// Records that `id` is in the room or not.
    pub fn present(&mut self, id: &str, in_room: bool, identified: bool) {
        let known = self.room.get(id).is_some_and(|(_, i)| *i);
        self.room
            .insert(id.to_string(), (in_room, identified || known));
    }

    /// (in the room, identified) for `id`; nobody is, before the check-in.
    pub fn whereabouts(&self, id: &str) -> (bool, bool) {
        self.room.get(id).copied().unwrap_or((false, false))
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
    pub(crate) fn answer(&mut self, reply: Reply) -> Option<Reply> {
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
        Event::Prompt(prompt) => prompt_in(app, *prompt),
        Event::Finished(finished) => {
            finished::open(app, finished);
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
        // The go screen that follows shows it.
        Notice::Imminent(_) => return,
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
        Notice::CopyChecked { difference, .. } => {
            app.copy_matched = difference.is_none();
            app.copy_differs = difference;
            return;
        }
        Notice::ShareRejected {
            custodian,
            reason,
            failures,
            limit,
        } => {
            app.warning = Some(format!(
                "{custodian}'s share was refused: {reason} (refused share {failures} of this ceremony; it stops at {limit})"
            ));
            return;
        }
        Notice::LoginFailed {
            failures,
            limit,
            reason,
        } => {
            app.warning = Some(format!(
                "Login failed: {reason} (failed login {failures} of this ceremony; it stops at {limit})"
            ));
            return;
        }
        Notice::ClockChecked {
            difference_ms,
            limit_ms,
        } => Reported::Clock {
            difference_ms,
            limit_ms,
        },
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
        Notice::LogHead(head) => {
            app.log_head = Some(head);
            return;
        }
        Notice::KeysLeft { keys } => {
            app.keys_left = keys;
            return;
        }
    };
    app.outcomes.push((step, outcome));
}

fn prompt_in(app: &mut App, prompt: Prompt) -> Option<Reply> {
    if let Some(reason) = app.abort.take() {
        return Some(Err(InputError::Aborted { reason }));
    }
    if let Prompt::Witness { step, .. } = &prompt
        && let Some(verdict) = end_of_step::decided(app, step)
    {
        return Some(Ok(Answer::Verdict(verdict)));
    }
    // Asked as every step begins: answered at once with what F6 recorded.
    if let Prompt::Presence { missing, .. } = &prompt
        && missing.is_empty()
    {
        let changes = std::mem::take(&mut app.presence_pending);
        return Some(Ok(Answer::Presence(changes)));
    }
    let active = Active::open(app, prompt);
    app.active = Some(active);
    None
}

fn key_in(app: &mut App, key: KeyEvent) -> Option<Reply> {
    if let Some(overlay) = app.overlay.take() {
        return frame::overlay_key(app, overlay, key);
    }
    let typing = app.active.as_ref().is_some_and(Active::typing);
    if frame::is_help_key(&key, typing) {
        app.overlay = Some(Overlay::Help);
        return None;
    }
    if let Phase::Finished(_) = app.phase {
        finished::key(app, key);
        return None;
    }
    if frame::is_abort_key(&key) {
        app.overlay = Some(frame::abort_dialog(app.started));
        return None;
    }
    if key.code == crossterm::event::KeyCode::F(6) && app.started && !typing {
        app.overlay = Some(Overlay::Presence(PresenceForm::new(app, Vec::new())));
        return None;
    }
    match app.active.take() {
        Some(mut active) => match active.key(app, key) {
            Some(reply) => app.answer(reply),
            None => {
                app.active = Some(active);
                None
            }
        },
        None => {
            start::key(app, key);
            None
        }
    }
}
