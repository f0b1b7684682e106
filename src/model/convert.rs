//! Parse tree → typed spec. Every shape problem (unknown, duplicate or missing keys, wrong
//! types, unknown kinds, empty text) is reported at its node; items that cannot be built are
//! left out so that the checks after this still run on the rest of the file.

use super::spec::*;
use crate::diag::suggest::{did_you_mean, help_for};
use crate::diag::{Code, Diagnostic, Span};
use crate::parse::{Node, Value};

/// Build the spec from a document's root node. `None` when the root is not a workflow at all.
pub fn convert(root: &Node, diags: &mut Vec<Diagnostic>) -> Option<Spec> {
    let mut cx = Cx { diags };
    if matches!(root.value, Value::Null) {
        cx.diags.push(
            Diagnostic::new(Code::EmptyFile, "file defines no workflow")
                .help("a workflow needs at least `name:` and `steps:`"),
        );
        return None;
    }
    let mut map = cx.mapping(root)?;
    let schema = map.take("$schema").and_then(|n| cx.string(n));
    let version = map.take("version").and_then(|n| cx.uint(n));
    let workflow_id = map.take("workflow_id").and_then(|n| cx.string(n));
    let name_node = map.take("name");
    let name = name_node.and_then(|n| cx.text(n, "name"));
    let project = map.take("project").and_then(|n| project(&mut cx, n));
    let triggers = map.take("triggers").and_then(|n| {
        let items = cx.list(n)?;
        Some(
            items
                .iter()
                .filter_map(|item| trigger(&mut cx, item))
                .collect(),
        )
    });
    let policies = map.take("policies").and_then(|n| policies(&mut cx, n));
    let steps_node = map.take("steps");
    let steps = steps_node.and_then(|n| cx.list(n)).map(|items| {
        items
            .iter()
            .filter_map(|item| step(&mut cx, item))
            .collect()
    });
    if let Some(Value::Seq(items)) = steps_node.map(|n| &n.value)
        && items.is_empty()
    {
        let node = steps_node.map_or(root.span, |n| n.span);
        cx.diags.push(
            Diagnostic::new(Code::EmptySteps, "workflow has no steps")
                .at(node, "empty list")
                .help("add at least one step, such as `- type: agent`"),
        );
    }
    if name_node.is_none() {
        map.missing("name", "the workflow");
    }
    if steps_node.is_none() {
        map.missing("steps", "the workflow");
    }
    map.finish(&mut cx, None);
    Some(Spec {
        schema,
        version,
        workflow_id,
        name: name.unwrap_or_else(|| Spanned::new(String::new(), root.span)),
        project,
        triggers,
        policies,
        steps: steps.unwrap_or_default(),
    })
}

/// For unknown keys of a step or trigger: its kind, the noun, and every kind's fields.
type KindContext<'a> = (&'a str, &'a str, &'a [(&'a str, &'a [&'a str])]);

struct Cx<'d> {
    diags: &'d mut Vec<Diagnostic>,
}

/// The entries of one mapping, tracking which keys the converter asked for.
struct Fields<'n> {
    /// First entry of each key; later duplicates are reported and dropped.
    entries: Vec<(&'n str, &'n Node, &'n Node, bool)>,
    /// The span that stands for the mapping in "missing field" errors: its first key.
    anchor: Span,
    asked: Vec<&'static str>,
    /// Required keys that are absent, with what they are missing from.
    missing: Vec<(&'static str, String)>,
}

impl<'n> Fields<'n> {
    /// The value of `key`, marking it as a known field here.
    fn take(&mut self, key: &'static str) -> Option<&'n Node> {
        self.asked.push(key);
        let entry = self.entries.iter_mut().find(|(k, ..)| *k == key)?;
        entry.3 = true;
        Some(entry.2)
    }

    /// Note a required key as absent; [`Fields::finish`] reports it.
    fn missing(&mut self, key: &'static str, what: &str) {
        self.missing.push((key, what.to_string()));
    }

    /// Report every key nobody asked for, and every required key that is absent. A misspelt
    /// required key (`nmae:`) is one mistake: it is reported once, as an unknown key whose
    /// help names the missing one. `kinds` lists the fields of other step or trigger kinds, so
    /// that `goal` on a command step says where `goal` belongs.
    fn finish(mut self, cx: &mut Cx<'_>, kinds: Option<KindContext<'_>>) {
        for (key, key_node, _, used) in &self.entries {
            if *used {
                continue;
            }
            let missing_names = self.missing.iter().map(|(k, _)| *k);
            if let Some(meant) = did_you_mean(key, missing_names) {
                self.missing.retain(|(k, _)| *k != meant);
                cx.diags.push(
                    Diagnostic::new(Code::UnknownKey, format!("unknown field `{key}`"))
                        .at(key_node.span, format!("`{meant}` is missing; is this it?"))
                        .help(format!("did you mean `{meant}`?")),
                );
                continue;
            }
            let mut diag = Diagnostic::new(Code::UnknownKey, format!("unknown field `{key}`"));
            let belongs_to = kinds.and_then(|(_, _, table)| {
                table
                    .iter()
                    .find(|(_, fields)| fields.contains(key))
                    .map(|(kind, _)| *kind)
            });
            let label;
            match (kinds, belongs_to) {
                (Some((this_kind, noun, _)), Some(other)) => {
                    label = format!("not a field of a `{this_kind}` {noun}");
                    diag = diag.help(format!("`{key}` is a field of `{other}` {noun}s"));
                }
                _ => {
                    label = "unknown field".to_string();
                    diag = diag.help(help_for(key, self.asked.iter().copied()));
                }
            }
            cx.diags.push(diag.at(key_node.span, label));
        }
        for (key, what) in self.missing {
            cx.diags.push(
                Diagnostic::new(
                    Code::MissingField,
                    format!("missing field `{key}` in {what}"),
                )
                .at(self.anchor, format!("{what} has no `{key}`"))
                .help(format!("add `{key}:`")),
            );
        }
    }

    /// Without a known `type` the other keys cannot be judged: report only a misspelt `type`.
    fn finish_unknown_kind(mut self, cx: &mut Cx<'_>) {
        if !self.missing.is_empty() {
            self.entries
                .retain(|(key, ..)| did_you_mean(key, ["type"]).is_some());
            self.finish(cx, None);
        }
    }
}

impl<'d> Cx<'d> {
    fn wrong_type(&mut self, node: &Node, expected: &str) {
        let mut diag = Diagnostic::new(
            Code::WrongType,
            format!("expected {expected}, found {}", node.kind_name()),
        )
        .at(node.span, format!("{} here", node.kind_name()));
        if expected == "a string"
            && matches!(node.value, Value::Int(_) | Value::Float(_) | Value::Bool(_))
        {
            diag = diag.help("put the value in quotes to make it a string");
        }
        self.diags.push(diag);
    }

    fn mapping<'n>(&mut self, node: &'n Node) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, "a mapping");
            return None;
        };
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
            anchor: entries.first().map_or(node.span, |(k, _)| k.span),
            asked: Vec::new(),
            missing: Vec::new(),
        };
        // First entry of each key, for duplicate detection in linear time.
        let mut first_of: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                self.diags.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("keys must be strings, found {}", key.kind_name()),
                    )
                    .at(key.span, "not a string key"),
                );
                continue;
            };
            if let Some(first) = first_of.get(name.as_str()) {
                self.diags.push(
                    Diagnostic::new(Code::DuplicateKey, format!("duplicate key `{name}`"))
                        .at(key.span, "duplicate key")
                        .also(*first, "first defined here")
                        .help("remove one of the two entries; tools disagree on which one wins"),
                );
                continue;
            }
            first_of.insert(name, key.span);
            fields.entries.push((name, key, value, false));
        }
        Some(fields)
    }

    fn list<'n>(&mut self, node: &'n Node) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, "a list");
                None
            }
        }
    }

    fn string(&mut self, node: &Node) -> Option<Spanned<String>> {
        match &node.value {
            Value::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            _ => {
                self.wrong_type(node, "a string");
                None
            }
        }
    }

    /// A string that must hold text.
    fn text(&mut self, node: &Node, field: &str) -> Option<Spanned<String>> {
        let value = self.string(node)?;
        if value.value.trim().is_empty() {
            self.diags.push(
                Diagnostic::new(Code::EmptyValue, format!("`{field}` is empty"))
                    .at(node.span, "empty")
                    .help(format!(
                        "write the {field}, or remove the field if it is optional"
                    )),
            );
            return None;
        }
        Some(value)
    }

    fn string_list(&mut self, node: &Node) -> Option<Vec<Spanned<String>>> {
        let items = self.list(node)?;
        Some(items.iter().filter_map(|item| self.string(item)).collect())
    }

    fn boolean(&mut self, node: &Node) -> Option<Spanned<bool>> {
        match node.value {
            Value::Bool(b) => Some(Spanned::new(b, node.span)),
            _ => {
                self.wrong_type(node, "`true` or `false`");
                None
            }
        }
    }

    fn uint(&mut self, node: &Node) -> Option<Spanned<u64>> {
        match node.value {
            Value::Int(i) if i >= 0 => Some(Spanned::new(i as u64, node.span)),
            Value::Int(_) => {
                self.wrong_type(node, "a non-negative integer");
                None
            }
            _ => {
                self.wrong_type(node, "an integer");
                None
            }
        }
    }

    fn int(&mut self, node: &Node) -> Option<Spanned<i64>> {
        match node.value {
            Value::Int(i) => Some(Spanned::new(i, node.span)),
            _ => {
                self.wrong_type(node, "an integer number of seconds");
                None
            }
        }
    }

    fn number(&mut self, node: &Node) -> Option<Spanned<f64>> {
        match node.value {
            Value::Int(i) => Some(Spanned::new(i as f64, node.span)),
            Value::Float(f) if f.is_finite() => Some(Spanned::new(f, node.span)),
            Value::Float(f) => {
                let what = if f.is_nan() {
                    "not a number"
                } else {
                    "infinite"
                };
                self.diags.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("expected a finite number, found {what}"),
                    )
                    .at(node.span, what)
                    .help("write a number such as `50` or `12.5`"),
                );
                None
            }
            _ => {
                self.wrong_type(node, "a number");
                None
            }
        }
    }

    /// The `type:` of a trigger or step, checked against the known kinds.
    fn kind<'k>(
        &mut self,
        fields: &mut Fields<'_>,
        noun: &str,
        kinds: &[(&'k str, &[&str])],
        code: Code,
    ) -> Option<&'k str> {
        let Some(node) = fields.take("type") else {
            fields.missing("type", &format!("this {noun}"));
            return None;
        };
        let value = self.string(node)?;
        let names = kinds.iter().map(|(k, _)| *k);
        if let Some(kind) = kinds.iter().find(|(k, _)| *k == value.value) {
            return Some(kind.0);
        }
        self.diags.push(
            Diagnostic::new(code, format!("unknown {noun} type `{}`", value.value))
                .at(node.span, format!("not a {noun} type"))
                .help(help_for(&value.value, names)),
        );
        None
    }
}

fn project(cx: &mut Cx<'_>, node: &Node) -> Option<Spanned<Project>> {
    let mut map = cx.mapping(node)?;
    let provider = map.take("provider").and_then(|n| {
        let name = cx.string(n)?;
        match Provider::ALL.into_iter().find(|p| p.as_str() == name.value) {
            Some(p) => Some(Spanned::new(p, n.span)),
            None => {
                cx.diags.push(
                    Diagnostic::new(
                        Code::UnknownProvider,
                        format!("unknown provider `{}`", name.value),
                    )
                    .at(n.span, "not a provider")
                    .help(help_for(&name.value, Provider::ALL.map(Provider::as_str))),
                );
                None
            }
        }
    });
    let owner = map.take("owner").and_then(|n| cx.text(n, "owner"));
    let repo = map.take("repo").and_then(|n| cx.text(n, "repo"));
    let git_ref = map.take("ref").and_then(|n| cx.text(n, "ref"));
    map.finish(cx, None);
    Some(Spanned::new(
        Project {
            provider,
            owner,
            repo,
            git_ref,
        },
        node.span,
    ))
}

fn trigger(cx: &mut Cx<'_>, node: &Node) -> Option<Spanned<Trigger>> {
    let mut map = cx.mapping(node)?;
    let Some(kind) = cx.kind(
        &mut map,
        "trigger",
        &TRIGGER_KINDS,
        Code::UnknownTriggerType,
    ) else {
        map.finish_unknown_kind(cx);
        return None;
    };
    let what = format!("this `{kind}` trigger");
    let required = |map: &mut Fields<'_>, cx: &mut Cx<'_>, key: &'static str| {
        let value = map.take(key);
        if value.is_none() {
            map.missing(key, &what);
        }
        value.and_then(|n| cx.text(n, key))
    };
    let trigger = match kind {
        "manual" => Some(Trigger::Manual {}),
        "cron" => {
            let cron = required(&mut map, cx, "cron");
            let timezone = map.take("timezone").and_then(|n| cx.text(n, "timezone"));
            cron.map(|cron| Trigger::Cron { cron, timezone })
        }
        "repo_event" => required(&mut map, cx, "event").map(|event| Trigger::RepoEvent { event }),
        _ => {
            let name = required(&mut map, cx, "name");
            let secret_ref = required(&mut map, cx, "secret_ref");
            name.zip(secret_ref)
                .map(|(name, secret_ref)| Trigger::Webhook { name, secret_ref })
        }
    };
    map.finish(cx, Some((kind, "trigger", &TRIGGER_KINDS)));
    Some(Spanned::new(trigger?, map_span(node)))
}

fn step(cx: &mut Cx<'_>, node: &Node) -> Option<Spanned<Step>> {
    let mut map = cx.mapping(node)?;
    let step_id = map.take("step_id").and_then(|n| cx.string(n));
    // A step that does not convert keeps its place: ids default by position.
    let invalid = |step_id| Some(Spanned::new(Step::Invalid { step_id }, map_span(node)));
    let Some(kind) = cx.kind(&mut map, "step", &STEP_KINDS, Code::UnknownStepType) else {
        map.finish_unknown_kind(cx);
        return invalid(step_id);
    };
    let what = format!("this `{kind}` step");
    let kept_id = step_id.clone();
    let name_node = map.take("name");
    let name = name_node.and_then(|n| cx.text(n, "name"));
    let required = |map: &mut Fields<'_>, cx: &mut Cx<'_>, key: &'static str| {
        let value = map.take(key);
        if value.is_none() {
            map.missing(key, &what);
        }
        value.and_then(|n| cx.text(n, key))
    };
    let secrets = if kind == "approve" {
        None
    } else {
        map.take("secrets").and_then(|n| cx.string_list(n))
    };
    let if_failed = if matches!(kind, "agent" | "command") {
        map.take("if_failed").and_then(|n| cx.text(n, "if_failed"))
    } else {
        None
    };
    let step = match kind {
        "agent" => {
            let role_node = map.take("role");
            let role = match role_node {
                None => {
                    map.missing("role", &what);
                    None
                }
                Some(n) => cx
                    .string(n)
                    .and_then(|role| match Role::parse(&role.value) {
                        Some(r) => Some(Spanned::new(r, n.span)),
                        None => {
                            cx.diags.push(
                                Diagnostic::new(
                                    Code::UnknownRole,
                                    format!("unknown role `{}`", role.value),
                                )
                                .at(n.span, "not a role")
                                .help(help_for(&role.value, Role::ALL.map(Role::as_str))),
                            );
                            None
                        }
                    }),
            };
            let goal = required(&mut map, cx, "goal");
            role.zip(goal).map(|(role, goal)| Step::Agent {
                step_id,
                name,
                role,
                goal,
                secrets,
                if_failed,
            })
        }
        "command" => {
            let continue_on_failure = map.take("continue_on_failure").and_then(|n| cx.boolean(n));
            required(&mut map, cx, "command").map(|command| Step::Command {
                step_id,
                name,
                command,
                secrets,
                continue_on_failure,
                if_failed,
            })
        }
        "deploy" => required(&mut map, cx, "target").map(|target| Step::Deploy {
            step_id,
            name,
            target,
            secrets,
        }),
        _ => {
            let reason = map.take("reason").and_then(|n| cx.text(n, "reason"));
            Some(Step::Approve {
                step_id,
                name,
                reason,
            })
        }
    };
    map.finish(cx, Some((kind, "step", &STEP_KINDS)));
    match step {
        Some(step) => Some(Spanned::new(step, map_span(node))),
        None => invalid(kept_id),
    }
}

/// A mapping's own span is empty (it sits at its first key); that point stands for the item.
fn map_span(node: &Node) -> Span {
    match &node.value {
        Value::Map(entries) => entries.first().map_or(node.span, |(k, _)| k.span),
        _ => node.span,
    }
}

fn policies(cx: &mut Cx<'_>, node: &Node) -> Option<Policies> {
    let mut map = cx.mapping(node)?;
    let budget = map.take("budget").and_then(|n| {
        let mut m = cx.mapping(n)?;
        let max_credits = m.take("max_credits").and_then(|n| cx.number(n));
        let max_wall_clock_sec = m.take("max_wall_clock_sec").and_then(|n| cx.int(n));
        m.finish(cx, None);
        Some(Budget {
            max_credits,
            max_wall_clock_sec,
        })
    });
    let repo = map.take("repo").and_then(|n| {
        let mut m = cx.mapping(n)?;
        let allowed_paths = m.take("allowed_paths").and_then(|n| cx.string_list(n));
        let blocked_paths = m.take("blocked_paths").and_then(|n| cx.string_list(n));
        m.finish(cx, None);
        Some(RepoPolicy {
            allowed_paths,
            blocked_paths,
        })
    });
    let secrets = map.take("secrets").and_then(|n| cx.string_list(n));
    let gates = map.take("gates").and_then(|n| {
        let mut m = cx.mapping(n)?;
        let require_human_approval_for = m
            .take("require_human_approval_for")
            .and_then(|n| cx.string_list(n));
        m.finish(cx, None);
        Some(Gates {
            require_human_approval_for,
        })
    });
    map.finish(cx, None);
    Some(Policies {
        budget,
        repo,
        secrets,
        gates,
    })
}
