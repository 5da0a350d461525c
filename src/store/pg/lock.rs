//! A KB's ingest lock on PostgreSQL: a session-level advisory lock, so ingests, deletes,
//! curation and repairs of one KB never interleave across processes on different machines (a
//! lock file in the KB's folder only excludes processes sharing that folder). A KB's documents
//! are processed by the lock's holder, in queue order (the merge order decides the stored
//! descriptions), never claimed one by one.
//!
//! * **Lease.** The lock is held by one pooled connection, checked out for the whole run (so a
//!   server needs `POSTGRES_MAX_CONNECTIONS` above the number of KBs it ingests at once), and
//!   released when the guard drops. The lock *is* the lease: it lasts as long as that session.
//! * **Expiry.** A holder that dies releases the lock when PostgreSQL sees its connection close
//!   (at once for a killed process); one that vanishes without closing it (a network cut, a
//!   frozen machine) is noticed by the server's TCP keepalives, which the lock's session sets
//!   to [`LOCK_KEEPALIVE`] (idle, interval, probes): its lock frees within about 25 s instead of
//!   the system's default two hours. The pool's connections have client-side keepalives too
//!   (`catalog/pg/pool.rs`), so a holder notices a dead server.
//! * **Fencing.** A lost session frees the lock while its process may still be working through
//!   *other* pooled connections. So each acquisition takes the KB's next lock epoch (the
//!   `lock_epoch` row of `kb_meta`, moved on by the lock's session right after taking the
//!   lock), and every transaction a store opened under the lock makes starts by checking, with a
//!   `FOR SHARE` row lock, that the epoch is still its own ([`check_fence`]); otherwise it writes
//!   nothing and fails with [`Error::LockLost`]. The row lock makes the check and the next
//!   holder's epoch bump exclude each other: once a new holder has its epoch, no write of the
//!   old one can still commit.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::PgKbRef;
use crate::catalog::pg::{Conn, off_runtime, pg_error, run_on};
use crate::error::{Error, Result};

/// The server-side TCP keepalive settings of a lock's session: seconds idle before the first
/// probe, seconds between probes, probes lost before the connection is dead. A vanished
/// holder's lock frees after about `idle + interval * count` seconds.
pub const LOCK_KEEPALIVE: (u32, u32, u32) = (10, 5, 3);

/// A held advisory lock on one KB (released on drop), with the lock epoch it took.
pub struct AdvisoryLock {
    conn: Option<Conn>,
    key: i64,
    epoch: i64,
}

impl AdvisoryLock {
    /// The KB's lock epoch this holding took: the fencing token its writes carry.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }
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

/// Makes the server probe this session's connection (see [`LOCK_KEEPALIVE`]); ignored by the
/// server on a Unix-domain socket, where a vanished peer cannot happen.
fn set_keepalives(c: &mut postgres::Client) -> Result<()> {
    let (idle, interval, count) = LOCK_KEEPALIVE;
    c.batch_execute(&format!(
        "SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = {interval}; \
         SET tcp_keepalives_count = {count}"
    ))
    .map_err(lock_error)
}

/// Moves the KB's lock epoch on and returns it; run by the lock's session right after the lock
/// is taken. Waits for any transaction still checking the previous epoch ([`check_fence`]).
fn next_epoch(c: &mut postgres::Client, tenant: Uuid, kb: Uuid) -> Result<i64> {
    c.query_one(
        "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'lock_epoch', '1')
         ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = (kb_meta.value::bigint + 1)::text
         RETURNING value::bigint",
        &[&tenant, &kb],
    )
    .map(|r| r.get(0))
    .map_err(lock_error)
}

/// The error of a write refused because the KB's lock epoch moved on (or the KB was deleted).
pub fn lock_lost() -> Error {
    Error::LockLost(
        "the knowledge base's ingest lock was lost (its database session ended) and another process \
         may hold it now, or the knowledge base was deleted; nothing more was written, and documents \
         not yet processed stay queued for the lock's holder"
            .into(),
    )
}

/// Checks, at the start of a transaction of a store opened under the KB's lock, that `epoch`
/// is still the KB's lock epoch, and keeps a share lock on it until the transaction ends, so
/// the next holder's [`next_epoch`] waits for this transaction. [`lock_lost`] when not.
pub(crate) fn check_fence(c: &mut postgres::Client, tenant: Uuid, kb: Uuid, epoch: i64) -> Result<()> {
    let held = c
        .query_opt(
            "SELECT 1 FROM kb_meta WHERE tenant_id = $1 AND kb_id = $2 AND key = 'lock_epoch'
               AND value = $3::bigint::text FOR SHARE",
            &[&tenant, &kb, &epoch],
        )
        .map_err(|e| pg_error("cannot check the knowledge base's ingest lock", e))?;
    match held {
        Some(_) => Ok(()),
        None => Err(lock_lost()),
    }
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
    /// Its session gets short keepalives, and the lock comes with the KB's next lock epoch.
    pub fn lock_ingest(&self, on_wait: impl FnOnce() -> Result<()>) -> Result<AdvisoryLock> {
        let (tenant, kb) = (self.tenant, self.kb);
        let key = ingest_lock_key(tenant, kb);
        let pool = &self.pool;
        let conn = off_runtime(|| {
            let mut slot = None;
            run_on(pool, &mut slot, |c| set_keepalives(c))?;
            slot.ok_or_else(|| Error::Internal("no connection for the ingest lock".into()))
        })?;
        let mut lock = AdvisoryLock {
            conn: Some(conn),
            key,
            epoch: 0,
        };
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
        lock.epoch = off_runtime(|| next_epoch(client, tenant, kb))?;
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
