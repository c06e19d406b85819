//! `keyceremony rehearse`: a throwaway lab made inside OUT, and ceremonies
//! rehearsed in it: both shipped scripts, or any one script as it is, its
//! production mode included (a dress rehearsal: the very file the auditor
//! reviewed, its SHA-256 recorded). Either way the run is a rehearsal: its
//! tokens are its own lab's, and everything it shows, logs and reports says
//! REHEARSAL. The shipped scripts and their policy are written into
//! OUT/scripts first, so that the start screen, the log and the report name
//! files that exist; a shipped rehearsal that stops is then taken up with
//! `keyceremony run` on those files, and the command to type is printed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use keyceremony_engine::{AnswersFile, Settings, Stop, files};
use keyceremony_policy::Policy;
use keyceremony_script::LoadedScript;

use crate::out::say;
use crate::{headless, lab, shipped};

/// The folder in OUT that holds the rehearsed shipped scripts and their
/// policy.
const SCRIPTS: &str = "scripts";

/// The stand-in witness token of a lab for a script that names none (its
/// witness signs on their own device).
const LAB_WITNESS_TOKEN: &str = "keyceremony lab witness";
const LAB_WITNESS_KEY: &str = "lab-witness-seal";

/// What every ceremony rehearsed in OUT uses: the lab, the stand-in for
/// the backup media, the inventory, the module.
struct Room {
    made: lab::Lab,
    backup: PathBuf,
    inventory: PathBuf,
    module: PathBuf,
    stop: Stop,
}

impl Room {
    /// Makes the lab in OUT/lab, with the stand-in for the witness's token
    /// and room for `ceremonies` more, and OUT/backup unless `backup` names
    /// the media.
    fn make(
        out: &Path,
        module: PathBuf,
        backup: Option<PathBuf>,
        ceremonies: usize,
        witness_token: &str,
        witness_key: &str,
    ) -> Result<Room> {
        let stop = crate::signals::install()?;
        let made = lab::create(
            &out.join("lab"),
            &module,
            ceremonies,
            witness_token,
            witness_key,
        )?;
        let backup = match backup {
            Some(media) => media,
            None => {
                // The lab's stand-in for the removable media of the log's
                // backup copy.
                let backup = out.join("backup");
                std::fs::create_dir_all(&backup).with_context(|| {
                    format!("cannot make the backup folder {}", backup.display())
                })?;
                backup
            }
        };
        say!(
            "REHEARSAL: {} lab in {} ({}={} for this run only); witness key {}",
            made.lab.kind().name(),
            made.lab.dir().display(),
            made.lab.config_var(),
            made.lab.config().display(),
            made.public_key.display()
        );
        Ok(Room {
            made,
            backup,
            inventory: out.join("inventory.jsonl"),
            module,
            stop,
        })
    }

    /// Rehearses `script` into `out_dir`, reading a later ceremony's files
    /// from `inputs`: from `answers`, whose custodians read their shares
    /// from `shares`, or through the operator TUI when there are none.
    fn rehearse(
        &self,
        script: LoadedScript,
        policy: Policy,
        out_dir: PathBuf,
        inputs: PathBuf,
        answers: Option<HeadlessAnswers>,
    ) -> Result<()> {
        let failed = format!("REHEARSAL of {} failed", script.path.display());
        let settings = Settings {
            module: self.module.clone(),
            out_dir,
            rehearsal: true,
            lab: Some(self.made.lab.dir().to_path_buf()),
            backup: Some(self.backup.clone()),
            policy,
            inventory: self.inventory.clone(),
            inputs,
            stop: self.stop.clone(),
        };
        let Some(answers) = answers else {
            say!(
                "REHEARSAL: the witness token's PIN is in {}",
                self.made.pin_file.display()
            );
            let outcome = keyceremony_tui::run(script, settings).context(failed)?;
            return crate::finish(&outcome);
        };
        let mut file = answers
            .file
            .with_rehearsal_shares(&answers.shares)
            .with_witness_pin(lab::read_pin(&self.made.pin_file)?);
        if let Some(dir) = &answers.backup_shares {
            file = file.with_backup_shares(dir);
        }
        let answers = file;
        let mut operator = headless::printing(answers);
        crate::run_ceremony(script, settings, &mut operator).context(failed)
    }
}

/// A headless rehearsal's answers, and the folders of the rehearsal share
/// files its custodians read: their PIN shares from `shares`, a restore's
/// backup custodians their wrap-key shares from `backup_shares`.
struct HeadlessAnswers {
    file: AnswersFile,
    shares: PathBuf,
    backup_shares: Option<PathBuf>,
}

/// The shipped ceremonies, in order, in one lab. `tui`: the operators answer in the
/// TUI (shares are shown on screen and typed back); otherwise the shipped
/// rehearsal answers do.
pub fn shipped(out: &Path, module: PathBuf, backup: Option<PathBuf>, tui: bool) -> Result<()> {
    keyceremony_engine::outputs::check_usable(out).map_err(|error| {
        let backup = backup.clone().unwrap_or_else(|| out.join("backup"));
        match resume_commands(out, &module, &backup, 0) {
            Some(commands) => anyhow!(
                "{error}: it holds a rehearsal already. A stopped one goes on with `keyceremony run` on its files:\n{commands}"
            ),
            None => anyhow::Error::new(error),
        }
    })?;
    let room = Room::make(
        out,
        module,
        backup,
        // A token per ceremony that initialises one (a key generation, a
        // restore): the later ceremonies use theirs.
        shipped::CEREMONIES
            .iter()
            .filter(|c| c.shares_of.is_none())
            .count(),
        lab::WITNESS_TOKEN,
        lab::WITNESS_KEY,
    )?;
    let policy = shipped::policy()?;
    write_scripts(out)?;
    for (index, ceremony) in shipped::CEREMONIES.iter().enumerate() {
        let path = script_path(out, ceremony.name);
        let script = LoadedScript::parse(&path, ceremony.script.to_string())?;
        script.check()?;
        lab::subordinate_requests(&script.script, out)?;
        let answers = match tui {
            true => None,
            false => Some(HeadlessAnswers {
                file: AnswersFile::parse(
                    Path::new(ceremony.answers_path),
                    ceremony.answers.to_string(),
                )?,
                // A later ceremony's custodians bring the shares of the
                // ceremony that made its token.
                shares: out
                    .join(ceremony.shares_of.unwrap_or(ceremony.name))
                    .join(files::REHEARSAL_SHARES),
                backup_shares: ceremony
                    .backup_shares_of
                    .map(|of| out.join(of).join(files::REHEARSAL_SHARES)),
            }),
        };
        let out_dir = out.join(ceremony.name);
        room.rehearse(script, policy.clone(), out_dir, out.to_path_buf(), answers)
            .map_err(|error| match tui {
                true => {
                    let commands = resume_commands(out, &room.module, &room.backup, index)
                        .unwrap_or_default();
                    anyhow!(
                        "{error:#}\nTo resume it or abort it, and then to rehearse what is left, run:\n{commands}"
                    )
                }
                false => error,
            })?;
    }
    say!("REHEARSAL complete: outputs in {}", out.display());
    Ok(())
}

/// A dress rehearsal: `script` exactly as it is, in a lab of its own, from
/// `answers` or, without them, through the TUI.
pub fn script(
    path: &Path,
    answers: Option<&Path>,
    out: &Path,
    module: PathBuf,
    backup: Option<PathBuf>,
    headless: bool,
) -> Result<()> {
    let loaded = LoadedScript::load(path)?;
    let s = &loaded.script;
    if !s.hsm.initialize {
        bail!(
            "{} works on the existing token '{}' (hsm.initialize = false), which a new lab does not hold: a dress rehearsal runs a script that initialises its token",
            path.display(),
            s.hsm.token_label
        );
    }
    let answers = match answers {
        Some(file) => Some(AnswersFile::load(file)?),
        None if headless => bail!(
            "--headless needs --answers FILE for a script's rehearsal: the file answers for the room (`keyceremony script answers {}` prints one to fill in)",
            path.display()
        ),
        None => {
            keyceremony_tui::check_terminal()?;
            None
        }
    };
    let policy = crate::policy_for(&loaded)?;
    say!(
        "REHEARSAL of {} as it is: mode {}, SHA-256 {}",
        path.display(),
        if s.is_rehearsal() {
            "rehearsal"
        } else {
            "production"
        },
        loaded.sha256_hex()
    );
    keyceremony_engine::outputs::check_usable(out)?;
    let room = Room::make(
        out,
        module,
        backup,
        1,
        s.log.witness_token.as_deref().unwrap_or(LAB_WITNESS_TOKEN),
        s.log.witness_key.as_deref().unwrap_or(LAB_WITNESS_KEY),
    )?;
    let out_dir = out.join(&s.ceremony.id);
    let shares = out_dir.join(files::REHEARSAL_SHARES);
    // A key generation reads no input files; a later ceremony's are
    // refused above.
    let inputs = path.parent().unwrap_or(out).to_path_buf();
    room.rehearse(
        loaded,
        policy,
        out_dir.clone(),
        inputs,
        answers.map(|file| HeadlessAnswers {
            file,
            shares,
            backup_shares: None,
        }),
    )?;
    say!(
        "REHEARSAL complete: outputs in {}; what the real ceremony needs that this rehearsal could not show is at the end of {}",
        out.display(),
        out_dir.join("report.html").display()
    );
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
/// lab of OUT and with its backup media; None when OUT holds no
/// rehearsal's lab and scripts.
fn resume_commands(out: &Path, module: &Path, backup: &Path, from: usize) -> Option<String> {
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
                quoted(&absolute(backup)),
                "--inventory".to_string(),
                quoted(&absolute(&out.join("inventory.jsonl"))),
                "--inputs".to_string(),
                quoted(&absolute(out)),
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
