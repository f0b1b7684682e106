//! What the cursor is in, read from the text's indentation rather than a parse tree: while
//! someone types, the YAML is usually broken, and completion must work then most of all.
//! Block-style YAML only (the style every example and `coder init` uses).

use serde_json::Value;

/// Where the cursor is: the keys leading to the mapping it is in (`[]` for a list item),
/// and whether it is typing a key or the value of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub path: Vec<String>,
    /// The key whose value is being typed, or `None` when a key is being typed.
    pub key: Option<String>,
    /// What has been typed of the key or value so far (quotes dropped).
    pub prefix: String,
    /// Keys already in the same mapping, with their values when written on the line.
    pub siblings: Vec<(String, String)>,
    /// The value is an item of a flow list (`[a, b|`).
    pub in_flow_list: bool,
}

struct Line<'a> {
    /// Spaces before the first `- ` or content.
    spaces: usize,
    /// How many `- ` item markers lead the line.
    dashes: usize,
    /// The content after indentation and markers.
    content: &'a str,
}

impl Line<'_> {
    fn parse(text: &str) -> Line<'_> {
        let spaces = text.len() - text.trim_start_matches(' ').len();
        let mut content = &text[spaces..];
        let mut dashes = 0;
        while let Some(rest) = content.strip_prefix("- ").or_else(|| {
            // A lone `-` at the end of the line starts an item too.
            (content == "-").then_some("")
        }) {
            dashes += 1;
            content = rest.trim_start_matches(' ');
            if content.is_empty() {
                break;
            }
        }
        Line {
            spaces,
            dashes,
            content,
        }
    }

    /// Where the line's mapping content starts.
    fn content_indent(&self, raw: &str) -> usize {
        raw.len() - self.content.len()
    }

    fn is_blank(&self) -> bool {
        self.content.is_empty() && self.dashes == 0 || self.content.starts_with('#')
    }

    /// `key: value` → (key, value).
    fn entry(&self) -> Option<(&str, &str)> {
        let (key, value) = self.content.split_once(':')?;
        let key = key.trim().trim_matches(['"', '\'']);
        if key.is_empty() || key.contains(' ') {
            return None;
        }
        let value = value.split(" #").next().unwrap_or("").trim();
        Some((key, value))
    }
}

/// The cursor at byte `offset` of `text`.
pub fn cursor(text: &str, offset: usize) -> Cursor {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    let lines: Vec<&str> = text[..line_start].lines().collect();
    let current = Line::parse(before);
    let indent = current.content_indent(before);
    let path = if current.dashes > 0 {
        let mut path = enclosing(&lines, current.spaces);
        path.push("[]".to_string());
        path
    } else {
        enclosing(&lines, indent)
    };
    let (key, prefix, in_flow_list) = match current.content.split_once(':') {
        Some((key, value)) if !key.trim().is_empty() && !key.contains(' ') => {
            let value = value.trim_start();
            let (prefix, in_list) = match value.strip_prefix('[') {
                Some(list) => (list.rsplit(',').next().unwrap_or("").trim(), true),
                None => (value, false),
            };
            (
                Some(key.trim().trim_matches(['"', '\'']).to_string()),
                prefix.trim_matches(['"', '\'']).to_string(),
                in_list,
            )
        }
        _ => (None, current.content.trim().to_string(), false),
    };
    let after = text[offset..].split('\n').skip(1);
    Cursor {
        siblings: siblings(&lines, after, indent, current.dashes > 0),
        path,
        key,
        prefix,
        in_flow_list,
    }
}

/// The keys leading to the mapping whose entries are indented `indent`, read upward.
fn enclosing(lines: &[&str], indent: usize) -> Vec<String> {
    for (index, raw) in lines.iter().enumerate().rev() {
        let line = Line::parse(raw);
        if line.is_blank() {
            continue;
        }
        let content_indent = line.content_indent(raw);
        if line.dashes > 0 && content_indent == indent {
            // An earlier entry of the same list item.
            let mut path = enclosing(&lines[..index], line.spaces);
            path.push("[]".to_string());
            return path;
        }
        if content_indent < indent {
            let Some((key, value)) = line.entry() else {
                return Vec::new();
            };
            if !value.is_empty() {
                return Vec::new(); // Not a block: the cursor's indentation is off.
            }
            let mut path = if line.dashes > 0 {
                let mut path = enclosing(&lines[..index], line.spaces);
                path.push("[]".to_string());
                path
            } else {
                enclosing(&lines[..index], content_indent)
            };
            path.push(key.to_string());
            return path;
        }
    }
    Vec::new()
}

/// The other entries of the mapping at `indent`: upward to its start, downward to its end.
fn siblings<'a>(
    above: &[&str],
    below: impl Iterator<Item = &'a str>,
    indent: usize,
    starts_item: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |line: &Line<'_>| {
        if let Some((key, value)) = line.entry() {
            out.push((key.to_string(), value.trim_matches(['"', '\'']).to_string()));
        }
    };
    if !starts_item {
        for raw in above.iter().rev() {
            let line = Line::parse(raw);
            if line.is_blank() {
                continue;
            }
            let content_indent = line.content_indent(raw);
            if content_indent < indent {
                break;
            }
            if content_indent == indent {
                add(&line);
                if line.dashes > 0 {
                    break;
                }
            }
        }
    }
    for raw in below {
        let line = Line::parse(raw);
        if line.is_blank() {
            continue;
        }
        let content_indent = line.content_indent(raw);
        if content_indent < indent || line.dashes > 0 {
            break;
        }
        if content_indent == indent {
            add(&line);
        }
    }
    out
}

/// The schema of the value at `path` in the spec's JSON Schema (`[]` for list items), with
/// `variant` choosing among a tagged union's members by their `type`.
pub fn schema_at<'s>(root: &'s Value, path: &[String], variant: Option<&str>) -> Vec<&'s Value> {
    let mut current = vec![root];
    for (depth, segment) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let mut next = Vec::new();
        for schema in current.iter().flat_map(|s| members(root, s, None)) {
            let child = if segment == "[]" {
                schema.get("items")
            } else {
                schema.get("properties").and_then(|p| p.get(segment))
            };
            if let Some(child) = child {
                next.push(resolve(root, child));
            }
        }
        if next.is_empty() {
            return Vec::new();
        }
        current = next;
        if last {
            break;
        }
    }
    current
        .into_iter()
        .flat_map(|s| members(root, s, variant))
        .collect()
}

/// A schema's members: itself, or those of its `oneOf` (just the one whose `type` is
/// `variant`, when one is).
fn members<'s>(root: &'s Value, schema: &'s Value, variant: Option<&str>) -> Vec<&'s Value> {
    let schema = resolve(root, schema);
    let Some(Value::Array(options)) = schema.get("oneOf").or_else(|| schema.get("anyOf")) else {
        return vec![schema];
    };
    let options: Vec<&Value> = options.iter().map(|o| resolve(root, o)).collect();
    let chosen: Vec<&Value> = options
        .iter()
        .copied()
        .filter(|o| {
            variant.is_some_and(|v| {
                o.pointer("/properties/type/const").and_then(Value::as_str) == Some(v)
            })
        })
        .collect();
    if chosen.is_empty() { options } else { chosen }
}

fn resolve<'s>(root: &'s Value, schema: &'s Value) -> &'s Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .unwrap_or(schema),
        None => schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Cursor {
        let offset = text.find('|').expect("a cursor");
        cursor(&text.replace('|', ""), offset)
    }

    #[test]
    fn keys_and_values_in_lists_and_mappings() {
        let c = at("name: x\nsteps:\n  - type: agent\n    ro|\n");
        assert_eq!(c.path, ["steps", "[]"]);
        assert_eq!(c.key, None);
        assert_eq!(c.prefix, "ro");
        assert!(c.siblings.contains(&("type".into(), "agent".into())));

        let c = at("steps:\n  - type: agent\n    role: imp|\n");
        assert_eq!(c.path, ["steps", "[]"]);
        assert_eq!(c.key.as_deref(), Some("role"));
        assert_eq!(c.prefix, "imp");

        let c = at("triggers:\n  - type: c|\n");
        assert_eq!(c.path, ["triggers", "[]"]);
        assert_eq!(c.key.as_deref(), Some("type"));

        let c = at("policies:\n  budget:\n    max_credits: 10\n    |\n");
        assert_eq!(c.path, ["policies", "budget"]);
        assert!(c.siblings.contains(&("max_credits".into(), "10".into())));

        let c = at("policies:\n  gates:\n    require_human_approval_for: [deploy.prod, |\n");
        assert_eq!(c.key.as_deref(), Some("require_human_approval_for"));
        assert!(c.in_flow_list);
        assert_eq!(c.prefix, "");

        let c = at("na|");
        assert!(c.path.is_empty());
        assert_eq!(c.prefix, "na");
    }

    #[test]
    fn the_schema_follows_paths_refs_and_variants() {
        let schema: Value =
            serde_json::from_str(&crate::model::schema::json_schema()).expect("schema");
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let steps = schema_at(&schema, &path(&["steps", "[]"]), Some("agent"));
        assert_eq!(steps.len(), 1);
        assert!(steps[0].pointer("/properties/role").is_some());
        let all = schema_at(&schema, &path(&["steps", "[]"]), None);
        assert_eq!(all.len(), 4);
        let budget = schema_at(&schema, &path(&["policies", "budget"]), None);
        assert!(budget[0].pointer("/properties/max_credits").is_some());
    }
}
