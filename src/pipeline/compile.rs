//! Checked workflows → each target's files: which targets a workflow compiles to, the files
//! they emit, how they compare with what is on disk (drift), and writing them.

use std::path::{Path, PathBuf};

use super::{CheckedSpec, Error, Session};
use crate::diag::{Code, Diagnostic};
use crate::fs::{Written, write_if_changed};
use crate::ir::Workflow;
use crate::model::Provider;
use crate::target::output::{self, Drift};
use crate::target::{self, GeneratedFile, Target};
use crate::workspace::{Config, display_path};

/// A file some workflow generates, and where it goes.
#[derive(Debug)]
pub struct Planned {
    /// Index of the spec in the session.
    pub spec: usize,
    pub target: &'static dyn Target,
    pub destination: PathBuf,
    pub file: GeneratedFile,
}

/// A target a workflow is not compiled for, although the configuration adds it or its
/// generated files exist, because the target cannot express it.
#[derive(Debug)]
pub struct Skipped {
    pub spec: usize,
    pub target: &'static dyn Target,
    /// The workflow has generated files for this target, which are now stale.
    pub has_files: bool,
}

/// A file coder generated, at a target's path, that no spec generates any more: its spec was
/// deleted, or renamed its `workflow_id`. Left in place it would keep running in CI.
#[derive(Debug)]
pub struct Orphan {
    pub destination: PathBuf,
    /// The spec its header names (repo-relative).
    pub source: String,
    /// Whether that spec still exists (it now compiles to other files).
    pub source_exists: bool,
}

/// Everything `coder compile` would write, and what it leaves out.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<Planned>,
    pub skipped: Vec<Skipped>,
    /// Generated files no spec of the session generates now.
    pub orphans: Vec<Orphan>,
    /// For each compiled spec, the targets it compiles to (for notes and starter files).
    pub targets: Vec<(usize, Vec<&'static dyn Target>)>,
}

/// The targets a workflow compiles to: those asked for; else its own (its provider's and
/// those the configuration adds that can express it) plus every target it already has
/// generated files for, so that once compiled for a target it is kept up to date.
fn targets_of(
    spec: &CheckedSpec,
    workflow: &Workflow,
    config: &Config,
    asked: &[&'static dyn Target],
    root: &Path,
    generated: &Generated<'_>,
) -> Result<Vec<&'static dyn Target>, Error> {
    if !asked.is_empty() {
        return Ok(asked.to_vec());
    }
    // Its own targets were checked with it; one it only has files for is checked here, and a
    // target that cannot express the workflow writes nothing (skipped, see `plan`).
    let mut targets = spec.checked.targets.clone();
    for present in present_or_renamed(workflow, root, &targets, generated) {
        if !target::cannot_express(&present.limits(workflow, config)) {
            targets.push(present);
        }
    }
    if targets.is_empty() && spec.checked.targets.is_empty() {
        return Err(Error(format!(
            "`{}` names no `project.provider` and the git remote names none: pass `--target github`",
            spec.input.display
        )));
    }
    Ok(targets)
}

/// The targets besides `known` that `workflow` has generated files for under `root` (files
/// with coder's header: a file of the user's at the same path is not one).
fn present_targets(
    workflow: &Workflow,
    root: &Path,
    known: &[&'static dyn Target],
) -> Vec<&'static dyn Target> {
    target::TARGETS
        .iter()
        .copied()
        .filter(|t| !known.contains(t))
        .filter(|t| {
            t.paths(&workflow.workflow_id)
                .iter()
                .any(|path| output::is_generated(&root.join(path)))
        })
        .collect()
}

/// [`present_targets`], read from the files already found on disk, and the targets that have
/// files generated from this workflow's spec under an earlier `workflow_id`: a renamed
/// workflow keeps its targets.
fn present_or_renamed(
    workflow: &Workflow,
    root: &Path,
    known: &[&'static dyn Target],
    generated: &Generated<'_>,
) -> Vec<&'static dyn Target> {
    let at_its_paths = |t: &&'static dyn Target| {
        t.paths(&workflow.workflow_id)
            .iter()
            .any(|path| generated.by_path.contains(root.join(path).as_path()))
    };
    let mut present: Vec<&'static dyn Target> = target::TARGETS
        .iter()
        .copied()
        .filter(|t| !known.contains(t))
        .filter(at_its_paths)
        .collect();
    for file in generated
        .by_source
        .get(workflow.source.as_str())
        .into_iter()
        .flatten()
    {
        if file.path.starts_with(root)
            && !known.contains(&file.target)
            && !present.contains(&file.target)
        {
            present.push(file.target);
        }
    }
    present
}

/// The generated files on disk, by the spec their header names and by path.
#[derive(Default)]
struct Generated<'g> {
    by_source: std::collections::HashMap<&'g str, Vec<&'g OnDisk>>,
    by_path: std::collections::HashSet<&'g Path>,
}

impl<'g> Generated<'g> {
    fn of(files: &'g [OnDisk]) -> Generated<'g> {
        let mut generated = Generated::default();
        for file in files {
            generated
                .by_source
                .entry(file.source.as_str())
                .or_default()
                .push(file);
            generated.by_path.insert(file.path.as_path());
        }
        generated
    }
}

/// A file with coder's header in one of the targets' folders.
#[derive(Debug)]
struct OnDisk {
    path: PathBuf,
    /// The spec its header names (repo-relative).
    source: String,
    target: &'static dyn Target,
}

/// Every generated file in the targets' folders under `roots` (a probe id names the folders).
fn generated_on_disk(roots: &[PathBuf]) -> Vec<OnDisk> {
    let mut found = Vec::new();
    for root in roots {
        let mut seen: Vec<PathBuf> = Vec::new();
        for &target in target::TARGETS {
            for path in target.paths("coder-probe") {
                let Some(folder) = Path::new(&path).parent().map(|dir| root.join(dir)) else {
                    continue;
                };
                if seen.contains(&folder) {
                    continue;
                }
                seen.push(folder.clone());
                let Ok(entries) = std::fs::read_dir(&folder) else {
                    continue;
                };
                let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                paths.sort();
                for path in paths {
                    if !path.is_file() {
                        continue;
                    }
                    let source = output::generated_header(&path).and_then(|h| h.source);
                    if let Some(source) = source {
                        found.push(OnDisk {
                            path,
                            source,
                            target,
                        });
                    }
                }
            }
        }
    }
    found
}

/// Every file the session's workflows generate for their targets (a session with errors
/// plans nothing for the specs with errors).
pub fn plan(
    session: &Session,
    asked: &[&'static dyn Target],
    out_dir: Option<&Path>,
) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut roots: Vec<PathBuf> = Vec::new();
    for spec in &session.specs {
        let root = out_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| session.repository_of(spec).root.clone());
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    let on_disk = generated_on_disk(&roots);
    let generated = Generated::of(&on_disk);
    for (index, spec) in session.specs.iter().enumerate() {
        let Some(workflow) = spec.workflow() else {
            continue;
        };
        let repository = session.repository_of(spec);
        let root = out_dir.unwrap_or(&repository.root);
        let targets = targets_of(spec, workflow, &repository.config, asked, root, &generated)?;
        if asked.is_empty() {
            let present = present_or_renamed(workflow, root, &targets, &generated);
            let added = repository
                .config
                .targets
                .iter()
                .filter_map(|name| target::by_name(name.get_ref()));
            for candidate in added.chain(present.iter().copied()) {
                if !targets.contains(&candidate)
                    && !plan
                        .skipped
                        .iter()
                        .any(|s| s.spec == index && s.target == candidate)
                {
                    plan.skipped.push(Skipped {
                        spec: index,
                        target: candidate,
                        has_files: present.contains(&candidate),
                    });
                }
            }
        }
        for &target in &targets {
            plan.files.extend(
                target
                    .emit(workflow, &repository.config)
                    .into_iter()
                    .map(|file| Planned {
                        spec: index,
                        target,
                        destination: root.join(&file.path),
                        file,
                    }),
            );
        }
        plan.targets.push((index, targets));
    }
    drop(generated);
    plan.orphans = orphans(session, &plan, on_disk);
    Ok(plan)
}

/// The generated files in the targets' folders that nothing in `plan` writes or reports: a
/// file whose spec is gone, or whose spec is in this session and compiles to other paths now.
/// A file of a spec outside the session (`coder compile one.yml`) is left alone.
fn orphans(session: &Session, plan: &Plan, generated: Vec<OnDisk>) -> Vec<Orphan> {
    let in_session: Vec<&str> = session
        .specs
        .iter()
        .filter_map(|s| s.workflow())
        .map(|w| w.source.as_str())
        .collect();
    let planned: std::collections::HashSet<&Path> =
        plan.files.iter().map(|p| p.destination.as_path()).collect();
    let accounted = |path: &Path| {
        planned.contains(path)
            || plan.skipped.iter().any(|s| {
                session.specs[s.spec].workflow().is_some_and(|w| {
                    s.target
                        .paths(&w.workflow_id)
                        .iter()
                        .any(|p| path.ends_with(p))
                })
            })
    };
    let mut found = Vec::new();
    for file in generated {
        if accounted(&file.path) {
            continue;
        }
        let root = session
            .specs
            .iter()
            .map(|spec| session.repository_of(spec).root.as_path())
            .find(|root| file.path.starts_with(root));
        let source_exists = root.is_some_and(|root| root.join(&file.source).is_file());
        if !source_exists || in_session.contains(&file.source.as_str()) {
            found.push(Orphan {
                destination: file.path,
                source: file.source,
                source_exists,
            });
        }
    }
    found
}

/// Why an orphan is one, in a sentence.
pub fn describe_orphan(orphan: &Orphan) -> String {
    if orphan.source_exists {
        format!(
            "generated from {}, which no longer generates this file (its workflow_id or targets changed)",
            orphan.source
        )
    } else {
        format!("generated from {}, which no longer exists", orphan.source)
    }
}

/// Delete the orphans, each only if it still carries coder's header.
pub fn remove_orphans<'p>(
    session: &Session,
    plan: &'p Plan,
) -> (Vec<&'p Orphan>, Result<(), Error>) {
    let mut removed = Vec::new();
    for orphan in &plan.orphans {
        if !output::is_generated(&orphan.destination) {
            continue;
        }
        if let Err(e) = std::fs::remove_file(&orphan.destination) {
            let shown = display_path(&orphan.destination, &session.cwd);
            return (removed, Err(Error(format!("cannot remove `{shown}`: {e}"))));
        }
        removed.push(orphan);
    }
    (removed, Ok(()))
}

/// How a planned file compares with the one on disk.
pub fn compare(planned: &Planned) -> Result<Drift, Error> {
    match std::fs::read_to_string(&planned.destination) {
        Ok(existing) => Ok(output::drift(Some(&existing), &planned.file.contents)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Drift::Missing),
        Err(e) => Err(Error(format!(
            "cannot read `{}`: {e}",
            planned.destination.display()
        ))),
    }
}

/// Why a generated file does not match, in a sentence.
pub fn describe(drift: &Drift) -> Option<String> {
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

/// What writing did to one file.
#[derive(Debug)]
pub struct WrittenFile {
    pub destination: PathBuf,
    pub written: Written,
    /// A starter file: created once, the user's from then on.
    pub starter: bool,
}

/// Write every planned file whose content changed (atomically), then each compiled target's
/// starter file where it is missing. Stops at the first file that cannot be written, with
/// what was written before it.
pub fn write(
    session: &Session,
    plan: &Plan,
    out_dir: Option<&Path>,
) -> (Vec<WrittenFile>, Result<(), Error>) {
    let mut done = Vec::new();
    for planned in &plan.files {
        match write_if_changed(&planned.destination, &planned.file.contents) {
            Ok(written) => done.push(WrittenFile {
                destination: planned.destination.clone(),
                written,
                starter: false,
            }),
            Err(e) => {
                let shown = display_path(&planned.destination, &session.cwd);
                return (done, Err(Error(format!("cannot write `{shown}`: {e}"))));
            }
        }
    }
    for (destination, starter) in starters(session, plan, out_dir) {
        match std::fs::symlink_metadata(&destination) {
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let shown = display_path(&destination, &session.cwd);
                return (done, Err(Error(format!("cannot read `{shown}`: {e}"))));
            }
        }
        if let Err(e) = write_if_changed(&destination, &starter.contents) {
            let shown = display_path(&destination, &session.cwd);
            return (done, Err(Error(format!("cannot write `{shown}`: {e}"))));
        }
        done.push(WrittenFile {
            destination,
            written: Written::Written,
            starter: true,
        });
    }
    (done, Ok(()))
}

/// The starter files of the compiled targets, each once per output folder.
fn starters(
    session: &Session,
    plan: &Plan,
    out_dir: Option<&Path>,
) -> Vec<(PathBuf, target::StarterFile)> {
    let mut out: Vec<(PathBuf, target::StarterFile)> = Vec::new();
    for (index, targets) in &plan.targets {
        let repository = session.repository_of(&session.specs[*index]);
        let root = out_dir.unwrap_or(&repository.root);
        for target in targets {
            if let Some(starter) = target.starter() {
                let destination = root.join(starter.path);
                if !out.iter().any(|(d, _)| *d == destination) {
                    out.push((destination, starter));
                }
            }
        }
    }
    out
}

/// What to tell the user after writing: starter files that exist without using coder's files
/// (the line to add), then each compiled target's notes for each workflow.
pub fn notes(session: &Session, plan: &Plan, out_dir: Option<&Path>) -> String {
    let mut out = String::new();
    for (destination, starter) in starters(session, plan, out_dir) {
        if let Ok(text) = std::fs::read_to_string(&destination)
            && !(starter.uses_coder)(&text)
        {
            out.push_str(&format!(
                "\n{} is yours and coder leaves it as it is; add this line to run coder's pipelines:\n  {}\n",
                display_path(&destination, &session.cwd),
                starter.hint
            ));
        }
    }
    for target in target::TARGETS {
        let mut compiled: Vec<(&Workflow, &crate::workspace::Repository)> = Vec::new();
        for (index, targets) in &plan.targets {
            let spec = &session.specs[*index];
            if let (true, Some(workflow)) = (targets.contains(target), spec.workflow()) {
                let repository = session.repository_of(spec);
                out.push_str(&target.notes(workflow, &repository.config));
                compiled.push((workflow, repository));
            }
        }
        out.push_str(&forge_notes(*target, &compiled));
    }
    out
}

/// Once per forge target a compile wrote files for: a warning when the repository's git
/// remote is on another forge (the files would never run, and publishing fails only at run
/// time), and the line that installs `coder-step` in every job, with the key that changes it.
fn forge_notes(
    target: &'static dyn Target,
    compiled: &[(&Workflow, &crate::workspace::Repository)],
) -> String {
    let Some(&(_, repository)) = compiled.first() else {
        return String::new();
    };
    let Some(provider) = target.provider() else {
        return String::new();
    };
    let forge = |p: Provider| match p {
        Provider::Github => "GitHub",
        Provider::Gitlab => "GitLab",
    };
    let mut out = String::new();
    let mut mismatched: Vec<&str> = Vec::new();
    let mut remote_forge = None;
    for (workflow, repository) in compiled {
        if let Some(remote) = &repository.git.remote
            && let Some(hosted) = remote.provider
            && hosted != provider
        {
            mismatched.push(&workflow.workflow_id);
            remote_forge = Some((hosted, format!("{}/{}", remote.owner, remote.repo)));
        }
    }
    if let Some((hosted, name)) = remote_forge {
        out.push_str(&format!(
            "\nwarning: compiled {} for {} ({}), but the git remote `origin` is on {} ({name}): {} runs none of it there, and its publish step would fail at run time; compile with `--target {}` instead\n",
            mismatched
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", "),
            forge(provider),
            target.name(),
            forge(hosted),
            forge(hosted),
            hosted.as_str(),
        ));
    }
    let (key, configured) = match provider {
        Provider::Github => ("[github] install", &repository.config.github.install),
        Provider::Gitlab => ("[gitlab] install", &repository.config.gitlab.install),
    };
    match configured {
        Some(line) => out.push_str(&format!(
            "\n{} jobs install coder-step with `{key}` from the configuration: {}\n",
            forge(provider),
            line.lines().next().unwrap_or_default(),
        )),
        None => out.push_str(&format!(
            "\n{} jobs install coder-step {}\nTo install it another way (a git URL, a runner image that has it), set `{key}` in .coder/config.toml\n",
            forge(provider),
            target::install::describe(),
        )),
    }
    out
}

/// `coder check`'s view of drift: for every target that has generated files for a workflow,
/// a diagnostic per existing file that no longer matches.
pub(super) fn report_drift(session: &mut Session) {
    let mut found: Vec<(usize, String, String)> = Vec::new();
    for (index, spec) in session.specs.iter().enumerate() {
        let Some(workflow) = spec.workflow() else {
            continue;
        };
        let repository = session.repository_of(spec);
        // Only targets with a file on disk: checking stays instant for specs never compiled.
        // A workflow's own targets count any file at their paths; others need coder's header.
        let exists = |t: &&'static dyn Target| {
            t.paths(&workflow.workflow_id)
                .iter()
                .any(|path| repository.root.join(path).exists())
        };
        let mut targets: Vec<&'static dyn Target> = spec
            .checked
            .targets
            .iter()
            .copied()
            .filter(exists)
            .collect();
        targets.extend(present_targets(
            workflow,
            &repository.root,
            &spec.checked.targets,
        ));
        for target in targets {
            let limits = target.limits(workflow, &repository.config);
            let files = target.emit(workflow, &repository.config);
            for file in files {
                let planned = Planned {
                    spec: index,
                    target,
                    destination: repository.root.join(&file.path),
                    file,
                };
                let reason = match compare(&planned) {
                    Ok(Drift::Missing) | Err(_) => continue,
                    Ok(_) if target::cannot_express(&limits) => Some(format!(
                        "stale: {} can no longer express this workflow (`coder compile --target {}` says why)",
                        target.name(),
                        target.name()
                    )),
                    Ok(drift) => describe(&drift),
                };
                if let Some(reason) = reason {
                    found.push((index, planned.file.path, reason));
                }
            }
        }
    }
    for (index, path, reason) in found {
        let checked = &mut session.specs[index].checked;
        let Some(workflow) = &checked.workflow else {
            continue;
        };
        let span = workflow.id_origin.unwrap_or(workflow.name_origin).span;
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
