use super::node::Node;
#[cfg(test)]
use super::node::Value;
use super::yaml;
use crate::diag::{Code, Diagnostic, SourceFile, Span};

/// Specs are a few kilobytes; anything larger is refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

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
                // A BOM is invisible in editors and no part of the spec: drop it.
                text.replace_range(..3, "");
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
    if format == SpecFormat::Json {
        // YAML accepts what JSON does not (comments, trailing commas): hold `.json` files to JSON.
        if let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(&file.text) {
            return Err(json_error(file, &err));
        }
        return yaml::build(file, "JSON");
    }
    yaml::build(file, "YAML")
}

fn json_error(file: &SourceFile, err: &serde_json::Error) -> Diagnostic {
    let offset = json_offset(&file.text, err.line(), err.column());
    let rendered = err.to_string();
    let reason = rendered
        .split(" at line ")
        .next()
        .unwrap_or(&rendered)
        .to_string();
    Diagnostic::new(Code::SyntaxError, format!("invalid JSON: {reason}"))
        .at(Span::new(offset, offset), reason)
}

/// The byte offset of serde_json's 1-based line and 1-based *byte* column.
fn json_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut offset = line_start
        .saturating_add(column.saturating_sub(1))
        .min(line_end);
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
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

    fn json(src: &str) -> Result<Node, Diagnostic> {
        parse_document(&SourceFile::new("t.json", src), SpecFormat::Json)
    }

    fn text(src: &str, span: Span) -> &str {
        &src[span.start..span.end]
    }

    fn entries(node: &Node) -> &[(Node, Node)] {
        match &node.value {
            Value::Map(entries) => entries,
            other => panic!("expected a map, got {other:?}"),
        }
    }

    fn get<'a>(node: &'a Node, key: &str) -> &'a Node {
        let found = entries(node).iter().find(|(k, _)| k.as_str() == Some(key));
        &found.expect("key").1
    }

    fn err(src: &str) -> Diagnostic {
        parse(src).map(|_| ()).unwrap_err()
    }

    #[test]
    fn bom_is_removed() {
        let bytes = b"\xef\xbb\xbfname: x\n".to_vec();
        let file = load_text("t.yml", bytes).expect("loads");
        assert_eq!(&*file.text, "name: x\n");
        let root = parse_document(&file, SpecFormat::Yaml).expect("parses");
        assert_eq!(get(&root, "name").as_str(), Some("x"));
    }

    #[test]
    fn undefined_alias_is_a_syntax_error() {
        let src = "a: *nope\n";
        let diag = err(src);
        assert_eq!(diag.code, Code::SyntaxError);
        assert_eq!(diag.message, "invalid YAML: unknown alias `*nope`");
        assert_eq!(text(src, diag.primary.expect("label").span), "*nope");
    }

    #[test]
    fn alias_copies_keep_definition_spans() {
        let src = "a: &x {b: 1}\nc: *x\n";
        let root = parse(src).expect("parses");
        let copy = get(&root, "c");
        assert_eq!(text(src, copy.span), "*x");
        let (key, value) = &entries(copy)[0];
        assert_eq!((key.span, value.span), (Span::new(7, 8), Span::new(10, 11)));
        assert_eq!(value.value, Value::Int(1));
    }

    #[test]
    fn merge_keys_merge_and_explicit_keys_win() {
        let src =
            "d: &d {e: 1, f: 1}\nm:\n  <<: *d\n  e: 2\nl:\n  <<: [{g: 1}, *d, {g: 2, h: 3}]\n";
        let root = parse(src).expect("parses");
        let m = get(&root, "m");
        let keys: Vec<_> = entries(m).iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["f", "e"]);
        assert_eq!(get(m, "e").value, Value::Int(2));
        let l = get(&root, "l");
        assert_eq!(entries(l).len(), 4);
        assert_eq!(get(l, "g").value, Value::Int(1));
        assert_eq!(get(l, "h").value, Value::Int(3));
        // Quoted, `<<` is an ordinary key.
        let root = parse("m: {'<<': {a: 1}}").expect("parses");
        assert_eq!(entries(get(&root, "m"))[0].0.as_str(), Some("<<"));
    }

    #[test]
    fn merging_a_non_mapping_is_an_error() {
        let src = "a: &a 1\nm:\n  <<: *a\n";
        let diag = err(src);
        assert_eq!(diag.code, Code::SyntaxError);
        assert_eq!(text(src, diag.primary.expect("label").span), "*a");
        let diag = err("m: {<<: [{a: 1}, x]}");
        assert_eq!(diag.code, Code::SyntaxError);
    }

    #[test]
    fn block_scalar_span_ends_at_last_content_line() {
        let src = "a: |\n  one\n  two\n\n\nb: >-\n  x\n";
        let root = parse(src).expect("parses");
        let a = get(&root, "a");
        assert_eq!(a.as_str(), Some("one\ntwo\n"));
        assert!(
            text(src, a.span).ends_with("two"),
            "{:?}",
            text(src, a.span)
        );
        let b = get(&root, "b");
        assert_eq!(b.as_str(), Some("x"));
        assert!(text(src, b.span).ends_with('x'));
    }

    #[test]
    fn scalars_resolve_by_the_core_schema_with_strict_booleans() {
        let root = parse(
            "t: true\nf: false\ny: yes\non: on\nn: ~\ne:\ni: -12\nh: 0x1F\no: 0o17\nu: 1_000\nbig: 9223372036854775808\nfl: 1.5\nexp: 1e3\ninf: -.inf\nq: \"12\"\ns: !!str 12\nti: !!int \"7\"\nb: |\n  true\n",
        )
        .expect("parses");
        let value = |key| get(&root, key).value.clone();
        assert_eq!(value("t"), Value::Bool(true));
        assert_eq!(value("f"), Value::Bool(false));
        assert_eq!(value("y"), Value::Str("yes".into()));
        assert_eq!(value("on"), Value::Str("on".into()));
        assert_eq!(value("n"), Value::Null);
        assert_eq!(value("e"), Value::Null);
        assert_eq!(value("i"), Value::Int(-12));
        assert_eq!(value("h"), Value::Int(31));
        assert_eq!(value("o"), Value::Int(15));
        assert_eq!(value("u"), Value::Int(1000));
        assert_eq!(value("big"), Value::Float(9_223_372_036_854_775_808.0));
        assert_eq!(value("fl"), Value::Float(1.5));
        assert_eq!(value("exp"), Value::Float(1000.0));
        assert_eq!(value("inf"), Value::Float(f64::NEG_INFINITY));
        assert_eq!(value("q"), Value::Str("12".into()));
        assert_eq!(value("s"), Value::Str("12".into()));
        assert_eq!(value("ti"), Value::Int(7));
        assert_eq!(value("b"), Value::Str("true\n".into()));
        assert_eq!(err("a: !!int x").code, Code::SyntaxError);
        assert_eq!(err("a: !!bool yes").code, Code::SyntaxError);
    }

    #[test]
    fn json_errors_use_byte_columns() {
        let src = "{\"é\": \"ü\", \"a\": ]}";
        let diag = json(src).map(|_| ()).unwrap_err();
        assert_eq!(diag.code, Code::SyntaxError);
        assert_eq!(diag.message, "invalid JSON: expected value");
        let span = diag.primary.expect("label").span;
        assert_eq!(&src[span.start..], "]}");
    }

    #[test]
    fn json_overflowing_numbers_are_infinite_floats() {
        let root = json("{\"a\": 1e999}").expect("parses");
        assert_eq!(get(&root, "a").value, Value::Float(f64::INFINITY));
    }

    #[test]
    fn a_second_document_is_an_error() {
        let diag = err("a: 1\n---\nb: 2\n");
        assert_eq!(diag.code, Code::SyntaxError);
        assert_eq!(diag.message, "a spec file holds one YAML document");
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        let diag = err(&deep);
        assert_eq!(diag.code, Code::InputLimitExceeded);
        assert_eq!(diag.primary.expect("label").span, Span::new(32, 33));
        // Aliases cannot stack nesting beyond the limit either.
        let nested = format!("a: &a {}{}\nb: [[*a]]\n", "[".repeat(30), "]".repeat(30));
        let diag = err(&nested);
        assert_eq!(diag.code, Code::InputLimitExceeded);
        assert!(diag.message.contains("deeper"));
    }

    #[test]
    fn node_limit_stops_alias_bombs() {
        let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = "a".to_string();
        for level in 0..9 {
            let name = format!("b{level}");
            let refs = vec![format!("*{prev}"); 10].join(", ");
            src.push_str(&format!("{name}: &{name} [{refs}]\n"));
            prev = name;
        }
        let diag = err(&src);
        assert_eq!(diag.code, Code::InputLimitExceeded);
        assert!(diag.message.contains("200000 nodes"), "{}", diag.message);
        assert!(text(&src, diag.primary.expect("label").span).starts_with('*'));
    }

    #[test]
    fn alias_count_limit() {
        let src = format!("a: &a x\nb: [{}]\n", vec!["*a"; 1001].join(", "));
        let diag = err(&src);
        assert_eq!(diag.code, Code::InputLimitExceeded);
        assert!(diag.message.contains("aliases"), "{}", diag.message);
        let ok = format!("a: &a x\nb: [{}]\n", vec!["*a"; 1000].join(", "));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn long_strings_aliased_many_times_hit_the_copy_limit() {
        let mut src = format!("a: &a \"{}\"\n", "x".repeat(100_000));
        for (name, prev) in [("b", "a"), ("c", "b"), ("d", "c")] {
            let items = vec![format!("*{prev}"); 10].join(", ");
            src.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let err = parse(&src).map(|_| ()).expect_err("4 MiB of copies");
        assert_eq!(err.code, Code::InputLimitExceeded);
        assert!(err.message.contains("bytes of text"), "{}", err.message);
    }

    #[test]
    fn deep_flow_nesting_is_a_limit_not_a_syntax_error() {
        for depth in [40, 300] {
            let src = format!("a: {}{}", "[".repeat(depth), "]".repeat(depth));
            let err = parse(&src).map(|_| ()).expect_err("too deep");
            assert_eq!(
                err.code,
                Code::InputLimitExceeded,
                "{depth}: {}",
                err.message
            );
        }
    }

    #[test]
    fn leading_zero_decimals_are_integers() {
        let root = parse("a: 0127\nb: -01\n").expect("parses");
        let Value::Map(entries) = root.value else {
            panic!("map")
        };
        assert_eq!(entries[0].1.value, Value::Int(127));
        assert_eq!(entries[1].1.value, Value::Int(-1));
    }

    #[test]
    fn duplicates_inside_one_merged_mapping_are_kept_for_the_checker() {
        let root = parse("a:\n  <<: {x: 1, x: 2}\n  y: 3\n").expect("parses");
        let Value::Map(entries) = root.value else {
            panic!("map")
        };
        let Value::Map(inner) = &entries[0].1.value else {
            panic!("map")
        };
        let keys: Vec<_> = inner.iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["x", "x", "y"]);
    }
}
