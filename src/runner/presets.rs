//! Presets: real agent CLIs driven with their own headless flags (`[agent] preset = "claude"`,
//! `"codex"`, `"aider"`, `"gemini"`), each told the remaining budget through its native caps
//! where it has one, read-only roles in its read-only mode, and its output parsed for usage
//! (reference: agents.md §2–4 and §8).

use std::path::{Path, PathBuf};

use super::usage::OutputFormat;
use crate::workspace::config::{AgentConfig, AgentPreset};

/// What a preset needs to know about the step.
pub struct PresetRequest<'a> {
    pub config: &'a AgentConfig,
    pub read_only: bool,
    /// The role's charter, for the CLI's appended system prompt.
    pub charter: &'a str,
    pub checkout: &'a Path,
    pub prompt_file: &'a Path,
    /// A private folder for the agent's home and its chat files, in the run directory.
    pub agent_dir: &'a Path,
    /// The run's remaining budget in US dollars.
    pub remaining_usd: f64,
    /// Blocked path patterns, for the CLI's own deny rules (defence in depth: the path policy
    /// checks git afterwards regardless).
    pub blocked_paths: &'a [String],
}

/// The preset's launch: argv, the variables it adds, how to feed and read it.
pub struct PresetLaunch {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The prompt goes to stdin (else stdin is empty).
    pub prompt_on_stdin: bool,
    pub format: OutputFormat,
    /// Files to write before the start (the agent's settings in its private home).
    pub files: Vec<(PathBuf, String)>,
}

/// The credential variable a preset reads when config names none.
pub fn default_credential(preset: AgentPreset) -> &'static str {
    match preset {
        AgentPreset::Claude => "ANTHROPIC_API_KEY",
        AgentPreset::Codex | AgentPreset::Aider => "OPENAI_API_KEY",
        AgentPreset::Gemini => "GEMINI_API_KEY",
    }
}

pub fn launch(preset: AgentPreset, req: &PresetRequest) -> PresetLaunch {
    let config = req.config;
    let program = config
        .program
        .clone()
        .unwrap_or_else(|| preset.as_str().to_string());
    let home = req.agent_dir.join("home");
    let mut env = vec![
        ("HOME".to_string(), home.to_string_lossy().into_owned()),
        ("TERM".to_string(), "dumb".to_string()),
    ];
    let mut args: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    let model = config.model.as_deref();
    match preset {
        AgentPreset::Claude => {
            push(&[
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--no-session-persistence",
                "--strict-mcp-config",
                "--setting-sources",
                "user",
                "--permission-mode",
                if req.read_only { "plan" } else { "acceptEdits" },
            ]);
            if let Some(model) = model {
                push(&["--model", model]);
            }
            if let Some(turns) = config.max_turns {
                push(&["--max-turns", &turns.to_string()]);
            }
            push(&["--max-budget-usd", &usd(req.remaining_usd)]);
            let mut denied = vec!["WebFetch".to_string(), "WebSearch".to_string()];
            // Relative globs: a leading `/` would be relative to the settings file.
            let blocked = req
                .blocked_paths
                .iter()
                .map(String::as_str)
                .chain(super::paths::DEFAULT_BLOCKED_PATHS.iter().copied());
            denied.extend(blocked.map(|p| format!("Edit({})", claude_glob(p))));
            push(&["--disallowedTools", &denied.join(",")]);
            push(&["--append-system-prompt", req.charter]);
            env.extend(
                [
                    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
                    ("DISABLE_AUTOUPDATER", "1"),
                    ("CLAUDE_CODE_MAX_RETRIES", "2"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: true,
                format: OutputFormat::Claude,
                files: Vec::new(),
            }
        }
        AgentPreset::Codex => {
            let checkout = req.checkout.to_string_lossy().into_owned();
            push(&[
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--ephemeral",
                "--ignore-user-config",
                "-C",
                &checkout,
                "--sandbox",
                if req.read_only {
                    "read-only"
                } else {
                    "workspace-write"
                },
                "-c",
                "approval_policy=\"never\"",
                "-c",
                "web_search=\"disabled\"",
                "-c",
                "sandbox_workspace_write.exclude_slash_tmp=true",
                "-c",
                "sandbox_workspace_write.exclude_tmpdir_env_var=true",
                // The model key and secrets stay out of the commands the model runs.
                "-c",
                "shell_environment_policy.inherit=core",
                "-c",
                "shell_environment_policy.include_only=[\"PATH\",\"HOME\"]",
            ]);
            if let Some(model) = model {
                push(&["-m", model]);
            }
            push(&["-"]);
            // Not a temp dir: Codex's sandbox fails with CODEX_HOME under one.
            env.push((
                "CODEX_HOME".to_string(),
                home.join(".codex").to_string_lossy().into_owned(),
            ));
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: true,
                format: OutputFormat::Codex,
                files: Vec::new(),
            }
        }
        AgentPreset::Aider => {
            let prompt = req.prompt_file.to_string_lossy().into_owned();
            let chat = req.agent_dir.join("aider.chat.history.md");
            let input = req.agent_dir.join("aider.input.history");
            push(&[
                "--message-file",
                &prompt,
                "--yes-always",
                "--no-auto-commits",
                "--no-check-update",
                "--analytics-disable",
                "--no-show-model-warnings",
                "--no-pretty",
                "--no-stream",
                "--chat-history-file",
                &chat.to_string_lossy(),
                "--input-history-file",
                &input.to_string_lossy(),
            ]);
            if req.read_only {
                // aider has no read-only mode; a dry run edits nothing.
                push(&["--dry-run"]);
            }
            if let Some(model) = model {
                push(&["--model", model]);
            }
            env.push((
                "LITELLM_LOCAL_MODEL_COST_MAP".to_string(),
                "True".to_string(),
            ));
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: false,
                format: OutputFormat::Aider,
                files: Vec::new(),
            }
        }
        AgentPreset::Gemini => {
            push(&[
                "--output-format",
                "json",
                "--approval-mode",
                if req.read_only { "plan" } else { "auto_edit" },
            ]);
            // Pinned: "auto" routing adds a classifier call.
            if let Some(model) = model {
                push(&["-m", model]);
            }
            push(&["-p", "Do the task described in the input above."]);
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: true,
                format: OutputFormat::Gemini,
                files: vec![(
                    home.join(".gemini/settings.json"),
                    r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#.to_string(),
                )],
            }
        }
    }
}

/// Dollars for `--max-budget-usd`: never negative, cents rounded down.
fn usd(amount: f64) -> String {
    format!("{:.2}", (amount.max(0.0) * 100.0).floor() / 100.0)
}

/// A path pattern as a Claude Code permission glob: `src/` → `src/**`.
fn claude_glob(pattern: &str) -> String {
    let trimmed = pattern.trim_start_matches("./");
    if let Some(dir) = trimmed.strip_suffix('/') {
        format!("{dir}/**")
    } else if trimmed.contains(['*', '?', '[', '{']) {
        trimmed.to_string()
    } else {
        // A literal may be a file or a folder: both.
        format!("{trimmed}{{,/**}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(config: &'a AgentConfig, read_only: bool) -> PresetRequest<'a> {
        PresetRequest {
            config,
            read_only,
            charter: "You are the implementer.",
            checkout: Path::new("/repo"),
            prompt_file: Path::new("/run/prompts/s1.md"),
            agent_dir: Path::new("/run/agents/s1"),
            remaining_usd: 1.2345,
            blocked_paths: &[],
        }
    }

    #[test]
    fn claude_argv_carries_budget_mode_and_charter() {
        let config = AgentConfig {
            model: Some("claude-sonnet-4-5".to_string()),
            max_turns: Some(8),
            ..AgentConfig::default()
        };
        let l = launch(AgentPreset::Claude, &request(&config, false));
        assert_eq!(l.program, "claude");
        let argv = l.args.join(" ");
        assert!(
            argv.starts_with("-p --output-format stream-json --verbose"),
            "{argv}"
        );
        assert!(argv.contains("--permission-mode acceptEdits"), "{argv}");
        assert!(argv.contains("--max-budget-usd 1.23"), "{argv}");
        assert!(argv.contains("--max-turns 8"), "{argv}");
        assert!(argv.contains("--model claude-sonnet-4-5"), "{argv}");
        assert!(argv.contains("Edit(.github/workflows/**)"), "{argv}");
        assert!(argv.contains("--append-system-prompt You are the implementer."));
        let ro = launch(AgentPreset::Claude, &request(&config, true));
        assert!(ro.args.join(" ").contains("--permission-mode plan"));
    }

    #[test]
    fn other_presets() {
        let config = AgentConfig {
            model: Some("mock-model".to_string()),
            ..AgentConfig::default()
        };
        let codex = launch(AgentPreset::Codex, &request(&config, true));
        let argv = codex.args.join(" ");
        assert!(argv.starts_with("exec --json"), "{argv}");
        assert!(argv.contains("--sandbox read-only"), "{argv}");
        assert!(argv.ends_with("-m mock-model -"), "{argv}");
        let aider = launch(AgentPreset::Aider, &request(&config, false));
        assert!(!aider.prompt_on_stdin);
        assert!(
            aider
                .args
                .join(" ")
                .contains("--message-file /run/prompts/s1.md")
        );
        let gemini = launch(AgentPreset::Gemini, &request(&config, false));
        assert!(gemini.args.join(" ").contains("--approval-mode auto_edit"));
        assert_eq!(gemini.files.len(), 1);
        assert_eq!(usd(-1.0), "0.00");
        assert_eq!(claude_glob("CLAUDE.md"), "CLAUDE.md{,/**}");
    }
}
