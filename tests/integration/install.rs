//! The default install of `coder-step` in generated jobs (#11 item 13), run as the jobs run
//! it: the snippet is taken from a compiled workflow and run by a shell whose `PATH` holds
//! only the tools named here, against a loopback server (python3's `http.server` on
//! 127.0.0.1, a port of its choosing) serving a release-shaped asset built from the freshly
//! built `coder-step`, named as `dist` names it. And the release configuration builds the
//! archives the snippet asks for.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::cli::{coder, repo, run};
use crate::root;

const SPEC: &str = "name: Nightly\ntriggers:\n  - type: cron\n    cron: \"0 3 * * *\"\nsteps:\n  - type: command\n    command: make test\n";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The target triple dist builds for this machine, as the release names it.
fn host_triple() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") if Path::new("/lib/ld-musl-x86_64.so.1").exists() => {
            "x86_64-unknown-linux-musl"
        }
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        other => panic!("no release is built for {other:?}"),
    }
}

/// `coder-workflows-<triple>.tar.gz`, holding `coder-workflows-<triple>/coder-step` (dist's
/// tarballs keep a root folder), built once per test run from the freshly built `coder-step`
/// by tar and gzip, and its sha256.
fn archive() -> &'static (PathBuf, String) {
    static ARCHIVE: OnceLock<(PathBuf, String)> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let triple = host_triple();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("install-release");
        let _ = std::fs::remove_dir_all(&dir);
        let folder = dir.join(format!("coder-workflows-{triple}"));
        std::fs::create_dir_all(&folder).expect("archive folder");
        std::fs::copy(env!("CARGO_BIN_EXE_coder-step"), folder.join("coder-step"))
            .expect("copy coder-step");
        // Without its debug information (as a release build is) the archive is a sixth of
        // the size; where `strip` is missing the test only takes longer.
        let _ = Command::new("strip")
            .arg(folder.join("coder-step"))
            .status();
        let name = format!("coder-workflows-{triple}.tar.gz");
        let (code, _, stderr) = run(Command::new("sh")
            .args(["-c", "tar -cf - \"$1\" | gzip -1 > \"$2\"", "sh"])
            .arg(format!("coder-workflows-{triple}"))
            .arg(&name)
            .current_dir(&dir));
        assert_eq!(code, 0, "{stderr}");
        let bytes = std::fs::read(dir.join(&name)).expect("archive");
        (dir.join(name), format!("{:x}", Sha256::digest(&bytes)))
    })
}

/// A release folder as GitHub serves it, `v<version>/` holding the archive and its `.sha256`
/// in dist's format (`<hex> *<name>`), published as `checksum` when given; the archive's name.
fn release(dir: &Path, checksum: Option<&str>) -> String {
    let (archive, sha256) = archive();
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_string();
    let folder = dir.join(format!("v{VERSION}"));
    std::fs::create_dir_all(&folder).expect("release folder");
    std::fs::hard_link(archive, folder.join(&name)).expect("link the archive");
    std::fs::write(
        folder.join(format!("{name}.sha256")),
        format!("{} *{name}\n\n", checksum.unwrap_or(sha256)),
    )
    .expect("write checksum");
    name
}

/// A folder for one test's release, beside the archive (so it can be linked).
fn releases() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir")
}

/// python3's static file server on a loopback port, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn serve(dir: &Path) -> Server {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server says where it listens");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder of links to the named tools only: the `PATH` of an image that has those.
fn tools(dir: &Path, names: &[&str]) -> PathBuf {
    let bin = dir.join("tools");
    std::fs::create_dir_all(&bin).expect("tools");
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        let found = std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("`{name}` is not on the PATH"));
        // A version manager's shim (pyenv) needs more than this PATH: link the interpreter.
        let found = if *name == "python3" {
            let (_, executable, _) =
                run(Command::new(found).args(["-c", "import sys; print(sys.executable)"]));
            PathBuf::from(executable.trim())
        } else {
            found
        };
        std::os::unix::fs::symlink(found, bin.join(name)).expect("link");
    }
    bin
}

/// What every job image has, besides a way to download.
const BASE: &[&str] = &[
    "sh",
    "bash",
    "uname",
    "mktemp",
    "rm",
    "head",
    "cut",
    "sha256sum",
    "tar",
    "gzip",
    "mkdir",
    "mv",
    "cat",
];

/// A `cargo` that only records how it was called.
fn fake_cargo(bin: &Path) -> PathBuf {
    let log = bin.join("cargo.log");
    let script = format!("#!/bin/sh\necho \"$@\" > {}\n", log.display());
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, script).expect("cargo");
    let mut permissions = std::fs::metadata(&cargo).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&cargo, permissions).expect("chmod");
    log
}

/// The install lines a compiled workflow runs: GitHub's install step, GitLab's first
/// `before_script` entry of the first job.
fn compiled_install(target: &str) -> String {
    let dir = repo(&[(".coder/workflows/nightly.yml", SPEC)]);
    let (code, _, stderr) = run(coder()
        .args(["compile", "--target", target])
        .current_dir(dir.path()));
    assert_eq!(code, 0, "{stderr}");
    let (path, install) = match target {
        "github" => (
            ".github/workflows/coder-nightly.yml",
            "/jobs/nightly-1/steps",
        ),
        _ => (".gitlab/coder/nightly.yml", "/nightly-1/before_script"),
    };
    let text = std::fs::read_to_string(dir.path().join(path)).expect("compiled");
    let file: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
    let list = file
        .pointer(install)
        .and_then(|v| v.as_array())
        .unwrap_or_else(|| panic!("no {install} in {text}"));
    let found = match target {
        "github" => list.iter().find(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Install coder-step"))
        }),
        _ => list.first(),
    };
    let script = found
        .and_then(|s| s.get("run").or(Some(s)))
        .and_then(|s| s.as_str())
        .unwrap_or_else(|| panic!("no install in {text}"));
    script.to_string()
}

/// A job's home, temporary folder and `PATH`, and the outcome of running `script` there.
struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Job {
        let job = Job {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(job.home()).expect("home");
        std::fs::create_dir_all(job.tmp()).expect("tmp");
        job
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn installed(&self) -> PathBuf {
        self.home().join(".coder-step/bin/coder-step")
    }

    /// Runs `script` as GitHub runs a `run:` (bash, `-eo pipefail`) or as GitLab's shell
    /// (POSIX sh, `-e`).
    fn run(&self, shell: &[&str], script: &str, bin: &Path, url: &str) -> (i32, String, String) {
        run(Command::new(bin.join(shell[0]))
            .args(&shell[1..])
            .arg(script)
            .env_clear()
            .env("PATH", bin)
            .env("HOME", self.home())
            .env("TMPDIR", self.tmp())
            .env("GITHUB_PATH", self.dir.path().join("github_path"))
            .env("CODER_STEP_RELEASE_URL", url)
            .current_dir(self.dir.path()))
    }

    /// Nothing left behind: no `coder-step`, no temporary folder.
    fn assert_nothing_installed(&self) {
        assert!(!self.installed().exists(), "installed anyway");
        let left: Vec<_> = std::fs::read_dir(self.tmp()).expect("tmp").collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

const GITHUB_SHELL: &[&str] = &["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"];
const GITLAB_SHELL: &[&str] = &["sh", "-e", "-c"];

/// On GitHub with curl (ubuntu-latest): the verified archive's `coder-step` lands in the cached
/// folder, which goes on `$GITHUB_PATH`, and runs.
#[test]
fn github_installs_the_verified_release_binary() {
    let releases = releases();
    release(releases.path(), None);
    let server = Server::serve(releases.path());
    let job = Job::new();
    let bin = tools(job.dir.path(), &[BASE, &["curl"]].concat());
    let (code, stdout, stderr) =
        job.run(GITHUB_SHELL, &compiled_install("github"), &bin, &server.url);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let path = std::fs::read_to_string(job.dir.path().join("github_path")).expect("GITHUB_PATH");
    assert_eq!(
        path.trim(),
        job.home().join(".coder-step/bin").display().to_string()
    );
    let (code, stdout, _) = run(Command::new(job.installed()).arg("--version"));
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("coder-step {VERSION}"));
    assert!(
        std::fs::read_dir(job.tmp()).expect("tmp").next().is_none(),
        "the download is cleaned up"
    );

    // The cached folder already has it: nothing is downloaded (the server is gone).
    drop(server);
    let (code, _, stderr) = job.run(
        GITHUB_SHELL,
        &compiled_install("github"),
        &bin,
        "http://127.0.0.1:9",
    );
    assert_eq!(code, 0, "{stderr}");
}

/// On GitLab with an image that has neither curl nor wget (`python:3.12-slim`), python3
/// downloads, and the job's later lines find `coder-step` on the `PATH`.
#[test]
fn gitlab_installs_with_python_alone() {
    let releases = releases();
    release(releases.path(), None);
    let server = Server::serve(releases.path());
    let job = Job::new();
    let bin = tools(job.dir.path(), &[BASE, &["python3"]].concat());
    let script = format!("{}\ncoder-step --version", compiled_install("gitlab"));
    let (code, stdout, stderr) = job.run(GITLAB_SHELL, &script, &bin, &server.url);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.trim(), format!("coder-step {VERSION}"));
}

/// A checksum that does not match fails the job, installs nothing, and does not fall back to
/// building (a tampered mirror is not a missing one).
#[test]
fn a_mismatching_checksum_installs_nothing() {
    let releases = releases();
    let name = release(releases.path(), Some(&"0".repeat(64)));
    let server = Server::serve(releases.path());
    for (target, shell) in [("github", GITHUB_SHELL), ("gitlab", GITLAB_SHELL)] {
        let job = Job::new();
        let bin = tools(job.dir.path(), &[BASE, &["curl"]].concat());
        let cargo = fake_cargo(&bin);
        let (code, _, stderr) = job.run(shell, &compiled_install(target), &bin, &server.url);
        assert_eq!(code, 1, "{target}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}/v{VERSION}/{name} does not match its .sha256",
                server.url
            )),
            "{target}: {stderr}"
        );
        assert!(stderr.contains("not installing it"), "{stderr}");
        assert!(!cargo.exists(), "{target}: fell back to cargo");
        job.assert_nothing_installed();
    }
}

/// No archive for the version (or the platform) and no cargo: a clear failure naming what to
/// do; with cargo, the pinned version is built instead.
#[test]
fn without_an_archive_cargo_builds_it_or_the_job_says_why() {
    let releases = releases();
    let server = Server::serve(releases.path());
    for (target, shell) in [("github", GITHUB_SHELL), ("gitlab", GITLAB_SHELL)] {
        let job = Job::new();
        let bin = tools(job.dir.path(), &[BASE, &["curl"]].concat());
        let (code, _, stderr) = job.run(shell, &compiled_install(target), &bin, &server.url);
        assert_eq!(code, 1, "{target}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "coder-step: no prebuilt {VERSION} for {} at {}/v{VERSION}, and no cargo to build it: set CODER_STEP_RELEASE_URL to a mirror, or [{target}] install in .coder/config.toml",
                uname(),
                server.url
            )),
            "{target}: {stderr}"
        );
        job.assert_nothing_installed();

        let cargo = fake_cargo(&bin);
        let (code, _, stderr) = job.run(shell, &compiled_install(target), &bin, &server.url);
        assert_eq!(code, 0, "{target}: {stderr}");
        assert!(stderr.contains("building it with cargo"), "{stderr}");
        let args = std::fs::read_to_string(cargo).expect("cargo ran");
        assert_eq!(
            args.trim(),
            format!(
                "install --locked --root {}/.coder-step --version {VERSION} coder-workflows --bin coder-step",
                job.home().display()
            )
        );
    }
}

fn uname() -> String {
    let (_, s, _) = run(Command::new("uname").arg("-s"));
    let (_, m, _) = run(Command::new("uname").arg("-m"));
    format!("{}/{}", s.trim(), m.trim())
}

/// The release that `dist` builds (dist-workspace.toml) has an archive for every platform the
/// snippet maps, in the format and with the checksum it verifies, and its workflow's actions
/// are pinned to the commits of coder's own table.
#[test]
fn the_release_builds_what_the_install_downloads() {
    let text = std::fs::read_to_string(root().join("dist-workspace.toml")).expect("dist config");
    let config: toml::Table = toml::from_str(&text).expect("toml");
    let dist = config["dist"].as_table().expect("[dist]");
    assert_eq!(dist["unix-archive"].as_str(), Some(".tar.gz"));
    assert_eq!(dist["checksum"].as_str(), Some("sha256"));
    let targets: Vec<&str> = dist["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    let script = coder::target::install::script("[github] install");
    let mapped: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter_map(|word| word.strip_prefix("target="))
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(mapped.len(), 5, "{script}");
    for triple in mapped {
        assert!(targets.contains(&triple), "dist builds no {triple}");
    }
    let pins = dist["github-action-commits"]
        .as_table()
        .expect("pinned actions");
    let table = coder::target::github::pinned_actions();
    for (action, sha) in pins {
        assert!(
            table
                .values()
                .any(|p| &p.action == action && Some(p.sha.as_str()) == sha.as_str()),
            "{action} is not pinned to actions.toml's commit"
        );
    }
    let workflow =
        std::fs::read_to_string(root().join(".github/workflows/release.yml")).expect("release");
    assert!(
        workflow.contains(&format!(
            "cargo-dist/releases/download/v{}/",
            dist["cargo-dist-version"].as_str().expect("version")
        )),
        "release.yml is dist generate's output for dist-workspace.toml"
    );
}
