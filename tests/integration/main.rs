//! The one integration test binary: fixtures, the CLI on the real binaries, the schema, and
//! property tests.

mod act;
mod claude_e2e;
mod cli;
mod compile;
mod fixtures;
mod github;
mod gitlab;
mod ir;
mod layers;
mod pipeline;
mod props;
mod runner;
mod schema;
mod step;
mod systemd;

use std::path::{Path, PathBuf};

/// The repository root (where Cargo.toml is).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_dir() -> PathBuf {
    root().join("tests/fixtures/check")
}

/// The valid fixtures (`tests/fixtures/check/ok/`), sorted: what every target compiles.
pub fn ok_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(fixture_dir().join("ok"))
        .expect("ok dir")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
}

/// insta settings shared by every snapshot: all snapshots live in top-level `snapshots/`.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}
