//! The formats CI systems read back into their own pages: GitHub's workflow commands
//! (annotations on the pull request's diff) and GitLab's code-quality report (the Code
//! Climate JSON a merge request widget shows).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::machine::{Region, region};
use crate::diag::{Diagnostic, FileReport, Severity};

/// One `::error …::message` (or `::warning`) workflow command per diagnostic, as
/// `actions/toolkit`'s `issueCommand` writes them: properties escape `%`, CR, LF, `:` and `,`;
/// the message escapes `%`, CR and LF. The title is the code, the message ends with the help.
pub fn render_github(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        for diag in &report.diagnostics {
            let command = match diag.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let mut properties = vec![format!("file={}", property(&report.source.path))];
            if let Some(label) = &diag.primary {
                let Region {
                    line,
                    column,
                    end_line,
                    end_column,
                } = region(&report.source, Some(label));
                properties.push(format!("line={line}"));
                properties.push(format!("endLine={end_line}"));
                // GitHub draws columns only on one-line annotations.
                if line == end_line {
                    properties.push(format!("col={column}"));
                    properties.push(format!("endColumn={end_column}"));
                }
            }
            properties.push(format!("title={}", property(diag.code.as_str())));
            out.push_str(&format!(
                "::{command} {}::{}\n",
                properties.join(","),
                data(&message_with_help(diag))
            ));
        }
    }
    out
}

fn message_with_help(diag: &Diagnostic) -> String {
    match &diag.help {
        Some(help) => format!("{}\nhelp: {help}", diag.message),
        None => diag.message.clone(),
    }
}

/// A workflow command's message (`escapeData`).
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`escapeProperty`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitLab's code-quality report: a JSON array of Code Climate issues, each with a
/// fingerprint that stays the same while the problem does (GitLab compares reports between
/// the source and target branches by it), so it hashes the code, file, message and line, not
/// the column.
pub fn render_gitlab(reports: &[FileReport]) -> String {
    let mut issues = Vec::new();
    for report in reports {
        for diag in &report.diagnostics {
            let r = region(&report.source, diag.primary.as_ref());
            let info = diag.code.info();
            let mut hasher = Sha256::new();
            for part in [
                info.code,
                report.source.path.as_str(),
                diag.message.as_str(),
                &r.line.to_string(),
            ] {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
            let fingerprint: String = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let issue: Value = json!({
                "type": "issue",
                "check_name": format!("{} {}", info.code, info.name),
                "description": message_with_help(diag),
                "content": {"body": info.explanation()},
                "categories": ["Bug Risk"],
                "severity": match diag.severity() {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                },
                "fingerprint": fingerprint,
                "location": {
                    "path": report.source.path,
                    "positions": {
                        "begin": {"line": r.line, "column": r.column},
                        "end": {"line": r.end_line, "column": r.end_column},
                    },
                },
            });
            issues.push(issue);
        }
    }
    let mut text = serde_json::to_string_pretty(&Value::Array(issues)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_escape_as_the_toolkit_does() {
        assert_eq!(data("50% a\r\nb: c,d"), "50%25 a%0D%0Ab: c,d");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
