//! Query-time reads and the `doc`/`graph` inspection reads: the PostgreSQL side of
//! `store/query.rs` and `store/inspect.rs`.
//!
//! Same rows, order and tie-breaks as SQLite's. Where SQLite makes one point lookup per key,
//! the methods here make ONE statement for the whole list: the keys go in as an array,
//! `unnest … WITH ORDINALITY` keeps their order (and repeats), and a key with no row is
//! skipped, as SQLite's lookups skip it. Text keys are `COLLATE "C"`, so `ORDER BY name` is
//! SQLite's byte order. Case-insensitive matching is done in Rust on both backends.

use std::collections::HashMap;

use postgres::types::{ToSql, Type};

use super::PgKb;
use super::rows::{
    self, CHUNK_COLUMNS, DOCUMENT_COLUMNS, EDGE_COLUMNS, ENTITY_ROW_COLUMNS, NODE_COLUMNS, RELATION_ROW_COLUMNS,
};
use crate::catalog::pg::{PgClient, pg_error};
use crate::error::{Error, Result};
use crate::store::codec::decode_vector;
use crate::store::inspect::{
    ChunkSummary, DocumentDetail, EntityFilter, EntityMatch, EntityNeighbourhood, EntitySummary, GraphEdge, GraphNode,
    SourceDocument, case_insensitive_match, filtered, summary_of,
};
use crate::store::kb::{DocStatus, DocumentRow, SEP};
use crate::store::query::{ChunkRecord, Edge, EntityRow, RelationRow, readable_vectors};

/// The number of ids in a row's `all_source_ids` (the `source_ids` list when it is empty):
/// `store::kb::all_source_count_sql` in PostgreSQL's words.
fn all_source_count_sql(prefix: &str) -> String {
    format!(
        "CASE WHEN {prefix}all_source_ids <> '' THEN json_array_length({prefix}all_source_ids::json)
              WHEN {prefix}source_ids = '' THEN 0
              ELSE (length({prefix}source_ids) - length(replace({prefix}source_ids, '{SEP}', ''))) / {} + 1 END",
        SEP.len()
    )
}

/// A `LIMIT`/`OFFSET` value: "all" is the largest one PostgreSQL takes.
fn sql_count(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// A UUID parameter of [`PgClient::query_prepared`], which prepares each statement once per
/// connection with its parameters' types: later runs are one round trip, without planning.
fn uuid(id: &uuid::Uuid) -> (&(dyn ToSql + Sync), Type) {
    (id, Type::UUID)
}

fn sql_keys(keys: &[u64]) -> Vec<i64> {
    keys.iter().map(|&k| k as i64).collect()
}

impl PgKb {
    /// Runs `f` on one connection inside one read-only snapshot (the current one inside
    /// [`PgKb::read_snapshot`]), for inspection reads made of several statements.
    fn snapshot_with<R: Send>(&self, f: impl FnOnce(&mut PgClient) -> Result<R> + Send) -> Result<R> {
        self.read_snapshot(|| self.with(f))
    }

    /// Rows of `table` by the key column `key`, in the order of `keys` (an array parameter of
    /// `array_type`), missing keys skipped, at most `limit` rows: one statement.
    fn rows_by_keys<K, T>(
        &self,
        (table, key, array_type): (&str, &str, &str),
        columns: &str,
        keys: &[K],
        limit: usize,
        decode: fn(&postgres::Row, usize) -> T,
    ) -> Result<Vec<T>>
    where
        K: postgres::types::ToSql + Sync,
        T: Send,
    {
        if keys.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let (tenant, kb, limit) = (self.tenant, self.kb, sql_count(limit));
        let sql = format!(
            "SELECT {columns} FROM unnest($3::{array_type}[]) WITH ORDINALITY AS w(wanted, ord)
             JOIN {table} t ON t.tenant_id = $1 AND t.kb_id = $2 AND t.{key} = w.wanted
             ORDER BY w.ord LIMIT $4"
        );
        self.with(|c| {
            let array = if array_type == "bigint" {
                Type::INT8_ARRAY
            } else {
                Type::TEXT_ARRAY
            };
            let rows = c
                .query_prepared(&sql, &[uuid(&tenant), uuid(&kb), (&keys, array), (&limit, Type::INT8)])
                .map_err(|e| pg_error("cannot read the knowledge graph", e))?;
            Ok(rows.iter().map(|r| decode(r, 0)).collect())
        })
    }

    /// Entities by their vector keys (entity_key), in that order.
    pub fn entities_by_keys(&self, keys: &[u64]) -> Result<Vec<EntityRow>> {
        let keys = sql_keys(keys);
        let at = ("kb_entities", "entity_key", "bigint");
        self.rows_by_keys(at, ENTITY_ROW_COLUMNS, &keys, usize::MAX, rows::entity_row)
    }

    /// Entities by name, in that order.
    pub fn entities_by_names(&self, names: &[String]) -> Result<Vec<EntityRow>> {
        let at = ("kb_entities", "name", "text");
        self.rows_by_keys(at, ENTITY_ROW_COLUMNS, names, usize::MAX, rows::entity_row)
    }

    /// Relations by their vector keys (relation_key), in that order.
    pub fn relations_by_keys(&self, keys: &[u64]) -> Result<Vec<RelationRow>> {
        let keys = sql_keys(keys);
        let at = ("kb_relations", "relation_key", "bigint");
        self.rows_by_keys(at, RELATION_ROW_COLUMNS, &keys, usize::MAX, rows::relation_row)
    }

    /// The relations touching each of `names`, without their text: one list per name, in
    /// key order (the order they were first stored). One statement, from the endpoint indexes
    /// alone (they carry the key and weight: index-only scans).
    pub fn edges_by_name(&self, names: &[String]) -> Result<Vec<Vec<Edge>>> {
        let mut out = vec![Vec::new(); names.len()];
        if names.is_empty() {
            return Ok(out);
        }
        let (tenant, kb) = (self.tenant, self.kb);
        let rows = self.with(|c| {
            c.query_prepared(
                "SELECT w.ord, r.relation_key, r.src, r.tgt, r.weight
                 FROM unnest($3::text[]) WITH ORDINALITY AS w(name, ord)
                 JOIN kb_relations r ON r.tenant_id = $1 AND r.kb_id = $2 AND r.src = w.name
                 UNION ALL
                 SELECT w.ord, r.relation_key, r.src, r.tgt, r.weight
                 FROM unnest($3::text[]) WITH ORDINALITY AS w(name, ord)
                 JOIN kb_relations r ON r.tenant_id = $1 AND r.kb_id = $2 AND r.tgt = w.name
                 ORDER BY 1, 2",
                &[uuid(&tenant), uuid(&kb), (&names, Type::TEXT_ARRAY)],
            )
            .map_err(|e| pg_error("cannot read the knowledge graph", e))
        })?;
        for r in &rows {
            let at = usize::try_from(r.get::<_, i64>(0) - 1).expect("ordinality starts at 1");
            out[at].push(Edge {
                key: r.get::<_, i64>(1) as u64,
                src: r.get(2),
                tgt: r.get(3),
                weight: r.get(4),
            });
        }
        Ok(out)
    }

    /// How many relations each of `names` has (0 for an unknown name).
    pub fn degrees(&self, names: &[String]) -> Result<HashMap<String, usize>> {
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let (tenant, kb) = (self.tenant, self.kb);
        let rows = self.with(|c| {
            c.query_prepared(
                "SELECT w.name,
                        (SELECT count(*) FROM kb_relations r WHERE r.tenant_id = $1 AND r.kb_id = $2 AND r.src = w.name)
                      + (SELECT count(*) FROM kb_relations r WHERE r.tenant_id = $1 AND r.kb_id = $2 AND r.tgt = w.name)
                 FROM unnest($3::text[]) AS w(name)",
                &[uuid(&tenant), uuid(&kb), (&names, Type::TEXT_ARRAY)],
            )
            .map_err(|e| pg_error("cannot read the knowledge graph", e))
        })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get::<_, i64>(1) as usize)).collect())
    }

    /// The first `limit` chunks found of `ids`, in that order.
    pub fn chunks_by_ids(&self, ids: &[String], limit: usize) -> Result<Vec<ChunkRecord>> {
        let at = ("kb_chunks", "chunk_id", "text");
        self.rows_by_keys(at, CHUNK_COLUMNS, ids, limit, rows::chunk)
    }

    /// The stored vectors of chunks by chunk id, in that order; chunks without a readable
    /// vector are left out.
    pub fn chunk_vectors_by_ids(&self, ids: &[String]) -> Result<Vec<(String, Vec<f32>)>> {
        let at = ("kb_chunks", "chunk_id", "text");
        let rows = self.rows_by_keys(at, "chunk_id, embedding", ids, usize::MAX, |r, at| {
            (r.get::<_, String>(at), decode_vector(r.get::<_, &[u8]>(at + 1)))
        })?;
        Ok(readable_vectors(rows))
    }

    /// Chunks by their vector keys (chunk_key), in that order.
    pub fn chunks_by_keys(&self, keys: &[u64]) -> Result<Vec<ChunkRecord>> {
        let keys = sql_keys(keys);
        let at = ("kb_chunks", "chunk_key", "bigint");
        self.rows_by_keys(at, CHUNK_COLUMNS, &keys, usize::MAX, rows::chunk)
    }

    /// One page of documents (newest first, then by id), optionally of one status, and the
    /// total count of matching documents: one statement, so both see the same state.
    pub fn list_documents(
        &self,
        status: Option<DocStatus>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DocumentRow>, u64)> {
        let status = status.map(DocStatus::as_str);
        let (tenant, kb) = (self.tenant, self.kb);
        let (limit, offset) = (sql_count(limit), sql_count(offset));
        let rows = self.with(|c| {
            c.query_prepared(
                &format!(
                    "SELECT n.total, d.* FROM
                       (SELECT count(*) AS total FROM kb_documents
                        WHERE tenant_id = $1 AND kb_id = $2 AND ($3::text IS NULL OR status = $3)) n
                     LEFT JOIN LATERAL
                       (SELECT {DOCUMENT_COLUMNS} FROM kb_documents
                        WHERE tenant_id = $1 AND kb_id = $2 AND ($3::text IS NULL OR status = $3)
                        ORDER BY updated_at DESC, doc_id LIMIT $4 OFFSET $5) d ON true"
                ),
                &[
                    uuid(&tenant),
                    uuid(&kb),
                    (&status, Type::TEXT),
                    (&limit, Type::INT8),
                    (&offset, Type::INT8),
                ],
            )
            .map_err(|e| pg_error("cannot list documents", e))
        })?;
        let total = rows.first().map_or(0, |r| r.get::<_, i64>(0).max(0) as u64);
        let page = rows
            .iter()
            .filter(|r| r.get::<_, Option<&str>>(1).is_some())
            .map(|r| rows::document(r, 1))
            .collect::<Result<Vec<_>>>()?;
        Ok((page, total))
    }

    /// A document with its chunk list and graph contribution counts.
    pub fn document_detail(&self, doc_id: &str) -> Result<Option<DocumentDetail>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let context = "cannot read the document";
        self.snapshot_with(|c| {
            let found = c
                .query_typed_opt(
                    &format!(
                        "SELECT {DOCUMENT_COLUMNS}, content,
                           (SELECT count(*) FROM kb_doc_entities x
                            WHERE x.tenant_id = $1 AND x.kb_id = $2 AND x.doc_id = $3),
                           (SELECT count(*) FROM kb_doc_relations x
                            WHERE x.tenant_id = $1 AND x.kb_id = $2 AND x.doc_id = $3)
                         FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3"
                    ),
                    &[uuid(&tenant), uuid(&kb), (&doc_id, Type::TEXT)],
                )
                .map_err(|e| pg_error(context, e))?;
            let Some(found) = found else { return Ok(None) };
            let chunks = c
                .query_prepared(
                    "SELECT chunk_id, chunk_order, tokens FROM kb_chunks
                     WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3 ORDER BY chunk_order",
                    &[uuid(&tenant), uuid(&kb), (&doc_id, Type::TEXT)],
                )
                .map_err(|e| pg_error(context, e))?
                .iter()
                .map(|r| ChunkSummary {
                    chunk_id: r.get(0),
                    chunk_order: r.get::<_, i64>(1) as u64,
                    tokens: r.get::<_, i64>(2) as u64,
                })
                .collect();
            Ok(Some(DocumentDetail {
                document: rows::document(&found, 0)?,
                content_summary: summary_of(found.get(9)),
                entity_count: found.get::<_, i64>(10) as u64,
                relation_count: found.get::<_, i64>(11) as u64,
                chunks,
            }))
        })
    }

    /// Entities by degree (then name), filtered, at most `filter.limit` of them, and how many
    /// matched the filter in all.
    pub fn entity_summaries(&self, filter: &EntityFilter) -> Result<(Vec<EntitySummary>, u64)> {
        let (tenant, kb) = (self.tenant, self.kb);
        let rows = self.with(|c| {
            c.query_prepared(
                &format!(
                    "WITH ends AS (
                       SELECT src AS name FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2
                       UNION ALL SELECT tgt FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2),
                     degrees AS (SELECT name, count(*) AS degree FROM ends GROUP BY name)
                     SELECT e.name, e.entity_type, coalesce(d.degree, 0) AS degree, {}, e.source_ids
                     FROM kb_entities e LEFT JOIN degrees d ON d.name = e.name
                     WHERE e.tenant_id = $1 AND e.kb_id = $2
                     ORDER BY degree DESC, e.name",
                    all_source_count_sql("e.")
                ),
                &[uuid(&tenant), uuid(&kb)],
            )
            .map_err(|e| pg_error("cannot list entities", e))
        })?;
        let all = rows
            .iter()
            .map(|r| EntitySummary {
                name: r.get(0),
                entity_type: r.get(1),
                degree: r.get::<_, i64>(2) as u64,
                source_chunks: (r.get::<_, i32>(3).max(0) as u64)
                    .max(crate::store::kb::split_sep(r.get(4)).len() as u64),
            })
            .collect();
        Ok(filtered(all, filter))
    }

    /// Finds an entity by its exact name, else by a case-insensitive match: one statement
    /// that reads the exact name alone when it exists, every name (in order) otherwise.
    pub fn resolve_entity(&self, name: &str) -> Result<EntityMatch> {
        let (tenant, kb) = (self.tenant, self.kb);
        let rows = self.with(|c| {
            c.query_prepared(
                "WITH exact AS (SELECT name FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3)
                 SELECT name, true FROM exact
                 UNION ALL
                 SELECT name, false FROM kb_entities
                 WHERE tenant_id = $1 AND kb_id = $2 AND NOT EXISTS (SELECT 1 FROM exact)
                 ORDER BY 1",
                &[uuid(&tenant), uuid(&kb), (&name, Type::TEXT)],
            )
            .map_err(|e| pg_error("cannot read entities", e))
        })?;
        if let Some(exact) = rows.iter().find(|r| r.get::<_, bool>(1)) {
            return Ok(EntityMatch::Exact(exact.get(0)));
        }
        Ok(case_insensitive_match(name, rows.iter().map(|r| r.get(0)).collect()))
    }

    /// An entity (named exactly), its edges (strongest first, then by the other endpoint) and
    /// the documents that contributed to it.
    pub fn entity_neighbourhood(&self, name: &str) -> Result<Option<EntityNeighbourhood>> {
        let (tenant, kb) = (self.tenant, self.kb);
        let context = "cannot read the entity";
        self.snapshot_with(|c| {
            let found = c
                .query_typed_opt(
                    &format!(
                        "SELECT {NODE_COLUMNS}, {} FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3",
                        all_source_count_sql("")
                    ),
                    &[uuid(&tenant), uuid(&kb), (&name, Type::TEXT)],
                )
                .map_err(|e| pg_error(context, e))?;
            let Some(found) = found else { return Ok(None) };
            let node = rows::node(&found, 0);
            let full = found.get::<_, i32>(7).max(0) as u64;
            let edges = c
                .query_prepared(
                    &format!(
                        "SELECT {EDGE_COLUMNS} FROM kb_relations
                         WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)
                         ORDER BY weight DESC, CASE WHEN src = $3 THEN tgt ELSE src END"
                    ),
                    &[uuid(&tenant), uuid(&kb), (&name, Type::TEXT)],
                )
                .map_err(|e| pg_error(context, e))?
                .iter()
                .map(|r| rows::edge(r, 0))
                .collect();
            let documents = c
                .query_prepared(
                    "SELECT d.doc_id, d.file_path, d.status FROM kb_doc_entities de
                     JOIN kb_documents d ON d.tenant_id = de.tenant_id AND d.kb_id = de.kb_id AND d.doc_id = de.doc_id
                     WHERE de.tenant_id = $1 AND de.kb_id = $2 AND de.name = $3
                     ORDER BY d.file_path, d.doc_id",
                    &[uuid(&tenant), uuid(&kb), (&name, Type::TEXT)],
                )
                .map_err(|e| pg_error(context, e))?
                .iter()
                .map(|r| {
                    let status: &str = r.get(2);
                    Ok(SourceDocument {
                        doc_id: r.get(0),
                        file_path: r.get(1),
                        status: DocStatus::parse(status).map_err(|_| {
                            Error::Internal(format!("the database holds an unknown document status {status:?}"))
                        })?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let limited = crate::store::kb::split_sep(&node.source_id).len() as u64;
            Ok(Some(EntityNeighbourhood {
                node,
                source_chunks: full.max(limited),
                edges,
                documents,
            }))
        })
    }

    /// The whole graph, nodes by name and edges by (source, target), from one snapshot.
    pub fn graph(&self) -> Result<(Vec<GraphNode>, Vec<GraphEdge>)> {
        let (tenant, kb) = (self.tenant, self.kb);
        let context = "cannot read the graph";
        self.snapshot_with(|c| {
            let nodes = c
                .query_prepared(
                    &format!(
                        "SELECT {NODE_COLUMNS} FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 ORDER BY name"
                    ),
                    &[uuid(&tenant), uuid(&kb)],
                )
                .map_err(|e| pg_error(context, e))?
                .iter()
                .map(|r| rows::node(r, 0))
                .collect();
            let edges = c
                .query_prepared(
                    &format!(
                        "SELECT {EDGE_COLUMNS} FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2 ORDER BY src, tgt"
                    ),
                    &[uuid(&tenant), uuid(&kb)],
                )
                .map_err(|e| pg_error(context, e))?
                .iter()
                .map(|r| rows::edge(r, 0))
                .collect();
            Ok((nodes, edges))
        })
    }
}
