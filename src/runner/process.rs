//! Running a step's program under the wall clock: its own process group, output teed to a log
//! and to our stderr with secrets redacted (our stdout is ours alone: `coder run` ends it with
//! the run directory), SIGINT at the deadline, SIGKILL of the group after
//! a grace period, and every orphan it left behind killed and reaped.
//!
//! Killing the group is not enough: agents start tool commands in new sessions, which leave
//! the group. coder-step is a child subreaper, so those orphans become its children, and it
//! finds them through `/proc` (agents.md §6).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::Redactor;

/// The output kept in memory for callers that read it (a deploy's URL); the log has it all.
const CAPTURE_LIMIT: usize = 1 << 20;

/// Make this process the reaper of the orphans a step leaves (Linux), before any step starts.
pub fn process_supervision() {
    become_subreaper();
    // Not dumpable: a step running as the same user cannot read this process's environment
    // (CI tokens, secrets the step may not have) or memory through `/proc/<pid>/`. Programs
    // we start are dumpable again after their exec.
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_dumpable(false);
    }
}

/// Become the reaper of every orphan our descendants leave (Linux); elsewhere a no-op.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
}

/// What to run and how.
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// `Some`: the child's whole environment. `None`: inherit ours.
    pub env: Option<Vec<(String, String)>>,
    /// Written to the child's stdin, which is then closed.
    pub stdin: Option<Vec<u8>>,
    pub deadline: Instant,
    /// Between SIGINT and SIGKILL.
    pub grace: Duration,
    pub log: PathBuf,
    /// In a cgroup of its own where one can be had (an agent), see `super::cgroup`.
    pub own_cgroup: bool,
}

#[derive(Debug)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal it did not send itself (not the deadline).
    Signaled(i32),
    /// The deadline came first.
    TimedOut,
    /// The watcher asked to stop it (the credits were spent).
    Stopped,
}

/// Watches a running step: sees each line of its stdout (redacted) and may stop it, which
/// follows the deadline's procedure (SIGINT, grace, SIGKILL of the group).
pub trait Watch {
    fn stdout_line(&mut self, line: &str);
    /// Asked every tick (50 ms) while the step runs.
    fn should_stop(&mut self) -> bool;
}

pub struct Outcome {
    pub ending: Ending,
    /// Redacted output, the last `CAPTURE_LIMIT` bytes or so.
    pub output: String,
    /// How its processes were contained (`super::cgroup::Contained::description`).
    pub containment: String,
}

pub fn run(launch: Launch, redactor: &Redactor) -> Result<Outcome, String> {
    run_watched(launch, redactor, None)
}

pub fn run_watched(
    launch: Launch,
    redactor: &Redactor,
    mut watch: Option<&mut dyn Watch>,
) -> Result<Outcome, String> {
    if let Some(dir) = launch.log.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(|e| format!("cannot open {}: {e}", launch.log.display()))?;
    let mut cmd = command(&launch, resolved_program(&launch).as_deref());
    let (mut child, contained) = match super::cgroup::spawn(&mut cmd, launch.own_cgroup) {
        Ok(spawned) => spawned,
        // Whatever `execvp` makes of the bare name (a script without `#!`, a file this user
        // may not run) it still makes: the same command, searched for by the child.
        Err(_) if cmd.get_program() != launch.program.as_str() => {
            super::cgroup::spawn(&mut command(&launch, None), launch.own_cgroup)
                .map_err(|e| format!("cannot start `{}`: {e}", launch.program))?
        }
        Err(e) => return Err(format!("cannot start `{}`: {e}", launch.program)),
    };
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let _ = (&log).write_all(contained.log_line().as_bytes());
    let containment = contained.description.clone();

    if let (Some(input), Some(mut stdin)) = (launch.stdin, child.stdin.take()) {
        // A child that never reads its stdin must not block us: write from a thread.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let sink = Arc::new(Mutex::new(Sink {
        log,
        logged: 0,
        truncated: false,
        captured: String::new(),
    }));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let mut readers = 0;
    if let Some(out) = child.stdout.take() {
        readers += 1;
        let lines = watch.is_some().then(|| line_tx.clone());
        tee(
            out,
            Arc::clone(&sink),
            redactor.clone(),
            done_tx.clone(),
            lines,
        );
    }
    if let Some(err) = child.stderr.take() {
        readers += 1;
        tee(
            err,
            Arc::clone(&sink),
            redactor.clone(),
            done_tx.clone(),
            None,
        );
    }
    drop(done_tx);
    drop(line_tx);
    let feed = |watch: &mut Option<&mut dyn Watch>| {
        if let Some(watch) = watch.as_deref_mut() {
            while let Ok(line) = line_rx.try_recv() {
                watch.stdout_line(&line);
            }
        }
    };

    let mut timed_out = false;
    let mut stopped = false;
    // Poll quickly at first, so a short command costs milliseconds, then every 50 ms; the
    // pause ends early when a reader sees its pipe close, which a step's exit does.
    let mut pause = Duration::from_millis(1);
    let mut readers_done = 0;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cannot wait: {e}"))? {
            break status;
        }
        feed(&mut watch);
        stopped = watch.as_deref_mut().is_some_and(|w| w.should_stop());
        if stopped || Instant::now() >= launch.deadline {
            timed_out = !stopped;
            // SIGINT first: agents such as Claude Code stop their tools and print a final
            // result on it; then the whole group gets SIGKILL.
            let _ = kill(pid, Signal::SIGINT);
            let grace_end = Instant::now() + launch.grace;
            while Instant::now() < grace_end {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = killpg(pid, Signal::SIGKILL);
            break child.wait().map_err(|e| format!("cannot wait: {e}"))?;
        }
        match (readers_done < readers).then(|| done_rx.recv_timeout(pause)) {
            Some(Ok(())) => {
                readers_done += 1;
                // Its output ended: it is exiting, so look again at once.
                pause = Duration::from_micros(100);
                continue;
            }
            Some(Err(mpsc::RecvTimeoutError::Timeout)) => {}
            // No reader left to hear from.
            Some(Err(mpsc::RecvTimeoutError::Disconnected)) | None => {
                readers_done = readers;
                std::thread::sleep(pause);
            }
        }
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    // Whatever the step left running (its group, orphans from other sessions) ends with it.
    let _ = killpg(pid, Signal::SIGKILL);
    let trouble = contained.end(reap_orphans);
    // The readers end when the last writer of each pipe is gone; a writer that escaped us
    // must not hold the step forever.
    let wait_until = Instant::now() + Duration::from_secs(5);
    for _ in readers_done..readers {
        let left = wait_until.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    // Lines printed on the way out (Claude's final result after SIGINT) still count.
    feed(&mut watch);
    let output = sink.lock().map(|s| s.captured.clone()).unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    let ending = if timed_out {
        Ending::TimedOut
    } else if stopped {
        Ending::Stopped
    } else if let Some(code) = status.code() {
        Ending::Exited(code)
    } else {
        Ending::Signaled(status.signal().unwrap_or(0))
    };
    if let Some(trouble) = trouble
        && let Ok(mut sink) = sink.lock()
    {
        let _ = sink.log.write_all(trouble.as_bytes());
    }
    Ok(Outcome {
        ending,
        output,
        containment,
    })
}

/// The command `launch` describes, started as `program` when given (the same program, found
/// on the step's `PATH` already).
fn command(launch: &Launch, program: Option<&Path>) -> Command {
    let mut cmd = match program {
        Some(path) => {
            let mut cmd = Command::new(path);
            // `$0` stays the name the step gave.
            std::os::unix::process::CommandExt::arg0(&mut cmd, &launch.program);
            cmd
        }
        None => Command::new(&launch.program),
    };
    cmd.args(&launch.args)
        .current_dir(&launch.cwd)
        .stdin(if launch.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    if let Some(env) = &launch.env {
        cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    cmd
}

/// Where `execvp` in the child would find a bare program name such as `sh`: the first
/// executable regular file named so in the directories of the step's own `PATH` (relative
/// ones from its working directory). Found here, the child is started by `posix_spawn`
/// instead of a fork of this whole process, which costs milliseconds a step. `None` when
/// the standard library already spawns it so (a path, the inherited environment, no `PATH`),
/// for an agent, or when nothing is found; a candidate that still cannot run falls back to the bare name.
fn resolved_program(launch: &Launch) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    // An agent's start (a cgroup of its own, seconds of work) stays as it was.
    if launch.own_cgroup || launch.program.contains('/') || launch.program.is_empty() {
        return None;
    }
    let path = launch
        .env
        .as_ref()?
        .iter()
        .rev()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| value)?;
    path.split(':').find_map(|dir| {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = std::path::absolute(launch.cwd.join(dir).join(&launch.program)).ok()?;
        let meta = std::fs::metadata(&candidate).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(candidate)
    })
}

struct Sink {
    log: std::fs::File,
    /// Bytes written to the log (and echoed) so far.
    logged: u64,
    /// The log reached [`LOG_LIMIT`] and says so.
    truncated: bool,
    captured: String,
}

/// The longest line read at once: a longer one is handled in pieces of this size, so an
/// agent printing hundreds of megabytes without a newline costs this much memory, not that.
const MAX_LINE: u64 = 1 << 20;

/// A step's log (and what it echoes to the CI log) ends here, with a note saying so.
pub const LOG_LIMIT: u64 = 64 << 20;

impl Sink {
    /// Log and echo `text` while under [`LOG_LIMIT`]; past it, note the truncation once.
    fn write(&mut self, text: &str) {
        if self.truncated {
            return;
        }
        let room = usize::try_from(LOG_LIMIT.saturating_sub(self.logged)).unwrap_or(usize::MAX);
        let mut echo = std::io::stderr().lock();
        if text.len() <= room {
            let _ = self.log.write_all(text.as_bytes());
            let _ = echo.write_all(text.as_bytes());
            self.logged += text.len() as u64;
        } else {
            let cut = (0..=room)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let note = format!(
                "\n[coder: the step's output passed {} MiB; the log stops here, the rest was not kept]\n",
                LOG_LIMIT >> 20
            );
            for piece in [&text[..cut], note.as_str()] {
                let _ = self.log.write_all(piece.as_bytes());
                let _ = echo.write_all(piece.as_bytes());
            }
            self.truncated = true;
        }
        let _ = echo.flush();
    }
}

/// Copy `pipe` line by line, redacted, to the log and our stderr (and to `lines`, for a
/// watcher). Lines are read with a bound ([`MAX_LINE`]); a watcher sees only whole lines.
fn tee(
    pipe: impl Read + Send + 'static,
    sink: Arc<Mutex<Sink>>,
    redactor: Redactor,
    done: mpsc::Sender<()>,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        // Inside a line longer than MAX_LINE: its pieces are logged, not watched.
        let mut overlong = false;
        loop {
            line.clear();
            match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // Ended by a newline, or by the end of the output (not by the bound).
            let whole = line.ends_with(b"\n") || (line.len() as u64) < MAX_LINE;
            let text = redactor.redact(&String::from_utf8_lossy(&line));
            if let Ok(mut sink) = sink.lock() {
                sink.write(&text);
                sink.captured.push_str(&text);
                if sink.captured.len() > CAPTURE_LIMIT {
                    let cut = sink.captured.len() - CAPTURE_LIMIT / 2;
                    let cut = (cut..sink.captured.len())
                        .find(|&i| sink.captured.is_char_boundary(i))
                        .unwrap_or(0);
                    sink.captured.drain(..cut);
                }
            }
            if let Some(lines) = &lines
                && whole
                && !overlong
            {
                let _ = lines.send(text);
            }
            overlong = !whole;
        }
        let _ = done.send(());
    });
}

/// Which process runs a run: its pid, its start time (clock ticks after boot: a reused pid is
/// another process) and the boot it belongs to (a record from another machine or boot names
/// a process that is not running here).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Runner {
    pub pid: u32,
    pub started: u64,
    pub boot: String,
}

impl Runner {
    /// This process (Linux; `None` without `/proc`).
    pub fn this() -> Option<Runner> {
        let pid = std::process::id();
        Some(Runner {
            pid,
            started: start_time(pid)?,
            boot: boot_id()?,
        })
    }

    /// Whether the process is still running here (a zombie is not).
    pub fn is_running(&self) -> bool {
        boot_id().as_deref() == Some(self.boot.as_str())
            && start_time(self.pid) == Some(self.started)
    }
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
}

/// Field 22 of `/proc/<pid>/stat`, `None` for a zombie or a process that is gone.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Kill and reap every process whose parent is us (orphans reparented to this subreaper)
/// until none is left: killing one hands its own children to us, so a chain of any depth ends
/// here. Each round kills every child before waiting, so a fork bomb (whose members are all
/// our children once their parents die) shrinks each round; a process cannot outrun SIGKILL.
pub fn reap_orphans() {
    let me = std::process::id();
    loop {
        let children = children_of(me);
        if children.is_empty() {
            return;
        }
        for &child in &children {
            let pid = Pid::from_raw(child);
            let _ = killpg(pid, Signal::SIGKILL);
            let _ = kill(pid, Signal::SIGKILL);
        }
        for child in children {
            let _ = nix::sys::wait::waitpid(Pid::from_raw(child), None);
        }
    }
}

/// `/proc/self/task/<tid>/children` of every thread of ours (Linux with
/// `CONFIG_PROC_CHILDREN`): a few small reads instead of one per process on the machine.
fn listed_children() -> Option<Vec<i32>> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).ok()?;
        children.extend(
            list.split_whitespace()
                .filter_map(|pid| pid.parse::<i32>().ok()),
        );
    }
    children.sort_unstable();
    children.dedup();
    Some(children)
}

/// Pids whose parent is `parent` (this process): from the kernel's list of each of our
/// threads' children when it keeps one, else by reading every `/proc/<pid>/stat` (empty
/// without `/proc`).
fn children_of(parent: u32) -> Vec<i32> {
    if let Some(children) = listed_children() {
        return children;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat =
                std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
                    .ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn launch(program: &str, cwd: &Path, env: Option<Vec<(String, String)>>) -> Launch {
        Launch {
            program: program.to_string(),
            args: Vec::new(),
            cwd: cwd.to_path_buf(),
            env,
            stdin: None,
            deadline: Instant::now() + Duration::from_secs(30),
            grace: Duration::from_secs(1),
            log: cwd.join("logs/step.log"),
            own_cgroup: false,
        }
    }

    fn file(path: &Path, text: &str, mode: u32) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn path_env(path: &str) -> Option<Vec<(String, String)>> {
        Some(vec![
            ("PATH".to_string(), "/nowhere".to_string()),
            ("PATH".to_string(), path.to_string()),
        ])
    }

    /// The program `execvp` would run: the first executable regular file on the step's own
    /// `PATH` (the last `PATH` given wins, relative folders from the step's working
    /// directory); folders and files without an execute bit are passed over, as `execvp`
    /// passes over them.
    #[test]
    fn a_bare_name_is_found_where_execvp_would_find_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/tool")).expect("a folder named like it");
        file(&root.join("b/tool"), "#!/bin/sh\n", 0o644);
        file(&root.join("work/c/tool"), "#!/bin/sh\n", 0o755);
        file(&root.join("d/tool"), "#!/bin/sh\n", 0o755);
        let path = format!(
            "{}:{}:c:{}",
            root.join("a").display(),
            root.join("b").display(),
            root.join("d").display()
        );
        let cwd = root.join("work");
        assert_eq!(
            resolved_program(&launch("tool", &cwd, path_env(&path))),
            Some(cwd.join("c/tool"))
        );
        // What the standard library already spawns without a fork is left to it.
        assert_eq!(resolved_program(&launch("tool", &cwd, None)), None);
        assert_eq!(
            resolved_program(&launch("./c/tool", &cwd, path_env(&path))),
            None
        );
        assert_eq!(
            resolved_program(&launch("tool", &cwd, Some(Vec::new()))),
            None
        );
        let mut agent = launch("tool", &cwd, path_env(&path));
        agent.own_cgroup = true;
        assert_eq!(resolved_program(&agent), None);
        assert_eq!(
            resolved_program(&launch("missing", &cwd, path_env(&path))),
            None
        );
    }
}
