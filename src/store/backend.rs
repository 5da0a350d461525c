//! The KB-store boundary: [`KbStore`] is what the engine and the service hold, an enum over the
//! SQLite store (a `kb.db` per KB, the default) and the PostgreSQL one (every KB in the shared
//! database). Both have the same methods with the same meaning; the `kb_store_conformance`
//! tests run one set of checks against each. Nothing above `store/` sees SQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::curate::{Curation, EditChanges, GraphEdit};
use super::delete::{DeletionChanges, DeletionScope, DocumentDeletion, StoredExtraction};
use super::doctor::{RefProblem, RefRepair};
use super::inspect::{
    DocumentDetail, EntityFilter, EntityMatch, EntityNeighbourhood, EntitySummary, GraphEdge, GraphNode,
};
use super::kb::{
    CachedAnswer, DocStatus, DocumentCommit, DocumentRow, EmbeddingPin, SqliteKb, StoreStats, VectorChanges, VectorKind,
};
use super::pg::{PgKb, PgKbRef};
use super::query::{ChunkRecord, Edge, EntityRow, RelationRow};
use super::rows::{EntityState, RelationState};
use super::transfer::ImportRows;
use crate::error::Result;

/// Where one KB's data lives: its local folder (the whole KB on SQLite; the derived vector
/// index files on PostgreSQL) and, on PostgreSQL, which database and KB. The catalog makes
/// these ([`crate::catalog::Catalog::kb_location`]); the folder is always built from ids.
#[derive(Debug, Clone)]
pub struct KbLocation {
    pub dir: PathBuf,
    pub backend: KbBackend,
}

/// Which store a [`KbLocation`] names.
#[derive(Debug, Clone)]
pub enum KbBackend {
    Sqlite,
    Postgres(PgKbRef),
}

impl KbLocation {
    /// A KB kept in `dir/kb.db`.
    pub fn sqlite(dir: impl Into<PathBuf>) -> KbLocation {
        KbLocation {
            dir: dir.into(),
            backend: KbBackend::Sqlite,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, KbBackend::Sqlite)
    }
}

/// An open KB store.
pub enum KbStore {
    Sqlite(SqliteKb),
    /// Boxed: a pooled connection slot is large.
    Postgres(Box<PgKb>),
}

/// Calls the same method on whichever store this is.
macro_rules! both {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            KbStore::Sqlite($s) => $call,
            KbStore::Postgres($s) => $call,
        }
    };
}

impl From<SqliteKb> for KbStore {
    fn from(s: SqliteKb) -> KbStore {
        KbStore::Sqlite(s)
    }
}

impl KbStore {
    /// Opens the KB for reading and writing (creating kb.db and applying its migrations on
    /// SQLite).
    pub fn open(at: &KbLocation) -> Result<KbStore> {
        Ok(match &at.backend {
            KbBackend::Sqlite => KbStore::Sqlite(SqliteKb::open(&at.dir)?),
            KbBackend::Postgres(pg) => KbStore::Postgres(Box::new(PgKb::open(pg, &at.dir))),
        })
    }

    /// Opens the KB read-only; `None` when a SQLite KB was never written (nothing is created).
    pub fn open_read_only(at: &KbLocation) -> Result<Option<KbStore>> {
        Ok(match &at.backend {
            KbBackend::Sqlite => SqliteKb::open_read_only(&at.dir)?.map(KbStore::Sqlite),
            KbBackend::Postgres(pg) => Some(KbStore::Postgres(Box::new(PgKb::open(pg, &at.dir)))),
        })
    }

    /// Opens the KB for `lrt doctor`'s checks (see [`SqliteKb::open_for_check`]).
    pub fn open_for_check(at: &KbLocation) -> Result<Option<KbStore>> {
        Ok(match &at.backend {
            KbBackend::Sqlite => SqliteKb::open_for_check(&at.dir)?.map(KbStore::Sqlite),
            KbBackend::Postgres(pg) => Some(KbStore::Postgres(Box::new(PgKb::open(pg, &at.dir)))),
        })
    }

    /// Whether the stored schema is too old to read as it is (a SQLite kb.db only: the
    /// PostgreSQL schema is migrated with the catalog).
    pub fn schema_is_older(at: &KbLocation) -> Result<bool> {
        match &at.backend {
            KbBackend::Sqlite => SqliteKb::schema_is_older(&at.dir),
            KbBackend::Postgres(_) => Ok(false),
        }
    }

    /// Whether this KB lives in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, KbStore::Postgres(_))
    }

    /// The KB's local folder (index files live there on both backends).
    pub fn dir(&self) -> &Path {
        both!(self, s => s.dir())
    }

    /// Runs `f` so that every read inside it sees one committed state.
    pub fn read_snapshot<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        both!(self, s => s.read_snapshot(f))
    }

    /// Tunes a SQLite connection for a query engine's reads; nothing to do on PostgreSQL.
    pub fn map_for_reads(&self) -> Result<()> {
        match self {
            KbStore::Sqlite(s) => s.map_for_reads(),
            KbStore::Postgres(_) => Ok(()),
        }
    }

    /// kb.db's size in pages (SQLite; 0 on PostgreSQL, whose storage the server manages).
    pub fn page_count(&self) -> Result<u64> {
        match self {
            KbStore::Sqlite(s) => s.page_count(),
            KbStore::Postgres(_) => Ok(0),
        }
    }

    /// Compacts kb.db after it doubled (SQLite); PostgreSQL's autovacuum does this itself.
    pub fn compact_after_growth(&self, before: u64) -> Result<bool> {
        match self {
            KbStore::Sqlite(s) => s.compact_after_growth(before),
            KbStore::Postgres(_) => Ok(false),
        }
    }

    pub fn generation(&self) -> Result<u64> {
        both!(self, s => s.generation())
    }

    pub fn embedding_pin(&self) -> Result<Option<EmbeddingPin>> {
        both!(self, s => s.embedding_pin())
    }

    pub fn check_embedding(&mut self, pin: &EmbeddingPin) -> Result<()> {
        both!(self, s => s.check_embedding(pin))
    }

    pub fn set_embedding_pin(&mut self, pin: &EmbeddingPin) -> Result<()> {
        both!(self, s => s.set_embedding_pin(pin))
    }

    pub fn enqueue(&mut self, doc_id: &str, file_path: &str, content: &str, hash: &str) -> Result<Option<DocumentRow>> {
        both!(self, s => s.enqueue(doc_id, file_path, content, hash))
    }

    pub fn document(&self, doc_id: &str) -> Result<Option<DocumentRow>> {
        both!(self, s => s.document(doc_id))
    }

    pub fn set_document_pages(&mut self, doc_id: &str, pages: &[crate::extract::Page]) -> Result<()> {
        both!(self, s => s.set_document_pages(doc_id, pages))
    }

    pub fn document_pages(&self, doc_id: &str) -> Result<Vec<crate::extract::Page>> {
        both!(self, s => s.document_pages(doc_id))
    }

    pub fn document_content(&self, doc_id: &str) -> Result<Option<String>> {
        both!(self, s => s.document_content(doc_id))
    }

    pub fn count_with_status(&self, statuses: &[DocStatus]) -> Result<u64> {
        both!(self, s => s.count_with_status(statuses))
    }

    pub fn documents_with_status(&self, statuses: &[DocStatus]) -> Result<Vec<DocumentRow>> {
        both!(self, s => s.documents_with_status(statuses))
    }

    pub fn set_status(&mut self, doc_id: &str, status: DocStatus, error: Option<&str>) -> Result<()> {
        both!(self, s => s.set_status(doc_id, status, error))
    }

    pub fn requeue_processing(&mut self) -> Result<usize> {
        both!(self, s => s.requeue_processing())
    }

    pub fn set_failed_many(&mut self, failures: &[(String, String)]) -> Result<()> {
        both!(self, s => s.set_failed_many(failures))
    }

    pub fn cache_get(&self, key: &str) -> Result<Option<(String, i64)>> {
        both!(self, s => s.cache_get(key))
    }

    pub fn cache_put(&self, key: &str, answer: &CachedAnswer) -> Result<()> {
        both!(self, s => s.cache_put(key, answer))
    }

    /// Stores model answers (an existing entry for a key is kept): one statement on PostgreSQL.
    pub fn cache_put_many(&self, answers: &[(&str, &CachedAnswer)]) -> Result<()> {
        both!(self, s => s.cache_put_many(answers))
    }

    pub fn cache_put_answer(&self, key: &str, answer: &CachedAnswer, generation: u64) -> Result<()> {
        both!(self, s => s.cache_put_answer(key, answer, generation))
    }

    pub fn entity(&self, name: &str) -> Result<Option<EntityState>> {
        both!(self, s => s.entity(name))
    }

    pub fn relation(&self, a: &str, b: &str) -> Result<Option<RelationState>> {
        both!(self, s => s.relation(a, b))
    }

    /// The current rows of a document's entities, in order (`None` where missing): one
    /// round trip on PostgreSQL instead of one per name.
    pub fn entities_named(&self, names: &[&str]) -> Result<Vec<Option<EntityState>>> {
        both!(self, s => s.entities_named(names))
    }

    /// The relations between each pair (either order), in order (`None` where missing).
    pub fn relations_between(&self, pairs: &[(&str, &str)]) -> Result<Vec<Option<RelationState>>> {
        both!(self, s => s.relations_between(pairs))
    }

    pub fn commit_document(&mut self, commit: &DocumentCommit) -> Result<VectorChanges> {
        both!(self, s => s.commit_document(commit))
    }

    pub fn vectors(&self, kind: VectorKind) -> Result<Vec<(u64, Vec<f32>)>> {
        both!(self, s => s.vectors(kind))
    }

    pub fn embedding_texts(&self, kind: VectorKind) -> Result<Vec<(u64, String)>> {
        both!(self, s => s.embedding_texts(kind))
    }

    pub fn replace_embeddings(&mut self, vectors: &[(VectorKind, u64, Vec<f32>)], pin: &EmbeddingPin) -> Result<()> {
        both!(self, s => s.replace_embeddings(vectors, pin))
    }

    pub fn vector_count(&self, kind: VectorKind) -> Result<usize> {
        both!(self, s => s.vector_count(kind))
    }

    pub fn stats(&self) -> Result<StoreStats> {
        both!(self, s => s.stats())
    }

    /// The bytes the KB takes: its folder on SQLite (kb.db and index files), its rows in the
    /// database on PostgreSQL (the local folder there holds only derived indexes).
    pub fn storage_bytes(&self) -> Result<u64> {
        match self {
            KbStore::Sqlite(s) => Ok(crate::layout::dir_size(s.dir())),
            KbStore::Postgres(s) => s.storage_bytes(),
        }
    }

    // Query-time reads (store/query.rs).

    pub fn entities_by_keys(&self, keys: &[u64]) -> Result<Vec<EntityRow>> {
        both!(self, s => s.entities_by_keys(keys))
    }

    pub fn entities_by_names(&self, names: &[String]) -> Result<Vec<EntityRow>> {
        both!(self, s => s.entities_by_names(names))
    }

    pub fn relations_by_keys(&self, keys: &[u64]) -> Result<Vec<RelationRow>> {
        both!(self, s => s.relations_by_keys(keys))
    }

    pub fn edges_by_name(&self, names: &[String]) -> Result<Vec<Vec<Edge>>> {
        both!(self, s => s.edges_by_name(names))
    }

    pub fn degrees(&self, names: &[String]) -> Result<HashMap<String, usize>> {
        both!(self, s => s.degrees(names))
    }

    pub fn chunks_by_ids(&self, ids: &[String], limit: usize) -> Result<Vec<ChunkRecord>> {
        both!(self, s => s.chunks_by_ids(ids, limit))
    }

    pub fn chunk_vectors_by_ids(&self, ids: &[String]) -> Result<Vec<(String, Vec<f32>)>> {
        both!(self, s => s.chunk_vectors_by_ids(ids))
    }

    pub fn chunks_by_keys(&self, keys: &[u64]) -> Result<Vec<ChunkRecord>> {
        both!(self, s => s.chunks_by_keys(keys))
    }

    // Inspection (store/inspect.rs).

    pub fn list_documents(
        &self,
        status: Option<DocStatus>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DocumentRow>, u64)> {
        both!(self, s => s.list_documents(status, offset, limit))
    }

    pub fn document_detail(&self, doc_id: &str) -> Result<Option<DocumentDetail>> {
        both!(self, s => s.document_detail(doc_id))
    }

    pub fn entity_summaries(&self, filter: &EntityFilter) -> Result<(Vec<EntitySummary>, u64)> {
        both!(self, s => s.entity_summaries(filter))
    }

    pub fn resolve_entity(&self, name: &str) -> Result<EntityMatch> {
        both!(self, s => s.resolve_entity(name))
    }

    pub fn entity_neighbourhood(&self, name: &str) -> Result<Option<EntityNeighbourhood>> {
        both!(self, s => s.entity_neighbourhood(name))
    }

    pub fn graph(&self) -> Result<(Vec<GraphNode>, Vec<GraphEdge>)> {
        both!(self, s => s.graph())
    }

    // Curation (store/curate.rs).

    pub fn relations_of(&self, name: &str) -> Result<Vec<RelationState>> {
        both!(self, s => s.relations_of(name))
    }

    pub fn curation(&self) -> Result<Curation> {
        both!(self, s => s.curation())
    }

    pub fn aliases(&self) -> Result<HashMap<String, String>> {
        both!(self, s => s.aliases())
    }

    pub fn commit_graph_edit(&mut self, edit: &GraphEdit) -> Result<EditChanges> {
        both!(self, s => s.commit_graph_edit(edit))
    }

    // Deletion (store/delete.rs).

    pub fn processed_documents_at(&self, file_path: &str) -> Result<Vec<DocumentRow>> {
        both!(self, s => s.processed_documents_at(file_path))
    }

    pub fn deletion_scope(&mut self, doc_ids: &[String]) -> Result<DeletionScope> {
        both!(self, s => s.deletion_scope(doc_ids))
    }

    pub fn stored_extractions(&self, chunk_ids: &[String]) -> Result<Vec<StoredExtraction>> {
        both!(self, s => s.stored_extractions(chunk_ids))
    }

    pub fn commit_deletion(&mut self, deletion: &DocumentDeletion) -> Result<DeletionChanges> {
        both!(self, s => s.commit_deletion(deletion))
    }

    // Imports and checks (store/transfer.rs, store/doctor.rs).

    pub fn import_rows(&mut self, rows: &ImportRows, pin: &EmbeddingPin) -> Result<()> {
        both!(self, s => s.import_rows(rows, pin))
    }

    pub fn schema_problems(&self) -> Result<Vec<String>> {
        both!(self, s => s.schema_problems())
    }

    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        both!(self, s => s.integrity_problems())
    }

    pub fn reference_problems(&self, dim: Option<usize>) -> Result<Vec<RefProblem>> {
        both!(self, s => s.reference_problems(dim))
    }

    pub fn repair_references(&mut self) -> Result<RefRepair> {
        both!(self, s => s.repair_references())
    }
}
