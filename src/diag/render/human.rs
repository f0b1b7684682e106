use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use crate::diag::{Diagnostic, FileReport, Severity};

#[derive(Clone, Copy, Debug)]
pub struct HumanOptions {
    pub color: bool,
    /// Wrap width; tests use 80.
    pub width: usize,
}

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
        let source = CharColumns {
            name: &report.source.path,
            text: &report.source.text,
        };
        for diag in &report.diagnostics {
            let view = View {
                diag,
                path: &report.source.path,
                source: &source,
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
    path: &'a str,
    source: &'a CharColumns<'a>,
}

/// The source as miette reads it, with the header's column counted in characters (miette
/// counts bytes), like every other output format.
struct CharColumns<'a> {
    name: &'a str,
    text: &'a str,
}

impl SourceCode for CharColumns<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let contents = self.text.read_span(span, before, after)?;
        let start = contents.span().offset();
        let before_span = self.text.get(..start).unwrap_or("");
        let line_start = before_span.rfind('\n').map_or(0, |i| i + 1);
        let column = before_span[line_start..].chars().count();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.diag.primary.is_none() {
            // Without a snippet, nothing else would name the file.
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.diag.message)
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
        self.diag
            .primary
            .as_ref()
            .map(|_| self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = self.diag.primary.as_ref()?;
        let first = LabeledSpan::new_primary_with_span(
            Some(primary.message.clone()),
            source_span(primary.span),
        );
        let rest = self
            .diag
            .secondary
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.message.clone()), source_span(l.span)));
        Some(Box::new(std::iter::once(first).chain(rest)))
    }
}
