//! `coder-step begin`: a CI job's start. The first job creates the run; a later one checks
//! the run is the same spec and base, and restores the working tree from the base plus the
//! previous jobs' patch. Either way the job's start is recorded.

use serde::{Deserialize, Serialize};

use super::env::non_empty_env;
use super::junit::{self, ReportStamp};
use super::ledger::Ledger;
use super::record::{Artifacts, Base, Current, JobRecord, RunRecord, SCHEMA_VERSION, Status};
use super::run_dir::{self, PATCH_FILE};
use super::time::now;
use super::{Context, Failure, git};

/// `coder-step begin`: create the run in the first job; in a later one, restore the working
/// tree from the base plus the previous jobs' patch. Records the job's start.
pub fn begin(cx: &Context, job_id: &str) -> Result<String, Failure> {
    begin_job(cx, job_id, false)
}

/// A job's start. `local`: the whole run works in this one checkout (`coder run`,
/// `coder-step run`), which already holds the earlier jobs' changes, so nothing is restored,
/// and the checkout is recorded so `coder approve` can resume the run there.
pub fn begin_job(cx: &Context, job_id: &str, local: bool) -> Result<String, Failure> {
    cx.find_job(job_id)?;
    // The branch names a new run's base unless the CI names it.
    let (head, branch) = if ci_ref_name().is_some() {
        (git::head_sha(&cx.checkout).map_err(Failure::failed)?, None)
    } else {
        git::head_and_branch(&cx.checkout).map_err(Failure::failed)?
    };
    // Seen before the patch is restored: what the checkout held that this run did not make.
    let job_start = JobStart::seen(cx, local)?;
    let (mut run, message) = match RunRecord::load(&cx.run_dir)? {
        None => new_run(cx, head, branch, local),
        Some(run) => continue_run(cx, run, &head, local)?,
    };
    job_start.save(cx)?;
    // Before any agent of the run: the ignore rules the rest of the run reads the tree with.
    super::ignore::record(&cx.run_dir, &cx.checkout, &run.base.sha).map_err(Failure::failed)?;
    start_job(cx, &mut run, job_id)?;
    Ok(message)
}

const JOB_START_FILE: &str = "job-start.json";

/// What the checkout held when the job began, for its `finish` (`job-start.json` in the run
/// directory, replaced by each job): files that are not the run's doing.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct JobStart {
    /// Untracked files a CI job's checkout held before the run's patch was restored: what the
    /// CI put there (gitlab-ci-local's report copies, a restored cache), not the run's changes.
    pub foreign: Vec<String>,
    /// The `[report] junit` files already there, stamped: left from an earlier run or
    /// committed, they are not this job's result.
    pub reports: Vec<ReportStamp>,
}

impl JobStart {
    fn seen(cx: &Context, local: bool) -> Result<JobStart, Failure> {
        Ok(JobStart {
            // A local run works in the user's checkout, where untracked files are theirs
            // (`coder run` decides about those).
            foreign: if local {
                Vec::new()
            } else {
                git::untracked_files(&cx.checkout).map_err(Failure::failed)?
            },
            reports: junit::stamps(&cx.checkout, &cx.config.report.junit)?,
        })
    }

    /// This job's start, as `begin` saw it (empty for a run directory from before it was kept).
    pub fn load(cx: &Context) -> JobStart {
        std::fs::read_to_string(cx.run_dir.join(JOB_START_FILE))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn save(&self, cx: &Context) -> Result<(), Failure> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| format!("cannot serialize the job's start: {e}"))?;
        Ok(crate::fs::atomic_write(
            &cx.run_dir.join(JOB_START_FILE),
            &json,
        )?)
    }
}

/// Git pathspecs of what is never part of the run's patch nor judged by its path policy: the
/// test reports `[report] junit` names (outputs, kept in the run directory instead) and the
/// files the CI left in this job's checkout.
pub fn outside_the_patch(cx: &Context) -> Vec<String> {
    let start = JobStart::load(cx);
    cx.config
        .report
        .junit
        .iter()
        .map(|glob| git::exclude_glob(glob))
        .chain(start.foreign.iter().map(|path| git::exclude_literal(path)))
        .collect()
}

/// The record of a run starting at `head`, and what to say about it.
fn new_run(cx: &Context, head: String, branch: Option<String>, local: bool) -> (RunRecord, String) {
    let run_id = run_dir::run_id(&cx.run_dir, &cx.workflow.workflow_id);
    // CI checkouts are detached: the CI names the branch.
    let base_ref = ci_ref_name()
        .or(branch)
        .unwrap_or_else(|| cx.workflow.project.git_ref.clone());
    let message = format!(
        "started run {run_id} of `{}` at {base_ref} ({head})",
        cx.workflow.workflow_id
    );
    let started = now();
    let run = RunRecord {
        schema_version: SCHEMA_VERSION,
        run_id,
        workflow_id: cx.workflow.workflow_id.clone(),
        spec: cx.workflow.source.clone(),
        source_hash: cx.workflow.source_hash.clone(),
        started_at: started.clone(),
        updated_at: started,
        base: Base {
            git_ref: base_ref,
            sha: head,
        },
        status: Status::Running,
        current: None,
        jobs: Vec::new(),
        steps: Vec::new(),
        approvals: Vec::new(),
        changed_files: Vec::new(),
        violations: Vec::new(),
        artifacts: Artifacts::default(),
        credits: None,
        test_report: None,
        runner: None,
        checkout: local.then(|| {
            std::path::absolute(&cx.checkout)
                .unwrap_or_else(|_| cx.checkout.clone())
                .to_string_lossy()
                .into_owned()
        }),
    };
    (run, message)
}

/// The branch the CI says it runs for (its checkout is detached).
fn ci_ref_name() -> Option<String> {
    non_empty_env("GITHUB_REF_NAME").or_else(|| non_empty_env("CI_COMMIT_REF_NAME"))
}

/// A later job of `run`: the same spec, the same base; in CI the checkout gets the earlier
/// jobs' patch.
fn continue_run(
    cx: &Context,
    run: RunRecord,
    head: &str,
    local: bool,
) -> Result<(RunRecord, String), Failure> {
    if run.source_hash != cx.workflow.source_hash {
        return Err(Failure::failed(crate::protocol::drift_message(
            &run.source_hash,
            &cx.workflow.source_hash,
        )));
    }
    if run.base.sha != head {
        return Err(Failure::failed(format!(
            "this checkout is at {head}, but run {} started from {} ({}): a later job must check out the run's base commit",
            run.run_id, run.base.sha, run.base.git_ref
        )));
    }
    let patch = cx.run_dir.join(PATCH_FILE);
    let has_patch = std::fs::metadata(&patch).is_ok_and(|m| m.len() > 0);
    let message = if !local && has_patch {
        git::apply(&cx.checkout, &patch).map_err(Failure::failed)?;
        format!(
            "continued run {}: applied {} to the checkout",
            run.run_id, PATCH_FILE
        )
    } else {
        format!("continued run {}", run.run_id)
    };
    Ok((run, message))
}

/// Record the job as running, and start its wall clock.
fn start_job(cx: &Context, run: &mut RunRecord, job_id: &str) -> Result<(), Failure> {
    run.status = Status::Running;
    run.current = Some(Current {
        job: Some(job_id.to_string()),
        step: None,
    });
    run.jobs.push(JobRecord {
        id: job_id.to_string(),
        started_at: now(),
        finished_at: None,
        status: Status::Running,
    });
    run.save(&cx.run_dir)?;
    let mut ledger = Ledger::load(cx);
    ledger.job_started_at = Some(now());
    ledger.save(cx)?;
    Ok(())
}
