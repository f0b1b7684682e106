//! `run.json`: the record of one run, kept in the run directory and carried between CI jobs.
//!
//! # Schema (`"schema_version": 1`)
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "run_id":       "<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>" in CI, else "<workflow_id>-<UTC time>-<pid>",
//!   "workflow_id":  "…",
//!   "spec":         repo-relative spec path,
//!   "source_hash":  "sha256:<hex>" of the spec's bytes,
//!   "started_at":   RFC 3339 UTC, "updated_at": RFC 3339 UTC,
//!   "base":         {"ref": branch or ref the run started from, "sha": full commit sha},
//!   "status":       "running" | "succeeded" | "failed" | "waiting_for_approval"
//!                   | "budget_exceeded" | "timed_out" | "interrupted" (its runner ended
//!                   while a step ran: found by whoever reads the record next),
//!   "runner":       {"pid", "started" (clock ticks after boot), "boot" (boot id)} of the
//!                   process running it, while "running" (absent otherwise),
//!   "current":      {"job": id or null, "step": id or null} while a job runs, else null,
//!   "jobs":  [{"id", "started_at", "finished_at" (null while running),
//!              "status": "running" | "succeeded" | "failed" | "timed_out" | "budget_exceeded"
//!                        | "waiting_for_approval"}],
//!   "steps": [{"step_id", "job", "kind": "agent" | "command" | "deploy" | "approve",
//!              "status": "running" | "succeeded" | "failed" | "timed_out" | "budget_exceeded"
//!                        | "waiting_for_approval" | "skipped" (its `if_failed` step did not fail),
//!              "started_at", "finished_at" (null while running), "exit_code" (null: none,
//!              e.g. killed), "log": run-dir-relative log path or null,
//!              "changed_files": files this step changed, "message": why it failed, or null}],
//!   "approvals": [{"step_id", "approver", "approved_at", "comment" (or null),
//!                  "source": "github-environment" | "local"}],
//!   "changed_files": every file the run changed against the base, sorted,
//!   "violations": [{"step_id" (or null), "kind": "read_only_changed" | "secret_in_patch"
//!                   | "blocked_path" | "outside_allowed_paths" | "symlink_outside_repository"
//!                   | "submodule_added" | "agent_commit" | "git_metadata_changed",
//!                   "message", "paths": the offending paths (commits for agent_commit),
//!                   "evidence": run-dir-relative file or folder (redacted) or null}],
//!   "artifacts": {"patch", "log_bundle", "summary", "release_notes" (when a release engineer
//!                 ran): run-dir-relative paths or null,
//!                 "deploy_url", "pr_url": URLs or null},
//!   "credits":  {"used", "limit": credits, "unit_usd": US dollars per credit,
//!                "estimated": true when any part came from an agent's own cost or was
//!                unpriced} or null before the first agent step,
//!   "checkout": absolute path of the repository a local run (`coder run`, `coder-step run`)
//!               works in, so `coder approve` can resume it; null in CI,
//!   "test_report": {"passed", "failed", "skipped"} counted from the JUnit files
//!               `[report] junit` names (copied to `reports/junit/<job>/`), else summed from
//!               the command steps' test summaries (cargo test, nextest, pytest, go test), or null
//! }
//! ```
//!
//! An agent step's entry also has `"usage"`: `{"models": [{"model", "input_tokens",
//! "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd" (as the agent
//! reported it, or null)}], "credits", "estimated", "unpriced_models": [...]}` (null for other
//! steps); a command step whose output held a test summary has `"tests": {"passed", "failed",
//! "skipped"}`; an agent step that said something has `"output"`: its final message (a preset's
//! result, else what the agent wrote to `$CODER_STEP_OUTPUT`, else its stdout), run-dir-relative
//! (`outputs/<step>.md`). Fields added after version 1 first shipped (`paths`, `evidence`, `credits`,
//! `checkout`, `usage`, `test_report`) may be missing from older records; readers take them as empty.
//!
//! A step that appears twice (a retried job) keeps both entries; the last one counts.
//! Every write replaces the file atomically, so a runner killed at any point leaves a readable
//! record whose `current` says where it stopped.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::time::now;

pub const SCHEMA_VERSION: u32 = 1;
pub const RUN_FILE: &str = "run.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub run_id: String,
    pub workflow_id: String,
    pub spec: String,
    pub source_hash: String,
    pub started_at: String,
    pub updated_at: String,
    pub base: Base,
    pub status: Status,
    pub current: Option<Current>,
    pub jobs: Vec<JobRecord>,
    pub steps: Vec<StepRecord>,
    pub approvals: Vec<ApprovalRecord>,
    pub changed_files: Vec<String>,
    pub violations: Vec<Violation>,
    pub artifacts: Artifacts,
    #[serde(default)]
    pub credits: Option<Credits>,
    #[serde(default)]
    pub checkout: Option<String>,
    /// Test counts of the JUnit reports `[report] junit` names, across the run's jobs.
    #[serde(default)]
    pub test_report: Option<super::test_report::TestCounts>,
    /// The process running the run while its status is `running`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<super::process::Runner>,
}

/// The run's credits, as the ledger has them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Credits {
    pub used: f64,
    pub limit: f64,
    pub unit_usd: f64,
    pub estimated: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Base {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
}

/// The status of a run, a job or a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    WaitingForApproval,
    BudgetExceeded,
    TimedOut,
    /// Its runner ended while a step ran (killed, or killed by the step).
    Interrupted,
    /// A step whose condition did not hold (`if_failed` named a step that did not fail).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::WaitingForApproval => "waiting_for_approval",
            Status::BudgetExceeded => "budget_exceeded",
            Status::TimedOut => "timed_out",
            Status::Interrupted => "interrupted",
            Status::Skipped => "skipped",
        }
    }

    /// A step or job that ended badly.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::BudgetExceeded | Status::TimedOut | Status::Interrupted
        )
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Current {
    pub job: Option<String>,
    pub step: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: Status,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepRecord {
    pub step_id: String,
    pub job: Option<String>,
    pub kind: String,
    pub status: Status,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub exit_code: Option<i32>,
    pub log: Option<String>,
    #[serde(default)]
    pub changed_files: Vec<String>,
    pub message: Option<String>,
    #[serde(default)]
    pub usage: Option<super::usage::StepUsage>,
    /// A command step's test counts, from the summary its test runner printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<super::test_report::TestCounts>,
    /// An agent step's final message, run-dir-relative (`outputs/<step>.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// How an agent step was sandboxed (enforced, disabled, unavailable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<super::sandbox::SandboxRecord>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub step_id: String,
    pub approver: String,
    pub approved_at: String,
    pub comment: Option<String>,
    pub source: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Violation {
    pub step_id: Option<String>,
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub evidence: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Artifacts {
    pub patch: Option<String>,
    pub deploy_url: Option<String>,
    pub pr_url: Option<String>,
    pub log_bundle: Option<String>,
    pub summary: Option<String>,
    /// The release engineer's notes, when the workflow has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_notes: Option<String>,
}

impl RunRecord {
    /// Read `run.json` from `run_dir`; `Ok(None)` when there is none yet.
    pub fn load(run_dir: &Path) -> Result<Option<RunRecord>, String> {
        let path = run_dir.join(RUN_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        // Outside CI, a record coder-step did not write is refused (see `approval`).
        super::approval::verify_record(run_dir, text.as_bytes())?;
        let mut record: RunRecord = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a run record: {e}", path.display()))?;
        if record.schema_version != SCHEMA_VERSION {
            return Err(format!(
                "{} has schema version {}, this coder-step reads version {SCHEMA_VERSION}",
                path.display(),
                record.schema_version
            ));
        }
        if record.runner_died() {
            // Never left `running`: said so in the file, for whoever reads it next.
            record.status = Status::Interrupted;
            let _ = record.save(run_dir);
        }
        Ok(Some(record))
    }

    /// Read `run.json` without verifying its seal: for bookkeeping only (which runs a folder
    /// holds, which to prune), never for a decision a gate or a step depends on.
    pub fn peek(run_dir: &Path) -> Option<RunRecord> {
        let text = std::fs::read_to_string(run_dir.join(RUN_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// A step was running and the process running it is gone.
    fn runner_died(&self) -> bool {
        self.status == Status::Running
            && self.current.as_ref().is_some_and(|c| c.step.is_some())
            && self.runner.as_ref().is_some_and(|r| !r.is_running())
    }

    /// Write `run.json` atomically, stamping `updated_at`.
    pub fn save(&mut self, run_dir: &Path) -> Result<(), String> {
        self.updated_at = now();
        self.runner = if self.status == Status::Running {
            super::process::Runner::this()
        } else {
            None
        };
        let mut json = super::Redactor::current()
            .to_json(self)
            .map_err(|e| format!("cannot serialize the run record: {e}"))?;
        json.push('\n');
        let fresh = !run_dir.join(RUN_FILE).exists();
        crate::fs::atomic_write(&run_dir.join(RUN_FILE), json.as_bytes())?;
        super::approval::seal_record(run_dir, json.as_bytes(), fresh)
    }

    /// The last record of `step_id`.
    pub fn step(&self, step_id: &str) -> Option<&StepRecord> {
        self.steps.iter().rev().find(|s| s.step_id == step_id)
    }

    /// The status of a step's last record (a retried job's second try counts).
    pub fn step_status(&self, step_id: &str) -> Option<Status> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.step_id == step_id)
            .map(|s| s.status)
    }

    /// Each step's last record (a retried job's second try counts), in the order they were
    /// last recorded.
    pub fn latest_steps(&self) -> Vec<&StepRecord> {
        let mut seen = std::collections::HashSet::new();
        let mut latest: Vec<&StepRecord> = self
            .steps
            .iter()
            .rev()
            .filter(|s| seen.insert(s.step_id.as_str()))
            .collect();
        latest.reverse();
        latest
    }

    /// Whether some step's last record is a failure: a run that went on past a step that
    /// continues on failure still ends failed.
    pub fn has_failed_step(&self) -> bool {
        self.latest_steps().iter().any(|s| s.status.is_failure())
    }

    pub fn step_mut(&mut self, step_id: &str) -> Option<&mut StepRecord> {
        self.steps.iter_mut().rev().find(|s| s.step_id == step_id)
    }

    pub fn job_mut(&mut self, job_id: &str) -> Option<&mut JobRecord> {
        self.jobs.iter_mut().rev().find(|j| j.id == job_id)
    }
}
