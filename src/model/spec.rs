use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::diag::Span;

/// A value with the span of the source text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// Spans are invisible in the schema: a `Spanned<T>` is written as a `T`.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A repeatable agent workflow: triggers, policies and steps.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields, title = "coder workflow spec")]
pub struct Spec {
    /// The JSON Schema this file follows (for editors; ignored by coder).
    #[schemars(rename = "$schema")]
    pub schema: Option<Spanned<String>>,
    /// Spec format version. Only version 1 exists; it is the default.
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<Spanned<u64>>,
    /// Unique id of the workflow; names the generated files. Default: the file name without
    /// its extension.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub workflow_id: Option<Spanned<String>>,
    /// Human-readable name, shown in CI.
    #[schemars(length(min = 1))]
    pub name: Spanned<String>,
    /// The repository the workflow works on. Each field defaults to what the git remote
    /// `origin` says.
    pub project: Option<Spanned<Project>>,
    /// What starts the workflow. Default: started by hand only.
    pub triggers: Option<Vec<Spanned<Trigger>>>,
    /// Limits the workflow runs under.
    pub policies: Option<Policies>,
    /// The steps, run in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<Spanned<Step>>,
}

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Project {
    /// Where the repository is hosted.
    pub provider: Option<Spanned<Provider>>,
    /// User, organisation or group (GitLab subgroups as `group/subgroup`).
    pub owner: Option<Spanned<String>>,
    /// Repository name.
    pub repo: Option<Spanned<String>>,
    /// Base branch. Default: the remote's default branch, else the current branch, else `main`.
    #[schemars(rename = "ref")]
    pub git_ref: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema, serde::Serialize)]
#[schemars(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Github,
    Gitlab,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Github, Provider::Gitlab];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
        }
    }
}

/// What starts a workflow.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Started by a person (workflow_dispatch, a GitLab web pipeline, `systemctl start`).
    Manual {},
    /// On a schedule.
    Cron {
        /// Standard 5-field cron: minute hour day-of-month month day-of-week.
        cron: Spanned<String>,
        /// IANA time zone the schedule is read in. Default: UTC.
        timezone: Option<Spanned<String>>,
    },
    /// On a repository event, `<event>` or `<event>.<action>`, such as `pull_request.opened`.
    RepoEvent { event: Spanned<String> },
    /// On a signed call from outside.
    Webhook {
        /// Names the event type (`coder.<workflow_id>.<name>`).
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        name: Spanned<String>,
        /// The secret (listed in `policies.secrets`) that signs the call.
        secret_ref: Spanned<String>,
    },
}

impl Trigger {
    pub const KINDS: [&'static str; 4] = ["manual", "cron", "repo_event", "webhook"];

    /// The `type` that selects this trigger.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Manual {} => "manual",
            Trigger::Cron { .. } => "cron",
            Trigger::RepoEvent { .. } => "repo_event",
            Trigger::Webhook { .. } => "webhook",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Policies {
    pub budget: Option<Budget>,
    pub repo: Option<RepoPolicy>,
    /// Names of the secrets the workflow's steps may read, as environment variables.
    pub secrets: Option<Vec<Spanned<String>>>,
    pub gates: Option<Gates>,
}

#[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Budget {
    /// Credit cap for the whole run (1 credit = one US cent by default).
    #[schemars(range(min = 0.000001, max = 1_000_000.0))]
    pub max_credits: Option<Spanned<f64>>,
    /// Wall-clock cap for the whole run, in seconds; time waiting for approval does not count.
    #[schemars(range(min = 1, max = 604_800))]
    pub max_wall_clock_sec: Option<Spanned<i64>>,
}

#[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RepoPolicy {
    /// Repo-relative paths or globs agents may change (`src/` = everything under `src`).
    pub allowed_paths: Option<Vec<Spanned<String>>>,
    /// Repo-relative paths or globs agents may not change; blocked wins over allowed.
    pub blocked_paths: Option<Vec<Spanned<String>>>,
}

#[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Gates {
    /// Steps that wait for a person's approval: `deploy.<target>`, `agent.<role>`,
    /// `command`, `approve`, or a step id.
    pub require_human_approval_for: Option<Vec<Spanned<String>>>,
}

/// One step of a workflow.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Run a coding agent with a role and a goal.
    Agent {
        /// Default: `s<position>`, counting from 1.
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        step_id: Option<Spanned<String>>,
        name: Option<Spanned<String>>,
        role: Spanned<Role>,
        /// The task, in plain words.
        #[schemars(length(min = 1))]
        goal: Spanned<String>,
        /// Secrets from `policies.secrets` this step receives. A secret some step lists goes
        /// to those steps only; one no step lists goes to every agent and deploy step.
        secrets: Option<Vec<Spanned<String>>>,
        /// Run this step only when the step with this id, earlier in the workflow, failed and
        /// the run went on (that step has `continue_on_failure: true`); otherwise it is skipped.
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        if_failed: Option<Spanned<String>>,
    },
    /// Run a shell command.
    Command {
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        step_id: Option<Spanned<String>>,
        name: Option<Spanned<String>>,
        #[schemars(length(min = 1))]
        command: Spanned<String>,
        /// Secrets from `policies.secrets` this step receives. A secret some step lists goes
        /// to those steps only; one no step lists goes to every agent and deploy step.
        secrets: Option<Vec<Spanned<String>>>,
        /// When the command fails, record the failure and go on with the next steps; the run
        /// still ends `failed`. Steps with `if_failed` naming this step run only then.
        continue_on_failure: Option<Spanned<bool>>,
        /// Run this step only when the step with this id, earlier in the workflow, failed and
        /// the run went on (that step has `continue_on_failure: true`); otherwise it is skipped.
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        if_failed: Option<Spanned<String>>,
    },
    /// Deploy to a target: `preview`, `prod`, or one configured in `[deploy.<name>]`.
    Deploy {
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        step_id: Option<Spanned<String>>,
        name: Option<Spanned<String>>,
        #[schemars(length(min = 1))]
        target: Spanned<String>,
        /// Secrets from `policies.secrets` this step receives. A secret some step lists goes
        /// to those steps only; one no step lists goes to every agent and deploy step.
        secrets: Option<Vec<Spanned<String>>>,
    },
    /// Wait for a person's approval.
    Approve {
        #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
        step_id: Option<Spanned<String>>,
        name: Option<Spanned<String>>,
        /// What the approver is asked to approve.
        reason: Option<Spanned<String>>,
    },
    /// A step with errors (already reported). It keeps its place so that ids by position and
    /// the checks of the other steps stay right.
    #[schemars(skip)]
    Invalid { step_id: Option<Spanned<String>> },
}

/// The step kinds and the fields each one has, besides `type`.
pub const STEP_KINDS: [(&str, &[&str]); 4] = [
    (
        "agent",
        &["step_id", "name", "role", "goal", "secrets", "if_failed"],
    ),
    (
        "command",
        &[
            "step_id",
            "name",
            "command",
            "secrets",
            "continue_on_failure",
            "if_failed",
        ],
    ),
    ("deploy", &["step_id", "name", "target", "secrets"]),
    ("approve", &["step_id", "name", "reason"]),
];

/// The trigger kinds and the fields each one has, besides `type`.
pub const TRIGGER_KINDS: [(&str, &[&str]); 4] = [
    ("manual", &[]),
    ("cron", &["cron", "timezone"]),
    ("repo_event", &["event"]),
    ("webhook", &["name", "secret_ref"]),
];

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Agent { .. } => "agent",
            Step::Command { .. } => "command",
            Step::Deploy { .. } => "deploy",
            Step::Approve { .. } => "approve",
            Step::Invalid { .. } => "invalid",
        }
    }

    /// The secrets the step lists (`None`: it lists none).
    pub fn secrets(&self) -> Option<&[Spanned<String>]> {
        match self {
            Step::Agent { secrets, .. }
            | Step::Command { secrets, .. }
            | Step::Deploy { secrets, .. } => secrets.as_deref(),
            Step::Approve { .. } | Step::Invalid { .. } => None,
        }
    }

    /// The earlier step whose failure this step runs on (`if_failed`), if any.
    pub fn if_failed(&self) -> Option<&Spanned<String>> {
        match self {
            Step::Agent { if_failed, .. } | Step::Command { if_failed, .. } => if_failed.as_ref(),
            _ => None,
        }
    }

    /// Whether a failure of this step lets the run go on (`continue_on_failure: true`).
    pub fn continues_on_failure(&self) -> bool {
        matches!(
            self,
            Step::Command {
                continue_on_failure: Some(Spanned { value: true, .. }),
                ..
            }
        )
    }

    pub fn explicit_id(&self) -> Option<&Spanned<String>> {
        match self {
            Step::Agent { step_id, .. }
            | Step::Command { step_id, .. }
            | Step::Deploy { step_id, .. }
            | Step::Approve { step_id, .. }
            | Step::Invalid { step_id } => step_id.as_ref(),
        }
    }
}

/// The agent's role: its charter, and whether it may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema, serde::Serialize)]
#[schemars(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Architect,
    Implementer,
    Tester,
    Reviewer,
    ReleaseEngineer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Architect,
        Role::Implementer,
        Role::Tester,
        Role::Reviewer,
        Role::ReleaseEngineer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Architect => "architect",
            Role::Implementer => "implementer",
            Role::Tester => "tester",
            Role::Reviewer => "reviewer",
            Role::ReleaseEngineer => "release_engineer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Gate selectors name step kinds with these words, so no step id may be one of them.
pub const RESERVED_STEP_IDS: [&str; 4] = ["agent", "command", "deploy", "approve"];

/// Deploy targets every workflow may use; config adds more with `[deploy.<name>]`.
pub const BUILTIN_DEPLOY_TARGETS: [&str; 2] = ["preview", "prod"];

/// Whether `id` is a valid workflow, step or webhook id: `[A-Za-z0-9][A-Za-z0-9_-]*`.
pub fn is_valid_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `name` is a secret's name: an environment-variable name (letters, digits and `_`,
/// not starting with a digit), as secrets reach steps.
pub fn is_env_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Spec {
    /// The step's id: its `step_id`, else `s<position>` counting from 1.
    pub fn step_id(&self, index: usize) -> Cow<'_, str> {
        match self.steps.get(index).and_then(|s| s.value.explicit_id()) {
            Some(id) => Cow::Borrowed(id.as_str()),
            None => Cow::Owned(format!("s{}", index + 1)),
        }
    }

    pub fn triggers(&self) -> &[Spanned<Trigger>] {
        self.triggers.as_deref().unwrap_or(&[])
    }

    pub fn policies(&self) -> &Policies {
        static NONE: Policies = Policies {
            budget: None,
            repo: None,
            secrets: None,
            gates: None,
        };
        self.policies.as_ref().unwrap_or(&NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("wf_release-train2"));
        assert!(is_valid_id("1st"));
        assert!(!is_valid_id("_x"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("a.b"));
    }
}
