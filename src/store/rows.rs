//! The graph rows a KB store reads and writes. They live at the store's boundary so data flows
//! down the layers: the RAG engine's merge rules (`rag::merge`) produce them, the store keeps
//! them, and neither the store nor any backend behind it depends on the engine.

/// A node as stored: the graph row plus its full chunk-tracking list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityState {
    pub name: String,
    pub entity_type: String,
    /// `SEP`-joined fragments, or an LLM summary.
    pub description: String,
    /// The limited chunk list stored on the node (`source_id`).
    pub source_ids: Vec<String>,
    /// The full, untruncated chunk list (upstream's `entity_chunks` row).
    pub all_source_ids: Vec<String>,
    /// Deduplicated paths, possibly ending with a `...truncated...` placeholder.
    pub file_paths: Vec<String>,
    /// `""`, `"KEEP Old"` or `"FIFO kept/total"`.
    pub truncate: String,
}

/// An edge as stored. The graph is undirected: `src <= tgt`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationState {
    pub src: String,
    pub tgt: String,
    /// Sorted, comma-joined keywords.
    pub keywords: String,
    pub description: String,
    pub weight: f64,
    pub source_ids: Vec<String>,
    /// The full chunk list (upstream's `relation_chunks` row, key `src<SEP>tgt`).
    pub all_source_ids: Vec<String>,
    pub file_paths: Vec<String>,
    pub truncate: String,
}
