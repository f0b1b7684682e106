//! IANA time zones, by name, from the database bundled into coder, so a spec means the same on
//! every machine, and nothing reads `/usr/share/zoneinfo` (scanning it costs milliseconds).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jiff::tz::{TimeZone, TimeZoneDatabase};

/// Entries of a zoneinfo directory that are not time zones of a place: they mean "this host's
/// zone", which is not portable.
const HOST_DEPENDENT: [&str; 3] = ["localtime", "posixrules", "Factory"];

/// The bundled IANA database.
fn database() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// The database's spelling of a zone name, if it has the zone. Looking a zone up parses its
/// TZif data, which costs more than checking a spec: answers are kept for the process (specs
/// checked together name the same few zones).
fn canonical_name(name: &str) -> Option<String> {
    static KNOWN: Mutex<Option<HashMap<String, Option<String>>>> = Mutex::new(None);
    let lookup = || {
        database()
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

/// Whether a spec may name this zone: the database has it spelt exactly so (names are
/// case-sensitive for GitHub and systemd, even where jiff is not) and it is a place's zone.
pub fn is_valid_name(name: &str) -> bool {
    canonical_name(name).as_deref() == Some(name) && !HOST_DEPENDENT.contains(&name)
}

/// The names a spec may use, for did-you-mean suggestions.
pub fn valid_names() -> Vec<String> {
    database()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| {
            !HOST_DEPENDENT.contains(&n.as_str())
                && !n.starts_with("posix/")
                && !n.starts_with("right/")
        })
        .collect()
}

/// A zone of the bundled database, by its exact name (what checks and targets compute with).
pub fn time_zone(name: &str) -> Option<TimeZone> {
    canonical_name(name)
        .filter(|canonical| canonical == name)
        .and_then(|_| database().get(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact() {
        assert!(is_valid_name("Europe/Berlin"));
        assert!(!is_valid_name("europe/berlin"));
        assert!(!is_valid_name("localtime"));
        assert!(!is_valid_name("Mars/Olympus"));
        assert!(time_zone("America/Chicago").is_some());
        assert!(time_zone("america/chicago").is_none());
        assert!(valid_names().iter().any(|n| n == "Asia/Kathmandu"));
    }
}
