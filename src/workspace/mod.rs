//! The workspace around the specs: the enclosing git repository, what its remote says, and
//! coder's configuration (`.coder/config.toml` or `[workspace.metadata.coder]` in `Cargo.toml`).

pub mod config;
pub mod git;

use std::path::{Path, PathBuf};

pub use config::Config;

/// Where workflow specs live in a repository.
pub const WORKFLOWS_DIR: &str = ".coder/workflows";

/// The repository root enclosing `start`: the nearest ancestor with a `.git` entry.
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    let start = if start.is_absolute() {
        start.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(start)
    };
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Why no specs could be collected: a usage error (exit 2).
#[derive(Debug)]
pub struct CollectError(pub String);

/// The spec files named by `paths` (files, or folders whose `*.yml`, `*.yaml` and `*.json`
/// files are specs), or of `.coder/workflows/` in the enclosing repository when none are given.
pub fn collect_specs(
    paths: &[PathBuf],
    cwd: &Path,
) -> Result<Vec<crate::driver::SpecInput>, CollectError> {
    use crate::driver::SpecInput;
    use crate::parse::SpecFormat;

    let roots: Vec<PathBuf> = if paths.is_empty() {
        let root = find_repo_root(cwd).ok_or_else(|| {
            CollectError(
                "not inside a git repository: name the spec files or folders to check".to_string(),
            )
        })?;
        let dir = root.join(WORKFLOWS_DIR);
        if !dir.is_dir() {
            return Err(CollectError(format!(
                "no `{WORKFLOWS_DIR}/` folder in {}: create it and put specs there, or name the files to check",
                root.display()
            )));
        }
        vec![dir]
    } else {
        paths.to_vec()
    };
    let display = |path: &Path| {
        let shown = path.strip_prefix(cwd).unwrap_or(path);
        shown.to_string_lossy().replace('\\', "/")
    };
    let mut inputs = Vec::new();
    for root in &roots {
        let meta = std::fs::metadata(root)
            .map_err(|e| CollectError(format!("cannot read `{}`: {e}", root.display())))?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(root)
                .map_err(|e| CollectError(format!("cannot read `{}`: {e}", root.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    SpecFormat::from_path(p).is_some()
                        && p.is_file()
                        && !p
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            if found.is_empty() {
                return Err(CollectError(format!(
                    "no specs (`*.yml`, `*.yaml`, `*.json`) in `{}`",
                    root.display()
                )));
            }
            found.sort();
            inputs.extend(found.into_iter().map(|path| SpecInput {
                display: display(&path),
                path,
            }));
        } else {
            inputs.push(SpecInput {
                display: display(root),
                path: root.clone(),
            });
        }
    }
    Ok(inputs)
}
