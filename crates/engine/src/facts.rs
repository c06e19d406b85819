//! What the log records of how the ceremony is run, beyond its script:
//! in entry 1, the policy and the CPS it transcribes, how the witness signs
//! the seal and the SHA-256 of the key the script pins for it (the seal must
//! be signed by that key, docs/log-format.md); and for every run, how its
//! input is given (the operator TUI, or an answers file and its SHA-256).

use keyceremony_log::EventKind;
use keyceremony_policy::Policy;
use keyceremony_script::Script;
use serde_json::{Map, Value, json};

use crate::EngineError;
use crate::actions::pinned_key;
use crate::operator::InputSource;
use crate::run::Runner;

/// The fields entry 1 adds to the script's identity.
pub(crate) fn start_facts(
    script: &Script,
    policy: &Policy,
) -> Result<Map<String, Value>, EngineError> {
    let mut facts = Map::new();
    facts.insert("policy".to_string(), json!(policy.name));
    facts.insert("cps".to_string(), json!(policy.document));
    facts.insert(
        "witness_signing".to_string(),
        json!(script.log.witness_signing.as_str()),
    );
    if let Some(pin) = pinned_key(script)? {
        facts.insert(
            "witness_key_sha256".to_string(),
            json!(hex::encode_upper(pin)),
        );
    }
    Ok(facts)
}

impl Runner {
    /// How this run's input is given, recorded once the log is open.
    pub(crate) fn record_input(&mut self, input: &InputSource) -> Result<(), EngineError> {
        let (description, data) = match input {
            InputSource::Terminal => (
                "input: typed by the people in the room, in the operator TUI at the terminal"
                    .to_string(),
                json!({ "input": { "from": "terminal" } }),
            ),
            InputSource::AnswersFile { path, sha256 } => (
                format!(
                    "input: read from the answers file {path} (SHA-256 {sha256}), a rehearsal's"
                ),
                json!({ "input": { "from": "answers-file", "path": path, "sha256": sha256 } }),
            ),
        };
        self.tool_record(None, EventKind::Recorded, description, data)
    }
}
