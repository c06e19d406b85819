//! An independent reading of a root TBS and certificate with plain `der`: nothing here uses
//! x509-cert, so the library that built the certificate does not vouch for it.
//!
//! [`inspect_tbs`] checks that a TBSCertificate is exactly the root profile of this crate
//! (BR 7.1.2.1); `prepare_root` runs it on the TBS before it is signed and `verify_root` on
//! the TBS of the signed certificate. It is public so that the policy lint
//! (keyceremony-policy) reads a TBS with this same parser instead of a parser of its own.

use chrono::{DateTime, Utc};
use der::{Decode, EncodeValue, asn1::ObjectIdentifier};
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoRef;

use crate::{
    algorithm::SignatureAlgorithm,
    checked::{CheckedKey, algorithm_of},
    der_read::{
        MAX_SERIAL_LEN, NameAttribute, RawExtension, RawTbs, VERSION_3, decode_canonical,
        inclusive_days, name_attributes, raw_der, render_name, time_to_chrono,
    },
    error::{Result, X509Error},
    root::{MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS},
};

const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// basicConstraints value: SEQUENCE { cA BOOLEAN TRUE }, no pathLenConstraint (BR 7.1.2.1.4).
const BASIC_CONSTRAINTS_CA: [u8; 5] = [0x30, 0x03, 0x01, 0x01, 0xff];
/// keyUsage value: keyCertSign and cRLSign (BR 7.1.2.10.7).
const KEY_USAGE_CERT_CRL_SIGN: [u8; 4] = [0x03, 0x02, 0x01, 0x06];
/// keyUsage value: digitalSignature, keyCertSign and cRLSign (BR 7.1.2.10.7).
const KEY_USAGE_DIGITAL_CERT_CRL_SIGN: [u8; 4] = [0x03, 0x02, 0x01, 0x86];

/// What [`inspect_tbs`] read from a TBS that passed every profile check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TbsFacts {
    /// The serialNumber INTEGER's value, big-endian, without a leading zero octet.
    pub serial: Vec<u8>,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// Validity from notBefore through notAfter inclusive, in days of 86,400 s (CPS 6.3.2).
    pub validity_days: u64,
    /// The subject Name, DER (equal to the issuer's).
    pub subject_der: Vec<u8>,
    /// The subject, RFC 4514.
    pub subject: String,
    /// The subject's attributes in encoding order.
    pub subject_attributes: Vec<NameAttribute>,
    /// The subjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// The signature algorithm, which the key fixes (CPS 6.1.5).
    pub signature_algorithm: SignatureAlgorithm,
    /// The subjectKeyIdentifier (SHA-1 of the subjectPublicKey).
    pub subject_key_identifier: Vec<u8>,
    /// Whether keyUsage has digitalSignature.
    pub digital_signature: bool,
}

/// Reads a DER TBSCertificate and checks it is exactly the root profile: v3; serial
/// positive, non-zero, at most 20 octets; a key CPS 6.1.5 allows and the matching signature
/// AlgorithmIdentifier in its BR 7.1.3.2 encoding; issuer equal to subject; validity of
/// 2922 to 9132 days with the RFC 5280 time types; no unique identifiers; and exactly the
/// extensions basicConstraints (critical, cA, no pathLen), keyUsage (critical, keyCertSign
/// and cRLSign, optionally digitalSignature), subjectKeyIdentifier (SHA-1 of the
/// subjectPublicKey, RFC 5280 4.2.1.2 method 1) and authorityKeyIdentifier (keyIdentifier
/// only, equal to the SKI).
///
/// The first rule broken is the error; [`X509Error::section`] cites it.
pub fn inspect_tbs(tbs_der: &[u8]) -> Result<TbsFacts> {
    read_root_tbs(tbs_der, None)
}

/// [`inspect_tbs`] of a TBS that should certify `key`: when its subjectPublicKeyInfo is
/// `key`'s, byte for byte, the key's checks are not run again; another key is checked.
pub fn inspect_tbs_of(tbs_der: &[u8], key: &CheckedKey) -> Result<TbsFacts> {
    read_root_tbs(tbs_der, Some(key))
}

pub(crate) fn read_root_tbs(tbs_der: &[u8], known: Option<&CheckedKey>) -> Result<TbsFacts> {
    let tbs: RawTbs<'_> = decode_canonical(tbs_der, "the tbsCertificate")?;

    if tbs.version != Some(VERSION_3) {
        return Err(X509Error::check(
            "version",
            format!(
                "the version field is {:?}, not v3 (2)",
                tbs.version.map(u32::from)
            ),
        ));
    }

    let serial = tbs.serial_number.as_bytes().to_vec();
    if serial.iter().all(|&b| b == 0) {
        return Err(X509Error::check(
            "serialNumber",
            "the serial number is zero",
        ));
    }
    let serial_len = usize::try_from(
        tbs.serial_number
            .value_len()
            .map_err(|e| X509Error::malformed("the serialNumber", e))?,
    )
    .map_err(|e| X509Error::malformed("the serialNumber", e))?;
    if serial_len > MAX_SERIAL_LEN {
        return Err(X509Error::check(
            "serialNumber",
            format!("the serial number takes {serial_len} octets, more than 20 (RFC 5280 4.1.2.2)"),
        ));
    }

    let spki_der = raw_der(tbs.subject_public_key_info, "the subjectPublicKeyInfo")?;
    let signature_algorithm = algorithm_of(&spki_der, known)?;
    let signature_algorithm_der = raw_der(tbs.signature, "the signature AlgorithmIdentifier")?;
    if signature_algorithm_der != signature_algorithm.required_der() {
        return Err(X509Error::check(
            "signature algorithm",
            format!(
                "the tbsCertificate signature field is {} but a {} key needs {} encoded as \
                 BR 7.1.3.2 requires",
                hex::encode_upper(&signature_algorithm_der),
                signature_algorithm.public_key_name(),
                signature_algorithm
            ),
        ));
    }

    let subject_der = raw_der(tbs.subject, "the subject")?;
    let issuer_der = raw_der(tbs.issuer, "the issuer")?;
    if issuer_der != subject_der {
        return Err(X509Error::check(
            "issuer == subject",
            format!(
                "issuer {} differs from subject {}",
                render_name(&issuer_der, "the issuer")?,
                render_name(&subject_der, "the subject")?
            ),
        ));
    }
    let subject = render_name(&subject_der, "the subject")?;
    let subject_attributes = name_attributes(&subject_der, "the subject")?;

    let not_before = time_to_chrono(tbs.validity.not_before, "notBefore")?;
    let not_after = time_to_chrono(tbs.validity.not_after, "notAfter")?;
    let validity_days = validity_days(not_before, not_after)?;

    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        return Err(X509Error::check(
            "unique identifiers",
            "issuerUniqueID or subjectUniqueID is present (RFC 5280 4.1.2.8, BR 7.1.2.1)",
        ));
    }

    let spki = SubjectPublicKeyInfoRef::from_der(&spki_der)
        .map_err(|e| X509Error::malformed("the subjectPublicKeyInfo", e))?;
    let subject_key_identifier = Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec();
    let extensions = tbs.extensions.unwrap_or_default();
    let digital_signature = check_extensions(&extensions, &subject_key_identifier)?;

    Ok(TbsFacts {
        serial,
        not_before,
        not_after,
        validity_days,
        subject_der,
        subject,
        subject_attributes,
        spki_der,
        signature_algorithm,
        subject_key_identifier,
        digital_signature,
    })
}

/// The validity period counted as CPS 6.3.2 counts it: from notBefore through notAfter
/// inclusive (RFC 5280 4.1.2.5), in days of 86,400 s, any part of a day counting as a day;
/// refused outside 2922..=9132 days (BR 7.1.2.1.1).
fn validity_days(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> Result<u64> {
    let days = inclusive_days(not_before, not_after)?;
    if !(u64::from(MIN_VALIDITY_DAYS)..=u64::from(MAX_VALIDITY_DAYS)).contains(&days) {
        return Err(X509Error::ValidityOutOfRange {
            days,
            min: MIN_VALIDITY_DAYS.into(),
            max: MAX_VALIDITY_DAYS.into(),
        });
    }
    Ok(days)
}

/// Checks the extensions are exactly the root profile; returns whether keyUsage has
/// digitalSignature.
fn check_extensions(extensions: &[RawExtension<'_>], ski: &[u8]) -> Result<bool> {
    let mut seen = Vec::new();
    let mut digital_signature = None;
    for extension in extensions {
        if seen.contains(&extension.extn_id) {
            return Err(X509Error::check(
                "extensions",
                format!("extension {} appears twice", extension.extn_id),
            ));
        }
        seen.push(extension.extn_id);
        let value = extension.extn_value.as_bytes();
        let (name, critical, ok) = match extension.extn_id {
            BASIC_CONSTRAINTS => ("basicConstraints", true, value == BASIC_CONSTRAINTS_CA),
            KEY_USAGE => {
                digital_signature = match value {
                    v if v == KEY_USAGE_CERT_CRL_SIGN => Some(false),
                    v if v == KEY_USAGE_DIGITAL_CERT_CRL_SIGN => Some(true),
                    _ => None,
                };
                ("keyUsage", true, digital_signature.is_some())
            }
            SUBJECT_KEY_IDENTIFIER => {
                let expected = [&[0x04, 0x14][..], ski].concat();
                ("subjectKeyIdentifier", false, value == expected)
            }
            AUTHORITY_KEY_IDENTIFIER => {
                let expected = [&[0x30, 0x16, 0x80, 0x14][..], ski].concat();
                ("authorityKeyIdentifier", false, value == expected)
            }
            other => {
                return Err(X509Error::check(
                    "extensions",
                    format!(
                        "extension {other} is not in the root profile (BR 7.1.2.1.2): only \
                         basicConstraints, keyUsage, subjectKeyIdentifier and \
                         authorityKeyIdentifier are allowed"
                    ),
                ));
            }
        };
        if extension.critical != critical {
            return Err(X509Error::check(
                "extensions",
                format!(
                    "{name} must be {}",
                    if critical { "critical" } else { "non-critical" }
                ),
            ));
        }
        if !ok {
            return Err(X509Error::check(
                "extensions",
                format!(
                    "{name} has the value {}, not the root profile's (BR 7.1.2.1)",
                    hex::encode_upper(value)
                ),
            ));
        }
    }
    for (oid, name) in [
        (BASIC_CONSTRAINTS, "basicConstraints"),
        (KEY_USAGE, "keyUsage"),
        (SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier"),
        (AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier"),
    ] {
        if !seen.contains(&oid) {
            return Err(X509Error::check(
                "extensions",
                format!("{name} is missing (BR 7.1.2.1.2)"),
            ));
        }
    }
    Ok(digital_signature.unwrap_or_default())
}
