//! Whole-script validation. Every rule that can be checked without the HSM is
//! checked here, before the engine touches it, and each refusal names the CPS
//! section it comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use keyceremony_text::terminal_safe;

use crate::location::Location;
use crate::model::*;

mod later;
mod steps;

/// One broken rule, located by its field path in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path, e.g. `acts[1].steps[0].witness`.
    pub path: String,
    pub message: String,
    /// The CPS (or Baseline Requirements) section the rule comes from.
    pub rule: Option<&'static str>,
    /// Filled in by [`crate::LoadedScript::violations`].
    pub location: Option<Location>,
}

impl Violation {
    pub(crate) fn new(
        path: impl Into<String>,
        rule: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Violation {
            path: path.into(),
            message: message.into(),
            rule,
            location: None,
        }
    }

    pub fn display_at(&self, file: &Path) -> String {
        let place = match self.location {
            Some(loc) => format!("{}:{}", file.display(), loc),
            None => file.display().to_string(),
        };
        format!("{place}: {self}")
    }
}

/// Shown as one line whatever the message quotes from the script: a value
/// that holds a line feed or an escape sequence is shown escaped.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, terminal_safe(&self.message))?;
        if let Some(rule) = self.rule {
            write!(f, " [{rule}]")?;
        }
        Ok(())
    }
}

/// Validity bounds of a root certificate in days of 86,400 s (CPS 6.3.2,
/// BR 7.1.2.1.1).
pub const MIN_VALIDITY_DAYS: u32 = 2922;
pub const MAX_VALIDITY_DAYS: u32 = 9132;

const WITNESS_ROLES: [Role; 2] = [Role::QualifiedAuditor, Role::LogExaminer];
const OPERATOR_ROLES: [Role; 3] = [
    Role::CaAdministrator,
    Role::ServiceOperationManager,
    Role::Custodian,
];

/// Checks the whole script and returns every violation, in file order.
pub fn validate(script: &Script) -> Vec<Violation> {
    let mut v = Vec::new();
    ceremony(script, &mut v);
    hsm(script, &mut v);
    participants(script, &mut v);
    activation(script, &mut v);
    keys_and_certificates(script, &mut v);
    crate::log_rules::log(script, &mut v);
    later::later(script, &mut v);
    steps::steps(script, &mut v);
    crate::text::text_rules(script, &mut v);
    crate::custody::check_in_rules(script, &mut v);
    v
}

/// CK_TOKEN_INFO.label holds 32 bytes padded with spaces: a longer label
/// cannot be stored, and one with spaces at its ends is not found again.
pub(crate) const TOKEN_LABEL_RULE: &str = "PKCS#11 CK_TOKEN_INFO.label";

pub(crate) fn is_token_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.trim() == s
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Labels name output files, so they are restricted to a portable set.
pub(crate) fn is_file_safe(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn ceremony(script: &Script, v: &mut Vec<Violation>) {
    if !is_identifier(&script.ceremony.id) {
        v.push(Violation::new(
            "ceremony.id",
            None,
            format!(
                "'{}' is not a ceremony identifier: use 1 to 64 lower-case letters, digits and '-'",
                script.ceremony.id
            ),
        ));
    }
    if script.ceremony.name.trim().is_empty() {
        v.push(Violation::new(
            "ceremony.name",
            None,
            "the ceremony needs a name",
        ));
    }
}

fn hsm(script: &Script, v: &mut Vec<Violation>) {
    let label = &script.hsm.token_label;
    if !is_token_label(label) {
        v.push(Violation::new(
            "hsm.token_label",
            Some(TOKEN_LABEL_RULE),
            format!(
                "token label '{label}' must be 1 to 32 bytes, without leading or trailing spaces"
            ),
        ));
    }
    let logins = script.hsm.max_failed_logins;
    if !(1..=MAX_FAILED_LOGINS).contains(&logins) {
        v.push(Violation::new(
            "hsm.max_failed_logins",
            Some("CPS 5.4.1"),
            format!(
                "max_failed_logins is {logins}: it must be 1 to {MAX_FAILED_LOGINS}; each failure is a wrong share or PIN, and a token that locks itself may allow fewer"
            ),
        ));
    }
    if script.hsm.max_refused_shares == 0 {
        v.push(Violation::new(
            "hsm.max_refused_shares",
            Some("CPS 5.4.1"),
            "max_refused_shares must be at least 1",
        ));
    }
}

fn participants(script: &Script, v: &mut Vec<Violation>) {
    let mut seen = BTreeSet::new();
    for (i, p) in script.participants.iter().enumerate() {
        let path = format!("participants[{i}]");
        if !is_identifier(&p.id) {
            v.push(Violation::new(
                format!("{path}.id"),
                None,
                format!(
                    "'{}' is not a participant id: use lower-case letters, digits and '-'",
                    p.id
                ),
            ));
        }
        if !seen.insert(p.id.as_str()) {
            v.push(Violation::new(
                format!("{path}.id"),
                None,
                format!("participant id '{}' is listed twice", p.id),
            ));
        }
        if p.name.trim().is_empty() {
            v.push(Violation::new(
                format!("{path}.name"),
                None,
                "every participant needs a full name",
            ));
        }
        if p.roles.is_empty() {
            v.push(Violation::new(
                format!("{path}.roles"),
                Some("CPS 5.2.1"),
                "every participant needs a role",
            ));
        }
        let audits = WITNESS_ROLES.iter().find(|r| p.has_role(**r));
        let operates = OPERATOR_ROLES.iter().find(|r| p.has_role(**r));
        if let (Some(audit), Some(operate)) = (audits, operates) {
            v.push(Violation::new(
                format!("{path}.roles"),
                Some("CPS 5.2.4"),
                format!(
                    "'{}' would be both {} and {}: operation and audit are separated duties",
                    p.id,
                    audit.title(),
                    operate.title()
                ),
            ));
        }
    }
    let auditors = script
        .participants
        .iter()
        .filter(|p| p.has_role(Role::QualifiedAuditor))
        .count();
    if auditors == 0 {
        v.push(Violation::new(
            "participants",
            Some("CPS 6.1.1"),
            "no participant is a qualified-auditor: a Qualified Auditor must witness the key generation",
        ));
    }
}

/// Most failed logins a script may tolerate in one act before the ceremony
/// stops. Each is a mistyped or forged share; more than a few means someone
/// is guessing, and a token that counts them itself may lock before.
pub const MAX_FAILED_LOGINS: u32 = 10;

/// Most shares of one secret a script may hand out; a share is copied by
/// hand, and larger rosters belong to a smartcard HSM.
pub const MAX_CUSTODIANS: usize = 16;

fn activation(script: &Script, v: &mut Vec<Violation>) {
    for secret in Secret::ALL {
        quorum(script, secret, v);
    }
    if let Some(backup) = &script.activation.backup {
        quorum(script, Secret::WrapKey, v);
        // A quorum of PIN custodians who also held the wrap key could
        // restore the key onto a token of their own (CPS 5.2.4).
        for (i, id) in backup.custodians.iter().enumerate() {
            if let Some(secret) = Secret::ALL
                .into_iter()
                .find(|s| script.activation.quorum(*s).custodians.contains(id))
            {
                v.push(Violation::new(
                    format!("activation.backup.custodians[{i}]"),
                    Some("CPS 5.2.4, 6.2.4"),
                    format!(
                        "'{id}' holds a share of the {} and would hold one of the backup's wrap key: backup custodians are other people",
                        secret.as_str()
                    ),
                ));
            }
        }
    }
    if script.hsm.reinitialize {
        if !script.hsm.initialize {
            v.push(Violation::new(
                "hsm.reinitialize",
                Some("CPS 6.2.10"),
                "hsm.reinitialize re-initialises the token in the init-token step: it needs hsm.initialize = true",
            ));
        }
        if script.hsm.token_serial.is_some() {
            v.push(Violation::new(
                "hsm.token_serial",
                None,
                "the token re-initialised is the one labelled hsm.token_label: remove token_serial",
            ));
        }
        if script.activation.shares_from.is_none() {
            v.push(Violation::new(
                "activation.shares_from",
                Some("CPS 6.2.10"),
                "the token is re-initialised with the shares that open it now: name the ceremony that made them in activation.shares-from",
            ));
        }
    }
    if let Some(from) = &script.activation.shares_from {
        if script.hsm.initialize && !script.hsm.reinitialize {
            v.push(Violation::new(
                "activation.shares_from",
                None,
                "a ceremony that initialises its token makes its own shares: remove shares_from",
            ));
        } else if !is_identifier(from) {
            v.push(Violation::new(
                "activation.shares_from",
                None,
                format!("'{from}' is not a ceremony identifier"),
            ));
        }
    }
}

fn quorum(script: &Script, secret: Secret, v: &mut Vec<Violation>) {
    let name = secret.as_str();
    let q = script.activation.quorum(secret);
    let mut seen = BTreeSet::new();
    for (i, id) in q.custodians.iter().enumerate() {
        let path = format!("activation.{name}.custodians[{i}]");
        match script.participant(id) {
            None => v.push(Violation::new(
                &path,
                None,
                format!("custodian '{id}' is not a participant"),
            )),
            Some(p) if !p.has_role(Role::Custodian) => v.push(Violation::new(
                &path,
                Some("CPS 5.2.4, 6.4.3"),
                format!(
                    "'{id}' would hold a share of the {name} but is not a custodian{}",
                    if WITNESS_ROLES.iter().any(|r| p.has_role(*r)) {
                        ": a witness never holds activation data"
                    } else {
                        ""
                    }
                ),
            )),
            Some(_) => {}
        }
        if !seen.insert(id.as_str()) {
            v.push(Violation::new(
                &path,
                Some("CPS 6.4.2"),
                format!("'{id}' is listed twice: one person may not hold two shares of the {name}"),
            ));
        }
    }
    let n = q.custodians.len();
    let path = format!("activation.{name}");
    if n < 2 {
        v.push(Violation::new(
            format!("{path}.custodians"),
            Some("CPS 6.4.1"),
            format!(
                "{n} custodian(s) of the {name}: activation data needs at least two pieces held by different people"
            ),
        ));
    }
    if n > MAX_CUSTODIANS {
        v.push(Violation::new(
            format!("{path}.custodians"),
            None,
            format!("{n} custodians of the {name}: at most {MAX_CUSTODIANS}"),
        ));
    }
    if q.threshold < 2 {
        v.push(Violation::new(
            format!("{path}.threshold"),
            Some("CPS 6.2.2, 6.2.8"),
            format!(
                "threshold {} lets fewer than two persons activate the key",
                q.threshold
            ),
        ));
    } else if q.threshold as usize > n {
        v.push(Violation::new(
            format!("{path}.threshold"),
            None,
            format!(
                "threshold {} is more than the {n} custodians of the {name}: the PIN could never be rebuilt",
                q.threshold
            ),
        ));
    }
}

fn keys_and_certificates(script: &Script, v: &mut Vec<Violation>) {
    let mut labels = BTreeSet::new();
    for (i, key) in script.keys.iter().enumerate() {
        let path = format!("keys[{i}]");
        if !is_file_safe(&key.label) {
            v.push(Violation::new(
                format!("{path}.label"),
                None,
                format!(
                    "key label '{}' must be 1 to 64 characters of letters, digits, '-', '_' and '.' (it names output files)",
                    key.label
                ),
            ));
        }
        if !labels.insert(key.label.as_str()) {
            v.push(Violation::new(
                format!("{path}.label"),
                Some("CPS 6.3.2"),
                format!("key label '{}' is used twice", key.label),
            ));
        }
        if !matches!(key.algorithm, KeyAlgorithm::Rsa4096 | KeyAlgorithm::EcP384) {
            v.push(Violation::new(
                format!("{path}.algorithm"),
                Some("CPS 6.1.5"),
                format!(
                    "{} is not a root key type: use rsa-4096 (sha384WithRSAEncryption) or ec-p384 (ecdsa-with-SHA384)",
                    key.algorithm.as_str()
                ),
            ));
        }
    }
    let mut certified = BTreeSet::new();
    for (i, cert) in script.certificates.iter().enumerate() {
        let path = format!("certificates[{i}]");
        if script.key(&cert.key).is_none() {
            v.push(Violation::new(
                format!("{path}.key"),
                None,
                format!(
                    "certificate for key '{}', which `keys` does not list",
                    cert.key
                ),
            ));
        }
        if !certified.insert(cert.key.as_str()) {
            v.push(Violation::new(
                format!("{path}.key"),
                Some("CPS 6.3.2"),
                format!("key '{}' has two root certificates", cert.key),
            ));
        }
        if !(MIN_VALIDITY_DAYS..=MAX_VALIDITY_DAYS).contains(&cert.validity_days) {
            v.push(Violation::new(
                format!("{path}.validity_days"),
                Some("CPS 6.3.2, BR 7.1.2.1.1"),
                format!(
                    "validity of {} days is outside {MIN_VALIDITY_DAYS} to {MAX_VALIDITY_DAYS} days (8 to 25 years of 86,400 s)",
                    cert.validity_days
                ),
            ));
        }
        subject(&format!("{path}.subject"), &cert.subject, v);
    }
    let mut subjects = BTreeMap::new();
    for (i, cert) in script.certificates.iter().enumerate() {
        let s = &cert.subject;
        let key = (
            s.country.as_str(),
            s.organization.as_str(),
            s.common_name.as_str(),
        );
        if let Some(first) = subjects.insert(key, i) {
            v.push(Violation::new(
                format!("certificates[{i}].subject"),
                Some("CPS 6.3.2"),
                format!("same subject as certificates[{first}]: a subject name is never reused"),
            ));
        }
    }
}

fn subject(path: &str, s: &SubjectName, v: &mut Vec<Violation>) {
    if s.country.len() != 2 || !s.country.bytes().all(|b| b.is_ascii_uppercase()) {
        v.push(Violation::new(
            format!("{path}.country"),
            Some("BR 7.1.4.2"),
            format!(
                "country '{}' must be a two-letter upper-case ISO 3166-1 code",
                s.country
            ),
        ));
    }
    let fields = [
        ("organization", Some(&s.organization), 64),
        ("common_name", Some(&s.common_name), 64),
        ("state_or_province", s.state_or_province.as_ref(), 128),
        ("locality", s.locality.as_ref(), 128),
    ];
    for (name, value, max) in fields {
        if let Some(value) = value {
            let len = value.chars().count();
            if value.trim().is_empty() || len > max || value.trim() != value {
                v.push(Violation::new(
                    format!("{path}.{name}"),
                    Some("RFC 5280 A.1"),
                    format!("{name} '{value}' must be 1 to {max} characters without leading or trailing spaces"),
                ));
            }
        }
    }
}
