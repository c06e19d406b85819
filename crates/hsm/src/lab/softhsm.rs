//! A SoftHSM2 lab: SoftHSM2 keeps its tokens wherever its configuration
//! file says, by default in the machine's shared token directory, so the lab
//! writes its own, pointing at a private directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::ModuleKind;

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
        let (dir, token_dir) = super::private_token_dir(dir)?;
        let token_dir_text = super::config_text(&token_dir, "a SoftHSM2 configuration")?;
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

/// Where SoftHSM2 reads its configuration when `SOFTHSM2_CONF` is not set
/// (Debian's package).
pub(super) const SYSTEM_CONFIG: &str = "/etc/softhsm/softhsm2.conf";

/// What to check when a module's C_Initialize fails. SoftHSM2 fails there
/// when its configuration or its token folder is missing or unreadable, and
/// says no more than CKR_GENERAL_ERROR, so for SoftHSM2 this finds which
/// (a ceremony's token folder taken away or left unmounted looks the same).
pub fn initialize_advice(module: &Path) -> String {
    match ModuleKind::of(module) {
        ModuleKind::SoftHsm2 => softhsm_advice(),
        ModuleKind::Kryoptic => super::kryoptic::initialize_advice(),
        ModuleKind::Other => "the module could not start its token; check that the HSM is \
                              connected and powered, and the module's own configuration"
            .to_owned(),
    }
}

fn softhsm_advice() -> String {
    let (config, named_by) = match std::env::var_os(SOFTHSM2_CONF_VAR) {
        Some(path) => (PathBuf::from(path), format!("{SOFTHSM2_CONF_VAR} names")),
        None => (
            PathBuf::from(SYSTEM_CONFIG),
            format!("{SOFTHSM2_CONF_VAR} is not set, so SoftHSM2 reads"),
        ),
    };
    let text = match fs::read_to_string(&config) {
        Ok(text) => text,
        Err(e) => {
            return format!(
                "{named_by} its configuration {}, which cannot be read ({e}); \
                 set {SOFTHSM2_CONF_VAR} to the configuration of the ceremony's tokens",
                config.display()
            );
        }
    };
    let Some(token_dir) = configured_token_dir(&text) else {
        return format!(
            "{named_by} {}, which has no directories.tokendir line; add the token folder there",
            config.display()
        );
    };
    match fs::read_dir(&token_dir) {
        Ok(_) => format!(
            "{named_by} {}, and its token folder {} is readable; check the folder's \
             contents and permissions, and SoftHSM2's messages in the system log",
            config.display(),
            token_dir.display()
        ),
        Err(e) => format!(
            "{named_by} {}, whose token folder {} (directories.tokendir) cannot be read ({e}); \
             put the token folder back (or mount it) and run the same command again",
            config.display(),
            token_dir.display()
        ),
    }
}

/// The `token.object` files of SoftHSM2's token folders that are empty:
/// SoftHSM2 rewrites a token's state file in place (during C_Login among
/// others), so a process killed at that moment leaves it empty, and the
/// token then vanishes from the slot list. Empty for any other module.
pub fn empty_token_state_files(module: &Path) -> Vec<PathBuf> {
    if ModuleKind::of(module) != ModuleKind::SoftHsm2 {
        return Vec::new();
    }
    let config = std::env::var_os(SOFTHSM2_CONF_VAR)
        .map_or_else(|| PathBuf::from(SYSTEM_CONFIG), PathBuf::from);
    let Some(dir) = fs::read_to_string(&config)
        .ok()
        .and_then(|text| configured_token_dir(&text))
    else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path().join("token.object"))
        .filter(|file| fs::metadata(file).is_ok_and(|m| m.is_file() && m.len() == 0))
        .collect()
}

pub(super) fn configured_token_dir(config: &str) -> Option<PathBuf> {
    config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "directories.tokendir").then(|| PathBuf::from(value.trim()))
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_token_folder_is_read_from_the_configuration() {
        let text = CONFIG_TEMPLATE.replace(TOKENDIR_PLACEHOLDER, "/srv/ceremony/tokens");
        assert_eq!(
            configured_token_dir(&text),
            Some(PathBuf::from("/srv/ceremony/tokens"))
        );
        assert_eq!(configured_token_dir("log.level = ERROR\n"), None);
    }

    #[test]
    fn only_softhsm2_has_state_files_to_look_at() {
        assert!(empty_token_state_files(Path::new("/usr/lib/vendor/libcknfast.so")).is_empty());
    }

    #[test]
    fn advice_for_other_modules_does_not_mention_softhsm() {
        let advice = initialize_advice(Path::new("/usr/lib/vendor/libcknfast.so"));
        assert!(advice.contains("HSM is connected"), "{advice}");
        assert!(!advice.contains("SoftHSM2"), "{advice}");
        let advice = initialize_advice(Path::new(super::super::KRYOPTIC_SETUP_PATH));
        assert!(advice.contains("KRYOPTIC_CONF"), "{advice}");
        assert!(!advice.contains("SoftHSM2"), "{advice}");
    }

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
        assert_eq!(
            super::super::marker::lab_holding(&lab.token_dir).as_deref(),
            Some(lab.dir.as_path()),
            "the lab is marked as one"
        );

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
