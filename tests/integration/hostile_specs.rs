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
