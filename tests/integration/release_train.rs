//! A release train on a real crate, end to end on every CI target and locally: the fixture
//! crate `tests/fixtures/release-crate/` (Cargo.toml, Cargo.lock, src/lib.rs, tests, README),
//! an implementer that EDITS its tracked files (`tests/fixtures/agents/release-editor.sh`), the
//! crate's own tests, and jobs that run after a deploy: each later job restores the run's
//! patch into a fresh copy of the checkout, as act, gitlab-ci-local and CI caches give it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::act::{act, coder_step_dir};
use crate::gitlab::{
    api_variables, gitlab_api, gitlab_ci_local, merge_request_description, run_record,
};
use crate::root;
use crate::step::{MockApi, git, run};

/// Implementer → the crate's tests → (approval) → preview deploy → a smoke test of the
/// preview → prod deploy. `{APPROVE}` is the approval step where the target can hold one here.
const SPEC: &str = r#"name: "Release train"
project:
  provider: {PROVIDER}
policies:
  budget:
    max_wall_clock_sec: 600
{GATES}steps:
  - type: agent
    role: implementer
    goal: "Add line counting and release 0.4.0"
  - type: command
    name: "Test"
    command: cargo test --offline --quiet && sh ci/junit.sh
{APPROVE}  - type: deploy
    target: preview
  - type: command
    name: "Smoke test"
    command: cargo test --offline --quiet --test words counts_lines
  - type: deploy
    target: prod
"#;

const APPROVE: &str = "  - type: approve\n    reason: \"Release 0.4.0?\"\n";

/// The prod deploy gated besides: its approval is its own environment's deployment review.
const GATE_PROD: &str = "  gates:\n    require_human_approval_for: [deploy.prod]\n";

/// The deploys check that the job's checkout holds the released version (the run's patch,
/// restored in this job), then name their URL.
fn config(target_section: &str) -> String {
    let agent = root().join("tests/fixtures/agents/release-editor.sh");
    let deploy = |url: &str| {
        format!(
            "command = \"grep -q 'version = .0.4.0.' Cargo.toml && grep -q 'pub fn lines' src/lib.rs && echo deployed to {url}\""
        )
    };
    format!(
        "[agent]\ncommand = [{agent:?}]\n\n[report]\njunit = [\"reports/*.xml\"]\n\n[deploy.preview]\n{}\n\n[deploy.prod]\n{}\n\n{target_section}",
        deploy("https://preview.tally.test"),
        deploy("https://tally.test"),
        agent = agent.display().to_string()
    )
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A git repository of the fixture crate with the release train compiled for `provider`.
fn crate_repo(
    provider: &str,
    approve: bool,
    gate_prod: bool,
    target_section: &str,
) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    copy_dir(&root().join("tests/fixtures/release-crate"), dir);
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "alice@example.com"]);
    git(dir, &["config", "user.name", "Alice"]);
    let spec = SPEC
        .replace("{PROVIDER}", provider)
        .replace("{APPROVE}", if approve { APPROVE } else { "" })
        .replace("{GATES}", if gate_prod { GATE_PROD } else { "" });
    std::fs::create_dir_all(dir.join(".coder/workflows")).expect("mkdir");
    std::fs::write(dir.join(".coder/workflows/release.yml"), spec).expect("spec");
    std::fs::write(dir.join(".coder/config.toml"), config(target_section)).expect("config");
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .arg("compile")
        .current_dir(dir));
    assert_eq!(code, 0, "{stderr}");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "tally 0.3.1"]);
    repo
}

fn position(log: &str, needle: &str) -> usize {
    log.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the log:\n{log}"))
}

/// The test report the crate's CI wrote in the first job (`ci/junit.sh`), counted though it
/// is no part of the patch.
fn junit_counts() -> serde_json::Value {
    serde_json::json!({"passed": 3, "failed": 0, "skipped": 0})
}

/// The files the release changes: the implementer's edits of tracked files, and the lock
/// file the crate's tests brought up to the new version (the JUnit report is an output).
fn released_files() -> serde_json::Value {
    serde_json::json!([
        "Cargo.lock",
        "Cargo.toml",
        "README.md",
        "src/lib.rs",
        "tests/words.rs"
    ])
}

/// The GitHub API as the release train meets it under act: the approval environment and the
/// gated deploy's own `prod` environment, each with a required reviewer, alice's approval of
/// the one and bob's of the other, then the pull request publish opens.
fn github_api() -> MockApi {
    MockApi::start(Arc::new(|method, path, _| {
        match (method, path) {
        ("GET", "/repos/acme/tally/environments/release-approve-s3") => (
            200,
            r#"{"id":1,"name":"release-approve-s3","protection_rules":[{"id":3,"type":"required_reviewers","reviewers":[{"type":"User","reviewer":{"login":"alice"}}]}]}"#
                .to_string(),
        ),
        ("GET", "/repos/acme/tally/environments/prod") => (
            200,
            r#"{"id":2,"name":"prod","protection_rules":[{"id":4,"type":"required_reviewers","reviewers":[{"type":"User","reviewer":{"login":"bob"}}]}]}"#
                .to_string(),
        ),
        ("GET", "/repos/acme/tally/actions/runs/1/approvals") => (
            200,
            r#"[{"state":"approved","comment":"prod now","user":{"login":"bob","id":2},"environments":[{"id":2,"name":"prod"}]},{"state":"approved","comment":"ship 0.4.0","user":{"login":"alice","id":1},"environments":[{"id":1,"name":"release-approve-s3"}]}]"#
                .to_string(),
        ),
        ("GET", p) if p.starts_with("/repos/acme/tally/pulls?") => (200, "[]".to_string()),
        ("POST", "/repos/acme/tally/pulls") => (
            201,
            r#"{"number":7,"html_url":"https://github.example/acme/tally/pull/7"}"#.to_string(),
        ),
        _ => (404, r#"{"message":"Not Found"}"#.to_string()),
    }
    }))
}

#[test]
fn act_runs_the_release_train_past_its_deploys() {
    let install = format!(
        "[github]\ninstall = \"echo {} >> \\\"$GITHUB_PATH\\\"\"\n",
        coder_step_dir()
    );
    let repo = crate_repo("github", true, true, &install);
    // The gated prod deploy runs in `prod` itself, showing its URL there.
    let workflow = std::fs::read_to_string(repo.path().join(".github/workflows/coder-release.yml"))
        .expect("workflow");
    assert!(
        workflow
            .contains("environment:\n      name: prod\n      url: ${{ steps.deploy.outputs.url }}"),
        "{workflow}"
    );
    let store = tempfile::tempdir().expect("tempdir");
    let remote = tempfile::tempdir().expect("tempdir");
    git(remote.path(), &["init", "-q", "--bare"]);
    let api = github_api();
    let env = |pair: String| ["--env".to_string(), pair];
    let extra: Vec<String> = [
        env(format!("GITHUB_API_URL={}", api.url)),
        env("GITHUB_REPOSITORY=acme/tally".to_string()),
        env(format!("CODER_PUBLISH_REMOTE={}", remote.path().display())),
        ["-s".to_string(), "GITHUB_TOKEN=ghs_e2e_token".to_string()],
    ]
    .concat();
    let (code, log) = act(repo.path(), "coder-release", store.path(), None, &extra);
    assert_eq!(code, 0, "{log}");
    // Every job after the first restored the patch into act's fresh copy of the checkout.
    let preview = position(&log, "[Release train/Deploy to preview");
    let smoke = position(&log, "[Release train/Smoke test");
    let prod = position(&log, "[Release train/Deploy to prod");
    assert!(preview < smoke && smoke < prod, "{log}");
    assert!(!log.contains("does not match index"), "{log}");
    let last = store.path().join("coder-run-release-5/run.json");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&last)
            .unwrap_or_else(|e| panic!("{}: {e}\n{log}", last.display())),
    )
    .expect("json");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["approvals"][0]["approver"], "alice", "{record:#}");
    // The prod deploy's approval is the deployment review of `prod`, checked there.
    assert_eq!(record["approvals"][1]["step_id"], "s6", "{record:#}");
    assert_eq!(record["approvals"][1]["approver"], "bob", "{record:#}");
    assert_eq!(
        record["approvals"][1]["source"], "github-environment",
        "{record:#}"
    );
    assert!(
        api.requests()
            .iter()
            .any(|r| r.0 == "GET" && r.1 == "/repos/acme/tally/environments/prod"),
        "{log}"
    );
    assert_eq!(record["artifacts"]["deploy_url"], "https://tally.test");
    assert_eq!(record["changed_files"], released_files(), "{record:#}");
    assert_eq!(record["test_report"], junit_counts(), "{record:#}");
    // The publish job pushed the edited crate and opened its pull request.
    let shown = Command::new("git")
        .args(["show", "coder/release:Cargo.toml"])
        .current_dir(remote.path())
        .output()
        .expect("git runs");
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("version = \"0.4.0\""),
        "{log}"
    );
    assert!(
        api.requests()
            .iter()
            .any(|r| r.0 == "POST" && r.1 == "/repos/acme/tally/pulls"),
        "{log}"
    );
}

#[test]
fn gitlab_ci_local_runs_the_release_train_past_its_deploys() {
    let install = format!(
        "[gitlab]\ninstall = 'export PATH=\"{}:$PATH\"'\n",
        coder_step_dir()
    );
    let repo = crate_repo("gitlab", true, true, &install);
    let dir = repo.path();
    // The gated prod deploy is a manual job in the `prod` environment.
    let pipeline_file =
        std::fs::read_to_string(dir.join(".gitlab/coder/release.yml")).expect("pipeline");
    let prod_job = &pipeline_file[pipeline_file.find("release-5:").expect("job 5")..];
    assert!(prod_job.contains("when: manual"), "{pipeline_file}");
    assert!(
        prod_job.contains("environment:\n    name: prod\n"),
        "{pipeline_file}"
    );
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/group/tally.git",
        ],
    );
    git(dir, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    let remote = tempfile::tempdir().expect("tempdir");
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        remote.path(),
        &["config", "receive.advertisePushOptions", "true"],
    );
    // No `GITLAB_CI`: the jobs say their forge. GitLab's API takes the run's summary.
    let api = gitlab_api();
    let api_variables = api_variables(&api);
    let pipeline = gitlab_ci_local(
        dir,
        "web",
        &[
            "--variable",
            "CODER_WORKFLOW=release",
            "--manual",
            "release-2",
            "--manual",
            "release-5",
            "--variable",
            "CI_JOB_MANUAL=true",
            "--variable",
            &format!("CODER_PUBLISH_REMOTE={}", remote.path().display()),
            "--variable",
            "CODER_GITLAB_TOKEN=glpat-e2e-token",
            "--variable",
            &api_variables[1],
            "--variable",
            &api_variables[3],
        ],
    );
    assert_eq!(pipeline.code, 0, "{}", pipeline.log);
    assert!(
        !pipeline.log.contains("does not match index"),
        "{}",
        pipeline.log
    );
    let record = run_record(dir, "release-5");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["approvals"][0]["approver"], "alice", "{record:#}");
    assert_eq!(record["artifacts"]["deploy_url"], "https://tally.test");
    assert_eq!(record["changed_files"], released_files(), "{record:#}");
    assert_eq!(record["test_report"], junit_counts(), "{record:#}");
    // What was published is the edited crate.
    let shown = Command::new("git")
        .args(["show", "coder/release:Cargo.toml"])
        .current_dir(remote.path())
        .output()
        .expect("git runs");
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("version = \"0.4.0\""),
        "{}",
        pipeline.log
    );
    // Authored as GitLab's, with the run's summary (tests, approvals) as the description.
    let author = Command::new("git")
        .args(["log", "-1", "--format=%ae", "coder/release"])
        .current_dir(remote.path())
        .output()
        .expect("git runs");
    let author = String::from_utf8_lossy(&author.stdout);
    assert!(author.starts_with("coder-step@noreply."), "{author}");
    let description = merge_request_description(&api);
    assert!(description.contains("\nTests: "), "{description}");
    assert!(description.contains("`s3` approved by @"), "{description}");
    assert!(
        description.contains("| `s6` | deploy | succeeded |"),
        "{description}"
    );
}

#[test]
fn coder_run_runs_the_release_train_through_its_approval() {
    let repo = crate_repo("github", true, false, "");
    let dir = repo.path();
    let state = tempfile::tempdir().expect("tempdir");
    let coder = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
        cmd.current_dir(dir)
            .env_remove("CODER_RUN_DIR")
            .env_remove("CODER_RUN_ID")
            .env_remove("CODER_AGENT")
            .env_remove("GITHUB_RUN_ID")
            .env_remove("GITHUB_ACTIONS")
            .env("USER", "alice")
            .env("XDG_STATE_HOME", state.path());
        cmd
    };
    let (code, stdout, stderr) = run(coder().args(["run", "release"]));
    assert_eq!(code, 3, "{stdout}{stderr}");
    let runs = state.path().join("coder/runs");
    let id = std::fs::read_to_string(runs.join("release.latest")).expect("latest");
    let (code, stdout, stderr) = run(coder().args(["approve", id.trim(), "s3"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs.join(id.trim()).join("run.json")).expect("run.json"),
    )
    .expect("json");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["artifacts"]["deploy_url"], "https://tally.test");
    assert_eq!(record["changed_files"], released_files(), "{record:#}");
    assert_eq!(record["test_report"], junit_counts(), "{record:#}");
    let summary =
        std::fs::read_to_string(runs.join(id.trim()).join("summary.md")).expect("summary");
    assert!(!summary.contains("waiting_for_approval"), "{summary}");
}
