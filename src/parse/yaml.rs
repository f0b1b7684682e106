//! The spanned tree, built straight from `granit-parser`'s event stream: scalar resolution
//! (YAML 1.2 core schema, as serde-saphyr resolves untyped values with `strict_booleans`),
//! anchors and aliases, merge keys, and the input limits.

use std::collections::{HashMap, HashSet};

use granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};

use super::node::{Node, Value};
use crate::diag::{Code, Diagnostic, SourceFile, Span};

/// Deep enough for any spec (which nests 5 levels), shallow enough to stay fast on hostile input.
pub(super) const MAX_DEPTH: usize = 32;
/// Aliases (`*name`) per file.
pub(super) const MAX_ALIASES: usize = 1_000;
/// Nodes in the tree, keys and alias copies included.
pub(super) const MAX_NODES: usize = 200_000;
/// Bytes of text that alias copies may add (a long string aliased many times).
pub(super) const MAX_COPIED_BYTES: usize = 4 * super::MAX_FILE_BYTES;

const LIMIT_HELP: &str =
    "write values out instead of through nested aliases, and flatten the structure";

/// Parse YAML text (or JSON, which is YAML's flow style) into one spanned tree.
///
/// `language` names the format in syntax error messages ("YAML" or "JSON").
pub(super) fn build(file: &SourceFile, language: &str) -> Result<Node, Diagnostic> {
    let src = &*file.text;
    let options = granit_parser::options! {
        emit_unresolved_aliases: true,
        emit_comments: false,
    };
    let mut builder = Builder {
        file,
        src,
        language,
        stack: Vec::new(),
        root: None,
        anchors: HashMap::new(),
        nodes: 0,
        copied_bytes: 0,
        aliases: 0,
        documents: 0,
        tag_start: None,
    };
    for next in Parser::new_from_str_with_options(src, options) {
        match next {
            Ok((event, span)) => {
                let start = builder.offset(&span.start);
                let end = builder.offset(&span.end).max(start);
                // A tag error points from the tag to its value's start.
                builder.tag_start = span.tag_start().map(|m| builder.offset(&m).min(start));
                builder.event(event, Span::new(start, end))?;
            }
            Err(err) => return Err(builder.scan_error(&err)),
        }
    }
    Ok(builder.root.unwrap_or(Node {
        span: Span::new(src.len(), src.len()),
        value: Value::Null,
    }))
}

/// A completed node kept for its aliases.
struct Anchored {
    node: Node,
    /// Nodes in the subtree, the root included.
    size: usize,
    /// Collection levels in the subtree (0 for a scalar).
    height: usize,
    /// Bytes of text in the subtree.
    bytes: usize,
}

/// Bytes of text (strings, keys included) in a tree.
fn text_bytes(node: &Node) -> usize {
    match &node.value {
        Value::Str(s) => s.len(),
        Value::Seq(items) => items.iter().map(text_bytes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| text_bytes(k) + text_bytes(v))
            .sum(),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
    }
}

enum Items {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<(Node, bool)>,
        /// Indexes of the `<<` entries in `entries`.
        merges: Vec<usize>,
    },
}

/// A collection being built.
struct Frame {
    span: Span,
    items: Items,
    /// The anchor ID defined on this collection, or 0.
    anchor: usize,
    /// `Builder::nodes` before this collection's start.
    nodes_before: usize,
    /// The highest collection height among the children.
    child_height: usize,
}

struct Builder<'a> {
    file: &'a SourceFile,
    src: &'a str,
    language: &'a str,
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    aliases: usize,
    /// Bytes of text that alias copies added so far.
    copied_bytes: usize,
    documents: usize,
    /// Where the current event's tag starts, if it has one.
    tag_start: Option<usize>,
}

impl Builder<'_> {
    fn offset(&self, marker: &Marker) -> usize {
        let offset = match marker.byte_offset() {
            Some(offset) => offset,
            None => self
                .file
                .offset_of(marker.line(), marker.col() + 1)
                .unwrap_or(self.src.len()),
        };
        offset.min(self.src.len())
    }

    fn scan_error(&self, err: &ScanError) -> Diagnostic {
        let at = self.offset(err.marker());
        let reason = err.info();
        if reason.contains("recursion limit") {
            // The scanner's own nesting limit (deep flow collections) is ours too.
            return Self::limit_error(
                Span::new(at, at),
                format!("nests deeper than {MAX_DEPTH} levels"),
            );
        }
        let reason = if reason.is_empty() {
            "syntax error".to_string()
        } else {
            reason
        };
        self.syntax_error(Span::new(at, at), reason)
    }

    fn syntax_error(&self, span: Span, reason: String) -> Diagnostic {
        Diagnostic::new(
            Code::SyntaxError,
            format!("invalid {}: {reason}", self.language),
        )
        .at(span, reason)
    }

    fn limit_error(span: Span, what: String) -> Diagnostic {
        Diagnostic::new(Code::InputLimitExceeded, format!("the file {what}"))
            .at(span, "limit reached here")
            .help(LIMIT_HELP)
    }

    fn count_nodes(&mut self, count: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(count);
        if self.nodes > MAX_NODES {
            let what = if self.aliases > 0 {
                format!("expands into more than {MAX_NODES} nodes through its aliases")
            } else {
                format!("has more than {MAX_NODES} nodes")
            };
            return Err(Self::limit_error(span, what));
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::new(
                        Code::SyntaxError,
                        "a spec file holds one YAML document",
                    )
                    .at(span, "a second document starts here")
                    .help(
                        "remove the document marker (`---` or `...`) and what follows, or split the documents into separate files",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count_nodes(1, span)?;
                let (span, value) = self.scalar(&text, style, tag.as_deref(), span)?;
                let node = Node { span, value };
                if anchor != 0 {
                    self.anchors.insert(
                        anchor,
                        Anchored {
                            bytes: text_bytes(&node),
                            node: node.clone(),
                            size: 1,
                            height: 0,
                        },
                    );
                }
                self.push(node, 0, is_merge_key(&text, style, tag.as_deref()));
            }
            Event::SequenceStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", self.tag_span(span))?;
                self.open(span, anchor, true)?;
            }
            Event::MappingStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", self.tag_span(span))?;
                self.open(span, anchor, false)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Alias(id) => self.alias(id, span)?,
            Event::UnresolvedAlias(name) => {
                return Err(self.syntax_error(span, format!("unknown alias `*{name}`")));
            }
            _ => {}
        }
        Ok(())
    }

    fn open(&mut self, span: Span, anchor: usize, seq: bool) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Self::limit_error(
                span,
                format!("nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count_nodes(1, span)?;
        let items = if seq {
            Items::Seq(Vec::new())
        } else {
            Items::Map {
                entries: Vec::new(),
                key: None,
                merges: Vec::new(),
            }
        };
        self.stack.push(Frame {
            span: self.collection_span(span.start),
            items,
            anchor,
            nodes_before: self.nodes - 1,
            child_height: 0,
        });
        Ok(())
    }

    /// Collections point at their start: the `[`/`{` of a flow collection, or a zero-length span
    /// before the first entry of a block one.
    fn collection_span(&self, start: usize) -> Span {
        match self.src.as_bytes().get(start) {
            Some(b'[' | b'{') => Span::new(start, start + 1),
            _ => Span::new(start, start),
        }
    }

    fn close(&mut self) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let value = match frame.items {
            Items::Seq(items) => Value::Seq(items),
            Items::Map {
                mut entries,
                key,
                merges,
            } => {
                if let Some((key, _)) = key {
                    // The parser always closes an entry; keep the key rather than lose it.
                    let span = Span::new(key.span.end, key.span.end);
                    entries.push((
                        key,
                        Node {
                            span,
                            value: Value::Null,
                        },
                    ));
                }
                if !merges.is_empty() {
                    entries = self.merge(entries, &merges)?;
                }
                Value::Map(entries)
            }
        };
        let node = Node {
            span: frame.span,
            value,
        };
        let height = frame.child_height + 1;
        if frame.anchor != 0 {
            self.anchors.insert(
                frame.anchor,
                Anchored {
                    bytes: text_bytes(&node),
                    node: node.clone(),
                    size: self.nodes - frame.nodes_before,
                    height,
                },
            );
        }
        self.push(node, height, false);
        Ok(())
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), Diagnostic> {
        self.aliases += 1;
        if self.aliases > MAX_ALIASES {
            return Err(Self::limit_error(
                span,
                format!("uses aliases beyond the limit of {MAX_ALIASES}"),
            ));
        }
        let name = self.src.get(span.start..span.end).unwrap_or("*");
        let Some(anchored) = self.anchors.get(&id) else {
            // The anchor's collection is still open: the alias is inside its own definition.
            return Err(self.syntax_error(
                span,
                format!("alias `{name}` refers to a value that contains it"),
            ));
        };
        let (size, height, bytes) = (anchored.size, anchored.height, anchored.bytes);
        if self.stack.len() + height > MAX_DEPTH {
            return Err(Self::limit_error(
                span,
                format!("nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count_nodes(size, span)?;
        self.copied_bytes = self.copied_bytes.saturating_add(bytes);
        if self.copied_bytes > MAX_COPIED_BYTES {
            return Err(Self::limit_error(
                span,
                format!("copies more than {MAX_COPIED_BYTES} bytes of text through its aliases"),
            ));
        }
        let mut node = match self.anchors.get(&id) {
            Some(anchored) => anchored.node.clone(),
            None => return Ok(()),
        };
        node.span = span;
        self.push(node, height, false);
        Ok(())
    }

    /// Hand a completed node to the collection being built, or make it the root.
    fn push(&mut self, node: Node, height: usize, merge_key: bool) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        frame.child_height = frame.child_height.max(height);
        match &mut frame.items {
            Items::Seq(items) => items.push(node),
            Items::Map {
                entries,
                key,
                merges,
            } => match key.take() {
                None => *key = Some((node, merge_key)),
                Some((key, is_merge)) => {
                    if is_merge {
                        merges.push(entries.len());
                    }
                    entries.push((key, node));
                }
            },
        }
    }

    /// Replace each `<<` entry by the entries of the mappings it names that the mapping does not
    /// hold already. Explicit keys win wherever they are; among merged mappings, the first wins.
    fn merge(
        &self,
        entries: Vec<(Node, Node)>,
        merges: &[usize],
    ) -> Result<Vec<(Node, Node)>, Diagnostic> {
        // `merges` holds ascending indexes: mark them once rather than search them per entry.
        let mut is_merge = vec![false; entries.len()];
        for &i in merges {
            if let Some(flag) = is_merge.get_mut(i) {
                *flag = true;
            }
        }
        let mut seen = HashSet::new();
        let mut repr = String::new();
        for (i, (key, _)) in entries.iter().enumerate() {
            if !is_merge[i] {
                repr.clear();
                key_repr(key, &mut repr);
                seen.insert(repr.clone());
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        for ((key, value), merge) in entries.into_iter().zip(is_merge) {
            if !merge {
                out.push((key, value));
                continue;
            }
            let sources = match value.value {
                Value::Map(map) => vec![map],
                Value::Seq(items) => {
                    let mut maps = Vec::with_capacity(items.len());
                    for item in items {
                        match item.value {
                            Value::Map(map) => maps.push(map),
                            other => return Err(self.bad_merge(item.span, &other)),
                        }
                    }
                    maps
                }
                other => return Err(self.bad_merge(value.span, &other)),
            };
            for source in sources {
                // Keys the mapping or an earlier source holds are overridden; a key written
                // twice in one source stays twice, for the duplicate-key check to report.
                let mut added = Vec::new();
                for (key, value) in source {
                    repr.clear();
                    key_repr(&key, &mut repr);
                    if !seen.contains(&repr) {
                        added.push(repr.clone());
                        out.push((key, value));
                    }
                }
                seen.extend(added);
            }
        }
        Ok(out)
    }

    fn bad_merge(&self, span: Span, value: &Value) -> Diagnostic {
        self.syntax_error(
            span,
            format!(
                "`<<` merges a mapping or a list of mappings, not {}",
                value.kind_name()
            ),
        )
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<(Span, Value), Diagnostic> {
        let span = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => self.block_scalar_span(span),
            _ => span,
        };
        let plain = style == ScalarStyle::Plain;
        let core = tag.and_then(Tag::core_suffix);
        let value = match core {
            Some("str") => Value::Str(text.to_owned()),
            Some("null") => match text {
                "" | "~" | "null" | "Null" | "NULL" => Value::Null,
                _ => return Err(self.bad_tagged(span, "!!null", text, "null")),
            },
            Some("bool") => match parse_bool(text) {
                Some(b) => Value::Bool(b),
                None => return Err(self.bad_tagged(span, "!!bool", text, "a boolean")),
            },
            Some("int") => match parse_int(text) {
                Some(value) => value,
                None => return Err(self.bad_tagged(span, "!!int", text, "an integer")),
            },
            Some("float") => match parse_float(text) {
                Some(f) => Value::Float(f),
                None => return Err(self.bad_tagged(span, "!!float", text, "a number")),
            },
            _ if tag.is_some_and(is_non_specific) => Value::Str(text.to_owned()),
            _ if tag.is_some() && !is_merge_key(text, style, tag) => {
                return Err(tag_error(
                    tag,
                    self.tag_span(span),
                    "a string, number, boolean or null",
                ));
            }
            _ if !plain => Value::Str(text.to_owned()),
            _ => resolve_plain(text),
        };
        Ok((span, value))
    }

    /// The source of the current node's tag, when it has one.
    fn tag_span(&self, span: Span) -> Span {
        match self.tag_start {
            Some(start) => {
                let text = self.src.get(start..span.end.max(start)).unwrap_or("");
                let len = text.find(char::is_whitespace).unwrap_or(text.len());
                Span::new(start, start + len)
            }
            None => Span::new(span.start, span.start),
        }
    }

    fn bad_tagged(&self, span: Span, tag: &str, text: &str, kind: &str) -> Diagnostic {
        self.syntax_error(span, format!("`{tag}` value `{text}` is not {kind}"))
    }

    /// A block scalar's span ends with its last content line, not at the next node.
    fn block_scalar_span(&self, span: Span) -> Span {
        let Some(text) = self.src.get(span.start..span.end) else {
            return span;
        };
        let Some(last) = text.rfind(|c: char| !matches!(c, ' ' | '\t' | '\r' | '\n')) else {
            // An empty block: its `|` or `>` header is the last text before the span.
            let header = self.src.get(..span.start).unwrap_or("").trim_end();
            let start = header
                .rfind(|c: char| c.is_ascii_whitespace())
                .map_or(0, |i| i + 1);
            return Span::new(start, header.len());
        };
        let line_end = text[last..]
            .find(['\r', '\n'])
            .map_or(text.len(), |i| last + i);
        Span::new(span.start, span.start + line_end)
    }
}

/// `!`, the non-specific tag: "a string, whatever it looks like" (YAML 1.2 §6.9.1).
fn is_non_specific(tag: &Tag) -> bool {
    tag.handle().is_empty() && tag.suffix() == "!"
}

/// A collection's tag may only say what it is (`!!map` on a mapping, `!!seq` on a sequence,
/// or the non-specific `!`).
fn check_collection_tag(tag: Option<&Tag>, kind: &str, span: Span) -> Result<(), Diagnostic> {
    match tag {
        Some(tag) if tag.core_suffix() != Some(kind) && !is_non_specific(tag) => Err(tag_error(
            Some(tag),
            span,
            if kind == "map" { "a mapping" } else { "a list" },
        )),
        _ => Ok(()),
    }
}

/// A tag coder would have to ignore (`!!binary`, `!!timestamp`, `!custom`): the value would
/// silently be read as its text, so the tag is an error rather than dropped. The core tags that
/// mean what the value already is (`!!str`, `!!int`, …) and `!` are read as YAML defines them.
fn tag_error(tag: Option<&Tag>, span: Span, what: &str) -> Diagnostic {
    // As written: `!!binary`, `!Ref`, or a verbatim `!<uri>` (which has no handle).
    let name = tag.map_or_else(String::new, |t| match t.original_handle() {
        "" => format!("!<{}>", t.suffix()),
        handle => format!("{handle}{}", t.suffix()),
    });
    Diagnostic::new(
        Code::YamlTag,
        format!("unsupported YAML tag `{name}`"),
    )
    .at(span, "coder cannot read a value with this tag")
    .help(format!(
        "remove the tag and write {what} as plain YAML; only `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq` and `!` are read"
    ))
}

/// `<<` as a plain key (or tagged `!!merge`) merges mappings into its own.
fn is_merge_key(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> bool {
    match tag {
        Some(tag) => {
            text == "<<"
                && tag.suffix_in_namespace("tag:yaml.org,2002:").as_deref() == Some("merge")
        }
        None => style == ScalarStyle::Plain && text == "<<",
    }
}

/// A key's identity for merging: its value, spans left out.
fn key_repr(node: &Node, out: &mut String) {
    use std::fmt::Write;
    match &node.value {
        Value::Null => out.push('~'),
        Value::Bool(b) => {
            let _ = write!(out, "b{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "i{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "f{}", f.to_bits());
        }
        Value::Str(s) => {
            let _ = write!(out, "s{}:{s}", s.len());
        }
        Value::Seq(items) => {
            out.push('[');
            for item in items {
                key_repr(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (key, value) in entries {
                key_repr(key, out);
                out.push(':');
                key_repr(value, out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

/// Resolve an untagged plain scalar: null, boolean, integer, float, or else a string.
fn resolve_plain(text: &str) -> Value {
    if let "" | "~" | "null" | "Null" | "NULL" = text {
        return Value::Null;
    }
    let Some(&first) = text.as_bytes().first() else {
        return Value::Null;
    };
    // Every number starts with a sign, a digit, or a dot; skip the parsers for other words.
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        if let Some(value) = parse_number(text) {
            return value;
        }
    } else if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    Value::Str(text.to_owned())
}

fn parse_number(text: &str) -> Option<Value> {
    parse_int(text).or_else(|| parse_float(trim(text)).map(Value::Float))
}

fn int_value(v: u64) -> Value {
    #[allow(clippy::cast_precision_loss)]
    i64::try_from(v).map_or(Value::Float(v as f64), Value::Int)
}

/// An integer: negative values as signed, others as unsigned (large ones become floats).
/// YAML 1.2 core: `[-+]?[0-9]+` is decimal, leading zeros included; `0x`, `0o`, `0b` prefixes.
fn parse_int(text: &str) -> Option<Value> {
    let t = trim(text);
    if t.starts_with('-') {
        parse_signed(t)
            .and_then(|v| i64::try_from(v).ok())
            .map(Value::Int)
    } else {
        parse_unsigned(t)
            .and_then(|v| u64::try_from(v).ok())
            .map(int_value)
    }
}

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// YAML 1.2 core booleans.
fn parse_bool(text: &str) -> Option<bool> {
    match trim(text) {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// The radix and digits after an optional `0x`/`0o`/`0b` prefix.
fn radix_and_digits(rest: &str) -> (u32, &str) {
    let bytes = rest.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'0' {
        let radix = match bytes[1] {
            b'x' | b'X' => 16,
            b'o' | b'O' => 8,
            b'b' | b'B' => 2,
            _ => return (10, rest),
        };
        return (radix, &rest[2..]);
    }
    (10, rest)
}

/// Digits in `radix`, single underscores allowed between them.
fn parse_digits(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut saw = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let prev_ok = i > 0 && bytes[i - 1] != b'_';
            let next_ok = bytes.get(i + 1).is_some_and(|&n| n != b'_');
            if !prev_ok || !next_ok {
                return None;
            }
            continue;
        }
        let digit = char::from(b).to_digit(radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
        saw = true;
    }
    saw.then_some(value)
}

fn parse_unsigned(t: &str) -> Option<u128> {
    if t.starts_with('-') {
        return None;
    }
    let rest = t.strip_prefix('+').unwrap_or(t);
    let (radix, digits) = radix_and_digits(rest);
    parse_digits(digits, radix)
}

fn parse_signed(t: &str) -> Option<i128> {
    let (negative, rest) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = radix_and_digits(rest);
    let magnitude = parse_digits(digits, radix)?;
    if negative {
        if magnitude == i128::MAX.unsigned_abs() + 1 {
            Some(i128::MIN)
        } else {
            i128::try_from(magnitude).ok()?.checked_neg()
        }
    } else {
        i128::try_from(magnitude).ok()
    }
}

/// YAML 1.2 floats: `.inf`/`.nan` spellings, or a decimal/exponent literal (one that overflows
/// `f64` becomes infinite). Rust's own `inf`/`nan` words stay strings.
fn parse_float(text: &str) -> Option<f64> {
    let t = trim(text);
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    match unsigned {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" if negative => return Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        _ => {}
    }
    let value = t.parse::<f64>().ok()?;
    if value.is_finite()
        || (value.is_infinite() && unsigned.as_bytes().first().is_some_and(u8::is_ascii_digit))
    {
        Some(value)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, Diagnostic> {
        build(&SourceFile::new("t.yml", text.to_string()), "YAML")
    }

    #[test]
    fn tags_that_state_the_value_are_read_and_every_other_tag_is_an_error() {
        for ok in [
            "a: !!str 1",
            "a: !!int 1",
            "a: !!float 1.5",
            "a: !!bool true",
            "a: !!null ~",
            "a: ! 1",
            "a: !!map {b: 1}",
            "a: !!seq [1]",
            "a: ! [1]",
            "<<: {b: 1}\nc: 2",
            "!!merge <<: {b: 1}",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for (bad, tag, column) in [
            ("a: !!binary aGk=", "!!binary", 4),
            ("a: !!timestamp 2001-12-14", "!!timestamp", 4),
            ("a: !Ref x", "!Ref", 4),
            ("a: !!set {b: ~}", "!!set", 4),
            ("a: !!omap [b: 1]", "!!omap", 4),
            ("a: !!map [1]", "!!map", 4),
            ("a: !!seq {b: 1}", "!!seq", 4),
            (
                "a: !<tag:example.com,2000:x> 1",
                "!<tag:example.com,2000:x>",
                4,
            ),
        ] {
            let diag = parse(bad).expect_err(bad);
            assert_eq!(diag.code, Code::YamlTag, "{bad}");
            assert!(
                diag.message.contains(&format!("`{}", &tag[..2])),
                "{bad}: {}",
                diag.message
            );
            let span = diag.primary.expect("at the tag").span;
            assert_eq!(span.start + 1, column, "{bad}");
        }
    }
}
