//! The policy's rules for a root key's backup and destruction: whether a
//! root key may be backed up at all (CPS 6.2.4), the quorum of backup
//! custodians its wrap key is split among (CPS 5.2.2: backed up and
//! recovered only under at least dual control), and how many authorised
//! people destroy a key (CPS 6.2.10). The format is in docs/policy.md.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::error::PolicyError;
use crate::issuance::{Invalid, section};
use crate::policy::{MIN_PERSONS, Policy};

/// Whether a root key may be backed up, and the quorum of its backup
/// custodians.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Whether a root key may be generated for backup and backed up.
    pub allowed: bool,
    /// Fewest backup custodians needed to rebuild the wrap key (k).
    pub min_threshold: u32,
    /// Fewest distinct backup custodians holding a share of it (n).
    pub min_custodians: usize,
}

/// How many authorised people a key's destruction needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestructionRule {
    /// The section of the CPS.
    pub section: &'static str,
    /// Fewest distinct people.
    pub min_persons: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackup {
    section: String,
    allowed: bool,
    #[serde(default)]
    min_threshold: Option<u32>,
    #[serde(default)]
    min_custodians: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDestruction {
    section: String,
    min_persons: usize,
}

impl BackupRule {
    /// Checks the `[backup]` table: a policy that allows backups sets both
    /// quorums, at least the tool's floor of two persons; one that does not
    /// sets neither.
    pub(crate) fn from_raw(raw: RawBackup) -> Result<BackupRule, Invalid> {
        let section = section("backup", raw.section)?;
        let floor = MIN_PERSONS;
        match (raw.allowed, raw.min_threshold, raw.min_custodians) {
            (false, None, None) => Ok(BackupRule {
                section,
                allowed: false,
                min_threshold: floor,
                min_custodians: floor as usize,
            }),
            (false, _, _) => Err((
                "backup.allowed".to_owned(),
                "a policy that allows no backup sets no quorum for one: remove min_threshold \
                 and min_custodians, or allow backups"
                    .to_owned(),
            )),
            (true, Some(threshold), Some(custodians)) => {
                if threshold < floor {
                    return Err((
                        "backup.min_threshold".to_owned(),
                        format!(
                            "min_threshold {threshold}: a backup is restored by at least \
                             {floor} persons (CPS 5.2.2, dual control)"
                        ),
                    ));
                }
                if custodians < threshold as usize {
                    return Err((
                        "backup.min_custodians".to_owned(),
                        format!(
                            "min_custodians {custodians} is below min_threshold {threshold}: \
                             fewer custodians could never restore the backup"
                        ),
                    ));
                }
                Ok(BackupRule {
                    section,
                    allowed: true,
                    min_threshold: threshold,
                    min_custodians: custodians,
                })
            }
            (true, _, _) => Err((
                "backup".to_owned(),
                "a policy that allows backups sets min_threshold and min_custodians, the \
                 quorum of backup custodians (CPS 5.2.2, 6.2.4)"
                    .to_owned(),
            )),
        }
    }
}

impl DestructionRule {
    /// Checks the `[destruction]` table.
    pub(crate) fn from_raw(raw: RawDestruction) -> Result<DestructionRule, Invalid> {
        if raw.min_persons < MIN_PERSONS as usize {
            return Err((
                "destruction.min_persons".to_owned(),
                format!(
                    "min_persons {}: a key is destroyed by at least {MIN_PERSONS} authorised \
                     people",
                    raw.min_persons
                ),
            ));
        }
        Ok(DestructionRule {
            section: section("destruction", raw.section)?,
            min_persons: raw.min_persons,
        })
    }
}

impl Policy {
    /// Refuses a backup the policy does not allow (no `[backup]` table, or
    /// `allowed = false`), and a wrap key split with a threshold or among
    /// fewer distinct custodians than its quorum (names are compared as
    /// written: a name twice is one person).
    pub fn check_backup(&self, threshold: u32, custodians: &[&str]) -> Result<(), PolicyError> {
        let rule = match &self.backup {
            Some(rule) if rule.allowed => rule,
            other => {
                return Err(PolicyError::BackupNotAllowed {
                    policy: self.name.clone(),
                    section: other
                        .map(|rule| rule.section)
                        .unwrap_or(self.two_person_control.section),
                });
            }
        };
        let people: BTreeSet<&str> = custodians.iter().copied().collect();
        let problem = if threshold < rule.min_threshold {
            Some(format!(
                "a threshold of {threshold} lets fewer than {} custodians restore it",
                rule.min_threshold
            ))
        } else if people.len() < rule.min_custodians {
            Some(format!(
                "{} different custodian(s) would hold its shares; at least {} are needed",
                people.len(),
                rule.min_custodians
            ))
        } else if (threshold as usize) > people.len() {
            Some(format!(
                "a threshold of {threshold} among {} custodians could never be met",
                people.len()
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(PolicyError::BackupQuorum {
                policy: self.name.clone(),
                problem,
                section: rule.section,
            }),
            None => Ok(()),
        }
    }

    /// The rule a key's destruction follows: the `[destruction]` table, or
    /// without one the tool's floor of two persons under the policy's
    /// two-person control section.
    pub fn destruction_rule(&self) -> DestructionRule {
        self.destruction.unwrap_or(DestructionRule {
            section: self.two_person_control.section,
            min_persons: MIN_PERSONS as usize,
        })
    }

    /// Refuses a destruction by fewer distinct authorised people than the
    /// policy needs (CPS 6.2.10); names are compared as written.
    pub fn check_destruction(&self, people: &[&str]) -> Result<(), PolicyError> {
        let rule = self.destruction_rule();
        let distinct: BTreeSet<&str> = people
            .iter()
            .copied()
            .filter(|p| !p.trim().is_empty())
            .collect();
        if distinct.len() < rule.min_persons {
            return Err(PolicyError::DestructionQuorum {
                people: distinct.len(),
                needed: rule.min_persons,
                section: rule.section,
            });
        }
        Ok(())
    }
}
