//! The cross-certificate: the root certifies again the subject and key of an existing CA
//! certificate (another root, or a subordinate), BR 7.1.2.2 (Cross-Certified Subordinate CA
//! Certificate Profile), checked as Let's Encrypt boulder's `cross-certificate` ceremony
//! checks it: the existing certificate's subject byte for byte (7.1.2.2.2), its key, its
//! subjectKeyIdentifier and its pathLenConstraint kept; notBefore not before the existing
//! certificate's (7.1.2.2.1); its EKU identical to the existing certificate's, or exactly
//! serverAuth (and clientAuth) when the existing certificate has none, as a root has none.
//!
//! On organizations, the BRs say less than boulder checks: BR 7.1.2.2.3 lets the EKU be
//! "unrestricted" (anyExtendedKeyUsage) only when the issuer's and subject's
//! organizationName are the same or affiliated, and requires the restricted form otherwise.
//! This module enforces that; refusing any cross-certificate to another organization, as
//! boulder does, is the policy's choice (`cross_certificate.same_organization`).

use chrono::{DateTime, Utc};
use der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

use crate::{
    ca_profile::{CA_EXTENSIONS, check_ca_extensions, check_policy_list, check_tls_eku},
    cert_facts::{CertificateFacts, read_certificate_facts, read_tbs},
    error::{Result, X509Error},
    ext_build,
    ext_read::{KeyUsageBits, oid},
    issuance::{not_after_for, rfc3339, serial_number, whole_seconds},
    issued::{
        IssuedParts, IssuedSummary, PreparedCertificate, build, check_against_issuer,
        check_extension_set, summary, verify_signed,
    },
    issuer::Issuer,
    quality::KeyQuality,
};

const DOCUMENT: &str = "cross-certificate";
const SECTION: &str = "BR 7.1.2.2";

/// What the ceremony script asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossRequest {
    /// The existing CA certificate to certify again, DER.
    pub existing_certificate: Vec<u8>,
    /// Random bytes from the HSM's generator for the serial number.
    pub serial: Vec<u8>,
    /// notBefore: not before the existing certificate's, not after the signing time
    /// (BR 7.1.2.2.1).
    pub not_before: DateTime<Utc>,
    /// Validity in days of 86,400 s, notBefore through notAfter inclusive.
    pub validity_days: u32,
    /// When the existing certificate has no extKeyUsage (a root): add id-kp-clientAuth after
    /// id-kp-serverAuth. Otherwise its extKeyUsage is copied and this must be false.
    pub client_auth: bool,
    /// certificatePolicies: one reserved identifier first, then the CA's (BR 7.1.2.2.6).
    pub policies: Vec<ObjectIdentifier>,
    /// The HTTP URL of the root's CRL.
    pub crl_url: String,
    /// The HTTP URL of the root's OCSP responder, if any.
    pub ocsp_url: Option<String>,
    /// The HTTP URL of the root certificate (id-ad-caIssuers).
    pub ca_issuers_url: Option<String>,
}

/// Reads the existing certificate and refuses one that cannot be cross-certified: not a CA
/// certificate, without a subjectKeyIdentifier to keep, with a key this tool does not
/// certify, or the root itself.
fn existing_ca(existing_der: &[u8], issuer: &Issuer) -> Result<CertificateFacts> {
    let existing = read_certificate_facts(existing_der)?;
    let refuse = |check, detail: &str| {
        Err(X509Error::profile(
            "certificate to cross-certify",
            SECTION,
            check,
            detail,
        ))
    };
    if !existing.is_ca() {
        return refuse("basicConstraints", "it is not a CA certificate (cA TRUE)");
    }
    if existing.subject_key_identifier.is_none() {
        return refuse(
            "subjectKeyIdentifier",
            "it has none, so there is none to keep",
        );
    }
    if existing.spki_der == issuer.spki_der() {
        return refuse(
            "subjectPublicKeyInfo",
            "it certifies the root's own key: a root does not cross-certify itself",
        );
    }
    crate::algorithm::check_certified_key(&existing.spki_der)?;
    Ok(existing)
}

/// The extKeyUsage of the cross-certificate: the existing certificate's, or for one without
/// (a root) serverAuth and, if asked, clientAuth.
fn eku_for(existing: &CertificateFacts, client_auth: bool) -> Result<Vec<ObjectIdentifier>> {
    match &existing.extended_key_usage {
        None => Ok(if client_auth {
            vec![oid::SERVER_AUTH, oid::CLIENT_AUTH]
        } else {
            vec![oid::SERVER_AUTH]
        }),
        Some(_) if client_auth => Err(X509Error::profile(
            DOCUMENT,
            SECTION,
            "extKeyUsage",
            "the existing certificate has an extKeyUsage, which is copied as it is: do not ask \
             for clientAuth",
        )),
        Some(eku) => Ok(eku.clone()),
    }
}

/// Builds and checks a cross-certificate's TBS for the existing certificate of `req`: its
/// subject, key, subjectKeyIdentifier and pathLenConstraint kept, keyUsage keyCertSign and
/// cRLSign (with digitalSignature if the existing certificate has it), the extKeyUsage of
/// [`CrossRequest::client_auth`], the policies, CRL distribution point and
/// authorityInfoAccess asked for, authorityKeyIdentifier the root's SKI; notBefore between
/// the existing certificate's notBefore and `signing_time`; the whole within the root's
/// validity. Read back and held to the profile ([`inspect_cross_tbs`]) and the request.
pub fn prepare_cross_certificate(
    req: &CrossRequest,
    issuer: &Issuer,
    signing_time: DateTime<Utc>,
) -> Result<PreparedCertificate> {
    let existing = existing_ca(&req.existing_certificate, issuer)?;
    check_policy_list(DOCUMENT, "BR 7.1.2.2.6", &req.policies)?;
    let serial = serial_number(&req.serial)?;
    let not_before = whole_seconds(req.not_before, "notBefore")?;
    if not_before < existing.not_before || not_before > signing_time {
        return Err(X509Error::profile(
            DOCUMENT,
            "BR 7.1.2.2.1",
            "notBefore",
            format!(
                "{} must lie between the existing certificate's notBefore {} and the signing \
                 time {}",
                rfc3339(not_before),
                rfc3339(existing.not_before),
                rfc3339(signing_time)
            ),
        ));
    }
    let not_after = not_after_for(not_before, req.validity_days)?;
    let (_, path_len) = existing.basic_constraints.unwrap_or_default();
    let mut usages = KeyUsages::KeyCertSign | KeyUsages::CRLSign;
    if existing
        .key_usage
        .is_some_and(|ku| ku.has(KeyUsageBits::DIGITAL_SIGNATURE))
    {
        usages |= KeyUsages::DigitalSignature;
    }
    let ski = existing.subject_key_identifier.clone().unwrap_or_default();
    let mut extensions = vec![
        ext_build::authority_key_identifier(issuer.subject_key_identifier())?,
        ext_build::basic_constraints_ca(path_len)?,
        ext_build::key_usage(usages)?,
        ext_build::extended_key_usage(&eku_for(&existing, req.client_auth)?)?,
        ext_build::certificate_policies(&req.policies)?,
        ext_build::crl_distribution_point(&req.crl_url)?,
    ];
    extensions.extend(ext_build::authority_info_access(
        req.ocsp_url.as_deref(),
        req.ca_issuers_url.as_deref(),
    )?);
    extensions.push(ext_build::subject_key_identifier(&ski)?);

    let (prepared, facts) = build(
        DOCUMENT,
        issuer,
        IssuedParts {
            subject_der: &existing.subject_der,
            serial,
            not_before,
            not_after,
            spki_der: &existing.spki_der,
            extensions,
        },
    )?;
    check_cross(facts, issuer, &existing)?;
    Ok(prepared)
}

/// Reads a cross-certificate's DER TBS and checks it against BR 7.1.2.2, the root and the
/// existing certificate `existing_der`; for the policy lint.
pub fn inspect_cross_tbs(
    tbs_der: &[u8],
    issuer: &Issuer,
    existing_der: &[u8],
) -> Result<(CertificateFacts, KeyQuality)> {
    let existing = existing_ca(existing_der, issuer)?;
    check_cross(read_tbs(tbs_der)?, issuer, &existing)
}

fn check_cross(
    facts: CertificateFacts,
    issuer: &Issuer,
    existing: &CertificateFacts,
) -> Result<(CertificateFacts, KeyQuality)> {
    let quality = check_against_issuer(DOCUMENT, SECTION, &facts, issuer)?;
    check_extension_set(DOCUMENT, "BR 7.1.2.2.3", &facts, &CA_EXTENSIONS)?;
    check_ca_extensions(DOCUMENT, "BR 7.1.2.2.6", &facts)?;
    let refuse =
        |section, check, detail: String| Err(X509Error::profile(DOCUMENT, section, check, detail));
    let kept = [
        (
            facts.subject_der == existing.subject_der,
            "subject",
            "BR 7.1.2.2.2",
        ),
        (
            facts.spki_der == existing.spki_der,
            "subjectPublicKeyInfo",
            SECTION,
        ),
        (
            facts.subject_key_identifier == existing.subject_key_identifier,
            "subjectKeyIdentifier",
            SECTION,
        ),
        (
            facts.basic_constraints.map(|(_, len)| len)
                == existing.basic_constraints.map(|(_, len)| len),
            "pathLenConstraint",
            SECTION,
        ),
    ];
    if let Some((_, field, section)) = kept.iter().find(|(same, _, _)| !same) {
        return refuse(
            section,
            field,
            "it must be the existing certificate's, byte for byte".into(),
        );
    }
    if facts.not_before < existing.not_before {
        return refuse(
            "BR 7.1.2.2.1",
            "notBefore",
            format!(
                "{} is before the existing certificate's notBefore {}",
                rfc3339(facts.not_before),
                rfc3339(existing.not_before)
            ),
        );
    }
    let eku = facts.extended_key_usage.as_deref();
    if let Some(existing_eku) = &existing.extended_key_usage
        && eku != Some(existing_eku.as_slice())
    {
        return refuse(
            SECTION,
            "extKeyUsage",
            "it must be identical to the existing certificate's".into(),
        );
    }
    let unrestricted =
        existing.extended_key_usage.is_some() && eku == Some(&[oid::ANY_EXTENDED_KEY_USAGE]);
    if !unrestricted {
        // A root's cross-certificate, or a restricted existing one: BR 7.1.2.2.5.
        check_tls_eku(DOCUMENT, "BR 7.1.2.2.5", eku)?;
    } else if facts.subject_organization() != facts.issuer_organization() {
        return refuse(
            "BR 7.1.2.2.3",
            "extKeyUsage",
            "anyExtendedKeyUsage (unrestricted) is allowed only when the subject's and the \
             issuer's organizationName are the same"
                .into(),
        );
    }
    Ok((facts, quality))
}

/// Checks a signed cross-certificate in software: the signature with the root's key,
/// canonical DER, the profile against the existing certificate, and that it certifies
/// exactly the existing certificate's key.
pub fn verify_cross_certificate(
    cert_der: &[u8],
    issuer: &Issuer,
    existing_der: &[u8],
) -> Result<IssuedSummary> {
    let existing = existing_ca(existing_der, issuer)?;
    let facts = verify_signed(DOCUMENT, cert_der, issuer, &existing.spki_der)?;
    let (facts, quality) = check_cross(facts, issuer, &existing)?;
    Ok(summary(DOCUMENT, cert_der, &facts, issuer, quality))
}
