//! The spec's file name: from the portable set, since it reaches every generated file's
//! header, `coder-step` command lines and URLs.

use super::CheckCx;
use crate::diag::{Code, Diagnostic};

/// POSIX's portable filename character set (`A-Z a-z 0-9 . _ -`), not starting with `-`
/// (an option to every tool that is handed the path).
pub fn is_portable(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub fn check(cx: &mut CheckCx<'_>) {
    if is_portable(cx.file_name) {
        return;
    }
    let bad: String = cx
        .file_name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .take(3)
        .map(|c| format!("`{}`", c.escape_default()))
        .collect::<Vec<_>>()
        .join(", ");
    let what = if bad.is_empty() {
        "starts with `-`".to_string()
    } else {
        format!("holds {bad}")
    };
    cx.report(
        Diagnostic::new(
            Code::UnsafeFileName,
            format!(
                "spec file name `{}` {what}",
                cx.file_name.escape_default()
            ),
        )
        .help(
            "rename the file with letters, digits, `.`, `_` and `-` only: its name is written into every generated file and command line",
        ),
    );
}
