//! Property tests: the parser and checker never panic, whatever the bytes; the cron tokenizer
//! agrees with croner, the engine.

use proptest::prelude::*;

use coder::pipeline::Settings;
use coder::pipeline::check_bytes;
use coder::schedule::cron::{FieldKind, parse_cron};
use coder::workspace::SpecInput;

fn check(name: &str, bytes: Vec<u8>) -> coder::pipeline::CheckedFile {
    let input = SpecInput {
        path: name.into(),
        display: name.into(),
    };
    check_bytes(&input, bytes, &Settings::default())
}

const SEED: &str = include_str!("../fixtures/check/ok/kitchen-sink.yaml");

/// Tokens that make mutations interesting: YAML syntax, spec keywords, cron pieces.
const TOKENS: &[&str] = &[
    ":",
    "- ",
    "\n",
    "  ",
    "\t",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "&a ",
    "*a",
    "<<: *a",
    "#",
    "|",
    ">",
    "type: agent",
    "type: cron",
    "cron: ",
    "@daily",
    "L",
    "W",
    "?",
    "#3",
    "*/0",
    "60",
    "-",
    ",",
    "/",
    "${{ x }}",
    "é",
    "\u{feff}",
    "---",
    "~",
    "null",
    "true",
    "1e9",
    "-1",
    "0x10",
    "..",
    "/etc",
    "deploy.",
    "agent.",
    "\r\n",
    "\0",
];

fn mutated_spec() -> impl Strategy<Value = String> {
    (proptest::collection::vec(
        (0..SEED.len(), 0..TOKENS.len(), 0..3usize),
        1..6,
    ),)
        .prop_map(|(edits,)| {
            let mut text = SEED.to_string();
            for (at, token, kind) in edits {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match kind {
                    0 => text.insert_str(at, TOKENS[token]),
                    1 => {
                        let mut end = (at + TOKENS[token].len()).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(at..end, "");
                    }
                    _ => {
                        let mut end = (at + 3).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(at..end, TOKENS[token]);
                    }
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let checked = check("any.yml", bytes.clone());
        let json = check("any.json", bytes);
        // Whatever the input, diagnostics point inside the file.
        for report in [&checked.report, &json.report] {
            for d in &report.diagnostics {
                if let Some(l) = &d.primary {
                    prop_assert!(l.span.end <= report.source.text.len());
                }
            }
        }
    }

    #[test]
    fn mutated_specs_never_panic_and_spans_stay_on_char_boundaries(text in mutated_spec()) {
        let checked = check("mutated.yml", text.into_bytes());
        let source = &checked.report.source;
        for d in &checked.report.diagnostics {
            for l in d.primary.iter().chain(&d.secondary) {
                prop_assert!(l.span.start <= l.span.end && l.span.end <= source.text.len());
                prop_assert!(source.text.is_char_boundary(l.span.start), "{:?}", d);
                prop_assert!(source.text.is_char_boundary(l.span.end), "{:?}", d);
            }
        }
    }

    #[test]
    fn cron_tokenizer_agrees_with_croner(
        fields in proptest::collection::vec(cron_field(), 5)
    ) {
        let expr = fields.join(" ");
        let ours = parse_cron(&expr);
        let engine = coder::schedule::cron::engine().parse(&expr);
        if let Ok(cron) = &ours {
            let engine = engine.map_err(|e| TestCaseError::fail(format!("{expr}: croner rejects: {e}")))?;
            let pattern = &engine.pattern;
            let pairs = [
                (FieldKind::Minute, pattern.minutes.values()),
                (FieldKind::Hour, pattern.hours.values()),
                (FieldKind::DayOfMonth, pattern.days.values()),
                (FieldKind::Month, pattern.months.values()),
            ];
            for (kind, theirs) in pairs {
                let ours: Vec<u16> = cron.field(kind).values().map(u16::from).collect();
                prop_assert_eq!(&ours, &theirs, "{} field of `{}`", kind.name(), expr);
            }
            // croner may keep Sunday as 7; we fold it into 0.
            let mut theirs: Vec<u16> = pattern.days_of_week.values().into_iter().map(|d| d % 7).collect();
            theirs.sort_unstable();
            theirs.dedup();
            let ours: Vec<u16> = cron.field(FieldKind::DayOfWeek).values().map(u16::from).collect();
            prop_assert_eq!(ours, theirs, "day-of-week field of `{}`", expr);
        }
    }
}

fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (0u8..70).prop_map(|n| n.to_string()),
        (0u8..40, 0u8..40).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u8..40, 0u8..12).prop_map(|(a, s)| format!("{a}/{s}")),
        (0u8..12).prop_map(|s| format!("*/{s}")),
        (0u8..30, 0u8..30, 1u8..9).prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
        (0u8..20, 0u8..20).prop_map(|(a, b)| format!("{a},{b}")),
        prop::sample::select(vec![
            "JAN", "mon", "FRI-SUN", "MON-FRI", "L", "?", "5#2", "@x", "1W"
        ])
        .prop_map(str::to_string),
    ]
}

/// Every character a YAML 1.1 or 1.2 reader, an editor or systemd may end a line at: the C0
/// breaks, NEL, and the Unicode line and paragraph separators (the only members of Zl and Zp).
const LINE_BREAKS: &[char] = &[
    '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
];

fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            prop::sample::select(LINE_BREAKS.to_vec()),
            prop::sample::select(vec![
                ':', '#', '-', ' ', '"', '\'', '[', '{', '&', '*', '!', '|', '>'
            ]),
            any::<char>(),
            prop::char::range('a', 'z'),
        ],
        1..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Whether `text` has a raw line break a Unicode-aware reader would see (YAML 1.1 readers such
/// as libyaml, behind GitLab and most editors, break lines at NEL, U+2028 and U+2029).
fn lines(text: &str) -> Vec<&str> {
    text.split(coder::target::output::breaks_lines).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A spec path with any separator in it stays inside the header's comment lines on every
    /// target: the file starts with exactly four comment lines, whatever a reader counts as a
    /// line break, and the header reads back the same source hash.
    #[test]
    fn a_spec_path_stays_in_the_header_on_every_target(source in hostile_text(40)) {
        let mut workflow = crate::github::workflow_with("w", "step", "true");
        workflow.source = format!(".coder/workflows/{source}.yml");
        let config = coder::workspace::Config::default();
        for target in coder::target::TARGETS {
            for file in target.emit(&workflow, &config) {
                let text = &file.contents;
                let head = lines(text);
                prop_assert!(head.len() > 4, "{}: {text}", target.name());
                prop_assert!(head[0].starts_with("# Generated by coder from "), "{}: {text}", target.name());
                for (line, key) in head[1..4].iter().zip(["coder-source:", "coder-version:", "coder-source-hash:"]) {
                    prop_assert!(line.starts_with(&format!("# {key} ")), "{}: `{line}` in\n{text}", target.name());
                }
                let recorded = coder::target::output::recorded(text);
                prop_assert_eq!(recorded.source_hash.as_deref(), Some("sha256:00"));
            }
        }
    }

    /// A file name outside the portable set is C0115 whatever it holds, and a portable one never
    /// is; a file named with a separator never reaches a target.
    #[test]
    fn spec_file_names_outside_the_portable_set_are_rejected(stem in hostile_text(20)) {
        let path = format!("{stem}.yml");
        let checked = check(&path, SEED.as_bytes().to_vec());
        // `check` takes a path: what follows its last `/` is the file's name.
        let name = std::path::Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rejected = checked.report.diagnostics.iter().any(|d| d.code == coder::diag::Code::UnsafeFileName);
        let portable = !name.starts_with('-')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        prop_assert_eq!(rejected, !portable, "{:?}", name);
        if name.contains(LINE_BREAKS) {
            prop_assert!(checked.workflow.is_none(), "{:?} was lowered", name);
        }
    }

    /// Spec text with every separator stays in its field in both YAML targets: no raw NEL,
    /// U+2028 or U+2029 reaches a generated file, where a YAML 1.1 reader (libyaml, behind
    /// GitLab) would break the line. systemd splits lines at LF only (systemd.syntax(7)):
    /// `tests/integration/systemd.rs` holds its values to one line.
    #[test]
    fn separators_in_spec_text_never_reach_a_generated_file_raw(
        name in hostile_text(30),
        step_name in hostile_text(30),
        command in hostile_text(40),
    ) {
        let name = if name.trim().is_empty() { "x".to_string() } else { name };
        let step_name = if step_name.trim().is_empty() { "x".to_string() } else { step_name };
        let command = if command.trim().is_empty() { "x".to_string() } else { command };
        let workflow = crate::github::workflow_with(&name, &step_name, &command);
        let config = coder::workspace::Config::default();
        for target in coder::target::TARGETS.iter().filter(|t| t.name() != "systemd") {
            // A target that cannot hold the text says so (C0405) instead of emitting it.
            if coder::target::cannot_express(&target.limits(&workflow, &config)) {
                continue;
            }
            for file in target.emit(&workflow, &config) {
                prop_assert!(
                    !file.contents.contains(['\u{85}', '\u{2028}', '\u{2029}']),
                    "{}: a raw separator in\n{}", target.name(), file.contents
                );
            }
        }
    }
}
