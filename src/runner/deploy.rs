//! Deploy steps: the `[deploy.<target>]` command of the repository's configuration, run with
//! `sh -c` in the checkout (the user's own script, never spec text), and the URL it deployed to.

use std::path::Path;

use super::{Context, Failure};
use crate::protocol::CiOutput;

/// The deploy command for `target`, or why there is none.
pub fn command(cx: &Context, target: &str) -> Result<(String, Option<String>), Failure> {
    cx.config
        .deploy_command(target)
        .and_then(|deploy| Some((deploy.command.clone()?, deploy.url_file.clone())))
        .ok_or_else(|| Failure::failed(crate::workspace::config::deploy_not_configured(target)))
}

/// The deploy URL: the first line of `url_file` (relative to the checkout) when configured,
/// else the last http(s) URL the command printed.
pub fn find_url(checkout: &Path, url_file: Option<&str>, output: &str) -> Option<String> {
    let url = match url_file {
        Some(file) => std::fs::read_to_string(checkout.join(file))
            .ok()?
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())?
            .to_string(),
        None => output
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')'))
            .rfind(|word| word.starts_with("https://") || word.starts_with("http://"))?
            .trim_end_matches(['.', ',', ';'])
            .to_string(),
    };
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then_some(url)
}

/// Tell the CI the URL: the environment's URL on GitHub (`steps.<id>.outputs.url`) and on
/// GitLab (the dotenv report's `CODER_DEPLOY_URL`).
pub fn write_output(url: &str) -> Result<(), String> {
    super::ci_output::publish_output(CiOutput::DeployUrl, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_last_printed_url() {
        let out = "building\nsee https://docs.example\nDeployed to https://preview.example/app.\n";
        assert_eq!(
            find_url(Path::new("."), None, out).as_deref(),
            Some("https://preview.example/app")
        );
        assert_eq!(find_url(Path::new("."), None, "no url here"), None);
    }
}
