//! The shipped ceremony scripts and their rehearsal answers, built into the
//! binary so that `keyceremony rehearse` runs the reviewed text wherever it
//! is started.

pub struct Shipped {
    pub name: &'static str,
    pub script: &'static str,
    pub answers_path: &'static str,
    pub answers: &'static str,
}

pub const CEREMONIES: [Shipped; 2] = [
    Shipped {
        name: "root-rsa4096",
        script: include_str!("../../../ceremony-scripts/root-rsa4096.toml"),
        answers_path: "ceremony-scripts/rehearsal/root-rsa4096.answers.toml",
        answers: include_str!("../../../ceremony-scripts/rehearsal/root-rsa4096.answers.toml"),
    },
    Shipped {
        name: "root-p384",
        script: include_str!("../../../ceremony-scripts/root-p384.toml"),
        answers_path: "ceremony-scripts/rehearsal/root-p384.answers.toml",
        answers: include_str!("../../../ceremony-scripts/rehearsal/root-p384.answers.toml"),
    },
];

/// The policy the shipped scripts follow, built in beside them.
pub const POLICY: &str = include_str!("../../../ceremony-scripts/policy/reference-cps.toml");

pub fn policy() -> Result<keyceremony_policy::Policy, keyceremony_policy::PolicyError> {
    keyceremony_policy::Policy::parse(
        std::path::Path::new("ceremony-scripts/policy/reference-cps.toml"),
        POLICY,
    )
}
