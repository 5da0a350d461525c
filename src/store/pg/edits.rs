//! Graph curation and document deletion: the PostgreSQL side of `store/curate.rs` and
//! `store/delete.rs`.

use std::collections::HashMap;

use super::{PgKb, not_yet};
use crate::error::Result;
use crate::store::curate::{Curation, EditChanges, GraphEdit};
use crate::store::delete::{DeletionChanges, DeletionScope, DocumentDeletion, StoredExtraction};
use crate::store::kb::DocumentRow;
use crate::store::rows::RelationState;

impl PgKb {
    pub fn relations_of(&self, _name: &str) -> Result<Vec<RelationState>> {
        Err(not_yet("relations_of"))
    }

    pub fn curation(&self) -> Result<Curation> {
        Err(not_yet("curation"))
    }

    pub fn aliases(&self) -> Result<HashMap<String, String>> {
        Err(not_yet("aliases"))
    }

    pub fn commit_graph_edit(&mut self, _edit: &GraphEdit) -> Result<EditChanges> {
        Err(not_yet("commit_graph_edit"))
    }

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
