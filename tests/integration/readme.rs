//! The README says what an agent step's program gets: every variable coder-step sets for it.

use coder::protocol::env;

use crate::root;

#[test]
fn the_readme_documents_the_agent_contract() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let contract = readme
        .split("#### The agent contract")
        .nth(1)
        .and_then(|rest| rest.split("\n#### ").next())
        .expect("an agent contract section in the README");
    for variable in [
        env::STEP_GOAL,
        env::STEP_ROLE,
        env::STEP_ID,
        env::WORKFLOW_ID,
        env::AGENT_MODEL,
        env::PROMPT_FILE,
        env::STEP_OUTPUT,
        env::RUN_DIR,
        env::USAGE_FILE,
        env::BUDGET_REMAINING_CREDITS,
        env::BUDGET_REMAINING_USD,
        env::AGENT,
        env::KILL_GRACE_SEC,
    ] {
        assert!(
            contract.contains(&format!("`{variable}`"))
                || contract.contains(&format!("`${variable}`")),
            "the README's agent contract does not name {variable}"
        );
    }
    assert!(contract.contains("standard input"), "{contract}");
    let install = coder::target::install::RELEASE_URL_VARIABLE;
    assert!(
        readme.contains(&format!("`${install}`")) && readme.contains(&format!("vars.{install}")),
        "the README documents the release URL override"
    );
}
