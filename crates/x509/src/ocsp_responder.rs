//! The delegated OCSP responder certificate the root issues, so that its OCSP responses are
//! signed by a responder key rather than the root key: BR 7.1.2.8 (OCSP Responder Certificate
//! Profile), RFC 6960 4.2.2.2. CPS 6.1.7 allows the root key to sign it; CPS 6.3.2 limits it
//! to 125 days, which the policy's lint enforces.

use chrono::{DateTime, Utc};
use x509_cert::ext::pkix::KeyUsages;

use crate::{
    ca_profile::ca_subject,
    cert_facts::{CertificateFacts, read_tbs},
    error::{Result, X509Error},
    ext_build,
    ext_read::{KeyUsageBits, oid},
    issuance::{not_after_for, not_before_in_window, serial_number},
    issued::{
        AKI, Allowed, EKU, IssuedParts, IssuedSummary, KEY_USAGE, PreparedCertificate, SKI, build,
        check_against_issuer, check_extension_set, check_method_1_ski, summary, verify_signed,
    },
    issuer::Issuer,
    name::DistinguishedName,
    quality::KeyQuality,
};

const DOCUMENT: &str = "OCSP responder certificate";
const SECTION: &str = "BR 7.1.2.8";
/// The extnValue BR 7.1.2.8.6 requires of id-pkix-ocsp-nocheck: NULL.
const NULL_DER: [u8; 2] = [0x05, 0x00];

/// What the ceremony script asks for, with the responder's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspResponderRequest {
    /// The responder's subject (BR 7.1.2.8 refers to 7.1.2.10.2: C, O, CN).
    pub subject: DistinguishedName,
    /// Random bytes from the HSM's generator for the serial number.
    pub serial: Vec<u8>,
    /// notBefore, within one day before the signing time (BR 7.1.2.8.1).
    pub not_before: DateTime<Utc>,
    /// Validity in days of 86,400 s (CPS 6.3.2: at most 125).
    pub validity_days: u32,
    /// The responder's DER subjectPublicKeyInfo, from its CSR or public key file.
    pub subject_public_key_info: Vec<u8>,
}

/// BR 7.1.2.8.2, as this tool writes it: no basicConstraints (MAY; its absence says "not a
/// CA"), no authorityInfoAccess (NOT RECOMMENDED), no certificatePolicies (SHOULD NOT), no
/// cRLDistributionPoints (MUST NOT).
const EXTENSIONS: [Allowed; 5] = [
    AKI,
    KEY_USAGE,
    EKU,
    Allowed {
        oid: oid::OCSP_NO_CHECK,
        name: "id-pkix-ocsp-nocheck",
        critical: false,
        required: true,
    },
    SKI,
];

/// Builds and checks an OCSP responder certificate's TBS: the subject and the responder's
/// key as for a subordinate CA; notBefore within one day before `signing_time`; the whole
/// validity within the root's; exactly authorityKeyIdentifier (the root's SKI), keyUsage
/// critical digitalSignature only (BR 7.1.2.8.7), extKeyUsage id-kp-OCSPSigning only
/// (7.1.2.8.5), id-pkix-ocsp-nocheck with the value NULL (7.1.2.8.6) and
/// subjectKeyIdentifier (method 1). Read back and held to the profile and the request.
pub fn prepare_ocsp_responder(
    req: &OcspResponderRequest,
    issuer: &Issuer,
    signing_time: DateTime<Utc>,
) -> Result<PreparedCertificate> {
    let subject_der = ca_subject(&req.subject)?;
    crate::algorithm::check_certified_key(&req.subject_public_key_info)?;
    let serial = serial_number(&req.serial)?;
    let not_before = not_before_in_window(req.not_before, signing_time)?;
    let not_after = not_after_for(not_before, req.validity_days)?;
    let ski = ext_build::key_identifier(&req.subject_public_key_info)?;
    let extensions = vec![
        ext_build::authority_key_identifier(issuer.subject_key_identifier())?,
        ext_build::key_usage(KeyUsages::DigitalSignature)?,
        ext_build::extended_key_usage(&[oid::OCSP_SIGNING])?,
        ext_build::ocsp_no_check()?,
        ext_build::subject_key_identifier(&ski)?,
    ];
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
    check_ocsp_responder(facts, issuer)?;
    Ok(prepared)
}

/// Reads an OCSP responder certificate's DER TBS and checks it against BR 7.1.2.8 and the
/// root; for the policy lint.
pub fn inspect_ocsp_responder_tbs(
    tbs_der: &[u8],
    issuer: &Issuer,
) -> Result<(CertificateFacts, KeyQuality)> {
    check_ocsp_responder(read_tbs(tbs_der)?, issuer)
}

fn check_ocsp_responder(
    facts: CertificateFacts,
    issuer: &Issuer,
) -> Result<(CertificateFacts, KeyQuality)> {
    let quality = check_against_issuer(DOCUMENT, SECTION, &facts, issuer)?;
    check_extension_set(DOCUMENT, "BR 7.1.2.8.2", &facts, &EXTENSIONS)?;
    let refuse =
        |section, check, detail: &str| Err(X509Error::profile(DOCUMENT, section, check, detail));
    if facts.key_usage != Some(KeyUsageBits(KeyUsageBits::DIGITAL_SIGNATURE)) {
        return refuse("BR 7.1.2.8.7", "keyUsage", "digitalSignature only");
    }
    if facts.extended_key_usage.as_deref() != Some(&[oid::OCSP_SIGNING]) {
        return refuse("BR 7.1.2.8.5", "extKeyUsage", "id-kp-OCSPSigning only");
    }
    if facts
        .extension(oid::OCSP_NO_CHECK)
        .is_none_or(|e| e.value != NULL_DER)
    {
        return refuse(
            "BR 7.1.2.8.6",
            "id-pkix-ocsp-nocheck",
            "its extnValue must be exactly 0500 (NULL)",
        );
    }
    check_method_1_ski(DOCUMENT, &facts)?;
    Ok((facts, quality))
}

/// Checks a signed OCSP responder certificate in software: the signature with the root's
/// key, canonical DER, the profile, and that it certifies exactly `expected_spki_der`.
pub fn verify_ocsp_responder(
    cert_der: &[u8],
    issuer: &Issuer,
    expected_spki_der: &[u8],
) -> Result<IssuedSummary> {
    let facts = verify_signed(DOCUMENT, cert_der, issuer, expected_spki_der)?;
    let (facts, quality) = check_ocsp_responder(facts, issuer)?;
    Ok(summary(DOCUMENT, cert_der, &facts, issuer, quality))
}
