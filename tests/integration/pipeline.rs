//! The library pipeline as an editor and `coder-step` call it: one spec from text in memory,
//! and a workflow loaded to run.

use coder::diag::Code;
use coder::pipeline::{self, LoadError};
use coder::target;
use coder::workspace::Repository;

use crate::cli::repo;

const CONFIG: (&str, &str) = (
    ".coder/config.toml",
    "targets = [\"systemd\"]\n\n[deploy.staging]\ncommand = \"./deploy.sh\"\n",
);

#[test]
fn check_text_sees_unsaved_edits_with_the_repository_around_them() {
    let dir = repo(&[CONFIG]);
    let repository = Repository::open(dir.path().to_path_buf(), dir.path(), &target::names());
    let path = dir.path().join(".coder/workflows/ship.yml");
    // Nothing on disk: the text is an editor's buffer. `staging` is known from the config.
    let text = "name: Ship\ntriggers:\n  - type: repo_event\n    event: push\nsteps:\n  - type: deploy\n    target: staging\n";
    let checked = pipeline::check_text(&path, text, &repository, &[]);
    assert_eq!(checked.report.source.path, ".coder/workflows/ship.yml");
    let codes: Vec<Code> = checked.report.diagnostics.iter().map(|d| d.code).collect();
    // The config adds systemd, which has no repository events: skipped, at the trigger.
    assert_eq!(codes, vec![Code::TargetSkipped], "{codes:?}");
    assert_eq!(
        checked
            .report
            .source
            .line_col(
                checked.report.diagnostics[0]
                    .primary
                    .as_ref()
                    .expect("label")
                    .span
                    .start
            )
            .line,
        4
    );
    let workflow = checked.workflow.expect("lowered");
    assert_eq!(workflow.source, ".coder/workflows/ship.yml");

    let broken = text.replace("target: staging", "target: stagign");
    let checked = pipeline::check_text(&path, &broken, &repository, &[]);
    assert!(checked.workflow.is_none());
    assert!(
        checked
            .report
            .diagnostics
            .iter()
            .any(|d| d.code == Code::UnknownDeployTarget
                && d.help.as_deref().is_some_and(|h| h.contains("staging"))),
        "{:?}",
        checked.report.diagnostics
    );
}

#[test]
fn load_workflow_refuses_errors_and_a_changed_spec() {
    let spec = "name: Nightly\nsteps:\n  - type: command\n    command: make\n";
    let dir = repo(&[(".coder/workflows/nightly.yml", spec)]);
    let path = dir.path().join(".coder/workflows/nightly.yml");
    let hash = coder::ir::source_hash(spec.as_bytes());
    let loaded = pipeline::load_workflow(&path, Some(&hash)).expect("loads");
    assert_eq!(loaded.workflow.workflow_id, "nightly");
    assert_eq!(loaded.repository.root, dir.path());

    match pipeline::load_workflow(&path, Some("sha256:00")) {
        Err(LoadError::Drifted(message)) => {
            assert!(message.contains("run `coder compile`"), "{message}")
        }
        other => panic!("expected drift, got {other:?}"),
    }
    std::fs::write(&path, "name: Nightly\nsteps: []\n").expect("edit");
    assert!(matches!(
        pipeline::load_workflow(&path, None),
        Err(LoadError::Invalid(_))
    ));
    assert!(matches!(
        pipeline::load_workflow(&dir.path().join("missing.yml"), None),
        Err(LoadError::Usage(_))
    ));
}
