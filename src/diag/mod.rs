//! Diagnostics, shared by every phase: spans, the code registry, and the output formats.

pub mod codes;
pub mod render;
mod source;
pub mod suggest;

pub use codes::{Code, CodeInfo, Severity};
pub use source::SourceFile;

/// A byte range in one source file. `start == end` marks a point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub const fn len(self) -> usize {
        self.end - self.start
    }

    pub const fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// A sub-range of this span, `offset` bytes in, `len` bytes long.
    pub const fn slice(self, offset: usize, len: usize) -> Span {
        Span::new(self.start + offset, self.start + offset + len)
    }
}

/// A span with the text drawn under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in one file. Its severity comes from its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    /// The node the problem is about; `None` for problems of the whole file.
    pub primary: Option<Label>,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

/// Text from a spec may hold control characters (a newline in a quoted string, an ANSI escape):
/// printed raw they would break one-line formats or drive the terminal. Show them escaped.
fn printable(text: String) -> String {
    if !text.chars().any(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: printable(message.into()),
            primary: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Underline `span` with `label`.
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(Label {
            span,
            message: printable(label.into()),
        });
        self
    }

    /// Add a secondary label, e.g. "first defined here".
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: printable(label.into()),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(printable(help.into()));
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if let Some(help) = help {
            self = self.help(help);
        }
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.info().severity
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Every diagnostic of one file, with the file's text for rendering.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// Source order, so output reads top to bottom whatever order the checks ran in; the same
    /// diagnostic twice (a value reached through several aliases) is shown once.
    pub fn sort(&mut self) {
        self.diagnostics
            .sort_by_key(|d| (d.primary.as_ref().map(|l| l.span), d.code));
        self.diagnostics.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_text_cannot_break_out_of_a_message() {
        let d = Diagnostic::new(Code::InvalidId, "invalid step_id `x\ny\u{1b}[31m`")
            .at(Span::new(0, 1), "a\tb")
            .help("c\rd");
        assert_eq!(d.message, "invalid step_id `x\\ny\\u{1b}[31m`");
        assert_eq!(d.primary.map(|l| l.message), Some("a\\tb".to_string()));
        assert_eq!(d.help.as_deref(), Some("c\\rd"));
    }
}
