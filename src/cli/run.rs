//! `coder run`, `coder approve` and `coder runs`: workflows run on this machine through the
//! same runner and policies as in CI.

use std::path::PathBuf;

use clap::Args;

use super::check::{check_session, render_problems};
use super::step::{WhichRun, load_context};
use super::{ColorChoice, EXIT_FAILED, EXIT_OK, Stream, usage_error};
use crate::protocol::EXIT_WAITING;
use crate::runner::run_dir::{self, Host};
use crate::runner::{self, Failure, local};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow: its id (a spec in `.coder/workflows/`) or its spec file's path.
    #[arg(value_name = "WORKFLOW|PATH")]
    workflow: String,
    /// Run agent steps with this command line instead of the configured agent (the generic
    /// command adapter: `{goal}`, `{role}`, `{prompt_file}` … substituted per argument).
    #[arg(long, value_name = "'PROGRAM ARGS…'")]
    agent: Option<String>,
    /// Run although the checkout has uncommitted changes: they are recorded before the run,
    /// kept out of its patch and its path policy, and survive a failed run.
    #[arg(long)]
    allow_dirty: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The run: its id (`coder runs` lists them) or its directory.
    run: String,
    /// The step waiting for approval.
    step: String,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to list, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
}

pub const RUN_AFTER_HELP: &str = "\
Exit codes: 0 the run succeeded; 1 a step failed (policy, budget, test, deploy); 2 usage or \
internal error, or uncommitted changes without --allow-dirty; 3 waiting for approval \
(`coder approve RUN STEP` records one and continues).
The run works in this checkout: a run that succeeds leaves its changes there; one that fails \
or breaks a policy puts the checkout back as it was. Either way the run directory (printed on \
the last line, under $XDG_STATE_HOME/coder/runs or ~/.local/state/coder/runs, or \
$CODER_RUN_DIR) keeps them: patch.diff, or evidence/ when a policy withheld the patch.";

/// `coder run WORKFLOW|PATH`.
pub fn run(args: RunArgs) -> u8 {
    let spec = match find_spec(&args.workflow) {
        Ok(spec) => spec,
        Err(code) => return code,
    };
    let mut clean = false;
    if !args.allow_dirty {
        let folder = spec
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        match local::uncommitted_files(folder) {
            Ok(files) if !files.is_empty() => return refuse_dirty(&files),
            Ok(_) => clean = true,
            Err(failure) => return usage_error(&failure.message),
        }
    }
    let mut cx = match load_context(&spec, None, WhichRun::Start) {
        Ok(cx) => cx,
        Err(code) => return code,
    };
    cx.agent_override = args.agent;
    cx.clean_checkout = clean;
    runner::process_supervision();
    let result = runner::run(&cx);
    report(result, &cx.run_dir)
}

/// The outcome, then the run directory on the last line of stdout.
fn report(result: Result<String, Failure>, run_dir: &std::path::Path) -> u8 {
    let code = match result {
        Ok(message) => {
            eprintln!("coder: {message}");
            EXIT_OK
        }
        Err(Failure { code, message }) => {
            let prefix = if code == EXIT_WAITING {
                "coder"
            } else {
                "error"
            };
            eprintln!("{prefix}: {message}");
            code
        }
    };
    println!("{}", run_dir.display());
    code
}

/// A run's changes are what the run changed: with uncommitted files in the checkout they
/// could not be told apart from the user's, and a failed run puts the checkout back.
fn refuse_dirty(files: &[String]) -> u8 {
    const SHOWN: usize = 20;
    let mut list: Vec<String> = files.iter().take(SHOWN).map(|f| format!("  {f}")).collect();
    if files.len() > SHOWN {
        list.push(format!("  … and {} more", files.len() - SHOWN));
    }
    usage_error(&format!(
        "the checkout has uncommitted changes:\n{}\ncommit or stash them first, or pass --allow-dirty to run anyway (they are kept out of the run's patch and survive a failed run)",
        list.join("\n")
    ))
}

/// The spec a `coder run` argument names: a spec file's path (as `check` and `compile` take),
/// else a workflow id among the repository's specs.
fn find_spec(workflow: &str) -> Result<PathBuf, u8> {
    let as_path = std::path::Path::new(workflow);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let looks_like_a_path = workflow.contains(std::path::MAIN_SEPARATOR)
        || [".yml", ".yaml", ".json"]
            .iter()
            .any(|ext| workflow.ends_with(ext));
    if looks_like_a_path {
        return Err(usage_error(&format!("no spec file `{workflow}`")));
    }
    find_by_id(workflow)
}

/// The spec of `workflow_id` among the repository's specs.
fn find_by_id(workflow_id: &str) -> Result<PathBuf, u8> {
    let session = check_session(&[], &[])?;
    if let Some(found) = session
        .specs
        .iter()
        .find(|s| s.workflow().is_some_and(|w| w.workflow_id == workflow_id))
    {
        return Ok(found.input.path.clone());
    }
    let reports = session.reports();
    if reports.iter().any(|r| r.errors() > 0) {
        eprint!(
            "{}",
            render_problems(&reports, ColorChoice::Auto, Stream::Stderr)
        );
        eprintln!("error: no valid workflow `{workflow_id}`: the specs above have errors");
        return Err(EXIT_FAILED);
    }
    let known: Vec<&str> = session
        .specs
        .iter()
        .filter_map(|s| s.workflow().map(|w| w.workflow_id.as_str()))
        .collect();
    Err(usage_error(&format!(
        "no workflow `{workflow_id}` in .coder/workflows/; the workflows are: {}",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )))
}

/// `coder approve RUN STEP`.
pub fn approve(args: ApproveArgs) -> u8 {
    let approved = match runner::approve(&args.run, &args.step) {
        Ok(approved) => approved,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            return failure.code;
        }
    };
    eprintln!(
        "coder: step `{}` of run {} approved by {}",
        args.step, approved.run.run_id, approved.approver
    );
    match run_dir::host_of(&approved.run_dir) {
        // A unit's run continues in its unit: its user, credentials and sandbox.
        Host::SystemUnit { workflow_id } => start_unit(&workflow_id, false),
        Host::UserUnit { workflow_id } => start_unit(&workflow_id, true),
        Host::Local => resume_here(&approved),
    }
}

/// A local run knows its checkout: continue it there. A run of CI continues when its
/// runner runs again.
fn resume_here(approved: &local::Approved) -> u8 {
    let Some(checkout) = approved.run.checkout.clone() else {
        eprintln!(
            "coder: continue the run with `coder-step run --spec {} --source-hash {}` (CODER_RUN_DIR={})",
            approved.run.spec,
            approved.run.source_hash,
            approved.run_dir.display()
        );
        return EXIT_OK;
    };
    let checkout = PathBuf::from(checkout);
    if let Err(e) = std::env::set_current_dir(&checkout) {
        return usage_error(&format!("cannot enter {}: {e}", checkout.display()));
    }
    let cx = match load_context(
        &checkout.join(&approved.run.spec),
        Some(&approved.run.source_hash),
        WhichRun::At(approved.run_dir.clone()),
    ) {
        Ok(cx) => cx,
        Err(code) => return code,
    };
    runner::process_supervision();
    let result = runner::run(&cx);
    report(result, &cx.run_dir)
}

/// Start the unit of `workflow_id` (`systemctl [--user] start --no-block`), which continues
/// its latest run from the gate. Without the block: the run may take as long as its budget,
/// and the unit's journal is where it reports. When systemctl cannot start it, the approval
/// stays recorded and the command to run is printed.
fn start_unit(workflow_id: &str, user: bool) -> u8 {
    let unit = crate::target::systemd::unit_name(workflow_id);
    let mut args: Vec<&str> = Vec::new();
    if user {
        args.push("--user");
    }
    args.extend(["start", "--no-block", unit.as_str()]);
    let command = format!("systemctl {}", args.join(" "));
    let journal = format!(
        "journalctl {}-u {unit} -f",
        if user { "--user " } else { "" }
    );
    let started = std::process::Command::new("systemctl")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output();
    match started {
        Ok(out) if out.status.success() => {
            eprintln!("coder: started {unit}, which continues the run (follow it: {journal})");
        }
        Ok(out) => {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            eprintln!(
                "coder: `{command}` failed{}{said}",
                if said.is_empty() { "" } else { ": " }
            );
            eprintln!(
                "coder: the approval is recorded; continue the run with: {}{command}",
                if user { "" } else { "sudo " }
            );
        }
        Err(e) => {
            eprintln!("coder: cannot run systemctl: {e}");
            eprintln!(
                "coder: the approval is recorded; continue the run on the unit's host with: {command}"
            );
        }
    }
    EXIT_OK
}

/// `coder runs`.
pub fn runs(args: RunsArgs) -> u8 {
    let runs = match local::list_runs() {
        Ok(runs) => runs,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            return failure.code;
        }
    };
    if runs.is_empty() {
        return super::print("no runs yet: `coder run WORKFLOW` starts one\n");
    }
    let mut out = format!(
        "{:<44} {:<20} {:<22} {:>10} {:>9}\n",
        "RUN", "WORKFLOW", "STATUS", "CREDITS", "DURATION"
    );
    for run in runs.iter().take(args.limit) {
        let credits = run
            .credits
            .map(|c| format!("{c:.2}"))
            .unwrap_or_else(|| "-".to_string());
        out.push_str(&format!(
            "{:<44} {:<20} {:<22} {:>10} {:>9}\n",
            run.run_id,
            run.workflow_id,
            run.status,
            credits,
            duration(run.seconds)
        ));
    }
    super::print(&out)
}

fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
