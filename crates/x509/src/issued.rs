//! What the certificates the root issues share, whatever their profile (subordinate CA,
//! cross-certificate, OCSP responder): the TBS built with x509-cert and read back with this
//! crate's own parser, the checks against the issuer (BR 7.1.2.6, 7.1.2.2, 7.1.2.8 and
//! 7.1.2.11.1), the HSM's signature assembled, and the check after signing in software.

use std::fmt;

use chrono::{DateTime, Utc};
use der::{Decode, asn1::ObjectIdentifier};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::{
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    certificate::TbsCertificate,
    ext::Extension,
    name::Name,
    serial_number::SerialNumber,
    time::Validity,
};

use crate::{
    algorithm::{SignatureAlgorithm, check_certified_key},
    cert_facts::{CertificateFacts, read_certificate, read_tbs},
    error::{Result, X509Error},
    ext_read::oid,
    issuance::{
        TokenSigner, assemble_certificate, certificate_time, rfc3339, without_leading_zeros,
    },
    issuer::Issuer,
    quality::KeyQuality,
    text::fingerprint_hex,
    verify::verify_signature_bytes,
};

/// Authority key identifier rule, which every issued profile shares.
const AKI_SECTION: &str = "BR 7.1.2.11.1";
/// A certificate that outlives its issuer cannot be validated once the issuer has expired.
const WITHIN_ISSUER_SECTION: &str = "RFC 5280 6.1.3, CPS 6.3.2";

/// x509-cert's builder profile for a certificate whose names and extensions are all decided
/// before the builder runs.
pub(crate) struct FixedProfile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// The fields of a certificate the root issues, decided by its profile module.
pub(crate) struct IssuedParts<'a> {
    pub(crate) subject_der: &'a [u8],
    pub(crate) serial: SerialNumber,
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) not_after: DateTime<Utc>,
    pub(crate) spki_der: &'a [u8],
    pub(crate) extensions: Vec<Extension>,
}

/// A checked TBS of a certificate the root issues, waiting for the HSM's signature.
pub struct PreparedCertificate {
    document: &'static str,
    builder: CertificateBuilder<FixedProfile>,
    signer: TokenSigner,
    tbs: Vec<u8>,
}

impl fmt::Debug for PreparedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCertificate")
            .field("document", &self.document)
            .field("signature_algorithm", &self.signer.algorithm)
            .field("tbs", &hex::encode_upper(&self.tbs))
            .finish_non_exhaustive()
    }
}

impl PreparedCertificate {
    /// The DER TBSCertificate for the HSM to sign with the root's key.
    ///
    /// RSA: sign these bytes with CKM_SHA384_RSA_PKCS. P-384: hash them with SHA-384 and sign
    /// the hash with CKM_ECDSA.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    /// The signature algorithm the HSM must use: the root's.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signer.algorithm
    }

    /// What this certificate is: `subordinate CA certificate`, `cross-certificate` or
    /// `OCSP responder certificate`.
    pub fn document(&self) -> &'static str {
        self.document
    }

    /// The certificate DER, from the raw signature the HSM made over [`Self::tbs_der`]
    /// (RSA: 512 bytes; P-384: r||s, 96 bytes). The signature is not checked here: run the
    /// profile's verify function on the result.
    pub fn assemble(self, raw_signature: &[u8]) -> Result<Vec<u8>> {
        assemble_certificate(self.builder, &self.signer, &self.tbs, raw_signature)
    }
}

/// Builds the TBS with x509-cert and reads it back with this crate's parser, refusing it
/// unless serial number, subject, validity and key are the ones asked for.
pub(crate) fn build(
    document: &'static str,
    issuer: &Issuer,
    parts: IssuedParts<'_>,
) -> Result<(PreparedCertificate, CertificateFacts)> {
    let build_error = |e: &dyn fmt::Display| X509Error::Build(e.to_string());
    let profile = FixedProfile {
        issuer: Name::from_der(issuer.subject_der()).map_err(|e| build_error(&e))?,
        subject: Name::from_der(parts.subject_der).map_err(|e| build_error(&e))?,
        extensions: parts.extensions,
    };
    let validity = Validity::new(
        certificate_time(parts.not_before, "notBefore")?,
        certificate_time(parts.not_after, "notAfter")?,
    );
    let serial = without_leading_zeros(parts.serial.as_bytes()).to_vec();
    let spki = SubjectPublicKeyInfoOwned::from_der(parts.spki_der)
        .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
    let mut builder = CertificateBuilder::new(profile, parts.serial, validity, spki)
        .map_err(|e| build_error(&e))?;
    let signer = TokenSigner::new(issuer.spki_der(), issuer.signature_algorithm());
    let tbs = builder.finalize(&signer).map_err(|e| build_error(&e))?;
    let facts = read_tbs(&tbs).map_err(|e| X509Error::ProfileMismatch(e.to_string()))?;
    refuse_mismatch(
        document,
        &[
            (facts.serial != serial, "serialNumber"),
            (facts.subject_der != parts.subject_der, "subject"),
            (facts.not_before != parts.not_before, "notBefore"),
            (facts.not_after != parts.not_after, "notAfter"),
            (facts.spki_der != parts.spki_der, "subjectPublicKeyInfo"),
        ],
    )?;
    let prepared = PreparedCertificate {
        document,
        builder,
        signer,
        tbs,
    };
    Ok((prepared, facts))
}

/// Refuses a TBS read back from x509-cert unless `differs` is all false, naming the first
/// field that differs from the request.
pub(crate) fn refuse_mismatch(document: &'static str, differs: &[(bool, &str)]) -> Result<()> {
    match differs.iter().find(|(differs, _)| *differs) {
        Some((_, field)) => Err(X509Error::ProfileMismatch(format!(
            "the {document}'s {field} differs from the request"
        ))),
        None => Ok(()),
    }
}

/// The checks every issued profile shares, against the issuer: serial number, signature
/// AlgorithmIdentifier (the issuer's, BR 7.1.3.2), issuer name byte for byte (BR 7.1.4.1),
/// no unique identifiers, validity within the issuer's, authorityKeyIdentifier equal to the
/// issuer's subjectKeyIdentifier (BR 7.1.2.11.1), and the subject's key
/// ([`check_certified_key`]: BR 6.1.5, 7.1.3.1, CPS 6.1.6, goodkey). Returns the key's
/// quality.
pub(crate) fn check_against_issuer(
    document: &'static str,
    profile_section: &'static str,
    facts: &CertificateFacts,
    issuer: &Issuer,
) -> Result<KeyQuality> {
    let refuse =
        |section, check, detail: String| Err(X509Error::profile(document, section, check, detail));
    if facts.serial.iter().all(|&b| b == 0) {
        return refuse(
            profile_section,
            "serialNumber",
            "the serial number is zero".into(),
        );
    }
    if facts.signature_algorithm_der != issuer.signature_algorithm().required_der() {
        return refuse(
            "BR 7.1.3.2",
            "signature",
            format!(
                "the signature AlgorithmIdentifier is {}, not the issuer's {} as BR 7.1.3.2 \
                 encodes it",
                hex::encode_upper(&facts.signature_algorithm_der),
                issuer.signature_algorithm()
            ),
        );
    }
    if facts.issuer_der != issuer.subject_der() {
        return refuse(
            "BR 7.1.4.1",
            "issuer",
            format!(
                "the issuer {} is not byte for byte the root's subject {}",
                facts.issuer,
                issuer.subject()
            ),
        );
    }
    if facts.unique_identifiers {
        return refuse(
            profile_section,
            "unique identifiers",
            "issuerUniqueID or subjectUniqueID is present".into(),
        );
    }
    if facts.not_after <= facts.not_before {
        return refuse(
            "RFC 5280 4.1.2.5",
            "validity",
            format!(
                "notAfter {} is not after notBefore {}",
                rfc3339(facts.not_after),
                rfc3339(facts.not_before)
            ),
        );
    }
    if facts.not_before < issuer.not_before() || facts.not_after > issuer.not_after() {
        return refuse(
            WITHIN_ISSUER_SECTION,
            "validity within the issuer's",
            format!(
                "{} to {} is not within the root's validity, {} to {}: choose a shorter \
                 validity or a later notBefore",
                rfc3339(facts.not_before),
                rfc3339(facts.not_after),
                rfc3339(issuer.not_before()),
                rfc3339(issuer.not_after())
            ),
        );
    }
    match (
        &facts.authority_key_identifier,
        facts
            .extension(oid::AUTHORITY_KEY_IDENTIFIER)
            .map(|e| e.critical),
    ) {
        (Some((Some(key_id), false)), Some(false)) if key_id == issuer.subject_key_identifier() => {
        }
        _ => {
            return refuse(
                AKI_SECTION,
                "authorityKeyIdentifier",
                format!(
                    "it must be non-critical, with only a keyIdentifier equal to the root's \
                     subjectKeyIdentifier {}",
                    hex::encode_upper(issuer.subject_key_identifier())
                ),
            );
        }
    }
    check_certified_key(&facts.spki_der)
}

/// One extension a profile allows: its OID, name, criticality and whether it must be there.
pub(crate) struct Allowed {
    pub(crate) oid: ObjectIdentifier,
    pub(crate) name: &'static str,
    pub(crate) critical: bool,
    pub(crate) required: bool,
}

/// The extensions the issued profiles share, as this tool writes them.
pub(crate) const AKI: Allowed = Allowed {
    oid: oid::AUTHORITY_KEY_IDENTIFIER,
    name: "authorityKeyIdentifier",
    critical: false,
    required: true,
};
pub(crate) const SKI: Allowed = Allowed {
    oid: oid::SUBJECT_KEY_IDENTIFIER,
    name: "subjectKeyIdentifier",
    critical: false,
    required: true,
};
pub(crate) const KEY_USAGE: Allowed = Allowed {
    oid: oid::KEY_USAGE,
    name: "keyUsage",
    critical: true,
    required: true,
};
pub(crate) const EKU: Allowed = Allowed {
    oid: oid::EXTENDED_KEY_USAGE,
    name: "extKeyUsage",
    critical: false,
    required: true,
};

/// The subjectKeyIdentifier of RFC 5280 4.2.1.2 method 1 (BR 7.1.2.11.4), which this tool
/// writes into every certificate for a new key.
pub(crate) fn check_method_1_ski(document: &'static str, facts: &CertificateFacts) -> Result<()> {
    let method_1 = crate::ext_build::key_identifier(&facts.spki_der)?;
    if facts.subject_key_identifier.as_deref() == Some(method_1.as_slice()) {
        Ok(())
    } else {
        Err(X509Error::profile(
            document,
            "BR 7.1.2.11.4, RFC 5280 4.2.1.2",
            "subjectKeyIdentifier",
            "it must be the SHA-1 of the subjectPublicKey (method 1)",
        ))
    }
}

/// Refuses an extension the profile does not list, one with the wrong criticality, and a
/// required one that is missing.
pub(crate) fn check_extension_set(
    document: &'static str,
    section: &'static str,
    facts: &CertificateFacts,
    allowed: &[Allowed],
) -> Result<()> {
    for extension in &facts.extensions {
        let Some(rule) = allowed.iter().find(|a| a.oid == extension.oid) else {
            return Err(X509Error::profile(
                document,
                section,
                "extensions",
                format!(
                    "extension {} is not in the profile, which allows {}",
                    extension.oid,
                    allowed
                        .iter()
                        .map(|a| a.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if extension.critical != rule.critical {
            return Err(X509Error::profile(
                document,
                section,
                "extensions",
                format!(
                    "{} must be {}",
                    rule.name,
                    if rule.critical {
                        "critical"
                    } else {
                        "non-critical"
                    }
                ),
            ));
        }
    }
    if let Some(missing) = allowed
        .iter()
        .find(|a| a.required && facts.extension(a.oid).is_none())
    {
        return Err(X509Error::profile(
            document,
            section,
            "extensions",
            format!("{} is missing", missing.name),
        ));
    }
    Ok(())
}

/// What a checked certificate the root issued says, for the log and the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedSummary {
    /// `subordinate CA certificate`, `cross-certificate` or `OCSP responder certificate`.
    pub document: &'static str,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer (the root's subject), RFC 4514.
    pub issuer: String,
    /// Serial number, upper-case hex of the INTEGER's value without leading zeros.
    pub serial_hex: String,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// notBefore through notAfter inclusive, in days of 86,400 s (CPS 6.3.2).
    pub validity_days: u64,
    /// The root's signature algorithm.
    pub signature_algorithm: SignatureAlgorithm,
    /// The certified key and the checks it passed.
    pub key_quality: KeyQuality,
    /// SHA-256 of the certified subjectPublicKeyInfo, upper-case hex.
    pub public_key_sha256: String,
    /// SHA-256 of the certificate DER (CPS 8.6).
    pub sha256: [u8; 32],
    /// SHA-1 of the certificate DER.
    pub sha1: [u8; 20],
    /// The subjectKeyIdentifier.
    pub subject_key_identifier: Vec<u8>,
    /// The authorityKeyIdentifier: the root's subjectKeyIdentifier.
    pub authority_key_identifier: Vec<u8>,
}

/// The check after signing, in software: canonical DER with nothing after it; the outer
/// signatureAlgorithm byte for byte the TBS's and the issuer's; the signature verified over
/// the TBS with the root's key (`rsa` / `p384`); the certified key byte for byte
/// `expected_spki_der`. Returns the TBS facts for the profile's own checks.
pub(crate) fn verify_signed(
    document: &'static str,
    cert_der: &[u8],
    issuer: &Issuer,
    expected_spki_der: &[u8],
) -> Result<CertificateFacts> {
    let read = read_certificate(cert_der)?;
    let (facts, tbs, outer_algorithm, signature) = (
        read.facts,
        read.tbs_der,
        read.signature_algorithm_der,
        read.signature,
    );
    let required = issuer.signature_algorithm().required_der();
    if outer_algorithm != required || facts.signature_algorithm_der != required {
        return Err(X509Error::profile(
            document,
            "BR 7.1.3.2",
            "signatureAlgorithm == tbsCertificate.signature",
            format!(
                "the outer signatureAlgorithm {} and the TBS signature field {} must both be \
                 the root's {}",
                hex::encode_upper(&outer_algorithm),
                hex::encode_upper(&facts.signature_algorithm_der),
                issuer.signature_algorithm()
            ),
        ));
    }
    let signature = signature.ok_or_else(|| {
        X509Error::check("signatureValue", "the signature BIT STRING has unused bits")
    })?;
    verify_signature_bytes(
        issuer.signature_algorithm(),
        issuer.spki_der(),
        &tbs,
        &signature,
    )?;
    if facts.spki_der != expected_spki_der {
        return Err(X509Error::profile(
            document,
            "RFC 2986 4.1",
            "subjectPublicKeyInfo",
            format!(
                "the certificate certifies the key with SPKI SHA-256 {}, not the requested {}",
                fingerprint_hex(&Sha256::digest(&facts.spki_der)),
                fingerprint_hex(&Sha256::digest(expected_spki_der))
            ),
        ));
    }
    Ok(facts)
}

/// The summary of a verified certificate.
pub(crate) fn summary(
    document: &'static str,
    cert_der: &[u8],
    facts: &CertificateFacts,
    issuer: &Issuer,
    key_quality: KeyQuality,
) -> IssuedSummary {
    IssuedSummary {
        document,
        subject: facts.subject.clone(),
        issuer: facts.issuer.clone(),
        serial_hex: hex::encode_upper(&facts.serial),
        not_before: facts.not_before,
        not_after: facts.not_after,
        validity_days: facts.validity_days,
        signature_algorithm: issuer.signature_algorithm(),
        key_quality,
        public_key_sha256: fingerprint_hex(&Sha256::digest(&facts.spki_der)),
        sha256: Sha256::digest(cert_der).into(),
        sha1: Sha1::digest(cert_der).into(),
        subject_key_identifier: facts.subject_key_identifier.clone().unwrap_or_default(),
        authority_key_identifier: issuer.subject_key_identifier().to_vec(),
    }
}
