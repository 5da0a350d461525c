//! Document deletion: the PostgreSQL side of `store/delete.rs`, with the same guarantee: a
//! delete is one transaction, refused when the KB's generation moved since its scope was read.
//! Lists of ids are one statement each (`= ANY`, `unnest`), never a round trip per row.

use std::collections::{HashMap, HashSet};

use postgres::Client;
use uuid::Uuid;

use super::PgKb;
use super::core::{bump_generation, update_entities, update_relations};
use super::rows::{self, DOCUMENT_COLUMNS, ENTITY_COLUMNS, RELATION_COLUMNS, qualified};
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::delete::{DeletionChanges, DeletionScope, DocumentDeletion, StoredExtraction};
use crate::store::kb::{DocumentRow, VectorKind};
use crate::store::rows::{EntityState, RelationState};

type PgResult<T> = std::result::Result<T, postgres::Error>;

impl PgKb {
    /// Processed documents stored under `file_path`, oldest first (`ingest --replace`).
    pub fn processed_documents_at(&self, file_path: &str) -> Result<Vec<DocumentRow>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM kb_documents
                     WHERE tenant_id = $1 AND kb_id = $2 AND file_path = $3 AND status = 'processed'
                     ORDER BY created_at, doc_id"
                ),
                &[&tenant, &kb, &file_path],
            )
            .map_err(|e| pg_error("cannot list documents", e))?
            .iter()
            .map(|r| rows::document(r, 0))
            .collect()
        })
    }

    /// Reads what deleting `doc_ids` touches, in one snapshot. Unknown ids are a not-found
    /// error naming them all; nothing is planned then.
    pub fn deletion_scope(&mut self, doc_ids: &[String]) -> Result<DeletionScope> {
        let (tenant, kb) = (self.tenant, self.kb);
        let mut seen = HashSet::new();
        let ids: Vec<String> = doc_ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect();
        self.read_snapshot(|| {
            self.with(|c| {
                let err = |e| pg_error("cannot read the documents to delete", e);
                let generation = read_generation(c, tenant, kb, false).map_err(err)?;
                let mut found: HashMap<String, DocumentRow> = HashMap::new();
                for r in c
                    .query(
                        &format!(
                            "SELECT {DOCUMENT_COLUMNS} FROM kb_documents
                             WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = ANY($3)"
                        ),
                        &[&tenant, &kb, &ids],
                    )
                    .map_err(err)?
                {
                    let d = rows::document(&r, 0)?;
                    found.insert(d.doc_id.clone(), d);
                }
                let missing: Vec<&str> = ids
                    .iter()
                    .filter(|id| !found.contains_key(*id))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::NotFound(format!(
                        "document{} not found: {} (see `lrt doc list`); nothing was deleted",
                        if missing.len() == 1 { "" } else { "s" },
                        missing.join(", ")
                    )));
                }
                let mut scope = DeletionScope {
                    generation,
                    ..DeletionScope::default()
                };
                scope.documents = ids.iter().filter_map(|id| found.remove(id)).collect();
                for r in c
                    .query(
                        "SELECT chunk_id FROM kb_chunks WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = ANY($3)",
                        &[&tenant, &kb, &ids],
                    )
                    .map_err(err)?
                {
                    scope.chunk_ids.insert(r.get(0));
                }
                // Names and pairs in the order SQLite visits them: document by document, each
                // document's sorted, first sight kept.
                let mut per_doc: HashMap<String, Vec<String>> = HashMap::new();
                for r in c
                    .query(
                        "SELECT doc_id, name FROM kb_doc_entities
                         WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = ANY($3) ORDER BY name",
                        &[&tenant, &kb, &ids],
                    )
                    .map_err(err)?
                {
                    per_doc.entry(r.get(0)).or_default().push(r.get(1));
                }
                let mut name_seen = HashSet::new();
                let names: Vec<String> = ids
                    .iter()
                    .flat_map(|id| per_doc.remove(id).unwrap_or_default())
                    .filter(|n| name_seen.insert(n.clone()))
                    .collect();
                let mut per_doc: HashMap<String, Vec<(String, String)>> = HashMap::new();
                for r in c
                    .query(
                        "SELECT doc_id, src, tgt FROM kb_doc_relations
                         WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = ANY($3) ORDER BY src, tgt",
                        &[&tenant, &kb, &ids],
                    )
                    .map_err(err)?
                {
                    per_doc.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
                }
                let mut pair_seen = HashSet::new();
                let pairs: Vec<(String, String)> = ids
                    .iter()
                    .flat_map(|id| per_doc.remove(id).unwrap_or_default())
                    .filter(|p| pair_seen.insert(p.clone()))
                    .collect();
                let mut entities: HashMap<String, EntityState> = c
                    .query(
                        &format!(
                            "SELECT {ENTITY_COLUMNS} FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = ANY($3)"
                        ),
                        &[&tenant, &kb, &names],
                    )
                    .map_err(err)?
                    .iter()
                    .map(|r| {
                        let e = rows::entity(r, 0);
                        (e.name.clone(), e)
                    })
                    .collect();
                scope.entities = names.iter().filter_map(|n| entities.remove(n)).collect();
                let (srcs, tgts): (Vec<String>, Vec<String>) = pairs.iter().cloned().unzip();
                let mut relations: HashMap<(String, String), RelationState> = c
                    .query(
                        &format!(
                            "SELECT {} FROM kb_relations r JOIN unnest($3::text[], $4::text[]) AS p (src, tgt)
                               ON r.src = p.src AND r.tgt = p.tgt
                             WHERE r.tenant_id = $1 AND r.kb_id = $2",
                            qualified("r", RELATION_COLUMNS)
                        ),
                        &[&tenant, &kb, &srcs, &tgts],
                    )
                    .map_err(err)?
                    .iter()
                    .map(|r| {
                        let rel = rows::relation(r, 0);
                        ((rel.src.clone(), rel.tgt.clone()), rel)
                    })
                    .collect();
                scope.relations = pairs.iter().filter_map(|p| relations.remove(p)).collect();
                Ok(scope)
            })
        })
    }

    /// The stored extraction answers of `chunk_ids` (chunks without one are skipped), oldest
    /// extraction first, ties by chunk key, as on SQLite.
    pub fn stored_extractions(&self, chunk_ids: &[String]) -> Result<Vec<StoredExtraction>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let cached = |slot: i32| {
            format!(
                "(SELECT response FROM kb_llm_cache l WHERE l.tenant_id = x.tenant_id AND l.kb_id = x.kb_id
                   AND l.cache_key = (x.cache_keys::jsonb ->> {slot}))"
            )
        };
        let sql = format!(
            "SELECT x.chunk_id, c.file_path, coalesce(x.result, {}), coalesce(x.glean, {}), x.extracted_at,
                    c.chunk_key
             FROM kb_extractions x JOIN kb_chunks c
               ON c.tenant_id = x.tenant_id AND c.kb_id = x.kb_id AND c.chunk_id = x.chunk_id
             WHERE x.tenant_id = $1 AND x.kb_id = $2 AND x.chunk_id = ANY($3)
             ORDER BY x.extracted_at, c.chunk_key",
            cached(0),
            cached(1)
        );
        self.with(|c| {
            let rows = c
                .query(&sql, &[&tenant, &kb, &chunk_ids])
                .map_err(|e| pg_error("cannot read stored extraction answers", e))?;
            // A chunk listed twice is returned twice, as SQLite's per-id reads do.
            let by_id: HashMap<String, StoredExtraction> = rows
                .iter()
                .map(|r| {
                    let x = StoredExtraction {
                        chunk_id: r.get(0),
                        file_path: r.get(1),
                        result: r.get::<_, Option<String>>(2).unwrap_or_default(),
                        glean: r.get(3),
                        extracted_at: r.get(4),
                    };
                    (x.chunk_id.clone(), x)
                })
                .collect();
            let order: HashMap<&str, usize> = rows.iter().enumerate().map(|(i, r)| (r.get::<_, &str>(0), i)).collect();
            let mut out: Vec<(usize, StoredExtraction)> = chunk_ids
                .iter()
                .filter_map(|id| Some((*order.get(id.as_str())?, by_id.get(id)?.clone())))
                .collect();
            out.sort_by_key(|(i, _)| *i);
            Ok(out.into_iter().map(|(_, x)| x).collect())
        })
    }

    /// Applies a delete in one transaction: removes the documents (their chunks, extraction
    /// answers and `doc_*` rows go with them), the unsupported entities and relations (and any
    /// relation left without an endpoint), rewrites the rebuilt ones, optionally drops the
    /// deleted chunks' cache entries, drops cached query answers and bumps the generation.
    pub fn commit_deletion(&mut self, deletion: &DocumentDeletion) -> Result<DeletionChanges> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.in_tx(|c| {
            check_generation(c, tenant, kb, deletion.expected_generation, "delete")?;
            write_deletion(c, tenant, kb, deletion).map_err(|e| pg_error("cannot delete the documents", e))
        })
    }
}

/// The KB's generation (0 before its first write); `lock` takes the row for the transaction,
/// so writers that check it run one after the other.
pub(super) fn read_generation(c: &mut Client, tenant: Uuid, kb: Uuid, lock: bool) -> PgResult<u64> {
    let sql = format!(
        "SELECT value FROM kb_meta WHERE tenant_id = $1 AND kb_id = $2 AND key = 'generation'{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(c.query_opt(&sql, &[&tenant, &kb])?
        .and_then(|r| r.get::<_, String>(0).parse().ok())
        .unwrap_or(0))
}

/// Inside a write transaction: a conflict (nothing written) unless the KB is still at
/// generation `expected`, so a plan made outside the transaction is never applied to a graph
/// it was not made for.
pub(super) fn check_generation(c: &mut Client, tenant: Uuid, kb: Uuid, expected: u64, what: &str) -> Result<()> {
    let now = read_generation(c, tenant, kb, true).map_err(|e| pg_error("cannot read the knowledge base", e))?;
    if now != expected {
        return Err(Error::Conflict(format!(
            "the knowledge base changed while the {what} was being prepared; nothing was changed, run it again"
        )));
    }
    Ok(())
}

/// Drops every cached query answer of the KB (see `store::delete::drop_cached_answers`).
pub(super) fn drop_cached_answers(c: &mut Client, tenant: Uuid, kb: Uuid) -> PgResult<usize> {
    let n = c.execute(
        "DELETE FROM kb_llm_cache WHERE tenant_id = $1 AND kb_id = $2 AND cache_type = 'query'",
        &[&tenant, &kb],
    )?;
    Ok(n as usize)
}

/// Removes the entities `names` with their relations, document links and curated overrides;
/// the keys of the removed entity and relation rows.
pub(super) fn remove_entities(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    names: &[String],
) -> PgResult<(Vec<i64>, Vec<i64>)> {
    if names.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let keys = |rows: Vec<postgres::Row>| rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>();
    let params: [&(dyn postgres::types::ToSql + Sync); 3] = [&tenant, &kb, &names];
    let entities = keys(c.query(
        "DELETE FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = ANY($3) RETURNING entity_key",
        &params,
    )?);
    let relations = keys(c.query(
        "DELETE FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2 AND (src = ANY($3) OR tgt = ANY($3))
         RETURNING relation_key",
        &params,
    )?);
    c.execute(
        "DELETE FROM kb_doc_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = ANY($3)",
        &params,
    )?;
    for table in ["kb_doc_relations", "kb_graph_overrides"] {
        c.execute(
            &format!("DELETE FROM {table} WHERE tenant_id = $1 AND kb_id = $2 AND (src = ANY($3) OR tgt = ANY($3))"),
            &params,
        )?;
    }
    Ok((entities, relations))
}

/// Removes the relations `pairs` (sorted) with their document links and curated overrides;
/// the keys of the removed rows.
pub(super) fn remove_relations(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    pairs: &[(String, String)],
) -> PgResult<Vec<i64>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let (srcs, tgts): (Vec<String>, Vec<String>) = pairs.iter().cloned().unzip();
    let params: [&(dyn postgres::types::ToSql + Sync); 4] = [&tenant, &kb, &srcs, &tgts];
    let keys = c
        .query(
            "DELETE FROM kb_relations r USING unnest($3::text[], $4::text[]) AS p (src, tgt)
             WHERE r.tenant_id = $1 AND r.kb_id = $2 AND r.src = p.src AND r.tgt = p.tgt
             RETURNING r.relation_key",
            &params,
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for table in ["kb_doc_relations", "kb_graph_overrides"] {
        c.execute(
            &format!(
                "DELETE FROM {table} t USING unnest($3::text[], $4::text[]) AS p (src, tgt)
                 WHERE t.tenant_id = $1 AND t.kb_id = $2 AND t.src = p.src AND t.tgt = p.tgt"
            ),
            &params,
        )?;
    }
    Ok(keys)
}

fn write_deletion(c: &mut Client, tenant: Uuid, kb: Uuid, d: &DocumentDeletion) -> PgResult<DeletionChanges> {
    let mut changes = DeletionChanges::default();
    // Cache keys of the deleted chunks, read before their extraction rows cascade away.
    let mut cache_keys: HashSet<String> = HashSet::new();
    for r in c.query(
        "SELECT c.chunk_key, x.cache_keys FROM kb_chunks c
           LEFT JOIN kb_extractions x ON x.tenant_id = c.tenant_id AND x.kb_id = c.kb_id AND x.chunk_id = c.chunk_id
         WHERE c.tenant_id = $1 AND c.kb_id = $2 AND c.doc_id = ANY($3)
         ORDER BY array_position($3, c.doc_id::text), c.chunk_order",
        &[&tenant, &kb, &d.doc_ids],
    )? {
        changes.removed.push((VectorKind::Chunks, r.get::<_, i64>(0) as u64));
        changes.chunks_deleted += 1;
        if d.drop_llm_cache {
            cache_keys.extend(
                r.get::<_, Option<String>>(1)
                    .and_then(|k| serde_json::from_str::<Vec<String>>(&k).ok())
                    .unwrap_or_default(),
            );
        }
    }
    // Chunks, extraction answers, doc_entities and doc_relations cascade.
    c.execute(
        "DELETE FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = ANY($3)",
        &[&tenant, &kb, &d.doc_ids],
    )?;
    let (entities, relations) = remove_entities(c, tenant, kb, &d.remove_entities)?;
    changes.entities_removed = entities.len();
    changes.relations_removed = relations.len();
    changes
        .removed
        .extend(entities.into_iter().map(|k| (VectorKind::Entities, k as u64)));
    changes
        .removed
        .extend(relations.into_iter().map(|k| (VectorKind::Relations, k as u64)));
    let relations = remove_relations(c, tenant, kb, &d.remove_relations)?;
    changes.relations_removed += relations.len();
    changes
        .removed
        .extend(relations.into_iter().map(|k| (VectorKind::Relations, k as u64)));
    let entities: Vec<(&EntityState, Option<&[f32]>)> = d.entities.iter().map(|(e, v)| (e, v.as_deref())).collect();
    let keys = update_entities(c, tenant, kb, &entities)?;
    for (e, vector) in &d.entities {
        if let (Some(key), Some(vector)) = (keys.get(&e.name), vector) {
            changes
                .upserts
                .push((VectorKind::Entities, *key as u64, vector.clone()));
        }
    }
    let relations: Vec<(&RelationState, Option<&[f32]>)> = d.relations.iter().map(|(r, v)| (r, v.as_deref())).collect();
    let keys = update_relations(c, tenant, kb, &relations)?;
    for (r, vector) in &d.relations {
        if let (Some(key), Some(vector)) = (keys.get(&(r.src.clone(), r.tgt.clone())), vector) {
            changes
                .upserts
                .push((VectorKind::Relations, *key as u64, vector.clone()));
        }
    }
    if d.drop_llm_cache && !cache_keys.is_empty() {
        // A key another (surviving) chunk still lists stays: that chunk's answer is the same.
        let keys: Vec<String> = cache_keys.into_iter().collect();
        let still_used: HashSet<String> = c
            .query(
                "SELECT DISTINCT k FROM kb_extractions x, jsonb_array_elements_text(x.cache_keys::jsonb) AS k
                 WHERE x.tenant_id = $1 AND x.kb_id = $2 AND k = ANY($3)",
                &[&tenant, &kb, &keys],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let gone: Vec<String> = keys.into_iter().filter(|k| !still_used.contains(k)).collect();
        changes.llm_cache_dropped = c.execute(
            "DELETE FROM kb_llm_cache WHERE tenant_id = $1 AND kb_id = $2 AND cache_key = ANY($3)",
            &[&tenant, &kb, &gone],
        )? as usize;
    }
    changes.answers_dropped = drop_cached_answers(c, tenant, kb)?;
    bump_generation(c, tenant, kb)?;
    Ok(changes)
}
