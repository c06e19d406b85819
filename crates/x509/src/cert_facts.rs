//! Any v3 certificate read with plain `der`, its extensions decoded one by one
//! (`ext_read`): what the subordinate, cross-certificate and OCSP responder profiles check
//! their TBS against, and what a cross-certificate takes from the certificate it certifies
//! again. Reading refuses malformed or non-canonical DER and an extension that appears twice
//! (RFC 5280 4.2); whether the content fits a profile is the profile's check.

use chrono::{DateTime, Utc};
use der::{EncodeValue, asn1::ObjectIdentifier};

use crate::{
    der_read::{
        MAX_SERIAL_LEN, NameAttribute, RawCertificate, RawTbs, VERSION_3, decode_canonical,
        inclusive_days, name_attributes, raw_der, render_name, time_to_chrono,
    },
    error::{Result, X509Error},
    ext_read::{self, DistributionPointFacts, KeyUsageBits, oid},
    name::ORGANIZATION_NAME,
};

/// One extension as it appears, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionSummary {
    /// extnID.
    pub oid: ObjectIdentifier,
    /// critical.
    pub critical: bool,
    /// The extnValue's content octets, DER.
    pub value: Vec<u8>,
}

/// What a certificate's TBS says, its known extensions decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The version field (2 for v3).
    pub version: Option<u8>,
    /// The serialNumber INTEGER's value, big-endian, without a leading zero octet.
    pub serial: Vec<u8>,
    /// The tbsCertificate signature AlgorithmIdentifier, DER.
    pub signature_algorithm_der: Vec<u8>,
    /// The issuer Name, DER.
    pub issuer_der: Vec<u8>,
    /// The issuer, RFC 4514.
    pub issuer: String,
    /// The subject Name, DER.
    pub subject_der: Vec<u8>,
    /// The subject, RFC 4514.
    pub subject: String,
    /// The subject's attributes in encoding order.
    pub subject_attributes: Vec<NameAttribute>,
    /// The issuer's attributes in encoding order.
    pub issuer_attributes: Vec<NameAttribute>,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// notBefore through notAfter inclusive, in days of 86,400 s (CPS 6.3.2).
    pub validity_days: u64,
    /// The subjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// issuerUniqueID or subjectUniqueID is present.
    pub unique_identifiers: bool,
    /// Every extension, in order.
    pub extensions: Vec<ExtensionSummary>,
    /// basicConstraints (cA, pathLenConstraint).
    pub basic_constraints: Option<(bool, Option<u8>)>,
    /// keyUsage.
    pub key_usage: Option<KeyUsageBits>,
    /// extKeyUsage, in order.
    pub extended_key_usage: Option<Vec<ObjectIdentifier>>,
    /// certificatePolicies: each policyIdentifier and whether it has qualifiers.
    pub certificate_policies: Option<Vec<(ObjectIdentifier, bool)>>,
    /// cRLDistributionPoints.
    pub crl_distribution_points: Option<Vec<DistributionPointFacts>>,
    /// authorityInfoAccess: each accessMethod with its URI.
    pub authority_info_access: Option<Vec<(ObjectIdentifier, Option<String>)>>,
    /// subjectKeyIdentifier.
    pub subject_key_identifier: Option<Vec<u8>>,
    /// authorityKeyIdentifier: keyIdentifier, and whether it names the issuer or serial.
    pub authority_key_identifier: Option<(Option<Vec<u8>>, bool)>,
}

impl CertificateFacts {
    /// The extension with this OID, if present.
    pub fn extension(&self, oid: ObjectIdentifier) -> Option<&ExtensionSummary> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    /// The subject's organizationName values, as text.
    pub fn subject_organization(&self) -> Vec<String> {
        organization(&self.subject_attributes)
    }

    /// The issuer's organizationName values, as text.
    pub fn issuer_organization(&self) -> Vec<String> {
        organization(&self.issuer_attributes)
    }

    /// Whether issuer and subject are the same name, byte for byte (a self-issued
    /// certificate, RFC 5280 6.1).
    pub fn is_self_issued(&self) -> bool {
        self.issuer_der == self.subject_der
    }

    /// Whether basicConstraints says cA TRUE.
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints, Some((true, _)))
    }
}

fn organization(attributes: &[NameAttribute]) -> Vec<String> {
    attributes
        .iter()
        .filter(|a| a.oid == ORGANIZATION_NAME)
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
        .collect()
}

/// A certificate read whole.
pub(crate) struct ReadCertificate {
    /// What its TBS says.
    pub(crate) facts: CertificateFacts,
    /// The TBS, DER: what the signature covers.
    pub(crate) tbs_der: Vec<u8>,
    /// The outer signatureAlgorithm, DER.
    pub(crate) signature_algorithm_der: Vec<u8>,
    /// The signatureValue bits; None if the BIT STRING has unused bits.
    pub(crate) signature: Option<Vec<u8>>,
}

/// Reads a DER certificate: canonical DER with nothing after it.
pub(crate) fn read_certificate(cert_der: &[u8]) -> Result<ReadCertificate> {
    let certificate: RawCertificate<'_> = decode_canonical(cert_der, "the certificate")?;
    let tbs_der = raw_der(certificate.tbs_certificate, "the tbsCertificate")?;
    Ok(ReadCertificate {
        facts: read_tbs(&tbs_der)?,
        signature_algorithm_der: raw_der(
            certificate.signature_algorithm,
            "the signatureAlgorithm",
        )?,
        signature: certificate.signature.as_bytes().map(<[u8]>::to_vec),
        tbs_der,
    })
}

/// Reads a DER TBSCertificate.
pub fn read_tbs(tbs_der: &[u8]) -> Result<CertificateFacts> {
    let tbs: RawTbs<'_> = decode_canonical(tbs_der, "the tbsCertificate")?;
    let serial_len = usize::try_from(
        tbs.serial_number
            .value_len()
            .map_err(|e| X509Error::malformed("the serialNumber", e))?,
    )
    .map_err(|e| X509Error::malformed("the serialNumber", e))?;
    if serial_len > MAX_SERIAL_LEN {
        return Err(X509Error::check(
            "serialNumber",
            format!("the serial number takes {serial_len} octets, more than 20 (RFC 5280 4.1.2.2)"),
        ));
    }
    let issuer_der = raw_der(tbs.issuer, "the issuer")?;
    let subject_der = raw_der(tbs.subject, "the subject")?;
    let not_before = time_to_chrono(tbs.validity.not_before, "notBefore")?;
    let not_after = time_to_chrono(tbs.validity.not_after, "notAfter")?;
    let mut facts = CertificateFacts {
        version: tbs.version,
        serial: tbs.serial_number.as_bytes().to_vec(),
        signature_algorithm_der: raw_der(tbs.signature, "the signature AlgorithmIdentifier")?,
        issuer: render_name(&issuer_der, "the issuer")?,
        issuer_attributes: name_attributes(&issuer_der, "the issuer")?,
        subject: render_name(&subject_der, "the subject")?,
        subject_attributes: name_attributes(&subject_der, "the subject")?,
        issuer_der,
        subject_der,
        not_before,
        not_after,
        validity_days: inclusive_days(not_before, not_after)?,
        spki_der: raw_der(tbs.subject_public_key_info, "the subjectPublicKeyInfo")?,
        unique_identifiers: tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some(),
        extensions: Vec::new(),
        basic_constraints: None,
        key_usage: None,
        extended_key_usage: None,
        certificate_policies: None,
        crl_distribution_points: None,
        authority_info_access: None,
        subject_key_identifier: None,
        authority_key_identifier: None,
    };
    if facts.version != Some(VERSION_3) {
        return Err(X509Error::check(
            "version",
            format!(
                "the version field is {:?}, not v3 (2)",
                facts.version.map(u32::from)
            ),
        ));
    }
    for extension in tbs.extensions.unwrap_or_default() {
        if facts.extension(extension.extn_id).is_some() {
            return Err(X509Error::check(
                "extensions",
                format!("extension {} appears twice", extension.extn_id),
            ));
        }
        let value = extension.extn_value.as_bytes();
        match extension.extn_id {
            oid::BASIC_CONSTRAINTS => {
                facts.basic_constraints = Some(ext_read::basic_constraints(value)?);
            }
            oid::KEY_USAGE => facts.key_usage = Some(ext_read::key_usage(value)?),
            oid::EXTENDED_KEY_USAGE => {
                facts.extended_key_usage =
                    Some(ext_read::oid_list(value, "the extKeyUsage value")?);
            }
            oid::CERTIFICATE_POLICIES => {
                facts.certificate_policies = Some(ext_read::certificate_policies(value)?);
            }
            oid::CRL_DISTRIBUTION_POINTS => {
                facts.crl_distribution_points = Some(ext_read::crl_distribution_points(value)?);
            }
            oid::AUTHORITY_INFO_ACCESS => {
                facts.authority_info_access = Some(ext_read::access_descriptions(value)?);
            }
            oid::SUBJECT_KEY_IDENTIFIER => {
                facts.subject_key_identifier = Some(ext_read::subject_key_identifier(value)?);
            }
            oid::AUTHORITY_KEY_IDENTIFIER => {
                facts.authority_key_identifier = Some(ext_read::authority_key_identifier(value)?);
            }
            _ => {}
        }
        facts.extensions.push(ExtensionSummary {
            oid: extension.extn_id,
            critical: extension.critical,
            value: value.to_vec(),
        });
    }
    Ok(facts)
}

/// Reads a DER certificate's TBS; see [`read_tbs`].
pub fn read_certificate_facts(cert_der: &[u8]) -> Result<CertificateFacts> {
    read_certificate(cert_der).map(|read| read.facts)
}
