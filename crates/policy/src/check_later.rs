//! A later ceremony's tables against the policy, before anything is read from a token or
//! a file: the validity and policies of the subordinate CA certificates and
//! cross-certificates, the OCSP responder certificates' validity, the CRLs' nextUpdate and
//! revocation reasons. The certificate and CRL lints hold the same rules on what is about
//! to be signed; these say it at `script check`, with the script's field.

use chrono::DateTime;
use keyceremony_script::{Action, Script, Violation};
use keyceremony_x509::{ObjectIdentifier, RESERVED_POLICIES, RevocationReason};

use crate::check::violation;
use crate::policy::Policy;

pub(crate) fn later(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    for (i, sub) in script.subordinates.iter().enumerate() {
        let urls = (&sub.crl_url, &sub.ca_issuers_url, &sub.ocsp_url);
        let ca = CaCertificate {
            path: format!("subordinates[{i}]"),
            validity_days: sub.validity_days,
            policies: &sub.policies,
            urls,
        };
        ca.check(policy, v);
    }
    for (i, cross) in script.cross_certificates.iter().enumerate() {
        let urls = (&cross.crl_url, &cross.ca_issuers_url, &cross.ocsp_url);
        let ca = CaCertificate {
            path: format!("cross_certificates[{i}]"),
            validity_days: cross.validity_days,
            policies: &cross.policies,
            urls,
        };
        ca.check(policy, v);
        if policy.issuance.cross_certificate.is_none() {
            v.push(violation(
                ca.path,
                "CPS 6.1.7",
                format!(
                    "policy '{}' has no [cross_certificate] table: it allows no cross-certificate",
                    policy.name
                ),
            ));
        }
    }
    ocsp_responders(policy, script, v);
    crls(policy, script, v);
    destructions(policy, script, v);
}

/// A destroy-key step is activated by the user PIN's threshold of
/// custodians, a token's re-initialisation by the SO PIN's, each one
/// person: fewer than the policy's `[destruction]` quorum could destroy the
/// key (CPS 6.2.10).
fn destructions(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    let rule = policy.destruction_rule();
    let so_threshold = script.activation.so_pin.threshold as usize;
    if script.hsm.reinitialize && so_threshold < rule.min_persons {
        v.push(violation(
            "activation.so-pin.threshold".to_string(),
            rule.section,
            format!(
                "the token is re-initialised, which destroys every key on it, under the SO PIN's {so_threshold} custodian(s); policy '{}' needs at least {} distinct authorised people to destroy a key",
                policy.name, rule.min_persons
            ),
        ));
    }
    let threshold = script.activation.user_pin.threshold as usize;
    for (a, act) in script.acts.iter().enumerate() {
        for (s, step) in act.steps.iter().enumerate() {
            if matches!(step.action, Action::DestroyKey { .. }) && threshold < rule.min_persons {
                v.push(violation(
                    format!("acts[{a}].steps[{s}].action"),
                    rule.section,
                    format!(
                        "step '{}' destroys the root key under the user PIN's {threshold} custodian(s); policy '{}' needs at least {} distinct authorised people to destroy a key",
                        step.id, policy.name, rule.min_persons
                    ),
                ));
            }
        }
    }
}

fn ocsp_responders(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    for (i, ocsp) in script.ocsp_responders.iter().enumerate() {
        let path = format!("ocsp_responders[{i}]");
        match &policy.issuance.ocsp_responder {
            None => v.push(violation(
                path,
                "CPS 6.1.7",
                format!(
                    "policy '{}' has no [ocsp_responder] table: it allows no delegated OCSP responder",
                    policy.name
                ),
            )),
            Some(rule) => longer_than(&path, ocsp.validity_days, (rule.max_validity_days, rule.section), policy, v),
        }
    }
}

/// A validity beyond the policy's `(days, section)`.
fn longer_than(
    path: &str,
    days: u32,
    (max, section): (u32, &'static str),
    policy: &Policy,
    v: &mut Vec<Violation>,
) {
    if days > max {
        v.push(violation(
            format!("{path}.validity_days"),
            section,
            format!(
                "a validity of {days} days is more than the {max} days of policy '{}'",
                policy.name
            ),
        ));
    }
}

/// A subordinate CA certificate or a cross-certificate, as the script asks.
struct CaCertificate<'a> {
    path: String,
    validity_days: u32,
    policies: &'a [String],
    /// cRLDistributionPoints, caIssuers, OCSP.
    urls: (&'a String, &'a Option<String>, &'a Option<String>),
}

impl CaCertificate<'_> {
    fn check(&self, policy: &Policy, v: &mut Vec<Violation>) {
        let path = &self.path;
        match &policy.issuance.subordinate {
            None => v.push(violation(
                path.clone(),
                "CPS 6.1.7",
                format!(
                    "policy '{}' has no [subordinate] table: it allows no subordinate CA or cross-certificate",
                    policy.name
                ),
            )),
            Some(rule) => longer_than(path, self.validity_days, (rule.max_validity_days, rule.section), policy, v),
        }
        self.policies(policy, v);
        let (crl, ca_issuers, ocsp) = self.urls;
        let urls = [
            ("crl_url", Some(crl)),
            ("ca_issuers_url", ca_issuers.as_ref()),
            ("ocsp_url", ocsp.as_ref()),
        ];
        for (name, url) in urls {
            http_url(&format!("{path}.{name}"), url, v);
        }
    }

    fn policies(&self, policy: &Policy, v: &mut Vec<Violation>) {
        let issuance = &policy.issuance;
        let path = &self.path;
        for (p, text) in self.policies.iter().enumerate() {
            let field = format!("{path}.policies[{p}]");
            let Ok(oid) = ObjectIdentifier::new(text) else {
                v.push(violation(
                    field,
                    "BR 7.1.2.10.5",
                    format!("'{text}' is not a dotted object identifier"),
                ));
                continue;
            };
            let first_reserved = (p == 0) == RESERVED_POLICIES.contains(&oid);
            if !first_reserved {
                v.push(violation(
                    field.clone(),
                    "BR 7.1.2.10.5, 7.1.6.1",
                    format!(
                        "'{text}': the policies start with exactly one CA/Browser Forum reserved identifier, then the CPS's"
                    ),
                ));
            }
            if let Some(rule) = &issuance.certificate_policies
                && !rule.reserved.contains(&oid)
                && !rule.defined.contains(&oid)
            {
                v.push(violation(
                    field,
                    rule.section,
                    format!(
                        "certificate policy {text} is neither a reserved identifier the CA asserts nor one its CP/CPS defines, in policy '{}'",
                        policy.name
                    ),
                ));
            }
        }
    }
}

fn http_url(path: &str, url: Option<&String>, v: &mut Vec<Violation>) {
    if let Some(url) = url
        && (!url.starts_with("http://") || url.len() <= "http://".len())
    {
        v.push(violation(
            path.to_string(),
            "BR 7.1.2.11.2, 7.1.2.10.3",
            format!("'{url}' is not an http:// URL"),
        ));
    }
}

fn crls(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    for (i, crl) in script.crls.iter().enumerate() {
        let path = format!("crls[{i}]");
        match &policy.issuance.crl {
            None => v.push(violation(
                path.clone(),
                "BR 4.9.7",
                format!(
                    "policy '{}' has no [crl] table: it allows no CRL",
                    policy.name
                ),
            )),
            Some(rule) if crl.next_update_days > rule.max_next_update_days => {
                v.push(violation(
                    format!("{path}.next_update_days"),
                    rule.section,
                    format!(
                        "nextUpdate {} days after thisUpdate is more than the {} days of policy '{}' (a root CRL is valid 12 months at most)",
                        crl.next_update_days, rule.max_next_update_days, policy.name
                    ),
                ))
            }
            Some(_) => {}
        }
        http_url(
            &format!("{path}.distribution_point"),
            crl.distribution_point.as_ref(),
            v,
        );
        for (r, revoked) in crl.revoked.iter().enumerate() {
            let field = format!("{path}.revoked[{r}]");
            if RevocationReason::from_name(&revoked.reason).is_none() {
                let allowed: Vec<String> = RevocationReason::ALL
                    .iter()
                    .map(|r| r.to_string())
                    .collect();
                v.push(violation(
                    format!("{field}.reason"),
                    "BR 7.2.2",
                    format!(
                        "'{}' is not a reason a root CRL gives: use one of {}",
                        revoked.reason,
                        allowed.join(", ")
                    ),
                ));
            }
            if let Some(at) = &revoked.revoked_at
                && DateTime::parse_from_rfc3339(at).is_err()
            {
                v.push(violation(
                    format!("{field}.revoked_at"),
                    "RFC 5280 5.1.2.6",
                    format!("'{at}' is not an RFC 3339 time (2026-03-01T09:00:00Z)"),
                ));
            }
        }
    }
}
