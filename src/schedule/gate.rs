//! The tz-gate's decision (`coder-step tz-gate`), the runtime half of the time-zone emulation
//! ([`emulation`](super::emulation)): a scheduler without time zones fires the schedule's UTC
//! crons, and the workflow's first job asks here whether the instant the fired cron stands for
//! is one the zoned cron intends, and whether that cron is the one responsible for it.

use std::fmt;

use jiff::tz::Offset;
use jiff::{Timestamp, ZonedDateTime};

use super::civil;
use super::cron::{CronExpr, parse_cron};
use super::emulation::{Intent, MINUTES_PER_DAY, TzEmulationError, ZonedCron, gap_cron};

/// How far back the gate looks for the firing that started it: runs start minutes late,
/// never days.
const GATE_LOOKBACK_MINUTES: i64 = 48 * 60;

/// What `coder-step tz-gate` decided about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct GateDecision {
    /// Let the run through.
    pub run: bool,
    /// The UTC minute the fired cron was due: the latest one at or before `now`.
    pub nominal: Timestamp,
    /// `nominal` in the schedule's zone.
    pub local: ZonedDateTime,
    /// How the schedule regards `nominal`. An intended instant is skipped (`run == false`)
    /// when another of the UTC crons is responsible for it.
    pub intent: Intent,
}

impl fmt::Display for GateDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match (self.run, self.intent) {
            (true, Intent::AfterGap) => {
                "the first valid time after a DST gap that skipped a matching local time"
            }
            (true, _) => "the local time matches the schedule",
            (false, Intent::LocalMatch | Intent::AfterGap) => {
                "another UTC cron of this schedule runs this instant"
            }
            (false, Intent::RepeatedLocalTime) => {
                "the local time repeats (DST fold); it ran at its first occurrence"
            }
            (false, Intent::NoMatch) => "the local time does not match the schedule",
        };
        let verdict = if self.run { "run" } else { "skip" };
        write!(f, "{verdict}: {} is {}: {why}", self.nominal, self.local)
    }
}

impl ZonedCron {
    /// See [`tz_gate`].
    pub fn gate(
        &self,
        fired_utc_cron: &str,
        now: Timestamp,
    ) -> Result<GateDecision, TzEmulationError> {
        let fired = parse_cron(fired_utc_cron)
            .map_err(|_| TzEmulationError::InvalidCron(fired_utc_cron.to_string()))?;
        self.gate_parsed(fired_utc_cron, &fired, now)
    }

    /// [`ZonedCron::gate`] with the fired cron parsed.
    pub(super) fn gate_parsed(
        &self,
        fired_utc_cron: &str,
        fired: &CronExpr,
        now: Timestamp,
    ) -> Result<GateDecision, TzEmulationError> {
        let nominal =
            latest_firing(fired, now).ok_or_else(|| TzEmulationError::NoRecentFiring {
                fired_utc_cron: fired_utc_cron.to_string(),
                now,
            })?;
        let intent = self.intent(nominal);
        let responsible = match intent {
            Intent::LocalMatch => self.offset_cron_at(nominal),
            Intent::AfterGap => Some(gap_cron(nominal)),
            Intent::RepeatedLocalTime | Intent::NoMatch => None,
        };
        Ok(GateDecision {
            run: responsible
                .is_some_and(|cron| cron.split(' ').eq(fired_utc_cron.split_whitespace())),
            nominal,
            local: nominal.to_zoned_datetime(self.timezone.clone()),
            intent,
        })
    }
}

/// Decide whether the run started by `fired_utc_cron` (GitHub's `github.event.schedule`) at
/// `now` is one of `cron` in `timezone`. The nominal instant is the latest UTC minute at or
/// before `now` that the fired cron matches (runs start minutes late; looking back at most 48
/// hours), so the decision holds until that cron's next firing.
pub fn tz_gate(
    cron: &str,
    timezone: &str,
    fired_utc_cron: &str,
    now: Timestamp,
) -> Result<GateDecision, TzEmulationError> {
    ZonedCron::new(cron, timezone)?.gate(fired_utc_cron, now)
}

/// Whether any of a workflow's schedules (cron, IANA zone) intends the instant the UTC cron
/// `fired` stands for, and why: one reason per schedule considered, stopping at the first that
/// runs. A UTC schedule is emitted as written, so it runs when it is the cron that fired; a
/// zoned one asks its [`ZonedCron::gate`]. A zoned schedule that cannot be emulated is an
/// error; a fired cron that has not fired lately for a schedule belongs to another one.
pub fn decide<'a>(
    schedules: impl IntoIterator<Item = (&'a str, &'a str)>,
    fired: &str,
    now: Timestamp,
) -> Result<(bool, Vec<String>), TzEmulationError> {
    let fired = fired.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut reasons = Vec::new();
    for (cron, timezone) in schedules {
        // UTC schedules are emitted as written: the cron that fired is the trigger itself.
        if timezone == "UTC" {
            if cron == fired {
                reasons.push(format!("run: `{fired}` is the UTC schedule `{cron}`"));
                return Ok((true, reasons));
            }
            continue;
        }
        let zoned = ZonedCron::new(cron, timezone)?;
        match zoned.gate(&fired, now) {
            Ok(decision) => {
                let run = decision.run;
                reasons.push(format!("`{cron}` in {timezone}: {decision}"));
                if run {
                    return Ok((true, reasons));
                }
            }
            // The fired cron has not fired lately: it belongs to another trigger.
            Err(e) => reasons.push(format!("`{cron}` in {timezone}: {e}")),
        }
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "skip: no cron trigger of this workflow fires on `{fired}`"
        ));
    }
    Ok((false, reasons))
}

/// The latest UTC minute at or before `now` (within the lookback) that `cron` matches in UTC.
fn latest_firing(cron: &CronExpr, now: Timestamp) -> Option<Timestamp> {
    let second = now.as_second() - i64::from(now.subsec_nanosecond() < 0);
    let now_minute = second.div_euclid(60);
    let earliest = now_minute - GATE_LOOKBACK_MINUTES;
    let mut day_start = now_minute - now_minute.rem_euclid(MINUTES_PER_DAY);
    let mut last_of_day = now_minute - day_start;
    while day_start + MINUTES_PER_DAY > earliest {
        let date = Offset::UTC
            .to_datetime(Timestamp::from_second(day_start * 60).ok()?)
            .date();
        if civil::date_matches(cron, date) {
            for of_day in (0..=last_of_day).rev() {
                let minute = day_start + of_day;
                if minute < earliest {
                    return None;
                }
                if civil::time_of_day_matches(cron, (of_day / 60) as i8, (of_day % 60) as i8) {
                    return Timestamp::from_second(minute * 60).ok();
                }
            }
        }
        day_start -= MINUTES_PER_DAY;
        last_of_day = MINUTES_PER_DAY - 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::emulation::utc_crons;

    const YEAR: i16 = 2027;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a timestamp")
    }

    #[test]
    fn gate_runs_a_gap_time_after_the_jump() {
        let decision = tz_gate(
            "30 2 * * *",
            "America/New_York",
            "0 7 * 3 0",
            at("2027-03-14T07:04:00Z"),
        )
        .expect("gate");
        assert!(decision.run);
        assert_eq!(decision.intent, Intent::AfterGap);
        assert_eq!(decision.nominal, at("2027-03-14T07:00:00Z"));
        assert_eq!(
            decision.local.to_string(),
            "2027-03-14T03:00:00-04:00[America/New_York]"
        );
        assert_eq!(
            decision.to_string(),
            "run: 2027-03-14T07:00:00Z is 2027-03-14T03:00:00-04:00[America/New_York]: the first valid time after a DST gap that skipped a matching local time"
        );
        // The gap cron fires on the other Sundays of March too.
        let decision = tz_gate(
            "30 2 * * *",
            "America/New_York",
            "0 7 * 3 0",
            at("2027-03-21T07:00:00Z"),
        )
        .expect("gate");
        assert!(!decision.run);
        assert_eq!(decision.intent, Intent::NoMatch);
        // That day's 07:30 UTC is 03:30 EDT.
        let decision = tz_gate(
            "30 2 * * *",
            "America/New_York",
            "30 7 * * *",
            at("2027-03-14T07:30:00Z"),
        )
        .expect("gate");
        assert!(!decision.run);
        assert_eq!(decision.intent, Intent::NoMatch);
    }

    #[test]
    fn gate_runs_a_repeated_time_once() {
        let first = tz_gate(
            "30 1 * * 0",
            "America/New_York",
            "30 5 * * 0",
            at("2027-11-07T05:31:00Z"),
        )
        .expect("gate");
        assert!(first.run);
        let second = tz_gate(
            "30 1 * * 0",
            "America/New_York",
            "30 6 * * 0",
            at("2027-11-07T06:40:00Z"),
        )
        .expect("gate");
        assert!(!second.run);
        assert_eq!(second.intent, Intent::RepeatedLocalTime);
        assert_eq!(first.local.datetime(), second.local.datetime());
    }

    #[test]
    fn gate_lets_one_of_two_crons_through() {
        // 14:00 UTC is 09:00 EST and 10:00 EDT: both offsets' crons fire there.
        let crons = utc_crons("0 9,10 * * *", "America/New_York", YEAR, 1).expect("emulated");
        assert_eq!(crons, ["0 13,14 * * *", "0 14,15 * * *"]);
        let winter = at("2027-01-05T14:00:00Z");
        let decide =
            |fired: &str| tz_gate("0 9,10 * * *", "America/New_York", fired, winter).expect("gate");
        assert!(decide("0 14,15 * * *").run);
        let other = decide("0 13,14 * * *");
        assert!(!other.run);
        assert_eq!(other.intent, Intent::LocalMatch);
        assert!(other.to_string().contains("another UTC cron"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            tz_gate("0 9 * * *", "UTC", "0 9 29 2 *", at("2027-06-01T00:00:00Z")),
            Err(TzEmulationError::NoRecentFiring { .. })
        ));
        assert!(matches!(
            tz_gate("0 9 * * *", "UTC", "0 9 L * *", at("2027-06-01T00:00:00Z")),
            Err(TzEmulationError::InvalidCron(_))
        ));
    }

    #[test]
    fn decide_over_several_schedules() {
        let schedules = [("0 3 * * *", "UTC"), ("0 9 * * 1", "Europe/Berlin")];
        let (run, reasons) =
            decide(schedules, "0  3 * * *", at("2027-07-05T03:01:00Z")).expect("decides");
        assert!(run);
        assert_eq!(
            reasons,
            ["run: `0 3 * * *` is the UTC schedule `0 3 * * *`"]
        );
        let (run, reasons) =
            decide(schedules, "5 4 * * *", at("2027-07-05T04:06:00Z")).expect("decides");
        assert!(!run);
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].starts_with("`0 9 * * 1` in Europe/Berlin: "),
            "{reasons:?}"
        );
        let (run, reasons) = decide(
            [("0 3 * * *", "UTC")],
            "5 4 * * *",
            at("2027-07-05T04:06:00Z"),
        )
        .expect("decides");
        assert!(!run);
        assert_eq!(
            reasons,
            ["skip: no cron trigger of this workflow fires on `5 4 * * *`"]
        );
        assert_eq!(
            decide(
                [("0 9 * * 1", "Mars/Olympus")],
                "0 9 * * 1",
                at("2027-07-05T09:00:00Z")
            ),
            Err(TzEmulationError::UnknownTimeZone("Mars/Olympus".into()))
        );
    }

    #[test]
    fn gate_looks_back_across_days() {
        let decision = tz_gate(
            "0 9 * * 1",
            "America/Chicago",
            "0 15 * * 1",
            at("2027-01-05T10:00:00Z"),
        )
        .expect("gate");
        assert_eq!(decision.nominal, at("2027-01-04T15:00:00Z"));
        assert!(decision.run);
    }
}
