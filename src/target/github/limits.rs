//! What GitHub Actions cannot do: schedules more often than every 5 minutes, and (a warning)
//! jobs longer than hosted runners allow.

use crate::diag::{Code, Diagnostic};
use crate::ir::{Trigger, Workflow};
use crate::schedule::cron::parse_cron;

/// GitHub runs scheduled workflows at most once every 5 minutes.
pub const MIN_SCHEDULE_MINUTES: u32 = 5;

/// GitHub-hosted runners stop a job after 6 hours.
pub const HOSTED_JOB_LIMIT_SEC: i64 = 6 * 3600;

pub fn limits(workflow: &Workflow) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let limit = workflow.policies.max_wall_clock_sec;
    // Only a budget the spec sets: the default fits.
    if let Some(origin) = workflow.policies.max_wall_clock_origin
        && limit > HOSTED_JOB_LIMIT_SEC
    {
        found.push(
            Diagnostic::new(
                Code::JobTimeLimit,
                format!(
                    "GitHub-hosted runners stop a job after {} hours; this budget allows {} hours",
                    HOSTED_JOB_LIMIT_SEC / 3600,
                    format!("{:.1}", limit as f64 / 3600.0).trim_end_matches(".0")
                ),
            )
            .at(origin.span, "longer than a hosted job may run")
            .help(format!(
                "lower `max_wall_clock_sec` to {HOSTED_JOB_LIMIT_SEC} or less, or run the workflow on self-hosted runners"
            )),
        );
    }
    for trigger in &workflow.triggers {
        let Trigger::Cron {
            cron, cron_origin, ..
        } = trigger
        else {
            continue;
        };
        let Ok(expr) = parse_cron(cron) else {
            continue;
        };
        if let Some(gap) = crate::schedule::cron::min_gap_minutes(&expr)
            && gap < MIN_SCHEDULE_MINUTES
        {
            found.push(
                Diagnostic::new(
                    Code::ScheduleTooFrequent,
                    format!(
                        "GitHub runs schedules at most every {MIN_SCHEDULE_MINUTES} minutes; this one fires {gap} minute{} apart",
                        if gap == 1 { "" } else { "s" }
                    ),
                )
                .at(cron_origin.span, "too frequent for GitHub")
                .help(format!(
                    "fire at most every {MIN_SCHEDULE_MINUTES} minutes, e.g. `*/{MIN_SCHEDULE_MINUTES} * * * *`"
                )),
            );
        }
    }
    found
}
