//! One derived vector index per kind of vector in a KB, stored at `<kb>/vectors/<kind>.vec` with
//! a JSON sidecar `<kind>.vec.meta.json`. Search is exact: see [`super::flat`] for the layouts
//! and why a search returns what exact f32 cosine search over the stored vectors returns.
//!
//! **The index is derived data.** The embeddings live in kb.db; this file is a cache that is
//! only trusted when its sidecar matches the caller's [`Fingerprint`] (dimensions, row count and
//! kb.db's write generation), the file's length matches the sidecar, and its header carries the
//! same generation and count. An index opened to change ([`VectorIndex::open`], for ingests)
//! and [`VectorIndex::verify`] (`lrt doctor`) also check the file's checksum and its whole
//! structure; a search-only open ([`VectorIndex::open_for_search`], for queries) maps the file
//! and trusts that stamp, as checksumming every byte was most of a cold query's time (see
//! [`super::mapped`] for what it still checks). Any mismatch means "rebuild from kb.db", never
//! "repair" or "trust anyway".
//!
//! Concurrency: a changing index's vectors sit behind an `RwLock`: searches share it, writes
//! take it alone. A search-only index never changes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};

use super::flat::Flat;
use super::mapped::{Bytes, FileView};
use crate::error::{Error, Result};

/// Bumped when the sidecar's or the file's meaning changes; an unknown format means rebuild
/// (2: XXH3 checksums; 3: usearch i8 vectors; 4: lrt's exact flat file; 5: sparse vectors as
/// postings, stamped with the generation, searched from a memory map).
const META_FORMAT: u32 = 5;
/// The file name extension of an index, and the one lrt used before (removed when saving).
pub const EXTENSION: &str = "vec";
const LEGACY_EXTENSION: &str = "usearch";

/// What kb.db says the index should contain. The caller bumps `generation` on every write, so
/// an index saved at another generation is stale even if its count happens to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub dim: usize,
    pub count: usize,
    pub generation: u64,
}

/// How [`VectorIndex::open`] got its index, for callers and `lrt doctor` to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    Loaded,
    Rebuilt(RebuildReason),
}

/// Why a saved index was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebuildReason {
    /// No index file or no sidecar: a new KB, or a crash before the first complete save.
    Missing,
    /// The sidecar could not be read or parsed.
    BadMeta(String),
    /// The sidecar describes another state of kb.db.
    Stale { found: Fingerprint },
    /// The file does not match its sidecar, does not parse, or holds another number of vectors.
    Corrupt(String),
}

impl std::fmt::Display for RebuildReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RebuildReason::Missing => f.write_str("index file or its metadata is missing"),
            RebuildReason::BadMeta(e) => write!(f, "index metadata is unreadable: {e}"),
            RebuildReason::Stale { found } => write!(
                f,
                "index is stale (built at generation {} with {} vectors of {} dimensions)",
                found.generation, found.count, found.dim
            ),
            RebuildReason::Corrupt(e) => write!(f, "index file is corrupt: {e}"),
        }
    }
}

/// The sidecar: the fingerprint the file was saved with, plus its length and checksum.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format: u32,
    fingerprint: Fingerprint,
    bytes: u64,
    checksum: u64,
}

/// Where a KB keeps the index of one vector collection (`kind` is its name).
pub fn index_path(kb_dir: &Path, kind: &str) -> PathBuf {
    kb_dir.join("vectors").join(format!("{kind}.{EXTENSION}"))
}

/// The sidecar of the index file at `path`.
pub fn meta_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".meta.json");
    PathBuf::from(name)
}

/// An exact cosine-similarity index over `dim`-dimensional f32 vectors keyed by u64 (kb.db
/// row ids).
pub struct VectorIndex {
    path: PathBuf,
    dim: usize,
    vectors: Vectors,
}

/// An index that changes, or a search-only one read from its file.
enum Vectors {
    Writable(RwLock<Flat>),
    /// From [`open_for_search`](VectorIndex::open_for_search): adds, removes and saves fail.
    Search(FileView),
}

impl VectorIndex {
    /// Opens the index at `path`, or rebuilds it from `rows()` (kb.db's `(key, vector)` pairs)
    /// and saves it when the file cannot be trusted for `expected`. `rows` is only called when
    /// rebuilding. Fails only if `rows` fails, a row is invalid, or the rebuilt index cannot be saved.
    pub fn open(
        path: &Path,
        dim: usize,
        expected: &Fingerprint,
        rows: impl FnOnce() -> Result<Vec<(u64, Vec<f32>)>>,
    ) -> Result<(VectorIndex, OpenOutcome)> {
        Self::open_with(path, dim, expected, rows, true)
    }

    /// Opens the index at `path` for searching only: maps the file and trusts it by its stamp
    /// (see the module doc), reading only the pages a search touches. Adds and removes on the
    /// returned index fail. When the file cannot be trusted, rebuilds and saves it like
    /// [`open`](Self::open).
    pub fn open_for_search(
        path: &Path,
        dim: usize,
        expected: &Fingerprint,
        rows: impl FnOnce() -> Result<Vec<(u64, Vec<f32>)>>,
    ) -> Result<(VectorIndex, OpenOutcome)> {
        Self::open_with(path, dim, expected, rows, false)
    }

    fn open_with(
        path: &Path,
        dim: usize,
        expected: &Fingerprint,
        rows: impl FnOnce() -> Result<Vec<(u64, Vec<f32>)>>,
        writable: bool,
    ) -> Result<(VectorIndex, OpenOutcome)> {
        if expected.dim != dim {
            return Err(Error::Internal(format!(
                "vector index {}: expected fingerprint has {} dimensions, index has {dim}",
                path.display(),
                expected.dim
            )));
        }
        let loaded = if writable {
            try_load(path, expected).map(|flat| Vectors::Writable(RwLock::new(flat)))
        } else {
            try_map(path, expected).map(Vectors::Search)
        };
        let reason = match loaded {
            Ok(vectors) => {
                let this = VectorIndex {
                    path: path.to_path_buf(),
                    dim,
                    vectors,
                };
                return Ok((this, OpenOutcome::Loaded));
            }
            Err(reason) => reason,
        };
        let this = VectorIndex {
            path: path.to_path_buf(),
            dim,
            vectors: Vectors::Writable(RwLock::new(Flat::new(dim))),
        };
        let rows = rows()?;
        let count = rows.len();
        this.rebuild(rows)?;
        let bytes = this.write_files(&Fingerprint { count, ..*expected })?;
        if writable {
            return Ok((this, OpenOutcome::Rebuilt(reason)));
        }
        let view = FileView::new(Bytes::Owned(bytes), dim).map_err(|e| Error::Internal(this.ctx(&e)))?;
        let this = VectorIndex {
            vectors: Vectors::Search(view),
            ..this
        };
        Ok((this, OpenOutcome::Rebuilt(reason)))
    }

    /// Checks the saved index at `path` against `expected` exactly as [`open`](Self::open)
    /// would, without rebuilding or writing anything: `None` when it would load, else why it
    /// would be rebuilt. For `lrt doctor`, whose read-only pass must not change a KB.
    pub fn verify(path: &Path, expected: &Fingerprint) -> Result<Option<RebuildReason>> {
        Ok(try_load(path, expected).err())
    }

    /// Replaces the whole index with `rows` (the explicit path for `lrt kb reindex`). Does not
    /// save: call [`save`](Self::save) with kb.db's fingerprint afterwards.
    pub fn rebuild(&self, rows: Vec<(u64, Vec<f32>)>) -> Result<()> {
        self.check_rows(&rows, "rebuilding")?;
        let mut flat = Flat::new(self.dim);
        for (key, v) in &rows {
            flat.insert(*key, v);
        }
        *write(self.flat_for("rebuilding")?) = flat;
        Ok(())
    }

    /// Inserts or replaces many vectors at once.
    pub fn upsert_many(&self, rows: &[(u64, Vec<f32>)]) -> Result<()> {
        self.check_rows(rows, "updating")?;
        let mut flat = write(self.flat_for("updating")?);
        for (key, v) in rows {
            flat.insert(*key, v);
        }
        Ok(())
    }

    /// Checks every row's vector, and that no key repeats (a batch with one key twice would
    /// depend on its order).
    fn check_rows(&self, rows: &[(u64, Vec<f32>)], doing: &str) -> Result<()> {
        self.flat_for(doing)?;
        let mut keys = std::collections::HashSet::with_capacity(rows.len());
        for (key, vector) in rows {
            self.check(*key, vector)?;
            if !keys.insert(*key) {
                return Err(Error::Internal(format!(
                    "duplicate key {key} while {doing} vector index {}",
                    self.path.display()
                )));
            }
        }
        Ok(())
    }

    /// Inserts or replaces the vector for `key`.
    pub fn upsert(&self, key: u64, vector: &[f32]) -> Result<()> {
        let flat = self.flat_for("adding to")?;
        self.check(key, vector)?;
        write(flat).insert(key, vector);
        Ok(())
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&self, key: u64) -> Result<bool> {
        Ok(write(self.flat_for("removing from")?).remove(key))
    }

    /// The `k` keys of highest cosine similarity with `query` (1 = same direction) among those
    /// scoring at least `threshold`, best first: exactly what an exact f32 search over the
    /// stored vectors returns (ties by key).
    pub fn search(&self, query: &[f32], k: usize, threshold: f32) -> Result<Vec<(u64, f32)>> {
        self.check_len(query.len())?;
        if query.iter().any(|x| !x.is_finite()) {
            return Err(Error::Usage(format!(
                "query vector contains NaN or infinity; cannot search {}",
                self.path.display()
            )));
        }
        let found = match &self.vectors {
            Vectors::Writable(flat) => read(flat).search(query, k, threshold),
            Vectors::Search(view) => view.search(query, k, threshold),
        };
        found.map_err(|e| {
            Error::storage(
                self.ctx("searching"),
                format!("{e}: the file is damaged (`lrt doctor --repair` rebuilds it from kb.db)"),
            )
        })
    }

    pub fn contains(&self, key: u64) -> bool {
        match &self.vectors {
            Vectors::Writable(flat) => read(flat).contains(key),
            Vectors::Search(view) => view.contains(key),
        }
    }

    /// Number of vectors present.
    pub fn len(&self) -> usize {
        match &self.vectors {
            Vectors::Writable(flat) => read(flat).len(),
            Vectors::Search(view) => view.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the index and then its sidecar, each to `<file>.tmp` and renamed into place. The old
    /// sidecar is deleted first, so at no moment does a sidecar describe a file it was not written
    /// for; a crash anywhere leaves "missing" or "mismatch", which the next open rebuilds. No
    /// fsync: a torn file fails its checksum and is rebuilt from kb.db. An index file of the
    /// usearch format lrt used before is removed.
    ///
    /// `fingerprint` must describe this index (its count is checked): writing a sidecar that claims
    /// kb.db's count for an index that holds another one would make the cache lie.
    pub fn save(&self, fingerprint: &Fingerprint) -> Result<()> {
        self.write_files(fingerprint).map(drop)
    }

    /// [`save`](Self::save), returning the bytes written.
    fn write_files(&self, fingerprint: &Fingerprint) -> Result<Vec<u8>> {
        let flat = self.flat_for("saving")?;
        let sidecar = meta_path(&self.path);
        remove_if_exists(&sidecar).map_err(|e| Error::storage(self.ctx("removing the metadata of"), e))?;
        let bytes = {
            let flat = read(flat);
            if fingerprint.dim != self.dim || fingerprint.count != flat.len() {
                return Err(Error::Internal(format!(
                    "vector index {} holds {} vectors of {} dimensions but kb.db expects {} of {}; \
                     not saved (it will be rebuilt on next open)",
                    self.path.display(),
                    flat.len(),
                    self.dim,
                    fingerprint.count,
                    fingerprint.dim
                )));
            }
            flat.to_bytes(fingerprint.generation)
        };
        if let Some(dir) = self.path.parent() {
            create_private_dir(dir).map_err(|e| Error::storage(format!("creating {}", dir.display()), e))?;
        }
        write_atomically(&self.path, &bytes).map_err(|e| Error::storage(self.ctx("saving"), e))?;
        let meta = Meta {
            format: META_FORMAT,
            fingerprint: *fingerprint,
            bytes: bytes.len() as u64,
            checksum: checksum(&bytes),
        };
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::storage(self.ctx("encoding metadata of"), e))?;
        write_atomically(&sidecar, &json).map_err(|e| Error::storage(self.ctx("saving the metadata of"), e))?;
        if self.path.extension().is_some_and(|e| e == EXTENSION) {
            let legacy = self.path.with_extension(LEGACY_EXTENSION);
            for old in [meta_path(&legacy), legacy] {
                remove_if_exists(&old).map_err(|e| Error::storage(format!("removing {}", old.display()), e))?;
            }
        }
        Ok(bytes)
    }

    fn check(&self, key: u64, vector: &[f32]) -> Result<()> {
        self.check_len(vector.len())?;
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::Usage(format!(
                "vector for key {key} contains NaN or infinity; not added to {}",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len != self.dim {
            return Err(Error::Usage(format!(
                "vector has {len} dimensions but the index {} has {} (did the embedding model change?)",
                self.path.display(),
                self.dim
            )));
        }
        Ok(())
    }

    /// The vectors of an index that changes; an error for a search-only one.
    fn flat_for(&self, doing: &str) -> Result<&RwLock<Flat>> {
        match &self.vectors {
            Vectors::Writable(flat) => Ok(flat),
            Vectors::Search(_) => Err(Error::Internal(format!(
                "{} was opened for searching only",
                self.ctx(doing)
            ))),
        }
    }

    fn ctx(&self, doing: &str) -> String {
        format!("{doing} vector index {}", self.path.display())
    }
}

/// Loads the saved index if everything about it checks out, its checksum and whole structure
/// included; otherwise says why not.
fn try_load(path: &Path, expected: &Fingerprint) -> Result<Flat, RebuildReason> {
    let meta = read_meta(path, expected)?;
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RebuildReason::Missing),
        Err(e) => return Err(RebuildReason::Corrupt(e.to_string())),
    };
    if bytes.len() as u64 != meta.bytes || checksum(&bytes) != meta.checksum {
        return Err(RebuildReason::Corrupt(
            "length or checksum differs from its metadata".into(),
        ));
    }
    let (flat, generation) = Flat::from_bytes(&bytes, expected.dim).map_err(RebuildReason::Corrupt)?;
    check_stamp(generation, flat.len(), expected)?;
    Ok(flat)
}

/// Maps the saved index for searching if its stamp matches: the sidecar's fingerprint, the
/// file's length, and the generation and count in its header (see [`super::mapped`]).
fn try_map(path: &Path, expected: &Fingerprint) -> Result<FileView, RebuildReason> {
    let meta = read_meta(path, expected)?;
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RebuildReason::Missing),
        Err(e) => return Err(RebuildReason::Corrupt(e.to_string())),
    };
    let len = file
        .metadata()
        .map_err(|e| RebuildReason::Corrupt(e.to_string()))?
        .len();
    if len != meta.bytes {
        return Err(RebuildReason::Corrupt("length differs from its metadata".into()));
    }
    let bytes = Bytes::map(&file).map_err(|e| RebuildReason::Corrupt(e.to_string()))?;
    let view = FileView::new(bytes, expected.dim).map_err(RebuildReason::Corrupt)?;
    check_stamp(view.generation(), view.len(), expected)?;
    Ok(view)
}

/// The generation and count a file's header carries against kb.db's.
fn check_stamp(generation: u64, count: usize, expected: &Fingerprint) -> Result<(), RebuildReason> {
    if generation != expected.generation || count != expected.count {
        return Err(RebuildReason::Corrupt(format!(
            "holds {count} vectors of generation {generation}, expected {} of {}",
            expected.count, expected.generation
        )));
    }
    Ok(())
}

/// Writes `bytes` to a temporary file of this process and save, then renames it over `path`.
/// The temporary name is unique: two processes (an ingest and a server rebuilding a stale
/// index, say) saving the same index at once must not rename each other's half-written file
/// or find theirs already moved away.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut tmp = path.as_os_str().to_owned();
    let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp.push(format!(".tmp.{}.{n}", std::process::id()));
    let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The sidecar of the index file at `path`, if it describes `expected`.
fn read_meta(path: &Path, expected: &Fingerprint) -> Result<Meta, RebuildReason> {
    let text = match fs::read_to_string(meta_path(path)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RebuildReason::Missing),
        Err(e) => return Err(RebuildReason::BadMeta(e.to_string())),
    };
    let meta: Meta = serde_json::from_str(&text).map_err(|e| RebuildReason::BadMeta(e.to_string()))?;
    if meta.format != META_FORMAT {
        return Err(RebuildReason::BadMeta(format!("unknown format {}", meta.format)));
    }
    if meta.fingerprint != *expected {
        return Err(RebuildReason::Stale {
            found: meta.fingerprint,
        });
    }
    Ok(meta)
}

/// XXH3-64 of the index file: detects accidental damage (truncation, torn writes, bit rot), not
/// tampering, at memory speed, which matters because a cold query verifies every index it opens.
fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

// Poisoning is ignored: every write to the vectors completes or panics before changing them
// half-way from a search's view, and the file is rebuilt from kb.db if anything is off.
fn read(l: &RwLock<Flat>) -> RwLockReadGuard<'_, Flat> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(l: &RwLock<Flat>) -> RwLockWriteGuard<'_, Flat> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::super::flat::{exact_score, normalize};
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const DIM: usize = 32;

    /// Deterministic unit vectors (xorshift64), dense.
    fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut next = crate::rag::xorshift(seed | 1);
        (0..n)
            .map(|_| {
                let v: Vec<f32> = (0..dim)
                    .map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                    .collect();
                normalize(&v)
            })
            .collect()
    }

    fn rows(n: usize, dim: usize, seed: u64) -> Vec<(u64, Vec<f32>)> {
        vectors(n, dim, seed)
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u64 + 1, v))
            .collect()
    }

    /// A flat landscape like the fidelity mock's: a large shared component, a few lexical
    /// components (sparse rows) or a little noise everywhere (dense rows), every score near 0.3.
    fn flat_rows(n: usize, dim: usize, seed: u64, dense_noise: bool) -> Vec<(u64, Vec<f32>)> {
        let mut next = crate::rag::xorshift(seed | 1);
        (0..n)
            .map(|i| {
                let mut v = vec![0.0f32; dim];
                v[0] = 0.3f32.sqrt() * (1.0 + 0.002 * (next() % 1000) as f32 / 500.0);
                for _ in 0..3 {
                    let j = 1 + (next() as usize) % (dim - 1);
                    v[j] += if next() & 1 == 0 { 0.3 } else { -0.3 };
                }
                if dense_noise {
                    for x in v.iter_mut().skip(1) {
                        *x += ((next() % 2001) as f32 - 1000.0) * 1e-5;
                    }
                }
                (i as u64 * 3 + 1, v)
            })
            .collect()
    }

    fn fp(count: usize, generation: u64) -> Fingerprint {
        Fingerprint {
            dim: DIM,
            count,
            generation,
        }
    }

    fn path(dir: &tempfile::TempDir) -> PathBuf {
        index_path(dir.path(), "entities")
    }

    fn open_with(path: &Path, data: &[(u64, Vec<f32>)], generation: u64) -> (VectorIndex, OpenOutcome) {
        VectorIndex::open(path, DIM, &fp(data.len(), generation), || Ok(data.to_vec())).unwrap()
    }

    fn assert_self_recall(index: &VectorIndex, data: &[(u64, Vec<f32>)]) {
        for (key, v) in data {
            let hits = index.search(v, 3, -1.0).unwrap();
            assert_eq!(hits[0].0, *key);
            assert!((hits[0].1 - 1.0).abs() < 1e-6, "similarity {}", hits[0].1);
            assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
        }
    }

    /// Exact search by brute force, with the same score function.
    fn brute(data: &[(u64, Vec<f32>)], q: &[f32], k: usize, threshold: f32) -> Vec<(u64, f32)> {
        let q = normalize(q);
        let mut all: Vec<(u64, f32)> = data
            .iter()
            .map(|(key, v)| (*key, exact_score(&normalize(v), &q)))
            .filter(|(_, s)| *s >= threshold)
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    /// The pruning never changes a result: dense, sparse and mixed sets in flat landscapes,
    /// every k the query path uses, with and without a threshold, give brute force's list.
    #[test]
    fn search_equals_brute_force_exact_search() {
        let dim = 256;
        let mut sets = vec![
            flat_rows(600, dim, 5, false),
            flat_rows(600, dim, 6, true),
            rows(400, dim, 7),
        ];
        let mut mixed = flat_rows(300, dim, 8, false);
        mixed.extend(flat_rows(300, dim, 9, true).into_iter().map(|(k, v)| (k + 1, v)));
        sets.push(mixed);
        for data in &sets {
            let dir = tempfile::tempdir().unwrap();
            let expected = Fingerprint {
                dim,
                count: data.len(),
                generation: 1,
            };
            let (index, _) = VectorIndex::open(&path(&dir), dim, &expected, || Ok(data.clone())).unwrap();
            // Search-only opens scan the sparse vectors by dimension instead: the same scores.
            let (by_dimension, _) =
                VectorIndex::open_for_search(&path(&dir), dim, &expected, || unreachable!()).unwrap();
            let queries: Vec<Vec<f32>> = data
                .iter()
                .step_by(37)
                .map(|(_, v)| v.clone())
                .chain(vectors(5, dim, 3))
                .collect();
            for q in &queries {
                for k in [1, 5, 20, 40, 60] {
                    for threshold in [-1.0, 0.2, 0.301] {
                        let exact = brute(data, q, k, threshold);
                        assert_eq!(index.search(q, k, threshold).unwrap(), exact, "k {k}");
                        assert_eq!(by_dimension.search(q, k, threshold).unwrap(), exact, "k {k}");
                    }
                }
            }
        }
    }

    #[test]
    fn add_and_search_self_recall() {
        let dir = tempfile::tempdir().unwrap();
        let (index, outcome) = open_with(&path(&dir), &[], 0);
        assert_eq!(outcome, OpenOutcome::Rebuilt(RebuildReason::Missing));
        assert!(index.is_empty());
        let data = rows(300, DIM, 7);
        for (key, v) in &data {
            index.upsert(*key, v).unwrap();
        }
        assert_eq!(index.len(), 300);
        assert_self_recall(&index, &data);
    }

    #[test]
    fn search_clamps_k_and_handles_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (index, _) = open_with(&path(&dir), &[], 0);
        let q = &vectors(1, DIM, 3)[0];
        assert!(index.search(q, 10, -1.0).unwrap().is_empty());
        index.rebuild(rows(10, DIM, 3)).unwrap();
        assert_eq!(index.search(q, 1000, -1.0).unwrap().len(), 10);
        assert!(index.search(q, 0, -1.0).unwrap().is_empty());
        // Nothing scores above 1.
        assert!(index.search(q, 10, 1.01).unwrap().is_empty());
    }

    #[test]
    fn upsert_replaces_and_remove_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let data = rows(50, DIM, 11);
        let (index, _) = open_with(&path(&dir), &data, 1);
        let fresh = vectors(1, DIM, 99).remove(0);
        index.upsert(5, &fresh).unwrap();
        assert_eq!(index.len(), 50);
        assert_eq!(index.search(&fresh, 1, -1.0).unwrap()[0].0, 5);
        assert_ne!(index.search(&data[4].1, 1, -1.0).unwrap()[0].0, 5);

        assert!(index.remove(7).unwrap());
        assert!(!index.remove(7).unwrap());
        assert!(!index.contains(7));
        assert_eq!(index.len(), 49);
        assert!(index.search(&data[6].1, 49, -1.0).unwrap().iter().all(|(k, _)| *k != 7));
        index.upsert(7, &data[6].1).unwrap();
        assert_eq!(index.search(&data[6].1, 1, -1.0).unwrap()[0].0, 7);
        assert_eq!(index.len(), 50);
    }

    /// Many rounds of replacing and removing (which compacts removed slots away) end with
    /// the same index as building the survivors at once: same results, same file.
    #[test]
    fn long_churn_equals_a_fresh_build() {
        let dir = tempfile::tempdir().unwrap();
        let (index, _) = open_with(&path(&dir), &[], 0);
        let mut live = std::collections::BTreeMap::new();
        let mut next = crate::rag::xorshift(77);
        for round in 0..150u64 {
            let batch: Vec<(u64, Vec<f32>)> = flat_rows(40, DIM, round + 100, round % 2 == 0)
                .into_iter()
                .map(|(_, v)| (next() % 900, v))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect();
            index.upsert_many(&batch).unwrap();
            live.extend(batch);
            for _ in 0..10 {
                let key = next() % 900;
                assert_eq!(index.remove(key).unwrap(), live.remove(&key).is_some());
            }
        }
        let survivors: Vec<(u64, Vec<f32>)> = live.into_iter().collect();
        assert_eq!(index.len(), survivors.len());
        let fresh_dir = tempfile::tempdir().unwrap();
        let (fresh, _) = open_with(&path(&fresh_dir), &survivors, 1);
        for (_, q) in survivors.iter().step_by(11) {
            assert_eq!(index.search(q, 40, 0.2).unwrap(), fresh.search(q, 40, 0.2).unwrap());
            assert_eq!(index.search(q, 40, 0.2).unwrap(), brute(&survivors, q, 40, 0.2));
        }
        index.save(&fp(survivors.len(), 1)).unwrap();
        assert!(
            fs::read(index.path()).unwrap() == fs::read(fresh.path()).unwrap(),
            "same file"
        );
    }

    #[test]
    fn invalid_vectors_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (index, _) = open_with(&path(&dir), &rows(5, DIM, 1), 0);
        let err = index.upsert(1, &[0.5; DIM + 1]).unwrap_err();
        assert!(err.to_string().contains("33 dimensions"), "{err}");
        assert!(index.search(&[0.5; 8], 1, 0.0).is_err());
        let mut nan = vec![0.1; DIM];
        nan[3] = f32::NAN;
        assert!(index.upsert(1, &nan).is_err());
        assert!(index.search(&nan, 1, 0.0).is_err());
        let dir = tempfile::tempdir().unwrap();
        let bad = vec![(1, vec![0.1; DIM - 1])];
        assert!(VectorIndex::open(&path(&dir), DIM, &fp(1, 0), || Ok(bad)).is_err());
        let dup = vec![(1, vec![0.1; DIM]), (1, vec![0.2; DIM])];
        assert!(VectorIndex::open(&path(&dir), DIM, &fp(2, 0), || Ok(dup)).is_err());
    }

    #[test]
    fn save_and_reopen_loads_same_results_and_stays_writable() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let mut data = rows(150, DIM, 21);
        data.extend(flat_rows(100, DIM, 4, false).into_iter().map(|(k, v)| (k + 1000, v)));
        let (index, _) = open_with(&p, &data[..150], 3);
        index.upsert_many(&data[150..]).unwrap();
        index.save(&fp(250, 4)).unwrap();
        let queries = vectors(20, DIM, 5);
        let before: Vec<_> = queries.iter().map(|q| index.search(q, 5, -1.0).unwrap()).collect();
        drop(index);

        let (index, outcome) =
            VectorIndex::open(&p, DIM, &fp(250, 4), || panic!("rows must not be read when loading")).unwrap();
        assert_eq!(outcome, OpenOutcome::Loaded);
        let after: Vec<_> = queries.iter().map(|q| index.search(q, 5, -1.0).unwrap()).collect();
        assert_eq!(before, after);
        assert_self_recall(&index, &data);
        for (i, v) in vectors(100, DIM, 77).iter().enumerate() {
            index.upsert(5000 + i as u64, v).unwrap();
        }
        assert_eq!(index.len(), 350);
    }

    #[test]
    fn mismatched_fingerprint_rebuilds_from_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let data = rows(40, DIM, 2);
        open_with(&p, &data, 9);
        for expected in [fp(41, 9), fp(40, 10)] {
            let calls = AtomicUsize::new(0);
            let (index, outcome) = VectorIndex::open(&p, DIM, &expected, || {
                calls.fetch_add(1, Ordering::Relaxed);
                Ok(data.clone())
            })
            .unwrap();
            assert_eq!(calls.load(Ordering::Relaxed), 1);
            assert!(
                matches!(outcome, OpenOutcome::Rebuilt(RebuildReason::Stale { .. })),
                "{outcome:?}"
            );
            assert_eq!(index.len(), 40);
        }
        assert_eq!(open_with(&p, &data, 10).1, OpenOutcome::Loaded);

        let wide = rows(40, 48, 2);
        let expected = Fingerprint {
            dim: 48,
            count: 40,
            generation: 10,
        };
        let (index, outcome) = VectorIndex::open(&p, 48, &expected, || Ok(wide.clone())).unwrap();
        let OpenOutcome::Rebuilt(RebuildReason::Stale { found }) = outcome else {
            panic!("loaded a {DIM}-d index as 48-d: {outcome:?}")
        };
        assert_eq!(found.dim, DIM);
        assert_eq!(index.search(&wide[0].1, 1, -1.0).unwrap()[0].0, wide[0].0);
    }

    #[test]
    fn search_only_index_searches_like_the_loaded_one_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let data = rows(150, DIM, 8);
        let (index, _) = open_with(&p, &data, 2);
        let queries = vectors(20, DIM, 6);
        let loaded: Vec<_> = queries.iter().map(|q| index.search(q, 5, -1.0).unwrap()).collect();
        drop(index);
        let (searching, outcome) =
            VectorIndex::open_for_search(&p, DIM, &fp(150, 2), || panic!("rows must not be read")).unwrap();
        assert_eq!(outcome, OpenOutcome::Loaded);
        let found: Vec<_> = queries.iter().map(|q| searching.search(q, 5, -1.0).unwrap()).collect();
        assert_eq!(loaded, found);
        assert!(searching.upsert(9999, &data[0].1).is_err());
        assert!(searching.remove(1).is_err());

        // A search-only open trusts the stamp: a file of another length, or whose header names
        // another generation, is rebuilt (and saved) from the rows, still search-only; so is
        // one whose sidecar is stale or of an older format.
        let good = fs::read(&p).unwrap();
        let mut other_generation = good.clone();
        other_generation[40] ^= 0x04;
        let longer = [&good[..], &[0u8; 8]].concat();
        for bad in [
            good[..good.len() - 8].to_vec(),
            longer,
            other_generation,
            b"garbage".to_vec(),
        ] {
            fs::write(&p, &bad).unwrap();
            let (rebuilt, outcome) = VectorIndex::open_for_search(&p, DIM, &fp(150, 2), || Ok(data.clone())).unwrap();
            assert!(
                matches!(outcome, OpenOutcome::Rebuilt(RebuildReason::Corrupt(_))),
                "{outcome:?}"
            );
            assert_self_recall(&rebuilt, &data);
            assert!(rebuilt.upsert(9999, &data[0].1).is_err());
            assert!(rebuilt.save(&fp(150, 2)).is_err());
            assert_eq!(fs::read(&p).unwrap(), good, "rebuilt and saved as before");
        }
        let (_, outcome) = VectorIndex::open_for_search(&p, DIM, &fp(150, 3), || Ok(data.clone())).unwrap();
        assert!(
            matches!(outcome, OpenOutcome::Rebuilt(RebuildReason::Stale { .. })),
            "{outcome:?}"
        );
        let meta: serde_json::Value = serde_json::from_slice(&fs::read(meta_path(&p)).unwrap()).unwrap();
        let mut older = meta.clone();
        older["format"] = 4.into();
        fs::write(meta_path(&p), older.to_string()).unwrap();
        let (_, outcome) = VectorIndex::open_for_search(&p, DIM, &fp(150, 3), || Ok(data.clone())).unwrap();
        assert!(
            matches!(outcome, OpenOutcome::Rebuilt(RebuildReason::BadMeta(_))),
            "{outcome:?}"
        );
        let (_, outcome) = VectorIndex::open_for_search(&p, DIM, &fp(150, 3), || panic!("trusted now")).unwrap();
        assert_eq!(outcome, OpenOutcome::Loaded);
    }

    /// A search-only open does not read every byte: a file damaged without changing its length
    /// or stamp is mapped. Every single-byte change of that kind is then refused on open, or
    /// searched without a panic (results, or a storage error naming the file), and `verify`
    /// (`lrt doctor`, which checks the checksum) reports every one.
    #[test]
    fn damaged_mapped_files_never_crash() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let mut data = rows(40, DIM, 12);
        data.extend(flat_rows(60, DIM, 12, false).into_iter().map(|(k, v)| (k + 100, v)));
        let expected = fp(100, 1);
        open_with(&p, &data, 1);
        let good = fs::read(&p).unwrap();
        let queries: Vec<Vec<f32>> = data.iter().step_by(9).map(|(_, v)| v.clone()).collect();
        for at in (0..good.len()).step_by(7).chain(0..48) {
            let mut bad = good.clone();
            bad[at] = bad[at].wrapping_add(0x55);
            fs::write(&p, &bad).unwrap();
            assert!(
                matches!(
                    VectorIndex::verify(&p, &expected).unwrap(),
                    Some(RebuildReason::Corrupt(_))
                ),
                "byte {at}"
            );
            let (index, _) = VectorIndex::open_for_search(&p, DIM, &expected, || Ok(data.clone())).unwrap();
            for q in &queries {
                if let Err(e) = index.search(q, 10, -1.0) {
                    assert_eq!(e.kind(), crate::error::ErrorKind::Storage, "{e}");
                    assert!(e.to_string().contains("doctor --repair"), "{e}");
                }
            }
        }

        // A posting out of order (dimension 0 lists every sparse vector: slot 1 made 0) is
        // caught by the first search that reads it.
        fs::write(&p, &good).unwrap();
        let slots = 48 + 60 * 8 + (DIM + 1) * 8;
        let mut bad = good.clone();
        bad[slots + 4..slots + 8].copy_from_slice(&0u32.to_le_bytes());
        fs::write(&p, &bad).unwrap();
        let (index, outcome) = VectorIndex::open_for_search(&p, DIM, &expected, || panic!("stamp matches")).unwrap();
        assert_eq!(outcome, OpenOutcome::Loaded);
        let err = index.search(&data[50].1, 5, -1.0).unwrap_err();
        assert!(err.to_string().contains("out of order"), "{err}");
        assert!(VectorIndex::verify(&p, &expected).unwrap().is_some());
        drop(index);
        // Rebuilding it is what `lrt doctor --repair` does.
        fs::write(&p, &good).unwrap();
        let (index, outcome) = VectorIndex::open_for_search(&p, DIM, &expected, || panic!("good again")).unwrap();
        assert_eq!(outcome, OpenOutcome::Loaded);
        assert_self_recall(&index, &data);
    }

    #[test]
    fn missing_or_damaged_files_rebuild_never_crash() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let mut data = rows(60, DIM, 4);
        data.extend(flat_rows(30, DIM, 4, false).into_iter().map(|(k, v)| (k + 100, v)));
        let meta = meta_path(&p);
        let reopen = || {
            let (index, outcome) = open_with(&p, &data, 1);
            assert_self_recall(&index, &data);
            outcome
        };
        open_with(&p, &data, 1);
        assert_eq!(reopen(), OpenOutcome::Loaded);

        fs::remove_file(&p).unwrap();
        assert_eq!(reopen(), OpenOutcome::Rebuilt(RebuildReason::Missing));
        fs::remove_file(&meta).unwrap();
        assert_eq!(reopen(), OpenOutcome::Rebuilt(RebuildReason::Missing));

        let good = fs::read(&p).unwrap();
        fs::write(&p, &good[..good.len() / 2]).unwrap();
        assert!(matches!(reopen(), OpenOutcome::Rebuilt(RebuildReason::Corrupt(_))));
        let mut flipped = good.clone();
        flipped[good.len() - 100] ^= 0x40;
        fs::write(&p, &flipped).unwrap();
        assert!(matches!(reopen(), OpenOutcome::Rebuilt(RebuildReason::Corrupt(_))));
        fs::write(&p, b"garbage").unwrap();
        assert!(matches!(reopen(), OpenOutcome::Rebuilt(RebuildReason::Corrupt(_))));

        fs::write(&meta, b"{ not json").unwrap();
        assert!(matches!(reopen(), OpenOutcome::Rebuilt(RebuildReason::BadMeta(_))));
        assert_eq!(reopen(), OpenOutcome::Loaded);
    }

    /// A sidecar that matches a damaged file (as if forged): the file's own structure checks
    /// still refuse it, and never panic.
    #[test]
    fn files_that_pass_the_checksum_are_still_verified() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let mut data = rows(60, DIM, 8);
        data.extend(flat_rows(30, DIM, 8, false).into_iter().map(|(k, v)| (k + 100, v)));
        open_with(&p, &data, 1);
        let forge = |bytes: &[u8]| {
            fs::write(&p, bytes).unwrap();
            let meta = Meta {
                format: META_FORMAT,
                fingerprint: fp(90, 1),
                bytes: bytes.len() as u64,
                checksum: checksum(bytes),
            };
            fs::write(meta_path(&p), serde_json::to_vec(&meta).unwrap()).unwrap();
            let verified = VectorIndex::verify(&p, &fp(90, 1)).unwrap();
            let outcome = open_with(&p, &data, 1).1;
            assert_eq!(verified.is_none(), outcome == OpenOutcome::Loaded);
            outcome
        };
        let good = fs::read(&p).unwrap();
        let corrupt = |o: OpenOutcome| matches!(o, OpenOutcome::Rebuilt(RebuildReason::Corrupt(_)));
        assert!(corrupt(forge(&good[..good.len() - 64])));
        assert_self_recall(&open_with(&p, &data, 1).0, &data);
        // Every single-byte change of the header and of a sample of the body is refused or
        // harmless (a changed value of a vector is still a valid file), never a crash.
        for at in (0..good.len()).step_by(97).chain(0..48) {
            let mut bad = good.clone();
            bad[at] = bad[at].wrapping_add(0x55);
            forge(&bad);
        }
        // A changed i8 copy of a dense vector breaks its bounds: refused by a thorough load.
        let dense_q = good.len() - 60 * DIM * 5 + 10;
        let mut bad = good.clone();
        bad[dense_q] = bad[dense_q].wrapping_add(1);
        assert!(corrupt(forge(&bad)));
        // A valid file of another dimension.
        let other = VectorIndex::open(
            &dir.path().join("other.vec"),
            16,
            &Fingerprint {
                dim: 16,
                count: 90,
                generation: 1,
            },
            || Ok(rows(90, 16, 8)),
        )
        .unwrap()
        .0;
        assert!(corrupt(forge(&fs::read(other.path()).unwrap())));
    }

    #[test]
    fn save_refuses_a_fingerprint_that_does_not_describe_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        let data = rows(10, DIM, 6);
        let (index, _) = open_with(&p, &data, 1);
        let err = index.save(&fp(11, 2)).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Internal);
        assert!(!meta_path(&p).exists());
        assert_eq!(open_with(&p, &data, 1).1, OpenOutcome::Rebuilt(RebuildReason::Missing));
    }

    #[test]
    fn saving_removes_the_usearch_files_of_older_versions() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        create_private_dir(p.parent().unwrap()).unwrap();
        let legacy = p.with_extension("usearch");
        fs::write(&legacy, b"old index").unwrap();
        fs::write(meta_path(&legacy), b"{}").unwrap();
        open_with(&p, &rows(3, DIM, 1), 0);
        assert!(p.exists() && !legacy.exists() && !meta_path(&legacy).exists());
    }

    #[cfg(unix)]
    #[test]
    fn vectors_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        open_with(&path(&dir), &[], 0);
        let mode = fs::metadata(dir.path().join("vectors")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(!dir.path().join("vectors/entities.vec.tmp").exists());
    }

    #[test]
    fn concurrent_searches_through_an_arc() {
        let dir = tempfile::tempdir().unwrap();
        let data = Arc::new(rows(300, DIM, 13));
        let index = Arc::new(open_with(&path(&dir), &data, 0).0);
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let (index, data) = (Arc::clone(&index), Arc::clone(&data));
                std::thread::spawn(move || {
                    for (key, v) in data.iter().skip(t).step_by(6) {
                        assert_eq!(index.search(v, 5, -1.0).unwrap()[0].0, *key);
                    }
                })
            })
            .collect();
        for (i, v) in vectors(50, DIM, 31).iter().enumerate() {
            index.upsert(10_000 + i as u64, v).unwrap();
        }
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(index.len(), 350);
    }

    #[test]
    fn verify_reports_like_open_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir);
        assert_eq!(
            VectorIndex::verify(&p, &fp(5, 1)).unwrap(),
            Some(RebuildReason::Missing)
        );
        assert!(!p.exists() && !meta_path(&p).exists());
        let data = rows(5, DIM, 3);
        open_with(&p, &data, 1);
        assert_eq!(VectorIndex::verify(&p, &fp(5, 1)).unwrap(), None);
        assert!(matches!(
            VectorIndex::verify(&p, &fp(5, 2)).unwrap(),
            Some(RebuildReason::Stale { .. })
        ));
        let good = fs::read(&p).unwrap();
        fs::write(&p, &good[..good.len() / 2]).unwrap();
        assert!(matches!(
            VectorIndex::verify(&p, &fp(5, 1)).unwrap(),
            Some(RebuildReason::Corrupt(_))
        ));
        assert_eq!(fs::read(&p).unwrap().len(), good.len() / 2);
    }

    #[test]
    fn checksum_sees_single_changes() {
        let a = vec![0u8; 37];
        let mut b = a.clone();
        b[36] = 1;
        assert_ne!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&a[..36]));
    }
}
