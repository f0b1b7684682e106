//! `repo_event` triggers: the event and action exist in the catalog.

use super::{CheckCx, sub_span};
use crate::diag::suggest::help_for;
use crate::diag::{Code, Diagnostic};
use crate::model::{Trigger, events};

pub fn check(cx: &mut CheckCx<'_>) {
    for trigger in cx.spec.triggers() {
        let Trigger::RepoEvent { event } = &trigger.value else {
            continue;
        };
        let text = event.value.trim();
        let (name, action) = match text.split_once('.') {
            Some((name, action)) => (name, Some(action)),
            None => (text, None),
        };
        if name.is_empty() || action == Some("") {
            let what = if name.is_empty() {
                "an event before the `.`"
            } else {
                "an action after the `.`"
            };
            cx.report(
                Diagnostic::new(
                    Code::UnknownRepoEvent,
                    format!("`{text}` is missing {what}"),
                )
                .at(event.span, "incomplete event")
                .help("write `<event>` or `<event>.<action>`, such as `pull_request.opened`"),
            );
            continue;
        }
        let Some(info) = events::find(name) else {
            let span = sub_span(cx.file, event, 0..name.len());
            cx.report(
                Diagnostic::new(
                    Code::UnknownRepoEvent,
                    format!("unknown repository event `{name}`"),
                )
                .at(span, "not an event")
                .help(help_for(name, events::catalog().iter().map(|e| e.name))),
            );
            continue;
        };
        let Some(action) = action else { continue };
        if info.actions.contains(&action) {
            continue;
        }
        let start = name.len() + 1;
        let span = sub_span(cx.file, event, start..start + action.len());
        let diag = if info.actions.is_empty() {
            Diagnostic::new(
                Code::UnknownRepoEvent,
                format!("event `{name}` has no actions"),
            )
            .at(span, "no such action")
            .help(format!("write `event: {name}`"))
        } else {
            Diagnostic::new(
                Code::UnknownRepoEvent,
                format!("unknown action `{action}` for event `{name}`"),
            )
            .at(span, "not an action of this event")
            .help(help_for(action, info.actions.iter().copied()))
        };
        cx.report(diag);
    }
}
