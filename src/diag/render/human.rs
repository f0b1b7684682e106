use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode, SourceSpan,
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
        let source = NamedSource::new(&report.source.path, report.source.text.to_string());
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

/// The closing line of human output: "2 errors, 1 warning in 3 files".
pub fn summary_line(reports: &[FileReport]) -> String {
    let errors: usize = reports.iter().map(FileReport::errors).sum();
    let warnings: usize = reports.iter().map(FileReport::warnings).sum();
    let files = reports.len();
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
    source: &'a NamedSource<String>,
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
