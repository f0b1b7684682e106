//! Deploy steps name a built-in or configured target.

use super::CheckCx;
use crate::diag::suggest::help_for;
use crate::diag::{Code, Diagnostic};
use crate::model::Step;

pub fn check(cx: &mut CheckCx<'_>) {
    for step in &cx.spec.steps {
        let Step::Deploy { target, .. } = &step.value else {
            continue;
        };
        if cx.config.invalid || cx.config.deploy_targets().any(|t| t == target.value) {
            continue;
        }
        let help = format!(
            "{}; other targets are configured with `[deploy.{}]` in `.coder/config.toml`",
            help_for(&target.value, cx.config.deploy_targets()),
            target.value
        );
        cx.report(
            Diagnostic::new(
                Code::UnknownDeployTarget,
                format!("unknown deploy target `{}`", target.value),
            )
            .at(target.span, "not a deploy target")
            .help(help),
        );
    }
}
