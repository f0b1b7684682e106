//! `coder check`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{ColorChoice, EXIT_FAILED, EXIT_OK, print, usage_error};
use crate::diag::FileReport;
use crate::diag::render::{self, HumanOptions};
use crate::pipeline;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files or folders; default: `.coder/workflows/` of the enclosing git repository.
    paths: Vec<PathBuf>,
    /// Also check what these targets cannot express [default: the target of the spec's
    /// `project.provider`, or of the git remote]
    #[arg(long = "target", value_name = "TARGET", value_parser = target_names())]
    targets: Vec<String>,
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
    /// GitHub Actions workflow commands: annotations on the run and the pull request's diff.
    Github,
    /// GitLab's code-quality report (Code Climate JSON), for `artifacts:reports:codequality`.
    Gitlab,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Json,
}

/// `--target` values: the registered targets' names.
pub(crate) fn target_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::target::names())
}

/// The targets `--target` named (clap has checked each name).
pub(crate) fn targets(names: &[String]) -> Vec<&'static dyn crate::target::Target> {
    names
        .iter()
        .filter_map(|name| crate::target::by_name(name))
        .collect()
}

/// Check the specs `paths` name for the targets asked: a usage error is printed, as exit 2.
pub(crate) fn check_session(
    paths: &[PathBuf],
    targets: &[String],
) -> Result<pipeline::Session, u8> {
    pipeline::check(paths, &self::targets(targets)).map_err(|e| usage_error(&e.0))
}

pub fn run(args: CheckArgs) -> u8 {
    let mut session = match check_session(&args.paths, &args.targets) {
        Ok(session) => session,
        Err(code) => return code,
    };
    session.report_drift();
    let reports = session.reports();
    let inputs = &session.specs;
    let output = match (args.message_format, args.format) {
        (Some(MessageFormat::Json), _) => render::render_rustc_json(&reports),
        (None, Format::Short) => render::render_short(&reports),
        (None, Format::Json) => render::render_json(&reports),
        (None, Format::Sarif) => render::render_sarif(&reports, session.cwd.to_str()),
        (None, Format::Github) => render::render_github(&reports),
        (None, Format::Gitlab) => render::render_gitlab(&reports),
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
