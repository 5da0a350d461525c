//! lrt: a multi-tenant graph-RAG tool. The library holds all logic; the `lrt` binary is a
//! thin wrapper around [`cli::run`].
//!
//! Layers, top to bottom (data flows down, never up): `cli` (adapter) → `service`
//! (use-cases; the only caller of `authz::decide`) → `catalog` (SQLite + folders).

pub mod assets;
pub mod authz;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod error;
pub mod extract;
pub mod import;
pub mod ingest;
pub mod layout;
pub mod llm;
pub mod metrics;
pub mod model;
pub mod rag;
pub mod server;
pub mod service;
pub mod store;
pub mod time;

pub use error::{Error, ErrorKind, Result};
