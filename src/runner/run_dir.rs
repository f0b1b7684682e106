//! Where a run's directory is, and what lies in it.
//!
//! The directory is `$CODER_RUN_DIR`, or else `<runs>/<run-id>` where the run id is
//! `$CODER_RUN_ID`, the CI run's, or (locally) the last run `begin` started for the workflow,
//! which `<runs>/<workflow_id>.latest` names. `<runs>` is `$CODER_RUNS_DIR` (a systemd unit's
//! state directory, `%S/coder/<workflow_id>`), else `<state>/coder/runs` where `<state>` is
//! `$XDG_STATE_HOME` or `~/.local/state`.
//!
//! `coder runs` and `coder approve` look for runs in every `coder/<folder>/` of the user's
//! state directory (local runs, user units) and of the system's (`/var/lib`, system units;
//! `$CODER_SYSTEM_STATE_DIR` instead, for tests and unusual hosts).

use std::path::{Path, PathBuf};

use super::Failure;
use super::env::non_empty_env;
use super::record::{RunRecord, Status};
use crate::protocol::env;

/// How many runs of a workflow a runs directory keeps: a month of a nightly timer, enough to
/// compare a run with the ones before it, while a timer firing every few minutes cannot fill
/// `/var/lib` (a run keeps its logs, patch and log bundle). A run waiting for an approval is
/// never removed.
pub const KEPT_RUNS: usize = 30;

/// The run directory of a run starting now: CI's, or a new local one that becomes the
/// workflow's latest (the oldest beyond [`KEPT_RUNS`] are removed).
pub fn for_new_run(workflow_id: &str) -> Result<PathBuf, Failure> {
    if let Some(dir) = given()? {
        return Ok(dir);
    }
    let runs = runs_dir()?;
    prune(&runs, workflow_id, KEPT_RUNS - 1);
    let id = local_run_id(workflow_id);
    crate::fs::atomic_write(&latest_file(workflow_id)?, id.as_bytes())?;
    Ok(runs.join(id))
}

/// Remove `workflow_id`'s oldest runs in `runs` so that `keep` remain, sparing runs that wait
/// for an approval. Only directories holding a record of this workflow are touched; one that
/// cannot be removed stays (the next run tries again).
fn prune(runs: &Path, workflow_id: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    let mut found: Vec<(String, String, PathBuf, Status)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter_map(|path| {
            // Unverified: pruning only needs the status and age, and a forged status can at
            // most keep a run around.
            let run = RunRecord::peek(&path)?;
            (run.workflow_id == workflow_id).then_some((
                run.started_at,
                run.run_id,
                path,
                run.status,
            ))
        })
        .collect();
    // Newest first.
    found.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    for (_, _, path, status) in found.into_iter().skip(keep) {
        if status != Status::WaitingForApproval {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// The run directory of the run `begin` started: CI's, or the workflow's latest local run.
pub fn for_current_run(workflow_id: &str) -> Result<PathBuf, Failure> {
    if let Some(dir) = given()? {
        return Ok(dir);
    }
    match latest_run_id(workflow_id) {
        Some(id) => Ok(runs_dir()?.join(id)),
        None => Err(Failure::usage(format!(
            "no run of `{workflow_id}` to continue: `coder-step begin` starts one (or set CODER_RUN_DIR)"
        ))),
    }
}

/// The run `coder-step run` works on: `$CODER_RUN_DIR` / `$CODER_RUN_ID` when set; else this
/// workflow's latest local run if it waits for an approval (a timer firing again re-checks
/// it rather than piling up runs); else a new run.
pub fn waiting_or_new(workflow_id: &str) -> Result<PathBuf, Failure> {
    let explicit = non_empty_env(env::RUN_DIR).is_some()
        || non_empty_env(env::RUN_ID).is_some()
        || ci_run_id().is_some();
    if explicit {
        return for_current_run(workflow_id);
    }
    if let Some(id) = latest_run_id(workflow_id) {
        let dir = runs_dir()?.join(id);
        let waiting = RunRecord::load(&dir)
            .ok()
            .flatten()
            .is_some_and(|run| run.status == Status::WaitingForApproval);
        if waiting {
            return Ok(dir);
        }
    }
    for_new_run(workflow_id)
}

/// The directory the environment names: `$CODER_RUN_DIR`, or the runs directory's folder of
/// `$CODER_RUN_ID` or of the CI run.
fn given() -> Result<Option<PathBuf>, Failure> {
    if let Some(dir) = non_empty_env(env::RUN_DIR) {
        return Ok(Some(PathBuf::from(dir)));
    }
    match non_empty_env(env::RUN_ID).or_else(ci_run_id) {
        Some(id) => Ok(Some(runs_dir()?.join(id))),
        None => Ok(None),
    }
}

/// The id of the last run `begin` started locally for `workflow_id`.
pub fn latest_run_id(workflow_id: &str) -> Option<String> {
    std::fs::read_to_string(latest_file(workflow_id).ok()?)
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

fn latest_file(workflow_id: &str) -> Result<PathBuf, Failure> {
    Ok(runs_dir()?.join(format!("{workflow_id}.latest")))
}

/// Where this process's runs live: `$CODER_RUNS_DIR` (a systemd unit's), else
/// `<state>/coder/runs`.
pub fn runs_dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = non_empty_env(env::RUNS_DIR) {
        return Ok(PathBuf::from(dir));
    }
    Ok(state_dir()?.join(CODER).join(LOCAL_RUNS))
}

/// The folder under a state directory that holds coder's runs folders.
const CODER: &str = "coder";
/// `coder run`'s runs folder under `<state>/coder`; the others are units' (one per workflow).
const LOCAL_RUNS: &str = "runs";

/// Overrides the system manager's state directory (`/var/lib`) where runs are looked for.
pub const SYSTEM_STATE_DIR_VAR: &str = "CODER_SYSTEM_STATE_DIR";

/// The system manager's state directory (systemd's `%S` for system units).
fn system_state_dir() -> PathBuf {
    non_empty_env(SYSTEM_STATE_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib"))
}

/// Where a run was started, as told by the folder it lives in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// `coder run` (or `coder-step run` by hand): it continues in its checkout.
    Local,
    /// A system unit's (`/var/lib/coder/<workflow_id>/`): the unit continues it.
    SystemUnit { workflow_id: String },
    /// A user unit's (`~/.local/state/coder/<workflow_id>/`): the user's manager continues it.
    UserUnit { workflow_id: String },
}

/// Every folder that may hold runs, one directory each: this process's runs directory, then
/// each `coder/<folder>` of the user's and the system's state directories, with what started
/// the runs in it. Folders that do not exist are left out.
pub fn run_folders() -> Vec<(PathBuf, Host)> {
    let mut folders: Vec<(PathBuf, Host)> = Vec::new();
    let mut push = |folder: PathBuf, host: Host| {
        let key = std::fs::canonicalize(&folder).unwrap_or_else(|_| folder.clone());
        let seen = folders
            .iter()
            .any(|(f, _)| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()) == key);
        if !seen && folder.is_dir() {
            folders.push((folder, host));
        }
    };
    if let Ok(dir) = runs_dir() {
        push(dir, Host::Local);
    }
    let roots = [(state_dir().ok(), false), (Some(system_state_dir()), true)];
    for (root, system) in roots {
        let Some(root) = root else { continue };
        let Ok(entries) = std::fs::read_dir(root.join(CODER)) else {
            continue;
        };
        let mut groups: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        groups.sort();
        for group in groups {
            let name = group
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let host = match (system, name == LOCAL_RUNS) {
                (false, true) => Host::Local,
                (false, false) => Host::UserUnit { workflow_id: name },
                (true, _) => Host::SystemUnit { workflow_id: name },
            };
            push(group, host);
        }
    }
    folders
}

/// What started the run in `dir` (see [`Host`]), from the folder it lives in.
pub fn host_of(dir: &Path) -> Host {
    let parent = dir
        .parent()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
    run_folders()
        .into_iter()
        .find(|(folder, _)| {
            Some(std::fs::canonicalize(folder).unwrap_or_else(|_| folder.clone())) == parent
        })
        .map(|(_, host)| host)
        .unwrap_or(Host::Local)
}

fn state_dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = non_empty_env("XDG_STATE_HOME") {
        return Ok(PathBuf::from(dir));
    }
    non_empty_env("HOME")
        .map(|home| Path::new(&home).join(".local/state"))
        .ok_or_else(|| Failure::usage("neither CODER_RUN_DIR, XDG_STATE_HOME nor HOME is set"))
}

/// `$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT` inside GitHub Actions.
pub fn ci_run_id() -> Option<String> {
    let id = non_empty_env("GITHUB_RUN_ID")?;
    let attempt = non_empty_env("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".to_string());
    Some(format!("{id}-{attempt}"))
}

/// A new local run's id: the workflow, the time and this process.
pub fn local_run_id(workflow_id: &str) -> String {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    format!("{workflow_id}-{stamp}-{}", std::process::id())
}

/// A run's id for its record: the directory's name unless `$CODER_RUN_DIR` chose the
/// directory, else the CI run's, else a new local id.
pub fn run_id(run_dir: &Path, workflow_id: &str) -> String {
    run_dir
        .file_name()
        .filter(|_| non_empty_env(env::RUN_DIR).is_none())
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(ci_run_id)
        .unwrap_or_else(|| local_run_id(workflow_id))
}

// The run directory's layout, relative to it.

/// The run's changes against its base, which a later job applies and `publish` pushes.
pub const PATCH_FILE: &str = "patch.diff";

/// The checkout before a local run (`coder run`, `coder-step run`): the tree of its working
/// tree, uncommitted files included (their bytes are in git's object store from then on), and
/// a copy of git's index. A run's changes are measured from that tree, and a failed run puts
/// the checkout back to it.
pub const BEFORE_TREE: &str = "before/tree";
pub const BEFORE_INDEX: &str = "before/index";

/// What a run's changes are measured from: the checkout before the run when it was recorded
/// (a local run, whose checkout may hold uncommitted work that is not the run's), else the
/// run's base commit. The one place `finish` and `step` ask.
pub fn changes_from(run_dir: &Path, base_sha: &str) -> String {
    std::fs::read_to_string(run_dir.join(BEFORE_TREE))
        .ok()
        .map(|tree| tree.trim().to_string())
        .filter(|tree| !tree.is_empty())
        .unwrap_or_else(|| base_sha.to_string())
}

/// Scratch space (git's temporary index while it reads the working tree).
pub const SCRATCH: &str = "tmp";

/// A step's log (as `run.json` names it).
pub fn step_log(step_id: &str) -> String {
    format!("logs/{step_id}.log")
}

/// Where an agent step writes its answer (`$CODER_STEP_OUTPUT`).
pub fn step_output(step_id: &str) -> PathBuf {
    Path::new("outputs").join(format!("{step_id}.md"))
}

/// What `coder approve` writes for a step.
pub fn approval(step_id: &str) -> PathBuf {
    Path::new("approvals").join(format!("{step_id}.json"))
}
