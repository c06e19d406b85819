//! `keyceremony rehearse`: a throwaway lab made inside OUT, and ceremonies
//! rehearsed in it: both shipped scripts, or any one script as it is, its
//! production mode included (a dress rehearsal: the very file the auditor
//! reviewed, its SHA-256 recorded). Either way the run is a rehearsal: its
//! tokens are its own lab's, and everything it shows, logs and reports says
//! REHEARSAL.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use keyceremony_engine::{AnswersFile, Settings, Stop, files};
use keyceremony_policy::Policy;
use keyceremony_script::LoadedScript;

use crate::out::say;
use crate::{headless, lab, shipped};

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
        keyceremony_engine::outputs::check_usable(out)?;
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

    /// Rehearses `script` into `out_dir`: from `answers`, or through the
    /// operator TUI when there are none.
    fn rehearse(
        &self,
        script: LoadedScript,
        policy: Policy,
        out_dir: PathBuf,
        answers: Option<AnswersFile>,
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
        let answers = answers
            .with_rehearsal_shares(&settings.out_dir.join(files::REHEARSAL_SHARES))
            .with_witness_pin(lab::read_pin(&self.made.pin_file)?);
        let mut operator = headless::printing(answers);
        crate::run_ceremony(script, settings, &mut operator).context(failed)
    }
}

/// Both shipped ceremonies in one lab. `tui`: the operators answer in the
/// TUI (shares are shown on screen and typed back); otherwise the shipped
/// rehearsal answers do.
pub fn shipped(out: &Path, module: PathBuf, backup: Option<PathBuf>, tui: bool) -> Result<()> {
    let room = Room::make(
        out,
        module,
        backup,
        shipped::CEREMONIES.len(),
        lab::WITNESS_TOKEN,
        lab::WITNESS_KEY,
    )?;
    let policy = shipped::policy()?;
    for ceremony in shipped::CEREMONIES {
        let script =
            LoadedScript::parse(Path::new(ceremony.script_path), ceremony.script.to_string())?;
        script.check()?;
        let answers = match tui {
            true => None,
            false => Some(AnswersFile::parse(
                Path::new(ceremony.answers_path),
                ceremony.answers.to_string(),
            )?),
        };
        room.rehearse(script, policy.clone(), out.join(ceremony.name), answers)?;
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
    let room = Room::make(
        out,
        module,
        backup,
        1,
        s.log.witness_token.as_deref().unwrap_or(LAB_WITNESS_TOKEN),
        s.log.witness_key.as_deref().unwrap_or(LAB_WITNESS_KEY),
    )?;
    let out_dir = out.join(&s.ceremony.id);
    room.rehearse(loaded, policy, out_dir.clone(), answers)?;
    say!(
        "REHEARSAL complete: outputs in {}; what the real ceremony needs that this rehearsal could not show is at the end of {}",
        out.display(),
        out_dir.join("report.html").display()
    );
    Ok(())
}
