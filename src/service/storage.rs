//! `lrt db`: the catalog database's schema, for operators. Not a tenant operation: whoever
//! holds the database's credentials (or the data directory) may run it, so no actor is taken.

use serde::Serialize;

use crate::catalog::{Catalog, MigrationStatus};
use crate::config::Settings;
use crate::error::Result;

/// What `lrt db migrate` did.
#[derive(Debug, Clone, Serialize)]
pub struct Migrated {
    pub backend: &'static str,
    pub location: String,
    /// The versions this run applied (empty: the schema was up to date).
    pub applied: Vec<usize>,
    pub current: usize,
}

/// The configured catalog's schema version against this build's; changes nothing.
pub fn db_status(settings: &Settings) -> Result<MigrationStatus> {
    Catalog::status(settings)
}

/// Brings the configured catalog's schema up to date (each step in its own transaction, once
/// even when several processes run it at the same time).
pub fn db_migrate(settings: &Settings) -> Result<Migrated> {
    let applied = Catalog::migrate(settings)?;
    let after = Catalog::status(settings)?;
    Ok(Migrated {
        backend: after.backend,
        location: after.location,
        applied,
        current: after.current,
    })
}
