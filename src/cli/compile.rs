//! `coder compile`. For now only its debug view, `--emit ir`, which prints the IR every target
//! will be emitted from; the targets arrive next, and the command stays hidden until then.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::check::{check_session, render_problems};
use super::{ColorChoice, EXIT_FAILED, Stream, print};

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Spec files or folders; default: `.coder/workflows/` of the enclosing git repository.
    paths: Vec<PathBuf>,
    /// Print a phase's output instead of writing files.
    #[arg(long, value_enum, required = true)]
    emit: Emit,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The target-neutral IR, as JSON.
    Ir,
    /// The GitHub Actions workflow files, each after a `==> path <==` line.
    Github,
}

pub fn run(args: CompileArgs) -> u8 {
    let session = match check_session(&args.paths, &[]) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let reports = session.reports();
    // Diagnostics go to stderr (stdout is the IR); nothing is lowered from a spec with errors.
    eprint!("{}", render_problems(&reports, args.color, Stream::Stderr));
    if reports.iter().any(|r| r.errors() > 0) {
        return EXIT_FAILED;
    }
    let workflows: Vec<_> = session.lowered().into_iter().map(|l| l.workflow).collect();
    match args.emit {
        Emit::Ir => {
            let mut json = serde_json::to_string_pretty(&workflows).unwrap_or_default();
            json.push('\n');
            print(&json)
        }
        Emit::Github => {
            let files: String = workflows
                .iter()
                .map(|w| {
                    let path = crate::target::github::workflow_path(&w.workflow_id);
                    format!("==> {path} <==\n{}", crate::target::github::emit(w))
                })
                .collect();
            print(&files)
        }
    }
}
