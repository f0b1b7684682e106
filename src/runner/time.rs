//! Times as the run record writes them: RFC 3339, UTC, to the second.

/// Now, RFC 3339 UTC to the second.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
}

/// Seconds between two RFC 3339 times (0 when either does not parse).
pub fn seconds_between(start: &str, end: &str) -> i64 {
    match (
        start.parse::<jiff::Timestamp>(),
        end.parse::<jiff::Timestamp>(),
    ) {
        (Ok(start), Ok(end)) => end.as_second() - start.as_second(),
        _ => 0,
    }
}
