//! Activation data under dual control and split knowledge (CPS 6.1.1,
//! 6.2.2, 6.2.8, 6.4.1, 6.4.2).
//!
//! The tool makes each PIN from the HSM's random generator and splits it
//! k-of-n among its custodians; it never shows or stores a whole PIN. To
//! activate the token, k checked-in custodians each type their share; every
//! share is checked (checksum, ceremony, secret, duplicates) before any
//! PKCS#11 call, and the PIN is rebuilt only inside [`with_pin`], for the
//! one call that needs it.

use keyceremony_script::Secret;
use keyceremony_shares::{self as shares, Expected, SecretKind, Share, ShareError};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The shares crate's name for a script secret.
pub fn kind(secret: Secret) -> SecretKind {
    match secret {
        Secret::SoPin => SecretKind::SoPin,
        Secret::UserPin => SecretKind::UserPin,
        Secret::WrapKey => SecretKind::WrapKey,
    }
}

/// Bytes of secret in each PIN: 160 bits from the token's generator.
pub const SECRET_BYTES: usize = 20;

/// Random bytes the operating system adds to the token's before seeding
/// the share polynomials, so that neither source alone decides them.
pub fn seed(token_random: &[u8], label: &str) -> Result<[u8; 32], getrandom::Error> {
    let mut os = Zeroizing::new([0u8; 32]);
    getrandom::fill(os.as_mut())?;
    let mut hash = Sha256::new();
    hash.update(b"keyceremony share seed v1");
    hash.update(label.as_bytes());
    hash.update(token_random);
    hash.update(os.as_ref());
    Ok(hash.finalize().into())
}

/// A PIN for the moment between C_InitToken and the SO PIN's replacement by
/// one drawn from the token: the token has no session, so no generator, yet.
pub fn transient_pin() -> Result<SecretString, getrandom::Error> {
    let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    getrandom::fill(bytes.as_mut())?;
    Ok(shares::pin(&bytes))
}

/// Takes `SECRET_BYTES` from `random` as a secret.
pub fn secret_from(random: &[u8]) -> Zeroizing<[u8; SECRET_BYTES]> {
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    secret.copy_from_slice(&random[..SECRET_BYTES]);
    secret
}

/// Rebuilds the PIN from checked shares and hands it to `use_pin`; the PIN
/// is wiped when this returns.
pub fn with_pin<T>(
    shares: &[Share],
    expected: &Expected,
    use_pin: impl FnOnce(&SecretString) -> T,
) -> Result<T, ShareError> {
    let pin = shares::rebuild_pin(shares, expected)?;
    Ok(use_pin(&pin))
}
