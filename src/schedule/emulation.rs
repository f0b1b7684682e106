//! Zoned schedules on UTC-only schedulers (GitHub Enterprise Server has no `timezone:` next to
//! `cron:`). The schedule semantics ([`crate::schedule`]): a cron in zone Z fires at every local wall-clock minute it matches; a
//! local time in a DST gap runs at the first valid instant after the jump; a repeated local time
//! runs once, at its first (earlier) occurrence.
//!
//! The emulation has two halves, which must come from the same `coder` version (CI pins it):
//! - [`utc_crons`] (here): UTC crons whose union fires at a superset of the intended instants:
//!   the cron shifted to UTC once per offset the zone uses (day fields widened where the shift
//!   crosses midnight), plus a cron for the instants after DST gaps that skip a matching local
//!   time.
//! - [`tz_gate`](super::gate::tz_gate) (in [`gate`](super::gate)): run by the workflow's first
//!   job. From the UTC cron that fired and the clock it finds the nominal instant, and lets the
//!   run through only if that instant is intended ([`ZonedCron::intent`]) and the fired cron is
//!   the one responsible for it, so an instant that two of the UTC crons hit still runs once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use super::cron::{CronExpr, FieldKind, days_in_month, parse_cron};
use super::{civil, dst};

pub(super) const MINUTES_PER_DAY: i64 = 24 * 60;

/// Bits 1..=31: the days a day-of-month field can hold.
const DAY_OF_MONTH_MASK: u64 = ((1 << 32) - 1) & !1;

/// Bits 0..=6: weekdays, Sunday 0.
const WEEKDAY_MASK: u64 = (1 << 7) - 1;

/// Why a schedule cannot be emulated, or a gate cannot decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TzEmulationError {
    /// The cron (the spec's or the fired one) is not a valid 5-field cron.
    InvalidCron(String),
    /// Not an IANA time zone name.
    UnknownTimeZone(String),
    /// The zone uses an offset with seconds (local mean time, before ~1970), at which local
    /// minutes are not UTC minutes.
    OffsetNotWholeMinutes { timezone: String, offset: String },
    /// The horizon is empty or outside the years Jiff supports.
    YearsOutOfRange { from_year: i16, years: u16 },
    /// The fired cron does not fire in the 48 hours up to `now`.
    NoRecentFiring {
        fired_utc_cron: String,
        now: Timestamp,
    },
}

impl fmt::Display for TzEmulationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TzEmulationError::InvalidCron(cron) => write!(f, "`{cron}` is not a valid cron"),
            TzEmulationError::UnknownTimeZone(name) => {
                write!(f, "`{name}` is not a known IANA time zone")
            }
            TzEmulationError::OffsetNotWholeMinutes { timezone, offset } => write!(
                f,
                "{timezone} uses the UTC offset {offset}, which is not whole minutes"
            ),
            TzEmulationError::YearsOutOfRange { from_year, years } => write!(
                f,
                "cannot emulate {years} year(s) from {from_year}: the horizon must hold at least one year, within -9999..=9999"
            ),
            TzEmulationError::NoRecentFiring {
                fired_utc_cron,
                now,
            } => write!(
                f,
                "`{fired_utc_cron}` did not fire in the 48 hours up to {now}"
            ),
        }
    }
}

impl std::error::Error for TzEmulationError {}

/// How a cron in a zone regards one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// The local wall-clock time matches the cron (its first occurrence).
    LocalMatch,
    /// The first valid instant after a DST gap that skipped a matching local time.
    AfterGap,
    /// The local time matches, but repeats one that already ran (DST fold).
    RepeatedLocalTime,
    /// The local time does not match.
    NoMatch,
}

impl Intent {
    /// Whether the schedule runs at this instant.
    pub fn is_intended(self) -> bool {
        matches!(self, Intent::LocalMatch | Intent::AfterGap)
    }
}

/// A cron in a time zone, parsed once.
#[derive(Clone, Debug)]
pub struct ZonedCron {
    pub(super) cron: CronExpr,
    pub(super) timezone: TimeZone,
    timezone_name: String,
    /// The UTC crons' day fields by day shift (UTC date minus local date) + `MAX_DAY_SHIFT`;
    /// `None` where no date matches.
    day_fields: [Option<String>; 2 * MAX_DAY_SHIFT as usize + 1],
}

/// Offsets stay within ±26 hours, so a local time's UTC date is at most two days away.
const MAX_DAY_SHIFT: i64 = 2;

impl ZonedCron {
    /// Parse a 5-field cron and look up an IANA zone.
    pub fn new(cron: &str, timezone: &str) -> Result<ZonedCron, TzEmulationError> {
        let cron = parse_cron(cron).map_err(|_| TzEmulationError::InvalidCron(cron.to_string()))?;
        Ok(ZonedCron {
            day_fields: std::array::from_fn(|index| {
                shifted_day_fields(&cron, index as i64 - MAX_DAY_SHIFT)
            }),
            cron,
            timezone: TimeZone::get(timezone)
                .map_err(|_| TzEmulationError::UnknownTimeZone(timezone.to_string()))?,
            timezone_name: timezone.to_string(),
        })
    }

    /// See [`utc_crons`].
    pub fn utc_crons(&self, from_year: i16, years: u16) -> Result<Vec<String>, TzEmulationError> {
        let (start, end) = horizon(from_year, years)?;
        let mut crons = BTreeSet::new();
        // The local months each offset is in use: a cron restricted to winter months needs
        // no summer-time cron.
        let mut months_by_offset: BTreeMap<i32, u64> = BTreeMap::new();
        let mut span_start = start;
        let mut span_offset = self.timezone.to_offset(start);
        let mut transitions = self
            .timezone
            .following(start)
            .map(|t| (t.timestamp(), t.offset()));
        loop {
            let next = transitions.next().filter(|(at, _)| *at < end);
            let span_end = next.map_or(end, |(at, _)| at);
            *months_by_offset
                .entry(self.whole_minutes(span_offset)?)
                .or_default() |= local_months(span_offset, span_start, span_end);
            let Some((at, offset)) = next else { break };
            if offset > span_offset {
                let run_at = ceil_to_minute(at);
                if let Some(run_at) = run_at
                    && self.intent(run_at) == Intent::AfterGap
                {
                    crons.insert(gap_cron(run_at));
                }
            }
            (span_start, span_offset) = (at, offset);
        }
        let cron_months = self.cron.field(FieldKind::Month).values;
        for (offset_minutes, months) in months_by_offset {
            if months & cron_months != 0 {
                crons.extend(
                    self.offset_crons(offset_minutes)
                        .iter()
                        .map(UtcCron::render),
                );
            }
        }
        Ok(crons.into_iter().collect())
    }

    /// Whether (and why) the schedule runs at `instant` (the schedule semantics of [`crate::schedule`]). A gap run falls on the
    /// UTC minute after which the wall clock skipped a matching minute.
    pub fn intent(&self, instant: Timestamp) -> Intent {
        let local = self.timezone.to_datetime(instant);
        if civil::matches(&self.cron, local) {
            // Over a fold one wall-clock time belongs to two instants; the earlier one runs.
            return match self.timezone.to_ambiguous_timestamp(local).earlier() {
                Ok(first) if first < instant => Intent::RepeatedLocalTime,
                _ => Intent::LocalMatch,
            };
        }
        if minute_index(instant).is_none() {
            return Intent::NoMatch;
        }
        match dst::skipped_match_before(&self.cron, &self.timezone, instant) {
            Some(_) => Intent::AfterGap,
            None => Intent::NoMatch,
        }
    }

    /// The one UTC cron, of those for the offset in use at `instant`, that fires at its UTC
    /// minute of the day (an offset's crons split the minutes of the day between them).
    pub(super) fn offset_cron_at(&self, instant: Timestamp) -> Option<String> {
        let offset_minutes = self.whole_minutes(self.timezone.to_offset(instant)).ok()?;
        let of_day = minute_index(instant)?.rem_euclid(MINUTES_PER_DAY);
        let (hour, minute) = (of_day / 60, of_day % 60);
        self.offset_crons(offset_minutes)
            .iter()
            .find(|cron| cron.hours & (1 << hour) != 0 && cron.minutes & (1 << minute) != 0)
            .map(UtcCron::render)
    }

    /// The UTC crons for the cron's local times while the zone is `offset_minutes` ahead of
    /// UTC. They fire on disjoint minutes of the day, which is how the gate finds the
    /// responsible one.
    fn offset_crons(&self, offset_minutes: i32) -> Vec<UtcCron<'_>> {
        // Adding `delta` minutes moves a local minute `m` to `m + delta_minutes`, in the hour
        // `delta_hours` on, or one more where that passes 60: the minutes split in two sets.
        let delta = -i64::from(offset_minutes);
        let (delta_hours, delta_minutes) = (delta.div_euclid(60), delta.rem_euclid(60));
        let local_minutes = self.cron.field(FieldKind::Minute).values & ((1 << 60) - 1);
        let staying = local_minutes & ((1 << (60 - delta_minutes)) - 1);
        let carried = local_minutes & !staying;
        let minute_sets = [
            ((staying << delta_minutes), 0),
            (carried >> (60 - delta_minutes), 1),
        ];
        // Per day shift and minute set, the UTC hours: each pair is one exact cron.
        let mut hours = [[0u64; 2]; 2 * MAX_DAY_SHIFT as usize + 1];
        for hour in bits(self.cron.field(FieldKind::Hour).values) {
            for (set, (minutes, extra_hour)) in minute_sets.into_iter().enumerate() {
                if minutes == 0 {
                    continue;
                }
                let utc_hour = i64::from(hour) + delta_hours + extra_hour;
                let shift_index = (utc_hour.div_euclid(24) + MAX_DAY_SHIFT) as usize;
                hours[shift_index][set] |= 1 << utc_hour.rem_euclid(24);
            }
        }
        let mut crons = Vec::new();
        for (hours, days) in hours.iter().zip(&self.day_fields) {
            let Some(days) = days else { continue };
            for ((minutes, _), hours) in minute_sets.into_iter().zip(hours) {
                if *hours != 0 {
                    crons.push(UtcCron {
                        minutes,
                        hours: *hours,
                        days,
                    });
                }
            }
        }
        merge_exact(&mut crons);
        crons
    }

    fn whole_minutes(&self, offset: Offset) -> Result<i32, TzEmulationError> {
        let seconds = offset.seconds();
        if seconds % 60 == 0 {
            Ok(seconds / 60)
        } else {
            Err(TzEmulationError::OffsetNotWholeMinutes {
                timezone: self.timezone_name.clone(),
                offset: offset.to_string(),
            })
        }
    }
}

/// UTC crons emulating `cron` in `timezone` for the years `from_year .. from_year + years`
/// (local or UTC: the horizon has two days' margin). Their union fires at every intended
/// instant there, and more; [`tz_gate`](super::gate::tz_gate) lets only the intended ones
/// through. Sorted, deduplicated, plain 5-field crons (numbers, `*`, `,`, `-`, `/`).
///
/// Per UTC offset the zone uses (in a month the cron can fire), the cron's local times are
/// shifted to UTC: the minutes that stay in their hour and those carried into the next one (at
/// a half-hour offset) make one cron each, and crons that differ only in their hours or only
/// in their minutes merge, so a whole-hour zone needs one cron per offset, often one in all. Where the shift crosses
/// midnight, day-of-week moves with it, day-of-month moves to the neighbour days (1 ↔ 28–31) and
/// the month field gains the neighbour months. A DST gap that skips a matching local time adds
/// a cron for the instant after the jump (its UTC time on that weekday of that month, which
/// usually holds every year). Choose a horizon as long as the workflow may go without being
/// recompiled: after it, runs after new gaps and at new offsets are missed, not doubled.
pub fn utc_crons(
    cron: &str,
    timezone: &str,
    from_year: i16,
    years: u16,
) -> Result<Vec<String>, TzEmulationError> {
    ZonedCron::new(cron, timezone)?.utc_crons(from_year, years)
}

/// One UTC cron of the emulation: an exact minutes × hours product and its day fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct UtcCron<'a> {
    minutes: u64,
    hours: u64,
    /// Day-of-month, month and day-of-week, rendered.
    days: &'a str,
}

impl UtcCron<'_> {
    fn render(&self) -> String {
        format!(
            "{} {} {}",
            render_field(self.minutes, 0, 59),
            render_field(self.hours, 0, 23),
            self.days
        )
    }
}

/// Merge crons whose union is again one exact cron: the same day fields and the same minutes
/// (or hours). `*/5 * * * *` at UTC-5 is one cron, not one for today's hours and one for
/// tomorrow's.
fn merge_exact(crons: &mut Vec<UtcCron<'_>>) {
    'merged: loop {
        for i in 0..crons.len() {
            for j in i + 1..crons.len() {
                let (a, b) = (crons[i], crons[j]);
                if a.days != b.days {
                    continue;
                }
                let merged = if a.minutes == b.minutes {
                    UtcCron {
                        hours: a.hours | b.hours,
                        ..a
                    }
                } else if a.hours == b.hours {
                    UtcCron {
                        minutes: a.minutes | b.minutes,
                        ..a
                    }
                } else {
                    continue;
                };
                crons[i] = merged;
                crons.remove(j);
                continue 'merged;
            }
        }
        return;
    }
}

/// Day-of-month, month and day-of-week fields (rendered) that match, at least, the UTC dates
/// `day_shift` days after the local dates `cron` matches. `None` if no local date matches.
fn shifted_day_fields(cron: &CronExpr, day_shift: i64) -> Option<String> {
    let days_of_month = cron.field(FieldKind::DayOfMonth).values & DAY_OF_MONTH_MASK;
    let months = cron.field(FieldKind::Month).values;
    let weekdays = rotate_weekdays(
        cron.field(FieldKind::DayOfWeek).values & WEEKDAY_MASK,
        day_shift,
    );
    let (shifted_days, shifted_months) = if day_shift == 0 {
        (days_of_month, months)
    } else {
        let dates = shift_dates(month_days(months, days_of_month), day_shift);
        let days = dates.iter().fold(0, |all, days| all | u64::from(*days));
        let months = (1..=12)
            .filter(|m| dates[*m] != 0)
            .fold(0, |all, m| all | 1 << m);
        (days, months)
    };
    if cron.days_are_ored() {
        // (day-of-month OR weekday) AND month: a date picked by its weekday can be any day of
        // its month, shifted into the neighbour month.
        let months = shifted_months | months | neighbour_months(months, day_shift);
        if shifted_days == 0 {
            // No day of the month exists in these months: only the weekday fires.
            return Some(format!(
                "* {} {}",
                render_field(months, 1, 12),
                render_field(weekdays, 0, 6)
            ));
        }
        // Neither field may start with `*`, or the day fields would be ANDed.
        return Some(format!(
            "{} {} {}",
            render_list(shifted_days),
            render_field(months, 1, 12),
            render_list(weekdays)
        ));
    }
    if shifted_days == 0 || shifted_months == 0 || weekdays == 0 {
        return None;
    }
    // ANDed: at least one day field must start with `*`. If neither set has such a form,
    // drop the looser restriction (a superset; the gate filters).
    let (dom, dow) = match (star_form(shifted_days, 1, 31), star_form(weekdays, 0, 6)) {
        (None, None) if shifted_days.count_ones() * 7 <= weekdays.count_ones() * 31 => {
            (render_list(shifted_days), "*".to_string())
        }
        (None, None) => ("*".to_string(), render_list(weekdays)),
        (dom, dow) => (
            dom.unwrap_or_else(|| render_list(shifted_days)),
            dow.unwrap_or_else(|| render_list(weekdays)),
        ),
    };
    Some(format!(
        "{dom} {} {dow}",
        render_field(shifted_months, 1, 12)
    ))
}

/// The dates (month → day bits) with a month in `months` and a day in `days`, Feb 29 included.
fn month_days(months: u64, days: u64) -> [u32; 13] {
    let mut dates = [0; 13];
    for month in 1..=12u8 {
        if months & (1 << month) != 0 {
            dates[usize::from(month)] = (days & day_bits(1, days_in_month(month))) as u32;
        }
    }
    dates
}

/// Every date `day_shift` days from one of `dates`, in any year.
fn shift_dates(mut dates: [u32; 13], day_shift: i64) -> [u32; 13] {
    for _ in 0..day_shift.unsigned_abs() {
        let mut shifted = [0u32; 13];
        for month in 1..=12u8 {
            let next = month % 12 + 1;
            let previous = (month + 10) % 12 + 1;
            for day in 1..=days_in_month(month) {
                if dates[usize::from(month)] & (1 << day) == 0 {
                    continue;
                }
                if day_shift > 0 {
                    if day < days_in_month(month) {
                        shifted[usize::from(month)] |= 1 << (day + 1);
                    }
                    if day >= min_last_day(month) {
                        shifted[usize::from(next)] |= 1 << 1;
                    }
                } else if day > 1 {
                    shifted[usize::from(month)] |= 1 << (day - 1);
                } else {
                    shifted[usize::from(previous)] |=
                        day_bits(min_last_day(previous), days_in_month(previous)) as u32;
                }
            }
        }
        dates = shifted;
    }
    dates
}

/// The months next to `months` in the direction of `day_shift` (none for 0).
fn neighbour_months(months: u64, day_shift: i64) -> u64 {
    (1..=12u8)
        .filter(|m| months & (1 << m) != 0)
        .map(|m| match day_shift.signum() {
            1 => 1 << (m % 12 + 1),
            -1 => 1 << ((m + 10) % 12 + 1),
            _ => 0,
        })
        .fold(0, |all, bit| all | bit)
}

fn rotate_weekdays(weekdays: u64, day_shift: i64) -> u64 {
    (0..7i64)
        .filter(|w| weekdays & (1 << w) != 0)
        .fold(0, |all, w| all | 1 << (w + day_shift).rem_euclid(7))
}

/// The fewest days `month` can have (February: 28).
fn min_last_day(month: u8) -> u8 {
    if month == 2 { 28 } else { days_in_month(month) }
}

/// The values (bit positions) of a bit set.
fn bits(mut values: u64) -> impl Iterator<Item = u8> {
    std::iter::from_fn(move || {
        let value = values.trailing_zeros();
        (value < 64).then(|| {
            values &= values - 1;
            value as u8
        })
    })
}

/// Bits `from..=to`.
fn day_bits(from: u8, to: u8) -> u64 {
    (from..=to).fold(0, |all, day| all | 1 << day)
}

/// `*` or `*/n` for a value set that has that form (the only forms that start with `*`);
/// `*/n` only where it reads better than a list (three values or more).
fn star_form(values: u64, low: u8, high: u8) -> Option<String> {
    if values & (1 << low) == 0 {
        return None;
    }
    // The step is the distance from `low` to the next value (or past `high`: one value).
    let step = (low + 1..=high)
        .find(|v| values & (1 << v) != 0)
        .map_or(high - low + 1, |next| next - low);
    let progression = (low..=high)
        .step_by(usize::from(step))
        .fold(0u64, |all, v| all | 1 << v);
    match step {
        _ if progression != values => None,
        1 => Some("*".to_string()),
        _ if values.count_ones() >= 3 => Some(format!("*/{step}")),
        _ => None,
    }
}

/// A field for which starting with `*` does not matter (minute, hour, month; a day field
/// next to a `*` one).
fn render_field(values: u64, low: u8, high: u8) -> String {
    star_form(values, low, high).unwrap_or_else(|| render_list(values))
}

/// Values as a list with ranges (`1,3,28-31`), never starting with `*`.
fn render_list(values: u64) -> String {
    let mut parts = Vec::new();
    let mut value = 0u8;
    while value < 64 {
        if values & (1 << value) == 0 {
            value += 1;
            continue;
        }
        let start = value;
        while value < 63 && values & (1 << (value + 1)) != 0 {
            value += 1;
        }
        parts.push(match value - start {
            0 => format!("{start}"),
            1 => format!("{start},{value}"),
            _ => format!("{start}-{value}"),
        });
        value += 1;
    }
    parts.join(",")
}

/// The cron for a gap run at `run_at` (a UTC minute): its UTC time, month and weekday. DST
/// rules name a weekday ("second Sunday in March"), so it is the same cron every year; on the
/// other days it fires the gate skips it.
pub(super) fn gap_cron(run_at: Timestamp) -> String {
    let utc = Offset::UTC.to_datetime(run_at);
    format!(
        "{} {} * {} {}",
        utc.minute(),
        utc.hour(),
        utc.month(),
        utc.weekday().to_sunday_zero_offset()
    )
}

/// Minutes since the Unix epoch, if `instant` is a whole UTC minute.
fn minute_index(instant: Timestamp) -> Option<i64> {
    let seconds = instant.as_second();
    (instant.subsec_nanosecond() == 0 && seconds.rem_euclid(60) == 0).then_some(seconds / 60)
}

/// The first whole UTC minute at or after `instant`.
fn ceil_to_minute(instant: Timestamp) -> Option<Timestamp> {
    let floor_second = instant.as_second() - i64::from(instant.subsec_nanosecond() < 0);
    let ceil_second = floor_second + i64::from(instant.subsec_nanosecond() != 0);
    let ceil_minute = ceil_second.div_euclid(60) + i64::from(ceil_second.rem_euclid(60) != 0);
    Timestamp::from_second(ceil_minute * 60).ok()
}

/// The horizon's instants: the years plus two days each side, so local years are covered too.
fn horizon(from_year: i16, years: u16) -> Result<(Timestamp, Timestamp), TzEmulationError> {
    let out_of_range = || TzEmulationError::YearsOutOfRange { from_year, years };
    if years == 0 {
        return Err(out_of_range());
    }
    let end_year =
        i16::try_from(i32::from(from_year) + i32::from(years)).map_err(|_| out_of_range())?;
    let margin = SignedDuration::from_hours(48);
    let new_year = |year: i16| {
        Date::new(year, 1, 1)
            .and_then(|date| Offset::UTC.to_timestamp(date.at(0, 0, 0, 0)))
            .map_err(|_| out_of_range())
    };
    let start = new_year(from_year)?
        .checked_sub(margin)
        .map_err(|_| out_of_range())?;
    let end = new_year(end_year)?
        .checked_add(margin)
        .map_err(|_| out_of_range())?;
    Ok((start, end))
}

/// The local months (bits 1..=12) of the instants `from..to` at `offset`.
fn local_months(offset: Offset, from: Timestamp, to: Timestamp) -> u64 {
    let first = offset.to_datetime(from);
    let last = offset.to_datetime(to.checked_sub(SignedDuration::from_secs(1)).unwrap_or(to));
    let (mut year, mut month) = (first.year(), first.month());
    let mut months = 0;
    // Twelve steps reach every month.
    for _ in 0..12 {
        months |= 1 << month;
        if (year, month) >= (last.year(), last.month()) {
            break;
        }
        (year, month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i16 = 2027;

    #[test]
    fn utc_crons_shift_fields() {
        let crons = |cron: &str, zone: &str| utc_crons(cron, zone, YEAR, 1).expect("emulated");
        assert_eq!(crons("*/5 * * * *", "America/New_York"), ["*/5 * * * *"]);
        assert_eq!(crons("*/15 * * * *", "Asia/Kathmandu"), ["*/15 * * * *"]);
        assert_eq!(crons("0 0 1 * *", "Asia/Kolkata"), ["30 18 28-31 * *"]);
        assert_eq!(crons("0 0 13 * 5", "Asia/Kathmandu"), ["15 18 12 * 4"]);
        assert_eq!(crons("0 0 1 1 *", "Europe/Berlin"), ["0 23 31 12 *"]);
        assert_eq!(crons("0 0 29 2 *", "Europe/Berlin"), ["0 23 28 2 *"]);
        // New Year's Eve is in winter: no summer-time cron.
        assert_eq!(crons("45 23 31 12 *", "America/New_York"), ["45 4 1 1 *"]);
        // Minutes that cross the hour differently split into one cron per hour group.
        assert_eq!(
            crons("0,45 9 * * *", "Asia/Kolkata"),
            ["15 4 * * *", "30 3 * * *"]
        );
        assert_eq!(crons("0 0 * * 1", "Asia/Tokyo"), ["0 15 * * 0"]);
        // A gap cron names a weekday, so ten years need no more crons than one.
        assert_eq!(
            utc_crons("30 2 * * *", "America/New_York", YEAR, 10).expect("emulated"),
            crons("30 2 * * *", "America/New_York")
        );
        assert_eq!(crons("0 23 * * 1", "America/Los_Angeles").len(), 2);
        assert_eq!(crons("0 23 * * 1", "America/Los_Angeles")[0], "0 6 * * 2");
    }

    #[test]
    fn day_fields_keep_their_and_or_meaning() {
        let fields = |cron: &str, shift| {
            shifted_day_fields(&parse_cron(cron).expect("valid"), shift).expect("fires")
        };
        assert_eq!(fields("0 0 * * *", -1), "* * *");
        assert_eq!(fields("0 0 */2 * *", 0), "*/2 * *");
        assert_eq!(fields("0 0 1,15 * 1", 1), "2,16 * 2");
        // ANDed, both restricted after the shift: the looser one becomes `*`.
        assert_eq!(fields("0 0 */2 * 1", -1), "* * 0");
        assert_eq!(fields("0 0 31 * *", 1), "1 1,2,4,6,8,9,11 *");
        assert_eq!(fields("0 0 1 3 *", -1), "28,29 2 *");
        assert_eq!(fields("0 0 28 2 *", 1), "1,29 2,3 *");
        // ORed without a real day of the month: the weekday alone.
        assert_eq!(fields("0 0 31 2 1", 0), "31 2 1");
        assert_eq!(fields("0 0 31 2 1", -1), "* 1,2 0");
        assert_eq!(fields("0 0 13 2 5", 1), "14 2,3 6");
    }

    #[test]
    fn rendering() {
        assert_eq!(render_field(u64::MAX >> 4, 0, 59), "*");
        assert_eq!(render_field(1 | 1 << 15 | 1 << 30 | 1 << 45, 0, 59), "*/15");
        assert_eq!(render_field(1 << 5, 0, 59), "5");
        assert_eq!(
            render_list(1 << 1 | 1 << 2 | 1 << 5 | day_bits(28, 31)),
            "1,2,5,28-31"
        );
        assert_eq!(star_form(day_bits(1, 31), 1, 31).as_deref(), Some("*"));
        assert_eq!(star_form(1 << 1 | 1 << 3, 1, 31), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            utc_crons("0 9 * * *", "Mars/Olympus", YEAR, 1),
            Err(TzEmulationError::UnknownTimeZone("Mars/Olympus".into()))
        );
        assert_eq!(
            utc_crons("@daily", "UTC", YEAR, 1),
            Err(TzEmulationError::InvalidCron("@daily".into()))
        );
        assert!(matches!(
            utc_crons("0 9 * * *", "UTC", YEAR, 0),
            Err(TzEmulationError::YearsOutOfRange { .. })
        ));
        assert!(matches!(
            utc_crons("0 9 * * *", "UTC", 9999, 1),
            Err(TzEmulationError::YearsOutOfRange { .. })
        ));
        assert!(matches!(
            utc_crons("0 9 * * *", "Africa/Monrovia", 1960, 1),
            Err(TzEmulationError::OffsetNotWholeMinutes { .. })
        ));
    }
}
