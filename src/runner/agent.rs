//! The generic command adapter: the agent is a program named by an argument-vector template,
//! each argument substituted on its own (never through a shell), the prompt on stdin and in a
//! file, and an environment that holds only what the step may see.

use std::path::Path;

use crate::model::Role;

use super::env::non_empty_env;
use super::record::RunRecord;
use super::{Context, Failure};
use crate::protocol::env;

const PROMPT_TEMPLATE: &str = include_str!("../../templates/runner/prompt.md");

fn charter(role: Role) -> &'static str {
    match role {
        Role::Architect => include_str!("../../templates/runner/charters/architect.md"),
        Role::Implementer => include_str!("../../templates/runner/charters/implementer.md"),
        Role::Tester => include_str!("../../templates/runner/charters/tester.md"),
        Role::Reviewer => include_str!("../../templates/runner/charters/reviewer.md"),
        Role::ReleaseEngineer => {
            include_str!("../../templates/runner/charters/release_engineer.md")
        }
    }
}

/// The variables of the environment every agent starts from, when ours has them.
const PASSED_THROUGH: [&str; 4] = ["PATH", "HOME", "LANG", "TMPDIR"];

/// What one agent step is about.
pub struct AgentStep<'a> {
    pub step_id: &'a str,
    pub role: Role,
    pub goal: &'a str,
    pub seconds_left: u64,
    pub read_only: bool,
    /// The run's credits left, and what a credit is worth in US dollars.
    pub remaining_credits: f64,
    pub credit_usd: f64,
}

/// The values placeholders and `CODER_*` variables take for a step.
struct Values {
    pairs: Vec<(&'static str, &'static str, String)>,
}

impl Values {
    fn new(cx: &Context, step: &AgentStep, prompt_file: &Path, output_file: &Path) -> Values {
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let remaining = step.remaining_credits.max(0.0);
        Values {
            pairs: vec![
                (
                    "remaining_credits",
                    env::BUDGET_REMAINING_CREDITS,
                    format!("{remaining:.2}"),
                ),
                (
                    "max_budget_usd",
                    env::BUDGET_REMAINING_USD,
                    format!("{:.2}", remaining * step.credit_usd),
                ),
                (
                    "usage_file",
                    env::USAGE_FILE,
                    path(&usage_file(cx, step.step_id)),
                ),
                (
                    "model",
                    env::AGENT_MODEL,
                    cx.config.agent.model.clone().unwrap_or_default(),
                ),
                ("goal", env::STEP_GOAL, step.goal.to_string()),
                ("role", env::STEP_ROLE, step.role.as_str().to_string()),
                ("step_id", env::STEP_ID, step.step_id.to_string()),
                (
                    "workflow_id",
                    env::WORKFLOW_ID,
                    cx.workflow.workflow_id.clone(),
                ),
                ("prompt_file", env::PROMPT_FILE, path(prompt_file)),
                ("run_dir", env::RUN_DIR, path(&cx.run_dir)),
                ("output_file", env::STEP_OUTPUT, path(output_file)),
            ],
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(placeholder, _, _)| *placeholder == name)
            .map(|(_, _, value)| value.as_str())
    }
}

/// `template` with each `{name}` that `lookup` knows replaced, in one pass: a value that
/// itself contains `{role}` stays as written.
pub fn substitute<'v>(template: &str, lookup: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            lookup(name).map(|value| (value, close))
        }) {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where an agent may report its usage (`$CODER_USAGE_FILE`, see [`super::usage`]).
pub fn usage_file(cx: &Context, step_id: &str) -> std::path::PathBuf {
    cx.run_dir.join("usage").join(format!("{step_id}.jsonl"))
}

/// A command line given for this run (`coder run --agent`, `$CODER_AGENT`): it replaces the
/// configured agent, preset or command.
fn agent_override(cx: &Context) -> Option<String> {
    cx.agent_override
        .clone()
        .or_else(|| non_empty_env(env::AGENT))
}

/// The agent's argument vector template: `coder run --agent` or `$CODER_AGENT` (a command
/// line, split like a shell would), else config `[agent] command`.
fn command_template(cx: &Context) -> Result<Vec<String>, Failure> {
    if let Some(line) = agent_override(cx) {
        return shlex::split(&line)
            .filter(|argv| !argv.is_empty())
            .ok_or_else(|| Failure::usage("CODER_AGENT is not a command line (check its quotes)"));
    }
    match &cx.config.agent.command {
        Some(argv) if !argv.is_empty() => Ok(argv.clone()),
        _ => Err(Failure::failed(format!(
            "no agent is configured: add `[agent]` with `command = [\"program\", \"--flag\", \"{{goal}}\"]` to `{}` (or set CODER_AGENT)",
            crate::workspace::config::CONFIG_FILE
        ))),
    }
}

/// Everything needed to start the agent: argv, environment, prompt.
pub struct Prepared {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub prompt: String,
    /// Whether the prompt goes to stdin.
    pub prompt_on_stdin: bool,
    /// How its stdout is read for usage and its verdict.
    pub format: super::usage::OutputFormat,
}

/// The agent's command line, prompt and environment; `run` is the record so far (what failed
/// before this step goes into the prompt).
pub fn prepare(cx: &Context, step: &AgentStep, run: &RunRecord) -> Result<Prepared, Failure> {
    let preset = match (agent_override(cx), cx.config.agent.preset) {
        (None, Some(preset)) => {
            if cx.config.agent.command.is_some() {
                return Err(Failure::failed(format!(
                    "`[agent]` sets both `preset` and `command` in `{}`: keep one",
                    crate::workspace::config::CONFIG_FILE
                )));
            }
            Some(preset)
        }
        _ => None,
    };
    let template = match preset {
        Some(_) => Vec::new(),
        None => command_template(cx)?,
    };
    let prompt_file = cx
        .run_dir
        .join("prompts")
        .join(format!("{}.md", step.step_id));
    let output_file = cx.step_output_file(step.step_id);
    let values = Values::new(cx, step, &prompt_file, &output_file);
    let agent_dir = cx.run_dir.join("agents").join(step.step_id);
    let preset_launch = preset.map(|preset| {
        super::presets::launch(
            preset,
            &super::presets::PresetRequest {
                config: &cx.config.agent,
                read_only: step.read_only,
                charter: charter(step.role).trim_end(),
                checkout: &cx.checkout,
                prompt_file: &prompt_file,
                agent_dir: &agent_dir,
                remaining_usd: step.remaining_credits.max(0.0) * step.credit_usd,
                blocked_paths: &cx.workflow.policies.blocked_paths,
                base_url: super::presets::base_url_vars(preset)
                    .iter()
                    .find_map(|name| non_empty_env(name)),
                in_coder_sandbox: super::sandbox::will_enforce(&cx.config.sandbox),
            },
        )
    });
    let (program, args) = match &preset_launch {
        Some(launch) => (launch.program.clone(), launch.args.clone()),
        None => {
            let mut argv = template
                .iter()
                .map(|arg| substitute(arg, |name| values.get(name)));
            let program = argv
                .next()
                .ok_or_else(|| Failure::failed("the agent command is empty"))?;
            (program, argv.collect())
        }
    };

    let policies = &cx.workflow.policies;
    let list = |paths: &[String]| {
        if paths.is_empty() {
            "none".to_string()
        } else {
            paths.join(", ")
        }
    };
    let seconds_left = step.seconds_left.to_string();
    let allowed = if policies.allowed_paths.is_empty() {
        "the whole repository".to_string()
    } else {
        list(&policies.allowed_paths)
    };
    let blocked = list(&policies.blocked_paths);
    let change = change_section(cx)?;
    let failures = super::handover::failures_section(cx, run, step.step_id);
    let prompt = substitute(PROMPT_TEMPLATE, |name| match name {
        "change" => Some(change.as_str()),
        "failures" => Some(failures.as_str()),
        "charter" => Some(charter(step.role).trim_end()),
        "seconds_left" => Some(seconds_left.as_str()),
        "allowed_paths" => Some(allowed.as_str()),
        "blocked_paths" => Some(blocked.as_str()),
        other => values.get(other),
    });
    crate::fs::atomic_write(&prompt_file, prompt.as_bytes())?;
    let usage_dir = usage_file(cx, step.step_id);
    for dir in [
        output_file.parent(),
        usage_dir.parent(),
        Some(agent_dir.as_path()),
    ]
    .into_iter()
    .flatten()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }

    let mut env: Vec<(String, String)> = PASSED_THROUGH
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect();
    env.extend(
        values
            .pairs
            .iter()
            .map(|(_, var, value)| (var.to_string(), value.clone())),
    );
    // Exactly the secrets this step receives, and only those CI (or systemd) gave it.
    let (received, withheld) = secrets_for(cx, step.step_id);
    env.extend(
        received
            .iter()
            .filter_map(|name| Some((name.clone(), secret_value(name)?))),
    );
    // The model credential: to agent steps only (and redacted, see `Context::new`). An agent
    // given for this run replaces the configured one: its key is passed when set, never
    // demanded.
    if let Some(name) = credential_name(&cx.config.agent) {
        match std::env::var(&name) {
            Ok(value) if !value.is_empty() => {
                // Also under the name the preset's CLI reads it from.
                if let Some(launch) = &preset_launch
                    && launch.credential_env != name
                {
                    env.push((launch.credential_env.to_string(), value.clone()));
                }
                env.push((name, value));
            }
            _ if cx.config.agent.credential.is_some() && agent_override(cx).is_none() => {
                return Err(Failure::failed(format!(
                    "the agent's credential `{name}` (config `[agent] credential`) is not set in coder-step's environment"
                )));
            }
            _ => {}
        }
    }
    env.extend(
        cx.config
            .agent
            .pass_env
            .iter()
            .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?))),
    );
    // A secret another step claims never reaches this one, whatever passed it along.
    env.retain(|(name, _)| !withheld.contains(name));
    let (prompt_on_stdin, format) = match preset_launch {
        Some(launch) => {
            for dir in &launch.dirs {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            for (path, text) in &launch.files {
                crate::fs::atomic_write(path, text.as_bytes())?;
            }
            // The preset's variables (its private HOME) replace those passed through.
            for (name, value) in launch.env {
                env.retain(|(n, _)| *n != name);
                env.push((name, value));
            }
            (launch.prompt_on_stdin, launch.format)
        }
        None => (true, super::usage::OutputFormat::Text),
    };
    Ok(Prepared {
        program,
        args,
        env,
        prompt,
        prompt_on_stdin,
        format,
    })
}

/// What a step's final message is made of, in the order it is looked for.
pub struct FinalMessage {
    /// What the agent CLI reported as its result (a preset's parsed output).
    pub reported: Option<String>,
    /// What it printed on stdout (the command adapter's answer when it wrote no file).
    pub printed: String,
    /// Whether a preset ran (its result comes first), or the command adapter (its file does).
    pub preset: bool,
}

/// Keep the step's final message as its output, `outputs/<step>.md` (what `$CODER_STEP_OUTPUT`
/// names): a preset's result as the CLI reported it; the command adapter's file when it wrote
/// one, else its stdout. Redacted. Returns the run-dir-relative path, or `None` when the agent
/// said nothing.
pub fn keep_final_message(
    cx: &Context,
    step_id: &str,
    message: FinalMessage,
) -> Result<Option<String>, Failure> {
    let file = cx.step_output_file(step_id);
    let written = std::fs::read_to_string(&file)
        .ok()
        .filter(|text| !text.trim().is_empty());
    let reported = message.reported.filter(|text| !text.trim().is_empty());
    let printed = Some(message.printed).filter(|text| !text.trim().is_empty());
    let text = if message.preset {
        reported.or(written).or(printed)
    } else {
        written.or(printed)
    };
    let Some(text) = text else {
        return Ok(None);
    };
    let mut text = cx.redactor.redact(text.trim());
    text.push('\n');
    crate::fs::atomic_write(&file, text.as_bytes())?;
    Ok(Some(
        super::run_dir::step_output(step_id)
            .to_string_lossy()
            .into_owned(),
    ))
}

/// Where the diff of the change under review is kept, in the run directory.
pub const CHANGE_DIFF: &str = "change.diff";

/// A diff this size or smaller goes into the prompt itself (an agent in a read-only mode may
/// not be allowed to read files outside the checkout).
const INLINE_DIFF_LIMIT: usize = 64 * 1024;

/// The pull or merge request a run was started for, as its CI describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeUnderReview {
    /// `#5` on GitHub, `!5` on GitLab.
    pub reference: String,
    pub url: Option<String>,
    pub base_ref: String,
    pub base_sha: String,
    pub head_ref: String,
    pub head_sha: String,
}

impl ChangeUnderReview {
    /// The change of this run: GitHub's pull-request event payload, or GitLab's merge-request
    /// pipeline variables; `None` for any other run.
    pub fn from_ci() -> Option<ChangeUnderReview> {
        let event = non_empty_env("GITHUB_EVENT_NAME").unwrap_or_default();
        if event.starts_with("pull_request") {
            let payload: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(non_empty_env("GITHUB_EVENT_PATH")?).ok()?,
            )
            .ok()?;
            let pr = payload.get("pull_request")?;
            let text = |v: &serde_json::Value, a: &str, b: &str| {
                v.get(a)
                    .and_then(|v| v.get(b))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            return Some(ChangeUnderReview {
                reference: format!("#{}", pr.get("number")?.as_u64()?),
                url: pr
                    .get("html_url")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string),
                base_ref: text(pr, "base", "ref"),
                base_sha: text(pr, "base", "sha"),
                head_ref: text(pr, "head", "ref"),
                head_sha: text(pr, "head", "sha"),
            });
        }
        let iid = non_empty_env("CI_MERGE_REQUEST_IID")?;
        let var = |name: &str| non_empty_env(name).unwrap_or_default();
        Some(ChangeUnderReview {
            url: non_empty_env("CI_MERGE_REQUEST_PROJECT_URL")
                .map(|project| format!("{}/-/merge_requests/{iid}", project.trim_end_matches('/'))),
            reference: format!("!{iid}"),
            base_ref: var("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
            base_sha: non_empty_env("CI_MERGE_REQUEST_DIFF_BASE_SHA")
                .unwrap_or_else(|| var("CI_MERGE_REQUEST_TARGET_BRANCH_SHA")),
            head_ref: var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
            // In a merged-results pipeline `CI_COMMIT_SHA` is GitLab's temporary merge
            // commit; the source branch's own head is this one (set only there).
            head_sha: non_empty_env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
                .unwrap_or_else(|| var("CI_COMMIT_SHA")),
        })
    }
}

/// The prompt's section on the change under review: which it is, and its diff (written to
/// `change.diff` in the run directory, and inline when small). Empty outside such runs.
fn change_section(cx: &Context) -> Result<String, Failure> {
    let Some(change) = ChangeUnderReview::from_ci() else {
        return Ok(String::new());
    };
    let mut out = format!(
        "\n## The change under review\n\n{} {}: `{}` ({}) into `{}` ({}).{}\n",
        if change.reference.starts_with('!') {
            "Merge request"
        } else {
            "Pull request"
        },
        change.reference,
        change.head_ref,
        change.head_sha,
        change.base_ref,
        change.base_sha,
        change
            .url
            .as_deref()
            .map(|url| format!(" {url}"))
            .unwrap_or_default(),
    );
    // GitHub checks a pull request out as its merge commit: against its first parent (the
    // base as merged into) it is exactly the change, however far the base has moved on.
    let merge_parents = super::git::parents(&cx.checkout, "HEAD");
    let diff = if let [base, head] = merge_parents.as_slice()
        && !change.head_sha.is_empty()
        && *head == change.head_sha
    {
        super::git::diff(&cx.checkout, base, "HEAD")
    } else if change.base_sha.is_empty() {
        Err("the CI named no base commit".to_string())
    } else {
        let head = if change.head_sha.is_empty() {
            "HEAD"
        } else {
            change.head_sha.as_str()
        };
        super::git::diff(&cx.checkout, &change.base_sha, head)
    };
    match diff {
        Ok(diff) => {
            let diff = cx.redactor.redact(&String::from_utf8_lossy(&diff));
            let path = cx.run_dir.join(CHANGE_DIFF);
            crate::fs::atomic_write(&path, diff.as_bytes())?;
            out.push_str(&format!("\nIts diff is in `{}`", path.display()));
            if diff.len() <= INLINE_DIFF_LIMIT {
                out.push_str(":\n\n````diff\n");
                out.push_str(diff.trim_end());
                out.push_str("\n````\n");
            } else {
                out.push_str(&format!(" ({} bytes).\n", diff.len()));
            }
        }
        Err(_) => out.push_str(&format!(
            "\nThis checkout lacks the base commit: fetch it (`git fetch --depth=1 origin {}`), then read `git diff {}...HEAD`.\n",
            change.base_sha, change.base_sha
        )),
    }
    Ok(out)
}

/// The variable holding the model key: `[agent] credential`, else the preset's usual one.
pub fn credential_name(config: &crate::workspace::config::AgentConfig) -> Option<String> {
    config.credential.clone().or_else(|| {
        config
            .preset
            .map(|p| super::presets::default_credential(p).to_string())
    })
}

/// The workflow's secrets for one step: those it receives (what lowering decided: those it
/// lists, and for agent and deploy steps those no step lists), and the others, which it must
/// not see even when the CI's environment holds them.
pub fn secrets_for(cx: &Context, step_id: &str) -> (Vec<String>, Vec<String>) {
    let received = cx
        .workflow
        .jobs
        .iter()
        .flat_map(|job| &job.steps)
        .find(|step| step.step_id == step_id)
        .map(|step| step.secrets.clone())
        .unwrap_or_default();
    let withheld = cx
        .workflow
        .policies
        .secrets
        .iter()
        .filter(|name| !received.contains(name))
        .cloned()
        .collect();
    (received, withheld)
}

/// The environment of a command or deploy step: coder-step's own, less the workflow's secrets
/// the step does not receive, plus those it does (a systemd credential becomes a variable
/// here).
pub fn step_env(cx: &Context, step_id: &str) -> Vec<(String, String)> {
    let (received, withheld) = secrets_for(cx, step_id);
    std::env::vars()
        .filter(|(name, _)| !withheld.contains(name) && !received.contains(name))
        .chain(
            received
                .iter()
                .filter_map(|name| Some((name.clone(), secret_value(name)?))),
        )
        .collect()
}

/// An allowed secret's value: from the environment (CI), else from the credential systemd
/// loaded for the service (`LoadCredential=NAME:…` puts it in `$CREDENTIALS_DIRECTORY/NAME`).
/// A credential file's final line break is not part of the secret.
pub fn secret_value(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return Some(value);
    }
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    // Secret names are environment-variable names, checked by `coder check`: never a path.
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let value = std::fs::read_to_string(Path::new(&dir).join(name)).ok()?;
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value);
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::substitute;

    #[test]
    fn secrets_come_from_systemd_credentials_when_not_in_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("CODER_TEST_CREDENTIAL_ONLY"), "s3cret\n").expect("write");
        // Setting variables is unsafe in this edition: a child test process gets them instead.
        let value = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "runner::agent::tests::print_credential",
                "--nocapture",
            ])
            .env("CREDENTIALS_DIRECTORY", dir.path())
            .env_remove("CODER_TEST_CREDENTIAL_ONLY")
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&value.stdout);
        assert!(stdout.contains("credential=[s3cret]"), "{stdout}");
    }

    /// Run by the test above in a child process with `CREDENTIALS_DIRECTORY` set.
    #[test]
    fn print_credential() {
        if std::env::var_os("CREDENTIALS_DIRECTORY").is_some() {
            println!(
                "credential=[{}]",
                super::secret_value("CODER_TEST_CREDENTIAL_ONLY").unwrap_or_default()
            );
            assert_eq!(super::secret_value("../etc/passwd"), None);
        }
    }

    #[test]
    fn substitutes_once_and_keeps_unknown_braces() {
        let lookup = |name: &str| match name {
            "goal" => Some("fix {role} and {x"),
            "role" => Some("implementer"),
            _ => None,
        };
        assert_eq!(
            substitute("--goal={goal} {role} {unknown} {", lookup),
            "--goal=fix {role} and {x implementer {unknown} {"
        );
    }
}
