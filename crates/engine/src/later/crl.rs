//! The root's CRL as the script asks for it (BR 4.9.7, 7.2): the previous
//! CRL verified against the root and required once the records hold one;
//! a number greater than the last; every revoked certificate one this root
//! issued (its certificate verified against the root, or the records'),
//! each with a BR 7.2.2 reason; the previous CRL's entries kept unless
//! their certificate had expired before it.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use keyceremony_policy::{Finding, IssuedRecords, Policy, lint_crl_tbs};
use keyceremony_script::CrlSpec;
use keyceremony_x509::{
    self as x509, CrlFacts, CrlNumber, CrlRequest, IssuedCertificate, Issuer, PreparedCrl,
    Revocation, RevocationReason,
};

use super::Inputs;
use crate::EngineError;

fn refused(spec: &CrlSpec, message: impl std::fmt::Display) -> EngineError {
    EngineError::Refused(format!("CRL '{}': {message}", spec.id))
}

/// A revoked certificate, before the CRL's thisUpdate is known.
struct Revoked {
    certificate: IssuedCertificate,
    reason: RevocationReason,
    revoked_at: Option<DateTime<Utc>>,
}

/// Everything a CRL needs from its inputs and the records.
pub(crate) struct Planned {
    /// The previous CRL, verified against the root.
    pub(crate) previous: Option<CrlFacts>,
    revoked: Vec<Revoked>,
    /// Entries of the previous CRL dropped because their certificate had
    /// expired before it.
    expired: Vec<IssuedCertificate>,
}

impl Planned {
    pub(crate) fn new(
        spec: &CrlSpec,
        inputs: &Inputs,
        issuer: &Issuer,
        records: &IssuedRecords,
    ) -> Result<Planned, EngineError> {
        let previous = match &spec.previous {
            None => None,
            Some(file) => {
                let der = x509::pem_or_der(inputs.get(file), "X509 CRL", "the previous CRL")?;
                let facts = x509::verify_crl(&der, issuer).map_err(|e| {
                    refused(
                        spec,
                        format!(
                            "the previous CRL {} does not verify against the root: {e}",
                            file.display()
                        ),
                    )
                })?;
                Some(facts)
            }
        };
        records
            .check_crl_sequence(issuer, previous.as_ref(), &CrlNumber::new(spec.number))
            .map_err(|e| refused(spec, e))?;
        let mut revoked = Vec::new();
        for entry in &spec.revoked {
            let certificate = match &entry.certificate {
                Some(file) => {
                    let der =
                        x509::pem_or_der(inputs.get(file), "CERTIFICATE", "a revoked certificate")?;
                    let certificate = IssuedCertificate::from_certificate(&der, issuer)
                        .map_err(|e| refused(spec, e))?;
                    let named = x509::serial_from_hex(&entry.serial)?;
                    if certificate.serial != named {
                        return Err(refused(
                            spec,
                            format!(
                                "{} has serial {}, not the {} the script revokes",
                                file.display(),
                                hex::encode_upper(&certificate.serial),
                                entry.serial
                            ),
                        ));
                    }
                    certificate
                }
                None => records
                    .issued_certificate(issuer, &entry.serial)
                    .map_err(|e| refused(spec, e))?,
            };
            let reason = RevocationReason::from_name(&entry.reason).ok_or_else(|| {
                refused(spec, format!("'{}' is not a BR 7.2.2 reason", entry.reason))
            })?;
            let revoked_at = entry
                .revoked_at
                .as_deref()
                .map(|at| {
                    DateTime::parse_from_rfc3339(at)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|e| refused(spec, format!("revoked_at '{at}': {e}")))
                })
                .transpose()?;
            revoked.push(Revoked {
                certificate,
                reason,
                revoked_at,
            });
        }
        let expired = previous
            .iter()
            .flat_map(|p| p.entries.iter().map(move |e| (p, e)))
            .filter(|(_, e)| !revoked.iter().any(|r| r.certificate.serial == e.serial))
            .filter_map(|(p, e)| {
                let certificate = records
                    .issued_certificate(issuer, &hex::encode_upper(&e.serial))
                    .ok()?;
                (certificate.not_after < p.this_update).then_some(certificate)
            })
            .collect();
        Ok(Planned {
            previous,
            revoked,
            expired,
        })
    }

    /// The time the CRL is signed at, its thisUpdate: now, in whole
    /// seconds, but after the previous CRL's thisUpdate (RFC 5280 5.1.2.4).
    /// A CRL made within two seconds of its previous (a rehearsal runs its
    /// ceremonies one after the other) waits for the clock to pass it; a
    /// previous CRL further ahead is `prepare`'s to refuse.
    pub(crate) fn signing_time(&self) -> DateTime<Utc> {
        let now = Utc::now().trunc_subsecs(0);
        let Some(previous) = &self.previous else {
            return now;
        };
        let earliest = previous.this_update + TimeDelta::seconds(1);
        if now >= earliest || earliest - now > TimeDelta::seconds(2) {
            return now;
        }
        std::thread::sleep((earliest - Utc::now()).to_std().unwrap_or_default());
        Utc::now().trunc_subsecs(0).max(earliest)
    }

    /// The request, thisUpdate at `this_update`.
    fn request(&self, spec: &CrlSpec, this_update: DateTime<Utc>) -> CrlRequest {
        CrlRequest {
            number: CrlNumber::new(spec.number),
            this_update,
            next_update: this_update + TimeDelta::days(i64::from(spec.next_update_days)),
            distribution_point: spec.distribution_point.clone(),
            revoked: self
                .revoked
                .iter()
                .map(|r| Revocation {
                    certificate: r.certificate.clone(),
                    revocation_date: r.revoked_at.unwrap_or(this_update),
                    reason: r.reason,
                })
                .collect(),
            expired: self.expired.clone(),
        }
    }

    /// The TBSCertList signed at `signing_time` (its thisUpdate), checked
    /// against the root and the previous CRL, and linted against the policy;
    /// refused on any error.
    pub(crate) fn prepare(
        &self,
        spec: &CrlSpec,
        issuer: &Issuer,
        policy: &Policy,
        signing_time: DateTime<Utc>,
    ) -> Result<(PreparedCrl, Vec<Finding>), EngineError> {
        let request = self.request(spec, signing_time);
        let prepared = x509::prepare_crl(&request, issuer, self.previous.as_ref(), signing_time)
            .map_err(|e| refused(spec, e))?;
        let findings = lint_crl_tbs(prepared.tbs_der(), issuer, policy);
        if keyceremony_policy::has_errors(&findings) {
            let all: Vec<String> = findings.iter().map(ToString::to_string).collect();
            return Err(refused(
                spec,
                format!(
                    "the CRL breaks the profile or the policy: {}",
                    all.join("; ")
                ),
            ));
        }
        Ok((prepared, findings))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{SubsecRound, TimeDelta, Utc};
    use keyceremony_x509::{CrlFacts, CrlNumber};

    use super::Planned;

    fn after(this_update: chrono::DateTime<Utc>) -> Planned {
        Planned {
            previous: Some(CrlFacts {
                issuer_der: Vec::new(),
                issuer: String::new(),
                this_update,
                next_update: this_update + TimeDelta::days(180),
                number: CrlNumber::new(1),
                authority_key_identifier: Vec::new(),
                issuing_distribution_point: Default::default(),
                issuing_distribution_point_der: Vec::new(),
                entries: Vec::new(),
                sha256: None,
            }),
            revoked: Vec::new(),
            expired: Vec::new(),
        }
    }

    /// A rehearsal signs its next CRL within the second it signed the
    /// previous one: the next waits for the clock instead of being refused
    /// for a thisUpdate that is not later.
    #[test]
    fn a_crl_made_in_the_second_of_its_previous_is_signed_after_it() {
        let now = Utc::now().trunc_subsecs(0);
        assert!(after(now).signing_time() > now);
        // A previous CRL well ahead of the clock is not waited for.
        let ahead = now + TimeDelta::hours(1);
        assert!(after(ahead).signing_time() < ahead);
    }
}
