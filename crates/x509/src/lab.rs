//! What a rehearsal lab needs of a subordinate CA: its PKCS#10 request, as it would hand one
//! to the root's ceremony, made here with a P-384 key in software (a real subordinate CA
//! makes its key in its own HSM). Never used by a ceremony itself.

use der::{Encode, asn1::BitString};
use p384::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p384::pkcs8::EncodePublicKey;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::{
    algorithm::SignatureAlgorithm,
    error::{Result, X509Error},
    name::DistinguishedName,
};

/// A CSR for `subject` with a fresh P-384 key from `secret` (48 bytes from the system's
/// random generator; another draw is needed in the rare case they are not a valid scalar),
/// signed ecdsa-with-SHA384. Returns the CSR DER; the key is dropped.
pub fn rehearsal_certification_request(
    subject: &DistinguishedName,
    secret: &[u8; 48],
) -> Result<Vec<u8>> {
    let build = |e: &dyn std::fmt::Display| X509Error::Build(e.to_string());
    let key = SigningKey::from_slice(secret).map_err(|e| build(&e))?;
    let spki_der = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| build(&e))?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.to_name()?,
        public_key: SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes())
            .map_err(|e| build(&e))?,
        attributes: Default::default(),
    };
    let info_der = info.to_der().map_err(|e| build(&e))?;
    let signature: DerSignature = key.sign(&info_der);
    let request = CertReq {
        info,
        algorithm: SignatureAlgorithm::EcdsaWithSha384.algorithm_identifier(),
        signature: BitString::from_bytes(signature.as_bytes()).map_err(|e| build(&e))?,
    };
    request.to_der().map_err(|e| build(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rehearsal_request_verifies_and_names_its_subject() {
        let subject = DistinguishedName {
            country: "JP".into(),
            state_or_province: None,
            locality: None,
            organization: "Example Trust Co., Ltd.".into(),
            common_name: "Example Rehearsal Issuing CA".into(),
        };
        let der = rehearsal_certification_request(&subject, &[0x42; 48]).expect("CSR");
        let csr = crate::read_certification_request(&der).expect("its signature verifies");
        csr.check_subject(&subject).expect("the subject asked for");
        crate::check_certified_key(&csr.subject_public_key_info).expect("a P-384 key");
    }
}
