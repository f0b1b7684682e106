use crate::diag::Span;

/// One YAML/JSON value with the byte span of its source text.
///
/// Mappings keep their entries in order, duplicates included, so that later phases can report
/// every duplicate key instead of the parser stopping at the first.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What this value is, in the words of error messages ("a list", "a string").
    pub fn kind_name(&self) -> &'static str {
        self.value.kind_name()
    }

    /// Every string in this tree, keys included, with its span.
    pub fn visit_strings<'a>(&'a self, f: &mut impl FnMut(&'a str, Span)) {
        match &self.value {
            Value::Str(s) => f(s, self.span),
            Value::Seq(items) => items.iter().for_each(|item| item.visit_strings(f)),
            Value::Map(entries) => {
                for (key, value) in entries {
                    key.visit_strings(f);
                    value.visit_strings(f);
                }
            }
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
    }
}

impl Value {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The value as JSON, spans dropped (duplicate keys: the first wins).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (key, value) in entries {
                    let key = match &key.value {
                        Value::Str(s) => s.clone(),
                        _ => key.to_json().to_string(),
                    };
                    map.entry(key).or_insert_with(|| value.to_json());
                }
                J::Object(map)
            }
        }
    }
}
