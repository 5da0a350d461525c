//! Deleting documents (`lrt doc delete`, `lrt ingest --replace`), after LightRAG's
//! `adelete_by_doc_id` (core reference, section 9.4) but batched: however many documents go,
//! every entity and relation they touched is looked at once.
//!
//! 1. Scope: the documents' chunks and the entities/relations they contributed to
//!    (`doc_entities`, `doc_relations`).
//! 2. Triage, from chunk ids alone: a candidate whose tracked chunks are all deleted is
//!    removed (with any relation left without an endpoint); one with surviving chunks is
//!    rebuilt from them.
//! 3. Rebuild: the surviving chunks' stored extraction answers are parsed exactly as ingest
//!    parses them and merged from scratch with the ingest's merge rules. No extraction call is
//!    made; a summary call happens only where the surviving fragments still exceed the limits
//!    (and is served from the LLM cache when the same fragments were summarised before).
//! 4. Embeddings are recomputed for rows whose embedded text changed.
//! 5. One kb.db transaction applies everything and bumps the generation; the vector indexes
//!    are then updated and saved. A crash before the commit leaves the KB as it was; a crash
//!    after it leaves index files whose generation no longer matches, which are rebuilt.
//!
//! This module is a child of `engine` so it can use the engine's private parts (store,
//! counters, vector buffer, summaries) without widening their visibility.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures_util::future::join_all;
use serde::Serialize;

use super::curate::{entity_with_override, relation_with_override, resolve_aliases};
use super::{Engine, MergeStep, SummaryRequest, memoized_summary, parse_answers};
use crate::error::Result;
use crate::rag::merge::{self, EntityState, MergeLimits, Merged, NewEntity, NewRelation, RelationState};
use crate::store::curate::Curation;
use crate::store::delete::{DeletionScope, DocumentDeletion, StoredExtraction};
use crate::store::kb::{DocStatus, KbStore};

/// How a delete runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteOptions {
    /// Also delete the deleted chunks' extraction answers from the LLM cache (upstream's
    /// `delete_llm_cache`; off by default, as upstream).
    pub drop_llm_cache: bool,
}

/// One deleted (or, in a dry run, to-be-deleted) document.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedDocument {
    pub doc_id: String,
    pub file_path: String,
    pub status: DocStatus,
    pub chunks: u64,
}

/// What a delete did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteReport {
    pub dry_run: bool,
    pub documents_deleted: usize,
    pub chunks_deleted: usize,
    pub entities_removed: usize,
    pub entities_rebuilt: usize,
    pub relations_removed: usize,
    pub relations_rebuilt: usize,
    /// Model calls made (summaries only: extraction answers are read from kb.db).
    pub llm_calls: u64,
    pub cache_hits: u64,
    pub embedding_calls: u64,
    pub llm_cache_dropped: usize,
    /// Cached query answers dropped (all of them: any may quote the deleted text).
    pub answers_dropped: usize,
    pub elapsed_ms: u64,
    pub documents: Vec<DeletedDocument>,
}

/// Which candidates go and which are rebuilt, with the chunk ids that survive for each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triage {
    pub remove_entities: Vec<String>,
    pub rebuild_entities: Vec<(EntityState, Vec<String>)>,
    /// Sorted pairs.
    pub remove_relations: Vec<(String, String)>,
    pub rebuild_relations: Vec<(RelationState, Vec<String>)>,
}

/// The full tracked chunk list minus the deleted chunks, order kept; `None` when the row
/// does not list any deleted chunk (nothing to do for it).
fn surviving(all: &[String], limited: &[String], deleted: &HashSet<String>) -> Option<Vec<String>> {
    let mut seen = HashSet::new();
    let tracked: Vec<&String> = all
        .iter()
        .chain(limited)
        .filter(|id| !id.is_empty() && seen.insert(id.as_str()))
        .collect();
    if !tracked.iter().any(|id| deleted.contains(id.as_str())) {
        return None;
    }
    Some(
        tracked
            .into_iter()
            .filter(|id| !deleted.contains(id.as_str()))
            .cloned()
            .collect(),
    )
}

/// Sorts the scope's candidates into removals and rebuilds, from chunk ids alone. A curated
/// row (edited or created by hand) outlives the documents it was extracted from: it is
/// rebuilt, not removed, unless an endpoint of a relation goes.
pub fn triage(scope: &DeletionScope, curation: &Curation) -> Triage {
    let deleted = &scope.chunk_ids;
    let mut t = Triage::default();
    for e in &scope.entities {
        match surviving(&e.all_source_ids, &e.source_ids, deleted) {
            None => {}
            Some(left) if left.is_empty() && curation.entity(&e.name).is_none() => {
                t.remove_entities.push(e.name.clone())
            }
            Some(left) => t.rebuild_entities.push((e.clone(), left)),
        }
    }
    let removed: HashSet<&str> = t.remove_entities.iter().map(String::as_str).collect();
    for r in &scope.relations {
        let orphaned = removed.contains(r.src.as_str()) || removed.contains(r.tgt.as_str());
        match surviving(&r.all_source_ids, &r.source_ids, deleted) {
            None if !orphaned => {}
            Some(left) if !orphaned && (!left.is_empty() || curation.relation(&r.src, &r.tgt).is_some()) => {
                t.rebuild_relations.push((r.clone(), left))
            }
            _ => t.remove_relations.push((r.src.clone(), r.tgt.clone())),
        }
    }
    t
}

/// A dry run: what deleting `doc_ids` would remove and rebuild, read from kb.db only (no
/// model, no lock, nothing written). Unknown ids are a not-found error.
pub fn plan_deletion(store: &mut KbStore, doc_ids: &[String]) -> Result<DeleteReport> {
    let scope = store.deletion_scope(doc_ids)?;
    let t = triage(&scope, &store.curation()?);
    Ok(DeleteReport {
        dry_run: true,
        documents_deleted: scope.documents.len(),
        chunks_deleted: scope.chunk_ids.len(),
        entities_removed: t.remove_entities.len(),
        entities_rebuilt: t.rebuild_entities.len(),
        relations_removed: t.remove_relations.len(),
        relations_rebuilt: t.rebuild_relations.len(),
        documents: deleted_documents(&scope),
        ..DeleteReport::default()
    })
}

fn deleted_documents(scope: &DeletionScope) -> Vec<DeletedDocument> {
    scope
        .documents
        .iter()
        .map(|d| DeletedDocument {
            doc_id: d.doc_id.clone(),
            file_path: d.file_path.clone(),
            status: d.status,
            chunks: d.chunks_count,
        })
        .collect()
}

/// An entity rebuilt from the records of its surviving chunks. Without any entity record
/// (it only existed as a relation endpoint there), `records` are made from the relations
/// that mention it, like the ingest creates a missing endpoint; with none at all, the stored
/// description and type stay and only the chunk lists shrink.
pub fn rebuild_entity<E>(
    stored: &EntityState,
    surviving: &[String],
    records: &[NewEntity],
    limits: &MergeLimits,
    tokens: &merge::TokenCount<'_>,
    summarize: &mut merge::Summarize<'_, E>,
) -> std::result::Result<EntityState, E> {
    let (source_ids, truncate) = merge::limit_source_ids(surviving, limits.max_source_ids_per_entity, limits.method);
    let base = EntityState {
        source_ids,
        all_source_ids: surviving.to_vec(),
        truncate,
        ..stored.clone()
    };
    if records.is_empty() {
        return Ok(base);
    }
    Ok(
        match merge::merge_entity(&stored.name, None, records, limits, tokens, summarize)? {
            Merged::Upsert(fresh) => EntityState {
                entity_type: fresh.entity_type,
                description: fresh.description,
                file_paths: fresh.file_paths,
                ..base
            },
            Merged::Untouched { .. } => base,
        },
    )
}

/// A relation rebuilt from the records of its surviving chunks: description, keywords and
/// weight (the sum of the surviving records' weights, floored at their evidence count) are
/// recomputed as a fresh merge would; without records, only the chunk lists shrink.
pub fn rebuild_relation<E: From<merge::RelationError>>(
    stored: &RelationState,
    surviving: &[String],
    records: &[NewRelation],
    limits: &MergeLimits,
    tokens: &merge::TokenCount<'_>,
    summarize: &mut merge::Summarize<'_, E>,
) -> std::result::Result<RelationState, E> {
    let (source_ids, truncate) = merge::limit_source_ids(surviving, limits.max_source_ids_per_relation, limits.method);
    let base = RelationState {
        source_ids,
        all_source_ids: surviving.to_vec(),
        truncate,
        ..stored.clone()
    };
    if records.is_empty() {
        return Ok(base);
    }
    Ok(
        match merge::merge_relation(&stored.src, &stored.tgt, None, records, limits, tokens, summarize)? {
            Merged::Upsert(fresh) => RelationState {
                keywords: fresh.keywords,
                description: fresh.description,
                weight: fresh.weight,
                file_paths: fresh.file_paths,
                ..base
            },
            Merged::Untouched { .. } => base,
        },
    )
}

/// The records of the surviving chunks that belong to the rows being rebuilt.
#[derive(Default)]
struct Records {
    entities: HashMap<String, Vec<NewEntity>>,
    /// Per entity being rebuilt: records made from the relations that mention it (type left
    /// empty; the stored type is filled in when they are used).
    endpoints: HashMap<String, Vec<NewEntity>>,
    relations: HashMap<(String, String), Vec<NewRelation>>,
}

impl Records {
    /// Parses every surviving chunk once and keeps, for each row, only the records of the
    /// chunks that row tracks.
    fn collect(answers: &[StoredExtraction], triage: &Triage, curation: &Curation) -> Records {
        let entity_chunks: HashMap<&str, HashSet<&str>> = triage
            .rebuild_entities
            .iter()
            .map(|(e, ids)| (e.name.as_str(), ids.iter().map(String::as_str).collect()))
            .collect();
        let relation_chunks: HashMap<(&str, &str), HashSet<&str>> = triage
            .rebuild_relations
            .iter()
            .map(|(r, ids)| {
                (
                    (r.src.as_str(), r.tgt.as_str()),
                    ids.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        let tracks = |ids: Option<&HashSet<&str>>, chunk: &str| ids.is_some_and(|ids| ids.contains(chunk));
        let mut out = Records::default();
        for x in answers {
            let (mut entities, mut relations) = parse_answers(&x.result, x.glean.as_deref(), &x.chunk_id, &x.file_path);
            resolve_aliases(curation, &mut entities, &mut relations);
            for e in entities {
                if tracks(entity_chunks.get(e.entity_name.as_str()), &x.chunk_id) {
                    out.entities.entry(e.entity_name).or_default().push(NewEntity {
                        entity_type: e.entity_type,
                        description: e.description,
                        source_id: e.source_id,
                        file_path: x.file_path.clone(),
                        timestamp: merge::stamp_seconds(x.extracted_at),
                    });
                }
            }
            for r in relations {
                let (a, b) = if r.src_id <= r.tgt_id {
                    (r.src_id, r.tgt_id)
                } else {
                    (r.tgt_id, r.src_id)
                };
                for end in [&a, &b] {
                    if tracks(entity_chunks.get(end.as_str()), &x.chunk_id) {
                        out.endpoints.entry(end.clone()).or_default().push(NewEntity {
                            entity_type: String::new(),
                            description: r.description.clone(),
                            source_id: r.source_id.clone(),
                            file_path: x.file_path.clone(),
                            timestamp: merge::stamp_seconds(x.extracted_at),
                        });
                    }
                }
                if tracks(relation_chunks.get(&(a.as_str(), b.as_str())), &x.chunk_id) {
                    out.relations.entry((a, b)).or_default().push(NewRelation {
                        keywords: r.keywords,
                        description: r.description,
                        weight: r.weight,
                        source_id: r.source_id,
                        file_path: x.file_path.clone(),
                        timestamp: merge::stamp_seconds(x.extracted_at),
                    });
                }
            }
        }
        out
    }

    /// The records to rebuild entity `stored` from: its own, else those of its relations.
    fn for_entity(&self, stored: &EntityState) -> Vec<NewEntity> {
        if let Some(own) = self.entities.get(&stored.name) {
            return own.clone();
        }
        self.endpoints
            .get(&stored.name)
            .map(|list| {
                list.iter()
                    .map(|r| NewEntity {
                        entity_type: stored.entity_type.clone(),
                        ..r.clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Engine {
    /// Deletes documents and everything only they supported, rebuilding what other
    /// documents still support; see the module documentation. The caller holds the KB's
    /// ingest lock.
    pub async fn delete_documents(&self, doc_ids: &[String], options: DeleteOptions) -> Result<DeleteReport> {
        let started = Instant::now();
        let before = self.progress();
        let embeds_before = self.counters.embedding_calls.load(std::sync::atomic::Ordering::Relaxed);
        let _merging = self.merge_lock.lock().await;
        // Documents merged before the deletion commit (or fail) first.
        self.staging.drain().await;
        let scope = self.store().deletion_scope(doc_ids)?;
        let curation = self.store().curation()?;
        let triage = triage(&scope, &curation);

        let mut seen = HashSet::new();
        let wanted: Vec<String> = triage
            .rebuild_entities
            .iter()
            .map(|(_, ids)| ids)
            .chain(triage.rebuild_relations.iter().map(|(_, ids)| ids))
            .flatten()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        let answers = self.store().stored_extractions(&wanted)?;
        let records = tokio::task::block_in_place(|| Records::collect(&answers, &triage, &curation));
        drop(answers);
        let (entities, relations) = self.rebuild(&triage, &records, &curation).await?;

        // Re-embed only what reads differently now; an unchanged text keeps its vector.
        let mut texts = Vec::new();
        let mut entity_slots = Vec::new();
        for ((old, _), new) in triage.rebuild_entities.iter().zip(&entities) {
            let changed = old.description != new.description;
            entity_slots.push(changed.then_some(texts.len()));
            if changed {
                texts.push(merge::entity_embedding_text(&new.name, &new.description));
            }
        }
        let mut relation_slots = Vec::new();
        for ((old, _), new) in triage.rebuild_relations.iter().zip(&relations) {
            let changed = old.description != new.description || old.keywords != new.keywords;
            relation_slots.push(changed.then_some(texts.len()));
            if changed {
                texts.push(merge::relation_embedding_text(
                    &new.keywords,
                    &new.src,
                    &new.tgt,
                    &new.description,
                ));
            }
        }
        let vectors = self.embed(&texts).await?;
        let pick = |slot: Option<usize>| slot.map(|i| vectors[i].clone());

        let deletion = DocumentDeletion {
            doc_ids: scope.documents.iter().map(|d| d.doc_id.clone()).collect(),
            remove_entities: triage.remove_entities.clone(),
            remove_relations: triage.remove_relations.clone(),
            entities: entities
                .into_iter()
                .zip(entity_slots)
                .map(|(e, s)| (e, pick(s)))
                .collect(),
            relations: relations
                .into_iter()
                .zip(relation_slots)
                .map(|(r, s)| (r, pick(s)))
                .collect(),
            drop_llm_cache: options.drop_llm_cache,
            expected_generation: scope.generation,
        };
        let changes = {
            let mut store = self.store();
            // Summary answers kept back while the store was busy land before the deletion.
            self.llm_cache.write_to(&store)?;
            store.commit_deletion(&deletion)?
        };
        self.apply_vector_changes(&changes.removed, &changes.upserts)?;

        let after = self.progress();
        Ok(DeleteReport {
            dry_run: false,
            documents_deleted: scope.documents.len(),
            chunks_deleted: changes.chunks_deleted,
            entities_removed: changes.entities_removed,
            entities_rebuilt: triage.rebuild_entities.len(),
            relations_removed: changes.relations_removed,
            relations_rebuilt: triage.rebuild_relations.len(),
            llm_calls: after.llm_calls - before.llm_calls,
            cache_hits: after.cache_hits - before.cache_hits,
            embedding_calls: self.counters.embedding_calls.load(std::sync::atomic::Ordering::Relaxed) - embeds_before,
            llm_cache_dropped: changes.llm_cache_dropped,
            answers_dropped: changes.answers_dropped,
            elapsed_ms: started.elapsed().as_millis() as u64,
            documents: deleted_documents(&scope),
        })
    }

    /// Rebuilds every surviving candidate once. Like the ingest merge, each pass answers
    /// summaries from a memo and collects the missing ones, which are then asked for
    /// concurrently; the pass repeats until nothing is missing.
    async fn rebuild(
        &self,
        triage: &Triage,
        records: &Records,
        curation: &Curation,
    ) -> Result<(Vec<EntityState>, Vec<RelationState>)> {
        let mut memo: HashMap<SummaryRequest, String> = HashMap::new();
        loop {
            let mut missing: Vec<SummaryRequest> = Vec::new();
            match tokio::task::block_in_place(|| self.rebuild_pass(triage, records, curation, &memo, &mut missing)) {
                Ok(rebuilt) => return Ok(rebuilt),
                Err(MergeStep::Failed(err)) => return Err(err),
                Err(MergeStep::Pending) => {}
            }
            let mut seen = HashSet::new();
            missing.retain(|request| seen.insert(request.clone()));
            let answers = join_all(
                missing
                    .iter()
                    .map(|(kind, name, list)| self.summarize(*kind, name, list)),
            )
            .await;
            for (request, answer) in missing.into_iter().zip(answers) {
                memo.insert(request, answer?);
            }
        }
    }

    fn rebuild_pass(
        &self,
        triage: &Triage,
        records: &Records,
        curation: &Curation,
        memo: &HashMap<SummaryRequest, String>,
        missing: &mut Vec<SummaryRequest>,
    ) -> std::result::Result<(Vec<EntityState>, Vec<RelationState>), MergeStep> {
        let limits = &self.options.limits;
        let count = |s: &str| self.count_tokens(s);
        let mut summarize =
            |kind: merge::SummaryKind, name: &str, list: &[String]| memoized_summary(memo, missing, kind, name, list);
        let mut pending = false;
        let mut entities = Vec::with_capacity(triage.rebuild_entities.len());
        for (stored, left) in &triage.rebuild_entities {
            let recs = records.for_entity(stored);
            let rebuilt = rebuild_entity(stored, left, &recs, limits, &count, &mut summarize).and_then(|e| {
                match curation.entity(&stored.name) {
                    Some(o) => entity_with_override(e, o, &recs, limits, &count, &mut summarize),
                    None => Ok(e),
                }
            });
            match rebuilt {
                Ok(e) => entities.push(e),
                Err(MergeStep::Pending) => pending = true,
                Err(failed) => return Err(failed),
            }
        }
        let mut relations = Vec::with_capacity(triage.rebuild_relations.len());
        for (stored, left) in &triage.rebuild_relations {
            let recs = records
                .relations
                .get(&(stored.src.clone(), stored.tgt.clone()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let rebuilt = rebuild_relation(stored, left, recs, limits, &count, &mut summarize).and_then(|r| {
                match curation.relation(&stored.src, &stored.tgt) {
                    Some(o) => relation_with_override(r, o, recs, limits, &count, &mut summarize),
                    None => Ok(r),
                }
            });
            match rebuilt {
                Ok(r) => relations.push(r),
                Err(MergeStep::Pending) => pending = true,
                Err(failed) => return Err(failed),
            }
        }
        if pending {
            return Err(MergeStep::Pending);
        }
        Ok((entities, relations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn entity(name: &str, chunks: &[&str]) -> EntityState {
        EntityState {
            name: name.into(),
            entity_type: "person".into(),
            description: "old".into(),
            source_ids: ids(chunks),
            all_source_ids: ids(chunks),
            file_paths: vec!["a.md".into()],
            truncate: String::new(),
        }
    }

    fn relation(a: &str, b: &str, chunks: &[&str]) -> RelationState {
        RelationState {
            src: a.into(),
            tgt: b.into(),
            keywords: "k".into(),
            description: "old".into(),
            weight: chunks.len() as f64,
            source_ids: ids(chunks),
            all_source_ids: ids(chunks),
            file_paths: vec!["a.md".into()],
            truncate: String::new(),
        }
    }

    #[test]
    fn triage_removes_unsupported_rows_and_their_relations_and_rebuilds_the_rest() {
        let scope = DeletionScope {
            chunk_ids: ["d1-c0".to_string(), "d1-c1".to_string()].into_iter().collect(),
            entities: vec![
                entity("Only", &["d1-c0"]),
                entity("Shared", &["d1-c1", "d2-c0"]),
                entity("Elsewhere", &["d2-c0"]),
            ],
            relations: vec![
                relation("Only", "Shared", &["d2-c0"]),
                relation("Elsewhere", "Shared", &["d1-c1", "d2-c0"]),
                relation("Elsewhere", "Other", &["d1-c0"]),
            ],
            ..DeletionScope::default()
        };
        let t = triage(&scope, &Curation::default());
        assert_eq!(t.remove_entities, ids(&["Only"]));
        assert_eq!(t.rebuild_entities.len(), 1);
        assert_eq!(t.rebuild_entities[0].1, ids(&["d2-c0"]));
        // An endpoint went: the relation goes even though chunks survive.
        assert!(t.remove_relations.contains(&("Only".into(), "Shared".into())));
        assert!(t.remove_relations.contains(&("Elsewhere".into(), "Other".into())));
        assert_eq!(t.rebuild_relations.len(), 1);
        assert_eq!(t.rebuild_relations[0].0.src, "Elsewhere");
    }

    #[test]
    fn curated_rows_outlive_their_documents_unless_an_endpoint_goes() {
        use crate::store::curate::Override;
        let scope = DeletionScope {
            chunk_ids: ["d1-c0".to_string()].into_iter().collect(),
            entities: vec![entity("Curated", &["d1-c0"]), entity("Plain", &["d1-c0"])],
            relations: vec![
                relation("Curated", "Kept", &["d1-c0"]),
                relation("Curated", "Plain", &["d1-c0"]),
            ],
            ..DeletionScope::default()
        };
        let mut curation = Curation::default();
        for key in [("Curated", ""), ("Curated", "Kept"), ("Curated", "Plain")] {
            curation
                .overrides
                .insert((key.0.into(), key.1.into()), Override::default());
        }
        let t = triage(&scope, &curation);
        assert_eq!(t.remove_entities, ids(&["Plain"]));
        assert_eq!(t.rebuild_entities.len(), 1);
        assert!(t.rebuild_entities[0].1.is_empty(), "no chunk survives");
        assert_eq!(t.rebuild_relations.len(), 1);
        assert_eq!(t.rebuild_relations[0].0.tgt, "Kept");
        assert_eq!(t.remove_relations, vec![("Curated".to_string(), "Plain".to_string())]);
        // Without the overrides, all of them go.
        let t = triage(&scope, &Curation::default());
        assert_eq!((t.remove_entities.len(), t.remove_relations.len()), (2, 2));
    }

    /// Upstream's rebuild writes the whole surviving list to `entity_chunks` before cutting it
    /// to the limit; records of the cut chunks do not take part, but their ids stay tracked.
    #[test]
    fn a_rebuild_past_the_limit_keeps_the_full_surviving_list() {
        let limits = MergeLimits {
            max_source_ids_per_entity: 2,
            ..MergeLimits::default()
        };
        let count = |s: &str| s.len();
        let mut no_summary = |_: merge::SummaryKind,
                              _: &str,
                              _: &[String]|
         -> std::result::Result<String, crate::Error> { panic!("no summary needed") };
        let surviving = ids(&["c1", "c2", "c3", "c4"]);
        let stored = entity("Big", &["c0", "c1", "c2", "c3", "c4"]);
        let records: Vec<NewEntity> = surviving
            .iter()
            .map(|c| NewEntity {
                entity_type: "person".into(),
                description: format!("seen in {c}"),
                source_id: c.clone(),
                file_path: "a.md".into(),
                timestamp: 1,
            })
            .collect();
        let e = rebuild_entity(&stored, &surviving, &records, &limits, &count, &mut no_summary).unwrap();
        assert_eq!(e.all_source_ids, surviving);
        assert_eq!(e.source_ids, ids(&["c1", "c2"]));
        assert_eq!(e.truncate, "KEEP Old");
        assert_eq!(e.description, "seen in c1<SEP>seen in c2");
    }

    #[test]
    fn a_rebuilt_entity_keeps_only_surviving_fragments_and_a_relation_its_surviving_weight() {
        let limits = MergeLimits::default();
        let count = |s: &str| s.len();
        let mut no_summary = |_: merge::SummaryKind,
                              _: &str,
                              _: &[String]|
         -> std::result::Result<String, crate::Error> { panic!("no summary needed") };
        let stored = EntityState {
            description: "from d1<SEP>from d2".into(),
            ..entity("Shared", &["d1-c0", "d2-c0"])
        };
        let rec = NewEntity {
            entity_type: "place".into(),
            description: "from d2".into(),
            source_id: "d2-c0".into(),
            file_path: "b.md".into(),
            timestamp: 2,
        };
        let e = rebuild_entity(&stored, &ids(&["d2-c0"]), &[rec], &limits, &count, &mut no_summary).unwrap();
        assert_eq!(e.description, "from d2");
        assert_eq!(e.entity_type, "place");
        assert_eq!(
            (e.source_ids.clone(), e.file_paths.clone()),
            (ids(&["d2-c0"]), ids(&["b.md"]))
        );

        let stored = relation("A", "B", &["d1-c0", "d2-c0", "d2-c1"]);
        let recs: Vec<NewRelation> = ["d2-c0", "d2-c1"]
            .iter()
            .map(|c| NewRelation {
                keywords: "works with".into(),
                description: "A works with B".into(),
                weight: 1.0,
                source_id: c.to_string(),
                file_path: "b.md".into(),
                timestamp: 2,
            })
            .collect();
        let r = rebuild_relation(
            &stored,
            &ids(&["d2-c0", "d2-c1"]),
            &recs,
            &limits,
            &count,
            &mut no_summary,
        )
        .unwrap();
        assert_eq!(r.weight, 2.0);
        assert_eq!(r.description, "A works with B");
        assert_eq!(r.keywords, "works with");
        assert_eq!(r.all_source_ids, ids(&["d2-c0", "d2-c1"]));
    }
}
