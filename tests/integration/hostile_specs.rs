//! Hostile spec files on the real binary (issue 10, classes 5 and 9): names that would break out
//! of a generated file's header, ids too long for a target, tags that would be dropped, and a
//! spec that compiles into an unreviewable amount of CI.

use crate::cli::{coder, repo, run};

const SPEC: &str = "name: ok\nworkflow_id: ok\nproject:\n  provider: gitlab\ntriggers:\n  - type: manual\nsteps:\n  - type: command\n    command: make\n";

#[test]
fn a_spec_named_with_a_line_separator_is_rejected_and_never_compiled() {
    for separator in ['\u{2028}', '\u{2029}', '\u{85}', '\n'] {
        let name = format!(".coder/workflows/a{separator}evil: 1.yml");
        let dir = repo(&[(name.as_str(), SPEC)]);
        let (code, stdout, _) = run(coder()
            .current_dir(dir.path())
            .args(["check", "--format", "short"]));
        assert_eq!(code, 1, "{separator:?}: {stdout}");
        assert!(stdout.contains("error[C0115]"), "{separator:?}: {stdout}");
        let (code, _, stderr) = run(coder().current_dir(dir.path()).args(["compile"]));
        assert_eq!(code, 1, "{separator:?}: {stderr}");
        assert!(
            !dir.path().join(".gitlab").exists(),
            "{separator:?}: a file was generated"
        );
    }
}

#[test]
fn a_five_thousand_character_workflow_id_fails_check_not_compile() {
    let id = "a".repeat(5000);
    let spec = SPEC.replace("workflow_id: ok", &format!("workflow_id: {id}"));
    let dir = repo(&[(".coder/workflows/long.yml", &spec)]);
    let (code, stdout, _) = run(coder()
        .current_dir(dir.path())
        .args(["check", "--format", "short"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("error[C0116]: workflow_id `aaaaaaaaaaaaaaaaaaaaaaaa…` is 5000 characters long; the limit is 64"),
        "{stdout}"
    );
    // Every target accepts the longest id: its unit names and file names stay in their limits.
    let longest = "b".repeat(64);
    let spec = SPEC.replace("workflow_id: ok", &format!("workflow_id: {longest}"));
    let dir = repo(&[(".coder/workflows/long.yml", &spec)]);
    for target in ["github", "gitlab", "systemd"] {
        let (code, _, stderr) = run(coder()
            .current_dir(dir.path())
            .args(["compile", "--target", target]));
        assert_eq!(code, 0, "{target}: {stderr}");
    }
    let unit = dir.path().join(format!("systemd/coder-{longest}.service"));
    assert!(unit.file_name().expect("name").len() <= 255 && unit.is_file());
}

/// systemd itself accepts the units of the longest id; a unit named as a 300-character id
/// would name it cannot even be written (file names, like unit names, stop at 255 bytes),
/// which is how such a spec used to pass check and fail compile.
#[test]
fn systemd_accepts_the_longest_id_and_rejects_a_longer_one() {
    let longest = "b".repeat(64);
    let spec = format!(
        "name: n\nworkflow_id: {longest}\ntriggers:\n  - type: cron\n    cron: \"0 3 * * *\"\nsteps:\n  - type: command\n    command: make\n"
    );
    let dir = repo(&[(".coder/workflows/long.yml", &spec)]);
    let config = format!(
        "[systemd]\nworking-directory = \"{}\"\ncoder-step = \"{}\"\n",
        dir.path().display(),
        env!("CARGO_BIN_EXE_coder-step")
    );
    std::fs::write(dir.path().join(".coder/config.toml"), config).expect("config");
    let (code, _, stderr) = run(coder()
        .current_dir(dir.path())
        .args(["compile", "--target", "systemd"]));
    assert_eq!(code, 0, "{stderr}");
    let units = dir.path().join("systemd");
    let verify = |names: &[String]| {
        let output = crate::outside_tool("systemd-analyze")
            .args(["verify", "--man=no", "--recursive-errors=no"])
            .args(names)
            .current_dir(&units)
            .output()
            .expect("systemd-analyze runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success() && text.trim().is_empty(), text)
    };
    let names = vec![
        format!("coder-{longest}.service"),
        format!("coder-{longest}.timer"),
    ];
    let (ok, text) = verify(&names);
    assert!(ok, "{text}");
    let too_long = format!("coder-{}.service", "b".repeat(300));
    let refused = std::fs::copy(units.join(&names[0]), units.join(&too_long))
        .expect_err("a 314-byte file name");
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidFilename);
}

#[test]
fn a_tagged_value_is_an_error_not_its_text() {
    let spec = SPEC.replace("command: make", "command: !!binary bWFrZQ==");
    let dir = repo(&[(".coder/workflows/tagged.yml", &spec)]);
    let (code, stdout, _) = run(coder()
        .current_dir(dir.path())
        .args(["check", "--format", "short"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("9:14: error[C0007]: unsupported YAML tag `!!binary`"),
        "{stdout}"
    );
    // Tags that state what the value already is stay readable.
    let spec = SPEC.replace("command: make", "command: !!str make");
    let dir = repo(&[(".coder/workflows/tagged.yml", &spec)]);
    let (code, stdout, _) = run(coder().current_dir(dir.path()).args(["check"]));
    assert_eq!(code, 0, "{stdout}");
}
