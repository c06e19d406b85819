//! An append-only JSON Lines file, one record a line: read whole or refused whole, appended
//! one fsynced line at a time, never rewritten. A record file with a hole in it can no longer
//! prove what it is kept to prove (that nothing is reused, that CRL numbers grow). The
//! inventory and the issued records are both such files.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

use crate::error::PolicyError;

/// Every record of the file; a missing file has none. `problem` names what is wrong with a
/// record that parses but cannot be trusted.
pub(crate) fn read_all<T: DeserializeOwned>(
    path: &Path,
    problem: impl Fn(&T) -> Option<String>,
) -> Result<Vec<T>, PolicyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PolicyError::InventoryIo {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let corrupt = |line: usize, message: String| PolicyError::InventoryCorrupt {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    // A file ending with a line feed splits into a last, empty piece; anything else there is
    // a line cut short while it was appended.
    if lines.pop().is_some_and(|last| !last.is_empty()) {
        return Err(corrupt(
            lines.len() + 1,
            "the last line is incomplete (no line feed)".into(),
        ));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let record: T =
                serde_json::from_str(line).map_err(|e| corrupt(i + 1, e.to_string()))?;
            match problem(&record) {
                Some(message) => Err(corrupt(i + 1, message)),
                None => Ok(record),
            }
        })
        .collect()
}

/// Appends `record` as one line and fsyncs it (and the folder when this creates the file).
/// Refused after a line cut short, which needs a person to look at it.
pub(crate) fn append<T: Serialize>(path: &Path, record: &T) -> Result<(), PolicyError> {
    let io = |source| PolicyError::InventoryIo {
        path: path.to_path_buf(),
        source,
    };
    let mut line =
        serde_json::to_string(record).map_err(|e| PolicyError::InvalidEntry(e.to_string()))?;
    line.push('\n');
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    let mut existing = Vec::new();
    file.read_to_end(&mut existing).map_err(io)?;
    if existing.last().is_some_and(|&b| b != b'\n') {
        return Err(PolicyError::InventoryCorrupt {
            path: path.to_path_buf(),
            line: existing.iter().filter(|&&b| b == b'\n').count() + 1,
            message: "the last line is incomplete (no line feed); nothing was appended".into(),
        });
    }
    // One write of the whole line: with O_APPEND it lands after everything in the file.
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    if created {
        sync_folder(path).map_err(io)?;
    }
    Ok(())
}

/// Makes a new file's directory entry durable, as the file's own fsync does not.
pub(crate) fn sync_folder(path: &Path) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    File::open(folder)?.sync_all()
}
