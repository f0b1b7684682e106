//! The real binaries: exit codes, every output format, discovery, bad input, help texts.

use std::path::Path;
use std::process::{Command, Output};

use crate::{fixture_dir, root, snapshot_settings};

pub(crate) fn coder() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
    cmd.current_dir(root())
        .env_remove("NO_COLOR")
        .env("COLUMNS", "80");
    cmd
}

pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("binary runs");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// A git repository in a temp dir with the given files.
pub(crate) fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect(".git");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

const OK_SPEC: &str = "name: ok\nsteps:\n  - type: command\n    command: make\n";

#[test]
fn ok_specs_exit_zero_with_a_summary() {
    let (code, stdout, _) = run(coder().args(["check", "tests/fixtures/check/ok"]));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.ends_with("checked 8 files: 0 errors, 7 warnings\n"),
        "{stdout}"
    );
}

#[test]
fn errors_exit_one_and_render_like_the_snapshot() {
    let (code, stdout, _) = run(coder().args([
        "check",
        "--color=never",
        "tests/fixtures/check/C0101-unknown-key.yml",
    ]));
    assert_eq!(code, 1);
    snapshot_settings().bind(|| insta::assert_snapshot!("cli_check_human", stdout));
}

#[test]
fn discovers_specs_in_the_enclosing_repository() {
    let dir = repo(&[(".coder/workflows/ok.yml", OK_SPEC), ("src/lib.rs", "")]);
    let (code, stdout, stderr) = run(coder().arg("check").current_dir(dir.path().join("src")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("checked 1 file: no problems"), "{stdout}");
}

#[test]
fn usage_and_io_problems_exit_two() {
    let outside = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(coder().arg("check").current_dir(outside.path()));
    assert_eq!(code, 2);
    assert!(stderr.contains("not inside a git repository"), "{stderr}");

    let no_folder = repo(&[]);
    let (code, _, stderr) = run(coder().arg("check").current_dir(no_folder.path()));
    assert_eq!(code, 2);
    assert!(stderr.contains("no `.coder/workflows/` folder"), "{stderr}");

    let empty = repo(&[(".coder/workflows/README.md", "not a spec")]);
    let (code, _, stderr) = run(coder().arg("check").current_dir(empty.path()));
    assert_eq!(code, 2);
    assert!(stderr.contains("no specs"), "{stderr}");

    let (code, _, stderr) = run(coder().args(["check", "does/not/exist.yml"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read `does/not/exist.yml`"),
        "{stderr}"
    );

    let (code, _, _) = run(coder().args(["check", "--format", "xml"]));
    assert_eq!(code, 2);
}

#[test]
fn oversized_file_is_a_diagnostic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.yml");
    let mut text = String::from(OK_SPEC);
    while text.len() <= coder::parse::MAX_FILE_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&path, text).expect("write");
    let (code, stdout, _) = run(coder().args(["check", "--format=short"]).arg(&path));
    assert_eq!(code, 1);
    assert!(
        stdout.contains("error[C0002]: file is over 1048576 bytes"),
        "{stdout}"
    );
}

#[test]
fn short_format_is_one_line_per_diagnostic() {
    let (code, stdout, _) = run(coder().args([
        "check",
        "--format=short",
        "tests/fixtures/check/C0101-unknown-key.yml",
        "tests/fixtures/check/C0242-gate-matches-no-step.yml",
    ]));
    assert_eq!(code, 1);
    snapshot_settings().bind(|| insta::assert_snapshot!("cli_check_short", stdout));
}

#[test]
fn json_format_has_the_documented_shape() {
    let (code, stdout, _) = run(coder().args([
        "check",
        "--format=json",
        "tests/fixtures/check/C0101-unknown-key.yml",
        "tests/fixtures/check/ok/wf_release_train.yml",
    ]));
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["errors"], 3);
    assert_eq!(doc["warnings"], 2);
    let first = &doc["diagnostics"][0];
    for key in [
        "code",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "labels",
        "help",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    assert_eq!(first["code"], "C0101");
    assert_eq!(first["file"], "tests/fixtures/check/C0101-unknown-key.yml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(
        (first["end_line"].as_u64(), first["end_column"].as_u64()),
        (Some(5), Some(12))
    );
    assert_eq!(first["help"], "did you mean `timezone`?");
    assert_eq!(doc["diagnostics"][3]["severity"], "warning");
}

#[test]
fn columns_count_characters_not_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("utf8.yml");
    std::fs::write(
        &path,
        "name: \"é\"\nsteps:\n  - {type: agent, rôle: x, role: tester, goal: g}\n",
    )
    .expect("write");
    let (_, stdout, _) = run(coder().args(["check", "--format=json"]).arg(&path));
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "C0101");
    assert_eq!(
        (
            d["line"].as_u64(),
            d["column"].as_u64(),
            d["end_column"].as_u64()
        ),
        (Some(3), Some(19), Some(23))
    );
}

#[test]
fn sarif_is_a_sarif_2_1_0_log() {
    let (_, stdout, _) = run(coder().args([
        "check",
        "--format=sarif",
        "tests/fixtures/check/C0201-duplicate-step-id.yml",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "coder");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), coder::diag::Code::ALL.len());
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "C0201");
    assert_eq!(
        rules[result["ruleIndex"].as_u64().expect("index") as usize]["id"],
        "C0201"
    );
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(6), Some(14))
    );
    assert_eq!(
        result["relatedLocations"][0]["message"]["text"],
        "first used here"
    );
}

#[test]
fn message_format_json_lines_parse_as_rustc_diagnostics() {
    let (code, stdout, _) = run(coder().args([
        "check",
        "--message-format=json",
        "tests/fixtures/check/C0101-unknown-key.yml",
    ]));
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in lines {
        let diag: cargo_metadata::diagnostic::Diagnostic =
            serde_json::from_str(line).expect("rustc-shaped diagnostic");
        assert_eq!(
            diag.code.as_ref().map(|c| c.code.as_str()),
            Some("coder::C0101")
        );
        let span = &diag.spans[0];
        assert!(span.is_primary);
        assert_eq!(
            span.text[0].highlight_end - span.text[0].highlight_start,
            span.column_end - span.column_start
        );
        assert_eq!(
            diag.children[0].level,
            cargo_metadata::diagnostic::DiagnosticLevel::Help
        );
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let file = "tests/fixtures/check/C0108-unsupported-version.yml";
    let (_, plain, _) = run(coder().args(["check", file]));
    assert!(!plain.contains('\x1b'), "not a terminal: no colour");
    let (_, always, _) = run(coder().args(["check", "--color=always", file]));
    assert!(always.contains('\x1b'));
    let (_, never, _) = run(coder()
        .args(["check", "--color=never", file])
        .env("NO_COLOR", "1"));
    assert!(!never.contains('\x1b'));
}

#[test]
fn invalid_config_is_reported_in_the_config_file() {
    let dir = repo(&[
        (".coder/workflows/ok.yml", OK_SPEC),
        (
            ".coder/config.toml",
            "[deploy.staging]\ncommand = \"./deploy.sh\"\n\n[deplyo.x]\n",
        ),
    ]);
    let (code, stdout, _) = run(coder()
        .args(["check", "--format=short"])
        .current_dir(dir.path()));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with(".coder/config.toml:4:2: error[C0113]: invalid configuration"),
        "{stdout}"
    );
}

#[test]
fn configured_deploy_targets_are_known() {
    let spec = "name: staged\nsteps:\n  - type: deploy\n    target: staging\n";
    let with = repo(&[
        (".coder/workflows/s.yml", spec),
        (
            ".coder/config.toml",
            "[deploy.staging]\ncommand = \"./deploy.sh staging\"\n",
        ),
    ]);
    let (code, stdout, _) = run(coder().arg("check").current_dir(with.path()));
    assert_eq!(code, 0, "{stdout}");
    let cargo = repo(&[
        (".coder/workflows/s.yml", spec),
        (
            "Cargo.toml",
            "[workspace]\n[workspace.metadata.coder.deploy.staging]\ncommand = \"x\"\n",
        ),
    ]);
    let (code, stdout, _) = run(coder().arg("check").current_dir(cargo.path()));
    assert_eq!(code, 0, "{stdout}");
    let without = repo(&[(".coder/workflows/s.yml", spec)]);
    let (code, _, _) = run(coder().arg("check").current_dir(without.path()));
    assert_eq!(code, 1);
}

#[test]
fn file_stem_must_be_a_valid_id_without_workflow_id() {
    let dir = repo(&[(".coder/workflows/weekly.release.yml", OK_SPEC)]);
    let (code, stdout, _) = run(coder()
        .args(["check", "--format=short"])
        .current_dir(dir.path()));
    assert_eq!(code, 1);
    assert!(
        stdout.contains("error[C0109]: file name `weekly.release` is not a valid workflow_id"),
        "{stdout}"
    );
    // A name outside the portable set is reported once, as such (C0115), not as an id too.
    let dir = repo(&[(".coder/workflows/weekly release.yml", OK_SPEC)]);
    let (code, stdout, _) = run(coder()
        .args(["check", "--format=short"])
        .current_dir(dir.path()));
    assert_eq!(code, 1);
    assert!(
        stdout.contains("error[C0115]: spec file name `weekly release.yml` holds ` `")
            && !stdout.contains("C0109"),
        "{stdout}"
    );
}

#[test]
fn explain_prints_one_code_or_all() {
    let (code, stdout, _) = run(coder().args(["explain", "C0101"]));
    assert_eq!(code, 0);
    snapshot_settings().bind(|| insta::assert_snapshot!("cli_explain_C0101", stdout));
    let (code, by_name, _) = run(coder().args(["explain", "unknown-key"]));
    assert_eq!((code, by_name), (0, stdout));

    let (code, json, _) = run(coder().args(["explain", "--all", "--format", "json"]));
    assert_eq!(code, 0);
    let all: Vec<serde_json::Value> = serde_json::from_str(&json).expect("json array");
    assert_eq!(all.len(), coder::diag::Code::ALL.len());
    assert!(all.iter().all(|c| {
        c["explanation"]
            .as_str()
            .is_some_and(|e| e.starts_with("## What it does"))
    }));

    let (code, _, stderr) = run(coder().args(["explain", "C0011"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown diagnostic code `C0011`"),
        "{stderr}"
    );
}

#[test]
fn schema_prints_the_checked_in_schema() {
    let (code, stdout, _) = run(coder().arg("schema"));
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        std::fs::read_to_string(root().join("schema/coder.schema.json")).expect("schema")
    );
}

#[test]
fn cargo_coder_is_the_same_cli_through_cargo() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-coder"))
        .parent()
        .expect("bin dir");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root()).env("PATH", path).args([
        "coder",
        "check",
        "--format=short",
        "tests/fixtures/check/C0108-unsupported-version.yml",
    ]);
    let (code, stdout, stderr) = run(&mut cargo);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("error[C0108]"), "{stdout}");
}

#[test]
fn help_texts_are_stable() {
    let cases: [(&str, &str, &[&str]); 8] = [
        (
            "help_coder_run",
            env!("CARGO_BIN_EXE_coder"),
            &["run", "--help"],
        ),
        (
            "help_coder_approve",
            env!("CARGO_BIN_EXE_coder"),
            &["approve", "--help"],
        ),
        (
            "help_coder_runs",
            env!("CARGO_BIN_EXE_coder"),
            &["runs", "--help"],
        ),
        ("help_coder", env!("CARGO_BIN_EXE_coder"), &["--help"]),
        (
            "help_coder_check",
            env!("CARGO_BIN_EXE_coder"),
            &["check", "--help"],
        ),
        (
            "help_coder_explain",
            env!("CARGO_BIN_EXE_coder"),
            &["explain", "--help"],
        ),
        (
            "help_cargo_coder",
            env!("CARGO_BIN_EXE_cargo-coder"),
            &["coder", "--help"],
        ),
        (
            "help_coder_step",
            env!("CARGO_BIN_EXE_coder-step"),
            &["--help"],
        ),
    ];
    for (name, bin, args) in cases {
        let (code, stdout, _) = run(Command::new(bin).args(args));
        assert_eq!(code, 0, "{name}");
        snapshot_settings().bind(|| insta::assert_snapshot!(name, stdout));
    }
    let (code, version, _) = run(Command::new(env!("CARGO_BIN_EXE_coder-step")).arg("--version"));
    assert_eq!(
        (code, version),
        (0, format!("coder-step {}\n", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn every_fixture_runs_through_the_binary_without_a_crash() {
    let (code, stdout, stderr) = run(coder().arg("check").arg("--format=json").arg(fixture_dir()));
    assert_eq!(code, 1, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert!(doc["errors"].as_u64().expect("count") > 40);
}

#[test]
fn a_file_named_twice_is_checked_once() {
    let (code, stdout, _) = run(coder().args([
        "check",
        "--format=short",
        "tests/fixtures/check/ok",
        "tests/fixtures/check/ok/release.yml",
        "./tests/fixtures/check/ok/release.yml",
    ]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn special_files_are_refused_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.yml");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let (code, _, stderr) = run(coder().arg("check").arg(&fifo));
    assert_eq!(code, 2);
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn spec_text_cannot_inject_lines_or_escape_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("evil.yml");
    std::fs::write(
        &path,
        "name: x\nsteps:\n  - type: command\n    command: make\n    step_id: \"x\\ny\"\n    \"a\\u001b[31mRED\": 1\n",
    )
    .expect("write");
    let (code, stdout, _) = run(coder()
        .args(["check", "--format=short", "--color=never"])
        .arg(&path));
    assert_eq!(code, 1);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(!stdout.contains('\x1b'), "{stdout}");
    let (_, human, _) = run(coder().args(["check", "--color=never"]).arg(&path));
    assert!(!human.contains('\x1b'));
}

#[test]
fn minified_specs_render_without_drawing_their_huge_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("min.yml");
    let long = "a".repeat(70_000);
    std::fs::write(
        &path,
        format!("{{name: \"{long}\", steps: [{{type: command, command: ls, bogus: 1}}]}}\n"),
    )
    .expect("write");
    let (code, stdout, stderr) = run(coder().args(["check", "--color=never"]).arg(&path));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains(":1:70049: unknown field `bogus`"),
        "{}",
        &stdout[..stdout.len().min(400)]
    );
}

#[test]
fn compile_emit_ir_prints_the_ir_or_the_errors() {
    let (code, stdout, stderr) = run(coder().args([
        "compile",
        "--emit=ir",
        "tests/fixtures/check/ok/release.yml",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let ir: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(ir[0]["workflow_id"], "release");
    assert_eq!(ir[0]["jobs"].as_array().map(Vec::len), Some(4));

    let (code, stdout, stderr) = run(coder().args([
        "compile",
        "--emit=ir",
        "--color=never",
        "tests/fixtures/check/C0106-unknown-role.yml",
    ]));
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("unknown role `release-engineer`"),
        "{stderr}"
    );
}

#[test]
fn each_spec_is_checked_against_its_own_repository() {
    let frequent = "name: f\ntriggers:\n  - type: cron\n    cron: \"*/2 * * * *\"\nsteps:\n  - type: command\n    command: make\n";
    let github = repo(&[
        (".coder/workflows/same.yml", frequent),
        (
            ".git/config",
            "[remote \"origin\"]\n\turl = git@github.com:acme/app.git\n",
        ),
    ]);
    let gitlab = repo(&[
        (".coder/workflows/same.yml", frequent),
        (
            ".git/config",
            "[remote \"origin\"]\n\turl = git@gitlab.com:acme/app.git\n",
        ),
    ]);
    let spec = |dir: &tempfile::TempDir| dir.path().join(".coder/workflows/same.yml");
    for order in [
        [spec(&gitlab), spec(&github)],
        [spec(&github), spec(&gitlab)],
    ] {
        let (code, stdout, _) = run(coder().args(["check", "--format=short"]).args(&order));
        assert_eq!(code, 1, "{stdout}");
        // GitHub's 5-minute limit applies to the GitHub repository's spec only, and the two
        // repositories may both have a workflow `same`.
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.contains("error[C0402]"), "{stdout}");
        assert!(
            stdout.contains(&spec(&github).display().to_string()),
            "{stdout}"
        );
    }
}

#[test]
fn ir_names_the_spec_relative_to_its_repository() {
    let dir = repo(&[(".coder/workflows/ok.yml", OK_SPEC), ("sub/dir/.keep", "")]);
    let (code, stdout, stderr) = run(coder()
        .args(["compile", "--emit=ir", "../../.coder/workflows/ok.yml"])
        .current_dir(dir.path().join("sub/dir")));
    assert_eq!(code, 0, "{stderr}");
    let ir: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(ir[0]["source"], ".coder/workflows/ok.yml");
}
