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
    let _ = repo;
}
