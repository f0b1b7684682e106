//! What an agent step is told of the steps that failed before it: a step that runs on a
//! failure (`if_failed`) hands over to an agent that triages it, so its prompt names each
//! failed step, how it ended, the failing tests (from this job's JUnit reports and the step's
//! output) and the end of its output.

use super::Context;
use super::record::{RunRecord, StepRecord};
use super::run_dir;
use crate::ir::Action;

/// How many lines of a failed step's output the prompt quotes, and at most how many bytes.
const TAIL_LINES: usize = 60;
const TAIL_BYTES: usize = 8 * 1024;
/// At most this many failing test names are listed per step.
const MAX_TESTS: usize = 50;

/// The prompt's section on the steps that failed before this one (whose failure the run went
/// on past); empty when none did.
pub fn failures_section(cx: &Context, run: &RunRecord, step_id: &str) -> String {
    let failed: Vec<&StepRecord> = run
        .latest_steps()
        .into_iter()
        .filter(|s| s.step_id != step_id && s.status.is_failure())
        .collect();
    if failed.is_empty() {
        return String::new();
    }
    let junit = {
        let before = super::begin::JobStart::load(cx).reports;
        super::junit::failing_tests(&cx.checkout, &cx.config.report.junit, &before)
            .unwrap_or_default()
    };
    let mut out = String::from("\n## Steps that failed before this one\n");
    for record in failed {
        let what = cx
            .workflow
            .jobs
            .iter()
            .flat_map(|j| &j.steps)
            .find(|s| s.step_id == record.step_id)
            .map(|s| match &s.action {
                Action::Command { command } => format!("command `{}`", one_line(command)),
                Action::Agent { role, .. } => format!("{} agent", role.as_str()),
                Action::Deploy { target } => format!("deploy to `{target}`"),
                Action::Approve { .. } => "approval".to_string(),
            })
            .unwrap_or_else(|| record.kind.clone());
        let how = match (record.exit_code, record.message.as_deref()) {
            (Some(code), Some(message)) if message.contains(&format!("code {code}")) => {
                format!("It failed: {message} (exit code {code}).")
            }
            (Some(code), Some(message)) => format!("It failed: {message}; exit code {code}."),
            (Some(code), None) => format!("It failed with exit code {code}."),
            (None, Some(message)) => format!("It failed: {message}."),
            (None, None) => "It failed.".to_string(),
        };
        out.push_str(&format!(
            "\n### Step `{}` ({what}): {}\n\n{how}\n",
            record.step_id,
            record.status.as_str().replace('_', " "),
        ));
        let output = record
            .log
            .as_deref()
            .and_then(|log| std::fs::read(cx.run_dir.join(log)).ok())
            .map(|bytes| cx.redactor.redact(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default();
        // A JUnit report names tests exactly; the runner's printed summary is the fallback.
        let tests = if record.kind == "command" && !junit.is_empty() {
            junit.clone()
        } else {
            super::test_report::failing_in_output(&output)
        };
        if !tests.is_empty() {
            out.push_str(&format!("\nFailing tests ({}):\n", tests.len()));
            for name in tests.iter().take(MAX_TESTS) {
                out.push_str(&format!("- `{}`\n", one_line(name)));
            }
            if tests.len() > MAX_TESTS {
                out.push_str(&format!("- … and {} more\n", tests.len() - MAX_TESTS));
            }
        }
        let tail = tail(&output);
        if !tail.is_empty() {
            out.push_str(&format!(
                "\nThe end of its output (all of it: `{}` in the run directory):\n\n````text\n{}\n````\n",
                record
                    .log
                    .as_deref()
                    .unwrap_or(&run_dir::step_log(&record.step_id)),
                tail
            ));
        }
    }
    out
}

/// The last lines of `output`, within [`TAIL_LINES`] and [`TAIL_BYTES`].
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.trim_end().lines().collect();
    let mut start = lines.len().saturating_sub(TAIL_LINES);
    while start < lines.len()
        && lines[start..].iter().map(|l| l.len() + 1).sum::<usize>() > TAIL_BYTES
    {
        start += 1;
    }
    lines[start..].join("\n").replace("````", "` ` ` `")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_within_its_bounds() {
        let output: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let kept = tail(&output);
        assert!(kept.starts_with(&format!("line {}", 200 - TAIL_LINES)));
        assert!(kept.ends_with("line 199"));
        let wide = "x".repeat(TAIL_BYTES * 2);
        assert_eq!(tail(&format!("{wide}\nlast")), "last");
    }

    #[test]
    fn a_fence_in_the_output_cannot_close_the_quote() {
        assert!(!tail("a\n````\nb").contains("````"));
    }
}
