//! Page numbers through ingest: where a document's text came from pages (a PDF), the pages'
//! byte ranges are carried over to the sanitized text kb.db stores, and each chunk gets the
//! range of pages its text spans, for references such as `report.pdf p. 12–13`. Chunking is
//! untouched (chunk ids stay upstream's): chunks are located in the text after the fact.

use super::normalize::sanitize_text_for_encoding;
use crate::extract::{Page, page_range};

/// The pages of `original` as byte ranges of `sanitized` (= sanitize(original)): each page's
/// own sanitized text found in order. A page whose text cannot be found is left out.
pub fn sanitized_pages(original: &str, pages: &[Page], sanitized: &str) -> Vec<Page> {
    let mut out = Vec::with_capacity(pages.len());
    let mut cursor = 0;
    for p in pages {
        let Some(text) = original.get(p.start..p.end) else {
            continue;
        };
        let text = sanitize_text_for_encoding(text);
        if text.is_empty() {
            continue;
        }
        if let Some(at) = sanitized.get(cursor..).and_then(|rest| rest.find(&text)) {
            let start = cursor + at;
            out.push(Page {
                number: p.number,
                start,
                end: start + text.len(),
            });
            cursor = start + text.len();
        }
    }
    out
}

/// Each chunk's (first, last) page: the chunk is found in `content` at or after the previous
/// chunk's start (windows overlap), by its whole text or else by its first line.
pub fn chunk_pages(content: &str, chunks: &[&str], pages: &[Page]) -> Vec<Option<(u32, u32)>> {
    if pages.is_empty() {
        return vec![None; chunks.len()];
    }
    let mut cursor = 0;
    chunks
        .iter()
        .map(|chunk| {
            let rest = content.get(cursor..)?;
            let (at, len) = match rest.find(chunk) {
                Some(at) => (at, chunk.len()),
                None => {
                    let head = chunk.lines().next().filter(|h| h.len() >= 16)?;
                    (rest.find(head)?, chunk.len())
                }
            };
            let start = cursor + at;
            cursor = start;
            page_range(pages, start, (start + len).min(content.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_sanitizing_and_chunks_find_their_pages() {
        let original = "  Fish &amp; chips\n\nPage two text\n\nThird page here";
        let at = |s: &str| original.find(s).unwrap();
        let pages = [
            Page {
                number: 1,
                start: 0,
                end: at("\n\nPage"),
            },
            Page {
                number: 2,
                start: at("Page"),
                end: at("\n\nThird"),
            },
            Page {
                number: 3,
                start: at("Third"),
                end: original.len(),
            },
        ];
        let sanitized = sanitize_text_for_encoding(original);
        let mapped = sanitized_pages(original, &pages, &sanitized);
        assert_eq!(&sanitized[mapped[0].start..mapped[0].end], "Fish & chips");
        assert_eq!(&sanitized[mapped[2].start..mapped[2].end], "Third page here");
        let chunks = ["Fish & chips\n\nPage two", "two text\n\nThird page here", "nowhere"];
        assert_eq!(
            chunk_pages(&sanitized, &chunks, &mapped),
            [Some((1, 2)), Some((2, 3)), None]
        );
        assert_eq!(chunk_pages(&sanitized, &chunks, &[]), [None, None, None]);
    }
}
