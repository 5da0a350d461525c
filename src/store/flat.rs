//! Exact cosine search over a flat set of vectors: what [`super::vectors::VectorIndex`] keeps in
//! memory and in its file.
//!
//! **Scores.** Like upstream's nano-vectordb, every vector is normalized once (here: norm in f64,
//! each component divided and rounded to f32) and a score is the dot product of two normalized
//! f32 vectors, summed in f64 and rounded to f32. That is the "exact float32 cosine" that ranking
//! and the similarity threshold use, for every vector, however it is stored.
//!
//! **Two layouts**, chosen per vector:
//! * sparse (at most `dim / 8` non-zero components, as the `local` provider's lexical embeddings):
//!   `(index, f32)` pairs, scored exactly on every search;
//! * dense: an i8 copy for a fast scan, and the f32 original to re-score candidates exactly.
//!
//! **The file is the search structure.** Sparse vectors are written by dimension (postings), dense
//! ones as rows, so a search-only index ([`super::mapped`]) reads a memory map of the file as it
//! is, with no parsing; an owned [`Flat`] (for indexes that change) is decoded from the same
//! bytes. Both search with [`search_in`], so their results are identical.
//!
//! **Why the dense scan is provably exact.** A normalized vector `e` is kept as `qe / s + re`
//! (`qe` i8, scale `s`, residual `re`) and the query `x` as `qx / t + rx`. Then
//! `e·x = qe·qx / (s t) + (qe / s)·rx + re·x`; the first term is an integer dot product computed
//! exactly, and by Cauchy–Schwarz the rest is at most `‖qe / s‖·‖rx‖ + ‖re‖·‖x‖` in magnitude.
//! Both norms of each vector are stored rounded up. A search takes the k-th best lower bound
//! over every vector (exact scores of sparse ones), re-scores exactly every dense vector whose
//! upper bound reaches it (and the threshold), and ranks in f32. No vector that exact search
//! ranks in the top k can be skipped, so the result is exact search's, up to exact-score ties
//! (broken by key).

use std::collections::HashMap;
use std::ops::Range;

/// A vector is stored sparse when at most `dim / SPARSE_SHARE` of its components are non-zero.
const SPARSE_SHARE: usize = 8;
/// Added to every error bound: covers the f64 rounding of the bound arithmetic and the final
/// rounding of an exact score to f32 (each far below 1e-6).
const SLACK: f64 = 1e-5;
/// Removed slots are compacted away once they outnumber live ones by this much.
const COMPACT_AFTER: usize = 1024;
/// The file's first bytes (`LRTVEC01` was the layout by vector, read by nothing now).
const MAGIC: &[u8; 8] = b"LRTVEC02";
/// Magic, then `dim`, the sparse and dense counts, the pair count and kb.db's generation (u64 each).
const HEADER: usize = 48;

/// A unit vector as search scores it: the norm in f64, each component divided and rounded to
/// f32. A zero vector stays zero (its score with anything is 0).
pub fn normalize(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return vec![0.0; v.len()];
    }
    v.iter().map(|x| (f64::from(*x) / norm) as f32).collect()
}

/// The exact score of two normalized vectors: their dot product summed in f64, rounded to f32.
pub fn exact_score(a: &[f32], b: &[f32]) -> f32 {
    score_of(a, b.iter().copied())
}

/// `x` rounded up to an f32 (bounds must never shrink).
fn up(x: f64) -> f32 {
    let y = x as f32;
    if f64::from(y) < x { y.next_up() } else { y }
}

/// An i8 copy of a normalized vector with what its error bound needs.
struct Quantized {
    q: Vec<i8>,
    /// `s`: the i8 values are the components times `s`, rounded.
    scale: f32,
    /// `‖q / s‖₂`, rounded up.
    qnorm: f32,
    /// `‖v - q / s‖₂`, rounded up.
    rnorm: f32,
}

fn quantize(v: &[f32]) -> Quantized {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { 127.0 / max } else { 1.0 };
    let q: Vec<i8> = v
        .iter()
        .map(|x| (x * scale).round().clamp(-127.0, 127.0) as i8)
        .collect();
    let s = f64::from(scale);
    let (mut qn, mut rn) = (0.0f64, 0.0f64);
    for (x, qi) in v.iter().zip(&q) {
        let approx = f64::from(*qi) / s;
        qn += approx * approx;
        let r = f64::from(*x) - approx;
        rn += r * r;
    }
    Quantized {
        q,
        scale,
        qnorm: up(qn.sqrt()),
        rnorm: up(rn.sqrt()),
    }
}

/// The exact integer dot product of an i8 vector and one stored as i8 bits (summed in i32
/// blocks that cannot overflow).
pub(super) fn dot_i8(a: &[i8], b: &[u8]) -> i64 {
    a.chunks(1 << 16)
        .zip(b.chunks(1 << 16))
        .map(|(x, y)| {
            i64::from(
                x.iter()
                    .zip(y)
                    .map(|(p, q)| i32::from(*p) * i32::from(*q as i8))
                    .fold(0i32, i32::wrapping_add),
            )
        })
        .sum()
}

/// The exact score of a normalized query and a stored normalized vector given by its
/// components: summed from 0.0 in index order in f64 (as the sparse scans do), rounded to f32;
/// `+ 0.0` makes a zero positive.
fn score_of(a: &[f32], b: impl Iterator<Item = f32>) -> f32 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |acc, (x, y)| acc + f64::from(*x) * f64::from(y)) as f32
        + 0.0
}

/// Little-endian u64s of a file section.
pub(super) fn u64s(b: &[u8]) -> impl Iterator<Item = u64> + '_ {
    b.chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
}

/// Little-endian u32s of a file section.
pub(super) fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// Little-endian f32s of a file section.
pub(super) fn f32s(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The `i`-th little-endian u64 of `b`, which the caller knows holds it.
pub(super) fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&b[i * 8..i * 8 + 8]);
    u64::from_le_bytes(word)
}

/// Where each part of an index file lies, from its header, checked against the file's length
/// before anything else is read. After the header come the sparse keys (u64, increasing), the
/// postings' `dim + 1` offsets (u64), their slots (u32: a vector's rank among the sparse keys,
/// increasing within a dimension) and values (f32), then the dense keys (u64, increasing), bounds
/// (scale, qnorm, rnorm: f32 each), i8 rows and f32 rows. Everything is little-endian; only
/// live vectors are written.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    pub n_sparse: usize,
    pub n_dense: usize,
    pub pairs: usize,
    /// kb.db's write generation the file was saved at: part of the stamp it is trusted by.
    pub generation: u64,
    pub sparse_keys: Range<usize>,
    pub offsets: Range<usize>,
    pub slots: Range<usize>,
    pub values: Range<usize>,
    pub dense_keys: Range<usize>,
    pub bounds: Range<usize>,
    pub quantized: Range<usize>,
    pub exact: Range<usize>,
}

impl Layout {
    /// Reads the header of `bytes` and places every section, or says why the bytes are not an
    /// index of `dim` dimensions. Also checks the postings' offsets (one pass over `dim + 1`
    /// numbers), so that every dimension's pairs lie inside the file.
    pub fn parse(bytes: &[u8], dim: usize) -> Result<Layout, String> {
        if bytes.len() < HEADER || bytes[..8] != MAGIC[..] {
            return Err("not an lrt vector file of this version".into());
        }
        let header = &bytes[8..HEADER];
        let count = |i: usize| usize::try_from(u64_at(header, i)).map_err(|_| "count out of range".to_string());
        let (file_dim, n_sparse, n_dense, pairs) = (count(0)?, count(1)?, count(2)?, count(3)?);
        if file_dim != dim {
            return Err(format!("{file_dim} dimensions, expected {dim}"));
        }
        if u32::try_from(n_sparse).is_err() || (pairs > 0 && dim > 1 << 16) {
            return Err("sparse counts out of range".into());
        }
        let mut at = HEADER;
        let mut next = |n: usize, each: usize| -> Result<Range<usize>, String> {
            let end = n
                .checked_mul(each)
                .and_then(|len| at.checked_add(len))
                .ok_or_else(|| "size overflow".to_string())?;
            let range = at..end;
            at = end;
            Ok(range)
        };
        let layout = Layout {
            n_sparse,
            n_dense,
            pairs,
            generation: u64_at(header, 4),
            sparse_keys: next(n_sparse, 8)?,
            offsets: next(dim + 1, 8)?,
            slots: next(pairs, 4)?,
            values: next(pairs, 4)?,
            dense_keys: next(n_dense, 8)?,
            bounds: next(n_dense, 12)?,
            quantized: next(n_dense, dim)?,
            exact: next(n_dense, dim.checked_mul(4).ok_or("size overflow")?)?,
        };
        if layout.exact.end != bytes.len() {
            return Err("file length does not match its header".into());
        }
        let mut last = 0u64;
        for (j, offset) in u64s(&bytes[layout.offsets.clone()]).enumerate() {
            if (j == 0 && offset != 0) || offset < last {
                return Err("postings offsets out of order".into());
            }
            last = offset;
        }
        if last != pairs as u64 {
            return Err("postings offsets do not end at the pair count".into());
        }
        Ok(layout)
    }

    /// Number of vectors in the file.
    pub fn len(&self) -> usize {
        self.n_sparse + self.n_dense
    }
}

/// What [`search_in`] reads: an owned [`Flat`], or an index file's bytes
/// ([`super::mapped::FileView`]). Slots may be dead (removed) in an owned set only.
pub(super) trait Vectors {
    fn dim(&self) -> usize;
    fn live_count(&self) -> usize;
    fn sparse_slots(&self) -> usize;
    fn sparse_live(&self, i: usize) -> bool;
    fn sparse_key(&self, i: usize) -> u64;
    /// Sets `acc[i]` to the dot product of `x` and sparse vector `i` (zero-initialized), each
    /// vector's products added in increasing dimension order; fails on a damaged file.
    fn sparse_dots(&self, x: &[f32], acc: &mut [f64]) -> Result<(), String>;
    fn dense_slots(&self) -> usize;
    fn dense_live(&self, i: usize) -> bool;
    fn dense_key(&self, i: usize) -> u64;
    /// (scale, qnorm, rnorm) of dense vector `i`.
    fn dense_bounds(&self, i: usize) -> [f32; 3];
    /// The integer dot product of `q` and dense vector `i`'s i8 copy.
    fn dense_dot_i8(&self, i: usize, q: &[i8]) -> i64;
    /// The exact score of `x` and dense vector `i`.
    fn dense_score(&self, i: usize, x: &[f32]) -> f32;
}

/// A score no two unit vectors can have (beyond rounding): the values behind it are damaged.
fn impossible(score: f32) -> bool {
    score.is_nan() || score.abs() > 1.0 + 1e-3
}

/// The `k` keys of highest exact score with `query` that score at least `threshold`, best
/// first (ties by key), with their scores. `query` has `dim` finite components. An error means
/// `v` is a damaged file (a score no two unit vectors have, or a posting out of place).
pub(super) fn search_in(v: &impl Vectors, query: &[f32], k: usize, threshold: f32) -> Result<Vec<(u64, f32)>, String> {
    if k == 0 || v.live_count() == 0 {
        return Ok(Vec::new());
    }
    let x = normalize(query);
    let xnorm = x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>().sqrt();
    let mut sparse_scores: Vec<(usize, f32)> = Vec::new();
    // Lower bounds of every live vector (exact scores for sparse ones), for the k-th best.
    let mut lower: Vec<f64> = Vec::with_capacity(v.live_count());

    let mut acc = vec![0.0f64; v.sparse_slots()];
    v.sparse_dots(&x, &mut acc)?;
    for (i, dot) in acc.iter().enumerate().filter(|(i, _)| v.sparse_live(*i)) {
        // `+ 0.0` turns a -0.0 sum into 0.0, so that ranking (total order) sees one zero.
        let score = *dot as f32 + 0.0;
        if impossible(score) {
            return Err(format!("sparse vector {} scores {score}", v.sparse_key(i)));
        }
        lower.push(f64::from(score));
        sparse_scores.push((i, score));
    }

    let dim = v.dim();
    let mut bounded: Vec<(usize, f64, f64)> = Vec::new();
    if (0..v.dense_slots()).any(|i| v.dense_live(i)) {
        let qx = quantize(&x);
        let t = f64::from(qx.scale);
        let rx = {
            let r: f64 = x
                .iter()
                .zip(&qx.q)
                .map(|(v, q)| {
                    let r = f64::from(*v) - f64::from(*q) / t;
                    r * r
                })
                .sum();
            f64::from(up(r.sqrt()))
        };
        debug_assert_eq!(qx.q.len(), dim);
        for i in (0..v.dense_slots()).filter(|i| v.dense_live(*i)) {
            let [scale, qnorm, rnorm] = v.dense_bounds(i);
            if !(scale > 0.0 && scale.is_finite() && qnorm.is_finite() && rnorm.is_finite()) {
                return Err(format!(
                    "dense vector {} has bounds {scale}, {qnorm}, {rnorm}",
                    v.dense_key(i)
                ));
            }
            let approx = v.dense_dot_i8(i, &qx.q) as f64 / (f64::from(scale) * t);
            let error = f64::from(qnorm) * rx + f64::from(rnorm) * xnorm + SLACK;
            lower.push(approx - error);
            bounded.push((i, approx, error));
        }
    }

    // The k-th best lower bound: at least k vectors score that much or more, so a vector
    // whose upper bound is below it is not in the exact top k.
    let kth = if lower.len() >= k {
        let (_, kth, _) = lower.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
        *kth
    } else {
        f64::NEG_INFINITY
    };
    let floor = kth.max(f64::from(threshold) - SLACK);
    let mut hits: Vec<(u64, f32)> = sparse_scores
        .into_iter()
        .filter(|(_, score)| f64::from(*score) >= floor && *score >= threshold)
        .map(|(i, score)| (v.sparse_key(i), score))
        .collect();
    for (i, approx, error) in bounded {
        if approx + error >= floor {
            let score = v.dense_score(i, &x);
            if impossible(score) {
                return Err(format!("dense vector {} scores {score}", v.dense_key(i)));
            }
            if score >= threshold {
                hits.push((v.dense_key(i), score));
            }
        }
    }
    hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    hits.truncate(k);
    Ok(hits)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Sparse(usize),
    Dense(usize),
}

/// Sparse vectors, contiguous: vector `i` has the pairs `offsets[i]..offsets[i + 1]`.
#[derive(Default)]
struct SparseSet {
    keys: Vec<u64>,
    live: Vec<bool>,
    offsets: Vec<usize>,
    index: Vec<u16>,
    value: Vec<f32>,
}

/// Dense vectors, contiguous: vector `i` is `dim` values from `i * dim`.
#[derive(Default)]
struct DenseSet {
    keys: Vec<u64>,
    live: Vec<bool>,
    /// (scale, qnorm, rnorm) per vector.
    bounds: Vec<[f32; 3]>,
    /// The i8 copies, as their bits (as in the file).
    quantized: Vec<u8>,
    exact: Vec<f32>,
}

/// The vectors of an index that changes: insert, remove, exact top-k search, and the file
/// format.
pub struct Flat {
    dim: usize,
    sparse: SparseSet,
    dense: DenseSet,
    slots: HashMap<u64, Slot>,
    dead: usize,
}

impl Flat {
    pub fn new(dim: usize) -> Flat {
        Flat {
            dim,
            sparse: SparseSet {
                offsets: vec![0],
                ..SparseSet::default()
            },
            dense: DenseSet::default(),
            slots: HashMap::new(),
            dead: 0,
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn contains(&self, key: u64) -> bool {
        self.slots.contains_key(&key)
    }

    /// Inserts or replaces `key`'s vector (`dim` finite components: the caller checks).
    pub fn insert(&mut self, key: u64, v: &[f32]) {
        self.insert_unit(key, &normalize(v));
    }

    /// Inserts or replaces `key`'s normalized vector, as it will be stored.
    fn insert_unit(&mut self, key: u64, unit: &[f32]) {
        self.remove(key);
        let nonzero = unit.iter().filter(|x| **x != 0.0).count();
        let slot = if nonzero <= self.dim / SPARSE_SHARE && self.dim <= 1 << 16 {
            let s = &mut self.sparse;
            for (i, x) in unit.iter().enumerate().filter(|(_, x)| **x != 0.0) {
                s.index.push(i as u16);
                s.value.push(*x);
            }
            s.offsets.push(s.index.len());
            s.keys.push(key);
            s.live.push(true);
            Slot::Sparse(s.keys.len() - 1)
        } else {
            let q = quantize(unit);
            let d = &mut self.dense;
            d.quantized.extend(q.q.iter().map(|x| *x as u8));
            d.exact.extend_from_slice(unit);
            d.bounds.push([q.scale, q.qnorm, q.rnorm]);
            d.keys.push(key);
            d.live.push(true);
            Slot::Dense(d.keys.len() - 1)
        };
        self.slots.insert(key, slot);
        if self.dead > self.slots.len() + COMPACT_AFTER {
            self.compact();
        }
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: u64) -> bool {
        match self.slots.remove(&key) {
            Some(Slot::Sparse(i)) => self.sparse.live[i] = false,
            Some(Slot::Dense(i)) => self.dense.live[i] = false,
            None => return false,
        }
        self.dead += 1;
        true
    }

    /// Rewrites the sets without removed slots (the stored values as they are: normalizing
    /// again could change their last bits).
    fn compact(&mut self) {
        let old = std::mem::replace(self, Flat::new(self.dim));
        old.for_each_live(|key, unit| self.insert_unit(key, unit));
    }

    /// Calls `f` with every live vector (normalized), sparse ones first, each set in slot order.
    fn for_each_live(&self, mut f: impl FnMut(u64, &[f32])) {
        let mut buf = vec![0.0f32; self.dim];
        let s = &self.sparse;
        for i in (0..s.keys.len()).filter(|i| s.live[*i]) {
            buf.iter_mut().for_each(|x| *x = 0.0);
            for e in s.offsets[i]..s.offsets[i + 1] {
                buf[usize::from(s.index[e])] = s.value[e];
            }
            f(s.keys[i], &buf);
        }
        let d = &self.dense;
        for i in (0..d.keys.len()).filter(|i| d.live[*i]) {
            f(d.keys[i], &d.exact[i * self.dim..(i + 1) * self.dim]);
        }
    }

    /// The `k` keys of highest exact score with `query` that score at least `threshold`, best
    /// first (ties by key), with their scores. `query` has `dim` finite components. Fails
    /// only if a stored value is damaged (see [`search_in`]).
    pub fn search(&self, query: &[f32], k: usize, threshold: f32) -> Result<Vec<(u64, f32)>, String> {
        search_in(self, query, k, threshold)
    }

    /// The file (see [`Layout`]), stamped with kb.db's `generation`; the same vectors always
    /// give the same bytes.
    pub fn to_bytes(&self, generation: u64) -> Vec<u8> {
        let mut sparse: Vec<usize> = (0..self.sparse.keys.len()).filter(|i| self.sparse.live[*i]).collect();
        sparse.sort_by_key(|i| self.sparse.keys[*i]);
        let mut dense: Vec<usize> = (0..self.dense.keys.len()).filter(|i| self.dense.live[*i]).collect();
        dense.sort_by_key(|i| self.dense.keys[*i]);
        let (s, d, dim) = (&self.sparse, &self.dense, self.dim);
        let pairs_of = |i: usize| s.offsets[i]..s.offsets[i + 1];

        // Postings: each dimension's pairs, vectors in key order.
        let mut offsets = vec![0usize; dim + 1];
        for i in &sparse {
            for j in &s.index[pairs_of(*i)] {
                offsets[usize::from(*j) + 1] += 1;
            }
        }
        for j in 0..dim {
            offsets[j + 1] += offsets[j];
        }
        let pairs = offsets[dim];
        let mut at = offsets.clone();
        let (mut slot, mut value) = (vec![0u32; pairs], vec![0.0f32; pairs]);
        for (rank, i) in sparse.iter().enumerate() {
            for e in pairs_of(*i) {
                let j = usize::from(s.index[e]);
                slot[at[j]] = rank as u32;
                value[at[j]] = s.value[e];
                at[j] += 1;
            }
        }

        let size = HEADER + 8 * (sparse.len() + dim + 1) + 8 * pairs + dense.len() * (20 + 5 * dim);
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(MAGIC);
        for n in [dim, sparse.len(), dense.len(), pairs] {
            out.extend((n as u64).to_le_bytes());
        }
        out.extend(generation.to_le_bytes());
        for i in &sparse {
            out.extend(s.keys[*i].to_le_bytes());
        }
        for o in offsets {
            out.extend((o as u64).to_le_bytes());
        }
        for x in slot {
            out.extend(x.to_le_bytes());
        }
        for x in value {
            out.extend(x.to_le_bytes());
        }
        for i in &dense {
            out.extend(d.keys[*i].to_le_bytes());
        }
        for i in &dense {
            for b in d.bounds[*i] {
                out.extend(b.to_le_bytes());
            }
        }
        for i in &dense {
            out.extend_from_slice(&d.quantized[i * dim..(i + 1) * dim]);
        }
        for i in &dense {
            for v in &d.exact[i * dim..(i + 1) * dim] {
                out.extend(v.to_le_bytes());
            }
        }
        debug_assert_eq!(out.len(), size);
        out
    }

    /// Reads [`to_bytes`](Self::to_bytes)' output and the generation it is stamped with,
    /// checking its whole structure: sizes, keys increasing and unique, postings in order and
    /// inside the index, finite non-zero sparse values, and each dense vector's i8 copy and
    /// bounds (its exactness rests on them) recomputed from its values. For indexes that will
    /// change, and `lrt doctor`; a search-only open maps the file instead.
    pub fn from_bytes(bytes: &[u8], dim: usize) -> Result<(Flat, u64), String> {
        let l = Layout::parse(bytes, dim)?;
        let increasing = |keys: &[u64]| keys.windows(2).all(|w| w[0] < w[1]);
        let keys: Vec<u64> = u64s(&bytes[l.sparse_keys.clone()]).collect();
        if !increasing(&keys) {
            return Err("sparse keys out of order".into());
        }
        let postings: Vec<usize> = u64s(&bytes[l.offsets.clone()]).map(|o| o as usize).collect();
        let slots: Vec<u32> = u32s(&bytes[l.slots.clone()]).collect();
        let values: Vec<f32> = f32s(&bytes[l.values.clone()]).collect();
        if let Some(v) = values.iter().find(|v| !v.is_finite() || **v == 0.0) {
            return Err(format!("a sparse value is {v}"));
        }
        // Each vector's pair count, then its pairs in increasing dimension order.
        let mut offsets = vec![0usize; l.n_sparse + 1];
        for j in 0..dim {
            let list = &slots[postings[j]..postings[j + 1]];
            if list.windows(2).any(|w| w[0] >= w[1]) || list.last().is_some_and(|s| *s as usize >= l.n_sparse) {
                return Err(format!("postings of dimension {j} out of order or range"));
            }
            for s in list {
                offsets[*s as usize + 1] += 1;
            }
        }
        for i in 0..l.n_sparse {
            offsets[i + 1] += offsets[i];
        }
        let mut at = offsets.clone();
        let (mut index, mut value) = (vec![0u16; l.pairs], vec![0.0f32; l.pairs]);
        for j in 0..dim {
            for e in postings[j]..postings[j + 1] {
                let s = slots[e] as usize;
                index[at[s]] = j as u16;
                value[at[s]] = values[e];
                at[s] += 1;
            }
        }
        let mut flat = Flat::new(dim);
        for (i, key) in keys.iter().enumerate() {
            flat.slots.insert(*key, Slot::Sparse(i));
        }
        flat.sparse = SparseSet {
            live: vec![true; l.n_sparse],
            keys,
            offsets,
            index,
            value,
        };

        let keys: Vec<u64> = u64s(&bytes[l.dense_keys.clone()]).collect();
        if !increasing(&keys) {
            return Err("dense keys out of order".into());
        }
        let bounds: Vec<[f32; 3]> = f32s(&bytes[l.bounds.clone()])
            .collect::<Vec<_>>()
            .chunks_exact(3)
            .map(|b| [b[0], b[1], b[2]])
            .collect();
        let quantized = bytes[l.quantized.clone()].to_vec();
        let exact: Vec<f32> = f32s(&bytes[l.exact.clone()]).collect();
        for (i, key) in keys.iter().enumerate() {
            let unit = &exact[i * dim..(i + 1) * dim];
            if unit.iter().any(|v| !v.is_finite()) {
                return Err(format!("dense vector {key}: a non-finite value"));
            }
            let q = quantize(unit);
            if !q
                .q
                .iter()
                .map(|x| *x as u8)
                .eq(quantized[i * dim..(i + 1) * dim].iter().copied())
                || [q.scale, q.qnorm, q.rnorm] != bounds[i]
            {
                return Err(format!("dense vector {key}: its i8 copy or bounds do not match it"));
            }
            if flat.slots.insert(*key, Slot::Dense(i)).is_some() {
                return Err(format!("key {key} repeats"));
            }
        }
        flat.dense = DenseSet {
            live: vec![true; l.n_dense],
            keys,
            bounds,
            quantized,
            exact,
        };
        Ok((flat, l.generation))
    }
}

impl Vectors for Flat {
    fn dim(&self) -> usize {
        self.dim
    }

    fn live_count(&self) -> usize {
        self.len()
    }

    fn sparse_slots(&self) -> usize {
        self.sparse.keys.len()
    }

    fn sparse_live(&self, i: usize) -> bool {
        self.sparse.live[i]
    }

    fn sparse_key(&self, i: usize) -> u64 {
        self.sparse.keys[i]
    }

    fn sparse_dots(&self, x: &[f32], acc: &mut [f64]) -> Result<(), String> {
        let s = &self.sparse;
        for (i, dot) in acc.iter_mut().enumerate().filter(|(i, _)| s.live[*i]) {
            let (from, to) = (s.offsets[i], s.offsets[i + 1]);
            *dot = s.index[from..to]
                .iter()
                .zip(&s.value[from..to])
                .fold(0.0f64, |acc, (j, v)| {
                    acc + f64::from(x[usize::from(*j)]) * f64::from(*v)
                });
        }
        Ok(())
    }

    fn dense_slots(&self) -> usize {
        self.dense.keys.len()
    }

    fn dense_live(&self, i: usize) -> bool {
        self.dense.live[i]
    }

    fn dense_key(&self, i: usize) -> u64 {
        self.dense.keys[i]
    }

    fn dense_bounds(&self, i: usize) -> [f32; 3] {
        self.dense.bounds[i]
    }

    fn dense_dot_i8(&self, i: usize, q: &[i8]) -> i64 {
        dot_i8(q, &self.dense.quantized[i * self.dim..(i + 1) * self.dim])
    }

    fn dense_score(&self, i: usize, x: &[f32]) -> f32 {
        exact_score(x, &self.dense.exact[i * self.dim..(i + 1) * self.dim])
    }
}

/// The exact score of `x` and a row of little-endian f32s.
pub(super) fn score_bytes(x: &[f32], row: &[u8]) -> f32 {
    score_of(x, f32s(row))
}
