//! The subordinate CA certificate the root issues to a TLS issuing CA: BR 7.1.2.6 (TLS
//! Subordinate CA Certificate Profile) with the common CA fields of BR 7.1.2.10 and 7.1.2.11;
//! CPS 6.3.2 limits its validity to 20 years, which the policy's lint enforces.
//!
//! [`prepare_subordinate`] builds the TBS from the reviewed request and reads it back;
//! the HSM signs [`PreparedCertificate::tbs_der`] with the root's key;
//! [`PreparedCertificate::assemble`] takes the raw signature; [`verify_subordinate`] checks
//! the result in software against the root.

use chrono::{DateTime, Utc};
use der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

use crate::{
    ca_profile::{
        CA_EXTENSIONS, ca_subject, check_ca_extensions, check_policy_list, check_tls_eku,
    },
    cert_facts::{CertificateFacts, read_tbs},
    error::Result,
    ext_build,
    ext_read::oid,
    issuance::{not_after_for, not_before_in_window, serial_number},
    issued::{
        IssuedParts, IssuedSummary, PreparedCertificate, build, check_against_issuer,
        check_extension_set, check_method_1_ski, refuse_mismatch, summary, verify_signed,
    },
    issuer::Issuer,
    name::DistinguishedName,
    quality::KeyQuality,
};

const DOCUMENT: &str = "subordinate CA certificate";
const SECTION: &str = "BR 7.1.2.6";

/// What the ceremony script asks for, with the subordinate's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubordinateRequest {
    /// The subordinate CA's subject (BR 7.1.2.10.2): the script's, not the CSR's.
    pub subject: DistinguishedName,
    /// Random bytes from the HSM's generator for the serial number (16 in a ceremony).
    pub serial: Vec<u8>,
    /// notBefore, within one day before the signing time (BR 7.1.2.10.1).
    pub not_before: DateTime<Utc>,
    /// Validity in days of 86,400 s, notBefore through notAfter inclusive (CPS 6.3.2: at
    /// most 20 years, the policy's limit).
    pub validity_days: u32,
    /// basicConstraints pathLenConstraint: 0 for a CA that issues only end-entity
    /// certificates (BR 7.1.2.10.4: MAY be present).
    pub path_len_constraint: Option<u8>,
    /// Add id-kp-clientAuth after id-kp-serverAuth (BR 7.1.2.10.6: MAY).
    pub client_auth: bool,
    /// Add keyUsage digitalSignature, for a CA that signs OCSP responses itself
    /// (BR 7.1.2.10.7).
    pub digital_signature: bool,
    /// certificatePolicies: one CA/Browser Forum reserved identifier first, then the
    /// identifiers of the CA's CP/CPS (BR 7.1.2.10.5, 7.1.6.1).
    pub policies: Vec<ObjectIdentifier>,
    /// The HTTP URL of the root's CRL (cRLDistributionPoints, BR 7.1.2.11.2).
    pub crl_url: String,
    /// The HTTP URL of the root's OCSP responder, if it runs one (authorityInfoAccess).
    pub ocsp_url: Option<String>,
    /// The HTTP URL of the root certificate (authorityInfoAccess id-ad-caIssuers, SHOULD).
    pub ca_issuers_url: Option<String>,
    /// The subordinate's DER subjectPublicKeyInfo, from its CSR or public key file.
    pub subject_public_key_info: Vec<u8>,
}

/// Builds and checks a subordinate CA certificate's TBS before anything is signed:
///
/// - the subject (BR 7.1.2.10.2, 7.1.4) and the subordinate's key (BR 6.1.5, 7.1.3.1,
///   CPS 6.1.6 and goodkey's weak-key checks);
/// - the serial number from the HSM's random bytes, as for the root;
/// - notBefore within one day before `signing_time` (BR 7.1.2.10.1), notAfter =
///   notBefore + validity_days days - 1 s, the whole within the root's validity;
/// - exactly the extensions of BR 7.1.2.6.1: authorityKeyIdentifier = the root's
///   subjectKeyIdentifier; basicConstraints critical, cA, the pathLenConstraint asked for;
///   keyUsage critical, keyCertSign and cRLSign (digitalSignature if asked); extKeyUsage
///   serverAuth (clientAuth if asked); certificatePolicies as BR 7.1.2.10.5 restricts them;
///   one HTTP CRL distribution point; authorityInfoAccess when a URL is given;
///   subjectKeyIdentifier = SHA-1 of the subjectPublicKey (RFC 5280 4.2.1.2 method 1).
///
/// The TBS is then read back with this crate's parser and held to the profile
/// ([`inspect_subordinate_tbs`]) and to the request.
pub fn prepare_subordinate(
    req: &SubordinateRequest,
    issuer: &Issuer,
    signing_time: DateTime<Utc>,
) -> Result<PreparedCertificate> {
    let subject_der = ca_subject(&req.subject)?;
    crate::algorithm::check_certified_key(&req.subject_public_key_info)?;
    check_policy_list(DOCUMENT, "BR 7.1.2.10.5", &req.policies)?;
    let serial = serial_number(&req.serial)?;
    let not_before = not_before_in_window(req.not_before, signing_time)?;
    let not_after = not_after_for(not_before, req.validity_days)?;
    let ski = ext_build::key_identifier(&req.subject_public_key_info)?;

    let mut usages = KeyUsages::KeyCertSign | KeyUsages::CRLSign;
    if req.digital_signature {
        usages |= KeyUsages::DigitalSignature;
    }
    let mut eku = vec![oid::SERVER_AUTH];
    if req.client_auth {
        eku.push(oid::CLIENT_AUTH);
    }
    let mut extensions = vec![
        ext_build::authority_key_identifier(issuer.subject_key_identifier())?,
        ext_build::basic_constraints_ca(req.path_len_constraint)?,
        ext_build::key_usage(usages)?,
        ext_build::extended_key_usage(&eku)?,
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
            subject_der: &subject_der,
            serial,
            not_before,
            not_after,
            spki_der: &req.subject_public_key_info,
            extensions,
        },
    )?;
    let (facts, _) = check_subordinate(facts, issuer)?;
    let policies: Vec<ObjectIdentifier> = facts
        .certificate_policies
        .iter()
        .flatten()
        .map(|(oid, _)| *oid)
        .collect();
    refuse_mismatch(
        DOCUMENT,
        &[
            (
                facts.validity_days != u64::from(req.validity_days),
                "validity days",
            ),
            (
                facts.basic_constraints != Some((true, req.path_len_constraint)),
                "pathLenConstraint",
            ),
            (policies != req.policies, "certificatePolicies"),
        ],
    )?;
    Ok(prepared)
}

/// Reads a subordinate CA certificate's DER TBS and checks it against BR 7.1.2.6 and the
/// root (see [`prepare_subordinate`] for the rules); for the policy lint, which reads a TBS
/// with this same parser. Returns the facts and the subordinate key's quality.
pub fn inspect_subordinate_tbs(
    tbs_der: &[u8],
    issuer: &Issuer,
) -> Result<(CertificateFacts, KeyQuality)> {
    check_subordinate(read_tbs(tbs_der)?, issuer)
}

fn check_subordinate(
    facts: CertificateFacts,
    issuer: &Issuer,
) -> Result<(CertificateFacts, KeyQuality)> {
    let quality = check_against_issuer(DOCUMENT, SECTION, &facts, issuer)?;
    check_extension_set(DOCUMENT, "BR 7.1.2.6.1", &facts, &CA_EXTENSIONS)?;
    check_ca_extensions(DOCUMENT, "BR 7.1.2.10.5", &facts)?;
    check_tls_eku(
        DOCUMENT,
        "BR 7.1.2.10.6",
        facts.extended_key_usage.as_deref(),
    )?;
    check_method_1_ski(DOCUMENT, &facts)?;
    Ok((facts, quality))
}

/// Checks a signed subordinate CA certificate in software, without x509-cert: the
/// signature with the root's key, the outer signatureAlgorithm, canonical DER, the profile
/// ([`inspect_subordinate_tbs`]) and that it certifies exactly `expected_spki_der`.
pub fn verify_subordinate(
    cert_der: &[u8],
    issuer: &Issuer,
    expected_spki_der: &[u8],
) -> Result<IssuedSummary> {
    let facts = verify_signed(DOCUMENT, cert_der, issuer, expected_spki_der)?;
    let (facts, quality) = check_subordinate(facts, issuer)?;
    Ok(summary(DOCUMENT, cert_der, &facts, issuer, quality))
}
