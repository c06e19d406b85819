//! Support shared by the end-to-end tests and the bench: the real
//! `keyceremony` binary, the shipped ceremony scripts, and SoftHSM2 and
//! kryoptic labs made by the tool itself.

// Each test binary, and the bench, uses a different subset of these helpers.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyceremony_shares::{Expected, SecretKind, Share, ceremony_tag, rebuild_pin};
use secrecy::ExposeSecret;

pub const BIN: &str = env!("CARGO_BIN_EXE_keyceremony");

/// The workspace root: the tests and the shipped scripts live there, not
/// beside the crate that registers the tests.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// SoftHSM2 wherever the distribution's package puts it on this machine.
pub fn module() -> PathBuf {
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("SoftHSM2 is not installed: run scripts/setup.sh (apt-get install softhsm2)")
}

/// kryoptic's module as scripts/setup.sh builds it.
pub fn kryoptic_module() -> PathBuf {
    keyceremony_hsm::lab::kryoptic_module().expect(
        "kryoptic's PKCS#11 module is not built: run scripts/setup.sh, which builds it into \
         /opt/keyceremony-kryoptic (or set KEYCEREMONY_KRYOPTIC_MODULE)",
    )
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A shipped ceremony's script and its rehearsal answers.
pub fn shipped(name: &str) -> (PathBuf, PathBuf) {
    (
        repo().join(format!("ceremony-scripts/{name}.toml")),
        repo().join(format!("ceremony-scripts/rehearsal/{name}.answers.toml")),
    )
}

/// The answers a room gives on resuming or aborting the ceremony in `out`:
/// the custodians who activate the token then each read the serial of the
/// bag their user-PIN share is in now (the last the log records for it) and
/// seal it in a new bag, and the activations still to come open the bags
/// the ones before them sealed. A static answers file cannot know where an
/// interruption leaves the bags; the room reads them off the bags.
pub fn room_reads_the_bags(answers: &Path, out: &Path) -> PathBuf {
    use std::collections::BTreeMap;
    let mut table: toml::Table =
        toml::from_str(&std::fs::read_to_string(answers).unwrap()).unwrap();
    let log = std::fs::read_to_string(out.join("ceremony.log")).unwrap_or_default();
    let entries: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    // Every serial recorded: a bag is never used twice.
    let mut used = std::collections::BTreeSet::new();
    let mut ended = Vec::new();
    let mut logged_in = false;
    let mut in_step = (false, false);
    for e in &entries {
        let data = &e["data"];
        let text = |key: &str| data[key].as_str().unwrap_or_default().to_string();
        for serial in [text("bag"), text("serial")] {
            if matches!(e["kind"].as_str(), Some("share-issued" | "bag-sealed")) {
                used.insert(serial);
            }
        }
        match e["kind"].as_str().unwrap_or_default() {
            "share-issued" if text("secret") == "user-pin" => {
                current.insert(text("custodian"), text("bag"));
            }
            "bag-sealed" if text("secret") == "user-pin" => {
                current.insert(text("custodian"), text("serial"));
            }
            "login-succeeded" if data["context_specific"] == false => in_step.0 = true,
            "logout" => in_step.1 = true,
            "step-begin" => in_step = (false, false),
            "step-end" => {
                ended.push(e["step"].as_str().unwrap_or_default().to_string());
                logged_in = (logged_in || in_step.0) && !in_step.1;
            }
            _ => {}
        }
    }
    // A run stopped within a step after its login (the seal step's) left
    // the token logged in: the resume activates it again.
    logged_in = (logged_in || in_step.0) && !in_step.1;
    let bags = |opened: &str, new: &str| {
        let mut bag = toml::Table::new();
        bag.insert("opened".into(), opened.into());
        bag.insert("new".into(), new.into());
        toml::Value::Table(bag)
    };
    if let Some(toml::Value::Table(resume)) = table.get_mut("resume") {
        let aborting = resume.get("choice").and_then(|c| c.as_str()) == Some("abort");
        let custodians: Vec<String> = resume
            .get("custodians")
            .and_then(|c| c.as_array())
            .map(|c| {
                c.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut resumed = toml::Table::new();
        for custodian in custodians {
            if let Some(opened) = current.get(&custodian).cloned() {
                let new = format!("RESUMED-{custodian}-{}", entries.len());
                resumed.insert(custodian.clone(), bags(&opened, &new));
                if logged_in || aborting {
                    current.insert(custodian, new);
                }
            }
        }
        resume.insert("bags".into(), toml::Value::Table(resumed));
    }
    if let Some(toml::Value::Table(steps)) = table.get_mut("steps") {
        for (id, step) in steps.iter_mut() {
            let Some(toml::Value::Table(step_bags)) = step.get_mut("bags") else {
                continue;
            };
            if ended.contains(id) {
                continue;
            }
            for (custodian, bag) in step_bags.iter_mut() {
                let (Some(opened), Some(new)) = (
                    current.get(custodian).cloned(),
                    bag.get("new").and_then(|n| n.as_str()).map(str::to_string),
                ) else {
                    continue;
                };
                // A step run again after it sealed new bags (the seal step
                // after its login) seals others this time.
                let new = if used.contains(&new) || current.values().any(|c| *c == new) {
                    format!("{new}-AGAIN-{}", entries.len())
                } else {
                    new
                };
                *bag = bags(&opened, &new);
                current.insert(custodian.clone(), new);
            }
        }
    }
    let path = out.with_extension("room.answers.toml");
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
    path
}

/// Every entry of the log in `out`, in order.
pub fn log_entries(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("ceremony.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The check-ins of the last resumption of the ceremony in `out`, after the
/// entry that records it, which must be a named person's act (the witness
/// who seals the log), not the tool's: a resume's check-in.
pub fn resumed_check_ins(out: &Path) -> Vec<serde_json::Value> {
    let entries = log_entries(out);
    let resumed = entries
        .iter()
        .rposition(|e| {
            e["description"]
                .as_str()
                .unwrap()
                .contains("records the room's decision: ceremony resumed")
        })
        .expect("the resumption is recorded");
    assert_eq!(entries[resumed]["actor"]["id"], "quinn");
    entries[resumed..]
        .iter()
        .filter(|e| e["kind"] == "check-in")
        .cloned()
        .collect()
}

/// The user PIN rebuilt from two custodians' rehearsal share files: what a
/// lab operator does to inspect a token after a rehearsal.
pub fn user_pin(out: &Path, ceremony: &str) -> String {
    let shares: Vec<Share> = ["carol", "dave"]
        .iter()
        .map(|who| {
            let file =
                std::fs::read_to_string(out.join(format!("rehearsal-shares/{who}.share"))).unwrap();
            let table: toml::Table = toml::from_str(&file).unwrap();
            Share::parse(table["user-pin"].as_str().unwrap()).unwrap()
        })
        .collect();
    let expected = Expected {
        kind: SecretKind::UserPin,
        ceremony_tag: ceremony_tag(ceremony),
        nonce: None,
        threshold: 2,
    };
    rebuild_pin(&shares, &expected)
        .unwrap()
        .expose_secret()
        .to_string()
}

/// `pkcs11-tool --list-objects` on a token of the SoftHSM2 that `conf`
/// configures, logged in, so that private objects are listed too.
pub fn list_objects(conf: &Path, token: &str, pin: &str) -> Output {
    list_objects_on(&module(), "SOFTHSM2_CONF", conf, token, pin)
}

/// [`list_objects`] on any module, its configuration named by `conf_var`.
pub fn list_objects_on(
    module: &Path,
    conf_var: &str,
    conf: &Path,
    token: &str,
    pin: &str,
) -> Output {
    Command::new("pkcs11-tool")
        .env(conf_var, conf)
        .arg("--module")
        .arg(module)
        .args([
            "--token-label",
            token,
            "--login",
            "--pin",
            pin,
            "--list-objects",
        ])
        .output()
        .expect("pkcs11-tool missing: apt-get install opensc")
}

/// A lab made by `keyceremony lab create` in a temporary folder of its own:
/// its config, token folder and the witness's token for sealing logs, on
/// SoftHSM2 ([`Lab::new`]) or kryoptic ([`Lab::kryoptic`]). Each run names
/// the lab through SOFTHSM2_CONF or KRYOPTIC_CONF for that child process
/// only, so runs never share tokens and never touch the user's own.
pub struct Lab {
    dir: tempfile::TempDir,
    module: PathBuf,
    /// The variable that names the configuration, and its file in lab/.
    conf_var: &'static str,
    conf_name: &'static str,
}

impl Lab {
    /// A SoftHSM2 lab.
    pub fn new() -> Lab {
        Lab::new_in(&std::env::temp_dir())
    }

    /// A SoftHSM2 lab in a folder of `parent` (the bench puts one on tmpfs).
    pub fn new_in(parent: &Path) -> Lab {
        Lab::create(module(), "SOFTHSM2_CONF", "softhsm2.conf", &[], parent)
    }

    /// A kryoptic lab with slots for the witness and `ceremonies` tokens.
    pub fn kryoptic(ceremonies: usize) -> Lab {
        Lab::create(
            kryoptic_module(),
            "KRYOPTIC_CONF",
            "kryoptic.conf",
            &["--ceremony-tokens".to_string(), ceremonies.to_string()],
            &std::env::temp_dir(),
        )
    }

    fn create(
        module: PathBuf,
        conf_var: &'static str,
        conf_name: &'static str,
        args: &[String],
        parent: &Path,
    ) -> Lab {
        let dir = tempfile::tempdir_in(parent).unwrap();
        let made = Command::new(BIN)
            .args(["lab", "create"])
            .arg(dir.path().join("lab"))
            .arg("--module")
            .arg(&module)
            .args(args)
            .env_remove(conf_var)
            .env_remove("KEYCEREMONY_MODULE")
            .output()
            .unwrap();
        assert!(made.status.success(), "lab create: {}", text(&made.stderr));
        // The stand-in for the removable media the sealed log is copied to,
        // which a ceremony needs mounted before it starts.
        std::fs::create_dir(dir.path().join("backup")).unwrap();
        Lab {
            dir,
            module,
            conf_var,
            conf_name,
        }
    }

    /// The module the lab's tokens are on.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The variable that names the lab's configuration to its module.
    pub fn conf_var(&self) -> &'static str {
        self.conf_var
    }

    /// The temporary folder: outputs, backups and edited scripts go there,
    /// so that they are removed with the lab.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn conf(&self) -> PathBuf {
        self.path(&format!("lab/{}", self.conf_name))
    }

    pub fn witness_pin(&self) -> PathBuf {
        self.path("lab/witness.pin")
    }

    pub fn witness_key(&self) -> PathBuf {
        self.path("lab/witness.pub.pem")
    }

    /// The upper-case hex SHA-256 of the stand-in witness key's
    /// SubjectPublicKeyInfo: what a script pins as log.witness_key_sha256.
    pub fn witness_key_sha256(&self) -> String {
        let pem = std::fs::read_to_string(self.witness_key()).unwrap();
        let der = keyceremony_log::public_key_der(&pem).unwrap();
        hex::encode_upper(<sha2::Sha256 as sha2::Digest>::digest(der))
    }

    pub fn tokens(&self) -> PathBuf {
        self.path("lab/tokens")
    }

    /// Tokens a SoftHSM2 lab holds besides the witness's.
    pub fn ceremony_tokens(&self) -> usize {
        std::fs::read_dir(self.tokens()).unwrap().count() - 1
    }

    /// An inventory kept in the lab: without `--inventory` the tool keeps
    /// it beside OUT, which may be a small tmpfs or /dev/shm.
    pub fn inventory(&self) -> PathBuf {
        self.path("inventory.jsonl")
    }

    /// `keyceremony run SCRIPT` for a pseudo-terminal (the operator TUI), on
    /// the lab's tokens, backup folder and inventory, run from the lab.
    pub fn tui_command(&self, script: &Path, out: &Path) -> portable_pty::CommandBuilder {
        let mut cmd = portable_pty::CommandBuilder::new(BIN);
        cmd.arg("run");
        cmd.arg(script);
        cmd.arg("--module");
        cmd.arg(self.module());
        cmd.arg("--backup");
        cmd.arg(self.path("backup"));
        cmd.arg("--inventory");
        cmd.arg(self.inventory());
        cmd.arg("--out");
        cmd.arg(out);
        cmd.env(self.conf_var, self.conf());
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("KEYCEREMONY_MODULE");
        cmd.cwd(self.dir());
        cmd
    }

    /// The binary on this lab's tokens, whatever the caller's environment
    /// says: a KEYCEREMONY_MODULE there would override `--module`.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env(self.conf_var, self.conf())
            .env_remove("KEYCEREMONY_MODULE");
        cmd
    }

    /// `run SCRIPT --module M --answers ANSWERS --out OUT` with the lab's
    /// witness and backup folder, as arguments, so that a caller may run
    /// them under another program. No `--inventory`: a caller adds its own
    /// or leaves the tool's default, beside OUT.
    pub fn run_args(&self, script: &Path, answers: &Path, out: &Path) -> Vec<OsString> {
        self.run_args_with_module(script, answers, out, self.module())
    }

    /// [`Lab::run_args`] with a module of the caller's choosing, for a file
    /// that is not one.
    pub fn run_args_with_module(
        &self,
        script: &Path,
        answers: &Path,
        out: &Path,
        module: &Path,
    ) -> Vec<OsString> {
        vec![
            "run".into(),
            script.into(),
            "--module".into(),
            module.into(),
            "--answers".into(),
            answers.into(),
            "--witness-pin-file".into(),
            self.witness_pin().into(),
            "--backup".into(),
            self.path("backup").into(),
            "--out".into(),
            out.into(),
        ]
    }

    /// `keyceremony run` of [`Lab::run_args`], to its end.
    pub fn run(&self, script: &Path, answers: &Path, out: &Path) -> Output {
        self.cmd()
            .args(self.run_args(script, answers, out))
            .output()
            .unwrap()
    }

    /// A SoftHSM2 configuration beside the lab whose token folder is no
    /// lab's, standing in for the CA's own tokens: a production ceremony
    /// refuses a lab's tokens before anything else, and a rehearsal refuses
    /// these.
    pub fn tokens_outside_any_lab(&self) -> PathBuf {
        let tokens = self.path("ca-tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = self.path("ca-softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\n",
                tokens.display()
            ),
        )
        .unwrap();
        conf
    }

    /// Every object on the token, private ones included: OpenSC's view,
    /// not the tool's own.
    pub fn objects(&self, token: &str, pin: &str) -> String {
        let out = list_objects_on(self.module(), self.conf_var, &self.conf(), token, pin);
        assert!(out.status.success(), "pkcs11-tool: {}", text(&out.stderr));
        text(&out.stdout)
    }

    pub fn labels(&self, token: &str, pin: &str) -> Vec<String> {
        self.objects(token, pin)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("label:"))
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// Every key on the token is one the log in `out` records as generated:
    /// whatever stopped a ceremony, no key may be left that the log does not
    /// account for.
    pub fn assert_every_key_logged(&self, token: &str, pin: &str, out: &Path) {
        let log = std::fs::read_to_string(out.join("ceremony.log")).unwrap();
        for label in self.labels(token, pin) {
            let recorded = log.lines().any(|line| {
                (line.contains("\"kind\":\"key-generated\"")
                    || line.contains("\"kind\":\"log-signing-key\""))
                    && line.contains(&label)
            });
            assert!(recorded, "key '{label}' is on the token but not in the log");
        }
    }
}

/// A shipped script with edits, written next to the lab.
pub fn edited(lab: &Lab, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let (script, _) = shipped(name);
    let mut body = std::fs::read_to_string(script).unwrap();
    for (from, to) in edits {
        assert!(body.contains(from), "{from} not in {name}");
        body = body.replacen(from, to, 1);
    }
    let path = lab.path(&format!("{name}-edited.toml"));
    std::fs::write(&path, body).unwrap();
    policy_beside(lab.dir());
    path
}

/// The policy the shipped scripts name, copied into `dir/policy/`: a script
/// finds its policy beside it.
fn policy_beside(dir: &Path) {
    let policy = dir.join("policy/reference-cps.toml");
    if !policy.exists() {
        std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
        std::fs::copy(
            repo().join("ceremony-scripts/policy/reference-cps.toml"),
            &policy,
        )
        .unwrap();
    }
}

/// The shipped scripts' lab option: the stand-in witness token on the
/// terminal.
pub const LAB_TOKEN_SIGNING: &str = "witness_signing = \"lab-token-on-terminal\"\nwitness_token = \"Quinn Adeyemi (auditor)\"\nwitness_key = \"quinn-adeyemi-seal\"\n";

/// The edit that makes a shipped script's witness sign on their own
/// device, their key (the lab's stand-in) pinned: the default, and a
/// production ceremony's only way.
pub fn independent_signing(lab: &Lab) -> (&'static str, String) {
    (
        LAB_TOKEN_SIGNING,
        format!("witness_key_sha256 = \"{}\"\n", lab.witness_key_sha256()),
    )
}

/// A shipped script made a production one: its witness signs on their own
/// device, and `more` edits besides.
pub fn production(lab: &Lab, name: &str, more: &[(&str, &str)]) -> PathBuf {
    let (from, to) = independent_signing(lab);
    let mut edits = vec![
        ("mode = \"rehearsal\"", "mode = \"production\""),
        (from, to.as_str()),
    ];
    edits.extend_from_slice(more);
    edited(lab, name, &edits)
}

/// The private key's access flags and usage as OpenSC reads them back from
/// the token: never the tool's own view of its key.
pub fn assert_private_key_attributes(listing: &str, token: &str) {
    let private = listing
        .split("Private Key Object")
        .nth(1)
        .unwrap_or_else(|| panic!("no private key on {token}:\n{listing}"));
    let access = private.lines().find(|l| l.contains("Access:")).unwrap();
    for flag in [
        "sensitive",
        "always sensitive",
        "never extractable",
        "local",
    ] {
        assert!(
            access.contains(flag),
            "{token}: private key not {flag}: {access}"
        );
    }
    let usage = private.lines().find(|l| l.contains("Usage:")).unwrap();
    assert!(usage.contains("sign"), "{token}: {usage}");
    for forbidden in ["decrypt", "unwrap", "derive"] {
        assert!(!usage.contains(forbidden), "{token}: {usage}");
    }
}

/// A CA's own copy of a shipped script, made as a reviewed production
/// script is made from it: only `mode` changes. Written into `dir`, with
/// the policy it names beside it.
pub fn production_copy(dir: &Path, name: &str) -> PathBuf {
    let (script, _) = shipped(name);
    let body = std::fs::read_to_string(script).unwrap();
    let rehearsal = "mode = \"rehearsal\"\n";
    assert_eq!(body.matches(rehearsal).count(), 1, "{name}");
    let path = dir.join(format!("{name}-production.toml"));
    std::fs::write(&path, body.replace(rehearsal, "mode = \"production\"\n")).unwrap();
    policy_beside(dir);
    path
}

/// `keyceremony script answers SCRIPT`, with every placeholder replaced by
/// what a lab's room records, mechanically and nothing else: the value the
/// script expects where it names one, a kind of document, the lab's own
/// clock, and a serial, a SHA-256 or a text of its own for each distinct
/// placeholder (the same placeholder, the same value). Written to `path`.
pub fn filled_answers(script: &Path, path: &Path) -> PathBuf {
    let printed = Command::new(BIN)
        .args(["script", "answers"])
        .arg(script)
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let skeleton = text(&printed.stdout);
    let mut values: Vec<(String, String)> = Vec::new();
    let mut filled = String::new();
    let mut rest = skeleton.as_str();
    while let Some(at) = rest.find("\"<") {
        filled.push_str(&rest[..=at]);
        let end = at + 1 + rest[at + 1..].find(">\"").expect("a placeholder ends") + 1;
        let placeholder = &rest[at + 1..end];
        let value = match values.iter().find(|(p, _)| p == placeholder) {
            Some((_, value)) => value.clone(),
            None => {
                let inner = &placeholder[1..placeholder.len() - 1];
                let value = match (
                    inner.split_once("; the script expects "),
                    inner.split_once(':'),
                ) {
                    (Some((_, expected)), _) => expected.to_string(),
                    (None, Some(("document", _))) => "passport".to_string(),
                    (None, Some(("time", _))) => "system".to_string(),
                    (None, Some(("bag", _))) => format!("LAB-BAG-{}", values.len() + 1),
                    (None, Some(("sha256", _))) => {
                        use sha2::Digest;
                        hex::encode(sha2::Sha256::digest(inner))
                    }
                    (None, Some(("text", _))) => "as read in the room".to_string(),
                    _ => panic!("a placeholder of no known kind: {placeholder}"),
                };
                values.push((placeholder.to_string(), value.clone()));
                value
            }
        };
        filled.push_str(&value);
        rest = &rest[end..];
    }
    filled.push_str(rest);
    assert!(
        !values.is_empty(),
        "the skeleton has values to fill:\n{skeleton}"
    );
    std::fs::write(path, filled).unwrap();
    path.to_path_buf()
}

/// Reads a run's output until the drill halt (`--halt-after`), kills the
/// process (SIGKILL), and returns the last log head it showed the witness
/// to copy, or "none".
pub fn kill_when_halted(child: &mut std::process::Child, step: &str) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("HALTED") {
            break;
        }
    }
    assert!(
        seen.contains("HALTED"),
        "no halt after step {step}:\n{seen}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    seen.lines()
        .filter(|l| l.starts_with("LOG HEAD at "))
        .filter_map(|l| l.rsplit(": ").next())
        .next_back()
        .unwrap_or("none")
        .to_string()
}
