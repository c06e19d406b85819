//! `keyceremony`: runs the key ceremony of a Root Certification Authority.

mod headless;
mod lab;
mod module_check;
mod out;
mod rehearse;
mod report;
mod secrets;
mod shipped;
mod signals;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use keyceremony_engine::{AnswersFile, Ceremony, Operator, Outcome, Settings, files};
use keyceremony_policy::Policy;
use keyceremony_report::Known;
use keyceremony_script::LoadedScript;

use crate::out::say;

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
        /// Rehearsals of a restore: folder of the backup custodians' `.share`
        /// files, which the ceremony that backed up wrote; their wrap-key
        /// shares are read from there.
        #[arg(long, requires = "answers")]
        backup_shares: Option<PathBuf>,
        /// Rehearsals whose witness signs with the lab's token on the terminal
        /// (witness_signing = "lab-token-on-terminal"): file holding that
        /// token's PIN (made by `keyceremony lab create`). A witness who signs
        /// on their own device types no PIN here.
        #[arg(long, requires = "answers")]
        witness_pin_file: Option<PathBuf>,
        /// Folder that receives the sealed log's verified copy, instead of
        /// the script's log.backup (CPS 5.4.5): the mounted removable media;
        /// it must exist, and for a production ceremony be on another disk
        /// than --out.
        #[arg(long)]
        backup: Option<PathBuf>,
        /// Fault drills: stop dead once step STEP has ended, as a machine
        /// that hangs would, so the drill can kill the run and resume it.
        #[arg(long, requires = "answers", value_name = "STEP")]
        halt_after: Option<String>,
        /// Inventory of every subject and key certified so far (JSON Lines);
        /// a ceremony may reuse neither (CPS 6.3.2). Defaults to
        /// inventory.jsonl beside OUT.
        #[arg(long)]
        inventory: Option<PathBuf>,
        /// Folder the files a later ceremony reads are named in (the root
        /// certificate, CSRs, the previous CRL); defaults to the script's
        /// folder.
        #[arg(long, value_name = "DIR")]
        inputs: Option<PathBuf>,
    },
    /// Rehearse in a throwaway lab on SoftHSM2 or kryoptic, whose tokens
    /// stay inside OUT/lab: SCRIPT exactly as it is, production or not (a
    /// dress rehearsal), or without SCRIPT the shipped ceremonies, the root's
    /// whole life: both key generations, then with the ECC root a
    /// subordinate CA certificate (from a request the lab makes) and two
    /// CRLs. The run is a rehearsal whatever the script says: it says
    /// REHEARSAL everywhere, runs on its own lab's tokens only, and its
    /// report ends with what the real ceremony needs that it could not show.
    #[command(
        after_help = "Examples:\n  keyceremony rehearse --out rehearsal --headless\n  keyceremony script answers ca/root-2027.toml > root-2027.answers.toml\n  keyceremony rehearse ca/root-2027.toml --answers root-2027.answers.toml --out dress"
    )]
    Rehearse {
        /// The script to rehearse, unchanged; without it, the shipped ceremonies.
        script: Option<PathBuf>,
        /// The room's answers for SCRIPT, for a headless rehearsal
        /// (`keyceremony script answers SCRIPT` prints one to fill in);
        /// without it, the operators answer in the TUI.
        #[arg(long, requires = "script")]
        answers: Option<PathBuf>,
        /// Folder for the lab, the backup media's stand-in, the inventory
        /// and each ceremony's output; must be new or empty.
        #[arg(long, default_value = "rehearsal")]
        out: PathBuf,
        /// Without a terminal: the shipped ceremonies from their rehearsal
        /// answers; SCRIPT from --answers.
        #[arg(long)]
        headless: bool,
        /// Folder that receives each sealed log's verified copy: mounted
        /// removable media, to rehearse the copy to another disk; without
        /// it, OUT/backup stands in for the media.
        #[arg(long)]
        backup: Option<PathBuf>,
        /// The lab's module: SoftHSM2 (the installed one by default) or
        /// kryoptic (libkryoptic_pkcs11.so).
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
        #[arg(long, value_parser = verify::parse_head, value_name = "HEX")]
        expect_head: Option<[u8; 32]>,
        /// The witness's public key (PEM) as the witness gave it to you.
        #[arg(long)]
        witness_key: Option<PathBuf>,
    },
    /// Make rehearsal labs.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Probe PKCS#11 modules.
    #[command(subcommand)]
    Module(ModuleCommand),
    /// Write DIR/report.html and DIR/report.md for the Qualified Auditor:
    /// participants, timeline, exceptions, environment, token, keys,
    /// certificates and fingerprints, the log's verification, every file's
    /// SHA-256, and the commands to check each. Never overwrites a report.
    #[command(after_help = "Example:\n  keyceremony report rehearsal/root-rsa4096")]
    Report {
        /// A ceremony's output folder (the one holding ceremony.log).
        dir: PathBuf,
    },
    /// Print a shell completion script for keyceremony.
    #[command(
        after_help = "Example:\n  keyceremony completions bash > /etc/bash_completion.d/keyceremony"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print keyceremony's man page (roff), generated from its command line.
    #[command(after_help = "Example:\n  keyceremony man > keyceremony.1 && man ./keyceremony.1")]
    Man,
}

#[derive(Subcommand)]
enum LabCommand {
    /// Create a lab in DIR on SoftHSM2 or kryoptic, its tokens inside DIR,
    /// with a witness token for sealing logs; prints the SOFTHSM2_CONF or
    /// KRYOPTIC_CONF to use.
    #[command(
        after_help = "Examples:\n  keyceremony lab create /tmp/lab && export SOFTHSM2_CONF=/tmp/lab/softhsm2.conf\n  keyceremony lab create /tmp/klab --module /opt/keyceremony-kryoptic/libkryoptic_pkcs11.so"
    )]
    Create {
        dir: PathBuf,
        /// The lab's module: SoftHSM2 (the installed one by default) or
        /// kryoptic (libkryoptic_pkcs11.so); a lab refuses any other.
        #[arg(long, env = "KEYCEREMONY_MODULE")]
        module: Option<PathBuf>,
        /// Tokens for ceremonies besides the witness's: kryoptic gets one
        /// slot each (it has no spare slot); SoftHSM2 always has a free one.
        #[arg(long, default_value_t = shipped::CEREMONIES.len())]
        ceremony_tokens: usize,
        /// Label of the witness's token.
        #[arg(long, default_value = lab::WITNESS_TOKEN)]
        witness_token: String,
        /// Label of the witness's P-384 key.
        #[arg(long, default_value = lab::WITNESS_KEY)]
        witness_key: String,
    },
}

#[derive(Subcommand)]
enum ModuleCommand {
    /// Probe a module and one of its tokens for everything a ceremony needs,
    /// changing nothing: mechanisms, PIN lengths, token flags, the random
    /// generator, the key attributes. Prints what is there and what the
    /// ceremony would use; exits 1 with the reasons when a ceremony could
    /// not run (or it cannot be confirmed that it could).
    #[command(
        after_help = "Examples:\n  keyceremony module check --module /usr/lib/vendor/libpkcs11.so\n  keyceremony module check --module /usr/lib/vendor/libpkcs11.so --token 'Example Root 2026'"
    )]
    Check {
        /// The PKCS#11 module; defaults to the installed SoftHSM2.
        #[arg(long, env = "KEYCEREMONY_MODULE")]
        module: Option<PathBuf>,
        /// The initialised token to probe; without it, the token a ceremony
        /// would initialise (the lowest free slot).
        #[arg(long)]
        token: Option<String>,
    },
}

#[derive(Subcommand)]
enum ScriptCommand {
    /// Validate a script and print every violation with its place and CPS section.
    #[command(
        after_help = "Example:\n  keyceremony script check ceremony-scripts/root-rsa4096.toml"
    )]
    Check {
        script: PathBuf,
        /// Also refuse subjects this inventory already holds (CPS 6.3.2).
        #[arg(long)]
        inventory: Option<PathBuf>,
    },
    /// Print an answers file to fill in for a headless rehearsal of the
    /// script: every question the room answers, in the order it is asked,
    /// each under a comment naming its step and its person. Only the values
    /// the room records are left to write (each in <angle brackets>; the
    /// same placeholder is the same value); the rest is answered as the
    /// script runs when everything goes to plan.
    #[command(
        after_help = "Example:\n  keyceremony script answers ceremony-scripts/root-p384.toml > root-p384.answers.toml"
    )]
    Answers {
        /// The ceremony script (TOML); it is validated first.
        script: PathBuf,
    },
    /// Print the paper script to initial during the ceremony: every step
    /// with its performer and witness, boxes for initials and times, lines
    /// for the values to copy, the exception sheet and the attestation.
    #[command(
        after_help = "Examples:\n  keyceremony script print ceremony-scripts/root-rsa4096.toml --format html --out paper.html\n  keyceremony script print ceremony-scripts/root-p384.toml --format md"
    )]
    Print {
        script: PathBuf,
        /// md or html.
        #[arg(long, value_enum, default_value = "html")]
        format: report::PaperFormat,
        /// A new file to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = secrets::disable_core_dumps() {
        out::error_lines(&format!(
            "error: cannot disable core dumps, which could hold activation data: {error}"
        ));
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!, which panics when standard error is a
            // terminal that has hung up. The message quotes scripts, logs
            // and tokens: each of its lines is made safe for the terminal.
            out::error_lines(&format!("error: {}", describe(&error)));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each once: the library errors already name
/// their cause in their own message, and anyhow's `{:#}` would repeat it.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            script,
            module,
            out,
            answers,
            rehearsal_shares,
            backup_shares,
            witness_pin_file,
            backup,
            halt_after,
            inventory,
            inputs,
        } => {
            let stop = signals::install()?;
            let module = module_path(module)?;
            let loaded = LoadedScript::load(&script)?;
            let policy = policy_for(&loaded)?;
            let inventory = inventory.unwrap_or_else(|| default_inventory(&out));
            let backup = absolute(backup, "--backup")?;
            let inputs = inputs.unwrap_or_else(|| {
                script
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf()
            });
            let settings = Settings {
                module,
                out_dir: out,
                rehearsal: false,
                lab: None,
                backup,
                policy,
                inventory,
                inputs,
                stop,
            };
            let Some(answers) = answers else {
                // Without answers, the people in the room answer in the
                // operator TUI, which needs a terminal.
                keyceremony_tui::check_terminal()?;
                return finish(&keyceremony_tui::run(loaded, settings)?);
            };
            let shares =
                rehearsal_shares.unwrap_or_else(|| settings.out_dir.join(files::REHEARSAL_SHARES));
            let mut answers = AnswersFile::load(&answers)?.with_rehearsal_shares(&shares);
            if loaded.script.hsm.reinitialize {
                // The old shares come from --rehearsal-shares, the new ones
                // from the files this run writes.
                answers =
                    answers.with_issued_shares(&settings.out_dir.join(files::REHEARSAL_SHARES));
            }
            if let Some(dir) = &backup_shares {
                answers = answers.with_backup_shares(dir);
            }
            if let Some(file) = witness_pin_file {
                answers = answers.with_witness_pin(lab::read_pin(&file)?);
            }
            if let Some(step) = &halt_after {
                answers = answers.with_halt_after(step);
            }
            let mut operator = headless::printing(answers);
            run_ceremony(loaded, settings, &mut operator)
        }
        Command::Rehearse {
            script: None,
            out,
            headless,
            module,
            backup,
            ..
        } => rehearse::shipped(
            &out,
            module_path(module)?,
            absolute(backup, "--backup")?,
            !headless && keyceremony_tui::is_terminal(),
        ),
        Command::Rehearse {
            script: Some(script),
            answers,
            out,
            headless,
            module,
            backup,
        } => rehearse::script(
            &script,
            answers.as_deref(),
            &out,
            module_path(module)?,
            absolute(backup, "--backup")?,
            headless,
        ),
        Command::Script(ScriptCommand::Answers { script }) => {
            let loaded = LoadedScript::load(&script)?;
            out::lines(&keyceremony_engine::answers::skeleton(&loaded));
            Ok(())
        }
        Command::VerifyLog {
            log,
            expect_head,
            witness_key,
        } => verify::verify_log(&log, expect_head, witness_key.as_deref()),
        Command::Lab(LabCommand::Create {
            dir,
            module,
            ceremony_tokens,
            witness_token,
            witness_key,
        }) => {
            let made = lab::create(
                &dir,
                &module_path(module)?,
                ceremony_tokens,
                &witness_token,
                &witness_key,
            )?;
            say!(
                "REHEARSAL {} lab in {}",
                made.lab.kind().name(),
                made.lab.dir().display()
            );
            say!(
                "export {}={}",
                made.lab.config_var(),
                made.lab.config().display()
            );
            say!("witness token '{witness_token}', key '{witness_key}'");
            say!("witness PIN file {}", made.pin_file.display());
            say!("witness public key {}", made.public_key.display());
            Ok(())
        }
        Command::Module(ModuleCommand::Check { module, token }) => {
            module_check::check(&module_path(module)?, token.as_deref())
        }
        Command::Script(ScriptCommand::Print {
            script,
            format,
            out,
        }) => report::print_script(&script, format, out.as_deref()),
        Command::Report { dir } => report::report(&dir, &Known::default()),
        Command::Completions { shell } => {
            report::completions(shell, <Cli as clap::CommandFactory>::command());
            Ok(())
        }
        Command::Man => report::man(<Cli as clap::CommandFactory>::command()),
        Command::Script(ScriptCommand::Check { script, inventory }) => {
            let loaded = LoadedScript::read(&script)?;
            let mut violations = loaded.violations();
            let policy = policy_for(&loaded)?;
            violations.extend(keyceremony_policy::check_loaded_script(&policy, &loaded));
            if let Some(inventory) = inventory {
                for mut v in
                    keyceremony_policy::Inventory::load(&inventory)?.check_subjects(&loaded.script)
                {
                    v.location = loaded.source_map.locate(&v.path);
                    violations.push(v);
                }
            }
            if violations.is_empty() {
                say!(
                    "{}: valid under policy '{}' ({} steps, SHA-256 {})",
                    script.display(),
                    policy.name,
                    loaded.script.steps().count(),
                    loaded.sha256_hex()
                );
                Ok(())
            } else {
                for v in &violations {
                    say!("{}", v.display_at(&script));
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
    settings: Settings,
    operator: &mut dyn Operator,
) -> Result<()> {
    let ceremony = Ceremony::prepare(script, settings, operator)?;
    headless::banner(&ceremony);
    finish(&ceremony.run(operator)?)
}

/// After a ceremony, headless or in the TUI: its summary, and the report.
fn finish(outcome: &Outcome) -> Result<()> {
    headless::summary(outcome);
    let known = Known {
        keys: outcome.keys.clone(),
        roots: outcome.roots.clone(),
        log: Some(outcome.log_verified.clone()),
    };
    report::report(&outcome.out_dir, &known)?;
    Ok(())
}

/// The log and the report name the media's folder: a path that depends on
/// where the command was typed would not say which.
fn absolute(path: Option<PathBuf>, option: &str) -> Result<Option<PathBuf>> {
    path.map(|path| {
        std::path::absolute(&path)
            .with_context(|| format!("cannot make {option} {} an absolute path", path.display()))
    })
    .transpose()
}

/// The policy a script names, from `policy/<name>.toml` beside its folder.
fn policy_for(script: &LoadedScript) -> Result<Policy> {
    let path = Policy::resolve(&script.path, &script.script.ceremony.policy)?;
    Ok(Policy::load(&path)?)
}

/// `inventory.jsonl` beside the output folder: the record of what this
/// site's ceremonies have certified.
fn default_inventory(out: &Path) -> PathBuf {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("inventory.jsonl")
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn each_cause_is_said_once() {
        let exists = || std::io::Error::new(std::io::ErrorKind::AlreadyExists, "File exists");
        let error =
            anyhow::Error::new(exists()).context("cannot use the output folder out: File exists");
        assert_eq!(
            describe(&error),
            "cannot use the output folder out: File exists"
        );
        let error = anyhow::Error::new(exists()).context("cannot write out/ceremony.log");
        assert_eq!(
            describe(&error),
            "cannot write out/ceremony.log: File exists"
        );
    }
}
