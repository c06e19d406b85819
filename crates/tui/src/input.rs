//! Text fields. Plain fields hold what the room says aloud (documents, bag
//! serials, remarks). Secret fields hold what a custodian or the witness
//! types alone (shares, a token PIN): their buffer is allocated once, never
//! grows (a reallocation would leave a copy behind), is wiped when taken or
//! dropped, and is never rendered: views get only its length.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyceremony_script::Secret;
use secrecy::SecretString;
use zeroize::{Zeroize, Zeroizing};

/// Longest plain entry: a remark or a description fits, a pasted file does not.
const PLAIN_MAX: usize = 400;

/// Capacity of a secret buffer: a share is 70-odd characters typed with
/// spaces, a PIN at most 255 (PKCS#11 tokens' usual limit).
const SECRET_CAPACITY: usize = 256;

/// What typing does to any field; each kind of field keeps its own rules
/// for what it accepts and how it is wiped.
pub trait Field {
    fn push(&mut self, c: char);
    fn backspace(&mut self);
    fn clear(&mut self);

    /// Ctrl-U clears the field, Backspace erases the last character, a
    /// printable key types itself; other keys leave it alone.
    fn edit(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => self.clear(),
            KeyCode::Char(c) if !ctrl => self.push(c),
            KeyCode::Backspace => self.backspace(),
            _ => {}
        }
    }
}

/// A one-line field shown as typed.
#[derive(Debug, Default, Clone)]
pub struct TextInput {
    text: String,
    /// Enter was pressed with nothing typed: the field says so.
    blank_enter: bool,
}

impl TextInput {
    /// A field that starts with `text` in it (a suggested answer the
    /// operator may keep or change).
    pub fn with_text(text: &str) -> TextInput {
        let mut input = TextInput::default();
        text.chars().for_each(|c| input.push(c));
        input
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The entry without surrounding spaces; empty means nothing was typed.
    pub fn value(&self) -> &str {
        self.text.trim()
    }

    /// Enter with something typed gives the entry (the field keeps it);
    /// any other key edits the field.
    pub fn key(&mut self, key: KeyEvent) -> Option<String> {
        self.blank_enter = key.code == KeyCode::Enter && self.value().is_empty();
        if key.code == KeyCode::Enter && !self.blank_enter {
            return Some(self.value().to_string());
        }
        self.edit(key);
        None
    }

    /// True after Enter on an empty field, until the next key.
    pub fn blank_enter(&self) -> bool {
        self.blank_enter
    }
}

impl Field for TextInput {
    fn push(&mut self, c: char) {
        if !c.is_control() && self.text.chars().count() < PLAIN_MAX {
            self.text.push(c);
        }
    }

    fn backspace(&mut self) {
        self.text.pop();
    }

    fn clear(&mut self) {
        self.text.clear();
    }
}

/// A one-line field that is never shown: a token PIN.
pub struct SecretInput {
    buf: Zeroizing<String>,
    /// Enter was pressed with nothing typed: the field says so.
    blank_enter: bool,
}

impl Default for SecretInput {
    fn default() -> Self {
        SecretInput {
            buf: Zeroizing::new(String::with_capacity(SECRET_CAPACITY)),
            blank_enter: false,
        }
    }
}

impl SecretInput {
    /// Characters typed so far: all a view may know.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Enter with something typed gives the entry and wipes the field; any
    /// other key edits it.
    pub fn key(&mut self, key: KeyEvent) -> Option<SecretString> {
        self.blank_enter = key.code == KeyCode::Enter && self.is_empty();
        if key.code == KeyCode::Enter && !self.blank_enter {
            return Some(self.take());
        }
        self.edit(key);
        None
    }

    /// True after Enter on an empty field, until the next key.
    pub fn blank_enter(&self) -> bool {
        self.blank_enter
    }

    /// The entry as a [`SecretString`]; the field is wiped.
    pub fn take(&mut self) -> SecretString {
        let secret = SecretString::from(self.buf.as_str());
        self.buf.zeroize();
        secret
    }

    fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }
}

impl Field for SecretInput {
    /// Printable ASCII only, so that one character is one byte and the
    /// buffer never reallocates.
    fn push(&mut self, c: char) {
        if (c.is_ascii_graphic() || c == ' ') && self.buf.len() < self.buf.capacity() {
            self.buf.push(c);
        }
    }

    /// Removes the last character. Its byte stays in the spare capacity of
    /// the same allocation, which `zeroize` wipes along with the rest when
    /// the field is taken, cleared or dropped.
    fn backspace(&mut self) {
        self.buf.pop();
    }

    fn clear(&mut self) {
        self.buf.zeroize();
    }
}

/// A share of `secret` typed line by line, as it is laid out on the
/// custodian's paper. The lines are kept in one secret buffer, separated
/// by spaces, which the share parser reads as separators.
pub struct ShareInput {
    /// What each line of the paper copy is.
    labels: Vec<String>,
    text: SecretInput,
    /// Offsets in `text` where each finished line ends.
    ends: Vec<usize>,
    /// Enter was pressed on an empty line: the line says so.
    blank_enter: bool,
}

impl ShareInput {
    pub fn new(secret: Secret) -> ShareInput {
        ShareInput {
            labels: keyceremony_engine::activation::kind(secret).line_labels(),
            text: SecretInput::default(),
            ends: Vec::new(),
            blank_enter: false,
        }
    }

    /// What each line of the paper copy is, in order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The line being typed, from 0.
    pub fn line(&self) -> usize {
        self.ends.len()
    }

    /// Characters in line `index`; `None` for lines not begun.
    pub fn line_len(&self, index: usize) -> Option<usize> {
        let start = |i: usize| if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        match index.cmp(&self.ends.len()) {
            std::cmp::Ordering::Less => Some(self.ends[index] - start(index)),
            std::cmp::Ordering::Equal => Some(self.text.len().saturating_sub(start(index))),
            std::cmp::Ordering::Greater => None,
        }
    }

    fn current_len(&self) -> usize {
        self.line_len(self.line()).unwrap_or(0)
    }

    /// Ends the current line. True when every line is typed and the share
    /// is ready to take; an empty line is not ended.
    pub fn end_line(&mut self) -> bool {
        self.blank_enter = self.current_len() == 0;
        if self.blank_enter {
            return false;
        }
        self.ends.push(self.text.len());
        if self.ends.len() == self.labels.len() {
            return true;
        }
        self.text.push(' ');
        false
    }

    pub fn take(&mut self) -> SecretString {
        self.ends.clear();
        self.text.take()
    }

    /// True after Enter on an empty line, until the next key.
    pub fn blank_enter(&self) -> bool {
        self.blank_enter
    }

    /// Enter ends the line (the share, on the last); any other key edits.
    pub fn key(&mut self, key: KeyEvent) -> Option<SecretString> {
        if key.code == KeyCode::Enter {
            return self.end_line().then(|| self.take());
        }
        self.blank_enter = false;
        self.edit(key);
        None
    }
}

impl Field for ShareInput {
    fn push(&mut self, c: char) {
        self.text.push(c);
    }

    /// Erases a character, or goes back to the end of the previous line.
    fn backspace(&mut self) {
        if self.current_len() > 0 {
            self.text.backspace();
        } else if let Some(end) = self.ends.pop() {
            self.text.truncate(end);
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn share_input_keeps_lines_and_wipes_on_take() {
        let mut input = ShareInput::new(Secret::UserPin);
        for c in "KC1-U".chars() {
            input.push(c);
        }
        assert!(!input.end_line());
        assert_eq!(input.line(), 1);
        assert_eq!(input.line_len(0), Some(5));
        assert_eq!(input.line_len(1), Some(0));
        assert_eq!(input.line_len(2), None);
        // An empty line is not ended.
        assert!(!input.end_line());
        input.backspace();
        assert_eq!(input.line(), 0);
        assert_eq!(input.line_len(0), Some(5));
        assert!(!input.end_line());
        for line in ["AAAAA", "BBBBB", "CCCC"] {
            for c in line.chars() {
                input.push(c);
            }
            let done = input.end_line();
            assert_eq!(done, line == "CCCC");
        }
        let secret = input.take();
        assert_eq!(secret.expose_secret(), "KC1-U AAAAA BBBBB CCCC");
        assert_eq!(input.line(), 0);
        assert_eq!(input.line_len(0), Some(0));
    }

    #[test]
    fn a_wrap_key_share_is_typed_on_the_six_lines_of_its_paper_copy() {
        assert_eq!(
            ShareInput::new(Secret::SoPin).labels(),
            ["header", "groups 1 2 3 4", "groups 5 6 7 8", "final check"]
        );
        let mut input = ShareInput::new(Secret::WrapKey);
        assert_eq!(
            input.labels(),
            [
                "header",
                "groups 1 2 3 4",
                "groups 5 6 7 8",
                "groups 9 10 11 12",
                "group 13",
                "final check"
            ]
        );
        for line in ["KC1-W", "A", "B", "C", "D"] {
            input.push(line.chars().next().unwrap());
            assert!(!input.end_line(), "{line} is not the last line");
        }
        input.push('E');
        assert!(input.end_line());
    }

    #[test]
    fn secret_input_never_grows() {
        let mut input = SecretInput::default();
        for _ in 0..1000 {
            input.push('A');
        }
        assert_eq!(input.len(), SECRET_CAPACITY);
        input.push('\u{e9}');
        input.backspace();
        assert_eq!(input.len(), SECRET_CAPACITY - 1);
        assert_eq!(input.take().expose_secret().len(), SECRET_CAPACITY - 1);
        assert!(input.is_empty());
    }
}
