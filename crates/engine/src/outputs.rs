//! The ceremony's output folder. Files are created once (O_CREAT|O_EXCL)
//! and synced before they are logged, so the tool never writes over an
//! earlier ceremony's output and the log never names a file that is not
//! on disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "the output folder {0} is not empty: every ceremony writes to a new or empty folder, so earlier output is never overwritten; choose another --out"
    )]
    NotEmpty(PathBuf),
    #[error("{path} exists and is not a folder; choose another --out")]
    NotADirectory { path: PathBuf },
    #[error("cannot use the output folder {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path} is a symbolic link: the tool never follows a link in an output folder, so that it never touches anything outside it. Nothing was written there; keep the link as evidence for the auditor if nobody in the room made it, and remove it to go on"
    )]
    Symlink { path: PathBuf },
    #[error(
        "cannot write {path}: {source}. The partial file was removed and nothing was recorded; free space on (or fix) the medium, then run the same command on the same folder to go on"
    )]
    Unwritten { path: PathBuf, source: io::Error },
    #[error(
        "{path} exists already: the tool never writes over a file. Nothing was written or recorded; move it out of the output folder (keep it for the auditor if nobody in the room put it there) and run the same command again"
    )]
    Exists { path: PathBuf },
    #[error(
        "the backup folder {path} does not exist: mount the removable media that receives the sealed log's copy there (CPS 5.4.5), or name its folder with --backup"
    )]
    BackupMissing { path: PathBuf },
    #[error(
        "the backup folder {backup} is on the same disk as the output folder {out}: the sealed log's copy goes to other, removable media (CPS 5.4.5); mount it and name its folder with --backup"
    )]
    BackupSameDisk { backup: PathBuf, out: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `dir` is absent or an empty folder; writes nothing.
pub fn check_usable(dir: &Path) -> Result<(), OutputError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
        Ok(meta) if !meta.is_dir() => Err(OutputError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Ok(_) => {
            let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
            if entries.next().is_some() {
                Err(OutputError::NotEmpty(dir.to_path_buf()))
            } else {
                Ok(())
            }
        }
    }
}

/// Checks, before the ceremony begins, the folder the sealed log's copy will
/// go to: it must exist (removable media mounted, not a folder the copy
/// would create on the terminal's own disk), and for a production ceremony
/// be on another disk than the output folder. Writes nothing.
pub fn check_backup(backup: &Path, out: &Path, production: bool) -> Result<(), OutputError> {
    use std::os::unix::fs::MetadataExt;
    let meta = match fs::metadata(backup) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(OutputError::BackupMissing {
                path: backup.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(backup)(e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(OutputError::NotADirectory {
                path: backup.to_path_buf(),
            });
        }
        Ok(meta) => meta,
    };
    if !production {
        return Ok(());
    }
    // The output folder may not exist yet: its nearest existing ancestor is
    // on the disk it will be made on.
    let existing = out
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    let out_meta = fs::metadata(existing).map_err(io_err(existing))?;
    if out_meta.dev() == meta.dev() {
        return Err(OutputError::BackupSameDisk {
            backup: backup.to_path_buf(),
            out: out.to_path_buf(),
        });
    }
    Ok(())
}

/// A file as written: where, and its SHA-256.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub relative: String,
    pub sha256: [u8; 32],
}

/// The name a file is written under until it is complete and synced: a
/// crash or a full disk leaves this name, never a partial file under the
/// real one.
fn partial_name(name: &std::ffi::OsStr) -> String {
    format!(".{}.partial", name.to_string_lossy())
}

/// A folder this run makes, named `base`, or `base-2`, `base-3`... when
/// that name is taken: never one that exists (another run's, or a link an
/// intruder left there).
pub fn create_unique_folder(parent: &Path, base: &str) -> Result<PathBuf, OutputError> {
    for n in 1u32.. {
        let path = parent.join(if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        });
        match fs::create_dir(&path) {
            Ok(()) => {
                File::open(parent)
                    .and_then(|d| d.sync_all())
                    .map_err(io_err(parent))?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
    }
    unreachable!("u32 names run out only after four billion folders")
}

#[derive(Debug)]
pub struct OutDir {
    root: PathBuf,
}

impl OutDir {
    /// Creates the folder (checked empty beforehand by [`check_usable`]).
    pub fn create(root: &Path) -> Result<OutDir, OutputError> {
        check_usable(root)?;
        fs::create_dir_all(root).map_err(io_err(root))?;
        Ok(OutDir {
            root: root.to_path_buf(),
        })
    }

    /// An existing output folder, for resuming the ceremony whose log it holds.
    pub fn open(root: &Path) -> Result<OutDir, OutputError> {
        if root.is_dir() {
            Ok(OutDir {
                root: root.to_path_buf(),
            })
        } else {
            Err(OutputError::NotADirectory {
                path: root.to_path_buf(),
            })
        }
    }

    /// A folder made with [`create_unique_folder`], for the backup copy.
    pub fn new_unique(parent: &Path, base: &str) -> Result<OutDir, OutputError> {
        Ok(OutDir {
            root: create_unique_folder(parent, base)?,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes a new file; refuses one that exists.
    pub fn write_new(&self, relative: &str, bytes: &[u8]) -> Result<Written, OutputError> {
        self.write(relative, &mut &bytes[..], 0o644, false)
    }

    /// Writes a new file only its owner may read: rehearsal shares, and the
    /// log's backup copy (CPS 5.4.4).
    pub fn write_private(&self, relative: &str, bytes: &[u8]) -> Result<Written, OutputError> {
        self.write(relative, &mut &bytes[..], 0o600, false)
    }

    /// Copies `source` into a new file only its owner may read, a block at
    /// a time, so that a copy of the log takes the same memory however long
    /// the log is. The SHA-256 is that of the bytes read from `source`.
    pub fn copy_private(&self, relative: &str, source: &Path) -> Result<Written, OutputError> {
        let mut from = File::open(source).map_err(io_err(source))?;
        self.write(relative, &mut from, 0o600, false)
    }

    /// [`OutDir::copy_private`] in place of the file there: the backup copy
    /// of the log, completed with its seal.
    pub fn copy_private_over(&self, relative: &str, source: &Path) -> Result<Written, OutputError> {
        let mut from = File::open(source).map_err(io_err(source))?;
        self.write(relative, &mut from, 0o600, true)
    }

    /// The folder that holds `relative`, made where missing; refuses a
    /// symbolic link on the way, so that nothing is written outside the
    /// output folder (a link to /etc where `certs/` belongs).
    fn folder_of(&self, relative: &str) -> Result<PathBuf, OutputError> {
        let mut dir = self.root.clone();
        let parent = Path::new(relative).parent().unwrap_or(Path::new(""));
        for part in parent.components() {
            let next = dir.join(part);
            match fs::symlink_metadata(&next) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(OutputError::Symlink { path: next });
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(OutputError::NotADirectory { path: next }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&next).map_err(io_err(&next))?;
                    File::open(&dir)
                        .and_then(|d| d.sync_all())
                        .map_err(io_err(&dir))?;
                }
                Err(e) => return Err(io_err(&next)(e)),
            }
            dir = next;
        }
        Ok(dir)
    }

    /// Reads a file of the folder without following a symbolic link on the
    /// way to it.
    pub fn read(&self, relative: &str) -> Result<Vec<u8>, OutputError> {
        let path = self.path(relative);
        let mut at = self.root.clone();
        for part in Path::new(relative).components() {
            at.push(part);
            if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(OutputError::Symlink { path: at });
            }
        }
        fs::read(&path).map_err(io_err(&path))
    }

    /// Writes the whole file under a temporary name, a block at a time from
    /// `from`, syncs it, and only then renames it into place and syncs the
    /// folder, so that the file is either absent or complete, and a record
    /// of it is never ahead of the disk. `replace`: the file may exist
    /// already (a file that collects lines over several steps, rewritten
    /// whole).
    fn write(
        &self,
        relative: &str,
        from: &mut dyn Read,
        mode: u32,
        replace: bool,
    ) -> Result<Written, OutputError> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = self.folder_of(relative)?;
        let path = self.path(relative);
        let name = path
            .file_name()
            .ok_or_else(|| OutputError::NotADirectory { path: path.clone() })?;
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(OutputError::Symlink { path });
            }
            Ok(_) if !replace => return Err(OutputError::Exists { path }),
            _ => {}
        }
        let partial = dir.join(partial_name(name));
        // Left by a write that a crash cut short: this tool's, and never
        // recorded. (Removing a link removes the link, not its target.)
        let _ = fs::remove_file(&partial);
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&partial)
            .and_then(|mut file| {
                let sha256 = each_block(from, |block| file.write_all(block))?;
                file.sync_all()?;
                Ok(sha256)
            });
        let sha256 = match written.and_then(|sha256| fs::rename(&partial, &path).map(|()| sha256)) {
            Ok(sha256) => sha256,
            Err(source) => {
                let _ = fs::remove_file(&partial);
                return Err(OutputError::Unwritten { path, source });
            }
        };
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))?;
        Ok(Written {
            relative: relative.to_string(),
            sha256,
            path,
        })
    }

    /// Adds lines to a file that collects them over several steps
    /// (`fingerprints.txt`): the whole new content is written as
    /// [`OutDir::write_new`] writes a file, so that the file always holds
    /// whole records. Returns the SHA-256 of the whole file.
    pub fn append(&self, relative: &str, bytes: &[u8]) -> Result<Written, OutputError> {
        let mut content = match self.read(relative) {
            Ok(content) => content,
            Err(OutputError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        content.extend_from_slice(bytes);
        self.write(relative, &mut &content[..], 0o644, true)
    }
}

/// Reads `from` to its end a block at a time, handing each block to `use_block`;
/// returns the SHA-256 of everything read.
fn each_block(
    from: &mut dyn Read,
    mut use_block: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<[u8; 32]> {
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => return Ok(hash.finalize().into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hash.update(&buffer[..n]);
        use_block(&buffer[..n])?;
    }
}

/// SHA-256 of a file, read a block at a time: hashing the tool's binary,
/// the module or a log does not load it whole.
pub fn file_sha256(path: &Path) -> io::Result<[u8; 32]> {
    each_block(&mut File::open(path)?, |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backup_media_is_checked_before_the_ceremony() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let media = dir.path().join("media");

        let err = check_backup(&media, &out, false).unwrap_err();
        assert!(matches!(err, OutputError::BackupMissing { .. }), "{err}");
        assert!(err.to_string().contains("CPS 5.4.5"), "{err}");
        fs::write(&media, "not a folder").unwrap();
        let err = check_backup(&media, &out, false).unwrap_err();
        assert!(matches!(err, OutputError::NotADirectory { .. }), "{err}");
        fs::remove_file(&media).unwrap();
        fs::create_dir(&media).unwrap();

        // A rehearsal may keep its copy on the same disk; production may not.
        check_backup(&media, &out, false).unwrap();
        let err = check_backup(&media, &out, true).unwrap_err();
        assert!(matches!(err, OutputError::BackupSameDisk { .. }), "{err}");
        assert!(!out.exists(), "the check wrote something");
    }

    #[test]
    fn a_production_backup_on_other_media_is_accepted() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        // /dev/shm stands in for other media where it is another filesystem.
        let other = Path::new("/dev/shm");
        let dev = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
        if dev(other).is_none() || dev(other) == dev(dir.path()) {
            eprintln!("skipped: /dev/shm is not another filesystem here");
            return;
        }
        check_backup(other, &dir.path().join("out"), true).unwrap();
    }

    #[test]
    fn nothing_is_written_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let out = OutDir::create(&dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink(&outside, out.path("certs")).unwrap();
        let err = out.write_new("certs/root.der", b"der").unwrap_err();
        assert!(matches!(err, OutputError::Symlink { .. }), "{err}");
        std::os::unix::fs::symlink(outside.join("f"), out.path("fingerprints.txt")).unwrap();
        let err = out.append("fingerprints.txt", b"line\n").unwrap_err();
        assert!(matches!(err, OutputError::Symlink { .. }), "{err}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn a_file_is_written_whole_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::create(&dir.path().join("out")).unwrap();
        let written = out.write_new("keys/a.pem", b"one").unwrap();
        assert_eq!(fs::read(&written.path).unwrap(), b"one");
        let err = out.write_new("keys/a.pem", b"two").unwrap_err();
        assert!(matches!(err, OutputError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&written.path).unwrap(), b"one");
        out.append("fingerprints.txt", b"a\n").unwrap();
        let all = out.append("fingerprints.txt", b"b\n").unwrap();
        assert_eq!(all.sha256, <[u8; 32]>::from(Sha256::digest(b"a\nb\n")));
        let names: Vec<_> = fs::read_dir(out.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.to_string_lossy().ends_with(".partial"))
        );
    }

    #[test]
    fn new_folders_never_take_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let first = create_unique_folder(dir.path(), "root-2026").unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("root-2026-2")).unwrap();
        let second = create_unique_folder(dir.path(), "root-2026").unwrap();
        assert_eq!(first, dir.path().join("root-2026"));
        assert_eq!(second, dir.path().join("root-2026-3"));
    }

    #[test]
    fn a_copy_is_the_source_byte_for_byte_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Longer than one block, so that the blocks are joined in order.
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let source = dir.path().join("source.log");
        fs::write(&source, &content).unwrap();
        let out = OutDir::create(&dir.path().join("copy")).unwrap();

        let copy = out.copy_private("ceremony.log", &source).unwrap();
        assert_eq!(fs::read(&copy.path).unwrap(), content);
        assert_eq!(copy.sha256, <[u8; 32]>::from(Sha256::digest(&content)));
        assert_eq!(file_sha256(&copy.path).unwrap(), copy.sha256);
        let mode = fs::metadata(&copy.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let again = out.copy_private("ceremony.log", &source).unwrap_err();
        assert!(matches!(again, OutputError::Exists { .. }), "{again}");
    }
}
