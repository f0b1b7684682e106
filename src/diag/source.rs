use std::sync::Arc;

/// A file's display path and text, with a line index for byte → line/column.
///
/// The text is empty for files that could not be decoded; their diagnostics have no span.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user should see it (relative to the repo root or the working directory).
    pub path: String,
    pub text: Arc<str>,
    line_starts: Arc<[usize]>,
}

/// A 1-based line and a 1-based column counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        // A line ends at `\n`, `\r\n`, or a lone `\r`, as YAML (and miette) count lines.
        let bytes = text.as_bytes();
        let line_starts = std::iter::once(0)
            .chain(
                text.match_indices(['\n', '\r'])
                    .filter(|(i, m)| *m == "\n" || bytes.get(i + 1) != Some(&b'\n'))
                    .map(|(i, _)| i + 1),
            )
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// Line and character column of a byte offset (clamped to the text, snapped to a char boundary).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        LineCol {
            line: line + 1,
            column: self.text[start..offset].chars().count() + 1,
        }
    }

    /// Byte offset where 1-based `line` starts.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset of a 1-based line and character column, if the file has it.
    pub fn offset_of(&self, line: usize, column: usize) -> Option<usize> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let rest = &self.text[start..];
        let line_text = rest.split(['\n', '\r']).next().unwrap_or("");
        match line_text.char_indices().nth(column.checked_sub(1)?) {
            Some((i, _)) => Some(start + i),
            None => Some(start + line_text.len()),
        }
    }

    /// The text of 1-based line `line`, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let rest = &self.text[start..];
        rest.split(['\n', '\r']).next().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let file = SourceFile::new("x", "ab\nçé: x\n");
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, column: 1 });
        // `:` comes after two two-byte characters.
        assert_eq!(file.line_col(7), LineCol { line: 2, column: 3 });
        assert_eq!(file.offset_of(2, 3), Some(7));
        assert_eq!(file.line_text(2), "çé: x");
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let file = SourceFile::new("x", "a\rb\r\nc\nd");
        assert_eq!(file.line_col(2), LineCol { line: 2, column: 1 });
        assert_eq!(file.line_col(5), LineCol { line: 3, column: 1 });
        assert_eq!(file.line_text(2), "b");
        assert_eq!(file.line_count(), 4);
    }
}
