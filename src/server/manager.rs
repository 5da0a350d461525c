//! `TenantRagManager`: the open query engines of recently used KBs, in an LRU of
//! `max_cached_instances`. Opening a KB (kb.db, index maps, provider clients) is done once per
//! key even under concurrent requests (a per-key `OnceCell`), and an entry evicted while a
//! request uses it stays alive until that request ends (entries are `Arc`s). Access is checked
//! by the caller through the service on every request *before* `get` is called; the cache is
//! keyed by KB id only after that check, so a cached engine is never a grant.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::error::Result;
use crate::service::OpenQuery;

/// One open KB. The engine's kb.db connection is not shareable between threads, so
/// questions to one KB take turns; different KBs run in parallel.
pub type Engine = Arc<tokio::sync::Mutex<OpenQuery>>;

type Slot = Arc<OnceCell<Engine>>;

/// Default `max_cached_instances`.
pub const DEFAULT_MAX_CACHED_INSTANCES: usize = 100;

pub struct TenantRagManager {
    cache: Mutex<LruCache<Uuid, Slot>>,
}

impl TenantRagManager {
    pub fn new(max_cached_instances: NonZeroUsize) -> TenantRagManager {
        TenantRagManager {
            cache: Mutex::new(LruCache::new(max_cached_instances)),
        }
    }

    fn slot(&self, kb: Uuid) -> Slot {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get_or_insert(kb, || Arc::new(OnceCell::new())).clone()
    }

    /// The engine of an *already authorized* KB, opened with `open` on first use (once, even
    /// when requests race). A failed open leaves nothing behind, so the next request retries.
    /// An engine that has seen a commit since it was opened is replaced.
    pub async fn get<F, Fut>(&self, kb: Uuid, open: F) -> Result<Engine>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<OpenQuery>>,
    {
        let slot = self.slot(kb);
        let engine = slot
            .get_or_try_init(|| async {
                Ok::<_, crate::error::Error>(Arc::new(tokio::sync::Mutex::new(open().await?)))
            })
            .await?
            .clone();
        let current = engine.lock().await.is_current()?;
        if current {
            return Ok(engine);
        }
        // Stale: drop this slot (only if nobody replaced it yet) and open afresh.
        {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.peek(&kb).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                cache.pop(&kb);
            }
        }
        let slot = self.slot(kb);
        Ok(slot
            .get_or_try_init(|| async {
                Ok::<_, crate::error::Error>(Arc::new(tokio::sync::Mutex::new(open().await?)))
            })
            .await?
            .clone())
    }

    /// Forgets a KB's engine (after the KB is deleted); in-flight users keep theirs.
    pub fn cleanup_instance(&self, kb: Uuid) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).pop(&kb);
    }

    /// Closes every cached engine (on shutdown).
    pub fn cleanup_all(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// How many KBs are cached (opened or opening).
    pub fn len(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
