//! The policy file: the rules of a CPS that a ceremony must meet, as data, each with the
//! section it comes from. The format is in docs/policy.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use keyceremony_script::{KeyAlgorithm, Role, SourceMap};
use keyceremony_x509::{MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS, SignatureAlgorithm};
use serde::Deserialize;

use crate::{
    StepKind,
    custody::{BackupRule, DestructionRule, RawBackup, RawDestruction},
    error::PolicyError,
    issuance::{
        IssuanceRules, RawCertificatePolicies, RawCrl, RawCrossCertificate, RawIssuance,
        RawOcspResponder, RawSubordinate,
    },
};

/// Fewest people this tool ever lets activate a key or hold its activation data, whatever a
/// policy says (CPS 5.2.2, 6.4.1 of the reference CPS; any root CPS has the same floor).
pub(crate) const MIN_PERSONS: u32 = 2;

/// A loaded policy. Every rule's `section` is the text the policy file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name, equal to its file's stem; scripts refer to it by this name.
    pub name: String,
    /// The CPS the policy transcribes.
    pub document: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Key algorithms and the signature algorithm of each.
    pub algorithms: AlgorithmRule,
    /// Validity of a root certificate.
    pub validity: ValidityRule,
    /// Fewest custodians that must come together to activate the key.
    pub two_person_control: ThresholdRule,
    /// Fewest custodians who hold a piece of each activation secret.
    pub activation_data: CustodiansRule,
    /// Who witnesses the key operations.
    pub witness: WitnessRule,
    /// Duties no one person may combine.
    pub separation_of_duties: DutiesRule,
    /// What the root may sign after its key generation: subordinate CA certificates,
    /// cross-certificates, an OCSP responder's certificate, its CRL.
    pub issuance: IssuanceRules,
    /// Whether a root key may be backed up, and its backup custodians' quorum; `None`
    /// (no `[backup]` table): no root key may be.
    pub backup: Option<BackupRule>,
    /// How many authorised people destroy a key (`[destruction]`); without the table,
    /// [`Policy::destruction_rule`] gives the tool's floor.
    pub destruction: Option<DestructionRule>,
    /// How far the terminal's clock may be from the reference clock; a
    /// policy without it sets no limit.
    pub clock: Option<ClockRule>,
    /// The SO PIN and the user PIN are held by different people; a policy
    /// without it lets one custodian hold a share of each.
    pub pin_separation: Option<PinSeparationRule>,
}

/// No custodian holds shares of both PINs: the SO PIN can reset the user
/// PIN, so a quorum of SO-PIN custodians who also held user-PIN shares could
/// take the key over between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinSeparationRule {
    /// The section of the CPS.
    pub section: &'static str,
}

/// The largest difference between the terminal's clock and the reference
/// clock that a clock check accepts as scripted; beyond it the check is an
/// exception the witness decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Seconds, either way.
    pub max_offset_seconds: u32,
}

/// Allowed key algorithms, each with the one signature algorithm its root certificate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// The allowed pairs.
    pub allowed: Vec<AlgorithmPair>,
}

/// A key algorithm and the signature algorithm of its root certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmPair {
    /// As a script names it (`rsa-4096`, `ec-p384`).
    pub key: KeyAlgorithm,
    /// The signature algorithm.
    pub signature: SignatureAlgorithm,
}

impl AlgorithmRule {
    /// Whether the policy allows keys of this algorithm.
    pub fn allows_key(&self, key: KeyAlgorithm) -> bool {
        self.allowed.iter().any(|pair| pair.key == key)
    }

    /// Whether the policy allows this signature algorithm.
    pub fn allows_signature(&self, signature: SignatureAlgorithm) -> bool {
        self.allowed.iter().any(|pair| pair.signature == signature)
    }

    /// `rsa-4096 (sha384WithRSAEncryption) or ec-p384 (ecdsa-with-SHA384)`.
    pub fn describe(&self) -> String {
        self.allowed
            .iter()
            .map(|pair| format!("{} ({})", pair.key.as_str(), pair.signature))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Validity bounds in days of 86,400 s, notBefore through notAfter inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Fewest days.
    pub min_days: u32,
    /// Most days.
    pub max_days: u32,
}

/// Fewest people that must come together to activate a key (k of each k-of-n split).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Fewest shares needed to rebuild a PIN.
    pub min_threshold: u32,
}

/// Fewest different people holding a piece of each activation secret (n of each split).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustodiansRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Fewest distinct custodians.
    pub min_custodians: usize,
}

/// The role that must witness some steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// The role the witness must hold.
    pub role: Role,
    /// The steps it applies to.
    pub actions: Vec<StepKind>,
}

/// Groups of roles: no one may hold roles of two groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutiesRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// The separated duties.
    pub duties: Vec<Duty>,
}

/// One duty and the roles that carry it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    /// Its name (`operation`, `approval`, `audit`).
    pub name: String,
    /// The roles that carry it out.
    pub roles: Vec<Role>,
}

impl DutiesRule {
    /// The duties a person with these roles carries out.
    pub fn duties_of<'a>(&'a self, roles: &'a [Role]) -> impl Iterator<Item = &'a Duty> + 'a {
        self.duties
            .iter()
            .filter(move |duty| duty.roles.iter().any(|r| roles.contains(r)))
    }
}

// The file as written; turned into a `Policy` once every rule is checked.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    policy: RawHeader,
    algorithms: RawAlgorithms,
    validity: RawValidity,
    two_person_control: RawThreshold,
    activation_data: RawCustodians,
    witness: RawWitness,
    separation_of_duties: RawDuties,
    // The later ceremonies' tables, optional; `serde(flatten)` would lose deny_unknown_fields.
    #[serde(default)]
    subordinate: Option<RawSubordinate>,
    #[serde(default)]
    certificate_policies: Option<RawCertificatePolicies>,
    #[serde(default)]
    cross_certificate: Option<RawCrossCertificate>,
    #[serde(default)]
    ocsp_responder: Option<RawOcspResponder>,
    #[serde(default)]
    crl: Option<RawCrl>,
    // A root key's backup and destruction, optional.
    #[serde(default)]
    backup: Option<RawBackup>,
    #[serde(default)]
    destruction: Option<RawDestruction>,
    #[serde(default)]
    clock: Option<RawClock>,
    #[serde(default)]
    pin_separation: Option<RawPinSeparation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPinSeparation {
    section: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClock {
    section: String,
    max_offset_seconds: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    document: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlgorithms {
    section: String,
    allowed: Vec<RawPair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPair {
    key: KeyAlgorithm,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidity {
    section: String,
    min_days: u32,
    max_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    section: String,
    min_threshold: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustodians {
    section: String,
    min_custodians: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWitness {
    section: String,
    role: Role,
    actions: Vec<StepKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDuties {
    section: String,
    duties: Vec<RawDuty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDuty {
    name: String,
    roles: Vec<Role>,
}

/// The pairs this tool can build a root certificate for (keyceremony-x509).
const BUILDABLE: [(KeyAlgorithm, SignatureAlgorithm); 2] = [
    (
        KeyAlgorithm::Rsa4096,
        SignatureAlgorithm::Sha384WithRsaEncryption,
    ),
    (KeyAlgorithm::EcP384, SignatureAlgorithm::EcdsaWithSha384),
];

impl Policy {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks policy text; `path` names it in errors and its stem must be the
    /// policy's name (so that a shipped policy built into the binary can be checked as the
    /// file it came from).
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let source_map = SourceMap::new(text);
        let invalid = |field: &str, message: String| PolicyError::InvalidPolicy {
            path: path.to_path_buf(),
            location: source_map.locate(field).unwrap_or_default(),
            message,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::InvalidPolicy {
            path: path.to_path_buf(),
            location: source_map.location_of_error(&e),
            message: e.message().to_string(),
        })?;

        if !is_policy_name(&raw.policy.name) {
            return Err(invalid(
                "policy.name",
                format!(
                    "'{}' is not a policy name: use 1 to 64 lower-case letters, digits and '-'",
                    raw.policy.name
                ),
            ));
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != raw.policy.name {
            return Err(invalid(
                "policy.name",
                format!(
                    "the policy is named '{}' but its file is {}: a script finds a policy by \
                     its file name, so they must agree",
                    raw.policy.name,
                    path.display()
                ),
            ));
        }

        let sections = [
            ("algorithms.section", &raw.algorithms.section),
            ("validity.section", &raw.validity.section),
            (
                "two_person_control.section",
                &raw.two_person_control.section,
            ),
            ("activation_data.section", &raw.activation_data.section),
            ("witness.section", &raw.witness.section),
            (
                "separation_of_duties.section",
                &raw.separation_of_duties.section,
            ),
        ];
        let clock_section = raw.clock.as_ref().map(|c| ("clock.section", &c.section));
        let separation_section = raw
            .pin_separation
            .as_ref()
            .map(|c| ("pin_separation.section", &c.section));
        for (field, section) in sections
            .into_iter()
            .chain(clock_section)
            .chain(separation_section)
        {
            if section.trim().is_empty() {
                return Err(invalid(
                    field,
                    "every rule cites the section of the CPS it comes from".into(),
                ));
            }
        }

        let mut allowed = Vec::new();
        for (i, pair) in raw.algorithms.allowed.iter().enumerate() {
            let field = format!("algorithms.allowed[{i}]");
            let Some(&(key, signature)) = BUILDABLE.iter().find(|(key, _)| *key == pair.key) else {
                return Err(invalid(
                    &format!("{field}.key"),
                    format!(
                        "{} is not a root key keyceremony makes: it makes rsa-4096 and ec-p384",
                        pair.key.as_str()
                    ),
                ));
            };
            if pair.signature != signature.to_string() {
                return Err(invalid(
                    &format!("{field}.signature"),
                    format!(
                        "a {} key signs with {signature}, not '{}'",
                        key.as_str(),
                        pair.signature
                    ),
                ));
            }
            allowed.push(AlgorithmPair { key, signature });
        }
        if allowed.is_empty() {
            return Err(invalid(
                "algorithms.allowed",
                "the policy allows no key algorithm".into(),
            ));
        }

        let validity = &raw.validity;
        if validity.min_days > validity.max_days
            || validity.min_days < MIN_VALIDITY_DAYS
            || validity.max_days > MAX_VALIDITY_DAYS
        {
            return Err(invalid(
                "validity",
                format!(
                    "validity of {} to {} days: the BR root profile keyceremony builds needs \
                     {MIN_VALIDITY_DAYS} <= min_days <= max_days <= {MAX_VALIDITY_DAYS} \
                     (BR 7.1.2.1.1)",
                    validity.min_days, validity.max_days
                ),
            ));
        }
        if raw.two_person_control.min_threshold < MIN_PERSONS {
            return Err(invalid(
                "two_person_control.min_threshold",
                format!(
                    "min_threshold {}: keyceremony never lets fewer than {MIN_PERSONS} persons \
                     activate a key",
                    raw.two_person_control.min_threshold
                ),
            ));
        }
        if raw.activation_data.min_custodians < MIN_PERSONS as usize {
            return Err(invalid(
                "activation_data.min_custodians",
                format!(
                    "min_custodians {}: activation data is always split among at least \
                     {MIN_PERSONS} people",
                    raw.activation_data.min_custodians
                ),
            ));
        }
        if raw
            .clock
            .as_ref()
            .is_some_and(|c| c.max_offset_seconds == 0)
        {
            return Err(invalid(
                "clock.max_offset_seconds",
                "max_offset_seconds 0: no two clocks agree to the millisecond; allow at least 1 s"
                    .into(),
            ));
        }
        if raw.witness.actions.is_empty() {
            return Err(invalid(
                "witness.actions",
                "the witness rule names no step it applies to".into(),
            ));
        }

        let mut names = BTreeSet::new();
        let mut assigned = BTreeSet::new();
        for (i, duty) in raw.separation_of_duties.duties.iter().enumerate() {
            let field = format!("separation_of_duties.duties[{i}]");
            if duty.name.trim().is_empty() || !names.insert(duty.name.as_str()) {
                return Err(invalid(
                    &format!("{field}.name"),
                    format!("duty name '{}' is empty or used twice", duty.name),
                ));
            }
            if duty.roles.is_empty() {
                return Err(invalid(
                    &format!("{field}.roles"),
                    format!("duty '{}' has no roles", duty.name),
                ));
            }
            for role in &duty.roles {
                if !assigned.insert(*role) {
                    return Err(invalid(
                        &format!("{field}.roles"),
                        format!(
                            "role {} is in two duties: each role carries out one duty",
                            role.as_str()
                        ),
                    ));
                }
            }
        }

        let issuance = IssuanceRules::from_raw(RawIssuance {
            subordinate: raw.subordinate,
            certificate_policies: raw.certificate_policies,
            cross_certificate: raw.cross_certificate,
            ocsp_responder: raw.ocsp_responder,
            crl: raw.crl,
        })
        .map_err(|(field, message)| invalid(&field, message))?;
        let backup = raw
            .backup
            .map(BackupRule::from_raw)
            .transpose()
            .map_err(|(field, message)| invalid(&field, message))?;
        let destruction = raw
            .destruction
            .map(DestructionRule::from_raw)
            .transpose()
            .map_err(|(field, message)| invalid(&field, message))?;

        Ok(Policy {
            issuance,
            backup,
            destruction,
            name: raw.policy.name,
            document: raw.policy.document,
            path: path.to_path_buf(),
            algorithms: AlgorithmRule {
                section: leak(raw.algorithms.section),
                allowed,
            },
            validity: ValidityRule {
                section: leak(raw.validity.section),
                min_days: raw.validity.min_days,
                max_days: raw.validity.max_days,
            },
            two_person_control: ThresholdRule {
                section: leak(raw.two_person_control.section),
                min_threshold: raw.two_person_control.min_threshold,
            },
            activation_data: CustodiansRule {
                section: leak(raw.activation_data.section),
                min_custodians: raw.activation_data.min_custodians,
            },
            witness: WitnessRule {
                section: leak(raw.witness.section),
                role: raw.witness.role,
                actions: raw.witness.actions,
            },
            separation_of_duties: DutiesRule {
                section: leak(raw.separation_of_duties.section),
                duties: raw
                    .separation_of_duties
                    .duties
                    .into_iter()
                    .map(|d| Duty {
                        name: d.name,
                        roles: d.roles,
                    })
                    .collect(),
            },
            clock: raw.clock.map(|c| ClockRule {
                section: leak(c.section),
                max_offset_seconds: c.max_offset_seconds,
            }),
            pin_separation: raw.pin_separation.map(|p| PinSeparationRule {
                section: leak(p.section),
            }),
        })
    }

    /// Where a script's policy is: `policy/<name>.toml` in the script's folder. The name
    /// comes from the script, so it is refused unless it is a plain name that cannot lead
    /// out of that folder.
    pub fn resolve(script_path: &Path, name: &str) -> Result<PathBuf, PolicyError> {
        if !is_policy_name(name) {
            return Err(PolicyError::InvalidPolicyName(name.to_string()));
        }
        let folder = script_path.parent().unwrap_or_else(|| Path::new(""));
        Ok(folder.join("policy").join(format!("{name}.toml")))
    }
}

/// Violation::rule and Finding::rule are `&'static str` so that the script crate's
/// hard-coded sections and a policy's sections travel in one type. Policies are a handful
/// of small files loaded once per process, so their sections are leaked rather than making
/// every rule an owned string.
pub(crate) fn leak(section: String) -> &'static str {
    Box::leak(section.into_boxed_str())
}

fn is_policy_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
