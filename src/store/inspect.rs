//! Read-only views of `kb.db` for `lrt doc …` and `lrt graph …`: document listings, one
//! document's chunks, entity listings with degrees, one entity's neighbourhood, and the whole
//! graph for export.
//!
//! These queries never write. [`SqliteKb::open_read_only`] opens the database with
//! `SQLITE_OPEN_READ_ONLY`, so inspecting a KB takes no ingest lock, creates no file, and sees
//! a consistent snapshot (WAL) while another process commits documents. Multi-query reads run
//! inside one read transaction for the same reason.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::kb::{DocStatus, DocumentRow, SqliteKb, all_source_count_sql, check_readable, db_err, split_sep};
use crate::error::Result;

/// One chunk of a document, as `doc show` lists it (no text, no vector).
#[derive(Debug, Clone, Serialize)]
pub struct ChunkSummary {
    pub chunk_id: String,
    pub chunk_order: u64,
    pub tokens: u64,
}

/// A document with its chunks and what it contributed to the graph.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentDetail {
    #[serde(flatten)]
    pub document: DocumentRow,
    /// The first 250 characters of the text (with `...` when cut), like upstream's
    /// `content_summary`.
    pub content_summary: String,
    pub chunks: Vec<ChunkSummary>,
    /// Entities and relations this document contributed to (upstream's `full_entities` /
    /// `full_relations`).
    pub entity_count: u64,
    pub relation_count: u64,
}

/// One row of `graph entities`.
#[derive(Debug, Clone, Serialize)]
pub struct EntitySummary {
    pub name: String,
    pub entity_type: String,
    /// Number of relations touching the entity.
    pub degree: u64,
    /// Number of chunks that mention it (the full, untruncated evidence list).
    pub source_chunks: u64,
}

/// Filters for [`SqliteKb::entity_summaries`].
#[derive(Debug, Clone, Default)]
pub struct EntityFilter {
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
    /// Entity type, compared case-insensitively.
    pub entity_type: Option<String>,
    pub limit: usize,
}

/// A graph node with upstream's GraphML attributes (`entity_id` is the name).
#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    pub entity_id: String,
    pub entity_type: String,
    /// `<SEP>`-joined description fragments (or one summary).
    pub description: String,
    /// `<SEP>`-joined chunk ids (limited like upstream's `source_id`).
    pub source_id: String,
    /// `<SEP>`-joined file paths.
    pub file_path: String,
    /// Unix seconds.
    pub created_at: i64,
    pub truncate: String,
}

/// An undirected graph edge with upstream's GraphML attributes (`source < target`).
#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    pub source: String,
    pub target: String,
    pub weight: f64,
    pub description: String,
    /// Comma-joined, sorted keywords.
    pub keywords: String,
    pub source_id: String,
    pub file_path: String,
    /// Unix seconds.
    pub created_at: i64,
    pub truncate: String,
}

/// A document that contributed to an entity.
#[derive(Debug, Clone, Serialize)]
pub struct SourceDocument {
    pub doc_id: String,
    pub file_path: String,
    pub status: DocStatus,
}

/// How [`SqliteKb::resolve_entity`] found a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityMatch {
    Exact(String),
    CaseInsensitive(String),
    /// Several names differ from the query only in case.
    Ambiguous(Vec<String>),
    None,
}

/// An entity with everything `graph show` prints.
#[derive(Debug, Clone)]
pub struct EntityNeighbourhood {
    pub node: GraphNode,
    pub source_chunks: u64,
    /// Edges touching the entity, strongest first.
    pub edges: Vec<GraphEdge>,
    pub documents: Vec<SourceDocument>,
}

const DOCUMENT_COLUMNS: &str =
    "doc_id, file_path, content_hash, content_length, status, error, chunks_count, created_at, updated_at";

const NODE_COLUMNS: &str = "name, entity_type, description, source_ids, file_paths, created_at, truncate";

const EDGE_COLUMNS: &str = "src, tgt, weight, description, keywords, source_ids, file_paths, created_at, truncate";

fn node_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GraphNode> {
    Ok(GraphNode {
        entity_id: r.get(0)?,
        entity_type: r.get(1)?,
        description: r.get(2)?,
        source_id: r.get(3)?,
        file_path: r.get(4)?,
        created_at: r.get(5)?,
        truncate: r.get(6)?,
    })
}

fn edge_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GraphEdge> {
    Ok(GraphEdge {
        source: r.get(0)?,
        target: r.get(1)?,
        weight: r.get(2)?,
        description: r.get(3)?,
        keywords: r.get(4)?,
        source_id: r.get(5)?,
        file_path: r.get(6)?,
        created_at: r.get(7)?,
        truncate: r.get(8)?,
    })
}

/// Upstream's `content_summary`: at most 250 characters, `...` appended when cut.
pub(super) fn summary_of(text: &str) -> String {
    const MAX: usize = 250;
    let trimmed = text.trim();
    match trimmed.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

/// The entities (listed by degree, then name) `filter` keeps, at most `filter.limit` of them,
/// and how many it keeps in all. Case-insensitive matching is done here rather than in SQL on
/// every backend: SQLite's lower() and NOCASE fold ASCII only, PostgreSQL's follow a locale.
pub(super) fn filtered(all: Vec<EntitySummary>, filter: &EntityFilter) -> (Vec<EntitySummary>, u64) {
    let search = filter.search.as_deref().map(str::to_lowercase);
    let wanted_type = filter.entity_type.as_deref().map(str::to_lowercase);
    let mut total = 0u64;
    let mut items = Vec::new();
    for e in all {
        if search
            .as_ref()
            .is_some_and(|s| !e.name.to_lowercase().contains(s.as_str()))
            || wanted_type.as_ref().is_some_and(|t| e.entity_type.to_lowercase() != *t)
        {
            continue;
        }
        total += 1;
        if items.len() < filter.limit {
            items.push(e);
        }
    }
    (items, total)
}

/// How `name`, which is no entity's exact name, matches the stored `names` (in name order)
/// once both are lower-cased (Unicode, in Rust: the same on every backend).
pub(super) fn case_insensitive_match(name: &str, names: Vec<String>) -> EntityMatch {
    let wanted = name.to_lowercase();
    let mut found: Vec<String> = names.into_iter().filter(|n| n.to_lowercase() == wanted).collect();
    match found.len() {
        0 => EntityMatch::None,
        1 => EntityMatch::CaseInsensitive(found.remove(0)),
        _ => EntityMatch::Ambiguous(found),
    }
}

impl SqliteKb {
    /// Opens an existing `kb.db` read-only. `None` when the KB was never ingested (no file,
    /// or a file without tables yet): nothing is created either way.
    pub fn open_read_only(dir: &Path) -> Result<Option<SqliteKb>> {
        let path = dir.join("kb.db");
        if !path.is_file() {
            return Ok(None);
        }
        let err = db_err("cannot open the knowledge base", &path);
        let conn = crate::layout::open_sqlite_read_only(&path).map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(&err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        if !check_readable(&path, version, "cannot read")? {
            return Ok(None);
        }
        Ok(Some(SqliteKb {
            conn,
            dir: dir.to_path_buf(),
        }))
    }

    /// Runs `f` inside one read transaction, so its queries see one committed state.
    fn snapshot<T>(&self, context: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let err = self.err(context);
        let tx = self.conn.unchecked_transaction().map_err(&err)?;
        let value = f(&tx).map_err(&err)?;
        tx.finish().map_err(&err)?;
        Ok(value)
    }

    /// One page of documents (newest first), optionally of one status, and the total count
    /// of matching documents.
    pub fn list_documents(
        &self,
        status: Option<DocStatus>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DocumentRow>, u64)> {
        let status = status.map(DocStatus::as_str);
        self.snapshot("cannot list documents", |conn| {
            let total: i64 = conn.query_row(
                "SELECT count(*) FROM documents WHERE ?1 IS NULL OR status = ?1",
                [status],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE ?1 IS NULL OR status = ?1
                 ORDER BY updated_at DESC, doc_id LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        status,
                        i64::try_from(limit).unwrap_or(i64::MAX),
                        i64::try_from(offset).unwrap_or(i64::MAX)
                    ],
                    SqliteKb::document_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rows, total as u64))
        })
    }

    /// A document with its chunk list and graph contribution counts.
    pub fn document_detail(&self, doc_id: &str) -> Result<Option<DocumentDetail>> {
        self.snapshot("cannot read the document", |conn| {
            let found = conn
                .query_row(
                    &format!("SELECT {DOCUMENT_COLUMNS}, content FROM documents WHERE doc_id = ?1"),
                    [doc_id],
                    |r| Ok((SqliteKb::document_from_row(r)?, r.get::<_, String>(9)?)),
                )
                .optional()?;
            let Some((document, content)) = found else {
                return Ok(None);
            };
            let mut stmt = conn
                .prepare("SELECT chunk_id, chunk_order, tokens FROM chunks WHERE doc_id = ?1 ORDER BY chunk_order")?;
            let chunks = stmt
                .query_map([doc_id], |r| {
                    Ok(ChunkSummary {
                        chunk_id: r.get(0)?,
                        chunk_order: r.get::<_, i64>(1)? as u64,
                        tokens: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let count = |sql: &str| conn.query_row(sql, [doc_id], |r| r.get::<_, i64>(0)).map(|n| n as u64);
            Ok(Some(DocumentDetail {
                content_summary: summary_of(&content),
                entity_count: count("SELECT count(*) FROM doc_entities WHERE doc_id = ?1")?,
                relation_count: count("SELECT count(*) FROM doc_relations WHERE doc_id = ?1")?,
                document,
                chunks,
            }))
        })
    }

    /// Entities by degree (then name), filtered, at most `filter.limit` of them, and how many
    /// matched the filter in all.
    pub fn entity_summaries(&self, filter: &EntityFilter) -> Result<(Vec<EntitySummary>, u64)> {
        let all = self.snapshot("cannot list entities", |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT e.name, e.entity_type,
                        (SELECT count(*) FROM relations r WHERE r.src = e.name)
                          + (SELECT count(*) FROM relations r WHERE r.tgt = e.name) AS degree,
                        {}, e.source_ids
                 FROM entities e ORDER BY degree DESC, e.name",
                all_source_count_sql("e.")
            ))?;
            stmt.query_map([], |r| {
                let full: i64 = r.get(3)?;
                let limited = split_sep(&r.get::<_, String>(4)?).len() as u64;
                Ok(EntitySummary {
                    name: r.get(0)?,
                    entity_type: r.get(1)?,
                    degree: r.get::<_, i64>(2)? as u64,
                    source_chunks: (full as u64).max(limited),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(filtered(all, filter))
    }

    /// Finds an entity by its exact name, else by a case-insensitive match.
    pub fn resolve_entity(&self, name: &str) -> Result<EntityMatch> {
        let err = self.err("cannot read entities");
        let exact: Option<String> = self
            .conn
            .query_row("SELECT name FROM entities WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(&err)?;
        if let Some(exact) = exact {
            return Ok(EntityMatch::Exact(exact));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM entities ORDER BY name")
            .map_err(&err)?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?;
        Ok(case_insensitive_match(name, names))
    }

    /// An entity (named exactly), its edges (strongest first) and the documents that
    /// contributed to it.
    pub fn entity_neighbourhood(&self, name: &str) -> Result<Option<EntityNeighbourhood>> {
        self.snapshot("cannot read the entity", |conn| {
            let found = conn
                .query_row(
                    &format!(
                        "SELECT {NODE_COLUMNS}, {} FROM entities WHERE name = ?1",
                        all_source_count_sql("")
                    ),
                    [name],
                    |r| Ok((node_from_row(r)?, r.get::<_, i64>(7)? as u64)),
                )
                .optional()?;
            let Some((node, full)) = found else { return Ok(None) };
            let mut stmt = conn.prepare(&format!(
                "SELECT {EDGE_COLUMNS} FROM relations WHERE src = ?1 OR tgt = ?1
                 ORDER BY weight DESC, CASE WHEN src = ?1 THEN tgt ELSE src END"
            ))?;
            let edges = stmt
                .query_map([name], edge_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = conn.prepare(
                "SELECT d.doc_id, d.file_path, d.status FROM doc_entities de JOIN documents d ON d.doc_id = de.doc_id
                 WHERE de.name = ?1 ORDER BY d.file_path, d.doc_id",
            )?;
            let documents = stmt
                .query_map([name], |r| {
                    Ok(SourceDocument {
                        doc_id: r.get(0)?,
                        file_path: r.get(1)?,
                        status: DocStatus::parse(&r.get::<_, String>(2)?)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let limited = split_sep(&node.source_id).len() as u64;
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
        self.snapshot("cannot read the graph", |conn| {
            let mut stmt = conn.prepare(&format!("SELECT {NODE_COLUMNS} FROM entities ORDER BY name"))?;
            let nodes = stmt
                .query_map([], node_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = conn.prepare(&format!("SELECT {EDGE_COLUMNS} FROM relations ORDER BY src, tgt"))?;
            let edges = stmt
                .query_map([], edge_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((nodes, edges))
        })
    }
}

/// Splits a stored `<SEP>`-joined field into its parts.
pub fn fragments(joined: &str) -> Vec<String> {
    split_sep(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kb::{ChunkRow, DocumentCommit, SEP};
    use crate::store::rows::{EntityState, RelationState};

    fn entity(name: &str, ty: &str) -> EntityState {
        EntityState {
            name: name.into(),
            entity_type: ty.into(),
            description: format!("{name} one{SEP}{name} two"),
            source_ids: vec!["c1".into()],
            all_source_ids: vec!["c1".into(), "c0".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    fn relation(a: &str, b: &str, weight: f64) -> RelationState {
        RelationState {
            src: a.into(),
            tgt: b.into(),
            keywords: "k".into(),
            description: format!("{a} and {b}"),
            weight,
            source_ids: vec!["c1".into()],
            all_source_ids: vec!["c1".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    fn built(dir: &Path) {
        let mut store = SqliteKb::open(dir).unwrap();
        store
            .enqueue("doc-1", "a.txt", "Alice met Bob and Carol.", "h1")
            .unwrap();
        store.enqueue("doc-2", "b.txt", "pending", "h2").unwrap();
        let commit = DocumentCommit {
            doc_id: "doc-1".into(),
            file_path: "a.txt".into(),
            chunks: vec![ChunkRow {
                chunk_id: "c1".into(),
                order: 0,
                tokens: 6,
                content: "Alice met Bob and Carol.".into(),
                embedding: vec![1.0],
                pages: None,
            }],
            extractions: vec![],
            entities: vec![
                (entity("Alice", "person").into(), Some(vec![1.0])),
                (entity("Bob", "person").into(), Some(vec![1.0])),
                (entity("bob", "animal").into(), Some(vec![1.0])),
                (entity("Carol", "person").into(), Some(vec![1.0])),
            ],
            relations: vec![
                (relation("Alice", "Bob", 1.0).into(), Some(vec![1.0])),
                (relation("Alice", "Carol", 2.0).into(), Some(vec![1.0])),
            ],
            created_at: 7,
        };
        store.commit_document(&commit).unwrap();
    }

    #[test]
    fn a_kb_that_was_never_ingested_reads_as_absent_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SqliteKb::open_read_only(dir.path()).unwrap().is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn older_readable_schemas_open_and_newer_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        built(dir.path());
        let set_version = |v: i64| {
            let conn = rusqlite::Connection::open(dir.path().join("kb.db")).unwrap();
            conn.pragma_update(None, "user_version", v).unwrap();
        };
        // A KB last written before the covering relation indexes still reads, without a write.
        set_version(2);
        let store = SqliteKb::open_read_only(dir.path()).unwrap().unwrap();
        assert_eq!(store.list_documents(None, 0, 10).unwrap().1, 2);
        drop(store);
        // One from before the f16 embeddings must be upgraded first.
        set_version(1);
        let err = SqliteKb::open_read_only(dir.path()).err().unwrap().to_string();
        assert!(err.contains("upgrade it"), "{err}");
        set_version(99);
        let err = SqliteKb::open_read_only(dir.path()).err().unwrap().to_string();
        assert!(err.contains("upgrade lrt"), "{err}");
    }

    #[test]
    fn documents_page_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        built(dir.path());
        let store = SqliteKb::open_read_only(dir.path()).unwrap().unwrap();
        let (all, total) = store.list_documents(None, 0, 10).unwrap();
        assert_eq!((all.len(), total), (2, 2));
        let (page, total) = store.list_documents(None, 1, 1).unwrap();
        assert_eq!((page.len(), total), (1, 2));
        let (pending, total) = store.list_documents(Some(DocStatus::Pending), 0, 10).unwrap();
        assert_eq!((pending[0].doc_id.as_str(), total), ("doc-2", 1));
        let detail = store.document_detail("doc-1").unwrap().unwrap();
        assert_eq!(detail.chunks.len(), 1);
        assert_eq!((detail.entity_count, detail.relation_count), (4, 2));
        assert!(store.document_detail("nope").unwrap().is_none());
    }

    #[test]
    fn entities_sort_by_degree_and_resolve_by_case() {
        let dir = tempfile::tempdir().unwrap();
        built(dir.path());
        let store = SqliteKb::open_read_only(dir.path()).unwrap().unwrap();
        let (list, total) = store
            .entity_summaries(&EntityFilter {
                limit: 2,
                ..EntityFilter::default()
            })
            .unwrap();
        assert_eq!(total, 4);
        assert_eq!(list[0].name, "Alice");
        assert_eq!((list[0].degree, list[0].source_chunks), (2, 2));
        assert_eq!(list[1].name, "Bob");
        let (list, total) = store
            .entity_summaries(&EntityFilter {
                search: Some("BO".into()),
                entity_type: Some("PERSON".into()),
                limit: 50,
            })
            .unwrap();
        assert_eq!((list.len(), total, list[0].name.as_str()), (1, 1, "Bob"));
        assert_eq!(store.resolve_entity("Bob").unwrap(), EntityMatch::Exact("Bob".into()));
        assert_eq!(
            store.resolve_entity("carol").unwrap(),
            EntityMatch::CaseInsensitive("Carol".into())
        );
        assert_eq!(
            store.resolve_entity("BOB").unwrap(),
            EntityMatch::Ambiguous(vec!["Bob".into(), "bob".into()])
        );
        assert_eq!(store.resolve_entity("Dave").unwrap(), EntityMatch::None);
        let n = store.entity_neighbourhood("Alice").unwrap().unwrap();
        assert_eq!(n.edges[0].target, "Carol", "strongest first");
        assert_eq!(n.documents[0].doc_id, "doc-1");
        let (nodes, edges) = store.graph().unwrap();
        assert_eq!((nodes.len(), edges.len()), (4, 2));
    }

    #[test]
    fn content_summary_is_cut_at_250_characters() {
        assert_eq!(summary_of(" short "), "short");
        let long = "é".repeat(300);
        assert_eq!(summary_of(&long).chars().count(), 253);
    }
}
