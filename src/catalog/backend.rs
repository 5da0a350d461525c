//! The catalog boundary: one type the service talks to, whichever database holds the catalog.
//! SQLite (`catalog.db`, the zero-set-up default) and PostgreSQL (`storage.backend =
//! "postgres"`) offer the same methods with the same guarantees (a mutation and its audit row
//! in one transaction; uniqueness and quotas decided inside the write transaction), and the
//! conformance suite (`tests/catalog_conformance.rs`) runs one set of tests against both. The
//! service never sees SQL or which backend it has.

use serde::Serialize;
use uuid::Uuid;

use super::pg::PgCatalog;
use super::{AuditFilter, Charge, KbRecord, KbStats, KeyFilter, KeyRecord, NewAudit, SqliteCatalog, TenantListFilter};
use super::{TenantRecord, TenantUsage, TokenUsageRow};
use crate::authz::Role;
use crate::config::{Backend, Settings};
use crate::error::{Result, StorageContext};
use crate::layout::Layout;
use crate::llm::usage::TokenCounts;
use crate::model::{AuditEntry, Member};
use crate::store::pg::PgKbRef;
use crate::store::{KbBackend, KbLocation};

/// An open catalog on one of the backends.
pub enum Catalog {
    Sqlite(SqliteCatalog),
    /// Boxed: a pooled connection is large, and a catalog is opened once per service.
    Postgres(Box<PgCatalog>),
}

/// Where a catalog's schema stands against this build (`lrt db status`).
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Where the catalog is, passwords masked.
    pub location: String,
    /// The schema version the database holds (0: empty).
    pub current: usize,
    /// The schema version this build writes.
    pub latest: usize,
    /// Versions this build would apply, in order.
    pub pending: Vec<usize>,
}

macro_rules! on {
    ($self:expr, $c:ident => $e:expr) => {{
        #[cfg(test)]
        calls::record(stringify!($e));
        match $self {
            Catalog::Sqlite($c) => $e,
            Catalog::Postgres($c) => $e,
        }
    }};
}

impl Catalog {
    /// Opens the configured catalog (SQLite under the data directory, or PostgreSQL) and
    /// brings its schema up to date; a schema newer than this build is refused.
    pub fn open(settings: &Settings) -> Result<Catalog> {
        let layout = Layout::new(settings.data_dir.value.clone());
        match settings.storage.backend.value {
            Backend::Sqlite => Ok(Catalog::Sqlite(SqliteCatalog::open(layout)?)),
            Backend::Postgres => {
                let pg = PgCatalog::open(&settings.storage.postgres()?, layout)?;
                Ok(Catalog::Postgres(Box::new(pg)))
            }
        }
    }

    /// `/health`'s database check: one round trip to the configured catalog's database,
    /// waiting at most `wait` for a connection (PostgreSQL), or a read of catalog.db (SQLite).
    /// Returns the round trip's time; an unreachable PostgreSQL is [`Error::Unavailable`].
    ///
    /// [`Error::Unavailable`]: crate::error::Error::Unavailable
    pub fn ping(settings: &Settings, wait: std::time::Duration) -> Result<std::time::Duration> {
        match settings.storage.backend.value {
            Backend::Sqlite => {
                let path = Layout::new(settings.data_dir.value.clone()).catalog_path();
                let start = std::time::Instant::now();
                let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .storage_ctx(|| format!("cannot open {}", path.display()))?;
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
                    .storage_ctx(|| format!("cannot read {}", path.display()))?;
                Ok(start.elapsed())
            }
            Backend::Postgres => super::pg::pool(&settings.storage.postgres()?)?.ping(wait),
        }
    }

    /// The configured catalog's schema version against this build's, without changing it.
    pub fn status(settings: &Settings) -> Result<MigrationStatus> {
        match settings.storage.backend.value {
            Backend::Sqlite => SqliteCatalog::status(&Layout::new(settings.data_dir.value.clone())),
            Backend::Postgres => PgCatalog::status(&settings.storage.postgres()?),
        }
    }

    /// Applies the configured catalog's pending migrations; returns the versions applied.
    pub fn migrate(settings: &Settings) -> Result<Vec<usize>> {
        match settings.storage.backend.value {
            Backend::Sqlite => SqliteCatalog::migrate_at(&Layout::new(settings.data_dir.value.clone())),
            Backend::Postgres => PgCatalog::migrate(&settings.storage.postgres()?),
        }
    }

    /// Every catalog row, read in one snapshot (`lrt db copy`).
    pub fn export_rows(&self) -> Result<super::copy::CatalogRows> {
        on!(self, c => c.export_rows())
    }

    /// Writes `rows` into this catalog, which must hold no tenant, in one transaction.
    pub fn import_rows(&mut self, rows: &super::copy::CatalogRows) -> Result<()> {
        on!(self, c => c.import_rows(rows))
    }

    pub fn layout(&self) -> &Layout {
        on!(self, c => c.layout())
    }

    /// Where a KB's data lives, with `dir` (its folder under the data directory) as its local
    /// folder: the whole KB on SQLite; on PostgreSQL, the derived index files, the rows being
    /// in the catalog's database.
    pub fn kb_location(&self, tenant: Uuid, kb: Uuid, dir: std::path::PathBuf) -> KbLocation {
        match self {
            Catalog::Sqlite(_) => KbLocation::sqlite(dir),
            Catalog::Postgres(c) => KbLocation {
                dir,
                backend: KbBackend::Postgres(PgKbRef {
                    pool: c.pool().clone(),
                    tenant,
                    kb,
                    fence: None,
                }),
            },
        }
    }

    pub fn context(&self, user: &str) -> Result<(Option<Uuid>, Option<Uuid>)> {
        on!(self, c => c.context(user))
    }

    pub fn set_context(&mut self, user: &str, tenant: Option<Uuid>, kb: Option<Uuid>) -> Result<()> {
        on!(self, c => c.set_context(user, tenant, kb))
    }

    pub fn tenant(&self, id: Uuid) -> Result<Option<TenantRecord>> {
        on!(self, c => c.tenant(id))
    }

    pub fn tenant_by_name(&self, name: &str) -> Result<Option<TenantRecord>> {
        on!(self, c => c.tenant_by_name(name))
    }

    pub fn builtin_tenant(&self) -> Result<Option<TenantRecord>> {
        on!(self, c => c.builtin_tenant())
    }

    pub fn tenants(&self, filter: &TenantListFilter<'_>) -> Result<(Vec<TenantRecord>, u64)> {
        on!(self, c => c.tenants(filter))
    }

    pub fn create_tenant(&mut self, rec: &TenantRecord, admin: Option<&str>, audit: &NewAudit) -> Result<()> {
        on!(self, c => c.create_tenant(rec, admin, audit))
    }

    pub fn update_tenant(
        &mut self,
        id: Uuid,
        audit: &NewAudit,
        change: impl FnOnce(&mut TenantRecord) -> Result<()>,
    ) -> Result<TenantRecord> {
        on!(self, c => c.update_tenant(id, audit, change))
    }

    pub fn delete_tenant(&mut self, id: Uuid, audit: &NewAudit) -> Result<()> {
        on!(self, c => c.delete_tenant(id, audit))
    }

    pub fn kb(&self, tenant: Uuid, id: Uuid) -> Result<Option<KbRecord>> {
        on!(self, c => c.kb(tenant, id))
    }

    pub fn reserved_documents(&self, tenant: Uuid, kb: Uuid) -> Result<u64> {
        on!(self, c => c.reserved_documents(tenant, kb))
    }

    pub fn kb_by_name(&self, tenant: Uuid, name: &str) -> Result<Option<KbRecord>> {
        on!(self, c => c.kb_by_name(tenant, name))
    }

    /// Every tenant with its KBs (for whole-data-directory work: `doctor`, the server's start-up
    /// scan for queued documents).
    pub fn all_tenants_with_kbs(&self) -> Result<Vec<(TenantRecord, Vec<KbRecord>)>> {
        let filter = TenantListFilter {
            member: None,
            page: 1,
            page_size: i64::MAX as u64,
        };
        let (tenants, _) = self.tenants(&filter)?;
        tenants
            .into_iter()
            .map(|t| {
                let kbs = self.kbs(t.id)?;
                Ok((t, kbs))
            })
            .collect()
    }

    pub fn kbs(&self, tenant: Uuid) -> Result<Vec<KbRecord>> {
        on!(self, c => c.kbs(tenant))
    }

    pub fn create_kb(&mut self, rec: &KbRecord, max_kbs: u64, audit: &NewAudit) -> Result<()> {
        on!(self, c => c.create_kb(rec, max_kbs, audit))
    }

    pub fn update_kb(
        &mut self,
        tenant: Uuid,
        id: Uuid,
        audit: &NewAudit,
        change: impl FnOnce(&mut KbRecord) -> Result<()>,
    ) -> Result<KbRecord> {
        on!(self, c => c.update_kb(tenant, id, audit, change))
    }

    /// See [`SqliteCatalog::admit_documents`]: the usage read, `check` and the reservation are
    /// one write transaction on either backend.
    pub fn admit_documents<T>(
        &mut self,
        tenant: Uuid,
        kb: Uuid,
        reserve: u64,
        check: impl FnOnce(&TenantUsage) -> Result<T>,
    ) -> Result<T> {
        on!(self, c => c.admit_documents(tenant, kb, reserve, check))
    }

    pub fn release_documents(&mut self, tenant: Uuid, kb: Uuid, documents: Option<u64>) -> Result<()> {
        on!(self, c => c.release_documents(tenant, kb, documents))
    }

    pub fn set_kb_stats(&mut self, tenant: Uuid, id: Uuid, stats: KbStats) -> Result<()> {
        on!(self, c => c.set_kb_stats(tenant, id, stats))
    }

    pub fn delete_kb(&mut self, tenant: Uuid, id: Uuid, audit: &NewAudit) -> Result<()> {
        on!(self, c => c.delete_kb(tenant, id, audit))
    }

    pub fn role(&self, tenant: Uuid, user: &str) -> Result<Option<Role>> {
        on!(self, c => c.role(tenant, user))
    }

    pub fn members(&self, tenant: Uuid) -> Result<Vec<Member>> {
        on!(self, c => c.members(tenant))
    }

    pub fn memberships(&self, user: &str) -> Result<Vec<(Uuid, String, Role)>> {
        on!(self, c => c.memberships(user))
    }

    pub fn add_member(&mut self, tenant: Uuid, user: &str, role: Role, by: &str, audit: &NewAudit) -> Result<Member> {
        on!(self, c => c.add_member(tenant, user, role, by, audit))
    }

    pub fn set_role(&mut self, tenant: Uuid, user: &str, role: Role, audit: &NewAudit) -> Result<Member> {
        on!(self, c => c.set_role(tenant, user, role, audit))
    }

    pub fn remove_member(&mut self, tenant: Uuid, user: &str, audit: &NewAudit) -> Result<()> {
        on!(self, c => c.remove_member(tenant, user, audit))
    }

    pub fn create_key(&mut self, key: &KeyRecord, audit: &NewAudit) -> Result<()> {
        on!(self, c => c.create_key(key, audit))
    }

    pub fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>> {
        on!(self, c => c.key_by_prefix(prefix))
    }

    pub fn key(&self, id: Uuid) -> Result<Option<KeyRecord>> {
        on!(self, c => c.key(id))
    }

    pub fn keys(&self, filter: &KeyFilter<'_>) -> Result<Vec<KeyRecord>> {
        on!(self, c => c.keys(filter))
    }

    pub fn revoke_key(&mut self, id: Uuid, by: &str, audit: &NewAudit) -> Result<KeyRecord> {
        on!(self, c => c.revoke_key(id, by, audit))
    }

    pub fn touch_key(&self, id: Uuid, now: &str, since: &str) -> Result<()> {
        on!(self, c => c.touch_key(id, now, since))
    }

    pub fn tokens_not_before(&self, user: &str) -> Result<Option<u64>> {
        on!(self, c => c.tokens_not_before(user))
    }

    pub fn revoke_tokens(&mut self, user: &str, not_before: u64, by: &str, audit: &NewAudit) -> Result<u64> {
        on!(self, c => c.revoke_tokens(user, not_before, by, audit))
    }

    pub fn audit(&self, entry: &NewAudit) -> Result<()> {
        on!(self, c => c.audit(entry))
    }

    /// Writes an installation-level denial unless `entry.user` already has `cap` of them
    /// since `since` (RFC 3339); the row that reaches the cap says so in its detail. Returns
    /// whether a row was written.
    pub fn audit_capped(&self, entry: &NewAudit, since: &str, cap: u64) -> Result<bool> {
        on!(self, c => c.audit_capped(entry, since, cap))
    }

    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        on!(self, c => c.audit_entries(filter))
    }

    pub fn audit_count(&self, filter: &AuditFilter) -> Result<u64> {
        on!(self, c => c.audit_count(filter))
    }

    pub fn charge_api_call(&mut self, tenant: Uuid, period: &str, limit: u64) -> Result<Charge> {
        on!(self, c => c.charge_api_call(tenant, period, limit))
    }

    pub fn api_calls(&self, tenant: Uuid, period: &str) -> Result<u64> {
        on!(self, c => c.api_calls(tenant, period))
    }

    pub fn add_tokens(&mut self, tenant: Uuid, kb: Uuid, period: &str, tokens: TokenCounts) -> Result<()> {
        on!(self, c => c.add_tokens(tenant, kb, period, tokens))
    }

    pub fn tenant_tokens(&self, tenant: Uuid, period: &str) -> Result<TokenCounts> {
        on!(self, c => c.tenant_tokens(tenant, period))
    }

    pub fn token_usage(&self, tenant: Uuid, from: &str, to: &str) -> Result<Vec<TokenUsageRow>> {
        on!(self, c => c.token_usage(tenant, from, to))
    }
}

/// The catalog calls made on this thread, in order (unit tests only): how a test shows that
/// two paths do the same catalog work, which timing alone cannot show reliably.
#[cfg(test)]
pub(crate) mod calls {
    use std::cell::RefCell;

    thread_local! {
        static CALLS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn record(call: &'static str) {
        CALLS.with(|c| c.borrow_mut().push(call));
    }

    /// The calls recorded since the last `take`.
    pub(crate) fn take() -> Vec<&'static str> {
        CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
    }
}
