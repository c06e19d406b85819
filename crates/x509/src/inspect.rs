//! An independent reading of a root TBS and certificate with plain `der`: nothing here uses
//! x509-cert, so the library that built the certificate does not vouch for it.
//!
//! [`inspect_tbs`] checks that a TBSCertificate is exactly the root profile of this crate
//! (BR 7.1.2.1); `prepare_root` runs it on the TBS before it is signed and `verify_root` on
//! the TBS of the signed certificate. It is public so that the policy lint
//! (keyceremony-policy) reads a TBS with this same parser instead of a parser of its own.

use chrono::{DateTime, Utc};
use der::{
    Choice, Decode, Encode, EncodeValue, Sequence, Tagged, ValueOrd,
    asn1::{
        AnyRef, BitStringRef, GeneralizedTime, ObjectIdentifier, OctetStringRef, SetOfVec, UintRef,
        UtcTime,
    },
};
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoRef;

use crate::{
    algorithm::SignatureAlgorithm,
    checked::{CheckedKey, algorithm_of},
    error::{Result, X509Error},
    name::{attribute_short_name, escape_rfc4514, rfc4514},
    root::{DAY_SECONDS, MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS},
};

const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// basicConstraints value: SEQUENCE { cA BOOLEAN TRUE }, no pathLenConstraint (BR 7.1.2.1.4).
const BASIC_CONSTRAINTS_CA: [u8; 5] = [0x30, 0x03, 0x01, 0x01, 0xff];
/// keyUsage value: keyCertSign and cRLSign (BR 7.1.2.10.7).
const KEY_USAGE_CERT_CRL_SIGN: [u8; 4] = [0x03, 0x02, 0x01, 0x06];
/// keyUsage value: digitalSignature, keyCertSign and cRLSign (BR 7.1.2.10.7).
const KEY_USAGE_DIGITAL_CERT_CRL_SIGN: [u8; 4] = [0x03, 0x02, 0x01, 0x86];

/// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
const LAST_UTC_TIME_YEAR: u16 = 2049;
/// RFC 5280 4.1.2.2: at most 20 octets.
pub(crate) const MAX_SERIAL_LEN: usize = 20;
/// X.509 v3 is encoded as 2.
const VERSION_3: u8 = 2;

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
#[derive(Sequence)]
pub(crate) struct RawCertificate<'a> {
    pub(crate) tbs_certificate: AnyRef<'a>,
    pub(crate) signature_algorithm: AnyRef<'a>,
    pub(crate) signature: BitStringRef<'a>,
}

/// TBSCertificate (RFC 5280 4.1), the fields kept as raw DER where they are compared byte
/// for byte.
#[derive(Sequence)]
struct RawTbs<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    version: Option<u8>,
    serial_number: UintRef<'a>,
    signature: AnyRef<'a>,
    issuer: AnyRef<'a>,
    validity: RawValidity,
    subject: AnyRef<'a>,
    subject_public_key_info: AnyRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    issuer_unique_id: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    subject_unique_id: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<RawExtension<'a>>>,
}

#[derive(Sequence)]
struct RawValidity {
    not_before: RawTime,
    not_after: RawTime,
}

#[derive(Choice, Clone, Copy)]
enum RawTime {
    #[asn1(type = "UTCTime")]
    Utc(UtcTime),
    #[asn1(type = "GeneralizedTime")]
    General(GeneralizedTime),
}

#[derive(Sequence)]
struct RawExtension<'a> {
    extn_id: ObjectIdentifier,
    #[asn1(default = "bool::default")]
    critical: bool,
    extn_value: &'a OctetStringRef,
}

/// AttributeTypeAndValue with the value kept raw.
#[derive(Sequence, ValueOrd)]
struct RawAttribute<'a> {
    oid: ObjectIdentifier,
    value: AnyRef<'a>,
}

/// Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue).
type RawName<'a> = Vec<SetOfVec<RawAttribute<'a>>>;

/// What [`inspect_tbs`] read from a TBS that passed every profile check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TbsFacts {
    /// The serialNumber INTEGER's value, big-endian, without a leading zero octet.
    pub serial: Vec<u8>,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// Validity from notBefore through notAfter inclusive, in days of 86,400 s (CPS 6.3.2).
    pub validity_days: u64,
    /// The subject Name, DER (equal to the issuer's).
    pub subject_der: Vec<u8>,
    /// The subject, RFC 4514.
    pub subject: String,
    /// The subject's attributes in encoding order.
    pub subject_attributes: Vec<NameAttribute>,
    /// The subjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// The signature algorithm, which the key fixes (CPS 6.1.5).
    pub signature_algorithm: SignatureAlgorithm,
    /// The subjectKeyIdentifier (SHA-1 of the subjectPublicKey).
    pub subject_key_identifier: Vec<u8>,
    /// Whether keyUsage has digitalSignature.
    pub digital_signature: bool,
}

/// One AttributeTypeAndValue of a Name, as encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAttribute {
    /// Index of its RelativeDistinguishedName in the RDNSequence.
    pub rdn: usize,
    /// The attribute type.
    pub oid: ObjectIdentifier,
    /// Its RFC 4514 short name (`C`, `O`, `CN`, ...) or dotted OID.
    pub short_name: String,
    /// The ASN.1 string type of the value (PrintableString, UTF8String, ...).
    pub tag: der::Tag,
    /// The value's content octets.
    pub value: Vec<u8>,
}

/// Decodes `bytes` as `T`, refusing anything that does not re-encode to the same bytes.
pub(crate) fn decode_canonical<'a, T>(bytes: &'a [u8], what: &'static str) -> Result<T>
where
    T: Decode<'a, Error = der::Error> + Encode,
{
    let value = T::from_der(bytes).map_err(|e| X509Error::malformed(what, e))?;
    let again = value.to_der().map_err(|e| X509Error::malformed(what, e))?;
    if again != bytes {
        return Err(X509Error::NonCanonical { what });
    }
    Ok(value)
}

/// Reads a DER TBSCertificate and checks it is exactly the root profile: v3; serial
/// positive, non-zero, at most 20 octets; a key CPS 6.1.5 allows and the matching signature
/// AlgorithmIdentifier in its BR 7.1.3.2 encoding; issuer equal to subject; validity of
/// 2922 to 9132 days with the RFC 5280 time types; no unique identifiers; and exactly the
/// extensions basicConstraints (critical, cA, no pathLen), keyUsage (critical, keyCertSign
/// and cRLSign, optionally digitalSignature), subjectKeyIdentifier (SHA-1 of the
/// subjectPublicKey, RFC 5280 4.2.1.2 method 1) and authorityKeyIdentifier (keyIdentifier
/// only, equal to the SKI).
///
/// The first rule broken is the error; [`X509Error::section`] cites it.
pub fn inspect_tbs(tbs_der: &[u8]) -> Result<TbsFacts> {
    read_tbs(tbs_der, None)
}

/// [`inspect_tbs`] of a TBS that should certify `key`: when its subjectPublicKeyInfo is
/// `key`'s, byte for byte, the key's checks are not run again; another key is checked.
pub fn inspect_tbs_of(tbs_der: &[u8], key: &CheckedKey) -> Result<TbsFacts> {
    read_tbs(tbs_der, Some(key))
}

pub(crate) fn read_tbs(tbs_der: &[u8], known: Option<&CheckedKey>) -> Result<TbsFacts> {
    let tbs: RawTbs<'_> = decode_canonical(tbs_der, "the tbsCertificate")?;

    if tbs.version != Some(VERSION_3) {
        return Err(X509Error::check(
            "version",
            format!(
                "the version field is {:?}, not v3 (2)",
                tbs.version.map(u32::from)
            ),
        ));
    }

    let serial = tbs.serial_number.as_bytes().to_vec();
    if serial.iter().all(|&b| b == 0) {
        return Err(X509Error::check(
            "serialNumber",
            "the serial number is zero",
        ));
    }
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

    let spki_der = raw_der(tbs.subject_public_key_info, "the subjectPublicKeyInfo")?;
    let signature_algorithm = algorithm_of(&spki_der, known)?;
    let signature_algorithm_der = raw_der(tbs.signature, "the signature AlgorithmIdentifier")?;
    if signature_algorithm_der != signature_algorithm.required_der() {
        return Err(X509Error::check(
            "signature algorithm",
            format!(
                "the tbsCertificate signature field is {} but a {} key needs {} encoded as \
                 BR 7.1.3.2 requires",
                hex::encode_upper(&signature_algorithm_der),
                signature_algorithm.public_key_name(),
                signature_algorithm
            ),
        ));
    }

    let subject_der = raw_der(tbs.subject, "the subject")?;
    let issuer_der = raw_der(tbs.issuer, "the issuer")?;
    if issuer_der != subject_der {
        return Err(X509Error::check(
            "issuer == subject",
            format!(
                "issuer {} differs from subject {}",
                render_name(&issuer_der, "the issuer")?,
                render_name(&subject_der, "the subject")?
            ),
        ));
    }
    let subject = render_name(&subject_der, "the subject")?;
    let subject_attributes = name_attributes(&subject_der, "the subject")?;

    let not_before = time_to_chrono(tbs.validity.not_before, "notBefore")?;
    let not_after = time_to_chrono(tbs.validity.not_after, "notAfter")?;
    let validity_days = validity_days(not_before, not_after)?;

    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        return Err(X509Error::check(
            "unique identifiers",
            "issuerUniqueID or subjectUniqueID is present (RFC 5280 4.1.2.8, BR 7.1.2.1)",
        ));
    }

    let spki = SubjectPublicKeyInfoRef::from_der(&spki_der)
        .map_err(|e| X509Error::malformed("the subjectPublicKeyInfo", e))?;
    let subject_key_identifier = Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec();
    let extensions = tbs.extensions.unwrap_or_default();
    let digital_signature = check_extensions(&extensions, &subject_key_identifier)?;

    Ok(TbsFacts {
        serial,
        not_before,
        not_after,
        validity_days,
        subject_der,
        subject,
        subject_attributes,
        spki_der,
        signature_algorithm,
        subject_key_identifier,
        digital_signature,
    })
}

/// The DER of a field kept as `AnyRef`; the same bytes as in the input, which
/// [`decode_canonical`] has already checked re-encodes unchanged.
fn raw_der(any: AnyRef<'_>, what: &'static str) -> Result<Vec<u8>> {
    any.to_der().map_err(|e| X509Error::malformed(what, e))
}

/// RFC 4514 string of a DER Name, checking its DER on the way.
fn render_name(name_der: &[u8], what: &'static str) -> Result<String> {
    let name: RawName<'_> = decode_canonical(name_der, what)?;
    let mut parts = Vec::new();
    for rdn in &name {
        for atv in rdn.iter() {
            let value = match atv.value.tag() {
                der::Tag::Utf8String | der::Tag::PrintableString | der::Tag::Ia5String => {
                    match std::str::from_utf8(atv.value.value()) {
                        Ok(s) => escape_rfc4514(s),
                        Err(_) => hex_value(atv.value, what)?,
                    }
                }
                _ => hex_value(atv.value, what)?,
            };
            parts.push((attribute_short_name(&atv.oid), value));
        }
    }
    Ok(rfc4514(&parts))
}

/// The attributes of a DER Name in encoding order.
fn name_attributes(name_der: &[u8], what: &'static str) -> Result<Vec<NameAttribute>> {
    let name: RawName<'_> = decode_canonical(name_der, what)?;
    Ok(name
        .iter()
        .enumerate()
        .flat_map(|(rdn, set)| {
            set.iter().map(move |atv| NameAttribute {
                rdn,
                oid: atv.oid,
                short_name: attribute_short_name(&atv.oid),
                tag: atv.value.tag(),
                value: atv.value.value().to_vec(),
            })
        })
        .collect())
}

/// The DER tbsCertificate of a DER certificate, which must be canonical DER with nothing
/// after it.
pub fn certificate_tbs(cert_der: &[u8]) -> Result<Vec<u8>> {
    let certificate: RawCertificate<'_> = decode_canonical(cert_der, "the certificate")?;
    certificate
        .tbs_certificate
        .to_der()
        .map_err(|e| X509Error::malformed("the tbsCertificate", e))
}

/// RFC 4514 2.4 `#hex` form of a non-string attribute value.
fn hex_value(value: AnyRef<'_>, what: &'static str) -> Result<String> {
    let der = value.to_der().map_err(|e| X509Error::malformed(what, e))?;
    Ok(format!("#{}", hex::encode_upper(der)))
}

fn time_to_chrono(time: RawTime, what: &'static str) -> Result<DateTime<Utc>> {
    let (datetime, is_utc_time) = match time {
        RawTime::Utc(t) => (t.to_date_time(), true),
        RawTime::General(t) => (t.to_date_time(), false),
    };
    if is_utc_time != (datetime.year() <= LAST_UTC_TIME_YEAR) {
        return Err(X509Error::check(
            "time encoding",
            format!(
                "{what} ({datetime}) must be a {} (RFC 5280 4.1.2.5)",
                if is_utc_time {
                    "GeneralizedTime"
                } else {
                    "UTCTime"
                }
            ),
        ));
    }
    let seconds = i64::try_from(datetime.unix_duration().as_secs())
        .map_err(|e| X509Error::malformed(what, e))?;
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| X509Error::UnencodableTime {
        what,
        value: datetime.to_string(),
    })
}

/// The validity period counted as CPS 6.3.2 counts it: from notBefore through notAfter
/// inclusive (RFC 5280 4.1.2.5), in days of 86,400 s, any part of a day counting as a day;
/// refused outside 2922..=9132 days (BR 7.1.2.1.1).
fn validity_days(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> Result<u64> {
    let seconds = not_after.timestamp() - not_before.timestamp() + 1;
    let seconds = u64::try_from(seconds).map_err(|_| {
        X509Error::check(
            "validity",
            format!("notAfter {not_after} is before notBefore {not_before}"),
        )
    })?;
    let days = seconds.div_ceil(DAY_SECONDS);
    if !(u64::from(MIN_VALIDITY_DAYS)..=u64::from(MAX_VALIDITY_DAYS)).contains(&days) {
        return Err(X509Error::ValidityOutOfRange {
            days,
            min: MIN_VALIDITY_DAYS.into(),
            max: MAX_VALIDITY_DAYS.into(),
        });
    }
    Ok(days)
}

/// Checks the extensions are exactly the root profile; returns whether keyUsage has
/// digitalSignature.
fn check_extensions(extensions: &[RawExtension<'_>], ski: &[u8]) -> Result<bool> {
    let mut seen = Vec::new();
    let mut digital_signature = None;
    for extension in extensions {
        if seen.contains(&extension.extn_id) {
            return Err(X509Error::check(
                "extensions",
                format!("extension {} appears twice", extension.extn_id),
            ));
        }
        seen.push(extension.extn_id);
        let value = extension.extn_value.as_bytes();
        let (name, critical, ok) = match extension.extn_id {
            BASIC_CONSTRAINTS => ("basicConstraints", true, value == BASIC_CONSTRAINTS_CA),
            KEY_USAGE => {
                digital_signature = match value {
                    v if v == KEY_USAGE_CERT_CRL_SIGN => Some(false),
                    v if v == KEY_USAGE_DIGITAL_CERT_CRL_SIGN => Some(true),
                    _ => None,
                };
                ("keyUsage", true, digital_signature.is_some())
            }
            SUBJECT_KEY_IDENTIFIER => {
                let expected = [&[0x04, 0x14][..], ski].concat();
                ("subjectKeyIdentifier", false, value == expected)
            }
            AUTHORITY_KEY_IDENTIFIER => {
                let expected = [&[0x30, 0x16, 0x80, 0x14][..], ski].concat();
                ("authorityKeyIdentifier", false, value == expected)
            }
            other => {
                return Err(X509Error::check(
                    "extensions",
                    format!(
                        "extension {other} is not in the root profile (BR 7.1.2.1.2): only \
                         basicConstraints, keyUsage, subjectKeyIdentifier and \
                         authorityKeyIdentifier are allowed"
                    ),
                ));
            }
        };
        if extension.critical != critical {
            return Err(X509Error::check(
                "extensions",
                format!(
                    "{name} must be {}",
                    if critical { "critical" } else { "non-critical" }
                ),
            ));
        }
        if !ok {
            return Err(X509Error::check(
                "extensions",
                format!(
                    "{name} has the value {}, not the root profile's (BR 7.1.2.1)",
                    hex::encode_upper(value)
                ),
            ));
        }
    }
    for (oid, name) in [
        (BASIC_CONSTRAINTS, "basicConstraints"),
        (KEY_USAGE, "keyUsage"),
        (SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier"),
        (AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier"),
    ] {
        if !seen.contains(&oid) {
            return Err(X509Error::check(
                "extensions",
                format!("{name} is missing (BR 7.1.2.1.2)"),
            ));
        }
    }
    Ok(digital_signature.unwrap_or_default())
}
