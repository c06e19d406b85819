//! A root's public key, checked once. The CPS 6.1.5 and 6.1.6 checks depend on the
//! subjectPublicKeyInfo's bytes alone, and RSA's take milliseconds: the key read from the
//! token is checked when it is generated, and the TBS builder, the TBS reader, the check
//! of the signed certificate, the lint and the report are given the result instead of
//! running the checks again on the same bytes.

use crate::{algorithm::SignatureAlgorithm, error::Result, quality::KeyQuality};

/// A DER subjectPublicKeyInfo that passed
/// [`SignatureAlgorithm::for_public_key`]: a key CPS 6.1.5 allows (RSA-4096 or P-384), in
/// its BR 7.1.3.1 encoding, that passed every CPS 6.1.6 check. Made only by
/// [`CheckedKey::new`]. Where the same bytes come again (in a TBS, a signed certificate, a
/// public key file) this result stands for them; other bytes are checked afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedKey {
    spki_der: Vec<u8>,
    algorithm: SignatureAlgorithm,
    quality: KeyQuality,
}

impl CheckedKey {
    /// Runs the checks of [`SignatureAlgorithm::for_public_key`] on `spki_der`, once.
    pub fn new(spki_der: &[u8]) -> Result<CheckedKey> {
        let (algorithm, quality) = SignatureAlgorithm::with_quality(spki_der)?;
        Ok(CheckedKey {
            spki_der: spki_der.to_vec(),
            algorithm,
            quality,
        })
    }

    /// The subjectPublicKeyInfo, DER, as it was checked.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The signature algorithm the key fixes (CPS 6.1.5).
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The CPS 6.1.6 checks the key passed, in the order they ran.
    pub fn quality(&self) -> &KeyQuality {
        &self.quality
    }
}

/// The signature algorithm of the key `spki_der`: `known`'s when the bytes are its, else
/// from the checks of [`SignatureAlgorithm::for_public_key`].
pub(crate) fn algorithm_of(
    spki_der: &[u8],
    known: Option<&CheckedKey>,
) -> Result<SignatureAlgorithm> {
    match known {
        Some(key) if key.spki_der == spki_der => Ok(key.algorithm),
        _ => SignatureAlgorithm::for_public_key(spki_der),
    }
}
