//! The rules of `[log]`: the log-signing key, the witness who seals the log
//! and how they sign, and the backup media (CPS 5.4.1, 5.4.5, 6.1.1).
//!
//! The witness signs the seal with their own key, on their own device, from
//! the statement the tool writes to the removable media: the script pins
//! that key by the SHA-256 of its SubjectPublicKeyInfo, so that the seal can
//! only be theirs, and their PIN never reaches the CA terminal. Signing with
//! the witness's token connected to the terminal is a lab's option only.

use crate::model::{Role, Script, WitnessSigning};
use crate::validate::{TOKEN_LABEL_RULE, Violation, is_file_safe, is_token_label};

pub(crate) fn log(script: &Script, v: &mut Vec<Violation>) {
    let log = &script.log;
    if !is_file_safe(&log.signing_key) {
        v.push(Violation::new(
            "log.signing_key",
            None,
            format!(
                "log signing key label '{}' must be 1 to 64 letters, digits, '-', '_' or '.'",
                log.signing_key
            ),
        ));
    }
    if script.key(&log.signing_key).is_some() {
        v.push(Violation::new(
            "log.signing_key",
            Some("CPS 6.1.7"),
            format!(
                "'{}' is a CA key: the log is signed by a key of its own, never by a root key",
                log.signing_key
            ),
        ));
    }
    match script.participant(&log.witness) {
        None => v.push(Violation::new(
            "log.witness",
            None,
            format!("seal witness '{}' is not a participant", log.witness),
        )),
        Some(p) if !p.has_role(Role::QualifiedAuditor) => v.push(Violation::new(
            "log.witness",
            Some("CPS 6.1.1"),
            format!("the seal is signed by the Qualified Auditor who witnessed the ceremony; '{}' is not a qualified-auditor", p.id),
        )),
        Some(_) => {}
    }
    witness_key(script, v);
    backup(script, v);
}

/// Upper or lower case; spaces are not allowed, so that the pin reads the
/// same everywhere it is copied.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn witness_key(script: &Script, v: &mut Vec<Violation>) {
    let log = &script.log;
    match &log.witness_key_sha256 {
        Some(pin) if !is_sha256_hex(pin) => v.push(Violation::new(
            "log.witness_key_sha256",
            Some("CPS 6.1.1"),
            format!(
                "'{pin}' is not a SHA-256: give the 64 hex digits of the SHA-256 of the witness's public key in DER (openssl pkey -pubin -in witness.pub.pem -outform DER | sha256sum)"
            ),
        )),
        None if log.witness_signing == WitnessSigning::Independent => v.push(Violation::new(
            "log.witness_key_sha256",
            Some("CPS 6.1.1"),
            "the witness signs the seal on their own device: pin their public key here by its SHA-256 (openssl pkey -pubin -in witness.pub.pem -outform DER | sha256sum), so that the seal can only be signed by them",
        )),
        _ => {}
    }
    match log.witness_signing {
        WitnessSigning::Independent => {
            let lab_only = [
                ("log.witness_token", log.witness_token.is_some()),
                ("log.witness_key", log.witness_key.is_some()),
                ("log.witness_module", log.witness_module.is_some()),
            ];
            for (path, given) in lab_only {
                if given {
                    v.push(Violation::new(
                        path,
                        None,
                        "only witness_signing = \"lab-token-on-terminal\" uses the witness's token on the terminal; the witness signs on their own device: remove it",
                    ));
                }
            }
        }
        WitnessSigning::LabTokenOnTerminal => lab_token(script, v),
    }
}

fn lab_token(script: &Script, v: &mut Vec<Violation>) {
    // Whether the run may use the lab option is the run's question, not the
    // script's: a dress rehearsal runs a production script in a lab, where
    // the stand-in token signs; `keyceremony run` of it for real refuses it
    // before anything is written (`engine::Ceremony::prepare`).
    let log = &script.log;
    match &log.witness_token {
        None => v.push(Violation::new(
            "log.witness_token",
            None,
            "lab-token-on-terminal signing needs the label of the witness's token",
        )),
        Some(token) if !is_token_label(token) => v.push(Violation::new(
            "log.witness_token",
            Some(TOKEN_LABEL_RULE),
            "the witness's token label must be 1 to 32 bytes, without leading or trailing spaces",
        )),
        Some(token) if *token == script.hsm.token_label => v.push(Violation::new(
            "log.witness_token",
            Some("CPS 5.2.4"),
            "the witness signs the seal with their own token, not the ceremony's",
        )),
        Some(_) => {}
    }
    if log.witness_key.is_none() {
        v.push(Violation::new(
            "log.witness_key",
            None,
            "lab-token-on-terminal signing needs the label of the witness's key on their token",
        ));
    }
}

fn backup(script: &Script, v: &mut Vec<Violation>) {
    let log = &script.log;
    if log.backup.as_os_str().is_empty() {
        v.push(Violation::new(
            "log.backup",
            Some("CPS 5.4.5"),
            "name the removable media folder that receives the log's backup",
        ));
    } else if !log.backup.is_absolute() {
        // Relative, it would name a folder under wherever `run` is started,
        // most likely on the ceremony's own disk, not the removable media.
        v.push(Violation::new(
            "log.backup",
            Some("CPS 5.4.5"),
            format!(
                "'{}' is a relative path: name the removable media's folder by its absolute path (like /media/keyceremony-backup)",
                log.backup.display()
            ),
        ));
    }
}
