//! Records the git commit the tool is built from, for the environment
//! attestation. The source bundle of a release (scripts/release.sh) has no
//! .git: there `git archive` has written the commit into COMMIT (the
//! export-subst attribute in .gitattributes), so the bundle builds the very
//! binary the checkout builds. COMMIT is read first, so a bundle unpacked
//! inside some other checkout still records its own commit. Builds from
//! neither record "unknown".

use std::fs;
use std::process::Command;

/// The commit `git archive` wrote into COMMIT ("<commit> <commit time>"); in
/// a checkout the file holds git's unexpanded placeholder instead.
fn archived_commit() -> Option<String> {
    let text = fs::read_to_string("COMMIT").ok()?;
    let commit = text.split_whitespace().next()?;
    (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| commit.to_string())
}

fn checkout_commit() -> Option<String> {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=COMMIT");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs");
    if let Some(commit) = archived_commit().or_else(checkout_commit) {
        println!("cargo:rustc-env=KEYCEREMONY_GIT_COMMIT={commit}");
    }
}
