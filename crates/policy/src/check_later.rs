//! A later ceremony's tables against the policy, before anything is read from a token or
//! a file: the subordinate CA certificates' validity and policies, the CRLs' nextUpdate and
//! revocation reasons. The certificate and CRL lints hold the same rules on what is about
//! to be signed; these say it at `script check`, with the script's field.

use chrono::DateTime;
use keyceremony_script::{Script, Violation};
use keyceremony_x509::{ObjectIdentifier, RESERVED_POLICIES, RevocationReason};

use crate::check::violation;
use crate::policy::Policy;

pub(crate) fn later(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    subordinates(policy, script, v);
    crls(policy, script, v);
}

fn subordinates(policy: &Policy, script: &Script, v: &mut Vec<Violation>) {
    let issuance = &policy.issuance;
    for (i, sub) in script.subordinates.iter().enumerate() {
        let path = format!("subordinates[{i}]");
        match &issuance.subordinate {
            None => v.push(violation(
                path.clone(),
                "CPS 6.1.7",
                format!(
                    "policy '{}' has no [subordinate] table: it allows no subordinate CA certificate",
                    policy.name
                ),
            )),
            Some(rule) if sub.validity_days > rule.max_validity_days => v.push(violation(
                format!("{path}.validity_days"),
                rule.section,
                format!(
                    "a validity of {} days is more than the {} days of policy '{}'",
                    sub.validity_days, rule.max_validity_days, policy.name
                ),
            )),
            Some(_) => {}
        }
        for (p, text) in sub.policies.iter().enumerate() {
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
        let urls = [
            ("crl_url", Some(&sub.crl_url)),
            ("ca_issuers_url", sub.ca_issuers_url.as_ref()),
            ("ocsp_url", sub.ocsp_url.as_ref()),
        ];
        for (name, url) in urls {
            http_url(&format!("{path}.{name}"), url, v);
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
