//! Ingestion: reading inputs and running them through a KB engine.

pub mod sources;
