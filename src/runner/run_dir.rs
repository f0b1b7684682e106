//! Where a run's directory is, and what lies in it.
//!
//! The directory is `$CODER_RUN_DIR`, or else `<state>/coder/runs/<run-id>` where the run id
//! is `$CODER_RUN_ID`, the CI run's, or (locally) the last run `begin` started for the
//! workflow, which `<state>/coder/runs/<workflow_id>.latest` names. `<state>` is
//! `$XDG_STATE_HOME` or `~/.local/state`.

use std::path::{Path, PathBuf};

use super::Failure;
use super::env::non_empty_env;
use super::record::{RunRecord, Status};
use crate::protocol::env;

/// The run directory of a run starting now: CI's, or a new local one that becomes the
/// workflow's latest.
pub fn for_new_run(workflow_id: &str) -> Result<PathBuf, Failure> {
    if let Some(dir) = given()? {
        return Ok(dir);
    }
    let id = local_run_id(workflow_id);
    crate::fs::atomic_write(&latest_file(workflow_id)?, id.as_bytes())?;
    Ok(runs_dir()?.join(id))
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

/// Where local runs live: `<state>/coder/runs`.
pub fn runs_dir() -> Result<PathBuf, Failure> {
    Ok(state_dir()?.join("coder").join("runs"))
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
