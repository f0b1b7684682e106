//! What `.git` says about the project, read from files (no `git` process, no network): the
//! `origin` remote's provider, owner and repo, and the default branch. These are the defaults of
//! a spec's `project`.

use std::path::{Path, PathBuf};

use crate::model::Provider;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Remote {
    /// The host name, lowercase, without user or port.
    pub host: String,
    pub provider: Option<Provider>,
    pub owner: String,
    pub repo: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitInfo {
    pub remote: Option<Remote>,
    /// `origin/HEAD` if known, else the current branch, else `main`.
    pub default_branch: String,
}

impl GitInfo {
    /// The configuration's `[hosts]` name the provider of a self-hosted forge: it wins over
    /// what the host name suggests.
    pub fn apply_hosts(&mut self, config: &super::Config) {
        if let Some(remote) = &mut self.remote
            && let Some(provider) = config.host_provider(&remote.host)
        {
            remote.provider = Some(provider);
        }
    }
}

/// Read the git facts of the repository at `root`. Missing or unreadable files give defaults.
pub fn read(root: &Path) -> GitInfo {
    let git_dir = git_dir(root);
    let common_dir = git_dir.as_deref().map(common_of);
    let remote = common_dir
        .as_deref()
        .and_then(|dir| std::fs::read_to_string(dir.join("config")).ok())
        .and_then(|config| remote_url(&config, "origin"))
        .and_then(|url| parse_remote_url(&url));
    let origin_head = common_dir
        .as_deref()
        .and_then(|dir| std::fs::read_to_string(dir.join("refs/remotes/origin/HEAD")).ok())
        .and_then(|head| {
            head.trim()
                .strip_prefix("ref: refs/remotes/origin/")
                .map(str::to_string)
        });
    let current = git_dir
        .as_deref()
        .and_then(|dir| std::fs::read_to_string(dir.join("HEAD")).ok())
        .and_then(|head| {
            head.trim()
                .strip_prefix("ref: refs/heads/")
                .map(str::to_string)
        });
    GitInfo {
        remote,
        default_branch: origin_head
            .or(current)
            .unwrap_or_else(|| "main".to_string()),
    }
}

/// The folder holding the repository's shared state (config, refs, packed refs): `.git`, or
/// for a worktree the main repository's.
pub fn common_dir(root: &Path) -> Option<PathBuf> {
    git_dir(root).as_deref().map(common_of)
}

fn common_of(dir: &Path) -> PathBuf {
    match std::fs::read_to_string(dir.join("commondir")) {
        Ok(rel) => dir.join(rel.trim()),
        Err(_) => dir.to_path_buf(),
    }
}

/// `.git` is a directory, or (worktrees, submodules) a file `gitdir: <path>`.
fn git_dir(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    Some(root.join(target))
}

/// The `url` of `[remote "<name>"]` in a git config file. Keys are case-insensitive; `;` and
/// `#` start comments outside quotes.
fn remote_url(config: &str, name: &str) -> Option<String> {
    let header = format!("[remote \"{name}\"]");
    let mut in_section = false;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == header;
        } else if in_section
            && let Some((key, value)) = line.split_once('=')
            && key.trim().eq_ignore_ascii_case("url")
        {
            return Some(strip_comment(value.trim()));
        }
    }
    None
}

fn strip_comment(value: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' | '#' if !quoted => break,
            _ => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Host, provider, owner and repo of a remote URL: `https://[user@]host[:port]/owner/repo[.git]`,
/// `ssh://[user@]host[:port]/owner/repo`, `git+ssh://…`, and scp-like `[user@]host:owner/repo`.
/// GitLab owners may span subgroups (`group/sub/project`). The provider is what the host says
/// (`github.com`, `gitlab.com`, or a `github`/`gitlab` label such as `gitlab.example.com`);
/// a self-hosted forge under another name is named in the configuration's `[hosts]`.
pub fn parse_remote_url(url: &str) -> Option<Remote> {
    let url = url.trim();
    if url.starts_with("file:") || url.starts_with('/') || url.starts_with('.') {
        // A local remote names no hosted repository.
        return None;
    }
    let (authority, path) = if let Some((_, rest)) = url.split_once("://") {
        rest.split_once('/')?
    } else {
        // scp-like: the first `:` ends the host, and comes before any `/`.
        let (authority, path) = url.split_once(':')?;
        if authority.contains('/') {
            return None;
        }
        (authority, path)
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?.to_ascii_lowercase();
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    // GitLab's web URLs put `/-/` before a page: not part of the project path.
    let path = path.split("/-/").next().unwrap_or(path);
    let (owner, repo) = path.rsplit_once('/')?;
    if host.is_empty() || owner.is_empty() || repo.is_empty() || owner.split('/').any(str::is_empty)
    {
        return None;
    }
    let provider = provider_of_host(&host);
    Some(Remote {
        host,
        provider,
        owner: owner.to_string(),
        repo: repo.to_string(),
    })
}

/// The provider a host name says it runs: a `github` or `gitlab` label (`github.com`,
/// `ssh.github.com`, `gitlab.example.com`), not any name that merely contains the word.
fn provider_of_host(host: &str) -> Option<Provider> {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.contains(&"github") {
        Some(Provider::Github)
    } else if labels.contains(&"gitlab") {
        Some(Provider::Gitlab)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls() {
        let gh = parse_remote_url("git@github.com:OpenAgentsInc/openagents.git").expect("ssh");
        assert_eq!(gh.provider, Some(Provider::Github));
        assert_eq!(
            (gh.owner.as_str(), gh.repo.as_str()),
            ("OpenAgentsInc", "openagents")
        );
        let gl = parse_remote_url("https://gitlab.com/group/sub/project.git").expect("https");
        assert_eq!(gl.provider, Some(Provider::Gitlab));
        assert_eq!(gl.owner, "group/sub");
        let port = parse_remote_url("ssh://git@gitlab.example.com:2222/a/b").expect("ssh url");
        assert_eq!((port.owner.as_str(), port.repo.as_str()), ("a", "b"));
        assert_eq!(
            parse_remote_url("https://git.example.com/a/b").and_then(|r| r.provider),
            None
        );
        assert_eq!(parse_remote_url("/srv/repo.git"), None);
        // Every form, the same repository.
        for url in [
            "https://gitlab.com/group/sub/deeper/project.git",
            "https://user:token@gitlab.com:443/group/sub/deeper/project/",
            "ssh://git@gitlab.com:2222/group/sub/deeper/project.git",
            "git+ssh://git@gitlab.com/group/sub/deeper/project",
            "git@gitlab.com:group/sub/deeper/project.git",
            "gitlab.com:group/sub/deeper/project",
            "https://gitlab.com/group/sub/deeper/project/-/tree/main",
        ] {
            let remote = parse_remote_url(url).expect(url);
            assert_eq!(remote.host, "gitlab.com", "{url}");
            assert_eq!(remote.provider, Some(Provider::Gitlab), "{url}");
            assert_eq!(
                (remote.owner.as_str(), remote.repo.as_str()),
                ("group/sub/deeper", "project"),
                "{url}"
            );
        }
        let enterprise = parse_remote_url("git@github.corp.example:team/app.git").expect("ghe");
        assert_eq!(enterprise.provider, Some(Provider::Github));
        let self_hosted = parse_remote_url("https://GIT.Example.com/a/b").expect("self-hosted");
        assert_eq!(
            (self_hosted.host.as_str(), self_hosted.provider),
            ("git.example.com", None)
        );
        // A name that merely contains the word names no provider.
        assert_eq!(
            parse_remote_url("https://notgithub.example/a/b").and_then(|r| r.provider),
            None
        );
        assert_eq!(parse_remote_url("https://github.com/onlyowner"), None);
        assert_eq!(parse_remote_url("https://github.com//r"), None);
        assert_eq!(parse_remote_url("file:///srv/github/o/r.git"), None);
        assert_eq!(
            remote_url(
                "[remote \"origin\"]\n\tURL = git@github.com:o/r.git ; mirror\n",
                "origin"
            ),
            Some("git@github.com:o/r.git".to_string())
        );
    }

    #[test]
    fn reads_remote_and_branches_from_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/remotes/origin")).expect("mkdir");
        std::fs::write(
            git.join("config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:o/r.git\n",
        )
        .expect("write");
        std::fs::write(git.join("HEAD"), "ref: refs/heads/feature\n").expect("write");
        assert_eq!(read(dir.path()).default_branch, "feature");
        std::fs::write(
            git.join("refs/remotes/origin/HEAD"),
            "ref: refs/remotes/origin/trunk\n",
        )
        .expect("write");
        let info = read(dir.path());
        assert_eq!(info.default_branch, "trunk");
        assert_eq!(info.remote.map(|r| r.repo), Some("r".to_string()));
    }

    #[test]
    fn hosts_in_the_configuration_name_a_self_hosted_provider() {
        let config: super::super::Config =
            toml::from_str("[hosts]\n\"Git.Example.com\" = \"gitlab\"\n").expect("config");
        let mut info = GitInfo {
            remote: parse_remote_url("ssh://git@git.example.com:2222/team/app.git"),
            default_branch: "main".into(),
        };
        assert_eq!(info.remote.as_ref().and_then(|r| r.provider), None);
        info.apply_hosts(&config);
        assert_eq!(info.remote.and_then(|r| r.provider), Some(Provider::Gitlab));
        let bad = toml::from_str::<super::super::Config>("[hosts]\n\"x\" = \"gitea\"\n");
        assert!(bad.is_err());
    }
}
