//! What a subordinate CA or OCSP responder hands the root ceremony: a PKCS#10 certification
//! request (RFC 2986), or a bare public key.
//!
//! A CSR is read with plain `der`; its self-signature is verified with the key it holds, as
//! proof that its owner has the private key (RFC 2986 3); only that public key is taken.
//! Its subject is compared with the script's, which is the one certified; the extensions it
//! asks for are never copied, only listed, so that the log can record what was ignored.

use der::{
    Decode, Encode, Tag, Tagged,
    asn1::{AnyRef, BitStringRef, ObjectIdentifier},
};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::{Verifier, hazmat::PrehashVerifier};
use spki::{DecodePublicKey, SubjectPublicKeyInfoRef};

use crate::{
    der_read::{NameAttribute, RawCertificate, decode_canonical, name_attributes, render_name},
    error::{Result, X509Error},
    ext_read::{elements, oid},
    name::DistinguishedName,
};

/// PKCS#9 extensionRequest (RFC 2985 5.4.2).
const EXTENSION_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
/// subjectAltName (RFC 5280 4.2.1.6), which a subordinate's CSR may ask for.
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// The signature algorithms a CSR's self-signature may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestAlgorithm {
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
    EcdsaSha512,
}

impl RequestAlgorithm {
    /// From the AlgorithmIdentifier: RSA with NULL or absent parameters (RFC 4055 5), ECDSA
    /// with none (RFC 5758 3.2).
    fn of(oid: ObjectIdentifier, parameters: Option<AnyRef<'_>>) -> Option<Self> {
        let algorithm = match oid.to_string().as_str() {
            "1.2.840.113549.1.1.11" => Self::RsaSha256,
            "1.2.840.113549.1.1.12" => Self::RsaSha384,
            "1.2.840.113549.1.1.13" => Self::RsaSha512,
            "1.2.840.10045.4.3.2" => Self::EcdsaSha256,
            "1.2.840.10045.4.3.3" => Self::EcdsaSha384,
            "1.2.840.10045.4.3.4" => Self::EcdsaSha512,
            _ => return None,
        };
        let rsa = matches!(
            algorithm,
            Self::RsaSha256 | Self::RsaSha384 | Self::RsaSha512
        );
        let parameters_ok = match parameters {
            None => true,
            Some(p) => rsa && p.tag() == Tag::Null && p.value().is_empty(),
        };
        parameters_ok.then_some(algorithm)
    }

    fn name(self) -> &'static str {
        match self {
            Self::RsaSha256 => "sha256WithRSAEncryption",
            Self::RsaSha384 => "sha384WithRSAEncryption",
            Self::RsaSha512 => "sha512WithRSAEncryption",
            Self::EcdsaSha256 => "ecdsa-with-SHA256",
            Self::EcdsaSha384 => "ecdsa-with-SHA384",
            Self::EcdsaSha512 => "ecdsa-with-SHA512",
        }
    }
}

/// An extension a CSR asks for; never copied into the certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedExtension {
    /// Its OID.
    pub oid: ObjectIdentifier,
    /// Its name, when this crate knows it.
    pub name: Option<&'static str>,
    /// Whether the CSR marks it critical.
    pub critical: bool,
}

/// A checked PKCS#10 certification request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificationRequest {
    /// SHA-256 of the request's DER (what a PEM file decodes to), for the log.
    pub sha256: [u8; 32],
    /// The subject it asks for, RFC 4514.
    pub subject: String,
    /// The subject's attributes in encoding order.
    pub subject_attributes: Vec<NameAttribute>,
    /// Its public key, DER subjectPublicKeyInfo: the only thing taken from it.
    pub subject_public_key_info: Vec<u8>,
    /// The self-signature's algorithm, as OpenSSL names it.
    pub signature_algorithm: &'static str,
    /// The extensions it asks for (extensionRequest), ignored.
    pub requested_extensions: Vec<RequestedExtension>,
    /// The OIDs of its other attributes (a challengePassword, ...), ignored.
    pub other_attributes: Vec<ObjectIdentifier>,
}

/// The DER of a PEM block with one of `labels`, or the bytes themselves when they are not
/// PEM.
fn pem_or_der(bytes: &[u8], labels: &[&str], what: &str) -> Result<Vec<u8>> {
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN ") {
        return Ok(bytes.to_vec());
    }
    let (label, der) = der::pem::decode_vec(bytes.trim_ascii()).map_err(|e| {
        X509Error::CertificationRequest(format!("the {what} PEM cannot be read: {e}"))
    })?;
    if !labels.contains(&label) {
        return Err(X509Error::CertificationRequest(format!(
            "the PEM label is {label:?}, not {}",
            labels.join(" or ")
        )));
    }
    Ok(der)
}

/// Reads a PKCS#10 CSR, PEM (`CERTIFICATE REQUEST`) or DER, and verifies its self-signature
/// with the key it holds: RSA PKCS#1 v1.5 or ECDSA, with SHA-256, SHA-384 or SHA-512.
/// Refused: anything that is not canonical DER, a version other than v1, an unknown
/// signature algorithm, a signature that does not verify. The key itself is checked when it
/// is certified (`check_certified_key`).
pub fn read_certification_request(bytes: &[u8]) -> Result<CertificationRequest> {
    let der = pem_or_der(
        bytes,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "CSR",
    )?;
    let bad = |detail: String| X509Error::CertificationRequest(detail);
    // CertificationRequest has the shape of a Certificate: info, algorithm, signature.
    let request: RawCertificate<'_> = decode_canonical(&der, "the CSR")?;
    let info_der = request
        .tbs_certificate
        .to_der()
        .map_err(|e| X509Error::malformed("the certificationRequestInfo", e))?;
    let fields = elements(
        request.tbs_certificate.value(),
        "the certificationRequestInfo",
    )?;
    let [version, subject, spki, attributes] = fields.as_slice() else {
        return Err(bad(
            "certificationRequestInfo must hold version, subject, subjectPKInfo and attributes"
                .into(),
        ));
    };
    if version.tag() != Tag::Integer || version.value() != [0] {
        return Err(bad("the version is not v1 (0)".into()));
    }
    let subject_der = subject
        .to_der()
        .map_err(|e| X509Error::malformed("the CSR subject", e))?;
    let spki_der = spki
        .to_der()
        .map_err(|e| X509Error::malformed("the CSR subjectPKInfo", e))?;
    let (requested_extensions, other_attributes) = read_attributes(*attributes)?;

    let algorithm: spki::AlgorithmIdentifierRef<'_> = request
        .signature_algorithm
        .decode_as()
        .map_err(|e| X509Error::malformed("the CSR signatureAlgorithm", e))?;
    let algorithm = RequestAlgorithm::of(algorithm.oid, algorithm.parameters).ok_or_else(|| {
        bad(format!(
            "its signature algorithm {} is not one this tool verifies (RSA PKCS#1 v1.5 or ECDSA \
             with SHA-256, SHA-384 or SHA-512)",
            algorithm.oid
        ))
    })?;
    verify(algorithm, &spki_der, &info_der, request.signature)?;

    Ok(CertificationRequest {
        sha256: Sha256::digest(&der).into(),
        subject: render_name(&subject_der, "the CSR subject")?,
        subject_attributes: name_attributes(&subject_der, "the CSR subject")?,
        subject_public_key_info: spki_der,
        signature_algorithm: algorithm.name(),
        requested_extensions,
        other_attributes,
    })
}

/// The attributes [0] IMPLICIT SET OF Attribute: the extensions asked for, and the OIDs of
/// the other attributes.
fn read_attributes(
    attributes: AnyRef<'_>,
) -> Result<(Vec<RequestedExtension>, Vec<ObjectIdentifier>)> {
    const WHAT: &str = "the CSR attributes";
    let context_0 = Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber(0),
    };
    if attributes.tag() != context_0 {
        return Err(X509Error::CertificationRequest(
            "the attributes field is not [0] IMPLICIT SET OF Attribute".into(),
        ));
    }
    let mut requested = Vec::new();
    let mut others = Vec::new();
    for attribute in elements(attributes.value(), WHAT)? {
        let fields = elements(attribute.value(), WHAT)?;
        let [kind, values] = fields.as_slice() else {
            return Err(X509Error::malformed(
                WHAT,
                "an Attribute has a type and values",
            ));
        };
        let kind: ObjectIdentifier = kind
            .decode_as()
            .map_err(|e| X509Error::malformed(WHAT, e))?;
        if kind != EXTENSION_REQUEST {
            others.push(kind);
            continue;
        }
        for extensions in elements(values.value(), WHAT)? {
            for extension in elements(extensions.value(), WHAT)? {
                let parts = elements(extension.value(), WHAT)?;
                let extension_oid: ObjectIdentifier = parts
                    .first()
                    .ok_or_else(|| X509Error::malformed(WHAT, "an empty Extension"))?
                    .decode_as()
                    .map_err(|e| X509Error::malformed(WHAT, e))?;
                let critical = parts.len() == 3 && parts[1].value() == [0xff];
                requested.push(RequestedExtension {
                    oid: extension_oid,
                    name: extension_name(extension_oid),
                    critical,
                });
            }
        }
    }
    Ok((requested, others))
}

fn extension_name(extension: ObjectIdentifier) -> Option<&'static str> {
    Some(match extension {
        oid::BASIC_CONSTRAINTS => "basicConstraints",
        oid::KEY_USAGE => "keyUsage",
        oid::EXTENDED_KEY_USAGE => "extKeyUsage",
        oid::SUBJECT_KEY_IDENTIFIER => "subjectKeyIdentifier",
        oid::AUTHORITY_KEY_IDENTIFIER => "authorityKeyIdentifier",
        oid::CERTIFICATE_POLICIES => "certificatePolicies",
        oid::CRL_DISTRIBUTION_POINTS => "cRLDistributionPoints",
        oid::AUTHORITY_INFO_ACCESS => "authorityInfoAccess",
        oid::NAME_CONSTRAINTS => "nameConstraints",
        SUBJECT_ALT_NAME => "subjectAltName",
        _ => return None,
    })
}

fn verify(
    algorithm: RequestAlgorithm,
    spki_der: &[u8],
    message: &[u8],
    signature: BitStringRef<'_>,
) -> Result<()> {
    let bad = || X509Error::RequestSignature {
        algorithm: algorithm.name(),
    };
    let signature = signature.as_bytes().ok_or_else(bad)?;
    let unusable = |e: &dyn std::fmt::Display| {
        X509Error::CertificationRequest(format!("its public key cannot verify: {e}"))
    };
    match algorithm {
        RequestAlgorithm::RsaSha256 | RequestAlgorithm::RsaSha384 | RequestAlgorithm::RsaSha512 => {
            let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| unusable(&e))?;
            let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| bad())?;
            let verified = match algorithm {
                RequestAlgorithm::RsaSha256 => {
                    rsa::pkcs1v15::VerifyingKey::<Sha256>::try_from(spki)
                        .map_err(|e| unusable(&e))?
                        .verify(message, &signature)
                }
                RequestAlgorithm::RsaSha384 => {
                    rsa::pkcs1v15::VerifyingKey::<Sha384>::try_from(spki)
                        .map_err(|e| unusable(&e))?
                        .verify(message, &signature)
                }
                _ => rsa::pkcs1v15::VerifyingKey::<Sha512>::try_from(spki)
                    .map_err(|e| unusable(&e))?
                    .verify(message, &signature),
            };
            verified.map_err(|_| bad())
        }
        RequestAlgorithm::EcdsaSha256
        | RequestAlgorithm::EcdsaSha384
        | RequestAlgorithm::EcdsaSha512 => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der).map_err(|e| {
                X509Error::CertificationRequest(format!(
                    "its ECDSA key is not a P-384 key this tool can verify: {e}"
                ))
            })?;
            let signature = p384::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            let digest = match algorithm {
                RequestAlgorithm::EcdsaSha256 => Sha256::digest(message).to_vec(),
                RequestAlgorithm::EcdsaSha384 => Sha384::digest(message).to_vec(),
                _ => Sha512::digest(message).to_vec(),
            };
            key.verify_prehash(&digest, &signature).map_err(|_| bad())
        }
    }
}

/// Reads a bare public key, PEM (`PUBLIC KEY`) or DER subjectPublicKeyInfo, that must be
/// canonical DER. Its checks are those of any certified key (`check_certified_key`).
pub fn read_public_key(bytes: &[u8]) -> Result<Vec<u8>> {
    let der = pem_or_der(bytes, &["PUBLIC KEY"], "public key")?;
    let _: SubjectPublicKeyInfoRef<'_> = decode_canonical(&der, "the public key")?;
    Ok(der)
}

impl CertificationRequest {
    /// Refuses the CSR unless its subject is the script's, attribute for attribute in the
    /// same order with the same values (the string types may differ: OpenSSL writes every
    /// attribute but countryName as UTF8String, as this tool does).
    pub fn check_subject(&self, expected: &DistinguishedName) -> Result<()> {
        let expected_der = expected
            .to_name()?
            .to_der()
            .map_err(|e| X509Error::Build(e.to_string()))?;
        let wanted = name_attributes(&expected_der, "the script's subject")?;
        let comparable = |attributes: &[NameAttribute]| -> Vec<(usize, ObjectIdentifier, Vec<u8>)> {
            attributes
                .iter()
                .map(|a| (a.rdn, a.oid, a.value.clone()))
                .collect()
        };
        if comparable(&self.subject_attributes) == comparable(&wanted) {
            Ok(())
        } else {
            Err(X509Error::RequestSubject {
                found: self.subject.clone(),
                expected: expected.to_string(),
            })
        }
    }
}
