//! The PostgreSQL catalog (`storage.backend = "postgres"`): the same methods and guarantees as
//! [`SqliteCatalog`](super::SqliteCatalog) on a database several processes can share. KB data
//! itself stays in SQLite files under the data directory (the folders this catalog's rows own).
//!
//! Guarantees: a mutation and its audit row commit in one transaction; uniqueness is the
//! schema's; quotas are decided under the tenant row's lock (`SELECT … FOR UPDATE`) or by one
//! conditional upsert, so processes on other machines cannot pass a quota between them.
//! Every query names its tenant, except the reads that start from a user or a key (a user's
//! memberships and `lrt use` context, a presented API key) and super-admin listings.
//!
//! The client is `postgres` (synchronous, like the catalog's API). It drives its connection
//! on a private tokio runtime, which must not be entered from inside another runtime's task:
//! calls made on a thread inside a runtime (ingest runs inside `block_on`) hop to a scoped
//! thread, so the catalog can be called from anywhere the SQLite one can.

mod audit_cap;
mod copy;
mod leases;
mod pool;
mod rekey;
pub(crate) mod schema;
mod tls;
mod tokens;

use std::sync::{Mutex, MutexGuard};

use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, Row};
use uuid::Uuid;

pub use copy::PgInstall;
pub(crate) use leases::{Lease, QueryLeases};
pub(crate) use pool::{Conn, PgClient, Pool, off_runtime, pg_error, pool};
pub use schema::SCHEMA_VERSION;

use super::{
    AuditFilter, Charge, KbRecord, KbStats, KeyFilter, KeyRecord, MigrationStatus, NewAudit, TenantListFilter,
    TenantRecord, TenantUsage, TokenUsageRow, name_key,
};
use crate::authz::Role;
use crate::config::PgSettings;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::llm::usage::TokenCounts;
use crate::model::{ApiKey, AuditEntry, Member, Outcome};

/// An open PostgreSQL catalog: one connection from the process's pool for this database.
pub struct PgCatalog {
    pool: Pool,
    conn: Mutex<Option<Conn>>,
    layout: Layout,
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl PgCatalog {
    /// Connects, brings the schema up to date (under the migration lock) and refuses a schema
    /// newer than this build.
    pub fn open(settings: &PgSettings, layout: Layout) -> Result<PgCatalog> {
        layout.ensure_root()?;
        let pool = pool(settings)?;
        let catalog = PgCatalog {
            pool,
            conn: Mutex::new(None),
            layout,
        };
        catalog.with(|c| schema::migrate(c).map(drop))?;
        Ok(catalog)
    }

    /// `lrt db status`: the database's schema version against this build's, read-only.
    pub fn status(settings: &PgSettings) -> Result<MigrationStatus> {
        let pool = pool(settings)?;
        let current = off_runtime(|| {
            let mut conn = pool.get()?;
            schema::version(&mut conn)
        })?;
        Ok(MigrationStatus {
            backend: "postgres",
            location: settings.location(),
            current,
            latest: SCHEMA_VERSION,
            pending: (current + 1..=SCHEMA_VERSION).collect(),
        })
    }

    /// `lrt db migrate`: applies the pending migrations; returns the versions applied.
    pub fn migrate(settings: &PgSettings) -> Result<Vec<usize>> {
        let pool = pool(settings)?;
        off_runtime(|| {
            let mut conn = pool.get()?;
            schema::migrate(&mut conn)
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The pool this catalog draws from: KB stores on the same database use it too.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    fn slot(&self) -> MutexGuard<'_, Option<Conn>> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on this catalog's connection (a fresh one if it was lost).
    fn with<R: Send>(&self, f: impl FnOnce(&mut PgClient) -> Result<R> + Send) -> Result<R> {
        let mut guard = self.slot();
        let slot: &mut Option<Conn> = &mut guard;
        let pool = &self.pool;
        off_runtime(move || run_on(pool, slot, f))
    }

    /// Runs `f` in one transaction and commits it (rolls back on error).
    fn in_tx<R: Send>(&self, f: impl FnOnce(&mut Client) -> Result<R> + Send) -> Result<R> {
        self.with(|c| {
            begin(c)?;
            let result = f(c);
            finish_tx(c, result)
        })
    }

    /// One transaction around a step that must run on the caller's thread (a closure the
    /// service passes, which may touch kb.db): `first` reads (and locks) in the transaction,
    /// `local` decides, `second` writes what it decided and the transaction commits. An error
    /// anywhere rolls everything back.
    fn split_tx<A: Send, B: Sync>(
        &self,
        first: impl FnOnce(&mut Client) -> Result<A> + Send,
        local: impl FnOnce(A) -> Result<B>,
        second: impl FnOnce(&mut Client, &B) -> Result<()> + Send,
    ) -> Result<B> {
        let mut guard = self.slot();
        let slot: &mut Option<Conn> = &mut guard;
        let pool = &self.pool;
        let a = off_runtime(|| {
            run_on(pool, slot, |c| {
                begin(c)?;
                let a = first(c);
                if a.is_err() {
                    let _ = c.batch_execute("ROLLBACK");
                }
                a
            })
        })?;
        // An error or a panic in `local` must not leave the transaction open on a connection
        // kept for reuse.
        let rollback = |slot: &mut Option<Conn>| {
            off_runtime(|| {
                if let Some(c) = slot.as_mut() {
                    let _ = c.batch_execute("ROLLBACK");
                }
            })
        };
        let b = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| local(a))) {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                rollback(slot);
                return Err(e);
            }
            Err(panic) => {
                rollback(slot);
                std::panic::resume_unwind(panic)
            }
        };
        off_runtime(|| {
            let c = slot
                .as_mut()
                .ok_or_else(|| Error::Internal("the catalog connection went away mid-transaction".into()))?;
            let done = second(c, &b);
            finish_tx(c, done)
        })?;
        Ok(b)
    }

    fn insert_audit(c: &mut impl postgres::GenericClient, a: &NewAudit) -> Result<()> {
        c.execute(
            "INSERT INTO audit_log (tenant_id, at, user_id, real_user, action, kb_id, outcome, detail, api_key_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &a.tenant_id.unwrap_or(Uuid::nil()),
                &crate::time::now(),
                &a.user,
                &a.real_user,
                &a.action,
                &a.kb_id,
                &a.outcome.as_str(),
                &a.detail,
                &a.api_key_id,
            ],
        )
        .map_err(|e| pg_error("cannot write the audit log", e))?;
        Ok(())
    }
}

/// Runs `f` on the connection in `slot`, checking one out first (or again, after a loss).
pub(crate) fn run_on<R>(pool: &Pool, slot: &mut Option<Conn>, f: impl FnOnce(&mut PgClient) -> Result<R>) -> Result<R> {
    if slot.as_mut().is_none_or(|c| !pool.usable(c)) {
        *slot = None;
        *slot = Some(pool.get()?);
    }
    let conn = slot.as_mut().expect("a connection was just checked out");
    let result = f(conn);
    if conn.is_closed() {
        *slot = None;
    }
    result
}

pub(crate) fn begin(c: &mut Client) -> Result<()> {
    c.batch_execute("BEGIN")
        .map_err(|e| pg_error("cannot start a catalog transaction", e))
}

pub(crate) fn finish_tx<R>(c: &mut Client, result: Result<R>) -> Result<R> {
    match result {
        Ok(v) => {
            c.batch_execute("COMMIT")
                .map_err(|e| pg_error("cannot commit to the catalog", e))?;
            Ok(v)
        }
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}

impl Drop for PgCatalog {
    fn drop(&mut self) {
        // A lost connection is dropped by the pool, which closes it through the client's own
        // runtime: not from inside a tokio task.
        let slot = self.conn.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = slot.take() {
            off_runtime(move || drop(conn));
        }
    }
}

fn json_map(text: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Ok(serde_json::Map::new()),
        Err(e) => Err(Error::Internal(format!("catalog holds malformed JSON: {e}"))),
    }
}

fn parse_role(role: &str) -> Result<Role> {
    role.parse()
        .map_err(|_| Error::Internal(format!("catalog holds an unknown role {role:?}")))
}

fn count(row: &Row, i: usize) -> u64 {
    row.get::<_, i64>(i).max(0) as u64
}

/// Three token counts from columns `i..i + 3`.
fn token_counts(row: &Row, i: usize) -> TokenCounts {
    TokenCounts {
        prompt_tokens: count(row, i),
        completion_tokens: count(row, i + 1),
        embedding_tokens: count(row, i + 2),
    }
}

/// A count as PostgreSQL's BIGINT, clamped rather than wrapped past `i64::MAX`.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Tenants

const TENANT: &str = "SELECT t.tenant_id, t.name, t.description, t.config, t.quota, t.metadata, t.is_active,
        t.is_builtin, t.created_at, t.updated_at, t.created_by,
        (SELECT count(*) FROM knowledge_bases k WHERE k.tenant_id = t.tenant_id),
        (SELECT coalesce(sum(document_count), 0)::bigint FROM knowledge_bases k WHERE k.tenant_id = t.tenant_id),
        (SELECT coalesce(sum(storage_bytes), 0)::bigint FROM knowledge_bases k WHERE k.tenant_id = t.tenant_id)
    FROM tenants t";

fn tenant_row(r: &Row) -> Result<TenantRecord> {
    Ok(TenantRecord {
        id: r.get(0),
        name: r.get(1),
        description: r.get(2),
        config: json_map(r.get(3))?,
        quota: json_map(r.get(4))?,
        metadata: json_map(r.get(5))?,
        is_active: r.get(6),
        is_builtin: r.get(7),
        created_at: r.get(8),
        updated_at: r.get(9),
        created_by: r.get(10),
        kb_count: count(r, 11),
        total_documents: count(r, 12),
        total_storage_bytes: count(r, 13),
    })
}

/// The tenant `clause` picks, by its one parameter. Here and in the other lookups every
/// request makes (tenant, membership, KB), the connection's prepared statement: one round
/// trip each, no planning.
fn one_tenant(
    c: &mut Client,
    clause: &str,
    arg: (&(dyn postgres::types::ToSql + Sync), Type),
) -> Result<Option<TenantRecord>> {
    c.query_typed(&format!("{TENANT} WHERE {clause}"), &[arg])
        .map_err(|e| pg_error("cannot read tenant", e))?
        .first()
        .map(tenant_row)
        .transpose()
}

fn insert_member(c: &mut Client, tenant: Uuid, user: &str, role: Role, by: Option<&str>, now: &str) -> Result<()> {
    c.execute(
        "INSERT INTO tenant_memberships (tenant_id, user_id, role, created_at, created_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $4)",
        &[&tenant, &user, &role.as_str(), &now, &by],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            super::members::already_member(user)
        } else {
            pg_error("cannot add member", e)
        }
    })?;
    Ok(())
}

impl PgCatalog {
    pub fn tenant(&self, id: Uuid) -> Result<Option<TenantRecord>> {
        self.with(|c| one_tenant(c, "t.tenant_id = $1", (&id, Type::UUID)))
    }

    pub fn tenant_by_name(&self, name: &str) -> Result<Option<TenantRecord>> {
        let key = name_key(name);
        self.with(|c| one_tenant(c, "t.name_key = $1", (&key, Type::TEXT)))
    }

    pub fn builtin_tenant(&self) -> Result<Option<TenantRecord>> {
        self.with(|c| one_tenant(c, "t.is_builtin AND $1", (&true, Type::BOOL)))
    }

    pub fn tenants(&self, filter: &TenantListFilter<'_>) -> Result<(Vec<TenantRecord>, u64)> {
        let offset = filter
            .page
            .saturating_sub(1)
            .checked_mul(filter.page_size)
            .and_then(|o| i64::try_from(o).ok());
        let limit = i64::try_from(filter.page_size).unwrap_or(i64::MAX);
        let member = filter.member.map(str::to_string);
        self.with(move |c| {
            let read = |e| pg_error("cannot list tenants", e);
            let total: i64 = match &member {
                Some(user) => c.query_one("SELECT count(*) FROM tenant_memberships WHERE user_id = $1", &[user]),
                None => c.query_one("SELECT count(*) FROM tenants", &[]),
            }
            .map_err(read)?
            .get(0);
            let Some(offset) = offset else {
                return Ok((Vec::new(), total as u64));
            };
            let rows = match &member {
                Some(user) => c.query(
                    &format!(
                        "{TENANT} WHERE t.tenant_id IN (SELECT tenant_id FROM tenant_memberships WHERE user_id = $3)
                         ORDER BY lower(t.name), t.name, t.tenant_id LIMIT $1 OFFSET $2"
                    ),
                    &[&limit, &offset, user],
                ),
                None => c.query(
                    &format!("{TENANT} ORDER BY lower(t.name), t.name, t.tenant_id LIMIT $1 OFFSET $2"),
                    &[&limit, &offset],
                ),
            }
            .map_err(read)?;
            let tenants = rows.iter().map(tenant_row).collect::<Result<Vec<_>>>()?;
            Ok((tenants, total as u64))
        })
    }

    pub fn create_tenant(&mut self, rec: &TenantRecord, admin: Option<&str>, audit: &NewAudit) -> Result<()> {
        let layout = &self.layout;
        let result = self.in_tx(|c| {
            c.execute(
                "INSERT INTO tenants (tenant_id, name, name_key, description, config, quota, metadata, is_active,
                    is_builtin, created_at, updated_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
                &[
                    &rec.id,
                    &rec.name,
                    &name_key(&rec.name),
                    &rec.description,
                    &super::to_json(&rec.config),
                    &super::to_json(&rec.quota),
                    &super::to_json(&rec.metadata),
                    &rec.is_active,
                    &rec.is_builtin,
                    &rec.created_at,
                    &rec.created_by,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    super::tenants::name_conflict(&rec.name)
                } else {
                    pg_error("cannot create tenant", e)
                }
            })?;
            if let Some(user) = admin {
                insert_member(c, rec.id, user, Role::Admin, rec.created_by.as_deref(), &rec.created_at)?;
            }
            Self::insert_audit(c, audit)?;
            layout.create_tenant_dir(rec.id).map(drop)
        });
        if result.is_err() && self.tenant(rec.id).ok().flatten().is_none() {
            let _ = self.layout.remove_dir(&self.layout.tenant_dir(rec.id));
        }
        result
    }

    pub fn update_tenant(
        &mut self,
        id: Uuid,
        audit: &NewAudit,
        change: impl FnOnce(&mut TenantRecord) -> Result<()>,
    ) -> Result<TenantRecord> {
        let now = crate::time::now();
        self.split_tx(
            |c| {
                one_tenant(c, "t.tenant_id = $1 FOR UPDATE OF t", (&id, Type::UUID))?
                    .ok_or_else(|| Error::NotFound("the tenant no longer exists".into()))
            },
            |mut rec| {
                change(&mut rec)?;
                rec.updated_at = now.clone();
                Ok(rec)
            },
            |c, rec| {
                c.execute(
                    "UPDATE tenants SET name = $2, name_key = $3, description = $4, config = $5, quota = $6,
                        metadata = $7, is_active = $8, updated_at = $9 WHERE tenant_id = $1",
                    &[
                        &id,
                        &rec.name,
                        &name_key(&rec.name),
                        &rec.description,
                        &super::to_json(&rec.config),
                        &super::to_json(&rec.quota),
                        &super::to_json(&rec.metadata),
                        &rec.is_active,
                        &rec.updated_at,
                    ],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        super::tenants::name_conflict(&rec.name)
                    } else {
                        pg_error("cannot update tenant", e)
                    }
                })?;
                Self::insert_audit(c, audit)
            },
        )
    }

    pub fn delete_tenant(&mut self, id: Uuid, audit: &NewAudit) -> Result<()> {
        self.in_tx(|c| {
            crate::store::pg::delete_rows(c, id, None).map_err(|e| pg_error("cannot delete the tenant's data", e))?;
            c.execute("DELETE FROM tenants WHERE tenant_id = $1", &[&id])
                .map_err(|e| pg_error("cannot delete tenant", e))?;
            Self::insert_audit(c, audit)
        })?;
        self.layout.remove_dir(&self.layout.tenant_dir(id))
    }

    pub fn context(&self, user: &str) -> Result<(Option<Uuid>, Option<Uuid>)> {
        self.with(|c| {
            let row = c
                .query_opt(
                    "SELECT tenant_id, kb_id FROM user_contexts WHERE user_id = $1 ORDER BY updated_at DESC LIMIT 1",
                    &[&user],
                )
                .map_err(|e| pg_error("cannot read the current context", e))?;
            Ok(row.map_or((None, None), |r| (Some(r.get(0)), r.get(1))))
        })
    }

    pub fn set_context(&mut self, user: &str, tenant: Option<Uuid>, kb: Option<Uuid>) -> Result<()> {
        let now = crate::time::now();
        self.in_tx(|c| {
            let write = |e| pg_error("cannot save the current context", e);
            // One row per user: writers of the same user's context take turns.
            c.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('lrt_context:' || $1, 0))",
                &[&user],
            )
            .map_err(write)?;
            c.execute("DELETE FROM user_contexts WHERE user_id = $1", &[&user])
                .map_err(write)?;
            if let Some(t) = tenant {
                c.execute(
                    "INSERT INTO user_contexts (tenant_id, user_id, kb_id, updated_at) VALUES ($1, $2, $3, $4)",
                    &[&t, &user, &kb, &now],
                )
                .map_err(write)?;
            }
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Knowledge bases

const KB: &str = "SELECT kb_id, tenant_id, name, description, config, is_active, created_at, updated_at,
        created_by, document_count, entity_count, relation_count, storage_bytes
    FROM knowledge_bases";

fn kb_row(r: &Row) -> Result<KbRecord> {
    Ok(KbRecord {
        id: r.get(0),
        tenant_id: r.get(1),
        name: r.get(2),
        description: r.get(3),
        config: json_map(r.get(4))?,
        is_active: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
        created_by: r.get(8),
        stats: KbStats {
            document_count: count(r, 9),
            entity_count: count(r, 10),
            relation_count: count(r, 11),
            storage_bytes: count(r, 12),
        },
    })
}

/// Takes the tenant's row lock: quota decisions about one tenant take turns.
fn lock_tenant(c: &mut Client, tenant: Uuid) -> Result<()> {
    c.query_opt("SELECT 1 FROM tenants WHERE tenant_id = $1 FOR UPDATE", &[&tenant])
        .map_err(|e| pg_error("cannot lock the tenant", e))?;
    Ok(())
}

impl PgCatalog {
    pub fn kb(&self, tenant: Uuid, id: Uuid) -> Result<Option<KbRecord>> {
        self.with(|c| {
            c.query_prepared(
                &format!("{KB} WHERE tenant_id = $1 AND kb_id = $2"),
                &[(&tenant, Type::UUID), (&id, Type::UUID)],
            )
            .map_err(|e| pg_error("cannot read knowledge base", e))?
            .first()
            .map(kb_row)
            .transpose()
        })
    }

    pub fn reserved_documents(&self, tenant: Uuid, kb: Uuid) -> Result<u64> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT reserved_documents FROM knowledge_bases WHERE tenant_id = $1 AND kb_id = $2",
                &[&tenant, &kb],
            )
            .map_err(|e| pg_error("cannot read reserved documents", e))?
            .map_or(0, |r| count(&r, 0)))
        })
    }

    pub fn kb_by_name(&self, tenant: Uuid, name: &str) -> Result<Option<KbRecord>> {
        let key = name_key(name);
        self.with(|c| {
            c.query_opt(
                &format!("{KB} WHERE tenant_id = $1 AND name_key = $2"),
                &[&tenant, &key],
            )
            .map_err(|e| pg_error("cannot read knowledge base", e))?
            .as_ref()
            .map(kb_row)
            .transpose()
        })
    }

    pub fn kbs(&self, tenant: Uuid) -> Result<Vec<KbRecord>> {
        self.with(|c| {
            c.query(
                &format!("{KB} WHERE tenant_id = $1 ORDER BY lower(name), name, kb_id"),
                &[&tenant],
            )
            .map_err(|e| pg_error("cannot list knowledge bases", e))?
            .iter()
            .map(kb_row)
            .collect()
        })
    }

    pub fn create_kb(&mut self, rec: &KbRecord, max_kbs: u64, audit: &NewAudit) -> Result<()> {
        let layout = &self.layout;
        let result = self.in_tx(|c| {
            lock_tenant(c, rec.tenant_id)?;
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM knowledge_bases WHERE tenant_id = $1",
                    &[&rec.tenant_id],
                )
                .map_err(|e| pg_error("cannot count knowledge bases", e))?
                .get(0);
            if n as u64 >= max_kbs {
                return Err(super::kbs::quota_exceeded(n, max_kbs));
            }
            c.execute(
                "INSERT INTO knowledge_bases (tenant_id, kb_id, name, name_key, description, config, is_active,
                    created_at, updated_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
                &[
                    &rec.tenant_id,
                    &rec.id,
                    &rec.name,
                    &name_key(&rec.name),
                    &rec.description,
                    &super::to_json(&rec.config),
                    &rec.is_active,
                    &rec.created_at,
                    &rec.created_by,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    super::kbs::name_conflict(&rec.name)
                } else {
                    pg_error("cannot create knowledge base", e)
                }
            })?;
            Self::insert_audit(c, audit)?;
            layout.create_kb_dir(rec.tenant_id, rec.id).map(drop)
        });
        if result.is_err() && self.kb(rec.tenant_id, rec.id).ok().flatten().is_none() {
            let _ = self.layout.remove_dir(&self.layout.kb_dir(rec.tenant_id, rec.id));
        }
        result
    }

    pub fn update_kb(
        &mut self,
        tenant: Uuid,
        id: Uuid,
        audit: &NewAudit,
        change: impl FnOnce(&mut KbRecord) -> Result<()>,
    ) -> Result<KbRecord> {
        let now = crate::time::now();
        self.split_tx(
            |c| {
                c.query_opt(
                    &format!("{KB} WHERE tenant_id = $1 AND kb_id = $2 FOR UPDATE"),
                    &[&tenant, &id],
                )
                .map_err(|e| pg_error("cannot read knowledge base", e))?
                .as_ref()
                .map(kb_row)
                .transpose()?
                .ok_or_else(|| Error::NotFound("the knowledge base no longer exists".into()))
            },
            |mut rec| {
                change(&mut rec)?;
                rec.updated_at = now.clone();
                Ok(rec)
            },
            |c, rec| {
                c.execute(
                    "UPDATE knowledge_bases SET name = $3, name_key = $4, description = $5, config = $6, updated_at = $7
                     WHERE tenant_id = $1 AND kb_id = $2",
                    &[
                        &tenant,
                        &id,
                        &rec.name,
                        &name_key(&rec.name),
                        &rec.description,
                        &super::to_json(&rec.config),
                        &rec.updated_at,
                    ],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        super::kbs::name_conflict(&rec.name)
                    } else {
                        pg_error("cannot update knowledge base", e)
                    }
                })?;
                Self::insert_audit(c, audit)
            },
        )
    }

    pub fn admit_documents<T>(
        &mut self,
        tenant: Uuid,
        kb: Uuid,
        reserve: u64,
        check: impl FnOnce(&TenantUsage) -> Result<T>,
    ) -> Result<T> {
        let mut decided = None;
        self.split_tx(
            |c| {
                lock_tenant(c, tenant)?;
                let r = c
                    .query_one(
                        "SELECT coalesce(sum(document_count + reserved_documents), 0)::bigint,
                                coalesce(sum(storage_bytes), 0)::bigint,
                                coalesce(sum(CASE WHEN kb_id = $2 THEN document_count END), 0)::bigint
                         FROM knowledge_bases WHERE tenant_id = $1",
                        &[&tenant, &kb],
                    )
                    .map_err(|e| pg_error("cannot count documents", e))?;
                Ok(TenantUsage {
                    documents: count(&r, 0),
                    storage_bytes: count(&r, 1),
                    kb_documents: count(&r, 2),
                })
            },
            |usage| {
                decided = Some(check(&usage)?);
                Ok(())
            },
            |c, ()| {
                if reserve > 0 {
                    c.execute(
                        "UPDATE knowledge_bases SET reserved_documents = reserved_documents + $3
                         WHERE tenant_id = $1 AND kb_id = $2",
                        &[&tenant, &kb, &(reserve as i64)],
                    )
                    .map_err(|e| pg_error("cannot reserve documents", e))?;
                }
                Ok(())
            },
        )?;
        decided.ok_or_else(|| Error::Internal("admission decided nothing".into()))
    }

    pub fn release_documents(&mut self, tenant: Uuid, kb: Uuid, documents: Option<u64>) -> Result<()> {
        let n = documents.map(|n| n as i64);
        self.with(|c| {
            c.execute(
                "UPDATE knowledge_bases
                 SET reserved_documents = greatest(0, reserved_documents - coalesce($3, reserved_documents))
                 WHERE tenant_id = $1 AND kb_id = $2",
                &[&tenant, &kb, &n],
            )
            .map_err(|e| pg_error("cannot release reserved documents", e))?;
            Ok(())
        })
    }

    pub fn set_kb_stats(&mut self, tenant: Uuid, id: Uuid, stats: KbStats) -> Result<()> {
        self.with(|c| write_kb_stats(c, tenant, id, stats))
    }

    pub fn delete_kb(&mut self, tenant: Uuid, id: Uuid, audit: &NewAudit) -> Result<()> {
        self.in_tx(|c| {
            crate::store::pg::delete_rows(c, tenant, Some(id))
                .map_err(|e| pg_error("cannot delete the knowledge base's data", e))?;
            c.execute(
                "DELETE FROM knowledge_bases WHERE tenant_id = $1 AND kb_id = $2",
                &[&tenant, &id],
            )
            .map_err(|e| pg_error("cannot delete knowledge base", e))?;
            Self::insert_audit(c, audit)
        })?;
        self.layout.remove_dir(&self.layout.kb_dir(tenant, id))
    }
}

// ---------------------------------------------------------------------------------------------
// Members

const MEMBER: &str = "SELECT tenant_id, user_id, role, created_at, created_by, updated_at FROM tenant_memberships";

fn member_row(r: &Row) -> Result<Member> {
    Ok(Member {
        tenant_id: r.get::<_, Uuid>(0).to_string(),
        user_id: r.get(1),
        role: parse_role(r.get(2))?,
        created_at: r.get(3),
        created_by: r.get(4),
        updated_at: r.get(5),
    })
}

/// The member's role, locking the row.
fn role_for_update(c: &mut Client, tenant: Uuid, user: &str) -> Result<Role> {
    let role: Option<String> = c
        .query_opt(
            "SELECT role FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
            &[&tenant, &user],
        )
        .map_err(|e| pg_error("cannot read member", e))?
        .map(|r| r.get(0));
    parse_role(&role.ok_or_else(|| Error::NotFound(format!("'{user}' is not a member of this tenant")))?)
}

/// Refuses a change that would leave a tenant that has admins with none (under the tenant's
/// lock, so two demotions cannot both pass).
fn ensure_not_last_admin(c: &mut Client, tenant: Uuid, user: &str, doing: &str) -> Result<()> {
    let admins: i64 = c
        .query_one(
            "SELECT count(*) FROM tenant_memberships WHERE tenant_id = $1 AND role = 'admin'",
            &[&tenant],
        )
        .map_err(|e| pg_error("cannot count admins", e))?
        .get(0);
    super::members::last_admin_rule(admins, user, doing)
}

impl PgCatalog {
    pub fn role(&self, tenant: Uuid, user: &str) -> Result<Option<Role>> {
        self.with(|c| {
            c.query_prepared(
                "SELECT role FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2",
                &[(&tenant, Type::UUID), (&user, Type::TEXT)],
            )
            .map_err(|e| pg_error("cannot read membership", e))?
            .first()
            .map(|r| parse_role(r.get(0)))
            .transpose()
        })
    }

    pub fn members(&self, tenant: Uuid) -> Result<Vec<Member>> {
        self.with(|c| {
            c.query(&format!("{MEMBER} WHERE tenant_id = $1 ORDER BY user_id"), &[&tenant])
                .map_err(|e| pg_error("cannot list members", e))?
                .iter()
                .map(member_row)
                .collect()
        })
    }

    pub fn memberships(&self, user: &str) -> Result<Vec<(Uuid, String, Role)>> {
        self.with(|c| {
            c.query(
                "SELECT t.tenant_id, t.name, m.role FROM tenant_memberships m JOIN tenants t USING (tenant_id)
                 WHERE m.user_id = $1 ORDER BY lower(t.name), t.name, t.tenant_id",
                &[&user],
            )
            .map_err(|e| pg_error("cannot list memberships", e))?
            .iter()
            .map(|r| Ok((r.get(0), r.get(1), parse_role(r.get(2))?)))
            .collect()
        })
    }

    pub fn add_member(&mut self, tenant: Uuid, user: &str, role: Role, by: &str, audit: &NewAudit) -> Result<Member> {
        let now = crate::time::now();
        self.in_tx(|c| {
            insert_member(c, tenant, user, role, Some(by), &now)?;
            Self::insert_audit(c, audit)
        })?;
        Ok(super::members::added(tenant, user, role, by, now))
    }

    pub fn set_role(&mut self, tenant: Uuid, user: &str, role: Role, audit: &NewAudit) -> Result<Member> {
        let now = crate::time::now();
        self.in_tx(|c| {
            lock_tenant(c, tenant)?;
            let current = role_for_update(c, tenant, user)?;
            if current == Role::Admin && role != Role::Admin {
                ensure_not_last_admin(c, tenant, user, "demote")?;
            }
            let row = c
                .query_one(
                    "UPDATE tenant_memberships SET role = $3, updated_at = $4 WHERE tenant_id = $1 AND user_id = $2
                     RETURNING tenant_id, user_id, role, created_at, created_by, updated_at",
                    &[&tenant, &user, &role.as_str(), &now],
                )
                .map_err(|e| pg_error("cannot update member", e))?;
            Self::insert_audit(c, audit)?;
            member_row(&row)
        })
    }

    pub fn remove_member(&mut self, tenant: Uuid, user: &str, audit: &NewAudit) -> Result<()> {
        let now = crate::time::now();
        self.in_tx(|c| {
            lock_tenant(c, tenant)?;
            if role_for_update(c, tenant, user)? == Role::Admin {
                ensure_not_last_admin(c, tenant, user, "remove")?;
            }
            c.execute(
                "DELETE FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2",
                &[&tenant, &user],
            )
            .map_err(|e| pg_error("cannot remove member", e))?;
            // Removal revokes: the member's keys must not come back if the user is added again.
            c.execute(
                "UPDATE api_keys SET revoked_at = $3, revoked_by = $4
                 WHERE tenant_id = $1 AND created_by = $2 AND revoked_at IS NULL",
                &[&tenant, &user, &now, &audit.user],
            )
            .map_err(|e| pg_error("cannot revoke the member's API keys", e))?;
            Self::insert_audit(c, audit)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// API keys

const KEY: &str = "SELECT key_id, prefix, key_hash, name, tenant_id, kb_id, role, created_by, created_at, \
                   expires_at, last_used_at, revoked_at, revoked_by FROM api_keys";

fn key_row(r: &Row) -> Result<KeyRecord> {
    let hash: Vec<u8> = r.get(2);
    Ok(KeyRecord {
        info: ApiKey {
            key_id: r.get(0),
            prefix: r.get(1),
            name: r.get(3),
            tenant_id: r.get(4),
            kb_id: r.get(5),
            role: parse_role(r.get(6))?,
            created_by: r.get(7),
            created_at: r.get(8),
            expires_at: r.get(9),
            last_used_at: r.get(10),
            revoked_at: r.get(11),
            revoked_by: r.get(12),
        },
        hash: hash
            .try_into()
            .map_err(|_| Error::Internal("catalog holds a malformed key hash".into()))?,
    })
}

impl PgCatalog {
    pub fn create_key(&mut self, key: &KeyRecord, audit: &NewAudit) -> Result<()> {
        let k = &key.info;
        self.in_tx(|c| {
            // Prefixes are unique installation-wide (72 random bits: a clash is a retry).
            c.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('lrt_key:' || $1, 0))",
                &[&k.prefix],
            )
            .map_err(|e| pg_error("cannot store the API key", e))?;
            let taken = c
                .query_opt("SELECT 1 FROM api_keys WHERE prefix = $1", &[&k.prefix])
                .map_err(|e| pg_error("cannot store the API key", e))?;
            if taken.is_some() {
                return Err(Error::Conflict("an API key with this prefix exists already".into()));
            }
            c.execute(
                "INSERT INTO api_keys (tenant_id, key_id, prefix, key_hash, name, kb_id, role, created_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &k.tenant_id,
                    &k.key_id,
                    &k.prefix,
                    &key.hash.as_slice(),
                    &k.name,
                    &k.kb_id,
                    &k.role.as_str(),
                    &k.created_by,
                    &k.created_at,
                    &k.expires_at,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict("an API key with this prefix exists already".into())
                } else {
                    pg_error("cannot store the API key", e)
                }
            })?;
            Self::insert_audit(c, audit)
        })
    }

    fn key_where(&self, clause: &str, arg: &(dyn postgres::types::ToSql + Sync)) -> Result<Option<KeyRecord>> {
        self.with(|c| {
            c.query_opt(&format!("{KEY} WHERE {clause}"), &[arg])
                .map_err(|e| pg_error("cannot read the API key", e))?
                .as_ref()
                .map(key_row)
                .transpose()
        })
    }

    pub fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>> {
        self.key_where("prefix = $1", &prefix)
    }

    pub fn key(&self, id: Uuid) -> Result<Option<KeyRecord>> {
        self.key_where("key_id = $1", &id)
    }

    pub fn keys(&self, filter: &KeyFilter<'_>) -> Result<Vec<KeyRecord>> {
        let tenant = filter.tenant;
        let user = filter.created_by.map(str::to_string);
        self.with(|c| {
            c.query(
                &format!(
                    "{KEY} WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR created_by = $2)
                     ORDER BY created_at DESC, key_id"
                ),
                &[&tenant, &user],
            )
            .map_err(|e| pg_error("cannot list API keys", e))?
            .iter()
            .map(key_row)
            .collect()
        })
    }

    pub fn revoke_key(&mut self, id: Uuid, by: &str, audit: &NewAudit) -> Result<KeyRecord> {
        let now = crate::time::now();
        self.in_tx(|c| {
            let row = c
                .query_opt(
                    &format!(
                        "UPDATE api_keys SET revoked_at = $2, revoked_by = $3 WHERE key_id = $1 AND revoked_at IS NULL
                         RETURNING {}",
                        &KEY["SELECT ".len()..KEY.find(" FROM").unwrap_or(KEY.len())]
                    ),
                    &[&id, &now, &by],
                )
                .map_err(|e| pg_error("cannot revoke the API key", e))?
                .ok_or_else(|| Error::Conflict(format!("API key {id} is already revoked")))?;
            Self::insert_audit(c, audit)?;
            key_row(&row)
        })
    }

    pub fn touch_key(&self, id: Uuid, now: &str, since: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                &[&id, &now, &since],
            )
            .map_err(|e| pg_error("cannot record the API key's use", e))?;
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log and usage

/// The audit log's filter: tenants `$1`, user `$2` (as themselves or as the real user),
/// since `$3`.
const AUDIT_WHERE: &str = "WHERE ($1::uuid[] IS NULL OR tenant_id = ANY($1))
                   AND ($2::text IS NULL OR user_id = $2 OR real_user = $2)
                   AND ($3::text IS NULL OR at >= $3)";

impl PgCatalog {
    pub fn audit(&self, entry: &NewAudit) -> Result<()> {
        self.with(|c| Self::insert_audit(&mut **c, entry))
    }

    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let tenants = filter.tenants.clone();
        let user = filter.user.clone();
        let since = filter.since.clone();
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT id, at, user_id, real_user, action, tenant_id, kb_id, outcome, detail, api_key_id \
                     FROM audit_log {AUDIT_WHERE} ORDER BY id DESC LIMIT $4 OFFSET $5"
                ),
                &[&tenants, &user, &since, &limit, &offset],
            )
            .map_err(|e| pg_error("cannot read the audit log", e))?
            .iter()
            .map(|r| {
                let tenant: Uuid = r.get(5);
                let outcome: &str = r.get(7);
                Ok(AuditEntry {
                    id: r.get(0),
                    at: r.get(1),
                    user_id: r.get(2),
                    real_user: r.get(3),
                    action: r.get(4),
                    tenant_id: (!tenant.is_nil()).then(|| tenant.to_string()),
                    kb_id: r.get::<_, Option<Uuid>>(6).map(|k| k.to_string()),
                    outcome: if outcome == "ok" { Outcome::Ok } else { Outcome::Denied },
                    detail: r.get(8),
                    api_key_id: r.get::<_, Option<Uuid>>(9).map(|k| k.to_string()),
                })
            })
            .collect()
        })
    }

    /// How many rows `filter` matches on all pages (its `limit` and `offset` aside).
    pub fn audit_count(&self, filter: &AuditFilter) -> Result<u64> {
        let (tenants, user, since) = (filter.tenants.clone(), filter.user.clone(), filter.since.clone());
        self.with(|c| {
            c.query_one(
                &format!("SELECT count(*) FROM audit_log {AUDIT_WHERE}"),
                &[&tenants, &user, &since],
            )
            .map(|r| r.get::<_, i64>(0) as u64)
            .map_err(|e| pg_error("cannot read the audit log", e))
        })
    }

    /// Counts one API call unless `limit` are counted: one conditional upsert, atomic under
    /// the usage row's lock whichever process runs it.
    pub fn charge_api_call(&mut self, tenant: Uuid, period: &str, limit: u64) -> Result<Charge> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            if limit > 0 {
                let counted = c
                    .query_opt(
                        "INSERT INTO tenant_usage (tenant_id, period, api_calls) VALUES ($1, $2, 1)
                         ON CONFLICT (tenant_id, period) DO UPDATE SET api_calls = tenant_usage.api_calls + 1
                         WHERE tenant_usage.api_calls < $3
                         RETURNING api_calls",
                        &[&tenant, &period, &limit],
                    )
                    .map_err(|e| pg_error("cannot count the API call", e))?;
                if let Some(row) = counted {
                    return Ok(Charge::Counted(count(&row, 0)));
                }
            }
            Ok(Charge::Refused(calls(c, tenant, period)?))
        })
    }

    pub fn api_calls(&self, tenant: Uuid, period: &str) -> Result<u64> {
        self.with(|c| calls(c, tenant, period))
    }

    /// Adds `tokens` to the KB's row for `period` (one upsert: concurrent callers add up).
    pub fn add_tokens(&mut self, tenant: Uuid, kb: Uuid, period: &str, tokens: TokenCounts) -> Result<()> {
        if tokens.is_zero() {
            return Ok(());
        }
        let [prompt, completion, embedding] =
            [tokens.prompt_tokens, tokens.completion_tokens, tokens.embedding_tokens].map(big);
        self.with(|c| {
            c.execute(
                "INSERT INTO token_usage (tenant_id, kb_id, period, prompt_tokens, completion_tokens, embedding_tokens)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, kb_id, period) DO UPDATE SET
                   prompt_tokens = token_usage.prompt_tokens + $4,
                   completion_tokens = token_usage.completion_tokens + $5,
                   embedding_tokens = token_usage.embedding_tokens + $6",
                &[&tenant, &kb, &period, &prompt, &completion, &embedding],
            )
            .map_err(|e| pg_error("cannot record the tokens used", e))?;
            Ok(())
        })
    }

    /// The tenant's tokens in `period`, all KBs together.
    pub fn tenant_tokens(&self, tenant: Uuid, period: &str) -> Result<TokenCounts> {
        self.with(|c| {
            let row = c
                .query_one(
                    "SELECT COALESCE(SUM(prompt_tokens), 0)::BIGINT, COALESCE(SUM(completion_tokens), 0)::BIGINT,
                            COALESCE(SUM(embedding_tokens), 0)::BIGINT
                     FROM token_usage WHERE tenant_id = $1 AND period = $2",
                    &[&tenant, &period],
                )
                .map_err(|e| pg_error("cannot read the tenant's tokens", e))?;
            Ok(token_counts(&row, 0))
        })
    }

    /// The tenant's token rows with `from <= period <= to` (`YYYY-MM`), by period then KB id.
    pub fn token_usage(&self, tenant: Uuid, from: &str, to: &str) -> Result<Vec<TokenUsageRow>> {
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT kb_id, period, prompt_tokens, completion_tokens, embedding_tokens FROM token_usage
                     WHERE tenant_id = $1 AND period >= $2 AND period <= $3 ORDER BY period, kb_id::TEXT",
                    &[&tenant, &from, &to],
                )
                .map_err(|e| pg_error("cannot read token usage", e))?;
            Ok(rows
                .iter()
                .map(|r| TokenUsageRow {
                    kb_id: r.get(0),
                    period: r.get(1),
                    tokens: token_counts(r, 2),
                })
                .collect())
        })
    }
}

fn calls(c: &mut Client, tenant: Uuid, period: &str) -> Result<u64> {
    Ok(c.query_opt(
        "SELECT api_calls FROM tenant_usage WHERE tenant_id = $1 AND period = $2",
        &[&tenant, &period],
    )
    .map_err(|e| pg_error("cannot read the tenant's usage", e))?
    .map_or(0, |r| count(&r, 0)))
}

/// Writes a KB's statistics on `c` (inside whatever transaction it has open).
pub(crate) fn write_kb_stats(c: &mut Client, tenant: Uuid, id: Uuid, stats: KbStats) -> Result<()> {
    c.execute(
        "UPDATE knowledge_bases SET document_count = $3, entity_count = $4, relation_count = $5, storage_bytes = $6
         WHERE tenant_id = $1 AND kb_id = $2",
        &[
            &tenant,
            &id,
            &(stats.document_count as i64),
            &(stats.entity_count as i64),
            &(stats.relation_count as i64),
            &(stats.storage_bytes as i64),
        ],
    )
    .map_err(|e| pg_error("cannot update knowledge base statistics", e))?;
    Ok(())
}
