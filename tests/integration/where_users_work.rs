//! Where users work (issue 13, without the language server): CI annotations, SARIF for
//! code-scanning dashboards, shell completions, the man page, `.gitattributes`, and
//! self-hosted forges named in the configuration.

use crate::cli::{coder, repo, run};
use crate::{root, snapshot_settings};

/// Fixtures with errors, a warning, related locations and a multi-line span.
const FIXTURES: &[&str] = &[
    "tests/fixtures/check/C0201-duplicate-step-id.yml",
    "tests/fixtures/check/C0205-unknown-timezone.yml",
    "tests/fixtures/check/C0242-gate-matches-no-step.yml",
    "tests/fixtures/check/C0003-not-utf8.yml",
];

fn check(format: &str) -> (i32, String) {
    let (code, stdout, _) = run(coder().args(["check", "--format", format]).args(FIXTURES));
    (code, stdout)
}

#[test]
fn github_format_is_one_workflow_command_per_diagnostic() {
    let (code, stdout) = check("github");
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 4, "{stdout}");
    for line in &lines {
        assert!(
            line.starts_with("::error file=tests/fixtures/check/")
                || line.starts_with("::warning file=tests/fixtures/check/"),
            "{line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::error file=tests/fixtures/check/C0205-unknown-timezone.yml,line=5,endLine=5,col=15,endColumn="
        ) && l.contains(",title=C0205::")),
        "{stdout}"
    );
    // A multi-line message stays on one line: LF is `%0A`.
    assert!(stdout.contains("%0Ahelp: "), "{stdout}");
    snapshot_settings().bind(|| insta::assert_snapshot!("format_github", stdout));
}

#[test]
fn gitlab_format_is_a_code_quality_report() {
    let (code, stdout) = check("gitlab");
    assert_eq!(code, 1);
    let issues: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array");
    assert!(issues.len() >= 4);
    let mut fingerprints = std::collections::HashSet::new();
    for issue in &issues {
        // What GitLab requires of each issue (its code-quality report format).
        assert!(issue["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(
            issue["check_name"]
                .as_str()
                .is_some_and(|c| c.starts_with('C'))
        );
        assert!(matches!(
            issue["severity"].as_str(),
            Some("info" | "minor" | "major" | "critical" | "blocker")
        ));
        assert!(issue["location"]["path"].as_str().is_some());
        assert!(issue["location"]["positions"]["begin"]["line"].as_u64() >= Some(1));
        let fingerprint = issue["fingerprint"].as_str().expect("fingerprint");
        assert!(
            fingerprints.insert(fingerprint.to_string()),
            "{fingerprint} twice"
        );
    }
    let warning = issues
        .iter()
        .find(|i| i["check_name"] == "C0242 gate-matches-no-step")
        .expect("the warning");
    assert_eq!(warning["severity"], "minor");
    // The same problem keeps its fingerprint from run to run.
    assert_eq!(check("gitlab").1, stdout);
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema_and_has_a_base() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/schemas/sarif-schema-2.1.0.json"))
            .expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let (_, stdout) = check("sarif");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &doc["runs"][0];
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("%SRCROOT%");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    let location = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uriBaseId"], "%SRCROOT%");
    assert!(
        location["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("tests/fixtures/check/"))
    );
    // Rule metadata: help text and the default level of every code.
    let rule = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == "C0242")
        .expect("C0242");
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    assert!(
        rule["help"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("## Fix"))
    );
    // A document the schema rejects is rejected: the validation can fail.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
}

const SHELLS: &[&str] = &["bash", "zsh", "fish", "powershell", "elvish"];

#[test]
fn every_shell_gets_a_script_that_asks_coder_for_candidates() {
    for shell in SHELLS {
        let (code, stdout, stderr) = run(coder().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains("coder"), "{shell}: {stdout}");
        assert!(
            stdout.contains("CODER_COMPLETE") && stdout.contains(shell.trim_end_matches("shell")),
            "{shell}: the script does not call back into coder:\n{stdout}"
        );
    }
    let (code, _, stderr) = run(coder().args(["completions", "tcsh"]));
    assert_eq!(code, 2, "{stderr}");
    // Another tool's `COMPLETE` in the environment leaves coder a normal command.
    let (code, stdout, _) = run(coder().env("COMPLETE", "bash").args(["explain", "C0007"]));
    assert_eq!(code, 0);
    assert!(stdout.starts_with("C0007 (yaml-tag, error)"), "{stdout}");
}

/// The real bash, with the script sourced, completes `coder run <TAB>` with the repository's
/// workflow ids (from `workflow_id:` or the file name) and `coder explain C02<TAB>` with codes.
#[test]
fn bash_completes_workflow_ids_and_codes() {
    let dir = repo(&[
        (
            ".coder/workflows/nightly.yml",
            "name: n\nsteps:\n  - type: command\n    command: make\n",
        ),
        (
            ".coder/workflows/other.yml",
            "name: r\nworkflow_id: release-train\nsteps:\n  - type: command\n    command: make\n",
        ),
    ]);
    let (_, script, _) = run(coder().args(["completions", "bash"]));
    std::fs::write(dir.path().join("coder.bash"), &script).expect("script");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_coder"))
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let current = words.last().copied().unwrap_or("");
        let program = format!(
            "source ./coder.bash\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\n_clap_complete_coder coder '{current}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            words[words.len() - 2],
        );
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(program)
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .expect("bash runs");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    let ids = complete("coder run ");
    assert!(
        ids.contains(&"nightly".to_string()) && ids.contains(&"release-train".to_string()),
        "{ids:?}"
    );
    assert_eq!(complete("coder run rel"), vec!["release-train".to_string()]);
    let codes = complete("coder explain C030");
    assert!(codes.contains(&"C0303".to_string()), "{codes:?}");
    assert!(codes.iter().all(|c| c.starts_with("C030")), "{codes:?}");
    let commands = complete("coder compl");
    assert_eq!(commands, vec!["completions".to_string()]);
}

/// The other shells' side of the protocol, asked the way their scripts ask.
#[test]
fn fish_asks_and_gets_workflow_ids_with_their_spec() {
    let dir = repo(&[(
        ".coder/workflows/nightly.yml",
        "name: n\nsteps:\n  - type: command\n    command: make\n",
    )]);
    let (code, stdout, _) = run(coder()
        .current_dir(dir.path())
        .env("CODER_COMPLETE", "fish")
        .args(["--", "coder", "run", ""]));
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .any(|l| l == "nightly\t.coder/workflows/nightly.yml"),
        "{stdout}"
    );
}

#[test]
fn man_pages_cover_every_subcommand_and_render_cleanly() {
    let (code, page, _) = run(coder().arg("man"));
    assert_eq!(code, 0);
    assert!(page.contains(".TH coder 1"), "{page}");
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(coder().args(["man", "--out-dir"]).arg(dir.path()));
    assert_eq!(code, 0, "{stderr}");
    for sub in [
        "check",
        "compile",
        "run",
        "approve",
        "runs",
        "explain",
        "schema",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("coder\\-{sub}(1)")),
            "{sub} not listed"
        );
        let file = dir.path().join(format!("coder-{sub}.1"));
        let text = std::fs::read_to_string(&file).expect("a page per subcommand");
        assert!(text.contains(&format!(".TH coder-{sub} 1")), "{text}");
    }
    let check = std::fs::read_to_string(dir.path().join("coder-check.1")).expect("check page");
    assert!(check.contains("gitlab"), "the page lists `--format` values");
    // groff's own lint, where groff is installed (it is on the development machines and CI).
    if std::path::Path::new("/usr/bin/groff").exists() {
        let output = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.path().join("coder.1"))
            .arg(dir.path().join("coder-check.1"))
            .output()
            .expect("groff");
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

const NIGHTLY: &str = "name: n\nworkflow_id: nightly\ntriggers:\n  - type: cron\n    cron: \"0 3 * * *\"\nsteps:\n  - type: command\n    command: make\n";

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn gitattributes_marks_generated_files_once_and_keeps_the_users_lines() {
    let user = "*.png binary\n/systemd/coder-nightly.timer -linguist-generated";
    let dir = repo(&[
        (".coder/workflows/nightly.yml", NIGHTLY),
        (".gitattributes", user),
    ]);
    git(dir.path(), &["init", "-q"]);
    let compile = || {
        run(coder().current_dir(dir.path()).args([
            "compile",
            "--target",
            "systemd",
            "--gitattributes",
        ]))
    };
    let (code, stdout, stderr) = compile();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote .gitattributes"), "{stdout}");
    let text = std::fs::read_to_string(dir.path().join(".gitattributes")).expect("attributes");
    assert!(
        text.starts_with(&format!("{user}\n\n# Generated by coder")),
        "{text}"
    );
    assert!(
        text.ends_with("\n/systemd/coder-nightly.service linguist-generated\n"),
        "{text}"
    );
    // The user's choice for the timer stands: no second line for it.
    assert_eq!(text.matches("coder-nightly.timer").count(), 1, "{text}");
    // Git itself reads the attributes as meant.
    let attr = git(
        dir.path(),
        &[
            "check-attr",
            "linguist-generated",
            "--",
            "systemd/coder-nightly.service",
            "systemd/coder-nightly.timer",
        ],
    );
    assert_eq!(
        attr,
        "systemd/coder-nightly.service: linguist-generated: set\nsystemd/coder-nightly.timer: linguist-generated: unset\n"
    );
    // Again: nothing to add, not a byte changed.
    let (code, stdout, _) = compile();
    assert_eq!(code, 0);
    assert!(stdout.contains("unchanged .gitattributes"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitattributes")).expect("attributes"),
        text
    );
    // `--check` writes nothing, so the flag is refused with it.
    let (code, _, stderr) =
        run(coder()
            .current_dir(dir.path())
            .args(["compile", "--check", "--gitattributes"]));
    assert_eq!(code, 2, "{stderr}");
}

const SELF_HOSTED_REMOTE: &str = "[remote \"origin\"]\n\turl = git@git.example.com:team/app.git\n";
/// A schedule every minute: too frequent for GitHub (C0402), fine for the front end alone.
const EVERY_MINUTE: &str = "name: n\nworkflow_id: often\ntriggers:\n  - type: cron\n    cron: \"* * * * *\"\nsteps:\n  - type: command\n    command: make\n";

#[test]
fn an_unknown_host_is_a_warning_until_the_configuration_names_its_provider() {
    let dir = repo(&[
        (".git/config", SELF_HOSTED_REMOTE),
        (".coder/workflows/often.yml", EVERY_MINUTE),
    ]);
    let (code, stdout, _) = run(coder()
        .current_dir(dir.path())
        .args(["check", "--format", "short"]));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("warning[C0412]: no target was checked: the git remote's host `git.example.com` is not a known GitHub or GitLab host"),
        "{stdout}"
    );
    std::fs::write(
        dir.path().join(".coder/config.toml"),
        "[hosts]\n\"Git.Example.com\" = \"github\"\n",
    )
    .expect("config");
    let (code, stdout, _) = run(coder()
        .current_dir(dir.path())
        .args(["check", "--format", "short"]));
    // Now GitHub's limits are checked: the every-minute schedule is too frequent for it.
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("error[C0402]"), "{stdout}");
    assert!(!stdout.contains("C0412"), "{stdout}");
    // A provider coder does not know is a configuration error at its line.
    std::fs::write(
        dir.path().join(".coder/config.toml"),
        "[hosts]\n\"git.example.com\" = \"gitea\"\n",
    )
    .expect("config");
    let (code, stdout, _) = run(coder()
        .current_dir(dir.path())
        .args(["check", "--format", "short"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(".coder/config.toml:2:21: error[C0113]"),
        "{stdout}"
    );
}
