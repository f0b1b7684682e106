//! `coder compile`: check the specs, lower them, emit each target's files and write them
//! (atomically, only when changed), or with `--check` compare instead and list the drift.
//! `coder check` uses the same comparison for generated files that exist.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::check::{Lowered, Session, check_session, render_problems};
use super::{ColorChoice, EXIT_FAILED, EXIT_OK, Stream, print, usage_error};
use crate::diag::{Code, Diagnostic};
use crate::target::output::{self, Drift, Written};
use crate::target::{GeneratedFile, Target, github, gitlab, systemd};
use crate::workspace;

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Spec files or folders; default: `.coder/workflows/` of the enclosing git repository.
    paths: Vec<PathBuf>,
    /// Compile for these targets [default: the target of the spec's `project.provider`, or of
    /// the git remote]
    #[arg(long = "target", value_name = "TARGET")]
    targets: Vec<Target>,
    /// Write the generated files under DIR instead of the repository root.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Write nothing; exit 1 if a generated file is missing, stale or edited by hand.
    #[arg(long)]
    check: bool,
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

/// A file some spec generates, and where it goes.
pub(crate) struct Planned {
    /// Index of the spec's input in the session.
    pub input: usize,
    pub destination: PathBuf,
    pub file: GeneratedFile,
}

/// The targets a workflow compiles to: those asked for, else its provider's plus those the
/// configuration adds that can express it.
fn targets_of(lowered: &Lowered<'_>, asked: &[Target]) -> Result<Vec<Target>, String> {
    if !asked.is_empty() {
        return Ok(asked.to_vec());
    }
    let mut targets: Vec<Target> = lowered
        .workflow
        .project
        .provider
        .map(Target::for_provider)
        .into_iter()
        .collect();
    for added in skipped_or_added(lowered).0 {
        if !targets.contains(&added) {
            targets.push(added);
        }
    }
    if targets.is_empty() {
        return Err(format!(
            "`{}` names no `project.provider` and the git remote names none: pass `--target github`",
            lowered.input.display
        ));
    }
    Ok(targets)
}

/// The targets the configuration adds for a workflow: those that can express it, and those
/// skipped with the reason.
fn skipped_or_added(lowered: &Lowered<'_>) -> (Vec<Target>, Vec<(Target, &'static str)>) {
    let mut added = Vec::new();
    let mut skipped = Vec::new();
    for &target in &lowered.repository.config.targets {
        match crate::target::cannot_express(&lowered.workflow, target) {
            Some(reason) => skipped.push((target, reason)),
            None => added.push(target),
        }
    }
    (added, skipped)
}

/// Warnings for the config-added targets a workflow is not compiled to.
fn skipped_warnings(lowered: &[Lowered<'_>], asked: &[Target]) -> String {
    if !asked.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for spec in lowered {
        for (target, reason) in skipped_or_added(spec).1 {
            out.push_str(&format!(
                "warning: `{}` is not compiled for {} (added by the configuration's `targets`): {reason}\n",
                spec.input.display,
                target.as_str()
            ));
        }
    }
    out
}

/// Every file the lowered specs generate for their targets.
pub(crate) fn plan(
    lowered: &[Lowered<'_>],
    asked: &[Target],
    out_dir: Option<&Path>,
) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::new();
    for spec in lowered {
        let root = out_dir.unwrap_or(&spec.repository.root);
        for target in targets_of(spec, asked)? {
            let files = match target {
                Target::Github => {
                    github::emit_files(&spec.workflow, &spec.repository.config.github)
                }
                Target::Systemd => {
                    systemd::emit_files(&spec.workflow, &spec.repository.config.systemd)
                }
                Target::Gitlab => gitlab::emit_files(
                    &spec.workflow,
                    &spec.repository.config.gitlab,
                    &spec.repository.config.report,
                ),
            };
            planned.extend(files.into_iter().map(|file| Planned {
                input: spec.index,
                destination: root.join(&file.path),
                file,
            }));
        }
    }
    Ok(planned)
}

fn drift_of(planned: &Planned) -> Result<Drift, String> {
    match std::fs::read_to_string(&planned.destination) {
        Ok(existing) => Ok(output::drift(Some(&existing), &planned.file.contents)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Drift::Missing),
        Err(e) => Err(format!(
            "cannot read `{}`: {e}",
            planned.destination.display()
        )),
    }
}

/// Why a generated file does not match, in a sentence.
fn describe(drift: &Drift) -> Option<String> {
    match drift {
        Drift::UpToDate => None,
        Drift::Missing => Some("missing: the spec was never compiled".to_string()),
        Drift::Stale { .. } => Some("stale: the spec changed since it was compiled".to_string()),
        Drift::HandEdited => Some("edited by hand since it was compiled".to_string()),
        Drift::OtherVersion { version } => Some(format!(
            "generated by coder {version}, which emitted different output"
        )),
    }
}

/// `coder check`'s view of drift: one diagnostic for each generated file that exists and no
/// longer matches its spec. A spec never compiled is not an error for `check`.
pub(crate) fn drift_diagnostics(session: &mut Session) {
    // Only the provider's target, and only specs with a generated file: checking stays
    // instant for specs that are never compiled.
    let lowered: Vec<Lowered<'_>> = session
        .lowered()
        .into_iter()
        .filter(|spec| {
            let targets = targets_of(spec, &[]).unwrap_or_default();
            targets.iter().any(|target| {
                target
                    .paths(&spec.workflow.workflow_id)
                    .iter()
                    .any(|path| spec.repository.root.join(path).exists())
            })
        })
        .collect();
    let planned = plan(&lowered, &[], None).unwrap_or_default();
    let mut found = Vec::new();
    for planned in &planned {
        let Ok(drift) = drift_of(planned) else {
            continue;
        };
        if drift == Drift::Missing {
            continue;
        }
        if let Some(reason) = describe(&drift) {
            found.push((planned.input, planned.file.path.clone(), reason));
        }
    }
    drop(lowered);
    for (input, path, reason) in found {
        let checked = &mut session.checked[input];
        let Some(spec) = &checked.spec else { continue };
        let span = spec
            .workflow_id
            .as_ref()
            .map_or(spec.name.span, |id| id.span);
        checked.report.diagnostics.push(
            Diagnostic::new(
                Code::GeneratedFileDrift,
                format!("generated file `{path}` is out of date: {reason}"),
            )
            .at(span, "compiled from this workflow")
            .help("run `coder compile` and commit the result; make lasting changes in the spec"),
        );
        checked.report.sort();
    }
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
    if reports.iter().any(|r| r.errors() > 0) {
        return EXIT_FAILED;
    }
    let lowered = session.lowered();
    eprint!("{}", skipped_warnings(&lowered, &args.targets));
    if args.emit == Some(Emit::Ir) {
        let workflows: Vec<_> = lowered.iter().map(|l| &l.workflow).collect();
        let mut json = serde_json::to_string_pretty(&workflows).unwrap_or_default();
        json.push('\n');
        return print(&json);
    }
    let planned = match plan(&lowered, &args.targets, args.out_dir.as_deref()) {
        Ok(planned) => planned,
        Err(message) => return usage_error(&message),
    };
    if args.emit == Some(Emit::Files) {
        let text: String = planned
            .iter()
            .map(|p| format!("==> {} <==\n{}", p.file.path, p.file.contents))
            .collect();
        return print(&text);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let shown = |p: &Planned| workspace::display_path(&p.destination, &cwd);
    let mut out = String::new();
    let mut drifted = 0;
    for planned in &planned {
        if args.check {
            let drift = match drift_of(planned) {
                Ok(drift) => drift,
                Err(message) => return usage_error(&message),
            };
            if let Some(reason) = describe(&drift) {
                drifted += 1;
                out.push_str(&format!("{}: {reason}\n", shown(planned)));
            }
            continue;
        }
        match output::write_if_changed(&planned.destination, &planned.file.contents) {
            Ok(Written::Written) => out.push_str(&format!("wrote {}\n", shown(planned))),
            Ok(Written::Unchanged) => out.push_str(&format!("unchanged {}\n", shown(planned))),
            Err(e) => {
                print(&out);
                return usage_error(&format!("cannot write `{}`: {e}", shown(planned)));
            }
        }
    }
    if !args.check {
        match root_pipeline(&lowered, &args.targets, args.out_dir.as_deref()) {
            Ok(note) => out.push_str(&note),
            Err(message) => {
                print(&out);
                return usage_error(&message);
            }
        }
        out.push_str(&environments_note(&lowered, &args.targets));
        out.push_str(&systemd_note(&lowered, &args.targets));
        out.push_str(&schedules_note(&lowered, &args.targets));
    }
    if args.check {
        out.push_str(&match drifted {
            0 => format!("{} generated files are up to date\n", planned.len()),
            n => format!(
                "{n} of {} generated files out of date: run `coder compile`\n",
                planned.len()
            ),
        });
    }
    let written = print(&out);
    if written != EXIT_OK {
        return written;
    }
    if drifted > 0 { EXIT_FAILED } else { EXIT_OK }
}

/// The GitHub environments to configure before a first run, as `coder compile` lists them.
fn environments_note(lowered: &[Lowered<'_>], asked: &[Target]) -> String {
    let mut out = String::new();
    for spec in lowered {
        if !targets_of(spec, asked).is_ok_and(|t| t.contains(&Target::Github)) {
            continue;
        }
        let environments = github::environments(&spec.workflow);
        if environments.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n`{}` runs in these GitHub environments; create them before its first run (see {}):\n",
            spec.workflow.workflow_id,
            github::environments_path(&spec.workflow.workflow_id)
        ));
        let width = environments.iter().map(|e| e.name.len()).max().unwrap_or(0) + 2;
        for environment in environments {
            let what = match &environment.reason {
                Some(_) => format!("required reviewers approve step `{}`", environment.step),
                None => format!("deploy step `{}`", environment.step),
            };
            out.push_str(&format!("  {:<width$}{what}\n", environment.name));
        }
    }
    out
}

/// Where the systemd units expect the checkout, and how to install them.
fn systemd_note(lowered: &[Lowered<'_>], asked: &[Target]) -> String {
    let mut out = String::new();
    for spec in lowered {
        if !targets_of(spec, asked).is_ok_and(|t| t.contains(&Target::Systemd)) {
            continue;
        }
        let config = &spec.repository.config.systemd;
        let id = &spec.workflow.workflow_id;
        out.push_str(&format!(
            "\n`{id}` runs on a systemd host in {}{}; install the units with\n  \
             cp systemd/coder-{id}.* /etc/systemd/system/ && systemctl daemon-reload\n",
            systemd::working_directory(&spec.workflow, config),
            if config.working_directory.is_none() {
                " (the default: set `[systemd] working-directory` to the checkout)"
            } else {
                ""
            }
        ));
        if systemd::timer(&spec.workflow).is_some() {
            out.push_str(&format!("  systemctl enable --now coder-{id}.timer\n"));
        } else {
            out.push_str(&format!(
                "  and start a run with `systemctl start coder-{id}.service`\n"
            ));
        }
    }
    out
}

/// GitLab runs only the root `.gitlab-ci.yml`: create one that includes coder's pipelines
/// when the repository has none. An existing one is the user's and is never rewritten (nor
/// drift); when it lacks the include, say the line to add.
fn root_pipeline(
    lowered: &[Lowered<'_>],
    asked: &[Target],
    out_dir: Option<&Path>,
) -> Result<String, String> {
    let mut roots: Vec<PathBuf> = Vec::new();
    for spec in lowered {
        if targets_of(spec, asked).is_ok_and(|t| t.contains(&Target::Gitlab)) {
            let root = out_dir
                .unwrap_or(&spec.repository.root)
                .join(gitlab::ROOT_PIPELINE);
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = String::new();
    for root in roots {
        let shown = workspace::display_path(&root, &cwd);
        match std::fs::read_to_string(&root) {
            Ok(text) if gitlab::root_includes_coder(&text) => {}
            Ok(_) => out.push_str(&format!(
                "\n{shown} is yours and coder leaves it as it is; add this line to run coder's pipelines:\n  {}\n",
                gitlab::root_include_line()
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                output::write_if_changed(&root, &gitlab::root_pipeline())
                    .map_err(|e| format!("cannot write `{shown}`: {e}"))?;
                out.push_str(&format!(
                    "wrote {shown} (yours from now on: coder never changes it again)\n"
                ));
            }
            Err(e) => return Err(format!("cannot read `{shown}`: {e}")),
        }
    }
    Ok(out)
}

/// The GitLab pipeline schedules to create before a workflow runs on its crons.
fn schedules_note(lowered: &[Lowered<'_>], asked: &[Target]) -> String {
    let mut out = String::new();
    for spec in lowered {
        if !targets_of(spec, asked).is_ok_and(|t| t.contains(&Target::Gitlab)) {
            continue;
        }
        let schedules = gitlab::schedules(&spec.workflow);
        if schedules.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n`{}` runs on GitLab pipeline schedules; create them once (see {}):\n",
            spec.workflow.workflow_id,
            gitlab::schedules_path(&spec.workflow.workflow_id)
        ));
        for schedule in &schedules {
            for command in gitlab::schedule_commands(schedule) {
                out.push_str(&format!("  {command}\n"));
            }
        }
    }
    out
}
