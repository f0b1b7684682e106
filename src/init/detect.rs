//! What a repository is, read from its files (no process, no network): its build system and
//! the commands it already uses, its CI, its forge and whether it releases.

use std::path::Path;

use serde::Serialize;

use crate::model::Provider;
use crate::workspace::git;

/// Everything `coder init` knows about a repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Facts {
    /// What was found, for people: `Cargo workspace (Cargo.lock, nextest)`.
    pub stacks: Vec<String>,
    /// Commands that prepare a fresh checkout (install dependencies), in order.
    pub setup: Vec<String>,
    pub build: Option<String>,
    /// The build a release ships, when it differs from `build` (`cargo build --release`).
    pub release_build: Option<String>,
    pub test: Option<String>,
    /// A dependency audit the package manager has built in (`npm audit`).
    pub audit: Option<String>,
    /// Manifests and lock files: what a dependency bump may change.
    pub manifests: Vec<String>,
    /// Files holding the project's version.
    pub version_files: Vec<String>,
    pub changelog: Option<String>,
    /// Tags in the repository.
    pub tags: usize,
    /// Tools the job needs that a stock CI runner lacks, with how to install them.
    pub toolchain_setup: Vec<String>,
    /// Tools the job needs that init has no clean way to install (the user's to provide).
    pub missing_tools: Vec<String>,
    /// Commands the repository's existing CI runs (coder's own generated files left out).
    pub ci_commands: Vec<String>,
    /// Existing CI files, repo-relative.
    pub ci_files: Vec<String>,
    pub provider: Option<Provider>,
    /// Whether `provider` is the git remote's (else the existing CI files').
    pub remote: bool,
    pub default_branch: String,
}

impl Facts {
    /// Whether the repository ships releases: it has tags or keeps a changelog.
    pub fn releases(&self) -> bool {
        self.tags > 0 || self.changelog.is_some()
    }

    /// Whether anything buildable was recognized.
    pub fn known(&self) -> bool {
        self.test.is_some() || self.build.is_some()
    }
}

fn read(root: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(root.join(name)).ok()
}

fn exists(root: &Path, name: &str) -> bool {
    root.join(name).exists()
}

/// Read the repository at `root`.
pub fn detect(root: &Path) -> Facts {
    let info = git::read(root);
    let mut facts = Facts {
        provider: info.remote.as_ref().and_then(|r| r.provider),
        remote: info.remote.as_ref().is_some_and(|r| r.provider.is_some()),
        default_branch: info.default_branch.clone(),
        tags: count_tags(root),
        changelog: ["CHANGELOG.md", "CHANGELOG", "CHANGES.md", "HISTORY.md"]
            .iter()
            .find(|name| exists(root, name))
            .map(|name| name.to_string()),
        ..Facts::default()
    };
    let tasks = Tasks::read(root);
    cargo(root, &mut facts);
    node(root, &mut facts);
    python(root, &mut facts);
    go(root, &mut facts);
    // A Makefile's or justfile's own `build`/`test` is what the team runs: it wins over the
    // ecosystem's default command.
    if let Some(runner) = tasks.runner() {
        facts
            .stacks
            .push(format!("{} ({})", runner.0, runner.1.join(", ")));
        for (target, slot) in [("build", &mut facts.build), ("test", &mut facts.test)] {
            if runner.1.iter().any(|t| t == target) {
                *slot = Some(format!("{} {target}", runner.2));
            }
        }
        // The team's own build is the one to ship.
        if runner.1.iter().any(|t| t == "build") {
            facts.release_build = None;
        }
    }
    existing_ci(root, &mut facts);
    if facts.test.is_none() {
        // Nothing recognized, but the CI runs a test command: that one is the repository's.
        facts.test = facts
            .ci_commands
            .iter()
            // A line using the CI's own expressions runs nowhere else.
            .filter(|c| !c.contains("${{") && !c.contains("$CI_"))
            .find(|c| c.split_whitespace().any(|w| w == "test" || w == "pytest"))
            .cloned();
    }
    if facts.provider.is_none() {
        facts.provider = facts.ci_files.iter().find_map(|f| {
            if f.starts_with(".github/") {
                Some(Provider::Github)
            } else if f.starts_with(".gitlab") {
                Some(Provider::Gitlab)
            } else {
                None
            }
        });
    }
    facts
}

/// Tags: loose refs under `refs/tags` plus packed ones.
fn count_tags(root: &Path) -> usize {
    let Some(dir) = git::common_dir(root) else {
        return 0;
    };
    let loose = std::fs::read_dir(dir.join("refs/tags"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    let packed = std::fs::read_to_string(dir.join("packed-refs"))
        .map(|text| {
            text.lines()
                .filter(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .is_some_and(|r| r.starts_with("refs/tags/"))
                })
                .count()
        })
        .unwrap_or(0);
    loose + packed
}

fn cargo(root: &Path, facts: &mut Facts) {
    let Some(text) = read(root, "Cargo.toml") else {
        return;
    };
    let Ok(manifest) = toml::from_str::<toml::Table>(&text) else {
        return;
    };
    let workspace = manifest.get("workspace").is_some();
    let lock = exists(root, "Cargo.lock");
    let nextest = exists(root, ".config/nextest.toml");
    let mut notes = Vec::new();
    if lock {
        notes.push("Cargo.lock");
    }
    if nextest {
        notes.push("nextest");
    }
    let kind = if workspace { "workspace" } else { "package" };
    facts
        .stacks
        .push(with_notes(&format!("Cargo {kind}"), &notes));
    let locked = if lock { " --locked" } else { "" };
    let all = if workspace { " --workspace" } else { "" };
    facts.build = Some(format!("cargo build{all}{locked}"));
    facts.release_build = Some(format!("cargo build --release{all}{locked}"));
    facts.test = Some(if nextest {
        facts
            .toolchain_setup
            .push("cargo install --locked cargo-nextest".to_string());
        format!("cargo nextest run{all}{locked}")
    } else {
        format!("cargo test{all}{locked}")
    });
    facts.manifests.push(if workspace {
        "**/Cargo.toml".to_string()
    } else {
        "Cargo.toml".to_string()
    });
    if lock {
        facts.manifests.push("Cargo.lock".to_string());
    }
    let version = |table: Option<&toml::Value>| {
        table
            .and_then(|t| t.get("version"))
            .is_some_and(toml::Value::is_str)
    };
    if version(manifest.get("package"))
        || version(manifest.get("workspace").and_then(|w| w.get("package")))
    {
        facts.version_files.push("Cargo.toml".to_string());
        if lock {
            facts.version_files.push("Cargo.lock".to_string());
        }
    }
}

/// A Node package manager: its name, lock file, install and script-run commands.
struct NodeManager {
    name: &'static str,
    lock: &'static str,
    install: &'static str,
    run: &'static str,
    audit: Option<&'static str>,
    setup: Option<&'static str>,
    /// Not on stock runners, and no install command init should write.
    missing: bool,
}

const NODE_MANAGERS: &[NodeManager] = &[
    NodeManager {
        name: "pnpm",
        lock: "pnpm-lock.yaml",
        install: "pnpm install --frozen-lockfile",
        run: "pnpm run",
        audit: Some("pnpm audit"),
        setup: Some("corepack enable"),
        missing: false,
    },
    NodeManager {
        name: "yarn",
        lock: "yarn.lock",
        install: "yarn install --frozen-lockfile",
        run: "yarn run",
        audit: None,
        setup: Some("corepack enable"),
        missing: false,
    },
    NodeManager {
        name: "bun",
        lock: "bun.lock",
        install: "bun install --frozen-lockfile",
        run: "bun run",
        audit: None,
        // `npm install --global bun` is an ad-hoc install zizmor flags (adhoc-packages).
        setup: None,
        missing: true,
    },
    NodeManager {
        name: "bun",
        lock: "bun.lockb",
        install: "bun install --frozen-lockfile",
        run: "bun run",
        audit: None,
        // `npm install --global bun` is an ad-hoc install zizmor flags (adhoc-packages).
        setup: None,
        missing: true,
    },
    NodeManager {
        name: "npm",
        lock: "package-lock.json",
        install: "npm ci",
        run: "npm run",
        audit: Some("npm audit --audit-level=high"),
        setup: None,
        missing: false,
    },
];

fn node(root: &Path, facts: &mut Facts) {
    let Some(text) = read(root, "package.json") else {
        return;
    };
    let Ok(package) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    // Yarn 2+ (a `.yarnrc.yml`) spells a frozen install `--immutable`.
    let berry = NodeManager {
        name: "yarn",
        lock: "yarn.lock",
        install: "yarn install --immutable",
        run: "yarn run",
        audit: None,
        setup: Some("corepack enable"),
        missing: false,
    };
    let manager = NODE_MANAGERS
        .iter()
        .find(|m| exists(root, m.lock))
        .map(|m| {
            if m.name == "yarn" && exists(root, ".yarnrc.yml") {
                &berry
            } else {
                m
            }
        })
        .unwrap_or(&NodeManager {
            name: "npm",
            lock: "",
            install: "npm install",
            run: "npm run",
            audit: None,
            setup: None,
            missing: false,
        });
    let scripts: Vec<String> = package
        .get("scripts")
        .and_then(serde_json::Value::as_object)
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    let mut notes = vec![manager.name.to_string()];
    if !scripts.is_empty() {
        notes.push(format!("scripts: {}", scripts.join(", ")));
    }
    let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
    facts.stacks.push(with_notes("Node", &notes));
    if let Some(setup) = manager.setup {
        facts.toolchain_setup.push(setup.to_string());
    }
    if manager.missing {
        facts.missing_tools.push(manager.name.to_string());
    }
    facts.setup.push(manager.install.to_string());
    let script = |name: &str| {
        scripts
            .iter()
            .any(|s| s == name)
            .then(|| format!("{} {name}", manager.run))
    };
    facts.build = facts.build.take().or_else(|| script("build"));
    facts.test = facts.test.take().or_else(|| script("test"));
    facts.audit = facts.audit.take().or(manager.audit.map(str::to_string));
    facts.manifests.push("package.json".to_string());
    if !manager.lock.is_empty() {
        facts.manifests.push(manager.lock.to_string());
    }
    if package
        .get("version")
        .is_some_and(serde_json::Value::is_string)
    {
        facts.version_files.push("package.json".to_string());
    }
}

fn python(root: &Path, facts: &mut Facts) {
    let pyproject =
        read(root, "pyproject.toml").and_then(|t| toml::from_str::<toml::Table>(&t).ok());
    let requirements = exists(root, "requirements.txt");
    if pyproject.is_none() && !requirements {
        return;
    }
    let table = pyproject.clone().unwrap_or_default();
    let tool = |name: &str| table.get("tool").and_then(|t| t.get(name)).is_some();
    let text = read(root, "pyproject.toml").unwrap_or_default();
    let pytest = tool("pytest")
        || exists(root, "pytest.ini")
        || exists(root, "conftest.py")
        || exists(root, "tests/conftest.py")
        || text.contains("pytest")
        || read(root, "requirements.txt").is_some_and(|t| t.contains("pytest"));
    let (manager, lock, install, run) = if exists(root, "uv.lock") || tool("uv") {
        ("uv", Some("uv.lock"), "uv sync --locked", "uv run")
    } else if exists(root, "poetry.lock") || tool("poetry") {
        (
            "poetry",
            Some("poetry.lock"),
            "poetry install",
            "poetry run",
        )
    } else if tool("hatch") {
        ("hatch", None, "", "hatch run")
    } else {
        ("pip", None, "", "python -m")
    };
    let mut notes = vec![manager];
    if pytest {
        notes.push("pytest");
    }
    facts.stacks.push(with_notes("Python", &notes));
    match manager {
        "uv" => facts
            .toolchain_setup
            .push("python -m pip install uv".to_string()),
        "poetry" => facts
            .toolchain_setup
            .push("pipx install poetry".to_string()),
        "hatch" => facts.toolchain_setup.push("pipx install hatch".to_string()),
        _ => {}
    }
    if !install.is_empty() {
        facts.setup.push(install.to_string());
    }
    if manager == "pip" {
        if requirements {
            facts
                .setup
                .push("python -m pip install -r requirements.txt".to_string());
        }
        if pyproject.is_some() {
            facts.setup.push("python -m pip install -e .".to_string());
        }
    }
    facts.test = facts.test.take().or_else(|| {
        Some(match (manager, pytest) {
            ("hatch", _) => "hatch test".to_string(),
            (_, true) => format!("{run} pytest"),
            (_, false) => format!("{run} unittest"),
        })
    });
    if pyproject.is_some() {
        facts.manifests.push("pyproject.toml".to_string());
    }
    if let Some(lock) = lock.filter(|l| exists(root, l)) {
        facts.manifests.push(lock.to_string());
    }
    if requirements {
        facts.manifests.push("requirements*.txt".to_string());
    }
    let versioned = table
        .get("project")
        .or_else(|| table.get("tool").and_then(|t| t.get("poetry")))
        .and_then(|p| p.get("version"))
        .is_some();
    if versioned {
        facts.version_files.push("pyproject.toml".to_string());
    }
}

fn go(root: &Path, facts: &mut Facts) {
    if !exists(root, "go.mod") {
        return;
    }
    facts.stacks.push("Go module".to_string());
    facts.build = facts.build.take().or(Some("go build ./...".to_string()));
    facts.test = facts.test.take().or(Some("go test ./...".to_string()));
    facts.manifests.push("go.mod".to_string());
    facts.manifests.push("go.sum".to_string());
}

fn with_notes(what: &str, notes: &[&str]) -> String {
    if notes.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({})", notes.join(", "))
    }
}

/// Targets of a Makefile or recipes of a justfile.
struct Tasks {
    make: Vec<String>,
    just: Vec<String>,
}

impl Tasks {
    fn read(root: &Path) -> Tasks {
        let make = ["Makefile", "makefile", "GNUmakefile"]
            .iter()
            .find_map(|name| read(root, name))
            .map(|text| names_before_colon(&text, false))
            .unwrap_or_default();
        let just = ["justfile", "Justfile", ".justfile"]
            .iter()
            .find_map(|name| read(root, name))
            .map(|text| names_before_colon(&text, true))
            .unwrap_or_default();
        Tasks { make, just }
    }

    /// The task runner to call `build` and `test` with: (what, its tasks, its command).
    fn runner(&self) -> Option<(&'static str, &[String], &'static str)> {
        if !self.just.is_empty() {
            Some(("justfile", &self.just, "just"))
        } else if !self.make.is_empty() {
            Some(("Makefile", &self.make, "make"))
        } else {
            None
        }
    }
}

/// `name:` at the start of a line (a make target or a just recipe, whose parameters come
/// before the colon), not a variable (`a := b`) nor a special target (`.PHONY`).
fn names_before_colon(text: &str, just: bool) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        if line.starts_with(char::is_whitespace) || line.starts_with('#') {
            continue;
        }
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') {
            continue;
        }
        let name = if just {
            head.split_whitespace()
                .next()
                .unwrap_or("")
                .trim_start_matches('@')
        } else {
            head.trim()
        };
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// The commands of `.github/workflows/*.yml` (`run:`) and `.gitlab-ci.yml` (`script:`).
fn existing_ci(root: &Path, facts: &mut Facts) {
    let mut files: Vec<String> = std::fs::read_dir(root.join(".github/workflows"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| {
                    (n.ends_with(".yml") || n.ends_with(".yaml")) && !n.starts_with("coder-")
                })
                .map(|n| format!(".github/workflows/{n}"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if exists(root, ".gitlab-ci.yml") {
        files.push(".gitlab-ci.yml".to_string());
    }
    for file in &files {
        let Some(text) = read(root, file) else {
            continue;
        };
        let Ok(doc) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let mut scripts = Vec::new();
        collect_scripts(&doc, &mut scripts);
        for line in scripts.iter().flat_map(|s| s.lines()).map(str::trim) {
            let ours = line.contains("coder-step") || line.contains("coder ");
            if !line.is_empty()
                && !line.starts_with('#')
                && !ours
                && !facts.ci_commands.iter().any(|c| c == line)
            {
                facts.ci_commands.push(line.to_string());
            }
        }
    }
    facts.ci_files = files;
}

/// Every `run:` string and `script:` entry in a CI document.
fn collect_scripts(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("run" | "script", serde_json::Value::String(s)) => out.push(s.clone()),
                    ("script", serde_json::Value::Array(items)) => out.extend(
                        items
                            .iter()
                            .filter_map(serde_json::Value::as_str)
                            .map(str::to_string),
                    ),
                    _ => collect_scripts(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_scripts(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_targets_and_just_recipes() {
        let make = "VERSION := 1\n.PHONY: test\nbuild: deps\n\tgo build\ntest:\n\tgo test ./...\n";
        assert_eq!(names_before_colon(make, false), ["build", "test"]);
        let just = "set shell := [\"bash\"]\ntest *args:\n  cargo test {{args}}\n@lint:\n  x\n";
        assert_eq!(names_before_colon(just, true), ["test", "lint"]);
    }
}
