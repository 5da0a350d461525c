//! Imports into a KB and the checks `lrt doctor` runs: the PostgreSQL side of
//! `store/transfer.rs` and `store/doctor.rs`.
//!
//! The doctor's checks mean what they mean on SQLite where that makes sense: the references
//! between documents, chunks and the graph (the same SQL, named by tenant and KB); the schema
//! (the database's `kb_*` tables, columns, indexes and constraints against what lrt's
//! migrations make, built for comparison in a temporary schema that is rolled back; a trigger
//! or rule on a `kb_*` table is a finding); and integrity (embeddings that do not decode,
//! constraints or indexes PostgreSQL itself marks invalid).

use std::collections::{BTreeSet, HashMap};

use postgres::Client;
use uuid::Uuid;

use super::PgKb;
use super::core::bump_generation;
use super::delete::drop_cached_answers;
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::doctor::{RefCheck, RefProblem, RefRepair};
use crate::store::kb::{EmbeddingPin, SEP, VectorKind, all_source_ids_column, decode_vector, encode_vector, json_list};
use crate::store::transfer::ImportRows;

/// At most this many example ids are named in a finding (as on SQLite).
const SAMPLES: usize = 5;

/// The reference checks' rows, as on SQLite (`store/doctor.rs`), each restricted to one KB by
/// `$1` (tenant) and `$2` (KB).
const CHUNKS_OF_UNPROCESSED: &str = "FROM kb_chunks c WHERE c.tenant_id = $1 AND c.kb_id = $2 AND NOT EXISTS
    (SELECT 1 FROM kb_documents d WHERE d.tenant_id = $1 AND d.kb_id = $2 AND d.doc_id = c.doc_id
        AND d.status = 'processed')";
const DANGLING_DOC_ENTITIES: &str = "FROM kb_doc_entities x WHERE x.tenant_id = $1 AND x.kb_id = $2 AND (
    NOT EXISTS (SELECT 1 FROM kb_documents d WHERE d.tenant_id = $1 AND d.kb_id = $2 AND d.doc_id = x.doc_id)
    OR NOT EXISTS (SELECT 1 FROM kb_entities e WHERE e.tenant_id = $1 AND e.kb_id = $2 AND e.name = x.name))";
const DANGLING_DOC_RELATIONS: &str = "FROM kb_doc_relations x WHERE x.tenant_id = $1 AND x.kb_id = $2 AND (
    NOT EXISTS (SELECT 1 FROM kb_documents d WHERE d.tenant_id = $1 AND d.kb_id = $2 AND d.doc_id = x.doc_id)
    OR NOT EXISTS (SELECT 1 FROM kb_relations r WHERE r.tenant_id = $1 AND r.kb_id = $2
        AND r.src = x.src AND r.tgt = x.tgt))";
const RELATION_ENDPOINTS: &str = "FROM kb_relations r WHERE r.tenant_id = $1 AND r.kb_id = $2 AND (
    NOT EXISTS (SELECT 1 FROM kb_entities e WHERE e.tenant_id = $1 AND e.kb_id = $2 AND e.name = r.src)
    OR NOT EXISTS (SELECT 1 FROM kb_entities e WHERE e.tenant_id = $1 AND e.kb_id = $2 AND e.name = r.tgt))";
const CHUNK_COUNTS: &str = "FROM kb_documents d WHERE d.tenant_id = $1 AND d.kb_id = $2 AND d.status = 'processed'
    AND d.chunks_count != (SELECT count(*) FROM kb_chunks c
        WHERE c.tenant_id = $1 AND c.kb_id = $2 AND c.doc_id = d.doc_id)";
/// Checked only while no process holds the KB's ingest lock (`lrt doctor` skips a KB whose lock
/// is held, and repairs take it), so a `processing` document belongs to no run.
const STUCK_PROCESSING: &str = "FROM kb_documents d WHERE d.tenant_id = $1 AND d.kb_id = $2
    AND d.status = 'processing'";

impl PgKb {
    /// Fills an empty KB with `rows` and pins `pin`, in one transaction: either everything is
    /// there afterwards or nothing is. Refuses a KB that already has documents; rows that break
    /// a constraint are a usage error (the imported data is inconsistent).
    pub fn import_rows(&mut self, rows: &ImportRows, pin: &EmbeddingPin) -> Result<()> {
        let (tenant, kb) = (self.tenant, self.kb);
        let pin = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        self.in_tx(|c| {
            let existing: i64 = c
                .query_one(
                    "SELECT count(*) FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2",
                    &[&tenant, &kb],
                )
                .map_err(|e| pg_error("cannot import into the knowledge base", e))?
                .get(0);
            if existing > 0 {
                return Err(Error::Conflict("the knowledge base is not empty".into()));
            }
            insert_import(c, tenant, kb, rows, &pin).map_err(|e| match e.code() {
                Some(code) if code.code().starts_with("23") => Error::Usage(format!(
                    "the imported data is inconsistent: {}",
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string())
                )),
                _ => pg_error("cannot import into the knowledge base", e),
            })
        })
    }

    /// Objects on the KB tables that lrt's migrations did not make (an extra column, index,
    /// constraint or `kb_*` table, any trigger or rule) or that are missing: an empty list when
    /// they are exactly lrt's.
    pub fn schema_problems(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let err = |e| pg_error("cannot check the database", e);
            let actual = schema_shape(c).map_err(err)?;
            // What the migrations make, built in this session's temporary schema and rolled back.
            c.batch_execute("BEGIN; SET LOCAL search_path = pg_temp").map_err(err)?;
            let expected = (|| {
                for step in crate::catalog::pg::schema::migrations() {
                    c.batch_execute(step)?;
                }
                schema_shape(c)
            })();
            c.batch_execute("ROLLBACK").map_err(err)?;
            let expected = expected.map_err(err)?;
            let mut problems: Vec<String> = actual
                .difference(&expected)
                .map(|o| format!("unexpected {o}"))
                .chain(expected.difference(&actual).map(|o| format!("missing {o}")))
                .collect();
            let triggers = "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                WHERE NOT t.tgisinternal AND c.relname LIKE 'kb\\_%' AND c.relnamespace = current_schema()::regnamespace
                ORDER BY 2, 1";
            let rules = "SELECT rulename, tablename FROM pg_rules WHERE schemaname = current_schema()
                AND tablename LIKE 'kb\\_%' ORDER BY 2, 1";
            for (what, sql) in [("trigger", triggers), ("rule", rules)] {
                for (name, table) in name_pairs(c, sql).map_err(err)? {
                    problems.push(format!("{what} {name} on {table} (lrt makes none)"));
                }
            }
            Ok(problems)
        })
    }

    /// What PostgreSQL's own bookkeeping and the stored bytes say is damaged in this KB:
    /// embeddings that do not decode, and constraints or indexes of the KB tables marked
    /// invalid. An empty list when sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            let err = |e| pg_error("cannot check the database", e);
            let mut problems = Vec::new();
            let indexes = "SELECT i.relname, c.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                  JOIN pg_class c ON c.oid = x.indrelid
                WHERE c.relname LIKE 'kb\\_%' AND c.relnamespace = current_schema()::regnamespace
                  AND NOT (x.indisvalid AND x.indisready)
                ORDER BY 2, 1";
            let constraints = "SELECT k.conname, c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                WHERE c.relname LIKE 'kb\\_%' AND c.relnamespace = current_schema()::regnamespace
                  AND NOT k.convalidated
                ORDER BY 2, 1";
            for (what, sql, state) in [
                ("index", indexes, "not valid"),
                ("constraint", constraints, "not validated"),
            ] {
                for (name, table) in name_pairs(c, sql).map_err(err)? {
                    problems.push(format!("{what} {name} on {table} is {state}"));
                }
            }
            for kind in VectorKind::ALL {
                let (table, key) = kind.table();
                let rows = c
                    .query(
                        &format!(
                            "SELECT {key}, embedding FROM kb_{table} WHERE tenant_id = $1 AND kb_id = $2 ORDER BY {key}"
                        ),
                        &[&tenant, &kb],
                    )
                    .map_err(err)?;
                let bad: Vec<i64> = rows
                    .iter()
                    .filter(|r| decode_vector(r.get::<_, &[u8]>(1)).is_none())
                    .map(|r| r.get(0))
                    .collect();
                if !bad.is_empty() {
                    let samples: Vec<String> = bad.iter().take(SAMPLES).map(i64::to_string).collect();
                    problems.push(format!(
                        "{} {table} embedding(s) do not decode (keys {})",
                        bad.len(),
                        samples.join(", ")
                    ));
                }
            }
            problems.truncate(SAMPLES * 2);
            Ok(problems)
        })
    }

    /// Every broken reference between documents, chunks and the graph (see
    /// `SqliteKb::reference_problems`), read in one snapshot.
    pub fn reference_problems(&self, dim: Option<usize>) -> Result<Vec<RefProblem>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.read_snapshot(|| {
            self.with(|c| {
                let err = |e| pg_error("cannot check references", e);
                let checks: [(RefCheck, &str, &str); 6] = [
                    (RefCheck::ChunksOfUnprocessed, "c.chunk_id", CHUNKS_OF_UNPROCESSED),
                    (
                        RefCheck::DanglingDocEntities,
                        "x.doc_id || ' → ' || x.name",
                        DANGLING_DOC_ENTITIES,
                    ),
                    (
                        RefCheck::DanglingDocRelations,
                        "x.doc_id || ' → ' || x.src || ' / ' || x.tgt",
                        DANGLING_DOC_RELATIONS,
                    ),
                    (RefCheck::RelationEndpoints, "r.src || ' / ' || r.tgt", RELATION_ENDPOINTS),
                    (RefCheck::ChunkCounts, "d.doc_id", CHUNK_COUNTS),
                    (RefCheck::StuckProcessing, "d.doc_id", STUCK_PROCESSING),
                ];
                let mut found = Vec::new();
                for (check, label, from) in checks {
                    let count: i64 = c
                        .query_one(&format!("SELECT count(*) {from}"), &[&tenant, &kb])
                        .map_err(err)?
                        .get(0);
                    if count == 0 {
                        continue;
                    }
                    let samples = c
                        .query(&format!("SELECT {label} {from} LIMIT {SAMPLES}"), &[&tenant, &kb])
                        .map_err(err)?
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    found.push(RefProblem {
                        check,
                        count: count as u64,
                        samples,
                    });
                }
                if let Some(dim) = dim {
                    let (mut count, mut samples) = (0, Vec::new());
                    for kind in VectorKind::ALL {
                        let (table, key) = kind.table();
                        let rows = c
                            .query(
                                &format!(
                                    "SELECT {key}, embedding FROM kb_{table} WHERE tenant_id = $1 AND kb_id = $2 ORDER BY {key}"
                                ),
                                &[&tenant, &kb],
                            )
                            .map_err(err)?;
                        for r in rows {
                            if decode_vector(r.get::<_, &[u8]>(1)).is_none_or(|v| v.len() != dim) {
                                count += 1;
                                if samples.len() < SAMPLES {
                                    samples.push(format!("{table} {}", r.get::<_, i64>(0)));
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
                Ok(found)
            })
        })
    }

    /// Fixes the repairable reference problems in one transaction (see
    /// `SqliteKb::repair_references`); bumps the generation when chunks were deleted.
    pub fn repair_references(&mut self) -> Result<RefRepair> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.in_tx(|c| {
            let err = |e| pg_error("cannot repair references", e);
            let mut delete = |from: &str, table: &str, key: &str, alias_key: &str| -> Result<u64> {
                let sql = format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND kb_id = $2 AND ({key}) IN (SELECT {alias_key} {from})"
                );
                c.execute(&sql, &[&tenant, &kb]).map_err(err)
            };
            let chunks_deleted = delete(CHUNKS_OF_UNPROCESSED, "kb_chunks", "chunk_key", "c.chunk_key")?;
            let doc_entities_deleted = delete(
                DANGLING_DOC_ENTITIES,
                "kb_doc_entities",
                "doc_id, name",
                "x.doc_id, x.name",
            )?;
            let doc_relations_deleted = delete(
                DANGLING_DOC_RELATIONS,
                "kb_doc_relations",
                "doc_id, src, tgt",
                "x.doc_id, x.src, x.tgt",
            )?;
            let requeued = c
                .execute(
                    "UPDATE kb_documents SET status = 'pending', error = NULL, updated_at = $3
                     WHERE tenant_id = $1 AND kb_id = $2 AND status = 'processing'",
                    &[&tenant, &kb, &crate::time::now()],
                )
                .map_err(err)?;
            if chunks_deleted > 0 {
                drop_cached_answers(c, tenant, kb).map_err(err)?;
                bump_generation(c, tenant, kb).map_err(err)?;
            }
            Ok(RefRepair {
                chunks_deleted,
                doc_entities_deleted,
                doc_relations_deleted,
                requeued,
            })
        })
    }
}

/// The (object, table) name pairs `sql` selects.
fn name_pairs(c: &mut Client, sql: &str) -> std::result::Result<Vec<(String, String)>, postgres::Error> {
    Ok(c.query(sql, &[])?.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The KB tables' columns, indexes and constraints in the first schema of the search path,
/// each as one comparable line (schema names left out).
fn schema_shape(c: &mut Client) -> std::result::Result<BTreeSet<String>, postgres::Error> {
    let mut shape = BTreeSet::new();
    let tables = "SELECT c.oid FROM pg_class c WHERE c.relname LIKE 'kb\\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.relnamespace = current_schema()::regnamespace";
    for r in c.query(
        &format!("SELECT c.relname, c.relkind::text FROM pg_class c WHERE c.oid IN ({tables})"),
        &[],
    )? {
        shape.insert(format!("table {} (kind {})", r.get::<_, &str>(0), r.get::<_, &str>(1)));
    }
    for r in c.query(
        &format!(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    coalesce(co.collname, ''), a.attidentity::text, coalesce(pg_get_expr(d.adbin, d.adrelid), '')
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid IN ({tables}) AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        &[],
    )? {
        shape.insert(format!(
            "column {}.{} {}{}{}{}{}",
            r.get::<_, &str>(0),
            r.get::<_, &str>(1),
            r.get::<_, &str>(2),
            if r.get::<_, bool>(3) { " not null" } else { "" },
            match r.get::<_, &str>(4) {
                "" | "default" => String::new(),
                coll => format!(" collate {coll}"),
            },
            match r.get::<_, &str>(5) {
                "a" => " generated always as identity",
                "d" => " generated by default as identity",
                _ => "",
            },
            match r.get::<_, &str>(6) {
                "" => String::new(),
                default => format!(" default {default}"),
            }
        ));
    }
    for r in c.query(
        &format!(
            "SELECT c.relname, i.relname, regexp_replace(pg_get_indexdef(x.indexrelid), ' ON [^ ]+\\.', ' ON ')
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
             WHERE x.indrelid IN ({tables})"
        ),
        &[],
    )? {
        shape.insert(format!("index {}", r.get::<_, &str>(2)));
    }
    for r in c.query(
        &format!(
            "SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid),
                    coalesce(f.relname, '')
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
               LEFT JOIN pg_class f ON f.oid = k.confrelid
             WHERE k.conrelid IN ({tables})"
        ),
        &[],
    )? {
        // A foreign key names its table schema-qualified when it is not on the search path.
        let def: &str = r.get(3);
        let target: &str = r.get(4);
        let def = match def.find(" REFERENCES ") {
            Some(at) if !target.is_empty() => {
                let rest = &def[at + " REFERENCES ".len()..];
                let after = rest.find('(').map_or("", |p| &rest[p..]);
                format!("{} REFERENCES {target}{after}", &def[..at])
            }
            _ => def.to_string(),
        };
        shape.insert(format!(
            "constraint {} on {}: {def}",
            r.get::<_, &str>(1),
            r.get::<_, &str>(0)
        ));
    }
    Ok(shape)
}

/// The statements of [`PgKb::import_rows`], each one multi-row statement.
fn insert_import(
    c: &mut Client,
    tenant: Uuid,
    kb: Uuid,
    rows: &ImportRows,
    pin: &str,
) -> std::result::Result<(), postgres::Error> {
    let docs = &rows.documents;
    let col =
        |f: &dyn Fn(&crate::store::transfer::ImportDocument) -> String| docs.iter().map(f).collect::<Vec<String>>();
    c.execute(
        "INSERT INTO kb_documents (tenant_id, kb_id, doc_id, file_path, content, content_hash, content_length, status,
            error, chunks_count, created_at, updated_at)
         SELECT $1, $2, u.doc_id, u.file_path, u.content, u.content_hash, u.content_length, u.status, u.error, 0,
            u.created_at, u.updated_at
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                     $11::text[]) WITH ORDINALITY
            AS u (doc_id, file_path, content, content_hash, content_length, status, error, created_at, updated_at, n)
         ORDER BY u.n",
        &[
            &tenant,
            &kb,
            &col(&|d| d.doc_id.clone()),
            &col(&|d| d.file_path.clone()),
            &col(&|d| d.content.clone()),
            &col(&|d| d.content_hash.clone()),
            &docs
                .iter()
                .map(|d| d.content.chars().count() as i64)
                .collect::<Vec<_>>(),
            &col(&|d| d.status.clone()),
            &docs.iter().map(|d| d.error.clone()).collect::<Vec<_>>(),
            &col(&|d| d.created_at.clone()),
            &col(&|d| d.updated_at.clone()),
        ],
    )?;
    let chunks = &rows.chunks;
    let col =
        |f: &dyn Fn(&crate::store::transfer::ImportChunk) -> String| chunks.iter().map(f).collect::<Vec<String>>();
    c.execute(
        "INSERT INTO kb_chunks (tenant_id, kb_id, chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding)
         SELECT $1, $2, u.chunk_id, u.doc_id, u.chunk_order, u.tokens, u.content, u.file_path, u.embedding
         FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::bytea[])
            WITH ORDINALITY AS u (chunk_id, doc_id, chunk_order, tokens, content, file_path, embedding, n)
         ORDER BY u.n",
        &[
            &tenant,
            &kb,
            &col(&|x| x.chunk_id.clone()),
            &col(&|x| x.doc_id.clone()),
            &chunks.iter().map(|x| x.order).collect::<Vec<_>>(),
            &chunks.iter().map(|x| x.tokens).collect::<Vec<_>>(),
            &col(&|x| x.content.clone()),
            &col(&|x| x.file_path.clone()),
            &chunks.iter().map(|x| encode_vector(&x.embedding)).collect::<Vec<_>>(),
        ],
    )?;
    c.execute(
        "UPDATE kb_documents d SET chunks_count = (SELECT count(*) FROM kb_chunks c
            WHERE c.tenant_id = $1 AND c.kb_id = $2 AND c.doc_id = d.doc_id)
         WHERE d.tenant_id = $1 AND d.kb_id = $2",
        &[&tenant, &kb],
    )?;
    // The cache first: an extraction answer it holds is then not stored a second time.
    let cache = &rows.cache;
    c.execute(
        "INSERT INTO kb_llm_cache (tenant_id, kb_id, cache_key, cache_type, chunk_id, response, created_at)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
            AS u (cache_key, cache_type, chunk_id, response, created_at)
         ON CONFLICT (tenant_id, kb_id, cache_key) DO NOTHING",
        &[
            &tenant,
            &kb,
            &cache.iter().map(|x| x.key.clone()).collect::<Vec<_>>(),
            &cache.iter().map(|x| x.cache_type.clone()).collect::<Vec<_>>(),
            &cache.iter().map(|x| x.chunk_id.clone()).collect::<Vec<_>>(),
            &cache.iter().map(|x| x.response.clone()).collect::<Vec<_>>(),
            &cache.iter().map(|x| x.created_at).collect::<Vec<_>>(),
        ],
    )?;
    // SQLite's INSERT OR REPLACE: the last row for a chunk wins.
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, x) in rows.extractions.iter().enumerate() {
        last.insert(&x.chunk_id, i);
    }
    let extractions: Vec<_> = rows
        .extractions
        .iter()
        .enumerate()
        .filter(|(i, x)| last.get(x.chunk_id.as_str()) == Some(i))
        .map(|(_, x)| x)
        .collect();
    c.execute(
        "INSERT INTO kb_extractions (tenant_id, kb_id, chunk_id, result, glean, cache_keys, extracted_at)
         SELECT $1, $2, u.chunk_id,
            CASE WHEN u.result = (SELECT response FROM kb_llm_cache l WHERE l.tenant_id = $1 AND l.kb_id = $2
                AND l.cache_key = (u.cache_keys::jsonb ->> 0)) THEN NULL ELSE u.result END,
            CASE WHEN u.glean = (SELECT response FROM kb_llm_cache l WHERE l.tenant_id = $1 AND l.kb_id = $2
                AND l.cache_key = (u.cache_keys::jsonb ->> 1)) THEN NULL ELSE u.glean END,
            u.cache_keys, u.extracted_at
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
            AS u (chunk_id, result, glean, cache_keys, extracted_at)",
        &[
            &tenant,
            &kb,
            &extractions.iter().map(|x| x.chunk_id.clone()).collect::<Vec<_>>(),
            &extractions.iter().map(|x| x.result.clone()).collect::<Vec<_>>(),
            &extractions.iter().map(|x| x.glean.clone()).collect::<Vec<_>>(),
            &extractions.iter().map(|x| json_list(&x.cache_keys)).collect::<Vec<_>>(),
            &extractions.iter().map(|x| x.extracted_at).collect::<Vec<_>>(),
        ],
    )?;
    let ents = &rows.entities;
    let col = |f: &dyn Fn(&crate::store::transfer::ImportEntity) -> String| ents.iter().map(f).collect::<Vec<String>>();
    c.execute(
        "INSERT INTO kb_entities (tenant_id, kb_id, name, entity_id, entity_type, description, source_ids,
            all_source_ids, file_paths, truncate, created_at, embedding)
         SELECT $1, $2, u.name, u.entity_id, u.entity_type, u.description, u.source_ids, u.all_source_ids,
            u.file_paths, u.truncate, u.created_at, u.embedding
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::bigint[], $12::bytea[]) WITH ORDINALITY
            AS u (name, entity_id, entity_type, description, source_ids, all_source_ids, file_paths, truncate,
                  created_at, embedding, n)
         ORDER BY u.n",
        &[
            &tenant,
            &kb,
            &col(&|e| e.name.clone()),
            &col(&|e| crate::rag::ids::compute_mdhash_id(&e.name, "ent-")),
            &col(&|e| e.entity_type.clone()),
            &col(&|e| e.description.clone()),
            &col(&|e| e.source_ids.join(SEP)),
            &col(&|e| all_source_ids_column(&e.all_source_ids, &e.source_ids)),
            &col(&|e| e.file_paths.join(SEP)),
            &col(&|e| e.truncate.clone()),
            &ents.iter().map(|e| e.created_at).collect::<Vec<_>>(),
            &ents.iter().map(|e| encode_vector(&e.embedding)).collect::<Vec<_>>(),
        ],
    )?;
    let rels = &rows.relations;
    let col =
        |f: &dyn Fn(&crate::store::transfer::ImportRelation) -> String| rels.iter().map(f).collect::<Vec<String>>();
    c.execute(
        "INSERT INTO kb_relations (tenant_id, kb_id, src, tgt, relation_id, keywords, description, weight, source_ids,
            all_source_ids, file_paths, truncate, created_at, embedding)
         SELECT $1, $2, u.src, u.tgt, u.relation_id, u.keywords, u.description, u.weight, u.source_ids,
            u.all_source_ids, u.file_paths, u.truncate, u.created_at, u.embedding
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::bigint[], $14::bytea[]) WITH ORDINALITY
            AS u (src, tgt, relation_id, keywords, description, weight, source_ids, all_source_ids, file_paths,
                  truncate, created_at, embedding, n)
         ORDER BY u.n",
        &[
            &tenant,
            &kb,
            &col(&|r| r.src.clone()),
            &col(&|r| r.tgt.clone()),
            &col(&|r| crate::rag::ids::relation_vdb_id(&r.src, &r.tgt)),
            &col(&|r| r.keywords.clone()),
            &col(&|r| r.description.clone()),
            &rels.iter().map(|r| r.weight).collect::<Vec<_>>(),
            &col(&|r| r.source_ids.join(SEP)),
            &col(&|r| all_source_ids_column(&r.all_source_ids, &r.source_ids)),
            &col(&|r| r.file_paths.join(SEP)),
            &col(&|r| r.truncate.clone()),
            &rels.iter().map(|r| r.created_at).collect::<Vec<_>>(),
            &rels.iter().map(|r| encode_vector(&r.embedding)).collect::<Vec<_>>(),
        ],
    )?;
    let (docs, names): (Vec<String>, Vec<String>) = rows.doc_entities.iter().cloned().unzip();
    c.execute(
        "INSERT INTO kb_doc_entities (tenant_id, kb_id, doc_id, name)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[]) AS u
         ON CONFLICT DO NOTHING",
        &[&tenant, &kb, &docs, &names],
    )?;
    let docs: Vec<&str> = rows.doc_relations.iter().map(|(d, _, _)| d.as_str()).collect();
    let srcs: Vec<&str> = rows.doc_relations.iter().map(|(_, s, _)| s.as_str()).collect();
    let tgts: Vec<&str> = rows.doc_relations.iter().map(|(_, _, t)| t.as_str()).collect();
    c.execute(
        "INSERT INTO kb_doc_relations (tenant_id, kb_id, doc_id, src, tgt)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[], $5::text[]) AS u
         ON CONFLICT DO NOTHING",
        &[&tenant, &kb, &docs, &srcs, &tgts],
    )?;
    c.execute(
        "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'embedding', $3)
         ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = excluded.value",
        &[&tenant, &kb, &pin],
    )?;
    bump_generation(c, tenant, kb)
}
