//! Query-time reads and the `doc`/`graph` inspection reads: the PostgreSQL side of
//! `store/query.rs` and `store/inspect.rs`.

use std::collections::HashMap;

use super::{PgKb, not_yet};
use crate::error::Result;
use crate::store::inspect::{
    DocumentDetail, EntityFilter, EntityMatch, EntityNeighbourhood, EntitySummary, GraphEdge, GraphNode,
};
use crate::store::kb::{DocStatus, DocumentRow};
use crate::store::query::{ChunkRecord, Edge, EntityRow, RelationRow};

impl PgKb {
    pub fn entities_by_keys(&self, _keys: &[u64]) -> Result<Vec<EntityRow>> {
        Err(not_yet("entities_by_keys"))
    }

    pub fn entities_by_names(&self, _names: &[String]) -> Result<Vec<EntityRow>> {
        Err(not_yet("entities_by_names"))
    }

    pub fn relations_by_keys(&self, _keys: &[u64]) -> Result<Vec<RelationRow>> {
        Err(not_yet("relations_by_keys"))
    }

    pub fn edges_of(&self, _names: &[String]) -> Result<Vec<Edge>> {
        Err(not_yet("edges_of"))
    }

    pub fn degrees(&self, _names: &[String]) -> Result<HashMap<String, usize>> {
        Err(not_yet("degrees"))
    }

    pub fn chunks_by_ids(&self, _ids: &[String], _limit: usize) -> Result<Vec<ChunkRecord>> {
        Err(not_yet("chunks_by_ids"))
    }

    pub fn chunk_vectors_by_ids(&self, _ids: &[String]) -> Result<Vec<(String, Vec<f32>)>> {
        Err(not_yet("chunk_vectors_by_ids"))
    }

    pub fn chunks_by_keys(&self, _keys: &[u64]) -> Result<Vec<ChunkRecord>> {
        Err(not_yet("chunks_by_keys"))
    }

    pub fn list_documents(
        &self,
        _status: Option<DocStatus>,
        _offset: u64,
        _limit: u64,
    ) -> Result<(Vec<DocumentRow>, u64)> {
        Err(not_yet("list_documents"))
    }

    pub fn document_detail(&self, _doc_id: &str) -> Result<Option<DocumentDetail>> {
        Err(not_yet("document_detail"))
    }

    pub fn entity_summaries(&self, _filter: &EntityFilter) -> Result<(Vec<EntitySummary>, u64)> {
        Err(not_yet("entity_summaries"))
    }

    pub fn resolve_entity(&self, _name: &str) -> Result<EntityMatch> {
        Err(not_yet("resolve_entity"))
    }

    pub fn entity_neighbourhood(&self, _name: &str) -> Result<Option<EntityNeighbourhood>> {
        Err(not_yet("entity_neighbourhood"))
    }

    pub fn graph(&self) -> Result<(Vec<GraphNode>, Vec<GraphEdge>)> {
        Err(not_yet("graph"))
    }
}
