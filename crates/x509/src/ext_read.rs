//! Extension values read with plain `der`, element by element, for the checks after
//! building and after signing: x509-cert encodes the extensions, this module reads them back
//! on its own (RFC 5280 4.2, 5.2, 5.3).

use der::{
    Choice, Decode, DecodeValue, Reader, SliceReader, Tag, TagNumber, Tagged,
    asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef},
};

use crate::{
    der_read::decode_canonical,
    error::{Result, X509Error},
};

/// The extension OIDs this crate writes or reads (RFC 5280 4.2.1, 5.2, 5.3; RFC 6960).
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier;

    pub(crate) const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.35");
    pub(crate) const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.14");
    pub(crate) const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
    pub(crate) const BASIC_CONSTRAINTS: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.19");
    pub(crate) const EXTENDED_KEY_USAGE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.37");
    pub(crate) const CERTIFICATE_POLICIES: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.32");
    pub(crate) const CRL_DISTRIBUTION_POINTS: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.31");
    pub(crate) const AUTHORITY_INFO_ACCESS: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
    pub(crate) const NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
    pub(crate) const OCSP_NO_CHECK: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
    pub(crate) const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
    pub(crate) const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.28");
    pub(crate) const REASON_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");

    /// id-kp-serverAuth, id-kp-clientAuth, id-kp-OCSPSigning, anyExtendedKeyUsage.
    pub(crate) const SERVER_AUTH: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
    pub(crate) const CLIENT_AUTH: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
    pub(crate) const OCSP_SIGNING: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
    pub(crate) const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.37.0");

    /// id-ad-ocsp and id-ad-caIssuers (RFC 5280 4.2.2.1).
    pub(crate) const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
    pub(crate) const AD_CA_ISSUERS: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

    /// anyPolicy (RFC 5280 4.2.1.4).
    pub(crate) const ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32.0");
}

/// keyUsage bits (RFC 5280 4.2.1.3), bit 0 first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUsageBits(pub u16);

impl KeyUsageBits {
    /// digitalSignature (0).
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// keyCertSign (5).
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    /// cRLSign (6).
    pub const CRL_SIGN: u16 = 1 << 6;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u16) -> bool {
        self.0 & bits == bits
    }
}

/// One DistributionPoint (RFC 5280 4.2.1.13) or the distributionPoint of an Issuing
/// Distribution Point (5.2.5): its fullName URIs, and whether anything else is there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistributionPointFacts {
    /// The uniformResourceIdentifier GeneralNames of the fullName, in order.
    pub uris: Vec<String>,
    /// A GeneralName of another type in the fullName, or a nameRelativeToCRLIssuer.
    pub other_names: bool,
    /// `reasons` is present.
    pub reasons: bool,
    /// `cRLIssuer` is present.
    pub crl_issuer: bool,
}

/// An Issuing Distribution Point (RFC 5280 5.2.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuingDistributionPointFacts {
    /// The distributionPoint, if present.
    pub distribution_point: Option<DistributionPointFacts>,
    /// onlyContainsUserCerts.
    pub only_user_certs: bool,
    /// onlyContainsCACerts.
    pub only_ca_certs: bool,
    /// onlySomeReasons is present.
    pub only_some_reasons: bool,
    /// indirectCRL.
    pub indirect_crl: bool,
    /// onlyContainsAttributeCerts.
    pub only_attribute_certs: bool,
}

fn malformed(what: &'static str, detail: impl std::fmt::Display) -> X509Error {
    X509Error::malformed(what, detail)
}

/// The elements of a constructed value's content.
pub(crate) fn elements<'a>(content: &'a [u8], what: &'static str) -> Result<Vec<AnyRef<'a>>> {
    let mut reader = SliceReader::new(content).map_err(|e| malformed(what, e))?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader).map_err(|e| malformed(what, e))?);
    }
    Ok(out)
}

/// The elements of a DER SEQUENCE OF that is the whole of `value`.
fn sequence_of<'a>(value: &'a [u8], what: &'static str) -> Result<Vec<AnyRef<'a>>> {
    let any: AnyRef<'a> = decode_canonical(value, what)?;
    if any.tag() != Tag::Sequence {
        return Err(malformed(
            what,
            format!("a SEQUENCE was expected, not {}", any.tag()),
        ));
    }
    elements(any.value(), what)
}

fn context(number: u32, constructed: bool) -> Tag {
    Tag::ContextSpecific {
        constructed,
        number: TagNumber(number),
    }
}

fn decode_as<'a, T>(any: AnyRef<'a>, what: &'static str) -> Result<T>
where
    T: Choice<'a> + DecodeValue<'a, Error = der::Error>,
{
    any.decode_as::<T>().map_err(|e| malformed(what, e))
}

/// basicConstraints: (cA, pathLenConstraint).
pub(crate) fn basic_constraints(value: &[u8]) -> Result<(bool, Option<u8>)> {
    const WHAT: &str = "the basicConstraints value";
    let fields = sequence_of(value, WHAT)?;
    let mut fields = fields.into_iter().peekable();
    let ca = match fields.peek() {
        Some(any) if any.tag() == Tag::Boolean => {
            let ca: bool = decode_as(fields.next().expect("peeked"), WHAT)?;
            if !ca {
                return Err(X509Error::NonCanonical {
                    what: "basicConstraints cA FALSE, which DER leaves out as the DEFAULT",
                });
            }
            true
        }
        _ => false,
    };
    let path_len = match fields.next() {
        Some(any) => Some(decode_as::<u8>(any, WHAT)?),
        None => None,
    };
    if fields.next().is_some() {
        return Err(malformed(WHAT, "more than cA and pathLenConstraint"));
    }
    Ok((ca, path_len))
}

/// keyUsage as bits.
pub(crate) fn key_usage(value: &[u8]) -> Result<KeyUsageBits> {
    let bits: BitStringRef<'_> = decode_canonical(value, "the keyUsage value")?;
    let mut out = 0u16;
    for (i, bit) in bits.bits().enumerate().take(16) {
        if bit {
            out |= 1 << i;
        }
    }
    Ok(KeyUsageBits(out))
}

/// A SEQUENCE OF OBJECT IDENTIFIER (extKeyUsage).
pub(crate) fn oid_list(value: &[u8], what: &'static str) -> Result<Vec<ObjectIdentifier>> {
    sequence_of(value, what)?
        .into_iter()
        .map(|any| decode_as(any, what))
        .collect()
}

/// certificatePolicies: each policyIdentifier, and whether it has policyQualifiers.
pub(crate) fn certificate_policies(value: &[u8]) -> Result<Vec<(ObjectIdentifier, bool)>> {
    const WHAT: &str = "the certificatePolicies value";
    sequence_of(value, WHAT)?
        .into_iter()
        .map(|info| {
            if info.tag() != Tag::Sequence {
                return Err(malformed(WHAT, "a PolicyInformation is not a SEQUENCE"));
            }
            let fields = elements(info.value(), WHAT)?;
            let oid = decode_as(
                *fields.first().ok_or_else(|| malformed(WHAT, "empty"))?,
                WHAT,
            )?;
            Ok((oid, fields.len() > 1))
        })
        .collect()
}

/// The URIs of a GeneralNames, and whether it holds a name of another type.
fn general_name_uris(content: &[u8], what: &'static str) -> Result<(Vec<String>, bool)> {
    let mut uris = Vec::new();
    let mut other = false;
    for name in elements(content, what)? {
        match uri(name, what)? {
            Some(uri) => uris.push(uri),
            None => other = true,
        }
    }
    Ok((uris, other))
}

/// A GeneralName's uniformResourceIdentifier ([6] IMPLICIT IA5String), if it is one.
fn uri(name: AnyRef<'_>, what: &'static str) -> Result<Option<String>> {
    if name.tag() != context(6, false) {
        return Ok(None);
    }
    let text = name.value();
    if !text.iter().all(|b| b.is_ascii() && !b.is_ascii_control()) {
        return Err(malformed(what, "a URI that is not printable IA5String"));
    }
    Ok(Some(String::from_utf8_lossy(text).into_owned()))
}

/// A DistributionPointName ([0] fullName or [1] nameRelativeToCRLIssuer) inside its
/// explicit [0] wrapper.
fn distribution_point_name(
    wrapper: AnyRef<'_>,
    what: &'static str,
) -> Result<DistributionPointFacts> {
    let inner = elements(wrapper.value(), what)?;
    let [name] = inner.as_slice() else {
        return Err(malformed(
            what,
            "a distributionPoint holds one DistributionPointName",
        ));
    };
    if name.tag() == context(0, true) {
        let (uris, other_names) = general_name_uris(name.value(), what)?;
        Ok(DistributionPointFacts {
            uris,
            other_names,
            ..DistributionPointFacts::default()
        })
    } else {
        Ok(DistributionPointFacts {
            other_names: true,
            ..DistributionPointFacts::default()
        })
    }
}

/// cRLDistributionPoints.
pub(crate) fn crl_distribution_points(value: &[u8]) -> Result<Vec<DistributionPointFacts>> {
    const WHAT: &str = "the cRLDistributionPoints value";
    sequence_of(value, WHAT)?
        .into_iter()
        .map(|point| {
            let mut facts = DistributionPointFacts::default();
            for field in elements(point.value(), WHAT)? {
                match field.tag() {
                    tag if tag == context(0, true) => {
                        let named = distribution_point_name(field, WHAT)?;
                        facts.uris = named.uris;
                        facts.other_names = named.other_names;
                    }
                    tag if tag == context(1, false) => facts.reasons = true,
                    tag if tag == context(2, true) => facts.crl_issuer = true,
                    other => return Err(malformed(WHAT, format!("unexpected field {other}"))),
                }
            }
            Ok(facts)
        })
        .collect()
}

/// authorityInfoAccess: each accessMethod with its URI (None for a location that is not
/// a URI).
pub(crate) fn access_descriptions(value: &[u8]) -> Result<Vec<(ObjectIdentifier, Option<String>)>> {
    const WHAT: &str = "the authorityInfoAccess value";
    sequence_of(value, WHAT)?
        .into_iter()
        .map(|description| {
            let fields = elements(description.value(), WHAT)?;
            let [method, location] = fields.as_slice() else {
                return Err(malformed(WHAT, "an AccessDescription has two fields"));
            };
            Ok((decode_as(*method, WHAT)?, uri(*location, WHAT)?))
        })
        .collect()
}

/// subjectKeyIdentifier: the key identifier.
pub(crate) fn subject_key_identifier(value: &[u8]) -> Result<Vec<u8>> {
    let id: &OctetStringRef = decode_canonical(value, "the subjectKeyIdentifier value")?;
    Ok(id.as_bytes().to_vec())
}

/// authorityKeyIdentifier: the keyIdentifier, and whether authorityCertIssuer or
/// authorityCertSerialNumber is present.
pub(crate) fn authority_key_identifier(value: &[u8]) -> Result<(Option<Vec<u8>>, bool)> {
    const WHAT: &str = "the authorityKeyIdentifier value";
    let mut key_id = None;
    let mut more = false;
    for field in sequence_of(value, WHAT)? {
        if field.tag() == context(0, false) {
            key_id = Some(field.value().to_vec());
        } else {
            more = true;
        }
    }
    Ok((key_id, more))
}

/// A BOOLEAN field with an implicit context tag: DER leaves out FALSE, the DEFAULT.
fn implicit_true(field: AnyRef<'_>, what: &'static str) -> Result<bool> {
    match field.value() {
        [0xff] => Ok(true),
        [0x00] => Err(X509Error::NonCanonical { what }),
        _ => Err(malformed(what, "a BOOLEAN is one octet, 00 or FF")),
    }
}

/// issuingDistributionPoint.
pub(crate) fn issuing_distribution_point(value: &[u8]) -> Result<IssuingDistributionPointFacts> {
    const WHAT: &str = "the issuingDistributionPoint value";
    let mut facts = IssuingDistributionPointFacts::default();
    for field in sequence_of(value, WHAT)? {
        match field.tag() {
            tag if tag == context(0, true) => {
                facts.distribution_point = Some(distribution_point_name(field, WHAT)?);
            }
            tag if tag == context(1, false) => facts.only_user_certs = implicit_true(field, WHAT)?,
            tag if tag == context(2, false) => facts.only_ca_certs = implicit_true(field, WHAT)?,
            tag if tag == context(3, false) => facts.only_some_reasons = true,
            tag if tag == context(4, false) => facts.indirect_crl = implicit_true(field, WHAT)?,
            tag if tag == context(5, false) => {
                facts.only_attribute_certs = implicit_true(field, WHAT)?;
            }
            other => return Err(malformed(WHAT, format!("unexpected field {other}"))),
        }
    }
    Ok(facts)
}

/// cRLNumber: the INTEGER's value, big-endian, without its sign octet.
pub(crate) fn crl_number(value: &[u8]) -> Result<Vec<u8>> {
    let number: UintRef<'_> = decode_canonical(value, "the cRLNumber value")?;
    Ok(number.as_bytes().to_vec())
}

/// reasonCode: the CRLReason ENUMERATED value.
pub(crate) fn reason_code(value: &[u8]) -> Result<u8> {
    const WHAT: &str = "the reasonCode value";
    let any: AnyRef<'_> = decode_canonical(value, WHAT)?;
    match (any.tag(), any.value()) {
        (Tag::Enumerated, [code]) if *code < 0x80 => Ok(*code),
        _ => Err(malformed(WHAT, "not a CRLReason ENUMERATED")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_points_and_access() {
        // SEQUENCE { SEQUENCE { [0] { [0] { [6] "http://a/b.crl" } } } }
        let uri = b"http://a/b.crl";
        let general = [&[0x86, uri.len() as u8][..], uri].concat();
        let full = [&[0xa0, general.len() as u8][..], &general].concat();
        let dp_name = [&[0xa0, full.len() as u8][..], &full].concat();
        let point = [&[0x30, dp_name.len() as u8][..], &dp_name].concat();
        let value = [&[0x30, point.len() as u8][..], &point].concat();
        let points = crl_distribution_points(&value).expect("decode");
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].uris, ["http://a/b.crl"]);
        assert!(!points[0].other_names && !points[0].reasons && !points[0].crl_issuer);
    }

    #[test]
    fn basic_constraints_forms() {
        assert_eq!(
            basic_constraints(&[0x30, 0x00]).expect("empty"),
            (false, None)
        );
        assert_eq!(
            basic_constraints(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]).expect("pathLen"),
            (true, Some(0))
        );
        assert!(basic_constraints(&[0x30, 0x03, 0x01, 0x01, 0x00]).is_err());
    }

    #[test]
    fn key_usage_bits() {
        let bits = key_usage(&[0x03, 0x02, 0x01, 0x86]).expect("decode");
        assert!(bits.has(KeyUsageBits::DIGITAL_SIGNATURE | KeyUsageBits::KEY_CERT_SIGN));
        assert!(bits.has(KeyUsageBits::CRL_SIGN));
        assert_eq!(bits.0, 0b110_0001);
    }
}
