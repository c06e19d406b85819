//! keyceremony-script: the ceremony script (a Key Generation Script, CPS
//! 6.1.1) as TOML. Parsing is strict and reports line and column; validation
//! checks the whole script, with the CPS section of each rule, before the
//! engine touches an HSM.

mod custody;
mod later;
mod location;
mod log_rules;
mod model;
mod text;
mod validate;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use custody::{FieldFormat, bag_serial_refusal};
pub use location::{Location, SourceMap};
pub use model::*;
pub use text::{
    MAX_ID, MAX_LINE_TEXT, MAX_PARAGRAPH, MAX_TOKEN_SERIAL, RULE_CONTROL, RULE_LENGTH, RULE_VISIBLE,
};
pub use validate::{MAX_FAILED_LOGINS, Violation, validate};

/// Why a script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read the ceremony script {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{location}: {message}")]
    Parse {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("{path} breaks {} rule(s); fix the script and run `keyceremony script check` again:\n{}", .violations.len(), render(.path, .violations))]
    Invalid {
        path: PathBuf,
        violations: Vec<Violation>,
    },
}

fn render(path: &Path, violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  {}", v.display_at(path)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A script read from disk together with what identifies it in the record.
#[derive(Debug, Clone)]
pub struct LoadedScript {
    pub path: PathBuf,
    pub text: String,
    /// SHA-256 of the file's bytes, logged at the start of the ceremony.
    pub sha256: [u8; 32],
    pub script: Script,
    pub source_map: SourceMap,
}

impl LoadedScript {
    /// Reads and parses a script; does not validate it.
    pub fn read(path: &Path) -> Result<LoadedScript, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, text)
    }

    /// Parses script text; `path` only names it in errors.
    pub fn parse(path: &Path, text: String) -> Result<LoadedScript, ScriptError> {
        let source_map = SourceMap::new(&text);
        let script: Script = toml::from_str(&text).map_err(|e| ScriptError::Parse {
            path: path.to_path_buf(),
            location: source_map.location_of_error(&e),
            // The parser quotes what it could not read (an unknown key, a
            // bad value), which may hold escape sequences.
            message: keyceremony_text::terminal_safe(e.message()).into_owned(),
        })?;
        let sha256 = Sha256::digest(text.as_bytes()).into();
        Ok(LoadedScript {
            path: path.to_path_buf(),
            text,
            sha256,
            script,
            source_map,
        })
    }

    /// Reads, parses and validates: the only way the engine gets a script.
    pub fn load(path: &Path) -> Result<LoadedScript, ScriptError> {
        let loaded = Self::read(path)?;
        loaded.check()?;
        Ok(loaded)
    }

    /// Every rule the script breaks, each located in the file.
    pub fn violations(&self) -> Vec<Violation> {
        let mut violations = validate(&self.script);
        for v in &mut violations {
            v.location = self.source_map.locate(&v.path);
        }
        violations
    }

    pub fn check(&self) -> Result<(), ScriptError> {
        let violations = self.violations();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ScriptError::Invalid {
                path: self.path.clone(),
                violations,
            })
        }
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}
