//! The `coder-step` protocol: what generated CI files and the runner agree on. Its command
//! line (subcommands and flags), its exit codes, the environment variables it reads and sets,
//! and the outputs it hands back to the CI. Targets write the one side, the runner reads the
//! other; both take every name from here, and neither imports the other.
//!
//! It is a contract with every CI file ever generated: changing a name here breaks them.

use crate::ir::Workflow;

/// The program generated CI files call.
pub const PROGRAM: &str = "coder-step";

/// `0`: done (for `coder`: no errors).
pub const EXIT_OK: u8 = 0;
/// `1`: the step failed (policy, budget, deploy, gate refused, the spec changed since
/// `coder compile`); for `coder`: errors in specs.
pub const EXIT_FAILED: u8 = 1;
/// `2`: usage, I/O or internal error.
pub const EXIT_USAGE: u8 = 2;
/// `3`: the run waits for an approval (a held run, not a failure).
pub const EXIT_WAITING: u8 = 3;

/// One call of `coder-step`: its subcommand and the one reference (a job or step id) it takes
/// besides the spec. Every call also names the spec and its source hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation<'a> {
    /// Start a CI job.
    Begin { job: &'a str },
    /// Verify and record the approval a step needs.
    Gate { step: &'a str },
    /// Run one agent, deploy or command step.
    Step { step: &'a str },
    /// End a CI job.
    Finish { job: &'a str },
    /// Publish the run's patch.
    Publish,
    /// Decide whether an emulated schedule's run goes ahead.
    TzGate,
    /// Run the whole workflow here.
    Run,
}

impl<'a> Invocation<'a> {
    /// The subcommand's name on the command line.
    pub fn subcommand(self) -> &'static str {
        match self {
            Invocation::Begin { .. } => "begin",
            Invocation::Gate { .. } => "gate",
            Invocation::Step { .. } => "step",
            Invocation::Finish { .. } => "finish",
            Invocation::Publish => "publish",
            Invocation::TzGate => "tz-gate",
            Invocation::Run => "run",
        }
    }

    /// The flag and value of the reference beyond the spec, if the subcommand takes one.
    fn reference(self) -> Option<(&'static str, &'a str)> {
        match self {
            Invocation::Begin { job } | Invocation::Finish { job } => Some(("--job", job)),
            Invocation::Gate { step } | Invocation::Step { step } => Some(("--step", step)),
            Invocation::Publish | Invocation::TzGate | Invocation::Run => None,
        }
    }
}

/// The arguments after the program name: references only (the spec's path, its source hash,
/// a job or step id). Spec text never reaches them.
pub fn coder_step_args(workflow: &Workflow, invocation: Invocation<'_>) -> Vec<String> {
    let mut args = vec![
        invocation.subcommand().to_string(),
        "--spec".to_string(),
        workflow.source.clone(),
        "--source-hash".to_string(),
        workflow.source_hash.clone(),
    ];
    if let Some((flag, value)) = invocation.reference() {
        args.push(flag.to_string());
        args.push(value.to_string());
    }
    args
}

/// The `coder-step` command line a CI job runs: [`coder_step_args`], every one a shell word.
pub fn coder_step_line(workflow: &Workflow, invocation: Invocation<'_>) -> String {
    let mut line = PROGRAM.to_string();
    for arg in coder_step_args(workflow, invocation) {
        line.push(' ');
        line.push_str(&shell_quote(&arg));
    }
    line
}

/// A POSIX shell word for `text`: spec strings reach a shell only through this.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The forge a generated job runs on. Every generated CI file says so in [`env::FORGE`], so
/// `coder-step` never guesses it from the CI's own variables (a GitLab job that lacks
/// `GITLAB_CI`, a GitHub-compatible runner on a GitLab host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    Github,
    Gitlab,
}

impl Forge {
    pub const ALL: [Forge; 2] = [Forge::Github, Forge::Gitlab];

    /// The value of [`env::FORGE`].
    pub fn as_str(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
        }
    }

    pub fn parse(text: &str) -> Option<Forge> {
        Forge::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// The environment variables of the protocol: those CI files set for `coder-step`, those it
/// reads for overrides, and those it sets for an agent.
pub mod env {
    /// The forge the job runs on ([`super::Forge`]): every generated CI file sets it.
    pub const FORGE: &str = "CODER_FORGE";
    /// The run directory (every CI job sets it; locally it overrides the state directory).
    pub const RUN_DIR: &str = "CODER_RUN_DIR";
    /// The run's id, naming its directory under the state directory.
    pub const RUN_ID: &str = "CODER_RUN_ID";
    /// The folder that holds a workflow's runs, one directory each (a systemd unit's state
    /// directory); locally `<state>/coder/runs`.
    pub const RUNS_DIR: &str = "CODER_RUNS_DIR";
    /// The file of a GitLab job's `reports: dotenv`, where the runner writes its outputs.
    pub const DOTENV: &str = "CODER_DOTENV";
    /// The UTC cron that fired (`github.event.schedule`), for `tz-gate`.
    pub const SCHEDULE: &str = "CODER_SCHEDULE";
    /// The CI's view of the job (`failure`, `cancelled`…), for `finish`.
    pub const JOB_STATUS: &str = "CODER_JOB_STATUS";
    /// Seconds between SIGINT and SIGKILL when a step reaches its deadline.
    pub const KILL_GRACE_SEC: &str = "CODER_KILL_GRACE_SEC";
    /// An agent command line replacing the configured agent.
    pub const AGENT: &str = "CODER_AGENT";
    /// The URL `publish` pushes to instead of the CI's repository.
    pub const PUBLISH_REMOTE: &str = "CODER_PUBLISH_REMOTE";

    // What an agent step's process gets.
    /// The run's credits left.
    pub const BUDGET_REMAINING_CREDITS: &str = "CODER_BUDGET_REMAINING_CREDITS";
    /// The run's credits left, in US dollars.
    pub const BUDGET_REMAINING_USD: &str = "CODER_BUDGET_REMAINING_USD";
    /// Where the agent may report its usage, as JSON lines.
    pub const USAGE_FILE: &str = "CODER_USAGE_FILE";
    /// The configured model.
    pub const AGENT_MODEL: &str = "CODER_AGENT_MODEL";
    pub const STEP_GOAL: &str = "CODER_STEP_GOAL";
    pub const STEP_ROLE: &str = "CODER_STEP_ROLE";
    pub const STEP_ID: &str = "CODER_STEP_ID";
    pub const WORKFLOW_ID: &str = "CODER_WORKFLOW_ID";
    /// The prompt, as a file.
    pub const PROMPT_FILE: &str = "CODER_PROMPT_FILE";
    /// Where the agent writes its answer (a review, release notes).
    pub const STEP_OUTPUT: &str = "CODER_STEP_OUTPUT";
}

/// A value a step hands to the CI around it. GitHub reads it as a step output
/// (`steps.<id>.outputs.<name>`, through `$GITHUB_OUTPUT`); GitLab as a variable of the job's
/// dotenv report (through [`env::DOTENV`]). Either, both or neither may be present.
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

/// What `coder-step` says when the checkout's spec is not the one its workflow was compiled
/// from: it refuses to run a stale workflow against a newer spec.
pub fn drift_message(expected: &str, found: &str) -> String {
    format!(
        "the spec changed since `coder compile` generated this workflow (the workflow expects source hash {expected}, found {found}); run `coder compile` and commit"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("wf-1.yml"), "wf-1.yml");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(x)"), "'$(x)'");
    }
}
