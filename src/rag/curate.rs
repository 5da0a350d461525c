//! Curating the graph by hand (`lrt graph entity|relation|merge`), after LightRAG's
//! `utils_graph.py` (`acreate_entity`, `aedit_entity`, `amerge_entities`, `adelete_by_entity`,
//! `acreate_relation`, `aedit_relation`, `adelete_by_relation`; core reference, section 9.5).
//!
//! * A rename is a merge of one entity into a new name. A merge moves every relation of the
//!   merged entities to the surviving one, drops relations that became self-loops, and merges
//!   relations that now collide as upstream does: descriptions concatenated, keywords the
//!   sorted union, source ids and file paths the ordered union, the weight the largest one
//!   floored at the number of evidence chunks. Descriptions, source ids and file paths of the
//!   entities combine the same way.
//! * Exactly the rows whose embedded text changed are embedded again.
//! * Better than upstream, edits survive: an edited or created entity or relation keeps its
//!   curated fields as an override (see `store::curate`), which a document deletion's rebuild
//!   applies; a merged or renamed name becomes an alias, so a later extraction of it lands on
//!   the entity that replaced it.
//!
//! Planning reads kb.db only; one kb.db transaction then applies everything and the vector
//! indexes follow, as for a document deletion. This module is a child of `engine` for the
//! engine's private parts (store, vector buffer, merge lock).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json};

use super::{Engine, kind_slot};
use crate::error::{Error, Result};
use crate::rag::merge::{self, EntityState, MergeLimits, Merged, NewEntity, NewRelation, RelationState};
use crate::rag::normalize;
use crate::store::curate::{Curation, GraphEdit, Override, OverrideFields, OverrideKey};
use crate::store::kb::{KbStore, SEP, VectorKind};

/// The file path upstream records on rows made by hand.
pub const MANUAL_FILE_PATH: &str = "manual_creation";

/// Source ids that are no evidence (upstream's `RELATION_NO_EVIDENCE_SOURCE_IDS`).
const NO_EVIDENCE: [&str; 2] = [MANUAL_FILE_PATH, "UNKNOWN"];

/// The entity fields an edit may set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityPatch {
    pub entity_type: Option<String>,
    pub description: Option<String>,
}

/// The relation fields an edit may set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelationPatch {
    pub description: Option<String>,
    pub keywords: Option<String>,
    pub weight: Option<f64>,
}

/// One graph edit.
#[derive(Debug, Clone)]
pub enum GraphOp {
    CreateEntity {
        name: String,
        patch: EntityPatch,
    },
    EditEntity {
        name: String,
        patch: EntityPatch,
    },
    /// `sources` merged into `target`. With `rename`, there is one source and the target must
    /// not exist yet.
    Merge {
        sources: Vec<String>,
        target: String,
        patch: EntityPatch,
        rename: bool,
    },
    DeleteEntity {
        name: String,
    },
    CreateRelation {
        src: String,
        tgt: String,
        patch: RelationPatch,
    },
    EditRelation {
        src: String,
        tgt: String,
        patch: RelationPatch,
    },
    DeleteRelation {
        src: String,
        tgt: String,
    },
}

impl GraphOp {
    /// The audit action.
    pub fn action(&self) -> &'static str {
        match self {
            GraphOp::CreateEntity { .. } => "graph.entity.create",
            GraphOp::EditEntity { .. } => "graph.entity.edit",
            GraphOp::Merge { rename: true, .. } => "graph.entity.rename",
            GraphOp::Merge { .. } => "graph.entity.merge",
            GraphOp::DeleteEntity { .. } => "graph.entity.delete",
            GraphOp::CreateRelation { .. } => "graph.relation.create",
            GraphOp::EditRelation { .. } => "graph.relation.edit",
            GraphOp::DeleteRelation { .. } => "graph.relation.delete",
        }
    }

    /// What the edit does, for a confirmation question.
    pub fn describe(&self) -> String {
        match self {
            GraphOp::CreateEntity { name, .. } => format!("create entity '{name}'"),
            GraphOp::EditEntity { name, .. } => format!("edit entity '{name}'"),
            GraphOp::Merge { sources, target, .. } => format!("merge '{}' into '{target}'", sources.join("', '")),
            GraphOp::DeleteEntity { name } => format!("delete entity '{name}'"),
            GraphOp::CreateRelation { src, tgt, .. } => format!("create relation '{src}' ~ '{tgt}'"),
            GraphOp::EditRelation { src, tgt, .. } => format!("edit relation '{src}' ~ '{tgt}'"),
            GraphOp::DeleteRelation { src, tgt } => format!("delete relation '{src}' ~ '{tgt}'"),
        }
    }

    /// Whether the edit removes graph rows (`document:delete` rather than `document:update`).
    pub fn deletes(&self) -> bool {
        matches!(self, GraphOp::DeleteEntity { .. } | GraphOp::DeleteRelation { .. })
    }
}

/// An alias recorded by a merge or rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub alias: String,
    pub canonical: String,
}

/// What an edit did (or, with `dry_run`, would do). `before`/`after` are the edited rows as
/// they were and are (entities by name, relations as `src~tgt`), which the audit log keeps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EditReport {
    pub action: String,
    pub dry_run: bool,
    pub entities_created: Vec<String>,
    pub entities_updated: Vec<String>,
    pub entities_removed: Vec<String>,
    pub relations_created: Vec<[String; 2]>,
    pub relations_updated: Vec<[String; 2]>,
    pub relations_removed: Vec<[String; 2]>,
    pub aliases: Vec<Alias>,
    /// Vectors computed again (rows whose embedded text changed).
    pub embedded: usize,
    /// Cached query answers dropped (they may quote the old graph).
    pub answers_dropped: usize,
    pub before: Value,
    pub after: Value,
}

fn entity_json(e: &EntityState) -> Value {
    json!({
        "name": e.name,
        "entity_type": e.entity_type,
        "description": e.description,
        "source_ids": e.source_ids,
        "file_paths": e.file_paths,
    })
}

fn relation_json(r: &RelationState) -> Value {
    json!({
        "src": r.src,
        "tgt": r.tgt,
        "keywords": r.keywords,
        "description": r.description,
        "weight": r.weight,
        "source_ids": r.source_ids,
        "file_paths": r.file_paths,
    })
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

fn entity_key(name: &str) -> OverrideKey {
    (name.to_string(), String::new())
}

/// Ordered union of lists, empty items and duplicates dropped.
fn union<'a>(lists: impl IntoIterator<Item = &'a [String]>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for list in lists {
        for item in list {
            if !item.is_empty() && seen.insert(item.as_str()) {
                out.push(item.clone());
            }
        }
    }
    out
}

/// Descriptions joined with `SEP` (upstream's `concatenate`), each fragment once: merging
/// two relations extracted from the same sentence does not repeat it.
fn concatenate<'a>(descriptions: impl Iterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    descriptions
        .flat_map(|d| d.split(SEP))
        .filter(|d| !d.trim().is_empty() && seen.insert(*d))
        .collect::<Vec<_>>()
        .join(SEP)
}

/// Distinct real evidence chunks of a relation.
fn evidence(source_ids: &[String]) -> usize {
    source_ids
        .iter()
        .filter(|id| !id.is_empty() && !NO_EVIDENCE.contains(&id.as_str()))
        .collect::<HashSet<_>>()
        .len()
}

/// A name typed by a person, normalized as extraction normalizes names.
pub fn manual_name(name: &str) -> Result<String> {
    let normalized = normalize::normalize_entity_name(name);
    if normalized.is_empty() {
        return Err(Error::Usage(format!(
            "invalid entity name {name:?}: it is empty once normalized"
        )));
    }
    Ok(normalized)
}

fn text_field(what: &str, value: &Option<String>) -> Result<Option<String>> {
    match value {
        Some(v) if v.trim().is_empty() => Err(Error::Usage(format!("{what} cannot be empty"))),
        Some(v) => Ok(Some(normalize::sanitize_text_for_encoding(v))),
        None => Ok(None),
    }
}

fn check_weight(weight: f64) -> Result<f64> {
    if !weight.is_finite() || weight < 0.0 {
        return Err(Error::Usage(format!(
            "invalid weight {weight}: a weight is a finite number, 0 or more"
        )));
    }
    Ok(weight)
}

/// The existing entity a typed name refers to: the name as typed, else normalized.
fn find_entity(store: &KbStore, name: &str) -> Result<Option<EntityState>> {
    if let Some(e) = store.entity(name)? {
        return Ok(Some(e));
    }
    store.entity(&manual_name(name)?)
}

fn require_entity(store: &KbStore, name: &str) -> Result<EntityState> {
    find_entity(store, name)?
        .ok_or_else(|| Error::NotFound(format!("entity '{name}' not found (see `lrt graph entities`)")))
}

fn require_relation(store: &KbStore, a: &str, b: &str) -> Result<RelationState> {
    let (a, b) = (require_entity(store, a)?.name, require_entity(store, b)?.name);
    store
        .relation(&a, &b)?
        .ok_or_else(|| Error::NotFound(format!("relation '{a}' ~ '{b}' not found")))
}

/// The merged entity (sources first, then an existing target, as upstream): descriptions
/// concatenated, the first type, chunk ids and file paths joined in order.
pub fn merge_entity_rows(target: &str, rows: &[&EntityState], limits: &MergeLimits) -> EntityState {
    let all = union(
        rows.iter()
            .map(|e| e.all_source_ids.as_slice())
            .chain(rows.iter().map(|e| e.source_ids.as_slice())),
    );
    let (source_ids, truncate) = merge::limit_source_ids(&all, limits.max_source_ids_per_entity, limits.method);
    EntityState {
        name: target.to_string(),
        entity_type: rows
            .iter()
            .map(|e| e.entity_type.as_str())
            .find(|t| !t.is_empty())
            .unwrap_or(merge::UNKNOWN_TYPE)
            .to_string(),
        description: concatenate(rows.iter().map(|e| e.description.as_str())),
        source_ids,
        all_source_ids: all,
        file_paths: union(rows.iter().map(|e| e.file_paths.as_slice())),
        truncate,
    }
}

/// Relations that collapsed onto one pair, merged as upstream's `amerge_entities` merges them.
pub fn merge_relation_rows(a: &str, b: &str, rows: &[&RelationState], limits: &MergeLimits) -> RelationState {
    let all = union(
        rows.iter()
            .map(|r| r.all_source_ids.as_slice())
            .chain(rows.iter().map(|r| r.source_ids.as_slice())),
    );
    let (source_ids, truncate) = merge::limit_source_ids(&all, limits.max_source_ids_per_relation, limits.method);
    let strongest = rows.iter().map(|r| r.weight).fold(0.0, f64::max);
    RelationState {
        src: a.to_string(),
        tgt: b.to_string(),
        keywords: merge::merge_keywords(rows.iter().map(|r| r.keywords.as_str())),
        description: concatenate(rows.iter().map(|r| r.description.as_str())),
        weight: strongest.max(evidence(&source_ids) as f64),
        source_ids,
        all_source_ids: all,
        file_paths: union(rows.iter().map(|r| r.file_paths.as_slice())),
        truncate,
    }
}

/// What an edit writes, before embedding: rows with whether their embedded text changed.
#[derive(Default)]
struct Plan {
    edit: GraphEdit,
    entities: Vec<(EntityState, bool)>,
    relations: Vec<(RelationState, bool)>,
    report: EditReport,
}

impl Plan {
    fn entity(&mut self, e: EntityState, embed: bool, created: bool) {
        let list = if created {
            &mut self.report.entities_created
        } else {
            &mut self.report.entities_updated
        };
        list.push(e.name.clone());
        self.entities.push((e, embed));
    }

    fn relation(&mut self, r: RelationState, embed: bool, created: bool) {
        let list = if created {
            &mut self.report.relations_created
        } else {
            &mut self.report.relations_updated
        };
        list.push([r.src.clone(), r.tgt.clone()]);
        self.relations.push((r, embed));
    }

    fn remove_relation(&mut self, a: &str, b: &str) {
        self.edit.remove_relations.push((a.to_string(), b.to_string()));
        self.report.relations_removed.push([a.to_string(), b.to_string()]);
    }
}

/// An override with the fields `patch` sets added; its covered chunks are those the row has
/// now (their records are what the edit replaces).
fn curated(old: Option<&Override>, fields: OverrideFields, chunks: &[String], extra: &[String]) -> Override {
    let base = old.cloned().unwrap_or_default();
    Override {
        fields: base.fields.updated(&fields),
        covered: union([base.covered.as_slice(), chunks, extra]),
    }
}

fn entity_fields(patch: &EntityPatch) -> Result<OverrideFields> {
    Ok(OverrideFields {
        entity_type: text_field("the entity type", &patch.entity_type)?.map(|t| t.trim().to_string()),
        description: text_field("the description", &patch.description)?,
        ..OverrideFields::default()
    })
}

fn relation_fields(patch: &RelationPatch) -> Result<OverrideFields> {
    Ok(OverrideFields {
        description: text_field("the description", &patch.description)?,
        keywords: patch
            .keywords
            .as_ref()
            .map(|k| merge::merge_keywords(std::iter::once(k.as_str()))),
        weight: patch.weight.map(check_weight).transpose()?,
        ..OverrideFields::default()
    })
}

fn apply_entity_fields(e: &mut EntityState, f: &OverrideFields) {
    if let Some(t) = &f.entity_type {
        e.entity_type = t.clone();
    }
    if let Some(d) = &f.description {
        e.description = d.clone();
    }
}

fn plan(store: &KbStore, op: &GraphOp, limits: &MergeLimits, quota: (u64, u64)) -> Result<Plan> {
    let curation = store.curation()?;
    let mut p = Plan::default();
    match op {
        GraphOp::CreateEntity { name, patch } => {
            let name = manual_name(name)?;
            if store.entity(&name)?.is_some() {
                return Err(Error::Conflict(format!("entity '{name}' already exists")));
            }
            let fields = entity_fields(patch)?;
            let description = fields
                .description
                .clone()
                .ok_or_else(|| Error::Usage("a new entity needs a description".into()))?;
            if store.stats()?.entities + 1 > quota.0 {
                return Err(Error::Quota(format!(
                    "quota exceeded: max_entities_per_kb is {}",
                    quota.0
                )));
            }
            let e = EntityState {
                name: name.clone(),
                entity_type: fields.entity_type.clone().unwrap_or_else(|| merge::UNKNOWN_TYPE.into()),
                description,
                source_ids: Vec::new(),
                all_source_ids: Vec::new(),
                file_paths: vec![MANUAL_FILE_PATH.into()],
                truncate: String::new(),
            };
            p.report.before = Value::Null;
            p.report.after = entity_json(&e);
            p.edit
                .overrides
                .push((entity_key(&name), Some(curated(None, fields, &[], &[]))));
            p.edit.unalias.push(name);
            p.entity(e, true, true);
        }
        GraphOp::EditEntity { name, patch } => {
            let old = require_entity(store, name)?;
            let fields = entity_fields(patch)?;
            if fields == OverrideFields::default() {
                return Err(Error::Usage("nothing to change: give --description or --type".into()));
            }
            let mut e = old.clone();
            apply_entity_fields(&mut e, &fields);
            let embed = e.description != old.description;
            p.report.before = entity_json(&old);
            p.report.after = entity_json(&e);
            let o = curated(curation.entity(&old.name), fields, &old.all_source_ids, &old.source_ids);
            p.edit.overrides.push((entity_key(&old.name), Some(o)));
            p.entity(e, embed, false);
        }
        GraphOp::Merge {
            sources,
            target,
            patch,
            rename,
        } => plan_merge(store, &curation, &mut p, sources, target, patch, *rename, limits)?,
        GraphOp::DeleteEntity { name } => {
            let e = require_entity(store, name)?;
            let relations = store.relations_of(&e.name)?;
            p.report.before = json!({
                "entity": entity_json(&e),
                "relations": relations.iter().map(relation_json).collect::<Vec<_>>(),
            });
            p.report.after = Value::Null;
            for r in &relations {
                p.report.relations_removed.push([r.src.clone(), r.tgt.clone()]);
            }
            p.report.entities_removed.push(e.name.clone());
            p.edit.remove_entities.push(e.name);
        }
        GraphOp::CreateRelation { src, tgt, patch } => {
            let (a, b) = (require_entity(store, src)?.name, require_entity(store, tgt)?.name);
            if a == b {
                return Err(Error::Usage(format!(
                    "a relation links two different entities ('{a}' twice given)"
                )));
            }
            let (a, b) = pair(&a, &b);
            if store.relation(&a, &b)?.is_some() {
                return Err(Error::Conflict(format!("relation '{a}' ~ '{b}' already exists")));
            }
            if store.stats()?.relations + 1 > quota.1 {
                return Err(Error::Quota(format!(
                    "quota exceeded: max_relationships_per_kb is {}",
                    quota.1
                )));
            }
            let fields = relation_fields(patch)?;
            let r = RelationState {
                src: a.clone(),
                tgt: b.clone(),
                keywords: fields.keywords.clone().unwrap_or_default(),
                description: fields
                    .description
                    .clone()
                    .ok_or_else(|| Error::Usage("a new relation needs a description".into()))?,
                weight: fields.weight.unwrap_or(1.0),
                source_ids: Vec::new(),
                all_source_ids: Vec::new(),
                file_paths: vec![MANUAL_FILE_PATH.into()],
                truncate: String::new(),
            };
            p.report.before = Value::Null;
            p.report.after = relation_json(&r);
            p.edit.overrides.push(((a, b), Some(curated(None, fields, &[], &[]))));
            p.relation(r, true, true);
        }
        GraphOp::EditRelation { src, tgt, patch } => {
            let old = require_relation(store, src, tgt)?;
            let fields = relation_fields(patch)?;
            if fields == OverrideFields::default() {
                return Err(Error::Usage(
                    "nothing to change: give --description, --keywords or --weight".into(),
                ));
            }
            let mut r = old.clone();
            if let Some(d) = &fields.description {
                r.description = d.clone();
            }
            if let Some(k) = &fields.keywords {
                r.keywords = k.clone();
            }
            if let Some(w) = fields.weight {
                let floor = evidence(&r.source_ids);
                if w < floor as f64 {
                    return Err(Error::Usage(format!(
                        "weight {w} is below the relation's {floor} evidence chunks; a weight counts its evidence"
                    )));
                }
                r.weight = w;
            }
            let embed = r.description != old.description || r.keywords != old.keywords;
            p.report.before = relation_json(&old);
            p.report.after = relation_json(&r);
            let key = (old.src.clone(), old.tgt.clone());
            let o = curated(
                curation.relation(&key.0, &key.1),
                fields,
                &old.all_source_ids,
                &old.source_ids,
            );
            p.edit.overrides.push((key, Some(o)));
            p.relation(r, embed, false);
        }
        GraphOp::DeleteRelation { src, tgt } => {
            let r = require_relation(store, src, tgt)?;
            p.report.before = relation_json(&r);
            p.report.after = Value::Null;
            p.remove_relation(&r.src, &r.tgt);
        }
    }
    p.report.action = op.action().to_string();
    Ok(p)
}

#[allow(clippy::too_many_arguments)]
fn plan_merge(
    store: &KbStore,
    curation: &Curation,
    p: &mut Plan,
    sources: &[String],
    target: &str,
    patch: &EntityPatch,
    rename: bool,
    limits: &MergeLimits,
) -> Result<()> {
    if sources.is_empty() {
        return Err(Error::Usage("name at least one entity to merge".into()));
    }
    let mut rows: Vec<EntityState> = Vec::new();
    for s in sources {
        let e = require_entity(store, s)?;
        if !rows.iter().any(|r| r.name == e.name) {
            rows.push(e);
        }
    }
    let existing = find_entity(store, target)?;
    let target = match &existing {
        Some(e) => e.name.clone(),
        None => manual_name(target)?,
    };
    if rename && existing.as_ref().is_some_and(|e| e.name != rows[0].name) {
        return Err(Error::Conflict(format!(
            "entity '{target}' already exists; merge into it with `lrt graph merge '{}' --into '{target}'`",
            rows[0].name
        )));
    }
    rows.retain(|e| e.name != target);
    if rows.is_empty() {
        return Err(Error::Usage(format!(
            "nothing to merge: '{target}' is the only entity named"
        )));
    }
    let merged_away: HashSet<&str> = rows.iter().map(|e| e.name.as_str()).collect();

    // The merged entity.
    let inputs: Vec<&EntityState> = rows.iter().chain(existing.iter()).collect();
    let mut entity = merge_entity_rows(&target, &inputs, limits);
    let fields = entity_fields(patch)?;
    apply_entity_fields(&mut entity, &fields);
    let target_override = curation.entity(&target).cloned();
    let moved_override = match rows.as_slice() {
        [only] if existing.is_none() => curation.entity(&only.name).cloned(),
        _ => None,
    };
    match (fields != OverrideFields::default(), target_override.or(moved_override)) {
        (true, old) => {
            let o = curated(old.as_ref(), fields, &entity.all_source_ids, &[]);
            p.edit.overrides.push((entity_key(&target), Some(o)));
        }
        (false, Some(o)) => p.edit.overrides.push((entity_key(&target), Some(o))),
        (false, None) => {}
    }

    // Every relation of the merged entities and of the target, redirected.
    let mut seen = HashSet::new();
    let mut incident: Vec<RelationState> = Vec::new();
    for name in rows.iter().map(|e| &e.name).chain(existing.iter().map(|e| &e.name)) {
        for r in store.relations_of(name)? {
            if seen.insert((r.src.clone(), r.tgt.clone())) {
                incident.push(r);
            }
        }
    }
    let redirect = |x: &str| {
        if merged_away.contains(x) {
            target.clone()
        } else {
            x.to_string()
        }
    };
    let mut groups: Vec<((String, String), Vec<&RelationState>)> = Vec::new();
    for r in &incident {
        let (a, b) = (redirect(&r.src), redirect(&r.tgt));
        if a == b {
            // Upstream drops relations between merged entities rather than make self-loops.
            p.remove_relation(&r.src, &r.tgt);
            continue;
        }
        let key = pair(&a, &b);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let new_keys: HashSet<(String, String)> = groups.iter().map(|(k, _)| k.clone()).collect();
    for r in &incident {
        let old = (r.src.clone(), r.tgt.clone());
        let collapsed = redirect(&r.src) == redirect(&r.tgt);
        if !collapsed && !new_keys.contains(&old) {
            p.remove_relation(&r.src, &r.tgt);
        }
    }
    let mut before_relations = Vec::new();
    for ((a, b), list) in &groups {
        let unchanged = matches!(list.as_slice(), [only] if only.src == *a && only.tgt == *b);
        if unchanged {
            continue;
        }
        before_relations.extend(list.iter().map(|r| relation_json(r)));
        let merged = match list.as_slice() {
            // Only renamed: every field stays.
            [only] => RelationState {
                src: a.clone(),
                tgt: b.clone(),
                ..(*only).clone()
            },
            many => merge_relation_rows(a, b, many, limits),
        };
        if let [only] = list.as_slice()
            && let Some(o) = curation.relation(&only.src, &only.tgt)
        {
            p.edit.overrides.push(((a.clone(), b.clone()), Some(o.clone())));
        }
        let created = !list.iter().any(|r| r.src == *a && r.tgt == *b);
        p.relation(merged, true, created);
    }

    p.report.before = json!({
        "entities": rows.iter().chain(existing.iter()).map(entity_json).collect::<Vec<_>>(),
        "relations": before_relations,
    });
    p.report.after = json!({
        "entity": entity_json(&entity),
        "relations": p.relations.iter().map(|(r, _)| relation_json(r)).collect::<Vec<_>>(),
    });
    for e in &rows {
        p.edit.link_renames.push((e.name.clone(), target.clone()));
        p.edit.remove_entities.push(e.name.clone());
        p.report.entities_removed.push(e.name.clone());
        p.edit.aliases.push((e.name.clone(), target.clone()));
        p.report.aliases.push(Alias {
            alias: e.name.clone(),
            canonical: target.clone(),
        });
    }
    let embed = existing
        .as_ref()
        .is_none_or(|old| old.description != entity.description);
    p.entity(entity, embed, existing.is_none());
    Ok(())
}

/// An entity rebuilt after a document deletion, with its curated fields: a curated
/// description stands for the records of the chunks it covered, and records of later chunks
/// merge into it as an ingest merged them; a curated type stays.
pub fn entity_with_override<E>(
    rebuilt: EntityState,
    o: &Override,
    records: &[NewEntity],
    limits: &MergeLimits,
    tokens: &merge::TokenCount<'_>,
    summarize: &mut merge::Summarize<'_, E>,
) -> std::result::Result<EntityState, E> {
    let mut out = rebuilt;
    if let Some(curated) = &o.fields.description {
        let covered: HashSet<&str> = o.covered.iter().map(String::as_str).collect();
        let later: Vec<NewEntity> = records
            .iter()
            .filter(|r| !covered.contains(r.source_id.as_str()))
            .cloned()
            .collect();
        let base = EntityState {
            description: curated.clone(),
            source_ids: Vec::new(),
            all_source_ids: Vec::new(),
            file_paths: Vec::new(),
            ..out.clone()
        };
        out.description = match later.is_empty() {
            true => curated.clone(),
            false => match merge::merge_entity(&out.name, Some(&base), &later, limits, tokens, summarize)? {
                Merged::Upsert(fresh) => fresh.description,
                Merged::Untouched { .. } => curated.clone(),
            },
        };
    }
    if let Some(t) = &o.fields.entity_type {
        out.entity_type = t.clone();
    }
    Ok(out)
}

/// [`entity_with_override`] for a relation: curated description and keywords with later
/// records merged in; a curated weight plus the later records' weights.
pub fn relation_with_override<E: From<merge::RelationError>>(
    rebuilt: RelationState,
    o: &Override,
    records: &[NewRelation],
    limits: &MergeLimits,
    tokens: &merge::TokenCount<'_>,
    summarize: &mut merge::Summarize<'_, E>,
) -> std::result::Result<RelationState, E> {
    let f = &o.fields;
    if f.description.is_none() && f.keywords.is_none() && f.weight.is_none() {
        return Ok(rebuilt);
    }
    let covered: HashSet<&str> = o.covered.iter().map(String::as_str).collect();
    let later: Vec<NewRelation> = records
        .iter()
        .filter(|r| !covered.contains(r.source_id.as_str()))
        .cloned()
        .collect();
    let base = RelationState {
        description: f.description.clone().unwrap_or_else(|| rebuilt.description.clone()),
        keywords: f.keywords.clone().unwrap_or_else(|| rebuilt.keywords.clone()),
        weight: f.weight.unwrap_or(rebuilt.weight),
        source_ids: Vec::new(),
        all_source_ids: Vec::new(),
        file_paths: Vec::new(),
        ..rebuilt.clone()
    };
    let merged = match later.is_empty() {
        true => base,
        false => match merge::merge_relation(&base.src, &base.tgt, Some(&base), &later, limits, tokens, summarize)? {
            Merged::Upsert(fresh) => fresh,
            Merged::Untouched { .. } => base,
        },
    };
    let mut out = rebuilt;
    if f.description.is_some() {
        out.description = merged.description;
    }
    if f.keywords.is_some() {
        out.keywords = merged.keywords;
    }
    if f.weight.is_some() {
        out.weight = merged.weight.max(evidence(&out.source_ids) as f64);
    }
    Ok(out)
}

impl Engine {
    /// Applies one graph edit (or, with `dry_run`, reports what it would do, writing
    /// nothing); see the module documentation. The caller holds the KB's ingest lock.
    pub async fn curate(&self, op: &GraphOp, dry_run: bool) -> Result<EditReport> {
        let _merging = self.merge_lock.lock().await;
        self.staging.drain().await;
        let quota = (self.options.max_entities, self.options.max_relations);
        let (generation, mut plan) = {
            let store = self.store();
            (store.generation()?, plan(&store, op, &self.options.limits, quota)?)
        };
        let mut texts = Vec::new();
        for (e, embed) in &plan.entities {
            if *embed {
                texts.push(merge::entity_embedding_text(&e.name, &e.description));
            }
        }
        for (r, embed) in &plan.relations {
            if *embed {
                texts.push(merge::relation_embedding_text(
                    &r.keywords,
                    &r.src,
                    &r.tgt,
                    &r.description,
                ));
            }
        }
        plan.report.embedded = texts.len();
        plan.report.dry_run = dry_run;
        if dry_run {
            return Ok(plan.report);
        }
        let mut vectors = self.embed(&texts).await?.into_iter();
        let mut edit = std::mem::take(&mut plan.edit);
        edit.expected_generation = generation;
        edit.created_at = jiff::Timestamp::now().as_second();
        edit.entities = plan
            .entities
            .into_iter()
            .map(|(e, embed)| (e, if embed { vectors.next() } else { None }))
            .collect();
        edit.relations = plan
            .relations
            .into_iter()
            .map(|(r, embed)| (r, if embed { vectors.next() } else { None }))
            .collect();
        let changes = self.store().commit_graph_edit(&edit)?;
        self.apply_vector_changes(&changes.removed, &changes.upserts)?;
        plan.report.answers_dropped = changes.answers_dropped;
        Ok(plan.report)
    }

    /// Brings the vector indexes in line with a committed change (removed keys, new vectors)
    /// and saves them at the new generation.
    pub(super) fn apply_vector_changes(
        &self,
        removed: &[(VectorKind, u64)],
        upserts: &[(VectorKind, u64, Vec<f32>)],
    ) -> Result<()> {
        {
            let mut pending = self.pending_vectors.lock().unwrap_or_else(|p| p.into_inner());
            for (kind, key) in removed {
                pending[kind_slot(*kind)].remove(key);
            }
            for (kind, key, vector) in upserts {
                pending[kind_slot(*kind)].insert(*key, vector.clone());
            }
        }
        {
            let indexes = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
            for (kind, key) in removed {
                indexes[kind_slot(*kind)].remove(*key)?;
            }
        }
        self.save_indexes()
    }
}

/// A curated entity type stays when an ingest merges new records into the entity (upstream's
/// type vote would otherwise override it); descriptions, keywords and weights merge as usual.
pub(super) fn pin_curated_types(entities: &mut [std::sync::Arc<EntityState>], curation: &Curation) {
    if curation.overrides.is_empty() {
        return;
    }
    for e in entities.iter_mut() {
        if let Some(t) = curation.entity(&e.name).and_then(|o| o.fields.entity_type.as_ref())
            && e.entity_type != *t
        {
            std::sync::Arc::make_mut(e).entity_type = t.clone();
        }
    }
}

/// Extracted names as the curated graph knows them: an alias resolves to its entity, and a
/// relation whose ends became one entity is dropped. Without aliases, nothing changes.
pub(super) fn resolve_aliases(
    curation: &Curation,
    entities: &mut [crate::rag::extract::ExtractedEntity],
    relations: &mut Vec<crate::rag::extract::ExtractedRelation>,
) {
    if curation.aliases.is_empty() {
        return;
    }
    for e in entities.iter_mut() {
        if let Some(c) = curation.aliases.get(&e.entity_name) {
            e.entity_name = c.clone();
        }
    }
    for r in relations.iter_mut() {
        r.src_id = curation.resolve(&r.src_id).to_string();
        r.tgt_id = curation.resolve(&r.tgt_id).to_string();
    }
    relations.retain(|r| r.src_id != r.tgt_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn rel(a: &str, b: &str, desc: &str, kw: &str, w: f64, chunks: &[&str]) -> RelationState {
        RelationState {
            src: a.into(),
            tgt: b.into(),
            keywords: kw.into(),
            description: desc.into(),
            weight: w,
            source_ids: ids(chunks),
            all_source_ids: ids(chunks),
            file_paths: vec!["a.md".into()],
            truncate: String::new(),
        }
    }

    #[test]
    fn colliding_relations_merge_as_upstream() {
        let x = rel("J. Smith", "Acme", "works at", "job, employer", 3.0, &["c1", "c2"]);
        let y = rel(
            "Acme",
            "John Smith",
            "employed by",
            "employer,staff",
            1.0,
            &["c3", "c1"],
        );
        let m = merge_relation_rows("Acme", "John Smith", &[&x, &y], &MergeLimits::default());
        assert_eq!(m.description, format!("works at{SEP}employed by"));
        assert_eq!(m.keywords, "employer,job,staff");
        assert_eq!(m.all_source_ids, ids(&["c1", "c2", "c3"]));
        // The largest weight, floored at the three evidence chunks.
        assert_eq!(m.weight, 3.0);
        let z = rel("Acme", "John Smith", "d", "k", 1.0, &["c9"]);
        let w = merge_relation_rows("Acme", "John Smith", &[&z, &y], &MergeLimits::default());
        assert_eq!(w.weight, 3.0, "floored at c9, c3, c1");
    }

    #[test]
    fn a_curated_description_stands_for_covered_chunks_and_later_records_merge_in() {
        let limits = MergeLimits::default();
        let count = |s: &str| s.len();
        let mut no_summary = |_: merge::SummaryKind, _: &str, _: &[String]| -> std::result::Result<String, Error> {
            panic!("no summary")
        };
        let rebuilt = EntityState {
            name: "John Smith".into(),
            entity_type: "person".into(),
            description: "extracted".into(),
            source_ids: ids(&["c1", "c3"]),
            all_source_ids: ids(&["c1", "c3"]),
            file_paths: vec!["a.md".into()],
            truncate: String::new(),
        };
        let o = Override {
            fields: OverrideFields {
                description: Some("curated".into()),
                entity_type: Some("engineer".into()),
                ..OverrideFields::default()
            },
            covered: ids(&["c1", "c2"]),
        };
        let record = |c: &str, d: &str| NewEntity {
            entity_type: "person".into(),
            description: d.into(),
            source_id: c.into(),
            file_path: "a.md".into(),
            timestamp: 1,
        };
        let only_covered = [record("c1", "old text")];
        let e = entity_with_override(rebuilt.clone(), &o, &only_covered, &limits, &count, &mut no_summary).unwrap();
        assert_eq!(
            (e.description.as_str(), e.entity_type.as_str()),
            ("curated", "engineer")
        );
        let with_later = [record("c1", "old text"), record("c3", "later text")];
        let e = entity_with_override(rebuilt, &o, &with_later, &limits, &count, &mut no_summary).unwrap();
        assert_eq!(e.description, format!("curated{SEP}later text"));
        assert_eq!(e.source_ids, ids(&["c1", "c3"]), "chunk lists are the rebuild's");
    }
}
