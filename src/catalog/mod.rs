//! The catalog: `catalog.db` in the data directory (SQLite, WAL, foreign keys on) holding
//! tenants, knowledge bases, memberships, API keys (hashed), the audit log, usage counters and
//! each user's current context, plus the tenant/KB folders that belong to those rows.
//!
//! Invariants: every mutation and its audit row commit in one transaction; write
//! transactions are `BEGIN IMMEDIATE` so concurrent processes serialize instead of failing
//! half-way; uniqueness (tenant names case-insensitively, KB names within a tenant, one
//! membership per user and tenant) is enforced by the schema, so two racing processes get
//! one success and one conflict. The catalog knows nothing of users' rights: that is
//! `authz`'s job, called by `service`.

mod audit;
mod backend;
pub mod copy;
mod kbs;
mod keys;
mod members;
pub(crate) mod names;
pub mod pg;
mod schema;
mod tenants;
mod tokens;
mod usage;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use audit::{AuditFilter, NewAudit};
#[cfg(test)]
pub(crate) use backend::calls;
pub use backend::{Catalog, MigrationStatus};
pub use kbs::{KbRecord, KbStats, TenantUsage};
pub use keys::{KeyFilter, KeyRecord};
pub use names::name_key;
pub use tenants::{TenantListFilter, TenantRecord};
pub use usage::{Charge, TokenUsageRow};

use crate::error::{Error, Result};
use crate::layout::Layout;

/// The SQLite catalog, `catalog.db` in the data directory: the zero-set-up default.
pub struct SqliteCatalog {
    conn: Connection,
    layout: Layout,
}

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog of a data directory and brings its schema up to
    /// date.
    pub fn open(layout: Layout) -> Result<SqliteCatalog> {
        if layout.catalog_path().is_file() && layout.unwritable().is_some() {
            return Self::open_read_only(layout);
        }
        let mut catalog = Self::open_unmigrated(layout)?;
        schema::migrate(&mut catalog.conn)?;
        Ok(catalog)
    }

    /// The catalog of a data directory that cannot be written (a read-only mount or folder, a
    /// read-only catalog.db): opened read-only, so reading commands work and writing ones fail
    /// saying why ([`db_error`]). Its schema must be current, since migrating writes.
    fn open_read_only(layout: Layout) -> Result<SqliteCatalog> {
        let path = layout.catalog_path();
        let conn = crate::layout::open_sqlite_read_only(&path)
            .map_err(|e| db_error(format!("cannot open {}", path.display()), e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db_error("cannot configure catalog", e))?;
        let version = schema::version(&conn)?;
        if version != schema::SCHEMA_VERSION {
            return Err(Error::storage(
                format!("cannot open the catalog in {}", layout.root().display()),
                format!(
                    "it is at schema version {version} and this lrt needs {}, but the data directory is not writable, so it cannot be upgraded: make it writable for one command (or run `lrt db migrate` where it is)",
                    schema::SCHEMA_VERSION
                ),
            ));
        }
        Ok(SqliteCatalog { conn, layout })
    }

    fn open_unmigrated(layout: Layout) -> Result<SqliteCatalog> {
        layout.ensure_root()?;
        let path = layout.catalog_path();
        crate::layout::private_db_file(&path)?;
        let conn = Connection::open(&path).map_err(|e| db_error(format!("cannot open {}", path.display()), e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db_error("cannot configure catalog", e))?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")
            .map_err(|e| db_error("cannot configure catalog", e))?;
        Ok(SqliteCatalog { conn, layout })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Runs `f` in an immediate (write-locking) transaction and commits it.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>, &Layout) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error("cannot start a catalog transaction", e))?;
        let value = f(&tx, &self.layout)?;
        tx.commit().map_err(|e| db_error("cannot commit to the catalog", e))?;
        Ok(value)
    }

    /// The current tenant/KB a user chose with `lrt use`.
    pub fn context(&self, user: &str) -> Result<(Option<Uuid>, Option<Uuid>)> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT tenant_id, kb_id FROM user_contexts WHERE user_id = ?1",
                [user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| db_error("cannot read the current context", e))?;
        let (t, k) = row.unwrap_or_default();
        Ok((
            t.as_deref().map(parse_uuid).transpose()?,
            k.as_deref().map(parse_uuid).transpose()?,
        ))
    }

    /// Remembers (or with `None`, forgets) a user's current tenant/KB.
    pub fn set_context(&mut self, user: &str, tenant: Option<Uuid>, kb: Option<Uuid>) -> Result<()> {
        let now = crate::time::now();
        self.write(|tx, _| {
            match tenant {
                None => tx.execute("DELETE FROM user_contexts WHERE user_id = ?1", [user]),
                Some(t) => tx.execute(
                    "INSERT INTO user_contexts (user_id, tenant_id, kb_id, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(user_id) DO UPDATE SET tenant_id = ?2, kb_id = ?3, updated_at = ?4",
                    rusqlite::params![user, t.to_string(), kb.map(|k| k.to_string()), now],
                ),
            }
            .map_err(|e| db_error("cannot save the current context", e))?;
            Ok(())
        })
    }
}

/// Maps a SQLite error to a storage error with context.
pub(crate) fn db_error(context: impl Into<String>, e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        )
    {
        return Error::storage(context, "the catalog is locked by another lrt process; try again");
    }
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::ReadOnly
    {
        return Error::storage(
            context,
            "the catalog is read-only (the data directory or catalog.db is not writable): commands that only read work, this one writes",
        );
    }
    Error::storage(context, e)
}

/// Whether an error is a UNIQUE/PRIMARY KEY violation (a lost race or a duplicate name).
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::Internal(format!("catalog holds a malformed id {s:?}")))
}

pub(crate) fn to_json(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

pub(crate) fn from_json(text: &str) -> rusqlite::Result<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(e),
        )),
    }
}

/// The row [`Catalog::audit_capped`] writes when `recent` rows of the user are within the
/// window: the entry itself, the entry marked as the last one recorded, or none past the cap.
pub(crate) fn capped_entry(entry: &NewAudit, recent: u64, cap: u64) -> Option<NewAudit> {
    if recent >= cap {
        return None;
    }
    let mut row = entry.clone();
    if recent + 1 == cap {
        row.detail = Some(format!(
            "{} (limit of {cap} such denials per user and minute reached: further ones are not recorded until the minute is over)",
            entry.detail.as_deref().unwrap_or_default()
        ));
    }
    Some(row)
}

/// Runs a closure on a fresh catalog in a temporary directory (for unit tests).
#[cfg(test)]
pub(crate) fn with_temp_catalog<T>(f: impl FnOnce(&mut SqliteCatalog) -> T) -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = SqliteCatalog::open(Layout::new(dir.path().join("data"))).unwrap();
    f(&mut catalog)
}
