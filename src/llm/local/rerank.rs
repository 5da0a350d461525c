//! The offline reranker: Okapi BM25 of each retrieved chunk against the question, over the
//! same content-word roots the offline answerer matches sentences by (stopwords dropped,
//! Porter2 stems and irregular verbs), so "Where was Sarah buried?" ranks the chunk that says
//! "buried Sarah" above one that only names her.
//!
//! Inverse document frequencies are taken over the candidate chunks themselves (the only
//! corpus a reranker sees), with BM25's usual `k1 = 1.2`, `b = 0.75`. Scores are divided by
//! the best one, so the best chunk scores 1 and a chunk sharing no term with the question 0:
//! `MIN_RERANK_SCORE` then reads as a share of the best chunk's relevance.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock, Mutex};

use lru::LruCache;
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use super::{FastMap, Roots, is_content_word, root};

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// How many chunks' term counts a process keeps (a few KB each).
const MEMO_CHUNKS: usize = 4096;

/// A document's content-word roots, each by its 64-bit hash, with their counts (sorted by
/// hash), and its length in content words.
struct Terms {
    counts: Box<[(u64, u32)]>,
    len: u32,
}

/// Each word's root hash, `None` for words that are no content words: one lookup per word.
type RootMemo = FastMap<String, Option<u64>>;

/// The hash of the root of each content word of `text`, in order: [`Roots::of`], hashed,
/// without allocating per word (a cold query scores about a hundred chunks).
fn root_hashes(text: &str, memo: &mut RootMemo, mut each: impl FnMut(u64)) {
    let mut lower = String::new();
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        lower.clear();
        if w.is_ascii() {
            lower.push_str(w);
            lower.make_ascii_lowercase();
        } else {
            // `str::to_lowercase`, as `Roots::of` (a word-final sigma differs from char by char).
            lower.push_str(&w.to_lowercase());
        }
        let hash = match memo.get(lower.as_str()) {
            Some(&h) => h,
            None => {
                let h = is_content_word(&lower).then(|| xxh3_64(root(&lower).as_bytes()));
                memo.insert(lower.clone(), h);
                h
            }
        };
        if let Some(h) = hash {
            each(h);
        }
    }
}

impl Terms {
    fn of(text: &str, memo: &mut RootMemo) -> Terms {
        let mut counts: FastMap<u64, u32> = FastMap::default();
        let mut len = 0;
        root_hashes(text, memo, |h| {
            *counts.entry(h).or_insert(0) += 1;
            len += 1;
        });
        let mut counts: Vec<(u64, u32)> = counts.into_iter().collect();
        counts.sort_unstable();
        Terms {
            counts: counts.into_boxed_slice(),
            len,
        }
    }

    fn count(&self, term: u64) -> u32 {
        self.counts
            .binary_search_by_key(&term, |&(t, _)| t)
            .map_or(0, |i| self.counts[i].1)
    }
}

/// Term counts by the document's content hash: the same chunks come back question after
/// question, and finding their roots is nearly all of a score's cost.
static MEMO: LazyLock<Mutex<LruCache<u128, Arc<Terms>>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(NonZeroUsize::new(MEMO_CHUNKS).expect("non-zero"))));

fn terms(text: &str, roots: &mut RootMemo) -> Arc<Terms> {
    let key = xxh3_128(text.as_bytes());
    let memo = || MEMO.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = memo().get(&key) {
        return t.clone();
    }
    let t = Arc::new(Terms::of(text, roots));
    memo().put(key, t.clone());
    t
}

/// One relevance score in [0, 1] per document, in order.
pub fn scores(query: &str, documents: &[String]) -> Vec<f64> {
    let mut roots = Roots::default();
    let mut wanted: Vec<String> = roots.of(query).collect();
    wanted.sort();
    wanted.dedup();
    let mut memo = RootMemo::default();
    let docs: Vec<Arc<Terms>> = documents.iter().map(|d| terms(d, &mut memo)).collect();
    let lengths: Vec<f64> = docs.iter().map(|d| f64::from(d.len)).collect();
    let n = docs.len() as f64;
    let avg_len = (lengths.iter().sum::<f64>() / n.max(1.0)).max(1.0);
    // Summed in the query's (sorted) term order, so equal documents tie exactly on every run.
    let idf: Vec<(u64, f64)> = wanted
        .iter()
        .map(|t| {
            let t = xxh3_64(t.as_bytes());
            let df = docs.iter().filter(|d| d.count(t) > 0).count() as f64;
            (t, (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    let raw: Vec<f64> = docs
        .iter()
        .zip(&lengths)
        .map(|(d, &len)| {
            idf.iter()
                .map(|&(t, idf)| {
                    let f = f64::from(d.count(t));
                    idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / avg_len))
                })
                .sum()
        })
        .collect();
    let best = raw.iter().copied().fold(0.0, f64::max);
    raw.into_iter()
        .map(|s| if best > 0.0 { s / best } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn chunks_that_answer_score_highest() {
        let d = docs(&[
            "Sarah lived a hundred and seven and twenty years in Kirjatharba.",
            "And after this, Abraham buried Sarah his wife in the cave of the field of Machpelah.",
            "The sons of Heth answered Abraham, saying unto him.",
        ]);
        let s = scores("Where was Sarah buried?", &d);
        assert_eq!(s[1], 1.0, "{s:?}");
        assert!(s[0] > s[2] && s[0] < 1.0, "{s:?}");
        assert_eq!(s[2], 0.0, "{s:?}");
    }

    #[test]
    fn rare_terms_outweigh_common_ones_and_long_chunks_are_damped() {
        let d = docs(&[
            "The king spoke. The king rode. The king slept. The king ate.",
            "The king saw the writing on the wall.",
            "The king went to the field.",
        ]);
        let s = scores("What writing did the king see?", &d);
        assert_eq!(s[1], 1.0, "{s:?}");
        assert!(s[2] < s[1] && s[0] < s[1], "{s:?}");
    }

    #[test]
    fn root_hashes_are_the_roots_of_content_words_hashed() {
        let text = "And after this, Abraham buried Sarah; the kings ATE. ΟΔΥΣΣΕΥΣ Σίσυφος \
                    Straße Zoë's naïve co-operation in 1999 at the U.S. Ölmühle, studies";
        let mut roots = Roots::default();
        let expected: Vec<u64> = roots.of(text).map(|r| xxh3_64(r.as_bytes())).collect();
        let mut memo = RootMemo::default();
        for _ in 0..2 {
            let mut got = Vec::new();
            root_hashes(text, &mut memo, |h| got.push(h));
            assert_eq!(got, expected, "the second pass is served by the memo");
        }
        assert!(expected.len() > 10);
    }

    #[test]
    fn nothing_to_match_scores_zero_everywhere() {
        assert_eq!(scores("the of and", &docs(&["Abraham", "Sarah"])), vec![0.0, 0.0]);
        assert_eq!(scores("Abraham", &docs(&["", "Isaac"])), vec![0.0, 0.0]);
        assert!(scores("Abraham", &[]).is_empty());
    }
}
