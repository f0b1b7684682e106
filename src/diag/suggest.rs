//! "Did you mean" for every name a user can misspell.

/// The candidate closest to `input`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = input.to_ascii_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        if candidate.eq_ignore_ascii_case(input)
            || candidate.replace(['-', '_'], "") == lower.replace(['-', '_'], "")
        {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(&lower, &candidate.to_ascii_lowercase());
        if score > 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `help` text for a misspelling: "did you mean `x`?", or the list of valid names.
pub fn help_for<'a, I>(input: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    match did_you_mean(input, candidates.clone()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("expected one of {}", one_of(candidates)),
    }
}

/// "`a`, `b` or `c`".
pub fn one_of<'a, I: IntoIterator<Item = &'a str>>(candidates: I) -> String {
    let names: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("timezon", ["cron", "timezone"]),
            Some("timezone")
        );
        assert_eq!(did_you_mean("Manual", ["manual", "cron"]), Some("manual"));
        assert_eq!(
            did_you_mean("release-engineer", ["release_engineer"]),
            Some("release_engineer")
        );
        assert_eq!(did_you_mean("zzz", ["manual", "cron"]), None);
        assert_eq!(one_of(["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
