//! Moving a `kb.db` in and out: a consistent snapshot for export (taken with `VACUUM INTO`
//! while other processes may be writing), checks on a snapshot read from an archive, and the
//! bulk insert that fills a fresh KB from another tool's data (LightRAG working directories).
//!
//! Kept apart from `kb.rs` on purpose: these are whole-database operations that never run
//! next to an ingest on the same file.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::kb::{
    EmbeddingPin, ExtractionRow, MIGRATIONS, SEP, SqliteKb, all_source_ids_column, db_err, encode_vector,
    insert_extraction,
};
use crate::error::{Error, Result};

/// What a snapshot holds, for an archive's manifest (and to check it on import).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnapshotCounts {
    pub documents: u64,
    pub chunks: u64,
    pub entities: u64,
    pub relations: u64,
    pub llm_cache: u64,
}

/// A snapshot's schema version, counts and pinned embedding model.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub schema_version: u32,
    pub counts: SnapshotCounts,
    pub embedding: Option<EmbeddingPin>,
}

/// The schema version this build writes.
pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Writes a consistent copy of the KB in `dir` to `dest` (which must not exist). `VACUUM INTO`
/// reads inside one read transaction, so a commit running in another process is either
/// entirely in the copy or not at all, and nobody is blocked. A KB never ingested has no
/// kb.db; an empty, current-schema database is written instead.
pub fn snapshot(dir: &Path, dest: &Path) -> Result<()> {
    let path = dir.join("kb.db");
    if !path.is_file() {
        let parent = dest.parent().unwrap_or(Path::new("."));
        drop(SqliteKb::open(parent)?);
        if parent.join("kb.db") != dest {
            std::fs::rename(parent.join("kb.db"), dest).map_err(|e| Error::storage("cannot write the snapshot", e))?;
        }
        return Ok(());
    }
    let err = db_err("cannot snapshot the knowledge base", &path);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags).map_err(&err)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(&err)?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{} is not a UTF-8 path", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [dest_text]).map_err(&err)?;
    Ok(())
}

/// Opens a snapshot file read-only and reads what the manifest records. Also runs SQLite's
/// `quick_check`, so a damaged file is refused before anything is built on it.
pub fn inspect(file: &Path) -> Result<SnapshotInfo> {
    // Its schema first: nothing of the file runs before it is known to be exactly lrt's.
    let db = super::untrusted::open(file, super::untrusted::READ_LIMIT)?;
    let (conn, version) = (&db.conn, db.version);
    let limit = super::untrusted::READ_LIMIT;
    let bad = |e: rusqlite::Error| super::untrusted::read_error(e, limit);
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(bad)?;
    if check != "ok" {
        return Err(Error::Usage(format!(
            "the knowledge-base snapshot is not usable: {check}"
        )));
    }
    let count = |sql: &str| -> Result<u64> {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(bad)
    };
    let counts = SnapshotCounts {
        documents: count("SELECT count(*) FROM documents")?,
        chunks: count("SELECT count(*) FROM chunks")?,
        entities: count("SELECT count(*) FROM entities")?,
        relations: count("SELECT count(*) FROM relations")?,
        llm_cache: count("SELECT count(*) FROM llm_cache")?,
    };
    let embedding = conn
        .query_row("SELECT value FROM meta WHERE key = 'embedding'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .map_err(bad)?
        .and_then(|v| serde_json::from_str(&v).ok());
    Ok(SnapshotInfo {
        schema_version: version as u32,
        counts,
        embedding,
    })
}

/// A document to insert as is (already processed elsewhere).
#[derive(Debug, Clone)]
pub struct ImportDocument {
    pub doc_id: String,
    pub file_path: String,
    pub content: String,
    pub content_hash: String,
    /// `pending` | `processing` | `processed` | `failed`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A chunk with its vector.
#[derive(Debug, Clone)]
pub struct ImportChunk {
    pub chunk_id: String,
    pub doc_id: String,
    pub order: i64,
    pub tokens: i64,
    pub content: String,
    pub file_path: String,
    pub embedding: Vec<f32>,
}

/// A graph node with its vector.
#[derive(Debug, Clone)]
pub struct ImportEntity {
    pub name: String,
    pub entity_type: String,
    pub description: String,
    pub source_ids: Vec<String>,
    pub all_source_ids: Vec<String>,
    pub file_paths: Vec<String>,
    pub truncate: String,
    pub created_at: i64,
    pub embedding: Vec<f32>,
}

/// A graph edge (`src < tgt`) with its vector.
#[derive(Debug, Clone)]
pub struct ImportRelation {
    pub src: String,
    pub tgt: String,
    pub keywords: String,
    pub description: String,
    pub weight: f64,
    pub source_ids: Vec<String>,
    pub all_source_ids: Vec<String>,
    pub file_paths: Vec<String>,
    pub truncate: String,
    pub created_at: i64,
    pub embedding: Vec<f32>,
}

/// An LLM cache entry.
#[derive(Debug, Clone)]
pub struct ImportCacheEntry {
    pub key: String,
    pub cache_type: String,
    pub chunk_id: Option<String>,
    pub response: String,
    pub created_at: i64,
}

/// Everything a fresh KB is filled with at once.
#[derive(Debug, Clone, Default)]
pub struct ImportRows {
    pub documents: Vec<ImportDocument>,
    pub chunks: Vec<ImportChunk>,
    pub entities: Vec<ImportEntity>,
    pub relations: Vec<ImportRelation>,
    pub doc_entities: Vec<(String, String)>,
    pub doc_relations: Vec<(String, String, String)>,
    pub cache: Vec<ImportCacheEntry>,
    /// Each chunk's cached extraction answers, for rebuilds after deletes.
    pub extractions: Vec<ExtractionRow>,
}

impl SqliteKb {
    /// Fills an empty KB with `rows` and pins `pin`, in one transaction: either everything is
    /// there afterwards or nothing is. Refuses a KB that already has documents.
    pub fn import_rows(&mut self, rows: &ImportRows, pin: &EmbeddingPin) -> Result<()> {
        let err = self.err("cannot import into the knowledge base");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let existing: i64 = tx
            .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
            .map_err(&err)?;
        if existing > 0 {
            return Err(Error::Conflict("the knowledge base is not empty".into()));
        }
        let run = || -> rusqlite::Result<()> {
            for d in &rows.documents {
                tx.prepare_cached(
                    "INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, error,
                        chunks_count, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9)",
                )?
                .execute(params![
                    d.doc_id,
                    d.file_path,
                    d.content,
                    d.content_hash,
                    d.content.chars().count() as i64,
                    d.status,
                    d.error,
                    d.created_at,
                    d.updated_at
                ])?;
            }
            for c in &rows.chunks {
                tx.prepare_cached(
                    "INSERT INTO chunks (chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    c.chunk_id,
                    c.doc_id,
                    c.order,
                    c.tokens,
                    c.content,
                    c.file_path,
                    encode_vector(&c.embedding)
                ])?;
            }
            tx.execute(
                "UPDATE documents SET chunks_count = (SELECT count(*) FROM chunks WHERE chunks.doc_id = documents.doc_id)",
                [],
            )?;
            // The cache first: an extraction answer it holds is then not stored a second time.
            for c in &rows.cache {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO llm_cache (cache_key, cache_type, chunk_id, response, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![c.key, c.cache_type, c.chunk_id, c.response, c.created_at])?;
            }
            for x in &rows.extractions {
                insert_extraction(&tx, x)?;
            }
            for e in &rows.entities {
                tx.prepare_cached(
                    "INSERT INTO entities (name, entity_id, entity_type, description, source_ids, all_source_ids,
                        file_paths, truncate, created_at, embedding)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    e.name,
                    crate::rag::ids::compute_mdhash_id(&e.name, "ent-"),
                    e.entity_type,
                    e.description,
                    e.source_ids.join(SEP),
                    all_source_ids_column(&e.all_source_ids, &e.source_ids),
                    e.file_paths.join(SEP),
                    e.truncate,
                    e.created_at,
                    encode_vector(&e.embedding)
                ])?;
            }
            for r in &rows.relations {
                tx.prepare_cached(
                    "INSERT INTO relations (src, tgt, relation_id, keywords, description, weight, source_ids,
                        all_source_ids, file_paths, truncate, created_at, embedding)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    r.src,
                    r.tgt,
                    crate::rag::ids::relation_vdb_id(&r.src, &r.tgt),
                    r.keywords,
                    r.description,
                    r.weight,
                    r.source_ids.join(SEP),
                    all_source_ids_column(&r.all_source_ids, &r.source_ids),
                    r.file_paths.join(SEP),
                    r.truncate,
                    r.created_at,
                    encode_vector(&r.embedding)
                ])?;
            }
            for (doc, name) in &rows.doc_entities {
                tx.prepare_cached("INSERT OR IGNORE INTO doc_entities (doc_id, name) VALUES (?1, ?2)")?
                    .execute(params![doc, name])?;
            }
            for (doc, src, tgt) in &rows.doc_relations {
                tx.prepare_cached("INSERT OR IGNORE INTO doc_relations (doc_id, src, tgt) VALUES (?1, ?2, ?3)")?
                    .execute(params![doc, src, tgt])?;
            }
            let pin = serde_json::to_string(pin).unwrap_or_default();
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('embedding', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [pin],
            )?;
            tx.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
                [],
            )?;
            Ok(())
        };
        run().map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                Error::Usage(format!("the imported data is inconsistent: {msg}"))
            }
            other => err(other),
        })?;
        tx.commit().map_err(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_of_a_never_ingested_kb_is_an_empty_current_database() {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("kb.db");
        snapshot(&dir.path().join("nothing"), &dest).unwrap();
        let info = inspect(&dest).unwrap();
        assert_eq!(info.schema_version, schema_version());
        assert_eq!(info.counts, SnapshotCounts::default());
        assert!(info.embedding.is_none());
    }

    #[test]
    fn a_snapshot_taken_during_a_write_sees_only_committed_rows_and_does_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        store.enqueue("doc-1", "a.txt", "one", "h1").unwrap();
        // Another writer is half-way through a transaction (WAL: readers are not blocked).
        let writer = Connection::open(dir.path().join("kb.db")).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        writer
            .execute(
                "INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, created_at, updated_at)
                 VALUES ('doc-2', 'b.txt', 'two', 'h2', 3, 'pending', 'x', 'x')",
                [],
            )
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("kb.db");
        let started = std::time::Instant::now();
        snapshot(dir.path(), &dest).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(inspect(&dest).unwrap().counts.documents, 1);
        writer.execute_batch("COMMIT").unwrap();
        let again = out.path().join("again.db");
        snapshot(dir.path(), &again).unwrap();
        assert_eq!(inspect(&again).unwrap().counts.documents, 2);
    }

    #[test]
    fn import_rows_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        let pin = EmbeddingPin {
            binding: "local".into(),
            model: "m".into(),
            dim: 2,
        };
        let doc = ImportDocument {
            doc_id: "doc-1".into(),
            file_path: "a.txt".into(),
            content: "Alice".into(),
            content_hash: "h".into(),
            status: "processed".into(),
            error: None,
            created_at: crate::time::now(),
            updated_at: crate::time::now(),
        };
        let chunk = |doc_id: &str| ImportChunk {
            chunk_id: "doc-1-chunk-000".into(),
            doc_id: doc_id.into(),
            order: 0,
            tokens: 1,
            content: "Alice".into(),
            file_path: "a.txt".into(),
            embedding: vec![1.0, 0.0],
        };
        // A chunk of an unknown document breaks the foreign key: nothing at all is kept.
        let bad = ImportRows {
            documents: vec![doc.clone()],
            chunks: vec![chunk("doc-missing")],
            ..Default::default()
        };
        assert!(matches!(store.import_rows(&bad, &pin), Err(Error::Usage(_))));
        assert_eq!(store.stats().unwrap().documents, 0);
        let good = ImportRows {
            documents: vec![doc],
            chunks: vec![chunk("doc-1")],
            ..Default::default()
        };
        store.import_rows(&good, &pin).unwrap();
        assert_eq!(store.document("doc-1").unwrap().unwrap().chunks_count, 1);
        assert_eq!(store.embedding_pin().unwrap(), Some(pin.clone()));
        assert!(matches!(store.import_rows(&good, &pin), Err(Error::Conflict(_))));
    }
}
