//! `coder-step gate`: an approval, verified and recorded. Fails closed: a gate that cannot
//! prove a person approved refuses.
//!
//! GitHub: the job runs in an environment with required reviewers, and GitHub holds it until
//! one approves. An environment a workflow names that does not exist is created unprotected,
//! so the gate first checks that the environment really has reviewers, then finds the
//! approval in the run's review history. GitLab: the job is `when: manual` inside `rules`,
//! which blocks the pipeline until someone plays it; the player is the approver. Elsewhere: `coder approve RUN STEP` writes
//! `approvals/<step>.json` into the run directory, signed for this run, step, spec and patch
//! ([`super::approval`]); without it the run waits (exit 3), and a forged one fails the gate.

use serde_json::Value;

use super::env::{forge, non_empty_env};
use super::http::{self, Api};
use super::record::{ApprovalRecord, Current, RunRecord, Status, StepRecord};
use super::time::now;
use super::{Context, Failure};
use crate::ir::{Action, Job};
use crate::protocol::Forge;
use crate::target::github;

/// `coder-step gate`: verify the approval `step_id` needs, where the run is (GitHub, GitLab,
/// or here), and record it.
pub fn gate(cx: &Context, step_id: &str) -> Result<String, Failure> {
    let (job, step) = cx.find_step(step_id)?;
    let gated = job
        .approval
        .as_ref()
        .is_some_and(|approval| approval.step_id == step_id);
    if !gated {
        return Err(Failure::usage(format!(
            "step `{step_id}` needs no approval: only approve steps and steps the spec's gates select have one"
        )));
    }
    let mut run = cx.load_run()?;
    run.current = Some(Current {
        job: Some(job.id.clone()),
        step: Some(step_id.to_string()),
    });
    let started = now();
    let verdict = find_approval(cx, job, step_id);
    let (status, result) = judge(&mut run, step_id, verdict);
    // An approve step is a step of its own; a gated deploy or agent step is recorded when
    // `coder-step step` runs it.
    let is_approve_step = matches!(step.action, Action::Approve { .. });
    if is_approve_step || status != Status::Succeeded {
        let message = result.as_ref().err().map(|f| f.message.clone());
        run.steps
            .push(approve_step(job, step_id, status, started, message));
    }
    if let Some(current) = run.current.as_mut() {
        current.step = None;
    }
    run.save(&cx.run_dir)?;
    result
}

/// The approval, from wherever this run is: GitHub's environment reviews, the GitLab job's
/// player, or `coder approve` here.
fn find_approval(cx: &Context, job: &Job, step_id: &str) -> Result<ApprovalRecord, Failure> {
    match forge().map_err(Failure::failed)? {
        Some(Forge::Github) => {
            let environment = github::job_environment(&cx.workflow, job)
                .unwrap_or_else(|| github::approval_environment(&cx.workflow.workflow_id, step_id));
            let manifest = github::environments_path(&cx.workflow.workflow_id);
            github_approval(step_id, &environment, &manifest)
        }
        Some(Forge::Gitlab) => gitlab_approval(step_id),
        None => local_approval(cx, step_id),
    }
}

/// The gate's status and the run's after `verdict`: an approval lets the run go on, a missing
/// one holds it, anything else fails it.
fn judge(
    run: &mut RunRecord,
    step_id: &str,
    verdict: Result<ApprovalRecord, Failure>,
) -> (Status, Result<String, Failure>) {
    match verdict {
        Ok(approval) => {
            let text = format!(
                "step `{step_id}` approved by {} ({})",
                approval.approver, approval.source
            );
            run.approvals.push(approval);
            run.status = Status::Running;
            (Status::Succeeded, Ok(text))
        }
        Err(failure) => {
            let status = if failure.is_waiting() {
                Status::WaitingForApproval
            } else {
                Status::Failed
            };
            run.status = status;
            (status, Err(failure))
        }
    }
}

fn approve_step(
    job: &Job,
    step_id: &str,
    status: Status,
    started_at: String,
    message: Option<String>,
) -> StepRecord {
    StepRecord {
        step_id: step_id.to_string(),
        job: Some(job.id.clone()),
        kind: "approve".to_string(),
        status,
        started_at,
        finished_at: Some(now()),
        exit_code: None,
        log: None,
        changed_files: Vec::new(),
        message,
        usage: None,
        tests: None,
        output: None,
        sandbox: None,
    }
}

/// Here (a local or systemd run): the approval `coder approve` or the y/N prompt signed for
/// this run, step, spec and patch (see [`super::approval`]); none yet holds the run.
fn local_approval(cx: &Context, step_id: &str) -> Result<ApprovalRecord, Failure> {
    let run = cx.load_run()?;
    match super::approval::find(&cx.run_dir, &cx.checkout, &run, step_id)? {
        Some(approval) => Ok(ApprovalRecord {
            step_id: step_id.to_string(),
            approver: approval.approver,
            approved_at: approval.approved_at,
            comment: approval.comment,
            source: "local".to_string(),
        }),
        None => Err(Failure::waiting(format!(
            "waiting for approval of step `{step_id}`: run `coder approve {} {step_id}`",
            run.run_id
        ))),
    }
}

/// In a manual job, GitLab's `GITLAB_USER_*` variables describe who played that job (not who
/// started the pipeline), and `CI_JOB_MANUAL` says it was played. A gated job that started
/// by itself (its `rules` edited) is refused.
fn gitlab_approval(step_id: &str) -> Result<ApprovalRecord, Failure> {
    if non_empty_env("CI_JOB_MANUAL").as_deref() != Some("true") {
        return Err(Failure::failed(format!(
            "step `{step_id}` needs a person to play its manual job, but this job started by itself (CI_JOB_MANUAL is not `true`): the pipeline's `rules` must keep `when: manual`; run `coder compile`"
        )));
    }
    let approver = non_empty_env("GITLAB_USER_LOGIN").ok_or_else(|| {
        Failure::failed("GITLAB_USER_LOGIN is not set: who played the manual job is unknown")
    })?;
    Ok(ApprovalRecord {
        step_id: step_id.to_string(),
        approver,
        approved_at: now(),
        comment: None,
        source: "gitlab-manual".to_string(),
    })
}

fn github_approval(
    step_id: &str,
    environment: &str,
    manifest: &str,
) -> Result<ApprovalRecord, Failure> {
    let api = Api::from_env("GITHUB_TOKEN").map_err(Failure::failed)?;
    let (owner, repo) = http::repository().map_err(Failure::failed)?;
    let run_id = non_empty_env("GITHUB_RUN_ID")
        .ok_or_else(|| Failure::failed("GITHUB_RUN_ID is not set"))?;

    let path = format!(
        "/repos/{}/{}/environments/{}",
        http::encode(&owner),
        http::encode(&repo),
        http::encode(environment)
    );
    let reply = api.get(&path).map_err(Failure::failed)?;
    match reply.status {
        200 => {}
        404 => {
            return Err(Failure::failed(format!(
                "environment `{environment}` does not exist in {owner}/{repo}: create it with required reviewers"
            )));
        }
        status => {
            return Err(Failure::failed(format!(
                "cannot read environment `{environment}` (HTTP {status}{}); the approval cannot be verified",
                http::api_message(&reply.body)
            )));
        }
    }
    if !has_required_reviewers(&reply.body) {
        return Err(Failure::failed(format!(
            "environment `{environment}` has no required reviewers: GitHub created it unprotected; configure reviewers in the repository's Settings → Environments → {environment} (see {manifest})"
        )));
    }

    let path = format!(
        "/repos/{}/{}/actions/runs/{}/approvals",
        http::encode(&owner),
        http::encode(&repo),
        http::encode(&run_id)
    );
    let reply = api.get(&path).map_err(Failure::failed)?;
    if reply.status != 200 {
        return Err(Failure::failed(format!(
            "cannot read the approvals of run {run_id} (HTTP {}{})",
            reply.status,
            http::api_message(&reply.body)
        )));
    }
    let reviews = reply.body.as_array().cloned().unwrap_or_default();
    let for_environment = |review: &&Value| {
        review
            .get("environments")
            .and_then(Value::as_array)
            .is_some_and(|envs| {
                envs.iter()
                    .any(|e| e.get("name").and_then(Value::as_str) == Some(environment))
            })
    };
    // The API lists no approval time; the first entry of a state is taken as the latest.
    let relevant: Vec<&Value> = reviews.iter().filter(for_environment).collect();
    let Some(approved) = relevant.iter().find(|r| state(r) == "approved") else {
        let rejected = relevant.iter().any(|r| state(r) == "rejected");
        return Err(Failure::failed(if rejected {
            format!("the deployment to environment `{environment}` was rejected")
        } else {
            format!(
                "run {run_id} holds no approval for environment `{environment}`: nobody approved it"
            )
        }));
    };
    let approver = approved
        .get("user")
        .and_then(|u| u.get("login"))
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Failure::failed("the approval names no user"))?;
    Ok(ApprovalRecord {
        step_id: step_id.to_string(),
        approver: approver.to_string(),
        approved_at: now(),
        comment: approved
            .get("comment")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        source: "github-environment".to_string(),
    })
}

/// A `required_reviewers` protection rule with at least one reviewer (a rule without a
/// `reviewers` list is taken at its word).
fn state(review: &Value) -> &str {
    review.get("state").and_then(Value::as_str).unwrap_or("")
}

fn has_required_reviewers(environment: &Value) -> bool {
    environment
        .get("protection_rules")
        .and_then(Value::as_array)
        .is_some_and(|rules| {
            rules.iter().any(|rule| {
                rule.get("type").and_then(Value::as_str) == Some("required_reviewers")
                    && rule
                        .get("reviewers")
                        .and_then(Value::as_array)
                        .is_none_or(|r| !r.is_empty())
            })
        })
}
