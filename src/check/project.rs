//! `project`: owner, repo and ref are names the provider and git accept. They reach URLs and
//! git command lines in generated CI, so anything else is refused here.

use super::CheckCx;
use crate::diag::{Code, Diagnostic};
use crate::model::Spanned;

fn is_name_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['-', '.'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The rules of `git check-ref-format` for a branch name.
pub fn is_valid_branch(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name != "@"
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
        && !name.split('/').any(|part| part.starts_with('.'))
}

pub fn check(cx: &mut CheckCx<'_>) {
    let Some(project) = &cx.spec.project else {
        return;
    };
    let project = &project.value;
    let mut bad = |field: &Spanned<String>, what: &str, help: &str| {
        cx.report(
            Diagnostic::new(
                Code::InvalidProject,
                format!("`{}` is not a valid {what}", field.value),
            )
            .at(field.span, format!("not a {what}"))
            .help(help.to_string()),
        );
    };
    if let Some(owner) = &project.owner
        && !owner.value.split('/').all(is_name_segment)
    {
        bad(
            owner,
            "repository owner",
            "an owner is a user, organisation or group name (GitLab subgroups as `group/subgroup`): letters, digits, `-`, `_` and `.`",
        );
    }
    if let Some(repo) = &project.repo
        && !is_name_segment(&repo.value)
    {
        bad(
            repo,
            "repository name",
            "a repository name uses letters, digits, `-`, `_` and `.`, and does not start with `-` or `.`",
        );
    }
    if let Some(git_ref) = &project.git_ref
        && !is_valid_branch(&git_ref.value)
    {
        bad(
            git_ref,
            "branch name",
            "use a branch name git accepts (`git check-ref-format --branch`), such as `main`",
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn branches() {
        for ok in ["main", "release/1.2", "feature-x_y"] {
            assert!(super::is_valid_branch(ok), "{ok}");
        }
        for bad in [
            "-rf", "main..x", "a b", "x.lock", "a//b", ".hidden", "a/.b", "x@{1}", "",
        ] {
            assert!(!super::is_valid_branch(bad), "{bad}");
        }
    }
}
