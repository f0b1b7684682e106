//! Workflows run on a host as its systemd units run them: the generated service's own
//! `ExecStart=` and `Environment=`, read back from the unit file and run in a fixture crate,
//! then `coder runs` and `coder approve` finding those runs in the units' state directories,
//! with a stand-in `systemctl` that records how it was called.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::runner::path_with_stand_ins;
use crate::step::{agent, git, run};

/// A small crate with a release train: an implementer edits a tracked source file, the tests
/// run, a reviewer reads, a preview deploy, then the prod deploy (gated) and a smoke check
/// after it.
const RELEASE: &str = "name: Release Train
triggers:
  - type: cron
    cron: \"0 9 * * 1\"
    timezone: Europe/Berlin
  - type: manual
policies:
  repo:
    allowed_paths: [\"crates/\", \"docs/\"]
  gates:
    require_human_approval_for: [\"deploy.prod\"]
steps:
  - type: agent
    role: implementer
    goal: Bump the dependencies
  - type: command
    command: cargo test
  - type: agent
    role: reviewer
    goal: Review the bump
  - type: deploy
    target: preview
  - type: deploy
    target: prod
  - type: command
    command: \"echo smoke ok > docs/smoke.txt\"
";

/// The same crate's nightly bump: no approval.
const BUMP: &str = "name: Nightly Bump
triggers:
  - type: cron
    cron: \"0 3 * * *\"
policies:
  repo:
    allowed_paths: [\"crates/\"]
steps:
  - type: agent
    role: implementer
    goal: Bump the dependencies
  - type: command
    command: cargo test
  - type: agent
    role: reviewer
    goal: Review the bump
";

/// A host: the fixture crate checked out, its units compiled against it, and the state
/// directory systemd's `%S` stands for.
pub(crate) struct Host {
    pub(crate) repo: tempfile::TempDir,
    pub(crate) state: tempfile::TempDir,
    home: tempfile::TempDir,
    /// Folders before the stand-ins on the units' `PATH` (a project's own tools).
    tools: Option<String>,
}

impl Host {
    pub(crate) fn new() -> Host {
        let repo = tempfile::tempdir().expect("tempdir");
        let config = format!(
            "targets = [\"systemd\"]\n\n[systemd]\ncoder-step = \"{}\"\nworking-directory = \"{}\"\n\n[agent]\ncommand = [\"{}\", \"{{goal}}\"]\n\n[deploy.preview]\ncommand = \"echo Deployed to https://preview.example/app\"\n\n[deploy.prod]\ncommand = \"echo Deployed to https://app.example\"\n",
            env!("CARGO_BIN_EXE_coder-step"),
            repo.path().display(),
            agent("crate-editor.sh"),
        );
        for (path, text) in [
            (".coder/workflows/release.yml", RELEASE),
            (".coder/workflows/bump.yml", BUMP),
            (".coder/config.toml", config.as_str()),
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/app\"]\nresolver = \"2\"\n",
            ),
            (
                "crates/app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            (
                "crates/app/src/lib.rs",
                "pub fn answer() -> u32 {\n    42\n}\n",
            ),
            ("docs/CHANGELOG.md", "# Changelog\n"),
            (".gitignore", "target/\n"),
            ("README.md", "# app\n"),
        ] {
            let path = repo.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        git(repo.path(), &["init", "-q", "-b", "main"]);
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "init"]);
        let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
            .current_dir(repo.path())
            .args(["compile", "--target", "systemd"]));
        assert_eq!(code, 0, "{stderr}");
        // The generated units are committed, as a user would.
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "units"]);
        Host::with_repo(repo, None)
    }

    /// A host for a repository whose units are compiled already; `tools` go first on the
    /// units' `PATH`.
    pub(crate) fn with_repo(repo: tempfile::TempDir, tools: Option<String>) -> Host {
        Host {
            repo,
            state: tempfile::tempdir().expect("tempdir"),
            home: tempfile::tempdir().expect("tempdir"),
            tools,
        }
    }

    fn unit(&self, workflow_id: &str) -> String {
        std::fs::read_to_string(
            self.repo
                .path()
                .join(format!("systemd/coder-{workflow_id}.service")),
        )
        .expect("the service was generated")
    }

    /// The unit's `ExecStart=` run as systemd runs it: its words, its working directory and
    /// its `Environment=` (`%S` the state directory), in an otherwise bare environment.
    pub(crate) fn fire(&self, workflow_id: &str) -> (i32, String, String) {
        let unit = self.unit(workflow_id);
        let value = |key: &str| -> Vec<String> {
            unit.lines()
                .filter_map(|l| l.strip_prefix(key).and_then(|l| l.strip_prefix('=')))
                .map(str::to_string)
                .collect()
        };
        let words = crate::systemd::command_words(&value("ExecStart")[0]);
        let workdir = PathBuf::from(&value("WorkingDirectory")[0]);
        let mut command = Command::new(&words[0]);
        command
            .args(&words[1..])
            .current_dir(workdir)
            .env_clear()
            .env(
                "PATH",
                match &self.tools {
                    Some(tools) => format!("{tools}:{}", path_with_stand_ins()),
                    None => path_with_stand_ins(),
                },
            )
            .env("HOME", self.home.path());
        for assignment in value("Environment") {
            let (name, text) = assignment.split_once('=').expect("NAME=value");
            let text = text.replace("%S", &self.state.path().display().to_string());
            command.env(name, text);
        }
        run(&mut command)
    }

    /// `%S/coder/<workflow_id>`: where the unit keeps its runs.
    pub(crate) fn runs(&self, workflow_id: &str) -> PathBuf {
        self.state.path().join("coder").join(workflow_id)
    }

    /// The run directories of a workflow (folders with a record), oldest first.
    pub(crate) fn run_dirs(&self, workflow_id: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.runs(workflow_id))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join("run.json").is_file())
                    .collect()
            })
            .unwrap_or_default();
        // Times are to the second; the ids (which hold the time) order runs within one.
        dirs.sort_by_key(|d| {
            (
                record(d)["started_at"].as_str().unwrap_or("").to_string(),
                d.clone(),
            )
        });
        dirs
    }

    /// `coder …` as someone on the host: the system's state directory is ours, and `bin`
    /// (a stand-in `systemctl`) comes first on the `PATH`.
    pub(crate) fn coder(&self, bin: &Path, user_state: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
        cmd.current_dir(user_state)
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", self.home.path())
            .env("XDG_STATE_HOME", user_state)
            .env("CODER_SYSTEM_STATE_DIR", self.state.path());
        cmd
    }
}

pub(crate) fn record(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
        .expect("JSON")
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or_default().to_string()
}

/// The release unit fired: it stops at the prod deploy's approval. Its run directory, id, and
/// what the unit printed on stderr.
fn release_waiting_for_its_approval(host: &Host) -> (PathBuf, String, String) {
    let (code, stdout, stderr) = host.fire("release");
    assert_eq!(code, 3, "{stderr}");
    let run_dir = PathBuf::from(last_line(&stdout));
    let run_id = run_dir
        .file_name()
        .expect("id")
        .to_string_lossy()
        .into_owned();
    (run_dir, run_id, stderr)
}

/// A stand-in `systemctl` in a folder of its own: appends its arguments to `calls`, says
/// `said` on stderr and exits `code`.
fn systemctl(code: i32, said: &str) -> (tempfile::TempDir, PathBuf) {
    let bin = tempfile::tempdir().expect("tempdir");
    let calls = bin.path().join("calls");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\necho '{said}' >&2\nexit {code}\n",
        calls.display()
    );
    let path = bin.path().join("systemctl");
    std::fs::write(&path, script).expect("write");
    let _ = Command::new("chmod").arg("+x").arg(&path).status();
    (bin, calls)
}

/// A timer fires the service again and again: each firing is a run of its own (the first
/// used to be the only one: later firings said "already succeeded").
#[test]
fn each_timer_firing_is_a_new_run() {
    let host = Host::new();
    let (code, first_out, stderr) = host.fire("bump");
    assert_eq!(code, 0, "{stderr}");
    let (code, second_out, stderr) = host.fire("bump");
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("already succeeded"), "{stderr}");
    let (first, second) = (last_line(&first_out), last_line(&second_out));
    assert_ne!(first, second, "the second firing started a run of its own");
    let dirs = host.run_dirs("bump");
    assert_eq!(dirs, [PathBuf::from(&first), PathBuf::from(&second)]);
    for dir in &dirs {
        let run = record(dir);
        assert_eq!(run["status"], "succeeded", "{run:#}");
        assert_eq!(run["workflow_id"], "bump");
        assert_eq!(
            run["run_id"].as_str(),
            dir.file_name().and_then(|n| n.to_str())
        );
        let patch = std::fs::read_to_string(dir.join("patch.diff")).expect("patch");
        assert!(patch.contains("crates/app/src/lib.rs"), "{patch}");
    }
    assert_ne!(record(&dirs[0])["run_id"], record(&dirs[1])["run_id"]);
}

/// The runs folder keeps the newest 30 runs of the workflow, and a run waiting for an
/// approval whatever its age.
#[test]
fn the_runs_folder_keeps_a_bounded_history() {
    let host = Host::new();
    let (code, stdout, stderr) = host.fire("bump");
    assert_eq!(code, 0, "{stderr}");
    let model = PathBuf::from(last_line(&stdout));
    // Forty older runs, the oldest of them waiting for an approval.
    let runs = host.runs("bump");
    for n in 0..40 {
        let id = format!("bump-2020010{}T0000{:02}Z-1", n / 10, n % 60);
        let dir = runs.join(&id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut run = record(&model);
        run["run_id"] = id.clone().into();
        run["started_at"] = format!("2020-01-0{}T00:00:{:02}Z", n / 10 + 1, n % 60).into();
        if n == 0 {
            run["status"] = "waiting_for_approval".into();
        }
        std::fs::write(dir.join("run.json"), run.to_string()).expect("write");
    }
    // Not a run of this workflow: left alone.
    std::fs::create_dir_all(runs.join("notes")).expect("mkdir");

    let (code, stdout, stderr) = host.fire("bump");
    // The latest run succeeded, so this firing starts a new one.
    assert_eq!(code, 0, "{stderr}");
    let newest = PathBuf::from(last_line(&stdout));
    let dirs = host.run_dirs("bump");
    let ids: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs.len(), 31, "30 runs and the waiting one: {ids:?}");
    assert!(dirs.contains(&newest));
    assert!(dirs.contains(&model));
    assert!(
        ids.contains(&"bump-20200100T000000Z-1".to_string()),
        "the waiting run stays"
    );
    assert!(
        !ids.contains(&"bump-20200100T000001Z-1".to_string()),
        "the oldest others go"
    );
    assert!(runs.join("notes").is_dir());
}

/// A run held at the prod gate is found by `coder runs` and by the id its hint prints;
/// `coder approve` records the approval (as the uid's name when `USER` is unset) and starts
/// the unit instead of deploying from the approver's shell; the unit's next start deploys.
#[test]
fn approving_a_unit_run_starts_its_unit() {
    let host = Host::new();
    let (run_dir, run_id, stderr) = release_waiting_for_its_approval(&host);
    let hint = format!("coder approve {run_id} s5");
    assert!(stderr.contains(&hint), "{stderr}");
    assert_eq!(record(&run_dir)["status"], "waiting_for_approval");

    let (bin, calls) = systemctl(0, "");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = run(host.coder(bin.path(), elsewhere.path()).arg("runs"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&run_id), "{stdout}");
    assert!(stdout.contains("waiting_for_approval"), "{stdout}");

    let (code, _, stderr) = run(host
        .coder(bin.path(), elsewhere.path())
        .args(["approve", &run_id, "s5"]));
    assert_eq!(code, 0, "{stderr}");
    let me = String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id").stdout)
        .trim()
        .to_string();
    assert!(stderr.contains(&format!("approved by {me}")), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&calls).expect("systemctl was called"),
        "start --no-block coder-release.service\n"
    );
    // Nothing ran in the approver's shell: the deploy waits for the unit.
    let held = record(&run_dir);
    assert_eq!(held["status"], "waiting_for_approval", "{held:#}");
    assert!(held["artifacts"]["deploy_url"] != "https://app.example");

    // The unit starts (as systemctl would have it): the same run continues and deploys.
    let (code, stdout, stderr) = host.fire("release");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(last_line(&stdout), run_dir.display().to_string());
    let done = record(&run_dir);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(done["approvals"][0]["approver"], me.as_str());
    assert_eq!(done["artifacts"]["deploy_url"], "https://app.example");
    assert_eq!(host.run_dirs("release").len(), 1);
}

/// When systemctl cannot start the unit (no permission, or none on this machine), the
/// approval stays recorded and the exact command is printed.
#[test]
fn approve_prints_the_unit_command_when_systemctl_cannot_start_it() {
    let host = Host::new();
    let (run_dir, run_id, _) = release_waiting_for_its_approval(&host);
    let (bin, calls) = systemctl(1, "Failed to start coder-release.service: Access denied");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(host
        .coder(bin.path(), elsewhere.path())
        .env("USER", "erin")
        .args(["approve", &run_id, "s5"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Access denied"), "{stderr}");
    assert!(
        stderr.contains("sudo systemctl start --no-block coder-release.service"),
        "{stderr}"
    );
    assert!(calls.is_file());
    assert!(run_dir.join("approvals/s5.json").is_file());

    // A machine without systemctl: the PATH holds only git.
    let empty = tempfile::tempdir().expect("tempdir");
    let git_dir = tempfile::tempdir().expect("tempdir");
    let git_path = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .expect("sh")
            .stdout,
    )
    .trim()
    .to_string();
    std::os::unix::fs::symlink(&git_path, git_dir.path().join("git")).expect("symlink");
    std::fs::remove_file(run_dir.join("approvals/s5.json")).expect("rm");
    let (code, _, stderr) = run(host
        .coder(empty.path(), elsewhere.path())
        .env("PATH", git_dir.path())
        .env("CODER_GIT", &git_path)
        .env("USER", "erin")
        .args(["approve", &run_id, "s5"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cannot run systemctl"), "{stderr}");
    assert!(
        stderr.contains("systemctl start --no-block coder-release.service"),
        "{stderr}"
    );
    assert_eq!(record(&run_dir)["status"], "waiting_for_approval");
}

/// A user unit keeps its runs in the user's state directory; approving one starts it in the
/// user's manager.
#[test]
fn approving_a_user_unit_run_starts_the_user_unit() {
    let host = Host::new();
    let (_, run_id, _) = release_waiting_for_its_approval(&host);
    let (bin, calls) = systemctl(0, "");
    let nowhere = tempfile::tempdir().expect("tempdir");
    // The state directory is the user's this time (`%S` of a user unit).
    let (code, stdout, stderr) = run(host
        .coder(bin.path(), host.state.path())
        .env("CODER_SYSTEM_STATE_DIR", nowhere.path())
        .env("USER", "frank")
        .arg("runs"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&run_id), "{stdout}");
    let (code, _, stderr) = run(host
        .coder(bin.path(), host.state.path())
        .env("CODER_SYSTEM_STATE_DIR", nowhere.path())
        .env("USER", "frank")
        .args(["approve", &run_id, "s5"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&calls).expect("systemctl was called"),
        "--user start --no-block coder-release.service\n"
    );
}

/// `coder …` in the fixture crate, as its developer runs it: runs kept in `state`, `PATH`
/// with the stand-in cargo (or `cargo_dir`'s first).
fn coder_here(host: &Host, state: &Path, cargo_dir: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
    let path = match cargo_dir {
        Some(dir) => format!("{}:{}", dir.display(), path_with_stand_ins()),
        None => path_with_stand_ins(),
    };
    cmd.current_dir(host.repo.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", host.home.path())
        .env("USER", "dev")
        .env("XDG_STATE_HOME", state)
        .env("CODER_KILL_GRACE_SEC", "1");
    cmd
}

/// The developer's uncommitted work: an edit to a tracked file, a staged edit, an untracked
/// file outside the allowed paths.
fn make_dirty(repo: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let edits: [(&str, &[u8]); 3] = [
        (
            "crates/app/src/lib.rs",
            b"pub fn answer() -> u32 {\n    41 + 1 // mine\n}\n",
        ),
        (
            "docs/CHANGELOG.md",
            b"# Changelog\n\n- my unreleased note\r\n\xff",
        ),
        ("scratch/notes.txt", b"half-written plan\n"),
    ];
    for (path, bytes) in edits {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    git(repo, &["add", "docs/CHANGELOG.md"]);
    edits.iter().map(|(p, b)| (*p, b.to_vec())).collect()
}

/// The lines a diff adds or removes (context lines left out).
fn changed_lines(diff: &str) -> String {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn status(repo: &Path) -> String {
    git(repo, &["status", "--porcelain=v1", "--untracked-files=all"])
}

/// A checkout with uncommitted changes is refused, naming them, before any run starts.
#[test]
fn coder_run_refuses_a_dirty_checkout() {
    let host = Host::new();
    make_dirty(host.repo.path());
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = run(coder_here(&host, state.path(), None).args(["run", "bump"]));
    assert_eq!(code, 2, "{stderr}");
    for file in [
        "crates/app/src/lib.rs",
        "docs/CHANGELOG.md",
        "scratch/notes.txt",
    ] {
        assert!(stderr.contains(file), "{file}: {stderr}");
    }
    assert!(stderr.contains("--allow-dirty"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!state.path().join("coder/runs").exists(), "no run started");
}

/// With `--allow-dirty`, the developer's work is not the agent's: a rogue agent's run fails on
/// its own files only, every violation is printed with its paths, and the checkout is put back
/// byte for byte, the index included; the run directory keeps the evidence.
#[test]
fn a_failed_run_puts_the_checkout_back_and_blames_only_the_run() {
    let host = Host::new();
    let repo = host.repo.path();
    let mine = make_dirty(repo);
    let status_before = status(repo);
    let staged_before = git(repo, &["diff", "--cached"]);
    let state = tempfile::tempdir().expect("tempdir");
    let rogue = format!("{} {{goal}}", agent("rogue.sh"));
    let (code, stdout, stderr) = run(coder_here(&host, state.path(), None).args([
        "run",
        "bump",
        "--allow-dirty",
        "--agent",
        &rogue,
    ]));
    assert_eq!(code, 1, "{stderr}");
    let run_dir = PathBuf::from(last_line(&stdout));
    let run = record(&run_dir);
    let blamed: Vec<&str> = run["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .flat_map(|v| v["paths"].as_array().into_iter().flatten())
        .filter_map(|p| p.as_str())
        .collect();
    assert!(blamed.contains(&"rogue.txt"), "{run:#}");
    assert!(blamed.contains(&"README.md"), "{run:#}");
    for (path, _) in &mine {
        assert!(!blamed.contains(path), "{path} is the developer's: {run:#}");
    }
    assert!(stderr.contains("violation"), "{stderr}");
    assert!(stderr.contains("rogue.txt"), "{stderr}");
    assert!(stderr.contains("put the checkout back"), "{stderr}");

    for (path, bytes) in &mine {
        assert_eq!(
            &std::fs::read(repo.join(path)).expect("kept"),
            bytes,
            "{path}"
        );
    }
    assert!(!repo.join("rogue.txt").exists());
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).expect("README"),
        "# app\n"
    );
    assert_eq!(status(repo), status_before);
    assert_eq!(git(repo, &["diff", "--cached"]), staged_before);
    let evidence = std::fs::read_to_string(run_dir.join("evidence/patch.diff")).expect("evidence");
    assert!(evidence.contains("rogue.txt"), "{evidence}");
    assert!(!evidence.contains("half-written plan"), "{evidence}");
    assert!(!changed_lines(&evidence).contains("// mine"), "{evidence}");
}

/// A run that succeeds with `--allow-dirty` leaves its changes on top of the developer's,
/// and its patch holds only its own.
#[test]
fn a_dirty_run_patch_holds_only_the_run_changes() {
    let host = Host::new();
    let repo = host.repo.path();
    make_dirty(repo);
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = run(coder_here(&host, state.path(), None).args([
        "run",
        ".coder/workflows/bump.yml",
        "--allow-dirty",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let run_dir = PathBuf::from(last_line(&stdout));
    let patch = std::fs::read_to_string(run_dir.join("patch.diff")).expect("patch");
    assert!(patch.contains("+// s1: Bump the dependencies"), "{patch}");
    assert!(!changed_lines(&patch).contains("// mine"), "{patch}");
    assert!(!patch.contains("notes.txt"), "{patch}");
    assert!(!patch.contains("CHANGELOG"), "{patch}");
    assert_eq!(
        record(&run_dir)["changed_files"],
        serde_json::json!(["crates/app/src/lib.rs"])
    );
    let lib = std::fs::read_to_string(repo.join("crates/app/src/lib.rs")).expect("lib");
    assert!(
        lib.contains("// mine") && lib.contains("// s1: Bump"),
        "{lib}"
    );
    assert!(repo.join("scratch/notes.txt").is_file());
}

/// A run whose tests fail after the agent's edit, on a clean checkout: the checkout is clean
/// again, and the run directory holds the patch.
#[test]
fn a_run_whose_tests_fail_leaves_the_checkout_clean() {
    let host = Host::new();
    let repo = host.repo.path();
    let failing = tempfile::tempdir().expect("tempdir");
    let cargo = failing.path().join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho 'test result: FAILED. 1 passed; 1 failed'\nexit 101\n",
    )
    .expect("write");
    let _ = Command::new("chmod").arg("+x").arg(&cargo).status();
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        run(coder_here(&host, state.path(), Some(failing.path())).args(["run", "bump"]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(status(repo), "", "{stderr}");
    let run_dir = PathBuf::from(last_line(&stdout));
    let patch = std::fs::read_to_string(run_dir.join("patch.diff")).expect("patch");
    assert!(patch.contains("+// s1: Bump the dependencies"), "{patch}");
    assert!(
        stderr.contains(&run_dir.join("patch.diff").display().to_string()),
        "{stderr}"
    );
}

/// `coder run` takes a spec's path as `check` and `compile` do; a path that is not there is
/// a usage error.
#[test]
fn coder_run_takes_a_spec_path() {
    let host = Host::new();
    let state = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) =
        run(coder_here(&host, state.path(), None).args(["run", ".coder/workflows/bump.yml"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) =
        run(coder_here(&host, state.path(), None).args(["run", ".coder/workflows/nope.yml"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no spec file"), "{stderr}");
}
