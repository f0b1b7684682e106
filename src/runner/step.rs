//! `coder-step step`: run one agent, deploy or command step and record it.
//!
//! A step goes through its phases in order: [`start`] records it as running, [`budget_spent`]
//! refuses it once the run's budget is gone, [`Before::snapshot`] keeps what an agent step may
//! not change, [`run_action`] runs it ([`run_agent`], [`run_command`], [`run_deploy`]),
//! [`check_policies`] judges what an agent changed, and [`record`] writes how it ended.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::agent::{self, AgentStep};
use super::env::non_empty_env;
use super::ledger::{Ledger, round};
use super::paths::{self, Found, GitMetadata, PathPolicy};
use super::process::{self, Ending, Launch, Watch};
use super::record::{Current, RunRecord, Status, StepRecord};
use super::sandbox::{self, Sandbox};
use super::time::now;
use super::usage::{ModelUsage, OutputParser, Pricing, StepUsage, UsageFile, Verdict, merge};
use super::{Context, Failure, deploy, git, run_dir};
use crate::ir::{Action, Job, Step};
use crate::protocol::env;

/// Seconds between SIGINT and SIGKILL at the deadline; `CODER_KILL_GRACE_SEC` overrides it.
const DEFAULT_GRACE_SEC: u64 = 10;

/// How a step ended, before it is recorded.
struct Ended {
    status: Status,
    exit_code: Option<i32>,
    message: Option<String>,
}

impl Ended {
    fn failed(message: String) -> Ended {
        Ended {
            status: Status::Failed,
            exit_code: None,
            message: Some(message),
        }
    }

    fn budget_exceeded(message: String) -> Ended {
        Ended {
            status: Status::BudgetExceeded,
            exit_code: None,
            message: Some(message),
        }
    }
}

/// `coder-step step`: run `step_id` under the run's budget and policies, and record it.
pub fn step(cx: &Context, step_id: &str) -> Result<String, Failure> {
    let (job, step) = cx.find_step(step_id)?;
    let mut run = start(cx, job, step)?;
    if let Some(skipped) = condition_unmet(&run, step) {
        return record(cx, &mut run, step, skipped, Vec::new());
    }
    let mut ledger = Ledger::load(cx);
    run.credits = Some(ledger.credits());
    let remaining_sec = ledger.remaining_sec();
    if let Some(spent) = budget_spent(&ledger, remaining_sec, step) {
        return record(cx, &mut run, step, spent, Vec::new());
    }
    let launcher = Launcher::new(cx, step_id, remaining_sec);
    let before = Before::snapshot(cx, step, &run.base.sha)?;
    let ended = run_action(cx, &launcher, step, &mut run, &mut ledger)?;
    let (ended, changed) = match before {
        Some(before) => check_policies(cx, &mut run, step, before, ended)?,
        None => (ended, Vec::new()),
    };
    record(cx, &mut run, step, ended, changed)
}

/// How a step with `if_failed` ends without running when the step it names did not fail.
fn condition_unmet(run: &RunRecord, step: &Step) -> Option<Ended> {
    unmet_condition(run, step).map(|why| Ended {
        status: Status::Skipped,
        exit_code: None,
        message: Some(why),
    })
}

/// Why a step with `if_failed` does not run: the step it names did not fail (it succeeded, was
/// skipped itself, or never ran). `None`: the step has no condition, or it holds.
pub fn unmet_condition(run: &RunRecord, step: &Step) -> Option<String> {
    let failed = step.if_failed.as_deref()?;
    let status = run.step_status(failed);
    (status != Some(Status::Failed)).then(|| skip_reason(failed, status))
}

fn skip_reason(failed: &str, status: Option<Status>) -> String {
    match status {
        Some(status) => format!(
            "runs only if step `{failed}` failed, and it {}",
            status.as_str().replace('_', " ")
        ),
        None => format!("runs only if step `{failed}` failed, and it did not run"),
    }
}

/// Whether the run goes on past `step` ending `status`: it failed, and it continues on
/// failure (`continue_on_failure`). Any other failure ends the run.
pub fn goes_on(step: &Step, status: Status) -> bool {
    step.continue_on_failure && status == Status::Failed
}

/// Whether `step` failed and the run goes on past it.
pub fn went_on_past(run: &RunRecord, step: &Step) -> bool {
    run.step_status(&step.step_id)
        .is_some_and(|status| goes_on(step, status))
}

/// The step's kind as the run record names it; approvals run through `coder-step gate`.
fn kind(step: &Step) -> Result<&'static str, Failure> {
    match &step.action {
        Action::Approve { .. } => Err(Failure::usage(format!(
            "step `{}` is an approval: use `coder-step gate`",
            step.step_id
        ))),
        action => Ok(action.kind()),
    }
}

/// Record the step as running, in its job.
fn start(cx: &Context, job: &Job, step: &Step) -> Result<RunRecord, Failure> {
    let kind = kind(step)?;
    let mut run = cx.load_run()?;
    run.steps.push(StepRecord {
        step_id: step.step_id.clone(),
        job: Some(job.id.clone()),
        kind: kind.to_string(),
        status: Status::Running,
        started_at: now(),
        finished_at: None,
        exit_code: None,
        log: Some(run_dir::step_log(&step.step_id)),
        changed_files: Vec::new(),
        message: None,
        usage: None,
        tests: None,
        output: None,
        sandbox: None,
    });
    run.status = Status::Running;
    run.current = Some(Current {
        job: Some(job.id.clone()),
        step: Some(step.step_id.clone()),
    });
    run.save(&cx.run_dir)?;
    Ok(run)
}

/// How the step ends without running, when the run's wall clock (or, for an agent, its
/// credits) is spent.
fn budget_spent(ledger: &Ledger, remaining_sec: i64, step: &Step) -> Option<Ended> {
    if remaining_sec <= 0 {
        return Some(Ended::budget_exceeded(
            "the run's wall-clock budget is spent".to_string(),
        ));
    }
    let is_agent = matches!(step.action, Action::Agent { .. });
    (is_agent && ledger.remaining_credits() <= 0.0).then(|| {
        Ended::budget_exceeded(format!(
            "the run's credits are spent ({} of {})",
            round(ledger.credits_used),
            ledger.credit_limit()
        ))
    })
}

/// How the step's processes start: in the checkout, logged to the step's log, stopped at the
/// run's deadline.
struct Launcher<'a> {
    cx: &'a Context,
    log: PathBuf,
    seconds_left: u64,
    deadline: Instant,
    grace: Duration,
}

impl<'a> Launcher<'a> {
    fn new(cx: &'a Context, step_id: &str, remaining_sec: i64) -> Launcher<'a> {
        let seconds_left = remaining_sec.unsigned_abs();
        Launcher {
            cx,
            log: cx.run_dir.join(run_dir::step_log(step_id)),
            seconds_left,
            deadline: Instant::now() + Duration::from_secs(seconds_left),
            grace: Duration::from_secs(
                non_empty_env(env::KILL_GRACE_SEC)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(DEFAULT_GRACE_SEC),
            ),
        }
    }

    fn launch(
        &self,
        program: String,
        args: Vec<String>,
        env: Option<Vec<(String, String)>>,
        stdin: Option<Vec<u8>>,
    ) -> Launch {
        Launch {
            program,
            args,
            cwd: self.cx.checkout.clone(),
            env,
            stdin,
            deadline: self.deadline,
            grace: self.grace,
            log: self.log.clone(),
            own_cgroup: false,
        }
    }

    fn shell(&self, command: &str) -> Launch {
        self.launch(
            "sh".to_string(),
            vec!["-c".to_string(), command.to_string()],
            None,
            None,
        )
    }
}

/// What an agent step may not change, seen before it runs: the tree (for the path policy)
/// and, beside it, HEAD, `.git/config` and hooks. Command and deploy steps are the spec
/// author's own; `finish` counts their changes into the run's patch.
struct Before {
    tree: String,
    metadata: GitMetadata,
    read_only: bool,
}

impl Before {
    fn snapshot(cx: &Context, step: &Step, base_sha: &str) -> Result<Option<Before>, Failure> {
        let Action::Agent { read_only, .. } = step.action else {
            return Ok(None);
        };
        let outside = super::begin::outside_the_patch(cx);
        let tree = super::ignore::worktree_tree(&cx.run_dir, &cx.checkout, base_sha, &outside)
            .map_err(Failure::failed)?;
        let metadata = GitMetadata::snapshot(&cx.checkout).map_err(Failure::failed)?;
        Ok(Some(Before {
            tree,
            metadata,
            read_only,
        }))
    }
}

/// Run the step's agent, command or deploy.
fn run_action(
    cx: &Context,
    launcher: &Launcher<'_>,
    step: &Step,
    run: &mut RunRecord,
    ledger: &mut Ledger,
) -> Result<Ended, Failure> {
    let step_id = step.step_id.as_str();
    match &step.action {
        Action::Agent {
            role,
            goal,
            read_only,
        } => {
            let agent_step = AgentStep {
                step_id,
                role: *role,
                goal,
                seconds_left: launcher.seconds_left,
                read_only: *read_only,
                remaining_credits: ledger.remaining_credits(),
                credit_usd: ledger.credit_usd(),
            };
            run_agent(cx, launcher, &agent_step, run, ledger)
        }
        Action::Command { command } => run_command(cx, launcher, command, run, step_id),
        Action::Deploy { target } => run_deploy(cx, launcher, step_id, target, run),
        Action::Approve { .. } => Ok(unreachable_approve()),
    }
}

/// Run the agent, metered: its usage is charged to the ledger and recorded with the step.
fn run_agent(
    cx: &Context,
    launcher: &Launcher<'_>,
    step: &AgentStep<'_>,
    run: &mut RunRecord,
    ledger: &mut Ledger,
) -> Result<Ended, Failure> {
    let mut prepared = match agent::prepare(cx, step, run) {
        Ok(prepared) => prepared,
        Err(failure) => return Ok(Ended::failed(failure.message)),
    };
    private_home(cx, step.step_id, &mut prepared.env)?;
    let sandbox = match Sandbox::for_agent(cx, step.step_id, &prepared.program, &mut prepared.env) {
        Ok(sandbox) => sandbox,
        Err(failure) => return Ok(Ended::failed(failure.message)),
    };
    let said = sandbox.describe();
    eprint!("{said}");
    sandbox::append(&launcher.log, &said);
    if let Some(record) = run.step_mut(step.step_id) {
        record.sandbox = Some(sandbox.record.clone());
    }
    if sandbox.refused {
        return Ok(Ended::failed(sandbox.record.detail.clone()));
    }
    let (program, args) = sandbox.wrap(prepared.program, prepared.args)?;
    let model = cx.config.agent.model.as_deref();
    // A configured model without a price, under a credit cap: refused before it spends.
    let pricing = Pricing::from_config(&cx.config);
    if let Some((message, true)) =
        super::ledger::unpriced_verdict(cx, &super::ledger::unpriced(&pricing, model))
    {
        return Ok(Ended::failed(message));
    }
    let mut meter = Meter {
        parser: OutputParser::new(prepared.format, model),
        file: UsageFile::new(agent::usage_file(cx, step.step_id), model),
        pricing,
        remaining: ledger.remaining_credits(),
        next_poll: Instant::now(),
        printed: String::new(),
    };
    let stdin = prepared
        .prompt_on_stdin
        .then(|| prepared.prompt.into_bytes());
    let outcome = process::run_watched(
        Launch {
            own_cgroup: true,
            ..launcher.launch(program, args, Some(prepared.env), stdin)
        },
        &cx.redactor,
        Some(&mut meter),
    )?;
    sandbox.explain_denials(&launcher.log);
    if let Some(record) = run.step_mut(step.step_id).and_then(|r| r.sandbox.as_mut()) {
        record.containment = Some(outcome.containment.clone());
    }
    let exit_code = match outcome.ending {
        Ending::Exited(code) => Some(code),
        _ => None,
    };
    meter.parser.end(exit_code, &outcome.output);
    meter.file.finish();
    // What the agent wrote into the run directory (its output, its usage file, its home) is
    // kept redacted like everything coder-step writes there; the sealed record is coder's.
    cx.redactor.sweep(
        &cx.run_dir,
        &[
            &cx.run_dir.join(super::record::RUN_FILE),
            &cx.run_dir.join(super::approval::SEAL_FILE),
        ],
    );
    let usage = meter.priced();
    ledger.charge(step.step_id, &usage);
    ledger.save(cx)?;
    run.credits = Some(ledger.credits());
    let mut ended = agent_ended(&outcome.ending, &meter, &usage, ledger);
    match super::ledger::unpriced_verdict(cx, &usage.unpriced_models) {
        Some((message, true)) if !ended.status.is_failure() => ended = Ended::failed(message),
        Some((warning, _)) => eprintln!("{}", cx.redactor.redact(&warning)),
        None => {}
    }
    let output = agent::keep_final_message(
        cx,
        step.step_id,
        agent::FinalMessage {
            reported: meter.parser.parsed.summary.take(),
            printed: std::mem::take(&mut meter.printed),
            preset: prepared.format != super::usage::OutputFormat::Text,
        },
    )?;
    if let Some(record) = run.step_mut(step.step_id) {
        record.usage = Some(usage);
        record.output = output;
    }
    Ok(ended)
}

/// The agent never runs with the user's `HOME`: its dotfiles (`~/.gitconfig`, shell and tool
/// configuration) would be the agent's to rewrite, and the user's git would run them. It
/// gets a private `HOME` in the step's folder of the run directory (presets set the same one).
fn private_home(
    cx: &Context,
    step_id: &str,
    env: &mut Vec<(String, String)>,
) -> Result<(), Failure> {
    let home = cx.run_dir.join("agents").join(step_id).join("home");
    std::fs::create_dir_all(&home)
        .map_err(|e| Failure::failed(format!("cannot create {}: {e}", home.display())))?;
    env.retain(|(name, _)| name != "HOME");
    env.push(("HOME".to_string(), home.to_string_lossy().into_owned()));
    Ok(())
}

/// Run a command step with `sh -c`; the test summary it printed is kept with the step.
fn run_command(
    cx: &Context,
    launcher: &Launcher<'_>,
    command: &str,
    run: &mut RunRecord,
    step_id: &str,
) -> Result<Ended, Failure> {
    // Only the secrets the step receives, as on every CI target.
    let mut launch = launcher.shell(command);
    launch.env = Some(agent::step_env(cx, step_id));
    let outcome = process::run(launch, &cx.redactor)?;
    if let Some(record) = run.step_mut(step_id) {
        record.tests = super::test_report::parse_summary(&outcome.output);
    }
    Ok(ended_by(&outcome.ending, "the command"))
}

/// Run the configured deploy command of `target` and find the URL it deployed to, which
/// becomes the run's and the CI's (see [`deploy::write_output`]).
fn run_deploy(
    cx: &Context,
    launcher: &Launcher<'_>,
    step_id: &str,
    target: &str,
    run: &mut RunRecord,
) -> Result<Ended, Failure> {
    let (command, url_file) = match deploy::command(cx, target) {
        Ok(found) => found,
        Err(failure) => return Ok(Ended::failed(failure.message)),
    };
    // The deploy command reads the secrets it receives; on a systemd host they are
    // credentials, not environment variables, until here.
    let mut launch = launcher.shell(&command);
    launch.env = Some(agent::step_env(cx, step_id));
    let outcome = process::run(launch, &cx.redactor)?;
    let mut ended = ended_by(&outcome.ending, "the deploy command");
    if ended.status != Status::Succeeded {
        return Ok(ended);
    }
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
    Ok(ended)
}

/// Judge what an agent step changed: first put back what it did to `.git/config` and hooks
/// (before any git of ours reads them), then its changes against the path policy and, for a
/// read-only role, against none at all. Returns how the step ended and the files it changed.
fn check_policies(
    cx: &Context,
    run: &mut RunRecord,
    step: &Step,
    before: Before,
    ended: Ended,
) -> Result<(Ended, Vec<String>), Failure> {
    let step_id = step.step_id.as_str();
    let evidence = cx.run_dir.join(evidence_dir(step_id));
    let mut found: Vec<Found> = before
        .metadata
        .check_and_restore(&cx.checkout, &evidence, &cx.redactor)
        .map_err(Failure::failed)?;
    let outside = super::begin::outside_the_patch(cx);
    let after = super::ignore::worktree_tree(&cx.run_dir, &cx.checkout, &run.base.sha, &outside)
        .map_err(Failure::failed)?;
    let changed =
        git::changed_files(&cx.checkout, &before.tree, &after).map_err(Failure::failed)?;
    let from = run_dir::changes_from(&cx.run_dir, &run.base.sha);
    run.changed_files = git::changed_files(&cx.checkout, &from, &after).map_err(Failure::failed)?;
    let changes = paths::changes(&cx.checkout, &before.tree, &after).map_err(Failure::failed)?;
    found.extend(paths::check(
        &cx.checkout,
        &PathPolicy::new(&cx.workflow.policies),
        &changes,
    ));
    if before.read_only && !changed.is_empty() {
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
    if found.is_empty() {
        return Ok((ended, changed));
    }
    // The evidence: the step's whole diff, redacted, beside what was restored.
    let diff = git::patch(&cx.checkout, &before.tree, &after).map_err(Failure::failed)?;
    crate::fs::atomic_write(
        &evidence.join("changes.diff"),
        &cx.redactor.redact_bytes(&diff),
    )?;
    Ok((violated(run, step_id, found, ended), changed))
}

/// Where a step's evidence is kept, relative to the run directory.
fn evidence_dir(step_id: &str) -> String {
    format!("evidence/{step_id}")
}

/// Record the violations `found` and fail the step with them (keeping an earlier failure).
fn violated(run: &mut RunRecord, step_id: &str, found: Vec<Found>, ended: Ended) -> Ended {
    let message = found
        .iter()
        .map(|f| f.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    for f in found {
        run.violations
            .push(f.into_violation(Some(step_id), Some(format!("{}/", evidence_dir(step_id)))));
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
    /// What the agent printed on stdout (the last `PRINTED_LIMIT` bytes): its final message
    /// when it gives no other.
    printed: String,
}

const PRINTED_LIMIT: usize = 256 * 1024;

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
        usage.estimated |= self.parser.parsed.estimated;
        usage
    }
}

impl Watch for Meter {
    fn stdout_line(&mut self, line: &str) {
        self.parser.line(line);
        self.printed.push_str(line);
        if self.printed.len() > PRINTED_LIMIT {
            let cut = self.printed.len() - PRINTED_LIMIT / 2;
            let cut = (cut..self.printed.len())
                .find(|&i| self.printed.is_char_boundary(i))
                .unwrap_or(0);
            self.printed.drain(..cut);
        }
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
    step: &Step,
    ended: Ended,
    changed: Vec<String>,
) -> Result<String, Failure> {
    let step_id = step.step_id.as_str();
    let skipped = ended.status == Status::Skipped;
    if let Some(record) = run.step_mut(step_id) {
        record.status = ended.status;
        record.finished_at = Some(now());
        record.exit_code = ended.exit_code;
        record.message = ended.message.clone();
        record.changed_files = changed;
        if skipped {
            record.log = None;
        }
    }
    // A failure the step continues on is the run's end status, decided when its last job
    // finishes; the steps after it run first.
    let goes_on = goes_on(step, ended.status);
    if ended.status.is_failure() && !goes_on {
        run.status = ended.status;
    }
    if let Some(current) = run.current.as_mut() {
        current.step = None;
    }
    run.save(&cx.run_dir)?;
    let text = format!(
        "step `{step_id}`: {}{}{}",
        ended.status.as_str(),
        ended
            .message
            .map(|m| format!(": {}", cx.redactor.redact(&m)))
            .unwrap_or_default(),
        if goes_on {
            " (continue_on_failure: the run goes on, and ends failed)"
        } else {
            ""
        }
    );
    if ended.status.is_failure() {
        Err(Failure::failed(text))
    } else {
        Ok(text)
    }
}
