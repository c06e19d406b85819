//! The shares a headless rehearsal reads: from the share files a
//! rehearsal wrote (`.share`, one per custodian), never from the answers
//! file.

use std::path::Path;

use keyceremony_script::{Participant, Secret};
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::AnswersFile;
use crate::operator::InputError;

impl AnswersFile {
    /// `custodian`'s share of `secret` from the rehearsal's share file: at
    /// a login, and when the file is read back before the shares are wiped.
    pub(super) fn rehearsal_share(
        &self,
        custodian: &Participant,
        secret: Secret,
    ) -> Result<SecretString, InputError> {
        let file = format!("{}.share", custodian.id);
        let issued = self
            .issued_shares_dir
            .as_ref()
            .map(|dir| dir.join(&file))
            .filter(|path| path.exists())
            .and_then(|path| share_in(&path, secret).ok());
        if let Some(share) = issued {
            return Ok(share);
        }
        let backup = self
            .backup_shares_dir
            .as_ref()
            .filter(|_| secret == Secret::WrapKey);
        let dir = backup.or(self.shares_dir.as_ref()).ok_or_else(|| {
            InputError::Missing(
                "a headless run reads shares only from a rehearsal's share files, and none were given".to_string(),
            )
        })?;
        share_in(&dir.join(file), secret)
    }
}

/// The share of `secret` in the rehearsal share file at `path`.
fn share_in(path: &Path, secret: Secret) -> Result<SecretString, InputError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        InputError::Missing(format!(
            "cannot read the rehearsal share file {}: {e}",
            path.display()
        ))
    })?);
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| {
        InputError::Invalid(format!(
            "{} is not a rehearsal share file: {}",
            path.display(),
            e.message()
        ))
    })?;
    match table.remove(secret.as_str()) {
        Some(toml::Value::String(share)) => Ok(SecretString::from(share)),
        _ => Err(InputError::Missing(format!(
            "{} holds no share of the {}",
            path.display(),
            secret.as_str()
        ))),
    }
}
