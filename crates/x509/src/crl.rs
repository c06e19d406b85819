//! The root's CRL (an ARL: it lists CA certificates only), RFC 5280 5 and BR 7.2, built as
//! the certificates are: the TBSCertList built with x509-cert, read back with this crate's
//! parser ([`crate::inspect_crl_tbs`]), signed by the HSM, assembled, and checked in software
//! ([`crate::verify_crl`]).
//!
//! What boulder's `crl` ceremony leaves out is checked here (boulder issue 7062): a revoked
//! certificate must be one this root issued; the previous CRL, verified against the root, is
//! an input, and the new CRL has the same issuer and Issuing Distribution Point, a greater
//! number, a later thisUpdate, and every entry of the previous one unless the certificate
//! had expired before the previous CRL was issued (BR 7.2: an entry is kept until it has
//! appeared on one CRL beyond the certificate's validity).

use std::fmt;

use chrono::{DateTime, Utc};
use der::{
    Decode, Encode,
    asn1::{Uint, UintRef},
};
use x509_cert::{
    Version,
    crl::{CertificateList, RevokedCert, TbsCertList},
    ext::{
        Extension,
        pkix::{CrlNumber as CrlNumberExtension, CrlReason},
    },
    name::Name,
    serial_number::SerialNumber,
};

use crate::{
    algorithm::SignatureAlgorithm,
    cert_facts::read_certificate,
    crl_read::{CrlFacts, CrlNumber, DOCUMENT, check_update_times, inspect_crl_tbs},
    error::{Result, X509Error},
    ext_build,
    ext_read::oid,
    issuance::{certificate_time, rfc3339, signature_value, whole_seconds},
    issuer::Issuer,
    verify::verify_signature_bytes,
};

/// The reasons a root CRL entry may give (BR 7.2.2, CRLReasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// keyCompromise (1): the CA's private key is known or suspected to be compromised.
    KeyCompromise,
    /// affiliationChanged (3): the subject's name or identity information changed.
    AffiliationChanged,
    /// superseded (4): the certificate is replaced, or revoked for compliance reasons.
    Superseded,
    /// cessationOfOperation (5): the CA stopped operating before the certificate expired.
    CessationOfOperation,
    /// privilegeWithdrawn (9): an infraction that is not a key compromise.
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// Every reason, in CRLReason order.
    pub const ALL: [RevocationReason; 5] = [
        Self::KeyCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::PrivilegeWithdrawn,
    ];

    /// The CRLReason value (RFC 5280 5.3.1).
    pub fn code(self) -> u8 {
        match self {
            Self::KeyCompromise => 1,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::PrivilegeWithdrawn => 9,
        }
    }

    /// The reason with this CRLReason value, if a root CRL may give it.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason of this RFC 5280 name (`keyCompromise`, ...), if a root CRL may give it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.to_string() == name)
    }

    fn crl_reason(self) -> CrlReason {
        match self {
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        }
    }
}

/// The RFC 5280 names.
impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeyCompromise => "keyCompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
        })
    }
}

/// A certificate the root issued, as far as its CRL needs to know it: from the certificate
/// itself ([`IssuedCertificate::from_certificate`], its signature checked with the root's
/// key) or from the CA's records (the inventory), filled in by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The serialNumber INTEGER's value, big-endian, without leading zeros.
    pub serial: Vec<u8>,
    /// The issuer Name, DER.
    pub issuer_der: Vec<u8>,
    /// The authorityKeyIdentifier's keyIdentifier.
    pub authority_key_identifier: Vec<u8>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// Whether it is a CA certificate (basicConstraints cA).
    pub is_ca: bool,
    /// Its subject, RFC 4514, for messages.
    pub subject: String,
}

impl IssuedCertificate {
    /// A certificate `issuer` signed: its signature verifies with the root's key, and its
    /// issuer and authorityKeyIdentifier are the root's.
    pub fn from_certificate(cert_der: &[u8], issuer: &Issuer) -> Result<Self> {
        let read = read_certificate(cert_der)?;
        let (facts, tbs, signature) = (read.facts, read.tbs_der, read.signature);
        let not_ours = |detail: &str| {
            X509Error::profile(
                DOCUMENT,
                "BR 7.2",
                "revoked certificate issued by this root",
                format!("{}: {detail}", facts.subject),
            )
        };
        let signature = signature.ok_or_else(|| not_ours("its signature has unused bits"))?;
        verify_signature_bytes(
            issuer.signature_algorithm(),
            issuer.spki_der(),
            &tbs,
            &signature,
        )
        .map_err(|_| not_ours("its signature does not verify with the root's key"))?;
        let (key_id, _) = facts.authority_key_identifier.clone().unwrap_or_default();
        Ok(Self {
            serial: facts.serial.clone(),
            issuer_der: facts.issuer_der.clone(),
            authority_key_identifier: key_id.unwrap_or_default(),
            not_after: facts.not_after,
            is_ca: facts.is_ca(),
            subject: facts.subject,
        })
    }
}

/// One certificate to list as revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The revoked certificate.
    pub certificate: IssuedCertificate,
    /// When it was revoked (revocationDate), at or before thisUpdate.
    pub revocation_date: DateTime<Utc>,
    /// Why (reasonCode, BR 7.2.2).
    pub reason: RevocationReason,
}

/// What the ceremony script asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlRequest {
    /// cRLNumber: greater than the previous CRL's.
    pub number: CrlNumber,
    /// thisUpdate, within one day before the signing time.
    pub this_update: DateTime<Utc>,
    /// nextUpdate, at most 365 days after thisUpdate (BR 4.9.7, 7.2: 12 months) and within
    /// the root's validity. Shipped scripts stay well inside that.
    pub next_update: DateTime<Utc>,
    /// The HTTP URL the CRL is published at, as the fullName of the Issuing Distribution
    /// Point: the URL the subordinate certificates' cRLDistributionPoints name (BR 7.2.2.1).
    /// None writes an Issuing Distribution Point with onlyContainsCACerts alone, as boulder
    /// does; the choice must stay the same from one CRL to the next.
    pub distribution_point: Option<String>,
    /// The certificates to list, each this root's CA certificate.
    pub revoked: Vec<Revocation>,
    /// Certificates whose entries in the previous CRL are left out because they had expired
    /// before the previous CRL's thisUpdate.
    pub expired: Vec<IssuedCertificate>,
}

/// A checked TBSCertList waiting for the HSM's signature.
pub struct PreparedCrl {
    algorithm: SignatureAlgorithm,
    tbs_list: TbsCertList,
    tbs: Vec<u8>,
    facts: CrlFacts,
}

impl fmt::Debug for PreparedCrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCrl")
            .field("number", &self.facts.number.to_string())
            .field("tbs", &hex::encode_upper(&self.tbs))
            .finish_non_exhaustive()
    }
}

impl PreparedCrl {
    /// The DER TBSCertList for the HSM to sign with the root's key (as a certificate's TBS).
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    /// What the CRL will say.
    pub fn facts(&self) -> &CrlFacts {
        &self.facts
    }

    /// The signature algorithm the HSM must use: the root's.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The CRL DER from the HSM's raw signature over [`Self::tbs_der`] (RSA: 512 bytes;
    /// P-384: r||s, 96 bytes). Not checked here: run [`crate::verify_crl`] on the result.
    pub fn assemble(self, raw_signature: &[u8]) -> Result<Vec<u8>> {
        let algorithm = self.algorithm;
        let signature_algorithm = self.tbs_list.signature.clone();
        let list = CertificateList {
            tbs_cert_list: self.tbs_list,
            signature_algorithm,
            signature: signature_value(algorithm, raw_signature)?,
        };
        let der = list.to_der().map_err(|e| X509Error::Build(e.to_string()))?;
        let again = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der)
            .and_then(|l| l.tbs_cert_list.to_der())
            .map_err(|e| X509Error::Build(e.to_string()))?;
        if again != self.tbs {
            return Err(X509Error::Build(
                "the assembled CRL does not contain the TBS that was signed".into(),
            ));
        }
        Ok(der)
    }
}

fn refuse<T>(section: &'static str, check: &'static str, detail: impl Into<String>) -> Result<T> {
    Err(X509Error::profile(DOCUMENT, section, check, detail))
}

fn build_error(e: impl fmt::Display) -> X509Error {
    X509Error::Build(e.to_string())
}

/// Refuses a revocation of a certificate this root did not issue (BR 7.2: no indirect
/// CRLs), of one that is not a CA certificate (the CRL says onlyContainsCACerts), or one
/// revoked after thisUpdate.
fn check_revocation(
    revocation: &Revocation,
    issuer: &Issuer,
    this_update: DateTime<Utc>,
) -> Result<()> {
    let certificate = &revocation.certificate;
    if certificate.issuer_der != issuer.subject_der()
        || certificate.authority_key_identifier != issuer.subject_key_identifier()
    {
        return refuse(
            "BR 7.2",
            "revoked certificate issued by this root",
            format!(
                "{} (serial {}) was not issued by this root ({}): a CRL lists only its issuer's \
                 certificates",
                certificate.subject,
                hex::encode_upper(&certificate.serial),
                issuer.subject()
            ),
        );
    }
    if !certificate.is_ca {
        return refuse(
            "RFC 5280 5.2.5",
            "onlyContainsCACerts",
            format!("{} is not a CA certificate", certificate.subject),
        );
    }
    if revocation.revocation_date > this_update {
        return refuse(
            "RFC 5280 5.1.2.6",
            "revocationDate",
            format!(
                "the revocation of {} is dated after thisUpdate",
                certificate.subject
            ),
        );
    }
    Ok(())
}

/// Builds and checks the TBSCertList of the root's next CRL. `previous` is the last CRL this
/// root published, verified with [`crate::verify_crl`] (None for its first CRL). Checked:
/// thisUpdate within one day before `signing_time`; nextUpdate after it, at most 365 days
/// later and within the root's validity; every revoked certificate this root's CA
/// certificate, once; against `previous`: the same issuer and Issuing Distribution Point, a
/// greater number, a later thisUpdate, and every entry kept unless
/// [`CrlRequest::expired`] shows its certificate expired before the previous thisUpdate.
/// Entries are written in serial-number order with a non-critical reasonCode; an empty list
/// leaves revokedCertificates out (RFC 5280 5.1.2.6).
pub fn prepare_crl(
    req: &CrlRequest,
    issuer: &Issuer,
    previous: Option<&CrlFacts>,
    signing_time: DateTime<Utc>,
) -> Result<PreparedCrl> {
    let this_update = crate::issuance::not_before_in_window(req.this_update, signing_time)
        .map_err(|_| {
            X509Error::profile(
                DOCUMENT,
                "BR 7.2",
                "thisUpdate",
                format!(
                    "thisUpdate {} must lie within one day before the signing time {}",
                    rfc3339(req.this_update),
                    rfc3339(signing_time)
                ),
            )
        })?;
    let next_update = whole_seconds(req.next_update, "nextUpdate")?;
    check_update_times(this_update, next_update, issuer)?;

    let mut revoked = req.revoked.clone();
    // Serial numbers without leading zeros: the shorter is the smaller.
    revoked.sort_by(|a, b| {
        let (a, b) = (&a.certificate.serial, &b.certificate.serial);
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    });
    for (i, revocation) in revoked.iter().enumerate() {
        check_revocation(revocation, issuer, this_update)?;
        if revoked[..i]
            .iter()
            .any(|r| r.certificate.serial == revocation.certificate.serial)
        {
            return refuse(
                "RFC 5280 5.1.2.6",
                "revokedCertificates",
                format!("{} is listed twice", revocation.certificate.subject),
            );
        }
    }

    let mut extensions = vec![
        ext_build::authority_key_identifier(issuer.subject_key_identifier())?,
        crl_number_extension(&req.number)?,
    ];
    extensions.push(ext_build::issuing_distribution_point(
        req.distribution_point.as_deref(),
    )?);
    let entries = revoked
        .iter()
        .map(|r| {
            Ok(RevokedCert {
                serial_number: SerialNumber::new(&r.certificate.serial).map_err(build_error)?,
                revocation_date: certificate_time(
                    whole_seconds(r.revocation_date, "revocationDate")?,
                    "revocationDate",
                )?,
                crl_entry_extensions: Some(vec![reason_extension(r.reason)?]),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let tbs_list = TbsCertList {
        version: Version::V2,
        signature: issuer.signature_algorithm().algorithm_identifier(),
        issuer: Name::from_der(issuer.subject_der()).map_err(build_error)?,
        this_update: certificate_time(this_update, "thisUpdate")?,
        next_update: Some(certificate_time(next_update, "nextUpdate")?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(extensions),
    };
    let tbs = tbs_list.to_der().map_err(build_error)?;
    let facts =
        inspect_crl_tbs(&tbs, issuer).map_err(|e| X509Error::ProfileMismatch(e.to_string()))?;
    if facts.number != req.number
        || facts.this_update != this_update
        || facts.next_update != next_update
    {
        return Err(X509Error::ProfileMismatch(
            "the CRL's number or dates differ from the request".into(),
        ));
    }
    if let Some(previous) = previous {
        check_successor(previous, &facts, &req.expired)?;
    }
    Ok(PreparedCrl {
        algorithm: issuer.signature_algorithm(),
        tbs_list,
        tbs,
        facts,
    })
}

fn crl_number_extension(number: &CrlNumber) -> Result<Extension> {
    let value = CrlNumberExtension(Uint::new(number.as_be_bytes()).map_err(build_error)?);
    Ok(Extension {
        extn_id: oid::CRL_NUMBER,
        critical: false,
        extn_value: der::asn1::OctetString::new(value.to_der().map_err(build_error)?)
            .map_err(build_error)?,
    })
}

fn reason_extension(reason: RevocationReason) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid::REASON_CODE,
        critical: false,
        extn_value: der::asn1::OctetString::new(reason.crl_reason().to_der().map_err(build_error)?)
            .map_err(build_error)?,
    })
}

/// The new CRL against the previous one (see [`prepare_crl`]).
pub fn check_successor(
    previous: &CrlFacts,
    next: &CrlFacts,
    expired: &[IssuedCertificate],
) -> Result<()> {
    if next.issuer_der != previous.issuer_der {
        return refuse(
            "BR 7.2",
            "same issuer",
            "the previous CRL has another issuer",
        );
    }
    if next.issuing_distribution_point_der != previous.issuing_distribution_point_der {
        return refuse(
            "BR 7.2.2.1",
            "issuingDistributionPoint unchanged",
            "the Issuing Distribution Point differs from the previous CRL's: the CRL's scope \
             and URL must stay the same",
        );
    }
    if next.number <= previous.number {
        return refuse(
            "BR 7.2.2, RFC 5280 5.2.3",
            "cRLNumber greater than the previous",
            format!(
                "CRL number {} is not greater than the previous CRL's {}",
                next.number, previous.number
            ),
        );
    }
    if next.this_update <= previous.this_update {
        return refuse(
            "RFC 5280 5.1.2.4",
            "thisUpdate after the previous",
            format!(
                "thisUpdate {} is not after the previous CRL's {}",
                rfc3339(next.this_update),
                rfc3339(previous.this_update)
            ),
        );
    }
    for entry in &previous.entries {
        if next.entries.iter().any(|e| e.serial == entry.serial) {
            continue;
        }
        let expired_before = expired
            .iter()
            .find(|c| c.serial == entry.serial)
            .is_some_and(|c| c.not_after < previous.this_update);
        if !expired_before {
            return refuse(
                "BR 7.2",
                "no unexpired entry dropped",
                format!(
                    "the previous CRL revokes serial {} but this one does not: an entry stays \
                     until it has appeared on a CRL after the certificate expired",
                    hex::encode_upper(&entry.serial)
                ),
            );
        }
    }
    Ok(())
}

/// Parses a serial number given as hex (as the log and `openssl` print it) into the
/// INTEGER's value without leading zeros.
pub fn serial_from_hex(hex_serial: &str) -> Result<Vec<u8>> {
    let bytes = hex::decode(hex_serial.trim())
        .map_err(|e| X509Error::InvalidSerial(format!("{hex_serial:?} is not hex: {e}")))?;
    let value = UintRef::new(&bytes).map_err(|e| X509Error::InvalidSerial(e.to_string()))?;
    Ok(value.as_bytes().to_vec())
}
