//! The logins of a backup and a restore, which work on one session as the
//! Security Officer and then as the user, each with k custodians' shares
//! (CPS 5.2.2, 6.2.4), and the wrap key of a backup rebuilt from the backup
//! custodians' shares. The shares and the failure limits are
//! `actions::activation`'s.

use keyceremony_hsm::{HsmError, Session, UserKind, WRAP_KEY_BYTES, Zeroizing};
use keyceremony_log::EventKind;
use keyceremony_script::{Secret, Step};
use keyceremony_shares as shares;
use secrecy::SecretString;
use serde_json::json;

use crate::EngineError;
use crate::operator::Operator;
use crate::run::Runner;

impl Runner {
    /// Logs `session` in as `who` (the Security Officer with the SO-PIN
    /// shares, or the user with the user-PIN shares) once k custodians
    /// rebuild the PIN for the one C_Login; the custodians who did. Without
    /// `reseal`, the shares open nothing once the step is done (a token
    /// about to be re-initialised), and are not sealed in new bags.
    pub(super) fn log_in_as(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
        who: UserKind,
        reseal: bool,
    ) -> Result<Vec<String>, EngineError> {
        let (custodians, ()) =
            self.log_in_with(operator, step, session, who, reseal, |_, _| Ok(()))?;
        Ok(custodians)
    }

    /// [`Runner::log_in_as`], then `then` with the same PIN while it is
    /// rebuilt (a restored key's proof needs it for its context-specific
    /// login): the custodians and what `then` gave.
    pub(super) fn log_in_then<T>(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
        who: UserKind,
        then: impl Fn(&Session, &SecretString) -> Result<T, HsmError>,
    ) -> Result<(Vec<String>, T), EngineError> {
        self.log_in_with(operator, step, session, who, true, then)
    }

    fn log_in_with<T>(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
        who: UserKind,
        reseal: bool,
        then: impl Fn(&Session, &SecretString) -> Result<T, HsmError>,
    ) -> Result<(Vec<String>, T), EngineError> {
        let secret = match who {
            UserKind::SecurityOfficer => Secret::SoPin,
            UserKind::User => Secret::UserPin,
        };
        let (done, custodians) = self.with_quorum(
            operator,
            step,
            secret,
            reseal,
            |_, pin, _| Ok(session.login(who, pin).and_then(|()| then(session, pin))),
            |this, _, custodians, _| {
                this.tool_record(
                    Some(&step.id),
                    EventKind::LoginSucceeded,
                    format!(
                        "logged in to token '{}' as the {} with the {} rebuilt from the shares of {}",
                        this.script.script.hsm.token_label,
                        match who {
                            UserKind::SecurityOfficer => "Security Officer",
                            UserKind::User => "user",
                        },
                        secret.as_str(),
                        custodians.join(" and ")
                    ),
                    json!({ "custodians": custodians, "context_specific": false, "secret": secret.as_str() }),
                )
            },
        )?;
        Ok((custodians, done))
    }

    /// The wrap key of the backup a restore takes up, rebuilt from the
    /// shares of the backup custodians who come forward, each share checked
    /// before anything else (kind, the backup ceremony, its split), then
    /// held to the check value the backup recorded: k shares of which one
    /// is not genuine rebuild another key, which is refused.
    pub(super) fn rebuild_backup_wrap_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        check_value: &str,
    ) -> Result<Zeroizing<[u8; WRAP_KEY_BYTES]>, EngineError> {
        let mut opened = Vec::new();
        let entered = self.collect_shares(operator, step, Secret::WrapKey, &mut opened)?;
        let key = shares::rebuild_wrap_key(&entered.shares, &self.expected(Secret::WrapKey))
            .and_then(|key| shares::confirm_wrap_key(&key, check_value).map(|()| key))
            .map_err(|e| EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the shares of {} do not rebuild the backup's wrap key: {e}",
                    self.names(&entered.custodians)
                ),
            })?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "the backup's wrap key rebuilt from the shares of {}: its check value is the one the backup recorded",
                entered.custodians.join(" and ")
            ),
            json!({ "backup_custodians": entered.custodians, "wrap_key_check": check_value }),
        )?;
        self.reseal_share_bags(operator, step, Secret::WrapKey, &opened)?;
        Ok(key)
    }
}
