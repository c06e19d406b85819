//! Building the root certificate's TBS and assembling the certificate from the HSM's
//! signature.
//!
//! The profile is x509-cert's CA/Browser Forum root profile (`cabf::Root`, BR 7.1.2.1),
//! whose output [`prepare_root`] then reads back with the independent parser of this crate
//! before anything is signed.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use der::{
    Decode, Document, Encode,
    asn1::{BitString, GeneralizedTime, UtcTime},
};
use signature::Keypair;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::{
    builder::{Builder, CertificateBuilder, profile::cabf},
    serial_number::SerialNumber,
    time::{Time, Validity},
};

use crate::{
    algorithm::{P384_RAW_SIGNATURE_LEN, RSA_SIGNATURE_LEN, SignatureAlgorithm},
    checked::{CheckedKey, algorithm_of},
    error::{Result, X509Error},
    inspect::{MAX_SERIAL_LEN, RawCertificate, read_tbs},
    name::DistinguishedName,
};

/// A day is 86,400 seconds (CPS 6.3.2).
pub(crate) const DAY_SECONDS: u64 = 86_400;
/// BR 7.1.2.1.1 and CPS 6.3.2: a root certificate is valid for at least 2922 days (8 years)...
pub const MIN_VALIDITY_DAYS: u32 = 2922;
/// ... and at most 9132 days (25 years).
pub const MAX_VALIDITY_DAYS: u32 = 9132;
/// Serial bytes drawn from the HSM: at least 9, so that at least 64 random bits remain after
/// the top bit is cleared (BR 7.1.2.1: at least 64 bits of CSPRNG output).
const MIN_SERIAL_RANDOM_BYTES: usize = 9;

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

/// Stand-in for the HSM key in x509-cert's builder: it holds the token's subjectPublicKeyInfo
/// and the signature AlgorithmIdentifier, and never signs. The builder's `finalize` gives the
/// TBS to sign; `assemble` takes the signature the HSM made.
struct TokenSigner {
    public_key: TokenPublicKey,
    algorithm: SignatureAlgorithm,
}

/// The token's subjectPublicKeyInfo, DER.
#[derive(Clone)]
struct TokenPublicKey(Vec<u8>);

impl EncodePublicKey for TokenPublicKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::try_from(self.0.as_slice())?)
    }
}

impl Keypair for TokenSigner {
    type VerifyingKey = TokenPublicKey;

    fn verifying_key(&self) -> TokenPublicKey {
        self.public_key.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for TokenSigner {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.algorithm_identifier())
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
    let signer = TokenSigner {
        public_key: TokenPublicKey(req.subject_public_key_info.clone()),
        algorithm,
    };
    let tbs = builder
        .finalize(&signer)
        .map_err(|e| X509Error::Build(e.to_string()))?;

    let facts = read_tbs(&tbs, Some(key)).map_err(|e| X509Error::ProfileMismatch(e.to_string()))?;
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
        let signature = match self.signer.algorithm {
            SignatureAlgorithm::Sha384WithRsaEncryption => {
                if raw_signature.len() != RSA_SIGNATURE_LEN {
                    return Err(X509Error::InvalidRawSignature(format!(
                        "an RSA-4096 signature has {RSA_SIGNATURE_LEN} bytes, not {}",
                        raw_signature.len()
                    )));
                }
                raw_signature.to_vec()
            }
            SignatureAlgorithm::EcdsaWithSha384 => {
                if raw_signature.len() != P384_RAW_SIGNATURE_LEN {
                    return Err(X509Error::InvalidRawSignature(format!(
                        "a raw P-384 signature r||s has {P384_RAW_SIGNATURE_LEN} bytes, not {}",
                        raw_signature.len()
                    )));
                }
                p384::ecdsa::Signature::from_slice(raw_signature)
                    .map_err(|_| {
                        X509Error::InvalidRawSignature(
                            "r or s is zero or not below the P-384 group order".into(),
                        )
                    })?
                    .to_der()
                    .as_bytes()
                    .to_vec()
            }
        };
        let signature =
            BitString::from_bytes(&signature).map_err(|e| X509Error::Build(e.to_string()))?;
        let certificate = self
            .builder
            .assemble(signature, &self.signer)
            .map_err(|e| X509Error::Build(e.to_string()))?;
        let der = certificate
            .to_der()
            .map_err(|e| X509Error::Build(e.to_string()))?;
        let raw = RawCertificate::from_der(&der).map_err(|e| X509Error::Build(e.to_string()))?;
        let tbs = raw
            .tbs_certificate
            .to_der()
            .map_err(|e| X509Error::Build(e.to_string()))?;
        if tbs != self.tbs {
            return Err(X509Error::Build(
                "the assembled certificate does not contain the TBS that was signed".into(),
            ));
        }
        Ok(der)
    }
}

/// The serial number from the HSM's random bytes (see [`prepare_root`]).
fn serial_number(random: &[u8]) -> Result<SerialNumber> {
    if !(MIN_SERIAL_RANDOM_BYTES..=MAX_SERIAL_LEN).contains(&random.len()) {
        return Err(X509Error::InvalidSerial(format!(
            "{} random bytes given; {MIN_SERIAL_RANDOM_BYTES} to {MAX_SERIAL_LEN} are needed \
             (at least 64 bits of CSPRNG output, BR 7.1.2.1; at most 20 octets, RFC 5280 \
             4.1.2.2)",
            random.len()
        )));
    }
    let mut bytes = random.to_vec();
    bytes[0] &= 0x7f;
    // One draw in 128 starts with a zero octet once the top bit is cleared:
    // the serial is the same number in fewer octets, as DER encodes it.
    let value = without_leading_zeros(&bytes);
    if value.is_empty() {
        return Err(X509Error::InvalidSerial(
            "the random bytes are all zero once the top bit is cleared".into(),
        ));
    }
    SerialNumber::new(value).map_err(|e| X509Error::InvalidSerial(e.to_string()))
}

/// A big-endian unsigned number's octets from its first non-zero one (a
/// positive INTEGER's sign octet included).
fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
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
    let not_before =
        DateTime::from_timestamp(requested_not_before.timestamp(), 0).ok_or_else(|| {
            X509Error::UnencodableTime {
                what: "notBefore",
                value: rfc3339(requested_not_before),
            }
        })?;
    let earliest = signing_time - TimeDelta::days(1);
    if not_before < earliest || not_before > signing_time {
        return Err(X509Error::NotBeforeOutOfRange {
            not_before: rfc3339(not_before),
            earliest: rfc3339(earliest),
            signing_time: rfc3339(signing_time),
        });
    }
    let not_after = TimeDelta::try_days(i64::from(validity_days))
        .and_then(|period| not_before.checked_add_signed(period - TimeDelta::seconds(1)))
        .ok_or_else(|| X509Error::UnencodableTime {
            what: "notAfter",
            value: format!("{} + {validity_days} days", rfc3339(not_before)),
        })?;
    Ok((not_before, not_after))
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
fn certificate_time(time: DateTime<Utc>, what: &'static str) -> Result<Time> {
    let unencodable = || X509Error::UnencodableTime {
        what,
        value: rfc3339(time),
    };
    let seconds = u64::try_from(time.timestamp()).map_err(|_| unencodable())?;
    let datetime = der::DateTime::from_unix_duration(Duration::from_secs(seconds))
        .map_err(|_| unencodable())?;
    Ok(match UtcTime::from_date_time(datetime) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => Time::GeneralTime(GeneralizedTime::from_date_time(datetime)),
    })
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
