//! Query context assembly after upstream's four stages (reference §7.4): entity and relation
//! lists truncated to their token budgets, chunks picked from the graph and merged with the
//! vector hits, the chunk list cut to what is left of the total budget, and references
//! numbered by how often each file occurs. Pure functions; the engine does the I/O.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use serde_json::Value;
use xxhash_rust::xxh3::Xxh3Builder;

use crate::rag::pyjson;
use crate::rag::tokenizer::Tokenizer;

/// How many chunks one entity or relation contributes at most (upstream's
/// `related_chunk_number`).
pub const RELATED_CHUNK_NUMBER: usize = 5;

/// Upstream's marker for a chunk whose file is not known; it gets no reference.
pub const UNKNOWN_SOURCE: &str = "unknown_source";

/// Upstream's `truncate_list_by_token_size` as `_apply_token_truncation` calls it: how many
/// leading `items` fit in `max_tokens` when each is written as Python JSON and they are joined
/// with newlines (separators count; whole items only).
pub fn truncate_list_by_token_size(items: &[Value], max_tokens: i64) -> usize {
    let keys: Vec<String> = items.iter().map(pyjson::dumps).collect();
    fitting_prefix(&keys, max_tokens).0
}

/// The largest `k` such that `keys[..k].join("\n")` has at most `max_tokens` tokens, and that
/// text's token count.
///
/// Counted item by item rather than by re-encoding joined prefixes: when a key ends in ASCII
/// punctuation (a JSON object's `}`), the pre-split regex ends a piece right after the newline
/// that follows it, so no BPE piece crosses a separator and the join's count is the sum of
/// `count(key + "\n")` for the keys before the last plus `count(last)`. Other keys are
/// counted on the joined text itself.
pub fn fitting_prefix(keys: &[String], max_tokens: i64) -> (usize, usize) {
    if keys.is_empty() || max_tokens <= 0 {
        return (0, 0);
    }
    let max = max_tokens as usize;
    if !keys.iter().all(|k| k.ends_with(|c: char| c.is_ascii_punctuation())) {
        return fitting_prefix_joined(keys, max);
    }
    let (mut fit, mut before) = ((0, 0), 0);
    for (i, key) in keys.iter().enumerate() {
        let (alone, with_newline) = counts_memoized(key);
        let total = before + alone;
        if total > max {
            break;
        }
        fit = (i + 1, total);
        before += with_newline;
    }
    fit
}

/// [`fitting_prefix`] one JSON line at a time, for callers that read items lazily and stop
/// at the first one that no longer fits.
pub struct LineBudget {
    max: i64,
    before: usize,
}

impl LineBudget {
    pub fn new(max_tokens: i64) -> LineBudget {
        LineBudget {
            max: max_tokens,
            before: 0,
        }
    }

    /// Adds the next line (a JSON object, so it ends in `}`); `false` once the lines added so
    /// far no longer fit, exactly where [`fitting_prefix`] would stop.
    pub fn add(&mut self, line: &str) -> bool {
        let (alone, with_newline) = counts_memoized(line);
        let fits = ((self.before + alone) as i64) <= self.max;
        self.before += with_newline;
        fits
    }
}

/// [`fitting_prefix`] by counting joined prefixes (binary search, then the exact edge).
fn fitting_prefix_joined(keys: &[String], max: usize) -> (usize, usize) {
    let tok = Tokenizer::global();
    let count = |k: usize| if k == 0 { 0 } else { tok.count(&keys[..k].join("\n")) };
    let all = count(keys.len());
    if all <= max {
        return (keys.len(), all);
    }
    let (mut lo, mut hi) = (0, keys.len());
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if count(mid) <= max { lo = mid } else { hi = mid }
    }
    while lo + 1 < keys.len() && count(lo + 1) <= max {
        lo += 1;
    }
    while lo > 0 && count(lo) > max {
        lo -= 1;
    }
    (lo, count(lo))
}

/// Most entries the token-count memo keeps before it starts over.
const MEMO_ENTRIES: usize = 100_000;

/// Token counts of texts a query has counted before, by a 64-bit hash of the text: a
/// long-lived process answering questions about the same KB meets the same entity, relation
/// and chunk lines again and again, and encoding them is most of a query's CPU time.
static MEMO: LazyLock<Mutex<HashMap<u64, (usize, usize)>>> = LazyLock::new(Default::default);

/// `(count(text), count(text + "\n"))`, memoized.
fn counts_memoized(text: &str) -> (usize, usize) {
    memoized(0, text, || Tokenizer::global().count_with_newline(text))
}

/// `Tokenizer::count`, summed over the segments of `text` that end in `}\n` before a `{`,
/// each memoized: a rendered context or prompt is mostly entity, relation and chunk lines the
/// query counted already, so only the text around them is encoded again. Exact for any text,
/// because a piece holding that `}` is a punctuation run that takes the newline and stops at
/// the `{` (see [`fitting_prefix`]), and the pre-split regex looks at nothing before a piece.
pub fn count_tokens(text: &str) -> usize {
    let mut total = 0;
    let mut rest = text;
    while let Some(at) = rest.find("}\n{") {
        let (segment, tail) = rest.split_at(at + 2);
        // Keyed like a list item, whose memo entry already holds `count(item + "\n")`.
        total += counts_memoized(&segment[..segment.len() - 1]).1;
        rest = tail;
    }
    total + memoized(1, rest, || (Tokenizer::global().count(rest), 0)).0
}

/// The memo entry of `(kind, text)`, computed by `count` when missing.
fn memoized(kind: u8, text: &str, count: impl FnOnce() -> (usize, usize)) -> (usize, usize) {
    // XXH3 rather than SipHash: the texts are KB content, not attacker-chosen map keys, and
    // hashing every line of every query with SipHash was a visible share of a warm query.
    let key = xxhash_rust::xxh3::xxh3_64_with_seed(text.as_bytes(), u64::from(kind));
    if let Some(counts) = MEMO.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return *counts;
    }
    let counts = count();
    let mut memo = MEMO.lock().unwrap_or_else(|p| p.into_inner());
    if memo.len() >= MEMO_ENTRIES {
        memo.clear();
    }
    memo.insert(key, counts);
    counts
}

/// The token count of `lines.join("\n")` for JSON lines (item by item, see [`fitting_prefix`]).
pub fn lines_tokens(lines: &[String]) -> usize {
    fitting_prefix(lines, i64::MAX).1
}

/// The text of JSON lines, one per item, as they appear in the context.
pub fn json_lines(items: &[Value]) -> String {
    items.iter().map(pyjson::dumps).collect::<Vec<_>>().join("\n")
}

/// An entity's JSON line as the context shows it.
pub fn entity_line(name: &str, entity_type: &str, description: &str) -> String {
    pyjson::dumps_str_object(&[("entity", name), ("type", entity_type), ("description", description)])
}

/// A relation's JSON line as the context shows it (no keywords, no weight).
pub fn relation_line(src: &str, tgt: &str, description: &str) -> String {
    pyjson::dumps_str_object(&[("entity1", src), ("entity2", tgt), ("description", description)])
}

/// A chunk's JSON line as the context shows it.
pub fn chunk_line(reference_id: &str, content: &str) -> String {
    pyjson::dumps_str_object(&[("reference_id", reference_id), ("content", content)])
}

/// One graph element's candidate chunks, in its stored order.
#[derive(Debug, Clone)]
pub struct ChunkSources {
    pub chunk_ids: Vec<String>,
}

/// Which graph elements' chunks are being picked. Upstream counts the two sides differently
/// (`_find_related_text_unit_from_entities` / `_from_relations`), and the count decides how
/// many chunks the VECTOR pick keeps and how the WEIGHT pick shares its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickSide {
    /// Every entity that names a chunk counts, even when all of its chunks went to a
    /// higher-ranked entity.
    Entities,
    /// Only relations left with a chunk after de-duplication (against higher-ranked relations
    /// and the chunks the entities picked) count.
    Relations,
}

/// Each element's chunks as upstream prepares them for picking: a chunk stays only with the
/// first (highest-ranked) element that names it, chunks in `exclude` go, and each element's
/// list is ordered by how many elements name the chunk (most first; stable). One list per
/// element that counts on `side` (see [`PickSide`]); the number of lists is the `n` of
/// [`vector_pick_count`] and [`pick_by_weighted_polling`].
pub fn dedupe_by_rank(sources: &[ChunkSources], exclude: &HashSet<String>, side: PickSide) -> Vec<Vec<String>> {
    // XXH3 rather than SipHash: chunk ids are KB content, and a graph query hashes hundreds.
    let mut count: HashMap<&str, usize, Xxh3Builder> = HashMap::default();
    for s in sources {
        let unique: HashSet<&str, Xxh3Builder> = s.chunk_ids.iter().map(String::as_str).collect();
        for id in unique {
            *count.entry(id).or_default() += 1;
        }
    }
    let mut taken: HashSet<&str, Xxh3Builder> = HashSet::default();
    sources
        .iter()
        .filter(|s| s.chunk_ids.iter().any(|id| !id.is_empty()))
        .map(|s| {
            let mut mine: Vec<(usize, &str)> = Vec::new();
            for id in &s.chunk_ids {
                if !id.is_empty() && !exclude.contains(id) && taken.insert(id.as_str()) {
                    mine.push((count[id.as_str()], id));
                }
            }
            mine.sort_by_key(|&(n, _)| std::cmp::Reverse(n));
            mine.into_iter().map(|(_, id)| id.to_string()).collect::<Vec<String>>()
        })
        .filter(|mine| side == PickSide::Entities || !mine.is_empty())
        .collect()
}

/// How many chunks the VECTOR pick takes for `n` elements that have chunks:
/// `int(related_chunk_number * n / 2)`.
pub fn vector_pick_count(n: usize) -> usize {
    RELATED_CHUNK_NUMBER * n / 2
}

/// Upstream's VECTOR pick: every candidate ranked by `score` (its cosine similarity to the
/// query), the best `num` kept. `None` when a candidate has no score (no vector: the caller
/// falls back to WEIGHT).
pub fn pick_by_vector(
    candidates: &[Vec<String>],
    num: usize,
    score: impl Fn(&str) -> Option<f64>,
) -> Option<Vec<String>> {
    let mut scored = Vec::new();
    for id in candidates.iter().flatten() {
        scored.push((score(id)?, id));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    Some(scored.into_iter().take(num).map(|(_, id)| id.clone()).collect())
}

/// Upstream's WEIGHT pick (`pick_by_weighted_polling`): element `i` of `n` (every list counts,
/// empty ones too) may take `round(max - i/(n-1)*(max-1))` chunks from the head of its list;
/// each unused place then goes, one at a time, to the top element that still has chunks.
pub fn pick_by_weighted_polling(candidates: &[Vec<String>], max: usize) -> Vec<String> {
    let n = candidates.len();
    if n == 0 || max == 0 {
        return Vec::new();
    }
    if n == 1 {
        return candidates[0].iter().take(max).cloned().collect();
    }
    let quota = |i: usize| -> usize {
        let q = max as f64 - i as f64 / (n - 1) as f64 * (max as f64 - 1.0);
        py_round(q) as usize
    };
    let mut taken = vec![0usize; n];
    let mut picked = Vec::new();
    let mut left = 0;
    for (i, list) in candidates.iter().enumerate() {
        let q = quota(i);
        let k = q.min(list.len());
        picked.extend(list[..k].iter().cloned());
        taken[i] = k;
        left += q - k;
    }
    for _ in 0..left {
        let Some(i) = (0..n).find(|&i| taken[i] < candidates[i].len()) else {
            break;
        };
        picked.push(candidates[i][taken[i]].clone());
        taken[i] += 1;
    }
    picked
}

/// Python's `round`: halves go to the even neighbour.
fn py_round(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// Cosine similarity; 0 for a zero vector or mismatched lengths.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    QueryVector::new(a).cosine(b, norm_sq(b))
}

/// `Σ v[i]²` in f64, summed in index order (as [`cosine`] sums it).
pub fn norm_sq(v: &[f32]) -> f64 {
    v.iter().fold(0.0f64, |acc, &x| acc + f64::from(x) * f64::from(x))
}

/// A chunk vector as upstream's graph-chunk pick sees it: nano-vectordb's
/// `get_vectors_by_ids` hands out the float16 copy it keeps beside each record, and
/// `cosine_similarity` then computes in float64. Scores of neighbouring chunks often differ
/// by less than float16's rounding, so lrt rounds the same way to pick the same chunks in the
/// same order.
pub fn as_upstream_pick_vector(v: &[f32]) -> Vec<f32> {
    use crate::store::codec::{f16_to_f32, f32_to_f16};
    v.iter().map(|&x| f16_to_f32(f32_to_f16(x))).collect()
}

/// One side of many [`cosine`]s, prepared once: its squared norm, and the indices where it is
/// not zero. A graph query scores hundreds of candidate chunks against one query vector; the
/// candidates' squared norms are kept with their cached vectors, and the dot product only
/// visits the query's non-zero components (a few dozen of the local embedder's 1024).
///
/// Bit-identical to summing over every index: each skipped term is ±0 (for finite vectors),
/// and adding ±0 to a sum that starts at +0 never changes it (round-to-nearest cannot produce
/// -0 from a sum that is not both -0). Products and sums are in f64, as upstream's numpy
/// arithmetic on Python float lists is.
pub struct QueryVector<'a> {
    values: &'a [f32],
    nonzero: Vec<usize>,
    norm_sq: f64,
}

impl<'a> QueryVector<'a> {
    pub fn new(values: &'a [f32]) -> QueryVector<'a> {
        QueryVector {
            values,
            nonzero: (0..values.len()).filter(|&i| values[i] != 0.0).collect(),
            norm_sq: norm_sq(values),
        }
    }

    /// The cosine similarity with `other`, whose [`norm_sq`] is `other_norm_sq`.
    pub fn cosine(&self, other: &[f32], other_norm_sq: f64) -> f64 {
        if self.values.len() != other.len() {
            return 0.0;
        }
        let dot = self
            .nonzero
            .iter()
            .fold(0.0f64, |acc, &i| acc + f64::from(self.values[i]) * f64::from(other[i]));
        if self.norm_sq == 0.0 || other_norm_sq == 0.0 {
            0.0
        } else {
            dot / (self.norm_sq.sqrt() * other_norm_sq.sqrt())
        }
    }
}

/// Round-robin merge of ranked lists (`a[0], b[0], c[0], a[1], …`), first occurrence of each
/// key kept. Takes the lists by value: the items are whole rows, moved rather than cloned.
pub fn round_robin<T, K: Eq + std::hash::Hash>(lists: Vec<Vec<T>>, key: impl Fn(&T) -> K) -> Vec<T> {
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let mut lists: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for _ in 0..longest {
        for list in &mut lists {
            if let Some(item) = list.next()
                && seen.insert(key(&item))
            {
                out.push(item);
            }
        }
    }
    out
}

/// Reference ids for the final chunks' files: most frequent file first (ties by first
/// appearance), numbered from "1"; [`UNKNOWN_SOURCE`] and empty paths get none.
pub fn reference_list(file_paths: &[&str]) -> Vec<(String, String)> {
    let mut order: Vec<(&str, usize, usize)> = Vec::new(); // (path, count, first index)
    for (i, path) in file_paths.iter().enumerate() {
        if path.is_empty() || *path == UNKNOWN_SOURCE {
            continue;
        }
        match order.iter_mut().find(|(p, _, _)| p == path) {
            Some(entry) => entry.1 += 1,
            None => order.push((path, 1, i)),
        }
    }
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    order
        .into_iter()
        .enumerate()
        .map(|(i, (path, _, _))| ((i + 1).to_string(), path.to_string()))
        .collect()
}

/// The `[n] path` lines of the reference list.
pub fn reference_lines(references: &[(String, String)]) -> String {
    references
        .iter()
        .map(|(id, path)| format!("[{id}] {path}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The graph-mode context: entities, relations, chunks and references, each in its block.
pub fn render_kg(entities: &str, relations: &str, chunks: &str, references: &str) -> String {
    format!(
        "Knowledge Graph Data (Entity):\n\n```json\n{entities}\n```\n\n\
Knowledge Graph Data (Relationship):\n\n```json\n{relations}\n```\n\n\
{}",
        render_chunks(chunks, references)
    )
}

/// The chunk and reference blocks (the whole context of naive mode).
pub fn render_chunks(chunks: &str, references: &str) -> String {
    format!(
        "Document Chunks (the reference_id of each entry points into the Reference Document List):\n\n\
```json\n{chunks}\n```\n\n\
Reference Document List (each line: [reference_id] document):\n\n```\n{references}\n```"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn item_by_item_counts_equal_counting_the_joined_text() {
        let tok = Tokenizer::global();
        let keys: Vec<String> = (0..12)
            .map(|i| {
                let text = [
                    "Ada wrote notes.",
                    "x\n\ny",
                    "北京大学",
                    "ends in space ",
                    "42",
                    "a/b//",
                    "🦀!",
                ][i % 7];
                entity_line(&format!("E{i}"), "person", &format!("{text} {}", "word ".repeat(i)))
            })
            .collect();
        for max in [1, 10, 40, 100, 200, 400, 10_000] {
            let (k, tokens) = fitting_prefix(&keys, max);
            assert_eq!(tokens, tok.count(&keys[..k].join("\n")), "max {max}");
            assert!(tokens <= max as usize);
            if k < keys.len() {
                assert!(
                    tok.count(&keys[..k + 1].join("\n")) > max as usize,
                    "max {max}: {k} is not the largest"
                );
            }
            assert_eq!(fitting_prefix_joined(&keys, max as usize), (k, tokens));
        }
        assert_eq!(lines_tokens(&keys), tok.count(&keys.join("\n")));
        // Keys not ending in punctuation take the joined path.
        let words: Vec<String> = ["alpha beta", "gamma", "delta epsilon"].map(String::from).to_vec();
        assert_eq!(fitting_prefix(&words, 3), fitting_prefix_joined(&words, 3));
        assert_eq!(count_tokens("Hello, world!"), tok.count("Hello, world!"));
        let rendered = render_kg(&keys.join("\n"), &keys[..3].join("\n"), "", "[1] a.md");
        for text in [rendered.as_str(), "}\n{", "a}\n{b}\n{c", "x}\n{\"y\": 1}\n\n{z"] {
            assert_eq!(count_tokens(text), tok.count(text), "{text:?}");
        }
    }

    #[test]
    fn line_budget_stops_where_fitting_prefix_does() {
        let lines: Vec<String> = (0..40)
            .map(|i| relation_line(&format!("E{i}"), "Other entity", &"words ".repeat(i % 7 + 1)))
            .collect();
        for max in [-1, 0, 5, 37, 120, 400, 100_000] {
            let (fit, _) = fitting_prefix(&lines, max);
            let mut budget = LineBudget::new(max);
            let stop = lines.iter().position(|l| !budget.add(l)).unwrap_or(lines.len());
            assert_eq!(stop, fit, "max {max}");
        }
    }

    #[test]
    fn chunks_stay_with_their_first_element_and_sort_by_popularity() {
        let sources = vec![
            ChunkSources {
                chunk_ids: ids(&["c1", "c2", "c3"]),
            },
            ChunkSources {
                chunk_ids: ids(&["c3", "c4", "c2"]),
            },
            ChunkSources {
                chunk_ids: ids(&["c2", "c5"]),
            },
        ];
        let out = dedupe_by_rank(&sources, &HashSet::new(), PickSide::Entities);
        assert_eq!(out, vec![ids(&["c2", "c3", "c1"]), ids(&["c4"]), ids(&["c5"])]);
        let out = dedupe_by_rank(&sources, &["c2".to_string()].into_iter().collect(), PickSide::Entities);
        assert_eq!(out[0], ids(&["c3", "c1"]));
    }

    /// Upstream counts every entity that names a chunk (`entities_with_chunks` is built before
    /// de-duplication), but only the relations left with a chunk after it.
    #[test]
    fn entities_count_before_dedup_relations_after() {
        let sources = vec![
            ChunkSources {
                chunk_ids: ids(&["c1", "c2"]),
            },
            // Every chunk already taken by the first element.
            ChunkSources {
                chunk_ids: ids(&["c2", "c1"]),
            },
            ChunkSources { chunk_ids: Vec::new() },
            ChunkSources {
                chunk_ids: ids(&["c3"]),
            },
        ];
        let none = HashSet::new();
        let entities = dedupe_by_rank(&sources, &none, PickSide::Entities);
        assert_eq!(entities, vec![ids(&["c1", "c2"]), Vec::new(), ids(&["c3"])]);
        assert_eq!(vector_pick_count(entities.len()), 7);
        let relations = dedupe_by_rank(&sources, &none, PickSide::Relations);
        assert_eq!(relations, vec![ids(&["c1", "c2"]), ids(&["c3"])]);
        assert_eq!(vector_pick_count(relations.len()), 5);
        // An element emptied by de-duplication still holds its place in the WEIGHT quotas:
        // 5, 3, 1 for three entities, 5, 1 for two relations.
        let long = vec![
            ChunkSources {
                chunk_ids: ids(&["a1", "a2", "a3", "a4", "a5", "a6", "a7"]),
            },
            ChunkSources {
                chunk_ids: ids(&["a1"]),
            },
            ChunkSources {
                chunk_ids: ids(&["c1", "c2", "c3"]),
            },
        ];
        let lists = dedupe_by_rank(&long, &none, PickSide::Entities);
        // a1 is named twice and sorts first; quotas 5, 3, 1 leave 3 places, which go one at a
        // time to the top element with chunks left.
        assert_eq!(
            pick_by_weighted_polling(&lists, 5),
            ids(&["a1", "a2", "a3", "a4", "a5", "c1", "a6", "a7", "c2"])
        );
    }

    #[test]
    fn weighted_polling_gives_top_elements_more() {
        let lists = vec![
            ids(&["a1", "a2", "a3", "a4", "a5", "a6"]),
            ids(&["b1"]),
            ids(&["c1", "c2"]),
        ];
        // Quotas 5, 3, 1: a takes 5, b 1 (2 unused), c 1; then a6 and c2 get the rest.
        assert_eq!(
            pick_by_weighted_polling(&lists, 5),
            ids(&["a1", "a2", "a3", "a4", "a5", "b1", "c1", "a6", "c2"])
        );
        assert_eq!(pick_by_weighted_polling(&lists[..1], 2), ids(&["a1", "a2"]));
        assert_eq!(vector_pick_count(3), 7);
    }

    #[test]
    fn vector_pick_ranks_by_similarity_and_needs_every_vector() {
        let lists = vec![ids(&["x", "y"]), ids(&["z"])];
        let vectors: HashMap<String, Vec<f32>> = [
            ("x".to_string(), vec![0.0, 1.0]),
            ("y".to_string(), vec![1.0, 0.1]),
            ("z".to_string(), vec![1.0, 1.0]),
        ]
        .into_iter()
        .collect();
        let score = |id: &str| vectors.get(id).map(|v| cosine(&[1.0, 0.0], v));
        assert_eq!(pick_by_vector(&lists, 2, score), Some(ids(&["y", "z"])));
        let missing = vec![ids(&["x", "w"])];
        assert_eq!(pick_by_vector(&missing, 2, score), None);
    }

    #[test]
    fn graph_chunks_are_picked_with_upstreams_float16_vectors() {
        // Exact f32 cosines put `a` first; upstream scores nano-vectordb's float16 copies of
        // the vectors, which put `b` first (the two differ by 6e-5, under float16's rounding).
        let bits = |b: [u32; 3]| b.map(f32::from_bits);
        let q = [1.0f32, 0.5, 0.25];
        let a = bits([0x3f55_6295, 0x3f6f_107e, 0x3ed4_0e96]);
        let b = bits([0x3f53_1a6d, 0x3f65_6214, 0x3df9_c74c]);
        assert!(cosine(&q, &a) > cosine(&q, &b));
        let vectors: HashMap<String, Vec<f32>> = [("a", a), ("b", b)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), as_upstream_pick_vector(&v)))
            .collect();
        let score = |id: &str| vectors.get(id).map(|v| cosine(&q, v));
        assert_eq!(pick_by_vector(&[ids(&["a", "b"])], 2, score), Some(ids(&["b", "a"])));
    }

    #[test]
    fn prepared_cosine_is_bit_identical_to_the_full_sum() {
        // The former one-pass sum over every index, which the prepared form must reproduce.
        fn full(a: &[f32], b: &[f32]) -> f64 {
            let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
            for (&x, &y) in a.iter().zip(b) {
                let (x, y) = (f64::from(x), f64::from(y));
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            if na == 0.0 || nb == 0.0 {
                0.0
            } else {
                dot / (na.sqrt() * nb.sqrt())
            }
        }
        let mut next = crate::rag::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut vector = |density: u64| -> Vec<f32> {
            (0..96)
                .map(|_| match next() % 100 < density {
                    true => {
                        ((next() % 2001) as f32 - 1000.0) / 997.0 * if next().is_multiple_of(3) { -1.0 } else { 1.0 }
                    }
                    false => {
                        if next().is_multiple_of(2) {
                            0.0
                        } else {
                            -0.0
                        }
                    }
                })
                .collect()
        };
        for density in [0, 3, 10, 50, 100] {
            let query = vector(density);
            let prepared = QueryVector::new(&query);
            for other_density in [0, 5, 40, 100] {
                let other = vector(other_density);
                let expected = full(&query, &other);
                assert_eq!(prepared.cosine(&other, norm_sq(&other)).to_bits(), expected.to_bits());
                assert_eq!(cosine(&query, &other).to_bits(), expected.to_bits());
            }
        }
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn references_by_frequency_then_first_seen() {
        let refs = reference_list(&["b.md", "a.md", "a.md", UNKNOWN_SOURCE, "c.md", "b.md", "a.md"]);
        assert_eq!(
            refs,
            vec![
                ("1".to_string(), "a.md".to_string()),
                ("2".to_string(), "b.md".to_string()),
                ("3".to_string(), "c.md".to_string())
            ]
        );
        assert_eq!(reference_lines(&refs[..1]), "[1] a.md");
    }

    #[test]
    fn round_robin_dedupes() {
        let a = [1, 2, 3];
        let b = [2, 4];
        assert_eq!(round_robin(vec![a.to_vec(), b.to_vec()], |x| *x), vec![1, 2, 4, 3]);
        assert_eq!(py_round(2.5), 2.0);
        assert_eq!(py_round(3.5), 4.0);
    }
}
