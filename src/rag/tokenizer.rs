//! The one tokenizer behind every token budget (chunking, summaries, query context): tiktoken's
//! `o200k_base`, which is what LightRAG's default `TiktokenTokenizer("gpt-4o-mini")` uses.
//! Token counts decide chunk boundaries and therefore chunk ids, so this must match upstream's
//! encoder exactly, not the tokenizer of whatever LLM is configured.

use std::sync::LazyLock;

use tiktoken_rs::CoreBPE;

/// A handle on the `o200k_base` BPE. Get it with [`Tokenizer::global`].
pub struct Tokenizer {
    bpe: CoreBPE,
}

/// Loading the 200k ranks takes 100–150 ms, so it happens once per process and only in commands
/// that tokenize (a cold `lrt tenant list` must not pay for it).
static GLOBAL: LazyLock<Tokenizer> = LazyLock::new(|| Tokenizer {
    // The ranks are compiled into the binary (`include_str!`), so this cannot fail at run time.
    bpe: tiktoken_rs::o200k_base().expect("o200k_base ranks are embedded in tiktoken-rs"),
});

impl Tokenizer {
    /// The process-wide tokenizer, initialised on first use.
    pub fn global() -> &'static Tokenizer {
        &GLOBAL
    }

    /// Token ids of `text`. Special-token text such as `<|endoftext|>` is encoded as plain text,
    /// as upstream does (it retries with `disallowed_special=()`): documents may contain it.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut tokens = Vec::new();
        for slice in split_long_whitespace_runs(text) {
            tokens.extend(self.bpe.encode_ordinary(slice));
        }
        tokens
    }

    /// Number of tokens [`encode`](Self::encode) would return.
    pub fn count(&self, text: &str) -> usize {
        self.encode(text).len()
    }

    /// Text of `tokens`. A slice that cuts a multi-byte character yields U+FFFD there, like
    /// Python tiktoken's `errors="replace"` (tiktoken-rs's own `decode` fails instead). Ids
    /// outside the vocabulary also become U+FFFD rather than an error, so decoding never fails.
    pub fn decode(&self, tokens: &[u32]) -> String {
        match self.bpe.decode_bytes(tokens) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => self.decode_skipping_unknown(tokens),
        }
    }

    /// The slow path of [`decode`](Self::decode): one token at a time, unknown ids replaced.
    fn decode_skipping_unknown(&self, tokens: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(tokens.len() * 4);
        for &token in tokens {
            match self.bpe.decode_bytes(&[token]) {
                Ok(b) => bytes.extend_from_slice(&b),
                Err(_) => bytes.extend_from_slice("\u{FFFD}".as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Longest whitespace run handed to the BPE regex in one piece. tiktoken's pre-split regex
/// (fancy-regex) runs out of backtracking stack on a run of 999,999 whitespace characters and
/// tiktoken-rs then panics (Python tiktoken reports the same failure: openai/tiktoken#245), so
/// upstream has no answer to reproduce there. Shorter runs are encoded exactly; a longer one is
/// encoded in slices, which moves a few token boundaries inside it but never loses text.
const MAX_WHITESPACE_RUN: usize = 100_000;

/// `text` cut inside whitespace runs so that no slice holds more than [`MAX_WHITESPACE_RUN`]
/// consecutive whitespace characters. Yields `text` whole when there is nothing to cut.
fn split_long_whitespace_runs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut run = 0;
        let cut = rest.char_indices().find_map(|(i, c)| {
            run = if c.is_whitespace() { run + 1 } else { 0 };
            (run > MAX_WHITESPACE_RUN).then_some(i)
        });
        let (slice, tail) = rest.split_at(cut.unwrap_or(rest.len()));
        rest = tail;
        Some(slice)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_token_text_is_ordinary_text() {
        let tok = Tokenizer::global();
        let ids = tok.encode("<|endoftext|>");
        assert!(ids.len() > 1, "encoded as a special token: {ids:?}");
        assert_eq!(tok.decode(&ids), "<|endoftext|>");
    }

    #[test]
    fn cut_character_decodes_to_replacement() {
        let tok = Tokenizer::global();
        let ids = tok.encode("🦀");
        assert!(ids.len() > 1, "expected the crab to span several tokens: {ids:?}");
        assert!(tok.decode(&ids[..1]).contains('\u{FFFD}'));
        assert_eq!(tok.decode(&ids), "🦀");
    }

    #[test]
    fn unknown_ids_decode_to_replacement() {
        let tok = Tokenizer::global();
        let ids = [tok.encode("a"), vec![u32::MAX], tok.encode("b")].concat();
        assert_eq!(tok.decode(&ids), "a\u{FFFD}b");
    }

    #[test]
    fn huge_whitespace_run_does_not_panic() {
        let tok = Tokenizer::global();
        let text = format!("a{}b", " ".repeat(1_200_000));
        assert_eq!(tok.decode(&tok.encode(&text)), text);
    }

    #[test]
    fn whitespace_runs_are_cut_only_when_too_long() {
        let short = format!("x{}y", " ".repeat(MAX_WHITESPACE_RUN));
        assert_eq!(split_long_whitespace_runs(&short).collect::<Vec<_>>(), [short.as_str()]);
        let long = " ".repeat(2 * MAX_WHITESPACE_RUN + 1);
        let slices: Vec<_> = split_long_whitespace_runs(&long).map(str::len).collect();
        assert_eq!(slices, [MAX_WHITESPACE_RUN, MAX_WHITESPACE_RUN, 1]);
        assert_eq!(split_long_whitespace_runs("").count(), 0);
    }

    #[test]
    fn count_matches_encode() {
        let tok = Tokenizer::global();
        assert_eq!(tok.count(""), 0);
        assert_eq!(tok.count("Hello, world!"), tok.encode("Hello, world!").len());
    }
}
