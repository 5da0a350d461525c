//! A KB's ingest lock on PostgreSQL: a session-level advisory lock, so ingests, deletes and
//! repairs of one KB never interleave across processes on different machines (a lock file in
//! the KB's folder only excludes processes sharing that folder).
//!
//! The lock is held by one pooled connection, checked out for the whole run (so a server needs
//! `POSTGRES_MAX_CONNECTIONS` above the number of KBs it ingests at once) and given back when
//! the guard drops, after the lock is released; a process that dies releases it too, when
//! PostgreSQL notices its connections are gone.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::PgKbRef;
use crate::catalog::pg::{Conn, off_runtime, pg_error, run_on};
use crate::error::{Error, Result};

/// A held advisory lock on one KB (released on drop).
pub struct AdvisoryLock {
    conn: Option<Conn>,
    key: i64,
}

impl std::fmt::Debug for AdvisoryLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdvisoryLock").finish_non_exhaustive()
    }
}

/// The advisory lock key of a KB: the first 8 bytes of a SHA-256 of its ids, the same in every
/// build and process (a std hasher is not).
pub fn ingest_lock_key(tenant: Uuid, kb: Uuid) -> i64 {
    let digest = Sha256::digest(format!("lrt kb ingest {tenant} {kb}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

fn lock_error(e: postgres::Error) -> Error {
    pg_error("cannot lock the knowledge base", e)
}

/// Whether no session holds advisory lock `key` (taken and released at once to find out).
fn lock_is_free(c: &mut postgres::Client, key: i64) -> Result<bool> {
    let free: bool = c
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .map_err(lock_error)?
        .get(0);
    if free {
        c.execute("SELECT pg_advisory_unlock($1)", &[&key])
            .map_err(lock_error)?;
    }
    Ok(free)
}

impl PgKbRef {
    /// Takes the KB's ingest lock; `on_wait` is called once if another process holds it, and
    /// its error gives up instead of waiting.
    pub fn lock_ingest(&self, on_wait: impl FnOnce() -> Result<()>) -> Result<AdvisoryLock> {
        let key = ingest_lock_key(self.tenant, self.kb);
        let pool = &self.pool;
        let conn = off_runtime(|| {
            let mut slot = None;
            run_on(pool, &mut slot, |_| Ok(()))?;
            slot.ok_or_else(|| Error::Internal("no connection for the ingest lock".into()))
        })?;
        let mut lock = AdvisoryLock { conn: Some(conn), key };
        let client = lock.conn.as_mut().expect("just checked out");
        let got: bool = off_runtime(|| {
            client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map(|r| r.get(0))
                .map_err(lock_error)
        })?;
        if !got {
            on_wait()?;
            off_runtime(|| {
                client
                    .execute("SELECT pg_advisory_lock($1)", &[&key])
                    .map_err(lock_error)
            })?;
        }
        Ok(lock)
    }

    /// The KB's ingest lock if no one holds it, without waiting.
    pub fn try_lock_ingest(&self) -> Result<Option<AdvisoryLock>> {
        let mut waited = false;
        let lock = self.lock_ingest(|| {
            waited = true;
            Err(Error::Conflict("held".into()))
        });
        match lock {
            Ok(lock) => Ok(Some(lock)),
            Err(_) if waited => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether some process holds the KB's ingest lock right now (tried, never waited for).
    pub fn ingest_locked(&self) -> Result<bool> {
        let key = ingest_lock_key(self.tenant, self.kb);
        let pool = &self.pool;
        off_runtime(|| {
            let mut slot = None;
            run_on(pool, &mut slot, |c| Ok(!lock_is_free(c, key)?))
        })
    }
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        // Released before the connection goes back to the pool (a lost connection released it
        // already); the client works through its own runtime.
        if let Some(mut conn) = self.conn.take() {
            let key = self.key;
            off_runtime(move || {
                if let Err(e) = conn.execute("SELECT pg_advisory_unlock($1)", &[&key]) {
                    tracing::warn!(target: "lrt::store", "cannot release the ingest lock: {e}");
                }
                drop(conn);
            });
        }
    }
}

/// Every KB of the database with pending or interrupted (`processing`) documents whose ingest
/// lock no process holds: the work a replica's ingest worker may take over (an upload another
/// replica queued, or the documents of a replica that died mid-run). One query, then two
/// round trips per KB found.
pub(crate) fn queued_kbs(pool: &crate::catalog::pg::Pool) -> Result<Vec<(Uuid, Uuid)>> {
    off_runtime(|| {
        let mut slot = None;
        run_on(pool, &mut slot, |c| {
            let rows = c
                .query(
                    "SELECT DISTINCT tenant_id, kb_id FROM kb_documents WHERE status IN ('pending', 'processing')",
                    &[],
                )
                .map_err(|e| pg_error("cannot look for queued documents", e))?;
            let mut free = Vec::new();
            for r in rows {
                let (tenant, kb): (Uuid, Uuid) = (r.get(0), r.get(1));
                if lock_is_free(c, ingest_lock_key(tenant, kb))? {
                    free.push((tenant, kb));
                }
            }
            Ok(free)
        })
    })
}
