//! Step conditions: an `if_failed` names an earlier step, and one whose failure lets the run
//! go on (`continue_on_failure: true`), else the conditioned step could never run.

use super::CheckCx;
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};

pub fn check(cx: &mut CheckCx<'_>) {
    let spec = cx.spec;
    for (index, step) in spec.steps.iter().enumerate() {
        let Some(named) = step.value.if_failed() else {
            continue;
        };
        let target = named.value.as_str();
        let position = (0..spec.steps.len()).find(|&i| spec.step_id(i) == target);
        let earlier = position.filter(|&at| at < index);
        let Some(at) = earlier else {
            let (message, label) = match position {
                Some(at) if at == index => (
                    format!("step `{target}` cannot run only when it failed itself"),
                    "this step's own id",
                ),
                Some(_) => (
                    format!("`if_failed` names step `{target}`, which runs after this one"),
                    "a later step",
                ),
                None => (
                    format!("`if_failed` names no step `{target}`"),
                    "no such step",
                ),
            };
            let ids: Vec<String> = (0..index).map(|i| spec.step_id(i).into_owned()).collect();
            let help = match did_you_mean(target, ids.iter().map(String::as_str)) {
                Some(best) if position.is_none() => format!("did you mean `{best}`?"),
                _ if ids.is_empty() => {
                    "only an earlier step can be named, and this is the first step".to_string()
                }
                _ => format!(
                    "name a step that runs before this one: {}",
                    ids.iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            cx.report(
                Diagnostic::new(Code::UnknownConditionStep, message)
                    .at(named.span, label)
                    .help(help),
            );
            continue;
        };
        let failed_step = &spec.steps[at];
        if !failed_step.value.continues_on_failure() {
            let help = if failed_step.value.kind() == "command" {
                format!("add `continue_on_failure: true` to step `{target}`")
            } else {
                format!(
                    "only command steps can continue on failure; a failed {} step ends the run",
                    failed_step.value.kind()
                )
            };
            cx.report(
                Diagnostic::new(
                    Code::ConditionNeverHolds,
                    format!("this step can never run: a failure of step `{target}` stops the run"),
                )
                .at(named.span, "runs only when this step failed")
                .also(failed_step.span, "its failure ends the run here")
                .help(help),
            );
        }
    }
}
