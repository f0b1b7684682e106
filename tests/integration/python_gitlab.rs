//! A GitLab-hosted Python project end to end: the fixture `tests/fixtures/python-project/`
//! (the package `tally`, pytest writing JUnit to `reports/`) on a self-hosted
//! GitLab (`git.acme.internal`, named in the config's `[hosts]`), with three workflows side by
//! side in one `.coder/workflows/`, compiled together: a merge-request review, a release train
//! and the nightly triage of `conditions.rs` (which runs it). gitlab-ci-local runs the review
//! as a merge-request pipeline and the release train with its gates played; a loopback mock
//! stands in for GitLab's API and a bare repository for its git remote.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::act::coder_step_dir;
use crate::conditions::{TRIAGE, copy_dir, pytest_dir};
use crate::gitlab::{
    api_variables, gitlab_api, gitlab_ci_local, merge_request_description, run_record,
};
use crate::step::{MockApi, agent, git, run};

/// The reviewer of every merge request (a merge-request pipeline on GitLab).
const REVIEW: &str = r#"name: "Merge request review"
triggers:
  - type: repo_event
    event: pull_request.opened
  - type: repo_event
    event: pull_request.synchronize
steps:
  - type: agent
    role: reviewer
    goal: "Review the merge request: bugs, missing tests, what to change."
"#;

/// Implementer (edits tracked files) → pytest with JUnit → approval → preview deploy → a
/// smoke test of the released version → the prod deploy, gated besides. The path policy
/// allows the release's files only: the JUnit report is an output, never a change.
const RELEASE: &str = r#"name: "Release train"
triggers:
  - type: manual
policies:
  budget:
    max_wall_clock_sec: 600
  repo:
    allowed_paths: ["pyproject.toml", "src/**", "CHANGELOG.md"]
  gates:
    require_human_approval_for: [deploy.prod]
steps:
  - type: agent
    role: implementer
    goal: "Release tally 0.4.0: fix tally.words, bump the version, add the changelog line"
  - type: command
    name: "Tests"
    command: pytest -q -p no:cacheprovider --junitxml=reports/pytest.xml
  - type: approve
    reason: "Release tally 0.4.0?"
  - type: deploy
    target: preview
  - type: command
    name: "Smoke test"
    command: grep -q '^version = "0.4.0"$' pyproject.toml && python3 -c "import sys; sys.path.insert(0, 'src'); import tally; assert tally.__version__ == '0.4.0', tally.__version__; print('smoke test passed, tally', tally.__version__)"
  - type: deploy
    target: prod
"#;

/// The project's remote: a self-hosted GitLab whose host name does not say so.
const REMOTE: &str = "https://git.acme.internal/acme/tally.git";
const PROJECT_URL: &str = "https://git.acme.internal/acme/tally";

/// A JUnit report an earlier run left in the checkout, with absurd counts: never this run's.
fn stale_report() -> String {
    format!(
        "<testsuites><testsuite name=\"earlier\">{}{}</testsuite></testsuites>\n",
        "<testcase name=\"old\"/>".repeat(277),
        "<testcase name=\"broke\"><failure message=\"x\"/></testcase>".repeat(9)
    )
}

/// The configuration: GitLab named for the remote's host, one agent command for every role
/// (`tally-team.sh` picks the fake agent of the step's role), the JUnit reports, the deploys
/// (each checks that its job's checkout holds the release, the run's patch restored there),
/// and the jobs' install line: this build's coder-step and pytest on the PATH, and the stale
/// report of `checkout` put into the job's copy of the checkout (gitlab-ci-local copies only
/// tracked files), as a runner that keeps its build directory between pipelines leaves it.
fn config(checkout: &Path) -> String {
    let deploy = |url: &str| {
        format!(
            "command = \"grep -q 'version = .0.4.0.' pyproject.toml && echo deployed to {url}\""
        )
    };
    format!(
        r#"[hosts]
"git.acme.internal" = "gitlab"

[agent]
command = [{team:?}, "{{role}}"]

[report]
junit = ["reports/*.xml"]

[deploy.preview]
{preview}

[deploy.prod]
{prod}

[gitlab]
install = 'export PATH="{coder_step}:{pytest}:$PATH"; mkdir -p reports; [ -e reports/junit.xml ] || cp "{stale}" reports/junit.xml'
"#,
        team = agent("tally-team.sh"),
        preview = deploy("https://preview.tally.test"),
        prod = deploy("https://tally.test"),
        coder_step = coder_step_dir(),
        pytest = pytest_dir(),
        stale = checkout.join("reports/junit.xml").display(),
    )
}

/// The project on `main` with its three workflows compiled together (for GitLab, from the
/// remote's host alone), committed, and a stale JUnit report left in its checkout. Unlike the
/// fixture, this copy does not ignore `reports/` (as the project of the issue's round did not):
/// only coder keeps the reports out of the patch and the path policy.
fn tally_repo() -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    copy_dir(&crate::root().join("tests/fixtures/python-project"), dir);
    let ignore = dir.join(".gitignore");
    let ignored = std::fs::read_to_string(&ignore).expect(".gitignore");
    assert!(ignored.contains("reports/\n"), "{ignored}");
    std::fs::write(&ignore, ignored.replace("reports/\n", "")).expect(".gitignore");
    git(dir, &["init", "-q", "-b", "main"]);
    // gitlab-ci-local takes GITLAB_USER_LOGIN from the git email: the person who plays jobs.
    git(dir, &["config", "user.email", "alice@example.com"]);
    git(dir, &["config", "user.name", "Alice"]);
    git(dir, &["remote", "add", "origin", REMOTE]);
    let workflows = dir.join(".coder/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    std::fs::write(workflows.join("review.yml"), REVIEW).expect("spec");
    std::fs::write(workflows.join("release.yml"), RELEASE).expect("spec");
    // The nightly triage as conditions.rs runs it, its provider left to `[hosts]` too.
    let triage = TRIAGE.replace("project:\n  provider: {PROVIDER}\n", "");
    std::fs::write(workflows.join("triage.yml"), triage).expect("spec");
    std::fs::write(dir.join(".coder/config.toml"), config(dir)).expect("config");
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .arg("compile")
        .current_dir(dir));
    assert_eq!(code, 0, "{stderr}");
    for file in [
        ".gitlab-ci.yml",
        ".gitlab/coder/review.yml",
        ".gitlab/coder/release.yml",
        ".gitlab/coder/triage.yml",
    ] {
        assert!(
            dir.join(file).is_file(),
            "{file} was not generated: {stderr}"
        );
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "tally 0.3.1"]);
    git(dir, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    std::fs::create_dir_all(dir.join("reports")).expect("mkdir");
    std::fs::write(dir.join("reports/junit.xml"), stale_report()).expect("stale report");
    assert_eq!(git(dir, &["status", "--porcelain"]), "?? reports/\n");
    repo
}

/// A bare repository standing in for GitLab's, which takes push options as GitLab does.
fn bare_remote() -> tempfile::TempDir {
    let remote = tempfile::tempdir().expect("tempdir");
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        remote.path(),
        &["config", "receive.advertisePushOptions", "true"],
    );
    remote
}

fn show(remote: &Path, object: &str) -> String {
    let shown = Command::new("git")
        .args(["show", object])
        .current_dir(remote)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&shown.stdout).into_owned()
}

/// The jobs a pipeline ran (gitlab-ci-local's `PASS`/`FAIL` lines), in order.
fn jobs_run(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix("PASS ")
                .or_else(|| line.strip_prefix("FAIL "))
                .map(|job| job.trim().to_string())
        })
        .collect()
}

#[test]
fn the_three_workflows_are_dispatched_by_pipeline_source_and_coder_workflow() {
    let repo = tally_repo();
    let dir = repo.path();
    let root_file = std::fs::read_to_string(dir.join(".gitlab-ci.yml")).expect("root");
    assert!(
        root_file.contains("- local: .gitlab/coder/*.yml"),
        "{root_file}"
    );
    // `--list` names the jobs a pipeline would hold, and runs none. A merge request pipeline
    // names no workflow; a push starts none of the three.
    for (source, workflow, expected) in [
        ("merge_request_event", None, Some("review-")),
        ("web", Some("release"), Some("release-")),
        ("schedule", Some("triage"), Some("triage-")),
        ("schedule", Some("release"), None),
        ("push", Some("release"), None),
    ] {
        let variable = workflow.map(|w| format!("CODER_WORKFLOW={w}"));
        let mut extra = vec!["--list"];
        if let Some(variable) = &variable {
            extra.extend(["--variable", variable]);
        }
        let listed = gitlab_ci_local(dir, source, &extra);
        assert_eq!(listed.code, 0, "{}", listed.log);
        for prefix in ["review-", "release-", "triage-"] {
            assert_eq!(
                listed.log.contains(&format!("\n{prefix}")),
                expected == Some(prefix),
                "{source} {workflow:?}: {prefix}\n{}",
                listed.log
            );
        }
    }
}

/// GitLab's API as a merge-request pipeline meets it: the note on merge request !12.
fn notes_api() -> MockApi {
    MockApi::start(Arc::new(|method, path, _| match (method, path) {
        ("POST", "/api/v4/projects/17/merge_requests/12/notes") => {
            (201, r#"{"id":99,"body":"noted"}"#.to_string())
        }
        _ => (404, r#"{"message":"404 Not Found"}"#.to_string()),
    }))
}

#[test]
fn gitlab_ci_local_reviews_a_merge_request_and_notes_the_review() {
    let repo = tally_repo();
    let dir = repo.path();
    let base = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    // The merge request: a branch fixing `tally.words`.
    git(dir, &["checkout", "-q", "-b", "fix-words"]);
    let module = dir.join("src/tally/__init__.py");
    let text = std::fs::read_to_string(&module).expect("module");
    std::fs::write(&module, text.replace("text.split(\" \")", "text.split()")).expect("fix");
    git(dir, &["commit", "-qam", "Count words on any whitespace"]);
    let head = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    let api = notes_api();
    let remote = bare_remote();
    // What GitLab sets in a merge request pipeline (gitlab-ci-local sets none of it).
    let variables = [
        "CI_MERGE_REQUEST_IID=12".to_string(),
        "CI_MERGE_REQUEST_EVENT_TYPE=detached".to_string(),
        "CI_MERGE_REQUEST_TITLE=Count words on any whitespace".to_string(),
        format!("CI_MERGE_REQUEST_PROJECT_URL={PROJECT_URL}"),
        "CI_MERGE_REQUEST_PROJECT_PATH=acme/tally".to_string(),
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=fix-words".to_string(),
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main".to_string(),
        format!("CI_MERGE_REQUEST_DIFF_BASE_SHA={base}"),
        format!("CODER_PUBLISH_REMOTE={}", remote.path().display()),
        "CODER_GITLAB_TOKEN=glpat-e2e-token".to_string(),
    ];
    let mut extra: Vec<String> = variables
        .into_iter()
        .flat_map(|v| ["--variable".to_string(), v])
        .collect();
    extra.extend(api_variables(&api));
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let pipeline = gitlab_ci_local(dir, "merge_request_event", &extra);
    assert_eq!(pipeline.code, 0, "{}", pipeline.log);
    // Only the review's jobs joined the merge request pipeline.
    assert_eq!(
        jobs_run(&pipeline.log),
        ["review-1", "review-publish"],
        "{}",
        pipeline.log
    );
    // The reviewer was told which merge request it reviews, with its diff.
    let run_dir = dir.join(".gitlab-ci-local/artifacts/review-1/.coder-run");
    let prompt = std::fs::read_to_string(run_dir.join("prompts/s1.md")).expect("prompt");
    let named = format!(
        "Merge request !12: `fix-words` ({head}) into `main` ({base}). {PROJECT_URL}/-/merge_requests/12"
    );
    assert!(prompt.contains(&named), "{prompt}");
    assert!(
        prompt.contains("-    return len(text.split(\" \"))\n+    return len(text.split())"),
        "{prompt}"
    );
    // Its final message (what it wrote to `$CODER_STEP_OUTPUT`, not what it printed) is the
    // step's output, shown in the summary, and the body of the one note on the merge request.
    let review = std::fs::read_to_string(run_dir.join("outputs/s1.md")).expect("review");
    assert!(
        review.starts_with(&format!("Reviewed: {named}")),
        "{review}"
    );
    assert!(!review.contains("the review is in"), "{review}");
    let summary = std::fs::read_to_string(run_dir.join("summary.md")).expect("summary");
    assert!(summary.contains(review.trim()), "{summary}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}\n{}", pipeline.log);
    assert_eq!(requests[0].0, "POST", "{requests:?}");
    let body: serde_json::Value = serde_json::from_str(&requests[0].2).expect("json");
    assert_eq!(body["body"].as_str(), Some(review.trim()), "{requests:?}");
    let record = run_record(dir, "review-publish");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(
        record["artifacts"]["pr_url"],
        format!("{PROJECT_URL}/-/merge_requests/12#note_99")
    );
    // A review changes nothing, and nothing was pushed.
    assert_eq!(record["changed_files"], serde_json::json!([]), "{record:#}");
    assert_eq!(
        git(remote.path(), &["for-each-ref"]),
        "",
        "{}",
        pipeline.log
    );
}

#[test]
fn gitlab_ci_local_runs_the_python_release_train_past_its_deploys() {
    let repo = tally_repo();
    let dir = repo.path();
    let base = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    let remote = bare_remote();
    let api = gitlab_api();
    let remote_variable = format!("CODER_PUBLISH_REMOTE={}", remote.path().display());
    let api_variables = api_variables(&api);
    let pipeline = gitlab_ci_local(
        dir,
        "web",
        &[
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
                "PYTHONDONTWRITEBYTECODE=1",
                "--variable",
                &remote_variable,
                "--variable",
                "CODER_GITLAB_TOKEN=glpat-e2e-token",
            ][..],
            &api_variables.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ]
        .concat(),
    );
    assert_eq!(pipeline.code, 0, "{}", pipeline.log);
    let log = &pipeline.log;
    assert_eq!(
        jobs_run(log),
        [
            "release-1",
            "release-2",
            "release-3",
            "release-4",
            "release-5",
            "release-publish"
        ],
        "{log}"
    );
    // Every job after the first restored the implementer's edits of tracked files into its
    // fresh copy of the checkout, and the smoke test found the release there.
    assert!(!log.contains("does not match index"), "{log}");
    for job in ["release-2", "release-3", "release-4", "release-5"] {
        let restored = format!("{job} > coder-step: continued run release-");
        assert!(
            log.lines().any(|line| line.starts_with(&restored)
                && line.ends_with(": applied patch.diff to the checkout")),
            "{job}:\n{log}"
        );
    }
    assert!(
        log.contains("release-4 > smoke test passed, tally 0.4.0"),
        "{log}"
    );
    let record = run_record(dir, "release-5");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    // Both gates were played: the approval, then the prod deploy's own.
    assert_eq!(record["approvals"][0]["step_id"], "s3", "{record:#}");
    assert_eq!(record["approvals"][1]["step_id"], "s6", "{record:#}");
    assert_eq!(record["approvals"][1]["approver"], "alice", "{record:#}");
    assert_eq!(record["artifacts"]["deploy_url"], "https://tally.test");
    // The release is the implementer's edits; the JUnit report is no part of it.
    assert_eq!(
        record["changed_files"],
        serde_json::json!(["CHANGELOG.md", "pyproject.toml", "src/tally/__init__.py"]),
        "{record:#}"
    );
    assert_eq!(record["violations"], serde_json::json!([]), "{record:#}");
    let run_dir = dir.join(".gitlab-ci-local/artifacts/release-5/.coder-run");
    let patch = std::fs::read_to_string(run_dir.join("patch.diff")).expect("patch");
    assert!(patch.contains("+version = \"0.4.0\""), "{patch}");
    assert!(!patch.contains("reports/"), "{patch}");
    // The counts are pytest's in the first job; the stale report every job's checkout held
    // before it began counted nowhere.
    assert_eq!(
        record["test_report"],
        serde_json::json!({"passed": 4, "failed": 0, "skipped": 0}),
        "{record:#}"
    );
    let counted: Vec<String> = std::fs::read_dir(run_dir.join("reports/junit"))
        .expect("reports")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(counted, ["release-1"], "{record:#}");
    let copies: Vec<String> = std::fs::read_dir(run_dir.join("reports/junit/release-1"))
        .expect("reports")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(copies, ["0-pytest.xml"], "{record:#}");
    // The publish job pushed the edited files, and the merge request's description is the
    // run's summary: its tests and the release notes.
    assert!(
        show(remote.path(), "coder/release:pyproject.toml").contains("version = \"0.4.0\""),
        "{log}"
    );
    assert!(
        show(remote.path(), "coder/release:src/tally/__init__.py")
            .contains("__version__ = \"0.4.0\""),
        "{log}"
    );
    assert!(
        show(remote.path(), "coder/release:CHANGELOG.md")
            .contains("## 0.4.0\n\n- `tally.words` splits on any whitespace."),
        "{log}"
    );
    // One commit on the run's base, authored with the self-hosted GitLab's no-reply address.
    assert_eq!(
        git(
            remote.path(),
            &["log", "-1", "--format=%P %ae", "coder/release"]
        ),
        format!("{base} coder-step@noreply.git.acme.internal\n"),
    );
    let description = merge_request_description(&api);
    assert!(
        description.contains("Tests: 4 passed, 0 failed, 0 skipped."),
        "{description}"
    );
    assert!(
        description.contains("tally 0.4.0: tally.words splits on any whitespace."),
        "{description}"
    );
    assert!(
        description.contains("Deployed: https://tally.test"),
        "{description}"
    );
}
