//! Inspecting a KB's documents and graph (`lrt doc …`, `lrt graph …`). Everything here needs
//! `document:read` and only reads: `kb.db` is opened read-only, no engine, model provider or
//! ingest lock is involved, so inspection works while another process ingests, and a KB that
//! was never ingested reads as empty without any file being created.

use clap::ValueEnum;
use serde::Serialize;

use super::{KbHandle, Page, Paging, Service};
use crate::authz::{Actor, Permission};
use crate::error::{Error, Result};
use crate::store::inspect::{
    DocumentDetail, EntityFilter, EntityMatch, EntitySummary, GraphEdge, GraphNode, SourceDocument, fragments,
};
use crate::store::kb::{DocStatus, DocumentRow, KbStore};

/// The most entities one read of [`Service::list_entities`] returns (the graph's label list,
/// MCP's `search_entities`).
pub(super) const MAX_ENTITY_LIMIT: usize = 100_000;

/// `graph entities`: the entities shown and how many matched the filter in all.
#[derive(Debug, Clone, Serialize)]
pub struct EntityList {
    pub items: Vec<EntitySummary>,
    pub total: u64,
}

/// How `graph show` found the entity it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    Exact,
    CaseInsensitive,
}

/// One neighbour of an entity, with the relation between them.
#[derive(Debug, Clone, Serialize)]
pub struct Neighbour {
    pub name: String,
    pub keywords: Vec<String>,
    pub description: Vec<String>,
    pub weight: f64,
    pub source_ids: Vec<String>,
    pub file_paths: Vec<String>,
}

/// `graph show`: an entity, its neighbours and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct EntityView {
    pub name: String,
    pub matched: NameMatch,
    pub entity_type: String,
    /// The description fragments (LightRAG joins them with `<SEP>`), or one summary.
    pub description: Vec<String>,
    pub degree: u64,
    pub source_chunks: u64,
    pub source_ids: Vec<String>,
    pub file_paths: Vec<String>,
    pub created_at: String,
    pub truncate: String,
    /// Strongest relation first.
    pub neighbours: Vec<Neighbour>,
    pub documents: Vec<SourceDocument>,
}

/// The whole graph of a KB, for `graph export`.
#[derive(Debug, Clone, Serialize)]
pub struct GraphExport {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// GraphML with upstream's graph_chunk_entity_relation.graphml attributes
    Graphml,
    /// {"nodes": […], "edges": […]}
    Json,
}

impl ExportFormat {
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Graphml => "graphml",
            ExportFormat::Json => "json",
        }
    }

    /// The format named `name` (as `--format` spells it), for callers other than clap.
    pub fn parse(name: &str) -> Result<ExportFormat> {
        <Self as ValueEnum>::from_str(name, false).map_err(|_| {
            let names: Vec<&str> = Self::value_variants().iter().map(|f| f.name()).collect();
            Error::Usage(format!("unknown format {name:?}; formats are {}", names.join(", ")))
        })
    }

    /// The HTTP media type of an export.
    pub fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Graphml => "application/graphml+xml",
            ExportFormat::Json => "application/json",
        }
    }
}

impl GraphExport {
    /// Writes the export in `format`: the bytes `lrt graph export` prints and the server
    /// sends are one and the same.
    pub fn write<W: std::io::Write>(&self, w: &mut W, format: ExportFormat) -> std::io::Result<()> {
        match format {
            ExportFormat::Graphml => crate::store::graphml::write(w, &self.nodes, &self.edges)?,
            ExportFormat::Json => {
                serde_json::to_writer_pretty(&mut *w, self)?;
                writeln!(w)?;
            }
        }
        w.flush()
    }
}

/// Unix seconds as lrt prints timestamps.
fn unix_time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(crate::time::format)
        .unwrap_or_else(|_| secs.to_string())
}

pub(super) fn keywords(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// The "no such entity" error, pointing at the command that lists them.
pub(super) fn entity_not_found(name: &str, handle: &KbHandle) -> Error {
    Error::NotFound(format!(
        "entity '{name}' not found in knowledge base '{}' (see `lrt graph entities --search`)",
        handle.kb_name
    ))
}

/// The entity `name` names: exactly, else ignoring case; several case-insensitive matches
/// are a usage error listing them.
pub(super) fn resolve_entity(store: &KbStore, name: &str, handle: &KbHandle) -> Result<(String, NameMatch)> {
    match store.resolve_entity(name)? {
        EntityMatch::Exact(n) => Ok((n, NameMatch::Exact)),
        EntityMatch::CaseInsensitive(n) => Ok((n, NameMatch::CaseInsensitive)),
        EntityMatch::Ambiguous(names) => {
            let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
            Err(Error::Usage(format!(
                "entity '{name}' matches several entities when case is ignored: {}; give the exact name",
                list.join(", ")
            )))
        }
        EntityMatch::None => Err(entity_not_found(name, handle)),
    }
}

impl Service {
    /// Checks `document:read` on the KB and opens its `kb.db` read-only (`None`: never
    /// ingested).
    pub(super) fn read_kb(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        action: &str,
    ) -> Result<(KbHandle, Option<KbStore>)> {
        let (t, k) = self.kb_for(actor, tenant, kb, Permission::DocumentRead, action)?;
        let dir = self.catalog.layout().existing_kb_dir(t.id, k.id)?;
        let store = KbStore::open_read_only(&self.catalog.kb_location(t.id, k.id, dir))?;
        let handle = KbHandle::of(&t, &k);
        Ok((handle, store))
    }

    /// One page of a KB's documents, most recently updated first.
    pub fn list_documents(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        status: Option<DocStatus>,
        paging: Paging,
    ) -> Result<Page<DocumentRow>> {
        let (_, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let (items, total) = match store {
            Some(store) => store.list_documents(status, paging.offset(), paging.page_size())?,
            None => (Vec::new(), 0),
        };
        Ok(paging.wrap(items, total))
    }

    /// One document with its chunks; an unknown id is `NotFound`.
    pub fn show_document(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        doc_id: &str,
    ) -> Result<DocumentDetail> {
        let (handle, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let found = match store {
            Some(store) => store.document_detail(doc_id)?,
            None => None,
        };
        found.ok_or_else(|| {
            Error::NotFound(format!(
                "document '{doc_id}' not found in knowledge base '{}' (see `lrt doc list`)",
                handle.kb_name
            ))
        })
    }

    /// Entities by degree, filtered by a case-insensitive name substring and a type.
    pub fn list_entities(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        filter: &EntityFilter,
    ) -> Result<EntityList> {
        if filter.limit == 0 || filter.limit > MAX_ENTITY_LIMIT {
            return Err(Error::Usage(format!(
                "--limit must be between 1 and {MAX_ENTITY_LIMIT}"
            )));
        }
        let (_, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let (items, total) = match store {
            Some(store) => store.entity_summaries(filter)?,
            None => (Vec::new(), 0),
        };
        Ok(EntityList { items, total })
    }

    /// One page of entities by degree (`graph entities`), filtered like [`Service::list_entities`].
    pub fn entities_page(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        search: Option<String>,
        entity_type: Option<String>,
        paging: Paging,
    ) -> Result<Page<EntitySummary>> {
        let filter = EntityFilter {
            search,
            entity_type,
            limit: usize::try_from(paging.end()).unwrap_or(usize::MAX),
        };
        let (_, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let (mut items, total) = match store {
            Some(store) => store.entity_summaries(&filter)?,
            None => (Vec::new(), 0),
        };
        let skip = usize::try_from(paging.offset()).unwrap_or(usize::MAX).min(items.len());
        items.drain(..skip);
        Ok(paging.wrap(items, total))
    }

    /// One entity, named exactly or else case-insensitively; several case-insensitive matches
    /// are a usage error listing them.
    pub fn show_entity(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        name: &str,
    ) -> Result<EntityView> {
        let (handle, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let not_found = || entity_not_found(name, &handle);
        let Some(store) = store else { return Err(not_found()) };
        let (exact, matched) = resolve_entity(&store, name, &handle)?;
        // Another process may have changed the graph between the two reads.
        let n = store.entity_neighbourhood(&exact)?.ok_or_else(not_found)?;
        let neighbours = n
            .edges
            .into_iter()
            .map(|e| Neighbour {
                name: if e.source == exact { e.target } else { e.source },
                keywords: keywords(&e.keywords),
                description: fragments(&e.description),
                weight: e.weight,
                source_ids: fragments(&e.source_id),
                file_paths: fragments(&e.file_path),
            })
            .collect::<Vec<_>>();
        Ok(EntityView {
            name: exact,
            matched,
            entity_type: n.node.entity_type,
            description: fragments(&n.node.description),
            degree: neighbours.len() as u64,
            source_chunks: n.source_chunks,
            source_ids: fragments(&n.node.source_id),
            file_paths: fragments(&n.node.file_path),
            created_at: unix_time(n.node.created_at),
            truncate: n.node.truncate,
            neighbours,
            documents: n.documents,
        })
    }

    /// Every node and edge of the KB's graph, from one consistent snapshot.
    pub fn export_graph(&mut self, actor: &Actor, tenant: Option<&str>, kb: Option<&str>) -> Result<GraphExport> {
        let (_, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let (nodes, edges) = match store {
            Some(store) => store.graph()?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(GraphExport { nodes, edges })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_split_on_commas_and_times_format() {
        assert_eq!(keywords("a, b,,c"), vec!["a", "b", "c"]);
        assert_eq!(unix_time(0), "1970-01-01T00:00:00.000Z");
    }
}
