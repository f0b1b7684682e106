//! `cargo bench --bench runner`: `coder-step`'s own overhead per step, as CI pays it: a whole
//! process that starts, loads and checks the spec, verifies its hash, runs a step whose command
//! does nothing (`true`), checks the tree and writes the run record (target: under 10 ms).
//!
//! - `coder_step/begin`: `coder-step begin` of a new run (creates `run.json`)
//! - `coder_step/step_true`: `coder-step step` of a command step running `true`
//! - `coder_step/finish`: `coder-step finish` (patch, `run.json`, summary, log bundle)
//! - `coder_run/five_noop_steps`: the whole `coder run` process of a workflow of five command
//!   steps running `true`, in a checkout of 300 tracked files (dirty-tree check, the checkout
//!   remembered, begin, five steps, finish with the patch, the sealed record and the log bundle;
//!   target: 60 ms or less). Runs pile up in the runs folder as a user's do (30 are kept).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const SPEC: &str = "name: Overhead\nsteps:\n  - type: command\n    command: \"true\"\n";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=b", "-c", "user.email=b@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(status.status.success(), "git {args:?}");
}

fn benches(c: &mut Criterion) {
    let repo = tempfile::tempdir().expect("tempdir");
    let runs = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(dir.join(".coder/workflows")).expect("mkdir");
    std::fs::write(dir.join(".coder/workflows/overhead.yml"), SPEC).expect("spec");
    std::fs::write(dir.join("README.md"), "bench\n").expect("file");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "bench"]);
    let hash = coder::ir::source_hash(SPEC.as_bytes());
    let coder_step = env!("CARGO_BIN_EXE_coder-step");
    let run_dir = runs.path().join("run");
    let invoke = |args: &[&str]| {
        let output = Command::new(coder_step)
            .args(args)
            .args([
                "--spec",
                ".coder/workflows/overhead.yml",
                "--source-hash",
                &hash,
            ])
            .current_dir(dir)
            .env("CODER_RUN_DIR", &run_dir)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("coder-step runs");
        assert!(
            output.status.success(),
            "coder-step {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let mut group = c.benchmark_group("coder_step");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("begin", |b| {
        b.iter(|| {
            let _ = std::fs::remove_dir_all(&run_dir);
            invoke(&["begin", "--job", "overhead-1"]);
        })
    });
    // Each measured step and finish starts from a fresh run, as in CI (a record that grew by
    // hundreds of repeated steps would measure something else).
    let fresh_run = || {
        let _ = std::fs::remove_dir_all(&run_dir);
        invoke(&["begin", "--job", "overhead-1"]);
    };
    group.bench_function("step_true", |b| {
        b.iter_batched(
            fresh_run,
            |()| invoke(&["step", "--step", "s1"]),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("finish", |b| {
        b.iter_batched(
            || {
                fresh_run();
                invoke(&["step", "--step", "s1"]);
            },
            |()| invoke(&["finish", "--job", "overhead-1"]),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A checkout of 300 tracked files in nested folders, an ignored build folder, and the
/// five-step workflow.
fn small_repository(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(dir.join(".coder/workflows")).expect("mkdir");
    let steps = "  - type: command\n    command: \"true\"\n".repeat(5);
    std::fs::write(
        dir.join(".coder/workflows/noop.yml"),
        format!("name: Noop\nsteps:\n{steps}"),
    )
    .expect("spec");
    std::fs::write(dir.join(".gitignore"), "target/\n").expect("ignore");
    for n in 0..298 {
        let folder = dir.join(format!("src/module_{}/part_{}", n % 10, n % 3));
        std::fs::create_dir_all(&folder).expect("mkdir");
        let text = format!("// file {n}\n").repeat(40);
        std::fs::write(folder.join(format!("file_{n}.rs")), text).expect("file");
    }
    std::fs::create_dir_all(dir.join("target")).expect("mkdir");
    std::fs::write(dir.join("target/ignored.o"), "ignored\n").expect("ignored");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "small repository"]);
}

fn whole_run(c: &mut Criterion) {
    let repo = tempfile::tempdir().expect("tempdir");
    let state = tempfile::tempdir().expect("tempdir");
    small_repository(repo.path());
    let coder = env!("CARGO_BIN_EXE_coder");
    let run = || {
        let output = Command::new(coder)
            .args(["run", "noop"])
            .current_dir(repo.path())
            .env("XDG_STATE_HOME", state.path().join("state"))
            .env("XDG_DATA_HOME", state.path().join("data"))
            .env_remove("CODER_RUN_DIR")
            .env_remove("CODER_RUN_ID")
            .env_remove("CODER_RUNS_DIR")
            .env_remove("CODER_FORGE")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_RUN_ID")
            .env_remove("GITLAB_CI")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("coder runs");
        assert!(
            output.status.success(),
            "coder run: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let mut group = c.benchmark_group("coder_run");
    group
        .sample_size(40)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("five_noop_steps", |b| b.iter(run));
    group.finish();
}

criterion_group!(runner, benches, whole_run);
criterion_main!(runner);
