//! How a ceremony ended, in the words the last screen uses: for an error,
//! what happened, what it means and what to do, and what the next run can
//! do with the output folder, as its log says ([`Standing`]).

use keyceremony_engine::outputs::OutputError;
use keyceremony_engine::resume::Standing;
use keyceremony_engine::{EngineError, InputError, Outcome, SealOutcome};

/// What the last screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The log is sealed and its copy on the backup media verified.
    Completed {
        out_dir: String,
        log_entries: u64,
        log_head: String,
        /// (key label, certificate SHA-256 in upper-case hex).
        certificates: Vec<(String, String)>,
        /// The verified copy of the sealed log (CPS 5.4.5).
        backup: String,
        /// How the log, read back, says the ceremony ended.
        sealed: SealOutcome,
    },
    Stopped(Explained),
}

/// An error for the people in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// True when the operators aborted; false for an error.
    pub aborted: bool,
    pub happened: String,
    pub means: String,
    pub todo: String,
    /// Where the log stands now; read from the output folder when the
    /// last screen opens, if not given.
    pub standing: Option<Standing>,
}

impl Finished {
    pub fn from_result(result: &Result<Outcome, EngineError>) -> Finished {
        match result {
            Ok(outcome) => Finished::Completed {
                out_dir: outcome.out_dir.display().to_string(),
                log_entries: outcome.log_entries,
                log_head: outcome.log_head.clone(),
                certificates: outcome.certificates.clone(),
                backup: outcome.backup.display().to_string(),
                sealed: outcome.sealed,
            },
            Err(error) => Finished::Stopped(explain(error)),
        }
    }

    /// The engine thread ended without a result: it panicked.
    pub fn engine_panicked() -> Finished {
        Finished::Stopped(Explained {
            aborted: false,
            happened: "the ceremony engine stopped on an internal error (a panic)".to_string(),
            means: "the tool has a defect; the log may not record this last event".to_string(),
            todo: "Do not continue on this terminal. Keep the HSM and the output folder as they are, note the time on the paper script as an exception, and report it to the tool's maintainers.".to_string(),
            standing: None,
        })
    }
}

/// What the next run can do with the output folder, as its log stands.
pub fn next_run(standing: &Standing) -> String {
    match standing {
        Standing::NoLog => "Nothing was written and the HSM is unchanged: once the cause is put right, the same command starts the ceremony afresh.".to_string(),
        Standing::Resumable => "Running the same command again on the same output folder offers to resume where the ceremony stopped, or to abort it; the log up to here is intact.".to_string(),
        Standing::AbortOnly(why) => format!(
            "The same command on the same folder can only abort it for good, sealing its log as aborted: {why}."
        ),
        Standing::Over(why) => format!(
            "The ceremony is over and its log stays unsealed: {why}. Keep the folder as it is, copy its ceremony.log to the backup media by hand and check the copy with keyceremony verify-log."
        ),
        Standing::Sealed(outcome) => format!(
            "The log is sealed ({outcome}): the ceremony is over, and the folder takes no further run."
        ),
        Standing::Unreadable(why) => format!(
            "The log does not read as the tool wrote it ({why}): keep the folder as it is and call the auditor; it cannot be resumed."
        ),
    }
}

/// The three parts of an error screen. The engine's message says what
/// happened; the variant says what it means for the ceremony.
pub fn explain(error: &EngineError) -> Explained {
    let happened = error.to_string();
    let (aborted, means, todo) = match error {
        EngineError::Input(InputError::Aborted { .. }) => (
            true,
            "the operators stopped the ceremony",
            "Write the abort on the paper script with the time and keep the output folder: it is the record of this attempt.",
        ),
        EngineError::Input(_) => (
            false,
            "an answer the ceremony needs could not be used, so the ceremony stopped",
            "Read the message and write it on the paper script as an exception.",
        ),
        EngineError::Hsm(_) => (
            false,
            "the HSM refused or failed an operation; any session the tool had with the token is closed, so no key is left active",
            "Do not retry blindly: check the HSM's connection and state with the CA Administrator, record the error on the paper script, and follow the CPS for a failed ceremony. A locked token needs its security officer.",
        ),
        EngineError::Output(OutputError::Io { .. } | OutputError::Unwritten { .. })
        | EngineError::Log(_) => (
            false,
            "the tool could not write the ceremony's files or its log",
            "Check the output medium (free space, write protection, connection) and record the error on the paper script.",
        ),
        EngineError::Output(_) => (
            false,
            "the output folder or the backup media is not as the ceremony needs it",
            "Do what the message says, and record it on the paper script.",
        ),
        EngineError::Certificate(_) => (
            false,
            "the certificate could not be built or failed its check in software, so it was not written out",
            "Do not use any certificate from this attempt. Record the error on the paper script and report it; the key on the HSM must be considered for destruction under the CPS.",
        ),
        EngineError::Random(_) => (
            false,
            "the operating system's random generator failed, so no secret could be made safely",
            "Stop. The terminal is not fit for a ceremony; record the error and report it.",
        ),
        EngineError::Policy(_) => (
            false,
            "the script, a key or a certificate breaks the policy the script names (the CPS as rules), so nothing further was signed",
            "Read which rule and CPS section it names. Do not work around it: record it on the paper script; the script or the policy must be corrected and reviewed before a new attempt.",
        ),
        EngineError::Interrupted { .. } => (
            false,
            "a signal stopped the tool between two operations",
            "Record the interruption on the paper script with the time.",
        ),
        EngineError::InterruptedBeforeStart { .. } => (
            false,
            "a signal stopped the tool before the ceremony began",
            "Run the same command again when the room is ready.",
        ),
        EngineError::Refused(_) | EngineError::Step { .. } => (
            false,
            "the ceremony was stopped because going on would break the script or the CPS",
            "Read what happened: it says what is wrong, and where. Record it on the paper script; the witness decides with the CA Administrator how to proceed under the CPS.",
        ),
    };
    Explained {
        aborted,
        happened,
        means: means.to_string(),
        todo: todo.to_string(),
        standing: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abort_is_not_called_an_error() {
        let explained = explain(&EngineError::Input(InputError::Aborted {
            reason: "fire alarm".to_string(),
        }));
        assert!(explained.aborted);
        assert!(explained.happened.contains("fire alarm"));
        let explained = explain(&EngineError::Step {
            step: "2.2".to_string(),
            message: "3 failed activation attempts".to_string(),
        });
        assert!(!explained.aborted);
        assert!(explained.happened.contains("2.2"));
    }
}
