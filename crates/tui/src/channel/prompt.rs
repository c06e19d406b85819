//! What the engine asks the room ([`Prompt`]) and what the room answers
//! ([`Answer`]): plain data passed between the engine's thread and the UI.

use keyceremony_engine::operator::{ExceptionReport, ResumeChoice};
use keyceremony_engine::{
    Attendance, ClockReading, Decision, Imminent, InputError, Interrupted, LogHead, Missing,
    PresenceChange, Raised, SignatureRequest, Verdict,
};
use keyceremony_script::{Participant, RecordField, Secret, Step};
use keyceremony_shares::SecretKind;
use secrecy::SecretString;

/// One thing the engine asks the people in the room: one variant per
/// method of [`Operator`] that needs an answer, carrying what the screen
/// shows.
pub enum Prompt {
    CheckIn {
        step: Step,
        participant: Participant,
        /// Who checks them: the step's witness, or for the witness, the
        /// log examiner.
        witness: Participant,
        /// Identified earlier in this ceremony: only asked whether present.
        identified: bool,
    },
    /// Who left or came back; with people `missing`, the step waits for them.
    Presence {
        step: Step,
        missing: Vec<Missing>,
    },
    Record {
        step: Step,
        field: RecordField,
        /// Why the last value was refused (its format, a bag used before).
        refused: Option<String>,
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
    /// The custodian types a new share back from their paper.
    CopyBack {
        step: Step,
        custodian: Participant,
        secret: Secret,
        number: u8,
    },
    /// The new bag a share goes into.
    ShareBag {
        step: Step,
        custodian: Participant,
        secret: Secret,
        number: u8,
        refused: Option<String>,
    },
    /// The bag a custodian takes their share out of, read before opening.
    BagOpened {
        step: Step,
        custodian: Participant,
        secret: Secret,
        refused: Option<String>,
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
    },
    /// An exception the tool raised: the witness decides it.
    Decide {
        step: Step,
        witness: Participant,
        raised: Raised,
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
    /// Before an irreversible HSM action: the performer's go. Boxed: a
    /// certificate's facts make it the largest prompt.
    Go {
        step: Step,
        performer: Participant,
        imminent: Box<Imminent>,
    },
    /// Asked before the ceremony starts, when the output folder holds a log
    /// that stopped before its seal.
    /// Boxed: the interrupted log's state is the largest prompt.
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
    Attendance(Attendance),
    Presence(Vec<PresenceChange>),
    /// A recorded value, a bag serial or an explanation.
    Text(String),
    ShareShown,
    Custodians(Vec<String>),
    /// A share or the witness's token PIN.
    Secret(SecretString),
    Exceptions(Vec<ExceptionReport>),
    /// The clock check's two readings, taken at the witness's mark.
    Clock(ClockReading),
    Decision(Decision),
    SealCopied,
    /// The performer gave the go.
    Go,
    Verdict(Verdict),
    Resume(ResumeChoice),
    HeadCopied,
    /// The witness's remark accepting a changed environment, or None.
    Environment(Option<String>),
}

/// An answer, or why there is none (the operators aborted).
pub type Reply = Result<Answer, InputError>;

/// An answer of the wrong kind is a bug in the TUI; the engine stops on it
/// rather than guessing.
pub(super) fn mismatch(question: &str, answer: &Answer) -> InputError {
    InputError::Invalid(format!(
        "internal error: the TUI answered {question} with {}",
        match answer {
            Answer::Attendance(_) => "an attendance",
            Answer::Presence(_) => "presence changes",
            Answer::Text(_) => "a text",
            Answer::ShareShown => "a shown share",
            Answer::Custodians(_) => "a list of custodians",
            Answer::Secret(_) => "a secret",
            Answer::Exceptions(_) => "exceptions",
            Answer::Clock(_) => "a clock reading",
            Answer::Decision(_) => "a decision",
            Answer::SealCopied => "a seal confirmation",
            Answer::Go => "a go",
            Answer::Verdict(_) => "a verdict",
            Answer::Resume(_) => "a choice to resume or abort",
            Answer::HeadCopied => "a copied head",
            Answer::Environment(_) => "a decision on the environment",
        }
    ))
}
