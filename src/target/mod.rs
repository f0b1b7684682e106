//! Target phase: what each CI target can express. For now the capability checks (`C04xx`),
//! run by `coder check --target` and for the targets a spec's provider selects; the emitters
//! arrive with `coder compile`.

pub mod github;
pub mod gitlab;
pub mod output;
pub mod systemd;
pub mod tz_emulation;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
            Target::Systemd => vec![
                systemd::service_path(workflow_id),
                systemd::timer_path(workflow_id),
            ],
            Target::Gitlab => vec![
                gitlab::pipeline_path(workflow_id),
                gitlab::schedules_path(workflow_id),
            ],
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

/// Why `target` cannot express a lowered workflow, if it cannot (what the configuration adds
/// is skipped for such a workflow; asked for, `check` reports it).
pub fn cannot_express(workflow: &crate::ir::Workflow, target: Target) -> Option<&'static str> {
    if target != Target::Systemd {
        return None;
    }
    if systemd::unwritable(&workflow.name).is_some() {
        return Some("a unit cannot hold the workflow name's control characters");
    }
    workflow.triggers.iter().find_map(|trigger| match trigger {
        crate::ir::Trigger::RepoEvent { .. } => Some("systemd has no repository events"),
        crate::ir::Trigger::Webhook { .. } => Some("systemd has no webhook receiver"),
        _ => None,
    })
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
    if target == Target::Systemd {
        check_systemd_text(cx);
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
            (Trigger::Cron { cron, timezone }, Target::Systemd) => {
                check_dst_gap(cx, cron, timezone.as_ref());
            }
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

/// What systemd cannot write into a unit: a workflow name with a line break.
fn check_systemd_text(cx: &mut CheckCx<'_>) {
    let name = &cx.spec.name;
    if let Some(c) = systemd::unwritable(&name.value) {
        cx.report(
            Diagnostic::new(
                Code::UnitTextUnsupported,
                format!(
                    "a systemd unit cannot hold the workflow name: it contains `{}`",
                    c.escape_default()
                ),
            )
            .at(name.span, "becomes the unit's `Description=`")
            .help("write the name on one line, without control characters"),
        );
    }
}

/// systemd skips a scheduled time that falls in a daylight-saving gap of its zone; the spec
/// runs it right after the jump. Warn where a cron can land in one.
fn check_dst_gap(
    cx: &mut CheckCx<'_>,
    cron: &crate::model::Spanned<String>,
    timezone: Option<&crate::model::Spanned<String>>,
) {
    let Ok(expr) = parse_cron(&cron.value) else {
        return;
    };
    let Some(zone_name) = timezone.map(|tz| tz.value.as_str()) else {
        return; // UTC has no gaps.
    };
    let Some(zone) = crate::check::time_zone(zone_name) else {
        return; // Reported as an unknown zone.
    };
    // A fixed start, so the same spec always gets the same warning: the 28 years searched
    // repeat every weekday and date of a zone's rules.
    let Ok(from) = systemd::GAP_SEARCH_FROM.parse::<jiff::Timestamp>() else {
        return;
    };
    let Some(hit) = systemd::dst_gap_hit(&expr, &zone, from) else {
        return;
    };
    let mut diag = Diagnostic::new(
        Code::DstGapSkipped,
        format!(
            "systemd skips this schedule when it falls in a daylight-saving gap of {zone_name}, e.g. {}",
            hit.local.strftime("%Y-%m-%d %H:%M")
        ),
    )
    .at(cron.span, "can fall in a skipped hour");
    if let Some(tz) = timezone {
        diag = diag.also(
            tz.span,
            format!(
                "clocks here jump {} minutes ahead once a year or more",
                hit.gap_minutes
            ),
        );
    }
    cx.report(diag.help(
        "schedule it outside the hours the clocks skip (in most zones 02:00–03:00 local time), or use a zone without daylight-saving time such as UTC",
    ));
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
