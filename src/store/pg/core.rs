//! Documents and their status, the LLM cache, the KB's metadata, a document's commit and the
//! embeddings: the PostgreSQL side of `store/kb.rs`.
//!
//! A document's commit writes hundreds of rows; each kind goes in ONE statement (`unnest` of
//! arrays), so a commit costs a dozen round trips whatever its size, all in one transaction.

use std::collections::HashMap;

use postgres::Client;
use postgres::types::Type;
use uuid::Uuid;

use super::PgKb;
use super::rows::{self, DOCUMENT_COLUMNS, ENTITY_COLUMNS, RELATION_COLUMNS};
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::kb::{
    CachedAnswer, DocStatus, DocumentCommit, DocumentRow, EmbeddingPin, ExtractionRow, SEP, StoreStats, VectorChanges,
    VectorKind, all_source_ids_column, decode_vector, encode_vector, json_list,
};
use crate::store::rows::{EntityState, RelationState};

/// The table holding a collection's embeddings and its key column.
pub(super) fn vector_table(kind: VectorKind) -> (&'static str, &'static str) {
    match kind {
        VectorKind::Chunks => ("kb_chunks", "chunk_key"),
        VectorKind::Entities => ("kb_entities", "entity_key"),
        VectorKind::Relations => ("kb_relations", "relation_key"),
    }
}

/// Moves the KB's generation on by one, inside the caller's transaction (every commit, edit
/// and deletion does: derived indexes and cached engines notice by it).
pub(super) fn bump_generation(c: &mut Client, tenant: Uuid, kb: Uuid) -> std::result::Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'generation', '1')
         ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = (kb_meta.value::bigint + 1)::text",
        &[&tenant, &kb],
    )?;
    Ok(())
}

/// Keeps the last of the items sharing a key, in first-seen order: one multi-row upsert may not
/// touch a row twice, and the last write is what row-by-row statements would leave.
fn last_per_key<'a, T, K: std::hash::Hash + Eq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<&T> = Vec::new();
    for item in items {
        match at.get(&key(item)) {
            Some(&i) => out[i] = item,
            None => {
                at.insert(key(item), out.len());
                out.push(item);
            }
        }
    }
    out
}

/// Stores extraction answers (replacing a chunk's earlier row), leaving out (NULL) an answer
/// the LLM cache holds word for word under the row's first (result) or second (glean) cache key,
/// as SQLite's `insert_extraction` does. Ingest and imports write extraction rows through this.
pub(super) fn insert_extractions(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    rows: &[ExtractionRow],
) -> std::result::Result<(), postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = last_per_key(rows, |x| x.chunk_id.as_str());
    let ids: Vec<&str> = rows.iter().map(|x| x.chunk_id.as_str()).collect();
    let results: Vec<&str> = rows.iter().map(|x| x.result.as_str()).collect();
    let gleans: Vec<Option<&str>> = rows.iter().map(|x| x.glean.as_deref()).collect();
    let keys: Vec<String> = rows.iter().map(|x| json_list(&x.cache_keys)).collect();
    let at: Vec<i64> = rows.iter().map(|x| x.extracted_at).collect();
    c.execute(
        "INSERT INTO kb_extractions (tenant_id, kb_id, chunk_id, result, glean, cache_keys, extracted_at)
         SELECT $1, $2, u.chunk_id,
            CASE WHEN u.result = (SELECT response FROM kb_llm_cache l
                                  WHERE l.tenant_id = $1 AND l.kb_id = $2 AND l.cache_key = (u.cache_keys::jsonb ->> 0))
                 THEN NULL ELSE u.result END,
            CASE WHEN u.glean = (SELECT response FROM kb_llm_cache l
                                 WHERE l.tenant_id = $1 AND l.kb_id = $2 AND l.cache_key = (u.cache_keys::jsonb ->> 1))
                 THEN NULL ELSE u.glean END,
            u.cache_keys, u.extracted_at
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
              AS u(chunk_id, result, glean, cache_keys, extracted_at)
         ON CONFLICT (tenant_id, kb_id, chunk_id) DO UPDATE SET result = excluded.result, glean = excluded.glean,
            cache_keys = excluded.cache_keys, extracted_at = excluded.extracted_at",
        &[&tenant, &kb, &ids, &results, &gleans, &keys, &at],
    )?;
    Ok(())
}

/// An entity's stored columns (besides its name and embedding), as arrays for one statement.
struct EntityColumns<'a> {
    names: Vec<&'a str>,
    types: Vec<&'a str>,
    descriptions: Vec<&'a str>,
    source_ids: Vec<String>,
    all_source_ids: Vec<String>,
    file_paths: Vec<String>,
    truncates: Vec<&'a str>,
}

impl<'a> EntityColumns<'a> {
    fn of(entities: &[&'a EntityState]) -> Self {
        EntityColumns {
            names: entities.iter().map(|e| e.name.as_str()).collect(),
            types: entities.iter().map(|e| e.entity_type.as_str()).collect(),
            descriptions: entities.iter().map(|e| e.description.as_str()).collect(),
            source_ids: entities.iter().map(|e| e.source_ids.join(SEP)).collect(),
            all_source_ids: entities
                .iter()
                .map(|e| all_source_ids_column(&e.all_source_ids, &e.source_ids))
                .collect(),
            file_paths: entities.iter().map(|e| e.file_paths.join(SEP)).collect(),
            truncates: entities.iter().map(|e| e.truncate.as_str()).collect(),
        }
    }
}

/// Inserts entities with their embeddings, or replaces stored ones' fields and embeddings
/// (their keys and `created_at` stay); the key of each name.
pub(super) fn upsert_entities(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    entities: &[(&EntityState, &[f32])],
    created_at: i64,
) -> std::result::Result<HashMap<String, i64>, postgres::Error> {
    if entities.is_empty() {
        return Ok(HashMap::new());
    }
    let entities = last_per_key(entities, |(e, _)| e.name.as_str());
    let states: Vec<&EntityState> = entities.iter().map(|(e, _)| *e).collect();
    let cols = EntityColumns::of(&states);
    let ids: Vec<String> = states
        .iter()
        .map(|e| crate::rag::ids::compute_mdhash_id(&e.name, "ent-"))
        .collect();
    let vectors: Vec<Vec<u8>> = entities.iter().map(|(_, v)| encode_vector(v)).collect();
    let rows = c.query(
        "INSERT INTO kb_entities (tenant_id, kb_id, name, entity_id, entity_type, description, source_ids,
                all_source_ids, file_paths, truncate, created_at, embedding)
         SELECT $1, $2, u.name, u.entity_id, u.entity_type, u.description, u.source_ids, u.all_source_ids,
                u.file_paths, u.truncate, $3, u.embedding
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::bytea[]) WITH ORDINALITY
              AS u(name, entity_id, entity_type, description, source_ids, all_source_ids, file_paths, truncate,
                   embedding, ord)
         ORDER BY u.ord
         ON CONFLICT (tenant_id, kb_id, name) DO UPDATE SET entity_type = excluded.entity_type,
            description = excluded.description, source_ids = excluded.source_ids,
            all_source_ids = excluded.all_source_ids, file_paths = excluded.file_paths,
            truncate = excluded.truncate, embedding = excluded.embedding
         RETURNING name, entity_key",
        &[
            &tenant,
            &kb,
            &created_at,
            &cols.names,
            &ids,
            &cols.types,
            &cols.descriptions,
            &cols.source_ids,
            &cols.all_source_ids,
            &cols.file_paths,
            &cols.truncates,
            &vectors,
        ],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Updates stored entities' graph fields, and their embeddings where a vector is given, in one
/// statement; the key of each name found (entities not stored are skipped).
pub(super) fn update_entities(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    entities: &[(&EntityState, Option<&[f32]>)],
) -> std::result::Result<HashMap<String, i64>, postgres::Error> {
    if entities.is_empty() {
        return Ok(HashMap::new());
    }
    let entities = last_per_key(entities, |(e, _)| e.name.as_str());
    let states: Vec<&EntityState> = entities.iter().map(|(e, _)| *e).collect();
    let cols = EntityColumns::of(&states);
    let vectors: Vec<Option<Vec<u8>>> = entities.iter().map(|(_, v)| v.map(encode_vector)).collect();
    let rows = c.query(
        "UPDATE kb_entities e SET entity_type = u.entity_type, description = u.description,
            source_ids = u.source_ids, all_source_ids = u.all_source_ids, file_paths = u.file_paths,
            truncate = u.truncate, embedding = coalesce(u.embedding, e.embedding)
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::bytea[])
              AS u(name, entity_type, description, source_ids, all_source_ids, file_paths, truncate, embedding)
         WHERE e.tenant_id = $1 AND e.kb_id = $2 AND e.name = u.name
         RETURNING e.name, e.entity_key",
        &[
            &tenant,
            &kb,
            &cols.names,
            &cols.types,
            &cols.descriptions,
            &cols.source_ids,
            &cols.all_source_ids,
            &cols.file_paths,
            &cols.truncates,
            &vectors,
        ],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A relation's stored columns (besides its embedding), as arrays for one statement.
struct RelationColumns<'a> {
    srcs: Vec<&'a str>,
    tgts: Vec<&'a str>,
    keywords: Vec<&'a str>,
    descriptions: Vec<&'a str>,
    weights: Vec<f64>,
    source_ids: Vec<String>,
    all_source_ids: Vec<String>,
    file_paths: Vec<String>,
    truncates: Vec<&'a str>,
}

impl<'a> RelationColumns<'a> {
    fn of(relations: &[&'a RelationState]) -> Self {
        RelationColumns {
            srcs: relations.iter().map(|r| r.src.as_str()).collect(),
            tgts: relations.iter().map(|r| r.tgt.as_str()).collect(),
            keywords: relations.iter().map(|r| r.keywords.as_str()).collect(),
            descriptions: relations.iter().map(|r| r.description.as_str()).collect(),
            weights: relations.iter().map(|r| r.weight).collect(),
            source_ids: relations.iter().map(|r| r.source_ids.join(SEP)).collect(),
            all_source_ids: relations
                .iter()
                .map(|r| all_source_ids_column(&r.all_source_ids, &r.source_ids))
                .collect(),
            file_paths: relations.iter().map(|r| r.file_paths.join(SEP)).collect(),
            truncates: relations.iter().map(|r| r.truncate.as_str()).collect(),
        }
    }
}

/// [`upsert_entities`] for relations (`src < tgt`): the key of each `(src, tgt)`.
pub(super) fn upsert_relations(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    relations: &[(&RelationState, &[f32])],
    created_at: i64,
) -> std::result::Result<HashMap<(String, String), i64>, postgres::Error> {
    if relations.is_empty() {
        return Ok(HashMap::new());
    }
    let relations = last_per_key(relations, |(r, _)| (r.src.as_str(), r.tgt.as_str()));
    let states: Vec<&RelationState> = relations.iter().map(|(r, _)| *r).collect();
    let cols = RelationColumns::of(&states);
    let ids: Vec<String> = states
        .iter()
        .map(|r| crate::rag::ids::relation_vdb_id(&r.src, &r.tgt))
        .collect();
    let vectors: Vec<Vec<u8>> = relations.iter().map(|(_, v)| encode_vector(v)).collect();
    let rows = c.query(
        "INSERT INTO kb_relations (tenant_id, kb_id, src, tgt, relation_id, keywords, description, weight,
                source_ids, all_source_ids, file_paths, truncate, created_at, embedding)
         SELECT $1, $2, u.src, u.tgt, u.relation_id, u.keywords, u.description, u.weight, u.source_ids,
                u.all_source_ids, u.file_paths, u.truncate, $3, u.embedding
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::text[],
                     $11::text[], $12::text[], $13::text[], $14::bytea[]) WITH ORDINALITY
              AS u(src, tgt, relation_id, keywords, description, weight, source_ids, all_source_ids, file_paths,
                   truncate, embedding, ord)
         ORDER BY u.ord
         ON CONFLICT (tenant_id, kb_id, src, tgt) DO UPDATE SET keywords = excluded.keywords,
            description = excluded.description, weight = excluded.weight, source_ids = excluded.source_ids,
            all_source_ids = excluded.all_source_ids, file_paths = excluded.file_paths,
            truncate = excluded.truncate, embedding = excluded.embedding
         RETURNING src, tgt, relation_key",
        &[
            &tenant,
            &kb,
            &created_at,
            &cols.srcs,
            &cols.tgts,
            &ids,
            &cols.keywords,
            &cols.descriptions,
            &cols.weights,
            &cols.source_ids,
            &cols.all_source_ids,
            &cols.file_paths,
            &cols.truncates,
            &vectors,
        ],
    )?;
    Ok(rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect())
}

/// [`update_entities`] for relations: the key of each `(src, tgt)` found.
pub(super) fn update_relations(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    relations: &[(&RelationState, Option<&[f32]>)],
) -> std::result::Result<HashMap<(String, String), i64>, postgres::Error> {
    if relations.is_empty() {
        return Ok(HashMap::new());
    }
    let relations = last_per_key(relations, |(r, _)| (r.src.as_str(), r.tgt.as_str()));
    let states: Vec<&RelationState> = relations.iter().map(|(r, _)| *r).collect();
    let cols = RelationColumns::of(&states);
    let vectors: Vec<Option<Vec<u8>>> = relations.iter().map(|(_, v)| v.map(encode_vector)).collect();
    let rows = c.query(
        "UPDATE kb_relations r SET keywords = u.keywords, description = u.description, weight = u.weight,
            source_ids = u.source_ids, all_source_ids = u.all_source_ids, file_paths = u.file_paths,
            truncate = u.truncate, embedding = coalesce(u.embedding, r.embedding)
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::bytea[])
              AS u(src, tgt, keywords, description, weight, source_ids, all_source_ids, file_paths, truncate,
                   embedding)
         WHERE r.tenant_id = $1 AND r.kb_id = $2 AND r.src = u.src AND r.tgt = u.tgt
         RETURNING r.src, r.tgt, r.relation_key",
        &[
            &tenant,
            &kb,
            &cols.srcs,
            &cols.tgts,
            &cols.keywords,
            &cols.descriptions,
            &cols.weights,
            &cols.source_ids,
            &cols.all_source_ids,
            &cols.file_paths,
            &cols.truncates,
            &vectors,
        ],
    )?;
    Ok(rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect())
}

/// A commit naming a stored row that is not there (SQLite: "query returned no rows").
fn missing_row(what: &str, count: usize, found: usize) -> Error {
    Error::storage(
        "cannot commit the document",
        format!("{} of {count} {what} to update are not stored", count - found),
    )
}

/// Writes one document's commit inside the caller's transaction (see
/// [`PgKb::commit_document`]).
fn write_commit(c: &mut Client, tenant: Uuid, kb: Uuid, commit: &DocumentCommit) -> Result<VectorChanges> {
    let err = |e| pg_error("cannot commit the document", e);
    let mut changes = VectorChanges::default();
    // A reprocessed document replaces whatever partial rows it had.
    c.execute(
        "DELETE FROM kb_chunks WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3",
        &[&tenant, &kb, &commit.doc_id],
    )
    .map_err(err)?;
    if !commit.chunks.is_empty() {
        let ids: Vec<&str> = commit.chunks.iter().map(|ch| ch.chunk_id.as_str()).collect();
        let orders: Vec<i64> = commit.chunks.iter().map(|ch| ch.order as i64).collect();
        let tokens: Vec<i64> = commit.chunks.iter().map(|ch| ch.tokens as i64).collect();
        let contents: Vec<&str> = commit.chunks.iter().map(|ch| ch.content.as_str()).collect();
        let vectors: Vec<Vec<u8>> = commit.chunks.iter().map(|ch| encode_vector(&ch.embedding)).collect();
        let firsts: Vec<Option<i64>> = commit
            .chunks
            .iter()
            .map(|ch| ch.pages.map(|p| i64::from(p.0)))
            .collect();
        let lasts: Vec<Option<i64>> = commit
            .chunks
            .iter()
            .map(|ch| ch.pages.map(|p| i64::from(p.1)))
            .collect();
        let rows = c
            .query(
                "INSERT INTO kb_chunks (tenant_id, kb_id, chunk_id, doc_id, chunk_order, tokens, content, file_path,
                        embedding, page_first, page_last)
                 SELECT $1, $2, u.chunk_id, $3, u.chunk_order, u.tokens, u.content, $4, u.embedding, u.page_first,
                        u.page_last
                 FROM unnest($5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::bytea[], $10::bigint[],
                             $11::bigint[]) WITH ORDINALITY
                      AS u(chunk_id, chunk_order, tokens, content, embedding, page_first, page_last, ord)
                 ORDER BY u.ord
                 RETURNING chunk_id, chunk_key",
                &[
                    &tenant,
                    &kb,
                    &commit.doc_id,
                    &commit.file_path,
                    &ids,
                    &orders,
                    &tokens,
                    &contents,
                    &vectors,
                    &firsts,
                    &lasts,
                ],
            )
            .map_err(err)?;
        let keys: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        for chunk in &commit.chunks {
            let key = keys[&chunk.chunk_id];
            changes
                .upserts
                .push((VectorKind::Chunks, key as u64, chunk.embedding.clone()));
        }
    }
    insert_extractions(c, tenant, kb, &commit.extractions).map_err(err)?;

    let stays: Vec<(&EntityState, Option<&[f32]>)> = commit
        .entities
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(e, _)| (&**e, None))
        .collect();
    let found = update_entities(c, tenant, kb, &stays).map_err(err)?;
    let wanted = last_per_key(&stays, |(e, _)| e.name.as_str()).len();
    if found.len() != wanted {
        return Err(missing_row("entities", wanted, found.len()));
    }
    let embedded: Vec<(&EntityState, &[f32])> = commit
        .entities
        .iter()
        .filter_map(|(e, v)| v.as_deref().map(|v| (&**e, v)))
        .collect();
    let keys = upsert_entities(c, tenant, kb, &embedded, commit.created_at).map_err(err)?;
    for (e, vector) in &embedded {
        changes
            .upserts
            .push((VectorKind::Entities, keys[&e.name] as u64, vector.to_vec()));
    }
    let names: Vec<&str> = commit.entities.iter().map(|(e, _)| e.name.as_str()).collect();
    if !names.is_empty() {
        c.execute(
            "INSERT INTO kb_doc_entities (tenant_id, kb_id, doc_id, name)
             SELECT $1, $2, $3, n FROM unnest($4::text[]) AS n ON CONFLICT DO NOTHING",
            &[&tenant, &kb, &commit.doc_id, &names],
        )
        .map_err(err)?;
    }

    let stays: Vec<(&RelationState, Option<&[f32]>)> = commit
        .relations
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(r, _)| (&**r, None))
        .collect();
    let found = update_relations(c, tenant, kb, &stays).map_err(err)?;
    let wanted = last_per_key(&stays, |(r, _)| (r.src.as_str(), r.tgt.as_str())).len();
    if found.len() != wanted {
        return Err(missing_row("relations", wanted, found.len()));
    }
    let embedded: Vec<(&RelationState, &[f32])> = commit
        .relations
        .iter()
        .filter_map(|(r, v)| v.as_deref().map(|v| (&**r, v)))
        .collect();
    let keys = upsert_relations(c, tenant, kb, &embedded, commit.created_at).map_err(err)?;
    for (r, vector) in &embedded {
        let key = keys[&(r.src.clone(), r.tgt.clone())];
        changes
            .upserts
            .push((VectorKind::Relations, key as u64, vector.to_vec()));
    }
    if !commit.relations.is_empty() {
        let srcs: Vec<&str> = commit.relations.iter().map(|(r, _)| r.src.as_str()).collect();
        let tgts: Vec<&str> = commit.relations.iter().map(|(r, _)| r.tgt.as_str()).collect();
        c.execute(
            "INSERT INTO kb_doc_relations (tenant_id, kb_id, doc_id, src, tgt)
             SELECT $1, $2, $3, s, t FROM unnest($4::text[], $5::text[]) AS u(s, t) ON CONFLICT DO NOTHING",
            &[&tenant, &kb, &commit.doc_id, &srcs, &tgts],
        )
        .map_err(err)?;
    }

    c.execute(
        "UPDATE kb_documents SET status = 'processed', error = NULL, chunks_count = $4, updated_at = $5
         WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3",
        &[
            &tenant,
            &kb,
            &commit.doc_id,
            &(commit.chunks.len() as i64),
            &crate::time::now(),
        ],
    )
    .map_err(err)?;
    bump_generation(c, tenant, kb).map_err(err)?;
    Ok(changes)
}

impl PgKb {
    /// Changes on every commit; derived vector indexes record the generation they were built at.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.meta("generation")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The embedding model this KB's vectors were made with, if any.
    pub fn embedding_pin(&self) -> Result<Option<EmbeddingPin>> {
        Ok(self.meta("embedding")?.and_then(|v| serde_json::from_str(&v).ok()))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            // One round trip: every question checks the generation.
            c.query_prepared(
                "SELECT value FROM kb_meta WHERE tenant_id = $1 AND kb_id = $2 AND key = $3",
                &[(&tenant, Type::UUID), (&kb, Type::UUID), (&key, Type::TEXT)],
            )
            .map(|rows| rows.first().map(|r| r.get(0)))
            .map_err(|e| pg_error("cannot read kb metadata", e))
        })
    }

    /// Pins the embedding model on first use; refuses another one afterwards. Two first
    /// ingests racing pin one model: the pin is inserted only where none is.
    pub fn check_embedding(&mut self, pin: &EmbeddingPin) -> Result<()> {
        let value = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.execute(
                "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'embedding', $3)
                 ON CONFLICT (tenant_id, kb_id, key) DO NOTHING",
                &[&tenant, &kb, &value],
            )
            .map_err(|e| pg_error("cannot pin the embedding model", e))?;
            Ok(())
        })?;
        match self.embedding_pin()? {
            Some(existing) if existing == *pin => Ok(()),
            Some(existing) => Err(crate::store::kb::embedding_mismatch(&existing, pin)),
            None => self.set_embedding_pin(pin),
        }
    }

    /// Records a (new) embedding model; used on first ingest and by `kb reindex --reembed`.
    pub fn set_embedding_pin(&mut self, pin: &EmbeddingPin) -> Result<()> {
        let value = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        let (tenant, kb) = (self.tenant, self.kb);
        self.write(|c| {
            c.execute(
                "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'embedding', $3)
                 ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = excluded.value",
                &[&tenant, &kb, &value],
            )
            .map_err(|e| pg_error("cannot pin the embedding model", e))?;
            Ok(())
        })
    }

    /// Adds a document as `pending` unless one with this id exists; returns the existing
    /// row in that case (also when another process added it at the same moment).
    pub fn enqueue(&mut self, doc_id: &str, file_path: &str, content: &str, hash: &str) -> Result<Option<DocumentRow>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let length = content.chars().count() as i64;
        let added = self.with(|c| {
            let now = crate::time::now();
            c.query_opt(
                "INSERT INTO kb_documents (tenant_id, kb_id, doc_id, file_path, content, content_hash, content_length,
                        status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)
                 ON CONFLICT (tenant_id, kb_id, doc_id) DO NOTHING RETURNING doc_id",
                &[&tenant, &kb, &doc_id, &file_path, &content, &hash, &length, &now],
            )
            .map(|r| r.is_some())
            .map_err(|e| pg_error("cannot add the document", e))
        })?;
        if added {
            return Ok(None);
        }
        self.document(doc_id)
    }

    pub fn document(&self, doc_id: &str) -> Result<Option<DocumentRow>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_opt(
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3"
                ),
                &[&tenant, &kb, &doc_id],
            )
            .map_err(|e| pg_error("cannot read the document", e))?
            .map(|r| rows::document(&r, 0))
            .transpose()
        })
    }

    /// Records the pages of a queued document's content (as SQLite's `pages` column).
    pub fn set_document_pages(&mut self, doc_id: &str, pages: &[crate::extract::Page]) -> Result<()> {
        let json = crate::store::kb::pages_json(pages)?;
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.execute(
                "UPDATE kb_documents SET pages = $4 WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3",
                &[&tenant, &kb, &doc_id, &json],
            )
            .map_err(|e| pg_error("cannot record the document's pages", e))?;
            Ok(())
        })
    }

    /// The pages recorded for a document (empty without any).
    pub fn document_pages(&self, doc_id: &str) -> Result<Vec<crate::extract::Page>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let json: Option<String> = self.with(|c| {
            c.query_opt(
                "SELECT pages FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3",
                &[&tenant, &kb, &doc_id],
            )
            .map(|r| r.and_then(|r| r.get(0)))
            .map_err(|e| pg_error("cannot read the document", e))
        })?;
        Ok(crate::store::kb::parse_pages(json))
    }

    pub fn document_content(&self, doc_id: &str) -> Result<Option<String>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_opt(
                "SELECT content FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3",
                &[&tenant, &kb, &doc_id],
            )
            .map(|r| r.map(|r| r.get(0)))
            .map_err(|e| pg_error("cannot read the document", e))
        })
    }

    /// How many documents have one of `statuses`.
    pub fn count_with_status(&self, statuses: &[DocStatus]) -> Result<u64> {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_one(
                "SELECT count(*) FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND status = ANY($3)",
                &[&tenant, &kb, &names],
            )
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .map_err(|e| pg_error("cannot count documents", e))
        })
    }

    /// Documents with one of `statuses`, oldest first (then in the order they were added).
    pub fn documents_with_status(&self, statuses: &[DocStatus]) -> Result<Vec<DocumentRow>> {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM kb_documents
                     WHERE tenant_id = $1 AND kb_id = $2 AND status = ANY($3) ORDER BY created_at, seq"
                ),
                &[&tenant, &kb, &names],
            )
            .map_err(|e| pg_error("cannot list documents", e))?
            .iter()
            .map(|r| rows::document(r, 0))
            .collect()
        })
    }

    /// Marks a document pending/processing/failed (never processed: that is the commit).
    pub fn set_status(&mut self, doc_id: &str, status: DocStatus, error: Option<&str>) -> Result<()> {
        debug_assert!(status != DocStatus::Processed);
        let (tenant, kb) = (self.tenant, self.kb);
        self.write(|c| {
            c.execute(
                "UPDATE kb_documents SET status = $4, error = $5, updated_at = $6
                 WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3",
                &[&tenant, &kb, &doc_id, &status.as_str(), &error, &crate::time::now()],
            )
            .map_err(|e| pg_error("cannot update the document status", e))?;
            Ok(())
        })
    }

    /// Puts every `processing` document back to `pending` (after an interrupted run, whose
    /// documents were not committed); the number moved. Called under the KB's ingest lock, so
    /// no other process is processing any of them.
    pub fn requeue_processing(&mut self) -> Result<usize> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.write(|c| {
            c.execute(
                "UPDATE kb_documents SET status = 'pending', error = NULL, updated_at = $3
                 WHERE tenant_id = $1 AND kb_id = $2 AND status = 'processing'",
                &[&tenant, &kb, &crate::time::now()],
            )
            .map(|n| n as usize)
            .map_err(|e| pg_error("cannot update the document status", e))
        })
    }

    /// Marks documents failed, each with its error, in one statement.
    pub fn set_failed_many(&mut self, failures: &[(String, String)]) -> Result<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let failures = last_per_key(failures, |(id, _)| id.as_str());
        let ids: Vec<&str> = failures.iter().map(|(id, _)| id.as_str()).collect();
        let errors: Vec<&str> = failures.iter().map(|(_, e)| e.as_str()).collect();
        let (tenant, kb) = (self.tenant, self.kb);
        self.write(|c| {
            c.execute(
                "UPDATE kb_documents d SET status = 'failed', error = u.error, updated_at = $5
                 FROM unnest($3::text[], $4::text[]) AS u(doc_id, error)
                 WHERE d.tenant_id = $1 AND d.kb_id = $2 AND d.doc_id = u.doc_id",
                &[&tenant, &kb, &ids, &errors, &crate::time::now()],
            )
            .map_err(|e| pg_error("cannot update the document status", e))?;
            Ok(())
        })
    }

    /// A cached model answer.
    pub fn cache_get(&self, key: &str) -> Result<Option<(String, i64)>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            // Typed parameters: one round trip (a cache lookup precedes every model call).
            c.query_prepared(
                "SELECT response, created_at FROM kb_llm_cache WHERE tenant_id = $1 AND kb_id = $2 AND cache_key = $3",
                &[(&tenant, Type::UUID), (&kb, Type::UUID), (&key, Type::TEXT)],
            )
            .map(|rows| rows.first().map(|r| (r.get(0), r.get(1))))
            .map_err(|e| pg_error("cannot read the LLM cache", e))
        })
    }

    /// Stores a model answer under `key`; an existing entry for the key is kept.
    pub fn cache_put(&self, key: &str, answer: &CachedAnswer) -> Result<()> {
        self.cache_put_many(&[(key, answer)])
    }

    /// Stores model answers, an existing entry for a key kept: one statement for a document's
    /// worth of answers.
    pub fn cache_put_many(&self, answers: &[(&str, &CachedAnswer)]) -> Result<()> {
        let (tenant, kb) = (self.tenant, self.kb);
        let keys: Vec<&str> = answers.iter().map(|(k, _)| *k).collect();
        let types: Vec<&str> = answers.iter().map(|(_, a)| a.cache_type).collect();
        let chunks: Vec<Option<&str>> = answers.iter().map(|(_, a)| a.chunk_id.as_deref()).collect();
        let responses: Vec<&str> = answers.iter().map(|(_, a)| a.response.as_str()).collect();
        let at: Vec<i64> = answers.iter().map(|(_, a)| a.at).collect();
        self.with(|c| {
            c.query_prepared(
                "INSERT INTO kb_llm_cache (tenant_id, kb_id, cache_key, cache_type, chunk_id, response, created_at)
                 SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
                   AS u(cache_key, cache_type, chunk_id, response, created_at)
                 ON CONFLICT (tenant_id, kb_id, cache_key) DO NOTHING",
                &[
                    (&tenant, Type::UUID),
                    (&kb, Type::UUID),
                    (&keys, Type::TEXT_ARRAY),
                    (&types, Type::TEXT_ARRAY),
                    (&chunks, Type::TEXT_ARRAY),
                    (&responses, Type::TEXT_ARRAY),
                    (&at, Type::INT8_ARRAY),
                ],
            )
            .map_err(|e| pg_error("cannot write the LLM cache", e))?;
            Ok(())
        })
    }

    /// Stores a query answer made from what the KB held at `generation`, only if nothing was
    /// committed since (see [`SqliteKb::cache_put_answer`](crate::store::kb::SqliteKb::cache_put_answer)).
    pub fn cache_put_answer(&self, key: &str, answer: &CachedAnswer, generation: u64) -> Result<()> {
        let (tenant, kb, generation) = (self.tenant, self.kb, generation as i64);
        self.with(|c| {
            c.query_prepared(
                "INSERT INTO kb_llm_cache (tenant_id, kb_id, cache_key, cache_type, chunk_id, response, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE coalesce((SELECT value::bigint FROM kb_meta
                        WHERE tenant_id = $1 AND kb_id = $2 AND key = 'generation'), 0) = $8
                 ON CONFLICT (tenant_id, kb_id, cache_key) DO NOTHING",
                &[
                    (&tenant, Type::UUID),
                    (&kb, Type::UUID),
                    (&key, Type::TEXT),
                    (&answer.cache_type, Type::TEXT),
                    (&answer.chunk_id, Type::TEXT),
                    (&answer.response, Type::TEXT),
                    (&answer.at, Type::INT8),
                    (&generation, Type::INT8),
                ],
            )
            .map_err(|e| pg_error("cannot write the LLM cache", e))?;
            Ok(())
        })
    }

    pub fn entity(&self, name: &str) -> Result<Option<EntityState>> {
        Ok(self.entities_named(&[name])?.pop().flatten())
    }

    /// The relation between `a` and `b`, in either order (stored with `src < tgt`).
    pub fn relation(&self, a: &str, b: &str) -> Result<Option<RelationState>> {
        Ok(self.relations_between(&[(a, b)])?.pop().flatten())
    }

    /// The entities named `names`, in that order (`None` where there is none): one statement
    /// for all of a document's entities.
    pub fn entities_named(&self, names: &[&str]) -> Result<Vec<Option<EntityState>>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let sql = format!(
            "SELECT w.ord, {} FROM unnest($3::text[]) WITH ORDINALITY AS w(name, ord)
             JOIN kb_entities e ON e.tenant_id = $1 AND e.kb_id = $2 AND e.name = w.name",
            rows::qualified("e", ENTITY_COLUMNS)
        );
        let found = self.with(|c| {
            c.query_prepared(
                &sql,
                &[(&tenant, Type::UUID), (&kb, Type::UUID), (&names, Type::TEXT_ARRAY)],
            )
            .map_err(|e| pg_error("cannot read entities", e))
        })?;
        Ok(in_order(names.len(), found, |r| rows::entity(r, 1)))
    }

    /// The relations between each pair, in either order, in the order of `pairs` (`None` where
    /// there is none): one statement for all of a document's relations.
    pub fn relations_between(&self, pairs: &[(&str, &str)]) -> Result<Vec<Option<RelationState>>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let (src, tgt): (Vec<&str>, Vec<&str>) =
            pairs.iter().map(|&(a, b)| if a <= b { (a, b) } else { (b, a) }).unzip();
        let sql = format!(
            "SELECT w.ord, {} FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(src, tgt, ord)
             JOIN kb_relations r ON r.tenant_id = $1 AND r.kb_id = $2 AND r.src = w.src AND r.tgt = w.tgt",
            rows::qualified("r", RELATION_COLUMNS)
        );
        let found = self.with(|c| {
            c.query_prepared(
                &sql,
                &[
                    (&tenant, Type::UUID),
                    (&kb, Type::UUID),
                    (&src, Type::TEXT_ARRAY),
                    (&tgt, Type::TEXT_ARRAY),
                ],
            )
            .map_err(|e| pg_error("cannot read relations", e))
        })?;
        Ok(in_order(pairs.len(), found, |r| rows::relation(r, 1)))
    }

    /// Writes a processed document in one transaction and marks it processed: its chunks,
    /// extraction answers, graph rows and document links, its status, and the generation.
    /// Every `CHECK_EVERY_ROWS` (`pg/stats.rs`) rows written, the planner
    /// statistics are refreshed where stale (a failure there only warns: the commit stands).
    pub fn commit_document(&mut self, commit: &DocumentCommit) -> Result<VectorChanges> {
        let (tenant, kb) = (self.tenant, self.kb);
        let changes = self.in_tx(|c| write_commit(c, tenant, kb, commit))?;
        let rows =
            commit.chunks.len() + commit.extractions.len() + 2 * (commit.entities.len() + commit.relations.len());
        self.written_since_stats += rows as u64;
        if self.written_since_stats >= super::stats::CHECK_EVERY_ROWS {
            self.written_since_stats = 0;
            if let Err(e) = self.refresh_statistics() {
                tracing::warn!(error = %e, "could not refresh the planner statistics");
            }
        }
        Ok(changes)
    }

    /// `(key, vector)` of every row of a collection, in key order, for rebuilding its index.
    pub fn vectors(&self, kind: VectorKind) -> Result<Vec<(u64, Vec<f32>)>> {
        let (table, key) = vector_table(kind);
        let (tenant, kb) = (self.tenant, self.kb);
        let rows = self.with(|c| {
            c.query(
                &format!("SELECT {key}, embedding FROM {table} WHERE tenant_id = $1 AND kb_id = $2 ORDER BY {key}"),
                &[&tenant, &kb],
            )
            .map_err(|e| pg_error("cannot read embeddings", e))
        })?;
        rows.iter()
            .map(|r| {
                let k: i64 = r.get(0);
                decode_vector(r.get(1))
                    .map(|v| (k as u64, v))
                    .ok_or_else(|| Error::storage("corrupt embedding in the database", format!("{table} row {k}")))
            })
            .collect()
    }

    /// `(key, text to embed)` of every row of a collection, as upstream embeds them.
    pub fn embedding_texts(&self, kind: VectorKind) -> Result<Vec<(u64, String)>> {
        let sql = match kind {
            VectorKind::Chunks => {
                "SELECT chunk_key, content FROM kb_chunks WHERE tenant_id = $1 AND kb_id = $2 ORDER BY chunk_key"
            }
            VectorKind::Entities => {
                "SELECT entity_key, name || chr(10) || description FROM kb_entities
                 WHERE tenant_id = $1 AND kb_id = $2 ORDER BY entity_key"
            }
            VectorKind::Relations => {
                "SELECT relation_key, keywords || chr(9) || src || chr(10) || tgt || chr(10) || description
                 FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2 ORDER BY relation_key"
            }
        };
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            Ok(c.query(sql, &[&tenant, &kb])
                .map_err(|e| pg_error("cannot read texts to embed", e))?
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
                .collect())
        })
    }

    /// Replaces every embedding and the pinned model in one transaction (`kb reindex --reembed`).
    pub fn replace_embeddings(&mut self, vectors: &[(VectorKind, u64, Vec<f32>)], pin: &EmbeddingPin) -> Result<()> {
        let pin_json = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        let (tenant, kb) = (self.tenant, self.kb);
        self.in_tx(|c| {
            let err = |e| pg_error("cannot store the new embeddings", e);
            for kind in VectorKind::ALL {
                let (table, key) = vector_table(kind);
                let mine = last_per_key(vectors, |(k, key, _)| (k.name(), *key));
                let (keys, blobs): (Vec<i64>, Vec<Vec<u8>>) = mine
                    .iter()
                    .filter(|(k, _, _)| *k == kind)
                    .map(|(_, key, v)| (*key as i64, encode_vector(v)))
                    .unzip();
                if keys.is_empty() {
                    continue;
                }
                c.execute(
                    &format!(
                        "UPDATE {table} t SET embedding = u.embedding
                         FROM unnest($3::bigint[], $4::bytea[]) AS u(key, embedding)
                         WHERE t.tenant_id = $1 AND t.kb_id = $2 AND t.{key} = u.key"
                    ),
                    &[&tenant, &kb, &keys, &blobs],
                )
                .map_err(err)?;
            }
            c.execute(
                "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'embedding', $3)
                 ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = excluded.value",
                &[&tenant, &kb, &pin_json],
            )
            .map_err(err)?;
            bump_generation(c, tenant, kb).map_err(err)
        })
    }

    /// How many rows (and so vectors) a collection has.
    pub fn vector_count(&self, kind: VectorKind) -> Result<usize> {
        let (table, _) = vector_table(kind);
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_one(
                &format!("SELECT count(*) FROM {table} WHERE tenant_id = $1 AND kb_id = $2"),
                &[&tenant, &kb],
            )
            .map(|r| r.get::<_, i64>(0) as usize)
            .map_err(|e| pg_error("cannot count embeddings", e))
        })
    }

    /// The bytes the KB's rows take in the database (`pg_column_size` of each row: compressed
    /// and out-of-line values as stored, without indexes or free space), the figure
    /// `max_storage_gb` counts on PostgreSQL. Reads every row of the KB once, by index: about
    /// 10 ms for the ingest benchmark's KB, which is why it runs once per ingest run.
    pub fn storage_bytes(&self) -> Result<u64> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| kb_storage_bytes(c, tenant, kb))
    }

    /// Row counts for statistics, in one statement (one snapshot).
    pub fn stats(&self) -> Result<StoreStats> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            let r = c
                .query_one(
                    "SELECT
                        (SELECT count(*) FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND status = 'processed'),
                        (SELECT count(*) FROM kb_chunks WHERE tenant_id = $1 AND kb_id = $2),
                        (SELECT count(*) FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2),
                        (SELECT count(*) FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2)",
                    &[&tenant, &kb],
                )
                .map_err(|e| pg_error("cannot count rows", e))?;
            let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
            Ok(StoreStats {
                documents: n(0),
                chunks: n(1),
                entities: n(2),
                relations: n(3),
            })
        })
    }
}

/// Rows whose first column is a 1-based position (`WITH ORDINALITY`) placed at it, `None`
/// where no row came.
fn in_order<T>(len: usize, found: Vec<postgres::Row>, decode: impl Fn(&postgres::Row) -> T) -> Vec<Option<T>> {
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(len).collect();
    for r in &found {
        let at: i64 = r.get(0);
        out[at as usize - 1] = Some(decode(r));
    }
    out
}

/// Every table holding KB rows (fixed names: nothing here comes from input).
const KB_TABLES: [&str; 11] = [
    "kb_documents",
    "kb_chunks",
    "kb_extractions",
    "kb_entities",
    "kb_relations",
    "kb_doc_entities",
    "kb_doc_relations",
    "kb_llm_cache",
    "kb_graph_overrides",
    "kb_entity_aliases",
    "kb_meta",
];

/// [`PgKb::storage_bytes`] of one KB, on `c` (inside whatever transaction it has open).
pub(crate) fn kb_storage_bytes(c: &mut Client, tenant: Uuid, kb: Uuid) -> Result<u64> {
    let sum = |table: &str| {
        format!("coalesce((SELECT sum(pg_column_size(t.*)) FROM {table} t WHERE tenant_id = $1 AND kb_id = $2), 0)")
    };
    let sql = format!("SELECT ({})::bigint", KB_TABLES.map(sum).join(" + "));
    c.query_one(&sql, &[&tenant, &kb])
        .map(|r| r.get::<_, i64>(0).max(0) as u64)
        .map_err(|e| pg_error("cannot measure the knowledge base", e))
}
