//! Running a whole workflow on this machine (`coder run`, `coder-step run`, systemd hosts):
//! every job in order through the same begin / gate / step / finish as CI, in one checkout.
//! An approval is asked on a terminal; elsewhere the run stops with its state saved (exit 3)
//! until `coder approve RUN STEP` records one, and the next `coder-step run` (or
//! `coder approve` itself) continues from the gate.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::env::non_empty_env;
use super::ledger::Ledger;
use super::record::{RunRecord, Status};
use super::time::{now, seconds_between};
use super::{Context, Failure, approval, finish, run_dir};
use crate::ir::Action;

/// `coder-step run`, `coder run`: the whole workflow here, asking for approvals when a person
/// is at the terminal.
pub fn run(cx: &Context) -> Result<String, Failure> {
    run_workflow(cx, interactive())
}

/// Run the workflow from where its run stands: a new run from the first job; a run waiting
/// for approval from its gate (jobs that succeeded are not run again). `Ok`: the run
/// succeeded; a failure's code is 1 (a step failed), 2 (usage) or 3 (waiting for approval).
pub fn run_workflow(cx: &Context, interactive: bool) -> Result<String, Failure> {
    if let Some(run) = RunRecord::load(&cx.run_dir)? {
        match run.status {
            Status::WaitingForApproval => {}
            Status::Succeeded => {
                return Ok(format!("run {} already succeeded", run.run_id));
            }
            Status::Running => {
                return Err(Failure::usage(format!(
                    "run {} is running (or was killed while running): start a new run",
                    run.run_id
                )));
            }
            status => {
                return Err(Failure::failed(format!(
                    "run {} {}: start a new run",
                    run.run_id,
                    status.as_str()
                )));
            }
        }
    }
    for job in &cx.workflow.jobs {
        let done = RunRecord::load(&cx.run_dir)?.and_then(|run| {
            run.jobs
                .iter()
                .rev()
                .find(|j| j.id == job.id)
                .map(|j| j.status)
        }) == Some(Status::Succeeded);
        if done {
            continue;
        }
        say(&super::begin::begin_job(cx, &job.id, true)?);
        if let Some(approval) = &job.approval {
            if interactive && !signed_already(cx, &approval.step_id) {
                ask_for_approval(cx, &approval.step_id, &approval.reason)?;
            }
            match super::gate(cx, &approval.step_id) {
                Ok(message) => say(&message),
                Err(failure) if failure.is_waiting() => {
                    pause(cx, &job.id)?;
                    return Err(failure);
                }
                Err(failure) => {
                    let _ = finish(cx, &job.id);
                    return Err(failure);
                }
            }
        }
        for step in &job.steps {
            if matches!(step.action, Action::Approve { .. }) {
                continue;
            }
            match super::step(cx, &step.step_id) {
                Ok(message) => say(&message),
                Err(failure) => {
                    // The job still ends: patch (or evidence), summary, log bundle.
                    if let Err(end) = finish(cx, &job.id) {
                        say(&end.message);
                    }
                    return Err(failure);
                }
            }
        }
        say(&finish(cx, &job.id)?);
    }
    let run = cx.load_run()?;
    Ok(format!("run {}: {}", run.run_id, run.status.as_str()))
}

fn say(message: &str) {
    eprintln!("coder: {message}");
}

/// A job stopped at its gate: its wall clock stops (waiting does not count) and the run is
/// saved as waiting.
fn pause(cx: &Context, job_id: &str) -> Result<(), Failure> {
    let mut ledger = Ledger::load(cx);
    if let Some(start) = ledger.job_started_at.take() {
        ledger.wall_clock_used_sec += seconds_between(&start, &now()).max(0);
    }
    ledger.save(cx)?;
    let mut run = cx.load_run()?;
    if let Some(job) = run.job_mut(job_id) {
        job.status = Status::WaitingForApproval;
        job.finished_at = Some(now());
    }
    run.status = Status::WaitingForApproval;
    run.current = None;
    run.save(&cx.run_dir)?;
    Ok(())
}

fn ask_for_approval(cx: &Context, step_id: &str, reason: &str) -> Result<(), Failure> {
    let approver = local_user()?;
    let run = cx.load_run()?;
    let pending = approval::Pending::compute(&cx.run_dir, &cx.checkout, &run)?;
    eprint!(
        "coder: step `{step_id}` of `{}` needs an approval ({reason}). The run's changes:\n{}\nApprove as {approver}? [y/N] ",
        cx.workflow.workflow_id,
        pending.describe()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES") {
        approval::write(&cx.run_dir, &run, step_id, &approver, &pending)?;
    }
    Ok(())
}

/// Whether the step holds a valid signed approval already (a file alone is not one).
fn signed_already(cx: &Context, step_id: &str) -> bool {
    cx.load_run().is_ok_and(|run| {
        matches!(
            approval::find(&cx.run_dir, &cx.checkout, &run, step_id),
            Ok(Some(_))
        )
    })
}

/// Who approves here: the login name.
pub fn local_user() -> Result<String, Failure> {
    non_empty_env("USER")
        .or_else(|| non_empty_env("LOGNAME"))
        .ok_or_else(|| Failure::usage("cannot tell who approves: neither USER nor LOGNAME is set"))
}

/// A run named by its id (a folder of the runs directory) or by its directory.
pub fn find_run(run: &str) -> Result<(PathBuf, RunRecord), Failure> {
    let as_path = Path::new(run);
    let dir = if as_path.join(super::record::RUN_FILE).is_file() {
        as_path.to_path_buf()
    } else {
        run_dir::runs_dir()?.join(run)
    };
    match RunRecord::load(&dir)? {
        Some(record) => Ok((dir, record)),
        None => Err(Failure::usage(format!(
            "no run `{run}`: give a run id (`coder runs` lists them) or a run directory"
        ))),
    }
}

/// What `coder approve` found and did.
pub struct Approved {
    pub run_dir: PathBuf,
    pub run: RunRecord,
    pub approver: String,
    /// `sha256:<hex>` of the patch approved.
    pub patch_digest: String,
}

/// `coder approve RUN STEP`: record the approval of a step the run waits for.
pub fn approve(run: &str, step_id: &str) -> Result<Approved, Failure> {
    let (run_dir, record) = find_run(run)?;
    let waiting_here = record.status == Status::WaitingForApproval
        && record
            .step(step_id)
            .is_some_and(|s| s.status == Status::WaitingForApproval);
    if !waiting_here {
        let waiting: Vec<&str> = record
            .steps
            .iter()
            .filter(|s| s.status == Status::WaitingForApproval)
            .map(|s| s.step_id.as_str())
            .filter(|id| {
                record
                    .step(id)
                    .is_some_and(|s| s.status == Status::WaitingForApproval)
            })
            .collect();
        return Err(Failure::usage(
            if record.status == Status::WaitingForApproval {
                format!(
                    "run {} is not waiting for step `{step_id}`; it waits for: {}",
                    record.run_id,
                    waiting.join(", ")
                )
            } else {
                format!(
                    "run {} is {}, not waiting for an approval",
                    record.run_id,
                    record.status.as_str()
                )
            },
        ));
    }
    let approver = local_user()?;
    // What is approved is the run's patch as it stands in its checkout, shown first.
    let checkout = match &record.checkout {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()
            .map_err(|e| Failure::usage(format!("cannot read the current directory: {e}")))?,
    };
    let pending = approval::Pending::compute(&run_dir, &checkout, &record)?;
    say(&format!(
        "approving step `{step_id}` of run {}:\n{}",
        record.run_id,
        pending.describe()
    ));
    approval::write(&run_dir, &record, step_id, &approver, &pending)?;
    Ok(Approved {
        run_dir,
        run: record,
        approver,
        patch_digest: pending.patch_digest,
    })
}

/// One line of `coder runs`.
pub struct RunSummary {
    pub run_id: String,
    pub workflow_id: String,
    pub status: String,
    pub credits: Option<f64>,
    pub seconds: i64,
    pub started_at: String,
    pub dir: PathBuf,
}

/// The runs of the runs directory, newest first.
pub fn list_runs() -> Result<Vec<RunSummary>, Failure> {
    let dir = run_dir::runs_dir()?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read {}: {e}",
                dir.display()
            )));
        }
    };
    let mut runs: Vec<RunSummary> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let path = e.path();
            // A record from another coder version, or half a directory: skipped, not fatal.
            let run = RunRecord::load(&path).ok()??;
            let end = if run.status == Status::Running {
                now()
            } else {
                run.updated_at.clone()
            };
            Some(RunSummary {
                seconds: seconds_between(&run.started_at, &end).max(0),
                credits: run.credits.as_ref().map(|c| c.used),
                run_id: run.run_id,
                workflow_id: run.workflow_id,
                status: run.status.as_str().to_string(),
                started_at: run.started_at,
                dir: path,
            })
        })
        .collect();
    runs.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then(b.run_id.cmp(&a.run_id))
    });
    Ok(runs)
}

/// Whether approvals can be asked here.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
