//! Progress printing for headless runs: what the room would see on screen.

use keyceremony_engine::{AnswersFile, Ceremony, Notice, Outcome, SealOutcome};

use crate::out::say;

pub fn printing(answers: AnswersFile) -> AnswersFile {
    answers.with_notices(print)
}

fn print(notice: &Notice) {
    match notice {
        Notice::StepBegin {
            step,
            title,
            performer,
            witness,
            ..
        } => say!("[{step}] {title} (performer {performer}, witness {witness})"),
        Notice::HsmWorking { what } => say!("      HSM: {what}..."),
        Notice::KeyGenerated {
            label,
            uri,
            public_key_sha256,
            attributes,
            taken_up,
        } => {
            say!("      key {label}: {uri}");
            if *taken_up {
                say!(
                    "      generated before the interruption; taken up after the checks of a fresh key"
                );
            }
            say!("      public key SHA-256 {}", grouped(public_key_sha256));
            let read_back: Vec<String> = attributes
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            say!("      read back: {}", read_back.join(" "));
        }
        Notice::CertificateSigned {
            label,
            subject,
            serial,
            sha256,
        } => {
            say!("      certificate {label}: {subject}, serial {serial}");
            say!("      SHA-256 {}", grouped(sha256));
        }
        Notice::FileWritten { path, sha256 } => {
            say!("      wrote {path} (SHA-256 {sha256})")
        }
        Notice::CopyChecked {
            custodian,
            difference,
        } => match difference {
            None => say!("      {custodian}'s copy read back: it matches"),
            Some(why) => say!("      {custodian}'s copy read back: it DIFFERS ({why})"),
        },
        Notice::ShareRejected {
            custodian,
            reason,
            failures,
            limit,
        } => say!(
            "      share of {custodian} refused (refused share {failures} of this ceremony, at most {limit}): {reason}"
        ),
        Notice::Imminent(imminent) => {
            say!("      ABOUT TO {}", imminent.what);
            for (label, value) in &imminent.facts {
                for (i, value) in value.lines().enumerate() {
                    let label = if i == 0 { label.as_str() } else { "" };
                    say!("        {label:<19} {value}");
                }
            }
            match imminent.lint.as_deref() {
                Some([]) => say!("        pre-signing lint: no finding"),
                Some(findings) => {
                    for finding in findings {
                        say!("        pre-signing lint: {finding}");
                    }
                }
                None => {}
            }
        }
        Notice::HsmDone { what, milliseconds } => {
            say!("      HSM: {what} in {milliseconds:.0} ms")
        }
        Notice::ClockChecked {
            difference_ms,
            limit_ms,
        } => {
            say!(
                "      clock: system minus reference {:.3} s",
                *difference_ms as f64 / 1000.0
            );
            if let Some(limit) = limit_ms.filter(|limit| difference_ms.abs() > *limit) {
                say!(
                    "      clock: BEYOND the {} s the policy allows (CPS 5.5.5): an exception for the witness",
                    limit / 1000
                );
            }
        }
        Notice::NetworkUp { interfaces } => say!(
            "WARNING: network interfaces up on this terminal: {} (CPS 6.7: CA systems are not connected)",
            interfaces.join(", ")
        ),
        Notice::Exception {
            number,
            description,
        } => say!("      EXCEPTION {number}: {description}"),
        Notice::Sealed {
            outcome,
            entries,
            head,
            words,
        } => {
            say!("      log sealed ({outcome}) after {entries} entries");
            say!("      head {}", grouped(head));
            say!("      head words: {words}");
        }
        Notice::LogHead(head) => {
            say!(
                "LOG HEAD at {} (entry {}): {}",
                head.at,
                head.entries,
                head.head
            );
            say!(
                "      copy it onto the paper script; head words: {}",
                head.words
            );
        }
        Notice::KeysLeft { keys } => {
            say!(
                "      left on the token, live until a destroy-key ceremony (a certified key) or a re-initialisation of the token destroys it (CPS 6.2.10):"
            );
            for key in keys {
                say!("        {key}");
            }
        }
        Notice::LoginFailed {
            failures,
            limit,
            reason,
        } => say!(
            "      login failed (failed login {failures} of this ceremony, at most {limit}): {reason}"
        ),
    }
}

/// Hex in groups of four, for reading aloud.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn banner(ceremony: &Ceremony) {
    let script = ceremony.script();
    let mark = if ceremony.settings().rehearsal {
        "REHEARSAL: "
    } else {
        ""
    };
    say!("{mark}{}", script.script.ceremony.name);
    say!(
        "script {} SHA-256 {}",
        script.path.display(),
        script.sha256_hex()
    );
    say!("output {}", ceremony.settings().out_dir.display());
    if let Some(rehearsal) = ceremony.rehearsal() {
        say!("REHEARSAL: {}", rehearsal.reason);
        for rule in &rehearsal.rules {
            say!(
                "  {} (CPS {}), {}: {}",
                rule.rule,
                rule.cps,
                rule.shown.as_str(),
                rule.rehearsal
            );
        }
    }
}

/// How the ceremony ended, in the words of its sealed log's outcome.
pub fn summary(outcome: &Outcome) {
    let ended = match outcome.sealed {
        SealOutcome::Completed => "ceremony complete",
        SealOutcome::Aborted => "ceremony aborted: its log is sealed as aborted",
    };
    say!(
        "{ended}: {} log entries, log head {}",
        outcome.log_entries,
        outcome.log_head
    );
    for (label, sha256) in &outcome.certificates {
        say!("{label} SHA256 {sha256}");
    }
    say!(
        "backup copy of the sealed log: {} (read back and verified)",
        outcome.backup.display()
    );
}
