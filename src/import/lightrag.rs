//! Reading an upstream LightRAG working directory (the default file backends, section 5.2 of
//! the reference): `kv_store_full_docs.json`, `kv_store_doc_status.json`,
//! `kv_store_text_chunks.json`, `graph_chunk_entity_relation.graphml`, the optional
//! chunk-tracking and per-document recovery KV files, `kv_store_llm_response_cache.json`, and
//! the nano-vectordb files `vdb_chunks.json`, `vdb_entities.json`, `vdb_relationships.json`.
//!
//! Nothing in the directory is trusted: only the fixed file names above are opened (regular
//! files only, no symbolic links, at most [`MAX_FILE_BYTES`] each), every value is type-checked,
//! and rows that point at missing rows (a chunk of an unknown document, an edge to an unknown
//! node) are skipped with a warning instead of being imported half-way. A file that is not
//! the JSON or GraphML it should be is an error naming that file. The result is plain data
//! ([`Parsed`]); nothing is written here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::rag::ids::{compute_mdhash_id, relation_vdb_id};
use crate::store::kb::{ExtractionRow, SEP};
use crate::store::transfer::{ImportCacheEntry, ImportChunk, ImportDocument, ImportEntity, ImportRelation, ImportRows};

/// The largest file read (upstream keeps whole stores in memory too; this bounds ours).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

pub const FULL_DOCS: &str = "kv_store_full_docs.json";
pub const DOC_STATUS: &str = "kv_store_doc_status.json";
pub const TEXT_CHUNKS: &str = "kv_store_text_chunks.json";
pub const LLM_CACHE: &str = "kv_store_llm_response_cache.json";
pub const FULL_ENTITIES: &str = "kv_store_full_entities.json";
pub const FULL_RELATIONS: &str = "kv_store_full_relations.json";
pub const ENTITY_CHUNKS: &str = "kv_store_entity_chunks.json";
pub const RELATION_CHUNKS: &str = "kv_store_relation_chunks.json";
pub const GRAPH: &str = "graph_chunk_entity_relation.graphml";
pub const VDB_CHUNKS: &str = "vdb_chunks.json";
pub const VDB_ENTITIES: &str = "vdb_entities.json";
pub const VDB_RELATIONS: &str = "vdb_relationships.json";

/// Why a working directory cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum LightragError {
    #[error("{dir} is not a LightRAG working directory: {file} is missing")]
    Missing { dir: PathBuf, file: &'static str },
    #[error("{file}: {why}")]
    Malformed { file: PathBuf, why: String },
    #[error("{file} is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { file: PathBuf },
    #[error("cannot read {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<LightragError> for crate::Error {
    fn from(e: LightragError) -> Self {
        match e {
            LightragError::Io { .. } => crate::Error::storage("cannot import the LightRAG directory", e),
            other => crate::Error::Usage(other.to_string()),
        }
    }
}

type R<T> = std::result::Result<T, LightragError>;

/// The vectors of one nano-vectordb file, by row id.
#[derive(Debug, Clone, Default)]
pub struct VdbVectors {
    pub dim: usize,
    pub by_id: HashMap<String, Vec<f32>>,
}

/// The three vector files (each `None` when absent or without a usable matrix; the reason
/// is in [`Parsed::vector_problems`]).
#[derive(Debug, Clone, Default)]
pub struct Vdb {
    pub chunks: Option<VdbVectors>,
    pub entities: Option<VdbVectors>,
    pub relations: Option<VdbVectors>,
}

/// Everything read from a working directory. Embeddings in `rows` are empty: the caller
/// fills them from `vdb` or by embedding again.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub rows: ImportRows,
    pub vdb: Vdb,
    pub vector_problems: Vec<String>,
    pub warnings: Vec<String>,
}

impl Parsed {
    /// Fills every row's embedding from the vdb files, if they cover every row with vectors of
    /// `dim` dimensions; otherwise says why not (and changes nothing).
    pub fn take_vdb_vectors(&mut self, dim: usize) -> std::result::Result<(), String> {
        if let Some(p) = self.vector_problems.first() {
            return Err(p.clone());
        }
        let (Some(c), Some(e), Some(r)) = (&self.vdb.chunks, &self.vdb.entities, &self.vdb.relations) else {
            return Err("a vdb file is missing".into());
        };
        for (file, v) in [(VDB_CHUNKS, c), (VDB_ENTITIES, e), (VDB_RELATIONS, r)] {
            if v.dim != dim {
                return Err(format!(
                    "{file} has {} dimensions, the configured embedding model has {dim}",
                    v.dim
                ));
            }
        }
        let mut chunk_vecs = Vec::with_capacity(self.rows.chunks.len());
        for chunk in &self.rows.chunks {
            chunk_vecs.push(
                c.by_id
                    .get(&chunk.chunk_id)
                    .ok_or_else(|| format!("{VDB_CHUNKS} has no vector for chunk {}", chunk.chunk_id))?,
            );
        }
        let mut entity_vecs = Vec::with_capacity(self.rows.entities.len());
        for ent in &self.rows.entities {
            let id = compute_mdhash_id(&ent.name, "ent-");
            entity_vecs.push(
                e.by_id
                    .get(&id)
                    .ok_or_else(|| format!("{VDB_ENTITIES} has no vector for entity {:?}", ent.name))?,
            );
        }
        let mut relation_vecs = Vec::with_capacity(self.rows.relations.len());
        for rel in &self.rows.relations {
            let id = relation_vdb_id(&rel.src, &rel.tgt);
            let reverse = compute_mdhash_id(&format!("{}{}", rel.tgt, rel.src), "rel-");
            relation_vecs.push(r.by_id.get(&id).or_else(|| r.by_id.get(&reverse)).ok_or_else(|| {
                format!(
                    "{VDB_RELATIONS} has no vector for relation {:?} - {:?}",
                    rel.src, rel.tgt
                )
            })?);
        }
        let (chunk_vecs, entity_vecs, relation_vecs): (Vec<_>, Vec<_>, Vec<_>) = (
            chunk_vecs.into_iter().cloned().collect(),
            entity_vecs.into_iter().cloned().collect(),
            relation_vecs.into_iter().cloned().collect(),
        );
        for (row, v) in self.rows.chunks.iter_mut().zip(chunk_vecs) {
            row.embedding = v;
        }
        for (row, v) in self.rows.entities.iter_mut().zip(entity_vecs) {
            row.embedding = v;
        }
        for (row, v) in self.rows.relations.iter_mut().zip(relation_vecs) {
            row.embedding = v;
        }
        Ok(())
    }

    /// Gives every row a zero vector of `dim` dimensions (placeholders before re-embedding).
    pub fn zero_vectors(&mut self, dim: usize) {
        let zero = vec![0.0f32; dim];
        self.rows.chunks.iter_mut().for_each(|r| r.embedding = zero.clone());
        self.rows.entities.iter_mut().for_each(|r| r.embedding = zero.clone());
        self.rows.relations.iter_mut().for_each(|r| r.embedding = zero.clone());
    }
}

/// Reads a file named `name` in `dir` (`None` when absent), refusing anything but a regular
/// file of bounded size.
fn read_file(dir: &Path, name: &'static str) -> R<Option<Vec<u8>>> {
    let path = dir.join(name);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LightragError::Io { file: path, source }),
    };
    if !meta.is_file() {
        return Err(LightragError::Malformed {
            file: path,
            why: "not a regular file (symbolic links are not followed)".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(LightragError::TooLarge { file: path });
    }
    std::fs::read(&path)
        .map(Some)
        .map_err(|source| LightragError::Io { file: path, source })
}

/// A KV store file: one JSON object `{id: record}`.
fn read_kv(dir: &Path, name: &'static str) -> R<Option<Map<String, Value>>> {
    let Some(bytes) = read_file(dir, name)? else {
        return Ok(None);
    };
    let malformed = |why: String| LightragError::Malformed {
        file: dir.join(name),
        why,
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(malformed("expected one JSON object of records".into())),
        Err(e) => Err(malformed(format!("invalid JSON ({e})"))),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn int_of(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    }
}

fn list_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn split_sep(s: &str) -> Vec<String> {
    s.split(SEP)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// An upstream ISO-8601 time (or Unix seconds) as lrt's RFC 3339 text.
fn iso_time(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let ts = s.parse::<jiff::Timestamp>().ok().or_else(|| {
                s.parse::<jiff::civil::DateTime>()
                    .ok()
                    .and_then(|d| jiff::tz::TimeZone::UTC.to_timestamp(d).ok())
            })?;
            Some(crate::time::format(ts))
        }
        Value::Number(n) => jiff::Timestamp::from_second(n.as_f64()? as i64)
            .ok()
            .map(crate::time::format),
        _ => None,
    }
}

fn status_of(raw: &str) -> &'static str {
    match raw.to_ascii_lowercase().as_str() {
        "processed" => "processed",
        "failed" => "failed",
        // pending, parsing, analyzing, processing, preprocessed: lrt picks these up again on
        // the next ingest run.
        _ => "pending",
    }
}

/// Decodes a nano-vectordb file's row ids and its `matrix` (base64 of row-major
/// little-endian f32, N × D).
fn read_vdb(dir: &Path, name: &'static str) -> R<std::result::Result<VdbVectors, String>> {
    let Some(bytes) = read_file(dir, name)? else {
        return Ok(Err(format!("{name} is missing")));
    };
    let malformed = |why: String| LightragError::Malformed {
        file: dir.join(name),
        why,
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| malformed(format!("invalid JSON ({e})")))?;
    let dim = value
        .get("embedding_dim")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("no embedding_dim".into()))? as usize;
    if dim == 0 || dim > 65_536 {
        return Err(malformed(format!("embedding_dim {dim} is out of range")));
    }
    let data = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no data array".into()))?;
    let ids: Vec<&str> = data
        .iter()
        .map(|row| str_of(row, "__id__").ok_or_else(|| malformed("a row has no __id__".into())))
        .collect::<R<_>>()?;
    let Some(matrix) = value.get("matrix").and_then(Value::as_str) else {
        return Ok(Err(format!("{name} has no matrix")));
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(matrix)
        .map_err(|e| malformed(format!("matrix is not base64 ({e})")))?;
    if raw.len() != ids.len() * dim * 4 {
        return Err(malformed(format!(
            "matrix has {} bytes, expected {} rows × {dim} dimensions × 4",
            raw.len(),
            ids.len()
        )));
    }
    let by_id = ids
        .into_iter()
        .zip(raw.chunks_exact(dim * 4))
        .map(|(id, row)| {
            let v = row
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (id.to_string(), v)
        })
        .collect();
    Ok(Ok(VdbVectors { dim, by_id }))
}

/// A GraphML node or edge: its attributes by name.
type Attrs = HashMap<String, String>;

/// Reads the networkx GraphML: nodes (id → attributes) and edges ((source, target) → attributes).
#[allow(clippy::type_complexity)]
fn read_graph(dir: &Path) -> R<Option<(Vec<(String, Attrs)>, Vec<(String, String, Attrs)>)>> {
    let Some(bytes) = read_file(dir, GRAPH)? else {
        return Ok(None);
    };
    let malformed = |why: String| LightragError::Malformed {
        file: dir.join(GRAPH),
        why,
    };
    let text = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8".into()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| malformed(format!("invalid XML ({e})")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "graphml" {
        return Err(malformed("the root element is not <graphml>".into()));
    }
    let mut keys: HashMap<&str, &str> = HashMap::new();
    for key in root.children().filter(|n| n.has_tag_name("key")) {
        if let (Some(id), Some(name)) = (key.attribute("id"), key.attribute("attr.name")) {
            keys.insert(id, name);
        }
    }
    let attrs = |node: roxmltree::Node<'_, '_>| -> Attrs {
        node.children()
            .filter(|n| n.has_tag_name("data"))
            .filter_map(|d| {
                let key = d.attribute("key")?;
                let name = keys.get(key).copied().unwrap_or(key);
                Some((name.to_string(), d.text().unwrap_or("").to_string()))
            })
            .collect()
    };
    let Some(graph) = root.children().find(|n| n.has_tag_name("graph")) else {
        return Err(malformed("no <graph> element".into()));
    };
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for n in graph.children().filter(roxmltree::Node::is_element) {
        match n.tag_name().name() {
            "node" => {
                let id = n.attribute("id").ok_or_else(|| malformed("a node has no id".into()))?;
                nodes.push((id.to_string(), attrs(n)));
            }
            "edge" => {
                let (Some(s), Some(t)) = (n.attribute("source"), n.attribute("target")) else {
                    return Err(malformed("an edge has no source or target".into()));
                };
                edges.push((s.to_string(), t.to_string(), attrs(n)));
            }
            _ => {}
        }
    }
    Ok(Some((nodes, edges)))
}

/// Reads the working directory `dir`. `kv_store_full_docs.json` and
/// `kv_store_text_chunks.json` are required; everything else is used when present.
pub fn read(dir: &Path) -> R<Parsed> {
    let meta = std::fs::metadata(dir).map_err(|source| LightragError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(LightragError::Malformed {
            file: dir.to_path_buf(),
            why: "not a directory".into(),
        });
    }
    let missing = |file| LightragError::Missing {
        dir: dir.to_path_buf(),
        file,
    };
    let full_docs = read_kv(dir, FULL_DOCS)?.ok_or_else(|| missing(FULL_DOCS))?;
    let text_chunks = read_kv(dir, TEXT_CHUNKS)?.ok_or_else(|| missing(TEXT_CHUNKS))?;
    let doc_status = read_kv(dir, DOC_STATUS)?.unwrap_or_default();
    let cache = read_kv(dir, LLM_CACHE)?.unwrap_or_default();
    let full_entities = read_kv(dir, FULL_ENTITIES)?;
    let full_relations = read_kv(dir, FULL_RELATIONS)?;
    let entity_chunks = read_kv(dir, ENTITY_CHUNKS)?.unwrap_or_default();
    let relation_chunks = read_kv(dir, RELATION_CHUNKS)?.unwrap_or_default();
    let graph = read_graph(dir)?;
    let mut out = Parsed::default();
    let now = crate::time::now();
    let now_secs = jiff::Timestamp::now().as_second();

    // Documents: full_docs holds the text, doc_status the state.
    let mut docs = BTreeMap::new();
    for (doc_id, rec) in &full_docs {
        let Some(content) = str_of(rec, "content") else {
            out.warnings
                .push(format!("{FULL_DOCS}: document {doc_id} has no content; skipped"));
            continue;
        };
        let status = doc_status.get(doc_id);
        let file_path = status
            .and_then(|s| str_of(s, "file_path"))
            .or_else(|| str_of(rec, "file_path"))
            .unwrap_or("unknown_source")
            .to_string();
        let created = status
            .and_then(|s| iso_time(s.get("created_at")))
            .or_else(|| iso_time(rec.get("create_time")))
            .unwrap_or_else(|| now.clone());
        let updated = status
            .and_then(|s| iso_time(s.get("updated_at")))
            .or_else(|| iso_time(rec.get("update_time")))
            .unwrap_or_else(|| created.clone());
        let state = status
            .and_then(|s| str_of(s, "status"))
            .map(status_of)
            .unwrap_or("processed");
        docs.insert(
            doc_id.clone(),
            ImportDocument {
                doc_id: doc_id.clone(),
                file_path,
                content: content.to_string(),
                content_hash: compute_mdhash_id(content, ""),
                status: state.to_string(),
                error: status
                    .and_then(|s| str_of(s, "error_msg"))
                    .filter(|e| !e.is_empty())
                    .map(str::to_string),
                created_at: created,
                updated_at: updated,
            },
        );
    }
    let skipped_status = doc_status.keys().filter(|k| !docs.contains_key(*k)).count();
    if skipped_status > 0 {
        out.warnings.push(format!(
            "{DOC_STATUS}: {skipped_status} row(s) without a document in {FULL_DOCS} (e.g. duplicate attempts) skipped"
        ));
    }

    // Chunks.
    let mut chunk_doc: HashMap<String, String> = HashMap::new();
    let mut orders: HashSet<(String, i64)> = HashSet::new();
    let mut chunks = Vec::new();
    let mut orphans = 0usize;
    for (chunk_id, rec) in &text_chunks {
        let (Some(content), Some(doc_id)) = (str_of(rec, "content"), str_of(rec, "full_doc_id")) else {
            return Err(LightragError::Malformed {
                file: dir.join(TEXT_CHUNKS),
                why: format!("chunk {chunk_id} has no content or full_doc_id"),
            });
        };
        let Some(doc) = docs.get(doc_id) else {
            orphans += 1;
            continue;
        };
        let order = int_of(rec, "chunk_order_index").unwrap_or(chunks.len() as i64);
        if !orders.insert((doc_id.to_string(), order)) {
            out.warnings.push(format!(
                "{TEXT_CHUNKS}: chunk {chunk_id} repeats order {order} of {doc_id}; skipped"
            ));
            continue;
        }
        chunk_doc.insert(chunk_id.clone(), doc_id.to_string());
        chunks.push(ImportChunk {
            chunk_id: chunk_id.clone(),
            doc_id: doc_id.to_string(),
            order,
            tokens: int_of(rec, "tokens").unwrap_or(0),
            content: content.to_string(),
            file_path: str_of(rec, "file_path").unwrap_or(&doc.file_path).to_string(),
            embedding: Vec::new(),
        });
        // The extraction answers, when the cache still has them (first pass, then gleaning).
        let extract: Vec<(String, &Value)> = list_of(rec, "llm_cache_list")
            .into_iter()
            .filter_map(|k| cache.get(&k).map(|v| (k, v)))
            .filter(|(k, v)| str_of(v, "cache_type") == Some("extract") || k.contains(":extract:"))
            .collect();
        if let Some((_, first)) = extract.first()
            && let Some(result) = str_of(first, "return")
        {
            out.rows.extractions.push(ExtractionRow {
                chunk_id: chunk_id.clone(),
                result: result.to_string(),
                glean: extract
                    .get(1)
                    .and_then(|(_, v)| str_of(v, "return"))
                    .map(str::to_string),
                cache_keys: extract.iter().map(|(k, _)| k.clone()).collect(),
                extracted_at: int_of(first, "create_time").unwrap_or(now_secs),
            });
        }
    }
    if orphans > 0 {
        out.warnings.push(format!(
            "{TEXT_CHUNKS}: {orphans} chunk(s) of unknown documents skipped"
        ));
    }

    // The graph.
    let (nodes, edges) = graph.unwrap_or_default();
    if nodes.is_empty() && !chunks.is_empty() {
        out.warnings.push(format!(
            "{GRAPH} is missing or empty: no entities or relations imported"
        ));
    }
    let mut names = HashSet::new();
    for (id, a) in nodes {
        let name = a.get("entity_id").filter(|n| !n.is_empty()).cloned().unwrap_or(id);
        if !names.insert(name.clone()) {
            out.warnings
                .push(format!("{GRAPH}: node {name:?} appears twice; kept the first"));
            continue;
        }
        let source_ids = split_sep(a.get("source_id").map(String::as_str).unwrap_or(""));
        let all_source_ids = entity_chunks
            .get(&name)
            .map(|v| list_of(v, "chunk_ids"))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| source_ids.clone());
        out.rows.entities.push(ImportEntity {
            entity_type: a
                .get("entity_type")
                .filter(|t| !t.is_empty())
                .cloned()
                .unwrap_or_else(|| "UNKNOWN".into()),
            description: a.get("description").cloned().unwrap_or_default(),
            source_ids,
            all_source_ids,
            file_paths: split_sep(a.get("file_path").map(String::as_str).unwrap_or("")),
            truncate: a.get("truncate").cloned().unwrap_or_default(),
            created_at: a
                .get("created_at")
                .and_then(|s| s.trim().parse::<f64>().ok())
                .map_or(now_secs, |f| f as i64),
            embedding: Vec::new(),
            name,
        });
    }
    let mut pairs = HashSet::new();
    for (s, t, a) in edges {
        if s == t {
            out.warnings.push(format!("{GRAPH}: self-loop on {s:?} skipped"));
            continue;
        }
        if !names.contains(&s) || !names.contains(&t) {
            out.warnings
                .push(format!("{GRAPH}: edge {s:?} - {t:?} to an unknown node skipped"));
            continue;
        }
        let (src, tgt) = if s < t { (s, t) } else { (t, s) };
        if !pairs.insert((src.clone(), tgt.clone())) {
            out.warnings
                .push(format!("{GRAPH}: edge {src:?} - {tgt:?} appears twice; kept the first"));
            continue;
        }
        let source_ids = split_sep(a.get("source_id").map(String::as_str).unwrap_or(""));
        let all_source_ids = relation_chunks
            .get(&format!("{src}{SEP}{tgt}"))
            .map(|v| list_of(v, "chunk_ids"))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| source_ids.clone());
        out.rows.relations.push(ImportRelation {
            keywords: a.get("keywords").cloned().unwrap_or_default(),
            description: a.get("description").cloned().unwrap_or_default(),
            weight: a.get("weight").and_then(|w| w.trim().parse().ok()).unwrap_or(1.0),
            source_ids,
            all_source_ids,
            file_paths: split_sep(a.get("file_path").map(String::as_str).unwrap_or("")),
            truncate: a.get("truncate").cloned().unwrap_or_default(),
            created_at: a
                .get("created_at")
                .and_then(|s| s.trim().parse::<f64>().ok())
                .map_or(now_secs, |f| f as i64),
            embedding: Vec::new(),
            src,
            tgt,
        });
    }

    // Which documents contributed to which entities and relations: the recovery KV files
    // when present, else derived from the rows' source chunks.
    let mut doc_entities = std::collections::BTreeSet::new();
    let mut doc_relations = std::collections::BTreeSet::new();
    match &full_entities {
        Some(map) => {
            for (doc, v) in map {
                for name in list_of(v, "entity_names") {
                    if docs.contains_key(doc) && names.contains(&name) {
                        doc_entities.insert((doc.clone(), name));
                    }
                }
            }
        }
        None => {
            for e in &out.rows.entities {
                for c in &e.all_source_ids {
                    if let Some(doc) = chunk_doc.get(c) {
                        doc_entities.insert((doc.clone(), e.name.clone()));
                    }
                }
            }
        }
    }
    match &full_relations {
        Some(map) => {
            for (doc, v) in map {
                let list = v
                    .get("relation_pairs")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for pair in list {
                    let (Some(a), Some(b)) = (pair.get(0).and_then(Value::as_str), pair.get(1).and_then(Value::as_str))
                    else {
                        continue;
                    };
                    let (a, b) = if a < b { (a, b) } else { (b, a) };
                    if docs.contains_key(doc) && pairs.contains(&(a.to_string(), b.to_string())) {
                        doc_relations.insert((doc.clone(), a.to_string(), b.to_string()));
                    }
                }
            }
        }
        None => {
            for r in &out.rows.relations {
                for c in &r.all_source_ids {
                    if let Some(doc) = chunk_doc.get(c) {
                        doc_relations.insert((doc.clone(), r.src.clone(), r.tgt.clone()));
                    }
                }
            }
        }
    }
    out.rows.doc_entities = doc_entities.into_iter().collect();
    out.rows.doc_relations = doc_relations.into_iter().collect();

    // The LLM cache (flat 1.4+/1.5 layout: key → record).
    let mut bad_cache = 0usize;
    for (key, rec) in &cache {
        let Some(response) = str_of(rec, "return") else {
            bad_cache += 1;
            continue;
        };
        let cache_type = str_of(rec, "cache_type")
            .map(str::to_string)
            .or_else(|| key.split(':').nth(1).map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        out.rows.cache.push(ImportCacheEntry {
            key: key.clone(),
            cache_type,
            chunk_id: str_of(rec, "chunk_id").map(str::to_string),
            response: response.to_string(),
            created_at: int_of(rec, "create_time").unwrap_or(now_secs),
        });
    }
    if bad_cache > 0 {
        out.warnings.push(format!(
            "{LLM_CACHE}: {bad_cache} entrie(s) in an unknown layout skipped"
        ));
    }

    out.rows.documents = docs.into_values().collect();
    out.rows.chunks = chunks;
    for (name, slot) in [
        (VDB_CHUNKS, &mut out.vdb.chunks),
        (VDB_ENTITIES, &mut out.vdb.entities),
        (VDB_RELATIONS, &mut out.vdb.relations),
    ] {
        match read_vdb(dir, name)? {
            Ok(v) => *slot = Some(v),
            Err(why) => out.vector_problems.push(why),
        }
    }
    Ok(out)
}
