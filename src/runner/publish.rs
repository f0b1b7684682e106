//! `coder-step publish`: the run's patch becomes branch `coder/<workflow_id>` (one per
//! workflow, force-pushed by each run) and one pull request (GitHub) or merge request (GitLab),
//! opened or updated; a run that a pull or merge request started comments on it instead.
//!
//! The generated job names its forge (`CODER_FORGE`). On GitHub the pull request goes through
//! the REST API with `GH_TOKEN`. On GitLab the push itself carries `merge_request.*` push
//! options, which open the merge request or update the open one, with the token from the
//! CI/CD variable `[gitlab] token-variable` names; the run's summary becomes its description
//! and review notes go through the REST API. The commit's author is the forge's no-reply
//! address.
//!
//! The token reaches git as an `http.extraheader` set through git's `GIT_CONFIG_*`
//! environment (the same as `git -c`, without putting it in any argument list or URL).
//! `CODER_PUBLISH_REMOTE` replaces the push URL (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git`,
//! `$CI_SERVER_URL/$CI_PROJECT_PATH.git`), for tests and mirrors.

use serde_json::{Value, json};

use super::env::{forge, non_empty_env};
use super::http::{self, Api};
use super::record::RunRecord;
use super::run_dir::PATCH_FILE;
use super::{Context, Failure, git};
use crate::ir::Action;
use crate::protocol::{Forge, env};

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
    // The generated file says which forge this is (`CODER_FORGE`); never guessed from a
    // variable the job may lack.
    let on_gitlab = forge().map_err(Failure::failed)? == Some(Forge::Gitlab);
    if on_gitlab {
        if let Some(iid) = merge_request_iid()? {
            let url = note_on_merge_request(cx, &iid)?;
            run.artifacts.pr_url = Some(url.clone()).filter(|u| !u.is_empty());
            run.save(&cx.run_dir)?;
            return Ok(format!("commented on merge request !{iid}: {url}"));
        }
    } else if non_empty_env("GITHUB_EVENT_NAME").as_deref() == Some("pull_request") {
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
    if on_gitlab {
        return publish_merge_request(cx, &mut run, &patch_path);
    }
    let token = non_empty_env(TOKEN_VAR).ok_or_else(|| {
        Failure::failed(format!("{TOKEN_VAR} is not set: publishing needs a token"))
    })?;
    let api = Api::from_env(TOKEN_VAR).map_err(Failure::failed)?;
    let (owner, repo) = http::repository().map_err(Failure::failed)?;
    let branch = branch(&cx.workflow.workflow_id);

    let title = format!("coder: {}", cx.workflow.name);
    let commit = commit_patch(
        cx,
        &run.base.sha,
        &patch_path,
        &title,
        &run.run_id,
        Forge::Github,
    )?;
    let remote = match non_empty_env(env::PUBLISH_REMOTE) {
        Some(remote) => remote,
        None => {
            let server = non_empty_env("GITHUB_SERVER_URL")
                .unwrap_or_else(|| "https://github.com".to_string());
            let repository = non_empty_env("GITHUB_REPOSITORY")
                .ok_or_else(|| Failure::failed("GITHUB_REPOSITORY is not set"))?;
            format!("{}/{repository}.git", server.trim_end_matches('/'))
        }
    };
    push(
        cx,
        &Push {
            remote: &remote,
            commit: &commit,
            branch: &branch,
            login: "x-access-token",
            token: &token,
            options: &[],
        },
    )?;

    let body = change_body(cx, &run);
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

/// The description of the pull or merge request: the run's summary (tests, reviews, release
/// notes, each step's output), then where it came from. Redacted.
fn change_body(cx: &Context, run: &RunRecord) -> String {
    cx.redactor.redact(&format!(
        "{}\n\n---\nRun `{}` of workflow `{}` (spec `{}`), from `{}` at {}.\n",
        std::fs::read_to_string(cx.run_dir.join(super::bundle::SUMMARY_FILE))
            .unwrap_or_default()
            .trim(),
        run.run_id,
        cx.workflow.workflow_id,
        run.spec,
        run.base.git_ref,
        run.base.sha
    ))
}

/// Who authors the published commit: a no-reply address of the forge it is pushed to (GitHub's
/// users' no-reply domain; on GitLab the instance's own `noreply.<host>`, as its bots use).
fn commit_author(forge: Forge) -> String {
    match forge {
        Forge::Github => "coder-step@users.noreply.github.com".to_string(),
        Forge::Gitlab => {
            let host = non_empty_env("CI_SERVER_HOST")
                .filter(|h| {
                    h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                })
                .unwrap_or_else(|| "gitlab.com".to_string());
            format!("coder-step@noreply.{host}")
        }
    }
}

/// A commit of base + patch, built in a temporary index (the checkout is not touched).
fn commit_patch(
    cx: &Context,
    base: &str,
    patch: &std::path::Path,
    title: &str,
    run_id: &str,
    forge: Forge,
) -> Result<String, Failure> {
    let author = commit_author(forge);
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
            .env("GIT_AUTHOR_EMAIL", &author)
            .env("GIT_COMMITTER_NAME", "coder")
            .env("GIT_COMMITTER_EMAIL", &author)
            .args(["commit-tree", &tree, "-p", base, "-m", &message]);
        let sha = git::output(&mut commit, "commit the patch")?;
        Ok(String::from_utf8_lossy(&sha).trim().to_string())
    })();
    let _ = std::fs::remove_file(&index);
    result.map_err(Failure::failed)
}

/// What to push where, and as whom.
struct Push<'a> {
    remote: &'a str,
    commit: &'a str,
    branch: &'a str,
    /// The user name of HTTP basic authentication; the token is the password.
    login: &'a str,
    token: &'a str,
    /// `git push -o` options, single lines each.
    options: &'a [String],
}

/// Force-push `commit` to the branch; what the remote said (GitLab names the merge request
/// there).
fn push(cx: &Context, push: &Push) -> Result<String, Failure> {
    let header = format!(
        "AUTHORIZATION: basic {}",
        base64(format!("{}:{}", push.login, push.token).as_bytes())
    );
    let mut cmd = git::command(&cx.checkout);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "http.extraheader")
        .env("GIT_CONFIG_VALUE_0", header)
        .args(["push", "--force", "--porcelain"]);
    for option in push.options {
        cmd.arg(format!("--push-option={option}"));
    }
    cmd.arg(push.remote)
        .arg(format!("{}:refs/heads/{}", push.commit, push.branch));
    let what = format!("push branch {}", push.branch);
    let out = cmd
        .output()
        .map_err(|e| Failure::failed(format!("cannot run git to {what}: {e}")))?;
    let said = cx
        .redactor
        .redact(&String::from_utf8_lossy(&out.stderr))
        .replace(push.token, "***");
    if out.status.success() {
        Ok(said)
    } else {
        Err(Failure::failed(format!(
            "git could not {what}: {}",
            said.trim()
        )))
    }
}

/// The merge request of a merge request pipeline, if this is one.
fn merge_request_iid() -> Result<Option<String>, Failure> {
    if non_empty_env("CI_PIPELINE_SOURCE").as_deref() != Some("merge_request_event") {
        return Ok(None);
    }
    let iid = non_empty_env("CI_MERGE_REQUEST_IID").ok_or_else(|| {
        Failure::failed("CI_MERGE_REQUEST_IID is not set in a merge request pipeline")
    })?;
    // It goes into an API path.
    if !iid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::failed(format!(
            "CI_MERGE_REQUEST_IID `{}` is not a number",
            iid.escape_default()
        )));
    }
    Ok(Some(iid))
}

/// The GitLab publish token, from the CI/CD variable the configuration names.
fn gitlab_token(cx: &Context) -> Result<String, Failure> {
    let name = cx.config.gitlab.token_variable();
    non_empty_env(name).ok_or_else(|| {
        Failure::failed(format!(
            "the CI/CD variable {name} is not set: publishing to GitLab needs a project access token (role Developer, scopes write_repository and api) in it, since CI_JOB_TOKEN cannot push; `[gitlab] token-variable` names another variable"
        ))
    })
}

/// A push option value: one line (a line break would end the option).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Push the run's commit to `coder/<workflow_id>` with push options that open its merge
/// request against the run's base, or update the one already open.
fn publish_merge_request(
    cx: &Context,
    run: &mut RunRecord,
    patch_path: &std::path::Path,
) -> Result<String, Failure> {
    let token = gitlab_token(cx)?;
    let remote = match non_empty_env(env::PUBLISH_REMOTE) {
        Some(remote) => remote,
        None => {
            let server = non_empty_env("CI_SERVER_URL")
                .ok_or_else(|| Failure::failed("CI_SERVER_URL is not set"))?;
            let project = non_empty_env("CI_PROJECT_PATH")
                .ok_or_else(|| Failure::failed("CI_PROJECT_PATH is not set"))?;
            format!("{}/{project}.git", server.trim_end_matches('/'))
        }
    };
    let branch = branch(&cx.workflow.workflow_id);
    let title = format!("coder: {}", cx.workflow.name);
    let commit = commit_patch(
        cx,
        &run.base.sha,
        patch_path,
        &title,
        &run.run_id,
        Forge::Gitlab,
    )?;
    let description = format!(
        "Run {} of workflow {} (spec {}), from {} at {}.",
        run.run_id, cx.workflow.workflow_id, run.spec, run.base.git_ref, run.base.sha
    );
    let options = [
        "merge_request.create".to_string(),
        format!("merge_request.target={}", one_line(&run.base.git_ref)),
        format!(
            "merge_request.title={}",
            one_line(&cx.redactor.redact(&title))
        ),
        format!("merge_request.description={}", one_line(&description)),
    ];
    let said = push(
        cx,
        &Push {
            remote: &remote,
            commit: &commit,
            branch: &branch,
            // GitLab takes any user name with an access token as the password.
            login: "coder-step",
            token: &token,
            options: &options,
        },
    )?;
    // GitLab answers a push to a merge request's branch with the merge request's address.
    let url = said
        .split_whitespace()
        .find(|word| word.starts_with("http") && word.contains("/-/merge_requests/"))
        .map(str::to_string);
    run.artifacts.pr_url = url.clone();
    run.save(&cx.run_dir)?;
    // A push option is one line: the run's summary goes into the description through the API.
    let described = describe_merge_request(cx, &token, url.as_deref(), &branch, run)
        .map_err(|why| {
            Failure::failed(format!(
                "pushed {branch}, but cannot put the run's summary in its merge request's description: {why}"
            ))
        })?;
    if run.artifacts.pr_url.is_none() {
        run.artifacts.pr_url = described.clone();
        run.save(&cx.run_dir)?;
    }
    Ok(match run.artifacts.pr_url.as_deref() {
        Some(url) => format!("pushed {branch}; its merge request: {url}"),
        None => format!("pushed {branch} with merge request push options"),
    })
}

/// Put the run's summary into the description of the merge request of `branch`: the one
/// GitLab named after the push (`url`), else the open one the API finds. Returns its address
/// when the API names it.
fn describe_merge_request(
    cx: &Context,
    token: &str,
    url: Option<&str>,
    branch: &str,
    run: &RunRecord,
) -> Result<Option<String>, String> {
    let project = non_empty_env("CI_PROJECT_ID").ok_or("CI_PROJECT_ID is not set")?;
    let api = Api::gitlab(token.to_string())?;
    let merge_requests = format!("/projects/{}/merge_requests", http::encode(&project));
    let named = url
        .and_then(|u| u.rsplit("/-/merge_requests/").next())
        .map(|iid| iid.trim_end_matches('/').to_string())
        .filter(|iid| !iid.is_empty() && iid.bytes().all(|b| b.is_ascii_digit()));
    let (iid, web_url) = match named {
        Some(iid) => (iid, None),
        None => {
            let reply = api.get(&format!(
                "{merge_requests}?state=opened&source_branch={}",
                http::encode(branch)
            ))?;
            if reply.status != 200 {
                return Err(format!(
                    "cannot list merge requests (HTTP {}{})",
                    reply.status,
                    http::api_message(&reply.body)
                ));
            }
            let first = reply.body.as_array().and_then(|mrs| mrs.first()).cloned();
            let iid = first
                .as_ref()
                .and_then(|mr| mr.get("iid"))
                .and_then(Value::as_u64)
                .ok_or(format!("GitLab has no open merge request from {branch}"))?;
            let web_url = first
                .as_ref()
                .and_then(|mr| mr.get("web_url"))
                .and_then(Value::as_str)
                .map(str::to_string);
            (iid.to_string(), web_url)
        }
    };
    let reply = api.send(
        "PUT",
        &format!("{merge_requests}/{iid}"),
        &json!({ "description": change_body(cx, run) }),
    )?;
    if (200..300).contains(&reply.status) {
        Ok(web_url)
    } else {
        Err(format!(
            "HTTP {}{}",
            reply.status,
            http::api_message(&reply.body)
        ))
    }
}

/// The review of a merge request pipeline as a note on the merge request.
fn note_on_merge_request(cx: &Context, iid: &str) -> Result<String, Failure> {
    let token = gitlab_token(cx)?;
    let project = non_empty_env("CI_PROJECT_ID")
        .ok_or_else(|| Failure::failed("CI_PROJECT_ID is not set"))?;
    let api = Api::gitlab(token).map_err(Failure::failed)?;
    let reply = api
        .send(
            "POST",
            &format!(
                "/projects/{}/merge_requests/{iid}/notes",
                http::encode(&project)
            ),
            &json!({"body": cx.redactor.redact(&review_body(cx))}),
        )
        .map_err(Failure::failed)?;
    if !(200..300).contains(&reply.status) {
        return Err(Failure::failed(format!(
            "cannot add a note to merge request !{iid} (HTTP {}{})",
            reply.status,
            http::api_message(&reply.body)
        )));
    }
    let note = reply.body.get("id").and_then(Value::as_u64);
    let project_url =
        non_empty_env("CI_MERGE_REQUEST_PROJECT_URL").or_else(|| non_empty_env("CI_PROJECT_URL"));
    Ok(match (project_url, note) {
        (Some(project_url), Some(note)) => format!(
            "{}/-/merge_requests/{iid}#note_{note}",
            project_url.trim_end_matches('/')
        ),
        _ => String::new(),
    })
}

/// The review of a pull-request run as a comment on that pull request: what the read-only
/// steps (reviewers, architects) wrote to their output files, else the run's summary.
fn comment_on_pull_request(cx: &Context) -> Result<String, Failure> {
    let event_path = non_empty_env("GITHUB_EVENT_PATH")
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
    let body = review_body(cx);
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

/// What read-only steps (reviewers, architects) wrote to their output files, else the run's
/// summary.
fn review_body(cx: &Context) -> String {
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
            let text = std::fs::read_to_string(cx.step_output_file(&s.step_id)).ok()?;
            Some(text.trim().to_string()).filter(|t| !t.is_empty())
        })
        .collect();
    if reviews.is_empty() {
        std::fs::read_to_string(cx.run_dir.join(super::bundle::SUMMARY_FILE))
            .unwrap_or_else(|_| format!("coder: {} ran.", cx.workflow.name))
    } else {
        reviews.join("\n\n---\n\n")
    }
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
