//! The time-zone emulation against a brute-force reference, a year at a time: every UTC cron
//! [`utc_crons`](super::emulation::utc_crons) returns fires, and the gate lets exactly the
//! intended instants through, each once.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::cron::{CronExpr, FieldKind, parse_cron};
use super::emulation::ZonedCron;
use super::gate::tz_gate;

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
                let local =
                    usize::try_from(first_from_base + walked as i64 + offset).expect("after BASE");
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
    let figures = |cron: &str, zone: &str| simulate(cron, zone, &ZoneWalk::new(zone, &days), &days);
    let expect = |crons: &[&str], fired, passed| Figures {
        crons: crons.iter().map(|c| c.to_string()).collect(),
        fired,
        passed,
    };
    assert_eq!(
        figures("0 9 * * 1", "America/Chicago"),
        expect(&["0 14 * * 1", "0 15 * * 1"], 104, 52)
    );
    // The table says 364: it skipped the gap day; the schedule semantics run it at 03:00 EDT.
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
