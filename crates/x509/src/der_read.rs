//! Reading certificates with plain `der`: nothing here uses x509-cert, so the library that
//! built a certificate does not vouch for it. The structures keep the fields that are
//! compared byte for byte as raw DER; every decode refuses what does not re-encode to the
//! same bytes.

use chrono::{DateTime, Utc};
use der::{
    Choice, Decode, Encode, Sequence, Tagged, ValueOrd,
    asn1::{
        AnyRef, BitStringRef, GeneralizedTime, ObjectIdentifier, OctetStringRef, SetOfVec, UintRef,
        UtcTime,
    },
};

use crate::{
    error::{Result, X509Error},
    issuance::DAY_SECONDS,
    name::{attribute_short_name, escape_rfc4514, rfc4514},
};

/// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) const LAST_UTC_TIME_YEAR: u16 = 2049;
/// RFC 5280 4.1.2.2: at most 20 octets.
pub(crate) const MAX_SERIAL_LEN: usize = 20;
/// X.509 v3 is encoded as 2.
pub(crate) const VERSION_3: u8 = 2;

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
pub(crate) struct RawTbs<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) version: Option<u8>,
    pub(crate) serial_number: UintRef<'a>,
    pub(crate) signature: AnyRef<'a>,
    pub(crate) issuer: AnyRef<'a>,
    pub(crate) validity: RawValidity,
    pub(crate) subject: AnyRef<'a>,
    pub(crate) subject_public_key_info: AnyRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) issuer_unique_id: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) subject_unique_id: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) extensions: Option<Vec<RawExtension<'a>>>,
}

#[derive(Sequence)]
pub(crate) struct RawValidity {
    pub(crate) not_before: RawTime,
    pub(crate) not_after: RawTime,
}

#[derive(Choice, Clone, Copy)]
pub(crate) enum RawTime {
    #[asn1(type = "UTCTime")]
    Utc(UtcTime),
    #[asn1(type = "GeneralizedTime")]
    General(GeneralizedTime),
}

#[derive(Sequence)]
pub(crate) struct RawExtension<'a> {
    pub(crate) extn_id: ObjectIdentifier,
    #[asn1(default = "bool::default")]
    pub(crate) critical: bool,
    pub(crate) extn_value: &'a OctetStringRef,
}

/// AttributeTypeAndValue with the value kept raw.
#[derive(Sequence, ValueOrd)]
pub(crate) struct RawAttribute<'a> {
    pub(crate) oid: ObjectIdentifier,
    pub(crate) value: AnyRef<'a>,
}

/// Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue).
pub(crate) type RawName<'a> = Vec<SetOfVec<RawAttribute<'a>>>;

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

/// The DER of a field kept as `AnyRef`; the same bytes as in the input, which
/// [`decode_canonical`] has already checked re-encodes unchanged.
pub(crate) fn raw_der(any: AnyRef<'_>, what: &'static str) -> Result<Vec<u8>> {
    any.to_der().map_err(|e| X509Error::malformed(what, e))
}

/// RFC 4514 string of a DER Name, checking its DER on the way.
pub(crate) fn render_name(name_der: &[u8], what: &'static str) -> Result<String> {
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
pub(crate) fn name_attributes(name_der: &[u8], what: &'static str) -> Result<Vec<NameAttribute>> {
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

pub(crate) fn time_to_chrono(time: RawTime, what: &'static str) -> Result<DateTime<Utc>> {
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

/// The days from `not_before` through `not_after` inclusive (RFC 5280 4.1.2.5), in days of
/// 86,400 s, any part of a day counting as a day (CPS 6.3.2).
pub(crate) fn inclusive_days(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> Result<u64> {
    let seconds = not_after.timestamp() - not_before.timestamp() + 1;
    let seconds = u64::try_from(seconds).map_err(|_| {
        X509Error::check(
            "validity",
            format!("notAfter {not_after} is before notBefore {not_before}"),
        )
    })?;
    Ok(seconds.div_ceil(DAY_SECONDS))
}
