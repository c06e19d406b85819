//! The auditor's deliverables against real data: the `keyceremony` binary
//! rehearses both shipped ceremonies on SoftHSM2 once, and the report and
//! the paper script are checked against that run's real outputs, with
//! OpenSSL, headless Chromium and a Markdown parser as outside opinions.
//! (The auditor's by-hand log checks, the guide's and the report's, are run
//! as written in tests/witness.rs, on a log whose witness signed on their
//! own device.)

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{BIN, module, repo, text};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag};
use sha2::{Digest, Sha256};

const CEREMONIES: [&str; 2] = ["root-rsa4096", "root-p384"];

fn keyceremony(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run keyceremony")
}

/// One real rehearsal for the whole test binary: every test reads it, or a
/// copy of one of its ceremony folders.
fn rehearsal() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-rehearsal");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(BIN)
            .args(["rehearse", "--headless", "--out"])
            .arg(&dir)
            .arg("--module")
            .arg(module())
            .env_remove("SOFTHSM2_CONF")
            .env_remove("KEYCEREMONY_MODULE")
            .output()
            .expect("run keyceremony rehearse");
        assert!(
            out.status.success(),
            "rehearse failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        dir
    })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of one ceremony's output folder, without any report a run
/// may already have written, so that each test writes its own.
fn ceremony_copy(name: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&rehearsal().join(name), copy.path());
    for report in ["report.html", "report.md"] {
        let _ = std::fs::remove_file(copy.path().join(report));
    }
    copy
}

/// `keyceremony report DIR`, which must succeed; returns its stdout.
fn write_report(dir: &Path) -> String {
    let out = Command::new(BIN).arg("report").arg(dir).output().unwrap();
    assert!(
        out.status.success(),
        "report failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256_upper(path: &Path) -> String {
    hex::encode_upper(Sha256::digest(std::fs::read(path).unwrap()))
}

fn log_entries(dir: &Path) -> Vec<serde_json::Value> {
    read(&dir.join("ceremony.log"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn openssl(dir: &Path, command: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The lines of the Markdown's code blocks.
fn code_lines(md: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_code = false;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if in_code => lines.extend(t.lines().map(str::to_string)),
            _ => {}
        }
    }
    lines
}

#[test]
fn report_holds_the_rehearsal_real_outputs() {
    for name in CEREMONIES {
        let copy = ceremony_copy(name);
        let dir = copy.path();
        let stdout = write_report(dir);
        assert!(stdout.contains("REHEARSAL report written"), "{stdout}");
        let md = read(&dir.join("report.md"));
        let html = read(&dir.join("report.html"));
        assert!(md.starts_with("# REHEARSAL ceremony report: "), "{name}");
        assert!(html.contains("<h1>REHEARSAL ceremony report: "), "{name}");
        // Self-contained: nothing to fetch, nothing to run.
        for outside in ["<script", "<link", "<img", "src=", "url(", "@import"] {
            assert!(!html.contains(outside), "{name}: {outside} in the HTML");
        }
        assert!(
            html.contains("@top-center { content: \"REHEARSAL"),
            "{name}"
        );

        // Every certificate: fingerprints recomputed here from the file, and
        // by OpenSSL with the report's own command line.
        let certs: Vec<PathBuf> = std::fs::read_dir(dir.join("certs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "der"))
            .collect();
        assert_eq!(certs.len(), 1, "{name}");
        for der in &certs {
            let label = der.file_stem().unwrap().to_str().unwrap();
            let der_bytes = std::fs::read(der).unwrap();
            let sha = hex::encode_upper(Sha256::digest(&der_bytes));
            let grouped = sha
                .as_bytes()
                .chunks(4)
                .map(|g| std::str::from_utf8(g).unwrap())
                .collect::<Vec<_>>()
                .join(" ");
            let words = pgp_words::to_words(&Sha256::digest(&der_bytes)).join(" ");
            for (what, doc) in [("md", &md), ("html", &html)] {
                assert!(doc.contains(&sha), "{name} {what}: SHA-256 {sha}");
                assert!(doc.contains(&grouped), "{name} {what}: grouped");
                assert!(doc.contains(&words), "{name} {what}: PGP words");
            }
            let fingerprint_command = code_lines(&md)
                .into_iter()
                .find(|l| l.contains("-fingerprint -sha256") && l.contains(label))
                .expect("the report gives the fingerprint command");
            let printed = openssl(dir, &fingerprint_command);
            assert_eq!(printed.trim(), format!("sha256 Fingerprint={sha}"));
            let verify_command = code_lines(&md)
                .into_iter()
                .find(|l| l.starts_with("openssl verify") && l.contains(label))
                .expect("the report gives the openssl verify command");
            assert!(openssl(dir, &verify_command).contains(": OK"));
            let serial = openssl(
                dir,
                &format!("openssl x509 -in certs/{label}.der -inform DER -noout -serial"),
            );
            let serial = serial.trim().trim_start_matches("serial=");
            assert!(md.contains(serial), "{name}: serial {serial}");
            let key_sha = openssl(
                dir,
                &format!(
                    "openssl pkey -pubin -in keys/{label}.pub.pem -outform DER | sha256sum | cut -d' ' -f1 | tr a-f A-F"
                ),
            );
            assert!(md.contains(key_sha.trim()), "{name}: public key SHA-256");
        }
        assert!(md.contains("| Software verification | OK |"), "{name}");
        assert!(!md.contains("**FAILED**"), "{name}");

        // The log: verified, its head and seal signatures from the seal.
        let entries = log_entries(dir);
        let seal = entries.last().unwrap();
        assert_eq!(seal["kind"], "seal");
        let head = seal["data"]["head"].as_str().unwrap();
        assert!(md.contains(&format!("| Head | `{head}` |")), "{name}");
        assert!(md.contains("SEALED: intact, and sealed as completed"));
        for key in ["ceremony_key", "witness_key"] {
            let signature = seal["data"][key]["signature"].as_str().unwrap();
            assert!(md.contains(signature), "{name}: {key} signature");
        }
        assert!(md.contains(
            "keyceremony verify-log ceremony.log --expect-head HEAD_FROM_PAPER --witness-key WITNESS_KEY.pem"
        ));

        // Participants from the script copy; every step of the timeline.
        let script: toml::Value = toml::from_str(&read(&dir.join("script.toml"))).unwrap();
        for p in script["participants"].as_array().unwrap() {
            let person = p["name"].as_str().unwrap();
            assert!(md.contains(&format!("| {person} |")), "{name}: {person}");
        }
        for e in entries.iter().filter(|e| e["kind"] == "step-begin") {
            let step = e["step"].as_str().unwrap();
            assert!(md.contains(&format!("| `{step}` |")), "{name}: step {step}");
        }

        // Environment and token: every key the log recorded is printed.
        for e in entries
            .iter()
            .filter(|e| e["kind"] == "environment" || e["kind"] == "token-initialized")
        {
            for key in e["data"].as_object().unwrap().keys() {
                assert!(
                    md.contains(&format!("| `{key}")),
                    "{name}: {} key {key}",
                    e["kind"]
                );
            }
        }
        // The binary that ran, in hex and as PGP words to read aloud,
        // computed here from the binary itself.
        let binary = Sha256::digest(std::fs::read(BIN).unwrap());
        let words = pgp_words::to_words(&binary).join(" ");
        for (doc, what) in [(&md, "Markdown"), (&html, "HTML")] {
            assert!(
                doc.contains(&sha256_upper(Path::new(BIN))),
                "{name} {what}: the binary's SHA-256"
            );
            assert!(
                doc.contains(&words),
                "{name} {what}: the binary's PGP words"
            );
        }
        // Each key's PKCS#11 URI and attributes read back.
        let generated = entries
            .iter()
            .find(|e| e["kind"] == "key-generated")
            .unwrap();
        assert!(md.contains(generated["data"]["uri"].as_str().unwrap()));
        assert!(
            md.contains("| `CKA_NEVER_EXTRACTABLE` | true | - |"),
            "{name}"
        );

        // Each irreversible HSM action's go, with who gave it.
        assert!(md.contains("## Dual control in the room"), "{name}");
        for e in entries.iter().filter(|e| e["kind"] == "go") {
            let what = e["data"]["what"].as_str().unwrap();
            assert!(
                md.contains(&format!("| Ada Okafor | {what} |")),
                "{name}: {what}"
            );
        }
        assert!(!md.contains("has no go recorded"), "{name}");
        // Neither modifiable nor copyable, read back, and said so.
        for attribute in ["CKA_MODIFIABLE", "CKA_COPYABLE"] {
            assert!(
                md.contains(&format!("| `{attribute}` | false | - |")),
                "{name}: {attribute}"
            );
        }
        assert!(md.contains("| CKA_MODIFIABLE and CKA_COPYABLE false | applied |"));
        assert!(md.contains("| Attribute problems | none |"), "{name}");

        // Where and with what it ran, the CPS, how the input was given.
        let script = &script["ceremony"];
        let hsm = &toml::from_str::<toml::Value>(&read(&dir.join("script.toml"))).unwrap()["hsm"];
        for (row, value) in [
            ("Location", script["location"].as_str().unwrap()),
            ("HSM model", hsm["model"].as_str().unwrap()),
            ("HSM certification", hsm["certification"].as_str().unwrap()),
            ("Video recordings", script["video"][0].as_str().unwrap()),
            (
                "CPS",
                "Security Communication RootCA Certification Practice Statement, version 6.05 (2024-10-23)",
            ),
        ] {
            assert!(
                md.contains(&format!("| {row} | {value} |")),
                "{name}: {row}"
            );
        }
        assert!(
            md.contains("read from the answers file ceremony-scripts/rehearsal/"),
            "{name}"
        );
        // Each certificate in PEM, as its .pem file holds it.
        for der in &certs {
            let pem = read(&der.with_extension("pem"));
            assert!(md.contains(pem.trim_end()), "{name}: the PEM");
        }
        // The lab's option is named as such.
        assert!(md.contains("LAB OPTION: with the witness's stand-in token on the CA terminal"));
    }
}

#[test]
fn attribute_problems_are_found_in_what_was_read_back() {
    let copy = ceremony_copy("root-p384");
    let dir = copy.path();
    // Edited as a module that left the key modifiable would have recorded
    // it, its problems empty: the report judges the values itself.
    let log = read(&dir.join("ceremony.log"));
    let edited: String = log
        .lines()
        .map(|line| match line.contains("\"kind\":\"key-generated\"") {
            true => line.replacen("\"modifiable\":false", "\"modifiable\":true", 1),
            false => line.to_string(),
        })
        .map(|line| line + "\n")
        .collect();
    assert_ne!(edited, log);
    std::fs::write(dir.join("ceremony.log"), edited).unwrap();
    let stdout = write_report(dir);
    assert!(
        stdout.contains("has unsafe attributes: CKA_MODIFIABLE is true"),
        "{stdout}"
    );
    let md = read(&dir.join("report.md"));
    assert!(md.contains("| Attribute problems | CKA_MODIFIABLE is true:"));
}

#[test]
fn report_lists_every_file_with_its_sha256() {
    let copy = ceremony_copy("root-rsa4096");
    let dir = copy.path();
    write_report(dir);
    let md = read(&dir.join("report.md"));
    let mut listed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if path.is_dir() {
                if relative != "rehearsal-shares" {
                    stack.push(path);
                }
                continue;
            }
            if relative == "report.md" || relative == "report.html" {
                continue;
            }
            let size = std::fs::metadata(&path).unwrap().len();
            let row = format!("| `{relative}` | {size} | `{}` |", sha256_upper(&path));
            assert!(md.contains(&row), "no row {row} in\n{md}");
            listed += 1;
        }
    }
    // ceremony.log, script.toml, fingerprints.txt, the certificate twice, the key.
    assert_eq!(listed, 6);
    assert!(!md.contains("NOT IN THE LOG"));
    assert!(!md.contains("rehearsal-shares/carol.share"));
    // Every file but the log itself is accounted for by a file-written entry.
    assert_eq!(md.matches(": same SHA-256 |").count(), listed - 1);
}

#[test]
fn report_flags_files_the_log_does_not_account_for() {
    let copy = ceremony_copy("root-p384");
    let dir = copy.path();
    std::fs::write(dir.join("certs/planted.pem"), "not from the ceremony\n").unwrap();
    let mut fingerprints = read(&dir.join("fingerprints.txt"));
    fingerprints.push_str("planted SHA256 00\n");
    std::fs::write(dir.join("fingerprints.txt"), fingerprints).unwrap();
    let stdout = write_report(dir);
    assert!(
        stdout.contains(
            "certs/planted.pem is not accounted for by the log: no file-written entry names it"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("fingerprints.txt differs from the log"),
        "{stdout}"
    );
    let md = read(&dir.join("report.md"));
    let planted = sha256_upper(&dir.join("certs/planted.pem"));
    assert!(md.contains(&format!(
        "| `certs/planted.pem` | 22 | `{planted}` | **NOT IN THE LOG** |"
    )));
    assert!(md.contains("| `fingerprints.txt` |"));
    assert!(md.contains("**DIFFERS** from entry"));
    let html = read(&dir.join("report.html"));
    assert!(html.contains("<strong>NOT IN THE LOG</strong>"));
}

#[test]
fn report_of_an_interrupted_log_says_it_is_not_sealed() {
    let copy = ceremony_copy("root-rsa4096");
    let dir = copy.path();
    let log = read(&dir.join("ceremony.log"));
    let without_seal: Vec<&str> = log.lines().collect();
    let cut = without_seal[..without_seal.len() - 1].join("\n") + "\n";
    std::fs::write(dir.join("ceremony.log"), cut).unwrap();
    let stdout = write_report(dir);
    assert!(
        stdout.contains("the log is not sealed as completed: UNSEALED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("step 5.4 (Seal the ceremony log) has no witness confirmation"),
        "{stdout}"
    );
    // The log's own SHA-256 changed, but the log is never in its own
    // file-written entries: only the status flags it.
    let md = read(&dir.join("report.md"));
    assert!(md.contains("| Outcome | not sealed |"));
    assert!(md.contains("The log has no seal."));
}

#[test]
fn report_never_overwrites_an_existing_report() {
    let copy = ceremony_copy("root-rsa4096");
    let dir = copy.path();
    write_report(dir);
    let before = read(&dir.join("report.md"));
    let again = Command::new(BIN).arg("report").arg(dir).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("report.html already exists: a report is never overwritten"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(read(&dir.join("report.md")), before);

    let empty = tempfile::tempdir().unwrap();
    let refused = Command::new(BIN)
        .arg("report")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("holds no ceremony.log"));
}

/// Headless Chromium takes a screenshot of the page, without network.
fn screenshot(html: &Path) -> Vec<u8> {
    let work = tempfile::tempdir().unwrap();
    let png = work.path().join("shot.png");
    let mut child = match Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "chromium cannot be started ({e}): run scripts/setup.sh, which installs Debian's chromium package"
        ),
    };
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("chromium did not finish the screenshot in 180 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::fs::read(&png).expect("chromium wrote no screenshot")
}

fn assert_rendered(png: &[u8], what: &str) {
    assert!(
        png.len() > 30 * 1024,
        "{what}: a {}-byte screenshot is blank",
        png.len()
    );
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{what}: not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 1600), "{what}");
}

#[test]
fn html_report_and_paper_script_render_in_chromium() {
    let copy = ceremony_copy("root-p384");
    write_report(copy.path());
    assert_rendered(&screenshot(&copy.path().join("report.html")), "report");

    let paper = copy.path().join("paper.html");
    let out = Command::new(BIN)
        .args(["script", "print"])
        .arg(repo().join("ceremony-scripts/root-p384.toml"))
        .args(["--format", "html", "--out"])
        .arg(&paper)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_rendered(&screenshot(&paper), "paper script");
}

/// Markdown that a parser reads as intended: no raw HTML (every value is
/// escaped), every table row with as many cells as its header, one title,
/// and no heading more than one level below the one before it.
fn assert_valid_markdown(md: &str, what: &str) {
    let mut previous = 0;
    let mut titles = 0;
    let mut tables = 0;
    for (event, range) in Parser::new_ext(md, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                let level = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    HeadingLevel::H4 => 4,
                    HeadingLevel::H5 => 5,
                    HeadingLevel::H6 => 6,
                };
                assert!(
                    level <= previous + 1,
                    "{what}: heading level {level} after {previous}: {}",
                    &md[range]
                );
                if level == 1 {
                    titles += 1;
                }
                previous = level;
            }
            Event::Start(Tag::Table(alignments)) => {
                tables += 1;
                for line in md[range].lines().filter(|l| !l.trim().is_empty()) {
                    assert_eq!(cells(line), alignments.len(), "{what}: table row {line:?}");
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => panic!("{what}: raw HTML {h:?}"),
            _ => {}
        }
    }
    assert_eq!(titles, 1, "{what}: one title");
    assert!(tables > 5, "{what}: {tables} tables");
}

/// Cells of a GFM table row: the pipes that are not backslash-escaped,
/// less the leading and trailing ones.
fn cells(line: &str) -> usize {
    let mut pipes = 0;
    let mut escaped = false;
    for c in line.trim().chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => pipes += 1,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    pipes - 1
}

#[test]
fn markdown_report_and_paper_script_are_valid_markdown() {
    for name in CEREMONIES {
        let copy = ceremony_copy(name);
        write_report(copy.path());
        assert_valid_markdown(&read(&copy.path().join("report.md")), name);
        let paper = keyceremony(&[
            "script",
            "print",
            repo()
                .join(format!("ceremony-scripts/{name}.toml"))
                .to_str()
                .unwrap(),
            "--format",
            "md",
        ]);
        assert!(paper.status.success(), "{}", text(&paper.stderr));
        assert_valid_markdown(&text(&paper.stdout), &format!("paper script {name}"));
    }
}

#[test]
fn paper_script_has_every_step_with_initials_boxes() {
    for name in CEREMONIES {
        let script_path = repo().join(format!("ceremony-scripts/{name}.toml"));
        let script: toml::Value = toml::from_str(&read(&script_path)).unwrap();
        let sha = hex::encode(Sha256::digest(std::fs::read(&script_path).unwrap()));
        let print = |format: &str| {
            let out = keyceremony(&[
                "script",
                "print",
                script_path.to_str().unwrap(),
                "--format",
                format,
            ]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout)
        };
        let html = print("html");
        let md = print("md");
        let steps: Vec<(String, toml::Value)> = script["acts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|act| act["steps"].as_array().unwrap().clone())
            .map(|step| (step["id"].as_str().unwrap().to_string(), step))
            .collect();
        for (id, step) in &steps {
            let title = step["title"].as_str().unwrap();
            assert!(md.contains(&format!("### Step {id}: ")), "{name} md: {id}");
            assert!(
                html.contains(&format!("<h3>Step {id}: ")),
                "{name} html: {id}"
            );
            // The sign-off table: performer and witness, each with an
            // initials box and the time.
            assert!(
                md.contains(&format!(
                    "| Step {id} | Name | Initials | Time (UTC) | Exception sheet row, if any |"
                )),
                "{name} md: sign-off of {id} ({title})"
            );
        }
        // Every step's two sign-off boxes, the specimen initials, the
        // check-in, share and activation boxes, the exception sheet and
        // the attestation: at least two boxes a step.
        let boxes = html.matches("<span class=\"initials\"></span>").count();
        assert!(boxes >= 2 * steps.len(), "{name}: {boxes} initials boxes");
        assert!(
            md.contains(&sha) && html.contains(&sha),
            "{name}: script SHA-256"
        );
        for heading in [
            "## Exception sheet",
            "## Log heads when a run stopped",
            "## Attestation",
            "## Participants and roles",
        ] {
            assert!(md.contains(heading), "{name}: {heading}");
        }
        // The head the tool shows at each act's end but the last (the
        // seal's), which a resumed ceremony is proven with (issue 12).
        let acts = script["acts"].as_array().unwrap();
        for act in &acts[..acts.len() - 1] {
            let id = act["id"].as_str().unwrap();
            assert!(
                md.contains(&format!("| Log head at the end of act {id} |")),
                "{name}: no head line for act {id}"
            );
        }
        assert!(md.contains(
            "| Participant | Role | Present (initials) | Script followed (initials) | Record true (initials) | Disagreement | Date and time (UTC) |"
        ));
        // Values to copy: the head at the seal, fingerprints, bag serials.
        assert!(
            md.contains("| Head hash of the sealed log | ____ ____"),
            "{name}"
        );
        assert!(
            md.contains("| SHA-256 fingerprint of the certificate of"),
            "{name}"
        );
        assert!(md.contains(
            "| Custodian | Share | Typed back from the paper, matched (custodian's initials) | Bag serial | Custodian (initials) |"
        ));
        assert!(md.contains("| Reference clock time the witness typed, and marked with Enter"));
        assert!(md.contains(
            "The room has read on the screen the certificate to be signed (subject, issuer, serial"
        ));
        assert!(html.contains("break-before: page"), "{name}: page breaks");
        assert!(html.contains("@page { size: auto;"), "{name}: print size");
        assert!(
            md.contains("> **REHEARSAL.**"),
            "{name}: shipped scripts are rehearsals"
        );
    }

    // --out never replaces a paper script that may already be initialled.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("paper.md");
    std::fs::write(&target, "initialled\n").unwrap();
    let out = Command::new(BIN)
        .args(["script", "print"])
        .arg(repo().join("ceremony-scripts/root-rsa4096.toml"))
        .args(["--format", "md", "--out"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read(&target), "initialled\n");
}

#[test]
fn completions_man_page_and_examples_come_from_the_command_line() {
    let bash = keyceremony(&["completions", "bash"]);
    assert!(bash.status.success());
    let bash = text(&bash.stdout);
    assert!(bash.contains("keyceremony") && bash.contains("report") && bash.contains("verify-log"));
    let zsh = keyceremony(&["completions", "zsh"]);
    assert!(text(&zsh.stdout).starts_with("#compdef keyceremony"));

    let man = keyceremony(&["man"]);
    assert!(man.status.success());
    let man = text(&man.stdout);
    assert!(man.starts_with(".ie"), "{}", &man[..man.len().min(200)]);
    assert!(man.contains(".TH keyceremony 1"));
    assert!(man.contains("report") && man.contains("completions"));

    for args in [
        &["report", "--help"][..],
        &["completions", "--help"],
        &["man", "--help"],
        &["script", "print", "--help"],
    ] {
        let help = keyceremony(args);
        assert!(help.status.success(), "{args:?}");
        assert!(
            text(&help.stdout).contains("Example"),
            "{args:?} gives no example"
        );
    }
}
