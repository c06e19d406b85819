//! What lets a resumed ceremony prove that its log is the one written in
//! the room (docs/log-format.md): a checkpoint signed by the log-signing
//! key at every step end while the token is logged in; the head shown for
//! the witness to copy at every act's end and when a run stops; and, on
//! resuming, the log-signing key found on the token checked against the
//! recorded one before the checkpoints after the witness's head are relied
//! on.

use keyceremony_log::{Checkpoint, EventKind, checkpoint_statement};
use keyceremony_script::{Action, Step};
use p384::ecdsa::signature::Verifier;
use p384::pkcs8::DecodePublicKey;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::EngineError;
use crate::operator::{LogHead, Notice, Operator};
use crate::run::{Runner, hex_upper};

impl Runner {
    /// While the token is logged in, the log-signing key signs the head:
    /// nobody without the PIN can make a checkpoint, so a log rewritten
    /// before one no longer verifies.
    pub(crate) fn checkpoint(&mut self, step: &str) -> Result<(), EngineError> {
        if !self.log_key_recorded {
            return Ok(());
        }
        let Some(session) = self.session.as_ref() else {
            return Ok(());
        };
        let key = self.find_key(session, &self.script.script.log.signing_key)?;
        let (entries, head) = (self.log.len(), self.log.head());
        let statement = checkpoint_statement(&self.script.script.ceremony.id, entries, &head);
        let raw = session.sign_sha384(&key, statement.as_bytes(), None)?;
        let checkpoint = Checkpoint::new(
            &self.script.script.ceremony.id,
            entries,
            &head,
            &keyceremony_log::der_from_raw(&raw)?,
        )?;
        self.tool_record(
            Some(step),
            EventKind::Checkpoint,
            format!("checkpoint: the log-signing key signs the log as of entry {entries}"),
            json!(checkpoint),
        )
    }

    /// The head as it stands, shown for the witness to copy.
    pub(crate) fn show_head(&self, operator: &mut dyn Operator, at: String) -> LogHead {
        let head = self.log.head();
        let shown = LogHead {
            at,
            entries: self.log.len(),
            head: hex::encode(head),
            words: pgp_words::to_words(&head).join(" "),
        };
        operator.notify(&Notice::LogHead(shown.clone()));
        shown
    }

    /// At the end of an act (the seal ends the last with a head of its
    /// own), the witness copies the head onto the paper script.
    pub(crate) fn end_act(
        &mut self,
        operator: &mut dyn Operator,
        act: &str,
        last_in_act: bool,
        step: &Step,
    ) -> Result<(), EngineError> {
        if !last_in_act || step.action == Action::SealLog {
            return Ok(());
        }
        let witness = self.participant(&self.script.script.log.witness)?;
        let shown = self.show_head(operator, format!("the end of act {act}"));
        operator.copy_head(&witness, &shown)?;
        Ok(())
    }

    /// On the first login of a run that reopened an interrupted log: the
    /// log-signing key found on the token (a private key, made on the
    /// token, sensitive, never extractable) must be the recorded one, and
    /// must sign a fresh challenge that the recorded public key verifies.
    /// Only then are the checkpoints after the witness's head proven (the
    /// verifier checked each against the recorded key), and a log whose
    /// recorded key is not the token's goes no further.
    pub(crate) fn verify_log_key(&mut self, step: &Step) -> Result<(), EngineError> {
        let Some(check) = self.log_key_check.take() else {
            return Ok(());
        };
        let (last, recorded_pem) = (check.last_checkpoint, check.pem);
        let label = self.script.script.log.signing_key.clone();
        let session = self.logged_in(step)?;
        let seal_begun = self.recovery.as_ref().is_some_and(|r| r.seal_begun);
        let key = self.find_key(session, &label).map_err(|e| {
            EngineError::Refused(match seal_begun {
                true => format!(
                    "the log-signing key the log records is not on the token ({e}), and the log's last entry is the ceremony's end or its abort, after which the seal signs its statement with that key and destroys it. If the backup media hold this ceremony's seal-statement.txt with the log-signing key's signature, the seal got that far: the key is gone, so this log can never be sealed and stays unsealed (verify-log exit 3); keep the folder and the media for the auditor (docs/auditor.md, \"Signing the seal\"). If they do not, this is not the ceremony's token: keep everything as it is and call the auditor"
                ),
                false => format!(
                    "the log-signing key the log records cannot be found on the token ({e}): this is not the ceremony's token, or not the log written in the room. Keep the folder and the token as they are and call the auditor"
                ),
            })
        })?;
        let mut problems = session.private_key_attributes(&key)?.problems(false);
        let spki = session.public_key_spki_der(&key)?;
        let recorded =
            p384::ecdsa::VerifyingKey::from_public_key_pem(&recorded_pem).map_err(|e| {
                EngineError::Refused(format!("the recorded log-signing key is unusable: {e}"))
            })?;
        let challenge = session.random(32)?;
        let statement = format!(
            "keyceremony log-signing key check\nceremony: {}\nchallenge: {}\n",
            self.script.script.ceremony.id,
            hex::encode(&challenge)
        );
        let raw = session.sign_sha384(&key, statement.as_bytes(), None)?;
        let signed = p384::ecdsa::Signature::from_slice(&raw)
            .is_ok_and(|s| recorded.verify(statement.as_bytes(), &s).is_ok());
        if !signed {
            problems.push(
                "it is not the key the log records: the recorded public key does not verify its signature"
                    .to_string(),
            );
        }
        if !problems.is_empty() {
            return Err(EngineError::Refused(format!(
                "the log-signing key '{label}' on the token does not prove this log ({}). The checkpoints in the log were not made by this token: the log is not the one written in the room. Keep the folder and the token as they are and call the auditor; the ceremony cannot go on from this log",
                problems.join("; ")
            )));
        }
        self.tool_record(
            Some(&step.id),
            EventKind::LogKeyVerified,
            format!(
                "the log-signing key on the token is the recorded one and signed a fresh challenge{}",
                last.map_or(String::new(), |n| format!(
                    ": the checkpoints through entry {n} are the log written in the room"
                ))
            ),
            json!({
                "last_checkpoint_entry": last,
                "label": label,
                "id": hex::encode(&key.id),
                "public_key_sha256": hex_upper(&Sha256::digest(&spki)),
                "challenge": hex::encode(&challenge),
            }),
        )
    }
}
