//! Whether a run is a rehearsal is a property of the run, not of the
//! script: `keyceremony rehearse` rehearses a production script unchanged.
//! What follows from it is checked here: a production run refuses a lab's
//! tokens; a rehearsal on a soft token (SoftHSM2, kryoptic) runs on a lab's
//! tokens only, and on its own lab's when `keyceremony rehearse` made one;
//! and a rehearsal records, for its report, how it met each production rule
//! that a lab cannot meet as the room will: with the lab's stand-in, as the
//! real ceremony would, or not at all. None is passed over in silence.
//!
//! A rehearsal of a rehearsal script on a module no lab knows (a real HSM,
//! on a spare token of the model the ceremony will use, as
//! docs/supported-modules.md advises) is the one rehearsal without a lab:
//! the tool cannot tell a spare token of an HSM from the CA's, so it says
//! so among the rules.

use std::path::{Path, PathBuf};

use keyceremony_hsm::lab::{MARKER_FILE, ModuleKind, token_placement};
use keyceremony_script::{Action, LoadedScript, LogSettings};
use serde_json::{Value, json};

use crate::{EngineError, Network, Settings, outputs};

/// How a rehearsal met a production rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// As the real ceremony will.
    Exercised,
    /// With something of the lab's in place of the room's.
    StandIn,
    /// Not at all: the report lists it among its findings.
    NotRehearsed,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Exercised => "exercised",
            Shown::StandIn => "stand-in",
            Shown::NotRehearsed => "not rehearsed",
        }
    }
}

/// One production rule, and how this rehearsal met it.
#[derive(Debug, Clone)]
pub struct RuleShown {
    pub rule: &'static str,
    /// The CPS sections of the rule.
    pub cps: &'static str,
    pub shown: Shown,
    /// What this rehearsal did.
    pub rehearsal: String,
    /// What the real ceremony needs.
    pub production: String,
}

/// A rehearsal run: why it is one, the lab it runs in, and how it met the
/// production rules a lab cannot meet as the room will.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    pub reason: String,
    /// None on a module no lab knows (a real HSM's spare token).
    pub lab: Option<PathBuf>,
    /// The script's `witness_module` is replaced by the lab's module, whose
    /// stand-in token signs the seal: its tokens are not in the lab.
    pub witness_stand_in: bool,
    pub rules: Vec<RuleShown>,
}

impl Rehearsal {
    /// Records the rehearsal in an entry's data: every run's environment
    /// entry says it is one and why; the log's first entry also names the
    /// lab and how each rule was met, for the report.
    pub(crate) fn record_in(&self, data: &mut Value, first: bool) {
        data["rehearsal"] = json!(true);
        data["rehearsal_reason"] = json!(self.reason);
        if first {
            data["rehearsal_lab"] = json!(self.lab.as_ref().map(|l| l.display().to_string()));
            data["rehearsal_rules"] = self
                .rules
                .iter()
                .map(|r| {
                    json!({
                        "rule": r.rule,
                        "cps": r.cps,
                        "shown": r.shown.as_str(),
                        "rehearsal": r.rehearsal,
                        "production": r.production,
                    })
                })
                .collect();
        }
    }
}

/// The module of the witness's token, when it is not the ceremony's: the
/// script's `witness_module`, unless a rehearsal's lab stands in for it.
pub(crate) fn witness_module<'a>(
    log: &'a LogSettings,
    rehearsal: Option<&Rehearsal>,
) -> Option<&'a Path> {
    let stand_in = rehearsal.is_some_and(|r| r.witness_stand_in);
    log.witness_module.as_deref().filter(|_| !stand_in)
}

/// The lab every token of `module` is in, if they all are one's.
fn only_lab(module: &Path) -> Option<PathBuf> {
    token_placement(module)?.only_lab().map(Path::to_path_buf)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    a == b || std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
}

/// Refuses a production run on a lab's tokens, the ceremony's or the
/// witness's, before anyone is asked anything: they are throwaway.
pub(crate) fn refuse_lab(script: &LoadedScript, module: &Path) -> Result<(), EngineError> {
    let witness = script.script.log.witness_module.as_deref();
    for (whose, module) in [
        ("the module's", Some(module)),
        ("the witness's module's", witness),
    ] {
        let Some(placement) = module.and_then(token_placement) else {
            continue;
        };
        if let Some(lab) = placement.any_lab() {
            return Err(EngineError::Refused(format!(
                "'{}' is a production ceremony, but the configuration {} keeps {whose} tokens in the rehearsal lab {} (marked by its {MARKER_FILE} file): a lab's tokens and its witness token are throwaway stand-ins, and a production ceremony runs on the CA's own. Point the module at the ceremony's tokens (unset the variable that names the lab's configuration), or rehearse this script with `keyceremony rehearse {}`",
                script.script.ceremony.id,
                placement.config.display(),
                lab.display(),
                script.path.display()
            )));
        }
    }
    Ok(())
}

/// Why the run is a rehearsal.
fn reason(script: &LoadedScript, settings: &Settings) -> String {
    match (&settings.lab, script.script.is_rehearsal()) {
        (Some(lab), false) => format!(
            "keyceremony rehearse: a dress rehearsal of the production script, unchanged, in the lab {}",
            lab.display()
        ),
        (Some(lab), true) => format!("keyceremony rehearse, in the lab {}", lab.display()),
        (None, true) => "the script's mode is rehearsal".to_string(),
        (None, false) => "run as a rehearsal".to_string(),
    }
}

/// The lab every token of the module is in (None for a module no lab
/// knows), or why the rehearsal refuses to run: soft tokens outside any
/// lab, another lab than the one made for this run.
fn lab_of(settings: &Settings) -> Result<Option<PathBuf>, EngineError> {
    let module = &settings.module;
    let Some(placement) = token_placement(module) else {
        return match &settings.lab {
            Some(own) => Err(EngineError::Refused(format!(
                "this rehearsal runs on the tokens of its own lab {}, and {} is not a module a lab knows (SoftHSM2 or kryoptic)",
                own.display(),
                module.display()
            ))),
            None => Ok(None),
        };
    };
    let lab = placement.only_lab().ok_or_else(|| {
        let folders: Vec<String> = placement
            .folders
            .iter()
            .filter(|f| f.lab.is_none())
            .map(|f| f.path.display().to_string())
            .collect();
        EngineError::Refused(format!(
            "a rehearsal on a soft token runs on a lab's tokens only, and the configuration {} keeps {} tokens {}, outside any lab (no {MARKER_FILE} file beside them): they may be someone's real tokens. Rehearse with `keyceremony rehearse SCRIPT`, which makes a lab, or name a lab's configuration (`keyceremony lab create` prints it)",
            placement.config.display(),
            ModuleKind::of(module).name(),
            if folders.is_empty() {
                "in no folder it names".to_string()
            } else {
                format!("in {}", folders.join(", "))
            }
        ))
    })?;
    match &settings.lab {
        Some(own) if !same_folder(own, lab) => Err(EngineError::Refused(format!(
            "this rehearsal runs on the tokens of its own lab {}, but the configuration {} names those of the lab {}",
            own.display(),
            placement.config.display(),
            lab.display()
        ))),
        _ => Ok(Some(lab.to_path_buf())),
    }
}

/// Checks that a rehearsal's tokens are its lab's, and states how it meets
/// each production rule a lab cannot meet as the room will. `headless`: the
/// operator is an answers file.
pub(crate) fn check(
    script: &LoadedScript,
    settings: &Settings,
    network: &Network,
    headless: bool,
) -> Result<Rehearsal, EngineError> {
    let lab = lab_of(settings)?;
    let s = &script.script;
    let kind = ModuleKind::of(&settings.module).name();
    let mut rules = vec![RuleShown {
        rule: "the CA's HSM",
        cps: "6.2.1",
        shown: Shown::StandIn,
        rehearsal: match &lab {
            Some(lab) => format!(
                "{kind} tokens in the lab {}, through {}",
                lab.display(),
                settings.module.display()
            ),
            None => format!(
                "a token of {}, which no lab knows: a spare one, the operators say (the tool cannot tell a spare token from the CA's)",
                settings.module.display()
            ),
        },
        production: format!(
            "the CA's HSM through its own PKCS#11 module, with {}; probe it beforehand with `keyceremony module check --module PATH`",
            if s.hsm.initialize {
                format!("a free token to initialise as '{}'", s.hsm.token_label)
            } else {
                format!("the token '{}'", s.hsm.token_label)
            }
        ),
    }];
    let witness = s
        .participant(&s.log.witness)
        .map_or(s.log.witness.as_str(), |p| p.name.as_str());
    let pin = if headless {
        "read from the PIN file given to the run"
    } else {
        "typed at the keyboard"
    };
    // The witness's own module is used when its tokens are a lab's too
    // (this rehearsal's own, for `keyceremony rehearse`); otherwise the
    // lab's module stands in for the witness's device.
    let witness_lab = s.log.witness_module.as_deref().and_then(only_lab);
    let witness_stand_in = match (&lab, &s.log.witness_module, &witness_lab) {
        (Some(lab), Some(_), Some(theirs)) => settings.lab.is_some() && !same_folder(lab, theirs),
        (Some(_), Some(_), None) => true,
        _ => false,
    };
    let token = s.log.witness_token.as_deref().unwrap_or("(none named)");
    let key = s.log.witness_key.as_deref().unwrap_or("(none named)");
    let stand_in = format!("the stand-in token '{token}' with the P-384 key '{key}'");
    rules.push(RuleShown {
        rule: "the witness's own token",
        cps: "6.1.1",
        shown: Shown::StandIn,
        rehearsal: match (&lab, &s.log.witness_module) {
            (Some(lab), Some(module)) if witness_stand_in => format!(
                "{stand_in} in the lab {}, on its module instead of the script's witness_module {}, whose tokens are not in the lab; its PIN {pin}",
                lab.display(),
                module.display()
            ),
            (Some(lab), module) => format!(
                "{stand_in} in the lab {}{}; its PIN {pin}",
                witness_lab.as_deref().unwrap_or(lab).display(),
                module.as_ref().map_or(String::new(), |m| format!(
                    ", on the script's witness_module {}",
                    m.display()
                )),
            ),
            (None, _) => format!(
                "the token labelled '{token}' on {}, a stand-in unless the witness brought their own; its PIN {pin}",
                s.log
                    .witness_module
                    .as_ref()
                    .unwrap_or(&settings.module)
                    .display()
            ),
        },
        production: format!(
            "{witness} brings their own token '{token}' holding their P-384 key '{key}'{}, connects it before the ceremony starts and types its PIN; the auditor checks the seal with {witness}'s own public key (`keyceremony verify-log LOG --witness-key PEM`)",
            s.log
                .witness_module
                .as_ref()
                .map_or(String::new(), |m| format!(" on the module {}", m.display()))
        ),
    });
    let activates = s.steps().any(|(_, step)| {
        matches!(
            step.action,
            Action::InitToken | Action::Login | Action::SelfSign { .. } | Action::SealLog
        )
    });
    if activates {
        rules.push(if headless {
            RuleShown {
                rule: "shares at the keyboard",
                cps: "6.2.2, 6.4.2",
                shown: Shown::NotRehearsed,
                rehearsal: "an answers file answered for the room: the shares were written to the rehearsal's share files and read back from them".to_string(),
                production: "each custodian copies their share by hand from a cleared screen, types it back, and types it at every activation, unseen; rehearse through the operator TUI (without --answers) to exercise it".to_string(),
            }
        } else {
            RuleShown {
                rule: "shares at the keyboard",
                cps: "6.2.2, 6.4.2",
                shown: Shown::Exercised,
                rehearsal: "each share was shown on a cleared screen, copied, typed back and typed at every activation, and never written to a file".to_string(),
                production: "the same, with every custodian at the keyboard in turn".to_string(),
            }
        });
    }
    let backup = settings.backup.as_deref().unwrap_or(&s.log.backup);
    let other_disk = outputs::check_backup(backup, &settings.out_dir, true).is_ok();
    let media = if s.log.backup.is_dir() {
        ""
    } else {
        " (not mounted on this machine now)"
    };
    rules.push(RuleShown {
        rule: "backup media on another disk",
        cps: "5.4.5",
        shown: if other_disk {
            Shown::Exercised
        } else {
            Shown::NotRehearsed
        },
        rehearsal: if other_disk {
            format!(
                "the sealed log's copy went to {}, on another disk than the output folder",
                backup.display()
            )
        } else {
            format!(
                "the sealed log's copy went to the lab's stand-in {}, on the same disk as the output folder, which only a rehearsal accepts",
                backup.display()
            )
        },
        production: format!(
            "the removable media mounted at {}{media} or at the folder --backup names, on another disk than --out, before the ceremony starts",
            s.log.backup.display()
        ),
    });
    rules.push(if network.interfaces.is_empty() {
        RuleShown {
            rule: "no network",
            cps: "6.7",
            shown: Shown::Exercised,
            rehearsal: "no network interface was up".to_string(),
            production: "the same on the ceremony terminal".to_string(),
        }
    } else {
        RuleShown {
            rule: "no network",
            cps: "6.7",
            shown: Shown::NotRehearsed,
            rehearsal: format!(
                "network interfaces {} were up; the rehearsal only warned",
                network.interfaces.join(", ")
            ),
            production: "no interface up on the ceremony terminal; a production ceremony does not start until the witness records why each one is up".to_string(),
        }
    });
    rules.push(RuleShown {
        rule: "the site's inventory",
        cps: "6.3.2",
        shown: Shown::StandIn,
        rehearsal: format!(
            "subjects and keys were checked against, and recorded in, {}",
            settings.inventory.display()
        ),
        production: "the site's inventory of everything certified: check the script against it beforehand with `keyceremony script check SCRIPT --inventory FILE`; a rehearsal never records into it".to_string(),
    });
    Ok(Rehearsal {
        reason: reason(script, settings),
        lab,
        witness_stand_in,
        rules,
    })
}
