//! sign-subordinate: the root certifies a subordinate CA's key (BR 7.1.2.6,
//! CPS 6.3.2). The CSR (or public key file) checked and what it asked for
//! recorded; the key and subject never certified before; the TBS built with
//! a serial from the HSM's generator and linted; the room shown it before
//! the go; the root key activated by k custodians for the one signature;
//! the certificate verified in software against the root and linted again,
//! recorded in the records beside the inventory, and written out.

use chrono::{SubsecRound, Utc};
use keyceremony_log::EventKind;
use keyceremony_policy::{
    CertificateRecord, Finding, Inventory, IssuedProfile, IssuedRecord, IssuedRecords,
    lint_issued_certificate,
};
use keyceremony_script::{Step, SubordinateSpec};
use keyceremony_x509::{self as x509, CertificateFacts, IssuedSummary, Issuer};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::{fact, stamp};
use super::root::ToSign;
use crate::imminent::Imminent;
use crate::later::subordinate::{self, Requested};
use crate::operator::{Notice, Operator};
use crate::run::{Runner, hex_upper};
use crate::{EngineError, files};

impl Runner {
    pub(crate) fn sign_subordinate(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        id: &str,
    ) -> Result<(), EngineError> {
        let spec = self.script.script.subordinate(id).cloned().ok_or_else(|| {
            EngineError::Refused(format!("subordinate '{id}' is not in the script"))
        })?;
        let (issuer, _) = self.root_in_use(step)?;
        let requested = match &self.later {
            Some(later) => Requested::read(&spec, &later.inputs)?,
            None => return Err(EngineError::Refused("the script names no root".to_string())),
        };
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "{} of subordinate '{id}' read: {}; only its public key is taken{}",
                requested.file.display(),
                if requested.csr.is_some() {
                    "its self-signature verifies with its key (proof of possession) and its subject is the script's"
                } else {
                    "a bare public key, without proof of possession"
                },
                match requested.ignored_extensions() {
                    ignored if ignored.is_empty() => String::new(),
                    ignored => format!("; the extensions it asks for are ignored: {}", ignored.join(", ")),
                }
            ),
            requested.log_data(&spec),
        )?;
        if let Some(der) = self
            .recovery
            .as_ref()
            .and_then(|r| r.issued.get(id))
            .cloned()
        {
            // Signed before an interruption: the root signs it once.
            let summary = x509::verify_subordinate(&der, &issuer, &requested.spki)?;
            self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "the certificate of subordinate '{id}' was signed before the interruption (SHA-256 {}); it is taken up, not signed again",
                    x509::fingerprint_hex(&summary.sha256)
                ),
                json!({ "subordinate": id, "certificate_sha256": x509::fingerprint_hex(&summary.sha256) }),
            )?;
            // The records may not have it yet: the interruption may have come
            // between the signature and the record.
            let records_path = IssuedRecords::path_beside(&self.settings.inventory);
            let recorded = IssuedRecords::load(&records_path)?.records().iter().any(|r| {
                matches!(r, IssuedRecord::SubordinateCa(c) if c.certificate_sha256 == x509::fingerprint_hex(&summary.sha256))
            });
            if !recorded {
                self.record_subordinate(&issuer, &requested, &summary)?;
            }
            return self.finish_subordinate(
                operator,
                step,
                &spec,
                &issuer,
                &requested,
                (der, summary),
            );
        }
        let records_path = IssuedRecords::path_beside(&self.settings.inventory);
        let records = IssuedRecords::load(&records_path)?;
        let inventory = Inventory::load(&self.settings.inventory)?;
        subordinate::check_new(&spec, &requested, &records, &inventory)?;
        let serial = self.logged_in(step)?.random(16)?;
        let signing_time = Utc::now().trunc_subsecs(0);
        let prepared = subordinate::prepare(&spec, &requested, &issuer, &serial, signing_time)?;
        let findings = subordinate::lint(&prepared, &issuer, &self.settings.policy);
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "to-be-signed certificate of subordinate '{id}' linted against BR 7.1.2.6 and policy '{}': {} finding(s)",
                self.settings.policy.name,
                findings.len()
            ),
            json!({ "subordinate": id, "findings": findings.iter().map(ToString::to_string).collect::<Vec<_>>() }),
        )?;
        subordinate::refuse_lint(&spec, &findings)?;
        let facts = x509::read_tbs(prepared.tbs_der())?;
        let tbs_sha256 = hex_upper(&Sha256::digest(prepared.tbs_der()));
        let root_sha256 = self.root_certificate_sha256();
        let imminent = signature(
            &spec,
            &facts,
            (&issuer, &root_sha256),
            &requested,
            &findings,
        );
        self.go(
            operator,
            step,
            imminent,
            json!({ "subordinate": id, "tbs_sha256": tbs_sha256 }),
        )?;
        let to_sign = ToSign {
            id,
            profile: "subordinate",
            what: format!("the certificate of subordinate '{id}'"),
            tbs: prepared.tbs_der().to_vec(),
            request: json!({ "subject": facts.subject, "validity_days": spec.validity_days }),
        };
        let der = self.sign_with_root(operator, step, to_sign, |raw| prepared.assemble(raw))?;
        let summary = x509::verify_subordinate(&der, &issuer, &requested.spki)?;
        self.record_subordinate(&issuer, &requested, &summary)?;
        self.finish_subordinate(operator, step, &spec, &issuer, &requested, (der, summary))
    }

    /// The certificate in the records beside the inventory, with its CSR's
    /// SHA-256: no later ceremony certifies its key or subject again.
    fn record_subordinate(
        &self,
        issuer: &Issuer,
        requested: &Requested,
        summary: &IssuedSummary,
    ) -> Result<(), EngineError> {
        let record = CertificateRecord::new(
            &self.script.script.ceremony.id,
            Utc::now(),
            issuer,
            summary,
            requested.csr.as_ref().map(|c| &c.sha256),
        );
        let path = IssuedRecords::path_beside(&self.settings.inventory);
        Ok(IssuedRecords::record(
            &path,
            &IssuedRecord::SubordinateCa(record),
        )?)
    }

    /// The SHA-256 of the root certificate the ceremony signs under.
    pub(super) fn root_certificate_sha256(&self) -> String {
        self.later
            .as_ref()
            .map(|l| l.root.certificate_sha256.clone())
            .unwrap_or_default()
    }

    /// A signed certificate, verified: linted again, recorded, written out.
    fn finish_subordinate(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        spec: &SubordinateSpec,
        issuer: &Issuer,
        requested: &Requested,
        (der, summary): (Vec<u8>, IssuedSummary),
    ) -> Result<(), EngineError> {
        let id = &spec.id;
        let findings = lint_issued_certificate(
            IssuedProfile::Subordinate,
            &der,
            issuer,
            &self.settings.policy,
        );
        subordinate::refuse_lint(spec, &findings)?;
        let sha256 = x509::fingerprint_hex(&summary.sha256);
        let root_copy = self.root_copy();
        self.tool_record(
            Some(&step.id),
            EventKind::CertificateVerified,
            format!(
                "certificate of subordinate '{id}' verified in software: the root's signature, BR 7.1.2.6, the key of {}, canonical DER",
                requested.file.display()
            ),
            json!({
                "key": id,
                "profile": "subordinate",
                "issuer_certificate": root_copy,
                "subject": summary.subject,
                "issuer": summary.issuer,
                "serial": summary.serial_hex,
                "not_before": summary.not_before.to_rfc3339(),
                "not_after": summary.not_after.to_rfc3339(),
                "validity_days": summary.validity_days,
                "signature_algorithm": summary.signature_algorithm.to_string(),
                "public_key_sha256": summary.public_key_sha256,
                "key_checks": summary.key_quality.checks.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "csr_sha256": requested.csr.as_ref().map(|c| x509::fingerprint_hex(&c.sha256)),
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
            self.out.write_new(&files::certificate_der(id), &der)?,
            self.out.write_new(
                &files::certificate_pem(id),
                x509::pem_encode("CERTIFICATE", &der).as_bytes(),
            )?,
            self.out.write_new(
                &files::public_key_pem(id),
                x509::pem_encode("PUBLIC KEY", &requested.spki).as_bytes(),
            )?,
            self.out.append(files::FINGERPRINTS, lines.as_bytes())?,
        ];
        self.record_outputs(operator, step, &written)?;
        self.issued_outputs.push((id.clone(), sha256));
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

/// Before the signature: the certificate exactly as the TBS says, what the
/// CSR asked for that it ignores, and the lint's findings.
fn signature(
    spec: &SubordinateSpec,
    tbs: &CertificateFacts,
    (issuer, root_sha256): (&Issuer, &str),
    requested: &Requested,
    findings: &[Finding],
) -> Imminent {
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
        fact("Signature", issuer.signature_algorithm().to_string()),
        fact(
            "Root certificate SHA-256",
            x509::grouped_hex(&hex::decode(root_sha256).unwrap_or_default()),
        ),
        fact(
            "Key SHA-256",
            x509::grouped_hex(&Sha256::digest(&tbs.spki_der)),
        ),
    ];
    match &requested.csr {
        Some(csr) => {
            facts.push(fact("CSR SHA-256", x509::grouped_hex(&csr.sha256)));
            let ignored = requested.ignored_extensions();
            facts.push(fact(
                "Ignored from the CSR",
                if ignored.is_empty() {
                    "nothing: it asks for no extension".to_string()
                } else {
                    ignored.join(", ")
                },
            ));
        }
        None => facts.push(fact(
            "Public key file SHA-256",
            x509::grouped_hex(&requested.sha256),
        )),
    }
    Imminent {
        action: "sign-subordinate",
        what: format!(
            "sign the subordinate CA certificate '{}' with the root key of {}",
            spec.id,
            issuer.subject()
        ),
        facts,
        lint: Some(findings.iter().map(ToString::to_string).collect()),
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
        let mut bits = Vec::new();
        if usage.has(x509::KeyUsageBits::DIGITAL_SIGNATURE) {
            bits.push("digitalSignature");
        }
        if usage.has(x509::KeyUsageBits::KEY_CERT_SIGN) {
            bits.push("keyCertSign");
        }
        if usage.has(x509::KeyUsageBits::CRL_SIGN) {
            bits.push("cRLSign");
        }
        lines.push(format!("keyUsage, critical: {}", bits.join(", ")));
    }
    if let Some(eku) = &tbs.extended_key_usage {
        let names: Vec<String> = eku
            .iter()
            .map(|oid| match oid.to_string().as_str() {
                "1.3.6.1.5.5.7.3.1" => "serverAuth".to_string(),
                "1.3.6.1.5.5.7.3.2" => "clientAuth".to_string(),
                other => other.to_string(),
            })
            .collect();
        lines.push(format!("extKeyUsage: {}", names.join(", ")));
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
