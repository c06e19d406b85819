//! The shipped ceremony scripts and their rehearsal answers, built into the
//! binary so that `keyceremony rehearse` runs the reviewed text wherever it
//! is started.

pub struct Shipped {
    pub name: &'static str,
    pub script: &'static str,
    pub answers_path: &'static str,
    pub answers: &'static str,
    /// A later ceremony: the shipped ceremony that initialised the token it
    /// works on (a key generation, a restore) and whose rehearsal share
    /// files its custodians read.
    pub shares_of: Option<&'static str>,
    /// A restore: the shipped key generation ceremony that backed the key
    /// up, whose rehearsal share files its backup custodians read their
    /// wrap-key shares from.
    pub backup_shares_of: Option<&'static str>,
}

/// `ceremony-scripts/NAME.toml` and `ceremony-scripts/rehearsal/NAME.answers.toml`.
macro_rules! shipped {
    ($name:literal, $shares_of:expr) => {
        shipped!($name, $shares_of, None)
    };
    ($name:literal, $shares_of:expr, $backup_shares_of:expr) => {
        Shipped {
            name: $name,
            script: include_str!(concat!("../../../ceremony-scripts/", $name, ".toml")),
            answers_path: concat!("ceremony-scripts/rehearsal/", $name, ".answers.toml"),
            answers: include_str!(concat!(
                "../../../ceremony-scripts/rehearsal/",
                $name,
                ".answers.toml"
            )),
            shares_of: $shares_of,
            backup_shares_of: $backup_shares_of,
        }
    };
}

/// The root's whole life, in the order `rehearse` runs it: both key
/// generations, then on the ECC root a subordinate CA certificate, a first
/// CRL and the next; then a backup's round trip: an ECC root generated and
/// backed up, its backup restored onto a second token and proved, and the
/// restored copy destroyed there.
pub const CEREMONIES: [Shipped; 8] = [
    shipped!("root-rsa4096", None),
    shipped!("root-p384", None),
    shipped!("subordinate-p384", Some("root-p384")),
    shipped!("crl-p384", Some("root-p384")),
    shipped!("crl-p384-next", Some("root-p384")),
    shipped!("root-p384-backup", None),
    // The restore initialises its own token and makes its own PIN shares.
    shipped!("restore-p384-backup", None, Some("root-p384-backup")),
    shipped!("destroy-p384-backup-copy", Some("restore-p384-backup")),
];

/// The policy the shipped scripts follow, built in beside them.
pub const POLICY: &str = include_str!("../../../ceremony-scripts/policy/reference-cps.toml");

pub fn policy() -> Result<keyceremony_policy::Policy, keyceremony_policy::PolicyError> {
    keyceremony_policy::Policy::parse(
        std::path::Path::new("ceremony-scripts/policy/reference-cps.toml"),
        POLICY,
    )
}
