//! One knowledge base's engine, after LightRAG: chunk → extract → merge → store, and the
//! query modes. This first part holds the pieces that must reproduce upstream exactly
//! (checked against `tests/fixtures/lightrag/`): tokenizer, chunker, ids, normalisation and
//! the extraction-record parser.

pub mod chunk;
pub mod engine;
pub mod extract;
pub mod ids;
pub mod merge;
pub mod normalize;
pub mod prompts;
pub mod tokenizer;
