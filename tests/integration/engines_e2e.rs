//! The real Codex, Gemini CLI and aider through their presets, each against a loopback mock of
//! its model API (OpenAI Responses over SSE, Gemini `streamGenerateContent`, OpenAI chat
//! completions), the shape of `claude_e2e.rs`: an edit that becomes the patch, usage and
//! credits, a read-only reviewer whose write is refused, and an API error that fails the step
//! with the API's message. The CLIs are the pinned packages `scripts/test` installs
//! (`CODER_STEP_E2E_CODEX`, `CODER_STEP_E2E_GEMINI`, `CODER_STEP_E2E_AIDER`); without one the
//! tests fail rather than pass without running.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::step::{Fixture, run};

/// Which model API the mock speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Api {
    Responses,
    Gemini,
    Chat,
}

/// One scripted answer.
#[derive(Clone, Debug)]
enum Turn {
    /// Write `content` to the repository-relative path.
    Write(&'static str, &'static str),
    Text(&'static str),
    /// An HTTP error with this status and message.
    Error(u16, &'static str),
}

/// One request the mock saw.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    headers: String,
    /// The tools offered to the model.
    tools: Vec<String>,
}

struct MockModel {
    url: String,
    log: Arc<Mutex<Vec<Request>>>,
}

const INPUT: u64 = 1000;
const OUTPUT: u64 = 200;

fn sse(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .map(|data| match data.get("type").and_then(|t| t.as_str()) {
            Some(name) => format!("event: {name}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        })
        .collect()
}

/// The names of the tools a request offers, whatever the API's shape.
fn tool_names(body: &serde_json::Value) -> Vec<String> {
    let mut names = Vec::new();
    for tool in body["tools"].as_array().into_iter().flatten() {
        if let Some(name) = tool["name"].as_str() {
            names.push(name.to_string());
        }
        // Built-in tools (Codex's `{"type": "web_search"}`) are named by their type.
        if let Some(kind) = tool["type"].as_str()
            && !["function", "custom"].contains(&kind)
        {
            names.push(kind.to_string());
        }
        if let Some(name) = tool["function"]["name"].as_str() {
            names.push(name.to_string());
        }
        for decl in tool["functionDeclarations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(name) = decl["name"].as_str() {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// A shell command writing `content` to `path`, without quotes inside.
fn write_command(path: &str, content: &str) -> String {
    format!(
        "mkdir -p \"$(dirname {path})\" && printf '%s\\n' '{}' > {path}",
        content.trim_end()
    )
}

fn responses_answer(turn: &Turn, tools: &[String]) -> String {
    let usage = serde_json::json!({"input_tokens": INPUT, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": OUTPUT, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": INPUT + OUTPUT});
    let item = match turn {
        Turn::Write(path, content) => {
            let command = write_command(path, content);
            let arguments = if tools.iter().any(|t| t == "exec_command") {
                serde_json::json!({"cmd": command})
            } else {
                serde_json::json!({"command": ["bash", "-lc", command]})
            };
            let name = if tools.iter().any(|t| t == "exec_command") {
                "exec_command"
            } else {
                "shell"
            };
            serde_json::json!({"type": "function_call", "id": "fc_1", "call_id": "call_1",
                "name": name, "arguments": arguments.to_string()})
        }
        Turn::Text(text) => {
            serde_json::json!({"type": "message", "id": "msg_1", "role": "assistant",
            "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]})
        }
        Turn::Error(..) => unreachable!("errors are answered before"),
    };
    sse(&[
        serde_json::json!({"type": "response.created", "response": {"id": "resp_1"}}),
        serde_json::json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
        serde_json::json!({"type": "response.completed", "response": {"id": "resp_1", "usage": usage}}),
    ])
}

fn gemini_answer(turn: &Turn, repo: &std::path::Path) -> String {
    let part = match turn {
        Turn::Write(path, content) => serde_json::json!({"functionCall": {"name": "write_file",
            "args": {"file_path": repo.join(path).display().to_string(), "content": content}}}),
        Turn::Text(text) => serde_json::json!({"text": text}),
        Turn::Error(..) => unreachable!("errors are answered before"),
    };
    sse(&[serde_json::json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": INPUT, "candidatesTokenCount": OUTPUT, "totalTokenCount": INPUT + OUTPUT},
        "modelVersion": "gemini-2.5-flash"
    })])
}

fn chat_answer(turn: &Turn) -> String {
    let content = match turn {
        // aider's "whole" edit format: the path, then the file in a fence.
        Turn::Write(path, content) => format!("{path}\n```\n{content}```\n"),
        Turn::Text(text) => text.to_string(),
        Turn::Error(..) => unreachable!("errors are answered before"),
    };
    serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "mock-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": INPUT, "completion_tokens": OUTPUT, "total_tokens": INPUT + OUTPUT}})
    .to_string()
}

fn error_body(api: Api, status: u16, message: &str) -> String {
    match api {
        Api::Gemini => serde_json::json!({"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}}),
        _ => serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_request"}}),
    }
    .to_string()
}

impl MockModel {
    /// Serves loopback connections; the Nth model request with tools (any model request, for
    /// aider, which has none) gets turn N, the last repeating; other requests short text.
    fn start(api: Api, repo: &std::path::Path, turns: Vec<Turn>) -> MockModel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::clone(&log);
        let repo = repo.to_path_buf();
        std::thread::spawn(move || {
            let mut counted = 0;
            for stream in listener.incoming().take(200) {
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
                let mut headers = String::new();
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
                    headers.push_str(&header);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let tools = tool_names(&json);
                let model_call = method == "POST"
                    && match api {
                        Api::Responses => path.starts_with("/v1/responses"),
                        Api::Gemini => path.contains(":streamGenerateContent"),
                        Api::Chat => path.starts_with("/v1/chat/completions"),
                    };
                let turn = if model_call && (api == Api::Chat || !tools.is_empty()) {
                    counted += 1;
                    turns[(counted - 1).min(turns.len() - 1)].clone()
                } else {
                    Turn::Text("ok")
                };
                let (status, kind, reply) = if method == "POST"
                    && path.contains(":generateContent")
                    && api == Api::Gemini
                {
                    // Gemini's side calls (next speaker, loop checks): a plain answer.
                    let answer = serde_json::json!({"candidates": [{"content": {"role": "model",
                        "parts": [{"text": "{\"next_speaker\": \"user\", \"reasoning\": \"done\"}"}]},
                        "finishReason": "STOP", "index": 0}],
                        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}});
                    (200, "application/json", answer.to_string())
                } else if !model_call {
                    (404, "application/json", error_body(api, 404, "not found"))
                } else if let Turn::Error(status, message) = &turn {
                    (
                        *status,
                        "application/json",
                        error_body(api, *status, message),
                    )
                } else {
                    match api {
                        Api::Responses => {
                            (200, "text/event-stream", responses_answer(&turn, &tools))
                        }
                        Api::Gemini => (200, "text/event-stream", gemini_answer(&turn, &repo)),
                        Api::Chat => (200, "application/json", chat_answer(&turn)),
                    }
                };
                if let Ok(mut log) = requests.lock() {
                    log.push(Request {
                        path,
                        headers,
                        tools,
                    });
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        MockModel { url, log }
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("log").clone()
    }
}

/// One engine under test: its preset, CLI, API, and how the user points it at the mock.
struct Engine {
    preset: &'static str,
    api: Api,
    model: &'static str,
    /// The variable the user sets the base URL in, and the path the CLI appends to.
    base_url_var: &'static str,
    base_url_path: &'static str,
    /// The variable the config names as the credential.
    credential: &'static str,
    /// The header that carries the key, and part of the model call's path.
    auth_header: &'static str,
    model_path: &'static str,
    /// The usage is the CLI's estimate (rounded).
    estimated: bool,
}

const CODEX: Engine = Engine {
    preset: "codex",
    api: Api::Responses,
    model: "gpt-5-mock",
    base_url_var: "OPENAI_BASE_URL",
    base_url_path: "/v1",
    credential: "OPENAI_API_KEY",
    auth_header: "authorization: bearer sk-mock-key-0123456789",
    model_path: "/v1/responses",
    estimated: false,
};

const GEMINI: Engine = Engine {
    preset: "gemini",
    api: Api::Gemini,
    model: "gemini-2.5-flash",
    base_url_var: "GOOGLE_GEMINI_BASE_URL",
    base_url_path: "",
    credential: "GEMINI_API_KEY",
    auth_header: "x-goog-api-key: sk-mock-key-0123456789",
    model_path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    estimated: false,
};

const AIDER: Engine = Engine {
    preset: "aider",
    api: Api::Chat,
    model: "openai/mock-model",
    base_url_var: "OPENAI_API_BASE",
    base_url_path: "/v1",
    credential: "OPENAI_API_KEY",
    auth_header: "authorization: bearer sk-mock-key-0123456789",
    model_path: "/v1/chat/completions",
    estimated: true,
};

const KEY: &str = "sk-mock-key-0123456789";

fn program(engine: &Engine) -> String {
    let var = format!("CODER_STEP_E2E_{}", engine.preset.to_uppercase());
    if let Some(named) = std::env::var(&var).ok().filter(|p| !p.is_empty()) {
        return named;
    }
    // aider has a venv of its own (scripts/test), off the PATH.
    let target =
        crate::root().join(std::env::var_os("CARGO_TARGET_DIR").unwrap_or("target".into()));
    let own_venv = target
        .join("ci-tools")
        .join(engine.preset)
        .join("bin")
        .join(engine.preset);
    if own_venv.is_file() {
        return own_venv.display().to_string();
    }
    let found = crate::outside_tool(engine.preset);
    found.get_program().to_string_lossy().into_owned()
}

fn config(engine: &Engine) -> String {
    let program = program(engine);
    // A dotted model name is one TOML key only when quoted.
    format!(
        "[agent]\npreset = \"{}\"\nprogram = \"{program}\"\nmodel = \"{}\"\ncredential = \"{}\"\nmax-turns = 6\n\n[agent.prices.\"{}\"]\ninput = 3.0\noutput = 15.0\n",
        engine.preset, engine.model, engine.credential, engine.model
    )
}

fn spec(role: &str) -> String {
    format!(
        "name: Engines\npolicies:\n  budget:\n    max_wall_clock_sec: 180\n  repo:\n    allowed_paths: [src/]\nsteps:\n  - type: agent\n    role: {role}\n    goal: Add src/hello.txt saying hello\n"
    )
}

/// `begin` and one agent step of `role` against the mock; the step's exit code and output.
fn step(engine: &Engine, role: &str, turns: Vec<Turn>) -> (Fixture, i32, String, MockModel) {
    let f = Fixture::new(&spec(role), Some(&config(engine)));
    let mock = MockModel::start(engine.api, f.repo.path(), turns);
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, stdout, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env(
            engine.base_url_var,
            format!("{}{}", mock.url, engine.base_url_path),
        )
        .env(engine.credential, KEY));
    (f, code, format!("{stdout}\n{stderr}"), mock)
}

fn edits_a_file(engine: &Engine) {
    let (f, code, output, mock) = step(
        engine,
        "implementer",
        vec![
            Turn::Write("src/hello.txt", "hello from the agent\n"),
            Turn::Text("Added src/hello.txt."),
        ],
    );
    let requests = mock.requests();
    assert_eq!(code, 0, "{output}\n{requests:#?}");
    // The key reached the API under the header the CLI sends, and no log.
    assert!(
        requests.iter().any(|r| r.path.contains(engine.model_path)
            && r.headers.to_lowercase().contains(engine.auth_header)),
        "{requests:#?}"
    );
    // No web tools offered to the model.
    let offered: Vec<&String> = requests.iter().flat_map(|r| &r.tools).collect();
    assert!(
        !offered.is_empty() || engine.api == Api::Chat,
        "{requests:#?}"
    );
    for web in [
        "web_search",
        "web_search_preview",
        "google_web_search",
        "web_fetch",
    ] {
        assert!(!offered.iter().any(|t| *t == web), "{web} in {offered:?}");
    }
    let log = f.read("logs/s1.log");
    assert!(!log.contains(KEY));
    // No network calls of the CLI's own (aider's price-map download).
    assert!(!log.contains("raw.githubusercontent.com"), "{log}");
    // Nothing of the CLI's own in the checkout.
    let status = crate::step::git(
        f.repo.path(),
        &["status", "--porcelain", "--ignored", "-uall"],
    );
    assert_eq!(status.trim(), "?? src/hello.txt", "{status}\n{log}");
    let record = f.run_json();
    let usage = &record["steps"][0]["usage"];
    assert_eq!(usage["models"][0]["model"], engine.model, "{usage}");
    assert!(
        usage["models"][0]["input_tokens"].as_u64().unwrap_or(0) >= INPUT,
        "{usage}"
    );
    assert!(usage["credits"].as_f64().unwrap_or(0.0) > 0.0, "{usage}");
    assert_eq!(usage["estimated"], engine.estimated, "{usage}");
    // The final message is the step's output; aider has none apart from its transcript.
    let output_file = f.read("outputs/s1.md");
    if engine.preset == "aider" {
        assert!(
            output_file.contains("Applied edit to src/hello.txt"),
            "{output_file}"
        );
    } else {
        assert_eq!(output_file.trim(), "Added src/hello.txt.");
    }
    assert_eq!(run(&mut f.command("finish", &["--job", "wf-1"])).0, 0);
    assert!(f.read("patch.diff").contains("+hello from the agent"));
}

fn a_reviewer_cannot_write(engine: &Engine) {
    let (f, code, output, _mock) = step(
        engine,
        "reviewer",
        vec![
            Turn::Write("src/hello.txt", "written by the reviewer\n"),
            Turn::Text("Looks good."),
        ],
    );
    assert!(
        !f.repo.path().join("src/hello.txt").exists(),
        "the reviewer wrote: {output}"
    );
    assert_eq!(code, 0, "{output}");
    assert_eq!(f.run_json()["steps"][0]["status"], "succeeded");
}

fn an_api_error_fails_the_step(engine: &Engine) {
    let message = "mock model says: this request is malformed";
    let (f, code, output, _mock) = step(engine, "implementer", vec![Turn::Error(400, message)]);
    assert_eq!(code, 1, "{output}");
    let record = f.run_json();
    let step = &record["steps"][0];
    assert_eq!(step["status"], "failed", "{record:#}");
    assert!(
        step["message"].as_str().unwrap_or("").contains(message),
        "{}\n{output}",
        step["message"]
    );
}

#[test]
fn codex_edits_a_file_through_the_preset() {
    edits_a_file(&CODEX);
}

#[test]
fn a_codex_reviewer_cannot_write() {
    a_reviewer_cannot_write(&CODEX);
}

#[test]
fn a_codex_api_error_fails_the_step() {
    an_api_error_fails_the_step(&CODEX);
}

#[test]
fn gemini_edits_a_file_through_the_preset() {
    edits_a_file(&GEMINI);
}

#[test]
fn a_gemini_reviewer_cannot_write() {
    a_reviewer_cannot_write(&GEMINI);
}

#[test]
fn a_gemini_api_error_fails_the_step() {
    an_api_error_fails_the_step(&GEMINI);
}

#[test]
fn aider_edits_a_file_through_the_preset() {
    edits_a_file(&AIDER);
}

#[test]
fn an_aider_reviewer_cannot_write() {
    a_reviewer_cannot_write(&AIDER);
}

#[test]
fn an_aider_api_error_fails_the_step() {
    an_api_error_fails_the_step(&AIDER);
}

/// Gemini CLI's native turn cap, from `max-turns`: a model that keeps calling tools is stopped
/// by the CLI itself, and the step fails at its turn limit.
#[test]
fn gemini_stops_at_its_turn_limit() {
    let config = config(&GEMINI).replace("max-turns = 6", "max-turns = 2");
    let f = Fixture::new(&spec("implementer"), Some(&config));
    let mock = MockModel::start(
        GEMINI.api,
        f.repo.path(),
        vec![Turn::Write("src/hello.txt", "again\n")],
    );
    assert_eq!(run(&mut f.command("begin", &["--job", "wf-1"])).0, 0);
    let (code, stdout, stderr) = run(f
        .command("step", &["--step", "s1"])
        .env(GEMINI.base_url_var, &mock.url)
        .env(GEMINI.credential, KEY));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let record = f.run_json();
    assert_eq!(
        record["steps"][0]["message"], "the agent stopped at its turn limit",
        "{record:#}\n{stderr}"
    );
    let calls = mock
        .requests()
        .iter()
        .filter(|r| r.path.contains(GEMINI.model_path))
        .count();
    assert!(calls <= 3, "{calls} model calls");
}
