//! Recall measurement shared by `benches/recall.rs` and `tests/recall.rs`: the fidelity tool's
//! hard embedding landscape in Rust, an exact reference search that shares no code with lrt's,
//! and strict recall.
#![allow(dead_code)]

/// The fidelity mock's defaults (`mock_llm.py --embed-floor 0.3 --embed-jitter 0.002`).
pub const FLOOR: f64 = 0.3;
pub const JITTER: f64 = 0.002;

/// Scores closer than this to the k-th exact score count as ties (f32 resolution near 1).
pub const TIE: f64 = 1e-6;

/// Like the fidelity mock's `embed_text`: signed feature hashing of lower-cased word unigrams
/// (weight 1, 2.5 when capitalised) and bigrams (0.5) into dimensions 1..dim, with dimension 0
/// a component shared by every text so unrelated texts score about `floor`, scaled per text by
/// `1 + jitter * u` (u exponential from the text's hash) so they do not tie exactly. With
/// `noise` > 0, every other dimension also gets a small pseudo-random value (a dense vector, as
/// real models give). Returns a unit f32 vector.
pub fn flat_embedding(text: &str, dim: usize, floor: f64, jitter: f64, noise: f64) -> Vec<f32> {
    let hash = |s: &str| xxhash_rust::xxh3::xxh3_64(s.as_bytes());
    let mut v = vec![0.0f64; dim];
    let span = (dim - 1) as u64;
    let words: Vec<(String, bool)> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(|w| (w.to_lowercase(), w.starts_with(char::is_uppercase)))
        .collect();
    let mut add = |feature: &str, weight: f64| {
        let h = hash(feature);
        let sign = if (h >> 40) & 1 == 1 { 1.0 } else { -1.0 };
        v[1 + (h % span) as usize] += sign * weight;
    };
    for (w, caps) in &words {
        add(w, if *caps { 2.5 } else { 1.0 });
    }
    for pair in words.windows(2) {
        add(&format!("{} {}", pair[0].0, pair[1].0), 0.5);
    }
    if noise > 0.0 {
        let mut state = hash(text) | 1;
        for x in v.iter_mut().skip(1) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *x += noise * ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5);
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    let u = -(1.0 - (hash(&format!("jitter:{text}")) >> 11) as f64 / (1u64 << 53) as f64).ln();
    let f0 = floor.sqrt() * (1.0 + jitter * u);
    let scale = (1.0 - floor).sqrt() / norm;
    v[0] = f0;
    for x in v.iter_mut().skip(1) {
        *x *= scale;
    }
    let renorm = (f0 * f0 + 1.0 - floor).sqrt();
    v.into_iter().map(|x| (x / renorm) as f32).collect()
}

/// A stored vector for the reference: its non-zero components and its norm, in f64.
pub struct Reference {
    pub key: u64,
    entries: Vec<(usize, f64)>,
    norm: f64,
}

impl Reference {
    pub fn new(key: u64, v: &[f32]) -> Reference {
        let entries: Vec<(usize, f64)> = v
            .iter()
            .enumerate()
            .filter(|(_, x)| **x != 0.0)
            .map(|(i, x)| (i, f64::from(*x)))
            .collect();
        let norm = entries.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
        Reference { key, entries, norm }
    }

    /// Cosine with a query, all in f64.
    fn cosine(&self, q: &[f64], qnorm: f64) -> f64 {
        if self.norm == 0.0 || qnorm == 0.0 {
            return 0.0;
        }
        self.entries.iter().map(|(i, x)| x * q[*i]).sum::<f64>() / (self.norm * qnorm)
    }
}

/// Exact search in f64 by brute force: the best `k` (key, cosine) at or above `threshold`.
pub fn exact_top(rows: &[Reference], query: &[f32], k: usize, threshold: f64) -> Vec<(u64, f64)> {
    let q: Vec<f64> = query.iter().map(|x| f64::from(*x)).collect();
    let qnorm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut all: Vec<(u64, f64)> = rows
        .iter()
        .map(|r| (r.key, r.cosine(&q, qnorm)))
        .filter(|(_, s)| *s >= threshold)
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    all.truncate(k);
    all
}

/// Strict recall of one result list: (found, required), where the required items are those of
/// the exact list scoring above its k-th score by more than [`TIE`] (items tied with the k-th
/// may legitimately be swapped), with `k` the number of items asked for.
pub fn strict_recall(found: &[u64], exact: &[(u64, f64)], k: usize) -> (usize, usize) {
    let cut = if exact.len() >= k {
        exact[k - 1].1 + TIE
    } else {
        f64::NEG_INFINITY
    };
    let required: Vec<u64> = exact.iter().filter(|(_, s)| *s > cut).map(|(key, _)| *key).collect();
    let hit = required.iter().filter(|key| found.contains(key)).count();
    (hit, required.len())
}

/// Deterministic generated texts of three kinds over a Zipf-like vocabulary, with names that
/// recur (so texts share words and scores spread above the floor).
pub struct Texts {
    next: Box<dyn FnMut() -> u64>,
}

impl Texts {
    pub fn new(seed: u64) -> Texts {
        let mut s = seed | 1;
        Texts {
            next: Box::new(move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s
            }),
        }
    }

    fn word(&mut self) -> String {
        let r = ((self.next)() >> 11) as f64 / (1u64 << 53) as f64;
        format!("word{}", (4000f64.powf(r) as usize).min(3999))
    }

    fn name(&mut self) -> String {
        let n = (self.next)() % 400;
        format!("Person{n} Place{}", n % 37)
    }

    fn words(&mut self, n: usize) -> String {
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }

    /// A chunk: about 120 words with a few names.
    pub fn chunk(&mut self) -> String {
        let mut parts = Vec::new();
        for _ in 0..6 {
            parts.push(self.name());
            parts.push(self.words(18));
        }
        parts.join(" ")
    }

    /// An entity: `name\ndescription`.
    pub fn entity(&mut self) -> String {
        let name = self.name();
        let n = 8 + ((self.next)() % 20) as usize;
        format!("{name}\n{} {}", name, self.words(n))
    }

    /// A relation: `keywords\tsrc\ntgt\ndescription`.
    pub fn relation(&mut self) -> String {
        let (a, b) = (self.name(), self.name());
        let n = 6 + ((self.next)() % 14) as usize;
        format!(
            "{}, {}\t{a}\n{b}\n{a} and {b} {}",
            self.word(),
            self.word(),
            self.words(n)
        )
    }

    /// A query: a few names and words, like keywords or a question.
    pub fn query(&mut self) -> String {
        let n = 2 + ((self.next)() % 6) as usize;
        format!("{} {}", self.name(), self.words(n))
    }
}
