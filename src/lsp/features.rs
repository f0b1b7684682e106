//! What the server answers: diagnostics in LSP form, hover, completion, go to definition,
//! document symbols and the did-you-mean quick fixes.

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CompletionItem, CompletionItemKind, CompletionOptions,
    CompletionParams, CompletionResponse, DiagnosticRelatedInformation, DiagnosticSeverity,
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, Hover, HoverContents, HoverParams, HoverProviderCapability, Location,
    MarkupContent, MarkupKind, NumberOrString, OneOf, Position, ServerCapabilities, SymbolKind,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri, WorkspaceEdit,
};
use serde_json::Value;

use super::context::{cursor, schema_at};
use super::position;
use crate::diag::codes::Code;
use crate::diag::{Diagnostic, Severity};
use crate::model::{Role, Selector, Spec, Step, Trigger, events};
use crate::pipeline::CheckedFile;
use crate::workspace::Repository;

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".into(), " ".into(), ".".into(), "-".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

/// What a request is answered from.
pub struct Cx<'a> {
    pub uri: &'a Uri,
    pub text: &'a str,
    pub starts: &'a [usize],
    /// The spec as last checked (`None` for the configuration).
    pub checked: Option<&'a CheckedFile>,
    pub is_config: bool,
    pub repository: &'a Repository,
    pub schema: &'a Value,
}

impl Cx<'_> {
    fn offset(&self, position: Position) -> usize {
        position::offset(self.text, self.starts, position)
    }

    fn range(&self, span: crate::diag::Span) -> lsp_types::Range {
        position::range(self.text, self.starts, span.start, span.end)
    }

    fn spec(&self) -> Option<&Spec> {
        self.checked.and_then(|c| c.spec.as_ref())
    }
}

/// The document a request is about.
pub trait HasDocument {
    fn document(&self) -> &Uri;
}

macro_rules! has_document {
    ($($params:ty => |$p:ident| $uri:expr),* $(,)?) => {
        $(impl HasDocument for $params {
            fn document(&self) -> &Uri {
                let $p = self;
                $uri
            }
        })*
    };
}

has_document! {
    HoverParams => |p| &p.text_document_position_params.text_document.uri,
    CompletionParams => |p| &p.text_document_position.text_document.uri,
    GotoDefinitionParams => |p| &p.text_document_position_params.text_document.uri,
    DocumentSymbolParams => |p| &p.text_document.uri,
    CodeActionParams => |p| &p.text_document.uri,
}

/// A coder diagnostic as the editor shows it: the label and help in the message, secondary
/// labels as related information, a did-you-mean replacement as data for the quick fix.
pub(super) fn to_lsp(document: &super::Document, diag: &Diagnostic) -> lsp_types::Diagnostic {
    let (text, starts) = (&document.text, &document.starts);
    let range = diag
        .primary
        .as_ref()
        .map_or_else(lsp_types::Range::default, |label| {
            position::range(text, starts, label.span.start, label.span.end)
        });
    let mut message = diag.message.clone();
    if let Some(label) = diag.primary.as_ref().filter(|l| !l.message.is_empty()) {
        message.push_str(&format!("\n{}", label.message));
    }
    if let Some(help) = &diag.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = diag
        .secondary
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(
                document.uri.clone(),
                position::range(text, starts, label.span.start, label.span.end),
            ),
            message: label.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(match diag.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diag.code.as_str().to_string())),
        source: Some("coder".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        data: suggestion(diag).map(|replacement| serde_json::json!({ "replacement": replacement })),
        ..lsp_types::Diagnostic::default()
    }
}

/// The name a did-you-mean help suggests.
fn suggestion(diag: &Diagnostic) -> Option<String> {
    let help = diag.help.as_deref()?;
    let rest = help.strip_prefix("did you mean `")?;
    let end = rest.find('`')?;
    diag.primary.as_ref()?;
    Some(rest[..end].to_string())
}

pub fn hover(cx: &Cx<'_>, params: HoverParams) -> Option<Hover> {
    let at = params.text_document_position_params.position;
    let offset = cx.offset(at);
    // On a problem: what its code means.
    if let Some(checked) = cx.checked {
        let found = checked.report.diagnostics.iter().find(|d| {
            d.primary
                .as_ref()
                .is_some_and(|l| l.span.start <= offset && offset <= l.span.end)
        });
        if let Some(diag) = found {
            return Some(explain(diag.code));
        }
    }
    // On a code written in the text (`# allowed: C0404`): what it means.
    if let Some(code) = code_at(cx.text, offset) {
        return Some(explain(code));
    }
    if cx.is_config {
        return None;
    }
    let line_start = cx.text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = cx.text[offset..]
        .find('\n')
        .map_or(cx.text.len(), |i| offset + i);
    let line = &cx.text[line_start..line_end];
    let colon = line.find(':')?;
    let key_start = line_start + line.len() - line.trim_start_matches([' ', '-']).len();
    let key = line[key_start - line_start..colon]
        .trim()
        .trim_matches(['"', '\'']);
    let here = cursor(cx.text, key_start);
    if key == "cron" && offset > line_start + colon {
        let cron = line[colon + 1..]
            .split(" #")
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '\'']);
        let zone = here
            .siblings
            .iter()
            .find(|(k, _)| k == "timezone")
            .map_or("UTC", |(_, v)| v.as_str());
        return Some(markdown(next_firings(cron, zone)));
    }
    let variant = variant(&here.siblings);
    let description = schema_at(cx.schema, &here.path, variant.as_deref())
        .into_iter()
        .find_map(|schema| {
            schema
                .pointer(&format!("/properties/{key}/description"))
                .and_then(Value::as_str)
        })?;
    Some(markdown(format!("**{key}**\n\n{description}")))
}

/// A code's `coder explain` text.
fn explain(code: Code) -> Hover {
    markdown(format!(
        "**{} {}**\n\n{}",
        code.as_str(),
        code.info().name,
        code.info().explanation()
    ))
}

/// The diagnostic code (`C` and four digits) under byte `offset`, if the word there is one.
fn code_at(text: &str, offset: usize) -> Option<Code> {
    let is_word = |c: char| c.is_ascii_alphanumeric();
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word(c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|&(_, c)| !is_word(c))
        .map_or(text.len(), |(i, _)| offset + i);
    let word = &text[start..end];
    let digits = word.strip_prefix(['C', 'c'])?;
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Code::lookup(word)
}

fn markdown(value: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

/// The next five times a cron fires in its zone, from now.
fn next_firings(cron: &str, zone_name: &str) -> String {
    let Ok(expr) = crate::schedule::parse_cron(cron) else {
        return format!("`{cron}` is not a valid cron expression");
    };
    let Some(zone) = crate::schedule::time_zone(zone_name) else {
        return format!("`{zone_name}` is not a known time zone");
    };
    let times = crate::schedule::civil::next_firings(&expr, &zone, jiff::Timestamp::now(), 5);
    if times.is_empty() {
        return format!("`{cron}` never fires");
    }
    let mut out = format!("`{cron}` in {zone_name} fires next at:\n");
    for time in times {
        out.push_str(&format!("\n- {}", time.strftime("%a %Y-%m-%d %H:%M %Z")));
    }
    out
}

/// The `type` written among a mapping's entries: which variant of a tagged union it is.
fn variant(siblings: &[(String, String)]) -> Option<String> {
    siblings
        .iter()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

pub fn completion(cx: &Cx<'_>, params: CompletionParams) -> Option<CompletionResponse> {
    if cx.is_config {
        return None;
    }
    let offset = cx.offset(params.text_document_position.position);
    let here = cursor(cx.text, offset);
    let variant = variant(&here.siblings);
    let schemas = schema_at(cx.schema, &here.path, variant.as_deref());
    let parent = here
        .path
        .iter()
        .rev()
        .find(|s| *s != "[]")
        .map(String::as_str);
    let items: Vec<CompletionItem> = match here.key.as_deref() {
        // A gate selector as a block list item.
        None if parent == Some("require_human_approval_for") => {
            values(selectors(cx), CompletionItemKind::REFERENCE)
        }
        None => {
            let present: Vec<&str> = here.siblings.iter().map(|(k, _)| k.as_str()).collect();
            let mut keys: Vec<CompletionItem> = Vec::new();
            for schema in &schemas {
                let Some(Value::Object(properties)) = schema.get("properties") else {
                    continue;
                };
                for (name, property) in properties {
                    if present.contains(&name.as_str())
                        || name.starts_with('$')
                        || keys.iter().any(|k| k.label == *name)
                    {
                        continue;
                    }
                    keys.push(CompletionItem {
                        label: name.clone(),
                        kind: Some(CompletionItemKind::PROPERTY),
                        documentation: property
                            .get("description")
                            .and_then(Value::as_str)
                            .map(|d| lsp_types::Documentation::String(d.to_string())),
                        insert_text: Some(format!("{name}: ")),
                        ..CompletionItem::default()
                    });
                }
            }
            keys
        }
        Some(key) => value_items(cx, key, &here.path),
    };
    let items: Vec<CompletionItem> = items
        .into_iter()
        .filter(|item| matches_prefix(&item.label, &here.prefix))
        .collect();
    Some(CompletionResponse::Array(items))
}

/// Whether what was typed starts the label or one of its parts after a `/`, `.` or `_`:
/// `berl` finds `Europe/Berlin`, `merged` finds `pull_request.merged`.
fn matches_prefix(label: &str, typed: &str) -> bool {
    let (label, typed) = (label.to_ascii_lowercase(), typed.to_ascii_lowercase());
    label.starts_with(&typed)
        || label
            .match_indices(['/', '.', '_'])
            .any(|(i, sep)| label[i + sep.len()..].starts_with(&typed))
}

/// The values `key` takes at `path`.
fn value_items(cx: &Cx<'_>, key: &str, path: &[String]) -> Vec<CompletionItem> {
    let list = |names: Vec<String>| values(names, CompletionItemKind::ENUM_MEMBER);
    match key {
        "type" => {
            let kinds: Vec<String> = schema_at(cx.schema, path, None)
                .iter()
                .filter_map(|s| s.pointer("/properties/type/const").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
            list(kinds)
        }
        "role" => list(Role::ALL.iter().map(|r| r.as_str().to_string()).collect()),
        "provider" => list(vec!["github".into(), "gitlab".into()]),
        "target" => list(
            cx.repository
                .config
                .deploy_targets()
                .map(str::to_string)
                .collect(),
        ),
        "event" => list(
            events::catalog()
                .iter()
                .flat_map(|event| {
                    std::iter::once(event.name.to_string()).chain(
                        event
                            .actions
                            .iter()
                            .map(move |action| format!("{}.{action}", event.name)),
                    )
                })
                .collect(),
        ),
        "timezone" => list(crate::schedule::zones::valid_names()),
        "require_human_approval_for" => values(selectors(cx), CompletionItemKind::REFERENCE),
        // The steps a condition can name: those whose failure lets the run go on.
        "if_failed" => values(
            cx.spec()
                .map(|spec| {
                    (0..spec.steps.len())
                        .filter(|&i| spec.steps[i].value.continues_on_failure())
                        .map(|i| spec.step_id(i).into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            CompletionItemKind::REFERENCE,
        ),
        "secret_ref" => list(
            cx.spec()
                .and_then(|spec| spec.policies().secrets.as_ref())
                .map(|secrets| secrets.iter().map(|s| s.value.clone()).collect())
                .unwrap_or_default(),
        ),
        _ => Vec::new(),
    }
}

/// Every gate selector that names something: deploy targets, roles, step kinds, step ids.
fn selectors(cx: &Cx<'_>) -> Vec<String> {
    let mut out: Vec<String> = cx
        .repository
        .config
        .deploy_targets()
        .map(|t| format!("deploy.{t}"))
        .collect();
    out.extend(Role::ALL.iter().map(|r| format!("agent.{}", r.as_str())));
    out.extend(["command".to_string(), "approve".to_string()]);
    if let Some(spec) = cx.spec() {
        out.extend((0..spec.steps.len()).map(|i| spec.step_id(i).into_owned()));
    }
    out
}

fn values(names: Vec<String>, kind: CompletionItemKind) -> Vec<CompletionItem> {
    names
        .into_iter()
        .map(|name| CompletionItem {
            label: name,
            kind: Some(kind),
            ..CompletionItem::default()
        })
        .collect()
}

/// From a gate selector to the steps it gates; from an `if_failed` to the step it names.
pub fn definition(cx: &Cx<'_>, params: GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    let spec = cx.spec()?;
    let offset = cx.offset(params.text_document_position_params.position);
    let condition = spec
        .steps
        .iter()
        .filter_map(|step| step.value.if_failed())
        .find(|named| named.span.start <= offset && offset <= named.span.end);
    if let Some(named) = condition {
        let at = (0..spec.steps.len()).find(|&i| spec.step_id(i) == named.value)?;
        return Some(GotoDefinitionResponse::Scalar(Location::new(
            cx.uri.clone(),
            cx.range(spec.steps[at].span),
        )));
    }
    let gates = spec.policies().gates.as_ref()?;
    let entry = gates
        .require_human_approval_for
        .as_deref()?
        .iter()
        .find(|entry| entry.span.start <= offset && offset <= entry.span.end)?;
    let selector = Selector::parse(&entry.value)?;
    let locations: Vec<Location> = (0..spec.steps.len())
        .filter(|&i| selector.matches(spec, i))
        .map(|i| Location::new(cx.uri.clone(), cx.range(spec.steps[i].span)))
        .collect();
    (!locations.is_empty()).then_some(GotoDefinitionResponse::Array(locations))
}

/// Triggers and steps, for the outline.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written; it is `None`.
pub fn symbols(cx: &Cx<'_>, _params: DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let spec = cx.spec()?;
    let symbol = |name: String, detail: String, kind, span| DocumentSymbol {
        name,
        detail: Some(detail),
        kind,
        tags: None,
        deprecated: None,
        range: cx.range(span),
        selection_range: cx.range(span),
        children: None,
    };
    let mut out = Vec::new();
    for trigger in spec.triggers() {
        let detail = match &trigger.value {
            Trigger::Manual {} => String::new(),
            Trigger::Cron { cron, timezone } => match timezone {
                Some(zone) => format!("{} {}", cron.value, zone.value),
                None => cron.value.clone(),
            },
            Trigger::RepoEvent { event } => event.value.clone(),
            Trigger::Webhook { name, .. } => name.value.clone(),
        };
        out.push(symbol(
            trigger.value.kind().to_string(),
            detail,
            SymbolKind::EVENT,
            trigger.span,
        ));
    }
    for (index, step) in spec.steps.iter().enumerate() {
        let detail = match &step.value {
            Step::Agent { role, .. } => format!("agent {}", role.value.as_str()),
            Step::Deploy { target, .. } => format!("deploy {}", target.value),
            other => other.kind().to_string(),
        };
        out.push(symbol(
            spec.step_id(index).into_owned(),
            detail,
            SymbolKind::FUNCTION,
            step.span,
        ));
    }
    Some(DocumentSymbolResponse::Nested(out))
}

/// A quick fix for each did-you-mean: replace the misspelt name, keeping its quotes.
pub fn code_actions(cx: &Cx<'_>, params: CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
    let mut actions = Vec::new();
    for diagnostic in &params.context.diagnostics {
        let Some(replacement) = diagnostic
            .data
            .as_ref()
            .and_then(|d| d.get("replacement"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let start = cx.offset(diagnostic.range.start);
        let end = cx.offset(diagnostic.range.end);
        let old = cx.text.get(start..end).unwrap_or("");
        let new_text = match old.chars().next() {
            Some(quote @ ('"' | '\'')) if old.len() >= 2 && old.ends_with(quote) => {
                format!("{quote}{replacement}{quote}")
            }
            _ => replacement.to_string(),
        };
        let edit = WorkspaceEdit {
            changes: Some(
                [(
                    cx.uri.clone(),
                    vec![TextEdit::new(diagnostic.range, new_text)],
                )]
                .into_iter()
                .collect(),
            ),
            ..WorkspaceEdit::default()
        };
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace with `{replacement}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic.clone()]),
            edit: Some(edit),
            is_preferred: Some(true),
            ..CodeAction::default()
        }));
    }
    Some(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_matches_the_start_of_any_part() {
        assert!(matches_prefix("Europe/Berlin", "berl"));
        assert!(matches_prefix("Europe/Berlin", "eur"));
        assert!(matches_prefix("America/Argentina/Buenos_Aires", "buenos"));
        assert!(matches_prefix("pull_request.merged", "merged"));
        assert!(matches_prefix("anything", ""));
        assert!(!matches_prefix("Europe/Berlin", "erlin"));
        assert!(!matches_prefix("Asia/Tokyo", "berl"));
    }

    #[test]
    fn codes_are_found_under_the_cursor_in_any_text() {
        let text = "# this spec knows about C0404 (coder::C0205) and C9999\nkey: C04041\n";
        let at = |needle: &str, extra: usize| text.find(needle).expect("needle") + extra;
        assert_eq!(code_at(text, at("C0404", 0)), Code::lookup("C0404"));
        assert_eq!(code_at(text, at("C0404", 5)), Code::lookup("C0404"));
        assert_eq!(code_at(text, at("C0205", 2)), Code::lookup("C0205"));
        assert!(Code::lookup("C0404").is_some());
        // Not a code: unknown, too long, a plain word.
        assert_eq!(code_at(text, at("C9999", 1)), None);
        assert_eq!(code_at(text, at("C04041", 1)), None);
        assert_eq!(code_at(text, at("spec", 1)), None);
    }
}
