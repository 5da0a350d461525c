//! One KB's data in PostgreSQL (`storage.backend = "postgres"`): the same methods and
//! guarantees as the SQLite store ([`SqliteKb`](super::kb::SqliteKb)), on the database the
//! catalog uses, so several `lrt serve` replicas share every KB. The tables are the catalog
//! schema's `kb_*` tables (`catalog/pg/schema.rs`, migration 2); every statement names its
//! tenant and KB, and every key starts with them.
//!
//! The database is the source of truth. The vector indexes are derived per process, in the
//! KB's local folder ([`PgKb::dir`]), and rebuilt when the KB's `generation` moves on (another
//! replica committed).
//!
//! Connections: a call checks one out of the process's pool and gives it back, except inside
//! [`PgKb::read_snapshot`], which pins one connection (a `REPEATABLE READ` transaction) so
//! the reads it makes see one state. Calls from a thread inside a tokio runtime hop to a scoped
//! thread ([`off_runtime`]), as the catalog's do.

pub(crate) mod copy;
mod core;
mod curate;
mod delete;
mod lock;
mod reads;
mod rows;
mod stats;
mod transfer;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use postgres::Client;
use uuid::Uuid;

use crate::catalog::pg::{Conn, PgClient, Pool, finish_tx, off_runtime, pg_error, run_on};
use crate::error::{Error, Result};

pub(crate) use core::kb_storage_bytes;
pub(crate) use lock::queued_kbs;
pub use lock::{AdvisoryLock, LOCK_KEEPALIVE, ingest_lock_key, lock_lost};

/// Which KB of which database: what a [`KbLocation`](super::KbLocation) on PostgreSQL
/// carries besides the local folder.
#[derive(Clone)]
pub struct PgKbRef {
    pub(crate) pool: Pool,
    pub tenant: Uuid,
    pub kb: Uuid,
    /// The lock epoch of the KB's ingest lock this location was handed out under
    /// ([`KbLock::location`](super::KbLock::location)): every transaction of a store opened
    /// here checks it first (see [`lock`]). `None`: writes not made under the lock (uploads,
    /// imports of a new KB, copies).
    pub(crate) fence: Option<i64>,
}

impl std::fmt::Debug for PgKbRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgKbRef")
            .field("tenant", &self.tenant)
            .field("kb", &self.kb)
            .finish_non_exhaustive()
    }
}

/// An open KB on PostgreSQL.
pub struct PgKb {
    pool: Pool,
    pub(crate) tenant: Uuid,
    pub(crate) kb: Uuid,
    dir: PathBuf,
    /// The lock epoch its transactions check ([`PgKbRef::fence`]).
    fence: Option<i64>,
    /// The connection a read snapshot holds, while it runs.
    pinned: Mutex<Option<Conn>>,
    /// Rows committed since the planner statistics were last looked at
    /// ([`PgKb::refresh_statistics`]).
    written_since_stats: u64,
}

impl PgKb {
    /// Opens the KB `at` names, with `dir` as its local folder (for derived index files).
    /// Nothing is created in the database until something is written.
    pub fn open(at: &PgKbRef, dir: &Path) -> PgKb {
        PgKb {
            pool: at.pool.clone(),
            tenant: at.tenant,
            kb: at.kb,
            dir: dir.to_path_buf(),
            fence: at.fence,
            pinned: Mutex::new(None),
            written_since_stats: 0,
        }
    }

    /// The KB's local folder: the derived vector index files live there.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn pinned(&self) -> MutexGuard<'_, Option<Conn>> {
        self.pinned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a connection: the pinned one inside a read snapshot, else one from the pool
    /// for this call.
    pub(super) fn with<R: Send>(&self, f: impl FnOnce(&mut PgClient) -> Result<R> + Send) -> Result<R> {
        let mut guard = self.pinned();
        let pool = &self.pool;
        if guard.is_some() {
            let slot: &mut Option<Conn> = &mut guard;
            return off_runtime(move || run_on(pool, slot, f));
        }
        drop(guard);
        off_runtime(move || {
            let mut slot = None;
            let out = run_on(pool, &mut slot, f);
            drop(slot);
            out
        })
    }

    /// Runs `f` in one transaction on one connection and commits it (rolls back on error).
    /// Under the KB's ingest lock the transaction first checks that the lock is still this
    /// store's ([`lock::check_fence`]): every write made under the lock goes through here.
    pub(super) fn in_tx<R: Send>(&self, f: impl FnOnce(&mut Client) -> Result<R> + Send) -> Result<R> {
        let (tenant, kb, fence) = (self.tenant, self.kb, self.fence);
        self.with(|c| {
            c.batch_execute("BEGIN")
                .map_err(|e| pg_error("cannot start a knowledge-base transaction", e))?;
            let out = match fence {
                Some(epoch) => lock::check_fence(c, tenant, kb, epoch).and_then(|()| f(c)),
                None => f(c),
            };
            finish_tx(c, out)
        })
    }

    /// Runs a write of one statement: in a fenced transaction ([`in_tx`](Self::in_tx)) under
    /// the KB's ingest lock, else on its own (autocommit, one round trip).
    pub(super) fn write<R: Send>(&self, f: impl FnOnce(&mut Client) -> Result<R> + Send) -> Result<R> {
        match self.fence {
            Some(_) => self.in_tx(f),
            None => self.with(|c| f(c)),
        }
    }

    /// Runs `f` with one connection pinned in a `REPEATABLE READ, READ ONLY` transaction, so
    /// every read inside it sees the same committed state. Nested calls run in the outer one.
    pub fn read_snapshot<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.pinned().is_some() {
            return f();
        }
        let pool = &self.pool;
        let conn = off_runtime(|| -> Result<Conn> {
            let mut slot = None;
            run_on(pool, &mut slot, |c| {
                c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .map_err(|e| pg_error("cannot read the knowledge base", e))
            })?;
            slot.ok_or_else(|| Error::Internal("no connection for a read snapshot".into()))
        })?;
        *self.pinned() = Some(conn);
        let out = f();
        let conn = self.pinned().take();
        if let Some(mut conn) = conn {
            let ok = out.is_ok();
            let end = off_runtime(move || {
                let end = conn.batch_execute(if ok { "COMMIT" } else { "ROLLBACK" });
                drop(conn);
                end
            });
            let out = out?;
            end.map_err(|e| pg_error("cannot read the knowledge base", e))?;
            return Ok(out);
        }
        out
    }
}

impl Drop for PgKb {
    fn drop(&mut self) {
        // A pooled connection goes back to the pool through the client's own runtime.
        let slot = self.pinned.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = slot.take() {
            off_runtime(move || drop(conn));
        }
    }
}

/// Deletes every row of one KB (`kb` given) or of every KB of a tenant, inside the caller's
/// transaction: the catalog calls this when it deletes the KB or tenant row.
pub(crate) fn delete_rows(c: &mut Client, tenant: Uuid, kb: Option<Uuid>) -> std::result::Result<(), postgres::Error> {
    // Documents first: their chunks, extraction rows and document links go with them.
    for table in [
        "kb_documents",
        "kb_entities",
        "kb_relations",
        "kb_llm_cache",
        "kb_graph_overrides",
        "kb_entity_aliases",
        "kb_meta",
    ] {
        match kb {
            Some(kb) => c.execute(
                &format!("DELETE FROM {table} WHERE tenant_id = $1 AND kb_id = $2"),
                &[&tenant, &kb],
            )?,
            None => c.execute(&format!("DELETE FROM {table} WHERE tenant_id = $1"), &[&tenant])?,
        };
    }
    Ok(())
}
