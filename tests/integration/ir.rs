//! The IR of every valid fixture (snapshots), and how steps are cut into jobs.

use coder::ir::{self, Job, LowerContext, Workflow};
use coder::pipeline::{Settings, check_bytes};
use coder::workspace::SpecInput;
use coder::workspace::git::GitInfo;

use crate::{fixture_dir, snapshot_settings};

pub fn lower(path: &std::path::Path) -> Workflow {
    let bytes = std::fs::read(path).expect("read");
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let input = SpecInput {
        path: path.to_path_buf(),
        display: name.to_string(),
    };
    let checked = check_bytes(&input, bytes, &Settings::default());
    assert_eq!(checked.report.errors(), 0, "{name} has errors");
    // A fixed git view, so snapshots do not depend on the clone they run in.
    let git = GitInfo {
        remote: None,
        default_branch: "main".to_string(),
    };
    let cx = LowerContext {
        file: &checked.report.source,
        source_hash: &checked.source_hash,
        source: name,
        file_stem: path.file_stem().and_then(|s| s.to_str()).expect("stem"),
        git: &git,
    };
    ir::lower(checked.spec.as_ref().expect("spec"), &cx)
}

#[test]
fn ir_of_every_valid_fixture() {
    let mut paths: Vec<_> = std::fs::read_dir(fixture_dir().join("ok"))
        .expect("ok dir")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    for path in paths {
        let workflow = lower(&path);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let json = serde_json::to_string_pretty(&workflow).expect("serializes");
        snapshot_settings().bind(|| insta::assert_snapshot!(format!("ir__{name}"), json));
    }
}

fn shape(jobs: &[Job]) -> Vec<(String, Option<String>, bool, Vec<String>)> {
    jobs.iter()
        .map(|j| {
            (
                j.id.clone(),
                j.environment.clone(),
                j.approval.is_some(),
                j.steps.iter().map(|s| s.step_id.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn jobs_are_cut_at_approvals_and_around_deploys() {
    let release = lower(&fixture_dir().join("ok/release.yml"));
    let s = |ids: &[&str]| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    assert_eq!(
        shape(&release.jobs),
        vec![
            ("release-1".into(), None, false, s(&["s1", "s2"])),
            (
                "release-2".into(),
                Some("preview".into()),
                false,
                s(&["s3"])
            ),
            ("release-3".into(), None, true, s(&["s4"])),
            ("release-4".into(), Some("prod".into()), false, s(&["s5"])),
        ]
    );
    let needs: Vec<_> = release.jobs.iter().map(|j| j.needs.clone()).collect();
    assert_eq!(
        needs,
        [
            None,
            Some("release-1".into()),
            Some("release-2".into()),
            Some("release-3".into())
        ]
    );

    // Gates: `deploy.prod`, `agent.release_engineer`, `command`, `approve` and `publish` select
    // steps; each selected step starts a job that waits for approval.
    let sink = lower(&fixture_dir().join("ok/kitchen-sink.yaml"));
    assert_eq!(
        shape(&sink.jobs),
        vec![
            ("kitchen-sink-1".into(), None, false, s(&["plan", "s2"])),
            ("kitchen-sink-2".into(), None, true, s(&["publish"])),
            (
                "kitchen-sink-3".into(),
                Some("preview".into()),
                false,
                s(&["s4"])
            ),
            ("kitchen-sink-4".into(), None, true, s(&["go-live"])),
            (
                "kitchen-sink-5".into(),
                Some("prod".into()),
                true,
                s(&["s6"])
            ),
            ("kitchen-sink-6".into(), None, true, s(&["s7"])),
        ]
    );
}

#[test]
fn defaults_are_applied() {
    let bump = lower(&fixture_dir().join("ok/dependency-bump.yml"));
    assert_eq!(bump.workflow_id, "dependency-bump");
    assert_eq!(bump.project.git_ref, "main");
    let ir::Trigger::Cron { timezone, .. } = &bump.triggers[0] else {
        panic!("cron")
    };
    assert_eq!(timezone, "UTC");
    assert!(bump.source_hash.starts_with("sha256:") && bump.source_hash.len() == 7 + 64);
}
