//! The starters: minijinja templates under `templates/init/`, embedded in the binary and
//! rendered with strict undefined (a missing fact is an error, never an empty string) and
//! JSON escaping of every value, so a command or path from the repository lands in the YAML
//! (or TOML) as one quoted scalar whatever it holds.

use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use super::Facts;

/// A kind of maintenance workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Review,
    Bump,
    Release,
    Triage,
    Security,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Review,
        Kind::Bump,
        Kind::Release,
        Kind::Triage,
        Kind::Security,
    ];

    /// The workflow id, and the spec's file stem.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Review => "review",
            Kind::Bump => "dependency-bump",
            Kind::Release => "release-train",
            Kind::Triage => "test-triage",
            Kind::Security => "security-sweep",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Kind::Review => "review.yml",
            Kind::Bump => "bump.yml",
            Kind::Release => "release.yml",
            Kind::Triage => "triage.yml",
            Kind::Security => "security.yml",
        }
    }
}

/// The templates, embedded (`templates/init/`).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "review.yml",
        include_str!("../../templates/init/review.yml.j2"),
    ),
    ("bump.yml", include_str!("../../templates/init/bump.yml.j2")),
    (
        "release.yml",
        include_str!("../../templates/init/release.yml.j2"),
    ),
    (
        "triage.yml",
        include_str!("../../templates/init/triage.yml.j2"),
    ),
    (
        "security.yml",
        include_str!("../../templates/init/security.yml.j2"),
    ),
    (
        "config.toml",
        include_str!("../../templates/init/config.toml.j2"),
    ),
];

/// A rendered starter.
#[derive(Clone, Debug)]
pub struct Starter {
    pub kind: Kind,
    pub text: String,
}

/// Paths no maintenance agent touches: CI definitions and secrets (coder blocks its own and
/// the CI's workflow folders anyway).
const BLOCKED_PATHS: &[&str] = &[".github/", ".gitlab/", ".gitlab-ci.yml", ".env", "secrets/"];

fn environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Every value (but one marked `safe`) is written as a JSON literal: a quoted string or a
    // flow list, which YAML and TOML read back as exactly that value.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, _state, value| {
        let text = if value.is_safe() {
            value.to_string()
        } else {
            serde_json::to_string(value)
                .map(|json| printable_escaped(&json))
                .map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))?
        };
        out.write_str(&text)
            .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))
    });
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| format!("starter syntax: {e}"))?;
    env.set_syntax(syntax);
    // Text for a `#` comment: one line, written as is (a line break would end the comment).
    env.add_filter("comment", |value: minijinja::Value| {
        let text: String = value
            .to_string()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        minijinja::Value::from_safe_string(text)
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("starter `{name}` does not parse: {e:#}"))?;
    }
    Ok(env)
}

/// `json` with every character YAML may not hold raw, or may read as a line break (C1
/// controls, NEL, U+2028/9, U+FEFF, non-characters), as a `\\uXXXX` escape, which JSON,
/// YAML and TOML strings all read back; serde_json has escaped the C0 controls already.
fn printable_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        let printable = matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{10000}'..)
            || matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
                && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}');
        if printable {
            out.push(c);
        } else {
            // Everything escaped here lies in the Basic Multilingual Plane.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        }
    }
    out
}

/// What the templates see.
#[derive(Serialize)]
struct Context<'a> {
    #[serde(flatten)]
    facts: &'a Facts,
    forge: &'static str,
    review_events: Vec<&'static str>,
    blocked_paths: &'static [&'static str],
    release_command: Option<&'a str>,
    release_paths: Vec<String>,
    release_signs: Vec<String>,
    changelog_path: String,
    release: bool,
    targets: &'a [&'static str],
}

fn context<'a>(facts: &'a Facts, targets: &'a [&'static str]) -> Context<'a> {
    let changelog = facts
        .changelog
        .clone()
        .unwrap_or_else(|| "CHANGELOG.md".to_string());
    let mut release_paths = facts.version_files.clone();
    release_paths.push(changelog.clone());
    let mut release_signs = Vec::new();
    if facts.tags > 0 {
        release_signs.push(format!("{} tags", facts.tags));
    }
    if let Some(changelog) = &facts.changelog {
        release_signs.push(changelog.clone());
    }
    let provider = facts.provider.map_or("", |p| p.as_str());
    Context {
        facts,
        forge: provider,
        // GitLab starts merge request pipelines on opening and on every push: one event says
        // so (with its C0410 warning); GitHub needs each named.
        review_events: if provider == "gitlab" {
            vec!["pull_request.opened"]
        } else {
            vec![
                "pull_request.opened",
                "pull_request.synchronize",
                "pull_request.reopened",
            ]
        },
        blocked_paths: BLOCKED_PATHS,
        release_command: facts.release_build.as_deref().or(facts.build.as_deref()),
        release_paths,
        release_signs,
        changelog_path: changelog,
        release: facts.releases(),
        targets,
    }
}

fn render(env: &Environment<'_>, name: &str, cx: &Context<'_>) -> Result<String, String> {
    env.get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(cx))))
        .map_err(|e| format!("starter `{name}` does not render: {e:#}"))
}

/// A kind of workflow init leaves out, and why.
pub type Omitted = (Kind, &'static str);

/// The starters that fit `facts`, rendered, and the kinds left out with why. `targets` are
/// the targets the workflows compile for.
pub fn starters(
    facts: &Facts,
    targets: &[&'static str],
) -> Result<(Vec<Starter>, Vec<Omitted>), String> {
    let env = environment()?;
    let cx = context(facts, targets);
    let mut out = Vec::new();
    let mut omitted = Vec::new();
    for kind in Kind::ALL {
        let why_not = match kind {
            Kind::Review if targets.iter().all(|t| *t == "systemd") => {
                Some("systemd starts nothing on pull requests")
            }
            Kind::Review => None,
            _ if !facts.known() => Some("no build or test command recognized"),
            Kind::Release if !facts.releases() => {
                Some("no tags and no changelog: the repository does not release yet")
            }
            Kind::Triage if facts.test.is_none() => Some("no test command recognized"),
            _ => None,
        };
        match why_not {
            Some(why) => omitted.push((kind, why)),
            None => out.push(Starter {
                kind,
                text: render(&env, kind.template(), &cx)?,
            }),
        }
    }
    Ok((out, omitted))
}

/// The configuration the workflows need (targets to add, tools the runner lacks, the deploy
/// commands to fill in), or `None` when the defaults do.
pub fn config(
    facts: &Facts,
    extra_targets: &[&'static str],
    starters: &[Starter],
) -> Result<Option<String>, String> {
    let release = starters.iter().any(|s| s.kind == Kind::Release);
    let needs_tools = !facts.toolchain_setup.is_empty() && facts.provider.is_some();
    if extra_targets.is_empty() && !release && !needs_tools {
        return Ok(None);
    }
    let env = environment()?;
    let mut cx = context(facts, extra_targets);
    cx.release = release;
    render(&env, "config.toml", &cx).map(Some)
}
