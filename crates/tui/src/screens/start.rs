//! The start screen: which script, which tool, which token. The witness
//! compares these with the paper script before anything happens; Enter
//! then begins the ceremony (or resumes or aborts the interrupted one the
//! output folder holds, as chosen on the resume screen).

use std::io::Read;

use crossterm::event::{KeyCode, KeyEvent};
use keyceremony_engine::operator::ResumeChoice;
use keyceremony_engine::{Ceremony, Interrupted, Settings, Start};
use keyceremony_hsm::{Module, TokenInfo};
use keyceremony_script::{LoadedScript, Mode};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use sha2::{Digest, Sha256};

use crate::app::{App, Phase};
use crate::widgets::{action, banner, blank, field, fields, hex_field, line, loud, show};

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
            Ok(Ok(tokens)) => match ceremony.start() {
                Start::Fresh => token_lines(script, &tokens),
                Start::Resume(interrupted) | Start::Abort { interrupted, .. } => {
                    resumed_token_lines(script, &tokens, interrupted)
                }
            },
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

/// The token an interrupted ceremony works on, as its log records it: its
/// serial (found among the module's tokens) and the keys on it.
fn resumed_token_lines(
    script: &keyceremony_script::Script,
    tokens: &[TokenInfo],
    interrupted: &Interrupted,
) -> Vec<(String, String)> {
    let hsm = &script.hsm;
    let serial = interrupted.token_serial.as_deref();
    let found = tokens.iter().find(|t| {
        serial.map_or(t.label == hsm.token_label && t.flags.initialized, |s| {
            t.serial == s
        })
    });
    let mut lines = vec![(
        "token label".to_string(),
        match (hsm.initialize, serial) {
            (true, Some(_)) => format!("{}, initialised by this ceremony", hsm.token_label),
            (true, None) => format!(
                "{} (the ceremony stopped before initialising it)",
                hsm.token_label
            ),
            (false, _) => hsm.token_label.clone(),
        },
    )];
    match (found, serial) {
        (Some(t), _) => lines.push((
            "token".to_string(),
            format!(
                "slot {}, serial {}, {} {}",
                t.slot_id, t.serial, t.manufacturer, t.model
            ),
        )),
        (None, Some(serial)) => lines.push((
            "token".to_string(),
            format!("serial {serial}, as the log records it: not found on this module"),
        )),
        (None, None) => {}
    }
    let keys: Vec<String> = interrupted
        .keys_left(&script.log.signing_key)
        .into_iter()
        .map(|key| format!("{} ({})", key.label, key.state))
        .collect();
    if serial.is_some() {
        lines.push((
            "keys".to_string(),
            if keys.is_empty() {
                "none, as the log records it".to_string()
            } else {
                format!("as the log records them: {}", keys.join("; "))
            },
        ));
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

pub fn keys(app: &App) -> &'static str {
    if app.info.checked.is_some() {
        "Enter begin  ? help  F10 quit"
    } else {
        "? help  F10 quit"
    }
}

/// Enter begins once the engine's checks have passed; the driver then
/// gives the engine the go-ahead.
/// While the engine works (no question open), every key but the dialogs'
/// does nothing, and the bottom line says so.
pub fn key(app: &mut App, key: KeyEvent) {
    app.hint = None;
    if matches!(app.phase, Phase::Start) && key.code == KeyCode::Enter && app.info.checked.is_some()
    {
        app.phase = Phase::Running;
        app.started = true;
        app.begin = true;
        return;
    }
    app.hint = crate::frame::ignored(app, crate::frame::keys_now(app), &key);
}

#[must_use]
pub fn view(app: &App, frame: &mut Frame, area: Rect) -> bool {
    let info = &app.info;
    let mut lines = vec![banner(
        if info.rehearsal {
            "*** REHEARSAL: NOT A PRODUCTION CEREMONY ***"
        } else {
            "PRODUCTION CEREMONY"
        },
        area.width,
    )];
    lines.push(field("Ceremony", info.ceremony_name.clone()));
    lines.push(field("", format!("id {}", info.ceremony_id)));
    lines.extend(fields("Script", &info.script_path, area.width));
    lines.extend(hex_field("  SHA-256", &info.script_sha256));
    lines.push(field("Tool", format!("keyceremony {}", info.tool_version)));
    match &info.checked {
        None => {
            lines.push(field(
                "",
                "checking the output folder, the module and the token...",
            ));
        }
        Some(checked) => {
            if checked.binary_sha256.starts_with("unavailable") {
                lines.push(field("  SHA-256", checked.binary_sha256.clone()));
            } else {
                lines.extend(hex_field("  SHA-256", &checked.binary_sha256));
            }
            lines.extend(fields("Module", &checked.module, area.width));
            for (i, (what, value)) in checked.token.iter().enumerate() {
                lines.extend(fields(
                    if i == 0 { "Token" } else { "" },
                    &format!("{what}: {value}"),
                    area.width,
                ));
            }
        }
    }
    lines.extend(fields("Output", &info.out_dir, area.width));
    if !app.network.is_empty() {
        lines.push(Line::styled(
            format!(
                "! Network interfaces up: {} (CPS 6.7: a CA system is not connected)",
                app.network.join(", ")
            ),
            loud(),
        ));
    }
    lines.push(blank());
    lines.push(line(
        "The witness compares the script's and the tool's SHA-256 with the paper script.",
    ));
    if info.checked.is_some() {
        lines.push(action(
            "Enter",
            match &app.resume {
                None => "begin the ceremony: create the output folder and the log",
                Some(ResumeChoice::Resume) => {
                    "resume the interrupted ceremony where its log stopped"
                }
                Some(ResumeChoice::Abort { .. }) => {
                    "record the abort of the interrupted ceremony in its log"
                }
            },
        ));
    }
    show(frame, area, lines)
}
