//! The lint of what a root signs after its key generation ceremony, before the HSM signs and
//! again after: subordinate CA certificates (BR 7.1.2.6), cross-certificates (7.1.2.2), the
//! delegated OCSP responder's certificate (7.1.2.8) and the root's CRL (7.2), each read with
//! keyceremony-x509's own parser and held to its profile and the root, then to the policy
//! (`[subordinate]`, `[certificate_policies]`, `[cross_certificate]`, `[ocsp_responder]`,
//! `[crl]`), serial number entropy and the subject naming rules.

use chrono::TimeDelta;
use keyceremony_x509::{
    CertificateFacts, Issuer, certificate_tbs, inspect_crl_tbs, inspect_cross_tbs,
    inspect_ocsp_responder_tbs, inspect_subordinate_tbs, read_certificate_facts, verify_crl,
    verify_cross_certificate, verify_ocsp_responder, verify_subordinate,
};

use crate::{
    lint::{Finding, serial_number, subject_names},
    policy::Policy,
};

/// The profile of a certificate the root issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuedProfile<'a> {
    /// A TLS subordinate CA certificate (BR 7.1.2.6).
    Subordinate,
    /// A cross-certificate of `existing_certificate` (DER), BR 7.1.2.2.
    Cross {
        /// The CA certificate certified again.
        existing_certificate: &'a [u8],
    },
    /// A delegated OCSP responder's certificate (BR 7.1.2.8).
    OcspResponder,
}

/// Lints a DER TBSCertificate the root is about to sign; any error means do not sign.
pub fn lint_issued_tbs(
    profile: IssuedProfile<'_>,
    tbs_der: &[u8],
    issuer: &Issuer,
    policy: &Policy,
) -> Vec<Finding> {
    let inspected = match profile {
        IssuedProfile::Subordinate => inspect_subordinate_tbs(tbs_der, issuer),
        IssuedProfile::Cross {
            existing_certificate,
        } => inspect_cross_tbs(tbs_der, issuer, existing_certificate),
        IssuedProfile::OcspResponder => inspect_ocsp_responder_tbs(tbs_der, issuer),
    };
    let facts = match inspected {
        Ok((facts, _)) => facts,
        Err(e) => return vec![Finding::from_x509(&e)],
    };
    let mut findings = Vec::new();
    let algorithms = &policy.algorithms;
    if !algorithms.allows_signature(issuer.signature_algorithm()) {
        findings.push(Finding::error(
            algorithms.section,
            format!(
                "the root signs with {}, which policy '{}' does not allow",
                issuer.signature_algorithm(),
                policy.name
            ),
        ));
    }
    match profile {
        IssuedProfile::OcspResponder => ocsp_rules(&facts, policy, &mut findings),
        IssuedProfile::Subordinate => subordinate_rules(&facts, policy, &mut findings),
        IssuedProfile::Cross { .. } => {
            subordinate_rules(&facts, policy, &mut findings);
            cross_rules(&facts, policy, &mut findings);
        }
    }
    serial_number(&facts.serial, &mut findings);
    subject_names(&facts.subject_attributes, &mut findings);
    findings
}

/// Lints a signed certificate the root issued: the signature with the root's key and the
/// profile (keyceremony-x509's verify function), then [`lint_issued_tbs`] on its TBS. That
/// the certificate certifies the key of the CSR is the verify function's check with the
/// CSR's key, which the engine runs as well.
pub fn lint_issued_certificate(
    profile: IssuedProfile<'_>,
    cert_der: &[u8],
    issuer: &Issuer,
    policy: &Policy,
) -> Vec<Finding> {
    let tbs = match certificate_tbs(cert_der) {
        Ok(tbs) => tbs,
        Err(e) => return vec![Finding::from_x509(&e)],
    };
    let mut findings = lint_issued_tbs(profile, &tbs, issuer, policy);
    let verified = read_certificate_facts(cert_der).and_then(|facts| match profile {
        IssuedProfile::Subordinate => verify_subordinate(cert_der, issuer, &facts.spki_der),
        IssuedProfile::Cross {
            existing_certificate,
        } => verify_cross_certificate(cert_der, issuer, existing_certificate),
        IssuedProfile::OcspResponder => verify_ocsp_responder(cert_der, issuer, &facts.spki_der),
    });
    if let Err(e) = verified {
        findings.push(Finding::from_x509(&e));
    }
    findings
}

/// The finding for a policy without the table a certificate needs: CPS 6.1.7 lists what
/// a root key may sign, and the policy says which of them this CA does.
fn no_table(policy: &Policy, table: &str, allows_no: &str) -> Finding {
    Finding::error(
        "CPS 6.1.7",
        format!(
            "policy '{}' has no [{table}] table: it allows no {allows_no}",
            policy.name
        ),
    )
}

/// A validity longer than the policy's limit.
fn longer_than(
    facts: &CertificateFacts,
    section: &'static str,
    max_days: u32,
    policy: &Policy,
    findings: &mut Vec<Finding>,
) {
    if facts.validity_days > u64::from(max_days) {
        findings.push(Finding::error(
            section,
            format!(
                "a validity of {} days is more than the {max_days} days of policy '{}'",
                facts.validity_days, policy.name
            ),
        ));
    }
}

fn subordinate_rules(facts: &CertificateFacts, policy: &Policy, findings: &mut Vec<Finding>) {
    let Some(rule) = &policy.issuance.subordinate else {
        findings.push(no_table(
            policy,
            "subordinate",
            "subordinate CA or cross-certificate",
        ));
        return;
    };
    longer_than(
        facts,
        rule.section,
        rule.max_validity_days,
        policy,
        findings,
    );
    let Some(policies) = &policy.issuance.certificate_policies else {
        return;
    };
    for (oid, _) in facts.certificate_policies.iter().flatten() {
        if !policies.reserved.contains(oid) && !policies.defined.contains(oid) {
            findings.push(Finding::error(
                policies.section,
                format!(
                    "certificate policy {oid} is neither a reserved identifier the CA asserts \
                     nor one its CP/CPS defines, in policy '{}'",
                    policy.name
                ),
            ));
        }
    }
}

fn cross_rules(facts: &CertificateFacts, policy: &Policy, findings: &mut Vec<Finding>) {
    let Some(rule) = &policy.issuance.cross_certificate else {
        findings.push(no_table(policy, "cross_certificate", "cross-certificate"));
        return;
    };
    if rule.same_organization && facts.subject_organization() != facts.issuer_organization() {
        findings.push(Finding::error(
            rule.section,
            format!(
                "the cross-certified CA's organizationName {:?} is not the root's {:?}: policy \
                 '{}' cross-certifies only CAs of the root's own organization",
                facts.subject_organization(),
                facts.issuer_organization(),
                policy.name
            ),
        ));
    }
}

fn ocsp_rules(facts: &CertificateFacts, policy: &Policy, findings: &mut Vec<Finding>) {
    match &policy.issuance.ocsp_responder {
        Some(rule) => longer_than(
            facts,
            rule.section,
            rule.max_validity_days,
            policy,
            findings,
        ),
        None => findings.push(no_table(
            policy,
            "ocsp_responder",
            "delegated OCSP responder",
        )),
    }
}

/// Lints a DER TBSCertList the root is about to sign: the CRL profile and the root
/// (keyceremony-x509's `inspect_crl_tbs`), then the policy's `[crl]` limit.
pub fn lint_crl_tbs(tbs_der: &[u8], issuer: &Issuer, policy: &Policy) -> Vec<Finding> {
    let facts = match inspect_crl_tbs(tbs_der, issuer) {
        Ok(facts) => facts,
        Err(e) => return vec![Finding::from_x509(&e)],
    };
    let Some(rule) = &policy.issuance.crl else {
        return vec![Finding::error(
            "BR 4.9.7",
            format!(
                "policy '{}' has no [crl] table: it allows no CRL",
                policy.name
            ),
        )];
    };
    let mut findings = Vec::new();
    if facts.next_update - facts.this_update > TimeDelta::days(i64::from(rule.max_next_update_days))
    {
        findings.push(Finding::error(
            rule.section,
            format!(
                "nextUpdate is more than {} days after thisUpdate, the limit of policy '{}'",
                rule.max_next_update_days, policy.name
            ),
        ));
    }
    findings
}

/// Lints a signed CRL: its signature with the root's key and the profile
/// (keyceremony-x509's `verify_crl`), then [`lint_crl_tbs`] on its TBS.
pub fn lint_crl(crl_der: &[u8], issuer: &Issuer, policy: &Policy) -> Vec<Finding> {
    // A CertificateList has a Certificate's outer shape: tbs, algorithm, signature.
    let tbs = match certificate_tbs(crl_der) {
        Ok(tbs) => tbs,
        Err(e) => return vec![Finding::from_x509(&e)],
    };
    let mut findings = lint_crl_tbs(&tbs, issuer, policy);
    if let Err(e) = verify_crl(crl_der, issuer) {
        findings.push(Finding::from_x509(&e));
    }
    findings
}
