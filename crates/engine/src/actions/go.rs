//! The go: before token initialisation, key generation and every signature
//! the room is shown what is about to happen ([`Imminent`]), and the step's
//! performer gives the go; the log records it, with what was shown and who
//! gave it, before the HSM is asked.

use keyceremony_hsm::KeyAlgorithm as HsmAlgorithm;
use keyceremony_log::EventKind;
use keyceremony_script::{Script, Secret, Step};
use keyceremony_x509::TbsFacts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::EngineError;
use crate::imminent::Imminent;
use crate::operator::{Notice, Operator};
use crate::run::{Runner, acting_role};

impl Runner {
    /// Shows `imminent` and waits for the performer's go; `extra` joins the
    /// log entry's data (a signature's TBS hash).
    pub(super) fn go(
        &mut self,
        operator: &mut dyn Operator,
        step: &Step,
        imminent: Imminent,
        extra: Value,
    ) -> Result<(), EngineError> {
        let performer = self.participant(&step.performer)?;
        operator.notify(&Notice::Imminent(imminent.clone()));
        operator.go(step, &performer, &imminent)?;
        let mut data = json!({
            "action": imminent.action,
            "what": imminent.what,
            "facts": imminent.facts_json(),
            "performer": performer.id,
        });
        if let Some(lint) = &imminent.lint {
            data["lint"] = json!(lint);
        }
        if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
            data.extend(extra);
        }
        self.person_record(
            &performer,
            acting_role(&performer),
            Some(&step.id),
            EventKind::Go,
            format!("{} gives the go: {}", performer.name, imminent.what),
            data,
        )
    }
}

/// "2 of 3 among Carol, Dave, Erin": a quorum by its people's names.
pub(super) fn split_among(script: &Script, q: &keyceremony_script::Quorum) -> String {
    let names: Vec<&str> = q
        .custodians
        .iter()
        .map(|id| {
            script
                .participant(id)
                .map_or(id.as_str(), |p| p.name.as_str())
        })
        .collect();
    format!(
        "{} of {} among {}",
        q.threshold,
        q.custodians.len(),
        names.join(", ")
    )
}

pub(super) fn fact(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_string(), value.into())
}

/// A time as the room reads it.
pub(super) fn stamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Before C_InitToken: the token, the label it gets, and what is made on it.
pub(super) fn token_initialisation(
    script: &Script,
    token: &keyceremony_hsm::TokenInfo,
) -> Imminent {
    let label = &script.hsm.token_label;
    let split = |secret: Secret| {
        format!(
            "drawn from the token's random generator, split {}",
            split_among(script, script.activation.quorum(secret))
        )
    };
    Imminent {
        action: "init-token",
        what: format!(
            "initialise token serial {} as '{label}': C_InitToken erases everything the token holds",
            token.serial
        ),
        facts: vec![
            fact(
                "Token",
                format!(
                    "serial {}, slot {}, {} {}",
                    token.serial, token.slot_id, token.manufacturer, token.model
                ),
            ),
            fact("New label", label.as_str()),
            fact("SO PIN", split(Secret::SoPin)),
            fact("User PIN", split(Secret::UserPin)),
            fact(
                "Log key",
                format!(
                    "ECC P-384 '{}', generated on the token to sign this log's seal",
                    script.log.signing_key
                ),
            ),
        ],
        lint: None,
    }
}

/// Before C_GenerateKeyPair: the key's type, label, CKA_ID and attributes.
pub(super) fn key_generation(algorithm: HsmAlgorithm, label: &str, id: &[u8]) -> Imminent {
    Imminent {
        action: "generate-key",
        what: format!("generate the {algorithm} root key pair '{label}' inside the HSM"),
        facts: vec![
            fact("Algorithm", algorithm.to_string()),
            fact("Label", label),
            fact("CKA_ID", hex::encode_upper(id)),
            fact(
                "Private key",
                "sensitive, never extractable, signs only, a fresh activation for every signature (CKA_ALWAYS_AUTHENTICATE)",
            ),
        ],
        lint: None,
    }
}

/// Before a root certificate is signed: the certificate exactly as the
/// to-be-signed bytes say (read back from them, not from the request), and
/// the pre-signing lint's findings.
pub(super) fn certificate_signature(
    label: &str,
    tbs: &TbsFacts,
    findings: &[keyceremony_policy::Finding],
) -> Imminent {
    let ski = hex::encode_upper(&tbs.subject_key_identifier);
    let mut key_usage = "keyCertSign, cRLSign".to_string();
    if tbs.digital_signature {
        key_usage.push_str(", digitalSignature");
    }
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    Imminent {
        action: "self-sign",
        what: format!("sign the root certificate of '{label}' with its key in the HSM"),
        facts: vec![
            fact("Subject", tbs.subject.as_str()),
            fact("Issuer", format!("{} (self-signed)", tbs.subject)),
            fact("Serial", keyceremony_x509::grouped_hex(&tbs.serial)),
            fact("Not before", stamp(tbs.not_before)),
            fact(
                "Not after",
                format!("{} ({} days)", stamp(tbs.not_after), tbs.validity_days),
            ),
            fact(
                "Extensions",
                [
                    "basicConstraints, critical: CA:TRUE, no path length".to_string(),
                    format!("keyUsage, critical: {key_usage}"),
                    format!("subjectKeyIdentifier: {ski}"),
                    "authorityKeyIdentifier: the subjectKeyIdentifier".to_string(),
                ]
                .join("\n"),
            ),
            fact("Signature", tbs.signature_algorithm.to_string()),
            fact(
                "Key SHA-256",
                keyceremony_x509::grouped_hex(&Sha256::digest(&tbs.spki_der)),
            ),
        ],
        lint: Some(findings.iter().map(ToString::to_string).collect()),
    }
}
