//! `kb.db`: everything one knowledge base knows, in one SQLite file (WAL). Documents and
//! their status, chunks, per-chunk extraction results, the merged graph (entities and
//! undirected relations), all embeddings (as BLOBs, see [`super::codec`]) and the LLM cache.
//!
//! Invariants: a document's chunks, extraction results, graph changes and embeddings are
//! written by [`SqliteKb::commit_document`] in one transaction, together with its status
//! becoming `processed`; a crash before that commit leaves the document `pending` or
//! `processing` and nothing else. Vector indexes are derived from the embeddings here;
//! `generation` changes on every commit so a stale index file is detected and rebuilt.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::codec;
use crate::error::{Error, Result};
use crate::store::rows::{EntityState, RelationState};

/// The separator LightRAG joins description fragments, source ids and file paths with.
pub const SEP: &str = "<SEP>";

/// The oldest schema version the read-only paths (`doc`, `graph`, doctor's checks) can read
/// as it is: read-only opens cannot migrate, and the migrations after it only add indexes.
/// Raise it when a migration changes what those paths read.
pub(super) const READABLE_SINCE: usize = 2;

/// Whether a read-only connection can use a kb.db at schema `version`: `false` for a file
/// without tables yet (0), an error naming the way out for one it cannot read.
pub(super) fn check_readable(path: &Path, version: i64, context: &str) -> Result<bool> {
    if version == 0 {
        return Ok(false);
    }
    if usize::try_from(version).is_ok_and(|v| (READABLE_SINCE..=MIGRATIONS.len()).contains(&v)) {
        return Ok(true);
    }
    Err(Error::storage(
        format!("{context} {}", path.display()),
        format!(
            "schema version {version}, this lrt reads versions {READABLE_SINCE} to {}; {}",
            MIGRATIONS.len(),
            if version > MIGRATIONS.len() as i64 {
                "upgrade lrt"
            } else {
                "run `lrt ingest --retry-failed` once to upgrade it"
            }
        ),
    ))
}

/// One step of kb.db's schema: its SQL, then a data conversion where the step changes how
/// something is stored. Steps are applied in order, in the transaction that opens the database,
/// and never change once released.
pub(super) struct Migration {
    pub(super) sql: &'static str,
    pub(super) convert: Option<fn(&Transaction<'_>) -> rusqlite::Result<()>>,
}

/// How a writing connection works. A document's commit upserts hundreds of rows, each upsert
/// with a statement journal: kept in memory (`temp_store`), those are no longer writes to a
/// temporary file, which took a quarter of the commit's time; a 16 MiB page cache (SQLite's
/// default is 2 MiB) holds a commit's pages without spilling them to the WAL before it ends.
/// Checkpoints (which copy the WAL into kb.db and wait for its fsync) run after 8,192 pages
/// (64 MiB) rather than 1,000: an ingest rewrites the same entity and relation pages document
/// after document, so a checkpoint copies each page once however often it changed, and the
/// serial commit path waits on a sync seldom (the benchmark's local ingest took 5.1–5.3 s wall
/// instead of 6.1–6.3 s). None of this changes what survives a crash: that is the WAL's job.
/// The WAL is checkpointed at 2,048 pages (16 MiB with 8 KiB pages) and cut back to 16 MiB
/// afterwards (`journal_size_limit`; it never shrank before): at 64 MiB an ingest needed far
/// more free disk than the KB's size, and a small disk filled with log, not data.
const WRITE_PRAGMAS: &str = "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=2048; \
     PRAGMA journal_size_limit=16777216;";

/// The page size of a new kb.db. A dense f16 embedding takes 2 KiB: with SQLite's default 4 KiB
/// pages only one row carrying one fits a page (two need 4,124 bytes), wasting about a third of
/// the file; 8 KiB pages hold three. Measured on the ingest benchmark's KB (sparse embeddings,
/// after VACUUM): 26.4 MB at 4 KiB, 26.9 MB at 8 KiB, 27.6 MB at 16 KiB. An existing database
/// keeps the page size it was created with.
const PAGE_SIZE: u32 = 8192;

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: SCHEMA_1,
        convert: None,
    },
    Migration {
        sql: SCHEMA_2,
        convert: Some(schema_2_conversion),
    },
    Migration {
        sql: SCHEMA_3,
        convert: None,
    },
    Migration {
        sql: SCHEMA_4,
        convert: None,
    },
    Migration {
        sql: SCHEMA_5,
        convert: None,
    },
];

const SCHEMA_1: &str = r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        doc_id         TEXT PRIMARY KEY,
        file_path      TEXT NOT NULL,
        content        TEXT NOT NULL,
        content_hash   TEXT NOT NULL,
        content_length INTEGER NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'processed', 'failed')),
        error          TEXT,
        chunks_count   INTEGER NOT NULL DEFAULT 0,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    );
    CREATE INDEX idx_documents_status ON documents(status);
    CREATE INDEX idx_documents_path ON documents(file_path);
    CREATE TABLE chunks (
        chunk_key   INTEGER PRIMARY KEY AUTOINCREMENT,
        chunk_id    TEXT NOT NULL UNIQUE,
        doc_id      TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        chunk_order INTEGER NOT NULL,
        tokens      INTEGER NOT NULL,
        content     TEXT NOT NULL,
        file_path   TEXT NOT NULL,
        embedding   BLOB NOT NULL,
        UNIQUE (doc_id, chunk_order)
    );
    CREATE TABLE extractions (
        chunk_id     TEXT PRIMARY KEY REFERENCES chunks(chunk_id) ON DELETE CASCADE,
        result       TEXT NOT NULL,
        glean        TEXT,
        cache_keys   TEXT NOT NULL,
        extracted_at INTEGER NOT NULL
    );
    CREATE TABLE entities (
        entity_key     INTEGER PRIMARY KEY AUTOINCREMENT,
        name           TEXT NOT NULL UNIQUE,
        entity_id      TEXT NOT NULL UNIQUE,
        entity_type    TEXT NOT NULL,
        description    TEXT NOT NULL,
        source_ids     TEXT NOT NULL,
        all_source_ids TEXT NOT NULL,
        file_paths     TEXT NOT NULL,
        truncate       TEXT NOT NULL DEFAULT '',
        created_at     INTEGER NOT NULL,
        embedding      BLOB NOT NULL
    );
    CREATE TABLE relations (
        relation_key   INTEGER PRIMARY KEY AUTOINCREMENT,
        src            TEXT NOT NULL,
        tgt            TEXT NOT NULL,
        relation_id    TEXT NOT NULL UNIQUE,
        keywords       TEXT NOT NULL,
        description    TEXT NOT NULL,
        weight         REAL NOT NULL,
        source_ids     TEXT NOT NULL,
        all_source_ids TEXT NOT NULL,
        file_paths     TEXT NOT NULL,
        truncate       TEXT NOT NULL DEFAULT '',
        created_at     INTEGER NOT NULL,
        embedding      BLOB NOT NULL,
        UNIQUE (src, tgt),
        CHECK (src < tgt)
    );
    CREATE INDEX idx_relations_tgt ON relations(tgt);
    -- Which entities and relations each document contributed to (upstream's full_entities /
    -- full_relations): what a document delete must revisit.
    CREATE TABLE doc_entities (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        name   TEXT NOT NULL,
        PRIMARY KEY (doc_id, name)
    );
    CREATE TABLE doc_relations (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        src    TEXT NOT NULL,
        tgt    TEXT NOT NULL,
        PRIMARY KEY (doc_id, src, tgt)
    );
    CREATE TABLE llm_cache (
        cache_key  TEXT PRIMARY KEY,
        cache_type TEXT NOT NULL,
        chunk_id   TEXT,
        response   TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('generation', '0');
"#;

/// 2: embeddings are stored as f16 (`meta.vector_encoding`, converted by [`schema_2_conversion`]),
/// `all_source_ids` is empty when equal to `source_ids`,
/// and an extraction answer the LLM cache holds word for word is stored once: `result` (or
/// `glean`) is NULL and the text is the cache entry named by `cache_keys[0]` (or `[1]`). A cache
/// entry an extraction lists is never deleted (see `store::delete`), and cache entries never change.
const SCHEMA_2: &str = r#"
    CREATE TABLE extractions_v2 (
        chunk_id     TEXT PRIMARY KEY REFERENCES chunks(chunk_id) ON DELETE CASCADE,
        result       TEXT,
        glean        TEXT,
        cache_keys   TEXT NOT NULL,
        extracted_at INTEGER NOT NULL
    );
    INSERT INTO extractions_v2 (chunk_id, result, glean, cache_keys, extracted_at)
        SELECT chunk_id, result, glean, cache_keys, extracted_at FROM extractions;
    DROP TABLE extractions;
    ALTER TABLE extractions_v2 RENAME TO extractions;
    UPDATE extractions SET result = NULL
        WHERE result = (SELECT response FROM llm_cache WHERE cache_key = json_extract(extractions.cache_keys, '$[0]'));
    UPDATE extractions SET glean = NULL
        WHERE glean = (SELECT response FROM llm_cache WHERE cache_key = json_extract(extractions.cache_keys, '$[1]'));
    -- The document links are all key: as WITHOUT ROWID tables they are stored once, not as a
    -- table plus an index holding the same columns.
    CREATE TABLE doc_entities_v2 (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        name   TEXT NOT NULL,
        PRIMARY KEY (doc_id, name)
    ) WITHOUT ROWID;
    INSERT INTO doc_entities_v2 (doc_id, name) SELECT doc_id, name FROM doc_entities;
    DROP TABLE doc_entities;
    ALTER TABLE doc_entities_v2 RENAME TO doc_entities;
    CREATE TABLE doc_relations_v2 (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        src    TEXT NOT NULL,
        tgt    TEXT NOT NULL,
        PRIMARY KEY (doc_id, src, tgt)
    ) WITHOUT ROWID;
    INSERT INTO doc_relations_v2 (doc_id, src, tgt) SELECT doc_id, src, tgt FROM doc_relations;
    DROP TABLE doc_relations;
    ALTER TABLE doc_relations_v2 RENAME TO doc_relations;
    INSERT INTO meta (key, value) VALUES ('vector_encoding', 'f16');
"#;

/// The SQL expressions that read an extraction row `x`'s answers, from the cache where the row
/// does not repeat them.
pub(super) const EXTRACTION_RESULT: &str =
    "coalesce(x.result, (SELECT response FROM llm_cache WHERE cache_key = json_extract(x.cache_keys, '$[0]')))";
pub(super) const EXTRACTION_GLEAN: &str =
    "coalesce(x.glean, (SELECT response FROM llm_cache WHERE cache_key = json_extract(x.cache_keys, '$[1]')))";

/// Migration 2's conversion: every schema-1 embedding (f32) re-encoded as f16 (a BLOB that is
/// not whole f32s is left as it is, for `lrt doctor` to report), and `all_source_ids` lists
/// equal to `source_ids` stored empty (see [`all_source_ids_column`]).
fn schema_2_conversion(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    for table in ["entities", "relations"] {
        let mut select = tx.prepare(&format!("SELECT rowid, source_ids, all_source_ids FROM {table}"))?;
        let mut update = tx.prepare(&format!("UPDATE {table} SET all_source_ids = '' WHERE rowid = ?1"))?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let kept = split_sep(row.get_ref(1)?.as_str()?);
            if parse_json_list(row.get_ref(2)?.as_str()?) == kept {
                update.execute([row.get::<_, i64>(0)?])?;
            }
        }
    }
    embeddings_to_f16(tx)
}

fn embeddings_to_f16(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    for kind in VectorKind::ALL {
        let (table, key) = kind.table();
        let mut select = tx.prepare(&format!("SELECT {key}, embedding FROM {table}"))?;
        let mut update = tx.prepare(&format!("UPDATE {table} SET embedding = ?2 WHERE {key} = ?1"))?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(1)?.as_blob()?;
            if let Some(converted) = codec::f32_blob_to_f16(bytes) {
                update.execute(params![row.get::<_, i64>(0)?, converted])?;
            }
        }
    }
    Ok(())
}

/// Stores one chunk's extraction answers, leaving out (NULL) an answer its cache entry already
/// holds. Ingest and imports write extraction rows through this.
pub(super) fn insert_extraction(tx: &Transaction<'_>, x: &ExtractionRow) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO extractions (chunk_id, result, glean, cache_keys, extracted_at)
         VALUES (?1,
            CASE WHEN ?2 = (SELECT response FROM llm_cache WHERE cache_key = json_extract(?4, '$[0]')) THEN NULL
                 ELSE ?2 END,
            CASE WHEN ?3 = (SELECT response FROM llm_cache WHERE cache_key = json_extract(?4, '$[1]')) THEN NULL
                 ELSE ?3 END,
            ?4, ?5)",
    )?
    .execute(params![
        x.chunk_id,
        x.result,
        x.glean,
        json_list(&x.cache_keys),
        x.extracted_at
    ])?;
    Ok(())
}

/// 3: ranking the edges around an entity reads (src, tgt, weight) of each; covering indexes
/// answer that without touching the rows.
const SCHEMA_3: &str = r#"
    CREATE INDEX idx_relations_src_cover ON relations(src, tgt, weight);
    DROP INDEX idx_relations_tgt;
    CREATE INDEX idx_relations_tgt_cover ON relations(tgt, src, weight);
"#;

/// Pages: a document extracted from a paginated file (PDF) keeps each page's byte range of its
/// content (JSON `[[number, start, end], …]`), and each of its chunks the pages it spans, for
/// references such as `report.pdf p. 12–13`. NULL where the source had no pages.
const SCHEMA_4: &str = r#"
    ALTER TABLE documents ADD COLUMN pages TEXT;
    ALTER TABLE chunks ADD COLUMN page_first INTEGER;
    ALTER TABLE chunks ADD COLUMN page_last INTEGER;
"#;

/// Curation (`lrt graph entity|relation|merge`): the fields a person set on an entity (`tgt`
/// empty) or a relation (sorted `src`, `tgt`), kept so a document deletion's rebuild does not
/// undo them, with the chunk ids the row had when it was edited (`covered`, a JSON list: the
/// extraction records the edit replaced); and the names merged or renamed away, so a later
/// extraction of an old name lands on the entity that replaced it.
const SCHEMA_5: &str = r#"
    CREATE TABLE graph_overrides (
        src        TEXT NOT NULL,
        tgt        TEXT NOT NULL,
        fields     TEXT NOT NULL,
        covered    TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (src, tgt)
    ) WITHOUT ROWID;
    CREATE TABLE entity_aliases (
        alias      TEXT PRIMARY KEY,
        canonical  TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
"#;

/// A document's processing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocStatus {
    Pending,
    Processing,
    Processed,
    Failed,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Pending => "pending",
            DocStatus::Processing => "processing",
            DocStatus::Processed => "processed",
            DocStatus::Failed => "failed",
        }
    }

    pub(super) fn parse(s: &str) -> rusqlite::Result<Self> {
        Ok(match s {
            "pending" => DocStatus::Pending,
            "processing" => DocStatus::Processing,
            "processed" => DocStatus::Processed,
            "failed" => DocStatus::Failed,
            _ => {
                return Err(rusqlite::Error::InvalidColumnType(
                    0,
                    s.into(),
                    rusqlite::types::Type::Text,
                ));
            }
        })
    }
}

/// A stored document (without its content).
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    pub doc_id: String,
    pub file_path: String,
    pub content_hash: String,
    pub content_length: u64,
    pub status: DocStatus,
    pub error: Option<String>,
    pub chunks_count: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// The embedding model a KB was built with; vectors of another model cannot be mixed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EmbeddingPin {
    pub binding: String,
    pub model: String,
    pub dim: usize,
}

/// One chunk of a document being committed.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub chunk_id: String,
    pub order: usize,
    pub tokens: usize,
    pub content: String,
    pub embedding: Vec<f32>,
    /// The first and last page the chunk's text comes from, where the document has pages.
    pub pages: Option<(u32, u32)>,
}

/// The extraction answers for one chunk (kept to rebuild the graph after deletions without
/// calling the model again).
#[derive(Debug, Clone)]
pub struct ExtractionRow {
    pub chunk_id: String,
    pub result: String,
    pub glean: Option<String>,
    pub cache_keys: Vec<String>,
    pub extracted_at: i64,
}

/// Everything one processed document writes, committed at once.
#[derive(Debug, Clone, Default)]
pub struct DocumentCommit {
    pub doc_id: String,
    pub file_path: String,
    pub chunks: Vec<ChunkRow>,
    pub extractions: Vec<ExtractionRow>,
    /// Shared with the staging area until the commit lands. `None` for a stored row whose
    /// vector stays as it is (only its chunk lists changed): its graph fields are updated,
    /// it is not embedded again.
    pub entities: Vec<(Arc<EntityState>, Option<Vec<f32>>)>,
    pub relations: Vec<(Arc<RelationState>, Option<Vec<f32>>)>,
    /// Unix seconds; recorded on graph rows this commit creates.
    pub created_at: i64,
}

/// Which vector collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorKind {
    Chunks,
    Entities,
    Relations,
}

impl VectorKind {
    pub const ALL: [VectorKind; 3] = [VectorKind::Chunks, VectorKind::Entities, VectorKind::Relations];

    pub fn name(self) -> &'static str {
        match self {
            VectorKind::Chunks => "chunks",
            VectorKind::Entities => "entities",
            VectorKind::Relations => "relations",
        }
    }

    /// The table holding the collection's embeddings and its key column.
    pub(super) fn table(self) -> (&'static str, &'static str) {
        match self {
            VectorKind::Chunks => ("chunks", "chunk_key"),
            VectorKind::Entities => ("entities", "entity_key"),
            VectorKind::Relations => ("relations", "relation_key"),
        }
    }
}

/// What a commit changed in the vector collections, to apply to open indexes.
#[derive(Debug, Clone, Default)]
pub struct VectorChanges {
    pub upserts: Vec<(VectorKind, u64, Vec<f32>)>,
}

/// Counts kept in the catalog for `kb show`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StoreStats {
    pub documents: u64,
    pub chunks: u64,
    pub entities: u64,
    pub relations: u64,
}

/// An open `kb.db`.
/// A model answer as the LLM cache stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedAnswer {
    /// `extract`, `summary`, `keywords` or `query`.
    pub cache_type: &'static str,
    /// The chunk an extraction answer is about.
    pub chunk_id: Option<String>,
    pub response: String,
    /// Unix milliseconds.
    pub at: i64,
}

pub struct SqliteKb {
    pub(super) conn: Connection,
    pub(super) dir: PathBuf,
}

pub(super) fn db_err(context: &str, path: &Path) -> impl Fn(rusqlite::Error) -> Error + use<> {
    let context = format!("{context} ({})", path.display());
    move |e| {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        {
            return Error::storage(
                context.clone(),
                "the knowledge base is locked by another lrt process; try again",
            );
        }
        Error::storage(context.clone(), e)
    }
}

pub use super::backend::KbStore;
pub use super::codec::{decode_vector, encode_vector};

pub(super) fn split_sep(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(SEP).map(str::to_string).collect()
    }
}

pub(super) fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn parse_json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// `all_source_ids` as stored: empty when it is the same list as `source_ids` (no KEEP limit has
/// cut that one, the usual case), else a JSON list. Schema 1 always stored the JSON list.
pub(super) fn all_source_ids_column(all: &[String], kept: &[String]) -> String {
    if all == kept { String::new() } else { json_list(all) }
}

/// Reads an `all_source_ids` column written by [`all_source_ids_column`].
pub(super) fn parse_all_source_ids(column: &str, kept: &[String]) -> Vec<String> {
    if column.is_empty() {
        kept.to_vec()
    } else {
        parse_json_list(column)
    }
}

/// SQL for the number of ids in an `all_source_ids` column (`prefix` is the table alias with
/// its dot, or empty), the `source_ids` list when it is empty.
pub(super) fn all_source_count_sql(prefix: &str) -> String {
    format!(
        "CASE WHEN {prefix}all_source_ids != '' THEN json_array_length({prefix}all_source_ids)
              WHEN {prefix}source_ids = '' THEN 0
              ELSE (length({prefix}source_ids) - length(replace({prefix}source_ids, '{SEP}', ''))) / {} + 1 END",
        SEP.len()
    )
}

/// The refusal to mix another embedding model into a KB pinned to `existing`.
pub(super) fn embedding_mismatch(existing: &EmbeddingPin, pin: &EmbeddingPin) -> Error {
    Error::Conflict(format!(
        "this knowledge base was embedded with {}/{} ({} dimensions), but the configuration now says {}/{} ({} \
         dimensions); switch models with `lrt kb reindex --reembed`, or restore the previous embedding settings",
        existing.binding, existing.model, existing.dim, pin.binding, pin.model, pin.dim
    ))
}

/// A document's pages as its `pages` column stores them: JSON `[[number, start, end], …]`.
pub(super) fn pages_json(pages: &[crate::extract::Page]) -> Result<String> {
    let json: Vec<[u64; 3]> = pages
        .iter()
        .map(|p| [u64::from(p.number), p.start as u64, p.end as u64])
        .collect();
    serde_json::to_string(&json).map_err(|e| Error::Internal(format!("cannot encode pages: {e}")))
}

/// Reads a `pages` column written by [`pages_json`] (none when absent or unreadable).
pub(super) fn parse_pages(json: Option<String>) -> Vec<crate::extract::Page> {
    let rows: Vec<[u64; 3]> = json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    rows.into_iter()
        .map(|[number, start, end]| crate::extract::Page {
            number: number as u32,
            start: start as usize,
            end: end as usize,
        })
        .collect()
}

impl SqliteKb {
    /// Opens (creating) the KB database in `dir` and applies migrations.
    pub fn open(dir: &Path) -> Result<SqliteKb> {
        let path = dir.join("kb.db");
        let err = db_err("cannot open the knowledge base", &path);
        crate::layout::private_db_file(&path)?;
        let mut conn = Connection::open(&path).map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(&err)?;
        // page_size only takes effect on a database without tables, so it must precede WAL mode.
        conn.execute_batch(&format!(
            "PRAGMA page_size={PAGE_SIZE}; PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;
             {WRITE_PRAGMAS}"
        ))
        .map_err(&err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(Error::storage(
                format!("{} was written by a newer lrt", path.display()),
                format!(
                    "schema version {version}, this lrt knows up to {}; upgrade lrt",
                    MIGRATIONS.len()
                ),
            ));
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(step.sql).map_err(&err)?;
            if let Some(convert) = step.convert {
                convert(&tx).map_err(&err)?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(&err)?;
        }
        tx.commit().map_err(&err)?;
        if version == 1 {
            // The f32 embeddings converted above left half their pages free; give them back.
            vacuum(&conn).map_err(&err)?;
        }
        Ok(SqliteKb {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` inside one read transaction, so its statements see one snapshot and SQLite
    /// takes its locks once rather than once per statement (a query makes hundreds of point
    /// lookups). Inside a transaction already, `f` simply runs in it.
    pub fn read_snapshot<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return f();
        }
        let err = self.err("cannot read the knowledge base");
        self.conn.execute_batch("BEGIN").map_err(&err)?;
        let out = f();
        let end = self.conn.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let out = out?;
        end.map_err(&err)?;
        Ok(out)
    }

    /// Memory-maps the database for reading (up to 256 MiB). A query reads a few hundred KB of
    /// chunk vectors and rows; through the mapping they are page-cache hits instead of one
    /// `pread` per page, which was the largest cost of a warm query. Such a connection only
    /// writes LLM-cache rows, so it goes back to SQLite's default page cache (2 MiB) rather than
    /// the 16 MiB of an ingest: a server keeps up to `max_cached_instances` of them open.
    pub fn map_for_reads(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA mmap_size=268435456; PRAGMA cache_size=-2000;")
            .map_err(self.err("cannot configure the knowledge base"))
    }

    pub(super) fn err(&self, context: &str) -> impl Fn(rusqlite::Error) -> Error + use<> {
        db_err(context, &self.dir.join("kb.db"))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)))
            .optional()
            .map_err(self.err("cannot read kb metadata"))
    }

    /// Changes on every commit; vector index files record the generation they were built at.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.meta("generation")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The embedding model this KB's vectors were made with, if any.
    pub fn embedding_pin(&self) -> Result<Option<EmbeddingPin>> {
        Ok(self.meta("embedding")?.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Pins the embedding model on first use; refuses another one afterwards.
    pub fn check_embedding(&mut self, pin: &EmbeddingPin) -> Result<()> {
        match self.embedding_pin()? {
            Some(existing) if existing == *pin => Ok(()),
            Some(existing) => Err(embedding_mismatch(&existing, pin)),
            None => self.set_embedding_pin(pin),
        }
    }

    /// Records a (new) embedding model; used on first ingest and by `kb reindex --reembed`.
    pub fn set_embedding_pin(&mut self, pin: &EmbeddingPin) -> Result<()> {
        let value = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('embedding', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [value],
            )
            .map_err(self.err("cannot pin the embedding model"))?;
        Ok(())
    }

    /// Adds a document as `pending` unless one with this id exists; returns the existing
    /// row in that case.
    pub fn enqueue(&mut self, doc_id: &str, file_path: &str, content: &str, hash: &str) -> Result<Option<DocumentRow>> {
        if let Some(existing) = self.document(doc_id)? {
            return Ok(Some(existing));
        }
        let now = crate::time::now();
        self.conn
            .execute(
                "INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                params![doc_id, file_path, content, hash, content.chars().count() as i64, now],
            )
            .map_err(self.err("cannot add the document"))?;
        Ok(None)
    }

    pub(super) fn document_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentRow> {
        Ok(DocumentRow {
            doc_id: r.get(0)?,
            file_path: r.get(1)?,
            content_hash: r.get(2)?,
            content_length: r.get::<_, i64>(3)? as u64,
            status: DocStatus::parse(&r.get::<_, String>(4)?)?,
            error: r.get(5)?,
            chunks_count: r.get::<_, i64>(6)? as u64,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    }

    pub fn document(&self, doc_id: &str) -> Result<Option<DocumentRow>> {
        self.conn
            .query_row(
                "SELECT doc_id, file_path, content_hash, content_length, status, error, chunks_count, created_at, updated_at
                 FROM documents WHERE doc_id = ?1",
                [doc_id],
                Self::document_from_row,
            )
            .optional()
            .map_err(self.err("cannot read the document"))
    }

    /// A document's text.
    /// Records the pages of a queued document's content (see [`SCHEMA_4`]).
    pub fn set_document_pages(&mut self, doc_id: &str, pages: &[crate::extract::Page]) -> Result<()> {
        let json = pages_json(pages)?;
        self.conn
            .execute(
                "UPDATE documents SET pages = ?2 WHERE doc_id = ?1",
                params![doc_id, json],
            )
            .map_err(self.err("cannot record the document's pages"))?;
        Ok(())
    }

    /// The pages recorded for a document (empty without any).
    pub fn document_pages(&self, doc_id: &str) -> Result<Vec<crate::extract::Page>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT pages FROM documents WHERE doc_id = ?1", [doc_id], |r| r.get(0))
            .optional()
            .map_err(self.err("cannot read the document"))?
            .flatten();
        Ok(parse_pages(json))
    }

    pub fn document_content(&self, doc_id: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT content FROM documents WHERE doc_id = ?1", [doc_id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("cannot read the document"))
    }

    /// How many documents have one of `statuses`.
    pub fn count_with_status(&self, statuses: &[DocStatus]) -> Result<u64> {
        let marks: Vec<String> = (1..=statuses.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("SELECT count(*) FROM documents WHERE status IN ({})", marks.join(", "));
        self.conn
            .query_row(
                &sql,
                rusqlite::params_from_iter(statuses.iter().map(|s| s.as_str())),
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err("cannot count documents"))
    }

    /// Documents with one of `statuses`, oldest first.
    pub fn documents_with_status(&self, statuses: &[DocStatus]) -> Result<Vec<DocumentRow>> {
        let marks: Vec<String> = (1..=statuses.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT doc_id, file_path, content_hash, content_length, status, error, chunks_count, created_at, updated_at
             FROM documents WHERE status IN ({}) ORDER BY created_at, rowid",
            marks.join(", ")
        );
        let err = self.err("cannot list documents");
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        stmt.query_map(rusqlite::params_from_iter(names), Self::document_from_row)
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)
    }

    /// Marks a document pending/processing/failed (never processed: that is the commit).
    pub fn set_status(&mut self, doc_id: &str, status: DocStatus, error: Option<&str>) -> Result<()> {
        debug_assert!(status != DocStatus::Processed);
        self.conn
            .execute(
                "UPDATE documents SET status = ?2, error = ?3, updated_at = ?4 WHERE doc_id = ?1",
                params![doc_id, status.as_str(), error, crate::time::now()],
            )
            .map_err(self.err("cannot update the document status"))?;
        Ok(())
    }

    /// Puts every `processing` document back to `pending` (after an interrupted run, whose
    /// documents were not committed); the number moved.
    pub fn requeue_processing(&mut self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE documents SET status = 'pending', error = NULL, updated_at = ?1 WHERE status = 'processing'",
                params![crate::time::now()],
            )
            .map_err(self.err("cannot update the document status"))
    }

    /// Marks documents failed, each with its error, in one transaction: one small write, which
    /// is what a nearly full disk still has room for.
    pub fn set_failed_many(&mut self, failures: &[(String, String)]) -> Result<()> {
        let err = self.err("cannot update the document status");
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut stmt = tx
                .prepare("UPDATE documents SET status = ?2, error = ?3, updated_at = ?4 WHERE doc_id = ?1")
                .map_err(&err)?;
            let now = crate::time::now();
            for (id, error) in failures {
                stmt.execute(params![id, DocStatus::Failed.as_str(), error, now])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// A cached model answer.
    pub fn cache_get(&self, key: &str) -> Result<Option<(String, i64)>> {
        self.conn
            .query_row(
                "SELECT response, created_at FROM llm_cache WHERE cache_key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err("cannot read the LLM cache"))
    }

    /// [`cache_put`](Self::cache_put) for each answer (in-process writes cost nothing apart).
    pub fn cache_put_many(&self, answers: &[(&str, &CachedAnswer)]) -> Result<()> {
        answers.iter().try_for_each(|(key, answer)| self.cache_put(key, answer))
    }

    /// Stores a model answer under `key`; an existing entry for the key is kept.
    pub fn cache_put(&self, key: &str, answer: &CachedAnswer) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO llm_cache (cache_key, cache_type, chunk_id, response, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key, answer.cache_type, answer.chunk_id, answer.response, answer.at],
            )
            .map_err(self.err("cannot write the LLM cache"))?;
        Ok(())
    }

    /// Stores a query answer made from what kb.db held at `generation`, only if nothing was
    /// committed since: a delete committed while the answer was made would leave it quoting
    /// deleted text (deletes drop the stored answers, see `store::delete`).
    pub fn cache_put_answer(&self, key: &str, answer: &CachedAnswer, generation: u64) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO llm_cache (cache_key, cache_type, chunk_id, response, created_at)
                 SELECT ?1, ?2, ?3, ?4, ?5
                 WHERE (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation') = ?6",
                params![
                    key,
                    answer.cache_type,
                    answer.chunk_id,
                    answer.response,
                    answer.at,
                    generation as i64
                ],
            )
            .map_err(self.err("cannot write the LLM cache"))?;
        Ok(())
    }

    pub fn entity(&self, name: &str) -> Result<Option<EntityState>> {
        entity_in(&self.conn, name).map_err(self.err("cannot read entity"))
    }

    pub fn relation(&self, a: &str, b: &str) -> Result<Option<RelationState>> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        relation_in(&self.conn, a, b).map_err(self.err("cannot read relation"))
    }

    /// [`entity`](Self::entity) for each name, in order (point reads cost nothing in-process).
    pub fn entities_named(&self, names: &[&str]) -> Result<Vec<Option<EntityState>>> {
        names.iter().map(|n| self.entity(n)).collect()
    }

    /// [`relation`](Self::relation) for each pair, in order.
    pub fn relations_between(&self, pairs: &[(&str, &str)]) -> Result<Vec<Option<RelationState>>> {
        pairs.iter().map(|&(a, b)| self.relation(a, b)).collect()
    }

    /// Writes a processed document in one transaction and marks it processed.
    pub fn commit_document(&mut self, commit: &DocumentCommit) -> Result<VectorChanges> {
        let err = self.err("cannot commit the document");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let changes = write_commit(&tx, commit).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(changes)
    }

    /// `(key, vector)` of every row of a collection, for rebuilding its index.
    pub fn vectors(&self, kind: VectorKind) -> Result<Vec<(u64, Vec<f32>)>> {
        let (table, key) = kind.table();
        let err = self.err("cannot read embeddings");
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {key}, embedding FROM {table}"))
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)?;
        rows.into_iter()
            .map(|(k, bytes)| {
                decode_vector(&bytes)
                    .map(|v| (k as u64, v))
                    .ok_or_else(|| Error::storage("corrupt embedding in kb.db", format!("{table} row {k}")))
            })
            .collect()
    }

    /// `(key, text to embed)` of every row of a collection, as upstream embeds them.
    pub fn embedding_texts(&self, kind: VectorKind) -> Result<Vec<(u64, String)>> {
        let sql = match kind {
            VectorKind::Chunks => "SELECT chunk_key, content FROM chunks",
            VectorKind::Entities => "SELECT entity_key, name || char(10) || description FROM entities",
            VectorKind::Relations => {
                "SELECT relation_key, keywords || char(9) || src || char(10) || tgt || char(10) || description FROM relations"
            }
        };
        let err = self.err("cannot read texts to embed");
        let mut stmt = self.conn.prepare(sql).map_err(&err)?;
        stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)
    }

    /// Replaces every embedding and the pinned model in one transaction (`kb reindex --reembed`).
    pub fn replace_embeddings(&mut self, vectors: &[(VectorKind, u64, Vec<f32>)], pin: &EmbeddingPin) -> Result<()> {
        let err = self.err("cannot store the new embeddings");
        let pin_json = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        for (kind, key, vector) in vectors {
            let (table, key_column) = kind.table();
            tx.execute(
                &format!("UPDATE {table} SET embedding = ?2 WHERE {key_column} = ?1"),
                params![*key as i64, encode_vector(vector)],
            )
            .map_err(&err)?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('embedding', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            [pin_json],
        )
        .map_err(&err)?;
        tx.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
            [],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// kb.db's size in pages.
    pub fn page_count(&self) -> Result<u64> {
        self.conn
            .pragma_query_value(None, "page_count", |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(self.err("cannot measure the knowledge base"))
    }

    /// Rewrites kb.db compactly (`VACUUM`) when it has at least doubled since it had `before`
    /// pages, then truncates the write-ahead log the rewrite went through. Rows updated by
    /// merges leave B-tree pages partly empty (a tenth of the ingest benchmark's KB); compacting
    /// only after the file doubled keeps the cost proportional to what was written. Atomic like
    /// any transaction; returns whether it compacted.
    pub fn compact_after_growth(&self, before: u64) -> Result<bool> {
        const MIN_PAGES: u64 = 128;
        let now = self.page_count()?;
        if now < MIN_PAGES || now < 2 * before {
            return Ok(false);
        }
        vacuum(&self.conn).map_err(self.err("cannot compact the knowledge base"))?;
        Ok(true)
    }

    /// How many rows (and so vectors) a collection has.
    pub fn vector_count(&self, kind: VectorKind) -> Result<usize> {
        let (table, _) = kind.table();
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(self.err("cannot count embeddings"))
    }

    /// Row counts for statistics.
    pub fn stats(&self) -> Result<StoreStats> {
        let err = self.err("cannot count rows");
        let count = |sql: &str| -> Result<u64> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(&err)
        };
        Ok(StoreStats {
            documents: count("SELECT count(*) FROM documents WHERE status = 'processed'")?,
            chunks: count("SELECT count(*) FROM chunks")?,
            entities: count("SELECT count(*) FROM entities")?,
            relations: count("SELECT count(*) FROM relations")?,
        })
    }
}

fn entity_in(conn: &Connection, name: &str) -> rusqlite::Result<Option<EntityState>> {
    conn.prepare_cached(
        "SELECT name, entity_type, description, source_ids, all_source_ids, file_paths, truncate
         FROM entities WHERE name = ?1",
    )?
    .query_row([name], entity_from_row)
    .optional()
}

fn relation_in(conn: &Connection, a: &str, b: &str) -> rusqlite::Result<Option<RelationState>> {
    conn.prepare_cached(
        "SELECT src, tgt, keywords, description, weight, source_ids, all_source_ids, file_paths, truncate
         FROM relations WHERE src = ?1 AND tgt = ?2",
    )?
    .query_row([a, b], relation_from_row)
    .optional()
}

/// An entity from `name, entity_type, description, source_ids, all_source_ids, file_paths, truncate`.
pub(super) fn entity_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntityState> {
    let source_ids = split_sep(&r.get::<_, String>(3)?);
    Ok(EntityState {
        name: r.get(0)?,
        entity_type: r.get(1)?,
        description: r.get(2)?,
        all_source_ids: parse_all_source_ids(&r.get::<_, String>(4)?, &source_ids),
        source_ids,
        file_paths: split_sep(&r.get::<_, String>(5)?),
        truncate: r.get(6)?,
    })
}

/// A relation from `src, tgt, keywords, description, weight, source_ids, all_source_ids,
/// file_paths, truncate`.
pub(super) fn relation_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RelationState> {
    let source_ids = split_sep(&r.get::<_, String>(5)?);
    Ok(RelationState {
        src: r.get(0)?,
        tgt: r.get(1)?,
        keywords: r.get(2)?,
        description: r.get(3)?,
        weight: r.get(4)?,
        all_source_ids: parse_all_source_ids(&r.get::<_, String>(6)?, &source_ids),
        source_ids,
        file_paths: split_sep(&r.get::<_, String>(7)?),
        truncate: r.get(8)?,
    })
}

/// Rewrites kb.db without its free pages and truncates the WAL the rewrite filled. VACUUM
/// builds its copy in temporary storage: on disk, not in the memory `WRITE_PRAGMAS` chose for
/// statement journals.
fn vacuum(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA temp_store=FILE; VACUUM; PRAGMA wal_checkpoint(TRUNCATE); {WRITE_PRAGMAS}"
    ))
}

/// Updates a stored entity's graph fields, and its embedding when `vector` is given; its key,
/// or `None` when no such entity is stored.
pub(super) fn update_entity(
    tx: &Transaction<'_>,
    e: &EntityState,
    vector: Option<&[f32]>,
) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "UPDATE entities SET entity_type = ?2, description = ?3, source_ids = ?4, all_source_ids = ?5,
            file_paths = ?6, truncate = ?7, embedding = coalesce(?8, embedding)
         WHERE name = ?1 RETURNING entity_key",
    )?
    .query_row(
        params![
            e.name,
            e.entity_type,
            e.description,
            e.source_ids.join(SEP),
            all_source_ids_column(&e.all_source_ids, &e.source_ids),
            e.file_paths.join(SEP),
            e.truncate,
            vector.map(encode_vector)
        ],
        |r| r.get(0),
    )
    .optional()
}

/// [`update_entity`] for a stored relation.
pub(super) fn update_relation(
    tx: &Transaction<'_>,
    rel: &RelationState,
    vector: Option<&[f32]>,
) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "UPDATE relations SET keywords = ?3, description = ?4, weight = ?5, source_ids = ?6,
            all_source_ids = ?7, file_paths = ?8, truncate = ?9, embedding = coalesce(?10, embedding)
         WHERE src = ?1 AND tgt = ?2 RETURNING relation_key",
    )?
    .query_row(
        params![
            rel.src,
            rel.tgt,
            rel.keywords,
            rel.description,
            rel.weight,
            rel.source_ids.join(SEP),
            all_source_ids_column(&rel.all_source_ids, &rel.source_ids),
            rel.file_paths.join(SEP),
            rel.truncate,
            vector.map(encode_vector)
        ],
        |r| r.get(0),
    )
    .optional()
}

/// Inserts an entity with its embedding, or replaces a stored one's fields and embedding
/// (its key and `created_at` stay); its key.
pub(super) fn upsert_entity(
    tx: &Transaction<'_>,
    e: &EntityState,
    vector: &[f32],
    created_at: i64,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO entities (name, entity_id, entity_type, description, source_ids, all_source_ids, file_paths,
                truncate, created_at, embedding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(name) DO UPDATE SET entity_type = ?3, description = ?4, source_ids = ?5,
                all_source_ids = ?6, file_paths = ?7, truncate = ?8, embedding = ?10
             RETURNING entity_key",
    )?
    .query_row(
        params![
            e.name,
            crate::rag::ids::compute_mdhash_id(&e.name, "ent-"),
            e.entity_type,
            e.description,
            e.source_ids.join(SEP),
            all_source_ids_column(&e.all_source_ids, &e.source_ids),
            e.file_paths.join(SEP),
            e.truncate,
            created_at,
            encode_vector(vector)
        ],
        |r| r.get(0),
    )
}

/// [`upsert_entity`] for a relation (`src < tgt`).
pub(super) fn upsert_relation(
    tx: &Transaction<'_>,
    rel: &RelationState,
    vector: &[f32],
    created_at: i64,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO relations (src, tgt, relation_id, keywords, description, weight, source_ids, all_source_ids,
                file_paths, truncate, created_at, embedding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(src, tgt) DO UPDATE SET keywords = ?4, description = ?5, weight = ?6, source_ids = ?7,
                all_source_ids = ?8, file_paths = ?9, truncate = ?10, embedding = ?12
             RETURNING relation_key",
    )?
    .query_row(
        params![
            rel.src,
            rel.tgt,
            crate::rag::ids::relation_vdb_id(&rel.src, &rel.tgt),
            rel.keywords,
            rel.description,
            rel.weight,
            rel.source_ids.join(SEP),
            all_source_ids_column(&rel.all_source_ids, &rel.source_ids),
            rel.file_paths.join(SEP),
            rel.truncate,
            created_at,
            encode_vector(vector)
        ],
        |r| r.get(0),
    )
}

fn write_commit(tx: &Transaction<'_>, c: &DocumentCommit) -> rusqlite::Result<VectorChanges> {
    let mut changes = VectorChanges::default();
    // A reprocessed document replaces whatever partial rows it had.
    tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [&c.doc_id])?;
    for chunk in &c.chunks {
        tx.prepare_cached(
            "INSERT INTO chunks (chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding, page_first, page_last)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            chunk.chunk_id,
            c.doc_id,
            chunk.order as i64,
            chunk.tokens as i64,
            chunk.content,
            c.file_path,
            encode_vector(&chunk.embedding),
            chunk.pages.map(|p| p.0),
            chunk.pages.map(|p| p.1)
        ])?;
        changes.upserts.push((
            VectorKind::Chunks,
            tx.last_insert_rowid() as u64,
            chunk.embedding.clone(),
        ));
    }
    for x in &c.extractions {
        insert_extraction(tx, x)?;
    }
    for (e, vector) in &c.entities {
        let Some(vector) = vector else {
            // A stored row whose vector stays: it must exist.
            update_entity(tx, e, None)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            tx.prepare_cached("INSERT OR IGNORE INTO doc_entities (doc_id, name) VALUES (?1, ?2)")?
                .execute(params![c.doc_id, e.name])?;
            continue;
        };
        let key = upsert_entity(tx, e, vector, c.created_at)?;
        tx.prepare_cached("INSERT OR IGNORE INTO doc_entities (doc_id, name) VALUES (?1, ?2)")?
            .execute(params![c.doc_id, e.name])?;
        changes.upserts.push((VectorKind::Entities, key as u64, vector.clone()));
    }
    for (rel, vector) in &c.relations {
        let Some(vector) = vector else {
            update_relation(tx, rel, None)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            tx.prepare_cached("INSERT OR IGNORE INTO doc_relations (doc_id, src, tgt) VALUES (?1, ?2, ?3)")?
                .execute(params![c.doc_id, rel.src, rel.tgt])?;
            continue;
        };
        let key = upsert_relation(tx, rel, vector, c.created_at)?;
        tx.prepare_cached("INSERT OR IGNORE INTO doc_relations (doc_id, src, tgt) VALUES (?1, ?2, ?3)")?
            .execute(params![c.doc_id, rel.src, rel.tgt])?;
        changes
            .upserts
            .push((VectorKind::Relations, key as u64, vector.clone()));
    }
    tx.execute(
        "UPDATE documents SET status = 'processed', error = NULL, chunks_count = ?2, updated_at = ?3 WHERE doc_id = ?1",
        params![c.doc_id, c.chunks.len() as i64, crate::time::now()],
    )?;
    tx.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
        [],
    )?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(name: &str) -> EntityState {
        EntityState {
            name: name.into(),
            entity_type: "person".into(),
            description: "d".into(),
            source_ids: vec!["c1".into()],
            all_source_ids: vec!["c1".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    #[test]
    fn a_document_commits_atomically_and_bumps_the_generation() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        assert!(
            store
                .enqueue("doc-1", "a.txt", "Alice met Bob.", "1")
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .enqueue("doc-1", "a.txt", "Alice met Bob.", "1")
                .unwrap()
                .is_some()
        );
        assert_eq!(store.documents_with_status(&[DocStatus::Pending]).unwrap().len(), 1);
        let relation = RelationState {
            src: "Alice".into(),
            tgt: "Bob".into(),
            keywords: "met".into(),
            description: "Alice met Bob.".into(),
            weight: 1.0,
            source_ids: vec!["c1".into()],
            all_source_ids: vec!["c1".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        };
        let commit = DocumentCommit {
            doc_id: "doc-1".into(),
            file_path: "a.txt".into(),
            chunks: vec![ChunkRow {
                chunk_id: "doc-1-chunk-000".into(),
                order: 0,
                tokens: 4,
                content: "Alice met Bob.".into(),
                embedding: vec![1.0, 0.0],
                pages: None,
            }],
            extractions: vec![],
            entities: vec![
                (entity("Alice").into(), Some(vec![0.0, 1.0])),
                (entity("Bob").into(), Some(vec![0.5, 0.5])),
            ],
            relations: vec![(relation.clone().into(), Some(vec![1.0, 1.0]))],
            created_at: 1,
        };
        let changes = store.commit_document(&commit).unwrap();
        assert_eq!(changes.upserts.len(), 4);
        assert_eq!(store.generation().unwrap(), 1);
        assert_eq!(store.document("doc-1").unwrap().unwrap().status, DocStatus::Processed);
        assert_eq!(store.entity("Alice").unwrap().unwrap(), entity("Alice"));
        assert_eq!(store.relation("Bob", "Alice").unwrap().unwrap(), relation);
        assert_eq!(store.vectors(VectorKind::Entities).unwrap().len(), 2);
        assert_eq!(store.vector_count(VectorKind::Relations).unwrap(), 1);
        let stats = store.stats().unwrap();
        assert_eq!(
            (stats.documents, stats.chunks, stats.entities, stats.relations),
            (1, 1, 2, 1)
        );
    }

    /// A schema-1 kb.db (f32 embeddings, extraction answers stored next to their cache entries)
    /// opens as schema 2: f16 embeddings, each answer stored once and still read back whole.
    #[test]
    fn schema_1_databases_are_converted() {
        let dir = tempfile::tempdir().unwrap();
        let v: Vec<f32> = vec![0.1, -0.25, 1.0 / 3.0, 0.0];
        {
            let conn = Connection::open(dir.path().join("kb.db")).unwrap();
            conn.execute_batch(SCHEMA_1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            let f32_blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            conn.execute_batch(
                "INSERT INTO documents VALUES ('doc-1', 'a', 'c', 'h', 1, 'processed', NULL, 2, 't', 't');
                 INSERT INTO entities (name, entity_id, entity_type, description, source_ids, all_source_ids,
                     file_paths, created_at, embedding)
                     VALUES ('A', 'ent-a', 'T', 'd', 'c1<SEP>c2', '[\"c1\",\"c2\"]', 'a', 0, x'0000803f'),
                            ('B', 'ent-b', 'T', 'd', 'c2', '[\"c1\",\"c2\"]', 'a', 0, x'0000803f');
                 INSERT INTO llm_cache VALUES ('default:extract:1', 'extract', 'c1', 'first answer', 1),
                                              ('default:extract:2', 'extract', 'c1', 'gleaned', 1);",
            )
            .unwrap();
            for (id, blob) in [("c1", f32_blob.clone()), ("c2", vec![1, 2, 3])] {
                conn.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding)
                     VALUES (?1, 'doc-1', ?2, 1, 'x', 'a', ?3)",
                    params![id, i64::from(id == "c2"), blob],
                )
                .unwrap();
            }
            conn.execute(
                "INSERT INTO extractions VALUES
                     ('c1', 'first answer', 'gleaned', '[\"default:extract:1\",\"default:extract:2\"]', 1),
                     ('c2', 'not cached', NULL, '[\"default:extract:9\"]', 2)",
                [],
            )
            .unwrap();
        }
        let store = SqliteKb::open(dir.path()).unwrap();
        assert_eq!(
            store.meta("vector_encoding").unwrap().as_deref(),
            Some(codec::VECTOR_ENCODING)
        );
        let vectors = store.vectors(VectorKind::Chunks);
        // The damaged BLOB (3 bytes) was left alone and still reads as corrupt.
        assert!(vectors.is_err());
        let stored: Vec<u8> = store
            .conn
            .query_row("SELECT embedding FROM chunks WHERE chunk_id = 'c1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, codec::encode_vector_f16(&v));
        let back = decode_vector(&stored).unwrap();
        assert!(v.iter().zip(&back).all(|(a, b)| (a - b).abs() < 1e-3), "{back:?}");
        let raw: Vec<(Option<String>, Option<String>)> = store
            .conn
            .prepare("SELECT result, glean FROM extractions ORDER BY chunk_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(raw, vec![(None, None), (Some("not cached".into()), None)]);
        let answers = store.stored_extractions(&["c1".into(), "c2".into()]).unwrap();
        let texts: Vec<(&str, Option<&str>)> = answers
            .iter()
            .map(|x| (x.result.as_str(), x.glean.as_deref()))
            .collect();
        assert_eq!(texts, vec![("first answer", Some("gleaned")), ("not cached", None)]);
        let lists: Vec<String> = store
            .conn
            .prepare("SELECT all_source_ids FROM entities ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(lists, vec!["".to_string(), r#"["c1","c2"]"#.to_string()]);
        let a = store.entity("A").unwrap().unwrap();
        assert_eq!((a.source_ids.len(), a.all_source_ids.len()), (2, 2));
        let blob: Vec<u8> = store
            .conn
            .query_row("SELECT embedding FROM entities WHERE name = 'A'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(decode_vector(&blob).unwrap(), vec![1.0]);
    }

    #[test]
    fn an_answer_the_cache_holds_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        store.enqueue("doc-1", "a.txt", "Alice met Bob.", "1").unwrap();
        store
            .cache_put("default:extract:a", &extraction_answer("c1", "answer", 1))
            .unwrap();
        let chunk = |id: &str, order| ChunkRow {
            chunk_id: id.into(),
            order,
            tokens: 1,
            content: "x".into(),
            embedding: vec![1.0, 0.0],
            pages: None,
        };
        let extraction = |id: &str, result: &str, key: &str| ExtractionRow {
            chunk_id: id.into(),
            result: result.into(),
            glean: None,
            cache_keys: vec![key.into()],
            extracted_at: 1,
        };
        let commit = DocumentCommit {
            doc_id: "doc-1".into(),
            file_path: "a.txt".into(),
            chunks: vec![chunk("c1", 0), chunk("c2", 1)],
            // c2's answer differs from what the cache holds under its key (say, a truncated answer).
            extractions: vec![
                extraction("c1", "answer", "default:extract:a"),
                extraction("c2", "other", "default:extract:a"),
            ],
            ..Default::default()
        };
        store.commit_document(&commit).unwrap();
        let stored: Vec<Option<String>> = store
            .conn
            .prepare("SELECT result FROM extractions ORDER BY chunk_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored, vec![None, Some("other".into())]);
        let answers = store.stored_extractions(&["c1".into(), "c2".into()]).unwrap();
        let texts: Vec<&str> = answers.iter().map(|x| x.result.as_str()).collect();
        assert_eq!(texts, vec!["answer", "other"]);
    }

    #[test]
    fn all_source_ids_are_stored_only_when_they_differ() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        store.enqueue("doc-1", "a.txt", "Alice met Bob.", "1").unwrap();
        let mut cut = entity("Bob");
        cut.all_source_ids = vec!["c0".into(), "c1".into()];
        let commit = DocumentCommit {
            doc_id: "doc-1".into(),
            entities: vec![
                (entity("Alice").into(), Some(vec![1.0])),
                (cut.clone().into(), Some(vec![1.0])),
            ],
            ..Default::default()
        };
        store.commit_document(&commit).unwrap();
        let column = |name: &str| -> String {
            store
                .conn
                .query_row("SELECT all_source_ids FROM entities WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        assert_eq!(column("Alice"), "");
        assert_eq!(column("Bob"), r#"["c0","c1"]"#);
        assert_eq!(store.entity("Alice").unwrap().unwrap(), entity("Alice"));
        assert_eq!(store.entity("Bob").unwrap().unwrap(), cut);
        let counts: Vec<i64> = store
            .conn
            .prepare(&format!(
                "SELECT {} FROM entities ORDER BY name",
                all_source_count_sql("")
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(counts, vec![1, 2]);
    }

    #[test]
    fn the_embedding_model_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        let pin = EmbeddingPin {
            binding: "local".into(),
            model: "lrt-hash-v1".into(),
            dim: 8,
        };
        store.check_embedding(&pin).unwrap();
        store.check_embedding(&pin).unwrap();
        let other = EmbeddingPin { dim: 16, ..pin };
        let err = store.check_embedding(&other).unwrap_err();
        assert!(err.to_string().contains("lrt kb reindex --reembed"), "{err}");
    }

    fn extraction_answer(chunk_id: &str, response: &str, at: i64) -> CachedAnswer {
        CachedAnswer {
            cache_type: "extract",
            chunk_id: Some(chunk_id.into()),
            response: response.into(),
            at,
        }
    }

    #[test]
    fn the_llm_cache_keeps_the_first_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteKb::open(dir.path()).unwrap();
        store
            .cache_put("default:extract:x", &extraction_answer("c", "first", 5))
            .unwrap();
        store
            .cache_put("default:extract:x", &extraction_answer("c", "second", 6))
            .unwrap();
        assert_eq!(store.cache_get("default:extract:x").unwrap(), Some(("first".into(), 5)));
    }

    #[test]
    fn an_answer_made_before_a_commit_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteKb::open(dir.path()).unwrap();
        let answer = CachedAnswer {
            cache_type: "query",
            chunk_id: None,
            response: "quotes the old text".into(),
            at: 1,
        };
        let generation = store.generation().unwrap();
        store
            .conn
            .execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'", [])
            .unwrap();
        store.cache_put_answer("mix:query:a", &answer, generation).unwrap();
        assert_eq!(store.cache_get("mix:query:a").unwrap(), None);
        store.cache_put_answer("mix:query:a", &answer, generation + 1).unwrap();
        assert_eq!(
            store.cache_get("mix:query:a").unwrap(),
            Some(("quotes the old text".into(), 1))
        );
    }
}
