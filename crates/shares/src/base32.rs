//! Crockford base32: the only alphabet a custodian ever reads or types.
//!
//! Crockford's alphabet leaves out I, L, O and U, so that nothing written
//! can be read as another symbol (I, L and 1; O and 0) and reading back is
//! forgiving: lower case is the same letter, and O, I, L are taken as the
//! digits they look like.

use zeroize::Zeroizing;

/// The 32 symbols, value 0 to 31.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Bytes of a secret and of a share's value.
pub(crate) const VALUE_BYTES: usize = 20;

/// Characters that encode [`VALUE_BYTES`] (160 bits, 5 bits each).
pub(crate) const VALUE_CHARS: usize = 32;

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

/// Appends the 32 symbols of a 160-bit value to `out`, most significant
/// bit first. Five bytes make exactly eight symbols, so the value is
/// taken five bytes at a time and needs no padding.
pub(crate) fn encode_value(value: &[u8; VALUE_BYTES], out: &mut String) {
    for chunk in value.chunks_exact(5) {
        let mut bits = Zeroizing::new(0u64);
        for &b in chunk {
            *bits = (*bits << 8) | u64::from(b);
        }
        for i in (0..8).rev() {
            // The mask keeps the index below 32.
            out.push(char::from(ALPHABET[((*bits >> (5 * i)) & 31) as usize]));
        }
    }
}

/// Decodes 32 symbols into a 160-bit value; `None` if one is not a symbol
/// of the alphabet. The inverse of [`encode_value`].
pub(crate) fn decode_value(symbols: &[u8]) -> Option<Zeroizing<[u8; VALUE_BYTES]>> {
    if symbols.len() != VALUE_CHARS {
        return None;
    }
    let mut value = Zeroizing::new([0u8; VALUE_BYTES]);
    for (chunk, out) in symbols.chunks_exact(8).zip(value.chunks_exact_mut(5)) {
        let mut bits = Zeroizing::new(0u64);
        for &s in chunk {
            *bits = (*bits << 5) | u64::from(value_of(s)?);
        }
        for (i, byte) in out.iter_mut().enumerate() {
            // Truncation is the point: byte i of the 40-bit chunk.
            *byte = (*bits >> (8 * (4 - i))) as u8;
        }
    }
    Some(value)
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
        let back = decode_value(text.as_bytes()).expect("decodes");
        assert_eq!(*back, value);

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
        assert!(decode_value(text.as_bytes()).is_none());
        text.push('U');
        assert!(decode_value(text.as_bytes()).is_none());
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
