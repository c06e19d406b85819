//! X.509 for the root key ceremony: the subject name, the root certificate profile, the TBS
//! for the HSM to sign, the certificate assembled from the HSM's raw signature, and an
//! independent check of the result in software.
//!
//! This crate never talks to the HSM. The engine calls [`prepare_root`], has the HSM sign
//! [`PreparedRoot::tbs_der`] (RSA-4096: CKM_SHA384_RSA_PKCS; P-384: CKM_ECDSA over the
//! SHA-384 hash of the TBS, giving r||s), hands the raw signature to
//! [`PreparedRoot::assemble`], and checks the certificate with [`verify_root`]. The key's
//! CPS 6.1.5 and 6.1.6 checks run once, into a [`CheckedKey`], which [`prepare_root_of`],
//! [`inspect_tbs_of`] and [`verify_root_of`] take instead of checking the same bytes again.
//!
//! The root's later ceremonies go the same way, with the root certificate as an [`Issuer`]
//! ([`Issuer::from_root`]): [`prepare_subordinate`] (from a CSR, [`read_certification_request`],
//! or a public key, [`read_public_key`]), [`prepare_cross_certificate`] and
//! [`prepare_ocsp_responder`] give a [`PreparedCertificate`], checked after signing with
//! [`verify_subordinate`], [`verify_cross_certificate`] and [`verify_ocsp_responder`];
//! [`prepare_crl`] gives a [`PreparedCrl`], checked with [`verify_crl`], which also reads
//! the previous CRL. Every key certified passes [`check_certified_key`].
//!
//! References: CPS = the Security Communication RootCA CPS 6.05 (sections 6.1.5, 6.1.6,
//! 6.1.7, 6.3.2, 8.6); BR = the CA/Browser Forum TLS Baseline Requirements, sections 6.1.1.3
//! (weak keys), 7.1.2.1 (root CA), 7.1.2.2 (cross-certified subordinate CA), 7.1.2.6 (TLS
//! subordinate CA), 7.1.2.8 (OCSP responder), 7.1.2.10, 7.1.2.11, 7.1.3, 7.1.4, 7.2 (CRL);
//! RFC 5280; RFC 2986 (PKCS#10).

#![warn(missing_docs)]

mod algorithm;
mod ca_profile;
mod cert_facts;
mod checked;
mod crl;
mod crl_read;
mod cross;
mod csr;
mod der_read;
mod error;
mod ext_build;
mod ext_read;
mod inspect;
mod issuance;
mod issued;
mod issuer;
mod lab;
mod name;
mod ocsp_responder;
mod quality;
mod root;
mod subordinate;
mod text;
mod verify;
mod weak_keys;

pub use algorithm::{SignatureAlgorithm, check_certified_key};
pub use ca_profile::RESERVED_POLICIES;
pub use cert_facts::{CertificateFacts, ExtensionSummary, read_certificate_facts, read_tbs};
pub use checked::CheckedKey;
pub use crl::{
    CrlRequest, IssuedCertificate, PreparedCrl, Revocation, RevocationReason, check_successor,
    prepare_crl, serial_from_hex,
};
pub use crl_read::{
    CrlEntry, CrlFacts, CrlNumber, MAX_CRL_VALIDITY_DAYS, inspect_crl_tbs, verify_crl,
};
pub use cross::{
    CrossRequest, inspect_cross_tbs, prepare_cross_certificate, verify_cross_certificate,
};
pub use csr::{
    CertificationRequest, RequestedExtension, read_certification_request, read_public_key,
};
pub use der::asn1::ObjectIdentifier;
pub use der_read::{NameAttribute, certificate_tbs};
pub use error::{Result, X509Error};
pub use ext_read::{DistributionPointFacts, IssuingDistributionPointFacts, KeyUsageBits};
pub use inspect::{TbsFacts, inspect_tbs, inspect_tbs_of};
pub use issued::{IssuedSummary, PreparedCertificate};
pub use issuer::Issuer;
pub use lab::rehearsal_certification_request;
pub use name::DistinguishedName;
pub use ocsp_responder::{
    OcspResponderRequest, inspect_ocsp_responder_tbs, prepare_ocsp_responder, verify_ocsp_responder,
};
pub use quality::{KeyCheck, KeyQuality, PublicKeyType, check_key_quality};
pub use root::{
    MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS, PreparedRoot, RootCertificateRequest, prepare_root,
    prepare_root_of,
};
pub use subordinate::{
    SubordinateRequest, inspect_subordinate_tbs, prepare_subordinate, verify_subordinate,
};
pub use text::{fingerprint_hex, grouped_hex, pem_encode, pem_or_der};
pub use verify::{CertificateSummary, VerifiedRoot, verified_root_of, verify_root, verify_root_of};
