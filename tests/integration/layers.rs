//! Layers import downward only (ARCHITECTURE.md): each top-level module of `src/` may name
//! only the modules listed for it here. Unit tests (`#[cfg(test)]` blocks) may reach anywhere.

use std::path::Path;

use crate::root;

/// Each module and what it may import, lowest layer first.
const LAYERS: &[(&str, &[&str])] = &[
    ("diag", &[]),
    ("fs", &[]),
    ("parse", &["diag"]),
    ("model", &["diag", "parse"]),
    ("schedule", &["diag"]),
    ("workspace", &["diag", "model", "fs"]),
    (
        "check",
        &["diag", "parse", "model", "schedule", "workspace"],
    ),
    ("ir", &["diag", "model", "workspace"]),
    ("protocol", &["diag", "model", "ir"]),
    (
        "target",
        &[
            "diag",
            "parse",
            "model",
            "schedule",
            "workspace",
            "ir",
            "protocol",
            "fs",
        ],
    ),
    (
        "pipeline",
        &[
            "diag",
            "parse",
            "model",
            "schedule",
            "workspace",
            "check",
            "ir",
            "protocol",
            "target",
            "fs",
        ],
    ),
    ("graph", &["model", "ir"]),
    (
        "init",
        &[
            "diag",
            "parse",
            "model",
            "schedule",
            "workspace",
            "check",
            "ir",
            "protocol",
            "target",
            "fs",
            "pipeline",
        ],
    ),
    (
        "lsp",
        &[
            "diag",
            "parse",
            "model",
            "schedule",
            "workspace",
            "ir",
            "target",
            "pipeline",
        ],
    ),
    (
        "runner",
        &[
            "diag",
            "model",
            "schedule",
            "workspace",
            "ir",
            "protocol",
            "target",
            "fs",
        ],
    ),
];

/// The source of `text` outside its `#[cfg(test)]` items (a test module runs to the end of
/// the file in this codebase, or to its closing brace at column 0).
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            skipping = true;
            continue;
        }
        if skipping {
            if line == "}" {
                skipping = false;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every `crate::<module>` a file's non-test code names (`use crate::x`, `crate::x::y`,
/// `use crate::{x, y}`).
fn imported_modules(text: &str) -> Vec<String> {
    let code = without_tests(text);
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.push(name);
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn layers_import_downward_only() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|name| name.trim_end_matches(".rs").to_string())
            .unwrap_or_default();
        let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == module) else {
            continue; // `lib.rs`, `cli/` and `bin/` sit on top and may use anything.
        };
        let text = std::fs::read_to_string(&file).expect("read");
        for imported in imported_modules(&text) {
            if imported != module && !allowed.contains(&imported.as_str()) {
                violations.push(format!("{} imports crate::{imported}", relative.display()));
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "imports that point up or sideways:\n{}",
        violations.join("\n")
    );
}

#[test]
fn every_module_has_a_layer() {
    let src = root().join("src");
    let mut unknown = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        let module = name.trim_end_matches(".rs");
        if !["lib", "cli", "bin"].contains(&module) && !LAYERS.iter().any(|(m, _)| *m == module) {
            unknown.push(module.to_string());
        }
    }
    assert!(unknown.is_empty(), "modules without a layer: {unknown:?}");
}
