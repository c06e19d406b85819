//! Public key quality (CPS 6.1.6): the checks the CPS takes from NIST SP 800-89 5.3.3 for
//! RSA and from NIST SP 800-56A rev. 2 5.6.2.3.2 (ECC Full Public Key Validation) for P-384,
//! and for RSA the weak-key checks of boulder's goodkey after them (`weak_keys`:
//! exponent 65537, no factor below 2^16, not ROCA, not Fermat-factorable; BR 6.1.1.3).
//!
//! [`SignatureAlgorithm::for_public_key`](crate::SignatureAlgorithm::for_public_key) runs
//! them on every key this crate certifies; [`check_key_quality`] runs them alone, whatever
//! the key size, so that a ceremony can refuse a weak key right after the HSM made it, before
//! anything is built on it. Each failure names the check that failed ([`KeyCheck`]).

use std::fmt;

use der::{
    Decode, Sequence,
    asn1::{ObjectIdentifier, UintRef},
};
use num_bigint::BigUint;
use p384::{
    AffinePoint, FieldBytes, NistP384, ProjectivePoint, Scalar,
    elliptic_curve::{PrimeField, group::Group, hazmat::FieldArithmetic, point::AffineCoordinates},
};
use primeorder::PrimeCurveParams;
use spki::SubjectPublicKeyInfoRef;

use crate::{
    error::{Result, X509Error},
    weak_keys,
};

pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// CPS 6.1.6: the modulus has no prime factor smaller than this.
const SMALLEST_ALLOWED_FACTOR: u32 = 752;
/// Length of an uncompressed P-384 point 04 || X || Y (SEC 1 2.3.3).
const P384_UNCOMPRESSED_LEN: usize = 97;
/// P-384 coordinates are 48 bytes.
const P384_COORDINATE_LEN: usize = 48;

/// The P-384 base field element, which p384 keeps private but exposes through the curve's
/// arithmetic traits.
type FieldElement = <NistP384 as FieldArithmetic>::FieldElement;

/// One CPS 6.1.6 check, named so that a refusal says exactly which one failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyCheck {
    /// RSA: the public exponent e is odd.
    RsaExponentOdd,
    /// RSA: 2^16+1 <= e <= 2^256-1.
    RsaExponentRange,
    /// RSA: the modulus n is odd.
    RsaModulusOdd,
    /// RSA: n has no prime factor below 752.
    RsaModulusNoSmallFactor,
    /// RSA: n is not a perfect power (so not the power of a prime).
    RsaModulusNotPerfectPower,
    /// RSA: e is 65537, the one exponent boulder's goodkey accepts.
    RsaExponentF4,
    /// RSA: n has no prime factor below 2^16.
    RsaModulusNoFactorBelow65536,
    /// RSA: n does not carry the ROCA fingerprint (CVE-2017-15361).
    RsaModulusNotRoca,
    /// RSA: Fermat's method does not factor n within 110 rounds (close primes).
    RsaModulusNotFermatFactorable,
    /// ECC: the point Q is not the point at infinity (SP 800-56A 5.6.2.3.2 step 1).
    EcPointNotIdentity,
    /// ECC: both coordinates of Q are integers in [0, p-1] (step 2).
    EcCoordinatesInRange,
    /// ECC: Q satisfies the curve equation y^2 = x^3 + ax + b (step 3).
    EcPointOnCurve,
    /// ECC: n*Q is the point at infinity, n the order of the curve (step 4).
    EcPointOrder,
}

impl KeyCheck {
    /// What the check asks, as the CPS and NIST state it.
    pub fn description(self) -> &'static str {
        match self {
            Self::RsaExponentOdd => "the public exponent e is odd",
            Self::RsaExponentRange => "2^16+1 <= e <= 2^256-1",
            Self::RsaModulusOdd => "the modulus n is odd",
            Self::RsaModulusNoSmallFactor => "the modulus n has no prime factor below 752",
            Self::RsaModulusNotPerfectPower => {
                "the modulus n is not a perfect power (not the power of a prime)"
            }
            Self::RsaExponentF4 => "the public exponent e is 65537",
            Self::RsaModulusNoFactorBelow65536 => "the modulus n has no prime factor below 2^16",
            Self::RsaModulusNotRoca => {
                "the modulus n does not carry the ROCA fingerprint (CVE-2017-15361)"
            }
            Self::RsaModulusNotFermatFactorable => {
                "Fermat's method does not factor the modulus n within 110 rounds"
            }
            Self::EcPointNotIdentity => "the point is not the point at infinity",
            Self::EcCoordinatesInRange => "the coordinates are in [0, p-1]",
            Self::EcPointOnCurve => "the point lies on P-384",
            Self::EcPointOrder => "n*Q is the point at infinity",
        }
    }
}

impl KeyCheck {
    /// The rule the check enforces: CPS 6.1.6, or for boulder goodkey's checks BR 6.1.1.3
    /// (industry-demonstrated weak keys: ROCA, close primes).
    pub fn section(self) -> &'static str {
        match self {
            Self::RsaExponentF4 | Self::RsaModulusNoFactorBelow65536 => "CPS 6.1.6, BR 6.1.1.3",
            Self::RsaModulusNotRoca | Self::RsaModulusNotFermatFactorable => "BR 6.1.1.3",
            _ => "CPS 6.1.6",
        }
    }
}

impl fmt::Display for KeyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The kind of key [`check_key_quality`] looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublicKeyType {
    /// rsaEncryption with a modulus of this many bits.
    Rsa {
        /// Bit length of the modulus n.
        modulus_bits: usize,
    },
    /// id-ecPublicKey on secp384r1.
    EcP384,
}

impl PublicKeyType {
    /// What a DER subjectPublicKeyInfo holds, read without checking the key: so that a policy
    /// can refuse a kind of key it does not allow before [`crate::CheckedKey::new`] checks
    /// one it does. Refused as [`X509Error::UnsupportedKey`]: ECC on another curve than P-384,
    /// and any other algorithm.
    pub fn of(spki_der: &[u8]) -> Result<Self> {
        match read_key(spki_der)? {
            KeyBits::Rsa(bits) => Ok(Self::Rsa {
                modulus_bits: rsa_modulus_bits(bits)?,
            }),
            KeyBits::P384(_) => Ok(Self::EcP384),
        }
    }
}

/// The subjectPublicKey octets of an RSA or P-384 key.
enum KeyBits<'a> {
    Rsa(&'a [u8]),
    P384(&'a [u8]),
}

/// Reads the subjectPublicKeyInfo far enough to know its key: RSA, or ECC on P-384; any
/// other key is refused as [`X509Error::UnsupportedKey`] (CPS 6.1.5).
fn read_key(spki_der: &[u8]) -> Result<KeyBits<'_>> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| X509Error::InvalidPublicKey(format!("not a DER subjectPublicKeyInfo: {e}")))?;
    let key_bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
        X509Error::InvalidPublicKey("the subjectPublicKey BIT STRING has unused bits".into())
    })?;
    match spki.algorithm.oid {
        RSA_ENCRYPTION => Ok(KeyBits::Rsa(key_bits)),
        ID_EC_PUBLIC_KEY => require_p384(&spki).map(|()| KeyBits::P384(key_bits)),
        other => Err(X509Error::UnsupportedKey {
            key: format!("of algorithm {other}"),
        }),
    }
}

impl fmt::Display for PublicKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { modulus_bits } => write!(f, "RSA-{modulus_bits}"),
            Self::EcP384 => f.write_str("ECC P-384"),
        }
    }
}

/// A key that passed every CPS 6.1.6 check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyQuality {
    /// What the key is.
    pub key: PublicKeyType,
    /// The checks it passed, in the order they ran.
    pub checks: Vec<KeyCheck>,
}

/// PKCS#1 RSAPublicKey (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKeyView<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// Runs the CPS 6.1.6 checks on a DER subjectPublicKeyInfo, whatever the RSA key size:
/// RSA e odd, 2^16+1 <= e <= 2^256-1, n odd, no prime factor of n below 752, n not a perfect
/// power, then goodkey's e = 65537, no prime factor below 2^16, no ROCA fingerprint, not
/// factored by 110 rounds of Fermat's method; P-384 full public key validation (not the identity, coordinates in [0, p-1], on the
/// curve, n*Q = identity). ECC keys on other curves are refused as [`X509Error::UnsupportedKey`]
/// (CPS 6.1.5): only P-384 can be validated here. Key size, AlgorithmIdentifier encoding and
/// point compression are CPS 6.1.5 / BR 7.1.3.1 matters left to
/// [`SignatureAlgorithm::for_public_key`](crate::SignatureAlgorithm::for_public_key).
pub fn check_key_quality(spki_der: &[u8]) -> Result<KeyQuality> {
    match read_key(spki_der)? {
        KeyBits::Rsa(bits) => check_rsa_key(bits),
        KeyBits::P384(bits) => check_p384_point(bits),
    }
}

/// How an error names an ECC key on `curve`.
/// An EC key's named curve must be P-384 (CPS 6.1.5).
pub(crate) fn require_p384(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<()> {
    let curve = spki
        .algorithm
        .parameters_oid()
        .map_err(|_| X509Error::UnsupportedKey {
            key: "ECC without a named curve".into(),
        })?;
    if curve == SECP384R1 {
        Ok(())
    } else {
        Err(X509Error::UnsupportedKey {
            key: curve_name(curve),
        })
    }
}

fn curve_name(curve: ObjectIdentifier) -> String {
    match curve {
        SECP256R1 => "ECC P-256".into(),
        SECP384R1 => "ECC P-384".into(),
        SECP521R1 => "ECC P-521".into(),
        other => format!("ECC on curve {other}"),
    }
}

fn rsa_public_key(key_bits: &[u8]) -> Result<RsaPublicKeyView<'_>> {
    RsaPublicKeyView::from_der(key_bits)
        .map_err(|e| X509Error::InvalidPublicKey(format!("not a PKCS#1 RSAPublicKey: {e}")))
}

/// Bit length of the modulus of a PKCS#1 RSAPublicKey.
pub(crate) fn rsa_modulus_bits(key_bits: &[u8]) -> Result<usize> {
    Ok(bit_length(rsa_public_key(key_bits)?.modulus.as_bytes()))
}

/// The CPS 6.1.6 RSA checks on a PKCS#1 RSAPublicKey.
pub(crate) fn check_rsa_key(key_bits: &[u8]) -> Result<KeyQuality> {
    let key = rsa_public_key(key_bits)?;
    let n = key.modulus.as_bytes();
    let e = key.public_exponent.as_bytes();
    let modulus_bits = bit_length(n);
    let weak = |check: KeyCheck, problem: String| X509Error::WeakKey {
        key: "RSA",
        check,
        problem,
    };
    let mut checks = Vec::new();

    if e.last().is_none_or(|b| b & 1 == 0) {
        return Err(weak(
            KeyCheck::RsaExponentOdd,
            "the public exponent e is even".into(),
        ));
    }
    checks.push(KeyCheck::RsaExponentOdd);

    // e is odd here, so e >= 2^16+1 exactly when it has at least 17 bits: the 17-bit odd
    // numbers are 2^16+1 to 2^17-1.
    let e_bits = bit_length(e);
    if e_bits < 17 {
        return Err(weak(
            KeyCheck::RsaExponentRange,
            format!(
                "the public exponent e = 0x{} is below 2^16+1",
                hex::encode_upper(e)
            ),
        ));
    }
    if e_bits > 256 {
        return Err(weak(
            KeyCheck::RsaExponentRange,
            "the public exponent e is above 2^256-1".into(),
        ));
    }
    checks.push(KeyCheck::RsaExponentRange);

    if e != weak_keys::F4 {
        return Err(weak(
            KeyCheck::RsaExponentF4,
            format!(
                "the public exponent e = 0x{} is not 65537: only 65537 is accepted, as \
                 boulder's goodkey does",
                hex::encode_upper(e)
            ),
        ));
    }
    checks.push(KeyCheck::RsaExponentF4);

    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err(weak(
            KeyCheck::RsaModulusOdd,
            "the modulus n is even".into(),
        ));
    }
    checks.push(KeyCheck::RsaModulusOdd);

    if let Some(p) = small_primes(SMALLEST_ALLOWED_FACTOR)
        .into_iter()
        .find(|&p| remainder(n, p) == 0)
    {
        return Err(weak(
            KeyCheck::RsaModulusNoSmallFactor,
            format!("the modulus n has the factor {p}, below {SMALLEST_ALLOWED_FACTOR}"),
        ));
    }
    checks.push(KeyCheck::RsaModulusNoSmallFactor);

    if let Some(b) = perfect_power_exponent(n) {
        return Err(weak(
            KeyCheck::RsaModulusNotPerfectPower,
            format!("the modulus n is a perfect power: n = r^{b} for an integer r"),
        ));
    }
    checks.push(KeyCheck::RsaModulusNotPerfectPower);

    if let Some(p) = weak_keys::small_factor(n, SMALLEST_ALLOWED_FACTOR) {
        return Err(weak(
            KeyCheck::RsaModulusNoFactorBelow65536,
            format!("the modulus n has the factor {p}, below 2^16"),
        ));
    }
    checks.push(KeyCheck::RsaModulusNoFactorBelow65536);

    if weak_keys::has_roca_fingerprint(n) {
        return Err(weak(
            KeyCheck::RsaModulusNotRoca,
            "the modulus n has the ROCA fingerprint of Infineon RSALib keys, which can be \
             factored"
                .into(),
        ));
    }
    checks.push(KeyCheck::RsaModulusNotRoca);

    if let Some((p, _, round)) = weak_keys::fermat_factors(n, weak_keys::FERMAT_ROUNDS) {
        return Err(weak(
            KeyCheck::RsaModulusNotFermatFactorable,
            format!(
                "Fermat's method factors the modulus n in {round} rounds (a factor of {} \
                 bits): its primes are too close together",
                p.bits()
            ),
        ));
    }
    checks.push(KeyCheck::RsaModulusNotFermatFactorable);

    Ok(KeyQuality {
        key: PublicKeyType::Rsa { modulus_bits },
        checks,
    })
}

/// The smallest prime b such that n = r^b for an integer r, if any.
///
/// Any perfect power n = r^k is also r'^b for each prime b dividing k, so trying the prime
/// exponents from 2 up to log2(n) finds every one. The b-th root is num-bigint's integer root
/// (Newton's method), rounded down, so r^b == n exactly when n is a b-th power; because that
/// root costs milliseconds for a 4096-bit n, [`may_be_power`] first rules out, with
/// certainty, almost every exponent for which n is not a power.
fn perfect_power_exponent(n_be: &[u8]) -> Option<u32> {
    let n = BigUint::from_bytes_be(n_be);
    let max_exponent = u32::try_from(n.bits()).unwrap_or(u32::MAX);
    small_primes(max_exponent.saturating_add(1))
        .into_iter()
        .find(|&b| may_be_power(n_be, b) && n.nth_root(b).pow(b) == n)
}

/// Primes q = 1 (mod b) that [`may_be_power`] tries for each exponent b.
const POWER_RESIDUE_PRIMES: usize = 4;
/// Bound on those q, so that [`remainder`] and [`pow_mod`] stay within machine words.
const POWER_RESIDUE_LIMIT: u32 = 1 << 23;

/// False only when n is certainly not a b-th power: if n = r^b and a prime q = 1 (mod b)
/// does not divide n, then n^((q-1)/b) = r^(q-1) = 1 (mod q) by Fermat's little theorem.
/// For n that is not a b-th power, each such q finds it out with probability 1 - 1/b.
fn may_be_power(n_be: &[u8], b: u32) -> bool {
    let mut tried = 0;
    let mut q = 2 * b + 1;
    while tried < POWER_RESIDUE_PRIMES && q < POWER_RESIDUE_LIMIT {
        if is_prime(q) {
            let r = remainder(n_be, q);
            if r != 0 {
                if pow_mod(r, (q - 1) / b, q) != 1 {
                    return false;
                }
                tried += 1;
            }
        }
        q += 2 * b;
    }
    true
}

/// `base^exponent mod modulus` for a modulus below 2^32.
pub(crate) fn pow_mod(base: u32, mut exponent: u32, modulus: u32) -> u32 {
    let m = u64::from(modulus);
    let mut base = u64::from(base) % m;
    let mut result = 1 % m;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = result * base % m;
        }
        base = base * base % m;
        exponent >>= 1;
    }
    // result < modulus, which is a u32.
    result as u32
}

/// Trial division; only ever asked about numbers below [`POWER_RESIDUE_LIMIT`].
fn is_prime(q: u32) -> bool {
    q >= 2
        && (2..)
            .take_while(|d| d * d <= q)
            .all(|d| !q.is_multiple_of(d))
}

/// NIST SP 800-56A rev. 2 5.6.2.3.2, ECC Full Public Key Validation, step by step on the
/// subjectPublicKey of a P-384 key, so that each failure is named. Decoding with p384 alone
/// would also refuse a bad point, but without saying which step failed.
pub(crate) fn check_p384_point(point: &[u8]) -> Result<KeyQuality> {
    let weak = |check: KeyCheck, problem: &str| X509Error::WeakKey {
        key: "ECC P-384",
        check,
        problem: problem.into(),
    };
    let mut checks = Vec::new();

    // Step 1. SEC 1 2.3.3 encodes the point at infinity as the single octet 00.
    if point == [0x00] {
        return Err(weak(
            KeyCheck::EcPointNotIdentity,
            "the public key is the point at infinity",
        ));
    }
    checks.push(KeyCheck::EcPointNotIdentity);

    if point.len() != P384_UNCOMPRESSED_LEN || point[0] != 0x04 {
        return Err(X509Error::InvalidPublicKey(
            "the P-384 public key is not an uncompressed point (RFC 5480 2.2)".into(),
        ));
    }
    let (x_bytes, y_bytes) = point[1..].split_at(P384_COORDINATE_LEN);
    let x_repr = FieldBytes::try_from(x_bytes)
        .map_err(|_| X509Error::InvalidPublicKey("the x coordinate is not 48 bytes".into()))?;
    let y_repr = FieldBytes::try_from(y_bytes)
        .map_err(|_| X509Error::InvalidPublicKey("the y coordinate is not 48 bytes".into()))?;

    // Step 2. from_repr refuses an integer that is not below p.
    let (Some(x), Some(y)) = (
        Option::<FieldElement>::from(FieldElement::from_repr(x_repr)),
        Option::<FieldElement>::from(FieldElement::from_repr(y_repr)),
    ) else {
        return Err(weak(
            KeyCheck::EcCoordinatesInRange,
            "a coordinate of the public key is not below the field prime p",
        ));
    };
    checks.push(KeyCheck::EcCoordinatesInRange);

    // Step 3. y^2 = x^3 + ax + b over GF(p).
    let rhs = x.square() * x + NistP384::EQUATION_A * x + NistP384::EQUATION_B;
    if y.square() != rhs {
        return Err(weak(
            KeyCheck::EcPointOnCurve,
            "the public key is not a point on the curve",
        ));
    }
    checks.push(KeyCheck::EcPointOnCurve);

    // Step 4. The order n is 0 as a Scalar, so n*Q is computed as (n-1)*Q + Q.
    let affine = Option::<AffinePoint>::from(AffinePoint::from_coordinates(&x_repr, &y_repr))
        .ok_or_else(|| {
            weak(
                KeyCheck::EcPointOnCurve,
                "p384 does not accept the point as on the curve",
            )
        })?;
    let q = ProjectivePoint::from(affine);
    let n_minus_one = Scalar::ZERO - Scalar::ONE;
    if !bool::from((q * n_minus_one + q).is_identity()) {
        return Err(weak(
            KeyCheck::EcPointOrder,
            "n*Q is not the point at infinity",
        ));
    }
    checks.push(KeyCheck::EcPointOrder);

    Ok(KeyQuality {
        key: PublicKeyType::EcP384,
        checks,
    })
}

/// Number of significant bits of a big-endian unsigned integer.
fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
        None => 0,
    }
}

/// `be mod p` for a big-endian unsigned integer and a small modulus.
pub(crate) fn remainder(be: &[u8], p: u32) -> u32 {
    be.iter().fold(0u32, |r, &b| ((r << 8) | u32::from(b)) % p)
}

/// The primes below `limit` (sieve of Eratosthenes).
pub(crate) fn small_primes(limit: u32) -> Vec<u32> {
    let mut composite = vec![false; limit as usize];
    let mut primes = Vec::new();
    for i in 2..limit {
        if !composite[i as usize] {
            primes.push(i);
            let mut j = i * i;
            while j < limit {
                composite[j as usize] = true;
                j += i;
            }
        }
    }
    primes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(bit_length(&[0x00, 0x01, 0x00, 0x01]), 17);
        assert_eq!(bit_length(&[0x80]), 8);
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(remainder(&[0x01, 0x00], 7), 256 % 7);
        let primes = small_primes(SMALLEST_ALLOWED_FACTOR);
        assert_eq!(primes.first(), Some(&2));
        assert_eq!(primes.last(), Some(&751));
        assert_eq!(primes.len(), 133);
    }

    #[test]
    fn perfect_powers() {
        let n = |v: u64| v.to_be_bytes();
        assert_eq!(perfect_power_exponent(&n(757 * 757)), Some(2));
        assert_eq!(perfect_power_exponent(&n(757 * 757 * 757)), Some(3));
        assert_eq!(perfect_power_exponent(&n(761u64.pow(6))), Some(2));
        assert_eq!(perfect_power_exponent(&n(3u64.pow(37))), Some(37));
        assert_eq!(perfect_power_exponent(&n(1 << 61)), Some(61));
        assert_eq!(perfect_power_exponent(&n(757 * 761)), None);
        assert_eq!(perfect_power_exponent(&n(757)), None);
    }

    #[test]
    fn power_residue_filter_never_refuses_a_power() {
        for (r, b) in [(757u64, 2u32), (1021, 3), (3, 37), (2, 61), (65_537, 3)] {
            let power = r.pow(b);
            assert!(may_be_power(&power.to_be_bytes(), b), "{r}^{b}");
        }
        // 2 is not a square modulo 5, the first q tried for b = 2.
        assert!(!may_be_power(&[2], 2));
        assert_eq!(pow_mod(3, 4, 5), 1);
        assert_eq!(pow_mod(2, 10, 1_000_003), 1024);
        assert!(is_prime(7) && is_prime(8_388_593) && !is_prime(1) && !is_prime(91));
    }

    #[test]
    fn the_generator_passes_full_validation() {
        let generator =
            p384::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&AffinePoint::GENERATOR, false);
        let quality = check_p384_point(generator.as_bytes()).expect("generator");
        assert_eq!(quality.checks.len(), 4);
    }
}
