//! Lexical embeddings by feature hashing: no model, stable forever.
//!
//! Features are the roots of the lowercase content words (stopwords dropped; Porter2 stems and
//! irregular verbs, so "buried" meets "bury" and "left" meets "leave") and the
//! bigrams of consecutive content words ("Bank of England" gives "bank england"), weighted by
//! sublinear term frequency `1 + ln tf`. Each feature's FNV-1a 64 hash picks a dimension (low
//! bits) and a sign (top bit), so collisions cancel out on average instead of piling up. The
//! vector is L2-normalised, so cosine is a dot product. The hash ([`Fnv`]) is written out in
//! this module's parent, not taken from a crate or `std`, so vectors never change between
//! releases or platforms.

use std::borrow::Cow;
use std::hash::Hasher;

use super::{FastMap, Fnv, is_stopword, root};

/// FNV-1a 64 over the bytes of `parts`, with a space between parts (bigrams hash as "a b").
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h = Fnv::default();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.write(b" ");
        }
        h.write(part.as_bytes());
    }
    h.finish()
}

/// The embedding of `text` in `dim` dimensions. A text without words (empty, punctuation only)
/// gets the zero vector: its cosine with any vector is 0, so it never matches anything.
pub(super) fn embed(text: &str, dim: usize) -> Vec<f32> {
    let mut v = vec![0f32; dim];
    if dim == 0 {
        return v;
    }
    let lower = text.to_lowercase();
    let all: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut words: Vec<Cow<str>> = all.iter().filter(|w| !is_stopword(w)).map(|w| root(w)).collect();
    if words.is_empty() {
        // Only stopwords ("to be or not to be"): better those than nothing.
        words = all.into_iter().map(Cow::Borrowed).collect();
    }
    let words: Vec<&str> = words.iter().map(|w| &**w).collect();
    let mut tf: FastMap<u64, u32> = FastMap::default();
    for w in &words {
        *tf.entry(fnv1a(&[w])).or_default() += 1;
    }
    for pair in words.windows(2) {
        *tf.entry(fnv1a(pair)).or_default() += 1;
    }
    for (h, n) in tf {
        let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
        v[(h % dim as u64) as usize] += sign * (1.0 + (n as f32).ln());
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(&[""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&["foobar"]), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a(&["a", "b"]), fnv1a(&["a b"]));
    }

    #[test]
    fn vectors_are_unit_length_deterministic_and_zero_for_no_words() {
        let a = embed("The Bank of England raised interest rates.", 256);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(a, embed("The Bank of England raised interest rates.", 256));
        assert!(embed("", 256).iter().all(|&x| x == 0.0));
        assert!(embed("?!", 8).iter().all(|&x| x == 0.0));
        assert!(embed("to be or not to be", 16).iter().any(|&x| x != 0.0));
        assert!(embed("anything", 0).is_empty());
    }

    #[test]
    fn similar_texts_score_higher_than_unrelated_ones() {
        let d = 1024;
        let doc = embed("Marie Curie discovered radium and polonium in her Paris laboratory.", d);
        let near = embed("Who discovered radium? Curie, in a laboratory in Paris.", d);
        let far = embed(
            "The football club signed a new striker before the transfer deadline.",
            d,
        );
        let (s_near, s_far) = (cos(&doc, &near), cos(&doc, &far));
        assert!(s_near > 0.4, "similar texts score {s_near}");
        assert!(s_far.abs() < 0.15, "unrelated texts score {s_far}");
        // Plurals and case do not matter.
        assert!(cos(&embed("Central banks", d), &embed("central bank", d)) > 0.99);
    }
}
