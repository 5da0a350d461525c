//! A search-only vector index read straight from its file, for queries: the file is mapped
//! read-only and searched in place (postings and rows are laid out as a search reads them, see
//! [`super::flat::Layout`]), so a cold `lrt query` reads only the pages its question touches
//! instead of reading, checksumming and decoding every index it opens.
//!
//! **Trust.** [`super::vectors`] maps a file only when its sidecar's stamp (kb.db's generation,
//! row count and dimension) matches kb.db's and the file's length matches the sidecar; the
//! header repeats the generation and counts. Then [`FileView::new`] places every section by the
//! header and checks the postings' offsets, so no offset read from the file can reach outside it.
//! The values are not checksummed on open (that pass over every byte is what made cold queries
//! slow): `lrt doctor` and writable opens still check the checksum and the whole structure. A
//! damaged value that a search meets (a posting out of order or outside the index, a score no
//! two unit vectors can have, non-finite bounds) is an error naming the file, never a panic.
//!
//! Why `memmap2`: the maintained fork of `memmap` (used by ripgrep, wasmtime and the
//! safetensors loaders), a thin portable layer over `mmap`/`MapViewOfFile` with nothing else
//! pulled in; mapping is the one unsafe step and it stays in this module.

use std::fs::File;
use std::ops::Deref;

use super::flat::{self, Layout, Vectors, dot_i8, score_bytes, search_in, u64_at};

/// The bytes of an index file: mapped, or in memory (an index just rebuilt and saved).
pub enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Owned(bytes) => bytes,
        }
    }
}

impl Bytes {
    /// Maps `file` read-only.
    pub fn map(file: &File) -> std::io::Result<Bytes> {
        // SAFETY: the map is read-only, and lrt never changes an index file in place: a save
        // writes a new file and renames it over the old one, so the mapped file's bytes stay as
        // they were while this process maps them. (A program that truncated the file in place
        // could still fault this process; every offset read from the bytes is bounds-checked,
        // so other changed bytes give an error or a wrong score, never a read outside the map.)
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Bytes::Mapped(map))
    }
}

/// A search-only index over the bytes of an index file.
pub struct FileView {
    bytes: Bytes,
    layout: Layout,
    dim: usize,
}

impl FileView {
    /// Places the sections of `bytes` (an index of `dim` dimensions) and checks the postings'
    /// offsets; reads nothing else.
    pub fn new(bytes: Bytes, dim: usize) -> Result<FileView, String> {
        let layout = Layout::parse(&bytes, dim)?;
        Ok(FileView { bytes, layout, dim })
    }

    /// kb.db's write generation the file is stamped with.
    pub fn generation(&self) -> u64 {
        self.layout.generation
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is in the index (binary search over the sorted keys of each layout).
    pub fn contains(&self, key: u64) -> bool {
        let sorted_contains = |section: &[u8]| {
            let (mut lo, mut hi) = (0, section.len() / 8);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match u64_at(section, mid).cmp(&key) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return true,
                }
            }
            false
        };
        sorted_contains(self.section(&self.layout.sparse_keys))
            || sorted_contains(self.section(&self.layout.dense_keys))
    }

    /// Exact search, as [`flat::Flat::search`] over the same vectors; fails when the search meets
    /// damaged bytes.
    pub fn search(&self, query: &[f32], k: usize, threshold: f32) -> Result<Vec<(u64, f32)>, String> {
        search_in(self, query, k, threshold)
    }

    fn section(&self, range: &std::ops::Range<usize>) -> &[u8] {
        &self.bytes[range.clone()]
    }
}

impl Vectors for FileView {
    fn dim(&self) -> usize {
        self.dim
    }

    fn live_count(&self) -> usize {
        self.len()
    }

    fn sparse_slots(&self) -> usize {
        self.layout.n_sparse
    }

    fn sparse_live(&self, _: usize) -> bool {
        true
    }

    fn sparse_key(&self, i: usize) -> u64 {
        u64_at(self.section(&self.layout.sparse_keys), i)
    }

    fn sparse_dots(&self, x: &[f32], acc: &mut [f64]) -> Result<(), String> {
        let offsets = self.section(&self.layout.offsets);
        let (slots, values) = (self.section(&self.layout.slots), self.section(&self.layout.values));
        for (j, xj) in x.iter().enumerate().filter(|(_, v)| **v != 0.0) {
            let (from, to) = (u64_at(offsets, j) as usize, u64_at(offsets, j + 1) as usize);
            let (Some(s), Some(v)) = (slots.get(from * 4..to * 4), values.get(from * 4..to * 4)) else {
                return Err(format!("postings of dimension {j} lie outside the file"));
            };
            let xj = f64::from(*xj);
            // Slots increase within a dimension: checking that costs one comparison and catches
            // a damaged slot that would otherwise add to another vector's score.
            let mut next = 0usize;
            for (slot, value) in flat::u32s(s).zip(flat::f32s(v)) {
                let slot = slot as usize;
                match acc.get_mut(slot) {
                    Some(dot) if slot >= next => *dot += xj * f64::from(value),
                    _ => return Err(format!("a posting of dimension {j} is out of order or range")),
                }
                next = slot + 1;
            }
        }
        Ok(())
    }

    fn dense_slots(&self) -> usize {
        self.layout.n_dense
    }

    fn dense_live(&self, _: usize) -> bool {
        true
    }

    fn dense_key(&self, i: usize) -> u64 {
        u64_at(self.section(&self.layout.dense_keys), i)
    }

    fn dense_bounds(&self, i: usize) -> [f32; 3] {
        let b = &self.section(&self.layout.bounds)[i * 12..(i + 1) * 12];
        let mut it = flat::f32s(b);
        [0; 3].map(|_| it.next().unwrap_or(f32::NAN))
    }

    fn dense_dot_i8(&self, i: usize, q: &[i8]) -> i64 {
        dot_i8(
            q,
            &self.section(&self.layout.quantized)[i * self.dim..(i + 1) * self.dim],
        )
    }

    fn dense_score(&self, i: usize, x: &[f32]) -> f32 {
        score_bytes(
            x,
            &self.section(&self.layout.exact)[i * 4 * self.dim..(i + 1) * 4 * self.dim],
        )
    }
}
