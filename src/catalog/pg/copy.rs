//! The PostgreSQL side of `catalog/copy.rs`: a whole catalog's rows out (one snapshot) and in
//! (one transaction), and [`PgInstall`]: a whole installation written in one transaction.

use postgres::Client;
use uuid::Uuid;

use super::{Conn, PgCatalog, off_runtime, run_on, write_kb_stats};
use crate::catalog::KbStats;
use crate::catalog::copy::{CatalogRows, TABLES, audit_tenant_from_pg, audit_tenant_to_pg, not_empty, position};
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::copy::{Cell, KbRows};
use crate::store::pg::copy::{advance_identity, decode_row, insert_rows, read_kb, write_kb};

/// The advisory lock one `lrt db copy` into a database holds for its whole transaction
/// ("lrt" + "dbcopy"): a second copy into the same database is refused at once instead of
/// failing on duplicate keys at its end.
const INSTALL_LOCK: i64 = 0x6c72_7464_6263_6f70;

impl PgCatalog {
    /// Every catalog row, read in one `REPEATABLE READ` snapshot, as catalog.db holds them.
    pub fn export_rows(&self) -> Result<CatalogRows> {
        self.with(|c| {
            let err = |e| pg_error("cannot read the catalog", e);
            c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .map_err(err)?;
            let read = export_catalog(c);
            let _ = c.batch_execute("COMMIT");
            read.map_err(err)
        })
    }

    /// Writes `rows` into this catalog, which must hold no tenant, in one transaction; the
    /// audit trail keeps its ids (its identity moved past them).
    pub fn import_rows(&mut self, rows: &CatalogRows) -> Result<()> {
        rows.check_shape()?;
        self.in_tx(|c| {
            check_no_tenant(c)?;
            import_catalog(c, rows)
        })
    }

    /// Starts writing a whole installation into this database, which must hold no tenant:
    /// one transaction on a connection of its own, until [`PgInstall::commit`].
    pub fn begin_install(&self) -> Result<PgInstall> {
        let pool = self.pool();
        let conn = off_runtime(|| {
            let mut slot = None;
            run_on(pool, &mut slot, |_| Ok(()))?;
            slot.ok_or_else(|| Error::Internal("no connection for the copy".into()))
        })?;
        let mut install = PgInstall { conn: Some(conn) };
        install.run(|c| {
            c.batch_execute("BEGIN")
                .map_err(|e| pg_error("cannot start the copy's transaction", e))?;
            let alone: bool = c
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&INSTALL_LOCK])
                .map_err(|e| pg_error("cannot lock the destination", e))?
                .get(0);
            if !alone {
                return Err(Error::Conflict(
                    "another `lrt db copy` is writing into this database; wait for it to finish".into(),
                ));
            }
            check_no_tenant(c)
        })?;
        Ok(install)
    }
}

/// A whole installation (catalog and every KB's rows) being written into a PostgreSQL
/// database in one transaction, on one connection (`lrt db copy`). Nothing of it is visible
/// to anyone else, and nothing of it stays, unless [`commit`](Self::commit) succeeds: dropped
/// uncommitted it rolls back, and a process killed or a connection lost mid-copy leaves
/// nothing either (PostgreSQL rolls back the transaction of a session that ended).
///
/// The transaction holds the lock that orders moving the key identities from its first KB to
/// its end, so imports into the same database wait for the copy.
pub struct PgInstall {
    conn: Option<Conn>,
}

impl PgInstall {
    fn run<R: Send>(&mut self, f: impl FnOnce(&mut Client) -> Result<R> + Send) -> Result<R> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::Internal("the copy's transaction has ended".into()))?;
        off_runtime(move || f(conn))
    }

    /// Writes the catalog's rows (the transaction checked it held no tenant).
    pub fn write_catalog(&mut self, rows: &CatalogRows) -> Result<()> {
        rows.check_shape()?;
        self.run(|c| import_catalog(c, rows))
    }

    /// Every catalog row written so far, as catalog.db holds them.
    pub fn read_catalog(&mut self) -> Result<CatalogRows> {
        self.run(|c| export_catalog(c).map_err(|e| pg_error("cannot read the copied catalog", e)))
    }

    /// Writes one KB's rows (its catalog row written already).
    pub fn write_kb(&mut self, tenant: Uuid, kb: Uuid, rows: &KbRows) -> Result<()> {
        rows.check_shape()?;
        self.run(|c| write_kb(c, tenant, kb, rows))
    }

    /// One KB's rows as written so far.
    pub fn read_kb(&mut self, tenant: Uuid, kb: Uuid) -> Result<KbRows> {
        self.run(|c| read_kb(c, tenant, kb))
    }

    /// The size of one KB's rows as written so far (what `max_storage_gb` counts).
    pub fn kb_storage_bytes(&mut self, tenant: Uuid, kb: Uuid) -> Result<u64> {
        self.run(|c| crate::store::pg::kb_storage_bytes(c, tenant, kb))
    }

    /// Sets one KB's statistics in the copied catalog.
    pub fn set_kb_stats(&mut self, tenant: Uuid, kb: Uuid, stats: KbStats) -> Result<()> {
        self.run(|c| write_kb_stats(c, tenant, kb, stats))
    }

    /// Commits everything written. An error here may leave the outcome unknown (a connection
    /// lost during `COMMIT`): the copy is then either all there or not at all.
    pub fn commit(mut self) -> Result<()> {
        let result = self.run(|c| {
            c.batch_execute("COMMIT")
                .map_err(|e| pg_error("cannot commit the copy", e))
        });
        if let Some(conn) = self.conn.take() {
            off_runtime(move || drop(conn));
        }
        result
    }
}

impl Drop for PgInstall {
    fn drop(&mut self) {
        // Uncommitted: rolled back before the connection goes back to the pool (a lost
        // connection's transaction was rolled back by the server already).
        if let Some(mut conn) = self.conn.take() {
            off_runtime(move || {
                let _ = conn.batch_execute("ROLLBACK");
                drop(conn);
            });
        }
    }
}

fn check_no_tenant(c: &mut Client) -> Result<()> {
    let tenants: i64 = c
        .query_one("SELECT count(*) FROM tenants", &[])
        .map_err(|e| pg_error("cannot write the catalog", e))?
        .get(0);
    if tenants > 0 {
        return Err(not_empty());
    }
    Ok(())
}

/// Every catalog row on `c` (inside the caller's transaction), as catalog.db holds them.
fn export_catalog(c: &mut Client) -> std::result::Result<CatalogRows, postgres::Error> {
    let mut out = CatalogRows::default();
    let audit_tenant = position("audit_log", "tenant_id");
    for t in TABLES {
        let sql = format!("SELECT {} FROM {} ORDER BY {}", t.column_list(), t.name, t.order);
        let rows = c.query(&sql, &[])?;
        out.tables.push(
            rows.iter()
                .map(|r| {
                    let mut row = decode_row(t.columns, r);
                    if t.name == "audit_log" {
                        let cell = std::mem::replace(&mut row[audit_tenant], Cell::Null);
                        row[audit_tenant] = audit_tenant_from_pg(cell);
                    }
                    row
                })
                .collect(),
        );
    }
    Ok(out)
}

/// Writes `rows` on `c`, inside the caller's transaction (which checked there is no tenant).
fn import_catalog(c: &mut Client, rows: &CatalogRows) -> Result<()> {
    let err = |e| pg_error("cannot write the catalog", e);
    let audit_tenant = position("audit_log", "tenant_id");
    let context_tenant = position("user_contexts", "tenant_id");
    for (t, table) in TABLES.iter().zip(&rows.tables) {
        let rows: Vec<Vec<Cell>> = match t.name {
            "audit_log" => table
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r[audit_tenant] = audit_tenant_to_pg(&r[audit_tenant]);
                    r
                })
                .collect(),
            // A context without a tenant: PostgreSQL keeps none.
            "user_contexts" => table
                .iter()
                .filter(|r| r[context_tenant] != Cell::Null)
                .cloned()
                .collect(),
            _ => table.clone(),
        };
        for batch in rows.chunks(2000) {
            insert_rows(c, t.name, &[], t.columns, batch, "")?;
        }
    }
    let max: Option<i64> = c.query_one("SELECT max(id) FROM audit_log", &[]).map_err(err)?.get(0);
    if let Some(max) = max {
        advance_identity(c, "audit_log", "id", max).map_err(err)?;
    }
    Ok(())
}
