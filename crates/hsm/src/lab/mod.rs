//! Throwaway labs for rehearsals and tests, on SoftHSM2 or kryoptic.
//!
//! A soft token keeps its tokens wherever its configuration says, and by
//! default that is a folder shared by the whole machine or the user's home.
//! A lab writes a configuration of its own that points at a private folder
//! inside the lab, and names it in the environment variable the module
//! reads, so rehearsing a ceremony can never create, change or destroy
//! anyone's real tokens. A module whose tokens no configuration can place
//! (a real HSM, or a soft token the lab does not know) gets no lab. Every
//! lab folder is marked as one ([`MARKER_FILE`]), so that a production
//! ceremony can refuse a lab's tokens and a rehearsal anyone else's
//! ([`token_placement`]).

mod kryoptic;
mod marker;
mod softhsm;

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use kryoptic::{KRYOPTIC_CONF_VAR, KRYOPTIC_MODULE_VAR, KryopticLab, kryoptic_module};
pub use marker::{MARKER_FILE, TokenFolder, TokenPlacement, token_placement};
pub use softhsm::{SOFTHSM2_CONF_VAR, SoftHsmLab, empty_token_state_files, initialize_advice};

use crate::error::{HsmError, Result};
use crate::module::Module;

/// The soft tokens a lab knows, told apart by the file name their projects
/// install the module under: a lab must configure the module before it is
/// loaded, so it cannot ask the module itself (it checks once loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// SoftHSM2 (`libsofthsm2.so`).
    SoftHsm2,
    /// kryoptic (`libkryoptic_pkcs11.so`).
    Kryoptic,
    /// Anything else: a real HSM's module, or a soft token no lab knows.
    Other,
}

impl ModuleKind {
    /// The kind the file name (or the name it links to) says.
    pub fn of(path: &Path) -> ModuleKind {
        let resolved = std::fs::canonicalize(path).ok();
        let names = [Some(path), resolved.as_deref()];
        let named = |part: &str| {
            names.iter().flatten().any(|p| {
                p.file_name()
                    .is_some_and(|name| name.to_string_lossy().contains(part))
            })
        };
        if named("softhsm") {
            ModuleKind::SoftHsm2
        } else if named("kryoptic") {
            ModuleKind::Kryoptic
        } else {
            ModuleKind::Other
        }
    }

    /// The module's name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ModuleKind::SoftHsm2 => "SoftHSM2",
            ModuleKind::Kryoptic => "kryoptic",
            ModuleKind::Other => "the module",
        }
    }

    /// What C_GetInfo's manufacturer starts with, for the check after loading.
    fn manufacturer(self) -> Option<&'static str> {
        match self {
            ModuleKind::SoftHsm2 => Some("SoftHSM"),
            ModuleKind::Kryoptic => Some("Kryoptic"),
            ModuleKind::Other => None,
        }
    }

    /// What to check when a module file cannot be loaded.
    pub(crate) fn load_advice(self) -> &'static str {
        match self {
            ModuleKind::SoftHsm2 => "check the module path (SoftHSM2: apt-get install softhsm2)",
            ModuleKind::Kryoptic => {
                "check the module path (kryoptic's PKCS#11 library, libkryoptic_pkcs11.so; scripts/setup.sh builds it into /opt/keyceremony-kryoptic)"
            }
            ModuleKind::Other => "check the module path the HSM vendor's documentation gives",
        }
    }

    /// Where a free token comes from when none is left.
    pub(crate) fn free_token_advice(self) -> &'static str {
        match self {
            ModuleKind::SoftHsm2 => {
                "SoftHSM2 always offers one free slot unless its token directory is unusable: check the folder its configuration (SOFTHSM2_CONF) names"
            }
            ModuleKind::Kryoptic => {
                "kryoptic has no spare slot: add a [[slots]] table with a new database file to the configuration KRYOPTIC_CONF names (a lab made with more tokens has more)"
            }
            ModuleKind::Other => {
                "connect a fresh token, or make a free slot or partition available as the HSM's documentation says"
            }
        }
    }
}

/// A lab on one of the soft tokens it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lab {
    /// SoftHSM2: a token folder, and always one free slot more.
    SoftHsm2(SoftHsmLab),
    /// kryoptic: one configured slot, and database, per token.
    Kryoptic(KryopticLab),
}

impl Lab {
    /// Makes a lab in `dir` for the module at `module`, room for `tokens`
    /// tokens (SoftHSM2 always has room; kryoptic gets one slot each), and
    /// refuses a module whose tokens it cannot keep inside `dir`: one it
    /// does not know, or one this process has already started, which would
    /// go on using its first configuration.
    pub fn create(dir: &Path, module: &Path, tokens: usize) -> Result<Lab> {
        let cannot = |reason: String| HsmError::LabModule {
            module: module.to_path_buf(),
            dir: dir.to_path_buf(),
            reason,
        };
        if Module::is_loaded(module) {
            return Err(cannot(
                "this process has already started the module with another configuration, and a module reads its configuration only once".to_owned(),
            ));
        }
        let files = |source: io::Error| HsmError::LabFiles {
            dir: dir.to_path_buf(),
            source,
        };
        match ModuleKind::of(module) {
            ModuleKind::SoftHsm2 => Ok(Lab::SoftHsm2(SoftHsmLab::create(dir).map_err(files)?)),
            ModuleKind::Kryoptic => Ok(Lab::Kryoptic(
                KryopticLab::create(dir, tokens).map_err(files)?,
            )),
            ModuleKind::Other => Err(cannot(
                "a lab knows SoftHSM2 (libsofthsm2.so) and kryoptic (libkryoptic_pkcs11.so), whose token folders its own configuration places inside the lab; this module is neither, and would keep its tokens wherever it keeps them. Rehearse on one of those, or run the script on this module without a lab".to_owned(),
            )),
        }
    }

    /// The lab's folder.
    pub fn dir(&self) -> &Path {
        match self {
            Lab::SoftHsm2(lab) => &lab.dir,
            Lab::Kryoptic(lab) => &lab.dir,
        }
    }

    /// The configuration file the lab wrote.
    pub fn config(&self) -> &Path {
        match self {
            Lab::SoftHsm2(lab) => &lab.config,
            Lab::Kryoptic(lab) => &lab.config,
        }
    }

    /// The folder that holds the lab's tokens.
    pub fn token_dir(&self) -> &Path {
        match self {
            Lab::SoftHsm2(lab) => &lab.token_dir,
            Lab::Kryoptic(lab) => &lab.token_dir,
        }
    }

    /// The environment variable that names the configuration to the module.
    pub fn config_var(&self) -> &'static str {
        match self {
            Lab::SoftHsm2(_) => SOFTHSM2_CONF_VAR,
            Lab::Kryoptic(_) => KRYOPTIC_CONF_VAR,
        }
    }

    /// The module the lab is for.
    pub fn kind(&self) -> ModuleKind {
        match self {
            Lab::SoftHsm2(_) => ModuleKind::SoftHsm2,
            Lab::Kryoptic(_) => ModuleKind::Kryoptic,
        }
    }

    /// Points the module at this lab for the whole process; call it before
    /// [`Module::load`], and before the program starts threads (see
    /// [`SoftHsmLab::activate`]).
    pub fn activate(&self) {
        match self {
            Lab::SoftHsm2(lab) => lab.activate(),
            Lab::Kryoptic(lab) => lab.activate(),
        }
    }

    /// Loads the module the lab was made for and checks that it is that
    /// module and that its tokens are the lab's; call [`Lab::activate`]
    /// first.
    pub fn load(&self, module: &Path) -> Result<Module> {
        let cannot = |reason: String| HsmError::LabModule {
            module: module.to_path_buf(),
            dir: self.dir().to_path_buf(),
            reason,
        };
        let loaded = Module::load(module)?;
        let info = loaded.info()?;
        let kind = self.kind();
        if let Some(expected) = kind.manufacturer()
            && !info.manufacturer.starts_with(expected)
        {
            return Err(cannot(format!(
                "its file name says {} but the module says it is made by '{}'",
                kind.name(),
                info.manufacturer
            )));
        }
        if let Lab::Kryoptic(lab) = self {
            let shown: BTreeSet<(u64, String)> = loaded.slot_descriptions()?.into_iter().collect();
            let configured: BTreeSet<(u64, String)> = lab.slots().collect();
            if shown != configured {
                return Err(cannot(format!(
                    "kryoptic shows slots {}, not the lab's {}: it did not read the lab's configuration {} (is {KRYOPTIC_CONF_VAR} set to another file?)",
                    describe_slots(&shown),
                    describe_slots(&configured),
                    lab.config.display()
                )));
            }
        }
        Ok(loaded)
    }
}

fn describe_slots(slots: &BTreeSet<(u64, String)>) -> String {
    if slots.is_empty() {
        return "none".to_owned();
    }
    slots
        .iter()
        .map(|(id, description)| format!("{id} ({description})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stands in for the Qualified Auditor's own token in a rehearsal lab: a
/// token of its own with one P-384 key, used to sign the log's seal. At a
/// real ceremony the auditor brings this token; the tool never makes it.
pub fn create_witness_token(
    module: &Module,
    label: &str,
    key_label: &str,
    so_pin: &crate::SecretString,
    user_pin: &crate::SecretString,
) -> Result<Vec<u8>> {
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

/// Creates `dir` (if needed), marks it a lab ([`MARKER_FILE`]), and makes
/// its `tokens/` folder, readable only by the owner (mode 0700, set again on
/// a reopened lab); both as absolute paths.
fn private_token_dir(dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let dir = std::fs::canonicalize(dir)?;
    marker::write(&dir)?;
    let token_dir = dir.join("tokens");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&token_dir)?;
    // The mode above only applies when the folder is new.
    std::fs::set_permissions(&token_dir, std::fs::Permissions::from_mode(0o700))?;
    Ok((dir, token_dir))
}

/// `path` as text a one-line configuration value can hold.
fn config_text<'a>(path: &'a Path, config: &str) -> io::Result<&'a str> {
    let text = path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not valid UTF-8, which {config} cannot hold",
                path.display()
            ),
        )
    })?;
    if text.chars().any(char::is_control) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the lab folder's path contains a line break or another control character, which {config} cannot hold"
            ),
        ));
    }
    Ok(text)
}

/// Where scripts/setup.sh builds kryoptic's module, named once for
/// [`kryoptic_module`] and the messages.
pub(crate) const KRYOPTIC_SETUP_PATH: &str = "/opt/keyceremony-kryoptic/libkryoptic_pkcs11.so";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_known_by_their_file_names() {
        assert_eq!(
            ModuleKind::of(Path::new("/usr/lib/softhsm/libsofthsm2.so")),
            ModuleKind::SoftHsm2
        );
        assert_eq!(
            ModuleKind::of(Path::new(KRYOPTIC_SETUP_PATH)),
            ModuleKind::Kryoptic
        );
        assert_eq!(
            ModuleKind::of(Path::new("/usr/lib/vendor/libcknfast.so")),
            ModuleKind::Other
        );
    }

    #[test]
    fn advice_names_only_the_module_at_hand() {
        for kind in [ModuleKind::Kryoptic, ModuleKind::Other] {
            assert!(!kind.load_advice().contains("SoftHSM2"), "{kind:?}");
            assert!(!kind.free_token_advice().contains("SoftHSM2"), "{kind:?}");
        }
        assert!(!ModuleKind::Other.free_token_advice().contains("kryoptic"));
        assert!(
            ModuleKind::SoftHsm2
                .load_advice()
                .contains("apt-get install softhsm2")
        );
    }

    #[test]
    fn a_lab_refuses_a_module_it_does_not_know() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("lab");
        let err = Lab::create(&dir, Path::new("/usr/lib/vendor/libcknfast.so"), 1).unwrap_err();
        assert!(matches!(err, HsmError::LabModule { .. }), "{err:?}");
        assert!(err.to_string().contains("is neither"), "{err}");
        assert!(!dir.exists(), "a refused lab writes nothing");
    }
}
