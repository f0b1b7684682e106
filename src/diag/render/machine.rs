//! Machine-readable formats. Lines and columns are 1-based, columns counted in characters;
//! end columns are exclusive (the column after the last character), as in rustc and SARIF.

use serde_json::{Value, json};

use crate::diag::{Code, Diagnostic, FileReport, Label, SourceFile};

/// `file:line:col: severity[code]: message`, one line per diagnostic.
pub fn render_short(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        for diag in &report.diagnostics {
            let (line, column) = diag.primary.as_ref().map_or((1, 1), |l| {
                let lc = report.source.line_col(l.span.start);
                (lc.line, lc.column)
            });
            out.push_str(&format!(
                "{}:{line}:{column}: {}[{}]: {}\n",
                report.source.path,
                diag.severity().as_str(),
                diag.code,
                diag.message
            ));
        }
    }
    out
}

pub(super) struct Region {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub(super) fn region(source: &SourceFile, label: Option<&Label>) -> Region {
    match label {
        None => Region {
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
        },
        Some(label) => {
            let start = source.line_col(label.span.start);
            let end = source.line_col(label.span.end);
            Region {
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
            }
        }
    }
}

/// The documented `--format json` object.
pub fn render_json(reports: &[FileReport]) -> String {
    let mut diagnostics = Vec::new();
    for report in reports {
        for diag in &report.diagnostics {
            let r = region(&report.source, diag.primary.as_ref());
            let labels: Vec<Value> = diag
                .primary
                .iter()
                .map(|l| (l, true))
                .chain(diag.secondary.iter().map(|l| (l, false)))
                .map(|(label, primary)| {
                    let r = region(&report.source, Some(label));
                    json!({
                        "message": label.message,
                        "primary": primary,
                        "line": r.line, "column": r.column,
                        "end_line": r.end_line, "end_column": r.end_column,
                    })
                })
                .collect();
            let info = diag.code.info();
            diagnostics.push(json!({
                "code": info.code,
                "name": info.name,
                "severity": diag.severity(),
                "message": diag.message,
                "file": report.source.path,
                "line": r.line, "column": r.column,
                "end_line": r.end_line, "end_column": r.end_column,
                "labels": labels,
                "help": diag.help,
            }));
        }
    }
    let errors: usize = reports.iter().map(FileReport::errors).sum();
    let warnings: usize = reports.iter().map(FileReport::warnings).sum();
    let doc = json!({ "diagnostics": diagnostics, "errors": errors, "warnings": warnings });
    format!("{doc}\n")
}

/// One rustc-shaped JSON diagnostic per line, as rust-analyzer and cargo tooling read them.
/// `rendered` holds each diagnostic's human rendering.
pub fn render_rustc_json(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        for diag in &report.diagnostics {
            let single = FileReport {
                source: report.source.clone(),
                diagnostics: vec![diag.clone()],
            };
            let rendered = super::render_human(
                std::slice::from_ref(&single),
                super::HumanOptions {
                    color: false,
                    width: 100,
                },
            );
            let spans: Vec<Value> = diag
                .primary
                .iter()
                .map(|l| (l, true))
                .chain(diag.secondary.iter().map(|l| (l, false)))
                .map(|(label, primary)| rustc_span(&report.source, label, primary))
                .collect();
            let children: Vec<Value> = diag
                .help
                .iter()
                .map(|help| {
                    json!({"message": help, "code": null, "level": "help", "spans": [], "children": [], "rendered": null})
                })
                .collect();
            let line = json!({
                "$message_type": "diagnostic",
                "message": diag.message,
                "code": {"code": format!("coder::{}", diag.code), "explanation": diag.code.info().explanation()},
                "level": diag.severity().as_str(),
                "spans": spans,
                "children": children,
                "rendered": rendered,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    out
}

fn rustc_span(source: &SourceFile, label: &Label, primary: bool) -> Value {
    let r = region(source, Some(label));
    let text: Vec<Value> = (r.line..=r.end_line)
        .map(|line| {
            let text = source.line_text(line);
            let start = if line == r.line { r.column } else { 1 };
            let end = if line == r.end_line {
                r.end_column
            } else {
                text.chars().count() + 1
            };
            json!({"text": text, "highlight_start": start, "highlight_end": end})
        })
        .collect();
    json!({
        "file_name": source.path,
        "byte_start": label.span.start, "byte_end": label.span.end,
        "line_start": r.line, "line_end": r.end_line,
        "column_start": r.column, "column_end": r.end_column,
        "is_primary": primary,
        "label": label.message,
        "text": text,
        "suggested_replacement": null, "suggestion_applicability": null, "expansion": null,
    })
}

/// The base relative artifact URIs resolve against (SARIF §3.14.14): the directory paths are
/// shown from, so a dashboard can map results onto its checkout.
const SRCROOT: &str = "%SRCROOT%";

/// A SARIF 2.1.0 log with one run; every code is a rule. `src_root`, the absolute directory
/// relative paths start from, becomes `%SRCROOT%` in `originalUriBaseIds`.
pub fn render_sarif(reports: &[FileReport], src_root: Option<&str>) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|code| {
            let info = code.info();
            json!({
                "id": info.code,
                "name": info.name,
                "shortDescription": {"text": info.summary},
                "fullDescription": {"text": info.summary},
                "help": {"text": info.explanation(), "markdown": info.explanation()},
                "defaultConfiguration": {"level": info.severity.as_str()},
            })
        })
        .collect();
    let mut results = Vec::new();
    for report in reports {
        for diag in &report.diagnostics {
            results.push(sarif_result(report, diag));
        }
    }
    let mut doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "coder",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://crates.io/crates/coder-workflows",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    if let Some(root) = src_root.filter(|r| r.starts_with('/')) {
        let mut uri = file_uri(root);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        doc["runs"][0]["originalUriBaseIds"] = json!({ SRCROOT: {"uri": uri} });
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn sarif_result(report: &FileReport, diag: &Diagnostic) -> Value {
    let index = Code::ALL.iter().position(|c| *c == diag.code).unwrap_or(0);
    let mut message = diag.message.clone();
    if let Some(help) = &diag.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let location = |label: Option<&Label>| {
        let r = region(&report.source, label);
        let mut physical = json!({
            "artifactLocation": artifact_location(&report.source.path),
            "region": {
                "startLine": r.line, "startColumn": r.column,
                "endLine": r.end_line, "endColumn": r.end_column,
            },
        });
        if label.is_none() {
            physical = json!({"artifactLocation": artifact_location(&report.source.path)});
        }
        let mut loc = json!({"physicalLocation": physical});
        if let Some(label) = label {
            loc["message"] = json!({"text": label.message});
        }
        loc
    };
    let related: Vec<Value> = diag
        .secondary
        .iter()
        .enumerate()
        .map(|(id, l)| {
            let mut loc = location(Some(l));
            loc["id"] = json!(id);
            loc
        })
        .collect();
    let mut result = json!({
        "ruleId": diag.code.as_str(),
        "ruleIndex": index,
        "level": diag.severity().as_str(),
        "message": {"text": message},
        "locations": [location(diag.primary.as_ref())],
    });
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    result
}

/// A relative path resolves against `%SRCROOT%`; an absolute one stands alone.
fn artifact_location(path: &str) -> Value {
    let uri = file_uri(path);
    if path.starts_with('/') {
        json!({"uri": uri})
    } else {
        json!({"uri": uri, "uriBaseId": SRCROOT})
    }
}

/// A path as a SARIF URI reference: relative paths stay relative, absolute ones become
/// `file://` URIs; characters URIs reserve are percent-encoded.
fn file_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sarif_uris_are_encoded() {
        assert_eq!(
            super::file_uri("sp ace/my spec#1%.yml"),
            "sp%20ace/my%20spec%231%25.yml"
        );
        assert_eq!(super::file_uri("/work/a.yml"), "file:///work/a.yml");
        assert_eq!(super::file_uri("é.yml"), "%C3%A9.yml");
    }
}
