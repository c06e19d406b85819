//! The output folder as it is on disk: every file, its size and SHA-256,
//! computed here from the bytes, whatever the log says.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{REHEARSAL_SHARES, REPORT_HTML, REPORT_MARKDOWN, ReportError};

#[derive(Debug, Clone)]
pub(crate) struct FileFact {
    /// Relative to the output folder, `/`-separated as the log names files.
    pub(crate) path: String,
    pub(crate) kind: FileKind,
}

#[derive(Debug, Clone)]
pub(crate) enum FileKind {
    Regular {
        size: u64,
        sha256: [u8; 32],
    },
    /// Listed so that the auditor sees it, but not read: a symbolic link
    /// (never followed out of the folder), a socket, a device.
    Other(&'static str),
    Unreadable(String),
}

/// Every entry under `dir`, sorted by path, except the rehearsal shares
/// (activation data) and the report files themselves.
pub(crate) fn walk(dir: &Path) -> Result<Vec<FileFact>, ReportError> {
    let mut found = Vec::new();
    walk_into(dir, "", &mut found)?;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn walk_into(dir: &Path, prefix: &str, found: &mut Vec<FileFact>) -> Result<(), ReportError> {
    let read_error = |source| ReportError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        if prefix.is_empty()
            && (name == REHEARSAL_SHARES || name == REPORT_HTML || name == REPORT_MARKDOWN)
        {
            continue;
        }
        let path = entry.path();
        // symlink_metadata: a link is reported as a link, never followed.
        let kind = match path.symlink_metadata() {
            Err(e) => FileKind::Unreadable(e.to_string()),
            Ok(meta) if meta.is_dir() => {
                walk_into(&path, &format!("{relative}/"), found)?;
                continue;
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                FileKind::Other("symbolic link (not followed)")
            }
            Ok(meta) if !meta.is_file() => FileKind::Other("not a regular file"),
            Ok(_) => match hash_file(&path) {
                Ok((size, sha256)) => FileKind::Regular { size, sha256 },
                Err(e) => FileKind::Unreadable(e.to_string()),
            },
        };
        found.push(FileFact {
            path: relative,
            kind,
        });
    }
    Ok(())
}

/// Size and SHA-256, streaming: a log may be large.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<(u64, [u8; 32])> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize().into()))
}
