//! `policies.repo`: path patterns that parse, stay inside the repository, and mean something.

use super::CheckCx;
use crate::diag::{Code, Diagnostic};
use crate::model::Spanned;
use crate::model::path_pattern::{PathPattern, PatternError};

pub fn check(cx: &mut CheckCx<'_>) {
    let Some(repo) = &cx.spec.policies().repo else {
        return;
    };
    let allowed = patterns(cx, repo.allowed_paths.as_deref().unwrap_or(&[]));
    let blocked = patterns(cx, repo.blocked_paths.as_deref().unwrap_or(&[]));
    for (allow, allow_span) in &allowed {
        if let Some((block, block_span)) = blocked.iter().find(|(b, _)| allow.is_covered_by(b)) {
            cx.report(
                Diagnostic::new(
                    Code::PathShadowed,
                    format!(
                        "allowed path `{}` is blocked by `{}`",
                        allow.text, block.text
                    ),
                )
                .at(*allow_span, "allows nothing")
                .also(*block_span, "blocked here, and blocked paths win")
                .help("remove the allowed path, or narrow the blocked one"),
            );
        }
    }
}

fn patterns(
    cx: &mut CheckCx<'_>,
    entries: &[Spanned<String>],
) -> Vec<(PathPattern, crate::diag::Span)> {
    let mut out = Vec::new();
    for entry in entries {
        match PathPattern::parse(&entry.value) {
            Ok(pattern) => out.push((pattern, entry.span)),
            Err(PatternError::Glob(reason)) => cx.report(
                Diagnostic::new(
                    Code::InvalidPathGlob,
                    format!("invalid glob `{}`: {reason}", entry.value),
                )
                .at(entry.span, "not a valid glob")
                .help("`*` matches within a directory, `**` across directories; close every `[` and `{`"),
            ),
            Err(error) => {
                let (message, help) = match error {
                    PatternError::Absolute => (
                        "is absolute",
                        "write the path relative to the repository root, e.g. `src/`",
                    ),
                    PatternError::ParentDir => (
                        "leaves the repository with `..`",
                        "policies cover the repository only; remove `..`",
                    ),
                    _ => ("is empty", "remove the entry, or write a path such as `docs/`"),
                };
                cx.report(
                    Diagnostic::new(
                        Code::PathOutsideRepo,
                        format!("path `{}` {message}", entry.value),
                    )
                    .at(entry.span, "not a repo-relative path")
                    .help(help),
                );
            }
        }
    }
    out
}
