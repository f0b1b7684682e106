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

pub fn run(args: CheckArgs) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => return usage_error(&format!("cannot read the working directory: {e}")),
    };
    let inputs = match workspace::collect_specs(&args.paths, &cwd) {
        Ok(inputs) => inputs,
        Err(err) => return usage_error(&err.0),
    };
    let root = inputs
        .first()
        .and_then(|i| workspace::find_repo_root(i.path.parent().unwrap_or(&cwd)))
        .unwrap_or_else(|| cwd.clone());
    let (config, config_problem) = workspace::config::load(&root);
    let settings = driver::Settings {
        config,
        targets: args.targets.clone(),
        remote_provider: workspace::git::read(&root).remote.and_then(|r| r.provider),
    };
    let checked = match driver::check_inputs(&inputs, &settings) {
        Ok(checked) => checked,
        Err(err) => return usage_error(&format!("cannot read `{}`: {}", err.path, err.error)),
    };
    let mut reports: Vec<FileReport> = Vec::with_capacity(checked.len() + 1);
    if let Some((file, diag)) = config_problem {
        let shown = workspace::display_path(&root.join(&file.path), &cwd);
        reports.push(FileReport {
            source: SourceFile::new(shown, file.text.clone()),
            diagnostics: vec![diag],
        });
    }
    reports.extend(checked.into_iter().map(|c| c.report));

    let output = match (args.message_format, args.format) {
        (Some(MessageFormat::Json), _) => render::render_rustc_json(&reports),
        (None, Format::Short) => render::render_short(&reports),
        (None, Format::Json) => render::render_json(&reports),
        (None, Format::Sarif) => render::render_sarif(&reports),
        (None, Format::Human) => {
            let problems: Vec<FileReport> = reports
                .iter()
                .filter(|r| !r.diagnostics.is_empty())
                .cloned()
                .collect();
            let options = HumanOptions {
                color: args.color.enabled(),
                width: terminal_width(),
            };
            let mut text = render::render_human(&problems, options);
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

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(100)
}
