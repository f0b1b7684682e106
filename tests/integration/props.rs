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
