//! A subordinate CA certificate as the script asks for it: the subordinate's
//! key from its CSR (whose self-signature is verified as proof of
//! possession, and whose subject must be the script's; the extensions it
//! asks for are ignored and listed) or from a bare public key file; never
//! a key or subject certified before; the TBS built with the script's
//! profile (BR 7.1.2.6) and linted against the policy.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use keyceremony_policy::{
    Finding, Inventory, IssuedProfile, IssuedRecords, NewCertificate, lint_issued_tbs,
};
use keyceremony_script::{SubjectName, SubordinateSpec};
use keyceremony_x509::{
    self as x509, CertificationRequest, DistinguishedName, Issuer, ObjectIdentifier,
    PreparedCertificate, SubordinateRequest,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Inputs;
use crate::EngineError;

/// The script's subject as a distinguished name.
pub(crate) fn name(subject: &SubjectName) -> DistinguishedName {
    DistinguishedName {
        country: subject.country.clone(),
        state_or_province: subject.state_or_province.clone(),
        locality: subject.locality.clone(),
        organization: subject.organization.clone(),
        common_name: subject.common_name.clone(),
    }
}

fn refused(spec: &SubordinateSpec, message: impl std::fmt::Display) -> EngineError {
    EngineError::Refused(format!("subordinate '{}': {message}", spec.id))
}

/// What the subordinate CA handed over, checked.
pub(crate) struct Requested {
    /// The input, as the script names it.
    pub(crate) file: PathBuf,
    /// SHA-256 of the file's bytes.
    pub(crate) sha256: [u8; 32],
    /// The CSR, when the input is one.
    pub(crate) csr: Option<CertificationRequest>,
    /// The key certified, DER subjectPublicKeyInfo.
    pub(crate) spki: Vec<u8>,
}

impl Requested {
    /// Reads the input: a CSR's self-signature verifies with its key and its
    /// subject is the script's; a public key file is canonical DER. The
    /// script's `input_sha256`, when given, must be the file's.
    pub(crate) fn read(spec: &SubordinateSpec, inputs: &Inputs) -> Result<Requested, EngineError> {
        let Some((file, is_csr)) = spec.input() else {
            return Err(refused(
                spec,
                "the script names neither a CSR nor a public key",
            ));
        };
        let bytes = inputs.get(file);
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let hex = x509::fingerprint_hex(&sha256);
        if let Some(expected) = &spec.input_sha256
            && *expected != hex
        {
            return Err(refused(
                spec,
                format!(
                    "{} has SHA-256 {hex}, not the {expected} the script names: it is not the file the subordinate CA handed over",
                    file.display()
                ),
            ));
        }
        let (csr, spki) = if is_csr {
            let csr = x509::read_certification_request(bytes).map_err(|e| {
                refused(spec, format!("the CSR {} is refused: {e}", file.display()))
            })?;
            csr.check_subject(&name(&spec.subject))
                .map_err(|e| refused(spec, e))?;
            let spki = csr.subject_public_key_info.clone();
            (Some(csr), spki)
        } else {
            let spki = x509::read_public_key(bytes).map_err(|e| {
                refused(
                    spec,
                    format!("the public key {} is refused: {e}", file.display()),
                )
            })?;
            (None, spki)
        };
        Ok(Requested {
            file: file.clone(),
            sha256,
            csr,
            spki,
        })
    }

    /// What the log records of the input: its hash, and of a CSR its
    /// subject, its signature's algorithm and what it asked for that the
    /// certificate ignores.
    pub(crate) fn log_data(&self, spec: &SubordinateSpec) -> Value {
        let mut data = json!({
            "subordinate": spec.id,
            "input": self.file.display().to_string(),
            "input_sha256": x509::fingerprint_hex(&self.sha256),
            "public_key_sha256": x509::fingerprint_hex(&Sha256::digest(&self.spki)),
            "proof_of_possession": self.csr.is_some(),
        });
        if let Some(csr) = &self.csr {
            data["csr_sha256"] = json!(x509::fingerprint_hex(&csr.sha256));
            data["csr_subject"] = json!(csr.subject);
            data["csr_signature_algorithm"] = json!(csr.signature_algorithm);
            data["ignored_extensions"] = json!(self.ignored_extensions());
            data["ignored_attributes"] = json!(
                csr.other_attributes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            );
        }
        data
    }

    /// The extensions the CSR asks for, none of which the certificate
    /// copies: each by name (or OID) and criticality.
    pub(crate) fn ignored_extensions(&self) -> Vec<String> {
        let Some(csr) = &self.csr else {
            return Vec::new();
        };
        csr.requested_extensions
            .iter()
            .map(|e| {
                let name = e.name.map_or_else(|| e.oid.to_string(), str::to_string);
                if e.critical {
                    format!("{name} (critical)")
                } else {
                    name
                }
            })
            .collect()
    }
}

/// Refuses a key certified before (by a root, or in any certificate the
/// records hold) and a subject certified before (CPS 6.3.2).
pub(crate) fn check_new(
    spec: &SubordinateSpec,
    requested: &Requested,
    records: &IssuedRecords,
    inventory: &Inventory,
) -> Result<(), EngineError> {
    records
        .check_new(
            inventory,
            NewCertificate::Subordinate,
            &name(&spec.subject).to_string(),
            &requested.spki,
        )
        .map_err(|e| refused(spec, e))
}

/// The request for the builder: the script's profile and the input's key.
fn request(
    spec: &SubordinateSpec,
    requested: &Requested,
    serial: &[u8],
    not_before: DateTime<Utc>,
) -> Result<SubordinateRequest, EngineError> {
    let policies = spec
        .policies
        .iter()
        .map(|p| ObjectIdentifier::new(p).map_err(|e| refused(spec, format!("policy '{p}': {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SubordinateRequest {
        subject: name(&spec.subject),
        serial: serial.to_vec(),
        not_before,
        validity_days: spec.validity_days,
        path_len_constraint: spec.path_len_constraint,
        client_auth: spec.client_auth,
        digital_signature: spec.digital_signature,
        policies,
        crl_url: spec.crl_url.clone(),
        ocsp_url: spec.ocsp_url.clone(),
        ca_issuers_url: spec.ca_issuers_url.clone(),
        subject_public_key_info: requested.spki.clone(),
    })
}

/// The TBS of the subordinate CA certificate, notBefore at `signing_time`,
/// built and read back against BR 7.1.2.6 and the root (its validity within
/// the root's, the key's CPS 6.1.6 and weak-key checks).
pub(crate) fn prepare(
    spec: &SubordinateSpec,
    requested: &Requested,
    issuer: &Issuer,
    serial: &[u8],
    signing_time: DateTime<Utc>,
) -> Result<PreparedCertificate, EngineError> {
    let request = request(spec, requested, serial, signing_time)?;
    x509::prepare_subordinate(&request, issuer, signing_time).map_err(|e| refused(spec, e))
}

/// The lint of the TBS against the profile and the policy.
pub(crate) fn lint(
    prepared: &PreparedCertificate,
    issuer: &Issuer,
    policy: &keyceremony_policy::Policy,
) -> Vec<Finding> {
    lint_issued_tbs(
        IssuedProfile::Subordinate,
        prepared.tbs_der(),
        issuer,
        policy,
    )
}

/// Refuses the certificate when the lint found an error.
pub(crate) fn refuse_lint(spec: &SubordinateSpec, findings: &[Finding]) -> Result<(), EngineError> {
    if !keyceremony_policy::has_errors(findings) {
        return Ok(());
    }
    let all: Vec<String> = findings.iter().map(ToString::to_string).collect();
    Err(refused(
        spec,
        format!(
            "the certificate breaks the profile or the policy: {}",
            all.join("; ")
        ),
    ))
}
