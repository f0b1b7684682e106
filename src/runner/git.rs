//! The git the runner needs, run as a program in the checkout. Hooks are off (`core.hooksPath`
//! points nowhere) and so is the file-system monitor (`core.fsmonitor`, a command git would
//! run on `add` and `status`), so nothing in the repository runs when coder-step uses git.

use std::path::Path;
use std::process::{Command, Stdio};

/// A git command in `checkout`, hooks off.
pub fn command(checkout: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(checkout)
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
        ])
        .stdin(Stdio::null());
    cmd
}

/// Run `cmd`, returning its stdout; a failure says what git said.
pub fn output(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run git to {what}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "git could not {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub fn run(checkout: &Path, args: &[&str], what: &str) -> Result<String, String> {
    let out = output(command(checkout).args(args), what)?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

pub fn head_sha(checkout: &Path) -> Result<String, String> {
    run(
        checkout,
        &["rev-parse", "HEAD"],
        "read the checkout's HEAD commit",
    )
}

/// The branch checked out, if any.
pub fn current_branch(checkout: &Path) -> Option<String> {
    run(
        checkout,
        &["symbolic-ref", "--quiet", "--short", "HEAD"],
        "read the branch",
    )
    .ok()
    .filter(|b| !b.is_empty())
}

/// The tree of the working tree as it is now (tracked and untracked files, ignored ones left
/// out), staged into a temporary index so the user's own index is never touched. Paths that
/// `outside` matches (git pathspecs, e.g. `:(exclude,glob)out/**/*.xml`) keep HEAD's version:
/// they are not the run's changes.
pub fn worktree_tree(
    checkout: &Path,
    scratch: &Path,
    outside: &[String],
) -> Result<String, String> {
    std::fs::create_dir_all(scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let index = scratch.join(format!("index.{}", std::process::id()));
    let _ = std::fs::remove_file(&index);
    let staged = (|| {
        output(
            command(checkout)
                .env("GIT_INDEX_FILE", &index)
                .args(["read-tree", "HEAD"]),
            "read the HEAD tree into a temporary index",
        )?;
        output(
            command(checkout)
                .env("GIT_INDEX_FILE", &index)
                .args(["add", "-A", "--", "."])
                .args(outside),
            "stage the working tree into a temporary index",
        )?;
        output(
            command(checkout)
                .env("GIT_INDEX_FILE", &index)
                .arg("write-tree"),
            "write the working tree's tree",
        )
    })();
    let _ = std::fs::remove_file(&index);
    Ok(String::from_utf8_lossy(&staged?).trim().to_string())
}

/// A pathspec that leaves out exactly `path` (no glob characters interpreted).
pub fn exclude_literal(path: &str) -> String {
    format!(":(exclude,literal){path}")
}

/// A pathspec that leaves out what the glob `pattern` matches (`*` stays within a folder,
/// `**` crosses folders, as `[report] junit` globs mean).
pub fn exclude_glob(pattern: &str) -> String {
    format!(":(exclude,glob){pattern}")
}

/// Untracked files of the working tree (ignored ones left out), sorted.
pub fn untracked_files(checkout: &Path) -> Result<Vec<String>, String> {
    let out = output(
        command(checkout).args(["ls-files", "--others", "--exclude-standard", "-z"]),
        "list the untracked files",
    )?;
    let mut files: Vec<String> = out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    Ok(files)
}

/// Paths that differ between two tree-ish objects, sorted.
pub fn changed_files(checkout: &Path, from: &str, to: &str) -> Result<Vec<String>, String> {
    let out = output(
        command(checkout).args(["diff", "--name-only", "-z", "--no-renames", from, to]),
        "list the changed files",
    )?;
    let mut files: Vec<String> = out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    Ok(files)
}

/// `git diff --binary` from `base` to `tree`: applies to a checkout of `base` with
/// `git apply --index`, new and binary files included.
pub fn patch(checkout: &Path, base: &str, tree: &str) -> Result<Vec<u8>, String> {
    output(
        command(checkout).args(["diff", "--binary", "--full-index", "--no-color", base, tree]),
        "compute the patch",
    )
}

/// A readable diff between two commits (text, no binary payloads), as a reviewer reads it.
pub fn diff(checkout: &Path, from: &str, to: &str) -> Result<Vec<u8>, String> {
    output(
        command(checkout).args(["diff", "--no-color", "--no-ext-diff", from, to, "--"]),
        "compute the change's diff",
    )
}

/// Apply `patch_file` to the working tree and index of `checkout`.
///
/// The index's stat data is refreshed first: in a copied or cache-restored checkout (act,
/// gitlab-ci-local, CI caches) every file's mtime and inode differ from what the index
/// recorded, and `git apply --index` would refuse each file the patch edits with "does not
/// match index" although its content is unchanged.
pub fn apply(checkout: &Path, patch_file: &Path) -> Result<(), String> {
    // Exits 1 when files differ from the index; `apply` itself then judges them.
    let _ = command(checkout)
        .args(["update-index", "-q", "--refresh"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    output(
        command(checkout)
            .args(["apply", "--index", "--binary", "--whitespace=nowarn"])
            .arg(patch_file),
        "apply the run's patch to this checkout",
    )
    .map(|_| ())
}
