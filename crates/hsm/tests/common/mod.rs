//! Test support: one SoftHSM2 lab per test process, and fresh tokens.
//!
//! Every test binary gets its own token directory, so tests never see the
//! machine's real tokens or each other's. Tests within a binary share the one
//! module context, one test at a time, each on a token of its own.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use keyceremony_hsm::lab::SoftHsmLab;
use keyceremony_hsm::{Module, SecretString, Session, Token, UserKind, default_module_path};

/// The process-wide lab and module.
pub struct TestHsm {
    pub lab: SoftHsmLab,
    pub module_path: PathBuf,
    pub module: Module,
}

/// The lab, held by one test at a time.
///
/// SoftHSM2's file store is not safe for one thread to enumerate tokens
/// (C_GetSlotList, C_GetTokenInfo, which re-read each token's directory)
/// while another thread works on a token: CI saw C_GetTokenInfo answer
/// CKR_GENERAL_ERROR for a token another test was using. A ceremony is one
/// thread, so the tests serialise their use of the module rather than the
/// library working around it. Token helpers are methods of this guard, so
/// no test can reach the module without holding it.
pub struct Hsm {
    shared: &'static TestHsm,
    _serial: MutexGuard<'static, ()>,
}

impl Deref for Hsm {
    type Target = TestHsm;

    fn deref(&self) -> &TestHsm {
        self.shared
    }
}

/// Creates and activates the lab and loads SoftHSM2 once per process, then
/// waits for the other tests to be done with it.
pub fn hsm() -> Hsm {
    static SERIAL: Mutex<()> = Mutex::new(());
    static HSM: OnceLock<TestHsm> = OnceLock::new();
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let shared = HSM.get_or_init(|| {
        let module_path = default_module_path().unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed: run `apt-get install softhsm2`; \
                 these tests need the real module"
            )
        });
        // Kept for the whole process (statics are never dropped); it lives in
        // cargo's per-target scratch directory, which `cargo clean` removes.
        let dir = tempfile::Builder::new()
            .prefix("softhsm-lab-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("create the lab directory")
            .keep();
        let lab = SoftHsmLab::create(&dir).expect("create the SoftHSM2 lab");
        lab.activate();
        let module = Module::load(&module_path).expect("load SoftHSM2");
        TestHsm {
            lab,
            module_path,
            module,
        }
    });
    Hsm {
        shared,
        _serial: serial,
    }
}

impl Hsm {
    /// Initializes a fresh token with the test SO PIN, without a user PIN.
    pub fn new_bare_token(&self, purpose: &str) -> (Token, String) {
        let label = unique_label(purpose);
        let token = self
            .module
            .uninitialized_token()
            .expect("a free SoftHSM2 slot")
            .initialize(&so_pin(), &label)
            .expect("initialize the token");
        (token, label)
    }

    /// A fresh token with both PINs set.
    pub fn new_token(&self, purpose: &str) -> (Token, String) {
        let (token, label) = self.new_bare_token(purpose);
        let session = token.open_session().expect("open session");
        session
            .login(UserKind::SecurityOfficer, &so_pin())
            .expect("SO login");
        session.init_user_pin(&user_pin()).expect("init user PIN");
        session.close().expect("close SO session");
        (token, label)
    }
}

pub fn so_pin() -> SecretString {
    SecretString::from("so-pin-8642")
}

pub fn user_pin() -> SecretString {
    SecretString::from("user-pin-1357")
}

/// A token label no other test in this process uses.
pub fn unique_label(purpose: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let label = format!("{purpose}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    assert!(label.len() <= 32, "label {label} too long for a token");
    label
}

/// A session on `token` with the user logged in.
pub fn user_session(token: &Token) -> Session {
    let session = token.open_session().expect("open session");
    session
        .login(UserKind::User, &user_pin())
        .expect("user login");
    session
}
