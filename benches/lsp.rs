//! `cargo bench --bench lsp`: the language server, in process over lsp-server's in-memory
//! connection (`Connection::memory()`), so what is measured is the server, not a pipe.
//!
//! - `lsp/change_to_diagnostics_typical`: from a `didChange` of the typical spec of the corpus
//!   (56 lines) to its `publishDiagnostics` (target: under 5 ms). The change alternates between
//!   the spec and the spec with a misspelt role, so every round publishes a real change.
//! - `lsp/change_to_diagnostics_typical_50_open`: the same with 49 other specs open (a change
//!   re-checks only its own document).
//!
//! The resident set of the real `coder lsp` with 50 specs open is measured by the ignored test
//! `lsp::resident_set_with_50_specs_open` (`cargo test --release -- --ignored resident_set`).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lsp_server::{Connection, Message, Notification, Request};
use serde_json::{Value, json};

mod specs;
use specs::spec;

const CONFIG: &str = "[deploy.preview]\ncommand = \"./deploy preview\"\n[deploy.prod]\ncommand = \"./deploy prod\"\n";

struct Client {
    connection: Connection,
    version: i32,
}

impl Client {
    fn notify(&self, method: &str, params: Value) {
        self.connection
            .sender
            .send(Message::Notification(Notification::new(
                method.to_string(),
                params,
            )))
            .expect("send");
    }

    /// Wait for the diagnostics of `uri`.
    fn diagnostics(&self, uri: &str) -> Vec<Value> {
        loop {
            let message = self
                .connection
                .receiver
                .recv_timeout(Duration::from_secs(10))
                .expect("the server answers");
            if let Message::Notification(n) = message
                && n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == uri
            {
                return n.params["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }

    fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        self.diagnostics(uri);
    }

    fn change(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.version += 1;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": self.version}, "contentChanges": [{"text": text}]}),
        );
        self.diagnostics(uri)
    }
}

/// A server on its own thread, initialized, in a repository whose configuration knows the
/// corpus's deploy targets.
fn start(dir: &std::path::Path) -> (Client, std::thread::JoinHandle<()>) {
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || coder::lsp::serve(&server).expect("serves"));
    client
        .sender
        .send(Message::Request(Request::new(
            1.into(),
            "initialize".to_string(),
            json!({"capabilities": {}, "rootUri": format!("file://{}", dir.display())}),
        )))
        .expect("initialize");
    let _ = client
        .receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("initialized");
    let client = Client {
        connection: client,
        version: 1,
    };
    client.notify("initialized", json!({}));
    (client, thread)
}

fn stop(client: Client, thread: std::thread::JoinHandle<()>) {
    client
        .connection
        .sender
        .send(Message::Request(Request::new(
            2.into(),
            "shutdown".to_string(),
            Value::Null,
        )))
        .expect("shutdown");
    client.notify("exit", Value::Null);
    drop(client);
    thread.join().expect("server thread");
}

fn language_server(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("root");
    std::fs::create_dir_all(root.join(".git")).expect(".git");
    std::fs::create_dir_all(root.join(".coder/workflows")).expect(".coder");
    std::fs::write(root.join(".coder/config.toml"), CONFIG).expect("config");
    let uri = |n: usize| format!("file://{}/.coder/workflows/wf_{n}.yml", root.display());

    let typical = spec(7);
    let broken = typical.replacen("role: ", "role: x", 1);
    let mut group = c.benchmark_group("lsp");

    let (mut client, thread) = start(&root);
    client.open(&uri(7), &typical);
    let codes = |found: Vec<Value>| -> Vec<String> {
        found.iter().map(|d| d["code"].to_string()).collect()
    };
    assert!(!codes(client.change(&uri(7), &typical)).contains(&"\"C0106\"".to_string()));
    assert!(codes(client.change(&uri(7), &broken)).contains(&"\"C0106\"".to_string()));
    let mut flip = false;
    group.bench_function("change_to_diagnostics_typical", |b| {
        b.iter(|| {
            flip = !flip;
            client.change(&uri(7), if flip { &broken } else { &typical })
        })
    });

    for n in (0..50).filter(|&n| n != 7) {
        client.open(&uri(n), &spec(n));
    }
    group.bench_function("change_to_diagnostics_typical_50_open", |b| {
        b.iter(|| {
            flip = !flip;
            client.change(&uri(7), if flip { &broken } else { &typical })
        })
    });
    group.finish();
    stop(client, thread);
}

criterion_group!(benches, language_server);
criterion_main!(benches);
