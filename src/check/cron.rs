//! Cron triggers: the 5-field expression (each error at its field) and the IANA time zone.

use super::{CheckCx, sub_span};
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::model::Trigger;
use crate::parse::cron::parse_cron;

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
    let canonical = canonical_zone_name(name);
    // Time zone names are case-sensitive for GitHub and systemd, even where jiff is not; and
    // names that mean "this host's zone" are not portable.
    if canonical.as_deref() == Some(name) && !HOST_DEPENDENT.contains(&name) {
        return;
    }
    let available: Vec<String> = tz_database()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| {
            !HOST_DEPENDENT.contains(&n.as_str())
                && !n.starts_with("posix/")
                && !n.starts_with("right/")
        })
        .collect();
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

/// The IANA database bundled into coder, so a spec means the same on every machine, and no
/// check reads `/usr/share/zoneinfo` (scanning it costs milliseconds).
fn tz_database() -> &'static jiff::tz::TimeZoneDatabase {
    static DB: std::sync::OnceLock<jiff::tz::TimeZoneDatabase> = std::sync::OnceLock::new();
    DB.get_or_init(jiff::tz::TimeZoneDatabase::bundled)
}

/// The database's spelling of a zone name, if it has the zone. Looking a zone up parses its
/// TZif data, which costs more than checking a spec: answers are kept for the process (specs
/// checked together name the same few zones).
fn canonical_zone_name(name: &str) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static KNOWN: Mutex<Option<HashMap<String, Option<String>>>> = Mutex::new(None);
    let lookup = || {
        tz_database()
            .get(name)
            .ok()
            .and_then(|zone| zone.iana_name().map(str::to_string))
    };
    let Ok(mut known) = KNOWN.lock() else {
        return lookup();
    };
    let known = known.get_or_insert_with(HashMap::new);
    if let Some(answer) = known.get(name) {
        return answer.clone();
    }
    let answer = lookup();
    known.insert(name.to_string(), answer.clone());
    answer
}

/// A zone of the bundled database, by its exact name (what checks and targets compute with).
pub fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    canonical_zone_name(name)
        .filter(|canonical| canonical == name)
        .and_then(|_| tz_database().get(name).ok())
}

/// Entries of a zoneinfo directory that are not time zones of a place.
const HOST_DEPENDENT: [&str; 3] = ["localtime", "posixrules", "Factory"];
