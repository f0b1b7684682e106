//! Reading the environment: a variable set to the empty string counts as unset.

pub(crate) fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The forge this job runs on: what the generated file says (`CODER_FORGE`), else, for files
/// generated before it said so, the CI's own `GITHUB_ACTIONS`/`GITLAB_CI`; `None` outside CI.
pub(crate) fn forge() -> Result<Option<crate::protocol::Forge>, String> {
    use crate::protocol::{Forge, env};
    if let Some(named) = non_empty_env(env::FORGE) {
        return Forge::parse(&named).map(Some).ok_or_else(|| {
            format!(
                "{} is `{}`, not `github` or `gitlab`: run `coder compile`",
                env::FORGE,
                named.escape_default()
            )
        });
    }
    Ok(
        if non_empty_env("GITHUB_ACTIONS").as_deref() == Some("true") {
            Some(Forge::Github)
        } else if non_empty_env("GITLAB_CI").as_deref() == Some("true") {
            Some(Forge::Gitlab)
        } else {
            None
        },
    )
}
