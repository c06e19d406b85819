//! Key quality (CPS 6.1.6) on the public key read from the token, and the policy's
//! algorithms (CPS 6.1.5): real keys pass, each broken key is refused naming its check.

mod common;

use common::{
    P256_PUB_PEM, RSA_KEY_PEM, RSA2048_PUB_PEM, RSA4096_E3_PUB_PEM, TestKey, reference_policy,
    spki_from_pem, spki_with_key_bits,
};
use der::{Encode, Sequence, asn1::UintRef};
use keyceremony_policy::{KeyCheck, PolicyError, PublicKeyType, check_public_key};
use num_bigint::BigUint;
use p384::pkcs8::DecodePrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};

/// PKCS#1 RSAPublicKey, to build keys the HSM would never make.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The P-384 field prime p.
const P384_PRIME_HEX: &str = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff";

fn test_rsa_key() -> rsa::PrivateKey {
    rsa::PrivateKey::from_pkcs8_pem(RSA_KEY_PEM).expect("RSA test key")
}

fn big(uint: &rsa::BoxedUint) -> BigUint {
    BigUint::from_bytes_be(&uint.to_be_bytes())
}

/// An rsaEncryption SPKI (NULL parameters, as the token gives) for any n and e.
fn rsa_spki(n: &BigUint, e: &BigUint) -> Vec<u8> {
    let n = n.to_bytes_be();
    let e = e.to_bytes_be();
    let key = RsaPublicKey {
        modulus: UintRef::new(&n).expect("n"),
        public_exponent: UintRef::new(&e).expect("e"),
    }
    .to_der()
    .expect("der");
    spki_with_key_bits(&TestKey::rsa().spki(), &key)
}

fn refused(spki: &[u8], check: KeyCheck, words: &str) -> PolicyError {
    let err = check_public_key(spki).expect_err(words);
    assert_eq!(err.failed_key_check(), Some(check), "{err}");
    assert_eq!(err.section(), Some(check.section()), "{err}");
    let message = err.to_string();
    assert!(message.contains(check.section()), "{message}");
    assert!(message.contains(words), "{message}");
    err
}

fn e_65537() -> BigUint {
    BigUint::from(65_537u32)
}

#[test]
fn the_rsa_4096_test_key_passes() {
    let spki = TestKey::rsa().spki();
    let quality = check_public_key(&spki).expect("quality");
    assert_eq!(quality.key, PublicKeyType::Rsa { modulus_bits: 4096 });
    assert_eq!(
        quality.checks,
        [
            KeyCheck::RsaExponentOdd,
            KeyCheck::RsaExponentRange,
            KeyCheck::RsaExponentF4,
            KeyCheck::RsaModulusOdd,
            KeyCheck::RsaModulusNoSmallFactor,
            KeyCheck::RsaModulusNotPerfectPower,
            KeyCheck::RsaModulusNoFactorBelow65536,
            KeyCheck::RsaModulusNotRoca,
            KeyCheck::RsaModulusNotFermatFactorable,
        ]
    );
    let checked = reference_policy().check_key(&spki).expect("allowed");
    assert_eq!(checked.quality(), &quality);
    assert_eq!(checked.spki_der(), spki.as_slice());
}

#[test]
fn fresh_p384_keys_pass_full_validation() {
    for _ in 0..4 {
        let spki = TestKey::p384().spki();
        let checked = reference_policy().check_key(&spki).expect("quality");
        let quality = checked.quality();
        assert_eq!(quality.key, PublicKeyType::EcP384);
        assert_eq!(
            quality.checks,
            [
                KeyCheck::EcPointNotIdentity,
                KeyCheck::EcCoordinatesInRange,
                KeyCheck::EcPointOnCurve,
                KeyCheck::EcPointOrder,
            ]
        );
    }
}

#[test]
fn rsa_2048_is_sound_but_not_allowed() {
    let spki = spki_from_pem(RSA2048_PUB_PEM);
    let quality = check_public_key(&spki).expect("a sound key");
    assert_eq!(quality.key, PublicKeyType::Rsa { modulus_bits: 2048 });
    let err = reference_policy().check_key(&spki).expect_err("RSA-2048");
    assert!(matches!(err, PolicyError::KeyNotAllowed { .. }), "{err}");
    assert_eq!(err.section(), Some("CPS 6.1.5"));
    assert!(err.to_string().contains("RSA-2048"), "{err}");
}

#[test]
fn p256_is_refused() {
    let err = check_public_key(&spki_from_pem(P256_PUB_PEM)).expect_err("P-256");
    assert_eq!(err.section(), Some("CPS 6.1.5"), "{err}");
    assert!(err.to_string().contains("ECC P-256"), "{err}");
}

#[test]
fn exponent_3_is_refused() {
    let spki = spki_from_pem(RSA4096_E3_PUB_PEM);
    refused(&spki, KeyCheck::RsaExponentRange, "below 2^16+1");
    // The policy check runs the quality checks too.
    let err = reference_policy().check_key(&spki).expect_err("e = 3");
    assert_eq!(err.failed_key_check(), Some(KeyCheck::RsaExponentRange));
}

#[test]
fn even_and_oversized_exponents_are_refused() {
    let n = big(test_rsa_key().n());
    refused(
        &rsa_spki(&n, &BigUint::from(65_536u32)),
        KeyCheck::RsaExponentOdd,
        "e is even",
    );
    let huge = (BigUint::from(1u8) << 256u32) + 1u8;
    refused(
        &rsa_spki(&n, &huge),
        KeyCheck::RsaExponentRange,
        "above 2^256-1",
    );
}

#[test]
fn even_modulus_is_refused() {
    let n = big(test_rsa_key().n()) + 1u8;
    refused(
        &rsa_spki(&n, &e_65537()),
        KeyCheck::RsaModulusOdd,
        "n is even",
    );
}

/// A 4096-bit n = factor * q, q odd with no prime factor below `factor`, so that `factor`
/// is the smallest factor of n.
fn modulus_with_smallest_factor(factor: u32) -> BigUint {
    let mut q = (BigUint::from(1u8) << 4095u32) / factor + 1u8;
    if !q.bit(0) {
        q += 1u8;
    }
    let primes: Vec<u32> = (3..factor)
        .filter(|p| (2..*p).take_while(|d| d * d <= *p).all(|d| p % d != 0))
        .collect();
    while primes.iter().any(|p| (&q % *p) == BigUint::from(0u8)) {
        q += 2u8;
    }
    let n = &q * factor;
    assert_eq!(n.bits(), 4096);
    n
}

#[test]
fn modulus_with_a_small_factor_is_refused() {
    refused(
        &rsa_spki(&modulus_with_smallest_factor(751), &e_65537()),
        KeyCheck::RsaModulusNoSmallFactor,
        "the factor 751",
    );
}

#[test]
fn perfect_power_modulus_is_refused() {
    // The square of a 2048-bit prime of the test key: odd, no small factor, 4096 bits.
    let key = test_rsa_key();
    let p = big(key.primes()[0].as_ref());
    let n = &p * &p;
    assert!(n.bits() >= 4095);
    refused(
        &rsa_spki(&n, &e_65537()),
        KeyCheck::RsaModulusNotPerfectPower,
        "r^2",
    );
    // The cube of the other prime (a 6144-bit n: the quality checks take any size).
    let q = big(key.primes()[1].as_ref());
    refused(
        &rsa_spki(&(&q * &q * &q), &e_65537()),
        KeyCheck::RsaModulusNotPerfectPower,
        "r^3",
    );
}

fn p384_point() -> (Vec<u8>, Vec<u8>) {
    let spki = TestKey::p384().spki();
    let parsed = spki::SubjectPublicKeyInfoRef::try_from(spki.as_slice()).expect("spki");
    let point = parsed
        .subject_public_key
        .as_bytes()
        .expect("octets")
        .to_vec();
    assert_eq!((point.len(), point[0]), (97, 0x04));
    (spki, point)
}

#[test]
fn point_off_the_curve_is_refused() {
    let (spki, mut point) = p384_point();
    point[96] ^= 0x01;
    refused(
        &spki_with_key_bits(&spki, &point),
        KeyCheck::EcPointOnCurve,
        "not a point on the curve",
    );
    let (spki, mut point) = p384_point();
    point[20] ^= 0x80;
    refused(
        &spki_with_key_bits(&spki, &point),
        KeyCheck::EcPointOnCurve,
        "not a point on the curve",
    );
}

#[test]
fn identity_point_is_refused() {
    let (spki, _) = p384_point();
    refused(
        &spki_with_key_bits(&spki, &[0x00]),
        KeyCheck::EcPointNotIdentity,
        "point at infinity",
    );
}

#[test]
fn coordinates_out_of_range_are_refused() {
    let prime = hex::decode(P384_PRIME_HEX).expect("hex");
    let (spki, point) = p384_point();
    for x in [prime.clone(), vec![0xff; 48]] {
        let mut bad = point.clone();
        bad[1..49].copy_from_slice(&x);
        refused(
            &spki_with_key_bits(&spki, &bad),
            KeyCheck::EcCoordinatesInRange,
            "not below the field prime p",
        );
    }
    let mut bad = point.clone();
    bad[49..].copy_from_slice(&prime);
    refused(
        &spki_with_key_bits(&spki, &bad),
        KeyCheck::EcCoordinatesInRange,
        "not below the field prime p",
    );
}

/// Deterministic "random" numbers for the weak-key constructions: SHA-256 of a label and a
/// counter, so that every run builds the same keys.
struct Stream {
    label: &'static str,
    counter: u64,
}

impl Stream {
    fn new(label: &'static str) -> Self {
        Stream { label, counter: 0 }
    }

    /// A number of exactly `bits` bits (top bit set).
    fn number(&mut self, bits: u64) -> BigUint {
        use sha2::{Digest, Sha256};
        let mut bytes = Vec::new();
        while (bytes.len() as u64) * 8 < bits {
            self.counter += 1;
            let block = Sha256::new()
                .chain_update(self.label.as_bytes())
                .chain_update(self.counter.to_be_bytes())
                .finalize();
            bytes.extend_from_slice(&block);
        }
        let value = BigUint::from_bytes_be(&bytes) >> ((bytes.len() as u64) * 8 - bits);
        value | (BigUint::from(1u8) << (bits - 1))
    }
}

/// Miller-Rabin with the first 16 primes as bases.
fn is_probable_prime(n: &BigUint) -> bool {
    let one = BigUint::from(1u8);
    let two = BigUint::from(2u8);
    if n < &two {
        return false;
    }
    let bases = [
        2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53,
    ];
    for p in bases {
        if n == &BigUint::from(p) {
            return true;
        }
        if (n % p) == BigUint::from(0u8) {
            return false;
        }
    }
    let n_minus_one = n - &one;
    let s = n_minus_one.trailing_zeros().expect("n > 1");
    let d = &n_minus_one >> s;
    'bases: for base in bases {
        let mut x = BigUint::from(base).modpow(&d, n);
        if x == one || x == n_minus_one {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&two, n);
            if x == n_minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// The first probable prime at or above `start`, stepping by `step` (even).
fn prime_from(mut candidate: BigUint, step: u32) -> BigUint {
    while !is_probable_prime(&candidate) {
        candidate += step;
    }
    candidate
}

#[test]
fn a_sound_1024_bit_product_of_two_primes_passes_every_check() {
    // The control for the constructions below: the same sizes, primes drawn apart.
    let mut stream = Stream::new("sound");
    let p = prime_from(stream.number(512) | BigUint::from(1u8), 2);
    let q = prime_from(stream.number(512) | BigUint::from(1u8), 2);
    let quality = check_public_key(&rsa_spki(&(&p * &q), &e_65537())).expect("sound");
    assert_eq!(quality.checks.len(), 9);
}

#[test]
fn an_exponent_other_than_65537_is_refused() {
    // 65539 is within CPS 6.1.6's range (it was once refused as "below 2^16+1"): the check
    // that refuses it is goodkey's.
    let n = big(test_rsa_key().n());
    refused(
        &rsa_spki(&n, &BigUint::from(65_539u32)),
        KeyCheck::RsaExponentF4,
        "0x010003 is not 65537",
    );
}

#[test]
fn a_modulus_of_two_close_primes_is_refused() {
    // p and q, two 512-bit primes 2^200 apart: Fermat's method factors their product in its
    // first round, as for any two primes whose difference is far below n^(1/4).
    let mut stream = Stream::new("close primes");
    let p = prime_from(stream.number(512) | BigUint::from(1u8), 2);
    let q = prime_from(&p + (BigUint::from(1u8) << 200u32), 2);
    assert!(is_probable_prime(&p) && is_probable_prime(&q) && p != q);
    let n = &p * &q;
    refused(
        &rsa_spki(&n, &e_65537()),
        KeyCheck::RsaModulusNotFermatFactorable,
        "in 1 rounds",
    );
}

#[test]
fn a_roca_modulus_is_refused() {
    // Primes made the way Infineon RSALib made them (ROCA paper, section 2.3): p = k*M +
    // (65537^a mod M), M the product of the first 39 primes (2 to 167), as for its 512-bit
    // primes; k and a drawn, k*M + (65537^a mod M) tried until it is prime.
    let primorial = (2u32..=167)
        .filter(|p| (2..*p).take_while(|d| d * d <= *p).all(|d| p % d != 0))
        .fold(BigUint::from(1u8), |m, p| m * p);
    let generator = BigUint::from(65_537u32);
    let mut stream = Stream::new("roca");
    let mut roca_prime = || loop {
        let exponent = stream.number(64);
        let residue = generator.modpow(&exponent, &primorial);
        let k = stream.number(512 - primorial.bits());
        let candidate = k * &primorial + residue;
        if is_probable_prime(&candidate) {
            return candidate;
        }
    };
    let (p, q) = (roca_prime(), roca_prime());
    let n = &p * &q;
    assert!(n.bits() >= 1020, "{} bits", n.bits());
    refused(
        &rsa_spki(&n, &e_65537()),
        KeyCheck::RsaModulusNotRoca,
        "ROCA fingerprint",
    );
}

#[test]
fn a_modulus_with_a_factor_above_752_and_below_65536_is_refused() {
    // 65521, the largest prime below 2^16: CPS 6.1.6's bound of 752 lets it through,
    // goodkey's wider net does not.
    refused(
        &rsa_spki(&modulus_with_smallest_factor(65_521), &e_65537()),
        KeyCheck::RsaModulusNoFactorBelow65536,
        "the factor 65521",
    );
}
