//! Test support: one lab per module and test process, and fresh tokens.
//!
//! Every test binary gets its own token folders, so tests never see the
//! machine's real tokens or each other's. Tests within a binary share one
//! context per module, one test at a time, each on a token of its own.
//! Most tests run on SoftHSM2; those that show how the tool copes with a
//! module's own behaviour run on kryoptic too, with what each module is
//! known to do in [`Expect`].

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use keyceremony_hsm::lab::{Lab, kryoptic_module};
use keyceremony_hsm::{
    Module, SecretString, Session, Token, UserKind, WrapKeyRoute, WrapMechanism,
    default_module_path,
};

/// kryoptic has no spare slot: its test lab has one per token any test
/// binary initialises.
const KRYOPTIC_SLOTS: usize = 24;

/// What each tested module is known to do, where the two differ
/// (docs/supported-modules.md).
#[derive(Debug)]
pub struct Expect {
    pub name: &'static str,
    pub manufacturer: &'static str,
    pub token_manufacturer: &'static str,
    pub model: &'static str,
    /// (ulMinPinLen, ulMaxPinLen); 0 is no upper limit.
    pub pin_lengths: (usize, usize),
    /// Failed logins after which CKF_*_PIN_COUNT_LOW is set.
    pub count_low_after: u32,
    /// Failed logins after which the PIN locks, if it ever does.
    pub locks_after: Option<u32>,
    /// C_GetInfo's library version.
    pub library_version: &'static str,
    /// The code its RFC 5649 key wrap is under.
    pub wrap_mechanism: WrapMechanism,
    /// How it takes a trusted wrap key from the Security Officer.
    pub wrap_key_route: WrapKeyRoute,
    /// C_WrapKey of a wrap-with-trusted key under an untrusted key.
    pub untrusted_wrap_refusal: cryptoki_sys::CK_RV,
    /// C_WrapKey of a key generated non-extractable.
    pub unextractable_wrap_refusal: cryptoki_sys::CK_RV,
    /// C_CreateObject with CKA_TRUSTED true by a user.
    pub user_create_trusted_refusal: cryptoki_sys::CK_RV,
    /// Whether a user's C_GenerateKey may set CKA_TRUSTED true (so the
    /// module alone does not keep the mark to the Security Officer).
    pub user_generates_trusted_key: bool,
    /// C_UnwrapKey of a backup with another wrap key: RFC 5649's integrity
    /// check fails, reported as a fault by both modules.
    pub wrong_wrap_key_refusal: &'static str,
    /// CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE of an unwrapped key.
    pub restored_always_sensitive: Option<bool>,
}

const SOFTHSM2: Expect = Expect {
    name: "SoftHSM2",
    manufacturer: "SoftHSM",
    token_manufacturer: "SoftHSM project",
    model: "SoftHSM v2",
    pin_lengths: (4, 255),
    count_low_after: 1,
    locks_after: None,
    library_version: "2.6",
    wrap_mechanism: WrapMechanism::AesKeyWrapPad,
    wrap_key_route: WrapKeyRoute::CreateObject,
    untrusted_wrap_refusal: cryptoki_sys::CKR_KEY_NOT_WRAPPABLE,
    unextractable_wrap_refusal: cryptoki_sys::CKR_KEY_UNEXTRACTABLE,
    user_create_trusted_refusal: cryptoki_sys::CKR_ATTRIBUTE_READ_ONLY,
    user_generates_trusted_key: false,
    wrong_wrap_key_refusal: "CKR_GENERAL_ERROR",
    restored_always_sensitive: Some(false),
};

const KRYOPTIC: Expect = Expect {
    name: "kryoptic",
    manufacturer: "Kryoptic",
    token_manufacturer: "Kryoptic Project",
    model: "v1",
    pin_lengths: (8, 0),
    count_low_after: 7,
    locks_after: Some(10),
    library_version: "0.0 (not reported)",
    wrap_mechanism: WrapMechanism::AesKeyWrapKwp,
    wrap_key_route: WrapKeyRoute::UnwrapWithTransportKey,
    untrusted_wrap_refusal: cryptoki_sys::CKR_WRAPPING_KEY_HANDLE_INVALID,
    unextractable_wrap_refusal: cryptoki_sys::CKR_KEY_FUNCTION_NOT_PERMITTED,
    user_create_trusted_refusal: cryptoki_sys::CKR_ATTRIBUTE_TYPE_INVALID,
    user_generates_trusted_key: true,
    wrong_wrap_key_refusal: "CKR_DEVICE_ERROR",
    restored_always_sensitive: None,
};

/// The process-wide lab and module.
pub struct TestHsm {
    pub lab: Lab,
    pub module_path: PathBuf,
    pub module: Module,
    pub expect: &'static Expect,
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

/// SoftHSM2: creates and activates its lab and loads it once per process,
/// then waits for the other tests to be done with it.
pub fn hsm() -> Hsm {
    static SERIAL: Mutex<()> = Mutex::new(());
    static HSM: OnceLock<TestHsm> = OnceLock::new();
    open(&SERIAL, &HSM, &SOFTHSM2, || {
        default_module_path().unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed: run `apt-get install softhsm2`; \
                 these tests need the real module"
            )
        })
    })
}

/// kryoptic, as [`hsm`] does for SoftHSM2.
pub fn kryoptic() -> Hsm {
    static SERIAL: Mutex<()> = Mutex::new(());
    static HSM: OnceLock<TestHsm> = OnceLock::new();
    open(&SERIAL, &HSM, &KRYOPTIC, || {
        kryoptic_module().unwrap_or_else(|| {
            panic!(
                "kryoptic's PKCS#11 module is not built: run scripts/setup.sh, which builds it \
                 into /opt/keyceremony-kryoptic (or set KEYCEREMONY_KRYOPTIC_MODULE)"
            )
        })
    })
}

/// Both tested modules, one after the other.
pub fn each_module(test: impl Fn(&Hsm)) {
    for open in [hsm, kryoptic] {
        let hsm = open();
        test(&hsm);
    }
}

fn open(
    serial: &'static Mutex<()>,
    cell: &'static OnceLock<TestHsm>,
    expect: &'static Expect,
    module_path: impl FnOnce() -> PathBuf,
) -> Hsm {
    let guard = serial.lock().unwrap_or_else(PoisonError::into_inner);
    let shared = cell.get_or_init(|| {
        let module_path = module_path();
        // Kept for the whole process (statics are never dropped); it lives in
        // cargo's per-target scratch directory, which `cargo clean` removes.
        let dir = tempfile::Builder::new()
            .prefix("lab-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("create the lab directory")
            .keep();
        let lab = Lab::create(&dir, &module_path, KRYOPTIC_SLOTS).expect("create the lab");
        lab.activate();
        let module = lab.load(&module_path).expect("load the module");
        TestHsm {
            lab,
            module_path,
            module,
            expect,
        }
    });
    Hsm {
        shared,
        _serial: guard,
    }
}

impl Hsm {
    /// Initializes a fresh token with the test SO PIN, without a user PIN.
    pub fn new_bare_token(&self, purpose: &str) -> (Token, String) {
        let label = unique_label(purpose);
        let token = self
            .module
            .uninitialized_token()
            .unwrap_or_else(|e| panic!("a free {} slot: {e}", self.expect.name))
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

/// Both at least 8 bytes, kryoptic's shortest.
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
