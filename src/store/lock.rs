//! A KB's ingest lock: one ingest, delete, curation or repair of a KB at a time, across
//! processes. On SQLite a lock on the file `ingest.lock` in the KB's folder (every process
//! using the KB shares that folder); on PostgreSQL an advisory lock in the database, which
//! holds across replicas on different machines ([`pg::lock`](super::pg::lock)).
//!
//! Work done under the lock opens its store at [`KbLock::location`]. On PostgreSQL that
//! location carries the lock's epoch, and every transaction of the store checks it: a holder
//! whose database session was lost (so another process may hold the lock now) writes nothing
//! more and gets [`Error::LockLost`]. A file lock cannot be lost while its process lives, so a
//! SQLite location carries nothing.

use std::fs::File;

use super::backend::{KbBackend, KbLocation};
use super::pg::AdvisoryLock;
use crate::error::{Error, Result};

/// A held ingest lock, released when dropped.
#[derive(Debug)]
pub struct KbLock {
    held: Held,
    /// Where the KB is, fenced by this holding.
    at: KbLocation,
}

#[derive(Debug)]
enum Held {
    File(#[allow(dead_code)] File),
    /// Boxed: a pooled connection is large.
    Advisory(Box<AdvisoryLock>),
}

const FILE: &str = "ingest.lock";

impl KbLock {
    fn new(held: Held, at: &KbLocation) -> KbLock {
        let mut at = at.clone();
        if let (Held::Advisory(lock), KbBackend::Postgres(pg)) = (&held, &mut at.backend) {
            pg.fence = Some(lock.epoch());
        }
        KbLock { held, at }
    }

    /// Takes the KB's ingest lock. `on_wait` is called once if another process holds it; its
    /// error gives up instead of waiting (the server answers 409 rather than holding a request
    /// for a whole ingest). On SQLite the KB's folder must exist.
    pub fn acquire(at: &KbLocation, on_wait: impl FnOnce() -> Result<()>) -> Result<KbLock> {
        let held = match &at.backend {
            KbBackend::Sqlite => {
                let lock =
                    File::create(at.dir.join(FILE)).map_err(|e| Error::storage("cannot create the ingest lock", e))?;
                if lock.try_lock().is_err() {
                    on_wait()?;
                    lock.lock()
                        .map_err(|e| Error::storage("cannot lock the knowledge base", e))?;
                }
                Held::File(lock)
            }
            KbBackend::Postgres(pg) => Held::Advisory(Box::new(pg.lock_ingest(on_wait)?)),
        };
        Ok(KbLock::new(held, at))
    }

    /// The KB's ingest lock, or `None` when someone holds it (no waiting).
    pub fn try_acquire(at: &KbLocation) -> Result<Option<KbLock>> {
        let held = match &at.backend {
            KbBackend::Sqlite => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(at.dir.join(FILE))
                    .map_err(|e| Error::storage("cannot open the ingest lock", e))?;
                file.try_lock().is_ok().then_some(Held::File(file))
            }
            KbBackend::Postgres(pg) => pg.try_lock_ingest()?.map(|l| Held::Advisory(Box::new(l))),
        };
        Ok(held.map(|held| KbLock::new(held, at)))
    }

    /// Whether some process holds the KB's ingest lock right now (tried, never waited for;
    /// creates nothing).
    pub fn is_held(at: &KbLocation) -> Result<bool> {
        match &at.backend {
            KbBackend::Sqlite => Ok(File::open(at.dir.join(FILE)).is_ok_and(|f| f.try_lock().is_err())),
            KbBackend::Postgres(pg) => pg.ingest_locked(),
        }
    }

    /// The location to open the KB's store at for work under this lock: on PostgreSQL its
    /// writes are fenced by this holding's lock epoch.
    pub fn location(&self) -> &KbLocation {
        &self.at
    }

    /// This holding's lock epoch on PostgreSQL (`None` on SQLite).
    pub fn epoch(&self) -> Option<i64> {
        match &self.held {
            Held::File(_) => None,
            Held::Advisory(lock) => Some(lock.epoch()),
        }
    }
}
