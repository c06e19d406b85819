//! What the start screen shows: which script, which tool, which token. The
//! witness compares these with the paper script before anything happens.

use std::io::Read;

use keyceremony_engine::{Ceremony, Settings};
use keyceremony_hsm::{Module, TokenInfo};
use keyceremony_script::{LoadedScript, Mode};
use sha2::{Digest, Sha256};

/// Everything the start screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    pub ceremony_name: String,
    pub ceremony_id: String,
    /// True when the script says so or the run is `keyceremony rehearse`.
    pub rehearsal: bool,
    pub script_path: String,
    pub script_sha256: String,
    pub tool_version: String,
    pub out_dir: String,
    /// None until `Ceremony::prepare` has passed.
    pub checked: Option<Checked>,
}

/// What is known once the engine has checked the output folder, the module
/// and the token; gathered on the engine's thread, because hashing the
/// binary and asking the module take a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// SHA-256 of the running binary, or why it could not be read.
    pub binary_sha256: String,
    pub module: String,
    /// (what, value) lines about the token the script will use.
    pub token: Vec<(String, String)>,
}

impl StartInfo {
    pub fn new(loaded: &LoadedScript, settings: &Settings) -> StartInfo {
        let script = &loaded.script;
        StartInfo {
            ceremony_name: script.ceremony.name.clone(),
            ceremony_id: script.ceremony.id.clone(),
            rehearsal: settings.rehearsal || script.ceremony.mode == Mode::Rehearsal,
            script_path: loaded.path.display().to_string(),
            script_sha256: loaded.sha256_hex(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            out_dir: settings.out_dir.display().to_string(),
            checked: None,
        }
    }
}

impl Checked {
    /// A failure to read something here is shown, not fatal: the engine
    /// has already checked the token in `Ceremony::prepare`.
    pub fn gather(ceremony: &Ceremony) -> Checked {
        let script = &ceremony.script().script;
        let settings = ceremony.settings();
        let module = Module::load(&settings.module);
        let module_line = match module.as_ref().map(|m| m.info()) {
            Ok(Ok(info)) => format!(
                "{} ({} {}, library {})",
                settings.module.display(),
                info.manufacturer,
                info.library_description,
                info.library_version
            ),
            _ => settings.module.display().to_string(),
        };
        let token = match module
            .as_ref()
            .map_err(ToString::to_string)
            .map(|m| m.tokens())
        {
            Ok(Ok(tokens)) => token_lines(script, &tokens),
            Ok(Err(e)) => vec![("token".to_string(), format!("unavailable: {e}"))],
            Err(e) => vec![("token".to_string(), format!("unavailable: {e}"))],
        };
        Checked {
            binary_sha256: binary_sha256(),
            module: module_line,
            token,
        }
    }
}

/// The token the script will use, found the way the engine finds it: by
/// serial or as the first free token when it initialises one, by label
/// otherwise.
fn token_lines(script: &keyceremony_script::Script, tokens: &[TokenInfo]) -> Vec<(String, String)> {
    let hsm = &script.hsm;
    let chosen = if hsm.initialize {
        match &hsm.token_serial {
            Some(serial) => tokens.iter().find(|t| &t.serial == serial),
            None => tokens
                .iter()
                .filter(|t| !t.flags.initialized)
                .min_by_key(|t| t.slot_id),
        }
    } else {
        tokens
            .iter()
            .find(|t| t.flags.initialized && t.label == hsm.token_label)
    };
    let mut lines = vec![(
        "token label".to_string(),
        if hsm.initialize {
            format!("{} (to be initialised now)", hsm.token_label)
        } else {
            hsm.token_label.clone()
        },
    )];
    match chosen {
        Some(t) => {
            // A token not yet initialised may have no serial.
            let serial = if t.serial.is_empty() {
                "none yet"
            } else {
                &t.serial
            };
            lines.push((
                "token".to_string(),
                format!(
                    "slot {}, serial {serial}, {} {}",
                    t.slot_id, t.manufacturer, t.model
                ),
            ));
            lines.push((
                "versions".to_string(),
                format!(
                    "hardware {}, firmware {}",
                    t.hardware_version, t.firmware_version
                ),
            ));
        }
        None => lines.push(("token".to_string(), "not found".to_string())),
    }
    lines
}

/// SHA-256 of the running executable, so the witness can compare it with
/// the published build of the tool.
fn binary_sha256() -> String {
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open("/proc/self/exe")?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
        }
        Ok(hex::encode(hash.finalize()))
    };
    read().unwrap_or_else(|e| format!("unavailable: {e}"))
}
