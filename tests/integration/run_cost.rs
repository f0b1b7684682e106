//! What a local run costs in processes, where speed itself is measured by the benchmark
//! (`cargo bench --bench runner -- coder_run`): a workflow of command steps that change nothing
//! asks git only what the run needs, and its steps start as a shell would start them.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// The git subcommand of each line the logging git wrote (its `-c` settings left out).
fn subcommands(log: &str) -> Vec<String> {
    log.lines()
        .map(|line| {
            let mut words = line.split('\u{1f}');
            loop {
                match words.next() {
                    Some("-c") => {
                        words.next();
                    }
                    Some(word) => break word.to_string(),
                    None => break String::new(),
                }
            }
        })
        .collect()
}

/// Five command steps that change nothing: the dirty-tree check, the checkout remembered,
/// the run's base and branch asked of one git, the run's ignore rules read from the base
/// tree, and the tree at the end, which is the tree the run started from, so there is no
/// patch, no list of changed files and no rename detection to ask git for (16 gits before,
/// 12 now). The steps still run in `sh -c` with `$0` being `sh`, found on the step's
/// `PATH`, and a program on it that `posix_spawn` cannot start (a script without `#!`)
/// still runs as `execvp` runs it.
#[test]
fn a_run_of_steps_that_change_nothing_asks_git_only_what_it_needs() {
    let repo = tempfile::tempdir().expect("tempdir");
    let tools = tempfile::tempdir().expect("tempdir");
    let state = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    let steps = [
        "echo \"zero=$0\"",
        "no-shebang",
        "true",
        "true",
        "test -z \"$(git status --porcelain)\"",
    ]
    .iter()
    .map(|command| format!("  - type: command\n    command: '{command}'\n"))
    .collect::<String>();
    std::fs::create_dir_all(dir.join(".coder/workflows")).expect("mkdir");
    std::fs::write(
        dir.join(".coder/workflows/noop.yml"),
        format!("name: Noop\nsteps:\n{steps}"),
    )
    .expect("spec");
    std::fs::create_dir_all(dir.join("src/deep")).expect("mkdir");
    std::fs::write(dir.join("src/deep/lib.rs"), "fn main() {}\n").expect("file");
    std::fs::write(dir.join(".gitignore"), "target/\n").expect("file");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);

    let real_git = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .expect("sh")
            .stdout,
    )
    .trim()
    .to_string();
    let log = tools.path().join("git.log");
    let logging_git = tools.path().join("git");
    std::fs::write(
        &logging_git,
        format!(
            "#!/bin/sh\n(IFS=$(printf '\\037'); printf '%s\\n' \"$*\") >> '{}'\nexec '{real_git}' \"$@\"\n",
            log.display()
        ),
    )
    .expect("write");
    let script = tools.path().join("bin/no-shebang");
    std::fs::create_dir_all(script.parent().expect("bin")).expect("mkdir");
    std::fs::write(&script, "echo \"ran without #!\"\n").expect("write");
    for path in [&logging_git, &script] {
        let status = Command::new("chmod").arg("+x").arg(path).status();
        assert!(status.is_ok_and(|s| s.success()));
    }
    let path = format!(
        "{}:{}",
        script.parent().expect("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let out = Command::new(env!("CARGO_BIN_EXE_coder"))
        .args(["run", "noop"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", state.path())
        .env("USER", "dev")
        .env("XDG_STATE_HOME", state.path().join("state"))
        .env("CODER_GIT", &logging_git)
        .output()
        .expect("coder runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let run_dir = std::path::PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("the run directory"),
    );
    let logged = std::fs::read_to_string(&log).expect("git log");
    // Coder's own gits: the steps run whichever git their PATH holds.
    assert_eq!(
        subcommands(&logged),
        [
            // `coder run`: the dirty-tree check.
            "status",
            // The checkout remembered: clean, so its tree is HEAD's, asked with where git's
            // index is (a dirty checkout's tree is read from the working tree).
            "rev-parse",
            // begin: HEAD and the branch; the ignore rules of the base tree.
            "rev-parse",
            "rev-parse",
            "ls-tree",
            "cat-file",
            // finish: the tree now, the same as before the run.
            "read-tree",
            "ls-files",
            "write-tree",
        ],
        "{logged}"
    );
    let read = |name: &str| std::fs::read_to_string(run_dir.join(name)).expect(name);
    assert_eq!(read("logs/s1.log"), "zero=sh\n");
    assert_eq!(read("logs/s2.log"), "ran without #!\n");
    assert_eq!(read("patch.diff"), "");
    let record: serde_json::Value = serde_json::from_str(&read("run.json")).expect("json");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["changed_files"], serde_json::json!([]));
    assert_eq!(record["base"]["ref"], "main", "{record:#}");
}
