//! Zoned schedules on UTC-only schedulers (GitHub Enterprise Server has no `timezone:` next to
//! `cron:`). DESIGN 2.1: a cron in zone Z fires at every local wall-clock minute it matches; a
//! local time in a DST gap runs at the first valid instant after the jump; a repeated local time
//! runs once, at its first (earlier) occurrence.
//!
//! The emulation has two halves, which must come from the same `coder` version (CI pins it):
//! - [`utc_crons`]: UTC crons whose union fires at a superset of the intended instants: the cron
//!   shifted to UTC once per offset the zone uses (day fields widened where the shift crosses
//!   midnight), plus a cron for the instants after DST gaps that skip a matching local time.
//! - [`tz_gate`]: run by the workflow's first job. From the UTC cron that fired and the clock it
//!   finds the nominal instant, and lets the run through only if that instant is intended
//!   ([`ZonedCron::intent`]) and the fired cron is the one responsible for it, so an instant that
//!   two of the UTC crons hit still runs once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

use crate::parse::cron::{CronExpr, FieldKind, parse_cron};

const MINUTES_PER_DAY: i64 = 24 * 60;

/// How far back the gate looks for the firing that started it: runs start minutes late,
/// never days.
const GATE_LOOKBACK_MINUTES: i64 = 48 * 60;

/// A DST gap longer than this is a calendar change (Samoa skipped a whole day in 2011).
const MAX_GAP_MINUTES: usize = 2 * 24 * 60;

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

/// A cron in a time zone, parsed once.
#[derive(Clone, Debug)]
pub struct ZonedCron {
    cron: CronExpr,
    timezone: TimeZone,
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

    /// Whether (and why) the schedule runs at `instant` (DESIGN 2.1). A gap run falls on the
    /// UTC minute after which the wall clock skipped a matching minute.
    pub fn intent(&self, instant: Timestamp) -> Intent {
        let local = self.timezone.to_datetime(instant);
        if civil_matches(&self.cron, local) {
            // Over a fold one wall-clock time belongs to two instants; the earlier one runs.
            return match self.timezone.to_ambiguous_timestamp(local).earlier() {
                Ok(first) if first < instant => Intent::RepeatedLocalTime,
                _ => Intent::LocalMatch,
            };
        }
        if minute_index(instant).is_none() {
            return Intent::NoMatch;
        }
        let Ok(previous) = instant.checked_sub(SignedDuration::from_mins(1)) else {
            return Intent::NoMatch;
        };
        let before = self.timezone.to_datetime(previous);
        // Wall-clock minutes strictly between the previous UTC minute's and this one's were
        // skipped; normally there are none.
        let mut skipped = before
            .date()
            .at(before.hour(), before.minute(), 0, 0)
            .checked_add(SignedDuration::from_mins(1));
        for _ in 0..MAX_GAP_MINUTES {
            match skipped {
                Ok(minute) if minute < local => {
                    if civil_matches(&self.cron, minute) {
                        return Intent::AfterGap;
                    }
                    skipped = minute.checked_add(SignedDuration::from_mins(1));
                }
                _ => break,
            }
        }
        Intent::NoMatch
    }

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
    fn gate_parsed(
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

    /// The one UTC cron, of those for the offset in use at `instant`, that fires at its UTC
    /// minute of the day (an offset's crons split the minutes of the day between them).
    fn offset_cron_at(&self, instant: Timestamp) -> Option<String> {
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
/// instant there, and more; [`tz_gate`] lets only the intended ones through. Sorted,
/// deduplicated, plain 5-field crons (numbers, `*`, `,`, `-`, `/`).
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
            dates[usize::from(month)] = (days & day_bits(1, max_days(month))) as u32;
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
            for day in 1..=max_days(month) {
                if dates[usize::from(month)] & (1 << day) == 0 {
                    continue;
                }
                if day_shift > 0 {
                    if day < max_days(month) {
                        shifted[usize::from(month)] |= 1 << (day + 1);
                    }
                    if day >= min_last_day(month) {
                        shifted[usize::from(next)] |= 1 << 1;
                    }
                } else if day > 1 {
                    shifted[usize::from(month)] |= 1 << (day - 1);
                } else {
                    shifted[usize::from(previous)] |=
                        day_bits(min_last_day(previous), max_days(previous)) as u32;
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

/// The most days `month` can have (February: 29).
fn max_days(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The fewest days `month` can have (February: 28).
fn min_last_day(month: u8) -> u8 {
    if month == 2 { 28 } else { max_days(month) }
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
fn gap_cron(run_at: Timestamp) -> String {
    let utc = Offset::UTC.to_datetime(run_at);
    format!(
        "{} {} * {} {}",
        utc.minute(),
        utc.hour(),
        utc.month(),
        utc.weekday().to_sunday_zero_offset()
    )
}

/// Whether `cron` matches a wall-clock time (at a whole minute).
fn civil_matches(cron: &CronExpr, at: DateTime) -> bool {
    at.second() == 0
        && at.subsec_nanosecond() == 0
        && cron
            .field(FieldKind::Minute)
            .matches(field_value(at.minute()))
        && cron.field(FieldKind::Hour).matches(field_value(at.hour()))
        && date_matches(cron, at.date())
}

/// POSIX: day-of-month and day-of-week are ORed only when neither starts with `*`.
fn date_matches(cron: &CronExpr, date: Date) -> bool {
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

/// Civil fields are never negative; a value no field holds otherwise.
fn field_value(value: i8) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
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
        if date_matches(cron, date) {
            for of_day in (0..=last_of_day).rev() {
                let minute = day_start + of_day;
                if minute < earliest {
                    return None;
                }
                if cron.field(FieldKind::Hour).matches((of_day / 60) as u8)
                    && cron.field(FieldKind::Minute).matches((of_day % 60) as u8)
                {
                    return Timestamp::from_second(minute * 60).ok();
                }
            }
        }
        day_start -= MINUTES_PER_DAY;
        last_of_day = MINUTES_PER_DAY - 1;
    }
    None
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

    use jiff::civil::date;

    const YEAR: i16 = 2027;
    const MINUTES_IN_YEAR: usize = 365 * 1440;
    /// Minutes walked before the year, so a fold or gap early in the year has its history.
    const LEAD_MINUTES: usize = 3 * 1440;
    /// Civil days are counted from here (earlier than any local date of the walk).
    const BASE: Date = date(2026, 12, 20);
    /// Days from `BASE` to the year's first day.
    const YEAR_START_DAY: usize = 12;

    const CRONS: [&str; 13] = [
        "0 9 * * 1",
        "30 2 * * *",
        "0 0 1 * *",
        "0 9 * * *",
        "*/15 * * * *",
        "30 1 * * 0",
        "0 0 13 * 5",
        "0 2 * * *",
        "45 23 31 12 *",
        // Beyond the brief: two offsets hitting one UTC hour, a gap minute next to a valid one,
        // ANDed day fields that both restrict, and an ORed cron whose day never exists.
        "0 9,10 * * *",
        "0,30 2,3 * * *",
        "0 0 */2 * 1",
        "15 0 31 2 2",
    ];

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a timestamp")
    }

    fn year_start() -> Timestamp {
        // Not parsed: the simulation asks for it at every gate call.
        Timestamp::from_second(1_798_761_600).expect("in range")
    }

    /// UTC minute `index` of the year (negative: before it).
    fn minute_of_year(index: i64) -> Timestamp {
        year_start()
            .checked_add(SignedDuration::from_mins(index))
            .expect("in range")
    }

    /// (month, day, weekday with Sunday 0) of each civil day from `BASE`.
    fn civil_days() -> Vec<(u8, u8, u8)> {
        let mut days = Vec::new();
        let mut day = BASE;
        for _ in 0..400 {
            days.push((
                day.month() as u8,
                day.day() as u8,
                day.weekday().to_sunday_zero_offset() as u8,
            ));
            day = day.tomorrow().expect("in range");
        }
        assert_eq!(
            BASE.checked_add(jiff::Span::new().days(YEAR_START_DAY as i64))
                .expect("in range"),
            date(YEAR, 1, 1)
        );
        days
    }

    /// Written apart from the module: which civil days and minutes of the day a cron matches.
    struct Matcher {
        minute_of_day: Vec<bool>,
        day: Vec<bool>,
    }

    impl Matcher {
        fn new(cron: &CronExpr, days: &[(u8, u8, u8)]) -> Matcher {
            let field = |kind| cron.field(kind);
            let ored = !field(FieldKind::DayOfMonth).starts_with_star
                && !field(FieldKind::DayOfWeek).starts_with_star;
            Matcher {
                minute_of_day: (0..1440u16)
                    .map(|m| {
                        field(FieldKind::Hour).matches((m / 60) as u8)
                            && field(FieldKind::Minute).matches((m % 60) as u8)
                    })
                    .collect(),
                day: days
                    .iter()
                    .map(|&(month, day, weekday)| {
                        let dom = field(FieldKind::DayOfMonth).matches(day);
                        let dow = field(FieldKind::DayOfWeek).matches(weekday);
                        field(FieldKind::Month).matches(month)
                            && if ored { dom || dow } else { dom && dow }
                    })
                    .collect(),
            }
        }
    }

    /// The brute-force reference for one zone, apart from the module: every UTC minute from
    /// `LEAD_MINUTES` before the year to its end, in wall-clock time by jiff's offset.
    struct ZoneWalk {
        /// By wall-clock minute counted from `BASE` 00:00: the walked UTC minute at which it
        /// runs (its first occurrence; for a minute the clock jumped over, the minute after
        /// the jump), or `NOT_WALKED`.
        runs_at: Vec<u32>,
    }

    const NOT_WALKED: u32 = u32::MAX;

    impl ZoneWalk {
        fn new(zone: &str, days: &[(u8, u8, u8)]) -> ZoneWalk {
            let timezone = TimeZone::get(zone).expect("zone");
            let offset_at = |walked: usize| {
                let instant = minute_of_year(walked as i64 - LEAD_MINUTES as i64);
                i64::from(timezone.to_offset(instant).seconds()) / 60
            };
            let first_from_base = (YEAR_START_DAY * 1440 - LEAD_MINUTES) as i64;
            let mut runs_at = vec![NOT_WALKED; days.len() * 1440];
            let mut previous: Option<usize> = None;
            for hour_start in (0..LEAD_MINUTES + MINUTES_IN_YEAR).step_by(60) {
                // One offset per hour unless the hour holds a transition.
                let (first, last) = (offset_at(hour_start), offset_at(hour_start + 59));
                for walked in hour_start..hour_start + 60 {
                    let offset = if first == last {
                        first
                    } else {
                        offset_at(walked)
                    };
                    let local = usize::try_from(first_from_base + walked as i64 + offset)
                        .expect("after BASE");
                    let walked = walked as u32;
                    // A skipped wall-clock minute runs now; a repeated one keeps its first run.
                    let skipped_from = previous.map_or(local, |p| p + 1);
                    if skipped_from < local {
                        runs_at[skipped_from..local].fill(walked);
                    }
                    if runs_at[local] == NOT_WALKED {
                        runs_at[local] = walked;
                    }
                    previous = Some(local);
                }
            }
            ZoneWalk { runs_at }
        }

        /// The UTC minutes of the year at which `cron` runs in the zone.
        fn runs(&self, cron: &CronExpr, days: &[(u8, u8, u8)]) -> BTreeSet<usize> {
            let matcher = Matcher::new(cron, days);
            let minutes: Vec<usize> = (0..1440).filter(|m| matcher.minute_of_day[*m]).collect();
            (0..days.len())
                .filter(|day| matcher.day[*day])
                .flat_map(|day| minutes.iter().map(move |minute| day * 1440 + minute))
                .map(|local| self.runs_at[local] as usize)
                .filter(|walked| (LEAD_MINUTES..LEAD_MINUTES + MINUTES_IN_YEAR).contains(walked))
                .map(|walked| walked - LEAD_MINUTES)
                .collect()
        }
    }

    /// The UTC minutes of the year (and the half hour after it) at which a UTC cron fires.
    fn utc_firings(cron: &CronExpr, days: &[(u8, u8, u8)]) -> Vec<usize> {
        let matcher = Matcher::new(cron, days);
        let minutes: Vec<usize> = (0..1440).filter(|m| matcher.minute_of_day[*m]).collect();
        (0..=365)
            .filter(|day| matcher.day[YEAR_START_DAY + day])
            .flat_map(|day| minutes.iter().map(move |minute| day * 1440 + minute))
            .filter(|index| *index < MINUTES_IN_YEAR + 31)
            .collect()
    }

    /// Only what GitHub's and our parser's 5-field dialect shares.
    fn assert_plain_cron(cron: &str) {
        assert_eq!(cron.split(' ').count(), 5, "{cron}");
        assert!(
            cron.chars()
                .all(|c| c.is_ascii_digit() || " *,-/".contains(c)),
            "{cron}"
        );
        assert!(parse_cron(cron).is_ok(), "{cron}");
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Figures {
        crons: Vec<String>,
        /// Runs the UTC crons start (one per cron and firing).
        fired: usize,
        /// Runs the gate lets through.
        passed: usize,
    }

    /// Emulate `cron` in `zone` over the year against the reference; panics on a difference.
    fn simulate(cron: &str, zone: &str, walk: &ZoneWalk, days: &[(u8, u8, u8)]) -> Figures {
        let zoned = ZonedCron::new(cron, zone).expect("valid cron and zone");
        let expected = walk.runs(&zoned.cron, days);
        let crons = zoned.utc_crons(YEAR, 1).expect("emulated");
        let mut passed: BTreeMap<usize, usize> = BTreeMap::new();
        let mut fired_at = BTreeSet::new();
        let mut fired = 0;
        for utc_cron in &crons {
            assert_plain_cron(utc_cron);
            let fired_cron = parse_cron(utc_cron).expect("parses");
            let firings = utc_firings(&fired_cron, days);
            for (k, &index) in firings.iter().enumerate() {
                if index >= MINUTES_IN_YEAR {
                    break;
                }
                fired += 1;
                fired_at.insert(index);
                let gate = |late: usize| {
                    let now = minute_of_year((index + late) as i64);
                    // Parsing the fired cron once keeps the year affordable in debug builds.
                    let decision = zoned.gate_parsed(utc_cron, &fired_cron, now).expect("gate");
                    if k == 0 {
                        assert_eq!(tz_gate(cron, zone, utc_cron, now), Ok(decision.clone()));
                    }
                    decision
                };
                let decision = gate(0);
                assert_eq!(decision.nominal, minute_of_year(index as i64));
                if decision.run {
                    *passed.entry(index).or_default() += 1;
                }
                // A late start decides the same until the cron's next firing: checked at the
                // latest such start always, at a few earlier ones for every eighth firing.
                let latest = firings
                    .get(k + 1)
                    .map_or(30, |next| 30.min(next - index - 1));
                let lates: &[usize] = if k % 8 == 0 {
                    &[1, latest / 2, latest]
                } else {
                    &[latest]
                };
                for &late in lates.iter().filter(|late| **late >= 1) {
                    let later = gate(late);
                    assert_eq!(
                        (later.run, later.nominal, later.intent),
                        (decision.run, decision.nominal, decision.intent),
                        "{cron} {zone} {utc_cron}: {late} minutes late"
                    );
                }
            }
        }
        let describe = |indexes: Vec<&usize>| -> Vec<String> {
            indexes
                .into_iter()
                .take(5)
                .map(|i| {
                    minute_of_year(*i as i64)
                        .to_zoned_datetime(zoned.timezone.clone())
                        .to_string()
                })
                .collect()
        };
        let missed: Vec<&usize> = expected.difference(&fired_at).collect();
        assert!(
            missed.is_empty(),
            "{cron} {zone}: no UTC cron fires at {:?}",
            describe(missed)
        );
        let doubled: Vec<&usize> = passed
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(i, _)| i)
            .collect();
        assert!(
            doubled.is_empty(),
            "{cron} {zone}: runs twice at {:?}",
            describe(doubled)
        );
        let passed: BTreeSet<usize> = passed.into_keys().collect();
        let wrong: Vec<&usize> = expected.symmetric_difference(&passed).collect();
        assert!(
            wrong.is_empty(),
            "{cron} {zone}: the gate differs from the reference at {:?}",
            describe(wrong)
        );
        Figures {
            crons,
            fired,
            passed: passed.len(),
        }
    }

    /// `*/15` fires 35,040 times a year, each gated; a debug build (`cargo test`) simulates it
    /// only in zones standing for the others: whole-hour DST, half-hour DST on a half-hour
    /// offset, and a 45-minute offset. `cargo test --release` simulates every pair.
    fn simulated_in_this_build(cron: &str, zone: &str) -> bool {
        !cfg!(debug_assertions)
            || cron != "*/15 * * * *"
            || ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"].contains(&zone)
    }

    fn simulate_zone(zone: &str) {
        let days = civil_days();
        let walk = ZoneWalk::new(zone, &days);
        for cron in CRONS
            .into_iter()
            .filter(|cron| simulated_in_this_build(cron, zone))
        {
            let figures = simulate(cron, zone, &walk, &days);
            eprintln!(
                "| `{cron}` | {zone} | {} | {} | {} |",
                figures
                    .crons
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                figures.fired,
                figures.passed
            );
        }
    }

    #[test]
    fn year_new_york() {
        simulate_zone("America/New_York");
    }

    #[test]
    fn year_chicago() {
        simulate_zone("America/Chicago");
    }

    #[test]
    fn year_berlin() {
        simulate_zone("Europe/Berlin");
    }

    #[test]
    fn year_lord_howe() {
        simulate_zone("Australia/Lord_Howe");
    }

    #[test]
    fn year_sydney() {
        simulate_zone("Australia/Sydney");
    }

    #[test]
    fn year_kolkata() {
        simulate_zone("Asia/Kolkata");
    }

    #[test]
    fn year_kathmandu() {
        simulate_zone("Asia/Kathmandu");
    }

    #[test]
    fn year_utc() {
        simulate_zone("UTC");
    }

    #[test]
    fn year_start_is_new_year() {
        assert_eq!(year_start(), at("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn figures_like_the_reference_table() {
        let days = civil_days();
        let figures =
            |cron: &str, zone: &str| simulate(cron, zone, &ZoneWalk::new(zone, &days), &days);
        let expect = |crons: &[&str], fired, passed| Figures {
            crons: crons.iter().map(|c| c.to_string()).collect(),
            fired,
            passed,
        };
        assert_eq!(
            figures("0 9 * * 1", "America/Chicago"),
            expect(&["0 14 * * 1", "0 15 * * 1"], 104, 52)
        );
        // The table says 364: it skipped the gap day; DESIGN runs it at 03:00 EDT.
        assert_eq!(
            figures("30 2 * * *", "America/New_York"),
            expect(&["0 7 * 3 0", "30 6 * * *", "30 7 * * *"], 734, 365)
        );
        assert_eq!(
            figures("0 0 1 * *", "Europe/Berlin"),
            expect(&["0 22 28-31 * *", "0 23 28-31 * *"], 82, 12)
        );
        assert_eq!(
            figures("0 9 * * *", "Australia/Lord_Howe"),
            expect(&["0 22 * * *", "30 22 * * *"], 730, 365)
        );
        // The fold Sunday runs 01:30 once.
        assert_eq!(figures("30 1 * * 0", "America/New_York").passed, 52);
    }

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
