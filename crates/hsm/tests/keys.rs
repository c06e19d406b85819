//! Key generation, attributes, public keys and signatures against real
//! tokens, checked with independent software verifiers: P-384 keys on both
//! SoftHSM2 and kryoptic, RSA-4096 on SoftHSM2 (the ceremonies make RSA keys
//! on kryoptic, tests/kryoptic.rs).

mod common;

use std::process::Command;

use common::{Hsm, each_module, hsm, user_pin, user_session};
use der::Decode;
use der::asn1::ObjectIdentifier;
use keyceremony_hsm::{
    HsmError, KeyAlgorithm, KeyGenSpec, KeyPair, ObjectClass, ObjectFilter, SecretString, Session,
};
use p384::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use spki::SubjectPublicKeyInfoRef;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

const MESSAGE: &[u8] = b"tbsCertificate of the Example Root CA";

fn spec(algorithm: KeyAlgorithm, label: &str, id: &[u8], always_authenticate: bool) -> KeyGenSpec {
    KeyGenSpec {
        algorithm,
        label: label.to_owned(),
        id: id.to_vec(),
        always_authenticate,
    }
}

fn verify_p384(session: &Session, key: &KeyPair, signature: &[u8]) {
    let spki = session.public_key_spki_der(key).expect("SPKI");
    let verifier = p384::ecdsa::VerifyingKey::from_public_key_der(&spki).expect("P-384 SPKI");
    let signature = p384::ecdsa::Signature::from_slice(signature).expect("r || s");
    verifier
        .verify(MESSAGE, &signature)
        .expect("P-384 signature verifies");
}

fn assert_cps_compliant(session: &Session, key: &KeyPair, always_authenticate: bool) {
    let private = session
        .private_key_attributes(key)
        .expect("private attributes");
    assert!(private.sensitive && private.always_sensitive, "{private:?}");
    assert!(
        !private.extractable && private.never_extractable,
        "{private:?}"
    );
    assert!(
        private.local && private.sign && private.token && private.private,
        "{private:?}"
    );
    assert!(
        !private.decrypt && !private.unwrap && !private.derive,
        "{private:?}"
    );
    assert_eq!(private.always_authenticate, always_authenticate);
    assert_eq!(private.problems(always_authenticate), Vec::<String>::new());
    assert_eq!(private.problems(!always_authenticate).len(), 1);

    let public = session
        .public_key_attributes(key)
        .expect("public attributes");
    assert!(
        public.verify && public.token && !public.private,
        "{public:?}"
    );
    assert!(!public.encrypt && !public.wrap, "{public:?}");
}

#[test]
fn rsa_4096_key_is_compliant_and_signs_with_per_signature_pin() {
    let hsm = hsm();
    let (token, _label) = hsm.new_token("rsa");
    let session = user_session(&token);
    let key = session
        .generate_key_pair(&spec(
            KeyAlgorithm::Rsa4096,
            "root-rsa-2026",
            &[0x52, 0x01],
            true,
        ))
        .expect("generate RSA-4096");
    assert_eq!(key.algorithm.to_string(), "RSA-4096");
    assert_cps_compliant(&session, &key, true);
    let private = session.private_key_attributes(&key).expect("attributes");
    assert_eq!(private.key_type, "CKK_RSA");
    let public = session.public_key_attributes(&key).expect("attributes");
    assert_eq!(public.modulus_bits, Some(4096));

    let spki_der = session.public_key_spki_der(&key).expect("SPKI");
    let spki = SubjectPublicKeyInfoRef::from_der(&spki_der).expect("SPKI parses");
    assert_eq!(spki.algorithm.oid, RSA_ENCRYPTION);
    assert!(
        spki.algorithm
            .parameters
            .expect("NULL parameters")
            .is_null()
    );

    let err = session.sign_sha384(&key, MESSAGE, None).unwrap_err();
    assert!(matches!(err, HsmError::NotLoggedIn { .. }), "{err:?}");
    let signature = session
        .sign_sha384(&key, MESSAGE, Some(&user_pin()))
        .expect("sign with the context PIN");
    assert_eq!(signature.len(), 512);

    let public_key = rsa::PublicKey::from_public_key_der(&spki_der).expect("RSA SPKI");
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(public_key);
    let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice()).expect("signature");
    verifier
        .verify(MESSAGE, &signature)
        .expect("RSA signature verifies");
    assert!(verifier.verify(b"another message", &signature).is_err());
}

#[test]
fn p384_key_is_compliant_and_signs() {
    each_module(p384_key_is_compliant_and_signs_on);
}

fn p384_key_is_compliant_and_signs_on(hsm: &Hsm) {
    let (token, _label) = hsm.new_token("ec");
    let session = user_session(&token);
    let key = session
        .generate_key_pair(&spec(
            KeyAlgorithm::EcP384,
            "root-ec-2026",
            &[0xEC, 0x01],
            false,
        ))
        .expect("generate P-384");
    assert_eq!(key.algorithm.to_string(), "ECC P-384");
    assert_cps_compliant(&session, &key, false);
    let private = session.private_key_attributes(&key).expect("attributes");
    assert_eq!(private.key_type, "CKK_EC");
    assert_eq!(
        session
            .public_key_attributes(&key)
            .expect("attributes")
            .modulus_bits,
        None
    );

    let spki_der = session.public_key_spki_der(&key).expect("SPKI");
    let spki = SubjectPublicKeyInfoRef::from_der(&spki_der).expect("SPKI parses");
    assert_eq!(spki.algorithm.oid, ID_EC_PUBLIC_KEY);
    assert_eq!(
        spki.algorithm.parameters_oid().expect("named curve"),
        SECP384R1
    );
    assert_eq!(spki.subject_public_key.raw_bytes().len(), 97);

    let signature = session.sign_sha384(&key, MESSAGE, None).expect("sign");
    assert_eq!(signature.len(), 96);
    verify_p384(&session, &key, &signature);
    // A context PIN is harmless for a key that does not need one.
    let signature = session
        .sign_sha384(&key, MESSAGE, Some(&user_pin()))
        .expect("sign with an unneeded PIN");
    verify_p384(&session, &key, &signature);
}

#[test]
fn always_authenticate_p384_key_needs_the_pin_for_each_signature() {
    each_module(always_authenticate_p384_key_needs_the_pin_for_each_signature_on);
}

fn always_authenticate_p384_key_needs_the_pin_for_each_signature_on(hsm: &Hsm) {
    let (token, _label) = hsm.new_token("ec-aa");
    let session = user_session(&token);
    let key = session
        .generate_key_pair(&spec(KeyAlgorithm::EcP384, "root-ec-aa", &[0xAA], true))
        .expect("generate P-384");
    assert_cps_compliant(&session, &key, true);

    let err = session.sign_sha384(&key, MESSAGE, None).unwrap_err();
    assert!(matches!(err, HsmError::NotLoggedIn { .. }), "{err:?}");
    assert!(err.to_string().contains("CKA_ALWAYS_AUTHENTICATE"), "{err}");

    let wrong = SecretString::from("wrong-pin-0000");
    let err = session
        .sign_sha384(&key, MESSAGE, Some(&wrong))
        .unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect), "{err:?}");

    // The failed attempts left no signing operation behind.
    for _ in 0..2 {
        let signature = session
            .sign_sha384(&key, MESSAGE, Some(&user_pin()))
            .expect("sign with the context PIN");
        verify_p384(&session, &key, &signature);
    }
}

#[test]
fn keys_are_found_again_by_label_and_id() {
    each_module(keys_are_found_again_by_label_and_id_on);
}

fn keys_are_found_again_by_label_and_id_on(hsm: &Hsm) {
    let (token, label) = hsm.new_token("find-keys");
    let session = user_session(&token);
    let id = [0x01, 0x02, 0x03];
    let key = session
        .generate_key_pair(&spec(KeyAlgorithm::EcP384, "ceremony-key", &id, false))
        .expect("generate P-384");

    let err = session
        .generate_key_pair(&spec(KeyAlgorithm::EcP384, "other-key", &id, false))
        .unwrap_err();
    assert!(matches!(err, HsmError::KeyIdInUse { .. }), "{err:?}");

    let by_label = session
        .find_objects(&ObjectFilter::label("ceremony-key"))
        .expect("find by label");
    let mut classes: Vec<ObjectClass> = by_label.iter().map(|o| o.class).collect();
    classes.sort_by_key(|c| c.to_string());
    assert_eq!(classes, [ObjectClass::PrivateKey, ObjectClass::PublicKey]);
    assert!(
        by_label
            .iter()
            .all(|o| o.id == id && o.key_type.as_deref() == Some("CKK_EC"))
    );

    let private_only = session
        .find_objects(&ObjectFilter {
            id: Some(id.to_vec()),
            class: Some(ObjectClass::PrivateKey),
            ..ObjectFilter::default()
        })
        .expect("find by id and class");
    assert_eq!(private_only.len(), 1);
    assert_eq!(private_only[0].handle, key.private);
    assert_eq!(private_only[0].label, "ceremony-key");

    // A new session, as after an interrupted ceremony, recovers the pair.
    session.close().expect("close");
    let token = hsm.module.token_by_label(&label).expect("token");
    let session = user_session(&token);
    let found = session
        .find_key_pair(&id)
        .expect("find key pair")
        .expect("key pair exists");
    assert_eq!(found.label, "ceremony-key");
    assert_eq!(found.algorithm, KeyAlgorithm::EcP384);
    assert_eq!(found.id, id);
    let signature = session.sign_sha384(&found, MESSAGE, None).expect("sign");
    verify_p384(&session, &found, &signature);

    assert_eq!(session.find_key_pair(&[0xFF]).expect("search"), None);
}

#[test]
fn private_keys_are_invisible_without_login() {
    each_module(private_keys_are_invisible_without_login_on);
}

fn private_keys_are_invisible_without_login_on(hsm: &Hsm) {
    let (token, _label) = hsm.new_token("nologin");
    let session = user_session(&token);
    session
        .generate_key_pair(&spec(KeyAlgorithm::EcP384, "hidden", &[0x0A], false))
        .expect("generate");
    session.logout().expect("logout");
    let visible = session
        .find_objects(&ObjectFilter::id([0x0A]))
        .expect("find");
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].class, ObjectClass::PublicKey);
    let err = session
        .generate_key_pair(&spec(KeyAlgorithm::EcP384, "denied", &[0x0B], false))
        .unwrap_err();
    assert!(matches!(err, HsmError::NotLoggedIn { .. }), "{err:?}");
}

#[test]
fn pkcs11_tool_confirms_the_private_key_never_leaves_the_token() {
    let hsm = hsm();
    let (token, label) = hsm.new_token("opensc");
    let session = user_session(&token);
    session
        .generate_key_pair(&spec(KeyAlgorithm::EcP384, "opensc-check", &[0x0C], false))
        .expect("generate");

    let output = Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", hsm.lab.config())
        .arg("--module")
        .arg(&hsm.module_path)
        .args([
            "--token-label",
            &label,
            "--list-objects",
            "--login",
            "--pin",
        ])
        .arg("user-pin-1357")
        .output()
        .unwrap_or_else(|e| panic!("cannot run pkcs11-tool ({e}): run `apt-get install opensc`"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pkcs11-tool failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let private = object_blocks(&stdout)
        .into_iter()
        .find(|block| block.starts_with("Private Key Object"))
        .unwrap_or_else(|| panic!("no private key in:\n{stdout}"));
    assert!(
        private.contains("Access:     sensitive, always sensitive, never extractable, local"),
        "unexpected access flags in:\n{private}"
    );
    assert!(private.contains("Usage:      sign"), "{private}");
    for forbidden in ["decrypt", "unwrap", "derive"] {
        assert!(!private.contains(forbidden), "{private}");
    }
}

/// Splits pkcs11-tool's listing into one block per object: each object
/// starts with an unindented header line such as "Private Key Object; EC".
fn object_blocks(listing: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in listing.lines() {
        match blocks.last_mut() {
            Some(block) if line.starts_with(' ') => {
                block.push('\n');
                block.push_str(line);
            }
            _ => blocks.push(line.to_owned()),
        }
    }
    blocks
}
