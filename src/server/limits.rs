//! `max_concurrent_queries`. On SQLite (one process per data directory serves it): one
//! semaphore per tenant, sized by the tenant's effective quota; when the quota changes the tenant
//! gets a new semaphore, and queries holding permits of the old one finish undisturbed. On
//! PostgreSQL (several replicas on one database): a lease row per running query, admitted in the
//! database under the tenant's lock ([`QueryLeases`]), so the quota holds across replicas.
//! Either way a query that finds no free slot is refused at once (429, `Retry-After: 1`) rather
//! than queued, so a tenant over its share never holds connections open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::catalog::pg::{Lease, QueryLeases};
use crate::config::{Backend, Settings};
use crate::error::{Error, Result};

/// Where the running queries are counted.
pub(super) enum QueryLimits {
    Local(LocalLimits),
    Shared(Arc<QueryLeases>),
}

/// One admitted query's slot, held until the query's work ends.
pub(super) enum QueryPermit {
    Local(#[allow(dead_code)] OwnedSemaphorePermit),
    Shared(#[allow(dead_code)] Lease),
}

impl QueryLimits {
    /// The limits for the configured backend.
    pub(super) fn for_settings(settings: &Settings) -> Result<QueryLimits> {
        Ok(match settings.storage.backend.value {
            Backend::Sqlite => QueryLimits::Local(LocalLimits::default()),
            Backend::Postgres => QueryLimits::Shared(Arc::new(QueryLeases::open(&settings.storage.postgres()?)?)),
        })
    }

    /// A slot for one query of `tenant`, whose quota is `limit`; refused at once when none is
    /// free.
    pub(super) async fn acquire(&self, tenant: Uuid, name: &str, limit: u64) -> Result<QueryPermit> {
        let lease = match self {
            QueryLimits::Local(local) => return local.try_acquire(tenant, name, limit).map(QueryPermit::Local),
            QueryLimits::Shared(leases) => {
                let leases = leases.clone();
                tokio::task::spawn_blocking(move || leases.try_acquire(tenant, limit))
                    .await
                    .map_err(|e| Error::Internal(format!("the admission task failed: {e}")))??
            }
        };
        lease.map(QueryPermit::Shared).ok_or_else(|| too_many(name, limit))
    }
}

fn too_many(name: &str, limit: u64) -> Error {
    Error::RateLimited {
        message: format!(
            "too many concurrent queries: tenant '{name}' allows {limit} at a time (max_concurrent_queries); retry shortly"
        ),
        retry_after_secs: 1,
    }
}

/// In-process semaphores (the SQLite backend).
#[derive(Default)]
pub(super) struct LocalLimits {
    tenants: Mutex<HashMap<Uuid, (u64, Arc<Semaphore>)>>,
}

impl LocalLimits {
    /// A permit for one query of `tenant`, whose quota is `limit`; held until the query ends.
    pub(super) fn try_acquire(&self, tenant: Uuid, name: &str, limit: u64) -> Result<OwnedSemaphorePermit> {
        let semaphore = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            if !tenants.contains_key(&tenant) {
                // Forget tenants with no query running (deleted ones among them): the map holds
                // only busy tenants, and an idle one's semaphore is as good as a new one.
                tenants.retain(|_, (_, semaphore)| Arc::strong_count(semaphore) > 1);
            }
            let entry = tenants.entry(tenant).or_insert_with(|| (limit, new_semaphore(limit)));
            if entry.0 != limit {
                *entry = (limit, new_semaphore(limit));
            }
            entry.1.clone()
        };
        semaphore.try_acquire_owned().map_err(|_| too_many(name, limit))
    }
}

fn new_semaphore(limit: u64) -> Arc<Semaphore> {
    let permits = usize::try_from(limit).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
    Arc::new(Semaphore::new(permits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_is_refused_at_once_and_a_new_limit_applies() {
        let limits = LocalLimits::default();
        let t = Uuid::from_u128(1);
        let a = limits.try_acquire(t, "acme", 2).unwrap();
        let _b = limits.try_acquire(t, "acme", 2).unwrap();
        let e = limits.try_acquire(t, "acme", 2).unwrap_err();
        assert!(
            matches!(
                e,
                Error::RateLimited {
                    retry_after_secs: 1,
                    ..
                }
            ),
            "{e}"
        );
        drop(a);
        let _c = limits.try_acquire(t, "acme", 2).unwrap();
        // Another tenant has its own permits; a raised quota takes effect.
        let _d = limits.try_acquire(Uuid::from_u128(2), "globex", 1).unwrap();
        let _e = limits.try_acquire(t, "acme", 3).unwrap();
    }

    #[test]
    fn idle_tenants_are_forgotten() {
        let limits = LocalLimits::default();
        let busy = limits.try_acquire(Uuid::from_u128(1), "acme", 1).unwrap();
        drop(limits.try_acquire(Uuid::from_u128(2), "globex", 1).unwrap());
        drop(limits.try_acquire(Uuid::from_u128(3), "initech", 1).unwrap());
        let tenants = limits.tenants.lock().unwrap();
        let mut ids: Vec<u128> = tenants.keys().map(|t| t.as_u128()).collect();
        ids.sort();
        assert_eq!(ids, [1, 3], "idle globex was forgotten, busy acme kept");
        drop(tenants);
        drop(busy);
    }
}
