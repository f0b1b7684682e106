//! coder's configuration: `.coder/config.toml`, or else `[workspace.metadata.coder]` (or
//! `[package.metadata.coder]`) in the repository's `Cargo.toml`.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Code, Diagnostic, SourceFile, Span};
use crate::model::is_valid_id;

pub const CONFIG_FILE: &str = ".coder/config.toml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Deploy targets besides `preview` and `prod`, with how to deploy to them.
    #[serde(default)]
    pub deploy: IndexMap<Spanned<String>, toml::Table>,
    /// The configuration file exists but is invalid (reported against it). The defaults
    /// apply, and names it would define are not reported as unknown.
    #[serde(skip)]
    pub invalid: bool,
}

/// The parts of a `Cargo.toml` coder reads; everything else is cargo's.
#[derive(Deserialize)]
struct Manifest {
    workspace: Option<ManifestSection>,
    package: Option<ManifestSection>,
}

#[derive(Deserialize)]
struct ManifestSection {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    coder: Option<Config>,
}

/// The configuration of the repository at `root`, and the diagnostic of a config file that is
/// invalid (reported against that file; the defaults apply meanwhile).
pub fn load(root: &Path) -> (Config, Option<(SourceFile, Diagnostic)>) {
    if let Ok(text) = std::fs::read_to_string(root.join(CONFIG_FILE)) {
        let file = SourceFile::new(CONFIG_FILE, text);
        let parsed = toml::from_str::<Config>(&file.text);
        return finish(file, parsed.map_err(|e| toml_diagnostic(&e, CONFIG_FILE)));
    }
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return (Config::default(), None);
    };
    let file = SourceFile::new("Cargo.toml", text);
    match toml::from_str::<Manifest>(&file.text) {
        Ok(manifest) => {
            let config = [manifest.workspace, manifest.package]
                .into_iter()
                .flatten()
                .find_map(|section| section.metadata?.coder);
            match config {
                Some(config) => finish(file, Ok(config)),
                None => (Config::default(), None),
            }
        }
        // A Cargo.toml that is not TOML, or whose error lies outside coder's section, is
        // cargo's to report, not ours.
        Err(_) if !has_coder_section(&file.text) => (Config::default(), None),
        Err(err) => {
            let diag = toml_diagnostic(&err, "[workspace.metadata.coder]");
            finish(file, Err(diag))
        }
    }
}

fn has_coder_section(manifest: &str) -> bool {
    let Ok(table) = toml::from_str::<toml::Table>(manifest) else {
        return false;
    };
    ["workspace", "package"].iter().any(|section| {
        table
            .get(*section)
            .and_then(|s| s.get("metadata"))
            .and_then(|m| m.get("coder"))
            .is_some()
    })
}

fn finish(
    file: SourceFile,
    parsed: Result<Config, Diagnostic>,
) -> (Config, Option<(SourceFile, Diagnostic)>) {
    let invalid = Config {
        invalid: true,
        ..Config::default()
    };
    match parsed {
        Err(diag) => (invalid, Some((file, diag))),
        Ok(config) => {
            let bad_name = config
                .deploy
                .keys()
                .find(|name| !is_valid_id(name.get_ref()));
            match bad_name {
                None => (config, None),
                Some(name) => {
                    let range = name.span();
                    let diag = Diagnostic::new(
                        Code::InvalidConfig,
                        format!("invalid deploy target name `{}`", name.get_ref()),
                    )
                    .at(Span::new(range.start, range.end), "not a valid name")
                    .help("target names use letters, digits, `_` and `-`, and start with a letter or digit");
                    (invalid, Some((file, diag)))
                }
            }
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
            .chain(self.deploy.keys().map(|name| name.get_ref().as_str()))
    }
}
