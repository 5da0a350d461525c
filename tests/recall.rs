//! The recall bar of lrt's vector indexes (issue 13): for chunks, entities and relations, with
//! the fidelity tool's flat embedding landscape (sparse and dense) and the local provider's
//! embeddings, an index grown over 120 saved-and-reopened runs with replacements and deletions,
//! and one built at once from the same rows, return what exact search over the stored vectors
//! returns: strict recall ≥ 0.995 at every k the query path uses, and every stored vector finds
//! itself first. The reference (`benches/support/recall.rs`) shares no code with lrt's search.

#[path = "../benches/support/recall.rs"]
mod recall;

use std::collections::BTreeMap;

use futures_util::FutureExt;
use lrt::llm::ModelProvider;
use lrt::llm::local::LocalProvider;
use lrt::store::vectors::{Fingerprint, OpenOutcome, VectorIndex, index_path};
use recall::{Reference, Texts, exact_top, flat_embedding, strict_recall};

/// Smaller than real models' 1,024 so the test stays quick in debug builds; `cargo bench --bench
/// recall` measures 1,024 dimensions on KBs made by `lrt ingest`.
const DIM: usize = 256;
const RUNS: u64 = 120;
/// upstream's top_k and chunk_top_k defaults, and around them.
const KS: [usize; 4] = [1, 20, 40, 60];
const THRESHOLD: f32 = 0.2;

#[derive(Clone, Copy, Debug)]
enum Embedder {
    /// The fidelity mock's landscape: sparse vectors around a shared component.
    Flat,
    /// The same with a little noise on every dimension: dense vectors.
    FlatDense,
    /// The local provider's lexical embeddings.
    Local,
}

impl Embedder {
    fn embed(self, texts: &[String]) -> Vec<Vec<f32>> {
        match self {
            Embedder::Flat => texts
                .iter()
                .map(|t| flat_embedding(t, DIM, recall::FLOOR, recall::JITTER, 0.0))
                .collect(),
            Embedder::FlatDense => texts
                .iter()
                .map(|t| flat_embedding(t, DIM, recall::FLOOR, recall::JITTER, 0.1))
                .collect(),
            Embedder::Local => LocalProvider::new(DIM)
                .embed(texts)
                .now_or_never()
                .expect("local embeddings are immediate")
                .expect("local embeddings"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Chunks,
    Entities,
    Relations,
}

impl Kind {
    fn text(self, texts: &mut Texts) -> String {
        match self {
            Kind::Chunks => texts.chunk(),
            Kind::Entities => texts.entity(),
            Kind::Relations => texts.relation(),
        }
    }

    /// New rows per run.
    fn per_run(self) -> usize {
        match self {
            Kind::Chunks => 1,
            Kind::Entities => 4,
            Kind::Relations => 5,
        }
    }
}

fn fingerprint(count: usize, generation: u64) -> Fingerprint {
    Fingerprint {
        dim: DIM,
        count,
        generation,
    }
}

/// Grows an index over `RUNS` runs, each reopening the saved file, adding rows, replacing two
/// and (every tenth run) deleting some; returns the index and the rows it should hold.
fn grow(dir: &std::path::Path, kind: Kind, embedder: Embedder) -> (VectorIndex, BTreeMap<u64, Vec<f32>>) {
    let path = index_path(dir, &format!("{kind:?}"));
    let mut texts = Texts::new(7 + kind as u64);
    let mut live: BTreeMap<u64, Vec<f32>> = BTreeMap::new();
    let mut next_key = 1u64;
    let mut pick = lrt_xorshift(11 + kind as u64);
    for run in 0..RUNS {
        let rows = || Ok(live.iter().map(|(k, v)| (*k, v.clone())).collect());
        let (index, outcome) = VectorIndex::open(&path, DIM, &fingerprint(live.len(), run), rows).unwrap();
        assert!(run == 0 || outcome == OpenOutcome::Loaded, "run {run}: {outcome:?}");
        let mut keys: Vec<u64> = (0..kind.per_run()).map(|i| next_key + i as u64).collect();
        next_key += kind.per_run() as u64;
        let existing: Vec<u64> = live.keys().copied().collect();
        if !existing.is_empty() {
            for _ in 0..2 {
                let key = existing[(pick() % existing.len() as u64) as usize];
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        let batch_texts: Vec<String> = keys.iter().map(|_| kind.text(&mut texts)).collect();
        let batch: Vec<(u64, Vec<f32>)> = keys.into_iter().zip(embedder.embed(&batch_texts)).collect();
        index.upsert_many(&batch).unwrap();
        live.extend(batch);
        if run % 10 == 9 {
            let existing: Vec<u64> = live.keys().copied().collect();
            for _ in 0..existing.len() / 30 {
                let key = existing[(pick() % existing.len() as u64) as usize];
                assert_eq!(index.remove(key).unwrap(), live.remove(&key).is_some());
            }
        }
        index.save(&fingerprint(live.len(), run + 1)).unwrap();
    }
    let (index, outcome) = VectorIndex::open(&path, DIM, &fingerprint(live.len(), RUNS), || unreachable!()).unwrap();
    assert_eq!(outcome, OpenOutcome::Loaded);
    (index, live)
}

fn lrt_xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Strict recall over the queries at every k, and self-retrieval of a sample of the rows.
fn check(index: &VectorIndex, live: &BTreeMap<u64, Vec<f32>>, queries: &[Vec<f32>], what: &str) {
    let refs: Vec<Reference> = live.iter().map(|(k, v)| Reference::new(*k, v)).collect();
    let (mut found, mut required) = (0, 0);
    for q in queries {
        for k in KS {
            let hits = index.search(q, k, THRESHOLD).unwrap();
            let exact = exact_top(&refs, q, k, f64::from(THRESHOLD));
            assert_eq!(hits.len(), exact.len(), "{what}: k {k}: a short list");
            let keys: Vec<u64> = hits.iter().map(|(key, _)| *key).collect();
            let (f, r) = strict_recall(&keys, &exact, k);
            found += f;
            required += r;
        }
    }
    assert!(required > 0);
    let recall = found as f64 / required as f64;
    assert!(
        recall >= 0.995,
        "{what}: strict recall {recall} ({found} of {required})"
    );
    for (key, v) in live.iter().step_by(live.len().div_ceil(40)) {
        let top = index.search(v, 1, -1.0).unwrap();
        let own = exact_top(&refs, v, 1, -1.0)[0].1;
        let same = top[0].0 == *key
            || exact_top(&refs, v, live.len(), -1.0)
                .iter()
                .any(|(k, s)| *k == top[0].0 && *s >= own - recall::TIE);
        assert!(same, "{what}: row {key} found {} first", top[0].0);
    }
    eprintln!(
        "{what}: strict recall {recall:.4} ({found}/{required}), {} rows",
        live.len()
    );
}

fn every_kind_finds_what_exact_search_finds(embedder: Embedder) {
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Chunks, Kind::Entities, Kind::Relations] {
        let started = std::time::Instant::now();
        let (grown, live) = grow(dir.path(), kind, embedder);
        let grown_in = started.elapsed();
        let mut texts = Texts::new(99);
        let query_texts: Vec<String> = (0..15).map(|_| texts.query()).collect();
        let queries = embedder.embed(&query_texts);
        check(&grown, &live, &queries, &format!("{embedder:?} {kind:?} grown"));
        // A query's search-only open maps the saved file: the same lists, bit for bit.
        let expected = fingerprint(live.len(), RUNS);
        let (mapped, outcome) = VectorIndex::open_for_search(grown.path(), DIM, &expected, || unreachable!()).unwrap();
        assert_eq!(outcome, OpenOutcome::Loaded);
        for q in &queries {
            for k in KS {
                assert_eq!(
                    mapped.search(q, k, THRESHOLD).unwrap(),
                    grown.search(q, k, THRESHOLD).unwrap()
                );
            }
        }
        let rows: Vec<(u64, Vec<f32>)> = live.iter().map(|(k, v)| (*k, v.clone())).collect();
        let once = dir.path().join("once");
        let path = index_path(&once, &format!("{kind:?}"));
        let (built, _) = VectorIndex::open(&path, DIM, &fingerprint(rows.len(), 1), || Ok(rows)).unwrap();
        check(&built, &live, &queries, &format!("{embedder:?} {kind:?} built at once"));
        eprintln!(
            "{embedder:?} {kind:?}: grown in {grown_in:?}, checked in {:?}",
            started.elapsed() - grown_in
        );
    }
}

#[test]
fn flat_sparse_embeddings_after_growth_and_deletions() {
    every_kind_finds_what_exact_search_finds(Embedder::Flat);
}

#[test]
fn flat_dense_embeddings_after_growth_and_deletions() {
    every_kind_finds_what_exact_search_finds(Embedder::FlatDense);
}

#[test]
fn local_provider_embeddings_after_growth_and_deletions() {
    every_kind_finds_what_exact_search_finds(Embedder::Local);
}
