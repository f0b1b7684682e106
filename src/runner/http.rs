//! A small client for the GitHub REST API (`$GITHUB_API_URL`, default api.github.com) and the
//! GitLab one (`$CI_API_V4_URL`).

use std::time::Duration;

use serde_json::Value;

use super::env::non_empty_env;

pub struct Api {
    base: String,
    auth: Auth,
    agent: ureq::Agent,
}

/// How each forge's API takes a token.
enum Auth {
    /// GitHub: `Authorization: Bearer`, with its media type and API version.
    GithubBearer(String),
    /// GitLab: `PRIVATE-TOKEN` (a personal, project or group access token).
    GitlabPrivateToken(String),
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Api {
    /// The API of this CI run, authenticated with the token in `$token_var`.
    pub fn from_env(token_var: &str) -> Result<Api, String> {
        let token = non_empty_env(token_var)
            .ok_or_else(|| format!("{token_var} is not set: the GitHub API needs a token"))?;
        let base =
            non_empty_env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".to_string());
        Ok(Api::new(base, Auth::GithubBearer(token)))
    }

    /// This GitLab job's API (`$CI_API_V4_URL`), authenticated with `token`.
    pub fn gitlab(token: String) -> Result<Api, String> {
        let base = non_empty_env("CI_API_V4_URL")
            .ok_or("CI_API_V4_URL is not set: the GitLab API's address comes from the job")?;
        Ok(Api::new(base, Auth::GitlabPrivateToken(token)))
    }

    fn new(base: String, auth: Auth) -> Api {
        let base = base.trim_end_matches('/').to_string();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|prefix| base.starts_with(prefix));
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)));
        if loopback {
            config = config.proxy(None);
        }
        Api {
            base,
            auth,
            agent: ureq::Agent::new_with_config(config.build()),
        }
    }

    /// The forge's authentication and version headers, and who is asking.
    fn headers<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.header(
            "User-Agent",
            concat!("coder-step/", env!("CARGO_PKG_VERSION")),
        );
        match &self.auth {
            Auth::GithubBearer(token) => request
                .header("Authorization", &format!("Bearer {token}"))
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28"),
            Auth::GitlabPrivateToken(token) => request.header("PRIVATE-TOKEN", token),
        }
    }

    pub fn get(&self, path: &str) -> Result<Reply, String> {
        let url = format!("{}{path}", self.base);
        let response = self.headers(self.agent.get(&url)).call();
        reply(response, "GET", path)
    }

    /// POST or PATCH a JSON body.
    pub fn send(&self, method: &str, path: &str, body: &Value) -> Result<Reply, String> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "PATCH" => self.agent.patch(&url),
            "PUT" => self.agent.put(&url),
            _ => self.agent.post(&url),
        };
        let response = self
            .headers(request)
            .header("Content-Type", "application/json")
            .send(body.to_string());
        reply(response, method, path)
    }
}

fn reply(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    method: &str,
    path: &str,
) -> Result<Reply, String> {
    let mut response = response.map_err(|e| format!("{method} {path} failed: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{method} {path}: cannot read the answer: {e}"))?;
    Ok(Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}

/// `owner/repo` of this CI run.
pub fn repository() -> Result<(String, String), String> {
    let full = non_empty_env("GITHUB_REPOSITORY")
        .ok_or("GITHUB_REPOSITORY is not set (owner/repo of the run)")?;
    match full.split_once('/') {
        Some((owner, repo)) if !owner.is_empty() && !repo.is_empty() => {
            Ok((owner.to_string(), repo.to_string()))
        }
        _ => Err(format!("GITHUB_REPOSITORY `{full}` is not owner/repo")),
    }
}

/// A path segment, percent-encoded (an environment name may hold `/` and spaces).
pub fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The API's own message in an error body, if any.
pub fn api_message(body: &Value) -> String {
    body.get("message")
        .and_then(Value::as_str)
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}
