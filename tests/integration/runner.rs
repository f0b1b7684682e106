//! The runner's policies on the real binaries, each shown holding with a fake agent from
//! `tests/fixtures/agents/`: paths (blocked, disallowed, renames both ways, symlinks, commits,
//! planted git hooks and config), credits (live metering, the default cap), the Claude Code
//! preset on its captured output, whole local runs with approvals, and a runner killed
//! mid-step.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::step::{Fixture, agent, alive, run};

fn spec_with(policies: &str, role: &str) -> String {
    format!(
        "name: Fixture\npolicies:\n  budget:\n    max_wall_clock_sec: 60\n{policies}  secrets: [ALLOWED_SECRET]\nsteps:\n  - type: agent\n    role: {role}\n    goal: Change the tree\n"
    )
}

/// `begin` then one agent step with `agent_command`; the step's exit code and stderr.
fn agent_step(f: &Fixture, agent_command: &str) -> (i32, String) {
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent_command));
    (code, stderr)
}

fn kinds(record: &serde_json::Value) -> Vec<String> {
    record["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn violation<'r>(record: &'r serde_json::Value, kind: &str) -> &'r serde_json::Value {
    record["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .find(|v| v["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} violation in {record:#}"))
}

#[test]
fn blocked_and_disallowed_paths_fail_the_step_and_the_patch_is_withheld() {
    let f = Fixture::new(
        &spec_with(
            "  repo:\n    allowed_paths: [src/]\n    blocked_paths: [src/secret/]\n",
            "implementer",
        ),
        None,
    );
    let (code, stderr) = agent_step(&f, &agent("blocked-writer.sh"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("policy violation"), "{stderr}");
    assert!(stderr.contains(".github/workflows/evil.yml"), "{stderr}");
    let record = f.run_json();
    assert_eq!(record["steps"][0]["status"], "failed");
    let blocked = violation(&record, "blocked_path");
    assert_eq!(
        blocked["paths"],
        serde_json::json!([".github/workflows/evil.yml", "src/secret/key.txt"])
    );
    assert_eq!(blocked["step_id"], "s1");
    assert_eq!(
        violation(&record, "outside_allowed_paths")["paths"],
        serde_json::json!(["docs/notes.md"])
    );
    // The evidence: the step's diff, kept in the run directory.
    let evidence = f.read("evidence/s1/changes.diff");
    assert!(evidence.contains("+on: push"), "{evidence}");

    // No patch to apply or publish; the refused one is kept as evidence.
    let (code, _, _) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 1);
    assert!(!f.run_dir().join("patch.diff").exists());
    assert!(f.read("evidence/patch.diff").contains("src/ok.txt"));
    let record = f.run_json();
    assert!(record["artifacts"]["patch"].is_null());
    let (code, _, stderr) = run(&mut f.command("publish", &[]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("policy violation"), "{stderr}");
}

#[test]
fn renames_are_checked_on_both_sides() {
    let f = Fixture::with_files(
        &spec_with("", "implementer"),
        None,
        &[("src/lib.txt", "lib\n"), ("CLAUDE.md", "be nice\n")],
    );
    let (code, stderr) = agent_step(&f, &agent("renamer.sh"));
    assert_eq!(code, 1, "{stderr}");
    let record = f.run_json();
    let paths = &violation(&record, "blocked_path")["paths"];
    // allowed → blocked (the new side) and blocked → allowed (the old side).
    assert_eq!(
        *paths,
        serde_json::json!([".claude/lib.txt", "CLAUDE.md"]),
        "{stderr}"
    );
}

#[test]
fn a_symlink_out_of_the_repository_is_a_violation() {
    let f = Fixture::new(&spec_with("", "implementer"), None);
    let (code, stderr) = agent_step(&f, &agent("symlinker.sh"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        violation(&f.run_json(), "symlink_outside_repository")["paths"],
        serde_json::json!(["src/passwd -> /etc/passwd"])
    );
}

#[test]
fn a_commit_by_the_agent_is_a_violation() {
    let f = Fixture::new(&spec_with("", "implementer"), None);
    let (code, stderr) = agent_step(&f, &agent("committer.sh"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("agents must not commit"), "{stderr}");
    let record = f.run_json();
    let commit = violation(&record, "agent_commit");
    assert!(
        commit["paths"][0]
            .as_str()
            .is_some_and(|c| c.ends_with("agent commit")),
        "{commit}"
    );
    assert!(f.read("evidence/s1/commits.txt").contains("HEAD after"));
    assert_eq!(
        record["changed_files"],
        serde_json::json!(["src/committed.txt"])
    );
}

#[test]
fn planted_hooks_and_git_config_are_restored_before_git_runs() {
    let f = Fixture::new(&spec_with("", "implementer"), None);
    let config_before = std::fs::read_to_string(f.repo.path().join(".git/config")).expect("config");
    let (code, stderr) = agent_step(&f, &agent("hooker.sh"));
    assert_eq!(code, 1, "{stderr}");
    let record = f.run_json();
    assert_eq!(kinds(&record), ["git_metadata_changed"]);
    assert_eq!(
        violation(&record, "git_metadata_changed")["paths"],
        serde_json::json!([".git/config", ".git/hooks/pre-commit"])
    );
    // Put back before coder-step's own git ran: the planted command never ran.
    assert_eq!(
        std::fs::read_to_string(f.repo.path().join(".git/config")).expect("config"),
        config_before
    );
    assert!(!f.repo.path().join(".git/hooks/pre-commit").exists());
    assert!(!f.run_dir().join("fsmonitor-ran").exists());
    assert!(f.read("evidence/s1/git-config.after").contains("fsmonitor"));
}

#[test]
fn publish_rechecks_the_patch_it_is_given() {
    let f = Fixture::new(
        "name: Quiet\nsteps:\n  - type: command\n    command: \"true\"\n",
        None,
    );
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    // A patch.diff that did not come from finish (a tampered artifact).
    std::fs::write(
        f.run_dir().join("patch.diff"),
        "diff --git a/.github/workflows/x.yml b/.github/workflows/x.yml\nnew file mode 100644\n--- /dev/null\n+++ b/.github/workflows/x.yml\n@@ -0,0 +1 @@\n+on: push\n",
    )
    .expect("write");
    let (code, _, stderr) = run(&mut f.command("publish", &[]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(".github/workflows/x.yml (blocked by default"),
        "{stderr}"
    );
}

const PRICES: &str = "[agent.prices.mock-model]\ninput = 1.0\noutput = 10.0\n";

#[test]
fn an_agent_over_budget_is_stopped_and_the_step_ends_budget_exceeded() {
    let f = Fixture::new(
        &spec_with("  budget:\n    max_credits: 50\n", "implementer").replace(
            "  budget:\n    max_wall_clock_sec: 60\n  budget:\n    max_credits: 50\n",
            "  budget:\n    max_wall_clock_sec: 60\n    max_credits: 50\n",
        ),
        Some(PRICES),
    );
    let started = Instant::now();
    let (code, stderr) = agent_step(&f, &agent("spender.sh"));
    assert_eq!(code, 1, "{stderr}");
    // Each line reports $0.20 = 20 credits: stopped after the third, long before it ends.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped promptly"
    );
    assert!(stderr.contains("budget_exceeded"), "{stderr}");
    let record = f.run_json();
    assert_eq!(record["status"], "budget_exceeded");
    let step = &record["steps"][0];
    assert_eq!(step["status"], "budget_exceeded");
    let credits = step["usage"]["credits"].as_f64().expect("credits");
    assert!(credits > 50.0, "{step}");
    assert_eq!(step["usage"]["estimated"], false);
    assert_eq!(record["credits"]["limit"], 50.0);
    assert!(!alive(&f.read("agent.pid")), "the agent was stopped");
    assert_eq!(f.read("budget-env.txt"), "remaining=50.00 usd=0.50\n");
    let ledger: serde_json::Value = serde_json::from_str(&f.read("ledger.json")).expect("ledger");
    assert_eq!(ledger["entries"][0]["step_id"], "s1");

    // The run's credits are spent: the next agent step does not start.
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("writer.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("credits are spent"), "{stderr}");
    assert!(f.read("fake-agent/env.txt").is_empty(), "never started");
}

#[test]
fn the_configured_default_cap_applies_when_the_spec_sets_none() {
    let f = Fixture::new(
        &spec_with("", "implementer"),
        Some(&format!("[budget]\ndefault-max-credits = 10\n{PRICES}")),
    );
    let (code, stderr) = agent_step(&f, &agent("spender.sh"));
    assert_eq!(code, 1, "{stderr}");
    let record = f.run_json();
    assert_eq!(record["credits"]["limit"], 10.0);
    assert_eq!(record["status"], "budget_exceeded");
    assert!(f.read("budget-env.txt").starts_with("remaining=10.00 "));
}

#[test]
fn the_claude_preset_passes_caps_and_meters_its_stream() {
    let config = format!(
        "[agent]\npreset = \"claude\"\nprogram = \"{}\"\nmodel = \"claude-sonnet-4-5\"\ncredential = \"FAKE_ANTHROPIC_KEY\"\nmax-turns = 12\n\n[agent.prices.claude-sonnet-4-5]\ninput = 3.0\noutput = 15.0\n",
        agent("fake-claude.sh")
    );
    let f = Fixture::new(&spec_with("", "implementer"), Some(&config));
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, stdout, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("FAKE_ANTHROPIC_KEY", "sk-fake-key-123"));
    assert_eq!(code, 0, "{stderr}");
    // The agent's output goes to the log and stderr; stdout is coder-step's.
    assert!(stderr.contains("\"type\":\"result\""), "{stderr}");
    assert!(!stdout.contains("\"type\":\"result\""), "{stdout}");
    let argv = f.read("claude-argv.txt");
    for expected in [
        "--output-format\nstream-json\n--verbose",
        "--permission-mode\nacceptEdits",
        "--model\nclaude-sonnet-4-5",
        "--max-turns\n12",
        "--max-budget-usd\n10.00",
        "--append-system-prompt\nYou are the implementer",
    ] {
        assert!(argv.contains(expected), "{expected} in {argv}");
    }
    let env = f.read("claude-env.txt");
    // The key reached the agent (redacted in the run directory once the agent ended).
    assert!(env.contains("FAKE_ANTHROPIC_KEY=***"), "{env}");
    assert!(!env.contains("sk-fake-key-123"), "{env}");
    assert!(
        env.contains("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"),
        "{env}"
    );
    assert!(
        env.contains(&format!(
            "HOME={}",
            f.run_dir().join("agents/s1/home").display()
        )),
        "{env}"
    );
    assert!(f.read("claude-stdin.txt").contains("Change the tree"));
    let record = f.run_json();
    let usage = &record["steps"][0]["usage"];
    assert_eq!(usage["models"][0]["model"], "claude-sonnet-4-5");
    assert_eq!(usage["models"][0]["input_tokens"], 2000);
    assert_eq!(usage["models"][0]["output_tokens"], 400);
    assert_eq!(usage["credits"], 1.2);
    assert_eq!(usage["estimated"], false);
    assert_eq!(record["credits"]["used"], 1.2);
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    assert!(f.read("patch.diff").contains("+hello"));
}

const LOCAL: &str = "name: Local\npolicies:\n  secrets: [ALLOWED_SECRET]\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change it\n  - type: command\n    command: \"echo built > built.txt\"\n  - type: approve\n    reason: Ship it?\n  - type: deploy\n    target: preview\n";
const LOCAL_CONFIG: &str =
    "[deploy.preview]\ncommand = \"echo Deployed to https://preview.example/app\"\n";

fn last_line(stdout: &str) -> String {
    stdout.lines().last().unwrap_or_default().to_string()
}

#[test]
fn coder_step_run_waits_for_approval_and_a_rerun_continues() {
    let f = Fixture::new(LOCAL, Some(LOCAL_CONFIG));
    let writer = format!("{} {{goal}}", agent("writer.sh"));
    let (code, stdout, stderr) = run(f.command("run", &[]).env("CODER_AGENT", &writer));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("coder approve"), "{stderr}");
    assert_eq!(last_line(&stdout), f.run_dir().display().to_string());
    let record = f.run_json();
    assert_eq!(record["status"], "waiting_for_approval");
    assert_eq!(record["jobs"][0]["status"], "succeeded");
    assert_eq!(record["jobs"][1]["status"], "waiting_for_approval");
    assert!(
        f.repo.path().join("built.txt").exists(),
        "the command step ran"
    );

    // Still waiting: a re-run checks again.
    let (code, _, _) = run(f.command("run", &[]).env("CODER_AGENT", &writer));
    assert_eq!(code, 3);
    let approve = |step: &str, user: &str| {
        run(Command::new(env!("CARGO_BIN_EXE_coder"))
            .current_dir(f.repo.path())
            .env("XDG_DATA_HOME", f.data.path())
            .env("USER", user)
            .args(["approve", &f.run_dir().display().to_string(), step]))
    };
    let (code, _, stderr) = approve("s4", "carol");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not waiting for step `s4`"), "{stderr}");

    // `coder approve` shows what is approved; a systemd run continues when it runs again.
    let (code, _, stderr) = approve("s3", "bob");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("built.txt"), "the diffstat: {stderr}");
    assert!(stderr.contains("patch sha256:"), "the digest: {stderr}");
    let (code, stdout, stderr) = run(f.command("run", &[]).env("CODER_AGENT", &writer));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(last_line(&stdout), f.run_dir().display().to_string());
    let record = f.run_json();
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["approvals"][0]["approver"], "bob");
    assert_eq!(
        record["artifacts"]["deploy_url"],
        "https://preview.example/app"
    );
    // The first job ran once.
    let agent_runs = record["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["step_id"] == "s1")
        .count();
    assert_eq!(agent_runs, 1);
    assert!(f.read("patch.diff").contains("+built"));
}

/// An agent's output without a final newline does not end up on `coder run`'s last line:
/// agent output goes to the step log and stderr, and stdout ends with the run directory.
#[test]
fn coder_runs_last_stdout_line_is_the_run_directory_whatever_the_agent_prints() {
    let f = Fixture::new(&spec_with("", "reviewer"), None);
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        run(f
            .coder_local(state.path())
            .args(["run", "wf", "--agent", &agent("no-newline.sh")]));
    assert_eq!(code, 0, "{stderr}");
    let run_dir = last_line(&stdout);
    assert!(Path::new(&run_dir).join("run.json").is_file(), "{stdout}");
    assert!(!stdout.contains("\"response\""), "{stdout}");
    assert!(stderr.contains("{\"response\": \"done\"}"), "{stderr}");
}

#[test]
fn coder_run_approve_and_runs() {
    let f = Fixture::new(LOCAL, Some(LOCAL_CONFIG));
    let state = tempfile::tempdir().expect("tempdir");
    let coder = |args: &[&str]| {
        run(f
            .coder_local(state.path())
            .env("USER", "alice")
            .env("CODER_KILL_GRACE_SEC", "1")
            .args(args))
    };
    let (code, _, stderr) = coder(&["run", "nope"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no workflow `nope`"), "{stderr}");

    let writer = format!("{} {{goal}}", agent("writer.sh"));
    let (code, stdout, stderr) = coder(&["run", "wf", "--agent", &writer]);
    assert_eq!(code, 3, "{stderr}");
    let run_dir = last_line(&stdout);
    assert!(
        run_dir.starts_with(&state.path().display().to_string()),
        "{run_dir}"
    );
    let run_id = Path::new(&run_dir)
        .file_name()
        .expect("id")
        .to_string_lossy()
        .into_owned();

    let (code, stdout, _) = coder(&["runs"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&run_id), "{stdout}");
    assert!(stdout.contains("waiting_for_approval"), "{stdout}");

    // Approving by run id resumes the run in its checkout.
    let (code, stdout, stderr) = coder(&["approve", &run_id, "s3"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("approved by alice"), "{stderr}");
    assert_eq!(last_line(&stdout), run_dir);
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&run_dir).join("run.json")).expect("run.json"),
    )
    .expect("json");
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["approvals"][0]["approver"], "alice");
    assert_eq!(record["approvals"][0]["source"], "local");
    let (_, stdout, _) = coder(&["runs"]);
    assert!(stdout.contains("succeeded"), "{stdout}");
    let (code, _, stderr) = coder(&["approve", "no-such-run", "s3"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_runner_killed_mid_step_leaves_a_readable_record() {
    let f = Fixture::new(&spec_with("", "implementer"), None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let mut child = f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("sleeper.sh"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("coder-step starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.read("agent.pid").trim().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // The agent and its grandchild outlived the runner; end them.
    for pid_file in ["agent.pid", "grandchild.pid"] {
        let pid = f.read(pid_file);
        let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", f.read("agent.pid").trim())])
        .status();

    let record = f.run_json();
    assert_eq!(record["status"], "running");
    assert_eq!(record["current"]["job"], "wf-1");
    assert_eq!(record["current"]["step"], "s1");
    assert_eq!(record["steps"][0]["status"], "running");
    assert!(record["steps"][0]["finished_at"].is_null());
    // No half-written temporary files left as the record.
    let (code, _, _) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 1);
    let record = f.run_json();
    assert_eq!(record["steps"][0]["status"], "failed");
    assert_eq!(
        record["steps"][0]["message"],
        "interrupted: the step did not finish"
    );
}

/// `coder run` on each of the seed's examples, as written, with a fake agent (reviewers read,
/// the others write) and `cargo` stood in: every run ends with its artifacts.
#[test]
fn coder_run_runs_the_seed_examples() {
    let config = "[deploy.preview]\ncommand = \"echo Deployed to https://preview.example/seed\"\n\n[deploy.prod]\ncommand = \"echo Deployed to https://example.com\"\n";
    let seed_agent = format!("{} {{goal}}", agent("seed-agent.sh"));
    let path = path_with_stand_ins();
    for (example, id) in [
        ("dependency-bump.yml", "wf"),
        ("release.yml", "wf"),
        ("pr-review.yml", "wf"),
        ("wf_release_train.yml", "wf_release_train"),
    ] {
        let spec = std::fs::read_to_string(crate::fixture_dir().join("ok").join(example))
            .expect("seed example");
        let f = Fixture::new(&spec, Some(config));
        let state = tempfile::tempdir().expect("tempdir");
        let coder = |args: &[&str]| {
            run(f
                .coder_local(state.path())
                .env("USER", "dana")
                .env("PATH", &path)
                .args(args))
        };
        let (mut code, stdout, stderr) = coder(&["run", id, "--agent", &seed_agent]);
        let run_dir = last_line(&stdout);
        if example == "release.yml" {
            // Its approve step holds the run until someone approves.
            assert_eq!(code, 3, "{example}: {stderr}");
            let (approved, _, stderr) = coder(&["approve", &run_dir, "s4"]);
            assert_eq!(approved, 0, "{example}: {stderr}");
            code = approved;
        }
        assert_eq!(code, 0, "{example}: {stderr}");
        let dir = Path::new(&run_dir);
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
                .expect("json");
        assert_eq!(record["status"], "succeeded", "{example}: {record:#}");
        let artifacts = &record["artifacts"];
        for artifact in ["log_bundle", "summary"] {
            let file = artifacts[artifact].as_str().expect(artifact);
            assert!(dir.join(file).is_file(), "{example}: {artifact}");
        }
        match example {
            "dependency-bump.yml" | "wf_release_train.yml" => {
                assert!(
                    std::fs::read_to_string(dir.join("patch.diff"))
                        .expect("patch")
                        .contains("+Update"),
                    "{example}: the implementer's change is in the patch"
                );
                assert_eq!(
                    record["test_report"],
                    serde_json::json!({"passed": 3, "failed": 0, "skipped": 1}),
                    "{example}"
                );
            }
            "release.yml" => {
                assert_eq!(record["approvals"][0]["approver"], "dana");
                assert_eq!(artifacts["deploy_url"], "https://example.com");
                let notes = std::fs::read_to_string(
                    dir.join(artifacts["release_notes"].as_str().expect("release notes")),
                )
                .expect("notes");
                assert!(notes.contains("release_engineer"), "{notes}");
            }
            _ => {
                assert!(
                    artifacts["patch"].is_null()
                        || std::fs::read_to_string(dir.join("patch.diff"))
                            .unwrap_or_default()
                            .is_empty(),
                    "{example}: a review changes nothing"
                );
            }
        }
    }
}

/// `PATH` with `tests/fixtures/seed-run/` first: the seed's command steps find a `cargo`
/// that prints what cargo prints.
pub(crate) fn path_with_stand_ins() -> String {
    let stand_ins = crate::root().join("tests/fixtures/seed-run");
    format!(
        "{}:{}",
        stand_ins.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// An agent reporting tokens of a model with no price.
const UNPRICED_AGENT: &str = r#"sh -c 'echo {\"model\":\"mystery-1\",\"input_tokens\":1000,\"output_tokens\":500} >> "$CODER_USAGE_FILE"; echo done'"#;

const CAPPED: &str = "name: Fixture\npolicies:\n  budget:\n    max_wall_clock_sec: 60\n    max_credits: 50\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change the tree\n";

#[test]
fn an_unpriced_model_warns_and_fails_closed_under_a_credit_cap() {
    // No cap of the user's: its tokens count nothing, and the step says so.
    let uncapped = Fixture::new(&spec_with("", "implementer"), Some(PRICES));
    let (code, stderr) = agent_step(&uncapped, UNPRICED_AGENT);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: model `mystery-1` has no price"),
        "{stderr}"
    );
    // Under `max_credits`, a cap that cannot count is no cap: the step fails.
    let capped = Fixture::new(CAPPED, Some(PRICES));
    let (code, stderr) = agent_step(&capped, UNPRICED_AGENT);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("credit cap cannot count"), "{stderr}");
    assert_eq!(capped.run_json()["steps"][0]["status"], "failed");
    // A `"*"` price covers every model.
    let starred = Fixture::new(
        CAPPED,
        Some("[agent.prices.\"*\"]\ninput = 1.0\noutput = 1.0\n"),
    );
    let (code, stderr) = agent_step(&starred, UNPRICED_AGENT);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("no price"), "{stderr}");
    // A configured model with no price is refused before it runs.
    let configured = Fixture::new(CAPPED, Some("[agent]\nmodel = \"mystery-1\"\n"));
    let (code, stderr) = agent_step(&configured, &format!("{} {{goal}}", agent("writer.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("credit cap cannot count"), "{stderr}");
    assert!(
        configured.read("fake-agent/env.txt").is_empty(),
        "never started"
    );
}

/// `coder run --agent` replaces the preset: the preset's model key is not demanded.
#[test]
fn an_agent_override_needs_no_preset_credential() {
    let f = Fixture::new(
        &spec_with("", "implementer"),
        Some("[agent]\npreset = \"claude\"\ncredential = \"ANTHROPIC_API_KEY\"\n"),
    );
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env_remove("ANTHROPIC_API_KEY")
        .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
    assert_eq!(code, 0, "{stderr}");
    assert!(!f.read("fake-agent/env.txt").is_empty(), "the override ran");
}
