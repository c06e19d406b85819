//! Errors of this crate: each says what is wrong and what to do about it.

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, X509Error>;

/// Everything that can go wrong while preparing, assembling or checking a root certificate.
#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    /// A subject attribute breaks RFC 5280 or BR 7.1.2.10.2 / 7.1.4.
    #[error("subject {attribute}: {problem}; correct it in the ceremony configuration")]
    InvalidName {
        /// The attribute at fault (`countryName`, `commonName`, ...).
        attribute: &'static str,
        /// What is wrong with it.
        problem: String,
    },

    /// The token's key is not one that CPS 6.1.5 allows for a root.
    #[error(
        "the token's key is {key}: CPS 6.1.5 allows only RSA-4096 (sha384WithRSAEncryption) \
         or ECC P-384 (ecdsa-with-SHA384); generate a conforming key"
    )]
    UnsupportedKey {
        /// The key found, e.g. `RSA-2048` or `ECC P-256`.
        key: String,
    },

    /// A key to certify for another party is not one this tool certifies.
    #[error(
        "the key to certify is {key}: keyceremony certifies RSA-2048, RSA-3072 or RSA-4096 \
         (BR 6.1.5, 7.1.3.1.1) or ECC P-384 (BR 7.1.3.1.2) keys; ask for a CSR with such a key"
    )]
    UnsupportedCertifiedKey {
        /// The key found.
        key: String,
    },

    /// The token's key fails a CPS 6.1.6 check.
    #[error(
        "the {key} public key fails {section} ({check}): {problem}; do not use this key",
        section = check.section()
    )]
    WeakKey {
        /// `RSA` or `ECC P-384`.
        key: &'static str,
        /// The check that failed.
        check: crate::KeyCheck,
        /// What was found.
        problem: String,
    },

    /// The subjectPublicKeyInfo read from the token cannot be used as it is.
    #[error(
        "the subjectPublicKeyInfo read from the token is unusable: {0}; read it again from the token"
    )]
    InvalidPublicKey(String),

    /// A URL to put in a certificate or CRL is not one the BRs allow.
    #[error("{what} {url:?} is refused: {problem}; correct it in the ceremony script")]
    InvalidUrl {
        /// Which URL.
        what: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        problem: &'static str,
    },

    /// A rule of the subordinate CA, cross-certificate, OCSP responder or CRL profile is
    /// broken, or the request breaks one.
    #[error("the {document} breaks {section} ({check}): {detail}")]
    Profile {
        /// What was checked: `subordinate CA certificate`, `CRL`, ...
        document: &'static str,
        /// The rule's section.
        section: &'static str,
        /// Short name of the check.
        check: &'static str,
        /// What was found, and what to do.
        detail: String,
    },

    /// A certification request cannot be used.
    #[error("the certification request (CSR) is unusable: {0}; ask its owner for a new one")]
    CertificationRequest(String),

    /// A certification request's self-signature does not verify with its own key.
    #[error(
        "the CSR's {algorithm} self-signature does not verify with the public key it holds: \
         it does not prove possession of the private key; refuse it and ask for a new one"
    )]
    RequestSignature {
        /// The CSR's signature algorithm.
        algorithm: &'static str,
    },

    /// A certification request names another subject than the script.
    #[error(
        "the CSR's subject {found} is not the subject the script certifies, {expected}: \
         check that this is the right CSR, or correct the script"
    )]
    RequestSubject {
        /// The CSR's subject, RFC 4514.
        found: String,
        /// The script's, RFC 4514.
        expected: String,
    },

    /// The serial number bytes from the HSM cannot make a valid serial number.
    #[error("certificate serial number: {0}; draw new random bytes from the HSM")]
    InvalidSerial(String),

    /// The requested validity is outside 2922..=9132 days.
    #[error(
        "a validity of {days} days is refused: BR 7.1.2.1.1 and CPS 6.3.2 require at least \
         {min} and at most {max} days (8 to 25 years) for a root certificate; change validity_days"
    )]
    ValidityOutOfRange {
        /// The requested number of days.
        days: u64,
        /// Smallest allowed number of days.
        min: u64,
        /// Largest allowed number of days.
        max: u64,
    },

    /// notBefore is not within one day before the signing time.
    #[error(
        "notBefore {not_before} is refused: BR 7.1.2.1.1 requires it between {earliest} \
         (one day before signing) and the signing time {signing_time}; set notBefore to the \
         ceremony's date and time"
    )]
    NotBeforeOutOfRange {
        /// The requested notBefore, truncated to whole seconds (RFC 3339).
        not_before: String,
        /// One day before the signing time (RFC 3339).
        earliest: String,
        /// The signing time (RFC 3339).
        signing_time: String,
    },

    /// A date cannot be encoded in a certificate.
    #[error("{what} {value} cannot be encoded in a certificate (years 1970 to 9999 only)")]
    UnencodableTime {
        /// `notBefore` or `notAfter`.
        what: &'static str,
        /// The date (RFC 3339 or a description).
        value: String,
    },

    /// The raw signature handed back by the HSM has the wrong shape.
    #[error("the signature from the HSM is unusable: {0}; check the mechanism and sign again")]
    InvalidRawSignature(String),

    /// x509-cert refused to build the TBS or the certificate.
    #[error("building the certificate failed: {0}; this is a bug in keyceremony, report it")]
    Build(String),

    /// What x509-cert produced is not the profile this crate promises.
    #[error(
        "the to-be-signed certificate is not the root profile: {0}; do not sign it, report a bug"
    )]
    ProfileMismatch(String),

    /// Bytes that should be DER cannot be decoded.
    #[error("{what} is not valid DER: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },

    /// DER that decodes but does not re-encode to the same bytes.
    #[error("{what} is not canonical DER: decoding and re-encoding it changes the bytes")]
    NonCanonical {
        /// What was being checked.
        what: &'static str,
    },

    /// A check of the final certificate failed.
    #[error("the certificate fails the check \"{check}\": {detail}")]
    CheckFailed {
        /// Short name of the failed check.
        check: &'static str,
        /// What was found.
        detail: String,
    },

    /// The signature does not verify with the token's public key.
    #[error(
        "the certificate's {algorithm} signature does not verify with the token's public key: \
         the certificate must not be published"
    )]
    BadSignature {
        /// The signature algorithm that was used.
        algorithm: crate::SignatureAlgorithm,
    },
}

impl X509Error {
    /// The CPS, Baseline Requirements or RFC section of the rule the error enforces, for a
    /// report that cites every refusal (the policy lint).
    pub fn section(&self) -> &'static str {
        match self {
            Self::InvalidName { .. } => "BR 7.1.2.10.2, 7.1.4",
            Self::UnsupportedKey { .. } => "CPS 6.1.5",
            Self::UnsupportedCertifiedKey { .. } => "BR 6.1.5, 7.1.3.1",
            Self::WeakKey { check, .. } => check.section(),
            Self::InvalidPublicKey(_) => "BR 7.1.3.1",
            Self::InvalidSerial(_) => "BR 7.1.2.1, RFC 5280 4.1.2.2",
            Self::InvalidUrl { .. } => "BR 7.1.2.10.3, 7.1.2.11.2",
            Self::Profile { section, .. } => section,
            Self::CertificationRequest(_) => "RFC 2986 4",
            Self::RequestSignature { .. } => "RFC 2986 3",
            Self::RequestSubject { .. } => "RFC 2986 4.1",
            Self::ValidityOutOfRange { .. } => "CPS 6.3.2, BR 7.1.2.1.1",
            Self::NotBeforeOutOfRange { .. } => "BR 7.1.2.1.1",
            Self::UnencodableTime { .. } => "RFC 5280 4.1.2.5",
            Self::InvalidRawSignature(_) | Self::BadSignature { .. } => "CPS 6.1.5, BR 7.1.3.2",
            Self::Build(_) | Self::ProfileMismatch(_) => "BR 7.1.2.1",
            Self::Malformed { .. } | Self::NonCanonical { .. } => "RFC 5280 4.1, X.690 DER",
            Self::CheckFailed { check, .. } => match *check {
                "version" => "BR 7.1.2.1, RFC 5280 4.1.2.1",
                "serialNumber" => "BR 7.1.2.1, RFC 5280 4.1.2.2",
                "signature algorithm" | "signatureAlgorithm == tbsCertificate.signature" => {
                    "CPS 6.1.5, BR 7.1.3.2"
                }
                "time encoding" => "RFC 5280 4.1.2.5",
                "validity" => "CPS 6.3.2, BR 7.1.2.1.1",
                "extensions" => "BR 7.1.2.1.2",
                "signatureValue" => "BR 7.1.3.2, RFC 5280 4.1.1.3",
                "subjectPublicKeyInfo == token key" => "CPS 6.1.1",
                // issuer == subject, unique identifiers and any check added later: the root
                // certificate profile as a whole.
                _ => "BR 7.1.2.1",
            },
        }
    }

    pub(crate) fn malformed(what: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            detail: error.to_string(),
        }
    }

    pub(crate) fn profile(
        document: &'static str,
        section: &'static str,
        check: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::Profile {
            document,
            section,
            check,
            detail: detail.into(),
        }
    }

    pub(crate) fn check(check: &'static str, detail: impl Into<String>) -> Self {
        Self::CheckFailed {
            check,
            detail: detail.into(),
        }
    }
}
