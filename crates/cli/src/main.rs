//! `keyceremony`: runs the key ceremony of a Root Certification Authority.

mod headless;
mod secrets;
mod shipped;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use keyceremony_engine::{AnswersFile, Ceremony, Operator, Settings, files};
use keyceremony_hsm::lab::SoftHsmLab;
use keyceremony_script::LoadedScript;

#[derive(Parser)]
#[command(
    name = "keyceremony",
    version,
    about = "Runs the key ceremony of a Root Certification Authority against a PKCS#11 HSM",
    after_help = "Examples:\n  keyceremony rehearse --out rehearsal\n  keyceremony script check ceremony-scripts/root-p384.toml\n  keyceremony run ceremony-scripts/root-p384.toml --out out/p384 \\\n      --answers ceremony-scripts/rehearsal/root-p384.answers.toml"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a ceremony script against an HSM.
    #[command(
        after_help = "Example:\n  keyceremony run ceremony-scripts/root-rsa4096.toml --out /media/ceremony/out \\\n      --answers ceremony-scripts/rehearsal/root-rsa4096.answers.toml"
    )]
    Run {
        /// The ceremony script (TOML).
        script: PathBuf,
        /// PKCS#11 module; defaults to the installed SoftHSM2.
        #[arg(long, env = "KEYCEREMONY_MODULE")]
        module: Option<PathBuf>,
        /// Output folder; must be new or empty.
        #[arg(long)]
        out: PathBuf,
        /// Answers file holding every operator input, for a headless run.
        #[arg(long)]
        answers: Option<PathBuf>,
        /// Rehearsals: folder of the custodians' `.share` files to read at
        /// login; defaults to OUT/rehearsal-shares (the shares this run makes).
        #[arg(long, requires = "answers")]
        rehearsal_shares: Option<PathBuf>,
    },
    /// Rehearse both shipped ceremonies in a throwaway SoftHSM2 lab.
    #[command(after_help = "Example:\n  keyceremony rehearse --out rehearsal --headless")]
    Rehearse {
        /// Folder for the lab and both ceremonies' output; must be new or empty.
        #[arg(long, default_value = "rehearsal")]
        out: PathBuf,
        /// Run from the shipped rehearsal answers, without a terminal.
        #[arg(long)]
        headless: bool,
        /// SoftHSM2 module; defaults to the installed one.
        #[arg(long, env = "KEYCEREMONY_MODULE")]
        module: Option<PathBuf>,
    },
    /// Work with ceremony scripts.
    #[command(subcommand)]
    Script(ScriptCommand),
}

#[derive(Subcommand)]
enum ScriptCommand {
    /// Validate a script and print every violation with its place and CPS section.
    #[command(
        after_help = "Example:\n  keyceremony script check ceremony-scripts/root-rsa4096.toml"
    )]
    Check { script: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = secrets::disable_core_dumps() {
        eprintln!("error: cannot disable core dumps, which could hold activation data: {error}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            script,
            module,
            out,
            answers,
            rehearsal_shares,
        } => {
            let module = module_path(module)?;
            let loaded = LoadedScript::load(&script)?;
            let Some(answers) = answers else {
                bail!(
                    "the operator TUI is not available in this version; run headless with --answers FILE (rehearsal answers are in ceremony-scripts/rehearsal/)"
                );
            };
            let shares = rehearsal_shares.unwrap_or_else(|| out.join(files::REHEARSAL_SHARES));
            let mut operator =
                headless::printing(AnswersFile::load(&answers)?.with_rehearsal_shares(&shares));
            run_ceremony(loaded, module, out, false, &mut operator)
        }
        Command::Rehearse {
            out,
            headless: _,
            module,
        } => rehearse(&out, module),
        Command::Script(ScriptCommand::Check { script }) => {
            let loaded = LoadedScript::read(&script)?;
            let violations = loaded.violations();
            if violations.is_empty() {
                println!(
                    "{}: valid ({} steps, SHA-256 {})",
                    script.display(),
                    loaded.script.steps().count(),
                    loaded.sha256_hex()
                );
                Ok(())
            } else {
                for v in &violations {
                    println!("{}", v.display_at(&script));
                }
                bail!("{} breaks {} rule(s)", script.display(), violations.len())
            }
        }
    }
}

fn module_path(given: Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(path) => Ok(path),
        None => keyceremony_hsm::default_module_path().context(
            "no PKCS#11 module given and no SoftHSM2 found; pass --module PATH or set KEYCEREMONY_MODULE (for a lab: apt-get install softhsm2)",
        ),
    }
}

fn run_ceremony(
    script: LoadedScript,
    module: PathBuf,
    out: PathBuf,
    rehearsal: bool,
    operator: &mut dyn Operator,
) -> Result<()> {
    let settings = Settings {
        module,
        out_dir: out,
        rehearsal,
    };
    let ceremony = Ceremony::prepare(script, settings, operator)?;
    headless::banner(&ceremony);
    let outcome = ceremony.run(operator)?;
    headless::summary(&outcome);
    Ok(())
}

fn rehearse(out: &Path, module: Option<PathBuf>) -> Result<()> {
    keyceremony_engine::outputs::check_usable(out)?;
    let module = module_path(module)?;
    let lab = SoftHsmLab::create(&out.join("lab"))
        .with_context(|| format!("cannot create the SoftHSM2 lab in {}", out.display()))?;
    lab.activate();
    println!(
        "REHEARSAL: SoftHSM2 lab in {} (SOFTHSM2_CONF={} for this run only)",
        lab.dir.display(),
        lab.config.display()
    );
    for ceremony in shipped::CEREMONIES {
        let script =
            LoadedScript::parse(Path::new(ceremony.script_path), ceremony.script.to_string())?;
        script.check()?;
        let ceremony_out = out.join(ceremony.name);
        let answers = AnswersFile::parse(
            Path::new(ceremony.answers_path),
            ceremony.answers.to_string(),
        )?
        .with_rehearsal_shares(&ceremony_out.join(files::REHEARSAL_SHARES));
        let mut operator = headless::printing(answers);
        run_ceremony(script, module.clone(), ceremony_out, true, &mut operator)
            .with_context(|| format!("REHEARSAL of {} failed", ceremony.script_path))?;
    }
    println!("REHEARSAL complete: outputs in {}", out.display());
    Ok(())
}
