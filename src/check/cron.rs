//! Cron triggers: the 5-field expression (each error at its field) and the IANA time zone.

use super::{CheckCx, sub_span};
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::model::Trigger;
use crate::schedule::cron::parse_cron;
use crate::schedule::zones;

pub fn check(cx: &mut CheckCx<'_>) {
    for trigger in cx.spec.triggers() {
        let Trigger::Cron { cron, timezone } = &trigger.value else {
            continue;
        };
        match parse_cron(&cron.value) {
            Ok(_) => {}
            Err(errors) => {
                for error in errors {
                    let span = sub_span(cx.file, cron, error.range.clone());
                    cx.report(
                        Diagnostic::new(error.code, error.message)
                            .at(span, error.label)
                            .help_opt(error.help),
                    );
                }
            }
        }
        if let Some(tz) = timezone {
            check_timezone(cx, tz);
        }
    }
}

fn check_timezone(cx: &mut CheckCx<'_>, tz: &crate::model::Spanned<String>) {
    let name = tz.value.as_str();
    if zones::is_valid_name(name) {
        return;
    }
    let available = zones::valid_names();
    let help = match did_you_mean(name, available.iter().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`?"),
        None => "use an IANA time zone name such as `Europe/Berlin`, `America/Chicago` or `UTC`"
            .to_string(),
    };
    cx.report(
        Diagnostic::new(Code::UnknownTimezone, format!("unknown time zone `{name}`"))
            .at(tz.span, "not an IANA time zone")
            .help(help),
    );
}
