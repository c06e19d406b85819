//! The copy check (CPS 6.4.2): a custodian who has copied a share types it
//! back from their paper before the tool lets go of it, SO-PIN shares
//! included, so that a mis-copied share is found now and not years later
//! when it is needed. A copy that differs is recorded and the share shown
//! again; a headless rehearsal reads each share file back the same way.

use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Role, Secret, Step};
use keyceremony_shares::Share;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::EngineError;
use crate::operator::{Notice, Operator, ShareShown};
use crate::run::Runner;

/// Why `typed` is not a copy of `shown`, if it is not.
fn difference(shown: &Share, typed: &str) -> Option<String> {
    let copy = match Share::parse(typed) {
        Ok(copy) => copy,
        Err(error) => return Some(error.to_string()),
    };
    if copy.to_text().expose_secret() == shown.to_text().expose_secret() {
        None
    } else if copy.number() != shown.number() || copy.set() != shown.set() {
        Some(format!(
            "it reads as share {} of set {}, not share {} of set {}",
            copy.number(),
            copy.set(),
            shown.number(),
            shown.set()
        ))
    } else {
        Some("its value differs from the share shown".to_string())
    }
}

impl Runner {
    /// Asks `custodian` for their copy of `share` until it matches; after a
    /// copy that differs, the share is shown again (when there is a screen:
    /// without one, the copy is a rehearsal's share file, and a file that
    /// differs stops the step).
    pub(super) fn copy_check(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        custodian: &Participant,
        secret: Secret,
        share: &Share,
        shown: ShareShown,
    ) -> Result<(), EngineError> {
        let what = format!(
            "share {} of {} of the {}",
            share.number(),
            share.set().count,
            secret.as_str()
        );
        loop {
            let typed = operator.copy_back(step, custodian, secret, share.number())?;
            let differs = difference(share, typed.expose_secret());
            drop(typed);
            let data = json!({
                "custodian": custodian.id,
                "secret": secret.as_str(),
                "number": share.number(),
                "matches": differs.is_none(),
                "difference": differs,
                "from": if shown == ShareShown::Shown { "paper" } else { "rehearsal share file" },
            });
            let description = match &differs {
                None => format!(
                    "{}'s copy of {what}, typed back before the tool wiped it, matches",
                    custodian.name
                ),
                Some(reason) => format!(
                    "{}'s copy of {what} differs from the share shown: {reason}",
                    custodian.name
                ),
            };
            self.person_record(
                custodian,
                Role::Custodian,
                Some(&step.id),
                EventKind::CopyChecked,
                description,
                data,
            )?;
            operator.notify(&Notice::CopyChecked {
                custodian: custodian.name.clone(),
                difference: differs.clone(),
            });
            let Some(reason) = differs else {
                return Ok(());
            };
            if shown == ShareShown::NoScreen
                || operator.show_share(step, custodian, share)? == ShareShown::NoScreen
            {
                return Err(EngineError::Step {
                    step: step.id.clone(),
                    message: format!(
                        "{}'s copy of {what} does not match the share the tool made ({reason}); with no screen to show it again, the share is lost",
                        custodian.name
                    ),
                });
            }
        }
    }
}
