//! `keyceremony`: runs the key ceremony of a Root Certification Authority.

mod headless;
mod lab;
mod secrets;
mod shipped;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use keyceremony_engine::{AnswersFile, Ceremony, Operator, Settings, files};
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
        /// Rehearsals: file holding the PIN of the lab's witness token (made by
        /// `keyceremony lab create`); at a real ceremony the witness types it.
        #[arg(long, requires = "answers")]
        witness_pin_file: Option<PathBuf>,
        /// Folder that receives the sealed log's verified copy, instead of
        /// the script's log.backup (CPS 5.4.5).
        #[arg(long)]
        backup: Option<PathBuf>,
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
    /// Verify a ceremony log offline: every link, sequence, time order and
    /// both seal signatures. Exit 0: sealed and intact; 3: intact but not
    /// sealed as completed (interrupted or aborted); 4: tampered or unreadable.
    #[command(
        after_help = "Example:\n  keyceremony verify-log out/ceremony.log --expect-head 3f2a... --witness-key quinn.pub.pem"
    )]
    VerifyLog {
        /// The ceremony.log to check.
        log: PathBuf,
        /// The head hash the witness copied onto the paper script (hex; spaces allowed).
        #[arg(long)]
        expect_head: Option<String>,
        /// The witness's public key (PEM) as the witness gave it to you.
        #[arg(long)]
        witness_key: Option<PathBuf>,
    },
    /// Make rehearsal labs.
    #[command(subcommand)]
    Lab(LabCommand),
}

#[derive(Subcommand)]
enum LabCommand {
    /// Create a SoftHSM2 lab in DIR with a witness token for sealing logs;
    /// prints the SOFTHSM2_CONF to use.
    #[command(
        after_help = "Example:\n  keyceremony lab create /tmp/lab && export SOFTHSM2_CONF=/tmp/lab/softhsm2.conf"
    )]
    Create {
        dir: PathBuf,
        /// SoftHSM2 module; defaults to the installed one.
        #[arg(long, env = "KEYCEREMONY_MODULE")]
        module: Option<PathBuf>,
        /// Label of the witness's token.
        #[arg(long, default_value = lab::WITNESS_TOKEN)]
        witness_token: String,
        /// Label of the witness's P-384 key.
        #[arg(long, default_value = lab::WITNESS_KEY)]
        witness_key: String,
    },
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
            witness_pin_file,
            backup,
        } => {
            let module = module_path(module)?;
            let loaded = LoadedScript::load(&script)?;
            let Some(answers) = answers else {
                bail!(
                    "the operator TUI is not available in this version; run headless with --answers FILE (rehearsal answers are in ceremony-scripts/rehearsal/)"
                );
            };
            let shares = rehearsal_shares.unwrap_or_else(|| out.join(files::REHEARSAL_SHARES));
            let mut answers = AnswersFile::load(&answers)?.with_rehearsal_shares(&shares);
            if let Some(file) = witness_pin_file {
                answers = answers.with_witness_pin(lab::read_pin(&file)?);
            }
            let mut operator = headless::printing(answers);
            run_ceremony(loaded, module, out, false, backup, &mut operator)
        }
        Command::Rehearse {
            out,
            headless: _,
            module,
        } => rehearse(&out, module),
        Command::VerifyLog {
            log,
            expect_head,
            witness_key,
        } => verify::verify_log(&log, expect_head.as_deref(), witness_key.as_deref()),
        Command::Lab(LabCommand::Create {
            dir,
            module,
            witness_token,
            witness_key,
        }) => {
            let made = lab::create(&dir, &module_path(module)?, &witness_token, &witness_key)?;
            println!("REHEARSAL lab in {}", made.lab.dir.display());
            println!("export SOFTHSM2_CONF={}", made.lab.config.display());
            println!("witness token '{witness_token}', key '{witness_key}'");
            println!("witness PIN file {}", made.pin_file.display());
            println!("witness public key {}", made.public_key.display());
            Ok(())
        }
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
    backup: Option<PathBuf>,
    operator: &mut dyn Operator,
) -> Result<()> {
    let settings = Settings {
        module,
        out_dir: out,
        rehearsal,
        backup,
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
    let made = lab::create(
        &out.join("lab"),
        &module,
        lab::WITNESS_TOKEN,
        lab::WITNESS_KEY,
    )?;
    println!(
        "REHEARSAL: SoftHSM2 lab in {} (SOFTHSM2_CONF={} for this run only); witness key {}",
        made.lab.dir.display(),
        made.lab.config.display(),
        made.public_key.display()
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
        .with_rehearsal_shares(&ceremony_out.join(files::REHEARSAL_SHARES))
        .with_witness_pin(lab::read_pin(&made.pin_file)?);
        let mut operator = headless::printing(answers);
        run_ceremony(
            script,
            module.clone(),
            ceremony_out,
            true,
            Some(out.join("backup")),
            &mut operator,
        )
        .with_context(|| format!("REHEARSAL of {} failed", ceremony.script_path))?;
    }
    println!("REHEARSAL complete: outputs in {}", out.display());
    Ok(())
}
