//! The store reads of a warm query, per mode, on SQLite and on PostgreSQL holding the same KB.
//!
//! The KB is the generated ~2 MB corpus ingested with the offline `local` provider into SQLite
//! (a real `lrt ingest` process, as `benches/query.rs` does); its rows are then copied into a
//! fresh schema of a PostgreSQL server, so both stores hold identical rows. Each "question" is a
//! seeded set of vector hits (40 entity keys, 40 relation keys, 20 chunk keys, the engine's
//! defaults), and each query makes the reads `QueryEngine` makes for its mode, in its order,
//! inside one `read_snapshot`: the entities and their edges, the degrees (memoised per engine),
//! the relations in batches of 32, 64, 128, … within the relation budget, the endpoints of the relations,
//! the vector hits' chunks, the chunk vectors of the vector pick (cached per engine) and the
//! chunks of the entities and relations; outside the snapshot, the generation check and two
//! point lookups standing for the keyword and answer cache lookups (PostgreSQL's LLM cache is
//! another helper's). Vector search, tokenising and prompt building cost the same on both
//! backends and are left out. The engine keeps the rows it read per engine
//! (`rag/engine_memo.rs`), so these are the reads of a question whose rows it never read.
//!
//! The queries run on a current-thread tokio runtime, as `lrt serve` and the CLI run them, so
//! every PostgreSQL call hops to a scoped thread (`off_runtime`); `--no-runtime` runs them on
//! a plain thread instead, which shows what the hops cost. Printed besides each mode's latency:
//! the statements a query sends and the mean time of each store method; before them, what one
//! thread hop and one round trip (`SELECT 1`) cost on the machine at that moment.
//!
//! Run: `LRT_BENCH_DATABASE_URL=postgres://… cargo bench --bench kb_reads` (options: `-- --mb N`,
//! `-- --runs N` queries per mode, `-- --keep DIR` to keep and reuse the corpus and SQLite KB,
//! `-- --no-runtime`). `.ci/steps/10-postgres.sh` starts a throwaway server (see README).
//! Issue 16 target: warm query p50 ≤ 10 ms in every mode on PostgreSQL.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/process.rs"]
mod process;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use lrt::catalog::Catalog;
use lrt::catalog::pg::PgCatalog;
use lrt::config::PgSettings;
use lrt::layout::Layout;
use lrt::store::query::EntityRow;
use lrt::store::{KbLocation, KbStore};
use process::percentile;
use uuid::Uuid;

const SEED: u64 = 42;
const QUESTIONS: usize = 40;
const RELATION_BATCH: usize = 32;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Naive,
    Local,
    Global,
    Hybrid,
    Mix,
}

/// One question's vector hits.
struct Hits {
    entities: Vec<u64>,
    relations: Vec<u64>,
    chunks: Vec<u64>,
}

/// What an engine keeps between queries, and where this bench's time went.
#[derive(Default)]
struct Memo {
    degrees: HashMap<String, usize>,
    vectors: HashSet<String>,
    /// Seconds and calls per store method.
    spent: std::cell::RefCell<HashMap<&'static str, (f64, usize)>>,
}

impl Memo {
    fn timed<T>(&self, what: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let mut spent = self.spent.borrow_mut();
        let slot = spent.entry(what).or_default();
        slot.0 += start.elapsed().as_secs_f64();
        slot.1 += 1;
        out
    }
}

/// The reads of one query of `mode`; returns the number of statements sent.
fn query(store: &KbStore, mode: Mode, hits: &Hits, memo: &mut Memo) -> usize {
    let statements = 3; // generation, keyword cache, answer cache
    store.generation().unwrap();
    store.entity("keyword cache lookup").unwrap();
    let snapshot = store
        .read_snapshot(|| {
            let mut n = 0;
            let mut read = || n += 1;
            let mut entities: Vec<EntityRow> = Vec::new();
            let mut relations = Vec::new();
            if matches!(mode, Mode::Local | Mode::Hybrid | Mode::Mix) {
                entities = memo.timed("entities_by_keys", || store.entities_by_keys(&hits.entities))?;
                let names: Vec<String> = entities.iter().map(|e| e.name.clone()).collect();
                let mut seen = HashSet::new();
                let edges: Vec<_> = memo
                    .timed("edges_by_name", || store.edges_by_name(&names))?
                    .into_iter()
                    .flatten()
                    .filter(|e| seen.insert(e.key))
                    .collect();
                read();
                read();
                let mut ends: Vec<String> = edges.iter().flat_map(|e| [e.src.clone(), e.tgt.clone()]).collect();
                ends.sort();
                ends.dedup();
                let missing: Vec<String> = ends
                    .iter()
                    .filter(|n| !memo.degrees.contains_key(*n))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    let found = memo.timed("degrees", || store.degrees(&missing))?;
                    memo.degrees.extend(found);
                    read();
                }
                let mut ranked: Vec<_> = edges
                    .iter()
                    .map(|e| (memo.degrees[&e.src] + memo.degrees[&e.tgt], e))
                    .collect();
                ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.weight.total_cmp(&a.1.weight)));
                let mut budget = 8000 * 4; // max_relation_tokens, at ~4 bytes a token
                let (mut rest, mut batch) = (&ranked[..], RELATION_BATCH);
                'batches: while !rest.is_empty() {
                    let (now, later) = rest.split_at(batch.min(rest.len()));
                    (rest, batch) = (later, batch * 2);
                    let keys: Vec<u64> = now.iter().map(|(_, e)| e.key).collect();
                    read();
                    for r in memo.timed("relations_by_keys", || store.relations_by_keys(&keys))? {
                        budget -= (r.description.len() + r.keywords.len() + r.src.len() + r.tgt.len()) as i64;
                        relations.push(r);
                        if budget < 0 {
                            break 'batches;
                        }
                    }
                }
            }
            if matches!(mode, Mode::Global | Mode::Hybrid | Mode::Mix) {
                let found = memo.timed("relations_by_keys", || store.relations_by_keys(&hits.relations))?;
                let mut names: Vec<String> = Vec::new();
                for r in &found {
                    for n in [&r.src, &r.tgt] {
                        if !names.contains(n) {
                            names.push(n.clone());
                        }
                    }
                }
                entities.extend(memo.timed("entities_by_names", || store.entities_by_names(&names))?);
                relations.extend(found);
                read();
                read();
            }
            if matches!(mode, Mode::Naive | Mode::Mix) {
                memo.timed("chunks_by_keys", || store.chunks_by_keys(&hits.chunks))?;
                read();
            }
            if mode == Mode::Naive {
                return Ok(n);
            }
            let mut entity_chunks: Vec<String> = Vec::new();
            for e in &entities {
                for c in &e.source_ids {
                    if !entity_chunks.contains(c) {
                        entity_chunks.push(c.clone());
                    }
                }
            }
            let relation_chunks: Vec<String> = relations
                .iter()
                .flat_map(|r| r.source_ids.iter().cloned())
                .filter(|c| !entity_chunks.contains(c))
                .collect::<Vec<_>>();
            // The vector pick reads the vectors it has not cached yet.
            let wanted: Vec<String> = entity_chunks
                .iter()
                .chain(&relation_chunks)
                .filter(|c| !memo.vectors.contains(*c))
                .cloned()
                .collect();
            if !wanted.is_empty() {
                let found = memo.timed("chunk_vectors_by_ids", || store.chunk_vectors_by_ids(&wanted))?;
                memo.vectors.extend(found.into_iter().map(|(id, _)| id));
                read();
            }
            memo.timed("chunks_by_ids", || store.chunks_by_ids(&entity_chunks, 20))?;
            memo.timed("chunks_by_ids", || store.chunks_by_ids(&relation_chunks, 20))?;
            read();
            read();
            Ok(n)
        })
        .unwrap();
    store.entity("answer cache lookup").unwrap();
    // A snapshot is BEGIN and COMMIT besides its reads.
    statements + snapshot + if store.is_postgres() { 2 } else { 0 }
}

/// The KB's rows copied from kb.db into the PostgreSQL tables, keys and all.
fn copy_rows(db: &Path, client: &mut postgres::Client, tenant: Uuid, kb: Uuid) {
    let tables: [(&str, &str); 7] = [
        (
            "documents",
            "doc_id, file_path, content, content_hash, content_length, status, error, chunks_count, created_at, updated_at, pages",
        ),
        (
            "chunks",
            "chunk_key, chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding, page_first, page_last",
        ),
        (
            "entities",
            "entity_key, name, entity_id, entity_type, description, source_ids, all_source_ids, file_paths, truncate, created_at, embedding",
        ),
        (
            "relations",
            "relation_key, src, tgt, relation_id, keywords, description, weight, source_ids, all_source_ids, file_paths, truncate, created_at, embedding",
        ),
        ("doc_entities", "doc_id, name"),
        ("doc_relations", "doc_id, src, tgt"),
        ("meta", "key, value"),
    ];
    let sqlite = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut tx = client.transaction().unwrap();
    for (table, columns) in tables {
        let names: Vec<&str> = columns.split(", ").collect();
        let marks: Vec<String> = (3..names.len() + 3).map(|i| format!("${i}")).collect();
        let insert = tx
            .prepare(&format!(
                "INSERT INTO kb_{table} (tenant_id, kb_id, {columns}) VALUES ($1, $2, {})",
                marks.join(", ")
            ))
            .unwrap();
        let mut select = sqlite.prepare(&format!("SELECT {columns} FROM {table}")).unwrap();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            use rusqlite::types::Value;
            let values: Vec<Box<dyn postgres::types::ToSql + Sync>> = (0..names.len())
                .map(|i| -> Box<dyn postgres::types::ToSql + Sync> {
                    match row.get::<_, Value>(i).unwrap() {
                        Value::Integer(n) => Box::new(n),
                        Value::Real(x) => Box::new(x),
                        Value::Text(s) => Box::new(s),
                        Value::Blob(b) => Box::new(b),
                        Value::Null if names[i].starts_with("page_") => Box::new(None::<i64>),
                        Value::Null => Box::new(None::<String>),
                    }
                })
                .collect();
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&tenant, &kb];
            params.extend(values.iter().map(|v| v.as_ref()));
            tx.execute(&insert, &params).unwrap();
        }
    }
    for (table, key) in [
        ("kb_chunks", "chunk_key"),
        ("kb_entities", "entity_key"),
        ("kb_relations", "relation_key"),
    ] {
        tx.execute(
            &format!("SELECT setval(pg_get_serial_sequence('{table}', '{key}'), max({key})) FROM {table}"),
            &[],
        )
        .unwrap();
    }
    tx.batch_execute("ANALYZE").unwrap();
    tx.commit().unwrap();
}

fn find_kb_db(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_kb_db(&path) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == "kb.db") {
            return Some(path);
        }
    }
    None
}

/// A small deterministic generator (the seeded questions).
struct Rng(u64);

impl Rng {
    fn pick(&mut self, from: &[u64], n: usize) -> Vec<u64> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                from[(self.0 % from.len() as u64) as usize]
            })
            .collect()
    }
}

fn keys(db: &Path, sql: &str) -> Vec<u64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|k| k.unwrap() as u64)
        .collect()
}

fn main() {
    let mut mb = 2.0f64;
    let mut runs = 200usize;
    let mut keep: Option<PathBuf> = None;
    let mut on_runtime = true;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mb" => mb = it.next().and_then(|v| v.parse().ok()).expect("--mb N"),
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--keep" => keep = it.next().map(Into::into),
            "--no-runtime" => on_runtime = false,
            _ => {} // cargo bench passes `--bench`
        }
    }
    let Some(url) = std::env::var("LRT_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("LRT_TEST_DATABASE_URL"))
        .ok()
    else {
        println!("kb_reads: set LRT_BENCH_DATABASE_URL to a PostgreSQL server (see .ci/steps/10-postgres.sh)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let dir = root.join("query-local");
    if !dir.join("ingested").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let corpus_dir = root.join("corpus");
        let (docs, bytes) = corpus::write_corpus(&corpus_dir, (mb * 1024.0 * 1024.0) as usize, SEED);
        println!("corpus: {docs} generated documents, {:.2} MB", bytes as f64 / 1048576.0);
        process::lrt(&dir, &[], &["init", "--user", "root", "--multi-tenant", "--json"]);
        process::lrt(&dir, &[], &["tenant", "create", "bench", "--json"]);
        process::lrt(&dir, &[], &["kb", "create", "-t", "bench", "kb", "--json"]);
        let corpus = corpus_dir.to_str().unwrap();
        let (wall, _) = process::lrt(&dir, &[], &["ingest", "-t", "bench", "--kb", "kb", corpus, "--json"]);
        println!("ingest into SQLite (local provider): {wall:.2} s");
        std::fs::write(dir.join("ingested"), "").unwrap();
    }
    let db = find_kb_db(&dir.join("data")).expect("the ingested kb.db");
    let sqlite = KbStore::open_read_only(&KbLocation::sqlite(db.parent().unwrap()))
        .unwrap()
        .unwrap();

    // The same rows in a schema of their own.
    let schema = format!("lrt_bench_{}", Uuid::new_v4().simple());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    let mut config: postgres::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={schema}"));
    let settings = PgSettings::new(config.clone(), 4);
    let pg_dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::Postgres(Box::new(
        PgCatalog::open(&settings, Layout::new(pg_dir.path().join("data"))).unwrap(),
    ));
    let (tenant, kb) = (Uuid::new_v4(), Uuid::new_v4());
    let t = Instant::now();
    copy_rows(&db, &mut config.connect(postgres::NoTls).unwrap(), tenant, kb);
    println!("rows copied into PostgreSQL: {:.1} s", t.elapsed().as_secs_f64());
    let postgres = KbStore::open(&catalog.kb_location(tenant, kb, pg_dir.path().join("kb"))).unwrap();

    let entity_keys = keys(&db, "SELECT entity_key FROM entities");
    let relation_keys = keys(&db, "SELECT relation_key FROM relations");
    let chunk_keys = keys(&db, "SELECT chunk_key FROM chunks");
    println!(
        "KB: {} chunks, {} entities, {} relations",
        chunk_keys.len(),
        entity_keys.len(),
        relation_keys.len()
    );
    let mut rng = Rng(SEED);
    let questions: Vec<Hits> = (0..QUESTIONS)
        .map(|_| Hits {
            entities: rng.pick(&entity_keys, 40),
            relations: rng.pick(&relation_keys, 40),
            chunks: rng.pick(&chunk_keys, 20),
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // What one `off_runtime` hop (a scoped thread per PostgreSQL call made on a runtime
    // thread) costs on this machine now.
    let mut hops: Vec<f64> = (0..1000)
        .map(|_| {
            runtime.block_on(async {
                let start = Instant::now();
                std::thread::scope(|s| s.spawn(|| ()).join()).unwrap();
                start.elapsed().as_secs_f64()
            })
        })
        .collect();
    hops.sort_by(f64::total_cmp);
    println!(
        "one thread hop: p50 {:.1} µs, p95 {:.1} µs",
        percentile(&hops, 50.0) * 1e6,
        percentile(&hops, 95.0) * 1e6
    );
    // And one round trip to the server (the floor of any statement).
    let mut client = config.connect(postgres::NoTls).unwrap();
    let mut trips: Vec<f64> = (0..500)
        .map(|_| {
            let start = Instant::now();
            client.simple_query("SELECT 1").unwrap();
            start.elapsed().as_secs_f64()
        })
        .collect();
    trips.sort_by(f64::total_cmp);
    println!(
        "one round trip (SELECT 1): p50 {:.1} µs, p95 {:.1} µs",
        percentile(&trips, 50.0) * 1e6,
        percentile(&trips, 95.0) * 1e6
    );
    let stores = [("sqlite", &sqlite), ("postgres", &postgres)];
    println!(
        "\n{runs} warm queries per mode and backend (interleaved), {}:",
        if on_runtime {
            "on a tokio runtime thread"
        } else {
            "on a plain thread"
        }
    );
    for mode in [Mode::Naive, Mode::Local, Mode::Global, Mode::Hybrid, Mode::Mix] {
        let mut memos = [Memo::default(), Memo::default()];
        let mut samples = [Vec::new(), Vec::new()];
        let mut statements = [0usize; 2];
        // A first pass warms each engine's memos, as the cached queries of benches/query.rs are.
        for i in 0..QUESTIONS + runs {
            for (b, (_, store)) in stores.iter().enumerate() {
                let hits = &questions[i % QUESTIONS];
                let start = Instant::now();
                let n = if on_runtime {
                    runtime.block_on(async { query(store, mode, hits, &mut memos[b]) })
                } else {
                    query(store, mode, hits, &mut memos[b])
                };
                if i >= QUESTIONS {
                    samples[b].push(start.elapsed().as_secs_f64());
                    statements[b] += n;
                }
            }
        }
        for (b, (name, _)) in stores.iter().enumerate() {
            let s = &mut samples[b];
            s.sort_by(f64::total_cmp);
            println!(
                "{:>7} {name:>8}: p50 {:>6.2} ms  p95 {:>6.2} ms  ({:.1} statements a query)",
                format!("{mode:?}").to_lowercase(),
                percentile(s, 50.0) * 1e3,
                percentile(s, 95.0) * 1e3,
                statements[b] as f64 / runs as f64
            );
            let spent = memos[b].spent.borrow();
            let mut calls: Vec<_> = spent.iter().collect();
            calls.sort_by(|a, b| a.0.cmp(b.0));
            let calls: Vec<String> = calls
                .iter()
                .map(|(what, (secs, n))| format!("{what} {:.2} ms", secs * 1e3 / *n as f64))
                .collect();
            println!("{:>18}  per call: {}", "", calls.join(", "));
        }
    }
    drop(postgres);
    drop(catalog);
    if std::env::var_os("KB_READS_KEEP_SCHEMA").is_none() {
        let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    } else {
        println!("kept schema {schema}");
    }
}
