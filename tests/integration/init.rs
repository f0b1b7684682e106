//! `coder init` on repositories the tests make (Rust package and workspace, Node with each
//! lock file, Python with uv and with poetry, Go with a Makefile, existing GitHub CI, a GitLab
//! remote, an empty one): what it writes snapshotted, checked clean by `coder check`, up to date
//! for `coder compile --check`, the generated CI files passed through the outside validators;
//! re-running changes nothing; an edited file is left alone; `--dry-run` writes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

use crate::cli::run;
use crate::snapshot_settings;

/// A repository to make: its files, its `origin` remote, whether it has a release tag.
struct Fixture {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    remote: Option<&'static str>,
    tag: bool,
}

const GITHUB: Option<&str> = Some("https://github.com/acme/widget.git");

const PACKAGE_JSON: &str = r#"{
  "name": "widget",
  "version": "1.4.0",
  "scripts": { "build": "tsc -p .", "test": "vitest run", "lint": "eslint ." }
}
"#;

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "rust_package",
        files: &[
            (
                "Cargo.toml",
                "[package]\nname = \"widget\"\nversion = \"0.3.1\"\nedition = \"2021\"\n",
            ),
            ("Cargo.lock", "version = 4\n"),
            ("src/main.rs", "fn main() {}\n"),
            ("CHANGELOG.md", "# Changelog\n\n## 0.3.1\n- first\n"),
        ],
        remote: GITHUB,
        tag: false,
    },
    Fixture {
        name: "rust_workspace",
        files: &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[workspace.package]\nversion = \"2.0.0\"\n",
            ),
            ("Cargo.lock", "version = 4\n"),
            (".config/nextest.toml", "[profile.ci]\nfail-fast = false\n"),
            (
                "crates/core/Cargo.toml",
                "[package]\nname = \"core\"\nversion.workspace = true\n",
            ),
            ("crates/core/src/lib.rs", "\n"),
        ],
        remote: Some("git@github.com:acme/engine.git"),
        tag: true,
    },
    Fixture {
        name: "node_npm",
        files: &[
            ("package.json", PACKAGE_JSON),
            ("package-lock.json", "{}\n"),
        ],
        remote: GITHUB,
        tag: true,
    },
    Fixture {
        name: "node_pnpm",
        files: &[
            ("package.json", PACKAGE_JSON),
            ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        ],
        remote: GITHUB,
        tag: false,
    },
    Fixture {
        name: "node_yarn",
        files: &[
            ("package.json", PACKAGE_JSON),
            ("yarn.lock", "# yarn lockfile v1\n"),
        ],
        remote: GITHUB,
        tag: false,
    },
    Fixture {
        name: "node_bun",
        files: &[("package.json", PACKAGE_JSON), ("bun.lock", "{}\n")],
        remote: GITHUB,
        tag: false,
    },
    Fixture {
        name: "python_uv",
        files: &[
            (
                "pyproject.toml",
                "[project]\nname = \"widget\"\nversion = \"0.1.0\"\ndependencies = [\"httpx\"]\n\n[dependency-groups]\ndev = [\"pytest\"]\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
            ),
            ("uv.lock", "version = 1\n"),
            ("tests/test_widget.py", "def test_ok():\n    assert True\n"),
        ],
        remote: GITHUB,
        tag: false,
    },
    Fixture {
        name: "python_poetry",
        files: &[
            (
                "pyproject.toml",
                "[tool.poetry]\nname = \"widget\"\nversion = \"0.2.0\"\n\n[tool.poetry.group.dev.dependencies]\npytest = \"^8\"\n",
            ),
            ("poetry.lock", "# poetry\n"),
            ("CHANGELOG.md", "# Changelog\n"),
        ],
        remote: GITHUB,
        tag: false,
    },
    Fixture {
        name: "go_make",
        files: &[
            ("go.mod", "module example.com/widget\n\ngo 1.22\n"),
            ("go.sum", ""),
            (
                "Makefile",
                ".PHONY: build test\nbuild:\n\tgo build ./...\ntest: build\n\tgo test -race ./...\n",
            ),
            ("main.go", "package main\n\nfunc main() {}\n"),
        ],
        remote: GITHUB,
        tag: true,
    },
    Fixture {
        name: "github_ci",
        files: &[
            (
                "Cargo.toml",
                "[package]\nname = \"widget\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("src/lib.rs", "\n"),
            (
                ".github/workflows/ci.yml",
                "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: cargo clippy -- -D warnings\n      - run: |\n          cargo test\n          cargo doc --no-deps\n",
            ),
        ],
        // No remote: the existing CI says which forge.
        remote: None,
        tag: false,
    },
    Fixture {
        name: "gitlab_remote",
        files: &[
            (
                "pyproject.toml",
                "[project]\nname = \"widget\"\nversion = \"1.0.0\"\n",
            ),
            ("requirements.txt", "requests==2.32.0\npytest==8.3.0\n"),
            (
                ".gitlab-ci.yml",
                "test:\n  image: python:3.12\n  script:\n    - pip install -r requirements.txt\n    - python -m pytest\n",
            ),
        ],
        remote: Some("https://gitlab.com/acme/widget.git"),
        tag: true,
    },
    Fixture {
        name: "empty",
        files: &[],
        remote: None,
        tag: false,
    },
];

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(status.status.success(), "git {args:?}: {status:?}");
}

fn make(fixture: &Fixture) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for (path, text) in fixture.files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    if let Some(remote) = fixture.remote {
        git(dir.path(), &["remote", "add", "origin", remote]);
    }
    if fixture.tag {
        git(dir.path(), &["add", "-A"]);
        git(
            dir.path(),
            &["commit", "-q", "--allow-empty", "-m", "first"],
        );
        git(dir.path(), &["tag", "v1.0.0"]);
    }
    dir
}

fn coder_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env("COLUMNS", "80");
    cmd
}

/// Every file under `dir` except `.git/`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let relative = path
                .strip_prefix(base)
                .expect("under base")
                .to_string_lossy()
                .replace('\\', "/");
            if relative == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `coder init` in a fresh `fixture`: the repository, and init's stdout.
fn init(fixture: &Fixture) -> (tempfile::TempDir, String) {
    let dir = make(fixture);
    let (code, stdout, stderr) = run(coder_in(dir.path()).arg("init"));
    assert_eq!(code, 0, "{}: {stdout}{stderr}", fixture.name);
    (dir, stdout)
}

/// The codes `coder check --format json` reports in `dir`.
fn check_codes(dir: &Path) -> Vec<String> {
    let (code, stdout, stderr) = run(coder_in(dir).args(["check", "--format", "json"]));
    assert_eq!(code, 0, "coder check: {stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["errors"], 0, "{stdout}");
    json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["code"].as_str().unwrap_or(""),
                d["file"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn init_writes_checked_compiled_workflows_for_each_kind_of_repository() {
    for fixture in FIXTURES {
        let before = tree(make(fixture).path());
        let (dir, stdout) = init(fixture);
        let after = tree(dir.path());
        // What init wrote under `.coder/`, in full; the generated CI files by name.
        let mut shown = format!("$ coder init\n{stdout}");
        for (path, bytes) in &after {
            if before.contains_key(path) {
                continue;
            }
            if path.starts_with(".coder/") {
                shown.push_str(&format!(
                    "\n==> {path} <==\n{}",
                    String::from_utf8_lossy(bytes)
                ));
            }
        }
        snapshot_settings()
            .bind(|| insta::assert_snapshot!(format!("init__{}", fixture.name), shown));

        // Checked clean: no errors, and only the warnings init explains in its next steps
        // (deploys to configure; GitLab's merge request pipelines).
        for found in check_codes(dir.path()) {
            let expected = found.starts_with("C0301 .coder/workflows/release-train.yml")
                || (fixture.name == "gitlab_remote"
                    && found.starts_with("C0410 .coder/workflows/review.yml"));
            assert!(expected, "{}: unexpected diagnostic {found}", fixture.name);
        }
        // Compiled: every generated file is there and up to date.
        let (code, out, err) = run(coder_in(dir.path()).args(["compile", "--check"]));
        assert_eq!(code, 0, "{}: {out}{err}", fixture.name);
        let generated = after
            .keys()
            .filter(|p| {
                p.starts_with(".github/workflows/coder-")
                    || (p.starts_with(".gitlab/coder/") && !p.contains("/schedules/"))
            })
            .count();
        let specs = after
            .keys()
            .filter(|p| p.starts_with(".coder/workflows/"))
            .count();
        assert_eq!(
            generated, specs,
            "{}: one pipeline per workflow",
            fixture.name
        );
    }
}

#[test]
fn unknown_and_empty_repositories_get_the_review_only() {
    let empty = FIXTURES.iter().find(|f| f.name == "empty").expect("empty");
    let (dir, stdout) = init(empty);
    assert!(
        stdout.contains("found: no build system coder recognizes"),
        "{stdout}"
    );
    assert!(stdout.contains("left out: dependency-bump (no build or test command recognized)"));
    let specs: Vec<String> = tree(dir.path())
        .into_keys()
        .filter(|p| p.starts_with(".coder/workflows/"))
        .collect();
    assert_eq!(specs, [".coder/workflows/review.yml"]);
    // No remote: GitHub, recorded so that `coder compile` agrees.
    let config = std::fs::read_to_string(dir.path().join(".coder/config.toml")).expect("config");
    assert!(config.contains("targets = [\"github\"]"), "{config}");
}

#[test]
fn the_repository_s_own_commands_are_used() {
    let expect = [
        ("rust_workspace", "cargo nextest run --workspace --locked"),
        ("node_pnpm", "pnpm run test"),
        ("node_yarn", "yarn run test"),
        ("node_bun", "bun run test"),
        ("node_npm", "npm run test"),
        ("python_uv", "uv run pytest"),
        ("python_poetry", "poetry run pytest"),
        ("go_make", "make test"),
        ("gitlab_remote", "python -m pytest"),
    ];
    for (name, test) in expect {
        let fixture = FIXTURES.iter().find(|f| f.name == name).expect("fixture");
        let dir = make(fixture);
        let facts = coder::init::detect(dir.path());
        assert_eq!(facts.test.as_deref(), Some(test), "{name}");
    }
    let github_ci = FIXTURES
        .iter()
        .find(|f| f.name == "github_ci")
        .expect("fixture");
    let facts = coder::init::detect(make(github_ci).path());
    assert_eq!(
        facts.ci_commands,
        [
            "cargo clippy -- -D warnings",
            "cargo test",
            "cargo doc --no-deps"
        ]
    );
    assert_eq!(facts.provider, Some(coder::model::Provider::Github));
}

/// Run an outside validator over `files` in `dir`.
fn validate(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let output = crate::outside_tool(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`{program}` did not run ({e}); scripts/test installs it"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn generated_files_pass_the_outside_validators() {
    // Every fixture's generated files side by side, named after their fixture.
    let all = tempfile::tempdir().expect("tempdir");
    let github = all.path().join(".github/workflows");
    let gitlab = all.path().join("gitlab");
    std::fs::create_dir_all(&github).expect("mkdir");
    std::fs::create_dir_all(&gitlab).expect("mkdir");
    let (mut github_files, mut gitlab_files) = (Vec::new(), Vec::new());
    for fixture in FIXTURES {
        let (dir, _) = init(fixture);
        for (path, bytes) in tree(dir.path()) {
            let name = path.rsplit('/').next().unwrap_or_default();
            if path.starts_with(".github/workflows/coder-") {
                let file = format!("{}-{name}", fixture.name);
                std::fs::write(github.join(&file), bytes).expect("write");
                github_files.push(format!(".github/workflows/{file}"));
            } else if path.starts_with(".gitlab/coder/") && !path.contains("/schedules/") {
                let file = format!("{}-{name}", fixture.name);
                std::fs::write(gitlab.join(&file), bytes).expect("write");
                gitlab_files.push(format!("gitlab/{file}"));
            }
        }
    }
    assert!(github_files.len() >= 40, "{github_files:?}");
    assert!(gitlab_files.len() >= 4, "{gitlab_files:?}");
    let files: Vec<&str> = github_files.iter().map(String::as_str).collect();

    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(&files);
    let (ok, out) = validate("check-jsonschema", &args, all.path());
    assert!(ok, "check-jsonschema:\n{out}");

    let mut args = vec!["-no-color", "-oneline"];
    args.extend(&files);
    let (ok, out) = validate("actionlint", &args, all.path());
    assert!(ok && out.trim().is_empty(), "actionlint:\n{out}");

    let (ok, out) = validate(
        "zizmor",
        &[
            "--offline",
            "--no-progress",
            "--color",
            "never",
            "--strict-collection",
            ".github/workflows",
        ],
        all.path(),
    );
    assert!(ok && out.contains("No findings"), "zizmor:\n{out}");

    let mut args = vec![
        "--builtin-schema",
        "vendor.gitlab-ci",
        "--data-transform",
        "gitlab-ci",
    ];
    args.extend(gitlab_files.iter().map(String::as_str));
    let (ok, out) = validate("check-jsonschema", &args, all.path());
    assert!(ok, "check-jsonschema (GitLab):\n{out}");
}

#[test]
fn rerunning_changes_nothing_and_edited_files_are_left_alone() {
    let fixture = FIXTURES
        .iter()
        .find(|f| f.name == "node_pnpm")
        .expect("fixture");
    let (dir, _) = init(fixture);
    let first = tree(dir.path());
    let (code, stdout, stderr) = run(coder_in(dir.path()).arg("init"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(tree(dir.path()), first, "a second init changed files");
    assert!(
        stdout.contains("unchanged .coder/workflows/review.yml"),
        "{stdout}"
    );
    assert!(!stdout.contains("\nwrote "), "{stdout}");

    // The user tunes the bump's schedule: init leaves that file alone and says so, and the
    // generated workflow follows the user's spec.
    let bump = dir.path().join(".coder/workflows/dependency-bump.yml");
    let edited = std::fs::read_to_string(&bump)
        .expect("bump")
        .replace("0 6 * * 1", "30 7 * * 2");
    std::fs::write(&bump, &edited).expect("write");
    let (code, stdout, stderr) = run(coder_in(dir.path()).arg("init"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "left alone .coder/workflows/dependency-bump.yml: edited since coder init wrote it"
        ),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&bump).expect("bump"), edited);
    let compiled = std::fs::read_to_string(
        dir.path()
            .join(".github/workflows/coder-dependency-bump.yml"),
    )
    .expect("compiled");
    assert!(compiled.contains("30 7 * * 2"), "{compiled}");

    // A file init wrote and nobody edited, from an older starter: brought up to date.
    let review = dir.path().join(".coder/workflows/review.yml");
    let body = "name: \"Old review\"\ntriggers:\n  - type: manual\nsteps:\n  - type: agent\n    role: reviewer\n    goal: \"Review\"\n";
    let hash: String = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        &review,
        format!("{body}# coder init wrote this file; once you edit it, coder init leaves it alone. sha256:{hash}\n"),
    )
    .expect("write");
    let (code, stdout, _) = run(coder_in(dir.path()).arg("init"));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("updated .coder/workflows/review.yml"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&review).expect("review"),
        first[".coder/workflows/review.yml"]
    );
}

#[test]
fn dry_run_writes_nothing_and_prints_what_it_would() {
    let fixture = FIXTURES
        .iter()
        .find(|f| f.name == "python_uv")
        .expect("fixture");
    let dir = make(fixture);
    let before = tree(dir.path());
    let (code, stdout, stderr) = run(coder_in(dir.path()).args(["init", "--dry-run"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(tree(dir.path()), before, "--dry-run wrote files");
    assert!(
        stdout.contains("==> .coder/workflows/dependency-bump.yml <=="),
        "{stdout}"
    );
    assert!(stdout.contains("command: \"uv run pytest\""), "{stdout}");
    assert!(
        stdout.contains("would write .github/workflows/coder-test-triage.yml"),
        "{stdout}"
    );
    assert!(stdout.ends_with("(dry run: nothing written)\n"), "{stdout}");
}

#[test]
fn systemd_when_asked() {
    let fixture = FIXTURES
        .iter()
        .find(|f| f.name == "go_make")
        .expect("fixture");
    let dir = make(fixture);
    let (code, stdout, stderr) = run(coder_in(dir.path()).args(["init", "--target", "systemd"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let config = std::fs::read_to_string(dir.path().join(".coder/config.toml")).expect("config");
    assert!(config.contains("targets = [\"systemd\"]"), "{config}");
    let files = tree(dir.path());
    for id in [
        "dependency-bump",
        "test-triage",
        "security-sweep",
        "release-train",
    ] {
        assert!(
            files.contains_key(&format!("systemd/coder-{id}.service")),
            "{id}: {files:?}"
        );
        assert!(
            files.contains_key(&format!(".github/workflows/coder-{id}.yml")),
            "{id}"
        );
    }
    // The review runs on pull requests, which systemd has none of: GitHub only.
    assert!(!files.contains_key("systemd/coder-review.service"));
    let (code, out, err) = run(coder_in(dir.path()).args(["compile", "--check"]));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_file_that_is_not_a_folder_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x"), "").expect("write");
    let (code, _, stderr) = run(coder_in(dir.path()).args(["init", "x"]));
    assert_eq!(code, 2);
    assert_eq!(stderr, "error: `x` is not a folder\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever a repository's command holds, it reaches the spec as exactly that command:
    /// the starters escape every value, and what they render checks without errors.
    #[test]
    fn commands_round_trip_through_the_starters(
        test in "\\PC{1,40}\n[a-z]+: \\PC{1,10}|[^\\x00-\\x08\\x0b-\\x1f\\x7f]{1,60}|[\"'#:|>{}\\[\\]%&*!`\\\\ -]{1,20}|\\{\\{ x \\}\\}|\\{% if %\\}",
    ) {
        prop_assume!(!test.trim().is_empty());
        // A GitHub expression in a spec is an error by design (specs are portable).
        prop_assume!(!test.contains("${{"));
        let facts = coder::init::Facts {
            test: Some(test.clone()),
            build: Some("make".into()),
            manifests: vec!["Cargo.toml".into()],
            ..coder::init::Facts::default()
        };
        let (starters, _) = coder::init::render::starters(&facts, &["github"]).map_err(TestCaseError::fail)?;
        let dir = tempfile::tempdir().expect("tempdir");
        let repository = coder::workspace::Repository::open(dir.path().to_path_buf(), dir.path(), &coder::target::names());
        // The bump runs the build and the tests; the triage names the tests in its header
        // comment too, which a line break must not escape.
        for (kind, expected) in [
            (coder::init::Kind::Bump, vec!["make", test.as_str()]),
            // The tests, and the same tests again after the tester's fix.
            (coder::init::Kind::Triage, vec![test.as_str(), test.as_str()]),
        ] {
            let starter = starters.iter().find(|s| s.kind == kind).expect("starter");
            let path = dir.path().join(format!(".coder/workflows/{}.yml", kind.id()));
            let checked = coder::pipeline::check_text(&path, &starter.text, &repository, &[]);
            prop_assert_eq!(checked.report.errors(), 0, "{}\n{:?}", starter.text, checked.report.diagnostics);
            let workflow = checked.workflow.expect("lowered");
            let commands: Vec<&str> = workflow.jobs.iter().flat_map(|j| &j.steps).filter_map(|s| match &s.action {
                coder::ir::Action::Command { command } => Some(command.as_str()),
                _ => None,
            }).collect();
            prop_assert_eq!(commands, expected);
        }
    }
}

#[test]
fn help_text_is_stable() {
    let (code, stdout, _) = run(crate::cli::coder().args(["init", "--help"]));
    assert_eq!(code, 0);
    snapshot_settings().bind(|| insta::assert_snapshot!("help_coder_init", stdout));
}

/// The README's tour shows `coder graph` of the release train `coder init` writes for a Rust
/// package: that picture stays the real output.
#[test]
fn the_readme_graph_is_what_coder_graph_prints() {
    let fixture = FIXTURES
        .iter()
        .find(|f| f.name == "rust_package")
        .expect("fixture");
    let (dir, _) = init(fixture);
    let (code, stdout, stderr) = run(coder_in(dir.path()).args(["graph", "release-train"]));
    assert_eq!(code, 0, "{stderr}");
    let readme = std::fs::read_to_string(crate::root().join("README.md")).expect("README");
    let block = readme
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a mermaid block in the README");
    assert_eq!(block, stdout);
}

/// A repository's files, and the install commands init finds for it.
type InstallCase = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn install_commands_follow_the_package_manager() {
    let cases: [InstallCase; 4] = [
        (
            &[
                ("package.json", PACKAGE_JSON),
                ("yarn.lock", ""),
                (".yarnrc.yml", "nodeLinker: pnp\n"),
            ],
            &["yarn install --immutable"],
        ),
        (
            &[("package.json", PACKAGE_JSON), ("yarn.lock", "")],
            &["yarn install --frozen-lockfile"],
        ),
        (
            &[
                ("pyproject.toml", "[project]\nname = \"w\"\n"),
                ("requirements.txt", "x\n"),
            ],
            &[
                "python -m pip install -r requirements.txt",
                "python -m pip install -e .",
            ],
        ),
        (
            &[("package.json", PACKAGE_JSON), ("package-lock.json", "{}")],
            &["npm ci"],
        ),
    ];
    for (files, setup) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).expect("write");
        }
        assert_eq!(coder::init::detect(dir.path()).setup, setup, "{files:?}");
    }
}

#[test]
fn release_signs_are_read_from_a_worktree_too() {
    let fixture = FIXTURES
        .iter()
        .find(|f| f.name == "go_make")
        .expect("fixture");
    let dir = make(fixture);
    let worktree = dir.path().join("wt");
    git(dir.path(), &["worktree", "add", "-q", "wt"]);
    let facts = coder::init::detect(&worktree);
    assert_eq!(facts.tags, 1);
    assert!(facts.releases());
    assert_eq!(facts.provider, Some(coder::model::Provider::Github));
}
