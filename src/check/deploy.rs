//! Deploy steps name a built-in or configured target.

use super::CheckCx;
use crate::diag::suggest::help_for;
use crate::diag::{Code, Diagnostic};
use crate::model::Step;
use crate::workspace::config::deploy_not_configured;

pub fn check(cx: &mut CheckCx<'_>) {
    for step in &cx.spec.steps {
        let Step::Deploy { target, .. } = &step.value else {
            continue;
        };
        if cx.config.invalid {
            continue;
        }
        if cx.config.deploy_targets().any(|t| t == target.value) {
            if cx.config.deploy_command(&target.value).is_none() {
                cx.report(
                    Diagnostic::new(
                        Code::DeployNotConfigured,
                        deploy_not_configured(&target.value),
                    )
                    .at(target.span, "no deploy command for this target")
                    .help("the workflow compiles, but this step fails at run time until the command is configured"),
                );
            }
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
