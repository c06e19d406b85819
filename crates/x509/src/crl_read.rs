//! A root CRL (ARL) read with plain `der` and held to the profile this tool builds: RFC 5280
//! 5 and BR 7.2 (v2, the root as issuer byte for byte, nextUpdate at most 12 months after
//! thisUpdate and within the root's validity, authorityKeyIdentifier, cRLNumber, a critical
//! Issuing Distribution Point with onlyContainsCACerts, a BR 7.2.2 reasonCode on every entry).
//! [`verify_crl`] checks a signed CRL, the one just made or a previous one given as input,
//! against the root's key.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use der::{
    Sequence,
    asn1::{AnyRef, UintRef},
};
use num_bigint::BigUint;
use sha2::{Digest, Sha256};

use crate::{
    der_read::{
        RawCertificate, RawExtension, RawTime, decode_canonical, raw_der, render_name,
        time_to_chrono,
    },
    error::{Result, X509Error},
    ext_read::{self, IssuingDistributionPointFacts, oid},
    issuance::rfc3339,
    issuer::Issuer,
    verify::verify_signature_bytes,
};

pub(crate) const DOCUMENT: &str = "CRL";
/// BR 4.9.7 and 7.2: a CRL of a CA that issues CA certificates has a nextUpdate at most 12
/// months after its thisUpdate; 365 days is within 12 months whatever the year.
pub const MAX_CRL_VALIDITY_DAYS: i64 = 365;
/// BR 7.2.2: cRLNumber is below 2^159.
const MAX_CRL_NUMBER_BITS: u64 = 159;
/// CRL version v2 is encoded as 1.
const VERSION_2: u8 = 1;

/// TBSCertList (RFC 5280 5.1).
#[derive(Sequence)]
struct RawTbsCrl<'a> {
    version: Option<u8>,
    signature: AnyRef<'a>,
    issuer: AnyRef<'a>,
    this_update: RawTime,
    next_update: Option<RawTime>,
    revoked_certificates: Option<Vec<RawRevoked<'a>>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    crl_extensions: Option<Vec<RawExtension<'a>>>,
}

#[derive(Sequence)]
struct RawRevoked<'a> {
    user_certificate: UintRef<'a>,
    revocation_date: RawTime,
    crl_entry_extensions: Option<Vec<RawExtension<'a>>>,
}

/// A CRL number (RFC 5280 5.2.3): a non-negative INTEGER, compared by value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CrlNumber(Vec<u8>);

impl CrlNumber {
    /// The number `value`.
    pub fn new(value: u64) -> Self {
        Self::from_be_bytes(&value.to_be_bytes())
    }

    /// The number whose big-endian unsigned bytes are `bytes`.
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        Self(BigUint::from_bytes_be(bytes).to_bytes_be())
    }

    /// This number plus one: the number of the CRL that follows.
    pub fn next(&self) -> Self {
        Self((BigUint::from_bytes_be(&self.0) + 1u8).to_bytes_be())
    }

    /// The big-endian unsigned bytes, without leading zeros (a single 0 for zero).
    pub fn as_be_bytes(&self) -> &[u8] {
        &self.0
    }

    fn value(&self) -> BigUint {
        BigUint::from_bytes_be(&self.0)
    }
}

impl Ord for CrlNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value().cmp(&other.value())
    }
}

impl PartialOrd for CrlNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Decimal, as OpenSSL prints a CRL number.
impl fmt::Display for CrlNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value())
    }
}

/// One revokedCertificates entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// userCertificate: the revoked certificate's serial number, without leading zeros.
    pub serial: Vec<u8>,
    /// revocationDate.
    pub revocation_date: DateTime<Utc>,
    /// The reasonCode's CRLReason value.
    pub reason_code: u8,
}

/// What a CRL that passed the profile checks says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlFacts {
    /// The issuer Name, DER: the root's subject.
    pub issuer_der: Vec<u8>,
    /// The issuer, RFC 4514.
    pub issuer: String,
    /// thisUpdate.
    pub this_update: DateTime<Utc>,
    /// nextUpdate.
    pub next_update: DateTime<Utc>,
    /// cRLNumber.
    pub number: CrlNumber,
    /// The authorityKeyIdentifier's keyIdentifier: the root's subjectKeyIdentifier.
    pub authority_key_identifier: Vec<u8>,
    /// The Issuing Distribution Point.
    pub issuing_distribution_point: IssuingDistributionPointFacts,
    /// The Issuing Distribution Point's extnValue, DER, to compare with the next CRL's.
    pub issuing_distribution_point_der: Vec<u8>,
    /// The revoked certificates, in order.
    pub entries: Vec<CrlEntry>,
    /// SHA-256 of the CRL DER, when the facts come from a signed CRL.
    pub sha256: Option<[u8; 32]>,
}

/// The BR 7.2.2 reason codes a root CRL may carry (the CRLReasons table): keyCompromise,
/// affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn. unspecified is
/// left out because it is the omission of reasonCode, which BR 7.2.2 allows only for
/// certificates not technically capable of causing issuance; a root CRL lists CA
/// certificates only. certificateHold is forbidden.
pub(crate) const ALLOWED_REASON_CODES: [u8; 5] = [1, 3, 4, 5, 9];

fn refuse<T>(section: &'static str, check: &'static str, detail: impl Into<String>) -> Result<T> {
    Err(X509Error::profile(DOCUMENT, section, check, detail))
}

/// Reads a DER TBSCertList and checks it is the profile this tool builds, for `issuer`.
pub fn inspect_crl_tbs(tbs_der: &[u8], issuer: &Issuer) -> Result<CrlFacts> {
    let tbs: RawTbsCrl<'_> = decode_canonical(tbs_der, "the tbsCertList")?;
    if tbs.version != Some(VERSION_2) {
        return refuse("BR 7.2.1", "version", "a CRL is v2 (1)");
    }
    let signature = raw_der(tbs.signature, "the CRL signature AlgorithmIdentifier")?;
    if signature != issuer.signature_algorithm().required_der() {
        return refuse(
            "BR 7.1.3.2",
            "signature",
            format!(
                "the signature AlgorithmIdentifier must be the root's {}",
                issuer.signature_algorithm()
            ),
        );
    }
    let issuer_der = raw_der(tbs.issuer, "the CRL issuer")?;
    if issuer_der != issuer.subject_der() {
        return refuse(
            "BR 7.2",
            "issuer",
            format!(
                "the issuer {} is not byte for byte the root's subject {}",
                render_name(&issuer_der, "the CRL issuer")?,
                issuer.subject()
            ),
        );
    }
    let this_update = time_to_chrono(tbs.this_update, "thisUpdate")?;
    let Some(next_update) = tbs.next_update else {
        return refuse("BR 7.2", "nextUpdate", "nextUpdate is missing");
    };
    let next_update = time_to_chrono(next_update, "nextUpdate")?;
    check_update_times(this_update, next_update, issuer)?;

    let mut facts = CrlFacts {
        issuer: render_name(&issuer_der, "the CRL issuer")?,
        issuer_der,
        this_update,
        next_update,
        number: CrlNumber::new(0),
        authority_key_identifier: Vec::new(),
        issuing_distribution_point: IssuingDistributionPointFacts::default(),
        issuing_distribution_point_der: Vec::new(),
        entries: Vec::new(),
        sha256: None,
    };
    read_crl_extensions(&tbs.crl_extensions.unwrap_or_default(), issuer, &mut facts)?;

    let revoked = match tbs.revoked_certificates {
        Some(revoked) if revoked.is_empty() => {
            return refuse(
                "RFC 5280 5.1.2.6",
                "revokedCertificates",
                "an empty revokedCertificates must be absent",
            );
        }
        revoked => revoked.unwrap_or_default(),
    };
    for entry in revoked {
        let entry = read_entry(entry)?;
        if facts.entries.iter().any(|e| e.serial == entry.serial) {
            return refuse(
                "RFC 5280 5.1.2.6",
                "revokedCertificates",
                format!(
                    "serial number {} is listed twice",
                    hex::encode_upper(&entry.serial)
                ),
            );
        }
        if entry.revocation_date > this_update {
            return refuse(
                "RFC 5280 5.1.2.6",
                "revocationDate",
                format!(
                    "the revocation of {} on {} is after thisUpdate",
                    hex::encode_upper(&entry.serial),
                    rfc3339(entry.revocation_date)
                ),
            );
        }
        facts.entries.push(entry);
    }
    Ok(facts)
}

/// nextUpdate after thisUpdate and at most [`MAX_CRL_VALIDITY_DAYS`] later (BR 4.9.7, 7.2),
/// both within the root's validity.
pub(crate) fn check_update_times(
    this_update: DateTime<Utc>,
    next_update: DateTime<Utc>,
    issuer: &Issuer,
) -> Result<()> {
    if next_update <= this_update {
        return refuse(
            "RFC 5280 5.1.2.5",
            "nextUpdate",
            format!(
                "nextUpdate {} is not after thisUpdate {}",
                rfc3339(next_update),
                rfc3339(this_update)
            ),
        );
    }
    if next_update - this_update > TimeDelta::days(MAX_CRL_VALIDITY_DAYS) {
        return refuse(
            "BR 4.9.7, 7.2",
            "nextUpdate",
            format!(
                "nextUpdate {} is more than {MAX_CRL_VALIDITY_DAYS} days (12 months) after \
                 thisUpdate {}: choose an earlier nextUpdate",
                rfc3339(next_update),
                rfc3339(this_update)
            ),
        );
    }
    if this_update < issuer.not_before() || next_update > issuer.not_after() {
        return refuse(
            "RFC 5280 6.3.3, BR 7.2",
            "validity within the issuer's",
            format!(
                "thisUpdate {} to nextUpdate {} is not within the root's validity, {} to {}",
                rfc3339(this_update),
                rfc3339(next_update),
                rfc3339(issuer.not_before()),
                rfc3339(issuer.not_after())
            ),
        );
    }
    Ok(())
}

/// Exactly authorityKeyIdentifier, cRLNumber and issuingDistributionPoint (BR 7.2.2).
fn read_crl_extensions(
    extensions: &[RawExtension<'_>],
    issuer: &Issuer,
    facts: &mut CrlFacts,
) -> Result<()> {
    let mut seen = Vec::new();
    for extension in extensions {
        if seen.contains(&extension.extn_id) {
            return refuse(
                "RFC 5280 5.2",
                "crlExtensions",
                format!("extension {} appears twice", extension.extn_id),
            );
        }
        seen.push(extension.extn_id);
        let value = extension.extn_value.as_bytes();
        match (extension.extn_id, extension.critical) {
            (oid::AUTHORITY_KEY_IDENTIFIER, false) => {
                match ext_read::authority_key_identifier(value)? {
                    (Some(key_id), false) if key_id == issuer.subject_key_identifier() => {
                        facts.authority_key_identifier = key_id;
                    }
                    _ => {
                        return refuse(
                            "BR 7.2.2, 7.1.2.11.1",
                            "authorityKeyIdentifier",
                            "only a keyIdentifier equal to the root's subjectKeyIdentifier",
                        );
                    }
                }
            }
            (oid::CRL_NUMBER, false) => {
                let number = CrlNumber::from_be_bytes(&ext_read::crl_number(value)?);
                if number.value().bits() > MAX_CRL_NUMBER_BITS {
                    return refuse("BR 7.2.2", "cRLNumber", "the CRL number is not below 2^159");
                }
                facts.number = number;
            }
            (oid::ISSUING_DISTRIBUTION_POINT, true) => {
                let idp = ext_read::issuing_distribution_point(value)?;
                let point_ok = idp.distribution_point.as_ref().is_none_or(|point| {
                    !point.other_names
                        && !point.uris.is_empty()
                        && point.uris.iter().all(|u| u.starts_with("http://"))
                });
                if !idp.only_ca_certs
                    || idp.only_user_certs
                    || idp.only_some_reasons
                    || idp.indirect_crl
                    || idp.only_attribute_certs
                    || !point_ok
                {
                    return refuse(
                        "BR 7.2.2.1, RFC 5280 5.2.5",
                        "issuingDistributionPoint",
                        "onlyContainsCACerts alone, with at most a fullName of http:// URIs",
                    );
                }
                facts.issuing_distribution_point = idp;
                facts.issuing_distribution_point_der = value.to_vec();
            }
            (oid, critical) => {
                return refuse(
                    "BR 7.2.2",
                    "crlExtensions",
                    format!(
                        "extension {oid} ({}) is not in the profile: authorityKeyIdentifier and \
                         cRLNumber non-critical, issuingDistributionPoint critical",
                        if critical { "critical" } else { "non-critical" }
                    ),
                );
            }
        }
    }
    for (oid, name) in [
        (oid::AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier"),
        (oid::CRL_NUMBER, "cRLNumber"),
        (oid::ISSUING_DISTRIBUTION_POINT, "issuingDistributionPoint"),
    ] {
        if !seen.contains(&oid) {
            return refuse("BR 7.2.2", "crlExtensions", format!("{name} is missing"));
        }
    }
    Ok(())
}

/// One entry: a non-critical reasonCode of the BR 7.2.2 list and no other entry extension.
fn read_entry(entry: RawRevoked<'_>) -> Result<CrlEntry> {
    let serial = entry.user_certificate.as_bytes().to_vec();
    let revocation_date = time_to_chrono(entry.revocation_date, "revocationDate")?;
    let extensions = entry.crl_entry_extensions.unwrap_or_default();
    let reason = match extensions.as_slice() {
        [only] if only.extn_id == oid::REASON_CODE && !only.critical => {
            ext_read::reason_code(only.extn_value.as_bytes())?
        }
        _ => {
            return refuse(
                "BR 7.2.2",
                "crlEntryExtensions",
                format!(
                    "the entry of {} must have exactly one non-critical reasonCode",
                    hex::encode_upper(&serial)
                ),
            );
        }
    };
    if !ALLOWED_REASON_CODES.contains(&reason) {
        return refuse(
            "BR 7.2.2",
            "reasonCode",
            format!(
                "reason code {reason} for {} is not one BR 7.2.2 allows a root CRL \
                 (keyCompromise 1, affiliationChanged 3, superseded 4, cessationOfOperation 5, \
                 privilegeWithdrawn 9)",
                hex::encode_upper(&serial)
            ),
        );
    }
    Ok(CrlEntry {
        serial,
        revocation_date,
        reason_code: reason,
    })
}

/// Checks a signed CRL in software: canonical DER with nothing after it; the outer
/// signatureAlgorithm the TBS's and the root's; the signature verified with the root's key;
/// the profile ([`inspect_crl_tbs`]).
pub fn verify_crl(crl_der: &[u8], issuer: &Issuer) -> Result<CrlFacts> {
    let crl: RawCertificate<'_> = decode_canonical(crl_der, "the CRL")?;
    let tbs = raw_der(crl.tbs_certificate, "the tbsCertList")?;
    let outer = raw_der(crl.signature_algorithm, "the CRL signatureAlgorithm")?;
    let mut facts = inspect_crl_tbs(&tbs, issuer)?;
    if outer != issuer.signature_algorithm().required_der() {
        return refuse(
            "BR 7.2",
            "signatureAlgorithm == tbsCertList.signature",
            "the outer signatureAlgorithm differs from the TBS's",
        );
    }
    let signature = crl.signature.as_bytes().ok_or_else(|| {
        X509Error::profile(
            DOCUMENT,
            "RFC 5280 5.1.1.3",
            "signatureValue",
            "unused bits",
        )
    })?;
    verify_signature_bytes(
        issuer.signature_algorithm(),
        issuer.spki_der(),
        &tbs,
        signature,
    )
    .map_err(|e| match e {
        X509Error::BadSignature { .. } => X509Error::profile(
            DOCUMENT,
            "RFC 5280 5.1.1.3",
            "signatureValue",
            "the signature does not verify with the root's key: this CRL is not the root's",
        ),
        other => other,
    })?;
    facts.sha256 = Some(Sha256::digest(crl_der).into());
    Ok(facts)
}
