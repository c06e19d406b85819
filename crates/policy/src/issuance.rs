//! The policy's rules for what a root signs after its key generation ceremony: subordinate
//! CA certificates, cross-certificates, a delegated OCSP responder's certificate, and its
//! CRL. Each table is optional: a policy without it allows no such ceremony. The format is
//! in docs/policy.md.

use keyceremony_x509::{MAX_CRL_VALIDITY_DAYS, ObjectIdentifier, RESERVED_POLICIES};
use serde::Deserialize;

/// Limits of a subordinate CA certificate (and of a cross-certificate, which certifies a
/// subordinate CA too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubordinateRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Most days of validity, notBefore through notAfter inclusive.
    pub max_validity_days: u32,
}

/// The certificate policy identifiers a subordinate CA or cross-certificate may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePoliciesRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// The CA/Browser Forum reserved identifiers the CA asserts (BR 7.1.6.1).
    pub reserved: Vec<ObjectIdentifier>,
    /// The identifiers the CA's CP or CPS defines (BR 7.1.2.10.5: any other identifier
    /// MUST be defined and documented by the CA).
    pub defined: Vec<ObjectIdentifier>,
}

/// What a cross-certificate may certify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossCertificateRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Refuse a cross-certificate whose subject's organizationName is not the root's, as
    /// boulder does: cross-certifying another organization's CA brings the obligations of
    /// BR 7.1.2.2 (confirming the existing certificate's compliance) to the ceremony.
    pub same_organization: bool,
}

/// Limits of a delegated OCSP responder's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspResponderRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Most days of validity.
    pub max_validity_days: u32,
}

/// Limits of the root's CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Most days from thisUpdate to nextUpdate (at most 365, BR 4.9.7 and 7.2).
    pub max_next_update_days: u32,
}

/// The later ceremonies' rules of a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuanceRules {
    /// `[subordinate]`.
    pub subordinate: Option<SubordinateRule>,
    /// `[certificate_policies]`.
    pub certificate_policies: Option<CertificatePoliciesRule>,
    /// `[cross_certificate]`.
    pub cross_certificate: Option<CrossCertificateRule>,
    /// `[ocsp_responder]`.
    pub ocsp_responder: Option<OcspResponderRule>,
    /// `[crl]`.
    pub crl: Option<CrlRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubordinate {
    section: String,
    max_validity_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCertificatePolicies {
    section: String,
    reserved: Vec<String>,
    defined: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCrossCertificate {
    section: String,
    same_organization: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOcspResponder {
    section: String,
    max_validity_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCrl {
    section: String,
    max_next_update_days: u32,
}

/// The optional tables as the policy file writes them.
pub(crate) struct RawIssuance {
    pub(crate) subordinate: Option<RawSubordinate>,
    pub(crate) certificate_policies: Option<RawCertificatePolicies>,
    pub(crate) cross_certificate: Option<RawCrossCertificate>,
    pub(crate) ocsp_responder: Option<RawOcspResponder>,
    pub(crate) crl: Option<RawCrl>,
}

/// A rule that cannot be enforced as written: the field, and what is wrong.
pub(crate) type Invalid = (String, String);

pub(crate) fn section(field: &str, text: String) -> Result<&'static str, Invalid> {
    if text.trim().is_empty() {
        return Err((
            format!("{field}.section"),
            "every rule cites the section of the CPS it comes from".into(),
        ));
    }
    Ok(crate::policy::leak(text))
}

fn oids(field: &str, texts: &[String]) -> Result<Vec<ObjectIdentifier>, Invalid> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            ObjectIdentifier::new(text).map_err(|e| {
                (
                    format!("{field}[{i}]"),
                    format!("'{text}' is not an OID: {e}"),
                )
            })
        })
        .collect()
}

impl IssuanceRules {
    /// Checks the raw tables and turns them into rules.
    pub(crate) fn from_raw(raw: RawIssuance) -> Result<IssuanceRules, Invalid> {
        let subordinate = raw
            .subordinate
            .map(|r| {
                if r.max_validity_days == 0 {
                    return Err((
                        "subordinate.max_validity_days".to_owned(),
                        "a subordinate CA certificate is valid at least one day".to_owned(),
                    ));
                }
                Ok(SubordinateRule {
                    section: section("subordinate", r.section)?,
                    max_validity_days: r.max_validity_days,
                })
            })
            .transpose()?;
        let certificate_policies = raw
            .certificate_policies
            .map(|r| {
                let reserved = oids("certificate_policies.reserved", &r.reserved)?;
                if reserved.is_empty() {
                    return Err((
                        "certificate_policies.reserved".to_owned(),
                        "name at least one CA/Browser Forum reserved identifier the CA asserts"
                            .to_owned(),
                    ));
                }
                if let Some(oid) = reserved.iter().find(|o| !RESERVED_POLICIES.contains(o)) {
                    return Err((
                        "certificate_policies.reserved".to_owned(),
                        format!("{oid} is not a reserved identifier of BR 7.1.6.1"),
                    ));
                }
                let defined = oids("certificate_policies.defined", &r.defined)?;
                if let Some(oid) = defined.iter().find(|o| RESERVED_POLICIES.contains(o)) {
                    return Err((
                        "certificate_policies.defined".to_owned(),
                        format!(
                            "{oid} is a CA/Browser Forum reserved identifier: list it in reserved"
                        ),
                    ));
                }
                Ok(CertificatePoliciesRule {
                    section: section("certificate_policies", r.section)?,
                    reserved,
                    defined,
                })
            })
            .transpose()?;
        if subordinate.is_some() != certificate_policies.is_some() {
            return Err((
                "certificate_policies".to_owned(),
                "a policy that allows subordinate CA certificates names their certificate \
                 policies, and only such a policy does: give both [subordinate] and \
                 [certificate_policies], or neither"
                    .to_owned(),
            ));
        }
        let cross_certificate = raw
            .cross_certificate
            .map(|r| {
                if subordinate.is_none() {
                    return Err((
                        "cross_certificate".to_owned(),
                        "a cross-certificate is a subordinate CA certificate: [cross_certificate] \
                         needs [subordinate] for its validity limit"
                            .to_owned(),
                    ));
                }
                Ok(CrossCertificateRule {
                    section: section("cross_certificate", r.section)?,
                    same_organization: r.same_organization,
                })
            })
            .transpose()?;
        let ocsp_responder = raw
            .ocsp_responder
            .map(|r| {
                if r.max_validity_days == 0 {
                    return Err((
                        "ocsp_responder.max_validity_days".to_owned(),
                        "an OCSP responder certificate is valid at least one day".to_owned(),
                    ));
                }
                Ok(OcspResponderRule {
                    section: section("ocsp_responder", r.section)?,
                    max_validity_days: r.max_validity_days,
                })
            })
            .transpose()?;
        let crl = raw
            .crl
            .map(|r| {
                if r.max_next_update_days == 0
                    || i64::from(r.max_next_update_days) > MAX_CRL_VALIDITY_DAYS
                {
                    return Err((
                        "crl.max_next_update_days".to_owned(),
                        format!(
                            "{} days: a root CRL's nextUpdate is 1 to {MAX_CRL_VALIDITY_DAYS} \
                             days after its thisUpdate (BR 4.9.7, 7.2: at most 12 months)",
                            r.max_next_update_days
                        ),
                    ));
                }
                Ok(CrlRule {
                    section: section("crl", r.section)?,
                    max_next_update_days: r.max_next_update_days,
                })
            })
            .transpose()?;
        Ok(IssuanceRules {
            subordinate,
            certificate_policies,
            cross_certificate,
            ocsp_responder,
            crl,
        })
    }
}
