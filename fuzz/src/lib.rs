//! The bodies of keyceremony's fuzz targets, shared by the cargo-fuzz
//! binaries (`fuzz_targets/*.rs`, libFuzzer on nightly) and by the bounded
//! stable-Rust run in [`stable`] (`cargo test`), so that a machine without a
//! nightly toolchain still runs the same code on many inputs.
//!
//! Every input a person or a file can hand the tool goes through one of
//! these: a ceremony script, an answers file, a ceremony log, a share as a
//! custodian types it. Each target asserts only what the code promises for
//! any input (no panic; the verifier's report is consistent; a changed log
//! never verifies as sealed; a parsed share reads back as itself).

mod text;

pub use text::{script_text, terminal_sanitiser};

use std::io::BufReader;
use std::path::Path;
use std::sync::LazyLock;

use arbitrary::Unstructured;
use keyceremony_engine::{AnswersFile, Imminent, Interrupted, Operator, Raised};
use keyceremony_log::verify::{Status, VerifyOptions, VerifyReport};
use keyceremony_policy::Policy;
use keyceremony_script::{LoadedScript, Secret};
use keyceremony_shares::{Expected, Share};
use secrecy::ExposeSecret;

/// A real rehearsal's sealed log (root-p384, SoftHSM2 lab) and the public
/// key of the lab's witness token that signed its seal: the starting point
/// of [`verify_log_edits`].
const SEED_LOG: &[u8] = include_bytes!("../seeds/root-p384.ceremony.log");
const SEED_WITNESS_KEY: &str = include_str!("../seeds/witness.pub.pem");

static POLICY: LazyLock<Policy> = LazyLock::new(|| {
    Policy::parse(
        Path::new("ceremony-scripts/policy/reference-cps.toml"),
        include_str!("../../ceremony-scripts/policy/reference-cps.toml"),
    )
    .expect("the shipped policy parses")
});

static SHIPPED: LazyLock<[LoadedScript; 2]> = LazyLock::new(|| {
    let parse = |name: &str, text: &str| {
        LoadedScript::parse(Path::new(name), text.to_string()).expect("a shipped script parses")
    };
    [
        parse(
            "root-p384.toml",
            include_str!("../../ceremony-scripts/root-p384.toml"),
        ),
        parse(
            "root-rsa4096.toml",
            include_str!("../../ceremony-scripts/root-rsa4096.toml"),
        ),
    ]
});

/// Script parser, validator and policy check (`keyceremony script check`).
pub fn script(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let Ok(loaded) = LoadedScript::parse(path, text.to_string()) else {
        return;
    };
    for violation in loaded.violations() {
        let _ = violation.display_at(path);
    }
    for violation in keyceremony_policy::check_loaded_script(&POLICY, &loaded) {
        let _ = violation.display_at(path);
    }
}

/// Answers-file parser, its preflight against both shipped scripts, and
/// every question the engine asks it.
pub fn answers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for loaded in SHIPPED.iter() {
        for rehearsal in [true, false] {
            let Ok(mut answers) = AnswersFile::parse(Path::new("fuzz.answers.toml"), text.into())
            else {
                return;
            };
            let _ = answers.preflight(&loaded.script, rehearsal);
            ask_everything(&mut answers, loaded);
        }
    }
}

/// Each question the engine can put to an answers file, for every step.
fn ask_everything(answers: &mut AnswersFile, loaded: &LoadedScript) {
    let script = &loaded.script;
    let witness = &script.participants[0];
    let _ = answers.resume_or_abort(&Interrupted::default());
    let _ = answers.last_copied_head(witness, &Interrupted::default());
    let _ = answers.accept_environment_change(witness, &["module".to_string()]);
    let _ = answers.network_explanation(witness, &["eth0".to_string()]);
    let _ = answers.confirm_seal(witness, "00", "aardvark");
    let _ = answers.witness_token_pin(witness, "token");
    let imminent = Imminent {
        action: "generate-key",
        what: "fuzz".to_string(),
        facts: Vec::new(),
        lint: None,
    };
    // Refused once: a headless run asks no second time, so nothing waits.
    let _ = answers.witness_signature(
        witness,
        &keyceremony_engine::SignatureRequest {
            statement: "media/seal-statement.txt".into(),
            sha256: "00".repeat(32),
            words: "aardvark".to_string(),
            signature: "media/witness-signature.der".into(),
            refused: Some("fuzz".to_string()),
        },
    );
    for (_, step) in script.steps() {
        let _ = answers.witness(step, witness);
        let _ = answers.exceptions(step, witness);
        let _ = answers.clock_reading(step, witness);
        let raised = Raised {
            subject: "clock".to_string(),
            description: "fuzz".to_string(),
        };
        let _ = answers.decide(step, witness, &raised);
        let _ = answers.presence(step, &[]);
        for field in &step.record {
            let _ = answers.record(step, field, None);
        }
        for secret in Secret::ALL {
            let _ = answers.choose_custodians(step, secret, &script.participants, 2);
            for p in &script.participants {
                let _ = answers.share_bag(step, p, secret, 1, None);
                let _ = answers.bag_opened(step, p, secret, None);
                // No rehearsal share folder was given: refused, never read.
                let _ = answers.share(step, p, secret);
            }
        }
        for p in &script.participants {
            let _ = answers.check_in(step, p, witness, false);
            let _ = answers.go(step, p, &imminent);
        }
    }
}

/// The streaming log verifier on arbitrary bytes.
pub fn verify_log(data: &[u8]) {
    let options = VerifyOptions::default();
    let whole = keyceremony_log::verify::verify_log(data, &options);
    consistent(&whole);
    // The verdict cannot depend on how the reader happens to cut the input.
    let small = keyceremony_log::verify::verify_log(BufReader::with_capacity(7, data), &options);
    assert_eq!(whole, small, "the report depends on the read buffer's size");
    let with_key = VerifyOptions {
        expect_head: data.get(..32).and_then(|b| b.try_into().ok()),
        witness_key_pem: Some(SEED_WITNESS_KEY.to_string()),
    };
    consistent(&keyceremony_log::verify::verify_log(data, &with_key));
}

/// What the report promises: a problem exactly when the log is not sealed.
fn consistent(report: &VerifyReport) {
    let sealed = matches!(report.status, Status::Sealed | Status::Aborted);
    assert_eq!(
        report.problem.is_none(),
        sealed,
        "report {report:?} has a problem iff not sealed"
    );
    if sealed {
        assert!(report.head.is_some() && report.outcome.is_some());
    }
}

/// A real sealed log, changed by the edits the input describes (lines
/// removed, repeated, swapped or cut; bytes or a field's value replaced),
/// then usually hash-chained again, as a forger who rewrote the log would,
/// so that the checks behind the chain (sequence, times, seal, signatures)
/// are reached. A log that differs from the original in any byte must never
/// verify as sealed with the witness's key.
pub fn verify_log_edits(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((lines, rechain)) = edited_log(&mut u) else {
        return;
    };
    let mut log = Vec::new();
    let mut previous: Option<Vec<u8>> = None;
    for line in lines {
        let mut line = line;
        if rechain && let Some(previous) = &previous {
            set_prev(&mut line, &keyceremony_log::line_hash(previous));
        }
        log.extend_from_slice(&line);
        log.push(b'\n');
        previous = Some(line);
    }
    let options = VerifyOptions {
        expect_head: None,
        witness_key_pem: Some(SEED_WITNESS_KEY.to_string()),
    };
    let report = keyceremony_log::verify::verify_log(log.as_slice(), &options);
    consistent(&report);
    if log != SEED_LOG {
        assert_ne!(
            report.status,
            Status::Sealed,
            "a changed log verifies as sealed"
        );
    }
}

/// JSON keys of log entries and seals whose values an edit may replace.
const FIELDS: [&str; 14] = [
    "seq",
    "time",
    "prev",
    "kind",
    "step",
    "description",
    "data",
    "outcome",
    "entries",
    "head",
    "statement",
    "public_key",
    "signature",
    "ceremony_id",
];

type Lines = Vec<Vec<u8>>;

fn edited_log(u: &mut Unstructured) -> arbitrary::Result<(Lines, bool)> {
    let mut lines: Lines = SEED_LOG
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let edits = u.int_in_range(1..=4)?;
    for _ in 0..edits {
        if lines.is_empty() {
            break;
        }
        let i = u.choose_index(lines.len())?;
        match u.int_in_range(0..=5)? {
            0 => {
                lines.remove(i);
            }
            1 => lines.insert(i, lines[i].clone()),
            2 => {
                let j = u.choose_index(lines.len())?;
                lines.swap(i, j);
            }
            3 => {
                let line = &mut lines[i];
                let start = u.choose_index(line.len() + 1)?;
                let end = start + u.int_in_range(0..=(line.len() - start).min(32))?;
                let with: Vec<u8> = (0..u.int_in_range(0..=32)?)
                    .map(|_| u.arbitrary())
                    .collect::<arbitrary::Result<_>>()?;
                line.splice(start..end, with);
            }
            4 => {
                let field = u.choose(&FIELDS)?;
                let value: String = u.arbitrary()?;
                // Sometimes a JSON string, sometimes raw text (a number, or
                // something that is not JSON at all).
                let value = if u.arbitrary()? {
                    format!("{value:?}")
                } else {
                    value
                };
                replace_value(&mut lines[i], field, value.as_bytes());
            }
            _ => {
                let at = u.choose_index(lines[i].len() + 1)?;
                lines[i].truncate(at);
            }
        }
    }
    let rechain = u.ratio(7u8, 8u8)?;
    Ok((lines, rechain))
}

/// Replaces the value after `"field":` up to the next `,` or `}` at the
/// same nesting depth.
fn replace_value(line: &mut Vec<u8>, field: &str, value: &[u8]) {
    let key = format!("\"{field}\":");
    let Some(at) = find(line, key.as_bytes()) else {
        return;
    };
    let start = at + key.len();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut end = line.len();
    for (offset, &b) in line[start..].iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' | b'}' | b']' => {
                end = start + offset;
                break;
            }
            _ => {}
        }
    }
    line.splice(start..end, value.iter().copied());
}

/// Rewrites the entry's `"prev":"<hex>"` to `hash`, as a forger would.
fn set_prev(line: &mut [u8], hash: &[u8; 32]) {
    const KEY: &[u8] = b"\"prev\":\"";
    if let Some(at) = find(line, KEY) {
        let start = at + KEY.len();
        if let Some(slot) = line.get_mut(start..start + 64) {
            slot.copy_from_slice(hex::encode(hash).as_bytes());
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Share decoder, as a custodian's typing reaches it: every line is one
/// share; a share that parses reads back as itself from its canonical text,
/// and two or more that parse go through the checks and the PIN rebuild.
pub fn share(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parsed = Vec::new();
    for line in text.lines() {
        let Ok(share) = Share::parse(line) else {
            continue;
        };
        let canonical = share.to_text();
        let again = Share::parse(canonical.expose_secret()).expect("a share's own text parses");
        assert_eq!(again.set(), share.set());
        assert_eq!(again.number(), share.number());
        assert_eq!(again.to_text().expose_secret(), canonical.expose_secret());
        let _ = share.display_lines();
        parsed.push(share);
    }
    if let Some(first) = parsed.first() {
        let expected = Expected {
            kind: first.set().kind,
            ceremony_tag: first.set().ceremony_tag.clone(),
            nonce: None,
            threshold: first.set().threshold,
        };
        let _ = keyceremony_shares::check(&parsed, &expected);
        let _ = keyceremony_shares::rebuild_pin(&parsed, &expected);
    }
}

/// The bounded stable-Rust run of the targets above (see fuzz/README.md):
/// each corpus file, then inputs made from them by a fixed-seed generator
/// (bit flips, byte edits, splices, truncation, random bytes). A failing
/// input is written to `fuzz/artifacts/stable/` for `cargo fuzz run TARGET
/// FILE` or a regression test.
#[cfg(test)]
mod stable {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    /// Inputs per target beyond the corpus; KC_FUZZ_ITERATIONS overrides.
    const DEFAULT_ITERATIONS: u64 = 20_000;
    /// libFuzzer's -timeout in spirit: an input this slow is a hang.
    const SLOW: Duration = Duration::from_secs(2);

    /// xorshift64*: deterministic, so a failure is found again by rerunning.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }

    /// A few libFuzzer-style mutations of a corpus entry.
    fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
        if rng.below(16) == 0 {
            return (0..rng.below(256)).map(|_| rng.next() as u8).collect();
        }
        let mut input = corpus[rng.below(corpus.len())].clone();
        for _ in 0..=rng.below(4) {
            let len = input.len();
            match rng.below(6) {
                0 if len > 0 => {
                    let i = rng.below(len);
                    input[i] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let i = rng.below(len);
                    input[i] = rng.next() as u8;
                }
                2 => {
                    let i = rng.below(len + 1);
                    // Bytes that matter to TOML, JSON and share text.
                    let interesting = b"\"=[]{},:.-\n\\0123456789aZ\x00\xff";
                    input.insert(i, interesting[rng.below(interesting.len())]);
                }
                3 if len > 0 => {
                    let start = rng.below(len);
                    let end = (start + rng.below(16)).min(len);
                    input.drain(start..end);
                }
                4 => {
                    let other = &corpus[rng.below(corpus.len())];
                    if !other.is_empty() {
                        let from = rng.below(other.len());
                        let to = (from + rng.below(64)).min(other.len());
                        let at = rng.below(len + 1);
                        input.splice(at..at, other[from..to].iter().copied());
                    }
                }
                _ => input.truncate(rng.below(len + 1)),
            }
        }
        input
    }

    /// `text`: the target returns at once on bytes that are not UTF-8, so
    /// each mutated input is made valid UTF-8 first (U+FFFD for what is
    /// not) to spend the run on the parser rather than on that check.
    fn run(target: &str, text: bool, body: fn(&[u8])) {
        let iterations = std::env::var("KC_FUZZ_ITERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_ITERATIONS);
        let corpus = corpus(target);
        let mut rng = Rng(0x6b63_6675_7a7a ^ target.len() as u64);
        let inputs = corpus.iter().cloned().chain((0..iterations).map(|_| {
            let input = mutate(&mut rng, &corpus);
            if text {
                String::from_utf8_lossy(&input).into_owned().into_bytes()
            } else {
                input
            }
        }));
        let started = Instant::now();
        let mut count = 0u64;
        for input in inputs {
            let one = Instant::now();
            if std::panic::catch_unwind(|| body(&input)).is_err() || one.elapsed() > SLOW {
                let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts/stable");
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join(format!("{target}-{count}"));
                std::fs::write(&file, &input).unwrap();
                panic!(
                    "{target}: input {count} panicked or took {:?}; saved to {}",
                    one.elapsed(),
                    file.display()
                );
            }
            count += 1;
        }
        eprintln!(
            "{target}: {count} inputs in {:.1} s, no panic",
            started.elapsed().as_secs_f64()
        );
    }

    #[test]
    fn script() {
        run("script", true, super::script);
    }

    #[test]
    fn answers() {
        run("answers", true, super::answers);
    }

    #[test]
    fn verify_log() {
        run("verify_log", false, super::verify_log);
    }

    #[test]
    fn verify_log_edits() {
        run("verify_log_edits", false, super::verify_log_edits);
    }

    #[test]
    fn share() {
        run("share", true, super::share);
    }

    #[test]
    fn script_text() {
        run("script_text", false, super::script_text);
    }

    #[test]
    fn terminal_sanitiser() {
        run("terminal_sanitiser", false, super::terminal_sanitiser);
    }
}
