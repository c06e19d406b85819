//! seal-log: the log-signing key (made during init-token, under the same
//! dual control as the PINs), the witness's own token (looked for before
//! the ceremony starts), the seal both sign, and the verified copy on
//! backup media (CPS 5.4.1, 5.4.4, 5.4.5, 6.1.1).

use chrono::Utc;
use keyceremony_hsm::{
    HsmError, KeyAlgorithm as HsmAlgorithm, KeyGenSpec, KeyPair, Module, ObjectFilter, Session,
    UserKind,
};
use keyceremony_log::{
    Actor, CEREMONY_KEY_SIGNER, EventKind, Seal, SealOutcome, SealSignature, seal_statement,
};
use keyceremony_script::{Role, Step};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::keys::refuse_existing_label;
use crate::operator::{Notice, Operator};
use crate::outputs::{self, OutDir};
use crate::run::{Runner, hex_upper};
use crate::{EngineError, files};

/// The key that signs the log's seal.
pub(super) struct LogKey {
    pair: KeyPair,
    spki: Vec<u8>,
    uri: String,
}

/// The witness's own token signs the seal at the end (CPS 6.1.1): it must be
/// connected before the ceremony starts, not found missing after the keys
/// exist.
pub(crate) fn check_witness_token(
    module: &Module,
    script: &keyceremony_script::Script,
) -> Result<(), EngineError> {
    let log = &script.log;
    let witness_module = match &log.witness_module {
        Some(path) => Module::load(path)?,
        None => module.clone(),
    };
    match witness_module.token_by_label(&log.witness_token) {
        Ok(token) => {
            // The key's public half (or its certificate) carries its label
            // and is visible without the witness's PIN.
            let session = token.open_session()?;
            let found = session.find_objects(&ObjectFilter::label(log.witness_key.clone()));
            session.close()?;
            if found?.is_empty() {
                return Err(EngineError::Refused(format!(
                    "the witness's token '{}' shows no object labelled '{}', the key the script names to sign the log's seal: check log.witness_key against the token (pkcs11-tool --list-objects)",
                    log.witness_token, log.witness_key
                )));
            }
            Ok(())
        }
        Err(HsmError::TokenNotFound { available, .. }) => Err(EngineError::Refused(format!(
            "the witness's own token '{}' is not connected (present: {}): the Qualified Auditor connects it before the ceremony starts, to sign the log's seal (CPS 6.1.1)",
            log.witness_token,
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        ))),
        Err(e) => Err(e.into()),
    }
}

/// DER Ecdsa-Sig-Value from the raw r || s a PKCS#11 token returns.
pub(super) fn der_signature(raw: &[u8]) -> Result<Vec<u8>, EngineError> {
    let signature = p384::ecdsa::Signature::from_slice(raw).map_err(|_| {
        EngineError::Refused(format!(
            "the token returned a {}-byte ECDSA signature, not a P-384 r || s",
            raw.len()
        ))
    })?;
    Ok(signature.to_der().as_bytes().to_vec())
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
        let pair = session.generate_key_pair(&KeyGenSpec {
            algorithm: HsmAlgorithm::EcP384,
            label: label.clone(),
            id: id.clone(),
            always_authenticate: false,
        })?;
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
                "log-signing key '{}' is on the token; it signs this log's seal",
                key.pair.label
            ),
            data,
        )?;
        self.log_key_recorded = true;
        Ok(())
    }

    /// The log-signing key on a logged-in token, recorded the first time a
    /// ceremony on a token initialised earlier uses it (its attributes
    /// checked as when it was made).
    pub(super) fn record_found_log_key(
        &mut self,
        step: &Step,
        session: &Session,
    ) -> Result<KeyPair, EngineError> {
        let label = self.script.script.log.signing_key.clone();
        let pair = self.find_key(session, &label)?;
        if !self.log_key_recorded {
            let problems = session.private_key_attributes(&pair)?.problems(false);
            if !problems.is_empty() {
                return Err(EngineError::Step {
                    step: step.id.clone(),
                    message: format!(
                        "the log-signing key '{label}' on the token has unsafe attributes: {}",
                        problems.join("; ")
                    ),
                });
            }
            let spki = session.public_key_spki_der(&pair)?;
            let uri = self.key_uri(&label, &pair.id)?;
            self.record_log_key(
                step,
                &LogKey {
                    pair: pair.clone(),
                    spki,
                    uri,
                },
            )?;
        }
        Ok(pair)
    }

    /// Closes the log (CPS 5.4.1, 6.1.1): the custodians activate the token
    /// once more, the log-signing key and the witness's own token sign the
    /// seal statement, and a verified copy goes to the backup media (CPS 5.4.5).
    pub(crate) fn seal(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        outcome: SealOutcome,
    ) -> Result<(), EngineError> {
        let settings = self.script.script.log.clone();
        let witness = self.participant(&settings.witness)?;
        self.login(operator, step)?;
        let session = self.session.take().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "the login to sign the seal did not leave a session".to_string(),
        })?;
        let log_key = self.record_found_log_key(step, &session)?;
        let ceremony_spki = session.public_key_spki_der(&log_key)?;
        let ceremony_uri = self.key_uri(&settings.signing_key, &log_key.id)?;

        let witness_module = match &settings.witness_module {
            Some(path) => Module::load(path)?,
            None => self.module.clone(),
        };
        let witness_token = witness_module.token_by_label(&settings.witness_token)?;
        let witness_session = witness_token.open_session()?;
        let pin = operator.witness_token_pin(&witness, &settings.witness_token)?;
        witness_session.login(UserKind::User, &pin)?;
        let witness_key = self.find_key(&witness_session, &settings.witness_key)?;
        let witness_spki = witness_session.public_key_spki_der(&witness_key)?;
        let mut witness_uri = witness_token.uri()?;
        witness_uri.object = Some(settings.witness_key.clone());
        witness_uri.id = Some(witness_key.id.clone());
        self.person_record(
            &witness,
            Role::QualifiedAuditor,
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "{} opened their own token '{}' to sign the seal",
                witness.name, settings.witness_token
            ),
            json!({
                "witness_key_uri": witness_uri.to_string(),
                "witness_public_key_sha256": hex_upper(&Sha256::digest(&witness_spki)),
            }),
        )?;
        if outcome == SealOutcome::Completed {
            let certificates: Vec<(String, String)> = self
                .certificates
                .iter()
                .map(|(label, c)| (label.clone(), hex_upper(&c.summary.sha256)))
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

        let entries = self.log.len();
        let head = self.log.head();
        let statement = seal_statement(
            &self.script.script.ceremony.id,
            outcome,
            entries,
            &head,
            &witness.id,
            &witness_uri.to_string(),
        );
        let ceremony_signature =
            der_signature(&session.sign_sha384(&log_key, statement.as_bytes(), None)?)?;
        let witness_signature = der_signature(&witness_session.sign_sha384(
            &witness_key,
            statement.as_bytes(),
            Some(&pin),
        )?)?;
        drop(pin);
        let seal = Seal {
            outcome,
            entries,
            head: hex::encode(head),
            statement,
            ceremony_key: SealSignature::new(
                CEREMONY_KEY_SIGNER,
                ceremony_uri,
                &ceremony_spki,
                &ceremony_signature,
            )?,
            witness_key: SealSignature::new(
                witness.id.clone(),
                witness_uri.to_string(),
                &witness_spki,
                &witness_signature,
            )?,
        };
        self.log
            .seal(&Actor::new(&witness.id, keyceremony_log::SEAL_ROLE), &seal)?;
        session.close()?;
        witness_session.close()?;
        self.sealed = Some(head);
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

    /// CPS 5.4.5: a copy of the sealed log on removable media, read back and
    /// verified before the operators put the media away.
    pub(crate) fn backup(&self) -> Result<std::path::PathBuf, EngineError> {
        let root = self
            .settings
            .backup
            .clone()
            .unwrap_or_else(|| self.script.script.log.backup.clone());
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let original = self.out.path(files::LOG);
        let bytes = std::fs::read(&original).map_err(|source| outputs::OutputError::Io {
            path: original.clone(),
            source,
        })?;
        // A folder of its own, never one that exists: two ceremonies sealed
        // in the same second each get theirs.
        let folder = OutDir::new_unique(
            &root,
            &format!("{}-{stamp}", self.script.script.ceremony.id),
        )?;
        let copy = match folder.write_private(files::LOG, &bytes) {
            Ok(copy) => copy,
            Err(error) => {
                // The partial copy is gone (the write removed it); so is the
                // folder made for it, so the media hold no half backup.
                let _ = std::fs::remove_dir(folder.root());
                return Err(EngineError::Refused(format!(
                    "the sealed log could not be copied to the backup media ({error}); nothing is left of the attempt on {}. Free space on the media or use other media, then copy {} there by hand and check the copy with keyceremony verify-log (CPS 5.4.5)",
                    root.display(),
                    original.display()
                )));
            }
        };
        let report = keyceremony_log::verify::verify_path(&copy.path, &Default::default());
        let reread = std::fs::read(&copy.path).map_err(|source| outputs::OutputError::Io {
            path: copy.path.clone(),
            source,
        })?;
        let sealed = matches!(
            report.status,
            keyceremony_log::verify::Status::Sealed | keyceremony_log::verify::Status::Aborted
        );
        if !sealed || reread != bytes {
            return Err(EngineError::Refused(format!(
                "the backup copy {} does not verify ({}); copy {} to new media by hand and check it with keyceremony verify-log",
                copy.path.display(),
                report.status,
                original.display()
            )));
        }
        Ok(copy.path)
    }
}
