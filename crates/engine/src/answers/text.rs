//! Every text of an answers file is checked before the ceremony starts, as
//! `script check` checks a script's: a value that would reach the log or a
//! terminal with a control character, or that no log entry could hold, is
//! refused with its place, before the HSM is touched, instead of stopping
//! the ceremony half-way with a log that can no longer be completed.

use keyceremony_text::{TextKind, check};
use toml::Value;

/// Longest answer, in bytes: the longest recorded value, reason or remark
/// a room types, well inside a log entry (`keyceremony_log::MAX_LINE`).
pub(super) const MAX_ANSWER: usize = 4096;

/// The first text in `value` (an answers file's table) that is refused:
/// its dotted place and what is wrong with it.
pub(super) fn refused_text(value: &Value, place: &str) -> Option<String> {
    match value {
        Value::String(text) => {
            if text.len() > MAX_ANSWER {
                return Some(format!(
                    "{place} is {} bytes long: an answer is at most {MAX_ANSWER} bytes",
                    text.len()
                ));
            }
            // A multi-line answer (a reason, a remark) may hold line feeds;
            // nothing else that is not text.
            check(text, TextKind::Paragraph)
                .err()
                .map(|refusal| format!("{place}: {refusal}"))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| refused_text(item, &format!("{place}[{i}]"))),
        Value::Table(table) => table.iter().find_map(|(key, item)| {
            let key = keyceremony_text::terminal_safe(key);
            let place = if place.is_empty() {
                key.into_owned()
            } else {
                format!("{place}.{key}")
            };
            refused_text(item, &place)
        }),
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<String> {
        refused_text(&toml::from_str::<Value>(text).unwrap(), "")
    }

    #[test]
    fn a_control_character_is_refused_with_its_place() {
        let why = refused("[steps.\"1.5\".record]\nbag = \"TEB\\u001b[2J\"\n").unwrap();
        assert!(
            why.starts_with("steps.1.5.record.bag: character 4 is U+001B (ESC)"),
            "{why}"
        );
    }

    #[test]
    fn an_overlong_answer_is_refused_and_a_reason_may_hold_lines() {
        let long = format!(
            "[exceptions]\nreason = \"{}\"\n",
            "x".repeat(MAX_ANSWER + 1)
        );
        assert!(refused(&long).unwrap().contains("at most 4096 bytes"));
        assert_eq!(
            refused("reason = \"one\\ntwo\"\nlist = [\"a\", \"b\"]\n"),
            None
        );
        assert!(
            refused("list = [\"a\", \"\\u0000\"]\n")
                .unwrap()
                .starts_with("list[1]: ")
        );
    }
}
