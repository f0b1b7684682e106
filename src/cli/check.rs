//! `coder check`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{ColorChoice, EXIT_FAILED, EXIT_OK, print, usage_error};
use crate::diag::render::{self, HumanOptions};
use crate::diag::{FileReport, SourceFile};
use crate::driver;
use crate::workspace;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files or folders; default: `.coder/workflows/` of the enclosing git repository.
    paths: Vec<PathBuf>,
    /// Also check what these targets cannot express [default: the target of the spec's
    /// `project.provider`, or of the git remote]
    #[arg(long = "target", value_name = "TARGET")]
    targets: Vec<crate::target::Target>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print rustc-shaped JSON lines instead (for cargo and editor tooling).
    #[arg(long, value_enum, value_name = "FMT")]
    message_format: Option<MessageFormat>,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Rendered like rustc, with the source underlined.
    Human,
    /// `file:line:col: severity[code]: message`.
    Short,
    /// One JSON object with every diagnostic.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Json,
}

/// The repository around some of the specs: its root, git facts and configuration.
pub(crate) struct Repository {
    /// The repository root (or the working directory outside one).
    pub root: PathBuf,
    pub git: workspace::git::GitInfo,
    pub config: workspace::Config,
    /// The configuration file's problem, reported against it.
    pub config_report: Option<FileReport>,
}

/// Specs checked together, with what lowering needs next. Each spec is checked against the
/// repository that holds it: its configuration, its remote, its other specs.
pub(crate) struct Session {
    pub repositories: Vec<Repository>,
    pub inputs: Vec<driver::SpecInput>,
    /// For each input, the index of its repository.
    pub repository_of: Vec<usize>,
    pub checked: Vec<driver::CheckedFile>,
}

impl Session {
    /// Every report: the configurations' first, then each spec's.
    pub fn reports(&self) -> Vec<FileReport> {
        self.repositories
            .iter()
            .filter_map(|r| r.config_report.clone())
            .chain(self.checked.iter().map(|c| c.report.clone()))
            .collect()
    }
}

/// A spec lowered to the IR, with the repository that holds it.
pub(crate) struct Lowered<'s> {
    /// Index of the spec's input in the session.
    pub index: usize,
    pub input: &'s driver::SpecInput,
    pub repository: &'s Repository,
    pub workflow: crate::ir::Workflow,
}

impl Session {
    /// Lower every spec that checked without errors (the caller has reported the others).
    pub fn lowered(&self) -> Vec<Lowered<'_>> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut out = Vec::with_capacity(self.checked.len());
        for (index, ((input, checked), &repository)) in self
            .inputs
            .iter()
            .zip(&self.checked)
            .zip(&self.repository_of)
            .enumerate()
        {
            let repository = &self.repositories[repository];
            let Some(spec) = checked
                .spec
                .as_ref()
                .filter(|_| checked.report.errors() == 0)
            else {
                continue;
            };
            // Repo-relative, whatever the working directory: generated files and `coder-step`
            // name the spec this way.
            let source = workspace::display_path(&cwd.join(&input.path), &repository.root);
            let stem = input
                .path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("");
            let cx = crate::ir::LowerContext {
                file: &checked.report.source,
                source_hash: &checked.source_hash,
                source: &source,
                file_stem: stem,
                git: &repository.git,
            };
            out.push(Lowered {
                index,
                input,
                repository,
                workflow: crate::ir::lower(spec, &cx),
            });
        }
        out
    }
}

/// Collect the specs `paths` name (or discover them), load each repository's configuration and
/// git remote, and check them all. `Err` holds the exit code of a usage or I/O error.
pub(crate) fn check_session(
    paths: &[PathBuf],
    targets: &[crate::target::Target],
) -> Result<Session, u8> {
    let cwd = std::env::current_dir()
        .map_err(|e| usage_error(&format!("cannot read the working directory: {e}")))?;
    let inputs = workspace::collect_specs(paths, &cwd).map_err(|err| usage_error(&err.0))?;
    let mut repositories: Vec<Repository> = Vec::new();
    let mut settings: Vec<driver::Settings> = Vec::new();
    let mut repository_of = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let dir = cwd.join(input.path.parent().unwrap_or(std::path::Path::new("")));
        let root = workspace::find_repo_root(&dir).unwrap_or_else(|| cwd.clone());
        let index = match repositories.iter().position(|r| r.root == root) {
            Some(index) => index,
            None => {
                let (config, config_problem) = workspace::config::load(&root);
                let git = workspace::git::read(&root);
                settings.push(driver::Settings {
                    config,
                    targets: targets.to_vec(),
                    remote_provider: git.remote.as_ref().and_then(|r| r.provider),
                });
                let config_report = config_problem.map(|(file, diag)| FileReport {
                    source: SourceFile::new(
                        workspace::display_path(&root.join(&file.path), &cwd),
                        file.text.clone(),
                    ),
                    diagnostics: vec![diag],
                });
                repositories.push(Repository {
                    root,
                    git,
                    config: settings
                        .last()
                        .map(|s| s.config.clone())
                        .unwrap_or_default(),
                    config_report,
                });
                repositories.len() - 1
            }
        };
        repository_of.push(index);
    }
    let mut checked: Vec<Option<driver::CheckedFile>> = inputs.iter().map(|_| None).collect();
    for (index, repository_settings) in settings.iter().enumerate() {
        let members: Vec<usize> = (0..inputs.len())
            .filter(|&i| repository_of[i] == index)
            .collect();
        let group: Vec<driver::SpecInput> = members.iter().map(|&i| inputs[i].clone()).collect();
        let results = driver::check_inputs(&group, repository_settings)
            .map_err(|err| usage_error(&format!("cannot read `{}`: {}", err.path, err.error)))?;
        for (i, result) in members.into_iter().zip(results) {
            checked[i] = Some(result);
        }
    }
    Ok(Session {
        repositories,
        repository_of,
        checked: checked.into_iter().flatten().collect(),
        inputs,
    })
}

pub fn run(args: CheckArgs) -> u8 {
    let mut session = match check_session(&args.paths, &args.targets) {
        Ok(session) => session,
        Err(code) => return code,
    };
    super::compile::drift_diagnostics(&mut session);
    let reports = session.reports();
    let inputs = &session.inputs;
    let output = match (args.message_format, args.format) {
        (Some(MessageFormat::Json), _) => render::render_rustc_json(&reports),
        (None, Format::Short) => render::render_short(&reports),
        (None, Format::Json) => render::render_json(&reports),
        (None, Format::Sarif) => render::render_sarif(&reports),
        (None, Format::Human) => {
            let mut text = render_problems(&reports, args.color, super::Stream::Stdout);
            text.push_str(&render::summary_line(&reports, inputs.len()));
            text.push('\n');
            text
        }
    };
    let errors: usize = reports.iter().map(FileReport::errors).sum();
    let written = print(&output);
    if written != EXIT_OK {
        return written;
    }
    if errors > 0 { EXIT_FAILED } else { EXIT_OK }
}

/// The human rendering of every diagnostic (files without any are skipped).
pub(crate) fn render_problems(
    reports: &[FileReport],
    color: ColorChoice,
    stream: super::Stream,
) -> String {
    let problems: Vec<FileReport> = reports
        .iter()
        .filter(|r| !r.diagnostics.is_empty())
        .cloned()
        .collect();
    let options = HumanOptions {
        color: color.enabled(stream),
        width: terminal_width(),
    };
    render::render_human(&problems, options)
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(100)
}
