//! One KB's storage behind one boundary ([`backend::KbStore`]): SQLite (`kb.db` in the KB's
//! folder, the default) or PostgreSQL (`pg`), plus the derived vector indexes.

pub mod backend;
pub mod codec;
pub mod copy;
pub mod curate;
pub mod delete;
pub mod doctor;
pub mod flat;
pub mod graphml;
pub mod inspect;
pub mod intact;
pub mod kb;
pub mod lock;
pub mod mapped;
pub mod pg;
pub mod query;
pub mod reserve;
pub mod rows;
pub mod transfer;
pub mod untrusted;
pub mod vectors;

pub use backend::{KbBackend, KbLocation, KbStore};
