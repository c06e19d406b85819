//! The extensions of the subordinate CA, cross-certificate, OCSP responder and CRL
//! profiles, encoded with x509-cert's typed values. Each `Extension` is made here with its
//! OID and criticality written out, rather than through x509-cert's `ToExtension`, so that
//! what the profile says is what the certificate carries (x509-cert 0.3 even gives
//! `IssuingDistributionPoint` the OID of subjectInfoAccess).

use der::{
    Encode,
    asn1::{Ia5String, ObjectIdentifier, OctetString},
};
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::ext::{
    Extension,
    pkix::{
        AccessDescription, AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints,
        ExtendedKeyUsage, IssuingDistributionPoint, KeyUsage, KeyUsages,
        certpolicy::{CertificatePolicies, PolicyInformation},
        crl::dp::DistributionPoint,
        name::{DistributionPointName, GeneralName},
    },
};

use crate::{
    error::{Result, X509Error},
    ext_read::oid,
};

/// Longest URL accepted in a certificate or CRL; a real CRL or certificate URL is far
/// shorter, and a longer one is more likely a pasting mistake.
const MAX_URL_LEN: usize = 256;

fn extension(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension> {
    let der = value
        .to_der()
        .map_err(|e| X509Error::Build(e.to_string()))?;
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(der).map_err(|e| X509Error::Build(e.to_string()))?,
    })
}

/// Checks an HTTP URL for a CRL distribution point or an AIA access location (BR
/// 7.1.2.10.3, 7.1.2.11.2: the scheme is "http"), and returns it as an IA5String URI.
pub(crate) fn http_url(what: &'static str, url: &str) -> Result<GeneralName> {
    let problem = if !url.starts_with("http://") {
        Some("the scheme must be http:// (BR 7.1.2.10.3, 7.1.2.11.2)")
    } else if url.len() <= "http://".len() {
        Some("it names no host")
    } else if url.len() > MAX_URL_LEN {
        Some("it is longer than 256 characters")
    } else if !url.bytes().all(|b| b.is_ascii_graphic()) {
        Some("it holds a space, a control or a non-ASCII character")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(X509Error::InvalidUrl {
            what,
            url: url.to_owned(),
            problem,
        });
    }
    let ia5 = Ia5String::new(url).map_err(|_| X509Error::InvalidUrl {
        what,
        url: url.to_owned(),
        problem: "it is not an IA5String",
    })?;
    Ok(GeneralName::UniformResourceIdentifier(ia5))
}

/// authorityKeyIdentifier, non-critical, keyIdentifier only (BR 7.1.2.11.1).
pub(crate) fn authority_key_identifier(issuer_ski: &[u8]) -> Result<Extension> {
    let value = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(issuer_ski).map_err(|e| X509Error::Build(e.to_string()))?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    extension(oid::AUTHORITY_KEY_IDENTIFIER, false, &value)
}

/// The key identifier of RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
pub(crate) fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>> {
    let spki = SubjectPublicKeyInfoRef::try_from(spki_der)
        .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
    Ok(Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec())
}

/// subjectKeyIdentifier, non-critical, with the given identifier (BR 7.1.2.11.4).
pub(crate) fn subject_key_identifier(identifier: &[u8]) -> Result<Extension> {
    let value = OctetString::new(identifier).map_err(|e| X509Error::Build(e.to_string()))?;
    extension(oid::SUBJECT_KEY_IDENTIFIER, false, &value)
}

/// basicConstraints, critical, cA TRUE (BR 7.1.2.10.4).
pub(crate) fn basic_constraints_ca(path_len_constraint: Option<u8>) -> Result<Extension> {
    let value = BasicConstraints {
        ca: true,
        path_len_constraint,
    };
    extension(oid::BASIC_CONSTRAINTS, true, &value)
}

/// keyUsage, critical (BR 7.1.2.10.7, 7.1.2.8.7).
pub(crate) fn key_usage(usages: impl Into<der::flagset::FlagSet<KeyUsages>>) -> Result<Extension> {
    extension(oid::KEY_USAGE, true, &KeyUsage(usages.into()))
}

/// extKeyUsage, non-critical.
pub(crate) fn extended_key_usage(purposes: &[ObjectIdentifier]) -> Result<Extension> {
    extension(
        oid::EXTENDED_KEY_USAGE,
        false,
        &ExtendedKeyUsage(purposes.to_vec()),
    )
}

/// certificatePolicies, non-critical, without qualifiers (BR 7.1.2.10.5: NOT RECOMMENDED).
pub(crate) fn certificate_policies(policies: &[ObjectIdentifier]) -> Result<Extension> {
    let value = CertificatePolicies(
        policies
            .iter()
            .map(|&policy_identifier| PolicyInformation {
                policy_identifier,
                policy_qualifiers: None,
            })
            .collect(),
    );
    extension(oid::CERTIFICATE_POLICIES, false, &value)
}

/// cRLDistributionPoints, non-critical: one DistributionPoint whose fullName is one HTTP URL
/// (BR 7.1.2.11.2).
pub(crate) fn crl_distribution_point(url: &str) -> Result<Extension> {
    let value = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![http_url(
            "the CRL distribution point",
            url,
        )?])),
        reasons: None,
        crl_issuer: None,
    }]);
    extension(oid::CRL_DISTRIBUTION_POINTS, false, &value)
}

/// authorityInfoAccess, non-critical: id-ad-ocsp then id-ad-caIssuers, each an HTTP URL
/// (BR 7.1.2.10.3). None when neither is given.
pub(crate) fn authority_info_access(
    ocsp_url: Option<&str>,
    ca_issuers_url: Option<&str>,
) -> Result<Option<Extension>> {
    let mut descriptions = Vec::new();
    if let Some(url) = ocsp_url {
        descriptions.push(AccessDescription {
            access_method: oid::AD_OCSP,
            access_location: http_url("the OCSP responder URL", url)?,
        });
    }
    if let Some(url) = ca_issuers_url {
        descriptions.push(AccessDescription {
            access_method: oid::AD_CA_ISSUERS,
            access_location: http_url("the CA issuers URL", url)?,
        });
    }
    if descriptions.is_empty() {
        return Ok(None);
    }
    extension(oid::AUTHORITY_INFO_ACCESS, false, &descriptions).map(Some)
}

/// id-pkix-ocsp-nocheck, non-critical, its value exactly NULL (BR 7.1.2.8.6).
pub(crate) fn ocsp_no_check() -> Result<Extension> {
    extension(oid::OCSP_NO_CHECK, false, &der::asn1::Null)
}

/// issuingDistributionPoint, critical: onlyContainsCACerts, and the CRL's URL as its
/// distributionPoint fullName when given (RFC 5280 5.2.5, BR 7.2.2.1).
pub(crate) fn issuing_distribution_point(url: Option<&str>) -> Result<Extension> {
    let distribution_point = match url {
        Some(url) => Some(DistributionPointName::FullName(vec![http_url(
            "the CRL's distribution point",
            url,
        )?])),
        None => None,
    };
    let value = IssuingDistributionPoint {
        distribution_point,
        only_contains_user_certs: false,
        only_contains_ca_certs: true,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    extension(oid::ISSUING_DISTRIBUTION_POINT, true, &value)
}
