//! How a lab's tokens are told from anyone else's: every lab folder holds a
//! marker file, `keyceremony-lab`, beside the `tokens/` folder its module's
//! configuration names. A production ceremony refuses a module whose
//! configuration keeps its tokens in a marked folder, and a rehearsal runs
//! on no other.
//!
//! The marker is a file the lab maker writes and nothing else does: its
//! name and its first line are the tool's own, so an operator cannot make
//! one by accident, and it sits outside the token folder, which the module
//! alone fills. It is found from the configuration the module will read
//! (the variable in this process's environment, or the module's default
//! file), before the module is loaded: a lab's configuration copied to
//! another place still names the lab's tokens, and those are what count.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{KRYOPTIC_CONF_VAR, ModuleKind, SOFTHSM2_CONF_VAR};

/// The marker's file name, in the lab's folder.
pub const MARKER_FILE: &str = "keyceremony-lab";

/// The marker's first line, by which it is recognised.
const MARKER_TITLE: &str = "keyceremony rehearsal lab";

/// Marks `dir` (absolute) as a lab.
pub(super) fn write(dir: &Path) -> io::Result<()> {
    fs::write(
        dir.join(MARKER_FILE),
        format!(
            "{MARKER_TITLE}\n\
             The tokens in tokens/ beside this file are a rehearsal's: a production ceremony\n\
             refuses to run on them, and a rehearsal runs on no others. When the rehearsal is\n\
             over, delete this whole folder, never this file alone.\n"
        ),
    )
}

/// The lab `folder` is the token folder of: its parent, when that holds
/// the marker.
pub(super) fn lab_holding(folder: &Path) -> Option<PathBuf> {
    let lab = folder.parent()?;
    let text = fs::read_to_string(lab.join(MARKER_FILE)).ok()?;
    (text.lines().next() == Some(MARKER_TITLE)).then(|| lab.to_path_buf())
}

/// A folder the module's configuration keeps tokens in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFolder {
    /// The folder.
    pub path: PathBuf,
    /// The lab it belongs to, if it is a lab's.
    pub lab: Option<PathBuf>,
}

/// Where a soft token's configuration keeps its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPlacement {
    /// The configuration file the module will read.
    pub config: PathBuf,
    /// Its token folders: none when it cannot be read or names none.
    pub folders: Vec<TokenFolder>,
}

impl TokenPlacement {
    /// The first lab among the token folders.
    pub fn any_lab(&self) -> Option<&Path> {
        self.folders.iter().find_map(|f| f.lab.as_deref())
    }

    /// The lab every token folder belongs to, when there are folders and
    /// all of them are that one lab's.
    pub fn only_lab(&self) -> Option<&Path> {
        let first = self.folders.first()?.lab.as_deref()?;
        self.folders
            .iter()
            .all(|f| f.lab.as_deref() == Some(first))
            .then_some(first)
    }
}

/// Where the module at `module` will keep its tokens, as the configuration
/// this process's environment names says; None for a module no lab knows
/// (a real HSM's), whose tokens no configuration file of ours places.
pub fn token_placement(module: &Path) -> Option<TokenPlacement> {
    let (config, folders): (PathBuf, fn(&str) -> Vec<PathBuf>) = match ModuleKind::of(module) {
        ModuleKind::SoftHsm2 => (
            std::env::var_os(SOFTHSM2_CONF_VAR).map_or_else(
                || PathBuf::from(super::softhsm::SYSTEM_CONFIG),
                PathBuf::from,
            ),
            |text| {
                super::softhsm::configured_token_dir(text)
                    .into_iter()
                    .collect()
            },
        ),
        ModuleKind::Kryoptic => (
            std::env::var_os(KRYOPTIC_CONF_VAR).map_or_else(
                || {
                    std::env::var_os("HOME")
                        .map(PathBuf::from)
                        .unwrap_or_default()
                        .join(".config/kryoptic/token.conf")
                },
                PathBuf::from,
            ),
            super::kryoptic::configured_token_dirs,
        ),
        ModuleKind::Other => return None,
    };
    let folders = fs::read_to_string(&config)
        .map(|text| folders(&text))
        .unwrap_or_default()
        .into_iter()
        .map(|path| TokenFolder {
            lab: lab_holding(&path),
            path,
        })
        .collect();
    Some(TokenPlacement { config, folders })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_folder_beside_the_tools_own_marker_is_a_labs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let tokens = dir.join("tokens");
        assert_eq!(lab_holding(&tokens), None);
        // A file of that name the tool did not write is not a marker.
        fs::write(dir.join(MARKER_FILE), "notes about the lab\n").expect("write");
        assert_eq!(lab_holding(&tokens), None);
        write(dir).expect("marker");
        assert_eq!(lab_holding(&tokens).as_deref(), Some(dir));
    }

    #[test]
    fn a_module_no_lab_knows_has_no_placement() {
        assert_eq!(
            token_placement(Path::new("/usr/lib/vendor/libcknfast.so")),
            None
        );
    }

    #[test]
    fn every_folder_must_be_the_same_labs() {
        let folder = |path: &str, lab: Option<&str>| TokenFolder {
            path: PathBuf::from(path),
            lab: lab.map(PathBuf::from),
        };
        let placement = |folders| TokenPlacement {
            config: PathBuf::from("/lab/kryoptic.conf"),
            folders,
        };
        let one = placement(vec![folder("/lab/tokens", Some("/lab"))]);
        assert_eq!(one.only_lab(), Some(Path::new("/lab")));
        let mixed = placement(vec![
            folder("/lab/tokens", Some("/lab")),
            folder("/srv/tokens", None),
        ]);
        assert_eq!(mixed.only_lab(), None);
        assert_eq!(mixed.any_lab(), Some(Path::new("/lab")));
        assert_eq!(placement(Vec::new()).only_lab(), None);
    }
}
