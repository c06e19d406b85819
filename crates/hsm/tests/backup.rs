//! Root key backup, restore and destruction (CPS 6.2.4, 6.2.10) on real
//! SoftHSM2 and kryoptic tokens. Every test runs on both modules and checks
//! each one's own behaviour where they differ (common::Expect): the RFC 5649
//! code (SoftHSM2 0x210A, kryoptic 0x210B), how the SO's trusted wrap key
//! goes in (SoftHSM2 C_CreateObject; kryoptic refuses CKA_TRUSTED there and
//! takes it through C_UnwrapKey), the codes each refuses a wrap with, and
//! what each sets on an unwrapped key.

mod common;
mod raw_pkcs11;

use common::{Hsm, each_module, hsm, kryoptic, so_pin, user_pin, user_session};
use cryptoki::object::{Attribute, KeyType, ObjectClass as CkObjectClass};
use keyceremony_hsm::{
    AttributeLock, Backup, HsmError, KeyAlgorithm, KeyGenSpec, KeyHandling, KeyPair, ObjectFilter,
    RestoreSpec, RestoredKey, Session, Token, UserKind, WrapKey, WrapMechanism,
};
use keyceremony_shares::{
    Expected, Share, ShareError, Split, Zeroizing, confirm_wrap_key, rebuild_wrap_key,
    split_wrap_key, wrap_key_check_value,
};
use raw_pkcs11::RawModule;
use secrecy::ExposeSecret;

const CEREMONY: &str = "backup-test";
const WRAP_LABEL: &str = "keyceremony backup wrap key";

fn spec(algorithm: KeyAlgorithm, label: &str, id: &[u8]) -> KeyGenSpec {
    KeyGenSpec {
        algorithm,
        label: label.to_owned(),
        id: id.to_vec(),
        always_authenticate: true,
    }
}

const FOR_BACKUP: KeyHandling = KeyHandling {
    backup: true,
    lock_attributes: true,
};

/// Switches the session's login to the Security Officer.
fn as_so(session: &Session) {
    session.logout().expect("logout");
    session
        .login(UserKind::SecurityOfficer, &so_pin())
        .expect("SO login");
}

/// Switches the session's login to the user.
fn as_user(session: &Session) {
    session.logout().expect("logout");
    session
        .login(UserKind::User, &user_pin())
        .expect("user login");
}

/// A key pair generated for backup, its attributes checked.
fn backup_key(hsm: &Hsm, session: &Session, algorithm: KeyAlgorithm, id: &[u8]) -> KeyPair {
    let generated = session
        .generate_key_pair_with(&spec(algorithm, "root-for-backup", id), FOR_BACKUP)
        .expect("generate for backup");
    // Both modules take CKA_MODIFIABLE and CKA_COPYABLE false.
    assert_eq!(
        generated.attribute_lock,
        AttributeLock::Applied,
        "{}",
        hsm.expect.name
    );
    let attrs = session
        .private_key_attributes(&generated.pair)
        .expect("attributes");
    assert_eq!(attrs.backup_problems(true), Vec::<String>::new());
    assert!(attrs.extractable && !attrs.never_extractable, "{attrs:?}");
    assert!(
        attrs.sensitive && attrs.always_sensitive && attrs.local,
        "{attrs:?}"
    );
    assert_eq!(attrs.wrap_with_trusted, Some(true));
    assert_eq!(
        (attrs.modifiable, attrs.copyable),
        (Some(false), Some(false))
    );
    generated.pair
}

/// The backup ceremony's part on the token: the SO imports a wrap key drawn
/// from the token, the user wraps the key with this id, the wrap key is
/// split and destroyed. The key pair is found again after the login
/// changes, because a module may renumber private objects then (SoftHSM2
/// does); it is returned with its current handles.
fn back_up(hsm: &Hsm, session: &Session, id: &[u8]) -> BackedUp {
    as_so(session);
    let value = session.random_wrap_key_value().expect("random");
    let seed: [u8; 32] = session.random(32).expect("seed").try_into().expect("32");
    let split = split_wrap_key(CEREMONY, &value, 2, 3, seed).expect("split");
    let check_value = wrap_key_check_value(&value);
    let imported = session
        .import_trusted_wrap_key(&value, WRAP_LABEL)
        .expect("the SO imports the trusted wrap key");
    assert_eq!(
        imported.route, hsm.expect.wrap_key_route,
        "{}",
        hsm.expect.name
    );
    as_user(session);
    let pair = find(session, id);
    let backup = session
        .wrap_private_key(&imported.key, &pair)
        .expect("wrap under the trusted key");
    assert_eq!(backup.mechanism, hsm.expect.wrap_mechanism);
    assert!(backup.blob.len() > 64, "{backup:?}");
    use sha2::Digest as _;
    assert_eq!(
        backup.sha256,
        <[u8; 32]>::from(sha2::Sha256::digest(&backup.blob))
    );
    let gone = session.destroy_wrap_key(&imported.key).expect("destroy");
    assert_eq!(gone.destroyed, 1);
    BackedUp {
        pair,
        backup,
        split,
        check_value,
    }
}

/// What the backup ceremony leaves: the key pair (current handles), the
/// blob, the custodians' shares and the wrap key's check value.
struct BackedUp {
    pair: KeyPair,
    backup: Backup,
    split: Split,
    check_value: String,
}

impl BackedUp {
    /// The wrap key as the custodians with these share numbers rebuild it,
    /// confirmed against the recorded check value.
    fn rebuild(&self, numbers: &[usize]) -> Zeroizing<[u8; 32]> {
        let key = rebuild_wrap_key(
            &typed(&self.split, numbers),
            &Expected::from(&self.split.set),
        )
        .expect("k shares rebuild the wrap key");
        confirm_wrap_key(&key, &self.check_value).expect("the backup's wrap key");
        key
    }
}

/// The key pair with this id, with the handles of the current login.
fn find(session: &Session, id: &[u8]) -> KeyPair {
    session
        .find_key_pair(id)
        .expect("search")
        .expect("the key pair")
}

/// The custodians' share texts, as typed back.
fn typed(split: &Split, numbers: &[usize]) -> Vec<Share> {
    numbers
        .iter()
        .map(|&n| {
            let text = split.shares[n - 1].to_text();
            Share::parse(text.expose_secret()).expect("a share as typed")
        })
        .collect()
}

/// The restore ceremony's part on the target token: the SO imports the
/// rebuilt wrap key, the user restores, the wrap key is destroyed.
fn restore(
    target: &Session,
    wrap_key: &Zeroizing<[u8; 32]>,
    blob: &[u8],
    restore: &RestoreSpec,
) -> keyceremony_hsm::Result<RestoredKey> {
    as_so(target);
    let imported = target
        .import_trusted_wrap_key(wrap_key, WRAP_LABEL)
        .expect("the target's SO imports the rebuilt wrap key");
    as_user(target);
    let restored = target.restore_key(&imported.key, blob, restore, Some(&user_pin()));
    target
        .destroy_wrap_key(&imported.key)
        .expect("destroy the wrap key");
    restored
}

fn restore_spec(id: &[u8], spki_der: Vec<u8>) -> RestoreSpec {
    RestoreSpec {
        label: "root-restored".to_owned(),
        id: id.to_vec(),
        always_authenticate: true,
        lock_attributes: true,
        spki_der,
    }
}

/// What a user sees on the token with this CKA_ID or label.
fn found(session: &Session, id: &[u8], label: &str) -> usize {
    session
        .find_objects(&ObjectFilter::id(id))
        .expect("by id")
        .len()
        + session
            .find_objects(&ObjectFilter::label(label))
            .expect("by label")
            .len()
}

fn round_trip(hsm: &Hsm, source: &Token, target: &Token, algorithm: KeyAlgorithm) {
    let name = hsm.expect.name;
    let session = user_session(source);
    let id = [0xB0, 0x01];
    let pair = backup_key(hsm, &session, algorithm, &id);
    let spki = session.public_key_spki_der(&pair).expect("SPKI");
    let backed_up = back_up(hsm, &session, &id);
    let pair = &backed_up.pair;

    // Two of the three custodians rebuild the wrap key for the target.
    let rebuilt = backed_up.rebuild(&[3, 1]);
    let target_session = user_session(target);
    let restored = restore(
        &target_session,
        &rebuilt,
        &backed_up.backup.blob,
        &restore_spec(&id, spki.clone()),
    )
    .expect("restore");
    assert_eq!(restored.mechanism, hsm.expect.wrap_mechanism, "{name}");
    assert_eq!(restored.attribute_lock, AttributeLock::Applied, "{name}");
    let attrs = &restored.attributes;
    assert_eq!(attrs.problems(true), Vec::<String>::new(), "{name}");
    // Both modules say a restored key was not generated on its token;
    // SoftHSM2 gives ALWAYS_SENSITIVE and NEVER_EXTRACTABLE false, kryoptic
    // leaves them out.
    assert_eq!(attrs.local, Some(false), "{name}");
    assert_eq!(attrs.always_sensitive, hsm.expect.restored_always_sensitive);
    assert_eq!(
        attrs.never_extractable,
        hsm.expect.restored_always_sensitive
    );
    assert_eq!(
        (attrs.modifiable, attrs.copyable),
        (Some(false), Some(false))
    );

    // The proof: the same public key, and a challenge signature that
    // verifies with the original's SPKI.
    use sha2::Digest as _;
    assert_eq!(
        restored.proof.public_key_sha256,
        <[u8; 32]>::from(sha2::Sha256::digest(&spki))
    );
    assert_eq!(
        target_session
            .public_key_spki_der(&restored.pair)
            .expect("SPKI"),
        spki
    );
    let again = target_session
        .prove_key(&restored.pair, &spki, Some(&user_pin()))
        .expect("a restored key proves again later");
    assert_ne!(again.challenge, restored.proof.challenge);
    // Found again as any key pair is.
    let recovered = target_session
        .find_key_pair(&id)
        .expect("find")
        .expect("the restored pair");
    assert_eq!(recovered.algorithm, algorithm);

    // The original stays usable; the restored copy is destroyed, and
    // nothing with its id or label is left, private objects included.
    session
        .prove_key(pair, &spki, Some(&user_pin()))
        .expect("the original still signs");
    let destruction = target_session
        .destroy_key_pair(&restored.pair)
        .expect("destroy the restored copy");
    assert_eq!(destruction.destroyed, 2);
    assert_eq!(found(&target_session, &id, "root-restored"), 0);
    assert_eq!(found(&target_session, &[], WRAP_LABEL), 0);
    assert_eq!(target_session.find_key_pair(&id).expect("search"), None);
}

#[test]
fn a_p384_root_key_is_backed_up_restored_proved_and_destroyed() {
    each_module(|hsm| {
        let (source, _) = hsm.new_token("backup-ec-src");
        let (target, _) = hsm.new_token("backup-ec-dst");
        round_trip(hsm, &source, &target, KeyAlgorithm::EcP384);
    });
}

#[test]
fn an_rsa_4096_root_key_is_backed_up_restored_proved_and_destroyed() {
    each_module(|hsm| {
        let (source, _) = hsm.new_token("backup-rsa-src");
        let (target, _) = hsm.new_token("backup-rsa-dst");
        round_trip(hsm, &source, &target, KeyAlgorithm::Rsa4096);
    });
}

/// Relies on both modules' RFC 5649 being the same bytes under their two
/// codes: a backup SoftHSM2 wraps under 0x210A unwraps on kryoptic under
/// 0x210B.
#[test]
fn a_backup_made_on_softhsm2_restores_on_kryoptic() {
    let soft = hsm();
    let (source, _) = soft.new_token("cross-src");
    let session = user_session(&source);
    let id = [0xC0, 0x55];
    let pair = backup_key(&soft, &session, KeyAlgorithm::EcP384, &id);
    let spki = session.public_key_spki_der(&pair).expect("SPKI");
    let backed_up = back_up(&soft, &session, &id);
    assert_eq!(backed_up.backup.mechanism, WrapMechanism::AesKeyWrapPad);

    let kry = kryoptic();
    let (target, _) = kry.new_token("cross-dst");
    let target_session = user_session(&target);
    let rebuilt = backed_up.rebuild(&[1, 2]);
    let restored = restore(
        &target_session,
        &rebuilt,
        &backed_up.backup.blob,
        &restore_spec(&id, spki.clone()),
    )
    .expect("kryoptic restores SoftHSM2's backup");
    assert_eq!(restored.mechanism, WrapMechanism::AesKeyWrapKwp);
    assert_eq!(restored.proof.signature.len(), 96);
    target_session
        .destroy_key_pair(&restored.pair)
        .expect("destroy");
}

/// A wrap key not marked CKA_TRUSTED: the tool refuses it from the
/// attribute it reads back, and the module refuses the wrap itself, each
/// with its own code (SoftHSM2 CKR_KEY_NOT_WRAPPABLE, kryoptic
/// CKR_WRAPPING_KEY_HANDLE_INVALID).
#[test]
fn a_wrap_key_not_marked_trusted_is_refused_by_the_tool_and_by_the_module() {
    each_module(|hsm| {
        let (token, _) = hsm.new_token("untrusted");
        let session = user_session(&token);
        let pair = backup_key(hsm, &session, KeyAlgorithm::EcP384, &[0x0D]);
        let raw_module = RawModule::load(&hsm.module_path);
        let raw = raw_module.session(token.info().expect("info").slot_id);
        // A token object, so the library's session sees it; CKA_TRUSTED is
        // left out (kryoptic refuses it in C_CreateObject even as false) and
        // so false by default.
        let untrusted = raw
            .create(&[
                Attribute::Class(CkObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Value(vec![0x42; 32]),
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Wrap(true),
                Attribute::Unwrap(true),
                Attribute::Label(b"untrusted".to_vec()),
                Attribute::Id(vec![0xEE]),
            ])
            .expect("a user makes an ordinary AES key");
        assert_eq!(raw.flag(untrusted, cryptoki_sys::CKA_TRUSTED), Some(false));
        let key = WrapKey {
            handle: untrusted,
            id: vec![0xEE],
            label: "untrusted".to_owned(),
        };

        let err = session.wrap_private_key(&key, &pair).unwrap_err();
        assert!(
            matches!(&err, HsmError::WrapKeyNotTrusted { found, .. } if found == "CKA_TRUSTED reads false"),
            "{err:?}"
        );
        assert!(err.to_string().contains("Security Officer"), "{err}");

        let refused = raw
            .wrap(hsm.expect.wrap_mechanism.code(), untrusted, pair.private)
            .unwrap_err();
        assert_eq!(
            refused, hsm.expect.untrusted_wrap_refusal,
            "{}",
            hsm.expect.name
        );

        session.destroy_wrap_key(&key).expect("destroy the AES key");
    });
}

/// The tool imports a trusted key only for the Security Officer, because a
/// module may not: SoftHSM2 refuses CKA_TRUSTED to a user, kryoptic lets a
/// user's C_GenerateKey set it.
#[test]
fn only_the_security_officer_imports_a_trusted_wrap_key() {
    each_module(|hsm| {
        let (token, _) = hsm.new_token("so-only");
        let session = user_session(&token);
        let value = session.random_wrap_key_value().expect("random");
        let err = session
            .import_trusted_wrap_key(&value, WRAP_LABEL)
            .unwrap_err();
        assert!(
            matches!(err, HsmError::NotSecurityOfficer { .. }),
            "{err:?}"
        );
        session.logout().expect("logout");
        assert!(matches!(
            session.import_trusted_wrap_key(&value, WRAP_LABEL),
            Err(HsmError::NotSecurityOfficer { .. })
        ));
        assert_eq!(found(&session, &[], WRAP_LABEL), 0, "nothing was made");

        session.login(UserKind::User, &user_pin()).expect("login");
        let raw_module = RawModule::load(&hsm.module_path);
        let raw = raw_module.session(token.info().expect("info").slot_id);
        let created = raw.create(&[
            Attribute::Class(CkObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Value(value.to_vec()),
            Attribute::Token(false),
            Attribute::Trusted(true),
        ]);
        assert_eq!(created, Err(hsm.expect.user_create_trusted_refusal));
        let generated = raw.generate_aes(&[
            Attribute::Token(false),
            Attribute::ValueLen(32.into()),
            Attribute::Wrap(true),
            Attribute::Trusted(true),
        ]);
        assert_eq!(generated.is_ok(), hsm.expect.user_generates_trusted_key);
        if let Ok(handle) = generated {
            assert_eq!(raw.flag(handle, cryptoki_sys::CKA_TRUSTED), Some(true));
            raw.destroy(handle).expect("destroy");
        }
    });
}

/// A key generated with the CPS 6.2.7 templates (never extractable) does
/// not leave its token: the tool refuses it, and so does the module
/// (SoftHSM2 CKR_KEY_UNEXTRACTABLE, kryoptic CKR_KEY_FUNCTION_NOT_PERMITTED).
#[test]
fn a_key_generated_non_extractable_cannot_be_backed_up() {
    each_module(|hsm| {
        let (token, _) = hsm.new_token("kept");
        let session = user_session(&token);
        session
            .generate_key_pair(&spec(KeyAlgorithm::EcP384, "root-kept", &[0x0E]))
            .expect("generate");
        as_so(&session);
        let value = session.random_wrap_key_value().expect("random");
        let imported = session
            .import_trusted_wrap_key(&value, WRAP_LABEL)
            .expect("import");
        as_user(&session);
        let kept = find(&session, &[0x0E]);
        let err = session.wrap_private_key(&imported.key, &kept).unwrap_err();
        assert!(
            matches!(&err, HsmError::NotBackupKey { reason, .. } if reason.starts_with("CKA_EXTRACTABLE is false")),
            "{err:?}"
        );
        let raw_module = RawModule::load(&hsm.module_path);
        let raw = raw_module.session(token.info().expect("info").slot_id);
        let refused = raw
            .wrap(
                hsm.expect.wrap_mechanism.code(),
                imported.key.handle,
                kept.private,
            )
            .unwrap_err();
        assert_eq!(
            refused, hsm.expect.unextractable_wrap_refusal,
            "{}",
            hsm.expect.name
        );
        session.destroy_wrap_key(&imported.key).expect("destroy");
    });
}

/// The restore proves the key against the public key it is given: the
/// backup of one key restored as another's fails and leaves nothing.
#[test]
fn a_restored_key_whose_public_key_differs_fails_its_proof() {
    each_module(|hsm| {
        let (source, _) = hsm.new_token("mismatch-src");
        let session = user_session(&source);
        backup_key(hsm, &session, KeyAlgorithm::EcP384, &[0x01]);
        let backed_up = back_up(hsm, &session, &[0x01]);
        let other = session
            .generate_key_pair(&spec(KeyAlgorithm::EcP384, "another-root", &[0x02]))
            .expect("another key");
        let other_spki = session.public_key_spki_der(&other).expect("SPKI");
        let err = session
            .prove_key(&backed_up.pair, &other_spki, Some(&user_pin()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                HsmError::RestoredKeyMismatch {
                    destroyed: false,
                    ..
                }
            ),
            "{err:?}"
        );

        let (target, _) = hsm.new_token("mismatch-dst");
        let target_session = user_session(&target);
        let err = restore(
            &target_session,
            &backed_up.rebuild(&[2, 3]),
            &backed_up.backup.blob,
            &restore_spec(&[0x01], other_spki),
        )
        .unwrap_err();
        match &err {
            HsmError::RestoredKeyMismatch {
                reason, destroyed, ..
            } => {
                assert!(reason.contains("does not verify"), "{reason}");
                assert!(destroyed);
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
        assert_eq!(found(&target_session, &[0x01], "root-restored"), 0);
    });
}

/// A restore with k - 1 shares or a share of another split is refused
/// before the token is asked; a wrap key that is not the backup's (what
/// exactly k shares rebuild when one is not genuine, which the shares crate
/// cannot tell with only k: crates/shares/tests/wrap_key.rs) is refused by
/// the token's RFC 5649 integrity check, and nothing is made.
#[test]
fn a_restore_without_the_backups_wrap_key_is_refused() {
    each_module(|hsm| {
        let (source, _) = hsm.new_token("wrong-key-src");
        let session = user_session(&source);
        let pair = backup_key(hsm, &session, KeyAlgorithm::EcP384, &[0x03]);
        let spki = session.public_key_spki_der(&pair).expect("SPKI");
        let backed_up = back_up(hsm, &session, &[0x03]);
        let split = &backed_up.split;
        let expected = Expected::from(&split.set);

        assert!(matches!(
            rebuild_wrap_key(&typed(split, &[2]), &expected),
            Err(ShareError::NotEnough { have: 1, need: 2 })
        ));
        let other = split_wrap_key(CEREMONY, &Zeroizing::new([0x33; 32]), 2, 3, [1; 32])
            .expect("another split");
        let mut mixed = typed(split, &[1]);
        mixed.extend(typed(&other, &[2]));
        assert!(matches!(
            rebuild_wrap_key(&mixed, &expected),
            Err(ShareError::OtherSplit { entry: 1, .. })
        ));

        let wrong = rebuild_wrap_key(&typed(&other, &[1, 2]), &Expected::from(&other.set))
            .expect("k shares of another split rebuild another key");
        // The recorded check value refuses it before any token sees it ...
        assert!(matches!(
            confirm_wrap_key(&wrong, &backed_up.check_value),
            Err(ShareError::WrongWrapKey { .. })
        ));
        // ... and a token that is given it anyway refuses to unwrap.
        let (target, _) = hsm.new_token("wrong-key-dst");
        let target_session = user_session(&target);
        let err = restore(
            &target_session,
            &wrong,
            &backed_up.backup.blob,
            &restore_spec(&[0x03], spki),
        )
        .unwrap_err();
        assert!(
            matches!(&err, HsmError::BackupUnwrap { code } if code == hsm.expect.wrong_wrap_key_refusal),
            "{}: {err:?}",
            hsm.expect.name
        );
        assert!(err.to_string().contains("check value"), "{err}");
        assert_eq!(found(&target_session, &[0x03], "root-restored"), 0);
    });
}

/// Destruction by handle, then the absence check; the private half is
/// seen only by a logged-in user, so destruction needs one.
#[test]
fn a_destroyed_key_pair_leaves_nothing_with_its_id_or_label() {
    each_module(|hsm| {
        let (token, _) = hsm.new_token("destroy");
        let session = user_session(&token);
        let pair = session
            .generate_key_pair(&spec(KeyAlgorithm::EcP384, "root-to-destroy", &[0x0F]))
            .expect("generate");
        session.logout().expect("logout");
        assert!(matches!(
            session.destroy_key_pair(&pair),
            Err(HsmError::NotLoggedIn { .. })
        ));
        session.login(UserKind::User, &user_pin()).expect("login");
        let pair = find(&session, &[0x0F]);
        assert_eq!(found(&session, &[0x0F], "root-to-destroy"), 4);
        let destruction = session.destroy_key_pair(&pair).expect("destroy");
        assert_eq!(destruction.id, [0x0F]);
        assert_eq!(destruction.label, "root-to-destroy");
        assert_eq!(found(&session, &[0x0F], "root-to-destroy"), 0);
        // Its handles no longer name anything.
        let again = session.destroy_key_pair(&pair).unwrap_err();
        assert!(matches!(again, HsmError::Pkcs11 { .. }), "{again:?}");
        // A later session finds nothing either.
        session.close().expect("close");
        let session = user_session(&token);
        assert_eq!(session.find_key_pair(&[0x0F]).expect("search"), None);
    });
}

/// CKA_MODIFIABLE and CKA_COPYABLE false are offered for any key, read
/// back, and enforced by both modules; the default CA template is
/// unchanged (both modules then report the key modifiable).
#[test]
fn the_attribute_lock_is_applied_read_back_and_enforced() {
    each_module(|hsm| {
        let (token, _) = hsm.new_token("locked");
        let session = user_session(&token);
        let locked = session
            .generate_key_pair_with(
                &spec(KeyAlgorithm::EcP384, "root-locked", &[0x10]),
                KeyHandling {
                    backup: false,
                    lock_attributes: true,
                },
            )
            .expect("generate");
        assert_eq!(locked.attribute_lock, AttributeLock::Applied);
        let attrs = session
            .private_key_attributes(&locked.pair)
            .expect("attributes");
        assert_eq!(attrs.problems(true), Vec::<String>::new());
        assert_eq!(
            (attrs.modifiable, attrs.copyable),
            (Some(false), Some(false))
        );
        let raw_module = RawModule::load(&hsm.module_path);
        let raw = raw_module.session(token.info().expect("info").slot_id);
        assert_eq!(
            raw.set(
                locked.pair.private,
                &[Attribute::Label(b"renamed".to_vec())]
            ),
            Err(cryptoki_sys::CKR_ACTION_PROHIBITED)
        );

        let plain = session
            .generate_key_pair(&spec(KeyAlgorithm::EcP384, "root-plain", &[0x11]))
            .expect("generate");
        let attrs = session.private_key_attributes(&plain).expect("attributes");
        assert_eq!(attrs.modifiable, Some(true), "{}", hsm.expect.name);
        assert_eq!(attrs.wrap_with_trusted, Some(false));
    });
}
