//! The 5-field cron tokenizer. It runs before croner (the engine) because croner accepts
//! extensions specs must not use (`L W # ?`, macros, seconds) and reports no positions: every
//! error here carries the byte range of the field or item at fault.

use std::ops::Range;

use crate::diag::Code;

/// croner, the cron engine, configured for exactly the spec's dialect. Whatever
/// [`parse_cron`] accepts, it accepts with the same values (a property test holds them together),
/// so checking does not run it: it costs more than checking a whole spec.
pub fn engine() -> croner::parser::CronParser {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .sloppy_ranges(true)
        .build()
}

/// The five fields, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl FieldKind {
    pub const ALL: [FieldKind; 5] = [
        FieldKind::Minute,
        FieldKind::Hour,
        FieldKind::DayOfMonth,
        FieldKind::Month,
        FieldKind::DayOfWeek,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Minute => "minute",
            FieldKind::Hour => "hour",
            FieldKind::DayOfMonth => "day-of-month",
            FieldKind::Month => "month",
            FieldKind::DayOfWeek => "day-of-week",
        }
    }

    /// Inclusive bounds as written (day of week allows 7 for Sunday).
    pub fn bounds(self) -> (u8, u8) {
        match self {
            FieldKind::Minute => (0, 59),
            FieldKind::Hour => (0, 23),
            FieldKind::DayOfMonth => (1, 31),
            FieldKind::Month => (1, 12),
            FieldKind::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            FieldKind::Month => &MONTHS,
            FieldKind::DayOfWeek => &WEEKDAYS,
            _ => &[],
        }
    }

    /// The value of a name (`JAN` = 1, `SUN` = 0), case-insensitive.
    fn value_of_name(self, name: &str) -> Option<u8> {
        let index = self
            .names()
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))?;
        let index = u8::try_from(index).ok()?;
        Some(if self == FieldKind::Month {
            index + 1
        } else {
            index
        })
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One parsed field: the set of values it matches, as a bit set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronField {
    pub kind: FieldKind,
    /// Byte range of the field in the expression.
    pub range: Range<usize>,
    /// Bit `n` set = value `n` matches. Day of week 7 is folded into 0.
    pub values: u64,
    /// The field starts with `*` (POSIX: such a day field does not take part in the OR).
    pub starts_with_star: bool,
}

impl CronField {
    pub fn matches(&self, value: u8) -> bool {
        value < 64 && self.values & (1 << value) != 0
    }

    pub fn values(&self) -> impl Iterator<Item = u8> + '_ {
        (0..64u8).filter(|v| self.matches(*v))
    }
}

/// A valid 5-field cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronExpr {
    pub fields: [CronField; 5],
}

impl CronExpr {
    pub fn field(&self, kind: FieldKind) -> &CronField {
        &self.fields[kind as usize]
    }

    /// POSIX: when both day fields are restricted, a day matches if either matches.
    pub fn days_are_ored(&self) -> bool {
        !self.field(FieldKind::DayOfMonth).starts_with_star
            && !self.field(FieldKind::DayOfWeek).starts_with_star
    }

    /// Whether any date matches: `0 0 30 2 *` never does. With ORed day fields the weekday
    /// alone always fires.
    pub fn can_fire(&self) -> bool {
        if self.days_are_ored() || self.field(FieldKind::DayOfMonth).starts_with_star {
            return true;
        }
        let days = self.field(FieldKind::DayOfMonth);
        self.field(FieldKind::Month)
            .values()
            .any(|month| days.values().any(|day| day <= days_in_month(month)))
    }
}

/// The most days a month can have (February: 29).
pub(super) fn days_in_month(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The shortest time between two firings of a cron, in minutes (`None` if it fires once a
/// day or less often). Across midnight only when every day fires.
pub fn min_gap_minutes(expr: &CronExpr) -> Option<u32> {
    let minutes: Vec<u32> = expr
        .field(FieldKind::Hour)
        .values()
        .flat_map(|h| {
            expr.field(FieldKind::Minute)
                .values()
                .map(move |m| u32::from(h) * 60 + u32::from(m))
        })
        .collect();
    let mut gap = minutes.windows(2).map(|w| w[1] - w[0]).min();
    let every_day = expr.field(FieldKind::DayOfMonth).starts_with_star
        && expr.field(FieldKind::DayOfWeek).starts_with_star
        && expr.field(FieldKind::DayOfMonth).values().count() == 31
        && expr.field(FieldKind::DayOfWeek).values().count() == 7;
    if every_day && let (Some(first), Some(last)) = (minutes.first(), minutes.last()) {
        let wrap = first + 24 * 60 - last;
        gap = Some(gap.map_or(wrap, |g| g.min(wrap)));
    }
    gap.filter(|g| *g < 24 * 60)
}

/// A problem in a cron expression, with the byte range it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    pub code: Code,
    pub range: Range<usize>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

impl CronError {
    fn new(code: Code, range: Range<usize>, message: String, label: impl Into<String>) -> Self {
        CronError {
            code,
            range,
            message,
            label: label.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

const FIELD_ORDER_HELP: &str =
    "a cron expression has five fields: minute hour day-of-month month day-of-week";

/// Parse a 5-field cron expression, reporting every bad field.
pub fn parse_cron(expr: &str) -> Result<CronExpr, Vec<CronError>> {
    let trimmed_start = expr.len() - expr.trim_start().len();
    if let Some(rest) = expr.trim_start().strip_prefix('@') {
        let end = expr.trim_end().len();
        return Err(vec![macro_error(rest.trim_end(), trimmed_start..end)]);
    }
    let tokens: Vec<(usize, &str)> = split_whitespace_indices(expr).collect();
    if tokens.len() != 5 {
        let range = match (tokens.first(), tokens.last()) {
            (Some((start, _)), Some((last, text))) => *start..last + text.len(),
            _ => 0..expr.len(),
        };
        let help = match tokens.len() {
            6 => format!("{FIELD_ORDER_HELP}; seconds and years are not supported"),
            7 => format!(
                "{FIELD_ORDER_HELP}; this looks like a Quartz expression with seconds and years"
            ),
            _ => FIELD_ORDER_HELP.to_string(),
        };
        return Err(vec![
            CronError::new(
                Code::CronFieldCount,
                range,
                format!(
                    "cron expression has {} field{}, expected 5",
                    tokens.len(),
                    if tokens.len() == 1 { "" } else { "s" }
                ),
                format!(
                    "{} field{}",
                    tokens.len(),
                    if tokens.len() == 1 { "" } else { "s" }
                ),
            )
            .help(help),
        ]);
    }
    let mut errors = Vec::new();
    let mut fields = Vec::with_capacity(5);
    for (kind, (start, text)) in FieldKind::ALL.into_iter().zip(tokens) {
        match parse_field(kind, text, start) {
            Ok(field) => fields.push(field),
            Err(mut field_errors) => errors.append(&mut field_errors),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let fields: [CronField; 5] = fields.try_into().map_err(|_| Vec::new())?;
    let expr_parsed = CronExpr { fields };
    if !expr_parsed.can_fire() {
        let dom = expr_parsed.field(FieldKind::DayOfMonth).range.clone();
        let month = expr_parsed.field(FieldKind::Month).range.clone();
        return Err(vec![
            CronError::new(
                Code::CronNeverFires,
                dom.start..month.end,
                "cron expression never fires: no month has these days".to_string(),
                "no month has these days",
            )
            .help("check the day-of-month and month fields"),
        ]);
    }
    Ok(expr_parsed)
}

fn macro_error(name: &str, range: Range<usize>) -> CronError {
    let equivalent = match name.to_ascii_lowercase().as_str() {
        "yearly" | "annually" => Some("0 0 1 1 *"),
        "monthly" => Some("0 0 1 * *"),
        "weekly" => Some("0 0 * * 0"),
        "daily" | "midnight" => Some("0 0 * * *"),
        "hourly" => Some("0 * * * *"),
        _ => None,
    };
    let error = CronError::new(
        Code::CronMacro,
        range,
        format!("cron macro `@{name}` is not supported"),
        "macro",
    );
    match equivalent {
        Some(fields) => error.help(format!("write the five fields instead: `{fields}`")),
        None => error.help(format!(
            "`@{name}` has no 5-field equivalent; {FIELD_ORDER_HELP}"
        )),
    }
}

fn split_whitespace_indices(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split(|c: char| c.is_ascii_whitespace())
        .scan(0usize, |pos, part| {
            let start = *pos;
            *pos += part.len() + 1;
            Some((start, part))
        })
        .filter(|(_, part)| !part.is_empty())
}

fn parse_field(kind: FieldKind, text: &str, start: usize) -> Result<CronField, Vec<CronError>> {
    let mut errors = Vec::new();
    let mut values = 0u64;
    let mut offset = start;
    for item in text.split(',') {
        let range = offset..offset + item.len();
        offset += item.len() + 1;
        match parse_item(kind, item, range.clone()) {
            Ok(bits) => values |= bits,
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if kind == FieldKind::DayOfWeek && values & (1 << 7) != 0 {
        values = (values & !(1 << 7)) | 1;
    }
    Ok(CronField {
        kind,
        range: start..start + text.len(),
        values,
        starts_with_star: text.starts_with('*'),
    })
}

fn parse_item(kind: FieldKind, item: &str, range: Range<usize>) -> Result<u64, CronError> {
    let (min, max) = kind.bounds();
    if item.is_empty() {
        return Err(CronError::new(
            Code::CronSyntax,
            range,
            format!("empty list item in the {} field", kind.name()),
            "empty item",
        )
        .help("separate values with single commas: `1,15`"));
    }
    // `L` and `W` may be part of a name (`JUL`, `WED`): look for extensions outside names only.
    let mut outside_names = item.to_ascii_uppercase();
    for name in kind.names() {
        outside_names = outside_names.replace(name, "___");
    }
    // A whole word is a name (known or misspelt); `L`, `W` and `LW` alone are Quartz.
    let is_word = item.len() > 1
        && item.bytes().all(|b| b.is_ascii_alphabetic())
        && !item.eq_ignore_ascii_case("LW");
    let extension_chars: &[char] = if is_word {
        &['#', '?']
    } else {
        &['L', 'W', '#', '?']
    };
    if let Some(pos) = outside_names.find(extension_chars) {
        let at = range.start + pos;
        let ch = &item[pos..=pos];
        return Err(CronError::new(
            Code::CronNonstandard,
            at..at + 1,
            format!("`{ch}` is a non-standard cron extension"),
            "not standard cron",
        )
        .help(match ch {
            "?" => "use `*` instead of `?`",
            _ => "specs use standard 5-field cron: numbers, names, `*`, `,`, `-` and `/`",
        }));
    }
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };
    let step_value = match step {
        None => None,
        Some(step_text) => {
            let step_start = range.start + base.len() + 1;
            let step_range = step_start..step_start + step_text.len();
            let digits = !step_text.is_empty() && step_text.bytes().all(|b| b.is_ascii_digit());
            match step_text.parse::<u8>() {
                Ok(n) if digits && n >= 1 && n <= max => Some(n),
                _ => {
                    return Err(CronError::new(
                        Code::CronInvalidStep,
                        step_range,
                        format!("invalid step `/{step_text}` in the {} field", kind.name()),
                        "invalid step",
                    )
                    .help(format!("a step is a number from 1 to {max}")));
                }
            }
        }
    };
    let (low, high) = if base == "*" {
        (min, max)
    } else if base.matches('-').count() > 1 {
        return Err(CronError::new(
            Code::CronSyntax,
            range.start..range.start + base.len(),
            format!("`{base}` is not a range of the {} field", kind.name()),
            "not a range",
        )
        .help("a range is `a-b`"));
    } else if let Some((a, b)) = base.split_once('-') {
        let a_range = range.start..range.start + a.len();
        let b_start = range.start + a.len() + 1;
        let low = parse_value(kind, a, a_range)?;
        let high = parse_value(kind, b, b_start..b_start + b.len())?;
        if low > high {
            return Err(CronError::new(
                Code::CronReversedRange,
                range.start..range.start + base.len(),
                format!("range `{base}` in the {} field runs backwards", kind.name()),
                "start is after end",
            )
            .help(format!(
                "write it in order, or as a list such as `{high}-{max},{min}-{low}`"
            )));
        }
        (low, high)
    } else {
        let value = parse_value(kind, base, range.start..range.start + base.len())?;
        // `a/n` means from a to the end of the field, as GitHub documents for `20/15`.
        (value, if step_value.is_some() { max } else { value })
    };
    let step = step_value.unwrap_or(1);
    Ok((low..=high)
        .step_by(step as usize)
        .fold(0u64, |bits, v| bits | (1 << v)))
}

fn parse_value(kind: FieldKind, text: &str, range: Range<usize>) -> Result<u8, CronError> {
    let (min, max) = kind.bounds();
    if text.is_empty() {
        return Err(CronError::new(
            Code::CronSyntax,
            range,
            format!("missing value in the {} field", kind.name()),
            "missing value",
        )
        .help("a range is `a-b` and a step is `x/n`"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if v >= u32::from(min) && v <= u32::from(max) => Ok(v as u8),
            _ => Err(CronError::new(
                Code::CronOutOfRange,
                range,
                format!(
                    "`{text}` is out of range for the {} field ({min}-{max})",
                    kind.name()
                ),
                format!("not in {min}-{max}"),
            )
            .help(match kind {
                FieldKind::DayOfWeek => "day of week is 0-7, where 0 and 7 are Sunday".to_string(),
                _ => format!("the {} field takes {min}-{max}", kind.name()),
            })),
        };
    }
    if text.bytes().all(|b| b.is_ascii_alphabetic()) {
        if let Some(value) = kind.value_of_name(text) {
            return Ok(value);
        }
        let names = kind.names();
        let help = if names.is_empty() {
            format!("the {} field takes numbers only", kind.name())
        } else {
            let upper = text.to_ascii_uppercase();
            match names.iter().find(|n| upper.starts_with(**n)) {
                Some(short) => format!("use the three-letter name `{short}`"),
                None => crate::diag::suggest::help_for(&upper, names.iter().copied()),
            }
        };
        return Err(CronError::new(
            Code::CronUnknownName,
            range,
            format!("`{text}` is not a valid name in the {} field", kind.name()),
            "unknown name",
        )
        .help(help));
    }
    Err(CronError::new(
        Code::CronSyntax,
        range,
        format!("`{text}` is not a value of the {} field", kind.name()),
        "not a number or name",
    )
    .help(
        "a field is `*`, a number or name, a range `a-b`, a step `x/n`, or a comma-separated list",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(expr: &str) -> (Code, String) {
        let errors = parse_cron(expr).expect_err(expr);
        let e = &errors[0];
        (e.code, expr[e.range.clone()].to_string())
    }

    #[test]
    fn accepts_standard_forms() {
        for expr in [
            "0 9 * * 1",
            "*/15 * * * *",
            "5-59/15 * * * *",
            "20/15 * * * *",
            "0 0 * JAN-MAR MON",
            "0 12 * * 0-4",
            "0 0 13 * 5",
            "0 0 * * 7",
            "5 4 * jan,jul *",
            " 0  9 * * 1 ",
            "0 0 29 2 *",
            "0 0 * * WED",
        ] {
            parse_cron(expr).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
        }
    }

    #[test]
    fn errors_point_at_the_field() {
        assert_eq!(error("0 24 * * *"), (Code::CronOutOfRange, "24".into()));
        assert_eq!(
            error("0 9 * * MONDAY"),
            (Code::CronUnknownName, "MONDAY".into())
        );
        assert_eq!(error("0 9 JAN * *"), (Code::CronUnknownName, "JAN".into()));
        assert_eq!(error("*/0 * * * *"), (Code::CronInvalidStep, "0".into()));
        assert_eq!(error("@daily"), (Code::CronMacro, "@daily".into()));
        assert_eq!(error("0 9 ? * MON"), (Code::CronNonstandard, "?".into()));
        assert_eq!(error("0 9 L * *"), (Code::CronNonstandard, "L".into()));
        assert_eq!(error("0 9 * * MON#1"), (Code::CronNonstandard, "#".into()));
        assert_eq!(
            error("0 9 * * 5-1"),
            (Code::CronReversedRange, "5-1".into())
        );
        assert_eq!(error("0 9,,17 * * *"), (Code::CronSyntax, "".into()));
        assert_eq!(error("0 0 30 2 *"), (Code::CronNeverFires, "30 2".into()));
        assert_eq!(
            error("0 0 9 * * 1"),
            (Code::CronFieldCount, "0 0 9 * * 1".into())
        );
        assert_eq!(error("0 9 * * JUL"), (Code::CronUnknownName, "JUL".into()));
        assert_eq!(error("*/+1 * * * *"), (Code::CronInvalidStep, "+1".into()));
        assert_eq!(error("1-2-3 * * * *"), (Code::CronSyntax, "1-2-3".into()));
    }

    #[test]
    fn or_semantics_keep_weekday_runs() {
        // 30 February, or any Monday: fires on Mondays.
        assert!(parse_cron("0 0 30 2 1").is_ok());
        let cron = parse_cron("0 0 * * 7").expect("valid");
        assert!(cron.field(FieldKind::DayOfWeek).matches(0));
    }

    #[test]
    fn min_gaps() {
        let gap = |expr: &str| min_gap_minutes(&parse_cron(expr).expect("valid"));
        assert_eq!(gap("* * * * *"), Some(1));
        assert_eq!(gap("*/5 * * * *"), Some(5));
        assert_eq!(gap("0,58 * * * *"), Some(2));
        assert_eq!(gap("58 23 * * *"), None);
        assert_eq!(gap("0,2 9 * * 1"), Some(2));
        assert_eq!(gap("0 9 * * 1"), None);
        assert_eq!(gap("59 23,0 * * *"), Some(60));
    }

    #[test]
    fn all_errors_of_an_expression_are_reported() {
        let errors = parse_cron("61 25 * * *").expect_err("two bad fields");
        assert_eq!(errors.len(), 2);
    }
}
