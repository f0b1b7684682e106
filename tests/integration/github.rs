//! The GitHub Actions emitter: snapshots of every valid fixture's workflow, the outside
//! validators (check-jsonschema, actionlint with shellcheck, zizmor) with zero findings, pinned
//! actions only, and spec strings that cannot break out of their YAML field.

use proptest::prelude::*;

use coder::diag::SourceFile;
use coder::ir::{Action, Job, Origin, Policies, Project, Step, Trigger, Workflow};
use coder::parse::{Node, SpecFormat, Value, parse_document};
use coder::target::github;
use coder::workspace::config::{GithubConfig, TimezoneMode};

use crate::{ir::lower, ok_fixtures, snapshot_settings};

/// Every valid fixture's workflow; those with zoned schedules also with time zones emulated
/// (as `coder-<id>-emulated.yml`).
fn emitted() -> Vec<(String, String)> {
    let paths = ok_fixtures();
    let emulate = GithubConfig {
        timezones: TimezoneMode::Emulate,
        ..GithubConfig::default()
    };
    let mut out = Vec::new();
    for path in &paths {
        let workflow = lower(path);
        let native = github::emit(&workflow);
        let emulated = github::emit_with(&workflow, &emulate);
        out.push((github::workflow_path(&workflow.workflow_id), native.clone()));
        if emulated != native {
            out.push((
                github::workflow_path(&format!("{}-emulated", workflow.workflow_id)),
                emulated,
            ));
        }
    }
    out
}

#[test]
fn workflows_of_every_valid_fixture() {
    for (path, text) in emitted() {
        let name = path.trim_start_matches(".github/workflows/").to_string();
        snapshot_settings().bind(|| insta::assert_snapshot!(format!("github__{name}"), text));
    }
}

/// Run an outside validator; it must be installed (`scripts/test` installs them).
fn validator(program: &str, args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let output = crate::outside_tool(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`{program}` did not run ({e}); scripts/test installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn outside_validators_find_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    let mut files = Vec::new();
    for (path, text) in emitted() {
        std::fs::write(dir.path().join(&path), text).expect("write");
        files.push(path);
    }
    let files: Vec<&str> = files.iter().map(String::as_str).collect();

    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(&files);
    let (ok, out) = validator("check-jsonschema", &args, dir.path());
    assert!(ok, "check-jsonschema:\n{out}");

    let shellcheck = crate::outside_tool("shellcheck").arg("--version").output();
    assert!(
        shellcheck.is_ok(),
        "shellcheck is not installed; actionlint needs it to check run: scripts"
    );
    let mut args = vec!["-no-color", "-oneline"];
    args.extend(&files);
    let (ok, out) = validator("actionlint", &args, dir.path());
    assert!(ok && out.trim().is_empty(), "actionlint:\n{out}");

    let (ok, out) = validator(
        "zizmor",
        &[
            "--offline",
            "--no-progress",
            "--color",
            "never",
            "--strict-collection",
            ".github/workflows",
        ],
        dir.path(),
    );
    assert!(ok && out.contains("No findings"), "zizmor:\n{out}");
}

#[test]
fn every_uses_is_pinned_from_the_table() {
    let table = github::pinned_actions();
    assert!(table.len() >= 3);
    for action in table.values() {
        assert_eq!(action.sha.len(), 40, "{}", action.action);
        assert!(action.sha.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(
            action.sources.len() >= 2,
            "{} needs two sources",
            action.action
        );
    }
    for (path, text) in emitted() {
        for line in text.lines().filter(|l| l.contains("uses: ")) {
            let used = line.split("uses: ").nth(1).expect("value");
            let (reference, comment) = used.split_once(" # ").expect("a version comment");
            assert!(
                table.values().any(|a| reference == format!("{}@{}", a.action, a.sha) && comment == a.version),
                "{path}: `{used}` is not in targets/github/actions.toml"
            );
        }
    }
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

/// A one-job, one-command workflow started by hand, for the emitters' property tests.
pub(crate) fn workflow_with(name: &str, step_name: &str, command: &str) -> Workflow {
    let origin = Origin {
        line: 1,
        column: 1,
        span: coder::diag::Span::default(),
    };
    Workflow {
        workflow_id: "w".into(),
        name: name.into(),
        source: ".coder/workflows/w.yml".into(),
        source_hash: "sha256:00".into(),
        project: Project {
            provider: None,
            owner: None,
            repo: None,
            git_ref: "main".into(),
        },
        triggers: vec![Trigger::Manual { origin }],
        policies: Policies::default(),
        name_origin: origin,
        id_origin: None,
        jobs: vec![Job {
            id: "w-1".into(),
            needs: None,
            approval: None,
            environment: None,
            steps: vec![Step {
                step_id: "s1".into(),
                name: Some(step_name.into()),
                action: Action::Command {
                    command: command.into(),
                },
                secrets: Vec::new(),
                continue_on_failure: false,
                if_failed: None,
                origin,
            }],
        }],
        artifacts: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever a spec's free text holds, the emitted YAML reads back as exactly that text in
    /// exactly its field.
    #[test]
    fn spec_strings_stay_in_their_field(
        name in "\\PC{0,40}|[ :#&*!|>'\"%@`{}\\[\\],\\-?\n\t]{1,12}|yes|no|on|null|~|0x1F|1e3|\\$\\{\\{ x \\}\\}",
        step_name in "\\PC{1,30}",
        // Free text, YAML indicators, and lines that look like what the emitter annotates.
        command in "\\PC{1,60}|[\n:#'\"|> -]{1,20}|x?(\n {0,8}(- )?(uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8|contents: read|permissions:)){1,4}",
    ) {
        let name = if name.trim().is_empty() { "x".to_string() } else { name };
        let text = github::emit(&workflow_with(&name, &step_name, &command));
        let file = SourceFile::new("w.yml", text.clone());
        let root = parse_document(&file, SpecFormat::Yaml)
            .map_err(|d| TestCaseError::fail(format!("{}\n{text}", d.message)))?;
        prop_assert_eq!(value_at(&root, "name").and_then(Node::as_str), Some(name.as_str()), "{}", text);
        let step = value_at(&root, "jobs")
            .and_then(|jobs| value_at(jobs, "w-1"))
            .and_then(|job| value_at(job, "steps"))
            .and_then(|steps| match &steps.value {
                // The spec's step comes right after `coder-step begin`.
                Value::Seq(items) => items
                    .iter()
                    .position(|s| value_at(s, "name").and_then(Node::as_str) == Some("Begin"))
                    .and_then(|begin| items.get(begin + 1)),
                _ => None,
            })
            .expect("the command step");
        prop_assert_eq!(value_at(step, "name").and_then(Node::as_str), Some(step_name.as_str()));
        prop_assert_eq!(value_at(step, "run").and_then(Node::as_str), Some(command.as_str()));
    }
}

/// Scoped secrets on GitHub: each in the `env:` of the steps that receive it only, a
/// deploy's read in its own environment. zizmor's auditor persona, which flags a secret read
/// in a job that runs in no environment, finds nothing; before step scoping the deploy's
/// token reached the release engineer's job, outside any environment.
#[test]
fn scoped_secrets_stay_in_their_steps_and_environments() {
    let spec = "name: Ship\npolicies:\n  secrets: [CARGO_REGISTRY_TOKEN, DEPLOY_TOKEN]\n  gates:\n    require_human_approval_for: [deploy.prod]\nsteps:\n  - type: agent\n    role: release_engineer\n    goal: Write the release notes\n  - type: command\n    command: cargo test\n  - type: deploy\n    target: preview\n    secrets: [DEPLOY_TOKEN]\n  - type: deploy\n    target: prod\n    secrets: [DEPLOY_TOKEN, CARGO_REGISTRY_TOKEN]\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let spec_path = dir.path().join("ship.yml");
    std::fs::write(&spec_path, spec).expect("spec");
    let workflow = lower(&spec_path);
    let text = github::emit(&workflow);
    // The agent's and the command's job reads no secret; each deploy job reads its own.
    let jobs: Vec<&str> = text.split("\n  ship-").skip(1).collect();
    assert_eq!(jobs.len(), 4, "{text}");
    assert!(!jobs[0].contains("secrets."), "{}", jobs[0]);
    assert!(jobs[1].contains("name: preview"), "{}", jobs[1]);
    assert!(jobs[1].contains("DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}"));
    assert!(!jobs[1].contains("CARGO_REGISTRY_TOKEN"), "{}", jobs[1]);
    assert!(jobs[2].contains("name: prod"), "{}", jobs[2]);
    assert!(jobs[2].contains("CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}"));
    assert!(jobs[3].starts_with("publish:"), "{}", jobs[3]);
    assert!(!jobs[3].contains("secrets."), "{}", jobs[3]);
    // The manifest tells where to create them: as the environments' secrets.
    let manifest = github::emit_files(&workflow, &GithubConfig::default())
        .into_iter()
        .find(|f| f.path.ends_with("environments.yml"))
        .expect("manifest")
        .contents;
    assert!(
        manifest.contains(
            "required_reviewers: true\n  secrets:\n  - CARGO_REGISTRY_TOKEN\n  - DEPLOY_TOKEN"
        ),
        "{manifest}"
    );

    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    std::fs::write(workflows.join("coder-ship.yml"), &text).expect("write");
    let (ok, out) = validator(
        "zizmor",
        &[
            "--offline",
            "--no-progress",
            "--color",
            "never",
            "--persona",
            "auditor",
            ".github/workflows",
        ],
        dir.path(),
    );
    assert!(
        ok && out.contains("No findings"),
        "zizmor --persona auditor:\n{out}"
    );
}
