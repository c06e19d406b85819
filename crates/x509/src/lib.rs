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
//! References: CPS = the Security Communication RootCA CPS 6.05 (sections 6.1.5, 6.1.6,
//! 6.3.2, 8.6); BR = the CA/Browser Forum TLS Baseline Requirements, section 7.1.2.1 (root CA
//! certificate profile), 7.1.2.10, 7.1.3, 7.1.4; RFC 5280.

#![warn(missing_docs)]

mod algorithm;
mod checked;
mod error;
mod inspect;
mod name;
mod quality;
mod root;
mod text;
mod verify;

pub use algorithm::SignatureAlgorithm;
pub use checked::CheckedKey;
pub use error::{Result, X509Error};
pub use inspect::{NameAttribute, TbsFacts, certificate_tbs, inspect_tbs, inspect_tbs_of};
pub use name::DistinguishedName;
pub use quality::{KeyCheck, KeyQuality, PublicKeyType, check_key_quality};
pub use root::{
    MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS, PreparedRoot, RootCertificateRequest, prepare_root,
    prepare_root_of,
};
pub use text::{fingerprint_hex, grouped_hex, pem_encode};
pub use verify::{CertificateSummary, verify_root, verify_root_of};
