//! The public key read from the token right after generation: whether the policy allows it
//! (CPS 6.1.5) and its quality (CPS 6.1.6), checked once.

use keyceremony_script::KeyAlgorithm;
use keyceremony_x509::{CheckedKey, KeyQuality, PublicKeyType, X509Error, check_key_quality};

use crate::{error::PolicyError, policy::Policy};

/// Runs the CPS 6.1.6 checks on a DER subjectPublicKeyInfo: RSA e odd, 2^16+1 <= e <=
/// 2^256-1, n odd, no prime factor below 752, not a perfect power, and boulder goodkey's
/// weak-key checks (BR 6.1.1.3: e = 65537, no prime factor below 2^16, no ROCA fingerprint,
/// not factored by 110 rounds of Fermat's method); P-384 full public key
/// validation (NIST SP 800-56A rev. 2 5.6.2.3.2: not the identity, coordinates in [0, p-1],
/// on the curve, n*Q the identity). The error names the failed check
/// ([`PolicyError::failed_key_check`]) and its section. The checks themselves are
/// keyceremony-x509's, which also runs them on every key it certifies.
pub fn check_public_key(spki_der: &[u8]) -> Result<KeyQuality, PolicyError> {
    check_key_quality(spki_der).map_err(public_key_error)
}

fn public_key_error(source: X509Error) -> PolicyError {
    PolicyError::PublicKey {
        section: source.section(),
        source,
    }
}

impl Policy {
    /// What the engine runs on the key read back from the token right after generation:
    /// whether the policy's algorithms allow its kind (CPS 6.1.5), then, once, every check
    /// of [`CheckedKey::new`] (CPS 6.1.5 encodings, CPS 6.1.6 quality). The result stands for
    /// the key wherever its bytes come again: the TBS, the certificate, the report.
    pub fn check_key(&self, spki_der: &[u8]) -> Result<CheckedKey, PolicyError> {
        let kind = PublicKeyType::of(spki_der).map_err(public_key_error)?;
        // A policy can only allow the keys keyceremony makes (checked when it is loaded).
        let algorithm = match kind {
            PublicKeyType::Rsa { modulus_bits: 4096 } => Some(KeyAlgorithm::Rsa4096),
            PublicKeyType::Rsa { .. } => None,
            PublicKeyType::EcP384 => Some(KeyAlgorithm::EcP384),
        };
        if !algorithm.is_some_and(|a| self.algorithms.allows_key(a)) {
            return Err(PolicyError::KeyNotAllowed {
                key: kind.to_string(),
                policy: self.name.clone(),
                allowed: self.algorithms.describe(),
                section: self.algorithms.section,
            });
        }
        CheckedKey::new(spki_der).map_err(public_key_error)
    }
}
