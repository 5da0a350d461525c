//! The one tokenizer behind every token budget (chunking, summaries, query context): tiktoken's
//! `o200k_base`, which is what LightRAG's default `TiktokenTokenizer("gpt-4o-mini")` uses.
//! Token counts decide chunk boundaries and therefore chunk ids, so this must match upstream's
//! encoder exactly, not the tokenizer of whatever LLM is configured.
//!
//! The vocabulary is not parsed at run time: `build.rs` lays out tiktoken-rs's ranks as
//! tables that are compiled into the binary and read in place, instead of tiktoken-rs's
//! 100–150 ms of loading, which dominated a cold `lrt query`. The encoder is byte-pair encoding
//! with tiktoken's merge order (lowest rank first, leftmost on ties) over tiktoken's o200k
//! pre-split regex; where the text is ASCII (or common punctuation) the regex's pieces are found
//! by hand (`known_piece`), which is several times faster and spares such processes compiling the
//! regex (a few ms). Tests compare the pieces with the regex's and the tokens with tiktoken-rs itself.

use std::sync::LazyLock;

use fancy_regex::Regex;

use super::vocab_hash;

/// tiktoken's pre-split pattern for o200k_base: words with their case and contractions,
/// numbers of up to three digits, punctuation runs with the newlines after them, whitespace.
const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"\p{N}{1,3}",
    "|",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    "|",
    r"\s*[\r\n]+",
    "|",
    r"\s+(?!\S)",
    "|",
    r"\s+",
);

/// Every token's bytes by rank, back to back (see `build.rs`).
static TOKEN_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_bytes.bin"));
/// `u32` LE start of each rank in [`TOKEN_BYTES`], then the end.
static OFFSETS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_offsets.bin"));
/// `u32` LE open-addressing slots: `rank + 1`, 0 for empty.
static TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_table.bin"));

/// The special tokens upstream's vocabulary defines; [`Tokenizer::encode`] never produces
/// them, but [`Tokenizer::decode`] spells them like tiktoken does.
const SPECIAL_TOKENS: [(u32, &str); 2] = [(199_999, "<|endoftext|>"), (200_018, "<|endofprompt|>")];

fn read_u32(table: &[u8], i: usize) -> u32 {
    let b = &table[4 * i..4 * i + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The number of ordinary tokens.
fn vocab_len() -> usize {
    OFFSETS.len() / 4 - 1
}

/// The bytes of ordinary token `rank`.
fn token_bytes(rank: usize) -> &'static [u8] {
    &TOKEN_BYTES[read_u32(OFFSETS, rank) as usize..read_u32(OFFSETS, rank + 1) as usize]
}

/// The rank of the token spelled `bytes`, if there is one.
fn rank_of(bytes: &[u8]) -> Option<u32> {
    let mask = TABLE.len() / 4 - 1;
    let mut slot = vocab_hash::slot(bytes);
    loop {
        let entry = read_u32(TABLE, slot);
        if entry == 0 {
            return None;
        }
        if token_bytes(entry as usize - 1) == bytes {
            return Some(entry - 1);
        }
        slot = (slot + 1) & mask;
    }
}

/// Pieces longer than this are merged with a heap ([`merge_long`]) rather than by scanning.
const SHORT_PIECE: usize = 64;

/// Byte-pair encodes one pre-split piece into `out`: starting from single bytes, the adjacent
/// pair whose concatenation has the lowest rank is merged (the leftmost of equals), until no
/// adjacent pair is a token. Every part left is a token (single bytes are, and merges only
/// make tokens).
fn encode_piece(piece: &[u8], out: &mut Vec<u32>) {
    if let Some(rank) = rank_of(piece) {
        out.push(rank);
        return;
    }
    let bounds = if piece.len() <= SHORT_PIECE {
        merge_short(piece)
    } else {
        merge_long(piece)
    };
    for w in bounds.windows(2) {
        out.push(rank_of(&piece[w[0]..w[1]]).expect("BPE parts are tokens"));
    }
}

/// The part boundaries after merging, by rescanning the pairs after each merge (quadratic, but
/// allocation-light and fastest for the short pieces of ordinary text).
fn merge_short(piece: &[u8]) -> Vec<usize> {
    // bounds[i] is where part i starts; pair[i] the rank of parts i and i+1 merged.
    let mut bounds: Vec<usize> = (0..=piece.len()).collect();
    let pair_rank = |bounds: &[usize], i: usize| -> u32 {
        if i + 2 < bounds.len() {
            rank_of(&piece[bounds[i]..bounds[i + 2]]).unwrap_or(u32::MAX)
        } else {
            u32::MAX
        }
    };
    let mut pair: Vec<u32> = (0..bounds.len()).map(|i| pair_rank(&bounds, i)).collect();
    // The lowest rank, leftmost among equals; u32::MAX means no pair is a token.
    while let Some((i, &best)) = pair.iter().enumerate().min_by_key(|(i, r)| (**r, *i)) {
        if best == u32::MAX {
            break;
        }
        bounds.remove(i + 1);
        pair.remove(i + 1);
        pair[i] = pair_rank(&bounds, i);
        if i > 0 {
            pair[i - 1] = pair_rank(&bounds, i - 1);
        }
    }
    bounds
}

/// The same merges as [`merge_short`] in O(n log n), for long pieces (a 100,000-character
/// whitespace run would take minutes by rescanning): candidate pairs wait in a min-heap keyed
/// by (rank, start), so the leftmost lowest pair comes first; entries whose parts have since
/// changed are skipped when popped.
fn merge_long(piece: &[u8]) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let n = piece.len();
    // Parts as a linked list of start offsets: next[s] is the start of the part after s.
    let mut next: Vec<usize> = (1..=n).collect();
    let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
    let mut alive = vec![true; n];
    let mut heap = BinaryHeap::new();
    for s in 0..n - 1 {
        if let Some(r) = rank_of(&piece[s..s + 2]) {
            heap.push(Reverse((r, s, s + 2)));
        }
    }
    while let Some(Reverse((_, s, end))) = heap.pop() {
        // Still two adjacent parts spanning s..end?
        if !alive[s] || next[s] >= n || next[next[s]] != end {
            continue;
        }
        alive[next[s]] = false;
        next[s] = end;
        if end < n {
            prev[end] = s;
            if let Some(r) = rank_of(&piece[s..next[end]]) {
                heap.push(Reverse((r, s, next[end])));
            }
        }
        if s > 0 {
            let p = prev[s];
            if let Some(r) = rank_of(&piece[p..end]) {
                heap.push(Reverse((r, p, end)));
            }
        }
    }
    let mut bounds = vec![0];
    while *bounds.last().expect("starts at 0") < n {
        let s = *bounds.last().expect("starts at 0");
        bounds.push(next[s]);
    }
    bounds
}

/// A handle on the `o200k_base` BPE. Get it with [`Tokenizer::global`].
pub struct Tokenizer {
    /// Compiled on the first piece [`known_piece`] cannot decide (e.g. a non-ASCII letter): compiling
    /// takes a few ms, a tenth of a cold `lrt query`, and ASCII text never needs it.
    pre_split: LazyLock<Regex>,
}

static GLOBAL: Tokenizer = Tokenizer {
    pre_split: LazyLock::new(|| Regex::new(O200K_PATTERN).expect("the o200k pattern compiles")),
};

impl Tokenizer {
    /// The process-wide tokenizer, initialised on first use.
    pub fn global() -> &'static Tokenizer {
        &GLOBAL
    }

    /// The pre-split pieces of `text`, in order (BPE never merges across them): the pattern's
    /// match at each position, decided by [`known_piece`] where the text around it is simple (ASCII, common punctuation) and
    /// by the regex otherwise. Every character matches some alternative of the pattern, so the
    /// pieces tile the text and the match at a piece's end is the regex's next match.
    fn pieces<'t>(&self, text: &'t str) -> impl Iterator<Item = &'t str> {
        split_long_whitespace_runs(text).flat_map(move |slice| {
            let mut at = 0;
            std::iter::from_fn(move || {
                if at >= slice.len() {
                    return None;
                }
                let end = known_piece(slice, at).unwrap_or_else(|| {
                    // Only a backtracking overflow fails, and whitespace runs are cut short
                    // enough to avoid it (see MAX_WHITESPACE_RUN).
                    let found = self.pre_split.find_from_pos(slice, at).expect("o200k pre-split regex");
                    found.map_or(slice.len(), |m| m.end())
                });
                let piece = &slice[at..end];
                at = end;
                Some(piece)
            })
        })
    }

    /// Token ids of `text`. Special-token text such as `<|endoftext|>` is encoded as plain text,
    /// as upstream does (it retries with `disallowed_special=()`): documents may contain it.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut tokens = Vec::with_capacity(text.len() / 3);
        for piece in self.pieces(text) {
            encode_piece(piece.as_bytes(), &mut tokens);
        }
        tokens
    }

    /// Number of tokens [`encode`](Self::encode) would return.
    pub fn count(&self, text: &str) -> usize {
        let mut scratch = Vec::new();
        let mut n = 0;
        for piece in self.pieces(text) {
            if rank_of(piece.as_bytes()).is_some() {
                n += 1;
            } else {
                scratch.clear();
                encode_piece(piece.as_bytes(), &mut scratch);
                n += scratch.len();
            }
        }
        n
    }

    /// Token counts of `text` and of `text + "\n"` from one encoding. When `text` ends in
    /// ASCII punctuation its last piece is a punctuation run, which the pre-split regex
    /// (` ?[^\s\p{L}\p{N}]+[\r\n/]*`) extends by the newline while every earlier piece stays
    /// as it is, so only that piece is encoded again; otherwise `text + "\n"` is encoded whole.
    pub fn count_with_newline(&self, text: &str) -> (usize, usize) {
        let mut scratch = Vec::new();
        let mut n = 0;
        let mut last = "";
        for piece in self.pieces(text) {
            scratch.clear();
            encode_piece(piece.as_bytes(), &mut scratch);
            n += scratch.len();
            last = piece;
        }
        if !text.ends_with(|c: char| c.is_ascii_punctuation()) {
            return (n, self.count(&format!("{text}\n")));
        }
        scratch.clear();
        encode_piece(last.as_bytes(), &mut scratch);
        let without = scratch.len();
        scratch.clear();
        encode_piece(format!("{last}\n").as_bytes(), &mut scratch);
        (n, n - without + scratch.len())
    }

    /// Text of `tokens`. A slice that cuts a multi-byte character yields U+FFFD there, like
    /// Python tiktoken's `errors="replace"`. Ids outside the vocabulary also become U+FFFD
    /// rather than an error, so decoding never fails.
    pub fn decode(&self, tokens: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(tokens.len() * 4);
        for &token in tokens {
            if (token as usize) < vocab_len() {
                bytes.extend_from_slice(token_bytes(token as usize));
            } else if let Some((_, text)) = SPECIAL_TOKENS.iter().find(|(id, _)| *id == token) {
                bytes.extend_from_slice(text.as_bytes());
            } else {
                bytes.extend_from_slice("\u{FFFD}".as_bytes());
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// What the pre-split pattern's classes make of one character.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Upper,
    Lower,
    Digit,
    Space,
    /// Neither whitespace, letter, digit nor mark (the pattern's `[^\s\p{L}\p{N}]`).
    Other,
    /// Outside what [`kind_at`] knows: any class could apply.
    Unknown,
}

/// The kind of the character at byte `i` of `s` and its length; `None` at the end. Knows ASCII
/// and the punctuation U+2010–U+2027 (dashes, quotation marks, `…`), which LLM-written and
/// truncated descriptions often hold; everything else is [`Kind::Unknown`].
fn kind_at(s: &str, i: usize) -> Option<(Kind, usize)> {
    let b = *s.as_bytes().get(i)?;
    let kind = match b {
        b'A'..=b'Z' => Kind::Upper,
        b'a'..=b'z' => Kind::Lower,
        b'0'..=b'9' => Kind::Digit,
        b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' => Kind::Space,
        0..0x80 => Kind::Other,
        _ => {
            let c = s[i..].chars().next()?;
            let kind = if ('\u{2010}'..='\u{2027}').contains(&c) {
                Kind::Other
            } else {
                Kind::Unknown
            };
            return Some((kind, c.len_utf8()));
        }
    };
    Some((kind, 1))
}

/// The end of the pre-split regex's match at byte `at` of `s`, decided without the regex when
/// every character it has to look at is known to [`kind_at`]; `None` when one is not (a
/// letter, mark, digit or space outside ASCII, or `ſ`, which `(?i:'s)` matches, could change the
/// answer). Follows the alternatives in the pattern's order, with their backtracking worked out
/// for these characters, where the upper- and lower-case classes are disjoint:
///
/// 1. an optional character that is not a letter, digit or newline, upper-case letters, at
///    least one lower-case letter, an optional contraction;
/// 2. the same with at least one upper-case letter and no lower-case one (1 failed);
/// 3. one to three digits;
/// 4. an optional space, a run of other characters, then any `\r`, `\n` and `/`;
/// 5. whitespace up to and including its last newline;
/// 6. whitespace not followed by a non-space (all but the last of a run before a word);
/// 7. whitespace.
fn known_piece(s: &str, at: usize) -> Option<usize> {
    // The end of the run of characters of a kind `want` accepts from `i`; None if it stops at
    // an unknown one.
    let run = |mut i: usize, want: fn(Kind) -> bool| -> Option<usize> {
        while let Some((kind, len)) = kind_at(s, i) {
            if kind == Kind::Unknown {
                return None;
            }
            if !want(kind) {
                break;
            }
            i += len;
        }
        Some(i)
    };
    let kind = |i: usize| kind_at(s, i).map(|(k, _)| k);
    let (c, c_len) = kind_at(s, at)?;
    let newline = |i: usize| matches!(s.as_bytes().get(i), Some(b'\r' | b'\n'));
    // 1 and 2: letters, after an optional prefix.
    let start = match c {
        Kind::Unknown => return None,
        Kind::Upper | Kind::Lower | Kind::Digit => at,
        _ if newline(at) => at,
        _ => at + c_len,
    };
    match kind(start) {
        Some(Kind::Unknown) => return None,
        Some(Kind::Upper | Kind::Lower) => {
            let upper = run(start, |k| k == Kind::Upper)?;
            let lower = run(upper, |k| k == Kind::Lower)?;
            if lower > start {
                return contraction(s, lower);
            }
        }
        _ => {}
    }
    // 3: digits (a fourth digit, or anything else, ends the piece).
    if c == Kind::Digit {
        let mut end = at;
        while end < at + 3 && kind(end) == Some(Kind::Digit) {
            end += 1;
        }
        return match kind(end) {
            Some(Kind::Unknown) if end < at + 3 => None,
            _ => Some(end),
        };
    }
    // 4: other characters, after an optional space.
    let other = if s.as_bytes()[at] == b' ' { at + 1 } else { at };
    if kind(other) == Some(Kind::Other) {
        let mut end = run(other, |k| k == Kind::Other)?;
        while matches!(s.as_bytes().get(end), Some(b'\r' | b'\n' | b'/')) {
            end += 1;
        }
        return Some(end);
    }
    // 5 to 7: whitespace.
    let end = run(at, |k| k == Kind::Space)?;
    if let Some(last) = (at..end).rev().find(|&i| newline(i)) {
        return Some(last + 1);
    }
    Some(if end == s.len() || end - at == 1 { end } else { end - 1 })
}

/// The end of the piece whose letters end at `i`: past a contraction (`'s`, `'t`, `'re`,
/// `'ve`, `'m`, `'ll`, `'d`, any case) if one follows.
fn contraction(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(i) != Some(&b'\'') {
        return Some(i);
    }
    let next = |k: usize| b.get(i + k).map(u8::to_ascii_lowercase);
    match next(1) {
        Some(c) if !c.is_ascii() => None,
        Some(b's' | b't' | b'm' | b'd') => Some(i + 2),
        Some(b'r' | b'v') if next(2) == Some(b'e') => Some(i + 3),
        Some(b'l') if next(2) == Some(b'l') => Some(i + 3),
        _ => Some(i),
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

    fn tiktoken() -> &'static tiktoken_rs::CoreBPE {
        tiktoken_rs::o200k_base_singleton()
    }

    /// The pieces of the regex alone, which [`Tokenizer::pieces`] must reproduce.
    fn regex_pieces(text: &str) -> Vec<&str> {
        split_long_whitespace_runs(text)
            .flat_map(|slice| {
                Tokenizer::global()
                    .pre_split
                    .find_iter(slice)
                    .map(|m| m.unwrap().as_str())
            })
            .collect()
    }

    /// Our encoding must be tiktoken-rs's, token for token, from the regex's pieces.
    fn assert_same(text: &str) {
        assert_eq!(Tokenizer::global().pieces(text).collect::<Vec<_>>(), regex_pieces(text));
        let ours = Tokenizer::global().encode(text);
        let theirs = tiktoken().encode_ordinary(text);
        assert_eq!(ours, theirs, "encodings differ for {text:?}");
        assert_eq!(Tokenizer::global().count(text), theirs.len());
    }

    #[test]
    fn pattern_and_vocabulary_are_tiktokens() {
        assert_eq!(O200K_PATTERN, tiktoken_rs::O200K_BASE_PAT_STR);
        assert_eq!(vocab_len(), 199_998);
        let bpe = tiktoken();
        for rank in 0..vocab_len() as u32 {
            let bytes = bpe.decode_bytes(&[rank]).unwrap();
            assert_eq!(token_bytes(rank as usize), bytes.as_slice(), "rank {rank}");
            assert_eq!(rank_of(&bytes), Some(rank), "lookup of rank {rank}");
        }
        assert_eq!(rank_of(b"no such token in the vocabulary at all"), None);
    }

    #[test]
    fn encodes_every_fixture_text_like_tiktoken() {
        fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lightrag");
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                for line in std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                {
                    strings(&serde_json::from_str(line).unwrap(), &mut texts);
                }
            }
        }
        assert!(texts.len() > 100, "too few fixture texts: {}", texts.len());
        for text in &texts {
            assert_same(text);
        }
    }

    #[test]
    fn encodes_random_text_like_tiktoken() {
        // Words, numbers, punctuation, contractions, whitespace and newline runs, accents,
        // combining marks, CJK, emoji, and long unbroken runs (the heap merge path).
        const PARTS: &[&str] = &[
            "the",
            " The",
            "HELLO",
            "naïve",
            "Straße",
            "e\u{301}",
            "’s",
            "'LL",
            "don't",
            " 12345",
            "3.14",
            "  ",
            "\n",
            "\r\n",
            "\t",
            "\n\n\n",
            "    \n",
            "{\"a\": [1, 2]}",
            "...",
            "—",
            "/",
            "//\n",
            "北京大学",
            "日本語のテキスト",
            "한국어",
            "🦀",
            "👩‍💻",
            "مرحبا",
            "Привет",
            "\u{a0}",
            "<|endoftext|>",
        ];
        let mut next = crate::rag::xorshift(0x2545_f491_4f6c_dd1du64);
        for _ in 0..400 {
            let mut text = String::new();
            for _ in 0..(next() % 60) {
                match next() % 20 {
                    0 => text.push_str(&"abcdefghij".repeat(1 + (next() % 30) as usize)),
                    1 => text.push_str(&" ".repeat(1 + (next() % 200) as usize)),
                    2 => text.push(char::from_u32((next() % 0x3_0000) as u32).unwrap_or('?')),
                    _ => text.push_str(PARTS[(next() % PARTS.len() as u64) as usize]),
                }
            }
            assert_same(&text);
        }
    }

    #[test]
    fn known_pieces_are_the_regexs() {
        // Every ASCII character, and neighbours outside ASCII that could change a match: a
        // letter, a mark, a digit, spaces, punctuation, and `ſ`, which `(?i:'s)` matches.
        let mut alphabet: Vec<String> = (0u8..128).map(|b| (b as char).to_string()).collect();
        for common in [
            "a", "b", "Z", "s", "S", "e", "l", "r", "v", " ", " ", "\n", "'", "1", ".", "/",
        ] {
            alphabet.extend(std::iter::repeat_n(common.to_string(), 6));
        }
        for other in [
            "é", "\u{301}", "²", "٣", "\u{a0}", "\u{2028}", "\u{85}", "’", "—", "ſ", "北", "🦀",
        ] {
            alphabet.push(other.to_string());
        }
        let mut next = crate::rag::xorshift(0x0123_4567_89ab_cdefu64);
        for _ in 0..20_000 {
            let text: String = (0..next() % 24)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize].as_str())
                .collect();
            assert_eq!(
                Tokenizer::global().pieces(&text).collect::<Vec<_>>(),
                regex_pieces(&text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn count_with_newline_matches_encoding_the_newline() {
        let tok = Tokenizer::global();
        for text in [
            r#"{"entity": "Ada", "description": "x."}"#,
            r#"{"a": "ends with slash//"}"#,
            "plain words",
            "ends with spaces   ",
            "",
            "北京。",
            "a)",
        ] {
            let expected = (tok.count(text), tok.count(&format!("{text}\n")));
            assert_eq!(tok.count_with_newline(text), expected, "{text:?}");
        }
    }

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
