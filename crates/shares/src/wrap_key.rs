//! The wrap key of a root key's backup (CPS 6.2.4, 5.2.2): split among the
//! backup custodians in the share format of the PINs (kind `W`, 32 bytes in
//! 13 groups), rebuilt only from checked shares, and confirmed against the
//! check value the backup ceremony recorded before any token sees it.

use sha2::{Digest, Sha256};

use crate::{Expected, SecretKind, Share, ShareError, Split, WRAP_KEY_BYTES, Zeroizing};
use crate::{rebuild, split_any};

/// Splits the 32-byte AES wrap key of a root key's backup (CPS 6.2.4,
/// 5.2.2) among `count` backup custodians, `threshold` of them needed to
/// rebuild it, exactly as [`split`](crate::split) splits a PIN: same checks, same share
/// format, kind `W` and 13 groups. Wrap the backup only with a key whose
/// split passed, or the backup could never be restored.
pub fn split_wrap_key(
    ceremony_id: &str,
    key: &Zeroizing<[u8; WRAP_KEY_BYTES]>,
    threshold: u8,
    count: u8,
    seed: [u8; 32],
) -> Result<Split, ShareError> {
    split_any(
        SecretKind::WrapKey,
        ceremony_id,
        key.as_slice(),
        threshold,
        count,
        seed,
    )
}

/// Rebuilds the backup wrap key from checked shares, exactly as
/// [`rebuild_pin`](crate::rebuild_pin) rebuilds a PIN:
/// [`check`](crate::check) first (kind `W`, this ceremony, this split, k, no
/// share twice, at least k), then the first k shares, and every share
/// beyond k checked against them. Exactly k shares of which one is not
/// genuine rebuild a wrong key: [`confirm_wrap_key`] refuses it.
pub fn rebuild_wrap_key(
    shares: &[Share],
    expected: &Expected,
) -> Result<Zeroizing<[u8; WRAP_KEY_BYTES]>, ShareError> {
    if expected.kind != SecretKind::WrapKey {
        return Err(ShareError::Params {
            reason: format!(
                "the shares of the {} rebuild a PIN, not a wrap key: use rebuild_pin",
                expected.kind
            ),
        });
    }
    let secret = rebuild(shares, expected)?;
    let mut key = Zeroizing::new([0u8; WRAP_KEY_BYTES]);
    key.copy_from_slice(&secret);
    Ok(key)
}

/// Domain of a wrap key's check value.
const WRAP_KEY_CHECK_DOMAIN: &[u8] = b"keyceremony wrap key check v1";

/// The public check value of a backup wrap key: the first 8 bytes of
/// SHA-256("keyceremony wrap key check v1" || key), 16 upper-case hex
/// digits. The backup ceremony records it with the backup; the restore
/// compares the rebuilt key with it ([`confirm_wrap_key`]) before any token
/// sees the key, because exactly k shares of which one is not genuine pass
/// every check and rebuild another key, and the tested tokens then answer
/// the unwrap with a fault code that cannot be told from a fault. 64 bits
/// of a hash say nothing usable about a 256-bit key.
pub fn wrap_key_check_value(key: &Zeroizing<[u8; WRAP_KEY_BYTES]>) -> String {
    let mut hash = Sha256::new();
    hash.update(WRAP_KEY_CHECK_DOMAIN);
    hash.update(key.as_slice());
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Refuses a rebuilt wrap key whose check value is not `recorded`, the one
/// the backup ceremony logged ([`ShareError::WrongWrapKey`]).
pub fn confirm_wrap_key(
    key: &Zeroizing<[u8; WRAP_KEY_BYTES]>,
    recorded: &str,
) -> Result<(), ShareError> {
    if wrap_key_check_value(key).eq_ignore_ascii_case(recorded.trim()) {
        Ok(())
    } else {
        Err(ShareError::WrongWrapKey {
            recorded: recorded.trim().to_string(),
        })
    }
}
