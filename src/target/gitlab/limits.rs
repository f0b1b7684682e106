//! What GitLab CI cannot do: start pipelines on most repository events, and start merge
//! request pipelines on exactly one of a merge request's events (a warning).

use super::{EventSupport, repo_event_support};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Trigger, Workflow};

pub fn limits(workflow: &Workflow) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for trigger in &workflow.triggers {
        let Trigger::RepoEvent {
            event,
            action,
            event_origin,
            ..
        } = trigger
        else {
            continue;
        };
        let written = match action {
            Some(action) => format!("{event}.{action}"),
            None => event.clone(),
        };
        match repo_event_support(event, action.as_deref()) {
            EventSupport::Exact(_) => {}
            EventSupport::Approximate(source, why) => found.push(
                Diagnostic::new(
                    Code::TriggerApproximated,
                    format!("GitLab has no `{written}` event: this workflow runs on `{source}` pipelines instead"),
                )
                .at(event_origin.span, format!("runs on every `{source}` pipeline"))
                .help(format!("{why}; a step that must run once per merge request should tolerate reruns")),
            ),
            EventSupport::Unsupported => found.push(
                Diagnostic::new(
                    Code::TriggerUnsupported,
                    format!("GitLab starts no pipeline on `{written}`"),
                )
                .at(event_origin.span, "no GitLab pipeline source for this event")
                .help("trigger the workflow with a `webhook` (a GitLab project webhook can call a relay that triggers the pipeline), or use `push`, `pull_request.opened` or `pull_request.synchronize`"),
            ),
        }
    }
    found
}
