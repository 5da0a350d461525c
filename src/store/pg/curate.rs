//! Graph curation: the PostgreSQL side of `store/curate.rs`: the reads a graph edit plans from
//! and the one transaction that applies it (all or nothing, refused when the KB's generation
//! moved on since the plan, cached query answers dropped, generation + 1).

use std::collections::HashMap;

use postgres::Client;
use postgres::types::Type;
use uuid::Uuid;

use super::PgKb;
use super::core::{update_entities, update_relations, upsert_entities, upsert_relations};
use super::rows::{self, RELATION_COLUMNS};
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::curate::{Curation, EditChanges, GraphEdit, Override};
use crate::store::kb::{VectorKind, json_list};
use crate::store::rows::{EntityState, RelationState};

/// The KB a statement is about: every statement names both.
type Kb = (Uuid, Uuid);

impl PgKb {
    /// The relations of entity `name`, ordered by the other endpoint.
    pub fn relations_of(&self, name: &str) -> Result<Vec<RelationState>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            let rows = c
                .query_typed(
                    &format!(
                        "SELECT {RELATION_COLUMNS} FROM kb_relations
                         WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)
                         ORDER BY CASE WHEN src = $3 THEN tgt ELSE src END"
                    ),
                    &[(&tenant, Type::UUID), (&kb, Type::UUID), (&name, Type::TEXT)],
                )
                .map_err(|e| pg_error("cannot read relations", e))?;
            Ok(rows.iter().map(|r| rows::relation(r, 0)).collect())
        })
    }

    /// Every override and alias, read by one statement (one state).
    pub fn curation(&self) -> Result<Curation> {
        let (tenant, kb) = (self.tenant, self.kb);
        let rows = self.with(|c| {
            c.query_typed(
                "SELECT false, src, tgt, fields, covered FROM kb_graph_overrides WHERE tenant_id = $1 AND kb_id = $2
                 UNION ALL
                 SELECT true, alias, canonical, '', '' FROM kb_entity_aliases WHERE tenant_id = $1 AND kb_id = $2",
                &[(&tenant, Type::UUID), (&kb, Type::UUID)],
            )
            .map_err(|e| pg_error("cannot read the curated edits", e))
        })?;
        let mut out = Curation::default();
        for r in &rows {
            if r.get::<_, bool>(0) {
                out.aliases.insert(r.get(1), r.get(2));
                continue;
            }
            let (fields, covered): (&str, &str) = (r.get(3), r.get(4));
            let parsed = serde_json::from_str(fields)
                .and_then(|fields| Ok((fields, serde_json::from_str(covered)?)))
                .map_err(|e| Error::storage("a curated edit in the database is corrupt", e))?;
            out.overrides.insert(
                (r.get(1), r.get(2)),
                Override {
                    fields: parsed.0,
                    covered: parsed.1,
                },
            );
        }
        Ok(out)
    }

    /// Every alias: old name → the entity that replaced it.
    pub fn aliases(&self) -> Result<HashMap<String, String>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            let rows = c
                .query_typed(
                    "SELECT alias, canonical FROM kb_entity_aliases WHERE tenant_id = $1 AND kb_id = $2",
                    &[(&tenant, Type::UUID), (&kb, Type::UUID)],
                )
                .map_err(|e| pg_error("cannot read the entity aliases", e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Applies a graph edit in one transaction; see the module documentation.
    pub fn commit_graph_edit(&mut self, edit: &GraphEdit) -> Result<EditChanges> {
        let at = (self.tenant, self.kb);
        self.in_tx(|c| {
            lock_generation(c, at, edit.expected_generation, "edit")?;
            let changes = write_edit(c, at, edit)?;
            bump_generation(c, at)?;
            Ok(changes)
        })
    }
}

/// Locks the KB's generation row (creating it at 0) until the transaction ends, so writers of
/// one KB take turns, and refuses with a conflict when it is not `expected`: a plan made
/// outside the transaction is never applied to a graph it was not made for.
pub(super) fn lock_generation(c: &mut Client, (tenant, kb): Kb, expected: u64, what: &str) -> Result<()> {
    let value: String = c
        .query_one(
            "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'generation', '0')
             ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = kb_meta.value
             RETURNING value",
            &[&tenant, &kb],
        )
        .map_err(|e| pg_error("cannot lock the knowledge base", e))?
        .get(0);
    if value.parse::<u64>().unwrap_or(0) != expected {
        return Err(Error::Conflict(format!(
            "the knowledge base changed while the {what} was being prepared; nothing was changed, run it again"
        )));
    }
    Ok(())
}

/// Moves the KB's generation on (in the transaction that changed it).
pub(super) fn bump_generation(c: &mut Client, (tenant, kb): Kb) -> Result<()> {
    super::core::bump_generation(c, tenant, kb)
        .map_err(|e| pg_error("cannot move the knowledge base's generation on", e))
}

/// Moves the document links of entity `old` to `new`: its `kb_doc_entities` rows, and its
/// `kb_doc_relations` rows to the redirected (sorted) pair, dropping pairs that became
/// self-loops.
fn rename_links(c: &mut Client, (tenant, kb): Kb, old: &str, new: &str) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO kb_doc_entities (tenant_id, kb_id, doc_id, name)
         SELECT tenant_id, kb_id, doc_id, $4 FROM kb_doc_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3
         ON CONFLICT DO NOTHING",
        &[&tenant, &kb, &old, &new],
    )?;
    c.execute(
        "DELETE FROM kb_doc_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3",
        &[&tenant, &kb, &old],
    )?;
    // Each link redirected, sorted, self-loops left out: one statement for them all.
    c.execute(
        "INSERT INTO kb_doc_relations (tenant_id, kb_id, doc_id, src, tgt)
         SELECT $1, $2, doc_id, least(a, b), greatest(a, b) FROM (
           SELECT doc_id,
                  CASE WHEN src = $3 THEN $4::text COLLATE \"C\" ELSE src END AS a,
                  CASE WHEN tgt = $3 THEN $4::text COLLATE \"C\" ELSE tgt END AS b
           FROM kb_doc_relations WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)) moved
         WHERE a <> b
         ON CONFLICT DO NOTHING",
        &[&tenant, &kb, &old, &new],
    )?;
    c.execute(
        "DELETE FROM kb_doc_relations WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)",
        &[&tenant, &kb, &old],
    )?;
    Ok(())
}

/// Removes entity `name` with its relations, document links and curated overrides; the keys
/// of the removed entity and relation rows (relations in key order).
fn remove_entity(c: &mut Client, (tenant, kb): Kb, name: &str) -> Result<(Option<i64>, Vec<i64>), postgres::Error> {
    let key = c
        .query_opt(
            "DELETE FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3 RETURNING entity_key",
            &[&tenant, &kb, &name],
        )?
        .map(|r| r.get(0));
    let mut relations: Vec<i64> = c
        .query(
            "DELETE FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)
             RETURNING relation_key",
            &[&tenant, &kb, &name],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    relations.sort_unstable();
    for sql in [
        "DELETE FROM kb_doc_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3",
        "DELETE FROM kb_doc_relations WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)",
        "DELETE FROM kb_graph_overrides WHERE tenant_id = $1 AND kb_id = $2 AND (src = $3 OR tgt = $3)",
    ] {
        c.execute(sql, &[&tenant, &kb, &name])?;
    }
    Ok((key, relations))
}

/// Removes the relation `a`–`b` (sorted) with its document links and curated override; its key.
fn remove_relation(c: &mut Client, (tenant, kb): Kb, a: &str, b: &str) -> Result<Option<i64>, postgres::Error> {
    let key = c
        .query_opt(
            "DELETE FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2 AND src = $3 AND tgt = $4
             RETURNING relation_key",
            &[&tenant, &kb, &a, &b],
        )?
        .map(|r| r.get(0));
    for sql in [
        "DELETE FROM kb_doc_relations WHERE tenant_id = $1 AND kb_id = $2 AND src = $3 AND tgt = $4",
        "DELETE FROM kb_graph_overrides WHERE tenant_id = $1 AND kb_id = $2 AND src = $3 AND tgt = $4",
    ] {
        c.execute(sql, &[&tenant, &kb, &a, &b])?;
    }
    Ok(key)
}

/// Inserts an entity with its embedding, or replaces a stored one's fields and embedding (its
/// key and `created_at` stay) when `vector` is given; without one, updates a stored entity's
/// fields only. Its key, `None` when there was no entity to update.
fn write_entity(
    c: &mut Client,
    (tenant, kb): Kb,
    e: &EntityState,
    vector: Option<&[f32]>,
    created_at: i64,
) -> Result<Option<i64>, postgres::Error> {
    let mut keys = match vector {
        Some(v) => upsert_entities(c, tenant, kb, &[(e, v)], created_at)?,
        None => update_entities(c, tenant, kb, &[(e, None)])?,
    };
    Ok(keys.remove(&e.name))
}

/// [`write_entity`] for a relation (`src < tgt`).
fn write_relation(
    c: &mut Client,
    (tenant, kb): Kb,
    rel: &RelationState,
    vector: Option<&[f32]>,
    created_at: i64,
) -> Result<Option<i64>, postgres::Error> {
    let mut keys = match vector {
        Some(v) => upsert_relations(c, tenant, kb, &[(rel, v)], created_at)?,
        None => update_relations(c, tenant, kb, &[(rel, None)])?,
    };
    Ok(keys.remove(&(rel.src.clone(), rel.tgt.clone())))
}

const EDIT: &str = "cannot apply the graph edit";

/// The edit's writes, in `store/curate.rs`'s order.
fn write_edit(c: &mut Client, at: Kb, e: &GraphEdit) -> Result<EditChanges> {
    let db = |e| pg_error(EDIT, e);
    write_edit_rows(c, at, e)
        .map_err(db)?
        .map_err(|missing| Error::storage(EDIT, format!("{missing} is not stored (any more): nothing was changed")))
}

/// [`write_edit`]'s statements; `Ok(Err(row))` when a row the edit updates is gone.
fn write_edit_rows(c: &mut Client, at: Kb, e: &GraphEdit) -> Result<Result<EditChanges, String>, postgres::Error> {
    let (tenant, kb) = at;
    let mut changes = EditChanges::default();
    for (old, new) in &e.link_renames {
        rename_links(c, at, old, new)?;
    }
    // Before the removals, which drop the aliases naming a removed entity: a merged-away
    // entity's aliases move to the entity that replaced it.
    let now = crate::time::now();
    for (alias, canonical) in &e.aliases {
        c.execute(
            "UPDATE kb_entity_aliases SET canonical = $4 WHERE tenant_id = $1 AND kb_id = $2 AND canonical = $3",
            &[&tenant, &kb, alias, canonical],
        )?;
        c.execute(
            "INSERT INTO kb_entity_aliases (tenant_id, kb_id, alias, canonical, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, kb_id, alias) DO UPDATE SET canonical = excluded.canonical",
            &[&tenant, &kb, alias, canonical, &now],
        )?;
        c.execute(
            "DELETE FROM kb_entity_aliases WHERE tenant_id = $1 AND kb_id = $2 AND alias = $3",
            &[&tenant, &kb, canonical],
        )?;
    }
    if !e.unalias.is_empty() {
        c.execute(
            "DELETE FROM kb_entity_aliases WHERE tenant_id = $1 AND kb_id = $2 AND alias = ANY($3)",
            &[&tenant, &kb, &e.unalias],
        )?;
    }
    for (a, b) in &e.remove_relations {
        let key = remove_relation(c, at, a, b)?;
        changes.removed.extend(key.map(|k| (VectorKind::Relations, k as u64)));
    }
    for name in &e.remove_entities {
        let (entity, relations) = remove_entity(c, at, name)?;
        changes.removed.extend(entity.map(|k| (VectorKind::Entities, k as u64)));
        changes
            .removed
            .extend(relations.into_iter().map(|k| (VectorKind::Relations, k as u64)));
        c.execute(
            "DELETE FROM kb_entity_aliases WHERE tenant_id = $1 AND kb_id = $2 AND canonical = $3",
            &[&tenant, &kb, name],
        )?;
    }
    for (entity, vector) in &e.entities {
        let key = write_entity(c, at, entity, vector.as_deref(), e.created_at)?;
        match (key, vector) {
            (Some(key), Some(v)) => changes.upserts.push((VectorKind::Entities, key as u64, v.clone())),
            (Some(_), None) => {}
            (None, _) => return Ok(Err(format!("entity {:?}", entity.name))),
        }
    }
    for (rel, vector) in &e.relations {
        let key = write_relation(c, at, rel, vector.as_deref(), e.created_at)?;
        match (key, vector) {
            (Some(key), Some(v)) => changes.upserts.push((VectorKind::Relations, key as u64, v.clone())),
            (Some(_), None) => {}
            (None, _) => return Ok(Err(format!("relation {:?} - {:?}", rel.src, rel.tgt))),
        }
    }
    for ((src, tgt), o) in &e.overrides {
        match o {
            Some(o) => {
                let fields = serde_json::to_string(&o.fields).unwrap_or_else(|_| "{}".into());
                c.execute(
                    "INSERT INTO kb_graph_overrides (tenant_id, kb_id, src, tgt, fields, covered, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (tenant_id, kb_id, src, tgt) DO UPDATE SET fields = excluded.fields,
                        covered = excluded.covered, updated_at = excluded.updated_at",
                    &[&tenant, &kb, src, tgt, &fields, &json_list(&o.covered), &now],
                )?;
            }
            None => {
                c.execute(
                    "DELETE FROM kb_graph_overrides WHERE tenant_id = $1 AND kb_id = $2 AND src = $3 AND tgt = $4",
                    &[&tenant, &kb, src, tgt],
                )?;
            }
        }
    }
    // Any cached answer may quote the old graph (keyword answers are kept: made from the
    // question alone).
    changes.answers_dropped = c.execute(
        "DELETE FROM kb_llm_cache WHERE tenant_id = $1 AND kb_id = $2 AND cache_type = 'query'",
        &[&tenant, &kb],
    )? as usize;
    Ok(Ok(changes))
}
