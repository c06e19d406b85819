//! A kryoptic lab: kryoptic reads the file `KRYOPTIC_CONF` names (without
//! it, the user's `~/.config/kryoptic/token.conf`), one `[[slots]]` table
//! per token, each with the database file that holds it. There is no spare
//! slot: the lab configures one slot per token it will need, every database
//! inside its private `tokens/` folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::KRYOPTIC_SETUP_PATH;

/// The environment variable kryoptic reads its configuration path from.
pub const KRYOPTIC_CONF_VAR: &str = "KRYOPTIC_CONF";

/// Names another build of kryoptic's module than the one scripts/setup.sh
/// makes, for the tests.
pub const KRYOPTIC_MODULE_VAR: &str = "KEYCEREMONY_KRYOPTIC_MODULE";

/// The configuration's file name inside the lab.
const CONFIG_NAME: &str = "kryoptic.conf";

/// kryoptic's module as scripts/setup.sh builds it (or as
/// `KEYCEREMONY_KRYOPTIC_MODULE` names it), if it is there.
pub fn kryoptic_module() -> Option<PathBuf> {
    match std::env::var_os(KRYOPTIC_MODULE_VAR) {
        Some(path) => Some(PathBuf::from(path)),
        None => Some(PathBuf::from(KRYOPTIC_SETUP_PATH)).filter(|path| path.is_file()),
    }
}

/// A kryoptic configuration whose every slot keeps its token in the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KryopticLab {
    /// The lab's directory.
    pub dir: PathBuf,
    /// `DIR/kryoptic.conf`.
    pub config: PathBuf,
    /// `DIR/tokens`, readable only by the owner (mode 0700), one
    /// `token-N.sql` database per slot N.
    pub token_dir: PathBuf,
    /// How many slots (1 to this) the configuration has.
    pub slot_count: u64,
    /// Names this lab in the slots' descriptions, so that loading can tell
    /// the lab's slots from those of another configuration.
    tag: String,
}

impl KryopticLab {
    /// Creates `dir` (if needed), its private `tokens/` folder and a
    /// `kryoptic.conf` with slots 1 to `tokens`. A reopened lab keeps every
    /// token it already holds, even if fewer are asked for now.
    pub fn create(dir: &Path, tokens: usize) -> io::Result<KryopticLab> {
        if tokens == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a kryoptic lab needs at least one token",
            ));
        }
        let (dir, token_dir) = super::private_token_dir(dir)?;
        let existing = highest_existing_slot(&token_dir)?;
        let slot_count = (tokens as u64).max(existing);
        let tag = lab_tag(&dir);
        let mut config = String::from(
            "# kryoptic configuration of a keyceremony lab: one slot per token,\n\
             # each token's database inside this lab's private tokens/ folder.\n",
        );
        for slot in 1..=slot_count {
            let database = token_dir.join(format!("token-{slot}.sql"));
            let database = super::config_text(&database, "a kryoptic configuration")?;
            config.push_str(&format!(
                "\n[[slots]]\nslot = {slot}\ndescription = \"{}\"\ndbtype = \"sqlite\"\ndbargs = {}\n",
                slot_description(&tag, slot),
                toml_string(database)
            ));
        }
        let config_path = dir.join(CONFIG_NAME);
        fs::write(&config_path, config)?;
        Ok(KryopticLab {
            dir,
            config: config_path,
            token_dir,
            slot_count,
            tag,
        })
    }

    /// Points kryoptic at this lab by setting `KRYOPTIC_CONF` for the whole
    /// process; the same contract as [`super::SoftHsmLab::activate`].
    pub fn activate(&self) {
        // SAFETY: the caller upholds the documented contract that no other
        // thread is running (and so none is reading the environment).
        unsafe { std::env::set_var(KRYOPTIC_CONF_VAR, &self.config) };
    }

    /// Every configured slot with the description it shows in C_GetSlotInfo.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (u64, String)> + '_ {
        (1..=self.slot_count).map(|slot| (slot, slot_description(&self.tag, slot)))
    }
}

/// The highest N of the `token-N.sql` databases already in the folder.
fn highest_existing_slot(token_dir: &Path) -> io::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(token_dir)? {
        let name = entry?.file_name();
        let slot = name
            .to_str()
            .and_then(|name| name.strip_prefix("token-"))
            .and_then(|rest| rest.strip_suffix(".sql"))
            .and_then(|number| number.parse::<u64>().ok());
        highest = highest.max(slot.unwrap_or(0));
    }
    Ok(highest)
}

/// Eight hex digits of the lab folder's SHA-256: the same lab, the same tag.
fn lab_tag(dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..4])
}

fn slot_description(tag: &str, slot: u64) -> String {
    format!("keyceremony lab {tag} slot {slot}")
}

/// A TOML basic string; [`super::config_text`] has refused control characters.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The folders the databases of a configuration's slots are in, for the
/// `dbargs = "PATH"` lines a lab writes ([`toml_string`] read back); a line
/// written otherwise names no folder a lab made.
pub(super) fn configured_token_dirs(config: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for line in config.lines() {
        let Some(quoted) = line
            .strip_prefix("dbargs = \"")
            .and_then(|rest| rest.strip_suffix('"'))
        else {
            continue;
        };
        let mut path = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            path.push(if c == '\\' {
                chars.next().unwrap_or(c)
            } else {
                c
            });
        }
        if let Some(dir) = Path::new(&path).parent()
            && !dirs.iter().any(|d| d == dir)
        {
            dirs.push(dir.to_path_buf());
        }
    }
    dirs
}

/// What to check when kryoptic's C_Initialize fails: it fails when it finds
/// no configuration, or a slot's database cannot be opened.
pub(super) fn initialize_advice() -> String {
    let named = match std::env::var_os(KRYOPTIC_CONF_VAR) {
        Some(path) => format!("{KRYOPTIC_CONF_VAR} names {}", Path::new(&path).display()),
        None => format!(
            "{KRYOPTIC_CONF_VAR} is not set, so kryoptic looks for ~/.config/kryoptic/token.conf"
        ),
    };
    format!(
        "{named}; check that the file exists and has a [[slots]] table for each token, and that each slot's database (dbargs) is in a folder that exists and can be read"
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn every_slot_keeps_its_token_inside_the_lab() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let lab = KryopticLab::create(&tmp.path().join("lab \"quoted\""), 3).expect("lab");
        assert_eq!(lab.slot_count, 3);
        let mode = fs::metadata(&lab.token_dir)
            .expect("tokens")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let text = fs::read_to_string(&lab.config).expect("config");
        assert_eq!(text.matches("[[slots]]").count(), 3);
        // Each database path, as TOML reads it back, is inside tokens/.
        for slot in 1..=3 {
            let database = lab.token_dir.join(format!("token-{slot}.sql"));
            let line = format!("dbargs = {}", toml_string(database.to_str().unwrap()));
            assert!(text.contains(&line), "{text}");
        }
        assert!(text.contains("\\\"quoted\\\""), "{text}");
        assert_eq!(configured_token_dirs(&text), vec![lab.token_dir.clone()]);

        // Reopened with fewer tokens, the lab still configures every token
        // it holds.
        fs::write(lab.token_dir.join("token-3.sql"), b"").expect("token file");
        let again = KryopticLab::create(&lab.dir, 1).expect("reopen");
        assert_eq!(again.slot_count, 3);
        assert_eq!(
            again.slots().collect::<Vec<_>>(),
            lab.slots().collect::<Vec<_>>()
        );
        assert!(KryopticLab::create(&lab.dir, 0).is_err());
    }
}
