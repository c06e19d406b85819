//! The characters a terminal reorders text around or shows as nothing, by
//! their Unicode properties.

/// The bidirectional formatting characters of Unicode (UAX #9 2.1 to 2.4 and
/// 2.6): ALM, LRM, RLM, the embeddings and overrides (LRE, RLE, PDF, LRO,
/// RLO) and the isolates (LRI, RLI, FSI, PDI). Around them a terminal or a
/// certificate viewer shows characters in another order than they are
/// stored: `Root\u{202e}1R` reads "RootR1".
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// LINE SEPARATOR and PARAGRAPH SEPARATOR, which some terminals and viewers
/// break a line at although they are not control characters.
pub fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt,
/// Unicode 15.1): characters that show as nothing unless a font or an
/// application handles them, such as ZERO WIDTH SPACE, SOFT HYPHEN, the
/// joiners, the variation selectors and the tag characters. Two names that
/// differ only by them look the same.
pub fn is_default_ignorable(c: char) -> bool {
    let c = u32::from(c);
    c >= DEFAULT_IGNORABLE[0].0
        && DEFAULT_IGNORABLE
            .binary_search_by(|&(low, high)| {
                if high < c {
                    std::cmp::Ordering::Less
                } else if low > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
}

/// Default_Ignorable_Code_Point as inclusive ranges, in order.
const DEFAULT_IGNORABLE: [(u32, u32); 20] = [
    (0x00AD, 0x00AD),   // SOFT HYPHEN
    (0x034F, 0x034F),   // COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),   // ARABIC LETTER MARK
    (0x115F, 0x1160),   // HANGUL CHOSEONG FILLER, JUNGSEONG FILLER
    (0x17B4, 0x17B5),   // KHMER VOWEL INHERENT AQ, AA
    (0x180B, 0x180F),   // MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x200B, 0x200F),   // ZERO WIDTH SPACE .. RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),   // LEFT-TO-RIGHT EMBEDDING .. RIGHT-TO-LEFT OVERRIDE
    (0x2060, 0x206F),   // WORD JOINER .. NOMINAL DIGIT SHAPES, the isolates
    (0x3164, 0x3164),   // HANGUL FILLER
    (0xFE00, 0xFE0F),   // VARIATION SELECTOR-1 .. 16
    (0xFEFF, 0xFEFF),   // ZERO WIDTH NO-BREAK SPACE
    (0xFFA0, 0xFFA0),   // HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),   // reserved
    (0x1BCA0, 0x1BCA3), // SHORTHAND FORMAT LETTER OVERLAP .. UP STEP
    (0x1D173, 0x1D17A), // MUSICAL SYMBOL BEGIN BEAM .. END PHRASE
    (0xE0000, 0xE007F), // LANGUAGE TAG, the tag characters
    (0xE0080, 0xE00FF), // reserved
    (0xE0100, 0xE01EF), // VARIATION SELECTOR-17 .. 256
    (0xE01F0, 0xE0FFF), // reserved
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_order_and_disjoint() {
        for pair in DEFAULT_IGNORABLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }

    #[test]
    fn invisible_characters_are_default_ignorable() {
        for c in [
            '\u{ad}',
            '\u{34f}',
            '\u{180e}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{2064}',
            '\u{fe0f}',
            '\u{feff}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e01ef}',
        ] {
            assert!(is_default_ignorable(c), "U+{:04X}", u32::from(c));
        }
        for c in [
            'a',
            ' ',
            '\u{a0}',
            '\u{ac}',
            '\u{ae}',
            '\u{3000}',
            '\u{fffd}',
            '\u{2010}',
            '\u{e1000}',
        ] {
            assert!(!is_default_ignorable(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn every_bidi_control_is_default_ignorable() {
        let bidi: Vec<char> = ('\0'..='\u{ffff}')
            .filter(|c| is_bidi_control(*c))
            .collect();
        assert_eq!(bidi.len(), 12);
        assert!(bidi.iter().all(|c| is_default_ignorable(*c)));
    }
}
