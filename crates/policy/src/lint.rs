//! The certificate lint: the to-be-signed certificate against the CA/Browser Forum TLS
//! Baseline Requirements root CA profile (BR 7.1.2.1) and the policy before the HSM signs
//! it, and the signed certificate again after.
//!
//! The TBS is read by keyceremony-x509's own DER parser ([`inspect_tbs`], plain `der`
//! structures, not the x509-cert builder that made it), which refuses anything outside the
//! root profile: version, serial number, AlgorithmIdentifier encodings (NULL parameters for
//! RSA, none for ECDSA), issuer equal to subject, time types, validity in the BR bounds, no
//! unique identifiers, and exactly basicConstraints, keyUsage, subjectKeyIdentifier and
//! authorityKeyIdentifier with their criticality, keyUsage bits and the SKI method; and the
//! key's CPS 6.1.5 and 6.1.6 checks. This module adds the rules that depend on the policy
//! and those the parser leaves alone: serial number entropy, and the subject's attributes,
//! order and string types.

use std::fmt;

use der::Tag;
use keyceremony_x509::{
    CheckedKey, NameAttribute, TbsFacts, X509Error, certificate_tbs, inspect_tbs, inspect_tbs_of,
    verify_root,
};

use crate::policy::Policy;

/// How bad a finding is. Any error stops the ceremony before signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Breaks a MUST or MUST NOT: the certificate is refused.
    Error,
    /// Goes against a SHOULD NOT or NOT RECOMMENDED.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One thing the lint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The section of the CPS, Baseline Requirements or RFC the rule comes from.
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
    /// How bad it is.
    pub severity: Severity,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.severity, self.message, self.rule)
    }
}

impl Finding {
    pub(crate) fn error(rule: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub(crate) fn warning(rule: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            message: message.into(),
            severity: Severity::Warning,
        }
    }

    pub(crate) fn from_x509(error: &X509Error) -> Finding {
        Finding::error(error.section(), error.to_string())
    }
}

/// Whether any finding is an error, so the certificate must not be signed or published.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Lints a DER TBSCertificate before the HSM signs it; any [`Severity::Error`] means do not
/// sign. The root profile check stops at the first rule it finds broken, so a TBS outside
/// the profile gives that one finding; a TBS inside it is then held to the policy
/// (algorithms, validity), the serial number entropy and the subject naming rules.
pub fn lint_tbs(tbs_der: &[u8], policy: &Policy) -> Vec<Finding> {
    lint(tbs_der, policy, None).1
}

/// [`lint_tbs`] of a TBS that should certify `key`, as [`Policy::check_key`] checked it:
/// the key's checks are not run again on the same bytes.
pub fn lint_tbs_of(tbs_der: &[u8], policy: &Policy, key: &CheckedKey) -> Vec<Finding> {
    lint(tbs_der, policy, Some(key)).1
}

/// Lints a signed DER certificate: [`lint_tbs`] on its TBS, then the outer checks of
/// keyceremony-x509's `verify_root` against the certificate's own key (a root is
/// self-signed): canonical DER with nothing after it, outer signatureAlgorithm equal to the
/// TBS's, and the signature verified in software. That the key is the token's is
/// `verify_root`'s check with the key read from the token, which the engine runs as well.
pub fn lint_certificate(cert_der: &[u8], policy: &Policy) -> Vec<Finding> {
    let tbs = match certificate_tbs(cert_der) {
        Ok(tbs) => tbs,
        Err(e) => return vec![Finding::from_x509(&e)],
    };
    let (facts, mut findings) = lint(&tbs, policy, None);
    if let Some(facts) = facts
        && let Err(e) = verify_root(cert_der, &facts.spki_der)
    {
        findings.push(Finding::from_x509(&e));
    }
    findings
}

fn lint(
    tbs_der: &[u8],
    policy: &Policy,
    known: Option<&CheckedKey>,
) -> (Option<TbsFacts>, Vec<Finding>) {
    let read = match known {
        Some(key) => inspect_tbs_of(tbs_der, key),
        None => inspect_tbs(tbs_der),
    };
    let facts = match read {
        Ok(facts) => facts,
        Err(e) => return (None, vec![Finding::from_x509(&e)]),
    };
    let mut findings = Vec::new();
    policy_rules(&facts, policy, &mut findings);
    serial_number(&facts.serial, &mut findings);
    subject_names(&facts.subject_attributes, &mut findings);
    (Some(facts), findings)
}

fn policy_rules(facts: &TbsFacts, policy: &Policy, findings: &mut Vec<Finding>) {
    let rule = &policy.algorithms;
    if !rule.allows_signature(facts.signature_algorithm) {
        findings.push(Finding::error(
            rule.section,
            format!(
                "the TBS certifies a {} key signed with {}, which policy '{}' does not allow: \
                 it allows {}",
                facts.signature_algorithm.public_key_name(),
                facts.signature_algorithm,
                policy.name,
                rule.describe()
            ),
        ));
    }
    let rule = &policy.validity;
    if !(u64::from(rule.min_days)..=u64::from(rule.max_days)).contains(&facts.validity_days) {
        findings.push(Finding::error(
            rule.section,
            format!(
                "a validity of {} days is outside the {} to {} days of policy '{}'",
                facts.validity_days, rule.min_days, rule.max_days, policy.name
            ),
        ));
    }
}

/// BR 7.1 and 7.1.2.1: at least 64 bits of CSPRNG output.
const MIN_SERIAL_BITS: usize = 64;
const SERIAL_RULE: &str = "BR 7.1, 7.1.2.1";

/// The parser already refuses a serial number that is zero, negative (an unsigned INTEGER)
/// or longer than 20 octets, which keeps it below 2^159. Entropy cannot be measured from
/// one value, but a serial with fewer than 64 significant bits cannot hold 64 random bits.
pub(crate) fn serial_number(serial: &[u8], findings: &mut Vec<Finding>) {
    let bits = match serial.iter().position(|&b| b != 0) {
        Some(i) => (serial.len() - i) * 8 - serial[i].leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_SERIAL_BITS {
        findings.push(Finding::error(
            SERIAL_RULE,
            format!(
                "the serial number has {bits} significant bits: it cannot contain the \
                 {MIN_SERIAL_BITS} bits of CSPRNG output the BRs require"
            ),
        ));
    }
}

const NAME_ENCODING_RULE: &str = "BR 7.1.4.1";
const CA_NAMING_RULE: &str = "BR 7.1.2.10.2";
const ATTRIBUTE_ENCODING_RULE: &str = "BR 7.1.4.2, RFC 5280 A.1";

/// The subject attributes BR 7.1.4.1 orders, in their order, with the RFC 5280 appendix A
/// upper bound (in characters) of those BR 7.1.4.2 lets be UTF8String or PrintableString.
const ORDERED_ATTRIBUTES: [(&str, &str, Option<usize>); 11] = [
    ("0.9.2342.19200300.100.1.25", "domainComponent", None),
    ("2.5.4.6", "countryName", None),
    ("2.5.4.8", "stateOrProvinceName", Some(128)),
    ("2.5.4.7", "localityName", Some(128)),
    ("2.5.4.17", "postalCode", Some(40)),
    ("2.5.4.9", "streetAddress", Some(128)),
    ("2.5.4.10", "organizationName", Some(64)),
    ("2.5.4.4", "surname", None),
    ("2.5.4.42", "givenName", None),
    ("2.5.4.11", "organizationalUnitName", None),
    ("2.5.4.3", "commonName", Some(64)),
];
const COUNTRY: &str = "2.5.4.6";
const ORGANIZATION: &str = "2.5.4.10";
const ORGANIZATIONAL_UNIT: &str = "2.5.4.11";
const COMMON_NAME: &str = "2.5.4.3";
/// BR 7.1.2.10.2: a CA certificate's subject MAY have these besides the three it MUST have.
const MAY_ATTRIBUTES: [&str; 2] = ["2.5.4.8", "2.5.4.7"];

/// BR 7.1.2.10.2 (CA Certificate Naming), 7.1.4.1 (Name Encoding) and 7.1.4.2 (Subject
/// Attribute Encoding) on the subject; the issuer is the same bytes (checked by the parser).
pub(crate) fn subject_names(attributes: &[NameAttribute], findings: &mut Vec<Finding>) {
    let oids: Vec<String> = attributes.iter().map(|a| a.oid.to_string()).collect();

    for (i, attribute) in attributes.iter().enumerate() {
        if attributes[..i].iter().any(|a| a.rdn == attribute.rdn) {
            findings.push(Finding::error(
                NAME_ENCODING_RULE,
                format!(
                    "RelativeDistinguishedName {} holds more than one attribute",
                    attribute.rdn
                ),
            ));
        }
        if oids[..i].contains(&oids[i]) {
            findings.push(Finding::error(
                NAME_ENCODING_RULE,
                format!("{} appears more than once", attribute.short_name),
            ));
        }
    }

    let ranks: Vec<usize> = oids
        .iter()
        .filter_map(|oid| ORDERED_ATTRIBUTES.iter().position(|(o, _, _)| o == oid))
        .collect();
    if ranks.windows(2).any(|pair| pair[0] > pair[1]) {
        findings.push(Finding::error(
            NAME_ENCODING_RULE,
            format!(
                "the subject's attributes are not in the BR order (C, ST, L, postalCode, \
                 street, O, ..., OU, CN): {}",
                attributes
                    .iter()
                    .map(|a| a.short_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    for (oid, name) in [
        (COUNTRY, "countryName"),
        (ORGANIZATION, "organizationName"),
        (COMMON_NAME, "commonName"),
    ] {
        if !oids.iter().any(|o| o == oid) {
            findings.push(Finding::error(
                CA_NAMING_RULE,
                format!("the subject of a CA certificate must have {name}"),
            ));
        }
    }
    for (attribute, oid) in attributes.iter().zip(&oids) {
        if oid == ORGANIZATIONAL_UNIT {
            findings.push(Finding::error(
                CA_NAMING_RULE,
                "the subject of a CA certificate must not have organizationalUnitName",
            ));
        } else if ![COUNTRY, ORGANIZATION, COMMON_NAME].contains(&oid.as_str())
            && !MAY_ATTRIBUTES.contains(&oid.as_str())
        {
            findings.push(Finding::warning(
                CA_NAMING_RULE,
                format!(
                    "{} in the subject of a CA certificate is NOT RECOMMENDED",
                    attribute.short_name
                ),
            ));
        }
        attribute_encoding(attribute, oid, findings);
    }
}

fn attribute_encoding(attribute: &NameAttribute, oid: &str, findings: &mut Vec<Finding>) {
    let mut refuse = |problem: String| {
        findings.push(Finding::error(
            ATTRIBUTE_ENCODING_RULE,
            format!("{}: {problem}", attribute.short_name),
        ));
    };
    if oid == COUNTRY {
        if attribute.tag != Tag::PrintableString {
            refuse(format!("must be a PrintableString, not {}", attribute.tag));
        }
        if attribute.value.len() != 2 || !attribute.value.iter().all(u8::is_ascii_uppercase) {
            refuse("must be a two-letter upper-case ISO 3166-1 code".into());
        }
        return;
    }
    let Some(bound) = ORDERED_ATTRIBUTES
        .iter()
        .find(|(o, _, _)| *o == oid)
        .and_then(|(_, _, bound)| *bound)
    else {
        // Attributes the BRs do not encode for a CA are only warned about above.
        return;
    };
    let text = match attribute.tag {
        Tag::Utf8String => match std::str::from_utf8(&attribute.value) {
            Ok(text) => text,
            Err(_) => return refuse("the UTF8String is not valid UTF-8".into()),
        },
        Tag::PrintableString => {
            if !attribute.value.iter().all(|&b| is_printable(b)) {
                return refuse("the PrintableString has characters outside its set".into());
            }
            // Every PrintableString character is ASCII, hence UTF-8.
            std::str::from_utf8(&attribute.value).unwrap_or_default()
        }
        other => {
            return refuse(format!(
                "must be a UTF8String or PrintableString, not {other}"
            ));
        }
    };
    let length = text.chars().count();
    if length == 0 || length > bound {
        refuse(format!(
            "{length} characters; 1 to {bound} are allowed (RFC 5280 upper bound)"
        ));
    }
}

/// X.680 41.4: the PrintableString character set.
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

#[cfg(test)]
mod tests {
    use der::asn1::ObjectIdentifier;

    use super::*;

    fn attribute(rdn: usize, oid: &str, short: &str, tag: Tag, value: &str) -> NameAttribute {
        NameAttribute {
            rdn,
            oid: ObjectIdentifier::new_unwrap(oid),
            short_name: short.into(),
            tag,
            value: value.as_bytes().to_vec(),
        }
    }

    fn good() -> Vec<NameAttribute> {
        vec![
            attribute(0, COUNTRY, "C", Tag::PrintableString, "JP"),
            attribute(1, ORGANIZATION, "O", Tag::Utf8String, "Example Trust"),
            attribute(2, COMMON_NAME, "CN", Tag::Utf8String, "Example Root"),
        ]
    }

    fn lint_names(attributes: &[NameAttribute]) -> Vec<Finding> {
        let mut findings = Vec::new();
        subject_names(attributes, &mut findings);
        findings
    }

    fn has(findings: &[Finding], severity: Severity, rule: &str, words: &str) -> bool {
        findings
            .iter()
            .any(|f| f.severity == severity && f.rule == rule && f.message.contains(words))
    }

    #[test]
    fn the_profile_name_passes() {
        assert_eq!(lint_names(&good()), []);
    }

    #[test]
    fn missing_required_attributes() {
        let findings = lint_names(&good()[..2]);
        assert!(has(
            &findings,
            Severity::Error,
            CA_NAMING_RULE,
            "commonName"
        ));
    }

    #[test]
    fn organizational_unit_is_an_error_and_street_a_warning() {
        let mut names = good();
        names.insert(
            2,
            attribute(2, ORGANIZATIONAL_UNIT, "OU", Tag::Utf8String, "PKI"),
        );
        names[3].rdn = 3;
        let findings = lint_names(&names);
        assert!(has(
            &findings,
            Severity::Error,
            CA_NAMING_RULE,
            "organizationalUnitName"
        ));

        let mut names = good();
        names.insert(1, attribute(1, "2.5.4.9", "street", Tag::Utf8String, "1-1"));
        names[2].rdn = 2;
        names[3].rdn = 3;
        let findings = lint_names(&names);
        assert!(has(
            &findings,
            Severity::Warning,
            CA_NAMING_RULE,
            "NOT RECOMMENDED"
        ));
        assert!(!has_errors(&findings), "{findings:?}");
    }

    #[test]
    fn order_multi_valued_rdns_and_repeats() {
        let mut names = good();
        names.swap(0, 1);
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            NAME_ENCODING_RULE,
            "not in the BR order"
        ));

        let mut names = good();
        names[2].rdn = 1;
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            NAME_ENCODING_RULE,
            "more than one attribute"
        ));

        let mut names = good();
        names.push(attribute(3, COMMON_NAME, "CN", Tag::Utf8String, "Again"));
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            NAME_ENCODING_RULE,
            "more than once"
        ));
    }

    #[test]
    fn string_types_and_lengths() {
        let mut names = good();
        names[0] = attribute(0, COUNTRY, "C", Tag::Utf8String, "JP");
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            ATTRIBUTE_ENCODING_RULE,
            "PrintableString"
        ));

        let mut names = good();
        names[0] = attribute(0, COUNTRY, "C", Tag::PrintableString, "jp");
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            ATTRIBUTE_ENCODING_RULE,
            "ISO 3166-1"
        ));

        let mut names = good();
        names[1] = attribute(1, ORGANIZATION, "O", Tag::Ia5String, "Example");
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            ATTRIBUTE_ENCODING_RULE,
            "UTF8String or PrintableString"
        ));

        let mut names = good();
        names[1] = attribute(1, ORGANIZATION, "O", Tag::PrintableString, "Example & Co");
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            ATTRIBUTE_ENCODING_RULE,
            "outside its set"
        ));

        let mut names = good();
        names[2] = attribute(2, COMMON_NAME, "CN", Tag::Utf8String, &"x".repeat(65));
        assert!(has(
            &lint_names(&names),
            Severity::Error,
            ATTRIBUTE_ENCODING_RULE,
            "65 characters"
        ));
    }

    #[test]
    fn serial_entropy() {
        let lint_serial = |serial: &[u8]| {
            let mut findings = Vec::new();
            serial_number(serial, &mut findings);
            findings
        };
        assert_eq!(lint_serial(&[0x80; 8]), []);
        assert_eq!(lint_serial(&[0x7f; 16]), []);
        assert!(has(
            &lint_serial(&[0x7f; 8]),
            Severity::Error,
            SERIAL_RULE,
            "63 significant bits"
        ));
        assert!(has(
            &lint_serial(&[0x00, 0x01, 0x02]),
            Severity::Error,
            SERIAL_RULE,
            "9 significant bits"
        ));
    }
}
