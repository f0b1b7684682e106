//! Version, workflow id, step ids and webhook names: well-formed and unique.

use std::collections::HashMap;

use super::CheckCx;
use crate::diag::{Code, Diagnostic};
use crate::model::{RESERVED_STEP_IDS, Trigger, is_valid_id};

const ID_HELP: &str = "ids use letters, digits, `_` and `-`, and start with a letter or digit";

pub fn check(cx: &mut CheckCx<'_>) {
    let spec = cx.spec;
    if let Some(version) = &spec.version
        && version.value != 1
    {
        cx.report(
            Diagnostic::new(
                Code::UnsupportedVersion,
                format!("unsupported spec version {}", version.value),
            )
            .at(version.span, "only version 1 exists")
            .help("write `version: 1`, or leave the field out"),
        );
    }
    match &spec.workflow_id {
        Some(id) if !is_valid_id(&id.value) => cx.report(
            Diagnostic::new(
                Code::InvalidId,
                format!("invalid workflow_id `{}`", id.value),
            )
            .at(id.span, "not a valid id")
            .help(ID_HELP),
        ),
        None if !is_valid_id(cx.file_stem) => cx.report(
            Diagnostic::new(
                Code::InvalidId,
                format!(
                    "file name `{}` is not a valid workflow_id, and the spec sets none",
                    cx.file_stem
                ),
            )
            .help(format!(
                "add `workflow_id:` to the spec or rename the file; {ID_HELP}"
            )),
        ),
        _ => {}
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, step) in spec.steps.iter().enumerate() {
        let id = spec.step_id(index);
        let explicit = step.value.explicit_id();
        if let Some(explicit) = explicit
            && !is_valid_id(&explicit.value)
        {
            cx.report(
                Diagnostic::new(
                    Code::InvalidId,
                    format!("invalid step_id `{}`", explicit.value),
                )
                .at(explicit.span, "not a valid id")
                .help(ID_HELP),
            );
            continue;
        }
        if let Some(explicit) = explicit
            && RESERVED_STEP_IDS.contains(&explicit.as_str())
        {
            cx.report(
                Diagnostic::new(
                    Code::InvalidId,
                    format!("step_id `{}` is reserved", explicit.value),
                )
                .at(explicit.span, "reserved word")
                .help(format!(
                    "gate selectors use `{}` for steps of that kind; choose another id",
                    explicit.value
                )),
            );
            continue;
        }
        if let Some(&first) = seen.get(id.as_ref()) {
            let here = explicit.map_or(step.span, |e| e.span);
            let first_step = &spec.steps[first];
            let there = first_step
                .value
                .explicit_id()
                .map_or(first_step.span, |e| e.span);
            let note = if explicit.is_none() || first_step.value.explicit_id().is_none() {
                " (steps without `step_id` are `s1`, `s2`, … by position)"
            } else {
                ""
            };
            cx.report(
                Diagnostic::new(Code::DuplicateStepId, format!("duplicate step id `{id}`"))
                    .at(here, format!("step `{id}` again"))
                    .also(there, "first used here")
                    .help(format!("give each step its own `step_id`{note}")),
            );
            continue;
        }
        seen.insert(id.into_owned(), index);
    }

    let mut webhooks: HashMap<&str, crate::diag::Span> = HashMap::new();
    for trigger in spec.triggers() {
        let Trigger::Webhook { name, .. } = &trigger.value else {
            continue;
        };
        if !is_valid_id(&name.value) {
            cx.report(
                Diagnostic::new(
                    Code::InvalidId,
                    format!("invalid webhook name `{}`", name.value),
                )
                .at(name.span, "not a valid id")
                .help(format!("the name becomes an event type; {ID_HELP}")),
            );
        } else if let Some(first) = webhooks.insert(&name.value, name.span) {
            cx.report(
                Diagnostic::new(
                    Code::DuplicateWebhook,
                    format!("two webhook triggers are named `{}`", name.value),
                )
                .at(name.span, "same name again")
                .also(first, "first used here")
                .help("rename one of them"),
            );
        }
    }
}
