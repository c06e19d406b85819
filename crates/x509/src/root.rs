//! Building the root certificate's TBS and assembling the certificate from the HSM's
//! signature.
//!
//! The profile is x509-cert's CA/Browser Forum root profile (`cabf::Root`, BR 7.1.2.1),
//! whose output [`prepare_root`] then reads back with the independent parser of this crate
//! before anything is signed.

use std::fmt;

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::{
    builder::{Builder, CertificateBuilder, profile::cabf},
    time::Validity,
};

use crate::{
    algorithm::SignatureAlgorithm,
    checked::{CheckedKey, algorithm_of},
    error::{Result, X509Error},
    inspect::read_root_tbs,
    issuance::{
        TokenSigner, assemble_certificate, certificate_time, not_after_for, not_before_in_window,
        serial_number, without_leading_zeros,
    },
    name::DistinguishedName,
};

/// BR 7.1.2.1.1 and CPS 6.3.2: a root certificate is valid for at least 2922 days (8 years)...
pub const MIN_VALIDITY_DAYS: u32 = 2922;
/// ... and at most 9132 days (25 years).
pub const MAX_VALIDITY_DAYS: u32 = 9132;

/// What the ceremony asks for: everything needed to build the root's TBS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootCertificateRequest {
    /// Subject and issuer name.
    pub subject: DistinguishedName,
    /// Random bytes from the HSM's generator for the serial number; 16 in the ceremony
    /// (see [`prepare_root`] for how they become the serial number).
    pub serial: Vec<u8>,
    /// notBefore; truncated to whole seconds, it must lie within one day before the signing
    /// time (BR 7.1.2.1.1).
    pub not_before: DateTime<Utc>,
    /// Validity in days of 86,400 s, 2922 to 9132 (BR 7.1.2.1.1, CPS 6.3.2).
    pub validity_days: u32,
    /// Also set keyUsage digitalSignature, for a root that signs OCSP responses itself
    /// (BR 7.1.2.10.7).
    pub digital_signature: bool,
    /// The DER subjectPublicKeyInfo read from the token.
    pub subject_public_key_info: Vec<u8>,
}

/// A checked TBS waiting for the HSM's signature.
pub struct PreparedRoot {
    builder: CertificateBuilder<cabf::Root>,
    signer: TokenSigner,
    tbs: Vec<u8>,
}

impl fmt::Debug for PreparedRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRoot")
            .field("signature_algorithm", &self.signer.algorithm)
            .field("tbs", &hex::encode_upper(&self.tbs))
            .finish_non_exhaustive()
    }
}

/// Builds and checks the root's TBS before anything is signed.
///
/// - Key: [`SignatureAlgorithm::for_public_key`] (CPS 6.1.5, 6.1.6).
/// - Subject: [`DistinguishedName::validate`], then x509-cert's BR 7.1.2.10.2 naming check
///   (`cabf::ca_certificate_naming`, run by `cabf::Root::new`).
/// - Serial number: the HSM's random bytes with the top bit cleared, so the INTEGER is
///   positive and at most 20 octets (RFC 5280 4.1.2.2) and below 2^159, encoded in its
///   fewest octets (a leading zero octet, one draw in 128, is dropped); refused if they are
///   all zero. 9 to 20 bytes are accepted, so at least 64 bits of CSPRNG output remain
///   (BR 7.1.2.1); the ceremony draws 16 (127 random bits).
/// - Validity (BR 7.1.2.1.1, CPS 6.3.2): notBefore truncated to whole seconds, no earlier
///   than one day (86,400 s) before `signing_time` and not after it; `validity_days` from
///   2922 to 9132; notAfter = notBefore + validity_days * 86,400 s - 1 s, so that the period
///   from notBefore through notAfter inclusive (RFC 5280 4.1.2.5) is exactly `validity_days`
///   days. Times through 2049 are UTCTime, from 2050 GeneralizedTime (RFC 5280 4.1.2.5).
/// - Extensions, exactly (BR 7.1.2.1.2): basicConstraints critical, cA TRUE, no
///   pathLenConstraint; keyUsage critical, keyCertSign and cRLSign, plus digitalSignature
///   only if `req.digital_signature`; subjectKeyIdentifier non-critical, SHA-1 of the
///   subjectPublicKey bits (RFC 5280 4.2.1.2 method 1); authorityKeyIdentifier
///   non-critical, keyIdentifier only, equal to the SKI. No other extension.
///
/// The TBS that x509-cert produced is then read back with this crate's own parser and
/// refused unless it is exactly that profile with the requested values.
pub fn prepare_root(
    req: &RootCertificateRequest,
    signing_time: DateTime<Utc>,
) -> Result<PreparedRoot> {
    let key = CheckedKey::new(&req.subject_public_key_info)?;
    prepare_root_of(req, &key, signing_time)
}

/// [`prepare_root`] for the key the HSM made, checked when it was generated: when
/// `req.subject_public_key_info` is `key`'s, byte for byte, its CPS 6.1.5 and 6.1.6 checks
/// are not run again.
pub fn prepare_root_of(
    req: &RootCertificateRequest,
    key: &CheckedKey,
    signing_time: DateTime<Utc>,
) -> Result<PreparedRoot> {
    let algorithm = algorithm_of(&req.subject_public_key_info, Some(key))?;
    let name = req.subject.to_name()?;
    let serial = serial_number(&req.serial)?;
    let (not_before, not_after) = validity(req.not_before, req.validity_days, signing_time)?;

    let spki = SubjectPublicKeyInfoOwned::from_der(&req.subject_public_key_info)
        .map_err(|e| X509Error::InvalidPublicKey(e.to_string()))?;
    let profile = cabf::Root::new(req.digital_signature, name.clone()).map_err(|e| {
        X509Error::InvalidName {
            attribute: "name",
            problem: format!("refused by x509-cert's BR 7.1.2.10.2 naming check: {e}"),
        }
    })?;
    let validity = Validity::new(
        certificate_time(not_before, "notBefore")?,
        certificate_time(not_after, "notAfter")?,
    );
    let mut builder = CertificateBuilder::new(profile, serial.clone(), validity, spki)
        .map_err(|e| X509Error::Build(e.to_string()))?;
    let signer = TokenSigner::new(&req.subject_public_key_info, algorithm);
    let tbs = builder
        .finalize(&signer)
        .map_err(|e| X509Error::Build(e.to_string()))?;

    let facts =
        read_root_tbs(&tbs, Some(key)).map_err(|e| X509Error::ProfileMismatch(e.to_string()))?;
    let subject_der = name.to_der().map_err(|e| X509Error::Build(e.to_string()))?;
    let mismatch = [
        (
            facts.serial != without_leading_zeros(serial.as_bytes()),
            "serialNumber",
        ),
        (facts.not_before != not_before, "notBefore"),
        (facts.not_after != not_after, "notAfter"),
        (
            facts.validity_days != u64::from(req.validity_days),
            "validity days",
        ),
        (facts.subject_der != subject_der, "subject"),
        (
            facts.spki_der != req.subject_public_key_info,
            "subjectPublicKeyInfo",
        ),
        (
            facts.signature_algorithm != algorithm,
            "signature algorithm",
        ),
        (
            facts.digital_signature != req.digital_signature,
            "keyUsage digitalSignature",
        ),
    ]
    .into_iter()
    .find_map(|(differs, field)| differs.then_some(field));
    if let Some(field) = mismatch {
        return Err(X509Error::ProfileMismatch(format!(
            "{field} differs from the request"
        )));
    }

    Ok(PreparedRoot {
        builder,
        signer,
        tbs,
    })
}

impl PreparedRoot {
    /// The DER TBSCertificate for the HSM to sign.
    ///
    /// RSA: sign these bytes with CKM_SHA384_RSA_PKCS. P-384: hash them with SHA-384 and sign
    /// the hash with CKM_ECDSA.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    /// The signature algorithm the HSM must use.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signer.algorithm
    }

    /// The certificate DER, from the raw signature the HSM made over [`Self::tbs_der`]:
    /// RSA, the 512-byte PKCS#1 v1.5 signature as it is; P-384, the 96-byte r||s, which is
    /// encoded here as a DER Ecdsa-Sig-Value (RFC 5480). The signature is not checked here:
    /// run [`crate::verify_root`] on the result.
    pub fn assemble(self, raw_signature: &[u8]) -> Result<Vec<u8>> {
        assemble_certificate(self.builder, &self.signer, &self.tbs, raw_signature)
    }
}

/// notBefore and notAfter (see [`prepare_root`]).
fn validity(
    requested_not_before: DateTime<Utc>,
    validity_days: u32,
    signing_time: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    if !(MIN_VALIDITY_DAYS..=MAX_VALIDITY_DAYS).contains(&validity_days) {
        return Err(X509Error::ValidityOutOfRange {
            days: validity_days.into(),
            min: MIN_VALIDITY_DAYS.into(),
            max: MAX_VALIDITY_DAYS.into(),
        });
    }
    let not_before = not_before_in_window(requested_not_before, signing_time)?;
    let not_after = not_after_for(not_before, validity_days)?;
    Ok((not_before, not_after))
}
