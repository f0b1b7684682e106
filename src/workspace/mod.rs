//! The workspace around the specs: the enclosing git repository, what its remote says, and
//! coder's configuration (`.coder/config.toml` or `[workspace.metadata.coder]` in `Cargo.toml`).

pub mod config;
pub mod git;

use std::path::{Path, PathBuf};

pub use config::Config;

use crate::diag::{FileReport, SourceFile};

/// A spec file to check: where it is, and how to name it in diagnostics.
#[derive(Clone, Debug)]
pub struct SpecInput {
    pub path: PathBuf,
    pub display: String,
}

/// The repository around some specs: its root, what git says, and coder's configuration.
#[derive(Clone, Debug)]
pub struct Repository {
    /// The repository root (or the working directory outside one).
    pub root: PathBuf,
    pub git: git::GitInfo,
    pub config: Config,
    /// The configuration file's problem, reported against it (the defaults apply meanwhile).
    pub config_report: Option<FileReport>,
}

impl Repository {
    /// Read the repository at `root`: its git facts and configuration. `targets` are the
    /// target names the configuration's `targets` may use; `cwd` is where paths are shown
    /// from.
    pub fn open(root: PathBuf, cwd: &Path, targets: &[&str]) -> Repository {
        let (config, config_problem) = config::load(&root, targets);
        let mut git = git::read(&root);
        git.apply_hosts(&config);
        let config_report = config_problem.map(|(file, diag)| FileReport {
            source: SourceFile::new(display_path(&root.join(&file.path), cwd), file.text.clone()),
            diagnostics: vec![diag],
        });
        Repository {
            root,
            git,
            config,
            config_report,
        }
    }

    /// How the repository names `path`: relative to its root, whatever the working
    /// directory (generated files and `coder-step` name specs this way).
    pub fn relative(&self, path: &Path, cwd: &Path) -> String {
        display_path(&cwd.join(path), &self.root)
    }
}

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
pub fn collect_specs(paths: &[PathBuf], cwd: &Path) -> Result<Vec<SpecInput>, CollectError> {
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
    // Paths the user named are shown as named (rustc does the same); discovered ones relative
    // to the working directory.
    let discovered = paths.is_empty();
    let display = |path: &Path| {
        if discovered {
            display_path(path, cwd)
        } else {
            let named: PathBuf = path
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            named.to_string_lossy().replace('\\', "/")
        }
    };
    let mut inputs: Vec<SpecInput> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |path: PathBuf, inputs: &mut Vec<SpecInput>| {
        // The same file named twice (a folder and a file in it) is checked once.
        let identity = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.insert(identity) {
            inputs.push(SpecInput {
                display: display(&path),
                path,
            });
        }
    };
    for root in &roots {
        let meta = std::fs::metadata(root)
            .map_err(|e| CollectError(format!("cannot read `{}`: {e}", root.display())))?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(root)
                .map_err(|e| CollectError(format!("cannot read `{}`: {e}", root.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_spec_name(p))
                .collect();
            if found.is_empty() {
                return Err(CollectError(format!(
                    "no specs (`*.yml`, `*.yaml`, `*.json`) in `{}`",
                    root.display()
                )));
            }
            found.sort();
            for path in found {
                // A dangling link or a folder named like a spec is as unreadable here as when
                // it is named on the command line.
                check_regular_file(&path)?;
                add(path, &mut inputs);
            }
        } else {
            check_regular_file(root)?;
            add(root.clone(), &mut inputs);
        }
    }
    Ok(inputs)
}

/// `*.yml`, `*.yaml` or `*.json` (any case), not hidden.
fn is_spec_name(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && matches!(extension.as_deref(), Some("yml" | "yaml" | "json"))
}

/// Only regular files are read: a FIFO or device would block or never end.
fn check_regular_file(path: &Path) -> Result<(), CollectError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CollectError(format!("cannot read `{}`: {e}", path.display())))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(CollectError(format!(
            "cannot read `{}`: not a regular file",
            path.display()
        )))
    }
}

/// How to show `path` to a user in `cwd`: relative to it (with `..` where needed) when both are
/// absolute or both relative, else as given.
pub fn display_path(path: &Path, cwd: &Path) -> String {
    use std::path::Component;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    fn clean(p: &Path) -> Vec<Component<'_>> {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    }
    let (target, base) = (clean(&absolute), clean(cwd));
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    // Sharing no more than `/` with the working directory: show the path as given.
    let shown = if common < 2
        || target[common..]
            .iter()
            .any(|c| matches!(c, Component::ParentDir))
    {
        path.to_path_buf()
    } else {
        let mut rel = PathBuf::new();
        for _ in common..base.len() {
            rel.push("..");
        }
        target[common..].iter().for_each(|c| rel.push(c));
        rel
    };
    shown.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_relative_to_the_working_directory() {
        let cwd = Path::new("/repo/src");
        assert_eq!(
            display_path(Path::new("/repo/.coder/workflows/a.yml"), cwd),
            "../.coder/workflows/a.yml"
        );
        assert_eq!(display_path(Path::new("x/a.yml"), cwd), "x/a.yml");
        assert_eq!(display_path(Path::new("./x/a.yml"), cwd), "x/a.yml");
        assert_eq!(display_path(Path::new("/repo/src/a.yml"), cwd), "a.yml");
    }
}
