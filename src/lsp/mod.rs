//! `coder lsp`: a language server over stdio for workflow specs and `.coder/config.toml`.
//! Every answer comes from the library: diagnostics from [`crate::pipeline::check_text`] on
//! the text in memory (unsaved edits included), key documentation from the JSON Schema the
//! model derives, code explanations from the diagnostic registry, firing times from
//! [`crate::schedule`]. The protocol plumbing is rust-analyzer's `lsp-server` (synchronous, no
//! async runtime: a small resident set) with `lsp-types`.

mod context;
mod features;
mod position;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest,
    Request as _,
};
use lsp_types::{PublishDiagnosticsParams, Uri};

use crate::pipeline::{self, CheckedFile};
use crate::target;
use crate::workspace::{self, Repository, config};

/// Serve on stdin/stdout until the client says `exit`.
pub fn serve_stdio() -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    let served = serve(&connection);
    // The writer thread ends when the last sender is gone.
    drop(connection);
    served?;
    threads
        .join()
        .map_err(|e| format!("language server I/O: {e}"))
}

/// Serve on `connection`: the initialize handshake, then requests and notifications until
/// shutdown.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let capabilities = serde_json::to_value(features::capabilities())
        .map_err(|e| format!("server capabilities: {e}"))?;
    connection
        .initialize(capabilities)
        .map_err(|e| format!("initialize: {e}"))?;
    let mut server = Server::default();
    let mut queued: Vec<Request> = Vec::new();
    loop {
        let message = match connection.receiver.recv() {
            Ok(message) => message,
            Err(_) => return Ok(()), // The client went away.
        };
        let mut stale = Vec::new();
        let mut handle =
            |message: Message, stale: &mut Vec<String>, queued: &mut Vec<Request>| match message {
                Message::Request(request) => queued.push(request),
                Message::Notification(notification) => {
                    stale.extend(server.notify(notification));
                }
                Message::Response(_) => {}
            };
        handle(message, &mut stale, &mut queued);
        // Debounce: take every change already waiting before checking, so a burst of
        // keystrokes is checked once, at its end.
        while let Ok(message) = connection.receiver.try_recv() {
            handle(message, &mut stale, &mut queued);
        }
        stale.sort();
        stale.dedup();
        for published in server.diagnostics(&stale) {
            send_notification::<PublishDiagnostics>(connection, published)?;
        }
        for request in std::mem::take(&mut queued) {
            if connection
                .handle_shutdown(&request)
                .map_err(|e| format!("shutdown: {e}"))?
            {
                return Ok(());
            }
            let response = server.request(request);
            connection
                .sender
                .send(Message::Response(response))
                .map_err(|e| format!("send: {e}"))?;
        }
    }
}

fn send_notification<N: lsp_types::notification::Notification>(
    connection: &Connection,
    params: N::Params,
) -> Result<(), String> {
    connection
        .sender
        .send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )))
        .map_err(|e| format!("send: {e}"))
}

/// An open document: a spec or the configuration.
struct Document {
    uri: Uri,
    path: PathBuf,
    text: String,
    version: i32,
    /// Byte offsets of line starts (see [`position::line_starts`]).
    starts: Vec<usize>,
    kind: Kind,
    /// The spec as last checked.
    checked: Option<CheckedFile>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Spec,
    Config,
    /// Any other file the editor hands over (a generic client sends every YAML file): left
    /// alone, so `docker-compose.yml` never gets a spec's diagnostics.
    Other,
}

impl Document {
    fn new(uri: Uri, path: PathBuf, text: String, version: i32) -> Document {
        let kind = if path.ends_with(config::CONFIG_FILE) {
            Kind::Config
        } else if path
            .parent()
            .is_some_and(|dir| dir.ends_with(".coder/workflows"))
        {
            Kind::Spec
        } else {
            Kind::Other
        };
        Document {
            starts: position::line_starts(&text),
            uri,
            path,
            text,
            version,
            kind,
            checked: None,
        }
    }
}

#[derive(Default)]
struct Server {
    documents: HashMap<String, Document>,
    /// Each repository with an open document, its configuration as the editor has it.
    repositories: HashMap<PathBuf, Repository>,
    schema: Option<serde_json::Value>,
    /// Closed documents whose diagnostics are still to be cleared.
    cleared: Vec<Uri>,
}

impl Server {
    /// Apply a notification; the URIs whose diagnostics are now stale.
    fn notify(&mut self, notification: Notification) -> Vec<String> {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Some(params) =
                    params::<lsp_types::DidOpenTextDocumentParams>(notification.params)
                else {
                    return Vec::new();
                };
                let document = params.text_document;
                let Some(path) = position::uri_to_path(&document.uri) else {
                    return Vec::new();
                };
                let key = document.uri.as_str().to_string();
                let opened = Document::new(document.uri, path, document.text, document.version);
                let kind = opened.kind;
                let root = self.root_of(&opened.path);
                self.documents.insert(key.clone(), opened);
                match kind {
                    Kind::Config => self.reload_config(&root),
                    Kind::Spec => vec![key],
                    Kind::Other => Vec::new(),
                }
            }
            DidChangeTextDocument::METHOD => {
                let Some(params) =
                    params::<lsp_types::DidChangeTextDocumentParams>(notification.params)
                else {
                    return Vec::new();
                };
                let key = params.text_document.uri.as_str().to_string();
                let Some(document) = self.documents.get_mut(&key) else {
                    return Vec::new();
                };
                // Full sync: the last change holds the whole text.
                let Some(change) = params.content_changes.into_iter().last() else {
                    return Vec::new();
                };
                document.text = change.text;
                document.version = params.text_document.version;
                document.starts = position::line_starts(&document.text);
                match document.kind {
                    Kind::Config => {
                        let root = self.root_of(&self.documents[&key].path);
                        self.reload_config(&root)
                    }
                    Kind::Spec => vec![key],
                    Kind::Other => Vec::new(),
                }
            }
            DidSaveTextDocument::METHOD => Vec::new(),
            DidCloseTextDocument::METHOD => {
                let Some(params) =
                    params::<lsp_types::DidCloseTextDocumentParams>(notification.params)
                else {
                    return Vec::new();
                };
                let key = params.text_document.uri.as_str().to_string();
                let Some(closed) = self.documents.remove(&key) else {
                    return Vec::new();
                };
                let mut stale = Vec::new();
                if closed.kind == Kind::Config {
                    // Back to what is on disk.
                    let root = self.root_of(&closed.path);
                    self.repositories.remove(&root);
                    stale = self.reload_config(&root);
                }
                // Cleared: a closed file's problems are the project's, not the editor's.
                if closed.kind != Kind::Other {
                    self.cleared.push(closed.uri);
                }
                stale
            }
            _ => Vec::new(),
        }
    }

    /// The repository root around `path`: the nearest `.git`, else the spec's folder's
    /// grandparent for `.coder/workflows/x.yml`, else its folder.
    fn root_of(&self, path: &Path) -> PathBuf {
        let dir = path.parent().unwrap_or(Path::new("/"));
        workspace::find_repo_root(dir).unwrap_or_else(|| dir.to_path_buf())
    }

    fn repository(&mut self, root: &Path) -> &Repository {
        self.repositories
            .entry(root.to_path_buf())
            .or_insert_with(|| Repository::open(root.to_path_buf(), root, &target::names()))
    }

    /// Read the configuration of `root` from its open buffer (or disk); every open document
    /// of that repository is stale then.
    fn reload_config(&mut self, root: &Path) -> Vec<String> {
        let buffer = self
            .documents
            .values()
            .find(|d| d.kind == Kind::Config && self.root_of(&d.path) == root)
            .map(|d| d.text.clone());
        let mut repository = Repository::open(root.to_path_buf(), root, &target::names());
        if let Some(text) = buffer {
            let (config, problem) = config::parse_config_file(text, &target::names());
            repository.config = config;
            repository.config_report = problem.map(|(file, diag)| crate::diag::FileReport {
                source: file,
                diagnostics: vec![diag],
            });
        }
        self.repositories.insert(root.to_path_buf(), repository);
        self.documents
            .iter()
            .filter(|(_, d)| self.root_of(&d.path) == root)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Check the stale documents and say what each one's problems are now.
    fn diagnostics(&mut self, stale: &[String]) -> Vec<PublishDiagnosticsParams> {
        let mut out: Vec<PublishDiagnosticsParams> = self
            .cleared
            .drain(..)
            .map(|uri| PublishDiagnosticsParams::new(uri, Vec::new(), None))
            .collect();
        for key in stale {
            let Some(document) = self.documents.get(key) else {
                continue;
            };
            let root = self.root_of(&document.path);
            let (path, text, kind) = (document.path.clone(), document.text.clone(), document.kind);
            let repository = self.repository(&root).clone();
            let Some(document) = self.documents.get_mut(key) else {
                continue;
            };
            let diagnostics = match kind {
                Kind::Other => continue,
                Kind::Config => repository
                    .config_report
                    .iter()
                    .flat_map(|report| &report.diagnostics)
                    .map(|d| features::to_lsp(document, d))
                    .collect(),
                Kind::Spec => {
                    let checked = pipeline::check_text(&path, &text, &repository, &[]);
                    let converted = checked
                        .report
                        .diagnostics
                        .iter()
                        .map(|d| features::to_lsp(document, d))
                        .collect();
                    document.checked = Some(checked);
                    converted
                }
            };
            out.push(PublishDiagnosticsParams::new(
                document.uri.clone(),
                diagnostics,
                Some(document.version),
            ));
        }
        out
    }

    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            HoverRequest::METHOD => self.answer(request, features::hover),
            Completion::METHOD => self.answer(request, features::completion),
            GotoDefinition::METHOD => self.answer(request, features::definition),
            DocumentSymbolRequest::METHOD => self.answer(request, features::symbols),
            CodeActionRequest::METHOD => self.answer(request, features::code_actions),
            method => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("coder lsp does not answer `{method}`"),
                );
            }
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(message) => {
                Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, message)
            }
        }
    }

    /// Decode a request's parameters, find its document, and answer with `feature`.
    fn answer<P, R>(
        &mut self,
        request: Request,
        feature: fn(&features::Cx<'_>, P) -> R,
    ) -> Result<serde_json::Value, String>
    where
        P: serde::de::DeserializeOwned + features::HasDocument,
        R: serde::Serialize,
    {
        let params: P = serde_json::from_value(request.params)
            .map_err(|e| format!("invalid parameters: {e}"))?;
        let key = params.document().as_str().to_string();
        if self.schema.is_none() {
            self.schema = serde_json::from_str(&crate::model::schema::json_schema()).ok();
        }
        let Some(document) = self.documents.get(&key).filter(|d| d.kind != Kind::Other) else {
            return Ok(serde_json::Value::Null);
        };
        let root = self.root_of(&document.path);
        let repository = self.repository(&root).clone();
        let (Some(document), Some(schema)) = (self.documents.get(&key), self.schema.as_ref())
        else {
            return Ok(serde_json::Value::Null);
        };
        let cx = features::Cx {
            uri: &document.uri,
            text: &document.text,
            starts: &document.starts,
            checked: document.checked.as_ref(),
            is_config: document.kind == Kind::Config,
            repository: &repository,
            schema,
        };
        serde_json::to_value(feature(&cx, params)).map_err(|e| format!("answer: {e}"))
    }
}

fn params<P: serde::de::DeserializeOwned>(value: serde_json::Value) -> Option<P> {
    serde_json::from_value(value).ok()
}
