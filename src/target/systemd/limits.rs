//! What a systemd host cannot do: start on repository events or webhooks, hold a workflow
//! name with a line break in a unit, and (a warning) run a schedule that falls in a
//! daylight-saving gap.

use super::unwritable;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Origin, Trigger, Workflow};
use crate::schedule::cron::parse_cron;
use crate::schedule::dst::{GAP_SEARCH_FROM, gap_hit};

pub fn limits(workflow: &Workflow) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    if let Some(c) = unwritable(&workflow.name) {
        found.push(
            Diagnostic::new(
                Code::UnitTextUnsupported,
                format!(
                    "a systemd unit cannot hold the workflow name: it contains `{}`",
                    c.escape_default()
                ),
            )
            .at(
                workflow.name_origin.span,
                "becomes the unit's `Description=`",
            )
            .help("write the name on one line, without control characters"),
        );
    }
    for trigger in &workflow.triggers {
        match trigger {
            Trigger::RepoEvent { event_origin, .. } => found.push(
                Diagnostic::new(
                    Code::TriggerUnsupported,
                    "systemd cannot start a workflow on a repository event",
                )
                .at(event_origin.span, "no repository events on a systemd host")
                .help("compile this workflow for github or gitlab, or trigger it by `cron` or `manual`"),
            ),
            Trigger::Webhook { name_origin, .. } => found.push(
                Diagnostic::new(
                    Code::TriggerUnsupported,
                    "systemd cannot start a workflow on a webhook",
                )
                .at(name_origin.span, "no webhook receiver on a systemd host")
                .help("compile this workflow for github or gitlab, or trigger it by `cron` or `manual`"),
            ),
            Trigger::Cron {
                cron,
                timezone,
                cron_origin,
                timezone_origin,
                ..
            } => found.extend(dst_gap(cron, timezone, *cron_origin, *timezone_origin)),
            Trigger::Manual { .. } => {}
        }
    }
    found
}

/// systemd skips a scheduled time that falls in a daylight-saving gap of its zone; the spec
/// runs it right after the jump. Warn where a cron can land in one.
fn dst_gap(
    cron: &str,
    zone_name: &str,
    cron_origin: Origin,
    timezone_origin: Option<Origin>,
) -> Option<Diagnostic> {
    // UTC, the zone of a spec that names none, has no gaps.
    let timezone_origin = timezone_origin?;
    let expr = parse_cron(cron).ok()?;
    let zone = crate::schedule::time_zone(zone_name)?;
    // A fixed start, so the same spec always gets the same warning: the 28 years searched
    // repeat every weekday and date of a zone's rules.
    let from = GAP_SEARCH_FROM.parse::<jiff::Timestamp>().ok()?;
    let hit = gap_hit(&expr, &zone, from)?;
    Some(
        Diagnostic::new(
            Code::DstGapSkipped,
            format!(
                "systemd skips this schedule when it falls in a daylight-saving gap of {zone_name}, e.g. {}",
                hit.local.strftime("%Y-%m-%d %H:%M")
            ),
        )
        .at(cron_origin.span, "can fall in a skipped hour")
        .also(
            timezone_origin.span,
            format!(
                "clocks here jump {} minutes ahead once a year or more",
                hit.gap_minutes
            ),
        )
        .help(
            "schedule it outside the hours the clocks skip (in most zones 02:00–03:00 local time), or use a zone without daylight-saving time such as UTC",
        ),
    )
}
