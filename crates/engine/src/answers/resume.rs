//! The answers file's `[resume]` table: what the room says when the output
//! folder holds an interrupted ceremony.
//!
//! ```toml
//! [resume]
//! choice = "resume"             # or "abort", with reason = "..."
//! custodians = ["carol", "dave"]
//! # custodian -> the bag opened and the new one, for that activation.
//! bags.carol = { opened = "TEB-1002", new = "TEB-2002" }
//! # The last log head the witness copied onto the paper script (at an
//! # act's end, or when a run stopped), or "none" if none was shown yet.
//! head = "3f2a 9c41 ..."
//! # Only when the module, binary or token changed since the first run:
//! # the witness accepts it as an exception, with this remark.
//! environment-change = "module reinstalled from the same package"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::AnswersFile;
use crate::operator::{InputError, ResumeChoice};
use crate::resume::Interrupted;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ResumeAnswers {
    choice: ResumeAnswer,
    #[serde(default)]
    reason: Option<String>,
    /// Custodians who activate the token again on resuming, or to seal an
    /// aborted log.
    #[serde(default)]
    pub(super) custodians: Vec<String>,
    /// custodian -> "opened" and "new": the bags of that activation.
    #[serde(default)]
    pub(super) bags: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    head: Option<String>,
    #[serde(default)]
    pub(super) environment_change: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum ResumeAnswer {
    Resume,
    Abort,
}

impl AnswersFile {
    pub(super) fn resume_choice(
        &mut self,
        interrupted: &Interrupted,
    ) -> Result<ResumeChoice, InputError> {
        let resume = self.resume.as_ref().ok_or_else(|| {
            self.missing(format!(
                "[resume] choice = \"resume\" or \"abort\": the output folder holds ceremony '{}', interrupted after {} entries ({})",
                interrupted.ceremony_id, interrupted.entries, interrupted.last
            ))
        })?;
        match resume.choice {
            ResumeAnswer::Resume => {
                self.resuming = true;
                Ok(ResumeChoice::Resume)
            }
            ResumeAnswer::Abort => Ok(ResumeChoice::Abort {
                reason: resume
                    .reason
                    .clone()
                    .ok_or_else(|| self.missing("[resume] reason for the abort".to_string()))?,
            }),
        }
    }

    pub(super) fn resume_head(&self) -> Result<String, InputError> {
        self.resume
            .as_ref()
            .and_then(|r| r.head.clone())
            .ok_or_else(|| {
                self.missing(
                    "[resume] head: the last log head the witness copied onto the paper script (64 hex digits), or \"none\" if no head was shown yet".to_string(),
                )
            })
    }
}
