//! self-sign and export: the root certificate linted, signed by the HSM
//! with one activation, verified in software and recorded in the
//! inventory; then written out with its fingerprints (CPS 6.3.2).

use chrono::{SubsecRound, Utc};
use keyceremony_log::EventKind;
use keyceremony_script::{Secret, Step};
use keyceremony_x509::{self as x509, DistinguishedName, RootCertificateRequest};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};
use crate::{EngineError, files};

impl Runner {
    pub(crate) fn self_sign(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let spec = self
            .script
            .script
            .certificate(label)
            .cloned()
            .ok_or_else(|| {
                EngineError::Refused(format!("certificate '{label}' is not in the script"))
            })?;
        if let Some(taken_up) = self.certificates.get(label) {
            // Signed and verified before an interruption (restore_keys took it
            // up from the log): a root key signs its certificate once.
            let sha256 = x509::fingerprint_hex(&taken_up.summary().sha256);
            return self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "the certificate of '{label}' was signed before the interruption (SHA-256 {sha256}); it is taken up, not signed again"
                ),
                json!({ "key": label, "certificate_sha256": sha256 }),
            );
        }
        let key = self.keys.get(label).ok_or_else(|| EngineError::Step {
            step: step.id.clone(),
            message: format!("key '{label}' was not generated in this ceremony"),
        })?;
        let session = self.logged_in(step)?;
        let serial = session.random(16)?;
        let signing_time = Utc::now().trunc_subsecs(0);
        let request = RootCertificateRequest {
            subject: DistinguishedName {
                country: spec.subject.country.clone(),
                state_or_province: spec.subject.state_or_province.clone(),
                locality: spec.subject.locality.clone(),
                organization: spec.subject.organization.clone(),
                common_name: spec.subject.common_name.clone(),
            },
            serial,
            not_before: signing_time,
            validity_days: spec.validity_days,
            digital_signature: spec.digital_signature,
            subject_public_key_info: key.key.spki_der().to_vec(),
        };
        let checked = key.key.clone();
        let prepared = x509::prepare_root_of(&request, &checked, signing_time)?;
        let findings =
            keyceremony_policy::lint_tbs_of(prepared.tbs_der(), &self.settings.policy, &checked);
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "to-be-signed certificate of '{label}' linted against the BR root profile and policy '{}': {} finding(s)",
                self.settings.policy.name,
                findings.len()
            ),
            json!({ "key": label, "findings": findings.iter().map(|f| f.to_string()).collect::<Vec<_>>() }),
        )?;
        refuse_findings(
            step,
            &findings,
            &format!("the certificate of '{label}' breaks the profile; nothing was signed"),
        )?;
        // The room reads the certificate before the custodians authorise its
        // signature with their shares; its key was checked when it was made.
        let tbs = x509::inspect_tbs_of(prepared.tbs_der(), &checked)?;
        let tbs_sha256 = hex_upper(&Sha256::digest(prepared.tbs_der()));
        let imminent = super::go::certificate_signature(label, &tbs, &findings);
        self.go(
            operator,
            step,
            imminent,
            json!({ "key": label, "tbs_sha256": tbs_sha256 }),
        )?;
        self.tool_record(
            Some(&step.id),
            EventKind::SignatureRequested,
            format!("asking the HSM to sign the root certificate of '{label}'"),
            json!({
                "key": label,
                "tbs_sha256": tbs_sha256,
                "signature_algorithm": prepared.signature_algorithm().to_string(),
                "subject": request.subject.to_string(),
                "validity_days": spec.validity_days,
            }),
        )?;
        operator.notify(&Notice::HsmWorking {
            what: format!("signing the root certificate of '{label}'"),
        });
        let pair = self.keys[label].pair.clone();
        let (raw, hsm_ms) = self.sign_activated(operator, step, &pair, prepared.tbs_der())?;
        operator.notify(&Notice::HsmDone {
            what: format!("root certificate of '{label}' signed"),
            milliseconds: hsm_ms,
        });
        let der = prepared.assemble(&raw)?;
        self.tool_record(
            Some(&step.id),
            EventKind::Signed,
            format!("the HSM signed the root certificate of '{label}'"),
            json!({
                "key": label,
                "certificate_sha256": hex_upper(&Sha256::digest(&der)),
                "certificate_der": hex::encode(&der),
                "hsm_ms": hsm_ms,
            }),
        )?;
        let verified = x509::verified_root_of(&der, &checked)?;
        let summary = verified.summary();
        // The later ceremonies find the token by its serial, and take only
        // shares of this split of its user PIN.
        let token_serial = self
            .module
            .token_by_label(&self.script.script.hsm.token_label)?
            .info()?
            .serial;
        keyceremony_policy::Inventory::record(
            &self.settings.inventory,
            &keyceremony_policy::InventoryEntry::new(
                &self.script.script.ceremony.id,
                label,
                Utc::now(),
                summary,
                checked.spki_der(),
            )
            .on_token(
                token_serial.trim(),
                self.issued.get(&Secret::UserPin).map(String::as_str),
            ),
        )?;
        // verify_root_of made the outer checks of a certificate's lint
        // (canonical DER, signature algorithm, signature) with the token's
        // key: the signed TBS's lint is what is left to run.
        let findings = keyceremony_policy::lint_tbs_of(
            &x509::certificate_tbs(&der)?,
            &self.settings.policy,
            &checked,
        );
        refuse_findings(
            step,
            &findings,
            &format!(
                "the signed certificate of '{label}' breaks the profile and must not leave the room"
            ),
        )?;
        self.tool_record(
            Some(&step.id),
            EventKind::CertificateVerified,
            format!(
                "certificate of '{label}' verified in software: signature, public key equal to the token's, canonical DER"
            ),
            json!({
                "key": label,
                "subject": summary.subject,
                "serial": summary.serial_hex,
                "not_before": summary.not_before.to_rfc3339(),
                "not_after": summary.not_after.to_rfc3339(),
                "validity_days": summary.validity_days,
                "signature_algorithm": summary.signature_algorithm.to_string(),
                "public_key": summary.public_key,
                "sha256": x509::fingerprint_hex(&summary.sha256),
                "sha1": x509::fingerprint_hex(&summary.sha1),
            }),
        )?;
        operator.notify(&Notice::CertificateSigned {
            label: label.to_string(),
            subject: summary.subject.clone(),
            serial: summary.serial_hex.clone(),
            sha256: x509::fingerprint_hex(&summary.sha256),
        });
        self.certificates.insert(label.to_string(), verified);
        Ok(())
    }

    pub(crate) fn export(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        label: &str,
    ) -> Result<(), EngineError> {
        let (cert_der, summary, spki) = match (self.certificates.get(label), self.keys.get(label)) {
            (Some(c), Some(k)) => (
                c.der().to_vec(),
                c.summary().clone(),
                k.key.spki_der().to_vec(),
            ),
            _ => {
                return Err(EngineError::Step {
                    step: step.id.clone(),
                    message: format!(
                        "the certificate of '{label}' was not signed in this ceremony"
                    ),
                });
            }
        };
        let mut written = vec![
            self.out
                .write_new(&files::certificate_der(label), &cert_der)?,
            self.out.write_new(
                &files::certificate_pem(label),
                x509::pem_encode("CERTIFICATE", &cert_der).as_bytes(),
            )?,
            self.out.write_new(
                &files::public_key_pem(label),
                x509::pem_encode("PUBLIC KEY", &spki).as_bytes(),
            )?,
        ];
        let lines = format!(
            "{label} SHA256 {}\n{label} SHA1 {}\n",
            x509::fingerprint_hex(&summary.sha256),
            x509::fingerprint_hex(&summary.sha1)
        );
        written.push(self.out.append(files::FINGERPRINTS, lines.as_bytes())?);
        for file in &written {
            self.record_file(Some(&step.id), file)?;
            operator.notify(&Notice::FileWritten {
                path: file.path.display().to_string(),
                sha256: hex_upper(&file.sha256),
            });
        }
        Ok(())
    }
}

/// Stops the step when a lint found an error (a warning is only recorded).
fn refuse_findings(
    step: &Step,
    findings: &[keyceremony_policy::Finding],
    what: &str,
) -> Result<(), EngineError> {
    if !keyceremony_policy::has_errors(findings) {
        return Ok(());
    }
    let all: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    Err(EngineError::Step {
        step: step.id.clone(),
        message: format!("{what}: {}", all.join("; ")),
    })
}
