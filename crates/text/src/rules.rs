//! Which characters a text may hold, by where it goes.

use std::fmt;

use crate::chars::{is_bidi_control, is_default_ignorable, is_line_separator};

/// Where a text goes, which decides what it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Free text over several lines (a step's instructions, a description):
    /// line feeds, and no other control character.
    Paragraph,
    /// One line of text for people to read (a title, the label of a value to
    /// copy): no control character, no line or paragraph separator.
    Line,
    /// A name that goes into a certificate, onto a token or into a label, or
    /// names a person or a step in the record: one line whose every
    /// character shows, so no bidirectional control and no default-ignorable
    /// character either. Two names that look the same are the same name.
    Name,
}

/// What is wrong with a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// A C0 or C1 control character or DEL: ESC, NUL, a carriage return.
    Control,
    /// A line feed, LINE SEPARATOR or PARAGRAPH SEPARATOR in one line of text.
    LineBreak,
    /// A bidirectional control in a name.
    Bidi,
    /// A default-ignorable character in a name.
    Invisible,
}

/// The first character a text may not hold where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Its place in the text, counted in characters from 1.
    pub position: usize,
    pub character: char,
    pub trouble: Trouble,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = u32::from(self.character);
        write!(f, "character {} is U+{code:04X}", self.position)?;
        if let Some(name) = control_name(self.character) {
            write!(f, " ({name})")?;
        }
        f.write_str(match self.trouble {
            Trouble::Control => ", a control character: it is not text, and a terminal acts on it",
            Trouble::LineBreak => ", a line break in a text that is one line",
            Trouble::Bidi => {
                ", a bidirectional control: the name would read in another order than it is stored"
            }
            Trouble::Invisible => {
                ", an invisible (default-ignorable) character: two names differing by it look the same"
            }
        })
    }
}

/// The names of the control characters most likely to be met.
fn control_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\0' => "NUL",
        '\t' => "TAB",
        '\n' => "LINE FEED",
        '\r' => "CARRIAGE RETURN",
        '\u{1b}' => "ESC",
        '\u{7f}' => "DEL",
        '\u{9b}' => "CSI",
        _ => return None,
    })
}

/// The first character of `text` that a text of `kind` may not hold.
pub fn check(text: &str, kind: TextKind) -> Result<(), Refusal> {
    for (i, c) in text.chars().enumerate() {
        let trouble = if c == '\n' || is_line_separator(c) {
            (kind != TextKind::Paragraph || c != '\n').then_some(Trouble::LineBreak)
        } else if c.is_control() {
            Some(Trouble::Control)
        } else if kind != TextKind::Name {
            None
        } else if is_bidi_control(c) {
            Some(Trouble::Bidi)
        } else if is_default_ignorable(c) {
            Some(Trouble::Invisible)
        } else {
            None
        };
        if let Some(trouble) = trouble {
            return Err(Refusal {
                position: i + 1,
                character: c,
                trouble,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trouble(text: &str, kind: TextKind) -> Option<(usize, Trouble)> {
        check(text, kind).err().map(|r| (r.position, r.trouble))
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        for kind in [TextKind::Paragraph, TextKind::Line, TextKind::Name] {
            for c in ['\0', '\u{1b}', '\r', '\t', '\u{7f}', '\u{85}', '\u{9b}'] {
                let text = format!("ab{c}");
                assert_eq!(trouble(&text, kind), Some((3, Trouble::Control)), "{c:?}");
            }
        }
    }

    #[test]
    fn only_a_paragraph_breaks_lines_and_only_with_line_feeds() {
        assert_eq!(check("one\ntwo", TextKind::Paragraph), Ok(()));
        assert_eq!(
            trouble("one\u{2028}two", TextKind::Paragraph),
            Some((4, Trouble::LineBreak))
        );
        for kind in [TextKind::Line, TextKind::Name] {
            assert_eq!(trouble("one\ntwo", kind), Some((4, Trouble::LineBreak)));
            assert_eq!(trouble("a\u{2029}", kind), Some((2, Trouble::LineBreak)));
        }
    }

    #[test]
    fn a_name_shows_every_character() {
        assert_eq!(
            trouble("Root\u{202e}1R", TextKind::Name),
            Some((5, Trouble::Bidi))
        );
        assert_eq!(
            trouble("Ro\u{200b}ot", TextKind::Name),
            Some((3, Trouble::Invisible))
        );
        assert_eq!(
            trouble("Ro\u{ad}ot", TextKind::Name),
            Some((3, Trouble::Invisible))
        );
        // Text that is only read may hold them: the screen shows them escaped.
        assert_eq!(check("Root\u{202e}1R \u{200b}", TextKind::Line), Ok(()));
        for name in ["Zoë Ōtsuka", "大塚 陽子", "Example Trust Co., Ltd.", "محمد"] {
            assert_eq!(check(name, TextKind::Name), Ok(()), "{name}");
        }
    }

    #[test]
    fn a_refusal_names_the_character_and_its_place() {
        let refusal = check("CN\u{1b}[2J", TextKind::Name).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "character 3 is U+001B (ESC), a control character: it is not text, and a terminal acts on it"
        );
        let refusal = check("a\u{e0041}", TextKind::Name).unwrap_err();
        assert!(
            refusal
                .to_string()
                .starts_with("character 2 is U+E0041, an invisible")
        );
    }
}
