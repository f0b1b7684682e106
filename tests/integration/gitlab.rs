//! The GitLab CI emitter: snapshots of every valid fixture's pipeline (or the target
//! diagnostic where GitLab cannot express it), check-jsonschema with GitLab's schema, the root
//! `.gitlab-ci.yml` created once and never rewritten, spec strings that cannot break out of
//! their YAML field, and gitlab-ci-local running a generated pipeline end to end with the
//! shell executor: the real `coder-step` from this build, a fake agent through the command
//! adapter, the manual gate held until played, and the run directory passed between jobs as
//! an artifact.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

use coder::diag::{Code, SourceFile};
use coder::ir::{Trigger, Workflow};
use coder::parse::{Node, SpecFormat, Value, parse_document};
use coder::pipeline::{Settings, check_bytes};
use coder::target::gitlab;
use coder::workspace::SpecInput;
use coder::workspace::config::{GitlabConfig, ReportConfig};

use crate::act::{coder_step_dir, e2e_config};
use crate::cli::{coder, repo, run};
use crate::step::{MockApi, git};
use crate::{ir::lower, ok_fixtures, snapshot_settings};

/// Valid specs whose repository events start no GitLab pipeline (C0401 for `--target gitlab`).
const NOT_FOR_GITLAB: [&str; 2] = ["merged-pr.yml", "nightly.json"];

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_string()
}

/// The error codes `coder check --target gitlab` reports for `path`.
fn gitlab_errors(path: &Path) -> Vec<Code> {
    let input = SpecInput {
        path: path.to_path_buf(),
        display: file_name(path),
    };
    let settings = Settings {
        targets: vec![&gitlab::Gitlab],
        ..Settings::default()
    };
    let checked = check_bytes(&input, std::fs::read(path).expect("read"), &settings);
    checked
        .report
        .diagnostics
        .iter()
        .filter(|d| d.severity() == coder::diag::Severity::Error)
        .map(|d| d.code)
        .collect()
}

/// Every file GitLab gets for each fixture GitLab can run.
fn emitted() -> Vec<coder::target::GeneratedFile> {
    ok_fixtures()
        .iter()
        .filter(|path| !NOT_FOR_GITLAB.contains(&file_name(path).as_str()))
        .flat_map(|path| {
            gitlab::emit_files(
                &lower(path),
                &GitlabConfig::default(),
                &ReportConfig::default(),
            )
        })
        .collect()
}

#[test]
fn pipelines_of_every_valid_fixture() {
    for path in ok_fixtures() {
        let name = file_name(&path);
        let errors = gitlab_errors(&path);
        if NOT_FOR_GITLAB.contains(&name.as_str()) {
            // Issue labels and merged pull requests start no GitLab pipeline.
            assert!(
                !errors.is_empty() && errors.iter().all(|c| *c == Code::TriggerUnsupported),
                "{name}: {errors:?}"
            );
            continue;
        }
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let text: String = gitlab::emit_files(
            &lower(&path),
            &GitlabConfig::default(),
            &ReportConfig::default(),
        )
        .iter()
        .map(|f| format!("==> {} <==\n{}", f.path, f.contents))
        .collect();
        snapshot_settings().bind(|| insta::assert_snapshot!(format!("gitlab__{name}"), text));
    }
}

#[test]
fn the_schema_of_gitlab_ci_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = vec![gitlab::ROOT_PIPELINE.to_string()];
    std::fs::write(
        dir.path().join(gitlab::ROOT_PIPELINE),
        gitlab::root_pipeline(),
    )
    .expect("write");
    for file in emitted() {
        let path = dir.path().join(&file.path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &file.contents).expect("write");
        // Schedule manifests are API input, not pipelines.
        if !file.path.contains("/schedules/") {
            files.push(file.path);
        }
    }
    assert!(files.len() > 4, "{files:?}");
    let output = crate::outside_tool("check-jsonschema")
        .args([
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
        ])
        .args(&files)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("`check-jsonschema` did not run ({e}); scripts/test installs it")
        });
    assert!(
        output.status.success(),
        "check-jsonschema:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn no_event_text_reaches_a_script() {
    for file in emitted() {
        for variable in [
            "CI_MERGE_REQUEST_TITLE",
            "CI_MERGE_REQUEST_DESCRIPTION",
            "CI_COMMIT_MESSAGE",
            "CI_COMMIT_TITLE",
            "TRIGGER_PAYLOAD",
            "workflow:",
            "default:",
        ] {
            assert!(
                !file.contents.contains(variable),
                "{}: {variable}",
                file.path
            );
        }
    }
}

const REMOTE: (&str, &str) = (
    ".git/config",
    "[remote \"origin\"]\n\turl = git@gitlab.com:acme/app.git\n",
);
const NIGHTLY: &str = "name: Nightly\ntriggers:\n  - type: cron\n    cron: \"0 3 * * *\"\n    timezone: Europe/Berlin\nsteps:\n  - type: command\n    command: make\n";

#[test]
fn the_root_pipeline_is_created_once_and_never_rewritten() {
    let dir = repo(&[(".coder/workflows/nightly.yml", NIGHTLY), REMOTE]);
    let (code, stdout, stderr) = run(coder().arg("compile").current_dir(dir.path()));
    assert_eq!(code, 0, "{stderr}");
    for path in [
        ".gitlab/coder/nightly.yml",
        ".gitlab/coder/schedules/nightly.yml",
        ".gitlab-ci.yml",
    ] {
        assert!(stdout.contains(&format!("wrote {path}")), "{stdout}");
    }
    assert!(
        stdout.contains("glab api projects/:id/pipeline_schedules"),
        "{stdout}"
    );
    let root_file = dir.path().join(".gitlab-ci.yml");
    assert_eq!(
        std::fs::read_to_string(&root_file).expect("root"),
        gitlab::root_pipeline()
    );

    // The user's own root pipeline: left alone, never drift, the include line said.
    std::fs::write(&root_file, "build:\n  script: [make]\n").expect("write");
    let (code, stdout, _) = run(coder().arg("compile").current_dir(dir.path()));
    assert_eq!(code, 0);
    assert!(stdout.contains(&gitlab::root_include_line()), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&root_file).expect("root"),
        "build:\n  script: [make]\n"
    );
    let (code, stdout, _) = run(coder().args(["compile", "--check"]).current_dir(dir.path()));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("2 generated files are up to date"),
        "{stdout}"
    );
    let (code, stdout, _) = run(coder()
        .args(["check", "--format=short"])
        .current_dir(dir.path()));
    assert_eq!(code, 0, "{stdout}");

    // Once it includes them, nothing more is said.
    std::fs::write(&root_file, gitlab::root_pipeline()).expect("write");
    let (_, stdout, _) = run(coder().arg("compile").current_dir(dir.path()));
    assert!(!stdout.contains("include:"), "{stdout}");

    // A hand edit of a generated pipeline is drift.
    let pipeline = dir.path().join(".gitlab/coder/nightly.yml");
    let text = std::fs::read_to_string(&pipeline).expect("read");
    std::fs::write(&pipeline, text.replace("make", "make all")).expect("write");
    let (code, stdout, _) = run(coder()
        .args(["check", "--format=short"])
        .current_dir(dir.path()));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("C0302"), "{stdout}");
}

fn value_at<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn workflow_with(name: &str, command: &str, setup: &str) -> (Workflow, GitlabConfig) {
    let mut workflow = crate::github::workflow_with(name, name, command);
    // Scheduled, so the pipeline's rules name a source GitLab has for it.
    workflow.triggers = vec![Trigger::Cron {
        cron: "0 3 * * *".into(),
        timezone: "UTC".into(),
        origin: workflow.jobs[0].steps[0].origin,
        cron_origin: workflow.jobs[0].steps[0].origin,
        timezone_origin: None,
    }];
    let config = GitlabConfig {
        setup: vec![setup.into()],
        ..GitlabConfig::default()
    };
    (workflow, config)
}

fn parse(text: &str) -> Result<Node, TestCaseError> {
    let file = SourceFile::new("w.yml", text.to_string());
    parse_document(&file, SpecFormat::Yaml)
        .map_err(|d| TestCaseError::fail(format!("{}\n{text}", d.message)))
}

fn strings(node: Option<&Node>) -> Vec<String> {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever a spec's free text (or the config's setup) holds, the emitted YAML reads back
    /// as exactly that text in exactly its field.
    #[test]
    fn spec_strings_stay_in_their_field(
        name in "\\PC{0,40}|[ :#&*!|>'\"%@`{}\\[\\],\\-?\n\t]{1,12}|yes|no|on|null|~|0x1F|1e3",
        command in "\\PC{1,60}|[\n:#'\"|> -]{1,20}|x?(\n {0,8}(- )?(script:|when: manual|rules:|- if: \\$CI_PIPELINE_SOURCE)){1,4}",
        setup in "\\PC{1,30}|[\n:#'\"|> -]{1,20}",
    ) {
        let name = if name.trim().is_empty() { "x".to_string() } else { name };
        let (workflow, config) = workflow_with(&name, &command, &setup);
        let files = gitlab::emit_files(&workflow, &config, &ReportConfig::default());
        let pipeline = parse(&files[0].contents)?;
        let job = value_at(&pipeline, "w-1").expect("the job");
        let script = strings(value_at(job, "script"));
        // The spec's command comes right after `coder-step begin`.
        let begin = script.iter().position(|l| l.starts_with("coder-step begin")).expect("begin");
        prop_assert_eq!(script.get(begin + 1).map(String::as_str), Some(command.as_str()), "{}", files[0].contents);
        let before_script = strings(value_at(job, "before_script"));
        prop_assert_eq!(before_script.first().map(String::as_str), Some(setup.as_str()));
        // The workflow's keys are its jobs only.
        match &pipeline.value {
            Value::Map(entries) => prop_assert_eq!(entries.len(), 1),
            _ => prop_assert!(false, "not a map"),
        }
        let manifest = parse(&files[1].contents)?;
        prop_assert_eq!(value_at(&manifest, "name").and_then(Node::as_str), Some(name.as_str()));
    }
}

// ---- gitlab-ci-local: the generated pipeline, run end to end -------------------------------

const E2E_SPEC: &str = r#"name: "End to end"
project:
  provider: gitlab
triggers:
  - type: manual
  - type: cron
    cron: "0 3 * * *"
    timezone: Europe/Berlin
policies:
  budget:
    max_wall_clock_sec: 300
steps:
  - type: command
    name: "Build"
    command: echo built > build.txt
  - type: agent
    role: implementer
    goal: "Review the build"
  - type: command
    name: "Test"
    command: "{TEST}"
  - type: approve
    reason: "Ship it?"
  - type: deploy
    target: preview
"#;

/// A repository with the spec compiled, committed, and a remote gitlab-ci-local parses.
fn e2e_repo(test_command: &str) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    // gitlab-ci-local takes GITLAB_USER_LOGIN from the git email: the person who plays jobs.
    git(dir, &["config", "user.email", "alice@example.com"]);
    git(dir, &["config", "user.name", "Alice"]);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        ".coder/workflows/e2e.yml",
        &E2E_SPEC.replace("{TEST}", test_command),
    );
    let install = format!(
        "[gitlab]\ninstall = 'export PATH=\"{}:$PATH\"'\n",
        coder_step_dir()
    );
    write(".coder/config.toml", &e2e_config(&install));
    let (code, _, stderr) = run(coder().arg("compile").current_dir(dir));
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.join(".gitlab-ci.yml").is_file());
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "e2e"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/group/project.git",
        ],
    );
    git(dir, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(
        dir,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ],
    );
    repo
}

pub(crate) struct Pipeline {
    pub(crate) code: i32,
    pub(crate) log: String,
}

/// `gitlab-ci-local` with the shell executor, each job in its own copy of the repository,
/// artifacts carried between jobs (and not back into the repository).
pub(crate) fn gitlab_ci_local(dir: &Path, source: &str, extra: &[&str]) -> Pipeline {
    let output = crate::outside_tool("gitlab-ci-local")
        .args([
            "--no-color",
            "--shell-isolation",
            "--no-artifacts-to-source",
        ])
        .args(["--variable", &format!("CI_PIPELINE_SOURCE={source}")])
        .args(["--ignore-predefined-vars", "CI_PIPELINE_SOURCE,GITLAB_CI"])
        .args(extra)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("`gitlab-ci-local` did not run ({e}); scripts/test installs it")
        });
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Pipeline {
        code: output.status.code().unwrap_or(-1),
        // Job names are padded to the longest one's width: `e2e-1 exported`, whatever the
        // other jobs are called.
        log: log
            .lines()
            .map(|line| {
                line.split(' ')
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
                    + "\n"
            })
            .collect(),
    }
}

/// The run record a job left in its artifact.
pub(crate) fn run_record(dir: &Path, job: &str) -> serde_json::Value {
    let path = dir.join(format!(
        ".gitlab-ci-local/artifacts/{job}/.coder-run/run.json"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

fn position(log: &str, needle: &str) -> usize {
    log.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the gitlab-ci-local log:\n{log}"))
}

/// Play the manual gate job. gitlab-ci-local leaves out `CI_JOB_MANUAL`, which GitLab sets in a
/// played manual job, as here. It says `GITLAB_CI=false` (it is not GitLab), and `GITLAB_CI`
/// is left unset: the generated jobs name their forge themselves (`CODER_FORGE`).
pub(crate) const PLAY_THE_GATE: [&str; 4] =
    ["--manual", "e2e-2", "--variable", "CI_JOB_MANUAL=true"];

/// GitLab's API as publishing meets it: project 17's open merge request from the workflow's
/// branch, whose description takes the run's summary.
pub(crate) fn gitlab_api() -> MockApi {
    MockApi::start(std::sync::Arc::new(|method, path, _| {
        match (method, path) {
            ("GET", p) if p.starts_with("/api/v4/projects/17/merge_requests?") => (
                200,
                r#"[{"iid":4,"web_url":"https://gitlab.example/group/app/-/merge_requests/4"}]"#
                    .to_string(),
            ),
            ("PUT", "/api/v4/projects/17/merge_requests/4") => (200, r#"{"iid":4}"#.to_string()),
            _ => (404, r#"{"message":"404 Not Found"}"#.to_string()),
        }
    }))
}

/// The variables that point a pipeline's jobs at [`gitlab_api`].
pub(crate) fn api_variables(api: &MockApi) -> Vec<String> {
    vec![
        "--variable".to_string(),
        format!("CI_API_V4_URL={}/api/v4", api.url),
        "--variable".to_string(),
        "CI_PROJECT_ID=17".to_string(),
    ]
}

/// The description publishing gave the merge request: the run's summary.
pub(crate) fn merge_request_description(api: &MockApi) -> String {
    let requests = api.requests();
    let put = requests
        .iter()
        .find(|r| r.0 == "PUT")
        .unwrap_or_else(|| panic!("no description was set: {requests:?}"));
    let body: serde_json::Value = serde_json::from_str(&put.2).expect("json");
    body["description"]
        .as_str()
        .expect("description")
        .to_string()
}

/// The pipeline of `source` naming the workflow, its gate played: every job in order, the
/// approval recorded, the deploy's URL kept, the run directory never in a patch.
fn runs_to_the_deploy(dir: &Path, source: &str) {
    // The publish job pushes to a bare repository standing in for GitLab's, which takes push
    // options as GitLab does.
    let remote = tempfile::tempdir().expect("tempdir");
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        remote.path(),
        &["config", "receive.advertisePushOptions", "true"],
    );
    let remote_variable = format!("CODER_PUBLISH_REMOTE={}", remote.path().display());
    let api = gitlab_api();
    let api_variables = api_variables(&api);
    let api_variables: Vec<&str> = api_variables.iter().map(String::as_str).collect();
    let played = gitlab_ci_local(
        dir,
        source,
        &[
            &["--variable", "CODER_WORKFLOW=e2e"][..],
            &PLAY_THE_GATE[..],
            &[
                "--variable",
                &remote_variable,
                "--variable",
                "CODER_GITLAB_TOKEN=glpat-e2e-token",
            ][..],
            &api_variables[..],
        ]
        .concat(),
    );
    assert_eq!(played.code, 0, "{}", played.log);
    position(
        &played.log,
        "review of the build: looks right (Review the build)",
    );
    let first_done = position(&played.log, "e2e-1 exported artifacts");
    let gate = position(&played.log, "e2e-2 imported artifacts");
    let deploy = position(&played.log, "e2e-3 imported artifacts");
    assert!(first_done < gate && gate < deploy, "{}", played.log);
    let record = run_record(dir, "e2e-3");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["approvals"][0]["approver"], "alice", "{record:#}");
    assert_eq!(record["approvals"][0]["source"], "gitlab-manual");
    assert_eq!(
        record["artifacts"]["deploy_url"],
        "https://preview.example.test/e2e"
    );
    // The deploy URL, in the dotenv report GitLab reads for the environment's URL.
    let dotenv = dir.join(".gitlab-ci-local/artifacts/e2e-3/.coder-run/deploy.env");
    assert_eq!(
        std::fs::read_to_string(&dotenv).unwrap_or_else(|e| panic!(
            "{}: {e}\n{}",
            dotenv.display(),
            played.log
        )),
        "CODER_DEPLOY_URL=https://preview.example.test/e2e\n"
    );
    // The run directory stayed out of the checkout the agent saw, and out of the patch.
    assert_eq!(
        record["changed_files"],
        serde_json::json!(["build.txt"]),
        "{record:#}"
    );
    // The publish job pushed the run's patch as the workflow's branch.
    position(&played.log, "e2e-publish imported artifacts");
    position(&played.log, "pushed coder/e2e");
    let shown = Command::new("git")
        .args(["show", "coder/e2e:build.txt"])
        .current_dir(remote.path())
        .output()
        .expect("git runs");
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout),
        "built\n",
        "{}",
        played.log
    );
    // Its merge request's description is the run's summary, not one line.
    let description = merge_request_description(&api);
    assert!(
        description.contains("Review the build") && description.contains("| Step |"),
        "{description}"
    );
}

#[test]
fn gitlab_ci_local_holds_the_gate_until_played_on_a_web_pipeline() {
    let repo = e2e_repo("test -f build.txt");
    let dir = repo.path();
    // Nobody played the gate: gitlab-ci-local, like GitLab, will not run the jobs after it.
    let held = gitlab_ci_local(dir, "web", &["--variable", "CODER_WORKFLOW=e2e"]);
    assert_eq!(held.code, 1, "{}", held.log);
    position(&held.log, "e2e-2 is when:manual, its needed by e2e-3");
    assert!(!held.log.contains("starting shell"), "{}", held.log);
    runs_to_the_deploy(dir, "web");
}

#[test]
fn gitlab_ci_local_runs_the_workflow_its_schedule_names() {
    let repo = e2e_repo("test -f build.txt");
    let dir = repo.path();
    // Another workflow's schedule, or a push: no job of this workflow joins the pipeline.
    for (source, workflow) in [("schedule", "other"), ("push", "e2e")] {
        let listed = gitlab_ci_local(
            dir,
            source,
            &[
                "--variable",
                &format!("CODER_WORKFLOW={workflow}"),
                "--list",
            ],
        );
        assert!(!listed.log.contains("e2e-1"), "{}", listed.log);
    }
    runs_to_the_deploy(dir, "schedule");
}

#[test]
fn gitlab_ci_local_stops_at_a_failing_step_and_keeps_the_run() {
    let repo = e2e_repo("test -f missing.txt");
    let dir = repo.path();
    let run = gitlab_ci_local(
        dir,
        "web",
        &[
            &["--variable", "CODER_WORKFLOW=e2e"][..],
            &PLAY_THE_GATE[..],
        ]
        .concat(),
    );
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(
        !run.log.contains("e2e-2 starting"),
        "the gate must not run:\n{}",
        run.log
    );
    assert!(
        !run.log.contains("e2e-3 starting"),
        "the deploy must not run:\n{}",
        run.log
    );
    // The failed job's run directory was still kept, the failure recorded.
    let record = run_record(dir, "e2e-1");
    assert_eq!(record["status"], "failed", "{record:#}");
}
