//! The pipeline, as the library offers it. Every front end (the `coder` and `coder-step`
//! command lines, an editor, tests) calls these and renders what they return:
//!
//! ```text
//! check(paths, targets)      collect the specs → open each repository → check each spec
//!                            (load → parse → convert → checks → lower → target limits)
//!   .report_drift()          generated files of any target that no longer match (C0302)
//! plan(&session, …)          each workflow's targets → their files (and what is skipped)
//!   compare(&planned) / write(&plan)   drift, or atomic writes of what changed
//!   mark_generated(&plan)    `.gitattributes` lines for the generated files (`--gitattributes`)
//! check_text(…)              one spec from text in memory, for an editor
//! load_workflow(spec, hash)  one checked, lowered workflow for `coder-step`
//! ```

mod check;
mod compile;
mod gitattributes;

use std::path::{Path, PathBuf};

pub use check::{CheckedFile, ReadError, Settings, check_bytes, check_inputs};
pub use compile::{
    Orphan, Plan, Planned, Skipped, WrittenFile, compare, describe, describe_orphan, notes, plan,
    remove_orphans, write,
};
pub use gitattributes::{mark_generated, with_generated};

use crate::diag::FileReport;
use crate::ir::Workflow;
use crate::target::{self, Target};
use crate::workspace::{self, Repository, SpecInput};

/// Why a stage could not run at all: a usage or I/O problem (exit 2), not a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Specs checked together. Each is checked against the repository that holds it: its
/// configuration, its remote, its other specs.
#[derive(Debug)]
pub struct Session {
    pub repositories: Vec<Repository>,
    pub specs: Vec<CheckedSpec>,
    /// The working directory paths are shown from.
    pub cwd: PathBuf,
}

/// One spec of a session.
#[derive(Debug)]
pub struct CheckedSpec {
    pub input: SpecInput,
    /// Index into [`Session::repositories`].
    pub repository: usize,
    pub checked: CheckedFile,
}

impl CheckedSpec {
    /// The lowered workflow, for a spec without errors.
    pub fn workflow(&self) -> Option<&Workflow> {
        self.checked.workflow.as_ref()
    }
}

impl Session {
    /// Every report: the configurations' first, then each spec's.
    pub fn reports(&self) -> Vec<FileReport> {
        self.repositories
            .iter()
            .filter_map(|r| r.config_report.clone())
            .chain(self.specs.iter().map(|s| s.checked.report.clone()))
            .collect()
    }

    /// Whether any spec or configuration has an error.
    pub fn has_errors(&self) -> bool {
        self.repositories
            .iter()
            .filter_map(|r| r.config_report.as_ref())
            .chain(self.specs.iter().map(|s| &s.checked.report))
            .any(|r| r.errors() > 0)
    }

    pub fn repository_of(&self, spec: &CheckedSpec) -> &Repository {
        &self.repositories[spec.repository]
    }

    /// Add a diagnostic for every generated file, of any target, that exists and no longer
    /// matches its spec (`coder check`; a spec never compiled is not an error).
    pub fn report_drift(&mut self) {
        compile::report_drift(self);
    }
}

/// Collect the specs `paths` name (or discover them), open each repository, and check every
/// spec for the targets asked (none: each spec's own).
pub fn check(paths: &[PathBuf], targets: &[&'static dyn Target]) -> Result<Session, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error(format!("cannot read the working directory: {e}")))?;
    let inputs = workspace::collect_specs(paths, &cwd).map_err(|e| Error(e.0))?;
    let mut repositories: Vec<Repository> = Vec::new();
    let mut members: Vec<Vec<SpecInput>> = Vec::new();
    let mut repository_of = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let dir = cwd.join(input.path.parent().unwrap_or(Path::new("")));
        let root = workspace::find_repo_root(&dir).unwrap_or_else(|| cwd.clone());
        let index = match repositories.iter().position(|r| r.root == root) {
            Some(index) => index,
            None => {
                repositories.push(Repository::open(root, &cwd, &target::names()));
                members.push(Vec::new());
                repositories.len() - 1
            }
        };
        members[index].push(input.clone());
        repository_of.push(index);
    }
    let mut checked: Vec<std::vec::IntoIter<CheckedFile>> = Vec::new();
    for (repository, group) in repositories.iter().zip(&members) {
        let settings = settings_for(repository, targets, &cwd);
        let results = check_inputs(group, &settings)
            .map_err(|err| Error(format!("cannot read `{}`: {}", err.path, err.error)))?;
        checked.push(results.into_iter());
    }
    let mut specs = Vec::with_capacity(inputs.len());
    for (input, repository) in inputs.into_iter().zip(repository_of) {
        let Some(file) = checked[repository].next() else {
            return Err(Error(format!("`{}` was not checked", input.display)));
        };
        specs.push(CheckedSpec {
            input,
            repository,
            checked: file,
        });
    }
    Ok(Session {
        repositories,
        specs,
        cwd,
    })
}

/// What checking a spec of `repository` needs.
pub fn settings_for(
    repository: &Repository,
    targets: &[&'static dyn Target],
    cwd: &Path,
) -> Settings {
    Settings {
        config: repository.config.clone(),
        targets: targets.to_vec(),
        git: repository.git.clone(),
        root: repository.root.clone(),
        cwd: cwd.to_path_buf(),
    }
}

/// Check one spec from text in memory (an editor's unsaved buffer) as if it were at `path`
/// in `repository`.
pub fn check_text(
    path: &Path,
    text: &str,
    repository: &Repository,
    targets: &[&'static dyn Target],
) -> CheckedFile {
    let cwd = repository.root.clone();
    let input = SpecInput {
        path: path.to_path_buf(),
        display: repository.relative(path, &cwd),
    };
    let settings = settings_for(repository, targets, &cwd);
    check_bytes(&input, text.as_bytes().to_vec(), &settings)
}

/// A workflow ready for `coder-step`: checked without errors, lowered, and the same spec its
/// generated files were compiled from.
#[derive(Debug)]
pub struct LoadedWorkflow {
    pub workflow: Workflow,
    pub repository: Repository,
    pub path: PathBuf,
}

/// Why a workflow cannot run.
#[derive(Debug)]
pub enum LoadError {
    /// Collecting or reading failed (exit 2).
    Usage(String),
    /// The spec or configuration has errors: the reports say which (exit 1).
    Invalid(Vec<FileReport>),
    /// The spec changed since its files were generated (exit 1).
    Drifted(String),
}

/// Load the spec at `path` for a run: checked, lowered, and (when `source_hash` is given, as
/// generated CI files do) the very spec they were compiled from.
pub fn load_workflow(path: &Path, source_hash: Option<&str>) -> Result<LoadedWorkflow, LoadError> {
    let session =
        check(std::slice::from_ref(&path.to_path_buf()), &[]).map_err(|e| LoadError::Usage(e.0))?;
    if session.has_errors() {
        return Err(LoadError::Invalid(session.reports()));
    }
    let Session {
        mut repositories,
        specs,
        ..
    } = session;
    let Some(spec) = specs.into_iter().next() else {
        return Err(LoadError::Usage(format!(
            "`{}` is not a workflow spec",
            path.display()
        )));
    };
    let Some(workflow) = spec.checked.workflow else {
        return Err(LoadError::Usage(format!(
            "`{}` is not a workflow spec",
            path.display()
        )));
    };
    if let Some(expected) = source_hash.filter(|h| *h != workflow.source_hash) {
        return Err(LoadError::Drifted(format!(
            "{} ({})",
            crate::protocol::drift_message(expected, &workflow.source_hash),
            spec.input.path.display()
        )));
    }
    Ok(LoadedWorkflow {
        workflow,
        repository: repositories.swap_remove(spec.repository),
        path: spec.input.path,
    })
}
