//! Every fixture under `tests/fixtures/check/`: `ok/` specs have no errors; `CXXXX-*` fixtures
//! produce code CXXXX exactly where their `# expect: CODE LINE:COL` comments say, and their
//! rendered diagnostics are snapshots.

use std::path::Path;

use coder::diag::render::{HumanOptions, render_human};
use coder::diag::{Code, FileReport};
use coder::pipeline::Settings;
use coder::pipeline::check_inputs;
use coder::workspace::SpecInput;

use crate::{fixture_dir, root, snapshot_settings};

fn input(path: &Path) -> SpecInput {
    let display = path
        .strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    SpecInput {
        path: path.to_path_buf(),
        display,
    }
}

fn check(paths: &[std::path::PathBuf]) -> Vec<FileReport> {
    // `# targets: a, b` in a fixture checks it as `--target a --target b` would.
    let targets = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|text| {
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix("# targets: "))
                .map(str::to_string);
            line.into_iter().flat_map(|l| {
                l.split(',')
                    .map(|t| coder::target::by_name(t.trim()).expect("target"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let settings = Settings {
        targets,
        ..Settings::default()
    };
    let inputs: Vec<SpecInput> = paths.iter().map(|p| input(p)).collect();
    check_inputs(&inputs, &settings)
        .expect("fixtures are readable")
        .into_iter()
        .map(|c| c.report)
        .collect()
}

fn render(reports: &[FileReport]) -> String {
    render_human(
        reports,
        HumanOptions {
            color: false,
            width: 80,
        },
    )
}

fn spec_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// `(code, line, column)` expectations written in a fixture's comments.
fn expectations(text: &str) -> Vec<(String, Option<(usize, usize)>)> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("# expect: "))
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            let code = parts.next().expect("code").to_string();
            let position = parts.next().map(|pos| {
                let (l, c) = pos.split_once(':').expect("LINE:COL");
                (l.parse().expect("line"), c.parse().expect("column"))
            });
            (code, position)
        })
        .collect()
}

#[test]
fn ok_fixtures_have_no_errors() {
    let files = spec_files(&fixture_dir().join("ok"));
    assert!(files.len() >= 5, "the seed's examples are fixtures");
    let reports = check(&files);
    for report in &reports {
        assert_eq!(
            report.errors(),
            0,
            "{}",
            render(std::slice::from_ref(report))
        );
    }
    let warnings: Vec<FileReport> = reports
        .into_iter()
        .filter(|r| !r.diagnostics.is_empty())
        .collect();
    snapshot_settings().bind(|| insta::assert_snapshot!("ok_fixture_warnings", render(&warnings)));
}

#[test]
fn failing_fixtures_report_their_code_at_the_expected_position() {
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('C'))
        })
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let code = &name[..5];
        let files = if path.is_dir() {
            spec_files(&path)
        } else {
            vec![path.clone()]
        };
        let reports = check(&files);
        let rendered = render(&reports);
        let mut expected = Vec::new();
        for file in &files {
            let text = String::from_utf8_lossy(&std::fs::read(file).expect("read")).into_owned();
            expected.extend(expectations(&text));
        }
        let actual: Vec<(String, Option<(usize, usize)>)> = reports
            .iter()
            .flat_map(|r| {
                r.diagnostics.iter().map(move |d| {
                    let pos = d.primary.as_ref().map(|l| {
                        let lc = r.source.line_col(l.span.start);
                        (lc.line, lc.column)
                    });
                    (d.code.to_string(), pos)
                })
            })
            .filter(|(c, _)| c == code)
            .collect();
        if actual.is_empty() {
            failures.push(format!("{name}: no {code} reported\n{rendered}"));
        }
        let mut want: Vec<_> = expected
            .iter()
            .filter(|(c, p)| c == code && p.is_some())
            .cloned()
            .collect();
        if !want.is_empty() {
            let mut got = actual.clone();
            want.sort();
            got.sort();
            if want != got {
                failures.push(format!(
                    "{name}: expected {want:?}, got {got:?}\n{rendered}"
                ));
            }
        }
        snapshot_settings().bind(|| insta::assert_snapshot!(format!("check__{name}"), rendered));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Codes with no fixture file, and where they are demonstrated instead.
const DEMONSTRATED_ELSEWHERE: &[(&str, &str)] = &[
    ("C0002", "cli::oversized_file_is_a_diagnostic"),
    (
        "C0113",
        "cli::invalid_config_is_reported_in_the_config_file",
    ),
    ("C0302", "compile::drift_is_caught_both_ways"),
    (
        "C0411",
        "compile::a_config_added_target_that_cannot_express_a_trigger_is_skipped_at_its_line",
    ),
    (
        "C0412",
        "where_users_work::an_unknown_host_is_a_warning_until_the_configuration_names_its_provider",
    ),
    ("C0901", "internal errors cannot be provoked by input"),
];

#[test]
fn every_code_has_a_fixture() {
    let names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.info().code)
        .filter(|code| !names.iter().any(|n| n.starts_with(code)))
        .filter(|code| !DEMONSTRATED_ELSEWHERE.iter().any(|(c, _)| c == code))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn code_list() {
    let list = coder::diag::codes::code_table();
    snapshot_settings().bind(|| insta::assert_snapshot!("code_list", list));
}
