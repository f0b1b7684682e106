//! The one integration test binary: fixtures, the CLI on the real binaries, the schema, and
//! property tests.

mod act;
mod claude_e2e;
mod cli;
mod compile;
mod conditions;
mod editor;
mod engines_e2e;
mod fixtures;
mod github;
mod gitlab;
mod graph;
mod host;
mod hostile;
mod hostile_specs;
mod init;
mod install;
mod ir;
mod layers;
mod lsp;
mod pipeline;
mod props;
mod python_gitlab;
mod readme;
mod release_train;
mod run_cost;
mod runner;
mod sandbox;
mod schema;
mod step;
mod systemd;
mod where_users_work;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (where Cargo.toml is).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An outside tool the suite runs (a validator, a CI runner, the Claude Code CLI), found on the
/// `PATH`, else where `scripts/test` installs it: `ci-tools/venv/bin` or
/// `ci-tools/npm/node_modules/.bin` under `$CARGO_TARGET_DIR` (`target/` by default). Those two
/// folders end the tool's own `PATH` too (actionlint finds shellcheck there). Fails the test,
/// naming the script, when the tool is in neither.
pub fn outside_tool(name: &str) -> Command {
    let target = root().join(std::env::var_os("CARGO_TARGET_DIR").unwrap_or("target".into()));
    let tools = target.join("ci-tools");
    let installed = [tools.join("venv/bin"), tools.join("npm/node_modules/.bin")];
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(installed)
        .collect();
    let Some(program) = dirs.iter().map(|dir| dir.join(name)).find(|p| p.is_file()) else {
        panic!(
            "`{name}` is not installed: scripts/test installs the outside tools (under {}) and runs the tests",
            tools.display()
        );
    };
    let mut command = Command::new(program);
    command.env("PATH", std::env::join_paths(dirs).expect("PATH"));
    command
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
