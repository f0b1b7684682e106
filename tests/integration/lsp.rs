//! `coder lsp` driven by a scripted client over its real stdio: initialize, open, change,
//! diagnostics, quick fix, hover, completion, definition, symbols, the config file, shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::repo;

/// Every wait for the server is bounded.
const WAIT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start(dir: &std::path::Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_coder"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("coder lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let message: Value = serde_json::from_slice(&body).expect("JSON from the server");
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request and wait for its response (notifications meanwhile are kept aside).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message.get("id") == Some(&json!(id)) {
                assert!(message.get("error").is_none(), "{message}");
                return message["result"].clone();
            }
        }
    }

    fn receive(&mut self) -> Value {
        match self.messages.recv_timeout(WAIT) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("the server said nothing for {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server exited"),
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let message = self.receive();
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return message["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

const SPEC: &str = "name: Nightly\ntriggers:\n  - type: cron\n    cron: \"0 3 * * 1\"\n    timezone: Europe/Berlin\npolicies:\n  gates:\n    require_human_approval_for: [ship]\nsteps:\n  - type: agent\n    role: implmenter\n    goal: Fix the flaky test\n  - step_id: ship\n    type: deploy\n    target: staging\n";

#[test]
fn a_scripted_editor_session() {
    let dir = repo(&[]);
    let root = dir.path().canonicalize().expect("root");
    let spec_uri = format!("file://{}/.coder/workflows/nightly.yml", root.display());
    let config_uri = format!("file://{}/.coder/config.toml", root.display());
    let mut client = Client::start(&root);
    let init = client.request(
        "initialize",
        json!({"processId": null, "capabilities": {}, "rootUri": format!("file://{}", root.display())}),
    );
    assert_eq!(init["capabilities"]["hoverProvider"], true, "{init}");
    client.notify("initialized", json!({}));

    // Open with a misspelt role and a deploy target the configuration does not know yet.
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": spec_uri, "languageId": "yaml", "version": 1, "text": SPEC}}),
    );
    let found = client.diagnostics(&spec_uri);
    let codes: Vec<&str> = found.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(
        codes.contains(&"C0106") && codes.contains(&"C0203"),
        "{found:?}"
    );
    let role = found.iter().find(|d| d["code"] == "C0106").expect("role");
    assert_eq!(role["range"]["start"], json!({"line": 10, "character": 10}));
    assert_eq!(role["severity"], 1);
    assert_eq!(role["source"], "coder");
    assert_eq!(role["data"]["replacement"], "implementer");

    // The quick fix replaces the misspelling.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": spec_uri}, "range": role["range"], "context": {"diagnostics": [role]}}),
    );
    let edit = &actions[0]["edit"]["changes"][&spec_uri][0];
    assert_eq!(edit["newText"], "implementer", "{actions}");

    // Hover: the code's explanation on the problem, a key's documentation, the cron's next
    // firings in its zone.
    let hover = client.request("textDocument/hover", at(&spec_uri, 10, 12));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("C0106") && v.contains("## What it does")),
        "{hover}"
    );
    let hover = client.request("textDocument/hover", at(&spec_uri, 11, 5));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("**goal**")),
        "{hover}"
    );
    let hover = client.request("textDocument/hover", at(&spec_uri, 3, 12));
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("in Europe/Berlin fires next at") && text.matches("\n- Mon ").count() == 5,
        "{hover}"
    );

    // Fixed in the buffer: the role's problem is gone, unsaved.
    let fixed = SPEC.replace("implmenter", "implementer");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": spec_uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let found = client.diagnostics(&spec_uri);
    let codes: Vec<&str> = found.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["C0203"], "{found:?}");

    // The configuration, opened and edited unsaved, re-checks the open spec.
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": config_uri, "languageId": "toml", "version": 1, "text": "[deploy.staging]\ncommand = \"./deploy.sh\"\n"}}),
    );
    let mut spec_clean = false;
    let mut config_clean = false;
    while !(spec_clean && config_clean) {
        let message = client.receive();
        if message["method"] != "textDocument/publishDiagnostics" {
            continue;
        }
        let empty = message["params"]["diagnostics"] == json!([]);
        if message["params"]["uri"] == spec_uri {
            assert!(empty, "{message}");
            spec_clean = true;
        } else if message["params"]["uri"] == config_uri {
            assert!(empty, "{message}");
            config_clean = true;
        }
    }
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": config_uri, "version": 2}, "contentChanges": [{"text": "[deploy.staging]\ncomand = 1\n"}]}),
    );
    let mut config_problem = None;
    while config_problem.is_none() {
        let message = client.receive();
        if message["method"] == "textDocument/publishDiagnostics"
            && message["params"]["uri"] == config_uri
        {
            config_problem = Some(message["params"]["diagnostics"].clone());
        }
    }
    let config_problem = config_problem.unwrap_or_default();
    assert_eq!(config_problem[0]["code"], "C0113", "{config_problem}");

    // Completion: roles after `role:`, trigger types, keys of an agent step not yet written,
    // gate selectors with the step ids.
    let typing = fixed.replace("    role: implementer\n", "    role: \n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": spec_uri, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    let items = client.request("textDocument/completion", at(&spec_uri, 10, 10));
    let labels: Vec<&str> = items
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["label"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        labels.contains(&"implementer") && labels.contains(&"reviewer"),
        "{items}"
    );
    let items = client.request("textDocument/completion", at(&spec_uri, 2, 10));
    let labels: Vec<String> = items
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["label"].as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    assert!(
        labels.contains(&"cron".to_string()) && labels.contains(&"webhook".to_string()),
        "{items}"
    );
    let with_new_line = typing.replace(
        "    goal: Fix the flaky test\n",
        "    goal: Fix the flaky test\n    \n",
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": spec_uri, "version": 4}, "contentChanges": [{"text": with_new_line}]}),
    );
    let items = client.request("textDocument/completion", at(&spec_uri, 12, 4));
    let labels: Vec<&str> = items
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["label"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        labels.contains(&"step_id") && labels.contains(&"name"),
        "{items}"
    );
    assert!(
        !labels.contains(&"goal") && !labels.contains(&"command"),
        "{items}"
    );

    // Back to the fixed spec: go from the gate selector to the step, and the outline.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": spec_uri, "version": 5}, "contentChanges": [{"text": fixed}]}),
    );
    let definition = client.request("textDocument/definition", at(&spec_uri, 7, 34));
    assert_eq!(definition[0]["range"]["start"]["line"], 12, "{definition}");
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": spec_uri}}),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["cron", "s1", "ship"], "{symbols}");

    // Closing clears the file's problems; shutdown and exit end the process cleanly.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": config_uri}}),
    );
    let cleared = client.diagnostics(&config_uri);
    assert!(cleared.is_empty());
    let result = client.request("shutdown", Value::Null);
    assert_eq!(result, Value::Null);
    client.notify("exit", Value::Null);
    drop(client.stdin);
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = client.child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = client.child.kill();
            panic!("coder lsp did not exit after `exit`");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// The resident set of the real `coder lsp` with 50 typical specs open and checked stays under
/// the 30 MiB, even in a debug build (`--nocapture` prints the figures).
#[test]
fn resident_set_with_50_specs_open() {
    let dir = repo(&[(
        ".coder/config.toml",
        "[deploy.preview]\ncommand = \"./deploy preview\"\n[deploy.prod]\ncommand = \"./deploy prod\"\n",
    )]);
    let root = dir.path().canonicalize().expect("root");
    let mut client = Client::start(&root);
    client.request(
        "initialize",
        json!({"processId": null, "capabilities": {}, "rootUri": format!("file://{}", root.display())}),
    );
    client.notify("initialized", json!({}));
    let rss = |client: &Client| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", client.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .expect("VmRSS")
    };
    let started = rss(&client);
    for n in 0..50 {
        let uri = format!("file://{}/.coder/workflows/wf_{n}.yml", root.display());
        client.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": specs::spec(n)}}),
        );
        client.diagnostics(&uri);
    }
    // Hover and completion load the schema and the zone list: count them too.
    let first = format!("file://{}/.coder/workflows/wf_0.yml", root.display());
    client.request("textDocument/hover", at(&first, 3, 6));
    client.request("textDocument/completion", at(&first, 12, 16));
    let open = rss(&client);
    println!(
        "coder lsp resident set: {:.1} MiB after initialize, {:.1} MiB with 50 specs open",
        started as f64 / 1024.0,
        open as f64 / 1024.0
    );
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(open < 30 * 1024, "{open} KiB resident");
}

/// The benchmarks' generated specs (`spec(n)`: realistic, 4 to 8 steps, every policy).
#[path = "../../benches/specs/mod.rs"]
mod specs;

/// A generic client (VS Code's, Helix's language entry for YAML) hands over every YAML file:
/// only specs in `.coder/workflows/` (and the configuration) are coder's.
#[test]
fn files_outside_coder_workflows_are_left_alone() {
    let dir = repo(&[]);
    let root = dir.path().canonicalize().expect("root");
    let compose_uri = format!("file://{}/docker-compose.yml", root.display());
    let spec_uri = format!("file://{}/.coder/workflows/nightly.yml", root.display());
    let mut client = Client::start(&root);
    client.request(
        "initialize",
        json!({"processId": null, "capabilities": {}, "rootUri": format!("file://{}", root.display())}),
    );
    client.notify("initialized", json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": compose_uri, "languageId": "yaml", "version": 1, "text": "services:\n  web:\n    image: nginx\n"}}),
    );
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": spec_uri, "languageId": "yaml", "version": 1, "text": SPEC}}),
    );
    // The first diagnostics published are the spec's: none ever come for the compose file.
    let first = loop {
        let message = client.receive();
        if message["method"] == "textDocument/publishDiagnostics" {
            break message;
        }
    };
    assert_eq!(first["params"]["uri"], spec_uri, "{first}");
    let hover = client.request("textDocument/hover", at(&compose_uri, 0, 2));
    assert_eq!(hover, Value::Null);
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
}

/// A step condition completes with the steps it can name and leads to the step it names.
#[test]
fn conditions_complete_with_the_steps_that_go_on_and_lead_to_them() {
    const TRIAGE: &str = "name: Triage\nsteps:\n  - type: command\n    command: make lint\n  - type: command\n    step_id: tests\n    command: make test\n    continue_on_failure: true\n  - type: agent\n    role: tester\n    goal: Fix the failing tests\n    if_failed: tests\n";
    let dir = repo(&[]);
    let root = dir.path().canonicalize().expect("root");
    let spec_uri = format!("file://{}/.coder/workflows/triage.yml", root.display());
    let mut client = Client::start(&root);
    client.request(
        "initialize",
        json!({"processId": null, "capabilities": {}, "rootUri": format!("file://{}", root.display())}),
    );
    client.notify("initialized", json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": spec_uri, "languageId": "yaml", "version": 1, "text": TRIAGE}}),
    );
    assert_eq!(client.diagnostics(&spec_uri), Vec::<Value>::new());
    // Line 11 is `    if_failed: tests`; only `tests` continues on failure.
    let items = client.request("textDocument/completion", at(&spec_uri, 11, 16));
    let labels: Vec<&str> = items
        .as_array()
        .or_else(|| items["items"].as_array())
        .expect("items")
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    assert_eq!(labels, ["tests"], "{items}");
    let definition = client.request("textDocument/definition", at(&spec_uri, 11, 17));
    assert_eq!(definition["range"]["start"]["line"], 4, "{definition}");
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
}
