//! A throwaway SoftHSM2 lab for rehearsals and tests.
//!
//! SoftHSM2 keeps its tokens wherever its configuration file says, and by
//! default that is the machine's shared token directory. A lab writes its own
//! configuration pointing at a private directory, so rehearsing a ceremony
//! can never create, change or destroy the user's real tokens.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The environment variable SoftHSM2 reads its configuration path from.
pub const SOFTHSM2_CONF_VAR: &str = "SOFTHSM2_CONF";

/// Mirrors `softhsm-config/softhsm2.conf.template` at the workspace root
/// (a unit test keeps the two identical); `@TOKENDIR@` is the token directory.
const CONFIG_TEMPLATE: &str = "\
# SoftHSM2 configuration for keyceremony rehearsals and tests.
# The token directory placeholder is replaced by the absolute path of a
# throwaway directory, so a rehearsal never touches the tokens of the
# system-wide configuration.
directories.tokendir = @TOKENDIR@
objectstore.backend = file
log.level = ERROR
slots.removable = false
";

const TOKENDIR_PLACEHOLDER: &str = "@TOKENDIR@";

/// A SoftHSM2 configuration and token directory of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftHsmLab {
    /// The lab's directory.
    pub dir: PathBuf,
    /// `DIR/softhsm2.conf`.
    pub config: PathBuf,
    /// `DIR/tokens`, readable only by the owner (mode 0700).
    pub token_dir: PathBuf,
}

impl SoftHsmLab {
    /// Creates `dir` (if needed), its `tokens/` directory with mode 0700 and
    /// a `softhsm2.conf` pointing at it. Existing tokens in `dir/tokens` are
    /// kept, so a lab can be reopened.
    pub fn create(dir: &Path) -> io::Result<SoftHsmLab> {
        fs::create_dir_all(dir)?;
        let dir = fs::canonicalize(dir)?;
        let token_dir = dir.join("tokens");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&token_dir)?;
        // The mode above only applies when the directory is new.
        fs::set_permissions(&token_dir, fs::Permissions::from_mode(0o700))?;

        let token_dir_text = token_dir.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not valid UTF-8, which a SoftHSM2 configuration cannot hold",
                    token_dir.display()
                ),
            )
        })?;
        if token_dir_text.contains(['\n', '\r']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the lab directory's path contains a line break, which a SoftHSM2 configuration cannot hold",
            ));
        }
        let config = dir.join("softhsm2.conf");
        fs::write(
            &config,
            CONFIG_TEMPLATE.replace(TOKENDIR_PLACEHOLDER, token_dir_text),
        )?;
        Ok(SoftHsmLab {
            dir,
            config,
            token_dir,
        })
    }

    /// Points SoftHSM2 at this lab by setting `SOFTHSM2_CONF` for the whole
    /// process. Call it before [`crate::Module::load`] loads SoftHSM2, which
    /// reads the variable once during `C_Initialize`.
    ///
    /// Changing the environment is only sound while no other thread reads or
    /// writes it, so call this early, before the program starts threads.
    pub fn activate(&self) {
        // SAFETY: the caller upholds the documented contract that no other
        // thread is running (and so none is reading the environment).
        unsafe { std::env::set_var(SOFTHSM2_CONF_VAR, &self.config) };
    }
}

/// Stands in for the Qualified Auditor's own token in a rehearsal lab: a
/// token of its own with one P-384 key, used to sign the log's seal. At a
/// real ceremony the auditor brings this token; the tool never makes it.
pub fn create_witness_token(
    module: &crate::Module,
    label: &str,
    key_label: &str,
    so_pin: &crate::SecretString,
    user_pin: &crate::SecretString,
) -> crate::Result<Vec<u8>> {
    let token = module.uninitialized_token()?.initialize(so_pin, label)?;
    let session = token.open_session()?;
    session.login(crate::UserKind::SecurityOfficer, so_pin)?;
    session.init_user_pin(user_pin)?;
    session.logout()?;
    session.login(crate::UserKind::User, user_pin)?;
    let id = session.random(16)?;
    let pair = session.generate_key_pair(&crate::KeyGenSpec {
        algorithm: crate::KeyAlgorithm::EcP384,
        label: key_label.to_string(),
        id,
        always_authenticate: false,
    })?;
    let spki = session.public_key_spki_der(&pair)?;
    session.close()?;
    Ok(spki)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_mirrors_the_workspace_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../softhsm-config/softhsm2.conf.template");
        let on_disk = fs::read_to_string(&path).expect("read the workspace template");
        assert_eq!(on_disk, CONFIG_TEMPLATE);
    }

    #[test]
    fn create_writes_config_and_private_token_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let lab = SoftHsmLab::create(&tmp.path().join("lab")).expect("create lab");
        let mode = fs::metadata(&lab.token_dir)
            .expect("token dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let config = fs::read_to_string(&lab.config).expect("config");
        assert!(config.contains(&format!(
            "directories.tokendir = {}\n",
            lab.token_dir.display()
        )));
        assert!(!config.contains(TOKENDIR_PLACEHOLDER));
        assert!(config.contains("objectstore.backend = file\n"));

        // Reopening keeps working and restores the permissions.
        fs::set_permissions(&lab.token_dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        let again = SoftHsmLab::create(&lab.dir).expect("reopen lab");
        assert_eq!(again, lab);
        let mode = fs::metadata(&lab.token_dir)
            .expect("token dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
