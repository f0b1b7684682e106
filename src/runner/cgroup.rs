//! A cgroup per agent step where one can be had. Where cgroup v2 is mounted and the runner's own
//! cgroup is writable by it (a subtree delegated to it: a systemd unit with `Delegate=yes`, a
//! container, root), each agent step is started in a child cgroup of its own and, at its end or
//! deadline, the whole cgroup is killed (`cgroup.kill`, else SIGKILL of every pid in
//! `cgroup.procs` until none is left) and removed: no process of the step survives it,
//! whatever it did to leave its process group or its parent. Elsewhere the subreaper and the
//! step's process group do the job ([`super::process`]); they stay on as a second net.
//!
//! The step is born in its cgroup: this process enters the cgroup, starts the step and leaves
//! again, so nothing the step forks can run before it is inside.
//!
//! A cgroup left behind by a runner that was killed (an agent can kill its runner when
//! unsandboxed) is named after that runner's pid: the next step started beside it kills what
//! is left in it and removes it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A test hook: behave as a machine where no cgroup can be had.
pub const PRETEND_NO_CGROUP: &str = "CODER_PRETEND_NO_CGROUP";

/// How long killing a step's cgroup may take before coder-step gives up on it (a process in
/// uninterruptible sleep); the subreaper still reaps what it can.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// What step cgroups are called: `coder-<runner pid>-<n>`.
const PREFIX: &str = "coder-";

/// How a step's processes are kept together so they end with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Containment {
    /// Each step in a child cgroup of this one (the runner's own, writable).
    Cgroup(PathBuf),
    /// No cgroup to be had (why): the subreaper and the step's process group.
    Subreaper(String),
}

impl Containment {
    /// This process's containment, decided once from `/proc/self/mountinfo` and
    /// `/proc/self/cgroup`.
    pub fn of_this_process() -> &'static Containment {
        static DECIDED: OnceLock<Containment> = OnceLock::new();
        DECIDED.get_or_init(|| {
            if std::env::var_os(PRETEND_NO_CGROUP).is_some() {
                return Containment::Subreaper(format!("pretended: {PRETEND_NO_CGROUP} is set"));
            }
            let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
            Containment::decide(
                &read("/proc/self/mountinfo"),
                &read("/proc/self/cgroup"),
                &writable,
            )
        })
    }

    /// The decision, from the text of `/proc/self/mountinfo` and `/proc/self/cgroup`;
    /// `writable` tells whether this process may create cgroups in a folder and move
    /// processes into them.
    pub fn decide(
        mountinfo: &str,
        own_cgroup: &str,
        writable: &dyn Fn(&Path) -> bool,
    ) -> Containment {
        let Some(own) = own_cgroup
            .lines()
            .find_map(|line| line.strip_prefix("0::"))
            .map(|path| path.trim_end_matches(" (deleted)"))
        else {
            return Containment::Subreaper(
                "this process is in no cgroup v2 hierarchy (cgroup v1 only)".to_string(),
            );
        };
        let Some(dir) = cgroup2_dir(mountinfo, own) else {
            return Containment::Subreaper(format!(
                "its cgroup v2 `{own}` is not mounted where this process can see it"
            ));
        };
        if !writable(&dir) {
            return Containment::Subreaper(format!(
                "its cgroup {} is not writable by this user (not delegated to it)",
                dir.display()
            ));
        }
        Containment::Cgroup(dir)
    }
}

/// Whether this process may create a cgroup in `dir` and move processes into it: the folder
/// and its `cgroup.procs` are writable by it.
fn writable(dir: &Path) -> bool {
    use nix::unistd::{AccessFlags, access};
    access(dir, AccessFlags::W_OK).is_ok()
        && access(&dir.join("cgroup.procs"), AccessFlags::W_OK).is_ok()
}

/// Where the cgroup v2 path `own` (as `/proc/self/cgroup` names it) is in this process's
/// file system: under the first cgroup2 mount whose root holds it.
fn cgroup2_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = left.split(' ').collect();
        let (root, mount_point) = (unescape(fields.get(3)?), unescape(fields.get(4)?));
        let below = if root == "/" {
            own.strip_prefix('/')?
        } else {
            match own.strip_prefix(root.as_str())? {
                "" => "",
                rest => rest.strip_prefix('/')?,
            }
        };
        Some(Path::new(&mount_point).join(below))
    })
}

/// A mountinfo field with its octal escapes (`\040` for a space) decoded.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why [`StepCgroup::spawn`] started nothing.
#[derive(Debug)]
pub enum SpawnFailure {
    /// This process could not enter the cgroup: start the step without it.
    NotEntered(String),
    /// The step could not be started, or this process could not leave the cgroup.
    Failed(String),
}

/// One step's cgroup.
#[derive(Debug)]
pub struct StepCgroup {
    dir: PathBuf,
    parent: PathBuf,
}

impl StepCgroup {
    /// A new cgroup under `parent`, after the ones runners that died left there are killed
    /// and removed.
    pub fn create(parent: &Path) -> Result<StepCgroup, String> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        remove_stale(parent, &|pid| {
            Path::new("/proc").join(pid.to_string()).exists()
        });
        let dir = parent.join(format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot create the cgroup {}: {e}", dir.display()))?;
        Ok(StepCgroup {
            dir,
            parent: parent.to_path_buf(),
        })
    }

    /// Start `cmd` inside the cgroup: this process enters it, forks and leaves it again, so
    /// the child is born there. When this process cannot leave again, the child is killed
    /// (its cgroup, which is to be killed whole, would hold the runner).
    pub fn spawn(&self, cmd: &mut Command) -> Result<Child, SpawnFailure> {
        let me = std::process::id();
        move_pid(&self.dir, me).map_err(SpawnFailure::NotEntered)?;
        let spawned = cmd.spawn();
        if let Err(e) = move_pid(&self.parent, me) {
            if let Ok(mut child) = spawned {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(SpawnFailure::Failed(e));
        }
        spawned.map_err(|e| SpawnFailure::Failed(e.to_string()))
    }

    /// Kill every process of the cgroup and wait until it is empty (at most
    /// [`KILL_TIMEOUT`]): `cgroup.kill` where the kernel has it (5.14), else SIGKILL to every
    /// pid of `cgroup.procs`, again until none is left (a process forking while it is killed
    /// cannot outrun it). Returns the pids still there when it gave up.
    pub fn kill(&self) -> Vec<i32> {
        kill_cgroup(&self.dir, &mut |pid| {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        })
    }

    /// Remove the (empty) cgroup; a cgroup whose last processes are still exiting is busy
    /// for a moment.
    pub fn remove(self) -> Result<(), String> {
        remove_dir(&self.dir)
    }
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("cannot remove the cgroup {}: {e}", dir.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Move the process `pid` into the cgroup `dir`.
fn move_pid(dir: &Path, pid: u32) -> Result<(), String> {
    std::fs::write(dir.join("cgroup.procs"), format!("{pid}\n"))
        .map_err(|e| format!("cannot move process {pid} into {}: {e}", dir.display()))
}

/// The pids `cgroup.procs` of `dir` lists (none when it cannot be read).
fn pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

/// See [`StepCgroup::kill`]; `signal` sends SIGKILL to a pid.
fn kill_cgroup(dir: &Path, signal: &mut dyn FnMut(i32)) -> Vec<i32> {
    let kill_file = dir.join("cgroup.kill");
    let whole = kill_file.exists() && std::fs::write(&kill_file, "1").is_ok();
    let deadline = Instant::now() + KILL_TIMEOUT;
    loop {
        let left = pids(dir);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        if !whole {
            left.iter().for_each(|pid| signal(*pid));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kill and remove the step cgroups under `parent` whose runner is gone (`alive` says
/// whether a pid is).
fn remove_stale(parent: &Path, alive: &dyn Fn(u32) -> bool) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(runner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if runner == std::process::id() || alive(runner) || !entry.path().is_dir() {
            continue;
        }
        let dir = entry.path();
        kill_cgroup(&dir, &mut |pid| {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        });
        let _ = remove_dir(&dir);
    }
}

/// A started step and how its processes are contained.
pub struct Contained {
    group: Option<StepCgroup>,
    /// Why there is no cgroup (`None` with no group: none was wanted).
    why_not: Option<String>,
    /// What the step log and `run.json` say: `cgroup <dir>`, or `subreaper (why)`.
    pub description: String,
}

/// Start `cmd`, in a cgroup of its own when `wanted` (an agent step: the spec's own commands
/// are left to the subreaper, which costs nothing, where entering a cgroup costs a few ms) and
/// this process's [`Containment`] allows one; where creating or entering it fails, it starts
/// without, and the description says why.
pub fn spawn(cmd: &mut Command, wanted: bool) -> Result<(Child, Contained), String> {
    if !wanted {
        let child = cmd.spawn().map_err(|e| e.to_string())?;
        return Ok((
            child,
            Contained {
                group: None,
                why_not: None,
                description: "subreaper".to_string(),
            },
        ));
    }
    let parent = match Containment::of_this_process() {
        Containment::Cgroup(parent) => parent,
        Containment::Subreaper(why) => {
            let child = cmd.spawn().map_err(|e| e.to_string())?;
            return Ok((child, Contained::without(why)));
        }
    };
    let group = match StepCgroup::create(parent) {
        Ok(group) => group,
        Err(why) => {
            let child = cmd.spawn().map_err(|e| e.to_string())?;
            return Ok((child, Contained::without(&why)));
        }
    };
    let child = match group.spawn(cmd) {
        Ok(child) => child,
        Err(SpawnFailure::NotEntered(why)) => {
            let _ = group.remove();
            let child = cmd.spawn().map_err(|e| e.to_string())?;
            return Ok((child, Contained::without(&why)));
        }
        Err(SpawnFailure::Failed(e)) => return Err(e),
    };
    let description = format!("cgroup {}", group.dir.display());
    Ok((
        child,
        Contained {
            group: Some(group),
            why_not: None,
            description,
        },
    ))
}

impl Contained {
    fn without(why: &str) -> Contained {
        Contained {
            group: None,
            why_not: Some(why.to_string()),
            description: format!("subreaper ({why})"),
        }
    }

    /// The line the step log opens with (none where no cgroup was wanted).
    pub fn log_line(&self) -> String {
        match (&self.group, &self.why_not) {
            (Some(group), _) => format!(
                "[coder: the step runs in its own cgroup ({}), killed whole when it ends]\n",
                group.dir.display()
            ),
            (None, Some(why)) => format!(
                "[coder: no cgroup for this step ({why}): its process group and the subreaper end its processes]\n"
            ),
            (None, None) => String::new(),
        }
    }

    /// At the step's end: kill its cgroup, let `reap` collect what died, remove the cgroup.
    /// Returns what went wrong, for the step log.
    pub fn end(self, reap: impl FnOnce()) -> Option<String> {
        let Some(group) = self.group else {
            reap();
            return None;
        };
        let left = group.kill();
        reap();
        let dir = group.dir.display().to_string();
        match (left.is_empty(), group.remove()) {
            (true, Ok(())) => None,
            (false, _) => Some(format!(
                "[coder: processes {left:?} of the cgroup {dir} did not die within {} s]\n",
                KILL_TIMEOUT.as_secs()
            )),
            (true, Err(e)) => Some(format!("[coder: {e}]\n")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_MOUNTS: &str = "24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw\n35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
    const HYBRID_MOUNTS: &str = "31 24 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n42 31 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";
    const V1_MOUNTS: &str =
        "42 31 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";
    const SERVICE: &str = "0::/system.slice/coder-nightly.service\n";

    fn always(_: &Path) -> bool {
        true
    }
    fn never(_: &Path) -> bool {
        false
    }

    #[test]
    fn a_writable_cgroup_v2_is_used() {
        assert_eq!(
            Containment::decide(HOST_MOUNTS, SERVICE, &always),
            Containment::Cgroup(PathBuf::from(
                "/sys/fs/cgroup/system.slice/coder-nightly.service"
            ))
        );
        // A hybrid host: the unified hierarchy beside the v1 controllers.
        assert_eq!(
            Containment::decide(HYBRID_MOUNTS, "9:memory:/x\n0::/\n", &always),
            Containment::Cgroup(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        // A container whose cgroup namespace shows its own cgroup as the root.
        assert_eq!(
            Containment::decide(
                "100 90 0:40 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
                "0::/\n",
                &always
            ),
            Containment::Cgroup(PathBuf::from("/sys/fs/cgroup"))
        );
        // A mount of a subtree, at a path with a space.
        assert_eq!(
            Containment::decide(
                "100 90 0:40 /user.slice /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n",
                "0::/user.slice/user-1000.slice/app.scope\n",
                &always
            ),
            Containment::Cgroup(PathBuf::from("/mnt/my cg/user-1000.slice/app.scope"))
        );
    }

    #[test]
    fn elsewhere_the_subreaper_stays_and_says_why() {
        let why = |c: Containment| match c {
            Containment::Subreaper(why) => why,
            Containment::Cgroup(dir) => panic!("a cgroup: {}", dir.display()),
        };
        assert!(
            why(Containment::decide(HOST_MOUNTS, SERVICE, &never)).contains("not writable"),
            "not delegated"
        );
        assert!(
            why(Containment::decide(V1_MOUNTS, "4:memory:/x\n", &always)).contains("cgroup v1")
        );
        assert!(why(Containment::decide(V1_MOUNTS, SERVICE, &always)).contains("not mounted"));
        // A mount of another subtree does not hold this cgroup.
        assert!(
            why(Containment::decide(
                "100 90 0:40 /other /mnt rw - cgroup2 cgroup2 rw\n",
                "0::/otherwise/x\n",
                &always
            ))
            .contains("not mounted")
        );
    }

    /// A fake cgroup folder: its `cgroup.procs` listing `pids`, and `cgroup.kill` if asked.
    fn fake_cgroup(root: &Path, name: &str, pids: &[i32], with_kill: bool) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let listed: String = pids.iter().map(|p| format!("{p}\n")).collect();
        std::fs::write(dir.join("cgroup.procs"), listed).expect("write");
        if with_kill {
            std::fs::write(dir.join("cgroup.kill"), "").expect("write");
        }
        dir
    }

    #[test]
    fn without_cgroup_kill_every_pid_is_killed_until_none_is_left() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = fake_cgroup(root.path(), "step", &[10, 11], false);
        let mut killed = Vec::new();
        let procs = dir.join("cgroup.procs");
        let left = kill_cgroup(&dir, &mut |pid| {
            killed.push(pid);
            // 10 forks 12 as it dies; 11 dies; then 12.
            let now = std::fs::read_to_string(&procs).expect("read");
            let next = match now.as_str() {
                "10\n11\n" if pid == 11 => "12\n",
                "12\n" => "",
                other => other,
            };
            std::fs::write(&procs, next).expect("write");
        });
        assert_eq!(left, Vec::<i32>::new());
        assert_eq!(killed, vec![10, 11, 12]);
    }

    #[test]
    fn with_cgroup_kill_the_kernel_kills_them_all() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = fake_cgroup(root.path(), "step", &[], true);
        let mut signalled = 0;
        assert_eq!(
            kill_cgroup(&dir, &mut |_| signalled += 1),
            Vec::<i32>::new()
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("cgroup.kill")).expect("read"),
            "1"
        );
        assert_eq!(signalled, 0, "no pid signalled one by one");
    }

    #[test]
    fn a_child_is_born_in_its_cgroup_and_the_runner_leaves_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let parent = fake_cgroup(root.path(), "runner", &[], false);
        let step = StepCgroup::create(&parent).expect("created");
        assert!(
            step.dir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("coder-{}-", std::process::id())))
        );
        let mut child = step
            .spawn(&mut Command::new("true"))
            .expect("the child starts");
        let _ = child.wait();
        let me = format!("{}\n", std::process::id());
        // The runner entered the step's cgroup (before the fork) and went back.
        assert_eq!(
            std::fs::read_to_string(step.dir.join("cgroup.procs")).expect("read"),
            me
        );
        assert_eq!(
            std::fs::read_to_string(parent.join("cgroup.procs")).expect("read"),
            me
        );
    }

    #[test]
    fn cgroups_of_runners_that_died_are_removed() {
        let root = tempfile::tempdir().expect("tempdir");
        let parent = root.path();
        let dead = fake_cgroup(parent, "coder-4000001-1", &[], true);
        std::fs::remove_file(dead.join("cgroup.procs")).expect("rm");
        std::fs::remove_file(dead.join("cgroup.kill")).expect("rm");
        let living = fake_cgroup(parent, "coder-4000002-1", &[], false);
        let other = fake_cgroup(parent, "supervisor", &[], false);
        remove_stale(parent, &|pid| pid == 4_000_002);
        assert!(!dead.exists(), "the dead runner's cgroup is gone");
        assert!(living.exists() && other.exists());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape("/a\\040b\\011c\\\\"), "/a b\tc\\\\");
        assert_eq!(unescape("\\09"), "\\09");
    }
}
