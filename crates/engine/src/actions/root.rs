//! A later ceremony's root (`hsm.initialize = false` with `[root]`): its
//! inputs copied into the output folder as the ceremony starts, so that the
//! ceremony, a resumed run and the auditor all read the same bytes; the
//! split of the user PIN its shares must belong to; and, at the first login
//! of every run, its key found on the token and checked against its
//! certificate, and this ceremony's own log-signing key made beside it
//! (the key generation's was destroyed once it sealed that log), which from
//! then on signs the checkpoints.

use keyceremony_hsm::{KeyPair, Session};
use keyceremony_log::EventKind;
use keyceremony_policy::{Inventory, IssuedRecords};
use keyceremony_script::{Action, Secret, Step};
use keyceremony_x509::{Issuer, X509Error};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::EngineError;
use crate::later::{self, Inputs, Later, Root};
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};

/// What the root signs in a later ceremony ([`Runner::sign_with_root`]).
pub(super) struct ToSign<'a> {
    /// The subordinate's or the CRL's id.
    pub(super) id: &'a str,
    /// `subordinate` or `crl`.
    pub(super) profile: &'static str,
    /// "the certificate of subordinate 'x'", "CRL 'x'".
    pub(super) what: String,
    pub(super) tbs: Vec<u8>,
    /// Joins the signature request's entry.
    pub(super) request: Value,
}

impl Runner {
    /// At the start of a fresh ceremony: every input copied to
    /// `inputs/<file name>` and recorded with its SHA-256, then read back
    /// from the copies.
    pub(crate) fn begin_later(&mut self) -> Result<(), EngineError> {
        if self.script.script.inputs().is_empty() {
            return Ok(());
        }
        let inputs = Inputs::read(&self.script.script, &self.settings.inputs)?;
        for (named, bytes) in inputs.iter() {
            let written = self.out.write_new(&later::copy_name(named), bytes)?;
            self.record_file(None, &written)?;
        }
        self.load_later()
    }

    /// The root from the copies of the inputs, and the split its shares
    /// must belong to (a share of another split is refused by name).
    pub(crate) fn load_later(&mut self) -> Result<(), EngineError> {
        let script = self.script.script.clone();
        let Some(spec) = &script.root else {
            return Ok(());
        };
        let inputs = Inputs::read_copies(&script, &self.out)?;
        let inventory = Inventory::load(&self.settings.inventory)?;
        let records = IssuedRecords::load(&IssuedRecords::path_beside(&self.settings.inventory))?;
        let root = Root::read(&script, spec, &inputs, (&inventory, &records))?;
        if let Some(split) = root.user_pin_split(&script)? {
            self.issued.insert(Secret::UserPin, split);
        }
        self.later = Some(Later {
            inputs,
            root,
            key: None,
        });
        Ok(())
    }

    /// After a login: the root key, once per run, and this ceremony's
    /// log-signing key. The seal's login needs only the latter, so an
    /// aborted ceremony's log is sealed whatever the root key, even when it
    /// stopped before its first login.
    pub(super) fn take_up_root(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
    ) -> Result<(), EngineError> {
        let Some(later) = &self.later else {
            return Ok(());
        };
        let root_needed = step.action != Action::SealLog && later.key.is_none();
        if !root_needed && self.log_key_recorded {
            return Ok(());
        }
        let session = self.session.take().ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: "no dual-control login is active".to_string(),
        })?;
        let checked = match root_needed {
            true => self.check_root_key(operator, step, &session).map(Some),
            false => self.later_log_key(operator, step, &session).map(|()| None),
        };
        self.session = Some(session);
        if let (Some(pair), Some(later)) = (checked?, self.later.as_mut()) {
            later.key = Some(pair);
        }
        Ok(())
    }

    /// The private key labelled `root.key`: sensitive, never extractable,
    /// made on the token, one activation per signature (CPS 6.2.7, 6.2.8),
    /// its public key the root certificate's and still passing CPS 6.1.6;
    /// recorded, and refused with every failure.
    fn check_root_key(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        session: &Session,
    ) -> Result<KeyPair, EngineError> {
        let Some(later) = &self.later else {
            return Err(EngineError::Refused("the script names no root".to_string()));
        };
        let label = later.root.entry.key_label.clone();
        let certificate_sha256 = later.root.certificate_sha256.clone();
        let ceremony = later.root.entry.ceremony_id.clone();
        let certificate_key = later.root.issuer.spki_der().to_vec();
        let pair = self.find_key(session, &label)?;
        // A key made for backup is extractable, wrapped by a trusted key
        // only: its attributes are held to that, where the policy allows
        // backups at all (CPS 6.2.4).
        // A restored copy is never local nor never-extractable, and some
        // modules (kryoptic) report neither CKA_ALWAYS_SENSITIVE nor
        // CKA_NEVER_EXTRACTABLE on an unwrapped key: it is read and held to
        // the restore's rules, as a key made for backup.
        let (mut problems, made_for_backup) = match later.root.restored.is_some() {
            true => (session.restored_key_attributes(&pair)?.problems(true), true),
            false => {
                let private = session.private_key_attributes(&pair)?;
                let made_for_backup = private.extractable;
                (
                    super::keys::private_problems(&private, made_for_backup),
                    made_for_backup,
                )
            }
        };
        if made_for_backup && !self.settings.policy.backup.is_some_and(|b| b.allowed) {
            problems.push(format!(
                "it is extractable (made for backup), but policy '{}' allows no backup of a root key",
                self.settings.policy.name
            ));
        }
        let spki = session.public_key_spki_der(&pair)?;
        if spki != certificate_key {
            problems.push(
                "its public key is not the root certificate's: this is not the key the certificate certifies"
                    .to_string(),
            );
        }
        if let Err(e) = self.settings.policy.check_key(&spki) {
            problems.push(e.to_string());
        }
        let uri = self.key_uri(&label, &pair.id)?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "root key '{label}' found on the token{}",
                if problems.is_empty() {
                    ": its attributes are a CA key's and its public key is the root certificate's"
                } else {
                    ", and REFUSED"
                }
            ),
            json!({
                "root_key": label,
                "id": hex::encode(&pair.id),
                "uri": uri,
                "public_key_sha256": hex_upper(&Sha256::digest(&spki)),
                "root_certificate_sha256": certificate_sha256,
                "key_generation_ceremony": ceremony,
                "problems": problems,
            }),
        )?;
        if !problems.is_empty() {
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the root key '{label}' on the token cannot sign: {}",
                    problems.join("; ")
                ),
            });
        }
        self.later_log_key(operator, step, session)?;
        Ok(pair)
    }

    /// The root certificate and the root key the first login took up.
    pub(super) fn root_in_use(&self, step: &Step) -> Result<(Issuer, KeyPair), EngineError> {
        match &self.later {
            Some(later) => match &later.key {
                Some(pair) => Ok((later.root.issuer.clone(), pair.clone())),
                None => Err(EngineError::Step {
                    step: step.id.clone(),
                    message: "the root key has not been found on the token: a login comes first"
                        .to_string(),
                }),
            },
            None => Err(EngineError::Refused("the script names no root".to_string())),
        }
    }

    /// What the root signed as `id` before an interruption, as the log
    /// records it: taken up, never signed twice.
    pub(super) fn signed_before(&self, id: &str) -> Option<Vec<u8>> {
        self.recovery.as_ref()?.issued.get(id).cloned()
    }

    /// The copy of the root certificate in the output folder, which the
    /// verification entries name for the report and the auditor.
    pub(super) fn root_copy(&self) -> Option<String> {
        let root = self.script.script.root.as_ref()?;
        Some(later::copy_name(&root.certificate))
    }

    /// One signature with the root key, once the room gave the go: the
    /// request recorded, k custodians activate the key for it, the result
    /// assembled by `assemble` and recorded with its DER, so that a resumed
    /// run takes it up instead of signing again.
    pub(super) fn sign_with_root(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        to_sign: ToSign<'_>,
        assemble: impl FnOnce(&[u8]) -> Result<Vec<u8>, X509Error>,
    ) -> Result<Vec<u8>, EngineError> {
        let (issuer, pair) = self.root_in_use(step)?;
        let ToSign {
            id,
            profile,
            what,
            tbs,
            mut request,
        } = to_sign;
        request[profile] = json!(id);
        request["tbs_sha256"] = json!(hex_upper(&Sha256::digest(&tbs)));
        request["signature_algorithm"] = json!(issuer.signature_algorithm().to_string());
        self.tool_record(
            Some(&step.id),
            EventKind::SignatureRequested,
            format!("asking the HSM to sign {what} with the root key"),
            request,
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("signing {what}"),
        });
        let (raw, hsm_ms) = self.sign_activated(operator, step, &pair, &tbs)?;
        operator.notify(&Notice::HsmDone {
            what: format!("{what} signed"),
            milliseconds: hsm_ms,
        });
        let der = assemble(&raw)?;
        self.tool_record(
            Some(&step.id),
            EventKind::Signed,
            format!("the HSM signed {what}"),
            json!({
                "issued": id,
                "profile": profile,
                "sha256": hex_upper(&Sha256::digest(&der)),
                "der": hex::encode(&der),
                "hsm_ms": hsm_ms,
            }),
        )?;
        Ok(der)
    }
}
