//! The root's subject (= issuer) name.
//!
//! BR 7.1.2.10.2 (CA Certificate Naming) requires countryName, organizationName and commonName
//! and allows stateOrProvinceName and localityName among others; BR 7.1.4.1 requires one
//! attribute per RDN, no attribute twice, and the order C, ST, L, O, CN; BR 7.1.4.2 and
//! RFC 5280 appendix A fix countryName as a PrintableString of two letters and the upper
//! bounds of the others. CPS 6.3.2: a subject name is never reused (the ceremony's business).

use std::fmt;

use der::{Decode, Encode, Tag, asn1::Any, asn1::ObjectIdentifier};
use keyceremony_text::TextKind;
use x509_cert::{
    attr::AttributeTypeAndValue,
    name::{Name, RdnSequence, RelativeDistinguishedName},
};

use crate::error::{Result, X509Error};

pub(crate) const COUNTRY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
pub(crate) const STATE_OR_PROVINCE_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.8");
pub(crate) const LOCALITY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
pub(crate) const ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
pub(crate) const ORGANIZATIONAL_UNIT_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.4.11");
pub(crate) const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// RFC 5280 appendix A upper bounds, in characters.
const UB_STATE_NAME: usize = 128;
const UB_LOCALITY_NAME: usize = 128;
const UB_ORGANIZATION_NAME: usize = 64;
const UB_COMMON_NAME: usize = 64;

/// The subject of the root certificate; the issuer is the same name.
///
/// Encoded as an RDNSequence in the order C, ST, L, O, CN with one attribute per RDN
/// (BR 7.1.4.1); countryName is a PrintableString of exactly two upper-case letters
/// (ISO 3166-1 alpha-2, BR 7.1.4.2), every other attribute a UTF8String (RFC 5280 4.1.2.4).
/// Upper bounds (RFC 5280 appendix A, counted in characters): stateOrProvinceName and
/// localityName 128, organizationName and commonName 64.
///
/// `Display` writes the RFC 4514 string, which lists the RDNs in reverse of their encoded
/// order: `CN=Example Root R1,O=Example Trust,C=JP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinguishedName {
    /// countryName (C): two upper-case letters, e.g. `JP`.
    pub country: String,
    /// stateOrProvinceName (ST), optional.
    pub state_or_province: Option<String>,
    /// localityName (L), optional.
    pub locality: Option<String>,
    /// organizationName (O).
    pub organization: String,
    /// commonName (CN).
    pub common_name: String,
}

/// One attribute of a [`DistinguishedName`] in encoding order.
struct Attribute<'a> {
    oid: ObjectIdentifier,
    short: &'static str,
    long: &'static str,
    value: &'a str,
}

impl DistinguishedName {
    /// The attributes present, in encoding order C, ST, L, O, CN.
    fn attributes(&self) -> Vec<Attribute<'_>> {
        let mut attributes = vec![Attribute {
            oid: COUNTRY_NAME,
            short: "C",
            long: "countryName",
            value: &self.country,
        }];
        if let Some(value) = &self.state_or_province {
            attributes.push(Attribute {
                oid: STATE_OR_PROVINCE_NAME,
                short: "ST",
                long: "stateOrProvinceName",
                value,
            });
        }
        if let Some(value) = &self.locality {
            attributes.push(Attribute {
                oid: LOCALITY_NAME,
                short: "L",
                long: "localityName",
                value,
            });
        }
        attributes.push(Attribute {
            oid: ORGANIZATION_NAME,
            short: "O",
            long: "organizationName",
            value: &self.organization,
        });
        attributes.push(Attribute {
            oid: COMMON_NAME,
            short: "CN",
            long: "commonName",
            value: &self.common_name,
        });
        attributes
    }

    /// Checks every attribute: countryName two upper-case letters; the others not empty,
    /// within the RFC 5280 upper bound, of characters that all show (no control character,
    /// bidirectional control or invisible character: keyceremony-text's rule for a name) and
    /// without leading or trailing white space.
    pub fn validate(&self) -> Result<()> {
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(X509Error::InvalidName {
                attribute: "countryName",
                problem: format!(
                    "{:?} is not exactly two upper-case letters (ISO 3166-1 alpha-2, BR 7.1.4.2)",
                    self.country
                ),
            });
        }
        let bounded = [
            (
                "stateOrProvinceName",
                self.state_or_province.as_deref(),
                UB_STATE_NAME,
            ),
            ("localityName", self.locality.as_deref(), UB_LOCALITY_NAME),
            (
                "organizationName",
                Some(self.organization.as_str()),
                UB_ORGANIZATION_NAME,
            ),
            (
                "commonName",
                Some(self.common_name.as_str()),
                UB_COMMON_NAME,
            ),
        ];
        for (attribute, value, bound) in bounded {
            if let Some(value) = value {
                check_directory_string(attribute, value, bound)?;
            }
        }
        Ok(())
    }

    /// The x509-cert `Name`, after [`Self::validate`].
    pub(crate) fn to_name(&self) -> Result<Name> {
        self.validate()?;
        let mut rdns = RdnSequence::default();
        for attribute in self.attributes() {
            let tag = if attribute.oid == COUNTRY_NAME {
                Tag::PrintableString
            } else {
                Tag::Utf8String
            };
            let value =
                Any::new(tag, attribute.value.as_bytes()).map_err(|e| X509Error::InvalidName {
                    attribute: attribute.long,
                    problem: e.to_string(),
                })?;
            let atv = AttributeTypeAndValue {
                oid: attribute.oid,
                value,
            };
            let rdn = RelativeDistinguishedName::try_from(vec![atv]).map_err(|e| {
                X509Error::InvalidName {
                    attribute: attribute.long,
                    problem: e.to_string(),
                }
            })?;
            rdns.push(rdn);
        }
        let der = rdns.to_der().map_err(|e| X509Error::Build(e.to_string()))?;
        Name::from_der(&der).map_err(|e| X509Error::Build(e.to_string()))
    }
}

fn check_directory_string(attribute: &'static str, value: &str, bound: usize) -> Result<()> {
    let problem = if value.is_empty() {
        Some("is empty".to_owned())
    } else if value.chars().count() > bound {
        Some(format!(
            "has {} characters, more than the RFC 5280 upper bound of {bound}",
            value.chars().count()
        ))
    } else if let Err(refusal) = keyceremony_text::check(value, TextKind::Name) {
        Some(refusal.to_string())
    } else if value.trim() != value {
        Some("begins or ends with white space".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(X509Error::InvalidName { attribute, problem }),
        None => Ok(()),
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attributes = self.attributes();
        let parts: Vec<(String, String)> = attributes
            .iter()
            .map(|a| (a.short.to_owned(), escape_rfc4514(a.value)))
            .collect();
        f.write_str(&rfc4514(&parts))
    }
}

/// The RFC 4514 short name of an attribute type, or its dotted OID.
pub(crate) fn attribute_short_name(oid: &ObjectIdentifier) -> String {
    match *oid {
        COUNTRY_NAME => "C".to_owned(),
        STATE_OR_PROVINCE_NAME => "ST".to_owned(),
        LOCALITY_NAME => "L".to_owned(),
        ORGANIZATION_NAME => "O".to_owned(),
        ORGANIZATIONAL_UNIT_NAME => "OU".to_owned(),
        COMMON_NAME => "CN".to_owned(),
        _ => oid.to_string(),
    }
}

/// RFC 4514 string of `(type, escaped value)` pairs given in encoding order; the string lists
/// them last first.
pub(crate) fn rfc4514(encoded_order: &[(String, String)]) -> String {
    encoded_order
        .iter()
        .rev()
        .map(|(short, value)| format!("{short}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Escapes a string value per RFC 4514 section 2.4.
pub(crate) fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push_str("\\00"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '#' if i == 0 => out.push_str("\\#"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use der::Tagged;

    use super::*;

    fn dn() -> DistinguishedName {
        DistinguishedName {
            country: "JP".into(),
            state_or_province: Some("Tokyo".into()),
            locality: Some("Chiyoda-ku".into()),
            organization: "Example Trust".into(),
            common_name: "Example Root R1".into(),
        }
    }

    #[test]
    fn display_is_rfc4514_order() {
        assert_eq!(
            dn().to_string(),
            "CN=Example Root R1,O=Example Trust,L=Chiyoda-ku,ST=Tokyo,C=JP"
        );
    }

    #[test]
    fn display_escapes_special_characters() {
        let mut name = dn();
        name.organization = "Example, Inc. + \"Trust\"".into();
        name.common_name = "#1 Root".into();
        assert_eq!(
            name.to_string(),
            "CN=\\#1 Root,O=Example\\, Inc. \\+ \\\"Trust\\\",L=Chiyoda-ku,ST=Tokyo,C=JP"
        );
    }

    #[test]
    fn encoding_is_c_st_l_o_cn_with_printable_country() {
        let der = dn().to_name().expect("name").to_der().expect("der");
        // SEQUENCE { SET { SEQUENCE { 2.5.4.6, PrintableString "JP" } } ...
        assert_eq!(
            &der[2..15],
            &[
                0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'J', b'P'
            ]
        );
        let name = Name::from_der(&der).expect("decode");
        let order: Vec<_> = name.iter().map(|atv| atv.oid).collect();
        assert_eq!(
            order,
            [
                COUNTRY_NAME,
                STATE_OR_PROVINCE_NAME,
                LOCALITY_NAME,
                ORGANIZATION_NAME,
                COMMON_NAME
            ]
        );
        for atv in name.iter().skip(1) {
            assert_eq!(atv.value.tag(), Tag::Utf8String);
        }
    }

    #[test]
    fn bad_countries_refused() {
        for country in ["jp", "JPN", "J", "", "J1", "ＪＰ"] {
            let mut name = dn();
            name.country = country.into();
            let err = name.validate().expect_err(country);
            assert!(err.to_string().contains("countryName"), "{err}");
        }
    }

    #[test]
    fn empty_and_overlong_values_refused() {
        let mut name = dn();
        name.organization = String::new();
        assert!(name.validate().unwrap_err().to_string().contains("empty"));

        let mut name = dn();
        name.common_name = "x".repeat(65);
        assert!(name.validate().unwrap_err().to_string().contains("64"));
        name.common_name = "é".repeat(64);
        name.validate().expect("64 characters are allowed");

        let mut name = dn();
        name.organization = "x".repeat(65);
        assert!(name.validate().is_err());

        let mut name = dn();
        name.state_or_province = Some("x".repeat(129));
        assert!(name.validate().unwrap_err().to_string().contains("128"));
        name.state_or_province = Some("x".repeat(128));
        name.locality = Some("x".repeat(129));
        assert!(
            name.validate()
                .unwrap_err()
                .to_string()
                .contains("localityName")
        );

        let mut name = dn();
        name.common_name = " Root".into();
        assert!(name.validate().is_err());
        name.common_name = "Root\n".into();
        assert!(name.validate().is_err());
    }

    #[test]
    fn a_name_shows_every_character() {
        for hostile in ["Root\u{1b}[2J", "Root\0", "Root\u{202e}1R", "Root\u{200b}s"] {
            let mut name = dn();
            name.common_name = hostile.into();
            let err = name.validate().expect_err(hostile).to_string();
            assert!(
                err.contains("commonName") && err.contains("character 5"),
                "{err}"
            );
        }
    }

    #[test]
    fn optional_attributes_may_be_absent() {
        let name = DistinguishedName {
            state_or_province: None,
            locality: None,
            ..dn()
        };
        assert_eq!(name.to_string(), "CN=Example Root R1,O=Example Trust,C=JP");
        assert_eq!(name.to_name().expect("name").len(), 3);
    }
}
