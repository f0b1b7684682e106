//! Secret values out of logs and artifacts, by exact-string replacement of every form a value
//! takes where it leaks: as written, in its common encodings (hex, base64 at any alignment,
//! URL encoding), and, for a value of several lines (a PEM key), each long line on its own and
//! the whole value as a patch shows it (every line after the first behind a `+`). A patch's
//! binary hunks (`GIT binary patch`, base85 of zlib) are decoded before a secret is looked for.

use std::io::Read;

use base64::Engine;

/// Tokens coder-step itself may hold: never in a log, whatever the spec lists.
const ALWAYS_REDACTED: [&str; 2] = ["GITHUB_TOKEN", "GH_TOKEN"];

/// The shortest form of a secret worth matching on its own (an encoded slice, one line of a
/// multi-line value): shorter ones would match ordinary text.
const MIN_NEEDLE: usize = 12;

/// The most a binary hunk is inflated to while looking for secrets (a zlib bomb stops here).
const MAX_INFLATED: u64 = 64 << 20;

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// (name, one form of its value), longest first so a form that contains another is
    /// replaced whole.
    needles: Vec<(String, Vec<u8>)>,
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
        let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
        for (name, value) in pairs.into_iter().filter(|(_, v)| !v.is_empty()) {
            for form in forms(&value) {
                needles.push((name.clone(), form));
            }
        }
        needles.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        needles.dedup_by(|a, b| a.1 == b.1);
        Redactor { needles }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        if !self
            .needles
            .iter()
            .any(|(_, n)| find(text.as_bytes(), n).is_some())
        {
            return text.to_string();
        }
        // Every form is whole UTF-8 (or ASCII), so replacing it keeps the text UTF-8.
        String::from_utf8_lossy(&self.redact_bytes(text.as_bytes())).into_owned()
    }

    /// Bytes that may not be UTF-8 (a patch, raw output), redacted the same way.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for (_, needle) in &self.needles {
            if find(&out, needle).is_some() {
                out = replace_bytes(&out, needle, b"***");
            }
        }
        out
    }

    /// The names of the secrets found in `bytes` in any of their forms, binary hunks of a
    /// patch decoded first.
    pub fn found_in(&self, bytes: &[u8]) -> Vec<&str> {
        let decoded = binary_hunks(bytes);
        let mut names: Vec<&str> = self
            .needles
            .iter()
            .filter(|(_, n)| {
                find(bytes, n).is_some() || decoded.iter().any(|d| find(d, n).is_some())
            })
            .map(|(name, _)| name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The redactor of this process's run, for the writers of the run directory that are handed
/// no context (`run.json`, `ledger.json`, the log bundle).
static CURRENT: std::sync::Mutex<Option<Redactor>> = std::sync::Mutex::new(None);

impl Redactor {
    /// Make this the redactor every writer of the run directory uses.
    pub fn install(&self) {
        if let Ok(mut current) = CURRENT.lock() {
            *current = Some(self.clone());
        }
    }

    /// The installed redactor (none installed: one without secrets).
    pub fn current() -> Redactor {
        CURRENT
            .lock()
            .ok()
            .and_then(|current| current.clone())
            .unwrap_or_default()
    }

    /// Every string of `value` (keys too) redacted: a record's fields hold names and text an
    /// agent chose (file names, commit subjects, symlink targets, model names).
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        if self.needles.is_empty() {
            return;
        }
        match value {
            Value::String(text) => *text = self.redact(text),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut v) in entries {
                    self.redact_json(&mut v);
                    map.insert(self.redact(&key), v);
                }
            }
            _ => {}
        }
    }

    /// `value` as pretty JSON, every string redacted.
    pub fn to_json<T: serde::Serialize>(&self, value: &T) -> Result<String, String> {
        let mut tree = serde_json::to_value(value).map_err(|e| e.to_string())?;
        self.redact_json(&mut tree);
        serde_json::to_string_pretty(&tree).map_err(|e| e.to_string())
    }

    /// Redact every regular file under `dir` in place (files the agent wrote into the run
    /// directory: its output, its usage file, its home), but `skip` (sealed files).
    pub fn sweep(&self, dir: &std::path::Path, skip: &[&std::path::Path]) {
        if self.needles.is_empty() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                self.sweep(&path, skip);
            } else if kind.is_file() && !skip.contains(&path.as_path()) {
                let too_big = entry.metadata().map_or(true, |m| m.len() > MAX_SWEPT);
                let Ok(bytes) = (if too_big {
                    Err(())
                } else {
                    std::fs::read(&path).map_err(|_| ())
                }) else {
                    continue;
                };
                if self.needles.iter().any(|(_, n)| find(&bytes, n).is_some()) {
                    let _ = crate::fs::atomic_write(&path, &self.redact_bytes(&bytes));
                }
            }
        }
    }
}

/// Files larger than this are not swept (the step's log, capped and redacted as written, is
/// smaller).
const MAX_SWEPT: u64 = 128 << 20;

/// Every form of `value` worth matching.
fn forms(value: &str) -> Vec<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut forms = vec![bytes.to_vec()];
    let long = |f: &[u8]| f.len() >= MIN_NEEDLE;
    // Several lines: as a patch's added lines show them, and each long line alone (outputs
    // are read line by line). PEM armour lines name no particular key.
    let trimmed = value.trim_end_matches('\n');
    if trimmed.contains('\n') {
        forms.push(trimmed.replace('\n', "\n+").into_bytes());
        for line in trimmed.lines().map(str::trim) {
            if long(line.as_bytes()) && !line.starts_with("-----") {
                forms.push(line.as_bytes().to_vec());
            }
        }
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    forms.push(hex.to_uppercase().into_bytes());
    forms.push(hex.into_bytes());
    // URL encoding: of everything but letters and digits, and of everything but RFC 3986's
    // unreserved characters.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    for set in [percent_encoding::NON_ALPHANUMERIC, UNRESERVED] {
        forms.push(
            percent_encoding::utf8_percent_encode(value, set)
                .to_string()
                .into_bytes(),
        );
    }
    for engine in [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        // Inside a longer encoded text the value starts at any of three alignments; the
        // characters that depend on the value alone are the same in every such text.
        for skip in 0..3usize {
            let mut padded = vec![0u8; skip];
            padded.extend_from_slice(bytes);
            let encoded = engine.encode(&padded);
            let start = (8 * skip).div_ceil(6);
            let end = 8 * (skip + bytes.len()) / 6;
            if let Some(slice) = encoded.as_bytes().get(start..end) {
                forms.push(slice.to_vec());
            }
        }
    }
    let mut forms: Vec<Vec<u8>> = forms
        .into_iter()
        .enumerate()
        .filter(|(i, f)| *i == 0 || long(f))
        .map(|(_, f)| f)
        .collect();
    forms.sort();
    forms.dedup();
    forms
}

/// The contents of a patch's `GIT binary patch` hunks (`literal` and `delta`), decoded: base85
/// lines whose first character gives their length, then zlib.
fn binary_hunks(patch: &[u8]) -> Vec<Vec<u8>> {
    let mut hunks = Vec::new();
    let mut lines = patch.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if !(line.starts_with(b"literal ") || line.starts_with(b"delta ")) {
            continue;
        }
        let mut deflated = Vec::new();
        while let Some(data) = lines.next_if(|l| !l.is_empty()) {
            match base85_line(data) {
                Some(bytes) => deflated.extend(bytes),
                None => break,
            }
        }
        let mut inflated = Vec::new();
        let _ = flate2::read::ZlibDecoder::new(deflated.as_slice())
            .take(MAX_INFLATED)
            .read_to_end(&mut inflated);
        hunks.push(inflated);
    }
    hunks
}

/// One line of git's base85: a length character (`A`–`Z` 1–26 bytes, `a`–`z` 27–52), then
/// five characters per four bytes.
fn base85_line(line: &[u8]) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] =
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
    let (&len, data) = line.split_first()?;
    let len = match len {
        b'A'..=b'Z' => usize::from(len - b'A') + 1,
        b'a'..=b'z' => usize::from(len - b'a') + 27,
        _ => return None,
    };
    let mut out = Vec::with_capacity(len + 4);
    for group in data.chunks(5) {
        let mut acc: u32 = 0;
        for &c in group {
            let digit = ALPHABET.iter().position(|&a| a == c)?;
            acc = acc
                .checked_mul(85)?
                .checked_add(u32::try_from(digit).ok()?)?;
        }
        out.extend_from_slice(&acc.to_be_bytes());
    }
    out.truncate(len);
    Some(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(haystack, needle)
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
    use base64::Engine;

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

    const SECRET: &str = "hunter2-very-secret/+?&=";

    fn redactor() -> Redactor {
        Redactor::new([("S".to_string(), SECRET.to_string())])
    }

    #[test]
    fn encoded_values_are_found_and_redacted() {
        let r = redactor();
        let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
        let url = percent_encoding::utf8_percent_encode(SECRET, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        for prefix in ["", "x", "xy", "xyz"] {
            let b64 =
                base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{SECRET}!"));
            for text in [hex.clone(), hex.to_uppercase(), url.clone(), b64] {
                assert_eq!(r.found_in(text.as_bytes()), vec!["S"], "{text}");
                assert!(
                    !r.redact(&text)
                        .contains(&text[text.len() / 3..text.len() / 2]),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn a_multi_line_value_is_matched_in_a_patch_and_line_by_line() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n";
        let r = Redactor::new([("KEY".to_string(), pem.to_string())]);
        let patch = format!(
            "+++ b/key.pem\n@@ -0,0 +1,4 @@\n+{}",
            pem.trim_end().replace('\n', "\n+")
        );
        assert_eq!(r.found_in(patch.as_bytes()), vec!["KEY"]);
        let redacted = r.redact(&patch);
        assert!(
            !redacted.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
            "{redacted}"
        );
        assert_eq!(
            r.redact("line: BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"),
            "line: ***\n"
        );
        assert!(r.found_in(b"-----BEGIN PRIVATE KEY-----").is_empty());
    }

    #[test]
    fn binary_hunks_are_decoded() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(format!("\0\x01binary {SECRET} data").as_bytes())
            .expect("deflate");
        let deflated = z.finish().expect("deflate");
        // git's base85, four bytes to five characters.
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
        let mut body = String::new();
        for line in deflated.chunks(52) {
            body.push(if line.len() <= 26 {
                char::from(b'A' + u8::try_from(line.len() - 1).expect("len"))
            } else {
                char::from(b'a' + u8::try_from(line.len() - 27).expect("len"))
            });
            for group in line.chunks(4) {
                let mut word = [0u8; 4];
                word[..group.len()].copy_from_slice(group);
                let mut acc = u32::from_be_bytes(word);
                let mut chars = [0u8; 5];
                for c in chars.iter_mut().rev() {
                    *c = ALPHABET[(acc % 85) as usize];
                    acc /= 85;
                }
                body.push_str(std::str::from_utf8(&chars).expect("ascii"));
            }
            body.push('\n');
        }
        let patch = format!(
            "diff --git a/b.bin b/b.bin\nGIT binary patch\nliteral {}\n{body}\nliteral 0\nHcmV?d00001\n",
            deflated.len()
        );
        assert!(!patch.contains(SECRET));
        assert_eq!(redactor().found_in(patch.as_bytes()), vec!["S"]);
    }
}
