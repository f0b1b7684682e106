//! `begin` and `finish`: a CI job's start (create or restore the run) and its end (patch,
//! run.json, summary, log bundle).

use super::env::non_empty_env;
use super::ledger::Ledger;
use super::paths::{self, PathPolicy};
use super::record::{Artifacts, Base, Current, JobRecord, RunRecord, SCHEMA_VERSION, Status};
use super::time::{now, seconds_between};
use super::{Context, Failure, git};
use crate::protocol::env;

pub const PATCH_FILE: &str = "patch.diff";
/// Where a withheld patch is kept (redacted) for people to see what was refused.
const EVIDENCE_PATCH: &str = "evidence/patch.diff";

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
    let head = git::head_sha(&cx.checkout).map_err(Failure::failed)?;
    let mut message = String::new();
    let mut run = match super::record::RunRecord::load(&cx.run_dir)? {
        None => {
            let run_id = super::run_dir::run_id(&cx.run_dir, &cx.workflow.workflow_id);
            // CI checkouts are detached: the CI names the branch.
            let base_ref = non_empty_env("GITHUB_REF_NAME")
                .or_else(|| non_empty_env("CI_COMMIT_REF_NAME"))
                .or_else(|| git::current_branch(&cx.checkout))
                .unwrap_or_else(|| cx.workflow.project.git_ref.clone());
            message.push_str(&format!(
                "started run {run_id} of `{}` at {base_ref} ({head})",
                cx.workflow.workflow_id
            ));
            let started = now();
            RunRecord {
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
                checkout: local.then(|| {
                    std::path::absolute(&cx.checkout)
                        .unwrap_or_else(|_| cx.checkout.clone())
                        .to_string_lossy()
                        .into_owned()
                }),
            }
        }
        Some(run) => {
            if run.source_hash != cx.workflow.source_hash {
                return Err(Failure::failed(super::failure::drift_message(
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
            if local {
                message.push_str(&format!("continued run {}", run.run_id));
            } else if has_patch {
                git::apply(&cx.checkout, &patch).map_err(Failure::failed)?;
                message.push_str(&format!(
                    "continued run {}: applied {} to the checkout",
                    run.run_id, PATCH_FILE
                ));
            } else {
                message.push_str(&format!("continued run {}", run.run_id));
            }
            run
        }
    };
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
    Ok(message)
}

/// `coder-step finish`: the job's end, whatever happened in it.
pub fn finish(cx: &Context, job_id: &str) -> Result<String, Failure> {
    let job = cx.find_job(job_id)?;
    let mut run = cx.load_run()?;
    let finished = now();

    // Steps coder-step started and never finished were interrupted (killed, cancelled).
    for step in run.steps.iter_mut() {
        if step.job.as_deref() == Some(job_id) && step.status == Status::Running {
            step.status = Status::Failed;
            step.finished_at = Some(finished.clone());
            step.message = Some("interrupted: the step did not finish".to_string());
        }
    }

    // The patch: the working tree against the base, untracked files included.
    let scratch = cx.run_dir.join("tmp");
    let patch_path = cx.run_dir.join(PATCH_FILE);
    let tree = git::worktree_tree(&cx.checkout, &scratch).map_err(Failure::failed);
    let _ = std::fs::remove_dir_all(&scratch);
    let tree = tree?;
    let patch = git::patch(&cx.checkout, &run.base.sha, &tree).map_err(Failure::failed)?;
    run.changed_files =
        git::changed_files(&cx.checkout, &run.base.sha, &tree).map_err(Failure::failed)?;
    let leaked = cx.redactor.found_in(&patch);
    if !leaked.is_empty() && !run.violations.iter().any(|v| v.kind == "secret_in_patch") {
        run.violations.push(super::record::Violation {
            step_id: None,
            kind: "secret_in_patch".to_string(),
            message: format!(
                "the changes contain the value of secret {}: the patch is withheld",
                leaked.join(", ")
            ),
            paths: Vec::new(),
            evidence: Some(EVIDENCE_PATCH.to_string()),
        });
    }
    // The patch as a whole answers to the path policy too: command steps, earlier jobs.
    let changes = paths::changes(&cx.checkout, &run.base.sha, &tree).map_err(Failure::failed)?;
    let policy = PathPolicy::new(&cx.workflow.policies);
    for found in paths::check(&cx.checkout, &policy, &changes) {
        let known = run
            .violations
            .iter()
            .any(|v| v.kind == found.kind && found.paths.iter().all(|p| v.paths.contains(p)));
        if !known {
            run.violations
                .push(found.into_violation(None, Some(EVIDENCE_PATCH.to_string())));
        }
    }
    // A run with any violation keeps its patch only as redacted evidence: never a patch.diff
    // that a later job applies or publish pushes.
    let withheld = !run.violations.is_empty();
    if withheld {
        let _ = std::fs::remove_file(&patch_path);
        run.artifacts.patch = None;
        crate::fs::atomic_write(
            &cx.run_dir.join(EVIDENCE_PATCH),
            &cx.redactor.redact_bytes(&patch),
        )?;
    } else {
        crate::fs::atomic_write(&patch_path, &patch)?;
        run.artifacts.patch = Some(PATCH_FILE.to_string());
    }

    // JUnit files say more than summary lines; without any, the command steps' summaries
    // count.
    match super::junit::collect(&cx.checkout, &cx.run_dir, job_id, &cx.config.report.junit)? {
        Some(counts) => run.test_report = Some(counts),
        None => {
            let summed = run
                .steps
                .iter()
                .filter_map(|s| s.tests)
                .reduce(|a, b| a + b);
            if summed.is_some() {
                run.test_report = summed;
            }
        }
    }
    if let Some(notes) = release_notes(cx, &run)? {
        run.artifacts.release_notes = Some(notes);
    }
    let status = job_status(&run, job, withheld);
    if let Some(record) = run.job_mut(job_id) {
        record.finished_at = Some(finished.clone());
        record.status = status;
    }
    let last_job = cx.workflow.jobs.last().is_some_and(|j| j.id == job_id);
    run.status = match status {
        Status::Succeeded if last_job => Status::Succeeded,
        Status::Succeeded => Status::Running,
        other => other,
    };
    run.current = None;

    let mut ledger = Ledger::load(cx);
    if let Some(start) = ledger.job_started_at.take() {
        ledger.wall_clock_used_sec += seconds_between(&start, &finished).max(0);
    }
    ledger.save(cx)?;
    run.credits = Some(ledger.credits());

    run.artifacts.summary = Some(super::bundle::SUMMARY_FILE.to_string());
    run.artifacts.log_bundle = Some(super::bundle::BUNDLE_FILE.to_string());
    run.save(&cx.run_dir)?;
    let summary = super::bundle::summary(cx, &run);
    crate::fs::atomic_write(
        &cx.run_dir.join(super::bundle::SUMMARY_FILE),
        summary.as_bytes(),
    )?;
    if let Some(path) = non_empty_env("GITHUB_STEP_SUMMARY") {
        append(std::path::Path::new(&path), summary.as_bytes())?;
    }
    super::bundle::write_log_bundle(&cx.run_dir)?;
    let text = format!(
        "job {job_id}: {}; run {}: {}",
        status.as_str(),
        run.run_id,
        run.status.as_str()
    );
    if status.is_failure() {
        Err(Failure::failed(text))
    } else {
        Ok(text)
    }
}

/// A job's status from the steps coder-step recorded: the first that failed decides; a step
/// it should have run and did not means the job stopped early. `CODER_JOB_STATUS` (GitHub's
/// `job.status`, when the workflow passes it) catches a plain `run:` step that failed.
fn job_status(run: &RunRecord, job: &crate::ir::Job, withheld: bool) -> Status {
    if withheld {
        return Status::Failed;
    }
    let mut status = Status::Succeeded;
    for step in &job.steps {
        let recorded = run
            .steps
            .iter()
            .rev()
            .find(|s| s.step_id == step.step_id && s.job.as_deref() == Some(job.id.as_str()));
        match recorded.map(|s| s.status) {
            Some(s) if s.is_failure() => return s,
            Some(Status::WaitingForApproval) => status = Status::WaitingForApproval,
            Some(_) => {}
            // Command steps run as plain `run:` in CI and leave no record.
            None if matches!(step.action, crate::ir::Action::Command { .. }) => {}
            None => return Status::Failed,
        }
    }
    match non_empty_env(env::JOB_STATUS).as_deref() {
        Some("failure") | Some("cancelled") if status == Status::Succeeded => Status::Failed,
        _ => status,
    }
}

fn append(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("cannot append to {}: {e}", path.display()))
}

/// The release notes artifact: what the release engineer steps wrote to their output file
/// (`$CODER_STEP_OUTPUT`), else printed, redacted, in `release-notes.md`.
fn release_notes(cx: &Context, run: &RunRecord) -> Result<Option<String>, Failure> {
    use crate::ir::{Action, Artifact};
    use crate::model::Role;
    if !cx.workflow.artifacts.contains(&Artifact::ReleaseNotes) {
        return Ok(None);
    }
    let mut notes = String::new();
    for step in cx.workflow.jobs.iter().flat_map(|j| &j.steps) {
        let Action::Agent {
            role: Role::ReleaseEngineer,
            ..
        } = step.action
        else {
            continue;
        };
        if !run
            .steps
            .iter()
            .any(|s| s.step_id == step.step_id && s.status == Status::Succeeded)
        {
            continue;
        }
        let written = cx.step_output_file(&step.step_id);
        let printed = cx.run_dir.join(super::run_dir::step_log(&step.step_id));
        if let Ok(text) =
            std::fs::read_to_string(&written).or_else(|_| std::fs::read_to_string(&printed))
        {
            notes.push_str(text.trim_end());
            notes.push('\n');
        }
    }
    if notes.trim().is_empty() {
        return Ok(None);
    }
    crate::fs::atomic_write(
        &cx.run_dir.join(RELEASE_NOTES_FILE),
        cx.redactor.redact(&notes).as_bytes(),
    )?;
    Ok(Some(RELEASE_NOTES_FILE.to_string()))
}

const RELEASE_NOTES_FILE: &str = "release-notes.md";
