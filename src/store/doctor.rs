//! `lrt doctor`'s view of one `kb.db`: SQLite's own integrity checks, the references between
//! documents, chunks and the graph that the schema cannot enforce, and the one repair that is
//! safe without a model (dropping dangling link rows and leftover chunks, requeueing documents
//! stuck in `processing`), done in one transaction.
//!
//! The checks run on a read-only connection ([`SqliteKb::open_read_only`]); the repair needs a
//! writable one ([`SqliteKb::open`]) and the caller must hold the KB's ingest lock.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::kb::{READABLE_SINCE, SqliteKb, VectorKind, check_readable, db_err, decode_vector};
use crate::error::Result;

/// At most this many example ids are named in a finding.
const SAMPLES: usize = 5;

/// One kind of broken reference, with how many rows have it and a few of their ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    pub check: RefCheck,
    pub count: u64,
    pub samples: Vec<String>,
}

/// The reference checks, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefCheck {
    /// Chunks whose document is not `processed` (a commit writes both at once).
    ChunksOfUnprocessed,
    /// `doc_entities` rows whose document or entity is gone.
    DanglingDocEntities,
    /// `doc_relations` rows whose document or relation is gone.
    DanglingDocRelations,
    /// Relations with an endpoint that is not an entity.
    RelationEndpoints,
    /// `processed` documents whose `chunks_count` differs from their chunks.
    ChunkCounts,
    /// Documents in `processing` (only a problem when no ingest is running).
    StuckProcessing,
    /// Embeddings whose length does not match the pinned model's dimension.
    EmbeddingDims,
}

impl RefCheck {
    /// Whether [`SqliteKb::repair_references`] fixes this kind.
    pub fn repairable(self) -> bool {
        matches!(
            self,
            RefCheck::ChunksOfUnprocessed
                | RefCheck::DanglingDocEntities
                | RefCheck::DanglingDocRelations
                | RefCheck::StuckProcessing
        )
    }
}

/// What [`SqliteKb::repair_references`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefRepair {
    pub chunks_deleted: u64,
    pub doc_entities_deleted: u64,
    pub doc_relations_deleted: u64,
    pub requeued: u64,
}

const CHUNKS_OF_UNPROCESSED: &str = "FROM chunks c WHERE NOT EXISTS
    (SELECT 1 FROM documents d WHERE d.doc_id = c.doc_id AND d.status = 'processed')";
const DANGLING_DOC_ENTITIES: &str = "FROM doc_entities x WHERE
    NOT EXISTS (SELECT 1 FROM documents d WHERE d.doc_id = x.doc_id)
    OR NOT EXISTS (SELECT 1 FROM entities e WHERE e.name = x.name)";
const DANGLING_DOC_RELATIONS: &str = "FROM doc_relations x WHERE
    NOT EXISTS (SELECT 1 FROM documents d WHERE d.doc_id = x.doc_id)
    OR NOT EXISTS (SELECT 1 FROM relations r WHERE r.src = x.src AND r.tgt = x.tgt)";
const RELATION_ENDPOINTS: &str = "FROM relations r WHERE
    NOT EXISTS (SELECT 1 FROM entities e WHERE e.name = r.src)
    OR NOT EXISTS (SELECT 1 FROM entities e WHERE e.name = r.tgt)";
const CHUNK_COUNTS: &str = "FROM documents d WHERE d.status = 'processed'
    AND d.chunks_count != (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id)";
const STUCK_PROCESSING: &str = "FROM documents d WHERE d.status = 'processing'";

impl SqliteKb {
    /// Opens an existing kb.db for checking: `None` when there is none (or it has no tables).
    /// Unlike [`open_read_only`](Self::open_read_only) the connection may write but is set
    /// `query_only`, so that closing it folds SQLite's `-wal`/`-shm` files away as a writer's
    /// close does: a check leaves the folder exactly as it found it. Never creates kb.db.
    pub fn open_for_check(dir: &Path) -> Result<Option<SqliteKb>> {
        let path = dir.join("kb.db");
        if !path.is_file() {
            return Ok(None);
        }
        let err = db_err("cannot open the knowledge base", &path);
        // In a read-only directory the check reads it read-only (it leaves nothing to fold).
        let conn = if crate::layout::writable(dir).is_ok() {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(&path, flags).map_err(&err)?
        } else {
            crate::layout::open_sqlite_read_only(&path).map_err(&err)?
        };
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(&err)?;
        conn.execute_batch("PRAGMA query_only=ON;").map_err(&err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        if !check_readable(&path, version, "cannot check")? {
            return Ok(None);
        }
        Ok(Some(SqliteKb {
            conn,
            dir: dir.to_path_buf(),
        }))
    }

    /// Whether kb.db in `dir` has a schema too old to read as it is: [`open_for_check`] refuses it,
    /// and any command that opens the KB for writing (ingest, `kb reindex`, a query) upgrades it.
    ///
    /// [`open_for_check`]: Self::open_for_check
    pub fn schema_is_older(dir: &Path) -> Result<bool> {
        let path = dir.join("kb.db");
        let err = db_err("cannot open the knowledge base", &path);
        let conn = crate::layout::open_sqlite_read_only(&path).map_err(&err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        Ok(version >= 1 && usize::try_from(version).is_ok_and(|v| v < READABLE_SINCE))
    }

    /// Objects of kb.db's schema that lrt's migrations did not make (a trigger that copies
    /// rows, a view, an extra table) or that are missing: an empty list when it is exactly lrt's.
    pub fn schema_problems(&self) -> Result<Vec<String>> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err("cannot check the database"))?;
        super::untrusted::schema_problems(&self.conn, usize::try_from(version).unwrap_or(0))
    }

    /// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`: an empty list when kb.db is
    /// sound, else SQLite's messages (at most a few).
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let err = self.err("cannot check the database");
        let mut problems: Vec<String> = {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(&err)?;
            stmt.query_map([], |r| r.get::<_, String>(0))
                .map_err(&err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(&err)?
        };
        problems.retain(|line| line != "ok");
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check").map_err(&err)?;
        let violations = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)?;
        problems.extend(violations.into_iter().map(|(table, rowid, parent)| {
            format!(
                "{table} row {} refers to a missing {parent} row",
                rowid.map_or_else(|| "?".into(), |r| r.to_string())
            )
        }));
        problems.truncate(SAMPLES * 2);
        Ok(problems)
    }

    /// Every broken reference between documents, chunks and the graph. `dim` is the pinned
    /// embedding dimension, if any, against which stored embeddings are measured.
    pub fn reference_problems(&self, dim: Option<usize>) -> Result<Vec<RefProblem>> {
        let err = self.err("cannot check references");
        let tx = self.conn.unchecked_transaction().map_err(&err)?;
        let checks: [(RefCheck, &str, String); 6] = [
            (
                RefCheck::ChunksOfUnprocessed,
                "c.chunk_id",
                CHUNKS_OF_UNPROCESSED.into(),
            ),
            (
                RefCheck::DanglingDocEntities,
                "x.doc_id || ' → ' || x.name",
                DANGLING_DOC_ENTITIES.into(),
            ),
            (
                RefCheck::DanglingDocRelations,
                "x.doc_id || ' → ' || x.src || ' / ' || x.tgt",
                DANGLING_DOC_RELATIONS.into(),
            ),
            (
                RefCheck::RelationEndpoints,
                "r.src || ' / ' || r.tgt",
                RELATION_ENDPOINTS.into(),
            ),
            (RefCheck::ChunkCounts, "d.doc_id", CHUNK_COUNTS.into()),
            (RefCheck::StuckProcessing, "d.doc_id", STUCK_PROCESSING.into()),
        ];
        let mut found = Vec::new();
        for (check, label, from) in checks {
            if let Some(problem) = problem(&tx, check, label, &from, []).map_err(&err)? {
                found.push(problem);
            }
        }
        if let Some(dim) = dim {
            // Decoded rather than measured: a sparse embedding's length says little.
            let mut count = 0;
            let mut samples = Vec::new();
            for kind in VectorKind::ALL {
                let (table, key) = kind.table();
                let mut stmt = tx
                    .prepare(&format!("SELECT {key}, embedding FROM {table}"))
                    .map_err(&err)?;
                let mut rows = stmt.query([]).map_err(&err)?;
                while let Some(row) = rows.next().map_err(&err)? {
                    let bytes = row.get_ref(1).map_err(&err)?.as_blob().ok();
                    if bytes.and_then(decode_vector).is_none_or(|v| v.len() != dim) {
                        count += 1;
                        if samples.len() < SAMPLES {
                            samples.push(format!("{table} {}", row.get::<_, i64>(0).map_err(&err)?));
                        }
                    }
                }
            }
            if count > 0 {
                found.push(RefProblem {
                    check: RefCheck::EmbeddingDims,
                    count,
                    samples,
                });
            }
        }
        tx.finish().map_err(&err)?;
        Ok(found)
    }

    /// Fixes the repairable reference problems in one transaction: deletes chunks (and their
    /// extraction answers) of documents that are not `processed` and link rows pointing at
    /// nothing, and puts documents stuck in `processing` back to `pending`, so the next
    /// `lrt ingest` processes them again. Bumps the generation when chunks were deleted, so the
    /// vector indexes are rebuilt. The caller holds the KB's ingest lock.
    pub fn repair_references(&mut self) -> Result<RefRepair> {
        let err = self.err("cannot repair references");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        // By primary key: the link tables have no rowid.
        let delete = |from: &str, table: &str, key: &str, alias_key: &str| -> rusqlite::Result<u64> {
            let sql = format!("DELETE FROM {table} WHERE ({key}) IN (SELECT {alias_key} {from})");
            tx.execute(&sql, []).map(|n| n as u64)
        };
        let repair = RefRepair {
            chunks_deleted: delete(CHUNKS_OF_UNPROCESSED, "chunks", "chunk_key", "c.chunk_key").map_err(&err)?,
            doc_entities_deleted: delete(DANGLING_DOC_ENTITIES, "doc_entities", "doc_id, name", "x.doc_id, x.name")
                .map_err(&err)?,
            doc_relations_deleted: delete(
                DANGLING_DOC_RELATIONS,
                "doc_relations",
                "doc_id, src, tgt",
                "x.doc_id, x.src, x.tgt",
            )
            .map_err(&err)?,
            requeued: tx
                .execute(
                    "UPDATE documents SET status = 'pending', error = NULL, updated_at = ?1 WHERE status = 'processing'",
                    params![crate::time::now()],
                )
                .map_err(&err)? as u64,
        };
        if repair.chunks_deleted > 0 {
            super::delete::drop_cached_answers(&tx).map_err(&err)?;
            tx.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
                [],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)?;
        Ok(repair)
    }
}

/// Counts the rows of `from` and names a few by `label`; `None` when there are none.
fn problem<P: rusqlite::Params + Clone>(
    conn: &Connection,
    check: RefCheck,
    label: &str,
    from: &str,
    params: P,
) -> rusqlite::Result<Option<RefProblem>> {
    let count: i64 = conn.query_row(&format!("SELECT count(*) {from}"), params.clone(), |r| r.get(0))?;
    if count == 0 {
        return Ok(None);
    }
    let mut stmt = conn.prepare(&format!("SELECT {label} {from} LIMIT {SAMPLES}"))?;
    let samples = stmt
        .query_map(params, |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(RefProblem {
        check,
        count: count as u64,
        samples,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(store: &SqliteKb, sql: &str) {
        store.conn.execute_batch(sql).unwrap();
    }

    /// A KB with one sound processed document and one fault of each kind.
    fn faulty() -> (tempfile::TempDir, SqliteKb) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteKb::open(dir.path()).unwrap();
        let blob = "x'003c0040'"; // [1.0, 2.0] as f16
        exec(
            &store,
            &format!(
                "INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, error, chunks_count, created_at, updated_at) VALUES ('ok', 'a', 'c', 'h', 1, 'processed', NULL, 1, 't', 't');
                 INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, error, chunks_count, created_at, updated_at) VALUES ('short', 'b', 'c', 'h', 1, 'processed', NULL, 3, 't', 't');
                 INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, error, chunks_count, created_at, updated_at) VALUES ('stuck', 'c', 'c', 'h', 1, 'processing', NULL, 0, 't', 't');
                 INSERT INTO chunks (chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding)
                     VALUES ('c1', 'ok', 0, 1, 'x', 'a', {blob}), ('c2', 'short', 0, 1, 'x', 'b', {blob}),
                            ('c3', 'stuck', 0, 1, 'x', 'c', x'00');
                 INSERT INTO entities (name, entity_id, entity_type, description, source_ids, all_source_ids,
                     file_paths, created_at, embedding) VALUES ('A', 'ent-a', 'T', 'd', 'c1', '[]', 'a', 0, {blob});
                 INSERT INTO relations (src, tgt, relation_id, keywords, description, weight, source_ids,
                     all_source_ids, file_paths, created_at, embedding)
                     VALUES ('A', 'B', 'rel-ab', 'k', 'd', 1.0, 'c1', '[]', 'a', 0, {blob});
                 INSERT INTO doc_entities VALUES ('ok', 'A'), ('ok', 'GONE');
                 INSERT INTO doc_relations VALUES ('ok', 'A', 'B'), ('ok', 'A', 'Z');"
            ),
        );
        (dir, store)
    }

    fn checks(store: &SqliteKb, dim: Option<usize>) -> Vec<(RefCheck, u64)> {
        store
            .reference_problems(dim)
            .unwrap()
            .into_iter()
            .map(|p| (p.check, p.count))
            .collect()
    }

    #[test]
    fn every_broken_reference_is_found_and_the_safe_ones_repaired() {
        let (_dir, mut store) = faulty();
        assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new());
        assert_eq!(
            checks(&store, Some(2)),
            vec![
                (RefCheck::ChunksOfUnprocessed, 1),
                (RefCheck::DanglingDocEntities, 1),
                (RefCheck::DanglingDocRelations, 1),
                (RefCheck::RelationEndpoints, 1),
                (RefCheck::ChunkCounts, 1),
                (RefCheck::StuckProcessing, 1),
                (RefCheck::EmbeddingDims, 1),
            ]
        );
        let generation = store.generation().unwrap();
        let repair = store.repair_references().unwrap();
        assert_eq!(
            repair,
            RefRepair {
                chunks_deleted: 1,
                doc_entities_deleted: 1,
                doc_relations_deleted: 1,
                requeued: 1,
            }
        );
        assert_eq!(store.generation().unwrap(), generation + 1);
        // What needs the documents again is left alone, and reported again.
        assert_eq!(
            checks(&store, Some(2)),
            vec![(RefCheck::RelationEndpoints, 1), (RefCheck::ChunkCounts, 1)]
        );
        assert!(checks(&store, None).iter().all(|(c, _)| !c.repairable()));
        assert_eq!(store.document("stuck").unwrap().unwrap().status.as_str(), "pending");
        // Nothing left to do: a second repair changes nothing, not even the generation.
        assert_eq!(store.repair_references().unwrap(), RefRepair::default());
        assert_eq!(store.generation().unwrap(), generation + 1);
    }

    #[test]
    fn an_older_schema_is_told_apart_from_damage() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteKb::open(dir.path()).unwrap());
        assert!(!SqliteKb::schema_is_older(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join("kb.db")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        assert!(SqliteKb::schema_is_older(dir.path()).unwrap());
        assert!(SqliteKb::open_for_check(dir.path()).is_err());
        let conn = Connection::open(dir.path().join("kb.db")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(!SqliteKb::schema_is_older(dir.path()).unwrap());
    }

    #[test]
    fn a_missing_or_empty_database_is_not_opened_for_checking() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SqliteKb::open_for_check(dir.path()).unwrap().is_none());
        assert!(!dir.path().join("kb.db").exists());
        drop(SqliteKb::open(dir.path()).unwrap());
        let store = SqliteKb::open_for_check(dir.path()).unwrap().unwrap();
        // query_only: the check connection cannot write.
        assert!(store.conn.execute("DELETE FROM documents", []).is_err());
    }
}
