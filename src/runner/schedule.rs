//! `coder-step tz-gate`: on schedulers without `timezone:` the workflow fires on UTC crons (one
//! per offset of the zone); this first job lets a run through only when the UTC cron that fired
//! (`github.event.schedule`, passed in `CODER_SCHEDULE`) stands for an intended local time of
//! one of the spec's cron triggers. The decision is [`crate::schedule::gate`]'s; this file
//! only checks the input and sets the step output.

use jiff::Timestamp;

use super::{Context, Failure};
use crate::ir::Trigger;
use crate::schedule;

/// The decision for `fired` at `now`, as a log line; `run` is set as the step output.
pub fn tz_gate(cx: &Context, fired: &str, now: Timestamp) -> Result<String, Failure> {
    let (run, reasons) = decide(&cx.workflow.triggers, fired, now)?;
    super::ci_output::publish_output(
        crate::protocol::CiOutput::ScheduleRun,
        if run { "true" } else { "false" },
    )?;
    Ok(reasons.join("; "))
}

/// Whether any cron trigger intends the instant `fired` stands for, and why (one reason per
/// trigger considered).
fn decide(
    triggers: &[Trigger],
    fired: &str,
    now: Timestamp,
) -> Result<(bool, Vec<String>), Failure> {
    if fired.trim().is_empty() {
        return Err(Failure::usage(
            "CODER_SCHEDULE is empty: the generated workflow passes `github.event.schedule` in it",
        ));
    }
    let schedules = triggers.iter().filter_map(|trigger| match trigger {
        Trigger::Cron { cron, timezone, .. } => Some((cron.as_str(), timezone.as_str())),
        _ => None,
    });
    schedule::gate::decide(schedules, fired, now).map_err(|e| Failure::usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Origin;

    fn cron(cron: &str, timezone: &str) -> Trigger {
        Trigger::Cron {
            cron: cron.to_string(),
            timezone: timezone.to_string(),
            origin: Origin {
                line: 1,
                column: 1,
                span: crate::diag::Span::default(),
            },
            cron_origin: Origin::default(),
            timezone_origin: None,
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn lets_only_the_intended_local_time_through() {
        // Mondays 09:00 in Chicago: 14:00 UTC in summer (CDT), 15:00 UTC in winter (CST).
        let triggers = [cron("0 9 * * 1", "America/Chicago")];
        let summer = decide(&triggers, "0 14 * * 1", at("2027-07-05T14:07:00Z")).expect("decides");
        assert!(summer.0, "{:?}", summer.1);
        let summer_other =
            decide(&triggers, "0 15 * * 1", at("2027-07-05T15:03:00Z")).expect("decides");
        assert!(!summer_other.0, "{:?}", summer_other.1);
        let winter = decide(&triggers, "0 15 * * 1", at("2027-01-04T15:20:00Z")).expect("decides");
        assert!(winter.0, "{:?}", winter.1);
    }

    #[test]
    fn utc_triggers_and_unknown_crons() {
        let triggers = [cron("0 3 * * *", "UTC"), cron("0 9 * * 1", "Europe/Berlin")];
        assert!(
            decide(&triggers, "0  3 * * *", at("2027-07-05T03:01:00Z"))
                .expect("decides")
                .0
        );
        let (run, reasons) =
            decide(&triggers, "5 4 * * *", at("2027-07-05T04:06:00Z")).expect("decides");
        assert!(!run);
        assert!(
            reasons.iter().any(|r| r.contains("Europe/Berlin")),
            "{reasons:?}"
        );
        assert!(decide(&triggers, " ", at("2027-07-05T04:06:00Z")).is_err());
    }
}
