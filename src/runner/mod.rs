//! The runner behind `coder-step`: what generated CI files call to start a job, run an agent,
//! deploy or command step, verify an approval, finish a job and publish the run's patch.
//!
//! Everything a run knows lives in its run directory, outside the working tree: `run.json`
//! ([`record`]), `ledger.json` (the wall clock spent), `logs/`, `prompts/`, `outputs/`,
//! `approvals/`, `patch.diff`, `summary.md` and `logs.tar.gz`. CI carries the directory from
//! job to job as an artifact; each job restores the working tree from the base plus
//! `patch.diff`.

mod agent;
mod bundle;
mod deploy;
mod gate;
mod git;
mod http;
mod jobs;
mod junit;
pub mod ledger;
pub mod local;
pub mod paths;
mod presets;
mod process;
mod publish;
pub mod record;
mod redact;
mod schedule;
mod step;
pub mod test_report;
pub mod usage;

use std::path::{Path, PathBuf};

use crate::ir::{Job, Workflow};
use crate::workspace::Config;

pub use gate::gate;
pub use jobs::{begin, finish};
pub use publish::publish;
pub use redact::Redactor;
pub use schedule::tz_gate;
pub use step::step;

/// Exit codes of `coder-step` (DESIGN 2.3).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_WAITING: u8 = 3;

/// The wall clock a run gets when its spec sets no `max_wall_clock_sec` (the GitHub emitter's
/// default job timeout is the same hour).
pub const DEFAULT_WALL_CLOCK_SEC: i64 = 3600;

/// How a subcommand ended short of success: the exit code and what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILED,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    pub fn waiting(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_WAITING,
            message: message.into(),
        }
    }
}

/// I/O and internal errors are usage-or-internal failures (exit 2).
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::usage(message)
    }
}

/// What every subcommand works with: the checked spec's workflow, the repository's
/// configuration, the checkout and the run directory.
pub struct Context {
    pub workflow: Workflow,
    pub config: Config,
    /// The checkout (the repository root, the current directory in CI).
    pub checkout: PathBuf,
    pub run_dir: PathBuf,
    /// Secret values to keep out of every log and artifact.
    pub redactor: Redactor,
    /// An agent command line for this run only (`coder run --agent`), replacing the
    /// configured agent.
    pub agent_override: Option<String>,
}

/// A step's log, relative to the run directory (as `run.json` names it).
pub fn step_log(step_id: &str) -> String {
    format!("logs/{step_id}.log")
}

impl Context {
    /// Where an agent step writes its answer (`$CODER_STEP_OUTPUT`): the review a publish
    /// comments, the release engineer's notes.
    pub fn step_output_file(&self, step_id: &str) -> PathBuf {
        self.run_dir.join("outputs").join(format!("{step_id}.md"))
    }

    pub fn new(workflow: Workflow, config: Config, checkout: PathBuf, run_dir: PathBuf) -> Self {
        // The agent's model key is a secret too.
        let mut secrets = workflow.policies.secrets.clone();
        secrets.extend(agent::credential_name(&config.agent));
        // So is the token GitLab publishing pushes with (every GitLab job has it).
        secrets.push(config.gitlab.token_variable().to_string());
        let redactor = Redactor::from_env(&secrets);
        Context {
            workflow,
            config,
            checkout,
            run_dir,
            redactor,
            agent_override: None,
        }
    }

    /// The job that holds `step_id`, and the step.
    pub fn find_step(&self, step_id: &str) -> Result<(&Job, &crate::ir::Step), Failure> {
        self.workflow
            .jobs
            .iter()
            .find_map(|job| {
                job.steps
                    .iter()
                    .find(|s| s.step_id == step_id)
                    .map(|s| (job, s))
            })
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .workflow
                    .jobs
                    .iter()
                    .flat_map(|j| j.steps.iter().map(|s| s.step_id.as_str()))
                    .collect();
                Failure::usage(format!(
                    "workflow `{}` has no step `{step_id}`; its steps are: {}",
                    self.workflow.workflow_id,
                    known.join(", ")
                ))
            })
    }

    pub fn find_job(&self, job_id: &str) -> Result<&Job, Failure> {
        self.workflow
            .jobs
            .iter()
            .find(|j| j.id == job_id)
            .ok_or_else(|| {
                let known: Vec<&str> = self.workflow.jobs.iter().map(|j| j.id.as_str()).collect();
                Failure::usage(format!(
                    "workflow `{}` has no job `{job_id}`; its jobs are: {}",
                    self.workflow.workflow_id,
                    known.join(", ")
                ))
            })
    }

    /// The run record; a subcommand other than `begin` needs one.
    pub fn load_run(&self) -> Result<record::RunRecord, Failure> {
        record::RunRecord::load(&self.run_dir)?.ok_or_else(|| {
            Failure::usage(format!(
                "no run in {}: `coder-step begin` starts one",
                self.run_dir.display()
            ))
        })
    }
}

/// The message of a spec that changed since its workflow was generated.
pub fn drift_message(expected: &str, found: &str) -> String {
    format!(
        "the spec changed since `coder compile` generated this workflow (the workflow expects source hash {expected}, found {found}); run `coder compile` and commit"
    )
}

/// The run directory: `$CODER_RUN_DIR`, or else `<state>/coder/runs/<run-id>` where the run
/// id is `$CODER_RUN_ID`, the CI run's, or (locally) the last run `begin` started for this
/// workflow (`begin` starts a new one). `<state>` is `$XDG_STATE_HOME` or `~/.local/state`.
pub fn run_dir(workflow_id: &str, starting: bool) -> Result<PathBuf, Failure> {
    if let Some(dir) = non_empty_env("CODER_RUN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let runs = state_dir()?.join("coder").join("runs");
    if let Some(id) = non_empty_env("CODER_RUN_ID").or_else(ci_run_id) {
        return Ok(runs.join(id));
    }
    let latest = runs.join(format!("{workflow_id}.latest"));
    if starting {
        let id = local_run_id(workflow_id);
        atomic_write(&latest, id.as_bytes())?;
        return Ok(runs.join(id));
    }
    match latest_run_id(workflow_id) {
        Some(id) => Ok(runs.join(id)),
        None => Err(Failure::usage(format!(
            "no run of `{workflow_id}` to continue: `coder-step begin` starts one (or set CODER_RUN_DIR)"
        ))),
    }
}

/// The id of the last run `begin` started locally for `workflow_id`.
pub fn latest_run_id(workflow_id: &str) -> Option<String> {
    let latest = runs_dir().ok()?.join(format!("{workflow_id}.latest"));
    std::fs::read_to_string(latest)
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
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

fn local_run_id(workflow_id: &str) -> String {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    format!("{workflow_id}-{stamp}-{}", std::process::id())
}

/// The variable a GitLab job names its `reports: dotenv` file with; the runner writes its
/// outputs there (GitLab reads the file after the job, for `environment: url` and later jobs).
pub const DOTENV_VARIABLE: &str = "CODER_DOTENV";

/// A value a step hands to the CI around it. GitHub reads it as a step output
/// (`steps.<id>.outputs.<name>`, through `$GITHUB_OUTPUT`); GitLab as a variable of the job's
/// dotenv report (through `$CODER_DOTENV`). Either, both or neither may be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiOutput {
    /// The URL a deploy step deployed to: the environment's URL.
    DeployUrl,
    /// Whether an emulated schedule's gate lets this run through (`true`/`false`).
    ScheduleRun,
}

impl CiOutput {
    /// The GitHub step output's name.
    pub fn step_output_name(self) -> &'static str {
        match self {
            CiOutput::DeployUrl => "url",
            CiOutput::ScheduleRun => "run",
        }
    }

    /// The GitLab dotenv variable's name.
    pub fn dotenv_name(self) -> &'static str {
        match self {
            CiOutput::DeployUrl => "CODER_DEPLOY_URL",
            CiOutput::ScheduleRun => "CODER_SCHEDULE_RUN",
        }
    }
}

/// Publish `value` as `output` to whichever CI runs this step. Values are single lines coder
/// produced (URLs, `true`/`false`); anything else is refused rather than split into two.
pub(crate) fn publish_output(output: CiOutput, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r']) {
        return Err(format!(
            "the {} `{}` holds a line break: not published",
            output.step_output_name(),
            value.escape_default()
        ));
    }
    if let Some(path) = non_empty_env("GITHUB_OUTPUT") {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{}={value}", output.step_output_name()))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    if let Some(path) = non_empty_env(DOTENV_VARIABLE) {
        set_dotenv(Path::new(&path), output.dotenv_name(), value)?;
    }
    Ok(())
}

/// Set `name=value` in the dotenv file at `path`, replacing an earlier value of `name` (a
/// second deploy in the same job, or a file an earlier job left in the run directory).
fn set_dotenv(path: &Path, name: &str, value: &str) -> Result<(), String> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let prefix = format!("{name}=");
    let mut text: String = existing
        .lines()
        .filter(|line| !line.starts_with(&prefix))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str(&format!("{name}={value}\n"));
    atomic_write(path, text.as_bytes())
}

pub(crate) fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Now, RFC 3339 UTC to the second.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
}

/// Seconds between two RFC 3339 times (0 when either does not parse).
pub fn seconds_between(start: &str, end: &str) -> i64 {
    match (
        start.parse::<jiff::Timestamp>(),
        end.parse::<jiff::Timestamp>(),
    ) {
        (Ok(start), Ok(end)) => end.as_second() - start.as_second(),
        _ => 0,
    }
}

/// Write `contents` to `path` through a temporary file in the same folder and a rename, so a
/// reader, or a runner killed midway, never sees half a file.
pub fn atomic_write(path: &Path, contents: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("coder");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        // No fsync: the rename alone keeps a killed runner from leaving half a file, which is
        // what the run record must survive; a machine that loses power loses the CI job (and
        // its run directory) anyway, and a sync per write cost more than the rest of a step.
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Make this process the reaper of the orphans a step leaves (Linux), before any step starts.
pub fn process_supervision() {
    process::become_subreaper();
}
