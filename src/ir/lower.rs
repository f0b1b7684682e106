//! Spec → IR: defaults applied, steps cut into jobs.

use sha2::{Digest, Sha256};

use super::{Action, Approval, Artifact, Job, Origin, Policies, Project, Step, Trigger, Workflow};
use crate::diag::{SourceFile, Span};
use crate::model::{self, Role, Selector, Spec};
use crate::workspace::git::GitInfo;

/// The wall clock a run gets when its spec sets no `max_wall_clock_sec`: one hour.
pub const DEFAULT_WALL_CLOCK_SEC: i64 = 3600;

/// What lowering needs besides the spec.
pub struct LowerContext<'a> {
    pub file: &'a SourceFile,
    /// `sha256:<hex>` of the spec file's bytes.
    pub source_hash: &'a str,
    /// Repo-relative path of the spec.
    pub source: &'a str,
    /// The file name without its extension: the default workflow id.
    pub file_stem: &'a str,
    pub git: &'a GitInfo,
}

/// Lower a spec that checked without errors.
pub fn lower(spec: &Spec, cx: &LowerContext<'_>) -> Workflow {
    let origin = |span: Span| {
        let at = cx.file.line_col(span.start);
        Origin {
            line: at.line,
            column: at.column,
            span,
        }
    };
    let workflow_id = spec
        .workflow_id
        .as_ref()
        .map_or_else(|| cx.file_stem.to_string(), |id| id.value.clone());
    let triggers = match spec.triggers.as_deref() {
        None | Some([]) => vec![Trigger::Manual {
            origin: origin(spec.name.span),
        }],
        Some(triggers) => triggers
            .iter()
            .map(|t| lower_trigger(&t.value, &workflow_id, origin(t.span), &origin))
            .collect(),
    };
    let steps: Vec<(Step, Option<String>)> = (0..spec.steps.len())
        .filter_map(|i| {
            let mut step = lower_step(spec, i, origin(spec.steps[i].span))?;
            step.secrets = step_secrets(spec, i);
            Some((step, gate_reason(spec, i)))
        })
        .collect();
    let artifacts = artifacts(&steps);
    Workflow {
        source: cx.source.to_string(),
        source_hash: cx.source_hash.to_string(),
        project: project(spec, cx.git),
        name: spec.name.value.clone(),
        triggers,
        policies: policies(spec, &origin),
        jobs: cut_into_jobs(&workflow_id, steps),
        artifacts,
        name_origin: origin(spec.name.span),
        id_origin: spec.workflow_id.as_ref().map(|id| origin(id.span)),
        workflow_id,
    }
}

/// `sha256:<hex>` of a spec's bytes.
pub fn source_hash(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

fn project(spec: &Spec, git: &GitInfo) -> Project {
    let written = spec.project.as_ref().map(|p| &p.value);
    let written_provider = written.and_then(|p| p.provider.as_ref().map(|p| p.value));
    // A remote on another provider says nothing about this project.
    let remote = git
        .remote
        .as_ref()
        .filter(|r| written_provider.is_none() || r.provider == written_provider);
    let text = |field: Option<&model::Spanned<String>>| field.map(|f| f.value.clone());
    Project {
        provider: written_provider.or_else(|| remote.and_then(|r| r.provider)),
        owner: written
            .and_then(|p| text(p.owner.as_ref()))
            .or_else(|| remote.map(|r| r.owner.clone())),
        repo: written
            .and_then(|p| text(p.repo.as_ref()))
            .or_else(|| remote.map(|r| r.repo.clone())),
        git_ref: written
            .and_then(|p| text(p.git_ref.as_ref()))
            .unwrap_or_else(|| git.default_branch.clone()),
    }
}

fn lower_trigger(
    trigger: &model::Trigger,
    workflow_id: &str,
    origin: Origin,
    origin_of: &dyn Fn(Span) -> Origin,
) -> Trigger {
    match trigger {
        model::Trigger::Manual {} => Trigger::Manual { origin },
        model::Trigger::Cron { cron, timezone } => Trigger::Cron {
            // Fields separated by single spaces: the form every target writes.
            cron: cron.value.split_whitespace().collect::<Vec<_>>().join(" "),
            timezone: timezone
                .as_ref()
                .map_or_else(|| "UTC".to_string(), |tz| tz.value.clone()),
            origin,
            cron_origin: origin_of(cron.span),
            timezone_origin: timezone.as_ref().map(|tz| origin_of(tz.span)),
        },
        model::Trigger::RepoEvent { event } => {
            let event_span = event.span;
            let text = event.value.trim();
            let (event, action) = match text.split_once('.') {
                Some((event, action)) => (event, Some(action.to_string())),
                None => (text, None),
            };
            Trigger::RepoEvent {
                event: event.to_string(),
                action,
                origin,
                event_origin: origin_of(event_span),
            }
        }
        model::Trigger::Webhook { name, secret_ref } => Trigger::Webhook {
            event_type: format!("coder.{workflow_id}.{}", name.value),
            name: name.value.clone(),
            secret_ref: secret_ref.value.clone(),
            origin,
            name_origin: origin_of(name.span),
        },
    }
}

fn lower_step(spec: &Spec, index: usize, origin: Origin) -> Option<Step> {
    let (name, action) = match &spec.steps[index].value {
        model::Step::Agent {
            name, role, goal, ..
        } => (
            name,
            Action::Agent {
                role: role.value,
                goal: goal.value.clone(),
                read_only: matches!(role.value, Role::Reviewer | Role::Architect),
            },
        ),
        model::Step::Command { name, command, .. } => (
            name,
            Action::Command {
                command: command.value.clone(),
            },
        ),
        model::Step::Deploy { name, target, .. } => (
            name,
            Action::Deploy {
                target: target.value.clone(),
            },
        ),
        model::Step::Approve { name, reason, .. } => (
            name,
            Action::Approve {
                reason: reason.as_ref().map(|r| r.value.clone()),
            },
        ),
        // A spec with errors is never lowered.
        model::Step::Invalid { .. } => return None,
    };
    Some(Step {
        step_id: spec.step_id(index).into_owned(),
        name: name.as_ref().map(|n| n.value.clone()),
        action,
        secrets: Vec::new(),
        continue_on_failure: spec.steps[index].value.continues_on_failure(),
        if_failed: spec.steps[index]
            .value
            .if_failed()
            .map(|id| id.value.clone()),
        origin,
    })
}

/// The secrets step `index` receives: those it lists; an agent or deploy step also every
/// secret that no step lists (claims). In `policies.secrets` order, each once.
fn step_secrets(spec: &Spec, index: usize) -> Vec<String> {
    let step = &spec.steps[index].value;
    let lists = |step: &model::Step, name: &str| {
        step.secrets()
            .is_some_and(|listed| listed.iter().any(|s| s.value == name))
    };
    let unclaimed_too = matches!(step, model::Step::Agent { .. } | model::Step::Deploy { .. });
    spec.policies()
        .secrets
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|s| s.value.as_str())
        .filter(|name| {
            lists(step, name)
                || (unclaimed_too && !spec.steps.iter().any(|s| lists(&s.value, name)))
        })
        .fold(Vec::new(), |mut out: Vec<String>, name| {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
            out
        })
}

/// The first gate selector that matches step `index`, if any.
fn gate_reason(spec: &Spec, index: usize) -> Option<String> {
    let gates = spec.policies().gates.as_ref()?;
    gates
        .require_human_approval_for
        .as_deref()?
        .iter()
        .find(|entry| {
            Selector::parse(&entry.value).is_some_and(|selector| selector.matches(spec, index))
        })
        .map(|entry| format!("gate `{}`", entry.value))
}

fn policies(spec: &Spec, origin_of: &dyn Fn(Span) -> Origin) -> Policies {
    let policies = spec.policies();
    let texts = |list: Option<&[model::Spanned<String>]>| {
        list.unwrap_or(&[])
            .iter()
            .map(|s| s.value.clone())
            .collect()
    };
    let budget = policies.budget.as_ref();
    let repo = policies.repo.as_ref();
    Policies {
        max_credits: budget.and_then(|b| b.max_credits.as_ref()).map(|c| c.value),
        max_wall_clock_sec: budget
            .and_then(|b| b.max_wall_clock_sec.as_ref())
            .map_or(DEFAULT_WALL_CLOCK_SEC, |s| s.value),
        max_wall_clock_origin: budget
            .and_then(|b| b.max_wall_clock_sec.as_ref())
            .map(|s| origin_of(s.span)),
        allowed_paths: texts(repo.and_then(|r| r.allowed_paths.as_deref())),
        blocked_paths: texts(repo.and_then(|r| r.blocked_paths.as_deref())),
        secrets: texts(policies.secrets.as_deref()),
    }
}

/// Cut the steps into jobs: a new job at each approval point (an approve step, or a step a gate
/// selects) and around each deploy step, so that every job runs in at most one environment and
/// an approval is given before the job that needs it starts.
fn cut_into_jobs(workflow_id: &str, steps: Vec<(Step, Option<String>)>) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut after_deploy = false;
    for (step, gate) in steps {
        let is_deploy = matches!(step.action, Action::Deploy { .. });
        let approval = match &step.action {
            Action::Approve { reason } => Some(Approval {
                reason: reason
                    .clone()
                    .unwrap_or_else(|| format!("step `{}`", step.step_id)),
                step_id: step.step_id.clone(),
            }),
            _ => gate.map(|reason| Approval {
                reason,
                step_id: step.step_id.clone(),
            }),
        };
        let new_job = jobs.is_empty() || approval.is_some() || is_deploy || after_deploy;
        if new_job {
            let id = format!("{workflow_id}-{}", jobs.len() + 1);
            let needs = jobs.last().map(|j| j.id.clone());
            jobs.push(Job {
                id,
                needs,
                approval,
                environment: None,
                steps: Vec::new(),
            });
        }
        if let (Action::Deploy { target }, Some(job)) = (&step.action, jobs.last_mut()) {
            job.environment = Some(target.clone());
        }
        if let Some(job) = jobs.last_mut() {
            job.steps.push(step);
        }
        after_deploy = is_deploy;
    }
    jobs
}

fn artifacts(steps: &[(Step, Option<String>)]) -> Vec<Artifact> {
    let any = |f: &dyn Fn(&Action) -> bool| steps.iter().any(|(s, _)| f(&s.action));
    let writes = any(&|a| {
        matches!(
            a,
            Action::Agent {
                read_only: false,
                ..
            }
        )
    });
    let mut out = Vec::new();
    if writes {
        out.extend([Artifact::Patch, Artifact::PrLink]);
    }
    if any(&|a| matches!(a, Action::Command { .. })) {
        out.push(Artifact::TestReport);
    }
    if any(&|a| matches!(a, Action::Deploy { .. })) {
        out.push(Artifact::DeployUrl);
    }
    out.push(Artifact::LogBundle);
    if any(&|a| {
        matches!(
            a,
            Action::Agent {
                role: Role::ReleaseEngineer,
                ..
            }
        )
    }) {
        out.push(Artifact::ReleaseNotes);
    }
    out
}
