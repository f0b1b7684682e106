//! The test report of a run: passed, failed and skipped counts, from JUnit XML files and from
//! the summary lines the common test runners print (cargo test, cargo nextest, pytest,
//! go test). Counts come from test cases, not from a suite's own totals, which runners fill
//! in inconsistently.

use serde::{Deserialize, Serialize};

/// Test counts; `Add` merges reports of several steps or files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl std::ops::Add for TestCounts {
    type Output = TestCounts;

    fn add(self, other: TestCounts) -> TestCounts {
        TestCounts {
            passed: self.passed + other.passed,
            failed: self.failed + other.failed,
            skipped: self.skipped + other.skipped,
        }
    }
}

impl std::fmt::Display for TestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The counts of a JUnit XML report (a `<testsuites>` or a bare `<testsuite>` root, nested
/// suites included): errors count as failures.
pub fn parse_junit(xml: &[u8]) -> Result<TestCounts, String> {
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml))
        .map_err(|e| format!("not a JUnit report: {e}"))?;
    fn count(suite: &junit_parser::TestSuite) -> TestCounts {
        let own = suite
            .cases
            .iter()
            .fold(TestCounts::default(), |mut c, case| {
                match case.status {
                    junit_parser::TestStatus::Success => c.passed += 1,
                    junit_parser::TestStatus::Error(_) | junit_parser::TestStatus::Failure(_) => {
                        c.failed += 1
                    }
                    junit_parser::TestStatus::Skipped(_) => c.skipped += 1,
                }
                c
            });
        suite.suites.iter().map(count).fold(own, |a, b| a + b)
    }
    Ok(suites
        .suites
        .iter()
        .map(count)
        .fold(TestCounts::default(), |a, b| a + b))
}

/// The names of the failing test cases of a JUnit report (`classname::name`), errors
/// included, in the report's order.
pub fn failing_in_junit(xml: &[u8]) -> Vec<String> {
    fn collect(suite: &junit_parser::TestSuite, out: &mut Vec<String>) {
        for case in &suite.cases {
            if matches!(
                case.status,
                junit_parser::TestStatus::Error(_) | junit_parser::TestStatus::Failure(_)
            ) {
                out.push(case.name.clone());
            }
        }
        for nested in &suite.suites {
            collect(nested, out);
        }
    }
    let mut out = Vec::new();
    if let Ok(suites) = junit_parser::from_reader(std::io::Cursor::new(xml)) {
        for suite in &suites.suites {
            collect(suite, &mut out);
        }
    }
    out
}

/// The names of the failing tests a test runner printed: pytest's `FAILED <id>` summary
/// lines, cargo test's `test <name> ... FAILED`, nextest's `FAIL [ time] <name>`, go test's
/// `--- FAIL: <name>`. Each name once, in order.
pub fn failing_in_output(output: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in output.lines() {
        let line = line.trim();
        let name = if let Some(rest) = line.strip_prefix("FAILED ") {
            // pytest: `FAILED tests/test_x.py::test_y - AssertionError: ...`
            rest.split(" - ").next()
        } else if let Some(rest) = line.strip_prefix("test ")
            && let Some(name) = rest.strip_suffix(" ... FAILED")
        {
            Some(name)
        } else if let Some(rest) = line.strip_prefix("--- FAIL: ") {
            rest.split_whitespace().next()
        } else if let Some(rest) = line.strip_prefix("FAIL [") {
            rest.split_once(']').map(|(_, name)| name)
        } else {
            None
        };
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty())
            && !out.iter().any(|seen| seen == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// The counts in a test runner's output, if it printed any summary coder knows; several
/// summaries (one per test binary of `cargo test`) add up.
pub fn parse_summary(output: &str) -> Option<TestCounts> {
    let mut total: Option<TestCounts> = None;
    let mut go = TestCounts::default();
    let mut saw_go = false;
    for line in output.lines() {
        let line = line.trim();
        let counts = cargo_test(line)
            .or_else(|| nextest(line))
            .or_else(|| pytest(line));
        if let Some(counts) = counts {
            total = Some(total.unwrap_or_default() + counts);
            continue;
        }
        // go test -v: one line per test (subtests are indented, and trimmed here alike).
        if let Some(rest) = line.strip_prefix("--- ") {
            saw_go = true;
            if rest.starts_with("PASS:") {
                go.passed += 1;
            } else if rest.starts_with("FAIL:") {
                go.failed += 1;
            } else if rest.starts_with("SKIP:") {
                go.skipped += 1;
            }
        }
    }
    match (total, saw_go) {
        (Some(total), true) => Some(total + go),
        (Some(total), false) => Some(total),
        (None, true) => Some(go),
        (None, false) => None,
    }
}

/// `N word` pairs of a summary, e.g. `3 passed, 1 failed`, as (count, word).
fn counted_words(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    let pairs: Vec<(u64, &str)> = words
        .windows(2)
        .filter_map(|pair| Some((pair[0].parse().ok()?, pair[1])))
        .collect();
    pairs.into_iter()
}

/// `test result: ok. 43 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; …`
fn cargo_test(line: &str) -> Option<TestCounts> {
    let rest = line.strip_prefix("test result: ")?;
    let mut counts = TestCounts::default();
    for (n, word) in counted_words(rest) {
        match word {
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "ignored" => counts.skipped = n,
            _ => {}
        }
    }
    Some(counts)
}

/// `Summary [   1.234s] 12 tests run: 10 passed, 2 failed, 1 skipped`
fn nextest(line: &str) -> Option<TestCounts> {
    let rest = line.strip_prefix("Summary [")?;
    let (_, rest) = rest.split_once(']')?;
    if !rest.contains(" run:") {
        return None;
    }
    let mut counts = TestCounts::default();
    for (n, word) in counted_words(rest) {
        match word {
            "passed" => counts.passed = n,
            "failed" | "timed" => counts.failed += n,
            "skipped" => counts.skipped = n,
            _ => {}
        }
    }
    Some(counts)
}

/// `===== 3 passed, 1 failed, 2 skipped, 1 error in 0.12s =====`
fn pytest(line: &str) -> Option<TestCounts> {
    let inner = line.strip_prefix('=')?.trim_matches('=').trim();
    if !inner.contains(" in ") {
        return None;
    }
    let mut counts = TestCounts::default();
    let mut any = false;
    for (n, word) in counted_words(inner) {
        match word {
            "passed" | "xpassed" => counts.passed += n,
            "failed" | "error" | "errors" => counts.failed += n,
            "skipped" | "xfailed" | "deselected" => counts.skipped += n,
            // `warnings`, `rerun`: not test outcomes.
            _ => continue,
        }
        any = true;
    }
    any.then_some(counts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn failing_tests_are_named_from_each_runner_s_output() {
        let output = "\
FAILED tests/test_x.py::test_a - AssertionError: assert 4 == 3
FAILED tests/test_x.py::test_b
test parse::rejects_tabs ... FAILED
test parse::accepts_spaces ... ok
        FAIL [   0.003s] tally::words counts_runs
--- FAIL: TestWords (0.00s)
FAILED tests/test_x.py::test_a - again
";
        assert_eq!(
            failing_in_output(output),
            [
                "tests/test_x.py::test_a",
                "tests/test_x.py::test_b",
                "parse::rejects_tabs",
                "tally::words counts_runs",
                "TestWords",
            ]
        );
        assert!(failing_in_output("all 12 passed").is_empty());
    }

    #[test]
    fn failing_tests_of_a_junit_report_include_errors_and_nested_suites() {
        let xml = br#"<testsuites><testsuite name="a"><testcase classname="m" name="ok"/>
<testcase classname="m" name="bad"><failure message="x"/></testcase>
<testsuite name="inner"><testcase classname="n" name="broke"><error message="y"/></testcase></testsuite>
</testsuite></testsuites>"#;
        assert_eq!(failing_in_junit(xml), ["m::bad", "n::broke"]);
        assert!(failing_in_junit(b"not xml").is_empty());
    }

    use super::*;

    fn counts(passed: u64, failed: u64, skipped: u64) -> TestCounts {
        TestCounts {
            passed,
            failed,
            skipped,
        }
    }

    #[test]
    fn cargo_test_summaries_add_up() {
        let out = "running 3 tests\n...\ntest result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n     Running tests/x.rs\ntest result: FAILED. 40 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s\n";
        assert_eq!(parse_summary(out), Some(counts(43, 2, 1)));
    }

    #[test]
    fn nextest_summary() {
        let out = "        PASS [   0.004s] a::b\n────────────\n     Summary [   0.123s] 12 tests run: 10 passed, 2 failed, 1 skipped\n";
        assert_eq!(parse_summary(out), Some(counts(10, 2, 1)));
        let out = "     Summary [   0.500s] 5 tests run: 5 passed, 3 skipped\n";
        assert_eq!(parse_summary(out), Some(counts(5, 0, 3)));
    }

    #[test]
    fn pytest_summary() {
        let out = "tests/test_a.py ..F.s\n=========== 3 passed, 1 failed, 1 skipped in 0.12s ===========\n";
        assert_eq!(parse_summary(out), Some(counts(3, 1, 1)));
        let out = "==== 1 failed, 2 passed, 1 error, 1 xfailed in 1.01s ====";
        assert_eq!(parse_summary(out), Some(counts(2, 2, 1)));
        // A separator line is not a summary.
        assert_eq!(
            parse_summary("======================== test session starts ===="),
            None
        );
        assert_eq!(parse_summary("==== 5 warnings in 0.01s ===="), None);
    }

    #[test]
    fn go_test_verbose_lines() {
        let out = "=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n--- FAIL: TestB (0.00s)\n    --- SKIP: TestB/sub (0.00s)\nFAIL\nFAIL\texample.com/x\t0.01s\n";
        assert_eq!(parse_summary(out), Some(counts(1, 1, 1)));
    }

    #[test]
    fn no_summary_is_none() {
        assert_eq!(parse_summary("built\nall good\n"), None);
    }

    #[test]
    fn junit_reports() {
        let suites = br#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="a" tests="99">
    <testcase name="one"/>
    <testcase name="two"><failure message="boom"/></testcase>
    <testcase name="three"><skipped/></testcase>
    <testsuite name="nested">
      <testcase name="four"><error message="crash"/></testcase>
      <testcase name="five"/>
    </testsuite>
  </testsuite>
</testsuites>"#;
        assert_eq!(parse_junit(suites), Ok(counts(2, 2, 1)));
        let bare = br#"<testsuite name="pytest"><testcase name="a"/><testcase name="b"><skipped/></testcase></testsuite>"#;
        assert_eq!(parse_junit(bare), Ok(counts(1, 0, 1)));
        assert!(parse_junit(b"not xml at all <").is_err());
    }
}
