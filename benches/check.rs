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

mod specs;
use specs::spec;

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
