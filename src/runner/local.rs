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
use super::{Context, Failure, approval, finish, git, run_dir};
use crate::ir::Action;

/// `coder-step run`, `coder run`: the whole workflow here, asking for approvals when a person
/// is at the terminal.
pub fn run(cx: &Context) -> Result<String, Failure> {
    run_workflow(cx, interactive())
}

/// Run the workflow from where its run stands: a new run from the first job; a run waiting
/// for approval from its gate (jobs that succeeded are not run again). `Ok`: the run
/// succeeded; a failure's code is 1 (a step failed), 2 (usage) or 3 (waiting for approval).
/// A run that fails or breaks a policy is reported with its violations, and its checkout is
/// put back as it was before the run (the run directory keeps the changes).
pub fn run_workflow(cx: &Context, interactive: bool) -> Result<String, Failure> {
    match RunRecord::load(&cx.run_dir)? {
        Some(run) => match run.status {
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
        },
        None => remember_checkout(cx)?,
    }
    let result = run_jobs(cx, interactive);
    match &result {
        Err(failure) if !failure.is_waiting() => {
            report_violations(cx);
            match put_back(cx) {
                Ok(Some(message)) => say(&message),
                Ok(None) => {}
                Err(e) => say(&format!(
                    "could not put the checkout back as it was before the run: {e}"
                )),
            }
        }
        _ => {}
    }
    result
}

fn run_jobs(cx: &Context, interactive: bool) -> Result<String, Failure> {
    for job in &cx.workflow.jobs {
        let done = RunRecord::load(&cx.run_dir)?.and_then(|run| {
            run.jobs
                .iter()
                .rev()
                .find(|j| j.id == job.id)
                .map(|j| j.status)
        });
        // A failed job the run went on past (a step that continues on failure) is done too: a
        // run can only be resumed while it waits, so any other failure ended it.
        let done = matches!(done, Some(Status::Succeeded | Status::Failed));
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
                Err(failure) if super::step::went_on_past(&cx.load_run()?, step) => {
                    say(&failure.message)
                }
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

/// Files with uncommitted changes in `checkout`, as `git status` lists them (tracked changes
/// and untracked files, ignored ones left out), relative to the repository root.
pub fn uncommitted_files(checkout: &Path) -> Result<Vec<String>, Failure> {
    let out = git::output(
        git::command(checkout).args([
            "-c",
            "status.relativePaths=false",
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
        ]),
        "list the uncommitted files",
    )
    .map_err(Failure::usage)?;
    let mut files = Vec::new();
    let mut entries = out.split(|b| *b == 0).filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        let Some(path) = entry.get(3..) else { continue };
        files.push(String::from_utf8_lossy(path).into_owned());
        // A rename or copy names its source next.
        if matches!(entry.first(), Some(b'R' | b'C')) {
            entries.next();
        }
    }
    Ok(files)
}

/// Before a new run: the checkout's tree, uncommitted work included, and a copy of git's
/// index ([`run_dir::BEFORE_TREE`]): the run's changes are measured from them, and a failed
/// run is put back to them.
fn remember_checkout(cx: &Context) -> Result<(), Failure> {
    let (tree, index) = if cx.clean_checkout {
        // Nothing uncommitted, nothing untracked: the working tree is HEAD's tree (hashing
        // every file again would find exactly that), asked with the index's path.
        let answer = git::run(
            &cx.checkout,
            &[
                "rev-parse",
                "--path-format=absolute",
                "--git-path",
                "index",
                "HEAD^{tree}",
            ],
            "read HEAD's tree",
        )
        .map_err(Failure::usage)?;
        match answer.lines().collect::<Vec<_>>().as_slice() {
            [index, tree] => (tree.to_string(), PathBuf::from(index)),
            _ => {
                return Err(Failure::usage(format!(
                    "git rev-parse answered `{answer}` for the index's path and HEAD's tree"
                )));
            }
        }
    } else {
        let scratch = cx.run_dir.join(run_dir::SCRATCH);
        let tree = git::worktree_tree(&cx.checkout, &scratch, &[]);
        let _ = std::fs::remove_dir_all(&scratch);
        let tree = tree.map_err(Failure::usage)?;
        (tree, index_file(&cx.checkout).map_err(Failure::usage)?)
    };
    crate::fs::atomic_write(&cx.run_dir.join(run_dir::BEFORE_TREE), tree.as_bytes())?;
    if let Ok(bytes) = std::fs::read(&index) {
        crate::fs::atomic_write(&cx.run_dir.join(run_dir::BEFORE_INDEX), &bytes)?;
    }
    Ok(())
}

fn index_file(checkout: &Path) -> Result<PathBuf, String> {
    let path = git::run(
        checkout,
        &["rev-parse", "--path-format=absolute", "--git-path", "index"],
        "find git's index",
    )?;
    Ok(PathBuf::from(path))
}

/// A failed run's checkout, put back as it was before the run: a commit made during the run
/// undone (it stays in the reflog), every file the run added, changed or removed as it was
/// (from the tree [`remember_checkout`] recorded, which holds the user's uncommitted bytes),
/// and git's index. Files ignored by git are left alone. `None` when nothing had changed.
fn put_back(cx: &Context) -> Result<Option<String>, String> {
    let Ok(before) = std::fs::read_to_string(cx.run_dir.join(run_dir::BEFORE_TREE)) else {
        return Ok(None);
    };
    let before = before.trim();
    // A run that never started changed nothing.
    let Ok(run) = cx.load_run() else {
        return Ok(None);
    };
    let checkout = &cx.checkout;
    let head = git::head_sha(checkout)?;
    let moved = head != run.base.sha;
    if moved {
        git::run(
            checkout,
            &["reset", "--quiet", "--soft", &run.base.sha],
            "move HEAD back to the run's base",
        )?;
    }
    let now = super::ignore::worktree_tree(&cx.run_dir, checkout, &run.base.sha, &[])?;
    let out = git::output(
        git::command(checkout).args(["diff", "--name-status", "-z", "--no-renames", before, &now]),
        "list what the run changed",
    )?;
    let mut fields = out.split(|b| *b == 0).filter(|f| !f.is_empty());
    let mut restore: Vec<String> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let path = String::from_utf8_lossy(path).into_owned();
        if status.first() == Some(&b'A') {
            added.push(path);
        } else {
            restore.push(path);
        }
    }
    for path in &added {
        let full = checkout.join(path);
        let removed = match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&full),
            Ok(_) => std::fs::remove_file(&full),
            Err(_) => Ok(()),
        };
        removed.map_err(|e| format!("cannot remove {path}: {e}"))?;
    }
    if !restore.is_empty() {
        let mut cmd = git::command(checkout);
        // File names are names, not patterns.
        cmd.env("GIT_LITERAL_PATHSPECS", "1")
            .args(["restore", "--worktree", "--source", before, "--"])
            .args(&restore);
        git::output(&mut cmd, "restore the files the run changed")?;
    }
    if let Ok(bytes) = std::fs::read(cx.run_dir.join(run_dir::BEFORE_INDEX)) {
        crate::fs::atomic_write(&index_file(checkout)?, &bytes).map_err(|e| e.to_string())?;
    }
    if !moved && added.is_empty() && restore.is_empty() {
        return Ok(None);
    }
    let kept = if run.artifacts.patch.is_some() {
        cx.run_dir.join(run_dir::PATCH_FILE)
    } else {
        cx.run_dir.join("evidence")
    };
    Ok(Some(format!(
        "put the checkout back as it was before the run ({} file(s){}); the run's changes are in {}",
        added.len() + restore.len(),
        if moved { ", and HEAD" } else { "" },
        kept.display()
    )))
}

/// Each of the run's violations, with its paths, on stderr.
fn report_violations(cx: &Context) {
    let Ok(run) = cx.load_run() else { return };
    for violation in &run.violations {
        let step = violation
            .step_id
            .as_deref()
            .map(|s| format!("step `{s}`"))
            .unwrap_or_else(|| "the run's changes".to_string());
        let mut line = format!(
            "violation ({}) in {step}: {}",
            violation.kind, violation.message
        );
        if !violation.paths.is_empty() {
            line.push_str(&format!("\n  paths: {}", violation.paths.join(", ")));
        }
        if let Some(evidence) = &violation.evidence {
            line.push_str(&format!(
                "\n  evidence: {}",
                cx.run_dir.join(evidence).display()
            ));
        }
        eprintln!("error: {line}");
    }
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

/// Who approves here: the login name (`$USER`, `$LOGNAME`), else the name of this process's
/// user id (a service, `env -i`, a container without `USER`). Never blank.
pub fn local_user() -> Result<String, Failure> {
    let named = |var: &str| non_empty_env(var).filter(|name| !name.trim().is_empty());
    if let Some(name) = named("USER").or_else(|| named("LOGNAME")) {
        return Ok(name);
    }
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) if !user.name.trim().is_empty() => Ok(user.name),
        _ => Err(Failure::usage(format!(
            "cannot tell who approves: neither USER nor LOGNAME is set, and user id {uid} has no name"
        ))),
    }
}

/// A run named by its directory, or by its id: a folder of this process's runs directory or
/// of a unit's state directory ([`run_dir::run_folders`]).
pub fn find_run(run: &str) -> Result<(PathBuf, RunRecord), Failure> {
    let as_path = Path::new(run);
    let dir = if as_path.join(super::record::RUN_FILE).is_file() {
        Some(as_path.to_path_buf())
    } else if as_path.components().count() == 1 {
        run_dir::run_folders()
            .into_iter()
            .map(|(folder, _)| folder.join(run))
            .find(|dir| dir.join(super::record::RUN_FILE).is_file())
    } else {
        None
    };
    match dir {
        Some(dir) => match RunRecord::load(&dir)? {
            Some(record) => Ok((dir, record)),
            None => Err(not_found(run)),
        },
        None => Err(not_found(run)),
    }
}

fn not_found(run: &str) -> Failure {
    Failure::usage(format!(
        "no run `{run}`: give a run id (`coder runs` lists them) or a run directory"
    ))
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

/// The runs of every runs folder ([`run_dir::run_folders`]: local runs and units'), newest
/// first.
pub fn list_runs() -> Result<Vec<RunSummary>, Failure> {
    let mut runs: Vec<RunSummary> = Vec::new();
    for (folder, _) in run_dir::run_folders() {
        // A unit's folder this user may not read holds no runs for them.
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        runs.extend(
            entries
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
                }),
        );
    }
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
