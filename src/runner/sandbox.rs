//! The sandbox every agent step runs in: Landlock (through the `landlock` crate) limits the
//! agent's writes to the checkout, its own folder of the run directory (its private `HOME` and
//! `TMPDIR`), its output and usage files and the paths config adds; its reads to the system,
//! its toolchains and what config adds. The run directory, the run keys, the runner's binaries
//! and the user's dotfiles are out of its reach, and it cannot signal processes outside its
//! sandbox (the runner) or reach their abstract Unix sockets. Network egress is not limited.
//!
//! The restriction is applied by a launcher: coder's own binary, started as
//! `<exe> __coder-sandbox <policy> -- <agent> <args>…`, restricts itself and then execs the
//! agent (same pid, so the process group, deadline and reaping in `process` are unchanged).
//! Not `pre_exec`: it needs `unsafe` (the crate forbids it), and allocating between fork and
//! exec in a multi-threaded runner is unsound anyway.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, path_beneath_rules,
};
use serde::{Deserialize, Serialize};

use super::env::non_empty_env;
use super::{Context, Failure};

/// The first argument that makes coder's binaries the launcher.
pub const LAUNCHER_ARG: &str = "__coder-sandbox";

/// Test hook: set (to anything) to make coder-step behave as on a kernel without Landlock.
pub const PRETEND_NO_LANDLOCK: &str = "CODER_SANDBOX_PRETEND_NO_LANDLOCK";

/// The newest Landlock ABI whose rights we ask for; older kernels get what they support.
const ABI_WANTED: ABI = ABI::V7;

/// What the agent may touch; everything else is denied.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Policy {
    /// Read, list and execute.
    pub read: Vec<PathBuf>,
    /// Everything (read, write, create, remove, rename, truncate).
    pub write: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxStatus {
    /// The agent ran under Landlock.
    Enforced,
    /// `[sandbox] enabled = false`.
    Disabled,
    /// The kernel offers no Landlock and config does not require it: the agent ran without.
    Unavailable,
}

/// How a step's agent was sandboxed, as `run.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub status: SandboxStatus,
    pub detail: String,
    /// The paths the agent could write besides the checkout and its own folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_write: Vec<String>,
    /// How the agent's processes were kept together so they ended with the step:
    /// `cgroup <dir>` (a cgroup of its own, killed whole) or `subreaper (why)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containment: Option<String>,
}

/// The sandbox of one agent step.
pub struct Sandbox {
    pub record: SandboxRecord,
    /// `None`: the agent runs unsandboxed (disabled, or no Landlock and not required).
    policy: Option<Policy>,
    /// No Landlock, and config requires it: the agent must not run.
    pub refused: bool,
}

/// The user's real home (the agent's `HOME` is private).
fn user_home() -> Option<PathBuf> {
    non_empty_env("HOME").map(PathBuf::from)
}

/// A configured path: absolute, or `~/…` in the user's home.
fn expand(path: &str) -> Result<PathBuf, String> {
    let expanded = match path.strip_prefix("~/") {
        Some(rest) => user_home()
            .ok_or_else(|| format!("`{path}` names the home folder, but HOME is not set"))?
            .join(rest),
        None => PathBuf::from(path),
    };
    if expanded.is_absolute() {
        Ok(expanded)
    } else {
        Err(format!(
            "`[sandbox]` paths are absolute or start with `~/`: `{path}` is neither"
        ))
    }
}

/// What running `program` reads: its installation (`<prefix>/bin/<program>` → `<prefix>`), the
/// whole `node_modules` an npm package lives in (CLIs such as Codex start a native binary from a
/// sibling package), and, for a script, its interpreter's installation (a venv's `python` leads
/// to the Python it was made from), following at most `depth` interpreters.
fn installation(
    program: &Path,
    path_var: Option<&str>,
    checkout: &Path,
    depth: usize,
) -> Vec<PathBuf> {
    let found = real(program);
    let mut out = Vec::new();
    let dir = found.parent().map(Path::to_path_buf);
    let prefix = dir
        .as_deref()
        .filter(|d| d.file_name() == Some(OsStr::new("bin")))
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    out.extend(prefix.or(dir));
    if let Some(modules) = found
        .ancestors()
        .find(|a| a.file_name() == Some(OsStr::new("node_modules")))
    {
        out.push(modules.to_path_buf());
    }
    if depth > 0
        && let Some(interpreter) = shebang(&found)
    {
        // `#!/usr/bin/env node`: the program env runs, found on the agent's PATH.
        let interpreter = match interpreter.file_name().and_then(OsStr::to_str) {
            Some("env") => None,
            _ => Some(interpreter),
        }
        .or_else(|| {
            let name = shebang_argument(&found)?;
            locate(&name, path_var, checkout)
        });
        if let Some(interpreter) = interpreter {
            // The link itself (a venv's `bin/python`) and where it leads.
            out.extend(interpreter.parent().map(Path::to_path_buf));
            out.extend(installation(&interpreter, path_var, checkout, depth - 1));
        }
    }
    out
}

/// The interpreter a script's `#!` line names.
fn shebang(path: &Path) -> Option<PathBuf> {
    let line = first_line(path)?;
    let command = line.strip_prefix("#!")?.split_whitespace().next()?;
    Some(PathBuf::from(command))
}

/// The first argument of a `#!` line (`node` in `#!/usr/bin/env node`).
fn shebang_argument(path: &Path) -> Option<String> {
    let line = first_line(path)?;
    let mut words = line.strip_prefix("#!")?.split_whitespace().skip(1);
    let word = words.next()?;
    // `env -S node --flag`: the program follows the options.
    if word.starts_with('-') {
        return words.next().map(str::to_string);
    }
    Some(word.to_string())
}

fn first_line(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let read = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let text = std::str::from_utf8(head.get(..read)?).ok()?;
    Some(text.lines().next()?.to_string())
}

/// `path` made absolute and free of symlinks where it exists (Landlock judges where a path
/// leads, so the checks below must too).
fn real(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether granting `path` would reach `protected`: `path` is it, inside it or holds it.
fn reaches(path: &Path, protected: &Path) -> bool {
    path.starts_with(protected) || protected.starts_with(path)
}

/// Whether an agent step of this configuration runs inside coder's sandbox (a CLI with a
/// sandbox of its own then leaves the writes to this one: Landlock domains nest, and Codex's
/// own `workspace-write` sandbox cannot start inside coder's).
pub fn will_enforce(config: &crate::workspace::config::SandboxConfig) -> bool {
    config.enabled != Some(false) && landlock_available().is_ok()
}

/// Whether Landlock can be had here, and if not, why.
fn landlock_available() -> Result<(), String> {
    if std::env::var_os(PRETEND_NO_LANDLOCK).is_some() {
        return Err(format!(
            "the kernel offers no Landlock (pretended: {PRETEND_NO_LANDLOCK} is set)"
        ));
    }
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .and_then(|ruleset| ruleset.create())
        .map(|_| ())
        .map_err(|e| format!("the kernel offers no Landlock ({e})"))
}

/// System folders every program needs to read (binaries, libraries, configuration,
/// certificates, `/proc` and `/sys` for runtimes such as node).
const SYSTEM_READ: [&str; 12] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc",
    "/sys", "/dev",
];

/// Devices any program may write.
const DEVICE_WRITE: [&str; 7] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/pts",
    "/dev/ptmx",
    "/dev/shm",
];

/// Toolchain folders in the user's home an agent needs for the repository's languages: what
/// it reads (the toolchain) and what it writes (the package caches). Only those that exist.
fn toolchain_defaults(checkout: &Path, home: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut read = Vec::new();
    let mut write = Vec::new();
    let has = |name: &str| checkout.join(name).exists();
    if has("Cargo.toml") {
        let (cargo, rustup) = rust_homes(home);
        read.extend([cargo.join("bin"), rustup]);
        write.extend([cargo.join("registry"), cargo.join("git")]);
    }
    if has("package.json") {
        write.extend([
            home.join(".npm"),
            home.join(".cache/yarn"),
            home.join(".pnpm-store"),
        ]);
        read.push(home.join(".nvm"));
    }
    if has("pyproject.toml") || has("requirements.txt") || has("setup.py") {
        write.extend([home.join(".cache/pip"), home.join(".cache/uv")]);
        read.extend([home.join(".pyenv"), home.join(".local/bin")]);
    }
    if has("go.mod") {
        write.extend([home.join("go/pkg/mod"), home.join(".cache/go-build")]);
    }
    (read, write)
}

/// The user's `CARGO_HOME` and `RUSTUP_HOME`.
fn rust_homes(home: &Path) -> (PathBuf, PathBuf) {
    (
        non_empty_env("CARGO_HOME").map_or_else(|| home.join(".cargo"), PathBuf::from),
        non_empty_env("RUSTUP_HOME").map_or_else(|| home.join(".rustup"), PathBuf::from),
    )
}

/// Rust under a private `HOME`: rustup's proxies find the user's toolchains through
/// `RUSTUP_HOME`, and cargo's home is the agent's own (its locks, its config) with the user's
/// `registry` and `git` caches linked in, so `cargo update` fills the shared cache without the
/// agent reaching `~/.cargo/bin` or `~/.cargo/credentials.toml` for writing.
fn share_cargo_caches(home: &Path, agent_home: &Path, env: &mut Vec<(String, String)>) {
    let (cargo, rustup) = rust_homes(home);
    if rustup.is_dir() && !env.iter().any(|(n, _)| n == "RUSTUP_HOME") {
        env.push((
            "RUSTUP_HOME".to_string(),
            rustup.to_string_lossy().into_owned(),
        ));
    }
    if env.iter().any(|(n, _)| n == "CARGO_HOME") {
        return;
    }
    let own = agent_home.join(".cargo");
    for cache in ["registry", "git"] {
        let shared = cargo.join(cache);
        let link = own.join(cache);
        if shared.is_dir() && std::fs::create_dir_all(&own).is_ok() && !link.exists() {
            let _ = std::os::unix::fs::symlink(&shared, &link);
        }
    }
    env.push(("CARGO_HOME".to_string(), own.to_string_lossy().into_owned()));
}

/// Where `program` is: an absolute or relative path as given, else the first match on the
/// agent's `PATH`.
fn locate(program: &str, path_var: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(cwd.join(program));
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

impl Sandbox {
    /// Decide the sandbox of `step_id`'s agent (`program` under the environment `env`,
    /// adjusted here: `TMPDIR` becomes private, toolchain variables point at the real
    /// toolchains). Fails when config requires a sandbox the kernel cannot give, or a
    /// configured path would open the run keys or the run directory.
    pub fn for_agent(
        cx: &Context,
        step_id: &str,
        program: &str,
        env: &mut Vec<(String, String)>,
    ) -> Result<Sandbox, Failure> {
        let config = &cx.config.sandbox;
        if config.enabled == Some(false) {
            return Ok(Sandbox {
                record: SandboxRecord {
                    status: SandboxStatus::Disabled,
                    detail: "turned off by `[sandbox] enabled = false`: the agent can write anywhere this user can".to_string(),
                    extra_write: Vec::new(),
                    containment: None,
                },
                policy: None,
                refused: false,
            });
        }
        if let Err(why) = landlock_available() {
            let required = config.required.unwrap_or_else(super::approval::in_ci);
            if required {
                return Ok(Sandbox {
                    record: SandboxRecord {
                        status: SandboxStatus::Unavailable,
                        detail: format!(
                            "{why}: the agent was not started, since `[sandbox] required` (the default in CI) refuses to run it unsandboxed; set `[sandbox] required = false` to run anyway"
                        ),
                        extra_write: Vec::new(),
                        containment: None,
                    },
                    policy: None,
                    refused: true,
                });
            }
            return Ok(Sandbox {
                record: SandboxRecord {
                    status: SandboxStatus::Unavailable,
                    detail: format!(
                        "{why}: the agent runs UNSANDBOXED and can write anywhere this user can"
                    ),
                    extra_write: Vec::new(),
                    containment: None,
                },
                policy: None,
                refused: false,
            });
        }
        let policy = policy(cx, step_id, program, env)?;
        let extra_write = policy
            .write
            .iter()
            .filter(|p| !p.starts_with(real(&cx.checkout)) && !p.starts_with("/dev"))
            .filter(|p| !p.starts_with(real(&cx.run_dir)))
            .map(|p| p.display().to_string())
            .collect();
        Ok(Sandbox {
            record: SandboxRecord {
                status: SandboxStatus::Enforced,
                detail: "Landlock: writes to the checkout, the agent's own folder and the paths listed; no access to the run directory or the run keys".to_string(),
                extra_write,
                containment: None,
            },
            policy: Some(policy),
            refused: false,
        })
    }

    /// The program and arguments to start: the launcher around the agent when sandboxed.
    pub fn wrap(
        &self,
        program: String,
        args: Vec<String>,
    ) -> Result<(String, Vec<String>), Failure> {
        let Some(policy) = &self.policy else {
            return Ok((program, args));
        };
        let exe = std::env::current_exe()
            .map_err(|e| Failure::failed(format!("cannot find coder's own binary: {e}")))?;
        let policy = serde_json::to_string(policy)
            .map_err(|e| Failure::failed(format!("cannot write the sandbox policy: {e}")))?;
        let mut wrapped = vec![LAUNCHER_ARG.to_string(), policy, "--".to_string(), program];
        wrapped.extend(args);
        Ok((exe.to_string_lossy().into_owned(), wrapped))
    }

    /// What the step log and the terminal say before the agent starts.
    pub fn describe(&self) -> String {
        match (&self.policy, self.record.status) {
            (Some(policy), _) => format!(
                "[coder: sandbox on (Landlock). The agent may write: {}. It may read: {}. Anything else is denied (\"Permission denied\"); add paths with `[sandbox] write`/`read` in {}]\n",
                list(&policy.write),
                list(&policy.read),
                crate::workspace::config::CONFIG_FILE
            ),
            (None, SandboxStatus::Disabled) => {
                format!("[coder: sandbox OFF: {}]\n", self.record.detail)
            }
            (None, _) => format!(
                "[coder: WARNING: sandbox unavailable: {}]\n",
                self.record.detail
            ),
        }
    }

    /// After the step: when the agent was denied file access, say in the log that the
    /// sandbox did it, so a policy is not mistaken for a bug.
    pub fn explain_denials(&self, log: &Path) {
        if self.policy.is_none() {
            return;
        }
        let Ok(text) = std::fs::read_to_string(log) else {
            return;
        };
        let denials = text
            .lines()
            .filter(|line| !line.starts_with("[coder:"))
            .filter(|line| {
                line.contains("Permission denied")
                    || line.contains("Operation not permitted")
                    || line.contains("EACCES")
                    || line.contains("EPERM")
            })
            .count();
        if denials == 0 {
            return;
        }
        let note = format!(
            "[coder: sandbox: {denials} line(s) above report a denied access. The sandbox denies writes outside the checkout and the paths `[sandbox] write` lists, and all access to the run directory and run keys: if the agent needed that path, add it to `[sandbox] write` (or `read`) in {}]\n",
            crate::workspace::config::CONFIG_FILE
        );
        append(log, &note);
    }
}

/// Append `text` to a step's log (best effort: the log is for people).
pub fn append(log: &Path, text: &str) {
    use std::io::Write;
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = file.write_all(text.as_bytes());
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The policy of one agent step (see the module's comment).
fn policy(
    cx: &Context,
    step_id: &str,
    program: &str,
    env: &mut Vec<(String, String)>,
) -> Result<Policy, Failure> {
    let run_dir = real(&cx.run_dir);
    let keys = super::approval::key_dir().map(|dir| real(&dir)).ok();
    let protected: Vec<(&str, PathBuf)> = [
        ("the run directory", Some(run_dir.clone())),
        ("the run keys", keys),
    ]
    .into_iter()
    .filter_map(|(what, path)| Some((what, path?)))
    .collect();
    let conflict = |path: &Path| {
        protected
            .iter()
            .find(|(_, protected)| reaches(path, protected))
            .map(|(what, _)| *what)
    };

    // The agent's own folder of the run directory: its private HOME and TMPDIR, files presets
    // write; and the files coder reads back from it.
    let agent_dir = run_dir.join("agents").join(step_id);
    let tmp = agent_dir.join("tmp");
    std::fs::create_dir_all(&tmp)
        .map_err(|e| Failure::failed(format!("cannot create {}: {e}", tmp.display())))?;
    env.retain(|(name, _)| name != "TMPDIR");
    env.push(("TMPDIR".to_string(), tmp.to_string_lossy().into_owned()));
    // Landlock rules need the files to exist: the output and usage files are created empty
    // (an empty output counts as none).
    let output = real(&cx.step_output_file(step_id));
    let usage = real(&super::agent::usage_file(cx, step_id));
    for file in [&output, &usage] {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::failed(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .map_err(|e| Failure::failed(format!("cannot create {}: {e}", file.display())))?;
    }
    let prompt = run_dir.join("prompts").join(format!("{step_id}.md"));

    let checkout = real(&cx.checkout);
    if let Some(what) = conflict(&checkout) {
        return Err(Failure::failed(format!(
            "the checkout {} holds {what} (or lies inside it): the sandbox cannot give the agent one without the other",
            checkout.display()
        )));
    }
    let mut write = vec![checkout.clone(), agent_dir.clone(), output, usage];
    write.extend(DEVICE_WRITE.iter().map(PathBuf::from));
    let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    read.push(prompt);
    // Where /etc/resolv.conf and friends lead (systemd-resolved keeps them under /run).
    for link in ["/etc/resolv.conf", "/etc/localtime"] {
        if let Some(dir) = real(Path::new(link)).parent() {
            read.push(dir.to_path_buf());
        }
    }

    // Defaults (dropped quietly when they would reach the run directory or keys).
    let mut defaults_read = Vec::new();
    let mut defaults_write = Vec::new();
    if let Some(home) = user_home() {
        let (r, w) = toolchain_defaults(&checkout, &home);
        defaults_read.extend(r);
        defaults_write.extend(w);
        if checkout.join("Cargo.toml").exists() {
            share_cargo_caches(&home, &agent_dir.join("home"), env);
        }
    }
    // The directories of the agent's `PATH` and the agent program itself, where they lead.
    let path_var = env
        .iter()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| value.clone());
    if let Some(path_var) = &path_var {
        defaults_read.extend(std::env::split_paths(path_var).filter(|dir| dir.is_absolute()));
    }
    if let Some(found) = locate(program, path_var.as_deref(), &cx.checkout) {
        defaults_read.extend(installation(&found, path_var.as_deref(), &cx.checkout, 3));
    }
    for path in defaults_read {
        let path = real(&path);
        if path.exists() && path != Path::new("/") && conflict(&path).is_none() {
            read.push(path);
        }
    }
    for path in defaults_write {
        let path = real(&path);
        if path.exists() && conflict(&path).is_none() {
            write.push(path);
        }
    }

    // Config: a path that would open the run directory or keys is refused, not dropped.
    for (key, paths, into) in [
        ("write", &cx.config.sandbox.write, &mut write),
        ("read", &cx.config.sandbox.read, &mut read),
    ] {
        for text in paths {
            let path = real(&expand(text).map_err(Failure::usage)?);
            if let Some(what) = conflict(&path) {
                return Err(Failure::usage(format!(
                    "`[sandbox] {key}` names `{text}`, which would give the agent {what}: the sandbox keeps that out of its reach"
                )));
            }
            into.push(path);
        }
    }
    read.sort();
    read.dedup();
    write.dedup();
    Ok(Policy { read, write })
}

/// When coder's binary was started as the launcher (`<exe> __coder-sandbox <policy> --
/// <program> <args>…`): restrict this process and exec the agent; never returns then.
pub fn launch_if_asked() {
    let mut args = std::env::args_os();
    if args.nth(1).as_deref() != Some(OsStr::new(LAUNCHER_ARG)) {
        return;
    }
    let code = launcher(args.collect());
    std::process::exit(code)
}

fn launcher(args: Vec<OsString>) -> i32 {
    let mut args = args.into_iter();
    let policy: Option<Policy> = args
        .next()
        .and_then(|text| serde_json::from_str(&text.to_string_lossy()).ok());
    let (Some(policy), Some(dash), Some(program)) = (policy, args.next(), args.next()) else {
        eprintln!("coder: the sandbox launcher is for coder's own use");
        return 2;
    };
    if dash != "--" {
        eprintln!("coder: the sandbox launcher is for coder's own use");
        return 2;
    }
    if let Err(why) = restrict(&policy) {
        // Fail closed: the agent never runs half-sandboxed.
        eprintln!("coder: cannot sandbox the agent: {why}");
        return 126;
    }
    let mut command = std::process::Command::new(&program);
    command.args(args);
    let error = std::os::unix::process::CommandExt::exec(&mut command);
    eprintln!(
        "coder: cannot start `{}` in the sandbox: {error}",
        program.to_string_lossy()
    );
    127
}

/// Restrict this process (and what it execs) to `policy`.
fn restrict(policy: &Policy) -> Result<(), String> {
    let all = AccessFs::from_all(ABI_WANTED);
    let status = Ruleset::default()
        .handle_access(all)
        .and_then(|r| r.scope(Scope::AbstractUnixSocket | Scope::Signal))
        .and_then(|r| r.create())
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                &policy.read,
                AccessFs::from_read(ABI_WANTED),
            ))
        })
        .and_then(|r| r.add_rules(path_beneath_rules(&policy.write, all)))
        .and_then(|r| r.restrict_self())
        .map_err(|e| e.to_string())?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("the kernel enforced none of it (no Landlock)".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_reaches_what_it_holds_or_lies_in() {
        let keys = Path::new("/home/u/.local/share/coder/keys");
        assert!(reaches(Path::new("/home/u"), keys));
        assert!(reaches(
            Path::new("/home/u/.local/share/coder/keys/x"),
            keys
        ));
        assert!(!reaches(Path::new("/home/u/.cargo/registry"), keys));
        assert!(!reaches(
            Path::new("/home/u/.local/share/coder-other"),
            keys
        ));
    }

    #[test]
    fn configured_paths_are_absolute_or_in_home() {
        assert!(expand("relative/dir").is_err());
        assert_eq!(expand("/abs").ok(), Some(PathBuf::from("/abs")));
    }

    #[test]
    fn the_policy_survives_the_command_line() {
        let policy = Policy {
            read: vec![PathBuf::from("/usr")],
            write: vec![PathBuf::from("/tmp/a b")],
        };
        let text = serde_json::to_string(&policy).expect("json");
        assert_eq!(serde_json::from_str::<Policy>(&text).ok(), Some(policy));
    }
}
