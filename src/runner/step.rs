//! `coder-step step`: run one agent, deploy or command step and record it.

use std::time::{Duration, Instant};

use super::agent::{self, AgentStep};
use super::jobs::Ledger;
use super::process::{self, Ending, Launch};
use super::record::{Current, RunRecord, Status, StepRecord, Violation};
use super::{Context, Failure, deploy, git, now};
use crate::ir::Action;

/// Seconds between SIGINT and SIGKILL at the deadline; `CODER_KILL_GRACE_SEC` overrides it.
const DEFAULT_GRACE_SEC: u64 = 10;

/// How a step ended, before it is recorded.
struct Ended {
    status: Status,
    exit_code: Option<i32>,
    message: Option<String>,
}

pub fn step(cx: &Context, step_id: &str) -> Result<String, Failure> {
    let (job, step) = cx.find_step(step_id)?;
    let kind = match &step.action {
        Action::Agent { .. } => "agent",
        Action::Command { .. } => "command",
        Action::Deploy { .. } => "deploy",
        Action::Approve { .. } => {
            return Err(Failure::usage(format!(
                "step `{step_id}` is an approval: use `coder-step gate`"
            )));
        }
    };
    let mut run = cx.load_run()?;
    let log = format!("logs/{step_id}.log");
    run.steps.push(StepRecord {
        step_id: step_id.to_string(),
        job: Some(job.id.clone()),
        kind: kind.to_string(),
        status: Status::Running,
        started_at: now(),
        finished_at: None,
        exit_code: None,
        log: Some(log.clone()),
        changed_files: Vec::new(),
        message: None,
    });
    run.status = Status::Running;
    run.current = Some(Current {
        job: Some(job.id.clone()),
        step: Some(step_id.to_string()),
    });
    run.save(&cx.run_dir)?;

    let remaining = Ledger::load(cx).remaining_sec();
    if remaining <= 0 {
        let ended = Ended {
            status: Status::BudgetExceeded,
            exit_code: None,
            message: Some("the run's wall-clock budget is spent".to_string()),
        };
        return record(cx, &mut run, step_id, ended, Vec::new());
    }
    let deadline = Instant::now() + Duration::from_secs(remaining.unsigned_abs());
    let grace = Duration::from_secs(
        super::non_empty_env("CODER_KILL_GRACE_SEC")
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_GRACE_SEC),
    );
    let scratch = cx.run_dir.join("tmp");
    let before = git::worktree_tree(&cx.checkout, &scratch).map_err(Failure::failed)?;
    let launch = |program: String, args: Vec<String>, env, stdin| Launch {
        program,
        args,
        cwd: cx.checkout.clone(),
        env,
        stdin,
        deadline,
        grace,
        log: cx.run_dir.join(&log),
    };
    let shell = |command: &str| {
        launch(
            "sh".to_string(),
            vec!["-c".to_string(), command.to_string()],
            None,
            None,
        )
    };

    let mut read_only = false;
    let ended = match &step.action {
        Action::Agent {
            role,
            goal,
            read_only: reads_only,
        } => {
            read_only = *reads_only;
            let prepared = agent::prepare(
                cx,
                &AgentStep {
                    step_id,
                    role: *role,
                    goal,
                    seconds_left: remaining.unsigned_abs(),
                },
            );
            match prepared {
                Err(failure) => Ended {
                    status: Status::Failed,
                    exit_code: None,
                    message: Some(failure.message),
                },
                Ok(prepared) => {
                    let outcome = process::run(
                        launch(
                            prepared.program,
                            prepared.args,
                            Some(prepared.env),
                            Some(prepared.prompt.into_bytes()),
                        ),
                        &cx.redactor,
                    )?;
                    ended_by(&outcome.ending, "the agent")
                }
            }
        }
        Action::Command { command } => {
            let outcome = process::run(shell(command), &cx.redactor)?;
            ended_by(&outcome.ending, "the command")
        }
        Action::Deploy { target } => match deploy::command(cx, target) {
            Err(failure) => Ended {
                status: Status::Failed,
                exit_code: None,
                message: Some(failure.message),
            },
            Ok((command, url_file)) => {
                let outcome = process::run(shell(&command), &cx.redactor)?;
                let mut ended = ended_by(&outcome.ending, "the deploy command");
                if ended.status == Status::Succeeded {
                    match deploy::find_url(&cx.checkout, url_file.as_deref(), &outcome.output) {
                        Some(url) => {
                            deploy::write_output(&url)?;
                            ended.message = Some(format!("deployed to {url}"));
                            run.artifacts.deploy_url = Some(url);
                        }
                        None if url_file.is_some() => {
                            ended.status = Status::Failed;
                            ended.message = Some(format!(
                                "the deploy command wrote no URL to `{}`",
                                url_file.unwrap_or_default()
                            ));
                        }
                        None => {}
                    }
                }
                ended
            }
        },
        Action::Approve { .. } => unreachable_approve(),
    };

    let after = git::worktree_tree(&cx.checkout, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let after = after.map_err(Failure::failed)?;
    let changed = git::changed_files(&cx.checkout, &before, &after).map_err(Failure::failed)?;
    run.changed_files =
        git::changed_files(&cx.checkout, &run.base.sha, &after).map_err(Failure::failed)?;
    let ended = if read_only && !changed.is_empty() && !ended.status.is_failure() {
        let message = format!(
            "a read-only role changed {} file(s): {}",
            changed.len(),
            changed.join(", ")
        );
        run.violations.push(Violation {
            step_id: Some(step_id.to_string()),
            kind: "read_only_changed".to_string(),
            message: message.clone(),
        });
        Ended {
            status: Status::Failed,
            exit_code: ended.exit_code,
            message: Some(message),
        }
    } else {
        ended
    };
    record(cx, &mut run, step_id, ended, changed)
}

/// Approve steps return before any work; this arm is never reached.
fn unreachable_approve() -> Ended {
    Ended {
        status: Status::Failed,
        exit_code: None,
        message: Some("approval steps run through `coder-step gate`".to_string()),
    }
}

fn ended_by(ending: &Ending, what: &str) -> Ended {
    match *ending {
        Ending::Exited(0) => Ended {
            status: Status::Succeeded,
            exit_code: Some(0),
            message: None,
        },
        Ending::Exited(code) => Ended {
            status: Status::Failed,
            exit_code: Some(code),
            message: Some(format!("{what} exited with code {code}")),
        },
        Ending::Signaled(signal) => Ended {
            status: Status::Failed,
            exit_code: None,
            message: Some(format!("{what} was killed by signal {signal}")),
        },
        Ending::TimedOut => Ended {
            status: Status::TimedOut,
            exit_code: None,
            message: Some(format!(
                "{what} ran past the run's wall-clock budget and was stopped"
            )),
        },
    }
}

fn record(
    cx: &Context,
    run: &mut RunRecord,
    step_id: &str,
    ended: Ended,
    changed: Vec<String>,
) -> Result<String, Failure> {
    if let Some(record) = run.step_mut(step_id) {
        record.status = ended.status;
        record.finished_at = Some(now());
        record.exit_code = ended.exit_code;
        record.message = ended.message.clone();
        record.changed_files = changed;
    }
    if ended.status.is_failure() {
        run.status = ended.status;
    }
    if let Some(current) = run.current.as_mut() {
        current.step = None;
    }
    run.save(&cx.run_dir)?;
    let text = format!(
        "step `{step_id}`: {}{}",
        ended.status.as_str(),
        ended
            .message
            .map(|m| format!(": {}", cx.redactor.redact(&m)))
            .unwrap_or_default()
    );
    if ended.status.is_failure() {
        Err(Failure::failed(text))
    } else {
        Ok(text)
    }
}
