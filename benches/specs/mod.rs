//! The generated specs the benchmarks read: realistic, varied by a number.

const ROLES: [&str; 5] = [
    "architect",
    "implementer",
    "tester",
    "reviewer",
    "release_engineer",
];
const ZONES: [&str; 4] = ["America/Chicago", "Europe/Berlin", "Asia/Tokyo", "UTC"];
const EVENTS: [&str; 4] = [
    "pull_request.opened",
    "issues.labeled",
    "push",
    "release.published",
];

/// A realistic spec, varied by `n`: 3 triggers, all four policies, 4 to 8 steps.
pub fn spec(n: usize) -> String {
    let mut s = format!(
        "# yaml-language-server: $schema=../coder.schema.json\nversion: 1\nworkflow_id: wf_{n}\nname: \"Workflow number {n}\"\nproject:\n  provider: github\n  owner: acme\n  repo: service-{n}\n  ref: main\ntriggers:\n  - type: cron\n    cron: \"{} {} * * {}\"\n    timezone: \"{}\"\n  - type: repo_event\n    event: \"{}\"\n  - type: manual\npolicies:\n  budget:\n    max_credits: {}\n    max_wall_clock_sec: {}\n  repo:\n    allowed_paths: [\"crates/\", \"docs/**/*.md\", \"Cargo.toml\"]\n    blocked_paths: [\".github/\", \"crates/secrets/\"]\n  secrets: [CARGO_REGISTRY_TOKEN, SLACK_WEBHOOK_{n}]\n  gates:\n    require_human_approval_for: [\"deploy.prod\", \"agent.release_engineer\"]\nsteps:\n",
        n % 60,
        n % 24,
        1 + n % 5,
        ZONES[n % ZONES.len()],
        EVENTS[n % EVENTS.len()],
        10 + n % 500,
        600 + n % 7200,
    );
    for step in 0..4 + n % 5 {
        match step % 4 {
            0 => s.push_str(&format!(
                "  - step_id: \"s{step}\"\n    type: agent\n    role: {}\n    goal: |\n      Keep service {n} healthy: update dependencies, fix what breaks,\n      and explain every change in the pull request description.\n",
                ROLES[(n + step) % ROLES.len()]
            )),
            1 => s.push_str(&format!(
                "  - step_id: \"s{step}\"\n    type: command\n    name: \"Run tests ({step})\"\n    command: \"cargo test --workspace --all-features -- --test-threads=2\"\n"
            )),
            2 => s.push_str(&format!("  - step_id: \"s{step}\"\n    type: deploy\n    target: preview\n")),
            _ => s.push_str(&format!(
                "  - step_id: \"s{step}\"\n    type: approve\n    reason: \"Check the preview of service {n}\"\n  - step_id: \"p{step}\"\n    type: deploy\n    target: prod\n"
            )),
        }
    }
    s
}
