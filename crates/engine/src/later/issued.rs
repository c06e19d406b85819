//! A certificate the root signs for another key, as the script asks for it:
//! a subordinate CA certificate (BR 7.1.2.6) or a delegated OCSP responder's
//! (BR 7.1.2.8), whose key comes from a CSR (its self-signature verified as
//! proof of possession, its subject the script's, the extensions it asks
//! for ignored and listed) or from a bare public key file; or a
//! cross-certificate (BR 7.1.2.2) of an existing CA certificate, whose
//! subject, key, subjectKeyIdentifier and pathLenConstraint it keeps. Each
//! built with the script's profile, linted against the policy, verified
//! after signing and recorded beside the inventory.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use keyceremony_policy::{
    CertificateRecord, Finding, Inventory, IssuedProfile, IssuedRecord, IssuedRecords,
    NewCertificate, Policy, lint_issued_certificate, lint_issued_tbs,
};
use keyceremony_script::{CrossSpec, OcspResponderSpec, SubjectName, SubordinateSpec};
use keyceremony_x509::{
    self as x509, CertificationRequest, CrossRequest, DistinguishedName, IssuedSummary, Issuer,
    ObjectIdentifier, OcspResponderRequest, PreparedCertificate, SubordinateRequest,
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

/// What the root certifies, with its table entry.
#[derive(Clone, Copy)]
pub(crate) enum ToIssue<'a> {
    Subordinate(&'a SubordinateSpec),
    Cross(&'a CrossSpec),
    OcspResponder(&'a OcspResponderSpec),
}

/// What was handed over for the certificate, checked.
pub(crate) struct Input {
    /// The input, as the script names it.
    pub(crate) file: PathBuf,
    /// SHA-256 of the file's bytes.
    pub(crate) sha256: [u8; 32],
    /// The CSR, when the input is one.
    pub(crate) csr: Option<CertificationRequest>,
    /// The existing CA certificate of a cross-certificate, DER.
    pub(crate) existing: Option<Vec<u8>>,
    /// The key certified, DER subjectPublicKeyInfo.
    pub(crate) spki: Vec<u8>,
}

fn policies(ids: &[String]) -> Result<Vec<ObjectIdentifier>, String> {
    ids.iter()
        .map(|p| ObjectIdentifier::new(p).map_err(|e| format!("policy '{p}': {e}")))
        .collect()
}

impl<'a> ToIssue<'a> {
    pub(crate) fn id(self) -> &'a str {
        match self {
            Self::Subordinate(s) => &s.id,
            Self::Cross(c) => &c.id,
            Self::OcspResponder(o) => &o.id,
        }
    }

    /// Its name in the log and the report: `subordinate`, `cross`,
    /// `ocsp-responder`.
    pub(crate) fn profile_name(self) -> &'static str {
        match self {
            Self::Subordinate(_) => "subordinate",
            Self::Cross(_) => "cross",
            Self::OcspResponder(_) => "ocsp-responder",
        }
    }

    /// The script action that signs it.
    pub(crate) fn action(self) -> &'static str {
        match self {
            Self::Subordinate(_) => "sign-subordinate",
            Self::Cross(_) => "sign-cross",
            Self::OcspResponder(_) => "sign-ocsp-responder",
        }
    }

    /// "the subordinate CA certificate 'id'", and the others.
    pub(crate) fn what(self) -> String {
        let document = match self {
            Self::Subordinate(_) => "the subordinate CA certificate",
            Self::Cross(_) => "the cross-certificate",
            Self::OcspResponder(_) => "the OCSP responder certificate",
        };
        format!("{document} '{}'", self.id())
    }

    /// The profile's rules, for the section lines of the log.
    pub(crate) fn section(self) -> &'static str {
        match self {
            Self::Subordinate(_) => "BR 7.1.2.6",
            Self::Cross(_) => "BR 7.1.2.2",
            Self::OcspResponder(_) => "BR 7.1.2.8",
        }
    }

    fn refused(self, message: impl std::fmt::Display) -> EngineError {
        EngineError::Refused(format!("{}: {message}", self.what()))
    }

    fn input_sha256(self) -> Option<&'a str> {
        match self {
            Self::Subordinate(s) => s.input_sha256.as_deref(),
            Self::Cross(c) => c.input_sha256.as_deref(),
            Self::OcspResponder(o) => o.input_sha256.as_deref(),
        }
    }

    /// Reads the input: a CSR's self-signature verifies with its key and its
    /// subject is the script's; a public key file is canonical DER; an
    /// existing CA certificate parses. The script's `input_sha256`, when
    /// given, must be the file's.
    pub(crate) fn read(self, inputs: &Inputs) -> Result<Input, EngineError> {
        let (file, kind) = match self {
            Self::Subordinate(s) => (s.input(), Some(&s.subject)),
            Self::OcspResponder(o) => (o.input(), Some(&o.subject)),
            Self::Cross(c) => (Some((&c.existing, false)), None),
        };
        let Some((file, is_csr)) = file else {
            return Err(self.refused("the script names neither a CSR nor a public key"));
        };
        let bytes = inputs.get(file);
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let hex = x509::fingerprint_hex(&sha256);
        if let Some(expected) = self.input_sha256()
            && expected != hex
        {
            return Err(self.refused(format!(
                "{} has SHA-256 {hex}, not the {expected} the script names: it is not the file that was handed over",
                file.display()
            )));
        }
        let mut input = Input {
            file: file.clone(),
            sha256,
            csr: None,
            existing: None,
            spki: Vec::new(),
        };
        match kind {
            None => {
                let der = x509::pem_or_der(bytes, "CERTIFICATE", "the existing CA certificate")?;
                input.spki = x509::read_certificate_facts(&der)
                    .map_err(|e| self.refused(format!("{} is refused: {e}", file.display())))?
                    .spki_der;
                input.existing = Some(der);
            }
            Some(subject) if is_csr => {
                let csr = x509::read_certification_request(bytes).map_err(|e| {
                    self.refused(format!("the CSR {} is refused: {e}", file.display()))
                })?;
                csr.check_subject(&name(subject))
                    .map_err(|e| self.refused(e))?;
                input.spki = csr.subject_public_key_info.clone();
                input.csr = Some(csr);
            }
            Some(_) => {
                input.spki = x509::read_public_key(bytes).map_err(|e| {
                    self.refused(format!("the public key {} is refused: {e}", file.display()))
                })?;
            }
        }
        Ok(input)
    }

    /// Refuses a key certified before (by a root, or in any certificate the
    /// records hold), and a subordinate CA's subject certified before (CPS
    /// 6.3.2). A cross-certificate certifies an existing CA's key again, by
    /// definition.
    pub(crate) fn check_new(
        self,
        input: &Input,
        records: &IssuedRecords,
        inventory: &Inventory,
    ) -> Result<(), EngineError> {
        let (kind, subject) = match self {
            Self::Subordinate(s) => (NewCertificate::Subordinate, name(&s.subject)),
            Self::OcspResponder(o) => (NewCertificate::OcspResponder, name(&o.subject)),
            Self::Cross(_) => return Ok(()),
        };
        records
            .check_new(inventory, kind, &subject.to_string(), &input.spki)
            .map_err(|e| self.refused(e))
    }

    /// The TBS, notBefore at `signing_time`, built and read back against its
    /// profile and the root (its validity within the root's, the key's CPS
    /// 6.1.6 and weak-key checks).
    pub(crate) fn prepare(
        self,
        input: &Input,
        issuer: &Issuer,
        serial: &[u8],
        signing_time: DateTime<Utc>,
    ) -> Result<PreparedCertificate, EngineError> {
        let prepared = match self {
            Self::Subordinate(s) => {
                let request = SubordinateRequest {
                    subject: name(&s.subject),
                    serial: serial.to_vec(),
                    not_before: signing_time,
                    validity_days: s.validity_days,
                    path_len_constraint: s.path_len_constraint,
                    client_auth: s.client_auth,
                    digital_signature: s.digital_signature,
                    policies: policies(&s.policies).map_err(|e| self.refused(e))?,
                    crl_url: s.crl_url.clone(),
                    ocsp_url: s.ocsp_url.clone(),
                    ca_issuers_url: s.ca_issuers_url.clone(),
                    subject_public_key_info: input.spki.clone(),
                };
                x509::prepare_subordinate(&request, issuer, signing_time)
            }
            Self::Cross(c) => {
                let request = CrossRequest {
                    existing_certificate: input.existing.clone().unwrap_or_default(),
                    serial: serial.to_vec(),
                    not_before: signing_time,
                    validity_days: c.validity_days,
                    client_auth: c.client_auth,
                    policies: policies(&c.policies).map_err(|e| self.refused(e))?,
                    crl_url: c.crl_url.clone(),
                    ocsp_url: c.ocsp_url.clone(),
                    ca_issuers_url: c.ca_issuers_url.clone(),
                };
                x509::prepare_cross_certificate(&request, issuer, signing_time)
            }
            Self::OcspResponder(o) => {
                let request = OcspResponderRequest {
                    subject: name(&o.subject),
                    serial: serial.to_vec(),
                    not_before: signing_time,
                    validity_days: o.validity_days,
                    subject_public_key_info: input.spki.clone(),
                };
                x509::prepare_ocsp_responder(&request, issuer, signing_time)
            }
        };
        prepared.map_err(|e| self.refused(e))
    }

    fn profile(self, input: &'a Input) -> IssuedProfile<'a> {
        match self {
            Self::Subordinate(_) => IssuedProfile::Subordinate,
            Self::Cross(_) => IssuedProfile::Cross {
                existing_certificate: input.existing.as_deref().unwrap_or_default(),
            },
            Self::OcspResponder(_) => IssuedProfile::OcspResponder,
        }
    }

    /// The lint of the TBS against the profile and the policy.
    pub(crate) fn lint(
        self,
        input: &Input,
        prepared: &PreparedCertificate,
        issuer: &Issuer,
        policy: &Policy,
    ) -> Vec<Finding> {
        lint_issued_tbs(self.profile(input), prepared.tbs_der(), issuer, policy)
    }

    /// The lint of the signed certificate.
    pub(crate) fn lint_signed(
        self,
        input: &Input,
        der: &[u8],
        issuer: &Issuer,
        policy: &Policy,
    ) -> Vec<Finding> {
        lint_issued_certificate(self.profile(input), der, issuer, policy)
    }

    /// Refuses the certificate when the lint found an error.
    pub(crate) fn refuse_lint(self, findings: &[Finding]) -> Result<(), EngineError> {
        if !keyceremony_policy::has_errors(findings) {
            return Ok(());
        }
        let all: Vec<String> = findings.iter().map(ToString::to_string).collect();
        Err(self.refused(format!(
            "it breaks the profile or the policy: {}",
            all.join("; ")
        )))
    }

    /// The check after signing, in software: the root's signature, the
    /// profile, the key certified.
    pub(crate) fn verify(
        self,
        der: &[u8],
        issuer: &Issuer,
        input: &Input,
    ) -> Result<IssuedSummary, EngineError> {
        Ok(match self {
            Self::Subordinate(_) => x509::verify_subordinate(der, issuer, &input.spki)?,
            Self::Cross(_) => {
                let existing = input.existing.as_deref().unwrap_or_default();
                x509::verify_cross_certificate(der, issuer, existing)?
            }
            Self::OcspResponder(_) => x509::verify_ocsp_responder(der, issuer, &input.spki)?,
        })
    }

    /// Its line in the records beside the inventory.
    pub(crate) fn record(self, record: CertificateRecord) -> IssuedRecord {
        match self {
            Self::Subordinate(_) => IssuedRecord::SubordinateCa(record),
            Self::Cross(_) => IssuedRecord::CrossCertificate(record),
            Self::OcspResponder(_) => IssuedRecord::OcspResponder(record),
        }
    }

    /// Whether the records hold this certificate (by its SHA-256, hex).
    pub(crate) fn recorded(self, records: &IssuedRecords, sha256: &str) -> bool {
        records.records().iter().any(|r| match (self, r) {
            (Self::Subordinate(_), IssuedRecord::SubordinateCa(c))
            | (Self::Cross(_), IssuedRecord::CrossCertificate(c))
            | (Self::OcspResponder(_), IssuedRecord::OcspResponder(c)) => {
                c.certificate_sha256 == sha256
            }
            _ => false,
        })
    }
}

impl Input {
    /// What the log records of the input: its hash, and of a CSR its
    /// subject, its signature's algorithm and what it asked for that the
    /// certificate ignores.
    pub(crate) fn log_data(&self, to_issue: ToIssue<'_>) -> Value {
        let mut data = json!({
            "certificate": to_issue.id(),
            "profile": to_issue.profile_name(),
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

    /// How the log describes the input once read.
    pub(crate) fn described(&self) -> String {
        let read = match (&self.csr, &self.existing) {
            (Some(_), _) => {
                "its self-signature verifies with its key (proof of possession) and its subject is the script's; only its public key is taken"
            }
            (None, Some(_)) => {
                "the existing CA certificate, whose subject, key, subjectKeyIdentifier and pathLenConstraint are kept"
            }
            (None, None) => "a bare public key, without proof of possession",
        };
        match self.ignored_extensions() {
            ignored if ignored.is_empty() => read.to_string(),
            ignored => format!(
                "{read}; the extensions it asks for are ignored: {}",
                ignored.join(", ")
            ),
        }
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
