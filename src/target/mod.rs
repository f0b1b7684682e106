//! Target phase: what each CI target can express. For now the capability checks (`C04xx`),
//! run by `coder check --target` and for the targets a spec's provider selects; the emitters
//! arrive with `coder compile`.

pub mod github;
pub mod gitlab;
pub mod output;

use clap::ValueEnum;

use crate::check::CheckCx;
use crate::diag::{Code, Diagnostic};
use crate::model::{Provider, Trigger};
use crate::parse::cron::{FieldKind, parse_cron};

/// A file a target emits, its path relative to the output folder (the repository root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum Target {
    Github,
    Gitlab,
    Systemd,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Github => "github",
            Target::Gitlab => "gitlab",
            Target::Systemd => "systemd",
        }
    }

    /// Where a workflow's generated files may be, relative to the repository root (known
    /// before emitting, so drift checks skip workflows never compiled).
    pub fn paths(self, workflow_id: &str) -> Vec<String> {
        match self {
            Target::Github => vec![
                github::workflow_path(workflow_id),
                github::environments_path(workflow_id),
            ],
            Target::Gitlab => vec![
                gitlab::pipeline_path(workflow_id),
                gitlab::schedules_path(workflow_id),
            ],
            Target::Systemd => Vec::new(),
        }
    }

    /// The target a provider's repositories compile to by default.
    pub fn for_provider(provider: Provider) -> Target {
        match provider {
            Provider::Github => Target::Github,
            Provider::Gitlab => Target::Gitlab,
        }
    }
}

/// GitHub runs scheduled workflows at most once every 5 minutes.
pub const GITHUB_MIN_SCHEDULE_MINUTES: u32 = 5;

/// GitHub-hosted runners stop a job after 6 hours.
pub const GITHUB_HOSTED_JOB_LIMIT_SEC: i64 = 6 * 3600;

/// Report what `target` cannot express in the spec.
pub fn check(cx: &mut CheckCx<'_>, target: Target) {
    let budget = cx.spec.policies().budget.as_ref();
    if target == Target::Github
        && let Some(limit) = budget.and_then(|b| b.max_wall_clock_sec.as_ref())
        && limit.value > GITHUB_HOSTED_JOB_LIMIT_SEC
    {
        cx.report(
            Diagnostic::new(
                Code::JobTimeLimit,
                format!(
                    "GitHub-hosted runners stop a job after {} hours; this budget allows {} hours",
                    GITHUB_HOSTED_JOB_LIMIT_SEC / 3600,
                    format!("{:.1}", limit.value as f64 / 3600.0).trim_end_matches(".0")
                ),
            )
            .at(limit.span, "longer than a hosted job may run")
            .help("lower `max_wall_clock_sec` to 21600 or less, or run the workflow on self-hosted runners"),
        );
    }
    for trigger in cx.spec.triggers() {
        match (&trigger.value, target) {
            (Trigger::RepoEvent { event }, Target::Systemd) => cx.report(
                Diagnostic::new(
                    Code::TriggerUnsupported,
                    "systemd cannot start a workflow on a repository event",
                )
                .at(event.span, "no repository events on a systemd host")
                .help("compile this workflow for github or gitlab, or trigger it by `cron` or `manual`"),
            ),
            (Trigger::Webhook { name, .. }, Target::Systemd) => cx.report(
                Diagnostic::new(
                    Code::TriggerUnsupported,
                    "systemd cannot start a workflow on a webhook",
                )
                .at(name.span, "no webhook receiver on a systemd host")
                .help("compile this workflow for github or gitlab, or trigger it by `cron` or `manual`"),
            ),
            (Trigger::RepoEvent { event }, Target::Gitlab) => {
                let (name, action) = match event.value.split_once('.') {
                    Some((name, action)) => (name, Some(action)),
                    None => (event.value.as_str(), None),
                };
                match gitlab::repo_event_support(name, action) {
                    gitlab::EventSupport::Exact(_) => {}
                    gitlab::EventSupport::Approximate(source, why) => cx.report(
                        Diagnostic::new(
                            Code::TriggerApproximated,
                            format!("GitLab has no `{}` event: this workflow runs on `{source}` pipelines instead", event.value),
                        )
                        .at(event.span, format!("runs on every `{source}` pipeline"))
                        .help(format!("{why}; a step that must run once per merge request should tolerate reruns")),
                    ),
                    gitlab::EventSupport::Unsupported => cx.report(
                        Diagnostic::new(
                            Code::TriggerUnsupported,
                            format!("GitLab starts no pipeline on `{}`", event.value),
                        )
                        .at(event.span, "no GitLab pipeline source for this event")
                        .help("trigger the workflow with a `webhook` (a GitLab project webhook can call a relay that triggers the pipeline), or use `push`, `pull_request.opened` or `pull_request.synchronize`"),
                    ),
                }
            }
            (Trigger::Cron { cron, .. }, Target::Github) => {
                let Ok(expr) = parse_cron(&cron.value) else {
                    continue;
                };
                if let Some(gap) = min_gap_minutes(&expr)
                    && gap < GITHUB_MIN_SCHEDULE_MINUTES
                {
                    cx.report(
                        Diagnostic::new(
                            Code::ScheduleTooFrequent,
                            format!(
                                "GitHub runs schedules at most every {GITHUB_MIN_SCHEDULE_MINUTES} minutes; this one fires {gap} minute{} apart",
                                if gap == 1 { "" } else { "s" }
                            ),
                        )
                        .at(cron.span, "too frequent for GitHub")
                        .help(format!(
                            "fire at most every {GITHUB_MIN_SCHEDULE_MINUTES} minutes, e.g. `*/{GITHUB_MIN_SCHEDULE_MINUTES} * * * *`"
                        )),
                    );
                }
            }
            _ => {}
        }
    }
}

/// The shortest time between two firings of a cron, in minutes (`None` if it fires once a
/// day or less often). Across midnight only when every day fires.
pub fn min_gap_minutes(expr: &crate::parse::cron::CronExpr) -> Option<u32> {
    let minutes: Vec<u32> = expr
        .field(FieldKind::Hour)
        .values()
        .flat_map(|h| {
            expr.field(FieldKind::Minute)
                .values()
                .map(move |m| u32::from(h) * 60 + u32::from(m))
        })
        .collect();
    let mut gap = minutes.windows(2).map(|w| w[1] - w[0]).min();
    let every_day = expr.field(FieldKind::DayOfMonth).starts_with_star
        && expr.field(FieldKind::DayOfWeek).starts_with_star
        && expr.field(FieldKind::DayOfMonth).values().count() == 31
        && expr.field(FieldKind::DayOfWeek).values().count() == 7;
    if every_day && let (Some(first), Some(last)) = (minutes.first(), minutes.last()) {
        let wrap = first + 24 * 60 - last;
        gap = Some(gap.map_or(wrap, |g| g.min(wrap)));
    }
    gap.filter(|g| *g < 24 * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(expr: &str) -> Option<u32> {
        min_gap_minutes(&parse_cron(expr).expect("valid"))
    }

    #[test]
    fn gaps() {
        assert_eq!(gap("* * * * *"), Some(1));
        assert_eq!(gap("*/5 * * * *"), Some(5));
        assert_eq!(gap("0,58 * * * *"), Some(2));
        assert_eq!(gap("58 23 * * *"), None);
        assert_eq!(gap("0,2 9 * * 1"), Some(2));
        assert_eq!(gap("0 9 * * 1"), None);
        assert_eq!(gap("59 23,0 * * *"), Some(60));
    }
}
