//! The real Claude Code CLI through the claude preset, against a loopback mock of the
//! Messages API that scripts file edits (agents.md §5): the patch, usage, credits and the
//! path policy end to end. The `claude` executable is `CODER_STEP_E2E_CLAUDE` (`scripts/test`
//! installs the pinned npm package and sets it), else `claude` where `outside_tool` finds it;
//! without one the tests fail, like the validators' tests, rather than pass without running.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::step::{Fixture, MockApi, publish_command, run};

/// One scripted answer to a request that carries tools.
#[derive(Clone)]
enum Turn {
    /// A `Write` tool call: path (absolute) and content.
    Write(String, String),
    Text(String),
}

struct MockMessages {
    url: String,
    /// Every request: method, path, body.
    log: Arc<Mutex<Vec<(String, String, String)>>>,
}

fn sse(events: &[(&str, serde_json::Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn answer(turn: &Turn) -> String {
    let start = serde_json::json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1000,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}});
    let (block, delta, stop) = match turn {
        Turn::Write(path, content) => (
            serde_json::json!({"type":"tool_use","id":"toolu_1","name":"Write","input":{}}),
            serde_json::json!({"type":"input_json_delta","partial_json": serde_json::json!({"file_path": path, "content": content}).to_string()}),
            "tool_use",
        ),
        Turn::Text(text) => (
            serde_json::json!({"type":"text","text":""}),
            serde_json::json!({"type":"text_delta","text": text}),
            "end_turn",
        ),
    };
    sse(&[
        ("message_start", start),
        (
            "content_block_start",
            serde_json::json!({"type":"content_block_start","index":0,"content_block":block}),
        ),
        (
            "content_block_delta",
            serde_json::json!({"type":"content_block_delta","index":0,"delta":delta}),
        ),
        (
            "content_block_stop",
            serde_json::json!({"type":"content_block_stop","index":0}),
        ),
        (
            "message_delta",
            serde_json::json!({"type":"message_delta","delta":{"stop_reason":stop,"stop_sequence":null},"usage":{"output_tokens":200}}),
        ),
        ("message_stop", serde_json::json!({"type":"message_stop"})),
    ])
}

impl MockMessages {
    /// Serves a bounded number of connections on loopback; the Nth request with tools gets
    /// turn N (the last repeats), other requests short text.
    fn start(turns: Vec<Turn>) -> MockMessages {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut with_tools = 0;
            for stream in listener.incoming().take(100) {
                let Ok(mut stream) = stream else { continue };
                let Ok(clone) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(clone);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':')
                        && k.trim().eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                let (status, kind, reply) = if method == "POST"
                    && path.starts_with("/v1/messages/count_tokens")
                {
                    (
                        200,
                        "application/json",
                        r#"{"input_tokens":42}"#.to_string(),
                    )
                } else if method == "POST" && path.starts_with("/v1/messages") {
                    let has_tools = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|b| {
                            b.get("tools")
                                .and_then(|t| t.as_array())
                                .map(|t| !t.is_empty())
                        })
                        .unwrap_or(false);
                    let turn = if has_tools {
                        with_tools += 1;
                        turns[(with_tools - 1).min(turns.len() - 1)].clone()
                    } else {
                        Turn::Text("ok".to_string())
                    };
                    (200, "text/event-stream", answer(&turn))
                } else {
                    (404, "application/json", r#"{"type":"error","error":{"type":"not_found_error","message":"not found"}}"#.to_string())
                };
                if let Ok(mut log) = requests.lock() {
                    log.push((method, path, body));
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        MockMessages { url, log }
    }
}

fn claude() -> String {
    let named = std::env::var("CODER_STEP_E2E_CLAUDE")
        .ok()
        .filter(|p| !p.is_empty());
    named.unwrap_or_else(|| {
        let found = crate::outside_tool("claude");
        found.get_program().to_string_lossy().into_owned()
    })
}

fn config(program: &str) -> String {
    format!(
        "[agent]\npreset = \"claude\"\nprogram = \"{program}\"\nmodel = \"claude-sonnet-4-5\"\ncredential = \"ANTHROPIC_API_KEY\"\npass-env = [\"ANTHROPIC_BASE_URL\", \"CLAUDE_CODE_MAX_RETRIES\"]\nmax-turns = 5\n\n[agent.prices.claude-sonnet-4-5]\ninput = 3.0\noutput = 15.0\n"
    )
}

const SPEC: &str = "name: Claude\npolicies:\n  budget:\n    max_wall_clock_sec: 240\n  repo:\n    allowed_paths: [src/]\nsteps:\n  - type: agent\n    role: implementer\n    goal: Add src/hello.txt\n";

fn step_with(
    turns: impl FnOnce(&std::path::Path) -> Vec<Turn>,
) -> Option<(Fixture, i32, String, MockMessages)> {
    let program = claude();
    let f = Fixture::new(SPEC, Some(&config(&program)));
    let mock = MockMessages::start(turns(f.repo.path()));
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, stdout, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env("ANTHROPIC_BASE_URL", &mock.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-mock-key-0123456789")
        .env("CLAUDE_CODE_MAX_RETRIES", "0"));
    Some((f, code, format!("{stdout}\n{stderr}"), mock))
}

#[test]
fn claude_code_edits_a_file_through_the_preset() {
    let Some((f, code, output, mock)) = step_with(|repo| {
        vec![
            Turn::Write(
                repo.join("src/hello.txt").display().to_string(),
                "hello from claude\n".to_string(),
            ),
            Turn::Text("Added src/hello.txt.".to_string()),
        ]
    }) else {
        return;
    };
    assert_eq!(code, 0, "{output}");
    // The key went to the mock, never into a log.
    assert!(!f.read("logs/s1.log").contains("sk-ant-mock-key"));
    let requests = mock.log.lock().expect("log").clone();
    assert!(
        requests.iter().any(|r| r.1.starts_with("/v1/messages")),
        "{requests:?}"
    );
    let record = f.run_json();
    let usage = &record["steps"][0]["usage"];
    assert!(
        usage["models"][0]["input_tokens"].as_u64().unwrap_or(0) >= 2000,
        "{usage}"
    );
    assert!(usage["credits"].as_f64().unwrap_or(0.0) > 0.0, "{usage}");
    assert_eq!(usage["estimated"], false, "{usage}");
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    assert!(f.read("patch.diff").contains("+hello from claude"));
}

#[test]
fn claude_code_writing_outside_the_allowed_paths_fails_the_step() {
    let Some((f, code, output, _mock)) = step_with(|repo| {
        vec![
            Turn::Write(
                repo.join("docs/notes.md").display().to_string(),
                "notes\n".to_string(),
            ),
            Turn::Text("Wrote docs/notes.md.".to_string()),
        ]
    }) else {
        return;
    };
    assert_eq!(code, 1, "{output}");
    let record = f.run_json();
    assert_eq!(
        record["violations"][0]["kind"], "outside_allowed_paths",
        "{record:#}"
    );
    assert_eq!(
        record["violations"][0]["paths"],
        serde_json::json!(["docs/notes.md"])
    );
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 1);
    assert!(!f.run_dir().join("patch.diff").exists());
}

/// `coder run` on the seed's Weekly Dependency Bump, as written, with the real Claude Code CLI
/// for both agents: the implementer writes through the preset, `cargo test` (stood in) reports
/// its tests, the reviewer reads in plan mode; the run ends with its patch, credits and test
/// report.
#[test]
fn coder_run_drives_claude_code_through_a_seed_example() {
    let program = claude();
    let spec = std::fs::read_to_string(crate::fixture_dir().join("ok/dependency-bump.yml"))
        .expect("seed example");
    let f = Fixture::new(&spec, Some(&config(&program)));
    let mock = MockMessages::start(vec![
        Turn::Write(
            f.repo.path().join("Cargo.lock").display().to_string(),
            "# bumped by claude\n".to_string(),
        ),
        Turn::Text("Updated the dependencies.".to_string()),
    ]);
    let state = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = run(f
        .coder_local(state.path())
        .env("PATH", crate::runner::path_with_stand_ins())
        .env("ANTHROPIC_BASE_URL", &mock.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-mock-key-0123456789")
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .args(["run", "wf"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let run_dir = std::path::PathBuf::from(stdout.lines().last().unwrap_or_default());
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert!(
        record["credits"]["used"].as_f64().unwrap_or(0.0) > 0.0,
        "{record:#}"
    );
    assert_eq!(
        record["test_report"],
        serde_json::json!({"passed": 3, "failed": 0, "skipped": 1})
    );
    let patch = std::fs::read_to_string(run_dir.join("patch.diff")).expect("patch");
    assert!(patch.contains("+# bumped by claude"), "{patch}");
    let log = std::fs::read_to_string(run_dir.join("logs/s1.log")).expect("log");
    assert!(!log.contains("sk-ant-mock-key"), "{log}");
}

/// A review on a pull-request event with the real Claude Code CLI through the preset: the
/// prompt names the pull request, its base and head, and carries its diff; the reviewer's
/// final message is the step's output, is shown in `summary.md`, and is the body of the
/// comment `publish` posts (a loopback GitHub API).
#[test]
fn a_claude_review_reaches_the_output_the_summary_and_the_pull_request() {
    let program = claude();
    let spec = "name: Review\ntriggers:\n  - type: repo_event\n    event: pull_request.opened\nsteps:\n  - type: agent\n    role: reviewer\n    goal: Review the pull request\n";
    let f = Fixture::new(spec, Some(&config(&program)));
    let base = crate::step::git(f.repo.path(), &["rev-parse", "HEAD"]);
    std::fs::write(f.repo.path().join("README.md"), "hello, reviewed world\n").expect("write");
    crate::step::git(f.repo.path(), &["commit", "-qam", "Greet the world"]);
    let head = crate::step::git(f.repo.path(), &["rev-parse", "HEAD"]);
    let event_file = tempfile::NamedTempFile::new().expect("event file");
    let event = event_file.path().to_path_buf();
    std::fs::write(
        &event,
        serde_json::json!({"number": 5, "pull_request": {"number": 5,
            "html_url": "https://github.example/octo/widgets/pull/5",
            "base": {"ref": "main", "sha": base.trim()},
            "head": {"ref": "greet", "sha": head.trim()}}})
        .to_string(),
    )
    .expect("event");
    let review = "Verdict: request changes. README.md:1 (minor): say hello to the whole world.";
    let mock = MockMessages::start(vec![Turn::Text(review.to_string())]);
    let pr_env = |cmd: &mut std::process::Command| {
        cmd.env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event);
    };
    let mut begin = f.command("begin", &["--job", "wf-1"]);
    pr_env(&mut begin);
    assert_eq!(run(&mut begin).0, 0);
    let mut step = f.command("step", &["--step", "s1"]);
    pr_env(&mut step);
    let (code, stdout, stderr) = run(step
        .env("ANTHROPIC_BASE_URL", &mock.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-mock-key-0123456789")
        .env("CLAUDE_CODE_MAX_RETRIES", "0"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // The prompt told the reviewer which change it reviews, with the diff.
    let requests = mock.log.lock().expect("log").clone();
    let prompt = requests
        .iter()
        .find(|r| r.2.contains("Review the pull request"))
        .map(|r| r.2.clone())
        .unwrap_or_default();
    assert!(prompt.contains("Pull request #5"), "{prompt}");
    assert!(
        prompt.contains(base.trim()) && prompt.contains(head.trim()),
        "{prompt}"
    );
    assert!(prompt.contains("+hello, reviewed world"), "{prompt}");
    // The reviewer's final message: the step's output, and the summary shows it.
    assert_eq!(f.read("outputs/s1.md").trim(), review);
    assert_eq!(f.run_json()["steps"][0]["output"], "outputs/s1.md");
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    assert!(
        f.read("summary.md").contains(review),
        "{}",
        f.read("summary.md")
    );
    // The pull request's comment is the review.
    let api = MockApi::start(Arc::new(|method, path, _| match (method, path) {
        ("POST", "/repos/octo/widgets/issues/5/comments") => (
            201,
            r#"{"id":1,"html_url":"https://github.example/octo/widgets/pull/5#issuecomment-1"}"#
                .to_string(),
        ),
        _ => (404, r#"{"message":"Not Found"}"#.to_string()),
    }));
    let bare = tempfile::tempdir().expect("tempdir");
    let mut publish = f.command("publish", &[]);
    pr_env(&mut publish);
    let (code, _, stderr) = run(publish_command(&mut publish, &api, bare.path()));
    assert_eq!(code, 0, "{stderr}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body: serde_json::Value = serde_json::from_str(&requests[0].2).expect("json");
    assert_eq!(body["body"], review);
}
