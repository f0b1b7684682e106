//! Daylight-saving gaps: the wall-clock times a zone skips when its clocks jump ahead. The schedule
//! semantics ([`crate::schedule`]) run a cron's skipped local time at the first valid instant after the jump; systemd
//! skips it instead (C0404 warns), and the time-zone emulation adds a UTC cron for it.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::civil;
use super::cron::CronExpr;

/// Where the search for daylight-saving gaps starts: a fixed start, so the same spec always
/// gets the same warning.
pub const GAP_SEARCH_FROM: &str = "2026-01-01T00:00:00Z";

/// A DST gap longer than this is a calendar change (Samoa skipped a whole day in 2011).
pub const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

/// A local time a cron matches but the zone skips: the first one found, as the civil date and
/// time and the gap's length in minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapHit {
    pub local: DateTime,
    pub gap_minutes: i64,
}

/// Whether `expr` matches a local time that `zone` skips in a daylight-saving jump, in the 28
/// years from `from` (28 years repeat every weekday–date pairing, so a rule-based zone's gaps
/// are all seen). systemd skips such times; the spec runs them right after the jump.
pub fn gap_hit(expr: &CronExpr, zone: &TimeZone, from: Timestamp) -> Option<GapHit> {
    let until = from
        .checked_add(SignedDuration::from_hours(28 * 366 * 24))
        .ok()?;
    for transition in zone.following(from) {
        let at = transition.timestamp();
        if at > until {
            break;
        }
        let after = transition.offset();
        let before = zone.to_offset(at.checked_sub(SignedDuration::from_secs(1)).ok()?);
        let gap_seconds = i64::from(after.seconds()) - i64::from(before.seconds());
        if gap_seconds <= 0 {
            continue;
        }
        // Local times from the old offset's reading of the instant up to the new one's.
        if let Some(local) = civil::first_match(expr, before.to_datetime(at), after.to_datetime(at))
        {
            return Some(GapHit {
                local,
                gap_minutes: gap_seconds / 60,
            });
        }
    }
    None
}

/// The first local time `expr` matches that `zone` skipped just before the whole UTC minute
/// `instant`: the wall-clock minutes strictly between the previous UTC minute's reading and
/// `instant`'s (normally none), at most [`MAX_GAP_MINUTES`] of them.
pub fn skipped_match_before(
    expr: &CronExpr,
    zone: &TimeZone,
    instant: Timestamp,
) -> Option<DateTime> {
    let local = zone.to_datetime(instant);
    let previous = instant.checked_sub(SignedDuration::from_mins(1)).ok()?;
    let first_skipped = civil::floor_to_minute(zone.to_datetime(previous))
        .checked_add(SignedDuration::from_mins(1))
        .ok()?;
    let until = first_skipped
        .checked_add(SignedDuration::from_mins(MAX_GAP_MINUTES))
        .map_or(local, |limit| limit.min(local));
    civil::first_match(expr, first_skipped, until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::cron::parse_cron;

    #[test]
    fn gaps() {
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let new_york = TimeZone::get("America/New_York").expect("zone");
        let from: Timestamp = GAP_SEARCH_FROM.parse().expect("timestamp");
        let hit = |cron: &str, zone| gap_hit(&parse_cron(cron).expect("valid"), zone, from);
        let found = hit("30 2 * * *", &berlin).expect("02:30 is skipped in March");
        assert_eq!(found.local.to_string(), "2026-03-29T02:30:00");
        assert_eq!(found.gap_minutes, 60);
        assert!(hit("0 9 * * *", &berlin).is_none());
        // New York jumps on Sundays only.
        assert!(hit("30 2 * * 1-6", &new_york).is_none());
        assert!(hit("30 2 * * 0", &new_york).is_some());
        assert!(hit("0 3 * * *", &new_york).is_none());
        assert!(hit("*/15 * * * *", &TimeZone::UTC).is_none());
    }

    #[test]
    fn skipped_before_the_minute_after_a_jump() {
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let cron = parse_cron("30 2 * * *").expect("valid");
        // 01:00 UTC on 2027-03-28 is 03:00 CEST: 02:00–02:59 were skipped.
        let after_jump: Timestamp = "2027-03-28T01:00:00Z".parse().expect("timestamp");
        assert_eq!(
            skipped_match_before(&cron, &berlin, after_jump).map(|t| t.to_string()),
            Some("2027-03-28T02:30:00".to_string())
        );
        let a_minute_later: Timestamp = "2027-03-28T01:01:00Z".parse().expect("timestamp");
        assert_eq!(skipped_match_before(&cron, &berlin, a_minute_later), None);
    }
}
