//! `coder-step` on the real binary: its command line (the contract generated CI calls), a run
//! from `begin` to `publish` in temporary git repositories, fake agents from
//! `tests/fixtures/agents/`, and a loopback mock of the GitHub API.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::{root, snapshot_settings};

pub(crate) const SPEC: &str = ".coder/workflows/wf.yml";
pub(crate) const SECRET: &str = "hunter2-very-secret";

pub(crate) fn agent(name: &str) -> String {
    root()
        .join("tests/fixtures/agents")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A committed git repository holding the spec (and config), and a run directory.
pub(crate) struct Fixture {
    pub(crate) repo: tempfile::TempDir,
    pub(crate) run: tempfile::TempDir,
    /// coder's data folder (`XDG_DATA_HOME`): where run keys are kept, outside the run.
    pub(crate) data: tempfile::TempDir,
    pub(crate) hash: String,
}

impl Fixture {
    pub(crate) fn new(spec: &str, config: Option<&str>) -> Fixture {
        Fixture::with_files(spec, config, &[])
    }

    /// A fixture whose first commit also holds `extra` files.
    pub(crate) fn with_files(spec: &str, config: Option<&str>, extra: &[(&str, &str)]) -> Fixture {
        let repo = tempfile::tempdir().expect("tempdir");
        git(repo.path(), &["init", "-q", "-b", "main"]);
        let mut files = vec![(SPEC, spec), ("README.md", "hello\n")];
        files.extend_from_slice(extra);
        if let Some(config) = config {
            files.push((".coder/config.toml", config));
        }
        for (path, text) in files {
            let path = repo.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "init"]);
        Fixture {
            repo,
            run: tempfile::tempdir().expect("tempdir"),
            data: tempfile::tempdir().expect("tempdir"),
            hash: coder::ir::source_hash(spec.as_bytes()),
        }
    }

    pub(crate) fn run_dir(&self) -> &Path {
        self.run.path()
    }

    /// `coder-step SUBCOMMAND --spec … --source-hash … EXTRA…` in `checkout`, outside CI.
    pub(crate) fn command_in(&self, checkout: &Path, subcommand: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder-step"));
        cmd.current_dir(checkout);
        for var in [
            "GITHUB_ACTIONS",
            "GITHUB_RUN_ID",
            "GITHUB_RUN_ATTEMPT",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_OUTPUT",
            "GITHUB_EVENT_NAME",
            "GITHUB_REF_NAME",
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "CODER_AGENT",
            "CODER_RUN_ID",
            "CODER_JOB_STATUS",
            "GITLAB_CI",
            "CI_JOB_MANUAL",
            "GITLAB_USER_LOGIN",
            "CI_COMMIT_REF_NAME",
            "CI_PIPELINE_SOURCE",
            "CI_MERGE_REQUEST_IID",
            "CODER_GITLAB_TOKEN",
            "CODER_DOTENV",
            "CODER_PUBLISH_REMOTE",
            "CODER_RUN_DIR",
            "CODER_FORGE",
            "CI_API_V4_URL",
            "CI_PROJECT_ID",
            "CI_SERVER_HOST",
            "XDG_STATE_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("CODER_RUN_DIR", self.run_dir())
            .env("XDG_DATA_HOME", self.data.path())
            .env("CODER_KILL_GRACE_SEC", "1")
            .env("ALLOWED_SECRET", SECRET)
            .env("NOT_ALLOWED_SECRET", "must-not-reach-the-agent")
            .arg(subcommand)
            .args(["--spec", SPEC, "--source-hash", &self.hash])
            .args(extra);
        cmd
    }

    /// `coder …` (the user's CLI) in the checkout, as a local run: no CI variables, and runs
    /// kept in the state folder `state`.
    pub(crate) fn coder_local(&self, state: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
        cmd.current_dir(self.repo.path())
            .env_remove("CODER_RUN_DIR")
            .env_remove("CODER_RUN_ID")
            .env_remove("CODER_AGENT")
            .env_remove("GITHUB_RUN_ID")
            .env_remove("GITHUB_ACTIONS")
            .env("XDG_DATA_HOME", self.data.path())
            .env("XDG_STATE_HOME", state);
        cmd
    }

    pub(crate) fn command(&self, subcommand: &str, extra: &[&str]) -> Command {
        self.command_in(self.repo.path(), subcommand, extra)
    }

    pub(crate) fn run_json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.run_dir().join("run.json")).expect("run.json");
        serde_json::from_str(&text).expect("run.json is JSON")
    }

    /// A file of the run directory, or else of an agent's own folder in it (`agents/<step>/`,
    /// where a sandboxed fake agent records what it was given); empty when there is none.
    pub(crate) fn read(&self, name: &str) -> String {
        let direct = self.run_dir().join(name);
        if direct.exists() {
            return std::fs::read_to_string(direct).unwrap_or_default();
        }
        std::fs::read_dir(self.run_dir().join("agents"))
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|step| std::fs::read_to_string(step.path().join(name)).ok())
            .unwrap_or_default()
    }
}

pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("coder-step runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn agent_spec(role: &str, seconds: u32) -> String {
    format!(
        "name: Fixture\npolicies:\n  budget:\n    max_wall_clock_sec: {seconds}\n  secrets: [ALLOWED_SECRET]\nsteps:\n  - type: agent\n    role: {role}\n    goal: \"Add the file, then say 'done'\"\n"
    )
}

#[test]
fn help_texts_are_the_contract() {
    let mut names = vec![("step_help".to_string(), vec!["--help"])];
    for sub in [
        "begin", "gate", "step", "finish", "publish", "run", "tz-gate",
    ] {
        names.push((
            format!("step_help_{}", sub.replace('-', "_")),
            vec![sub, "--help"],
        ));
    }
    for (name, args) in names {
        let (code, stdout, _) = run(Command::new(env!("CARGO_BIN_EXE_coder-step"))
            .env("COLUMNS", "100")
            .args(&args));
        assert_eq!(code, 0);
        snapshot_settings().bind(|| insta::assert_snapshot!(name.as_str(), stdout));
    }
}

#[test]
fn a_changed_spec_is_drift() {
    let mut f = Fixture::new(&agent_spec("implementer", 60), None);
    f.hash = "sha256:0000".to_string();
    let (code, _, stderr) = run(&mut f.command("begin", &["--job", "wf-1"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the spec changed since `coder compile` generated this workflow"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run `coder compile` and commit"),
        "{stderr}"
    );
    assert!(!f.run_dir().join("run.json").exists());
}

#[test]
fn a_spec_with_errors_and_unknown_ids_are_refused() {
    let broken = Fixture::new("name: x\nsteps:\n  - type: agnet\n", None);
    let (code, _, stderr) = run(&mut broken.command("begin", &["--job", "wf-1"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("has errors"), "{stderr}");

    let f = Fixture::new(&agent_spec("implementer", 60), None);
    let (code, _, stderr) = run(&mut f.command("begin", &["--job", "nope"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no job `nope`"), "{stderr}");
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(&mut f.command("step", &["--step", "s9"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no step `s9`; its steps are: s1"),
        "{stderr}"
    );
}

#[test]
fn an_agent_step_runs_records_and_leaves_a_patch() {
    let f = Fixture::new(&agent_spec("implementer", 60), None);
    let outside = tempfile::tempdir().expect("tempdir");
    let summary = outside.path().join("step-summary.md");
    let (code, _, stderr) = run(&mut f.command("begin", &["--job", "wf-1"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Echoed to stderr (stdout is coder-step's own), redacted.
    assert!(stderr.contains("the secret is ***"), "{stderr}");
    assert!(!stderr.contains(SECRET));
    assert!(!stdout.contains("the secret is"), "{stdout}");
    let (code, _, stderr) = run(f
        .command("finish", &["--job", "wf-1"])
        .env("GITHUB_STEP_SUMMARY", &summary));
    assert_eq!(code, 0, "{stderr}");

    // What the agent saw: the goal as its argument and on stdin, a clean environment.
    let goal = "Add the file, then say 'done'";
    assert_eq!(f.read("fake-agent/argv-goal.txt"), goal);
    let stdin = f.read("fake-agent/stdin.txt");
    assert!(
        stdin.contains(goal) && stdin.contains("implementer"),
        "{stdin}"
    );
    let env = f.read("fake-agent/env.txt");
    // The allowed secret reached the agent; what the agent wrote into the run directory is
    // redacted once it ends (`***` stands only for a secret's value).
    assert!(env.contains("ALLOWED_SECRET=***"), "{env}");
    assert!(!env.contains(SECRET), "{env}");
    assert!(env.contains("CODER_STEP_ID=s1"), "{env}");
    assert!(!env.contains("NOT_ALLOWED_SECRET"), "{env}");
    assert!(!env.contains("CARGO"), "{env}");

    let record = f.run_json();
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["workflow_id"], "wf");
    assert_eq!(record["spec"], SPEC);
    assert_eq!(record["source_hash"], f.hash.as_str());
    assert_eq!(record["base"]["ref"], "main");
    assert_eq!(
        record["base"]["sha"],
        git(f.repo.path(), &["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(record["jobs"][0]["status"], "succeeded");
    let step = &record["steps"][0];
    assert_eq!(step["status"], "succeeded");
    assert_eq!(step["kind"], "agent");
    assert_eq!(step["exit_code"], 0);
    assert!(step["started_at"].as_str().expect("start").ends_with('Z'));
    assert!(step["finished_at"].is_string());
    assert_eq!(
        record["changed_files"],
        serde_json::json!(["agent-output.txt"])
    );
    assert!(record["current"].is_null());

    let patch = f.read("patch.diff");
    assert!(patch.contains("+changed by s1"), "{patch}");
    let log = f.read("logs/s1.log");
    assert!(log.contains("***") && !log.contains(SECRET), "{log}");
    assert!(f.read("summary.md").contains("| `s1` | agent | succeeded"));
    assert!(
        std::fs::read_to_string(&summary)
            .expect("step summary")
            .contains("succeeded")
    );
    let bundle = std::fs::read(f.run_dir().join("logs.tar.gz")).expect("bundle");
    assert_eq!(&bundle[..2], &[0x1f, 0x8b], "gzip");
    // The user's index is untouched: the new file is still untracked.
    assert!(git(f.repo.path(), &["status", "--porcelain"]).contains("?? agent-output.txt"));
}

pub(crate) fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    // A zombie is dead; only its parent has not read its status yet.
    stat.is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn an_agent_past_the_deadline_is_killed_with_its_grandchildren() {
    let f = Fixture::new(&agent_spec("implementer", 2), None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let started = std::time::Instant::now();
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("sleeper.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(started.elapsed().as_secs() < 30, "killed promptly");
    assert!(stderr.contains("timed_out"), "{stderr}");
    let record = f.run_json();
    assert_eq!(record["status"], "timed_out");
    assert_eq!(record["steps"][0]["status"], "timed_out");
    for pid_file in ["agent.pid", "grandchild.pid"] {
        let pid = f.read(pid_file);
        assert!(!pid.trim().is_empty(), "{pid_file} written");
        assert!(!alive(&pid), "{pid_file} {pid} still running");
    }
    // finish still records where it stopped.
    let (code, _, _) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 1);
    assert_eq!(f.run_json()["jobs"][0]["status"], "timed_out");
}

#[test]
fn a_patch_holding_a_secret_is_a_violation() {
    let f = Fixture::new(&agent_spec("implementer", 60), None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("leaker.sh")));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 1, "{stderr}");
    let record = f.run_json();
    assert_eq!(record["violations"][0]["kind"], "secret_in_patch");
    assert_eq!(record["status"], "failed");
    assert!(record["artifacts"]["patch"].is_null());
    assert!(!f.run_dir().join("patch.diff").exists());
}

#[test]
fn a_read_only_role_that_changes_the_tree_fails() {
    let f = Fixture::new(&agent_spec("reviewer", 60), None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", agent("toucher.sh")));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("read-only role changed"), "{stderr}");
    assert_eq!(f.run_json()["violations"][0]["kind"], "read_only_changed");
}

const TWO_JOBS: &str = "name: Two jobs\npolicies:\n  secrets: [ALLOWED_SECRET]\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change it\n  - type: approve\n    reason: Ship it?\n  - type: deploy\n    target: preview\n";

#[test]
fn a_later_job_starts_from_base_plus_patch_and_waits_for_approval() {
    let f = Fixture::new(TWO_JOBS, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    assert_eq!(f.run_json()["status"], "running");

    // The next job: a fresh clone, the run directory restored.
    let clone = tempfile::tempdir().expect("tempdir");
    git(
        clone.path(),
        &["clone", "-q", &f.repo.path().to_string_lossy(), "."],
    );
    let (code, _, stderr) = run(&mut f.command_in(clone.path(), "begin", &["--job", "wf-2"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(clone.path().join("agent-output.txt")).expect("restored"),
        "changed by s1\n"
    );

    // Outside GitHub, the gate waits for `coder approve`.
    let (code, _, stderr) = run(&mut f.command_in(clone.path(), "gate", &["--step", "s2"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("waiting for approval"), "{stderr}");
    assert_eq!(f.run_json()["status"], "waiting_for_approval");
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_coder"))
        .current_dir(clone.path())
        .env("XDG_DATA_HOME", f.data.path())
        .env("USER", "alice")
        .args(["approve", &f.run_dir().display().to_string(), "s2"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("agent-output.txt"), "{stderr}");
    let (code, _, stderr) = run(&mut f.command_in(clone.path(), "gate", &["--step", "s2"]));
    assert_eq!(code, 0, "{stderr}");
    let record = f.run_json();
    assert_eq!(record["approvals"][0]["approver"], "alice");
    assert_eq!(record["approvals"][0]["source"], "local");
    assert_eq!(record["status"], "running");

    // A step of another kind is not a gate's.
    let (code, _, stderr) = run(&mut f.command_in(clone.path(), "step", &["--step", "s2"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("use `coder-step gate`"), "{stderr}");

    // A checkout of another commit cannot continue the run.
    std::fs::write(clone.path().join("other.txt"), "x").expect("write");
    git(clone.path(), &["add", "-A"]);
    git(clone.path(), &["commit", "-q", "-m", "other"]);
    let (code, _, stderr) = run(&mut f.command_in(clone.path(), "begin", &["--job", "wf-3"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("must check out the run's base commit"),
        "{stderr}"
    );
}

const DEPLOY: &str = "name: Deploy\nsteps:\n  - type: deploy\n    target: preview\n";

#[test]
fn deploys_find_their_url() {
    let printed = Fixture::new(
        DEPLOY,
        Some(
            "[deploy.preview]\ncommand = \"echo building; echo Deployed to https://preview.example/app-1\"\n",
        ),
    );
    let outside = tempfile::tempdir().expect("tempdir");
    let output = outside.path().join("github-output");
    assert_eq!(run(&mut printed.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, stdout, stderr) = run(printed
        .command("step", &["--step", "s1"])
        .env("GITHUB_OUTPUT", &output));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Deployed to"), "{stdout}{stderr}");
    assert_eq!(
        printed.run_json()["artifacts"]["deploy_url"],
        "https://preview.example/app-1"
    );
    assert_eq!(
        std::fs::read_to_string(&output).expect("GITHUB_OUTPUT"),
        "url=https://preview.example/app-1\n"
    );

    let from_file = Fixture::new(
        DEPLOY,
        Some(
            "[deploy.preview]\ncommand = \"echo https://wrong.example; echo https://right.example/x > .deploy-url\"\nurl-file = \".deploy-url\"\n",
        ),
    );
    assert_eq!(
        run(&mut from_file.command("begin", &["--job", "wf-1"])).0,
        0
    );
    let (code, _, stderr) = run(&mut from_file.command("step", &["--step", "s1"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        from_file.run_json()["artifacts"]["deploy_url"],
        "https://right.example/x"
    );

    let unconfigured = Fixture::new(DEPLOY, None);
    assert_eq!(
        run(&mut unconfigured.command("begin", &["--job", "wf-1"])).0,
        0
    );
    let (code, _, stderr) = run(&mut unconfigured.command("step", &["--step", "s1"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&coder::workspace::config::deploy_not_configured("preview")),
        "{stderr}"
    );
}

/// A loopback HTTP server answering from `routes` (method, path with query, body → status,
/// body), recording every request. Serves a bounded number of connections.
pub(crate) struct MockApi {
    pub(crate) url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

/// Method, path with query, body, Authorization header.
pub(crate) type Request = (String, String, String, String);

pub(crate) type Routes = Arc<dyn Fn(&str, &str, &str) -> (u16, String) + Send + Sync>;

impl MockApi {
    pub(crate) fn start(routes: Routes) -> MockApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(64) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let length: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                let auth = headers.get("authorization").cloned().unwrap_or_default();
                let (status, answer) = routes(&method, &path, &body);
                log.lock().expect("log").push((method, path, body, auth));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        MockApi { url, requests }
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("log").clone()
    }
}

fn github_env<'c>(cmd: &'c mut Command, api: &MockApi) -> &'c mut Command {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", &api.url)
        .env("GITHUB_REPOSITORY", "octo/widgets")
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_TOKEN", "ghs_test_token")
}

const APPROVE: &str = "name: Gate\nsteps:\n  - type: command\n    command: \"true\"\n  - type: approve\n    reason: ok?\n";

fn gate_with(environment: &'static str) -> (i32, String, Fixture, MockApi) {
    let f = Fixture::new(APPROVE, None);
    let api = MockApi::start(Arc::new(move |method, path, _| match (method, path) {
        ("GET", "/repos/octo/widgets/environments/wf-approve-s2") => (200, environment.to_string()),
        ("GET", "/repos/octo/widgets/actions/runs/42/approvals") => (
            200,
            r#"[{"state":"approved","comment":"ship it","user":{"login":"alice","id":1},
                     "environments":[{"id":9,"name":"wf-approve-s2"}]}]"#
                .to_string(),
        ),
        _ => (404, r#"{"message":"Not Found"}"#.to_string()),
    }));
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(github_env(&mut f.command("gate", &["--step", "s2"]), &api));
    (code, stderr, f, api)
}

#[test]
fn a_github_gate_checks_reviewers_and_records_the_approver() {
    let (code, stderr, f, api) = gate_with(
        r#"{"id":1,"name":"wf-approve-s2","protection_rules":[{"id":3,"type":"required_reviewers",
            "prevent_self_review":false,"reviewers":[{"type":"User","reviewer":{"login":"alice"}}]}]}"#,
    );
    assert_eq!(code, 0, "{stderr}");
    let record = f.run_json();
    assert_eq!(record["approvals"][0]["approver"], "alice");
    assert_eq!(record["approvals"][0]["comment"], "ship it");
    assert_eq!(record["approvals"][0]["source"], "github-environment");
    assert_eq!(record["steps"][0]["kind"], "approve");
    assert_eq!(record["steps"][0]["status"], "succeeded");
    let requests = api.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.3 == "Bearer ghs_test_token"));
}

#[test]
fn a_github_gate_without_reviewers_refuses() {
    let (code, stderr, f, _) = gate_with(r#"{"id":1,"name":"wf-approve-s2"}"#);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("environment `wf-approve-s2` has no required reviewers"),
        "{stderr}"
    );
    assert_eq!(f.run_json()["status"], "failed");
    let (code, stderr, _, _) = gate_with(
        r#"{"id":1,"name":"wf-approve-s2","protection_rules":[{"id":3,"type":"wait_timer","wait_timer":5}]}"#,
    );
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn a_gitlab_gate_records_who_played_the_manual_job() {
    let f = Fixture::new(APPROVE, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let gate = || {
        let mut cmd = f.command("gate", &["--step", "s2"]);
        cmd.env("GITLAB_CI", "true")
            .env("GITLAB_USER_LOGIN", "alice");
        cmd
    };
    // A job that started by itself proves nobody approved.
    let (code, _, stderr) = run(&mut gate());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("CI_JOB_MANUAL"), "{stderr}");
    assert_eq!(f.run_json()["status"], "failed");

    let (code, _, stderr) = run(gate().env("CI_JOB_MANUAL", "true"));
    assert_eq!(code, 0, "{stderr}");
    let record = f.run_json();
    assert_eq!(record["approvals"][0]["approver"], "alice");
    assert_eq!(record["approvals"][0]["source"], "gitlab-manual");

    let (code, _, stderr) = run(gate()
        .env("CI_JOB_MANUAL", "true")
        .env_remove("GITLAB_USER_LOGIN"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("GITLAB_USER_LOGIN"), "{stderr}");
}

fn publish_api() -> MockApi {
    let created = Arc::new(Mutex::new(false));
    MockApi::start(Arc::new(move |method, path, _| {
        let mut created = created.lock().expect("state");
        match (method, path) {
            ("GET", "/repos/octo/widgets/pulls?head=octo%3Acoder%2Fwf&state=open") => {
                if *created {
                    (200, r#"[{"number":7}]"#.to_string())
                } else {
                    (200, "[]".to_string())
                }
            }
            ("POST", "/repos/octo/widgets/pulls") => {
                *created = true;
                (
                    201,
                    r#"{"number":7,"html_url":"https://github.example/octo/widgets/pull/7"}"#
                        .to_string(),
                )
            }
            ("PATCH", "/repos/octo/widgets/pulls/7") => (
                200,
                r#"{"number":7,"html_url":"https://github.example/octo/widgets/pull/7"}"#
                    .to_string(),
            ),
            _ => (404, r#"{"message":"Not Found"}"#.to_string()),
        }
    }))
}

pub(crate) fn publish_command<'c>(
    cmd: &'c mut Command,
    api: &MockApi,
    remote: &Path,
) -> &'c mut Command {
    github_env(cmd, api)
        .env_remove("GITHUB_ACTIONS")
        .env("GH_TOKEN", "ghs_publish_token")
        .env("CODER_PUBLISH_REMOTE", remote)
}

#[test]
fn publish_pushes_one_branch_and_opens_then_updates_one_pull_request() {
    let bare = tempfile::tempdir().expect("tempdir");
    git(bare.path(), &["init", "-q", "--bare"]);
    let api = publish_api();

    // Nothing changed: nothing to publish.
    let quiet = Fixture::new(
        "name: Quiet\nsteps:\n  - type: command\n    command: \"true\"\n",
        None,
    );
    assert_eq!(run(&mut quiet.command("begin", &["--job", "wf-1"])).0, 0);
    assert_eq!(run(&mut quiet.command("finish", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(publish_command(
        &mut quiet.command("publish", &[]),
        &api,
        bare.path(),
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing to publish"), "{stderr}");

    for round in 0..2 {
        let f = Fixture::new(&agent_spec("implementer", 60), None);
        assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
        let (code, _, stderr) = run(f
            .command("step", &["--step", "s1"])
            .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
        let (code, _, stderr) = run(publish_command(
            &mut f.command("publish", &[]),
            &api,
            bare.path(),
        ));
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(if round == 0 { "opened" } else { "updated" }),
            "{stderr}"
        );
        assert!(!stderr.contains("ghs_publish_token"));
        assert_eq!(
            f.run_json()["artifacts"]["pr_url"],
            "https://github.example/octo/widgets/pull/7"
        );
        assert_eq!(
            git(bare.path(), &["show", "coder/wf:agent-output.txt"]),
            "changed by s1\n"
        );
        assert_eq!(
            git(bare.path(), &["log", "-1", "--format=%ae", "coder/wf"]),
            "coder-step@users.noreply.github.com\n"
        );
    }
    let requests = api.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(methods, ["GET", "POST", "GET", "PATCH"]);
    let created: serde_json::Value = serde_json::from_str(&requests[1].2).expect("json");
    assert_eq!(created["head"], "coder/wf");
    assert_eq!(created["base"], "main");
}

#[test]
fn a_pull_request_run_comments_its_review() {
    let f = Fixture::new(&agent_spec("reviewer", 60), None);
    let api = MockApi::start(Arc::new(|method, path, _| match (method, path) {
        ("POST", "/repos/octo/widgets/issues/5/comments") => (
            201,
            r#"{"id":1,"html_url":"https://github.example/octo/widgets/pull/5#issuecomment-1"}"#
                .to_string(),
        ),
        _ => (404, r#"{"message":"Not Found"}"#.to_string()),
    }));
    let event = tempfile::NamedTempFile::new().expect("event file");
    std::fs::write(event.path(), r#"{"number":5,"pull_request":{"number":5}}"#).expect("write");
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    std::fs::create_dir_all(f.run_dir().join("outputs")).expect("mkdir");
    std::fs::write(f.run_dir().join("outputs/s1.md"), "LGTM, one nit.\n").expect("write");
    let bare = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(
        publish_command(&mut f.command("publish", &[]), &api, bare.path())
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", event.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&requests[0].2).expect("json");
    assert_eq!(body["body"], "LGTM, one nit.");
    assert_eq!(
        f.run_json()["artifacts"]["pr_url"],
        "https://github.example/octo/widgets/pull/5#issuecomment-1"
    );
}

/// On a systemd host the workflow's secrets are credentials (`LoadCredential=`): a deploy step
/// reads them as environment variables, and every log has their values redacted.
#[test]
fn systemd_credentials_reach_deploys_and_are_redacted() {
    let spec = "name: Deploy\npolicies:\n  secrets: [DEPLOY_TOKEN]\nsteps:\n  - type: deploy\n    target: preview\n";
    let fixture = Fixture::new(
        spec,
        Some(
            "[deploy.preview]\ncommand = \"echo token=$DEPLOY_TOKEN; echo https://preview.example/c\"\n",
        ),
    );
    let credentials = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        credentials.path().join("DEPLOY_TOKEN"),
        "s3cr3t-credential\n",
    )
    .expect("write");
    let with_credentials = |cmd: &mut Command| {
        cmd.env("CREDENTIALS_DIRECTORY", credentials.path())
            .env_remove("DEPLOY_TOKEN");
    };
    let mut begin = fixture.command("begin", &["--job", "wf-1"]);
    with_credentials(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut step = fixture.command("step", &["--step", "s1"]);
    with_credentials(&mut step);
    let (code, stdout, stderr) = run(&mut step);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("token=***"),
        "the deploy read the credential, redacted: {stderr}"
    );
    assert!(!stderr.contains("s3cr3t-credential"), "{stderr}");
    assert!(!stdout.contains("s3cr3t-credential"), "{stdout}");
    let log = fixture.read("logs/s1.log");
    assert!(
        log.contains("token=***") && !log.contains("s3cr3t"),
        "{log}"
    );
}

/// A bare repository that takes push options and records them, as GitLab reads them.
fn recording_remote() -> tempfile::TempDir {
    let bare = tempfile::tempdir().expect("tempdir");
    git(bare.path(), &["init", "-q", "--bare"]);
    git(
        bare.path(),
        &["config", "receive.advertisePushOptions", "true"],
    );
    let hook = bare.path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\ni=0\nwhile [ \"$i\" -lt \"${GIT_PUSH_OPTION_COUNT:-0}\" ]; do\n  eval \"printf '%s\\n' \\\"\\$GIT_PUSH_OPTION_$i\\\"\" >> push-options.txt\n  i=$((i + 1))\ndone\necho 'View merge request for coder/wf:' >&2\necho '  https://gitlab.example/acme/app/-/merge_requests/3' >&2\n",
    )
    .expect("hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bare
}

/// The generated GitLab job names its forge (`CODER_FORGE=gitlab`): publishing needs no
/// `GITLAB_CI`, never asks for `GH_TOKEN`, authors the commit with a GitLab no-reply address,
/// and puts the run's summary into the merge request's description.
#[test]
fn gitlab_publish_pushes_one_branch_with_merge_request_push_options() {
    let bare = recording_remote();
    let api = MockApi::start(Arc::new(|method, path, _| match (method, path) {
        ("PUT", "/api/v4/projects/17/merge_requests/3") => (200, r#"{"iid":3}"#.to_string()),
        _ => (404, r#"{"message":"404 Not Found"}"#.to_string()),
    }));
    let api_url = format!("{}/api/v4", api.url);
    let gitlab = |cmd: &mut Command| {
        cmd.env("CODER_FORGE", "gitlab")
            .env("CI_COMMIT_REF_NAME", "main")
            .env("CI_PROJECT_ID", "17")
            .env("CI_SERVER_HOST", "gitlab.example")
            .env("CI_API_V4_URL", &api_url)
            .env("CODER_PUBLISH_REMOTE", bare.path());
    };
    for round in 0..2 {
        let f = Fixture::new(&agent_spec("implementer", 60), None);
        let mut begin = f.command("begin", &["--job", "wf-1"]);
        gitlab(&mut begin);
        assert_eq!(run(&mut begin).0, 0);
        let mut step = f.command("step", &["--step", "s1"]);
        gitlab(&mut step);
        let (code, _, stderr) =
            run(step.env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
        assert_eq!(code, 0, "{stderr}");
        let mut finish = f.command("finish", &["--job", "wf-1"]);
        gitlab(&mut finish);
        assert_eq!(run(&mut finish).0, 0);

        let mut publish = f.command("publish", &[]);
        gitlab(&mut publish);
        if round == 0 {
            // Without the token: said what is needed, nothing pushed.
            let (code, _, stderr) = run(&mut publish);
            assert_eq!(code, 1, "{stderr}");
            assert!(stderr.contains("CODER_GITLAB_TOKEN"), "{stderr}");
            assert!(stderr.contains("CI_JOB_TOKEN cannot push"), "{stderr}");
            publish = f.command("publish", &[]);
            gitlab(&mut publish);
        }
        let (code, _, stderr) = run(publish.env("CODER_GITLAB_TOKEN", "glpat-publish-token"));
        assert_eq!(code, 0, "{stderr}{:?}", api.requests());
        assert!(!stderr.contains("glpat-publish-token"), "{stderr}");
        assert_eq!(
            f.run_json()["artifacts"]["pr_url"],
            "https://gitlab.example/acme/app/-/merge_requests/3"
        );
        assert_eq!(
            git(bare.path(), &["show", "coder/wf:agent-output.txt"]),
            "changed by s1\n"
        );
        assert_eq!(
            git(bare.path(), &["log", "-1", "--format=%ae %ce", "coder/wf"]),
            "coder-step@noreply.gitlab.example coder-step@noreply.gitlab.example\n"
        );
    }
    // The run's summary (its steps, their outputs) became the merge request's description.
    let described: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.0 == "PUT")
        .collect();
    assert_eq!(described.len(), 2, "{described:?}");
    let body: serde_json::Value = serde_json::from_str(&described[1].2).expect("json");
    let description = body["description"].as_str().expect("description");
    assert!(
        description.contains("| `s1` | agent | succeeded |"),
        "{description}"
    );
    assert!(description.contains("review: looks fine"), "{description}");
    assert!(description.contains("of workflow `wf`"), "{description}");
    let options = std::fs::read_to_string(bare.path().join("push-options.txt")).expect("options");
    let first: Vec<&str> = options.lines().take(4).collect();
    assert_eq!(first[0], "merge_request.create");
    assert_eq!(first[1], "merge_request.target=main");
    assert!(
        first[2].starts_with("merge_request.title=coder: "),
        "{options}"
    );
    assert!(
        first[3].starts_with("merge_request.description=Run "),
        "{options}"
    );
    assert_eq!(options.lines().count(), 8, "{options}");
}

#[test]
fn a_merge_request_pipeline_notes_its_review() {
    let f = Fixture::new(&agent_spec("reviewer", 60), None);
    let api = MockApi::start(Arc::new(|method, path, _| match (method, path) {
        ("POST", "/api/v4/projects/17/merge_requests/5/notes") => {
            (201, r#"{"id":99,"body":"LGTM"}"#.to_string())
        }
        _ => (404, r#"{"message":"404 Not Found"}"#.to_string()),
    }));
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    std::fs::create_dir_all(f.run_dir().join("outputs")).expect("mkdir");
    std::fs::write(f.run_dir().join("outputs/s1.md"), "LGTM, one nit.\n").expect("write");
    let (code, _, stderr) = run(f
        .command("publish", &[])
        .env("GITLAB_CI", "true")
        .env("CI_PIPELINE_SOURCE", "merge_request_event")
        .env("CI_MERGE_REQUEST_IID", "5")
        .env("CI_PROJECT_ID", "17")
        .env("CI_API_V4_URL", format!("{}/api/v4", api.url))
        .env(
            "CI_MERGE_REQUEST_PROJECT_URL",
            "https://gitlab.example/acme/app",
        )
        .env("CODER_GITLAB_TOKEN", "glpat-note-token"));
    assert_eq!(code, 0, "{stderr}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body: serde_json::Value = serde_json::from_str(&requests[0].2).expect("json");
    assert_eq!(body["body"], "LGTM, one nit.");
    assert_eq!(
        f.run_json()["artifacts"]["pr_url"],
        "https://gitlab.example/acme/app/-/merge_requests/5#note_99"
    );
}

#[test]
fn finish_counts_the_junit_reports_the_config_names() {
    let f = Fixture::new(
        "name: Tests\nsteps:\n  - type: command\n    command: \"true\"\n",
        Some("[report]\njunit = [\"out/**/*.xml\"]\n"),
    );
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let report = f.repo.path().join("out/unit/junit.xml");
    std::fs::create_dir_all(report.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &report,
        r#"<testsuites><testsuite name="s"><testcase name="a"/><testcase name="b"><failure message="x"/></testcase><testcase name="c"><skipped/></testcase></testsuite></testsuites>"#,
    )
    .expect("write");
    let (code, _, stderr) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 0, "{stderr}");
    let record = f.run_json();
    assert_eq!(
        record["test_report"],
        serde_json::json!({"passed": 1, "failed": 1, "skipped": 1}),
        "{record:#}"
    );
    assert!(f.run_dir().join("reports/junit/wf-1/0-junit.xml").is_file());
    let summary = std::fs::read_to_string(f.run_dir().join("summary.md")).expect("summary");
    assert!(
        summary.contains("Tests: 1 passed, 1 failed, 1 skipped."),
        "{summary}"
    );
}

const JUNIT: &str = r#"<testsuites><testsuite name="s"><testcase name="a"/><testcase name="b"/></testsuite></testsuites>"#;

/// A test report is an output: copied and counted, never part of the patch nor judged by the
/// path policy, even outside the allowed paths.
#[test]
fn a_test_report_is_no_change_of_the_run() {
    let script = format!(
        "mkdir -p src reports\necho fixed > src/lib.txt\ncat > reports/pytest.xml <<'XML'\n{JUNIT}\nXML\n"
    );
    let f = Fixture::with_files(
        "name: Tests\npolicies:\n  repo:\n    allowed_paths: [\"src/\"]\nsteps:\n  - type: command\n    command: sh tools/test.sh\n",
        Some("[report]\njunit = [\"reports/*.xml\"]\n"),
        &[("tools/test.sh", &script)],
    );
    let (code, _, stderr) = run(&mut f.command("begin", &["--job", "wf-1"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(&mut f.command("step", &["--step", "s1"]));
    assert_eq!(code, 0, "{stdout}{stderr}{}", f.read("logs/s1.log"));
    let (code, stdout, stderr) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let record = f.run_json();
    assert_eq!(record["violations"], serde_json::json!([]), "{record:#}");
    assert_eq!(record["changed_files"], serde_json::json!(["src/lib.txt"]));
    assert_eq!(
        record["test_report"],
        serde_json::json!({"passed": 2, "failed": 0, "skipped": 0})
    );
    assert!(!f.read("patch.diff").contains("reports/pytest.xml"));
}

/// A report left from an earlier run (here untracked, there before the job began) is not
/// this run's result.
#[test]
fn a_report_left_from_an_earlier_run_does_not_count() {
    let f = Fixture::new(
        "name: Tests\nsteps:\n  - type: command\n    command: \"true\"\n",
        Some("[report]\njunit = [\"reports/*.xml\"]\n"),
    );
    std::fs::create_dir_all(f.repo.path().join("reports")).expect("mkdir");
    std::fs::write(f.repo.path().join("reports/pytest.xml"), JUNIT).expect("write");
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    assert_eq!(run(&mut f.command("step", &["--step", "s1"])).0, 0);
    let (code, _, stderr) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 0, "{stderr}");
    let record = f.run_json();
    assert_eq!(record["test_report"], serde_json::Value::Null, "{record:#}");
    assert!(!f.run_dir().join("reports/junit/wf-1/0-pytest.xml").exists());
}

/// The command adapter's final message: the file it wrote to `$CODER_STEP_OUTPUT`, else its
/// stdout; either way the step's output, in `run.json` and the summary.
#[test]
fn an_agent_steps_final_message_is_its_output() {
    let f = Fixture::new(&agent_spec("reviewer", 60), None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f.command("step", &["--step", "s1"]).env(
        "CODER_AGENT",
        "sh -c 'echo Verdict: approve. One nit in README.md:1; echo noise >&2'",
    ));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        f.read("outputs/s1.md"),
        "Verdict: approve. One nit in README.md:1\n"
    );
    assert_eq!(f.run_json()["steps"][0]["output"], "outputs/s1.md");
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    let summary = f.read("summary.md");
    assert!(
        summary.contains("### `s1` said\n\nVerdict: approve. One nit in README.md:1\n"),
        "{summary}"
    );

    // A written file wins over what the agent printed.
    let g = Fixture::new(&agent_spec("implementer", 60), None);
    assert_eq!(run(&mut g.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(g
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(g.read("outputs/s1.md"), "review: looks fine\n");
}

/// In CI the command steps are plain CI steps: `finish` records them as the job's course
/// proves (one record shape everywhere), and a failed job's log says why.
#[test]
fn finish_records_the_cis_command_steps_and_says_why_a_job_failed() {
    let spec = "name: CI\npolicies:\n  secrets: [ALLOWED_SECRET]\nsteps:\n  - type: command\n    command: cargo build\n  - type: agent\n    role: implementer\n    goal: Change it\n  - type: command\n    command: cargo test\n";
    let f = Fixture::new(spec, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(f
        .command("step", &["--step", "s2"])
        .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(f
        .command("finish", &["--job", "wf-1"])
        .env("CODER_JOB_STATUS", "failure"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("job wf-1: failed") && stderr.contains("step `s3` (command) failed"),
        "{stderr}"
    );
    let record = f.run_json();
    let steps: Vec<(&str, &str)> = record["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step_id"].as_str().unwrap_or_default(),
                s["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [("s1", "succeeded"), ("s2", "succeeded"), ("s3", "failed")],
        "{record:#}"
    );
    let summary = f.read("summary.md");
    assert!(summary.contains("| `s3` | command | failed |"), "{summary}");
}

#[test]
fn a_violating_job_names_the_violation_and_its_paths() {
    let spec = "name: Paths\npolicies:\n  secrets: [ALLOWED_SECRET]\n  repo:\n    allowed_paths: [\"src/\"]\nsteps:\n  - type: agent\n    role: implementer\n    goal: Change it\n";
    let f = Fixture::new(spec, None);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, _) = run(f
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh"))));
    assert_eq!(code, 1);
    let (code, _, stderr) = run(&mut f.command("finish", &["--job", "wf-1"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("violation outside_allowed_paths in step `s1`")
            && stderr.contains("(paths: agent-output.txt)"),
        "{stderr}"
    );
}

/// A merge-request pipeline tells the agent which change it reviews, with its diff.
#[test]
fn a_merge_request_runs_prompt_names_the_change_and_carries_its_diff() {
    let f = Fixture::new(&agent_spec("reviewer", 60), None);
    let base = git(f.repo.path(), &["rev-parse", "HEAD"]);
    std::fs::write(f.repo.path().join("README.md"), "hello, merge request\n").expect("write");
    git(f.repo.path(), &["commit", "-qam", "Change the greeting"]);
    let head = git(f.repo.path(), &["rev-parse", "HEAD"]);
    let mr = |cmd: &mut Command| {
        cmd.env("CI_MERGE_REQUEST_IID", "5")
            .env(
                "CI_MERGE_REQUEST_PROJECT_URL",
                "https://gitlab.example/acme/app",
            )
            .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
            .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "greeting")
            .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.trim())
            .env("CI_COMMIT_SHA", head.trim());
    };
    let mut begin = f.command("begin", &["--job", "wf-1"]);
    mr(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut step = f.command("step", &["--step", "s1"]);
    mr(&mut step);
    let (code, _, stderr) = run(step.env("CODER_AGENT", "sh -c 'cat > /dev/null; echo LGTM'"));
    assert_eq!(code, 0, "{stderr}");
    let prompt = f.read("prompts/s1.md");
    assert!(
        prompt.contains(&format!(
            "Merge request !5: `greeting` ({}) into `main` ({}). https://gitlab.example/acme/app/-/merge_requests/5",
            head.trim(),
            base.trim()
        )),
        "{prompt}"
    );
    assert!(prompt.contains("+hello, merge request"), "{prompt}");
    assert!(
        f.read("change.diff")
            .contains("-hello\n+hello, merge request")
    );

    // Any other run's prompt has no such section.
    let g = Fixture::new(&agent_spec("reviewer", 60), None);
    assert_eq!(run(&mut g.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, _, stderr) = run(g
        .command("step", &["--step", "s1"])
        .env("CODER_AGENT", "sh -c 'cat > /dev/null; echo LGTM'"));
    assert_eq!(code, 0, "{stderr}");
    assert!(!g.read("prompts/s1.md").contains("The change under review"));
}

/// A secret a step lists is claimed: only the steps that list it receive it. The agent never
/// gets the crates.io token the publish command claims, though the CI's environment holds it
/// and the configuration passes it along; the command gets it, and not the agents' secret.
#[test]
fn a_claimed_secret_reaches_only_the_steps_that_list_it() {
    let spec = "name: Scoped\npolicies:\n  secrets: [ALLOWED_SECRET, CRATES_TOKEN]\nsteps:\n  - type: agent\n    role: release_engineer\n    goal: Write the notes\n  - type: command\n    command: echo \"crates=$CRATES_TOKEN allowed=${ALLOWED_SECRET:-unset}\"\n    secrets: [CRATES_TOKEN]\n";
    let f = Fixture::new(spec, Some("[agent]\npass-env = [\"CRATES_TOKEN\"]\n"));
    let with_token = |cmd: &mut Command| {
        cmd.env("CRATES_TOKEN", "cio-token-value");
    };
    let mut begin = f.command("begin", &["--job", "wf-1"]);
    with_token(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut agent_step = f.command("step", &["--step", "s1"]);
    with_token(&mut agent_step);
    agent_step.env("CODER_AGENT", format!("{} {{goal}}", agent("writer.sh")));
    let (code, stdout, stderr) = run(&mut agent_step);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let env = f.read("fake-agent/env.txt");
    assert!(env.contains("ALLOWED_SECRET=***"), "{env}");
    assert!(!env.contains("CRATES_TOKEN"), "{env}");
    assert!(!env.contains("cio-token-value"), "{env}");

    let mut command_step = f.command("step", &["--step", "s2"]);
    with_token(&mut command_step);
    let (code, stdout, stderr) = run(&mut command_step);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A step's output is echoed on stderr: stdout is coder's own.
    assert!(
        stderr.contains("crates=*** allowed=unset"),
        "{stdout}{stderr}"
    );
}

/// A branch `greet` (it edits README.md) merged, as CI checks a change out, into a `main` that
/// gained CHANGELOG.md since the branch was cut; HEAD is the detached merge commit.
struct MergeCheckout {
    fork_point: String,
    head: String,
    base: String,
    merged: String,
}

fn merged_into_a_moved_base(dir: &Path) -> MergeCheckout {
    let fork_point = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["checkout", "-q", "-b", "greet"]);
    std::fs::write(dir.join("README.md"), "hello, reviewed world\n").expect("write");
    git(dir, &["commit", "-qam", "Greet the world"]);
    let head = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["checkout", "-q", "main"]);
    std::fs::write(dir.join("CHANGELOG.md"), "landed on main meanwhile\n").expect("write");
    git(dir, &["add", "CHANGELOG.md"]);
    git(dir, &["commit", "-qm", "Meanwhile on main"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["checkout", "-q", "--detach"]);
    git(
        dir,
        &["merge", "-q", "--no-ff", "-m", "Merge greet", "greet"],
    );
    let merged = git(dir, &["rev-parse", "HEAD"]);
    MergeCheckout {
        fork_point,
        head,
        base,
        merged,
    }
}

/// GitHub checks a pull request out as its merge commit (`fetch-depth: 2` brings its parents):
/// the reviewer's diff is the merge against its first parent, so changes the base gained
/// after the branch was cut are not shown, reverted, as part of the pull request.
#[test]
fn a_pull_request_s_merge_checkout_is_reviewed_against_its_base_parent() {
    let spec = "name: Review\ntriggers:\n  - type: repo_event\n    event: pull_request.opened\nsteps:\n  - type: agent\n    role: reviewer\n    goal: Review the pull request\n";
    let config = "[agent]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo reviewed\"]\n";
    let f = Fixture::new(spec, Some(config));
    let merge = merged_into_a_moved_base(f.repo.path());
    let (head, base) = (merge.head, merge.base);
    let event = tempfile::NamedTempFile::new().expect("event file");
    std::fs::write(
        event.path(),
        serde_json::json!({"number": 5, "pull_request": {"number": 5,
            "base": {"ref": "main", "sha": base.trim()},
            "head": {"ref": "greet", "sha": head.trim()}}})
        .to_string(),
    )
    .expect("event");
    let pull_request = |cmd: &mut Command| {
        cmd.env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", event.path());
    };
    let mut begin = f.command("begin", &["--job", "wf-1"]);
    pull_request(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut step = f.command("step", &["--step", "s1"]);
    pull_request(&mut step);
    let (code, _, stderr) = run(&mut step);
    assert_eq!(code, 0, "{stderr}");
    let prompt = f.read("prompts/s1.md");
    assert!(prompt.contains("+hello, reviewed world"), "{prompt}");
    assert!(!prompt.contains("landed on main meanwhile"), "{prompt}");
}

/// A GitLab merged-results pipeline checks out GitLab's temporary merge commit
/// (`CI_COMMIT_SHA`): the prompt names the source branch's own head, and the diff is the
/// merge against the target it was merged into.
#[test]
fn a_merged_results_pipeline_is_reviewed_as_the_source_branch() {
    let spec = "name: Review\ntriggers:\n  - type: repo_event\n    event: pull_request.opened\nsteps:\n  - type: agent\n    role: reviewer\n    goal: Review the merge request\n";
    let config = "[agent]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo reviewed\"]\n";
    let f = Fixture::new(spec, Some(config));
    let merge = merged_into_a_moved_base(f.repo.path());
    let (fork_point, head, target, merged) =
        (merge.fork_point, merge.head, merge.base, merge.merged);
    let merge_request = |cmd: &mut Command| {
        cmd.env("CI_MERGE_REQUEST_IID", "12")
            .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
            .env("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", target.trim())
            .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", fork_point.trim())
            .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "greet")
            .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", head.trim())
            .env("CI_COMMIT_SHA", merged.trim());
    };
    let mut begin = f.command("begin", &["--job", "wf-1"]);
    merge_request(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut step = f.command("step", &["--step", "s1"]);
    merge_request(&mut step);
    let (code, _, stderr) = run(&mut step);
    assert_eq!(code, 0, "{stderr}");
    let prompt = f.read("prompts/s1.md");
    assert!(
        prompt.contains(&format!("`greet` ({})", head.trim())),
        "{prompt}"
    );
    assert!(prompt.contains("+hello, reviewed world"), "{prompt}");
    assert!(!prompt.contains("landed on main meanwhile"), "{prompt}");
}
