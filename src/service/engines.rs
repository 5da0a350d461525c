//! `TenantRagManager`: the open query engines of recently used KBs, in an LRU of
//! `max_cached_instances`: `lrt serve`'s cache, and the CLI's with a capacity of 1, so both
//! answer questions through the same steps. Opening a KB (kb.db, index maps, provider clients)
//! is done once per key even under concurrent requests (a per-key `OnceCell`), and an entry
//! evicted while a request uses it stays alive until that request ends (entries are `Arc`s).
//! An engine is only handed out for an [`AuthorizedQuery`], which only the service's access
//! check makes, on every request: the cache is keyed by KB id after that check, so a cached
//! engine is never a grant.
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

use super::{AuthorizedQuery, EngineSettings, OpenQuery};
use crate::error::{Error, Result};

/// What the manager needs of an engine: whether it still sees the KB as it is. An engine
/// opened before a commit holds index maps that predate it, and one opened under other
/// settings (`seen`: the tenant's and KB's configuration as this request read them from the
/// catalog, where another replica may have changed them) holds the old providers: either
/// must be replaced.
pub trait KbEngine {
    fn is_current(&self, seen: &EngineSettings) -> Result<bool>;
}

/// One open KB. The engine's kb.db connection is not shareable between threads, so
/// questions to one KB take turns; different KBs run in parallel.
type Shared<E> = Arc<tokio::sync::Mutex<E>>;

/// A KB's place in the manager: empty until its engine is opened.
type Slot<E> = Arc<OnceCell<Shared<E>>>;

/// A KB's engine, locked for one request. It is waited for asynchronously (a request queued
/// behind another holds no thread) and can then move to the blocking pool. It holds the whole
/// slot, so the manager sees the engine in use even once evicted.
pub struct EngineGuard<E = OpenQuery> {
    // Fields drop in order: the lock is released before the slot.
    guard: tokio::sync::OwnedMutexGuard<E>,
    _slot: Slot<E>,
}

impl<E> EngineGuard<E> {
    /// An engine outside the cache (a `no_cache` query's own).
    async fn standalone(open: E) -> EngineGuard<E> {
        lock(&Arc::new(OnceCell::new_with(Some(Arc::new(tokio::sync::Mutex::new(
            open,
        ))))))
        .await
    }
}

impl<E> std::ops::Deref for EngineGuard<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.guard
    }
}

/// Waits for an initialised slot's engine.
async fn lock<E>(slot: &Slot<E>) -> EngineGuard<E> {
    let shared = slot.get().expect("only an initialised slot is locked").clone();
    EngineGuard {
        guard: shared.lock_owned().await,
        _slot: slot.clone(),
    }
}

/// Default `max_cached_instances` of `lrt serve`.
pub const DEFAULT_MAX_CACHED_INSTANCES: usize = 100;

pub struct TenantRagManager<E = OpenQuery> {
    inner: Mutex<Inner<E>>,
}

struct Inner<E> {
    /// The engines kept open, most recently used first.
    cache: LruCache<Uuid, Slot<E>>,
    /// Every slot still referenced by someone (the cache or an in-flight request): the one
    /// engine of its KB. Dead entries are pruned whenever a slot is created.
    live: HashMap<Uuid, Weak<OnceCell<Shared<E>>>>,
}

impl<E: KbEngine + Send + 'static> TenantRagManager<E> {
    pub fn new(max_cached_instances: NonZeroUsize) -> TenantRagManager<E> {
        TenantRagManager {
            inner: Mutex::new(Inner {
                cache: LruCache::new(max_cached_instances),
                live: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<E>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The KB's slot, made most recently used: the cached one, else the one an in-flight
    /// request still holds, else a new empty one.
    fn slot(&self, kb: Uuid) -> Slot<E> {
        let (slot, evicted) = {
            let mut inner = self.lock();
            if let Some(slot) = inner.cache.get(&kb) {
                crate::metrics::engine_cache_hit();
                return slot.clone();
            }
            crate::metrics::engine_cache_miss();
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
            crate::metrics::engine_cache_eviction();
            close(old);
        }
        slot
    }

    /// Forgets `kb`'s slot if it is still `slot` (another request may have replaced it).
    fn forget(&self, kb: Uuid, slot: &Slot<E>) {
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

    /// The engine of an admitted query's KB, locked for the caller, opened with `open` on
    /// first use (once, even when requests race). With `no_cache` the engine is the query's
    /// own, outside the cache, since the LLM-cache setting is part of an engine. A failed open
    /// leaves nothing behind, so the next request retries.
    pub async fn engine<F, Fut>(&self, admitted: &AuthorizedQuery, no_cache: bool, open: F) -> Result<EngineGuard<E>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<E>>,
    {
        if no_cache {
            return Ok(EngineGuard::standalone(open().await?).await);
        }
        self.get(admitted.handle.kb_id, &admitted.settings(), open).await
    }

    /// The cached engine of KB `kb`. An engine that has seen a commit since it was opened, or
    /// was opened under settings other than `seen`, is replaced.
    async fn get<F, Fut>(&self, kb: Uuid, seen: &EngineSettings, open: F) -> Result<EngineGuard<E>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<E>>,
    {
        let slot = self.slot(kb);
        let engine = init(&slot, &open).await?;
        if engine.is_current(seen)? {
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

    /// Closes every cached engine (on shutdown).
    pub fn cleanup_all(&self) {
        let old: Vec<Slot<E>> = {
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

async fn init<E, F, Fut>(slot: &Slot<E>, open: &F) -> Result<EngineGuard<E>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<E>>,
{
    slot.get_or_try_init(|| async { Ok::<_, Error>(Arc::new(tokio::sync::Mutex::new(open().await?))) })
        .await?;
    Ok(lock(slot).await)
}

/// Drops a slot the cache gave up. Where that closes its engine (no request holds it), the
/// closing runs on the blocking pool when there is a runtime, here otherwise.
fn close<E: Send + 'static>(slot: Slot<E>) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(move || drop(slot));
        }
        Err(_) => drop(slot),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// Counts opens and closes, and goes stale on demand.
    #[derive(Default)]
    struct Counters {
        opened: AtomicUsize,
        closed: AtomicUsize,
        stale: AtomicBool,
    }

    struct Fake {
        kb: Uuid,
        counters: Arc<Counters>,
    }

    impl KbEngine for Fake {
        fn is_current(&self, _: &EngineSettings) -> Result<bool> {
            Ok(!self.counters.stale.load(Ordering::SeqCst))
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.counters.closed.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn manager(capacity: usize) -> TenantRagManager<Fake> {
        TenantRagManager::new(NonZeroUsize::new(capacity).unwrap())
    }

    /// An `open` for `kb` that counts its calls.
    fn opener(kb: Uuid, counters: &Arc<Counters>) -> impl Fn() -> std::future::Ready<Result<Fake>> {
        let counters = counters.clone();
        move || {
            counters.opened.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(Fake {
                kb,
                counters: counters.clone(),
            }))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_requests_open_a_kb_once_and_take_turns() {
        let m = Arc::new(manager(2));
        let c = Arc::new(Counters::default());
        let kb = Uuid::new_v4();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (m, c) = (m.clone(), c.clone());
                tokio::spawn(async move {
                    let engine = m.get(kb, &EngineSettings::default(), opener(kb, &c)).await.unwrap();
                    assert_eq!(engine.kb, kb);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(c.opened.load(Ordering::SeqCst), 1);
        assert_eq!(c.closed.load(Ordering::SeqCst), 0);
        assert_eq!(m.len(), 1);
    }

    /// Waits (briefly) for `counter` to reach `n`: engines given up by the cache close on the
    /// blocking pool.
    async fn settles(counter: &AtomicUsize, n: usize) -> bool {
        for _ in 0..200 {
            if counter.load(Ordering::SeqCst) == n {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        false
    }

    #[tokio::test]
    async fn capacity_one_closes_the_previous_kb_but_never_under_a_request() {
        let m = manager(1);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (ca, cb) = (Arc::new(Counters::default()), Arc::new(Counters::default()));
        let held = m.get(a, &EngineSettings::default(), opener(a, &ca)).await.unwrap();
        // B evicts A from the cache, but A is still in use: it stays open…
        drop(m.get(b, &EngineSettings::default(), opener(b, &cb)).await.unwrap());
        assert_eq!(m.len(), 1);
        assert!(!settles(&ca.closed, 1).await, "closed under a request");
        // …and closes when its last request ends.
        drop(held);
        assert!(settles(&ca.closed, 1).await);
        assert_eq!(cb.closed.load(Ordering::SeqCst), 0, "the cached KB stays open");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_evicted_engine_in_use_is_found_again_instead_of_opened_twice() {
        let m = Arc::new(manager(1));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (ca, cb) = (Arc::new(Counters::default()), Arc::new(Counters::default()));
        let held = m.get(a, &EngineSettings::default(), opener(a, &ca)).await.unwrap();
        drop(m.get(b, &EngineSettings::default(), opener(b, &cb)).await.unwrap());
        // A was evicted while held; the next request for A waits for that same engine.
        let again = {
            let (m, ca) = (m.clone(), ca.clone());
            tokio::spawn(async move { m.get(a, &EngineSettings::default(), opener(a, &ca)).await.unwrap().kb })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!again.is_finished(), "the engine is still held");
        drop(held);
        assert_eq!(again.await.unwrap(), a);
        assert_eq!(ca.opened.load(Ordering::SeqCst), 1, "one engine per KB");
        assert_eq!(m.len(), 1);
    }

    #[tokio::test]
    async fn a_stale_engine_is_replaced_and_a_failed_open_leaves_nothing() {
        let m = manager(2);
        let kb = Uuid::new_v4();
        let c = Arc::new(Counters::default());
        let failing = || std::future::ready(Err::<Fake, _>(Error::Internal("cannot open".into())));
        assert!(m.get(kb, &EngineSettings::default(), failing).await.is_err());
        drop(m.get(kb, &EngineSettings::default(), opener(kb, &c)).await.unwrap());
        assert_eq!(c.opened.load(Ordering::SeqCst), 1, "the failed open was not cached");
        c.stale.store(true, Ordering::SeqCst);
        let reopen = opener(kb, &c);
        let seen = EngineSettings::default();
        let engine = m.get(kb, &seen, || {
            c.stale.store(false, Ordering::SeqCst);
            reopen()
        });
        drop(engine.await.unwrap());
        assert_eq!(
            c.opened.load(Ordering::SeqCst),
            2,
            "a commit since the open reopens the KB"
        );
        assert!(settles(&c.closed, 1).await, "the stale engine is closed");
        m.cleanup_all();
        assert!(m.is_empty());
        assert_eq!(c.closed.load(Ordering::SeqCst), 2, "cleanup_all closes at once");
    }
}
