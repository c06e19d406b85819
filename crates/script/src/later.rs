//! The root's later ceremonies (`hsm.initialize = false`): the root key the
//! key generation ceremony left on the token, and what it signs then —
//! subordinate CA certificates and the root's CRL. Every file they read is
//! an input named relative to the inputs folder (`run --inputs`, by default
//! the script's folder); the tool copies each into the output folder, so the
//! auditor checks everything from that folder.

use std::path::PathBuf;

use serde::Deserialize;

use crate::model::SubjectName;

/// The root key on the token, and its certificate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootSpec {
    /// CKA_LABEL of the root key pair on the token: the `keys.label` of the
    /// key generation ceremony (`activation.shares-from`).
    pub key: String,
    /// The root certificate that ceremony wrote (`certs/<label>.pem` or
    /// `.der`), relative to the inputs folder.
    pub certificate: PathBuf,
    /// Its SHA-256, upper-case hex, as the key generation ceremony's record
    /// gives it; the inventory's record is checked in any case.
    #[serde(default)]
    pub certificate_sha256: Option<String>,
}

/// A root key's backup restored onto the new token of a ceremony that
/// initialises it (CPS 6.2.4): the backup custodians rebuild the wrap key,
/// and the restored key must prove itself the root certificate's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreSpec {
    /// CKA_LABEL of the restored key pair: the original's label.
    pub key: String,
    /// The root certificate, relative to the inputs folder.
    pub certificate: PathBuf,
    /// The wrapped key as the backup-key step wrote it
    /// (`backups/<label>.wrapped`), relative to the inputs folder.
    pub backup: PathBuf,
    /// Its SHA-256, upper-case hex, as the backup ceremony recorded it.
    #[serde(default)]
    pub backup_sha256: Option<String>,
    /// The id of the ceremony that made the backup, whose wrap-key shares
    /// the backup custodians bring.
    pub shares_from: String,
}

/// A subordinate CA certificate the root signs (BR 7.1.2.6, CPS 6.3.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubordinateSpec {
    /// Names the output files (`certs/<id>.pem`, `.der`).
    pub id: String,
    /// The subordinate CA's PKCS#10 request, relative to the inputs folder:
    /// its self-signature proves possession of the key, and only its public
    /// key is taken.
    #[serde(default)]
    pub csr: Option<PathBuf>,
    /// Or its bare public key (PEM `PUBLIC KEY` or DER), without a proof of
    /// possession.
    #[serde(default)]
    pub public_key: Option<PathBuf>,
    /// SHA-256 of that file, upper-case hex, as the subordinate CA handed it
    /// over; another file is refused.
    #[serde(default)]
    pub input_sha256: Option<String>,
    /// The subject certified: the script's, compared with the CSR's.
    pub subject: SubjectName,
    /// Days of 86,400 s from notBefore through notAfter: within the root's
    /// validity and the policy's `[subordinate]` limit.
    pub validity_days: u32,
    /// basicConstraints pathLenConstraint; 0 for a CA that issues only
    /// end-entity certificates.
    #[serde(default)]
    pub path_len_constraint: Option<u8>,
    /// Adds id-kp-clientAuth after id-kp-serverAuth.
    #[serde(default)]
    pub client_auth: bool,
    /// Adds digitalSignature to keyUsage, for a CA that signs its own OCSP
    /// responses.
    #[serde(default)]
    pub digital_signature: bool,
    /// certificatePolicies, dotted: one CA/Browser Forum reserved identifier
    /// first, then the CPS's (BR 7.1.2.10.5).
    pub policies: Vec<String>,
    /// The HTTP URL of the root's CRL (cRLDistributionPoints).
    pub crl_url: String,
    /// The HTTP URL of the root certificate (authorityInfoAccess caIssuers).
    #[serde(default)]
    pub ca_issuers_url: Option<String>,
    /// The HTTP URL of the root's OCSP responder, if it runs one.
    #[serde(default)]
    pub ocsp_url: Option<String>,
}

/// The key file of a certificate for someone else's key: its CSR, or its
/// public key; None unless exactly one is named.
fn key_input<'a>(
    csr: &'a Option<PathBuf>,
    public_key: &'a Option<PathBuf>,
) -> Option<(&'a PathBuf, bool)> {
    match (csr, public_key) {
        (Some(csr), None) => Some((csr, true)),
        (None, Some(key)) => Some((key, false)),
        _ => None,
    }
}

impl SubordinateSpec {
    /// The input file and whether it is a CSR.
    pub fn input(&self) -> Option<(&PathBuf, bool)> {
        key_input(&self.csr, &self.public_key)
    }
}

/// A cross-certificate the root signs for an existing CA certificate (BR
/// 7.1.2.2; CPS 6.1.7): the existing certificate's subject (byte for byte),
/// key, subjectKeyIdentifier and pathLenConstraint are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossSpec {
    /// Names the output files (`certs/<id>.pem`, `.der`).
    pub id: String,
    /// The existing CA certificate, PEM or DER, relative to the inputs folder.
    pub existing: PathBuf,
    /// Its SHA-256, upper-case hex, as it was handed over; another file is
    /// refused.
    #[serde(default)]
    pub input_sha256: Option<String>,
    /// Days of 86,400 s from notBefore (the signing time, and not before the
    /// existing certificate's) through notAfter: within the root's validity
    /// and the policy's `[subordinate]` limit.
    pub validity_days: u32,
    /// For an existing certificate without extKeyUsage (a root): add
    /// id-kp-clientAuth after id-kp-serverAuth.
    #[serde(default)]
    pub client_auth: bool,
    /// certificatePolicies, dotted: one reserved identifier first.
    pub policies: Vec<String>,
    /// The HTTP URL of the root's CRL.
    pub crl_url: String,
    /// The HTTP URL of the root certificate (caIssuers).
    #[serde(default)]
    pub ca_issuers_url: Option<String>,
    /// The HTTP URL of the root's OCSP responder, if it runs one.
    #[serde(default)]
    pub ocsp_url: Option<String>,
}

/// A delegated OCSP responder's certificate for the root (BR 7.1.2.8; CPS
/// 6.3.2: 125 days at most): digitalSignature, id-kp-OCSPSigning and
/// id-pkix-ocsp-nocheck only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspResponderSpec {
    /// Names the output files (`certs/<id>.pem`, `.der`).
    pub id: String,
    /// The responder's PKCS#10 request, relative to the inputs folder.
    #[serde(default)]
    pub csr: Option<PathBuf>,
    /// Or its bare public key.
    #[serde(default)]
    pub public_key: Option<PathBuf>,
    /// SHA-256 of that file, upper-case hex.
    #[serde(default)]
    pub input_sha256: Option<String>,
    /// The responder's subject: the script's, compared with the CSR's.
    pub subject: SubjectName,
    /// Days of 86,400 s: at most the policy's `[ocsp_responder]` limit.
    pub validity_days: u32,
}

impl OcspResponderSpec {
    /// The input file and whether it is a CSR.
    pub fn input(&self) -> Option<(&PathBuf, bool)> {
        key_input(&self.csr, &self.public_key)
    }
}

/// A CRL the root signs (BR 4.9.7, 7.2): thisUpdate is the signing time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlSpec {
    /// Names the output files (`crls/<id>.crl`, `.crl.pem`).
    pub id: String,
    /// cRLNumber: greater than the previous CRL's.
    pub number: u64,
    /// nextUpdate, in days of 86,400 s after thisUpdate: at most the
    /// policy's `[crl]` limit (12 months), within the root's validity.
    pub next_update_days: u32,
    /// The root's last CRL, relative to the inputs folder: verified against
    /// the root, and the new CRL keeps its issuer, its Issuing Distribution
    /// Point and every unexpired entry. Needed once the records hold a CRL
    /// of this root.
    #[serde(default)]
    pub previous: Option<PathBuf>,
    /// The URL the CRL is published at, in the Issuing Distribution Point
    /// (the subordinates' cRLDistributionPoints); unchanged from CRL to CRL.
    #[serde(default)]
    pub distribution_point: Option<String>,
    /// The certificates it lists as revoked.
    #[serde(default)]
    pub revoked: Vec<RevokedSpec>,
}

/// One certificate a CRL revokes: one this root issued.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedSpec {
    /// Its serial number, hex as `openssl x509 -serial` prints it.
    pub serial: String,
    /// Its certificate, relative to the inputs folder; without it the
    /// records of what this root issued must hold the serial.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// The reason, as RFC 5280 names it, of those BR 7.2.2 allows:
    /// keyCompromise, affiliationChanged, superseded, cessationOfOperation,
    /// privilegeWithdrawn.
    pub reason: String,
    /// When it was revoked, RFC 3339 UTC; by default the CRL's thisUpdate.
    #[serde(default)]
    pub revoked_at: Option<String>,
}
