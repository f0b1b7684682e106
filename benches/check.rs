//! `cargo bench`: parse + check speed on a generated corpus of realistic specs.
//!
//! - `parse_check/typical`: one typical spec of the corpus (56 lines), in process (target: under
//!   100 µs)
//! - `parse_check/seed_release_train`: the seed's full example (37 lines), in process
//! - `process/baseline_true`: starting `/bin/true`, what any process costs on this machine
//! - `process/check_one_file`: the whole `coder check FILE` process (target: under 5 ms)
//! - `process/check_1000_files`: the whole process on 1,000 files (target: under 1 s on 2 cores)
//! - `in_process/check_1000_files`: the same in process, files read from disk
//! - `emit/github_typical`: lowering and emitting the typical spec's GitHub workflow, in process
//! - `process/compile_1000_files`: the whole `coder compile` process on 1,000 files, writing
//!   2,000 files the first time and comparing them afterwards (target: under 1 s on 2 cores)
//! - `process/compile_check_1000_files`: `coder compile --check` on the same files

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use coder::pipeline::Settings;
use coder::pipeline::{check_bytes, check_inputs};
use coder::workspace::SpecInput;
use criterion::{Criterion, criterion_group, criterion_main};

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
fn spec(n: usize) -> String {
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

/// The corpus deploys to `preview` and `prod`: configured, so no run prints 2,000 warnings.
const CONFIG: &str = "[deploy.preview]\ncommand = \"./deploy preview\"\n[deploy.prod]\ncommand = \"./deploy prod\"\n";

fn corpus() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(".git")).expect("a repository");
    std::fs::create_dir_all(dir.path().join(".coder")).expect(".coder");
    std::fs::write(dir.path().join(".coder/config.toml"), CONFIG).expect("config");
    let paths = (0..1000)
        .map(|n| {
            let path = dir.path().join(format!("wf_{n}.yml"));
            std::fs::write(&path, spec(n)).expect("write");
            path
        })
        .collect();
    (dir, paths)
}

fn benches(c: &mut Criterion) {
    let typical = spec(7);
    let input = SpecInput {
        path: "wf_7.yml".into(),
        display: "wf_7.yml".into(),
    };
    let config = Settings::default();
    let checked = check_bytes(&input, typical.clone().into_bytes(), &config);
    assert_eq!(checked.report.errors(), 0, "the typical spec is valid");
    c.bench_function("parse_check/typical", |b| {
        b.iter(|| check_bytes(&input, typical.clone().into_bytes(), &config))
    });

    let seed = include_str!("../tests/fixtures/check/ok/wf_release_train.yml");
    let seed_input = SpecInput {
        path: "wf_release_train.yml".into(),
        display: "wf_release_train.yml".into(),
    };
    c.bench_function("parse_check/seed_release_train", |b| {
        b.iter(|| check_bytes(&seed_input, seed.as_bytes().to_vec(), &config))
    });

    let git = coder::workspace::git::GitInfo {
        remote: None,
        default_branch: "main".to_string(),
    };
    let cx = coder::ir::LowerContext {
        file: &checked.report.source,
        source_hash: &checked.source_hash,
        source: ".coder/workflows/wf_7.yml",
        file_stem: "wf_7",
        git: &git,
    };
    let spec = checked.spec.as_ref().expect("a spec");
    c.bench_function("emit/github_typical", |b| {
        b.iter(|| coder::target::github::emit(&coder::ir::lower(spec, &cx)))
    });

    let (dir, paths) = corpus();
    let inputs: Vec<SpecInput> = paths
        .iter()
        .map(|p| SpecInput {
            path: p.clone(),
            display: p.display().to_string(),
        })
        .collect();
    let mut group = c.benchmark_group("in_process");
    group.sample_size(20);
    group.bench_function("check_1000_files", |b| {
        b.iter(|| check_inputs(&inputs, &config).expect("readable"))
    });
    group.finish();

    let coder = env!("CARGO_BIN_EXE_coder");
    let mut group = c.benchmark_group("process");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("baseline_true", |b| {
        b.iter(|| {
            let status = Command::new("true").output().expect("runs");
            assert!(status.status.success());
        })
    });
    group.bench_function("check_one_file", |b| {
        b.iter(|| {
            let status = Command::new(coder)
                .arg("check")
                .arg(&paths[7])
                .output()
                .expect("runs");
            assert!(status.status.success());
        })
    });
    group.sample_size(10);
    for (name, args) in [
        ("check_1000_files", &["check", "."][..]),
        ("compile_1000_files", &["compile", "."][..]),
        ("compile_check_1000_files", &["compile", "--check", "."][..]),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let status = Command::new(coder)
                    .args(args)
                    .current_dir(dir.path())
                    .output()
                    .expect("runs");
                assert!(
                    status.status.success(),
                    "{}{}",
                    String::from_utf8_lossy(&status.stdout),
                    String::from_utf8_lossy(&status.stderr)
                );
            })
        });
    }
    group.finish();
}

criterion_group!(check, benches);
criterion_main!(check);
