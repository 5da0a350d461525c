//! Versioned schema migrations, tracked in `PRAGMA user_version`. Each migration runs in its
//! own immediate transaction that re-reads the version, so two processes opening a fresh
//! catalog at once apply it exactly once.

use rusqlite::{Connection, TransactionBehavior};

use super::db_error;
use crate::error::{Error, Result};

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only; never edit one
/// that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the multi-tenancy guide's tables, plus what its data models need.
    r#"
    CREATE TABLE tenants (
        tenant_id   TEXT PRIMARY KEY,
        name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
        name_key    TEXT NOT NULL UNIQUE,
        description TEXT,
        config      TEXT NOT NULL DEFAULT '{}',
        quota       TEXT NOT NULL DEFAULT '{}',
        metadata    TEXT NOT NULL DEFAULT '{}',
        is_active   INTEGER NOT NULL DEFAULT 1,
        is_builtin  INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        created_by  TEXT
    );
    CREATE TABLE knowledge_bases (
        kb_id          TEXT PRIMARY KEY,
        tenant_id      TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
        name_key       TEXT NOT NULL,
        description    TEXT,
        config         TEXT NOT NULL DEFAULT '{}',
        metadata       TEXT NOT NULL DEFAULT '{}',
        is_active      INTEGER NOT NULL DEFAULT 1,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        created_by     TEXT,
        document_count INTEGER NOT NULL DEFAULT 0,
        entity_count   INTEGER NOT NULL DEFAULT 0,
        relation_count INTEGER NOT NULL DEFAULT 0,
        storage_bytes  INTEGER NOT NULL DEFAULT 0,
        UNIQUE (tenant_id, name_key)
    );
    CREATE INDEX idx_kb_tenant ON knowledge_bases(tenant_id);
    CREATE TABLE tenant_memberships (
        id         TEXT PRIMARY KEY,
        tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        user_id    TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'viewer_readonly')),
        created_at TEXT NOT NULL,
        created_by TEXT,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant_id, user_id)
    );
    CREATE INDEX idx_membership_tenant ON tenant_memberships(tenant_id);
    CREATE INDEX idx_membership_user ON tenant_memberships(user_id);
    -- No foreign keys: the audit trail outlives the tenants and KBs it mentions.
    CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        real_user TEXT,
        action    TEXT NOT NULL,
        tenant_id TEXT,
        kb_id     TEXT,
        outcome   TEXT NOT NULL CHECK (outcome IN ('ok', 'denied')),
        detail    TEXT
    );
    CREATE INDEX idx_audit_tenant ON audit_log(tenant_id, id);
    CREATE INDEX idx_audit_user ON audit_log(user_id, id);
    -- Per-tenant usage per calendar month (UTC), for the monthly API-call quota.
    CREATE TABLE tenant_usage (
        tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        period    TEXT NOT NULL,
        api_calls INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, period)
    );
    -- `lrt use`: each user's current tenant and KB.
    CREATE TABLE user_contexts (
        user_id    TEXT PRIMARY KEY,
        tenant_id  TEXT REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        kb_id      TEXT REFERENCES knowledge_bases(kb_id) ON DELETE SET NULL,
        updated_at TEXT NOT NULL
    );
    "#,
    // 2: API keys (only a SHA-256 of each key is kept; `prefix` finds the row to compare it
    // with), and the key behind each audited action.
    r#"
    CREATE TABLE api_keys (
        key_id       TEXT PRIMARY KEY,
        prefix       TEXT NOT NULL UNIQUE,
        key_hash     BLOB NOT NULL CHECK (length(key_hash) = 32),
        name         TEXT,
        tenant_id    TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        kb_id        TEXT REFERENCES knowledge_bases(kb_id) ON DELETE CASCADE,
        role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'viewer_readonly')),
        created_by   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT,
        revoked_by   TEXT
    );
    CREATE INDEX idx_api_keys_tenant ON api_keys(tenant_id);
    CREATE INDEX idx_api_keys_creator ON api_keys(created_by);
    ALTER TABLE audit_log ADD COLUMN api_key_id TEXT;
    "#,
    // 3: documents admitted by an ingest run still going, which `max_documents` counts with
    // the statistics until the run writes them (or `doctor --repair` clears a killed run's).
    r#"
    ALTER TABLE knowledge_bases ADD COLUMN reserved_documents INTEGER NOT NULL DEFAULT 0;
    "#,
    // 4: model tokens per tenant, KB and calendar month (UTC, 'YYYY-MM'), for `lrt usage` and
    // `max_monthly_tokens`. No foreign key on the KB: a deleted KB's tokens stay billed.
    r#"
    CREATE TABLE token_usage (
        tenant_id         TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        kb_id             TEXT NOT NULL,
        period            TEXT NOT NULL,
        prompt_tokens     INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        embedding_tokens  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, kb_id, period)
    );
    "#,
    // 5: bearer-token revocation: per user, the earliest issue time (`iat`, Unix seconds) a
    // token must carry (`lrt token revoke`); and name keys recomputed (see CONVERSIONS).
    r#"
    CREATE TABLE token_revocations (
        user_id    TEXT PRIMARY KEY,
        not_before INTEGER NOT NULL,
        revoked_at TEXT NOT NULL,
        revoked_by TEXT NOT NULL
    );
    "#,
];

/// A data conversion, run in a migration's transaction.
type Conversion = fn(&rusqlite::Transaction<'_>) -> Result<()>;

/// Data conversions, each run after its version's SQL in the same transaction: (version,
/// conversion). Append only, like the SQL.
const CONVERSIONS: &[(usize, Conversion)] = &[
    // 5: tenant and KB name keys recomputed as `names::name_key` now makes them (NFKC, case,
    // confusable skeleton); look-alikes that already exist are kept and reported.
    (5, super::names::rekey_sqlite),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies the pending migrations; returns the versions applied (by this call).
pub(super) fn migrate(conn: &mut Connection) -> Result<Vec<usize>> {
    let mut applied = Vec::new();
    let current = version(conn)?;
    if current == SCHEMA_VERSION {
        return Ok(applied);
    }
    for target in current + 1..=SCHEMA_VERSION {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error("cannot start the catalog migration", e))?;
        let found = version(&tx)?;
        if found >= target {
            continue;
        }
        tx.execute_batch(MIGRATIONS[target - 1])
            .map_err(|e| db_error(format!("catalog migration {target} failed"), e))?;
        for (_, convert) in CONVERSIONS.iter().filter(|(v, _)| *v == target) {
            convert(&tx)?;
        }
        tx.pragma_update(None, "user_version", target as i64)
            .map_err(|e| db_error("cannot record the catalog version", e))?;
        tx.commit()
            .map_err(|e| db_error("cannot commit the catalog migration", e))?;
        applied.push(target);
    }
    Ok(applied)
}

impl super::SqliteCatalog {
    /// `lrt db status` for catalog.db: read-only, and a data directory without one is at 0.
    pub fn status(layout: &crate::layout::Layout) -> Result<super::MigrationStatus> {
        let path = layout.catalog_path();
        let current = if path.exists() {
            let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| db_error(format!("cannot open {}", path.display()), e))?;
            version(&conn)?
        } else {
            0
        };
        Ok(super::MigrationStatus {
            backend: "sqlite",
            location: path.display().to_string(),
            current,
            latest: SCHEMA_VERSION,
            pending: (current + 1..=SCHEMA_VERSION).collect(),
        })
    }

    /// `lrt db migrate` for catalog.db (opening it migrates; this says what was applied).
    pub fn migrate_at(layout: &crate::layout::Layout) -> Result<Vec<usize>> {
        let mut catalog = Self::open_unmigrated(layout.clone())?;
        migrate(&mut catalog.conn)
    }
}

pub(super) fn version(conn: &Connection) -> Result<usize> {
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| db_error("cannot read the catalog version", e))?;
    let v = usize::try_from(v).unwrap_or(usize::MAX);
    if v > SCHEMA_VERSION {
        return Err(Error::storage(
            "the catalog was written by a newer lrt",
            format!("schema version {v}, this lrt knows up to {SCHEMA_VERSION}; upgrade lrt"),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_schemas_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(migrate(&mut conn).is_err());
    }

    /// Migration 5 re-keys names: look-alikes made before it both stay (the newer one keyed
    /// by its id and reported in the audit log), and a new look-alike is refused after it.
    #[test]
    fn migration_5_rekeys_names_and_keeps_existing_look_alikes() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let tenant = |id: &str, name: &str, at: &str| {
            conn.execute(
                "INSERT INTO tenants (tenant_id, name, name_key, created_at, updated_at) VALUES (?1, ?2, lower(?2), ?3, ?3)",
                rusqlite::params![id, name, at],
            )
            .unwrap();
        };
        let (old, new) = (
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002",
        );
        tenant(old, "acme", "2026-01-01T00:00:00.000Z");
        tenant(new, "\u{430}\u{441}me", "2026-02-01T00:00:00.000Z");
        tenant(
            "00000000-0000-4000-8000-000000000003",
            "Globex",
            "2026-03-01T00:00:00.000Z",
        );
        for (kb, name) in [
            ("00000000-0000-4000-8000-00000000000a", "docs"),
            ("00000000-0000-4000-8000-00000000000b", "d\u{43E}cs"),
        ] {
            conn.execute(
                "INSERT INTO knowledge_bases (kb_id, tenant_id, name, name_key, created_at, updated_at) VALUES (?1, ?2, ?3, ?3, ?1, ?1)",
                rusqlite::params![kb, old, name],
            )
            .unwrap();
        }
        assert_eq!(migrate(&mut conn).unwrap(), (5..=SCHEMA_VERSION).collect::<Vec<_>>());
        let key = |table: &str, id: &str| -> String {
            let col = if table == "tenants" { "tenant_id" } else { "kb_id" };
            conn.query_row(&format!("SELECT name_key FROM {table} WHERE {col} = ?1"), [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(key("tenants", old), crate::catalog::name_key("acme"));
        assert_eq!(
            key("tenants", new),
            super::super::names::displaced_key(&crate::catalog::name_key("acme"), new)
        );
        assert_eq!(
            key("tenants", "00000000-0000-4000-8000-000000000003"),
            crate::catalog::name_key("globex")
        );
        assert_eq!(
            key("knowledge_bases", "00000000-0000-4000-8000-00000000000a"),
            crate::catalog::name_key("docs")
        );
        let reported: Vec<(String, Option<String>)> = conn
            .prepare("SELECT tenant_id, kb_id FROM audit_log WHERE action = 'catalog.rekey' ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            reported,
            [
                (new.to_string(), None),
                (
                    old.to_string(),
                    Some("00000000-0000-4000-8000-00000000000b".to_string())
                )
            ]
        );
        // From now on a look-alike is a duplicate.
        let dup = conn.execute(
            "INSERT INTO tenants (tenant_id, name, name_key, created_at, updated_at) VALUES ('x', 'ACME', ?1, 'a', 'a')",
            [crate::catalog::name_key("ACME")],
        );
        assert!(dup.is_err());
    }
}
