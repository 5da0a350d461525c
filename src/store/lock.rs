//! A KB's ingest lock: one ingest, delete, curation or repair of a KB at a time, across
//! processes. On SQLite a lock on the file `ingest.lock` in the KB's folder (every process
//! using the KB shares that folder); on PostgreSQL an advisory lock in the database, which
//! holds across replicas on different machines ([`pg::lock`](super::pg::lock)).

use std::fs::File;

use super::backend::{KbBackend, KbLocation};
use super::pg::AdvisoryLock;
use crate::error::{Error, Result};

/// A held ingest lock, released when dropped.
#[derive(Debug)]
pub enum KbLock {
    File(File),
    /// Boxed: a pooled connection is large.
    Advisory(Box<AdvisoryLock>),
}

const FILE: &str = "ingest.lock";

impl KbLock {
    /// Takes the KB's ingest lock. `on_wait` is called once if another process holds it; its
    /// error gives up instead of waiting (the server answers 409 rather than holding a request
    /// for a whole ingest). On SQLite the KB's folder must exist.
    pub fn acquire(at: &KbLocation, on_wait: impl FnOnce() -> Result<()>) -> Result<KbLock> {
        match &at.backend {
            KbBackend::Sqlite => {
                let lock =
                    File::create(at.dir.join(FILE)).map_err(|e| Error::storage("cannot create the ingest lock", e))?;
                if lock.try_lock().is_err() {
                    on_wait()?;
                    lock.lock()
                        .map_err(|e| Error::storage("cannot lock the knowledge base", e))?;
                }
                Ok(KbLock::File(lock))
            }
            KbBackend::Postgres(pg) => pg.lock_ingest(on_wait).map(|l| KbLock::Advisory(Box::new(l))),
        }
    }

    /// The KB's ingest lock, or `None` when someone holds it (no waiting).
    pub fn try_acquire(at: &KbLocation) -> Result<Option<KbLock>> {
        match &at.backend {
            KbBackend::Sqlite => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(at.dir.join(FILE))
                    .map_err(|e| Error::storage("cannot open the ingest lock", e))?;
                Ok(file.try_lock().is_ok().then_some(KbLock::File(file)))
            }
            KbBackend::Postgres(pg) => Ok(pg.try_lock_ingest()?.map(|l| KbLock::Advisory(Box::new(l)))),
        }
    }

    /// Whether some process holds the KB's ingest lock right now (tried, never waited for;
    /// creates nothing).
    pub fn is_held(at: &KbLocation) -> Result<bool> {
        match &at.backend {
            KbBackend::Sqlite => Ok(File::open(at.dir.join(FILE)).is_ok_and(|f| f.try_lock().is_err())),
            KbBackend::Postgres(pg) => pg.ingest_locked(),
        }
    }
}
