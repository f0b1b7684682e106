//! Version, workflow id, step ids and webhook names: well-formed and unique.

use std::collections::HashMap;

use super::CheckCx;
use crate::diag::{Code, Diagnostic};
use crate::model::{RESERVED_STEP_IDS, Trigger, is_valid_id};

const ID_HELP: &str = "ids use letters, digits, `_` and `-`, and start with a letter or digit";

/// The longest workflow id, step id or webhook name, in characters (ids are ASCII). Ids become
/// file names (`coder-<id>.yml`, `<id>.environments.yml`: 255 bytes on common file systems),
/// systemd unit names (`coder-<id>.service`: 255 bytes), GitLab job names
/// (`coder-run-<id>-<n>`: 255 characters) and GitHub artifact names; 64 leaves every one of
/// them far inside its limit, and an id longer than that is not meant to be read.
pub const MAX_ID_CHARS: usize = 64;

/// GitHub's limit on a `repository_dispatch` event type, which a webhook trigger becomes
/// (`coder.<workflow_id>.<name>`).
pub const MAX_EVENT_TYPE_CHARS: usize = 100;

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
        Some(id) if id.value.len() > MAX_ID_CHARS => cx.report(too_long(
            "workflow_id",
            &id.value,
            Some(id.span),
            "ids become file, unit and job names in generated CI",
        )),
        None if !is_valid_id(cx.file_stem) && super::file_name::is_portable(cx.file_name) => cx
            .report(
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
        None if cx.file_stem.len() > MAX_ID_CHARS => cx.report(
            too_long(
                "workflow id (the file name)",
                cx.file_stem,
                None,
                "ids become file, unit and job names in generated CI",
            )
            .help(format!(
                "add a `workflow_id:` of at most {MAX_ID_CHARS} characters, or rename the file"
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
            && explicit.value.len() > MAX_ID_CHARS
        {
            cx.report(too_long(
                "step_id",
                &explicit.value,
                Some(explicit.span),
                "step ids name jobs, approvals and run records",
            ));
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

    let workflow_id = spec
        .workflow_id
        .as_ref()
        .map_or(cx.file_stem, |id| id.value.as_str());
    let mut webhooks: HashMap<&str, crate::diag::Span> = HashMap::new();
    for trigger in spec.triggers() {
        let Trigger::Webhook { name, .. } = &trigger.value else {
            continue;
        };
        let event_type = format!("coder.{workflow_id}.{}", name.value);
        if name.value.len() > MAX_ID_CHARS {
            cx.report(too_long(
                "webhook name",
                &name.value,
                Some(name.span),
                "the name becomes an event type",
            ));
        } else if event_type.len() > MAX_EVENT_TYPE_CHARS && is_valid_id(&name.value) {
            cx.report(
                Diagnostic::new(
                    Code::NameTooLong,
                    format!(
                        "the event type `{event_type}` is {} characters; GitHub accepts at most {MAX_EVENT_TYPE_CHARS}",
                        event_type.len()
                    ),
                )
                .at(name.span, "becomes `coder.<workflow_id>.<name>`")
                .help("shorten the webhook name or the workflow id"),
            );
        }
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

/// An id over [`MAX_ID_CHARS`]; the message shows its start, not all of it.
fn too_long(what: &str, value: &str, span: Option<crate::diag::Span>, why: &str) -> Diagnostic {
    let shown: String = value.chars().take(24).collect();
    let mut diag = Diagnostic::new(
        Code::NameTooLong,
        format!(
            "{what} `{shown}…` is {} characters long; the limit is {MAX_ID_CHARS}",
            value.chars().count()
        ),
    )
    .help(format!(
        "shorten it to {MAX_ID_CHARS} characters or fewer; {why}"
    ));
    if let Some(span) = span {
        diag = diag.at(span, "too long");
    }
    diag
}
