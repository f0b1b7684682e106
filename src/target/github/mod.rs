//! GitHub Actions: the IR as a workflow file. Rust decides everything; serde-saphyr lays the
//! typed model out as YAML, which quotes whatever a spec string needs quoting.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::GeneratedFile;
use super::install;
use super::output::header;
use crate::ir::{Action, Artifact, Job, Trigger, Workflow};
use crate::protocol::{self, CiOutput, Invocation, env};
use crate::schedule;
use crate::workspace::config::{GithubConfig, RunsOn, TimezoneMode};

/// `targets/github/actions.toml`: every action a generated workflow uses, pinned.
const ACTIONS_TABLE: &str = include_str!("../../../targets/github/actions.toml");

#[derive(Clone, Debug, Deserialize)]
pub struct PinnedAction {
    pub action: String,
    pub version: String,
    pub sha: String,
    pub sources: Vec<String>,
}

/// The pinned-actions table, by key (`checkout`, `upload-artifact`, …); parsed once.
pub fn pinned_actions() -> &'static IndexMap<String, PinnedAction> {
    static TABLE: std::sync::OnceLock<IndexMap<String, PinnedAction>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| toml::from_str(ACTIONS_TABLE).unwrap_or_default())
}

/// Where generated workflows live.
pub fn workflow_path(workflow_id: &str) -> String {
    format!(".github/workflows/coder-{workflow_id}.yml")
}

/// The run directory travels between jobs as one artifact per job.
const RUN_DIR: &str = "${{ runner.temp }}/coder-run";
/// Hosted jobs stop after 6 hours.
const MAX_TIMEOUT_MINUTES: i64 = HOSTED_JOB_LIMIT_SEC / 60;
/// Pushing a branch and opening a pull request.
const PUBLISH_TIMEOUT_MINUTES: i64 = 10;
const DEFAULT_RUNS_ON: &str = "ubuntu-latest";
/// The default install's folder ([`install::ROOT`]) as `actions/cache` spells it; cached
/// between runs.
const INSTALL_CACHE: &str = "~/.coder-step";
/// The `id:` of a deploy step, whose `url` output the job's environment shows.
const DEPLOY_STEP_ID: &str = "deploy";
/// The `id:` of the schedule gate step, whose `run` output says whether the run goes on.
const SCHEDULE_GATE_STEP_ID: &str = "local-time";
/// Checking out and deciding from the clock.
const SCHEDULE_GATE_TIMEOUT_MINUTES: i64 = 10;

#[derive(Serialize)]
struct File {
    name: String,
    #[serde(rename = "on")]
    on: IndexMap<&'static str, Value>,
    permissions: IndexMap<&'static str, &'static str>,
    /// What every job's `coder-step` reads: the forge it runs on.
    env: IndexMap<&'static str, &'static str>,
    concurrency: Concurrency,
    jobs: IndexMap<String, GhJob>,
}

#[derive(Serialize)]
struct Concurrency {
    group: String,
    #[serde(rename = "cancel-in-progress")]
    cancel_in_progress: bool,
}

#[derive(Serialize)]
struct GhJob {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none", rename = "if")]
    condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    needs: Option<String>,
    #[serde(rename = "runs-on")]
    runs_on: Value,
    #[serde(rename = "timeout-minutes")]
    timeout_minutes: i64,
    permissions: IndexMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<IndexMap<&'static str, String>>,
    steps: Vec<GhStep>,
}

#[derive(Default, Serialize)]
struct GhStep {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "if")]
    condition: Option<String>,
    #[serde(
        skip_serializing_if = "std::ops::Not::not",
        rename = "continue-on-error"
    )]
    continue_on_error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    with: Option<IndexMap<&'static str, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
}

/// The environment an approval job runs in: GitHub holds the job until one of its required
/// reviewers approves, and `coder-step gate` checks the reviewers exist.
pub fn approval_environment(workflow_id: &str, step_id: &str) -> String {
    format!("{workflow_id}-approve-{step_id}")
}

/// Where the environments manifest of a workflow lives.
pub fn environments_path(workflow_id: &str) -> String {
    format!(".github/coder/{workflow_id}.environments.yml")
}

/// The files of one workflow: the workflow, and the manifest of the environments it needs
/// (when it needs any).
pub fn emit_files(workflow: &Workflow, config: &GithubConfig) -> Vec<GeneratedFile> {
    let mut files = vec![GeneratedFile {
        path: workflow_path(&workflow.workflow_id),
        contents: emit_with(workflow, config),
    }];
    let environments = environments(workflow);
    if !environments.is_empty() {
        files.push(GeneratedFile {
            path: environments_path(&workflow.workflow_id),
            contents: environments_manifest(workflow, &environments),
        });
    }
    files
}

/// The workflow file for `workflow` with the default runner host.
pub fn emit(workflow: &Workflow) -> String {
    emit_with(workflow, &GithubConfig::default())
}

/// An environment a workflow's jobs run in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub name: String,
    /// `approval`: required reviewers must approve before the job starts. `deploy`: the
    /// deploy target's environment, showing the deploy URL.
    pub kind: &'static str,
    /// The step the environment is for.
    pub step: String,
    /// Why an approval is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub required_reviewers: bool,
    /// The deploy's secrets: create them as this environment's secrets, so that only its
    /// jobs (and, with reviewers, only approved ones) can read them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// The environments of `workflow`'s jobs, in job order, each once. A gated deploy's approval
/// is its own environment's required reviewers: one environment needs them when any of its
/// jobs does.
pub fn environments(workflow: &Workflow) -> Vec<Environment> {
    let mut out: Vec<Environment> = Vec::new();
    for job in &workflow.jobs {
        let Some(name) = job_environment(workflow, job) else {
            continue;
        };
        let environment = match (&job.environment, &job.approval) {
            (None, Some(approval)) => Environment {
                name,
                kind: "approval",
                step: approval.step_id.clone(),
                reason: Some(approval.reason.clone()),
                required_reviewers: true,
                secrets: Vec::new(),
            },
            (_, approval) => Environment {
                name,
                kind: "deploy",
                step: job
                    .steps
                    .iter()
                    .find(|s| matches!(s.action, Action::Deploy { .. }))
                    .or(job.steps.first())
                    .map(|s| s.step_id.clone())
                    .unwrap_or_default(),
                reason: approval.as_ref().map(|a| a.reason.clone()),
                required_reviewers: approval.is_some(),
                secrets: job
                    .steps
                    .iter()
                    .filter(|s| matches!(s.action, Action::Deploy { .. }))
                    .flat_map(|s| s.secrets.iter().cloned())
                    .collect(),
            },
        };
        match out.iter_mut().find(|e| e.name == environment.name) {
            Some(known) => {
                let secrets = std::mem::take(&mut known.secrets);
                if environment.required_reviewers && !known.required_reviewers {
                    *known = environment.clone();
                }
                known.secrets = secrets;
                for secret in environment.secrets {
                    if !known.secrets.contains(&secret) {
                        known.secrets.push(secret);
                    }
                }
            }
            None => out.push(environment),
        }
    }
    out
}

/// The environment `job` runs in, if any: its deploy target's, else its approval's. A gated
/// deploy waits for the required reviewers of its deploy environment (GitHub's own deployment
/// review), so the deployment, its URL and its approval are all recorded in that environment.
pub fn job_environment(workflow: &Workflow, job: &Job) -> Option<String> {
    match (&job.environment, &job.approval) {
        (Some(target), _) => Some(target.clone()),
        (None, Some(approval)) => Some(approval_environment(
            &workflow.workflow_id,
            &approval.step_id,
        )),
        (None, None) => None,
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    workflow: String,
    environments: &'a [Environment],
}

fn environments_manifest(workflow: &Workflow, environments: &[Environment]) -> String {
    let manifest = Manifest {
        workflow: workflow_path(&workflow.workflow_id),
        environments,
    };
    let body = serde_saphyr::to_string(&manifest).unwrap_or_default();
    format!(
        "{}# The GitHub environments this workflow's jobs run in: create each before the first run\n\
         # (Settings → Environments). GitHub creates an environment it does not know unprotected, so\n\
         # `coder-step gate` refuses an approval environment without required reviewers. A deploy's\n\
         # `secrets` are that environment's secrets (Settings → Environments → NAME → secrets). To create one:\n\
         #   gh api --method PUT repos/OWNER/REPO/environments/NAME --input - <<< '{{\"reviewers\":[{{\"type\":\"User\",\"id\":USER_ID}}]}}'\n\
         {body}",
        header(&workflow.source, &workflow.source_hash)
    )
}

/// The workflow file for `workflow`, header included.
pub fn emit_with(workflow: &Workflow, config: &GithubConfig) -> String {
    let actions = pinned_actions();
    let emitter = Emitter {
        workflow,
        config,
        actions,
    };
    let mut jobs = IndexMap::new();
    let schedule_gate = emulates_time_zones(workflow, config).then(|| {
        let id = schedule_gate_job_id(workflow);
        jobs.insert(id.clone(), emitter.schedule_gate_job());
        id
    });
    for (index, job) in workflow.jobs.iter().enumerate() {
        let previous = index.checked_sub(1).map(|i| workflow.jobs[i].id.clone());
        let mut gh_job = emitter.work_job(job, previous, index == 0);
        if index == 0
            && let Some(gate) = &schedule_gate
        {
            // A run the gate skipped ends here; other events skip the gate and go on.
            let through = format!(
                "!cancelled() && (github.event_name != 'schedule' || needs.{gate}.outputs.run == 'true')"
            );
            gh_job.condition = Some(match gh_job.condition.take() {
                Some(condition) => format!("{through} && ({condition})"),
                None => through,
            });
            gh_job.needs = Some(gate.clone());
        }
        jobs.insert(job.id.clone(), gh_job);
    }
    if let Some(publish) = publishes(workflow)
        && let Some(last) = workflow.jobs.last()
    {
        jobs.insert(
            publish_job_id(workflow),
            emitter.publish_job(&last.id, publish),
        );
    }
    let file = File {
        name: workflow.name.clone(),
        on: triggers(workflow, config),
        permissions: IndexMap::new(),
        env: IndexMap::from([(env::FORGE, protocol::Forge::Github.as_str())]),
        concurrency: Concurrency {
            group: concurrency_group(workflow),
            cancel_in_progress: false,
        },
        jobs,
    };
    let body = serde_saphyr::to_string(&file).unwrap_or_default();
    let body = annotate(&body, actions);
    format!("{}{body}", header(&workflow.source, &workflow.source_hash))
}

/// Whether pull-request events (of any kind) start the workflow.
fn on_pull_requests(workflow: &Workflow) -> bool {
    workflow.triggers.iter().any(|t| {
        matches!(t, Trigger::RepoEvent { event, .. } if github_event(event).starts_with("pull_request"))
    })
}

/// One run of a workflow at a time; GitHub keeps one run pending per group and cancels the
/// one it replaces. A workflow on pull requests runs once at a time per pull request, so one
/// pull request's review never cancels another's (its other events share one group).
fn concurrency_group(workflow: &Workflow) -> String {
    if on_pull_requests(workflow) {
        format!(
            "coder-{}-${{{{ github.event.pull_request.number || 'runs' }}}}",
            workflow.workflow_id
        )
    } else {
        format!("coder-{}", workflow.workflow_id)
    }
}

/// Comments a careful author writes by hand: the version of each pinned `uses:`, and why
/// each job permission is granted. Only structural lines get one: a line that continues a
/// scalar (a `run:` block, a folded or quoted string) is spec text and stays as it is.
fn annotate(body: &str, actions: &IndexMap<String, PinnedAction>) -> String {
    let mut out = String::with_capacity(body.len() + 512);
    // Lines indented deeper than this continue the previous key's scalar value.
    let mut continuation_deeper_than: Option<usize> = None;
    let mut in_job_permissions = false;
    for line in body.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(limit) = continuation_deeper_than {
            if line.trim().is_empty() || indent > limit {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            continuation_deeper_than = None;
        }
        let item = &line[indent..];
        let (key_indent, entry) = match item.strip_prefix("- ") {
            Some(entry) => (indent + 2, entry),
            None => (indent, item),
        };
        let value = match entry.split_once(": ") {
            Some((_, value)) => value,
            None if entry.ends_with(':') => "",
            None => entry,
        };
        if !value.is_empty() {
            continuation_deeper_than = Some(key_indent);
        }
        if indent == 4 {
            in_job_permissions = entry == "permissions:";
        }
        let comment = if in_job_permissions && indent == 6 {
            permission_reason(entry)
        } else {
            entry.strip_prefix("uses: ").and_then(|reference| {
                let (action, sha) = reference.split_once('@')?;
                actions
                    .values()
                    .find(|a| a.action == action && a.sha == sha)
                    .map(|a| a.version.as_str())
            })
        };
        out.push_str(line);
        if let Some(comment) = comment {
            out.push_str(" # ");
            out.push_str(comment);
        }
        out.push('\n');
    }
    out
}

/// Why a job is granted a permission.
fn permission_reason(entry: &str) -> Option<&'static str> {
    Some(match entry {
        "contents: read" => "check out the repository",
        "actions: read" => {
            "coder-step gate reads the environment's reviewers and the run's approvals"
        }
        "contents: write" => "push the run's branch",
        "pull-requests: write" => "open or update the pull request, or comment on it",
        _ => return None,
    })
}

/// What the publish job does, if anything. A run whose agents may change the tree ends in a
/// pull request; a pull request's review ends in a comment on it. Either is made by a job of
/// its own: the only job with write rights.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    PullRequest,
    ReviewComment,
}

pub(crate) fn publishes(workflow: &Workflow) -> Option<Publish> {
    if workflow.artifacts.contains(&Artifact::PrLink) {
        return Some(Publish::PullRequest);
    }
    let on_pull_request = workflow
        .triggers
        .iter()
        .any(|t| matches!(t, Trigger::RepoEvent { event, .. } if event == "pull_request"));
    let reviews = workflow
        .jobs
        .iter()
        .flat_map(|j| &j.steps)
        .any(|s| matches!(s.action, Action::Agent { .. }));
    (on_pull_request && reviews).then_some(Publish::ReviewComment)
}

/// How a step is shown in the run's UI: its name, else what it does.
fn display_name(step: &crate::ir::Step) -> String {
    if let Some(name) = &step.name {
        return name.clone();
    }
    match &step.action {
        Action::Agent { role, .. } => format!("{} agent ({})", role.as_str(), step.step_id),
        Action::Deploy { target } => format!("Deploy to {target} ({})", step.step_id),
        Action::Approve { .. } => format!("Approval ({})", step.step_id),
        Action::Command { .. } => step.step_id.clone(),
    }
}

pub(crate) fn publish_job_id(workflow: &Workflow) -> String {
    format!("{}-publish", workflow.workflow_id)
}

/// The years the emulated schedules cover. Fixed, so the same spec gives the same bytes
/// whenever it is compiled; a coder release moves it forward.
const EMULATION_FROM_YEAR: i16 = 2026;
const EMULATION_YEARS: u16 = 15;

/// Whether schedules are emulated: configured so, and some cron names a zone other than UTC.
fn emulates_time_zones(workflow: &Workflow, config: &GithubConfig) -> bool {
    config.timezones == TimezoneMode::Emulate
        && workflow
            .triggers
            .iter()
            .any(|t| matches!(t, Trigger::Cron { timezone, .. } if timezone != "UTC"))
}

fn schedule_gate_job_id(workflow: &Workflow) -> String {
    format!("{}-schedule", workflow.workflow_id)
}

/// The `schedule` entries of one cron trigger: native (`timezone:`), or emulated (UTC crons,
/// one per offset of the zone, with the gate job letting only the intended local times
/// through).
fn schedule_entries(cron: &str, timezone: &str, config: &GithubConfig) -> Vec<Value> {
    if timezone == "UTC" {
        return vec![json!({ "cron": cron })];
    }
    if config.timezones == TimezoneMode::Emulate
        && let Ok(crons) = schedule::utc_crons(cron, timezone, EMULATION_FROM_YEAR, EMULATION_YEARS)
    {
        return crons.into_iter().map(|c| json!({ "cron": c })).collect();
    }
    vec![json!({ "cron": cron, "timezone": timezone })]
}

fn triggers(workflow: &Workflow, config: &GithubConfig) -> IndexMap<&'static str, Value> {
    let mut on: IndexMap<&'static str, Value> = IndexMap::new();
    for trigger in &workflow.triggers {
        match trigger {
            Trigger::Manual { .. } => {
                on.insert("workflow_dispatch", json!({}));
            }
            Trigger::Cron { cron, timezone, .. } => {
                let schedule = on.entry("schedule").or_insert_with(|| json!([]));
                for entry in schedule_entries(cron, timezone, config) {
                    // Two triggers can share a UTC cron; GitHub runs it once either way.
                    if !schedule.as_array().is_some_and(|s| s.contains(&entry)) {
                        push_to_list(schedule, entry);
                    }
                }
            }
            Trigger::RepoEvent { event, action, .. } => {
                let slot = on.entry(github_event(event)).or_insert_with(|| json!({}));
                if let Some(action) = action {
                    let action = if action == "merged" {
                        "closed"
                    } else {
                        action.as_str()
                    };
                    let types = slot
                        .as_object_mut()
                        .map(|o| o.entry("types").or_insert_with(|| json!([])));
                    if let Some(types) = types
                        && !types.as_array().is_some_and(|t| t.contains(&json!(action)))
                    {
                        push_to_list(types, json!(action));
                    }
                }
            }
            Trigger::Webhook { event_type, .. } => {
                let slot = on.entry("repository_dispatch").or_insert_with(|| json!({}));
                if let Some(types) = slot
                    .as_object_mut()
                    .map(|o| o.entry("types").or_insert_with(|| json!([])))
                {
                    push_to_list(types, json!(event_type));
                }
            }
        }
    }
    on
}

fn push_to_list(list: &mut Value, item: Value) {
    if let Some(items) = list.as_array_mut() {
        items.push(item);
    }
}

/// The `on:` key of a catalog event (the catalog uses GitHub's names).
fn github_event(event: &str) -> &'static str {
    crate::model::events::find(event).map_or("workflow_dispatch", |e| e.name)
}

struct Emitter<'a> {
    workflow: &'a Workflow,
    config: &'a GithubConfig,
    actions: &'a IndexMap<String, PinnedAction>,
}

impl Emitter<'_> {
    fn uses(&self, key: &str) -> String {
        self.actions
            .get(key)
            .map(|a| format!("{}@{}", a.action, a.sha))
            .unwrap_or_default()
    }

    fn runs_on(&self) -> Value {
        match &self.config.runs_on {
            None => json!(DEFAULT_RUNS_ON),
            Some(RunsOn::Label(label)) => json!(label),
            Some(RunsOn::Labels(labels)) => json!(labels),
        }
    }

    fn coder_step(&self, invocation: Invocation<'_>) -> String {
        protocol::coder_step_line(self.workflow, invocation)
    }

    fn run_dir_env() -> IndexMap<String, String> {
        IndexMap::from([(env::RUN_DIR.to_string(), RUN_DIR.to_string())])
    }

    /// Checkout, runner setup and `coder-step` on the `PATH`: how every job starts.
    fn preamble(&self) -> Vec<GhStep> {
        let mut with = IndexMap::from([("persist-credentials", json!(false))]);
        if on_pull_requests(self.workflow) {
            // A pull request's checkout is its merge commit; its two parents (the base and
            // the pull request's head) give the reviewer the change's diff.
            with.insert("fetch-depth", json!(2));
        }
        let mut steps = vec![GhStep {
            uses: Some(self.uses("checkout")),
            with: Some(with),
            ..GhStep::default()
        }];
        if !self.config.setup.is_empty() {
            steps.push(GhStep {
                name: Some("Set up the runner".to_string()),
                run: Some(self.config.setup.join("\n")),
                ..GhStep::default()
            });
        }
        match &self.config.install {
            Some(install) => steps.push(GhStep {
                name: Some("Install coder-step".to_string()),
                run: Some(install.clone()),
                ..GhStep::default()
            }),
            None => {
                let version = install::VERSION;
                steps.push(GhStep {
                    name: Some("Cache coder-step".to_string()),
                    uses: Some(self.uses("cache")),
                    with: Some(IndexMap::from([
                        ("path", json!(INSTALL_CACHE)),
                        (
                            "key",
                            json!(format!(
                                "coder-step-{version}-${{{{ runner.os }}}}-${{{{ runner.arch }}}}"
                            )),
                        ),
                    ])),
                    ..GhStep::default()
                });
                steps.push(GhStep {
                    name: Some(format!("Install coder-step {version}")),
                    run: Some(format!(
                        "{}\necho \"{}/bin\" >> \"$GITHUB_PATH\"",
                        install::script("[github] install"),
                        install::ROOT
                    )),
                    // A repository or organization variable points the download at a mirror.
                    env: IndexMap::from([(
                        install::RELEASE_URL_VARIABLE.to_string(),
                        format!("${{{{ vars.{} }}}}", install::RELEASE_URL_VARIABLE),
                    )]),
                    ..GhStep::default()
                });
            }
        }
        steps
    }

    fn restore_run_dir(&self, previous: &str) -> GhStep {
        GhStep {
            name: Some("Restore the run directory".to_string()),
            uses: Some(self.uses("download-artifact")),
            with: Some(IndexMap::from([
                ("name", json!(format!("coder-run-{previous}"))),
                ("path", json!(RUN_DIR)),
            ])),
            ..GhStep::default()
        }
    }

    fn keep_run_dir(&self, job_id: &str) -> GhStep {
        GhStep {
            name: Some("Keep the run directory".to_string()),
            condition: Some("always()".to_string()),
            uses: Some(self.uses("upload-artifact")),
            with: Some(IndexMap::from([
                ("name", json!(format!("coder-run-{job_id}"))),
                ("path", json!(RUN_DIR)),
                ("if-no-files-found", json!("ignore")),
                ("include-hidden-files", json!(true)),
            ])),
            ..GhStep::default()
        }
    }

    fn work_job(&self, job: &Job, previous: Option<String>, first: bool) -> GhJob {
        let workflow = self.workflow;
        let mut steps = self.preamble();
        if let Some(previous) = &previous {
            steps.push(self.restore_run_dir(previous));
        }
        steps.push(GhStep {
            name: Some("Begin".to_string()),
            run: Some(self.coder_step(Invocation::Begin { job: &job.id })),
            env: Self::run_dir_env(),
            ..GhStep::default()
        });
        let mut permissions = IndexMap::from([("contents", "read")]);
        if let Some(approval) = &job.approval {
            // Reading the environment's reviewers and the run's approvals.
            permissions.insert("actions", "read");
            let mut env = Self::run_dir_env();
            env.insert(
                "GITHUB_TOKEN".to_string(),
                "${{ github.token }}".to_string(),
            );
            steps.push(GhStep {
                name: Some("Check the approval".to_string()),
                run: Some(self.coder_step(Invocation::Gate {
                    step: &approval.step_id,
                })),
                env,
                ..GhStep::default()
            });
        }
        let mut deploy_step = false;
        for step in &job.steps {
            let mut env = Self::run_dir_env();
            let mut id = None;
            // Exactly the secrets this step receives; a deploy's are its environment's.
            for secret in &step.secrets {
                env.insert(secret.clone(), format!("${{{{ secrets.{secret} }}}}"));
            }
            let run = match &step.action {
                // The approval is the gate above; there is nothing else to run.
                Action::Approve { .. } => continue,
                // coder-step decides and records a conditional command (its outcome feeds
                // the prompt of the agent that runs on it, and the run's record).
                Action::Command { .. } if step.is_conditional_command() => {
                    self.coder_step(Invocation::Step {
                        step: &step.step_id,
                    })
                }
                Action::Command { command } => command.clone(),
                Action::Agent { .. } | Action::Deploy { .. } => {
                    if matches!(step.action, Action::Deploy { .. }) {
                        id = Some(DEPLOY_STEP_ID.to_string());
                        deploy_step = true;
                    }
                    self.coder_step(Invocation::Step {
                        step: &step.step_id,
                    })
                }
            };
            if step.continue_on_failure {
                id = Some(outcome_step_id(&step.step_id));
            }
            // Natively skipped when the step it runs on is in this job and did not fail;
            // coder-step decides (and records) the skip when that step ran in an earlier job.
            let condition = step
                .if_failed
                .as_deref()
                .filter(|failed| job.steps.iter().any(|s| s.step_id == *failed))
                .map(|failed| format!("steps.{}.outcome == 'failure'", outcome_step_id(failed)));
            steps.push(GhStep {
                name: Some(display_name(step)),
                id,
                condition,
                continue_on_error: step.continue_on_failure,
                run: Some(run),
                env,
                ..GhStep::default()
            });
        }
        steps.push(GhStep {
            name: Some("Finish".to_string()),
            condition: Some("always()".to_string()),
            run: Some(self.coder_step(Invocation::Finish { job: &job.id })),
            env: {
                // A plain `run:` command step that failed is seen only through the job status.
                let mut env = Self::run_dir_env();
                env.insert(env::JOB_STATUS.to_string(), "${{ job.status }}".to_string());
                env
            },
            ..GhStep::default()
        });
        steps.push(self.keep_run_dir(&job.id));
        let environment = job_environment(workflow, job).map(|name| {
            if deploy_step {
                json!({ "name": name, "url": format!("${{{{ steps.{DEPLOY_STEP_ID}.outputs.{} }}}}", CiOutput::DeployUrl.step_output_name()) })
            } else {
                json!(name)
            }
        });
        GhJob {
            name: job
                .steps
                .iter()
                .map(display_name)
                .collect::<Vec<_>>()
                .join(", "),
            condition: first.then(|| merged_only_condition(workflow)).flatten(),
            needs: previous,
            runs_on: self.runs_on(),
            timeout_minutes: self.timeout_minutes(),
            permissions,
            environment,
            outputs: None,
            steps,
        }
    }

    /// The first job of an emulated schedule: `coder-step tz-gate` decides from the UTC cron
    /// that fired whether this is an intended local time.
    fn schedule_gate_job(&self) -> GhJob {
        let mut steps = self.preamble();
        let mut env = Self::run_dir_env();
        // The UTC cron that fired: text of this workflow file, passed as data all the same.
        env.insert(
            env::SCHEDULE.to_string(),
            "${{ github.event.schedule }}".to_string(),
        );
        steps.push(GhStep {
            name: Some("Check the local time".to_string()),
            id: Some(SCHEDULE_GATE_STEP_ID.to_string()),
            run: Some(self.coder_step(Invocation::TzGate)),
            env,
            ..GhStep::default()
        });
        GhJob {
            name: "Check the local time of the schedule".to_string(),
            condition: Some("github.event_name == 'schedule'".to_string()),
            needs: None,
            runs_on: self.runs_on(),
            timeout_minutes: SCHEDULE_GATE_TIMEOUT_MINUTES,
            permissions: IndexMap::from([("contents", "read")]),
            environment: None,
            outputs: Some(IndexMap::from([(
                "run",
                format!(
                    "${{{{ steps.{SCHEDULE_GATE_STEP_ID}.outputs.{} }}}}",
                    CiOutput::ScheduleRun.step_output_name()
                ),
            )])),
            steps,
        }
    }

    fn publish_job(&self, last_job: &str, publish: Publish) -> GhJob {
        let mut steps = self.preamble();
        steps.push(self.restore_run_dir(last_job));
        let token = match &self.config.token_secret {
            Some(secret) => format!("${{{{ secrets.{} }}}}", secret.as_str()),
            None => "${{ github.token }}".to_string(),
        };
        let mut env = Self::run_dir_env();
        env.insert("GH_TOKEN".to_string(), token);
        let (name, permissions) = match publish {
            Publish::PullRequest => (
                "Open or update the pull request",
                IndexMap::from([("contents", "write"), ("pull-requests", "write")]),
            ),
            Publish::ReviewComment => (
                "Comment the review on the pull request",
                IndexMap::from([("contents", "read"), ("pull-requests", "write")]),
            ),
        };
        steps.push(GhStep {
            name: Some(name.to_string()),
            run: Some(self.coder_step(Invocation::Publish)),
            env,
            ..GhStep::default()
        });
        GhJob {
            name: "Publish".to_string(),
            condition: None,
            needs: Some(last_job.to_string()),
            runs_on: self.runs_on(),
            timeout_minutes: PUBLISH_TIMEOUT_MINUTES,
            permissions,
            environment: None,
            outputs: None,
            steps,
        }
    }

    fn timeout_minutes(&self) -> i64 {
        ((self.workflow.policies.max_wall_clock_sec + 59) / 60).min(MAX_TIMEOUT_MINUTES)
    }
}

/// The `id:` of a step that continues on failure, whose `outcome` the steps that run only on
/// its failure read (step ids may start with a digit; GitHub's may not).
fn outcome_step_id(step_id: &str) -> String {
    format!("step-{step_id}")
}

/// GitHub has no `merged` activity: a merge is `closed` with the merged flag set. When only
/// merges are wanted, the first job lets closed-but-unmerged events through to nothing.
fn merged_only_condition(workflow: &Workflow) -> Option<String> {
    let pull_request_actions: Vec<Option<&str>> = workflow
        .triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::RepoEvent { event, action, .. } if event == "pull_request" => {
                Some(action.as_deref())
            }
            _ => None,
        })
        .collect();
    let merged = pull_request_actions.contains(&Some("merged"));
    let all_closed = pull_request_actions
        .iter()
        .any(|a| matches!(a, None | Some("closed")));
    (merged && !all_closed).then(|| {
        "github.event_name != 'pull_request' || github.event.action != 'closed' || github.event.pull_request.merged".to_string()
    })
}

mod limits;
pub use limits::{HOSTED_JOB_LIMIT_SEC, MIN_SCHEDULE_MINUTES};

/// GitHub Actions: a workflow file per spec, plus the manifest of its environments.
pub struct Github;

impl super::Target for Github {
    fn name(&self) -> &'static str {
        "github"
    }

    fn provider(&self) -> Option<crate::model::Provider> {
        Some(crate::model::Provider::Github)
    }

    fn paths(&self, workflow_id: &str) -> Vec<String> {
        vec![workflow_path(workflow_id), environments_path(workflow_id)]
    }

    fn limits(
        &self,
        workflow: &Workflow,
        _config: &crate::workspace::Config,
    ) -> Vec<crate::diag::Diagnostic> {
        limits::limits(workflow)
    }

    fn emit(&self, workflow: &Workflow, config: &crate::workspace::Config) -> Vec<GeneratedFile> {
        emit_files(workflow, &config.github)
    }

    /// The GitHub environments to create before a first run.
    fn notes(&self, workflow: &Workflow, _config: &crate::workspace::Config) -> String {
        let environments = environments(workflow);
        if environments.is_empty() {
            return String::new();
        }
        let mut out = format!(
            "\n`{}` runs in these GitHub environments; create them before its first run (see {}):\n",
            workflow.workflow_id,
            environments_path(&workflow.workflow_id)
        );
        let width = environments.iter().map(|e| e.name.len()).max().unwrap_or(0) + 2;
        for environment in environments {
            let mut what = match &environment.reason {
                Some(_) => format!("required reviewers approve step `{}`", environment.step),
                None => format!("deploy step `{}`", environment.step),
            };
            if !environment.secrets.is_empty() {
                what.push_str(&format!(
                    "; environment secrets {}",
                    environment
                        .secrets
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.push_str(&format!("  {:<width$}{what}\n", environment.name));
        }
        out
    }
}
