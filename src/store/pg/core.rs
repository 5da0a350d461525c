//! Documents and their status, the LLM cache, the KB's metadata, a document's commit and the
//! embeddings: the PostgreSQL side of `store/kb.rs`.

use super::rows::{self, DOCUMENT_COLUMNS, ENTITY_COLUMNS, RELATION_COLUMNS};
use super::{PgKb, not_yet};
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::kb::{
    CachedAnswer, DocStatus, DocumentCommit, DocumentRow, EmbeddingPin, StoreStats, VectorChanges, VectorKind,
};
use crate::store::rows::{EntityState, RelationState};

impl PgKb {
    /// Changes on every commit; derived vector indexes record the generation they were built at.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.meta("generation")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The embedding model this KB's vectors were made with, if any.
    pub fn embedding_pin(&self) -> Result<Option<EmbeddingPin>> {
        Ok(self.meta("embedding")?.and_then(|v| serde_json::from_str(&v).ok()))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_opt(
                "SELECT value FROM kb_meta WHERE tenant_id = $1 AND kb_id = $2 AND key = $3",
                &[&tenant, &kb, &key],
            )
            .map(|row| row.map(|r| r.get(0)))
            .map_err(|e| pg_error("cannot read kb metadata", e))
        })
    }

    pub fn check_embedding(&mut self, _pin: &EmbeddingPin) -> Result<()> {
        Err(not_yet("check_embedding"))
    }

    /// Records a (new) embedding model; used on first ingest and by `kb reindex --reembed`.
    pub fn set_embedding_pin(&mut self, pin: &EmbeddingPin) -> Result<()> {
        let value = serde_json::to_string(pin).map_err(|e| Error::Internal(e.to_string()))?;
        let (tenant, kb) = (self.tenant, self.kb);
        self.in_tx(|c| {
            c.execute(
                "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'embedding', $3)
                 ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = excluded.value",
                &[&tenant, &kb, &value],
            )
            .map_err(|e| pg_error("cannot pin the embedding model", e))?;
            Ok(())
        })
    }

    pub fn enqueue(
        &mut self,
        _doc_id: &str,
        _file_path: &str,
        _content: &str,
        _hash: &str,
    ) -> Result<Option<DocumentRow>> {
        Err(not_yet("enqueue"))
    }

    pub fn document(&self, doc_id: &str) -> Result<Option<DocumentRow>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_opt(
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2 AND doc_id = $3"
                ),
                &[&tenant, &kb, &doc_id],
            )
            .map_err(|e| pg_error("cannot read the document", e))?
            .map(|r| rows::document(&r, 0))
            .transpose()
        })
    }

    pub fn set_document_pages(&mut self, _doc_id: &str, _pages: &[crate::extract::Page]) -> Result<()> {
        Err(not_yet("set_document_pages"))
    }

    pub fn document_pages(&self, _doc_id: &str) -> Result<Vec<crate::extract::Page>> {
        Err(not_yet("document_pages"))
    }

    pub fn document_content(&self, _doc_id: &str) -> Result<Option<String>> {
        Err(not_yet("document_content"))
    }

    pub fn count_with_status(&self, _statuses: &[DocStatus]) -> Result<u64> {
        Err(not_yet("count_with_status"))
    }

    pub fn documents_with_status(&self, _statuses: &[DocStatus]) -> Result<Vec<DocumentRow>> {
        Err(not_yet("documents_with_status"))
    }

    pub fn set_status(&mut self, _doc_id: &str, _status: DocStatus, _error: Option<&str>) -> Result<()> {
        Err(not_yet("set_status"))
    }

    pub fn requeue_processing(&mut self) -> Result<usize> {
        Err(not_yet("requeue_processing"))
    }

    pub fn set_failed_many(&mut self, _failures: &[(String, String)]) -> Result<()> {
        Err(not_yet("set_failed_many"))
    }

    pub fn cache_get(&self, _key: &str) -> Result<Option<(String, i64)>> {
        Err(not_yet("cache_get"))
    }

    pub fn cache_put(&self, _key: &str, _answer: &CachedAnswer) -> Result<()> {
        Err(not_yet("cache_put"))
    }

    pub fn cache_put_answer(&self, _key: &str, _answer: &CachedAnswer, _generation: u64) -> Result<()> {
        Err(not_yet("cache_put_answer"))
    }

    pub fn entity(&self, name: &str) -> Result<Option<EntityState>> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_opt(
                &format!("SELECT {ENTITY_COLUMNS} FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2 AND name = $3"),
                &[&tenant, &kb, &name],
            )
            .map(|r| r.map(|r| rows::entity(&r, 0)))
            .map_err(|e| pg_error("cannot read entity", e))
        })
    }

    /// The relation between `a` and `b`, in either order (stored with `src < tgt`).
    pub fn relation(&self, a: &str, b: &str) -> Result<Option<RelationState>> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let (tenant, kb) = (self.tenant, self.kb);
        self.with(|c| {
            c.query_opt(
                &format!(
                    "SELECT {RELATION_COLUMNS} FROM kb_relations WHERE tenant_id = $1 AND kb_id = $2 AND src = $3 AND tgt = $4"
                ),
                &[&tenant, &kb, &a, &b],
            )
            .map(|r| r.map(|r| rows::relation(&r, 0)))
            .map_err(|e| pg_error("cannot read relation", e))
        })
    }

    pub fn commit_document(&mut self, _commit: &DocumentCommit) -> Result<VectorChanges> {
        Err(not_yet("commit_document"))
    }

    pub fn vectors(&self, _kind: VectorKind) -> Result<Vec<(u64, Vec<f32>)>> {
        Err(not_yet("vectors"))
    }

    pub fn embedding_texts(&self, _kind: VectorKind) -> Result<Vec<(u64, String)>> {
        Err(not_yet("embedding_texts"))
    }

    pub fn replace_embeddings(&mut self, _vectors: &[(VectorKind, u64, Vec<f32>)], _pin: &EmbeddingPin) -> Result<()> {
        Err(not_yet("replace_embeddings"))
    }

    pub fn vector_count(&self, _kind: VectorKind) -> Result<usize> {
        Err(not_yet("vector_count"))
    }

    pub fn stats(&self) -> Result<StoreStats> {
        Err(not_yet("stats"))
    }
}
