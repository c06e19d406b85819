//! RFC 7512 PKCS#11 URIs, for naming tokens and keys in ceremony records
//! and in other tools' configuration (OpenSSL, p11-kit).

use std::fmt;
use std::str::FromStr;

use crate::error::HsmError;

/// The attribute values RFC 7512 allows for `type`.
const OBJECT_TYPES: [&str; 5] = ["public", "private", "cert", "secret-key", "data"];

/// A PKCS#11 URI with the path attributes this tool uses.
///
/// Query attributes (`?pin-value=...`, `?module-path=...`) are rejected when
/// parsing: PINs must never travel inside a URI, and the module is chosen
/// explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `object`: the object's CKA_LABEL.
    pub object: Option<String>,
    /// `id`: the object's CKA_ID.
    pub id: Option<Vec<u8>>,
    /// `type`: "public", "private", "cert", "secret-key" or "data".
    pub object_type: Option<String>,
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Same order as p11-kit prints, so URIs compare well by eye.
        let attributes = [
            ("model", self.model.as_deref().map(encode_text)),
            (
                "manufacturer",
                self.manufacturer.as_deref().map(encode_text),
            ),
            ("serial", self.serial.as_deref().map(encode_text)),
            ("token", self.token.as_deref().map(encode_text)),
            ("id", self.id.as_deref().map(encode_all)),
            ("object", self.object.as_deref().map(encode_text)),
            ("type", self.object_type.as_deref().map(encode_text)),
        ];
        f.write_str("pkcs11:")?;
        let mut first = true;
        for (name, value) in attributes {
            if let Some(value) = value {
                if !first {
                    f.write_str(";")?;
                }
                first = false;
                write!(f, "{name}={value}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Pkcs11Uri {
    type Err = HsmError;

    fn from_str(text: &str) -> Result<Self, HsmError> {
        let invalid = |reason: String| HsmError::InvalidArgument(format!("PKCS#11 URI: {reason}"));
        let path = match text.split_at_checked(7) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("pkcs11:") => rest,
            _ => return Err(invalid("it must start with \"pkcs11:\"".to_owned())),
        };
        if path.contains('?') {
            return Err(invalid(
                "query attributes (after '?') such as pin-value or module-path are not supported"
                    .to_owned(),
            ));
        }
        let mut uri = Pkcs11Uri::default();
        if path.is_empty() {
            return Ok(uri);
        }
        for attribute in path.split(';') {
            let (name, raw) = attribute
                .split_once('=')
                .ok_or_else(|| invalid(format!("attribute {attribute:?} has no '='")))?;
            let value = decode(raw).map_err(|reason| invalid(format!("{name}: {reason}")))?;
            let text = || {
                String::from_utf8(value.clone())
                    .map_err(|_| invalid(format!("{name} is not valid UTF-8")))
            };
            let slot = match name {
                "token" => Slot::Text(&mut uri.token),
                "manufacturer" => Slot::Text(&mut uri.manufacturer),
                "model" => Slot::Text(&mut uri.model),
                "serial" => Slot::Text(&mut uri.serial),
                "object" => Slot::Text(&mut uri.object),
                "type" => Slot::Text(&mut uri.object_type),
                "id" => Slot::Bytes(&mut uri.id),
                other => {
                    return Err(invalid(format!(
                        "unknown or unsupported attribute {other:?}"
                    )));
                }
            };
            let duplicate = || invalid(format!("attribute {name:?} appears more than once"));
            match slot {
                Slot::Text(field) => {
                    if field.is_some() {
                        return Err(duplicate());
                    }
                    *field = Some(text()?);
                }
                Slot::Bytes(field) => {
                    if field.is_some() {
                        return Err(duplicate());
                    }
                    *field = Some(value);
                }
            }
        }
        if let Some(kind) = &uri.object_type
            && !OBJECT_TYPES.contains(&kind.as_str())
        {
            return Err(invalid(format!(
                "type {kind:?} is not one of {}",
                OBJECT_TYPES.join(", ")
            )));
        }
        Ok(uri)
    }
}

/// Where a parsed attribute value goes.
enum Slot<'a> {
    Text(&'a mut Option<String>),
    Bytes(&'a mut Option<Vec<u8>>),
}

/// Characters RFC 7512 lets a path attribute value carry unencoded:
/// unreserved plus pk11-path-res-avail, minus '=' which we encode anyway so
/// that naive `name=value` splitting by other tools cannot go wrong.
fn is_literal(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,".contains(&byte)
}

fn encode_text(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if is_literal(b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// CKA_ID is binary, so it is always fully percent-encoded.
fn encode_all(value: &[u8]) -> String {
    value.iter().map(|b| format!("%{b:02X}")).collect()
}

fn decode(raw: &str) -> Result<Vec<u8>, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| format!("bad percent-encoding at byte {i}"))?;
                out.push(hex);
                i += 3;
            }
            b if is_literal(b) || b == b'=' => {
                out.push(b);
                i += 1;
            }
            b => {
                return Err(format!(
                    "character {:?} must be percent-encoded",
                    char::from(b)
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Pkcs11Uri {
        text.parse()
            .unwrap_or_else(|e| panic!("{text} should parse: {e}"))
    }

    #[test]
    fn display_matches_the_documented_form() {
        let uri = Pkcs11Uri {
            token: Some("Example Root".into()),
            manufacturer: Some("SoftHSM project".into()),
            model: Some("SoftHSM v2".into()),
            serial: Some("1a2b".into()),
            object: Some("root-rsa-2026".into()),
            id: Some(vec![1, 2]),
            object_type: Some("private".into()),
        };
        assert_eq!(
            uri.to_string(),
            "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=1a2b;\
             token=Example%20Root;id=%01%02;object=root-rsa-2026;type=private"
        );
    }

    #[test]
    fn empty_uri_round_trips() {
        assert_eq!(Pkcs11Uri::default().to_string(), "pkcs11:");
        assert_eq!(parse("pkcs11:"), Pkcs11Uri::default());
    }

    #[test]
    fn awkward_values_round_trip() {
        let uri = Pkcs11Uri {
            token: Some("a;b=c/d?e%f&g#h é".into()),
            object: Some("x:[y]@z!$'()*+,-._~".into()),
            id: Some((0..=255).collect()),
            serial: Some(String::new()),
            ..Pkcs11Uri::default()
        };
        let text = uri.to_string();
        for forbidden in [' ', '/', '?', '#', '&', '"'] {
            assert!(!text.contains(forbidden), "{forbidden:?} in {text}");
        }
        assert!(text.contains("object=x:[y]@z!$'()*+,-._~"), "{text}");
        assert_eq!(parse(&text), uri);
    }

    #[test]
    fn rfc7512_examples_parse() {
        assert_eq!(
            parse("pkcs11:object=my-pubkey;type=public"),
            Pkcs11Uri {
                object: Some("my-pubkey".into()),
                object_type: Some("public".into()),
                ..Pkcs11Uri::default()
            }
        );
        let uri = parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;\
             manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;\
             type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
        );
        assert_eq!(uri.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(uri.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(uri.model.as_deref(), Some("1.0"));
        assert_eq!(uri.object_type.as_deref(), Some("cert"));
        assert_eq!(
            uri.id,
            Some(vec![0x69, 0x95, 0x3E, 0x5C, 0xF4, 0xBD, 0xEC, 0x91])
        );
        assert_eq!(uri.serial.as_deref(), Some(""));
        assert_eq!(
            parse("pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert")
                .token
                .as_deref(),
            Some("A name with a substring %;")
        );
        assert_eq!(
            parse("pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert")
                .token
                .as_deref(),
            Some("Name with a small A with acute: á")
        );
        // Percent-encoding is case-insensitive.
        assert_eq!(parse("pkcs11:id=%ab%CD").id, Some(vec![0xAB, 0xCD]));
    }

    #[test]
    fn unsupported_or_malformed_uris_are_rejected() {
        for bad in [
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
            "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
            "pkcs11:slot-description=Sun%20Metaslot",
            "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a",
            "pkcs11:token=a;token=b",
            "pkcs11:type=secret",
            "pkcs11:token=a b",
            "pkcs11:id=%0",
            "pkcs11:id=%zz",
            "pkcs11:token",
            "pkcs11:token=a;",
            "pkcs11:token=%FF",
            "https://example.invalid/",
            "",
        ] {
            assert!(bad.parse::<Pkcs11Uri>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn scheme_is_case_insensitive() {
        assert_eq!(parse("PKCS11:token=x").token.as_deref(), Some("x"));
    }
}
