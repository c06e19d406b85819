//! How values are written for people to read aloud and copy by hand.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

/// Hex in groups of 4 digits, `per_line` groups a line: "1A2B 3C4D ...".
/// Upper case, as on the paper script and in `fingerprints.txt` (CPS 8.6).
pub fn hex_groups(hex: &str, per_line: usize) -> Vec<String> {
    let digits: Vec<char> = hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let groups: Vec<String> = digits.chunks(4).map(|g| g.iter().collect()).collect();
    groups
        .chunks(per_line.max(1))
        .map(|line| line.join(" "))
        .collect()
}

/// The PGP word list reading of a hex string (two words per 4 hex digits),
/// which is easier to read aloud and compare than hex. Empty when the text
/// is not hex.
pub fn pgp_words(hex: &str) -> Vec<String> {
    let clean: String = hex.chars().filter(char::is_ascii_hexdigit).collect();
    match hex::decode(clean) {
        Ok(bytes) => pgp_words::to_words(&bytes)
            .into_iter()
            .map(str::to_string)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Greedy word wrap to `width` columns; a word longer than a line is cut.
/// Used where each wrapped line needs its own indent (fields, word lists),
/// which ratatui's own wrapping does not give.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if current.is_empty() {
            current = word;
        } else if current.chars().count() + 1 + word.chars().count() <= width {
            current.push(' ');
            current.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut current, word));
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// A script's instructions are hard-wrapped in the TOML; the screen
/// re-wraps them to its own width, keeping blank lines as paragraph breaks.
pub fn reflow(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Elapsed time as "m:ss" (or "h:mm:ss"), for the HSM progress line.
pub fn elapsed(delta: TimeDelta) -> String {
    let secs = delta.num_seconds().max(0);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A UTC time of day as shown in the header and at the clock check.
pub fn clock(time: DateTime<Utc>) -> String {
    time.format("%H:%M:%S UTC").to_string()
}

/// The witness's reading of the reference clock: either a full RFC 3339
/// time, or "HH:MM:SS" in UTC on the day nearest to `system_time`, so a
/// reading taken just before or after midnight lands on the right date.
pub fn parse_reference_time(
    text: &str,
    system_time: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M:%S").map_err(|_| {
        format!(
            "'{text}' is not a time: type the reference clock's UTC reading as HH:MM:SS (e.g. 09:41:07), or a full RFC 3339 time such as 2026-11-25T09:41:07Z"
        )
    })?;
    let today = system_time.date_naive();
    [today.pred_opt(), Some(today), today.succ_opt()]
        .into_iter()
        .flatten()
        .map(|day| day.and_time(time).and_utc())
        .min_by_key(|candidate| (*candidate - system_time).num_milliseconds().abs())
        .ok_or_else(|| format!("'{text}' cannot be placed on a date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

    #[test]
    fn hex_in_groups_of_four() {
        let lines = hex_groups(SHA, 8);
        assert_eq!(
            lines,
            [
                "3A7B D3E2 360A 3D29 EEA4 36FC FB7E 44C7",
                "35D1 17C4 2D1C 1835 420B 6B99 42DD 4F1B"
            ]
        );
    }

    #[test]
    fn pgp_words_alternate_even_and_odd_lists() {
        assert_eq!(
            pgp_words("2D6DED27"),
            ["button", "hazardous", "tunnel", "celebrate"]
        );
        assert_eq!(pgp_words(SHA).len(), 32);
        assert!(pgp_words("not hex!").is_empty());
    }

    #[test]
    fn reference_time_today_or_rfc3339() {
        let system = DateTime::parse_from_rfc3339("2026-11-25T10:00:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = parse_reference_time("10:00:00", system).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T10:00:00+00:00");
        let t = parse_reference_time("2026-11-25T11:00:00+01:00", system).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T10:00:00+00:00");
        assert!(parse_reference_time("ten o'clock", system).is_err());
        // Just after midnight, a reading of 23:59:58 is yesterday's.
        let system = DateTime::parse_from_rfc3339("2026-11-26T00:00:01Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = parse_reference_time("23:59:58", system).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T23:59:58+00:00");
    }

    #[test]
    fn wrap_by_words_and_cut_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh ij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn instructions_reflow() {
        assert_eq!(reflow("a\nb c\n\nd\n"), "a b c\n\nd");
    }

    #[test]
    fn elapsed_minutes_and_hours() {
        assert_eq!(elapsed(TimeDelta::seconds(75)), "1:15");
        assert_eq!(elapsed(TimeDelta::seconds(3725)), "1:02:05");
    }
}
