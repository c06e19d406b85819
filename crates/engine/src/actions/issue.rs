//! What sign-subordinate, sign-cross and sign-ocsp-responder share: the root
//! certifies another key (`later::issued::ToIssue`). The input checked and
//! what it asked for recorded; the key never certified before (and a
//! subordinate's subject neither); the TBS built with a serial from the
//! HSM's generator and linted; the room shown it before the go; the root key
//! activated by k custodians for the one signature; the certificate verified
//! in software against the root and linted again, recorded beside the
//! inventory, and written out. A certificate signed before an interruption
//! is taken up from the log, never signed twice.

use chrono::{SubsecRound, Utc};
use keyceremony_log::EventKind;
use keyceremony_policy::{CertificateRecord, Finding, Inventory, IssuedRecords};
use keyceremony_script::{Script, Step};
use keyceremony_x509::{self as x509, CertificateFacts, IssuedSummary, Issuer, ObjectIdentifier};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::{fact, stamp};
use super::root::ToSign;
use crate::imminent::Imminent;
use crate::later::issued::{Input, ToIssue};
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};
use crate::{EngineError, files};

/// id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1).
const OCSP_NO_CHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

impl Runner {
    /// Signs the certificate `id` of the script's table `find` looks in.
    pub(super) fn sign_named(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        id: &str,
        find: impl for<'s> Fn(&'s Script, &str) -> Option<ToIssue<'s>>,
    ) -> Result<(), EngineError> {
        let script = self.script.script.clone();
        let to_issue = find(&script, id)
            .ok_or_else(|| EngineError::Refused(format!("'{id}' is not in the script")))?;
        self.sign_certificate(operator, step, to_issue)
    }

    fn sign_certificate(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        to_issue: ToIssue<'_>,
    ) -> Result<(), EngineError> {
        let id = to_issue.id();
        let (issuer, _) = self.root_in_use(step)?;
        let input = match &self.later {
            Some(later) => to_issue.read(&later.inputs)?,
            None => return Err(EngineError::Refused("the script names no root".to_string())),
        };
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "{} for {} read: {}",
                input.file.display(),
                to_issue.what(),
                input.described()
            ),
            input.log_data(to_issue),
        )?;
        let records_path = IssuedRecords::path_beside(&self.settings.inventory);
        if let Some(der) = self.signed_before(id) {
            // Signed before an interruption: the root signs it once.
            let summary = to_issue.verify(&der, &issuer, &input)?;
            let sha256 = x509::fingerprint_hex(&summary.sha256);
            self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "{} was signed before the interruption (SHA-256 {sha256}); it is taken up, not signed again",
                    to_issue.what()
                ),
                json!({ "certificate": id, "certificate_sha256": sha256 }),
            )?;
            // The interruption may have come between the signature and the
            // record.
            if !to_issue.recorded(&IssuedRecords::load(&records_path)?, &sha256) {
                self.record_certificate(to_issue, &issuer, &input, &summary)?;
            }
            return self.finish_certificate(operator, step, to_issue, &input, (der, summary));
        }
        let records = IssuedRecords::load(&records_path)?;
        let inventory = Inventory::load(&self.settings.inventory)?;
        to_issue.check_new(&input, &records, &inventory)?;
        let serial = self.logged_in(step)?.random(16)?;
        let signing_time = Utc::now().trunc_subsecs(0);
        let prepared = to_issue.prepare(&input, &issuer, &serial, signing_time)?;
        let findings = to_issue.lint(&input, &prepared, &issuer, &self.settings.policy);
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "to-be-signed {} linted against {} and policy '{}': {} finding(s)",
                to_issue.what().trim_start_matches("the "),
                to_issue.section(),
                self.settings.policy.name,
                findings.len()
            ),
            json!({ "certificate": id, "findings": findings.iter().map(ToString::to_string).collect::<Vec<_>>() }),
        )?;
        to_issue.refuse_lint(&findings)?;
        let facts = x509::read_tbs(prepared.tbs_der())?;
        let tbs_sha256 = hex_upper(&Sha256::digest(prepared.tbs_der()));
        let root_sha256 = self.root_certificate_sha256();
        let shown = Shown {
            to_issue,
            tbs: &facts,
            issuer: &issuer,
            root_sha256: &root_sha256,
            input: &input,
            findings: &findings,
        };
        self.go(
            operator,
            step,
            shown.imminent(),
            json!({ "certificate": id, "tbs_sha256": tbs_sha256 }),
        )?;
        let to_sign = ToSign {
            id,
            profile: to_issue.profile_name(),
            what: to_issue.what(),
            tbs: prepared.tbs_der().to_vec(),
            request: json!({ "subject": facts.subject, "validity_days": facts.validity_days }),
        };
        let der = self.sign_with_root(operator, step, to_sign, |raw| prepared.assemble(raw))?;
        let summary = to_issue.verify(&der, &issuer, &input)?;
        self.record_certificate(to_issue, &issuer, &input, &summary)?;
        self.finish_certificate(operator, step, to_issue, &input, (der, summary))
    }

    /// The certificate in the records beside the inventory, with its CSR's
    /// SHA-256: no later ceremony certifies its key (or a subordinate's
    /// subject) again.
    fn record_certificate(
        &self,
        to_issue: ToIssue<'_>,
        issuer: &Issuer,
        input: &Input,
        summary: &IssuedSummary,
    ) -> Result<(), EngineError> {
        let record = CertificateRecord::new(
            &self.script.script.ceremony.id,
            Utc::now(),
            issuer,
            summary,
            input.csr.as_ref().map(|c| &c.sha256),
        );
        let path = IssuedRecords::path_beside(&self.settings.inventory);
        Ok(IssuedRecords::record(&path, &to_issue.record(record))?)
    }

    /// The SHA-256 of the root certificate the ceremony signs under.
    pub(super) fn root_certificate_sha256(&self) -> String {
        self.later
            .as_ref()
            .map(|l| l.root.certificate_sha256.clone())
            .unwrap_or_default()
    }

    /// A signed certificate, verified: linted again, recorded, written out.
    fn finish_certificate(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        to_issue: ToIssue<'_>,
        input: &Input,
        (der, summary): (Vec<u8>, IssuedSummary),
    ) -> Result<(), EngineError> {
        let id = to_issue.id().to_string();
        let (issuer, _) = self.root_in_use(step)?;
        let findings = to_issue.lint_signed(input, &der, &issuer, &self.settings.policy);
        to_issue.refuse_lint(&findings)?;
        let sha256 = x509::fingerprint_hex(&summary.sha256);
        let existing = input
            .existing
            .as_ref()
            .map(|_| crate::later::copy_name(&input.file));
        self.tool_record(
            Some(&step.id),
            EventKind::CertificateVerified,
            format!(
                "{} verified in software: the root's signature, {}, the key of {}, canonical DER",
                to_issue.what(),
                to_issue.section(),
                input.file.display()
            ),
            json!({
                "key": id,
                "profile": to_issue.profile_name(),
                "issuer_certificate": self.root_copy(),
                "existing_certificate": existing,
                "subject": summary.subject,
                "issuer": summary.issuer,
                "serial": summary.serial_hex,
                "not_before": summary.not_before.to_rfc3339(),
                "not_after": summary.not_after.to_rfc3339(),
                "validity_days": summary.validity_days,
                "signature_algorithm": summary.signature_algorithm.to_string(),
                "public_key_sha256": summary.public_key_sha256,
                "key_checks": summary.key_quality.checks.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "csr_sha256": input.csr.as_ref().map(|c| x509::fingerprint_hex(&c.sha256)),
                "sha256": sha256,
                "sha1": x509::fingerprint_hex(&summary.sha1),
            }),
        )?;
        operator.notify(&Notice::CertificateSigned {
            label: id.clone(),
            subject: summary.subject.clone(),
            serial: summary.serial_hex.clone(),
            sha256: sha256.clone(),
        });
        let lines = format!(
            "{id} SHA256 {sha256}\n{id} SHA1 {}\n",
            x509::fingerprint_hex(&summary.sha1)
        );
        let written = vec![
            self.out.write_new(&files::certificate_der(&id), &der)?,
            self.out.write_new(
                &files::certificate_pem(&id),
                x509::pem_encode("CERTIFICATE", &der).as_bytes(),
            )?,
            self.out.write_new(
                &files::public_key_pem(&id),
                x509::pem_encode("PUBLIC KEY", &input.spki).as_bytes(),
            )?,
            self.out.append(files::FINGERPRINTS, lines.as_bytes())?,
        ];
        self.record_outputs(operator, step, &written)?;
        self.issued_outputs.push((id, sha256));
        Ok(())
    }

    /// Records each file written and shows it to the room.
    pub(super) fn record_outputs(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        written: &[crate::outputs::Written],
    ) -> Result<(), EngineError> {
        for file in written {
            self.record_file(Some(&step.id), file)?;
            operator.notify(&Notice::FileWritten {
                path: file.path.display().to_string(),
                sha256: hex_upper(&file.sha256),
            });
        }
        Ok(())
    }
}

/// What the room reads before the go.
struct Shown<'s> {
    to_issue: ToIssue<'s>,
    tbs: &'s CertificateFacts,
    issuer: &'s Issuer,
    /// The root certificate's SHA-256, hex.
    root_sha256: &'s str,
    input: &'s Input,
    findings: &'s [Finding],
}

impl Shown<'_> {
    /// The certificate exactly as the TBS says, what it was made from (the
    /// CSR, and what it asked for that is ignored; the existing CA
    /// certificate), and the lint's findings.
    fn imminent(&self) -> Imminent {
        let tbs = self.tbs;
        let mut facts = vec![
            fact("Subject", tbs.subject.as_str()),
            fact("Issuer", tbs.issuer.as_str()),
            fact("Serial", x509::grouped_hex(&tbs.serial)),
            fact("Not before", stamp(tbs.not_before)),
            fact(
                "Not after",
                format!("{} ({} days)", stamp(tbs.not_after), tbs.validity_days),
            ),
            fact("Extensions", extensions(tbs).join("\n")),
            fact("Signature", self.issuer.signature_algorithm().to_string()),
            fact(
                "Root certificate SHA-256",
                x509::grouped_hex(&hex::decode(self.root_sha256).unwrap_or_default()),
            ),
            fact(
                "Key SHA-256",
                x509::grouped_hex(&Sha256::digest(&tbs.spki_der)),
            ),
        ];
        let input = self.input;
        match (&input.csr, &input.existing) {
            (Some(csr), _) => {
                facts.push(fact("CSR SHA-256", x509::grouped_hex(&csr.sha256)));
                let ignored = input.ignored_extensions();
                facts.push(fact(
                    "Ignored from the CSR",
                    if ignored.is_empty() {
                        "nothing: it asks for no extension".to_string()
                    } else {
                        ignored.join(", ")
                    },
                ));
            }
            (None, Some(_)) => facts.push(fact(
                "Existing certificate SHA-256",
                x509::grouped_hex(&input.sha256),
            )),
            (None, None) => facts.push(fact(
                "Public key file SHA-256",
                x509::grouped_hex(&input.sha256),
            )),
        }
        Imminent {
            action: self.to_issue.action(),
            what: format!(
                "sign {} with the root key of {}",
                self.to_issue.what(),
                self.issuer.subject()
            ),
            facts,
            lint: Some(self.findings.iter().map(ToString::to_string).collect()),
        }
    }
}

/// The extensions of the TBS, one line each.
fn extensions(tbs: &CertificateFacts) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((ca, path_len)) = tbs.basic_constraints {
        lines.push(format!(
            "basicConstraints, critical: CA:{}, {}",
            if ca { "TRUE" } else { "FALSE" },
            path_len.map_or("no path length".to_string(), |n| format!(
                "pathLenConstraint {n}"
            ))
        ));
    }
    if let Some(usage) = tbs.key_usage {
        let bits = [
            (x509::KeyUsageBits::DIGITAL_SIGNATURE, "digitalSignature"),
            (x509::KeyUsageBits::KEY_CERT_SIGN, "keyCertSign"),
            (x509::KeyUsageBits::CRL_SIGN, "cRLSign"),
        ];
        let names: Vec<&str> = bits
            .iter()
            .filter(|(bit, _)| usage.has(*bit))
            .map(|(_, name)| *name)
            .collect();
        lines.push(format!("keyUsage, critical: {}", names.join(", ")));
    }
    if let Some(eku) = &tbs.extended_key_usage {
        let names: Vec<String> = eku
            .iter()
            .map(|oid| match oid.to_string().as_str() {
                "1.3.6.1.5.5.7.3.1" => "serverAuth".to_string(),
                "1.3.6.1.5.5.7.3.2" => "clientAuth".to_string(),
                "1.3.6.1.5.5.7.3.9" => "OCSPSigning".to_string(),
                other => other.to_string(),
            })
            .collect();
        lines.push(format!("extKeyUsage: {}", names.join(", ")));
    }
    if tbs.extension(OCSP_NO_CHECK).is_some() {
        lines.push("id-pkix-ocsp-nocheck".to_string());
    }
    if let Some(policies) = &tbs.certificate_policies {
        let oids: Vec<String> = policies.iter().map(|(oid, _)| oid.to_string()).collect();
        lines.push(format!("certificatePolicies: {}", oids.join(", ")));
    }
    for point in tbs.crl_distribution_points.iter().flatten() {
        lines.push(format!("cRLDistributionPoints: {}", point.uris.join(", ")));
    }
    for (method, uri) in tbs.authority_info_access.iter().flatten() {
        let method = match method.to_string().as_str() {
            "1.3.6.1.5.5.7.48.1" => "OCSP".to_string(),
            "1.3.6.1.5.5.7.48.2" => "caIssuers".to_string(),
            other => other.to_string(),
        };
        lines.push(format!(
            "authorityInfoAccess: {method} {}",
            uri.as_deref().unwrap_or("")
        ));
    }
    if let Some(ski) = &tbs.subject_key_identifier {
        lines.push(format!("subjectKeyIdentifier: {}", hex::encode_upper(ski)));
    }
    if let Some((Some(aki), _)) = &tbs.authority_key_identifier {
        lines.push(format!(
            "authorityKeyIdentifier: {} (the root's subjectKeyIdentifier)",
            hex::encode_upper(aki)
        ));
    }
    lines
}
