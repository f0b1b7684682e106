//! GitHub Actions: the IR as a workflow file. Rust decides everything; serde-saphyr lays the
//! typed model out as YAML, which quotes whatever a spec string needs quoting.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::output::header;
use crate::ir::{Action, Job, Trigger, Workflow};

/// `targets/github/actions.toml`: every action a generated workflow uses, pinned.
const ACTIONS_TABLE: &str = include_str!("../../targets/github/actions.toml");

#[derive(Clone, Debug, Deserialize)]
pub struct PinnedAction {
    pub action: String,
    pub version: String,
    pub sha: String,
    pub sources: Vec<String>,
}

/// The pinned-actions table, by key (`checkout`, `upload-artifact`, …).
pub fn pinned_actions() -> IndexMap<String, PinnedAction> {
    toml::from_str(ACTIONS_TABLE).unwrap_or_default()
}

/// Where generated workflows live.
pub fn workflow_path(workflow_id: &str) -> String {
    format!(".github/workflows/coder-{workflow_id}.yml")
}

/// The run directory travels between jobs as one artifact per job.
const RUN_DIR: &str = "${{ runner.temp }}/coder-run";
/// Hosted jobs stop after 6 hours.
const MAX_TIMEOUT_MINUTES: i64 = 360;
/// Without a wall-clock budget, the job limit the runner's own deadline also uses.
const DEFAULT_TIMEOUT_MINUTES: i64 = 60;

#[derive(Serialize)]
struct File {
    name: String,
    #[serde(rename = "on")]
    on: IndexMap<&'static str, Value>,
    permissions: IndexMap<&'static str, &'static str>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    needs: Option<String>,
    #[serde(rename = "runs-on")]
    runs_on: String,
    #[serde(rename = "timeout-minutes")]
    timeout_minutes: i64,
    permissions: IndexMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    steps: Vec<GhStep>,
}

#[derive(Default, Serialize)]
struct GhStep {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "if")]
    condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    with: Option<IndexMap<&'static str, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
}

/// A POSIX shell word for `text`: spec strings reach a shell only through this.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The workflow file for `workflow`, header included.
pub fn emit(workflow: &Workflow) -> String {
    let actions = pinned_actions();
    let uses = |key: &str| {
        actions
            .get(key)
            .map(|a| format!("{}@{}", a.action, a.sha))
            .unwrap_or_default()
    };
    let timeout = workflow
        .policies
        .max_wall_clock_sec
        .map_or(DEFAULT_TIMEOUT_MINUTES, |s| (s + 59) / 60)
        .min(MAX_TIMEOUT_MINUTES);
    let mut jobs = IndexMap::new();
    for (index, job) in workflow.jobs.iter().enumerate() {
        let previous = index.checked_sub(1).map(|i| workflow.jobs[i].id.clone());
        jobs.insert(
            job.id.clone(),
            emit_job(workflow, job, previous, timeout, &uses),
        );
    }
    let file = File {
        name: workflow.name.clone(),
        on: triggers(workflow),
        permissions: IndexMap::new(),
        concurrency: Concurrency {
            group: format!("coder-{}", workflow.workflow_id),
            cancel_in_progress: false,
        },
        jobs,
    };
    let body = serde_saphyr::to_string(&file).unwrap_or_default();
    // Each pinned `uses:` says which version its SHA is, as people write them by hand.
    let body: String = body
        .lines()
        .map(|line| {
            let version = actions.values().find(|a| {
                let item = line.trim_start().trim_start_matches("- ");
                item.strip_prefix("uses: ") == Some(&format!("{}@{}", a.action, a.sha))
            });
            match version {
                Some(a) => format!("{line} # {}\n", a.version),
                None => format!("{line}\n"),
            }
        })
        .collect();
    format!("{}{body}", header(&workflow.source, &workflow.source_hash))
}

fn triggers(workflow: &Workflow) -> IndexMap<&'static str, Value> {
    let mut on: IndexMap<&'static str, Value> = IndexMap::new();
    for trigger in &workflow.triggers {
        match trigger {
            Trigger::Manual { .. } => {
                on.insert("workflow_dispatch", json!({}));
            }
            Trigger::Cron { cron, timezone, .. } => {
                let mut entry = json!({ "cron": cron });
                if timezone != "UTC" {
                    entry["timezone"] = json!(timezone);
                }
                push_to_list(on.entry("schedule").or_insert_with(|| json!([])), entry);
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

fn emit_job(
    workflow: &Workflow,
    job: &Job,
    previous: Option<String>,
    timeout_minutes: i64,
    uses: &dyn Fn(&str) -> String,
) -> GhJob {
    let spec = shell_quote(&workflow.source);
    let mut steps = vec![
        GhStep {
            uses: Some(uses("checkout")),
            with: Some(IndexMap::from([("persist-credentials", json!(false))])),
            ..GhStep::default()
        },
        GhStep {
            name: Some("Install coder-step".to_string()),
            run: Some(format!(
                "cargo install --locked --version {} coder-workflows --bin coder-step",
                env!("CARGO_PKG_VERSION")
            )),
            ..GhStep::default()
        },
    ];
    if let Some(previous) = &previous {
        steps.push(GhStep {
            name: Some("Restore the run directory".to_string()),
            uses: Some(uses("download-artifact")),
            with: Some(IndexMap::from([
                ("name", json!(format!("coder-run-{previous}"))),
                ("path", json!(RUN_DIR)),
            ])),
            ..GhStep::default()
        });
    }
    for step in &job.steps {
        let mut env = IndexMap::from([("CODER_RUN_DIR".to_string(), RUN_DIR.to_string())]);
        let run = match &step.action {
            Action::Command { command } => command.clone(),
            Action::Agent { .. } | Action::Deploy { .. } | Action::Approve { .. } => {
                if !matches!(step.action, Action::Approve { .. }) {
                    for secret in &workflow.policies.secrets {
                        env.insert(secret.clone(), format!("${{{{ secrets.{secret} }}}}"));
                    }
                }
                format!(
                    "coder-step step --spec {spec} --step {} --source-hash {}",
                    shell_quote(&step.step_id),
                    shell_quote(&workflow.source_hash)
                )
            }
        };
        steps.push(GhStep {
            name: Some(step.name.clone().unwrap_or_else(|| step.step_id.clone())),
            run: Some(run),
            env,
            ..GhStep::default()
        });
    }
    steps.push(GhStep {
        name: Some("Keep the run directory".to_string()),
        condition: Some("always()".to_string()),
        uses: Some(uses("upload-artifact")),
        with: Some(IndexMap::from([
            ("name", json!(format!("coder-run-{}", job.id))),
            ("path", json!(RUN_DIR)),
            ("if-no-files-found", json!("ignore")),
        ])),
        ..GhStep::default()
    });
    let environment = match (&job.environment, &job.approval) {
        (Some(target), _) => Some(target.clone()),
        (None, Some(approval)) => Some(format!(
            "{}-approve-{}",
            workflow.workflow_id, approval.step_id
        )),
        (None, None) => None,
    };
    GhJob {
        name: job
            .steps
            .iter()
            .map(|s| s.name.clone().unwrap_or_else(|| s.step_id.clone()))
            .collect::<Vec<_>>()
            .join(", "),
        needs: previous,
        runs_on: "ubuntu-latest".to_string(),
        timeout_minutes,
        permissions: IndexMap::from([("contents", "read")]),
        environment,
        steps,
    }
}
