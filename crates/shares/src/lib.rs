//! keyceremony-shares: k-of-n shares of the token PINs and of the wrap key
//! of a root key's backup.
//!
//! A token PIN must never be one person's secret (CPS 6.2.2 multi-person
//! control, 6.2.8 activation of the private key, 6.4.1 activation data
//! generation, 6.4.2 activation data protection). The engine draws each PIN
//! from the token's random generator as 20 bytes, [`split`]s it among n
//! custodians so that any k of them can rebuild it and fewer learn nothing,
//! and sets the PIN to [`pin`] of those bytes. At login, each custodian
//! types their share; [`Share::parse`] checks it alone (a typo names the
//! group), [`check`] checks the collection (kind, ceremony, split,
//! threshold, duplicates, count), and [`rebuild_pin`] rebuilds the PIN in
//! memory for the one PKCS#11 call that needs it.
//!
//! A root key's backup (CPS 6.2.4) is wrapped by a 32-byte AES key drawn
//! from the token's generator; [`split_wrap_key`] splits it among the
//! backup custodians in the same share format, kind `W`, and
//! [`rebuild_wrap_key`] rebuilds it from checked shares for the restore.
//!
//! Pure Rust, no I/O, no HSM. Shamir's scheme over GF(2^8), byte by byte,
//! comes from `vsss-rs` (constant-time field arithmetic, no lookup tables);
//! this crate only adds the share text, the checks and the zeroisation.
//! Secrets live in [`Zeroizing`] buffers or a [`SecretString`]; nothing here
//! prints them, and no error carries them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod base32;
mod error;
mod share;
mod wrap_key;

use chacha20::ChaCha20Rng;
use chacha20::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use vsss_rs::{Gf256, IdentifierGf256};
use zeroize::Zeroize;

pub use error::ShareError;
pub use secrecy::SecretString;
pub use share::{MAX_SHARES, SecretKind, Share, ShareSet, WRAP_KEY_BYTES};
pub use wrap_key::{confirm_wrap_key, rebuild_wrap_key, split_wrap_key, wrap_key_check_value};
pub use zeroize::Zeroizing;

use base32::VALUE_CHARS;

/// Domain of the ceremony tag.
const CEREMONY_TAG_DOMAIN: &[u8] = b"keyceremony ceremony tag v1";

/// The 4-symbol tag that ties a share to its ceremony: the first 20 bits of
/// SHA-256("keyceremony ceremony tag v1" || ceremony id), in Crockford
/// base32. Public: it is printed on every share.
pub fn ceremony_tag(ceremony_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(CEREMONY_TAG_DOMAIN);
    hash.update(ceremony_id.as_bytes());
    base32::first_20_bits(&hash.finalize())
}

/// One split: its public identity and the n shares, share `x` at index
/// `x - 1`.
#[derive(Debug)]
pub struct Split {
    /// What every share of this split says about itself.
    pub set: ShareSet,
    /// The shares, numbered 1 to n in order.
    pub shares: Vec<Share>,
}

/// What a login expects of the shares typed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Which PIN is being rebuilt.
    pub kind: SecretKind,
    /// [`ceremony_tag`] of the ceremony that made the shares.
    pub ceremony_tag: String,
    /// The split's nonce, when this run made the split or the script names
    /// it; without it, every share must have the first share's nonce.
    pub nonce: Option<String>,
    /// k.
    pub threshold: u8,
}

impl From<&ShareSet> for Expected {
    /// Everything a later login of a split made in this run expects.
    fn from(set: &ShareSet) -> Expected {
        Expected {
            kind: set.kind,
            ceremony_tag: set.ceremony_tag.clone(),
            nonce: Some(set.nonce.clone()),
            threshold: set.threshold,
        }
    }
}

/// Splits a PIN's `secret` (20 bytes from the token's RNG, CPS 6.4.1) into
/// `count` shares with threshold `threshold` (2 <= k <= n <= 16); the seed
/// drives the polynomial coefficients and the set nonce. `kind` is the SO
/// or the user PIN; a wrap key is split with [`split_wrap_key`].
///
/// The seed is as sensitive as the secret (with it, one share gives the
/// secret away): the engine derives it from the token's and the operating
/// system's random bytes, so that neither source alone decides the
/// coefficients, and should wipe its own copy. This function wipes its copy
/// and the generator state when it returns.
///
/// Before returning, the split checks itself: every k-subset of the shares
/// rebuilds `secret`, and every share's text reads back as the same share.
/// A PIN must only be set from a split that passed (otherwise nobody could
/// ever log in again), so a failure is an error, never a partial result.
pub fn split(
    kind: SecretKind,
    ceremony_id: &str,
    secret: &Zeroizing<[u8; 20]>,
    threshold: u8,
    count: u8,
    seed: [u8; 32],
) -> Result<Split, ShareError> {
    if kind == SecretKind::WrapKey {
        return Err(ShareError::Params {
            reason: "a backup wrap key is 32 bytes, not a PIN's 20: split it with split_wrap_key"
                .to_string(),
        });
    }
    split_any(kind, ceremony_id, secret.as_slice(), threshold, count, seed)
}

pub(crate) fn split_any(
    kind: SecretKind,
    ceremony_id: &str,
    secret: &[u8],
    threshold: u8,
    count: u8,
    seed: [u8; 32],
) -> Result<Split, ShareError> {
    let mut seed = seed;
    let result = split_seeded(kind, ceremony_id, secret, threshold, count, &seed);
    seed.zeroize();
    result
}

fn split_seeded(
    kind: SecretKind,
    ceremony_id: &str,
    secret: &[u8],
    threshold: u8,
    count: u8,
    seed: &[u8; 32],
) -> Result<Split, ShareError> {
    let params = |reason: String| ShareError::Params { reason };
    if secret.len() != kind.secret_bytes() {
        return Err(params(format!(
            "a {kind} is {} bytes, not {}",
            kind.secret_bytes(),
            secret.len()
        )));
    }
    if count > MAX_SHARES {
        return Err(params(format!(
            "{count} shares asked for; at most {MAX_SHARES} are made"
        )));
    }
    if threshold < 2 {
        return Err(params(format!(
            "a threshold of {threshold} would let one person rebuild {}; at least 2 are needed (CPS 6.2.2)",
            kind.rebuilds()
        )));
    }
    if threshold > count {
        return Err(params(format!(
            "a threshold of {threshold} with {count} shares could never be met"
        )));
    }
    if ceremony_id.is_empty() {
        return Err(params("the ceremony id is empty".to_string()));
    }

    // ChaCha20Rng wipes its key and buffer on drop ("zeroize" feature).
    let mut rng = ChaCha20Rng::from_seed(*seed);
    let set = ShareSet {
        kind,
        ceremony_tag: ceremony_tag(ceremony_id),
        nonce: base32::encode_20_bits(rng.next_u32() >> 12),
        threshold,
        count,
    };
    let ids = (1..=count).map(|x| IdentifierGf256(Gf256(x)));
    let points = Zeroizing::new(
        Gf256::split_bytes_with_participant_ids_iter(
            usize::from(threshold),
            usize::from(count),
            secret,
            &mut rng,
            ids,
        )
        .map_err(|e| ShareError::Split {
            reason: e.to_string(),
        })?,
    );
    let shares = points
        .iter()
        .map(|point| share_from_point(&set, point))
        .collect::<Result<Vec<_>, _>>()?;
    let split = Split { set, shares };
    self_check(&split, secret)?;
    Ok(split)
}

/// A share from the library's `[x, y_1, ..., y_m]`.
fn share_from_point(set: &ShareSet, point: &[u8]) -> Result<Share, ShareError> {
    let wrong_size = || ShareError::Split {
        reason: format!(
            "the sharing library returned a share of {} bytes",
            point.len()
        ),
    };
    let (&number, y) = point.split_first().ok_or_else(wrong_size)?;
    if y.len() != set.kind.secret_bytes() {
        return Err(wrong_size());
    }
    // Allocated at its final size, so nothing reallocates and leaves a copy.
    let mut value = Zeroizing::new(Vec::with_capacity(y.len()));
    value.extend_from_slice(y);
    Ok(Share {
        set: set.clone(),
        number,
        value,
    })
}

/// Every k-subset rebuilds the secret and every share reads back from its
/// own text. With n <= 16 there are at most C(16, 8) = 12870 subsets.
fn self_check(split: &Split, secret: &[u8]) -> Result<(), ShareError> {
    let failed = |reason: &str| ShareError::Split {
        reason: format!("self-check failed: {reason}"),
    };
    for (index, share) in split.shares.iter().enumerate() {
        let text = share.to_text();
        let back = Share::parse(secrecy::ExposeSecret::expose_secret(&text))
            .map_err(|_| failed("a share's text does not read back"))?;
        if usize::from(share.number) != index + 1
            || back.number != share.number
            || back.set != share.set
            || !same(&back.value, &share.value)
        {
            return Err(failed(
                "a share's text does not read back as the same share",
            ));
        }
    }
    let k = usize::from(split.set.threshold);
    let n = split.shares.len();
    for subset in subsets(n, k) {
        let points = Zeroizing::new(
            subset
                .iter()
                .filter_map(|&i| split.shares.get(i))
                .map(Share::point)
                .collect::<Vec<_>>(),
        );
        if !same(&combine(&points, secret.len())?, secret) {
            return Err(failed("a quorum of shares does not rebuild the secret"));
        }
    }
    Ok(())
}

/// Every k-element subset of 0..n, as index lists, in lexicographic order.
fn subsets(n: usize, k: usize) -> impl Iterator<Item = Vec<usize>> {
    let mut next = (k <= n).then(|| (0..k).collect::<Vec<usize>>());
    std::iter::from_fn(move || {
        let current = next.take()?;
        // Advance the rightmost index that can move, reset those after it.
        let mut following = current.clone();
        if let Some(i) = (0..k).rev().find(|&i| following[i] < n - k + i) {
            following[i] += 1;
            for j in i + 1..k {
                following[j] = following[j - 1] + 1;
            }
            next = Some(following);
        }
        Some(current)
    })
}

/// Length in bytes of every PIN [`pin`] makes: what a token must accept.
pub const PIN_BYTES: usize = VALUE_CHARS;

/// The PIN for a secret: the Crockford base32 of its 20 bytes, 32
/// characters from the share alphabet, which SoftHSM2 (4 to 255) and the
/// usual tokens accept, and which a person could type if ever needed.
pub fn pin(secret: &Zeroizing<[u8; 20]>) -> SecretString {
    let mut text = Zeroizing::new(String::with_capacity(VALUE_CHARS));
    base32::encode_value(secret.as_slice(), &mut text);
    SecretString::from(text.as_str())
}

/// Checks the shares typed for one login before anything is rebuilt.
///
/// Each entry, in order, must be of the expected kind, of the expected
/// ceremony, of the expected split (the nonce when known, and in any case
/// the first entry's nonce and count), of the expected threshold, and a
/// share number not entered before; then there must be at least k entries.
/// The first failure is returned and names the entry (its index in
/// `shares`), so the engine can name the custodian and ask again. The
/// engine may call this after each entry and treat only
/// [`ShareError::NotEnough`] as "keep going".
pub fn check(shares: &[Share], expected: &Expected) -> Result<(), ShareError> {
    if !(2..=MAX_SHARES).contains(&expected.threshold) {
        return Err(ShareError::Params {
            reason: format!(
                "a login that needs {} shares; between 2 and {MAX_SHARES} are possible",
                expected.threshold
            ),
        });
    }
    let mut seen = [false; 256];
    let mut first: Option<&ShareSet> = None;
    for (entry, share) in shares.iter().enumerate() {
        let set = share.set();
        if set.kind != expected.kind {
            return Err(ShareError::WrongKind {
                entry,
                found: set.kind,
                expected: expected.kind,
            });
        }
        if set.ceremony_tag != expected.ceremony_tag {
            return Err(ShareError::OtherCeremony {
                entry,
                found: set.ceremony_tag.clone(),
                expected: expected.ceremony_tag.clone(),
            });
        }
        if let Some(nonce) = &expected.nonce
            && set.nonce != *nonce
        {
            return Err(ShareError::OtherSplit {
                entry,
                found: set.nonce.clone(),
                expected: nonce.clone(),
            });
        }
        if let Some(first) = first
            && (set.nonce != first.nonce || set.count != first.count)
        {
            let id = |s: &ShareSet| format!("{}, {} shares", s.nonce, s.count);
            return Err(ShareError::OtherSplit {
                entry,
                found: id(set),
                expected: id(first),
            });
        }
        if set.threshold != expected.threshold {
            return Err(ShareError::WrongThreshold {
                entry,
                found: set.threshold,
                expected: expected.threshold,
            });
        }
        let seen = &mut seen[usize::from(share.number())];
        if *seen {
            return Err(ShareError::DuplicateNumber {
                entry,
                number: share.number(),
            });
        }
        *seen = true;
        first.get_or_insert(set);
    }
    if shares.len() < usize::from(expected.threshold) {
        return Err(ShareError::NotEnough {
            have: shares.len(),
            need: expected.threshold,
        });
    }
    Ok(())
}

/// Rebuilds the PIN from checked shares: the only place a PIN is rebuilt
/// (CPS 6.2.8, 6.4.2). Runs [`check`] first. The secret is rebuilt from the
/// first k shares; each share beyond k is then checked against them (it
/// must rebuild the same secret with the first k - 1), because the checks
/// in a share's text catch typing, not a share that was never issued.
/// Every intermediate buffer is wiped; the PIN comes back as a
/// [`SecretString`], for the caller to use and drop. A wrap key is rebuilt
/// with [`rebuild_wrap_key`].
pub fn rebuild_pin(shares: &[Share], expected: &Expected) -> Result<SecretString, ShareError> {
    if expected.kind == SecretKind::WrapKey {
        return Err(ShareError::Params {
            reason:
                "the shares of a backup wrap key rebuild a key, not a PIN: use rebuild_wrap_key"
                    .to_string(),
        });
    }
    let secret = rebuild(shares, expected)?;
    let mut bytes = Zeroizing::new([0u8; 20]);
    bytes.copy_from_slice(&secret);
    Ok(pin(&bytes))
}

/// The secret of checked shares, the extra ones checked against the first k.
pub(crate) fn rebuild(
    shares: &[Share],
    expected: &Expected,
) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    check(shares, expected)?;
    let k = usize::from(expected.threshold);
    let len = expected.kind.secret_bytes();
    let (quorum, extra) = shares.split_at(k);
    let points = Zeroizing::new(quorum.iter().map(Share::point).collect::<Vec<_>>());
    let secret = combine(&points, len)?;
    for (offset, share) in extra.iter().enumerate() {
        let mut others = Zeroizing::new(Vec::with_capacity(k));
        others.extend(points.iter().take(k - 1).cloned());
        others.push(share.point());
        if !same(&combine(&others, len)?, &secret) {
            return Err(ShareError::Inconsistent { entry: k + offset });
        }
    }
    Ok(secret)
}

/// Lagrange interpolation at 0 by the sharing library, into a wiped buffer
/// of the secret's `len` bytes.
fn combine(points: &[Vec<u8>], len: usize) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    let raw = Zeroizing::new(
        Gf256::combine_bytes(points).map_err(|e| ShareError::Combine {
            reason: e.to_string(),
        })?,
    );
    if raw.len() != len {
        return Err(ShareError::Combine {
            reason: format!("the sharing library returned {} bytes", raw.len()),
        });
    }
    let mut secret = Zeroizing::new(Vec::with_capacity(len));
    secret.extend_from_slice(&raw);
    Ok(secret)
}

/// Equality of two secrets without an early exit on their contents.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn example() -> (Zeroizing<[u8; 20]>, Split) {
        let secret = Zeroizing::new([0x5a; 20]);
        let split = split(SecretKind::UserPin, "unit", &secret, 2, 4, [3; 32]).expect("split");
        (secret, split)
    }

    #[test]
    fn subsets_are_all_k_subsets_once() {
        for n in 1..=8usize {
            for k in 1..=n {
                let all: Vec<Vec<usize>> = subsets(n, k).collect();
                let expected = (0u32..1 << n)
                    .filter(|m| m.count_ones() as usize == k)
                    .count();
                assert_eq!(all.len(), expected, "C({n}, {k})");
                for s in &all {
                    assert_eq!(s.len(), k);
                    assert!(s.windows(2).all(|w| w[0] < w[1]));
                    assert!(s.iter().all(|&i| i < n));
                }
            }
        }
        assert_eq!(subsets(16, 8).count(), 12870);
        assert_eq!(subsets(2, 3).count(), 0);
    }

    #[test]
    fn a_forged_extra_share_is_found_inconsistent() {
        let (secret, split) = example();
        let expected = Expected::from(&split.set);
        let mut forged = split.shares[2].clone();
        forged.value[7] ^= 1;
        // Its own text is valid: checks catch typing, not forgery.
        let forged = Share::parse(forged.to_text().expose_secret()).expect("checks pass");
        let shares = [split.shares[0].clone(), split.shares[1].clone(), forged];
        assert_eq!(
            rebuild_pin(&shares, &expected).err(),
            Some(ShareError::Inconsistent { entry: 2 })
        );
        // Exactly k of them cannot tell; the token refuses the wrong PIN.
        let pin_from_forged = rebuild_pin(&shares[1..], &expected).expect("k shares");
        assert_ne!(
            pin_from_forged.expose_secret(),
            pin(&secret).expose_secret()
        );
        let genuine = rebuild_pin(&split.shares[..3], &expected).expect("genuine");
        assert_eq!(genuine.expose_secret(), pin(&secret).expose_secret());
    }

    #[test]
    fn a_share_numbered_above_its_count_is_refused_by_parse() {
        let (_, split) = example();
        let mut odd = split.shares[0].clone();
        odd.number = 5;
        let text = odd.to_text();
        assert!(matches!(
            Share::parse(text.expose_secret()),
            Err(ShareError::Format { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let (secret, split) = example();
        let shown = format!("{split:?} {:?}", split.shares[1]);
        for share in &split.shares {
            let hex_value: String = share.value.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!shown.contains(&hex_value));
            let bytes = format!("{:?}", share.value.as_slice());
            assert!(!shown.contains(&bytes[1..bytes.len() - 1]));
        }
        assert!(!shown.contains("90, 90, 90"), "the secret's bytes");
        assert!(!shown.contains(pin(&secret).expose_secret()));
    }

    #[test]
    fn every_error_message_is_free_of_share_text() {
        let (_, split) = example();
        let texts: Vec<String> = split
            .shares
            .iter()
            .map(|s| s.to_text().expose_secret().to_string())
            .collect();
        let errors = [
            ShareError::Format { reason: "x".into() },
            ShareError::GroupMistyped { group: 3 },
            ShareError::SeveralMistyped {
                groups: vec![1, 2, 8],
            },
            ShareError::ChecksumMismatch,
            ShareError::WrongKind {
                entry: 0,
                found: SecretKind::SoPin,
                expected: SecretKind::UserPin,
            },
            ShareError::OtherCeremony {
                entry: 1,
                found: "AAAA".into(),
                expected: split.set.ceremony_tag.clone(),
            },
            ShareError::OtherSplit {
                entry: 1,
                found: "BBBB".into(),
                expected: split.set.nonce.clone(),
            },
            ShareError::WrongThreshold {
                entry: 2,
                found: 3,
                expected: 2,
            },
            ShareError::DuplicateNumber {
                entry: 1,
                number: 2,
            },
            ShareError::NotEnough { have: 2, need: 3 },
            ShareError::Inconsistent { entry: 3 },
            ShareError::Params { reason: "y".into() },
            ShareError::Split { reason: "z".into() },
            ShareError::Combine { reason: "w".into() },
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        for m in &messages {
            for t in &texts {
                for group in t.split('-').skip(7) {
                    assert!(!m.contains(group), "{m}");
                }
            }
        }
        assert_eq!(
            messages[1],
            "group 3 of this share is mistyped: check the group against your paper copy and type it again"
        );
        assert!(messages[2].starts_with("groups 1, 2 and 8 do not match"));
        assert!(messages[4].starts_with("entry 1 is a share of the SO PIN, not the user PIN"));
        assert!(messages[8].starts_with("entry 2 is share 2, and share 2 was already entered"));
        assert!(messages[9].starts_with("2 of 3 shares entered; 3 needed"));
    }
}
