//! Curation's side of `kb.db`: the reads a graph edit plans from (an entity's relations, the
//! curated overrides, the aliases) and the one write transaction that applies it.
//!
//! Invariant: [`SqliteKb::commit_graph_edit`] is all or nothing and refuses a plan made at
//! another generation, like a document deletion; it drops the cached query answers (any may
//! quote the old graph) and bumps the generation, so open query engines are reopened.

use std::collections::HashMap;

use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};

use super::delete::{drop_cached_answers, remove_entity, remove_relation};
use super::kb::{
    SqliteKb, VectorKind, json_list, relation_from_row, update_entity, update_relation, upsert_entity, upsert_relation,
};
use crate::error::{Error, Result};
use crate::rag::merge::{EntityState, RelationState};

/// The kb.db schema version that added curation's tables.
const CURATION_SCHEMA: i64 = 5;

/// The fields a person set. An entity uses `entity_type` and `description`; a relation
/// `description`, `keywords` and `weight`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverrideFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

impl OverrideFields {
    /// `self` with every field `newer` sets replaced.
    pub fn updated(&self, newer: &OverrideFields) -> OverrideFields {
        OverrideFields {
            entity_type: newer.entity_type.clone().or_else(|| self.entity_type.clone()),
            description: newer.description.clone().or_else(|| self.description.clone()),
            keywords: newer.keywords.clone().or_else(|| self.keywords.clone()),
            weight: newer.weight.or(self.weight),
        }
    }
}

/// A curated entity or relation: what was set, and the chunks whose extraction records the
/// edit replaced (records of later chunks still merge in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub fields: OverrideFields,
    pub covered: Vec<String>,
}

/// The key of an override: an entity's name with an empty `tgt`, or a relation's sorted pair.
pub type OverrideKey = (String, String);

/// Every curated row and alias of a KB (small: one row per manual edit).
#[derive(Debug, Clone, Default)]
pub struct Curation {
    pub overrides: HashMap<OverrideKey, Override>,
    /// Old name → the entity that replaced it.
    pub aliases: HashMap<String, String>,
}

impl Curation {
    /// The entity an extracted name stands for: its alias target, else itself.
    pub fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases.get(name).map(String::as_str).unwrap_or(name)
    }

    pub fn entity(&self, name: &str) -> Option<&Override> {
        self.overrides.get(&(name.to_string(), String::new()))
    }

    pub fn relation(&self, a: &str, b: &str) -> Option<&Override> {
        self.overrides.get(&(a.to_string(), b.to_string()))
    }
}

/// The writes of one graph edit. Rows come with a new embedding when their embedded text
/// changed (inserted or replaced), without one when only other fields changed (the row must
/// exist).
#[derive(Debug, Clone, Default)]
pub struct GraphEdit {
    pub expected_generation: u64,
    /// Entities merged or renamed away: their document links move to the new name first.
    pub link_renames: Vec<(String, String)>,
    /// Removed with their relations, document links, overrides and the aliases naming them.
    pub remove_entities: Vec<String>,
    /// Sorted pairs.
    pub remove_relations: Vec<(String, String)>,
    pub entities: Vec<(EntityState, Option<Vec<f32>>)>,
    pub relations: Vec<(RelationState, Option<Vec<f32>>)>,
    /// Overrides to write (`Some`) or clear (`None`).
    pub overrides: Vec<(OverrideKey, Option<Override>)>,
    /// `(alias, canonical)`: aliases of `alias` are redirected to `canonical` too, and
    /// `canonical` stops being an alias.
    pub aliases: Vec<(String, String)>,
    /// Names that are entities again (created by hand): no longer aliases.
    pub unalias: Vec<String>,
    /// Unix seconds, recorded on created rows.
    pub created_at: i64,
}

/// What a committed edit changed in the vector collections.
#[derive(Debug, Clone, Default)]
pub struct EditChanges {
    pub removed: Vec<(VectorKind, u64)>,
    pub upserts: Vec<(VectorKind, u64, Vec<f32>)>,
    pub answers_dropped: usize,
}

impl SqliteKb {
    /// The relations of entity `name`, ordered by the other endpoint.
    pub fn relations_of(&self, name: &str) -> Result<Vec<RelationState>> {
        let err = self.err("cannot read relations");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT src, tgt, keywords, description, weight, source_ids, all_source_ids, file_paths, truncate
                 FROM relations WHERE src = ?1 OR tgt = ?1 ORDER BY CASE WHEN src = ?1 THEN tgt ELSE src END",
            )
            .map_err(&err)?;
        stmt.query_map([name], relation_from_row)
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)
    }

    /// Every override and alias.
    pub fn curation(&self) -> Result<Curation> {
        let err = self.err("cannot read the curated edits");
        let mut out = Curation::default();
        if !self.has_curation()? {
            return Ok(out);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT src, tgt, fields, covered FROM graph_overrides")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(&err)?;
        for row in rows {
            let (key, fields, covered) = row.map_err(&err)?;
            let parsed = serde_json::from_str(&fields)
                .and_then(|fields| Ok((fields, serde_json::from_str(&covered)?)))
                .map_err(|e| Error::storage("a curated edit in kb.db is corrupt", e))?;
            out.overrides.insert(
                key,
                Override {
                    fields: parsed.0,
                    covered: parsed.1,
                },
            );
        }
        out.aliases = self.aliases()?;
        Ok(out)
    }

    /// Every alias: old name → the entity that replaced it. Empty for a kb.db older than
    /// curation (a read-only open does not migrate).
    pub fn aliases(&self) -> Result<HashMap<String, String>> {
        let err = self.err("cannot read the entity aliases");
        if !self.has_curation()? {
            return Ok(HashMap::new());
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT alias, canonical FROM entity_aliases")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(&err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(&err)
    }

    fn has_curation(&self) -> Result<bool> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err("cannot read the schema version"))?;
        Ok(version >= CURATION_SCHEMA)
    }

    /// Applies a graph edit in one transaction; see the module documentation.
    pub fn commit_graph_edit(&mut self, edit: &GraphEdit) -> Result<EditChanges> {
        self.write_at_generation("cannot apply the graph edit", edit.expected_generation, "edit", |tx| {
            write_edit(tx, edit)
        })
    }
}

/// Moves the document links of entity `old` to `new`: its `doc_entities` rows, and its
/// `doc_relations` rows to the redirected (sorted) pair, dropping pairs that became self-loops.
fn rename_links(tx: &Transaction<'_>, old: &str, new: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO doc_entities (doc_id, name) SELECT doc_id, ?2 FROM doc_entities WHERE name = ?1",
        params![old, new],
    )?;
    tx.execute("DELETE FROM doc_entities WHERE name = ?1", [old])?;
    let rows: Vec<(String, String, String)> = tx
        .prepare("SELECT doc_id, src, tgt FROM doc_relations WHERE src = ?1 OR tgt = ?1")?
        .query_map([old], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (doc, src, tgt) in rows {
        let map = |x: String| if x == old { new.to_string() } else { x };
        let (a, b) = (map(src), map(tgt));
        if a != b {
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            tx.execute(
                "INSERT OR IGNORE INTO doc_relations (doc_id, src, tgt) VALUES (?1, ?2, ?3)",
                params![doc, a, b],
            )?;
        }
    }
    tx.execute("DELETE FROM doc_relations WHERE src = ?1 OR tgt = ?1", [old])?;
    Ok(())
}

fn write_edit(tx: &Transaction<'_>, e: &GraphEdit) -> rusqlite::Result<EditChanges> {
    let mut changes = EditChanges::default();
    for (old, new) in &e.link_renames {
        rename_links(tx, old, new)?;
    }
    // Before the removals, which drop the aliases naming a removed entity: a merged-away
    // entity's aliases move to the entity that replaced it.
    let now = crate::time::now();
    for (alias, canonical) in &e.aliases {
        tx.execute(
            "UPDATE entity_aliases SET canonical = ?2 WHERE canonical = ?1",
            [alias, canonical],
        )?;
        tx.execute(
            "INSERT INTO entity_aliases (alias, canonical, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(alias) DO UPDATE SET canonical = ?2",
            params![alias, canonical, now],
        )?;
        tx.execute("DELETE FROM entity_aliases WHERE alias = ?1", [canonical])?;
    }
    for name in &e.unalias {
        tx.execute("DELETE FROM entity_aliases WHERE alias = ?1", [name])?;
    }
    for (a, b) in &e.remove_relations {
        let key = remove_relation(tx, a, b)?;
        changes.removed.extend(key.map(|k| (VectorKind::Relations, k as u64)));
    }
    for name in &e.remove_entities {
        let (entity, relations) = remove_entity(tx, name)?;
        changes.removed.extend(entity.map(|k| (VectorKind::Entities, k as u64)));
        changes
            .removed
            .extend(relations.into_iter().map(|k| (VectorKind::Relations, k as u64)));
        tx.execute("DELETE FROM entity_aliases WHERE canonical = ?1", [name])?;
    }
    for (entity, vector) in &e.entities {
        match vector {
            Some(v) => {
                let key = upsert_entity(tx, entity, v, e.created_at)?;
                changes.upserts.push((VectorKind::Entities, key as u64, v.clone()));
            }
            None => {
                update_entity(tx, entity, None)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            }
        }
    }
    for (rel, vector) in &e.relations {
        match vector {
            Some(v) => {
                let key = upsert_relation(tx, rel, v, e.created_at)?;
                changes.upserts.push((VectorKind::Relations, key as u64, v.clone()));
            }
            None => {
                update_relation(tx, rel, None)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            }
        }
    }
    for ((src, tgt), o) in &e.overrides {
        match o {
            Some(o) => {
                let fields = serde_json::to_string(&o.fields).unwrap_or_else(|_| "{}".into());
                tx.execute(
                    "INSERT INTO graph_overrides (src, tgt, fields, covered, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(src, tgt) DO UPDATE SET fields = ?3, covered = ?4, updated_at = ?5",
                    params![src, tgt, fields, json_list(&o.covered), now],
                )?;
            }
            None => {
                tx.execute("DELETE FROM graph_overrides WHERE src = ?1 AND tgt = ?2", [src, tgt])?;
            }
        }
    }
    changes.answers_dropped = drop_cached_answers(tx)?;
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
            description: format!("{name} is someone."),
            source_ids: vec!["c1".into()],
            all_source_ids: vec!["c1".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    fn rename(store: &mut SqliteKb, old: &str, new: &str) -> EditChanges {
        let edit = GraphEdit {
            expected_generation: store.generation().unwrap(),
            link_renames: vec![(old.into(), new.into())],
            remove_entities: vec![old.into()],
            entities: vec![(entity(new), Some(vec![1.0, 0.0]))],
            aliases: vec![(old.into(), new.into())],
            ..GraphEdit::default()
        };
        store.commit_graph_edit(&edit).unwrap()
    }

    #[test]
    fn aliases_follow_renames_and_a_stale_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        let create = GraphEdit {
            entities: vec![(entity("J. Smith"), Some(vec![0.0, 1.0]))],
            overrides: vec![(
                ("J. Smith".into(), String::new()),
                Some(Override {
                    fields: OverrideFields {
                        description: Some("curated".into()),
                        ..OverrideFields::default()
                    },
                    covered: vec!["c1".into()],
                }),
            )],
            ..GraphEdit::default()
        };
        let changes = store.commit_graph_edit(&create).unwrap();
        assert_eq!(changes.upserts.len(), 1);
        let stale = create.expected_generation;

        let changes = rename(&mut store, "J. Smith", "John Smith");
        assert_eq!(changes.removed, vec![(VectorKind::Entities, 1)]);
        rename(&mut store, "John Smith", "John A. Smith");
        let curation = store.curation().unwrap();
        assert_eq!(curation.resolve("J. Smith"), "John A. Smith");
        assert_eq!(curation.resolve("John Smith"), "John A. Smith");
        assert_eq!(curation.resolve("Someone Else"), "Someone Else");
        // The removed entity's override went with it.
        assert!(curation.entity("J. Smith").is_none());

        // Renaming back makes the name an entity again, not an alias of itself.
        rename(&mut store, "John A. Smith", "J. Smith");
        let curation = store.curation().unwrap();
        assert_eq!(curation.resolve("J. Smith"), "J. Smith");
        assert_eq!(curation.resolve("John Smith"), "J. Smith");
        assert_eq!(curation.resolve("John A. Smith"), "J. Smith");

        let refused = store.commit_graph_edit(&GraphEdit {
            expected_generation: stale,
            remove_entities: vec!["J. Smith".into()],
            ..GraphEdit::default()
        });
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        assert!(store.entity("J. Smith").unwrap().is_some());
    }
}
