//! The offline verifier: reads a ceremony log once, line by line, and says
//! whether it is intact and sealed (CPS 5.4.4: protection of the audit log).
//!
//! Memory does not grow with the log: one line (at most [`MAX_LINE`] bytes) is
//! held at a time, and between lines only the last number, hash and time, the
//! ceremony id and the log-signing key are kept. `keyceremony verify-log`
//! prints the report and exits with [`Status::exit_code`].

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use keyceremony_text::terminal_safe;

use crate::chain::{Chain, MAX_LINE};
use crate::seal::SealOutcome;
use crate::signature::PublicKey;

/// What the auditor brings from outside the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The head copied on paper in the room (`--expect-head`): the hash of the
    /// last entry before the seal. Without it, a log rewritten from scratch and
    /// sealed again with keys the rewriter controls cannot be told apart.
    pub expect_head: Option<[u8; 32]>,
    /// The witness's public key as the witness hands it over (`--witness-key`),
    /// PEM. Compared as a key, not as text.
    pub witness_key_pem: Option<String>,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Intact, and sealed with outcome `completed`; every check passed.
    Sealed,
    /// Intact but not sealed: the ceremony was interrupted (possibly while an
    /// entry was being written), or the end of the log was cut off.
    Unsealed,
    /// Intact and sealed, with outcome `aborted`.
    Aborted,
    /// A check failed: the log was changed after it was written.
    Tampered,
    /// The log could not be read to the end (I/O error, a line longer than
    /// the writer ever writes), or the verifier's own inputs are unusable.
    Unreadable,
}

impl Status {
    /// Exit code of `keyceremony verify-log`: 0 sealed and completed; 3 intact
    /// but not a completed, sealed ceremony (unsealed or aborted); 4 tampered
    /// or unreadable. 2 is left to command-line usage errors.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Sealed => 0,
            Status::Unsealed | Status::Aborted => 3,
            Status::Tampered | Status::Unreadable => 4,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Sealed => "SEALED: intact, and sealed as completed",
            Status::Unsealed => "UNSEALED: intact, but not sealed",
            Status::Aborted => "ABORTED: intact, and sealed as aborted",
            Status::Tampered => "TAMPERED: the log was changed",
            Status::Unreadable => "UNREADABLE: the log could not be checked",
        })
    }
}

/// Why the log is not a sealed, completed ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line (1-based; the entry's number when the log is intact up to it)
    /// where checking stopped; 0 when the problem is not in the log itself.
    pub entry: u64,
    /// What is wrong, in words for an auditor; starts with "entry N" where
    /// it concerns an entry.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub status: Status,
    /// Entries found good: all of them when the log is intact (the seal
    /// included), those before the problem otherwise.
    pub entries: u64,
    /// Sealed or aborted: the head the seal states (hash of the entry before
    /// the seal), to compare with the one copied on paper. Unsealed: the hash
    /// of the last complete entry. None when the log is not intact or empty.
    pub head: Option<[u8; 32]>,
    /// From entry 1, when it could be read.
    pub ceremony_id: Option<String>,
    /// The seal's outcome, when the log is intact and sealed.
    pub outcome: Option<SealOutcome>,
    /// None exactly when the status is Sealed or Aborted.
    pub problem: Option<Problem>,
    /// Checkpoints verified with the recorded log-signing key.
    pub checkpoints: u64,
    /// Times the ceremony was taken up after an interruption.
    pub resumes: u64,
}

/// Verifies a log from a reader. Never panics on any input; everything
/// wrong is in the report.
pub fn verify_log(reader: impl BufRead, options: &VerifyOptions) -> VerifyReport {
    run(reader, options).report
}

/// Verifies the log file at `path`.
pub fn verify_path(path: &Path, options: &VerifyOptions) -> VerifyReport {
    match File::open(path) {
        Ok(file) => verify_log(BufReader::with_capacity(1 << 16, file), options),
        Err(e) => VerifyReport {
            status: Status::Unreadable,
            entries: 0,
            head: None,
            ceremony_id: None,
            outcome: None,
            problem: Some(Problem {
                entry: 0,
                message: format!("cannot open the log {}: {e}", path.display()),
            }),
            checkpoints: 0,
            resumes: 0,
        },
    }
}

/// An interrupted log as both the resume and the writer read it: one
/// verification pass decides which lines are complete, and an incomplete
/// last line (which [`crate::LogWriter::open_existing`] cuts off) is never
/// taken for an entry.
#[derive(Debug, Clone)]
pub struct Reading {
    pub report: VerifyReport,
    /// Every line the verifier accepted, without its line feed.
    pub lines: Vec<Vec<u8>>,
    /// The incomplete last line, if any.
    pub discarded: Vec<u8>,
}

/// Reads the log at `path` once, for resuming it.
pub fn read_path(path: &Path) -> Result<Reading, std::io::Error> {
    let file = File::open(path)?;
    let mut lines = Vec::new();
    let run = run_collecting(
        BufReader::with_capacity(1 << 16, file),
        &VerifyOptions::default(),
        Some(&mut lines),
    );
    Ok(Reading {
        report: run.report,
        lines,
        discarded: run.tail,
    })
}

/// A verification with what resuming needs besides the report.
pub(crate) struct Run {
    pub(crate) report: VerifyReport,
    pub(crate) chain: Chain,
    /// Length of the complete lines: where an interrupted log is cut back to.
    pub(crate) complete_bytes: u64,
    /// The incomplete last line, if any.
    pub(crate) tail: Vec<u8>,
}

/// How the line reader stopped.
pub(crate) enum End {
    /// Every line ended with a line feed.
    Clean,
    /// A last line without its line feed: the writer stopped while writing it.
    Incomplete,
    /// Not intact, or not readable.
    Failed(Status, Problem),
}

pub(crate) fn run(reader: impl BufRead, options: &VerifyOptions) -> Run {
    run_collecting(reader, options, None)
}

/// [`run`], keeping each accepted line in `lines` when given.
fn run_collecting(
    mut reader: impl BufRead,
    options: &VerifyOptions,
    mut lines: Option<&mut Vec<Vec<u8>>>,
) -> Run {
    let witness = match options.witness_key_pem.as_deref().map(PublicKey::from_pem) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(e)) => {
            let failure = End::Failed(
                Status::Unreadable,
                Problem {
                    entry: 0,
                    message: format!("the witness key given to the verifier is {e}"),
                },
            );
            return finish(Chain::new(None), failure, 0, Vec::new(), options);
        }
    };
    let mut chain = Chain::new(witness);
    let mut line = Vec::with_capacity(1 << 12);
    let mut complete_bytes = 0u64;
    let end = loop {
        line.clear();
        let n = chain.entries() + 1;
        // One byte more than the longest line: enough to see it is too long.
        let limit = MAX_LINE as u64 + 1;
        match (&mut reader).take(limit).read_until(b'\n', &mut line) {
            Ok(0) => break End::Clean,
            Ok(_) => {}
            Err(e) => {
                break End::Failed(
                    Status::Unreadable,
                    Problem {
                        entry: n,
                        message: format!("entry {n} cannot be read: {e}"),
                    },
                );
            }
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            match chain.check(&line) {
                Ok(accepted) => {
                    chain.commit(accepted);
                    complete_bytes += line.len() as u64 + 1;
                    if let Some(lines) = lines.as_mut() {
                        lines.push(line.clone());
                    }
                }
                Err(message) => break tampered(n, &message),
            }
        } else if line.len() > MAX_LINE {
            break End::Failed(
                Status::Unreadable,
                Problem {
                    entry: n,
                    message: format!(
                        "entry {n} is longer than {MAX_LINE} bytes, which the tool never writes; it was not checked, nor anything after it"
                    ),
                },
            );
        } else {
            break match incomplete(&chain, &line) {
                Ok(()) => End::Incomplete,
                Err(message) => tampered(n, &message),
            };
        }
    };
    finish(chain, end, complete_bytes, line, options)
}

/// A line that fails a check. The message quotes what the line holds (a
/// kind, a time, a name, the parser's view of it), which a forger chose, so
/// it is made safe for a terminal here, where every such problem is made:
/// `verify-log`, `report` and a resumed `run` all print it.
fn tampered(entry: u64, message: &str) -> End {
    End::Failed(
        Status::Tampered,
        Problem {
            entry,
            message: terminal_safe(message).into_owned(),
        },
    )
}

/// Judges a last line that has no line feed. A crash while writing leaves the
/// beginning of a line the tool was writing, which is not tampering; anything
/// else there (bytes after a complete entry, or after the seal) is.
fn incomplete(chain: &Chain, tail: &[u8]) -> Result<(), String> {
    let n = chain.entries() + 1;
    if let Some(sealed) = chain.sealed() {
        return Err(format!(
            "entry {n} follows the seal (entry {}): nothing may be added to a sealed log",
            sealed.entry
        ));
    }
    // Every entry the writer could have been writing begins like this.
    let opening = format!("{{\"seq\":{n},\"time\":\"");
    let opening = opening.as_bytes();
    let begins_right = if tail.len() < opening.len() {
        opening.starts_with(tail)
    } else {
        tail.starts_with(opening)
    };
    if !begins_right {
        return Err(format!(
            "entry {n} is incomplete and does not begin as entry {n} would: it was edited"
        ));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(tail) {
        // A whole entry whose line feed was never written: the write did not
        // finish, so the ceremony never went on from it. Only its exact form
        // counts, so nothing can be tacked on after a complete entry.
        Ok(_) => match chain.check(tail) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("the last line has no line feed, and {e}")),
        },
        Err(e) if e.classify() == serde_json::error::Category::Eof => Ok(()),
        Err(e) => Err(format!(
            "entry {n} is incomplete and is not the beginning of an entry the tool could have written ({e}): it was edited"
        )),
    }
}

pub(crate) fn finish(
    chain: Chain,
    end: End,
    complete_bytes: u64,
    tail: Vec<u8>,
    options: &VerifyOptions,
) -> Run {
    let entries = chain.entries();
    let ceremony_id = chain.ceremony_id().map(str::to_string);
    let (status, outcome, head, problem) = match end {
        End::Failed(status, problem) => (status, None, None, Some(problem)),
        End::Clean | End::Incomplete => match chain.sealed() {
            Some(sealed) => {
                let status = match sealed.outcome {
                    SealOutcome::Completed => Status::Sealed,
                    SealOutcome::Aborted => Status::Aborted,
                };
                (status, Some(sealed.outcome), Some(sealed.head), None)
            }
            None => {
                let n = entries + 1;
                let message = if matches!(end, End::Incomplete) {
                    format!(
                        "interrupted: last entry incomplete: entry {n} was being written when the tool stopped; the {entries} entries before it are intact, and the log has no seal"
                    )
                } else if entries == 0 {
                    "the log is empty: no entry was written".to_string()
                } else {
                    format!(
                        "the log has no seal: it ends after entry {entries}, intact; the ceremony was interrupted, or the end of the log was cut off"
                    )
                };
                let head = (entries > 0).then(|| chain.head());
                (
                    Status::Unsealed,
                    None,
                    head,
                    Some(Problem { entry: n, message }),
                )
            }
        },
    };
    let resumes = chain.resumes();
    let mut report = VerifyReport {
        status,
        entries,
        head,
        ceremony_id,
        outcome,
        problem,
        checkpoints: resumes.checkpoints,
        resumes: resumes.resumes,
    };
    if let Some(expected) = options.expect_head
        && matches!(
            report.status,
            Status::Sealed | Status::Aborted | Status::Unsealed
        )
        && report.head != Some(expected)
    {
        let at = match chain.sealed() {
            Some(sealed) => sealed.entry - 1,
            None => entries,
        };
        let found = report.head.map_or_else(|| "none".to_string(), hex::encode);
        report.problem = Some(Problem {
            entry: at,
            message: format!(
                "the log's head (the hash of entry {at}) is {found}, but the head copied at the ceremony is {}: this is not the log that was sealed in the room, or entries were removed or added",
                hex::encode(expected)
            ),
        });
        report.status = Status::Tampered;
        report.head = None;
        report.outcome = None;
    }
    Run {
        report,
        chain,
        complete_bytes,
        tail,
    }
}
