//! Handing a step's outputs ([`CiOutput`]) to the CI around it: GitHub's `$GITHUB_OUTPUT`,
//! GitLab's dotenv report (the file [`env::DOTENV`] names).

use std::path::Path;

use super::env::non_empty_env;
use crate::protocol::{CiOutput, env};

/// Publish `value` as `output` to whichever CI runs this step. Values are single lines coder
/// produced (URLs, `true`/`false`); anything else is refused rather than split into two.
pub(crate) fn publish_output(output: CiOutput, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r']) {
        return Err(format!(
            "the {} `{}` holds a line break: not published",
            output.step_output_name(),
            value.escape_default()
        ));
    }
    if let Some(path) = non_empty_env("GITHUB_OUTPUT") {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{}={value}", output.step_output_name()))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    if let Some(path) = non_empty_env(env::DOTENV) {
        set_dotenv(Path::new(&path), output.dotenv_name(), value)?;
    }
    Ok(())
}

/// Set `name=value` in the dotenv file at `path`, replacing an earlier value of `name` (a
/// second deploy in the same job, or a file an earlier job left in the run directory).
fn set_dotenv(path: &Path, name: &str, value: &str) -> Result<(), String> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let prefix = format!("{name}=");
    let mut text: String = existing
        .lines()
        .filter(|line| !line.starts_with(&prefix))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str(&format!("{name}={value}\n"));
    Ok(crate::fs::atomic_write(path, text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dotenv_value_replaces_the_earlier_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deploy.env");
        std::fs::write(&path, "OTHER=1\nCODER_DEPLOY_URL=https://old.example\n").expect("write");
        set_dotenv(&path, "CODER_DEPLOY_URL", "https://new.example").expect("set");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "OTHER=1\nCODER_DEPLOY_URL=https://new.example\n"
        );
    }

    #[test]
    fn refuses_a_value_with_a_line_break() {
        assert!(publish_output(CiOutput::DeployUrl, "https://a.example\nX=1").is_err());
    }
}
