//! The git the runner needs, run as a program in the checkout. The agent runs as the same user
//! and may have written anything it can reach, so coder-step's git is its own:
//!
//! - the program is an absolute path resolved once per process ([`program`]): `$CODER_GIT`,
//!   else the first `git` on `PATH` that only root can have put there (it and every folder
//!   above it owned by root, writable by no one else), so a `git` planted in a folder of the
//!   user's early on `PATH` is skipped;
//! - no system or global configuration (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`),
//!   no global ignore or attributes file, no replace objects (`GIT_NO_REPLACE_OBJECTS`), no
//!   hooks, file-system monitor, pager, external diff or textconv: nothing the agent planted
//!   runs inside coder's git or changes what it sees (the repository's `.git/config` and hooks
//!   are put back before it runs, see [`super::paths::GitMetadata`]);
//! - a minimal environment ([`KEPT_ENV`]): never the CI token or the workflow's secrets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::env::non_empty_env;

/// Names `coder-step` keeps in its git's environment: finding ssh, locale, and what an HTTPS
/// or SSH push needs to reach its remote. Nothing else (no tokens, no `GIT_*` of ours).
const KEPT_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSH_AUTH_SOCK",
];

/// Configuration given on every command line, which outranks the repository's.
const FORCED_CONFIG: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.excludesFile=/dev/null",
    "core.attributesFile=/dev/null",
    "diff.external=",
    "core.sshCommand=ssh",
    "protocol.ext.allow=never",
];

/// The git program this process runs: resolved once, before any agent of this process starts.
pub fn program() -> Result<&'static Path, String> {
    static PROGRAM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PROGRAM
        .get_or_init(resolve_program)
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

fn resolve_program() -> Result<PathBuf, String> {
    if let Some(given) = non_empty_env("CODER_GIT") {
        let path = PathBuf::from(&given);
        if !path.is_absolute() || !path.is_file() {
            return Err(format!(
                "CODER_GIT is `{given}`: name git by an absolute path"
            ));
        }
        return Ok(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut skipped = Vec::new();
    for dir in std::env::split_paths(&path).filter(|d| d.is_absolute()) {
        let candidate = dir.join("git");
        let Ok(real) = candidate.canonicalize() else {
            continue;
        };
        if !real.is_file() {
            continue;
        }
        let dir_real = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if replaceable(&real) || replaceable(&dir_real) {
            skipped.push(candidate.display().to_string());
            continue;
        }
        return Ok(real);
    }
    Err(if skipped.is_empty() {
        "cannot find git on PATH".to_string()
    } else {
        format!(
            "every git on PATH ({}) is in a folder someone besides root can write, where an agent could replace it: install git system-wide or set CODER_GIT to an absolute path",
            skipped.join(", ")
        )
    })
}

/// Whether someone other than root could have put `path` there: it or a folder above it is
/// not owned by root, or is writable by its group or by others. An agent runs as this user,
/// so a folder of this user's (`~/.local/bin`, a temporary folder) is the agent's too.
fn replaceable(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    path.ancestors().any(|p| {
        std::fs::metadata(p).map_or(true, |meta| meta.uid() != 0 || meta.mode() & 0o022 != 0)
    })
}

/// A git command in `checkout`: coder's git, configuration and environment (see the module).
/// A git that cannot be found safely runs as `/nonexistent/git`, whose failure says why.
pub fn command(checkout: &Path) -> Command {
    let program = program().map_or_else(|_| PathBuf::from("/nonexistent/git"), Path::to_path_buf);
    let mut cmd = Command::new(program);
    cmd.current_dir(checkout).env_clear();
    for name in KEPT_ENV {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0");
    // A checkout owned by another user (a CI container) is trusted from the command line:
    // its `.git/config` is the one put back after every agent step.
    cmd.arg("-c")
        .arg(format!("safe.directory={}", checkout.display()));
    for setting in FORCED_CONFIG {
        cmd.args(["-c", setting]);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Run `cmd`, returning its stdout; a failure says what git said.
pub fn output(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    program().map_err(|e| format!("cannot run git to {what}: {e}"))?;
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

/// HEAD's commit and the branch checked out, if any: what [`head_sha`] and
/// [`current_branch`] say, asked of one git. `rev-parse --abbrev-ref=loose HEAD` shortens the
/// branch as `symbolic-ref --short` does and says `HEAD` when detached; when it cannot
/// answer (a ref named like HEAD makes it ambiguous), `symbolic-ref` is asked after all.
pub fn head_and_branch(checkout: &Path) -> Result<(String, Option<String>), String> {
    let out = run(
        checkout,
        &["rev-parse", "HEAD", "--abbrev-ref=loose", "HEAD"],
        "read the checkout's HEAD commit",
    )?;
    let mut lines = out.lines();
    match (lines.next(), lines.next(), lines.next()) {
        (Some(head), Some("HEAD"), None) => Ok((head.to_string(), None)),
        (Some(head), Some(branch), None) if !branch.is_empty() => {
            Ok((head.to_string(), Some(branch.to_string())))
        }
        _ => Ok((head_sha(checkout)?, current_branch(checkout))),
    }
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
    tree_in_scratch_index(checkout, scratch, |index| {
        output(
            command(checkout)
                .env("GIT_INDEX_FILE", index)
                .args(["add", "-A", "--", "."])
                .args(outside),
            "stage the working tree into a temporary index",
        )
        .map(drop)
    })
}

/// [`worktree_tree`] with no ignore rules but the gitignore patterns in `excludes` (relative
/// to the root): the working tree's own `.gitignore` files and `.git/info/exclude` are not
/// read, so what an agent wrote there hides nothing (see `super::ignore`). The changed,
/// deleted and untracked files are listed first (ignored folders skipped, not walked), then
/// staged by name.
pub fn worktree_tree_excluding(
    checkout: &Path,
    scratch: &Path,
    outside: &[String],
    excludes: &Path,
) -> Result<String, String> {
    tree_in_scratch_index(checkout, scratch, |index| {
        let mut exclude_from = std::ffi::OsString::from("--exclude-from=");
        exclude_from.push(excludes);
        let listed = output(
            command(checkout)
                .env("GIT_INDEX_FILE", index)
                .args(["ls-files", "-z", "--others", "--modified", "--deleted"])
                .arg(exclude_from)
                .args(["--", "."])
                .args(outside),
            "list the working tree's changes",
        )?;
        if listed.is_empty() {
            return Ok(());
        }
        // Named, so staged even where a `.gitignore` of the working tree would skip them.
        output_with_input(
            command(checkout)
                .env("GIT_INDEX_FILE", index)
                .env("GIT_LITERAL_PATHSPECS", "1")
                .args(["-c", "advice.addEmbeddedRepo=false"])
                .args([
                    "add",
                    "-A",
                    "-f",
                    "--pathspec-from-file=-",
                    "--pathspec-file-nul",
                ]),
            &listed,
            "stage the working tree into a temporary index",
        )
        .map(drop)
    })
}

/// The tree `stage` leaves in a temporary index (under `scratch`) that starts as HEAD's: the
/// user's own index is never touched, and the temporary one is removed whatever happens.
fn tree_in_scratch_index(
    checkout: &Path,
    scratch: &Path,
    stage: impl FnOnce(&Path) -> Result<(), String>,
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
        stage(&index)?;
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

/// [`output`], with `input` written to the command's stdin.
pub fn output_with_input(cmd: &mut Command, input: &[u8], what: &str) -> Result<Vec<u8>, String> {
    use std::io::Write;
    program().map_err(|e| format!("cannot run git to {what}: {e}"))?;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git to {what}: {e}"))?;
    let written = child.stdin.take().map(|mut stdin| {
        let input = input.to_vec();
        // Written beside the reading, so a large output cannot block the input.
        std::thread::spawn(move || stdin.write_all(&input))
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run git to {what}: {e}"))?;
    if let Some(writer) = written {
        let _ = writer.join();
    }
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "git could not {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A pathspec that leaves out exactly `path` (no glob characters interpreted).
pub fn exclude_literal(path: &str) -> String {
    format!(":(exclude,literal){path}")
}

/// A pathspec that leaves out what the glob `pattern` matches (`*` stays within a folder,
/// `**` crosses folders, as `[report] junit` globs mean).
pub fn exclude_glob(pattern: &str) -> String {
    // `git add` takes an exclude pathspec whose literal prefix names an ignored folder
    // (`reports/*.xml`, `reports/` ignored) for a request to add ignored files, and fails.
    // `[r]eports/*.xml` matches exactly the same paths and has no literal prefix.
    let mut chars = pattern.chars();
    match chars.next() {
        Some(first) if first.is_alphanumeric() || matches!(first, '_' | '-' | '.') => {
            format!(":(exclude,glob)[{first}]{}", chars.as_str())
        }
        _ => format!(":(exclude,glob){pattern}"),
    }
}

/// The NUL-separated paths git printed (`-z`), sorted.
fn sorted_paths(out: &[u8]) -> Vec<String> {
    let mut files: Vec<String> = out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    files
}

/// Untracked files of the working tree (ignored ones left out), sorted.
pub fn untracked_files(checkout: &Path) -> Result<Vec<String>, String> {
    let out = output(
        command(checkout).args(["ls-files", "--others", "--exclude-standard", "-z"]),
        "list the untracked files",
    )?;
    Ok(sorted_paths(&out))
}

/// Whether a diff from `from` to `to` is empty without asking git: the same object named
/// twice by the same id (the run's tree when no step changed anything).
pub fn unchanged(from: &str, to: &str) -> bool {
    from == to && !from.is_empty()
}

/// Paths that differ between two tree-ish objects, sorted.
pub fn changed_files(checkout: &Path, from: &str, to: &str) -> Result<Vec<String>, String> {
    if unchanged(from, to) {
        return Ok(Vec::new());
    }
    let out = output(
        command(checkout).args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--name-only",
            "-z",
            "--no-renames",
            from,
            to,
        ]),
        "list the changed files",
    )?;
    Ok(sorted_paths(&out))
}

/// `git diff --binary` from `base` to `tree`: applies to a checkout of `base` with
/// `git apply --index`, new and binary files included.
pub fn patch(checkout: &Path, base: &str, tree: &str) -> Result<Vec<u8>, String> {
    if unchanged(base, tree) {
        return Ok(Vec::new());
    }
    output(
        command(checkout).args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--binary",
            "--full-index",
            "--no-color",
            base,
            tree,
        ]),
        "compute the patch",
    )
}

/// A readable diff between two commits (text, no binary payloads), as a reviewer reads it.
pub fn diff(checkout: &Path, from: &str, to: &str) -> Result<Vec<u8>, String> {
    output(
        command(checkout).args([
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            from,
            to,
            "--",
        ]),
        "compute the change's diff",
    )
}

/// The parents of commit `rev` (none when it has none or is missing).
pub fn parents(checkout: &Path, rev: &str) -> Vec<String> {
    output(
        command(checkout).args([
            "show",
            "-s",
            "--no-show-signature",
            "--format=%P",
            rev,
            "--",
        ]),
        "read a commit's parents",
    )
    .map(|out| {
        String::from_utf8_lossy(&out)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// `git diff --stat` from `base` to `tree`: what an approver is shown.
pub fn diffstat(checkout: &Path, base: &str, tree: &str) -> Result<String, String> {
    let out = output(
        command(checkout).args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "--stat=100",
            base,
            tree,
        ]),
        "summarize the patch",
    )?;
    Ok(String::from_utf8_lossy(&out).into_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let out = command(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// One git answers what `rev-parse HEAD` and `symbolic-ref --short HEAD` would, in every
    /// state a checkout can be in: on a branch, on a branch a tag's name makes ambiguous, with
    /// a ref named `HEAD` (where `rev-parse` gives up and `symbolic-ref` is asked), detached.
    #[test]
    fn head_and_branch_agree_with_head_sha_and_current_branch() {
        let repo = tempfile::tempdir().expect("tempdir");
        let dir = repo.path();
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "first"]);
        let agree = |expected: Option<&str>| {
            let (head, branch) = head_and_branch(dir).expect("HEAD");
            assert_eq!(head, head_sha(dir).expect("HEAD"));
            assert_eq!(head.len(), 40, "{head}");
            assert_eq!(branch, current_branch(dir));
            assert_eq!(branch.as_deref(), expected);
        };
        agree(Some("main"));
        git(dir, &["tag", "main"]);
        agree(Some("heads/main"));
        git(dir, &["tag", "-d", "main"]);
        git(dir, &["update-ref", "refs/tags/HEAD", "HEAD"]);
        agree(Some("main"));
        git(dir, &["update-ref", "-d", "refs/tags/HEAD"]);
        git(dir, &["checkout", "-q", "--detach"]);
        agree(None);
    }

    /// The same object twice is no change, and git is not asked; anything else is asked.
    #[test]
    fn a_diff_of_an_object_with_itself_is_empty_without_git() {
        let nowhere = Path::new("/nonexistent/checkout");
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        assert!(unchanged(tree, tree));
        assert!(!unchanged("", ""));
        assert!(!unchanged(tree, "HEAD"));
        assert_eq!(patch(nowhere, tree, tree), Ok(Vec::new()));
        assert_eq!(changed_files(nowhere, tree, tree), Ok(Vec::new()));
        assert!(patch(nowhere, tree, "HEAD").is_err(), "git is asked");
    }
}
