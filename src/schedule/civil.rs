//! Civil-time matching: whether a cron matches a wall-clock time. The one implementation
//! behind the DST gap search (C0404, systemd), the time-zone emulation's intent and the gate's
//! look-back, so every place agrees on what a cron means on a calendar.

use jiff::SignedDuration;
use jiff::civil::{Date, DateTime};

use super::cron::{CronExpr, FieldKind};

/// Whether `cron` matches the wall-clock time `at`. A cron fires at whole minutes: a time with
/// seconds (a reading at an offset of whole seconds, before ~1970) matches nothing, so a
/// minute is never claimed for a moment inside it.
pub fn matches(cron: &CronExpr, at: DateTime) -> bool {
    at.second() == 0
        && at.subsec_nanosecond() == 0
        && time_of_day_matches(cron, at.hour(), at.minute())
        && date_matches(cron, at.date())
}

/// Whether `cron` matches the hour and minute, whatever the day.
pub fn time_of_day_matches(cron: &CronExpr, hour: i8, minute: i8) -> bool {
    cron.field(FieldKind::Minute).matches(field_value(minute))
        && cron.field(FieldKind::Hour).matches(field_value(hour))
}

/// Whether `cron` matches the date, whatever the time. POSIX: day-of-month and day-of-week
/// are ORed only when neither starts with `*`.
pub fn date_matches(cron: &CronExpr, date: Date) -> bool {
    let day_of_month = cron
        .field(FieldKind::DayOfMonth)
        .matches(field_value(date.day()));
    let weekday = cron
        .field(FieldKind::DayOfWeek)
        .matches(field_value(date.weekday().to_sunday_zero_offset()));
    let day = if cron.days_are_ored() {
        day_of_month || weekday
    } else {
        day_of_month && weekday
    };
    day && cron
        .field(FieldKind::Month)
        .matches(field_value(date.month()))
}

/// The first whole minute from `from` (rounded up to a whole minute) and before `until` that
/// `cron` matches. Used on the wall-clock minutes a DST jump skips, normally none or an hour.
pub fn first_match(cron: &CronExpr, from: DateTime, until: DateTime) -> Option<DateTime> {
    let mut minute = ceil_to_minute(from)?;
    while minute < until {
        if matches(cron, minute) {
            return Some(minute);
        }
        minute = minute.checked_add(SignedDuration::from_mins(1)).ok()?;
    }
    None
}

/// `at` at its minute (seconds dropped).
pub fn floor_to_minute(at: DateTime) -> DateTime {
    at.date().at(at.hour(), at.minute(), 0, 0)
}

/// The first whole minute at or after `at`.
fn ceil_to_minute(at: DateTime) -> Option<DateTime> {
    let floor = floor_to_minute(at);
    if floor == at {
        Some(at)
    } else {
        floor.checked_add(SignedDuration::from_mins(1)).ok()
    }
}

/// Civil fields are never negative; a value no field holds otherwise.
fn field_value(value: i8) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

/// The next `count` instants after `from` at which `cron` fires in `zone`, by the schedule
/// semantics of [`crate::schedule`]: a matching local time a daylight-saving jump skips fires
/// at the first instant after the jump, one that occurs twice fires at its first occurrence.
/// Searches at most two years ahead.
pub fn next_firings(
    cron: &CronExpr,
    zone: &jiff::tz::TimeZone,
    from: jiff::Timestamp,
    count: usize,
) -> Vec<jiff::ZonedDateTime> {
    let mut out: Vec<jiff::ZonedDateTime> = Vec::new();
    let start = floor_to_minute(zone.to_datetime(from));
    let Ok(until) = start.checked_add(jiff::Span::new().days(731)) else {
        return out;
    };
    let mut at = start;
    while out.len() < count {
        let Some(found) = first_match(cron, at, until) else {
            break;
        };
        // `compatible`: a gap resolves after the jump, a fold to its earlier instant.
        if let Ok(zoned) = zone.to_zoned_datetime(found)
            && zoned.timestamp() > from
            && out
                .last()
                .is_none_or(|last| last.timestamp() < zoned.timestamp())
        {
            out.push(zoned);
        }
        let Ok(next) = found.checked_add(jiff::Span::new().minutes(1)) else {
            break;
        };
        at = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::cron::parse_cron;
    use jiff::civil::date;

    fn cron(text: &str) -> CronExpr {
        parse_cron(text).expect("valid")
    }

    #[test]
    fn days_are_ored_only_when_both_are_restricted() {
        // 2027-01-13 is a Wednesday.
        let wednesday_13th = date(2027, 1, 13).at(0, 0, 0, 0);
        let friday_1st = date(2027, 1, 1).at(0, 0, 0, 0);
        assert!(matches(&cron("0 0 13 * 5"), wednesday_13th));
        assert!(matches(&cron("0 0 13 * 5"), friday_1st));
        assert!(!matches(&cron("0 0 */2 * 5"), wednesday_13th));
        assert!(matches(&cron("0 0 */2 * 5"), friday_1st));
        assert!(matches(&cron("0 0 13 * *"), wednesday_13th));
        assert!(!matches(&cron("0 0 13 * *"), friday_1st));
    }

    #[test]
    fn only_whole_minutes_match() {
        let every_minute = cron("* * * * *");
        let at = date(2027, 1, 1).at(9, 30, 0, 0);
        assert!(matches(&every_minute, at));
        assert!(!matches(&every_minute, date(2027, 1, 1).at(9, 30, 28, 0)));
        assert!(!matches(&every_minute, date(2027, 1, 1).at(9, 30, 0, 1)));
    }

    #[test]
    fn first_match_walks_whole_minutes() {
        let half_past = cron("30 2 * * *");
        let day = date(2027, 3, 28);
        assert_eq!(
            first_match(&half_past, day.at(2, 0, 0, 0), day.at(3, 0, 0, 0)),
            Some(day.at(2, 30, 0, 0))
        );
        assert_eq!(
            first_match(&half_past, day.at(2, 29, 30, 0), day.at(3, 0, 0, 0)),
            Some(day.at(2, 30, 0, 0))
        );
        assert_eq!(
            first_match(&half_past, day.at(2, 30, 1, 0), day.at(3, 0, 0, 0)),
            None
        );
        assert_eq!(
            first_match(&half_past, day.at(2, 0, 0, 0), day.at(2, 30, 0, 0)),
            None
        );
    }
}
