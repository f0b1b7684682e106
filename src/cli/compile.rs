//! `coder compile`: the library checks, plans and writes (or compares); this renders what it
//! did.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::check::{check_session, render_problems, target_names, targets};
use super::{ColorChoice, EXIT_FAILED, EXIT_OK, Stream, print, usage_error};
use crate::fs::Written;
use crate::pipeline::{self, Plan, Session};
use crate::workspace;

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Spec files or folders; default: `.coder/workflows/` of the enclosing git repository.
    paths: Vec<PathBuf>,
    /// Compile for these targets [default: the target of the spec's `project.provider`, or of
    /// the git remote]
    #[arg(long = "target", value_name = "TARGET", value_parser = target_names())]
    targets: Vec<String>,
    /// Write the generated files under DIR instead of the repository root.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Write nothing; exit 1 if a generated file is missing, stale or edited by hand.
    #[arg(long)]
    check: bool,
    /// Also mark the generated files `linguist-generated` in `.gitattributes` (adds missing
    /// lines only; a path you gave the attribute yourself is left as you wrote it).
    #[arg(long, conflicts_with = "check")]
    gitattributes: bool,
    /// Print a phase's output instead of writing files (for debugging coder).
    #[arg(long, value_enum, hide = true)]
    emit: Option<Emit>,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The target-neutral IR, as JSON.
    Ir,
    /// The generated files, each after a `==> path <==` line.
    Files,
}

pub fn run(args: CompileArgs) -> u8 {
    let session = match check_session(&args.paths, &args.targets) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let reports = session.reports();
    // Diagnostics go to stderr; stdout says what was written. Nothing is written for a set
    // of specs with errors.
    eprint!("{}", render_problems(&reports, args.color, Stream::Stderr));
    if session.has_errors() {
        return EXIT_FAILED;
    }
    let asked = targets(&args.targets);
    if args.emit == Some(Emit::Ir) {
        let workflows: Vec<_> = session.specs.iter().filter_map(|s| s.workflow()).collect();
        let mut json = serde_json::to_string_pretty(&workflows).unwrap_or_default();
        json.push('\n');
        return print(&json);
    }
    let plan = match pipeline::plan(&session, &asked, args.out_dir.as_deref()) {
        Ok(plan) => plan,
        Err(e) => return usage_error(&e.0),
    };
    eprint!("{}", skipped_warnings(&session, &plan));
    if args.emit == Some(Emit::Files) {
        let text: String = plan
            .files
            .iter()
            .map(|p| format!("==> {} <==\n{}", p.file.path, p.file.contents))
            .collect();
        return print(&text);
    }
    if args.check {
        return compare(&session, &plan);
    }
    let shown = |path: &Path| workspace::display_path(path, &session.cwd);
    let (written, result) = pipeline::write(&session, &plan, args.out_dir.as_deref());
    let mut out = String::new();
    for file in &written {
        out.push_str(&match (file.starter, file.written) {
            (true, _) => format!(
                "wrote {} (yours from now on: coder never changes it again)\n",
                shown(&file.destination)
            ),
            (false, Written::Written) => format!("wrote {}\n", shown(&file.destination)),
            (false, Written::Unchanged) => format!("unchanged {}\n", shown(&file.destination)),
        });
    }
    if let Err(e) = result {
        print(&out);
        return usage_error(&e.0);
    }
    // Files of specs that are gone would keep running in CI: they go with their spec.
    let (removed, result) = pipeline::remove_orphans(&session, &plan);
    for orphan in removed {
        out.push_str(&format!(
            "removed {} ({})\n",
            shown(&orphan.destination),
            pipeline::describe_orphan(orphan)
        ));
    }
    if let Err(e) = result {
        print(&out);
        return usage_error(&e.0);
    }
    if args.gitattributes {
        match pipeline::mark_generated(&session, &plan, args.out_dir.as_deref()) {
            Ok(files) => {
                for file in files {
                    let verb = match file.written {
                        Written::Written => "wrote",
                        Written::Unchanged => "unchanged",
                    };
                    out.push_str(&format!("{verb} {}\n", shown(&file.destination)));
                }
            }
            Err(e) => {
                print(&out);
                return usage_error(&e.0);
            }
        }
    }
    out.push_str(&pipeline::notes(&session, &plan, args.out_dir.as_deref()));
    print(&out)
}

/// `--check`: every planned file compared with the one on disk, and the stale files of
/// targets a workflow can no longer be compiled for.
fn compare(session: &Session, plan: &Plan) -> u8 {
    let shown = |path: &Path| workspace::display_path(path, &session.cwd);
    let mut out = String::new();
    let mut drifted = 0;
    for planned in &plan.files {
        let drift = match pipeline::compare(planned) {
            Ok(drift) => drift,
            Err(e) => return usage_error(&e.0),
        };
        if let Some(reason) = pipeline::describe(&drift) {
            drifted += 1;
            out.push_str(&format!("{}: {reason}\n", shown(&planned.destination)));
        }
    }
    for skipped in plan.skipped.iter().filter(|s| s.has_files) {
        drifted += 1;
        let spec = &session.specs[skipped.spec];
        out.push_str(&format!(
            "{}: its {} files are stale: {} can no longer express it\n",
            spec.input.display,
            skipped.target.name(),
            skipped.target.name()
        ));
    }
    for orphan in &plan.orphans {
        out.push_str(&format!(
            "{}: {}: `coder compile` removes it\n",
            shown(&orphan.destination),
            pipeline::describe_orphan(orphan)
        ));
    }
    let orphaned = match plan.orphans.len() {
        0 => String::new(),
        1 => ", and 1 generated file whose spec no longer generates it".to_string(),
        n => format!(", and {n} generated files whose specs no longer generate them"),
    };
    out.push_str(&match (drifted, plan.orphans.len()) {
        (0, 0) => format!("{} generated files are up to date\n", plan.files.len()),
        (n, _) => format!(
            "{n} of {} generated files out of date{orphaned}: run `coder compile`\n",
            plan.files.len()
        ),
    });
    drifted += plan.orphans.len();
    let written = print(&out);
    if written != EXIT_OK {
        return written;
    }
    if drifted > 0 { EXIT_FAILED } else { EXIT_OK }
}

/// A line for each target a workflow is not compiled for (its diagnostics say where).
fn skipped_warnings(session: &Session, plan: &Plan) -> String {
    let mut out = String::new();
    for skipped in &plan.skipped {
        let why = if skipped.has_files {
            "it has generated files for it"
        } else {
            "added by the configuration's `targets`"
        };
        out.push_str(&format!(
            "warning: `{}` is not compiled for {} ({why}): {} cannot express it\n",
            session.specs[skipped.spec].input.display,
            skipped.target.name(),
            skipped.target.name(),
        ));
    }
    out
}
