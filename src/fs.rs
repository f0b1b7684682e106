//! Whole-file writes for the crate: a file is replaced through a temporary file in the same
//! folder and a rename, so a reader, or a process killed midway, never sees half a file.
//!
//! Two durabilities share that one implementation: [`atomic_write`] renames without syncing
//! (the runner's run directory, written many times per step), [`atomic_write_synced`] flushes
//! the new content to disk before the rename (files committed to a repository, through
//! [`write_if_changed`]).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be written: which path, and what failed there.
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    /// The folder could not be created (rather than the file written).
    pub creating_folder: bool,
    pub source: std::io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.creating_folder {
            "create"
        } else {
            "write"
        };
        write!(f, "cannot {verb} {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<WriteError> for String {
    fn from(error: WriteError) -> String {
        error.to_string()
    }
}

/// Whether the new content reaches the disk before the rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Durability {
    /// The rename alone: survives a killed process, not a power loss.
    Renamed,
    /// `fsync` before the rename: survives a power loss too.
    Synced,
}

/// Replace `path` with `contents`, atomically but without an fsync.
///
/// No fsync: the rename alone keeps a killed runner from leaving half a file, which is what
/// the run record must survive; a machine that loses power loses the CI job (and its run
/// directory) anyway, and a sync per write cost more than the rest of a step.
pub fn atomic_write(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    replace(path, contents, Durability::Renamed)
}

/// Replace `path` with `contents`, atomically, the content flushed to disk before the rename.
pub fn atomic_write_synced(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    replace(path, contents, Durability::Synced)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Unchanged,
    Written,
}

/// Write `contents` to `path` unless it already holds exactly that, through
/// [`atomic_write_synced`] (generated files end up in commits).
pub fn write_if_changed(path: &Path, contents: &str) -> std::io::Result<Written> {
    if std::fs::read(path).is_ok_and(|old| old == contents.as_bytes()) {
        return Ok(Written::Unchanged);
    }
    atomic_write_synced(path, contents.as_bytes())
        .map(|()| Written::Written)
        .map_err(|e| e.source)
}

fn replace(path: &Path, contents: &[u8], durability: Durability) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        creating_folder: true,
        source,
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("coder");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|source| WriteError {
        path: path.to_path_buf(),
        creating_folder: false,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_changes_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deep/coder-a.yml");
        assert_eq!(
            write_if_changed(&path, "a\n").expect("write"),
            Written::Written
        );
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(
            write_if_changed(&path, "a\n").expect("write"),
            Written::Unchanged
        );
        assert_eq!(
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime"),
            modified
        );
        assert_eq!(
            write_if_changed(&path, "b\n").expect("write"),
            Written::Written
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "b\n");
        let entries = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .count();
        assert_eq!(entries, 1, "no temporary file left behind");
    }

    #[test]
    fn replaces_and_names_the_path_it_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run/run.json");
        atomic_write(&path, b"one").expect("write");
        atomic_write(&path, b"two").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let blocked = path.join("below-a-file");
        let error = atomic_write(&blocked, b"x").expect_err("a file is no folder");
        assert!(error.creating_folder);
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot create {}", path.display())),
            "{error}"
        );
    }
}
