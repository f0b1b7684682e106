//! `policies.budget`: positive, and not so large that it protects nothing.

use super::CheckCx;
use crate::diag::{Code, Diagnostic};

/// 10,000 US dollars at the default price of one cent per credit.
pub const MAX_CREDITS: f64 = 1_000_000.0;
/// Seven days.
pub const MAX_WALL_CLOCK_SEC: i64 = 7 * 24 * 3600;

pub fn check(cx: &mut CheckCx<'_>) {
    let Some(budget) = &cx.spec.policies().budget else {
        return;
    };
    if let Some(credits) = &budget.max_credits {
        if credits.value <= 0.0 {
            cx.report(
                Diagnostic::new(Code::BudgetNotPositive, "`max_credits` must be positive")
                    .at(credits.span, "not positive")
                    .help("set a positive credit cap, or leave the field out for the configured default"),
            );
        } else if credits.value > MAX_CREDITS {
            cx.report(
                Diagnostic::new(
                    Code::BudgetTooLarge,
                    format!(
                        "`max_credits` of {} is larger than coder allows ({MAX_CREDITS})",
                        credits.value
                    ),
                )
                .at(credits.span, "too large to be meant")
                .help("credits are one US cent each by default: 5000 credits are 50 dollars"),
            );
        }
    }
    if let Some(seconds) = &budget.max_wall_clock_sec {
        if seconds.value <= 0 {
            cx.report(
                Diagnostic::new(Code::BudgetNotPositive, "`max_wall_clock_sec` must be positive")
                    .at(seconds.span, "not positive")
                    .help("set a positive number of seconds, or leave the field out for the configured default"),
            );
        } else if seconds.value > MAX_WALL_CLOCK_SEC {
            cx.report(
                Diagnostic::new(
                    Code::BudgetTooLarge,
                    format!(
                        "`max_wall_clock_sec` of {} is more than 7 days ({MAX_WALL_CLOCK_SEC} seconds)",
                        seconds.value
                    ),
                )
                .at(seconds.span, "too large to be meant")
                .help("the value is in seconds: one hour is 3600"),
            );
        }
    }
}
