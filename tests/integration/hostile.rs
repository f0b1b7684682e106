//! The runner against a hostile agent that runs as the same user as coder-step: one test per
//! class of attack, each agent a small script in `tests/fixtures/agents/`. Forged, copied and
//! stale approvals and an edited run record; agent code inside coder's own git (a planted
//! global config, a fake `git` early on `PATH`); processes that outlive the step; changes
//! hidden from the path policy (replace objects, local ignore rules, symlink chains); usage
//! records meant to refill the budget; output meant to exhaust memory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::step::{Fixture, agent, run};

/// A local workflow: an agent, an approval, then a deploy in a job of its own.
const GATED: &str = "name: Gated\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change it\n  - type: approve\n    reason: Ship it?\n  - type: deploy\n    target: preview\n";
const GATED_CONFIG: &str =
    "[deploy.preview]\ncommand = \"echo Deployed to https://preview.example/app\"\n";

/// One agent step with `agent_command`.
const ONE_AGENT: &str = "name: One\npolicies:\n  budget:\n    max_wall_clock_sec: 60\n    max_credits: 100\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change the tree\n";

fn agent_step(f: &Fixture, agent_command: &str) -> (i32, String) {
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent_command));
    (code, stderr)
}

fn violation_paths(record: &serde_json::Value, kind: &str) -> Vec<String> {
    record["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| v["kind"] == kind)
        .flat_map(|v| v["paths"].as_array().cloned().unwrap_or_default())
        .map(|p| p.as_str().unwrap_or_default().to_string())
        .collect()
}

fn coder_approve(f: &Fixture, data: &Path, step: &str) -> (i32, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .current_dir(f.repo.path())
        .env("XDG_DATA_HOME", data)
        .env("USER", "alice")
        .args(["approve", &f.run_dir().display().to_string(), step]))
}

/// The sandbox keeps agents out of the run directory; these attacks test the layer behind it
/// (signed approvals, a record marked `interrupted`), as on a kernel without Landlock.
const NO_SANDBOX: &str = "[sandbox]\nenabled = false\n";

#[test]
fn an_agent_cannot_approve_its_own_gate() {
    let config = format!("{GATED_CONFIG}{NO_SANDBOX}");
    let f = Fixture::new(GATED, Some(&config));
    let (code, _, stderr) = run(f
        .command("run", &[])
        .env("CODER_AGENT", agent("self-approver.sh")));
    assert_eq!(code, 1, "the forged approval fails the gate: {stderr}");
    assert!(
        stderr.contains("is not an approval `coder approve` wrote for this run"),
        "{stderr}"
    );
    let record = f.run_json();
    assert_eq!(record["approvals"], serde_json::json!([]));
    assert!(
        record["artifacts"]["deploy_url"].is_null(),
        "nothing deployed"
    );
}

#[test]
fn an_approval_copied_from_another_run_or_for_another_patch_is_refused() {
    let writer = format!("{} {{goal}}", agent("writer.sh"));
    // Run A, approved by a person.
    let a = Fixture::new(GATED, Some(GATED_CONFIG));
    assert_eq!(run(a.command("run", &[]).env("CODER_AGENT", &writer)).0, 3);
    let (code, _, stderr) = coder_approve(&a, a.data.path(), "s2");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("agent-output.txt"), "diffstat: {stderr}");
    assert!(stderr.contains("patch sha256:"), "digest: {stderr}");

    // Run B on the same machine waits at the same gate; A's approval is copied in.
    let b = Fixture::new(GATED, Some(GATED_CONFIG));
    let on_this_machine = |cmd: &mut Command| {
        cmd.env("XDG_DATA_HOME", a.data.path())
            .env("CODER_AGENT", &writer);
    };
    let mut first = b.command("run", &[]);
    on_this_machine(&mut first);
    assert_eq!(run(&mut first).0, 3);
    std::fs::copy(
        a.run_dir().join("approvals/s2.json"),
        b.run_dir().join("approvals/s2.json"),
    )
    .or_else(|_| {
        std::fs::create_dir_all(b.run_dir().join("approvals"))?;
        std::fs::copy(
            a.run_dir().join("approvals/s2.json"),
            b.run_dir().join("approvals/s2.json"),
        )
    })
    .expect("copy");
    let mut again = b.command("run", &[]);
    on_this_machine(&mut again);
    let (code, _, stderr) = run(&mut again);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("signature does not match"), "{stderr}");
    assert!(b.run_json()["artifacts"]["deploy_url"].is_null());

    // Run C, job by job as CI would: approved, then the tree changes before the gate runs
    // (an orphan of the agent's, say): the approval was for another patch.
    let c = Fixture::new(GATED, Some(GATED_CONFIG));
    assert_eq!(run(&mut c.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(c
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", &writer));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(run(&mut c.command("finish", &["--job", "wf-1"])).0, 0);
    // The next job in a fresh clone, the run directory restored.
    let clone = tempfile::tempdir().expect("tempdir");
    crate::step::git(
        clone.path(),
        &["clone", "-q", &c.repo.path().to_string_lossy(), "."],
    );
    let job = |sub: &str, args: &[&str]| run(&mut c.command_in(clone.path(), sub, args));
    assert_eq!(job("begin", &["--job", "wf-2"]).0, 0);
    assert_eq!(job("gate", &["--step", "s2"]).0, 3);
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .current_dir(clone.path())
        .env("XDG_DATA_HOME", c.data.path())
        .env("USER", "alice")
        .args(["approve", &c.run_dir().display().to_string(), "s2"]));
    assert_eq!(code, 0, "{stderr}");
    let late = clone.path().join("late.txt");
    std::fs::write(&late, "written after the approval\n").expect("write");
    let (code, _, stderr) = job("gate", &["--step", "s2"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("but the run's patch is now"), "{stderr}");
    std::fs::remove_file(&late).expect("rm");
    let (code, _, stderr) = job("gate", &["--step", "s2"]);
    assert_eq!(code, 0, "the approved patch passes: {stderr}");
}

#[test]
fn a_run_whose_record_was_edited_is_refused() {
    let writer = format!("{} {{goal}}", agent("writer.sh"));
    let f = Fixture::new(GATED, Some(GATED_CONFIG));
    assert_eq!(run(f.command("run", &[]).env("CODER_AGENT", &writer)).0, 3);
    // The gated job marked as done, as an agent's surviving process could.
    let mut record = f.run_json();
    for job in record["jobs"].as_array_mut().expect("jobs") {
        job["status"] = "succeeded".into();
    }
    std::fs::write(
        f.run_dir().join("run.json"),
        serde_json::to_string_pretty(&record).expect("json"),
    )
    .expect("write");
    let (code, _, stderr) = run(f.command("run", &[]).env("CODER_AGENT", &writer));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was changed outside coder-step"),
        "{stderr}"
    );
    assert!(
        f.run_json()["artifacts"]["deploy_url"].is_null(),
        "nothing deployed"
    );
    let (code, _, stderr) = coder_approve(&f, f.data.path(), "s2");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was changed outside coder-step"),
        "{stderr}"
    );
}

/// A user's HOME with a global git config that runs a program as an external diff.
fn home_with_external_diff(marker: &Path) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    let script = home.path().join("ext-diff.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nenv > '{}'\n", marker.display()),
    )
    .expect("write");
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .expect("chmod");
    std::fs::write(
        home.path().join(".gitconfig"),
        format!("[diff]\n\texternal = {}\n", script.display()),
    )
    .expect("write");
    home
}

#[test]
fn agent_code_never_runs_inside_coders_git() {
    // The agent writes a global git config into its HOME.
    let f = Fixture::new(ONE_AGENT, None);
    let user_home = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        run(f
            .command("begin", &["--job", "wf-1"])
            .env("HOME", user_home.path()))
        .0,
        0
    );
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("HOME", user_home.path())
        .env("CODER_AGENT", agent("home-planter.sh")));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !user_home.path().join(".gitconfig").exists(),
        "the agent had the user's HOME"
    );
    assert!(
        f.read("agent-home.txt")
            .starts_with(&f.run_dir().display().to_string())
    );
    assert_eq!(
        run(f
            .command("finish", &["--job", "wf-1"])
            .env("HOME", user_home.path()))
        .0,
        0
    );
    assert!(!f.run_dir().join("ext-diff-ran").exists());
    assert!(f.read("patch.diff").contains("+changed by s1"));

    // A global config already there (planted earlier) is not coder's either.
    let f = Fixture::new(ONE_AGENT, None);
    let marker = f.run_dir().join("ext-diff-ran");
    let home = home_with_external_diff(&marker);
    let with_home = |cmd: &mut Command| {
        cmd.env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path());
    };
    let mut begin = f.command("begin", &["--job", "wf-1"]);
    with_home(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut step = f.command("step", &["--step", "s1"]);
    with_home(&mut step);
    let (code, _, stderr) = run(step.env(
        "CODER_AGENT",
        format!("{} {{goal}}", agent("blocked-writer.sh")),
    ));
    assert_eq!(code, 1, "{stderr}");
    let mut finish = f.command("finish", &["--job", "wf-1"]);
    with_home(&mut finish);
    let _ = run(&mut finish);
    assert!(!marker.exists(), "the external diff ran inside coder's git");
    assert!(
        violation_paths(&f.run_json(), "blocked_path")
            .contains(&".github/workflows/evil.yml".to_string())
    );
}

#[test]
fn a_git_planted_early_on_path_is_not_coders() {
    let f = Fixture::new(ONE_AGENT, None);
    let planted = tempfile::tempdir().expect("tempdir");
    let marker = planted.path().join("fake-git-ran");
    let fake = planted.path().join("git");
    // A git that hides every diff.
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ntouch '{}'\nfor a in \"$@\"; do [ \"$a\" = diff ] && exit 0; done\nexec /usr/bin/git \"$@\"\n",
            marker.display()
        ),
    )
    .expect("write");
    Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .expect("chmod");
    let path = format!(
        "{}:{}",
        planted.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    assert_eq!(
        run(f.command("begin", &["--job", "wf-1"]).env("PATH", &path)).0,
        0
    );
    let (code, _, stderr) = run(f.command("step", &["--step", "s1"]).env("PATH", &path).env(
        "CODER_AGENT",
        format!("{} {{goal}}", agent("blocked-writer.sh")),
    ));
    assert_eq!(code, 1, "{stderr}");
    assert!(!marker.exists(), "coder-step ran the planted git");
    assert!(
        violation_paths(&f.run_json(), "blocked_path")
            .contains(&".github/workflows/evil.yml".to_string())
    );
}

/// Whether this machine gives a step a cgroup of its own (cgroup v2, and this process's cgroup
/// writable): coder-step, a child of this test, decides the same.
fn machine_gives_cgroups() -> bool {
    std::env::var_os("CODER_PRETEND_NO_CGROUP").is_none()
        && matches!(
            coder::runner::cgroup::Containment::of_this_process(),
            coder::runner::cgroup::Containment::Cgroup(_)
        )
}

/// How the step's processes were contained, as `run.json` records it.
fn containment(f: &Fixture) -> String {
    f.run_json()["steps"][0]["sandbox"]["containment"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Processes of the step end with it, in a cgroup of its own where this machine gives one
/// (root, a delegated subtree) and under the subreaper elsewhere: both are run here where the
/// machine allows (`CODER_PRETEND_NO_CGROUP` stands for a machine without).
#[test]
fn a_deep_chain_of_sessions_does_not_outlive_the_step() {
    for pretend_no_cgroup in [false, true] {
        let f = Fixture::new(ONE_AGENT, None);
        assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
        let mut step = f.command("step", &["--step", "s1"]);
        step.env("CODER_AGENT", agent("setsid-chain.sh"));
        if pretend_no_cgroup {
            step.env("CODER_PRETEND_NO_CGROUP", "1");
        }
        let (code, _, stderr) = run(&mut step);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            f.run_dir().join("agents/s1/chain-ready").exists(),
            "the chain stood"
        );
        let contained = containment(&f);
        let log = f.read("logs/s1.log");
        assert_eq!(
            contained.starts_with("cgroup "),
            machine_gives_cgroups() && !pretend_no_cgroup,
            "{contained}"
        );
        if let Some(dir) = contained.strip_prefix("cgroup ") {
            assert!(log.contains("runs in its own cgroup"), "{log}");
            assert!(!Path::new(dir).exists(), "the step's cgroup was removed");
        } else {
            assert!(contained.starts_with("subreaper ("), "{contained}");
            assert!(log.contains("[coder: no cgroup for this step"), "{log}");
            if pretend_no_cgroup {
                assert!(contained.contains("pretended"), "{contained}");
            }
        }
        std::thread::sleep(Duration::from_secs(4));
        assert!(
            !f.repo.path().join(".github/workflows/late.yml").exists(),
            "a process of the step ({contained}) wrote a blocked file after it ended"
        );
    }
}

/// An unsandboxed agent that kills its runner leaves a process behind; where the step had a
/// cgroup, the next step started on the machine kills what is left in it.
#[test]
fn what_an_agent_leaves_after_killing_its_runner_dies_with_the_next_step() {
    let f = Fixture::new(ONE_AGENT, Some(NO_SANDBOX));
    let out = f
        .command("run", &[])
        .env("CODER_AGENT", agent("orphaning-parent-killer.sh"))
        .output()
        .expect("coder-step runs");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9),
        "the agent killed its runner"
    );
    // The runner writes which containment it used just after the spawn; an agent that kills
    // it at once can be faster, so the log says so only when the runner got that far.
    let had_cgroup = machine_gives_cgroups();
    let log = f.read("logs/s1.log");
    if log.contains("runs in its own cgroup") || log.contains("no cgroup for this step") {
        assert_eq!(log.contains("runs in its own cgroup"), had_cgroup, "{log}");
    }
    // Another run's step on the same machine.
    let g = Fixture::new(ONE_AGENT, None);
    let (code, stderr) = agent_step(&g, &format!("{} {{goal}}", agent("writer.sh")));
    assert_eq!(code, 0, "{stderr}");
    std::thread::sleep(Duration::from_secs(4));
    let late = f.repo.path().join(".github/workflows/late.yml").exists();
    if had_cgroup {
        assert!(
            !late,
            "the orphan of the killed runner outlived the next step"
        );
    } else {
        // Without a cgroup nothing knows the orphan (the README says so).
        assert!(late, "the orphan ran");
    }
}

#[test]
fn replace_objects_do_not_hide_a_change() {
    let f = Fixture::new(ONE_AGENT, None);
    let (code, stderr) = agent_step(&f, &agent("replacer.sh"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        violation_paths(&f.run_json(), "blocked_path")
            .contains(&".github/workflows/evil.yml".to_string())
    );
}

#[test]
fn local_ignore_rules_do_not_hide_a_new_file() {
    let f = Fixture::new(ONE_AGENT, None);
    let (code, stderr) = agent_step(&f, &agent("excluder.sh"));
    assert_eq!(code, 1, "{stderr}");
    let record = f.run_json();
    assert!(
        violation_paths(&record, "blocked_path")
            .contains(&".github/workflows/hidden.yml".to_string()),
        "{record:#}"
    );
    assert!(
        violation_paths(&record, "git_metadata_changed").contains(&".git/info/exclude".to_string())
    );
}

/// A project with a committed `.gitignore` (and one in a folder of its own), whose agent may
/// change `src/` and the ignore file, and never `secret.txt`.
const IGNORING: &str = "name: Ignoring\npolicies:\n  repo:\n    allowed_paths: [\"src/\", \".gitignore\", \".github/\"]\n    blocked_paths: [secret.txt]\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change the tree\n";
const PROJECT_IGNORES: &[(&str, &str)] = &[
    (".gitignore", "target/\nnode_modules/\n__pycache__/\n"),
    ("web/.gitignore", "dist/\n"),
    ("src/lib.rs", "pub fn original() {}\n"),
];

/// The untracked files git lists are judged by the ignore rules the run started with, never
/// by those the agent wrote: an edited tracked `.gitignore`, a new `.gitignore` holding `*`,
/// a global ignore file named in `.git/config`.
#[test]
fn ignore_rules_the_agent_wrote_do_not_hide_a_new_file() {
    for (agent_script, hidden) in [
        ("ignore-editor.sh", "secret.txt"),
        ("ignore-planter.sh", ".github/workflows/planted.yml"),
        ("excludes-file-writer.sh", ".github/workflows/excluded.yml"),
    ] {
        let f = Fixture::with_files(IGNORING, None, PROJECT_IGNORES);
        let (code, stderr) = agent_step(&f, &agent(agent_script));
        assert_eq!(code, 1, "{agent_script}: {stderr}");
        let record = f.run_json();
        assert!(
            violation_paths(&record, "blocked_path").contains(&hidden.to_string()),
            "{agent_script}: {record:#}"
        );
        // Nor is it left out of the patch: the run's patch is withheld, its evidence names it.
        assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 1);
        assert!(!f.run_dir().join("patch.diff").exists(), "{agent_script}");
        assert!(
            f.read("evidence/s1/changes.diff").contains(hidden),
            "{agent_script}"
        );
    }
}

/// What a project's own committed `.gitignore` files ignore stays ignored: build outputs in
/// `target/`, `node_modules/`, `__pycache__/` and a folder's `dist/` are neither changes
/// outside the allowed paths nor part of the patch.
#[test]
fn a_projects_committed_ignore_rules_still_apply() {
    let f = Fixture::with_files(IGNORING, None, PROJECT_IGNORES);
    let (code, stderr) = agent_step(&f, &agent("builder.sh"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    let record = f.run_json();
    assert_eq!(record["violations"], serde_json::json!([]), "{record:#}");
    assert_eq!(record["changed_files"], serde_json::json!(["src/lib.rs"]));
    let patch = f.read("patch.diff");
    assert!(patch.contains("+pub fn changed() {}"), "{patch}");
    assert!(f.repo.path().join("target/debug/app").exists(), "built");
}

#[test]
fn symlink_chains_are_judged_by_where_they_lead() {
    let f = Fixture::new(ONE_AGENT, None);
    let (code, stderr) = agent_step(&f, &agent("symlink-chain.sh"));
    assert_eq!(code, 1, "{stderr}");
    let links = violation_paths(&f.run_json(), "symlink_outside_repository");
    assert!(links.contains(&"c -> d/.git".to_string()), "{links:?}");
    assert!(links.contains(&"e -> d/..".to_string()), "{links:?}");
    assert!(!links.iter().any(|l| l.starts_with("d ->")), "{links:?}");
}

#[test]
fn usage_records_cannot_refill_the_budget_or_break_the_record() {
    // `m` is priced (at nothing): an unpriced model fails closed under a credit cap, which is
    // another test's subject.
    let f = Fixture::new(
        ONE_AGENT,
        Some("[agent.prices.m]\ninput = 0.0\noutput = 0.0\n"),
    );
    let (code, stderr) = agent_step(&f, &agent("refiller.sh"));
    assert_eq!(code, 0, "{stderr}");
    let record = f.run_json();
    let used = record["credits"]["used"]
        .as_f64()
        .expect("credits are a number");
    assert!(used.is_finite() && used >= 0.0, "{record:#}");
    let step = &record["steps"][0];
    assert!(
        step["message"]
            .as_str()
            .is_some_and(|m| m.contains("3 line(s) of the usage file were not usage JSON")),
        "{step:#}"
    );
    assert_eq!(
        step["usage"]["models"][0]["input_tokens"],
        serde_json::json!(u64::MAX),
        "token counts saturate"
    );
    // The ledger reads back: a later step and the job's end work.
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
}

/// The peak resident memory of a running process, in kB (`VmHWM`), 0 once it is gone.
fn peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn an_endless_line_costs_bounded_memory_and_the_log_is_capped() {
    let f = Fixture::new(ONE_AGENT, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let mut child = f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("long-liner.sh"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coder-step starts");
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        peak = peak.max(peak_kb(child.id()));
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(peak > 0, "measured");
    assert!(peak < 100_000, "coder-step peaked at {peak} kB");
    let log = f.run_dir().join("logs/s1.log");
    let size = std::fs::metadata(&log).expect("log").len();
    assert!(size <= (64 << 20) + 1024, "log of {size} bytes");
    let tail = {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(&log).expect("log");
        file.seek(SeekFrom::End(-300)).expect("seek");
        let mut text = String::new();
        file.read_to_string(&mut text).expect("read");
        text
    };
    assert!(tail.contains("the log stops here"), "{tail}");
}

/// One agent step allowed the secret `ALLOWED_SECRET`.
const WITH_SECRET: &str = "name: Secret\npolicies:\n  secrets: [ALLOWED_SECRET]\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change the tree\n";

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----";

#[test]
fn a_secret_in_another_form_is_still_found_and_redacted() {
    for (mode, secret) in [
        ("pem", PEM),
        ("binary", crate::step::SECRET),
        ("base64", crate::step::SECRET),
        ("hex", crate::step::SECRET),
        ("url", crate::step::SECRET),
    ] {
        let f = Fixture::new(WITH_SECRET, None);
        assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
        let (code, _, stderr) = run(f
            .command("step", &["--step", "s1"])
            .env("ALLOWED_SECRET", secret)
            .env(
                "CODER_AGENT",
                format!("{} {mode}", agent("secret-smuggler.sh")),
            ));
        assert_eq!(code, 0, "{mode}: {stderr}");
        let (code, _, stderr) = run(f
            .command("finish", &["--job", "wf-1"])
            .env("ALLOWED_SECRET", secret));
        assert_eq!(code, 1, "{mode}: the patch holds the secret: {stderr}");
        let record = f.run_json();
        assert_eq!(record["violations"][0]["kind"], "secret_in_patch", "{mode}");
        assert!(!f.run_dir().join("patch.diff").exists(), "{mode}");
        let encoded =
            std::fs::read_to_string(f.repo.path().join("encoded.txt")).unwrap_or_default();
        if !encoded.is_empty() {
            assert!(
                !f.read("logs/s1.log").contains(encoded.trim()),
                "{mode}: the log shows the encoded secret"
            );
        }
    }
}

#[test]
fn a_run_whose_runner_was_killed_is_marked_interrupted() {
    let f = Fixture::new(ONE_AGENT, Some(NO_SANDBOX));
    let out = f
        .command("run", &[])
        .env("CODER_AGENT", agent("parent-killer.sh"))
        .output()
        .expect("coder-step runs");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9),
        "the agent killed its runner"
    );
    assert_eq!(f.run_json()["status"], "running", "as the runner left it");
    let (code, _, stderr) = run(&mut f.command("run", &[]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("interrupted: start a new run"), "{stderr}");
    assert_eq!(f.run_json()["status"], "interrupted");
}

/// `cmd` as the unprivileged user `nobody` when the suite runs as root (root reads every
/// process's `/proc` files, so it cannot stand for an agent of the runner's own user), with
/// `dirs` handed to that user; unchanged otherwise.
fn as_the_same_unprivileged_user(cmd: &Command, dirs: &[&Path]) -> Command {
    let mut same = if nix::unistd::geteuid().is_root() {
        for dir in dirs {
            let status = Command::new("chown")
                .args(["-R", "65534:65534"])
                .arg(dir)
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let mut nobody = Command::new("setpriv");
        nobody
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(cmd.get_program());
        nobody
    } else {
        Command::new(cmd.get_program())
    };
    same.args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => same.env(name, value),
            None => same.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        same.current_dir(dir);
    }
    same
}

/// Runs `cmd` as [`as_the_same_unprivileged_user`]; its pid, exit code and stderr.
fn run_as_the_same_user(cmd: &Command, dirs: &[&Path]) -> (u32, Option<i32>, String) {
    let child = as_the_same_unprivileged_user(cmd, dirs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the runner starts");
    let pid = child.id();
    let out = child.wait_with_output().expect("the runner ends");
    (
        pid,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What `environ-thief.sh` found, given the runner's pid: it read its own environment and
/// memory, and nothing of the runner's.
fn assert_nothing_stolen(loot: &str, runner: u32) {
    assert!(loot.contains("own environ readable"), "{loot}");
    assert!(loot.contains("own mem readable"), "{loot}");
    assert!(
        !loot.contains(&format!("of {runner}\n")),
        "the agent read its runner ({runner}): {loot}"
    );
    assert!(!loot.contains("found NOT_ALLOWED_SECRET"), "{loot}");
}

/// The runner's environment (the CI token, secrets the agent may not have) and memory are out
/// of reach of an agent running as the same user, sandbox or not: coder-step and `coder run`
/// are not dumpable, so their `/proc/<pid>/environ` and `mem` are closed to that user, while
/// the agent, dumpable again after its exec, still reads its own.
#[test]
fn the_runners_environment_and_memory_are_out_of_the_agents_reach() {
    let thief = format!("{} NOT_ALLOWED_SECRET", agent("environ-thief.sh"));
    let f = Fixture::new(ONE_AGENT, Some(NO_SANDBOX));
    let dirs = [f.repo.path(), f.run_dir(), f.data.path()];
    let begin = f.command("begin", &["--job", "wf-1"]);
    assert_eq!(run_as_the_same_user(&begin, &dirs).1, Some(0));
    let mut step = f.command("step", &["--step", "s1"]);
    step.env("CODER_AGENT", &thief).env("HOME", f.data.path());
    let (runner, code, stderr) = run_as_the_same_user(&step, &dirs);
    assert_eq!(code, Some(0), "{stderr}");
    assert_nothing_stolen(&f.read("loot.txt"), runner);

    // `coder run`, the whole workflow here, with the secret in its own environment.
    let f = Fixture::new(ONE_AGENT, Some(NO_SANDBOX));
    let state = tempfile::tempdir().expect("tempdir");
    let mut coder_run = f.coder_local(state.path());
    coder_run
        .args(["run", crate::step::SPEC])
        .env("CODER_AGENT", &thief)
        .env("NOT_ALLOWED_SECRET", "must-not-reach-the-agent")
        .env("HOME", f.data.path());
    let (runner, code, stderr) =
        run_as_the_same_user(&coder_run, &[f.repo.path(), f.data.path(), state.path()]);
    assert_eq!(code, Some(0), "{stderr}");
    let loot = files_named(state.path(), "loot.txt");
    assert_eq!(loot.len(), 1, "{loot:?}");
    assert_nothing_stolen(&std::fs::read_to_string(&loot[0]).expect("loot"), runner);
}

/// Every file called `name` under `dir`.
fn files_named(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if entry.file_name() == name {
                found.push(path);
            }
        }
    }
    found
}

/// Every file under `dir` holding `needle`, relative to it.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read_dir").flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("type");
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).expect("read");
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(
                        path.strip_prefix(dir)
                            .expect("inside")
                            .display()
                            .to_string(),
                    );
                }
            }
        }
    }
    found
}

#[test]
fn no_file_of_the_run_directory_holds_a_secret() {
    let f = Fixture::new(WITH_SECRET, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("secret-namer.sh")));
    assert_eq!(code, 1, "the agent committed: {stderr}");
    let (code, _, stderr) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 1, "{stderr}");
    let secret = crate::step::SECRET.as_bytes();
    assert_eq!(files_holding(f.run_dir(), secret), Vec::<String>::new());
    let record = f.run_json();
    assert!(
        record["changed_files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|p| p == "file-***.txt"),
        "{record:#}"
    );
    // The bundle's members too.
    let bundle = std::fs::File::open(f.run_dir().join("logs.tar.gz")).expect("bundle");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bundle));
    let mut members = 0;
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
        let name = entry.path().expect("path").display().to_string();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret), "{name}");
        members += 1;
    }
    assert!(members >= 3, "{members} members");
}
