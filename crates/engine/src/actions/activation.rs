//! login, logout and the activation of one signature: k checked-in
//! custodians' shares, each checked before any PKCS#11 call, rebuild the
//! user PIN for one call (CPS 5.2.2, 6.2.8, 6.2.9). A share passes only
//! from the custodian it was issued to. Refused shares and failed logins
//! are counted apart, per ceremony from the log (`crate::room`), each
//! against its own limit (CPS 5.4.1). The PINs and shares themselves are
//! in `crate::activation`.

use std::time::Instant;

use keyceremony_hsm::{HsmError, KeyPair, Session, Token, UserKind};
use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Role, Secret, Step};
use keyceremony_shares::{self as shares, Expected, Share, ShareError};
use secrecy::SecretString;
use serde_json::json;

use crate::EngineError;
use crate::activation::{kind, with_pin};
use crate::operator::{InputError, Notice, Operator};
use crate::run::Runner;

/// Shares entered by the custodians who came forward, in the same order.
pub(super) struct Entered {
    pub(super) custodians: Vec<String>,
    pub(super) shares: Vec<Share>,
}

impl Runner {
    /// What a login of `secret` expects of each share.
    pub(super) fn expected(&self, secret: Secret) -> Expected {
        let activation = &self.script.script.activation;
        // A restore's wrap key was split by the ceremony that backed up;
        // the shares this ceremony handed out (a re-initialised token's
        // new ones too) are its own.
        let ceremony = match (secret, &self.script.script.restore) {
            (Secret::WrapKey, Some(restore)) => restore.shares_from.as_str(),
            _ if self.room.issued(secret) => &self.script.script.ceremony.id,
            _ => activation
                .shares_from
                .as_deref()
                .unwrap_or(&self.script.script.ceremony.id),
        };
        Expected {
            kind: kind(secret),
            ceremony_tag: shares::ceremony_tag(ceremony),
            nonce: self.issued.get(&secret).cloned(),
            threshold: activation.quorum(secret).threshold as u8,
        }
    }

    /// k custodians' shares of `secret`, each checked before any PKCS#11
    /// call, rebuild it for one `attempt`, again until the token takes the
    /// PIN or a limit is reached (CPS 5.4.1; the attempt is told who came
    /// forward, before anything irreversible); then `succeeded` records the
    /// activation and, with `reseal`, the custodians seal their shares in
    /// new bags (without, the shares open nothing once the step is done).
    /// What the attempt gave, and the custodians whose shares rebuilt the
    /// secret.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn with_quorum<T>(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        secret: Secret,
        reseal: bool,
        mut attempt: impl FnMut(
            &mut Self,
            &SecretString,
            &[String],
        ) -> Result<Result<T, HsmError>, EngineError>,
        succeeded: impl FnOnce(&mut Self, &mut dyn Operator, &[String], &T) -> Result<(), EngineError>,
    ) -> Result<(T, Vec<String>), EngineError> {
        let mut opened = Vec::new();
        loop {
            self.refuse_exhausted_logins(step)?;
            let entered = self.collect_shares(operator, step, secret, &mut opened)?;
            let expected = self.expected(secret);
            let result = with_pin(&entered.shares, &expected, |pin| {
                attempt(self, pin, &entered.custodians)
            })
            .map_err(|e| EngineError::Step {
                step: step.id.clone(),
                message: e.to_string(),
            })??;
            match result {
                Ok(done) => {
                    succeeded(self, operator, &entered.custodians, &done)?;
                    if reseal {
                        self.reseal_share_bags(operator, step, secret, &opened)?;
                    }
                    return Ok((done, entered.custodians));
                }
                Err(HsmError::PinIncorrect) => {
                    self.login_failed(operator, step, &entered.custodians)?;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Stops the ceremony once the refused shares or the failed logins the
    /// log records reach the script's limit (CPS 5.4.1 3.1; tokens such as
    /// SoftHSM2 never lock by themselves): from then on it can only be
    /// aborted.
    fn check_limits(&self, step: &Step, last: &str) -> Result<(), EngineError> {
        match self.room.limit_reached() {
            Some(why) => Err(EngineError::Step {
                step: step.id.clone(),
                message: format!("{why}; last: {last}"),
            }),
            None => Ok(()),
        }
    }

    /// The number of the share of `secret` that `custodian` holds: as the
    /// log records its issue, or, for shares made by an earlier ceremony
    /// (`activation.shares_from`), their place in the quorum's list, which
    /// is how init-token numbers the shares.
    fn share_number_of(&self, secret: Secret, custodian: &str) -> Option<u8> {
        if self.room.issued(secret) {
            return self.room.share_of(secret, custodian);
        }
        self.script
            .script
            .activation
            .quorum(secret)
            .custodians
            .iter()
            .position(|id| id == custodian)
            .and_then(|i| u8::try_from(i + 1).ok())
    }

    /// A share passes only from the custodian it was issued to (CPS 5.2.2,
    /// 6.4.2): one person with two shares must not activate the key while
    /// the log names two people.
    fn check_presenter(
        &self,
        secret: Secret,
        custodian: &Participant,
        share: &Share,
    ) -> Result<(), String> {
        let theirs = self.share_number_of(secret, &custodian.id);
        if theirs == Some(share.number()) {
            return Ok(());
        }
        let holder = self
            .room
            .holder_of(secret, share.number())
            .and_then(|id| self.script.script.participant(id))
            .map_or_else(|| "another custodian".to_string(), |p| p.name.clone());
        Err(format!(
            "share {} of the {} was issued to {holder}, not to {}: a share is presented only by the custodian it was issued to (CPS 6.4.2)",
            share.number(),
            secret.as_str(),
            custodian.name
        ))
    }

    /// Asks the custodians who come forward for their shares of `secret`
    /// and checks each one before any PKCS#11 call. Each opens their bag
    /// the first time they come forward in this activation (`opened`). A
    /// custodian who steps back at share entry sends the room back to the
    /// choice, and the shares entered so far are set aside.
    pub(super) fn collect_shares(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        secret: Secret,
        opened: &mut Vec<String>,
    ) -> Result<Entered, EngineError> {
        loop {
            let chosen = self.choose(operator, step, secret)?;
            if let Some(shares) = self.enter_shares(operator, step, secret, &chosen, opened)? {
                return Ok(Entered {
                    custodians: chosen,
                    shares,
                });
            }
        }
    }

    /// The custodians the room says come forward, each checked: in the
    /// quorum, in the room, once, exactly as many as the threshold.
    fn choose(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        secret: Secret,
    ) -> Result<Vec<String>, EngineError> {
        let quorum = self.script.script.activation.quorum(secret).clone();
        let threshold = quorum.threshold as usize;
        // Only those in the room can come forward.
        let eligible: Vec<Participant> = quorum
            .custodians
            .iter()
            .filter(|id| self.room.in_room(id))
            .filter_map(|id| self.script.script.participant(id).cloned())
            .collect();
        let chosen = operator.choose_custodians(step, secret, &eligible, threshold)?;
        let refuse = |message: String| EngineError::Step {
            step: step.id.clone(),
            message,
        };
        if chosen.len() != threshold {
            return Err(refuse(format!(
                "{} custodian(s) came forward for the {}; exactly {threshold} are needed",
                chosen.len(),
                secret.as_str()
            )));
        }
        for (i, id) in chosen.iter().enumerate() {
            if chosen[..i].contains(id) {
                return Err(refuse(format!(
                    "custodian '{id}' came forward twice: each share must come from a different person (CPS 6.4.2)"
                )));
            }
            if !quorum.custodians.contains(id) {
                return Err(refuse(format!(
                    "'{id}' holds no share of the {}",
                    secret.as_str()
                )));
            }
            if !self.room.in_room(id) {
                return Err(refuse(format!(
                    "custodian '{id}' is not in the room ({}): only a custodian checked in and in the room comes forward (CPS 5.2.3)",
                    self.room.whereabouts(id)
                )));
            }
        }
        Ok(chosen)
    }

    /// Each of the `chosen` custodians types their share until it passes;
    /// None when one of them steps back.
    fn enter_shares(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        secret: Secret,
        chosen: &[String],
        opened: &mut Vec<String>,
    ) -> Result<Option<Vec<Share>>, EngineError> {
        let expected = self.expected(secret);
        let mut entered: Vec<Share> = Vec::new();
        for id in chosen {
            let custodian = self.participant(id)?;
            if !opened.contains(id) {
                self.open_share_bag(operator, step, &custodian, secret)?;
                opened.push(id.clone());
            }
            loop {
                let text = match operator.share(step, &custodian, secret) {
                    Err(InputError::ChooseAgain) => {
                        self.person_record(
                            &custodian,
                            Role::Custodian,
                            Some(&step.id),
                            EventKind::Recorded,
                            format!(
                                "{} steps back before entering their share of the {}; the custodians who come forward are chosen again, and the {} share(s) entered so far are set aside",
                                custodian.name,
                                secret.as_str(),
                                entered.len()
                            ),
                            json!({ "custodian": custodian.id, "secret": secret.as_str(), "stepped_back": true, "set_aside": entered.len() }),
                        )?;
                        return Ok(None);
                    }
                    other => other?,
                };
                // Parsed (checksums), then checked against the shares already
                // entered (ceremony, secret, split, duplicates); k are not
                // needed yet.
                let checked = shares::Share::parse(secrecy::ExposeSecret::expose_secret(&text))
                    .and_then(|share| {
                        let mut candidate = entered.clone();
                        candidate.push(share.clone());
                        match shares::check(&candidate, &expected) {
                            Ok(()) | Err(ShareError::NotEnough { .. }) => Ok(share),
                            Err(error) => Err(error),
                        }
                    });
                let checked = checked.map_err(|e| e.to_string()).and_then(|share| {
                    self.check_presenter(secret, &custodian, &share)?;
                    Ok(share)
                });
                let share = match checked {
                    Ok(share) => share,
                    Err(reason) => {
                        self.reject_share(operator, step, &custodian, &reason)?;
                        continue;
                    }
                };
                self.person_record(
                    &custodian,
                    Role::Custodian,
                    Some(&step.id),
                    EventKind::ShareEntered,
                    format!(
                        "{} entered share {} of the {} (set {})",
                        custodian.name,
                        share.number(),
                        secret.as_str(),
                        share.set()
                    ),
                    json!({
                        "custodian": custodian.id,
                        "secret": secret.as_str(),
                        "number": share.number(),
                        "set": share.set().to_string(),
                    }),
                )?;
                entered.push(share);
                break;
            }
        }
        Ok(Some(entered))
    }

    fn reject_share(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodian: &Participant,
        reason: &str,
    ) -> Result<(), EngineError> {
        self.person_record(
            custodian,
            Role::Custodian,
            Some(&step.id),
            EventKind::ShareRejected,
            format!("share entered by {} refused: {reason}", custodian.name),
            json!({ "custodian": custodian.id, "reason": reason }),
        )?;
        operator.notify(&Notice::ShareRejected {
            custodian: custodian.name.clone(),
            reason: reason.to_string(),
            failures: self.room.refused_shares,
            limit: self.script.script.hsm.max_refused_shares,
        });
        self.check_limits(step, &format!("{}'s share, {reason}", custodian.name))
    }

    pub(super) fn open_session(
        &mut self,
        token: &Token,
        step: &Step,
    ) -> Result<Session, EngineError> {
        let session = token.open_session()?;
        self.tool_record(
            Some(&step.id),
            EventKind::HsmSessionOpen,
            format!(
                "HSM session opened on token '{}'",
                self.script.script.hsm.token_label
            ),
            json!({}),
        )?;
        Ok(session)
    }

    pub(super) fn close_session(
        &mut self,
        session: Session,
        step: &Step,
    ) -> Result<(), EngineError> {
        session.close()?;
        self.tool_record(
            Some(&step.id),
            EventKind::HsmSessionClose,
            "HSM session closed".to_string(),
            json!({}),
        )
    }

    /// Activates the token: k custodians' shares rebuild the user PIN for
    /// one C_Login (CPS 6.2.8).
    pub(crate) fn login(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
    ) -> Result<(), EngineError> {
        let label = self.script.script.hsm.token_label.clone();
        self.with_quorum(
            operator,
            step,
            Secret::UserPin,
            true,
            |this, pin, _| {
                let token = this.module.token_by_label(&label)?;
                refuse_pin_lockout(&token, step)?;
                let session = this.open_session(&token, step)?;
                let started = Instant::now();
                match session.login(UserKind::User, pin) {
                    Ok(()) => {
                        this.session = Some(session);
                        Ok(Ok(started.elapsed().as_secs_f64() * 1000.0))
                    }
                    Err(error) => {
                        if matches!(error, HsmError::PinIncorrect) {
                            this.close_session(session, step)?;
                        }
                        Ok(Err(error))
                    }
                }
            },
            |this, operator, custodians, milliseconds| {
                this.tool_record(
                    Some(&step.id),
                    EventKind::LoginSucceeded,
                    format!(
                        "logged in to token '{label}' with the user PIN rebuilt from the shares of {}",
                        custodians.join(" and ")
                    ),
                    json!({ "custodians": custodians, "context_specific": false }),
                )?;
                operator.notify(&Notice::HsmDone {
                    what: format!(
                        "logged in to token '{label}' with the user PIN rebuilt from the shares of {}: the token is active",
                        this.names(custodians)
                    ),
                    milliseconds: *milliseconds,
                });
                Ok(())
            },
        )?;
        self.restore_keys(step)?;
        self.take_up_root(operator, step)
    }

    pub(super) fn login_failed(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodians: &[String],
    ) -> Result<(), EngineError> {
        let limit = self.script.script.hsm.max_failed_logins;
        self.tool_record(
            Some(&step.id),
            EventKind::LoginFailed,
            format!(
                "login failed: the token refused the PIN rebuilt from the shares of {}",
                custodians.join(" and ")
            ),
            json!({ "custodians": custodians, "attempt": self.room.failed_logins + 1, "limit": limit }),
        )?;
        operator.notify(&Notice::LoginFailed {
            failures: self.room.failed_logins,
            limit,
            reason: "the token refused the PIN rebuilt from the shares entered; the custodians enter their shares again".to_string(),
        });
        self.check_limits(step, "the token refused the rebuilt PIN")
    }

    /// No login is tried once the token has refused as many as the script
    /// allows, whichever run they were in.
    pub(super) fn refuse_exhausted_logins(&self, step: &Step) -> Result<(), EngineError> {
        if self.room.logins_exhausted() {
            return self.check_limits(step, "no login is tried");
        }
        Ok(())
    }

    pub(super) fn logged_in(&self, step: &Step) -> Result<&Session, EngineError> {
        self.session.as_ref().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "no dual-control login is active".to_string(),
        })
    }

    /// One signature with a CKA_ALWAYS_AUTHENTICATE key: k custodians'
    /// shares again, for a context-specific login (CPS 6.2.8, 6.2.9).
    pub(super) fn sign_activated(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        pair: &KeyPair,
        message: &[u8],
    ) -> Result<(Vec<u8>, f64), EngineError> {
        let (signature, hsm_ms, _) = self.activated(operator, step, pair, |session, pin| {
            session.sign_sha384(pair, message, Some(pin))
        })?;
        Ok((signature, hsm_ms))
    }

    /// One operation that signs with `pair`, a CKA_ALWAYS_AUTHENTICATE key,
    /// given the user PIN the custodians who come forward rebuild for it;
    /// its result, the HSM's milliseconds, and those custodians.
    pub(super) fn activated<T>(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        pair: &KeyPair,
        operation: impl Fn(&Session, &SecretString) -> Result<T, HsmError>,
    ) -> Result<(T, f64, Vec<String>), EngineError> {
        let ((done, hsm_ms), custodians) = self.with_quorum(
            operator,
            step,
            Secret::UserPin,
            true,
            |this, pin, _| {
                let session = this.logged_in(step)?;
                let started = Instant::now();
                let result = operation(session, pin);
                Ok(result.map(|done| (done, started.elapsed().as_secs_f64() * 1000.0)))
            },
            |this, _, custodians, _| {
                this.tool_record(
                    Some(&step.id),
                    EventKind::LoginSucceeded,
                    format!(
                        "key '{}' activated for one signature with the shares of {}",
                        pair.label,
                        custodians.join(" and ")
                    ),
                    json!({ "custodians": custodians, "context_specific": true, "key": pair.label }),
                )
            },
        )?;
        Ok((done, hsm_ms, custodians))
    }

    pub(crate) fn logout(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
    ) -> Result<(), EngineError> {
        let session = self.session.take().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "no login to end".to_string(),
        })?;
        let started = Instant::now();
        session.logout()?;
        self.tool_record(
            Some(&step.id),
            EventKind::Logout,
            "logged out of the token: the CA key is deactivated (CPS 6.2.9)".to_string(),
            json!({}),
        )?;
        self.close_session(session, step)?;
        operator.notify(&Notice::HsmDone {
            what: format!(
                "logged out of token '{}': the CA key is deactivated and the session closed",
                self.script.script.hsm.token_label
            ),
            milliseconds: started.elapsed().as_secs_f64() * 1000.0,
        });
        Ok(())
    }

    /// Participants' names for the room, by their ids.
    pub(super) fn names(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| {
                self.script
                    .script
                    .participant(id)
                    .map_or(id.as_str(), |p| p.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// Stops before a lock-out when the token says it is close to one.
fn refuse_pin_lockout(token: &Token, step: &Step) -> Result<(), EngineError> {
    let info = token.info()?;
    let flags = info.flags;
    let state = if flags.user_pin_locked {
        "locked"
    } else if flags.user_pin_final_try {
        "on its final try"
    } else {
        return Ok(());
    };
    Err(EngineError::Step {
        step: step.id.clone(),
        message: format!(
            "token '{}' reports its user PIN {state}; stopping before a lock-out. Do not retry: the token needs its security officer",
            info.label
        ),
    })
}
