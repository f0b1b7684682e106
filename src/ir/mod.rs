//! IR phase: the checked spec lowered to a target-neutral workflow, with every default
//! applied, every step in the job it runs in, and every node's origin in the spec so that
//! target errors still point into it. Targets emit from this, never from the spec.

mod lower;

use serde::Serialize;

pub use lower::{DEFAULT_WALL_CLOCK_SEC, LowerContext, lower, source_hash};

use crate::model::{Provider, Role};

/// A workflow ready for a target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workflow {
    pub workflow_id: String,
    pub name: String,
    /// Repo-relative path of the spec.
    pub source: String,
    /// `sha256:<hex>` of the spec's bytes; generated files carry it and `coder-step` checks it.
    pub source_hash: String,
    pub project: Project,
    pub triggers: Vec<Trigger>,
    pub policies: Policies,
    pub jobs: Vec<Job>,
    /// What a run of this workflow produces.
    pub artifacts: Vec<Artifact>,
    /// The workflow's `name`, and its `workflow_id` when written out: where diagnostics about
    /// the whole workflow point.
    #[serde(skip)]
    pub name_origin: Origin,
    #[serde(skip)]
    pub id_origin: Option<Origin>,
}

/// Where a node came from: its byte range, and its 1-based line and column. Targets point
/// their diagnostics here, so a limit found on the IR is reported in the spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: crate::diag::Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Project {
    /// `None` when neither the spec nor the git remote says.
    pub provider: Option<Provider>,
    pub owner: Option<String>,
    pub repo: Option<String>,
    /// The base branch runs start from.
    pub git_ref: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    Manual {
        origin: Origin,
    },
    Cron {
        cron: String,
        /// IANA name; `UTC` when the spec names none.
        timezone: String,
        origin: Origin,
        #[serde(skip)]
        cron_origin: Origin,
        /// `None` when the spec names no zone.
        #[serde(skip)]
        timezone_origin: Option<Origin>,
    },
    RepoEvent {
        event: String,
        /// `None`: every action of the event (or an event without actions).
        action: Option<String>,
        origin: Origin,
        #[serde(skip)]
        event_origin: Origin,
    },
    Webhook {
        name: String,
        /// The event type the webhook relay sends: `coder.<workflow_id>.<name>`.
        event_type: String,
        secret_ref: String,
        origin: Origin,
        #[serde(skip)]
        name_origin: Origin,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policies {
    /// `None`: the configured default cap applies at run time.
    pub max_credits: Option<f64>,
    /// The run's wall clock: the spec's `max_wall_clock_sec`, else [`DEFAULT_WALL_CLOCK_SEC`].
    /// The runner stops a run there; each target's job timeout follows from it.
    pub max_wall_clock_sec: i64,
    /// Where the spec sets `max_wall_clock_sec`, if it does.
    #[serde(skip)]
    pub max_wall_clock_origin: Option<Origin>,
    pub allowed_paths: Vec<String>,
    pub blocked_paths: Vec<String>,
    pub secrets: Vec<String>,
}

/// The policies of a spec that sets none: what lowering gives it.
impl Default for Policies {
    fn default() -> Policies {
        Policies {
            max_credits: None,
            max_wall_clock_sec: DEFAULT_WALL_CLOCK_SEC,
            max_wall_clock_origin: None,
            allowed_paths: Vec::new(),
            blocked_paths: Vec::new(),
            secrets: Vec::new(),
        }
    }
}

/// A unit the CI runs on one machine. A job boundary falls at each approval point (an
/// `approve` step, a gated step) and around each deploy step (one environment per job).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    /// `<workflow_id>-<n>`, n counting from 1.
    pub id: String,
    /// The job before this one; jobs run in order.
    pub needs: Option<String>,
    /// A person must approve before this job starts.
    pub approval: Option<Approval>,
    /// The deploy target whose environment this job runs in.
    pub environment: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    /// Why: the approve step's reason, or the gate selector that matched.
    pub reason: String,
    /// The step that needs it.
    pub step_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub step_id: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    /// The secrets of `policies.secrets` this step receives, in that list's order: those it
    /// lists, and for agent and deploy steps every secret no step lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// A failure of this command step is recorded and the run goes on (to end `failed`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_failure: bool,
    /// The step runs only when this earlier step failed (and went on); else it is skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_failed: Option<String>,
    pub origin: Origin,
}

impl Step {
    /// Whether CI runs this command step through `coder-step step` rather than as a plain
    /// step: it has a condition or continues on failure, so coder decides and records it.
    pub fn is_conditional_command(&self) -> bool {
        matches!(self.action, Action::Command { .. })
            && (self.continue_on_failure || self.if_failed.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Agent {
        role: Role,
        goal: String,
        /// Reviewers and architects read; the others may change the tree.
        read_only: bool,
    },
    Command {
        command: String,
    },
    Deploy {
        target: String,
    },
    Approve {
        reason: Option<String>,
    },
}

impl Action {
    /// The step's kind, as specs and run records name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Agent { .. } => "agent",
            Action::Command { .. } => "command",
            Action::Deploy { .. } => "deploy",
            Action::Approve { .. } => "approve",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Artifact {
    /// `git diff` against the base, with its ref and sha.
    Patch,
    /// The pull request (or review comment) the patch becomes.
    PrLink,
    /// Passed, failed and skipped counts of the command steps' tests.
    TestReport,
    DeployUrl,
    /// Every step's log.
    LogBundle,
    ReleaseNotes,
}
