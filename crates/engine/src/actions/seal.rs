//! seal-log: the log-signing key (made during init-token, under the same
//! dual control as the PINs), and the seal, the last thing the ceremony
//! does (CPS 5.4.1, 5.4.4, 5.4.5, 6.1.1).
//!
//! In order: the custodians activate the token once more; the ceremony's
//! end is recorded; the log is copied to the backup media and read back;
//! the statement is made and the log-signing key signs it; that key is
//! destroyed, so that it can never seal another log, and the token logged
//! out, so that the HSM goes into its bag; then the witness signs the
//! statement, last, attesting all of it; and only then is the seal written
//! and the media's copy completed with it. Nothing is recorded after the
//! ceremony's end but the seal, so that the statement covers it all.

use keyceremony_hsm::{KeyAlgorithm as HsmAlgorithm, KeyGenSpec, KeyHandling, KeyPair, Session};
use keyceremony_log::{
    Actor, BackupCopy, CEREMONY_KEY_SIGNER, EventKind, Seal, SealOutcome, SealSignature,
    SealStatement,
};
use keyceremony_script::{Participant, Step, WitnessSigning};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::keys::refuse_existing_label;
use super::media::Media;
use super::witness::{LabWitness, pinned_key};
use crate::EngineError;
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};

/// The key that signs the log's seal.
pub(super) struct LogKey {
    pair: KeyPair,
    spki: Vec<u8>,
    uri: String,
}

/// The statement as the log-signing key signed it, and what the witness's
/// signature and the seal need of it.
struct StatementSigned {
    log_key: KeyPair,
    lab: Option<LabWitness>,
    media: Media,
    text: String,
    ceremony: SealSignature,
    entries: u64,
    head: [u8; 32],
    witness_key_sha256: [u8; 32],
}

impl Runner {
    /// The P-384 key that signs the log's seal, made with the token while
    /// its PINs are still whole, so it is under the same dual control.
    pub(super) fn generate_log_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
    ) -> Result<LogKey, EngineError> {
        let label = self.script.script.log.signing_key.clone();
        refuse_existing_label(session, &label)?;
        let id = session.random(16)?;
        self.tool_record(
            Some(&step.id),
            EventKind::KeyGenerationRequested,
            format!("generating the ECC P-384 log-signing key '{label}' inside the HSM"),
            json!({ "label": label, "id": hex::encode(&id), "algorithm": "ECC P-384", "purpose": "log-signing" }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("generating the log-signing key '{label}'"),
        });
        let pair = session
            .generate_key_pair_with(
                &KeyGenSpec {
                    algorithm: HsmAlgorithm::EcP384,
                    label: label.clone(),
                    id: id.clone(),
                    always_authenticate: false,
                },
                KeyHandling {
                    backup: false,
                    lock_attributes: true,
                },
            )?
            .pair;
        let problems = session.private_key_attributes(&pair)?.problems(false);
        if !problems.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the log-signing key has unsafe attributes: {}",
                    problems.join("; ")
                ),
            });
        }
        let spki = session.public_key_spki_der(&pair)?;
        let uri = self.key_uri(&label, &id)?;
        Ok(LogKey { pair, spki, uri })
    }

    pub(super) fn record_log_key(&mut self, step: &Step, key: &LogKey) -> Result<(), EngineError> {
        let data = keyceremony_log::log_signing_key_data(&key.spki, &key.uri)?;
        self.tool_record(
            Some(&step.id),
            EventKind::LogSigningKey,
            format!(
                "log-signing key '{}' is on the token; it signs this log's seal, and is destroyed once it has",
                key.pair.label
            ),
            data,
        )?;
        self.log_key_recorded = true;
        Ok(())
    }

    /// A later ceremony's log-signing key (`hsm.initialize = false`): each
    /// log's key is destroyed once it has signed that log's seal, so a
    /// ceremony on a token initialised earlier makes its own at its first
    /// login, under the custodians' activation, as a key generation makes
    /// its own at init-token with the PINs. A resumed run finds the one its
    /// log records.
    pub(super) fn later_log_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
    ) -> Result<(), EngineError> {
        if self.log_key_recorded {
            return Ok(());
        }
        let key = self.generate_log_key(operator, step, session)?;
        self.record_log_key(step, &key)
    }

    /// Closes the log with its seal, the ceremony's last act (see the
    /// module's documentation for the order). On an error before the
    /// log-signing key is destroyed, the token's session is left to
    /// [`Runner::stop`], which closes it and records that it did.
    pub(crate) fn seal(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        outcome: SealOutcome,
    ) -> Result<(), EngineError> {
        let witness = self.participant(&self.script.script.log.witness)?;
        self.login(operator, step)?;
        let session = self.session.take().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "the login to sign the seal did not leave a session".to_string(),
        })?;
        let signed = match self.sign_statement(operator, step, outcome, &witness, &session) {
            Ok(signed) => signed,
            Err(error) => {
                self.session = Some(session);
                return Err(error);
            }
        };
        self.destroy_log_key(operator, session, &signed.log_key)?;
        let StatementSigned {
            log_key: _,
            lab,
            media,
            text,
            ceremony,
            entries,
            head,
            witness_key_sha256,
        } = signed;

        let signed = match lab {
            Some(lab) => {
                let spki = lab.spki.clone();
                lab.sign(&text).map(|signature| (spki, signature))
            }
            None => {
                self.independent_signature(operator, &witness, &media, &text, witness_key_sha256)
            }
        };
        let (witness_spki, witness_signature) = signed.map_err(|error| match error {
            // The room's own decision to stop is recorded as an abort.
            aborted @ EngineError::Input(crate::InputError::Aborted { .. }) => aborted,
            error => EngineError::Refused(format!(
                "{error}. The log-signing key was destroyed once it signed the statement, so this log can never be sealed: it stays unsealed (verify-log exit 3), and {} holds the statement, the log-signing key's signature over it and the copy of the log it names, for the auditor (docs/auditor.md, \"Signing the seal\")",
                media.path("").display()
            )),
        })?;
        let seal = Seal {
            outcome,
            entries,
            head: hex::encode(head),
            statement: text,
            ceremony_key: ceremony,
            witness_key: SealSignature::new(witness.id.clone(), &witness_spki, &witness_signature)?,
        };
        self.log.seal(
            &Actor::new(&witness.id, keyceremony_log::SEAL_ROLE),
            &step.id,
            &seal,
        )?;
        self.sealed = Some(head);
        self.backup_copy = Some(media.complete(&self.log)?);
        let head_hex = hex::encode(head);
        let words = pgp_words::to_words(&head).join(" ");
        operator.notify(&Notice::Sealed {
            outcome: outcome.as_str().to_string(),
            entries,
            head: head_hex.clone(),
            words: words.clone(),
        });
        operator.confirm_seal(&witness, &head_hex, &words)?;
        Ok(())
    }

    /// Everything of the seal that needs the CA token's `session`: the
    /// witness's lab token opened (when they sign on the terminal), the
    /// ceremony's end recorded, the log copied to the media, and the
    /// statement made and signed by the log-signing key.
    fn sign_statement(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        outcome: SealOutcome,
        witness: &Participant,
        session: &Session,
    ) -> Result<StatementSigned, EngineError> {
        let settings = self.script.script.log.clone();
        let log_key = self.find_key(session, &settings.signing_key)?;
        let ceremony_spki = session.public_key_spki_der(&log_key)?;
        if !self.log_key_recorded {
            let uri = self.key_uri(&settings.signing_key, &log_key.id)?;
            let key = LogKey {
                pair: log_key.clone(),
                spki: ceremony_spki.clone(),
                uri,
            };
            self.record_log_key(step, &key)?;
        }
        let lab = match settings.witness_signing {
            WitnessSigning::LabTokenOnTerminal => {
                Some(self.open_lab_witness(operator, witness, &step.id)?)
            }
            WitnessSigning::Independent => None,
        };
        let witness_key_sha256: [u8; 32] = match (&lab, pinned_key(&self.script.script)?) {
            (Some(lab), _) => Sha256::digest(&lab.spki).into(),
            (None, Some(pin)) => pin,
            (None, None) => {
                return Err(EngineError::Refused(
                    "the witness signs on their own device, but the script pins no key of theirs (log.witness_key_sha256)".to_string(),
                ));
            }
        };
        if outcome == SealOutcome::Completed {
            let certificates: Vec<(String, String)> = self
                .certificates
                .iter()
                .map(|(label, c)| (label.clone(), hex_upper(&c.summary().sha256)))
                .collect();
            self.tool_record(
                Some(&step.id),
                EventKind::CeremonyEnd,
                format!(
                    "ceremony '{}' completed; the log is sealed next",
                    self.script.script.ceremony.name
                ),
                json!({ "certificates": certificates, "exceptions": self.exceptions }),
            )?;
        }

        // The last entry the seal covers is written: from here on nothing
        // is recorded but the seal itself.
        let entries = self.log.len();
        let head = self.log.head();
        let media = self.copy_to_media()?;
        let statement = SealStatement {
            ceremony_id: self.script.script.ceremony.id.clone(),
            outcome,
            entries,
            head,
            time: self.log.seal_time(),
            step: step.id.clone(),
            witness: witness.id.clone(),
            log_signing_key_sha256: Sha256::digest(&ceremony_spki).into(),
            witness_key_sha256,
            witness_signing: settings.witness_signing,
            backup: BackupCopy {
                folder: media.name.clone(),
                sha256: media.sha256,
            },
        };
        statement.check_writable()?;
        let text = statement.text();
        let ceremony_signature = keyceremony_log::der_from_raw(&session.sign_sha384(
            &log_key,
            text.as_bytes(),
            None,
        )?)?;
        let ceremony =
            SealSignature::new(CEREMONY_KEY_SIGNER, &ceremony_spki, &ceremony_signature)?;
        media.write_statement(&text, &ceremony.public_key, &ceremony_signature)?;
        Ok(StatementSigned {
            log_key,
            lab,
            media,
            text,
            ceremony,
            entries,
            head,
            witness_key_sha256,
        })
    }

    /// Destroys the log-signing key once it has signed the statement, and
    /// logs the token out: the key can never seal another log, and the HSM
    /// can go into its bag before the witness signs.
    fn destroy_log_key(
        &mut self,
        operator: &mut dyn Operator,
        session: Session,
        key: &KeyPair,
    ) -> Result<(), EngineError> {
        operator.notify(&Notice::HsmWorking {
            what: format!("destroying the log-signing key '{}'", key.label),
        });
        let started = std::time::Instant::now();
        session.destroy_key_pair(key)?;
        session.logout()?;
        session.close()?;
        operator.notify(&Notice::HsmDone {
            what: format!(
                "log-signing key '{}' destroyed (the token holds nothing with its label or CKA_ID), and the token logged out",
                key.label
            ),
            milliseconds: started.elapsed().as_secs_f64() * 1000.0,
        });
        Ok(())
    }
}
