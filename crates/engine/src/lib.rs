//! keyceremony-engine: runs a validated ceremony script step by step. It
//! calls the HSM, the certificate builder and the log, and takes operator
//! input only through [`Operator`], so it knows nothing about terminals.
//!
//! Order of work, as in boulder's `cmd/ceremony`: everything that can be
//! checked is checked in [`Ceremony::prepare`] before the log exists or the
//! HSM is changed; then [`Ceremony::run`] records every event as it happens.

mod actions;
pub mod activation;
pub mod answers;
pub mod environment;
mod facts;
pub mod imminent;
mod later;
pub mod operator;
pub mod outputs;
pub mod proof;
pub mod questions;
pub mod rehearsal;
pub mod resume;
pub mod room;
mod run;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keyceremony_hsm::{HsmError, Module};
use keyceremony_policy::{Inventory, InventoryLock, Policy, PolicyError};
use keyceremony_script::{Action, LoadedScript};

pub use answers::AnswersFile;
pub use imminent::Imminent;
pub use keyceremony_log::SealOutcome;
pub use operator::{
    ExceptionReport, Identity, InputError, InputSource, LogHead, Notice, Operator, ResumeChoice,
    ShareShown, SignatureRequest, Verdict,
};
pub use questions::{Attendance, Change, ClockReading, Decision, Missing, PresenceChange, Raised};
pub use rehearsal::Rehearsal;
pub use resume::Interrupted;
pub use run::Outcome;

/// Names of the files a ceremony writes; the auditor and other tools rely on them.
pub mod files {
    pub const LOG: &str = "ceremony.log";
    pub const FINGERPRINTS: &str = "fingerprints.txt";
    pub const SCRIPT_COPY: &str = "script.toml";
    /// Rehearsals only: each custodian's shares, for a headless run to read back.
    pub const REHEARSAL_SHARES: &str = "rehearsal-shares";

    pub fn rehearsal_share(custodian: &str) -> String {
        format!("{REHEARSAL_SHARES}/{custodian}.share")
    }

    pub fn certificate_pem(label: &str) -> String {
        format!("certs/{label}.pem")
    }

    pub fn certificate_der(label: &str) -> String {
        format!("certs/{label}.der")
    }

    pub fn public_key_pem(label: &str) -> String {
        format!("keys/{label}.pub.pem")
    }

    /// A CRL the root signed, DER.
    pub fn crl_der(id: &str) -> String {
        format!("crls/{id}.crl")
    }

    pub fn crl_pem(id: &str) -> String {
        format!("crls/{id}.crl.pem")
    }

    /// A root key's backup, wrapped (RFC 5649), as it went to the media.
    pub fn key_backup(label: &str) -> String {
        format!("backups/{label}.wrapped")
    }

    /// The copy of a later ceremony's input, by its file name.
    pub fn input(name: &str) -> String {
        format!("inputs/{name}")
    }
}

// A log entry quotes at most a few texts of the script (a check-in: the
// participant's name twice and the witness's once, with the identity
// document typed in the room); at their longest, and doubled by JSON
// escaping, they stay far inside the entry limit, so `script check` bounding
// each text is enough for no entry to be refused half-way through a ceremony.
const _: () = assert!(
    16 * 2 * keyceremony_script::MAX_LINE_TEXT + 2 * keyceremony_script::MAX_PARAGRAPH
        <= keyceremony_log::MAX_LINE / 4
);

/// What a ceremony run needs besides operator input.
#[derive(Debug, Clone)]
pub struct Settings {
    pub module: PathBuf,
    pub out_dir: PathBuf,
    /// True when run by `keyceremony rehearse` or when the script says so;
    /// recorded in the log and shown everywhere.
    pub rehearsal: bool,
    /// The lab `keyceremony rehearse` made for this run: the run is a
    /// rehearsal whatever the script's mode, and every token must be this
    /// lab's.
    pub lab: Option<PathBuf>,
    /// Where the sealed log's copy goes, instead of the script's `log.backup`.
    pub backup: Option<PathBuf>,
    /// The CPS rules the script names (`[ceremony] policy`).
    pub policy: Policy,
    /// The inventory of every subject and key this tool has certified: a
    /// new ceremony may reuse neither (CPS 6.3.2). What the roots signed
    /// later is recorded beside it (`IssuedRecords::path_beside`).
    pub inventory: PathBuf,
    /// The folder a later ceremony's inputs are named in (the root
    /// certificate, CSRs, the previous CRL): by default the script's folder.
    pub inputs: PathBuf,
    /// Raised by a signal (SIGINT, SIGTERM, SIGHUP): the ceremony stops at
    /// its next safe point.
    pub stop: Stop,
}

/// A request, from outside the engine, that a running ceremony stop. The
/// CLI's signal handlers store the signal's number in [`Stop::cell`] (one
/// atomic store, which is all a handler may do); the engine looks between
/// steps and right after a key generation returns, and then records the
/// interruption as the log's last entry and stops, so that the record says
/// why it ends there and the next run can resume or abort. A signal must not
/// simply kill the process: a PKCS#11 call cut short leaves the token in a
/// state the log does not describe.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    /// Where a signal handler writes the signal's number; 0 means none.
    pub fn cell(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.0)
    }

    /// The signal that asked to stop, by name, once one has.
    pub fn requested(&self) -> Option<String> {
        // POSIX numbers, the same on every Linux architecture.
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            1 => Some("SIGHUP".to_string()),
            2 => Some("SIGINT".to_string()),
            15 => Some("SIGTERM".to_string()),
            other => Some(format!("signal {other}")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Hsm(#[from] HsmError),
    #[error(transparent)]
    Output(#[from] outputs::OutputError),
    #[error(transparent)]
    Log(#[from] keyceremony_log::LogError),
    #[error(transparent)]
    Certificate(#[from] keyceremony_x509::X509Error),
    #[error("the system random generator failed: {0}")]
    Random(#[from] getrandom::Error),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Refused(String),
    #[error("step {step}: {message}")]
    Step { step: String, message: String },
    #[error(
        "interrupted by {signal} {at} of step {step}; the log records where the ceremony stopped. Run the same `keyceremony run` command on the same --out folder to resume or abort it"
    )]
    Interrupted {
        signal: String,
        step: String,
        /// Where in the step: "before the beginning", "after the key generation".
        at: &'static str,
    },
    #[error(
        "interrupted by {signal} before the ceremony began: nothing was written, and the output folder is as it was. Run the same `keyceremony run` command again when the room is ready"
    )]
    InterruptedBeforeStart { signal: String },
}

/// Network interfaces up at the start, and the witness's explanation of
/// them when the ceremony is a production one (CPS 6.7).
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub interfaces: Vec<String>,
    pub explanation: Option<String>,
}

/// Refuses, with every violation, a script that breaks its policy or would
/// reuse a subject name already certified (CPS 6.3.2); the inventory's lock
/// is taken before it is read, and held by the ceremony to its end.
/// `resuming`: the ceremony passed the inventory check when it started, and
/// may since have recorded its own subjects there.
fn check_policy(
    script: &LoadedScript,
    settings: &Settings,
    resuming: bool,
) -> Result<InventoryLock, EngineError> {
    if settings.policy.name != script.script.ceremony.policy {
        return Err(EngineError::Refused(format!(
            "the script follows policy '{}', but policy '{}' was loaded",
            script.script.ceremony.policy, settings.policy.name
        )));
    }
    // Not a rule of the policy the script breaks, but a file the operators fix.
    Inventory::check_recordable(&settings.inventory)
        .map_err(|e| EngineError::Refused(e.to_string()))?;
    let lock = Inventory::lock(&settings.inventory)?;
    let mut violations = keyceremony_policy::check_loaded_script(&settings.policy, script);
    if !resuming {
        let inventory = Inventory::load(&settings.inventory)?;
        for mut v in inventory.check_subjects(&script.script) {
            v.location = script.source_map.locate(&v.path);
            violations.push(v);
        }
    }
    if violations.is_empty() {
        return Ok(lock);
    }
    Err(EngineError::Refused(format!(
        "{} breaks {} rule(s) of policy '{}'; the ceremony does not start:\n{}",
        script.path.display(),
        violations.len(),
        settings.policy.name,
        violations
            .iter()
            .map(|v| format!("  {}", v.display_at(&script.path)))
            .collect::<Vec<_>>()
            .join("\n")
    )))
}

/// A ceremony whose script, operator input, output folder, module and token
/// have all been checked; nothing has been written yet.
pub struct Ceremony {
    script: LoadedScript,
    settings: Settings,
    module: Module,
    network: Network,
    start: Start,
    /// Held from the inventory check to the ceremony's end (CPS 6.3.2).
    inventory: InventoryLock,
    /// The binary and the module, being hashed meanwhile.
    digests: environment::Digests,
    rehearsal: Option<Rehearsal>,
}

/// How the run begins: a new ceremony, or one whose log stopped before its
/// seal.
#[derive(Debug, Clone)]
pub enum Start {
    Fresh,
    Resume(Interrupted),
    Abort {
        interrupted: Interrupted,
        reason: String,
    },
}

impl Ceremony {
    /// Every check that needs no log and changes nothing: the operator's
    /// inputs, the output folder, the module, the token and the key labels.
    pub fn prepare(
        script: LoadedScript,
        settings: Settings,
        operator: &mut dyn Operator,
    ) -> Result<Ceremony, EngineError> {
        script
            .check()
            .map_err(|e| EngineError::Refused(e.to_string()))?;
        // Every run's first entries attest the binary and the module, and a
        // restart compares them with the first run's: they are hashed while
        // the rest is checked.
        let mut digests = environment::Digests::start(&settings.module);
        let rehearsal =
            settings.rehearsal || settings.lab.is_some() || script.script.is_rehearsal();
        let settings = Settings {
            rehearsal,
            ..settings
        };
        if !rehearsal {
            rehearsal::refuse_lab(&script, &settings.module)?;
            if script.script.log.witness_signing
                == keyceremony_script::WitnessSigning::LabTokenOnTerminal
            {
                return Err(EngineError::Refused(
                    "log.witness_signing = \"lab-token-on-terminal\" is a rehearsal's option: at a production ceremony the witness signs the seal on their own device, never with their token's PIN typed at the CA terminal (CPS 6.1.1). Remove witness_signing (\"independent\" is the default) and pin their key with witness_key_sha256, or rehearse the script with `keyceremony rehearse`".to_string(),
                ));
            }
        }
        let interfaces = environment::interfaces_up();
        let mut network = Network {
            interfaces,
            explanation: None,
        };
        if !network.interfaces.is_empty() {
            operator.notify(&Notice::NetworkUp {
                interfaces: network.interfaces.clone(),
            });
            if !rehearsal {
                let witness = script
                    .script
                    .participant(&script.script.log.witness)
                    .cloned()
                    .ok_or_else(|| {
                        EngineError::Refused("the seal witness is not a participant".to_string())
                    })?;
                let explanation = operator
                    .network_explanation(&witness, &network.interfaces)
                    .map_err(|e| {
                        EngineError::Refused(format!(
                            "network interfaces are up on this terminal ({}): a CA system is not connected to a network (CPS 6.7). Take them down, or have the witness record why they are up: {e}",
                            network.interfaces.join(", ")
                        ))
                    })?;
                network.explanation = Some(explanation);
            }
        }
        let activates = script.script.steps().any(|(_, step)| {
            matches!(step.action, Action::InitToken | Action::Login)
                || step.action.signs_with_ca_key()
        });
        if activates && !rehearsal && operator.headless() {
            return Err(EngineError::Refused(format!(
                "'{}' is a production ceremony: its shares are shown only on a cleared screen and typed by their custodians at the keyboard, never read from or written to a file (CPS 6.4.2). Run it without --answers, in the operator TUI",
                script.script.ceremony.id
            )));
        }
        let log = settings.out_dir.join(files::LOG);
        // The log's own lock says more than the inventory's would.
        resume::refuse_in_use(&log)?;
        let inventory = check_policy(&script, &settings, log.exists())?;
        operator.preflight(&script.script, rehearsal)?;
        outputs::check_backup(
            settings
                .backup
                .as_deref()
                .unwrap_or(&script.script.log.backup),
            &settings.out_dir,
            !rehearsal,
        )?;
        let start = if log.exists() {
            let interrupted = resume::read(&log, &script.script, &script.sha256_hex())?;
            match operator.resume_or_abort(&interrupted)? {
                ResumeChoice::Resume => match interrupted.refusal() {
                    Some(why) => return Err(EngineError::Refused(why)),
                    None => Start::Resume(interrupted),
                },
                ResumeChoice::Abort { reason } => {
                    // Recording the same abort again would change nothing.
                    if let (Some(abort), Some(why)) =
                        (&interrupted.aborted, interrupted.unsealable())
                    {
                        return Err(EngineError::Refused(format!(
                            "the abort is already recorded ({abort}) and the log cannot be sealed: {why}. The log stays unsealed (verify-log exit 3); copy it as it is with {}",
                            log.display()
                        )));
                    }
                    Start::Abort {
                        interrupted,
                        reason,
                    }
                }
            }
        } else {
            outputs::check_usable(&settings.out_dir)?;
            Start::Fresh
        };
        let module = Module::load(&settings.module)?;
        let rehearsal = match rehearsal {
            true => Some(rehearsal::check(
                &script,
                &settings,
                &network,
                operator.headless(),
            )?),
            false => None,
        };
        let mut start = start;
        match &mut start {
            Start::Fresh => {
                actions::check_token(&module, &script.script)?;
                later::check(&module, &script.script, &settings)?;
            }
            Start::Resume(interrupted) | Start::Abort { interrupted, .. } => {
                proof::check_restart(&script, &module, operator, interrupted, &mut digests)?
            }
        }
        actions::check_witness_token(&module, &script.script, rehearsal.as_ref())?;
        Ok(Ceremony {
            script,
            settings,
            module,
            network,
            start,
            inventory,
            digests,
            rehearsal,
        })
    }

    /// Why the run is a rehearsal, its lab, and how it meets the production
    /// rules a lab cannot meet as the room will; None for a production run.
    pub fn rehearsal(&self) -> Option<&Rehearsal> {
        self.rehearsal.as_ref()
    }

    pub fn script(&self) -> &LoadedScript {
        &self.script
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether this run starts a ceremony, resumes one, or aborts one.
    pub fn start(&self) -> &Start {
        &self.start
    }

    /// Network interfaces up at the start (CPS 6.7).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The PKCS#11 module the ceremony will use.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Runs every step; the log records each event before the next one
    /// happens. On error the log ends with the error, and the error is returned.
    pub fn run(self, operator: &mut dyn Operator) -> Result<Outcome, EngineError> {
        // A signal while the checks ran or the room decided: the log would
        // only record that it stopped, so it is not created or reopened.
        if let Some(signal) = self.settings.stop.requested() {
            return Err(EngineError::InterruptedBeforeStart { signal });
        }
        let Ceremony {
            script,
            settings,
            module,
            network,
            start,
            inventory,
            digests,
            rehearsal,
        } = self;
        let attested = run::Attested {
            network,
            digests,
            rehearsal,
        };
        let (interrupted, abort) = match start {
            Start::Fresh => {
                let mut runner = run::Runner::start(script, settings, module, inventory, attested)?;
                runner.record_input(&operator.input())?;
                return runner.run(operator, None);
            }
            Start::Resume(interrupted) => (interrupted, None),
            Start::Abort {
                interrupted,
                reason,
            } => (interrupted, Some(reason)),
        };
        let mut runner =
            run::Runner::reopen(script, settings, module, inventory, attested, &interrupted)?;
        runner.record_input(&operator.input())?;
        match abort {
            None => runner.run(operator, Some(&interrupted)),
            Some(reason) => runner.abort(operator, &interrupted, &reason),
        }
    }
}
