//! One knowledge base's engine, after LightRAG: chunk → extract → merge → store, and the
//! query modes. This first part holds the pieces that must reproduce upstream exactly
//! (checked against `tests/fixtures/lightrag/`): tokenizer, chunker, ids, normalisation and
//! the extraction-record parser.

pub mod chunk;
pub mod context;
pub mod engine;
pub mod extract;
pub mod ids;
pub mod keywords;
pub mod merge;
pub mod normalize;
pub mod prompts;
pub mod pyjson;
pub mod query;
pub mod repair;
pub mod tokenizer;
mod vocab_hash;
