//! Subject names as the no-reuse rule (CPS 6.3.2) compares them: attribute by
//! attribute, each value after RFC 4518 string preparation, as
//! distinguishedNameMatch with caseIgnoreMatch compares directory strings
//! (RFC 4517 4.2.15, 4.2.11). A subject that differs from an earlier one
//! only by case, white space, invisible characters (U+200B, U+00AD) or
//! compatibility forms (full-width digits) is the same name, and refused.

use caseless::default_case_fold_str;
use keyceremony_text::is_default_ignorable;
use unicode_normalization::UnicodeNormalization;

/// A subject, RFC 4514, as it is compared: `(type, prepared value)` in the
/// string's order.
pub(crate) fn comparable(rfc4514: &str) -> Vec<(String, String)> {
    match attributes(rfc4514) {
        Some(attributes) => attributes
            .into_iter()
            .map(|(kind, value)| (kind.to_ascii_uppercase(), prepare(&value)))
            .collect(),
        // Not a string this tool writes: compared whole, prepared the same way.
        None => vec![(String::new(), prepare(rfc4514))],
    }
}

/// RFC 4518 string preparation for matching a directory string:
/// 2.2 map (the characters mapped to nothing, the default-ignorable ones
/// included; control and separator characters to a space; case folded),
/// 2.3 NFKC, and 2.6.1 insignificant space (leading, trailing and repeated
/// spaces dropped).
pub(crate) fn prepare(value: &str) -> String {
    let mapped: String = value
        .chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() || maps_to_nothing(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect();
    // Compatibility forms first, so that what they decompose to is folded
    // too (U+2160 ROMAN NUMERAL ONE becomes "I", then "i").
    let folded = default_case_fold_str(&mapped.nfkc().collect::<String>());
    let normalized: String = folded.nfkc().collect();
    normalized.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 4518 2.2's characters mapped to nothing that are neither control
/// characters nor default-ignorable: the prepended concatenation marks with
/// a control function, MONGOLIAN TODO SOFT HYPHEN, the interlinear
/// annotation controls and OBJECT REPLACEMENT CHARACTER.
fn maps_to_nothing(c: char) -> bool {
    is_default_ignorable(c)
        || matches!(
            c,
            '\u{6dd}' | '\u{70f}' | '\u{1806}' | '\u{fff9}'..='\u{fffc}'
        )
}

/// `(type, value)` of each attribute of an RFC 4514 string, values
/// unescaped (`\,`, `\ ` and `\XX` hex pairs); None when it is not one.
fn attributes(rfc4514: &str) -> Option<Vec<(String, String)>> {
    let mut attributes = Vec::new();
    let mut chars = rfc4514.chars();
    loop {
        let mut kind = String::new();
        loop {
            // No '=' before the end: not an RFC 4514 string.
            match chars.next()? {
                '=' => break,
                ',' | '+' | '\\' => return None,
                c => kind.push(c),
            }
        }
        let kind = kind.trim().to_string();
        if kind.is_empty() {
            return None;
        }
        let mut bytes = Vec::new();
        let mut ended = true;
        while let Some(c) = chars.next() {
            match c {
                ',' | '+' => {
                    ended = false;
                    break;
                }
                '\\' => {
                    let first = chars.next()?;
                    match first.to_digit(16) {
                        Some(high) => {
                            let low = chars.next()?.to_digit(16)?;
                            bytes.push(u8::try_from(high * 16 + low).ok()?);
                        }
                        None => push_char(&mut bytes, first),
                    }
                }
                c => push_char(&mut bytes, c),
            }
        }
        attributes.push((kind, String::from_utf8(bytes).ok()?));
        if ended {
            return Some(attributes);
        }
    }
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4514_strings_split_into_unescaped_attributes() {
        assert_eq!(
            attributes("CN=\\#1 Root,O=Example\\, Inc. \\+ \\\"Trust\\\",C=JP").unwrap(),
            [
                ("CN".to_string(), "#1 Root".to_string()),
                ("O".to_string(), "Example, Inc. + \"Trust\"".to_string()),
                ("C".to_string(), "JP".to_string()),
            ]
        );
        assert_eq!(
            attributes("CN=caf\\C3\\A9").unwrap(),
            [("CN".to_string(), "café".to_string())]
        );
        for bad in ["", "CN", "=x", "CN=a\\", "CN=a\\4", "CN=\\FF"] {
            assert_eq!(attributes(bad), None, "{bad}");
        }
    }

    #[test]
    fn preparation_drops_what_does_not_show_and_folds_case_and_forms() {
        let plain = prepare("Example Root CA 2026");
        assert_eq!(plain, "example root ca 2026");
        for variant in [
            "Exam\u{200b}ple Root CA 2026",
            "Exam\u{ad}ple Root CA 2026",
            "Example Root CA \u{ff12}\u{ff10}\u{ff12}\u{ff16}",
            "  EXAMPLE\u{a0}ROOT   ca 2026 ",
            "Example\u{3000}Root CA 2026\u{feff}",
            "Example Root CA 20\u{2060}26",
            "\u{ff25}xample Root CA 2026",
        ] {
            assert_eq!(prepare(variant), plain, "{variant:?}");
        }
        assert_eq!(prepare("Stra\u{df}e"), prepare("STRASSE"));
        assert_eq!(prepare("\u{2160}"), prepare("i"));
        assert_ne!(prepare("Example Root CA 2027"), plain);
    }

    #[test]
    fn names_are_compared_attribute_by_attribute() {
        assert_eq!(
            comparable("CN=Root\\, One,O=Trust,C=JP"),
            comparable("cn=ROOT\u{ff0c} ONE,o=trust,c=jp")
        );
        assert_ne!(
            comparable("CN=Root,O=Trust,C=JP"),
            comparable("CN=Root,O=Trust,C=US")
        );
    }
}
