//! `policies.gates.require_human_approval_for`: each selector is well-formed, names something
//! that exists, and (a warning otherwise) matches a step of this workflow.

use std::collections::HashMap;

use super::{CheckCx, sub_span};
use crate::diag::suggest::{did_you_mean, help_for, one_of};
use crate::diag::{Code, Diagnostic, Span};
use crate::model::{Role, Selector, Spanned, Step, is_valid_id};

const FORMS: &str =
    "a selector is `deploy.<target>`, `agent.<role>`, `command`, `approve` or a step id";

/// Did-you-mean compares against every candidate; past this many it is not worth the time.
const MAX_SUGGESTION_CANDIDATES: usize = 500;

pub fn check(cx: &mut CheckCx<'_>) {
    let Some(gates) = &cx.spec.policies().gates else {
        return;
    };
    let step_ids: Vec<String> = (0..cx.spec.steps.len())
        .map(|i| cx.spec.step_id(i).into_owned())
        .collect();
    // With a step that did not convert, "matches no step" could be wrong: that step may be
    // the one the gate is for.
    let all_steps_known = !cx
        .spec
        .steps
        .iter()
        .any(|s| matches!(s.value, Step::Invalid { .. }));
    let mut seen: HashMap<Selector<'_>, Span> = HashMap::new();
    for entry in gates.require_human_approval_for.as_deref().unwrap_or(&[]) {
        let Some(selector) = resolve(cx, entry, &step_ids) else {
            continue;
        };
        if let Some(first) = seen.get(&selector) {
            cx.report(
                Diagnostic::new(
                    Code::DuplicateGateSelector,
                    format!("gate `{}` is listed twice", entry.value),
                )
                .at(entry.span, "listed again")
                .also(*first, "first listed here")
                .help("remove the second entry"),
            );
            continue;
        }
        seen.insert(selector.clone(), entry.span);
        let spec = cx.spec;
        if all_steps_known && !(0..spec.steps.len()).any(|i| selector.matches(spec, i)) {
            cx.report(
                Diagnostic::new(
                    Code::GateMatchesNoStep,
                    format!("gate `{}` matches no step of this workflow", entry.value),
                )
                .at(entry.span, "guards nothing")
                .help("remove the selector, or add the step it is meant to guard"),
            );
        }
    }
}

fn resolve<'a>(
    cx: &mut CheckCx<'_>,
    entry: &'a Spanned<String>,
    step_ids: &[String],
) -> Option<Selector<'a>> {
    let text = entry.value.as_str();
    // The grammar is `Selector::parse`'s; here what it accepts is checked against this workflow
    // and its configuration, and what fails is explained.
    match Selector::parse(text) {
        Some(Selector::StepId(id)) if step_ids.iter().any(|s| s == id) => {
            return Some(Selector::StepId(id));
        }
        Some(Selector::Deploy(target)) if cx.config.deploy_targets().any(|t| t == target) => {
            return Some(Selector::Deploy(target));
        }
        Some(selector @ (Selector::Command | Selector::Approve | Selector::Agent(_))) => {
            return Some(selector);
        }
        _ => {}
    }
    let malformed = |detail: &str| {
        Diagnostic::new(
            Code::MalformedGateSelector,
            format!("malformed gate selector `{text}`: {detail}"),
        )
        .at(entry.span, "malformed")
        .help(FORMS)
    };
    let Some((kind, name)) = text.split_once('.') else {
        match text {
            "deploy" | "agent" => {
                cx.report(malformed(&format!(
                    "`{text}` needs a name: `{text}.<name>`"
                )));
            }
            _ if !is_valid_id(text) => cx.report(malformed("not a step id or kind")),
            _ => {
                let help = if step_ids.len() > MAX_SUGGESTION_CANDIDATES {
                    FORMS.to_string()
                } else {
                    let candidates = step_ids
                        .iter()
                        .map(String::as_str)
                        .chain(["command", "approve"]);
                    match did_you_mean(text, candidates) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!(
                            "{FORMS}; this workflow's step ids are {}",
                            one_of(step_ids.iter().map(String::as_str))
                        ),
                    }
                };
                cx.report(
                    Diagnostic::new(
                        Code::UnknownGateSelector,
                        format!("gate selector `{text}` names no step"),
                    )
                    .at(entry.span, "no step has this id")
                    .help(help),
                );
            }
        }
        return None;
    };
    if kind.is_empty() {
        cx.report(malformed("nothing before the `.`"));
        return None;
    }
    if kind == "command" || kind == "approve" {
        cx.report(malformed(&format!(
            "`{kind}` selects every {kind} step and takes no name; write `{kind}`"
        )));
        return None;
    }
    if name.is_empty() || !is_valid_id(name) {
        cx.report(malformed(&format!("`{name}` is not a name")));
        return None;
    }
    let name_span = sub_span(cx.file, entry, kind.len() + 1..text.len());
    match kind {
        // The configuration is broken (reported there): its targets are unknown, not misspelt.
        "deploy" if cx.config.invalid => {}
        "deploy" => cx.report(
            Diagnostic::new(
                Code::UnknownGateSelector,
                format!("gate selector names unknown deploy target `{name}`"),
            )
            .at(name_span, "not a deploy target")
            .help(help_for(name, cx.config.deploy_targets())),
        ),
        "agent" => cx.report(
            Diagnostic::new(
                Code::UnknownGateSelector,
                format!("gate selector names unknown role `{name}`"),
            )
            .at(name_span, "not a role")
            .help(help_for(name, Role::ALL.map(Role::as_str))),
        ),
        _ => {
            let kind_span = sub_span(cx.file, entry, 0..kind.len());
            cx.report(
                Diagnostic::new(
                    Code::UnknownGateSelector,
                    format!("gate selector names unknown step kind `{kind}`"),
                )
                .at(kind_span, "not `deploy` or `agent`")
                .help(format!("{}; {FORMS}", help_for(kind, ["deploy", "agent"]))),
            );
        }
    }
    None
}
