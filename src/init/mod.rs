//! `coder init`: read a repository (`detect`), render the maintenance workflows that fit it
//! from the starters in `templates/init/` (`render`), check each through the pipeline exactly
//! as `coder check` will, and plan what to write: new files, files init wrote before and
//! nobody edited since, and files left alone because someone did.

pub mod detect;
pub mod render;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use detect::{Facts, detect};
pub use render::{Kind, Omitted, Starter};

use crate::diag::FileReport;
use crate::pipeline::{self, CheckedSpec, Plan, Session};
use crate::target::{self, Target};
use crate::workspace::{self, Repository, WORKFLOWS_DIR, config::CONFIG_FILE};

/// What `coder init` was asked.
#[derive(Debug)]
pub struct Options {
    /// The repository (its root, or a folder in it).
    pub path: PathBuf,
    /// Targets to compile for besides the provider's (`--target`).
    pub targets: Vec<&'static dyn Target>,
}

/// What init would do with one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Missing: written.
    New,
    /// Already as init would write it.
    Unchanged,
    /// Written by an earlier init and not edited since: brought up to date.
    Updated,
    /// Someone edited it (or it was never init's): left alone.
    LeftAlone,
}

/// A file init manages.
#[derive(Debug)]
pub struct InitFile {
    /// Absolute.
    pub path: PathBuf,
    /// Repo-relative, for people.
    pub display: String,
    /// What init would write.
    pub contents: String,
    pub state: State,
    /// The starter it comes from; `None` for the configuration.
    pub kind: Option<Kind>,
}

impl InitFile {
    pub fn writes(&self) -> bool {
        matches!(self.state, State::New | State::Updated)
    }
}

/// Everything init decided, before anything is written.
#[derive(Debug)]
pub struct Proposal {
    pub facts: Facts,
    pub root: PathBuf,
    pub files: Vec<InitFile>,
    /// Every workflow init manages, checked as it will be on disk (the user's text for files
    /// left alone), in one session ready for [`pipeline::plan`].
    pub session: Session,
    /// The generated CI files those workflows compile to.
    pub plan: Plan,
    /// Workflow kinds not written, and why.
    pub omitted: Vec<Omitted>,
}

/// Why init cannot go on: a usage or I/O problem, or a starter that does not check clean
/// (a bug in coder, reported rather than written).
#[derive(Debug)]
pub enum Error {
    Usage(String),
    /// A rendered starter has errors: the reports say which.
    Invalid(Vec<FileReport>),
}

/// The last line init adds to what it writes: the hash of everything above it, so a later
/// init tells its own unedited file (which it may update) from one someone edited.
const MARKER: &str =
    "# coder init wrote this file; once you edit it, coder init leaves it alone. sha256:";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `body` with the marker line.
fn marked(body: &str) -> String {
    format!("{body}{MARKER}{}\n", sha256_hex(body))
}

/// Whether `text` is init's own, unedited: its marker holds the hash of what is above it.
fn unedited(text: &str) -> bool {
    let Some(at) = text.rfind(MARKER) else {
        return false;
    };
    let (body, marker) = text.split_at(at);
    marker[MARKER.len()..].trim_end() == sha256_hex(body)
}

/// What to do with `path`, given what init would write there.
fn state_of(path: &Path, contents: &str) -> Result<State, Error> {
    match std::fs::read_to_string(path) {
        Ok(old) if old == contents => Ok(State::Unchanged),
        Ok(old) if unedited(&old) => Ok(State::Updated),
        Ok(_) => Ok(State::LeftAlone),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::New),
        // A file that exists but cannot be read (not UTF-8, a folder) is not ours to replace.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Ok(State::LeftAlone),
        Err(e) => Err(Error::Usage(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

/// Whether the repository already has a configuration of its own (a config file, or a
/// `[…metadata.coder]` section in `Cargo.toml`, which a new config file would hide).
fn has_own_config(root: &Path) -> bool {
    let cargo = std::fs::read_to_string(root.join("Cargo.toml"))
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
        .is_some_and(|table| {
            ["workspace", "package"].iter().any(|section| {
                table
                    .get(*section)
                    .and_then(|s| s.get("metadata"))
                    .and_then(|m| m.get("coder"))
                    .is_some()
            })
        });
    cargo && !root.join(CONFIG_FILE).exists()
}

/// Read the repository, render what fits it, check it, and plan the writes.
pub fn propose(options: &Options) -> Result<Proposal, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Usage(format!("cannot read the working directory: {e}")))?;
    let start = cwd.join(&options.path);
    if !start.is_dir() {
        return Err(Error::Usage(format!(
            "`{}` is not a folder",
            options.path.display()
        )));
    }
    let root = workspace::find_repo_root(&start).unwrap_or(start);
    let facts = detect(&root);
    propose_for(facts, root, cwd, options)
}

/// [`propose`] for a repository at `root` whose facts are known.
pub fn propose_for(
    facts: Facts,
    root: PathBuf,
    cwd: PathBuf,
    options: &Options,
) -> Result<Proposal, Error> {
    // The pipeline compiles for the git remote's provider; the configuration's `targets` add
    // to it. Without a remote: the forge the existing CI files are for, else GitHub, the one
    // a new project most likely has.
    let provider_target = workspace::git::read(&root)
        .remote
        .and_then(|r| r.provider)
        .and_then(target::for_provider);
    let mut extra: Vec<&'static str> = options
        .targets
        .iter()
        .filter(|t| provider_target.is_none_or(|p| p.name() != t.name()))
        .map(|t| t.name())
        .collect();
    if provider_target.is_none() && options.targets.is_empty() {
        extra.push(
            facts
                .provider
                .and_then(target::for_provider)
                .map_or("github", |t| t.name()),
        );
    }
    let compiled_for: Vec<&'static str> = provider_target
        .iter()
        .map(|t| t.name())
        .chain(extra.iter().copied())
        .collect();
    let (starters, omitted) = render::starters(&facts, &compiled_for).map_err(Error::Usage)?;
    let names = target::names();
    let mut repository = Repository::open(root.clone(), &cwd, &names);
    let mut files = Vec::new();

    // The configuration, when the workflows need one and the repository has none of its own.
    let config = render::config(&facts, &extra, &starters).map_err(Error::Usage)?;
    if let Some(body) = config.filter(|_| !has_own_config(&root)) {
        let contents = marked(&body);
        let path = root.join(CONFIG_FILE);
        let state = state_of(&path, &contents)?;
        if state != State::LeftAlone {
            repository.config = load_config(&contents, &names)?;
            repository.config_report = None;
        }
        files.push(InitFile {
            display: CONFIG_FILE.to_string(),
            path,
            contents,
            state,
            kind: None,
        });
    }

    let mut specs = Vec::new();
    let mut invalid = Vec::new();
    for starter in &starters {
        let display = format!("{WORKFLOWS_DIR}/{}.yml", starter.kind.id());
        let path = root.join(&display);
        let contents = marked(&starter.text);
        let state = state_of(&path, &contents)?;
        // A file left alone is checked (and compiled) as it is; a file init writes as written.
        let text = match state {
            State::LeftAlone => std::fs::read_to_string(&path).unwrap_or_default(),
            _ => contents.clone(),
        };
        let checked = pipeline::check_text(&path, &text, &repository, &[]);
        if state != State::LeftAlone && checked.report.errors() > 0 {
            invalid.push(checked.report.clone());
        }
        specs.push(CheckedSpec {
            input: workspace::SpecInput {
                path: path.clone(),
                display: display.clone(),
            },
            repository: 0,
            checked,
        });
        files.push(InitFile {
            path,
            display,
            contents,
            state,
            kind: Some(starter.kind),
        });
    }
    if !invalid.is_empty() {
        return Err(Error::Invalid(invalid));
    }
    let session = Session {
        repositories: vec![repository],
        specs,
        cwd,
    };
    let plan = pipeline::plan(&session, &[], None).map_err(|e| Error::Usage(e.0))?;
    Ok(Proposal {
        facts,
        root,
        files,
        session,
        plan,
        omitted,
    })
}

/// The configuration `contents` as coder will read it, validated the same way.
fn load_config(contents: &str, targets: &[&str]) -> Result<workspace::Config, Error> {
    match workspace::config::parse_config_file(contents.to_string(), targets) {
        (config, None) => Ok(config),
        (_, Some((file, diagnostic))) => Err(Error::Invalid(vec![FileReport {
            source: file,
            diagnostics: vec![diagnostic],
        }])),
    }
}

/// Write the proposal: the files init writes, then the CI files of every workflow that
/// checks without errors. Returns the generated files written.
pub fn write(proposal: &Proposal) -> Result<Vec<pipeline::WrittenFile>, Error> {
    for file in proposal.files.iter().filter(|f| f.writes()) {
        if let Some(dir) = file.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Usage(format!("cannot create `{}`: {e}", dir.display())))?;
        }
        crate::fs::atomic_write(&file.path, file.contents.as_bytes())
            .map_err(|e| Error::Usage(format!("cannot write `{}`: {e}", file.display)))?;
    }
    let (written, result) = pipeline::write(&proposal.session, &proposal.plan, None);
    result.map_err(|e| Error::Usage(e.0))?;
    Ok(written)
}

/// The warnings the workflows check with, and the workflows left alone that have errors.
pub fn problems(proposal: &Proposal) -> Vec<FileReport> {
    proposal
        .session
        .specs
        .iter()
        .map(|s| s.checked.report.clone())
        .filter(|r| !r.diagnostics.is_empty())
        .collect()
}

/// What to set up before the first runs: the agent, the deploy commands, the CI's own
/// notes (environments, schedules, secrets).
pub fn next_steps(proposal: &Proposal) -> String {
    let mut steps = Vec::new();
    let config = &proposal.session.repositories[0].config;
    if config.agent.command.is_none() && config.agent.preset.is_none() {
        steps.push(
            "Choose the program agent steps run: `[agent] preset = \"claude\"` and \
             `credential = \"ANTHROPIC_API_KEY\"` in .coder/config.toml (or `command = [...]` \
             for another program), and store that key as a CI secret."
                .to_string(),
        );
    }
    // The deploy targets the workflows name without a configured command (C0301).
    let warning = proposal
        .session
        .specs
        .iter()
        .flat_map(|s| &s.checked.report.diagnostics)
        .find(|d| d.code == crate::diag::Code::DeployNotConfigured);
    if let Some(warning) = warning {
        let mut unconfigured: Vec<&str> = Vec::new();
        let workflows = proposal.session.specs.iter().filter_map(|s| s.workflow());
        for step in workflows.flat_map(|w| w.jobs.iter().flat_map(|j| &j.steps)) {
            if let crate::ir::Action::Deploy { target } = &step.action
                && config.deploy_command(target).is_none()
                && !unconfigured.contains(&target.as_str())
            {
                unconfigured.push(target);
            }
        }
        let sections: Vec<String> = unconfigured
            .iter()
            .map(|t| format!("`[deploy.{t}]`"))
            .collect();
        steps.push(format!(
            "Say how the release train deploys: {} with a `command` in .coder/config.toml \
             (coder check warns until then, C0301: {}).",
            sections.join(" and "),
            warning.help.as_deref().unwrap_or_default()
        ));
    }
    let needs_tools = !proposal.facts.toolchain_setup.is_empty();
    if needs_tools
        && !proposal
            .files
            .iter()
            .any(|f| f.kind.is_none() && f.state != State::LeftAlone)
    {
        steps.push(format!(
            "The jobs need tools a stock CI runner lacks: add `setup = {:?}` to the `[github]` or \
             `[gitlab]` section of your configuration.",
            proposal.facts.toolchain_setup
        ));
    }
    if !proposal.facts.missing_tools.is_empty() {
        steps.push(format!(
            "Provide {} on the CI runner: a `setup` command in your configuration's `[github]` or \
             `[gitlab]` section, or a runner image that has it (coder writes no ad-hoc install).",
            proposal.facts.missing_tools.join(", ")
        ));
    }
    if proposal.facts.provider == Some(crate::model::Provider::Gitlab) {
        steps.push(
            "Set `[gitlab] image` (and `install`, how `coder-step` gets on the PATH; by default \
             its prebuilt release, else `cargo install`) so the jobs have your toolchain, and \
             create the `CODER_GITLAB_TOKEN` project access token variable the publish job pushes with."
                .to_string(),
        );
    }
    if proposal.facts.provider == Some(crate::model::Provider::Github)
        || proposal.facts.provider.is_none()
    {
        steps.push(
            "Pull requests opened with GitHub's default token start no CI: set `[github] \
             token-secret` to a GitHub App or fine-grained token secret to have checks run on them."
                .to_string(),
        );
    }
    let notes = pipeline::notes(&proposal.session, &proposal.plan, None);
    let mut out = String::from("\nNext steps:\n");
    for (n, step) in steps.iter().enumerate() {
        out.push_str(&format!("  {}. {step}\n", n + 1));
    }
    out.push_str(&format!(
        "  {}. Commit .coder/ and the generated files; `coder check` and `coder compile` keep them in step.\n",
        steps.len() + 1
    ));
    if !notes.trim().is_empty() {
        out.push_str(&notes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starter_that_does_not_check_clean_is_not_written() {
        let dir = std::env::temp_dir().join(format!("coder-init-unit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
        // A GitHub expression is an error in a spec (specs are portable).
        let facts = Facts {
            test: Some("pytest ${{ matrix.args }}".to_string()),
            manifests: vec!["pyproject.toml".to_string()],
            ..Facts::default()
        };
        let options = Options {
            path: dir.clone(),
            targets: Vec::new(),
        };
        let result = propose_for(facts, dir.clone(), dir.clone(), &options);
        let written = std::fs::read_dir(&dir).expect("dir").count();
        let _ = std::fs::remove_dir_all(&dir);
        match result {
            Err(Error::Invalid(reports)) => assert!(reports.iter().all(|r| r.errors() > 0)),
            other => panic!("expected the starters refused, got {other:?}"),
        }
        assert_eq!(written, 1, "only .git");
    }

    #[test]
    fn the_marker_tells_an_edited_file() {
        let text = marked("name: x\n");
        assert!(unedited(&text));
        assert!(!unedited(&text.replace("x", "y")));
        assert!(!unedited("name: x\n"));
    }
}
