//! The sandbox agent steps run in (Landlock): hostile agents from `tests/fixtures/agents/` that
//! try to steal the run key and forge an approval, or write outside the checkout; an honest one
//! that needs a configured cache; and a kernel without Landlock (the test hook
//! `CODER_SANDBOX_PRETEND_NO_LANDLOCK`).

use std::path::Path;

use crate::step::{Fixture, agent, run};

const GATED: &str = "name: Gated\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change it\n  - type: approve\n    reason: Ship it?\n  - type: deploy\n    target: preview\n";
const GATED_CONFIG: &str =
    "[deploy.preview]\ncommand = \"echo Deployed to https://preview.example/app\"\n";
const ONE_AGENT: &str = "name: One\npolicies:\n  budget:\n    max_wall_clock_sec: 60\n    max_credits: 100\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change the tree\n";

/// Every run key's bytes in the data folder `data`.
fn keys(data: &Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(data.join("coder/keys"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn step_json(f: &Fixture) -> serde_json::Value {
    f.run_json()["steps"][0].clone()
}

#[test]
fn an_agent_cannot_read_the_run_key_nor_write_an_approval() {
    let f = Fixture::new(GATED, Some(GATED_CONFIG));
    let thief = format!("{} {}", agent("key-thief.sh"), f.data.path().display());
    let (code, _, stderr) = run(f.command("run", &[]).env("CODER_AGENT", &thief));
    assert_eq!(code, 3, "the run waits for a real approval: {stderr}");
    let keys = keys(f.data.path());
    assert!(!keys.is_empty(), "the run has a key");
    let stolen = std::fs::read(f.run_dir().join("agents/s1/stolen-key")).expect("the agent ran");
    for key in &keys {
        assert!(!holds(&stolen, key), "the agent read the key");
    }
    assert!(
        !f.run_dir().join("approvals/s2.json").exists(),
        "the forged approval was not written"
    );
    assert_eq!(f.run_json()["approvals"], serde_json::json!([]));
    let log = f.read("logs/s1.log");
    assert!(log.contains("Permission denied"), "{log}");
    assert!(log.contains("[coder: sandbox on (Landlock)"), "{log}");
    assert_eq!(step_json(&f)["sandbox"]["status"], "enforced");
}

#[test]
fn without_the_sandbox_the_same_agent_steals_the_key() {
    // The control: proves the test above can fail.
    let config = format!("{GATED_CONFIG}[sandbox]\nenabled = false\n");
    let f = Fixture::new(GATED, Some(&config));
    let thief = format!("{} {}", agent("key-thief.sh"), f.data.path().display());
    let (_, _, stderr) = run(f.command("run", &[]).env("CODER_AGENT", &thief));
    assert!(stderr.contains("[coder: sandbox OFF"), "{stderr}");
    let stolen = std::fs::read(f.run_dir().join("agents/s1/stolen-key")).expect("the agent ran");
    assert!(
        keys(f.data.path()).iter().any(|key| holds(&stolen, key)),
        "unsandboxed, the key is readable"
    );
}

#[test]
fn writes_outside_the_checkout_are_denied_and_the_log_says_so() {
    let f = Fixture::new(ONE_AGENT, None);
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(home.path().join(".bashrc"), "# mine\n").expect("write");
    let beside = tempfile::tempdir().expect("tempdir");
    let escaper = format!(
        "{} {} {}",
        agent("escaper.sh"),
        home.path().display(),
        beside.path().display()
    );
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("HOME", home.path())
        .env("CODER_AGENT", &escaper));
    assert_eq!(
        code, 0,
        "the agent's last write, in the checkout, worked: {stderr}"
    );
    assert!(!f.run_dir().join("planted.txt").exists(), "run directory");
    assert_eq!(
        std::fs::read_to_string(home.path().join(".bashrc")).expect("bashrc"),
        "# mine\n",
        "dotfiles"
    );
    assert!(!beside.path().join("escaped.txt").exists(), "outside");
    assert!(f.repo.path().join("agent-output.txt").exists(), "checkout");
    let log = f.read("logs/s1.log");
    let denied = log
        .lines()
        .filter(|line| line.contains("Permission denied") && !line.starts_with("[coder:"))
        .count();
    assert_eq!(denied, 3, "{log}");
    assert!(
        log.contains("[coder: sandbox: 3 line(s) above report a denied access"),
        "{log}"
    );
    let sandbox = &step_json(&f)["sandbox"];
    assert_eq!(sandbox["status"], "enforced", "{sandbox}");
}

#[test]
fn an_extra_writable_path_works_only_when_configured() {
    let cache = tempfile::tempdir().expect("tempdir");
    let filler = format!("{} {}", agent("cache-filler.sh"), cache.path().display());

    let denied = Fixture::new(ONE_AGENT, None);
    assert_eq!(run(&mut denied.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(denied
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", &filler));
    assert_eq!(code, 1, "{stderr}");
    assert!(!cache.path().join("index/entry").exists());
    assert!(
        denied.read("logs/s1.log").contains("Permission denied"),
        "{}",
        denied.read("logs/s1.log")
    );

    let config = format!("[sandbox]\nwrite = [\"{}\"]\n", cache.path().display());
    let allowed = Fixture::new(ONE_AGENT, Some(&config));
    assert_eq!(run(&mut allowed.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(allowed
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", &filler));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(cache.path().join("index/entry")).expect("cached"),
        "crate 1.0.0\n"
    );
    let sandbox = &step_json(&allowed)["sandbox"];
    let real = std::fs::canonicalize(cache.path()).expect("real");
    assert_eq!(
        sandbox["extra_write"],
        serde_json::json!([real.display().to_string()]),
        "{sandbox}"
    );
}

#[test]
fn a_configured_path_that_opens_the_run_keys_is_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = format!("[sandbox]\nread = [\"{}\"]\n", data.path().display());
    let f = Fixture::new(ONE_AGENT, Some(&config));
    assert_eq!(
        run(f
            .command("begin", &["--job", "wf-1"])
            .env("XDG_DATA_HOME", data.path()))
        .0,
        0
    );
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("XDG_DATA_HOME", data.path())
        .env("CODER_AGENT", agent("writer.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("which would give the agent the run keys"),
        "{stderr}"
    );
    assert!(
        !f.repo.path().join("agent-output.txt").exists(),
        "not started"
    );
}

#[test]
fn without_landlock_a_required_sandbox_fails_the_step_and_says_why() {
    let f = Fixture::new(ONE_AGENT, Some("[sandbox]\nrequired = true\n"));
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_SANDBOX_PRETEND_NO_LANDLOCK", "1")
        .env("CODER_AGENT", agent("writer.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the kernel offers no Landlock"), "{stderr}");
    assert!(
        !f.repo.path().join("agent-output.txt").exists(),
        "not started"
    );
    let step = step_json(&f);
    assert_eq!(step["sandbox"]["status"], "unavailable", "{step}");
    assert_eq!(step["status"], "failed");
}

#[test]
fn without_landlock_a_local_run_warns_loudly_and_records_it() {
    let f = Fixture::new(ONE_AGENT, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_SANDBOX_PRETEND_NO_LANDLOCK", "1")
        .env("CODER_AGENT", agent("writer.sh")));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("WARNING: sandbox unavailable") && stderr.contains("UNSANDBOXED"),
        "{stderr}"
    );
    assert_eq!(step_json(&f)["sandbox"]["status"], "unavailable");
    assert!(
        f.read("logs/s1.log")
            .contains("WARNING: sandbox unavailable")
    );
}

#[test]
fn a_sandbox_turned_off_is_recorded() {
    let f = Fixture::new(ONE_AGENT, Some("[sandbox]\nenabled = false\n"));
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("writer.sh")));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(step_json(&f)["sandbox"]["status"], "disabled");
}

#[test]
fn in_ci_the_sandbox_is_required_by_default() {
    // GitHub's variables make coder-step a CI run; the pretend hook takes Landlock away.
    let f = Fixture::new(ONE_AGENT, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("GITHUB_ACTIONS", "true")
        .env("CODER_SANDBOX_PRETEND_NO_LANDLOCK", "1")
        .env("CODER_AGENT", agent("writer.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`[sandbox] required`"), "{stderr}");
}

#[test]
fn a_sandboxed_agent_cannot_kill_its_runner() {
    let f = Fixture::new(ONE_AGENT, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let out = f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("parent-killer.sh"))
        .output()
        .expect("coder-step runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the runner lived to record the agent's failed kill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let step = step_json(&f);
    assert_eq!(step["status"], "failed", "{step}");
    assert_eq!(step["exit_code"], 1, "{step}");
    assert!(
        f.read("logs/s1.log").contains("Operation not permitted"),
        "{}",
        f.read("logs/s1.log")
    );
}

#[test]
fn cargo_runs_under_the_defaults_of_a_rust_checkout() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let f = Fixture::with_files(
        ONE_AGENT,
        None,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"sandboxed\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("src/lib.rs", "\n"),
        ],
    );
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f.command("step", &["--step", "s1"]).env(
        "CODER_AGENT",
        format!("{} {cargo}", agent("cargo-locker.sh")),
    ));
    assert_eq!(code, 0, "{stderr}\n{}", f.read("logs/s1.log"));
    assert!(f.repo.path().join("Cargo.lock").exists(), "cargo wrote it");
    assert!(
        f.read("cargo-env.txt")
            .contains(&format!("{}/agents/s1/home/.cargo", f.run_dir().display())),
        "cargo's home is the agent's own: {}",
        f.read("cargo-env.txt")
    );
}
