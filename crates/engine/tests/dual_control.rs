//! k-of-n activation against a real SoftHSM2 token (CPS 6.2.2, 6.2.8,
//! 6.4.1): for 2-of-2, 2-of-3 and 3-of-5 rosters, every set of k shares
//! rebuilds the PIN the token accepts, and every set of k-1 is refused by
//! the share checks before any C_Login could be made.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use keyceremony_engine::activation::{self, with_pin};
use keyceremony_hsm::lab::SoftHsmLab;
use keyceremony_hsm::{Module, SecretString, UserKind, default_module_path};
use keyceremony_shares::{self as shares, Expected, SecretKind, Share, ShareError};

/// One lab per test process, used by one test at a time: SoftHSM2's file
/// store is not safe for one thread to enumerate tokens while another works
/// on a token, and it renumbers its free slot on every initialisation.
fn module() -> &'static (Module, Mutex<()>) {
    static HSM: OnceLock<(Module, Mutex<()>)> = OnceLock::new();
    HSM.get_or_init(|| {
        let path = default_module_path()
            .expect("SoftHSM2 is not installed: run scripts/setup.sh (apt-get install softhsm2)");
        let dir = tempfile::Builder::new()
            .prefix("dual-control-lab-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let lab = SoftHsmLab::create(&dir).unwrap();
        lab.activate();
        (Module::load(&path).unwrap(), Mutex::new(()))
    })
}

fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() as usize == k)
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

/// A token whose user PIN is split k-of-n, as init-token makes it, and the
/// lab's lock, to be held until the test is done with the token.
fn token_with_split(
    label: &str,
    k: u8,
    n: u8,
) -> (
    MutexGuard<'static, ()>,
    keyceremony_hsm::Token,
    Vec<Share>,
    Expected,
) {
    let (module, lock) = module();
    let serial = lock.lock().unwrap_or_else(PoisonError::into_inner);
    let so = SecretString::from("lab-so-pin-0000");
    let token = module
        .uninitialized_token()
        .unwrap()
        .initialize(&so, label)
        .unwrap();
    let session = token.open_session().unwrap();
    session.login(UserKind::SecurityOfficer, &so).unwrap();
    let random = session.random(activation::SECRET_BYTES + 32).unwrap();
    let secret = activation::secret_from(&random);
    let seed = activation::seed(&random[activation::SECRET_BYTES..], "user-pin").unwrap();
    let split = shares::split(SecretKind::UserPin, "roster-test", &secret, k, n, seed).unwrap();
    session.init_user_pin(&shares::pin(&secret)).unwrap();
    session.close().unwrap();
    let expected = Expected::from(&split.set);
    (serial, token, split.shares, expected)
}

fn roster(label: &str, k: u8, n: u8) {
    let (_serial, token, all, expected) = token_with_split(label, k, n);
    for subset in subsets(n as usize, k as usize) {
        let chosen: Vec<Share> = subset.iter().map(|i| all[*i].clone()).collect();
        let session = token.open_session().unwrap();
        let login = with_pin(&chosen, &expected, |pin| session.login(UserKind::User, pin))
            .expect("k checked shares rebuild a PIN");
        assert!(
            login.is_ok(),
            "{k}-of-{n}: shares {subset:?} did not log in: {login:?}"
        );
        session.close().unwrap();
    }
    for subset in subsets(n as usize, k as usize - 1) {
        let chosen: Vec<Share> = subset.iter().map(|i| all[*i].clone()).collect();
        let called = std::cell::Cell::new(false);
        let refused = with_pin(&chosen, &expected, |_| called.set(true));
        assert!(
            matches!(refused, Err(ShareError::NotEnough { .. })),
            "{k}-of-{n}: {} shares were not refused",
            chosen.len()
        );
        assert!(!called.get(), "the PIN was rebuilt from too few shares");
    }
}

#[test]
fn two_of_two() {
    roster("roster 2-of-2", 2, 2);
}

#[test]
fn two_of_three() {
    roster("roster 2-of-3", 2, 3);
}

#[test]
fn three_of_five() {
    roster("roster 3-of-5", 3, 5);
}

#[test]
fn a_repeated_share_another_ceremonys_share_or_a_typo_never_reaches_the_token() {
    let (_serial, token, all, expected) = token_with_split("roster refusals", 2, 3);
    let session = token.open_session().unwrap();
    let try_login = |chosen: &[Share]| {
        let mut called = false;
        let result = with_pin(chosen, &expected, |pin| {
            called = true;
            session.login(UserKind::User, pin)
        });
        (result, called)
    };

    let (result, called) = try_login(&[all[0].clone(), all[0].clone()]);
    assert!(
        matches!(result, Err(ShareError::DuplicateNumber { entry: 1, .. })),
        "{result:?}"
    );
    assert!(!called);

    let secret = activation::secret_from(&[7u8; 20]);
    let other = shares::split(
        SecretKind::UserPin,
        "another-ceremony",
        &secret,
        2,
        3,
        [9; 32],
    )
    .unwrap();
    let (result, called) = try_login(&[all[0].clone(), other.shares[1].clone()]);
    assert!(
        matches!(result, Err(ShareError::OtherCeremony { entry: 1, .. })),
        "{result:?}"
    );
    assert!(!called);

    let text = secrecy::ExposeSecret::expose_secret(&all[1].to_text()).to_string();
    let position = text.len() - 12;
    let mut typo = text.clone().into_bytes();
    typo[position] = if typo[position] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    assert!(
        Share::parse(&typo).is_err(),
        "one mistyped character was accepted"
    );

    // The right shares still work: nothing above touched the token.
    let (result, called) = try_login(&[all[0].clone(), all[2].clone()]);
    assert!(called);
    assert!(result.unwrap().is_ok());
}
