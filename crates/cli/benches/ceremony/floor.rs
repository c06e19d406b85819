//! The HSM floor: the PKCS#11 work of one shipped ceremony and nothing
//! else, in a process of its own (the bench's own binary, run as
//! `floor-child`), timed inside that process from the module's loading to
//! the last session's close. The calls are the engine's, through the same
//! `keyceremony-hsm` the engine uses, in the same order:
//!
//! - prepare: the module loaded, its tokens listed, the free token found,
//!   the witness's key looked for on their token without a login;
//! - init-token: C_InitToken with a transient SO PIN, SO login, 72 bytes
//!   from the token's generator, the SO PIN and the user PIN set, user login,
//!   the log-signing key (P-384) generated and its attributes and public key
//!   read, logout;
//! - login: the token looked up, a session, user login;
//! - generate-key: the label looked for, 16 random bytes for the CKA_ID, the
//!   root key pair generated (CKA_ALWAYS_AUTHENTICATE), its attributes and
//!   public key read, the token's URI;
//! - self-sign: 16 random bytes for the serial, one signature of a 1 KiB
//!   TBS with a context-specific login;
//! - logout; seal-log: user login, the log-signing key found, the witness's
//!   token opened and logged in, its key found, one signature each;
//! - a checkpoint at the end of every step the token is logged in for
//!   (login, generate-key, self-sign, export: four in a P-384 ceremony):
//!   the log-signing key found and one signature of the checkpoint
//!   statement, as `actions::proof` makes them.
//!
//! `root_ms` is the root key's generation (C_GenerateKeyPair) and its
//! certificate's signature (the context login included), timed as the
//! engine times the `hsm_ms` it logs.

use std::process::Command;
use std::time::Instant;

use keyceremony_hsm::{
    KeyAlgorithm, KeyGenSpec, KeyPair, Module, ObjectClass, ObjectFilter, SecretString, Session,
    Token, UserKind,
};

use crate::common::{Lab, module, text};
use crate::{Result, field};

/// Labels as the shipped scripts have them (their length is all that matters).
const TOKEN: &str = "Example TLS Root 2026";
const ROOT: &str = "example-tls-root-2026";
const LOG_KEY: &str = "example-tls-root-2026-log";
const WITNESS_TOKEN: &str = "Quinn Adeyemi (auditor)";
const WITNESS_KEY: &str = "quinn-adeyemi-seal";

/// One floor run, in milliseconds.
pub struct Floor {
    pub total_ms: f64,
    pub root_ms: f64,
}

/// Runs the floor in a process of its own on `lab`'s tokens.
pub fn run(algorithm: &str, lab: &Lab) -> Result<Floor> {
    let child = Command::new(std::env::current_exe()?)
        .args(["floor-child", algorithm])
        .arg(lab.witness_pin())
        .env("SOFTHSM2_CONF", lab.conf())
        .output()?;
    let out = text(&child.stdout);
    if !child.status.success() {
        return Err(format!("HSM floor: {}{}", out, text(&child.stderr)).into());
    }
    Ok(Floor {
        total_ms: field(&out, "total_ms")?,
        root_ms: field(&out, "root_ms")?,
    })
}

/// `floor-child ALGORITHM WITNESS_PIN_FILE`: the floor itself; prints
/// `total_ms=N root_ms=N`.
pub fn child(args: &[String]) -> Result<()> {
    let [algorithm, witness_pin] = args else {
        return Err("floor-child ALGORITHM WITNESS_PIN_FILE".into());
    };
    let algorithm = match algorithm.as_str() {
        "p384" => KeyAlgorithm::EcP384,
        "rsa4096" => KeyAlgorithm::Rsa4096,
        other => return Err(format!("unknown algorithm {other}").into()),
    };
    let witness_pin = pin(std::fs::read_to_string(witness_pin)?.trim());
    let started = Instant::now();
    let module = Module::load(&module())?;
    let root_ms = ceremony(&module, algorithm, &witness_pin)?;
    drop(module);
    let total_ms = ms(started);
    println!("total_ms={total_ms:.3} root_ms={root_ms:.3}");
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn pin(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

/// The ceremony's PKCS#11 calls; returns the root key's milliseconds.
fn ceremony(module: &Module, algorithm: KeyAlgorithm, witness_pin: &SecretString) -> Result<f64> {
    // prepare and the start's attestation
    module.info()?;
    module.tokens()?;
    module.uninitialized_token()?.info()?;
    let witness = module.token_by_label(WITNESS_TOKEN)?;
    let session = witness.open_session()?;
    session.find_objects(&ObjectFilter::label(WITNESS_KEY))?;
    session.close()?;

    // init-token
    let free = module.uninitialized_token()?;
    free.info()?;
    let transient = pin("transient-so-pin-of-forty-characters-00");
    let token = free.initialize(&transient, TOKEN)?;
    let session = token.open_session()?;
    session.login(UserKind::SecurityOfficer, &transient)?;
    let random = hex::encode(session.random(72)?);
    let (so_pin, user_pin) = (pin(&random[..40]), pin(&random[40..80]));
    session.set_pin(&transient, &so_pin)?;
    session.init_user_pin(&user_pin)?;
    session.logout()?;
    session.login(UserKind::User, &user_pin)?;
    generate(module, &session, KeyAlgorithm::EcP384, LOG_KEY, false)?;
    session.logout()?;
    session.close()?;
    token.info()?;
    token.uri()?;

    // login
    let session = logged_in(module, &user_pin)?;
    checkpoint(&session)?;

    // generate-key
    let (root, mut root_ms) = generate(module, &session, algorithm, ROOT, true)?;
    checkpoint(&session)?;

    // self-sign
    session.random(16)?;
    let started = Instant::now();
    session.sign_sha384(&root, &[0x5a; 1024], Some(&user_pin))?;
    root_ms += ms(started);
    checkpoint(&session)?;

    // export: no PKCS#11 call but its checkpoint
    checkpoint(&session)?;

    // logout
    session.logout()?;
    session.close()?;

    // seal-log
    let session = logged_in(module, &user_pin)?;
    let log_key = find_key(&session, LOG_KEY)?;
    session.public_key_spki_der(&log_key)?;
    module.token_by_label(TOKEN)?.uri()?;
    let witness = module.token_by_label(WITNESS_TOKEN)?;
    let witness_session = witness.open_session()?;
    witness_session.login(UserKind::User, witness_pin)?;
    let witness_key = find_key(&witness_session, WITNESS_KEY)?;
    witness_session.public_key_spki_der(&witness_key)?;
    witness.uri()?;
    let statement = [0x73; 320];
    session.sign_sha384(&log_key, &statement, None)?;
    witness_session.sign_sha384(&witness_key, &statement, Some(witness_pin))?;
    session.close()?;
    witness_session.close()?;
    Ok(root_ms)
}

/// The token looked up (its flags checked), a session, the user's login.
fn logged_in(module: &Module, user_pin: &SecretString) -> Result<Session> {
    let token: Token = module.token_by_label(TOKEN)?;
    token.info()?;
    let session = token.open_session()?;
    session.login(UserKind::User, user_pin)?;
    Ok(session)
}

/// A key pair generated as the engine generates one, its attributes and
/// public key read back, and its URI; with the milliseconds of the
/// generation itself, which is what the engine logs as `hsm_ms`.
fn generate(
    module: &Module,
    session: &Session,
    algorithm: KeyAlgorithm,
    label: &str,
    always_authenticate: bool,
) -> Result<(KeyPair, f64)> {
    session.find_objects(&ObjectFilter::label(label))?;
    let id = session.random(16)?;
    let started = Instant::now();
    let pair = session.generate_key_pair(&KeyGenSpec {
        algorithm,
        label: label.to_string(),
        id,
        always_authenticate,
    })?;
    let generated_ms = ms(started);
    session.private_key_attributes(&pair)?;
    if always_authenticate {
        session.public_key_attributes(&pair)?;
    }
    session.public_key_spki_der(&pair)?;
    module.token_by_label(TOKEN)?.uri()?;
    Ok((pair, generated_ms))
}

/// A checkpoint: the log-signing key found, and its signature of a
/// checkpoint statement (about 150 bytes).
fn checkpoint(session: &Session) -> Result<()> {
    let log_key = find_key(session, LOG_KEY)?;
    session.sign_sha384(&log_key, &[0x63; 150], None)?;
    Ok(())
}

/// The key pair whose private key carries `label`.
fn find_key(session: &Session, label: &str) -> Result<KeyPair> {
    let found = session.find_objects(&ObjectFilter {
        label: Some(label.to_string()),
        class: Some(ObjectClass::PrivateKey),
        ..ObjectFilter::default()
    })?;
    let object = found.first().ok_or("no such key")?;
    Ok(session.find_key_pair(&object.id)?.ok_or("no public half")?)
}
