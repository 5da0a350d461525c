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

/// A vector is stored sparse when at most `dim / SPARSE_SHARE` of its components are non-zero.
const SPARSE_SHARE: usize = 8;
/// Added to every error bound: covers the f64 rounding of the bound arithmetic and the final
/// rounding of an exact score to f32 (each far below 1e-6).
const SLACK: f64 = 1e-5;
/// Removed slots are compacted away once they outnumber live ones by this much.
const COMPACT_AFTER: usize = 1024;
/// The file's first bytes.
const MAGIC: &[u8; 8] = b"LRTVEC01";

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
    // Summed from 0.0 in index order (as the sparse scans do); `+ 0.0` makes a zero positive.
    a.iter()
        .zip(b)
        .fold(0.0f64, |acc, (x, y)| acc + f64::from(*x) * f64::from(*y)) as f32
        + 0.0
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

/// The exact integer dot product of two i8 vectors (summed in i32 blocks that cannot overflow).
fn dot_i8(a: &[i8], b: &[i8]) -> i64 {
    a.chunks(1 << 16)
        .zip(b.chunks(1 << 16))
        .map(|(x, y)| {
            i64::from(
                x.iter()
                    .zip(y)
                    .map(|(p, q)| i32::from(*p) * i32::from(*q))
                    .fold(0i32, i32::wrapping_add),
            )
        })
        .sum()
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
    quantized: Vec<i8>,
    exact: Vec<f32>,
}

/// The vectors of one index: insert, remove, exact top-k search, and the file format.
pub struct Flat {
    dim: usize,
    sparse: SparseSet,
    dense: DenseSet,
    slots: HashMap<u64, Slot>,
    dead: usize,
    /// The sparse set by dimension, for searches of an index that no longer changes.
    postings: Option<Postings>,
}

/// Live sparse vectors by dimension: dimension `j`'s `(slot, value)` pairs are
/// `offsets[j]..offsets[j + 1]`, slots increasing. A query then touches only the pairs of its
/// own non-zero dimensions; each vector's products are still summed in increasing dimension
/// order, so scores are bit-identical to the scan by vector.
struct Postings {
    offsets: Vec<usize>,
    slot: Vec<u32>,
    value: Vec<f32>,
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
            postings: None,
        }
    }

    /// Indexes the sparse vectors by dimension (see [`Postings`]) for faster searches; any
    /// later insert or remove drops the postings again.
    pub fn build_postings(&mut self) {
        let s = &self.sparse;
        let live = || (0..s.keys.len()).filter(|i| s.live[*i]);
        let mut offsets = vec![0usize; self.dim + 1];
        for i in live() {
            for j in &s.index[s.offsets[i]..s.offsets[i + 1]] {
                offsets[usize::from(*j) + 1] += 1;
            }
        }
        for j in 0..self.dim {
            offsets[j + 1] += offsets[j];
        }
        let mut at = offsets.clone();
        let total = offsets[self.dim];
        let (mut slot, mut value) = (vec![0u32; total], vec![0.0f32; total]);
        for i in live() {
            for e in s.offsets[i]..s.offsets[i + 1] {
                let j = usize::from(s.index[e]);
                slot[at[j]] = i as u32;
                value[at[j]] = s.value[e];
                at[j] += 1;
            }
        }
        self.postings = Some(Postings { offsets, slot, value });
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
        self.postings = None;
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
            d.quantized.extend_from_slice(&q.q);
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
        self.postings = None;
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
    /// first (ties by key), with their scores. `query` has `dim` finite components.
    pub fn search(&self, query: &[f32], k: usize, threshold: f32) -> Vec<(u64, f32)> {
        if k == 0 || self.is_empty() {
            return Vec::new();
        }
        let x = normalize(query);
        let xnorm = x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>().sqrt();
        let mut sparse_scores: Vec<(usize, f32)> = Vec::new();
        // Lower bounds of every live vector (exact scores for sparse ones), for the k-th best.
        let mut lower: Vec<f64> = Vec::with_capacity(self.len());

        let s = &self.sparse;
        // `+ 0.0` turns a -0.0 sum into 0.0, so that ranking (total order) sees one zero.
        match &self.postings {
            Some(p) => {
                let mut acc = vec![0.0f64; s.keys.len()];
                for (j, xj) in x.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                    let xj = f64::from(*xj);
                    for e in p.offsets[j]..p.offsets[j + 1] {
                        acc[p.slot[e] as usize] += xj * f64::from(p.value[e]);
                    }
                }
                for i in (0..s.keys.len()).filter(|i| s.live[*i]) {
                    let score = acc[i] as f32 + 0.0;
                    lower.push(f64::from(score));
                    sparse_scores.push((i, score));
                }
            }
            None => {
                for i in (0..s.keys.len()).filter(|i| s.live[*i]) {
                    let (from, to) = (s.offsets[i], s.offsets[i + 1]);
                    let score = s.index[from..to]
                        .iter()
                        .zip(&s.value[from..to])
                        .fold(0.0f64, |acc, (j, v)| {
                            acc + f64::from(x[usize::from(*j)]) * f64::from(*v)
                        }) as f32
                        + 0.0;
                    lower.push(f64::from(score));
                    sparse_scores.push((i, score));
                }
            }
        }

        let d = &self.dense;
        let mut bounded: Vec<(usize, f64, f64)> = Vec::new();
        if d.live.iter().any(|l| *l) {
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
            for i in (0..d.keys.len()).filter(|i| d.live[*i]) {
                let [scale, qnorm, rnorm] = d.bounds[i];
                let dot = dot_i8(&qx.q, &d.quantized[i * self.dim..(i + 1) * self.dim]);
                let approx = dot as f64 / (f64::from(scale) * t);
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
            .map(|(i, score)| (s.keys[i], score))
            .collect();
        for (i, approx, error) in bounded {
            if approx + error >= floor {
                let score = exact_score(&x, &d.exact[i * self.dim..(i + 1) * self.dim]);
                if score >= threshold {
                    hits.push((d.keys[i], score));
                }
            }
        }
        hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }

    /// The file: magic, then `dim`, the sparse and dense counts and the pair count (u64 each),
    /// then the sparse keys, offsets, indexes and values, then the dense keys, bounds, i8 and
    /// f32 vectors; little-endian, live vectors only, ordered by key within each layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut sparse: Vec<usize> = (0..self.sparse.keys.len()).filter(|i| self.sparse.live[*i]).collect();
        sparse.sort_by_key(|i| self.sparse.keys[*i]);
        let mut dense: Vec<usize> = (0..self.dense.keys.len()).filter(|i| self.dense.live[*i]).collect();
        dense.sort_by_key(|i| self.dense.keys[*i]);
        let s = &self.sparse;
        let pairs: usize = sparse.iter().map(|i| s.offsets[i + 1] - s.offsets[*i]).sum();
        let mut out = Vec::with_capacity(40 + 14 * sparse.len() + 6 * pairs + dense.len() * (20 + 5 * self.dim));
        out.extend_from_slice(MAGIC);
        for n in [self.dim, sparse.len(), dense.len(), pairs] {
            out.extend((n as u64).to_le_bytes());
        }
        for i in &sparse {
            out.extend(s.keys[*i].to_le_bytes());
        }
        let mut at = 0u64;
        out.extend(at.to_le_bytes());
        for i in &sparse {
            at += (s.offsets[i + 1] - s.offsets[*i]) as u64;
            out.extend(at.to_le_bytes());
        }
        for i in &sparse {
            for j in &s.index[s.offsets[*i]..s.offsets[i + 1]] {
                out.extend(j.to_le_bytes());
            }
        }
        for i in &sparse {
            for v in &s.value[s.offsets[*i]..s.offsets[i + 1]] {
                out.extend(v.to_le_bytes());
            }
        }
        let d = &self.dense;
        for i in &dense {
            out.extend(d.keys[*i].to_le_bytes());
        }
        for i in &dense {
            for b in d.bounds[*i] {
                out.extend(b.to_le_bytes());
            }
        }
        for i in &dense {
            out.extend(d.quantized[i * self.dim..(i + 1) * self.dim].iter().map(|q| *q as u8));
        }
        for i in &dense {
            for v in &d.exact[i * self.dim..(i + 1) * self.dim] {
                out.extend(v.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`to_bytes`](Self::to_bytes)' output, checking its whole structure: sizes,
    /// offsets, indexes inside the dimension and increasing, finite values, unique keys, and
    /// the bounds of each dense vector as its values give them.
    ///
    /// With `thorough`, the bounds each dense vector's exactness rests on are recomputed from its
    /// values and compared (for loads that will write, and `lrt doctor`); a search-only open
    /// trusts them once the file's checksum matched, as recomputing costs a pass over every value.
    pub fn from_bytes(bytes: &[u8], dim: usize, thorough: bool) -> Result<Flat, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err("not an lrt vector file".into());
        }
        let mut header = [0usize; 4];
        for h in &mut header {
            *h = usize::try_from(r.u64()?).map_err(|_| "count out of range")?;
        }
        let [file_dim, n_sparse, n_dense, pairs] = header;
        if file_dim != dim {
            return Err(format!("{file_dim} dimensions, expected {dim}"));
        }
        // Sizes are checked against the bytes left before anything is allocated from them.
        let need = |n: usize, each: usize| n.checked_mul(each).ok_or("size overflow");
        let sparse_bytes = need(n_sparse, 16)?
            .checked_add(8)
            .and_then(|b| b.checked_add(need(pairs, 6).ok()?))
            .ok_or("size overflow")?;
        let dense_bytes = need(n_dense, 20)?
            .checked_add(need(n_dense, need(dim, 5)?)?)
            .ok_or("size overflow")?;
        if sparse_bytes.checked_add(dense_bytes) != Some(bytes.len() - r.at) {
            return Err("file length does not match its header".into());
        }
        let mut flat = Flat::new(dim);
        let keys = r.u64s(n_sparse)?;
        let offsets = r.u64s(n_sparse + 1)?;
        let index: Vec<u16> = r
            .take(pairs * 2)?
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        let value = r.f32s(pairs)?;
        if offsets[0] != 0 || offsets[n_sparse] != pairs as u64 || offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err("sparse offsets out of order".into());
        }
        for (i, key) in keys.iter().enumerate() {
            let (from, to) = (offsets[i] as usize, offsets[i + 1] as usize);
            let idx = &index[from..to];
            if idx.windows(2).any(|w| w[0] >= w[1]) || idx.last().is_some_and(|j| usize::from(*j) >= dim) {
                return Err(format!("sparse vector {key}: indexes out of order or range"));
            }
            if value[from..to].iter().any(|v| !v.is_finite() || *v == 0.0) {
                return Err(format!("sparse vector {key}: a zero or non-finite value"));
            }
            if flat.slots.insert(*key, Slot::Sparse(i)).is_some() {
                return Err(format!("key {key} repeats"));
            }
        }
        flat.sparse = SparseSet {
            live: vec![true; n_sparse],
            keys,
            offsets: offsets.into_iter().map(|o| o as usize).collect(),
            index,
            value,
        };
        let keys = r.u64s(n_dense)?;
        let bounds: Vec<[f32; 3]> = r
            .f32s(n_dense * 3)?
            .chunks_exact(3)
            .map(|b| [b[0], b[1], b[2]])
            .collect();
        let quantized: Vec<i8> = r.take(n_dense * dim)?.iter().map(|b| *b as i8).collect();
        let exact = r.f32s(n_dense * dim)?;
        for (i, key) in keys.iter().enumerate() {
            let unit = &exact[i * dim..(i + 1) * dim];
            if unit.iter().any(|v| !v.is_finite()) {
                return Err(format!("dense vector {key}: a non-finite value"));
            }
            if thorough {
                let q = quantize(unit);
                if q.q != quantized[i * dim..(i + 1) * dim] || [q.scale, q.qnorm, q.rnorm] != bounds[i] {
                    return Err(format!("dense vector {key}: its i8 copy or bounds do not match it"));
                }
            }
            if flat.slots.insert(*key, Slot::Dense(i)).is_some() {
                return Err(format!("key {key} repeats"));
            }
        }
        flat.dense = DenseSet {
            live: vec![true; n_dense],
            keys,
            bounds,
            quantized,
            exact,
        };
        Ok(flat)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("file is truncated")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| "short read")?))
    }

    /// `n` little-endian u64s, converted in one pass.
    fn u64s(&mut self, n: usize) -> Result<Vec<u64>, String> {
        let bytes = self.take(n.checked_mul(8).ok_or("size overflow")?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect())
    }

    /// `n` little-endian f32s, converted in one pass.
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let bytes = self.take(n.checked_mul(4).ok_or("size overflow")?)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
