//! Deleting documents from `kb.db`: what a delete must revisit (its scope), the surviving
//! chunks' stored extraction answers to rebuild from, and the one write transaction that
//! removes the documents and applies the rebuilt graph.
//!
//! Invariant: [`SqliteKb::commit_deletion`] is all or nothing. It refuses to write when the
//! generation moved since the scope was read (someone else committed in between), so a plan
//! computed outside the transaction is never applied to a graph it was not made for.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};

use super::kb::{
    DocumentRow, EXTRACTION_GLEAN, EXTRACTION_RESULT, SqliteKb, VectorKind, entity_from_row, relation_from_row,
    update_entity, update_relation,
};
use crate::error::{Error, Result};
use crate::store::rows::{EntityState, RelationState};

/// What deleting some documents touches, read before anything is computed.
#[derive(Debug, Clone, Default)]
pub struct DeletionScope {
    /// The documents, in the order asked for.
    pub documents: Vec<DocumentRow>,
    /// Their chunks.
    pub chunk_ids: HashSet<String>,
    /// Entities the documents contributed to (`doc_entities`), as stored now.
    pub entities: Vec<EntityState>,
    /// Relations the documents contributed to (`doc_relations`), as stored now.
    pub relations: Vec<RelationState>,
    /// kb.db's generation when the scope was read.
    pub generation: u64,
}

/// A surviving chunk's stored extraction answers (first pass and gleaning).
#[derive(Debug, Clone)]
pub struct StoredExtraction {
    pub chunk_id: String,
    pub file_path: String,
    pub result: String,
    pub glean: Option<String>,
    pub extracted_at: i64,
}

/// The writes of one delete. Rebuilt rows carry a new embedding only when their embedded
/// text changed.
#[derive(Debug, Clone, Default)]
pub struct DocumentDeletion {
    pub doc_ids: Vec<String>,
    pub remove_entities: Vec<String>,
    /// Sorted pairs.
    pub remove_relations: Vec<(String, String)>,
    pub entities: Vec<(EntityState, Option<Vec<f32>>)>,
    pub relations: Vec<(RelationState, Option<Vec<f32>>)>,
    /// Also delete the extraction cache entries of the deleted chunks (those no surviving
    /// chunk still lists).
    pub drop_llm_cache: bool,
    /// The generation the plan was computed at.
    pub expected_generation: u64,
}

/// What a committed delete changed, for the vector indexes and the report.
#[derive(Debug, Clone, Default)]
pub struct DeletionChanges {
    pub removed: Vec<(VectorKind, u64)>,
    pub upserts: Vec<(VectorKind, u64, Vec<f32>)>,
    pub chunks_deleted: usize,
    pub entities_removed: usize,
    /// Including relations removed because an endpoint went.
    pub relations_removed: usize,
    pub llm_cache_dropped: usize,
    /// Cached query answers dropped: any of them may quote the deleted text.
    pub answers_dropped: usize,
}

impl SqliteKb {
    /// Processed documents stored under `file_path`, oldest first (`ingest --replace`).
    pub fn processed_documents_at(&self, file_path: &str) -> Result<Vec<DocumentRow>> {
        let err = self.err("cannot list documents");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT doc_id, file_path, content_hash, content_length, status, error, chunks_count, created_at, updated_at
                 FROM documents WHERE file_path = ?1 AND status = 'processed' ORDER BY created_at, doc_id",
            )
            .map_err(&err)?;
        stmt.query_map([file_path], Self::document_from_row)
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)
    }

    /// Reads what deleting `doc_ids` touches, in one read transaction. Unknown ids are a
    /// not-found error naming them all; nothing is planned then.
    pub fn deletion_scope(&mut self, doc_ids: &[String]) -> Result<DeletionScope> {
        let err = self.err("cannot read the documents to delete");
        let tx = self.conn.transaction().map_err(&err)?;
        let mut scope = DeletionScope {
            generation: tx
                .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
                .map_err(&err)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            ..DeletionScope::default()
        };
        let mut missing = Vec::new();
        let mut seen = HashSet::new();
        let mut names: Vec<String> = Vec::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let (mut name_seen, mut pair_seen) = (HashSet::new(), HashSet::new());
        for id in doc_ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let row = tx
                .prepare_cached(
                    "SELECT doc_id, file_path, content_hash, content_length, status, error, chunks_count, created_at, updated_at
                     FROM documents WHERE doc_id = ?1",
                )
                .and_then(|mut s| s.query_row([id], Self::document_from_row).optional())
                .map_err(&err)?;
            let Some(row) = row else {
                missing.push(id.clone());
                continue;
            };
            scope.documents.push(row);
            let mut stmt = tx
                .prepare_cached("SELECT chunk_id FROM chunks WHERE doc_id = ?1")
                .map_err(&err)?;
            for chunk in stmt.query_map([id], |r| r.get::<_, String>(0)).map_err(&err)? {
                scope.chunk_ids.insert(chunk.map_err(&err)?);
            }
            let mut stmt = tx
                .prepare_cached("SELECT name FROM doc_entities WHERE doc_id = ?1 ORDER BY name")
                .map_err(&err)?;
            for name in stmt.query_map([id], |r| r.get::<_, String>(0)).map_err(&err)? {
                let name = name.map_err(&err)?;
                if name_seen.insert(name.clone()) {
                    names.push(name);
                }
            }
            let mut stmt = tx
                .prepare_cached("SELECT src, tgt FROM doc_relations WHERE doc_id = ?1 ORDER BY src, tgt")
                .map_err(&err)?;
            let rows = stmt
                .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(&err)?;
            for pair in rows {
                let pair = pair.map_err(&err)?;
                if pair_seen.insert(pair.clone()) {
                    pairs.push(pair);
                }
            }
        }
        if !missing.is_empty() {
            return Err(Error::NotFound(format!(
                "document{} not found: {} (see `lrt doc list`); nothing was deleted",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            )));
        }
        for name in &names {
            let entity = tx
                .prepare_cached(
                    "SELECT name, entity_type, description, source_ids, all_source_ids, file_paths, truncate
                     FROM entities WHERE name = ?1",
                )
                .and_then(|mut s| s.query_row([name], entity_from_row).optional())
                .map_err(&err)?;
            scope.entities.extend(entity);
        }
        for (a, b) in &pairs {
            let relation = tx
                .prepare_cached(
                    "SELECT src, tgt, keywords, description, weight, source_ids, all_source_ids, file_paths, truncate
                     FROM relations WHERE src = ?1 AND tgt = ?2",
                )
                .and_then(|mut s| s.query_row([a, b], relation_from_row).optional())
                .map_err(&err)?;
            scope.relations.extend(relation);
        }
        drop(tx);
        Ok(scope)
    }

    /// The stored extraction answers of `chunk_ids` (chunks without one are skipped), oldest
    /// extraction first, as upstream orders cached answers by their creation time.
    pub fn stored_extractions(&self, chunk_ids: &[String]) -> Result<Vec<StoredExtraction>> {
        let err = self.err("cannot read stored extraction answers");
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT x.chunk_id, c.file_path, {EXTRACTION_RESULT}, {EXTRACTION_GLEAN}, x.extracted_at, c.chunk_key
                 FROM extractions x JOIN chunks c ON c.chunk_id = x.chunk_id WHERE x.chunk_id = ?1"
            ))
            .map_err(&err)?;
        let mut rows = Vec::with_capacity(chunk_ids.len());
        for id in chunk_ids {
            let row = stmt
                .query_row([id], |r| {
                    Ok((
                        StoredExtraction {
                            chunk_id: r.get(0)?,
                            file_path: r.get(1)?,
                            result: r.get(2)?,
                            glean: r.get(3)?,
                            extracted_at: r.get(4)?,
                        },
                        r.get::<_, i64>(5)?,
                    ))
                })
                .optional()
                .map_err(&err)?;
            rows.extend(row);
        }
        rows.sort_by_key(|(x, key)| (x.extracted_at, *key));
        Ok(rows.into_iter().map(|(x, _)| x).collect())
    }

    /// Applies a delete in one transaction: removes the documents (their chunks, extraction
    /// answers and `doc_*` rows go with them), the unsupported entities and relations (and any
    /// relation left without an endpoint), rewrites the rebuilt ones, optionally drops the
    /// deleted chunks' cache entries, and bumps the generation.
    pub fn commit_deletion(&mut self, deletion: &DocumentDeletion) -> Result<DeletionChanges> {
        self.write_at_generation(
            "cannot delete the documents",
            deletion.expected_generation,
            "delete",
            |tx| write_deletion(tx, deletion),
        )
    }

    /// Runs `write` in one immediate transaction if kb.db is still at `expected` generation
    /// (a plan made outside the transaction is never applied to a graph it was not made for);
    /// otherwise a conflict naming the `what` that was not done.
    pub(super) fn write_at_generation<T>(
        &mut self,
        context: &str,
        expected: u64,
        what: &str,
        write: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let err = self.err(context);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let generation: u64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get::<_, String>(0)
            })
            .map_err(&err)?
            .parse()
            .unwrap_or(0);
        if generation != expected {
            return Err(Error::Conflict(format!(
                "the knowledge base changed while the {what} was being prepared; nothing was changed, run it again"
            )));
        }
        let out = write(&tx).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(out)
    }
}

fn write_deletion(tx: &Transaction<'_>, d: &DocumentDeletion) -> rusqlite::Result<DeletionChanges> {
    let mut changes = DeletionChanges::default();
    // Cache keys of the deleted chunks, read before their extraction rows cascade away.
    let mut cache_keys: Vec<String> = Vec::new();
    for doc_id in &d.doc_ids {
        let mut stmt = tx.prepare_cached(
            "SELECT c.chunk_key, x.cache_keys FROM chunks c LEFT JOIN extractions x ON x.chunk_id = c.chunk_id
             WHERE c.doc_id = ?1",
        )?;
        let rows = stmt.query_map([doc_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)))?;
        for row in rows {
            let (key, keys) = row?;
            changes.removed.push((VectorKind::Chunks, key as u64));
            changes.chunks_deleted += 1;
            if d.drop_llm_cache {
                cache_keys.extend(
                    keys.and_then(|k| serde_json::from_str::<Vec<String>>(&k).ok())
                        .unwrap_or_default(),
                );
            }
        }
        // Chunks, extraction answers, doc_entities and doc_relations cascade.
        tx.prepare_cached("DELETE FROM documents WHERE doc_id = ?1")?
            .execute([doc_id])?;
    }
    for name in &d.remove_entities {
        let (entity, relations) = remove_entity(tx, name)?;
        if let Some(key) = entity {
            changes.removed.push((VectorKind::Entities, key as u64));
            changes.entities_removed += 1;
        }
        changes.relations_removed += relations.len();
        changes
            .removed
            .extend(relations.into_iter().map(|k| (VectorKind::Relations, k as u64)));
    }
    for (a, b) in &d.remove_relations {
        if let Some(key) = remove_relation(tx, a, b)? {
            changes.removed.push((VectorKind::Relations, key as u64));
            changes.relations_removed += 1;
        }
    }
    for (e, vector) in &d.entities {
        if let (Some(key), Some(vector)) = (update_entity(tx, e, vector.as_deref())?, vector) {
            changes.upserts.push((VectorKind::Entities, key as u64, vector.clone()));
        }
    }
    for (rel, vector) in &d.relations {
        if let (Some(key), Some(vector)) = (update_relation(tx, rel, vector.as_deref())?, vector) {
            changes
                .upserts
                .push((VectorKind::Relations, key as u64, vector.clone()));
        }
    }
    if d.drop_llm_cache {
        // A key another (surviving) chunk still lists stays: that chunk's answer is the same.
        let mut still_used =
            tx.prepare_cached("SELECT 1 FROM extractions x, json_each(x.cache_keys) k WHERE k.value = ?1 LIMIT 1")?;
        let mut delete = tx.prepare_cached("DELETE FROM llm_cache WHERE cache_key = ?1")?;
        let unique: HashSet<String> = cache_keys.into_iter().collect();
        for key in unique {
            if still_used.exists([&key])? {
                continue;
            }
            changes.llm_cache_dropped += delete.execute([&key])?;
        }
    }
    changes.answers_dropped = drop_cached_answers(tx)?;
    tx.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
        [],
    )?;
    Ok(changes)
}

/// Removes entity `name` with its relations, document links and curated overrides; the keys
/// of the removed entity and relation rows.
pub(super) fn remove_entity(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<(Option<i64>, Vec<i64>)> {
    let key: Option<i64> = tx
        .prepare_cached("DELETE FROM entities WHERE name = ?1 RETURNING entity_key")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    let relations = tx
        .prepare_cached("DELETE FROM relations WHERE src = ?1 OR tgt = ?1 RETURNING relation_key")?
        .query_map([name], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.prepare_cached("DELETE FROM doc_entities WHERE name = ?1")?
        .execute([name])?;
    tx.prepare_cached("DELETE FROM doc_relations WHERE src = ?1 OR tgt = ?1")?
        .execute([name])?;
    tx.prepare_cached("DELETE FROM graph_overrides WHERE src = ?1 OR tgt = ?1")?
        .execute([name])?;
    Ok((key, relations))
}

/// Removes the relation `a`–`b` (sorted) with its document links and curated override; its key.
pub(super) fn remove_relation(tx: &Transaction<'_>, a: &str, b: &str) -> rusqlite::Result<Option<i64>> {
    let key = tx
        .prepare_cached("DELETE FROM relations WHERE src = ?1 AND tgt = ?2 RETURNING relation_key")?
        .query_row([a, b], |r| r.get(0))
        .optional()?;
    tx.prepare_cached("DELETE FROM doc_relations WHERE src = ?1 AND tgt = ?2")?
        .execute([a, b])?;
    tx.prepare_cached("DELETE FROM graph_overrides WHERE src = ?1 AND tgt = ?2")?
        .execute([a, b])?;
    Ok(key)
}

/// Drops every cached query answer, in the transaction that removes text from the KB: an
/// answer may quote any chunk, so none survives a delete. (Keyword answers are kept: they
/// are made from the question alone.) An answer being made meanwhile is not stored, see
/// [`SqliteKb::cache_put_answer`].
pub(crate) fn drop_cached_answers(tx: &Transaction<'_>) -> rusqlite::Result<usize> {
    tx.execute("DELETE FROM llm_cache WHERE cache_type = 'query'", [])
}
