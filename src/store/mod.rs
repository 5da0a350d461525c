//! One KB's storage: kb.db (SQLite, the source of truth) and derived vector indexes.

pub mod codec;
pub mod curate;
pub mod delete;
pub mod doctor;
pub mod flat;
pub mod graphml;
pub mod inspect;
pub mod intact;
pub mod kb;
pub mod mapped;
pub mod query;
pub mod reserve;
pub mod rows;
pub mod transfer;
pub mod untrusted;
pub mod vectors;
