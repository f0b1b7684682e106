//! What a job leaves for people: `summary.md` (also for `$GITHUB_STEP_SUMMARY`) and
//! `logs.tar.gz` (every log, prompt and output, with the run record).

use std::path::Path;

use super::Context;
use super::record::{RunRecord, StepRecord};
use super::time::seconds_between;

pub const SUMMARY_FILE: &str = "summary.md";
pub const BUNDLE_FILE: &str = "logs.tar.gz";

/// The folders and files of the run directory the bundle holds.
const BUNDLED: [&str; 6] = [
    "logs",
    "prompts",
    "outputs",
    "approvals",
    super::record::RUN_FILE,
    SUMMARY_FILE,
];

pub fn summary(cx: &Context, run: &RunRecord) -> String {
    let mut out = format!(
        "## coder: {} — {}\n\nRun `{}` from `{}` ({}), spec `{}`.\n\n",
        escape(&cx.workflow.name),
        run.status.as_str(),
        run.run_id,
        escape(&run.base.git_ref),
        short(&run.base.sha),
        escape(&run.spec),
    );
    // A step recorded twice (waiting for an approval, then approved; a retried job) shows
    // as it ended: its last record.
    let steps: Vec<&StepRecord> = run
        .steps
        .iter()
        .enumerate()
        .filter(|(i, step)| {
            !run.steps[i + 1..]
                .iter()
                .any(|later| later.step_id == step.step_id)
        })
        .map(|(_, step)| step)
        .collect();
    if !steps.is_empty() {
        out.push_str("| Step | Kind | Status | Seconds | Exit |\n|---|---|---|---|---|\n");
        for step in &steps {
            let seconds = step
                .finished_at
                .as_deref()
                .map(|end| seconds_between(&step.started_at, end).to_string())
                .unwrap_or_default();
            let exit = step.exit_code.map(|c| c.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "| `{}` | {} | {} | {seconds} | {exit} |\n",
                step.step_id,
                step.kind,
                step.status.as_str()
            ));
        }
        out.push('\n');
        for step in steps.iter().filter(|s| s.message.is_some()) {
            if let Some(message) = &step.message {
                out.push_str(&format!("- `{}`: {}\n", step.step_id, escape(message)));
            }
        }
    }
    for approval in &run.approvals {
        out.push_str(&format!(
            "- `{}` approved by @{} at {}\n",
            approval.step_id,
            escape(&approval.approver),
            approval.approved_at
        ));
    }
    for violation in &run.violations {
        out.push_str(&format!(
            "- **violation** ({}): {}\n",
            violation.kind,
            escape(&violation.message)
        ));
    }
    for step in &steps {
        let Some(text) = step
            .output
            .as_deref()
            .and_then(|output| std::fs::read_to_string(cx.run_dir.join(output)).ok())
        else {
            continue;
        };
        out.push_str(&format!(
            "\n### `{}` said\n\n{}\n",
            step.step_id,
            inert_html(&truncate(text.trim(), OUTPUT_LIMIT))
        ));
    }
    if let Some(tests) = &run.test_report {
        out.push_str(&format!("\nTests: {tests}.\n"));
    }
    if run.changed_files.is_empty() {
        out.push_str("\nNo files changed.\n");
    } else {
        out.push_str(&format!("\n{} files changed:\n", run.changed_files.len()));
        for file in run.changed_files.iter().take(50) {
            out.push_str(&format!("- `{}`\n", escape(file)));
        }
        if run.changed_files.len() > 50 {
            out.push_str(&format!("- … and {} more\n", run.changed_files.len() - 50));
        }
    }
    if let Some(url) = &run.artifacts.deploy_url {
        out.push_str(&format!("\nDeployed: {url}\n"));
    }
    if let Some(url) = &run.artifacts.pr_url {
        out.push_str(&format!("\nPull request: {url}\n"));
    }
    cx.redactor.redact(&out)
}

/// How much of one step's final message the summary shows (GitHub caps a job summary at
/// 1 MiB); the whole message is in the step's output file.
const OUTPUT_LIMIT: usize = 16 * 1024;

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let cut = (0..=limit)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!(
        "{}\n\n… (the rest is in the step's output file)",
        &text[..cut]
    )
}

/// An agent's Markdown kept as Markdown, but with no HTML of its own.
fn inert_html(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Markdown-inert text: no tables, links or HTML from file names or messages.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// `logs.tar.gz`, written beside and renamed into place.
pub fn write_log_bundle(run_dir: &Path) -> Result<(), String> {
    let temp = run_dir.join(format!(".{BUNDLE_FILE}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&temp)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.follow_symlinks(false);
        // Every member redacted: prompts and outputs hold what the agent wrote.
        let redactor = super::Redactor::current();
        for name in BUNDLED {
            append_redacted(&mut tar, &run_dir.join(name), Path::new(name), &redactor)?;
        }
        let file = tar.into_inner()?.finish()?;
        file.sync_all()?;
        std::fs::rename(&temp, run_dir.join(BUNDLE_FILE))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|e| format!("cannot write the log bundle: {e}"))
}

/// `path` (a file, or a folder's files) into `tar` as `name`, redacted; symlinks left out.
fn append_redacted<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    redactor: &super::Redactor,
) -> std::io::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            append_redacted(tar, &entry.path(), &name.join(entry.file_name()), redactor)?;
        }
    } else if meta.is_file() {
        let bytes = redactor.redact_bytes(&std::fs::read(path)?);
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, name, bytes.as_slice())?;
    }
    Ok(())
}
