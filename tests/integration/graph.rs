//! `coder graph`: Mermaid and DOT of every valid fixture (snapshots), the DOT read by
//! Graphviz without a complaint, and the command line by workflow id and by path.

use std::io::Write;
use std::process::Stdio;

use crate::cli::{coder, run};
use crate::{fixture_dir, ir::lower, ok_fixtures, snapshot_settings};

#[test]
fn mermaid_and_dot_of_every_valid_fixture() {
    for path in ok_fixtures() {
        let workflow = lower(&path);
        let id = &workflow.workflow_id;
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("graph__{id}.mmd"), coder::graph::mermaid(&workflow));
            insta::assert_snapshot!(format!("graph__{id}.dot"), coder::graph::dot(&workflow));
        });
    }
}

/// Graphviz's `dot` reads `text` and lays it out; anything it prints on stderr (a syntax
/// error, an unknown attribute) fails.
fn graphviz_reads(text: &str) -> Result<String, String> {
    let mut child = crate::outside_tool("dot")
        .arg("-Tcanon")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("graphviz `dot` did not run ({e}); scripts/test installs it"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("dot");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    if output.status.success() && stderr.is_empty() {
        Ok(String::from_utf8_lossy(&output.stdout).to_string())
    } else {
        Err(stderr)
    }
}

#[test]
fn graphviz_reads_every_dot() {
    for path in ok_fixtures() {
        let workflow = lower(&path);
        let dot = coder::graph::dot(&workflow);
        let canon =
            graphviz_reads(&dot).unwrap_or_else(|e| panic!("{}: {e}\n{dot}", path.display()));
        // Every step is a node of the laid-out graph.
        for job in &workflow.jobs {
            for (s, _) in job.steps.iter().enumerate() {
                let j = workflow
                    .jobs
                    .iter()
                    .position(|x| x.id == job.id)
                    .expect("job");
                assert!(canon.contains(&format!("j{j}s{s}")), "{}", path.display());
            }
        }
    }
}

#[test]
fn labels_with_any_text_stay_labels() {
    let hostile = "a \"quoted\" \\ back\nslash <b>#1</b> & `tick` }; digraph x {";
    let workflow = crate::github::workflow_with(hostile, hostile, hostile);
    let dot = coder::graph::dot(&workflow);
    let canon = graphviz_reads(&dot).unwrap_or_else(|e| panic!("{e}\n{dot}"));
    assert!(canon.contains("j0s0"), "{canon}");
    let mermaid = coder::graph::mermaid(&workflow);
    // Inside a label, nothing ends it or starts markup.
    for line in mermaid.lines().filter(|l| l.contains("j0s0[")) {
        let label = line.split_once("[\"").expect("label").1;
        let inner = label.strip_suffix("\"]").expect("closed");
        assert!(
            !inner.contains(['"', '<', '>', '`']) || inner.contains("<br>"),
            "{line}"
        );
        assert!(
            !inner.replace("<br>", "").contains(['"', '<', '>', '`']),
            "{line}"
        );
    }
}

#[test]
fn the_command_line_by_id_and_by_path() {
    let seed = fixture_dir().join("ok/wf_release_train.yml");
    let (code, stdout, stderr) =
        run(coder().args(["graph", seed.to_str().expect("utf-8"), "--format", "dot"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, coder::graph::dot(&lower(&seed)));

    // By id, in this repository's own workflows.
    let (code, stdout, stderr) = run(coder().args(["graph", "nightly-maintenance"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("flowchart TD\n"), "{stdout}");

    let (code, _, stderr) = run(coder().args(["graph", "no-such-workflow"]));
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: no workflow `no-such-workflow`"),
        "{stderr}"
    );
}

#[test]
fn help_text_is_stable() {
    let (code, stdout, _) = run(coder().args(["graph", "--help"]));
    assert_eq!(code, 0);
    snapshot_settings().bind(|| insta::assert_snapshot!("help_coder_graph", stdout));
}
