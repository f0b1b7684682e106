//! The pipeline in one place: load → parse → convert → check, per file, then the checks that
//! span files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::check::{self, CheckCx};
use crate::diag::{Code, Diagnostic, FileReport, SourceFile, Span};
use crate::model::Provider;
use crate::model::{self, Spec};
use crate::parse::{self, SpecFormat};
use crate::target::{self, Target};
use crate::workspace::Config;

/// What checking needs besides the spec: configuration and the targets to check for.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub config: Config,
    /// Targets named with `--target`; when empty, the spec's provider selects one.
    pub targets: Vec<Target>,
    /// The provider the git remote names, for specs that set none.
    pub remote_provider: Option<Provider>,
}

impl Settings {
    fn targets_for(&self, spec: &Spec) -> Vec<Target> {
        if !self.targets.is_empty() {
            return self.targets.clone();
        }
        let provider = spec
            .project
            .as_ref()
            .and_then(|p| p.value.provider.as_ref())
            .map(|p| p.value)
            .or(self.remote_provider);
        provider.map(Target::for_provider).into_iter().collect()
    }
}

/// The targets the configuration adds are checked too, but a workflow such a target cannot
/// express is skipped by `coder compile` rather than failed: its diagnostics count only when
/// none is an error (a schedule's warnings, say).
fn check_config_targets(cx: &mut CheckCx<'_>, settings: &Settings, spec: &Spec) {
    if !settings.targets.is_empty() {
        return;
    }
    let selected = settings.targets_for(spec);
    for &added in &settings.config.targets {
        if selected.contains(&added) {
            continue;
        }
        let mut found = Vec::new();
        let mut scratch = CheckCx {
            file: cx.file,
            tree: cx.tree,
            spec: cx.spec,
            config: cx.config,
            file_stem: cx.file_stem,
            diags: &mut found,
        };
        target::check(&mut scratch, added);
        if found
            .iter()
            .all(|d| d.severity() == crate::diag::Severity::Warning)
        {
            for diag in found {
                cx.report(diag);
            }
        }
    }
}

/// A spec file to check: where it is, and how to name it in diagnostics.
#[derive(Clone, Debug)]
pub struct SpecInput {
    pub path: PathBuf,
    pub display: String,
}

/// One file after checking.
#[derive(Debug)]
pub struct CheckedFile {
    pub report: FileReport,
    /// The spec, when the file converted into one (it may still have errors).
    pub spec: Option<Spec>,
    /// `sha256:<hex>` of the bytes checked: what generated files record and `coder-step`
    /// verifies.
    pub source_hash: String,
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
}

fn file_stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("")
}

/// Check one spec's bytes.
pub fn check_bytes(input: &SpecInput, bytes: Vec<u8>, settings: &Settings) -> CheckedFile {
    let format = SpecFormat::from_path(&input.path).unwrap_or(SpecFormat::Yaml);
    let source_hash = crate::ir::source_hash(&bytes);
    let file = match parse::load_text(&input.display, bytes) {
        Ok(file) => file,
        Err(failure) => {
            let (file, diag) = *failure;
            return failed(file, diag, source_hash);
        }
    };
    let tree = match parse::parse_document(&file, format) {
        Ok(tree) => tree,
        Err(diag) => return failed(file, diag, source_hash),
    };
    let mut diags = Vec::new();
    let spec = model::convert(&tree, &mut diags);
    if let Some(spec) = &spec {
        let mut cx = CheckCx {
            file: &file,
            tree: &tree,
            spec,
            config: &settings.config,
            file_stem: file_stem(&input.path),
            diags: &mut diags,
        };
        check::run_all(&mut cx);
        for target in settings.targets_for(spec) {
            target::check(&mut cx, target);
        }
        check_config_targets(&mut cx, settings, spec);
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
    }
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
                let report = &mut checked[index].report;
                report.diagnostics.push(diag);
                report.sort();
            }
        }
    }
}
