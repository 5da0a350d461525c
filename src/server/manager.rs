//! `TenantRagManager`: the open query engines of recently used KBs, in an LRU of
//! `max_cached_instances`. Opening a KB (kb.db, index maps, provider clients) is done once per
//! key even under concurrent requests (a per-key `OnceCell`), and an entry evicted while a
//! request uses it stays alive until that request ends (entries are `Arc`s). Access is checked
//! by the caller through the service on every request *before* `get` is called; the cache is
//! keyed by KB id only after that check, so a cached engine is never a grant.
//!
//! A KB has at most one engine at a time: an entry evicted while requests still use it is
//! found again (through a weak reference) by the next request for that KB, instead of opening
//! a second copy next to it. Engines are always closed outside the cache lock; those evicted
//! by a request are closed on the blocking pool (closing kb.db is file I/O), those dropped by
//! `cleanup_*` at once, so the KB's files are released when the call returns.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use lru::LruCache;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::service::OpenQuery;

/// One open KB. The engine's kb.db connection is not shareable between threads, so
/// questions to one KB take turns; different KBs run in parallel.
type Shared = Arc<tokio::sync::Mutex<OpenQuery>>;

/// A KB's place in the manager: empty until its engine is opened.
type Slot = Arc<OnceCell<Shared>>;

/// A KB's engine, locked for one request. It is waited for asynchronously (a request queued
/// behind another holds no thread) and can then move to the blocking pool. It holds the whole
/// slot, so the manager sees the engine in use even once evicted.
pub struct Engine {
    // Fields drop in order: the lock is released before the slot.
    guard: tokio::sync::OwnedMutexGuard<OpenQuery>,
    _slot: Slot,
}

impl Engine {
    /// An engine outside the cache (a `no_cache` query's own).
    pub async fn standalone(open: OpenQuery) -> Engine {
        lock(&Arc::new(OnceCell::new_with(Some(Arc::new(tokio::sync::Mutex::new(
            open,
        ))))))
        .await
    }
}

impl std::ops::Deref for Engine {
    type Target = OpenQuery;

    fn deref(&self) -> &OpenQuery {
        &self.guard
    }
}

/// Waits for an initialised slot's engine.
async fn lock(slot: &Slot) -> Engine {
    let shared = slot.get().expect("only an initialised slot is locked").clone();
    Engine {
        guard: shared.lock_owned().await,
        _slot: slot.clone(),
    }
}

/// Default `max_cached_instances`.
pub const DEFAULT_MAX_CACHED_INSTANCES: usize = 100;

pub struct TenantRagManager {
    inner: Mutex<Inner>,
}

struct Inner {
    /// The engines kept open, most recently used first.
    cache: LruCache<Uuid, Slot>,
    /// Every slot still referenced by someone (the cache or an in-flight request): the one
    /// engine of its KB. Dead entries are pruned whenever a slot is created.
    live: HashMap<Uuid, Weak<OnceCell<Shared>>>,
}

impl TenantRagManager {
    pub fn new(max_cached_instances: NonZeroUsize) -> TenantRagManager {
        TenantRagManager {
            inner: Mutex::new(Inner {
                cache: LruCache::new(max_cached_instances),
                live: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The KB's slot, made most recently used: the cached one, else the one an in-flight
    /// request still holds, else a new empty one.
    fn slot(&self, kb: Uuid) -> Slot {
        let (slot, evicted) = {
            let mut inner = self.lock();
            if let Some(slot) = inner.cache.get(&kb) {
                return slot.clone();
            }
            let slot = match inner.live.get(&kb).and_then(Weak::upgrade) {
                Some(slot) => slot,
                None => {
                    inner.live.retain(|_, w| w.strong_count() > 0);
                    let slot = Slot::default();
                    inner.live.insert(kb, Arc::downgrade(&slot));
                    slot
                }
            };
            let evicted = inner.cache.push(kb, slot.clone());
            (slot, evicted)
        };
        if let Some((_, old)) = evicted {
            close(old);
        }
        slot
    }

    /// Forgets `kb`'s slot if it is still `slot` (another request may have replaced it).
    fn forget(&self, kb: Uuid, slot: &Slot) {
        let old = {
            let mut inner = self.lock();
            if inner.live.get(&kb).is_some_and(|w| w.as_ptr() == Arc::as_ptr(slot)) {
                inner.live.remove(&kb);
            }
            match inner.cache.peek(&kb) {
                Some(s) if Arc::ptr_eq(s, slot) => inner.cache.pop(&kb),
                _ => None,
            }
        };
        if let Some(old) = old {
            close(old);
        }
    }

    /// The engine of an *already authorized* KB, locked for the caller, opened with `open`
    /// on first use (once, even when requests race). A failed open leaves nothing behind, so
    /// the next request retries. An engine that has seen a commit since it was opened is
    /// replaced.
    pub async fn get<F, Fut>(&self, kb: Uuid, open: F) -> Result<Engine>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<OpenQuery>>,
    {
        let slot = self.slot(kb);
        let engine = init(&slot, &open).await?;
        if engine.is_current()? {
            return Ok(engine);
        }
        // Stale: forget this slot (unless another request replaced it already) and open afresh.
        drop(engine);
        self.forget(kb, &slot);
        init(&self.slot(kb), &open).await
    }

    /// Forgets a KB's engine (after the KB is updated or deleted), so the next request opens
    /// a new one; in-flight users keep theirs.
    pub fn cleanup_instance(&self, kb: Uuid) {
        let old = {
            let mut inner = self.lock();
            inner.live.remove(&kb);
            inner.cache.pop(&kb)
        };
        drop(old);
    }

    /// Closes every cached engine (on shutdown, and when tenant settings change).
    pub fn cleanup_all(&self) {
        let old: Vec<Slot> = {
            let mut inner = self.lock();
            inner.live.clear();
            let mut old = Vec::with_capacity(inner.cache.len());
            while let Some((_, slot)) = inner.cache.pop_lru() {
                old.push(slot);
            }
            old
        };
        drop(old);
    }

    /// How many KBs are cached (opened or opening).
    pub fn len(&self) -> usize {
        self.lock().cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

async fn init<F, Fut>(slot: &Slot, open: &F) -> Result<Engine>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<OpenQuery>>,
{
    slot.get_or_try_init(|| async { Ok::<_, Error>(Arc::new(tokio::sync::Mutex::new(open().await?))) })
        .await?;
    Ok(lock(slot).await)
}

/// Drops a slot the cache gave up. Where that closes its engine (no request holds it), the
/// closing runs on the blocking pool when there is a runtime, here otherwise.
fn close(slot: Slot) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(move || drop(slot));
        }
        Err(_) => drop(slot),
    }
}
