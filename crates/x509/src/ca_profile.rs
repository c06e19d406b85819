//! The extension rules a subordinate CA certificate (BR 7.1.2.6) and a cross-certificate
//! (BR 7.1.2.2) share: basicConstraints, keyUsage, certificatePolicies, the CRL distribution
//! point and authorityInfoAccess (BR 7.1.2.10, 7.1.2.11), and the subject name as the
//! certificate is asked for (BR 7.1.2.10.2).

use der::{Encode, asn1::ObjectIdentifier};
use x509_cert::{builder::profile::cabf, name::Name};

use crate::{
    cert_facts::CertificateFacts,
    error::{Result, X509Error},
    ext_read::{KeyUsageBits, oid},
    issued::{AKI, Allowed, EKU, KEY_USAGE, SKI},
    name::DistinguishedName,
};

/// The CA/Browser Forum's reserved certificate policy identifiers (BR 7.1.6.1):
/// domain-validated, organization-validated, individual-validated, extended-validation.
pub const RESERVED_POLICIES: [ObjectIdentifier; 4] = [
    ObjectIdentifier::new_unwrap("2.23.140.1.2.1"),
    ObjectIdentifier::new_unwrap("2.23.140.1.2.2"),
    ObjectIdentifier::new_unwrap("2.23.140.1.2.3"),
    ObjectIdentifier::new_unwrap("2.23.140.1.1"),
];

/// The extensions of a subordinate CA certificate (BR 7.1.2.6.1) and of a cross-certificate
/// (BR 7.1.2.2.3) as this tool writes them, in order: every MUST, extKeyUsage always (MUST
/// for a TLS subordinate and a restricted cross-certificate, SHOULD for an unrestricted
/// one), authorityInfoAccess (SHOULD) when a URL is given, no nameConstraints.
pub(crate) const CA_EXTENSIONS: [Allowed; 8] = [
    AKI,
    Allowed {
        oid: oid::BASIC_CONSTRAINTS,
        name: "basicConstraints",
        critical: true,
        required: true,
    },
    KEY_USAGE,
    EKU,
    Allowed {
        oid: oid::CERTIFICATE_POLICIES,
        name: "certificatePolicies",
        critical: false,
        required: true,
    },
    Allowed {
        oid: oid::CRL_DISTRIBUTION_POINTS,
        name: "cRLDistributionPoints",
        critical: false,
        required: true,
    },
    Allowed {
        oid: oid::AUTHORITY_INFO_ACCESS,
        name: "authorityInfoAccess",
        critical: false,
        required: false,
    },
    SKI,
];

/// The BR 7.1.2.10.5 "Policy Restricted" form, which this tool always uses: exactly one
/// reserved identifier (BR 7.1.6.1), first, as RECOMMENDED; then any identifiers the CA
/// defines in its CP or CPS; no anyPolicy, no identifier twice. (The "No Policy
/// Restrictions" form, anyPolicy alone, is for affiliated CAs only and is not built.)
pub(crate) fn check_policy_list(
    document: &'static str,
    section: &'static str,
    policies: &[ObjectIdentifier],
) -> Result<()> {
    let refuse = |detail: String| {
        Err(X509Error::profile(
            document,
            section,
            "certificatePolicies",
            detail,
        ))
    };
    let reserved = policies
        .iter()
        .filter(|p| RESERVED_POLICIES.contains(p))
        .count();
    if reserved != 1
        || policies
            .first()
            .is_none_or(|p| !RESERVED_POLICIES.contains(p))
    {
        return refuse(format!(
            "the policies must start with exactly one CA/Browser Forum reserved identifier \
             (2.23.140.1.2.1, 2.23.140.1.2.2, 2.23.140.1.2.3 or 2.23.140.1.1) and hold no other; \
             {reserved} found"
        ));
    }
    if policies.contains(&oid::ANY_POLICY) {
        return refuse("anyPolicy (2.5.29.32.0) must not be present".into());
    }
    if let Some((i, repeated)) = policies
        .iter()
        .enumerate()
        .find(|(i, p)| policies[..*i].contains(p))
    {
        return refuse(format!("{repeated} appears twice (at {i})"));
    }
    Ok(())
}

/// The subject Name a CA certificate is asked for: [`DistinguishedName::validate`], then
/// x509-cert's BR 7.1.2.10.2 naming check. Returns its DER.
pub(crate) fn ca_subject(subject: &DistinguishedName) -> Result<Vec<u8>> {
    let name: Name = subject.to_name()?;
    cabf::ca_certificate_naming(&name).map_err(|e| X509Error::InvalidName {
        attribute: "name",
        problem: format!("refused by x509-cert's BR 7.1.2.10.2 naming check: {e}"),
    })?;
    name.to_der().map_err(|e| X509Error::Build(e.to_string()))
}

/// basicConstraints cA with the given pathLenConstraint, keyUsage keyCertSign and cRLSign
/// (and digitalSignature when asked), certificatePolicies, one HTTP CRL distribution point,
/// and an authorityInfoAccess of HTTP URLs for id-ad-ocsp and id-ad-caIssuers only.
/// Returns whether keyUsage has digitalSignature.
pub(crate) fn check_ca_extensions(
    document: &'static str,
    section: &'static str,
    facts: &CertificateFacts,
) -> Result<bool> {
    let refuse =
        |section, check, detail: String| Err(X509Error::profile(document, section, check, detail));
    if !matches!(facts.basic_constraints, Some((true, _))) {
        return refuse(
            "BR 7.1.2.10.4",
            "basicConstraints",
            "cA must be TRUE".into(),
        );
    }
    let key_usage = facts.key_usage.unwrap_or_default();
    let required = KeyUsageBits::KEY_CERT_SIGN | KeyUsageBits::CRL_SIGN;
    if !key_usage.has(required) || key_usage.0 & !(required | KeyUsageBits::DIGITAL_SIGNATURE) != 0
    {
        return refuse(
            "BR 7.1.2.10.7",
            "keyUsage",
            format!(
                "keyCertSign and cRLSign are required, digitalSignature allowed, nothing else \
                 (bits {:#06x})",
                key_usage.0
            ),
        );
    }
    let policies = facts.certificate_policies.as_deref().unwrap_or_default();
    if policies.iter().any(|(_, qualifiers)| *qualifiers) {
        return refuse(
            section,
            "certificatePolicies",
            "policyQualifiers are NOT RECOMMENDED and this tool never writes them".into(),
        );
    }
    let oids: Vec<ObjectIdentifier> = policies.iter().map(|(oid, _)| *oid).collect();
    check_policy_list(document, section, &oids)?;

    match facts.crl_distribution_points.as_deref() {
        Some([point])
            if !point.reasons
                && !point.crl_issuer
                && !point.other_names
                && !point.uris.is_empty()
                && point.uris.iter().all(|u| u.starts_with("http://")) => {}
        _ => {
            return refuse(
                "BR 7.1.2.11.2",
                "cRLDistributionPoints",
                "exactly one DistributionPoint is expected, a fullName of http:// URIs without \
                 reasons or cRLIssuer"
                    .into(),
            );
        }
    }
    if let Some(access) = &facts.authority_info_access {
        let allowed = |(method, uri): &(ObjectIdentifier, Option<String>)| {
            (*method == oid::AD_OCSP || *method == oid::AD_CA_ISSUERS)
                && uri.as_deref().is_some_and(|u| u.starts_with("http://"))
        };
        if access.is_empty() || !access.iter().all(allowed) {
            return refuse(
                "BR 7.1.2.10.3",
                "authorityInfoAccess",
                "only id-ad-ocsp and id-ad-caIssuers, each with an http:// URI, are allowed".into(),
            );
        }
    }
    Ok(key_usage.has(KeyUsageBits::DIGITAL_SIGNATURE))
}

/// BR 7.1.2.10.6 (and 7.1.2.2.5 for a restricted TLS cross-certificate): id-kp-serverAuth
/// first and required, id-kp-clientAuth allowed, nothing else. Returns whether clientAuth is
/// there.
pub(crate) fn check_tls_eku(
    document: &'static str,
    section: &'static str,
    eku: Option<&[ObjectIdentifier]>,
) -> Result<bool> {
    match eku {
        Some([first]) if *first == oid::SERVER_AUTH => Ok(false),
        Some([first, second]) if *first == oid::SERVER_AUTH && *second == oid::CLIENT_AUTH => {
            Ok(true)
        }
        _ => Err(X509Error::profile(
            document,
            section,
            "extKeyUsage",
            format!(
                "it must be id-kp-serverAuth, or id-kp-serverAuth then id-kp-clientAuth; it is {}",
                eku.map_or("absent".to_owned(), |oids| oids
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "))
            ),
        )),
    }
}
