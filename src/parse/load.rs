use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::node::{Node, Value};
use crate::diag::{Code, Diagnostic, SourceFile, Span};

/// Specs are a few kilobytes; anything larger is refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Deep enough for any spec (which nests 5 levels), shallow enough to stay fast on hostile input.
const MAX_DEPTH: usize = 32;
const MAX_ALIASES: usize = 1_000;
const MAX_EVENTS: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecFormat {
    Yaml,
    Json,
}

impl SpecFormat {
    /// The format a spec path's extension selects; `None` for files that are not specs.
    pub fn from_path(path: &std::path::Path) -> Option<SpecFormat> {
        match path.extension()?.to_str()? {
            "yml" | "yaml" => Some(SpecFormat::Yaml),
            "json" => Some(SpecFormat::Json),
            _ => None,
        }
    }
}

/// Decode a file's bytes, refusing files that are too large or not UTF-8 text.
pub fn load_text(path: &str, bytes: Vec<u8>) -> Result<SourceFile, Box<(SourceFile, Diagnostic)>> {
    if bytes.len() > MAX_FILE_BYTES {
        let diag = Diagnostic::new(
            Code::FileTooLarge,
            format!("file is over {MAX_FILE_BYTES} bytes, the size limit for specs"),
        )
        .help("a spec is a few kilobytes: split the workflow, or move this file out of the specs folder");
        return Err(Box::new((SourceFile::new(path, ""), diag)));
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                // A BOM is invisible in editors; keep offsets valid by replacing it with a space.
                text.replace_range(..3, " ");
            }
            if let Some(nul) = text.find('\0') {
                let file = SourceFile::new(path, text);
                let diag = Diagnostic::new(
                    Code::NotUtf8,
                    "file contains a NUL byte: it is binary, not text",
                )
                .at(Span::new(nul, nul + 1), "NUL byte here");
                return Err(Box::new((file, diag)));
            }
            Ok(SourceFile::new(path, text))
        }
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            // Up to the first bad byte the lossy text has the same offsets: underline it there.
            let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let file = SourceFile::new(path, lossy);
            let width = file.text[offset..].chars().next().map_or(0, char::len_utf8);
            let diag = Diagnostic::new(Code::NotUtf8, "file is not UTF-8 text")
                .at(Span::new(offset, offset + width), "not UTF-8")
                .help("save the file as UTF-8");
            Err(Box::new((file, diag)))
        }
    }
}

/// Parse one YAML or JSON document into a spanned tree.
pub fn parse_document(file: &SourceFile, format: SpecFormat) -> Result<Node, Diagnostic> {
    let src = &*file.text;
    if format == SpecFormat::Json {
        // YAML accepts what JSON does not (comments, trailing commas): hold `.json` files to JSON.
        if let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(src) {
            let offset = file
                .offset_of(err.line(), err.column())
                .unwrap_or(src.len());
            let message = err.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            return Err(Diagnostic::new(Code::SyntaxError, "invalid JSON")
                .at(Span::new(offset, offset), message));
        }
    }
    let options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_aliases: MAX_ALIASES,
            max_events: MAX_EVENTS,
        },
    };
    match serde_saphyr::from_str_with_options::<Spanned<RawNode>>(src, options) {
        Ok(root) => Ok(convert(file, root)),
        Err(err) => Err(syntax_diagnostic(file, &err)),
    }
}

fn syntax_diagnostic(file: &SourceFile, err: &serde_saphyr::Error) -> Diagnostic {
    let span = err.location().and_then(|loc| location_span(file, &loc));
    let rendered = err.without_snippet().to_string();
    let message = strip_location_prefix(&rendered);
    let budget = matches!(err, serde_saphyr::Error::Budget { .. })
        || message.contains("budget")
        || message.contains("recursion limit")
        || message.contains("alias");
    let mut diag = if budget {
        let what = if message.contains("Depth") || message.contains("recursion") {
            format!("nests deeper than {MAX_DEPTH} levels")
        } else if message.contains("Events") {
            format!("expands into more than {MAX_EVENTS} nodes (an alias bomb?)")
        } else if message.contains("lias") {
            format!("uses aliases beyond the limit of {MAX_ALIASES}")
        } else {
            "exceeds a parser limit".to_string()
        };
        let diag = Diagnostic::new(Code::InputLimitExceeded, format!("the file {what}"))
            .help("write values out instead of through nested aliases, and flatten the structure");
        return match span {
            Some(span) => diag.at(span, "limit reached here"),
            None => diag,
        };
    } else if message.contains("multiple YAML documents") {
        Diagnostic::new(Code::SyntaxError, "a spec file holds one YAML document")
            .help("remove the `---` separator, or split the documents into separate files")
    } else {
        Diagnostic::new(Code::SyntaxError, format!("invalid YAML: {message}"))
    };
    if let Some(span) = span {
        diag = diag.at(span, message);
    }
    diag
}

/// serde-saphyr prefixes messages with "error: line L column C: "; the span says that already.
fn strip_location_prefix(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or(rendered);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let stripped = match first.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map_or(first, |(_, msg)| msg),
        None => first,
    };
    stripped.to_string()
}

fn location_span(file: &SourceFile, loc: &serde_saphyr::Location) -> Option<Span> {
    let span = loc.span();
    if let (Some(offset), Some(len)) = (span.byte_offset(), span.byte_len()) {
        let start = usize::try_from(offset).ok()?.min(file.text.len());
        let end = start
            .saturating_add(usize::try_from(len).ok()?)
            .min(file.text.len());
        return Some(Span::new(start, end));
    }
    // Some scanner errors carry only a line and column.
    let line = usize::try_from(loc.line()).ok()?;
    let column = usize::try_from(loc.column()).ok()?;
    let start = file.offset_of(line, column)?;
    Some(Span::new(start, start))
}

fn convert(file: &SourceFile, raw: Spanned<RawNode>) -> Node {
    let span = location_span(file, &raw.referenced).unwrap_or_default();
    let value = match raw.value {
        RawNode::Null => Value::Null,
        RawNode::Bool(b) => Value::Bool(b),
        RawNode::Int(i) => Value::Int(i),
        RawNode::Float(f) => Value::Float(f),
        RawNode::Str(s) => Value::Str(s),
        RawNode::Seq(items) => Value::Seq(items.into_iter().map(|n| convert(file, n)).collect()),
        RawNode::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(file, k), convert(file, v)))
                .collect(),
        ),
    };
    Node { span, value }
}

/// The tree as serde-saphyr hands it over; `Spanned` is its span type.
enum RawNode {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<RawNode>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<RawNode, E> {
        Ok(RawNode::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(RawNode::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Node, Diagnostic> {
        parse_document(&SourceFile::new("t.yml", src), SpecFormat::Yaml)
    }

    #[test]
    fn keys_and_values_keep_byte_spans() {
        let src = "name: x\nsteps:\n  - goal: \"héllo\"\n";
        let root = parse(src).expect("parses");
        let Value::Map(entries) = &root.value else {
            panic!("map")
        };
        let (key, value) = &entries[1];
        assert_eq!(&src[key.span.start..key.span.end], "steps");
        let Value::Seq(items) = &value.value else {
            panic!("seq")
        };
        let Value::Map(step) = &items[0].value else {
            panic!("map")
        };
        assert_eq!(&src[step[0].1.span.start..step[0].1.span.end], "\"héllo\"");
    }

    #[test]
    fn duplicates_pass_through() {
        let root = parse("a: 1\na: 2\n").expect("parses");
        let Value::Map(entries) = &root.value else {
            panic!("map")
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn budget_errors_are_limit_diagnostics() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            parse(&deep).map(|_| ()).unwrap_err().code,
            Code::InputLimitExceeded
        );
    }
}
