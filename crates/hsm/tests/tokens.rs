//! Module loading, tokens, PINs and sessions against real SoftHSM2 and
//! kryoptic tokens; where the two modules behave differently, each test
//! checks each module's own behaviour (common::Expect).

mod common;

use std::path::Path;

use common::{Hsm, each_module, hsm, kryoptic, so_pin, unique_label, user_pin, user_session};
use keyceremony_hsm::lab::Lab;
use keyceremony_hsm::{HsmError, Module, Pkcs11Uri, SecretString, Session, Token, UserKind};

#[test]
fn loading_a_missing_file_says_so() {
    let _hsm = hsm();
    let err = Module::load(Path::new("/nonexistent/libpkcs11.so")).unwrap_err();
    match &err {
        HsmError::ModuleLoad { path, reason, .. } => {
            assert_eq!(path, Path::new("/nonexistent/libpkcs11.so"));
            assert!(reason.contains("does not exist"), "{reason}");
        }
        other => panic!("expected ModuleLoad, got {other:?}"),
    }
    assert!(
        err.to_string().contains("/nonexistent/libpkcs11.so"),
        "{err}"
    );
}

#[test]
fn loading_something_that_is_not_a_module_says_so() {
    let _hsm = hsm();
    let err = Module::load(Path::new("/bin/ls")).unwrap_err();
    match &err {
        HsmError::ModuleLoad { reason, .. } => {
            assert!(reason.contains("not a PKCS#11 module"), "{reason}")
        }
        other => panic!("expected ModuleLoad, got {other:?}"),
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("libfake-pkcs11.so");
    std::fs::write(&fake, "this is not a shared library\n").expect("write");
    let err = Module::load(&fake).unwrap_err();
    assert!(
        matches!(&err, HsmError::ModuleLoad { reason, .. } if reason.contains("not a PKCS#11 module")),
        "{err:?}"
    );

    let err = Module::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, HsmError::ModuleLoad { reason, .. } if reason.contains("not a regular file")),
        "{err:?}"
    );
}

#[test]
fn loading_the_same_module_again_reuses_the_context() {
    let hsm = hsm();
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("softhsm-link.so");
    std::os::unix::fs::symlink(&hsm.module_path, &link).expect("symlink");
    for path in [hsm.module_path.as_path(), link.as_path()] {
        let again = Module::load(path).expect("second load must reuse the context");
        assert_eq!(again.path(), hsm.module.path());
        // A second C_Initialize would fail or corrupt SoftHSM2; a working
        // call shows the shared context is still fine.
        again
            .tokens()
            .expect("list tokens through the second handle");
    }
}

#[test]
fn module_info_describes_the_module() {
    each_module(|hsm| {
        let info = hsm.module.info().expect("module info");
        assert!(
            info.manufacturer.starts_with(hsm.expect.manufacturer),
            "{info:?}"
        );
        assert!(!info.library_description.is_empty(), "{info:?}");
        // kryoptic reports 0.0, which the record must not take for a version.
        assert_eq!(info.library_version, hsm.expect.library_version);
        assert!(info.cryptoki_version.contains('.'), "{info:?}");
    });
}

#[test]
fn initialized_token_is_found_by_label_and_serial() {
    each_module(found_by_label_and_serial);
}

fn found_by_label_and_serial(hsm: &Hsm) {
    let (token, label) = hsm.new_bare_token("find");
    let info = token.info().expect("token info");
    assert_eq!(info.label, label);
    assert!(info.flags.initialized);
    assert!(info.flags.login_required);
    assert!(info.flags.rng);
    assert!(!info.flags.user_pin_initialized);
    assert_eq!(info.manufacturer, hsm.expect.token_manufacturer);
    assert_eq!(info.model, hsm.expect.model);
    assert!(!info.serial.is_empty());
    assert_eq!((info.min_pin_len, info.max_pin_len), hsm.expect.pin_lengths);

    let module = &hsm.module;
    assert!(module.tokens().expect("tokens").contains(&info));
    let by_label = module.token_by_label(&label).expect("by label");
    assert_eq!(by_label.info().expect("info").slot_id, info.slot_id);
    let by_serial = module.token_by_serial(&info.serial).expect("by serial");
    assert_eq!(by_serial.info().expect("info").label, label);

    let uri = token.uri().expect("uri");
    assert_eq!(uri.token.as_deref(), Some(label.as_str()));
    assert_eq!(uri.serial.as_deref(), Some(info.serial.as_str()));
    let text = uri.to_string();
    assert_eq!(text.parse::<Pkcs11Uri>().expect("parse"), uri);

    // The token lives in this process's lab, not in the module's default
    // token store.
    let lab = &hsm.lab;
    assert_eq!(
        std::env::var_os(lab.config_var()).as_deref(),
        Some(lab.config().as_os_str())
    );
    let stored = std::fs::read_dir(lab.token_dir())
        .expect("lab token dir")
        .count();
    assert!(
        stored >= 1,
        "no token stored in {}",
        lab.token_dir().display()
    );

    // A free slot is a different, uninitialized token.
    let free = module.uninitialized_token().expect("free slot");
    assert!(!free.info().expect("info").flags.initialized);
}

#[test]
fn softhsm_uris_name_its_model_and_manufacturer() {
    let hsm = hsm();
    let (token, _label) = hsm.new_bare_token("uri");
    let text = token.uri().expect("uri").to_string();
    assert!(text.starts_with("pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"));
}

#[test]
fn unknown_label_lists_the_available_tokens() {
    let hsm = hsm();
    let (_token, label) = hsm.new_bare_token("listed");
    let err = hsm.module.token_by_label("No Such Token").unwrap_err();
    match &err {
        HsmError::TokenNotFound {
            label: wanted,
            available,
        } => {
            assert_eq!(wanted, "No Such Token");
            assert!(available.contains(&label), "{available:?}");
            assert!(!available.iter().any(String::is_empty), "{available:?}");
        }
        other => panic!("expected TokenNotFound, got {other:?}"),
    }
    assert!(err.to_string().contains(&label), "{err}");
}

#[test]
fn serial_numbers_are_looked_up_on_every_token() {
    each_module(|hsm| {
        let (token, label) = hsm.new_bare_token("serial");
        let serial = token.info().expect("info").serial;
        let found = hsm.module.token_by_serial(&serial).expect("by serial");
        assert_eq!(found.info().expect("info").label, label);

        // Both modules' free tokens report no serial until C_InitToken gives
        // them one, so no serial can pick them, and the refusal says so.
        let free = hsm.module.uninitialized_token().expect("free token");
        assert_eq!(free.info().expect("info").serial, "", "{}", hsm.expect.name);
        let err = hsm.module.token_by_serial("no-such-serial").unwrap_err();
        match &err {
            HsmError::TokenSerialNotFound {
                available,
                without_serial,
                ..
            } => {
                assert!(available.contains(&serial), "{available:?}");
                assert!(*without_serial >= 1, "{}", hsm.expect.name);
            }
            other => panic!("expected TokenSerialNotFound, got {other:?}"),
        }
        assert!(err.to_string().contains("no serial number"), "{err}");
        let err = hsm.module.token_by_serial("").unwrap_err();
        assert!(matches!(err, HsmError::InvalidArgument(_)), "{err:?}");
    });
}

/// A PIN each module refuses for its length: longer than SoftHSM2's
/// longest, shorter than kryoptic's shortest (it has no longest).
fn badly_sized_pin(hsm: &Hsm) -> SecretString {
    match hsm.expect.pin_lengths {
        (_, 0) => SecretString::from("p".repeat(hsm.expect.pin_lengths.0 - 1)),
        (_, max) => SecretString::from("p".repeat(max + 1)),
    }
}

#[test]
fn initialize_refuses_unsafe_requests() {
    each_module(|hsm| {
        let (token, label) = hsm.new_bare_token("guard");
        let err = token.initialize(&so_pin(), "Another Label").unwrap_err();
        assert!(
            matches!(err, HsmError::TokenAlreadyInitialized { .. }),
            "{err:?}"
        );

        let free = hsm.module.uninitialized_token().expect("free slot");
        let err = free.initialize(&so_pin(), &label).unwrap_err();
        assert!(matches!(err, HsmError::LabelInUse { .. }), "{err:?}");
        let err = free.initialize(&so_pin(), &"L".repeat(33)).unwrap_err();
        assert!(matches!(err, HsmError::InvalidLabel { .. }), "{err:?}");
        let err = free
            .initialize(&badly_sized_pin(hsm), &unique_label("short"))
            .unwrap_err();
        let (min, max) = hsm.expect.pin_lengths;
        assert!(
            matches!(err, HsmError::PinLength { min: a, max: b } if (a, b) == (min, max)),
            "{err:?}"
        );
        assert!(!free.info().expect("info").flags.initialized);
    });
}

#[test]
fn the_tools_32_byte_pins_fit_both_modules() {
    // kryoptic reports no longest PIN as ulMaxPinLen = 0, which was once
    // read as "at most 0 bytes" and refused every PIN.
    each_module(|hsm| {
        let (token, _label) = hsm.new_bare_token("pin32");
        let so = SecretString::from("S".repeat(32));
        let user = SecretString::from("U".repeat(32));
        let session = token.open_session().expect("session");
        session
            .login(UserKind::SecurityOfficer, &so_pin())
            .expect("SO login");
        session.set_pin(&so_pin(), &so).expect("a 32-byte SO PIN");
        session.init_user_pin(&user).expect("a 32-byte user PIN");
        session.logout().expect("logout");
        session.login(UserKind::User, &user).expect("user login");
        session.close().expect("close");
    });
}

#[test]
fn pins_and_logins() {
    each_module(pins_and_logins_on);
}

fn pins_and_logins_on(hsm: &Hsm) {
    let (token, _label) = hsm.new_bare_token("pins");
    let session = token.open_session().expect("session");

    // The user PIN does not exist yet.
    let err = session.login(UserKind::User, &user_pin()).unwrap_err();
    assert!(
        matches!(&err, HsmError::Pkcs11 { code, .. } if code == "CKR_USER_PIN_NOT_INITIALIZED"),
        "{err:?}"
    );

    let wrong = SecretString::from("wrong-pin-0000");
    let err = session
        .login(UserKind::SecurityOfficer, &wrong)
        .unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect), "{err:?}");
    assert!(!err.to_string().contains("wrong-pin-0000"));
    // SoftHSM2 warns after one failure, kryoptic only when 3 tries are left.
    assert_eq!(
        token.info().expect("info").flags.so_pin_count_low,
        hsm.expect.count_low_after == 1,
        "{}",
        hsm.expect.name
    );

    session
        .login(UserKind::SecurityOfficer, &so_pin())
        .expect("SO login");
    let err = session
        .login(UserKind::SecurityOfficer, &so_pin())
        .unwrap_err();
    assert!(matches!(err, HsmError::AlreadyLoggedIn), "{err:?}");
    let err = session.init_user_pin(&badly_sized_pin(hsm)).unwrap_err();
    assert!(matches!(err, HsmError::PinLength { .. }), "{err:?}");
    session.init_user_pin(&user_pin()).expect("init user PIN");
    assert!(token.info().expect("info").flags.user_pin_initialized);
    session.logout().expect("SO logout");

    let err = session.login(UserKind::User, &wrong).unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect), "{err:?}");
    session
        .login(UserKind::User, &user_pin())
        .expect("user login");
    // A successful login clears any warning flag again.
    assert!(!token.info().expect("info").flags.user_pin_count_low);
    session.close().expect("close logs out and closes");

    // Closing logged out: a new session must log in again.
    let session = token.open_session().expect("session");
    session
        .login(UserKind::User, &user_pin())
        .expect("login again");
}

/// Fails `count` user logins on `session`, each refused as incorrect.
fn fail_logins(session: &Session, count: u32) {
    let wrong = SecretString::from("wrong-pin-0000");
    for _ in 0..count {
        let err = session.login(UserKind::User, &wrong).unwrap_err();
        assert!(matches!(err, HsmError::PinIncorrect), "{err:?}");
    }
}

#[test]
fn pin_counter_flags_follow_each_modules_rules() {
    each_module(|hsm| {
        let (token, _label) = hsm.new_token("counter");
        let session = token.open_session().expect("session");
        let flags = |t: &Token| t.info().expect("info").flags;
        let low_after = hsm.expect.count_low_after;
        fail_logins(&session, low_after - 1);
        assert!(!flags(&token).user_pin_count_low, "{}", hsm.expect.name);
        fail_logins(&session, 1);
        assert!(flags(&token).user_pin_count_low, "{}", hsm.expect.name);
        match hsm.expect.locks_after {
            None => {
                // SoftHSM2 never locks: many more failures, and the right
                // PIN still works (the tool keeps its own limit).
                fail_logins(&session, 12);
                assert!(!flags(&token).user_pin_locked);
                assert!(!flags(&token).user_pin_final_try);
            }
            Some(lock) => {
                fail_logins(&session, lock - low_after - 1);
                let before_lock = flags(&token);
                assert!(before_lock.user_pin_final_try, "{before_lock:?}");
                assert!(!before_lock.user_pin_locked, "{before_lock:?}");
                fail_logins_until_locked(&session);
                assert!(flags(&token).user_pin_locked);
                // Locked, even the right PIN is refused.
                let err = session.login(UserKind::User, &user_pin()).unwrap_err();
                assert!(matches!(err, HsmError::PinLocked), "{err:?}");
                return;
            }
        }
        session
            .login(UserKind::User, &user_pin())
            .expect("user login");
        session.close().expect("close");
    });
}

/// The one failure that locks a PIN on its final try.
fn fail_logins_until_locked(session: &Session) {
    let wrong = SecretString::from("wrong-pin-0000");
    let err = session.login(UserKind::User, &wrong).unwrap_err();
    assert!(
        matches!(err, HsmError::PinIncorrect | HsmError::PinLocked),
        "{err:?}"
    );
}

#[test]
fn a_lab_keeps_kryoptic_tokens_inside_its_folder() {
    let hsm = kryoptic();
    let (token, _label) = hsm.new_bare_token("inside");
    let Lab::Kryoptic(lab) = &hsm.lab else {
        panic!("kryoptic's lab is a kryoptic lab");
    };
    let slot = token.info().expect("info").slot_id;
    let database = lab.token_dir.join(format!("token-{slot}.sql"));
    let size = std::fs::metadata(&database)
        .unwrap_or_else(|e| panic!("{}: {e}", database.display()))
        .len();
    assert!(
        size > 0,
        "the initialised token is not in {}",
        database.display()
    );
    // The module, already started with the lab's configuration, cannot be
    // given another lab in this process.
    let other = tempfile::tempdir().expect("tempdir");
    let err = Lab::create(&other.path().join("lab"), &hsm.module_path, 2).unwrap_err();
    assert!(matches!(err, HsmError::LabModule { .. }), "{err:?}");
    assert!(err.to_string().contains("already started"), "{err}");
}

#[test]
fn random_bytes_come_from_the_token() {
    each_module(|hsm| {
        let (token, _label) = hsm.new_token("random");
        let session = user_session(&token);
        let a = session.random(16).expect("random");
        let b = session.random(16).expect("random");
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(session.random(0).expect("empty").is_empty());
    });
}

#[test]
fn mechanisms_are_listed_by_name() {
    each_module(|hsm| {
        let (token, _label) = hsm.new_token("mechs");
        let session = user_session(&token);
        let mechanisms = session.mechanisms().expect("mechanisms");
        for needed in [
            "CKM_SHA384_RSA_PKCS",
            "CKM_ECDSA",
            "CKM_EC_KEY_PAIR_GEN",
            "CKM_RSA_PKCS_KEY_PAIR_GEN",
        ] {
            assert!(
                mechanisms.iter().any(|m| m == needed),
                "{needed} missing from {}'s {mechanisms:?}",
                hsm.expect.name
            );
        }
        // SoftHSM2 2.6 lacks on-token SHA-384 hashing for ECDSA; kryoptic has it.
        assert_eq!(
            mechanisms.iter().any(|m| m == "CKM_ECDSA_SHA384"),
            hsm.expect.name == "kryoptic",
            "{mechanisms:?}"
        );
    });
}
