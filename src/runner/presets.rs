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
    /// The model API's base URL the user set in one of [`base_url_vars`], if any.
    pub base_url: Option<String>,
    /// coder's own sandbox holds the agent (a CLI's own write sandbox is then left off).
    pub in_coder_sandbox: bool,
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
    /// Folders to create before the start (the CLI's home and state, outside the checkout).
    pub dirs: Vec<PathBuf>,
    /// The variable the CLI reads its key from: the configured credential's value is also
    /// passed under this name.
    pub credential_env: &'static str,
}

/// The variables a user sets a preset's model API base URL in, first found wins: the CLI's
/// usual ones. The preset hands the URL on in the form its CLI reads.
pub fn base_url_vars(preset: AgentPreset) -> &'static [&'static str] {
    match preset {
        AgentPreset::Claude => &["ANTHROPIC_BASE_URL"],
        AgentPreset::Codex => &["OPENAI_BASE_URL"],
        AgentPreset::Aider => &["OPENAI_API_BASE", "OPENAI_BASE_URL"],
        AgentPreset::Gemini => &["GOOGLE_GEMINI_BASE_URL"],
    }
}

/// The credential variable a preset reads when config names none.
pub fn default_credential(preset: AgentPreset) -> &'static str {
    match preset {
        AgentPreset::Claude => "ANTHROPIC_API_KEY",
        AgentPreset::Codex | AgentPreset::Aider => "OPENAI_API_KEY",
        AgentPreset::Gemini => "GEMINI_API_KEY",
    }
}

/// The variable the CLI itself reads its key from (`codex exec` reads `CODEX_API_KEY`, not
/// `OPENAI_API_KEY`: with only the latter its requests carry no `Authorization`).
fn cli_credential(preset: AgentPreset) -> &'static str {
    match preset {
        AgentPreset::Codex => "CODEX_API_KEY",
        other => default_credential(other),
    }
}

/// A string as a TOML basic string: JSON's escapes (`\"`, `\\`, `\n`, `\uXXXX`) are all
/// valid TOML escapes.
fn toml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
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
            if let Some(url) = &req.base_url {
                env.push(("ANTHROPIC_BASE_URL".to_string(), url.clone()));
            }
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
                dirs: Vec::new(),
                credential_env: cli_credential(preset),
            }
        }
        AgentPreset::Codex => {
            let checkout = req.checkout.to_string_lossy().into_owned();
            push(&[
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--ephemeral",
                "-C",
                &checkout,
                "--sandbox",
                if req.read_only {
                    "read-only"
                } else if req.in_coder_sandbox {
                    // coder's Landlock sandbox already keeps writes to the checkout, and
                    // Codex's own (Landlock too) cannot start nested inside it: its writes
                    // then silently fail.
                    "danger-full-access"
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
            // Private, created before the start (Codex refuses a missing CODEX_HOME), and not
            // a temp dir: Codex's sandbox fails with CODEX_HOME under one. Its config file is
            // ours: Codex reads the base URL only from the key `openai_base_url`, never from
            // `OPENAI_BASE_URL`.
            let codex_home = home.join(".codex");
            env.push((
                "CODEX_HOME".to_string(),
                codex_home.to_string_lossy().into_owned(),
            ));
            let mut config = String::from("# Written by coder for this step.\n");
            if let Some(url) = &req.base_url {
                config.push_str(&format!("openai_base_url = {}\n", toml_string(url)));
            }
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: true,
                format: OutputFormat::Codex,
                files: vec![(codex_home.join("config.toml"), config)],
                dirs: vec![codex_home],
                credential_env: cli_credential(preset),
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
                // Nothing of aider's in the checkout: no `.aider*` line in `.gitignore`, no
                // repo-map cache (`.aider.tags.cache.v4/`), no git of its own (it writes its
                // identity into `.git/config`); coder-step makes the commit.
                "--no-git",
                "--no-gitignore",
                "--map-tokens",
                "0",
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
            // litellm's bundled price map, not a download at every start.
            env.push((
                "LITELLM_LOCAL_MODEL_COST_MAP".to_string(),
                "True".to_string(),
            ));
            if let Some(url) = &req.base_url {
                env.push(("OPENAI_API_BASE".to_string(), url.clone()));
            }
            // Its messages unwrapped (an API error on one line).
            env.push(("COLUMNS".to_string(), "1000".to_string()));
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: false,
                format: OutputFormat::Aider,
                // aider downloads litellm's price map at each start unless its cache (in its
                // private HOME) is fresh and not empty: a placeholder stops that, and it falls
                // back to litellm's bundled map.
                files: vec![(
                    home.join(".aider/caches/model_prices_and_context_window.json"),
                    r#"{"coder": "placeholder: use litellm's bundled map"}"#.to_string(),
                )],
                dirs: Vec::new(),
                credential_env: cli_credential(preset),
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
            // The checkout is not a folder Gemini CLI was told to trust: it exits 55 without.
            env.push(("GEMINI_CLI_TRUST_WORKSPACE".to_string(), "true".to_string()));
            if let Some(url) = &req.base_url {
                env.push(("GOOGLE_GEMINI_BASE_URL".to_string(), url.clone()));
            }
            // Its error reports go to the system temp dir: into the step's private area.
            let tmp = req.agent_dir.join("tmp");
            env.push(("TMPDIR".to_string(), tmp.to_string_lossy().into_owned()));
            let mut settings = serde_json::json!({
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                // No web tools, as on every preset.
                "tools": {"exclude": ["google_web_search", "web_fetch"]},
                "privacy": {"usageStatisticsEnabled": false},
                "general": {"disableAutoUpdate": true, "disableUpdateNag": true},
            });
            if let Some(turns) = config.max_turns {
                settings["model"] = serde_json::json!({"maxSessionTurns": turns});
            }
            PresetLaunch {
                program,
                args,
                env,
                prompt_on_stdin: true,
                format: OutputFormat::Gemini,
                files: vec![(home.join(".gemini/settings.json"), settings.to_string())],
                dirs: vec![tmp],
                credential_env: cli_credential(preset),
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
            base_url: Some("http://127.0.0.1:9/v1".to_string()),
            in_coder_sandbox: false,
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

    /// What each CLI needs to run as shipped (issue 14): Codex's home created with the base
    /// URL in its config and the key under `CODEX_API_KEY`; Gemini trusting the checkout,
    /// without web tools, capped in turns; aider keeping out of git and off the network.
    #[test]
    fn codex_leaves_writes_to_coders_sandbox_when_it_holds_the_agent() {
        let config = AgentConfig::default();
        let argv = |sandboxed: bool, read_only: bool| {
            let mut req = request(&config, read_only);
            req.in_coder_sandbox = sandboxed;
            launch(AgentPreset::Codex, &req).args.join(" ")
        };
        assert!(argv(true, false).contains("--sandbox danger-full-access"));
        assert!(argv(false, false).contains("--sandbox workspace-write"));
        // A reviewer stays in Codex's read-only mode either way.
        assert!(argv(true, true).contains("--sandbox read-only"));
    }

    #[test]
    fn each_cli_gets_its_home_key_base_url_and_caps() {
        let config = AgentConfig {
            model: Some("gemini-2.5-flash".to_string()),
            max_turns: Some(7),
            ..AgentConfig::default()
        };
        let codex = launch(AgentPreset::Codex, &request(&config, false));
        assert_eq!(codex.credential_env, "CODEX_API_KEY");
        assert_eq!(codex.dirs, [PathBuf::from("/run/agents/s1/home/.codex")]);
        let (path, text) = &codex.files[0];
        assert_eq!(path, Path::new("/run/agents/s1/home/.codex/config.toml"));
        let parsed: toml::Table = toml::from_str(text).expect("toml");
        assert_eq!(
            parsed["openai_base_url"].as_str(),
            Some("http://127.0.0.1:9/v1")
        );
        assert!(!codex.args.contains(&"--ignore-user-config".to_string()));
        assert_eq!(toml_string("a\"b\\c"), r#""a\"b\\c""#);

        let gemini = launch(AgentPreset::Gemini, &request(&config, false));
        assert_eq!(gemini.credential_env, "GEMINI_API_KEY");
        let env = |l: &PresetLaunch, name: &str| {
            l.env
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            env(&gemini, "GEMINI_CLI_TRUST_WORKSPACE").as_deref(),
            Some("true")
        );
        assert_eq!(
            env(&gemini, "GOOGLE_GEMINI_BASE_URL").as_deref(),
            Some("http://127.0.0.1:9/v1")
        );
        assert_eq!(
            env(&gemini, "TMPDIR").as_deref(),
            Some("/run/agents/s1/tmp")
        );
        let settings: serde_json::Value =
            serde_json::from_str(&gemini.files[0].1).expect("settings");
        assert_eq!(
            settings["tools"]["exclude"],
            serde_json::json!(["google_web_search", "web_fetch"])
        );
        assert_eq!(settings["model"]["maxSessionTurns"], 7);

        let aider = launch(AgentPreset::Aider, &request(&config, true));
        let argv = aider.args.join(" ");
        for flag in ["--no-git", "--no-gitignore", "--map-tokens 0", "--dry-run"] {
            assert!(argv.contains(flag), "{flag} in {argv}");
        }
        assert_eq!(
            env(&aider, "OPENAI_API_BASE").as_deref(),
            Some("http://127.0.0.1:9/v1")
        );
        assert!(aider.files[0].1.len() > 2, "a cache that is not empty");
        assert_eq!(
            base_url_vars(AgentPreset::Aider),
            ["OPENAI_API_BASE", "OPENAI_BASE_URL"]
        );
    }
}
