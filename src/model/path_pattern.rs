//! Repo path patterns of `allowed_paths` / `blocked_paths`, with one meaning everywhere:
//! a pattern is a repo-relative glob (`*` stays within one path segment, `**` crosses them),
//! and a path matches when the pattern matches it or any directory above it. So `src/` and
//! `src` both mean everything under `src`, as `.gitignore` does.

use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobMatcher};

#[derive(Clone, Debug)]
pub struct PathPattern {
    pub text: String,
    /// `None` for a literal path, which needs no glob (building one costs more than checking
    /// the rest of the spec).
    glob: Option<Glob>,
    /// Compiling a glob builds a regex, which costs more than checking a whole spec: only
    /// patterns that are matched against pay for it.
    matcher: OnceLock<GlobMatcher>,
}

/// Why a pattern is not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    Empty,
    Absolute,
    ParentDir,
    /// The glob does not parse; the message says why.
    Glob(String),
}

const GLOB_META: &[char] = &['*', '?', '[', ']', '{', '}'];

impl PathPattern {
    pub fn parse(text: &str) -> Result<PathPattern, PatternError> {
        if text.trim().is_empty() {
            return Err(PatternError::Empty);
        }
        if text.starts_with('/') || text.starts_with('\\') || text.get(1..2) == Some(":") {
            return Err(PatternError::Absolute);
        }
        if text.split(['/', '\\']).any(|segment| segment == "..") {
            return Err(PatternError::ParentDir);
        }
        let normalized = text.trim_start_matches("./").trim_end_matches('/');
        let glob = if normalized.is_empty() || normalized.contains(GLOB_META) {
            let glob = GlobBuilder::new(if normalized.is_empty() {
                "**"
            } else {
                normalized
            })
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| PatternError::Glob(e.kind().to_string()))?;
            Some(glob)
        } else {
            None
        };
        Ok(PathPattern {
            text: text.to_string(),
            glob,
            matcher: OnceLock::new(),
        })
    }

    /// Whether `path` (repo-relative, `/`-separated) is this pattern's or lies under a match.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        let Some(glob) = &self.glob else {
            let own = self.literal_dir();
            return path == own
                || path
                    .strip_prefix(own)
                    .is_some_and(|rest| rest.starts_with('/'));
        };
        let matcher = self.matcher.get_or_init(|| glob.compile_matcher());
        let mut prefix_end = path.len();
        loop {
            if matcher.is_match(&path[..prefix_end]) {
                return true;
            }
            match path[..prefix_end].rfind('/') {
                Some(i) => prefix_end = i,
                None => return false,
            }
        }
    }

    pub fn is_literal(&self) -> bool {
        self.glob.is_none()
    }

    /// The directory every match of this pattern lies under (empty for a pattern like `*.md`).
    pub fn literal_dir(&self) -> &str {
        let text = self.text.trim_start_matches("./");
        let head = text.split(GLOB_META).next().unwrap_or("");
        if head.len() == text.len() {
            return text.trim_end_matches('/');
        }
        head.rfind('/').map_or("", |i| &head[..i])
    }

    /// Whether every path this pattern matches is also matched by `other`.
    pub fn is_covered_by(&self, other: &PathPattern) -> bool {
        if self.text.trim_end_matches('/') == other.text.trim_end_matches('/') {
            return true;
        }
        let dir = self.literal_dir();
        !dir.is_empty() && other.matches(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PathPattern {
        PathPattern::parse(text).expect(text)
    }

    #[test]
    fn matching_follows_directories() {
        assert!(p("src/").matches("src/a/b.rs"));
        assert!(p("src").matches("src/a/b.rs"));
        assert!(!p("src/").matches("srcx/a.rs"));
        assert!(p("src/*.rs").matches("src/a.rs"));
        assert!(!p("src/*.rs").matches("src/a/b.rs"));
        assert!(p("src/**/*.rs").matches("src/a/b.rs"));
        assert!(p(".github/").matches(".github/workflows/ci.yml"));
    }

    #[test]
    fn rejects_paths_outside_the_repo() {
        assert_eq!(
            PathPattern::parse("/etc").err(),
            Some(PatternError::Absolute)
        );
        assert_eq!(
            PathPattern::parse("a/../../b").err(),
            Some(PatternError::ParentDir)
        );
        assert_eq!(PathPattern::parse("").err(), Some(PatternError::Empty));
        assert!(matches!(
            PathPattern::parse("src/[a-"),
            Err(PatternError::Glob(_))
        ));
    }

    #[test]
    fn coverage() {
        assert!(p("docs/").is_covered_by(&p("docs")));
        assert!(p("docs/api/").is_covered_by(&p("docs/")));
        assert!(p("docs/**/*.md").is_covered_by(&p("docs/")));
        assert!(p("crates/a/").is_covered_by(&p("crates/*")));
        assert!(!p("docs/").is_covered_by(&p("docs/*.md")));
        assert!(!p("crates/").is_covered_by(&p("crates/secret/")));
    }
}
