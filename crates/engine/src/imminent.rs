//! What the room is shown before an irreversible HSM action (token
//! initialisation, key generation, a signature): the performer gives the go
//! only once everyone has seen exactly what is about to happen.

/// An HSM action about to happen, as the room sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imminent {
    /// The script action: `init-token`, `generate-key`, `self-sign`.
    pub action: &'static str,
    /// One sentence: what the HSM is about to do.
    pub what: String,
    /// What the room checks, in order: (label, value). A value may hold
    /// several lines (the extensions of a certificate).
    pub facts: Vec<(String, String)>,
    /// Before a signature: the pre-signing lint's findings, empty when it
    /// found nothing; None for the other actions.
    pub lint: Option<Vec<String>>,
}

impl Imminent {
    /// The facts as a JSON object for the log (label -> value).
    pub fn facts_json(&self) -> serde_json::Value {
        self.facts
            .iter()
            .map(|(label, value)| (label.clone(), serde_json::Value::from(value.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}
