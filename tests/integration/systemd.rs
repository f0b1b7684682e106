//! The systemd emitter: snapshots of every valid fixture systemd can express (the others get
//! the target diagnostic), `systemd-analyze verify` with nothing printed, `OnCalendar=` lines
//! that elapse exactly when the cron engine fires, and spec strings that cannot add a
//! directive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;

use coder::diag::Code;
use coder::ir::{Trigger, Workflow};
use coder::pipeline::{Settings, check_bytes};
use coder::schedule::cron::parse_cron;
use coder::target::{Target, cannot_express, systemd};
use coder::workspace::SpecInput;
use coder::workspace::config::SystemdConfig;

use crate::{ir::lower, ok_fixtures, snapshot_settings};

/// The codes `coder check --target systemd` reports for a fixture.
fn systemd_codes(path: &Path) -> Vec<Code> {
    let input = SpecInput {
        path: path.to_path_buf(),
        display: path.display().to_string(),
    };
    let settings = Settings {
        targets: vec![&systemd::Systemd],
        ..Settings::default()
    };
    let bytes = std::fs::read(path).expect("read");
    check_bytes(&input, bytes, &settings)
        .report
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

/// What systemd cannot express in a workflow.
fn systemd_limits(workflow: &Workflow) -> Vec<coder::diag::Diagnostic> {
    systemd::Systemd.limits(workflow, &coder::workspace::Config::default())
}

/// The fixtures systemd can express, lowered.
fn expressible() -> Vec<Workflow> {
    ok_fixtures()
        .iter()
        .map(|path| lower(path))
        .filter(|workflow| !cannot_express(&systemd_limits(workflow)))
        .collect()
}

#[test]
fn units_of_every_valid_fixture() {
    let mut snapshotted = Vec::new();
    for path in ok_fixtures() {
        let workflow = lower(&path);
        let codes = systemd_codes(&path);
        let limits = systemd_limits(&workflow);
        if cannot_express(&limits) {
            let reason = &limits[0].message;
            // Repository events and webhooks: the trigger is the diagnostic.
            assert!(
                codes.contains(&Code::TriggerUnsupported),
                "{}: {reason}, but check says {codes:?}",
                path.display()
            );
            continue;
        }
        assert!(
            !codes.contains(&Code::TriggerUnsupported),
            "{}: {codes:?}",
            path.display()
        );
        for file in systemd::emit_files(&workflow, &SystemdConfig::default()) {
            let name = file.path.trim_start_matches("systemd/").to_string();
            snapshotted.push(name.clone());
            snapshot_settings()
                .bind(|| insta::assert_snapshot!(format!("systemd__{name}"), file.contents));
        }
    }
    // Which fixtures systemd takes is part of the proof.
    assert_eq!(
        snapshotted,
        [
            "coder-dependency-bump.service",
            "coder-dependency-bump.timer",
            "coder-release.service",
            "coder-release.timer",
            "coder-test-triage.service",
            "coder-test-triage.timer",
            "coder-wf_release_train.service",
            "coder-wf_release_train.timer",
        ]
    );
}

#[test]
fn a_manual_only_workflow_gets_a_service_and_no_timer() {
    let mut workflow = expressible().remove(0);
    workflow
        .triggers
        .retain(|t| matches!(t, Trigger::Manual { .. }));
    let files = systemd::emit_files(&workflow, &SystemdConfig::default());
    assert_eq!(files.len(), 1);
    assert!(files[0].path.ends_with(".service"));
}

/// `systemd-analyze verify` with nothing printed (it exits 0 on "ignoring" warnings).
fn verify(dir: &Path, files: &[String]) {
    let output = crate::outside_tool("systemd-analyze")
        .args(["verify", "--man=no", "--recursive-errors=no"])
        .args(files)
        .current_dir(dir)
        .output()
        .expect("systemd-analyze runs (scripts/test installs Debian's systemd)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );
}

#[test]
fn systemd_analyze_verify_prints_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // verify checks that the ExecStart binary exists on this machine: point the units at the
    // coder-step this test run built, and at an existing checkout.
    let config = SystemdConfig {
        user: Some("coder".into()),
        working_directory: Some(dir.path().display().to_string()),
        coder_step: Some(env!("CARGO_BIN_EXE_coder-step").to_string()),
        credentials_dir: Some("/etc/credstore".into()),
        read_write_paths: vec!["/var/cache/coder".into()],
    };
    let mut files = Vec::new();
    let mut workflows = expressible();
    // Secrets become credentials.
    workflows[0].policies.secrets = vec!["ANTHROPIC_API_KEY".into(), "DEPLOY_TOKEN".into()];
    for workflow in &workflows {
        for file in systemd::emit_files(workflow, &config).into_iter().chain(
            systemd::emit_files(
                workflow,
                &SystemdConfig {
                    coder_step: config.coder_step.clone(),
                    ..SystemdConfig::default()
                },
            )
            .into_iter()
            .map(|mut f| {
                f.path = f.path.replace("coder-", "coder-defaults-");
                f
            }),
        ) {
            let name = file.path.trim_start_matches("systemd/").to_string();
            std::fs::write(dir.path().join(&name), &file.contents).expect("write");
            files.push(name);
        }
    }
    assert!(files.len() >= 8, "{files:?}");
    verify(dir.path(), &files);
}

/// croner over jiff 1 zoned date-times (croner's own jiff support is for jiff 0.2).
#[derive(Clone)]
struct Local(jiff::ZonedDateTime);

impl croner::CronDateTime for Local {
    fn to_civil(&self) -> croner::CivilDateTime {
        let d = self.0.datetime();
        croner::CivilDateTime::from_ymd_hms_opt(
            i32::from(d.year()),
            d.month() as u32,
            d.day() as u32,
            d.hour() as u32,
            d.minute() as u32,
            d.second() as u32,
        )
        .expect("jiff keeps parts in range")
    }

    fn civil_weekday(&self) -> croner::Weekday {
        croner::Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(
        &self,
        civil: croner::CivilDateTime,
    ) -> Result<croner::Resolution<Self>, croner::errors::CronError> {
        use jiff::tz::AmbiguousOffset;
        let bad = |_| croner::errors::CronError::InvalidTime;
        let datetime = jiff::civil::DateTime::new(
            i16::try_from(civil.year()).map_err(|_| croner::errors::CronError::InvalidDate)?,
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map_err(|_| croner::errors::CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(datetime);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => {
                croner::Resolution::Single(Local(ambiguous.unambiguous().map_err(bad)?))
            }
            AmbiguousOffset::Fold { .. } => croner::Resolution::Ambiguous(
                Local(ambiguous.clone().earlier().map_err(bad)?),
                Local(ambiguous.later().map_err(bad)?),
            ),
            AmbiguousOffset::Gap { .. } => croner::Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .ok()
            .map(Local)
    }

    fn cmp_instant(&self, other: &Self) -> std::cmp::Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

/// 36 crons: the reference table, OR crons, wrapped weekday lists, names, steps.
const CRONS: [&str; 36] = [
    "*/15 * * * *",
    "0 9 * * 1-5",
    "0 */2 * * *",
    "5-59/15 * * * *",
    "20/15 * * * *",
    "0 8-18/2 * * *",
    "0 0 1 */3 *",
    "0 0 * JAN-MAR MON",
    "0 0 * * 7",
    "0 12 * * 0-4",
    "0 0 13 * 5",
    "0 0 1-7 * 1",
    "0 0 */2 * 1",
    "0 0 1 * */2",
    // The spec rejects reversed ranges (`5-1`); a wrapped week is written as a list.
    "0 12 * * 5-7,0-1",
    "0 12 * * FRI-SAT,SUN-MON",
    "30 6 * * SAT,SUN",
    "0 9 * * mon-fri",
    "45 23 * * 6",
    "0 0 1 1 *",
    "0 0 1 * *",
    "0 0 29 2 *",
    "0 0 31 * *",
    "0 0 15 * 3",
    "0 7 1,15 * 0",
    "10 4 * jan,jul *",
    "0,30 9,17 * * *",
    "0 0-6 * * *",
    "7 */3 * * 2",
    "0 9 10-20 * 1-5",
    "0 0 * * */3",
    "0 6 */10 * *",
    "15 14 1 * *",
    "0 22 * * 1-5",
    "30 1 * MAR-NOV *",
    "59 23 28-31 * *",
];

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];

const BASE_TIME: &str = "2027-01-04T00:00:00Z";
const ITERATIONS: usize = 100;

/// Every elapse `systemd-analyze calendar` prints, per expression. It forks once per elapse of
/// an expression with a time zone, so the expressions go to a few processes at once.
fn systemd_elapses(expressions: &[String]) -> Vec<Vec<jiff::Timestamp>> {
    let chunk = expressions.len().div_ceil(4).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = expressions
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || calendar(chunk)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("systemd-analyze worker"))
            .collect()
    })
}

fn calendar(expressions: &[String]) -> Vec<Vec<jiff::Timestamp>> {
    let output = crate::outside_tool("systemd-analyze")
        .env("TZ", "UTC")
        .arg("calendar")
        .arg(format!(
            "--base-time={}",
            BASE_TIME.replace('T', " ").replace('Z', " UTC")
        ))
        .arg(format!("--iterations={ITERATIONS}"))
        .args(expressions)
        .output()
        .expect("systemd-analyze is installed");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut blocks: Vec<Vec<jiff::Timestamp>> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Normalized form:") {
            blocks.push(Vec::new());
        } else if line.starts_with("Next elapse:") || line.starts_with("Iter. #") {
            // `Next elapse: Tue 2027-01-05 01:30:00 UTC`
            let words: Vec<&str> = line.split_whitespace().collect();
            let n = words.len();
            assert_eq!(words[n - 1], "UTC", "{line}");
            let stamp = format!("{}T{}Z", words[n - 3], words[n - 2]);
            blocks
                .last_mut()
                .expect("a block")
                .push(stamp.parse().expect("timestamp"));
        }
    }
    assert_eq!(blocks.len(), expressions.len(), "{text}");
    blocks
}

/// Whether the clocks of `zone` change on the local date of `at`.
fn on_transition_day(zone: &jiff::tz::TimeZone, at: jiff::Timestamp) -> bool {
    let local = at.to_zoned_datetime(zone.clone());
    let date = local.date();
    let start = zone.to_ambiguous_zoned_datetime(date.to_datetime(jiff::civil::Time::midnight()));
    let end = zone.to_ambiguous_zoned_datetime(date.at(23, 59, 59, 0));
    match (start.clone().compatible(), end.compatible()) {
        (Ok(s), Ok(e)) => s.offset() != e.offset(),
        _ => true,
    }
}

/// The engine's form of a cron: croner ORs the day fields unless one is exactly `*`, the spec
/// (POSIX) unless one starts with `*`; croner's `+` on the weekday field asks for AND.
fn croner_pattern(cron: &str) -> String {
    let expr = parse_cron(cron).expect("valid");
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if !expr.days_are_ored() && fields[2] != "*" && fields[4] != "*" {
        return format!(
            "{} {} {} {} +{}",
            fields[0], fields[1], fields[2], fields[3], fields[4]
        );
    }
    cron.to_string()
}

#[test]
fn on_calendar_elapses_when_the_cron_engine_fires() {
    let started = std::time::Instant::now();
    let mut expressions = Vec::new();
    let mut lines_of: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (c, cron) in CRONS.iter().enumerate() {
        let expr = parse_cron(cron).expect("valid");
        for (z, zone) in ZONES.iter().enumerate() {
            for line in systemd::on_calendar(&expr, zone) {
                lines_of.entry((c, z)).or_default().push(expressions.len());
                expressions.push(line);
            }
        }
    }
    let elapses = systemd_elapses(&expressions);
    let systemd_took = started.elapsed();
    let base: jiff::Timestamp = BASE_TIME.parse().expect("base");
    let mut compared = 0;
    for ((c, z), lines) in &lines_of {
        let (cron, zone_name) = (CRONS[*c], ZONES[*z]);
        let zone = jiff::tz::TimeZone::get(zone_name).expect("zone");
        // The lines' elapses merged: an instant two lines share fires once.
        let merged: BTreeSet<jiff::Timestamp> = lines
            .iter()
            .flat_map(|&i| elapses[i].iter().copied())
            .collect();
        let systemd: Vec<jiff::Timestamp> = merged.into_iter().take(ITERATIONS).collect();
        let last = *systemd.last().expect("elapses");
        let engine = coder::schedule::cron::engine()
            .parse(&croner_pattern(cron))
            .expect("croner parses");
        let ours: Vec<jiff::Timestamp> = engine
            .iter_after(Local(base.to_zoned_datetime(zone.clone())))
            .map(|t| t.0.timestamp())
            .take_while(|t| *t <= last)
            .collect();
        // Away from the days the clocks change: there systemd skips gap times and croner runs
        // them after the jump (C0404 warns), and each picks its own instant in a fold.
        let steady = |list: &[jiff::Timestamp]| -> Vec<jiff::Timestamp> {
            list.iter()
                .copied()
                .filter(|t| !on_transition_day(&zone, *t))
                .collect()
        };
        assert_eq!(
            steady(&systemd),
            steady(&ours),
            "`{cron}` in {zone_name}: {:?}",
            lines.iter().map(|&i| &expressions[i]).collect::<Vec<_>>()
        );
        compared += steady(&ours).len();
    }
    assert!(compared > CRONS.len() * ZONES.len() * ITERATIONS * 9 / 10);
    eprintln!(
        "{} crons x {} zones, {} OnCalendar lines, {compared} elapses compared in {:?} (systemd-analyze {:?})",
        CRONS.len(),
        ZONES.len(),
        expressions.len(),
        started.elapsed(),
        systemd_took
    );
}

#[test]
fn dst_gap_times_are_skipped_by_systemd_as_c0404_warns() {
    // 02:30 in Berlin does not exist on 2027-03-28: systemd skips the day.
    let line = systemd::on_calendar(&parse_cron("30 2 * * *").expect("valid"), "Europe/Berlin");
    let output = crate::outside_tool("systemd-analyze")
        .env("TZ", "UTC")
        .args([
            "calendar",
            "--base-time=2027-03-27 12:00 UTC",
            "--iterations=2",
        ])
        .args(&line)
        .output()
        .expect("systemd-analyze");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("2027-03-29 00:30:00 UTC"), "{text}");
    assert!(!text.contains("2027-03-28"), "{text}");
}

/// The directives of a unit file as systemd reads them: comments skipped, a line ending in an
/// odd run of backslashes continued on the next.
fn directives(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = format!("{pending}{raw}");
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            pending = format!("{} ", &line[..line.len() - 1]);
            continue;
        }
        pending.clear();
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        out.push((
            section.clone(),
            key.trim().to_string(),
            value.trim().to_string(),
        ));
    }
    out
}

fn keys(text: &str) -> Vec<(String, String)> {
    directives(text)
        .into_iter()
        .map(|(s, k, _)| (s, k))
        .collect()
}

/// `%%` back to `%` (the specifier escape).
fn unescape_text(value: &str) -> String {
    value.replace("%%", "%")
}

/// An `ExecStart=` value split as systemd.service(5) does: whitespace between words, double
/// quotes around one, C escapes inside; `$$` and `%%` are a literal `$` and `%`.
pub(crate) fn command_words(value: &str) -> Vec<String> {
    let value = value.replace("$$", "$").replace("%%", "%");
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => word.push('\n'),
                        Some('t') => word.push('\t'),
                        Some('x') => {
                            let hex: String = chars.by_ref().take(2).collect();
                            word.push(char::from(u8::from_str_radix(&hex, 16).expect("hex")));
                        }
                        Some(other) => word.push(other),
                        None => {}
                    },
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    words
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the workflow name, the units hold exactly the expected directives and the
    /// description reads back as the name.
    #[test]
    fn spec_strings_cannot_add_a_directive(
        name in "\\PC{0,40}|[ %\\\\\"'$\n\r\t=\\[\\];#]{1,16}|x\n\\[Service\\]\nExecStartPre=/bin/sh|x\\\\\nUser=root",
        source in "[a-z%$ \\\\\"'\n]{1,20}",
    ) {
        let mut workflow = expressible().remove(0);
        let reference = systemd::emit_files(&workflow, &SystemdConfig::default());
        workflow.name = name.clone();
        workflow.source = format!(".coder/workflows/{source}.yml");
        let files = systemd::emit_files(&workflow, &SystemdConfig::default());
        prop_assert_eq!(files.len(), reference.len());
        for (file, reference) in files.iter().zip(&reference) {
            prop_assert_eq!(keys(&file.contents), keys(&reference.contents), "{}", file.contents);
        }
        let service = directives(&files[0].contents);
        let description = service
            .iter()
            .find(|(_, k, _)| k == "Description")
            .map(|(_, _, v)| v.clone())
            .expect("Description");
        if systemd::unwritable(&name).is_none() {
            // A final odd run of backslashes is doubled (it would continue the line).
            let mut expected = name.trim().to_string();
            if (expected.len() - expected.trim_end_matches('\\').len()) % 2 == 1 {
                expected.push('\\');
            }
            prop_assert_eq!(unescape_text(&description), expected);
        }
        // The spec path stays one argument of coder-step.
        let exec = service
            .iter()
            .find(|(_, k, _)| k == "ExecStart")
            .map(|(_, _, v)| v.clone())
            .expect("ExecStart");
        let words = command_words(&exec);
        prop_assert_eq!(words.len(), 6, "{}", exec);
        prop_assert_eq!(&words[3], &workflow.source);
    }
}
