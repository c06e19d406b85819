//! One share and its text: what a custodian copies to paper and types back.
//!
//! The canonical text is
//! `KC1-<K>-<TTTT>-<NNNN>-<x>-<k>-<n>-<G1>-...-<G8>-<CCCC>` (see
//! docs/shares.md). Each 5-character group is 4 value symbols and a check
//! symbol over the header, the group's index and those 4 symbols, so a typo
//! is reported as "group 3 is mistyped" rather than "the share is wrong"
//! (CPS 6.4.2: the custodian corrects it at once, from their own paper, and
//! nobody else sees it). The final 4 symbols check the whole text and catch
//! groups typed in the wrong order.

use std::fmt;

use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ShareError;
use crate::base32::{
    Typed, VALUE_BYTES, chars_for, decode_value, encode_value, first_20_bits, is_symbols,
    read_char, symbol,
};

/// Format version, the first part of every share.
pub(crate) const VERSION: &str = "KC1";

/// Most shares of one secret: far more custodians than any ceremony has,
/// and few enough that a share number is one or two digits.
pub const MAX_SHARES: u8 = 16;

/// Bytes of the backup wrap key (AES-256).
pub const WRAP_KEY_BYTES: usize = 32;

/// Value symbols in a group.
const GROUP_SYMBOLS: usize = 4;

/// Groups on one line of a share laid out for copying.
const GROUPS_PER_LINE: usize = 4;

/// Characters of a typed group: its value symbols and one check symbol.
const GROUP_CHARS: usize = GROUP_SYMBOLS + 1;

/// Characters of the final check.
const CHECK_CHARS: usize = 4;

/// Domain of each group's check symbol.
const GROUP_CHECK_DOMAIN: &[u8] = b"keyceremony group check v1";

/// Which secret a share is of: one of the token's two PINs (PKCS#11 has
/// CKU_SO and CKU_USER), or the wrap key of a root key's backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// The Security Officer PIN: C_InitToken, C_InitPIN, C_SetPIN as SO.
    SoPin,
    /// The user PIN: C_Login as CKU_USER, which activates the CA key
    /// (CPS 6.2.8).
    UserPin,
    /// The AES-256 key that wraps a root key's backup (CPS 6.2.4): its
    /// backup custodians hold its shares, and only k of them can restore
    /// the backup. 32 bytes, where a PIN's secret is 20.
    WrapKey,
}

impl SecretKind {
    /// The name used in scripts and logs: `so-pin`, `user-pin` or `wrap-key`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::SoPin => "so-pin",
            SecretKind::UserPin => "user-pin",
            SecretKind::WrapKey => "wrap-key",
        }
    }

    /// The kind letter in share text: `S`, `U` or `W`.
    pub fn tag(self) -> char {
        match self {
            SecretKind::SoPin => 'S',
            SecretKind::UserPin => 'U',
            SecretKind::WrapKey => 'W',
        }
    }

    /// Bytes of the secret, and of each share's value: 20 for a PIN, 32 for
    /// the wrap key.
    pub fn secret_bytes(self) -> usize {
        match self {
            SecretKind::SoPin | SecretKind::UserPin => VALUE_BYTES,
            SecretKind::WrapKey => WRAP_KEY_BYTES,
        }
    }

    /// Groups of a share's text: 8 for a PIN (32 symbols), 13 for the wrap
    /// key (52 symbols).
    pub fn groups(self) -> usize {
        chars_for(self.secret_bytes()) / GROUP_SYMBOLS
    }

    /// What each line of a share's paper copy is, in order, as
    /// [`Share::display_lines`] labels them: the header, the groups four to
    /// a line, the final check (4 lines for a PIN's share, 6 for a wrap
    /// key's).
    pub fn line_labels(self) -> Vec<String> {
        let numbers: Vec<usize> = (1..=self.groups()).collect();
        std::iter::once("header".to_string())
            .chain(numbers.chunks(GROUPS_PER_LINE).map(group_label))
            .chain(std::iter::once("final check".to_string()))
            .collect()
    }

    /// What its shares rebuild, in words: "the PIN" or "the wrap key".
    pub(crate) fn rebuilds(self) -> &'static str {
        match self {
            SecretKind::SoPin | SecretKind::UserPin => "the PIN",
            SecretKind::WrapKey => "the wrap key",
        }
    }

    /// The kind of a share-text kind part, if it is one.
    fn from_tag(part: &str) -> Option<SecretKind> {
        match part {
            "S" => Some(SecretKind::SoPin),
            "U" => Some(SecretKind::UserPin),
            "W" => Some(SecretKind::WrapKey),
            _ => None,
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::SoPin => "SO PIN",
            SecretKind::UserPin => "user PIN",
            SecretKind::WrapKey => "backup wrap key",
        })
    }
}

/// The public identity of one split: which secret, which ceremony, which
/// split, and its k and n. Nothing in it helps rebuild the secret, so it is
/// logged and shown freely.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShareSet {
    /// Which PIN was split.
    pub kind: SecretKind,
    /// [`crate::ceremony_tag`] of the ceremony that split it (4 symbols).
    pub ceremony_tag: String,
    /// 20 random bits (4 symbols) drawn at split time, naming this split.
    pub nonce: String,
    /// k: shares needed to rebuild.
    pub threshold: u8,
    /// n: shares made.
    pub count: u8,
}

impl fmt::Display for ShareSet {
    /// `U-7KQ2-M9XD (2 of 3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{} ({} of {})",
            self.kind.tag(),
            self.ceremony_tag,
            self.nonce,
            self.threshold,
            self.count
        )
    }
}

/// One custodian's share of a PIN or of a backup wrap key.
///
/// Its value is wiped when dropped. `Debug` shows the set and the number
/// only; the text exists only as a [`SecretString`].
#[derive(Clone)]
pub struct Share {
    pub(crate) set: ShareSet,
    pub(crate) number: u8,
    /// [`SecretKind::secret_bytes`] bytes, allocated at that size.
    pub(crate) value: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("set", &self.set)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl Share {
    /// The split this share belongs to.
    pub fn set(&self) -> &ShareSet {
        &self.set
    }

    /// The share number x, 1 to n.
    pub fn number(&self) -> u8 {
        self.number
    }

    /// The canonical text,
    /// `KC1-<K>-<TTTT>-<NNNN>-<x>-<k>-<n>-<G1>-...-<G8>-<CCCC>`.
    pub fn to_text(&self) -> SecretString {
        let text = self.text_without_check();
        let mut full = Zeroizing::new(String::with_capacity(text.len() + 1 + CHECK_CHARS));
        full.push_str(&text);
        full.push('-');
        full.push_str(&final_check(&text));
        SecretString::from(full.as_str())
    }

    /// The share laid out for a screen or paper: a title, then the lines to
    /// copy in the left column (header; groups 1 to 4; groups 5 to 8; final
    /// check) with what each line is on the right. Typing the left column
    /// back, spaces and all, is a valid entry.
    pub fn display_lines(&self) -> SecretString {
        let text = self.text_without_check();
        let header = header(&self.set, self.number);
        // The groups start after the header and its dash, 6 characters each
        // (5 and a dash).
        let groups: Vec<&str> = text
            .get(header.len() + 1..)
            .unwrap_or_default()
            .split('-')
            .collect();
        let check = final_check(&text);
        let mut out = Zeroizing::new(String::with_capacity(1024));
        out.push_str(&format!(
            "{}, share number {} of set {}-{}-{}: any {} of the {} shares rebuild {}\n",
            self.set.kind,
            self.number,
            self.set.kind.tag(),
            self.set.ceremony_tag,
            self.set.nonce,
            self.set.threshold,
            self.set.count,
            self.set.kind.rebuilds()
        ));
        push_line(&mut out, &header, "header");
        for (line_index, line_groups) in groups.chunks(GROUPS_PER_LINE).enumerate() {
            let mut line = Zeroizing::new(String::with_capacity(32));
            for group in line_groups {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(group);
            }
            let first = line_index * GROUPS_PER_LINE + 1;
            let numbers: Vec<usize> = (first..first + line_groups.len()).collect();
            push_line(&mut out, &line, &group_label(&numbers));
        }
        push_line(&mut out, &check, "final check");
        out.push_str("Copy the left column exactly; type it back line by line.\n");
        SecretString::from(out.as_str())
    }

    /// Reads a share as a custodian typed it, and checks everything that
    /// can be checked without the other shares: format and version, kind
    /// letter, numbers (1 <= x <= n, 2 <= k <= n <= 16), each group's check
    /// symbol, and the final check. Lower case, spaces or dashes between
    /// parts, and O for 0, I or L for 1 are all accepted. Errors never
    /// contain what was typed.
    pub fn parse(text: &str) -> Result<Share, ShareError> {
        let clean = normalise(text)?;
        let parts: Vec<&str> = clean.split(' ').filter(|p| !p.is_empty()).collect();
        let (set, number, rest) = parse_header(&parts)?;
        let header = header(&set, number);

        // The typed groups and check, as slices of `clean` (or `joined`).
        let count = set.kind.groups();
        let joined;
        let body = if rest.len() == count + 1 {
            rest.to_vec()
        } else {
            joined = Zeroizing::new(rest.concat());
            cut_by_position(&joined, count)?
        };
        let (groups, check) = split_body(&body, count)?;

        let mut failing = Vec::new();
        for (index, group) in (1u8..).zip(groups.iter()) {
            let (symbols, typed_check) = group.split_at(GROUP_SYMBOLS);
            if !is_symbols(group)
                || typed_check.as_bytes() != [group_check(&header, index, symbols.as_bytes())]
            {
                failing.push(index);
            }
        }
        match failing.as_slice() {
            [] => {}
            [group] => return Err(ShareError::GroupMistyped { group: *group }),
            _ => return Err(ShareError::SeveralMistyped { groups: failing }),
        }

        let mut symbols = Zeroizing::new(Vec::with_capacity(count * GROUP_SYMBOLS));
        for group in &groups {
            symbols.extend_from_slice(&group.as_bytes()[..GROUP_SYMBOLS]);
        }
        // Every symbol is of the alphabet (the group checks passed), so only
        // padding bits set in the last symbol can make this fail: a typo
        // in the last group that its check missed.
        let value =
            decode_value(&symbols, set.kind.secret_bytes()).ok_or(ShareError::GroupMistyped {
                group: u8::try_from(count).unwrap_or(u8::MAX),
            })?;
        let share = Share { set, number, value };
        if final_check(&share.text_without_check()) != check {
            return Err(ShareError::ChecksumMismatch);
        }
        Ok(share)
    }

    /// `[x, y_1, ..., y_m]`: the point the sharing library works with.
    pub(crate) fn point(&self) -> Vec<u8> {
        let mut point = Vec::with_capacity(1 + self.value.len());
        point.push(self.number);
        point.extend_from_slice(self.value.as_ref());
        point
    }

    /// The canonical text up to the final check (without its dash).
    fn text_without_check(&self) -> Zeroizing<String> {
        let header = header(&self.set, self.number);
        let mut symbols = Zeroizing::new(String::with_capacity(chars_for(self.value.len())));
        encode_value(&self.value, &mut symbols);
        let mut text = Zeroizing::new(String::with_capacity(
            header.len() + self.set.kind.groups() * (1 + GROUP_CHARS),
        ));
        text.push_str(&header);
        for (index, group) in (1u8..).zip(symbols.as_bytes().chunks_exact(GROUP_SYMBOLS)) {
            text.push('-');
            for &s in group {
                text.push(char::from(s));
            }
            text.push(char::from(group_check(&header, index, group)));
        }
        text
    }
}

/// `KC1-<K>-<TTTT>-<NNNN>-<x>-<k>-<n>`: the public part of a share's text.
fn header(set: &ShareSet, number: u8) -> String {
    format!(
        "{VERSION}-{}-{}-{}-{number}-{}-{}",
        set.kind.tag(),
        set.ceremony_tag,
        set.nonce,
        set.threshold,
        set.count
    )
}

/// The check symbol of group `index` (1 to 8): the first 5 bits of
/// SHA-256("keyceremony group check v1" || header || index as one byte ||
/// the group's 4 value symbols).
fn group_check(header: &str, index: u8, symbols: &[u8]) -> u8 {
    let mut hash = Sha256::new();
    hash.update(GROUP_CHECK_DOMAIN);
    hash.update(header.as_bytes());
    hash.update([index]);
    hash.update(symbols);
    let digest = hash.finalize();
    symbol(u32::from(digest[0] >> 3))
}

/// The label of a line of groups on a share's paper copy: "group 13",
/// "groups 1 2 3 4".
fn group_label(numbers: &[usize]) -> String {
    let numbers: Vec<String> = numbers.iter().map(usize::to_string).collect();
    match numbers.as_slice() {
        [only] => format!("group {only}"),
        _ => format!("groups {}", numbers.join(" ")),
    }
}

/// The final check: the first 20 bits of SHA-256 of the canonical text
/// before it (without the dash that precedes it).
fn final_check(text: &str) -> String {
    first_20_bits(&Sha256::digest(text.as_bytes()))
}

fn format_error(reason: &str) -> ShareError {
    ShareError::Format {
        reason: reason.to_string(),
    }
}

/// The typed text with confusables mapped, upper case, and every run of
/// separators made one space. Refuses any character that is never part of
/// a share, without saying which (it could be part of the share).
fn normalise(text: &str) -> Result<Zeroizing<String>, ShareError> {
    // Every character becomes at most one byte, so this never reallocates
    // (a reallocation would leave a copy behind).
    let mut clean = Zeroizing::new(String::with_capacity(text.len()));
    for c in text.chars() {
        match read_char(c) {
            Typed::Separator => {
                if !clean.is_empty() && !clean.ends_with(' ') {
                    clean.push(' ');
                }
            }
            Typed::Symbol(s) => clean.push(char::from(s)),
            Typed::Invalid => {
                return Err(format_error(
                    "it holds a character that is never part of a share (only letters, digits, spaces and '-' are; the labels on the right of a printed share are not typed)",
                ));
            }
        }
    }
    Ok(clean)
}

/// Reads the 7 header parts; returns the set, the share number and the
/// parts after the header.
fn parse_header<'a, 'b>(parts: &'b [&'a str]) -> Result<(ShareSet, u8, &'b [&'a str]), ShareError> {
    let Some(first) = parts.first() else {
        return Err(format_error("nothing was typed"));
    };
    if *first != VERSION {
        return Err(format_error(if first.starts_with(VERSION) {
            "the parts of the first line must be separated by '-' or spaces"
        } else if first.starts_with("KC") {
            "it is of a share format this tool does not read (this tool reads KC1)"
        } else {
            "a share starts with KC1"
        }));
    }
    let [_, kind, tag, nonce, x, k, n, rest @ ..] = parts else {
        return Err(format_error(
            "the first line has 7 parts (KC1, kind letter, ceremony tag, set nonce, share number, threshold, count) and the share continues with 8 groups and a check",
        ));
    };
    let kind = SecretKind::from_tag(kind).ok_or_else(|| {
        format_error(
            "the kind letter (second part) must be S for the SO PIN, U for the user PIN or W for a backup wrap key",
        )
    })?;
    let code = |part: &str, what: &str| {
        if part.len() == 4 && is_symbols(part) {
            Ok(part.to_string())
        } else {
            Err(ShareError::Format {
                reason: format!("the {what} must be 4 letters or digits of the share alphabet"),
            })
        }
    };
    let ceremony_tag = code(tag, "ceremony tag (third part)")?;
    let nonce = code(nonce, "set nonce (fourth part)")?;
    let number = |part: &str, what: &str| {
        if (1..=2).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse::<u8>().map_err(|_| ShareError::Format {
                reason: format!("the {what} must be a number"),
            })
        } else {
            Err(ShareError::Format {
                reason: format!("the {what} must be a number of one or two digits"),
            })
        }
    };
    let x = number(x, "share number (fifth part)")?;
    let threshold = number(k, "threshold (sixth part)")?;
    let count = number(n, "share count (seventh part)")?;
    if !(2..=MAX_SHARES).contains(&count) {
        return Err(ShareError::Format {
            reason: format!("the share count (seventh part) must be 2 to {MAX_SHARES}"),
        });
    }
    if !(2..=count).contains(&threshold) {
        return Err(format_error(
            "the threshold (sixth part) must be at least 2 and at most the share count (seventh part)",
        ));
    }
    if !(1..=count).contains(&x) {
        return Err(format_error(
            "the share number (fifth part) must be at least 1 and at most the share count (seventh part)",
        ));
    }
    let set = ShareSet {
        kind,
        ceremony_tag,
        nonce,
        threshold,
        count,
    };
    Ok((set, x, rest))
}

/// Splits the parts after the header into `count` groups and the final
/// check, each taken as typed, so a group with a character too many or too
/// few is named.
fn split_body<'a>(body: &[&'a str], count: usize) -> Result<(Vec<&'a str>, &'a str), ShareError> {
    let [typed_groups @ .., check] = body else {
        return Err(ShareError::Format {
            reason: format!("the {count} groups and the final check are missing"),
        });
    };
    if typed_groups.len() != count {
        return Err(ShareError::Format {
            reason: format!(
                "this kind of share has {count} groups and a final check after its first line"
            ),
        });
    }
    for (index, group) in (1u8..).zip(typed_groups) {
        if group.len() != GROUP_CHARS {
            return Err(ShareError::GroupMistyped { group: index });
        }
    }
    let groups = typed_groups.to_vec();
    if check.len() != CHECK_CHARS || !is_symbols(check) {
        return Err(format_error(
            "the final check must be 4 letters or digits of the share alphabet",
        ));
    }
    Ok((groups, check))
}

/// Cuts the characters after the header, typed with separators in other
/// places or none, into `count` groups of 5 and the 4-character check (44
/// characters for a PIN's share, 69 for a wrap key's).
fn cut_by_position(joined: &str, count: usize) -> Result<Vec<&str>, ShareError> {
    let expected = count * GROUP_CHARS + CHECK_CHARS;
    if joined.len() != expected {
        return Err(ShareError::Format {
            reason: format!(
                "after the first line come {count} groups of 5 characters and a 4-character check ({expected} characters), but {} were typed",
                joined.len()
            ),
        });
    }
    let mut parts = Vec::with_capacity(count + 1);
    let mut at = 0;
    for len in std::iter::repeat_n(GROUP_CHARS, count).chain([CHECK_CHARS]) {
        // `normalise` leaves only ASCII, so every index is a char boundary.
        let part = joined
            .get(at..at + len)
            .ok_or_else(|| format_error("the groups could not be read"))?;
        parts.push(part);
        at += len;
    }
    Ok(parts)
}

/// Appends `copy` padded to a column, then `label`.
fn push_line(out: &mut String, copy: &str, label: &str) {
    out.push_str("  ");
    out.push_str(copy);
    for _ in copy.len()..28 {
        out.push(' ');
    }
    out.push_str(label);
    out.push('\n');
}
