//! sign-crl: the root signs its CRL (BR 4.9.7, 7.2). The previous CRL
//! verified against the root, the number and the revoked certificates
//! checked against the records; the TBSCertList built with thisUpdate at
//! the signing time and linted; the room shown it before the go; the root
//! key activated for the one signature; the CRL verified in software,
//! linted again, recorded beside the inventory, and written out as DER
//! and PEM.

use chrono::Utc;
use keyceremony_log::EventKind;
use keyceremony_policy::{CrlRecord, Finding, IssuedRecord, IssuedRecords, lint_crl};
use keyceremony_script::{CrlSpec, Step};
use keyceremony_x509::{self as x509, CrlFacts, Issuer};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::go::{fact, stamp};
use super::root::ToSign;
use crate::imminent::Imminent;
use crate::later::crl::Planned;
use crate::operator::Operator;
use crate::run::{Runner, hex_upper};
use crate::{EngineError, files};

impl Runner {
    pub(crate) fn sign_crl(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        id: &str,
    ) -> Result<(), EngineError> {
        let spec = self
            .script
            .script
            .crl(id)
            .cloned()
            .ok_or_else(|| EngineError::Refused(format!("CRL '{id}' is not in the script")))?;
        let (issuer, _) = self.root_in_use(step)?;
        let records_path = IssuedRecords::path_beside(&self.settings.inventory);
        if let Some(der) = self.signed_before(id) {
            // Signed before an interruption: taken up, never signed twice.
            let facts = x509::verify_crl(&der, &issuer)?;
            let sha256 = facts.sha256.map(|h| x509::fingerprint_hex(&h));
            self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "CRL '{id}' was signed before the interruption (SHA-256 {}); it is taken up, not signed again",
                    sha256.as_deref().unwrap_or_default()
                ),
                json!({ "crl": id, "sha256": sha256 }),
            )?;
            let recorded = IssuedRecords::load(&records_path)?
                .last_crl(&issuer)
                .is_some_and(|r| Some(&r.crl_sha256) == sha256.as_ref());
            if !recorded {
                self.record_crl(&issuer, &facts)?;
            }
            return self.finish_crl(operator, step, &spec, &issuer, (der, facts));
        }
        let records = IssuedRecords::load(&records_path)?;
        let planned = match &self.later {
            Some(later) => Planned::new(&spec, &later.inputs, &issuer, &records)?,
            None => return Err(EngineError::Refused("the script names no root".to_string())),
        };
        if let (Some(previous), Some(file)) = (&planned.previous, &spec.previous) {
            self.tool_record(
                Some(&step.id),
                EventKind::Recorded,
                format!(
                    "the previous CRL {} verifies against the root: number {}, thisUpdate {}, {} entr{}",
                    file.display(),
                    previous.number,
                    previous.this_update.to_rfc3339(),
                    previous.entries.len(),
                    if previous.entries.len() == 1 { "y" } else { "ies" }
                ),
                json!({
                    "crl": id,
                    "previous": file.display().to_string(),
                    "previous_number": previous.number.to_string(),
                    "previous_sha256": previous.sha256.map(|h| x509::fingerprint_hex(&h)),
                    "previous_revoked": previous.entries.iter().map(|e| hex::encode_upper(&e.serial)).collect::<Vec<_>>(),
                }),
            )?;
        }
        let signing_time = planned.signing_time();
        let (prepared, findings) =
            planned.prepare(&spec, &issuer, &self.settings.policy, signing_time)?;
        self.tool_record(
            Some(&step.id),
            EventKind::Recorded,
            format!(
                "to-be-signed CRL '{id}' linted against BR 7.2 and policy '{}': {} finding(s)",
                self.settings.policy.name,
                findings.len()
            ),
            json!({ "crl": id, "findings": findings.iter().map(ToString::to_string).collect::<Vec<_>>() }),
        )?;
        let tbs_sha256 = hex_upper(&Sha256::digest(prepared.tbs_der()));
        let shown = (
            self.root_certificate_sha256(),
            planned.previous.as_ref().and_then(|p| p.sha256),
        );
        let imminent = signature(&spec, prepared.facts(), &issuer, shown, &findings);
        self.go(
            operator,
            step,
            imminent,
            json!({ "crl": id, "tbs_sha256": tbs_sha256 }),
        )?;
        let to_sign = ToSign {
            id,
            profile: "crl",
            what: format!("CRL '{id}'"),
            tbs: prepared.tbs_der().to_vec(),
            request: json!({ "number": spec.number.to_string() }),
        };
        let der = self.sign_with_root(operator, step, to_sign, |raw| prepared.assemble(raw))?;
        let facts = x509::verify_crl(&der, &issuer)?;
        self.record_crl(&issuer, &facts)?;
        self.finish_crl(operator, step, &spec, &issuer, (der, facts))
    }

    /// The CRL in the records beside the inventory: the next CRL follows it.
    fn record_crl(&self, issuer: &Issuer, facts: &CrlFacts) -> Result<(), EngineError> {
        let record = CrlRecord::new(&self.script.script.ceremony.id, Utc::now(), issuer, facts)?;
        let path = IssuedRecords::path_beside(&self.settings.inventory);
        Ok(IssuedRecords::record(&path, &IssuedRecord::Crl(record))?)
    }

    /// A signed CRL, verified: linted again, recorded, written out.
    fn finish_crl(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        spec: &CrlSpec,
        issuer: &Issuer,
        (der, facts): (Vec<u8>, CrlFacts),
    ) -> Result<(), EngineError> {
        let id = &spec.id;
        let findings = lint_crl(&der, issuer, &self.settings.policy);
        if keyceremony_policy::has_errors(&findings) {
            let all: Vec<String> = findings.iter().map(ToString::to_string).collect();
            return Err(EngineError::Step {
                step: step.id.clone(),
                message: format!(
                    "the signed CRL '{id}' breaks the profile and must not leave the room: {}",
                    all.join("; ")
                ),
            });
        }
        let sha256 = x509::fingerprint_hex(&Sha256::digest(&der));
        let root_copy = self.root_copy();
        self.tool_record(
            Some(&step.id),
            EventKind::CrlVerified,
            format!(
                "CRL '{id}' verified in software: the root's signature, BR 7.2, number {}",
                facts.number
            ),
            json!({
                "crl": id,
                "issuer": facts.issuer,
                "issuer_certificate": root_copy,
                "number": facts.number.to_string(),
                "this_update": facts.this_update.to_rfc3339(),
                "next_update": facts.next_update.to_rfc3339(),
                "revoked": facts.entries.iter().map(|e| json!({
                    "serial": hex::encode_upper(&e.serial),
                    "revocation_date": e.revocation_date.to_rfc3339(),
                    "reason_code": e.reason_code,
                })).collect::<Vec<_>>(),
                "sha256": sha256,
            }),
        )?;
        let lines = format!("{id} SHA256 {sha256}\n");
        let written = vec![
            self.out.write_new(&files::crl_der(id), &der)?,
            self.out.write_new(
                &files::crl_pem(id),
                x509::pem_encode("X509 CRL", &der).as_bytes(),
            )?,
            self.out.append(files::FINGERPRINTS, lines.as_bytes())?,
        ];
        self.record_outputs(operator, step, &written)?;
        self.issued_outputs.push((id.clone(), sha256));
        Ok(())
    }
}

/// Before the signature: the CRL exactly as the TBS says.
/// `shown`: the root certificate's SHA-256 (hex) and the previous CRL's.
fn signature(
    spec: &CrlSpec,
    facts: &CrlFacts,
    issuer: &Issuer,
    (root_sha256, previous): (String, Option<[u8; 32]>),
    findings: &[Finding],
) -> Imminent {
    let revoked = if facts.entries.is_empty() {
        "none".to_string()
    } else {
        facts
            .entries
            .iter()
            .map(|e| {
                format!(
                    "serial {}, revoked {}, reason code {}",
                    x509::grouped_hex(&e.serial),
                    stamp(e.revocation_date),
                    e.reason_code
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let idp = &facts.issuing_distribution_point;
    let point = idp
        .distribution_point
        .as_ref()
        .map_or("no distribution point name".to_string(), |p| {
            p.uris.join(", ")
        });
    Imminent {
        action: "sign-crl",
        what: format!(
            "sign CRL '{}' number {} with the root key of {}",
            spec.id,
            facts.number,
            issuer.subject()
        ),
        facts: vec![
            fact("Issuer", facts.issuer.as_str()),
            fact("CRL number", facts.number.to_string()),
            fact("This update", stamp(facts.this_update)),
            fact(
                "Next update",
                format!(
                    "{} ({} days)",
                    stamp(facts.next_update),
                    spec.next_update_days
                ),
            ),
            fact("Revoked", revoked),
            fact(
                "Extensions",
                [
                    format!(
                        "authorityKeyIdentifier: {} (the root's subjectKeyIdentifier)",
                        hex::encode_upper(&facts.authority_key_identifier)
                    ),
                    format!("cRLNumber: {}", facts.number),
                    format!("issuingDistributionPoint, critical: onlyContainsCACerts, {point}"),
                ]
                .join("\n"),
            ),
            fact("Signature", issuer.signature_algorithm().to_string()),
            fact(
                "Root certificate SHA-256",
                x509::grouped_hex(&hex::decode(&root_sha256).unwrap_or_default()),
            ),
            fact(
                "Previous CRL SHA-256",
                previous.map_or("none: the root's first CRL".to_string(), |h| {
                    x509::grouped_hex(&h)
                }),
            ),
        ],
        lint: Some(findings.iter().map(ToString::to_string).collect()),
    }
}
