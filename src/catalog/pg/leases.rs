//! `max_concurrent_queries` across replicas: on PostgreSQL every running query holds a row of
//! `query_leases`. A query is admitted in one transaction under the tenant's row lock (the lock
//! every quota decision about the tenant takes), which drops the tenant's expired leases,
//! counts the live ones and inserts one only while fewer than the quota are live; so several
//! `lrt serve` processes on one database never pass the quota between them. A lease is deleted
//! when its query ends, and renewed while it runs (every [`RENEW_EVERY`], to [`LEASE_TTL`]
//! ahead, by the database's clock), so the slots of a killed process free themselves within
//! [`LEASE_TTL`].
//!
//! Releases and renewals run on one thread per process (a lease is dropped wherever its query
//! ends, possibly on an async task, which must not block on the database).

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::Client;
use uuid::Uuid;

use super::{Pool, lock_tenant, off_runtime, pg_error, pool};
use crate::config::PgSettings;
use crate::error::{Error, Result};

/// How far ahead a lease expires; the longest a killed process's slot stays taken.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a process renews the leases of its running queries.
const RENEW_EVERY: Duration = Duration::from_secs(10);

enum Msg {
    Release { tenant: Uuid, lease: Uuid },
}

/// This process's leases on one database.
pub(crate) struct QueryLeases {
    pool: Pool,
    /// This process: every lease it takes names it, for renewals.
    holder: Uuid,
    /// lease → tenant, of the queries running here.
    held: Arc<Mutex<HashMap<Uuid, Uuid>>>,
    keeper: Mutex<Sender<Msg>>,
}

/// One admitted query's slot; released on drop.
pub(crate) struct Lease {
    tenant: Uuid,
    id: Uuid,
    keeper: Sender<Msg>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The keeper deletes the row; if it is gone, the lease expires on its own.
        let _ = self.keeper.send(Msg::Release {
            tenant: self.tenant,
            lease: self.id,
        });
    }
}

impl QueryLeases {
    /// The leases of this process on the database of `settings`, and the thread that releases
    /// and renews them.
    pub(crate) fn open(settings: &PgSettings) -> Result<QueryLeases> {
        let pool = pool(settings)?;
        let held: Arc<Mutex<HashMap<Uuid, Uuid>>> = Arc::default();
        let holder = Uuid::new_v4();
        let (tx, rx) = mpsc::channel::<Msg>();
        let (keeper_pool, keeper_held) = (pool.clone(), held.clone());
        std::thread::Builder::new()
            .name("lrt-query-leases".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(RENEW_EVERY) {
                        Ok(Msg::Release { tenant, lease }) => {
                            keeper_held.lock().unwrap_or_else(|p| p.into_inner()).remove(&lease);
                            if let Err(e) = release(&keeper_pool, tenant, lease) {
                                tracing::warn!(target: "lrt::serve", "cannot release a query lease (it expires by itself): {e}");
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            if let Err(e) = renew(&keeper_pool, holder, &keeper_held) {
                                tracing::warn!(target: "lrt::serve", "cannot renew the query leases: {e}");
                            }
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the query lease thread: {e}")))?;
        Ok(QueryLeases {
            pool,
            holder,
            held,
            keeper: Mutex::new(tx),
        })
    }

    /// A slot for one query of `tenant` if fewer than `limit` are running on any replica;
    /// `None` when all are taken. Blocks on the database.
    pub(crate) fn try_acquire(&self, tenant: Uuid, limit: u64) -> Result<Option<Lease>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let id = Uuid::new_v4();
        let ttl = LEASE_TTL.as_secs_f64();
        let admitted = off_runtime(|| {
            let mut conn = self.pool.get()?;
            admit(&mut conn, tenant, id, self.holder, limit, ttl)
        })?;
        if !admitted {
            return Ok(None);
        }
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tenant);
        Ok(Some(Lease {
            tenant,
            id,
            keeper: self.keeper.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }))
    }
}

fn admit(c: &mut Client, tenant: Uuid, id: Uuid, holder: Uuid, limit: i64, ttl: f64) -> Result<bool> {
    super::begin(c)?;
    let result = (|| {
        lock_tenant(c, tenant)?;
        c.execute(
            "DELETE FROM query_leases WHERE tenant_id = $1 AND expires_at < now()",
            &[&tenant],
        )
        .map_err(|e| pg_error("cannot expire query leases", e))?;
        let live: i64 = c
            .query_one("SELECT count(*) FROM query_leases WHERE tenant_id = $1", &[&tenant])
            .map_err(|e| pg_error("cannot count the running queries", e))?
            .get(0);
        if live >= limit {
            return Ok(false);
        }
        c.execute(
            "INSERT INTO query_leases (tenant_id, lease_id, holder, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
            &[&tenant, &id, &holder, &ttl],
        )
        .map_err(|e| pg_error("cannot take a query slot", e))?;
        Ok(true)
    })();
    super::finish_tx(c, result)
}

fn release(pool: &Pool, tenant: Uuid, lease: Uuid) -> Result<()> {
    let mut conn = pool.get()?;
    conn.execute(
        "DELETE FROM query_leases WHERE tenant_id = $1 AND lease_id = $2",
        &[&tenant, &lease],
    )
    .map_err(|e| pg_error("cannot release a query slot", e))?;
    Ok(())
}

/// Moves the expiry of this process's running queries' leases ahead, one tenant at a time.
fn renew(pool: &Pool, holder: Uuid, held: &Mutex<HashMap<Uuid, Uuid>>) -> Result<()> {
    let mut tenants: Vec<Uuid> = held
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .copied()
        .collect();
    if tenants.is_empty() {
        return Ok(());
    }
    tenants.sort();
    tenants.dedup();
    let mut conn = pool.get()?;
    let ttl = LEASE_TTL.as_secs_f64();
    for tenant in tenants {
        conn.execute(
            "UPDATE query_leases SET expires_at = now() + make_interval(secs => $3)
             WHERE tenant_id = $1 AND holder = $2",
            &[&tenant, &holder, &ttl],
        )
        .map_err(|e| pg_error("cannot renew query slots", e))?;
    }
    Ok(())
}
