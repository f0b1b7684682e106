//! Approvals of local and systemd runs that an agent cannot forge, and a run record it cannot
//! edit unseen.
//!
//! The agent runs as the same user as coder-step and its environment names the run directory,
//! so nothing in that directory is proof by being there. Each run started outside CI gets a
//! random key, kept outside the run directory in coder's data folder (`$XDG_DATA_HOME/coder/keys`,
//! else `~/.local/share/coder/keys`), which no variable of the agent's environment names (the
//! agent gets a private `HOME`). With it:
//!
//! - every write of `run.json` is sealed (`run.json.seal`: an HMAC-SHA256 of its bytes), and
//!   every read outside CI checks the seal: a record edited by anyone but coder-step (a job's
//!   status set to `succeeded`) is refused;
//! - an approval (`approvals/<step>.json`) is bound to the run id, the step, the spec's hash and
//!   the digest of the patch being approved, under an HMAC only `coder approve` and the y/N
//!   prompt can compute. An approval the agent wrote, one copied from another run, or one of a
//!   patch that changed since is refused (fail closed).
//!
//! In CI the approval comes from GitHub's environment reviews or GitLab's manual job (the
//! gate asks the CI, never the run directory), and jobs run on machines that share no key,
//! so nothing is sealed there.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::env::non_empty_env;
use super::record::RunRecord;
use super::time::now;
use super::{Failure, git, run_dir};

type HmacSha256 = Hmac<Sha256>;

/// Beside `run.json`: the HMAC of its bytes under the run's key.
pub const SEAL_FILE: &str = "run.json.seal";

/// Whether this process runs inside a CI job (where the CI, not a key, vouches for approvals).
pub fn in_ci() -> bool {
    // A forge named wrongly is still CI: never a place for local approvals.
    super::env::forge().map_or(true, |forge| forge.is_some())
}

/// Where run keys are kept: coder's data folder, never the run directory.
pub(crate) fn key_dir() -> Result<PathBuf, String> {
    if let Some(dir) = non_empty_env("XDG_DATA_HOME") {
        return Ok(PathBuf::from(dir).join("coder").join("keys"));
    }
    non_empty_env("HOME")
        .map(|home| Path::new(&home).join(".local/share/coder/keys"))
        .ok_or_else(|| "neither XDG_DATA_HOME nor HOME is set: no place for the run's key".into())
}

fn key_path(run_id: &str) -> Result<PathBuf, String> {
    Ok(key_dir()?.join(hex(&Sha256::digest(run_id.as_bytes()))))
}

fn load_key(run_id: &str) -> Result<Option<Vec<u8>>, String> {
    let path = key_path(run_id)?;
    match std::fs::read(&path) {
        Ok(key) if key.len() == 32 => Ok(Some(key)),
        Ok(_) => Err(format!("{} is not a run key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// A new random key for `run_id`, readable by this user only.
fn create_key(run_id: &str) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let path = key_path(run_id)?;
    let dir = key_dir()?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness for the run's key: {e}"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(&key)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key)
}

/// HMAC-SHA256 under `key` of `parts`, each length-prefixed so no two lists collide.
fn mac(key: &[u8], parts: &[&str]) -> Result<HmacSha256, String> {
    let mut mac = HmacSha256::new_from_slice(key).map_err(|e| format!("bad run key: {e}"))?;
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    Ok(mac)
}

fn verify(key: &[u8], parts: &[&str], tag_hex: &str) -> Result<bool, String> {
    let Some(tag) = unhex(tag_hex.trim()) else {
        return Ok(false);
    };
    Ok(mac(key, parts)?.verify_slice(&tag).is_ok())
}

fn tag(key: &[u8], parts: &[&str]) -> Result<String, String> {
    Ok(hex(&mac(key, parts)?.finalize().into_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The run id a record's bytes claim (the seal is checked under that run's key).
fn claimed_run_id(text: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Id {
        run_id: String,
    }
    serde_json::from_slice::<Id>(text)
        .map(|id| id.run_id)
        .map_err(|e| format!("not a run record: {e}"))
}

/// Seal the record just written as `text` (outside CI). `fresh`: this write creates the run,
/// which may create its key; any other write needs the key the run was created with.
pub fn seal_record(run_dir: &Path, text: &[u8], fresh: bool) -> Result<(), String> {
    if in_ci() {
        return Ok(());
    }
    let run_id = claimed_run_id(text)?;
    let key = match load_key(&run_id)? {
        Some(key) => key,
        None if fresh => create_key(&run_id)?,
        None => return Err(no_key(run_dir, &run_id)),
    };
    let seal = tag(&key, &["run.json", &String::from_utf8_lossy(text)])?;
    crate::fs::atomic_write(&run_dir.join(SEAL_FILE), format!("{seal}\n").as_bytes())
        .map_err(|e| e.to_string())
}

/// Check that `text`, read from `run_dir`'s `run.json`, is what coder-step last wrote there
/// (outside CI).
pub fn verify_record(run_dir: &Path, text: &[u8]) -> Result<(), String> {
    if in_ci() {
        return Ok(());
    }
    let file = run_dir.join(super::record::RUN_FILE);
    let run_id = claimed_run_id(text).map_err(|e| format!("{}: {e}", file.display()))?;
    let key = load_key(&run_id)?.ok_or_else(|| no_key(run_dir, &run_id))?;
    let seal = std::fs::read_to_string(run_dir.join(SEAL_FILE)).unwrap_or_default();
    if verify(&key, &["run.json", &String::from_utf8_lossy(text)], &seal)? {
        Ok(())
    } else {
        Err(format!(
            "{} was changed outside coder-step (its seal does not match): the run is refused; start a new run",
            file.display()
        ))
    }
}

fn no_key(run_dir: &Path, run_id: &str) -> String {
    format!(
        "run {run_id} in {} has no key on this machine (it was started elsewhere, by an older coder, or its record was replaced): the run is refused; start a new run",
        run_dir.display()
    )
}

/// What an approver approves: the run's changes against its base, now.
pub struct Pending {
    /// `sha256:<hex>` of the patch from the run's base to the working tree.
    pub patch_digest: String,
    /// `git diff --stat` of that patch.
    pub diffstat: String,
}

impl Pending {
    pub fn compute(run_dir: &Path, checkout: &Path, run: &RunRecord) -> Result<Pending, Failure> {
        let tree = super::ignore::worktree_tree(run_dir, checkout, &run.base.sha, &[])
            .map_err(Failure::failed)?;
        // The run's changes: from what the checkout held when the run started (a dirty tree
        // the user let it start from is not the run's).
        let from = run_dir::changes_from(run_dir, &run.base.sha);
        let patch = git::patch(checkout, &from, &tree).map_err(Failure::failed)?;
        let diffstat = git::diffstat(checkout, &from, &tree).map_err(Failure::failed)?;
        Ok(Pending {
            patch_digest: format!("sha256:{}", hex(&Sha256::digest(&patch))),
            diffstat: if diffstat.trim().is_empty() {
                "no changes against the base".to_string()
            } else {
                diffstat
            },
        })
    }

    /// The lines shown to whoever approves.
    pub fn describe(&self) -> String {
        format!("{}\npatch {}", self.diffstat.trim_end(), self.patch_digest)
    }
}

/// `approvals/<step>.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Approval {
    pub run_id: String,
    pub step_id: String,
    pub source_hash: String,
    pub patch_digest: String,
    pub approver: String,
    pub approved_at: String,
    pub comment: Option<String>,
    /// HMAC-SHA256 of the fields above under the run's key.
    pub mac: String,
}

impl Approval {
    fn signed_parts(&self) -> [&str; 8] {
        [
            "approval",
            &self.run_id,
            &self.step_id,
            &self.source_hash,
            &self.patch_digest,
            &self.approver,
            &self.approved_at,
            self.comment.as_deref().unwrap_or(""),
        ]
    }
}

fn approval_file(run_dir: &Path, step_id: &str) -> PathBuf {
    run_dir.join(run_dir::approval(step_id))
}

/// Record `approver`'s approval of `step_id` for the patch `pending` describes.
pub fn write(
    run_dir: &Path,
    run: &RunRecord,
    step_id: &str,
    approver: &str,
    pending: &Pending,
) -> Result<(), Failure> {
    let key =
        load_key(&run.run_id)?.ok_or_else(|| Failure::failed(no_key(run_dir, &run.run_id)))?;
    let mut approval = Approval {
        run_id: run.run_id.clone(),
        step_id: step_id.to_string(),
        source_hash: run.source_hash.clone(),
        patch_digest: pending.patch_digest.clone(),
        approver: approver.to_string(),
        approved_at: now(),
        comment: None,
        mac: String::new(),
    };
    approval.mac = tag(&key, &approval.signed_parts())?;
    let mut text = serde_json::to_string_pretty(&approval)
        .map_err(|e| Failure::usage(format!("cannot serialize the approval: {e}")))?;
    text.push('\n');
    crate::fs::atomic_write(&approval_file(run_dir, step_id), text.as_bytes())?;
    Ok(())
}

/// The approval of `step_id` in `run_dir`, checked against `run` and the patch now:
/// `Ok(None)` when there is none, an error when there is one coder did not write for this
/// run, this step, this spec and this patch.
pub fn find(
    run_dir: &Path,
    checkout: &Path,
    run: &RunRecord,
    step_id: &str,
) -> Result<Option<Approval>, Failure> {
    let path = approval_file(run_dir, step_id);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let refuse = |why: &str| {
        Failure::failed(format!(
            "{} is not an approval `coder approve` wrote for this run ({why}): refused",
            path.display()
        ))
    };
    let approval: Approval = serde_json::from_str(&text).map_err(|e| refuse(&e.to_string()))?;
    let key =
        load_key(&run.run_id)?.ok_or_else(|| Failure::failed(no_key(run_dir, &run.run_id)))?;
    if !verify(&key, &approval.signed_parts(), &approval.mac)? {
        return Err(refuse("its signature does not match"));
    }
    if approval.run_id != run.run_id {
        return Err(refuse(&format!("it approves run {}", approval.run_id)));
    }
    if approval.step_id != step_id {
        return Err(refuse(&format!("it approves step `{}`", approval.step_id)));
    }
    if approval.source_hash != run.source_hash {
        return Err(refuse("it approves another version of the spec"));
    }
    if approval.approver.trim().is_empty() {
        return Err(refuse("it names no approver"));
    }
    let now = Pending::compute(run_dir, checkout, run)?;
    if approval.patch_digest != now.patch_digest {
        return Err(refuse(&format!(
            "it approves patch {}, but the run's patch is now {}",
            approval.patch_digest, now.patch_digest
        )));
    }
    Ok(Some(approval))
}
