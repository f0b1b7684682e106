//! Secret values out of logs and artifacts, by exact-string replacement.

/// Tokens coder-step itself may hold: never in a log, whatever the spec lists.
const ALWAYS_REDACTED: [&str; 2] = ["GITHUB_TOKEN", "GH_TOKEN"];

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// (name, value), longest value first so a secret that contains another is replaced whole.
    secrets: Vec<(String, String)>,
}

impl Redactor {
    /// The values of `names` (and of the tokens coder-step holds) this process can read: from
    /// its environment, or from systemd's credentials.
    pub fn from_env(names: &[String]) -> Redactor {
        let pairs = names
            .iter()
            .map(String::as_str)
            .chain(ALWAYS_REDACTED)
            .filter_map(|name| Some((name.to_string(), super::agent::secret_value(name)?)));
        Redactor::new(pairs)
    }

    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let mut secrets: Vec<(String, String)> =
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        secrets.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        secrets.dedup_by(|a, b| a.1 == b.1);
        Redactor { secrets }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (_, value) in &self.secrets {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "***");
            }
        }
        out
    }

    /// Bytes that may not be UTF-8 (a patch, raw output), redacted the same way.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for (_, value) in &self.secrets {
            out = replace_bytes(&out, value.as_bytes(), b"***");
        }
        out
    }

    /// The names of the secrets whose values occur in `bytes`.
    pub fn found_in(&self, bytes: &[u8]) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .secrets
            .iter()
            .filter(|(_, v)| find(bytes, v.as_bytes()).is_some())
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_value_longest_first() {
        let r = Redactor::new([
            ("A".to_string(), "abc".to_string()),
            ("B".to_string(), "abcdef".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]);
        assert_eq!(r.redact("x abcdef abc y"), "x *** *** y");
        assert_eq!(r.redact_bytes(b"\xffabc\xff"), b"\xff***\xff");
        assert_eq!(r.found_in(b"..abc.."), vec!["A"]);
        assert!(r.found_in(b"nothing").is_empty());
    }
}
