//! The PostgreSQL side of `catalog/copy.rs`: a whole catalog's rows out (one snapshot) and in
//! (one transaction).

use super::PgCatalog;
use crate::catalog::copy::{CatalogRows, TABLES, audit_tenant_from_pg, audit_tenant_to_pg, not_empty, position};
use crate::catalog::pg::pg_error;
use crate::error::Result;
use crate::store::copy::Cell;
use crate::store::pg::copy::{advance_identity, decode_row, insert_rows};

impl PgCatalog {
    /// Every catalog row, read in one `REPEATABLE READ` snapshot, as catalog.db holds them.
    pub fn export_rows(&self) -> Result<CatalogRows> {
        self.with(|c| {
            let err = |e| pg_error("cannot read the catalog", e);
            c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .map_err(err)?;
            let read = (|| {
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
            })();
            let _ = c.batch_execute("COMMIT");
            read.map_err(err)
        })
    }

    /// Writes `rows` into this catalog, which must hold no tenant, in one transaction; the
    /// audit trail keeps its ids (its identity moved past them).
    pub fn import_rows(&mut self, rows: &CatalogRows) -> Result<()> {
        rows.check_shape()?;
        self.in_tx(|c| {
            let err = |e| pg_error("cannot write the catalog", e);
            let tenants: i64 = c.query_one("SELECT count(*) FROM tenants", &[]).map_err(err)?.get(0);
            if tenants > 0 {
                return Err(not_empty());
            }
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
        })
    }
}
