//! `coder graph`: a workflow's triggers, jobs, steps, approval points and deploy
//! environments, drawn from the IR's job cut (what CI runs).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::check::{check_session, render_problems};
use super::{ColorChoice, EXIT_FAILED, Stream, print, usage_error};

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The workflow: its id (a spec in `.coder/workflows/`) or its spec file.
    workflow: String,
    /// Mermaid (renders in GitHub and GitLab markdown) or Graphviz DOT.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    format: GraphFormat,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

pub fn run(args: GraphArgs) -> u8 {
    let as_path = PathBuf::from(&args.workflow);
    let paths = if as_path.is_file() {
        vec![as_path]
    } else {
        Vec::new()
    };
    let session = match check_session(&paths, &[]) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let found = session.specs.iter().find(|s| {
        !paths.is_empty()
            || s.workflow().is_some_and(|w| w.workflow_id == args.workflow)
            || s.input
                .path
                .file_stem()
                .is_some_and(|stem| stem == args.workflow.as_str())
    });
    let Some(spec) = found else {
        let known: Vec<&str> = session
            .specs
            .iter()
            .filter_map(|s| s.workflow().map(|w| w.workflow_id.as_str()))
            .collect();
        return usage_error(&format!(
            "no workflow `{}` in .coder/workflows/; the workflows are: {}",
            args.workflow,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let Some(workflow) = spec.workflow() else {
        eprint!(
            "{}",
            render_problems(
                std::slice::from_ref(&spec.checked.report),
                args.color,
                Stream::Stderr
            )
        );
        eprintln!("error: `{}` has errors: no graph", spec.input.display);
        return EXIT_FAILED;
    };
    print(&match args.format {
        GraphFormat::Mermaid => crate::graph::mermaid(workflow),
        GraphFormat::Dot => crate::graph::dot(workflow),
    })
}
