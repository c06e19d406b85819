//! `keyceremony rehearse`: both shipped ceremonies in a lab of their own,
//! through the TUI or from the shipped answers. The scripts and their
//! policy are written into OUT/scripts first, so that the start screen, the
//! log and the report name files that exist; a rehearsal that stops is
//! then taken up with `keyceremony run` on those files, and the command to
//! type is printed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use keyceremony_engine::{AnswersFile, Settings, files};
use keyceremony_script::LoadedScript;

use crate::out::say;
use crate::{finish, headless, lab, module_path, run_ceremony, shipped, signals};

/// The folder in OUT that holds the rehearsed scripts and their policy.
const SCRIPTS: &str = "scripts";

/// `tui`: the operators answer in the TUI (shares are shown on screen and
/// typed back); otherwise the shipped rehearsal answers do.
pub fn rehearse(out: &Path, module: Option<PathBuf>, tui: bool) -> Result<()> {
    let stop = signals::install()?;
    let module = module_path(module)?;
    keyceremony_engine::outputs::check_usable(out).map_err(|error| {
        match resume_commands(out, &module, 0) {
            Some(commands) => anyhow!(
                "{error}: it holds a rehearsal already. A stopped one goes on with `keyceremony run` on its files:\n{commands}"
            ),
            None => anyhow::Error::new(error),
        }
    })?;
    let made = lab::create(
        &out.join("lab"),
        &module,
        shipped::CEREMONIES.len(),
        lab::WITNESS_TOKEN,
        lab::WITNESS_KEY,
    )?;
    // The lab's stand-in for the removable media of the log's backup copy.
    let backup = out.join("backup");
    std::fs::create_dir_all(&backup)
        .with_context(|| format!("cannot make the backup folder {}", backup.display()))?;
    say!(
        "REHEARSAL: {} lab in {} ({}={} for this run only); witness key {}",
        made.lab.kind().name(),
        made.lab.dir().display(),
        made.lab.config_var(),
        made.lab.config().display(),
        made.public_key.display()
    );
    let policy = shipped::policy()?;
    write_scripts(out)?;
    for (index, ceremony) in shipped::CEREMONIES.iter().enumerate() {
        let path = script_path(out, ceremony.name);
        let script = LoadedScript::parse(&path, ceremony.script.to_string())?;
        script.check()?;
        let settings = Settings {
            module: module.clone(),
            out_dir: out.join(ceremony.name),
            rehearsal: true,
            backup: Some(backup.clone()),
            policy: policy.clone(),
            inventory: out.join("inventory.jsonl"),
            stop: stop.clone(),
        };
        if tui {
            say!(
                "REHEARSAL: the witness token's PIN is in {}",
                made.pin_file.display()
            );
            let outcome = keyceremony_tui::run(script, settings).map_err(|error| {
                let commands = resume_commands(out, &module, index).unwrap_or_default();
                anyhow!(
                    "REHEARSAL of {} stopped: {error}\nTo resume it or abort it, and then to rehearse what is left, run:\n{commands}",
                    path.display()
                )
            })?;
            finish(&outcome)?;
            continue;
        }
        let answers = AnswersFile::parse(
            Path::new(ceremony.answers_path),
            ceremony.answers.to_string(),
        )?
        .with_rehearsal_shares(&settings.out_dir.join(files::REHEARSAL_SHARES))
        .with_witness_pin(lab::read_pin(&made.pin_file)?);
        let mut operator = headless::printing(answers);
        run_ceremony(script, settings, &mut operator)
            .with_context(|| format!("REHEARSAL of {} failed", path.display()))?;
    }
    say!("REHEARSAL complete: outputs in {}", out.display());
    Ok(())
}

fn script_path(out: &Path, name: &str) -> PathBuf {
    out.join(SCRIPTS).join(format!("{name}.toml"))
}

/// The shipped scripts, and the policy beside them where `run` looks for
/// it (`policy/<name>.toml` in the script's folder).
fn write_scripts(out: &Path) -> Result<()> {
    let policy = out.join(SCRIPTS).join("policy/reference-cps.toml");
    let parent = policy.parent().unwrap_or(out);
    std::fs::create_dir_all(parent).with_context(|| format!("cannot make {}", parent.display()))?;
    std::fs::write(&policy, shipped::POLICY)
        .with_context(|| format!("cannot write {}", policy.display()))?;
    for ceremony in &shipped::CEREMONIES {
        let path = script_path(out, ceremony.name);
        std::fs::write(&path, ceremony.script)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `keyceremony run` of each rehearsal from the one at `from` on, in the
/// lab of OUT; None when OUT holds no rehearsal's lab and scripts.
fn resume_commands(out: &Path, module: &Path, from: usize) -> Option<String> {
    let lab = out.join("lab");
    let (var, conf) = [
        ("SOFTHSM2_CONF", lab.join("softhsm2.conf")),
        ("KRYOPTIC_CONF", lab.join("kryoptic.conf")),
    ]
    .into_iter()
    .find(|(_, conf)| conf.exists())?;
    if !out.join(SCRIPTS).exists() {
        return None;
    }
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let program = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("keyceremony"));
    let commands: Vec<String> = shipped::CEREMONIES[from..]
        .iter()
        .map(|ceremony| {
            let words = [
                format!("{var}={}", quoted(&absolute(&conf))),
                quoted(&program),
                "run".to_string(),
                quoted(&absolute(&script_path(out, ceremony.name))),
                "--out".to_string(),
                quoted(&absolute(&out.join(ceremony.name))),
                "--module".to_string(),
                quoted(module),
                "--backup".to_string(),
                quoted(&absolute(&out.join("backup"))),
                "--inventory".to_string(),
                quoted(&absolute(&out.join("inventory.jsonl"))),
            ];
            format!("  {}", words.join(" "))
        })
        .collect();
    Some(commands.join("\n"))
}

/// A path as a POSIX shell reads it back: in single quotes unless it needs
/// none.
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c));
    if plain && !text.is_empty() {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;
    use std::path::Path;

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_they_need_it() {
        assert_eq!(
            quoted(Path::new("/tmp/re-hearsal/lab.conf")),
            "/tmp/re-hearsal/lab.conf"
        );
        assert_eq!(
            quoted(Path::new("/tmp/my rehearsal")),
            "'/tmp/my rehearsal'"
        );
        assert_eq!(quoted(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}
