//! What every certificate and CRL this crate builds shares: the HSM key as x509-cert's
//! builder sees it, the serial number drawn from the HSM's generator, certificate times, and
//! the raw signature from the HSM turned into a signatureValue.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use der::{
    Decode, Document, Encode,
    asn1::{BitString, GeneralizedTime, UtcTime},
};
use signature::Keypair;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey};
use x509_cert::{
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    serial_number::SerialNumber,
    time::Time,
};

use crate::{
    algorithm::{P384_RAW_SIGNATURE_LEN, RSA_SIGNATURE_LEN, SignatureAlgorithm},
    der_read::{MAX_SERIAL_LEN, RawCertificate},
    error::{Result, X509Error},
};

/// A day is 86,400 seconds (CPS 6.3.2).
pub(crate) const DAY_SECONDS: u64 = 86_400;
/// Serial bytes drawn from the HSM: at least 9, so that at least 64 random bits remain after
/// the top bit is cleared (BR 7.1.2.1: at least 64 bits of CSPRNG output).
const MIN_SERIAL_RANDOM_BYTES: usize = 9;

/// Stand-in for the HSM key in x509-cert's builder: it holds the signing key's
/// subjectPublicKeyInfo and the signature AlgorithmIdentifier, and never signs. The builder's
/// `finalize` gives the TBS to sign; `assemble` takes the signature the HSM made.
pub(crate) struct TokenSigner {
    public_key: TokenPublicKey,
    pub(crate) algorithm: SignatureAlgorithm,
}

impl TokenSigner {
    /// The signer for the key whose DER subjectPublicKeyInfo is `spki_der`.
    pub(crate) fn new(spki_der: &[u8], algorithm: SignatureAlgorithm) -> Self {
        Self {
            public_key: TokenPublicKey(spki_der.to_vec()),
            algorithm,
        }
    }
}

/// A subjectPublicKeyInfo, DER.
#[derive(Clone)]
pub(crate) struct TokenPublicKey(Vec<u8>);

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

/// The serial number from the HSM's random bytes: the top bit cleared, so the INTEGER is
/// positive, at most 20 octets (RFC 5280 4.1.2.2) and below 2^159, encoded in its fewest
/// octets (a leading zero octet, one draw in 128, is dropped); refused if they are all zero.
/// 9 to 20 bytes are accepted, so at least 64 bits of CSPRNG output remain (BR 7.1.2.1 and
/// every BR 7.1.2 profile); the ceremony draws 16 (127 random bits).
pub(crate) fn serial_number(random: &[u8]) -> Result<SerialNumber> {
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
pub(crate) fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5, 5.1.2.4).
pub(crate) fn certificate_time(time: DateTime<Utc>, what: &'static str) -> Result<Time> {
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

/// A time truncated to whole seconds, as a certificate or CRL carries it.
pub(crate) fn whole_seconds(time: DateTime<Utc>, what: &'static str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(time.timestamp(), 0).ok_or_else(|| X509Error::UnencodableTime {
        what,
        value: rfc3339(time),
    })
}

/// notBefore truncated to whole seconds, refused unless it lies between one day (86,400 s)
/// before `signing_time` and `signing_time` (BR 7.1.2.1.1, 7.1.2.8.1, 7.1.2.10.1).
pub(crate) fn not_before_in_window(
    requested: DateTime<Utc>,
    signing_time: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let not_before = whole_seconds(requested, "notBefore")?;
    let earliest = signing_time - TimeDelta::days(1);
    if not_before < earliest || not_before > signing_time {
        return Err(X509Error::NotBeforeOutOfRange {
            not_before: rfc3339(not_before),
            earliest: rfc3339(earliest),
            signing_time: rfc3339(signing_time),
        });
    }
    Ok(not_before)
}

/// notAfter = notBefore + `days` * 86,400 s - 1 s, so that the period from notBefore through
/// notAfter inclusive (RFC 5280 4.1.2.5) is exactly `days` days of CPS 6.3.2.
pub(crate) fn not_after_for(not_before: DateTime<Utc>, days: u32) -> Result<DateTime<Utc>> {
    TimeDelta::try_days(i64::from(days))
        .and_then(|period| not_before.checked_add_signed(period - TimeDelta::seconds(1)))
        .ok_or_else(|| X509Error::UnencodableTime {
            what: "notAfter",
            value: format!("{} + {days} days", rfc3339(not_before)),
        })
}

pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The signatureValue bits from the raw signature the HSM made: RSA, the 512-byte PKCS#1
/// v1.5 signature as it is; P-384, the 96-byte r||s, encoded here as a DER Ecdsa-Sig-Value
/// (RFC 5480).
pub(crate) fn signature_value(
    algorithm: SignatureAlgorithm,
    raw_signature: &[u8],
) -> Result<BitString> {
    let signature = match algorithm {
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
    BitString::from_bytes(&signature).map_err(|e| X509Error::Build(e.to_string()))
}

/// The certificate DER from a finalized builder and the HSM's raw signature over `tbs`,
/// refused unless the assembled certificate holds exactly the TBS that was signed. The
/// signature is not checked here: the caller's verify function does that.
pub(crate) fn assemble_certificate<P: BuilderProfile>(
    builder: CertificateBuilder<P>,
    signer: &TokenSigner,
    tbs: &[u8],
    raw_signature: &[u8],
) -> Result<Vec<u8>> {
    let signature = signature_value(signer.algorithm, raw_signature)?;
    let certificate = builder
        .assemble(signature, signer)
        .map_err(|e| X509Error::Build(e.to_string()))?;
    let der = certificate
        .to_der()
        .map_err(|e| X509Error::Build(e.to_string()))?;
    let raw = RawCertificate::from_der(&der).map_err(|e| X509Error::Build(e.to_string()))?;
    let signed = raw
        .tbs_certificate
        .to_der()
        .map_err(|e| X509Error::Build(e.to_string()))?;
    if signed != tbs {
        return Err(X509Error::Build(
            "the assembled certificate does not contain the TBS that was signed".into(),
        ));
    }
    Ok(der)
}
