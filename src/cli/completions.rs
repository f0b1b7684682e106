//! `coder completions SHELL` and the completions themselves. The scripts are clap_complete's
//! dynamic registrations: the shell asks `coder` (with `CODER_COMPLETE=<shell>` set) for candidates at
//! each <TAB>, so values only known at run time complete too: the workflow ids of the
//! repository for `coder run`, local run ids for `coder approve`, diagnostic codes for
//! `coder explain`.

use clap::Command;
use clap::{Args, ValueEnum};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use super::usage_error;

/// The variable the registration scripts set to ask for candidates: coder's own, so a
/// `COMPLETE` another tool set in the environment does not turn `coder` into a completer.
const VAR: &str = "CODER_COMPLETE";

#[derive(Debug, Args)]
#[command(
    after_help = "Install, e.g.: `coder completions bash > ~/.local/share/bash-completion/completions/coder`; \
zsh: a file `_coder` in a folder of `$fpath`; fish: `~/.config/fish/completions/coder.fish`; \
PowerShell and elvish: add the output to your profile / rc.elv. The script calls `coder` on the PATH."
)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    shell: Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Shell::Bash => &Bash,
            Shell::Zsh => &Zsh,
            Shell::Fish => &Fish,
            Shell::Powershell => &Powershell,
            Shell::Elvish => &Elvish,
        }
    }
}

pub fn run(args: CompletionsArgs) -> u8 {
    let mut script = Vec::new();
    if let Err(e) =
        args.shell
            .completer()
            .write_registration(VAR, "coder", "coder", "coder", &mut script)
    {
        return usage_error(&format!("cannot write the completion script: {e}"));
    }
    super::print(&String::from_utf8_lossy(&script))
}

/// Answer a completion request (`CODER_COMPLETE` is set) and exit; otherwise return.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(|| with_completers(super::Cli::command_for_coder()))
        .var(VAR)
        .complete();
}

/// The command line with its run-time candidates attached.
pub fn with_completers(command: Command) -> Command {
    command
        .mut_subcommand("run", |c| {
            c.mut_arg("workflow", |a| a.add(ArgValueCandidates::new(workflow_ids)))
        })
        .mut_subcommand("approve", |c| {
            c.mut_arg("run", |a| a.add(ArgValueCandidates::new(run_ids)))
        })
        .mut_subcommand("explain", |c| {
            c.mut_arg("code", |a| a.add(ArgValueCandidates::new(codes)))
        })
}

/// The workflow ids of the specs of the repository around the working directory, each with
/// its spec's path.
fn workflow_ids() -> Vec<CompletionCandidate> {
    let Ok(session) = crate::pipeline::check(&[], &[]) else {
        return Vec::new();
    };
    session
        .specs
        .iter()
        .filter_map(|spec| {
            let (id, _) = spec.checked.workflow_id(&spec.input)?;
            Some(CompletionCandidate::new(id).help(Some(spec.input.display.clone().into())))
        })
        .collect()
}

/// Local runs, newest first, with their workflow and status.
fn run_ids() -> Vec<CompletionCandidate> {
    crate::runner::local::list_runs()
        .unwrap_or_default()
        .into_iter()
        .map(|run| {
            let help = format!("{} {}", run.workflow_id, run.status);
            CompletionCandidate::new(run.run_id).help(Some(help.into()))
        })
        .collect()
}

fn codes() -> Vec<CompletionCandidate> {
    crate::diag::Code::ALL
        .iter()
        .map(|code| {
            let info = code.info();
            CompletionCandidate::new(info.code).help(Some(info.summary.into()))
        })
        .collect()
}
