//! The engine's side of the TUI: [`ChannelOperator`] implements
//! [`Operator`] by sending each question to the UI thread as a [`Request`]
//! and blocking until the operators answer it. Notices go one way.

use std::sync::mpsc::{self, Receiver, Sender};

use chrono::{DateTime, Utc};
use keyceremony_engine::operator::{ExceptionReport, ResumeChoice};
use keyceremony_engine::{
    EngineError, Identity, InputError, InputSource, Interrupted, LogHead, Notice, Operator,
    Outcome, ShareShown, SignatureRequest, Verdict,
};
use keyceremony_script::{Participant, RecordField, Script, Secret, Step};
use keyceremony_shares::{SecretKind, Share};
use secrecy::SecretString;

use crate::screens::start::Checked;

/// One thing the engine asks the people in the room: one variant per
/// method of [`Operator`] that needs an answer, carrying what the screen
/// shows.
pub enum Prompt {
    CheckIn {
        step: Step,
        participant: Participant,
        witness: Participant,
    },
    Record {
        step: Step,
        field: RecordField,
    },
    ShowShare {
        step: Step,
        custodian: Participant,
        kind: SecretKind,
        number: u8,
        count: u8,
        /// `Share::display_lines`: shown on the share screen only, and
        /// wiped when the custodian has copied it.
        lines: SecretString,
    },
    ShareBag {
        step: Step,
        custodian: Participant,
        secret: Secret,
        number: u8,
    },
    ChooseCustodians {
        step: Step,
        secret: Secret,
        eligible: Vec<Participant>,
        threshold: usize,
    },
    Share {
        step: Step,
        custodian: Participant,
        secret: Secret,
    },
    Exceptions {
        step: Step,
        witness: Participant,
    },
    ReferenceTime {
        step: Step,
        witness: Participant,
        system_time: DateTime<Utc>,
    },
    WitnessTokenPin {
        witness: Participant,
        token_label: String,
    },
    WitnessSignature {
        witness: Participant,
        request: SignatureRequest,
    },
    ConfirmSeal {
        witness: Participant,
        head: String,
        words: String,
    },
    Witness {
        step: Step,
        witness: Participant,
    },
    /// Asked before the ceremony starts, when the output folder holds a log
    /// that stopped before its seal.
    Resume {
        interrupted: Box<Interrupted>,
    },
    /// Asked before the ceremony starts, when network interfaces are up.
    NetworkExplanation {
        witness: Participant,
        interfaces: Vec<String>,
    },
    /// At the end of an act: the witness copies the log's head.
    CopyHead {
        witness: Participant,
        head: LogHead,
    },
    /// Asked before an interrupted ceremony is taken up: the last head the
    /// witness copied onto the paper script.
    LastHead {
        witness: Participant,
        /// Entries of the interrupted log, to show.
        entries: u64,
    },
    /// Asked before an interrupted ceremony is taken up, when the module,
    /// binary or token differ from the first run's.
    EnvironmentChange {
        witness: Participant,
        changes: Vec<String>,
    },
}

/// What the operators answered; which variant answers which [`Prompt`] is
/// checked on the engine's side.
#[derive(Debug)]
pub enum Answer {
    Identity(Identity),
    /// A recorded value, a bag serial or an explanation.
    Text(String),
    ShareShown,
    Custodians(Vec<String>),
    /// A share or the witness's token PIN.
    Secret(SecretString),
    Exceptions(Vec<ExceptionReport>),
    Time(DateTime<Utc>),
    SealCopied,
    Verdict(Verdict),
    Resume(ResumeChoice),
    HeadCopied,
    /// The witness's remark accepting a changed environment, or None.
    Environment(Option<String>),
}

/// An answer, or why there is none (the operators aborted).
pub type Reply = Result<Answer, InputError>;

/// A [`Prompt`] and where its answer goes.
pub struct Request {
    pub prompt: Prompt,
    pub reply: Sender<Reply>,
}

/// What the engine's thread sends to the UI thread.
pub enum Message {
    /// `Ceremony::prepare` passed: what the start screen still needed.
    Ready(Checked),
    /// Boxed: a prompt carries whole steps and participants, and messages
    /// of every kind go through the same channel.
    Request(Box<Request>),
    Notice(Notice),
    /// The engine returned; nothing follows.
    Finished(Result<Outcome, EngineError>),
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

/// An answer of the wrong kind is a bug in the TUI; the engine stops on it
/// rather than guessing.
fn mismatch(question: &str, answer: &Answer) -> InputError {
    InputError::Invalid(format!(
        "internal error: the TUI answered {question} with {}",
        match answer {
            Answer::Identity(_) => "an identity",
            Answer::Text(_) => "a text",
            Answer::ShareShown => "a shown share",
            Answer::Custodians(_) => "a list of custodians",
            Answer::Secret(_) => "a secret",
            Answer::Exceptions(_) => "exceptions",
            Answer::Time(_) => "a time",
            Answer::SealCopied => "a seal confirmation",
            Answer::Verdict(_) => "a verdict",
            Answer::Resume(_) => "a choice to resume or abort",
            Answer::HeadCopied => "a copied head",
            Answer::Environment(_) => "a decision on the environment",
        }
    ))
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
        witness: &Participant,
    ) -> Result<Identity, InputError> {
        match self.ask(Prompt::CheckIn {
            step: step.clone(),
            participant: participant.clone(),
            witness: witness.clone(),
        })? {
            Answer::Identity(identity) => Ok(identity),
            other => Err(mismatch("a check-in", &other)),
        }
    }

    fn record(&mut self, step: &Step, field: &RecordField) -> Result<String, InputError> {
        match self.ask(Prompt::Record {
            step: step.clone(),
            field: field.clone(),
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

    fn share_bag(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        number: u8,
    ) -> Result<String, InputError> {
        match self.ask(Prompt::ShareBag {
            step: step.clone(),
            custodian: custodian.clone(),
            secret,
            number,
        })? {
            Answer::Text(serial) => Ok(serial),
            other => Err(mismatch("a bag serial", &other)),
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

    fn reference_time(
        &mut self,
        step: &Step,
        witness: &Participant,
        system_time: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, InputError> {
        match self.ask(Prompt::ReferenceTime {
            step: step.clone(),
            witness: witness.clone(),
            system_time,
        })? {
            Answer::Time(time) => Ok(time),
            other => Err(mismatch("the reference clock reading", &other)),
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
