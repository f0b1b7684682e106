//! Check phase: semantic checks over a converted spec. Each check is one file with one `check`
//! function, listed in [`CHECKS`]; each reports every problem it finds.

mod budget;
mod conditions;
mod cron;
mod deploy;
mod events;
mod expressions;
mod file_name;
pub mod gates;
mod ids;
mod paths;
mod project;
mod secrets;

use crate::diag::{Diagnostic, SourceFile};
use crate::model::Spec;
use crate::parse::Node;
use crate::workspace::Config;

/// What every check sees.
pub struct CheckCx<'a> {
    pub file: &'a SourceFile,
    /// The parse tree, for checks over every string of the file.
    pub tree: &'a Node,
    pub spec: &'a Spec,
    pub config: &'a Config,
    /// The file name without its extension: the default `workflow_id`.
    pub file_stem: &'a str,
    /// The file name, extension included (lossy if it is not UTF-8).
    pub file_name: &'a str,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl CheckCx<'_> {
    pub fn report(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }
}

type CheckFn = fn(&mut CheckCx<'_>);

/// Every semantic check, in the order they run.
pub const CHECKS: &[CheckFn] = &[
    file_name::check,
    ids::check,
    project::check,
    cron::check,
    events::check,
    secrets::check,
    conditions::check,
    budget::check,
    paths::check,
    deploy::check,
    gates::check,
    expressions::check,
];

pub fn run_all(cx: &mut CheckCx<'_>) {
    for check in CHECKS {
        check(cx);
    }
}

/// The span inside a string value's source text of `range` (a byte range of the value).
/// Exact when the value is written out literally (plain, or quoted without escapes), or when
/// the text at `range` occurs once in the source (block scalars); else the whole value.
pub fn sub_span(
    file: &SourceFile,
    value: &crate::model::Spanned<String>,
    range: std::ops::Range<usize>,
) -> crate::diag::Span {
    let span = value.span;
    let raw = file.text.get(span.start..span.end).unwrap_or("");
    let quoted = raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')));
    let (inner, offset) = if quoted {
        (&raw[1..raw.len() - 1], 1)
    } else {
        (raw, 0)
    };
    if inner == value.value && range.end <= inner.len() {
        return span.slice(offset + range.start, range.len());
    }
    if let Some(needle) = value.value.get(range)
        && !needle.is_empty()
        && let Some(found) = raw.find(needle)
        && raw[found + needle.len()..].find(needle).is_none()
    {
        return span.slice(found, needle.len());
    }
    span
}
