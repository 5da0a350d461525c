//! The PostgreSQL catalog's versioned migrations, recorded in `lrt_migrations`. Tenant-first:
//! every table's primary key and every foreign key start with `tenant_id`, so the schema can
//! be distributed by tenant (Citus's multi-tenant model) as it is. Each migration runs in its
//! own transaction under an advisory lock, so replicas starting at once apply it exactly once.

use postgres::Client;

use super::pg_error;
use crate::error::{Error, Result};

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only; never edit one
/// that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: everything catalog.db holds at its version 3, tenant-first, plus token usage.
    r#"
    CREATE TABLE tenants (
        tenant_id   UUID PRIMARY KEY,
        name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
        name_key    TEXT NOT NULL,
        description TEXT,
        config      TEXT NOT NULL DEFAULT '{}',
        quota       TEXT NOT NULL DEFAULT '{}',
        metadata    TEXT NOT NULL DEFAULT '{}',
        is_active   BOOLEAN NOT NULL DEFAULT TRUE,
        is_builtin  BOOLEAN NOT NULL DEFAULT FALSE,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        created_by  TEXT
    );
    -- Tenant names are unique installation-wide (case-insensitively).
    CREATE UNIQUE INDEX tenants_name_key ON tenants (name_key);
    CREATE TABLE knowledge_bases (
        tenant_id          UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        kb_id              UUID NOT NULL,
        name               TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
        name_key           TEXT NOT NULL,
        description        TEXT,
        config             TEXT NOT NULL DEFAULT '{}',
        metadata           TEXT NOT NULL DEFAULT '{}',
        is_active          BOOLEAN NOT NULL DEFAULT TRUE,
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL,
        created_by         TEXT,
        document_count     BIGINT NOT NULL DEFAULT 0,
        entity_count       BIGINT NOT NULL DEFAULT 0,
        relation_count     BIGINT NOT NULL DEFAULT 0,
        storage_bytes      BIGINT NOT NULL DEFAULT 0,
        reserved_documents BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, kb_id),
        UNIQUE (tenant_id, name_key)
    );
    CREATE TABLE tenant_memberships (
        tenant_id  UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        user_id    TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'viewer_readonly')),
        created_at TEXT NOT NULL,
        created_by TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id)
    );
    CREATE INDEX tenant_memberships_user ON tenant_memberships (user_id);
    CREATE TABLE api_keys (
        tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        key_id       UUID NOT NULL,
        prefix       TEXT NOT NULL,
        key_hash     BYTEA NOT NULL CHECK (length(key_hash) = 32),
        name         TEXT,
        kb_id        UUID,
        role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'viewer_readonly')),
        created_by   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT,
        revoked_by   TEXT,
        PRIMARY KEY (tenant_id, key_id),
        FOREIGN KEY (tenant_id, kb_id) REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE CASCADE
    );
    -- A presented key is found by its prefix before its tenant is known.
    CREATE INDEX api_keys_prefix ON api_keys (prefix);
    CREATE INDEX api_keys_key ON api_keys (key_id);
    CREATE INDEX api_keys_creator ON api_keys (tenant_id, created_by);
    -- No foreign keys: the audit trail outlives the tenants and KBs it mentions. Rows about
    -- no tenant (a refused tenant creation, `--as`) have the nil UUID.
    CREATE TABLE audit_log (
        tenant_id  UUID NOT NULL,
        id         BIGINT GENERATED ALWAYS AS IDENTITY,
        at         TEXT NOT NULL,
        user_id    TEXT NOT NULL,
        real_user  TEXT,
        action     TEXT NOT NULL,
        kb_id      UUID,
        outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'denied')),
        detail     TEXT,
        api_key_id UUID,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX audit_log_id ON audit_log (id);
    CREATE INDEX audit_log_user ON audit_log (user_id, id);
    -- Per-tenant API calls per calendar month (UTC), for the monthly quota.
    CREATE TABLE tenant_usage (
        tenant_id UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        period    TEXT NOT NULL,
        api_calls BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, period)
    );
    -- Model tokens per tenant, KB and calendar month ('YYYY-MM').
    CREATE TABLE token_usage (
        tenant_id         UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        kb_id             UUID NOT NULL,
        period            TEXT NOT NULL,
        prompt_tokens     BIGINT NOT NULL DEFAULT 0,
        completion_tokens BIGINT NOT NULL DEFAULT 0,
        embedding_tokens  BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, kb_id, period)
    );
    -- `lrt use`: each user's current tenant and KB (one row per user, kept so by an advisory
    -- lock on the user in `set_context`).
    CREATE TABLE user_contexts (
        tenant_id  UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        user_id    TEXT NOT NULL,
        kb_id      UUID,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id),
        FOREIGN KEY (tenant_id, kb_id) REFERENCES knowledge_bases (tenant_id, kb_id) ON DELETE SET NULL (kb_id)
    );
    CREATE INDEX user_contexts_user ON user_contexts (user_id);
    "#,
    // 2: bearer-token revocation: per user, the earliest issue time (`iat`, Unix seconds) a
    // token must carry (`lrt token revoke`); and name keys recomputed (see CONVERSIONS).
    // Tokens belong to no tenant: the rows have the
    // nil tenant, like the audit log's installation-level rows, so the key starts with
    // `tenant_id` as every key here does.
    r#"
    CREATE TABLE token_revocations (
        tenant_id  UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
        user_id    TEXT NOT NULL,
        not_before BIGINT NOT NULL,
        revoked_at TEXT NOT NULL,
        revoked_by TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id)
    );
    "#,
];

/// A data conversion, run in a migration's transaction.
type Conversion = fn(&mut postgres::Transaction<'_>) -> Result<()>;

/// Data conversions, each run after its version's SQL in the same transaction and under the
/// migration lock: (version, conversion). Append only, like the SQL.
const CONVERSIONS: &[(usize, Conversion)] = &[
    // 2: tenant and KB name keys recomputed as `catalog::name_key` now makes them.
    (2, super::rekey::rekey_pg),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The advisory lock key migrations hold ("lrt" + "mig").
const LOCK: i64 = 0x006c_7274_5f6d_6967;

const BOOK: &str = "CREATE TABLE IF NOT EXISTS lrt_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// The schema version the database holds (0: none), refusing one newer than this build.
pub(super) fn version(client: &mut Client) -> Result<usize> {
    let exists: bool = client
        .query_one("SELECT to_regclass('lrt_migrations') IS NOT NULL", &[])
        .map_err(|e| pg_error("cannot read the catalog version", e))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let v: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM lrt_migrations", &[])
        .map_err(|e| pg_error("cannot read the catalog version", e))?
        .get(0);
    let v = usize::try_from(v).unwrap_or(0);
    if v > SCHEMA_VERSION {
        return Err(Error::storage(
            "the PostgreSQL catalog was written by a newer lrt",
            format!("schema version {v}, this lrt knows up to {SCHEMA_VERSION}; upgrade lrt"),
        ));
    }
    Ok(v)
}

/// Applies the pending migrations, each in its own transaction under the migration lock;
/// returns the versions this call applied.
pub(super) fn migrate(client: &mut Client) -> Result<Vec<usize>> {
    let mut applied = Vec::new();
    if version(client)? == SCHEMA_VERSION {
        return Ok(applied);
    }
    for target in 1..=SCHEMA_VERSION {
        let mut tx = client
            .transaction()
            .map_err(|e| pg_error("cannot start the catalog migration", e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .map_err(|e| pg_error("cannot lock the catalog for migration", e))?;
        tx.batch_execute(BOOK)
            .map_err(|e| pg_error("cannot create the migration table", e))?;
        let found: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM lrt_migrations", &[])
            .map_err(|e| pg_error("cannot read the catalog version", e))?
            .get(0);
        if found as usize > SCHEMA_VERSION {
            return Err(Error::storage(
                "the PostgreSQL catalog was written by a newer lrt",
                format!("schema version {found}, this lrt knows up to {SCHEMA_VERSION}; upgrade lrt"),
            ));
        }
        if found as usize >= target {
            continue;
        }
        tx.batch_execute(MIGRATIONS[target - 1])
            .map_err(|e| pg_error(format!("catalog migration {target} failed"), e))?;
        for (_, convert) in CONVERSIONS.iter().filter(|(v, _)| *v == target) {
            convert(&mut tx)?;
        }
        tx.execute("INSERT INTO lrt_migrations (version) VALUES ($1)", &[&(target as i32)])
            .map_err(|e| pg_error("cannot record the catalog version", e))?;
        tx.commit()
            .map_err(|e| pg_error("cannot commit the catalog migration", e))?;
        applied.push(target);
    }
    Ok(applied)
}
