//! Document deletion: the PostgreSQL side of `store/delete.rs`.

use super::{PgKb, not_yet};
use crate::error::Result;
use crate::store::delete::{DeletionChanges, DeletionScope, DocumentDeletion, StoredExtraction};
use crate::store::kb::DocumentRow;

impl PgKb {
    pub fn processed_documents_at(&self, _file_path: &str) -> Result<Vec<DocumentRow>> {
        Err(not_yet("processed_documents_at"))
    }

    pub fn deletion_scope(&mut self, _doc_ids: &[String]) -> Result<DeletionScope> {
        Err(not_yet("deletion_scope"))
    }

    pub fn stored_extractions(&self, _chunk_ids: &[String]) -> Result<Vec<StoredExtraction>> {
        Err(not_yet("stored_extractions"))
    }

    pub fn commit_deletion(&mut self, _deletion: &DocumentDeletion) -> Result<DeletionChanges> {
        Err(not_yet("commit_deletion"))
    }
}
