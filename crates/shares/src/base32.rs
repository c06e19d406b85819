//! Crockford base32: the only alphabet a custodian ever reads or types.
//!
//! Crockford's alphabet leaves out I, L, O and U, so that nothing written
//! can be read as another symbol (I, L and 1; O and 0) and reading back is
//! forgiving: lower case is the same letter, and O, I, L are taken as the
//! digits they look like.

use zeroize::Zeroizing;

/// The 32 symbols, value 0 to 31.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Bytes of a PIN's secret and of a PIN share's value.
pub(crate) const VALUE_BYTES: usize = 20;

/// Characters that encode [`VALUE_BYTES`] (160 bits, 5 bits each).
pub(crate) const VALUE_CHARS: usize = 32;

/// Symbols that encode `bytes` bytes: 5 bits each, the last one padded
/// with zero bits (32 for 20 bytes, 52 for 32).
pub(crate) const fn chars_for(bytes: usize) -> usize {
    (bytes * 8).div_ceil(5)
}

/// What one typed character is, once read tolerantly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typed {
    /// A space, tab, line break or dash: separates parts, carries nothing.
    Separator,
    /// An upper-case letter or digit, with the confusables mapped.
    Symbol(u8),
    /// Anything else.
    Invalid,
}

/// Reads one typed character: lower case is upper case, O is 0, I and L
/// are 1; dashes of any kind and white space separate.
pub(crate) fn read_char(c: char) -> Typed {
    match c {
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' => Typed::Separator,
        c if c.is_whitespace() => Typed::Separator,
        c if c.is_ascii_alphanumeric() => match c.to_ascii_uppercase() {
            'O' => Typed::Symbol(b'0'),
            'I' | 'L' => Typed::Symbol(b'1'),
            upper => Typed::Symbol(upper as u8),
        },
        _ => Typed::Invalid,
    }
}

/// The value 0..=31 of an upper-case symbol, or `None` for a character
/// outside the alphabet (after [`read_char`], only `U` can be).
pub(crate) fn value_of(symbol: u8) -> Option<u8> {
    ALPHABET
        .iter()
        .position(|&a| a == symbol)
        .and_then(|p| u8::try_from(p).ok())
}

/// Whether every byte of `text` is a symbol of the alphabet.
pub(crate) fn is_symbols(text: &str) -> bool {
    text.bytes().all(|b| value_of(b).is_some())
}

/// The first 20 bits of `digest`, big-endian, as 4 symbols.
pub(crate) fn first_20_bits(digest: &[u8]) -> String {
    let bits = digest
        .iter()
        .take(3)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
        >> 4;
    encode_20_bits(bits)
}

/// The low 20 bits of `bits` as 4 symbols, most significant first.
pub(crate) fn encode_20_bits(bits: u32) -> String {
    (0..4)
        .rev()
        .map(|i| symbol((bits >> (5 * i)) & 31))
        .map(char::from)
        .collect()
}

/// The symbol for the low 5 bits of `v`.
pub(crate) fn symbol(v: u32) -> u8 {
    // `v & 31` is always a valid index into the 32-symbol alphabet.
    ALPHABET[(v & 31) as usize]
}

/// Appends the symbols of `value` to `out`, most significant bit first;
/// the last symbol is padded with zero bits when the value's bits are not a
/// multiple of 5 (never for the 20 bytes of a PIN's secret, which are
/// exactly 32 symbols).
pub(crate) fn encode_value(value: &[u8], out: &mut String) {
    let mut bits = Zeroizing::new(0u16);
    let mut held = 0u32;
    for &byte in value {
        *bits = (*bits << 8) | u16::from(byte);
        held += 8;
        while held >= 5 {
            held -= 5;
            out.push(char::from(symbol(u32::from(*bits >> held))));
        }
        // Keep only the bits not yet written.
        *bits &= (1 << held) - 1;
    }
    if held > 0 {
        out.push(char::from(symbol(u32::from(*bits << (5 - held)))));
    }
}

/// Decodes the symbols of a `bytes`-byte value; `None` if there are not
/// exactly [`chars_for`]`(bytes)` of them, if one is not a symbol of the
/// alphabet, or if the padding bits of the last are not zero (the one
/// encoding of each value). The inverse of [`encode_value`].
pub(crate) fn decode_value(symbols: &[u8], bytes: usize) -> Option<Zeroizing<Vec<u8>>> {
    if symbols.len() != chars_for(bytes) {
        return None;
    }
    let mut value = Zeroizing::new(Vec::with_capacity(bytes));
    let mut bits = Zeroizing::new(0u16);
    let mut held = 0u32;
    for &s in symbols {
        *bits = (*bits << 5) | u16::from(value_of(s)?);
        held += 5;
        if held >= 8 {
            held -= 8;
            // Truncation is the point: the byte above the bits still held.
            value.push((*bits >> held) as u8);
            *bits &= (1 << held) - 1;
        }
    }
    (*bits == 0 && value.len() == bytes).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_crockford() {
        assert_eq!(ALPHABET.len(), 32);
        for banned in [b'I', b'L', b'O', b'U'] {
            assert!(!ALPHABET.contains(&banned));
        }
        for (i, &s) in ALPHABET.iter().enumerate() {
            assert_eq!(value_of(s), Some(i as u8));
        }
    }

    #[test]
    fn value_round_trip_and_bit_order() {
        let mut value = [0u8; VALUE_BYTES];
        for (i, b) in value.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let mut text = String::new();
        encode_value(&value, &mut text);
        assert_eq!(text.len(), VALUE_CHARS);
        let back = decode_value(text.as_bytes(), VALUE_BYTES).expect("decodes");
        assert_eq!(back.as_slice(), value);

        let mut ones = String::new();
        encode_value(&[0xff; VALUE_BYTES], &mut ones);
        assert_eq!(ones, "Z".repeat(32));
        let mut first = [0u8; VALUE_BYTES];
        first[0] = 0x80;
        let mut high = String::new();
        encode_value(&first, &mut high);
        assert_eq!(&high[..2], "G0", "most significant bit first");
    }

    #[test]
    fn decode_refuses_u_and_wrong_length() {
        let mut text = "0".repeat(31);
        assert!(decode_value(text.as_bytes(), VALUE_BYTES).is_none());
        text.push('U');
        assert!(decode_value(text.as_bytes(), VALUE_BYTES).is_none());
    }

    #[test]
    fn a_32_byte_value_is_52_symbols_with_zero_padding() {
        assert_eq!(chars_for(VALUE_BYTES), VALUE_CHARS);
        assert_eq!(chars_for(32), 52);
        let value: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(73) ^ 0xA5).collect();
        let mut text = String::new();
        encode_value(&value, &mut text);
        assert_eq!(text.len(), 52);
        let back = decode_value(text.as_bytes(), 32).expect("decodes");
        assert_eq!(back.as_slice(), value.as_slice());
        // 256 bits leave 4 padding bits in the last symbol: only 0 and 16
        // (G) can end a value whose last bit is 0 or 1.
        let mut ones = String::new();
        encode_value(&[0xff; 32], &mut ones);
        assert_eq!(&ones[..51], "Z".repeat(51));
        assert_eq!(&ones[51..], "G");
        // Any other last symbol sets a padding bit: not a value.
        for wrong in ["H", "1", "Z"] {
            let text = format!("{}{wrong}", &ones[..51]);
            assert!(decode_value(text.as_bytes(), 32).is_none(), "{wrong}");
        }
        assert!(decode_value(&text.as_bytes()[..51], 32).is_none());
    }

    #[test]
    fn reading_is_tolerant() {
        assert_eq!(read_char('o'), Typed::Symbol(b'0'));
        assert_eq!(read_char('O'), Typed::Symbol(b'0'));
        assert_eq!(read_char('i'), Typed::Symbol(b'1'));
        assert_eq!(read_char('L'), Typed::Symbol(b'1'));
        assert_eq!(read_char('x'), Typed::Symbol(b'X'));
        assert_eq!(read_char('-'), Typed::Separator);
        assert_eq!(read_char('\u{2013}'), Typed::Separator);
        assert_eq!(read_char(' '), Typed::Separator);
        assert_eq!(read_char('('), Typed::Invalid);
        assert_eq!(read_char('é'), Typed::Invalid);
    }

    #[test]
    fn twenty_bits() {
        assert_eq!(encode_20_bits(0), "0000");
        assert_eq!(encode_20_bits(0xFFFFF), "ZZZZ");
        assert_eq!(
            first_20_bits(&[0xAB, 0xCD, 0xEF, 0x12]),
            encode_20_bits(0xABCDE)
        );
    }
}
