//! Merging freshly extracted records into the graph, after LightRAG's `merge_nodes_and_edges`
//! (`_merge_nodes_then_upsert`, `_merge_edges_then_upsert`, `_handle_entity_relation_summary`,
//! 1.5.7 semantics; see the core reference, section 4).
//!
//! Everything here is pure: no storage, no I/O, no async. The caller reads the current node or
//! edge, calls [`merge_entity`] / [`merge_relation`] and writes the result, all inside one write
//! transaction. The two things that are not pure are injected: the token counter (the pipeline
//! passes the o200k tokenizer) and the LLM summary, a callback that may be called several times
//! (map-reduce) and whose error aborts the merge.

use std::collections::{BTreeSet, HashSet};

/// Upstream's `GRAPH_FIELD_SEP`: joins description fragments, source ids and file paths in one
/// stored field. It cannot change once data exists.
pub const SEP: &str = "<SEP>";

/// Entity type of nodes created without a typed record (missing endpoints, empty types).
pub const UNKNOWN_TYPE: &str = "UNKNOWN";

/// Source ids that mark hand-made relations; they never count as evidence for the weight floor
/// (upstream's `RELATION_NO_EVIDENCE_SOURCE_IDS`).
const NO_EVIDENCE_SOURCE_IDS: [&str; 2] = ["manual_creation", "UNKNOWN"];

/// Every file-path placeholder starts with this (upstream: `"..." + file_path_more_placeholder`).
const FILE_PATH_PLACEHOLDER: &str = "...truncated";

/// Which end of an over-long source-id (or file-path) list survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceIdsLimit {
    /// Keep the oldest ids (the list head) and ignore new records from cut chunks (1.5 default).
    #[default]
    Keep,
    /// Keep the newest ids (the list tail); every new record is merged (the 1.4 default).
    Fifo,
}

impl SourceIdsLimit {
    /// Upstream's `SOURCE_IDS_LIMIT_METHOD` spelling, as written into the `truncate` flag.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceIdsLimit::Keep => "KEEP",
            SourceIdsLimit::Fifo => "FIFO",
        }
    }

    /// The first `limit` (KEEP) or last `limit` (FIFO) ids: `apply_source_ids_limit`.
    fn apply(self, ids: &[String], limit: usize) -> Vec<String> {
        if ids.len() <= limit {
            return ids.to_vec();
        }
        match self {
            SourceIdsLimit::Keep => ids[..limit].to_vec(),
            SourceIdsLimit::Fifo => ids[ids.len() - limit..].to_vec(),
        }
    }
}

/// The knobs of the merge. [`Default`] is upstream 1.5.7's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeLimits {
    /// `MAX_SOURCE_IDS_PER_ENTITY`: chunk ids kept on a node.
    pub max_source_ids_per_entity: usize,
    /// `MAX_SOURCE_IDS_PER_RELATION`: chunk ids kept on an edge.
    pub max_source_ids_per_relation: usize,
    /// `MAX_FILE_PATHS`: file paths kept on a node or edge (plus one placeholder).
    pub max_file_paths: usize,
    /// `FORCE_LLM_SUMMARY_ON_MERGE`: this many fragments trigger an LLM summary.
    pub force_llm_summary_on_merge: usize,
    /// `SUMMARY_MAX_TOKENS`: this many tokens of fragments trigger an LLM summary.
    pub summary_max_tokens: usize,
    /// `SUMMARY_CONTEXT_SIZE`: above this many tokens, fragments are summarised in groups first.
    pub summary_context_size: usize,
    /// `SOURCE_IDS_LIMIT_METHOD`, also used for the file-path cap.
    pub method: SourceIdsLimit,
}

impl Default for MergeLimits {
    fn default() -> Self {
        MergeLimits {
            max_source_ids_per_entity: 200,
            max_source_ids_per_relation: 200,
            max_file_paths: 75,
            force_llm_summary_on_merge: 8,
            summary_max_tokens: 1200,
            summary_context_size: 12000,
            method: SourceIdsLimit::Keep,
        }
    }
}

/// What a summary is about; the prompt's `description_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SummaryKind {
    Entity,
    Relation,
}

impl SummaryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SummaryKind::Entity => "Entity",
            SummaryKind::Relation => "Relation",
        }
    }
}

/// Counts the tokens of a text (the pipeline passes the o200k tokenizer).
pub type TokenCount<'a> = dyn Fn(&str) -> usize + 'a;

/// Asks the LLM to summarise `fragments` of the entity or relation called `name` (an entity
/// name, or `"(src, tgt)"` for a relation) into one description. Building the prompt (JSON
/// lines cut to `summary_context_size` tokens, `cache_type="summary"`) is the caller's job.
pub type Summarize<'a, E> = dyn FnMut(SummaryKind, &str, &[String]) -> Result<String, E> + 'a;

/// One entity record extracted from one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntity {
    pub entity_type: String,
    pub description: String,
    /// The chunk the record came from.
    pub source_id: String,
    pub file_path: String,
    /// When the extraction finished, in whole seconds (see [`stamp_seconds`]); only orders
    /// descriptions.
    pub timestamp: i64,
}

/// The stored node and edge rows belong to the store's boundary (data flows down); the merge
/// rules produce them.
pub use crate::store::rows::{EntityState, RelationState};

/// One relation record extracted from one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRelation {
    pub keywords: String,
    pub description: String,
    pub weight: f64,
    pub source_id: String,
    pub file_path: String,
    pub timestamp: i64,
}

/// What the caller should store after a merge.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged<T> {
    /// Write the node or edge, its full chunk list and its vector row.
    Upsert(T),
    /// KEEP mode, the limit was already full and every new record came from a cut chunk: the
    /// node or edge and its vector stay as they are. Upstream still records the cut chunks in
    /// the full chunk list (so deleting an old document can later rebuild from them); store
    /// `all_source_ids` there.
    Untouched { all_source_ids: Vec<String> },
}

/// A relation that cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationError {
    /// Both ends are the same entity (the extraction parser already drops these).
    #[error("relation `{0}` links an entity to itself")]
    SelfLoop(String),
    /// Neither the stored edge nor the new records carry a description.
    #[error("relation `{0}`~`{1}` has no description")]
    NoDescription(String, String),
}

impl From<RelationError> for crate::Error {
    fn from(e: RelationError) -> Self {
        crate::Error::Internal(e.to_string())
    }
}

/// Merges the records extracted for entity `name` into its stored node (section 4, phase 1).
pub fn merge_entity<E>(
    name: &str,
    existing: Option<&EntityState>,
    new: &[NewEntity],
    limits: &MergeLimits,
    tokens: &TokenCount<'_>,
    summarize: &mut Summarize<'_, E>,
) -> Result<Merged<EntityState>, E> {
    let stored = existing.map(|e| Stored {
        description: &e.description,
        source_ids: &e.source_ids,
        all_source_ids: &e.all_source_ids,
        file_paths: &e.file_paths,
    });
    let mut merge = match Shared::merge(stored, new, limits.max_source_ids_per_entity, limits) {
        Ok(merge) => merge,
        Err(all_source_ids) => return Ok(Merged::Untouched { all_source_ids }),
    };

    // Majority vote; upstream's `Counter` keeps insertion order and its sort is stable, so ties
    // go to the first type seen: new records first, then the stored type.
    let votes = merge.kept.iter().map(|r| r.entity_type.as_str());
    let entity_type = majority(votes.chain(existing.map(|e| e.entity_type.as_str())).map(clean_type));

    if merge.fragments.is_empty() {
        merge.fragments.push(format!("Entity {name}"));
    }
    let description = summarize_descriptions(SummaryKind::Entity, name, merge.fragments, limits, tokens, summarize)?;

    Ok(Merged::Upsert(EntityState {
        name: name.to_string(),
        entity_type,
        description,
        source_ids: merge.ids.limited,
        all_source_ids: merge.ids.full,
        file_paths: merge.file_paths,
        truncate: merge.truncate,
    }))
}

/// Merges the records extracted for the relation `src`–`tgt` (as first seen; the stored edge
/// is keyed by the sorted pair) into its stored edge (section 4, phase 2). Endpoints are the
/// caller's next step: [`missing_endpoint_entity`] or [`extend_endpoint`].
pub fn merge_relation<E: From<RelationError>>(
    src: &str,
    tgt: &str,
    existing: Option<&RelationState>,
    new: &[NewRelation],
    limits: &MergeLimits,
    tokens: &TokenCount<'_>,
    summarize: &mut Summarize<'_, E>,
) -> Result<Merged<RelationState>, E> {
    if src == tgt {
        return Err(RelationError::SelfLoop(src.to_string()).into());
    }
    let stored = existing.map(|e| Stored {
        description: &e.description,
        source_ids: &e.source_ids,
        all_source_ids: &e.all_source_ids,
        file_paths: &e.file_paths,
    });
    let merge = match Shared::merge(stored, new, limits.max_source_ids_per_relation, limits) {
        Ok(merge) => merge,
        Err(all_source_ids) => return Ok(Merged::Untouched { all_source_ids }),
    };

    // Only records from chunks the edge does not list yet add weight, so reprocessing a chunk
    // does not count it twice; then the weight is floored at the number of real evidence
    // chunks on the edge, so weight ≈ number of contributing chunks.
    let listed: HashSet<&str> = existing
        .iter()
        .flat_map(|e| &e.source_ids)
        .map(String::as_str)
        .collect();
    let added: f64 = merge
        .kept
        .iter()
        .filter(|r| !r.source_id.is_empty() && !listed.contains(r.source_id.as_str()))
        .map(|r| r.weight)
        .sum();
    let evidence: HashSet<&str> = merge
        .ids
        .limited
        .iter()
        .map(String::as_str)
        .filter(|id| !id.is_empty() && !NO_EVIDENCE_SOURCE_IDS.contains(id))
        .collect();
    let weight = (existing.map_or(0.0, |e| e.weight) + added).max(evidence.len() as f64);

    let old_keywords = existing.map_or("", |e| e.keywords.as_str()).split(SEP);
    let keywords = merge_keywords(old_keywords.chain(merge.kept.iter().map(|r| r.keywords.as_str())));

    if merge.fragments.is_empty() {
        return Err(RelationError::NoDescription(src.to_string(), tgt.to_string()).into());
    }
    let label = format!("({src}, {tgt})");
    let description = summarize_descriptions(
        SummaryKind::Relation,
        &label,
        merge.fragments,
        limits,
        tokens,
        summarize,
    )?;

    let (a, b) = if src <= tgt { (src, tgt) } else { (tgt, src) };
    Ok(Merged::Upsert(RelationState {
        src: a.to_string(),
        tgt: b.to_string(),
        keywords,
        description,
        weight,
        source_ids: merge.ids.limited,
        all_source_ids: merge.ids.full,
        file_paths: merge.file_paths,
        truncate: merge.truncate,
    }))
}

/// The node created for a relation endpoint that does not exist yet: type `UNKNOWN`, and the
/// relation's merged description, chunks and file paths (upstream does the same, so the entity
/// is findable by vector search right away).
pub fn missing_endpoint_entity(name: &str, relation: &RelationState) -> EntityState {
    EntityState {
        name: name.to_string(),
        entity_type: UNKNOWN_TYPE.to_string(),
        description: relation.description.clone(),
        source_ids: relation.source_ids.clone(),
        all_source_ids: relation.all_source_ids.clone(),
        file_paths: relation.file_paths.clone(),
        truncate: String::new(),
    }
}

/// An existing endpoint after a relation touched it: only its chunk lists grow, by the
/// relation's (limited) chunk ids, capped by the entity limit. Description, type, paths and
/// the `truncate` flag stay as they are, as upstream. Compare with `existing` to skip a no-op
/// write.
pub fn extend_endpoint(existing: &EntityState, relation_source_ids: &[String], limits: &MergeLimits) -> EntityState {
    let ids = SourceIds::merge(
        stored_full_list(&existing.all_source_ids, &existing.source_ids),
        relation_source_ids.iter().map(String::as_str),
        limits.max_source_ids_per_entity,
        limits.method,
    );
    EntityState {
        source_ids: ids.limited,
        all_source_ids: ids.full,
        ..existing.clone()
    }
}

/// A full chunk list cut to `limit` by `method`, with its `truncate` flag: the stored lists
/// of an entity or relation rebuilt after a document deletion (upstream limits the
/// surviving tracking list the same way).
pub fn limit_source_ids(full: &[String], limit: usize, method: SourceIdsLimit) -> (Vec<String>, String) {
    let ids = SourceIds::merge(Vec::new(), full.iter().map(String::as_str), limit, method);
    let truncate = ids.truncate_flag();
    (ids.limited, truncate)
}

/// The text embedded for an entity's vector row.
pub fn entity_embedding_text(name: &str, description: &str) -> String {
    format!("{name}\n{description}")
}

/// The text embedded for a relation's vector row (`a`, `b` the sorted pair).
pub fn relation_embedding_text(keywords: &str, a: &str, b: &str, description: &str) -> String {
    format!("{keywords}\t{a}\n{b}\n{description}")
}

/// Turns a fragment list into the stored description (section 4.1): kept `SEP`-joined while
/// it is short (fewer than `force_llm_summary_on_merge` fragments and under
/// `summary_max_tokens`), otherwise summarised by the LLM. Lists over `summary_context_size`
/// tokens are first summarised in groups (map-reduce), repeatedly, until they fit.
pub fn summarize_descriptions<E>(
    kind: SummaryKind,
    name: &str,
    fragments: Vec<String>,
    limits: &MergeLimits,
    tokens: &TokenCount<'_>,
    summarize: &mut Summarize<'_, E>,
) -> Result<String, E> {
    let mut list = fragments;
    if list.len() <= 1 {
        return Ok(list.pop().unwrap_or_default());
    }
    loop {
        let counts: Vec<usize> = list.iter().map(|d| tokens(d)).collect();
        let total: usize = counts.iter().sum();
        if total <= limits.summary_context_size || list.len() <= 2 {
            if list.len() < limits.force_llm_summary_on_merge && total < limits.summary_max_tokens {
                return Ok(list.join(SEP));
            }
            return summarize(kind, name, &list);
        }

        // Map: greedy groups of at most `summary_context_size` tokens. A group never closes
        // with a single item (an oversized one takes the next along), so every round shrinks
        // the list.
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut group: Vec<String> = Vec::new();
        let mut group_tokens = 0;
        for (desc, n) in list.into_iter().zip(counts) {
            if group_tokens + n > limits.summary_context_size && !group.is_empty() {
                if group.len() == 1 {
                    group.push(desc);
                    groups.push(std::mem::take(&mut group));
                    group_tokens = 0;
                } else {
                    groups.push(std::mem::replace(&mut group, vec![desc]));
                    group_tokens = n;
                }
            } else {
                group.push(desc);
                group_tokens += n;
            }
        }
        if !group.is_empty() {
            groups.push(group);
        }

        // Reduce: one LLM call per group of two or more; single items pass through.
        list = groups
            .into_iter()
            .map(|mut g| {
                if g.len() == 1 {
                    Ok(g.remove(0))
                } else {
                    summarize(kind, name, &g)
                }
            })
            .collect::<Result<_, E>>()?;
    }
}

/// The fields entity and relation records share.
trait Extracted {
    fn source_id(&self) -> &str;
    fn description(&self) -> &str;
    fn file_path(&self) -> &str;
    fn timestamp(&self) -> i64;
}

impl Extracted for NewEntity {
    fn source_id(&self) -> &str {
        &self.source_id
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn file_path(&self) -> &str {
        &self.file_path
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
}

impl Extracted for NewRelation {
    fn source_id(&self) -> &str {
        &self.source_id
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn file_path(&self) -> &str {
        &self.file_path
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
}

/// The stored fields entity and relation merges share.
struct Stored<'s> {
    description: &'s str,
    source_ids: &'s [String],
    all_source_ids: &'s [String],
    file_paths: &'s [String],
}

/// The part of a merge that entities and relations share.
struct Shared<'r, R> {
    ids: SourceIds,
    /// The new records that take part (KEEP drops those from cut chunks).
    kept: Vec<&'r R>,
    /// Stored fragments then new descriptions, before any summary.
    fragments: Vec<String>,
    file_paths: Vec<String>,
    truncate: String,
}

impl<'r, R: Extracted> Shared<'r, R> {
    /// Chunk lists, surviving records, description fragments, file paths and the `truncate`
    /// flag; `Err(full chunk list)` when the node or edge must be left untouched.
    fn merge(
        stored: Option<Stored<'_>>,
        new: &'r [R],
        limit: usize,
        limits: &MergeLimits,
    ) -> Result<Self, Vec<String>> {
        let existing_full = stored
            .as_ref()
            .map(|s| stored_full_list(s.all_source_ids, s.source_ids));
        let ids = SourceIds::merge(
            existing_full.unwrap_or_default(),
            new.iter().map(R::source_id),
            limit,
            limits.method,
        );
        let Some(kept) = ids.surviving(new) else {
            return Err(ids.full);
        };
        let fragments = combine_descriptions(
            stored.as_ref().map_or("", |s| s.description),
            sorted_new_descriptions(&kept),
        );
        let stored_paths = stored.as_ref().map_or(&[][..], |s| s.file_paths);
        let file_paths = merge_file_paths(stored_paths, kept.iter().map(|r| r.file_path()), limits);
        Ok(Shared {
            truncate: ids.truncate_flag(),
            ids,
            kept,
            fragments,
            file_paths,
        })
    }
}

/// The full and limited chunk lists of one merge.
struct SourceIds {
    /// Stored full list before this merge.
    existing: Vec<String>,
    /// Stored full list plus the new chunk ids, order-preserving, deduplicated.
    full: Vec<String>,
    /// `full` cut to the limit.
    limited: Vec<String>,
    limit: usize,
    method: SourceIdsLimit,
}

impl SourceIds {
    /// `merge_source_ids` then `apply_source_ids_limit`.
    fn merge<'a>(
        existing: Vec<String>,
        new: impl IntoIterator<Item = &'a str>,
        limit: usize,
        method: SourceIdsLimit,
    ) -> Self {
        let full = dedup(existing.iter().cloned().chain(new.into_iter().map(str::to_string)));
        let limited = method.apply(&full, limit);
        SourceIds {
            existing,
            full,
            limited,
            limit,
            method,
        }
    }

    /// The new records to merge, or `None` when the node or edge must be left untouched.
    /// Under KEEP, a record is dropped when its chunk was cut now (neither kept nor already
    /// tracked); if none survives and the stored list already filled the limit, nothing
    /// changes. FIFO merges every record.
    fn surviving<'r, R: Extracted>(&self, records: &'r [R]) -> Option<Vec<&'r R>> {
        if self.method == SourceIdsLimit::Fifo {
            return Some(records.iter().collect());
        }
        let allowed: HashSet<&str> = self.limited.iter().chain(&self.existing).map(String::as_str).collect();
        let kept: Vec<&R> = records
            .iter()
            .filter(|r| r.source_id().is_empty() || allowed.contains(r.source_id()))
            .collect();
        (!kept.is_empty() || self.existing.len() < self.limit).then_some(kept)
    }

    /// The stored `truncate` property: `"KEEP Old"`, `"FIFO kept/total"`, or empty.
    fn truncate_flag(&self) -> String {
        if self.limited.len() >= self.full.len() {
            return String::new();
        }
        match self.method {
            SourceIdsLimit::Keep => "KEEP Old".to_string(),
            SourceIdsLimit::Fifo => format!("FIFO {}/{}", self.limited.len(), self.full.len()),
        }
    }
}

/// The stored full chunk list, falling back to the node's or edge's own (limited) list when
/// the full one was never tracked, as upstream falls back to `source_id.split(SEP)`.
fn stored_full_list(full: &[String], limited: &[String]) -> Vec<String> {
    let source = if full.iter().any(|id| !id.is_empty()) {
        full
    } else {
        limited
    };
    source.iter().filter(|id| !id.is_empty()).cloned().collect()
}

/// Order-preserving deduplication, dropping empty strings.
fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

/// A stored or extracted type as one vote: the first non-empty comma token, else `UNKNOWN`.
fn clean_type(raw: &str) -> &str {
    raw.split(',')
        .map(str::trim)
        .find(|t| !t.is_empty())
        .unwrap_or(UNKNOWN_TYPE)
}

/// The most frequent value; ties go to the one seen first.
fn majority<'a>(votes: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for vote in votes {
        match counts.iter_mut().find(|(v, _)| *v == vote) {
            Some((_, n)) => *n += 1,
            None => counts.push((vote, 1)),
        }
    }
    let mut best: Option<(&str, usize)> = None;
    for (vote, n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((vote, n));
        }
    }
    best.map_or(UNKNOWN_TYPE, |(v, _)| v).to_string()
}

/// An extraction time as the merge orders by it: whole seconds, as upstream stamps its records
/// (`int(time.time())`), so the fragments of one document tie and sort longest first. Stamps
/// of KBs written before lrt stored seconds are in milliseconds (any value from 10^11 on,
/// which as seconds would be after the year 5000) and are converted.
pub fn stamp_seconds(stamp: i64) -> i64 {
    const MS_FROM: i64 = 100_000_000_000;
    if stamp >= MS_FROM { stamp / 1000 } else { stamp }
}

/// New descriptions, deduplicated by exact text (first record wins) and ordered by
/// `(timestamp asc, length desc)` (length in code points, as Python's `len`). The sort is
/// stable, so equal keys keep the records' order (chunk order), as upstream's `sorted`: the
/// result never depends on timing once the stamps are equal.
fn sorted_new_descriptions<'r, R: Extracted>(records: &[&'r R]) -> Vec<&'r str> {
    let mut seen = HashSet::new();
    let mut unique: Vec<&R> = records
        .iter()
        .copied()
        .filter(|r| !r.description().is_empty() && seen.insert(r.description()))
        .collect();
    unique.sort_by_key(|r| (r.timestamp(), std::cmp::Reverse(r.description().chars().count())));
    unique.into_iter().map(|r| r.description()).collect()
}

/// Stored fragments, then new descriptions not already present. Fragments are compared (and
/// kept) sanitised, so reprocessing a document does not accumulate duplicates.
fn combine_descriptions(stored: &str, new: Vec<&str>) -> Vec<String> {
    let mut seen = HashSet::new();
    stored
        .split(SEP)
        .chain(new)
        .map(sanitize)
        .filter(|d| !d.is_empty() && seen.insert(d.clone()))
        .collect()
}

/// Upstream's `sanitize_text_for_encoding` minus what Rust strings cannot hold (surrogates):
/// trim, drop control characters other than tab and newlines, and the non-characters
/// U+FFFE/U+FFFF. HTML unescaping is left to the extraction parser.
fn sanitize(text: &str) -> String {
    let is_bad = |c: char| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
            || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    text.trim()
        .chars()
        .filter(|c| !is_bad(*c))
        .collect::<String>()
        .trim()
        .to_string()
}

/// Stored paths (placeholders skipped), then new ones, deduplicated and capped at
/// `max_file_paths`: KEEP keeps the head, FIFO the tail, and a placeholder marks the cut.
fn merge_file_paths<'a>(stored: &[String], new: impl Iterator<Item = &'a str>, limits: &MergeLimits) -> Vec<String> {
    let stored = stored.iter().filter(|p| !p.starts_with(FILE_PATH_PLACEHOLDER)).cloned();
    let mut paths = dedup(stored.chain(new.map(str::to_string)));
    let max = limits.max_file_paths;
    if paths.len() > max {
        let placeholder = match limits.method {
            SourceIdsLimit::Keep => {
                paths.truncate(max);
                "KEEP Old"
            }
            SourceIdsLimit::Fifo => {
                paths.drain(..paths.len() - max);
                "FIFO"
            }
        };
        paths.push(format!("{FILE_PATH_PLACEHOLDER}...({placeholder})"));
    }
    paths
}

/// Keywords from `SEP`- or comma-separated strings: the sorted union of trimmed tokens, joined
/// with `","` (Python's `sorted` is code-point order, as `str`'s `Ord`).
pub fn merge_keywords<'a>(sources: impl Iterator<Item = &'a str>) -> String {
    let set: BTreeSet<&str> = sources
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    /// A summariser that records its calls and answers with `reply(call_index)`.
    struct Llm {
        calls: Vec<(SummaryKind, String, Vec<String>)>,
        reply: fn(usize) -> String,
    }

    impl Llm {
        fn new() -> Self {
            Llm {
                calls: Vec::new(),
                reply: |i| format!("summary {i}"),
            }
        }

        fn call(&mut self, kind: SummaryKind, name: &str, list: &[String]) -> Result<String, Error> {
            self.calls.push((kind, name.to_string(), list.to_vec()));
            Ok((self.reply)(self.calls.len()))
        }
    }

    fn ent(ty: &str, desc: &str, chunk: &str, file: &str, ts: i64) -> NewEntity {
        NewEntity {
            entity_type: ty.into(),
            description: desc.into(),
            source_id: chunk.into(),
            file_path: file.into(),
            timestamp: ts,
        }
    }

    fn rel(keywords: &str, desc: &str, chunk: &str, file: &str) -> NewRelation {
        NewRelation {
            keywords: keywords.into(),
            description: desc.into(),
            weight: 1.0,
            source_id: chunk.into(),
            file_path: file.into(),
            timestamp: 0,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn merge_e(
        existing: Option<&EntityState>,
        new: &[NewEntity],
        limits: &MergeLimits,
        llm: &mut Llm,
    ) -> Merged<EntityState> {
        merge_entity("Acme", existing, new, limits, &words, &mut |k, n, l| llm.call(k, n, l)).unwrap()
    }

    fn entity(existing: Option<&EntityState>, new: &[NewEntity], limits: &MergeLimits) -> EntityState {
        match merge_e(existing, new, limits, &mut Llm::new()) {
            Merged::Upsert(state) => state,
            other => panic!("expected an upsert, got {other:?}"),
        }
    }

    fn relation(existing: Option<&RelationState>, new: &[NewRelation], limits: &MergeLimits) -> RelationState {
        let mut llm = Llm::new();
        match merge_relation("Bob", "Acme", existing, new, limits, &words, &mut |k, n, l| {
            llm.call(k, n, l)
        }) {
            Ok(Merged::Upsert(state)) => state,
            other => panic!("expected an upsert, got {other:?}"),
        }
    }

    fn limits_with(f: impl FnOnce(&mut MergeLimits)) -> MergeLimits {
        let mut limits = MergeLimits::default();
        f(&mut limits);
        limits
    }

    #[test]
    fn defaults_are_upstream_1_5_7() {
        let l = MergeLimits::default();
        assert_eq!(
            (
                l.max_source_ids_per_entity,
                l.max_source_ids_per_relation,
                l.max_file_paths
            ),
            (200, 200, 75)
        );
        assert_eq!(
            (
                l.force_llm_summary_on_merge,
                l.summary_max_tokens,
                l.summary_context_size
            ),
            (8, 1200, 12000)
        );
        assert_eq!(l.method, SourceIdsLimit::Keep);
    }

    #[test]
    fn new_entity_dedups_source_ids_in_order() {
        let e = entity(
            None,
            &[
                ent("person", "a", "c2", "f.txt", 0),
                ent("person", "b", "c1", "f.txt", 0),
                ent("person", "c", "c2", "f.txt", 0),
            ],
            &MergeLimits::default(),
        );
        assert_eq!(e.source_ids, strings(&["c2", "c1"]));
        assert_eq!(e.all_source_ids, e.source_ids);
        assert_eq!(e.file_paths, strings(&["f.txt"]));
        assert_eq!(e.truncate, "");
    }

    #[test]
    fn keep_limit_keeps_the_head_and_drops_records_from_cut_chunks() {
        let limits = limits_with(|l| l.max_source_ids_per_entity = 2);
        let old = entity(None, &[ent("person", "A", "c1", "a.txt", 0)], &limits);
        let e = entity(
            Some(&old),
            &[ent("person", "B", "c2", "b.txt", 1), ent("org", "C", "c3", "c.txt", 2)],
            &limits,
        );
        assert_eq!(e.source_ids, strings(&["c1", "c2"]));
        assert_eq!(e.all_source_ids, strings(&["c1", "c2", "c3"]));
        assert_eq!(e.description, "A<SEP>B");
        assert_eq!(e.file_paths, strings(&["a.txt", "b.txt"]));
        assert_eq!(e.entity_type, "person");
        assert_eq!(e.truncate, "KEEP Old");
    }

    #[test]
    fn keep_limit_already_full_leaves_the_node_untouched_but_tracks_the_chunk() {
        let limits = limits_with(|l| l.max_source_ids_per_entity = 2);
        let old = entity(
            None,
            &[
                ent("person", "A", "c1", "a.txt", 0),
                ent("person", "B", "c2", "a.txt", 0),
            ],
            &limits,
        );
        let merged = merge_e(
            Some(&old),
            &[ent("org", "C", "c3", "c.txt", 1)],
            &limits,
            &mut Llm::new(),
        );
        assert_eq!(
            merged,
            Merged::Untouched {
                all_source_ids: strings(&["c1", "c2", "c3"])
            }
        );
    }

    #[test]
    fn keep_limit_merges_records_from_an_already_tracked_chunk() {
        // c3 was cut earlier but is in the full list: upstream only discards chunks cut now.
        let limits = limits_with(|l| l.max_source_ids_per_entity = 2);
        let mut old = entity(
            None,
            &[
                ent("person", "A", "c1", "a.txt", 0),
                ent("person", "B", "c2", "a.txt", 0),
            ],
            &limits,
        );
        old.all_source_ids.push("c3".into());
        let e = entity(Some(&old), &[ent("person", "C", "c3", "a.txt", 1)], &limits);
        assert_eq!(e.source_ids, strings(&["c1", "c2"]));
        assert_eq!(e.description, "A<SEP>B<SEP>C");
    }

    #[test]
    fn fifo_keeps_the_tail_and_merges_every_record() {
        let limits = limits_with(|l| {
            l.max_source_ids_per_entity = 2;
            l.method = SourceIdsLimit::Fifo;
        });
        let old = entity(
            None,
            &[
                ent("person", "A", "c1", "a.txt", 0),
                ent("person", "B", "c2", "a.txt", 0),
            ],
            &limits,
        );
        let e = entity(Some(&old), &[ent("person", "C", "c3", "c.txt", 1)], &limits);
        assert_eq!(e.source_ids, strings(&["c2", "c3"]));
        assert_eq!(e.all_source_ids, strings(&["c1", "c2", "c3"]));
        assert_eq!(e.description, "A<SEP>B<SEP>C");
        assert_eq!(e.truncate, "FIFO 2/3");
    }

    #[test]
    fn full_list_falls_back_to_the_node_source_ids() {
        let limits = MergeLimits::default();
        let mut old = entity(None, &[ent("person", "A", "c1", "a.txt", 0)], &limits);
        old.all_source_ids.clear();
        let e = entity(Some(&old), &[ent("person", "B", "c2", "a.txt", 0)], &limits);
        assert_eq!(e.all_source_ids, strings(&["c1", "c2"]));
    }

    #[test]
    fn entity_type_is_the_majority_with_ties_to_new_records_first() {
        let limits = MergeLimits::default();
        let recs = [
            ent("org", "a", "c1", "f", 0),
            ent("person", "b", "c2", "f", 0),
            ent("person", "c", "c3", "f", 0),
        ];
        assert_eq!(entity(None, &recs, &limits).entity_type, "person");

        let old = entity(None, &[ent("person", "a", "c1", "f", 0)], &limits);
        // 1–1 between a new record and the stored type: new records are counted first.
        assert_eq!(
            entity(Some(&old), &[ent("org", "b", "c2", "f", 0)], &limits).entity_type,
            "org"
        );
        // 2–2: `org` was seen first.
        let recs = [
            ent("org", "b", "c2", "f", 0),
            ent("person", "c", "c3", "f", 0),
            ent("org", "d", "c4", "f", 0),
        ];
        assert_eq!(entity(Some(&old), &recs, &limits).entity_type, "org");
        // The stored vote can decide: person 2, org 1.
        assert_eq!(entity(Some(&old), &recs[..2], &limits).entity_type, "person");
    }

    #[test]
    fn stored_type_with_commas_or_nothing_is_cleaned() {
        let limits = MergeLimits::default();
        let mut old = entity(None, &[ent("person", "a", "c1", "f", 0)], &limits);
        old.entity_type = " , company, org".into();
        assert_eq!(entity(Some(&old), &[], &limits).entity_type, "company");
        old.entity_type = " ".into();
        assert_eq!(entity(Some(&old), &[], &limits).entity_type, UNKNOWN_TYPE);
    }

    #[test]
    fn descriptions_follow_stored_fragments_ordered_by_time_then_length() {
        let limits = MergeLimits::default();
        let mut old = entity(None, &[ent("person", "old one", "c0", "f", 0)], &limits);
        old.description = "old one<SEP> B <SEP>old one".into();
        let e = entity(
            Some(&old),
            &[
                ent("person", "late", "c1", "f", 9),
                ent("person", "short", "c2", "f", 5),
                ent("person", "much longer", "c3", "f", 5),
                ent("person", "late", "c4", "f", 1), // same text: the first record (ts 9) wins
                ent("person", "B", "c5", "f", 0),    // already stored
                ent("person", "", "c6", "f", 0),
            ],
            &limits,
        );
        assert_eq!(e.description, "old one<SEP>B<SEP>much longer<SEP>short<SEP>late");
    }

    #[test]
    fn an_entity_without_descriptions_gets_the_fallback() {
        let e = entity(None, &[ent("person", "", "c1", "f", 0)], &MergeLimits::default());
        assert_eq!(e.description, "Entity Acme");
    }

    #[test]
    fn descriptions_stay_joined_below_eight_fragments_and_are_summarised_at_eight() {
        let limits = MergeLimits::default();
        let recs: Vec<NewEntity> = (0..8)
            .map(|i| ent("person", &format!("fact {i}"), "c1", "f", i))
            .collect();
        let mut llm = Llm::new();
        let Merged::Upsert(e) = merge_e(None, &recs[..7], &limits, &mut llm) else {
            panic!()
        };
        assert!(llm.calls.is_empty());
        assert_eq!(e.description.split(SEP).count(), 7);

        let Merged::Upsert(e) = merge_e(None, &recs, &limits, &mut llm) else {
            panic!()
        };
        assert_eq!(e.description, "summary 1");
        assert_eq!(llm.calls.len(), 1);
        let (kind, name, list) = &llm.calls[0];
        assert_eq!((*kind, name.as_str(), list.len()), (SummaryKind::Entity, "Acme", 8));
    }

    #[test]
    fn descriptions_reaching_the_token_limit_are_summarised() {
        let limits = limits_with(|l| l.summary_max_tokens = 10);
        let mut llm = Llm::new();
        let recs = [
            ent("p", "one two three four five", "c1", "f", 0),
            ent("p", "six seven eight nine", "c1", "f", 1),
        ];
        let Merged::Upsert(e) = merge_e(None, &recs, &limits, &mut llm) else {
            panic!()
        };
        assert_eq!(e.description, "one two three four five<SEP>six seven eight nine");
        let recs = [
            ent("p", "one two three four five", "c1", "f", 0),
            ent("p", "six seven eight nine ten", "c1", "f", 1),
        ];
        let Merged::Upsert(e) = merge_e(None, &recs, &limits, &mut llm) else {
            panic!()
        };
        assert_eq!((e.description.as_str(), llm.calls.len()), ("summary 1", 1));
    }

    #[test]
    fn a_single_fragment_is_never_summarised() {
        let limits = limits_with(|l| l.summary_max_tokens = 1);
        let mut llm = Llm::new();
        let Merged::Upsert(e) = merge_e(None, &[ent("p", "a b c", "c1", "f", 0)], &limits, &mut llm) else {
            panic!()
        };
        assert_eq!((e.description.as_str(), llm.calls.len()), ("a b c", 0));
    }

    #[test]
    fn map_reduce_summarises_groups_then_the_results() {
        let limits = limits_with(|l| {
            l.summary_context_size = 10;
            l.summary_max_tokens = 8;
        });
        let fragments: Vec<String> = (0..6).map(|i| format!("w{i} x y z")).collect();
        let mut llm = Llm::new();
        llm.reply = |i| format!("s{i} t u");
        let out = summarize_descriptions(
            SummaryKind::Entity,
            "Acme",
            fragments.clone(),
            &limits,
            &words,
            &mut |k, n, l| llm.call(k, n, l),
        )
        .unwrap();
        // 6 × 4 tokens > 10: groups of two (8 tokens each), then the three 3-token summaries
        // (9 ≥ summary_max_tokens) in one final call.
        let lists: Vec<Vec<String>> = llm.calls.iter().map(|c| c.2.clone()).collect();
        assert_eq!(
            lists,
            vec![
                fragments[0..2].to_vec(),
                fragments[2..4].to_vec(),
                fragments[4..6].to_vec(),
                strings(&["s1 t u", "s2 t u", "s3 t u"]),
            ]
        );
        assert_eq!(out, "s4 t u");

        // Short group summaries that fit every threshold are joined, without a final call.
        let mut llm = Llm::new();
        llm.reply = |i| format!("s{i}");
        let out = summarize_descriptions(
            SummaryKind::Entity,
            "Acme",
            fragments,
            &limits,
            &words,
            &mut |k, n, l| llm.call(k, n, l),
        )
        .unwrap();
        assert_eq!((out.as_str(), llm.calls.len()), ("s1<SEP>s2<SEP>s3", 3));
    }

    #[test]
    fn map_reduce_pairs_an_oversized_fragment_with_the_next() {
        let limits = limits_with(|l| {
            l.summary_context_size = 10;
            l.summary_max_tokens = 100;
        });
        let big = "a ".repeat(12);
        let fragments = vec![big.clone(), "b".to_string(), "c".to_string()];
        let mut llm = Llm::new();
        let out = summarize_descriptions(
            SummaryKind::Relation,
            "(A, B)",
            fragments,
            &limits,
            &words,
            &mut |k, n, l| llm.call(k, n, l),
        )
        .unwrap();
        assert_eq!(llm.calls[0].2, vec![big, "b".to_string()]);
        assert_eq!((out.as_str(), llm.calls.len()), ("summary 1<SEP>c", 1));
    }

    #[test]
    fn summary_errors_abort_the_merge() {
        let recs: Vec<NewEntity> = (0..8).map(|i| ent("p", &format!("fact {i}"), "c1", "f", 0)).collect();
        let mut fail = |_: SummaryKind, _: &str, _: &[String]| -> Result<String, Error> {
            Err(Error::Upstream("llm down".into()))
        };
        let err = merge_entity("Acme", None, &recs, &MergeLimits::default(), &words, &mut fail).unwrap_err();
        assert!(matches!(err, Error::Upstream(_)));
    }

    #[test]
    fn file_paths_are_capped_with_a_placeholder_skipped_on_reread() {
        let keep = limits_with(|l| l.max_file_paths = 2);
        let recs = [
            ent("p", "a", "c1", "a", 0),
            ent("p", "b", "c2", "b", 0),
            ent("p", "c", "c3", "c", 0),
        ];
        let e = entity(None, &recs, &keep);
        assert_eq!(e.file_paths, strings(&["a", "b", "...truncated...(KEEP Old)"]));
        let again = entity(Some(&e), &[ent("p", "d", "c4", "d", 0)], &keep);
        assert_eq!(again.file_paths, e.file_paths);

        let fifo = limits_with(|l| {
            l.max_file_paths = 2;
            l.method = SourceIdsLimit::Fifo;
        });
        let e = entity(None, &recs, &fifo);
        assert_eq!(e.file_paths, strings(&["b", "c", "...truncated...(FIFO)"]));
        let again = entity(Some(&e), &[ent("p", "d", "c4", "d", 0)], &fifo);
        assert_eq!(again.file_paths, strings(&["c", "d", "...truncated...(FIFO)"]));
    }

    #[test]
    fn merging_the_same_entity_records_twice_changes_nothing() {
        let limits = MergeLimits::default();
        let recs = [
            ent("org", "makes things", "c1", "a.txt", 1),
            ent("person", "a founder", "c2", "b.txt", 0),
        ];
        let once = entity(None, &recs, &limits);
        assert_eq!(entity(Some(&once), &recs, &limits), once);
    }

    #[test]
    fn relation_weight_counts_new_chunks_once() {
        let limits = MergeLimits::default();
        let r = relation(
            None,
            &[rel("k", "works at", "c1", "f"), rel("k", "employed by", "c2", "f")],
            &limits,
        );
        assert_eq!(r.weight, 2.0);
        // Reprocessing c2 adds nothing; the new chunk c3 adds its weight.
        let r = relation(
            Some(&r),
            &[rel("k", "employed by", "c2", "f"), rel("k", "hired", "c3", "f")],
            &limits,
        );
        assert_eq!(r.weight, 3.0);
        assert_eq!(r.source_ids, strings(&["c1", "c2", "c3"]));
    }

    #[test]
    fn relation_weight_is_floored_at_real_evidence() {
        let limits = MergeLimits::default();
        let mut r = relation(None, &[rel("k", "d", "c1", "f"), rel("k", "d", "c2", "f")], &limits);
        r.weight = 0.5;
        assert_eq!(relation(Some(&r), &[rel("k", "d", "c1", "f")], &limits).weight, 2.0);

        // Hand-made relations keep their weight: their source ids are not evidence.
        let manual = [rel("k", "d", "manual_creation", "f"), rel("k", "d", "UNKNOWN", "f")];
        let mut r = relation(None, &manual, &limits);
        r.weight = 0.5;
        assert_eq!(relation(Some(&r), &manual, &limits).weight, 0.5);
        // A boosted weight survives the floor.
        r.weight = 9.0;
        assert_eq!(relation(Some(&r), &manual, &limits).weight, 9.0);
    }

    #[test]
    fn relation_keywords_are_the_sorted_union() {
        let limits = MergeLimits::default();
        let mut r = relation(None, &[rel("work, Employment ,", "d", "c1", "f")], &limits);
        assert_eq!(r.keywords, "Employment,work");
        r.keywords = "work<SEP>career".into();
        let r = relation(Some(&r), &[rel("zeal,  career,ambition", "d", "c2", "f")], &limits);
        assert_eq!(r.keywords, "ambition,career,work,zeal");
    }

    #[test]
    fn relation_key_is_sorted_and_the_summary_names_the_pair_as_seen() {
        let limits = limits_with(|l| l.force_llm_summary_on_merge = 2);
        let mut llm = Llm::new();
        let recs = [rel("k", "one", "c1", "f"), rel("k", "two", "c2", "f")];
        let Ok(Merged::Upsert(r)) =
            merge_relation::<Error>("Bob", "Acme", None, &recs, &limits, &words, &mut |k, n, l| {
                llm.call(k, n, l)
            })
        else {
            panic!()
        };
        assert_eq!((r.src.as_str(), r.tgt.as_str()), ("Acme", "Bob"));
        assert_eq!(llm.calls[0].0, SummaryKind::Relation);
        assert_eq!(llm.calls[0].1, "(Bob, Acme)");
    }

    #[test]
    fn relation_without_description_or_with_itself_is_an_error() {
        let limits = MergeLimits::default();
        let mut llm = Llm::new();
        let mut call = |k: SummaryKind, n: &str, l: &[String]| llm.call(k, n, l);
        let err = merge_relation::<Error>("A", "B", None, &[rel("k", "", "c1", "f")], &limits, &words, &mut call);
        assert!(matches!(err, Err(Error::Internal(m)) if m.contains("no description")));
        let err = merge_relation::<Error>("A", "A", None, &[rel("k", "d", "c1", "f")], &limits, &words, &mut call);
        assert!(matches!(err, Err(Error::Internal(m)) if m.contains("itself")));
    }

    #[test]
    fn relation_keep_limit_already_full_is_untouched() {
        let limits = limits_with(|l| l.max_source_ids_per_relation = 1);
        let r = relation(None, &[rel("k", "d", "c1", "f")], &limits);
        let mut llm = Llm::new();
        let merged = merge_relation::<Error>(
            "Bob",
            "Acme",
            Some(&r),
            &[rel("k", "e", "c2", "f")],
            &limits,
            &words,
            &mut |k, n, l| llm.call(k, n, l),
        );
        assert_eq!(
            merged.unwrap(),
            Merged::Untouched {
                all_source_ids: strings(&["c1", "c2"])
            }
        );
    }

    #[test]
    fn merging_the_same_relation_records_twice_changes_nothing() {
        let limits = MergeLimits::default();
        let recs = [rel("a,b", "works at", "c1", "x"), rel("c", "employed by", "c2", "y")];
        let once = relation(None, &recs, &limits);
        assert_eq!(relation(Some(&once), &recs, &limits), once);
    }

    #[test]
    fn missing_endpoints_copy_the_relation() {
        let r = relation(None, &[rel("k", "works at", "c1", "f")], &MergeLimits::default());
        let e = missing_endpoint_entity("Bob", &r);
        assert_eq!((e.name.as_str(), e.entity_type.as_str()), ("Bob", "UNKNOWN"));
        assert_eq!(e.description, "works at");
        assert_eq!(
            (e.source_ids.clone(), e.all_source_ids.clone(), e.file_paths.clone()),
            (strings(&["c1"]), strings(&["c1"]), strings(&["f"]))
        );
        assert_eq!(e.truncate, "");
    }

    #[test]
    fn existing_endpoints_only_gain_source_ids() {
        let limits = limits_with(|l| l.max_source_ids_per_entity = 2);
        let old = entity(None, &[ent("person", "A", "c1", "a.txt", 0)], &limits);
        let e = extend_endpoint(&old, &strings(&["c1", "c2", "c3"]), &limits);
        assert_eq!(e.source_ids, strings(&["c1", "c2"]));
        assert_eq!(e.all_source_ids, strings(&["c1", "c2", "c3"]));
        assert_eq!(
            EntityState {
                source_ids: old.source_ids.clone(),
                all_source_ids: old.all_source_ids.clone(),
                ..e.clone()
            },
            old
        );
        assert_eq!(extend_endpoint(&e, &strings(&["c2"]), &limits), e);
    }

    #[test]
    fn embedding_texts_match_upstream() {
        assert_eq!(entity_embedding_text("Acme", "a company"), "Acme\na company");
        assert_eq!(
            relation_embedding_text("k1,k2", "Acme", "Bob", "d"),
            "k1,k2\tAcme\nBob\nd"
        );
    }
}
