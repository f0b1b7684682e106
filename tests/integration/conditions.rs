//! Step conditions on a realistic project: the Python fixture `tests/fixtures/python-project/`
//! (a package with a real bug, pytest writing a JUnit report), and a nightly triage where the
//! tests continue on failure, a tester agent runs only when they failed and is told which
//! tests failed, and the tests run again. Proven with `coder run`, act and gitlab-ci-local.

use std::path::Path;
use std::process::Command;

use crate::act::{act, coder_step_dir};
use crate::gitlab::{gitlab_ci_local, run_record};
use crate::host::Host;
pub(crate) use crate::release_train::copy_dir;
use crate::step::{agent, git, run};
use crate::{outside_tool, root};

pub(crate) const TRIAGE: &str = r#"name: "Nightly test triage"
project:
  provider: {PROVIDER}
triggers:
  - type: cron
    cron: "0 4 * * 1-5"
  - type: manual
policies:
  budget:
    max_wall_clock_sec: 600
  repo:
    blocked_paths: ["tests/"]
steps:
  - type: command
    step_id: tests
    name: Tests
    command: pytest -q -p no:cacheprovider --junitxml=reports/junit.xml
    continue_on_failure: true
  - type: agent
    step_id: triage
    role: tester
    goal: Find the root cause of each failing test and fix the code; never weaken a test.
    if_failed: tests
  - type: command
    step_id: retest
    name: Tests again
    command: pytest -q -p no:cacheprovider
    if_failed: tests
"#;

/// Where pytest is: on the PATH, else in the tools `scripts/test` installs.
pub(crate) fn pytest_dir() -> String {
    let program = outside_tool("pytest");
    Path::new(program.get_program())
        .parent()
        .expect("bin dir")
        .display()
        .to_string()
}

/// The Python project with the triage compiled for `provider`, committed; `fixed`: with the
/// bug already fixed (a green night).
fn python_repo(provider: &str, target_section: &str, fixed: bool) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    copy_dir(&root().join("tests/fixtures/python-project"), dir);
    if fixed {
        let module = dir.join("src/tally/__init__.py");
        let text = std::fs::read_to_string(&module).expect("module");
        std::fs::write(&module, text.replace("text.split(\" \")", "text.split()")).expect("fix");
    }
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(dir.join(".coder/workflows")).expect("mkdir");
    std::fs::write(
        dir.join(".coder/workflows/triage.yml"),
        TRIAGE.replace("{PROVIDER}", provider),
    )
    .expect("spec");
    std::fs::write(
        dir.join(".coder/config.toml"),
        format!(
            "[agent]\ncommand = [{:?}]\n\n[report]\njunit = [\"reports/*.xml\"]\n\n{target_section}",
            agent("triager.sh")
        ),
    )
    .expect("config");
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .arg("compile")
        .current_dir(dir));
    assert_eq!(code, 0, "{stderr}");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "tally 0.3.1"]);
    repo
}

fn coder_run(dir: &Path, state: &Path) -> (i32, String, String) {
    coder_run_with(dir, state, &[])
}

/// `coder run triage` with `extra` arguments (`--agent` replaces the tester).
fn coder_run_with(dir: &Path, state: &Path, extra: &[&str]) -> (i32, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .args(["run", "triage"])
        .args(extra)
        .current_dir(dir)
        .env_remove("CODER_RUN_DIR")
        .env_remove("CODER_RUN_ID")
        .env_remove("CODER_AGENT")
        .env_remove("GITHUB_RUN_ID")
        .env_remove("GITHUB_ACTIONS")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("USER", "alice")
        .env("XDG_STATE_HOME", state)
        .env(
            "PATH",
            format!(
                "{}:{}",
                pytest_dir(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ))
}

fn record_of(run_dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).expect("run.json"))
        .expect("json")
}

fn statuses(record: &serde_json::Value) -> Vec<(String, String)> {
    record["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step_id"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The run record act's artifact store kept from the triage's job.
fn act_record(store: &Path, log: &str) -> serde_json::Value {
    let path = store.join("coder-run-triage-1/run.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}\n{log}"));
    serde_json::from_str(&text).expect("json")
}

/// A red night's record: the tests failed, the tester ran, the tests ran again; the run
/// failed.
fn assert_triaged(record: &serde_json::Value) {
    assert_eq!(record["status"], "failed", "{record:#}");
    assert_eq!(
        statuses(record),
        [
            ("tests", "failed"),
            ("triage", "succeeded"),
            ("retest", "succeeded")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "{record:#}"
    );
}

/// A green night's record: the tests passed and both conditional steps were skipped.
fn assert_green(record: &serde_json::Value) {
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(
        statuses(record),
        [
            ("tests", "succeeded"),
            ("triage", "skipped"),
            ("retest", "skipped")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "{record:#}"
    );
}

#[test]
fn coder_run_hands_the_failing_tests_to_the_tester_and_still_ends_failed() {
    let repo = python_repo("github", "", false);
    let dir = repo.path();
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = coder_run(dir, state.path());
    // The tests failed tonight: the run says so, though the tester fixed them.
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("continue_on_failure: the run goes on"),
        "{stderr}"
    );
    let run_dir = Path::new(stdout.trim().lines().last().expect("run dir"));
    let record = record_of(run_dir);
    assert_triaged(&record);
    assert_eq!(record["steps"][0]["exit_code"], 1, "{record:#}");
    // The tester's prompt named the failing step, its exit code and the failing tests, from
    // the JUnit report pytest wrote.
    let prompt = std::fs::read_to_string(run_dir.join("prompts/triage.md")).expect("prompt");
    for expected in [
        "## Steps that failed before this one",
        "### Step `tests` (command `pytest -q -p no:cacheprovider --junitxml=reports/junit.xml`): failed",
        "It failed: the command exited with code 1 (exit code 1).",
        "Failing tests (3):",
        "- `tests.test_tally::test_counts_words`",
        "- `tests.test_tally::test_empty_text_has_no_words`",
        "3 failed, 1 passed",
    ] {
        assert!(prompt.contains(expected), "`{expected}` not in:\n{prompt}");
    }
    // The fix is the run's patch (no policy broken), kept in the run directory; the failed
    // run put the checkout back as it was.
    let patch = std::fs::read_to_string(run_dir.join("patch.diff")).expect("patch");
    assert!(patch.contains("+    return len(text.split())"), "{patch}");
    assert!(!patch.contains("reports/junit.xml"), "{patch}");
    let source = std::fs::read_to_string(dir.join("src/tally/__init__.py")).expect("module");
    assert!(source.contains("text.split(\" \")"), "{source}");
    let summary = std::fs::read_to_string(run_dir.join("summary.md")).expect("summary");
    assert!(
        summary.contains("tally.words now splits on any whitespace"),
        "{summary}"
    );
}

#[test]
fn a_green_night_skips_the_triage_and_spends_nothing() {
    let repo = python_repo("github", "", true);
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = coder_run(repo.path(), state.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let run_dir = Path::new(stdout.trim().lines().last().expect("run dir"));
    let record = record_of(run_dir);
    assert_green(&record);
    assert_eq!(
        record["steps"][1]["message"],
        "runs only if step `tests` failed, and it succeeded"
    );
    assert!(!run_dir.join("prompts/triage.md").exists());
    assert_eq!(
        record["test_report"],
        serde_json::json!({"passed": 4, "failed": 0, "skipped": 0}),
        "{record:#}"
    );
}

#[test]
fn act_runs_the_triage_natively_and_the_job_says_the_tests_failed() {
    let install = format!(
        "[github]\ninstall = \"echo {} >> \\\"$GITHUB_PATH\\\"; echo {} >> \\\"$GITHUB_PATH\\\"\"\n",
        coder_step_dir(),
        pytest_dir()
    );
    let repo = python_repo("github", &install, false);
    let store = tempfile::tempdir().expect("tempdir");
    let extra = ["--env".to_string(), "PYTHONDONTWRITEBYTECODE=1".to_string()];
    let (code, log) = act(repo.path(), "coder-triage", store.path(), None, &extra);
    // The run failed (the tests did), so nothing is published; the job is red at `finish`.
    assert_ne!(code, 0, "{log}");
    assert!(!log.contains("Open or update the pull request"), "{log}");
    let record = act_record(store.path(), &log);
    assert_triaged(&record);
    assert!(log.contains("step `tests` (command) failed"), "{log}");
}

#[test]
fn act_skips_the_triage_natively_on_a_green_night() {
    let install = format!(
        "[github]\ninstall = \"echo {} >> \\\"$GITHUB_PATH\\\"; echo {} >> \\\"$GITHUB_PATH\\\"\"\n",
        coder_step_dir(),
        pytest_dir()
    );
    let repo = python_repo("github", &install, true);
    let store = tempfile::tempdir().expect("tempdir");
    let extra = [
        "--env".to_string(),
        "PYTHONDONTWRITEBYTECODE=1".to_string(),
        // The publish job finds no remote to push to; the work job is what this test is about.
        "--job".to_string(),
        "triage-1".to_string(),
    ];
    let (code, log) = act(repo.path(), "coder-triage", store.path(), None, &extra);
    assert_eq!(code, 0, "{log}");
    let record = act_record(store.path(), &log);
    // GitHub skipped both steps (`if:` on the tests' outcome); finish recorded why.
    assert_green(&record);
}

#[test]
fn gitlab_ci_local_goes_on_past_the_failing_tests_and_fails_the_pipeline() {
    let install = format!(
        "[gitlab]\ninstall = 'export PATH=\"{}:{}:$PATH\"'\n",
        coder_step_dir(),
        pytest_dir()
    );
    let repo = python_repo("gitlab", &install, false);
    let dir = repo.path();
    let pipeline = gitlab_ci_local(
        dir,
        "web",
        &[
            "--variable",
            "CODER_WORKFLOW=triage",
            "--variable",
            "PYTHONDONTWRITEBYTECODE=1",
        ],
    );
    assert_ne!(pipeline.code, 0, "{}", pipeline.log);
    let record = run_record(dir, "triage-1");
    assert_triaged(&record);
    assert_eq!(
        record["test_report"],
        serde_json::json!({"passed": 1, "failed": 3, "skipped": 0}),
        "{record:#}"
    );
}

#[test]
fn the_systemd_unit_goes_on_past_the_failing_tests_on_each_firing() {
    let repo = tempfile::tempdir().expect("tempdir");
    let systemd = format!(
        "[systemd]\ncoder-step = \"{}\"\nworking-directory = \"{}\"\n",
        env!("CARGO_BIN_EXE_coder-step"),
        repo.path().display()
    );
    // Built in place: the unit names its working directory.
    let built = python_repo("github", &systemd, false);
    copy_dir(built.path(), repo.path());
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .args(["compile", "--target", "systemd"])
        .current_dir(repo.path()));
    assert_eq!(code, 0, "{stderr}");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "units"]);
    let host = Host::with_repo(repo, Some(pytest_dir()));
    // Fired twice: each firing is a run of its own, and each hands the failure to the tester.
    for _ in 0..2 {
        let (code, stdout, stderr) = host.fire("triage");
        assert_eq!(code, 1, "{stdout}{stderr}");
    }
    let dirs = host.run_dirs("triage");
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in dirs {
        let record = record_of(&dir);
        assert_triaged(&record);
    }
}

/// A failure the run went on past survives an approval: the resumed run does not run the
/// first job again, runs the rest, and still ends failed.
#[test]
fn a_run_resumed_after_its_approval_keeps_the_failure_it_went_on_past() {
    let spec = "name: Gated\nsteps:\n  - type: command\n    step_id: tests\n    command: \"echo FAILED tests/test_x.py::test_y; exit 1\"\n    continue_on_failure: true\n  - type: approve\n    step_id: ship\n    reason: Ship anyway?\n  - type: command\n    step_id: after\n    command: \"true\"\n";
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(dir.join(".coder/workflows")).expect("mkdir");
    std::fs::write(dir.join(".coder/workflows/gated.yml"), spec).expect("spec");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
    let state = tempfile::tempdir().expect("tempdir");
    let coder = |args: &[&str]| {
        run(Command::new(env!("CARGO_BIN_EXE_coder"))
            .args(args)
            .current_dir(dir)
            .env_remove("CODER_RUN_DIR")
            .env_remove("CODER_RUN_ID")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_RUN_ID")
            .env("USER", "alice")
            .env("XDG_STATE_HOME", state.path())
            .env("XDG_DATA_HOME", state.path().join("data")))
    };
    let (code, stdout, stderr) = coder(&["run", "gated"]);
    assert_eq!(code, 3, "waits for the approval: {stdout}{stderr}");
    let run_dir = stdout.trim().lines().last().expect("run dir").to_string();
    let (code, stdout, stderr) = coder(&["approve", &run_dir, "ship"]);
    assert_eq!(code, 1, "the run ends failed: {stdout}{stderr}");
    let record = record_of(Path::new(&run_dir));
    assert_eq!(record["status"], "failed", "{record:#}");
    let ran: Vec<(String, String)> = statuses(&record);
    assert_eq!(
        ran,
        [
            ("tests", "failed"),
            ("ship", "waiting_for_approval"),
            ("ship", "succeeded"),
            ("after", "succeeded")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "the first job ran once: {record:#}"
    );
}

/// A tester that turns red tests green by deleting their assertions (in the blocked `tests/`)
/// is caught: a violation naming the test file, the patch withheld, the retest never run, the
/// checkout put back.
#[test]
fn a_tester_that_weakens_the_tests_is_caught_and_nothing_is_kept() {
    let repo = python_repo("github", "", false);
    let dir = repo.path();
    let state = tempfile::tempdir().expect("tempdir");
    let weakener = agent("test-weakener.sh");
    let (code, stdout, stderr) = coder_run_with(dir, state.path(), &["--agent", &weakener]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let run_dir = Path::new(stdout.trim().lines().last().expect("run dir"));
    let record = record_of(run_dir);
    assert_eq!(record["status"], "failed", "{record:#}");
    assert_eq!(
        statuses(&record),
        [("tests", "failed"), ("triage", "failed")].map(|(a, b)| (a.to_string(), b.to_string())),
        "the retest never ran: {record:#}"
    );
    let violation = &record["violations"][0];
    assert_eq!(violation["kind"], "blocked_path", "{record:#}");
    assert_eq!(violation["step_id"], "triage", "{record:#}");
    assert_eq!(violation["paths"][0], "tests/test_tally.py", "{record:#}");
    assert!(
        !run_dir.join("patch.diff").exists(),
        "the patch is withheld"
    );
    let tests = std::fs::read_to_string(dir.join("tests/test_tally.py")).expect("tests");
    assert!(
        tests.contains("assert tally.words(\"a b  c\") == 3"),
        "{tests}"
    );
}
