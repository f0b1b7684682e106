//! Where things are, in the editor's terms: byte offsets ↔ LSP positions (lines and UTF-16
//! code units, the encoding every client supports), and `file:` URIs ↔ paths.

use std::path::PathBuf;

use lsp_types::{Position, Range, Uri};

/// The byte offset of each line start: `\n`, `\r\n` and a lone `\r` all end a line, as LSP
/// counts them.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => starts.push(i + 1),
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
}

/// The LSP position of byte `offset` in `text`.
pub fn position(text: &str, starts: &[usize], offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
    let start = starts.get(line).copied().unwrap_or(0);
    let character = text[start..offset].encode_utf16().count();
    Position::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(character).unwrap_or(u32::MAX),
    )
}

/// The range of bytes `start..end` in `text`.
pub fn range(text: &str, starts: &[usize], start: usize, end: usize) -> Range {
    Range::new(position(text, starts, start), position(text, starts, end))
}

/// The byte offset of an LSP position in `text` (clamped to the line's end and the text's).
pub fn offset(text: &str, starts: &[usize], position: Position) -> usize {
    let Some(&start) = starts.get(position.line as usize) else {
        return text.len();
    };
    let end = starts
        .get(position.line as usize + 1)
        .copied()
        .unwrap_or(text.len());
    let line = &text[start..end];
    let mut units = 0u32;
    for (index, c) in line.char_indices() {
        if units >= position.character || c == '\n' || c == '\r' {
            return start + index;
        }
        units += c.len_utf16() as u32;
    }
    end
}

/// The path of a `file:` URI, percent-decoded.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let rest = text.strip_prefix("file://")?;
    // `file:///p` (empty authority) or `file://localhost/p`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let mut bytes = Vec::with_capacity(path.len());
    let raw = path.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let Some(byte) = raw
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            bytes.push(byte);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_and_every_line_ending() {
        let text = "a: é𝄞x\r\nb\rc\n";
        let starts = line_starts(text);
        assert_eq!(starts, vec![0, 12, 14, 16]);
        // `x` comes after `é` (1 unit) and `𝄞` (2 units).
        let x = text.find('x').expect("x");
        assert_eq!(position(text, &starts, x), Position::new(0, 6));
        assert_eq!(offset(text, &starts, Position::new(0, 6)), x);
        assert_eq!(position(text, &starts, 14), Position::new(2, 0));
        // Past the end of a line: its end, never the next line.
        assert_eq!(offset(text, &starts, Position::new(1, 40)), 13);
        assert_eq!(offset(text, &starts, Position::new(9, 0)), text.len());
    }

    #[test]
    fn uris_decode_to_paths_with_spaces_and_unicode() {
        let uri: Uri = "file:///tmp/a%20b/%C3%BC%23.yml".parse().expect("uri");
        assert_eq!(
            uri_to_path(&uri).as_deref(),
            Some(std::path::Path::new("/tmp/a b/ü#.yml"))
        );
        let other: Uri = "untitled:Untitled-1".parse().expect("uri");
        assert_eq!(uri_to_path(&other), None);
    }
}
