//! The stop on an error, an abort or a signal: why it stopped, recorded
//! (an abort by the step's witness, with every key left on the token), a
//! last checkpoint signed while the token is still logged in, the session
//! closed (CPS 6.2.9), and the head shown for the witness to copy; and the
//! safe points at which a signal's stop happens.

use keyceremony_log::EventKind;
use keyceremony_script::Step;
use serde_json::json;

use crate::EngineError;
use crate::operator::{InputError, Notice, Operator};
use crate::run::{Runner, acting_role};

impl Runner {
    /// Records why the ceremony stopped (an abort with every key left on
    /// the token), signs a last checkpoint while the token is still logged
    /// in, deactivates it, and shows the head for the witness to copy.
    pub(crate) fn stop(&mut self, operator: &mut dyn Operator, step: &str, error: &EngineError) {
        // A sealed log takes no further entry: only a driver gone after
        // the seal, before the witness said the head was copied, ends here.
        if self.sealed.is_some() {
            return;
        }
        // A signal that came while the engine waited for the room is why it
        // stops, whatever the question's failure says (the TUI stops asking
        // on a signal, and its open question fails as an abort).
        let signal = self.settings.stop.requested();
        let kind = match error {
            EngineError::Input(InputError::Aborted { .. }) if signal.is_none() => EventKind::Abort,
            _ => EventKind::Error,
        };
        let description = match &signal {
            Some(signal) if !matches!(error, EngineError::Interrupted { .. }) => {
                format!("the ceremony stopped: interrupted by {signal} in step {step} ({error})")
            }
            _ => format!("the ceremony stopped: {error}"),
        };
        let mut data = json!({ "error": error.to_string() });
        if let Some(signal) = signal {
            data["interrupted_by"] = json!(signal);
        }
        // An abort is the room's decision: the step's witness records it.
        let recorder = (kind == EventKind::Abort)
            .then(|| {
                let witness = self
                    .script
                    .script
                    .steps()
                    .find(|(_, s)| s.id == step)
                    .map_or(&self.script.script.log.witness, |(_, s)| &s.witness);
                self.participant(witness).ok()
            })
            .flatten();
        let mut description = description;
        if kind == EventKind::Abort {
            let left = self.keys_left_now();
            description.push_str(&crate::actions::keys_left_sentence(&left));
            operator.notify(&Notice::KeysLeft {
                keys: left.iter().map(ToString::to_string).collect(),
            });
            data["keys_left_on_token"] = json!(left);
        }
        let _ = match recorder {
            Some(witness) => {
                data["recorded_by"] = json!(witness.id);
                self.person_record(
                    &witness,
                    acting_role(&witness),
                    Some(step),
                    kind,
                    format!("{} records the abort: {description}", witness.name),
                    data,
                )
            }
            None => self.tool_record(Some(step), kind, description, data),
        };
        let _ = self.checkpoint(step);
        if let Some(session) = self.session.take() {
            let closed = session.close().is_ok();
            let _ = self.tool_record(
                Some(step),
                EventKind::HsmSessionClose,
                "HSM session closed after the error".to_string(),
                json!({ "clean": closed }),
            );
        }
        self.show_head(operator, format!("the stop in step {step}"));
    }

    /// A safe point: nothing is half done here, so a stop that a signal
    /// asked for ([`crate::Stop`]) happens here.
    pub(crate) fn check_stop(&self, step: &Step, at: &'static str) -> Result<(), EngineError> {
        match self.settings.stop.requested() {
            None => Ok(()),
            Some(signal) => Err(EngineError::Interrupted {
                signal,
                step: step.id.clone(),
                at,
            }),
        }
    }
}
