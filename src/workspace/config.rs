//! coder's configuration: `.coder/config.toml`, or else `[workspace.metadata.coder]` (or
//! `[package.metadata.coder]`) in the repository's `Cargo.toml`.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::diag::{Code, Diagnostic, SourceFile, Span};

pub const CONFIG_FILE: &str = ".coder/config.toml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Deploy targets besides `preview` and `prod`, with how to deploy to them.
    #[serde(default)]
    pub deploy: IndexMap<String, toml::Table>,
}

/// The configuration of the repository at `root`, and the diagnostics of a config file that is
/// invalid (reported against that file; the defaults apply meanwhile).
pub fn load(root: &Path) -> (Config, Option<(SourceFile, Diagnostic)>) {
    let path = root.join(CONFIG_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let file = SourceFile::new(CONFIG_FILE, text);
        return match toml::from_str::<Config>(&file.text) {
            Ok(config) => (config, None),
            Err(err) => {
                let diag = toml_diagnostic(&err, CONFIG_FILE);
                (Config::default(), Some((file, diag)))
            }
        };
    }
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return (Config::default(), None);
    };
    let file = SourceFile::new("Cargo.toml", text);
    let Ok(manifest) = toml::from_str::<toml::Table>(&file.text) else {
        // A broken Cargo.toml is cargo's to report, not ours.
        return (Config::default(), None);
    };
    let metadata = ["workspace", "package"].iter().find_map(|section| {
        manifest
            .get(*section)?
            .get("metadata")?
            .get("coder")
            .cloned()
    });
    match metadata.map(|value| value.try_into::<Config>()) {
        None => (Config::default(), None),
        Some(Ok(config)) => (config, None),
        Some(Err(err)) => {
            let diag = toml_diagnostic(&err, "[workspace.metadata.coder]");
            (Config::default(), Some((file, diag)))
        }
    }
}

fn toml_diagnostic(err: &toml::de::Error, what: &str) -> Diagnostic {
    let message = err.message().trim().to_string();
    let diag = Diagnostic::new(
        Code::InvalidConfig,
        format!("invalid configuration in {what}: {message}"),
    );
    match err.span() {
        Some(range) => diag.at(Span::new(range.start, range.end), message),
        None => diag,
    }
}

impl Config {
    /// Deploy targets a spec may name: the built-in ones and the configured ones.
    pub fn deploy_targets(&self) -> impl Iterator<Item = &str> + Clone {
        crate::model::BUILTIN_DEPLOY_TARGETS
            .into_iter()
            .chain(self.deploy.keys().map(String::as_str))
    }
}
