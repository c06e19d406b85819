//! The engine's side of the TUI: [`ChannelOperator`] implements
//! [`Operator`] by sending each question to the UI thread as a [`Request`]
//! and blocking until the operators answer it. Notices go one way.

use std::sync::mpsc::{self, Receiver, Sender};

use keyceremony_engine::operator::{ExceptionReport, ResumeChoice};
use keyceremony_engine::{
    Attendance, ClockReading, Decision, EngineError, Imminent, InputError, InputSource,
    Interrupted, LogHead, Missing, Notice, Operator, Outcome, PresenceChange, Raised, ShareShown,
    SignatureRequest, Verdict,
};
use keyceremony_script::{Participant, RecordField, Script, Secret, Step};
use keyceremony_shares::Share;
use secrecy::SecretString;

use crate::screens::start::Checked;

mod prompt;

use prompt::mismatch;
pub use prompt::{Answer, Prompt, Reply};

/// A [`Prompt`] and where its answer goes.
pub struct Request {
    pub prompt: Prompt,
    pub reply: Sender<Reply>,
}

/// What the engine's thread, and the terminal's reader, send to the UI
/// thread.
pub enum Message {
    /// `Ceremony::prepare` passed: what the start screen still needed.
    Ready(Checked),
    /// Boxed: a prompt carries whole steps and participants, and messages
    /// of every kind go through the same channel.
    Request(Box<Request>),
    Notice(Notice),
    /// The engine returned; nothing follows.
    Finished(Result<Outcome, EngineError>),
    /// A key, a resize or a failure of the terminal, from the thread that
    /// reads it: through the same channel as the engine's messages, so
    /// that the UI waits on one thing and wakes on whichever comes first.
    Terminal(std::io::Result<crossterm::event::Event>),
}

/// The TUI's [`Operator`]: lives on the engine's thread.
pub struct ChannelOperator {
    to_ui: Sender<Message>,
}

impl ChannelOperator {
    pub fn new(to_ui: Sender<Message>) -> ChannelOperator {
        ChannelOperator { to_ui }
    }

    /// Sends `prompt` and blocks until the operators answer. A UI that has
    /// gone away counts as an abort, so the engine records why it stopped.
    fn ask(&self, prompt: Prompt) -> Reply {
        let (reply, answer): (Sender<Reply>, Receiver<Reply>) = mpsc::channel();
        let closed = || InputError::Aborted {
            reason: "the operator TUI closed before the question was answered".to_string(),
        };
        self.to_ui
            .send(Message::Request(Box::new(Request { prompt, reply })))
            .map_err(|_| closed())?;
        answer.recv().map_err(|_| closed())?
    }
}

impl Operator for ChannelOperator {
    /// People at the keyboard answer: a production ceremony may run.
    fn headless(&self) -> bool {
        false
    }

    /// Nothing to check in advance: every input is asked for when needed.
    fn preflight(&mut self, _script: &Script, _rehearsal: bool) -> Result<(), InputError> {
        Ok(())
    }

    fn check_in(
        &mut self,
        step: &Step,
        participant: &Participant,
        checker: &Participant,
        identified: bool,
    ) -> Result<Attendance, InputError> {
        match self.ask(Prompt::CheckIn {
            step: step.clone(),
            participant: participant.clone(),
            witness: checker.clone(),
            identified,
        })? {
            Answer::Attendance(attendance) => Ok(attendance),
            other => Err(mismatch("a check-in", &other)),
        }
    }

    fn presence(
        &mut self,
        step: &Step,
        missing: &[Missing],
    ) -> Result<Vec<PresenceChange>, InputError> {
        match self.ask(Prompt::Presence {
            step: step.clone(),
            missing: missing.to_vec(),
        })? {
            Answer::Presence(changes) => Ok(changes),
            other => Err(mismatch("who is in the room", &other)),
        }
    }

    fn record(
        &mut self,
        step: &Step,
        field: &RecordField,
        refused: Option<&str>,
    ) -> Result<String, InputError> {
        match self.ask(Prompt::Record {
            step: step.clone(),
            field: field.clone(),
            refused: refused.map(str::to_string),
        })? {
            Answer::Text(value) => Ok(value),
            other => Err(mismatch("a recorded value", &other)),
        }
    }

    fn show_share(
        &mut self,
        step: &Step,
        custodian: &Participant,
        share: &Share,
    ) -> Result<ShareShown, InputError> {
        match self.ask(Prompt::ShowShare {
            step: step.clone(),
            custodian: custodian.clone(),
            kind: share.set().kind,
            number: share.number(),
            count: share.set().count,
            lines: share.display_lines(),
        })? {
            Answer::ShareShown => Ok(ShareShown::Shown),
            other => Err(mismatch("a share to show", &other)),
        }
    }

    fn copy_back(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        number: u8,
    ) -> Result<SecretString, InputError> {
        match self.ask(Prompt::CopyBack {
            step: step.clone(),
            custodian: custodian.clone(),
            secret,
            number,
        })? {
            Answer::Secret(copy) => Ok(copy),
            other => Err(mismatch("a copy typed back", &other)),
        }
    }

    fn share_bag(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        number: u8,
        refused: Option<&str>,
    ) -> Result<String, InputError> {
        match self.ask(Prompt::ShareBag {
            step: step.clone(),
            custodian: custodian.clone(),
            secret,
            number,
            refused: refused.map(str::to_string),
        })? {
            Answer::Text(serial) => Ok(serial),
            other => Err(mismatch("a bag serial", &other)),
        }
    }

    fn bag_opened(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        refused: Option<&str>,
    ) -> Result<String, InputError> {
        match self.ask(Prompt::BagOpened {
            step: step.clone(),
            custodian: custodian.clone(),
            secret,
            refused: refused.map(str::to_string),
        })? {
            Answer::Text(serial) => Ok(serial),
            other => Err(mismatch("the serial of a bag opened", &other)),
        }
    }

    fn choose_custodians(
        &mut self,
        step: &Step,
        secret: Secret,
        eligible: &[Participant],
        threshold: usize,
    ) -> Result<Vec<String>, InputError> {
        match self.ask(Prompt::ChooseCustodians {
            step: step.clone(),
            secret,
            eligible: eligible.to_vec(),
            threshold,
        })? {
            Answer::Custodians(ids) => Ok(ids),
            other => Err(mismatch("the choice of custodians", &other)),
        }
    }

    fn share(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
    ) -> Result<SecretString, InputError> {
        match self.ask(Prompt::Share {
            step: step.clone(),
            custodian: custodian.clone(),
            secret,
        })? {
            Answer::Secret(share) => Ok(share),
            other => Err(mismatch("a share entry", &other)),
        }
    }

    fn exceptions(
        &mut self,
        step: &Step,
        witness: &Participant,
    ) -> Result<Vec<ExceptionReport>, InputError> {
        match self.ask(Prompt::Exceptions {
            step: step.clone(),
            witness: witness.clone(),
        })? {
            Answer::Exceptions(reports) => Ok(reports),
            other => Err(mismatch("the exceptions of a step", &other)),
        }
    }

    fn clock_reading(
        &mut self,
        step: &Step,
        witness: &Participant,
    ) -> Result<ClockReading, InputError> {
        match self.ask(Prompt::ReferenceTime {
            step: step.clone(),
            witness: witness.clone(),
        })? {
            Answer::Clock(reading) => Ok(reading),
            other => Err(mismatch("the clock check", &other)),
        }
    }

    fn decide(
        &mut self,
        step: &Step,
        witness: &Participant,
        raised: &Raised,
    ) -> Result<Decision, InputError> {
        match self.ask(Prompt::Decide {
            step: step.clone(),
            witness: witness.clone(),
            raised: raised.clone(),
        })? {
            Answer::Decision(decision) => Ok(decision),
            other => Err(mismatch("an exception the tool raised", &other)),
        }
    }

    fn input(&self) -> InputSource {
        InputSource::Terminal
    }

    fn witness_signature(
        &mut self,
        witness: &Participant,
        request: &SignatureRequest,
    ) -> Result<std::path::PathBuf, InputError> {
        match self.ask(Prompt::WitnessSignature {
            witness: witness.clone(),
            request: request.clone(),
        })? {
            Answer::Text(path) => Ok(std::path::PathBuf::from(path)),
            other => Err(mismatch("the witness's signature file", &other)),
        }
    }

    fn witness_token_pin(
        &mut self,
        witness: &Participant,
        token_label: &str,
    ) -> Result<SecretString, InputError> {
        match self.ask(Prompt::WitnessTokenPin {
            witness: witness.clone(),
            token_label: token_label.to_string(),
        })? {
            Answer::Secret(pin) => Ok(pin),
            other => Err(mismatch("the witness's token PIN", &other)),
        }
    }

    fn confirm_seal(
        &mut self,
        witness: &Participant,
        head: &str,
        words: &str,
    ) -> Result<(), InputError> {
        match self.ask(Prompt::ConfirmSeal {
            witness: witness.clone(),
            head: head.to_string(),
            words: words.to_string(),
        })? {
            Answer::SealCopied => Ok(()),
            other => Err(mismatch("the seal", &other)),
        }
    }

    fn network_explanation(
        &mut self,
        witness: &Participant,
        interfaces: &[String],
    ) -> Result<String, InputError> {
        match self.ask(Prompt::NetworkExplanation {
            witness: witness.clone(),
            interfaces: interfaces.to_vec(),
        })? {
            Answer::Text(explanation) => Ok(explanation),
            other => Err(mismatch("the network explanation", &other)),
        }
    }

    fn resume_or_abort(&mut self, interrupted: &Interrupted) -> Result<ResumeChoice, InputError> {
        match self.ask(Prompt::Resume {
            interrupted: Box::new(interrupted.clone()),
        })? {
            Answer::Resume(choice) => Ok(choice),
            other => Err(mismatch("the interrupted ceremony", &other)),
        }
    }

    fn copy_head(&mut self, witness: &Participant, head: &LogHead) -> Result<(), InputError> {
        match self.ask(Prompt::CopyHead {
            witness: witness.clone(),
            head: head.clone(),
        })? {
            Answer::HeadCopied => Ok(()),
            other => Err(mismatch("the log's head", &other)),
        }
    }

    fn last_copied_head(
        &mut self,
        witness: &Participant,
        interrupted: &Interrupted,
    ) -> Result<String, InputError> {
        match self.ask(Prompt::LastHead {
            witness: witness.clone(),
            entries: interrupted.entries,
        })? {
            Answer::Text(head) => Ok(head),
            other => Err(mismatch("the last copied head", &other)),
        }
    }

    fn accept_environment_change(
        &mut self,
        witness: &Participant,
        changes: &[String],
    ) -> Result<Option<String>, InputError> {
        match self.ask(Prompt::EnvironmentChange {
            witness: witness.clone(),
            changes: changes.to_vec(),
        })? {
            Answer::Environment(remark) => Ok(remark),
            other => Err(mismatch("the changed environment", &other)),
        }
    }

    fn go(
        &mut self,
        step: &Step,
        performer: &Participant,
        imminent: &Imminent,
    ) -> Result<(), InputError> {
        match self.ask(Prompt::Go {
            step: step.clone(),
            performer: performer.clone(),
            imminent: Box::new(imminent.clone()),
        })? {
            Answer::Go => Ok(()),
            other => Err(mismatch("the go", &other)),
        }
    }

    fn witness(&mut self, step: &Step, witness: &Participant) -> Result<Verdict, InputError> {
        match self.ask(Prompt::Witness {
            step: step.clone(),
            witness: witness.clone(),
        })? {
            Answer::Verdict(verdict) => Ok(verdict),
            other => Err(mismatch("the witness's verdict", &other)),
        }
    }

    /// Notices are for the screen only (the engine logs them itself), so a
    /// UI that has gone away loses nothing.
    fn notify(&mut self, notice: &Notice) {
        let _ = self.to_ui.send(Message::Notice(notice.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn participant(id: &str) -> Participant {
        Participant {
            id: id.to_string(),
            name: id.to_uppercase(),
            roles: vec![],
        }
    }

    fn step() -> Step {
        let script = keyceremony_script::LoadedScript::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../ceremony-scripts/root-rsa4096.toml"
        )))
        .expect("shipped script");
        script.script.acts[0].steps[0].clone()
    }

    #[test]
    fn the_tui_driver_is_not_headless_and_preflight_passes() {
        let (tx, _rx) = mpsc::channel();
        let mut operator = ChannelOperator::new(tx);
        assert!(!operator.headless());
        let script = keyceremony_script::LoadedScript::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../ceremony-scripts/root-rsa4096.toml"
        )))
        .expect("shipped script");
        assert!(operator.preflight(&script.script, true).is_ok());
    }

    #[test]
    fn a_question_blocks_until_the_ui_answers() {
        let (tx, rx) = mpsc::channel();
        let engine = thread::spawn(move || {
            let mut operator = ChannelOperator::new(tx);
            operator.witness(&step(), &participant("quinn"))
        });
        let Ok(Message::Request(request)) = rx.recv() else {
            panic!("expected a request");
        };
        assert!(matches!(request.prompt, Prompt::Witness { .. }));
        request
            .reply
            .send(Ok(Answer::Verdict(Verdict::Confirmed)))
            .expect("engine waiting");
        assert_eq!(
            engine.join().expect("engine thread").ok(),
            Some(Verdict::Confirmed)
        );
    }

    #[test]
    fn a_closed_ui_is_an_abort_and_a_wrong_answer_is_refused() {
        let (tx, rx) = mpsc::channel();
        drop(rx);
        let mut operator = ChannelOperator::new(tx);
        assert!(matches!(
            operator.witness(&step(), &participant("quinn")),
            Err(InputError::Aborted { .. })
        ));

        let (tx, rx) = mpsc::channel();
        let engine = thread::spawn(move || {
            let mut operator = ChannelOperator::new(tx);
            operator.witness(&step(), &participant("quinn"))
        });
        let Ok(Message::Request(request)) = rx.recv() else {
            panic!("expected a request");
        };
        request
            .reply
            .send(Ok(Answer::ShareShown))
            .expect("engine waiting");
        assert!(matches!(
            engine.join().expect("engine thread"),
            Err(InputError::Invalid(_))
        ));
    }
}
