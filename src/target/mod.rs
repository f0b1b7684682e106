//! Target phase: a CI system coder compiles workflows into. Each target is one [`Target`]
//! (its folder under `src/target/`) registered with one line in [`TARGETS`]: its name, where
//! its files go, what it cannot express (diagnostics on the IR that point into the spec), its
//! emitter and what to tell the user after writing. Targets read the IR only, never the spec,
//! and never import the runner: what `coder-step` needs is in its command line.

pub mod github;
pub mod gitlab;
pub mod install;
pub mod output;
pub mod systemd;

use crate::diag::{Code, Diagnostic};
use crate::ir::Workflow;
use crate::model::Provider;
use crate::workspace::Config;

/// Every target coder compiles to. Adding one is its folder plus one line here.
pub static TARGETS: &[&dyn Target] = &[&github::Github, &gitlab::Gitlab, &systemd::Systemd];

/// What a target is. Limits and emit see the same lowered workflow, so a workflow `limits`
/// finds no error in always emits.
pub trait Target: Sync {
    /// The name `--target` and the configuration's `targets` use.
    fn name(&self) -> &'static str;

    /// The forge whose repositories compile to this target when nothing else is asked.
    fn provider(&self) -> Option<Provider> {
        None
    }

    /// Where a workflow's generated files may be, relative to the repository root: known
    /// before emitting, so drift checks skip workflows never compiled for this target.
    fn paths(&self, workflow_id: &str) -> Vec<String>;

    /// What this target cannot express in `workflow`, at the spec's nodes (`C04xx`). An error
    /// means the target cannot be compiled for; warnings are approximations.
    fn limits(&self, workflow: &Workflow, config: &Config) -> Vec<Diagnostic>;

    /// The files of one workflow, each starting with [`output::header`].
    fn emit(&self, workflow: &Workflow, config: &Config) -> Vec<GeneratedFile>;

    /// What to do before the workflow's first run (environments, units to install,
    /// schedules), after its files are written; empty when nothing.
    fn notes(&self, _workflow: &Workflow, _config: &Config) -> String {
        String::new()
    }

    /// A file the repository needs once for this target and that is the user's from then on.
    fn starter(&self) -> Option<StarterFile> {
        None
    }
}

/// A file `coder compile` creates when it is missing and never rewrites (nor checks for
/// drift): GitLab's root `.gitlab-ci.yml`.
pub struct StarterFile {
    pub path: &'static str,
    pub contents: String,
    /// Whether the user's existing file already uses coder's files.
    pub uses_coder: fn(&str) -> bool,
    /// The line to add when it does not.
    pub hint: String,
}

impl std::fmt::Debug for dyn Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn Target {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The target named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Target> {
    TARGETS.iter().copied().find(|t| t.name() == name)
}

/// The names of every target, in registration order.
pub fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|t| t.name()).collect()
}

/// The target a provider's repositories compile to by default.
pub fn for_provider(provider: Provider) -> Option<&'static dyn Target> {
    TARGETS
        .iter()
        .copied()
        .find(|t| t.provider() == Some(provider))
}

/// Whether any of `diagnostics` is an error: the target cannot express the workflow.
pub fn cannot_express(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// A limit of a target the configuration added, for a workflow that target cannot express:
/// the same place and help, as a warning that the target is skipped.
pub fn skipped(target: &dyn Target, limit: Diagnostic) -> Diagnostic {
    Diagnostic {
        code: Code::TargetSkipped,
        message: format!(
            "not compiled for {} (added by the configuration's `targets`): {}",
            target.name(),
            limit.message
        ),
        ..limit
    }
}

/// A file a target emits, its path relative to the output folder (the repository root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}
