//! The command lines of `coder`, `cargo coder` and `coder-step`. Each subcommand is a file;
//! this one parses arguments and maps outcomes to exit codes (0 ok, 1 errors in specs, 2 usage,
//! I/O or internal error).

mod check;
mod compile;
mod completions;
mod explain;
mod graph;
mod init;
mod man;
mod run;
pub mod step;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code contract (DESIGN 2.2), shared with `coder-step`.
pub use crate::protocol::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

#[derive(Debug, Parser)]
#[command(
    name = "coder",
    version,
    about = "Workflow-as-code for AI coding agents: check specs, compile them into the CI you already run",
    after_help = "Specs live in `.coder/workflows/*.yml` (or .yaml, .json). `coder explain --all` lists every diagnostic."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write maintenance workflows that fit this repository (review, dependency bump, triage,
    /// security sweep, release train) and compile them.
    #[command(after_help = init::INIT_AFTER_HELP)]
    Init(init::InitArgs),
    /// Parse and type-check workflow specs, reporting every problem.
    Check(check::CheckArgs),
    /// Compile specs into GitHub Actions, GitLab CI or systemd files; `--check` reports drift.
    Compile(compile::CompileArgs),
    /// Draw a workflow's triggers, jobs, steps, approvals and deploy environments (Mermaid or DOT).
    Graph(graph::GraphArgs),
    /// Run a workflow on this machine through the runner, under the same policies as in CI.
    #[command(after_help = run::RUN_AFTER_HELP)]
    Run(run::RunArgs),
    /// Record an approval of a step a run waits for, and continue the run (here, or by
    /// starting its systemd unit).
    Approve(run::ApproveArgs),
    /// List recent runs of this machine (local and systemd units'): status, credits, duration.
    Runs(run::RunsArgs),
    /// Explain a diagnostic code, or list them all.
    Explain(explain::ExplainArgs),
    /// Print the JSON Schema of workflow specs.
    Schema,
    /// Print a shell's completion script (workflow ids, run ids and codes complete too).
    Completions(completions::CompletionsArgs),
    /// Print the manual page, or write every page into a folder.
    Man(man::ManArgs),
    /// Run the language server on stdin and stdout, for editors (see the README's recipes).
    Lsp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Where output goes, for deciding on colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl ColorChoice {
    /// Colour only on a terminal, and never when `NO_COLOR` is set (https://no-color.org).
    pub fn enabled(self, stream: Stream) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let terminal = match stream {
                    Stream::Stdout => std::io::stdout().is_terminal(),
                    Stream::Stderr => std::io::stderr().is_terminal(),
                };
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal
            }
        }
    }
}

/// `coder ARGS…`.
pub fn main_coder() -> ExitCode {
    crate::runner::sandbox::launch_if_asked();
    completions::answer_if_asked();
    run(Cli::parse())
}

/// `cargo coder ARGS…`: cargo passes `coder` as the first argument.
pub fn main_cargo_coder() -> ExitCode {
    crate::runner::sandbox::launch_if_asked();
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "coder") {
        args.remove(1);
    }
    let cli = Cli::command_for_cargo().get_matches_from(args);
    match <Cli as clap::FromArgMatches>::from_arg_matches(&cli) {
        Ok(cli) => run(cli),
        Err(err) => err.exit(),
    }
}

impl Cli {
    fn command_for_coder() -> clap::Command {
        <Cli as clap::CommandFactory>::command()
    }

    fn command_for_cargo() -> clap::Command {
        <Cli as clap::CommandFactory>::command()
            .name("cargo-coder")
            .bin_name("cargo coder")
    }
}

fn run(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Init(args) => init::run(args),
        Command::Check(args) => check::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Run(args) => run::run(args),
        Command::Approve(args) => run::approve(args),
        Command::Runs(args) => run::runs(args),
        Command::Explain(args) => explain::run(args),
        Command::Schema => print(&crate::model::schema::json_schema()),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Lsp => match crate::lsp::serve_stdio() {
            Ok(()) => EXIT_OK,
            Err(message) => usage_error(&message),
        },
    };
    ExitCode::from(code)
}

/// Write to stdout; a closed pipe (`coder … | head`) is not an error worth a panic.
pub(crate) fn print(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => usage_error(&format!("cannot write output: {e}")),
    }
}

/// Report a usage, I/O or internal error on stderr; exit code 2.
pub(crate) fn usage_error(message: &str) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}
