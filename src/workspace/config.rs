//! coder's configuration: `.coder/config.toml`, or else `[workspace.metadata.coder]` (or
//! `[package.metadata.coder]`) in the repository's `Cargo.toml`.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Code, Diagnostic, SourceFile, Span};
use crate::model::is_valid_id;

pub const CONFIG_FILE: &str = ".coder/config.toml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How to deploy to each target; names besides `preview` and `prod` add targets.
    #[serde(default)]
    pub deploy: IndexMap<Spanned<String>, DeployConfig>,
    /// The agent that agent steps run.
    #[serde(default)]
    pub agent: AgentConfig,
    /// Credits: the unit and the cap a run gets when its spec sets none.
    #[serde(default)]
    pub budget: BudgetConfig,
    /// The GitHub Actions runner host.
    #[serde(default)]
    pub github: GithubConfig,
    /// Targets every workflow also compiles to, besides its provider's (`["systemd"]`). A
    /// workflow such a target cannot express is skipped with a warning.
    #[serde(default)]
    pub targets: Vec<Spanned<String>>,
    /// The host systemd units run on.
    #[serde(default)]
    pub systemd: SystemdConfig,
    /// The GitLab CI runner host.
    #[serde(default)]
    pub gitlab: GitlabConfig,
    /// Test reports command steps write.
    #[serde(default)]
    pub report: ReportConfig,
    /// Self-hosted forges: a git remote's host name and the provider it runs
    /// (`"git.example.com" = "gitlab"`), for remotes whose host does not say.
    #[serde(default)]
    pub hosts: IndexMap<String, HostProvider>,
    /// `[sandbox]`: what an agent step may write and read.
    #[serde(default)]
    pub sandbox: SandboxConfig,
    /// The configuration file exists but is invalid (reported against it). The defaults
    /// apply, and names it would define are not reported as unknown.
    #[serde(skip)]
    pub invalid: bool,
}

/// The forge software a host in `[hosts]` runs.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HostProvider {
    Github,
    Gitlab,
}

impl HostProvider {
    pub fn provider(self) -> crate::model::Provider {
        match self {
            HostProvider::Github => crate::model::Provider::Github,
            HostProvider::Gitlab => crate::model::Provider::Gitlab,
        }
    }
}

/// `[deploy.<target>]`: what a deploy step to that target runs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    /// A shell command, run in the checkout (the user's own script, never spec text).
    pub command: Option<String>,
    /// A file, relative to the checkout, the command writes the deploy URL to. Without it,
    /// the last URL the command prints is the deploy URL.
    pub url_file: Option<String>,
}

/// `[agent]`: the program agent steps run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentConfig {
    /// Argument vector of the generic command adapter; `{goal}`, `{role}`, `{prompt_file}` …
    /// are substituted per argument, never through a shell.
    pub command: Option<Vec<String>>,
    /// A real agent CLI driven with its own headless flags instead of `command`.
    pub preset: Option<AgentPreset>,
    /// The preset's executable (default: `claude`, `codex`, `aider` or `gemini` on the `PATH`).
    pub program: Option<String>,
    /// The model the preset asks for (`--model`); also the price-table key for usage a CLI
    /// reports without a model name.
    pub model: Option<String>,
    /// The name of the environment variable holding the model key (default per preset, e.g.
    /// `ANTHROPIC_API_KEY`). It reaches agent steps only, and is redacted everywhere.
    pub credential: Option<String>,
    /// Names of other variables the agent gets from coder-step's environment (base URLs,
    /// proxies); not secrets, not redacted.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// The preset's turn cap (`--max-turns` for Claude Code).
    pub max_turns: Option<u32>,
    /// US dollars per million tokens, per model (`"*"`: any other model).
    #[serde(default)]
    pub prices: IndexMap<String, ModelPrice>,
}

/// The agent CLIs coder drives with their own flags and output formats.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AgentPreset {
    Claude,
    Codex,
    Aider,
    Gemini,
}

impl AgentPreset {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentPreset::Claude => "claude",
            AgentPreset::Codex => "codex",
            AgentPreset::Aider => "aider",
            AgentPreset::Gemini => "gemini",
        }
    }
}

/// `[agent.prices."<model>"]`: US dollars per million tokens.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    /// Cached input read; default the input price.
    pub cache_read: Option<f64>,
    /// Cache writes; default the input price.
    pub cache_write: Option<f64>,
}

/// `[budget]`: what a credit is worth and the cap a run gets when its spec sets none.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BudgetConfig {
    /// US dollars per credit; default 0.01 (one credit = one US cent).
    pub credit_usd: Option<f64>,
    /// The credit cap of a run whose spec sets no `max_credits`.
    pub default_max_credits: Option<f64>,
}

/// `[github]`: the runner host generated workflows use.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GithubConfig {
    /// `runs-on` labels; default `ubuntu-latest`.
    pub runs_on: Option<RunsOn>,
    /// Shell commands run at the start of every job (toolchains, caches).
    #[serde(default)]
    pub setup: Vec<String>,
    /// A shell command that puts `coder-step` on the `PATH`, replacing the default (the
    /// compiling version's release archive, checksum-verified, else `cargo install`; cached).
    pub install: Option<String>,
    /// `native` (default): schedules use GitHub's `timezone:`. `emulate`: for hosts without it
    /// (older GitHub Enterprise Server), UTC crons plus a gate job that lets only the intended
    /// local times through.
    #[serde(default)]
    pub timezones: TimezoneMode,
    /// The repository secret holding the token the publish job opens pull requests with;
    /// default the workflow's own `GITHUB_TOKEN` (whose pull requests start no CI).
    pub token_secret: Option<SecretName>,
}

/// A repository secret's name, checked: it is written into `${{ secrets.NAME }}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct SecretName(String);

impl TryFrom<String> for SecretName {
    type Error = String;

    fn try_from(name: String) -> Result<SecretName, String> {
        if crate::model::is_env_var_name(&name) {
            Ok(SecretName(name))
        } else {
            Err(format!(
                "`{name}` is not a secret name: letters, digits and `_`, not starting with a digit"
            ))
        }
    }
}

impl SecretName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[sandbox]`: the Landlock sandbox every agent step runs in.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SandboxConfig {
    /// `false` turns the sandbox off (recorded in `run.json`); default on.
    pub enabled: Option<bool>,
    /// Whether a kernel without Landlock fails the run; default: yes in CI (GitHub, GitLab),
    /// a loud warning elsewhere.
    pub required: Option<bool>,
    /// More paths the agent may write (absolute, or `~/` for the user's home), such as
    /// `~/.cargo/registry`.
    #[serde(default)]
    pub write: Vec<String>,
    /// More paths the agent may read and execute.
    #[serde(default)]
    pub read: Vec<String>,
}

/// `[systemd]`: the host generated units run on.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SystemdConfig {
    /// The user the service runs as; default none: a system service runs as root. Set it to
    /// the owner of the checkout.
    pub user: Option<String>,
    /// The checkout on the host; default `/srv/coder/<repo>`.
    pub working_directory: Option<String>,
    /// Where `coder-step` is installed; default `/usr/local/bin/coder-step`.
    pub coder_step: Option<String>,
    /// The folder holding one file per secret, named after it; default `/etc/credstore`.
    pub credentials_dir: Option<String>,
    /// More paths the run may write besides the checkout (toolchain caches, the agent's home).
    #[serde(default)]
    pub read_write_paths: Vec<String>,
}

impl SystemdConfig {
    /// What is wrong with the section, if anything: the paths must be absolute, and no value
    /// may hold characters that a unit line cannot (control characters) or that would split
    /// a path list (whitespace, quotes, backslashes).
    pub fn problem(&self) -> Option<String> {
        let paths = [
            ("working-directory", self.working_directory.as_deref()),
            ("coder-step", self.coder_step.as_deref()),
            ("credentials-dir", self.credentials_dir.as_deref()),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .chain(
            self.read_write_paths
                .iter()
                .map(|p| ("read-write-paths", p.as_str())),
        );
        for (key, path) in paths {
            if !path.starts_with('/') {
                return Some(format!(
                    "`[systemd] {key}` must be an absolute path, not `{path}`"
                ));
            }
            if path
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || "\"'\\".contains(c))
            {
                return Some(format!(
                    "`[systemd] {key}` = `{}` holds whitespace, a quote, a backslash or a control character, which a unit cannot hold in a path",
                    path.escape_default()
                ));
            }
        }
        if let Some(user) = &self.user {
            let valid = !user.is_empty()
                && !user.starts_with('-')
                && user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !valid {
                return Some(format!(
                    "`[systemd] user` = `{}` is not a user name: letters, digits, `_`, `-` and `.`",
                    user.escape_default()
                ));
            }
        }
        None
    }
}

/// `[report]`: the test reports a run collects.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportConfig {
    /// Globs of JUnit XML files command steps write, relative to the checkout
    /// (`target/nextest/ci/junit.xml`): counted into the run record, and GitLab's
    /// `reports: junit`.
    #[serde(default)]
    pub junit: Vec<String>,
}

/// `[gitlab]`: the runner host generated pipelines use.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GitlabConfig {
    /// The job image; without it jobs run on whatever the runner defaults to (the shell
    /// executor has none).
    pub image: Option<String>,
    /// Runner tags every job asks for.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Shell commands run at the start of every job (toolchains, caches).
    #[serde(default)]
    pub setup: Vec<String>,
    /// A shell command that puts `coder-step` on the `PATH` of the shell it runs in (it runs
    /// again in `after_script`, a shell of its own), replacing the default (the compiling
    /// version's release archive, checksum-verified, else `cargo install`, under
    /// `~/.coder-step` unless already there).
    pub install: Option<String>,
    /// The CI/CD variable holding the token `coder-step publish` pushes the branch and writes
    /// merge request notes with; default [`DEFAULT_GITLAB_TOKEN_VARIABLE`]. A project access
    /// token (role Developer, scopes `write_repository` and `api`): `CI_JOB_TOKEN` cannot push.
    pub token_variable: Option<SecretName>,
}

/// The CI/CD variable `coder-step publish` takes its GitLab token from by default.
pub const DEFAULT_GITLAB_TOKEN_VARIABLE: &str = "CODER_GITLAB_TOKEN";

impl GitlabConfig {
    /// The name of the CI/CD variable holding the publish token.
    pub fn token_variable(&self) -> &str {
        self.token_variable
            .as_ref()
            .map_or(DEFAULT_GITLAB_TOKEN_VARIABLE, SecretName::as_str)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum RunsOn {
    Label(String),
    Labels(Vec<String>),
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TimezoneMode {
    #[default]
    Native,
    Emulate,
}

/// The parts of a `Cargo.toml` coder reads; everything else is cargo's.
#[derive(Deserialize)]
struct Manifest {
    workspace: Option<ManifestSection>,
    package: Option<ManifestSection>,
}

#[derive(Deserialize)]
struct ManifestSection {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    coder: Option<Config>,
}

/// The configuration of the repository at `root`, and the diagnostic of a config file that is
/// invalid (reported against that file; the defaults apply meanwhile).
///
/// `targets` are the names the configuration's `targets` may use (the registered targets:
/// the workspace does not know them itself).
pub fn load(root: &Path, targets: &[&str]) -> (Config, Option<(SourceFile, Diagnostic)>) {
    if let Ok(text) = std::fs::read_to_string(root.join(CONFIG_FILE)) {
        return parse_config_file(text, targets);
    }
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return (Config::default(), None);
    };
    let file = SourceFile::new("Cargo.toml", text);
    match toml::from_str::<Manifest>(&file.text) {
        Ok(manifest) => {
            let config = [manifest.workspace, manifest.package]
                .into_iter()
                .flatten()
                .find_map(|section| section.metadata?.coder);
            match config {
                Some(config) => finish(file, Ok(config), targets),
                None => (Config::default(), None),
            }
        }
        // A Cargo.toml that is not TOML, or whose error lies outside coder's section, is
        // cargo's to report, not ours.
        Err(_) if !has_coder_section(&file.text) => (Config::default(), None),
        Err(err) => {
            let diag = toml_diagnostic(&err, "[workspace.metadata.coder]");
            finish(file, Err(diag), targets)
        }
    }
}

/// The text of a `.coder/config.toml`, read as [`load`] reads the file: what `coder init`
/// checks before writing it, and an editor's unsaved buffer.
pub fn parse_config_file(
    text: String,
    targets: &[&str],
) -> (Config, Option<(SourceFile, Diagnostic)>) {
    let file = SourceFile::new(CONFIG_FILE, text);
    let parsed = toml::from_str::<Config>(&file.text);
    finish(
        file,
        parsed.map_err(|e| toml_diagnostic(&e, CONFIG_FILE)),
        targets,
    )
}

fn has_coder_section(manifest: &str) -> bool {
    let Ok(table) = toml::from_str::<toml::Table>(manifest) else {
        return false;
    };
    ["workspace", "package"].iter().any(|section| {
        table
            .get(*section)
            .and_then(|s| s.get("metadata"))
            .and_then(|m| m.get("coder"))
            .is_some()
    })
}

fn finish(
    file: SourceFile,
    parsed: Result<Config, Diagnostic>,
    targets: &[&str],
) -> (Config, Option<(SourceFile, Diagnostic)>) {
    let invalid = Config {
        invalid: true,
        ..Config::default()
    };
    match parsed {
        Err(diag) => (invalid, Some((file, diag))),
        Ok(config) => {
            if let Some(problem) = config.systemd.problem() {
                let diag = Diagnostic::new(Code::InvalidConfig, problem)
                    .help("see the `[systemd]` section in the README");
                return (invalid, Some((file, diag)));
            }
            if let Some(unknown) = config
                .targets
                .iter()
                .find(|name| !targets.contains(&name.get_ref().as_str()))
            {
                let range = unknown.span();
                let expected: Vec<String> = targets.iter().map(|t| format!("`{t}`")).collect();
                let message = format!(
                    "unknown variant `{}`, expected one of {}",
                    unknown.get_ref(),
                    expected.join(", ")
                );
                let what = if file.path == CONFIG_FILE {
                    CONFIG_FILE
                } else {
                    "[workspace.metadata.coder]"
                };
                let diag = Diagnostic::new(
                    Code::InvalidConfig,
                    format!("invalid configuration in {what}: {message}"),
                )
                .at(Span::new(range.start, range.end), message);
                return (invalid, Some((file, diag)));
            }
            let bad_name = config
                .deploy
                .keys()
                .find(|name| !is_valid_id(name.get_ref()));
            match bad_name {
                None => (config, None),
                Some(name) => {
                    let range = name.span();
                    let diag = Diagnostic::new(
                        Code::InvalidConfig,
                        format!("invalid deploy target name `{}`", name.get_ref()),
                    )
                    .at(Span::new(range.start, range.end), "not a valid name")
                    .help("target names use letters, digits, `_` and `-`, and start with a letter or digit");
                    (invalid, Some((file, diag)))
                }
            }
        }
    }
}

fn toml_diagnostic(err: &toml::de::Error, what: &str) -> Diagnostic {
    let message = err.message().trim().to_string();
    let diag = Diagnostic::new(
        Code::InvalidConfig,
        format!("invalid configuration in {what}: {message}"),
    );
    match err.span() {
        Some(range) => diag.at(Span::new(range.start, range.end), message),
        None => diag,
    }
}

impl Config {
    /// The provider `[hosts]` names for a remote's host (host names compare case-insensitively,
    /// with or without a port).
    pub fn host_provider(&self, host: &str) -> Option<crate::model::Provider> {
        self.hosts
            .iter()
            .find(|(name, _)| {
                name.eq_ignore_ascii_case(host)
                    || host
                        .split_once(':')
                        .is_some_and(|(bare, _)| name.eq_ignore_ascii_case(bare))
            })
            .map(|(_, provider)| provider.provider())
    }

    /// Deploy targets a spec may name: the built-in ones and the configured ones.
    pub fn deploy_targets(&self) -> impl Iterator<Item = &str> + Clone {
        let builtin = crate::model::BUILTIN_DEPLOY_TARGETS;
        builtin.into_iter().chain(
            self.deploy
                .keys()
                .map(|name| name.get_ref().as_str())
                .filter(move |name| !builtin.contains(name)),
        )
    }

    /// The deploy command configured for `target`, if any.
    pub fn deploy_command(&self, target: &str) -> Option<&DeployConfig> {
        self.deploy
            .iter()
            .find(|(name, deploy)| name.get_ref() == target && deploy.command.is_some())
            .map(|(_, deploy)| deploy)
    }
}

/// Why a deploy step cannot run: said by `coder check` (C0301) and by the runner when the
/// step runs anyway.
pub fn deploy_not_configured(target: &str) -> String {
    format!(
        "no deploy command is configured for target `{target}`: add `[deploy.{target}]` with `command = \"…\"` to `{CONFIG_FILE}`"
    )
}
