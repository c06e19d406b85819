//! The answers file's `[seal]` table: the witness's word that the head is
//! copied, and, when they sign on their own device, where their signature
//! comes back.
//!
//! ```toml
//! [seal]
//! head-copied = true
//! # Independent signing: the file the witness's signature is written to,
//! # relative to the statement's folder on the backup media (the default),
//! # and how long a headless run waits for it to appear.
//! witness-signature = "witness-signature.der"
//! witness-signature-wait-seconds = 600
//! ```
//!
//! A headless run has no one to press a key when the witness is back: it
//! waits for the signature file and the public key beside it to appear and
//! stop growing, and asks once; a signature that does not verify ends the
//! run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::AnswersFile;
use crate::operator::{InputError, SignatureRequest};

/// How often a headless run looks for the witness's files.
const POLL: Duration = Duration::from_millis(200);
const DEFAULT_WAIT_SECONDS: u64 = 600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SealAnswers {
    /// The witness confirms the head hash is copied onto the paper script.
    pub(super) head_copied: bool,
    #[serde(default)]
    witness_signature: Option<PathBuf>,
    #[serde(default)]
    witness_signature_wait_seconds: Option<u64>,
}

/// The lengths of the files, once each exists.
fn sizes(files: &[PathBuf]) -> Option<Vec<u64>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).ok().map(|m| m.len()))
        .collect()
}

impl AnswersFile {
    pub(super) fn brought_signature(
        &mut self,
        request: &SignatureRequest,
    ) -> Result<PathBuf, InputError> {
        if let Some(refused) = &request.refused {
            return Err(InputError::Invalid(format!(
                "the witness's signature was refused ({refused}); a headless run asks for it once"
            )));
        }
        let seal = self.seal.as_ref();
        let folder = request
            .statement
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let signature = match seal.and_then(|s| s.witness_signature.as_ref()) {
            Some(path) => folder.join(path),
            None => request.signature.clone(),
        };
        let wait = Duration::from_secs(
            seal.and_then(|s| s.witness_signature_wait_seconds)
                .unwrap_or(DEFAULT_WAIT_SECONDS),
        );
        let files = [
            signature.clone(),
            signature.with_file_name(crate::actions::WITNESS_PUBLIC_KEY),
        ];
        let started = Instant::now();
        let mut last = None;
        loop {
            let now = sizes(&files);
            // Both there, and unchanged since the last look: written.
            if now.is_some() && now == last {
                return Ok(signature);
            }
            if started.elapsed() > wait {
                return Err(InputError::Missing(format!(
                    "the witness's signature did not appear at {} (with {}) within {} s: the witness signs {} on their own device (docs/auditor.md, \"Signing the seal\")",
                    files[0].display(),
                    files[1].display(),
                    wait.as_secs(),
                    request.statement.display()
                )));
            }
            last = now;
            std::thread::sleep(POLL);
        }
    }
}
