//! Text-like files (Markdown, CSV, YAML, TeX, code, config, logs…) kept as they are, JSON
//! pretty-printed, and the [`Builder`] every structured extractor writes its text into.

use super::{ExtractError, Extracted, Extractor, Format, Limits, Page};

/// The text of an input: UTF-8 (or UTF-16 with its byte-order mark) without NUL bytes, a
/// leading BOM dropped, and not blank once it is dropped; else why it cannot be ingested.
pub fn decode_text(bytes: Vec<u8>) -> Result<String, String> {
    let text = if let Some(units) = utf16(&bytes) {
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| "not UTF-16 text (an unpaired surrogate)".to_string())?
    } else {
        if bytes.contains(&0) {
            return Err("binary file (contains NUL bytes)".into());
        }
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })?
    };
    let (text, bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest.to_string(), true),
        None => (text, false),
    };
    if text.trim().is_empty() {
        return Err(match bom {
            true => "empty (only a byte-order mark)".into(),
            false => "empty".into(),
        });
    }
    if text.contains('\0') {
        return Err("binary file (contains NUL characters)".into());
    }
    Ok(text)
}

/// UTF-16 code units when the bytes start with a UTF-16 byte-order mark.
fn utf16(bytes: &[u8]) -> Option<Vec<u16>> {
    let le = bytes.starts_with(&[0xff, 0xfe]);
    if !(le || bytes.starts_with(&[0xfe, 0xff])) || !bytes.len().is_multiple_of(2) {
        return None;
    }
    Some(
        bytes[2..]
            .chunks_exact(2)
            .map(|p| match le {
                true => u16::from_le_bytes([p[0], p[1]]),
                false => u16::from_be_bytes([p[0], p[1]]),
            })
            .collect(),
    )
}

/// Does a text file start like an HTML document (whatever its name)?
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Text kept as it is.
pub struct Plain;

impl Extractor for Plain {
    fn extract(&self, bytes: &[u8], _limits: &Limits) -> Result<Extracted, ExtractError> {
        let text = decode(bytes)?;
        Ok(Extracted {
            format: Format::Text,
            text,
            pages: Vec::new(),
        })
    }
}

/// [`decode_text`] with its reasons as extraction errors.
pub fn decode(bytes: &[u8]) -> Result<String, ExtractError> {
    decode_text(bytes.to_vec()).map_err(|why| match why.starts_with("empty") {
        true => ExtractError::Empty {
            bom: why.contains("byte-order"),
        },
        false => ExtractError::Unsupported(why),
    })
}

/// JSON pretty-printed (as upstream does); a file that does not parse is kept as text.
pub struct Json;

impl Extractor for Json {
    fn extract(&self, bytes: &[u8], _limits: &Limits) -> Result<Extracted, ExtractError> {
        let text = decode(bytes)?;
        let text = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or(text);
        Ok(Extracted {
            format: Format::Json,
            text,
            pages: Vec::new(),
        })
    }
}

/// Accumulates a document's text as blocks separated by blank lines: paragraphs, Markdown
/// headings, list items, tables as Markdown rows, and page marks.
#[derive(Debug, Default)]
pub struct Builder {
    text: String,
    pages: Vec<Page>,
}

impl Builder {
    /// A paragraph (whitespace runs collapsed); blank ones are dropped.
    pub fn para(&mut self, s: &str) {
        let s = collapse(s);
        if !s.is_empty() {
            self.block(&s);
        }
    }

    /// A heading of `level` (1–6) as Markdown.
    pub fn heading(&mut self, level: usize, s: &str) {
        let s = collapse(s);
        if !s.is_empty() {
            self.block(&format!("{} {s}", "#".repeat(level.clamp(1, 6))));
        }
    }

    /// A list item (consecutive items are one block).
    pub fn item(&mut self, s: &str) {
        let s = collapse(s);
        if s.is_empty() {
            return;
        }
        if self.text.ends_with('\n') && self.text.trim_end().lines().last().is_some_and(|l| l.starts_with("- ")) {
            self.text.truncate(self.text.trim_end().len());
            self.text.push('\n');
        } else {
            self.sep();
        }
        self.text.push_str("- ");
        self.text.push_str(&s);
        self.text.push('\n');
    }

    /// A table as Markdown rows (`| a | b |`), the first row as its header.
    pub fn table(&mut self, rows: &[Vec<String>]) {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
            .map(|r| r.iter().map(|c| collapse(c).replace('|', "\\|")).collect())
            .collect();
        if rows.is_empty() {
            return;
        }
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut out = String::new();
        for (i, row) in rows.iter().enumerate() {
            let mut cells = row.clone();
            cells.resize(width, String::new());
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
            if i == 0 && rows.len() > 1 {
                out.push_str(&format!("|{}\n", " --- |".repeat(width)));
            }
        }
        self.block(out.trim_end());
    }

    /// Starts page `number`: the text from here to the next mark belongs to it.
    pub fn page(&mut self, number: u32) {
        self.close_page();
        if !self.text.is_empty() {
            self.sep();
        }
        self.pages.push(Page {
            number,
            start: self.text.len(),
            end: self.text.len(),
        });
    }

    fn close_page(&mut self) {
        let len = self.text.trim_end().len();
        if let Some(p) = self.pages.last_mut() {
            p.end = len.max(p.start);
        }
    }

    /// Text already laid out (kept as it is, apart from the block separation).
    pub fn raw(&mut self, s: &str) {
        let s = s.trim_matches('\n');
        if !s.trim().is_empty() {
            self.block(s);
        }
    }

    fn block(&mut self, s: &str) {
        self.sep();
        self.text.push_str(s);
        self.text.push('\n');
    }

    fn sep(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            if !self.text.ends_with('\n') {
                self.text.push('\n');
            }
            if self.pages.last().is_none_or(|p| p.start != self.text.len()) {
                self.text.push('\n');
            }
        }
    }

    pub fn finish(mut self, format: Format) -> Extracted {
        self.close_page();
        let text = self.text.trim_end().to_string();
        for p in &mut self.pages {
            p.start = p.start.min(text.len());
            p.end = p.end.min(text.len());
        }
        Extracted {
            format,
            text,
            pages: self.pages,
        }
    }
}

/// Whitespace runs as one space, trimmed.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_alone_is_empty_and_utf16_is_read() {
        assert!(decode_text(vec![0xef, 0xbb, 0xbf]).unwrap_err().starts_with("empty"));
        assert!(decode_text("\u{feff} \n".into()).unwrap_err().starts_with("empty"));
        assert_eq!(decode_text("\u{feff}hi".into()).unwrap(), "hi");
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("héllo".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(utf16).unwrap(), "héllo");
        assert!(decode_text(vec![b'a', 0, b'b']).unwrap_err().contains("NUL"));
    }

    #[test]
    fn json_is_pretty_printed_and_bad_json_kept() {
        let e = Json.extract(br#"{"a":[1,2]}"#, &Limits::default()).unwrap();
        assert_eq!(e.text, "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
        let e = Json.extract(b"{not json", &Limits::default()).unwrap();
        assert_eq!(e.text, "{not json");
    }

    #[test]
    fn builder_lays_out_blocks_lists_tables_and_pages() {
        let mut b = Builder::default();
        b.page(1);
        b.heading(1, "Title");
        b.para("  some   text ");
        b.item("one");
        b.item("two");
        b.page(2);
        b.table(&[vec!["a".into(), "b".into()], vec!["1".into(), "2|3".into()]]);
        let e = b.finish(Format::Pdf);
        assert_eq!(
            e.text,
            "# Title\n\nsome text\n\n- one\n- two\n\n| a | b |\n| --- | --- |\n| 1 | 2\\|3 |"
        );
        assert_eq!(e.pages[0].number, 1);
        assert_eq!(
            &e.text[e.pages[1].start..e.pages[1].end],
            "| a | b |\n| --- | --- |\n| 1 | 2\\|3 |"
        );
        assert!(e.text[e.pages[0].start..e.pages[0].end].ends_with("- two"));
    }
}
