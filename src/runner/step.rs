//! `coder-step step`: run one agent, deploy or command step and record it.

use std::time::{Duration, Instant};

use super::agent::{self, AgentStep};
use super::env::non_empty_env;
use super::ledger::{Ledger, round};
use super::paths::{self, Found, GitMetadata, PathPolicy};
use super::process::{self, Ending, Launch, Watch};
use super::record::{Current, RunRecord, Status, StepRecord};
use super::time::now;
use super::usage::{ModelUsage, OutputParser, Pricing, StepUsage, UsageFile, Verdict, merge};
use super::{Context, Failure, deploy, git};
use crate::ir::Action;
use crate::protocol::env;

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
    let log = super::run_dir::step_log(step_id);
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
        usage: None,
        tests: None,
    });
    run.status = Status::Running;
    run.current = Some(Current {
        job: Some(job.id.clone()),
        step: Some(step_id.to_string()),
    });
    run.save(&cx.run_dir)?;

    let mut ledger = Ledger::load(cx);
    run.credits = Some(ledger.credits());
    let remaining = ledger.remaining_sec();
    if remaining <= 0 {
        let ended = Ended {
            status: Status::BudgetExceeded,
            exit_code: None,
            message: Some("the run's wall-clock budget is spent".to_string()),
        };
        return record(cx, &mut run, step_id, ended, Vec::new());
    }
    let is_agent = matches!(step.action, Action::Agent { .. });
    if is_agent && ledger.remaining_credits() <= 0.0 {
        let ended = Ended {
            status: Status::BudgetExceeded,
            exit_code: None,
            message: Some(format!(
                "the run's credits are spent ({} of {})",
                round(ledger.credits_used),
                ledger.credit_limit()
            )),
        };
        return record(cx, &mut run, step_id, ended, Vec::new());
    }
    let deadline = Instant::now() + Duration::from_secs(remaining.unsigned_abs());
    let grace = Duration::from_secs(
        non_empty_env(env::KILL_GRACE_SEC)
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_GRACE_SEC),
    );
    let scratch = cx.run_dir.join("tmp");
    // The tree before an agent step, for its path policy. Command and deploy steps are the
    // spec author's own; `finish` counts their changes into the run's patch.
    let before = if is_agent {
        Some(git::worktree_tree(&cx.checkout, &scratch).map_err(Failure::failed)?)
    } else {
        None
    };
    // What the agent may not touch beside the tree: HEAD, `.git/config`, hooks.
    let metadata = if is_agent {
        Some(GitMetadata::snapshot(&cx.checkout).map_err(Failure::failed)?)
    } else {
        None
    };
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
                    read_only: *reads_only,
                    remaining_credits: ledger.remaining_credits(),
                    credit_usd: ledger.credit_usd(),
                },
            );
            match prepared {
                Err(failure) => Ended {
                    status: Status::Failed,
                    exit_code: None,
                    message: Some(failure.message),
                },
                Ok(prepared) => {
                    let model = cx.config.agent.model.as_deref();
                    let mut meter = Meter {
                        parser: OutputParser::new(prepared.format, model),
                        file: UsageFile::new(agent::usage_file(cx, step_id), model),
                        pricing: Pricing::from_config(&cx.config),
                        remaining: ledger.remaining_credits(),
                        next_poll: Instant::now(),
                    };
                    let stdin = prepared
                        .prompt_on_stdin
                        .then(|| prepared.prompt.into_bytes());
                    let outcome = process::run_watched(
                        launch(prepared.program, prepared.args, Some(prepared.env), stdin),
                        &cx.redactor,
                        Some(&mut meter),
                    )?;
                    let exit_code = match outcome.ending {
                        Ending::Exited(code) => Some(code),
                        _ => None,
                    };
                    meter.parser.end(exit_code);
                    meter.file.finish();
                    let usage = meter.priced();
                    ledger.charge(step_id, &usage);
                    ledger.save(cx)?;
                    run.credits = Some(ledger.credits());
                    let ended = agent_ended(&outcome.ending, &meter, &usage, &ledger);
                    if let Some(record) = run.step_mut(step_id) {
                        record.usage = Some(usage);
                    }
                    ended
                }
            }
        }
        Action::Command { command } => {
            let outcome = process::run(shell(command), &cx.redactor)?;
            if let Some(record) = run.step_mut(step_id) {
                record.tests = super::test_report::parse_summary(&outcome.output);
            }
            ended_by(&outcome.ending, "the command")
        }
        Action::Deploy { target } => match deploy::command(cx, target) {
            Err(failure) => Ended {
                status: Status::Failed,
                exit_code: None,
                message: Some(failure.message),
            },
            Ok((command, url_file)) => {
                // The deploy command may read the workflow's secrets; on a systemd host they
                // are credentials, not environment variables, until here.
                let env: Vec<(String, String)> =
                    std::env::vars()
                        .chain(cx.workflow.policies.secrets.iter().filter_map(|name| {
                            Some((name.clone(), super::agent::secret_value(name)?))
                        }))
                        .collect();
                let mut deploy = shell(&command);
                deploy.env = Some(env);
                let outcome = process::run(deploy, &cx.redactor)?;
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

    let evidence_rel = format!("evidence/{step_id}");
    let evidence = cx.run_dir.join(&evidence_rel);
    // First put back what the agent did to `.git/config` and hooks, before any git of ours
    // reads them.
    let mut found: Vec<Found> = match &metadata {
        Some(metadata) => metadata
            .check_and_restore(&cx.checkout, &evidence, &cx.redactor)
            .map_err(Failure::failed)?,
        None => Vec::new(),
    };
    let Some(before) = before else {
        return record(cx, &mut run, step_id, ended, Vec::new());
    };
    let after = git::worktree_tree(&cx.checkout, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let after = after.map_err(Failure::failed)?;
    let changed = git::changed_files(&cx.checkout, &before, &after).map_err(Failure::failed)?;
    run.changed_files =
        git::changed_files(&cx.checkout, &run.base.sha, &after).map_err(Failure::failed)?;
    let changes = paths::changes(&cx.checkout, &before, &after).map_err(Failure::failed)?;
    found.extend(paths::check(
        &cx.checkout,
        &PathPolicy::new(&cx.workflow.policies),
        &changes,
    ));
    if read_only && !changed.is_empty() {
        found.push(Found {
            kind: "read_only_changed",
            message: format!(
                "a read-only role changed {} file(s): {}",
                changed.len(),
                changed.join(", ")
            ),
            paths: changed.clone(),
        });
    }
    let ended = if found.is_empty() {
        ended
    } else {
        // The evidence: the step's whole diff, redacted, beside what was restored.
        let diff = git::patch(&cx.checkout, &before, &after).map_err(Failure::failed)?;
        crate::fs::atomic_write(
            &evidence.join("changes.diff"),
            &cx.redactor.redact_bytes(&diff),
        )?;
        let message = found
            .iter()
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        for f in found {
            run.violations
                .push(f.into_violation(Some(step_id), Some(format!("{evidence_rel}/"))));
        }
        Ended {
            status: if ended.status.is_failure() {
                ended.status
            } else {
                Status::Failed
            },
            exit_code: ended.exit_code,
            message: Some(match ended.message {
                Some(first) if ended.status.is_failure() => format!("{first}; {message}"),
                _ => format!("policy violation: {message}"),
            }),
        }
    };
    record(cx, &mut run, step_id, ended, changed)
}

/// Live metering of an agent: its stdout parsed in its format, the usage file polled, and a
/// stop once the run's credits are spent.
struct Meter {
    parser: OutputParser,
    file: UsageFile,
    pricing: Pricing,
    /// The credits the run had left when the step began.
    remaining: f64,
    next_poll: Instant,
}

impl Meter {
    fn usage(&self) -> Vec<ModelUsage> {
        let mut all = self.parser.parsed.usage().to_vec();
        for usage in &self.file.usage {
            merge(&mut all, usage);
        }
        all
    }

    fn priced(&self) -> StepUsage {
        let mut usage = self.pricing.price_usage(&self.usage());
        usage.credits = round(usage.credits);
        usage
    }
}

impl Watch for Meter {
    fn stdout_line(&mut self, line: &str) {
        self.parser.line(line);
    }

    fn should_stop(&mut self) -> bool {
        if Instant::now() >= self.next_poll {
            self.file.poll();
            self.next_poll = Instant::now() + Duration::from_millis(200);
        }
        self.pricing.price_usage(&self.usage()).credits > self.remaining
    }
}

/// An agent's ending, from what coder-step saw first (stop, deadline, exit) and what the
/// agent said second (its verdict): an agent that exits 0 but reports an error failed.
fn agent_ended(ending: &Ending, meter: &Meter, usage: &StepUsage, ledger: &Ledger) -> Ended {
    let spent = || {
        format!(
            "the agent spent {} credits; the run has used {} of {}",
            usage.credits,
            round(ledger.credits_used),
            ledger.credit_limit()
        )
    };
    let verdict = meter.parser.parsed.verdict.clone();
    let mut ended = match (ending, verdict) {
        (Ending::Stopped, _) | (Ending::Exited(_), Some(Verdict::BudgetExceeded)) => Ended {
            status: Status::BudgetExceeded,
            exit_code: None,
            message: Some(format!("{}: the agent was stopped", spent())),
        },
        (Ending::Exited(0), Some(Verdict::AgentError(message))) => Ended {
            status: Status::Failed,
            exit_code: Some(0),
            message: Some(format!("the agent reported an error: {message}")),
        },
        (Ending::Exited(code), Some(Verdict::MaxTurns)) => Ended {
            status: Status::Failed,
            exit_code: Some(*code),
            message: Some("the agent stopped at its turn limit".to_string()),
        },
        (Ending::Exited(code), Some(Verdict::AgentError(message))) => Ended {
            status: Status::Failed,
            exit_code: Some(*code),
            message: Some(format!("the agent exited with code {code}: {message}")),
        },
        (ending, _) => ended_by(ending, "the agent"),
    };
    // Caps are checked after each call, so an agent can overshoot: the run is over budget.
    if !ended.status.is_failure() && ledger.remaining_credits() < 0.0 {
        ended = Ended {
            status: Status::BudgetExceeded,
            exit_code: ended.exit_code,
            message: Some(spent()),
        };
    }
    if ended.status == Status::Succeeded && meter.file.rejected > 0 {
        ended.message = Some(format!(
            "{} line(s) of the usage file were not usage JSON",
            meter.file.rejected
        ));
    }
    ended
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
        Ending::Stopped => Ended {
            status: Status::BudgetExceeded,
            exit_code: None,
            message: Some(format!("{what} was stopped: the run's credits are spent")),
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
