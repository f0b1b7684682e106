//! The path policy: what an agent step changed, checked against the spec's `allowed_paths`
//! and `blocked_paths` (blocked wins) plus [`DEFAULT_BLOCKED_PATHS`], with the matching of
//! [`PathPattern`] (one meaning of a pattern everywhere).
//!
//! Changes are read from git, not from the agent: the trees before and after the step (new,
//! modified, deleted files, both sides of a rename or copy, type changes, new symlinks and
//! gitlinks), the commits the agent made (HEAD moved), and the repository's own `.git/config`
//! and hooks, which an agent could use to run code in the next `git` anyone runs. A changed
//! `.git/config` or hook is put back as it was before the step (the agent's version is kept as
//! evidence), so coder-step's own git never runs what the agent planted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::git;
use super::record::Violation;
use crate::ir::Policies;
use crate::model::path_pattern::PathPattern;

/// Blocked in every workflow, whatever its `allowed_paths` say: files that steer agents (their
/// instructions, settings and MCP servers), CI definitions (a change there runs with the
/// repository's secrets on the next push) and coder's own specs and configuration (the
/// policies themselves, the agent command, the deploy commands).
pub const DEFAULT_BLOCKED_PATHS: &[&str] = &[
    ".coder/",
    ".github/workflows/",
    ".github/actions/",
    ".gitlab-ci.yml",
    ".gitlab/",
    ".gitmodules",
    ".claude/",
    "**/CLAUDE.md",
    "**/AGENTS.md",
    "**/GEMINI.md",
    ".codex/",
    ".gemini/",
    ".aider*",
    ".mcp.json",
    "opencode.json",
    ".cursor/",
];

/// Git modes of the entries the policy looks at.
const SYMLINK_MODE: &str = "120000";
const GITLINK_MODE: &str = "160000";

/// The allowed and blocked patterns of a workflow.
pub struct PathPolicy {
    allowed: Vec<PathPattern>,
    blocked: Vec<PathPattern>,
    defaults: Vec<PathPattern>,
}

impl PathPolicy {
    /// Patterns that do not parse were reported by `coder check`; they are skipped here
    /// except in `blocked_paths`, where skipping would fail open: there the literal text
    /// becomes the pattern's directory.
    pub fn new(policies: &Policies) -> PathPolicy {
        let parse = |text: &String| PathPattern::parse(text).ok();
        PathPolicy {
            allowed: policies.allowed_paths.iter().filter_map(parse).collect(),
            blocked: policies
                .blocked_paths
                .iter()
                .filter_map(|text| {
                    parse(text).or_else(|| {
                        PathPattern::parse(&text.replace(['*', '?', '[', ']', '{', '}'], "")).ok()
                    })
                })
                .collect(),
            defaults: DEFAULT_BLOCKED_PATHS
                .iter()
                .filter_map(|text| PathPattern::parse(text).ok())
                .collect(),
        }
    }

    /// Why `path` may not change, or `None` when it may.
    pub fn refusal(&self, path: &str) -> Option<String> {
        if let Some(p) = self.blocked.iter().find(|p| p.matches(path)) {
            return Some(format!("blocked by `{}`", p.text));
        }
        if let Some(p) = self.defaults.iter().find(|p| p.matches(path)) {
            return Some(format!("blocked by default (`{}`)", p.text));
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|p| p.matches(path)) {
            return Some("outside the allowed paths".to_string());
        }
        None
    }
}

/// One changed entry of `git diff --raw`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `A`, `M`, `D`, `R`, `C`, `T` (the score of renames and copies dropped).
    pub status: char,
    pub path: String,
    /// The source of a rename or copy.
    pub from: Option<String>,
    pub new_mode: String,
    pub new_blob: String,
}

impl Change {
    /// Every path this change touches: both sides of a rename.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.from.as_deref().into_iter().chain([self.path.as_str()])
    }
}

/// The entries that differ between two tree-ish objects, renames and copies detected.
pub fn changes(checkout: &Path, from: &str, to: &str) -> Result<Vec<Change>, String> {
    if git::unchanged(from, to) {
        return Ok(Vec::new());
    }
    let out = git::output(
        git::command(checkout).args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--raw",
            "-z",
            "--no-abbrev",
            "-M",
            "-C",
            from,
            to,
        ]),
        "list the changes",
    )?;
    Ok(parse_raw(&out))
}

/// `:old_mode new_mode old_sha new_sha STATUS\0path\0[path\0]`, repeated.
fn parse_raw(out: &[u8]) -> Vec<Change> {
    let mut fields = out
        .split(|b| *b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned());
    let mut changes = Vec::new();
    while let Some(meta) = fields.next() {
        let Some(meta) = meta.strip_prefix(':') else {
            continue;
        };
        let parts: Vec<&str> = meta.split(' ').collect();
        let (Some(new_mode), Some(new_blob), Some(status)) =
            (parts.get(1), parts.get(3), parts.get(4))
        else {
            continue;
        };
        let status = status.chars().next().unwrap_or('M');
        let Some(first) = fields.next() else { break };
        let (from, path) = if matches!(status, 'R' | 'C') {
            match fields.next() {
                Some(second) => (Some(first), second),
                None => break,
            }
        } else {
            (None, first)
        };
        changes.push(Change {
            status,
            path,
            from,
            new_mode: new_mode.to_string(),
            new_blob: new_blob.to_string(),
        });
    }
    changes
}

/// A violation the policy found, before it is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub kind: &'static str,
    pub paths: Vec<String>,
    pub message: String,
}

impl Found {
    pub fn into_violation(self, step_id: Option<&str>, evidence: Option<String>) -> Violation {
        Violation {
            step_id: step_id.map(str::to_string),
            kind: self.kind.to_string(),
            message: self.message,
            paths: self.paths,
            evidence,
        }
    }
}

/// The policy's verdict on `changes`: blocked and disallowed paths, symlinks that lead out of
/// the repository, new gitlinks (submodules).
pub fn check(checkout: &Path, policy: &PathPolicy, changes: &[Change]) -> Vec<Found> {
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut symlinks = Vec::new();
    let mut gitlinks = Vec::new();
    for change in changes {
        for path in change.paths() {
            if let Some(reason) = policy.refusal(path) {
                refused.entry(path.to_string()).or_insert(reason);
            }
        }
        if change.status == 'D' {
            continue;
        }
        if change.new_mode == SYMLINK_MODE {
            let target = git::run(
                checkout,
                &["cat-file", "blob", &change.new_blob],
                "read a symlink's target",
            )
            .unwrap_or_default();
            if leaves_repository(&change.path, &target) || resolves_outside(checkout, &change.path)
            {
                symlinks.push(format!("{} -> {target}", change.path));
            }
        }
        if change.new_mode == GITLINK_MODE {
            gitlinks.push(change.path.clone());
        }
    }
    let mut found = Vec::new();
    let (blocked, disallowed): (Vec<_>, Vec<_>) = refused
        .into_iter()
        .partition(|(_, reason)| reason.starts_with("blocked"));
    if !blocked.is_empty() {
        found.push(Found {
            kind: "blocked_path",
            message: format!(
                "changed blocked paths: {}",
                blocked
                    .iter()
                    .map(|(p, r)| format!("{p} ({r})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            paths: blocked.into_iter().map(|(p, _)| p).collect(),
        });
    }
    if !disallowed.is_empty() {
        let paths: Vec<String> = disallowed.into_iter().map(|(p, _)| p).collect();
        found.push(Found {
            kind: "outside_allowed_paths",
            message: format!(
                "changed paths outside the allowed paths: {}",
                paths.join(", ")
            ),
            paths,
        });
    }
    if !symlinks.is_empty() {
        found.push(Found {
            kind: "symlink_outside_repository",
            message: format!(
                "added symlinks that lead out of the repository: {}",
                symlinks.join(", ")
            ),
            paths: symlinks,
        });
    }
    if !gitlinks.is_empty() {
        found.push(Found {
            kind: "submodule_added",
            message: format!("added submodules (gitlinks): {}", gitlinks.join(", ")),
            paths: gitlinks,
        });
    }
    found
}

/// Whether a symlink at `link` (repo-relative) with `target` points outside the repository.
fn leaves_repository(link: &str, target: &str) -> bool {
    if target.starts_with('/') || target.starts_with('~') {
        return true;
    }
    let mut depth: Vec<&str> = link.split('/').collect();
    depth.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return true;
                }
            }
            other => depth.push(other),
        }
    }
    // `.git/…` inside the repository is as bad as outside.
    depth.first() == Some(&".git")
}

/// Whether the symlink at `link` leads, once every link on the way is followed (a chain such
/// as `a -> ..`, `b -> a/..`), out of the repository or into its `.git`: judged by where it
/// resolves in the working tree, not by its text. A dangling link is left to its text.
fn resolves_outside(checkout: &Path, link: &str) -> bool {
    let Ok(root) = checkout.canonicalize() else {
        return true;
    };
    match checkout.join(link).canonicalize() {
        Ok(target) => match target.strip_prefix(&root) {
            Ok(inside) => inside
                .components()
                .next()
                .is_some_and(|c| c.as_os_str() == ".git"),
            Err(_) => true,
        },
        Err(_) => false,
    }
}

/// Files of the git directory that change what git sees or runs, kept and put back like
/// `.git/config`: the local ignore rules (which would hide new files from the policy), local
/// attributes and grafts (which rewrite history).
const WATCHED_GIT_FILES: &[&str] = &["config", "info/exclude", "info/attributes", "info/grafts"];

/// What the repository's git metadata looked like before a step: HEAD, `.git/config` and the
/// hooks, so what the agent did to them shows afterwards.
pub struct GitMetadata {
    head: String,
    branch: Option<String>,
    git_dir: PathBuf,
    /// Each of [`WATCHED_GIT_FILES`] as it was (`None`: absent).
    files: Vec<(&'static str, Option<Vec<u8>>)>,
    hooks_dir: PathBuf,
    hooks: BTreeMap<String, Vec<u8>>,
}

impl GitMetadata {
    pub fn snapshot(checkout: &Path) -> Result<GitMetadata, String> {
        let common = git::run(
            checkout,
            &["rev-parse", "--git-common-dir"],
            "find the repository's git directory",
        )?;
        let common = checkout.join(common);
        let hooks_dir = common.join("hooks");
        Ok(GitMetadata {
            head: git::head_sha(checkout)?,
            branch: git::current_branch(checkout),
            files: WATCHED_GIT_FILES
                .iter()
                .map(|name| (*name, std::fs::read(common.join(name)).ok()))
                .collect(),
            hooks: read_hooks(&hooks_dir),
            git_dir: common,
            hooks_dir,
        })
    }

    /// What changed since the snapshot. A changed config or hook is restored first (before
    /// any other git runs), its changed version written to `evidence` (redacted).
    pub fn check_and_restore(
        &self,
        checkout: &Path,
        evidence: &Path,
        redactor: &super::Redactor,
    ) -> Result<Vec<Found>, String> {
        let mut found = Vec::new();
        let mut changed = Vec::new();
        for (name, before) in &self.files {
            let path = self.git_dir.join(name);
            let now = std::fs::read(&path).ok();
            if now == *before {
                continue;
            }
            changed.push(format!(".git/{name}"));
            save_evidence(
                evidence,
                &format!("git-{}.after", name.replace('/', "-")),
                now.as_deref(),
                redactor,
            )?;
            match before {
                Some(bytes) => crate::fs::atomic_write(&path, bytes)?,
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let hooks_now = read_hooks(&self.hooks_dir);
        let names: std::collections::BTreeSet<&String> =
            hooks_now.keys().chain(self.hooks.keys()).collect();
        for name in names {
            let (before, after) = (self.hooks.get(name), hooks_now.get(name));
            if before == after {
                continue;
            }
            changed.push(format!(".git/hooks/{name}"));
            save_evidence(
                evidence,
                &format!("hook-{name}.after"),
                after.map(Vec::as_slice),
                redactor,
            )?;
            let path = self.hooks_dir.join(name);
            match before {
                Some(bytes) => crate::fs::atomic_write(&path, bytes)?,
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        if !changed.is_empty() {
            found.push(Found {
                kind: "git_metadata_changed",
                message: format!(
                    "changed git metadata (restored; the changed versions are kept as evidence): {}",
                    changed.join(", ")
                ),
                paths: changed,
            });
        }

        let head = git::head_sha(checkout)?;
        let branch = git::current_branch(checkout);
        if head != self.head || branch != self.branch {
            let log = git::run(
                checkout,
                &[
                    "log",
                    "--format=%H %s",
                    &format!("{}..{head}", self.head),
                    "--",
                ],
                "list the agent's commits",
            )
            .unwrap_or_default();
            let commits: Vec<String> = log.lines().map(str::to_string).collect();
            save_evidence(
                evidence,
                "commits.txt",
                Some(format!("HEAD before: {}\nHEAD after: {head}\n{log}\n", self.head).as_bytes()),
                redactor,
            )?;
            found.push(Found {
                kind: "agent_commit",
                message: format!(
                    "the agent moved HEAD from {} to {head} ({} commit(s)); agents must not commit, coder-step records their changes",
                    short(&self.head),
                    commits.len()
                ),
                paths: commits,
            });
        }
        Ok(found)
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn read_hooks(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name, std::fs::read(e.path()).ok()?))
        })
        .collect()
}

fn save_evidence(
    dir: &Path,
    name: &str,
    bytes: Option<&[u8]>,
    redactor: &super::Redactor,
) -> Result<(), String> {
    let bytes = bytes.map_or_else(|| b"(deleted)\n".to_vec(), |b| redactor.redact_bytes(b));
    Ok(crate::fs::atomic_write(&dir.join(name), &bytes)?)
}

/// Paths a patch file touches (both sides of renames), from `git apply --numstat`.
pub fn patch_paths(checkout: &Path, patch: &Path) -> Result<Vec<String>, String> {
    let out = git::output(
        git::command(checkout)
            .args(["apply", "--numstat", "-z"])
            .arg(patch),
        "read the paths of the run's patch",
    )?;
    // `added\tdeleted\tpath\0`, or for a rename `added\tdeleted\t\0from\0to\0`.
    let mut paths = Vec::new();
    let mut fields = out.split(|b| *b == 0);
    while let Some(field) = fields.next() {
        let text = String::from_utf8_lossy(field);
        let Some(path) = text.splitn(3, '\t').nth(2) else {
            continue;
        };
        if path.is_empty() {
            paths.extend(
                fields
                    .by_ref()
                    .take(2)
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            );
        } else {
            paths.push(path.to_string());
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str], blocked: &[&str]) -> PathPolicy {
        PathPolicy::new(&Policies {
            max_credits: None,
            max_wall_clock_sec: crate::ir::DEFAULT_WALL_CLOCK_SEC,
            allowed_paths: allowed.iter().map(|s| s.to_string()).collect(),
            blocked_paths: blocked.iter().map(|s| s.to_string()).collect(),
            ..Policies::default()
        })
    }

    #[test]
    fn blocked_wins_and_defaults_always_apply() {
        let p = policy(&["src/", ".github/"], &["src/secret/"]);
        assert_eq!(p.refusal("src/a.rs"), None);
        assert!(
            p.refusal("src/secret/k")
                .is_some_and(|r| r.contains("src/secret/"))
        );
        assert!(
            p.refusal(".github/workflows/ci.yml")
                .is_some_and(|r| r.contains("by default"))
        );
        assert_eq!(
            p.refusal("docs/x.md").as_deref(),
            Some("outside the allowed paths")
        );
        let open = policy(&[], &[]);
        assert_eq!(open.refusal("anything/at/all"), None);
        assert!(open.refusal("docs/CLAUDE.md").is_some());
        assert!(open.refusal("CLAUDE.md").is_some());
        assert!(open.refusal(".aider.conf.yml").is_some());
        assert!(open.refusal(".coder/workflows/x.yml").is_some());
    }

    #[test]
    fn raw_diff_parses_renames() {
        let raw = b":100644 100644 aaa bbb R090\0old/a\0new/a\0:000000 120000 000 ccc A\0link\0";
        let changes = parse_raw(raw);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].from.as_deref(), Some("old/a"));
        assert_eq!(changes[0].path, "new/a");
        assert_eq!(changes[0].status, 'R');
        assert_eq!(changes[1].new_mode, SYMLINK_MODE);
    }

    #[test]
    fn symlink_targets() {
        assert!(leaves_repository("a/link", "/etc/passwd"));
        assert!(leaves_repository("a/link", "../../x"));
        assert!(!leaves_repository("a/link", "../b/x"));
        assert!(leaves_repository("link", ".git/config"));
        assert!(!leaves_repository("link", "src/main.rs"));
    }
}
