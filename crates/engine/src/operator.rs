//! The one way operator input reaches the engine. The answers file and the
//! TUI both implement [`Operator`], so the engine runs the same with or
//! without a terminal.

use keyceremony_script::{Participant, RecordField, Script, Secret, Step};
use keyceremony_shares::Share;

use crate::imminent::Imminent;
use crate::questions::{Attendance, ClockReading, Decision, Missing, PresenceChange, Raised};
use crate::resume::Interrupted;
use secrecy::SecretString;

/// The witness's word at the end of a step (CPS 6.1.1 item 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Confirmed,
    Refused { remark: String },
}

/// What the witness checked to confirm a participant's identity (CPS 5.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The kind of document shown, e.g. "passport"; never its number.
    pub document: String,
}

/// A deviation from the script, as written on a numbered exception sheet:
/// what happened, and whether the witness accepts it (CPS 6.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionReport {
    pub description: String,
    pub accepted: bool,
    pub remark: String,
}

/// What the room decides about an interrupted ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeChoice {
    Resume,
    Abort { reason: String },
}

/// Whether a driver could show a share to its custodian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareShown {
    /// Shown once on a cleared screen, then cleared again.
    Shown,
    /// The driver has no screen (an answers file): only a rehearsal may
    /// then write the share to its rehearsal folder.
    NoScreen,
}

/// The log's head as shown to the witness to copy onto the paper script
/// (at an act's end, and when a run stops): a resumed ceremony proves its
/// log with the last one copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// Where, in words: "the end of act 2", "the stop in step 3.1".
    pub at: String,
    /// The entry whose line hashes to `head`.
    pub entries: u64,
    /// Lower-case hex SHA-256.
    pub head: String,
    /// The same in PGP words.
    pub words: String,
}

/// How the people in the room give the tool their input: recorded in each
/// run's environment entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// Typed at the terminal, in the operator TUI.
    Terminal,
    /// Read from an answers file (a rehearsal), with its SHA-256.
    AnswersFile { path: String, sha256: String },
}

/// The seal statement on the removable media, waiting for the witness's
/// signature ([`Operator::witness_signature`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRequest {
    /// The statement's file on the media.
    pub statement: std::path::PathBuf,
    /// Its SHA-256, upper-case hex, and the same as PGP words, for the
    /// witness to compare with their copy's.
    pub sha256: String,
    pub words: String,
    /// Where the witness's signature is expected unless the operators name
    /// another file: `witness-signature.der` beside the statement, with the
    /// witness's public key as `witness-public-key.pem`.
    pub signature: std::path::PathBuf,
    /// Why the last signature brought back was refused, to show before
    /// asking again.
    pub refused: Option<String>,
}

/// Things the operators should see as the ceremony runs; a driver may show
/// them or not, the log records them either way.
#[derive(Debug, Clone)]
pub enum Notice {
    StepBegin {
        act: String,
        step: String,
        title: String,
        performer: String,
        witness: String,
    },
    /// The HSM is working; RSA-4096 generation can take minutes.
    HsmWorking {
        what: String,
    },
    KeyGenerated {
        label: String,
        uri: String,
        public_key_sha256: String,
        /// The private key's attributes as read back from the token, e.g.
        /// ("CKA_SENSITIVE", true), for the room to read against the script.
        attributes: Vec<(&'static str, bool)>,
    },
    CertificateSigned {
        label: String,
        subject: String,
        serial: String,
        sha256: String,
    },
    FileWritten {
        path: String,
        sha256: String,
    },
    /// A custodian's copy of a new share was checked: `difference` says
    /// why it is wrong (the share is then shown again), None when right.
    CopyChecked {
        custodian: String,
        difference: Option<String>,
    },
    /// A share entry was refused; the custodian is asked again.
    ShareRejected {
        custodian: String,
        reason: String,
        failures: u32,
        limit: u32,
    },
    LoginFailed {
        failures: u32,
        limit: u32,
        reason: String,
    },
    /// An irreversible HSM action is about to happen; the performer's go
    /// is asked next ([`Operator::go`]).
    Imminent(Imminent),
    /// The HSM finished what [`Notice::HsmWorking`] announced.
    HsmDone {
        what: String,
        milliseconds: f64,
    },
    /// The witness's clock check (CPS 5.5.5), and the policy's limit.
    ClockChecked {
        difference_ms: i64,
        limit_ms: Option<i64>,
    },
    /// Network interfaces other than loopback are up (CPS 6.7).
    NetworkUp {
        interfaces: Vec<String>,
    },
    /// An exception was recorded with its number.
    Exception {
        number: u32,
        description: String,
    },
    /// The log is sealed; `head` is what the witness copies onto the paper
    /// script, `words` the same as PGP words for reading aloud.
    Sealed {
        outcome: String,
        entries: u64,
        head: String,
        words: String,
    },
    /// The log's head for the witness to copy (the act-end copy is also a
    /// question, [`Operator::copy_head`]).
    LogHead(LogHead),
    /// The ceremony is aborted: every key the log says is on the token,
    /// each still live there.
    KeysLeft {
        keys: Vec<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the operators aborted the ceremony: {reason}")]
    Aborted { reason: String },
}

/// Operator input. Each method is one thing a person in the room does.
pub trait Operator {
    /// True when inputs come from a file rather than from people at the
    /// keyboard: a production ceremony then refuses to start, since its
    /// activation data is typed by its custodians only (CPS 6.4.2).
    fn headless(&self) -> bool;

    /// Called before anything is written or the HSM is touched: a driver
    /// that holds its inputs in advance (an answers file) checks here that
    /// it has every one the script will ask for.
    fn preflight(&mut self, script: &Script, rehearsal: bool) -> Result<(), InputError>;

    /// `checker` (the step's witness; for the witness, the log examiner)
    /// records whether `participant` is in the room, checking their
    /// identity document unless they were `identified` earlier in this
    /// ceremony.
    fn check_in(
        &mut self,
        step: &Step,
        participant: &Participant,
        checker: &Participant,
        identified: bool,
    ) -> Result<Attendance, InputError>;

    /// Who left or came back into the room since the last step began.
    /// With `missing` empty it is asked at every step's beginning and is
    /// usually answered at once; otherwise the step cannot begin until
    /// those people are back (or the ceremony is aborted).
    fn presence(
        &mut self,
        step: &Step,
        missing: &[Missing],
    ) -> Result<Vec<PresenceChange>, InputError>;

    /// A value read in the room, such as a bag serial. `refused`: why the
    /// last answer to this question was refused (a format, a bag serial
    /// used before); a driver that cannot ask again returns it as an error.
    fn record(
        &mut self,
        step: &Step,
        field: &RecordField,
        refused: Option<&str>,
    ) -> Result<String, InputError>;

    /// Shows `share` to `custodian` alone, once.
    fn show_share(
        &mut self,
        step: &Step,
        custodian: &Participant,
        share: &Share,
    ) -> Result<ShareShown, InputError>;

    /// `custodian`'s copy of share `number` of `secret`, typed back from
    /// their paper (a rehearsal: read back from its share file) before the
    /// tool wipes the share.
    fn copy_back(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        number: u8,
    ) -> Result<SecretString, InputError>;

    /// Serial of the new tamper-evident bag in which `custodian` seals
    /// share `number` of `secret`: when it is handed out, and again after
    /// every activation it was taken out for. `refused` as for `record`.
    fn share_bag(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        number: u8,
        refused: Option<&str>,
    ) -> Result<String, InputError>;

    /// Serial of the bag `custodian` takes their share of `secret` out of
    /// to activate the token, read before it is opened. `refused` as for
    /// `record`.
    fn bag_opened(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        refused: Option<&str>,
    ) -> Result<String, InputError>;

    /// Which `threshold` custodians of `secret` come forward, by id.
    fn choose_custodians(
        &mut self,
        step: &Step,
        secret: Secret,
        eligible: &[Participant],
        threshold: usize,
    ) -> Result<Vec<String>, InputError>;

    /// `custodian`'s share of `secret`, typed without echo.
    fn share(
        &mut self,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
    ) -> Result<SecretString, InputError>;

    /// Deviations from the script the room records in this step, each with
    /// the witness's acceptance; usually none.
    fn exceptions(
        &mut self,
        step: &Step,
        witness: &Participant,
    ) -> Result<Vec<ExceptionReport>, InputError>;

    /// The clock check (CPS 5.5.5): the witness says what the reference
    /// clock will show and marks the moment it shows it; the terminal's
    /// time is taken at that mark.
    fn clock_reading(
        &mut self,
        step: &Step,
        witness: &Participant,
    ) -> Result<ClockReading, InputError>;

    /// The witness decides an exception the tool raised in this step.
    fn decide(
        &mut self,
        step: &Step,
        witness: &Participant,
        raised: &Raised,
    ) -> Result<Decision, InputError>;

    /// How this driver's input is given, for the record.
    fn input(&self) -> InputSource;

    /// The witness has signed the seal statement on their own device: the
    /// file their signature is in (DER ECDSA, as `openssl dgst -sign`
    /// writes it), with their public key beside it as
    /// `witness-public-key.pem`. Asked again, with the reason, when the
    /// signature brought back does not verify.
    fn witness_signature(
        &mut self,
        witness: &Participant,
        request: &SignatureRequest,
    ) -> Result<std::path::PathBuf, InputError>;

    /// Lab-token signing only: the PIN of the witness's token connected to
    /// the terminal, typed by the witness to sign the log's seal.
    fn witness_token_pin(
        &mut self,
        witness: &Participant,
        token_label: &str,
    ) -> Result<SecretString, InputError>;

    /// The witness confirms the sealed log's head hash is copied onto the
    /// paper script.
    fn confirm_seal(
        &mut self,
        witness: &Participant,
        head: &str,
        words: &str,
    ) -> Result<(), InputError>;

    /// Why network interfaces are up on the ceremony terminal, in the
    /// witness's words; a production ceremony does not start without it
    /// (CPS 6.7).
    fn network_explanation(
        &mut self,
        witness: &Participant,
        interfaces: &[String],
    ) -> Result<String, InputError>;

    /// The log in the output folder stopped before its seal: go on from
    /// where it stopped, or abort (recorded, and sealed as aborted when the
    /// log-signing key exists).
    fn resume_or_abort(&mut self, interrupted: &Interrupted) -> Result<ResumeChoice, InputError>;

    /// At the end of an act: the witness copies the log's head onto the
    /// paper script, then confirms.
    fn copy_head(&mut self, witness: &Participant, head: &LogHead) -> Result<(), InputError>;

    /// On restarting an interrupted ceremony: the last head the witness
    /// copied onto the paper script, as typed, or "none" when no head was
    /// ever shown.
    fn last_copied_head(
        &mut self,
        witness: &Participant,
        interrupted: &Interrupted,
    ) -> Result<String, InputError>;

    /// This run's module, binary or token differs from the first run's:
    /// the witness's remark accepting it as an exception, or None.
    fn accept_environment_change(
        &mut self,
        witness: &Participant,
        changes: &[String],
    ) -> Result<Option<String>, InputError>;
    /// The step's performer gives the go for `imminent`, which the room
    /// has been shown; there is no other answer than the go or an abort.
    fn go(
        &mut self,
        step: &Step,
        performer: &Participant,
        imminent: &Imminent,
    ) -> Result<(), InputError>;

    /// The witness confirms or refuses the step just performed.
    fn witness(&mut self, step: &Step, witness: &Participant) -> Result<Verdict, InputError>;

    fn notify(&mut self, notice: &Notice);
}
