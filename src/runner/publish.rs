//! `coder-step publish`: the run's patch becomes branch `coder/<workflow_id>` (one per
//! workflow, force-pushed by each run) and one pull request, opened or updated; a run that a
//! pull request started comments on that pull request instead.
//!
//! The token (`GH_TOKEN`) reaches git as an `http.extraheader` set through git's
//! `GIT_CONFIG_*` environment (the same as `git -c`, without putting it in any argument list
//! or URL). `CODER_PUBLISH_REMOTE` replaces the push URL
//! (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git`), for tests and mirrors.

use serde_json::{Value, json};

use super::http::{self, Api};
use super::jobs::PATCH_FILE;
use super::{Context, Failure, git};
use crate::ir::Action;

const TOKEN_VAR: &str = "GH_TOKEN";

/// The last line of defence: a patch that changes a path the policy refuses, or holds a
/// secret's value, is never pushed, whatever the run record says.
fn refuse_violating_patch(cx: &Context, patch_path: &std::path::Path) -> Result<(), Failure> {
    let policy = super::paths::PathPolicy::new(&cx.workflow.policies);
    let refused: Vec<String> = super::paths::patch_paths(&cx.checkout, patch_path)
        .map_err(Failure::failed)?
        .into_iter()
        .filter_map(|path| policy.refusal(&path).map(|why| format!("{path} ({why})")))
        .collect();
    if !refused.is_empty() {
        return Err(Failure::failed(format!(
            "the run's patch changes paths the policy refuses: {}; nothing is published",
            refused.join(", ")
        )));
    }
    let bytes = std::fs::read(patch_path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", patch_path.display())))?;
    let leaked = cx.redactor.found_in(&bytes);
    if !leaked.is_empty() {
        return Err(Failure::failed(format!(
            "the run's patch contains the value of secret {}; nothing is published",
            leaked.join(", ")
        )));
    }
    Ok(())
}

pub fn branch(workflow_id: &str) -> String {
    format!("coder/{workflow_id}")
}

pub fn publish(cx: &Context) -> Result<String, Failure> {
    let mut run = cx.load_run()?;
    if !run.violations.is_empty() {
        return Err(Failure::failed(format!(
            "run {} has {} policy violation(s): nothing is published",
            run.run_id,
            run.violations.len()
        )));
    }
    if run.status.is_failure() {
        return Err(Failure::failed(format!(
            "run {} {}: nothing is published",
            run.run_id,
            run.status.as_str()
        )));
    }
    if super::non_empty_env("GITHUB_EVENT_NAME").as_deref() == Some("pull_request") {
        let url = comment_on_pull_request(cx)?;
        run.artifacts.pr_url = Some(url.clone());
        run.save(&cx.run_dir)?;
        return Ok(format!("commented on the pull request: {url}"));
    }
    let patch_path = cx.run_dir.join(PATCH_FILE);
    let has_patch = std::fs::metadata(&patch_path).is_ok_and(|m| m.len() > 0);
    if !has_patch {
        return Ok("nothing to publish: the run changed no files".to_string());
    }
    refuse_violating_patch(cx, &patch_path)?;
    let token = super::non_empty_env(TOKEN_VAR).ok_or_else(|| {
        Failure::failed(format!("{TOKEN_VAR} is not set: publishing needs a token"))
    })?;
    let api = Api::from_env(TOKEN_VAR).map_err(Failure::failed)?;
    let (owner, repo) = http::repository().map_err(Failure::failed)?;
    let branch = branch(&cx.workflow.workflow_id);

    let title = format!("coder: {}", cx.workflow.name);
    let commit = commit_patch(cx, &run.base.sha, &patch_path, &title, &run.run_id)?;
    push(cx, &commit, &branch, &token)?;

    let body = cx.redactor.redact(&format!(
        "{}\n\n---\nRun `{}` of workflow `{}` (spec `{}`), from `{}` at {}.\n",
        std::fs::read_to_string(cx.run_dir.join(super::bundle::SUMMARY_FILE))
            .unwrap_or_default()
            .trim(),
        run.run_id,
        cx.workflow.workflow_id,
        run.spec,
        run.base.git_ref,
        run.base.sha
    ));
    let pulls = format!(
        "/repos/{}/{}/pulls",
        http::encode(&owner),
        http::encode(&repo)
    );
    let query = format!(
        "{pulls}?head={}&state=open",
        http::encode(&format!("{owner}:{branch}"))
    );
    let existing = api.get(&query).map_err(Failure::failed)?;
    if existing.status != 200 {
        return Err(Failure::failed(format!(
            "cannot list pull requests (HTTP {}{})",
            existing.status,
            http::api_message(&existing.body)
        )));
    }
    let number = existing
        .body
        .as_array()
        .and_then(|prs| prs.first())
        .and_then(|pr| pr.get("number"))
        .and_then(Value::as_u64);
    let (reply, verb) = match number {
        Some(number) => (
            api.send(
                "PATCH",
                &format!("{pulls}/{number}"),
                &json!({"title": title, "body": body}),
            ),
            "updated",
        ),
        None => (
            api.send(
                "POST",
                &pulls,
                &json!({"head": branch, "base": run.base.git_ref, "title": title, "body": body}),
            ),
            "opened",
        ),
    };
    let reply = reply.map_err(Failure::failed)?;
    if !(200..300).contains(&reply.status) {
        return Err(Failure::failed(format!(
            "cannot {} the pull request (HTTP {}{})",
            if verb == "opened" { "open" } else { "update" },
            reply.status,
            http::api_message(&reply.body)
        )));
    }
    let url = reply
        .body
        .get("html_url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    run.artifacts.pr_url = Some(url.clone()).filter(|u| !u.is_empty());
    run.save(&cx.run_dir)?;
    Ok(format!("pushed {branch} and {verb} the pull request {url}"))
}

/// A commit of base + patch, built in a temporary index (the checkout is not touched).
fn commit_patch(
    cx: &Context,
    base: &str,
    patch: &std::path::Path,
    title: &str,
    run_id: &str,
) -> Result<String, Failure> {
    let scratch = cx.run_dir.join("tmp");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let index = scratch.join(format!("publish-index.{}", std::process::id()));
    let with_index = |args: &[&str]| {
        let mut cmd = git::command(&cx.checkout);
        cmd.env("GIT_INDEX_FILE", &index).args(args);
        cmd
    };
    let message = format!(
        "{title}\n\nRun {run_id} of workflow {} (spec {}).\n",
        cx.workflow.workflow_id, cx.workflow.source
    );
    let result = (|| -> Result<String, String> {
        git::output(&mut with_index(&["read-tree", base]), "read the base tree")?;
        let mut apply = with_index(&["apply", "--cached", "--binary", "--whitespace=nowarn"]);
        apply.arg(patch);
        git::output(&mut apply, "apply the run's patch to the base")?;
        let tree = git::output(&mut with_index(&["write-tree"]), "write the patched tree")?;
        let tree = String::from_utf8_lossy(&tree).trim().to_string();
        let mut commit = git::command(&cx.checkout);
        commit
            .env("GIT_AUTHOR_NAME", "coder")
            .env("GIT_AUTHOR_EMAIL", "coder-step@users.noreply.github.com")
            .env("GIT_COMMITTER_NAME", "coder")
            .env("GIT_COMMITTER_EMAIL", "coder-step@users.noreply.github.com")
            .args(["commit-tree", &tree, "-p", base, "-m", &message]);
        let sha = git::output(&mut commit, "commit the patch")?;
        Ok(String::from_utf8_lossy(&sha).trim().to_string())
    })();
    let _ = std::fs::remove_file(&index);
    result.map_err(Failure::failed)
}

fn push(cx: &Context, commit: &str, branch: &str, token: &str) -> Result<(), Failure> {
    let remote = match super::non_empty_env("CODER_PUBLISH_REMOTE") {
        Some(remote) => remote,
        None => {
            let server = super::non_empty_env("GITHUB_SERVER_URL")
                .unwrap_or_else(|| "https://github.com".to_string());
            let repository = super::non_empty_env("GITHUB_REPOSITORY")
                .ok_or_else(|| Failure::failed("GITHUB_REPOSITORY is not set"))?;
            format!("{}/{repository}.git", server.trim_end_matches('/'))
        }
    };
    let header = format!(
        "AUTHORIZATION: basic {}",
        base64(format!("x-access-token:{token}").as_bytes())
    );
    let mut cmd = git::command(&cx.checkout);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "http.extraheader")
        .env("GIT_CONFIG_VALUE_0", header)
        .args(["push", "--force", "--quiet", &remote])
        .arg(format!("{commit}:refs/heads/{branch}"));
    git::output(&mut cmd, &format!("push branch {branch}"))
        .map(|_| ())
        .map_err(|e| Failure::failed(cx.redactor.redact(&e)))
}

/// The review of a pull-request run as a comment on that pull request: what the read-only
/// steps (reviewers, architects) wrote to their output files, else the run's summary.
fn comment_on_pull_request(cx: &Context) -> Result<String, Failure> {
    let event_path = super::non_empty_env("GITHUB_EVENT_PATH")
        .ok_or_else(|| Failure::failed("GITHUB_EVENT_PATH is not set"))?;
    let event: Value = std::fs::read_to_string(&event_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| Failure::failed(format!("cannot read the event payload {event_path}")))?;
    let number = event
        .get("pull_request")
        .and_then(|pr| pr.get("number"))
        .or_else(|| event.get("number"))
        .and_then(Value::as_u64)
        .ok_or_else(|| Failure::failed("the event names no pull request number"))?;
    let reviews: Vec<String> = cx
        .workflow
        .jobs
        .iter()
        .flat_map(|j| &j.steps)
        .filter(|s| {
            matches!(
                s.action,
                Action::Agent {
                    read_only: true,
                    ..
                }
            )
        })
        .filter_map(|s| {
            let text = std::fs::read_to_string(
                cx.run_dir.join("outputs").join(format!("{}.md", s.step_id)),
            )
            .ok()?;
            Some(text.trim().to_string()).filter(|t| !t.is_empty())
        })
        .collect();
    let body = if reviews.is_empty() {
        std::fs::read_to_string(cx.run_dir.join(super::bundle::SUMMARY_FILE))
            .unwrap_or_else(|_| format!("coder: {} ran.", cx.workflow.name))
    } else {
        reviews.join("\n\n---\n\n")
    };
    let api = Api::from_env(TOKEN_VAR).map_err(Failure::failed)?;
    let (owner, repo) = http::repository().map_err(Failure::failed)?;
    let reply = api
        .send(
            "POST",
            &format!(
                "/repos/{}/{}/issues/{number}/comments",
                http::encode(&owner),
                http::encode(&repo)
            ),
            &json!({"body": cx.redactor.redact(&body)}),
        )
        .map_err(Failure::failed)?;
    if !(200..300).contains(&reply.status) {
        return Err(Failure::failed(format!(
            "cannot comment on pull request #{number} (HTTP {}{})",
            reply.status,
            http::api_message(&reply.body)
        )));
    }
    Ok(reply
        .body
        .get("html_url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
