//! Answering a question from one KB, after LightRAG's query path (reference §7): keywords
//! (cached), retrieval per mode, the four-stage context, and the grounded answer (cached).
//!
//! A query only reads the graph: it opens kb.db without taking the ingest lock and never pins
//! an embedding model. Its only writes are LLM-cache rows and, when an index file is stale,
//! the rebuilt (derived) index.
//!
//! One deliberate difference from upstream: when `local` has no low-level keywords (or
//! `global` no high-level ones), upstream silently runs the other side instead. Here that
//! side simply finds nothing and the result carries a warning saying why.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::llm::rerank::Reranker;
use crate::llm::{ChatRequest, LlmError, Message, ModelProvider, Provider, Task};
use crate::rag::context::{self, ChunkSources, PickSide};
use crate::rag::engine_memo::{EngineMemo, Weigh};
use crate::rag::keywords::{self, Keywords};
use crate::rag::prompts::{self, ContextKind, NO_CONTEXT_ANSWER};
use crate::rag::{citations, ids, normalize};
use crate::store::KbLocation;
use crate::store::kb::{CachedAnswer, KbStore, SEP, VectorKind};
use crate::store::query::{ChunkRecord, Edge, EntityRow, RelationRow};
use crate::store::vectors::{Fingerprint, VectorIndex};

/// How a question's context is retrieved: LightRAG's query modes (`QueryParam.mode`).
// These comments are also the text of MCP's `mode` argument schema (server/mcp.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryMode {
    /// Chunk vectors only.
    Naive,
    /// Entities matched by low-level keywords, and their relations.
    Local,
    /// Relations matched by high-level keywords, and their entities.
    Global,
    /// Local and global, merged.
    Hybrid,
    /// Hybrid plus chunk vectors (upstream's default).
    Mix,
    /// No retrieval: the question goes to the model as it is.
    Bypass,
}

impl QueryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryMode::Naive => "naive",
            QueryMode::Local => "local",
            QueryMode::Global => "global",
            QueryMode::Hybrid => "hybrid",
            QueryMode::Mix => "mix",
            QueryMode::Bypass => "bypass",
        }
    }

    fn uses_low(self) -> bool {
        matches!(self, QueryMode::Local | QueryMode::Hybrid | QueryMode::Mix)
    }

    fn uses_high(self) -> bool {
        matches!(self, QueryMode::Global | QueryMode::Hybrid | QueryMode::Mix)
    }
}

/// Upstream's limits on a query.
pub const MAX_QUERY_CHARS: usize = 64 * 1024;
pub const MAX_TOP_K: usize = 1000;
pub const MAX_TOKEN_BUDGET: usize = 1_000_000;
/// Tokens upstream keeps free when it sizes the chunk budget.
const BUDGET_RESERVE: usize = 200;
/// Relation rows read by the first statement while filling the relation budget; each next
/// statement reads twice as many as the one before, so a budget that takes a few hundred rows
/// costs a few statements (each a round trip on PostgreSQL) and at most twice the rows needed.
const FIRST_RELATION_BATCH: usize = 32;

/// One question and how to answer it (upstream's `QueryParam`).
#[derive(Debug, Clone)]
pub struct QueryParams {
    pub query: String,
    pub mode: QueryMode,
    pub top_k: usize,
    pub chunk_top_k: usize,
    pub max_entity_tokens: usize,
    pub max_relation_tokens: usize,
    pub max_total_tokens: usize,
    pub response_type: String,
    pub user_prompt: Option<String>,
    /// Given keywords; when either list is non-empty no keywords are extracted.
    pub hl_keywords: Vec<String>,
    pub ll_keywords: Vec<String>,
    /// Earlier turns, sent to the model as they are (not used for retrieval).
    pub history: Vec<Message>,
    pub only_context: bool,
    pub only_prompt: bool,
    pub stream: bool,
    /// Rerank the chunks (upstream's `enable_rerank`); `None`: the KB's setting.
    pub enable_rerank: Option<bool>,
}

impl QueryParams {
    /// Upstream's defaults for `query`.
    pub fn new(query: impl Into<String>, mode: QueryMode) -> Self {
        QueryParams {
            query: query.into(),
            mode,
            top_k: 40,
            chunk_top_k: 20,
            max_entity_tokens: 6000,
            max_relation_tokens: 8000,
            max_total_tokens: 30000,
            response_type: "Multiple Paragraphs".into(),
            user_prompt: None,
            hl_keywords: Vec::new(),
            ll_keywords: Vec::new(),
            history: Vec::new(),
            only_context: false,
            only_prompt: false,
            stream: false,
            enable_rerank: None,
        }
    }

    /// Upstream's checks: a non-empty question of bounded size (at least 3 "English-equivalent"
    /// characters for retrieval modes, a CJK character counting 2) and bounded sizes.
    pub fn validate(&self) -> Result<()> {
        let q = self.query.trim();
        if q.is_empty() {
            return Err(Error::Usage("the question is empty".into()));
        }
        if self.query.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::Usage(format!(
                "the question is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        let weight: usize = q.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum();
        if self.mode != QueryMode::Bypass && weight < 3 {
            return Err(Error::Usage(
                "the question is too short to search with (at least 3 characters)".into(),
            ));
        }
        for (name, value) in [("--top-k", self.top_k), ("--chunk-top-k", self.chunk_top_k)] {
            if value == 0 || value > MAX_TOP_K {
                return Err(Error::Usage(format!("{name} must be between 1 and {MAX_TOP_K}")));
            }
        }
        for (name, value) in [
            ("--max-entity-tokens", self.max_entity_tokens),
            ("--max-relation-tokens", self.max_relation_tokens),
            ("--max-total-tokens", self.max_total_tokens),
        ] {
            if value > MAX_TOKEN_BUDGET {
                return Err(Error::Usage(format!("{name} must be at most {MAX_TOKEN_BUDGET}")));
            }
        }
        Ok(())
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// How a KB answers, from its effective configuration.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Vector hits below this cosine similarity are dropped.
    pub cosine_threshold: f32,
    pub enable_llm_cache: bool,
    /// Whether a query that does not say reranks its chunks (`RERANK_BY_DEFAULT`, or the
    /// KB's `enable_rerank`); also part of upstream's answer cache key.
    pub enable_rerank: bool,
    /// Who reranks; `None`: nobody, and chunks keep their retrieval order.
    pub reranker: Option<Reranker>,
    /// `MIN_RERANK_SCORE`: when above 0, reranked chunks scoring below it are dropped.
    pub min_rerank_score: f64,
    pub language: String,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            cosine_threshold: 0.2,
            enable_llm_cache: true,
            enable_rerank: true,
            reranker: None,
            min_rerank_score: 0.0,
            language: "English".into(),
            temperature: None,
            max_tokens: None,
        }
    }
}

/// An entity the context used, in upstream's result field names.
#[derive(Debug, Clone, Serialize)]
pub struct UsedEntity {
    pub entity_name: String,
    pub entity_type: String,
    pub description: String,
    pub source_id: String,
    pub file_path: String,
    pub created_at: i64,
    pub reference_id: String,
}

/// A relation the context used.
#[derive(Debug, Clone, Serialize)]
pub struct UsedRelation {
    pub src_id: String,
    pub tgt_id: String,
    pub description: String,
    pub keywords: String,
    pub weight: f64,
    pub source_id: String,
    pub file_path: String,
    pub created_at: i64,
    pub reference_id: String,
}

/// A chunk the context used.
#[derive(Debug, Clone, Serialize)]
pub struct UsedChunk {
    pub reference_id: String,
    pub content: String,
    pub file_path: String,
    pub chunk_id: String,
    /// `[first, last]` page of a chunk from a paginated document (PDF); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<[u32; 2]>,
    /// The reranker's score (upstream's `rerank_score`); absent when nothing reranked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank_score: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub reference_id: String,
    pub file_path: String,
    /// Whether the answer cites this file; null when there is no answer (`--only-context`).
    pub cited: Option<bool>,
    /// The page ranges (`[first, last]`, merged, in order) of the context's chunks from this
    /// file; absent for files without pages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<[u32; 2]>,
}

impl Reference {
    /// The reference as the context's list names it: the path, then its pages if it has any
    /// (`report.pdf p. 12–13, 20`). A file without pages reads exactly as upstream's.
    pub fn label(&self) -> String {
        if self.pages.is_empty() {
            return self.file_path.clone();
        }
        let ranges: Vec<String> = self
            .pages
            .iter()
            .map(|[a, b]| if a == b { a.to_string() } else { format!("{a}–{b}") })
            .collect();
        format!("{} p. {}", self.file_path, ranges.join(", "))
    }
}

/// Page ranges merged where they touch or overlap, in order.
fn merge_ranges(mut ranges: Vec<[u32; 2]>) -> Vec<[u32; 2]> {
    ranges.sort_unstable();
    let mut out: Vec<[u32; 2]> = Vec::new();
    for [a, b] in ranges {
        match out.last_mut() {
            Some(last) if a <= last[1].saturating_add(1) => last[1] = last[1].max(b),
            _ => out.push([a, b]),
        }
    }
    out
}

/// Token counts of the context parts and of the whole prompt.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TokenCounts {
    pub entities: usize,
    pub relations: usize,
    pub chunks: usize,
    pub prompt: usize,
}

/// What reranking did to a query's chunks (absent from the result when nothing reranked).
#[derive(Debug, Clone, Serialize)]
pub struct RerankReport {
    /// `cohere`, `jina`, `aliyun` or `local`.
    pub binding: String,
    pub model: String,
    /// Chunks sent to the reranker.
    pub candidates: usize,
    /// Chunks it ranked (a `top_n` cut leaves the others out, as upstream).
    pub ranked: usize,
    /// Ranked chunks dropped for scoring below `min_score`.
    pub below_min_score: usize,
    pub min_score: f64,
    /// The scores came from the LLM cache.
    pub cached: bool,
    /// Why the reranker failed: the chunks then kept their retrieval order (upstream's
    /// fallback), and a warning says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Milliseconds per stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub keywords: u64,
    pub retrieval: u64,
    pub context: u64,
    pub answer: u64,
    pub total: u64,
}

/// Everything a query produced (the `--json` object).
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// The answer; null with `--only-context` / `--only-prompt`.
    pub answer: Option<String>,
    pub mode: QueryMode,
    pub keywords: Keywords,
    /// No context could be built, so the answer is upstream's no-context reply.
    pub no_context: bool,
    pub entities: Vec<UsedEntity>,
    pub relations: Vec<UsedRelation>,
    pub chunks: Vec<UsedChunk>,
    pub references: Vec<Reference>,
    pub tokens: TokenCounts,
    pub llm_calls: u64,
    pub cache_hits: u64,
    pub timings_ms: Timings,
    /// What the reranker did; absent when no reranker ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<RerankReport>,
    pub warnings: Vec<String>,
    /// The context text (with `--only-context` or `--only-prompt`).
    pub context: Option<String>,
    /// The full prompt (with `--only-prompt`).
    pub prompt: Option<String>,
    /// The answer was already written to the stream sink.
    #[serde(skip)]
    pub streamed: bool,
}

/// A sink for streamed answer pieces.
pub type Sink<'a> = &'a mut dyn FnMut(&str);

/// A KB opened for queries.
pub struct QueryEngine {
    store: KbStore,
    /// The pinned dimension and the three indexes (chunks, entities, relations), each opened
    /// on its first search; `None` for a KB that has never been embedded.
    indexes: Option<Indexes>,
    llm: Provider,
    embedder: Provider,
    options: QueryOptions,
    /// This engine's key in the memos of the rows it read ([`CHUNK_VECTORS`] and the others).
    id: u64,
    /// Node degrees read so far (an engine sees one generation, see [`EngineMemo`]); ranking
    /// a local search's edges needs the degrees of a few hundred endpoints, and counting a hub's
    /// relations walks its whole index range. At most one entry per entity of the KB.
    degrees: Mutex<HashMap<String, usize>>,
}

/// Most bytes of decoded chunk vectors kept across queries, over all engines of the process.
const CHUNK_VECTOR_CACHE_BYTES: usize = 64 << 20;

/// Most bytes of chunk text kept across queries, over all engines of the process.
const CHUNK_TEXT_CACHE_BYTES: usize = 32 << 20;

/// Decoded chunk vectors by engine and chunk id. A graph query scores every chunk its entities
/// and relations cite (hundreds), and reading and decoding those vectors from kb.db was the
/// largest single cost of a warm query; a long-lived engine (a server's) keeps them here.
static CHUNK_VECTORS: LazyLock<EngineMemo<String, Arc<ChunkVector>>> =
    LazyLock::new(|| EngineMemo::new(CHUNK_VECTOR_CACHE_BYTES));

/// Chunks by engine and chunk id (`None`: the KB has no such chunk). With a reranker, a graph
/// query reads the text of every candidate chunk (about a hundred); on PostgreSQL that read
/// was half of a warm query's time.
static CHUNK_TEXTS: LazyLock<EngineMemo<String, Option<Arc<ChunkRecord>>>> =
    LazyLock::new(|| EngineMemo::new(CHUNK_TEXT_CACHE_BYTES));

/// Most bytes of graph rows kept across queries, per kind, over all engines of the process.
const GRAPH_ROW_CACHE_BYTES: usize = 16 << 20;

/// Entities by engine and vector key, and by engine and name; relations by engine and vector
/// key; each entity's edges by engine and name. A graph query reads a few hundred of these,
/// one statement per batch: on PostgreSQL most of a warm query's time.
static ENTITIES_BY_KEY: LazyLock<EngineMemo<u64, Option<Arc<EntityRow>>>> =
    LazyLock::new(|| EngineMemo::new(GRAPH_ROW_CACHE_BYTES));
static ENTITIES_BY_NAME: LazyLock<EngineMemo<String, Option<Arc<EntityRow>>>> =
    LazyLock::new(|| EngineMemo::new(GRAPH_ROW_CACHE_BYTES));
static RELATIONS_BY_KEY: LazyLock<EngineMemo<u64, Option<Arc<RelationRow>>>> =
    LazyLock::new(|| EngineMemo::new(GRAPH_ROW_CACHE_BYTES));
static EDGES: LazyLock<EngineMemo<String, Option<Arc<Vec<Edge>>>>> =
    LazyLock::new(|| EngineMemo::new(GRAPH_ROW_CACHE_BYTES));

/// A decoded chunk vector as upstream's graph-chunk pick sees it (float16-rounded, see
/// [`context::as_upstream_pick_vector`]), with its squared norm, which every cosine against it
/// needs.
struct ChunkVector {
    values: Box<[f32]>,
    norm_sq: f64,
}

impl Weigh for ChunkVector {
    fn weight(&self) -> usize {
        self.values.len() * std::mem::size_of::<f32>()
    }
}

impl Weigh for ChunkRecord {
    fn weight(&self) -> usize {
        self.chunk_id.len() + self.content.len() + self.file_path.len()
    }
}

impl Weigh for EntityRow {
    fn weight(&self) -> usize {
        self.name.len()
            + self.entity_type.len()
            + self.description.len()
            + self.source_ids.weight()
            + self.file_paths.weight()
    }
}

impl Weigh for RelationRow {
    fn weight(&self) -> usize {
        self.src.len()
            + self.tgt.len()
            + self.keywords.len()
            + self.description.len()
            + self.source_ids.weight()
            + self.file_paths.weight()
    }
}

impl Weigh for Edge {
    fn weight(&self) -> usize {
        std::mem::size_of::<Edge>() + self.src.len() + self.tgt.len()
    }
}

/// A dropped engine's rows go with it (`EngineMemo::forget`).
impl Drop for QueryEngine {
    fn drop(&mut self) {
        CHUNK_VECTORS.forget(self.id);
        CHUNK_TEXTS.forget(self.id);
        ENTITIES_BY_KEY.forget(self.id);
        ENTITIES_BY_NAME.forget(self.id);
        RELATIONS_BY_KEY.forget(self.id);
        EDGES.forget(self.id);
    }
}

static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(0);

/// The context assembled for a graph or naive query.
struct Assembled {
    entities: Vec<UsedEntity>,
    relations: Vec<UsedRelation>,
    chunks: Vec<UsedChunk>,
    references: Vec<Reference>,
    tokens: TokenCounts,
    context: String,
    kind: ContextKind,
}

/// Per-query counters.
#[derive(Default)]
struct Trace {
    llm_calls: u64,
    cache_hits: u64,
    warnings: Vec<String>,
    rerank: Option<RerankReport>,
}

impl QueryEngine {
    /// Opens the KB `at` names for queries. Refuses an embedding model other than the one the
    /// KB was built with, but never pins one (an empty KB stays unpinned).
    pub fn open(at: &KbLocation, llm: Provider, embedder: Provider, options: QueryOptions) -> Result<QueryEngine> {
        let store = KbStore::open(at)?;
        store.map_for_reads()?;
        let id = embedder.identity();
        let indexes = match store.embedding_pin()? {
            None => None,
            Some(pin) if pin.binding == id.binding && pin.model == id.model && pin.dim == embedder.dim() => {
                Some(Indexes {
                    dim: pin.dim,
                    opened: Default::default(),
                })
            }
            Some(pin) => {
                return Err(Error::Conflict(format!(
                    "this knowledge base was embedded with {}/{} ({} dimensions), but the configuration now says {}/{} \
                     ({} dimensions); query with the same embedding settings, or rebuild with `lrt kb reindex --reembed`",
                    pin.binding,
                    pin.model,
                    pin.dim,
                    id.binding,
                    id.model,
                    embedder.dim()
                )));
            }
        };
        Ok(QueryEngine {
            store,
            indexes,
            llm,
            embedder,
            options,
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            degrees: Mutex::default(),
        })
    }

    /// The stored vectors of chunks `ids` that have one, through [`CHUNK_VECTORS`].
    fn chunk_vectors<'a>(&self, ids: &'a [String]) -> Result<HashMap<&'a str, Arc<ChunkVector>>> {
        let kept = CHUNK_VECTORS.get(self.id, ids);
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for (id, kept) in ids.iter().zip(kept) {
            match kept {
                Some(v) => {
                    found.insert(id.as_str(), v);
                }
                None => missing.push(id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let wanted: Vec<String> = missing.iter().map(|id| id.to_string()).collect();
        let mut read: HashMap<String, Vec<f32>> = self.store.chunk_vectors_by_ids(&wanted)?.into_iter().collect();
        for id in missing {
            let Some(values) = read.remove(id) else {
                continue;
            };
            let values = context::as_upstream_pick_vector(&values);
            let vector = Arc::new(ChunkVector {
                norm_sq: context::norm_sq(&values),
                values: values.into(),
            });
            CHUNK_VECTORS.put(self.id, id, vector.clone());
            found.insert(id.as_str(), vector);
        }
        Ok(found)
    }

    /// The first `limit` chunks found of `ids`, in that order, through [`CHUNK_TEXTS`]: only
    /// chunks this engine has not seen are read.
    fn chunks_by_ids(&self, ids: &[String], limit: usize) -> Result<Vec<ChunkRecord>> {
        let read = |wanted: &[String]| self.store.chunks_by_ids(wanted, usize::MAX);
        CHUNK_TEXTS.rows(self.id, ids, limit, read, |c| c.chunk_id.clone())
    }

    /// Entities by vector key, in that order (missing keys skipped), through
    /// [`ENTITIES_BY_KEY`].
    fn entities_by_keys(&self, keys: &[u64]) -> Result<Vec<EntityRow>> {
        let read = |wanted: &[u64]| self.store.entities_by_keys(wanted);
        ENTITIES_BY_KEY.rows(self.id, keys, usize::MAX, read, |e| e.key)
    }

    /// Entities by name, in that order (unknown names skipped), through [`ENTITIES_BY_NAME`].
    fn entities_by_names(&self, names: &[String]) -> Result<Vec<EntityRow>> {
        let read = |wanted: &[String]| self.store.entities_by_names(wanted);
        ENTITIES_BY_NAME.rows(self.id, names, usize::MAX, read, |e| e.name.clone())
    }

    /// Relations by vector key, in that order (missing keys skipped), through
    /// [`RELATIONS_BY_KEY`].
    fn relations_by_keys(&self, keys: &[u64]) -> Result<Vec<RelationRow>> {
        let read = |wanted: &[u64]| self.store.relations_by_keys(wanted);
        RELATIONS_BY_KEY.rows(self.id, keys, usize::MAX, read, |r| r.key)
    }

    /// Every relation touching one of `names`, without its text: entity by entity, each
    /// entity's relations in key order, each relation once. Each entity's list comes through
    /// [`EDGES`].
    fn edges_of(&self, names: &[String]) -> Result<Vec<Edge>> {
        let lists = EDGES.first_found(self.id, names, usize::MAX, |wanted| {
            let lists = self.store.edges_by_name(wanted)?;
            Ok::<_, Error>(wanted.iter().cloned().zip(lists).collect())
        })?;
        let mut seen = std::collections::HashSet::new();
        Ok(lists
            .iter()
            .flat_map(|list| list.iter())
            .filter(|e| seen.insert(e.key))
            .cloned()
            .collect())
    }

    /// The degrees of `names`, through [`QueryEngine::degrees`].
    fn degrees(&self, names: &[String]) -> Result<HashMap<String, usize>> {
        let mut memo = self.degrees.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<String> = names.iter().filter(|n| !memo.contains_key(*n)).cloned().collect();
        if !missing.is_empty() {
            memo.extend(self.store.degrees(&missing)?);
        }
        Ok(names.iter().map(|n| (n.clone(), memo[n])).collect())
    }

    /// kb.db's commit generation now; a long-lived engine compares it with the one it was
    /// opened at to notice ingests and deletes made since (its index maps would be stale).
    pub fn generation(&self) -> Result<u64> {
        self.store.generation()
    }

    /// Answers one question. With `p.stream`, answer pieces go to `sink` as they arrive.
    pub async fn query(&self, p: &QueryParams, sink: Option<Sink<'_>>) -> Result<QueryResult> {
        p.validate()?;
        // Read before any content: an answer is cached only if nothing committed since.
        let generation = self.store.generation()?;
        let started = Instant::now();
        let mut trace = Trace::default();
        let mut timings = Timings::default();
        let mut result = QueryResult {
            answer: None,
            mode: p.mode,
            keywords: Keywords::default(),
            no_context: false,
            entities: Vec::new(),
            relations: Vec::new(),
            chunks: Vec::new(),
            references: Vec::new(),
            tokens: TokenCounts::default(),
            llm_calls: 0,
            cache_hits: 0,
            timings_ms: Timings::default(),
            rerank: None,
            warnings: Vec::new(),
            context: None,
            prompt: None,
            streamed: false,
        };

        if p.enable_rerank == Some(true) && self.options.reranker.is_none() && p.mode != QueryMode::Bypass {
            trace.warnings.push(
                "reranking was asked for, but no reranker is configured (RERANK_BINDING); the chunks keep their retrieval order"
                    .into(),
            );
        }
        let assembled = match p.mode {
            QueryMode::Bypass => None,
            QueryMode::Naive => {
                let t = Instant::now();
                let found = self.naive_context(p, &mut trace).await?;
                timings.retrieval = ms(t);
                found
            }
            _ => {
                let t = Instant::now();
                let keywords = self.keywords(p, &mut trace).await?;
                timings.keywords = ms(t);
                match keywords {
                    None => None,
                    Some(k) => {
                        result.keywords = k.clone();
                        self.kg_context(p, &k, &mut trace, &mut timings).await?
                    }
                }
            }
        };

        let t = Instant::now();
        let (system, task) = match (&assembled, p.mode) {
            (_, QueryMode::Bypass) => (None, answer_task(p, &result.keywords, &[], &[])),
            (None, _) => {
                result.no_context = true;
                if p.only_context || p.only_prompt {
                    result.context = Some(String::new());
                } else {
                    result.answer = Some(NO_CONTEXT_ANSWER.to_string());
                }
                return Ok(finish(result, trace, timings, started));
            }
            (Some(a), _) => {
                let system = prompts::answer_system(a.kind, &p.response_type, p.user_prompt.as_deref(), &a.context);
                let chunks: Vec<(String, String)> = a
                    .chunks
                    .iter()
                    .map(|c| (c.reference_id.clone(), c.content.clone()))
                    .collect();
                let refs = references_pairs(&a.references);
                (Some(system), answer_task(p, &result.keywords, &chunks, &refs))
            }
        };
        if let Some(a) = assembled {
            result.entities = a.entities;
            result.relations = a.relations;
            result.chunks = a.chunks;
            result.references = a.references;
            result.tokens = a.tokens;
            if p.only_context || p.only_prompt {
                result.context = Some(a.context);
            }
        }
        let full = prompts::full_prompt(system.as_deref().unwrap_or(""), &p.query);
        result.tokens.prompt = system.as_deref().map_or(0, context::count_tokens) + context::count_tokens(&p.query);
        if p.only_prompt {
            result.prompt = Some(full);
            return Ok(finish(result, trace, timings, started));
        }
        if p.only_context {
            return Ok(finish(result, trace, timings, started));
        }

        let mut messages = Vec::with_capacity(p.history.len() + 2);
        if let Some(s) = &system {
            messages.push(Message::system(s));
        }
        messages.extend(p.history.iter().cloned());
        messages.push(Message::user(&p.query));
        let req = ChatRequest {
            messages,
            task,
            json: false,
            temperature: self.options.temperature,
            max_tokens: self.options.max_tokens,
        };
        // Citations are renumbered in order of first use, in the stream as in the result.
        let ids: Vec<String> = result.references.iter().map(|r| r.reference_id.clone()).collect();
        let mut renumber = citations::Renumber::new(ids.iter().map(String::as_str));
        let mut inner = sink;
        let streaming = inner.is_some();
        let mut renumbered = |piece: &str| {
            let out = renumber.push(piece);
            if let Some(s) = inner.as_mut()
                && !out.is_empty()
            {
                s(&out);
            }
        };
        let sink: Option<Sink<'_>> = if streaming { Some(&mut renumbered) } else { None };
        let (answer, streamed) = self
            .answer(p, &result.keywords, req, sink, generation, &mut trace)
            .await?;
        let rest = renumber.finish();
        if let Some(s) = inner.as_mut()
            && !rest.is_empty()
        {
            s(&rest);
        }
        let (answer, mapping) = citations::renumber_text(&answer, ids.iter().map(String::as_str));
        apply_numbering(&mut result, &mapping);
        result.answer = Some(answer);
        result.streamed = streamed;
        timings.answer = ms(t);
        Ok(finish(result, trace, timings, started))
    }

    /// The query's keywords: given, cached, or asked for; `None` means "no keywords and the
    /// question is too long to stand in for them" (upstream's no-context case).
    async fn keywords(&self, p: &QueryParams, trace: &mut Trace) -> Result<Option<Keywords>> {
        let given = Keywords {
            high: p.hl_keywords.clone(),
            low: p.ll_keywords.clone(),
        };
        let found = if !given.is_empty() {
            given
        } else {
            self.extract_keywords(p, trace).await?
        };
        let had_none = found.is_empty();
        let Some(k) = keywords::fallback(&p.query, found) else {
            trace
                .warnings
                .push("no keywords were found in the question, and it is too long to search with as it is".into());
            return Ok(None);
        };
        if had_none {
            trace
                .warnings
                .push("no keywords were found in the question; searching entities with the question itself".into());
        }
        if p.mode.uses_low() && k.low.is_empty() {
            trace.warnings.push(
                "no low-level keywords: the entity (local) search was skipped; pass --ll-keywords to search entities"
                    .into(),
            );
        }
        if p.mode.uses_high() && k.high.is_empty() {
            trace.warnings.push(
                "no high-level keywords: the relation (global) search was skipped; pass --hl-keywords to search relations"
                    .into(),
            );
        }
        Ok(Some(k))
    }

    /// Asks the model for keywords through the cache (`{mode}:keywords:{hash}`).
    async fn extract_keywords(&self, p: &QueryParams, trace: &mut Trace) -> Result<Keywords> {
        let hash = ids::compute_args_hash(&[
            p.mode.as_str(),
            &p.query,
            &self.options.language,
            "\n<llm_identity>\n",
            &identity_json(&self.llm, "keyword"),
        ]);
        let key = format!("{}:keywords:{hash}", p.mode.as_str());
        if self.options.enable_llm_cache
            && let Some((text, _)) = self.store.cache_get(&key)?
            && let Some(k) = keywords::parse(&text)
        {
            trace.cache_hits += 1;
            return Ok(k);
        }
        let req = ChatRequest {
            messages: vec![Message::user(keywords::prompt(&p.query, &self.options.language))],
            task: Task::Keywords { query: p.query.clone() },
            json: true,
            temperature: self.options.temperature,
            max_tokens: self.options.max_tokens,
        };
        trace.llm_calls += 1;
        let answer = self.llm.chat(&req).await?;
        let Some(k) = keywords::parse(&answer.text) else {
            trace
                .warnings
                .push("the model's keyword answer was not a JSON object; it was ignored".into());
            return Ok(Keywords::default());
        };
        if self.options.enable_llm_cache && !answer.truncated && !k.is_empty() {
            let now = jiff::Timestamp::now().as_millisecond();
            let answer = CachedAnswer {
                cache_type: "keywords",
                chunk_id: None,
                response: k.to_cache_json(),
                at: now,
            };
            self.store.cache_put(&key, &answer)?;
        }
        Ok(k)
    }

    /// Retrieval and context for the graph modes; `None` when nothing was found.
    async fn kg_context(
        &self,
        p: &QueryParams,
        k: &Keywords,
        trace: &mut Trace,
        timings: &mut Timings,
    ) -> Result<Option<Assembled>> {
        let t = Instant::now();
        let ll = k.low.join(", ");
        let hl = k.high.join(", ");
        let want_low = p.mode.uses_low() && !ll.is_empty();
        let want_high = p.mode.uses_high() && !hl.is_empty();
        // One embedding call for everything the mode needs, as upstream batches it.
        let mut texts = vec![p.query.clone()];
        if want_low {
            texts.push(ll.clone());
        }
        if want_high {
            texts.push(hl.clone());
        }
        let vectors = self.embed(&texts).await?;
        let query_vec = &vectors[0];
        let low_vec = want_low.then(|| &vectors[1]);
        let high_vec = want_high.then(|| &vectors[if want_low { 2 } else { 1 }]);

        // Hundreds of point lookups follow: one read transaction (one snapshot, one lock).
        let reranking = self.reranker(p).is_some();
        let gathered = self.store.read_snapshot(|| {
            let (local_entities, local_relations) = match low_vec {
                Some(v) => self.local_search(v, p.top_k, p.max_relation_tokens as i64)?,
                None => (Vec::new(), Vec::new()),
            };
            let (global_entities, global_relations) = match high_vec {
                Some(v) => self.global_search(v, p.top_k)?,
                None => (Vec::new(), Vec::new()),
            };
            let entities = context::round_robin(vec![local_entities, global_entities], |e: &EntityRow| e.name.clone());
            let relations = context::round_robin(vec![local_relations, global_relations], |r: &Lined<RelationRow>| {
                (r.row.src.clone(), r.row.tgt.clone())
            });
            let vector_chunks = if p.mode == QueryMode::Mix {
                self.chunk_search(query_vec, p.chunk_top_k)?
            } else {
                Vec::new()
            };
            timings.retrieval = ms(t);
            if entities.is_empty() && relations.is_empty() && vector_chunks.is_empty() {
                return Ok(None);
            }
            if entities.is_empty() && relations.is_empty() && p.mode != QueryMode::Mix {
                return Ok(None);
            }

            let t = Instant::now();
            let gathered = self.gather(p, entities, relations, vector_chunks, query_vec, reranking, trace)?;
            timings.context = ms(t);
            Ok(Some(gathered))
        })?;
        let Some(mut gathered) = gathered else {
            return Ok(None);
        };
        let t = Instant::now();
        let (chunks, scores) = self
            .rerank_chunks(p, std::mem::take(&mut gathered.chunks), trace)
            .await?;
        let assembled = finish_kg(p, gathered, chunks, &scores);
        timings.context += ms(t);
        Ok(Some(assembled))
    }

    /// Stages 1 and 2 of the graph context: the entities and relations within their budgets,
    /// and the chunks of both merged with the vector hits. With `reranking`, every chunk is
    /// read, since the reranker may put any of them in the context.
    #[allow(clippy::too_many_arguments)]
    fn gather(
        &self,
        p: &QueryParams,
        mut entities: Vec<EntityRow>,
        relations: Vec<Lined<RelationRow>>,
        vector_chunks: Vec<ChunkRecord>,
        query_vec: &[f32],
        reranking: bool,
        trace: &mut Trace,
    ) -> Result<Gathered> {
        // Stage 1: whole entities and relations within their token budgets.
        let entity_lines: Vec<String> = entities
            .iter()
            .map(|e| context::entity_line(&e.name, &e.entity_type, &e.description))
            .collect();
        let (keep, entity_tokens) = context::fitting_prefix(&entity_lines, p.max_entity_tokens as i64);
        entities.truncate(keep);
        let entity_text = entity_lines[..keep].join("\n");
        let (mut relations, relation_lines): (Vec<RelationRow>, Vec<String>) =
            relations.into_iter().map(|r| (r.row, r.line)).unzip();
        let (keep, relation_tokens) = context::fitting_prefix(&relation_lines, p.max_relation_tokens as i64);
        relations.truncate(keep);
        let relation_text = relation_lines[..keep].join("\n");

        // Stage 2: chunks of the surviving graph elements, merged with the vector hits.
        let entity_sources: Vec<ChunkSources> = entities
            .iter()
            .map(|e| ChunkSources {
                chunk_ids: e.source_ids.clone(),
            })
            .collect();
        let entity_chunks = self.pick_chunks(
            &entity_sources,
            &Default::default(),
            PickSide::Entities,
            query_vec,
            trace,
        )?;
        let taken: std::collections::HashSet<String> = entity_chunks.iter().cloned().collect();
        let relation_sources: Vec<ChunkSources> = relations
            .iter()
            .map(|r| ChunkSources {
                chunk_ids: r.source_ids.clone(),
            })
            .collect();
        let relation_chunks = self.pick_chunks(&relation_sources, &taken, PickSide::Relations, query_vec, trace)?;
        // Stage 3 keeps at most chunk_top_k of the merged list, and those come from the first
        // chunk_top_k of each list: each list's ids are distinct, so by then every one of them is
        // in the merged list, which therefore already holds at least that many. Rows past them
        // are not read (unless a reranker may pick them).
        let limit = if reranking { usize::MAX } else { p.chunk_top_k };
        let entity_chunks = self.chunks_by_ids(&entity_chunks, limit)?;
        let relation_chunks = self.chunks_by_ids(&relation_chunks, limit)?;
        let chunks = context::round_robin(
            vec![vector_chunks, entity_chunks, relation_chunks],
            |c: &ChunkRecord| c.chunk_id.clone(),
        );
        Ok(Gathered {
            entities,
            relations,
            entity_text,
            relation_text,
            entity_tokens,
            relation_tokens,
            chunks,
        })
    }

    /// The reranker this query uses: its `enable_rerank`, else the KB's default, and only
    /// when one is configured.
    fn reranker(&self, p: &QueryParams) -> Option<&Reranker> {
        if p.enable_rerank.unwrap_or(self.options.enable_rerank) {
            self.options.reranker.as_ref()
        } else {
            None
        }
    }

    /// Upstream's `process_chunks_unified` before the `chunk_top_k` cap: the chunks reranked
    /// (at most `chunk_top_k` of them, best first), then those scoring below
    /// `min_rerank_score` dropped. Without a reranker the chunks come back as they are; when
    /// it fails, too, with a warning. Also returns the scores by chunk id.
    async fn rerank_chunks(
        &self,
        p: &QueryParams,
        chunks: Vec<ChunkRecord>,
        trace: &mut Trace,
    ) -> Result<(Vec<ChunkRecord>, HashMap<String, f64>)> {
        let Some(reranker) = self.reranker(p) else {
            return Ok((chunks, HashMap::new()));
        };
        if chunks.is_empty() {
            return Ok((chunks, HashMap::new()));
        }
        let identity = reranker.identity();
        let mut report = RerankReport {
            binding: identity.binding.clone(),
            model: identity.model.clone(),
            candidates: chunks.len(),
            ranked: 0,
            below_min_score: 0,
            min_score: self.options.min_rerank_score,
            cached: false,
            fallback: None,
        };
        let documents: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
        let cache_key = (reranker.is_remote() && self.options.enable_llm_cache)
            .then(|| rerank_cache_key(reranker, &p.query, &documents, p.chunk_top_k));
        let cached = match &cache_key {
            Some(key) => self
                .store
                .cache_get(key)?
                .and_then(|(text, _)| serde_json::from_str::<Vec<crate::llm::rerank::Scored>>(&text).ok()),
            None => None,
        };
        report.cached = cached.is_some();
        let answer = match cached {
            Some(scored) => Ok(scored),
            None => reranker.rerank(&p.query, &documents, p.chunk_top_k).await,
        };
        let scored = match answer {
            Ok(scored) if !scored.is_empty() => scored,
            failed => {
                let why = match failed {
                    Err(e) => e.to_string(),
                    Ok(_) => "the reranker ranked none of the chunks".to_string(),
                };
                trace.warnings.push(format!(
                    "reranking failed ({why}); the chunks keep their retrieval order"
                ));
                report.fallback = Some(why);
                trace.rerank = Some(report);
                return Ok((chunks, HashMap::new()));
            }
        };
        if let Some(key) = &cache_key
            && !report.cached
        {
            let answer = CachedAnswer {
                cache_type: "rerank",
                chunk_id: None,
                response: serde_json::to_string(&scored).expect("scores serialize"),
                at: jiff::Timestamp::now().as_millisecond(),
            };
            self.store.cache_put(key, &answer)?;
        }
        let min = self.options.min_rerank_score;
        let mut slots: Vec<Option<ChunkRecord>> = chunks.into_iter().map(Some).collect();
        let mut kept = Vec::with_capacity(scored.len());
        let mut scores = HashMap::with_capacity(scored.len());
        for s in scored {
            let Some(chunk) = slots.get_mut(s.index).and_then(Option::take) else {
                continue; // an index answered twice counts once
            };
            report.ranked += 1;
            if min > 0.0 && s.relevance_score < min {
                report.below_min_score += 1;
                continue;
            }
            scores.insert(chunk.chunk_id.clone(), s.relevance_score);
            kept.push(chunk);
        }
        trace.rerank = Some(report);
        Ok((kept, scores))
    }

    /// Upstream's VECTOR chunk pick, falling back to WEIGHT when a vector is missing.
    fn pick_chunks(
        &self,
        sources: &[ChunkSources],
        exclude: &std::collections::HashSet<String>,
        side: PickSide,
        query_vec: &[f32],
        trace: &mut Trace,
    ) -> Result<Vec<String>> {
        let candidates = context::dedupe_by_rank(sources, exclude, side);
        if candidates.iter().all(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let all: Vec<String> = candidates.iter().flatten().cloned().collect();
        let vectors = self.chunk_vectors(&all)?;
        let num = context::vector_pick_count(candidates.len());
        let query = context::QueryVector::new(query_vec);
        let score = |id: &str| vectors.get(id).map(|v| query.cosine(&v.values, v.norm_sq));
        Ok(match context::pick_by_vector(&candidates, num, score) {
            Some(picked) => picked,
            None => {
                trace
                    .warnings
                    .push("some chunks have no stored vector; picked graph chunks by weight instead".into());
                context::pick_by_weighted_polling(&candidates, context::RELATED_CHUNK_NUMBER)
            }
        })
    }

    /// Naive mode: chunk vectors only; `None` when no chunk matches (or none is left after
    /// `min_rerank_score`).
    async fn naive_context(&self, p: &QueryParams, trace: &mut Trace) -> Result<Option<Assembled>> {
        let vectors = self.embed(std::slice::from_ref(&p.query)).await?;
        let found = self
            .store
            .read_snapshot(|| self.chunk_search(&vectors[0], p.chunk_top_k))?;
        let (found, scores) = self.rerank_chunks(p, found, trace).await?;
        if found.is_empty() {
            return Ok(None);
        }
        let template = prompts::answer_system(ContextKind::Chunks, &p.response_type, p.user_prompt.as_deref(), "");
        let used = context::count_tokens(&template) + context::count_tokens(&p.query) + BUDGET_RESERVE;
        let mut fitted = fit_chunks(found, p.chunk_top_k, p.max_total_tokens as i64 - used as i64);
        fitted.score(&scores);
        let context = context::render_chunks(
            &fitted.lines.join("\n"),
            &context::reference_lines(&references_pairs(&fitted.references)),
        );
        Ok(Some(Assembled {
            entities: Vec::new(),
            relations: Vec::new(),
            tokens: TokenCounts {
                chunks: fitted.tokens,
                ..TokenCounts::default()
            },
            chunks: fitted.chunks,
            references: fitted.references,
            context,
            kind: ContextKind::Chunks,
        }))
    }

    /// Entities matching the low-level keywords (vector order) and their relations, ranked
    /// by (edge degree, weight), highest first.
    ///
    /// The edges are ranked from the covering indexes, then whole rows are read in rank order
    /// only until one no longer fits `max_relation_tokens` on top of those before it. That
    /// cut cannot change the context: however this list is merged with another, the merged
    /// list holds every relation before the cut ahead of it, so its fitting prefix ends first.
    fn local_search(
        &self,
        vector: &[f32],
        top_k: usize,
        max_relation_tokens: i64,
    ) -> Result<(Vec<EntityRow>, Vec<Lined<RelationRow>>)> {
        let keys = self.search(VectorKind::Entities, vector, top_k)?;
        let entities = self.entities_by_keys(&keys)?;
        let names: Vec<String> = entities.iter().map(|e| e.name.clone()).collect();
        let edges = self.edges_of(&names)?;
        let mut endpoints: Vec<String> = edges.iter().flat_map(|e| [e.src.clone(), e.tgt.clone()]).collect();
        endpoints.sort();
        endpoints.dedup();
        let degree = self.degrees(&endpoints)?;
        let mut ranked: Vec<(usize, Edge)> = edges
            .into_iter()
            .map(|e| (degree[&e.src] + degree[&e.tgt], e))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.weight.total_cmp(&a.1.weight)));

        let mut budget = context::LineBudget::new(max_relation_tokens);
        let mut relations = Vec::new();
        let mut rest = &ranked[..];
        let mut batch = FIRST_RELATION_BATCH;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(batch.min(rest.len()));
            (rest, batch) = (later, batch * 2);
            let keys: Vec<u64> = now.iter().map(|(_, e)| e.key).collect();
            for r in self.relations_by_keys(&keys)? {
                let relation = Lined::relation(r);
                let fits = budget.add(&relation.line);
                relations.push(relation);
                if !fits {
                    return Ok((entities, relations));
                }
            }
        }
        Ok((entities, relations))
    }

    /// Relations matching the high-level keywords (vector order) and their endpoints in
    /// first-seen order.
    fn global_search(&self, vector: &[f32], top_k: usize) -> Result<(Vec<EntityRow>, Vec<Lined<RelationRow>>)> {
        let keys = self.search(VectorKind::Relations, vector, top_k)?;
        let relations = self.relations_by_keys(&keys)?;
        let mut names: Vec<String> = Vec::new();
        for r in &relations {
            for n in [&r.src, &r.tgt] {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        let relations = relations.into_iter().map(Lined::relation).collect();
        Ok((self.entities_by_names(&names)?, relations))
    }

    fn chunk_search(&self, vector: &[f32], top_k: usize) -> Result<Vec<ChunkRecord>> {
        let keys = self.search(VectorKind::Chunks, vector, top_k)?;
        self.store.chunks_by_keys(&keys)
    }

    /// The best `top_k` keys of a collection, cut at the first one below the threshold.
    fn search(&self, kind: VectorKind, vector: &[f32], top_k: usize) -> Result<Vec<u64>> {
        let Some(indexes) = &self.indexes else {
            return Ok(Vec::new());
        };
        let index = indexes.get(&self.store, kind)?;
        Ok(index
            .search(vector, top_k, self.options.cosine_threshold)?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let vectors = self.embedder.embed(texts).await?;
        if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != self.embedder.dim()) {
            return Err(Error::from(LlmError::BadResponse(format!(
                "the embedding server returned {} vectors for {} texts (expected {} dimensions each)",
                vectors.len(),
                texts.len(),
                self.embedder.dim()
            ))));
        }
        Ok(vectors)
    }

    /// The answer: from the cache (`{mode}:query:{hash}`) when allowed, else from the model,
    /// streamed to `sink` when asked. Never cached with history or when streamed.
    async fn answer(
        &self,
        p: &QueryParams,
        k: &Keywords,
        req: ChatRequest,
        sink: Option<Sink<'_>>,
        generation: u64,
        trace: &mut Trace,
    ) -> Result<(String, bool)> {
        let cacheable =
            self.options.enable_llm_cache && p.history.is_empty() && !p.stream && p.mode != QueryMode::Bypass;
        let key = cacheable.then(|| self.answer_cache_key(p, k));
        if let Some(key) = &key
            && let Some((text, _)) = self.store.cache_get(key)?
        {
            trace.cache_hits += 1;
            return Ok((text, false));
        }
        trace.llm_calls += 1;
        if p.stream {
            let mut rx = self.llm.chat_stream(&req).await?;
            let mut text = String::new();
            let mut sink = sink;
            while let Some(piece) = rx.recv().await {
                let piece = piece?;
                if let Some(s) = sink.as_mut() {
                    s(&piece);
                }
                text.push_str(&piece);
            }
            return Ok((text, sink.is_some()));
        }
        let answer = self.llm.chat(&req).await?;
        let text = normalize::remove_think_tags(&answer.text);
        if let Some(key) = &key
            && !answer.truncated
        {
            let now = jiff::Timestamp::now().as_millisecond();
            let answer = CachedAnswer {
                cache_type: "query",
                chunk_id: None,
                response: text.clone(),
                at: now,
            };
            self.store.cache_put_answer(key, &answer, generation)?;
        }
        Ok((text, false))
    }

    /// Upstream's answer cache key: every parameter that changes the answer, and the model.
    fn answer_cache_key(&self, p: &QueryParams, k: &Keywords) -> String {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        let numbers = [
            p.top_k,
            p.chunk_top_k,
            p.max_entity_tokens,
            p.max_relation_tokens,
            p.max_total_tokens,
        ]
        .map(|n| n.to_string());
        let (hl, ll) = (k.high.join(", "), k.low.join(", "));
        let identity = identity_json(&self.llm, "query");
        let hash = ids::compute_args_hash(&[
            "query-answer-cache-v2",
            p.mode.as_str(),
            &p.query,
            &p.response_type,
            &numbers[0],
            &numbers[1],
            &numbers[2],
            &numbers[3],
            &numbers[4],
            &hl,
            &ll,
            p.user_prompt.as_deref().unwrap_or(""),
            py_bool(p.enable_rerank.unwrap_or(self.options.enable_rerank)),
            py_bool(true), // enable_content_headings
            "\n<llm_identity>\n",
            &identity,
        ]);
        // The reranker picks the chunks the answer is made from: an answer made with one is
        // not another's (upstream's key leaves it out; without a reranker the key is upstream's).
        let hash = match self.reranker(p) {
            Some(r) => ids::compute_args_hash(&[
                &hash,
                "\n<rerank_identity>\n",
                &r.identity_json(),
                &r.chunking_label(),
                &self.options.min_rerank_score.to_string(),
            ]),
            None => hash,
        };
        format!("{}:query:{hash}", p.mode.as_str())
    }
}

fn answer_task(p: &QueryParams, k: &Keywords, chunks: &[(String, String)], refs: &[(String, String)]) -> Task {
    Task::Answer {
        query: p.query.clone(),
        keywords: k.low.iter().chain(&k.high).cloned().collect(),
        chunks: chunks.to_vec(),
        references: refs.to_vec(),
    }
}

/// Gives the result's references, chunks, entities and relations the answer's numbering
/// (see [`citations`]): cited files first, in order of first citation, each marked.
fn apply_numbering(result: &mut QueryResult, mapping: &[(String, String, bool)]) {
    let new_id = |old: &str| {
        mapping
            .iter()
            .find(|(o, _, _)| o == old)
            .map(|(_, n, c)| (n.clone(), *c))
    };
    for r in &mut result.references {
        if let Some((id, cited)) = new_id(&r.reference_id) {
            r.reference_id = id;
            r.cited = Some(cited);
        }
    }
    result
        .references
        .sort_by_key(|r| r.reference_id.parse::<usize>().unwrap_or(usize::MAX));
    let ids = result
        .chunks
        .iter_mut()
        .map(|c| &mut c.reference_id)
        .chain(result.entities.iter_mut().map(|e| &mut e.reference_id))
        .chain(result.relations.iter_mut().map(|r| &mut r.reference_id));
    for id in ids {
        if let Some((new, _)) = new_id(id) {
            *id = new;
        }
    }
}

fn finish(mut result: QueryResult, trace: Trace, mut timings: Timings, started: Instant) -> QueryResult {
    timings.total = ms(started);
    result.timings_ms = timings;
    result.llm_calls = trace.llm_calls;
    result.cache_hits = trace.cache_hits;
    result.warnings = trace.warnings;
    result.rerank = trace.rerank;
    result
}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// `{binding, host, model, role}` as compact JSON with sorted keys (upstream's identity_json).
fn identity_json(llm: &Provider, role: &str) -> String {
    let id = llm.identity();
    // Keys written in sorted order; serde_json keeps insertion order here.
    serde_json::json!({"binding": id.binding, "host": id.host, "model": id.model, "role": role}).to_string()
}

/// A graph row with its JSON line in the context, written once: the local search writes it to
/// fill the relation budget, and the context shows the same text.
struct Lined<T> {
    row: T,
    line: String,
}

impl Lined<RelationRow> {
    fn relation(row: RelationRow) -> Self {
        let line = context::relation_line(&row.src, &row.tgt, &row.description);
        Lined { row, line }
    }
}

/// The chunks of a context after stage 3, numbered (stage 4).
struct FittedChunks {
    chunks: Vec<UsedChunk>,
    references: Vec<Reference>,
    /// The chunks' JSON lines and their token count joined.
    lines: Vec<String>,
    tokens: usize,
}

impl FittedChunks {
    /// Gives each chunk its rerank score, if it has one.
    fn score(&mut self, scores: &HashMap<String, f64>) {
        for c in &mut self.chunks {
            c.rerank_score = scores.get(&c.chunk_id).copied();
        }
    }
}

/// Stages 1 and 2 of a graph context: what stage 3 fits the chunks around.
struct Gathered {
    entities: Vec<EntityRow>,
    relations: Vec<RelationRow>,
    entity_text: String,
    relation_text: String,
    entity_tokens: usize,
    relation_tokens: usize,
    /// The merged chunk list (graph chunks and vector hits), before any reranking.
    chunks: Vec<ChunkRecord>,
}

/// Stages 3 and 4 of the graph context: what is left of the total budget goes to `chunks`
/// (reranked or not), then the references and the rendered context.
fn finish_kg(p: &QueryParams, g: Gathered, chunks: Vec<ChunkRecord>, scores: &HashMap<String, f64>) -> Assembled {
    let empty_context = context::render_kg(&g.entity_text, &g.relation_text, "", "");
    let template = prompts::answer_system(ContextKind::Graph, &p.response_type, p.user_prompt.as_deref(), "");
    let used = context::count_tokens(&template)
        + context::count_tokens(&empty_context)
        + context::count_tokens(&p.query)
        + BUDGET_RESERVE;
    let available = p.max_total_tokens as i64 - used as i64;

    let mut fitted = fit_chunks(chunks, p.chunk_top_k, available);
    fitted.score(scores);
    let reference_text = context::reference_lines(&references_pairs(&fitted.references));
    let context = context::render_kg(
        &g.entity_text,
        &g.relation_text,
        &fitted.lines.join("\n"),
        &reference_text,
    );
    let tokens = TokenCounts {
        entities: g.entity_tokens,
        relations: g.relation_tokens,
        chunks: fitted.tokens,
        prompt: 0,
    };
    Assembled {
        entities: g.entities.iter().map(|e| used_entity(e, &fitted.references)).collect(),
        relations: g
            .relations
            .iter()
            .map(|r| used_relation(r, &fitted.references))
            .collect(),
        chunks: fitted.chunks,
        references: fitted.references,
        tokens,
        context,
        kind: ContextKind::Graph,
    }
}

/// The LLM-cache key of a rerank answer: the question, every document in order, `top_n` and
/// who reranks (binding, host, model), so that no other question, chunk set or model reads it.
fn rerank_cache_key(reranker: &Reranker, query: &str, documents: &[String], top_n: usize) -> String {
    let documents = serde_json::to_string(documents).expect("strings serialize");
    let hash = ids::compute_args_hash(&[
        "rerank-cache-v1",
        query,
        &top_n.to_string(),
        &reranker.chunking_label(),
        &reranker.identity_json(),
        &documents,
    ]);
    format!("default:rerank:{hash}")
}

/// Stage 3's cuts: at most `chunk_top_k` chunks, then whole chunks while their JSON lines fit
/// in `available` tokens; then the kept chunks numbered.
fn fit_chunks(chunks: Vec<ChunkRecord>, chunk_top_k: usize, available: i64) -> FittedChunks {
    let mut chunks = chunks;
    chunks.truncate(chunk_top_k);
    // Reference ids are not known before the cut; budget with the ids the uncut list would get.
    let (mut used, references) = with_references(chunks);
    let lines = chunk_lines(&used);
    let (keep, tokens) = context::fitting_prefix(&lines, available);
    if keep == used.len() {
        return FittedChunks {
            chunks: used,
            references,
            lines,
            tokens,
        };
    }
    // The cut can change the file counts and with them the reference ids: number again.
    used.truncate(keep);
    let chunks = used
        .into_iter()
        .map(|c| ChunkRecord {
            chunk_id: c.chunk_id,
            content: c.content,
            file_path: c.file_path,
            pages: c.pages.map(|[a, b]| (a, b)),
        })
        .collect();
    let (used, references) = with_references(chunks);
    let lines = chunk_lines(&used);
    FittedChunks {
        tokens: context::lines_tokens(&lines),
        chunks: used,
        references,
        lines,
    }
}

fn chunk_lines(chunks: &[UsedChunk]) -> Vec<String> {
    chunks
        .iter()
        .map(|c| context::chunk_line(&c.reference_id, &c.content))
        .collect()
}

/// Numbers the chunks' files and gives each chunk its reference id.
fn with_references(chunks: Vec<ChunkRecord>) -> (Vec<UsedChunk>, Vec<Reference>) {
    let paths: Vec<&str> = chunks.iter().map(|c| c.file_path.as_str()).collect();
    let refs = context::reference_list(&paths);
    let used = chunks
        .into_iter()
        .map(|c| UsedChunk {
            reference_id: reference_of(&refs, &c.file_path),
            content: c.content,
            file_path: c.file_path,
            chunk_id: c.chunk_id,
            pages: c.pages.map(|(a, b)| [a, b]),
            rerank_score: None,
        })
        .collect::<Vec<UsedChunk>>();
    let references = refs
        .into_iter()
        .map(|(reference_id, file_path)| Reference {
            pages: merge_ranges(
                used.iter()
                    .filter(|c| c.file_path == file_path)
                    .filter_map(|c| c.pages)
                    .collect(),
            ),
            reference_id,
            file_path,
            cited: None,
        })
        .collect();
    (used, references)
}

fn reference_of(refs: &[(String, String)], path: &str) -> String {
    refs.iter()
        .find(|(_, p)| p == path)
        .map(|(id, _)| id.clone())
        .unwrap_or_default()
}

fn references_pairs(refs: &[Reference]) -> Vec<(String, String)> {
    refs.iter().map(|r| (r.reference_id.clone(), r.label())).collect()
}

/// The first of `paths` that the reference list names.
fn first_reference(refs: &[Reference], paths: &[String]) -> String {
    paths
        .iter()
        .find_map(|p| refs.iter().find(|r| &r.file_path == p))
        .map(|r| r.reference_id.clone())
        .unwrap_or_default()
}

fn used_entity(e: &EntityRow, refs: &[Reference]) -> UsedEntity {
    UsedEntity {
        entity_name: e.name.clone(),
        entity_type: e.entity_type.clone(),
        description: e.description.clone(),
        source_id: e.source_ids.join(SEP),
        file_path: e.file_paths.join(SEP),
        created_at: e.created_at,
        reference_id: first_reference(refs, &e.file_paths),
    }
}

fn used_relation(r: &RelationRow, refs: &[Reference]) -> UsedRelation {
    UsedRelation {
        src_id: r.src.clone(),
        tgt_id: r.tgt.clone(),
        description: r.description.clone(),
        keywords: r.keywords.clone(),
        weight: r.weight,
        source_id: r.source_ids.join(SEP),
        file_path: r.file_paths.join(SEP),
        created_at: r.created_at,
        reference_id: first_reference(refs, &r.file_paths),
    }
}

/// A KB's vector indexes, opened lazily: a naive query needs only the chunk index and a local
/// one only the entity index (opening one maps its file and checks its stamp, see
/// `store::mapped`).
struct Indexes {
    dim: usize,
    opened: [Mutex<Option<Arc<VectorIndex>>>; 3],
}

impl Indexes {
    /// The index of `kind`, read from its file (or rebuilt from kb.db when the file is stale).
    fn get(&self, store: &KbStore, kind: VectorKind) -> Result<Arc<VectorIndex>> {
        let i = VectorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let mut slot = self.opened[i].lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = &*slot {
            return Ok(index.clone());
        }
        let expected = Fingerprint {
            dim: self.dim,
            count: store.vector_count(kind)?,
            generation: store.generation()?,
        };
        let path = crate::store::vectors::index_path(store.dir(), kind.name());
        let (index, _) = VectorIndex::open_for_search(&path, self.dim, &expected, || store.vectors(kind))?;
        let index = Arc::new(index);
        *slot = Some(index.clone());
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_upstream_limits() {
        let ok = QueryParams::new("Who is Ada?", QueryMode::Mix);
        ok.validate().unwrap();
        assert!(QueryParams::new("  ", QueryMode::Bypass).validate().is_err());
        assert!(QueryParams::new("ab", QueryMode::Local).validate().is_err());
        QueryParams::new("ab", QueryMode::Bypass).validate().unwrap();
        QueryParams::new("北京", QueryMode::Naive).validate().unwrap();
        let mut big = ok.clone();
        big.top_k = 1001;
        assert!(big.validate().is_err());
        let mut budget = ok;
        budget.max_total_tokens = MAX_TOKEN_BUDGET + 1;
        assert!(budget.validate().is_err());
    }

    #[test]
    fn references_carry_the_pages_of_their_chunks() {
        let chunk = |id: &str, path: &str, pages| ChunkRecord {
            chunk_id: id.into(),
            content: format!("text of {id}"),
            file_path: path.into(),
            pages,
        };
        let (used, refs) = with_references(vec![
            chunk("a", "report.pdf", Some((12, 13))),
            chunk("b", "report.pdf", Some((20, 20))),
            chunk("c", "report.pdf", Some((13, 14))),
            chunk("d", "notes.md", None),
        ]);
        assert_eq!(used[0].pages, Some([12, 13]));
        assert_eq!(refs[0].pages, [[12, 14], [20, 20]]);
        assert_eq!(refs[0].label(), "report.pdf p. 12–14, 20");
        assert_eq!(refs[1].label(), "notes.md");
        let json = serde_json::to_value(&refs).unwrap();
        assert_eq!(json[0]["pages"], serde_json::json!([[12, 14], [20, 20]]));
        assert!(json[1].get("pages").is_none(), "no pages key for a file without pages");
        assert_eq!(
            context::reference_lines(&references_pairs(&refs)),
            "[1] report.pdf p. 12–14, 20\n[2] notes.md"
        );
    }

    #[test]
    fn references_follow_file_frequency() {
        let chunk = |id: &str, path: &str| ChunkRecord {
            chunk_id: id.into(),
            content: format!("text of {id}"),
            file_path: path.into(),
            pages: None,
        };
        let (used, refs) = with_references(vec![chunk("a", "x.md"), chunk("b", "y.md"), chunk("c", "y.md")]);
        let ids: Vec<_> = used.iter().map(|c| c.reference_id.as_str()).collect();
        assert_eq!(ids, ["2", "1", "1"]);
        assert_eq!(refs[0].file_path, "y.md");
        assert_eq!(first_reference(&refs, &["z.md".into(), "x.md".into()]), "2");
        let kept = fit_chunks(vec![chunk("a", "x.md"), chunk("b", "y.md")], 1, 1000);
        assert_eq!(kept.chunks.len(), 1);
        assert_eq!(kept.lines, [r#"{"reference_id": "1", "content": "text of a"}"#]);
        assert_eq!(kept.tokens, context::count_tokens(&kept.lines[0]));
        assert!(fit_chunks(vec![chunk("a", "x.md")], 5, 3).chunks.is_empty());
        // A budget cut that changes the file counts numbers the references again.
        let three = vec![chunk("a", "x.md"), chunk("b", "y.md"), chunk("c", "y.md")];
        let full = context::count_tokens(&chunk_lines(&with_references(three.clone()).0).join("\n"));
        let cut = fit_chunks(three, 5, full as i64 - 1);
        assert_eq!(cut.chunks.len(), 2);
        assert_eq!((cut.chunks[0].reference_id.as_str(), cut.references.len()), ("1", 2));
        assert_eq!(cut.tokens, context::count_tokens(&cut.lines.join("\n")));
    }
}
