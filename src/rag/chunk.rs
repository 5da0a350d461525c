//! Fixed-token chunking, LightRAG's default strategy "F" (`chunking_by_token_size`), reproduced
//! exactly: chunk ids derive from the chunk list, so chunking differently from upstream would
//! give the same document other chunks, other ids and another graph.

use serde::Serialize;

use super::tokenizer::Tokenizer;
use crate::error::Error;

/// One chunk as upstream returns it; the serialized field names are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Token count of the window or segment *before* stripping (upstream's count).
    pub tokens: usize,
    /// The text with Python's `str.strip()` applied. May be empty: the pipeline drops those
    /// chunks later, after order indexes were given out.
    pub content: String,
    /// 0-based position among all chunks of the text, empty ones included.
    pub chunk_order_index: usize,
}

/// Why a text could not be chunked with the given settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A token window would not advance (upstream's `ValueError`).
    #[error("chunk overlap ({overlap} tokens) must be smaller than the chunk size ({size} tokens)")]
    OverlapNotBelowSize { overlap: usize, size: usize },
    /// In split-only mode a segment is longer than the chunk size (upstream's
    /// `ChunkTokenLimitExceededError`).
    #[error(
        "a segment between split characters has {chunk_tokens} tokens, more than the chunk size of \
         {chunk_token_limit}: raise the chunk size, or let long segments be cut into token windows"
    )]
    ChunkTokenLimitExceeded {
        chunk_tokens: usize,
        chunk_token_limit: usize,
    },
}

impl From<ChunkError> for Error {
    fn from(e: ChunkError) -> Self {
        Error::Usage(e.to_string())
    }
}

/// Splits `text` into chunks exactly as upstream's `chunking_by_token_size(tokenizer, text,
/// split_by, split_only, overlap, size)`.
///
/// Without `split_by` (or with an empty one, which upstream treats as none) the whole text is
/// cut into windows of `size` tokens starting every `size - overlap` tokens. With `split_by`,
/// every segment of `text.split(split_by)` becomes one chunk, empty segments included; a segment
/// over `size` tokens is an error in `split_only` mode and is windowed otherwise.
/// `overlap >= size` is an error only where a window loop runs, as upstream.
pub fn chunk_by_token_size(
    tok: &Tokenizer,
    text: &str,
    split_by: Option<&str>,
    split_only: bool,
    overlap: usize,
    size: usize,
) -> Result<Vec<Chunk>, ChunkError> {
    let mut chunks = Vec::new();
    let Some(sep) = split_by.filter(|sep| !sep.is_empty()) else {
        push_windows(tok, &tok.encode(text), overlap, size, &mut chunks)?;
        return Ok(chunks);
    };
    for segment in text.split(sep) {
        let tokens = tok.encode(segment);
        if tokens.len() <= size {
            push(&mut chunks, tokens.len(), py_strip(segment).to_owned());
        } else if split_only {
            return Err(ChunkError::ChunkTokenLimitExceeded {
                chunk_tokens: tokens.len(),
                chunk_token_limit: size,
            });
        } else {
            push_windows(tok, &tokens, overlap, size, &mut chunks)?;
        }
    }
    Ok(chunks)
}

/// Python's `range(0, n, size - overlap)` windows over `tokens`, each decoded and stripped. The
/// last window is often contained in the one before (1201 tokens at 1200/100 give 1200 + 101).
fn push_windows(
    tok: &Tokenizer,
    tokens: &[u32],
    overlap: usize,
    size: usize,
    chunks: &mut Vec<Chunk>,
) -> Result<(), ChunkError> {
    if overlap >= size {
        return Err(ChunkError::OverlapNotBelowSize { overlap, size });
    }
    for start in (0..tokens.len()).step_by(size - overlap) {
        let window = &tokens[start..start.saturating_add(size).min(tokens.len())];
        push(chunks, window.len(), py_strip(&tok.decode(window)).to_owned());
    }
    Ok(())
}

fn push(chunks: &mut Vec<Chunk>, tokens: usize, content: String) {
    let chunk_order_index = chunks.len();
    chunks.push(Chunk {
        tokens,
        content,
        chunk_order_index,
    });
}

/// Python's `str.strip()`: Unicode White_Space (Rust's `char::is_whitespace`) plus the
/// separators U+001C..U+001F, which Python's `str.isspace()` also counts.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str, split_by: Option<&str>, split_only: bool, overlap: usize, size: usize) -> Vec<Chunk> {
        chunk_by_token_size(Tokenizer::global(), text, split_by, split_only, overlap, size).unwrap()
    }

    #[test]
    fn strip_matches_python() {
        assert_eq!(py_strip("\u{1c}\u{1f}\u{a0}\u{3000} a b\u{85}\u{2029}\u{1d}"), "a b");
        assert_eq!(py_strip("\u{200b}a\u{feff}"), "\u{200b}a\u{feff}");
    }

    #[test]
    fn empty_text() {
        assert_eq!(chunk("", None, false, 100, 1200), []);
        let only = chunk("", Some("\n"), true, 100, 1200);
        assert_eq!((only.len(), only[0].tokens, only[0].content.as_str()), (1, 0, ""));
    }

    #[test]
    fn empty_separator_means_no_separator() {
        assert_eq!(chunk("a b c", Some(""), true, 0, 1), chunk("a b c", None, false, 0, 1));
    }

    #[test]
    fn overlap_at_or_over_size_fails_only_where_windows_run() {
        let tok = Tokenizer::global();
        let err = ChunkError::OverlapNotBelowSize { overlap: 5, size: 5 };
        assert_eq!(chunk_by_token_size(tok, "", None, false, 5, 5), Err(err.clone()));
        let zero = ChunkError::OverlapNotBelowSize { overlap: 0, size: 0 };
        assert_eq!(chunk_by_token_size(tok, "x", None, false, 0, 0), Err(zero));
        assert_eq!(chunk("a\nb", Some("\n"), false, 5, 5).len(), 2);
        let long = "word ".repeat(20);
        assert_eq!(chunk_by_token_size(tok, &long, Some("\n"), false, 5, 5), Err(err));
    }

    #[test]
    fn split_only_rejects_long_segment_with_counts() {
        let tok = Tokenizer::global();
        let text = format!("short\n{}", "word ".repeat(20));
        let n = tok.count(&"word ".repeat(20));
        assert_eq!(
            chunk_by_token_size(tok, &text, Some("\n"), true, 0, 10),
            Err(ChunkError::ChunkTokenLimitExceeded {
                chunk_tokens: n,
                chunk_token_limit: 10
            })
        );
        assert!(matches!(
            Error::from(ChunkError::OverlapNotBelowSize { overlap: 1, size: 1 }),
            Error::Usage(_)
        ));
    }

    #[test]
    fn windows_overlap_and_the_last_may_be_contained() {
        let tok = Tokenizer::global();
        let text = "one two three four five six seven eight nine ten";
        let n = tok.count(text);
        let chunks = chunk(text, None, false, 2, 5);
        let expected: Vec<usize> = (0..n).step_by(3).map(|s| 5.min(n - s)).collect();
        assert_eq!(chunks.iter().map(|c| c.tokens).collect::<Vec<_>>(), expected);
        assert!(chunks.iter().enumerate().all(|(i, c)| c.chunk_order_index == i));
    }

    #[test]
    fn huge_size_does_not_overflow() {
        assert_eq!(chunk("hello", None, false, 0, usize::MAX).len(), 1);
    }
}
