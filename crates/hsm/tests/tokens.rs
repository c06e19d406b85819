//! Module loading, tokens, PINs and sessions against a real SoftHSM2.

mod common;

use std::path::Path;

use common::{hsm, so_pin, unique_label, user_pin, user_session};
use keyceremony_hsm::{HsmError, Module, Pkcs11Uri, SecretString, UserKind};

#[test]
fn loading_a_missing_file_says_so() {
    let _hsm = hsm();
    let err = Module::load(Path::new("/nonexistent/libpkcs11.so")).unwrap_err();
    match &err {
        HsmError::ModuleLoad { path, reason } => {
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
fn module_info_describes_softhsm() {
    let info = hsm().module.info().expect("module info");
    assert_eq!(info.manufacturer, "SoftHSM");
    assert!(!info.library_description.is_empty(), "{info:?}");
    assert!(info.library_version.starts_with("2."), "{info:?}");
    assert!(info.cryptoki_version.contains('.'), "{info:?}");
}

#[test]
fn initialized_token_is_found_by_label_and_serial() {
    let hsm = hsm();
    let (token, label) = hsm.new_bare_token("find");
    let info = token.info().expect("token info");
    assert_eq!(info.label, label);
    assert!(info.flags.initialized);
    assert!(info.flags.login_required);
    assert!(info.flags.rng);
    assert!(!info.flags.user_pin_initialized);
    assert_eq!(info.manufacturer, "SoftHSM project");
    assert_eq!(info.model, "SoftHSM v2");
    assert!(!info.serial.is_empty());
    assert_eq!((info.min_pin_len, info.max_pin_len), (4, 255));

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
    assert!(text.starts_with("pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"));
    assert_eq!(text.parse::<Pkcs11Uri>().expect("parse"), uri);

    // The token lives in this process's lab, not in the system token store.
    let lab = &hsm.lab;
    assert_eq!(
        std::env::var_os("SOFTHSM2_CONF").as_deref(),
        Some(lab.config.as_os_str())
    );
    let token_dirs = std::fs::read_dir(&lab.token_dir)
        .expect("lab token dir")
        .count();
    assert!(
        token_dirs >= 1,
        "no token stored in {}",
        lab.token_dir.display()
    );

    // The free slot is always a different, uninitialized token.
    let free = module.uninitialized_token().expect("free slot");
    assert!(!free.info().expect("info").flags.initialized);
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

    let err = hsm.module.token_by_serial("no-such-serial").unwrap_err();
    assert!(
        matches!(err, HsmError::TokenSerialNotFound { .. }),
        "{err:?}"
    );
}

#[test]
fn initialize_refuses_unsafe_requests() {
    let hsm = hsm();
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
        .initialize(&SecretString::from("123"), &unique_label("short"))
        .unwrap_err();
    assert!(
        matches!(err, HsmError::PinLength { min: 4, max: 255 }),
        "{err:?}"
    );
    assert!(!free.info().expect("info").flags.initialized);
}

#[test]
fn pins_and_logins() {
    let hsm = hsm();
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
    assert!(token.info().expect("info").flags.so_pin_count_low);

    session
        .login(UserKind::SecurityOfficer, &so_pin())
        .expect("SO login");
    let err = session
        .login(UserKind::SecurityOfficer, &so_pin())
        .unwrap_err();
    assert!(matches!(err, HsmError::AlreadyLoggedIn), "{err:?}");
    let err = session
        .init_user_pin(&SecretString::from("x".repeat(256)))
        .unwrap_err();
    assert!(matches!(err, HsmError::PinLength { .. }), "{err:?}");
    session.init_user_pin(&user_pin()).expect("init user PIN");
    assert!(token.info().expect("info").flags.user_pin_initialized);
    session.logout().expect("SO logout");

    let err = session.login(UserKind::User, &wrong).unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect), "{err:?}");
    assert!(token.info().expect("info").flags.user_pin_count_low);
    session
        .login(UserKind::User, &user_pin())
        .expect("user login");
    // A successful login clears the warning flag again.
    assert!(!token.info().expect("info").flags.user_pin_count_low);
    session.close().expect("close logs out and closes");

    // Closing logged out: a new session must log in again.
    let session = token.open_session().expect("session");
    session
        .login(UserKind::User, &user_pin())
        .expect("login again");
}

#[test]
fn random_bytes_come_from_the_token() {
    let hsm = hsm();
    let (token, _label) = hsm.new_token("random");
    let session = user_session(&token);
    let a = session.random(16).expect("random");
    let b = session.random(16).expect("random");
    assert_eq!(a.len(), 16);
    assert_ne!(a, b);
    assert!(session.random(0).expect("empty").is_empty());
}

#[test]
fn mechanisms_are_listed_by_name() {
    let hsm = hsm();
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
            "{needed} missing from {mechanisms:?}"
        );
    }
}
