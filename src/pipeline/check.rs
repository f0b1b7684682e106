//! One spec, front to back: load → parse → convert → checks → lower → each target's limits;
//! then many specs (in parallel) and the checks that span files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::check::{self, CheckCx};
use crate::diag::{Code, Diagnostic, FileReport, SourceFile, Span};
use crate::ir::{self, Workflow};
use crate::model::{self, Spec};
use crate::parse::{self, SpecFormat};
use crate::target::{self, Target};
use crate::workspace::git::GitInfo;
use crate::workspace::{Config, SpecInput, display_path};

/// What checking a spec needs besides its bytes: the repository around it and the targets
/// asked for.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub config: Config,
    /// Targets named with `--target`; when empty, the spec's provider selects one and the
    /// configuration's `targets` add theirs.
    pub targets: Vec<&'static dyn Target>,
    /// The git facts of the repository: the remote's provider for specs that name none, the
    /// default branch.
    pub git: GitInfo,
    /// The repository root and the working directory: a spec's path in generated files is
    /// relative to the root. Empty: the path as given.
    pub root: PathBuf,
    pub cwd: PathBuf,
}

impl Settings {
    /// The targets a spec is checked and compiled for: those asked, else its provider's (the
    /// spec's `project.provider`, or the git remote's).
    fn selected(&self, spec: &Spec) -> Vec<&'static dyn Target> {
        if !self.targets.is_empty() {
            return self.targets.clone();
        }
        let provider = spec
            .project
            .as_ref()
            .and_then(|p| p.value.provider.as_ref())
            .map(|p| p.value)
            .or_else(|| self.git.remote.as_ref().and_then(|r| r.provider));
        provider
            .and_then(target::for_provider)
            .into_iter()
            .collect()
    }

    /// The targets the configuration adds (none when targets are asked for).
    fn added(&self) -> impl Iterator<Item = &'static dyn Target> + '_ {
        self.config
            .targets
            .iter()
            .filter(|_| self.targets.is_empty())
            .filter_map(|name| target::by_name(name.get_ref()))
    }
}

/// One spec after checking.
#[derive(Debug)]
pub struct CheckedFile {
    pub report: FileReport,
    /// The spec, when the file converted into one (it may still have errors).
    pub spec: Option<Spec>,
    /// `sha256:<hex>` of the bytes checked: what generated files record and `coder-step`
    /// verifies.
    pub source_hash: String,
    /// The spec lowered, when it has no errors.
    pub workflow: Option<Workflow>,
    /// The targets the workflow compiles to unless others are asked for: its provider's (or
    /// those asked), and those the configuration adds that can express it.
    pub targets: Vec<&'static dyn Target>,
}

impl CheckedFile {
    /// The workflow id: `workflow_id`, else the file stem; and its span if written out.
    pub fn workflow_id(&self, input: &SpecInput) -> Option<(String, Option<Span>)> {
        let spec = self.spec.as_ref()?;
        match &spec.workflow_id {
            Some(id) => Some((id.value.clone(), Some(id.span))),
            None => Some((file_stem(&input.path).to_string(), None)),
        }
    }

    fn failed(source: SourceFile, diag: Diagnostic, source_hash: String) -> CheckedFile {
        CheckedFile {
            report: FileReport {
                source,
                diagnostics: vec![diag],
            },
            spec: None,
            source_hash,
            workflow: None,
            targets: Vec::new(),
        }
    }
}

fn file_stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("")
}

/// Check one spec's bytes: every diagnostic of the file, and the lowered workflow when there
/// are no errors.
pub fn check_bytes(input: &SpecInput, bytes: Vec<u8>, settings: &Settings) -> CheckedFile {
    let format = SpecFormat::from_path(&input.path).unwrap_or(SpecFormat::Yaml);
    let source_hash = ir::source_hash(&bytes);
    let file = match parse::load_text(&input.display, bytes) {
        Ok(file) => file,
        Err(failure) => {
            let (file, diag) = *failure;
            return CheckedFile::failed(file, diag, source_hash);
        }
    };
    let tree = match parse::parse_document(&file, format) {
        Ok(tree) => tree,
        Err(diag) => return CheckedFile::failed(file, diag, source_hash),
    };
    let mut diags = Vec::new();
    let spec = model::convert(&tree, &mut diags);
    let (mut workflow, mut targets) = (None, Vec::new());
    let file_name = input
        .path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if let Some(spec) = &spec {
        check::run_all(&mut CheckCx {
            file: &file,
            tree: &tree,
            spec,
            config: &settings.config,
            file_stem: file_stem(&input.path),
            file_name: &file_name,
            diags: &mut diags,
        });
        if !diags.iter().any(Diagnostic::is_error) {
            let lowered = lower(input, &file, &source_hash, spec, settings);
            diags.extend(many_jobs(&lowered));
            targets = check_targets(&lowered, settings, spec, &mut diags);
            if targets.is_empty() {
                diags.extend(no_target(settings));
            }
            workflow = Some(lowered);
        }
    }
    let mut report = FileReport {
        source: file,
        diagnostics: diags,
    };
    report.sort();
    CheckedFile {
        report,
        spec,
        source_hash,
        workflow,
        targets,
    }
}

fn lower(
    input: &SpecInput,
    file: &SourceFile,
    source_hash: &str,
    spec: &Spec,
    settings: &Settings,
) -> Workflow {
    // Repo-relative, whatever the working directory: generated files and `coder-step` name
    // the spec this way.
    let source = display_path(&settings.cwd.join(&input.path), &settings.root);
    ir::lower(
        spec,
        &ir::LowerContext {
            file,
            source_hash,
            source: &source,
            file_stem: file_stem(&input.path),
            git: &settings.git,
        },
    )
}

/// A spec checked for no target because its repository's remote is on a host coder does
/// not know: say so, or `coder check` passes having checked none of the target's limits.
fn no_target(settings: &Settings) -> Option<Diagnostic> {
    let remote = settings.git.remote.as_ref()?;
    if remote.provider.is_some() {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::NoTarget,
            format!(
                "no target was checked: the git remote's host `{}` is not a known GitHub or GitLab host",
                remote.host
            ),
        )
        .help(format!(
            "name it in `.coder/config.toml`: `[hosts]` then `\"{}\" = \"gitlab\"` (or \"github\"); or set `project.provider`, or pass `--target`",
            remote.host
        )),
    )
}

/// More jobs than this is a warning (C0303); see its explanation for why 50.
pub const MAX_SANE_JOBS: usize = 50;

/// A workflow cut into more than [`MAX_SANE_JOBS`] jobs, at the first step past the limit.
fn many_jobs(workflow: &Workflow) -> Option<Diagnostic> {
    let past = workflow.jobs.get(MAX_SANE_JOBS)?;
    let mut diag = Diagnostic::new(
        Code::ManyJobs,
        format!(
            "the workflow compiles to {} jobs; past {MAX_SANE_JOBS} the generated CI is too large to review",
            workflow.jobs.len()
        ),
    )
    .help("gate fewer steps, or split the workflow into several specs");
    if let Some(step) = past.steps.first() {
        diag = diag.at(
            step.origin.span,
            format!("job {} starts here", MAX_SANE_JOBS + 1),
        );
    }
    Some(diag)
}

/// Each target's limits on the lowered workflow. A selected target reports them as they are;
/// one the configuration adds is skipped for a workflow it cannot express (a warning at the
/// offending line), else its warnings count too. Returns the targets the workflow compiles to.
fn check_targets(
    workflow: &Workflow,
    settings: &Settings,
    spec: &Spec,
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'static dyn Target> {
    let mut targets = settings.selected(spec);
    for selected in &targets {
        diags.extend(selected.limits(workflow, &settings.config));
    }
    for added in settings.added() {
        if targets.contains(&added) {
            continue;
        }
        let limits = added.limits(workflow, &settings.config);
        if target::cannot_express(&limits) {
            let errors = limits.into_iter().filter(Diagnostic::is_error);
            diags.extend(errors.map(|limit| target::skipped(added, limit)));
        } else {
            diags.extend(limits);
            targets.push(added);
        }
    }
    targets
}

/// A file that could not be read: a usage or I/O error (exit 2), not a diagnostic.
#[derive(Debug)]
pub struct ReadError {
    pub path: String,
    pub error: std::io::Error,
}

/// Check every input, in parallel, then across files. Results keep the input order.
pub fn check_inputs(
    inputs: &[SpecInput],
    settings: &Settings,
) -> Result<Vec<CheckedFile>, ReadError> {
    // Below this many files a second thread costs more than it saves (and asking the
    // cgroup how many cores there are costs time too).
    const FILES_PER_THREAD: usize = 16;
    let threads = if inputs.len() <= FILES_PER_THREAD {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(inputs.len().div_ceil(FILES_PER_THREAD))
    };
    if threads == 1 {
        let mut checked = check_chunk(inputs, settings)?;
        report_duplicate_workflow_ids(inputs, &mut checked);
        return Ok(checked);
    }
    let chunk = inputs.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<CheckedFile>, ReadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| scope.spawn(move || check_chunk(part, settings)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ReadError {
                        path: String::new(),
                        error: std::io::Error::other("a checker thread panicked"),
                    })
                })
            })
            .collect()
    });
    let mut checked = Vec::with_capacity(inputs.len());
    for part in results {
        checked.extend(part?);
    }
    report_duplicate_workflow_ids(inputs, &mut checked);
    Ok(checked)
}

fn check_chunk(inputs: &[SpecInput], settings: &Settings) -> Result<Vec<CheckedFile>, ReadError> {
    inputs
        .iter()
        .map(|input| {
            let bytes = read_limited(&input.path).map_err(|error| ReadError {
                path: input.display.clone(),
                error,
            })?;
            Ok(check_bytes(input, bytes, settings))
        })
        .collect()
}

/// Read a file, but never more than one byte past the size limit.
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(parse::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn report_duplicate_workflow_ids(inputs: &[SpecInput], checked: &mut [CheckedFile]) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for index in 0..checked.len() {
        let Some((id, span)) = checked[index].workflow_id(&inputs[index]) else {
            continue;
        };
        match first.get(&id) {
            None => {
                first.insert(id, index);
            }
            Some(&other) => {
                let mut diag = Diagnostic::new(
                    Code::DuplicateWorkflowId,
                    format!(
                        "workflow id `{id}` is also defined by `{}`",
                        inputs[other].display
                    ),
                )
                .help("both would compile to the same files; give one a different `workflow_id`");
                if let Some(span) = span {
                    diag = diag.at(span, "used by another spec");
                }
                let file = &mut checked[index];
                file.report.diagnostics.push(diag);
                file.report.sort();
                // A spec with errors is never compiled.
                file.workflow = None;
            }
        }
    }
}
