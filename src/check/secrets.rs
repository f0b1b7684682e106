//! `policies.secrets`: environment-variable names, listed once; webhook `secret_ref`s and the
//! steps' `secrets` listed there; every secret received by some step (or signing a webhook).

use std::collections::HashMap;

use super::CheckCx;
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic, Span};
use crate::model::{Step, Trigger, is_env_var_name};

pub fn check(cx: &mut CheckCx<'_>) {
    let secrets = cx.spec.policies().secrets.as_deref().unwrap_or(&[]);
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for secret in secrets {
        let name = secret.value.as_str();
        if name.trim().is_empty() {
            cx.report(
                Diagnostic::new(Code::EmptyValue, "secret name is empty")
                    .at(secret.span, "empty")
                    .help("write the secret's name, or remove the entry"),
            );
        } else if !is_env_var_name(name) {
            let upper: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let help = if is_env_var_name(&upper) {
                format!("secrets reach steps as environment variables; try `{upper}`")
            } else {
                "secrets reach steps as environment variables: letters, digits and `_`, not starting with a digit".to_string()
            };
            cx.report(
                Diagnostic::new(
                    Code::InvalidSecretName,
                    format!("`{name}` is not a valid environment variable name"),
                )
                .at(secret.span, "not an environment variable name")
                .help(help),
            );
        } else if let Some(first) = seen.insert(name, secret.span) {
            cx.report(
                Diagnostic::new(
                    Code::DuplicateSecret,
                    format!("secret `{name}` is listed twice"),
                )
                .at(secret.span, "listed again")
                .also(first, "first listed here")
                .help("remove the second entry"),
            );
        }
    }
    for trigger in cx.spec.triggers() {
        let Trigger::Webhook { secret_ref, .. } = &trigger.value else {
            continue;
        };
        let name = secret_ref.value.as_str();
        if secrets.iter().any(|s| s.value == name) {
            continue;
        }
        let mut diag = Diagnostic::new(
            Code::UnknownSecretRef,
            format!("webhook secret `{name}` is not in `policies.secrets`"),
        )
        .at(secret_ref.span, "not an allowed secret");
        diag = match did_you_mean(name, secrets.iter().map(|s| s.value.as_str())) {
            Some(best) => diag.help(format!("did you mean `{best}`?")),
            None => diag.help(format!("add `{name}` to `policies.secrets`")),
        };
        cx.report(diag);
    }
    step_secrets(cx, secrets);
    unreceived(cx, secrets);
}

/// Each name a step lists must be one of `policies.secrets`: a step narrows who receives a
/// secret, it never adds one.
fn step_secrets(cx: &mut CheckCx<'_>, secrets: &[crate::model::Spanned<String>]) {
    let spec = cx.spec;
    for step in &spec.steps {
        for listed in step.value.secrets().unwrap_or(&[]) {
            let name = listed.value.as_str();
            if secrets.iter().any(|s| s.value == name) {
                continue;
            }
            let diag = Diagnostic::new(
                Code::UnknownStepSecret,
                format!("step secret `{name}` is not in `policies.secrets`"),
            )
            .at(listed.span, "not an allowed secret");
            cx.report(
                match did_you_mean(name, secrets.iter().map(|s| s.value.as_str())) {
                    Some(best) => diag.help(format!("did you mean `{best}`?")),
                    None => diag.help(format!("add `{name}` to `policies.secrets`")),
                },
            );
        }
    }
}

/// A secret that reaches no step: no step lists it, there is no agent or deploy step to
/// receive it unlisted, and no webhook signs with it.
fn unreceived(cx: &mut CheckCx<'_>, secrets: &[crate::model::Spanned<String>]) {
    let spec = cx.spec;
    let steps = &spec.steps;
    let takes_unlisted = steps
        .iter()
        .any(|s| matches!(s.value, Step::Agent { .. } | Step::Deploy { .. }));
    for (index, secret) in secrets.iter().enumerate() {
        let name = secret.value.as_str();
        // A duplicate is C0207's; it is warned about once.
        let again = secrets[..index].iter().any(|s| s.value == name);
        let listed = again
            || steps.iter().any(|s| {
                s.value
                    .secrets()
                    .is_some_and(|l| l.iter().any(|x| x.value == name))
            });
        let signs = spec.triggers().iter().any(
            |t| matches!(&t.value, Trigger::Webhook { secret_ref, .. } if secret_ref.value == name),
        );
        if !listed && !takes_unlisted && !signs && is_env_var_name(name) {
            cx.report(
                Diagnostic::new(
                    Code::UnreceivedSecret,
                    format!("no step receives secret `{name}`"),
                )
                .at(secret.span, "received by no step")
                .help(format!(
                    "list `{name}` in the `secrets` of the step that needs it, or remove it"
                )),
            );
        }
    }
}
