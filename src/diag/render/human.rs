use std::borrow::Cow;
use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use crate::diag::{Diagnostic, FileReport, Label, Severity, SourceFile};

#[derive(Clone, Copy, Debug)]
pub struct HumanOptions {
    pub color: bool,
    /// Wrap width; tests use 80.
    pub width: usize,
}

/// Lines longer than this are not drawn (minified JSON): the diagnostic names its line and
/// column instead. miette cannot draw past column 65,535.
const MAX_SNIPPET_LINE: usize = 2_000;

/// Every diagnostic of every report, rendered like rustc via miette.
pub fn render_human(reports: &[FileReport], options: HumanOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_urls(false)
        .with_width(options.width);
    let mut out = String::new();
    for report in reports {
        let source = Snippets {
            file: &report.source,
            shown: shown_text(&report.source.text),
        };
        for diag in &report.diagnostics {
            let view = View {
                diag,
                source: &source,
                snippet: diag.primary.iter().chain(&diag.secondary).all(|label| {
                    let lines = source.file.line_col(label.span.start).line
                        ..=source.file.line_col(label.span.end).line;
                    lines.clone().count() < 50
                        && lines
                            .into_iter()
                            .all(|l| source.file.line_text(l).len() <= MAX_SNIPPET_LINE)
                }),
            };
            if handler.render_report(&mut out, &view).is_err() {
                // Rendering into a String cannot fail short of a bug in miette: fall back.
                out.push_str(&format!("{}: {}\n", report.source.path, diag.message));
            }
            out.push('\n');
        }
    }
    out
}

/// The file as drawn in snippets: control characters (an ANSI escape, a bidi override) would
/// drive the terminal or reorder what the reader sees, so each becomes a placeholder of the
/// same byte length, which keeps every span valid.
fn shown_text(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if hidden(c) {
            // U+FFFD is 3 bytes: pad to the hidden character's length with `?`.
            match c.len_utf8() {
                3 => shown.push('\u{FFFD}'),
                n => (0..n).for_each(|_| shown.push('?')),
            }
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// The closing line of human output: "checked 3 files: 2 errors, 1 warning".
pub fn summary_line(reports: &[FileReport], files: usize) -> String {
    let errors: usize = reports.iter().map(FileReport::errors).sum();
    let warnings: usize = reports.iter().map(FileReport::warnings).sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if errors == 0 && warnings == 0 {
        return format!("checked {}: no problems", plural(files, "file"));
    }
    format!(
        "checked {}: {}, {}",
        plural(files, "file"),
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// A diagnostic as miette sees it.
struct View<'a> {
    diag: &'a Diagnostic,
    source: &'a Snippets<'a>,
    /// Whether to draw the source; without it the message names the position.
    snippet: bool,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.source.file;
        match (&self.diag.primary, self.snippet) {
            // Without a snippet, nothing else would name the file.
            (None, _) => write!(f, "{}: ", file.path)?,
            (Some(label), false) => {
                let at = file.line_col(label.span.start);
                write!(f, "{}:{}:{}: ", file.path, at.line, at.column)?;
            }
            (Some(_), true) => {}
        }
        f.write_str(&self.diag.message)?;
        match (&self.diag.primary, self.snippet) {
            (Some(label), false) => write!(f, " ({})", label.message),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for View<'_> {}

fn source_span(span: crate::diag::Span) -> SourceSpan {
    SourceSpan::new(span.start.into(), span.len())
}

impl miette::Diagnostic for View<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let info = self.diag.code.info();
        Some(Box::new(format!("{}({})", info.code, info.name)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        (self.snippet && self.diag.primary.is_some()).then_some(self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if !self.snippet {
            return None;
        }
        let primary = self.diag.primary.as_ref()?;
        let label = |l: &Label, primary: bool| {
            let text = Some(l.message.clone());
            if primary {
                LabeledSpan::new_primary_with_span(text, source_span(l.span))
            } else {
                LabeledSpan::new_with_span(text, source_span(l.span))
            }
        };
        let rest = self.diag.secondary.iter().map(move |l| label(l, false));
        Some(Box::new(std::iter::once(label(primary, true)).chain(rest)))
    }
}

/// The source as miette reads it. miette finds a span's lines by scanning from the start of
/// the text, for every diagnostic; here it scans only the lines around the span (found with the
/// file's line index), and the header's column counts characters like every other format.
struct Snippets<'a> {
    file: &'a SourceFile,
    shown: Cow<'a, str>,
}

impl SourceCode for Snippets<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let file = self.file;
        let first = file
            .line_col(span.offset())
            .line
            .saturating_sub(before)
            .max(1);
        let last_line = file.line_col(span.offset() + span.len()).line + after + 1;
        let window_start = file.line_start(first).unwrap_or(0);
        let window_end = file.line_start(last_line).unwrap_or(self.shown.len());
        let window = self.shown.get(window_start..window_end).unwrap_or("");
        let local = SourceSpan::new(
            (span.offset() - window_start.min(span.offset())).into(),
            span.len(),
        );
        let contents = window.read_span(&local, before, after)?;
        let start = window_start + contents.span().offset();
        Ok(Box::new(MietteSpanContents::new_named(
            file.path.clone(),
            contents.data(),
            SourceSpan::new(start.into(), contents.span().len()),
            first - 1 + contents.line(),
            file.line_col(start).column - 1,
            contents.line_count(),
        )))
    }
}
