//! One knowledge base's ingest engine: chunk → extract (with the LLM cache) → merge →
//! embed → commit, one document at a time into `kb.db`, then the derived vector indexes.
//!
//! Concurrency: up to `max_parallel_insert` documents are chunked and extracted at once,
//! sharing one bound on concurrent LLM calls and one on embedding calls. Merges are
//! serialised (one document at a time) in the order the documents were queued
//! ([`turns`](crate::rag::turns)), so every merge sees the graph as the previous
//! document left it, nothing is lost between concurrent documents, and the graph does not
//! depend on which extraction finished first. A merged document's
//! rows are then embedded and committed while the next document merges against them in the
//! [`staging`](crate::rag::staging) area; commits keep the merge order.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::llm::{ChatRequest, LlmError, Message, ModelProvider, Provider, SummaryKind, Task};
use crate::rag::extract::{self, ExtractedEntity, ExtractedRelation};
use crate::rag::llm_cache::LlmCache;
use crate::rag::merge::{self, EntityState, MergeLimits, Merged, NewEntity, NewRelation, RelationState};
use crate::rag::staging::{StagedRows, Staging, Ticket};
use crate::rag::turns::{Turn, Turns};
use crate::rag::{chunk, ids, normalize, pages, prompts, tokenizer::Tokenizer};
use crate::store::KbLocation;
use crate::store::kb::{
    CachedAnswer, ChunkRow, DocStatus, DocumentCommit, EmbeddingPin, ExtractionRow, KbStore, VectorKind,
};
use crate::store::vectors::{Fingerprint, VectorIndex};

// Document deletion lives in its own file but is a child of this module, so it can use the
// engine's private parts (store, counters, vector buffer, summaries).
#[path = "delete.rs"]
mod delete;
pub use delete::{
    DeleteOptions, DeleteReport, DeletedDocument, Triage, plan_deletion, rebuild_entity, rebuild_relation, triage,
};

// Curation (graph edits by hand) likewise.
#[path = "curate.rs"]
mod curate;
pub use curate::{
    Alias, EditReport, EntityPatch, GraphOp, MANUAL_FILE_PATH, RelationPatch, entity_with_override, manual_name,
    merge_entity_rows, merge_relation_rows, relation_with_override,
};

/// How one KB ingests, from its effective configuration and the model settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub chunk_size: usize,
    pub chunk_overlap: usize,
    pub split_by: Option<String>,
    pub split_only: bool,
    /// Extra extraction passes (upstream: at most one).
    pub max_gleaning: usize,
    pub language: String,
    pub enable_llm_cache: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub max_parallel_insert: usize,
    pub llm_max_async: usize,
    pub embed_max_async: usize,
    pub embed_batch: usize,
    pub limits: MergeLimits,
    pub max_entities: u64,
    pub max_relations: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            chunk_size: 1200,
            chunk_overlap: 100,
            split_by: None,
            split_only: false,
            max_gleaning: 1,
            language: "English".into(),
            enable_llm_cache: true,
            temperature: None,
            max_tokens: None,
            max_parallel_insert: crate::config::DEFAULT_MAX_PARALLEL_INSERT,
            llm_max_async: 4,
            embed_max_async: 8,
            embed_batch: 10,
            limits: MergeLimits::default(),
            max_entities: u64::MAX,
            max_relations: u64::MAX,
        }
    }
}

/// One document to ingest.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub file_path: String,
    pub content: String,
    /// The pages `content` came from (byte ranges of it), for page numbers in references.
    pub pages: Vec<crate::extract::Page>,
}

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentOutcome {
    pub doc_id: String,
    pub file_path: String,
    /// `processed`, `replaced` (processed, and older versions at its path were deleted),
    /// `duplicate` or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of error `error` is, for the exit code.
    #[serde(skip)]
    pub error_kind: Option<crate::error::ErrorKind>,
    pub chunks: usize,
    pub entities: usize,
    pub relations: usize,
    /// With `--replace`: the documents at the same path this one replaced (deleted before it
    /// was processed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced_doc_ids: Vec<String>,
}

/// The summary of an ingest run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Documents processed that replaced nothing.
    pub added: usize,
    /// Documents processed that replaced older versions at their path (`--replace`).
    pub replaced: usize,
    pub duplicates: usize,
    pub failed: usize,
    pub chunks: usize,
    pub entities: usize,
    pub relations: usize,
    pub llm_calls: u64,
    pub cache_hits: u64,
    pub embedding_calls: u64,
    pub elapsed_ms: u64,
    pub documents: Vec<DocumentOutcome>,
}

#[derive(Default)]
struct Counters {
    llm_calls: AtomicU64,
    cache_hits: AtomicU64,
    embedding_calls: AtomicU64,
    documents_queued: AtomicU64,
    documents_done: AtomicU64,
    chunks_done: AtomicU64,
}

/// A snapshot of a running ingest, for progress displays: they poll [`Engine::progress`]
/// rather than the engine calling back into the UI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Documents to process in this run (new, pending and, with retry, failed ones).
    pub documents_queued: u64,
    /// Documents finished, processed or failed.
    pub documents_done: u64,
    /// Chunks of processed documents.
    pub chunks: u64,
    pub llm_calls: u64,
    pub cache_hits: u64,
}

/// An open knowledge base, ready to ingest.
pub struct Engine {
    /// Declared (so dropped) before `store`: the last connection to close checkpoints kb.db
    /// and removes its WAL files, which a read-only one cannot.
    llm_cache: LlmCache,
    store: Mutex<KbStore>,
    /// Set, under the store's lock, when an interrupted run is settled: a document task the
    /// dropped run could not stop mid-way (it runs on another thread until its next await)
    /// then neither starts nor commits a document, so the settled KB stays as settled.
    settled: std::sync::atomic::AtomicBool,
    indexes: Mutex<Vec<VectorIndex>>,
    /// Vectors committed to kb.db but not yet added to `indexes`, per kind (in
    /// `VectorKind::ALL` order) and coalesced by key: across a run the same entities and
    /// relations are re-embedded by many documents, and only their last vector matters.
    /// Losing this buffer in a crash is harmless: the saved indexes then no longer match kb.db's
    /// generation and are rebuilt from it.
    pending_vectors: Mutex<[HashMap<u64, Vec<f32>>; 3]>,
    /// Token counts of description fragments by hash: merging re-reads an entity's fragments
    /// every time a document mentions it, and tokenizing them again dominated merge time.
    token_counts: Mutex<HashMap<u64, usize>>,
    llm: Provider,
    embedder: Provider,
    llm_slots: Semaphore,
    /// Extraction calls queue here for `llm_slots`, so summaries can go first.
    extraction_queue: tokio::sync::Mutex<()>,
    embed_slots: Semaphore,
    /// Held while a document merges (and by a deletion, from start to end).
    merge_lock: tokio::sync::Mutex<()>,
    /// Merged documents waiting for their commit, readable by the next merge.
    staging: Staging,
    options: EngineOptions,
    counters: Counters,
}

/// The extraction answers of one chunk.
struct ChunkExtraction {
    row: ExtractionRow,
    entities: Vec<ExtractedEntity>,
    relations: Vec<ExtractedRelation>,
}

fn pin_of(embedder: &Provider) -> EmbeddingPin {
    let id = embedder.identity();
    EmbeddingPin {
        binding: id.binding,
        model: id.model,
        dim: embedder.dim(),
    }
}

/// Buffered vectors beyond which a run adds them to the indexes before going on, which bounds
/// the buffer's memory (32 MiB at 1024 dimensions). Larger coalesces more repeated keys: on the
/// 2 MB benchmark, 1024 spent 26% of the CPU in index adds and 4096 took 5.5 s against 4.7 s
/// for 8192, whose peak RSS is ~120 MB.
const FLUSH_VECTORS_AT: usize = 8192;

/// Entries of the token-count memo before it starts over (16 bytes each).
const TOKEN_COUNT_CACHE: usize = 1 << 20;

fn kind_slot(kind: VectorKind) -> usize {
    VectorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Where a KB keeps the index of one vector collection.
pub fn index_path(dir: &Path, kind: VectorKind) -> std::path::PathBuf {
    crate::store::vectors::index_path(dir, kind.name())
}

/// Adds `doc` to the KB's queue as a `pending` document (its id is the hash of its sanitized
/// text, as upstream's), or finds the document that already has this content. Both `ingest`
/// and the server's uploads queue documents this way, so an upload is exactly what an ingest
/// would have queued, and a crash after it loses nothing (the next run processes it).
pub fn enqueue(store: &mut KbStore, doc: &NewDocument) -> Result<(String, Option<crate::store::kb::DocumentRow>)> {
    let content = normalize::sanitize_text_for_encoding(&doc.content);
    let hash = ids::compute_mdhash_id(&content, "");
    let doc_id = format!("doc-{hash}");
    let existing = store.enqueue(&doc_id, &doc.file_path, &content, &hash)?;
    if existing.is_none() && !doc.pages.is_empty() {
        store.set_document_pages(&doc_id, &pages::sanitized_pages(&doc.content, &doc.pages, &content))?;
    }
    Ok((doc_id, existing))
}

impl Engine {
    /// Opens the KB `at` names: its database, and its vector indexes (rebuilt from the database
    /// when missing or stale). Refuses an embedding model other than the one the KB was
    /// built with.
    pub fn open(at: &KbLocation, llm: Provider, embedder: Provider, options: EngineOptions) -> Result<Engine> {
        Self::open_with(at, llm, embedder, options, true)
    }

    /// Opens the KB without checking the pinned embedding model, to re-embed it.
    pub fn open_for_reembed(
        at: &KbLocation,
        llm: Provider,
        embedder: Provider,
        options: EngineOptions,
    ) -> Result<Engine> {
        Self::open_with(at, llm, embedder, options, false)
    }

    fn open_with(
        at: &KbLocation,
        llm: Provider,
        embedder: Provider,
        options: EngineOptions,
        check: bool,
    ) -> Result<Engine> {
        let mut store = KbStore::open(at)?;
        if at.is_sqlite() {
            // Room for kb.db's last writes on a full disk; PostgreSQL's disk is not ours to keep.
            crate::store::reserve::ensure(&at.dir);
        }
        let pin = pin_of(&embedder);
        if check {
            store.check_embedding(&pin)?;
        }
        let indexed_dim = if check {
            pin.dim
        } else {
            store.embedding_pin()?.map(|p| p.dim).unwrap_or(pin.dim)
        };
        let indexes = open_indexes(&store, indexed_dim)?;
        Ok(Engine {
            store: Mutex::new(store),
            indexes: Mutex::new(indexes),
            pending_vectors: Mutex::default(),
            token_counts: Mutex::default(),
            llm_cache: LlmCache::open(at)?,
            llm_slots: Semaphore::new(options.llm_max_async.max(1)),
            extraction_queue: tokio::sync::Mutex::new(()),
            embed_slots: Semaphore::new(options.embed_max_async.max(1)),
            llm,
            embedder,
            merge_lock: tokio::sync::Mutex::new(()),
            staging: Staging::default(),
            options,
            counters: Counters::default(),
            settled: Default::default(),
        })
    }

    fn store(&self) -> std::sync::MutexGuard<'_, KbStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the current ingest run is.
    pub fn progress(&self) -> Progress {
        let c = &self.counters;
        Progress {
            documents_queued: c.documents_queued.load(Ordering::Relaxed),
            documents_done: c.documents_done.load(Ordering::Relaxed),
            chunks: c.chunks_done.load(Ordering::Relaxed),
            llm_calls: c.llm_calls.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
        }
    }

    /// Statistics for the catalog.
    pub fn stats(&self) -> Result<crate::store::kb::StoreStats> {
        self.store().stats()
    }

    /// The model tokens spent since the last take, when the providers are metered
    /// ([`Provider::metered`]); for the catalog's token accounting.
    pub fn take_tokens(&self) -> crate::llm::usage::TokenCounts {
        self.llm.take_tokens() + self.embedder.take_tokens()
    }

    /// Adds the documents and processes every document that is pending (including ones an
    /// interrupted run left behind) and, with `retry_failed`, every failed one.
    pub async fn ingest(self: &Arc<Self>, docs: Vec<NewDocument>, retry_failed: bool) -> Result<IngestReport> {
        self.ingest_replacing(docs, retry_failed, false).await
    }

    /// [`ingest`](Self::ingest); with `replace`, a new document whose path holds processed
    /// documents with other content first deletes them (one batched delete, before anything is
    /// processed), so the path ends up with the new content only.
    pub async fn ingest_replacing(
        self: &Arc<Self>,
        docs: Vec<NewDocument>,
        retry_failed: bool,
        replace: bool,
    ) -> Result<IngestReport> {
        let started = Instant::now();
        let pages_before = self.store().page_count()?;
        let mut report = IngestReport::default();
        let mut seen = std::collections::HashSet::new();
        // New documents (id, path) that may replace older versions.
        let mut fresh: Vec<(String, String)> = Vec::new();
        {
            let mut store = self.store();
            for doc in docs {
                let (doc_id, existing) = enqueue(&mut store, &doc)?;
                let first_time = seen.insert(doc_id.clone());
                // Same content twice in this run, or already in the KB: a duplicate, skipped.
                let duplicate = match &existing {
                    _ if !first_time => true,
                    Some(row) => row.status == DocStatus::Processed,
                    None => false,
                };
                if !duplicate && replace {
                    fresh.push((doc_id.clone(), doc.file_path.clone()));
                }
                if duplicate {
                    report.duplicates += 1;
                    report.documents.push(DocumentOutcome {
                        doc_id,
                        file_path: doc.file_path,
                        outcome: "duplicate",
                        error: None,
                        error_kind: None,
                        chunks: existing.map(|r| r.chunks_count as usize).unwrap_or(0),
                        entities: 0,
                        relations: 0,
                        replaced_doc_ids: Vec::new(),
                    });
                }
            }
        }
        let mut replaces: HashMap<String, Vec<String>> = HashMap::new();
        let mut old_ids: Vec<String> = Vec::new();
        for (doc_id, path) in fresh {
            let olds: Vec<String> = self
                .store()
                .processed_documents_at(&path)?
                .into_iter()
                .map(|d| d.doc_id)
                .filter(|old| *old != doc_id)
                .collect();
            for old in &olds {
                if !old_ids.contains(old) {
                    old_ids.push(old.clone());
                }
            }
            if !olds.is_empty() {
                replaces.insert(doc_id, olds);
            }
        }
        if !old_ids.is_empty() {
            self.delete_documents(&old_ids, DeleteOptions::default()).await?;
        }
        let mut statuses = vec![DocStatus::Pending, DocStatus::Processing];
        if retry_failed {
            statuses.push(DocStatus::Failed);
        }
        let todo = {
            let store = self.store();
            let stats = store.stats()?;
            self.staging.set_graph_size(stats.entities, stats.relations);
            store.documents_with_status(&statuses)?
        };
        self.counters
            .documents_queued
            .store(todo.len() as u64, Ordering::Relaxed);
        let parallel = self.options.max_parallel_insert.max(1);
        let doc_slots = Arc::new(Semaphore::new(parallel));
        // Documents start (take a slot) and merge in queue order.
        let (starts, merges) = (Arc::new(Turns::default()), Arc::new(Turns::default()));
        let mut tasks = tokio::task::JoinSet::new();
        // Documents not yet reported: what is left when a storage error stops the run.
        let mut unfinished: HashMap<String, String> =
            todo.iter().map(|d| (d.doc_id.clone(), d.file_path.clone())).collect();
        for (index, doc) in todo.into_iter().enumerate() {
            let engine = Arc::clone(self);
            let slots = Arc::clone(&doc_slots);
            let (starts, merges) = (Arc::clone(&starts), Arc::clone(&merges));
            tasks.spawn(async move {
                let (mut start, merge) = (starts.turn(index), merges.turn(index));
                merges.within(index, 2 * parallel).await;
                start.wait().await;
                let slot = slots.acquire_owned().await.ok();
                start.finish();
                let result = engine.process(&doc.doc_id, &doc.file_path, slot, merge).await;
                (doc.doc_id, doc.file_path, result)
            });
        }
        let mut storage_error = None;
        // The KB's ingest lock was lost: this run may write nothing more (another process may
        // be processing these documents now), so it stops and leaves every status as it is.
        let mut lock_lost = None;
        // Failed documents whose status could not be written (a full disk): retried at the end.
        let mut unrecorded: Vec<(String, String)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (doc_id, file_path, result) = match joined {
                Ok(done) => done,
                // Stopped below after a storage error or a lost lock: reported with the
                // unfinished ones, or not at all.
                Err(e) if e.is_cancelled() && (storage_error.is_some() || lock_lost.is_some()) => continue,
                Err(e) => return Err(Error::Internal(format!("ingest task failed: {e}"))),
            };
            unfinished.remove(&doc_id);
            if lock_lost.is_some() {
                continue;
            }
            let result = match result {
                Err(e @ Error::LockLost(_)) => {
                    lock_lost = Some(e);
                    tasks.abort_all();
                    continue;
                }
                other => other,
            };
            match result {
                Ok(mut outcome) => {
                    if let Some(olds) = replaces.remove(&outcome.doc_id) {
                        outcome.outcome = "replaced";
                        outcome.replaced_doc_ids = olds;
                        report.replaced += 1;
                    } else {
                        report.added += 1;
                    }
                    self.counters.documents_done.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .chunks_done
                        .fetch_add(outcome.chunks as u64, Ordering::Relaxed);
                    report.chunks += outcome.chunks;
                    report.entities += outcome.entities;
                    report.relations += outcome.relations;
                    report.documents.push(outcome);
                }
                Err(err) => {
                    let (message, kind) = (err.to_string(), err.kind());
                    match self.store().set_status(&doc_id, DocStatus::Failed, Some(&message)) {
                        Err(e @ Error::LockLost(_)) => {
                            lock_lost = Some(e);
                            tasks.abort_all();
                            continue;
                        }
                        Err(e) => {
                            storage_error.get_or_insert(e);
                            unrecorded.push((doc_id.clone(), message.clone()));
                        }
                        Ok(()) => {}
                    }
                    if matches!(err, Error::Storage { .. }) {
                        storage_error.get_or_insert(err);
                    }
                    if storage_error.is_some() {
                        // A full or failing disk fails every document after it too: stop rather
                        // than extract and embed each one only to lose it at its commit.
                        tasks.abort_all();
                    }
                    report.failed += 1;
                    self.counters.documents_done.fetch_add(1, Ordering::Relaxed);
                    report.documents.push(DocumentOutcome {
                        replaced_doc_ids: replaces.remove(&doc_id).unwrap_or_default(),
                        doc_id,
                        file_path,
                        outcome: "failed",
                        error: Some(message),
                        error_kind: Some(kind),
                        chunks: 0,
                        entities: 0,
                        relations: 0,
                    });
                }
            }
        }
        if let Some(err) = lock_lost {
            // No statuses, cached answers or index files: the lock's new holder owns the KB.
            return Err(err);
        }
        if let Some(err) = storage_error {
            return Err(self.stop_on_storage_error(err, unfinished, unrecorded, &report));
        }
        self.llm_cache.write_to(&self.store())?;
        self.save_indexes()?;
        self.store().compact_after_growth(pages_before)?;
        report.llm_calls = self.counters.llm_calls.load(Ordering::Relaxed);
        report.cache_hits = self.counters.cache_hits.load(Ordering::Relaxed);
        report.embedding_calls = self.counters.embedding_calls.load(Ordering::Relaxed);
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Leaves the KB clean after an interrupted run (Ctrl-C, a server shutdown): the documents
    /// it had started go back to `pending`, and the vector indexes are saved with every
    /// committed vector, so `doctor` finds nothing stuck or stale and the next run resumes.
    /// A document task of the dropped run still running on another thread neither starts nor
    /// commits a document after this (it would leave the indexes and statistics behind).
    pub fn settle_interrupted(&self) -> Result<()> {
        {
            let mut store = self.store();
            self.settled.store(true, Ordering::SeqCst);
            store.requeue_processing()?;
        }
        self.save_indexes()
    }

    /// The error of a document task that finds its run settled ([`Engine::settle_interrupted`]).
    fn check_not_settled(&self) -> Result<()> {
        if self.settled.load(Ordering::SeqCst) {
            return Err(Error::Interrupted("the ingest was interrupted".into()));
        }
        Ok(())
    }

    /// Ends a run stopped by a storage error (a full disk, say): the documents it did not get
    /// to are marked failed with the reason (not left pending), what can still be written is
    /// written, and the error says what the run did and what to do.
    fn stop_on_storage_error(
        &self,
        err: Error,
        unfinished: HashMap<String, String>,
        mut failures: Vec<(String, String)>,
        report: &IngestReport,
    ) -> Error {
        let reason = format!("not processed: the run stopped on a storage error ({err})");
        let not_processed = unfinished.len();
        failures.extend(unfinished.into_keys().map(|id| (id, reason.clone())));
        let mut store = self.store();
        // The reserve's space lets the statuses land on a disk that is otherwise full.
        crate::store::reserve::release(store.dir());
        if store.set_failed_many(&failures).is_err() {
            // Too much for the space left in one write: as many as fit, one by one.
            for (id, message) in &failures {
                if let Err(e) = store.set_status(id, DocStatus::Failed, Some(message)) {
                    tracing::warn!(target: "lrt::ingest", "cannot mark document {id} failed: {e}");
                }
            }
        }
        let _ = self.llm_cache.write_to(&store);
        drop(store);
        let _ = self.save_indexes();
        let full = err.to_string().contains("disk is full") || err.to_string().contains("No space left");
        Error::storage(
            format!(
                "{}ingest stopped: {} document(s) done, {} failed, {} not processed (marked failed); \
                 {} then run `lrt ingest --retry-failed`",
                if full { "the disk is full: " } else { "" },
                report.added + report.replaced,
                report.failed,
                not_processed,
                if full {
                    "free some space,"
                } else {
                    "fix the storage problem,"
                }
            ),
            err,
        )
    }

    /// Rebuilds every vector index from the embeddings in kb.db; with `reembed`, first
    /// embeds every chunk, entity and relation again with the configured model and pins it.
    /// Returns the number of vectors per collection.
    pub async fn reindex(&self, reembed: bool) -> Result<Vec<(&'static str, usize)>> {
        let dim = self.embedder.dim();
        if reembed {
            let mut all = Vec::new();
            for kind in VectorKind::ALL {
                let rows = self.store().embedding_texts(kind)?;
                let texts: Vec<String> = rows.iter().map(|(_, t)| t.clone()).collect();
                let vectors = self.embed(&texts).await?;
                all.extend(rows.into_iter().zip(vectors).map(|((key, _), v)| (kind, key, v)));
            }
            self.store().replace_embeddings(&all, &pin_of(&self.embedder))?;
        }
        let store = self.store();
        let mut fresh = Vec::new();
        let mut counts = Vec::new();
        for kind in VectorKind::ALL {
            let rows = store.vectors(kind)?;
            counts.push((kind.name(), rows.len()));
            let path = index_path(store.dir(), kind);
            // A fresh index of the (possibly new) dimension, built from the database.
            let _ = std::fs::remove_file(crate::store::vectors::meta_path(&path));
            let expected = Fingerprint {
                dim,
                count: rows.len(),
                generation: store.generation()?,
            };
            let (index, _) = VectorIndex::open(&path, dim, &expected, || Ok(rows))?;
            fresh.push(index);
        }
        drop(store);
        // The fresh indexes hold everything kb.db has, including any buffered vectors.
        *self.pending_vectors.lock().unwrap_or_else(|p| p.into_inner()) = Default::default();
        *self.indexes.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.save_indexes()?;
        Ok(counts)
    }

    /// `Tokenizer::count`, memoized.
    fn count_tokens(&self, text: &str) -> usize {
        // XXH3 rather than SipHash: fragments are KB content, not attacker-chosen map keys, and
        // hashing each one on every merge was most of this memo's cost.
        let key = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
        if let Some(n) = self.token_counts.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return *n;
        }
        let n = Tokenizer::global().count(text);
        let mut counts = self.token_counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= TOKEN_COUNT_CACHE {
            counts.clear();
        }
        counts.insert(key, n);
        n
    }

    /// Adds the buffered vectors to the indexes.
    fn flush_vectors(&self) -> Result<()> {
        // Taken under the index lock, so concurrent flushes add their batches in commit order
        // and a key's newer vector is never overwritten by an older one.
        let indexes = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
        let pending = std::mem::take(&mut *self.pending_vectors.lock().unwrap_or_else(|p| p.into_inner()));
        for (index, rows) in indexes.iter().zip(pending) {
            index.upsert_many(&rows.into_iter().collect::<Vec<_>>())?;
        }
        Ok(())
    }

    /// Writes the vector indexes, with every buffered vector, at the database's current generation.
    pub fn save_indexes(&self) -> Result<()> {
        self.flush_vectors()?;
        let store = self.store();
        let generation = store.generation()?;
        let dim = self.embedder.dim();
        let indexes = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, index) in VectorKind::ALL.iter().zip(indexes.iter()) {
            let count = store.vector_count(*kind)?;
            index.save(&Fingerprint { dim, count, generation })?;
        }
        Ok(())
    }

    /// Chunks and extracts a document (holding `slot`, one of `max_parallel_insert`), then
    /// merges it at its `turn` in the run's queue order and commits it.
    async fn process(
        &self,
        doc_id: &str,
        file_path: &str,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
        mut turn: Turn,
    ) -> Result<DocumentOutcome> {
        let (content, doc_pages) = {
            let mut store = self.store();
            self.check_not_settled()?;
            store.set_status(doc_id, DocStatus::Processing, None)?;
            let content = store
                .document_content(doc_id)?
                .ok_or_else(|| Error::Internal(format!("document {doc_id} vanished")))?;
            (content, store.document_pages(doc_id)?)
        };
        let o = &self.options;
        let tokenizer = Tokenizer::global();
        let chunks: Vec<_> = chunk::chunk_by_token_size(
            tokenizer,
            &content,
            o.split_by.as_deref(),
            o.split_only,
            o.chunk_overlap,
            o.chunk_size,
        )?
        .into_iter()
        .filter(|c| !c.content.is_empty())
        .collect();
        let chunk_ids: Vec<String> = (0..chunks.len()).map(|i| format!("{doc_id}-chunk-{i:03}")).collect();
        let chunk_pages = pages::chunk_pages(
            &content,
            &chunks.iter().map(|c| c.content.as_str()).collect::<Vec<_>>(),
            &doc_pages,
        );

        let texts: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
        let (chunk_vectors, extractions) = tokio::join!(
            self.embed(&texts),
            join_all(
                chunks
                    .iter()
                    .zip(&chunk_ids)
                    .map(|(c, id)| self.extract_chunk(id, &c.content, file_path))
            )
        );
        let chunk_vectors = chunk_vectors?;
        let mut extractions = extractions.into_iter().collect::<Result<Vec<_>>>()?;
        stamp_document(&mut extractions);
        // The next document may extract while this one waits for its turn and merges.
        drop(slot);
        turn.wait().await;

        let mut commit = DocumentCommit {
            doc_id: doc_id.to_string(),
            file_path: file_path.to_string(),
            chunks: chunks
                .iter()
                .zip(&chunk_ids)
                .zip(chunk_vectors)
                .enumerate()
                .map(|(order, ((c, id), embedding))| ChunkRow {
                    chunk_id: id.clone(),
                    order,
                    // As upstream records it: the stripped text counted again just before
                    // embedding (`enforce_chunk_token_limit_before_embedding`), not the token
                    // window it was cut from (decoding and stripping can change the count).
                    tokens: tokenizer.count(&c.content),
                    content: c.content.clone(),
                    embedding,
                    pages: chunk_pages[order],
                })
                .collect(),
            extractions: extractions.iter().map(|x| x.row.clone()).collect(),
            entities: Vec::new(),
            relations: Vec::new(),
            created_at: 0,
        };
        // Merged again if a document whose staged rows the merge read fails to commit.
        let ticket = loop {
            let (plan, ticket) = self.merge(file_path, &extractions).await?;
            turn.finish();
            let entity_texts = plan
                .entities
                .iter()
                .zip(&plan.entity_embeds)
                .filter(|(_, embed)| **embed)
                .map(|(e, _)| merge::entity_embedding_text(&e.name, &e.description));
            let relation_texts = plan
                .relations
                .iter()
                .zip(&plan.relation_embeds)
                .filter(|(_, embed)| **embed)
                .map(|(r, _)| merge::relation_embedding_text(&r.keywords, &r.src, &r.tgt, &r.description));
            let embed_texts: Vec<String> = entity_texts.chain(relation_texts).collect();
            // On failure the dropped ticket withdraws the staged rows at its turn.
            let mut vectors = self.embed(&embed_texts).await?.into_iter();
            if ticket.turn().await.is_err() {
                continue;
            }
            // `embed` checked that there is one vector per text, in order.
            let mut vector_for = |embed: &bool| embed.then(|| vectors.next()).flatten();
            commit.entities = plan
                .entities
                .into_iter()
                .zip(&plan.entity_embeds)
                .map(|(e, embed)| (e, vector_for(embed)))
                .collect();
            commit.relations = plan
                .relations
                .into_iter()
                .zip(&plan.relation_embeds)
                .map(|(r, embed)| (r, vector_for(embed)))
                .collect();
            break ticket;
        };
        commit.created_at = jiff::Timestamp::now().as_second();
        let buffered = {
            // The ticket ends under the store, so a merge finds each row staged or in kb.db.
            let mut store = self.store();
            if let Err(e) = self.check_not_settled() {
                ticket.finish(false);
                return Err(e);
            }
            let buffered = store.commit_document(&commit).map(|changes| {
                let mut pending = self.pending_vectors.lock().unwrap_or_else(|p| p.into_inner());
                for (kind, key, vector) in changes.upserts {
                    pending[kind_slot(kind)].insert(key, vector);
                }
                pending.iter().map(HashMap::len).sum::<usize>()
            });
            ticket.finish(buffered.is_ok());
            // Answers kept back while the commit held the store. Not this document's failure
            // if they cannot be written: they stay kept back, and the end of the run, which
            // writes them again, reports the error.
            let _ = self.llm_cache.write_to(&store);
            buffered
        }?;
        // The next document may commit while these vectors are added.
        if buffered >= FLUSH_VECTORS_AT {
            self.flush_vectors()?;
        }
        Ok(DocumentOutcome {
            doc_id: doc_id.to_string(),
            file_path: file_path.to_string(),
            outcome: "processed",
            error: None,
            error_kind: None,
            chunks: commit.chunks.len(),
            entities: commit.entities.len(),
            relations: commit.relations.len(),
            replaced_doc_ids: Vec::new(),
        })
    }

    /// Embeds texts in batches, with bounded concurrency; checks every vector's size.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let batch = self.options.embed_batch.max(1);
        let calls = texts.chunks(batch).map(|part| async move {
            let _slot = self
                .embed_slots
                .acquire()
                .await
                .map_err(|_| Error::Internal("closed".into()))?;
            self.counters.embedding_calls.fetch_add(1, Ordering::Relaxed);
            let vectors = self.embedder.embed(part).await?;
            if vectors.len() != part.len() || vectors.iter().any(|v| v.len() != self.embedder.dim()) {
                return Err(Error::from(LlmError::BadResponse(format!(
                    "the embedding server returned {} vectors for {} texts (expected {} dimensions each)",
                    vectors.len(),
                    part.len(),
                    self.embedder.dim()
                ))));
            }
            Ok::<_, Error>(vectors)
        });
        Ok(join_all(calls)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    /// A place among the LLM's `max_async` concurrent calls. Summaries are asked for while a
    /// document holds the merge lock, which every other document waits on; they go ahead of
    /// extraction calls, of which at most one waits for a place at a time.
    async fn llm_slot(&self, urgent: bool) -> Result<tokio::sync::SemaphorePermit<'_>> {
        let _queue = match urgent {
            true => None,
            false => Some(self.extraction_queue.lock().await),
        };
        self.llm_slots
            .acquire()
            .await
            .map_err(|_| Error::Internal("closed".into()))
    }

    /// One LLM call through the cache. Returns the answer (think tags removed) and when it
    /// was made (the cache entry's time on a hit).
    async fn cached_chat(
        &self,
        cache_type: &'static str,
        chunk_id: Option<&str>,
        req: ChatRequest,
    ) -> Result<(String, i64, String)> {
        let identity = self.llm.identity();
        let identity_json = serde_json::json!({
            "binding": identity.binding, "host": identity.host, "model": identity.model, "role": "extract"
        });
        let prompt_text: Vec<&str> = req.messages.iter().rev().map(|m| m.content.as_str()).collect();
        let hash = ids::compute_args_hash(&[
            &prompt_text.join("\n"),
            "\n<response_format>\n",
            if req.json { "{\"type\":\"json_object\"}" } else { "" },
            "\n<llm_identity>\n",
            &sorted_json(&identity_json),
        ]);
        let key = format!("default:{cache_type}:{hash}");
        if self.options.enable_llm_cache
            && let Some((text, at)) = self.llm_cache.get(&key)?
        {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((text, at, key));
        }
        let answer = {
            let _slot = self.llm_slot(matches!(req.task, Task::Summarize { .. })).await?;
            self.counters.llm_calls.fetch_add(1, Ordering::Relaxed);
            self.llm.chat(&req).await?
        };
        let text = normalize::remove_think_tags(&answer.text);
        if cache_type == "extract" && !extraction_is_records(&text) {
            // Neither cached nor merged: a retry asks the model again.
            return Err(Error::Upstream(format!(
                "the model's extraction answer holds no entity or relation records and no {} marker \
                 (is LLM_MODEL a chat model that follows instructions?): {:?}",
                extract::COMPLETION_DELIMITER,
                text.chars().take(120).collect::<String>()
            )));
        }
        // Whole seconds, as upstream stamps its cache entries and records.
        let at = jiff::Timestamp::now().as_second();
        if self.options.enable_llm_cache && !answer.truncated {
            let answer = CachedAnswer {
                cache_type,
                chunk_id: chunk_id.map(str::to_string),
                response: text.clone(),
                at,
            };
            self.llm_cache.put(&self.store, &key, answer)?;
        }
        Ok((text, at, key))
    }

    async fn extract_chunk(&self, chunk_id: &str, text: &str, file_path: &str) -> Result<ChunkExtraction> {
        let system = prompts::extraction_system(&self.options.language, &prompts::DEFAULT_ENTITY_TYPES);
        let user = prompts::extraction_user(text);
        let first = ChatRequest {
            messages: vec![Message::system(&system), Message::user(&user)],
            task: Task::Extract { text: text.to_string() },
            json: false,
            temperature: self.options.temperature,
            max_tokens: self.options.max_tokens,
        };
        let (result, at, key) = self.cached_chat("extract", Some(chunk_id), first).await?;
        let mut cache_keys = vec![key];
        let mut glean = None;
        if self.options.max_gleaning > 0 {
            let req = ChatRequest {
                messages: vec![
                    Message::system(&system),
                    Message::user(&user),
                    Message::assistant(&result),
                    Message::user(prompts::gleaning_user()),
                ],
                task: Task::Glean {
                    text: text.to_string(),
                    previous: result.clone(),
                },
                json: false,
                temperature: self.options.temperature,
                max_tokens: self.options.max_tokens,
            };
            let (more, _, key) = self.cached_chat("extract", Some(chunk_id), req).await?;
            cache_keys.push(key);
            glean = Some(more);
        }
        let (entities, relations) = parse_answers(&result, glean.as_deref(), chunk_id, file_path);
        Ok(ChunkExtraction {
            row: ExtractionRow {
                chunk_id: chunk_id.to_string(),
                result,
                glean,
                cache_keys,
                extracted_at: at,
            },
            entities,
            relations,
        })
    }

    /// Merges the document's records into the graph as the previous document left it
    /// (upstream's merge_nodes_and_edges), calling the LLM for summaries where fragments pile
    /// up, and stages the result for its commit. Holds the merge lock throughout.
    async fn merge(&self, file_path: &str, extractions: &[ChunkExtraction]) -> Result<(MergePlan, Ticket<'_>)> {
        // Group records by entity name and by sorted pair, in chunk order.
        let mut nodes: Vec<(String, Vec<NewEntity>)> = Vec::new();
        let mut edges: Vec<((String, String), Vec<NewRelation>)> = Vec::new();
        // Names merged or renamed away by hand land on the entity that replaced them.
        let curation = self.store().curation()?;
        let resolve = |name: &str| curation.resolve(name).to_string();
        for x in extractions {
            for e in &x.entities {
                let rec = NewEntity {
                    entity_type: e.entity_type.clone(),
                    description: e.description.clone(),
                    source_id: e.source_id.clone(),
                    file_path: file_path.to_string(),
                    timestamp: x.row.extracted_at,
                };
                push_grouped(&mut nodes, resolve(&e.entity_name), rec);
            }
            for r in &x.relations {
                let (src, tgt) = (resolve(&r.src_id), resolve(&r.tgt_id));
                if src == tgt {
                    continue;
                }
                let pair = if src <= tgt { (src, tgt) } else { (tgt, src) };
                let rec = NewRelation {
                    keywords: r.keywords.clone(),
                    description: r.description.clone(),
                    weight: r.weight,
                    source_id: r.source_id.clone(),
                    file_path: file_path.to_string(),
                    timestamp: x.row.extracted_at,
                };
                push_grouped(&mut edges, pair, rec);
            }
        }
        let _merging = self.merge_lock.lock().await;
        let mut work = tokio::task::block_in_place(|| self.read_current(nodes, edges))?;
        self.complete(&mut work).await?;
        let mut plan = tokio::task::block_in_place(|| self.plan_merge(work))?;
        curate::pin_curated_types(&mut plan.entities, &curation);
        let ticket = self.staging.stage(StagedRows {
            entities: &plan.entities,
            relations: &plan.relations,
            new_entities: plan.new_entities,
            new_relations: plan.new_relations,
            read_from: std::mem::take(&mut plan.read_from),
        });
        Ok((plan, ticket))
    }

    /// Completes the merges of `work`. The merge rules are synchronous and ask for summaries
    /// as they go. Rather than calling the model from inside them one summary at a time, each
    /// pass answers from `memo` and records what is missing; the missing summaries are then
    /// asked for concurrently (up to the LLM's max_async) and the entities and relations still
    /// waiting merge again, until nothing is missing. Later rounds of a map-reduce summary
    /// appear once the earlier ones are known. The result is the one the sequential merge
    /// would give: a merge's result depends only on its stored row, its records and the
    /// summaries it asked for, so one that completed in an earlier pass is kept, not
    /// recomputed, and each stored row is read once per document.
    async fn complete(&self, work: &mut MergeWork) -> Result<()> {
        let mut memo: HashMap<SummaryRequest, String> = HashMap::new();
        loop {
            let mut missing: Vec<SummaryRequest> = Vec::new();
            tokio::task::block_in_place(|| self.merge_pass(work, &memo, &mut missing))?;
            if missing.is_empty() {
                return Ok(());
            }
            // A summary asked for twice in one pass (the same fragments) is asked for once.
            let mut seen = std::collections::HashSet::new();
            missing.retain(|request| seen.insert(request.clone()));
            let answers = join_all(
                missing
                    .iter()
                    .map(|(kind, name, list)| self.summarize(*kind, name, list)),
            )
            .await;
            for (request, answer) in missing.into_iter().zip(answers) {
                memo.insert(request, answer?);
            }
        }
    }

    /// The current row of every entity and relation a document's records name: staged for
    /// its commit, else in the store, read in one batch per kind (one round trip each on
    /// PostgreSQL). The staging area is looked at first: a row withdrawn from it since has
    /// landed in the store before.
    fn read_current(
        &self,
        nodes: Vec<(String, Vec<NewEntity>)>,
        edges: Vec<((String, String), Vec<NewRelation>)>,
    ) -> Result<MergeWork> {
        let mut read_from = Vec::new();
        let staged = nodes.iter().map(|(name, _)| self.staging.entity(name)).collect();
        let entities = staged_or_stored(staged, &mut read_from, |missing| {
            let names: Vec<&str> = missing.iter().map(|&i| nodes[i].0.as_str()).collect();
            self.store().entities_named(&names)
        })?;
        let staged = edges.iter().map(|((a, b), _)| self.staging.relation(a, b)).collect();
        let relations = staged_or_stored(staged, &mut read_from, |missing| {
            let pairs: Vec<(&str, &str)> = missing
                .iter()
                .map(|&i| (edges[i].0.0.as_str(), edges[i].0.1.as_str()))
                .collect();
            self.store().relations_between(&pairs)
        })?;
        Ok(MergeWork {
            nodes,
            edges,
            entities,
            relations,
            read_from,
        })
    }

    /// Entity `name` as the previous merge left it: staged for its commit, else in kb.db.
    /// Notes in `read_from` the ticket of a staged row. (The store is read after the staging
    /// area: a row withdrawn in between has landed in kb.db first.)
    fn current_entity(&self, name: &str, read_from: &mut Vec<u64>) -> Result<Option<Arc<EntityState>>> {
        match self.staging.entity(name) {
            Some((seq, row)) => {
                read_from.push(seq);
                Ok(Some(row))
            }
            None => Ok(self.store().entity(name)?.map(Arc::new)),
        }
    }

    /// One pass of the merge rules over the entities and relations whose merge has not
    /// completed yet; see [`merge`](Self::merge). Summaries the memo lacks go to `missing`.
    fn merge_pass(
        &self,
        work: &mut MergeWork,
        memo: &HashMap<SummaryRequest, String>,
        missing: &mut Vec<SummaryRequest>,
    ) -> Result<()> {
        let limits = &self.options.limits;
        let count = |s: &str| self.count_tokens(s);
        let mut summarize =
            |kind: merge::SummaryKind, name: &str, list: &[String]| memoized_summary(memo, missing, kind, name, list);
        resume(&work.nodes, &mut work.entities, |name, stored, records| {
            merge::merge_entity(name, stored, records, limits, &count, &mut summarize)
        })?;
        resume(&work.edges, &mut work.relations, |(a, b), stored, records| {
            merge::merge_relation(a, b, stored, records, limits, &count, &mut summarize)
        })
    }

    /// The rows a completed merge writes: merged entities, then relations with their
    /// endpoints (created when missing, otherwise credited with the relation's chunks); checks
    /// the KB's entity and relation quotas.
    ///
    /// As upstream, a row left untouched (KEEP limit full, every new record from a cut chunk)
    /// still has its grown full chunk list written, and a stored row is embedded again only
    /// where upstream upserts its vector: when it was merged, or when it is an existing
    /// endpoint whose (limited) chunk list changed. A row whose lists did not change at all is
    /// not written.
    fn plan_merge(&self, mut work: MergeWork) -> Result<MergePlan> {
        let limits = &self.options.limits;
        let mut entities: Vec<EntityState> = Vec::new();
        // Per row of `entities`: the stored row when this merge only updates its chunk lists
        // (untouched, or an endpoint credited with a relation's chunks); `None` when the row
        // is merged or new, and so embedded.
        let mut updated_from: Vec<Option<Arc<EntityState>>> = Vec::new();
        let mut relations: Vec<RelationState> = Vec::new();
        let mut relation_embeds: Vec<bool> = Vec::new();
        // Where each entity of the plan sits in `entities`, and how many are new to the KB.
        let mut position: HashMap<String, usize> = HashMap::new();
        let mut new_entities = 0u64;
        for ((stored, merged), (name, _)) in work.entities.into_iter().zip(&work.nodes) {
            match (merged, stored) {
                (Some(Merged::Upsert(state)), stored) => {
                    new_entities += u64::from(stored.is_none());
                    position.insert(name.clone(), entities.len());
                    entities.push(state);
                    updated_from.push(None);
                }
                (Some(Merged::Untouched { all_source_ids }), Some(stored)) => {
                    position.insert(name.clone(), entities.len());
                    entities.push(EntityState {
                        all_source_ids,
                        ..EntityState::clone(&stored)
                    });
                    updated_from.push(Some(stored));
                }
                _ => {}
            }
        }
        let mut new_relations = 0u64;
        // Relation chunk ids credited to each endpoint, in relation order; applied once per
        // endpoint below, which equals crediting them one relation at a time (the merge is
        // an order-preserving dedup) without copying long id lists for every relation.
        let mut credits: Vec<(usize, Vec<String>)> = Vec::new();
        for ((stored, merged), ((a, b), _)) in work.relations.into_iter().zip(&work.edges) {
            let state = match (merged, &stored) {
                (Some(Merged::Upsert(state)), _) => state,
                (Some(Merged::Untouched { all_source_ids }), Some(stored)) => {
                    // Upstream returns before touching the endpoints.
                    if all_source_ids != stored.all_source_ids {
                        relations.push(RelationState {
                            all_source_ids,
                            ..RelationState::clone(stored)
                        });
                        relation_embeds.push(false);
                    }
                    continue;
                }
                _ => continue,
            };
            new_relations += u64::from(stored.is_none());
            for endpoint in [a, b] {
                let i = match position.get(endpoint) {
                    Some(&i) => i,
                    None => {
                        position.insert(endpoint.clone(), entities.len());
                        match self.current_entity(endpoint, &mut work.read_from)? {
                            Some(stored) => {
                                entities.push(EntityState::clone(&stored));
                                updated_from.push(Some(stored));
                            }
                            None => {
                                new_entities += 1;
                                entities.push(merge::missing_endpoint_entity(endpoint, &state));
                                updated_from.push(None);
                                continue; // created from this very relation
                            }
                        }
                        entities.len() - 1
                    }
                };
                match credits.iter_mut().find(|(at, _)| *at == i) {
                    Some((_, ids)) => ids.extend(state.source_ids.iter().cloned()),
                    None => credits.push((i, state.source_ids.clone())),
                }
            }
            relations.push(state);
            relation_embeds.push(true);
        }
        for (i, ids) in credits {
            entities[i] = merge::extend_endpoint(&entities[i], &ids, limits);
        }
        let mut entity_embeds = Vec::with_capacity(entities.len());
        let entities: Vec<EntityState> = entities
            .into_iter()
            .zip(updated_from)
            .filter_map(|(state, from)| {
                let embed = match from {
                    None => true,
                    Some(old) if state.source_ids != old.source_ids => true,
                    Some(old) if state.all_source_ids != old.all_source_ids => false,
                    Some(_) => return None,
                };
                entity_embeds.push(embed);
                Some(state)
            })
            .collect();
        // Staged documents count as committed.
        let (entities_now, relations_now) = self.staging.graph_size();
        let (entity_total, relation_total) = (entities_now + new_entities, relations_now + new_relations);
        if entity_total > self.options.max_entities {
            return Err(Error::Quota(format!(
                "quota exceeded: this document would bring the knowledge base to {entity_total} entities; max_entities_per_kb is {}",
                self.options.max_entities
            )));
        }
        if relation_total > self.options.max_relations {
            return Err(Error::Quota(format!(
                "quota exceeded: this document would bring the knowledge base to {relation_total} relations; max_relationships_per_kb is {}",
                self.options.max_relations
            )));
        }
        Ok(MergePlan {
            entities: entities.into_iter().map(Arc::new).collect(),
            relations: relations.into_iter().map(Arc::new).collect(),
            entity_embeds,
            relation_embeds,
            new_entities,
            new_relations,
            read_from: work.read_from,
        })
    }

    /// One LLM summary of description fragments (cached like upstream's `summary` calls).
    async fn summarize(&self, kind: merge::SummaryKind, name: &str, list: &[String]) -> Result<String> {
        let (kind_name, llm_kind) = match kind {
            merge::SummaryKind::Entity => ("Entity", SummaryKind::Entity),
            merge::SummaryKind::Relation => ("Relation", SummaryKind::Relation),
        };
        let limits = &self.options.limits;
        let req = ChatRequest {
            messages: vec![
                Message::system(prompts::summary_system(
                    kind_name,
                    &self.options.language,
                    limits.summary_max_tokens,
                )),
                Message::user(prompts::summary_user(kind_name, name, list)),
            ],
            task: Task::Summarize {
                kind: llm_kind,
                name: name.to_string(),
                descriptions: list.to_vec(),
            },
            json: false,
            temperature: self.options.temperature,
            max_tokens: self.options.max_tokens,
        };
        let (text, _, _) = self.cached_chat("summary", None, req).await?;
        Ok(text.trim().to_string())
    }
}

impl Drop for Engine {
    /// Writes LLM answers still kept back (an interrupted run's), so a later run reuses them.
    fn drop(&mut self) {
        if let Err(err) = self.llm_cache.write_to(&self.store()) {
            tracing::warn!("cannot write the last LLM answers to the cache: {err}");
        }
    }
}

/// A summary the merge needs: what it is about, its name, the fragments.
type SummaryRequest = (merge::SummaryKind, String, Vec<String>);

/// The summary `memo` holds for a request, or `Pending` after noting the request in `missing`:
/// how a merge pass (ingest's and a delete's rebuild alike) collects the summaries it needs.
fn memoized_summary(
    memo: &HashMap<SummaryRequest, String>,
    missing: &mut Vec<SummaryRequest>,
    kind: merge::SummaryKind,
    name: &str,
    list: &[String],
) -> std::result::Result<String, MergeStep> {
    let request = (kind, name.to_string(), list.to_vec());
    match memo.get(&request) {
        Some(text) => Ok(text.clone()),
        None => {
            missing.push(request);
            Err(MergeStep::Pending)
        }
    }
}

/// Why a merge pass stopped: summaries still to ask for, or a real failure.
enum MergeStep {
    Pending,
    Failed(Error),
}

impl From<Error> for MergeStep {
    fn from(err: Error) -> Self {
        MergeStep::Failed(err)
    }
}

impl From<merge::RelationError> for MergeStep {
    fn from(err: merge::RelationError) -> Self {
        MergeStep::Failed(err.into())
    }
}

/// One document's merge in progress: its records grouped by entity and by relation, the
/// current row of each and each merge's result once it waits on no summary.
struct MergeWork {
    nodes: Vec<(String, Vec<NewEntity>)>,
    edges: Vec<((String, String), Vec<NewRelation>)>,
    entities: Vec<Merging<EntityState>>,
    relations: Vec<Merging<RelationState>>,
    /// Tickets whose staged rows were read.
    read_from: Vec<u64>,
}

/// One row's merge: the row as it is (none if new), and the merge's result once complete.
type Merging<S, T = S> = (Option<Arc<S>>, Option<Merged<T>>);

/// Each row staged for its commit (noting its ticket in `read_from`), else as `read` returns
/// it for the positions not staged, in one call.
fn staged_or_stored<S>(
    staged: Vec<Option<(u64, Arc<S>)>>,
    read_from: &mut Vec<u64>,
    read: impl FnOnce(&[usize]) -> Result<Vec<Option<S>>>,
) -> Result<Vec<Merging<S>>> {
    let missing: Vec<usize> = (0..staged.len()).filter(|&i| staged[i].is_none()).collect();
    let mut stored = if missing.is_empty() {
        Vec::new()
    } else {
        read(&missing)?
    }
    .into_iter();
    Ok(staged
        .into_iter()
        .map(|row| match row {
            Some((seq, row)) => {
                read_from.push(seq);
                (Some(row), None)
            }
            None => (stored.next().flatten().map(Arc::new), None),
        })
        .collect())
}

/// Runs `merge` for each group of records whose merge has not completed, keeping its result
/// unless it still waits on a summary.
fn resume<K, R, S, T>(
    groups: &[(K, Vec<R>)],
    results: &mut [Merging<S, T>],
    mut merge: impl FnMut(&K, Option<&S>, &[R]) -> std::result::Result<Merged<T>, MergeStep>,
) -> Result<()> {
    for ((key, records), (stored, merged)) in groups.iter().zip(results) {
        if merged.is_none() {
            *merged = match merge(key, stored.as_deref(), records) {
                Ok(done) => Some(done),
                Err(MergeStep::Pending) => None,
                Err(MergeStep::Failed(err)) => return Err(err),
            };
        }
    }
    Ok(())
}

/// What a document's merge writes (shared with the staging area), and what it read from
/// staged documents.
struct MergePlan {
    entities: Vec<Arc<EntityState>>,
    relations: Vec<Arc<RelationState>>,
    /// Per row of `entities` / `relations`: embed it (merged, new, or an endpoint whose chunk
    /// list changed), or write it keeping its stored vector (only its full chunk list grew).
    entity_embeds: Vec<bool>,
    relation_embeds: Vec<bool>,
    /// How many of `entities` and `relations` are new to the knowledge base.
    new_entities: u64,
    new_relations: u64,
    read_from: Vec<u64>,
}

/// Gives every chunk of a document one extraction time: the latest of its chunks' (whole
/// seconds). Upstream stamps each chunk's records when its answer arrives, in whole seconds,
/// so a document's records nearly always tie and their descriptions sort longest first; only
/// a document whose chunks straddle a second boundary sorts by timing, which differs from run
/// to run. One stamp per document gives the usual case always: the merge (and the rebuild
/// after a deletion, which reads the stored stamps) orders a document's fragments by length,
/// then chunk order, and two runs of the same input build the same graph.
fn stamp_document(extractions: &mut [ChunkExtraction]) {
    let stamp = extractions
        .iter()
        .map(|x| merge::stamp_seconds(x.row.extracted_at))
        .max()
        .unwrap_or_default();
    for x in extractions {
        x.row.extracted_at = stamp;
    }
}

fn push_grouped<K: PartialEq, V>(groups: &mut Vec<(K, Vec<V>)>, key: K, value: V) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, list)) => list.push(value),
        None => groups.push((key, vec![value])),
    }
}

/// The records of one chunk's extraction answers: the first pass, with the gleaning pass
/// merged in. Ingest and the rebuild after a deletion both read answers through this, so a
/// rebuilt graph sees exactly the records the ingest merged.
/// Whether an extraction answer is one: empty (nothing to extract), or holding at least one
/// record or the completion marker. Anything else is junk that must not become a cached
/// success (retries would replay it) or an empty graph.
fn extraction_is_records(text: &str) -> bool {
    text.trim().is_empty() || text.contains(extract::COMPLETION_DELIMITER) || {
        let parsed = extract::parse_extraction(text, "check", "check");
        !parsed.entities.is_empty() || !parsed.relations.is_empty()
    }
}

fn parse_answers(
    result: &str,
    glean: Option<&str>,
    chunk_id: &str,
    file_path: &str,
) -> (Vec<ExtractedEntity>, Vec<ExtractedRelation>) {
    let parsed = extract::parse_extraction(result, chunk_id, file_path);
    let (mut entities, mut relations) = (parsed.entities, parsed.relations);
    if let Some(more) = glean {
        let extra = extract::parse_extraction(more, chunk_id, file_path);
        merge_gleaning(
            &mut entities,
            extra.entities,
            |e| e.entity_name.clone(),
            |e| e.description.len(),
        );
        merge_gleaning(
            &mut relations,
            extra.relations,
            |r| (r.src_id.clone(), r.tgt_id.clone()),
            |r| r.description.len(),
        );
    }
    (entities, relations)
}

/// Upstream's gleaning merge: a key the first pass missed is added; an existing key's records
/// are replaced only when the gleaned description is longer.
fn merge_gleaning<T, K: PartialEq>(
    first: &mut Vec<T>,
    gleaned: Vec<T>,
    key: impl Fn(&T) -> K,
    len: impl Fn(&T) -> usize,
) {
    let mut gleaned_groups: Vec<(K, Vec<T>)> = Vec::new();
    for item in gleaned {
        let k = key(&item);
        push_grouped(&mut gleaned_groups, k, item);
    }
    for (k, items) in gleaned_groups {
        let first_len = first.iter().find(|x| key(x) == k).map(&len);
        match first_len {
            None => first.extend(items),
            Some(existing) if items.first().is_some_and(|g| len(g) > existing) => {
                first.retain(|x| key(x) != k);
                first.extend(items);
            }
            Some(_) => {}
        }
    }
}

fn sorted_json(v: &serde_json::Value) -> String {
    // serde_json's Map keeps insertion order with `preserve_order`; build the key order
    // explicitly so the cache key matches Python's sort_keys=True.
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::Value::String(k.clone()), sorted_json(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

fn open_indexes(store: &KbStore, dim: usize) -> Result<Vec<VectorIndex>> {
    let generation = store.generation()?;
    VectorKind::ALL
        .iter()
        .map(|kind| {
            let count = store.vector_count(*kind)?;
            let expected = Fingerprint { dim, count, generation };
            let (index, _outcome) =
                VectorIndex::open(&index_path(store.dir(), *kind), dim, &expected, || store.vectors(*kind))?;
            Ok(index)
        })
        .collect()
}
