//! Where users work, outside the binary: the pre-commit hooks of `.pre-commit-hooks.yaml` run
//! by the real `pre-commit`, and `coder lsp` driven by an outside LSP client (`pytest-lsp`).

use std::path::Path;

use crate::step::git;
use crate::{outside_tool, root};

const SPEC: &str = "name: Nightly\ntriggers:\n  - type: cron\n    cron: \"0 3 * * 1\"\n    timezone: Europe/Berlin\n  - type: manual\nsteps:\n  - type: agent\n    role: implementer\n    goal: Fix the flaky test\n  - type: command\n    command: make test\n  - type: agent\n    role: reviewer\n    goal: Review the fix\n";

fn hooks() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks");
    serde_saphyr::from_str(&text).expect("a YAML list of hooks")
}

/// The `-system` hooks are the `language: rust` ones with the coder on the PATH: the same
/// entry, files and arguments, so testing one pair tests what the other runs.
#[test]
fn the_system_hooks_mirror_the_rust_hooks() {
    let hooks = hooks();
    for id in ["coder-check", "coder-compile-check"] {
        let find = |id: &str| {
            hooks
                .iter()
                .find(|h| h["id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("no hook `{id}`"))
        };
        let rust = find(id);
        let system = find(&format!("{id}-system"));
        assert_eq!(rust["language"], "rust");
        assert_eq!(system["language"], "system");
        for key in ["name", "entry", "files", "pass_filenames"] {
            assert_eq!(rust[key], system[key], "`{key}` of {id}");
        }
    }
}

/// pre-commit's own run on `dir`: its exit code and what it printed.
fn pre_commit(dir: &Path, cache: &Path) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_coder"))
        .parent()
        .expect("the binaries' folder");
    let mut command = outside_tool("pre-commit");
    // The hooks run the coder this test built: the folder of the binaries leads the PATH.
    let tools_path = command
        .get_envs()
        .find(|(key, _)| *key == "PATH")
        .and_then(|(_, value)| value.map(std::ffi::OsStr::to_os_string))
        .unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&tools_path)),
    )
    .expect("PATH");
    let out = command
        .args(["run", "--all-files", "--color=never"])
        .current_dir(dir)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", cache)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("pre-commit runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The hook line pre-commit prints: `name....Passed` or `name....Failed`.
fn verdict(output: &str, name: &str) -> String {
    output
        .lines()
        .find(|line| line.starts_with(&format!("{name}.")))
        .and_then(|line| line.rsplit('.').next())
        .unwrap_or_else(|| panic!("no line for `{name}` in:\n{output}"))
        .to_string()
}

/// The real pre-commit with this checkout as the hook source (`repo:` its path, `rev:` its
/// commit), against a scratch repository: clean, a spec error, a workflow never compiled,
/// a stale generated file, a broken configuration.
/// The `-system` hooks run the coder this test built; the `language: rust` ones would build
/// it again with `cargo install` (see `precommit_builds_the_rust_hooks`).
#[test]
fn precommit_runs_the_hooks_from_this_repository() {
    let rev = git(root(), &["rev-parse", "HEAD"]);
    let committed = git(root(), &["show", "HEAD:.pre-commit-hooks.yaml"]);
    let here = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks");
    assert_eq!(
        committed, here,
        "pre-commit reads .pre-commit-hooks.yaml at a commit: commit it before running this test"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    git(
        repo,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/acme/demo.git",
        ],
    );
    std::fs::create_dir_all(repo.join(".coder/workflows")).expect("mkdir");
    let spec = repo.join(".coder/workflows/nightly.yml");
    std::fs::write(&spec, SPEC).expect("spec");
    let compiled = crate::cli::coder()
        .arg("compile")
        .current_dir(repo)
        .output()
        .expect("coder compile");
    assert!(compiled.status.success(), "{compiled:?}");
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: coder-check-system\n      - id: coder-compile-check-system\n",
            root().display(),
            rev.trim()
        ),
    )
    .expect("config");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "a workflow"]);

    let (code, output) = pre_commit(repo, cache.path());
    assert_eq!(code, 0, "{output}");
    assert_eq!(verdict(&output, "coder check"), "Passed", "{output}");
    assert_eq!(
        verdict(&output, "coder compile --check"),
        "Passed",
        "{output}"
    );

    // A misspelt role fails both hooks, with the diagnostic in the output.
    std::fs::write(&spec, SPEC.replace("role: reviewer", "role: reviwer")).expect("spec");
    let (code, output) = pre_commit(repo, cache.path());
    assert_eq!(code, 1, "{output}");
    assert_eq!(verdict(&output, "coder check"), "Failed", "{output}");
    assert!(output.contains("C0106(unknown-role)"), "{output}");
    assert!(output.contains("did you mean `reviewer`?"), "{output}");

    // Fixed, with a second workflow never compiled: `coder check` is content (it reports drift
    // of generated files that exist), `coder compile --check` wants the missing file.
    std::fs::write(&spec, SPEC).expect("spec");
    let weekly = repo.join(".coder/workflows/weekly.yml");
    std::fs::write(&weekly, SPEC.replace("Nightly", "Weekly")).expect("spec");
    let (code, output) = pre_commit(repo, cache.path());
    assert_eq!(code, 1, "{output}");
    assert_eq!(verdict(&output, "coder check"), "Passed", "{output}");
    assert_eq!(
        verdict(&output, "coder compile --check"),
        "Failed",
        "{output}"
    );
    assert!(
        output.contains(".github/workflows/coder-weekly.yml"),
        "{output}"
    );
    std::fs::remove_file(&weekly).expect("rm");

    // Edited but not compiled: both hooks fail on the stale workflow.
    std::fs::write(
        &spec,
        SPEC.replace("Review the fix", "Review the fix twice"),
    )
    .expect("spec");
    let (code, output) = pre_commit(repo, cache.path());
    assert_eq!(code, 1, "{output}");
    assert_eq!(verdict(&output, "coder check"), "Failed", "{output}");
    assert_eq!(
        verdict(&output, "coder compile --check"),
        "Failed",
        "{output}"
    );
    assert!(output.contains("C0302(generated-file-drift)"), "{output}");

    // A broken configuration fails `coder-check` too.
    std::fs::write(&spec, SPEC).expect("spec");
    std::fs::write(
        repo.join(".coder/config.toml"),
        "[deploy.prod]\ncomand = 1\n",
    )
    .expect("config");
    let (code, output) = pre_commit(repo, cache.path());
    assert_eq!(code, 1, "{output}");
    assert_eq!(verdict(&output, "coder check"), "Failed", "{output}");
    assert!(output.contains("C0113"), "{output}");
}

/// `coder lsp` driven by pytest-lsp, an outside client (`tests/lsp/test_coder_lsp.py`):
/// initialize, open, diagnostics, change, completion, hover, shutdown and exit.
#[test]
fn pytest_lsp_drives_the_language_server() {
    let dir = crate::cli::repo(&[(
        ".coder/config.toml",
        "[deploy.staging]\ncommand = \"./deploy.sh staging\"\n",
    )]);
    let root_dir = dir.path().canonicalize().expect("root");
    // pytest from the venv scripts/test made (pytest-lsp is a plugin of that pytest).
    let out = outside_tool("pytest")
        .args([
            "-p",
            "no:cacheprovider",
            "-q",
            "tests/lsp/test_coder_lsp.py",
        ])
        // An answer the client's capabilities do not allow is a failure, not a warning.
        .args(["-W", "error::pytest_lsp.LspSpecificationWarning"])
        .current_dir(root())
        .env("CODER_BIN", env!("CARGO_BIN_EXE_coder"))
        .env("CODER_LSP_ROOT", &root_dir)
        .output()
        .expect("pytest runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{output}");
    assert!(output.contains("1 passed"), "{output}");
}
