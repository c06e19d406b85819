//! The witness's signature on the seal (CPS 6.1.1).
//!
//! By default the witness signs on their own device: the statement is on
//! the removable media, they sign it there with stock OpenSSL
//! (docs/auditor.md, "Signing the seal") and bring back the signature and
//! their public key, which must be the key the script pins; their PIN never
//! reaches the CA terminal, so the tool can make no other signature with
//! their key. A lab may instead connect the witness's stand-in token to the
//! terminal and have its PIN typed there (`lab-token-on-terminal`), which the
//! statement says.

use std::io::Read;
use std::path::Path;

use keyceremony_hsm::{HsmError, KeyPair, Module, ObjectFilter, Session, UserKind};
use keyceremony_log::EventKind;
use keyceremony_script::{Participant, Role, Script, WitnessSigning};
use secrecy::SecretString;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::media::{self, Media};
use crate::EngineError;
use crate::operator::{Notice, Operator, SignatureRequest};
use crate::run::{Runner, hex_upper};

/// A signature file is a DER ECDSA P-384 signature (at most 104 bytes) and
/// a public key file one PEM key: anything much longer is not one.
const MAX_SIGNATURE_FILE: u64 = 1024;
const MAX_PUBLIC_KEY_FILE: u64 = 16 * 1024;

/// The witness's token opened on the terminal: a lab's option.
pub(super) struct LabWitness {
    session: Session,
    key: KeyPair,
    pub(super) spki: Vec<u8>,
    pin: SecretString,
}

/// The SHA-256 of the witness's key that the script pins, if it does.
pub(crate) fn pinned_key(script: &Script) -> Result<Option<[u8; 32]>, EngineError> {
    let Some(pin) = &script.log.witness_key_sha256 else {
        return Ok(None);
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(pin, &mut bytes).map_err(|_| {
        EngineError::Refused(format!(
            "log.witness_key_sha256 '{pin}' is not 64 hex digits (keyceremony script check says so too)"
        ))
    })?;
    Ok(Some(bytes))
}

fn lab_names(script: &Script) -> Result<(&str, &str), EngineError> {
    let log = &script.log;
    match (&log.witness_token, &log.witness_key) {
        (Some(token), Some(key)) => Ok((token, key)),
        _ => Err(EngineError::Refused(
            "lab-token-on-terminal signing needs log.witness_token and log.witness_key".to_string(),
        )),
    }
}

/// The witness's module: the script's `witness_module`, unless a
/// rehearsal's lab stands in for it, else the ceremony's.
fn witness_module(
    module: &Module,
    script: &Script,
    rehearsal: Option<&crate::Rehearsal>,
) -> Result<Module, EngineError> {
    Ok(
        match crate::rehearsal::witness_module(&script.log, rehearsal) {
            Some(path) => Module::load(path)?,
            None => module.clone(),
        },
    )
}

/// Before the ceremony starts, a lab's witness token must be connected:
/// not found missing after the keys exist. A witness who signs on their
/// own device needs nothing at the terminal.
pub(crate) fn check_witness_token(
    module: &Module,
    script: &Script,
    rehearsal: Option<&crate::Rehearsal>,
) -> Result<(), EngineError> {
    if script.log.witness_signing == WitnessSigning::Independent {
        return Ok(());
    }
    let (token_label, key_label) = lab_names(script)?;
    match witness_module(module, script, rehearsal)?.token_by_label(token_label) {
        Ok(token) => {
            // The key's public half (or its certificate) carries its label
            // and is visible without the witness's PIN.
            let session = token.open_session()?;
            let found = session.find_objects(&ObjectFilter::label(key_label.to_string()));
            session.close()?;
            if found?.is_empty() {
                return Err(EngineError::Refused(format!(
                    "the witness's token '{token_label}' shows no object labelled '{key_label}', the key the script names to sign the log's seal: check log.witness_key against the token (pkcs11-tool --list-objects)"
                )));
            }
            Ok(())
        }
        Err(HsmError::TokenNotFound { available, .. }) => Err(EngineError::Refused(format!(
            "the witness's lab token '{token_label}' is not connected (present: {}): connect it before the ceremony starts, to sign the log's seal (CPS 6.1.1)",
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        ))),
        Err(e) => Err(e.into()),
    }
}

impl Runner {
    /// A lab's witness token, logged in with the PIN the witness types
    /// here, its key found and checked against the script's pin, and
    /// recorded before the statement that names it is made.
    pub(super) fn open_lab_witness(
        &mut self,
        operator: &mut dyn Operator,
        witness: &Participant,
        step: &str,
    ) -> Result<LabWitness, EngineError> {
        let script = &self.script.script;
        let (token_label, key_label) = lab_names(script)?;
        let (token_label, key_label) = (token_label.to_string(), key_label.to_string());
        let token = witness_module(&self.module, script, self.rehearsal.as_ref())?
            .token_by_label(&token_label)?;
        let session = token.open_session()?;
        let pin = self.witness_login(operator, step, witness, &session, &token_label)?;
        let key = self.find_key(&session, &key_label)?;
        let spki = session.public_key_spki_der(&key)?;
        let sha = hex_upper(&Sha256::digest(&spki));
        if let Some(pin) = pinned_key(&self.script.script)?
            && pin != <[u8; 32]>::from(Sha256::digest(&spki))
        {
            return Err(EngineError::Refused(format!(
                "the key '{key_label}' on the witness's token '{token_label}' has SHA-256 {sha}, but the script pins {}: it is not the witness's key",
                hex_upper(&pin)
            )));
        }
        let mut uri = token.uri()?;
        uri.object = Some(key_label);
        uri.id = Some(key.id.clone());
        self.person_record(
            witness,
            Role::QualifiedAuditor,
            Some(step),
            EventKind::Recorded,
            format!(
                "{} opened their lab token '{token_label}' on the terminal to sign the seal (lab-token-on-terminal: a lab's option, never a production ceremony's)",
                witness.name
            ),
            json!({
                "witness_signing": WitnessSigning::LabTokenOnTerminal.as_str(),
                "witness_key_uri": uri.to_string(),
                "witness_public_key_sha256": sha,
            }),
        )?;
        Ok(LabWitness {
            session,
            key,
            spki,
            pin,
        })
    }

    /// The witness types their lab token's PIN until the token takes it,
    /// each refusal recorded and counted for the ceremony against the
    /// script's limit on failed logins, as the custodians' logins are
    /// (CPS 5.4.1): a witness's token may lock itself too.
    fn witness_login(
        &mut self,
        operator: &mut dyn Operator,
        step: &str,
        witness: &Participant,
        session: &Session,
        label: &str,
    ) -> Result<SecretString, EngineError> {
        let limit = self.script.script.hsm.max_failed_logins;
        loop {
            if let (true, Some(why)) = (
                self.room.witness_logins_exhausted(),
                self.room.limit_reached(),
            ) {
                return Err(EngineError::Step {
                    step: step.to_string(),
                    message: why,
                });
            }
            let pin = operator.witness_token_pin(witness, label)?;
            match session.login(UserKind::User, &pin) {
                Ok(()) => return Ok(pin),
                Err(HsmError::PinIncorrect) => {
                    drop(pin);
                    let attempt = self.room.witness_failed_logins + 1;
                    self.person_record(
                        witness,
                        Role::QualifiedAuditor,
                        Some(step),
                        EventKind::LoginFailed,
                        format!(
                            "the witness's token '{label}' refused the PIN {} typed",
                            witness.name
                        ),
                        json!({ "witness_token": label, "attempt": attempt, "limit": limit }),
                    )?;
                    operator.notify(&Notice::LoginFailed {
                        failures: self.room.witness_failed_logins,
                        limit,
                        reason: format!(
                            "the witness's token '{label}' refused the PIN typed; {} types it again",
                            witness.name
                        ),
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// The witness's signature made on their own device, brought back on
    /// the media: asked for until one verifies with the pinned key over the
    /// statement (or the operators stop). Returns the witness's DER
    /// SubjectPublicKeyInfo and the signature in the log's form (low s).
    pub(super) fn independent_signature(
        &mut self,
        operator: &mut dyn Operator,
        witness: &Participant,
        media: &Media,
        statement: &str,
        pin: [u8; 32],
    ) -> Result<(Vec<u8>, Vec<u8>), EngineError> {
        let sha = Sha256::digest(statement.as_bytes());
        let mut request = SignatureRequest {
            statement: media.path(media::STATEMENT),
            sha256: hex_upper(&sha),
            words: pgp_words::to_words(&sha).join(" "),
            signature: media.path(media::WITNESS_SIGNATURE),
            refused: None,
        };
        loop {
            let path = operator.witness_signature(witness, &request)?;
            match brought_back(&path, pin, statement) {
                Ok(signed) => return Ok(signed),
                Err(reason) => request.refused = Some(reason),
            }
        }
    }
}

impl LabWitness {
    /// The lab token's signature over the statement, in the log's form.
    pub(super) fn sign(self, statement: &str) -> Result<Vec<u8>, EngineError> {
        let raw = self
            .session
            .sign_sha384(&self.key, statement.as_bytes(), Some(&self.pin))?;
        drop(self.pin);
        self.session.close()?;
        Ok(keyceremony_log::der_from_raw(&raw)?)
    }
}

/// Reads at most `limit` bytes of a file the witness brought.
fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{} is longer than a {what} can be", path.display()));
    }
    Ok(bytes)
}

/// The signature at `path` and the public key beside it: the key must be
/// the pinned one and the signature valid over the statement.
fn brought_back(path: &Path, pin: [u8; 32], statement: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let key_path = path.with_file_name(media::WITNESS_PUBLIC_KEY);
    let pem = read_bounded(&key_path, MAX_PUBLIC_KEY_FILE, "witness's public key")?;
    let pem = String::from_utf8(pem)
        .map_err(|_| format!("{} is not a PEM public key", key_path.display()))?;
    let spki = keyceremony_log::public_key_der(&pem)
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    let sha: [u8; 32] = Sha256::digest(&spki).into();
    if sha != pin {
        return Err(format!(
            "the public key beside it, {}, has SHA-256 {}, but the script pins the witness's key as {}: it is not the witness's key",
            media::WITNESS_PUBLIC_KEY,
            hex_upper(&sha),
            hex_upper(&pin)
        ));
    }
    let signature = read_bounded(path, MAX_SIGNATURE_FILE, "witness's signature")?;
    let signature = keyceremony_log::verify_der(&spki, &signature, statement)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((spki, signature))
}
