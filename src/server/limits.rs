//! `max_concurrent_queries`: one semaphore per tenant, sized by the tenant's effective quota.
//! A query that finds no free permit is refused at once (429, `Retry-After: 1`) rather than
//! queued, so a tenant over its share never holds connections open. When the quota changes the
//! tenant gets a new semaphore; queries holding permits of the old one finish undisturbed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Default)]
pub(super) struct QueryLimits {
    tenants: Mutex<HashMap<Uuid, (u64, Arc<Semaphore>)>>,
}

impl QueryLimits {
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
        semaphore.try_acquire_owned().map_err(|_| Error::RateLimited {
            message: format!(
                "too many concurrent queries: tenant '{name}' allows {limit} at a time (max_concurrent_queries); retry shortly"
            ),
            retry_after_secs: 1,
        })
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
        let limits = QueryLimits::default();
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
        let limits = QueryLimits::default();
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
