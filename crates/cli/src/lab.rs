//! Rehearsal labs: a SoftHSM2 or kryoptic configuration and token folder of
//! their own, with a token standing in for the Qualified Auditor's, so that a
//! rehearsal seals its log as a real ceremony does.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use keyceremony_hsm::SecretString;
use keyceremony_hsm::lab::{Lab as ModuleLab, create_witness_token};
use secrecy::ExposeSecret;

/// The witness token and key the shipped scripts name.
pub const WITNESS_TOKEN: &str = "Quinn Adeyemi (auditor)";
pub const WITNESS_KEY: &str = "quinn-adeyemi-seal";

pub struct Lab {
    pub lab: ModuleLab,
    pub pin_file: PathBuf,
    pub public_key: PathBuf,
}

/// Makes the lab with room for the witness's token and `ceremonies` more,
/// points this process's module at it, and creates the witness token with a
/// random PIN written to `DIR/witness.pin` (mode 0600: a lab's PIN, never a
/// ceremony's).
pub fn create(dir: &Path, module: &Path, ceremonies: usize, token: &str, key: &str) -> Result<Lab> {
    let lab = ModuleLab::create(dir, module, ceremonies + 1)?;
    lab.activate();
    let module = lab.load(module)?;
    let so_pin = random_pin()?;
    let user_pin = random_pin()?;
    let spki = create_witness_token(&module, token, key, &so_pin, &user_pin)?;
    let pin_file = lab.dir().join("witness.pin");
    write_private(&pin_file, user_pin.expose_secret().as_bytes())?;
    let public_key = lab.dir().join("witness.pub.pem");
    std::fs::write(
        &public_key,
        keyceremony_x509::pem_encode("PUBLIC KEY", &spki),
    )
    .with_context(|| format!("cannot write {}", public_key.display()))?;
    Ok(Lab {
        lab,
        pin_file,
        public_key,
    })
}

fn random_pin() -> Result<SecretString> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 20]);
    getrandom::fill(bytes.as_mut()).context("the system random generator failed")?;
    Ok(keyceremony_shares::pin(&bytes))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// A lab PIN file, for `run --witness-pin-file`.
pub fn read_pin(path: &Path) -> Result<SecretString> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the witness PIN file {}", path.display()))?,
    );
    Ok(SecretString::from(text.trim().to_string()))
}

/// The requests of the subordinate CAs a rehearsal certifies: for each CSR
/// the script names that is not in the inputs folder (`inputs`) yet, one
/// made with a fresh P-384 key in software, for the script's subject, as
/// the subordinate CA would hand it over. A real subordinate CA makes its
/// key in its own HSM.
pub fn subordinate_requests(script: &keyceremony_script::Script, inputs: &Path) -> Result<()> {
    for sub in &script.subordinates {
        let Some(csr) = &sub.csr else {
            continue;
        };
        let path = inputs.join(csr);
        if path.exists() {
            continue;
        }
        let s = &sub.subject;
        let subject = keyceremony_x509::DistinguishedName {
            country: s.country.clone(),
            state_or_province: s.state_or_province.clone(),
            locality: s.locality.clone(),
            organization: s.organization.clone(),
            common_name: s.common_name.clone(),
        };
        let mut secret = zeroize::Zeroizing::new([0u8; 48]);
        getrandom::fill(secret.as_mut()).context("the system random generator failed")?;
        // 48 random bytes are not a P-384 scalar once in 2^190 draws: then
        // the rehearsal is simply run again.
        let der = keyceremony_x509::rehearsal_certification_request(&subject, &secret)
            .with_context(|| format!("cannot make the request of subordinate '{}'", sub.id))?;
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot make {}", folder.display()))?;
        }
        std::fs::write(
            &path,
            keyceremony_x509::pem_encode("CERTIFICATE REQUEST", &der),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        crate::say!(
            "REHEARSAL: {} holds the request of subordinate CA '{}', made with a software P-384 key",
            path.display(),
            sub.id
        );
    }
    Ok(())
}
