//! `coder-step finish`: a CI job's end, whatever happened in it. Its phases: steps left
//! running are marked interrupted, the patch is sealed (or withheld as evidence when the run
//! broke a policy), the test report and release notes are collected, the job closed, its wall
//! clock charged, and the summary and log bundle written.

use std::path::Path;

use super::env::non_empty_env;
use super::ledger::Ledger;
use super::paths::{self, PathPolicy};
use super::record::{RunRecord, Status, StepRecord, Violation};
use super::run_dir::{self, PATCH_FILE};
use super::step::{goes_on, unmet_condition};
use super::time::{now, seconds_between};
use super::{Context, Failure, bundle, git};
use crate::ir::Job;
use crate::protocol::env;

/// Where a withheld patch is kept (redacted) for people to see what was refused.
const EVIDENCE_PATCH: &str = "evidence/patch.diff";

/// `coder-step finish`: the job's end, whatever happened in it.
pub fn finish(cx: &Context, job_id: &str) -> Result<String, Failure> {
    let job = cx.find_job(job_id)?;
    let mut run = cx.load_run()?;
    let finished = now();
    mark_interrupted(&mut run, job_id, &finished);
    let unknown = record_plain_commands(&mut run, job, &finished);
    let withheld = seal_patch(cx, &mut run)?;
    collect_test_report(cx, &mut run, job_id)?;
    if let Some(notes) = release_notes(cx, &run)? {
        run.artifacts.release_notes = Some(notes);
    }
    let status = close_job(cx, &mut run, job, withheld, &finished);
    charge_wall_clock(cx, &mut run, &finished)?;
    write_reports(cx, &mut run)?;
    let text = format!(
        "job {job_id}: {}; run {}: {}",
        status.as_str(),
        run.run_id,
        run.status.as_str()
    );
    // A job that failed only in steps that continue on failure lets the run go on; the run
    // ends failed at its last job.
    if run.status.is_failure() {
        let why = why_it_failed(&run, job_id, &unknown);
        Err(Failure::failed(cx.redactor.redact(&format!("{text}{why}"))))
    } else {
        Ok(text)
    }
}

/// Steps coder-step started and never finished were interrupted (killed, cancelled).
fn mark_interrupted(run: &mut RunRecord, job_id: &str, finished: &str) {
    for step in run.steps.iter_mut() {
        if step.job.as_deref() == Some(job_id) && step.status == Status::Running {
            step.status = Status::Failed;
            step.finished_at = Some(finished.to_string());
            step.message = Some("interrupted: the step did not finish".to_string());
        }
    }
}

/// In CI, command steps are the CI's own plain steps, which coder-step does not run: record
/// what the job's course proves about them, so `run.json` and the summary have every step,
/// as a local run's do. A command step before a step coder-step ran, or in a job that
/// succeeded, succeeded; one after a step that failed never ran. When the job failed in its
/// plain steps, a single candidate failed; with several, the CI's log tells which: they are
/// returned instead.
fn record_plain_commands(run: &mut RunRecord, job: &Job, finished: &str) -> Vec<String> {
    // A local run records its command steps itself.
    if run.checkout.is_some() {
        return Vec::new();
    }
    let in_job = |run: &RunRecord, step_id: &str| {
        run.steps
            .iter()
            .any(|s| s.step_id == step_id && s.job.as_deref() == Some(job.id.as_str()))
    };
    let last_recorded = job.steps.iter().rposition(|s| in_job(run, &s.step_id));
    let goes_on_past = |record: &StepRecord| {
        job.steps
            .iter()
            .any(|s| s.step_id == record.step_id && goes_on(s, record.status))
    };
    let stopped = run.steps.iter().any(|s| {
        s.job.as_deref() == Some(job.id.as_str())
            && ((s.status.is_failure() && !goes_on_past(s))
                || s.status == Status::WaitingForApproval)
    });
    let job_failed = matches!(
        non_empty_env(env::JOB_STATUS).as_deref(),
        Some("failure") | Some("cancelled")
    );
    let mut succeeded = Vec::new();
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for (index, step) in job.steps.iter().enumerate() {
        if in_job(run, &step.step_id) {
            continue;
        }
        // The CI skipped it natively (`if:` on the outcome of the step it names).
        if step.if_failed.is_some() && !stopped {
            if let Some(why) = unmet_condition(run, step) {
                skipped.push((step.step_id.clone(), why));
            }
            continue;
        }
        if !matches!(step.action, crate::ir::Action::Command { .. }) {
            continue;
        }
        if last_recorded.is_some_and(|last| index < last) || !(stopped || job_failed) {
            succeeded.push(step.step_id.clone());
        } else if !stopped {
            candidates.push(step.step_id.clone());
        }
    }
    let kind_of = |step_id: &str| {
        job.steps
            .iter()
            .find(|s| s.step_id == step_id)
            .map_or("command", |s| s.action.kind())
    };
    let plain = |step_id: &str, status: Status, message: &str| StepRecord {
        step_id: step_id.to_string(),
        job: Some(job.id.clone()),
        kind: kind_of(step_id).to_string(),
        status,
        started_at: finished.to_string(),
        finished_at: Some(finished.to_string()),
        exit_code: None,
        log: None,
        changed_files: Vec::new(),
        message: Some(message.to_string()),
        usage: None,
        tests: None,
        output: None,
        sandbox: None,
    };
    let mut records: Vec<StepRecord> = succeeded
        .iter()
        .map(|id| plain(id, Status::Succeeded, "run by the CI as a plain step"))
        .collect();
    records.extend(
        skipped
            .iter()
            .map(|(id, why)| plain(id, Status::Skipped, why)),
    );
    if let [only] = candidates.as_slice() {
        records.push(plain(
            only,
            Status::Failed,
            "the command failed (run by the CI as a plain step: its output is in the CI job's log)",
        ));
        candidates.clear();
    }
    // In the job's order, before the records of the steps that came after them.
    for record in records {
        let order = |id: &str| job.steps.iter().position(|s| s.step_id == id);
        let mine = order(&record.step_id);
        let at = run
            .steps
            .iter()
            .position(|s| s.job.as_deref() == Some(job.id.as_str()) && order(&s.step_id) > mine)
            .unwrap_or(run.steps.len());
        run.steps.insert(at, record);
    }
    candidates
}

/// Why the job failed, for its log: the steps that failed and the violations, with paths.
fn why_it_failed(run: &RunRecord, job_id: &str, unknown: &[String]) -> String {
    let mut why = String::new();
    // This job's failures; and at the run's end, those of earlier jobs the run went on past.
    let failed = run.latest_steps().into_iter().filter(|s| {
        s.status.is_failure() && (s.job.as_deref() == Some(job_id) || run.status.is_failure())
    });
    for step in failed {
        why.push_str(&format!(
            "\n  step `{}` ({}) {}: {}",
            step.step_id,
            step.kind,
            step.status.as_str(),
            step.message.as_deref().unwrap_or("no reason recorded")
        ));
    }
    if !unknown.is_empty() {
        why.push_str(&format!(
            "\n  one of the command steps {} failed (the CI ran them as plain steps: see its log)",
            unknown
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for violation in &run.violations {
        why.push_str(&format!(
            "\n  violation {}{}: {}",
            violation.kind,
            violation
                .step_id
                .as_deref()
                .map(|id| format!(" in step `{id}`"))
                .unwrap_or_default(),
            violation.message
        ));
        if !violation.paths.is_empty() {
            why.push_str(&format!(" (paths: {})", violation.paths.join(", ")));
        }
        if let Some(evidence) = &violation.evidence {
            why.push_str(&format!("; evidence: {evidence} in the run directory"));
        }
    }
    why
}

/// The run's patch: the working tree against the base, untracked files included, judged as
/// a whole (a secret in it, the path policy). A run with any violation keeps its patch only
/// as redacted evidence: never a `patch.diff` that a later job applies or publish pushes.
/// Returns whether the patch was withheld.
fn seal_patch(cx: &Context, run: &mut RunRecord) -> Result<bool, Failure> {
    let outside = super::begin::outside_the_patch(cx);
    let tree = super::ignore::worktree_tree(&cx.run_dir, &cx.checkout, &run.base.sha, &outside)
        .map_err(Failure::failed)?;
    let from = run_dir::changes_from(&cx.run_dir, &run.base.sha);
    let patch = git::patch(&cx.checkout, &from, &tree).map_err(Failure::failed)?;
    run.changed_files = git::changed_files(&cx.checkout, &from, &tree).map_err(Failure::failed)?;
    check_for_secrets(cx, run, &patch);
    // The patch as a whole answers to the path policy too: command steps, earlier jobs.
    let changes = paths::changes(&cx.checkout, &from, &tree).map_err(Failure::failed)?;
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
    let patch_path = cx.run_dir.join(PATCH_FILE);
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
    Ok(withheld)
}

/// A secret's value in the patch is a violation (recorded once per run).
fn check_for_secrets(cx: &Context, run: &mut RunRecord, patch: &[u8]) {
    let leaked = cx.redactor.found_in(patch);
    if !leaked.is_empty() && !run.violations.iter().any(|v| v.kind == "secret_in_patch") {
        run.violations.push(Violation {
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
}

/// JUnit files say more than summary lines; without any, the command steps' summaries count.
fn collect_test_report(cx: &Context, run: &mut RunRecord, job_id: &str) -> Result<(), Failure> {
    let before = super::begin::JobStart::load(cx).reports;
    let junit = &cx.config.report.junit;
    match super::junit::collect(&cx.checkout, &cx.run_dir, job_id, junit, &before)? {
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
    Ok(())
}

/// Record the job's status, and the run's: running on to the next job, or ended.
fn close_job(
    cx: &Context,
    run: &mut RunRecord,
    job: &Job,
    withheld: bool,
    finished: &str,
) -> Status {
    let (status, went_on) = job_status(run, job, withheld);
    if let Some(record) = run.job_mut(&job.id) {
        record.finished_at = Some(finished.to_string());
        record.status = status;
    }
    let last_job = cx.workflow.jobs.last().is_some_and(|j| j.id == job.id);
    run.status = match status {
        // A step the run went on past failed: the run ends failed.
        Status::Succeeded | Status::Failed if last_job && run.has_failed_step() => Status::Failed,
        Status::Succeeded if last_job => Status::Succeeded,
        Status::Succeeded => Status::Running,
        Status::Failed if went_on => Status::Running,
        other => other,
    };
    run.current = None;
    status
}

/// The job's wall clock, from `begin` to now, into the ledger.
fn charge_wall_clock(cx: &Context, run: &mut RunRecord, finished: &str) -> Result<(), Failure> {
    let mut ledger = Ledger::load(cx);
    if let Some(start) = ledger.job_started_at.take() {
        ledger.wall_clock_used_sec += seconds_between(&start, finished).max(0);
    }
    ledger.save(cx)?;
    run.credits = Some(ledger.credits());
    Ok(())
}

/// Save the run record, then the summary (also GitHub's job summary) and the log bundle.
fn write_reports(cx: &Context, run: &mut RunRecord) -> Result<(), Failure> {
    run.artifacts.summary = Some(bundle::SUMMARY_FILE.to_string());
    run.artifacts.log_bundle = Some(bundle::BUNDLE_FILE.to_string());
    run.save(&cx.run_dir)?;
    let summary = bundle::summary(cx, run);
    crate::fs::atomic_write(&cx.run_dir.join(bundle::SUMMARY_FILE), summary.as_bytes())?;
    if let Some(path) = non_empty_env("GITHUB_STEP_SUMMARY") {
        append(Path::new(&path), summary.as_bytes())?;
    }
    bundle::write_log_bundle(&cx.run_dir)?;
    Ok(())
}

/// A job's status from the steps coder-step recorded: the first that failed decides; a step
/// it should have run and did not means the job stopped early. `CODER_JOB_STATUS` (GitHub's
/// `job.status`, when the workflow passes it) catches a plain `run:` step that failed. The
/// second value: the job failed only in steps that continue on failure, so the run goes on.
fn job_status(run: &RunRecord, job: &Job, withheld: bool) -> (Status, bool) {
    if withheld {
        return (Status::Failed, false);
    }
    let mut status = Status::Succeeded;
    let mut went_on = false;
    for step in &job.steps {
        let recorded = run
            .steps
            .iter()
            .rev()
            .find(|s| s.step_id == step.step_id && s.job.as_deref() == Some(job.id.as_str()));
        match recorded.map(|s| s.status) {
            Some(s) if goes_on(step, s) => went_on = true,
            Some(s) if s.is_failure() => return (s, false),
            Some(Status::WaitingForApproval) => status = Status::WaitingForApproval,
            Some(_) => {}
            // Command steps run as plain `run:` in CI and leave no record.
            None if matches!(step.action, crate::ir::Action::Command { .. }) => {}
            None => return (Status::Failed, false),
        }
    }
    match non_empty_env(env::JOB_STATUS).as_deref() {
        Some("failure") | Some("cancelled") if status == Status::Succeeded => {
            (Status::Failed, false)
        }
        _ if went_on && status == Status::Succeeded => (Status::Failed, true),
        _ => (status, false),
    }
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), String> {
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
        let printed = cx.run_dir.join(run_dir::step_log(&step.step_id));
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
