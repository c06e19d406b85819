//! The targets for hostile text (issue 15): the terminal sanitiser, and the
//! script's text rules against what the certificate builder and the token
//! accept later.

use std::path::Path;
use std::sync::LazyLock;

use keyceremony_script::{LoadedScript, Script};
use keyceremony_text::{TextKind, check, is_bidi_control, is_default_ignorable, terminal_safe};
use keyceremony_x509::DistinguishedName;

/// What a terminal would act on or show as nothing.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        || is_default_ignorable(c)
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `terminal_safe` on any text: nothing a terminal acts on comes out, safe
/// text is its own safe form and is not copied, and the escapes read back to
/// the input.
pub fn terminal_sanitiser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let safe = terminal_safe(&text);
    assert!(!safe.chars().any(unsafe_char), "{safe:?}");
    assert_eq!(terminal_safe(&safe), safe, "not idempotent");
    let clean = !text.chars().any(unsafe_char);
    assert_eq!(
        matches!(safe, std::borrow::Cow::Borrowed(_)),
        clean,
        "{text:?}"
    );
    if !text.contains('\\') {
        assert_eq!(unescape(&safe), text, "the escapes do not read back");
    }
}

/// Reverses `terminal_safe`'s `\u{...}` escapes.
fn unescape(safe: &str) -> String {
    let mut out = String::new();
    let mut rest = safe;
    while let Some(at) = rest.find("\\u{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let end = after.find('}').expect("a closed escape");
        let code = u32::from_str_radix(&after[..end], 16).expect("hex");
        out.push(char::from_u32(code).expect("a char"));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

static SHIPPED: LazyLock<Script> = LazyLock::new(|| {
    LoadedScript::parse(
        Path::new("root-p384.toml"),
        include_str!("../../ceremony-scripts/root-p384.toml").to_string(),
    )
    .expect("the shipped script parses")
    .script
});

/// The texts of the shipped script the input may replace, with the path its
/// violations are reported at.
const FIELDS: [&str; 14] = [
    "certificates[0].subject.common_name",
    "certificates[0].subject.organization",
    "certificates[0].subject.state_or_province",
    "certificates[0].subject.country",
    "hsm.token_label",
    "hsm.token_serial",
    "participants[0].name",
    "acts[0].title",
    "acts[0].steps[0].id",
    "acts[0].steps[0].title",
    "acts[0].steps[0].instructions",
    "log.witness_token",
    "log.witness_key",
    "log.backup",
];

fn set(script: &mut Script, field: usize, value: String) {
    let subject = &mut script.certificates[0].subject;
    match field {
        0 => subject.common_name = value,
        1 => subject.organization = value,
        2 => subject.state_or_province = Some(value),
        3 => subject.country = value,
        4 => script.hsm.token_label = value,
        5 => script.hsm.token_serial = Some(value),
        6 => script.participants[0].name = value,
        7 => script.acts[0].title = value,
        8 => script.acts[0].steps[0].id = value,
        9 => script.acts[0].steps[0].title = value,
        10 => script.acts[0].steps[0].instructions = value,
        11 => script.log.witness_token = Some(value),
        12 => script.log.witness_key = Some(value),
        _ => script.log.backup = value.into(),
    }
}

/// The shipped script with one text replaced by the input (its first byte
/// picks which): every violation reads as one safe line, and a text the
/// validation accepts is one the later stages accept too, so that `script
/// check` refuses first whatever `run` would refuse about it.
pub fn script_text(data: &[u8]) {
    let Some((&pick, value)) = data.split_first() else {
        return;
    };
    let field = usize::from(pick) % FIELDS.len();
    let value = String::from_utf8_lossy(value).into_owned();
    let mut script = SHIPPED.clone();
    set(&mut script, field, value.clone());
    let violations = keyceremony_script::validate(&script);
    for v in &violations {
        let shown = v.display_at(Path::new("fuzz.toml"));
        assert!(!shown.chars().any(unsafe_char), "{shown:?}");
    }
    if violations.iter().any(|v| v.path == FIELDS[field]) {
        return;
    }
    match field {
        0..=3 => {
            let s = &script.certificates[0].subject;
            DistinguishedName {
                country: s.country.clone(),
                state_or_province: s.state_or_province.clone(),
                locality: s.locality.clone(),
                organization: s.organization.clone(),
                common_name: s.common_name.clone(),
            }
            .validate()
            .unwrap_or_else(|e| panic!("accepted by the script, refused by the builder: {e}"));
        }
        4 | 11 => {
            // What C_InitToken and a token lookup take (keyceremony-hsm's
            // validate_token_label): 1 to 32 bytes, no spaces at the ends,
            // no control character.
            assert!(
                value.len() <= 32 && !value.is_empty() && value.trim() == value,
                "{value:?}"
            );
            assert!(check(&value, TextKind::Name).is_ok(), "{value:?}");
        }
        10 => assert!(check(&value, TextKind::Paragraph).is_ok(), "{value:?}"),
        7 | 9 => assert!(check(&value, TextKind::Line).is_ok(), "{value:?}"),
        13 => assert!(Path::new(&value).is_absolute(), "{value:?}"),
        _ => assert!(check(&value, TextKind::Name).is_ok(), "{value:?}"),
    }
}
