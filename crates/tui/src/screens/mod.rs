//! One module per screen the room sees. Each holds that screen's state,
//! what a key does to it (`key`: the state changes, and the answer to the
//! engine's question when the key completes it) and how it is drawn
//! (`view`, or `prompt` for the questions asked at the foot of the step
//! view). [`Active`] is the question on screen; adding a question means a
//! module here and one arm in each `match` below.

use crossterm::event::KeyEvent;
use keyceremony_script::Step;

use crate::app::App;
use crate::channel::{Prompt, Reply};
use crate::frame;
use crate::input::{SecretInput, ShareInput, TextInput};

pub mod bag;
pub mod check_in;
pub mod choose;
pub mod clock;
pub mod copy_check;
pub mod copy_head;
pub mod decide;
pub mod end_of_step;
pub mod environment;
pub mod finished;
pub mod go;
pub mod last_head;
pub mod network;
pub mod pin;
pub mod presence;
pub mod record;
pub mod resume;
pub mod seal;
pub mod share_entry;
pub mod share_show;
pub mod start;
pub mod step;
pub mod stopping;
pub mod witness_signature;

use bag::Bag;
use check_in::CheckIn;
use choose::Choose;
use clock::Clock;
use copy_check::CopyBack;
use copy_head::CopyHead;
use decide::Decide;
use end_of_step::{EndAsks, EndOfStep};
use environment::EnvironmentChange;
use go::Go;
use last_head::LastHead;
use network::Network;
use pin::WitnessPin;
use presence::PresenceForm;
use record::Record;
use resume::Resume;
use seal::Seal;
use share_entry::ShareEntry;
use share_show::{ShareStage, ShowShare};
use witness_signature::WitnessSignature;

/// The footer of every screen that is typed into.
pub const TYPING: &str = "Enter submit  Backspace erase  Ctrl-U clear  F1 help  F10 abort";

/// The question on screen, with its entry state.
pub enum Active {
    CheckIn(CheckIn),
    Record(Record),
    ShowShare(ShowShare),
    Bag(Bag),
    Choose(Choose),
    Share(ShareEntry),
    EndOfStep(EndOfStep),
    Clock(Clock),
    WitnessPin(WitnessPin),
    WitnessSignature(WitnessSignature),
    Seal(Seal),
    Network(Network),
    Resume(Resume),
    CopyHead(CopyHead),
    LastHead(LastHead),
    Environment(EnvironmentChange),
    Go(Go),
    Decide(Decide),
    CopyBack(CopyBack),
    /// A step waits for people who are out of the room.
    Presence(PresenceForm),
}

impl Active {
    /// The screen that asks `prompt`, its fields empty.
    pub fn open(app: &mut App, prompt: Prompt) -> Active {
        match prompt {
            Prompt::CheckIn {
                step,
                participant,
                witness,
                identified,
            } => Active::CheckIn(CheckIn {
                step,
                participant,
                witness,
                identified,
                input: TextInput::default(),
                absent: None,
            }),
            Prompt::Presence { missing, .. } => Active::Presence(PresenceForm::new(app, missing)),
            Prompt::Record {
                step,
                field,
                refused,
            } => Active::Record(Record {
                step,
                field,
                input: TextInput::default(),
                refused,
            }),
            Prompt::ShowShare {
                step,
                custodian,
                kind,
                number,
                count,
                lines,
            } => {
                // Whatever was on the terminal goes before the custodian
                // is asked to be alone at it.
                app.clear = true;
                Active::ShowShare(ShowShare {
                    step,
                    custodian,
                    kind,
                    number,
                    count,
                    stage: ShareStage::LookAway(lines),
                    correction: app.copy_differs.take(),
                })
            }
            Prompt::ShareBag {
                step,
                custodian,
                secret,
                number,
                refused,
            } => Active::Bag(Bag {
                step,
                custodian,
                secret,
                number,
                input: TextInput::default(),
                copied: std::mem::take(&mut app.copy_matched),
                opening: false,
                refused,
            }),
            Prompt::BagOpened {
                step,
                custodian,
                secret,
                refused,
            } => Active::Bag(Bag {
                step,
                custodian,
                secret,
                number: 0,
                input: TextInput::default(),
                copied: false,
                opening: true,
                refused,
            }),
            Prompt::CopyBack {
                step,
                custodian,
                secret,
                number,
            } => Active::CopyBack(CopyBack {
                step,
                custodian,
                secret,
                number,
                entry: ShareInput::new(secret),
            }),
            Prompt::ChooseCustodians {
                step,
                secret,
                eligible,
                threshold,
            } => Active::Choose(Choose {
                step,
                secret,
                selected: vec![false; eligible.len()],
                eligible,
                threshold,
                cursor: 0,
                note: None,
            }),
            Prompt::Share {
                step,
                custodian,
                secret,
            } => Active::Share(ShareEntry {
                step,
                custodian,
                secret,
                entry: ShareInput::new(secret),
                // The refusal of the share typed just before, when it was
                // this custodian's: the next custodian starts clean.
                refused: app.warning.take(),
            }),
            Prompt::Exceptions { step, witness } => {
                Active::EndOfStep(EndOfStep::new(step, witness, EndAsks::Exceptions))
            }
            Prompt::Witness { step, witness } => {
                Active::EndOfStep(EndOfStep::new(step, witness, EndAsks::Verdict))
            }
            Prompt::ReferenceTime { step, witness } => Active::Clock(Clock {
                step,
                witness,
                input: TextInput::default(),
                error: None,
            }),
            Prompt::Decide {
                step,
                witness,
                raised,
            } => Active::Decide(Decide {
                step,
                witness,
                raised,
                accepted: None,
                remark: TextInput::default(),
            }),
            Prompt::WitnessTokenPin {
                witness,
                token_label,
            } => Active::WitnessPin(WitnessPin {
                witness,
                token_label,
                input: SecretInput::default(),
                // Set when the witness's token refused the PIN typed before.
                refused: app.warning.take(),
            }),
            Prompt::WitnessSignature { witness, request } => {
                Active::WitnessSignature(WitnessSignature::new(witness, request))
            }
            Prompt::ConfirmSeal {
                witness,
                head,
                words,
            } => Active::Seal(Seal {
                witness,
                head,
                words,
            }),
            Prompt::Go {
                step,
                performer,
                imminent,
            } => Active::Go(Go::new(step, performer, *imminent)),
            Prompt::Resume { interrupted } => Active::Resume(Resume {
                interrupted,
                abort: None,
            }),
            Prompt::NetworkExplanation {
                witness,
                interfaces,
            } => Active::Network(Network {
                witness,
                interfaces,
                input: TextInput::default(),
            }),
            Prompt::CopyHead { witness, head } => Active::CopyHead(CopyHead { witness, head }),
            Prompt::LastHead { witness, entries } => Active::LastHead(LastHead {
                witness,
                entries,
                input: TextInput::default(),
                error: None,
            }),
            Prompt::EnvironmentChange { witness, changes } => {
                Active::Environment(EnvironmentChange {
                    witness,
                    changes,
                    remark: None,
                })
            }
        }
    }

    /// A key for the open question; the answer when the key completes it.
    /// A key the question does not take is named in the bottom line, so
    /// the room knows it was read and did nothing.
    pub fn key(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        let typing = self.typing();
        let ignored = frame::ignored(app, self.keys(), &key);
        app.hint = None;
        let reply = self.answer(app, key);
        if reply.is_none() && !typing {
            app.hint = ignored;
        }
        reply
    }

    fn answer(&mut self, app: &mut App, key: KeyEvent) -> Option<Reply> {
        match self {
            Active::CheckIn(screen) => screen.key(app, key),
            Active::Record(screen) => screen.key(key),
            Active::ShowShare(screen) => screen.key(app, key),
            Active::Bag(screen) => screen.key(key),
            Active::Choose(screen) => screen.key(app, key),
            Active::Share(screen) => screen.key(key),
            Active::EndOfStep(screen) => screen.key(app, key),
            Active::Clock(screen) => screen.key(key),
            Active::WitnessPin(screen) => screen.key(key),
            Active::WitnessSignature(screen) => screen.key(key),
            Active::Seal(screen) => screen.key(key),
            Active::Network(screen) => screen.key(key),
            Active::Resume(screen) => screen.key(app, key),
            Active::CopyHead(screen) => screen.key(key),
            Active::LastHead(screen) => screen.key(key),
            Active::Environment(screen) => screen.key(key),
            Active::Go(screen) => screen.key(key),
            Active::Decide(screen) => screen.key(key),
            Active::CopyBack(screen) => screen.key(key),
            Active::Presence(screen) => screen.answer(app, key),
        }
    }

    /// The step the question belongs to, when it belongs to one.
    pub fn step(&self) -> Option<&Step> {
        match self {
            Active::CheckIn(screen) => Some(&screen.step),
            Active::Record(screen) => Some(&screen.step),
            Active::ShowShare(screen) => Some(&screen.step),
            Active::Bag(screen) => Some(&screen.step),
            Active::Choose(screen) => Some(&screen.step),
            Active::Share(screen) => Some(&screen.step),
            Active::EndOfStep(screen) => Some(&screen.step),
            Active::Clock(screen) => Some(&screen.step),
            Active::Go(screen) => Some(&screen.step),
            Active::Decide(screen) => Some(&screen.step),
            Active::CopyBack(screen) => Some(&screen.step),
            Active::WitnessPin(_)
            | Active::WitnessSignature(_)
            | Active::Seal(_)
            | Active::Network(_)
            | Active::Resume(_)
            | Active::CopyHead(_)
            | Active::LastHead(_)
            | Active::Environment(_)
            | Active::Presence(_) => None,
        }
    }

    /// True when printable keys go into a field, so `?` is a character.
    pub fn typing(&self) -> bool {
        match self {
            Active::CheckIn(screen) => screen.typing(),
            Active::Presence(screen) => screen.typing(),
            Active::Record(_)
            | Active::Bag(_)
            | Active::Share(_)
            | Active::CopyBack(_)
            | Active::Clock(_)
            | Active::WitnessPin(_)
            | Active::WitnessSignature(_)
            | Active::Network(_)
            | Active::LastHead(_) => true,
            Active::EndOfStep(screen) => screen.typing(),
            Active::Resume(screen) => screen.typing(),
            Active::Environment(screen) => screen.typing(),
            Active::Decide(screen) => screen.typing(),
            Active::ShowShare(_)
            | Active::Choose(_)
            | Active::Seal(_)
            | Active::CopyHead(_)
            | Active::Go(_) => false,
        }
    }

    /// The keys that act now, for the footer.
    pub fn keys(&self) -> &'static str {
        match self {
            Active::ShowShare(screen) => screen.keys(),
            Active::Choose(_) => choose::KEYS,
            Active::Share(_) => share_entry::KEYS,
            Active::CopyBack(_) => copy_check::KEYS,
            Active::Seal(_) => seal::KEYS,
            Active::CopyHead(_) => copy_head::KEYS,
            Active::Resume(screen) => screen.keys(),
            Active::Environment(screen) => screen.keys(),
            Active::EndOfStep(screen) => screen.keys(),
            Active::Go(screen) => screen.keys(),
            Active::Decide(screen) => screen.keys(),
            Active::CheckIn(screen) => screen.keys(),
            Active::Presence(screen) => screen.keys(),
            Active::Record(_)
            | Active::Bag(_)
            | Active::Clock(_)
            | Active::WitnessPin(_)
            | Active::WitnessSignature(_)
            | Active::Network(_)
            | Active::LastHead(_) => TYPING,
        }
    }
}
