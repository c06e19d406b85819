//! Every line the command line prints goes through here, for two reasons.
//!
//! - What it prints quotes scripts, answers files, logs and tokens, and any
//!   of them may be crafted: each line is passed through
//!   `keyceremony_text::terminal_safe`, so an escape sequence or a
//!   bidirectional control is shown as `\u{1b}` instead of acting on the
//!   terminal. [`say!`] prints one line, and a line feed inside what it
//!   quotes is shown escaped too, so that a value cannot print a line of its
//!   own (a forged "SEALED: intact"); [`lines`] keeps the line breaks of a
//!   text the tool laid out itself.
//! - A closed standard output (`keyceremony verify-log LOG | head`) must end
//!   the output quietly, where `println!` panics. The process ignores
//!   SIGPIPE, as every Rust program does, so the write fails with EPIPE:
//!   after that, or any other failed write, nothing more is printed and the
//!   command ends as it would have, with its own exit code (verify-log's
//!   verdict stays in it). Dying of SIGPIPE instead would cut a ceremony
//!   short in the middle of a PKCS#11 call whenever a pager quits.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use keyceremony_text::terminal_safe;

/// Set once a write to standard output failed.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints one line to standard output, made safe for a terminal whatever it
/// quotes: `say!("entries: {}", report.entries)`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::out::line(&format!($($arg)*))
    };
}
pub(crate) use say;

/// One line to standard output; a line feed in it is shown escaped.
pub fn line(text: &str) {
    let mut line = terminal_safe(text).into_owned();
    line.push('\n');
    stdout_bytes(line.as_bytes());
}

/// Text of several lines to standard output, each line made safe.
pub fn lines(text: &str) {
    stdout_bytes(safe_lines(text).as_bytes());
}

/// Text of several lines to standard error, each line made safe. A failed
/// write is ignored: there is nowhere left to say anything.
pub fn error_lines(text: &str) {
    let _ = io::stderr().lock().write_all(safe_lines(text).as_bytes());
}

/// Bytes the tool generated from its own definitions (a completion script,
/// the man page), as they are.
pub fn generated(bytes: &[u8]) {
    stdout_bytes(bytes);
}

fn safe_lines(text: &str) -> String {
    let mut safe = String::with_capacity(text.len() + 1);
    for line in text.lines() {
        safe.push_str(&terminal_safe(line));
        safe.push('\n');
    }
    safe
}

fn stdout_bytes(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = io::stdout().lock();
    if stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::safe_lines;

    #[test]
    fn each_line_is_made_safe_and_the_breaks_kept() {
        assert_eq!(
            safe_lines("error: x\n  a\u{1b}[2Jb\r\n  c"),
            "error: x\n  a\\u{1b}[2Jb\n  c\n"
        );
    }
}
