//! Rows as the PostgreSQL KB tables hold them, decoded into the store's row types: the
//! counterparts of `store/kb.rs`'s `entity_from_row`, `relation_from_row` and
//! `document_from_row`, shared by every PostgreSQL store module. Each `*_COLUMNS` list is what
//! its decoder reads, in order, from column `at` on.

use postgres::Row;

use crate::error::{Error, Result};
use crate::store::inspect::{GraphEdge, GraphNode};
use crate::store::kb::{DocStatus, DocumentRow, parse_all_source_ids, split_sep};
use crate::store::query::{ChunkRecord, EntityRow, RelationRow};
use crate::store::rows::{EntityState, RelationState};

pub(super) const ENTITY_COLUMNS: &str =
    "name, entity_type, description, source_ids, all_source_ids, file_paths, truncate";

pub(super) const RELATION_COLUMNS: &str =
    "src, tgt, keywords, description, weight, source_ids, all_source_ids, file_paths, truncate";

pub(super) const DOCUMENT_COLUMNS: &str =
    "doc_id, file_path, content_hash, content_length, status, error, chunks_count, created_at, updated_at";

/// An entity from [`ENTITY_COLUMNS`] starting at column `at`.
pub(super) fn entity(r: &Row, at: usize) -> EntityState {
    let source_ids = split_sep(r.get(at + 3));
    EntityState {
        name: r.get(at),
        entity_type: r.get(at + 1),
        description: r.get(at + 2),
        all_source_ids: parse_all_source_ids(r.get(at + 4), &source_ids),
        source_ids,
        file_paths: split_sep(r.get(at + 5)),
        truncate: r.get(at + 6),
    }
}

/// A relation from [`RELATION_COLUMNS`] starting at column `at`.
pub(super) fn relation(r: &Row, at: usize) -> RelationState {
    let source_ids = split_sep(r.get(at + 5));
    RelationState {
        src: r.get(at),
        tgt: r.get(at + 1),
        keywords: r.get(at + 2),
        description: r.get(at + 3),
        weight: r.get(at + 4),
        all_source_ids: parse_all_source_ids(r.get(at + 6), &source_ids),
        source_ids,
        file_paths: split_sep(r.get(at + 7)),
        truncate: r.get(at + 8),
    }
}

/// A document from [`DOCUMENT_COLUMNS`] starting at column `at`.
pub(super) fn document(r: &Row, at: usize) -> Result<DocumentRow> {
    let status: &str = r.get(at + 4);
    Ok(DocumentRow {
        doc_id: r.get(at),
        file_path: r.get(at + 1),
        content_hash: r.get(at + 2),
        content_length: r.get::<_, i64>(at + 3).max(0) as u64,
        status: DocStatus::parse(status)
            .map_err(|_| Error::Internal(format!("the database holds an unknown document status {status:?}")))?,
        error: r.get(at + 5),
        chunks_count: r.get::<_, i64>(at + 6).max(0) as u64,
        created_at: r.get(at + 7),
        updated_at: r.get(at + 8),
    })
}

/// What a query reads of an entity ([`EntityRow`]): `store/query.rs`'s column list.
pub(super) const ENTITY_ROW_COLUMNS: &str =
    "name, entity_type, description, source_ids, file_paths, created_at, entity_key";

/// What a query reads of a relation ([`RelationRow`]).
pub(super) const RELATION_ROW_COLUMNS: &str =
    "src, tgt, keywords, description, weight, source_ids, file_paths, created_at, relation_key";

/// What a query reads of a chunk ([`ChunkRecord`]).
pub(super) const CHUNK_COLUMNS: &str = "chunk_id, content, file_path, page_first, page_last";

/// A graph node as `graph show`/export reads it ([`GraphNode`]).
pub(super) const NODE_COLUMNS: &str = "name, entity_type, description, source_ids, file_paths, created_at, truncate";

/// A graph edge as `graph show`/export reads it ([`GraphEdge`]).
pub(super) const EDGE_COLUMNS: &str =
    "src, tgt, weight, description, keywords, source_ids, file_paths, created_at, truncate";

/// An entity from [`ENTITY_ROW_COLUMNS`] starting at column `at`.
pub(super) fn entity_row(r: &Row, at: usize) -> EntityRow {
    EntityRow {
        name: r.get(at),
        entity_type: r.get(at + 1),
        description: r.get(at + 2),
        source_ids: split_sep(r.get(at + 3)),
        file_paths: split_sep(r.get(at + 4)),
        created_at: r.get(at + 5),
        key: r.get::<_, i64>(at + 6) as u64,
    }
}

/// A relation from [`RELATION_ROW_COLUMNS`] starting at column `at`.
pub(super) fn relation_row(r: &Row, at: usize) -> RelationRow {
    RelationRow {
        src: r.get(at),
        tgt: r.get(at + 1),
        keywords: r.get(at + 2),
        description: r.get(at + 3),
        weight: r.get(at + 4),
        source_ids: split_sep(r.get(at + 5)),
        file_paths: split_sep(r.get(at + 6)),
        created_at: r.get(at + 7),
        key: r.get::<_, i64>(at + 8) as u64,
    }
}

/// A chunk from [`CHUNK_COLUMNS`] starting at column `at`.
pub(super) fn chunk(r: &Row, at: usize) -> ChunkRecord {
    let page = |i: usize| r.get::<_, Option<i64>>(at + i).and_then(|p| u32::try_from(p).ok());
    ChunkRecord {
        chunk_id: r.get(at),
        content: r.get(at + 1),
        file_path: r.get(at + 2),
        pages: page(3).zip(page(4)),
    }
}

/// A graph node from [`NODE_COLUMNS`] starting at column `at`.
pub(super) fn node(r: &Row, at: usize) -> GraphNode {
    GraphNode {
        entity_id: r.get(at),
        entity_type: r.get(at + 1),
        description: r.get(at + 2),
        source_id: r.get(at + 3),
        file_path: r.get(at + 4),
        created_at: r.get(at + 5),
        truncate: r.get(at + 6),
    }
}

/// A graph edge from [`EDGE_COLUMNS`] starting at column `at`.
pub(super) fn edge(r: &Row, at: usize) -> GraphEdge {
    GraphEdge {
        source: r.get(at),
        target: r.get(at + 1),
        weight: r.get(at + 2),
        description: r.get(at + 3),
        keywords: r.get(at + 4),
        source_id: r.get(at + 5),
        file_path: r.get(at + 6),
        created_at: r.get(at + 7),
        truncate: r.get(at + 8),
    }
}

/// `columns` (a comma-separated list) each prefixed with `alias.`.
pub(super) fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
