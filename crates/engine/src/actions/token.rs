//! init-token: the token checked before anything is written, initialised,
//! its PINs drawn from its generator and split among their custodians, and
//! the shares handed out (CPS 6.1.1 item 2, 6.4.1, 6.4.2).

use std::collections::BTreeMap;
use std::time::Instant;

use keyceremony_hsm::{HsmError, Module, Session, Token, UserKind};
use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Role, Secret, Step};
use keyceremony_shares as shares;
use secrecy::SecretString;
use serde_json::json;

use super::keys::refuse_existing_label;
use crate::activation::{self, kind};
use crate::operator::{Notice, Operator, ShareShown};
use crate::run::Runner;
use crate::{EngineError, files};

/// Refuses, before anything is written, a token the script cannot use.
pub(crate) fn check_token(
    module: &Module,
    script: &keyceremony_script::Script,
) -> Result<(), EngineError> {
    let label = &script.hsm.token_label;
    if script.hsm.reinitialize {
        super::reinitialize::check_reinitializable(module, script)?;
    } else if script.hsm.initialize {
        match module.token_by_label(label) {
            Ok(_) => {
                return Err(EngineError::Refused(format!(
                    "a token labelled '{label}' is already initialised; the script would initialise it again and destroy its keys. Use a new token, or set hsm.initialize = false to work on the existing one"
                )));
            }
            Err(HsmError::TokenNotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        free_token(module, script)?;
    } else {
        let token = module.token_by_label(label)?;
        let session = token.open_session()?;
        for key in &script.keys {
            refuse_existing_label(&session, &key.label)?;
        }
    }
    Ok(())
}

fn free_token(module: &Module, script: &keyceremony_script::Script) -> Result<Token, EngineError> {
    let token = match &script.hsm.token_serial {
        Some(serial) => module.token_by_serial(serial)?,
        None => module.uninitialized_token()?,
    };
    if token.info()?.flags.initialized {
        return Err(EngineError::Refused(format!(
            "the token with serial {} is already initialised; the ceremony initialises a new token only",
            token.info()?.serial
        )));
    }
    Ok(token)
}

impl Runner {
    /// C_InitToken, then both PINs from the token's generator, split among
    /// their custodians (CPS 6.1.1 item 2, 6.4.1).
    pub(crate) fn init_token(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
    ) -> Result<(), EngineError> {
        let script = self.script.script.clone();
        let label = script.hsm.token_label.clone();
        if self.recovery.as_ref().is_some_and(|r| r.token_ready) {
            // Interrupted after every share was handed out and bagged, before
            // the witness confirmed: initialising again would need a second
            // token and a second set of shares.
            return self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "token '{label}' was initialised and every share handed out before the interruption; it is taken up, not initialised again"
                ),
                json!({ "token": label, "taken_up": true }),
            );
        }
        if script.hsm.reinitialize {
            return self.reinitialize_token(operator, step);
        }
        let token = free_token(&self.module, &script)?;
        let before = token.info()?;
        let imminent = super::go::token_initialisation(&script, &before);
        self.go(operator, step, imminent, json!({}))?;
        operator.notify(&Notice::HsmWorking {
            what: format!(
                "initialising token serial {} as '{label}' and drawing its PINs",
                before.serial
            ),
        });
        let started = Instant::now();
        self.tool_record(
            Some(&step.id),
            EventKind::TokenInitRequested,
            format!("initialising token serial {} as '{label}'", before.serial),
            json!({ "slot": before.slot_id, "serial": before.serial, "label": label }),
        )?;
        let transient = activation::transient_pin()?;
        let token = token.initialize(&transient, &label)?;
        let session = self.open_session(&token, step)?;
        session.login(UserKind::SecurityOfficer, &transient)?;
        let splits = self.new_pins(operator, step, &token, session, transient, started, None)?;
        self.distribute(operator, step, splits)
    }

    /// On a token just initialised, its session logged in as the SO with
    /// `so_pin`: both PINs drawn from the token's generator and split among
    /// their custodians, the SO PIN changed from `so_pin` to its new value
    /// and the user PIN set, then, logged in as the user, the log-signing
    /// key made; the splits, for [`Runner::distribute`]. A re-initialised
    /// token (`erased`: the objects C_InitToken erased) is first searched,
    /// logged in as the user, for anything left.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_pins(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        token: &Token,
        session: Session,
        so_pin: SecretString,
        started: Instant,
        erased: Option<usize>,
    ) -> Result<BTreeMap<Secret, shares::Split>, EngineError> {
        let script = self.script.script.clone();
        let label = script.hsm.token_label.clone();
        let random = zeroize::Zeroizing::new(session.random(2 * activation::SECRET_BYTES + 32)?);
        let so_secret = activation::secret_from(&random[..activation::SECRET_BYTES]);
        let user_secret = activation::secret_from(&random[activation::SECRET_BYTES..]);
        let seed_random = &random[2 * activation::SECRET_BYTES..];
        let mut splits = BTreeMap::new();
        for (secret, value) in [(Secret::SoPin, &so_secret), (Secret::UserPin, &user_secret)] {
            let quorum = script.activation.quorum(secret);
            let split = shares::split(
                kind(secret),
                &script.ceremony.id,
                value,
                quorum.threshold as u8,
                quorum.custodians.len() as u8,
                activation::seed(seed_random, secret.as_str())?,
            )
            .map_err(|e| EngineError::Step {
                step: step.id.clone(),
                message: format!("cannot split the {}: {e}", secret.as_str()),
            })?;
            splits.insert(secret, split);
        }
        session.set_pin(&so_pin, &shares::pin(&so_secret))?;
        session.init_user_pin(&shares::pin(&user_secret))?;
        session.logout()?;
        session.login(UserKind::User, &shares::pin(&user_secret))?;
        drop((so_secret, user_secret, so_pin));
        let left = match erased {
            Some(_) => session.stored_objects()?,
            None => Vec::new(),
        };
        if !left.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "token '{label}' was re-initialised, yet a user session still finds {} object(s) on it: the token did not erase them. Stop, and have the token examined",
                    left.len()
                ),
            });
        }
        let log_key = self.generate_log_key(operator, step, &session);
        session.logout()?;
        if erased.is_some() {
            // The re-initialisation recorded its SO's login.
            self.tool_record(
                Some(&step.id),
                EventKind::Logout,
                format!("logged out of the re-initialised token '{label}'"),
                json!({}),
            )?;
        }
        self.close_session(session, step)?;
        let log_key = log_key?;
        let info = token.info()?;
        let uri = token.uri()?.to_string();
        let nonces: BTreeMap<&str, String> = splits
            .iter()
            .map(|(secret, split)| (secret.as_str(), split.set.nonce.clone()))
            .collect();
        let sets: BTreeMap<&str, String> = splits
            .iter()
            .map(|(secret, split)| (secret.as_str(), split.set.to_string()))
            .collect();
        let mut data = json!({
            "uri": uri,
            "manufacturer": info.manufacturer,
            "model": info.model,
            "serial": info.serial,
            "firmware_version": info.firmware_version,
            "hardware_version": info.hardware_version,
            "share_sets": sets,
            "share_nonces": nonces,
        });
        if let Some(erased) = erased {
            data["reinitialized"] = json!(true);
            data["objects_erased"] = json!(erased);
            data["objects_found_after"] = json!(0);
        }
        self.tool_record(
            Some(&step.id),
            EventKind::TokenInitialized,
            match erased {
                None => format!(
                    "token '{label}' initialised; its SO PIN and user PIN come from the token's random generator and exist only as shares"
                ),
                Some(erased) => format!(
                    "token '{label}' re-initialised: the {erased} object(s) it held are erased, and a user session finds none; its new SO PIN and user PIN come from the token's random generator and exist only as shares"
                ),
            },
            data,
        )?;
        self.record_log_key(step, &log_key)?;
        operator.notify(&Notice::HsmDone {
            what: format!(
                "token serial {} {} as '{label}', with its log-signing key; its SO PIN and user PIN, drawn from its generator, exist only as the shares handed out now",
                info.serial,
                if erased.is_some() { "re-initialised" } else { "initialised" }
            ),
            milliseconds: started.elapsed().as_secs_f64() * 1000.0,
        });
        for (secret, split) in &splits {
            self.issued.insert(*secret, split.set.nonce.clone());
        }
        Ok(splits)
    }

    /// Gives each custodian their shares, alone, and records the bags they
    /// are sealed in. A headless rehearsal writes them to its share files;
    /// a share is recorded as issued only once it is where its custodian
    /// gets it (on the screen, or in a share file on disk, synced), so that
    /// a resume never takes a token up whose shares did not all arrive.
    pub(super) fn distribute(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        splits: BTreeMap<Secret, shares::Split>,
    ) -> Result<(), EngineError> {
        let roster: Vec<Participant> = self.script.script.participants.clone();
        for custodian in &roster {
            let mut file_lines = String::new();
            let mut in_file = Vec::new();
            for (secret, split) in &splits {
                let Some(index) = self
                    .script
                    .script
                    .activation
                    .quorum(*secret)
                    .custodians
                    .iter()
                    .position(|id| id == &custodian.id)
                else {
                    continue;
                };
                let share = &split.shares[index];
                match operator.show_share(step, custodian, share)? {
                    ShareShown::Shown => {
                        self.copy_check(
                            operator,
                            step,
                            custodian,
                            *secret,
                            share,
                            ShareShown::Shown,
                        )?;
                        self.issue(operator, step, custodian, *secret, split, share)?
                    }
                    ShareShown::NoScreen if !self.settings.rehearsal => {
                        return Err(EngineError::Refused(
                            "a production ceremony never writes a share to a file (CPS 6.4.2)"
                                .to_string(),
                        ));
                    }
                    ShareShown::NoScreen => {
                        file_lines.push_str(&format!(
                            "{} = \"{}\"\n",
                            secret.as_str(),
                            secrecy::ExposeSecret::expose_secret(&share.to_text())
                        ));
                        in_file.push((*secret, split, share));
                    }
                }
            }
            if !file_lines.is_empty() {
                self.write_rehearsal_shares(step, custodian, file_lines)?;
                // Shares shown on no screen: checked once their file is
                // written.
                for (secret, split, share) in in_file {
                    self.copy_check(
                        operator,
                        step,
                        custodian,
                        secret,
                        share,
                        ShareShown::NoScreen,
                    )?;
                    self.issue(operator, step, custodian, secret, split, share)?;
                }
            }
        }
        Ok(())
    }

    /// The bag a share is sealed in, recorded with the share handed out.
    fn issue(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        split: &shares::Split,
        share: &shares::Share,
    ) -> Result<(), EngineError> {
        let bag = self.new_share_bag(operator, step, custodian, secret, share.number())?;
        self.person_record(
            custodian,
            Role::Custodian,
            Some(&step.id),
            EventKind::ShareIssued,
            format!(
                "{} received share {} of {} of the {} and sealed it in bag {bag}",
                custodian.name,
                share.number(),
                split.set.count,
                secret.as_str()
            ),
            json!({
                "custodian": custodian.id,
                "secret": secret.as_str(),
                "number": share.number(),
                "set": split.set.to_string(),
                "bag": bag,
            }),
        )
    }

    fn write_rehearsal_shares(
        &mut self,
        step: &Step,
        custodian: &Participant,
        lines: String,
    ) -> Result<(), EngineError> {
        let body = zeroize::Zeroizing::new(format!(
            "# REHEARSAL ONLY: {}'s shares from ceremony '{}'.\n# A production ceremony never writes a share to disk (CPS 6.4.2).\n{lines}",
            custodian.name, self.script.script.ceremony.id
        ));
        drop(lines);
        let relative = files::rehearsal_share(&custodian.id);
        self.out.write_private(&relative, body.as_bytes())?;
        self.tool_record(
            Some(&step.id),
            EventKind::FileWritten,
            format!("REHEARSAL: wrote {}'s shares to {relative}", custodian.name),
            json!({ "path": relative, "rehearsal_shares": true }),
        )
    }
}
