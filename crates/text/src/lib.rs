//! keyceremony-text: hostile text, neutralised where it is shown and refused
//! where it would be kept.
//!
//! Text reaches the tool from a script, an answers file, a ceremony log, a
//! token's info and a custodian's typing. Two things are decided here, once
//! for every crate:
//!
//! - [`terminal_safe`]: what any such text becomes before it reaches a
//!   terminal. A terminal acts on control characters (ESC begins every escape
//!   sequence: colours, cursor moves, clearing the screen, the window title),
//!   reorders text around bidirectional controls and shows default-ignorable
//!   characters as nothing, so a crafted value could make a screen read
//!   "SEALED: intact" while the exit code says tampered. Each such character
//!   is shown as its escape instead, `\u{1b}`, so that what is on the screen
//!   is what the text holds.
//! - [`check`]: which characters a text may hold at all, by where it goes
//!   ([`TextKind`]). The script's validation and the certificate builder
//!   apply the same rule, so that `keyceremony script check` refuses what a
//!   ceremony would otherwise refuse only after its key was generated.
//!
//! No dependencies: the log's verifier, the certificate builder, the report,
//! the TUI and the command line all use it without pulling anything in.

mod chars;
mod rules;

use std::borrow::Cow;
use std::fmt::Write;

pub use chars::{is_bidi_control, is_default_ignorable, is_line_separator};
pub use rules::{Refusal, TextKind, Trouble, check};

/// `text` as it may be shown on a terminal: every control character (C0, DEL
/// and C1, the line feed included), bidirectional control, line or paragraph
/// separator and default-ignorable character is written as its escape,
/// `\u{1b}`; everything else is kept. Borrowed when nothing needed escaping,
/// so a caller that must not copy a text (a share on screen) copies nothing
/// when it is clean.
///
/// One line in, one line out: text the tool itself lays out over several
/// lines is passed through line by line.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(needs_escape) else {
        return Cow::Borrowed(text);
    };
    let mut safe = String::with_capacity(text.len() + 16);
    safe.push_str(&text[..first]);
    for c in text[first..].chars() {
        if needs_escape(c) {
            // Writing to a String cannot fail.
            let _ = write!(safe, "\\u{{{:x}}}", u32::from(c));
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// Whether a terminal would act on `c` or show it as nothing.
fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_line_separator(c) || is_default_ignorable(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        assert_eq!(
            terminal_safe("\u{1b}[2J\u{1b}]0;title\u{7}SEALED"),
            "\\u{1b}[2J\\u{1b}]0;title\\u{7}SEALED"
        );
        // C1 CSI, DEL, NUL, carriage return and line feed.
        assert_eq!(
            terminal_safe("a\u{9b}31m\u{7f}\0\r\nb"),
            "a\\u{9b}31m\\u{7f}\\u{0}\\u{d}\\u{a}b"
        );
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_shown() {
        assert_eq!(
            terminal_safe("Root\u{202e}lanigiro"),
            "Root\\u{202e}lanigiro"
        );
        assert_eq!(
            terminal_safe("a\u{200b}b\u{ad}c\u{2066}d\u{2028}e\u{feff}f\u{e0041}"),
            "a\\u{200b}b\\u{ad}c\\u{2066}d\\u{2028}e\\u{feff}f\\u{e0041}"
        );
    }

    #[test]
    fn clean_text_is_borrowed_as_it_is() {
        for clean in [
            "",
            "Example TLS ECC Root CA 2026",
            "Zoë Ōtsuka 大塚",
            "مرحبا",
            "C:\\path",
        ] {
            assert!(matches!(terminal_safe(clean), Cow::Borrowed(t) if t == clean));
        }
    }

    #[test]
    fn what_comes_out_is_safe_and_reads_back() {
        let hostile = "x\u{1b}\u{202e}\u{200d}\u{85}\u{2029}y";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(needs_escape), "{safe}");
        // Safe text is its own safe form.
        assert_eq!(terminal_safe(&safe), safe);
    }
}
