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
    // 2: every KB's data (what a SQLite installation keeps in each kb.db, schema 5), tenant-first.
    // Text that SQLite compares or orders (names, ids, relation ends) is `COLLATE "C"`: byte
    // order, as SQLite's BINARY, so `src < tgt` and every ORDER BY agree on both backends. Keys
    // (`chunk_key`, `entity_key`, `relation_key`) are what the derived vector indexes store; an
    // identity never hands out a value twice, like SQLite's AUTOINCREMENT. No foreign key to
    // `knowledge_bases`: a KB's rows are written before its catalog row when it is imported,
    // and deleting a KB or tenant deletes them in the catalog's own transaction.
    r#"
    CREATE TABLE kb_meta (
        tenant_id UUID NOT NULL,
        kb_id     UUID NOT NULL,
        key       TEXT COLLATE "C" NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, key)
    );
    CREATE TABLE kb_documents (
        tenant_id      UUID NOT NULL,
        kb_id          UUID NOT NULL,
        doc_id         TEXT COLLATE "C" NOT NULL,
        seq            BIGINT GENERATED ALWAYS AS IDENTITY,
        file_path      TEXT COLLATE "C" NOT NULL,
        content        TEXT NOT NULL,
        content_hash   TEXT NOT NULL,
        content_length BIGINT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'processed', 'failed')),
        error          TEXT,
        chunks_count   BIGINT NOT NULL DEFAULT 0,
        created_at     TEXT COLLATE "C" NOT NULL,
        updated_at     TEXT COLLATE "C" NOT NULL,
        pages          TEXT,
        -- The replica processing the document and until when its claim holds (see the upload
        -- queue): a claim that expires is taken over by another replica.
        lease_owner    TEXT,
        lease_until    TIMESTAMPTZ,
        PRIMARY KEY (tenant_id, kb_id, doc_id)
    );
    CREATE INDEX kb_documents_status ON kb_documents (tenant_id, kb_id, status, created_at, seq);
    CREATE INDEX kb_documents_path ON kb_documents (tenant_id, kb_id, file_path);
    CREATE TABLE kb_chunks (
        tenant_id   UUID NOT NULL,
        kb_id       UUID NOT NULL,
        chunk_key   BIGINT GENERATED BY DEFAULT AS IDENTITY,
        chunk_id    TEXT COLLATE "C" NOT NULL,
        doc_id      TEXT COLLATE "C" NOT NULL,
        chunk_order BIGINT NOT NULL,
        tokens      BIGINT NOT NULL,
        content     TEXT NOT NULL,
        file_path   TEXT COLLATE "C" NOT NULL,
        embedding   BYTEA NOT NULL,
        page_first  BIGINT,
        page_last   BIGINT,
        PRIMARY KEY (tenant_id, kb_id, chunk_key),
        UNIQUE (tenant_id, kb_id, chunk_id),
        UNIQUE (tenant_id, kb_id, doc_id, chunk_order),
        FOREIGN KEY (tenant_id, kb_id, doc_id) REFERENCES kb_documents (tenant_id, kb_id, doc_id) ON DELETE CASCADE
    );
    CREATE TABLE kb_extractions (
        tenant_id    UUID NOT NULL,
        kb_id        UUID NOT NULL,
        chunk_id     TEXT COLLATE "C" NOT NULL,
        result       TEXT,
        glean        TEXT,
        cache_keys   TEXT NOT NULL,
        extracted_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, chunk_id),
        FOREIGN KEY (tenant_id, kb_id, chunk_id) REFERENCES kb_chunks (tenant_id, kb_id, chunk_id) ON DELETE CASCADE
    );
    CREATE TABLE kb_entities (
        tenant_id      UUID NOT NULL,
        kb_id          UUID NOT NULL,
        entity_key     BIGINT GENERATED BY DEFAULT AS IDENTITY,
        name           TEXT COLLATE "C" NOT NULL,
        entity_id      TEXT COLLATE "C" NOT NULL,
        entity_type    TEXT NOT NULL,
        description    TEXT NOT NULL,
        source_ids     TEXT NOT NULL,
        all_source_ids TEXT NOT NULL,
        file_paths     TEXT NOT NULL,
        truncate       TEXT NOT NULL DEFAULT '',
        created_at     BIGINT NOT NULL,
        embedding      BYTEA NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, entity_key),
        UNIQUE (tenant_id, kb_id, name),
        UNIQUE (tenant_id, kb_id, entity_id)
    );
    CREATE TABLE kb_relations (
        tenant_id      UUID NOT NULL,
        kb_id          UUID NOT NULL,
        relation_key   BIGINT GENERATED BY DEFAULT AS IDENTITY,
        src            TEXT COLLATE "C" NOT NULL,
        tgt            TEXT COLLATE "C" NOT NULL,
        relation_id    TEXT COLLATE "C" NOT NULL,
        keywords       TEXT NOT NULL,
        description    TEXT NOT NULL,
        weight         DOUBLE PRECISION NOT NULL,
        source_ids     TEXT NOT NULL,
        all_source_ids TEXT NOT NULL,
        file_paths     TEXT NOT NULL,
        truncate       TEXT NOT NULL DEFAULT '',
        created_at     BIGINT NOT NULL,
        embedding      BYTEA NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, relation_key),
        UNIQUE (tenant_id, kb_id, relation_id),
        CHECK (src < tgt)
    );
    -- Ranking the edges around an entity reads (src, tgt, weight): covering indexes both ways.
    CREATE UNIQUE INDEX kb_relations_src ON kb_relations (tenant_id, kb_id, src, tgt) INCLUDE (weight);
    CREATE INDEX kb_relations_tgt ON kb_relations (tenant_id, kb_id, tgt, src) INCLUDE (weight);
    -- Which entities and relations each document contributed to: what a delete revisits.
    CREATE TABLE kb_doc_entities (
        tenant_id UUID NOT NULL,
        kb_id     UUID NOT NULL,
        doc_id    TEXT COLLATE "C" NOT NULL,
        name      TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, doc_id, name),
        FOREIGN KEY (tenant_id, kb_id, doc_id) REFERENCES kb_documents (tenant_id, kb_id, doc_id) ON DELETE CASCADE
    );
    CREATE TABLE kb_doc_relations (
        tenant_id UUID NOT NULL,
        kb_id     UUID NOT NULL,
        doc_id    TEXT COLLATE "C" NOT NULL,
        src       TEXT COLLATE "C" NOT NULL,
        tgt       TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, doc_id, src, tgt),
        FOREIGN KEY (tenant_id, kb_id, doc_id) REFERENCES kb_documents (tenant_id, kb_id, doc_id) ON DELETE CASCADE
    );
    CREATE TABLE kb_llm_cache (
        tenant_id  UUID NOT NULL,
        kb_id      UUID NOT NULL,
        cache_key  TEXT COLLATE "C" NOT NULL,
        cache_type TEXT NOT NULL,
        chunk_id   TEXT COLLATE "C",
        response   TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, cache_key)
    );
    -- Curation: fields a person set on an entity (`tgt` empty) or relation, and merged names.
    CREATE TABLE kb_graph_overrides (
        tenant_id  UUID NOT NULL,
        kb_id      UUID NOT NULL,
        src        TEXT COLLATE "C" NOT NULL,
        tgt        TEXT COLLATE "C" NOT NULL,
        fields     TEXT NOT NULL,
        covered    TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, src, tgt)
    );
    CREATE TABLE kb_entity_aliases (
        tenant_id  UUID NOT NULL,
        kb_id      UUID NOT NULL,
        alias      TEXT COLLATE "C" NOT NULL,
        canonical  TEXT COLLATE "C" NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, kb_id, alias)
    );
    "#,
    // 3: `max_concurrent_queries` across replicas: one row per running query, taken under the
    // tenant's row lock while fewer than the quota are live; renewed by its process while it
    // runs, so a killed process's rows expire and free their slots.
    r#"
    CREATE TABLE query_leases (
        tenant_id  UUID NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        lease_id   UUID NOT NULL,
        holder     UUID NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (tenant_id, lease_id)
    );
    CREATE INDEX query_leases_holder ON query_leases (tenant_id, holder);
    "#,
    // 4: bearer-token revocation: per user, the earliest issue time (`iat`, Unix seconds) a
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
    // 5: a KB's documents are processed by the holder of its ingest lock (a session advisory
    // lock, fenced by the `lock_epoch` row of `kb_meta` that each acquisition moves on), never
    // claimed one by one: the per-document claim columns were never used.
    r#"
    ALTER TABLE kb_documents DROP COLUMN IF EXISTS lease_owner, DROP COLUMN IF EXISTS lease_until;
    "#,
    // 6: the indexes of relations by endpoint carry `relation_key` too, so ranking the edges
    // around a query's entities reads only these indexes (index-only scans), not one row per
    // edge, as SQLite's covering indexes (which hold the rowid) already do. Rebuilds both.
    r#"
    CREATE UNIQUE INDEX kb_relations_src_v6 ON kb_relations (tenant_id, kb_id, src, tgt) INCLUDE (weight, relation_key);
    DROP INDEX kb_relations_src;
    ALTER INDEX kb_relations_src_v6 RENAME TO kb_relations_src;
    CREATE INDEX kb_relations_tgt_v6 ON kb_relations (tenant_id, kb_id, tgt, src) INCLUDE (weight, relation_key);
    DROP INDEX kb_relations_tgt;
    ALTER INDEX kb_relations_tgt_v6 RENAME TO kb_relations_tgt;
    "#,
];

/// A data conversion, run in a migration's transaction.
type Conversion = fn(&mut postgres::Transaction<'_>) -> Result<()>;

/// Data conversions, each run after its version's SQL in the same transaction and under the
/// migration lock: (version, conversion). Append only, like the SQL.
const CONVERSIONS: &[(usize, Conversion)] = &[
    // 4: tenant and KB name keys recomputed as `catalog::name_key` now makes them.
    (4, super::rekey::rekey_pg),
];

/// Every migration's SQL, in order: `lrt doctor` builds the schema they make in a temporary
/// schema to compare the database's with it.
pub(crate) fn migrations() -> &'static [&'static str] {
    MIGRATIONS
}

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
