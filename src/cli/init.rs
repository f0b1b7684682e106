//! `coder init`: the library reads the repository, renders and checks the maintenance
//! workflows and plans the writes; this prints what it found and did, and the next steps.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use super::check::{render_problems, target_names, targets};
use super::{ColorChoice, EXIT_OK, Stream, print, usage_error};
use crate::diag::render;
use crate::fs::Written;
use crate::init::{self, Error, Options, Proposal, State};
use crate::workspace;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository [default: the one around the working directory]
    path: Option<PathBuf>,
    /// Print what would be written, and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also compile for these targets (recorded in .coder/config.toml); the git remote's
    /// provider is always compiled for.
    #[arg(long = "target", value_name = "TARGET", value_parser = target_names())]
    targets: Vec<String>,
    /// Do not ask before writing (init only asks on a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

pub const INIT_AFTER_HELP: &str = "\
Writes .coder/workflows/ (pull-request review; and, for a repository whose build it recognizes, \
a weekly dependency bump, test-failure triage, a security-update sweep and, when it releases, a \
release train) with the repository's own build and test commands, plus .coder/config.toml \
where needed, then compiles them. Running it again changes nothing, and it never overwrites a \
file you edited: it says which it left alone.";

pub fn run(args: InitArgs) -> u8 {
    let options = Options {
        path: args.path.clone().unwrap_or_else(|| PathBuf::from(".")),
        targets: targets(&args.targets),
    };
    let proposal = match init::propose(&options) {
        Ok(proposal) => proposal,
        Err(Error::Usage(message)) => return usage_error(&message),
        Err(Error::Invalid(reports)) => {
            eprint!("{}", render_problems(&reports, args.color, Stream::Stderr));
            return usage_error(
                "internal error: a starter workflow does not check clean; nothing was written",
            );
        }
    };
    let mut out = summary(&proposal);
    let cwd = &proposal.session.cwd;
    let shown = |path: &std::path::Path| workspace::display_path(path, cwd);
    if args.dry_run {
        for file in proposal.files.iter().filter(|f| f.writes()) {
            out.push_str(&format!(
                "\n==> {} <==\n{}",
                shown(&file.path),
                file.contents
            ));
        }
        out.push('\n');
        for file in &proposal.files {
            out.push_str(&format!("{}\n", line(file, cwd, true)));
        }
        for planned in &proposal.plan.files {
            if crate::pipeline::compare(planned)
                .is_ok_and(|d| crate::pipeline::describe(&d).is_some())
            {
                out.push_str(&format!("would write {}\n", shown(&planned.destination)));
            }
        }
        out.push_str("(dry run: nothing written)\n");
        return print(&out);
    }
    let writes = proposal.files.iter().filter(|f| f.writes()).count();
    if writes > 0 && !args.yes {
        match confirm(&out, writes) {
            Some(false) => {
                eprintln!("nothing written");
                return EXIT_OK;
            }
            // The summary was shown with the question.
            Some(true) => out.clear(),
            None => {}
        }
    }
    let written = match init::write(&proposal) {
        Ok(written) => written,
        Err(Error::Usage(message)) => return usage_error(&message),
        Err(Error::Invalid(_)) => return usage_error("internal error: invalid proposal"),
    };
    out.push('\n');
    for file in &proposal.files {
        out.push_str(&format!("{}\n", line(file, cwd, false)));
    }
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
    let problems = init::problems(&proposal);
    if !problems.is_empty() {
        eprint!("{}", render::render_short(&problems));
    }
    out.push_str(&init::next_steps(&proposal));
    print(&out)
}

/// What init found, and which workflows it leaves out.
fn summary(proposal: &Proposal) -> String {
    let facts = &proposal.facts;
    let root = workspace::display_path(&proposal.root, &proposal.session.cwd);
    let mut out = format!(
        "coder init: {}\n",
        if root.is_empty() { "." } else { root.as_str() }
    );
    if facts.stacks.is_empty() {
        out.push_str(
            "found: no build system coder recognizes (Cargo, Node, Python, Go, a Makefile or justfile): \
             writing the pull-request review only\n",
        );
    } else {
        out.push_str(&format!("found: {}\n", facts.stacks.join("; ")));
    }
    let commands: Vec<String> = [("build", &facts.build), ("test", &facts.test)]
        .iter()
        .filter_map(|(what, c)| c.as_ref().map(|c| format!("{what} `{c}`")))
        .collect();
    if !commands.is_empty() {
        out.push_str(&format!("commands: {}\n", commands.join(", ")));
    }
    let forge = match facts.provider {
        Some(provider) if facts.remote => format!(
            "{} (default branch {})",
            provider.as_str(),
            facts.default_branch
        ),
        Some(provider) => format!(
            "{} (from the existing CI files; no git remote says)",
            provider.as_str()
        ),
        None => "none in the git remote: compiling for GitHub".to_string(),
    };
    out.push_str(&format!("forge: {forge}\n"));
    if !facts.ci_files.is_empty() {
        out.push_str(&format!(
            "existing CI: {} (runs {})\n",
            facts.ci_files.join(", "),
            if facts.ci_commands.is_empty() {
                "no commands".to_string()
            } else {
                facts
                    .ci_commands
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    for (kind, why) in &proposal.omitted {
        out.push_str(&format!("left out: {} ({why})\n", kind.id()));
    }
    out
}

/// One line about a file init manages.
fn line(file: &init::InitFile, cwd: &std::path::Path, dry_run: bool) -> String {
    let path = workspace::display_path(&file.path, cwd);
    match (file.state, dry_run) {
        (State::New, true) => format!("would write {path}"),
        (State::Updated, true) => {
            format!("would update {path} (coder init wrote it and it is unedited)")
        }
        (State::New, false) => format!("wrote {path}"),
        (State::Updated, false) => {
            format!("updated {path} (coder init wrote it and it was unedited)")
        }
        (State::Unchanged, _) => format!("unchanged {path}"),
        (State::LeftAlone, _) => {
            format!("left alone {path}: edited since coder init wrote it (or not init's)")
        }
    }
}

/// On a terminal, ask before writing (`None`: not a terminal, not asked).
fn confirm(summary: &str, writes: usize) -> Option<bool> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{summary}Write {writes} files? [Y/n] ");
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return Some(false);
    }
    Some(matches!(answer.trim(), "" | "y" | "Y" | "yes"))
}
