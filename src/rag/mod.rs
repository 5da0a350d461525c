//! One knowledge base's engine, after LightRAG: chunk → extract → merge → store, and the
//! query modes. This first part holds the pieces that must reproduce upstream exactly
//! (checked against `tests/fixtures/lightrag/`): tokenizer, chunker, ids, normalisation and
//! the extraction-record parser.

pub mod chunk;
pub mod citations;
pub mod context;
pub mod engine;
mod engine_memo;
pub mod extract;
pub mod ids;
pub mod keywords;
pub mod llm_cache;
pub mod merge;
pub mod normalize;
pub mod pages;
pub mod prompts;
pub mod pyjson;
pub mod query;
pub mod repair;
pub mod staging;
pub mod tokenizer;
pub mod turns;
mod vocab_hash;

/// xorshift64 from `state` (not 0): the tests' deterministic random texts and vectors.
#[cfg(test)]
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
